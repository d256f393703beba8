// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_dispatch.c: poold's handler tables against the catalogue of
 * operations, and the request checks poold makes before any handler runs.
 *
 * Why these tests: an op of the catalogue without a handler would make
 * poolctl offer a command poold calls unknown, and a handler for an op the
 * catalogue lacks could never get its params past the check. poold refuses
 * to start then; this test says so at build time. Only requests refused
 * before a handler runs are sent, so no daemon state is needed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pool-error.h"
#include "pool-proto.h"
#include "poold.h"
#include "test_support.h"

START_TEST(test_tables_cover_catalogue)
{
    ck_assert_msg(poold_dispatch_check() == 0, "%s", pool_error_last_message());
}
END_TEST

/* The error message of poold's reply to `payload`. */
static char *reply_error(const char *payload)
{
    poolDaemon d = {0};
    xmlDocPtr doc = poold_dispatch(&d, payload, strlen(payload));
    ck_assert_ptr_nonnull(doc);
    size_t len = 0;
    char *text = pool_reply_format(doc, &len);
    xmlFreeDoc(doc);
    ck_assert_ptr_nonnull(text);
    xmlDocPtr ok = pool_reply_parse(text, len, 1);
    free(text);
    ck_assert_msg(ok == NULL, "request accepted: %s", payload);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
    return strdup(pool_error_last_message());
}

START_TEST(test_unknown_op)
{
    char *m = reply_error("<request id=\"1\" op=\"format-disk\"/>");
    ck_assert_str_eq(m, "unknown operation 'format-disk'");
    free(m);
}
END_TEST

START_TEST(test_param_not_in_catalogue)
{
    /* pool-list takes no params; vm-stop takes pool and name, not volume */
    char *m = reply_error("<request id=\"1\" op=\"pool-list\"><param name=\"evil\">1</param>"
                          "</request>");
    ck_assert_str_eq(m, "operation pool-list does not take a parameter 'evil'");
    free(m);
    m = reply_error("<request id=\"1\" op=\"vm-stop\"><param name=\"pool\">p</param>"
                    "<param name=\"volume\">v</param></request>");
    ck_assert_str_eq(m, "operation vm-stop does not take a parameter 'volume'");
    free(m);
}
END_TEST

static Suite *dispatch_suite(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("dispatch");
    tcase_add_test(tc, test_tables_cover_catalogue);
    tcase_add_test(tc, test_unknown_op);
    tcase_add_test(tc, test_param_not_in_catalogue);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(dispatch_suite());
}
