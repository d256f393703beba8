/*
 * reconcile.h (private): the repair steps of interrupted operations. One
 * volume's (reconcile_volume.c) is used by cluster.c for strays and by
 * reconcile.c at start; a pool's (pool_ops.c) only by reconcile.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_RECONCILE_H
#define POOL_RECONCILE_H

#include "manager.h"

/* reconcile_volume.c: finish or undo one volume's interrupted operation
 * (its pd_op tag value `op`). */
int pool_reconcile_volume(poolEntry *e, const poolLvmLV *lv, const char *op);

/* pool_ops.c: undo a pool create (any step); removes the entry from the
 * manager when `e` is registered. Returns 0 when everything is gone. */
int pool_create_rollback(poolManager *mgr, poolEntry *e);
/* pool_ops.c: finish a pool destroy from whatever state it reached. */
int pool_destroy_finish(poolManager *mgr, poolEntry *e);

#endif
