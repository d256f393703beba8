/*
 * reconcile_volume.c: finish or undo one volume's interrupted operation,
 * read from its pd_op tag. The rules (pool-ops.h, reconcile.c): a create or
 * a clone is undone (a clone's partial copy zeroed first), a resize or
 * delete carried through. Used at start (reconcile.c)
 * and, in a pool with several hosts, for strays a dead host left
 * (cluster.c), so it sits below both and calls only LVM and wipe.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <string.h>

#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-log.h"
#include "pool-util.h"
#include "reconcile.h"
#include "wipe.h"

int pool_reconcile_volume(poolEntry *e, const poolLvmLV *lv, const char *op)
{
    const char *pool = e->def->name;
    POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_OP, "%s", op);
    char *tags[] = {tag, NULL};
    if (!tag)
        return -1;
    if (strcmp(op, "create") == 0) {
        log_vol(POOL_LOG_WARN, pool, lv->name, "create was interrupted; removing the volume");
        return pool_lvm_lvremove(e->lvm, pool, lv->name);
    }
    if (strcmp(op, "clone") == 0) {
        /* a clone's target whose copy never finished (volume_clone.c): it
         * may hold part of the source's data, so it is zeroed before its
         * extents are freed. No map wait: a volume in this state is never
         * a LUN on any host. */
        log_vol(POOL_LOG_WARN, pool, lv->name,
                "clone was interrupted; wiping the partial copy and removing it");
        if (pool_wipe_lv(e, lv, 0) < 0)
            return -1;
        return pool_lvm_lvremove(e->lvm, pool, lv->name);
    }
    if (strcmp(op, "delete") == 0) {
        /* the wipe may have been cut short: zero it all again before the
         * extents are freed (wipe.c) */
        log_vol(POOL_LOG_WARN, pool, lv->name,
                "delete was interrupted; wiping its extents and finishing it");
        pool_wipe_wait_maps(e, lv->name);
        if (pool_wipe_lv(e, lv, 0) < 0)
            return -1;
        return pool_lvm_lvremove(e->lvm, pool, lv->name);
    }
    if (strncmp(op, "resize-", 7) == 0) {
        uint64_t want;
        if (pool_parse_uint(op + 7, "resize target", 1, UINT64_MAX, &want) < 0) {
            log_vol(POOL_LOG_ERROR, pool, lv->name, "unreadable resize intent '%s'; dropping it",
                    op);
            return pool_lvm_lv_change_tags(e->lvm, pool, lv->name, NULL, tags);
        }
        uint64_t cur = lv->size / e->def->extent_size;
        if (want < cur) {
            /* a shrink: the tail it frees is zeroed first, as resize does
             * (wipe.c); it may have been cut short */
            pool_wipe_wait_maps(e, lv->name);
            if (pool_wipe_lv(e, lv, want * e->def->extent_size) < 0)
                return -1;
        }
        if (cur != want) {
            log_vol(POOL_LOG_WARN, pool, lv->name,
                    "resize was interrupted at %" PRIu64 " extents; finishing it to %" PRIu64, cur,
                    want);
            if (pool_lvm_lvresize_from(e->lvm, pool, lv->name, cur, want) < 0)
                return -1;
        } else {
            log_vol(POOL_LOG_WARN, pool, lv->name,
                    "resize to %" PRIu64 " extents was done but not committed; committing", want);
        }
        return pool_lvm_lv_change_tags(e->lvm, pool, lv->name, NULL, tags);
    }
    log_vol(POOL_LOG_ERROR, pool, lv->name,
            "unknown operation tag '%s'; leaving it for an operator", op);
    return 0;
}
