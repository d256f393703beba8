/*
 * handlers_cluster.c: host-* and lease-* requests (cluster coordination,
 * libpool/cluster.c). Results are <result type="hosts"> with one <host>
 * child per host, and <result type="lease">; every value is an attribute.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>

#include "pool-error.h"
#include "pool-log.h"
#include "pool-ops.h"
#include "pool-util.h"
#include "poold.h"

/* --wait SECONDS: 0 (try once) .. 600; absent = dflt. */
static int param_wait(const poolRequest *req, unsigned dflt, unsigned *out)
{
    const char *v = pool_request_get(req, "wait");
    uint64_t n = dflt;
    if (v && pool_parse_uint(v, "wait", 0, 600, &n) < 0)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int host_join(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    unsigned id = 0, wait = 0;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_uint(req, "host-id", POOL_LEASE_MAX_HOST_ID, &id) < 0 ||
        param_wait(req, POOLD_JOIN_WAIT, &wait) < 0)
        return -1;
    if (!id) {
        pool_error(POOL_ERR_INVALID_ARG, "host join needs a host id (1..%u)",
                   POOL_LEASE_MAX_HOST_ID);
        return -1;
    }
    if (pool_manager_host_join(d->mgr, pool, id, wait) < 0)
        return -1;
    xmlNodePtr n = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (!n)
        return pool_error_oom();
    return poold_set_str(n, "type", "joined") < 0 || poold_set_str(n, "pool", pool) < 0 ||
                   poold_set_uint(n, "host-id", id) < 0
               ? -1
               : 0;
}

static int host_leave(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    if (poold_param_required(req, "pool", &pool) < 0)
        return -1;
    return pool_manager_host_leave(d->mgr, pool, 60);
}

static int host_list(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    if (poold_param_required(req, "pool", &pool) < 0)
        return -1;
    poolHostList l;
    if (pool_manager_host_list(d->mgr, pool, &l) < 0)
        return -1;
    int r = -1;
    xmlNodePtr n = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (!n || poold_set_str(n, "type", "hosts") < 0 || poold_set_str(n, "pool", pool) < 0 ||
        poold_set_uint(n, "io-timeout", l.timeouts.io_timeout) < 0 ||
        poold_set_uint(n, "renewal-seconds", l.timeouts.renewal_seconds) < 0 ||
        poold_set_uint(n, "fail-seconds", l.timeouts.fail_seconds) < 0 ||
        poold_set_uint(n, "dead-seconds", l.timeouts.dead_seconds) < 0 ||
        poold_set_uint(n, "this-host-id", l.this_host_id) < 0 ||
        poold_set_str(n, "joined", l.joined ? "yes" : "no") < 0)
        goto out;
    for (size_t i = 0; i < l.n; i++) {
        const poolHostInfo *h = &l.hosts[i];
        xmlNodePtr c = xmlNewChild(n, NULL, BAD_CAST "host", NULL);
        if (!c || poold_set_uint(c, "id", h->host_id) < 0 ||
            (h->name && poold_set_str(c, "name", h->name) < 0) ||
            poold_set_str(c, "state", pool_lease_host_state_name(h->seen.state)) < 0 ||
            poold_set_uint(c, "generation", h->seen.generation) < 0 ||
            poold_set_uint(c, "timestamp", h->seen.timestamp) < 0 ||
            poold_set_uint(c, "io-timeout", h->seen.io_timeout) < 0 ||
            poold_set_str(c, "this-host", h->this_host ? "yes" : "no") < 0)
            goto out;
    }
    r = 0;
out:
    if (!n)
        pool_error_oom();
    pool_host_list_clear(&l);
    return r;
}

static int lease_reply(poolDaemon *d, const poolVolDef *vol, xmlNodePtr reply)
{
    poolVolLease l;
    if (pool_manager_lease_status(d->mgr, vol, &l) < 0)
        return -1;
    int r = -1;
    xmlNodePtr n = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (n && poold_set_str(n, "type", "lease") == 0 && poold_set_str(n, "pool", vol->pool) == 0 &&
        poold_set_str(n, "volume", vol->name) == 0 &&
        poold_set_str(n, "held", l.held ? "yes" : "no") == 0 &&
        poold_set_uint(n, "lver", l.lver) == 0 &&
        (!l.held ||
         (poold_set_uint(n, "owner", l.owner) == 0 &&
          (!l.owner_name || poold_set_str(n, "owner-name", l.owner_name) == 0) &&
          poold_set_str(n, "owner-state", pool_lease_host_state_name(l.owner_state)) == 0 &&
          poold_set_str(n, "this-host", l.this_host ? "yes" : "no") == 0 &&
          poold_set_str(n, "this-holder", l.this_holder ? "yes" : "no") == 0)))
        r = 0;
    else if (!n)
        pool_error_oom();
    pool_vol_lease_clear(&l);
    return r;
}

/* The volume a lease request names (one lvs; its lease address, uuid and
 * LUN serve the whole request). */
static poolVolDef *lease_volume(poolDaemon *d, const poolRequest *req)
{
    const char *pool, *volume;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "volume", &volume) < 0)
        return NULL;
    return pool_manager_vol_info(d->mgr, pool, volume);
}

static int lease_acquire(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    unsigned wait = 0;
    if (param_wait(req, 0, &wait) < 0)
        return -1;
    POOL_AUTOPTR(poolVolDef) vol = lease_volume(d, req);
    if (!vol || pool_manager_lease_acquire(d->mgr, vol, wait) < 0)
        return -1;
    /* the LUN's write permission follows the lease (target_sync.c) */
    if (d->ex)
        poold_export_vol_access(d->ex, vol);
    return lease_reply(d, vol, reply);
}

static int lease_release(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    POOL_AUTOPTR(poolVolDef) vol = lease_volume(d, req);
    if (!vol)
        return -1;
    /* writes stop before the lease goes, never after: another host may
     * take it the moment it is free */
    if (d->ex)
        poold_export_vol_protect(d->ex, vol);
    int r = pool_manager_lease_release(d->mgr, vol);
    if (d->ex)
        poold_export_vol_access(d->ex, vol);
    if (r < 0)
        return -1;
    return lease_reply(d, vol, reply);
}

static int lease_status(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    POOL_AUTOPTR(poolVolDef) vol = lease_volume(d, req);
    return vol ? lease_reply(d, vol, reply) : -1;
}

const poolDispatchEntry poold_cluster_handlers[] = {
    {"host-join", host_join},
    {"host-leave", host_leave},
    {"host-list", host_list},
    {"lease-acquire", lease_acquire},
    {"lease-release", lease_release},
    {"lease-status", lease_status},
    {NULL, NULL},
};
