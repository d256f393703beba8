/*
 * handlers_job.c: volume-clone, which starts a job, and the job-* requests
 * (jobs.h). Replies: one <result type="job" .../> per job.
 *
 * volume clone: the request itself makes the clone's target (short LVM
 * steps under the pool's mutex, like volume create) and answers with the
 * job's id; the job copies without any lock, then takes the pool's locks
 * again (poold_with_pool) for the commit and the LUN, or to zero and
 * remove the target after a cancel or a failure.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "jobs.h"
#include "pool-alloc.h"
#include "pool-clone.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "poold.h"

/* Seconds a job-wait request waits before it answers with the progress;
 * poolctl asks again (CLI_AGAIN_MS) until the job has ended. */
#define JOB_WAIT_MS 1000

static int job_reply(xmlNodePtr reply, const poolJobInfo *j)
{
    xmlNodePtr n = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (!n || poold_set_str(n, "type", "job") < 0 || poold_set_uint(n, "id", j->id) < 0 ||
        poold_set_str(n, "kind", j->kind) < 0 || poold_set_str(n, "pool", j->pool) < 0 ||
        poold_set_str(n, "volume", j->volume) < 0 ||
        (j->source[0] && poold_set_str(n, "source", j->source) < 0) ||
        poold_set_str(n, "state", poold_job_state_name(j->state)) < 0 ||
        poold_set_uint(n, "done", j->done) < 0 || poold_set_uint(n, "total", j->total) < 0 ||
        poold_set_uint(n, "started", (uint64_t)j->started) < 0 ||
        (j->ended && poold_set_uint(n, "ended", (uint64_t)j->ended) < 0))
        return n ? -1 : pool_error_oom();
    if (j->state == POOLD_JOB_FAILED || j->state == POOLD_JOB_CANCELLED) {
        const char *code = pool_error_code_name(j->code);
        if (poold_set_str(n, "error", j->error) < 0 ||
            poold_set_str(n, "code", code ? code : "internal") < 0)
            return -1;
    }
    return 0;
}

static int param_id(const poolRequest *req, unsigned *id)
{
    const char *v;
    uint64_t n;
    if (poold_param_required(req, "id", &v) < 0 ||
        pool_parse_uint(v, "job id", 1, UINT32_MAX, &n) < 0)
        return -1;
    *id = (unsigned)n;
    return 0;
}

int poold_job_reply_id(poolDaemon *d, xmlNodePtr reply, unsigned id)
{
    poolJobInfo j;
    if (poold_jobs_info(d->jobs, id, &j) < 0)
        return -1;
    return job_reply(reply, &j);
}

static int job_list(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool = pool_request_get(req, "pool");
    if (pool && !pool_manager_find_exists(d->mgr, pool)) {
        pool_error(POOL_ERR_NO_POOL, "no pool named '%s' on this host", pool);
        return -1;
    }
    poolJobInfo *v = NULL;
    size_t n = 0;
    if (poold_jobs_list(d->jobs, pool, &v, &n) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = job_reply(reply, &v[i]);
    free(v);
    return r;
}

static int job_info(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    unsigned id;
    poolJobInfo j;
    if (param_id(req, &id) < 0 || poold_jobs_info(d->jobs, id, &j) < 0)
        return -1;
    return job_reply(reply, &j);
}

static int job_wait(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    unsigned id;
    poolJobInfo j;
    if (param_id(req, &id) < 0 || poold_jobs_wait(d->jobs, id, JOB_WAIT_MS, &j) < 0)
        return -1;
    return job_reply(reply, &j);
}

static int job_cancel(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    unsigned id;
    poolJobInfo j;
    if (param_id(req, &id) < 0 || poold_jobs_cancel(d->jobs, id) < 0 ||
        poold_jobs_info(d->jobs, id, &j) < 0)
        return -1;
    return job_reply(reply, &j);
}

/* ---- volume clone ------------------------------------------------------ */

typedef struct {
    poolDaemon *d;
    poolClone *clone;
    poolJob *job;
    char *pool;
    char *name;
} cloneJob;

static void clone_job_free(void *p)
{
    cloneJob *cj = p;
    if (!cj)
        return;
    pool_clone_free(cj->clone);
    free(cj->pool);
    free(cj->name);
    free(cj);
}

static int clone_progress(void *ctx, uint64_t done, uint64_t total)
{
    poolJob *job = ctx;
    poold_job_progress(job, done, total);
    return poold_job_cancelled(job) ? 1 : 0;
}

/* Under the pool's locks: the clone becomes a volume and a LUN. A LUN
 * whose blocks cannot be opened undoes the whole clone, as volume create
 * does. */
static int clone_commit(poolDaemon *d, const char *pool, void *ctx)
{
    cloneJob *cj = ctx;
    poolVolDef *def = pool_manager_vol_clone_commit(d->mgr, cj->clone);
    if (!def)
        return -1;
    poolEvent ev = {.kind = POOLD_EV_VOLUME_CREATED, .pool = pool, .volume = cj->name, .vol = def};
    int r = poold_emit(d, &ev);
    if (r < 0) {
        poolError *err = pool_error_save();
        if (pool_manager_vol_delete(d->mgr, pool, cj->name) < 0)
            log_vol(POOL_LOG_ERROR, pool, cj->name, "cannot undo the clone: %s",
                    pool_error_last_message());
        pool_error_restore(err);
    }
    pool_vol_def_free(def);
    return r;
}

static int clone_abort(poolDaemon *d, const char *pool, void *ctx)
{
    cloneJob *cj = ctx;
    return pool_manager_vol_clone_abort(d->mgr, cj->clone);
}

static int clone_run(poolJob *job, void *arg)
{
    cloneJob *cj = arg;
    cj->job = job;
    poold_job_progress(job, 0, pool_clone_size(cj->clone));
    int r = pool_clone_copy(cj->clone, clone_progress, job);
    if (r == 0 && poold_job_cancelled(job)) {
        pool_error(POOL_ERR_BUSY, "job %u cancelled", poold_job_id(job));
        r = -1;
    }
    bool committed = false;
    if (r == 0) {
        r = poold_with_pool(cj->d, cj->pool, clone_commit, cj);
        committed = r == 0;
    }
    if (r < 0 && !committed) {
        poolError *err = pool_error_save();
        if (poold_with_pool(cj->d, cj->pool, clone_abort, cj) < 0)
            log_vol(POOL_LOG_ERROR, cj->pool, cj->name,
                    "cannot remove the clone's partial target: %s (reconcile removes it at the "
                    "next start)",
                    pool_error_last_message());
        pool_error_restore(err);
    }
    return r;
}

/* A linked clone: made at once under the pool's locks (no job), then its
 * LUN added like a created volume's; a LUN that cannot be served undoes
 * it, as volume create does. */
static int vol_clone_linked(poolDaemon *d, const char *pool, const char *source,
                            const char *snapshot, const char *name, xmlNodePtr reply)
{
    if (poold_jobs_busy(d->jobs, pool, name))
        return -1;
    poolVolDef *def = pool_manager_vol_clone_linked(d->mgr, pool, source, snapshot, name);
    if (!def)
        return -1;
    poolEvent ev = {.kind = POOLD_EV_VOLUME_CREATED, .pool = pool, .volume = name, .vol = def};
    if (poold_emit(d, &ev) < 0) {
        poolError *err = pool_error_save();
        if (pool_manager_vol_delete(d->mgr, pool, name) < 0)
            log_vol(POOL_LOG_ERROR, pool, name, "cannot undo the linked clone: %s",
                    pool_error_last_message());
        pool_error_restore(err);
        pool_vol_def_free(def);
        return -1;
    }
    xmlNodePtr node = pool_vol_def_format_node(def);
    pool_vol_def_free(def);
    if (!node)
        return -1;
    xmlAddChild(reply, node);
    return 0;
}

static int vol_clone(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *source, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "source", &source) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    bool linked = false;
    const char *snapshot = pool_request_get(req, "snapshot");
    if (pool_request_get_bool(req, "linked", false, &linked) < 0)
        return -1;
    if (linked && !snapshot) {
        pool_error(POOL_ERR_INVALID_ARG, "a linked clone needs --snapshot (templates are not "
                                         "built yet)");
        return -1;
    }
    if (!linked && snapshot) {
        pool_error(POOL_ERR_UNSUPPORTED, "a full clone of a snapshot is not built yet");
        return -1;
    }
    if (linked)
        return vol_clone_linked(d, pool, source, snapshot, name, reply);
    if (poold_jobs_busy(d->jobs, pool, source) || poold_jobs_busy(d->jobs, pool, name)) {
        /* a volume a job is making or reading: say which job */
        return -1;
    }
    cloneJob *cj = pool_calloc(1, sizeof(*cj));
    if (!cj || !(cj->pool = pool_strdup(pool)) || !(cj->name = pool_strdup(name))) {
        clone_job_free(cj);
        return -1;
    }
    cj->d = d;
    if (!(cj->clone = pool_manager_vol_clone_begin(d->mgr, pool, source, name))) {
        clone_job_free(cj);
        return -1;
    }
    /* begin left the target tagged pd_op:clone: if the job cannot even
     * start, undo it here (we still hold the pool's locks) */
    poolClone *clone = cj->clone;
    unsigned id =
        poold_job_start(d->jobs, "clone", pool, name, source, clone_run, cj, clone_job_free);
    if (id == 0) {
        poolError *err = pool_error_save();
        if (pool_manager_vol_clone_abort(d->mgr, clone) < 0)
            log_vol(POOL_LOG_ERROR, pool, name, "cannot undo the clone's target: %s",
                    pool_error_last_message());
        pool_error_restore(err);
        clone_job_free(cj);
        return -1;
    }
    poolJobInfo j;
    if (poold_jobs_info(d->jobs, id, &j) < 0)
        return -1;
    return job_reply(reply, &j);
}

int poold_jobs_check_request(poolDaemon *d, const poolOpSpec *spec, const poolRequest *req)
{
    if (!d->jobs)
        return 0;
    const char *pool = NULL, *vol = NULL;
    if (strcmp(spec->op, "pool-destroy") == 0)
        pool = pool_request_get(req, "name");
    else if (strcmp(spec->op, "host-leave") == 0)
        pool = pool_request_get(req, "pool");
    else if (spec->lock == POOL_OP_LOCK_POOL && strcmp(spec->op, "volume-clone") != 0) {
        /* a change of a volume a job makes or reads */
        pool = pool_request_get(req, "pool");
        vol = pool_request_get(req, "name");
        if (!vol)
            vol = pool_request_get(req, "volume");
        if (!vol)
            return 0;
    } else {
        return 0;
    }
    return pool && poold_jobs_busy(d->jobs, pool, vol) ? -1 : 0;
}

const poolDispatchEntry poold_job_handlers[] = {
    {"volume-clone", vol_clone}, {"job-list", job_list},     {"job-info", job_info},
    {"job-wait", job_wait},      {"job-cancel", job_cancel}, {NULL, NULL},
};
