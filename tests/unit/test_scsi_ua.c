// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scsi_ua.c: unit attentions per I_T nexus: power-on for a new nexus,
 * CAPACITY DATA HAS CHANGED and REPORTED LUNS DATA HAS CHANGED on every
 * nexus in order, INQUIRY/REQUEST SENSE not blocked, LUN reset (not to the
 * issuer) releasing RESERVE(6), nexus loss, bounded queues, and the LU
 * reference count.
 */
#include "scsi_test_lu.h"
#include "test_support.h"

static const uint8_t TUR[6] = {0};

START_TEST(power_on_ua_per_nexus)
{
    scsiLu *lu = mk_lu(100, 512, false);
    scsiCmd c;

    scsi_lu_nexus_add(lu, &NX1);
    run(lu, &NX1, &c, TUR, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x29, 0x00);
    run(lu, &NX1, &c, TUR, 6, NULL, 0); /* consumed */
    ck_good(&c);
    /* a nexus the LU never saw also starts with the power-on UA */
    run(lu, &NX2, &c, TUR, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x29, 0x00);
    run(lu, &NX2, &c, TUR, 6, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(capacity_change_and_luns_changed)
{
    scsiLu *lu = mk_lu(200, 512, false); /* the disk has 200 blocks */
    uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    uint8_t rc10[10] = {0x25};
    scsiCmd c;

    scsi_lu_set_capacity(lu, 100); /* the LU starts smaller */
    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    scsi_lu_set_capacity(lu, 200);
    ck_assert_uint_eq(scsi_lu_get_capacity(lu), 200);
    scsi_lu_report_luns_changed(lu);

    run(lu, &NX1, &c, inq, 6, NULL, 0); /* INQUIRY is not blocked */
    ck_good(&c);
    run(lu, &NX1, &c, rc10, 10, NULL, 0); /* oldest first */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x09);
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x3f, 0x0e);
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_good(&c);
    ck_assert_uint_eq(rbe32(din), 199); /* the new size, immediately */

    run(lu, &NX2, &c, rc10, 10, NULL, 0); /* every nexus gets its own */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x09);

    /* reads beyond the old end work at once */
    uint8_t r10[10] = {0x28, 0, 0, 0, 0, 150, 0, 0, 1, 0};
    run(lu, &NX1, &c, r10, 10, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(reset_and_remove)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t res6[6] = {0x16};
    uint8_t rs[6] = {0x03, 0, 0, 0, 18, 0};
    scsiCmd c;

    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    run(lu, &NX1, &c, res6, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, TUR, 6, NULL, 0);
    ck_good(&c); /* TEST UNIT READY passes a RESERVE(6) */
    scsi_lu_reset(lu, &NX1, 0);
    run(lu, &NX1, &c, TUR, 6, NULL, 0); /* the issuer gets no UA */
    ck_good(&c);
    run(lu, &NX2, &c, rs, 6, NULL, 0); /* REQUEST SENSE reports it */
    ck_good(&c);
    ck_assert_int_eq(din[2], SK_UNIT_ATTENTION);
    ck_assert_int_eq(din[12], 0x29);
    ck_assert_int_eq(din[13], 0x03);
    run(lu, &NX2, &c, res6, 6, NULL, 0); /* the reset released RESERVE(6) */
    ck_good(&c);

    /* nexus loss releases the reservation too and forgets the UAs */
    scsi_lu_set_capacity(lu, 120);
    scsi_lu_nexus_remove(lu, &NX2);
    run(lu, &NX1, &c, res6, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x09);
    run(lu, &NX1, &c, res6, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, TUR, 6, NULL, 0); /* a new nexus: power-on UA only */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x29, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(ua_queue_bounded)
{
    scsiLu *lu = mk_lu(100, 512, false);
    scsiCmd c;
    int n = 0;

    clear_ua(lu, &NX1);
    for (int i = 0; i < 100; i++) {
        scsi_lu_set_capacity(lu, 100 + (uint64_t)i + 1);
        scsi_lu_report_luns_changed(lu);
    }
    /* duplicates are merged: two distinct UAs pending */
    for (;;) {
        run(lu, &NX1, &c, TUR, 6, NULL, 0);
        if (c.status == SCSI_STATUS_GOOD)
            break;
        ck_assert_int_eq(SENSE_KEY(&c), SK_UNIT_ATTENTION);
        n++;
        ck_assert_int_le(n, 16);
    }
    ck_assert_int_eq(n, 2);
    scsi_lu_unref(lu);
}
END_TEST

static int released;
static void on_release(void *ctx)
{
    released++;
}

START_TEST(refcount)
{
    scsiLuConfig cfg;
    scsiLu *lu = mk_lu_cfg(10, 512, false, false, &cfg);
    scsi_lu_unref(lu);
    cfg.release = on_release;
    released = 0;
    lu = scsi_lu_new(&cfg);
    ck_assert_ptr_nonnull(lu);
    ck_assert_ptr_eq(scsi_lu_ref(lu), lu);
    scsi_lu_unref(lu);
    ck_assert_int_eq(released, 0);
    scsi_lu_unref(lu);
    ck_assert_int_eq(released, 1);
    cfg.block_size = 520;
    ck_assert_ptr_null(scsi_lu_new(&cfg));
}
END_TEST

static Suite *ua_suite(void)
{
    Suite *s = suite_create("scsi_ua");
    TCase *tc = tcase_create("ua");
    tcase_add_test(tc, power_on_ua_per_nexus);
    tcase_add_test(tc, capacity_change_and_luns_changed);
    tcase_add_test(tc, reset_and_remove);
    tcase_add_test(tc, ua_queue_bounded);
    tcase_add_test(tc, refcount);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(ua_suite());
}
