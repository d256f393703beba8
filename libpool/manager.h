/*
 * manager.h (private): the poolManager's insides (manager.c), shared by the
 * files above it: cluster.c, volume_ops.c, volume_lun_access.c, pool_ops.c,
 * vm_ops.c and reconcile.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_MANAGER_H
#define POOL_MANAGER_H

#include <pthread.h>

#include "pool-config.h"
#include "pool-lvm.h"
#include "pool-ops.h"
#include "pool-xml.h"
#include "lvm_mda.h"

/* Threads (poold runs requests on worker threads; docs/design.md
 * "Concurrency"): an entry is added and dropped only while no other
 * request runs (poold's GLOBAL ops), and def changes only then too, but
 * for def->store_url/store_timeout_ms (pool set-store, under mu). What
 * requests of one pool may change at the same time is guarded by `mu`,
 * held for short, never across a command, lease wait or I/O: pv_cache and
 * the lockspace cache (ls, meta_pv, meta_offset). lock_depth belongs to the
 * one request that changes the pool (poold's per-pool mutex); have_fp, fp
 * and seqno to the one refresh thread. The manager's holder is guarded
 * by the manager's holder_mu. */
typedef struct {
    pthread_mutex_t mu;
    struct poolManager *mgr; /* the manager it belongs to (not owned) */
    poolPoolDef *def;        /* the record, without status */
    poolLvm *lvm;            /* restricted to def->devices */
    /* The pool's PVs as last reported by `pvs`, for pe_start only: a PV's
     * first-extent offset is fixed when it is created and never changes, so
     * snapshots reuse it instead of running pvs every time. Refreshed when a
     * segment names a PV not in it or the VG's pv_count differs (see
     * pool_snapshot_load); dropped with the entry (pool destroy, create,
     * import all make a new entry). Under mu. */
    poolLvmPV *pv_cache;
    size_t npv_cache;
    /* sanlock pools (cluster.c): the lockspace and the pool-metadata
     * lease's address, built from the ids/leases LVs' maps on first use
     * (those LVs never move); NULL/0 until then and for pools without
     * locking. */
    struct poolLockspace *ls;
    char *meta_pv;
    uint64_t meta_offset;
    int lock_depth; /* > 0 while this host holds the pool-metadata lease */
    /* change detection (pool_manager_pool_changed): the last metadata
     * commit seen, by mda header or (fallback) VG seqno */
    bool have_fp;
    poolMdaFingerprint fp;
    uint64_t seqno;
    /* LVs a running job of this process works on between its steps (a
     * clone's target, tagged pd_op:clone while it is copied): stray repair
     * leaves them alone, since their pd_op was not left by a crash.
     * NULL-terminated or NULL. Under mu. */
    char **claimed;
} poolEntry;

struct poolManager {
    const poolConfig *cfg;
    char *pools_dir;
    char *lvm_system_dir; /* private LVM_SYSTEM_DIR (lvm_run.c), NULL: host's */
    bool activation;
    poolEntry **pools;
    size_t npools;
    /* the sanlock client connection that holds this process's leases
     * (cluster.c); created on first use */
    struct poolLeaseHolder *holder;
    /* holders replaced after the sanlock daemon restarted: another thread
     * may still be using one, so they are freed with the manager */
    struct poolLeaseHolder **retired;
    size_t nretired;
    pthread_mutex_t holder_mu; /* holder and retired */
    /* pool_manager_set_idle_hook: run during long waits (wipe.c) */
    void (*idle)(void *ctx);
    void *idle_ctx;
};

/* What LVM says about one pool right now (VG and LVs from one `lvs`; PVs
 * from the entry's cache, so only name and pe_start are meant to be used:
 * other PV fields may be as old as the cache). */
typedef struct {
    poolLvmVG *vg;
    poolLvmLV *lvs;
    size_t nlvs;
    poolLvmPV *pvs;
    size_t npvs;
} poolSnapshot;

/* ---- manager.c ---- */
poolEntry *pool_manager_find(poolManager *mgr, const char *name);
poolLvm *pool_manager_lvm_new(poolManager *mgr, char *const *devices);
int pool_snapshot_load(poolEntry *e, poolSnapshot *snap);
void pool_snapshot_clear(poolSnapshot *snap);
const poolLvmLV *pool_snapshot_find_lv(const poolSnapshot *snap, const char *name);

/* A new entry for a pool record (takes `def`), not yet registered. */
poolEntry *pool_entry_new(poolManager *mgr, poolPoolDef *def);
void pool_entry_free(poolEntry *e);
int pool_manager_add_entry(poolManager *mgr, poolEntry *e);
/* Unregister (when registered) and free. */
void pool_manager_drop_entry(poolManager *mgr, poolEntry *e);
/* Forget the sanlock state cluster.c cached in an entry / the manager. */
void pool_entry_drop_lockspace(poolEntry *e);
void pool_manager_drop_holder(poolManager *mgr);

/* The LVs a running job holds between its steps (poolEntry.claimed):
 * claim 0, or -1 out of memory; release forgets it (no error). */
int pool_entry_claim_lv(poolEntry *e, const char *lv);
void pool_entry_release_lv(poolEntry *e, const char *lv);
bool pool_entry_lv_claimed(poolEntry *e, const char *lv);

#endif
