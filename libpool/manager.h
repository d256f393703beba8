/*
 * manager.h (private): the poolManager's insides, shared by pool_ops.c,
 * volume_ops.c and reconcile.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_MANAGER_H
#define POOL_MANAGER_H

#include "pool-config.h"
#include "pool-lvm.h"
#include "pool-ops.h"
#include "pool-xml.h"
#include "lvm_mda.h"

typedef struct {
    poolPoolDef *def; /* the record, without status */
    poolLvm *lvm;     /* restricted to def->devices */
    /* The pool's PVs as last reported by `pvs`, for pe_start only: a PV's
     * first-extent offset is fixed when it is created and never changes, so
     * snapshots reuse it instead of running pvs every time. Refreshed when a
     * segment names a PV not in it or the VG's pv_count differs (see
     * pool_snapshot_load); dropped with the entry (pool destroy, create,
     * import all make a new entry). poold is single-threaded. */
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

poolEntry *pool_manager_find(poolManager *mgr, const char *name);
poolLvm *pool_manager_lvm_new(poolManager *mgr, char *const *devices);
int pool_snapshot_load(poolEntry *e, poolSnapshot *snap);
void pool_snapshot_clear(poolSnapshot *snap);
const poolLvmLV *pool_snapshot_find_lv(const poolSnapshot *snap, const char *name);

/* Undo a pool create (any step); removes the entry from the manager when
 * `e` is registered. Returns 0 when everything is gone. */
int pool_create_rollback(poolManager *mgr, poolEntry *e);
/* Finish a pool destroy from whatever state it reached. */
int pool_destroy_finish(poolManager *mgr, poolEntry *e);
void pool_manager_drop_entry(poolManager *mgr, poolEntry *e);

/* ---- cluster.c ---- */
/* Take the pool-metadata lease for a VG change (nested calls count; a pool
 * without locking needs nothing). Bounded by cfg->lease_wait; POOL_ERR_BUSY
 * names the holder. */
int pool_cluster_lock(poolManager *mgr, poolEntry *e);
/* Release it; keeps the caller's error. */
void pool_cluster_unlock(poolManager *mgr, poolEntry *e);
/* With the lease held (or in a pool without locking, where no operation of
 * another request can be running): finish or undo volume operations that a
 * crashed or dead host left tagged pd_op. Returns the number repaired (the
 * caller reloads its snapshot when > 0) or -1. */
int pool_cluster_repair_strays(poolEntry *e, const poolSnapshot *snap);
/* Write a fresh lease for a new volume into its slot (sanlock pools). */
int pool_cluster_format_volume_lease(poolManager *mgr, poolEntry *e, const poolSnapshot *snap,
                                     int slot, const char *uuid, const char *name);
/* Hold the volume's lease for the length of a delete (wait 0): nobody can
 * take it between the check and the lvremove. POOL_ERR_BUSY naming the
 * holder when some host (this one included) has it. drop releases it and
 * keeps the caller's error. No-ops for pools without locking. */
int pool_cluster_hold_volume(poolManager *mgr, poolEntry *e, const poolVolDef *vol);
void pool_cluster_drop_volume(poolManager *mgr, poolEntry *e, const poolVolDef *vol);
/* Refuse (POOL_ERR_BUSY) when some host holds the volume's lease. */
int pool_cluster_check_lease_free(poolManager *mgr, poolEntry *e, const poolVolDef *vol);
/* Format the lockspace and the pool-metadata lease of a new sanlock pool. */
int pool_cluster_format_pool(poolManager *mgr, poolEntry *e);
void pool_cluster_entry_clear(poolEntry *e);
void pool_cluster_manager_clear(poolManager *mgr);
/* reconcile.c: one volume's interrupted operation */
int pool_reconcile_volume(poolEntry *e, const poolLvmLV *lv, const char *op);

#endif
