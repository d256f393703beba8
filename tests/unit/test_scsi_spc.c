// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scsi_spc.c: SPC-4 commands of the SCSI device model with real CDBs:
 * standard INQUIRY and allocation-length truncation, the VPD pages (serial,
 * device identification, block limits, provisioning for thick and thin),
 * REPORT LUNS addressing, REQUEST SENSE (fixed and descriptor), unknown
 * opcodes and refused CDB bits, REPORT SUPPORTED OPERATION CODES in every
 * reporting option, MODE SENSE/SELECT with SWP, START STOP UNIT, PREVENT
 * ALLOW and commands for a LUN that does not exist.
 */
#include "scsi_test_lu.h"
#include "test_support.h"

START_TEST(inquiry_standard)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[6] = {0x12, 0, 0, 0x01, 0x04, 0};
    scsiCmd c;

    run(lu, &NX1, &c, cdb, 6, NULL, 0); /* not blocked by the power-on UA */
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 96);
    ck_assert_int_eq(din[0], 0x00);
    ck_assert_int_eq(din[2], 0x06);
    ck_assert_int_eq(din[3], 0x12);
    ck_assert_int_eq(din[4], 91);
    ck_assert_int_eq(din[7], 0x02);
    ck_assert_mem_eq(din + 8, "POOLD   ", 8);
    ck_assert_mem_eq(din + 16, "pool1/vol1      ", 16);
    ck_assert_int_eq(din[58], 0x00);
    ck_assert_int_eq(din[59], 0xa0);
    ck_assert_int_eq(din[62], 0x04);
    ck_assert_int_eq(din[63], 0x60);
    ck_assert_int_eq(din[64], 0x04);
    ck_assert_int_eq(din[65], 0xc0);

    cdb[4] = 10; /* allocation length truncates */
    cdb[3] = 0;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 10);
    ck_assert_int_eq(c.data_in_max, 10);

    cdb[2] = 0x80; /* page code without EVPD */
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

static const uint8_t *find_desig(const uint8_t *p, uint8_t assoc, uint8_t type)
{
    size_t len = ((size_t)p[2] << 8) | p[3];
    for (size_t off = 4; off + 4 <= len + 4; off += 4 + p[off + 3])
        if (((p[off + 1] >> 4) & 3) == assoc && (p[off + 1] & 0x0f) == type)
            return p + off;
    return NULL;
}

START_TEST(inquiry_vpd)
{
    scsiLu *lu = mk_lu(100, 512, true);
    uint8_t cdb[6] = {0x12, 0x01, 0x00, 0x01, 0x00, 0};
    scsiCmd c;
    const uint8_t *d;

    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[1], 0x00);
    ck_assert_int_eq(din[3], 7);
    ck_assert_mem_eq(din + 4, "\x00\x80\x83\x86\xb0\xb1\xb2", 7);

    cdb[2] = 0x80;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[3], 16);
    ck_assert_mem_eq(din + 4, "0f8e6c3a1d2b4c5d", 16);

    cdb[2] = 0x83;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_good(&c);
    d = find_desig(din, 0, 3); /* NAA */
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d[3], 8);
    ck_assert_int_eq(d[4] >> 4, 3); /* NAA 3h: locally assigned */
    ck_assert_mem_eq(d + 4, "\x30\x31\x32\x33\x34\x35\x36\x37", 8);
    d = find_desig(din, 0, 1); /* T10 vendor id */
    ck_assert_ptr_nonnull(d);
    ck_assert_mem_eq(d + 4, "POOLD   0f8e6c3a", 16);
    d = find_desig(din, 1, 4); /* relative target port */
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d[0], 0x51);
    ck_assert_int_eq(d[7], 1);
    d = find_desig(din, 1, 8); /* target port name */
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq((const char *)d + 4, "iqn.2026-11.org.poold:pool1,t,0x0001");
    ck_assert_int_eq(d[3] % 4, 0);

    cdb[2] = 0xb0;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 64);
    ck_assert_int_eq(din[3], 0x3c);
    ck_assert_int_eq(din[4] & 1, 1);         /* WSNZ */
    ck_assert_uint_eq(rbe32(din + 8), 1024); /* max transfer */
    ck_assert_uint_ne(rbe32(din + 20), 0);   /* max unmap LBA count */
    ck_assert_uint_ne(rbe32(din + 24), 0);   /* max unmap descriptors */

    cdb[2] = 0xb2;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[5] & 0xe4, 0xe4); /* LBPU LBPWS LBPWS10 LBPRZ */
    ck_assert_int_eq(din[6] & 7, 2);

    cdb[2] = 0xc7; /* unknown page */
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);

    /* thick LU: no unmap limits, no LBP flags */
    lu = mk_lu(100, 512, false);
    cdb[2] = 0xb0;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_assert_uint_eq(rbe32(din + 20), 0);
    ck_assert_uint_eq(rbe32(din + 24), 0);
    cdb[2] = 0xb2;
    run(lu, &NX1, &c, cdb, 6, NULL, 0);
    ck_assert_int_eq(din[5], 0);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(report_luns)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[12] = {0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0};
    static const uint64_t luns[] = {0, 5, 300};
    scsiLunList list = {luns, 3};
    scsiCmd c;

    memset(&c, 0, sizeof(c));
    c.cdb = cdb;
    c.cdb_len = 12;
    c.nexus = &NX1;
    c.luns = &list;
    c.edtl = 4096;
    ck_assert_int_eq(scsi_cmd_prepare(lu, &c), 0); /* not blocked by the UA */
    c.data_in = din;
    scsi_cmd_exec(lu, &c);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 32);
    ck_assert_uint_eq(rbe32(din), 24);
    ck_assert_mem_eq(din + 8, "\0\0\0\0\0\0\0\0", 8);
    ck_assert_int_eq(din[16 + 1], 5);
    ck_assert_int_eq(din[24], 0x41); /* flat space: 300 = 0x12c */
    ck_assert_int_eq(din[25], 0x2c);

    cdb[9] = 15; /* allocation length below 16 */
    cdb[8] = 0;
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(request_sense_and_unknown)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t rs[6] = {0x03, 0, 0, 0, 252, 0};
    uint8_t bad[10] = {0xc8};
    scsiCmd c;

    run(lu, &NX1, &c, rs, 6, NULL, 0); /* returns the pending power-on UA */
    ck_good(&c);
    ck_assert_int_eq(din[0], 0x70);
    ck_assert_int_eq(din[2], SK_UNIT_ATTENTION);
    ck_assert_int_eq(din[12], 0x29);
    run(lu, &NX1, &c, rs, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[2], SK_NO_SENSE);
    rs[1] = 1; /* descriptor format */
    run(lu, &NX1, &c, rs, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[0], 0x72);
    ck_assert_int_eq(c.data_in_len, 8);

    run(lu, &NX1, &c, bad, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x20, 0x00);
    uint8_t naca[6] = {0x00, 0, 0, 0, 0, 0x04}; /* TUR with NACA */
    run(lu, &NX1, &c, naca, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    uint8_t pr_in_bad[10] = {0x5e, 0x09, 0, 0, 0, 0, 0, 0, 0x10, 0};
    run(lu, &NX1, &c, pr_in_bad, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(rsoc)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[12] = {0xa3, 0x0c, 0x00, 0, 0, 0, 0, 0, 0x40, 0, 0, 0};
    scsiCmd c;
    bool saw_read10 = false, saw_unmap = false, saw_rc16 = false;

    clear_ua(lu, &NX1);
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_good(&c);
    uint32_t len = rbe32(din);
    ck_assert_uint_eq(c.data_in_len, len + 4);
    for (uint32_t off = 4; off < len + 4; off += 8) {
        if (din[off] == 0x28)
            saw_read10 = true;
        if (din[off] == 0x42)
            saw_unmap = true;
        if (din[off] == 0x9e && din[off + 3] == 0x10) {
            saw_rc16 = true;
            ck_assert_int_eq(din[off + 5] & 1, 1); /* SERVACTV */
        }
    }
    ck_assert(saw_read10 && saw_rc16);
    ck_assert(!saw_unmap); /* thick LU: not advertised */

    cdb[2] = 0x01; /* one command */
    cdb[3] = 0x28;
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[1] & 7, 3);
    ck_assert_int_eq(din[3], 10);
    ck_assert_int_eq(din[4], 0x28);
    ck_assert_int_eq(din[5], 0x18); /* DPO FUA, no RDPROTECT */

    cdb[3] = 0x9e; /* has service actions: option 1 invalid */
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    cdb[2] = 0x82; /* option 2 with RCTD */
    cdb[5] = 0x10;
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[1], 0x83);
    ck_assert_int_eq(din[3], 16);
    ck_assert_int_eq(din[4 + 16 + 1], 0x0a); /* timeouts descriptor length */
    cdb[2] = 0x02;
    cdb[3] = 0x28; /* no service actions: option 2 invalid */
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    cdb[2] = 0x01;
    cdb[3] = 0x48; /* SANITIZE: not supported */
    run(lu, &NX1, &c, cdb, 12, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[1] & 7, 1);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(mode_sense_select)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t ms6[6] = {0x1a, 0, 0x3f, 0, 255, 0};
    uint8_t ms10[10] = {0x5a, 0x10, 0x0a, 0, 0, 0, 0, 0, 255, 0};
    uint8_t sel[6] = {0x15, 0x10, 0, 0, 0, 0};
    uint8_t w10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    uint8_t p[4 + 12], blk[512] = {0};
    scsiCmd c;

    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    run(lu, &NX1, &c, ms6, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[0] + 1, (int)c.data_in_len);
    ck_assert_int_eq(din[2], 0x10); /* DPOFUA, not WP */
    ck_assert_int_eq(din[3], 8);
    ck_assert_uint_eq(rbe32(din + 4), 100);
    ck_assert_int_eq(din[12], 0x08);        /* caching page first */
    ck_assert_int_eq(din[14] & 0x04, 0x04); /* WCE */
    ck_assert_int_eq(din[32], 0x0a);

    ms6[4] = 4; /* truncation */
    run(lu, &NX1, &c, ms6, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 4);

    run(lu, &NX1, &c, ms10, 10, NULL, 0); /* LLBAA: long descriptor */
    ck_good(&c);
    ck_assert_int_eq(din[4] & 1, 1);
    ck_assert_int_eq(din[7], 16);
    ck_assert_uint_eq(rbe64(din + 8), 100);
    ck_assert_int_eq(din[24], 0x0a);

    ms6[2] = 0xca; /* saved values */
    ms6[4] = 255;
    run(lu, &NX1, &c, ms6, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x39, 0x00);
    ms6[2] = 0x4a; /* changeable control page: only SWP */
    ms6[1] = 0x08;
    run(lu, &NX1, &c, ms6, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[4 + 4], 0x08);
    ms6[2] = 0x0a; /* current control page, no block descriptor */
    run(lu, &NX1, &c, ms6, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(din[3], 0);

    /* MODE SELECT: set SWP */
    memset(p, 0, sizeof(p));
    memcpy(p + 4, din + 4, 12);
    p[4 + 4] |= 0x08;
    sel[4] = sizeof(p);
    run(lu, &NX1, &c, sel, 6, p, sizeof(p));
    ck_good(&c);
    run(lu, &NX1, &c, w10, 10, blk, 512);
    ck_sense(&c, SK_DATA_PROTECT, 0x27, 0x02);
    run(lu, &NX2, &c, w10, 10, blk, 512); /* other nexus learns of the change */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x01);
    ms6[1] = 0;
    ms6[2] = 0x3f;
    run(lu, &NX1, &c, ms6, 6, NULL, 0);
    ck_assert_int_eq(din[2], 0x90); /* WP */

    /* a change to a non-changeable field is refused */
    p[4 + 2] ^= 0x04; /* D_SENSE */
    run(lu, &NX1, &c, sel, 6, p, sizeof(p));
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x00);
    ck_assert_uint_eq(c.sense[17], 6);
    p[4 + 2] ^= 0x04;
    p[4 + 4] &= (uint8_t)~0x08; /* clear SWP again */
    run(lu, &NX1, &c, sel, 6, p, sizeof(p));
    ck_good(&c);
    run(lu, &NX1, &c, w10, 10, blk, 512);
    ck_good(&c);
    sel[1] = 0x11; /* SP */
    run(lu, &NX1, &c, sel, 6, p, sizeof(p));
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(start_stop_prevent)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t ssu[6] = {0x1b, 0, 0, 0, 0x00, 0};
    uint8_t pa[6] = {0x1e, 0, 0, 0, 0x01, 0};
    scsiCmd c;

    clear_ua(lu, &NX1);
    run(lu, &NX1, &c, ssu, 6, NULL, 0); /* stop: flushes, stays ready */
    ck_good(&c);
    ck_assert_int_eq(disk.flushes, 1);
    ssu[4] = 0x02; /* LOEJ: nothing to eject */
    run(lu, &NX1, &c, ssu, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    ssu[4] = 0x51; /* power condition 5: invalid */
    run(lu, &NX1, &c, ssu, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    run(lu, &NX1, &c, pa, 6, NULL, 0);
    ck_good(&c);
    pa[4] = 2;
    run(lu, &NX1, &c, pa, 6, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(no_lu)
{
    uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    uint8_t tur[6] = {0};
    scsiCmd c;
    scsiLu *lu = mk_lu(8, 512, false); /* allocates din */

    scsi_lu_unref(lu);
    memset(&c, 0, sizeof(c));
    c.cdb = inq;
    c.cdb_len = 6;
    c.edtl = 36;
    c.data_in = din;
    scsi_cmd_no_lu(&c);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 36);
    ck_assert_int_eq(din[0], 0x7f);
    memset(&c, 0, sizeof(c));
    c.cdb = tur;
    c.cdb_len = 6;
    scsi_cmd_no_lu(&c);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x25, 0x00);
    ck_assert(c.prepared_error);
}
END_TEST

static Suite *spc_suite(void)
{
    Suite *s = suite_create("scsi_spc");
    TCase *tc = tcase_create("spc");
    tcase_add_test(tc, inquiry_standard);
    tcase_add_test(tc, inquiry_vpd);
    tcase_add_test(tc, report_luns);
    tcase_add_test(tc, request_sense_and_unknown);
    tcase_add_test(tc, rsoc);
    tcase_add_test(tc, mode_sense_select);
    tcase_add_test(tc, start_stop_prevent);
    tcase_add_test(tc, no_lu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(spc_suite());
}
