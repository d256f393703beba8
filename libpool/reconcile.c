/*
 * reconcile.c: repair what a crash interrupted, at poold start. The rules
 * (pool-ops.h) are chosen so that every interrupted operation has exactly
 * one safe outcome:
 *   - a create the client never saw succeed is undone (volume or pool);
 *   - a resize or delete, whose intent was recorded before anything changed,
 *     is carried through (both are idempotent).
 * Everything done here is logged, so an operator can see what a crash cost.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <string.h>

#include "layer_tree.h"
#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool_store.h"
#include "reconcile.h"

static bool pool_complete(poolEntry *e)
{
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return false;
    bool ok = !pool_lvm_tag_get(snap.vg->tags, POOL_TAG_OP) &&
              pool_snapshot_find_lv(&snap, POOL_LV_IDS) &&
              pool_snapshot_find_lv(&snap, POOL_LV_LEASES);
    pool_snapshot_clear(&snap);
    return ok;
}

static int reconcile_pool(poolManager *mgr, poolEntry *e, int *repairs)
{
    const char *name = e->def->name;
    POOL_AUTOFREE(char *) op = NULL;
    if (pool_store_journal_get(mgr->pools_dir, name, &op) < 0)
        return -1;
    if (op && strcmp(op, "create") == 0) {
        (*repairs)++;
        if (pool_complete(e)) {
            log_pool(POOL_LOG_WARN, name, "create finished before the crash; keeping the pool");
            return pool_store_journal_clear(mgr->pools_dir, name);
        }
        pool_error_reset();
        return pool_create_rollback(mgr, e); /* drops e */
    }
    if (op && strcmp(op, "destroy") == 0) {
        (*repairs)++;
        /* The journal is written before the VG is tagged pd_op:destroy:
         * without the tag the destroy never began (crash or failure
         * between the two), its checks and lease were never passed on the
         * VG, and other hosts may be using it. Never finish that. */
        poolLvmVG *vg = NULL;
        if (pool_lvm_report_vg(e->lvm, name, &vg) == 0) {
            const char *vop = pool_lvm_tag_get(vg->tags, POOL_TAG_OP);
            bool begun = vop && strcmp(vop, "destroy") == 0;
            pool_lvm_vgs_free(vg, 1);
            if (!begun) {
                log_pool(POOL_LOG_WARN, name,
                         "a destroy was journalled but never began on the volume group; "
                         "keeping the pool");
                return pool_store_journal_clear(mgr->pools_dir, name);
            }
        } else if (pool_error_last_code() != POOL_ERR_NO_POOL) {
            log_pool(POOL_LOG_ERROR, name, "cannot check the interrupted destroy: %s; will retry",
                     pool_error_last_message());
            return -1;
        }
        pool_error_reset();
        log_pool(POOL_LOG_WARN, name, "destroy was interrupted; finishing it");
        if (pool_destroy_finish(mgr, e) < 0) { /* drops e on success */
            log_pool(POOL_LOG_ERROR, name, "cannot finish the destroy: %s; will retry",
                     pool_error_last_message());
            return -1;
        }
        return 0;
    }
    if (op) {
        log_pool(POOL_LOG_ERROR, name, "unknown journal entry '%s'; leaving it", op);
        return -1;
    }

    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0) {
        log_pool(POOL_LOG_ERROR, name, "cannot check the pool: %s", pool_error_last_message());
        return -1;
    }
    int ret = 0;
    const char *vgop = pool_lvm_tag_get(snap.vg->tags, POOL_TAG_OP);
    if (vgop)
        log_pool(POOL_LOG_ERROR, name,
                 "the volume group carries pd_op:%s but this host has no journal for it; "
                 "another host may be working on it",
                 vgop);
    for (size_t i = 0; i < snap.nlvs; i++) {
        const poolLvmLV *lv = &snap.lvs[i];
        if (pool_layout_lv_is_special(lv))
            continue;
        if (!pool_layout_lv_is_volume(lv)) {
            /* snapshot layers and the LVs of snapshot operations:
             * pool_reconcile_snapshots below */
            if (pool_lvm_tag_get(lv->tags, POOL_TAG_LAYER) ||
                pool_lvm_tag_get(lv->tags, POOL_TAG_OWNER))
                continue;
            log_vol(POOL_LOG_WARN, name, lv->name,
                    "logical volume is not a poold volume (no identity tags); leaving it alone");
            continue;
        }
        const char *vop = pool_lvm_tag_get(lv->tags, POOL_TAG_OP);
        if (!vop)
            continue;
        if (e->def->locking == POOL_LOCKING_SANLOCK) {
            /* a VG change needs the pool-metadata lease, which this host
             * cannot have before it has joined the lockspace: the next
             * operation under the lease (on any host) repairs it */
            log_vol(POOL_LOG_WARN, name, lv->name,
                    "operation '%s' was interrupted; it is repaired by the next change made "
                    "under the pool-metadata lease",
                    vop);
            continue;
        }
        (*repairs)++;
        if (pool_reconcile_volume(e, lv, vop) < 0) {
            log_vol(POOL_LOG_ERROR, name, lv->name, "repair failed: %s", pool_error_last_message());
            ret = -1;
        }
    }
    if (!pool_snapshot_find_lv(&snap, POOL_LV_IDS) || !pool_snapshot_find_lv(&snap, POOL_LV_LEASES))
        log_pool(POOL_LOG_ERROR, name, "the ids or leases logical volume is missing");
    pool_snapshot_clear(&snap);
    /* interrupted snapshot creates, reverts and deletes (sanlock pools:
     * under the pool-metadata lease, by pool_cluster_repair_strays) */
    if (e->def->locking != POOL_LOCKING_SANLOCK) {
        int s = pool_reconcile_snapshots(e, NULL);
        if (s < 0) {
            log_pool(POOL_LOG_ERROR, name, "snapshot repair failed: %s", pool_error_last_message());
            ret = -1;
        } else {
            *repairs += s;
        }
    }
    return ret;
}

int pool_manager_reconcile(poolManager *mgr)
{
    int repairs = 0, ret = 0;
    POOL_AUTOSTRV orphans = NULL;
    if (pool_store_orphan_journals(mgr->pools_dir, &orphans) < 0)
        return -1;
    for (size_t i = 0; orphans[i]; i++) {
        /* The journal is written before the record and before any device is
         * touched: a journal without a record means nothing else happened. */
        log_pool(POOL_LOG_WARN, orphans[i], "create was interrupted before it began; cleaning up");
        if (pool_store_journal_clear(mgr->pools_dir, orphans[i]) < 0)
            ret = -1;
        repairs++;
    }
    /* iterate over a copy of the names: repairs may drop entries */
    POOL_AUTOSTRV names = pool_calloc(1, sizeof(char *));
    if (!names)
        return -1;
    for (size_t i = 0; i < mgr->npools; i++)
        if (pool_strv_add(&names, mgr->pools[i]->def->name) < 0)
            return -1;
    for (size_t i = 0; names[i]; i++) {
        poolEntry *e = pool_manager_find(mgr, names[i]);
        if (e && reconcile_pool(mgr, e, &repairs) < 0)
            ret = -1;
    }
    if (repairs)
        log_info("reconcile: %d repair(s) made%s", repairs, ret < 0 ? ", some failed" : "");
    return ret < 0 ? -1 : repairs;
}
