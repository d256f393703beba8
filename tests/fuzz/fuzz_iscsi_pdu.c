// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_iscsi_pdu.c: libFuzzer target for the iSCSI PDU layer: BHS decode
 * and validation (login and full feature phase), AHS walk, LUN decoding,
 * digests over the data segment.
 *
 * Properties beyond "does not crash": decode/encode round-trips every
 * header exactly (bit 7 of byte 0 aside); a header the checker accepts never
 * claims more data than allowed; an accepted AHS area yields an extended CDB
 * lying inside the input; an accepted LUN re-encodes to a LUN that decodes
 * to the same number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t bhs[ISCSI_BHS_LEN], out[ISCSI_BHS_LEN];
    iscsiHdr h;
    uint8_t reason;

    if (size < ISCSI_BHS_LEN)
        return 0;
    memcpy(bhs, data, ISCSI_BHS_LEN);
    bhs[0] &= 0x7f;
    iscsi_hdr_decode(bhs, &h);
    iscsi_hdr_encode(&h, out);
    if (memcmp(bhs, out, ISCSI_BHS_LEN) != 0)
        abort();
    for (int login = 0; login < 2; login++) {
        if (iscsi_hdr_check(&h, login, 8192, &reason) == 0) {
            if (h.dlen > 8192)
                abort();
        } else if (reason == 0) {
            abort();
        }
    }
    const uint8_t *rest = data + ISCSI_BHS_LEN;
    size_t rlen = size - ISCSI_BHS_LEN;
    size_t ahslen = (size_t)h.ahs_words * 4;
    if (ahslen > rlen)
        ahslen = rlen;
    const uint8_t *ext = NULL;
    size_t extlen = 0;
    uint32_t bidi = 0;
    if (iscsi_ahs_parse(rest, ahslen, &ext, &extlen, &bidi) == 0 && ext) {
        if (ext < rest || ext + extlen > rest + ahslen)
            abort();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < extlen; i++)
            sink ^= ext[i];
        (void)sink;
    }
    uint64_t lun;
    if (iscsi_lun_decode(h.lun, &lun) == 0) {
        uint8_t l2[8];
        uint64_t lun2;
        iscsi_lun_encode(lun, l2);
        if (iscsi_lun_decode(l2, &lun2) != 0 || lun2 != lun)
            abort();
    }
    uint32_t dlen = h.dlen;
    if (dlen > rlen - ahslen)
        dlen = (uint32_t)(rlen - ahslen);
    uint32_t a = iscsi_digest(rest + ahslen, dlen);
    uint32_t b = iscsi_digest_update(iscsi_digest_update(0, rest + ahslen, dlen / 2),
                                     rest + ahslen + dlen / 2, dlen - dlen / 2);
    if (a != b)
        abort();
    return 0;
}
