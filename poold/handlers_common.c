/*
 * handlers_common.c: parameter helpers shared by the handlers, so every op
 * reports a missing or malformed parameter the same way.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"
#include "poold.h"

int poold_param_required(const poolRequest *req, const char *name, const char **value)
{
    *value = pool_request_get(req, name);
    if (!*value) {
        pool_error(POOL_ERR_INVALID_ARG, "%s: missing parameter '%s'", req->op, name);
        return -1;
    }
    return 0;
}

int poold_param_size(const poolRequest *req, const char *name, bool required, uint64_t *bytes)
{
    const char *v = pool_request_get(req, name);
    *bytes = 0;
    if (!v) {
        if (required) {
            pool_error(POOL_ERR_INVALID_ARG, "%s: missing parameter '%s'", req->op, name);
            return -1;
        }
        return 0;
    }
    return pool_parse_size(v, name, bytes);
}

int poold_param_uint(const poolRequest *req, const char *name, uint64_t max, unsigned *out)
{
    const char *v = pool_request_get(req, name);
    uint64_t n = 0;
    *out = 0;
    if (!v)
        return 0;
    if (pool_parse_uint(v, name, 1, max, &n) < 0)
        return -1;
    *out = (unsigned)n;
    return 0;
}

int poold_set_uint(xmlNodePtr n, const char *name, uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return xmlNewProp(n, BAD_CAST name, BAD_CAST buf) ? 0 : pool_error_oom();
}

int poold_set_str(xmlNodePtr n, const char *name, const char *v)
{
    return xmlNewProp(n, BAD_CAST name, BAD_CAST v) ? 0 : pool_error_oom();
}

/* The continuation a GLOBAL handler left (poold_continue_on_pool); one
 * per worker thread, taken by the dispatcher when the handler returns. */
static __thread poolPendingContinuation pending;

int poold_continue_on_pool(const char *pool, poolContinuation fn, void *ctx,
                           void (*ctx_free)(void *))
{
    if (pending.fn) {
        if (ctx_free)
            ctx_free(ctx);
        pool_error(POOL_ERR_INTERNAL, "a request left two continuations");
        return -1;
    }
    if (!(pending.pool = pool_strdup(pool))) {
        if (ctx_free)
            ctx_free(ctx);
        return -1;
    }
    pending.fn = fn;
    pending.ctx = ctx;
    pending.ctx_free = ctx_free;
    return 0;
}

bool poold_continuation_take(poolPendingContinuation *out)
{
    *out = pending;
    memset(&pending, 0, sizeof(pending));
    return out->fn != NULL;
}

void poold_continuation_clear(poolPendingContinuation *c)
{
    if (c->ctx_free)
        c->ctx_free(c->ctx);
    free(c->pool);
    memset(c, 0, sizeof(*c));
}
