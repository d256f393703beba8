/*
 * volume_ops.h (private): the steps of volume create and the lookups of
 * volume_ops.c that a clone (volume_clone.c) shares, so a clone's target
 * is made exactly as a new volume is. Call with the pool's request mutex
 * and (sanlock pools) the pool-metadata lease held.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_VOLUME_OPS_H
#define POOL_VOLUME_OPS_H

#include "manager.h"

/* The snapshot a change starts from, strays of crashed hosts repaired
 * (cluster.c). 0, or -1 with the error set. */
int pool_vol_snapshot_for_change(poolEntry *e, poolSnapshot *snap);
/* The volume's LV in snap (a valid name, an LV with pd_uuid), or NULL with
 * POOL_ERR_NO_VOLUME (or the name's error). */
const poolLvmLV *pool_vol_find(poolEntry *e, const poolSnapshot *snap, const char *name);
/* The volume's definition (with its lease's address), or NULL. */
poolVolDef *pool_vol_def_from_snapshot(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv);
/* Can a new volume `name` of `extents` be made: the pool idle, the name
 * free, room in extents and in the metadata area. 0, or -1 with the error. */
int pool_vol_check_new(poolEntry *e, const poolSnapshot *snap, const char *name, uint64_t extents);
/* Allocate a lease slot and LUN, write the lease, record the LUN, then
 * lvcreate `name` with every identity tag and pd_op:<op>. Clears *snap
 * whatever happens. 0, or -1 with the error set and no LV made. */
int pool_vol_create_intent(poolManager *mgr, poolEntry *e, poolSnapshot *snap, const char *name,
                           uint64_t extents, const char *op);

#endif
