// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_iscsi_text.c: key=value parsing limits (RFC 7143 6.1: keys up to 63
 * bytes, values up to 255 unless larger is allowed, no duplicates) and the
 * negotiation result table: every key's result function, defaults for keys
 * never offered, boundary values, NotUnderstood / Irrelevant / Reject.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_text.h"
#include "test_support.h"

/* Parse "k=v|k=v" (| -> NUL) */
static int parse_str(const char *s, iscsiKV *kv, size_t max, char *buf)
{
    size_t len = strlen(s);
    const char *why = NULL;

    for (size_t i = 0; i < len; i++)
        buf[i] = s[i] == '|' ? '\0' : s[i];
    return iscsi_text_parse(buf, len, kv, max, &why);
}

START_TEST(test_parse_basic)
{
    char buf[512];
    iscsiKV kv[8];

    ck_assert_int_eq(parse_str("A=1|B=two|C=|", kv, 8, buf), 3);
    ck_assert_str_eq(kv[0].key, "A");
    ck_assert_str_eq(kv[1].value, "two");
    ck_assert_str_eq(kv[2].value, "");
    /* missing final NUL is tolerated (terminated by the parser) */
    ck_assert_int_eq(parse_str("A=1|B=2", kv, 8, buf), 2);
    /* padding NULs skipped */
    ck_assert_int_eq(parse_str("A=1||||", kv, 8, buf), 1);
    ck_assert_int_eq(parse_str("", kv, 8, buf), 0);
}
END_TEST

START_TEST(test_parse_limits)
{
    char in[10000], buf[10000];
    iscsiKV kv[4];

    ck_assert_int_eq(parse_str("A|", kv, 4, buf), -1);  /* no '=' */
    ck_assert_int_eq(parse_str("=x|", kv, 4, buf), -1); /* empty key */
    ck_assert_int_eq(parse_str("A=1|A=2|", kv, 4, buf), -1);
    ck_assert_int_eq(parse_str("A B=1|", kv, 4, buf), -1);
    ck_assert_int_eq(parse_str("A=1|B=1|C=1|D=1|E=1|", kv, 4, buf), -1); /* too many */
    /* key of 63 ok, 64 not */
    memset(in, 'K', 63);
    strcpy(in + 63, "=v|");
    ck_assert_int_eq(parse_str(in, kv, 4, buf), 1);
    memset(in, 'K', 64);
    strcpy(in + 64, "=v|");
    ck_assert_int_eq(parse_str(in, kv, 4, buf), -1);
    /* value of 255 ok, 256 not */
    strcpy(in, "V=");
    memset(in + 2, 'x', 255);
    strcpy(in + 257, "|");
    ck_assert_int_eq(parse_str(in, kv, 4, buf), 1);
    memset(in + 2, 'x', 256);
    strcpy(in + 258, "|");
    ck_assert_int_eq(parse_str(in, kv, 4, buf), -1);
    /* CHAP_C may be longer */
    strcpy(in, "CHAP_C=0x");
    memset(in + 9, 'a', 2000);
    strcpy(in + 2009, "|");
    ck_assert_int_eq(parse_str(in, kv, 4, buf), 1);
}
END_TEST

static iscsiTextOut out;
static iscsiParams params;
static iscsiTargetLimits lim;
static iscsiNegotiation neg;

static void neg_setup(void)
{
    iscsi_params_default(&params);
    iscsi_limits_default(&lim);
    iscsi_negotiation_init(&neg, &params, &lim);
    iscsi_text_out_init(&out, 65536);
}

static void neg_teardown(void)
{
    iscsi_text_out_free(&out);
}

/* negotiate one key, return the response value ("" if none) */
static const char *nego(const char *key, const char *value)
{
    static char resp[300];
    size_t before = out.len;

    ck_assert_int_eq(iscsi_negotiate_key(&neg, key, value, &out), ISCSI_NEG_OK);
    if (out.len == before)
        return "";
    const char *kv = out.buf + before;
    const char *eq = strchr(kv, '=');
    ck_assert_ptr_nonnull(eq);
    ck_assert_int_eq(strncmp(kv, key, (size_t)(eq - kv)), 0);
    snprintf(resp, sizeof(resp), "%s", eq + 1);
    return resp;
}

START_TEST(test_defaults)
{
    iscsiParams p;

    iscsi_params_default(&p);
    ck_assert(!p.header_digest);
    ck_assert(!p.data_digest);
    ck_assert_uint_eq(p.max_connections, 1);
    ck_assert(p.initial_r2t);
    ck_assert(p.immediate_data);
    ck_assert_uint_eq(p.max_send_dsl, 8192);
    ck_assert_uint_eq(p.max_burst, 262144);
    ck_assert_uint_eq(p.first_burst, 65536);
    ck_assert_uint_eq(p.time2wait, 2);
    ck_assert_uint_eq(p.time2retain, 20);
    ck_assert_uint_eq(p.max_outstanding_r2t, 1);
    ck_assert(p.data_pdu_in_order);
    ck_assert(p.data_seq_in_order);
    ck_assert_uint_eq(p.erl, 0);
}
END_TEST

START_TEST(test_digests)
{
    ck_assert_str_eq(nego("HeaderDigest", "CRC32C,None"), "CRC32C");
    ck_assert(params.header_digest);
    ck_assert_str_eq(nego("DataDigest", "None,CRC32C"), "None");
    ck_assert(!params.data_digest);
    neg_teardown();
    neg_setup();
    ck_assert_str_eq(nego("HeaderDigest", "MD5,Foo"), "Reject");
    ck_assert_str_eq(nego("DataDigest", "CRC32C"), "CRC32C");
    neg_teardown();
    neg_setup();
    lim.allow_digests = false;
    ck_assert_str_eq(nego("HeaderDigest", "CRC32C,None"), "None");
}
END_TEST

START_TEST(test_numeric_results)
{
    ck_assert_str_eq(nego("MaxBurstLength", "16776192"), "1048576");
    ck_assert_uint_eq(params.max_burst, 1048576);
    ck_assert_str_eq(nego("FirstBurstLength", "65536"), "65536");
    ck_assert_str_eq(nego("MaxOutstandingR2T", "1"), "1");
    ck_assert_str_eq(nego("DefaultTime2Wait", "0"), "2");   /* max */
    ck_assert_str_eq(nego("DefaultTime2Retain", "0"), "0"); /* min */
    ck_assert_str_eq(nego("ErrorRecoveryLevel", "2"), "0");
    ck_assert_str_eq(nego("MaxConnections", "8"), "1");
    ck_assert_str_eq(nego("MaxRecvDataSegmentLength", "131072"), "262144");
    ck_assert_uint_eq(params.max_send_dsl, 131072);
    ck_assert_uint_eq(params.max_recv_dsl, 262144);
}
END_TEST

START_TEST(test_numeric_bounds)
{
    ck_assert_str_eq(nego("MaxBurstLength", "511"), "Reject");
    ck_assert_uint_eq(params.max_burst, 262144); /* default kept */
    ck_assert_str_eq(nego("FirstBurstLength", "16777216"), "Reject");
    ck_assert_str_eq(nego("DefaultTime2Wait", "3601"), "Reject");
    ck_assert_str_eq(nego("MaxOutstandingR2T", "0"), "Reject");
    ck_assert_str_eq(nego("MaxConnections", "65536"), "Reject");
    ck_assert_str_eq(nego("ErrorRecoveryLevel", "x"), "Reject");
    ck_assert_str_eq(nego("MaxRecvDataSegmentLength", "0x200"), "262144");
    ck_assert_uint_eq(params.max_send_dsl, 512);
    ck_assert_str_eq(nego("DefaultTime2Retain", "99999999999999999999999"), "Reject");
}
END_TEST

START_TEST(test_first_burst_le_max_burst)
{
    ck_assert_str_eq(nego("MaxBurstLength", "4096"), "4096");
    ck_assert_str_eq(nego("FirstBurstLength", "65536"), "4096");
    iscsi_negotiation_finish(&neg, &out);
    ck_assert_uint_le(params.first_burst, params.max_burst);
}
END_TEST

START_TEST(test_booleans)
{
    ck_assert_str_eq(nego("InitialR2T", "No"), "No"); /* OR with our No */
    ck_assert(!params.initial_r2t);
    ck_assert_str_eq(nego("ImmediateData", "Yes"), "Yes");
    ck_assert_str_eq(nego("DataPDUInOrder", "No"), "Yes"); /* OR with our Yes */
    ck_assert_str_eq(nego("DataSequenceInOrder", "No"), "Yes");
    ck_assert_str_eq(nego("IFMarker", "Yes"), "No");
    neg_teardown();
    neg_setup();
    lim.initial_r2t = true;
    lim.immediate_data = false;
    ck_assert_str_eq(nego("InitialR2T", "No"), "Yes");
    ck_assert_str_eq(nego("ImmediateData", "Yes"), "No");
    ck_assert_str_eq(nego("InitialR2T2", "Yes"), "NotUnderstood");
    neg_teardown();
    neg_setup();
    ck_assert_str_eq(nego("InitialR2T", "maybe"), "Reject");
}
END_TEST

START_TEST(test_declaratives_and_unknown)
{
    ck_assert_str_eq(nego("InitiatorName", "iqn.1994-05.com.example:a"), "");
    ck_assert_str_eq(params.initiator_name, "iqn.1994-05.com.example:a");
    ck_assert_str_eq(nego("InitiatorAlias", "host a"), "");
    ck_assert_str_eq(nego("TargetName", "iqn.2026-11.org.poold:p"), "");
    ck_assert_str_eq(nego("SessionType", "Discovery"), "");
    ck_assert_int_eq(params.session_type, ISCSI_SESSION_DISCOVERY);
    ck_assert_str_eq(nego("X-com.example.foo", "1"), "NotUnderstood");
    ck_assert_str_eq(nego("Whatever", "1"), "NotUnderstood");
    ck_assert_str_eq(nego("TargetAddress", "1.2.3.4"), "Irrelevant");
    ck_assert_str_eq(nego("TargetPortalGroupTag", "1"), "Irrelevant");
    ck_assert_str_eq(nego("TaskReporting", "ResponseFence,RFC3720"), "RFC3720");
    ck_assert_str_eq(nego("iSCSIProtocolLevel", "2"), "1");
    ck_assert_int_eq(iscsi_negotiate_key(&neg, "AuthMethod", "None", &out), ISCSI_NEG_SECURITY);
    ck_assert_int_eq(iscsi_negotiate_key(&neg, "CHAP_A", "5", &out), ISCSI_NEG_SECURITY);
    /* bad values for declaratives are protocol errors */
    ck_assert_int_eq(iscsi_negotiate_key(&neg, "SessionType", "Bogus", &out), ISCSI_NEG_ERROR);
    ck_assert_int_eq(iscsi_negotiate_key(&neg, "InitiatorName", "not-a-name", &out),
                     ISCSI_NEG_ERROR);
}
END_TEST

START_TEST(test_renegotiation_error)
{
    ck_assert_str_eq(nego("MaxBurstLength", "65536"), "65536");
    ck_assert_int_eq(iscsi_negotiate_key(&neg, "MaxBurstLength", "65536", &out), ISCSI_NEG_ERROR);
    /* the same name declared twice identically is fine */
    ck_assert_str_eq(nego("InitiatorName", "iqn.1994-05.com.example:a"), "");
    ck_assert_str_eq(nego("InitiatorName", "iqn.1994-05.com.example:a"), "");
    ck_assert_int_eq(iscsi_negotiate_key(&neg, "InitiatorName", "iqn.1994-05.com.example:b", &out),
                     ISCSI_NEG_ERROR);
}
END_TEST

START_TEST(test_mrdsl_declared_once)
{
    iscsi_negotiation_finish(&neg, &out);
    ck_assert(iscsi_text_has_key(&out, "MaxRecvDataSegmentLength"));
    size_t len = out.len;
    iscsi_negotiation_finish(&neg, &out);
    ck_assert_uint_eq(out.len, len);
}
END_TEST

START_TEST(test_names)
{
    ck_assert(iscsi_name_valid("iqn.2026-11.org.poold:pool1"));
    ck_assert(iscsi_name_valid("eui.02004567A425678D"));
    ck_assert(iscsi_name_valid("naa.52004567BA64678D"));
    ck_assert(!iscsi_name_valid("iqn."));
    ck_assert(!iscsi_name_valid("foo.bar"));
    ck_assert(!iscsi_name_valid("iqn.2026-11.org.poold:a b"));
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    memcpy(longname, "iqn.", 4);
    longname[224] = '\0';
    ck_assert(!iscsi_name_valid(longname));
    longname[223] = '\0';
    ck_assert(iscsi_name_valid(longname));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iscsi_text");
    TCase *tp = tcase_create("parse");
    TCase *tn = tcase_create("negotiate");

    tcase_add_test(tp, test_parse_basic);
    tcase_add_test(tp, test_parse_limits);
    tcase_add_test(tp, test_defaults);
    tcase_add_test(tp, test_names);
    tcase_add_checked_fixture(tn, neg_setup, neg_teardown);
    tcase_add_test(tn, test_digests);
    tcase_add_test(tn, test_numeric_results);
    tcase_add_test(tn, test_numeric_bounds);
    tcase_add_test(tn, test_first_burst_le_max_burst);
    tcase_add_test(tn, test_booleans);
    tcase_add_test(tn, test_declaratives_and_unknown);
    tcase_add_test(tn, test_renegotiation_error);
    tcase_add_test(tn, test_mrdsl_declared_once);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, tn);
    return test_run_suite(s);
}
