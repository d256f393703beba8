/*
 * snapshot_ops.c: snapshot create, revert, delete and list (offline: the
 * volume's lease is held by poold for the whole operation). A snapshot
 * freezes the volume's current top LV as a read-only layer and puts a new
 * qcow2 top over it; the volume keeps its name, uuid, lease slot and LUN
 * (docs/design.md section 4 choice 8, section 6 for the steps and crash
 * points, layer_tree.h for the tags). Each operation's one commit is one
 * lvchange; reconcile_snapshot.c rolls back what crashed before it and
 * finishes what crashed after.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cluster.h"
#include "layer_tree.h"
#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-command.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-ops.h"
#include "pool-util.h"
#include "reconcile.h"
#include "snapshot_ops.h"
#include "testhook.h"
#include "wipe.h"

#define QCOW2_OPTS          "cluster_size=131072,extended_l2=on"
#define QEMU_IMG_TIMEOUT_MS 60000
/* the qcow2 file qemu-img creates holds only metadata (header, refcount
 * and L1 tables): a few MiB even for the largest volumes */
#define QCOW2_HEADER_MAX (64ull * 1024 * 1024)
#define DIO_ALIGN        4096

void pool_snap_infos_free(poolSnapInfo *s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++) {
        free(s[i].name);
        free(s[i].lv);
        free(s[i].format);
        free(s[i].parent);
        free(s[i].state);
    }
    free(s);
}

static int run_qemu_img(char **argv, poolCommandResult *res)
{
    poolCommand cmd = {.argv = argv, .timeout_ms = QEMU_IMG_TIMEOUT_MS, .max_output = 1 << 20};
    if (pool_command_run(&cmd, res) < 0) {
        pool_error_prefix("qemu-img");
        return -1;
    }
    if (res->exit_status != 0) {
        pool_error(POOL_ERR_SYSTEM, "qemu-img %s failed (exit status %d): %.300s", argv[1],
                   res->exit_status, res->err ? res->err : "");
        pool_command_result_clear(res);
        return -1;
    }
    return 0;
}

/* Bytes a qcow2 image of vsize needs when every cluster is allocated. */
static int measure_qcow2(uint64_t vsize, uint64_t *bytes)
{
    char size[32];
    snprintf(size, sizeof(size), "%" PRIu64, vsize);
    char *argv[] = {"qemu-img", "measure",  "--output=json", "-O", "qcow2",
                    "-o",       QCOW2_OPTS, "--size",        size, NULL};
    poolCommandResult res = {0};
    if (run_qemu_img(argv, &res) < 0)
        return -1;
    json_object *root = json_tokener_parse(res.out ? res.out : "");
    json_object *v = NULL;
    int r = -1;
    if (root && json_object_object_get_ex(root, "fully-allocated", &v) &&
        json_object_get_int64(v) > 0) {
        *bytes = (uint64_t)json_object_get_int64(v);
        r = 0;
    } else {
        pool_error(POOL_ERR_SYSTEM, "qemu-img measure gave no fully-allocated size");
    }
    json_object_put(root);
    pool_command_result_clear(&res);
    return r;
}

/* Write buf (len bytes, a multiple of DIO_ALIGN) at the start of an LV
 * through its segment map, with O_DIRECT, then flush. */
static int write_lv_head(const char *lvname, const poolSegment *segs, size_t n, const void *buf,
                         uint64_t len)
{
    uint64_t done = 0;
    while (done < len) {
        const char *pv;
        uint64_t off;
        size_t seg = 0;
        for (; seg < n; seg++)
            if (done >= segs[seg].lv_offset && done < segs[seg].lv_offset + segs[seg].length)
                break;
        if (seg == n) {
            pool_error(POOL_ERR_INTERNAL, "%s is smaller than its qcow2 header", lvname);
            return -1;
        }
        uint64_t chunk = segs[seg].lv_offset + segs[seg].length - done;
        if (chunk > len - done)
            chunk = len - done;
        if (pool_layout_locate(segs, n, done, chunk, &pv, &off) < 0)
            return -1;
        int fd = open(pv, O_RDWR | O_DIRECT | O_CLOEXEC);
        if (fd < 0) {
            pool_error_errno(errno, "cannot open %s to write %s", pv, lvname);
            return -1;
        }
        ssize_t w = pwrite(fd, (const char *)buf + done, chunk, (off_t)off);
        int err = w < 0 ? errno : 0;
        if (w == (ssize_t)chunk && fdatasync(fd) < 0)
            err = errno;
        close(fd);
        if (w != (ssize_t)chunk || err) {
            pool_error_errno(err ? err : EIO, "cannot write the qcow2 header of %s on %s", lvname,
                             pv);
            return -1;
        }
        done += chunk;
    }
    return 0;
}

/* Format an LV as an empty qcow2 image of vsize without a backing file:
 * qemu-img creates it in a private temporary directory, its bytes are
 * written at the LV's offset 0. */
static int format_qcow2(poolEntry *e, const char *lvname, uint64_t vsize)
{
    const char *pool = e->def->name;
    char *names[] = {(char *)lvname, NULL};
    poolLvmLV *lvs = NULL;
    size_t nlvs = 0;
    if (pool_lvm_report_lvs_named(e->lvm, pool, names, &lvs, &nlvs) < 0)
        return -1;
    poolSegment *segs = NULL;
    size_t nsegs = 0;
    pthread_mutex_lock(&e->mu);
    int r = nlvs == 1 ? pool_layout_segments(&lvs[0], e->pv_cache, e->npv_cache,
                                             e->def->extent_size, &segs, &nsegs)
                      : -1;
    pthread_mutex_unlock(&e->mu);
    uint64_t lvsize = nlvs == 1 ? lvs[0].size : 0;
    pool_lvm_lvs_free(lvs, nlvs);
    if (r < 0) {
        if (pool_error_last_code() == POOL_ERR_OK)
            pool_error(POOL_ERR_LVM, "logical volume %s vanished", lvname);
        return -1;
    }
    const char *tmpdir = getenv("TMPDIR");
    POOL_AUTOFREE(char *) dir = pool_asprintf("%s/poold-qcow2-XXXXXX", tmpdir ? tmpdir : "/tmp");
    POOL_AUTOFREE(char *) file = NULL;
    void *buf = NULL;
    r = -1;
    if (!dir || !mkdtemp(dir)) {
        if (dir)
            pool_error_errno(errno, "cannot make a temporary directory for a qcow2 header");
        goto out;
    }
    if (!(file = pool_asprintf("%s/head.qcow2", dir)))
        goto out;
    char size[32];
    snprintf(size, sizeof(size), "%" PRIu64, vsize);
    char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-o", QCOW2_OPTS, file, size, NULL};
    poolCommandResult res = {0};
    if (run_qemu_img(argv, &res) < 0)
        goto out;
    pool_command_result_clear(&res);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        pool_error_errno(errno, "cannot read %s", file);
        if (fd >= 0)
            close(fd);
        goto out;
    }
    uint64_t len = ((uint64_t)st.st_size + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN;
    if (st.st_size <= 0 || len > QCOW2_HEADER_MAX || len > lvsize) {
        pool_error(POOL_ERR_SYSTEM, "qemu-img made a %lld-byte qcow2 header for %s",
                   (long long)st.st_size, lvname);
        close(fd);
        goto out;
    }
    if (posix_memalign(&buf, DIO_ALIGN, len) != 0) {
        buf = NULL;
        close(fd);
        pool_error_oom();
        goto out;
    }
    memset(buf, 0, len);
    ssize_t got = 0;
    while (got < st.st_size) {
        ssize_t k = read(fd, (char *)buf + got, (size_t)(st.st_size - got));
        if (k <= 0) {
            pool_error_errno(k < 0 ? errno : EIO, "cannot read %s", file);
            close(fd);
            goto out;
        }
        got += k;
    }
    close(fd);
    r = write_lv_head(lvname, segs, nsegs, buf, len);
out:
    free(buf);
    if (file)
        unlink(file);
    if (dir)
        rmdir(dir);
    pool_segments_free(segs, nsegs);
    return r;
}

/* For a linked clone's new top (volume_clone_linked.c): formatted exactly
 * as a snapshot's (snapshot_ops.h). */
int pool_snap_measure_qcow2(uint64_t vsize, uint64_t *bytes)
{
    return measure_qcow2(vsize, bytes);
}

int pool_snap_format_qcow2(poolEntry *e, const char *lvname, uint64_t vsize)
{
    return format_qcow2(e, lvname, vsize);
}

static int check_pool_idle(poolEntry *e, const poolSnapshot *snap)
{
    const char *op = pool_lvm_tag_get(snap->vg->tags, POOL_TAG_OP);
    if (op) {
        pool_error(POOL_ERR_BUSY, "pool %s has an unfinished '%s' operation", e->def->name, op);
        return -1;
    }
    return 0;
}

/* The pool read with the lease held and earlier crashes repaired, and its
 * layer tree. */
static int load_for_change(poolEntry *e, poolSnapshot *snap, poolLayerTree *t)
{
    if (pool_snapshot_load(e, snap) < 0)
        return -1;
    int repaired = pool_cluster_repair_strays(e, snap);
    if (repaired != 0) {
        pool_snapshot_clear(snap);
        if (repaired < 0 || pool_snapshot_load(e, snap) < 0)
            return -1;
    }
    if (check_pool_idle(e, snap) < 0 || pool_layer_tree_build(snap->lvs, snap->nlvs, t) < 0) {
        pool_snapshot_clear(snap);
        return -1;
    }
    return 0;
}

static int find_top(poolEntry *e, const poolLayerTree *t, const char *volume)
{
    if (pool_name_validate(POOL_NAME_VOLUME, volume) < 0)
        return -1;
    int i = pool_layer_tree_find_top(t, volume);
    if (i < 0) {
        pool_error(POOL_ERR_NO_VOLUME, "no volume named '%s' in pool %s", volume, e->def->name);
        return -1;
    }
    if (t->nodes[i].op != POOL_LT_OP_NONE) {
        pool_error(POOL_ERR_BUSY, "volume %s has an unfinished '%s' operation", volume,
                   pool_lvm_tag_get(t->nodes[i].lv->tags, POOL_TAG_OP));
        return -1;
    }
    return i;
}

static int check_snap_name(const char *name)
{
    if (pool_name_validate(POOL_NAME_VOLUME, name) < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", pool_error_last_message());
        pool_error_reset();
        /* the same rules as volume names: say which name it was */
        const char *p = strstr(msg, "volume name");
        if (p)
            pool_error(POOL_ERR_INVALID_ARG, "invalid snapshot name%s", p + strlen("volume name"));
        else
            pool_error(POOL_ERR_INVALID_ARG, "invalid snapshot name: %s", msg);
        return -1;
    }
    return 0;
}

static int find_snap(poolEntry *e, const poolLayerTree *t, const poolLtNode *top, const char *name)
{
    if (check_snap_name(name) < 0)
        return -1;
    int s = pool_layer_tree_find_snapshot(t, top->uuid, name);
    if (s < 0)
        pool_error(POOL_ERR_NO_VOLUME, "volume %s of pool %s has no snapshot named '%s'",
                   top->lv->name, e->def->name, name);
    return s;
}

/* Record the LUN number handed out before the LV carrying it exists
 * (docs/design.md section 5, "LUN numbers"), as volume create does. */
static int record_lun(poolEntry *e, const poolSnapshot *snap, int lun)
{
    const char *cur = pool_lvm_tag_get(snap->vg->tags, POOL_TAG_LUN_LAST);
    POOL_AUTOFREE(char *) add = pool_layout_tag(POOL_TAG_LUN_LAST, "%d", lun);
    POOL_AUTOFREE(char *) del = cur ? pool_layout_tag(POOL_TAG_LUN_LAST, "%s", cur) : NULL;
    if (!add || (cur && !del))
        return -1;
    char *adds[] = {add, NULL};
    char *dels[] = {del, NULL};
    return pool_lvm_vg_change_tags(e->lvm, e->def->name, adds, del ? dels : NULL);
}

/* Tag "key:value" of lv into v (for the old top's identity), or skip. */
static int copy_tag(char ***v, const poolLvmLV *lv, const char *key)
{
    const char *val = pool_lvm_tag_get(lv->tags, key);
    if (!val)
        return 0;
    POOL_AUTOFREE(char *) tag = pool_layout_tag(key, "%s", val);
    return tag ? pool_strv_add(v, tag) : -1;
}

static int add_tag(char ***v, char *tag)
{
    int r = tag ? pool_strv_add(v, tag) : -1;
    free(tag);
    return r;
}

/* Steps 1-2 of create and revert: a new LV, tagged with the intent and
 * the volume's identity-to-be, formatted as an empty qcow2 image. Its name
 * is returned in newname (37 bytes). */
static int make_new_top(poolEntry *e, const poolSnapshot *snap, const poolLtNode *top, bool revert,
                        const char *snapname, const char *revert_layer, uint64_t vsize,
                        char newname[37])
{
    const char *pool = e->def->name;
    uint64_t bytes;
    if (measure_qcow2(vsize, &bytes) < 0)
        return -1;
    uint64_t extents = pool_layout_extents_for(bytes, e->def->extent_size);
    if (extents > snap->vg->free_count) {
        char need[32], have[32];
        pool_error(POOL_ERR_NO_SPACE,
                   "not enough free space in pool %s for the new top of %s: need %s, %s "
                   "available",
                   pool, top->lv->name, pool_format_size(extents * e->def->extent_size, need, 32),
                   pool_format_size(snap->vg->free_count * e->def->extent_size, have, 32));
        return -1;
    }
    if (!pool_layout_mda_fits_volume(snap->vg)) {
        pool_error(POOL_ERR_NO_SPACE, "pool %s's LVM metadata area is full", pool);
        return -1;
    }
    char u[37];
    if (pool_uuid_generate(u) < 0)
        return -1;
    pool_layer_lv_name(u, newname);
    POOL_AUTOSTRV tags = NULL;
    if (add_tag(&tags, pool_layout_tag(POOL_TAG_OP, revert ? "revertnew" : "snapnew")) < 0 ||
        add_tag(&tags, pool_layout_tag(POOL_TAG_FMT, "qcow2")) < 0 ||
        add_tag(&tags, pool_layout_tag(POOL_TAG_VSIZE, "%" PRIu64, vsize)) < 0 ||
        add_tag(&tags, pool_layout_tag(POOL_TAG_OWNER, "%s", top->uuid)) < 0 ||
        add_tag(&tags, pool_layout_tag(POOL_TAG_VNAME, "%s", top->lv->name)) < 0 ||
        (revert ? add_tag(&tags, pool_layout_tag(POOL_TAG_REVERT, "%s", revert_layer))
                : add_tag(&tags, pool_layout_tag(POOL_TAG_SNAP, "%s", snapname))) < 0 ||
        /* the identity the new top takes at the end, kept here so a
         * roll-forward after the old top lost it still has it */
        copy_tag(&tags, top->lv, POOL_TAG_SLOT) < 0 || copy_tag(&tags, top->lv, POOL_TAG_LUN) < 0 ||
        copy_tag(&tags, top->lv, POOL_TAG_CTIME) < 0 ||
        copy_tag(&tags, top->lv, POOL_TAG_EXPORT) < 0)
        return -1;
    if (pool_lvm_lvcreate(e->lvm, pool, newname, extents, tags) < 0)
        return -1;
    if (revert)
        pool_testhook("snap-revert:after-lvcreate");
    else
        pool_testhook("snap-create:after-lvcreate");
    if (format_qcow2(e, newname, vsize) < 0) {
        poolError *err = pool_error_save();
        if (pool_lvm_lvremove(e->lvm, pool, newname) < 0)
            log_vol(POOL_LOG_ERROR, pool, newname,
                    "could not remove the new top after a failed format; reconcile will");
        pool_error_restore(err);
        return -1;
    }
    if (revert)
        pool_testhook("snap-revert:after-format");
    else
        pool_testhook("snap-create:after-format");
    return 0;
}

/* Undo make_new_top when the commit did not happen (lvchange failed). */
static void drop_new_top(poolEntry *e, const char *newname)
{
    poolError *err = pool_error_save();
    if (pool_lvm_lvremove(e->lvm, e->def->name, newname) < 0)
        log_vol(POOL_LOG_ERROR, e->def->name, newname,
                "could not remove the unused new top; reconcile will");
    pool_error_restore(err);
}

/* After the commit: the rest of the steps from the LVs as they are now. */
static int finish_after_commit(poolEntry *e, const char *newname, const char *parent_uuid,
                               poolSnapFinisher who)
{
    poolSnapshot snap;
    poolLayerTree t;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    int r = -1;
    if (pool_layer_tree_build(snap.lvs, snap.nlvs, &t) == 0) {
        for (size_t i = 0; i < t.n; i++)
            if (t.nodes[i].kind == POOL_LT_NEW && strcmp(t.nodes[i].lv->name, newname) == 0)
                r = pool_snapshot_finish_new(e, &t, i, parent_uuid, who);
        if (r < 0 && pool_error_last_code() == POOL_ERR_OK)
            pool_error(POOL_ERR_LVM, "the new top %s vanished", newname);
        pool_layer_tree_free(&t);
    }
    pool_snapshot_clear(&snap);
    return r;
}

/* The volume def of a top, for its lease. */
static poolVolDef *top_def(poolEntry *e, const poolSnapshot *snap, const poolLtNode *top)
{
    poolVolDef *def =
        pool_layout_vol_from_lv(e->def->name, top->lv, snap->pvs, snap->npvs, e->def->extent_size);
    const poolLvmLV *leases = pool_snapshot_find_lv(snap, POOL_LV_LEASES);
    if (def && leases && def->lease_slot > 0) {
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

static int snap_create_locked(poolManager *mgr, poolEntry *e, const char *volume, const char *name)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    poolLayerTree t;
    if (check_snap_name(name) < 0 || load_for_change(e, &snap, &t) < 0)
        return -1;
    int r = -1;
    bool held = false;
    POOL_AUTOPTR(poolVolDef) vol = NULL;
    int ti = find_top(e, &t, volume);
    if (ti < 0)
        goto out;
    const poolLtNode *top = &t.nodes[ti];
    if (pool_layer_tree_find_snapshot(&t, top->uuid, name) >= 0) {
        pool_error(POOL_ERR_EXISTS, "volume %s already has a snapshot named '%s'", volume, name);
        goto out;
    }
    size_t *chain = NULL, depth = 0;
    if (pool_layer_tree_chain(&t, (size_t)ti, &chain, &depth) < 0)
        goto out;
    free(chain);
    if (depth > POOL_LAYER_MAX_DEPTH) { /* depth - 1 layers now, one more after */
        pool_error(POOL_ERR_INVALID_ARG,
                   "volume %s already sits on %zu layers; a snapshot would make more than %d",
                   volume, depth - 1, POOL_LAYER_MAX_DEPTH);
        goto out;
    }
    if (!(vol = top_def(e, &snap, top)) ||
        pool_cluster_hold_volume_offline(mgr, e, vol, "snapshot create", &held) < 0)
        goto out;
    int lun = pool_layout_alloc_lun(snap.vg->tags, snap.lvs, snap.nlvs);
    char layer[37], newname[37];
    if (lun < 0 || pool_uuid_generate(layer) < 0 || record_lun(e, &snap, lun) < 0)
        goto out;
    pool_testhook("snap-create:before-lvcreate");
    if (make_new_top(e, &snap, top, false, name, NULL, top->vsize, newname) < 0)
        goto out;
    /* COMMIT: the old top becomes layer `layer`, snapshot `name` of the
     * volume; from here on the volume has no pd_uuid top until the new one
     * takes it, and reconcile rolls forward */
    {
        POOL_AUTOSTRV del = NULL;
        POOL_AUTOSTRV add = NULL;
        if (copy_tag(&del, top->lv, POOL_TAG_UUID) < 0 ||
            copy_tag(&del, top->lv, POOL_TAG_SLOT) < 0 ||
            copy_tag(&del, top->lv, POOL_TAG_LUN) < 0 ||
            copy_tag(&del, top->lv, POOL_TAG_EXPORT) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_LAYER, "%s", layer)) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_LUN, "%d", lun)) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_OWNER, "%s", top->uuid)) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_SNAP, "%s", name)) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_STIME, "%lld", (long long)time(NULL))) < 0 ||
            pool_lvm_lv_change_tags(e->lvm, pool, volume, add, del) < 0) {
            drop_new_top(e, newname);
            goto out;
        }
    }
    pool_testhook("snap-create:after-freeze");
    if (finish_after_commit(e, newname, layer, POOL_SNAP_CREATE) < 0) {
        pool_error_prefix("snapshot %s of %s was taken but its new top is not in place yet "
                          "(the next change or restart finishes it)",
                          name, volume);
        goto out;
    }
    log_vol(POOL_LOG_INFO, pool, volume, "snapshot '%s' taken: layer %s (LUN %d), new top qcow2",
            name, layer, lun);
    r = 0;
out:
    if (held) {
        /* no other host's target may serve the old map to a new lease
         * holder (docs/design.md section 7, "Freed extents") */
        if (r == 0)
            pool_wipe_wait_maps(e, volume);
        pool_cluster_drop_volume(mgr, e, vol);
    }
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}

int pool_manager_snapshot_create(poolManager *mgr, const char *pool, const char *volume,
                                 const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = snap_create_locked(mgr, e, volume, name);
    pool_cluster_unlock(mgr, e);
    return r;
}

static int snap_revert_locked(poolManager *mgr, poolEntry *e, const char *volume, const char *name)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    poolLayerTree t;
    if (check_snap_name(name) < 0 || load_for_change(e, &snap, &t) < 0)
        return -1;
    int r = -1;
    bool held = false;
    POOL_AUTOPTR(poolVolDef) vol = NULL;
    int ti = find_top(e, &t, volume);
    if (ti < 0)
        goto out;
    const poolLtNode *top = &t.nodes[ti];
    int si = find_snap(e, &t, top, name);
    if (si < 0)
        goto out;
    const poolLtNode *s = &t.nodes[si];
    if (s->op != POOL_LT_OP_NONE) {
        pool_error(POOL_ERR_BUSY, "snapshot %s of %s is being deleted", name, volume);
        goto out;
    }
    if (!(vol = top_def(e, &snap, top)) ||
        pool_cluster_hold_volume_offline(mgr, e, vol, "snapshot revert", &held) < 0)
        goto out;
    char newname[37];
    pool_testhook("snap-revert:before-lvcreate");
    if (make_new_top(e, &snap, top, true, NULL, s->uuid, s->vsize, newname) < 0)
        goto out;
    /* COMMIT: the old top loses the volume's identity and is marked for
     * removal; reconcile rolls forward from here */
    {
        POOL_AUTOSTRV del = NULL;
        POOL_AUTOSTRV add = NULL;
        if (copy_tag(&del, top->lv, POOL_TAG_UUID) < 0 ||
            copy_tag(&del, top->lv, POOL_TAG_SLOT) < 0 ||
            copy_tag(&del, top->lv, POOL_TAG_LUN) < 0 ||
            copy_tag(&del, top->lv, POOL_TAG_EXPORT) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_OP, "delete")) < 0 ||
            add_tag(&add, pool_layout_tag(POOL_TAG_OWNER, "%s", top->uuid)) < 0 ||
            pool_lvm_lv_change_tags(e->lvm, pool, volume, add, del) < 0) {
            drop_new_top(e, newname);
            goto out;
        }
    }
    pool_testhook("snap-revert:after-doom");
    if (finish_after_commit(e, newname, s->uuid, POOL_SNAP_REVERT) < 0) {
        pool_error_prefix("volume %s was reverted to '%s' but its new top is not in place yet "
                          "(the next change or restart finishes it)",
                          volume, name);
        goto out;
    }
    /* the old top, now under a pdl- name, goes: wiped then removed, once
     * no other host's target can still reach it */
    pool_wipe_wait_maps(e, volume);
    if (held) {
        pool_cluster_drop_volume(mgr, e, vol);
        held = false;
    }
    {
        poolSnapshot now;
        if (pool_snapshot_load(e, &now) < 0)
            goto out;
        for (size_t i = 0; i < now.nlvs; i++) {
            const char *op = pool_lvm_tag_get(now.lvs[i].tags, POOL_TAG_OP);
            const char *owner = pool_lvm_tag_get(now.lvs[i].tags, POOL_TAG_OWNER);
            if (op && owner && strcmp(op, "delete") == 0 && strcmp(owner, top->uuid) == 0 &&
                !pool_lvm_tag_get(now.lvs[i].tags, POOL_TAG_LAYER) &&
                !pool_lvm_tag_get(now.lvs[i].tags, POOL_TAG_UUID)) {
                if (pool_wipe_lv(e, &now.lvs[i], 0) < 0) {
                    pool_snapshot_clear(&now);
                    goto out;
                }
                pool_testhook("snap-revert:after-wipe");
                if (pool_lvm_lvremove(e->lvm, pool, now.lvs[i].name) < 0) {
                    pool_snapshot_clear(&now);
                    goto out;
                }
            }
        }
        pool_snapshot_clear(&now);
    }
    log_vol(POOL_LOG_INFO, pool, volume, "reverted to snapshot '%s' (new top over layer %s)", name,
            s->uuid);
    r = 0;
out:
    if (held) {
        if (r == 0)
            pool_wipe_wait_maps(e, volume);
        pool_cluster_drop_volume(mgr, e, vol);
    }
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}

int pool_manager_snapshot_revert(poolManager *mgr, const char *pool, const char *volume,
                                 const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = snap_revert_locked(mgr, e, volume, name);
    pool_cluster_unlock(mgr, e);
    return r;
}

/* "a, b, c" of the LVs backed by a layer: volume names for tops. */
static void dependants(const poolLayerTree *t, const poolLtNode *l, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->nchildren && o < len; i++) {
        const poolLtNode *c = &t->nodes[l->children[i]];
        const char *what = c->kind == POOL_LT_TOP ? "volume " : c->snap ? "snapshot " : "";
        const char *nm = c->kind == POOL_LT_TOP ? c->lv->name
                         : c->snap              ? c->snap
                         : c->template_name     ? c->template_name
                                                : c->lv->name;
        o += (size_t)snprintf(buf + o, len - o, "%s%s%s", i ? ", " : "", what, nm);
    }
}

/* Refuse a merge that would change another volume's data: every child
 * of L must be the volume's own top or one of its own snapshots, finished. */
static int check_merge_children(const poolLayerTree *t, const poolLtNode *l, const char *volume,
                                const char *name)
{
    for (size_t i = 0; i < l->nchildren; i++) {
        const poolLtNode *c = &t->nodes[l->children[i]];
        bool own = (c->kind == POOL_LT_TOP && strcmp(c->uuid, l->owner) == 0) ||
                   (c->kind == POOL_LT_LAYER && c->owner && strcmp(c->owner, l->owner) == 0 &&
                    !c->template_name);
        if (!own) {
            const char *nm = c->kind == POOL_LT_TOP ? c->lv->name
                             : c->template_name     ? c->template_name
                                                    : c->lv->name;
            pool_error(POOL_ERR_BUSY,
                       "snapshot %s of %s backs %s %s, which is not %s's own (a linked clone or "
                       "template): delete that first; nothing was changed",
                       name, volume,
                       c->kind == POOL_LT_TOP     ? "volume"
                       : c->kind == POOL_LT_LAYER ? "layer"
                                                  : "logical volume",
                       nm, volume);
            return -1;
        }
        if (c->op != POOL_LT_OP_NONE) {
            pool_error(POOL_ERR_BUSY, "snapshot %s of %s backs %s, which has an unfinished '%s'",
                       name, volume, c->lv->name, pool_lvm_tag_get(c->lv->tags, POOL_TAG_OP));
            return -1;
        }
    }
    return 0;
}

static void free_defs(poolVolDef **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pool_vol_def_free(v[i]);
    free(v);
}

/* One child of layer `luuid` still pointing at it: grown, rebased by fn,
 * retagged. 1 when one was done, 0 when none is left, -1 error. */
static int merge_one_child(poolEntry *e, const char *luuid, bool *first, poolMergeRebaseFn fn,
                           void *ctx, bool grow)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    poolLayerTree t;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    if (pool_layer_tree_build(snap.lvs, snap.nlvs, &t) < 0) {
        pool_snapshot_clear(&snap);
        return -1;
    }
    int r = -1;
    poolVolDef **chain = NULL;
    size_t *idx = NULL, n = 0;
    POOL_AUTOPTR(poolVolDef) child = NULL;
    int li = pool_layer_tree_find_layer(&t, luuid);
    if (li < 0) {
        pool_error(POOL_ERR_LVM, "layer %s vanished during its merge", luuid);
        goto out;
    }
    const poolLtNode *l = &t.nodes[li];
    if (l->nchildren == 0) {
        r = 0;
        goto out;
    }
    const poolLtNode *c = &t.nodes[l->children[0]];
    /* grow C by L's LV size: the data C's view reads from L, at most a
     * fully allocated image. A crash after this leaves C only bigger. */
    uint64_t full;
    if (measure_qcow2(c->vsize, &full) < 0)
        goto out;
    uint64_t want = c->lv->size + l->lv->size;
    if (want > full)
        want = full;
    uint64_t cur_ext = c->lv->size / e->def->extent_size;
    uint64_t ext = pool_layout_extents_for(want, e->def->extent_size);
    if (grow && ext > cur_ext) {
        if (ext - cur_ext > snap.vg->free_count) {
            char need[32], have[32];
            pool_error(POOL_ERR_NO_SPACE,
                       "not enough free space in pool %s to merge layer %s into %s: need %s, %s "
                       "available",
                       pool, l->lv->name, c->lv->name,
                       pool_format_size((ext - cur_ext) * e->def->extent_size, need, 32),
                       pool_format_size(snap.vg->free_count * e->def->extent_size, have, 32));
            goto out;
        }
        if (pool_lvm_lvresize_from(e->lvm, pool, c->lv->name, cur_ext, ext) < 0)
            goto out;
        /* the map of C changed: read it again */
        pool_layer_tree_free(&t);
        pool_snapshot_clear(&snap);
        return merge_one_child(e, luuid, first, fn, ctx, false) < 0 ? -1 : 1;
    }
    if (pool_layer_tree_chain(&t, l->children[0], &idx, &n) < 0 || n < 2)
        goto out;
    if (!(child = pool_layout_vol_from_lv(pool, c->lv, snap.pvs, snap.npvs, e->def->extent_size)) ||
        !(chain = pool_calloc(n - 1, sizeof(*chain))))
        goto out;
    for (size_t i = 1; i < n; i++)
        if (!(chain[i - 1] = pool_layout_vol_from_lv(pool, t.nodes[idx[i]].lv, snap.pvs, snap.npvs,
                                                     e->def->extent_size)))
            goto out;
    if (fn(ctx, child, (const poolVolDef *const *)chain, n - 1) < 0)
        goto out;
    if (*first)
        pool_testhook("snap-delete:mid-rebase");
    *first = false;
    {
        POOL_AUTOSTRV del = NULL;
        POOL_AUTOSTRV add = NULL;
        if (add_tag(&del, pool_layout_tag(POOL_TAG_PARENT, "%s", luuid)) < 0 ||
            (l->parent >= 0 &&
             add_tag(&add, pool_layout_tag(POOL_TAG_PARENT, "%s", t.nodes[l->parent].uuid)) < 0) ||
            pool_lvm_lv_change_tags(e->lvm, pool, c->lv->name, add, del) < 0)
            goto out;
    }
    log_vol(POOL_LOG_INFO, pool, c->lv->name, "layer %s merged into it", luuid);
    pool_testhook("snap-delete:after-retag");
    r = 1;
out:
    if (chain)
        free_defs(chain, n - 1);
    free(idx);
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}

static int snap_delete_locked(poolManager *mgr, poolEntry *e, const char *volume, const char *name,
                              poolMergeRebaseFn fn, void *ctx)
{
    const char *pool = e->def->name;
    poolSnapshot snap;
    poolLayerTree t;
    if (check_snap_name(name) < 0 || load_for_change(e, &snap, &t) < 0)
        return -1;
    int r = -1;
    bool held = false;
    POOL_AUTOPTR(poolVolDef) vol = NULL;
    int ti = find_top(e, &t, volume);
    if (ti < 0)
        goto out;
    int si = find_snap(e, &t, &t.nodes[ti], name);
    if (si < 0)
        goto out;
    const poolLtNode *s = &t.nodes[si];
    const char *sop = pool_lvm_tag_get(s->lv->tags, POOL_TAG_OP);
    bool merging = sop && strcmp(sop, "merge") == 0;
    if ((s->nchildren || merging) && !fn) {
        char list[512];
        dependants(&t, s, list, sizeof(list));
        pool_error(POOL_ERR_UNSUPPORTED,
                   "snapshot %s of %s backs %s: deleting it means merging its data into them, "
                   "which poold does",
                   name, volume, list);
        goto out;
    }
    if (s->nchildren || merging) {
        if (check_merge_children(&t, s, volume, name) < 0)
            goto out;
        /* the children are written: the volume's lease, as for the other
         * snapshot operations */
        if (!(vol = top_def(e, &snap, &t.nodes[ti])) ||
            pool_cluster_hold_volume_offline(mgr, e, vol, "snapshot delete", &held) < 0)
            goto out;
        if (!merging) {
            POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_OP, "merge");
            char *tags[] = {tag, NULL};
            if (!tag || pool_lvm_lv_change_tags(e->lvm, pool, s->lv->name, tags, NULL) < 0)
                goto out;
        }
        pool_testhook("snap-delete:after-intent");
        bool first = true;
        int k;
        while ((k = merge_one_child(e, s->uuid, &first, fn, ctx, true)) > 0)
            ;
        if (k < 0) {
            pool_error_prefix("snapshot %s of %s is partly merged (its layer keeps pd_op:merge; "
                              "deleting it again or a restart finishes it)",
                              name, volume);
            goto out;
        }
        pool_testhook("snap-delete:after-children");
        /* merged: from here it is a plain delete (every host's target
         * drops its LUN on pd_op:delete; reconcile finishes a crash) */
        POOL_AUTOFREE(char *) dtag = pool_layout_tag(POOL_TAG_OP, "delete");
        POOL_AUTOFREE(char *) mtag = pool_layout_tag(POOL_TAG_OP, "merge");
        char *adds[] = {dtag, NULL};
        char *dels[] = {mtag, NULL};
        if (!dtag || !mtag || pool_lvm_lv_change_tags(e->lvm, pool, s->lv->name, adds, dels) < 0)
            goto out;
    } else if (s->op != POOL_LT_OP_DELETE) {
        /* a layer is never written and has no lease: no holder to ask */
        POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_OP, "delete");
        char *tags[] = {tag, NULL};
        if (!tag || pool_lvm_lv_change_tags(e->lvm, pool, s->lv->name, tags, NULL) < 0)
            goto out;
        pool_testhook("snap-delete:after-intent");
    } else {
        pool_testhook("snap-delete:after-intent");
    }
    /* its read-only LUN goes from every host's target before the extents
     * are freed (docs/design.md section 7, "Freed extents") */
    pool_wipe_wait_maps(e, s->lv->name);
    if (pool_wipe_lv(e, s->lv, 0) < 0)
        goto out;
    pool_testhook("snap-delete:after-wipe");
    if (pool_lvm_lvremove(e->lvm, pool, s->lv->name) < 0)
        goto out;
    log_vol(POOL_LOG_INFO, pool, volume, "snapshot '%s' deleted (layer %s)%s", name, s->uuid,
            fn ? ", merged into its children" : "");
    r = 0;
out:
    if (held) {
        if (r == 0)
            pool_wipe_wait_maps(e, volume);
        pool_cluster_drop_volume(mgr, e, vol);
    }
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}

int pool_manager_snapshot_delete(poolManager *mgr, const char *pool, const char *volume,
                                 const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = snap_delete_locked(mgr, e, volume, name, NULL, NULL);
    pool_cluster_unlock(mgr, e);
    return r;
}

int pool_manager_snapshot_delete_merge(poolManager *mgr, const char *pool, const char *volume,
                                       const char *name, poolMergeRebaseFn rebase, void *ctx)
{
    if (!rebase) {
        pool_error(POOL_ERR_INVALID_ARG, "a merge needs a rebase function");
        return -1;
    }
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = snap_delete_locked(mgr, e, volume, name, rebase, ctx);
    pool_cluster_unlock(mgr, e);
    return r;
}

/* The (volume, snapshot) names of the pool's layers tagged pd_op:merge. */
static int merges_of(poolEntry *e, char ***vols, char ***snaps)
{
    poolSnapshot snap;
    poolLayerTree t;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    if (pool_layer_tree_build(snap.lvs, snap.nlvs, &t) < 0) {
        pool_snapshot_clear(&snap);
        return -1;
    }
    int r = 0;
    for (size_t i = 0; i < t.n && r == 0; i++) {
        const poolLtNode *l = &t.nodes[i];
        const char *op = pool_lvm_tag_get(l->lv->tags, POOL_TAG_OP);
        if (l->kind != POOL_LT_LAYER || !op || strcmp(op, "merge") != 0 || !l->snap)
            continue;
        int ti = pool_layer_tree_find_top_uuid(&t, l->owner);
        if (ti < 0) {
            log_vol(POOL_LOG_ERROR, e->def->name, l->lv->name,
                    "interrupted merge of a snapshot whose volume is gone; left alone");
            continue;
        }
        if (pool_strv_add(vols, t.nodes[ti].lv->name) < 0 || pool_strv_add(snaps, l->snap) < 0)
            r = -1;
    }
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}

int pool_manager_snapshot_merge_resume(poolManager *mgr, poolMergeRebaseFn rebase, void *ctx)
{
    POOL_AUTOSTRV names = pool_calloc(1, sizeof(char *));
    if (!names)
        return -1;
    for (size_t i = 0; i < mgr->npools; i++)
        if (mgr->pools[i]->def->locking != POOL_LOCKING_SANLOCK &&
            pool_strv_add(&names, mgr->pools[i]->def->name) < 0)
            return -1;
    int done = 0, ret = 0;
    for (size_t i = 0; names[i]; i++) {
        poolEntry *e = pool_manager_find(mgr, names[i]);
        POOL_AUTOSTRV vols = pool_calloc(1, sizeof(char *));
        POOL_AUTOSTRV snaps = pool_calloc(1, sizeof(char *));
        if (!e || !vols || !snaps || merges_of(e, &vols, &snaps) < 0) {
            pool_error_reset();
            continue;
        }
        for (size_t k = 0; vols[k]; k++) {
            log_vol(POOL_LOG_WARN, names[i], vols[k],
                    "the delete of snapshot '%s' was interrupted mid-merge; finishing it",
                    snaps[k]);
            if (pool_manager_snapshot_delete_merge(mgr, names[i], vols[k], snaps[k], rebase, ctx) <
                0) {
                log_vol(POOL_LOG_ERROR, names[i], vols[k], "%s", pool_error_last_message());
                ret = -1;
            } else {
                done++;
            }
        }
    }
    return ret < 0 ? -1 : done;
}

int pool_manager_snapshot_list(poolManager *mgr, const char *pool, const char *volume,
                               poolSnapInfo **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    poolSnapshot snap;
    poolLayerTree t;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    if (pool_layer_tree_build(snap.lvs, snap.nlvs, &t) < 0) {
        pool_snapshot_clear(&snap);
        return -1;
    }
    int r = -1;
    size_t *idx = NULL, k = 0;
    unsigned *depth = NULL;
    poolSnapInfo *s = NULL;
    int ti = pool_name_validate(POOL_NAME_VOLUME, volume) < 0
                 ? -2
                 : pool_layer_tree_find_top(&t, volume);
    if (ti == -1)
        pool_error(POOL_ERR_NO_VOLUME, "no volume named '%s' in pool %s", volume, pool);
    if (ti < 0)
        goto out;
    const poolLtNode *top = &t.nodes[ti];
    if (pool_layer_tree_snapshots(&t, top->uuid, &idx, &depth, &k) < 0 ||
        !(s = pool_calloc(k ? k : 1, sizeof(*s))))
        goto out;
    for (size_t i = 0; i < k; i++) {
        const poolLtNode *l = &t.nodes[idx[i]];
        s[i].depth = depth[i];
        s[i].lun = l->lun;
        s[i].created = l->stime;
        s[i].capacity = l->vsize;
        s[i].allocation = l->lv->size;
        s[i].current = top->parent == (int)idx[i];
        s[i].nchildren = l->nchildren;
        memcpy(s[i].layer, l->uuid, sizeof(s[i].layer));
        const char *op = pool_lvm_tag_get(l->lv->tags, POOL_TAG_OP);
        if (!(s[i].name = pool_strdup(l->snap)) || !(s[i].lv = pool_strdup(l->lv->name)) ||
            !(s[i].format = pool_strdup(l->format)) ||
            !(s[i].state = pool_strdup(op ? op : "ready")))
            goto out;
        if (l->parent >= 0) {
            const poolLtNode *p = &t.nodes[l->parent];
            if (!(s[i].parent = pool_strdup(p->snap ? p->snap : p->template_name)))
                goto out;
        }
    }
    *out = s;
    *n = k;
    s = NULL;
    r = 0;
out:
    pool_snap_infos_free(s, k);
    free(idx);
    free(depth);
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}
