// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_log.c: logging front end.
 *
 * The library promises to be silent without a sink, to filter by level
 * before formatting, to keep errno intact, and to put object names in
 * object-scoped lines; poold's log output and operators' grep depend on it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pool-log.h"
#include "test_support.h"

#define MAX_LINES 16

static struct {
    int count;
    poolLogLevel level[MAX_LINES];
    char msg[MAX_LINES][2048];
    void *opaque;
} captured;

static void capture(poolLogLevel level, const char *msg, void *opaque)
{
    if (captured.count < MAX_LINES) {
        captured.level[captured.count] = level;
        snprintf(captured.msg[captured.count], sizeof(captured.msg[0]), "%s", msg);
    }
    captured.count++;
    captured.opaque = opaque;
    errno = EPIPE; /* a sink that clobbers errno must not leak it to callers */
}

static void setup(void)
{
    memset(&captured, 0, sizeof(captured));
}

static void teardown(void)
{
    pool_log_set_callback(NULL, NULL, POOL_LOG_INFO);
}

START_TEST(test_silent_without_callback)
{
    int pipefd[2];
    int saved;
    char buf[64];
    ssize_t n;

    /* Point stderr and stdout at a pipe: nothing may appear there. */
    ck_assert_int_eq(pipe(pipefd), 0);
    saved = dup(STDERR_FILENO);
    dup2(pipefd[1], STDERR_FILENO);
    pool_log_set_callback(NULL, NULL, POOL_LOG_DEBUG);
    log_error("error %d", 1);
    log_warnx("warn");
    errno = ENOENT;
    log_warn("warn errno");
    log_info("info");
    log_debug("debug");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(pipefd[1]);
    n = read(pipefd[0], buf, sizeof(buf));
    close(pipefd[0]);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(captured.count, 0);
}
END_TEST

START_TEST(test_levels_filter)
{
    int token;

    pool_log_set_callback(capture, &token, POOL_LOG_WARN);
    ck_assert_int_eq(pool_log_get_level(), POOL_LOG_WARN);
    log_debug("dropped %d", 1);
    log_info("dropped %d", 2);
    log_warnx("kept %d", 3);
    log_error("kept %d", 4);
    ck_assert_int_eq(captured.count, 2);
    ck_assert_int_eq(captured.level[0], POOL_LOG_WARN);
    ck_assert_str_eq(captured.msg[0], "kept 3");
    ck_assert_int_eq(captured.level[1], POOL_LOG_ERROR);
    ck_assert_str_eq(captured.msg[1], "kept 4");
    ck_assert_ptr_eq(captured.opaque, &token);

    pool_log_set_callback(capture, NULL, POOL_LOG_DEBUG);
    log_debug("now %s", "visible");
    ck_assert_int_eq(captured.count, 3);
    ck_assert_int_eq(captured.level[2], POOL_LOG_DEBUG);
    ck_assert_str_eq(captured.msg[2], "now visible");
}
END_TEST

START_TEST(test_warn_appends_strerror_and_preserves_errno)
{
    pool_log_set_callback(capture, NULL, POOL_LOG_INFO);
    errno = ENOENT;
    log_warn("cannot open %s", "/etc/x");
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(captured.count, 1);
    ck_assert_int_eq(captured.level[0], POOL_LOG_WARN);
    ck_assert_str_eq(captured.msg[0], "cannot open /etc/x: No such file or directory");

    errno = EACCES;
    log_warnx("no errno %s", "here");
    ck_assert_int_eq(errno, EACCES);
    ck_assert_str_eq(captured.msg[1], "no errno here");

    errno = EEXIST;
    log_info("info");
    ck_assert_int_eq(errno, EEXIST);

    /* Filtered: nothing emitted and errno untouched. */
    pool_log_set_callback(capture, NULL, POOL_LOG_ERROR);
    errno = EIO;
    log_warn("filtered");
    ck_assert_int_eq(errno, EIO);
    ck_assert_int_eq(captured.count, 3);
}
END_TEST

START_TEST(test_object_scoped)
{
    pool_log_set_callback(capture, NULL, POOL_LOG_DEBUG);
    log_pool(POOL_LOG_INFO, "pool1", "refreshed %d volumes", 3);
    log_vol(POOL_LOG_WARN, "pool1", "web01", "lease lost");
    log_pool(POOL_LOG_INFO, "pool2", "started");
    ck_assert_str_eq(captured.msg[0], "pool pool1: refreshed 3 volumes");
    ck_assert_str_eq(captured.msg[1], "pool pool1 vol web01: lease lost");
    ck_assert_int_eq(captured.level[1], POOL_LOG_WARN);
    ck_assert_str_eq(captured.msg[2], "pool pool2: started");
}
END_TEST

START_TEST(test_long_and_newline_messages)
{
    char big[1800];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    pool_log_set_callback(capture, NULL, POOL_LOG_DEBUG);
    log_info("%s|%s", big, "end");
    ck_assert_int_eq(strlen(captured.msg[0]), sizeof(big) - 1 + 4);
    ck_assert_str_eq(captured.msg[0] + sizeof(big) - 1, "|end");
    log_info("with newline\n");
    ck_assert_str_eq(captured.msg[1], "with newline");
}
END_TEST

START_TEST(test_level_names)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(pool_log_level_name((poolLogLevel)i), names[i]);
        ck_assert_int_eq(pool_log_level_from_name(names[i]), i);
    }
    ck_assert_int_eq(pool_log_level_from_name("warning"), -1);
    ck_assert_int_eq(pool_log_level_from_name("INFO"), -1);
    ck_assert_int_eq(pool_log_level_from_name(""), -1);
    ck_assert_int_eq(pool_log_level_from_name(NULL), -1);
    ck_assert_str_eq(pool_log_level_name((poolLogLevel)7), "unknown");
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_silent_without_callback);
    tcase_add_test(tc, test_levels_filter);
    tcase_add_test(tc, test_warn_appends_strerror_and_preserves_errno);
    tcase_add_test(tc, test_object_scoped);
    tcase_add_test(tc, test_long_and_newline_messages);
    tcase_add_test(tc, test_level_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(log_suite());
}
