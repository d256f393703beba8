// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_md5.c: MD5 against the RFC 1321 appendix A.5 test suite, plus
 * incremental feeding across block boundaries (CHAP feeds id, secret and
 * challenge separately, so split input must hash like whole input).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md5.h"
#include "test_support.h"

static const struct {
    const char *in;
    const char *hex;
} vectors[] = {
    {"", "d41d8cd98f00b204e9800998ecf8427e"},
    {"a", "0cc175b9c0f1b6a831c399e269772661"},
    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "d174ab98d277d9f5a5611c2c9f419d9f"},
    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
};

static void to_hex(const uint8_t d[MD5_DIGEST_LEN], char out[33])
{
    for (int i = 0; i < MD5_DIGEST_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

START_TEST(test_rfc1321_suite)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t d[MD5_DIGEST_LEN];
        char hex[33];

        md5_digest(vectors[i].in, strlen(vectors[i].in), d);
        to_hex(d, hex);
        ck_assert_str_eq(hex, vectors[i].hex);
    }
}
END_TEST

START_TEST(test_split_input)
{
    const char *msg = vectors[6].in;
    size_t len = strlen(msg);

    for (size_t cut = 0; cut <= len; cut++) {
        md5Ctx ctx;
        uint8_t d[MD5_DIGEST_LEN];
        char hex[33];

        md5_init(&ctx);
        md5_update(&ctx, msg, cut);
        md5_update(&ctx, msg + cut, len - cut);
        md5_final(&ctx, d);
        to_hex(d, hex);
        ck_assert_str_eq(hex, vectors[6].hex);
    }
}
END_TEST

START_TEST(test_padding_boundaries)
{
    /* lengths around 55/56/64 exercise the one- and two-block padding
     * paths; whole vs byte-at-a-time must agree */
    uint8_t buf[200];

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    for (size_t len = 50; len < 140; len++) {
        uint8_t a[MD5_DIGEST_LEN], b[MD5_DIGEST_LEN];
        md5Ctx ctx;

        md5_digest(buf, len, a);
        md5_init(&ctx);
        for (size_t i = 0; i < len; i++)
            md5_update(&ctx, buf + i, 1);
        md5_final(&ctx, b);
        ck_assert_mem_eq(a, b, MD5_DIGEST_LEN);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("md5");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_rfc1321_suite);
    tcase_add_test(tc, test_split_input);
    tcase_add_test(tc, test_padding_boundaries);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
