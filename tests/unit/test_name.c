// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_name.c: pool, volume and host name validation.
 *
 * Names end up in lvm argv, LVM tags, file names and IQNs. These tables
 * pin down that nothing path-like, option-like, shell-active or reserved by
 * LVM/poold gets through, and that the error names the problem.
 */
#include <check.h>
#include <string.h>

#include "pool-error.h"
#include "pool-util.h"
#include "test_support.h"

static const char *const good_names[] = {
    "pool1",
    "web01-disk",
    "a",
    "A",
    "0",
    "9lives",
    "db_data",
    "vm.disk0",
    "c++",
    "x-y_z.w+v",
    "1234567890123456789012345678901234567890123456789012345678901234", /* 64 */
    "myids",
    "idsx",
    "leases2",
    "snap",
    "my-snapshot",
    "mypvmove",
    "apdl-x",
    "pdl",
};

/* Rejected for every kind. */
static const char *const bad_names[] = {
    "",
    "/",
    "a/b",
    "../etc",
    ".",
    "..",
    ".hidden",
    "-f",
    "--force",
    "_x",
    "+x",
    "a b",
    " a",
    "a ",
    "a\tb",
    "a\nb",
    "a$b",
    "a;b",
    "a|b",
    "a&b",
    "a`b`",
    "a'b",
    "a\"b",
    "a*",
    "a?",
    "a<b",
    "a>b",
    "a(b)",
    "a{b}",
    "a\\b",
    "a:b",
    "a=b",
    "a@b",
    "a%b",
    "a,b",
    "a!b",
    "a#b",
    "a~b",
    "a[b]",
    "caf\xc3\xa9",
    "12345678901234567890123456789012345678901234567890123456789012345", /* 65 */
};

/* Valid pool names but reserved as volume names. */
static const char *const reserved_volume_names[] = {
    "ids",        "leases",   "snapshot",  "snapshot1",  "pvmove",     "pvmove0",       "web_mlog",
    "x_mimage_0", "x_rimage", "x_rmeta_1", "thin_tdata", "thin_tmeta", "lvol0_pmspare", "c_cdata",
    "c_cmeta",    "c_corig",  "v_vorigin", "v_vdata",    "w_wcorig",   "a_cpool",       "a_cvol",
    "a_imeta",    "a_iorig",  "a_vdo",     "data_mlogx", "pdl-0123",   "pdl-",
};

static const poolNameKind all_kinds[] = {POOL_NAME_POOL, POOL_NAME_VOLUME, POOL_NAME_HOST};

START_TEST(test_good_names)
{
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
            pool_error_reset();
            ck_assert_msg(pool_name_validate(all_kinds[k], good_names[i]) == 0,
                          "'%s' (kind %d) rejected: %s", good_names[i], (int)all_kinds[k],
                          pool_error_last_message());
        }
    }
}
END_TEST

START_TEST(test_bad_names)
{
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
            pool_error_reset();
            ck_assert_msg(pool_name_validate(all_kinds[k], bad_names[i]) == -1,
                          "'%s' (kind %d) accepted", bad_names[i], (int)all_kinds[k]);
            ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
            ck_assert_ptr_nonnull(strstr(pool_error_last_message(), " name '"));
            /* Never echo control characters. */
            for (const char *p = pool_error_last_message(); *p; p++)
                ck_assert_int_ge((unsigned char)*p, 0x20);
        }
    }
    ck_assert_int_eq(pool_name_validate(POOL_NAME_POOL, NULL), -1);
}
END_TEST

START_TEST(test_reserved_volume_names)
{
    for (size_t i = 0; i < sizeof(reserved_volume_names) / sizeof(reserved_volume_names[0]); i++) {
        const char *n = reserved_volume_names[i];

        pool_error_reset();
        ck_assert_msg(pool_name_validate(POOL_NAME_VOLUME, n) == -1, "volume '%s' accepted", n);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "reserved"));
        /* The same names are fine for pools (VG names) and hosts. */
        ck_assert_msg(pool_name_validate(POOL_NAME_POOL, n) == 0, "pool '%s' rejected: %s", n,
                      pool_error_last_message());
        ck_assert_int_eq(pool_name_validate(POOL_NAME_HOST, n), 0);
    }
}
END_TEST

START_TEST(test_messages)
{
    ck_assert_int_eq(pool_name_validate(POOL_NAME_VOLUME, "a/b"), -1);
    ck_assert_str_eq(pool_error_last_message(),
                     "invalid volume name 'a/b': character '/' not allowed (use A-Z a-z 0-9 _ . + "
                     "-)");
    ck_assert_int_eq(pool_name_validate(POOL_NAME_POOL, "-x"), -1);
    ck_assert_str_eq(pool_error_last_message(),
                     "invalid pool name '-x': must start with a letter or digit");
    ck_assert_int_eq(pool_name_validate(POOL_NAME_HOST, ""), -1);
    ck_assert_str_eq(pool_error_last_message(), "invalid host name '': must not be empty");
    ck_assert_int_eq(pool_name_validate(POOL_NAME_VOLUME, "ids"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "'ids' is reserved"));
    ck_assert_int_eq(pool_name_validate(POOL_NAME_VOLUME, "x_mlog"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "'_mlog'"));
    ck_assert_int_eq(pool_name_validate(POOL_NAME_VOLUME, "a\nb"), -1);
    ck_assert_str_eq(pool_error_last_message(),
                     "invalid volume name 'a\\x0ab': character 0x0a not allowed (use A-Z a-z 0-9 "
                     "_ . + -)");
    ck_assert_int_eq(
        pool_name_validate(POOL_NAME_VOLUME,
                           "12345678901234567890123456789012345678901234567890123456789012345"),
        -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "longer than 64 characters"));
}
END_TEST

static Suite *name_suite(void)
{
    Suite *s = suite_create("name");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_good_names);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_reserved_volume_names);
    tcase_add_test(tc, test_messages);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(name_suite());
}
