/*
 * jobs.c: the job table (jobs.h). Every job is one detached thread and one
 * entry in a list kept in start order; the entry outlives the thread (it
 * is pruned JOB_KEEP_S after the job ends, or when more than JOB_KEEP_MAX
 * finished jobs are kept), so its state can be read after the end. The
 * thread touches its entry only under the table's mutex once it has
 * started, and never after it marked it ended.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "pool-alloc.h"
#include "pool-log.h"
#include "pool-util.h"

#define JOB_KEEP_S   600 /* finished jobs are kept this long */
#define JOB_KEEP_MAX 64  /* and no more than this many */

struct poolJob {
    poolJob *next;
    poolJobs *jobs;
    poolJobInfo info; /* under jobs->mu */
    atomic_bool cancel;
    int64_t ended_ms; /* monotonic, for pruning */
    poolJobFn fn;
    void *arg;
    void (*arg_free)(void *);
};

struct poolJobs {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* a job ended (CLOCK_MONOTONIC) */
    poolJob *head;       /* oldest first */
    unsigned next_id;
    unsigned running;
    bool stopping;
};

const char *poold_job_state_name(poolJobState s)
{
    switch (s) {
    case POOLD_JOB_RUNNING:
        return "running";
    case POOLD_JOB_DONE:
        return "done";
    case POOLD_JOB_FAILED:
        return "failed";
    case POOLD_JOB_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

poolJobs *poold_jobs_new(void)
{
    poolJobs *jobs = pool_calloc(1, sizeof(*jobs));
    if (!jobs)
        return NULL;
    pthread_mutex_init(&jobs->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&jobs->cond, &ca);
    pthread_condattr_destroy(&ca);
    jobs->next_id = 1;
    return jobs;
}

static void job_free(poolJob *j)
{
    if (j->arg_free)
        j->arg_free(j->arg);
    free(j);
}

void poold_jobs_free(poolJobs *jobs)
{
    if (!jobs)
        return;
    for (poolJob *j = jobs->head, *next; j; j = next) {
        next = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&jobs->mu);
    pthread_cond_destroy(&jobs->cond);
    free(jobs);
}

/* Under mu: forget finished jobs kept long enough, and the oldest ones
 * beyond JOB_KEEP_MAX. */
static void prune(poolJobs *jobs)
{
    int64_t now = pool_monotonic_ms();
    unsigned finished = 0;
    for (poolJob *j = jobs->head; j; j = j->next)
        finished += j->info.state != POOLD_JOB_RUNNING;
    for (poolJob **pp = &jobs->head; *pp;) {
        poolJob *j = *pp;
        if (j->info.state != POOLD_JOB_RUNNING &&
            (finished > JOB_KEEP_MAX || now - j->ended_ms > JOB_KEEP_S * 1000LL)) {
            *pp = j->next;
            finished--;
            job_free(j);
        } else {
            pp = &j->next;
        }
    }
}

static void *job_thread(void *p)
{
    poolJob *j = p;
    poolJobs *jobs = j->jobs;
    pool_error_reset();
    int r = j->fn(j, j->arg);
    pthread_mutex_lock(&jobs->mu);
    j->info.ended = (int64_t)time(NULL);
    j->ended_ms = pool_monotonic_ms();
    if (r == 0) {
        j->info.state = POOLD_JOB_DONE;
    } else {
        const poolError *e = pool_error_last();
        j->info.state = atomic_load(&j->cancel) ? POOLD_JOB_CANCELLED : POOLD_JOB_FAILED;
        j->info.code = e ? e->code : POOL_ERR_INTERNAL;
        snprintf(j->info.error, sizeof(j->info.error), "%s",
                 e ? e->message : "the job failed without an error message");
    }
    log_info("job %u (%s of %s/%s) %s%s%s", j->info.id, j->info.kind, j->info.pool, j->info.volume,
             poold_job_state_name(j->info.state), r == 0 ? "" : ": ", r == 0 ? "" : j->info.error);
    jobs->running--;
    pthread_cond_broadcast(&jobs->cond);
    pthread_mutex_unlock(&jobs->mu);
    pool_error_reset();
    return NULL;
}

unsigned poold_job_start(poolJobs *jobs, const char *kind, const char *pool, const char *volume,
                         const char *source, poolJobFn fn, void *arg, void (*arg_free)(void *))
{
    poolJob *j = pool_calloc(1, sizeof(*j));
    if (!j)
        return 0;
    j->jobs = jobs;
    j->fn = fn;
    j->arg = arg;
    j->arg_free = arg_free;
    snprintf(j->info.kind, sizeof(j->info.kind), "%s", kind);
    snprintf(j->info.pool, sizeof(j->info.pool), "%s", pool);
    snprintf(j->info.volume, sizeof(j->info.volume), "%s", volume ? volume : "");
    snprintf(j->info.source, sizeof(j->info.source), "%s", source ? source : "");
    j->info.state = POOLD_JOB_RUNNING;
    j->info.started = (int64_t)time(NULL);
    atomic_init(&j->cancel, false);

    pthread_mutex_lock(&jobs->mu);
    if (jobs->stopping) {
        pthread_mutex_unlock(&jobs->mu);
        free(j);
        pool_error(POOL_ERR_BUSY, "poold is shutting down: no new jobs");
        return 0;
    }
    prune(jobs);
    j->info.id = jobs->next_id;
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, job_thread, j);
    pthread_attr_destroy(&attr);
    if (err) {
        pthread_mutex_unlock(&jobs->mu);
        free(j);
        pool_error_errno(err, "cannot start a thread for the %s job", kind);
        return 0;
    }
    jobs->next_id++;
    jobs->running++;
    poolJob **pp = &jobs->head;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    unsigned id = j->info.id;
    pthread_mutex_unlock(&jobs->mu);
    log_info("job %u started: %s of %s/%s%s%s", id, kind, pool, volume ? volume : "",
             source ? " from " : "", source ? source : "");
    return id;
}

void poold_job_progress(poolJob *job, uint64_t done, uint64_t total)
{
    pthread_mutex_lock(&job->jobs->mu);
    job->info.done = done;
    job->info.total = total;
    pthread_mutex_unlock(&job->jobs->mu);
}

bool poold_job_cancelled(const poolJob *job)
{
    return atomic_load(&((poolJob *)job)->cancel);
}

unsigned poold_job_id(const poolJob *job)
{
    return job->info.id;
}

/* Under mu. */
static poolJob *find(poolJobs *jobs, unsigned id)
{
    for (poolJob *j = jobs->head; j; j = j->next)
        if (j->info.id == id)
            return j;
    pool_error(POOL_ERR_INVALID_ARG, "no job %u (finished jobs are kept for %d minutes)", id,
               JOB_KEEP_S / 60);
    return NULL;
}

int poold_jobs_info(poolJobs *jobs, unsigned id, poolJobInfo *out)
{
    return poold_jobs_wait(jobs, id, 0, out);
}

int poold_jobs_list(poolJobs *jobs, const char *pool, poolJobInfo **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&jobs->mu);
    prune(jobs);
    size_t k = 0;
    for (poolJob *j = jobs->head; j; j = j->next)
        k++;
    poolJobInfo *v = pool_calloc(k ? k : 1, sizeof(*v));
    if (v) {
        for (poolJob *j = jobs->head; j; j = j->next)
            if (!pool || strcmp(pool, j->info.pool) == 0)
                v[(*n)++] = j->info;
        *out = v;
    }
    pthread_mutex_unlock(&jobs->mu);
    return v ? 0 : -1;
}

int poold_jobs_wait(poolJobs *jobs, unsigned id, int64_t timeout_ms, poolJobInfo *out)
{
    int64_t until = pool_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&jobs->mu);
    poolJob *j = find(jobs, id);
    while (j && j->info.state == POOLD_JOB_RUNNING) {
        int64_t left = until - pool_monotonic_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&jobs->cond, &jobs->mu, &ts);
        /* a job is pruned only once it has ended, and only when another
         * starts or a list runs: j stays valid while we hold mu, but look
         * it up again after the wait */
        j = find(jobs, id);
    }
    if (j)
        *out = j->info;
    pthread_mutex_unlock(&jobs->mu);
    return j ? 0 : -1;
}

int poold_jobs_cancel(poolJobs *jobs, unsigned id)
{
    pthread_mutex_lock(&jobs->mu);
    poolJob *j = find(jobs, id);
    if (j && j->info.state == POOLD_JOB_RUNNING) {
        atomic_store(&j->cancel, true);
        log_info("job %u (%s of %s/%s): cancel requested", id, j->info.kind, j->info.pool,
                 j->info.volume);
    }
    pthread_mutex_unlock(&jobs->mu);
    return j ? 0 : -1;
}

bool poold_jobs_busy(poolJobs *jobs, const char *pool, const char *volume)
{
    bool busy = false;
    pthread_mutex_lock(&jobs->mu);
    for (poolJob *j = jobs->head; j && !busy; j = j->next) {
        if (j->info.state != POOLD_JOB_RUNNING || strcmp(j->info.pool, pool) != 0)
            continue;
        if (!volume)
            pool_error(POOL_ERR_BUSY, "pool %s is busy: job %u (%s of %s) runs on it", pool,
                       j->info.id, j->info.kind, j->info.volume);
        else if (strcmp(j->info.volume, volume) == 0 || strcmp(j->info.source, volume) == 0)
            pool_error(POOL_ERR_BUSY, "volume %s is busy: job %u (%s)", volume, j->info.id,
                       j->info.kind);
        else
            continue;
        busy = true;
    }
    pthread_mutex_unlock(&jobs->mu);
    return busy;
}

bool poold_jobs_shutdown(poolJobs *jobs, int64_t timeout_ms)
{
    int64_t until = pool_monotonic_ms() + timeout_ms;
    pthread_mutex_lock(&jobs->mu);
    jobs->stopping = true;
    for (poolJob *j = jobs->head; j; j = j->next)
        if (j->info.state == POOLD_JOB_RUNNING)
            atomic_store(&j->cancel, true);
    while (jobs->running > 0) {
        int64_t left = until - pool_monotonic_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&jobs->cond, &jobs->mu, &ts);
    }
    bool idle = jobs->running == 0;
    pthread_mutex_unlock(&jobs->mu);
    return idle;
}
