// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_proto_request.c: libFuzzer target for request parsing.
 *
 * Why: every request poold serves goes through pool_request_parse(). An
 * accepted request must format and parse back to the same id, op and
 * parameters (order and values included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    POOL_AUTOPTR(poolRequest) req = NULL;
    POOL_AUTOPTR(poolRequest) again = NULL;
    POOL_AUTOFREE(char *) xml = NULL;
    size_t len = 0;

    req = pool_request_parse((const char *)data, size);
    if (!req)
        return 0;
    xml = pool_request_format(req, &len);
    if (!xml)
        abort();
    again = pool_request_parse(xml, len);
    if (!again || again->id != req->id || strcmp(again->op, req->op) != 0 ||
        again->nparams != req->nparams)
        abort();
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, again->params[i].name) != 0 ||
            strcmp(req->params[i].value, again->params[i].value) != 0)
            abort();
    }
    return 0;
}
