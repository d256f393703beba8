// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_bounded.c: bounded calls (libpool/bounded.h), the mechanism every
 * sanlock call goes through, with a fake blocking call in place of
 * libsanlock: a call answered in time, a call that is not (the caller is
 * back after its timeout, the lane fails further calls at once without
 * starting them, the late answer is handed to `late` and the argument
 * freed, then the lane opens again), and the late handler running before
 * the lane opens.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "bounded.h"
#include "test_support.h"

/* What the fake call does and what happened to it, shared by all calls. */
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fk_cond = PTHREAD_COND_INITIALIZER;
static bool fk_open; /* calls return at once */
static int fk_runs, fk_lates, fk_frees, fk_late_answer;
static bool fk_late_saw_stuck; /* late ran while its lane still counted it stuck */
static poolBoundedLane *fk_lane;

typedef struct {
    int answer;
} fakeArg;

static void fake_run(void *p)
{
    fakeArg *a = p;
    pthread_mutex_lock(&fk_lock);
    fk_runs++;
    while (!fk_open)
        pthread_cond_wait(&fk_cond, &fk_lock);
    pthread_mutex_unlock(&fk_lock);
    a->answer = 42;
}

static void fake_late(void *p)
{
    fakeArg *a = p;
    bool stuck = pool_bounded_stuck(fk_lane) > 0;
    pthread_mutex_lock(&fk_lock);
    fk_lates++;
    fk_late_answer = a->answer;
    fk_late_saw_stuck = stuck;
    pthread_mutex_unlock(&fk_lock);
}

static void fake_free(void *p)
{
    pthread_mutex_lock(&fk_lock);
    fk_frees++;
    pthread_mutex_unlock(&fk_lock);
    free(p);
}

static const poolBoundedOps fake_ops = {.run = fake_run, .late = fake_late, .free = fake_free};

static void fake_reset(poolBoundedLane *lane, bool open)
{
    pthread_mutex_lock(&fk_lock);
    fk_open = open;
    fk_runs = fk_lates = fk_frees = fk_late_answer = 0;
    fk_late_saw_stuck = false;
    fk_lane = lane;
    pthread_mutex_unlock(&fk_lock);
}

static void fake_open(void)
{
    pthread_mutex_lock(&fk_lock);
    fk_open = true;
    pthread_cond_broadcast(&fk_cond);
    pthread_mutex_unlock(&fk_lock);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* wait (with a deadline) until the lane has no stuck call */
static bool lane_clears(poolBoundedLane *lane, double seconds)
{
    double end = now() + seconds;
    while (pool_bounded_stuck(lane) > 0) {
        if (now() > end)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return true;
}

START_TEST(test_answered_in_time)
{
    poolBoundedLane lane = POOL_BOUNDED_LANE_INIT;
    fake_reset(&lane, true);
    fakeArg *a = calloc(1, sizeof(*a));
    ck_assert_int_eq(pool_bounded_call(&lane, &fake_ops, a, 5000), POOL_BOUNDED_DONE);
    /* the caller owns the argument and sees the answer */
    ck_assert_int_eq(a->answer, 42);
    free(a);
    ck_assert_uint_eq(pool_bounded_stuck(&lane), 0);
    ck_assert_int_eq(fk_lates, 0);
    ck_assert_int_eq(fk_frees, 0);
}
END_TEST

START_TEST(test_not_answered)
{
    poolBoundedLane lane = POOL_BOUNDED_LANE_INIT;
    fake_reset(&lane, false);
    fakeArg *a = calloc(1, sizeof(*a));
    double t0 = now();
    ck_assert_int_eq(pool_bounded_call(&lane, &fake_ops, a, 200), POOL_BOUNDED_TIMEOUT);
    double took = now() - t0;
    ck_assert_msg(took >= 0.19 && took < 2.0, "waited %.3f s for a 0.2 s timeout", took);
    ck_assert_uint_eq(pool_bounded_stuck(&lane), 1);

    /* while it is stuck: no new thread, no wait, the argument stays ours */
    for (int i = 0; i < 5; i++) {
        fakeArg b = {0};
        t0 = now();
        ck_assert_int_eq(pool_bounded_call(&lane, &fake_ops, &b, 5000), POOL_BOUNDED_STUCK);
        ck_assert_msg(now() - t0 < 0.1, "a call on a stuck lane waited");
    }
    pthread_mutex_lock(&fk_lock);
    ck_assert_int_eq(fk_runs, 1);
    ck_assert_int_eq(fk_lates, 0);
    pthread_mutex_unlock(&fk_lock);

    /* another lane is not affected */
    poolBoundedLane other = POOL_BOUNDED_LANE_INIT;
    fakeArg *c = calloc(1, sizeof(*c));
    ck_assert_int_eq(pool_bounded_call(&other, &fake_ops, c, 50), POOL_BOUNDED_TIMEOUT);

    /* the answer comes: late sees it, the argument is freed, the lanes open */
    fake_open();
    ck_assert(lane_clears(&lane, 5));
    ck_assert(lane_clears(&other, 5));
    pthread_mutex_lock(&fk_lock);
    ck_assert_int_eq(fk_lates, 2);
    ck_assert_int_eq(fk_frees, 2);
    ck_assert_int_eq(fk_late_answer, 42);
    pthread_mutex_unlock(&fk_lock);

    fakeArg *d = calloc(1, sizeof(*d));
    ck_assert_int_eq(pool_bounded_call(&lane, &fake_ops, d, 5000), POOL_BOUNDED_DONE);
    ck_assert_int_eq(d->answer, 42);
    free(d);
}
END_TEST

START_TEST(test_late_runs_before_lane_opens)
{
    /* an acquire answered late is released by `late`; no call of the lane
     * may start before that is done */
    poolBoundedLane lane = POOL_BOUNDED_LANE_INIT;
    fake_reset(&lane, false);
    fakeArg *a = calloc(1, sizeof(*a));
    ck_assert_int_eq(pool_bounded_call(&lane, &fake_ops, a, 20), POOL_BOUNDED_TIMEOUT);
    fake_open();
    ck_assert(lane_clears(&lane, 5));
    pthread_mutex_lock(&fk_lock);
    ck_assert_int_eq(fk_lates, 1);
    ck_assert(fk_late_saw_stuck);
    pthread_mutex_unlock(&fk_lock);
}
END_TEST

START_TEST(test_zero_timeout)
{
    /* 0 ms: the call is started and left to finish on its own */
    poolBoundedLane lane = POOL_BOUNDED_LANE_INIT;
    fake_reset(&lane, false);
    fakeArg *a = calloc(1, sizeof(*a));
    ck_assert_int_eq(pool_bounded_call(&lane, &fake_ops, a, 0), POOL_BOUNDED_TIMEOUT);
    fake_open();
    ck_assert(lane_clears(&lane, 5));
    ck_assert_int_eq(fk_frees, 1);
}
END_TEST

static Suite *bounded_suite(void)
{
    Suite *s = suite_create("bounded");
    TCase *tc = tcase_create("calls");
    tcase_add_test(tc, test_answered_in_time);
    tcase_add_test(tc, test_not_answered);
    tcase_add_test(tc, test_late_runs_before_lane_opens);
    tcase_add_test(tc, test_zero_timeout);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(bounded_suite());
}
