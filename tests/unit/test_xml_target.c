// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_xml_target.c: the target document (ACL and CHAP of a pool's iSCSI
 * target) and the iSCSI name / CHAP credential validators.
 *
 * Why these tests: the document is access control. A name the validator
 * lets through that no initiator can send locks a host out; a parser that
 * drops an element it does not know opens the target. So we pin down that
 *   - parse(format(x)) == x, with secrets (the stored record) and that the
 *     secret-free form really carries no secret;
 *   - every target-*.xml example parses, every target-*-invalid.xml is
 *     refused by the C parser too, and the formatter's output validates
 *     against xml-schemas/target.rng;
 *   - RFC 3720/7143 names: iqn. with a date and reversed domain in lower
 *     case, eui. with 16 hex digits, naa. with 16 or 32;
 *   - CHAP secrets of 12..255 printable bytes, different both ways.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "test_support.h"

static poolTargetDef *parse(const char *xml)
{
    return pool_target_def_parse_string(xml, strlen(xml));
}

START_TEST(test_names)
{
    static const char *const good[] = {
        "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test",
        "iqn.1993-08.org.debian:01:abcdef012345",
        "iqn.2001-04.com.example",
        "iqn.2026-11.org.poold:pool1.x-y",
        "eui.02004567A425678D",
        "eui.02004567a425678d",
        "naa.52004567BA64678D",
        "naa.52004567BA64678D52004567BA64678D",
    };
    static const char *const bad[] = {
        "",
        "iqn.",
        "iqn.2007.com.x",
        "iqn.2007-13.com.x",
        "iqn.2007-00.com.x",
        "iqn.07-10.com.x",
        "iqn.2007-10",
        "iqn.2007-10.",
        "iqn.2007-10.com..x",
        "iqn.2007-10.Com.x",
        "iqn.2007-10.com.x:",
        "iqn.2007-10.com.x:Upper",
        "iqn.2007-10.com.x:has space",
        "iqn.2007-10.com.x:under_score",
        "eui.123",
        "eui.02004567A425678DXX",
        "eui.02004567A425678G",
        "naa.1234",
        "naa.52004567BA64678D5",
        "host.example.com",
        "IQN.2007-10.com.x",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(pool_iscsi_name_validate(good[i]) == 0, "refused %s: %s", good[i],
                      pool_error_last_message());
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(pool_iscsi_name_validate(bad[i]) == -1, "accepted '%s'", bad[i]);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    }
    /* 223 bytes is the limit */
    char longname[300];
    strcpy(longname, "iqn.2001-04.com.example:");
    while (strlen(longname) < 223)
        strcat(longname, "a");
    ck_assert_int_eq(pool_iscsi_name_validate(longname), 0);
    strcat(longname, "a");
    ck_assert_int_eq(pool_iscsi_name_validate(longname), -1);
}
END_TEST

START_TEST(test_credentials)
{
    ck_assert_int_eq(pool_chap_user_validate("alice"), 0);
    ck_assert_int_eq(pool_chap_user_validate(""), -1);
    ck_assert_int_eq(pool_chap_user_validate("has space"), -1);
    ck_assert_int_eq(pool_chap_secret_validate("123456789012", 12), 0);
    ck_assert_int_eq(pool_chap_secret_validate("12345678901", 11), -1);
    /* the message never quotes the secret */
    ck_assert_ptr_null(strstr(pool_error_last_message(), "12345678901"));
    ck_assert_int_eq(pool_chap_secret_validate("123456 789012", 13), -1);
    ck_assert_int_eq(pool_chap_secret_validate("1234567890\n12", 13), -1);
    ck_assert_int_eq(pool_chap_secret_validate("1234567890\0"
                                               "12",
                                               13),
                     -1);
    char big[300];
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(pool_chap_secret_validate(big, 255), 0);
    ck_assert_int_eq(pool_chap_secret_validate(big, 256), -1);
}
END_TEST

static const char full_doc[] = "<target pool=\"pool1\">\n"
                               "  <acl>\n"
                               "    <initiator name=\"iqn.1993-08.org.debian:01:a\"/>\n"
                               "    <initiator name=\"eui.02004567A425678D\"/>\n"
                               "  </acl>\n"
                               "  <chap>\n"
                               "    <initiator user=\"kvm\" secret=\"initiator-secret-1\"/>\n"
                               "    <mutual user=\"tgt\" secret=\"target-secret-22\"/>\n"
                               "  </chap>\n"
                               "</target>\n";

START_TEST(test_round_trip)
{
    POOL_AUTOPTR(poolTargetDef) def = parse(full_doc);
    ck_assert_msg(def != NULL, "%s", pool_error_last_message());
    ck_assert_str_eq(def->pool, "pool1");
    ck_assert_uint_eq(pool_strv_length(def->acl), 2);
    ck_assert_str_eq(def->chap_user, "kvm");
    ck_assert_str_eq(def->chap_secret, "initiator-secret-1");
    ck_assert_str_eq(def->mutual_user, "tgt");
    ck_assert_str_eq(def->mutual_secret, "target-secret-22");
    ck_assert_int_eq(pool_target_def_check_stored(def), 0);
    POOL_AUTOFREE(char *) xml = pool_target_def_format(def, true);
    ck_assert_str_eq(xml, full_doc);

    /* without secrets: users kept, secrets gone; parses, but is not a
     * record poold would load */
    POOL_AUTOFREE(char *) bare = pool_target_def_format(def, false);
    ck_assert_ptr_null(strstr(bare, "secret"));
    POOL_AUTOPTR(poolTargetDef) b = parse(bare);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b->chap_user, "kvm");
    ck_assert_ptr_null(b->chap_secret);
    ck_assert_int_eq(pool_target_def_check_stored(b), -1);

    /* output-only parts: iqn (shape only: pool names may hold '_') and
     * portals with tags 1, 2, ... */
    const char *info = "<target pool=\"p_1\"><iqn>iqn.2026-11.org.poold:p_1</iqn>"
                       "<portal tag=\"1\" address=\"127.0.0.1:3260\"/>"
                       "<portal tag=\"2\" address=\"[::1]:3261\"/></target>";
    POOL_AUTOPTR(poolTargetDef) i = parse(info);
    ck_assert_msg(i != NULL, "%s", pool_error_last_message());
    ck_assert_uint_eq(pool_strv_length(i->portals), 2);
    ck_assert_str_eq(i->portals[1], "[::1]:3261");
    POOL_AUTOFREE(char *) x2 = pool_target_def_format(i, false);
    POOL_AUTOPTR(poolTargetDef) i2 = parse(x2);
    ck_assert_ptr_nonnull(i2);
    ck_assert_str_eq(i2->iqn, "iqn.2026-11.org.poold:p_1");

    /* an empty <acl/> (anyone) formats back as an empty <acl/> */
    POOL_AUTOPTR(poolTargetDef) e = parse("<target pool=\"p\"><acl/></target>");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(e->acl);
    ck_assert_ptr_null(e->acl[0]);
}
END_TEST

START_TEST(test_bad_documents)
{
    static const char *const bad[] = {
        "<target/>",
        "<target pool=\"bad name\"/>",
        "<target pool=\"p\" extra=\"1\"/>",
        "<pool pool=\"p\"/>",
        "<target pool=\"p\"><acls/></target>",
        "<target pool=\"p\"><acl><initiator/></acl></target>",
        "<target pool=\"p\"><acl><initiator name=\"nope\"/></acl></target>",
        "<target pool=\"p\"><acl><initiator name=\"eui.02004567A425678D\"/>"
        "<initiator name=\"eui.02004567A425678D\"/></acl></target>",
        "<target pool=\"p\"><acl/><acl/></target>",
        "<target pool=\"p\"><acl>text</acl></target>",
        "<target pool=\"p\"><chap/></target>",
        "<target pool=\"p\"><chap><mutual user=\"t\" secret=\"target-secret-22\"/></chap></target>",
        "<target pool=\"p\"><chap><initiator user=\"u\" secret=\"short\"/></chap></target>",
        "<target pool=\"p\"><chap><initiator user=\"u\" secret=\"same-secret-123\"/>"
        "<mutual user=\"t\" secret=\"same-secret-123\"/></chap></target>",
        "<target pool=\"p\"><chap><initiator user=\"u\" secret=\"has space "
        "12345\"/></chap></target>",
        "<target pool=\"p\"><chap><initiator user=\"u\"/><initiator user=\"v\"/></chap></target>",
        "<target pool=\"p\"><chap><initiator user=\"u\" pass=\"x\"/></chap></target>",
        "<target pool=\"p\"><portal tag=\"2\" address=\"127.0.0.1:1\"/></target>",
        "<target pool=\"p\"><portal tag=\"1\" address=\"127.0.0.1\"/></target>",
        "<target pool=\"p\"><iqn>not-an-iqn</iqn></target>",
        "<target pool=\"p\"><iqn>iqn.a</iqn><iqn>iqn.b</iqn></target>",
        "<!DOCTYPE target [<!ENTITY x \"y\">]><target pool=\"p\"/>",
        "<target pool=\"p\">",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        poolTargetDef *def = parse(bad[i]);
        ck_assert_msg(def == NULL, "accepted: %s", bad[i]);
        ck_assert_msg(pool_error_last_code() == POOL_ERR_XML, "case %zu: code %d (%s)", i,
                      pool_error_last_code(), pool_error_last_message());
        /* messages never quote a secret */
        ck_assert_ptr_null(strstr(pool_error_last_message(), "same-secret-123"));
    }
}
END_TEST

/* Every target-*.xml example: the C parser agrees with the schema, and what
 * the formatter writes validates against target.rng. */
START_TEST(test_examples)
{
    char dir[4096], rng[4096], path[8192];
    snprintf(dir, sizeof(dir), "%s/xml-schemas/examples", test_srcdir());
    snprintf(rng, sizeof(rng), "%s/xml-schemas/target.rng", test_srcdir());
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *de;
    int seen = 0, invalid = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "target-", 7) != 0)
            continue;
        size_t l = strlen(de->d_name);
        if (l < 4 || strcmp(de->d_name + l - 4, ".xml") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        char *text = NULL;
        size_t len = 0;
        ck_assert_int_eq(pool_file_read_all(path, 1 << 20, &text, &len), 0);
        poolTargetDef *def = pool_target_def_parse_string(text, len);
        bool want_invalid = l > 12 && strcmp(de->d_name + l - 12, "-invalid.xml") == 0;
        if (want_invalid) {
            ck_assert_msg(def == NULL, "%s: accepted by the C parser", de->d_name);
            invalid++;
        } else {
            ck_assert_msg(def != NULL, "%s: %s", de->d_name, pool_error_last_message());
            char *out = pool_target_def_format(def, true);
            ck_assert_ptr_nonnull(out);
            ck_assert_msg(pool_xml_validate_string(out, strlen(out), rng) == 0, "%s: %s",
                          de->d_name, pool_error_last_message());
            free(out);
        }
        pool_target_def_free(def);
        free(text);
        seen++;
    }
    closedir(d);
    ck_assert_int_ge(seen, 6);
    ck_assert_int_ge(invalid, 3);
}
END_TEST

/* The volume document's optional export state. */
START_TEST(test_volume_export_state)
{
#define VOL_DOC(extra)                                                                             \
    "<volume><name>v</name><uuid>0d5c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5c</uuid>"                      \
    "<pool>p</pool><capacity>4194304</capacity><format type=\"raw\"/>"                             \
    "<created>1</created>%s</volume>",                                                             \
        extra
    char xml[1024];
    snprintf(xml, sizeof(xml), VOL_DOC(""));
    POOL_AUTOPTR(poolVolDef) old = pool_vol_def_parse_string(xml, strlen(xml));
    ck_assert_ptr_nonnull(old);
    ck_assert_int_eq(old->export_state, POOL_VOL_EXPORT_UNKNOWN);
    POOL_AUTOFREE(char *) f0 = pool_vol_def_format(old);
    ck_assert_ptr_null(strstr(f0, "export"));

    snprintf(xml, sizeof(xml), VOL_DOC("<export state=\"off\"/>"));
    POOL_AUTOPTR(poolVolDef) off = pool_vol_def_parse_string(xml, strlen(xml));
    ck_assert_ptr_nonnull(off);
    ck_assert_int_eq(off->export_state, POOL_VOL_EXPORT_OFF);
    POOL_AUTOFREE(char *) f1 = pool_vol_def_format(off);
    ck_assert_ptr_nonnull(strstr(f1, "<export state=\"off\"/>"));
    off->export_state = POOL_VOL_EXPORT_ON;
    POOL_AUTOFREE(char *) f2 = pool_vol_def_format(off);
    ck_assert_ptr_nonnull(strstr(f2, "<export state=\"on\"/>"));

    /* write modes: rw is the default and is not written out */
    snprintf(xml, sizeof(xml), VOL_DOC("<export state=\"on\" mode=\"ro\"/>"));
    POOL_AUTOPTR(poolVolDef) ro = pool_vol_def_parse_string(xml, strlen(xml));
    ck_assert_ptr_nonnull(ro);
    ck_assert_int_eq(ro->export_mode, POOL_VOL_MODE_RO);
    POOL_AUTOFREE(char *) f3 = pool_vol_def_format(ro);
    ck_assert_ptr_nonnull(strstr(f3, "<export state=\"on\" mode=\"ro\"/>"));
    ro->export_mode = POOL_VOL_MODE_SHARED;
    POOL_AUTOFREE(char *) f4 = pool_vol_def_format(ro);
    ck_assert_ptr_nonnull(strstr(f4, "mode=\"shared\""));
    ro->export_mode = POOL_VOL_MODE_RW;
    POOL_AUTOFREE(char *) f5 = pool_vol_def_format(ro);
    ck_assert_ptr_null(strstr(f5, "mode="));
    ro->export_mode = 7;
    ck_assert_ptr_null(pool_vol_def_format(ro));
    int mode = -1;
    ck_assert_int_eq(pool_vol_mode_parse("shared", &mode), 0);
    ck_assert_int_eq(mode, POOL_VOL_MODE_SHARED);
    ck_assert_int_eq(pool_vol_mode_parse("RW", &mode), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "expected rw, ro or shared"));

    static const char *const bad[] = {
        "<export state=\"maybe\"/>",           "<export/>",
        "<export state=\"on\">x</export>",     "<export state=\"on\"/><export state=\"on\"/>",
        "<export state=\"on\" mode=\"rwx\"/>", "<export state=\"on\" mode=\"\"/>",
        "<export state=\"on\" other=\"ro\"/>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(xml, sizeof(xml), VOL_DOC(bad[i]));
        ck_assert_msg(pool_vol_def_parse_string(xml, strlen(xml)) == NULL, "accepted %s", bad[i]);
    }
}
END_TEST

static Suite *target_suite(void)
{
    Suite *s = suite_create("xml_target");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_credentials);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bad_documents);
    tcase_add_test(tc, test_examples);
    tcase_add_test(tc, test_volume_export_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    xmlInitParser();
    int status = test_run_suite(target_suite());
    xmlCleanupParser();
    return status;
}
