/*
 * wipe.c: zero a deleted volume's extents on the PVs before the LV is
 * removed, so a later volume given the same extents (on any host) never
 * reads what the deleted one held (docs/design.md section 7, "Freed
 * extents", and section 6, "Volume delete").
 *
 * The LV is never activated (choice 5): its segment map says which byte
 * ranges of which PVs it owns, and those are zeroed directly, chunk by
 * chunk, with BLKZEROOUT. Not BLKDISCARD: a discard may leave the old data
 * readable (or return garbage) on devices without "discard zeroes data",
 * while BLKZEROOUT guarantees zeroes (the kernel offloads it to WRITE SAME
 * or WRITE ZEROES where the device has them, and falls back to writing
 * zero pages itself). A device or file that refuses the ioctl gets plain
 * writes of zeroes instead. The PVs are opened without O_EXCL: this
 * process's target holds them O_EXCL (lun_backing.c), and a second O_EXCL
 * open would fail; the range belongs to an LV no LUN serves any more.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "testhook.h"
#include "wipe.h"

int pool_wipe_step(const poolSegment *segs, size_t n, uint64_t done, uint64_t chunk, size_t *seg,
                   uint64_t *pv_offset, uint64_t *len)
{
    if (chunk == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "wipe chunk size 0");
        return -1;
    }
    uint64_t base = 0;
    for (size_t i = 0; i < n; i++) {
        if (done < base + segs[i].length) {
            uint64_t in = done - base, left = segs[i].length - in;
            *seg = i;
            *pv_offset = segs[i].pv_offset + in;
            *len = left < chunk ? left : chunk;
            return 1;
        }
        base += segs[i].length;
    }
    return 0;
}

/* Writes of zeroes where BLKZEROOUT is refused (not a block device, or a
 * driver without it). */
static int write_zeroes(int fd, const char *pv, uint64_t off, uint64_t len)
{
    enum { BUF = 1024 * 1024 };
    POOL_AUTOFREE(char *) zero = pool_calloc(1, BUF);
    if (!zero)
        return -1;
    while (len > 0) {
        size_t n = len < BUF ? (size_t)len : BUF;
        ssize_t w = pwrite(fd, zero, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            pool_error_errno(w < 0 ? errno : EIO, "cannot write zeroes to %s at %" PRIu64, pv, off);
            return -1;
        }
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return 0;
}

static int zero_range(int fd, const char *pv, uint64_t off, uint64_t len)
{
    uint64_t range[2] = {off, len};
    if (ioctl(fd, BLKZEROOUT, range) == 0)
        return 0;
    int err = errno;
    if (err != ENOTTY && err != EOPNOTSUPP && err != EINVAL) {
        pool_error_errno(err, "cannot zero %s at %" PRIu64 " (%" PRIu64 " bytes)", pv, off, len);
        return -1;
    }
    return write_zeroes(fd, pv, off, len);
}

int pool_wipe_segments(const char *pool, const char *lv, const poolSegment *segs, size_t n,
                       uint64_t from)
{
    uint64_t total = 0, done = from, len, off;
    for (size_t i = 0; i < n; i++)
        total += segs[i].length;
    int64_t start = pool_monotonic_ms(), logged = start;
    int fd = -1;
    size_t open_seg = SIZE_MAX, seg;
    int r;
    while ((r = pool_wipe_step(segs, n, done, POOL_WIPE_CHUNK, &seg, &off, &len)) == 1) {
        if (seg != open_seg) {
            if (fd >= 0 && (fdatasync(fd) < 0 || close(fd) < 0)) {
                pool_error_errno(errno, "cannot flush %s", segs[open_seg].pv);
                fd = -1;
                return -1;
            }
            fd = open(segs[seg].pv, O_RDWR | O_CLOEXEC);
            if (fd < 0) {
                pool_error_errno(errno, "cannot open %s to zero it", segs[seg].pv);
                return -1;
            }
            open_seg = seg;
        }
        if (zero_range(fd, segs[seg].pv, off, len) < 0) {
            close(fd);
            return -1;
        }
        done += len;
        if (from == 0 && done < total)
            pool_testhook("vol-delete:mid-wipe");
        int64_t now = pool_monotonic_ms();
        if (now - logged >= 5000) {
            log_vol(POOL_LOG_INFO, pool, lv, "wiping: %" PRIu64 " of %" PRIu64 " MiB zeroed",
                    (done - from) >> 20, (total - from) >> 20);
            logged = now;
        }
    }
    if (fd >= 0) {
        int bad = fdatasync(fd) < 0 ? errno : 0;
        close(fd);
        if (bad) {
            pool_error_errno(bad, "cannot flush %s", segs[open_seg].pv);
            return -1;
        }
    }
    if (r < 0)
        return -1;
    log_vol(POOL_LOG_INFO, pool, lv, "wiped: %" PRIu64 " MiB zeroed in %" PRId64 " ms",
            total > from ? (total - from) >> 20 : 0, pool_monotonic_ms() - start);
    return 0;
}

void pool_wipe_wait_maps(poolEntry *e, const char *lv)
{
    unsigned age = e->mgr && e->mgr->cfg ? e->mgr->cfg->map_max_age_ms : 0;
    if (e->def->locking != POOL_LOCKING_SANLOCK || age == 0)
        return;
    /* CLOCK_MONOTONIC stops while this host is suspended, the other hosts'
     * clocks (CLOCK_BOOTTIME) do not: a suspend only makes the wait longer */
    int64_t until = pool_monotonic_ms() + age + POOL_MAP_MARGIN_MS;
    log_vol(POOL_LOG_INFO, e->def->name, lv,
            "waiting %u ms for every host's target to drop its segment map",
            age + POOL_MAP_MARGIN_MS);
    for (int64_t now; (now = pool_monotonic_ms()) < until;) {
        if (e->mgr->idle)
            e->mgr->idle(e->mgr->idle_ctx);
        int64_t left = until - pool_monotonic_ms();
        if (left <= 0)
            break;
        if (left > 100)
            left = 100;
        struct timespec ts = {0, (long)left * 1000000};
        nanosleep(&ts, NULL);
    }
}

int pool_wipe_lv(poolEntry *e, const poolLvmLV *lv, uint64_t from)
{
    poolSegment *segs = NULL;
    size_t n = 0;
    if (pool_layout_segments(lv, e->pv_cache, e->npv_cache, e->def->extent_size, &segs, &n) < 0) {
        pool_error_prefix("cannot wipe %s", lv->name);
        return -1;
    }
    int r = pool_wipe_segments(e->def->name, lv->name, segs, n, from);
    pool_segments_free(segs, n);
    return r;
}
