// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_size.c: size and integer parsing, size formatting.
 *
 * A size that parses to the wrong value becomes an lvcreate of the wrong
 * size, so both tables are explicit: what must parse and to what, and what
 * must fail, with the error naming the offending text.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pool-error.h"
#include "pool-util.h"
#include "test_support.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)
#define PiB (UINT64_C(1) << 50)

static const struct {
    const char *text;
    uint64_t bytes;
} good_sizes[] = {
    {"0", 0},
    {"1", 1},
    {"512", 512},
    {"512B", 512},
    {"4K", 4 * KiB},
    {"4k", 4 * KiB},
    {"4KiB", 4 * KiB},
    {"4KB", 4 * KiB},
    {"512M", 512 * MiB},
    {"512MiB", 512 * MiB},
    {"20G", 20 * GiB},
    {"20g", 20 * GiB},
    {"20GiB", 20 * GiB},
    {"20GB", 20 * GiB},
    {"1T", TiB},
    {"1TiB", TiB},
    {"2P", 2 * PiB},
    {"007G", 7 * GiB},
    {"18446744073709551615", UINT64_MAX},
    {"16777215T", UINT64_C(16777215) * TiB},
    {"15P", 15 * PiB},
    {"16383P", UINT64_C(16383) * PiB},
};

static const char *const bad_sizes[] = {
    "-1",
    "+1",
    "1.5G",
    "1,5G",
    "20X",
    "G",
    "K",
    " 1G",
    "1G ",
    "1 G",
    "1G\n",
    "\t1G",
    "99999999999999999999", /* > 2^64 */
    "18446744073709551616", /* 2^64 */
    "17179869184T",         /* 2^74 */
    "16777216T",            /* exactly 2^64 */
    "16384P",               /* 2^64 */
    "1E",
    "1GiBB",
    "1GBi",
    "1Gi",
    "1iB",
    "0x10",
    "1e9",
    "1GG",
    "1KM",
    "iB",
    "B",
    "1B2",
};

START_TEST(test_good_sizes)
{
    for (size_t i = 0; i < sizeof(good_sizes) / sizeof(good_sizes[0]); i++) {
        uint64_t v = 12345;

        pool_error_reset();
        if (pool_parse_size(good_sizes[i].text, "size", &v) != 0)
            ck_abort_msg("'%s' rejected: %s", good_sizes[i].text, pool_error_last_message());
        ck_assert_msg(v == good_sizes[i].bytes, "'%s' parsed to %llu", good_sizes[i].text,
                      (unsigned long long)v);
    }
}
END_TEST

START_TEST(test_bad_sizes)
{
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        uint64_t v = 12345;
        const char *msg;

        pool_error_reset();
        ck_assert_msg(pool_parse_size(bad_sizes[i], "size", &v) == -1, "'%s' accepted",
                      bad_sizes[i]);
        ck_assert_msg(v == 12345, "'%s' modified the output on failure", bad_sizes[i]);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
        msg = pool_error_last_message();
        ck_assert_msg(strstr(msg, "invalid size '") != NULL, "message '%s'", msg);
        /* Printable texts appear verbatim in the message. */
        if (!strpbrk(bad_sizes[i], "\n\t"))
            ck_assert_msg(strstr(msg, bad_sizes[i]) != NULL, "message '%s' does not name '%s'", msg,
                          bad_sizes[i]);
    }
}
END_TEST

START_TEST(test_size_messages)
{
    uint64_t v;

    ck_assert_int_eq(pool_parse_size("", "size", &v), -1);
    ck_assert_str_eq(pool_error_last_message(), "invalid size '': empty");
    ck_assert_int_eq(pool_parse_size(NULL, "size", &v), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);

    ck_assert_int_eq(pool_parse_size("17179869184T", "volume size", &v), -1);
    ck_assert_str_eq(pool_error_last_message(), "invalid volume size '17179869184T': too large");

    ck_assert_int_eq(pool_parse_size("1.5G", NULL, &v), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "invalid size '1.5G': fractions"));

    /* Control characters are escaped, never echoed raw to a terminal. */
    ck_assert_int_eq(pool_parse_size("1G\n\x1b[2J", "size", &v), -1);
    ck_assert_ptr_null(strchr(pool_error_last_message(), '\n'));
    ck_assert_ptr_null(strchr(pool_error_last_message(), '\x1b'));
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "1G\\x0a\\x1b[2J"));
}
END_TEST

static const struct {
    uint64_t bytes;
    const char *text;
} formats[] = {
    {0, "0 B"},
    {512, "512 B"},
    {1023, "1023 B"},
    {1024, "1.00 KiB"},
    {1536, "1.50 KiB"},
    {20 * GiB, "20.00 GiB"},
    {20 * GiB + 512 * MiB, "20.50 GiB"},
    {TiB, "1.00 TiB"},
    {3 * PiB, "3.00 PiB"},
    {UINT64_C(1) << 60, "1.00 EiB"},
    {UINT64_MAX, "16.00 EiB"},
};

START_TEST(test_format_size)
{
    char buf[32];

    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        ck_assert_str_eq(pool_format_size(formats[i].bytes, buf, sizeof(buf)), formats[i].text);

    /* A small buffer truncates safely. */
    ck_assert_str_eq(pool_format_size(20 * GiB, buf, 4), "20.");
}
END_TEST

START_TEST(test_format_parse_round_trip)
{
    char buf[32];
    uint64_t v;

    /* Whole units format to "N.00 XiB"; "N" + unit letter parses back. */
    for (uint64_t n = 1; n < 1024; n += 37) {
        for (int shift = 10; shift <= 50; shift += 10) {
            char text[32];
            const char *unit;

            pool_format_size(n << shift, buf, sizeof(buf));
            unit = strchr(buf, ' ') + 1;
            snprintf(text, sizeof(text), "%llu%c", (unsigned long long)n, unit[0]);
            ck_assert_int_eq(pool_parse_size(text, "size", &v), 0);
            ck_assert(v == n << shift);
        }
    }
}
END_TEST

START_TEST(test_parse_uint)
{
    uint64_t v = 99;

    ck_assert_int_eq(pool_parse_uint("0", "count", 0, 10, &v), 0);
    ck_assert(v == 0);
    ck_assert_int_eq(pool_parse_uint("10", "count", 0, 10, &v), 0);
    ck_assert(v == 10);
    ck_assert_int_eq(pool_parse_uint("18446744073709551615", "n", 0, UINT64_MAX, &v), 0);
    ck_assert(v == UINT64_MAX);

    static const char *const bad[] = {"",
                                      "-1",
                                      "+1",
                                      " 1",
                                      "1 ",
                                      "1x",
                                      "0x10",
                                      "1.0",
                                      "11",
                                      "18446744073709551616",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 99;
        pool_error_reset();
        ck_assert_msg(pool_parse_uint(bad[i], "host id", 0, 10, &v) == -1, "'%s' accepted", bad[i]);
        ck_assert(v == 99);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
        ck_assert_msg(strstr(pool_error_last_message(), "invalid host id '") != NULL, "%s",
                      pool_error_last_message());
    }
    ck_assert_int_eq(pool_parse_uint("0", "host id", 1, 2000, &v), -1);
    ck_assert_str_eq(pool_error_last_message(), "invalid host id '0': out of range 1..2000");
    ck_assert_int_eq(pool_parse_uint("2001", "host id", 1, 2000, &v), -1);
    ck_assert_int_eq(pool_parse_uint(NULL, "host id", 1, 2000, &v), -1);
}
END_TEST

static Suite *size_suite(void)
{
    Suite *s = suite_create("size");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_good_sizes);
    tcase_add_test(tc, test_bad_sizes);
    tcase_add_test(tc, test_size_messages);
    tcase_add_test(tc, test_format_size);
    tcase_add_test(tc, test_format_parse_round_trip);
    tcase_add_test(tc, test_parse_uint);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(size_suite());
}
