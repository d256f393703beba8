/*
 * reconcile_snapshot.c: finish or undo snapshot creates, reverts and
 * deletes a crash interrupted (docs/design.md section 6). The direction is
 * decided by layer_tree.c from the LV tags alone:
 *   - a new top (pd_op:snapnew / revertnew) whose volume still has its
 *     identity on the old top: the commit never happened; it is wiped and
 *     removed (roll back);
 *   - a new top whose volume has no top any more: the commit (the old
 *     top's one lvchange) happened; the renames and the new top's retag are
 *     finished (roll forward);
 *   - an old top a committed revert left (pd_op:delete, pd_owner) and a
 *     layer tagged pd_op:delete without children: wiped and removed;
 *   - the snapshots of a deleted volume (no top has their owner's uuid, no
 *     new top is on its way), leaves first: tagged pd_op:delete, wiped and
 *     removed (volume delete relies on this).
 * Used at start (reconcile.c) and under the pool-metadata lease for strays
 * (cluster.c), so it calls only LVM and wipe.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "layer_tree.h"
#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "reconcile.h"
#include "testhook.h"
#include "wipe.h"

/* Rename the LV named `vname` out of the way of a new top: a layer to its
 * layer name, an old top being removed to a fresh pdl- name. */
static int move_aside(poolEntry *e, const poolLayerTree *t, const poolLtNode *nd)
{
    char to[37];
    if (nd->kind == POOL_LT_LAYER) {
        pool_layer_lv_name(nd->uuid, to);
    } else {
        char u[37];
        if (pool_uuid_generate(u) < 0)
            return -1;
        pool_layer_lv_name(u, to);
    }
    (void)t;
    return pool_lvm_lvrename(e->lvm, e->def->name, nd->lv->name, to);
}

/* The crash points of the steps after the commit, by who runs them (the
 * literal names are what docs-check finds). */
enum { STEP_RENAME_OLD, STEP_RENAME_NEW, STEP_COMMIT };
static void step_hook(poolSnapFinisher who, int step)
{
    switch (who * 3 + step) {
    case POOL_SNAP_CREATE * 3 + STEP_RENAME_OLD:
        pool_testhook("snap-create:after-rename-old");
        break;
    case POOL_SNAP_CREATE * 3 + STEP_RENAME_NEW:
        pool_testhook("snap-create:after-rename-new");
        break;
    case POOL_SNAP_CREATE * 3 + STEP_COMMIT:
        pool_testhook("snap-create:after-commit");
        break;
    case POOL_SNAP_REVERT * 3 + STEP_RENAME_OLD:
        pool_testhook("snap-revert:after-rename-old");
        break;
    case POOL_SNAP_REVERT * 3 + STEP_RENAME_NEW:
        pool_testhook("snap-revert:after-rename-new");
        break;
    case POOL_SNAP_REVERT * 3 + STEP_COMMIT:
        pool_testhook("snap-revert:after-commit");
        break;
    case POOL_SNAP_REPAIR * 3 + STEP_RENAME_OLD:
        pool_testhook("snap-repair:after-rename-old");
        break;
    case POOL_SNAP_REPAIR * 3 + STEP_RENAME_NEW:
        pool_testhook("snap-repair:after-rename-new");
        break;
    case POOL_SNAP_REPAIR * 3 + STEP_COMMIT:
        pool_testhook("snap-repair:after-commit");
        break;
    }
}

int pool_snapshot_finish_new(poolEntry *e, const poolLayerTree *t, size_t node,
                             const char *parent_uuid, poolSnapFinisher who)
{
    const poolLtNode *nd = &t->nodes[node];
    const char *pool = e->def->name;
    /* the LV that still has the volume's name (the old top) */
    for (size_t i = 0; i < t->n; i++) {
        const poolLtNode *o = &t->nodes[i];
        if (i != node && strcmp(o->lv->name, nd->vname) == 0) {
            if (o->kind != POOL_LT_LAYER && o->kind != POOL_LT_DOOMED) {
                pool_error(POOL_ERR_LVM,
                           "cannot finish the new top %s of volume %s: logical volume %s holds "
                           "the name",
                           nd->lv->name, nd->vname, o->lv->name);
                return -1;
            }
            if (move_aside(e, t, o) < 0)
                return -1;
            step_hook(who, STEP_RENAME_OLD);
        }
    }
    if (strcmp(nd->lv->name, nd->vname) != 0) {
        if (pool_lvm_lvrename(e->lvm, pool, nd->lv->name, nd->vname) < 0)
            return -1;
        step_hook(who, STEP_RENAME_NEW);
    }
    /* one lvchange: the intent tags go, the identity comes */
    POOL_AUTOSTRV del = NULL;
    POOL_AUTOSTRV add = NULL;
    static const char *const drop[] = {POOL_TAG_OP,    POOL_TAG_OWNER,  POOL_TAG_SNAP,
                                       POOL_TAG_VNAME, POOL_TAG_REVERT, POOL_TAG_PARENT};
    for (size_t k = 0; k < sizeof(drop) / sizeof(drop[0]); k++) {
        const char *v = pool_lvm_tag_get(nd->lv->tags, drop[k]);
        if (v) {
            POOL_AUTOFREE(char *) tag = pool_layout_tag(drop[k], "%s", v);
            if (!tag || pool_strv_add(&del, tag) < 0)
                return -1;
        }
    }
    POOL_AUTOFREE(char *) uuid = pool_layout_tag(POOL_TAG_UUID, "%s", nd->owner);
    POOL_AUTOFREE(char *) parent = pool_layout_tag(POOL_TAG_PARENT, "%s", parent_uuid);
    if (!uuid || !parent || pool_strv_add(&add, uuid) < 0 || pool_strv_add(&add, parent) < 0)
        return -1;
    if (pool_lvm_lv_change_tags(e->lvm, pool, nd->vname, add, del) < 0)
        return -1;
    step_hook(who, STEP_COMMIT);
    return 0;
}

/* One repair; 1 if one was made, 0 if nothing is left, -1 on failure. */
static int repair_one(poolEntry *e, const poolSnapshot *snap, bool *stuck_logged)
{
    const char *pool = e->def->name;
    poolLayerTree t;
    if (pool_layer_tree_build(snap->lvs, snap->nlvs, &t) < 0) {
        /* not a reason to stop volume repairs: snapshot operations refuse
         * with the same message until an operator fixes the tags */
        log_pool(POOL_LOG_ERROR, pool, "cannot read the pool's snapshot layers: %s",
                 pool_error_last_message());
        pool_error_reset();
        return 0;
    }
    int r = 0;
    /* new tops first: rolling one forward moves the old top aside */
    for (size_t i = 0; i < t.n && r == 0; i++) {
        const poolLtNode *nd = &t.nodes[i];
        if (nd->kind != POOL_LT_NEW)
            continue;
        const char *what = nd->op == POOL_LT_OP_SNAPNEW ? "snapshot create" : "snapshot revert";
        const char *parent = NULL;
        switch (pool_layer_tree_new_repair(&t, i, &parent)) {
        case POOL_LT_REPAIR_BACK:
            log_vol(POOL_LOG_WARN, pool, nd->vname,
                    "%s was interrupted before its commit; removing its new top %s", what,
                    nd->lv->name);
            r = pool_reconcile_volume(e, nd->lv, "delete") < 0 ? -1 : 1;
            break;
        case POOL_LT_REPAIR_FORWARD:
            log_vol(POOL_LOG_WARN, pool, nd->vname,
                    "%s was interrupted after its commit; finishing it (new top %s)", what,
                    nd->lv->name);
            r = pool_snapshot_finish_new(e, &t, i, parent, POOL_SNAP_REPAIR) < 0 ? -1 : 1;
            break;
        case POOL_LT_REPAIR_STUCK:
            if (!*stuck_logged)
                log_vol(POOL_LOG_ERROR, pool, nd->vname,
                        "%s of %s cannot be finished or undone: the layer it sits on is "
                        "missing; leaving %s for an operator",
                        what, nd->vname, nd->lv->name);
            *stuck_logged = true;
            break;
        }
    }
    /* snapshots of a deleted volume (volume delete removes its top, then
     * these, leaves first): no top has their owner's uuid and no new top
     * of a snapshot create or revert is on its way */
    for (size_t i = 0; i < t.n && r == 0; i++) {
        const poolLtNode *nd = &t.nodes[i];
        if (nd->kind != POOL_LT_LAYER || !nd->snap || nd->op != POOL_LT_OP_NONE || nd->nchildren ||
            pool_layer_tree_find_top_uuid(&t, nd->owner) >= 0)
            continue;
        bool pending = false;
        for (size_t k = 0; k < t.n; k++)
            if ((t.nodes[k].kind == POOL_LT_NEW || t.nodes[k].kind == POOL_LT_DOOMED) &&
                strcmp(t.nodes[k].owner, nd->owner) == 0)
                pending = true;
        if (pending)
            continue;
        log_vol(POOL_LOG_INFO, pool, nd->lv->name,
                "snapshot '%s' of deleted volume %s: removing it", nd->snap, nd->owner);
        POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_OP, "delete");
        char *tags[] = {tag, NULL};
        if (!tag || pool_lvm_lv_change_tags(e->lvm, pool, nd->lv->name, tags, NULL) < 0)
            r = -1;
        else
            r = pool_reconcile_volume(e, nd->lv, "delete") < 0 ? -1 : 1;
    }
    /* then what is to be removed: an old top a revert left, a layer being
     * deleted (only once nothing is backed by it) */
    for (size_t i = 0; i < t.n && r == 0; i++) {
        const poolLtNode *nd = &t.nodes[i];
        if (nd->op != POOL_LT_OP_DELETE || nd->kind == POOL_LT_TOP || nd->nchildren)
            continue;
        bool pending_new = false;
        for (size_t k = 0; k < t.n; k++)
            if (t.nodes[k].kind == POOL_LT_NEW && nd->kind == POOL_LT_DOOMED &&
                strcmp(t.nodes[k].owner, nd->owner) == 0)
                pending_new = true;
        if (pending_new)
            continue;
        log_vol(POOL_LOG_WARN, pool, nd->lv->name, "%s was interrupted; wiping and removing it",
                nd->kind == POOL_LT_LAYER ? "snapshot delete" : "snapshot revert");
        r = pool_reconcile_volume(e, nd->lv, "delete") < 0 ? -1 : 1;
    }
    pool_layer_tree_free(&t);
    return r;
}

int pool_reconcile_snapshots(poolEntry *e, const poolSnapshot *first)
{
    int repairs = 0;
    bool stuck = false;
    poolSnapshot snap = {0};
    const poolSnapshot *cur = first;
    if (!cur) {
        if (pool_snapshot_load(e, &snap) < 0)
            return -1;
        cur = &snap;
    }
    /* every repair changes names and tags: read the pool again after
     * each; bounded (each round removes an intent or an LV) */
    for (int round = 0; round < 4 * 1024; round++) {
        int r = repair_one(e, cur, &stuck);
        if (r < 0)
            repairs = -1;
        if (r <= 0)
            break;
        repairs++;
        pool_snapshot_clear(&snap);
        if (pool_snapshot_load(e, &snap) < 0) {
            repairs = -1;
            break;
        }
        cur = &snap;
    }
    pool_snapshot_clear(&snap);
    return repairs;
}
