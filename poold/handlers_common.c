/*
 * handlers_common.c: parameter helpers shared by the handlers, so every op
 * reports a missing or malformed parameter the same way.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>

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
