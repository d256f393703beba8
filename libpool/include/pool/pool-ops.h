/*
 * pool-ops.h: pool and volume operations — what poold executes for each
 * request. A poolManager knows the pools of this host (definitions recorded
 * in <state_dir>/pools/NAME.xml) and drives LVM for them.
 *
 * Every operation that takes several LVM steps records its intent first (a
 * `pd_op:` tag on the LV or VG, or a journal file beside the pool record), so
 * that pool_manager_reconcile() can finish or undo it after a crash:
 *
 *   volume create   lvcreate (all tags + pd_op:create) -> deltag      crash: roll back (lvremove)
 *   volume resize   addtag pd_op:resize-N -> lvresize -> deltag       crash: roll forward to N
 *   volume delete   addtag pd_op:delete -> lvremove                   crash: roll forward
 *   pool create     journal "create" -> record NAME.xml -> pvcreate -> vgcreate (pd_op:create) ->
 * ids, leases
 *                   -> deltag -> journal removed                      crash: roll back, unless
 * complete pool destroy    journal "destroy" -> addtag pd_op:destroy -> lvremove all -> vgremove
 *                   -> pvremove -> record and journal removed         crash: roll forward
 *
 * Ownership: returned defs belong to the caller (pool_*_def_free); arrays of
 * defs are freed with pool_pool_defs_free / pool_vol_defs_free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_OPS_H
#define POOL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-config.h"
#include "pool-xml.h"

typedef struct poolManager poolManager;

#define POOL_DEFAULT_EXTENT_SIZE (4ull * 1024 * 1024)
#define POOL_DEFAULT_HOST_IDS    2000u
#define POOL_DEFAULT_LEASE_SLOTS 2000u
#define POOL_MAX_HOST_IDS        2000u
#define POOL_MAX_LEASE_SLOTS     65535u
#define POOL_LEASE_SLOT_SIZE     (1024ull * 1024)
#define POOL_FORMAT_VERSION      1u

typedef struct {
    uint64_t extent_size; /* 0 = default */
    unsigned host_ids;    /* 0 = default */
    unsigned lease_slots; /* 0 = default */
    bool force;           /* overwrite devices that hold data */
} poolCreateOptions;

/* cfg is copied where needed; it must outlive the manager. Loads the pool
 * records from the state directory (creating it if missing). */
poolManager *pool_manager_new(const poolConfig *cfg);
void pool_manager_free(poolManager *mgr);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolManager, pool_manager_free)

/* Finish or undo operations a crash interrupted; logs every action. Returns
 * the number of repairs made, or -1 if some could not be made. */
int pool_manager_reconcile(poolManager *mgr);

poolPoolDef *pool_manager_pool_create(poolManager *mgr, const char *name, char *const *devices,
                                      const poolCreateOptions *opts);
int pool_manager_pool_destroy(poolManager *mgr, const char *name, bool force);
/* Adopt an existing poold VG (e.g. after the state directory was lost). */
poolPoolDef *pool_manager_pool_import(poolManager *mgr, const char *name, char *const *devices);
int pool_manager_pool_list(poolManager *mgr, poolPoolDef ***defs, size_t *n);
poolPoolDef *pool_manager_pool_info(poolManager *mgr, const char *name);
/* Is the pool known on this host (no error reported either way)? */
bool pool_manager_find_exists(poolManager *mgr, const char *name);

poolVolDef *pool_manager_vol_create(poolManager *mgr, const char *pool, const char *name,
                                    uint64_t capacity);
poolVolDef *pool_manager_vol_resize(poolManager *mgr, const char *pool, const char *name,
                                    uint64_t capacity, bool allow_shrink);
int pool_manager_vol_delete(poolManager *mgr, const char *pool, const char *name);
int pool_manager_vol_list(poolManager *mgr, const char *pool, poolVolDef ***defs, size_t *n);
poolVolDef *pool_manager_vol_info(poolManager *mgr, const char *pool, const char *name);

/* Export state (volume_export.c): whether a volume is offered as a LUN of
 * its pool's iSCSI target. Stored as the LV tag pd_export:off on volumes
 * that are not; no tag = exported (the default). export_set changes the tag
 * only when the state differs. unexported lists the names of the pool's
 * volumes tagged off (NULL-terminated, never NULL on success; free with
 * pool_strv_free). */
int pool_manager_vol_export_get(poolManager *mgr, const char *pool, const char *name,
                                bool *exported);
int pool_manager_vol_export_set(poolManager *mgr, const char *pool, const char *name,
                                bool exported);
int pool_manager_vol_unexported(poolManager *mgr, const char *pool, char ***names);

void pool_pool_defs_free(poolPoolDef **defs, size_t n);
void pool_vol_defs_free(poolVolDef **defs, size_t n);

/* Test-only crash injection: when the environment variable
 * POOLD_TEST_CRASH_AT names `point`, the process SIGKILLs itself there, as a
 * power cut would. No effect otherwise. */
void pool_testhook(const char *point);

#endif
