/*
 * volume_ops.c: volume create, resize, delete, list, info. Each multi-step
 * operation marks the LV with a pd_op: tag before the step that can be
 * interrupted, so reconcile.c knows what to finish or undo (pool-ops.h).
 * Volume state is always read back from LVM, never cached: LVM metadata is
 * the single source of truth, which later lets other hosts change it too.
 * (The one thing kept between requests is each PV's pe_start, which lvm
 * fixes when the PV is created; see poolEntry.) Every lvm process costs
 * far more than what it reports, so each step reads no more than it needs:
 * create = lvs, lvcreate, lvchange, lvs; resize = lvs, lvchange, (a shrink:
 * the wipe of the tail) lvextend, lvchange, lvs; delete = lvs, lvchange, the wipe of its extents (wipe.c),
 * lvremove.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "layer_tree.h"
#include "layout.h"
#include "cluster.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "reconcile.h"
#include "testhook.h"
#include "volume_ops.h"
#include "wipe.h"

static poolVolDef *vol_from_snapshot(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv)
{
    poolVolDef *def =
        pool_layout_vol_from_lv(e->def->name, lv, snap->pvs, snap->npvs, e->def->extent_size);
    if (!def)
        return NULL;
    /* the snapshot or template a qcow2 top sits on (layer_tree.h) */
    const char *parent = pool_lvm_tag_get(lv->tags, POOL_TAG_PARENT);
    for (size_t i = 0; parent && i < snap->nlvs; i++) {
        const char *l = pool_lvm_tag_get(snap->lvs[i].tags, POOL_TAG_LAYER);
        if (!l || strcmp(l, parent) != 0)
            continue;
        const char *sn = pool_lvm_tag_get(snap->lvs[i].tags, POOL_TAG_SNAP);
        const char *tn = pool_lvm_tag_get(snap->lvs[i].tags, POOL_TAG_TEMPLATE);
        if ((sn || tn) && pool_uuid_is_valid(parent)) {
            def->parent = pool_strdup(sn ? sn : tn);
            def->parent_layer = pool_strdup(parent);
            def->parent_is_template = !sn;
        }
    }
    /* Where the volume's lease lives: slot k of the leases LV. */
    const poolLvmLV *leases = pool_snapshot_find_lv(snap, "leases");
    if (leases && def->lease_slot > 0) {
        poolSegment *segs = NULL;
        size_t n = 0;
        const char *pv;
        uint64_t off;
        if (pool_layout_segments(leases, snap->pvs, snap->npvs, e->def->extent_size, &segs, &n) ==
                0 &&
            pool_layout_locate(segs, n, (uint64_t)def->lease_slot * POOL_LEASE_SLOT_SIZE,
                               POOL_LEASE_SLOT_SIZE, &pv, &off) == 0) {
            def->lease_pv = pool_strdup(pv);
            def->lease_offset = off;
        }
        pool_segments_free(segs, n);
        pool_error_reset();
    }
    return def;
}

static const poolLvmLV *find_volume(poolEntry *e, const poolSnapshot *snap, const char *name)
{
    if (pool_name_validate(POOL_NAME_VOLUME, name) < 0)
        return NULL;
    const poolLvmLV *lv = pool_snapshot_find_lv(snap, name);
    if (!lv || !pool_layout_lv_is_volume(lv)) {
        pool_error(POOL_ERR_NO_VOLUME, "no volume named '%s' in pool %s", name, e->def->name);
        return NULL;
    }
    return lv;
}

static int check_pool_idle(poolEntry *e, const poolSnapshot *snap)
{
    const char *op = pool_lvm_tag_get(snap->vg->tags, "pd_op");
    if (op) {
        pool_error(POOL_ERR_BUSY, "pool %s has an unfinished '%s' operation", e->def->name, op);
        return -1;
    }
    return 0;
}

static int check_space(poolEntry *e, const poolSnapshot *snap, uint64_t extents)
{
    if (extents > UINT64_MAX / e->def->extent_size) {
        /* its size in bytes does not even fit in 64 bits */
        pool_error(POOL_ERR_INVALID_ARG, "size too large for pool %s: at most %" PRIu64 " bytes",
                   e->def->name, (UINT64_MAX / e->def->extent_size) * e->def->extent_size);
        return -1;
    }
    if (extents > snap->vg->free_count) {
        char need[32], have[32];
        pool_error(POOL_ERR_NO_SPACE, "not enough free space in pool %s: need %s, %s available",
                   e->def->name, pool_format_size(extents * e->def->extent_size, need, 32),
                   pool_format_size(snap->vg->free_count * e->def->extent_size, have, 32));
        return -1;
    }
    return 0;
}

/* Refuse a create before lvm would ("exceeds maximum metadata size"), and
 * early enough that the reserve stays free: delete, resize, export and host
 * join must still work on a full pool (docs/design.md, "Metadata area"). */
static int check_metadata_room(poolEntry *e, const poolSnapshot *snap)
{
    if (pool_layout_mda_fits_volume(snap->vg))
        return 0;
    char area[32], left[32];
    pool_error(POOL_ERR_NO_SPACE,
               "pool %s's LVM metadata area is full: %s of its %s area left, a volume needs "
               "about %u bytes and %u KiB stay reserved for delete, resize and export; delete "
               "volumes, or move them to a pool created with a larger --metadata-size",
               e->def->name, pool_format_size(snap->vg->mda_free, left, sizeof(left)),
               pool_format_size(snap->vg->mda_size, area, sizeof(area)), POOL_MDA_VOLUME_BYTES,
               POOL_MDA_RESERVE_BYTES / 1024);
    return -1;
}

/* Snapshot layers (layer_tree.h): a volume whose top is a qcow2 image, or
 * that has snapshots, cannot be resized until online growth of qcow2
 * images exists; a delete takes the volume's snapshots with it, so it is
 * refused while another volume's LV sits on one of them. */
static int refuse_layered(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv,
                          const char *what)
{
    const char *fmt = pool_lvm_tag_get(lv->tags, POOL_TAG_FMT);
    const char *uuid = pool_lvm_tag_get(lv->tags, POOL_TAG_UUID);
    if (strcmp(what, "resize") == 0 && fmt && strcmp(fmt, "qcow2") == 0) {
        pool_error(POOL_ERR_UNSUPPORTED,
                   "volume %s is a qcow2 image over snapshot layers: resizing it is not built "
                   "yet",
                   lv->name);
        return -1;
    }
    char list[256] = "";
    size_t o = 0, n = 0;
    for (size_t i = 0; uuid && i < snap->nlvs; i++) {
        const char *owner = pool_lvm_tag_get(snap->lvs[i].tags, POOL_TAG_OWNER);
        const char *sn = pool_lvm_tag_get(snap->lvs[i].tags, POOL_TAG_SNAP);
        if (!owner || !sn || strcmp(owner, uuid) != 0 ||
            !pool_lvm_tag_get(snap->lvs[i].tags, POOL_TAG_LAYER))
            continue;
        if (o < sizeof(list))
            o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", n ? ", " : "", sn);
        n++;
    }
    if (n && strcmp(what, "resize") == 0) {
        pool_error(POOL_ERR_BUSY,
                   "volume %s has snapshots (%s): resizing a volume with snapshots is not built "
                   "yet",
                   lv->name, list);
        return -1;
    }
    if (!n)
        return 0;
    /* a delete takes the volume's snapshots with it: refused while an LV
     * of another volume (a linked clone) sits on one of them */
    poolLayerTree t;
    if (pool_layer_tree_build(snap->lvs, snap->nlvs, &t) < 0)
        return -1;
    char deps[256] = "";
    o = 0;
    for (size_t i = 0; i < t.n; i++) {
        const poolLtNode *l = &t.nodes[i];
        if (l->kind != POOL_LT_LAYER || !l->owner || strcmp(l->owner, uuid) != 0)
            continue;
        for (size_t c = 0; c < l->nchildren; c++) {
            const poolLtNode *ch = &t.nodes[l->children[c]];
            bool own = (ch->kind == POOL_LT_TOP && strcmp(ch->uuid, uuid) == 0) ||
                       (ch->owner && strcmp(ch->owner, uuid) == 0);
            if (!own && o < sizeof(deps))
                o += (size_t)snprintf(deps + o, sizeof(deps) - o, "%s%s", o ? ", " : "",
                                      ch->lv->name);
        }
    }
    pool_layer_tree_free(&t);
    if (deps[0]) {
        pool_error(POOL_ERR_BUSY,
                   "volume %s cannot be deleted: %s sit(s) on its snapshots (%s); delete them "
                   "first",
                   lv->name, deps, list);
        return -1;
    }
    return 0;
}

static poolVolDef *vol_info_fresh(poolEntry *e, const char *name)
{
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return NULL;
    poolVolDef *def = NULL;
    const poolLvmLV *lv = find_volume(e, &snap, name);
    if (lv)
        def = vol_from_snapshot(e, &snap, lv);
    pool_snapshot_clear(&snap);
    return def;
}

/* The reply for a volume this request has just changed: one `lvs` of that
 * LV and the leases LV (for the lease address) with the PV offsets of the
 * cache that the request's own snapshot just checked, instead of a whole
 * new snapshot. Anything unexpected (an LV missing, a PV the cache does not
 * know) takes the full path. */
static poolVolDef *vol_info_after_change(poolEntry *e, const char *name)
{
    char *names[] = {(char *)name, POOL_LV_LEASES, NULL};
    poolSnapshot snap = {0};
    poolVolDef *def = NULL;
    if (pool_lvm_report_lvs_named(e->lvm, e->def->name, names, &snap.lvs, &snap.nlvs) < 0) {
        pool_error_reset();
        return vol_info_fresh(e, name);
    }
    const poolLvmLV *lv = pool_snapshot_find_lv(&snap, name);
    bool known = lv && pool_layout_lv_is_volume(lv);
    pthread_mutex_lock(&e->mu); /* the PV cache: another request may renew it */
    for (size_t i = 0; known && i < lv->nsegments; i++) {
        known = false;
        for (size_t k = 0; k < e->npv_cache && !known; k++)
            known = strcmp(e->pv_cache[k].name, lv->segments[i].pv) == 0;
    }
    if (known) {
        snap.pvs = e->pv_cache; /* borrowed, not freed below */
        snap.npvs = e->npv_cache;
        def = vol_from_snapshot(e, &snap, lv);
    }
    pthread_mutex_unlock(&e->mu);
    pool_lvm_lvs_free(snap.lvs, snap.nlvs);
    return known ? def : vol_info_fresh(e, name);
}

/* The snapshot a change starts from, taken with the pool-metadata lease
 * held: operations a crashed or dead host left half-done are repaired
 * first (cluster.c), so the change sees a consistent pool. */
static int snapshot_for_change(poolEntry *e, poolSnapshot *snap)
{
    if (pool_snapshot_load(e, snap) < 0)
        return -1;
    int repaired = pool_cluster_repair_strays(e, snap);
    if (repaired != 0) {
        pool_snapshot_clear(snap);
        if (repaired < 0)
            return -1;
        return pool_snapshot_load(e, snap);
    }
    return 0;
}

/* Record the LUN number handed out (VG tag pd_lunlast) before the LV that
 * carries it exists, so no later create hands it out again soon, even if
 * this one is rolled back or the volume deleted: an initiator may still
 * address the number (docs/design.md section 5, "LUN numbers"). A crash
 * after it only skips a number. */
static int record_lun(poolEntry *e, const poolSnapshot *snap, int lun)
{
    const char *cur = snap->vg ? pool_lvm_tag_get(snap->vg->tags, POOL_TAG_LUN_LAST) : NULL;
    POOL_AUTOFREE(char *) add = pool_layout_tag(POOL_TAG_LUN_LAST, "%d", lun);
    POOL_AUTOFREE(char *) del = cur ? pool_layout_tag(POOL_TAG_LUN_LAST, "%s", cur) : NULL;
    if (!add || (cur && !del))
        return -1;
    if (del && strcmp(add, del) == 0)
        return 0;
    char *adds[] = {add, NULL};
    char *dels[] = {del, NULL};
    return pool_lvm_vg_change_tags(e->lvm, e->def->name, adds, del ? dels : NULL);
}

poolVolDef *pool_vol_def_from_snapshot(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv)
{
    return vol_from_snapshot(e, snap, lv);
}

int pool_vol_snapshot_for_change(poolEntry *e, poolSnapshot *snap)
{
    return snapshot_for_change(e, snap);
}

const poolLvmLV *pool_vol_find(poolEntry *e, const poolSnapshot *snap, const char *name)
{
    return find_volume(e, snap, name);
}

int pool_vol_check_new(poolEntry *e, const poolSnapshot *snap, const char *name, uint64_t extents)
{
    if (check_pool_idle(e, snap) < 0)
        return -1;
    if (pool_snapshot_find_lv(snap, name)) {
        pool_error(POOL_ERR_EXISTS, "volume '%s' already exists in pool %s", name, e->def->name);
        return -1;
    }
    return check_space(e, snap, extents) < 0 || check_metadata_room(e, snap) < 0 ? -1 : 0;
}

/* Volume create's steps once its checks have passed (also a clone's
 * first step, volume_clone.c): lease slot and LUN allocated, the slot's
 * lease written, pd_lunlast recorded, then one lvcreate with every tag and
 * pd_op:<op>. Clears *snap. 0, or -1 with nothing made (at most a fresh
 * lease in an unused slot and a skipped LUN number). */
int pool_vol_create_intent(poolManager *mgr, poolEntry *e, poolSnapshot *snap, const char *name,
                           uint64_t extents, const char *op)
{
    const char *pool = e->def->name;
    int slot = -1, lun = -1;
    if ((slot = pool_layout_alloc_slot(snap->lvs, snap->nlvs, e->def->lease_slots)) < 0 ||
        (lun = pool_layout_alloc_lun(snap->vg ? snap->vg->tags : NULL, snap->lvs, snap->nlvs)) <
            0) {
        pool_snapshot_clear(snap);
        return -1;
    }
    char uuid[37];
    /* The lease slot is written before the LV exists: a crash leaves at
     * most a fresh lease in a slot nobody owns, which the next create
     * there rewrites. */
    if (pool_uuid_generate(uuid) < 0 ||
        pool_cluster_format_volume_lease(mgr, e, snap, slot, uuid, name) < 0 ||
        record_lun(e, snap, lun) < 0) {
        pool_snapshot_clear(snap);
        return -1;
    }
    pool_snapshot_clear(snap);
    char *tags[7] = {
        pool_layout_tag("pd_uuid", "%s", uuid),
        pool_layout_tag("pd_fmt", "raw"),
        pool_layout_tag("pd_slot", "%d", slot),
        pool_layout_tag("pd_lun", "%d", lun),
        pool_layout_tag("pd_ctime", "%lld", (long long)time(NULL)),
        pool_layout_tag("pd_op", "%s", op),
        NULL,
    };
    int r = -1;
    for (size_t i = 0; i < 6; i++)
        if (!tags[i])
            goto out;
    if (strcmp(op, "create") == 0)
        pool_testhook("vol-create:before-lvcreate");
    if (pool_lvm_lvcreate(e->lvm, pool, name, extents, tags) < 0)
        goto out;
    log_vol(POOL_LOG_INFO, pool, name, "created (%s): %" PRIu64 " extents, lease slot %d, LUN %d",
            op, extents, slot, lun);
    r = 0;
out:
    for (size_t i = 0; i < 6; i++)
        free(tags[i]);
    return r;
}

static poolVolDef *vol_create_locked(poolManager *mgr, poolEntry *e, const char *name,
                                     uint64_t capacity)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    if (snapshot_for_change(e, &snap) < 0)
        return NULL;
    uint64_t extents = pool_layout_extents_for(capacity, e->def->extent_size);
    if (pool_vol_check_new(e, &snap, name, extents) < 0) {
        pool_snapshot_clear(&snap);
        return NULL;
    }
    if (pool_vol_create_intent(mgr, e, &snap, name, extents, "create") < 0)
        return NULL;
    pool_testhook("vol-create:after-lvcreate");
    POOL_AUTOFREE(char *) tag = pool_layout_tag("pd_op", "create");
    char *del[] = {tag, NULL};
    if (!tag || pool_lvm_lv_change_tags(e->lvm, pool, name, NULL, del) < 0) {
        poolError *err = pool_error_save();
        if (pool_lvm_lvremove(e->lvm, pool, name) < 0)
            log_vol(POOL_LOG_ERROR, pool, name,
                    "could not undo a failed create; reconcile will remove it");
        pool_error_restore(err);
        return NULL;
    }
    pool_testhook("vol-create:after-commit");
    return vol_info_after_change(e, name);
}

poolVolDef *pool_manager_vol_create(poolManager *mgr, const char *pool, const char *name,
                                    uint64_t capacity)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || pool_name_validate(POOL_NAME_VOLUME, name) < 0)
        return NULL;
    if (capacity == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "volume size must be greater than zero");
        return NULL;
    }
    if (pool_cluster_lock(mgr, e) < 0)
        return NULL;
    poolVolDef *def = vol_create_locked(mgr, e, name, capacity);
    pool_cluster_unlock(mgr, e);
    return def;
}

/* The resize proper, once the request has been checked: intent, lvresize,
 * commit (see pool-ops.h). A shrink first zeroes the tail it frees, once
 * no host's target can still reach it (docs/design.md section 7, "Freed
 * extents"); `segs` is the LV's map then, NULL for a grow. */
static poolVolDef *resize_steps(poolEntry *e, const char *name, uint64_t cur, uint64_t extents,
                                const poolSegment *segs, size_t nsegs)
{
    const char *pool = e->def->name;
    POOL_AUTOFREE(char *) tag = pool_layout_tag("pd_op", "resize-%" PRIu64, extents);
    char *tags[] = {tag, NULL};
    if (!tag || pool_lvm_lv_change_tags(e->lvm, pool, name, tags, NULL) < 0)
        return NULL;
    pool_testhook("vol-resize:after-intent");
    if (extents < cur) {
        pool_wipe_wait_maps(e, name);
        if (pool_wipe_segments(pool, name, segs, nsegs, extents * e->def->extent_size) < 0) {
            /* the volume keeps its size; the tail it was to lose may be
             * partly zeroed */
            poolError *err = pool_error_save();
            pool_lvm_lv_change_tags(e->lvm, pool, name, NULL, tags);
            pool_error_restore(err);
            return NULL;
        }
    }
    /* cur was read by this request's snapshot just before the intent tag:
     * no need for lvresize to read it again */
    if (pool_lvm_lvresize_from(e->lvm, pool, name, cur, extents) < 0) {
        /* nothing changed: drop the intent so the volume is usable again */
        poolError *err = pool_error_save();
        pool_lvm_lv_change_tags(e->lvm, pool, name, NULL, tags);
        pool_error_restore(err);
        return NULL;
    }
    pool_testhook("vol-resize:after-lvresize");
    if (pool_lvm_lv_change_tags(e->lvm, pool, name, NULL, tags) < 0)
        return NULL;
    pool_testhook("vol-resize:after-commit");
    log_vol(POOL_LOG_INFO, pool, name, "resized from %" PRIu64 " to %" PRIu64 " extents", cur,
            extents);
    return vol_info_after_change(e, name);
}

static poolVolDef *vol_resize_locked(poolManager *mgr, poolEntry *e, const char *name,
                                     uint64_t capacity, bool allow_shrink, bool force)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    if (snapshot_for_change(e, &snap) < 0)
        return NULL;
    const poolLvmLV *lv = find_volume(e, &snap, name);
    uint64_t extents = pool_layout_extents_for(capacity, e->def->extent_size);
    uint64_t cur = 0;
    if (!lv || check_pool_idle(e, &snap) < 0)
        goto fail;
    cur = lv->size / e->def->extent_size;
    if (refuse_layered(e, &snap, lv, "resize") < 0)
        goto fail;
    const char *op = pool_lvm_tag_get(lv->tags, "pd_op");
    if (op) {
        pool_error(POOL_ERR_BUSY, "volume %s has an unfinished '%s' operation", name, op);
        goto fail;
    }
    if (extents == cur) {
        pool_snapshot_clear(&snap);
        log_vol(POOL_LOG_INFO, pool, name, "resize: already %" PRIu64 " extents", cur);
        return vol_info_fresh(e, name);
    }
    if (extents < cur && !allow_shrink) {
        char from[32], to[32];
        pool_error(POOL_ERR_INVALID_ARG,
                   "shrinking volume %s from %s to %s would destroy the data beyond the new end; "
                   "use --allow-shrink if that is intended",
                   name, pool_format_size(lv->size, from, 32),
                   pool_format_size(extents * e->def->extent_size, to, 32));
        goto fail;
    }
    if (extents > cur && check_space(e, &snap, extents - cur) < 0)
        goto fail;
    /* a shrink zeroes the tail it frees (resize_steps) */
    poolSegment *segs = NULL;
    size_t nsegs = 0;
    if (extents < cur &&
        pool_layout_segments(lv, snap.pvs, snap.npvs, e->def->extent_size, &segs, &nsegs) < 0)
        goto fail;
    poolVolDef *def = NULL;
    if (extents < cur && !force && e->def->locking == POOL_LOCKING_SANLOCK) {
        /* Never cut a disk another host's writer (a VM) has open: hold
         * the volume's lease for the shrink, as a delete does, so nobody
         * can take it between the check and the lvresize. */
        POOL_AUTOPTR(poolVolDef) vol = vol_from_snapshot(e, &snap, lv);
        bool held = false;
        if (!vol || pool_cluster_hold_volume_shrink(mgr, e, vol, &held) < 0) {
            pool_segments_free(segs, nsegs);
            goto fail;
        }
        pool_snapshot_clear(&snap);
        def = resize_steps(e, name, cur, extents, segs, nsegs);
        if (held)
            pool_cluster_drop_volume(mgr, e, vol);
    } else {
        pool_snapshot_clear(&snap);
        def = resize_steps(e, name, cur, extents, segs, nsegs);
    }
    pool_segments_free(segs, nsegs);
    return def;
fail:
    pool_snapshot_clear(&snap);
    return NULL;
}

poolVolDef *pool_manager_vol_resize(poolManager *mgr, const char *pool, const char *name,
                                    uint64_t capacity, bool allow_shrink, bool force)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return NULL;
    if (capacity == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "volume size must be greater than zero");
        return NULL;
    }
    if (pool_cluster_lock(mgr, e) < 0)
        return NULL;
    poolVolDef *def = vol_resize_locked(mgr, e, name, capacity, allow_shrink, force);
    pool_cluster_unlock(mgr, e);
    return def;
}

static int vol_delete_locked(poolManager *mgr, poolEntry *e, const char *name)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    if (snapshot_for_change(e, &snap) < 0)
        return -1;
    const poolLvmLV *lv = find_volume(e, &snap, name);
    int r = lv ? check_pool_idle(e, &snap) : -1;
    if (r == 0)
        r = refuse_layered(e, &snap, lv, "delete");
    POOL_AUTOPTR(poolVolDef) vol = NULL;
    bool held = false;
    if (r == 0 && e->def->locking == POOL_LOCKING_SANLOCK) {
        /* Never delete what a VM on some host may be writing: hold the
         * volume's own lease until the LV is gone, so nobody can take it
         * between a check and the lvremove. */
        vol = vol_from_snapshot(e, &snap, lv);
        r = vol ? pool_cluster_hold_volume(mgr, e, vol) : -1;
        held = r == 0;
    }
    /* A delete supersedes an unfinished operation (reconcile normally
     * finishes those at start): swap its tag for ours in one lvchange, so
     * the LV never carries two pd_op tags. */
    POOL_AUTOFREE(char *) old = NULL;
    const char *op = lv ? pool_lvm_tag_get(lv->tags, "pd_op") : NULL;
    bool marked = op && strcmp(op, "delete") == 0;
    /* A metadata area too full for even the intent tag (a pool filled by
     * lvm directly, or before creates kept a reserve): remove the LV in
     * one lvremove without the tag. Still crash-safe: lvremove is one
     * commit, and before it the volume is whole, a delete that never
     * happened. */
    bool no_room = r == 0 && snap.vg->mda_size && snap.vg->mda_free < POOL_MDA_DELETE_BYTES;
    if (no_room && !marked)
        log_vol(POOL_LOG_WARN, pool, name,
                "metadata area nearly full (%" PRIu64 " bytes free): deleting without the "
                "intent tag",
                snap.vg->mda_free);
    if (op && !marked && !no_room)
        old = pool_layout_tag("pd_op", "%s", op);
    /* the extents to zero before they are freed (wipe.c) */
    poolSegment *segs = NULL;
    size_t nsegs = 0;
    if (r == 0 &&
        pool_layout_segments(lv, snap.pvs, snap.npvs, e->def->extent_size, &segs, &nsegs) < 0)
        r = -1;
    pool_snapshot_clear(&snap);
    if (r == 0 && op && !marked && !no_room && !old)
        r = -1;
    if (r == 0 && !marked && !no_room) {
        POOL_AUTOFREE(char *) tag = pool_layout_tag("pd_op", "delete");
        char *tags[] = {tag, NULL};
        char *del[] = {old, NULL};
        if (!tag || pool_lvm_lv_change_tags(e->lvm, pool, name, tags, old ? del : NULL) < 0)
            r = -1;
    }
    if (r == 0) {
        pool_testhook("vol-delete:after-intent");
        /* Zero the extents while the LV still owns them: once lvremove
         * commits, any host's next lvcreate may get them, and must read
         * zeroes there; and only once no other host's target can still
         * write to them through an old map (docs/design.md section 7,
         * "Freed extents"). */
        if (!no_room)
            pool_wipe_wait_maps(e, name);
        r = pool_wipe_segments(pool, name, segs, nsegs, 0);
    }
    pool_segments_free(segs, nsegs);
    if (r == 0) {
        pool_testhook("vol-delete:after-wipe");
        r = pool_lvm_lvremove(e->lvm, pool, name);
    }
    if (r == 0) {
        pool_testhook("vol-delete:after-lvremove");
        log_vol(POOL_LOG_INFO, pool, name, "deleted");
        /* its snapshots, leaves first (reconcile_snapshot.c: layers whose
         * volume is gone); what a failure or crash leaves, the next change
         * or restart removes */
        if (pool_reconcile_snapshots(e, NULL) < 0) {
            log_vol(POOL_LOG_ERROR, pool, name,
                    "deleted, but removing its snapshots failed (%s); the next change retries",
                    pool_error_last_message());
            pool_error_reset();
        }
    }
    if (held)
        pool_cluster_drop_volume(mgr, e, vol);
    return r;
}

int pool_manager_vol_delete(poolManager *mgr, const char *pool, const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = vol_delete_locked(mgr, e, name);
    pool_cluster_unlock(mgr, e);
    return r;
}

static int list_luns(poolManager *mgr, const char *pool, bool layers, poolVolDef ***defs,
                     size_t *n);

int pool_manager_vol_list(poolManager *mgr, const char *pool, poolVolDef ***defs, size_t *n)
{
    return list_luns(mgr, pool, false, defs, n);
}

int pool_manager_lun_list(poolManager *mgr, const char *pool, poolVolDef ***defs, size_t *n)
{
    return list_luns(mgr, pool, true, defs, n);
}

static int list_luns(poolManager *mgr, const char *pool, bool layers, poolVolDef ***defs, size_t *n)
{
    *defs = NULL;
    *n = 0;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    poolVolDef **out = pool_calloc(snap.nlvs + 1, sizeof(*out));
    size_t k = 0;
    if (!out)
        goto fail;
    for (size_t i = 0; i < snap.nlvs; i++) {
        bool layer = layers && !pool_layout_lv_is_special(&snap.lvs[i]) &&
                     !pool_lvm_tag_get(snap.lvs[i].tags, POOL_TAG_UUID) &&
                     pool_lvm_tag_get(snap.lvs[i].tags, POOL_TAG_LAYER);
        if (!layer && !pool_layout_lv_is_volume(&snap.lvs[i]))
            continue;
        out[k] = vol_from_snapshot(e, &snap, &snap.lvs[i]);
        if (!out[k] && layer) {
            /* a layer with bad tags: not served, but the volumes are */
            log_vol(POOL_LOG_ERROR, pool, snap.lvs[i].name, "layer not exported: %s",
                    pool_error_last_message());
            pool_error_reset();
            continue;
        }
        if (!out[k])
            goto fail;
        k++;
    }
    pool_snapshot_clear(&snap);
    *defs = out;
    *n = k;
    return 0;
fail:
    pool_vol_defs_free(out, k);
    pool_snapshot_clear(&snap);
    return -1;
}

poolVolDef *pool_manager_vol_info(poolManager *mgr, const char *pool, const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return NULL;
    return vol_info_fresh(e, name);
}
