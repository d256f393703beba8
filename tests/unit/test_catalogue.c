// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_catalogue.c: the catalogue of operations (libpool/proto_catalogue.c).
 *
 * Why these tests: poolctl builds its commands and poold checks requests
 * from this one table, so a slip in it (an op twice, two commands with the
 * same words, a parameter name a request cannot carry, an argument poolctl
 * cannot parse) would break both programs at once, or only show when
 * someone types that command. The table-against-table check both programs
 * run at start is tested here with good and broken tables.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-proto.h"
#include "pool-xml.h"
#include "test_support.h"

/* request.rng's protoName: what an op or a param name may be. */
static bool proto_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static size_t count_ops(void)
{
    size_t n = 0;
    while (pool_catalogue[n].op)
        n++;
    return n;
}

START_TEST(test_ops_unique_and_named)
{
    ck_assert_uint_gt(count_ops(), 0);
    for (const poolOpSpec *s = pool_catalogue; s->op; s++) {
        ck_assert_msg(proto_name_ok(s->op), "op '%s' is no protocol name", s->op);
        ck_assert_msg(s->summary && *s->summary, "%s: no summary", s->op);
        ck_assert_ptr_nonnull(s->args);
        ck_assert_msg(pool_catalogue_find(s->op) == s, "op '%s' is in the catalogue twice", s->op);
    }
    ck_assert_ptr_null(pool_catalogue_find("format-disk"));
    ck_assert_ptr_null(pool_catalogue_find(NULL));
}
END_TEST

START_TEST(test_cli_words_unique)
{
    for (const poolOpSpec *s = pool_catalogue; s->op; s++) {
        ck_assert_msg((s->group == NULL) == (s->verb == NULL), "%s: group without verb", s->op);
        if (!s->group)
            continue;
        ck_assert_msg(*s->group && *s->verb, "%s: empty command words", s->op);
        for (const poolOpSpec *t = pool_catalogue; t < s; t++)
            ck_assert_msg(!t->group || strcmp(t->group, s->group) != 0 ||
                              strcmp(t->verb, s->verb) != 0,
                          "'%s %s' names both %s and %s", s->group, s->verb, t->op, s->op);
    }
}
END_TEST

START_TEST(test_args_well_formed)
{
    for (const poolOpSpec *s = pool_catalogue; s->op; s++) {
        size_t n = 0;
        bool multi = false;
        for (const poolOpArg *a = s->args; a->param; a++, n++) {
            ck_assert_msg(proto_name_ok(a->param), "%s: param '%s' is no protocol name", s->op,
                          a->param);
            ck_assert_msg(pool_catalogue_arg(s, a->param) == a, "%s: param '%s' twice", s->op,
                          a->param);
            ck_assert_msg(a->help && *a->help, "%s: param '%s' has no help", s->op, a->param);
            if (a->kind == POOL_ARG_PROTOCOL) {
                ck_assert_msg(a->name == NULL, "%s: protocol param '%s' has a poolctl name", s->op,
                              a->param);
                continue;
            }
            ck_assert_msg(s->group, "%s: no poolctl command but poolctl argument '%s'", s->op,
                          a->param);
            ck_assert_msg(a->name && *a->name, "%s: param '%s' has no poolctl name", s->op,
                          a->param);
            bool positional =
                a->kind == POOL_ARG_POSITIONAL || a->kind == POOL_ARG_POSITIONAL_MULTI;
            /* a multi positional takes every remaining word */
            ck_assert_msg(!(positional && multi), "%s: positional '%s' after a repeated one", s->op,
                          a->name);
            if (a->kind == POOL_ARG_POSITIONAL_MULTI)
                multi = true;
            if (positional)
                continue;
            ck_assert_msg(proto_name_ok(a->name), "%s: option --%s is no plain word", s->op,
                          a->name);
            for (const poolOpArg *b = s->args; b < a; b++)
                ck_assert_msg(b->kind == POOL_ARG_PROTOCOL || !b->name ||
                                  strcmp(b->name, a->name) != 0,
                              "%s: option --%s twice", s->op, a->name);
        }
        ck_assert_msg(n <= POOL_OP_ARGS_MAX, "%s: more than %d arguments", s->op, POOL_OP_ARGS_MAX);
    }
    ck_assert_ptr_null(pool_catalogue_arg(pool_catalogue_find("pool-list"), "name"));
    ck_assert_ptr_nonnull(pool_catalogue_arg(pool_catalogue_find("vm-stop"), "shutdown"));
}
END_TEST

/* request.rng does not list the ops (requests keep one shape so a new op
 * needs no schema change): instead every op, with every param it takes,
 * must make a request the schema accepts. */
START_TEST(test_requests_valid)
{
    POOL_AUTOFREE(char *) rng = NULL;
    ck_assert_int_ge(asprintf(&rng, "%s/xml-schemas/request.rng", test_srcdir()), 0);
    for (const poolOpSpec *s = pool_catalogue; s->op; s++) {
        POOL_AUTOPTR(poolRequest) req = pool_request_new(s->op);
        ck_assert_ptr_nonnull(req);
        req->id = 1;
        for (const poolOpArg *a = s->args; a->param; a++)
            ck_assert_int_eq(pool_request_add(req, a->param, "x"), 0);
        size_t len = 0;
        POOL_AUTOFREE(char *) xml = pool_request_format(req, &len);
        ck_assert_ptr_nonnull(xml);
        ck_assert_msg(pool_xml_validate_string(xml, len, rng) == 0, "%s: %s\n%s", s->op,
                      pool_error_last_message(), xml);
        POOL_AUTOPTR(poolRequest) back = pool_request_parse(xml, len);
        ck_assert_msg(back != NULL, "%s: %s", s->op, pool_error_last_message());
    }
}
END_TEST

/* A table naming every op, as poold's handler tables must. */
static const char **all_ops(size_t *n, bool cli_only)
{
    const char **names = calloc(count_ops() + 2, sizeof(*names));
    ck_assert_ptr_nonnull(names);
    *n = 0;
    for (const poolOpSpec *s = pool_catalogue; s->op; s++)
        if (!cli_only || s->group)
            names[(*n)++] = s->op;
    return names;
}

START_TEST(test_check_table)
{
    size_t n;
    POOL_AUTOFREE(const char **) names = all_ops(&n, false);
    ck_assert_int_eq(pool_catalogue_check_table(names, n, false, "t"), 0);

    /* one missing */
    ck_assert_int_eq(pool_catalogue_check_table(names, n - 1, false, "t"), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INTERNAL);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), names[n - 1]));

    /* one twice */
    names[n] = names[0];
    ck_assert_int_eq(pool_catalogue_check_table(names, n + 1, false, "t"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "twice"));

    /* one the catalogue does not know */
    names[n] = "format-disk";
    ck_assert_int_eq(pool_catalogue_check_table(names, n + 1, false, "t"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "format-disk"));

    size_t ncli;
    POOL_AUTOFREE(const char **) cli = all_ops(&ncli, true);
    ck_assert_int_eq(pool_catalogue_check_table(cli, ncli, true, "t"), 0);
}
END_TEST

/* Every op says what poold holds while it runs (docs/design.md
 * "Concurrency"); reads never take a pool's mutex, so they never wait
 * behind a lease wait. */
START_TEST(test_lock_classes)
{
    ck_assert_int_eq(pool_catalogue_check_locks(), 0);
    for (const poolOpSpec *s = pool_catalogue; s->op; s++)
        ck_assert_msg(s->lock >= POOL_OP_LOCK_NONE && s->lock <= POOL_OP_LOCK_GLOBAL,
                      "%s has no lock class", s->op);
    ck_assert_int_eq(pool_catalogue_find("daemon-version")->lock, POOL_OP_LOCK_NONE);
    static const char *const reads[] = {"pool-list",   "pool-info", "volume-list",
                                        "volume-info", "host-list", "lease-status",
                                        "target-info", "vm-list",   "vm-show"};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        ck_assert_msg(pool_catalogue_find(reads[i])->lock == POOL_OP_LOCK_READ, "%s", reads[i]);
    ck_assert_int_eq(pool_catalogue_find("volume-create")->lock, POOL_OP_LOCK_POOL);
    ck_assert_int_eq(pool_catalogue_find("vm-start")->lock, POOL_OP_LOCK_VM);
    ck_assert_int_eq(pool_catalogue_find("pool-create")->lock, POOL_OP_LOCK_GLOBAL);
}
END_TEST

static Suite *catalogue_suite(void)
{
    Suite *s = suite_create("catalogue");
    TCase *tc = tcase_create("catalogue");
    tcase_add_test(tc, test_ops_unique_and_named);
    tcase_add_test(tc, test_cli_words_unique);
    tcase_add_test(tc, test_args_well_formed);
    tcase_add_test(tc, test_requests_valid);
    tcase_add_test(tc, test_check_table);
    tcase_add_test(tc, test_lock_classes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(catalogue_suite());
}
