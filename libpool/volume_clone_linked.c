/*
 * volume_clone_linked.c: a linked clone, a new volume whose top is an
 * empty qcow2 image over a snapshot's frozen layer (pool-clone.h;
 * docs/design.md section 6, "Linked clone"). Instant: no data is copied.
 *
 * Steps (the crash points are POOLD_TEST_CRASH_AT names):
 *
 *   lvcreate  the new top is made exactly as volume create makes a volume
 *             (lease slot, LUN number, pd_lunlast, one lvcreate), with
 *             pd_op:create, so reconcile removes it  [vol-clone-linked:after-lvcreate]
 *   format    empty qcow2 image, no backing name, formatted as snapshot
 *             create formats a new top (snapshot_ops.h)
 *                                                  [vol-clone-linked:after-format]
 *   commit    one lvchange: drop pd_op:create and pd_fmt:raw, add
 *             pd_fmt:qcow2 pd_vsize:<snapshot's> pd_parent:<snapshot's layer>
 *                                                  [vol-clone-linked:after-commit]
 *
 * Until the commit the LV is a volume being created (never a LUN, removed
 * by reconcile); after it, a volume whose top sits on the layer, which
 * snapshot delete and volume delete then refuse to remove.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <string.h>

#include "cluster.h"
#include "layer_tree.h"
#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-clone.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-ops.h"
#include "pool-util.h"
#include "snapshot_ops.h"
#include "testhook.h"
#include "volume_ops.h"

static void undo(poolEntry *e, const char *name)
{
    poolError *err = pool_error_save();
    if (pool_lvm_lvremove(e->lvm, e->def->name, name) < 0)
        log_vol(POOL_LOG_ERROR, e->def->name, name,
                "could not remove the unfinished linked clone; reconcile will");
    pool_error_restore(err);
}

/* The one lvchange that makes the LV a qcow2 top over `layer`. */
static int commit(poolEntry *e, const char *name, uint64_t vsize, const char *layer)
{
    POOL_AUTOFREE(char *) op = pool_layout_tag(POOL_TAG_OP, "create");
    POOL_AUTOFREE(char *) raw = pool_layout_tag(POOL_TAG_FMT, "raw");
    POOL_AUTOFREE(char *) fmt = pool_layout_tag(POOL_TAG_FMT, "qcow2");
    POOL_AUTOFREE(char *) vs = pool_layout_tag(POOL_TAG_VSIZE, "%" PRIu64, vsize);
    POOL_AUTOFREE(char *) par = pool_layout_tag(POOL_TAG_PARENT, "%s", layer);
    char *add[] = {fmt, vs, par, NULL};
    char *del[] = {op, raw, NULL};
    if (!op || !raw || !fmt || !vs || !par)
        return -1;
    return pool_lvm_lv_change_tags(e->lvm, e->def->name, name, add, del);
}

static int linked_locked(poolManager *mgr, poolEntry *e, const char *source, const char *snapname,
                         const char *name)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    poolLayerTree t;
    if (pool_vol_snapshot_for_change(e, &snap) < 0)
        return -1;
    if (pool_layer_tree_build(snap.lvs, snap.nlvs, &t) < 0) {
        pool_snapshot_clear(&snap);
        return -1;
    }
    int r = -1;
    char layer[37];
    uint64_t vsize = 0, extents = 0;
    int ti = pool_layer_tree_find_top(&t, source);
    if (ti < 0) {
        pool_error(POOL_ERR_NO_VOLUME, "no volume named '%s' in pool %s", source, pool);
        goto fail;
    }
    const poolLtNode *top = &t.nodes[ti];
    int si = pool_layer_tree_find_snapshot(&t, top->uuid, snapname);
    if (si < 0) {
        pool_error(POOL_ERR_NO_VOLUME, "volume %s of pool %s has no snapshot named '%s'", source,
                   pool, snapname);
        goto fail;
    }
    const poolLtNode *s = &t.nodes[si];
    if (s->op != POOL_LT_OP_NONE) {
        pool_error(POOL_ERR_BUSY, "snapshot %s of %s is being deleted", snapname, source);
        goto fail;
    }
    size_t *chain = NULL, depth = 0;
    if (pool_layer_tree_chain(&t, (size_t)si, &chain, &depth) < 0)
        goto fail;
    free(chain);
    if (depth > POOL_LAYER_MAX_DEPTH) { /* the new top would sit on `depth` layers */
        pool_error(POOL_ERR_INVALID_ARG,
                   "snapshot %s of %s sits on %zu layers; a linked clone of it would sit on "
                   "more than %d",
                   snapname, source, depth - 1, POOL_LAYER_MAX_DEPTH);
        goto fail;
    }
    memcpy(layer, s->uuid, sizeof(layer));
    vsize = s->vsize;
    uint64_t bytes;
    if (pool_snap_measure_qcow2(vsize, &bytes) < 0)
        goto fail;
    extents = pool_layout_extents_for(bytes, e->def->extent_size);
    if (pool_vol_check_new(e, &snap, name, extents) < 0)
        goto fail;
    pool_layer_tree_free(&t);
    /* clears snap whatever happens */
    if (pool_vol_create_intent(mgr, e, &snap, name, extents, "create") < 0)
        return -1;
    pool_testhook("vol-clone-linked:after-lvcreate");
    if (pool_snap_format_qcow2(e, name, vsize) < 0) {
        undo(e, name);
        return -1;
    }
    pool_testhook("vol-clone-linked:after-format");
    /* COMMIT: the LV becomes a qcow2 top over the layer */
    if (commit(e, name, vsize, layer) < 0) {
        undo(e, name);
        return -1;
    }
    pool_testhook("vol-clone-linked:after-commit");
    log_vol(POOL_LOG_INFO, pool, name, "linked clone of %s@%s: qcow2 top over layer %s", source,
            snapname, layer);
    return 0;
fail:
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}

poolVolDef *pool_manager_vol_clone_linked(poolManager *mgr, const char *pool, const char *source,
                                          const char *snapshot, const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || pool_name_validate(POOL_NAME_VOLUME, source) < 0 ||
        pool_name_validate(POOL_NAME_VOLUME, name) < 0)
        return NULL;
    if (pool_name_validate(POOL_NAME_VOLUME, snapshot) < 0) {
        pool_error_reset();
        pool_error(POOL_ERR_INVALID_ARG, "invalid snapshot name '%s'", snapshot);
        return NULL;
    }
    if (pool_cluster_lock(mgr, e) < 0)
        return NULL;
    int r = linked_locked(mgr, e, source, snapshot, name);
    pool_cluster_unlock(mgr, e);
    return r == 0 ? pool_manager_vol_info(mgr, pool, name) : NULL;
}
