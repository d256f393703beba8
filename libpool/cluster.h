/*
 * cluster.h (private): what cluster.c offers the operations above it
 * (volume_ops.c, volume_lun_access.c, pool_ops.c, vm_ops.c, reconcile.c): the
 * pool-metadata lease around a VG change, volume leases, stray repair.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_CLUSTER_H
#define POOL_CLUSTER_H

#include "manager.h"

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
/* Hold the volume's lease for the length of a shrink (wait 0), like a
 * delete, but a holder on this host does not refuse it (the shrink cuts
 * and drains this host's LUN first): *held says whether it was taken here
 * and must be dropped. POOL_ERR_BUSY naming the holder when another host
 * has it. */
int pool_cluster_hold_volume_shrink(poolManager *mgr, poolEntry *e, const poolVolDef *vol,
                                    bool *held);
/* Hold the volume's lease for an offline snapshot create, revert or
 * delete (wait 0): refused (POOL_ERR_BUSY, naming the holder and `what`)
 * when any other process, on any host, holds it; poold's own hold here is
 * fine. *held: taken here, to be dropped. */
int pool_cluster_hold_volume_offline(poolManager *mgr, poolEntry *e, const poolVolDef *vol,
                                     const char *what, bool *held);
void pool_cluster_drop_volume(poolManager *mgr, poolEntry *e, const poolVolDef *vol);
/* Refuse (POOL_ERR_BUSY) when some host holds the volume's lease. */
int pool_cluster_check_lease_free(poolManager *mgr, poolEntry *e, const poolVolDef *vol);
/* Format the lockspace and the pool-metadata lease of a new sanlock pool. */
int pool_cluster_format_pool(poolManager *mgr, poolEntry *e);

#endif
