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

#include "pool-error.h"
#include "pool-log.h"
#include "poold.h"

static const poolDispatchEntry *const tables[] = {
    poold_pool_handlers,    poold_volume_handlers, poold_daemon_handlers, poold_target_handlers,
    poold_cluster_handlers, poold_vm_handlers,     poold_vm_run_handlers,
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

xmlDocPtr poold_dispatch(poolDaemon *d, const char *payload, size_t len)
{
    pool_error_reset();
    POOL_AUTOPTR(poolRequest) req = pool_request_parse(payload, len);
    uint64_t id = req ? req->id : 0;
    if (req) {
        const poolOpSpec *spec = pool_catalogue_find(req->op);
        const poolDispatchEntry *e = spec ? lookup(req->op) : NULL;
        if (!e) {
            pool_error(POOL_ERR_PROTOCOL, "unknown operation '%s'", req->op);
        } else if (check_params(spec, req) == 0) {
            xmlDocPtr doc = pool_reply_new_ok(id);
            if (!doc)
                return NULL;
            log_debug("request %llu: %s", (unsigned long long)id, req->op);
            if (e->handler(d, req, xmlDocGetRootElement(doc)) == 0)
                return doc;
            xmlFreeDoc(doc);
        }
    }
    const poolError *err = pool_error_last();
    if (!err) {
        pool_error(POOL_ERR_INTERNAL, "request failed without an error message");
        err = pool_error_last();
    }
    log_info("request %llu (%s) failed: %s", (unsigned long long)id, req ? req->op : "unparsed",
             err->message);
    return pool_reply_new_error(id, err);
}
