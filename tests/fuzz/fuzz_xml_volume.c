// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_xml_volume.c: libFuzzer target for the volume document parser.
 *
 * Why: volume documents travel between hosts inside replies and carry lease
 * slots and segment maps. Accepted inputs must also round-trip: format,
 * parse again, format to the same bytes.
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
    POOL_AUTOPTR(poolVolDef) def = NULL;
    POOL_AUTOPTR(poolVolDef) again = NULL;
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;

    def = pool_vol_def_parse_string((const char *)data, size);
    if (!def)
        return 0;
    xml = pool_vol_def_format(def);
    if (!xml)
        abort();
    again = pool_vol_def_parse_string(xml, strlen(xml));
    if (!again)
        abort();
    xml2 = pool_vol_def_format(again);
    if (!xml2 || strcmp(xml, xml2) != 0)
        abort();
    return 0;
}
