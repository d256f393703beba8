// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_xml_target.c: libFuzzer target for the target document parser
 * (ACL and CHAP of a pool's iSCSI target).
 *
 * Why: the document is access control, read from the state directory at
 * every start and from replies. Accepted inputs must round-trip (format,
 * parse again, format to the same bytes), with and without secrets, and
 * the iSCSI name validator must never crash on any ACL entry.
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
    POOL_AUTOPTR(poolTargetDef) def = NULL;
    POOL_AUTOPTR(poolTargetDef) again = NULL;
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    POOL_AUTOFREE(char *) bare = NULL;

    /* the raw bytes as a name, too (bounded, NUL-terminated copy) */
    char name[300];
    size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    (void)pool_iscsi_name_validate(name);

    def = pool_target_def_parse_string((const char *)data, size);
    if (!def)
        return 0;
    (void)pool_target_def_check_stored(def);
    xml = pool_target_def_format(def, true);
    if (!xml)
        abort();
    again = pool_target_def_parse_string(xml, strlen(xml));
    if (!again)
        abort();
    xml2 = pool_target_def_format(again, true);
    if (!xml2 || strcmp(xml, xml2) != 0)
        abort();
    /* without secrets: must format, parse back, and carry no secret */
    bare = pool_target_def_format(def, false);
    if (!bare)
        abort();
    POOL_AUTOPTR(poolTargetDef) b = pool_target_def_parse_string(bare, strlen(bare));
    if (!b || b->chap_secret || b->mutual_secret)
        abort();
    return 0;
}
