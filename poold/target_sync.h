/*
 * target_sync.h: poold's side of the embedded iSCSI target — which volumes
 * are LUNs of which target, kept in step with every create, resize and
 * delete, and which LUNs take writes (the lease rule). The functions keep
 * their historical poold_export_* names: "export" here means "offered as a
 * LUN of this host's target", the same sense as `poolctl volume export`.
 * One target per pool (TGT_IQN_PREFIX + pool name); LUN = the volume's
 * pd_lun tag, so a volume has the same LUN on every host and after restarts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_TARGET_SYNC_H
#define POOLD_TARGET_SYNC_H

#include "pool-ops.h"
#include "pool-xml.h"

typedef struct poolExport poolExport;

/* Build the inventory from every pool and volume poold knows, then start
 * the portal (cfg->iscsi_portal; "" = inventory only, no listener). A
 * volume that cannot be opened is not exported; its error is logged. */
poolExport *poold_export_start(const poolConfig *cfg, poolManager *mgr);
/* Ask initiators to log out, wait up to grace_ms, drop the rest. */
void poold_export_stop(poolExport *ex, int grace_ms);

int poold_export_pool_add(poolExport *ex, poolManager *mgr, const char *pool);
void poold_export_pool_remove(poolExport *ex, const char *pool);
/* Export a volume; -1 with an error naming the cause if its blocks cannot
 * be opened (it is then not exported). */
int poold_export_vol_add(poolExport *ex, const poolVolDef *vol);
void poold_export_vol_remove(poolExport *ex, const char *pool, int lun);
/* Volume grew: new map, new capacity, unit attention on every nexus. */
int poold_export_vol_resize(poolExport *ex, const poolVolDef *vol);
/* The initiators whose sessions with this host's target have used the
 * pool's LUN and are still logged in (each name once; NULL-terminated,
 * empty when none; free with pool_strv_free). NULL with an error if out of
 * memory. A LUN number must never change identity under such a session
 * (docs/design.md section 5, "LUN numbers"). */
char **poold_export_lun_initiators(poolExport *ex, const char *pool, int lun);
/* End those sessions on every portal, waiting up to wait_ms for them to be
 * gone; returns how many were asked to end. */
size_t poold_export_lun_drop_sessions(poolExport *ex, const char *pool, int lun, int wait_ms);
/* Is this LUN exported (for volume info)? */
bool poold_export_vol_exported(poolExport *ex, const char *pool, int lun);
/* Set the LUN's write protection from the volume's export mode and lease
 * (target_sync.c explains the rule). */
int poold_export_vol_access(poolExport *ex, const poolVolDef *vol);
/* Refuse writes to the volume's LUN now, before its lease is released:
 * returns once the writes already past the fence have finished, and no
 * lease check of the target lifts it (only poold_export_vol_access). */
void poold_export_vol_protect(poolExport *ex, const poolVolDef *vol);
/* Refuse writes now, a lease having gone (a VM's QEMU ended): until the
 * lease is seen held here again (the target's own check, or
 * poold_export_vol_access). */
void poold_export_vol_fence(poolExport *ex, const poolVolDef *vol);
/* Write-protect every rw LUN whose lease poold no longer holds (the sanlock
 * daemon restarted and dropped poold's leases, ...). One sanlock inquire
 * per writable LUN: cheap, local. */
void poold_export_recheck_leases(poolExport *ex);
/* Re-read the pool's volumes and bring its LUNs in step (another host
 * changed the VG). */
int poold_export_pool_sync(poolExport *ex, poolManager *mgr, const char *pool);
/* A change check of the pool that began at `checked_ms`
 * (poold_export_map_clock_ms) found no change the target has not applied:
 * its LUNs' segment maps are good until checked_ms + map_max_age_ms
 * (docs/design.md section 7, "Freed extents"). false (nothing moved) while
 * the pool's last sync failed: the caller syncs again. */
bool poold_export_map_checked(poolExport *ex, const char *pool, int64_t checked_ms);
int64_t poold_export_map_clock_ms(void); /* CLOCK_BOOTTIME, ms */
/* Before a shrink: cut the LUN to `bytes` (rounded down to blocks) if it
 * is larger; returns its former size in blocks, 0 when nothing was cut.
 * poold_export_lun_uncut gives it back (the shrink failed) if the volume,
 * now `capacity` bytes, is still that large. */
uint64_t poold_export_lun_cut(poolExport *ex, const char *pool, int lun, uint64_t bytes);
void poold_export_lun_uncut(poolExport *ex, const char *pool, int lun, uint64_t blocks,
                            uint64_t capacity);

/* Access control and export state (poolctl target ..., volume
 * export|unexport). Each pool's ACL and CHAP settings are kept in
 * <state_dir>/targets/POOL.xml (mode 0600, atomic writes) and loaded when the
 * pool is added; a record that cannot be loaded keeps the pool from being
 * exported at all (serving it without its ACL would open it). */

/* Is the pool's target set up here? */
bool poold_export_has_pool(poolExport *ex, const char *pool);
/* The pool's access control (copy; caller frees). Without secrets it also
 * carries the IQN and the portals, for target-info. */
poolTargetDef *poold_export_target_get(poolExport *ex, const char *pool, bool with_secrets);
/* Store a new record for def->pool and put it in force for new logins
 * (sessions already logged in stay). Takes def, even on failure; on failure
 * nothing changed. */
int poold_export_target_update(poolExport *ex, poolTargetDef *def);
/* Pool destroyed: remove its record, so a new pool of the same name starts
 * open instead of inheriting old credentials. */
int poold_export_target_forget(poolExport *ex, const char *pool);
/* Did the operator unexport this volume (LV tag pd_export:off)? */
bool poold_export_vol_unexported(poolExport *ex, const char *pool, const char *name);
/* Keep the cached export state in step after a change of the tag. */
int poold_export_vol_mark(poolExport *ex, const char *pool, const char *name, bool exported);

#endif
