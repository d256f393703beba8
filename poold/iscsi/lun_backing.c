/*
 * lun_backing.c: block I/O for one LU on its PVs (see lun_backing.h).
 *
 * The segment map is an immutable array published through an atomic
 * pointer: I/O threads load it without a lock; a resize publishes a new
 * array and keeps the old ones until the LU is closed (resizes are rare and
 * maps are small), so a reader never sees a freed map. Because poold only
 * grows volumes online, an old map is always a prefix of the new one and
 * I/O that raced the resize still lands in the right place.
 *
 * Durability: every write is O_DIRECT (no page cache), a FUA write is
 * followed by fdatasync of its PV, and SYNCHRONIZE CACHE runs fdatasync on
 * every PV, which makes the device flush its own cache. So the LU can
 * honestly report a write cache (WCE) that SYNCHRONIZE CACHE really flushes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lun_backing.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"

typedef struct {
    uint64_t lv_offset;
    uint64_t length;
    int fd;
    uint64_t pv_offset;
} mapSeg;

typedef struct segMap {
    size_t n;
    uint64_t size;
    struct segMap *older; /* kept until close */
    mapSeg seg[];
} segMap;

typedef struct {
    char *path;
    int fd;
    uint64_t size;
} pvFile;

struct lunBacking {
    char *name;
    _Atomic(segMap *) map;
    pvFile *pvs;
    size_t npvs;
};

/* Every PV is opened once per process, O_EXCL, however many LUs use it:
 * the exclusive claim keeps other programs from opening it exclusively
 * (mkfs, pvcreate, another target) while we serve it, and lvm's metadata
 * commands (lvcreate, lvextend, lvchange, lvremove, reports) still work
 * with it held. A second O_EXCL open from this process would fail, hence
 * the shared, reference-counted table. */
typedef struct {
    char *path;
    int fd;
    unsigned refs;
} sharedPv;

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static sharedPv *shared;
static size_t nshared;

static int shared_pv_get(const char *path, const char *volname)
{
    pthread_mutex_lock(&shared_lock);
    for (size_t i = 0; i < nshared; i++) {
        if (strcmp(shared[i].path, path) == 0) {
            shared[i].refs++;
            int fd = shared[i].fd;
            pthread_mutex_unlock(&shared_lock);
            return fd;
        }
    }
    int fd = open(path, O_RDWR | O_DIRECT | O_EXCL | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        pthread_mutex_unlock(&shared_lock);
        pool_error(POOL_ERR_DEVICE, "volume %s: cannot open its PV %s: %s", volname, path,
                   e == EBUSY ? "another program holds it exclusively (mounted, or in use by "
                                "another target?)"
                              : strerror(e));
        return -1;
    }
    sharedPv *n = realloc(shared, (nshared + 1) * sizeof(*shared));
    char *p = strdup(path);
    if (!n || !p) {
        if (n)
            shared = n;
        free(p);
        close(fd);
        pthread_mutex_unlock(&shared_lock);
        pool_error_oom();
        return -1;
    }
    shared = n;
    shared[nshared++] = (sharedPv){p, fd, 1};
    pthread_mutex_unlock(&shared_lock);
    return fd;
}

static void shared_pv_put(int fd)
{
    pthread_mutex_lock(&shared_lock);
    for (size_t i = 0; i < nshared; i++) {
        if (shared[i].fd == fd) {
            if (--shared[i].refs == 0) {
                close(fd);
                free(shared[i].path);
                shared[i] = shared[--nshared];
            }
            break;
        }
    }
    pthread_mutex_unlock(&shared_lock);
}

static int pv_open(lunBacking *b, const char *path)
{
    for (size_t i = 0; i < b->npvs; i++)
        if (strcmp(b->pvs[i].path, path) == 0)
            return b->pvs[i].fd;
    int fd = shared_pv_get(path, b->name);
    if (fd < 0)
        return -1;
    uint64_t size = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
            size = 0;
    } else if (fstat(fd, &st) == 0) {
        size = (uint64_t)st.st_size;
    }
    if (pool_realloc_n(&b->pvs, b->npvs + 1, sizeof(*b->pvs)) < 0) {
        shared_pv_put(fd);
        return -1;
    }
    b->pvs[b->npvs].path = pool_strdup(path);
    b->pvs[b->npvs].fd = fd;
    b->pvs[b->npvs].size = size;
    b->npvs++;
    return fd;
}

static segMap *build_map(lunBacking *b, const poolVolDef *vol)
{
    /* the LU serves the LV's bytes: for a qcow2 image the LV's size
     * (allocation), not the image's virtual size (capacity) */
    uint64_t bytes = vol->allocation ? vol->allocation : vol->capacity;
    if (vol->nsegments == 0 || bytes == 0) {
        pool_error(POOL_ERR_DEVICE, "volume %s has no blocks (0 bytes or no segment map)",
                   vol->name);
        return NULL;
    }
    segMap *m = calloc(1, sizeof(*m) + vol->nsegments * sizeof(mapSeg));
    if (!m) {
        pool_error_oom();
        return NULL;
    }
    uint64_t expect = 0;
    for (size_t i = 0; i < vol->nsegments; i++) {
        const poolSegment *s = &vol->segments[i];
        if (s->lv_offset != expect || s->length == 0 || s->length % 512 || s->pv_offset % 512) {
            pool_error(POOL_ERR_DEVICE, "volume %s: segment map is not contiguous or aligned",
                       vol->name);
            free(m);
            return NULL;
        }
        int fd = pv_open(b, s->pv);
        if (fd < 0) {
            free(m);
            return NULL;
        }
        for (size_t j = 0; j < b->npvs; j++) {
            if (b->pvs[j].fd == fd && b->pvs[j].size && s->pv_offset + s->length > b->pvs[j].size) {
                pool_error(POOL_ERR_DEVICE, "volume %s: segment beyond the end of PV %s", vol->name,
                           s->pv);
                free(m);
                return NULL;
            }
        }
        m->seg[i] = (mapSeg){s->lv_offset, s->length, fd, s->pv_offset};
        expect += s->length;
    }
    if (expect != bytes) {
        pool_error(POOL_ERR_DEVICE, "volume %s: segments cover %llu bytes, its LV %llu", vol->name,
                   (unsigned long long)expect, (unsigned long long)bytes);
        free(m);
        return NULL;
    }
    m->n = vol->nsegments;
    m->size = expect;
    return m;
}

lunBacking *lun_backing_open(const poolVolDef *vol)
{
    lunBacking *b = pool_calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->name = pool_strdup(vol->name);
    segMap *m = build_map(b, vol);
    if (!m) {
        lun_backing_close(b);
        return NULL;
    }
    atomic_store(&b->map, m);
    return b;
}

int lun_backing_update(lunBacking *b, const poolVolDef *vol)
{
    segMap *m = build_map(b, vol);
    if (!m)
        return -1;
    segMap *old = atomic_load(&b->map);
    m->older = old;
    atomic_store(&b->map, m);
    return 0;
}

uint64_t lun_backing_size(lunBacking *b)
{
    return atomic_load(&b->map)->size;
}

void lun_backing_close(void *p)
{
    lunBacking *b = p;
    if (!b)
        return;
    segMap *m = atomic_load(&b->map);
    while (m) {
        segMap *older = m->older;
        free(m);
        m = older;
    }
    for (size_t i = 0; i < b->npvs; i++) {
        shared_pv_put(b->pvs[i].fd);
        free(b->pvs[i].path);
    }
    free(b->pvs);
    free(b->name);
    free(b);
}

/* Binary search for the segment holding offset. */
static const mapSeg *find_seg(const segMap *m, uint64_t off)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->seg[mid].lv_offset + m->seg[mid].length <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && off >= m->seg[lo].lv_offset ? &m->seg[lo] : NULL;
}

/* Apply fn to each piece of [off, off+len) as (fd, pv offset, buf piece);
 * pieces are split at segment boundaries. */
static int for_each_piece(lunBacking *b, uint64_t off, uint32_t len, uint8_t *buf, bool write,
                          bool fua)
{
    const segMap *m = atomic_load(&b->map);
    if (off + len > m->size || off + len < off)
        return -ERANGE;
    while (len > 0) {
        const mapSeg *s = find_seg(m, off);
        if (!s)
            return -ERANGE;
        uint64_t in = off - s->lv_offset;
        uint32_t n = (uint32_t)((s->length - in) < len ? (s->length - in) : len);
        uint64_t pos = s->pv_offset + in;
        uint32_t done = 0;
        while (done < n) {
            ssize_t r = write ? pwrite(s->fd, buf + done, n - done, (off_t)(pos + done))
                              : pread(s->fd, buf + done, n - done, (off_t)(pos + done));
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return -errno;
            }
            if (r == 0)
                return -EIO;
            done += (uint32_t)r;
        }
        if (write && fua && fdatasync(s->fd) < 0)
            return -errno;
        off += n;
        buf += n;
        len -= n;
    }
    return 0;
}

static int backing_read(void *ctx, uint64_t offset, uint32_t len, void *buf)
{
    return for_each_piece(ctx, offset, len, buf, false, false);
}

static int backing_write(void *ctx, uint64_t offset, uint32_t len, const void *buf, bool fua)
{
    return for_each_piece(ctx, offset, len, (uint8_t *)buf, true, fua);
}

static int backing_flush(void *ctx)
{
    /* walk the published map, not b->pvs: a resize may be growing that
     * array on another thread */
    lunBacking *b = ctx;
    const segMap *m = atomic_load(&b->map);
    for (size_t i = 0; i < m->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            if (m->seg[j].fd == m->seg[i].fd)
                seen = true;
        if (!seen && fdatasync(m->seg[i].fd) < 0)
            return -errno;
    }
    return 0;
}

const scsiBackingOps lun_backing_ops = {
    .read = backing_read,
    .write = backing_write,
    .flush = backing_flush,
    .unmap = NULL, /* thick LVs: nothing to deallocate */
};
