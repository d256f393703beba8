// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_command.c: running external programs (pool_command_run).
 *
 * Every lvm call goes through this runner, so its guarantees are tested with
 * small standard programs: exit status and signals, stdout/stderr capture
 * without deadlock, stdin at /dev/null, no inherited fds or ignored signals,
 * env_extra, the time limit and output cap (both kill the child), errors for
 * programs that cannot be started, and that no zombie is ever left behind.
 * /bin/sh is only the program under test where a case needs a child that
 * does two things (write to both streams, start a grandchild).
 */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool-command.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "test_support.h"

static void discard_log(poolLogLevel level, const char *msg, void *opaque)
{
    (void)level;
    (void)msg;
    (void)opaque;
}

static void setup(void)
{
    /* exercise the debug logging path (pool_command_to_string) too */
    pool_log_set_callback(discard_log, NULL, POOL_LOG_DEBUG);
    pool_error_reset();
}

/* No child of ours may be left, running or zombie. */
static void assert_no_children(void)
{
    int status;
    pid_t r = waitpid(-1, &status, WNOHANG);

    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(errno, ECHILD);
}

static int run(char **argv, int timeout_ms, size_t max_output, char **env, poolCommandResult *res)
{
    poolCommand cmd = {
        .argv = argv, .env_extra = env, .timeout_ms = timeout_ms, .max_output = max_output};

    return pool_command_run(&cmd, res);
}

START_TEST(test_true_false)
{
    char *t[] = {"/bin/true", NULL};
    char *f[] = {"/bin/false", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(t, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_ptr_nonnull(res.out);
    ck_assert_ptr_nonnull(res.err);
    ck_assert_str_eq(res.out, "");
    ck_assert_uint_eq(res.out_len, 0);
    pool_command_result_clear(&res);
    ck_assert_ptr_null(res.out);

    ck_assert_int_eq(run(f, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 1);
    pool_command_result_clear(&res);
    assert_no_children();
}
END_TEST

START_TEST(test_stdout_capture)
{
    char *argv[] = {"/bin/echo", "hello", "two words", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_str_eq(res.out, "hello two words\n");
    ck_assert_uint_eq(res.out_len, strlen("hello two words\n"));
    ck_assert_str_eq(res.err, "");
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_path_search)
{
    /* a bare name is looked up in PATH, like execvp */
    char *argv[] = {"echo", "x", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_str_eq(res.out, "x\n");
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_stderr_capture)
{
    char *argv[] = {"/bin/cat", "/nonexistent/pool-test-file", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 1);
    ck_assert_str_eq(res.out, "");
    ck_assert_ptr_nonnull(strstr(res.err, "/nonexistent/pool-test-file"));
    ck_assert_uint_eq(res.err_len, strlen(res.err));
    pool_command_result_clear(&res);
    assert_no_children();
}
END_TEST

START_TEST(test_stdin_is_devnull)
{
    /* cat with no argument copies stdin: it must see EOF at once */
    char *argv[] = {"/bin/cat", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_str_eq(res.out, "");
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_large_output_both_streams)
{
    /* more than a pipe buffer on both streams at once: needs poll() */
    char *argv[] = {"/bin/sh", "-c",
                    "head -c 300000 /dev/zero | tr '\\0' a; head -c 200000 /dev/zero | tr '\\0' b "
                    ">&2; head -c 100000 /dev/zero | tr '\\0' c",
                    NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 20000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_uint_eq(res.out_len, 400000);
    ck_assert_uint_eq(res.err_len, 200000);
    ck_assert_uint_eq(strlen(res.out), 400000);
    ck_assert_int_eq(res.out[0], 'a');
    ck_assert_int_eq(res.out[399999], 'c');
    ck_assert_int_eq(res.err[199999], 'b');
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_killed_by_signal)
{
    char *argv[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 128 + SIGTERM);
    pool_command_result_clear(&res);
    assert_no_children();
}
END_TEST

START_TEST(test_timeout_kills)
{
    char *argv[] = {"/bin/sleep", "30", NULL};
    poolCommandResult res;
    double t0 = pool_monotonic_seconds();

    ck_assert_int_eq(run(argv, 300, 0, NULL, &res), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "sleep"));
    ck_assert(pool_monotonic_seconds() - t0 < 5.0);
    ck_assert_ptr_null(res.out);
    ck_assert_ptr_null(res.err);
    assert_no_children();
}
END_TEST

START_TEST(test_timeout_kills_grandchildren)
{
    /* the grandchild keeps the pipes open; the whole group must die */
    char *argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30", NULL};
    poolCommandResult res;
    double t0 = pool_monotonic_seconds();

    ck_assert_int_eq(run(argv, 300, 0, NULL, &res), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_TIMEOUT);
    ck_assert(pool_monotonic_seconds() - t0 < 5.0);
    assert_no_children();
}
END_TEST

START_TEST(test_no_timeout)
{
    char *argv[] = {"/bin/sleep", "0.2", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 0, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_output_cap)
{
    char *argv[] = {"/usr/bin/yes", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 10000, 4096, NULL, &res), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "more than 4096 bytes"));
    ck_assert_ptr_null(res.out);
    assert_no_children();
}
END_TEST

START_TEST(test_missing_binary)
{
    char *abs[] = {"/nonexistent/pool-no-such-program", NULL};
    char *rel[] = {"pool-no-such-program-xyz", NULL};
    char *empty[] = {NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(abs, 5000, 0, NULL, &res), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "No such file or directory"));
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "pool-no-such-program"));
    ck_assert_ptr_null(res.out);
    assert_no_children();

    ck_assert_int_eq(run(rel, 5000, 0, NULL, &res), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "pool-no-such-program-xyz"));

    ck_assert_int_eq(run(empty, 5000, 0, NULL, &res), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_int_eq(pool_command_run(NULL, &res), -1);
}
END_TEST

START_TEST(test_not_executable)
{
    char path[] = "/tmp/pool-test-noexec-XXXXXX";
    char *argv[] = {path, NULL};
    poolCommandResult res;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, 0644), 0);
    close(fd);
    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), -1);
    unlink(path);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "Permission denied"));
    assert_no_children();
}
END_TEST

START_TEST(test_env_extra)
{
    char *argv[] = {"/usr/bin/env", NULL};
    char *env[] = {"POOL_TEST_A=hello world", "POOL_TEST_B=new", NULL};
    poolCommandResult res;

    setenv("POOL_TEST_B", "old", 1);
    setenv("POOL_TEST_INHERITED", "yes", 1);
    ck_assert_int_eq(run(argv, 5000, 0, env, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_ptr_nonnull(strstr(res.out, "\nPOOL_TEST_A=hello world\n"));
    ck_assert_ptr_nonnull(strstr(res.out, "\nPOOL_TEST_B=new\n"));
    ck_assert_ptr_null(strstr(res.out, "POOL_TEST_B=old"));
    ck_assert_ptr_nonnull(strstr(res.out, "POOL_TEST_INHERITED=yes\n"));
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_env_extra_invalid)
{
    char *argv[] = {"/usr/bin/env", NULL};
    char *env[] = {"NOEQUALS", NULL};
    poolCommandResult res;

    ck_assert_int_eq(run(argv, 5000, 0, env, &res), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    assert_no_children();
}
END_TEST

START_TEST(test_fds_closed)
{
    /* an fd the parent leaked (no O_CLOEXEC) must not reach the child */
    char *argv[] = {"/bin/ls", "/proc/self/fd", NULL};
    poolCommandResult res;
    int fd = open("/dev/null", O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 57), 57);
    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    /* 0-2 plus the directory ls itself reads */
    ck_assert_str_eq(res.out, "0\n1\n2\n3\n");
    pool_command_result_clear(&res);
    close(57);
    close(fd);
}
END_TEST

START_TEST(test_stdio_closed_in_parent)
{
    /* with 0-2 closed, our pipes get those numbers; the child must still
     * get a proper stdin/stdout/stderr */
    char *argv[] = {"/bin/echo", "ok", NULL};
    poolCommandResult res;
    int saved[3];
    int rc;

    for (int i = 0; i < 3; i++) {
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
        close(i);
    }
    rc = run(argv, 5000, 0, NULL, &res);
    for (int i = 0; i < 3; i++) {
        if (saved[i] >= 0) {
            dup2(saved[i], i);
            close(saved[i]);
        }
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_str_eq(res.out, "ok\n");
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_signals_reset)
{
    /* a daemon ignoring SIGPIPE or blocking signals must not pass that on */
    char *argv[] = {"/bin/grep", "^Sig\\(Ign\\|Blk\\)", "/proc/self/status", NULL};
    poolCommandResult res;
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_str_eq(res.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    pool_command_result_clear(&res);
}
END_TEST

START_TEST(test_to_string)
{
    char *argv[] = {"/sbin/lvm", "lvs", "--config", "a b", "it's", "", "x=1,y:2", NULL};
    char *empty[] = {NULL};
    char *s = pool_command_to_string(argv);

    ck_assert_str_eq(s, "/sbin/lvm lvs --config 'a b' 'it'\\''s' '' x=1,y:2");
    free(s);
    s = pool_command_to_string(empty);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

START_TEST(test_many_runs_no_fd_leak)
{
    char *argv[] = {"/bin/true", NULL};
    poolCommandResult res;
    int before = open("/dev/null", O_RDONLY), after;

    close(before);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(run(argv, 5000, 0, NULL, &res), 0);
        pool_command_result_clear(&res);
    }
    after = open("/dev/null", O_RDONLY);
    close(after);
    ck_assert_int_eq(before, after);
    assert_no_children();
}
END_TEST

typedef struct {
    int calls;
    char seen[256];
    size_t nseen;
    int64_t cancel_at; /* monotonic ms; 0 = never */
} cbState;

static void cb_output(void *opaque, const char *chunk, size_t len)
{
    cbState *st = opaque;
    st->calls++;
    for (size_t i = 0; i < len && st->nseen + 1 < sizeof(st->seen); i++)
        st->seen[st->nseen++] = chunk[i];
    st->seen[st->nseen] = '\0';
}

static bool cb_cancel(void *opaque)
{
    cbState *st = opaque;
    return st->cancel_at && pool_monotonic_ms() >= st->cancel_at;
}

/* Every byte of stdout reaches on_output as it comes, and is still captured. */
START_TEST(test_on_output)
{
    char *argv[] = {"/bin/sh", "-c",
                    "printf '  (1.00/100%%)\\r'; sleep 0.2; printf '(50.00/100%%)\\r'", NULL};
    cbState st = {0};
    poolCommand cmd = {.argv = argv, .timeout_ms = 5000, .on_output = cb_output, .opaque = &st};
    poolCommandResult res;

    ck_assert_int_eq(pool_command_run(&cmd, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    ck_assert_str_eq(st.seen, "  (1.00/100%)\r(50.00/100%)\r");
    ck_assert_str_eq(res.out, st.seen);
    ck_assert_int_ge(st.calls, 2);
    pool_command_result_clear(&res);
    assert_no_children();
}
END_TEST

/* cancel() returning true kills the child (and its group) within the poll
 * interval, long before the time limit; false changes nothing. */
START_TEST(test_cancel)
{
    char *argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30", NULL};
    char *quick[] = {"/bin/true", NULL};
    cbState st = {.cancel_at = pool_monotonic_ms() + 300};
    poolCommand cmd = {.argv = argv, .timeout_ms = 20000, .cancel = cb_cancel, .opaque = &st};
    poolCommandResult res;
    int64_t t0 = pool_monotonic_ms();

    ck_assert_int_eq(pool_command_run(&cmd, &res), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "cancelled"));
    ck_assert_int_lt(pool_monotonic_ms() - t0, 300 + 2 * POOL_COMMAND_CANCEL_POLL_MS + 1000);
    assert_no_children();

    st.cancel_at = 0;
    cmd.argv = quick;
    ck_assert_int_eq(pool_command_run(&cmd, &res), 0);
    ck_assert_int_eq(res.exit_status, 0);
    pool_command_result_clear(&res);
}
END_TEST

static Suite *command_suite(void)
{
    Suite *s = suite_create("command");
    TCase *tc = tcase_create("run");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_true_false);
    tcase_add_test(tc, test_stdout_capture);
    tcase_add_test(tc, test_path_search);
    tcase_add_test(tc, test_stderr_capture);
    tcase_add_test(tc, test_stdin_is_devnull);
    tcase_add_test(tc, test_large_output_both_streams);
    tcase_add_test(tc, test_killed_by_signal);
    tcase_add_test(tc, test_timeout_kills);
    tcase_add_test(tc, test_timeout_kills_grandchildren);
    tcase_add_test(tc, test_no_timeout);
    tcase_add_test(tc, test_output_cap);
    tcase_add_test(tc, test_missing_binary);
    tcase_add_test(tc, test_not_executable);
    tcase_add_test(tc, test_env_extra);
    tcase_add_test(tc, test_env_extra_invalid);
    tcase_add_test(tc, test_fds_closed);
    tcase_add_test(tc, test_stdio_closed_in_parent);
    tcase_add_test(tc, test_signals_reset);
    tcase_add_test(tc, test_to_string);
    tcase_add_test(tc, test_many_runs_no_fd_leak);
    tcase_add_test(tc, test_on_output);
    tcase_add_test(tc, test_cancel);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(command_suite());
}
