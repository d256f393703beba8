/*
 * pool-clone.h: a full copy of a volume into a new raw volume
 * (volume_clone.c; docs/design.md section 6, "Volume clone"). The copy is
 * long, so it comes in steps a caller can run apart: begin and commit or
 * abort are short LVM steps (poold runs them under the pool's request
 * mutex), the copy runs without any lock, on a job's thread.
 *
 *   begin:  checks; the target LV made like a new volume, tagged
 *           pd_op:clone (never a LUN while tagged; a crash leaves it to
 *           reconcile, which zeroes and removes it)
 *   copy:   the source's extents to the target's, PV to PV
 *   commit: pd_op:clone removed: the new volume exists
 *   abort:  the target zeroed and removed
 *
 * The poolClone owns copies of its names and maps; free it with
 * pool_clone_free after commit or abort (freeing it without either leaves
 * the target to reconcile).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_CLONE_H
#define POOL_CLONE_H

#include <stdbool.h>
#include <stdint.h>

#include "pool-ops.h"

typedef struct poolClone poolClone;

/* NULL with the error set (no such pool or source, bad or taken name, no
 * room; in a sanlock pool, a source whose lease another holder has) and
 * nothing made. In a sanlock pool the clone holds the source's and the
 * target's leases until commit or abort. */
poolClone *pool_manager_vol_clone_begin(poolManager *mgr, const char *pool, const char *source,
                                        const char *name);
/* A linked clone: a new volume `name` whose top is an empty qcow2 image
 * over snapshot `snapshot` of volume `source` (instant, no job). The new
 * volume's definition, or NULL with the error set and nothing made. */
poolVolDef *pool_manager_vol_clone_linked(poolManager *mgr, const char *pool, const char *source,
                                          const char *snapshot, const char *name);
/* Bytes to copy (the source's size). */
uint64_t pool_clone_size(const poolClone *c);
/* Called after each chunk with the bytes copied so far; a non-zero return
 * stops the copy (cancelled). */
typedef int (*poolCloneProgress)(void *ctx, uint64_t done, uint64_t total);
/* Copy, then flush. 0; -1 with the error set (a cancel: POOL_ERR_BUSY
 * "cancelled"). Touches no LVM metadata and takes no lock. */
int pool_clone_copy(poolClone *c, poolCloneProgress progress, void *ctx);
/* The new volume's definition, or NULL with the error set (then abort). */
poolVolDef *pool_manager_vol_clone_commit(poolManager *mgr, poolClone *c);
/* Zero and remove the target (idempotent; its LV may be gone already). */
int pool_manager_vol_clone_abort(poolManager *mgr, poolClone *c);
void pool_clone_free(poolClone *c);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolClone, pool_clone_free)

#endif
