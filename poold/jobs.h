/*
 * jobs.h: long operations run as jobs, each on a thread of its own, so the
 * request that starts one answers at once and every other request keeps
 * being answered meanwhile (docs/design.md section 3, "Jobs").
 *
 * A job has an id (1, 2, ... never reused while poold runs), a kind
 * ("clone"), the pool and volumes it works on, a state, bytes done and
 * total, its start and end, and the error it failed with. Its volumes are
 * busy while it runs: poold_jobs_busy refuses other changes of them,
 * naming the job. A finished job is kept for JOB_KEEP_S seconds (at most
 * JOB_KEEP_MAX of them), so job info and job wait work after its end.
 *
 * A job does not survive poold: what it left half-done carries a pd_op
 * intent tag, and reconcile rolls it back at the next start.
 *
 * Locks: poolJobs.mu is a leaf (held for bookkeeping only, never across a
 * call out); the job's function takes whatever locks it needs itself.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_JOBS_H
#define POOLD_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "pool-error.h"

typedef struct poolJobs poolJobs;
typedef struct poolJob poolJob;

typedef enum {
    POOLD_JOB_RUNNING,
    POOLD_JOB_DONE,
    POOLD_JOB_FAILED,
    POOLD_JOB_CANCELLED,
} poolJobState;

/* The name of a state: "running", "done", "failed", "cancelled". */
const char *poold_job_state_name(poolJobState s);

/* A job's view, copied out under the table's lock. */
typedef struct {
    unsigned id;
    char kind[16];
    char pool[128];
    char volume[128]; /* the volume it makes or changes */
    char source[128]; /* the volume it reads ("" if none) */
    poolJobState state;
    uint64_t done, total;   /* bytes */
    int64_t started, ended; /* unix seconds; ended 0 while running */
    poolErrorCode code;     /* failed or cancelled: the error */
    char error[512];
} poolJobInfo;

/* Runs on the job's thread: 0 when done, -1 with the error set. A job
 * stopped by a cancel returns -1 too; its state is then "cancelled". */
typedef int (*poolJobFn)(poolJob *job, void *arg);

poolJobs *poold_jobs_new(void);
/* Only once no job runs (poold_jobs_shutdown returned true). */
void poold_jobs_free(poolJobs *jobs);

/* Start fn(job, arg) on a thread of its own; arg_free(arg) runs when the
 * job is forgotten. On failure arg stays the caller's. The job's volumes
 * are busy from now on.
 * Returns the id, or 0 with the error set (the jobs are shutting down, or
 * out of resources). */
unsigned poold_job_start(poolJobs *jobs, const char *kind, const char *pool, const char *volume,
                         const char *source, poolJobFn fn, void *arg, void (*arg_free)(void *));

/* For the job's function. */
void poold_job_progress(poolJob *job, uint64_t done, uint64_t total);
bool poold_job_cancelled(const poolJob *job);
unsigned poold_job_id(const poolJob *job);

/* 0 with *out filled; -1 with POOL_ERR_INVALID_ARG when no job has that id
 * (any more). */
int poold_jobs_info(poolJobs *jobs, unsigned id, poolJobInfo *out);
/* Every job kept, of one pool or all (pool NULL), oldest first; *out is
 * malloc'ed (free it), *n may be 0. 0, or -1 out of memory. */
int poold_jobs_list(poolJobs *jobs, const char *pool, poolJobInfo **out, size_t *n);
/* Wait up to timeout_ms for the job to end, then fill *out (whatever its
 * state). 0, or -1 as poold_jobs_info. */
int poold_jobs_wait(poolJobs *jobs, unsigned id, int64_t timeout_ms, poolJobInfo *out);
/* Ask a running job to stop; a finished one is left as it is. 0, or -1
 * when no job has that id. */
int poold_jobs_cancel(poolJobs *jobs, unsigned id);

/* Does a running job use `volume` of `pool` (volume NULL: any volume of
 * the pool)? When it does: true, with POOL_ERR_BUSY "volume X is busy:
 * job N (kind)" (or "pool P is busy: ..."). */
bool poold_jobs_busy(poolJobs *jobs, const char *pool, const char *volume);

/* Cancel every running job and refuse new ones; wait up to timeout_ms for
 * them to end. true when none runs any more. */
bool poold_jobs_shutdown(poolJobs *jobs, int64_t timeout_ms);

#endif
