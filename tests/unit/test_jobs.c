/*
 * test_jobs.c: poold's job table (poold/jobs.c): ids, states, progress,
 * busy marks naming the job, cancel, wait, list, shutdown. Jobs here are
 * plain functions on their own threads; nothing else of poold is linked.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <check.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "pool-error.h"
#include "test_support.h"

/* Runs until cancelled, reporting progress as it goes. */
static int until_cancelled(poolJob *job, void *arg)
{
    atomic_int *started = arg;
    uint64_t done = 0;
    atomic_store(started, 1);
    while (!poold_job_cancelled(job)) {
        poold_job_progress(job, ++done, 1000);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    pool_error(POOL_ERR_BUSY, "stopped by a cancel");
    return -1;
}

static int succeeds(poolJob *job, void *arg)
{
    poold_job_progress(job, 10, 10);
    return 0;
}

static int fails(poolJob *job, void *arg)
{
    pool_error(POOL_ERR_NO_SPACE, "the disk is full");
    return -1;
}

static void wait_started(atomic_int *flag)
{
    for (int i = 0; i < 5000 && !atomic_load(flag); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(atomic_load(flag), 1);
}

START_TEST(test_lifecycle)
{
    poolJobs *jobs = poold_jobs_new();
    ck_assert_ptr_nonnull(jobs);
    atomic_int started = 0;
    unsigned id = poold_job_start(jobs, "clone", "p1", "b2", "b", until_cancelled, &started, NULL);
    ck_assert_uint_eq(id, 1);
    wait_started(&started);

    /* busy: the volume it makes, the one it reads, the pool; not others */
    ck_assert(poold_jobs_busy(jobs, "p1", "b2"));
    ck_assert_str_eq(pool_error_last_message(), "volume b2 is busy: job 1 (clone)");
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_BUSY);
    ck_assert(poold_jobs_busy(jobs, "p1", "b"));
    ck_assert_str_eq(pool_error_last_message(), "volume b is busy: job 1 (clone)");
    ck_assert(poold_jobs_busy(jobs, "p1", NULL));
    ck_assert(strstr(pool_error_last_message(), "pool p1 is busy: job 1"));
    ck_assert(!poold_jobs_busy(jobs, "p1", "a"));
    ck_assert(!poold_jobs_busy(jobs, "p2", "b2"));
    ck_assert(!poold_jobs_busy(jobs, "p2", NULL));

    poolJobInfo j;
    ck_assert_int_eq(poold_jobs_wait(jobs, id, 50, &j), 0); /* times out: still running */
    ck_assert_int_eq(j.state, POOLD_JOB_RUNNING);
    ck_assert_str_eq(j.kind, "clone");
    ck_assert_str_eq(j.source, "b");
    ck_assert_uint_eq(j.total, 1000);
    ck_assert_int_eq(j.ended, 0);

    ck_assert_int_eq(poold_jobs_cancel(jobs, id), 0);
    ck_assert_int_eq(poold_jobs_wait(jobs, id, 5000, &j), 0);
    ck_assert_int_eq(j.state, POOLD_JOB_CANCELLED);
    ck_assert_str_eq(poold_job_state_name(j.state), "cancelled");
    ck_assert_int_eq(j.code, POOL_ERR_BUSY);
    ck_assert_str_eq(j.error, "stopped by a cancel");
    ck_assert_int_ne(j.ended, 0);
    /* ended: its volumes are free again, a cancel is a no-op */
    ck_assert(!poold_jobs_busy(jobs, "p1", "b2"));
    ck_assert_int_eq(poold_jobs_cancel(jobs, id), 0);

    /* ids go on; done and failed */
    unsigned id2 = poold_job_start(jobs, "clone", "p2", "x", NULL, succeeds, NULL, NULL);
    unsigned id3 = poold_job_start(jobs, "clone", "p1", "y", NULL, fails, NULL, NULL);
    ck_assert_uint_eq(id2, 2);
    ck_assert_uint_eq(id3, 3);
    ck_assert_int_eq(poold_jobs_wait(jobs, id2, 5000, &j), 0);
    ck_assert_int_eq(j.state, POOLD_JOB_DONE);
    ck_assert_uint_eq(j.done, 10);
    ck_assert_str_eq(j.error, "");
    ck_assert_int_eq(poold_jobs_wait(jobs, id3, 5000, &j), 0);
    ck_assert_int_eq(j.state, POOLD_JOB_FAILED);
    ck_assert_int_eq(j.code, POOL_ERR_NO_SPACE);
    ck_assert_str_eq(j.error, "the disk is full");

    /* list: all, or one pool's, oldest first */
    poolJobInfo *v = NULL;
    size_t n = 0;
    ck_assert_int_eq(poold_jobs_list(jobs, NULL, &v, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(v[0].id, 1);
    ck_assert_uint_eq(v[2].id, 3);
    free(v);
    ck_assert_int_eq(poold_jobs_list(jobs, "p1", &v, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(v[1].id, 3);
    free(v);

    /* unknown ids */
    ck_assert_int_eq(poold_jobs_info(jobs, 99, &j), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert(strstr(pool_error_last_message(), "no job 99"));
    ck_assert_int_eq(poold_jobs_cancel(jobs, 99), -1);
    ck_assert_int_eq(poold_jobs_wait(jobs, 99, 10, &j), -1);

    ck_assert(poold_jobs_shutdown(jobs, 1000));
    poold_jobs_free(jobs);
}
END_TEST

START_TEST(test_shutdown_cancels)
{
    poolJobs *jobs = poold_jobs_new();
    atomic_int a = 0, b = 0;
    unsigned id1 = poold_job_start(jobs, "clone", "p", "v1", NULL, until_cancelled, &a, NULL);
    unsigned id2 = poold_job_start(jobs, "clone", "p", "v2", NULL, until_cancelled, &b, NULL);
    wait_started(&a);
    wait_started(&b);
    ck_assert(poold_jobs_shutdown(jobs, 5000));
    poolJobInfo j;
    ck_assert_int_eq(poold_jobs_info(jobs, id1, &j), 0);
    ck_assert_int_eq(j.state, POOLD_JOB_CANCELLED);
    ck_assert_int_eq(poold_jobs_info(jobs, id2, &j), 0);
    ck_assert_int_eq(j.state, POOLD_JOB_CANCELLED);
    /* no new job once shutting down; arg stays the caller's */
    ck_assert_uint_eq(poold_job_start(jobs, "clone", "p", "v3", NULL, succeeds, NULL, NULL), 0);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_BUSY);
    poold_jobs_free(jobs);
}
END_TEST

static Suite *jobs_suite(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_shutdown_cancels);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(jobs_suite());
}
