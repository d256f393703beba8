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
} poolEntry;

struct poolManager {
    const poolConfig *cfg;
    char *pools_dir;
    char *lvm_system_dir; /* private LVM_SYSTEM_DIR (lvm_run.c), NULL: host's */
    bool activation;
    poolEntry **pools;
    size_t npools;
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

#endif
