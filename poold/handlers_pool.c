/*
 * handlers_pool.c: pool-* requests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>

#include "events.h"
#include "pool-error.h"
#include "pool-ops.h"
#include "poold.h"

static int add_pool(xmlNodePtr reply, poolPoolDef *def)
{
    xmlNodePtr node = pool_pool_def_format_node(def);
    pool_pool_def_free(def);
    if (!node)
        return -1;
    xmlAddChild(reply, node);
    return 0;
}

/* pool create/import --host-id: join right away. The join waits for
 * sanlock (seconds to minutes), so it runs after the pool is registered, as
 * the request's continuation under the pool's own lock (poold.h): other
 * requests go on meanwhile. The pool stays if the join fails (it exists on
 * disk either way); the error says how to retry. */
typedef struct {
    unsigned host_id;
    poolPoolDef *def;
} joinAfter;

static void join_after_free(void *p)
{
    joinAfter *j = p;
    pool_pool_def_free(j->def);
    free(j);
}

static int join_after_run(poolDaemon *d, const char *name, void *ctx, xmlNodePtr reply)
{
    joinAfter *j = ctx;
    if (pool_manager_host_join(d->mgr, name, j->host_id, POOLD_JOIN_WAIT) < 0) {
        pool_error_prefix("pool %s is ready but joining it as host id %u failed (retry with "
                          "'poolctl host join %s --host-id %u')",
                          name, j->host_id, name, j->host_id);
        return -1;
    }
    j->def->host_id = j->host_id;
    poolPoolDef *def = j->def;
    j->def = NULL;
    return add_pool(reply, def);
}

/* Register the new pool everywhere, then reply now or after the join. */
static int pool_added(poolDaemon *d, const char *name, unsigned host_id, poolPoolDef *def,
                      xmlNodePtr reply)
{
    poold_emit(d, &(poolEvent){.kind = POOLD_EV_POOL_ADDED, .pool = name});
    if (host_id && def->locking != POOL_LOCKING_SANLOCK) {
        pool_pool_def_free(def);
        pool_error(POOL_ERR_INVALID_ARG,
                   "pool %s is ready, but it does not use sanlock locking: --host-id does not "
                   "apply",
                   name);
        return -1;
    }
    if (!host_id)
        return add_pool(reply, def);
    joinAfter *j = calloc(1, sizeof(*j));
    if (!j) {
        pool_pool_def_free(def);
        return pool_error_oom();
    }
    j->host_id = host_id;
    j->def = def;
    return poold_continue_on_pool(name, join_after_run, j, join_after_free);
}

static int pool_create(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *name;
    const char *locking = pool_request_get(req, "locking");
    poolCreateOptions opts = {.locking = -1};
    unsigned host_id = 0;
    if (poold_param_required(req, "name", &name) < 0 ||
        poold_param_size(req, "extent-size", false, &opts.extent_size) < 0 ||
        poold_param_uint(req, "host-ids", POOL_MAX_HOST_IDS, &opts.host_ids) < 0 ||
        poold_param_uint(req, "lease-slots", POOL_MAX_LEASE_SLOTS, &opts.lease_slots) < 0 ||
        poold_param_uint(req, "io-timeout", POOL_IO_TIMEOUT_MAX, &opts.io_timeout) < 0 ||
        poold_param_size(req, "metadata-size", false, &opts.mda_size) < 0 ||
        poold_param_uint(req, "host-id", POOL_MAX_HOST_IDS, &host_id) < 0 ||
        pool_request_get_bool(req, "force", false, &opts.force) < 0)
        return -1;
    if (locking && pool_locking_parse(locking, &opts.locking) < 0)
        return -1;
    if (opts.locking < 0)
        opts.locking = d->cfg->default_locking;
    if (host_id && opts.locking == POOL_LOCKING_NONE) {
        pool_error(POOL_ERR_INVALID_ARG, "--host-id needs a pool with sanlock locking");
        return -1;
    }
    POOL_AUTOSTRV devices = pool_request_get_all(req, "device");
    if (!devices)
        return -1;
    poolPoolDef *def = pool_manager_pool_create(d->mgr, name, devices, &opts);
    return def ? pool_added(d, name, host_id, def, reply) : -1;
}

static int pool_import(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *name;
    unsigned host_id = 0;
    if (poold_param_required(req, "name", &name) < 0 ||
        poold_param_uint(req, "host-id", POOL_MAX_HOST_IDS, &host_id) < 0)
        return -1;
    POOL_AUTOSTRV devices = pool_request_get_all(req, "device");
    if (!devices)
        return -1;
    poolPoolDef *def = pool_manager_pool_import(d->mgr, name, devices);
    return def ? pool_added(d, name, host_id, def, reply) : -1;
}

static int pool_destroy(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *name;
    bool force;
    if (poold_param_required(req, "name", &name) < 0 ||
        pool_request_get_bool(req, "force", false, &force) < 0)
        return -1;
    if (!pool_manager_find_exists(d->mgr, name))
        return pool_manager_pool_destroy(d->mgr, name, force);
    /* libvirt and the target let go of the pool while its VG is still
     * there; if the destroy fails, they get it back */
    poolEvent ev = {.kind = POOLD_EV_POOL_DESTROYING, .pool = name};
    int r = poold_emit(d, &ev);
    if (r == 0)
        r = pool_manager_pool_destroy(d->mgr, name, force);
    if (r == 0) {
        ev.kind = POOLD_EV_POOL_DESTROYED;
        poold_emit(d, &ev);
    } else if (pool_manager_find_exists(d->mgr, name)) {
        poolError *err = pool_error_save();
        ev.kind = POOLD_EV_POOL_DESTROY_FAILED;
        poold_emit(d, &ev);
        pool_error_restore(err);
    }
    return r;
}

static int pool_info(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *name;
    if (poold_param_required(req, "name", &name) < 0)
        return -1;
    poolPoolDef *def = pool_manager_pool_info(d->mgr, name);
    return def ? add_pool(reply, def) : -1;
}

static int pool_list(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    poolPoolDef **defs = NULL;
    size_t n = 0;
    if (pool_manager_pool_list(d->mgr, &defs, &n) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (r == 0 && add_pool(reply, defs[i]) < 0)
            r = -1;
        else if (r < 0)
            pool_pool_def_free(defs[i]);
        defs[i] = NULL;
    }
    free(defs);
    return r;
}

const poolDispatchEntry poold_pool_handlers[] = {
    {"pool-create", pool_create}, {"pool-import", pool_import}, {"pool-destroy", pool_destroy},
    {"pool-info", pool_info},     {"pool-list", pool_list},     {NULL, NULL},
};
