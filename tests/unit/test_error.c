// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_error.c: the thread-local error slot.
 *
 * Every poolctl exit status and every error that crosses the socket goes
 * through these functions, so the tests pin down the contract callers rely
 * on: code names and exit codes are stable, the slot is per thread, prefixes
 * keep the original code and location, and reporting never clobbers errno.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "pool-error.h"
#include "test_support.h"

START_TEST(test_report_and_last)
{
    const poolError *e;
    int line;

    pool_error_reset();
    ck_assert_ptr_null(pool_error_last());
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_OK);
    ck_assert_str_eq(pool_error_last_message(), "unknown error");

    line = __LINE__ + 1;
    pool_error(POOL_ERR_NO_VOLUME, "volume '%s' not found in pool %d", "web01", 7);
    e = pool_error_last();
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->code, POOL_ERR_NO_VOLUME);
    ck_assert_str_eq(e->message, "volume 'web01' not found in pool 7");
    ck_assert_ptr_nonnull(strstr(e->file, "test_error.c"));
    /* Check's START_TEST names the function "<test>_fn". */
    ck_assert_ptr_nonnull(strstr(e->func, "test_report_and_last"));
    ck_assert_int_eq(e->line, line);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VOLUME);
    ck_assert_str_eq(pool_error_last_message(), "volume 'web01' not found in pool 7");

    /* A new report replaces the old one. */
    pool_error(POOL_ERR_BUSY, "second");
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_BUSY);
    ck_assert_str_eq(pool_error_last_message(), "second");

    pool_error_reset();
    ck_assert_ptr_null(pool_error_last());
}
END_TEST

START_TEST(test_trailing_newline_stripped)
{
    pool_error(POOL_ERR_LVM, "lvcreate failed\n\n");
    ck_assert_str_eq(pool_error_last_message(), "lvcreate failed");
}
END_TEST

START_TEST(test_errno_message_and_preserved)
{
    errno = EBUSY;
    pool_error_errno(ENOENT, "cannot open '%s'", "/nope");
    ck_assert_int_eq(errno, EBUSY);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert_str_eq(pool_error_last_message(), "cannot open '/nope': No such file or directory");

    errno = EACCES;
    pool_error(POOL_ERR_CONFIG, "x");
    ck_assert_int_eq(errno, EACCES);
    pool_error_prefix("p");
    ck_assert_int_eq(errno, EACCES);
    pool_error_reset();
    ck_assert_int_eq(errno, EACCES);
}
END_TEST

START_TEST(test_prefix)
{
    const poolError *e;
    int line;

    line = __LINE__ + 1;
    pool_error(POOL_ERR_NO_SPACE, "need 10 extents, have 3");
    pool_error_prefix("volume %s", "web01");
    pool_error_prefix("pool %s", "pool1");
    e = pool_error_last();
    ck_assert_int_eq(e->code, POOL_ERR_NO_SPACE);
    ck_assert_str_eq(e->message, "pool pool1: volume web01: need 10 extents, have 3");
    ck_assert_int_eq(e->line, line);

    /* Prefix with no error recorded is itself reported, not dropped. */
    pool_error_reset();
    pool_error_prefix("lost");
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INTERNAL);
    ck_assert_str_eq(pool_error_last_message(), "lost: unknown error");
}
END_TEST

START_TEST(test_set_and_copy)
{
    poolError *copy;
    const poolError *e;

    pool_error_set(POOL_ERR_PERMISSION, "peer uid 1000 not allowed", "server.c", "accept_client",
                   42);
    e = pool_error_last();
    ck_assert_int_eq(e->code, POOL_ERR_PERMISSION);
    ck_assert_str_eq(e->message, "peer uid 1000 not allowed");
    ck_assert_str_eq(e->file, "server.c");
    ck_assert_str_eq(e->func, "accept_client");
    ck_assert_int_eq(e->line, 42);

    copy = pool_error_copy(e);
    ck_assert_ptr_nonnull(copy);
    pool_error_reset();
    ck_assert_int_eq(copy->code, POOL_ERR_PERMISSION);
    ck_assert_str_eq(copy->message, "peer uid 1000 not allowed");
    ck_assert_str_eq(copy->file, "server.c");
    ck_assert_int_eq(copy->line, 42);

    /* Re-installing an error from the slot itself must not read freed memory. */
    pool_error_set(copy->code, copy->message, copy->file, copy->func, copy->line);
    pool_error_set(pool_error_last()->code, pool_error_last()->message, pool_error_last()->file,
                   pool_error_last()->func, pool_error_last()->line);
    ck_assert_str_eq(pool_error_last_message(), "peer uid 1000 not allowed");
    pool_error_free(copy);

    ck_assert_ptr_null(pool_error_copy(NULL));
    pool_error_free(NULL);

    /* NULL message from a broken peer still gives a printable error. */
    pool_error_set(POOL_ERR_PROTOCOL, NULL, NULL, NULL, 0);
    ck_assert_str_eq(pool_error_last_message(), "unknown error");
    ck_assert_str_eq(pool_error_last()->file, "");
}
END_TEST

START_TEST(test_save_restore)
{
    poolError *saved;

    /* The error being reported survives cleanup that reports its own. */
    pool_error_set(POOL_ERR_NO_SPACE, "not enough free extents", "volume_ops.c", "create", 7);
    saved = pool_error_save();
    ck_assert_ptr_nonnull(saved);
    pool_error(POOL_ERR_LVM, "lvremove failed");
    pool_error_restore(saved);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_SPACE);
    ck_assert_str_eq(pool_error_last_message(), "not enough free extents");
    ck_assert_str_eq(pool_error_last()->file, "volume_ops.c");
    ck_assert_str_eq(pool_error_last()->func, "create");
    ck_assert_int_eq(pool_error_last()->line, 7);

    /* Also across a reset in between. */
    saved = pool_error_save();
    pool_error_reset();
    pool_error_restore(saved);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_SPACE);

    /* Nothing saved: restore leaves whatever the cleanup reported. */
    pool_error_reset();
    saved = pool_error_save();
    ck_assert_ptr_null(saved);
    pool_error(POOL_ERR_BUSY, "cleanup failed");
    pool_error_restore(saved);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_BUSY);
    pool_error_reset();
    pool_error_restore(NULL);
    ck_assert_ptr_null(pool_error_last());
}
END_TEST

START_TEST(test_oom)
{
    ck_assert_int_eq(pool_error_oom(), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_MEMORY);
    ck_assert_str_eq(pool_error_last_message(), "out of memory");
    pool_error_prefix("while loading");
    ck_assert_str_eq(pool_error_last_message(), "while loading: out of memory");
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_MEMORY);
    pool_error_reset();
}
END_TEST

static const struct {
    poolErrorCode code;
    const char *name;
    int exit_code;
} code_table[] = {
    {POOL_ERR_OK, "ok", 0},
    {POOL_ERR_INTERNAL, "internal", 1},
    {POOL_ERR_NO_MEMORY, "no-memory", 1},
    {POOL_ERR_INVALID_ARG, "invalid-argument", 2},
    {POOL_ERR_SYSTEM, "system", 1},
    {POOL_ERR_CONFIG, "config", 2},
    {POOL_ERR_XML, "xml", 2},
    {POOL_ERR_PROTOCOL, "protocol", 6},
    {POOL_ERR_LVM, "lvm", 1},
    {POOL_ERR_NO_POOL, "no-pool", 3},
    {POOL_ERR_NO_VOLUME, "no-volume", 3},
    {POOL_ERR_EXISTS, "exists", 4},
    {POOL_ERR_BUSY, "busy", 4},
    {POOL_ERR_DEVICE, "device", 5},
    {POOL_ERR_NO_SPACE, "no-space", 5},
    {POOL_ERR_CONNECT, "connect", 6},
    {POOL_ERR_PERMISSION, "permission", 6},
    {POOL_ERR_UNSUPPORTED, "unsupported", 7},
    {POOL_ERR_TIMEOUT, "timeout", 1},
    {POOL_ERR_NO_VM, "no-vm", 3},
    {POOL_ERR_CONFLICT, "conflict", 4},
};

START_TEST(test_code_names_and_exit_codes)
{
    size_t n = sizeof(code_table) / sizeof(code_table[0]);

    ck_assert_int_eq(n, POOL_ERR_LAST);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(pool_error_code_name(code_table[i].code), code_table[i].name);
        ck_assert_int_eq(pool_error_code_from_name(code_table[i].name), code_table[i].code);
        ck_assert_int_eq(pool_error_exit_code(code_table[i].code), code_table[i].exit_code);
    }
    ck_assert_int_eq(pool_error_code_from_name("no-such-code"), -1);
    ck_assert_int_eq(pool_error_code_from_name(""), -1);
    ck_assert_int_eq(pool_error_code_from_name(NULL), -1);
    ck_assert_int_eq(pool_error_code_from_name("No-Volume"), -1);
    ck_assert_str_eq(pool_error_code_name(POOL_ERR_LAST), "unknown");
    ck_assert_str_eq(pool_error_code_name((poolErrorCode)-3), "unknown");
    ck_assert_int_eq(pool_error_exit_code(POOL_ERR_LAST), 1);
    ck_assert_int_eq(pool_error_exit_code((poolErrorCode)999), 1);
}
END_TEST

static void *thread_body(void *arg)
{
    (void)arg;
    /* A fresh thread starts without an error. */
    if (pool_error_last() != NULL)
        return (void *)1;
    pool_error(POOL_ERR_TIMEOUT, "thread error");
    if (pool_error_last_code() != POOL_ERR_TIMEOUT)
        return (void *)2;
    return NULL;
}

START_TEST(test_thread_local)
{
    pthread_t t;
    void *ret = (void *)-1;

    pool_error(POOL_ERR_EXISTS, "main thread error");
    ck_assert_int_eq(pthread_create(&t, NULL, thread_body, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    ck_assert_ptr_null(ret);
    /* The other thread's report did not touch ours. */
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_EXISTS);
    ck_assert_str_eq(pool_error_last_message(), "main thread error");
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_report_and_last);
    tcase_add_test(tc, test_trailing_newline_stripped);
    tcase_add_test(tc, test_errno_message_and_preserved);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_set_and_copy);
    tcase_add_test(tc, test_save_restore);
    tcase_add_test(tc, test_oom);
    tcase_add_test(tc, test_code_names_and_exit_codes);
    tcase_add_test(tc, test_thread_local);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(error_suite());
}
