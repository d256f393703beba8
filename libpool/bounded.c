/*
 * bounded.c: blocking calls waited for at most a given time (bounded.h).
 *
 * The job is shared by the caller and the call's thread (two references);
 * whoever drops the last one frees it. The caller marks it abandoned and
 * counts it stuck on its lane under the job's lock, so the thread, which
 * reads "abandoned" under the same lock after the call returns, always
 * sees the count it must take back.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "bounded.h"
#include "pool-error.h"

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    int refs;
    bool done, abandoned;
    poolBoundedLane *lane;
    const poolBoundedOps *ops;
    void *arg;
} bJob;

static void job_unref(bJob *job)
{
    pthread_mutex_lock(&job->lock);
    bool last = --job->refs == 0;
    pthread_mutex_unlock(&job->lock);
    if (last) {
        pthread_mutex_destroy(&job->lock);
        pthread_cond_destroy(&job->cond);
        free(job);
    }
}

static void *job_thread(void *p)
{
    bJob *job = p;
    job->ops->run(job->arg);
    pthread_mutex_lock(&job->lock);
    job->done = true;
    bool abandoned = job->abandoned;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
    if (abandoned) {
        if (job->ops->late)
            job->ops->late(job->arg);
        if (job->ops->free)
            job->ops->free(job->arg);
        /* only now: whatever late did is finished before the lane opens */
        pthread_mutex_lock(&job->lane->lock);
        job->lane->stuck--;
        pthread_mutex_unlock(&job->lane->lock);
    }
    job_unref(job);
    return NULL;
}

unsigned pool_bounded_stuck(poolBoundedLane *lane)
{
    pthread_mutex_lock(&lane->lock);
    unsigned n = lane->stuck;
    pthread_mutex_unlock(&lane->lock);
    return n;
}

poolBoundedResult pool_bounded_call(poolBoundedLane *lane, const poolBoundedOps *ops, void *arg,
                                    unsigned timeout_ms)
{
    if (pool_bounded_stuck(lane) > 0)
        return POOL_BOUNDED_STUCK;
    bJob *job = calloc(1, sizeof(*job));
    if (!job) {
        pool_error_oom();
        return POOL_BOUNDED_NO_THREAD;
    }
    pthread_mutex_init(&job->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cond, &ca);
    pthread_condattr_destroy(&ca);
    job->refs = 2;
    job->lane = lane;
    job->ops = ops;
    job->arg = arg;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int e = pthread_create(&t, &attr, job_thread, job);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        job->refs = 1;
        job_unref(job);
        pool_error_errno(e, "cannot start a thread for a bounded call");
        return POOL_BOUNDED_NO_THREAD;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&job->lock);
    while (!job->done)
        if (pthread_cond_timedwait(&job->cond, &job->lock, &deadline) == ETIMEDOUT)
            break;
    bool done = job->done;
    if (!done) {
        job->abandoned = true;
        pthread_mutex_lock(&lane->lock);
        lane->stuck++;
        pthread_mutex_unlock(&lane->lock);
    }
    pthread_mutex_unlock(&job->lock);
    job_unref(job);
    return done ? POOL_BOUNDED_DONE : POOL_BOUNDED_TIMEOUT;
}
