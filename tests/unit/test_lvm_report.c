// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_lvm_report.c: the lvm JSON report parser (lvm_report.c).
 *
 * The segment maps parsed here decide where poold reads and writes on shared
 * disks, so the parser is tested on real lvm2 2.03.16 output captured in
 * tests/data/lvm-report/ (see capture.sh there) and on damaged variants of it, plus
 * small inline documents for single rules. The assertions on captured files
 * use their shape (names, extent counts, which segments share a PV), not
 * UUIDs or loop device numbers, so the files can be re-captured.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-error.h"
#include "pool-lvm.h"
#include "test_support.h"

static char *read_data(const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/tests/data/lvm-report/%s", test_srcdir(), name);
    return test_read_file(path, NULL);
}

static const poolLvmLV *find_lv(const poolLvmLV *lvs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(lvs[i].name, name) == 0)
            return &lvs[i];
    }
    return NULL;
}

/* Parse must fail with POOL_ERR_LVM and a message containing `needle`. */
static void expect_lvs_error(const char *json, const char *needle)
{
    poolLvmLV *lvs = (poolLvmLV *)1;
    size_t n = 99;

    pool_error_reset();
    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), -1);
    ck_assert_ptr_null(lvs);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    ck_assert_msg(strstr(pool_error_last_message(), needle) != NULL,
                  "message '%s' does not contain '%s'", pool_error_last_message(), needle);
}

static void expect_lvs_file_error(const char *file, const char *needle)
{
    char *json = read_data(file);

    expect_lvs_error(json, needle);
    free(json);
}

/* --- captured, valid ------------------------------------------------------ */

START_TEST(test_lvs_captured)
{
    char *json = read_data("lvs.json");
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    const poolLvmLV *ids, *vol1, *vol3;
    const char *names[] = {"ids", "leases", "vol1", "vol2", "vol3"};

    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(lvs[i].name, names[i]); /* lvm's order is kept */
        ck_assert_uint_eq(strlen(lvs[i].uuid), 38);
        ck_assert_ptr_nonnull(lvs[i].tags);
        ck_assert_uint_ge(lvs[i].nsegments, 1);
    }

    ids = find_lv(lvs, n, "ids");
    ck_assert_uint_eq(ids->size, 2 * 4194304);
    ck_assert_uint_eq(ids->nsegments, 1);
    ck_assert_uint_eq(ids->segments[0].le_start, 0);
    ck_assert_uint_eq(ids->segments[0].count, 2);
    ck_assert_uint_eq(ids->segments[0].pe_start, 0);
    ck_assert_str_eq(pool_lvm_tag_get(ids->tags, "pd_kind"), "ids");

    /* vol1 was extended across the end of the first PV */
    vol1 = find_lv(lvs, n, "vol1");
    ck_assert_uint_eq(vol1->size, 12 * 4194304ull);
    ck_assert_uint_eq(vol1->nsegments, 3);
    ck_assert_uint_eq(vol1->segments[0].le_start, 0);
    ck_assert_uint_eq(vol1->segments[0].count, 3);
    ck_assert_uint_eq(vol1->segments[0].pe_start, 4);
    ck_assert_uint_eq(vol1->segments[1].le_start, 3);
    ck_assert_uint_eq(vol1->segments[1].count, 6);
    ck_assert_uint_eq(vol1->segments[1].pe_start, 9);
    ck_assert_uint_eq(vol1->segments[2].le_start, 9);
    ck_assert_uint_eq(vol1->segments[2].count, 3);
    ck_assert_uint_eq(vol1->segments[2].pe_start, 0);
    ck_assert_str_eq(vol1->segments[0].pv, ids->segments[0].pv);
    ck_assert_str_eq(vol1->segments[1].pv, ids->segments[0].pv);
    ck_assert_str_ne(vol1->segments[2].pv, ids->segments[0].pv);
    ck_assert_int_eq(strncmp(vol1->segments[2].pv, "/dev/loop", 9), 0);

    /* tags carrying ':' and '-' */
    ck_assert_str_eq(pool_lvm_tag_get(vol1->tags, "pd_slot"), "12");
    ck_assert_str_eq(pool_lvm_tag_get(vol1->tags, "pd_name"), "web01-disk");
    ck_assert_str_eq(pool_lvm_tag_get(vol1->tags, "pd_format"), "raw");
    ck_assert_str_eq(pool_lvm_tag_get(vol1->tags, "pd_uuid"),
                     "0c8f5f1e-2a7b-4f43-8d57-7b0a3f1c9e11");
    ck_assert_ptr_null(pool_lvm_tag_get(vol1->tags, "pd_slo"));
    ck_assert_ptr_null(pool_lvm_tag_get(vol1->tags, "pd"));
    ck_assert_ptr_null(pool_lvm_tag_get(vol1->tags, "pd_kind"));
    ck_assert_ptr_nonnull(vol1->tags[3]);
    ck_assert_ptr_null(vol1->tags[4]);

    vol3 = find_lv(lvs, n, "vol3");
    ck_assert_ptr_nonnull(vol3->tags);
    ck_assert_ptr_null(vol3->tags[0]);
    ck_assert_ptr_null(pool_lvm_tag_get(vol3->tags, "pd_slot"));
    ck_assert_str_eq(vol3->segments[0].pv, vol1->segments[2].pv);

    pool_lvm_lvs_free(lvs, n);
    free(json);
}
END_TEST

START_TEST(test_lvs_missing_pv)
{
    char *json = read_data("lvs-missing-pv.json");
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    const poolLvmLV *vol1;

    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 4);
    vol1 = find_lv(lvs, n, "vol1");
    ck_assert_uint_eq(vol1->nsegments, 3);
    ck_assert_str_eq(vol1->segments[2].pv, "[unknown]");
    pool_lvm_lvs_free(lvs, n);
    free(json);
}
END_TEST

START_TEST(test_lvs_empty)
{
    char *json = read_data("lvs-empty-vg.json");
    poolLvmLV *lvs = (poolLvmLV *)1;
    size_t n = 99;

    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(lvs);
    pool_lvm_lvs_free(lvs, n);
    free(json);
}
END_TEST

START_TEST(test_vgs_captured)
{
    char *json = read_data("vgs.json");
    poolLvmVG *vgs = NULL;
    size_t n = 0;

    ck_assert_int_eq(pool_lvm_report_parse_vgs(json, &vgs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(strncmp(vgs[0].name, "capture_vg_", 11), 0);
    ck_assert_uint_eq(strlen(vgs[0].uuid), 38);
    ck_assert_uint_eq(vgs[0].extent_size, 4194304);
    ck_assert_uint_eq(vgs[0].extent_count, 30);
    ck_assert_uint_eq(vgs[0].free_count, 11);
    ck_assert_uint_eq(vgs[0].size, 30 * 4194304ull);
    ck_assert_uint_eq(vgs[0].free, 11 * 4194304ull);
    ck_assert_uint_ge(vgs[0].seqno, 1);
    ck_assert_uint_eq(vgs[0].pv_count, 2);
    ck_assert_uint_eq(vgs[0].lv_count, 5);
    ck_assert_str_eq(pool_lvm_tag_get(vgs[0].tags, "pd_name"), "pool.one");
    ck_assert_str_eq(pool_lvm_tag_get(vgs[0].tags, "pd_pool"),
                     "5b1f0d9e-6f7a-4b7e-9a51-3c2d1e0f9a8b");
    ck_assert_str_eq(pool_lvm_tag_get(vgs[0].tags, "pd_version"), "1");
    ck_assert_ptr_null(vgs[0].tags[3]);
    pool_lvm_vgs_free(vgs, n);
    free(json);

    json = read_data("vgs-not-found.json");
    ck_assert_int_eq(pool_lvm_report_parse_vgs(json, &vgs, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(vgs);
    free(json);
}
END_TEST

START_TEST(test_pvs_captured)
{
    char *json = read_data("pvs.json");
    char *vgjson = read_data("vgs.json");
    poolLvmPV *pvs = NULL;
    poolLvmVG *vgs = NULL;
    size_t n = 0, nvg = 0;

    ck_assert_int_eq(pool_lvm_report_parse_vgs(vgjson, &vgs, &nvg), 0);
    ck_assert_int_eq(pool_lvm_report_parse_pvs(json, &pvs, &n), 0);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(strncmp(pvs[i].name, "/dev/loop", 9), 0);
        ck_assert_uint_eq(strlen(pvs[i].uuid), 38);
        ck_assert_str_eq(pvs[i].vg_name, vgs[0].name);
        ck_assert_uint_eq(pvs[i].pe_start, 1048576);
        ck_assert_uint_eq(pvs[i].pe_count, 15);
        ck_assert_uint_eq(pvs[i].size, 15 * 4194304ull);
    }
    ck_assert_uint_eq(pvs[0].pe_alloc, 15);
    ck_assert_uint_eq(pvs[1].pe_alloc, 4);
    pool_lvm_pvs_free(pvs, n);
    pool_lvm_vgs_free(vgs, nvg);
    free(json);
    free(vgjson);

    json = read_data("pvs-orphans.json");
    ck_assert_int_eq(pool_lvm_report_parse_pvs(json, &pvs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(pvs[0].vg_name, "");
    ck_assert_uint_eq(pvs[0].pe_count, 0);
    ck_assert_uint_eq(pvs[0].size, 64 * 1048576);
    pool_lvm_pvs_free(pvs, n);
    free(json);

    json = read_data("pvs-missing-pv.json");
    ck_assert_int_eq(pool_lvm_report_parse_pvs(json, &pvs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(pvs[1].name, "[unknown]");
    pool_lvm_pvs_free(pvs, n);
    free(json);
}
END_TEST

/* --- captured and damaged: refused ---------------------------------------- */

START_TEST(test_lvs_refused_files)
{
    expect_lvs_file_error("lvs-striped.json", "striped2");
    expect_lvs_file_error("lvs-striped.json", "striped");
    expect_lvs_file_error("lvs-thin.json", "thinvol");
    expect_lvs_file_error("lvs-truncated.json", "truncated");
    expect_lvs_file_error("lvs-missing-field.json", "LV vol2: field seg_pe_ranges missing");
    expect_lvs_file_error("lvs-nonnumeric-size.json", "LV vol3: field lv_size is not a decimal");
    expect_lvs_file_error("lvs-overlap.json", "LV vol1: segment map has an overlap");
    expect_lvs_file_error("lvs-gap.json", "LV vol1: segment map has a gap at LE 9");
    expect_lvs_file_error("lvs-range-mismatch.json", "LV vol1");
    expect_lvs_file_error("lvs-trailing-garbage.json", "after JSON");
}
END_TEST

START_TEST(test_vgs_pvs_refused_files)
{
    char *json = read_data("vgs-overflow.json");
    poolLvmVG *vgs = (poolLvmVG *)1;
    poolLvmPV *pvs = (poolLvmPV *)1;
    size_t n = 9;

    ck_assert_int_eq(pool_lvm_report_parse_vgs(json, &vgs, &n), -1);
    ck_assert_ptr_null(vgs);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "vg_extent_count"));
    free(json);

    json = read_data("pvs-negative.json");
    ck_assert_int_eq(pool_lvm_report_parse_pvs(json, &pvs, &n), -1);
    ck_assert_ptr_null(pvs);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "pv_pe_alloc_count"));
    free(json);

    /* the wrong report kind */
    json = read_data("lvs.json");
    ck_assert_int_eq(pool_lvm_report_parse_pvs(json, &pvs, &n), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "\"pv\""));
    free(json);
}
END_TEST

/* --- inline documents, one rule each --------------------------------------- */

#define LV_ROW(name, uuid, size, tags, start, count, ranges, type)                                 \
    "{\"lv_name\":\"" name "\", \"lv_uuid\":\"" uuid "\", \"lv_size\":\"" size                     \
    "\", \"lv_tags\":\"" tags "\", \"seg_start_pe\":\"" start "\", \"seg_size_pe\":\"" count       \
    "\", \"seg_pe_ranges\":\"" ranges "\", \"segtype\":\"" type "\"}"
#define LVS_DOC(rows) "{\"report\": [{\"lv\": [" rows "]}]}"

START_TEST(test_lvs_segments_sorted)
{
    /* rows out of order, an LV interleaved: merged and sorted by le_start */
    const char *json =
        "\n\t  " LVS_DOC(LV_ROW("b", "U-B", "40", "", "2", "2", "/dev/y:0-1", "linear") "," LV_ROW(
            "a", "U-A", "30", "k:v,x", "0", "3", "/dev/x:7-9",
            "striped") "," LV_ROW("b", "U-B", "40", "", "0", "1", "/dev/x:0-0",
                                  "linear") "," LV_ROW("b", "U-B", "40", "", "1", "1", "/dev/y:5-5",
                                                       "linear")) "\n";
    poolLvmLV *lvs = NULL;
    size_t n = 0;

    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lvs[0].name, "b");
    ck_assert_str_eq(lvs[1].name, "a");
    ck_assert_uint_eq(lvs[0].nsegments, 3);
    for (uint64_t i = 0; i < 3; i++)
        ck_assert_uint_eq(lvs[0].segments[i].le_start, i);
    ck_assert_str_eq(lvs[0].segments[0].pv, "/dev/x");
    ck_assert_str_eq(lvs[0].segments[1].pv, "/dev/y");
    ck_assert_uint_eq(lvs[0].segments[1].pe_start, 5);
    ck_assert_uint_eq(lvs[0].segments[2].pe_start, 0);
    /* single-stripe "striped" is linear */
    ck_assert_uint_eq(lvs[1].segments[0].pe_start, 7);
    ck_assert_str_eq(lvs[1].tags[0], "k:v");
    ck_assert_str_eq(lvs[1].tags[1], "x");
    ck_assert_ptr_null(lvs[1].tags[2]);
    ck_assert_str_eq(pool_lvm_tag_get(lvs[1].tags, "k"), "v");
    ck_assert_ptr_null(pool_lvm_tag_get(lvs[1].tags, "x"));
    pool_lvm_lvs_free(lvs, n);
}
END_TEST

START_TEST(test_lvs_rules)
{
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "2", "/dev/x:0-1", "thin-pool")),
                     "LV a has a segment of type 'thin-pool'");
    expect_lvs_error(
        LVS_DOC(LV_ROW("s", "U", "8", "", "0", "2", "/dev/x:0-0 /dev/y:0-0", "striped")), "LV s");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "0", "/dev/x:0-0", "linear")), "empty");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "1", "2", "/dev/x:0-1", "linear")),
                     "gap at LE 0");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "2", "/dev/x:0-1", "linear") "," LV_ROW(
                         "a", "U", "8", "", "0", "2", "/dev/x:4-5", "linear")),
                     "overlap");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "2", "/dev/x:0-1", "linear") "," LV_ROW(
                         "b", "U", "8", "", "2", "2", "/dev/x:4-5", "linear")),
                     "share uuid");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "2", "/dev/x:0-1", "linear") "," LV_ROW(
                         "a", "U", "16", "", "2", "2", "/dev/x:4-5", "linear")),
                     "disagree");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "9", "", "0", "2", "/dev/x:0-1", "linear")),
                     "does not match 2 extents");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "0", "", "0", "2", "/dev/x:0-1", "linear")),
                     "does not match");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "x,,y", "0", "2", "/dev/x:0-1", "linear")),
                     "empty item");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", ",", "0", "2", "/dev/x:0-1", "linear")),
                     "empty item");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "+8", "", "0", "2", "/dev/x:0-1", "linear")),
                     "lv_size");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", " 8", "", "0", "2", "/dev/x:0-1", "linear")),
                     "lv_size");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "", "", "0", "2", "/dev/x:0-1", "linear")),
                     "lv_size");
    expect_lvs_error(
        LVS_DOC(LV_ROW("a", "U", "18446744073709551616", "", "0", "2", "/dev/x:0-1", "linear")),
        "lv_size");
    expect_lvs_error(
        LVS_DOC(LV_ROW("a", "U", "8", "", "18446744073709551615", "2", "/dev/x:0-1", "linear")),
        "overflows");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "2", "/dev/x:0-2", "linear")),
                     "has 2 extents but maps PE range /dev/x:0-2");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "U", "8", "", "0", "2", "/dev/x", "linear")), "LV a");
    expect_lvs_error(LVS_DOC(LV_ROW("", "U", "8", "", "0", "2", "/dev/x:0-1", "linear")),
                     "lv_name is empty");
    expect_lvs_error(LVS_DOC(LV_ROW("a", "", "8", "", "0", "2", "/dev/x:0-1", "linear")),
                     "lv_uuid is empty");
    /* numbers as JSON numbers, NUL bytes, wrong types */
    expect_lvs_error("{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"lv_uuid\":\"U\",\"lv_size\":8,"
                     "\"lv_tags\":\"\",\"seg_start_pe\":\"0\",\"seg_size_pe\":\"2\","
                     "\"seg_pe_ranges\":\"/dev/x:0-1\",\"segtype\":\"linear\"}]}]}",
                     "lv_size is not a string");
    expect_lvs_error(LVS_DOC(LV_ROW("a\\u0000b", "U", "8", "", "0", "2", "/dev/x:0-1", "linear")),
                     "NUL");
    expect_lvs_error("{\"report\":[{\"lv\":[42]}]}", "not an object");
    expect_lvs_error("{\"report\":[{\"lv\":{}}]}", "not an array");
    expect_lvs_error("{\"report\":[7]}", "not an object");
    expect_lvs_error("{\"report\":{}}", "no \"report\" array");
    expect_lvs_error("{\"report\":[{\"vg\":[]}]}", "no \"lv\" array");
    expect_lvs_error("{}", "no \"report\" array");
    expect_lvs_error("[]", "no \"report\" array");
    expect_lvs_error("null", "no \"report\" array");
    expect_lvs_error("", "truncated or empty");
    expect_lvs_error("   \n", "truncated or empty");
    expect_lvs_error("{\"report\": [", "truncated");
    expect_lvs_error("{\"report\": ]", "invalid JSON");
    expect_lvs_error(LVS_DOC("") "{}", "after JSON");
    expect_lvs_error(NULL, "no output");
    /* nesting deeper than any report */
    expect_lvs_error(
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "invalid JSON");
}
END_TEST

START_TEST(test_lvs_multiple_report_entries)
{
    /* a report array with several entries (and a log section) is merged */
    const char *json = "{\"report\": [{\"lv\": [" LV_ROW(
        "a", "U1", "4", "", "0", "1", "/dev/x:0-0",
        "linear") "]}, "
                  "{\"lv\": [" LV_ROW("b", "U2", "4", "", "0", "1", "/dev/x:1-1",
                                      "linear") "]}], \"log\": []}";
    poolLvmLV *lvs = NULL;
    size_t n = 0;

    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lvs[1].name, "b");
    pool_lvm_lvs_free(lvs, n);
}
END_TEST

#define VG_DOC(size, free, esize, ecount, fcount)                                                  \
    "{\"report\":[{\"vg\":[{\"vg_name\":\"v\", \"vg_uuid\":\"U\", \"vg_size\":\"" size             \
    "\", \"vg_free\":\"" free "\", \"vg_extent_size\":\"" esize                                    \
    "\", \"vg_extent_count\":\"" ecount "\", \"vg_free_count\":\"" fcount                          \
    "\", \"vg_seqno\":\"3\", \"pv_count\":\"1\", "                                                 \
    "\"lv_count\":\"0\", \"vg_tags\":\"\"}]}]}"

START_TEST(test_vgs_rules)
{
    poolLvmVG *vgs = NULL;
    size_t n = 0;

    ck_assert_int_eq(pool_lvm_report_parse_vgs(VG_DOC("40", "10", "4", "10", "5"), &vgs, &n), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "VG v"));
    ck_assert_int_eq(pool_lvm_report_parse_vgs(VG_DOC("40", "20", "4", "10", "5"), &vgs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(vgs[0].tags);
    ck_assert_ptr_null(vgs[0].tags[0]);
    pool_lvm_vgs_free(vgs, n);
    ck_assert_int_eq(pool_lvm_report_parse_vgs(VG_DOC("0", "0", "0", "0", "0"), &vgs, &n), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "extent size is 0"));
    ck_assert_int_eq(pool_lvm_report_parse_vgs(VG_DOC("40", "44", "4", "10", "11"), &vgs, &n), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "more free extents"));
    /* extent_size * extent_count overflows */
    ck_assert_int_eq(
        pool_lvm_report_parse_vgs(VG_DOC("0", "0", "4294967296", "4294967296", "0"), &vgs, &n), -1);
    ck_assert_ptr_null(vgs);
}
END_TEST

/* A bad row after good ones: nothing is returned (the good rows are freed,
 * which ASan and valgrind check) and the error names the bad row. */
START_TEST(test_vgs_pvs_bad_later_row)
{
    poolLvmVG *vgs = (poolLvmVG *)1;
    poolLvmPV *pvs = (poolLvmPV *)1;
    size_t n = 9;
    const char *vg_rows =
        "{\"report\":[{\"vg\":["
        "{\"vg_name\":\"good\", \"vg_uuid\":\"U1\", \"vg_size\":\"40\", \"vg_free\":\"20\", "
        "\"vg_extent_size\":\"4\", \"vg_extent_count\":\"10\", \"vg_free_count\":\"5\", "
        "\"vg_seqno\":\"3\", \"pv_count\":\"1\", \"lv_count\":\"0\", \"vg_tags\":\"a,b\"},"
        "{\"vg_name\":\"bad\", \"vg_uuid\":\"U2\", \"vg_size\":\"0\", \"vg_free\":\"0\", "
        "\"vg_extent_size\":\"0\", \"vg_extent_count\":\"0\", \"vg_free_count\":\"0\", "
        "\"vg_seqno\":\"3\", \"pv_count\":\"1\", \"lv_count\":\"0\", \"vg_tags\":\"\"}]}]}";
    const char *pv_rows =
        "{\"report\":[{\"pv\":["
        "{\"pv_name\":\"/dev/a\", \"pv_uuid\":\"P1\", \"vg_name\":\"v\", \"pv_size\":\"8\", "
        "\"pe_start\":\"1\", \"pv_pe_count\":\"2\", \"pv_pe_alloc_count\":\"1\"},"
        "{\"pv_name\":\"/dev/b\", \"pv_uuid\":\"P2\", \"vg_name\":\"v\", \"pv_size\":\"8\", "
        "\"pe_start\":\"1\", \"pv_pe_count\":\"2\", \"pv_pe_alloc_count\":\"3\"}]}]}";

    ck_assert_int_eq(pool_lvm_report_parse_vgs(vg_rows, &vgs, &n), -1);
    ck_assert_ptr_null(vgs);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "VG bad"));

    n = 9;
    ck_assert_int_eq(pool_lvm_report_parse_pvs(pv_rows, &pvs, &n), -1);
    ck_assert_ptr_null(pvs);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "PV /dev/b"));
}
END_TEST

/* The --config string of lvm_run.c (tested here with the other pure LVM
 * text code): exactly the given devices, regex characters bracketed, extra
 * devices added once, activation settings only when activation is off. */
START_TEST(test_lvm_config_string)
{
    char *devs[] = {"/dev/loop0", "/dev/disk/by-id/a.b+(1)", NULL};
    char *extra[] = {"/dev/loop0", "/dev/sdc", NULL};
    char *cfg = pool_lvm_config_string(devs, extra, false);

    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(
        cfg, "devices { filter=[\"a|^/dev/loop0$|\",\"a|^/dev/disk/by-id/a[.]b[+][(]1[)]$|\","
             "\"a|^/dev/sdc$|\",\"r|.*|\"] "
             "global_filter=[\"a|^/dev/loop0$|\",\"a|^/dev/disk/by-id/a[.]b[+][(]1[)]$|\","
             "\"a|^/dev/sdc$|\",\"r|.*|\"] "
             "use_devicesfile=0 hints=\"none\" obtain_device_list_from_udev=0 scan_lvs=0 } "
             "global { activation=0 use_lvmlockd=0 use_lvmpolld=0 notify_dbus=0 } "
             "activation { udev_sync=0 udev_rules=0 monitoring=0 "
             "auto_activation_volume_list=[] } "
             "backup { backup=0 archive=0 }");
    free(cfg);

    cfg = pool_lvm_config_string(devs + 1, NULL, true);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(cfg,
                     "devices { filter=[\"a|^/dev/disk/by-id/a[.]b[+][(]1[)]$|\",\"r|.*|\"] "
                     "global_filter=[\"a|^/dev/disk/by-id/a[.]b[+][(]1[)]$|\",\"r|.*|\"] "
                     "use_devicesfile=0 hints=\"none\" obtain_device_list_from_udev=0 scan_lvs=0 } "
                     "global { use_lvmlockd=0 use_lvmpolld=0 notify_dbus=0 } "
                     "activation { monitoring=0 auto_activation_volume_list=[] } "
                     "backup { backup=0 archive=0 }");
    free(cfg);
}
END_TEST

START_TEST(test_pvs_rules)
{
    poolLvmPV *pvs = NULL;
    size_t n = 0;

    ck_assert_int_eq(pool_lvm_report_parse_pvs(
                         "{\"report\":[{\"pv\":[{\"pv_name\":\"/dev/x\", \"pv_uuid\":\"U\", "
                         "\"vg_name\":\"\", \"pv_size\":\"100\", \"pe_start\":\"10\", "
                         "\"pv_pe_count\":\"2\", \"pv_pe_alloc_count\":\"3\"}]}]}",
                         &pvs, &n),
                     -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "PV /dev/x"));
    ck_assert_int_eq(pool_lvm_report_parse_pvs(
                         "{\"report\":[{\"pv\":[{\"pv_name\":\"/dev/x\", \"pv_uuid\":\"U\", "
                         "\"pv_size\":\"100\", \"pe_start\":\"10\", "
                         "\"pv_pe_count\":\"2\", \"pv_pe_alloc_count\":\"1\"}]}]}",
                         &pvs, &n),
                     -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "vg_name missing"));
}
END_TEST

START_TEST(test_pe_range)
{
    char *pv = NULL;
    uint64_t first = 1, last = 1;
    const char *bad[] = {
        "nocolon",      ":0-1",        "/dev/x:1",  "/dev/x:5-3", "/dev/x:a-b",
        "/dev/x:1-2-3", "/dev/x:-1-2", "/dev/x:0-", "/dev/x:-",   "/dev/x:0-18446744073709551616",
        "/dev/x:",      "/dev/x:0-1 ", ""};

    ck_assert_int_eq(pool_lvm_report_parse_pe_range("/dev/loop0:0-254", &pv, &first, &last), 0);
    ck_assert_str_eq(pv, "/dev/loop0");
    ck_assert_uint_eq(first, 0);
    ck_assert_uint_eq(last, 254);
    free(pv);

    /* split at the last ':' (by-path names contain colons) */
    ck_assert_int_eq(pool_lvm_report_parse_pe_range(
                         "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.2003-01.org.x:t-lun-1:5-9",
                         &pv, &first, &last),
                     0);
    ck_assert_str_eq(pv, "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.2003-01.org.x:t-lun-1");
    ck_assert_uint_eq(first, 5);
    ck_assert_uint_eq(last, 9);
    free(pv);

    ck_assert_int_eq(pool_lvm_report_parse_pe_range("[unknown]:7-7", &pv, &first, &last), 0);
    ck_assert_str_eq(pv, "[unknown]");
    ck_assert_uint_eq(first, 7);
    ck_assert_uint_eq(last, 7);
    free(pv);

    ck_assert_int_eq(pool_lvm_report_parse_pe_range(
                         "/dev/x:18446744073709551615-18446744073709551615", &pv, &first, &last),
                     0);
    ck_assert_uint_eq(last, UINT64_MAX);
    free(pv);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pv = (char *)1;
        ck_assert_msg(pool_lvm_report_parse_pe_range(bad[i], &pv, &first, &last) == -1,
                      "accepted '%s'", bad[i]);
        ck_assert_ptr_null(pv);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    }
    ck_assert_int_eq(pool_lvm_report_parse_pe_range(NULL, &pv, &first, &last), -1);
}
END_TEST

START_TEST(test_tag_get)
{
    char *tags[] = {"pd_slot:12", "pd_slots:99", "pd_name:a:b", "plain", "pd_empty:", NULL};
    char *none[] = {NULL};

    ck_assert_str_eq(pool_lvm_tag_get(tags, "pd_slot"), "12");
    ck_assert_str_eq(pool_lvm_tag_get(tags, "pd_slots"), "99");
    ck_assert_str_eq(pool_lvm_tag_get(tags, "pd_name"), "a:b");
    ck_assert_str_eq(pool_lvm_tag_get(tags, "pd_empty"), "");
    ck_assert_ptr_null(pool_lvm_tag_get(tags, "plain"));
    ck_assert_ptr_null(pool_lvm_tag_get(tags, "pd"));
    ck_assert_ptr_null(pool_lvm_tag_get(tags, "missing"));
    ck_assert_ptr_null(pool_lvm_tag_get(none, "pd_slot"));
    ck_assert_ptr_null(pool_lvm_tag_get(NULL, "pd_slot"));
    /* free functions accept NULL */
    pool_lvm_lvs_free(NULL, 3);
    pool_lvm_vgs_free(NULL, 3);
    pool_lvm_pvs_free(NULL, 3);
}
END_TEST

/* --- lvs with the VG fields (POOL_LVM_LVS_VG_FIELDS) ------------------------ */

/* Two parses of one LV agree on everything the rest of poold uses. */
static void assert_lv_equal(const poolLvmLV *a, const poolLvmLV *b)
{
    size_t t;

    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->uuid, b->uuid);
    ck_assert_uint_eq(a->size, b->size);
    for (t = 0; a->tags[t] != NULL; t++) {
        ck_assert_ptr_nonnull(b->tags[t]);
        ck_assert_str_eq(a->tags[t], b->tags[t]);
    }
    ck_assert_ptr_null(b->tags[t]);
    ck_assert_uint_eq(a->nsegments, b->nsegments);
    for (size_t i = 0; i < a->nsegments; i++) {
        ck_assert_uint_eq(a->segments[i].le_start, b->segments[i].le_start);
        ck_assert_uint_eq(a->segments[i].count, b->segments[i].count);
        ck_assert_uint_eq(a->segments[i].pe_start, b->segments[i].pe_start);
        ck_assert_str_eq(a->segments[i].pv, b->segments[i].pv);
    }
}

/* Parse must fail with POOL_ERR_LVM, a message containing `needle`, and
 * every output cleared. */
static void expect_lvs_vg_error(const char *json, const char *needle)
{
    poolLvmVG *vg = (poolLvmVG *)1;
    poolLvmLV *lvs = (poolLvmLV *)1;
    size_t n = 99;

    pool_error_reset();
    ck_assert_int_eq(pool_lvm_report_parse_lvs_vg(json, &vg, &lvs, &n), -1);
    ck_assert_ptr_null(vg);
    ck_assert_ptr_null(lvs);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    ck_assert_msg(strstr(pool_error_last_message(), needle) != NULL,
                  "message '%s' does not contain '%s'", pool_error_last_message(), needle);
}

START_TEST(test_lvs_vg_captured)
{
    char *json = read_data("lvs-vg.json");
    poolLvmVG *vg = NULL;
    poolLvmLV *lvs = NULL, *plain = NULL;
    size_t n = 0, nplain = 0;
    const poolLvmLV *vol1;

    ck_assert_int_eq(pool_lvm_report_parse_lvs_vg(json, &vg, &lvs, &n), 0);
    ck_assert_ptr_nonnull(vg);
    ck_assert_int_eq(strncmp(vg->name, "capture_vg_", 11), 0);
    ck_assert_uint_eq(strlen(vg->uuid), 38);
    ck_assert_uint_eq(vg->extent_size, 4194304);
    ck_assert_uint_eq(vg->extent_count, 30);
    ck_assert_uint_eq(vg->free_count, 11);
    ck_assert_uint_eq(vg->size, 30 * 4194304ull);
    ck_assert_uint_eq(vg->free, 11 * 4194304ull);
    ck_assert_uint_ge(vg->seqno, 1);
    ck_assert_uint_eq(vg->pv_count, 2);
    ck_assert_uint_eq(vg->lv_count, 5);
    ck_assert_str_eq(pool_lvm_tag_get(vg->tags, "pd_name"), "pool.one");
    ck_assert_str_eq(pool_lvm_tag_get(vg->tags, "pd_version"), "1");
    ck_assert_ptr_null(vg->tags[3]);

    /* the LVs are exactly what the plain lvs parser makes of the same rows
     * (it ignores the VG fields) */
    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &plain, &nplain), 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(nplain, n);
    for (size_t i = 0; i < n; i++)
        assert_lv_equal(&lvs[i], &plain[i]);
    vol1 = find_lv(lvs, n, "vol1");
    ck_assert_uint_eq(vol1->nsegments, 3);
    ck_assert_str_ne(vol1->segments[2].pv, vol1->segments[0].pv);

    pool_lvm_lvs_free(plain, nplain);
    pool_lvm_lvs_free(lvs, n);
    pool_lvm_vgs_free(vg, 1);
    free(json);
}
END_TEST

START_TEST(test_lvs_vg_no_rows)
{
    /* a VG without LVs, and an unknown VG (lvs exits 5): no rows, so no VG
     * either; the driver then asks vgs */
    const char *files[] = {"lvs-vg-empty-vg.json", "lvs-vg-not-found.json"};

    for (size_t f = 0; f < 2; f++) {
        char *json = read_data(files[f]);
        poolLvmVG *vg = (poolLvmVG *)1;
        poolLvmLV *lvs = (poolLvmLV *)1;
        size_t n = 99;

        ck_assert_int_eq(pool_lvm_report_parse_lvs_vg(json, &vg, &lvs, &n), 0);
        ck_assert_ptr_null(vg);
        ck_assert_ptr_null(lvs);
        ck_assert_uint_eq(n, 0);
        free(json);
    }
}
END_TEST

START_TEST(test_lvs_vg_missing_pv)
{
    char *json = read_data("lvs-vg-missing-pv.json");
    poolLvmVG *vg = NULL;
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    const poolLvmLV *vol1;

    ck_assert_int_eq(pool_lvm_report_parse_lvs_vg(json, &vg, &lvs, &n), 0);
    ck_assert_uint_eq(vg->pv_count, 2); /* the VG still counts the hidden PV */
    ck_assert_uint_eq(n, 4);
    vol1 = find_lv(lvs, n, "vol1");
    ck_assert_str_eq(vol1->segments[2].pv, "[unknown]");
    pool_lvm_lvs_free(lvs, n);
    pool_lvm_vgs_free(vg, 1);
    free(json);
}
END_TEST

START_TEST(test_lvs_vg_refused)
{
    char *json;

    /* rows from two metadata versions must never be merged */
    json = read_data("lvs-vg-mismatch.json");
    expect_lvs_vg_error(json, "differs");
    free(json);
    json = read_data("lvs-vg-missing-field.json");
    expect_lvs_vg_error(json, "vg_free_count");
    free(json);
    /* a plain lvs report has no VG fields */
    json = read_data("lvs.json");
    expect_lvs_vg_error(json, "vg_name");
    free(json);
    expect_lvs_vg_error("", "empty");
    expect_lvs_vg_error("{\"report\": [{\"vg\": []}]}", "no \"lv\" array");
    expect_lvs_vg_error("{\"report\": [{\"lv\": [{\"lv_name\":\"a\"}]}]}", "vg_name");
}
END_TEST

START_TEST(test_lvs_vg_rules)
{
    /* one valid row built from the captured shape, then broken one field
     * at a time */
    const char *row = "{\"lv_name\":\"v\", \"lv_uuid\":\"u\", \"lv_size\":\"8\", "
                      "\"lv_tags\":\"\", \"seg_start_pe\":\"0\", \"seg_size_pe\":\"2\", "
                      "\"seg_pe_ranges\":\"/dev/x:0-1\", \"segtype\":\"linear\", "
                      "\"vg_name\":\"g\", \"vg_uuid\":\"gu\", \"vg_size\":\"40\", "
                      "\"vg_free\":\"32\", \"vg_extent_size\":\"4\", "
                      "\"vg_extent_count\":\"10\", \"vg_free_count\":\"8\", "
                      "\"vg_seqno\":\"3\", \"pv_count\":\"1\", \"lv_count\":\"1\", "
                      "\"vg_tags\":\"pd_uuid:x\"}";
    char doc[4096];
    poolLvmVG *vg = NULL;
    poolLvmLV *lvs = NULL;
    size_t n = 0;

    snprintf(doc, sizeof(doc), "{\"report\": [{\"lv\": [%s]}]}", row);
    ck_assert_int_eq(pool_lvm_report_parse_lvs_vg(doc, &vg, &lvs, &n), 0);
    ck_assert_str_eq(vg->name, "g");
    ck_assert_str_eq(pool_lvm_tag_get(vg->tags, "pd_uuid"), "x");
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(lvs[0].segments[0].count, 2);
    pool_lvm_lvs_free(lvs, n);
    pool_lvm_vgs_free(vg, 1);

    /* the same row twice: the VG rows agree, then the LV rules refuse two
     * segments both starting at extent 0 */
    snprintf(doc, sizeof(doc), "{\"report\": [{\"lv\": [%s, %s]}]}", row, row);
    expect_lvs_vg_error(doc, "LV v");

    /* VG rules: size must match extents */
    {
        char bad[2048];
        const char *p = strstr(row, "\"vg_size\":\"40\"");

        ck_assert_ptr_nonnull(p);
        snprintf(bad, sizeof(bad), "%.*s\"vg_size\":\"44\"%s", (int)(p - row), row,
                 p + strlen("\"vg_size\":\"40\""));
        snprintf(doc, sizeof(doc), "{\"report\": [{\"lv\": [%s]}]}", bad);
        expect_lvs_vg_error(doc, "size/free");
    }
    /* rows of two VGs (another VG's LV must never be taken as ours) */
    {
        char other[2048];
        const char *p = strstr(row, "\"vg_name\":\"g\"");

        ck_assert_ptr_nonnull(p);
        snprintf(other, sizeof(other), "%.*s\"vg_name\":\"h\"%s", (int)(p - row), row,
                 p + strlen("\"vg_name\":\"g\""));
        snprintf(doc, sizeof(doc), "{\"report\": [{\"lv\": [%s, %s]}]}", row, other);
        expect_lvs_vg_error(doc, "differs");
    }
}
END_TEST

START_TEST(test_lvs_named_captured)
{
    /* the reply after a create or resize: `lvs VG/vol1 VG/leases` */
    char *json = read_data("lvs-named.json");
    poolLvmLV *lvs = NULL;
    size_t n = 0;

    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(find_lv(lvs, n, "leases"));
    ck_assert_uint_eq(find_lv(lvs, n, "vol1")->nsegments, 3);
    pool_lvm_lvs_free(lvs, n);
    free(json);

    /* one name missing: lvs exits 5 but still reports the rest (the driver
     * treats the exit status as the failure) */
    json = read_data("lvs-named-missing.json");
    ck_assert_int_eq(pool_lvm_report_parse_lvs(json, &lvs, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(lvs[0].name, "vol1");
    pool_lvm_lvs_free(lvs, n);
    free(json);
}
END_TEST

static Suite *lvm_report_suite(void)
{
    Suite *s = suite_create("lvm_report");
    TCase *cap = tcase_create("captured");
    TCase *rules = tcase_create("rules");

    tcase_add_test(cap, test_lvs_captured);
    tcase_add_test(cap, test_lvs_missing_pv);
    tcase_add_test(cap, test_lvs_empty);
    tcase_add_test(cap, test_vgs_captured);
    tcase_add_test(cap, test_pvs_captured);
    tcase_add_test(cap, test_lvs_refused_files);
    tcase_add_test(cap, test_vgs_pvs_refused_files);
    tcase_add_test(cap, test_lvs_vg_captured);
    tcase_add_test(cap, test_lvs_vg_no_rows);
    tcase_add_test(cap, test_lvs_vg_missing_pv);
    tcase_add_test(cap, test_lvs_vg_refused);
    tcase_add_test(cap, test_lvs_named_captured);
    suite_add_tcase(s, cap);

    tcase_add_test(rules, test_lvs_segments_sorted);
    tcase_add_test(rules, test_lvs_rules);
    tcase_add_test(rules, test_lvs_multiple_report_entries);
    tcase_add_test(rules, test_vgs_rules);
    tcase_add_test(rules, test_pvs_rules);
    tcase_add_test(rules, test_vgs_pvs_bad_later_row);
    tcase_add_test(rules, test_lvm_config_string);
    tcase_add_test(rules, test_pe_range);
    tcase_add_test(rules, test_tag_get);
    tcase_add_test(rules, test_lvs_vg_rules);
    suite_add_tcase(s, rules);
    return s;
}

int main(void)
{
    return test_run_suite(lvm_report_suite());
}
