// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_iscsi_chap.c: CHAP (MD5) as the login code uses it: binary value
 * encodings (hex and base64), the response formula checked against
 * independently computed vectors, one-way and mutual exchanges, and the
 * refusals that keep CHAP meaningful (wrong secret, unknown user, reflected
 * challenge, identical secrets both ways, mutual required but not offered).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_chap.h"
#include "test_support.h"

static tgtAuth make_auth(bool mutual)
{
    tgtAuth a;

    memset(&a, 0, sizeof(a));
    a.chap_required = true;
    snprintf(a.initiator.user, sizeof(a.initiator.user), "alice");
    snprintf(a.initiator.secret, sizeof(a.initiator.secret), "initiatorsecret");
    if (mutual) {
        a.mutual = true;
        snprintf(a.target.user, sizeof(a.target.user), "target1");
        snprintf(a.target.secret, sizeof(a.target.secret), "targetsecret1");
    }
    return a;
}

static void answer(const iscsiChap *c, const char *secret, char out[40])
{
    uint8_t d[MD5_DIGEST_LEN];

    iscsi_chap_md5(c->id, secret, c->challenge, sizeof(c->challenge), d);
    iscsi_chap_encode_hex(d, sizeof(d), out);
}

START_TEST(test_md5_vector)
{
    uint8_t ch[16], d[MD5_DIGEST_LEN];
    char hex[40];

    for (int i = 0; i < 16; i++)
        ch[i] = (uint8_t)i;
    iscsi_chap_md5(0x2a, "initiatorsecret", ch, sizeof(ch), d);
    iscsi_chap_encode_hex(d, sizeof(d), hex);
    ck_assert_str_eq(hex, "0x8f200ae11d4b70649d2c59205efa04d2");
}
END_TEST

START_TEST(test_decode)
{
    uint8_t out[64];

    ck_assert_int_eq(iscsi_chap_decode("0x00ff10", out, sizeof(out)), 3);
    ck_assert_uint_eq(out[1], 0xff);
    ck_assert_int_eq(iscsi_chap_decode("0XABC", out, sizeof(out)), 2); /* odd: leading nibble */
    ck_assert_uint_eq(out[0], 0x0a);
    ck_assert_uint_eq(out[1], 0xbc);
    ck_assert_int_eq(iscsi_chap_decode("0bqqqqqqqqqqqqqqqqqqqqqqqqqqo=", out, sizeof(out)), 20);
    for (int i = 0; i < 20; i++)
        ck_assert_uint_eq(out[i], 0xaa);
    ck_assert_int_eq(iscsi_chap_decode("0bAQID", out, sizeof(out)), 3);
    ck_assert_uint_eq(out[2], 3);
    ck_assert_int_eq(iscsi_chap_decode("1234", out, sizeof(out)), -1);
    ck_assert_int_eq(iscsi_chap_decode("0x", out, sizeof(out)), -1);
    ck_assert_int_eq(iscsi_chap_decode("0xzz", out, sizeof(out)), -1);
    ck_assert_int_eq(iscsi_chap_decode("0b@@@@", out, sizeof(out)), -1);
    ck_assert_int_eq(iscsi_chap_decode("0bAQ==AQ", out, sizeof(out)), -1);
    ck_assert_int_eq(iscsi_chap_decode("0x0102030405", out, 4), -1); /* too long */
}
END_TEST

START_TEST(test_challenge_needs_md5)
{
    iscsiChap c;
    char i[8], ch[64];

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(iscsi_chap_challenge(&c, "7,6", i, sizeof(i), ch, sizeof(ch)), -1);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(iscsi_chap_challenge(&c, "7,5", i, sizeof(i), ch, sizeof(ch)), 0);
    ck_assert_int_eq(c.state, ISCSI_CHAP_CHALLENGED);
    ck_assert_uint_eq(strlen(ch), 2 + 2 * ISCSI_CHAP_CHALLENGE_LEN);
    /* two challenges differ */
    iscsiChap c2;
    memset(&c2, 0, sizeof(c2));
    ck_assert_int_eq(iscsi_chap_challenge(&c2, "5", i, sizeof(i), ch, sizeof(ch)), 0);
    ck_assert(memcmp(c.challenge, c2.challenge, sizeof(c.challenge)) != 0);
}
END_TEST

START_TEST(test_one_way)
{
    tgtAuth a = make_auth(false);
    iscsiChap c;
    char i[8], ch[64], r[40], n[256], tr[40];
    const char *why = NULL;

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch)), 0);
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, NULL, NULL, n, sizeof(n), tr, sizeof(tr), &why), 0);
    ck_assert_int_eq(c.state, ISCSI_CHAP_DONE);
    ck_assert_str_eq(n, "");
}
END_TEST

START_TEST(test_wrong_secret_and_user)
{
    tgtAuth a = make_auth(false);
    iscsiChap c;
    char i[8], ch[64], r[40], n[256], tr[40];
    const char *why = NULL;

    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "wrongsecret!!", r);
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, NULL, NULL, n, sizeof(n), tr, sizeof(tr), &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "secret"));
    ck_assert_int_eq(c.state, ISCSI_CHAP_FAILED);

    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "bob", r, NULL, NULL, n, sizeof(n), tr, sizeof(tr), &why), -1);
    /* a response without a challenge */
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, NULL, NULL, n, sizeof(n), tr, sizeof(tr), &why), -1);
    /* a malformed response */
    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    ck_assert_int_eq(iscsi_chap_verify(&c, &a, "alice", "0x1234", NULL, NULL, n, sizeof(n), tr,
                                       sizeof(tr), &why),
                     -1);
}
END_TEST

START_TEST(test_mutual)
{
    tgtAuth a = make_auth(true);
    iscsiChap c;
    char i[8], ch[64], r[40], n[256], tr[40];
    const char *why = NULL;

    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(iscsi_chap_verify(&c, &a, "alice", r, "7", "0bqqqqqqqqqqqqqqqqqqqqqqqqqqo=", n,
                                       sizeof(n), tr, sizeof(tr), &why),
                     0);
    ck_assert_str_eq(n, "target1");
    ck_assert_str_eq(tr, "0x6a59845ad0ebdd60d9fe9c761ecb3fd5");

    /* mutual required but the initiator does not challenge */
    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, NULL, NULL, n, sizeof(n), tr, sizeof(tr), &why), -1);
    /* CHAP_I without CHAP_C */
    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, "7", NULL, n, sizeof(n), tr, sizeof(tr), &why), -1);
    /* CHAP_I out of range */
    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, "256", "0x0102", n, sizeof(n), tr, sizeof(tr), &why),
        -1);
}
END_TEST

START_TEST(test_reflection_refused)
{
    tgtAuth a = make_auth(true);
    iscsiChap c;
    char i[8], ch[64], r[40], n[256], tr[40];
    const char *why = NULL;

    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    /* the initiator hands our own challenge back */
    ck_assert_int_eq(
        iscsi_chap_verify(&c, &a, "alice", r, i, ch, n, sizeof(n), tr, sizeof(tr), &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "reflected"));
}
END_TEST

START_TEST(test_identical_secrets_refused)
{
    tgtAuth a = make_auth(true);
    iscsiChap c;
    char i[8], ch[64], r[40], n[256], tr[40];
    const char *why = NULL;

    snprintf(a.target.secret, sizeof(a.target.secret), "%s", a.initiator.secret);
    memset(&c, 0, sizeof(c));
    iscsi_chap_challenge(&c, "5", i, sizeof(i), ch, sizeof(ch));
    answer(&c, "initiatorsecret", r);
    ck_assert_int_eq(iscsi_chap_verify(&c, &a, "alice", r, "9", "0x0102030405060708", n, sizeof(n),
                                       tr, sizeof(tr), &why),
                     -1);
    ck_assert_ptr_nonnull(strstr(why, "identical"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iscsi_chap");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_md5_vector);
    tcase_add_test(tc, test_decode);
    tcase_add_test(tc, test_challenge_needs_md5);
    tcase_add_test(tc, test_one_way);
    tcase_add_test(tc, test_wrong_secret_and_user);
    tcase_add_test(tc, test_mutual);
    tcase_add_test(tc, test_reflection_refused);
    tcase_add_test(tc, test_identical_secrets_refused);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
