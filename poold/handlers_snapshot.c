/*
 * handlers_snapshot.c: snapshot-* requests (libpool snapshot_ops.c does the
 * LV work). A create or revert swaps the LV behind the volume's LUN, so on
 * this host the LUN is refused while sessions use it, taken out of the
 * target before the swap and put back (over the new LV, with the snapshot
 * layers' read-only LUNs) by the pool sync after it; other hosts re-add it
 * at their next refresh (target_sync.c: "the volume's LV changed").
 *
 * Replies: <result type="snapshots" pool=".." volume=".."> with one
 * <snapshot name layer lv format created capacity allocation lun parent
 * depth current children state/> per snapshot.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "jobs.h"
#include "nbd_server.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-ops.h"
#include "poold.h"
#include "qemu_img.h"
#include "testhook.h"

static int add_snaps(xmlNodePtr reply, const char *pool, const char *volume, const poolSnapInfo *s,
                     size_t n, const char *only)
{
    xmlNodePtr r = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (!r || poold_set_str(r, "type", "snapshots") < 0 || poold_set_str(r, "pool", pool) < 0 ||
        poold_set_str(r, "volume", volume) < 0)
        return r ? -1 : pool_error_oom();
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(s[i].name, only) != 0)
            continue;
        xmlNodePtr x = xmlNewChild(r, NULL, BAD_CAST "snapshot", NULL);
        if (!x)
            return pool_error_oom();
        if (poold_set_str(x, "name", s[i].name) < 0 || poold_set_str(x, "layer", s[i].layer) < 0 ||
            poold_set_str(x, "lv", s[i].lv) < 0 || poold_set_str(x, "format", s[i].format) < 0 ||
            poold_set_uint(x, "created", (uint64_t)s[i].created) < 0 ||
            poold_set_uint(x, "capacity", s[i].capacity) < 0 ||
            poold_set_uint(x, "allocation", s[i].allocation) < 0 ||
            poold_set_uint(x, "lun", (uint64_t)(s[i].lun < 0 ? 0 : s[i].lun)) < 0 ||
            (s[i].parent && poold_set_str(x, "parent", s[i].parent) < 0) ||
            poold_set_uint(x, "depth", s[i].depth) < 0 ||
            poold_set_str(x, "current", s[i].current ? "yes" : "no") < 0 ||
            poold_set_uint(x, "children", s[i].nchildren) < 0 ||
            poold_set_str(x, "state", s[i].state) < 0)
            return -1;
    }
    return 0;
}

static int reply_snaps(poolDaemon *d, xmlNodePtr reply, const char *pool, const char *volume,
                       const char *only)
{
    poolSnapInfo *s = NULL;
    size_t n = 0;
    if (pool_manager_snapshot_list(d->mgr, pool, volume, &s, &n) < 0)
        return -1;
    bool found = !only;
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(s[i].name, only) == 0;
    int r = found ? add_snaps(reply, pool, volume, s, n, only) : -1;
    if (!found)
        pool_error(POOL_ERR_NO_VOLUME, "volume %s of pool %s has no snapshot named '%s'", volume,
                   pool, only);
    pool_snap_infos_free(s, n);
    return r;
}

/* The LUN of a volume whose LV is about to be swapped: refused while
 * sessions of this host's target use it, else taken out of the target.
 * *lun_out: the LUN removed (-1: none). */
static int take_lun_of(poolDaemon *d, const char *pool, const char *volume, int lun,
                       const char *what, int *lun_out)
{
    *lun_out = -1;
    if (!d->ex || lun < 0 || !poold_export_vol_exported(d->ex, pool, lun))
        return 0;
    POOL_AUTOSTRV names = poold_export_lun_initiators(d->ex, pool, lun);
    if (!names)
        return -1;
    if (names[0]) {
        char list[512] = "";
        for (size_t i = 0, len = 0; names[i] && len < sizeof(list); i++)
            len +=
                (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
        pool_error(POOL_ERR_BUSY,
                   "%s %s is in use: LUN %d of this host's target has sessions of %s; "
                   "snapshots are offline (--live is not built yet): log them out first",
                   what, volume, lun, list);
        return -1;
    }
    poold_export_vol_remove(d->ex, pool, lun);
    *lun_out = lun;
    return 0;
}

static int take_lun(poolDaemon *d, const char *pool, const char *volume, const char *snap,
                    int *lun_out)
{
    *lun_out = -1;
    if (!snap) {
        POOL_AUTOPTR(poolVolDef) vol = pool_manager_vol_info(d->mgr, pool, volume);
        return vol ? take_lun_of(d, pool, volume, vol->lun, "volume", lun_out) : -1;
    }
    /* a snapshot being deleted: its read-only LUN goes first */
    poolSnapInfo *s = NULL;
    size_t n = 0;
    if (pool_manager_snapshot_list(d->mgr, pool, volume, &s, &n) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, snap) == 0)
            r = take_lun_of(d, pool, s[i].lv, s[i].lun, "snapshot layer", lun_out);
    pool_snap_infos_free(s, n);
    return r;
}

int poold_snapshot_luns_take(poolDaemon *d, const char *pool, const char *volume, int *taken)
{
    *taken = 0;
    poolSnapInfo *s = NULL;
    size_t n = 0;
    if (!d->ex || !pool_manager_find_exists(d->mgr, pool))
        return 0;
    if (pool_manager_snapshot_list(d->mgr, pool, volume, &s, &n) < 0) {
        /* no such volume: the delete says so itself */
        pool_error_reset();
        return 0;
    }
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        int lun = -1;
        r = take_lun_of(d, pool, s[i].lv, s[i].lun, "snapshot layer", &lun);
        if (lun >= 0)
            (*taken)++;
    }
    pool_snap_infos_free(s, n);
    return r;
}

/* After the operation, success or not: the target and libvirt follow the
 * pool as it is now (the LUN comes back over whatever LV is the volume). */
static void resync(poolDaemon *d, const char *pool)
{
    poolError *err = pool_error_save();
    poold_emit(d, &(poolEvent){.kind = POOLD_EV_POOL_CHANGED, .pool = pool});
    pool_error_restore(err);
}

typedef int (*snapOp)(poolManager *mgr, const char *pool, const char *volume, const char *name);

/* layer_lun: the LUN taken out is the snapshot's (delete), not the
 * volume's (create, revert) */
static int swap_op(poolDaemon *d, const poolRequest *req, xmlNodePtr reply, snapOp op,
                   bool layer_lun)
{
    const char *pool, *volume, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "volume", &volume) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    int lun = -1;
    if (take_lun(d, pool, volume, layer_lun ? name : NULL, &lun) < 0)
        return -1;
    int r = op(d->mgr, pool, volume, name);
    resync(d, pool);
    if (r < 0)
        return -1;
    if (layer_lun) /* a delete has nothing left to show */
        return 0;
    return reply_snaps(d, reply, pool, volume, op == pool_manager_snapshot_create ? name : NULL);
}

static int snap_create(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    return swap_op(d, req, reply, pool_manager_snapshot_create, false);
}

static int snap_revert(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    return swap_op(d, req, reply, pool_manager_snapshot_revert, false);
}

/* A merge: its rebases report progress to and stop for its job (NULL:
 * the merge poold finishes at start, no job). */
typedef struct {
    poolDaemon *d;
    poolJob *job;
    char *pool, *volume, *name;
    uint64_t size; /* of the child being rebased, for the progress */
} mergeCtx;

static bool merge_cancelled(void *opaque)
{
    mergeCtx *m = opaque;
    return m->job && poold_job_cancelled(m->job);
}

static void merge_progress(void *opaque, double pct)
{
    mergeCtx *m = opaque;
    if (m->job)
        poold_job_progress(m->job, (uint64_t)((double)m->size * pct / 100.0), m->size);
}

/* The merge's rebase of one child (pool_manager_snapshot_delete_merge):
 * the child (rw) and its backing chain (ro) served by poold's private NBD
 * server, a safe qemu-img rebase of the child onto chain[1..] (or onto
 * nothing), its header's backing name cleared. A cancel kills qemu-img:
 * the child's view is what it was (the rebase copies before it drops
 * anything), it still names the layer, and the merge stays to be
 * finished. */
static int merge_rebase(void *ctx, const poolVolDef *child, const poolVolDef *const *chain,
                        size_t n)
{
    mergeCtx *m = ctx;
    if (n + 1 > POOL_QEMU_CHAIN_MAX + 1) {
        pool_error(POOL_ERR_INVALID_ARG, "chain of %s too deep to merge", child->name);
        return -1;
    }
    pool_testhook("snap-delete:child"); /* for POOLD_TEST_SLOW_AT: a cancel lands here */
    if (merge_cancelled(m)) {
        pool_error(POOL_ERR_BUSY, "job %u cancelled", poold_job_id(m->job));
        return -1;
    }
    POOL_AUTOFREE(char *) dir = pool_asprintf("%s/run", m->d->cfg->state_dir);
    poolNbdExport ex[POOL_QEMU_CHAIN_MAX + 2];
    char names[POOL_QEMU_CHAIN_MAX + 2][24];
    poolQemuLayer ql[POOL_QEMU_CHAIN_MAX + 2];
    size_t nex = 0;
    char *sock = NULL, *top = NULL, *alone = NULL, *back = NULL;
    poolNbd *srv = NULL;
    int r = -1;
    memset(ex, 0, sizeof(ex));
    m->size = child->capacity;
    if (!dir)
        goto out;
    for (size_t i = 0; i <= n; i++) {
        const poolVolDef *v = i == 0 ? child : chain[i - 1];
        snprintf(names[i], sizeof(names[i]), "l%zu", i);
        if (poold_nbd_export_open(v, names[i], i == 0, &ex[i]) < 0)
            goto out;
        nex++;
    }
    if (!(srv = poold_nbd_start(dir, ex, nex, &sock)))
        goto out;
    for (size_t i = 0; i <= n; i++)
        ql[i] = (poolQemuLayer){.format = i == 0 ? child->format : chain[i - 1]->format,
                                .socket_path = sock,
                                .export_name = names[i]};
    if (!(top = poold_qemu_chain_json(ql, n + 1)) || !(alone = poold_qemu_chain_json(ql, 1)) ||
        (n > 1 && !(back = poold_qemu_chain_json(ql + 2, n - 1))))
        goto out;
    poolQemuImgRun run = {
        .timeout_ms = 0, .cancel = merge_cancelled, .progress = merge_progress, .opaque = m};
    r = poold_qemu_img_rebase(top, alone, back, n > 1 ? chain[1]->format : NULL, dir, &run);
out:
    poold_nbd_stop(srv);
    for (size_t i = 0; i < nex; i++)
        poold_nbd_export_close(&ex[i]);
    free(sock);
    free(top);
    free(alone);
    free(back);
    return r;
}

int poold_snapshot_merge_resume(poolDaemon *d)
{
    mergeCtx m = {.d = d};
    return pool_manager_snapshot_merge_resume(d->mgr, merge_rebase, &m);
}

static void merge_free(void *p)
{
    mergeCtx *m = p;
    if (!m)
        return;
    free(m->pool);
    free(m->volume);
    free(m->name);
    free(m);
}

/* Under the pool's locks, on the job's thread. */
static int merge_locked(poolDaemon *d, const char *pool, void *ctx)
{
    mergeCtx *m = ctx;
    int r = pool_manager_snapshot_delete_merge(d->mgr, pool, m->volume, m->name, merge_rebase, m);
    if (r < 0 && merge_cancelled(m)) {
        pool_error(POOL_ERR_BUSY,
                   "job %u cancelled: snapshot %s of %s is partly merged (its layer keeps "
                   "pd_op:merge, every view unchanged); deleting it again or a restart finishes it",
                   poold_job_id(m->job), m->name, m->volume);
    }
    resync(d, pool);
    return r;
}

static int merge_run(poolJob *job, void *arg)
{
    mergeCtx *m = arg;
    m->job = job;
    return poold_with_pool(m->d, m->pool, merge_locked, m);
}

static int snap_delete(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *volume, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "volume", &volume) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    /* with children (or a merge under way) the layer's data is merged
     * into them, as a job: the volume's top and its later snapshots are
     * rewritten, so their LUNs go as for a create */
    poolSnapInfo *s = NULL;
    size_t n = 0;
    bool merge = false;
    if (pool_manager_snapshot_list(d->mgr, pool, volume, &s, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            merge = s[i].nchildren > 0 || strcmp(s[i].state, "merge") == 0;
    pool_snap_infos_free(s, n);
    if (!merge)
        /* the layer's read-only LUN: this host drops it first, every
         * other host when it sees the layer's delete intent
         * (target_sync.c) */
        return swap_op(d, req, reply, pool_manager_snapshot_delete, true);
    int taken = 0, vlun = -1;
    if (poold_snapshot_luns_take(d, pool, volume, &taken) < 0 ||
        take_lun(d, pool, volume, NULL, &vlun) < 0) {
        resync(d, pool);
        return -1;
    }
    mergeCtx *m = pool_calloc(1, sizeof(*m));
    if (!m || !(m->pool = pool_strdup(pool)) || !(m->volume = pool_strdup(volume)) ||
        !(m->name = pool_strdup(name))) {
        merge_free(m);
        resync(d, pool);
        return -1;
    }
    m->d = d;
    unsigned id = poold_job_start(d->jobs, "merge", pool, volume, NULL, merge_run, m, merge_free);
    if (id == 0) {
        merge_free(m);
        resync(d, pool);
        return -1;
    }
    return poold_job_reply_id(d, reply, id);
}

static int snap_list(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *volume;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "volume", &volume) < 0)
        return -1;
    return reply_snaps(d, reply, pool, volume, NULL);
}

static int snap_info(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *volume, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "volume", &volume) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    return reply_snaps(d, reply, pool, volume, name);
}

const poolDispatchEntry poold_snapshot_handlers[] = {
    {"snapshot-create", snap_create}, {"snapshot-revert", snap_revert},
    {"snapshot-delete", snap_delete}, {"snapshot-list", snap_list},
    {"snapshot-info", snap_info},     {NULL, NULL},
};
