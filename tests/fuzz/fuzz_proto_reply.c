// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_proto_reply.c: libFuzzer target for reply parsing.
 *
 * Why: poolctl parses whatever comes back on the socket, and error replies
 * install the carried error. The expected id is taken from the document's
 * own id attribute when it has one (so matching replies get past the id
 * check), else 0. Accepted ok replies must format and parse again; their
 * pool and volume children go through the strict document parsers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-proto.h"
#include "pool-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t guess_id(const uint8_t *data, size_t size)
{
    static const char key[] = "id=\"";
    uint64_t id = 0;

    for (size_t i = 0; i + sizeof(key) - 1 < size; i++) {
        if (memcmp(data + i, key, sizeof(key) - 1) != 0)
            continue;
        for (size_t j = i + sizeof(key) - 1; j < size && data[j] >= '0' && data[j] <= '9'; j++)
            id = id * 10 + (uint64_t)(data[j] - '0');
        break;
    }
    return id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t id = guess_id(data, size);
    xmlDocPtr doc = pool_reply_parse((const char *)data, size, id);
    xmlDocPtr again = NULL;
    POOL_AUTOFREE(char *) xml = NULL;
    size_t len = 0;

    if (!doc) {
        /* an error reply installed an error: it must be readable */
        const poolError *err = pool_error_last();
        if (!err || !err->message)
            abort();
        return 0;
    }
    for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrEqual(n->name, BAD_CAST "pool"))
            pool_pool_def_free(pool_pool_def_parse_node(n));
        else if (xmlStrEqual(n->name, BAD_CAST "volume"))
            pool_vol_def_free(pool_vol_def_parse_node(n));
    }
    xml = pool_reply_format(doc, &len);
    xmlFreeDoc(doc);
    if (!xml)
        abort();
    again = pool_reply_parse(xml, len, id);
    if (!again)
        abort();
    xmlFreeDoc(again);
    return 0;
}
