// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scsi_pr.c: persistent reservations and RESERVE/RELEASE(6) in the
 * SCSI device model: registration rules and PRgeneration, READ KEYS
 * truncation, REPORT CAPABILITIES, the access table of all six types for
 * registered and unregistered nexuses, ownership when the holder
 * unregisters, RELEASE/CLEAR/PREEMPT with their unit attentions, READ FULL
 * STATUS TransportIDs, REGISTER AND MOVE, APTPL save/load (and a corrupted
 * record ignored), and the SPC-2 reservation interplay.
 */
#include "scsi_test_lu.h"
#include "test_support.h"

static const uint8_t TUR_CDB[6] = {0};
static const uint8_t R10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
static const uint8_t W10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
static uint8_t blk[512];

static void prout(scsiLu *lu, const scsiNexus *nx, scsiCmd *c, uint8_t sa, uint8_t type,
                  uint64_t key, uint64_t sakey, uint8_t flags)
{
    uint8_t cdb[10] = {0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0};
    uint8_t p[24];
    memset(p, 0, sizeof(p));
    be64(p, key);
    be64(p + 8, sakey);
    p[20] = flags;
    run(lu, nx, c, cdb, 10, p, sizeof(p));
}

static void prin(scsiLu *lu, const scsiNexus *nx, scsiCmd *c, uint8_t sa)
{
    uint8_t cdb[10] = {0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0x00, 0};
    run(lu, nx, c, cdb, 10, NULL, 0);
}

static scsiLu *pr_lu(void)
{
    scsiLuConfig cfg;
    scsiLu *lu = mk_lu_cfg(64, 512, false, false, &cfg);
    scsi_lu_unref(lu);
    cfg.pr_save = m_pr_save;
    cfg.pr_load = m_pr_load;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    return lu;
}

START_TEST(register_and_read_keys)
{
    scsiLu *lu = pr_lu();
    scsiCmd c;

    prout(lu, &NX1, &c, 0, 0, 0, 0xaaaa, 0);
    ck_good(&c);
    prout(lu, &NX1, &c, 0, 0, 0x1234, 0xbbbb, 0); /* wrong key */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prout(lu, &NX2, &c, 6, 0, 0x9999, 0xcccc, 0); /* ignore existing key */
    ck_good(&c);
    prin(lu, &NX1, &c, 0);
    ck_good(&c);
    ck_assert_uint_eq(rbe32(din), 2); /* generation */
    ck_assert_uint_eq(rbe32(din + 4), 16);
    ck_assert_uint_eq(rbe64(din + 8), 0xaaaa);
    ck_assert_uint_eq(rbe64(din + 16), 0xcccc);

    uint8_t trunc[10] = {0x5e, 0, 0, 0, 0, 0, 0, 0, 12, 0};
    run(lu, &NX1, &c, trunc, 10, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 12);
    ck_assert_uint_eq(rbe32(din + 4), 16);

    prout(lu, &NX1, &c, 0, 0, 0xaaaa, 0, 0); /* unregister */
    ck_good(&c);
    prin(lu, &NX1, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 8);

    prin(lu, &NX1, &c, 2); /* REPORT CAPABILITIES */
    ck_good(&c);
    ck_assert_int_eq(rbe32(din) >> 16, 8);
    ck_assert_int_eq(din[2] & 0x1d, 0x15); /* CRH ATP_C PTPL_C, no SIP_C */
    ck_assert_int_eq(din[4], 0xea);
    ck_assert_int_eq(din[5], 0x01);

    prout(lu, &NX1, &c, 0, 0, 0, 1, 0x08); /* SPEC_I_PT refused */
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x00);
    uint8_t badlen[10] = {0x5f, 0, 0, 0, 0, 0, 0, 0, 20, 0};
    run(lu, &NX1, &c, badlen, 10, blk, 20);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

/* Access rules of every type for a registered and an unregistered nexus. */
START_TEST(access_by_type)
{
    static const struct {
        uint8_t type;
        bool reg_read, reg_write, unreg_read, unreg_write;
    } t[] = {
        {1, true, false, true, false}, {3, false, false, false, false},
        {5, true, true, true, false},  {6, true, true, false, false},
        {7, true, true, true, false},  {8, true, true, false, false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        scsiLu *lu = pr_lu();
        scsiCmd c;
        prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0);
        ck_good(&c);
        prout(lu, &NX1, &c, 1, t[i].type, 0x1, 0, 0);
        ck_good(&c);
        run(lu, &NX1, &c, R10, 10, NULL, 0);
        ck_good(&c);
        run(lu, &NX1, &c, W10, 10, blk, 512);
        ck_good(&c);
        /* unregistered */
        run(lu, &NX2, &c, R10, 10, NULL, 0);
        ck_assert_int_eq(c.status == 0, t[i].unreg_read);
        run(lu, &NX2, &c, W10, 10, blk, 512);
        ck_assert_int_eq(c.status == 0, t[i].unreg_write);
        if (!t[i].unreg_write)
            ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
        /* registered */
        prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0);
        ck_good(&c);
        run(lu, &NX2, &c, R10, 10, NULL, 0);
        ck_assert_int_eq(c.status == 0, t[i].reg_read);
        run(lu, &NX2, &c, W10, 10, blk, 512);
        ck_assert_int_eq(c.status == 0, t[i].reg_write);
        /* INQUIRY, TUR and READ CAPACITY always pass */
        uint8_t rc[10] = {0x25};
        run(lu, &NX2, &c, rc, 10, NULL, 0);
        ck_good(&c);
        /* READ RESERVATION: key 0 for all-registrants types */
        prin(lu, &NX2, &c, 1);
        ck_good(&c);
        ck_assert_uint_eq(rbe32(din + 4), 16);
        ck_assert_uint_eq(rbe64(din + 8), (t[i].type >= 7 ? 0 : 1));
        ck_assert_int_eq(din[21], t[i].type);
        /* ownership: the holder unregisters */
        prout(lu, &NX1, &c, 0, 0, 0x1, 0, 0);
        ck_good(&c);
        if (t[i].type == 5 || t[i].type == 6) { /* registrants-only: released */
            run(lu, &NX2, &c, TUR_CDB, 6, NULL, 0);
            ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x04);
        }
        prin(lu, &NX2, &c, 1);
        ck_good(&c);
        ck_assert_uint_eq(rbe32(din + 4), (t[i].type >= 7 ? 16 : 0));
        scsi_lu_unref(lu);
    }
}
END_TEST

START_TEST(release_clear_preempt)
{
    scsiLu *lu = pr_lu();
    scsiCmd c;

    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0);
    prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0);
    prout(lu, &NX1, &c, 1, 5, 0x1, 0, 0); /* WERO */
    ck_good(&c);
    prout(lu, &NX2, &c, 1, 5, 0x2, 0, 0); /* not the holder */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prout(lu, &NX1, &c, 2, 3, 0x1, 0, 0); /* wrong type */
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x04);
    prout(lu, &NX2, &c, 2, 5, 0x2, 0, 0); /* non-holder release: no-op */
    ck_good(&c);
    prout(lu, &NX1, &c, 2, 5, 0x1, 0, 0);
    ck_good(&c);
    run(lu, &NX2, &c, TUR_CDB, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x04); /* RESERVATIONS RELEASED */

    /* PREEMPT: NX2 takes the reservation away from NX1 */
    prout(lu, &NX1, &c, 1, 1, 0x1, 0, 0);
    ck_good(&c);
    prout(lu, &NX2, &c, 4, 3, 0x2, 0x1, 0);
    ck_good(&c);
    run(lu, &NX1, &c, R10, 10, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x05); /* REGISTRATIONS PREEMPTED */
    run(lu, &NX1, &c, R10, 10, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prin(lu, &NX2, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 8);
    prout(lu, &NX2, &c, 4, 3, 0x2, 0x77, 0); /* nobody has that key */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);

    /* CLEAR */
    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0);
    ck_good(&c);
    prout(lu, &NX2, &c, 3, 0, 0x2, 0, 0);
    ck_good(&c);
    run(lu, &NX1, &c, R10, 10, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x03);
    run(lu, &NX1, &c, W10, 10, blk, 512);
    ck_good(&c);
    prin(lu, &NX1, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 0);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(full_status_and_move)
{
    scsiLu *lu = pr_lu();
    scsiCmd c;
    uint8_t cdb[10] = {0x5f, 7, 1, 0, 0, 0, 0, 0, 24 + 48, 0};
    uint8_t p[24 + 48];

    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0x04); /* ALL_TG_PT */
    prout(lu, &NX1, &c, 1, 1, 0x1, 0, 0);
    ck_good(&c);
    prin(lu, &NX1, &c, 3);
    ck_good(&c);
    ck_assert_uint_eq(rbe64(din + 8), 1);
    ck_assert_int_eq(din[8 + 12], 0x03); /* ALL_TG_PT, R_HOLDER */
    ck_assert_int_eq(din[8 + 13], 1);
    ck_assert_int_eq(din[8 + 24], 0x45); /* iSCSI TransportID, format 01b */
    ck_assert_str_eq((const char *)din + 8 + 28, NX1.name);

    /* REGISTER AND MOVE to NX2 */
    memset(p, 0, sizeof(p));
    be64(p, 0x1);
    be64(p + 8, 0x2);
    p[17] = 0x02; /* UNREG */
    p[19] = 1;    /* relative target port 1 */
    be32(p + 20, 48);
    p[24] = 0x45;
    p[27] = 44;
    memcpy(p + 28, NX2.name, strlen(NX2.name));
    run(lu, &NX1, &c, cdb, 10, p, sizeof(p));
    ck_good(&c);
    prin(lu, &NX2, &c, 1);
    ck_assert_uint_eq(rbe64(din + 8), 0x2);
    prin(lu, &NX2, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 8); /* NX1 unregistered */
    run(lu, &NX2, &c, W10, 10, blk, 512);
    ck_good(&c);
    run(lu, &NX1, &c, W10, 10, blk, 512);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(aptpl_persists)
{
    scsiLuConfig cfg;
    scsiLu *lu = mk_lu_cfg(64, 512, false, false, &cfg);
    scsiCmd c;

    scsi_lu_unref(lu);
    free(disk.saved_pr);
    disk.saved_pr = NULL;
    cfg.pr_save = m_pr_save;
    cfg.pr_load = m_pr_load;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX1);
    prout(lu, &NX1, &c, 0, 0, 0, 0xabcdef, 0x01); /* APTPL */
    ck_good(&c);
    prout(lu, &NX1, &c, 1, 6, 0xabcdef, 0, 0x01);
    ck_good(&c);
    ck_assert_ptr_nonnull(disk.saved_pr);
    scsi_lu_unref(lu);

    lu = scsi_lu_new(&cfg); /* "power cycle" */
    clear_ua(lu, &NX2);
    run(lu, &NX2, &c, R10, 10, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prin(lu, &NX2, &c, 1);
    ck_assert_uint_eq(rbe64(din + 8), 0xabcdef);
    ck_assert_int_eq(din[21], 6);
    prin(lu, &NX2, &c, 2);
    ck_assert_int_eq(din[3] & 1, 1); /* PTPL_A */
    scsi_lu_unref(lu);

    /* a corrupted record is ignored */
    ((uint8_t *)disk.saved_pr)[30] ^= 0xff;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX2);
    run(lu, &NX2, &c, R10, 10, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);

    /* without pr_save APTPL is refused */
    cfg.pr_save = NULL;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX1);
    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0x01);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(reserve6)
{
    scsiLu *lu = pr_lu();
    uint8_t res[6] = {0x16}, rel[6] = {0x17}, ms[6] = {0x1a, 0, 0x3f, 0, 255, 0};
    uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    scsiCmd c;

    run(lu, &NX1, &c, res, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX1, &c, res, 6, NULL, 0); /* again by the holder */
    ck_good(&c);
    run(lu, &NX2, &c, res, 6, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    run(lu, &NX2, &c, rel, 6, NULL, 0); /* no-op */
    ck_good(&c);
    run(lu, &NX1, &c, ms, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, ms, 6, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    run(lu, &NX2, &c, inq, 6, NULL, 0);
    ck_good(&c);
    prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0); /* PR commands conflict too */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    run(lu, &NX1, &c, rel, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, res, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, rel, 6, NULL, 0);
    ck_good(&c);
    /* with a persistent registration RESERVE(6) conflicts */
    prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0);
    ck_good(&c);
    run(lu, &NX1, &c, res, 6, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    scsi_lu_unref(lu);
}
END_TEST

static Suite *pr_suite(void)
{
    Suite *s = suite_create("scsi_pr");
    TCase *tc = tcase_create("pr");
    tcase_add_test(tc, register_and_read_keys);
    tcase_add_test(tc, access_by_type);
    tcase_add_test(tc, release_clear_preempt);
    tcase_add_test(tc, full_status_and_move);
    tcase_add_test(tc, aptpl_persists);
    tcase_add_test(tc, reserve6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int status = test_run_suite(pr_suite());
    free(disk.saved_pr);
    return status;
}
