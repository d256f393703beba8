// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_vm_record.c: libFuzzer target for the VM record of the metadata
 * store: the file decoder (header line, length, checksum) and the XML body
 * parser.
 *
 * Why: records come from a share every host of a pool writes; a damaged or
 * hostile file must be refused, never crash a reader. The input is tried
 * twice: as a whole file and as a bare body. Accepted inputs must
 * round-trip: format (and encode) again, parse again, same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vmstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const poolVmRecord *rec)
{
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    POOL_AUTOFREE(char *) file = NULL;
    POOL_AUTOPTR(poolVmRecord) again = NULL;
    POOL_AUTOPTR(poolVmRecord) decoded = NULL;
    size_t flen = 0;

    xml = pool_vm_record_format(rec);
    if (!xml)
        abort();
    again = pool_vm_record_parse(xml, strlen(xml));
    if (!again)
        abort();
    xml2 = pool_vm_record_format(again);
    if (!xml2 || strcmp(xml, xml2) != 0)
        abort();
    file = pool_vm_record_file_encode(rec, &flen);
    if (!file)
        abort();
    decoded = pool_vm_record_file_decode(file, flen);
    if (!decoded)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    POOL_AUTOPTR(poolVmRecord) rec = NULL;
    POOL_AUTOPTR(poolVmRecord) body = NULL;

    rec = pool_vm_record_file_decode((const char *)data, size);
    if (rec)
        check_round_trip(rec);
    body = pool_vm_record_parse((const char *)data, size);
    if (body)
        check_round_trip(body);
    pool_error_reset();
    return 0;
}
