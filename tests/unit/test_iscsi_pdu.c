// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_iscsi_pdu.c: Basic Header Segment encode/decode round trips for
 * every opcode, the byte positions RFC 7143 section 11 fixes for the fields
 * the target sends, malformed headers and their Reject reasons, AHS walk,
 * LUN addressing, digest byte order (RFC 7143 appendix A.4 vectors).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_pdu.h"
#include "test_support.h"

static void fill_random(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
}

START_TEST(test_round_trip_any_bytes)
{
    for (unsigned seed = 1; seed < 2000; seed++) {
        uint8_t in[ISCSI_BHS_LEN], out[ISCSI_BHS_LEN];
        iscsiHdr h;

        fill_random(in, sizeof(in), seed);
        in[0] &= 0x7f; /* bit 7 of byte 0 is reserved: not represented */
        iscsi_hdr_decode(in, &h);
        iscsi_hdr_encode(&h, out);
        ck_assert_mem_eq(in, out, ISCSI_BHS_LEN);
    }
}
END_TEST

START_TEST(test_field_positions)
{
    iscsiHdr h;
    uint8_t b[ISCSI_BHS_LEN];
    uint8_t lun[8] = {0, 3, 0, 0, 0, 0, 0, 0};

    iscsi_build_data_in(&h, 0x11223344, lun,
                        ISCSI_FLAG_FINAL | ISCSI_FLAG_DATA_S | ISCSI_FLAG_RSP_U, 0, 5, 0x1000,
                        0x200, 0x345);
    iscsi_hdr_set_sn(&h, 0xa1, 0xb2, 0xc3);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_DATA_IN);
    ck_assert_uint_eq(b[1], 0x83);
    ck_assert_uint_eq(b[5], 0x00);
    ck_assert_uint_eq(b[6], 0x03);
    ck_assert_uint_eq(b[7], 0x45);
    ck_assert_uint_eq(iscsi_get_be32(b + 16), 0x11223344);
    ck_assert_uint_eq(iscsi_get_be32(b + 20), 0xffffffff);
    ck_assert_uint_eq(iscsi_get_be32(b + 24), 0xa1);
    ck_assert_uint_eq(iscsi_get_be32(b + 28), 0xb2);
    ck_assert_uint_eq(iscsi_get_be32(b + 32), 0xc3);
    ck_assert_uint_eq(iscsi_get_be32(b + 36), 5);
    ck_assert_uint_eq(iscsi_get_be32(b + 40), 0x1000);
    ck_assert_uint_eq(iscsi_get_be32(b + 44), 0x200);

    iscsi_build_r2t(&h, 7, lun, 0x99, 2, 65536, 262144);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_R2T);
    ck_assert_uint_eq(b[1], 0x80);
    ck_assert_uint_eq(b[9], 3);
    ck_assert_uint_eq(iscsi_get_be32(b + 20), 0x99);
    ck_assert_uint_eq(iscsi_get_be32(b + 36), 2);
    ck_assert_uint_eq(iscsi_get_be32(b + 40), 65536);
    ck_assert_uint_eq(iscsi_get_be32(b + 44), 262144);

    iscsi_build_scsi_rsp(&h, 9, 0x02, ISCSI_FLAG_RSP_O, 512, 3, 20);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_SCSI_RSP);
    ck_assert_uint_eq(b[1], 0x84);
    ck_assert_uint_eq(b[2], 0);
    ck_assert_uint_eq(b[3], 2);
    ck_assert_uint_eq(b[7], 20);
    ck_assert_uint_eq(iscsi_get_be32(b + 36), 3);
    ck_assert_uint_eq(iscsi_get_be32(b + 44), 512);

    iscsi_build_logout_rsp(&h, 4, 0, 2, 20);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_LOGOUT_RSP);
    ck_assert_uint_eq(iscsi_get_be16(b + 40), 2);
    ck_assert_uint_eq(iscsi_get_be16(b + 42), 20);

    iscsi_build_async(&h, ISCSI_ASYNC_LOGOUT_REQUEST, 0, 0, 5, NULL, 0);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_ASYNC);
    ck_assert_uint_eq(iscsi_get_be32(b + 16), 0xffffffff);
    ck_assert_uint_eq(b[36], 1);
    ck_assert_uint_eq(iscsi_get_be16(b + 42), 5);

    uint8_t isid[8] = {0x80, 1, 2, 3, 4, 5, 0x12, 0x34};
    iscsi_build_login_rsp(&h, isid, 1, 0x87, 2, 1, 0);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_LOGIN_RSP);
    ck_assert_uint_eq(b[1], 0x87);
    ck_assert_mem_eq(b + 8, isid, 8);
    ck_assert_uint_eq(b[36], 2);
    ck_assert_uint_eq(b[37], 1);

    iscsi_build_reject(&h, ISCSI_REJECT_PROTOCOL_ERROR, 0);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_REJECT);
    ck_assert_uint_eq(b[2], 4);
    ck_assert_uint_eq(b[7], 48);

    iscsi_build_tmf_rsp(&h, 3, ISCSI_TMF_RSP_NO_TASK);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_TMF_RSP);
    ck_assert_uint_eq(b[2], 1);

    iscsi_build_nop_in(&h, 0xffffffff, 0x1234, NULL, 0);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[0], ISCSI_OP_NOP_IN);
    ck_assert_uint_eq(iscsi_get_be32(b + 20), 0x1234);

    iscsi_build_text_rsp(&h, 8, false, true, 0x55, NULL, 100);
    iscsi_hdr_encode(&h, b);
    ck_assert_uint_eq(b[1], 0x40);
    ck_assert_uint_eq(iscsi_get_be32(b + 20), 0x55);
}
END_TEST

static int check_bytes(const uint8_t *b, bool login, uint32_t max, uint8_t *reason)
{
    iscsiHdr h;

    iscsi_hdr_decode(b, &h);
    return iscsi_hdr_check(&h, login, max, reason);
}

START_TEST(test_malformed)
{
    uint8_t b[ISCSI_BHS_LEN];
    uint8_t reason;

    /* a good SCSI command */
    memset(b, 0, sizeof(b));
    b[0] = ISCSI_OP_SCSI_CMD;
    b[1] = 0x80 | 0x40;
    iscsi_put_be32(b + 16, 1);
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), 0);
    /* unknown opcode */
    b[0] = 0x1c;
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    ck_assert_uint_eq(reason, ISCSI_REJECT_CMD_NOT_SUPP);
    /* target opcode sent by an initiator */
    b[0] = ISCSI_OP_DATA_IN;
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    /* data segment longer than declared */
    b[0] = ISCSI_OP_SCSI_CMD;
    b[5] = 0x01;
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    ck_assert_uint_eq(reason, ISCSI_REJECT_PROTOCOL_ERROR);
    b[5] = 0;
    /* reserved ITT on a command */
    iscsi_put_be32(b + 16, 0xffffffff);
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    ck_assert_uint_eq(reason, ISCSI_REJECT_INVALID_FIELD);
    /* login PDU in full feature phase, and vice versa */
    memset(b, 0, sizeof(b));
    b[0] = ISCSI_OP_LOGIN_REQ | 0x40;
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    ck_assert_int_eq(check_bytes(b, true, 8192, &reason), 0);
    b[1] = 0x80 | 0x40; /* T and C together */
    ck_assert_int_eq(check_bytes(b, true, 8192, &reason), -1);
    b[1] = 0x80 | (3 << 2); /* CSG = full feature */
    ck_assert_int_eq(check_bytes(b, true, 8192, &reason), -1);
    memset(b, 0, sizeof(b));
    b[0] = ISCSI_OP_NOP_OUT;
    b[1] = 0x80;
    ck_assert_int_eq(check_bytes(b, true, 8192, &reason), -1);
    /* NOP-Out with both tags reserved */
    iscsi_put_be32(b + 16, 0xffffffff);
    iscsi_put_be32(b + 20, 0xffffffff);
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    /* text request with F and C */
    memset(b, 0, sizeof(b));
    b[0] = ISCSI_OP_TEXT_REQ;
    b[1] = 0xc0;
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    /* Data-Out marked immediate */
    memset(b, 0, sizeof(b));
    b[0] = ISCSI_OP_DATA_OUT | 0x40;
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
    /* AHS on a NOP-Out */
    memset(b, 0, sizeof(b));
    b[0] = ISCSI_OP_NOP_OUT;
    b[1] = 0x80;
    b[4] = 1;
    iscsi_put_be32(b + 16, 5);
    ck_assert_int_eq(check_bytes(b, false, 8192, &reason), -1);
}
END_TEST

START_TEST(test_ahs)
{
    uint8_t ahs[64];
    const uint8_t *ext;
    size_t extlen;
    uint32_t bidi;

    memset(ahs, 0, sizeof(ahs));
    /* extended CDB of 16 bytes: AHSLength 17 (reserved byte + 16) */
    iscsi_put_be16(ahs, 17);
    ahs[2] = ISCSI_AHS_EXTENDED_CDB;
    ahs[4] = 0xaa;
    ck_assert_int_eq(iscsi_ahs_parse(ahs, 20, &ext, &extlen, &bidi), 0);
    ck_assert_uint_eq(extlen, 16);
    ck_assert_uint_eq(ext[0], 0xaa);
    /* runs past the area */
    ck_assert_int_eq(iscsi_ahs_parse(ahs, 12, &ext, &extlen, &bidi), -1);
    /* unknown type */
    ahs[2] = 0x3f;
    ck_assert_int_eq(iscsi_ahs_parse(ahs, 24, &ext, &extlen, &bidi), -1);
    /* zero length */
    memset(ahs, 0, sizeof(ahs));
    ck_assert_int_eq(iscsi_ahs_parse(ahs, 4, &ext, &extlen, &bidi), -1);
    /* bidi read length */
    iscsi_put_be16(ahs, 5);
    ahs[2] = ISCSI_AHS_BIDI_READ;
    iscsi_put_be32(ahs + 4, 4096);
    ck_assert_int_eq(iscsi_ahs_parse(ahs, 8, &ext, &extlen, &bidi), 0);
    ck_assert_uint_eq(bidi, 4096);
    ck_assert_ptr_null(ext);
}
END_TEST

START_TEST(test_lun)
{
    uint8_t l[8];
    uint64_t n;

    for (uint64_t lun = 0; lun < 16384; lun += 37) {
        iscsi_lun_encode(lun, l);
        ck_assert_int_eq(iscsi_lun_decode(l, &n), 0);
        ck_assert_uint_eq(n, lun);
    }
    memset(l, 0, 8);
    l[0] = 0x01; /* peripheral with bus 1 */
    ck_assert_int_eq(iscsi_lun_decode(l, &n), -1);
    memset(l, 0, 8);
    l[0] = 0x80; /* logical unit addressing: not supported */
    ck_assert_int_eq(iscsi_lun_decode(l, &n), -1);
    memset(l, 0, 8);
    l[3] = 1; /* second level */
    ck_assert_int_eq(iscsi_lun_decode(l, &n), -1);
    memset(l, 0, 8);
    l[0] = 0x40;
    l[1] = 5; /* flat addressing of a small LUN is fine too */
    ck_assert_int_eq(iscsi_lun_decode(l, &n), 0);
    ck_assert_uint_eq(n, 5);
}
END_TEST

START_TEST(test_digest)
{
    uint8_t buf[32], d[4];

    memset(buf, 0, sizeof(buf));
    iscsi_digest_put(d, iscsi_digest(buf, sizeof(buf)));
    /* RFC 7143 A.4: 32 bytes of zeros -> aa 36 91 8a on the wire */
    ck_assert_uint_eq(d[0], 0xaa);
    ck_assert_uint_eq(d[1], 0x36);
    ck_assert_uint_eq(d[2], 0x91);
    ck_assert_uint_eq(d[3], 0x8a);
    ck_assert_uint_eq(iscsi_digest_get(d), 0x8a9136aa);
    memset(buf, 0xff, sizeof(buf));
    iscsi_digest_put(d, iscsi_digest(buf, sizeof(buf)));
    ck_assert_uint_eq(d[0], 0x43);
    ck_assert_uint_eq(d[3], 0x62);
    /* chaining equals one shot */
    ck_assert_uint_eq(iscsi_digest_update(iscsi_digest_update(0, buf, 10), buf + 10, 22),
                      iscsi_digest(buf, 32));
}
END_TEST

START_TEST(test_sn_arith)
{
    ck_assert(iscsi_sn_lt(1, 2));
    ck_assert(!iscsi_sn_lt(2, 2));
    ck_assert(iscsi_sn_lt(0xfffffff0u, 5));
    ck_assert(!iscsi_sn_lt(5, 0xfffffff0u));
    ck_assert(iscsi_sn_le(7, 7));
    ck_assert_uint_eq(iscsi_pad4(0), 0);
    ck_assert_uint_eq(iscsi_pad4(1), 4);
    ck_assert_uint_eq(iscsi_pad4(4), 4);
    ck_assert_uint_eq(iscsi_pad4(4097), 4100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iscsi_pdu");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_round_trip_any_bytes);
    tcase_add_test(tc, test_field_positions);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_ahs);
    tcase_add_test(tc, test_lun);
    tcase_add_test(tc, test_digest);
    tcase_add_test(tc, test_sn_arith);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
