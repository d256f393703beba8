/*
 * reconcile.h (private): the repair steps of interrupted operations. One
 * volume's (reconcile_volume.c) is used by cluster.c for strays and by
 * reconcile.c at start; a pool's (pool_ops.c) only by reconcile.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_RECONCILE_H
#define POOL_RECONCILE_H

#include "layer_tree.h"
#include "manager.h"

/* reconcile_volume.c: finish or undo one volume's interrupted operation
 * (its pd_op tag value `op`). */
int pool_reconcile_volume(poolEntry *e, const poolLvmLV *lv, const char *op);

/* reconcile_snapshot.c: finish or undo every interrupted snapshot create,
 * revert and delete (layer_tree.h decides which); reads the pool again
 * after each repair, starting from `snap` (NULL: read it). Returns the number of repairs
 * or -1. */
int pool_reconcile_snapshots(poolEntry *e, const poolSnapshot *snap);
/* reconcile_snapshot.c: the steps after a snapshot create's or revert's
 * commit, for its new top (node, of kind POOL_LT_NEW): move the LV that
 * holds the volume name aside, rename the new top to it, and in one
 * lvchange swap its intent tags for the volume's identity and
 * pd_parent:parent_uuid. Crash points "snap-create:", "snap-revert:" or
 * (a repair) "snap-repair:" + after-rename-old, after-rename-new,
 * after-commit. */
typedef enum { POOL_SNAP_CREATE, POOL_SNAP_REVERT, POOL_SNAP_REPAIR } poolSnapFinisher;
int pool_snapshot_finish_new(poolEntry *e, const poolLayerTree *t, size_t node,
                             const char *parent_uuid, poolSnapFinisher who);

/* pool_ops.c: undo a pool create (any step); removes the entry from the
 * manager when `e` is registered. Returns 0 when everything is gone. */
int pool_create_rollback(poolManager *mgr, poolEntry *e);
/* pool_ops.c: finish a pool destroy from whatever state it reached. */
int pool_destroy_finish(poolManager *mgr, poolEntry *e);

#endif
