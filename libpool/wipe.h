/*
 * wipe.h (private): zeroing a deleted volume's extents before LVM may hand
 * them out again (wipe.c; docs/design.md section 7, "Freed extents"). The
 * zeroing needs only the PV paths and byte ranges of the LV's segment map,
 * no manager state, so it can run wherever the caller likes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_WIPE_H
#define POOL_WIPE_H

#include <stddef.h>
#include <stdint.h>

#include "manager.h"
#include "pool-xml.h"

/* How much one BLKZEROOUT (or write) covers: progress is logged and the
 * crash point vol-delete:mid-wipe fires between two chunks. */
#define POOL_WIPE_CHUNK (64ull * 1024 * 1024)

/* One step of a wipe: the range that follows `done` bytes of the LV
 * (counted along the segment map), at most `chunk` bytes and never across a
 * segment. Returns 1 with *seg, *pv_offset, *len set, 0 once `done` covers
 * the whole map, -1 (POOL_ERR_INVALID_ARG) for chunk 0. Pure. */
int pool_wipe_step(const poolSegment *segs, size_t n, uint64_t done, uint64_t chunk, size_t *seg,
                   uint64_t *pv_offset, uint64_t *len);

/* Zero every byte of the segments on their PVs from LV offset `from` to
 * the end (0: all of it; a shrink: the tail it frees): BLKZEROOUT where the
 * device takes it (it guarantees zeroes, unlike a discard), otherwise
 * writes of zeroes; then flushed. Idempotent: run it again after a crash.
 * `pool` and `lv` are for the log only. */
int pool_wipe_segments(const char *pool, const char *lv, const poolSegment *segs, size_t n,
                       uint64_t from);

/* How much longer than map_max_age_ms a deleting host waits before it
 * zeroes and frees: commands that began just before another host's map
 * went stale may still be running. */
#define POOL_MAP_MARGIN_MS 1000

/* In a sanlock pool, after the LV was tagged pd_op:delete and before its
 * extents are zeroed: wait until every live host's target has dropped the
 * LV's segment map or stopped using it (map_max_age_ms + margin; see
 * docs/design.md section 7, "Freed extents"). The manager's idle hook runs
 * meanwhile. No wait in other pools or with map_max_age_ms = 0. */
void pool_wipe_wait_maps(poolEntry *e, const char *lv);

/* Zero an LV of the pool from LV offset `from` to its end (its map read
 * with the entry's PV cache, which the caller's snapshot has brought up to
 * date). */
int pool_wipe_lv(poolEntry *e, const poolLvmLV *lv, uint64_t from);

#endif
