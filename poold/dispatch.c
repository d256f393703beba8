/*
 * dispatch.c: from a request payload to a reply document. Everything about
 * the request is checked here before a handler runs: well-formed XML, a known
 * op, only the params that op accepts (both from the catalogue of operations,
 * libpool/proto_catalogue.c). Handlers then check values.
 *
 * The handler tables (handlers_*.c) only map op names to handlers;
 * poold_dispatch_check() makes sure at start that they cover the catalogue
 * exactly once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "locks.h"
#include "poold.h"

static const poolDispatchEntry *const tables[] = {
    poold_pool_handlers,   poold_volume_handlers,  poold_daemon_handlers,
    poold_target_handlers, poold_cluster_handlers, poold_vm_handlers,
    poold_vm_run_handlers, poold_job_handlers,     poold_snapshot_handlers,
};

static const poolDispatchEntry *lookup(const char *op)
{
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const poolDispatchEntry *e = tables[t]; e->op; e++)
            if (strcmp(e->op, op) == 0)
                return e;
    return NULL;
}

int poold_dispatch_check(void)
{
    size_t n = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const poolDispatchEntry *e = tables[t]; e->op; e++)
            n++;
    const char **names = calloc(n ? n : 1, sizeof(*names));
    if (!names) {
        pool_error_oom();
        return -1;
    }
    n = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const poolDispatchEntry *e = tables[t]; e->op; e++)
            names[n++] = e->op;
    int r = pool_catalogue_check_table(names, n, false, "poold's handler tables");
    free(names);
    return r;
}

static int check_params(const poolOpSpec *spec, const poolRequest *req)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (!pool_catalogue_arg(spec, req->params[i].name)) {
            pool_error(POOL_ERR_PROTOCOL, "operation %s does not take a parameter '%s'", spec->op,
                       req->params[i].name);
            return -1;
        }
    return 0;
}

/* ---- locks (docs/design.md "Concurrency") ------------------------------ */

void poold_daemon_locks_init(poolDaemon *d)
{
    pthread_rwlock_init(&d->pools_lock, NULL);
    pthread_mutex_init(&d->names_lock, NULL);
    pthread_mutex_init(&d->events_lock, NULL);
    pthread_mutex_init(&d->refresh_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->refresh_cond, &ca);
    pthread_condattr_destroy(&ca);
}

void poold_daemon_locks_destroy(poolDaemon *d)
{
    pthread_rwlock_destroy(&d->pools_lock);
    pthread_mutex_destroy(&d->names_lock);
    pthread_mutex_destroy(&d->events_lock);
    pthread_mutex_destroy(&d->refresh_lock);
    pthread_cond_destroy(&d->refresh_cond);
}

static const char *param_value(const poolRequest *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

/* ---- dispatch ---------------------------------------------------------- */

struct poolPrepared {
    poolRequest *req; /* NULL: unparsed (the error is set) */
    const poolOpSpec *spec;
    const poolDispatchEntry *e; /* NULL: refused (the error is set) */
};

poolPrepared *poold_dispatch_prepare(poolDaemon *d, const char *payload, size_t len)
{
    (void)d;
    pool_error_reset();
    poolPrepared *p = calloc(1, sizeof(*p));
    if (!p) {
        pool_error_oom();
        return NULL;
    }
    p->req = pool_request_parse(payload, len);
    if (!p->req)
        return p;
    p->spec = pool_catalogue_find(p->req->op);
    const poolDispatchEntry *e = p->spec ? lookup(p->req->op) : NULL;
    if (!e)
        pool_error(POOL_ERR_PROTOCOL, "unknown operation '%s'", p->req->op);
    else if (check_params(p->spec, p->req) == 0)
        p->e = e;
    return p;
}

bool poold_dispatch_inline(const poolPrepared *p)
{
    return !p->e || p->spec->lock == POOL_OP_LOCK_NONE;
}

static void prepared_free(poolPrepared *p)
{
    pool_request_free(p->req);
    free(p);
}

/* The second part of a GLOBAL op: under the shared pools lock and the
 * pool's mutex, like any change of that one pool, so other requests go on
 * while it waits. The pool may have gone in between (pool destroy). */
static int run_continuation(poolDaemon *d, poolPendingContinuation *cont, xmlNodePtr reply)
{
    pthread_rwlock_rdlock(&d->pools_lock);
    struct poolNamedLock *named = poold_pool_named_lock(d, cont->pool);
    int r = -1;
    if (named) {
        int locking;
        unsigned host_id;
        if (pool_manager_pool_locking(d->mgr, cont->pool, &locking, &host_id) < 0)
            pool_error_prefix("pool %s went away meanwhile", cont->pool);
        else
            r = cont->fn(d, cont->pool, cont->ctx, reply);
        poold_named_unlock(d, named);
    }
    pthread_rwlock_unlock(&d->pools_lock);
    return r;
}

/* Run the handler under the locks of its op's class. */
static int run_locked(poolDaemon *d, const poolPrepared *p, xmlNodePtr reply)
{
    poolOpLock cls = p->spec->lock;
    if (cls == POOL_OP_LOCK_NONE)
        return p->e->handler(d, p->req, reply);
    if (cls == POOL_OP_LOCK_GLOBAL)
        pthread_rwlock_wrlock(&d->pools_lock);
    else
        pthread_rwlock_rdlock(&d->pools_lock);
    struct poolNamedLock *named = NULL;
    int r = 0;
    if (cls == POOL_OP_LOCK_POOL || cls == POOL_OP_LOCK_VM) {
        /* the pool is param "pool"; the VM is "name" of a vm op (vm
         * define has none: the name is in its XML, so the defines of one
         * pool take turns, apart from the pool's changes); a request
         * without them fails in its handler, under a lock of its own */
        const char *pool = param_value(p->req, "pool");
        const char *vm = param_value(p->req, "name");
        POOL_AUTOFREE(char *)
        key = cls == POOL_OP_LOCK_VM ? pool_asprintf("vm\n%s\n%s", pool ? pool : "", vm ? vm : "")
                                     : pool_asprintf("pool\n%s", pool ? pool : "");
        if (!key || !(named = poold_named_lock(d, key)))
            r = -1;
    }
    /* a volume or pool a job works on (jobs.h) */
    if (r == 0)
        r = poold_jobs_check_request(d, p->spec, p->req);
    if (r == 0)
        r = p->e->handler(d, p->req, reply);
    if (named)
        poold_named_unlock(d, named);
    pthread_rwlock_unlock(&d->pools_lock);
    poolPendingContinuation cont;
    if (poold_continuation_take(&cont)) {
        if (r == 0 && cls == POOL_OP_LOCK_GLOBAL)
            r = run_continuation(d, &cont, reply);
        poold_continuation_clear(&cont);
    }
    return r;
}

xmlDocPtr poold_dispatch_run(poolDaemon *d, poolPrepared *p)
{
    uint64_t id = p->req ? p->req->id : 0;
    if (p->e) {
        xmlDocPtr doc = pool_reply_new_ok(id);
        if (!doc) {
            prepared_free(p);
            return NULL;
        }
        log_debug("request %llu: %s", (unsigned long long)id, p->req->op);
        if (run_locked(d, p, xmlDocGetRootElement(doc)) == 0) {
            prepared_free(p);
            return doc;
        }
        xmlFreeDoc(doc);
    }
    const poolError *err = pool_error_last();
    if (!err) {
        pool_error(POOL_ERR_INTERNAL, "request failed without an error message");
        err = pool_error_last();
    }
    log_info("request %llu (%s) failed: %s", (unsigned long long)id,
             p->req ? p->req->op : "unparsed", err->message);
    xmlDocPtr reply = pool_reply_new_error(id, err);
    prepared_free(p);
    return reply;
}

xmlDocPtr poold_dispatch(poolDaemon *d, const char *payload, size_t len)
{
    poolPrepared *p = poold_dispatch_prepare(d, payload, len);
    return p ? poold_dispatch_run(d, p) : NULL;
}
