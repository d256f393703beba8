/*
 * test_layout.c: the pool's on-VG layout rules and the LVM-tag encoding of
 * volume metadata, on plain data (no lvm): special LV sizes, the byte
 * segment map built from extents and PV pe_start, (PV, offset) look-up of
 * lease slots, slot/LUN allocation, rejection of inconsistent tags, and
 * the walk of a segment map that zeroes a deleted volume (wipe.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "pool-error.h"
#include "pool-ops.h"
#include "test_support.h"
#include "wipe.h"

#define MIB (1024ull * 1024)

START_TEST(test_special_sizes)
{
    /* 2000 hosts x 4 KiB sectors = 8,192,000 bytes -> 8 MiB */
    ck_assert_uint_eq(pool_layout_ids_bytes(2000), 8 * MIB);
    ck_assert_uint_eq(pool_layout_ids_bytes(1), MIB);
    ck_assert_uint_eq(pool_layout_ids_bytes(250), MIB);
    ck_assert_uint_eq(pool_layout_ids_bytes(251), 2 * MIB);
    /* sanlock alignments are 1/2/4/8 MiB for 250/500/1000/2000 hosts */
    ck_assert_uint_eq(pool_layout_ids_bytes(600), 4 * MIB);
    ck_assert_uint_eq(pool_layout_ids_bytes(1000), 4 * MIB);
    ck_assert_uint_eq(pool_layout_ids_bytes(1001), 8 * MIB);
    /* slot 0 (pool metadata) + one per volume */
    ck_assert_uint_eq(pool_layout_leases_bytes(2000), 2001 * MIB);
    ck_assert_uint_eq(pool_layout_extents_for(2001 * MIB, 4 * MIB), 501);
    ck_assert_uint_eq(pool_layout_extents_for(4 * MIB, 4 * MIB), 1);
    ck_assert_uint_eq(pool_layout_extents_for(4 * MIB + 1, 4 * MIB), 2);
    /* near 2^64: rounded up, never wrapped to 0 */
    ck_assert_uint_eq(pool_layout_extents_for(UINT64_MAX, 4 * MIB), (UINT64_MAX >> 22) + 1);
    ck_assert_uint_eq(pool_layout_extents_for(UINT64_MAX - 4 * MIB + 2, 4 * MIB),
                      (UINT64_MAX >> 22) + 1);
    ck_assert_uint_eq(pool_layout_extents_for(0, 4 * MIB), 0);
}
END_TEST

static char *tags_none[] = {NULL};

static poolLvmLV two_segment_lv(void)
{
    static poolLvmSegment segs[2] = {
        {.le_start = 0, .count = 10, .pv = "/dev/a", .pe_start = 5},
        {.le_start = 10, .count = 3, .pv = "/dev/b", .pe_start = 0},
    };
    poolLvmLV lv = {.name = "leases",
                    .uuid = "u",
                    .size = 13 * 4 * MIB,
                    .tags = tags_none,
                    .nsegments = 2,
                    .segments = segs};
    return lv;
}

static poolLvmPV pvs[2] = {
    {.name = "/dev/a", .uuid = "a", .vg_name = "vg", .size = 1 << 30, .pe_start = MIB},
    {.name = "/dev/b", .uuid = "b", .vg_name = "vg", .size = 1 << 30, .pe_start = 2 * MIB},
};

START_TEST(test_segments_and_locate)
{
    poolLvmLV lv = two_segment_lv();
    poolSegment *segs = NULL;
    size_t n = 0;
    ck_assert_int_eq(pool_layout_segments(&lv, pvs, 2, 4 * MIB, &segs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(segs[0].lv_offset, 0);
    ck_assert_uint_eq(segs[0].length, 40 * MIB);
    ck_assert_uint_eq(segs[0].pv_offset, MIB + 5 * 4 * MIB);
    ck_assert_str_eq(segs[1].pv, "/dev/b");
    ck_assert_uint_eq(segs[1].lv_offset, 40 * MIB);
    ck_assert_uint_eq(segs[1].pv_offset, 2 * MIB);

    const char *pv;
    uint64_t off;
    /* lease slot 3 of the leases LV: 3 MiB in, on the first PV */
    ck_assert_int_eq(pool_layout_locate(segs, n, 3 * MIB, MIB, &pv, &off), 0);
    ck_assert_str_eq(pv, "/dev/a");
    ck_assert_uint_eq(off, MIB + 20 * MIB + 3 * MIB);
    /* slot 41 lies on the second PV, 1 MiB into its segment */
    ck_assert_int_eq(pool_layout_locate(segs, n, 41 * MIB, MIB, &pv, &off), 0);
    ck_assert_str_eq(pv, "/dev/b");
    ck_assert_uint_eq(off, 2 * MIB + MIB);
    /* a range crossing the boundary has no single address */
    ck_assert_int_eq(pool_layout_locate(segs, n, 40 * MIB - 512, 1024, &pv, &off), -1);
    /* beyond the end */
    ck_assert_int_eq(pool_layout_locate(segs, n, 52 * MIB, 1, &pv, &off), -1);
    pool_segments_free(segs, n);
}
END_TEST

START_TEST(test_segments_reject_unknown_pv_and_gaps)
{
    poolLvmLV lv = two_segment_lv();
    poolSegment *segs = NULL;
    size_t n = 0;
    ck_assert_int_eq(pool_layout_segments(&lv, pvs, 1, 4 * MIB, &segs, &n), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    ck_assert_ptr_null(strstr(pool_error_last_message(), "/dev/b") ? NULL : "missing pv name");

    poolLvmSegment gap[2] = {
        {.le_start = 0, .count = 2, .pv = "/dev/a", .pe_start = 0},
        {.le_start = 5, .count = 2, .pv = "/dev/a", .pe_start = 9},
    };
    lv.segments = gap;
    ck_assert_int_eq(pool_layout_segments(&lv, pvs, 2, 4 * MIB, &segs, &n), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "gap"));
}
END_TEST

static poolLvmLV vol_lv(char **tags)
{
    static poolLvmSegment seg = {.le_start = 0, .count = 2, .pv = "/dev/a", .pe_start = 100};
    poolLvmLV lv = {.name = "web01",
                    .uuid = "x",
                    .size = 8 * MIB,
                    .tags = tags,
                    .nsegments = 1,
                    .segments = &seg};
    return lv;
}

START_TEST(test_vol_from_lv)
{
    char *tags[] = {"pd_ctime:1700000000",
                    "pd_fmt:raw",
                    "pd_lun:7",
                    "pd_slot:3",
                    "pd_uuid:6cc7236a-cc15-401e-9721-bf85569f8907",
                    NULL};
    poolLvmLV lv = vol_lv(tags);
    ck_assert(pool_layout_lv_is_volume(&lv));
    ck_assert(!pool_layout_lv_is_special(&lv));
    poolVolDef *def = pool_layout_vol_from_lv("p", &lv, pvs, 2, 4 * MIB);
    ck_assert_ptr_nonnull(def);
    ck_assert_str_eq(def->name, "web01");
    ck_assert_str_eq(def->pool, "p");
    ck_assert_int_eq(def->lun, 7);
    ck_assert_int_eq(def->lease_slot, 3);
    ck_assert_int_eq(def->created, 1700000000);
    ck_assert_uint_eq(def->capacity, 8 * MIB);
    ck_assert_str_eq(def->state, "ready");
    ck_assert_uint_eq(def->segments[0].pv_offset, MIB + 400 * MIB);
    pool_vol_def_free(def);

    char *optags[] = {"pd_ctime:1",
                      "pd_fmt:raw",
                      "pd_lun:1",
                      "pd_slot:1",
                      "pd_uuid:6cc7236a-cc15-401e-9721-bf85569f8907",
                      "pd_op:resize-9",
                      NULL};
    lv = vol_lv(optags);
    def = pool_layout_vol_from_lv("p", &lv, pvs, 2, 4 * MIB);
    ck_assert_ptr_nonnull(def);
    ck_assert_str_eq(def->state, "resize-9");
    pool_vol_def_free(def);
}
END_TEST

START_TEST(test_vol_from_lv_rejects_bad_tags)
{
    char *no_slot[] = {"pd_ctime:1", "pd_fmt:raw", "pd_lun:1",
                       "pd_uuid:6cc7236a-cc15-401e-9721-bf85569f8907", NULL};
    char *bad_uuid[] = {"pd_ctime:1", "pd_fmt:raw", "pd_lun:1", "pd_slot:1", "pd_uuid:zzz", NULL};
    char *bad_lun[] = {"pd_ctime:1",
                       "pd_fmt:raw",
                       "pd_lun:99999",
                       "pd_slot:1",
                       "pd_uuid:6cc7236a-cc15-401e-9721-bf85569f8907",
                       NULL};
    char *bad_fmt[] = {"pd_ctime:1",
                       "pd_fmt:vmdk",
                       "pd_lun:1",
                       "pd_slot:1",
                       "pd_uuid:6cc7236a-cc15-401e-9721-bf85569f8907",
                       NULL};
    char **cases[] = {no_slot, bad_uuid, bad_lun, bad_fmt};
    for (size_t i = 0; i < 4; i++) {
        poolLvmLV lv = vol_lv(cases[i]);
        pool_error_reset();
        ck_assert_ptr_null(pool_layout_vol_from_lv("p", &lv, pvs, 2, 4 * MIB));
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
        ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "web01"));
    }
}
END_TEST

START_TEST(test_alloc_lowest_free)
{
    char *t1[] = {"pd_slot:1", "pd_lun:1", NULL};
    char *t2[] = {"pd_slot:2", "pd_lun:3", NULL};
    char *t4[] = {"pd_slot:4", "pd_lun:2", NULL};
    poolLvmLV lvs[3] = {
        {.name = "a", .tags = t1}, {.name = "b", .tags = t2}, {.name = "c", .tags = t4}};
    ck_assert_int_eq(pool_layout_alloc_slot(lvs, 3, 10), 3);
    ck_assert_int_eq(pool_layout_alloc_lun(NULL, lvs, 3), 4);
    ck_assert_int_eq(pool_layout_alloc_slot(lvs, 0, 10), 1);
    /* all slots used */
    ck_assert_int_eq(pool_layout_alloc_slot(lvs, 2, 2), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_SPACE);
}
END_TEST

/* LUN numbers are not reused soon (issue 10 item 5): the next free number
 * after the last one handed out (VG tag pd_lunlast), wrapping around only
 * when the numbers above are used up. */
START_TEST(test_alloc_lun_not_reused)
{
    char *t1[] = {"pd_slot:1", "pd_lun:1", NULL};
    char *t3[] = {"pd_slot:2", "pd_lun:3", NULL};
    poolLvmLV lvs[2] = {{.name = "a", .tags = t1}, {.name = "c", .tags = t3}};
    /* 2 was freed, 3 is the highest: without the tag, above the highest */
    ck_assert_int_eq(pool_layout_alloc_lun(NULL, lvs, 2), 4);
    char *none[] = {"pd_pool:1", NULL};
    ck_assert_int_eq(pool_layout_alloc_lun(none, lvs, 2), 4);
    /* 4 and 5 were handed out and deleted since: 6, not 2, 4 or 5 */
    char *last5[] = {"pd_pool:1", "pd_lunlast:5", NULL};
    ck_assert_int_eq(pool_layout_alloc_lun(last5, lvs, 2), 6);
    /* the tag rules even when the volumes above it are gone */
    ck_assert_int_eq(pool_layout_alloc_lun(last5, lvs, 0), 6);
    /* an empty pool whose only volume (LUN 1) was deleted: 2 */
    char *last1[] = {"pd_lunlast:1", NULL};
    ck_assert_int_eq(pool_layout_alloc_lun(last1, NULL, 0), 2);
    /* at the top of the space it wraps around to the first free number
     * after the start: 2 (1 and 3 in use) */
    char *top[] = {"pd_lunlast:16383", NULL};
    ck_assert_int_eq(pool_layout_alloc_lun(top, lvs, 2), 2);
    char *t16383[] = {"pd_slot:3", "pd_lun:16383", NULL};
    poolLvmLV lvs3[3] = {
        {.name = "a", .tags = t1}, {.name = "c", .tags = t3}, {.name = "z", .tags = t16383}};
    char *last16382[] = {"pd_lunlast:16382", NULL};
    ck_assert_int_eq(pool_layout_alloc_lun(last16382, lvs3, 3), 2);
    /* a bad tag counts as absent */
    char *bad[] = {"pd_lunlast:x", NULL};
    ck_assert_int_eq(pool_layout_alloc_lun(bad, lvs, 2), 4);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_OK);
}
END_TEST

START_TEST(test_tag_format)
{
    char *t = pool_layout_tag("pd_op", "resize-%d", 12);
    ck_assert_str_eq(t, "pd_op:resize-12");
    free(t);
}
END_TEST

/* The metadata store URL in a VG tag: LVM tags allow only
 * [A-Za-z0-9_+.-/=!:&#], so everything else is #xx, and back. */
START_TEST(test_store_tag_escape)
{
    static const char *const urls[] = {
        "nfs://10.0.0.5/export/vms",
        "nfs://[fd00::5]:2049/export/vms?version=3&uid=0",
        "/srv/poold store/~vms,1#2%",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        char *tag = pool_layout_store_escape(urls[i]);
        ck_assert_ptr_nonnull(tag);
        for (const char *p = tag; *p; p++)
            ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 "_+.-/=!:&#",
                                 *p) != NULL,
                          "tag %s has '%c'", tag, *p);
        char *back = pool_layout_store_unescape(tag);
        ck_assert_ptr_nonnull(back);
        ck_assert_str_eq(back, urls[i]);
        free(tag);
        free(back);
    }
    /* a plain URL stays readable in lvs output */
    char *plain = pool_layout_store_escape("nfs://h/e/p");
    ck_assert_str_eq(plain, "nfs://h/e/p");
    free(plain);
    /* malformed escapes are refused, not guessed */
    static const char *const bad[] = {"#", "#4", "#zz", "a#g0", "#00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(pool_layout_store_unescape(bad[i]) == NULL, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_wipe_steps)
{
    /* 10 MiB on pv-a at 100 MiB, then 3 MiB on pv-b at 1 MiB */
    poolSegment segs[2] = {
        {.lv_offset = 0, .length = 10 * MIB, .pv = (char *)"/dev/a", .pv_offset = 100 * MIB},
        {.lv_offset = 10 * MIB, .length = 3 * MIB, .pv = (char *)"/dev/b", .pv_offset = MIB},
    };
    size_t seg;
    uint64_t off, len, done = 0, steps = 0;
    uint64_t want[][3] = {{0, 100 * MIB, 4 * MIB},
                          {0, 104 * MIB, 4 * MIB},
                          {0, 108 * MIB, 2 * MIB},
                          {1, 1 * MIB, 3 * MIB}};
    int r;
    /* every byte once, in order, chunks never across a segment */
    while ((r = pool_wipe_step(segs, 2, done, 4 * MIB, &seg, &off, &len)) == 1) {
        ck_assert_uint_lt(steps, 4);
        ck_assert_uint_eq(seg, want[steps][0]);
        ck_assert_uint_eq(off, want[steps][1]);
        ck_assert_uint_eq(len, want[steps][2]);
        done += len;
        steps++;
    }
    ck_assert_int_eq(r, 0);
    ck_assert_uint_eq(steps, 4);
    ck_assert_uint_eq(done, 13 * MIB);
    /* resuming in the middle of a segment (not at a chunk boundary) */
    ck_assert_int_eq(pool_wipe_step(segs, 2, 11 * MIB + 512, 4 * MIB, &seg, &off, &len), 1);
    ck_assert_uint_eq(seg, 1);
    ck_assert_uint_eq(off, 2 * MIB + 512);
    ck_assert_uint_eq(len, 2 * MIB - 512);
    /* an empty map has nothing to do; chunk 0 is refused */
    ck_assert_int_eq(pool_wipe_step(segs, 0, 0, 4 * MIB, &seg, &off, &len), 0);
    ck_assert_int_eq(pool_wipe_step(segs, 2, 0, 0, &seg, &off, &len), -1);
    pool_error_reset();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, test_special_sizes);
    tcase_add_test(tc, test_segments_and_locate);
    tcase_add_test(tc, test_segments_reject_unknown_pv_and_gaps);
    tcase_add_test(tc, test_vol_from_lv);
    tcase_add_test(tc, test_vol_from_lv_rejects_bad_tags);
    tcase_add_test(tc, test_alloc_lowest_free);
    tcase_add_test(tc, test_alloc_lun_not_reused);
    tcase_add_test(tc, test_tag_format);
    tcase_add_test(tc, test_store_tag_escape);
    tcase_add_test(tc, test_wipe_steps);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
