/*
 * volume_clone.c: a full copy of a volume into a new raw volume
 * (pool-clone.h; docs/design.md section 6, "Volume clone").
 *
 * State machine (the crash points are POOLD_TEST_CRASH_AT names):
 *
 *   begin    the target LV is made exactly as volume create makes one
 *            (lease slot, LUN number, pd_lunlast, one lvcreate), but its
 *            intent tag is pd_op:clone and it stays      [vol-clone:after-lvcreate]
 *   copy     the source's bytes, read through its segment map, written
 *            through the target's, O_DIRECT, in chunks   [vol-clone:mid-copy]
 *            (after the first); then flushed              [vol-clone:after-copy]
 *   commit   one lvchange drops pd_op:clone               [vol-clone:after-commit]
 *
 * Until the commit the target may hold any part of the source's data, so
 * every way out that is not the commit zeroes it before lvremove frees its
 * extents: abort here, and reconcile_volume.c for an LV found tagged
 * pd_op:clone after a crash. A tagged volume is never a LUN (its state is
 * not ready: target_sync.c) and is skipped by stray repair while this
 * process's job still works on it (poolEntry.claimed).
 *
 * The copy reads the source's extents as they are: the source is not
 * frozen, so a copy is consistent only if nothing writes the source
 * meanwhile (the VM using it is shut down). poold refuses resize, delete
 * and export changes of both volumes while the job runs.
 *
 * Sanlock pools: the pool-metadata lease is held for begin, commit and
 * abort only. poold holds the source's lease from begin to the end (a
 * source another host's writer holds is refused, naming it) and the
 * target's lease from its lvcreate to the end, so another host's stray
 * repair, which repairs a pd_op:clone LV only once it can take that LV's
 * lease (cluster.c), leaves a live clone alone and rolls back a dead one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cluster.h"
#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-clone.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "testhook.h"
#include "volume_ops.h"
#include "wipe.h"

/* One read and one write per chunk: large enough that the per-call cost
 * vanishes, small enough that progress and cancel stay prompt. */
#define CLONE_CHUNK (4u * 1024 * 1024)
#define CLONE_OP    "clone"

struct poolClone {
    char *pool;
    char *source;
    char *name;
    char uuid[37]; /* the target's pd_uuid: abort removes only that LV */
    uint64_t size;
    poolSegment *src;
    size_t nsrc;
    poolSegment *dst;
    size_t ndst;
    /* sanlock pools: the leases held for the whole clone (NULL: none) */
    poolVolDef *src_held;
    poolVolDef *dst_held;
};

/* Give back the leases a clone holds (sanlock pools). */
static void drop_leases(poolManager *mgr, poolEntry *e, poolClone *c)
{
    if (c->dst_held)
        pool_cluster_drop_volume(mgr, e, c->dst_held);
    if (c->src_held)
        pool_cluster_drop_volume(mgr, e, c->src_held);
    pool_vol_def_free(c->dst_held);
    pool_vol_def_free(c->src_held);
    c->dst_held = c->src_held = NULL;
}

void pool_clone_free(poolClone *c)
{
    if (!c)
        return;
    free(c->pool);
    free(c->source);
    free(c->name);
    pool_segments_free(c->src, c->nsrc);
    pool_segments_free(c->dst, c->ndst);
    pool_vol_def_free(c->src_held);
    pool_vol_def_free(c->dst_held);
    free(c);
}

uint64_t pool_clone_size(const poolClone *c)
{
    return c->size;
}

/* Zero and remove the target; the caller holds the pool's locks. Only the
 * LV that still carries this clone's uuid and pd_op:clone is touched. */
static int abort_locked(poolManager *mgr, poolEntry *e, poolClone *c)
{
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    const poolLvmLV *lv = pool_snapshot_find_lv(&snap, c->name);
    const char *op = lv ? pool_lvm_tag_get(lv->tags, POOL_TAG_OP) : NULL;
    const char *uuid = lv ? pool_lvm_tag_get(lv->tags, POOL_TAG_UUID) : NULL;
    bool ours = op && strcmp(op, CLONE_OP) == 0 && uuid && strcmp(uuid, c->uuid) == 0;
    pool_snapshot_clear(&snap);
    int r = 0;
    if (ours) {
        r = pool_wipe_segments(c->pool, c->name, c->dst, c->ndst, 0);
        if (r == 0)
            r = pool_lvm_lvremove(e->lvm, c->pool, c->name);
    }
    if (r == 0) {
        pool_entry_release_lv(e, c->name);
        drop_leases(mgr, e, c);
        log_vol(POOL_LOG_INFO, c->pool, c->name, "clone of %s undone: target zeroed and removed",
                c->source);
    }
    return r;
}

/* After the lvcreate: the target's uuid and segment map. */
static int read_target(poolManager *mgr, poolEntry *e, poolClone *c)
{
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    const poolLvmLV *lv = pool_snapshot_find_lv(&snap, c->name);
    const char *uuid = lv ? pool_lvm_tag_get(lv->tags, POOL_TAG_UUID) : NULL;
    int r = -1;
    if (!lv || !uuid || strlen(uuid) != 36)
        pool_error(POOL_ERR_LVM, "the clone's target %s is not there after lvcreate", c->name);
    else if (lv->size != c->size)
        pool_error(POOL_ERR_LVM, "the clone's target %s has %" PRIu64 " bytes, not %" PRIu64,
                   c->name, lv->size, c->size);
    else {
        memcpy(c->uuid, uuid, 37);
        r = pool_layout_segments(lv, snap.pvs, snap.npvs, e->def->extent_size, &c->dst, &c->ndst);
        if (r == 0 && e->def->locking == POOL_LOCKING_SANLOCK) {
            /* the target's own lease: while poold holds it, no host's
             * stray repair takes the target for a crash's leftover */
            poolVolDef *def = pool_vol_def_from_snapshot(e, &snap, lv);
            r = def ? pool_cluster_hold_volume(mgr, e, def) : -1;
            if (r == 0)
                c->dst_held = def;
            else
                pool_vol_def_free(def);
        }
    }
    pool_snapshot_clear(&snap);
    return r;
}

static poolClone *begin_locked(poolManager *mgr, poolEntry *e, poolClone *c)
{
    poolSnapshot snap;
    if (pool_vol_snapshot_for_change(e, &snap) < 0)
        return NULL;
    const poolLvmLV *lv = pool_vol_find(e, &snap, c->source);
    const char *op = lv ? pool_lvm_tag_get(lv->tags, POOL_TAG_OP) : NULL;
    if (op)
        pool_error(POOL_ERR_BUSY, "volume %s has an unfinished '%s' operation", c->source, op);
    /* a qcow2 top's LV holds only what changed since its snapshot: its
     * bytes copied into a raw volume would be neither the guest's data nor
     * a usable image */
    const char *fmt = lv && !op ? pool_lvm_tag_get(lv->tags, POOL_TAG_FMT) : NULL;
    bool qcow2 = fmt && strcmp(fmt, "raw") != 0;
    if (qcow2)
        pool_error(POOL_ERR_UNSUPPORTED,
                   "volume %s is %s (a top over snapshot layers): a full clone of it is not "
                   "built yet; clone a volume without snapshots",
                   c->source, fmt);
    uint64_t extents = lv ? lv->size / e->def->extent_size : 0;
    if (!lv || op || qcow2 || pool_vol_check_new(e, &snap, c->name, extents) < 0 ||
        pool_layout_segments(lv, snap.pvs, snap.npvs, e->def->extent_size, &c->src, &c->nsrc) < 0) {
        pool_snapshot_clear(&snap);
        return NULL;
    }
    if (e->def->locking == POOL_LOCKING_SANLOCK) {
        /* the source's lease for the whole copy: a disk another host's
         * writer (a running VM) holds is not cloned, and nobody can take
         * it while the copy reads */
        poolVolDef *def = pool_vol_def_from_snapshot(e, &snap, lv);
        if (!def || pool_cluster_hold_volume(mgr, e, def) < 0) {
            pool_vol_def_free(def);
            pool_snapshot_clear(&snap);
            return NULL;
        }
        c->src_held = def;
    }
    if (pool_entry_claim_lv(e, c->name) < 0) {
        drop_leases(mgr, e, c);
        pool_snapshot_clear(&snap);
        return NULL;
    }
    c->size = lv->size;
    if (pool_vol_create_intent(mgr, e, &snap, c->name, extents, CLONE_OP) < 0) {
        pool_entry_release_lv(e, c->name);
        drop_leases(mgr, e, c);
        return NULL;
    }
    pool_testhook("vol-clone:after-lvcreate");
    if (read_target(mgr, e, c) < 0) {
        poolError *err = pool_error_save();
        if (c->uuid[0] == '\0' || abort_locked(mgr, e, c) < 0)
            log_vol(POOL_LOG_ERROR, c->pool, c->name,
                    "cannot undo the clone's target; reconcile removes it at the next start");
        drop_leases(mgr, e, c);
        pool_error_restore(err);
        return NULL;
    }
    log_vol(POOL_LOG_INFO, c->pool, c->name, "clone of %s begun: %" PRIu64 " bytes to copy",
            c->source, c->size);
    return c;
}

poolClone *pool_manager_vol_clone_begin(poolManager *mgr, const char *pool, const char *source,
                                        const char *name)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || pool_name_validate(POOL_NAME_VOLUME, source) < 0 ||
        pool_name_validate(POOL_NAME_VOLUME, name) < 0)
        return NULL;
    POOL_AUTOPTR(poolClone) c = pool_calloc(1, sizeof(*c));
    if (!c || !(c->pool = pool_strdup(pool)) || !(c->source = pool_strdup(source)) ||
        !(c->name = pool_strdup(name)))
        return NULL;
    if (pool_cluster_lock(mgr, e) < 0)
        return NULL;
    poolClone *r = begin_locked(mgr, e, c);
    pool_cluster_unlock(mgr, e);
    return r ? pool_steal_ptr(&c) : NULL;
}

/* ---- the copy ---------------------------------------------------------- */

typedef struct {
    const char *pv;
    int fd;
} cloneFd;

/* One descriptor per PV and direction, opened on first use: O_DIRECT so
 * the copy neither fills nor reads stale page cache (the target reads the
 * PVs O_DIRECT too); without O_EXCL, which the target's own open holds. */
static int fd_for(cloneFd *fds, size_t max, const char *pv, int flags)
{
    size_t i = 0;
    for (; i < max && fds[i].pv; i++)
        if (strcmp(fds[i].pv, pv) == 0)
            return fds[i].fd;
    if (i == max) {
        pool_error(POOL_ERR_INTERNAL, "clone: too many devices");
        return -1;
    }
    int fd = open(pv, flags | O_DIRECT | O_CLOEXEC);
    if (fd < 0 && errno == EINVAL)
        fd = open(pv, flags | O_CLOEXEC); /* a file system without O_DIRECT */
    if (fd < 0) {
        pool_error_errno(errno, "cannot open %s", pv);
        return -1;
    }
    fds[i].pv = pv;
    fds[i].fd = fd;
    return fd;
}

static int read_full(int fd, const char *pv, char *buf, uint64_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            pool_error_errno(n < 0 ? errno : EIO, "cannot read %s at %" PRIu64, pv, off);
            return -1;
        }
        buf += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

static int write_full(int fd, const char *pv, const char *buf, uint64_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            pool_error_errno(n < 0 ? errno : EIO, "cannot write %s at %" PRIu64, pv, off);
            return -1;
        }
        buf += n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

static bool all_zero(const char *buf, uint64_t len)
{
    return len == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, len - 1) == 0);
}

/* A chunk of zeroes: BLKZEROOUT (no data moves; thin or sparse storage
 * stays unallocated where the device supports it), else the zero buffer
 * written. */
static int write_zeroes(int fd, const char *pv, const char *zeroes, uint64_t len, uint64_t off)
{
    uint64_t range[2] = {off, len};
    if (ioctl(fd, BLKZEROOUT, range) == 0)
        return 0;
    if (errno != ENOTTY && errno != EOPNOTSUPP && errno != EINVAL) {
        pool_error_errno(errno, "cannot zero %s at %" PRIu64, pv, off);
        return -1;
    }
    return write_full(fd, pv, zeroes, len, off);
}

int pool_clone_copy(poolClone *c, poolCloneProgress progress, void *ctx)
{
    size_t max = c->nsrc + c->ndst;
    POOL_AUTOFREE(cloneFd *) rfds = pool_calloc(max, sizeof(cloneFd));
    POOL_AUTOFREE(cloneFd *) wfds = pool_calloc(max, sizeof(cloneFd));
    void *mem = NULL;
    if (!rfds || !wfds)
        return -1;
    if (posix_memalign(&mem, 4096, CLONE_CHUNK) != 0) {
        pool_error_oom();
        return -1;
    }
    char *buf = mem;
    int64_t start = pool_monotonic_ms();
    uint64_t done = 0;
    int r = 0;
    while (r == 0 && done < c->size) {
        size_t si, di;
        uint64_t soff, slen, doff, dlen;
        if (pool_wipe_step(c->src, c->nsrc, done, CLONE_CHUNK, &si, &soff, &slen) != 1 ||
            pool_wipe_step(c->dst, c->ndst, done, CLONE_CHUNK, &di, &doff, &dlen) != 1) {
            pool_error(POOL_ERR_INTERNAL, "clone: segment maps end before %" PRIu64 " bytes",
                       c->size);
            r = -1;
            break;
        }
        uint64_t len = slen < dlen ? slen : dlen;
        int rfd = fd_for(rfds, max, c->src[si].pv, O_RDONLY);
        int wfd = rfd < 0 ? -1 : fd_for(wfds, max, c->dst[di].pv, O_RDWR);
        if (wfd < 0 || read_full(rfd, c->src[si].pv, buf, len, soff) < 0) {
            r = -1;
            break;
        }
        if (all_zero(buf, len))
            r = write_zeroes(wfd, c->dst[di].pv, buf, len, doff);
        else
            r = write_full(wfd, c->dst[di].pv, buf, len, doff);
        if (r < 0)
            break;
        if (done == 0 && len < c->size)
            pool_testhook("vol-clone:mid-copy"); /* once, after the first chunk */
        done += len;
        pool_testhook("vol-clone:chunk"); /* POOLD_TEST_SLOW_AT: a copy of known length */
        if (progress && progress(ctx, done, c->size) != 0) {
            pool_error(POOL_ERR_BUSY, "clone of %s into %s cancelled", c->source, c->name);
            r = -1;
        }
    }
    for (size_t i = 0; i < max && wfds[i].pv; i++) {
        if (r == 0 && fdatasync(wfds[i].fd) < 0) {
            pool_error_errno(errno, "cannot flush %s", wfds[i].pv);
            r = -1;
        }
        close(wfds[i].fd);
    }
    for (size_t i = 0; i < max && rfds[i].pv; i++)
        close(rfds[i].fd);
    free(mem);
    if (r == 0) {
        pool_testhook("vol-clone:after-copy");
        log_vol(POOL_LOG_INFO, c->pool, c->name, "copied %" PRIu64 " MiB from %s in %" PRId64 " ms",
                c->size >> 20, c->source, pool_monotonic_ms() - start);
    }
    return r;
}

/* ---- commit, abort ----------------------------------------------------- */

poolVolDef *pool_manager_vol_clone_commit(poolManager *mgr, poolClone *c)
{
    poolEntry *e = pool_manager_find(mgr, c->pool);
    if (!e || pool_cluster_lock(mgr, e) < 0)
        return NULL;
    POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_OP, CLONE_OP);
    char *del[] = {tag, NULL};
    int r = tag ? pool_lvm_lv_change_tags(e->lvm, c->pool, c->name, NULL, del) : -1;
    if (r == 0) {
        pool_testhook("vol-clone:after-commit");
        pool_entry_release_lv(e, c->name);
        drop_leases(mgr, e, c);
        log_vol(POOL_LOG_INFO, c->pool, c->name, "clone of %s committed", c->source);
    }
    pool_cluster_unlock(mgr, e);
    return r == 0 ? pool_manager_vol_info(mgr, c->pool, c->name) : NULL;
}

int pool_manager_vol_clone_abort(poolManager *mgr, poolClone *c)
{
    poolEntry *e = pool_manager_find(mgr, c->pool);
    if (!e || pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = abort_locked(mgr, e, c);
    pool_cluster_unlock(mgr, e);
    return r;
}
