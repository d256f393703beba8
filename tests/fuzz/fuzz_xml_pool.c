// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_xml_pool.c: libFuzzer target for the pool document parser.
 *
 * Why: pool documents come from operators and from other hosts. Besides
 * "never crash, never leak", the target checks the round-trip promise on
 * every input the parser accepts: format(parse(x)) must parse again to a
 * document that formats to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    POOL_AUTOPTR(poolPoolDef) def = NULL;
    POOL_AUTOPTR(poolPoolDef) again = NULL;
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;

    def = pool_pool_def_parse_string((const char *)data, size);
    if (!def)
        return 0;
    xml = pool_pool_def_format(def);
    if (!xml)
        abort(); /* everything the parser accepts must format */
    again = pool_pool_def_parse_string(xml, strlen(xml));
    if (!again)
        abort();
    xml2 = pool_pool_def_format(again);
    if (!xml2 || strcmp(xml, xml2) != 0)
        abort();
    return 0;
}
