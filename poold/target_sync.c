/*
 * target_sync.c: keeps the target inventory in step with the pools (target_sync.h).
 * Called from request workers and the refresh thread: one recursive mutex
 * per poolExport (ex->lock) serialises every public function, so the
 * state below is seen by one thread at a time; the transport's threads
 * only read the inventory, through references, and never take ex->lock.
 * Nothing here calls libvirt (docs/design.md "Concurrency": lock order).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lease_check.h"
#include "target_sync.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-lease.h"
#include "pool-log.h"
#include "pool-util.h"
#include "iscsi/iscsi.h"
#include "iscsi/lun_backing.h"
#include "iscsi/target.h"

#define LU_BLOCK_SIZE 512
#define LU_MAX_XFER_BLOCKS                                                                         \
    65536 /* 32 MiB per command: what initiators and WRITE SAME tests expect */

/* The bytes a LUN serves: its LV's (a qcow2 image's LV, not the image's
 * virtual size). */
static uint64_t lu_bytes(const poolVolDef *vol)
{
    return vol->allocation ? vol->allocation : vol->capacity;
}

typedef struct {
    char *pool;
    int lun;
    char uuid[37]; /* the volume served: a LUN id may be reused by another */
    char *name;    /* its name and lease address, to recheck the lease */
    char *lease_pv;
    uint64_t lease_offset;
    int mode;            /* POOL_VOL_MODE_* */
    lunBacking *backing; /* owned by the LU (released with it) */
    /* where its LV starts (first segment): another LV now holding the
     * volume's uuid and LUN (a snapshot create or revert swapped its top)
     * starts elsewhere, and the LUN is then taken out and put back */
    char *seg0_pv;
    uint64_t seg0_off;
    /* writable because another process of this host holds the lease (a
     * VM's QEMU): rechecked from disk at most every EXT_RECHECK_MS */
    bool ext_held;
    uint64_t checked_ms;
} exportEntry;

/* A lease held by another process of this host (a VM) is read from disk
 * (sanlock reads the lease area) to recheck it, so not on every refresh
 * tick: that process ends only by exiting (VM stop, crash: sanlock frees
 * its leases) or by sanlock killing it, and a poold-driven VM stop
 * rechecks at once. */
#define EXT_RECHECK_MS 2000

/* Per pool: its access control as stored in <state_dir>/targets/POOL.xml
 * (secrets included) and the volumes the operator took away from initiators
 * (LV tag pd_export:off, read once when the pool is added and then kept in
 * step by volume export/unexport: volume info and list need no lvm run). */
typedef struct {
    char *pool;
    poolTargetDef *def;
    char **unexported; /* volume names, NULL-terminated */
    /* sanlock pools: when its rw LUNs stop taking writes unless the lease
     * checker sees this host renewing (lease_check.c); NULL otherwise */
    scsiDeadline *deadline;
    char *lockspace; /* watched by the checker under this name, or NULL */
    /* sanlock pools with map_max_age_ms: until when its LUNs' segment maps
     * are known current (docs/design.md section 7, "Freed extents"),
     * moved on by every change check that finds the target in step
     * (poold_export_map_checked); NULL otherwise */
    scsiDeadline *map_deadline;
    bool needs_sync; /* the last sync failed: the map is not known current */
} exportTarget;

struct poolExport {
    pthread_mutex_t lock; /* recursive; held by every public function */
    poolManager *mgr;     /* for lease checks (not owned) */
    poolLeaseChecker *checker;
    tgtInventory *inv;
    char *state_dir;
    unsigned map_max_age_ms; /* poold.conf; 0: maps never age */
    char **portal_addrs;     /* as configured; portal group tag = index + 1 */
    exportTarget *targets;
    size_t ntargets;
    iscsiPortal *portals[POOL_MAX_PORTALS]; /* portal group tag = index + 1 */
    size_t nportals;
    exportEntry *entries;
    size_t n;
};

static exportTarget *find_target(poolExport *ex, const char *pool);

static void export_unlock(poolExport **exp)
{
    if (*exp)
        pthread_mutex_unlock(&(*exp)->lock);
}

/* Hold ex->lock until the enclosing function returns. */
#define EXPORT_LOCKED(ex)                                                                          \
    poolExport *export_locked_ __attribute__((cleanup(export_unlock))) = (ex);                     \
    if (export_locked_)                                                                            \
    pthread_mutex_lock(&export_locked_->lock)

/* An entry's own strings (the LU and its backing go with the inventory). */
static void entry_clear(exportEntry *e)
{
    free(e->pool);
    free(e->name);
    free(e->lease_pv);
    free(e->seg0_pv);
}

static void iqn_of(const char *pool, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", TGT_IQN_PREFIX, pool);
}

static exportEntry *find_entry(poolExport *ex, const char *pool, int lun)
{
    for (size_t i = 0; i < ex->n; i++)
        if (ex->entries[i].lun == lun && strcmp(ex->entries[i].pool, pool) == 0)
            return &ex->entries[i];
    return NULL;
}

/* Identity derived from the volume uuid only, so every host and portal
 * reports the same serial and WWN for the same volume (multipath). */
static void lu_identity(const poolVolDef *vol, scsiLuConfig *c)
{
    uint8_t u[16] = {0};
    size_t k = 0;
    for (const char *p = vol->uuid; *p && k < 32; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else
            continue;
        c->serial[k] = *p;
        u[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
        k++;
    }
    c->serial[k] = '\0';
    /* NAA 3h, "locally assigned" (SPC-4 7.8.6.6.4): the 128-bit uuid folded
     * to 60 bits. Not NAA 6h: that format starts with an IEEE company id,
     * which poold does not have, so the uuid's first bits claimed someone
     * else's. The fold depends on the uuid only, so every host, portal and
     * restart gives the same WWN. */
    for (int i = 0; i < 8; i++)
        c->naa[i] = (uint8_t)(u[i] ^ u[i + 8]);
    c->naa[0] = (uint8_t)(0x30 | (c->naa[0] & 0x0f));
    memcpy(c->uuid, vol->uuid, sizeof(c->uuid));
}

/* How long a write that meets a soft fence waits for sanlock's answer. */
#define POOLD_FENCE_PROBE_MS 1000

static bool fence_check(void *ctx)
{
    bool held = false;
    /* This runs on an I/O thread with the LU's writes waiting on it: a
     * frozen sanlock must not hold them for the whole sanlock timeout. No
     * answer in time means "not held": the write is refused, the
     * initiator retries, and the next check comes SCSI_FENCE_CHECK_MS
     * later. */
    unsigned old_cap = pool_lease_cap_thread_timeout(POOLD_FENCE_PROBE_MS);
    int r = pool_lease_probe_held_here(ctx, &held);
    pool_lease_cap_thread_timeout(old_cap);
    if (r < 0) {
        log_warnx("fenced LUN: cannot read its lease: %s", pool_error_last_message());
        pool_error_reset();
        return false;
    }
    return held;
}

static void fence_release(void *ctx)
{
    pool_lease_probe_free(ctx);
}

int poold_export_vol_add(poolExport *ex, const poolVolDef *vol)
{
    EXPORT_LOCKED(ex);
    char iqn[256];
    iqn_of(vol->pool, iqn, sizeof(iqn));
    if (vol->lun < 0) {
        pool_error(POOL_ERR_INTERNAL, "volume %s has no LUN id", vol->name);
        return -1;
    }
    if (find_entry(ex, vol->pool, vol->lun))
        return 0;
    if (lu_bytes(vol) == 0 || lu_bytes(vol) % LU_BLOCK_SIZE) {
        pool_error(POOL_ERR_DEVICE,
                   "volume %s: capacity %llu is not a whole number of %d-byte blocks", vol->name,
                   (unsigned long long)lu_bytes(vol), LU_BLOCK_SIZE);
        return -1;
    }
    lunBacking *b = lun_backing_open(vol);
    if (!b) {
        pool_error_prefix("volume %s not exported", vol->name);
        return -1;
    }
    scsiLuConfig c = {0};
    lu_identity(vol, &c);
    exportTarget *t = find_target(ex, vol->pool);
    c.deadline = t ? t->deadline : NULL; /* the LU takes its own reference */
    c.map_deadline = t ? t->map_deadline : NULL;
    snprintf(c.vendor, sizeof(c.vendor), "POOLD");
    snprintf(c.product, sizeof(c.product), "poold volume");
    snprintf(c.revision, sizeof(c.revision), "0001");
    c.block_size = LU_BLOCK_SIZE;
    c.nblocks = lu_bytes(vol) / LU_BLOCK_SIZE;
    c.write_cache = true; /* SYNCHRONIZE CACHE really flushes: lun_backing.c */
    c.max_xfer_blocks = LU_MAX_XFER_BLOCKS;
    c.ops = &lun_backing_ops;
    c.ctx = b;
    /* sanlock pools: a write that meets the fence asks whether this host
     * got the lease meanwhile (a VM's QEMU holds it: target_sync.h) */
    int locking = POOL_LOCKING_NONE;
    unsigned host_id = 0;
    if (ex->mgr && pool_manager_pool_locking(ex->mgr, vol->pool, &locking, &host_id) == 0 &&
        locking == POOL_LOCKING_SANLOCK && vol->lease_pv) {
        poolLeaseProbe *probe = pool_manager_lease_probe(ex->mgr, vol);
        if (probe) {
            c.fence_check = fence_check;
            c.fence_ctx = probe;
            c.fence_release = fence_release;
        } else {
            log_vol(POOL_LOG_WARN, vol->pool, vol->name,
                    "no lease check for its LUN (%s): writes need poold's own lease",
                    pool_error_last_message());
        }
    }
    pool_error_reset();
    c.release = lun_backing_close;
    scsiLu *lu = scsi_lu_new(&c);
    if (!lu) {
        lun_backing_close(b);
        return -1;
    }
    /* Published fenced (no writes); poold_export_vol_access below opens it
     * for writes if the rule allows. An initiator still writing to a LUN
     * id that now names another volume must never reach it first. */
    scsi_lu_set_fence(lu, SCSI_FENCE_SOFT);
    if (pool_realloc_n(&ex->entries, ex->n + 1, sizeof(*ex->entries)) < 0 ||
        tgt_lun_add(ex->inv, iqn, (uint64_t)vol->lun, lu) < 0) {
        scsi_lu_unref(lu);
        return -1;
    }
    ex->entries[ex->n].pool = pool_strdup(vol->pool);
    ex->entries[ex->n].lun = vol->lun;
    memcpy(ex->entries[ex->n].uuid, vol->uuid, sizeof(vol->uuid));
    ex->entries[ex->n].name = pool_strdup(vol->name);
    ex->entries[ex->n].lease_pv = vol->lease_pv ? pool_strdup(vol->lease_pv) : NULL;
    ex->entries[ex->n].lease_offset = vol->lease_offset;
    ex->entries[ex->n].mode = vol->export_mode;
    ex->entries[ex->n].backing = b;
    ex->entries[ex->n].seg0_pv = vol->nsegments ? pool_strdup(vol->segments[0].pv) : NULL;
    ex->entries[ex->n].seg0_off = vol->nsegments ? vol->segments[0].pv_offset : 0;
    ex->n++;
    poold_export_vol_access(ex, vol);
    log_vol(POOL_LOG_INFO, vol->pool, vol->name, "exported as LUN %d of %s", vol->lun, iqn);
    return 0;
}

void poold_export_vol_remove(poolExport *ex, const char *pool, int lun)
{
    EXPORT_LOCKED(ex);
    exportEntry *e = find_entry(ex, pool, lun);
    if (!e)
        return;
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    tgt_lun_remove(ex->inv, iqn, (uint64_t)lun);
    entry_clear(e);
    *e = ex->entries[--ex->n];
    log_pool(POOL_LOG_INFO, pool, "LUN %d unexported", lun);
}

char **poold_export_lun_initiators(poolExport *ex, const char *pool, int lun)
{
    EXPORT_LOCKED(ex);
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)lun);
    char **names = lu ? scsi_lu_initiators(lu) : pool_calloc(1, sizeof(char *));
    if (lu)
        tgt_lun_put(lu);
    if (!names)
        pool_error_oom();
    return names;
}

size_t poold_export_lun_drop_sessions(poolExport *ex, const char *pool, int lun, int wait_ms)
{
    EXPORT_LOCKED(ex);
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    size_t n = 0;
    for (size_t i = 0; i < ex->nportals; i++)
        n += iscsi_portal_drop_lun(ex->portals[i], iqn, (uint64_t)lun);
    /* a session's LU bookkeeping goes when its connection thread ends */
    struct timespec step = {0, 10 * 1000000L};
    for (int waited = 0; n > 0 && waited < wait_ms; waited += 10) {
        POOL_AUTOSTRV left = poold_export_lun_initiators(ex, pool, lun);
        if (!left || !left[0])
            break;
        nanosleep(&step, NULL);
    }
    return n;
}

int poold_export_vol_resize(poolExport *ex, const poolVolDef *vol)
{
    EXPORT_LOCKED(ex);
    exportEntry *e = find_entry(ex, vol->pool, vol->lun);
    if (!e)
        return poold_export_vol_add(ex, vol);
    char iqn[256];
    iqn_of(vol->pool, iqn, sizeof(iqn));
    scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)vol->lun);
    if (!lu) {
        pool_error(POOL_ERR_INTERNAL, "LUN %d of %s vanished", vol->lun, iqn);
        return -1;
    }
    int r = lun_backing_update(e->backing, vol);
    if (r == 0)
        scsi_lu_set_capacity(lu, lu_bytes(vol) / LU_BLOCK_SIZE);
    tgt_lun_put(lu);
    if (r == 0)
        log_vol(POOL_LOG_INFO, vol->pool, vol->name, "LUN %d now %llu blocks", vol->lun,
                (unsigned long long)(lu_bytes(vol) / LU_BLOCK_SIZE));
    return r;
}

/* Set the LU's fence; say so when writes under way outlived the wait. */
static void lu_fence(scsiLu *lu, const poolVolDef *vol, scsiFence f)
{
    if (!scsi_lu_set_fence(lu, f))
        log_vol(POOL_LOG_WARN, vol->pool, vol->name,
                "LUN %d: writes under way did not finish within %d ms of its fence", vol->lun,
                SCSI_FENCE_DRAIN_MS);
}

/* Who may write: ro never, shared always, rw only the host holding the
 * volume's lease (docs/design.md choice 4; any host in a pool without locking).
 * A lease that cannot be read counts as not held: refusing a write is
 * recoverable, a write from the wrong host is not. */
int poold_export_vol_access(poolExport *ex, const poolVolDef *vol)
{
    EXPORT_LOCKED(ex);
    exportEntry *e = find_entry(ex, vol->pool, vol->lun);
    if (!e)
        return 0;
    e->mode = vol->export_mode;
    bool writable = vol->export_mode == POOL_VOL_MODE_SHARED;
    e->ext_held = false;
    e->checked_ms = iscsi_now_ms();
    if (vol->export_mode == POOL_VOL_MODE_RW) {
        bool held = false, by_poold = false;
        if (ex->mgr && pool_manager_lease_held_here(ex->mgr, vol, &held, &by_poold) < 0) {
            log_vol(POOL_LOG_WARN, vol->pool, vol->name,
                    "cannot read its lease (%s): LUN %d refuses writes", pool_error_last_message(),
                    vol->lun);
            pool_error_reset();
        }
        writable = held;
        e->ext_held = held && !by_poold;
    }
    char iqn[256];
    iqn_of(vol->pool, iqn, sizeof(iqn));
    scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)vol->lun);
    if (!lu)
        return 0;
    /* ro is advertised (MODE SENSE WP): it never changes by itself; an rw
     * LUN without the lease is only fenced, since the lease may come (a VM
     * whose QEMU opens the LUN while its lease is being taken must not
     * take the device for read-only) */
    bool was = !scsi_lu_write_protected(lu) && !scsi_lu_fenced(lu);
    scsi_lu_set_write_protect(lu, vol->export_mode == POOL_VOL_MODE_RO);
    /* rw writes depend on the lease, so on the time this host's lease is
     * known valid (lease_check.c): before the fence may open */
    scsi_lu_set_deadline_on(lu, vol->export_mode == POOL_VOL_MODE_RW);
    lu_fence(lu, vol, writable ? SCSI_FENCE_OFF : SCSI_FENCE_SOFT);
    tgt_lun_put(lu);
    if (was != writable)
        log_vol(POOL_LOG_INFO, vol->pool, vol->name, "LUN %d %s (export mode %s)", vol->lun,
                writable ? "takes writes" : "is write-protected",
                pool_vol_mode_name(vol->export_mode));
    return 0;
}

static void set_fence(poolExport *ex, const poolVolDef *vol, scsiFence f)
{
    char iqn[256];
    iqn_of(vol->pool, iqn, sizeof(iqn));
    scsiLu *lu =
        find_entry(ex, vol->pool, vol->lun) ? tgt_lun_get(ex->inv, iqn, (uint64_t)vol->lun) : NULL;
    if (!lu)
        return;
    lu_fence(lu, vol, f);
    tgt_lun_put(lu);
}

void poold_export_vol_protect(poolExport *ex, const poolVolDef *vol)
{
    EXPORT_LOCKED(ex);
    set_fence(ex, vol, SCSI_FENCE_HARD);
}

void poold_export_vol_fence(poolExport *ex, const poolVolDef *vol)
{
    EXPORT_LOCKED(ex);
    set_fence(ex, vol, SCSI_FENCE_SOFT);
}

void poold_export_recheck_leases(poolExport *ex)
{
    EXPORT_LOCKED(ex);
    for (size_t i = 0; i < ex->n; i++) {
        exportEntry *e = &ex->entries[i];
        if (e->mode != POOL_VOL_MODE_RW || !e->name)
            continue;
        char iqn[256];
        iqn_of(e->pool, iqn, sizeof(iqn));
        scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)e->lun);
        if (!lu)
            continue;
        bool writable = !scsi_lu_write_protected(lu) && !scsi_lu_fenced(lu);
        tgt_lun_put(lu);
        if (!writable)
            continue; /* only a lease that went away matters here */
        if (e->ext_held && iscsi_now_ms() - e->checked_ms < EXT_RECHECK_MS)
            continue;
        poolVolDef v = {.name = e->name,
                        .pool = e->pool,
                        .lun = e->lun,
                        .lease_pv = e->lease_pv,
                        .lease_offset = e->lease_offset,
                        .export_mode = e->mode,
                        .export_state = POOL_VOL_EXPORT_ON};
        memcpy(v.uuid, e->uuid, sizeof(v.uuid));
        poold_export_vol_access(ex, &v);
    }
}

/* Bring one pool's LUNs in step with LVM (another host changed the VG):
 * new volumes appear, resized ones get their new size (and the capacity
 * unit attention), deleted or unexported ones go, a LUN id now naming
 * another volume is replaced. Volumes being changed (state not ready) are
 * left as they are until their operation ends. */
/* Another host is shrinking the volume (state resize-N below its size):
 * the tail goes from this LUN now, before that host's wait for every
 * target ends and it zeroes and frees the tail (docs/design.md section 7,
 * "Freed extents"). *extent is the pool's extent size, read on first need. */
static void cut_pending_shrink(poolExport *ex, poolManager *mgr, const poolVolDef *v,
                               uint64_t *extent)
{
    uint64_t want;
    if (pool_parse_uint(v->state + 7, "resize target", 1, UINT64_MAX, &want) < 0) {
        pool_error_reset();
        return;
    }
    if (!*extent) {
        poolPoolDef *p = pool_manager_pool_info(mgr, v->pool);
        *extent = p ? p->extent_size : 0;
        pool_pool_def_free(p);
        pool_error_reset();
    }
    if (!*extent || want > UINT64_MAX / *extent)
        return;
    char iqn[256];
    iqn_of(v->pool, iqn, sizeof(iqn));
    scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)v->lun);
    if (!lu)
        return;
    uint64_t blocks = want * *extent / LU_BLOCK_SIZE;
    if (blocks < scsi_lu_get_capacity(lu)) {
        scsi_lu_set_capacity(lu, blocks);
        log_vol(POOL_LOG_INFO, v->pool, v->name,
                "LUN %d cut to %llu blocks: another host is shrinking the volume", v->lun,
                (unsigned long long)blocks);
    }
    tgt_lun_put(lu);
}

static bool same_lv(const exportEntry *e, const poolVolDef *v)
{
    if (!v->nsegments || !e->seg0_pv)
        return true; /* nothing to compare: keep it */
    return strcmp(e->seg0_pv, v->segments[0].pv) == 0 && e->seg0_off == v->segments[0].pv_offset;
}

int poold_export_pool_sync(poolExport *ex, poolManager *mgr, const char *pool)
{
    EXPORT_LOCKED(ex);
    uint64_t extent = 0;
    exportTarget *t = find_target(ex, pool);
    if (!t)
        return 0;
    /* what the list below reads is at least as new as this */
    int64_t started = scsi_deadline_now_ms();
    t->needs_sync = true;
    poolVolDef **vols = NULL;
    size_t n = 0;
    if (pool_manager_lun_list(mgr, pool, &vols, &n) < 0)
        return -1;
    POOL_AUTOSTRV off = pool_calloc(1, sizeof(char *));
    if (!off) {
        pool_vol_defs_free(vols, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        poolVolDef *v = vols[i];
        /* a layer being merged into its children is intact and read-only
         * until its merge tags it pd_op:delete */
        bool ready = !v->state || strcmp(v->state, "ready") == 0 ||
                     (v->layer && strcmp(v->state, "merge") == 0);
        exportEntry *e = find_entry(ex, pool, v->lun);
        if (v->export_state == POOL_VOL_EXPORT_OFF) {
            pool_strv_add(&off, v->name);
            if (e)
                poold_export_vol_remove(ex, pool, v->lun);
            continue;
        }
        if (v->state && strcmp(v->state, "delete") == 0) {
            /* Its extents are being zeroed and will be freed: the LUN
             * goes now, before the deleting host's wait for every
             * host's target ends (docs/design.md section 7, "Freed
             * extents"). */
            if (e && strcmp(e->uuid, v->uuid) == 0)
                poold_export_vol_remove(ex, pool, v->lun);
            continue;
        }
        if (v->state && strncmp(v->state, "resize-", 7) == 0 && e && strcmp(e->uuid, v->uuid) == 0)
            cut_pending_shrink(ex, mgr, v, &extent);
        if (!ready)
            continue;
        if (e && strcmp(e->uuid, v->uuid) != 0) {
            poold_export_vol_remove(ex, pool, v->lun);
            e = NULL;
        }
        if (e && !same_lv(e, v)) {
            /* the volume is now another LV (snapshot create or revert):
             * the old map must not serve another byte; initiators see
             * the LUN go and come back (REPORTED LUNS DATA HAS CHANGED) */
            log_vol(POOL_LOG_INFO, pool, v->name, "LUN %d: the volume's LV changed; re-adding it",
                    v->lun);
            poold_export_vol_remove(ex, pool, v->lun);
            e = NULL;
        }
        if (!e) {
            if (poold_export_vol_add(ex, v) < 0)
                log_vol(POOL_LOG_ERROR, pool, v->name, "not exported: %s",
                        pool_error_last_message());
            continue;
        }
        char iqn[256];
        iqn_of(pool, iqn, sizeof(iqn));
        scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)v->lun);
        uint64_t blocks = lu ? scsi_lu_get_capacity(lu) : 0;
        if (lu)
            tgt_lun_put(lu);
        if (lu && blocks != lu_bytes(v) / LU_BLOCK_SIZE && poold_export_vol_resize(ex, v) < 0)
            log_vol(POOL_LOG_ERROR, pool, v->name, "LUN keeps its old size: %s",
                    pool_error_last_message());
        if (e->mode != v->export_mode)
            poold_export_vol_access(ex, v);
    }
    /* entries of this pool whose volume is gone (iterate from the end:
     * removal moves the last entry into the freed place) */
    for (size_t i = ex->n; i-- > 0;) {
        if (strcmp(ex->entries[i].pool, pool) != 0)
            continue;
        bool exists = false;
        for (size_t k = 0; k < n && !exists; k++)
            exists = vols[k]->lun == ex->entries[i].lun;
        if (!exists)
            poold_export_vol_remove(ex, pool, ex->entries[i].lun);
    }
    pool_strv_free(t->unexported);
    t->unexported = pool_steal_ptr(&off);
    pool_vol_defs_free(vols, n);
    t->needs_sync = false;
    poold_export_map_checked(ex, pool, started);
    return 0;
}

uint64_t poold_export_lun_cut(poolExport *ex, const char *pool, int lun, uint64_t bytes)
{
    EXPORT_LOCKED(ex);
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    scsiLu *lu = ex && lun >= 0 ? tgt_lun_get(ex->inv, iqn, (uint64_t)lun) : NULL;
    if (!lu)
        return 0;
    uint64_t old = scsi_lu_get_capacity(lu), blocks = bytes / LU_BLOCK_SIZE;
    if (blocks < old)
        scsi_lu_set_capacity(lu, blocks);
    else
        old = 0;
    tgt_lun_put(lu);
    return old;
}

void poold_export_lun_uncut(poolExport *ex, const char *pool, int lun, uint64_t blocks,
                            uint64_t capacity)
{
    EXPORT_LOCKED(ex);
    if (capacity / LU_BLOCK_SIZE < blocks)
        return;
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    scsiLu *lu = ex && lun >= 0 ? tgt_lun_get(ex->inv, iqn, (uint64_t)lun) : NULL;
    if (!lu)
        return;
    scsi_lu_set_capacity(lu, blocks);
    tgt_lun_put(lu);
}

bool poold_export_map_checked(poolExport *ex, const char *pool, int64_t checked_ms)
{
    EXPORT_LOCKED(ex);
    exportTarget *t = ex ? find_target(ex, pool) : NULL;
    if (!t || t->needs_sync)
        return false;
    if (t->map_deadline) {
        int64_t until = checked_ms + (int64_t)ex->map_max_age_ms;
        /* never moved back: a sync finishing after a later check */
        if (until > scsi_deadline_get(t->map_deadline))
            scsi_deadline_set(t->map_deadline, until);
    }
    return true;
}

int64_t poold_export_map_clock_ms(void)
{
    return scsi_deadline_now_ms();
}

bool poold_export_vol_exported(poolExport *ex, const char *pool, int lun)
{
    EXPORT_LOCKED(ex);
    return ex && find_entry(ex, pool, lun) != NULL;
}

static exportTarget *find_target(poolExport *ex, const char *pool)
{
    for (size_t i = 0; i < ex->ntargets; i++)
        if (strcmp(ex->targets[i].pool, pool) == 0)
            return &ex->targets[i];
    return NULL;
}

static void target_clear(exportTarget *t)
{
    scsi_deadline_unref(t->deadline);
    scsi_deadline_unref(t->map_deadline);
    free(t->lockspace);
    free(t->pool);
    pool_target_def_free(t->def);
    pool_strv_free(t->unexported);
}

static char *record_path(poolExport *ex, const char *pool)
{
    return pool_asprintf("%s/targets/%s.xml", ex->state_dir, pool);
}

/* The pool's stored access control, or an open target (no ACL, no CHAP)
 * when there is no record. A record that cannot be read or is invalid is an
 * error: serving the pool without the ACL it asks for would open it. */
static poolTargetDef *record_load(poolExport *ex, const char *pool)
{
    POOL_AUTOFREE(char *) path = record_path(ex, pool);
    POOL_AUTOFREE(char *) text = NULL;
    size_t len = 0;
    if (!path)
        return NULL;
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        poolTargetDef *def = pool_calloc(1, sizeof(*def));
        if (def && !(def->pool = pool_strdup(pool))) {
            pool_target_def_free(def);
            return NULL;
        }
        return def;
    }
    if (pool_file_read_all(path, 1u << 20, &text, &len) < 0)
        return NULL;
    poolTargetDef *def = pool_target_def_parse_string(text, len);
    if (text)
        memset(text, 0, len);
    if (!def || pool_target_def_check_stored(def) < 0) {
        pool_target_def_free(def);
        pool_error_prefix("%s", path);
        return NULL;
    }
    if (strcmp(def->pool, pool) != 0) {
        pool_error(POOL_ERR_XML, "%s: record is for pool '%s'", path, def->pool);
        pool_target_def_free(def);
        return NULL;
    }
    return def;
}

static int record_save(poolExport *ex, const poolTargetDef *def)
{
    POOL_AUTOFREE(char *) dir = pool_asprintf("%s/targets", ex->state_dir);
    POOL_AUTOFREE(char *) path = record_path(ex, def->pool);
    if (!dir || !path || pool_mkdir_p(dir, 0700) < 0)
        return -1;
    char *text = pool_target_def_format(def, true);
    if (!text)
        return -1;
    size_t len = strlen(text);
    /* 0600: the record holds CHAP secrets */
    int r = pool_file_write_atomic(path, text, len, 0600);
    memset(text, 0, len);
    free(text);
    return r;
}

/* Hand a record to the inventory: new logins see it at once. Sessions
 * already logged in that it no longer admits are ended by the caller
 * (poold_export_target_update). */
static int apply_auth(poolExport *ex, const poolTargetDef *def)
{
    char iqn[256];
    iqn_of(def->pool, iqn, sizeof(iqn));
    tgtAuth a;
    memset(&a, 0, sizeof(a));
    if (def->chap_user) {
        a.chap_required = true;
        snprintf(a.initiator.user, sizeof(a.initiator.user), "%s", def->chap_user);
        snprintf(a.initiator.secret, sizeof(a.initiator.secret), "%s",
                 def->chap_secret ? def->chap_secret : "");
        if (def->mutual_user) {
            a.mutual = true;
            snprintf(a.target.user, sizeof(a.target.user), "%s", def->mutual_user);
            snprintf(a.target.secret, sizeof(a.target.secret), "%s",
                     def->mutual_secret ? def->mutual_secret : "");
        }
    }
    a.acl = def->acl;
    int r = tgt_target_set_auth(ex->inv, iqn, &a);
    a.acl = NULL;
    memset(&a, 0, sizeof(a));
    return r;
}

/* The first configured portal other machines can reach (any address but
 * 127.0.0.0/8 and ::1, so the wildcard addresses too), or NULL. */
static const char *reachable_portal(const poolExport *ex)
{
    for (char **a = ex->portal_addrs; a && *a; a++) {
        char addr[64];
        uint16_t port;
        struct in_addr in4;
        struct in6_addr in6;
        if (pool_parse_portal(*a, addr, sizeof(addr), &port) < 0)
            return *a;
        if (inet_pton(AF_INET, addr, &in4) == 1 && (ntohl(in4.s_addr) >> 24) == 127)
            continue;
        if (inet_pton(AF_INET6, addr, &in6) == 1 && IN6_IS_ADDR_LOOPBACK(&in6))
            continue;
        return *a;
    }
    return NULL;
}

/* An open target (no ACL, no CHAP) on a portal other machines can reach
 * gives every one of them every exported volume: say so loudly, at start
 * and whenever a target becomes open (README, "Opening the target to other machines"). */
static void warn_if_open(poolExport *ex, const char *pool)
{
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    const char *portal = reachable_portal(ex);
    if (portal && tgt_target_is_open(ex->inv, iqn))
        log_pool(POOL_LOG_WARN, pool,
                 "SECURITY: target %s has no ACL and no CHAP and portal %s is reachable from "
                 "other machines: any of them can read and write every volume of the pool. "
                 "Set an ACL (poolctl target acl add) or CHAP (poolctl target chap set), or "
                 "serve on 127.0.0.1 only (iscsi_portal)",
                 iqn, portal);
}

static bool strv_has(char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return true;
    return false;
}

/* A sanlock pool's LUN deadline, moved on by the lease checker. If its
 * lockspace cannot be named, the deadline is never moved: its rw LUNs
 * refuse writes (logged), as they would without a lease. */
static int target_deadline(poolExport *ex, exportTarget *t)
{
    int locking = POOL_LOCKING_NONE;
    unsigned host_id = 0;
    if (!ex->mgr || !ex->checker ||
        pool_manager_pool_locking(ex->mgr, t->pool, &locking, &host_id) < 0 ||
        locking != POOL_LOCKING_SANLOCK) {
        pool_error_reset();
        return 0;
    }
    if (ex->map_max_age_ms) {
        /* the LUs of a target that replaces this one keep the same map
         * deadline; the pool's volumes are about to be read afresh */
        exportTarget *old = find_target(ex, t->pool);
        t->map_deadline =
            old && old->map_deadline ? scsi_deadline_ref(old->map_deadline) : scsi_deadline_new();
        if (!t->map_deadline)
            return -1;
        scsi_deadline_set(t->map_deadline, scsi_deadline_now_ms() + ex->map_max_age_ms);
    }
    t->lockspace = pool_manager_pool_lockspace(ex->mgr, t->pool);
    if (!t->lockspace) {
        log_pool(POOL_LOG_ERROR, t->pool, "no lockspace to watch (%s): its rw LUNs refuse writes",
                 pool_error_last_message());
        pool_error_reset();
        t->deadline = scsi_deadline_new();
    } else {
        t->deadline = poold_lease_checker_add(ex->checker, t->lockspace);
    }
    return t->deadline ? 0 : -1;
}

/* A target that was never added: the checker stops watching its lockspace
 * unless the pool's current target uses it. */
static void target_drop(poolExport *ex, exportTarget *t)
{
    if (t->lockspace && t->pool && !find_target(ex, t->pool))
        poold_lease_checker_remove(ex->checker, t->lockspace);
    target_clear(t);
}

int poold_export_pool_add(poolExport *ex, poolManager *mgr, const char *pool)
{
    EXPORT_LOCKED(ex);
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    /* access control and export states first: nothing may be served before
     * the pool's ACL and CHAP are in force */
    exportTarget t = {0};
    if (!(t.pool = pool_strdup(pool)) || !(t.def = record_load(ex, pool)) ||
        pool_manager_vol_unexported(mgr, pool, &t.unexported) < 0 || target_deadline(ex, &t) < 0) {
        target_drop(ex, &t);
        return -1;
    }
    if (tgt_target_add(ex->inv, iqn, 1) < 0 && pool_error_last_code() != POOL_ERR_EXISTS) {
        target_drop(ex, &t);
        return -1;
    }
    if (apply_auth(ex, t.def) < 0) {
        pool_error_prefix("access control of %s", iqn);
        tgt_target_remove(ex->inv, iqn);
        target_drop(ex, &t);
        return -1;
    }
    exportTarget *old = find_target(ex, pool);
    if (old) {
        target_clear(old);
        *old = t;
    } else if (pool_realloc_n(&ex->targets, ex->ntargets + 1, sizeof(*ex->targets)) < 0) {
        tgt_target_remove(ex->inv, iqn);
        target_drop(ex, &t);
        return -1;
    } else {
        ex->targets[ex->ntargets++] = t;
    }
    warn_if_open(ex, pool); /* no portals yet at start: poold_export_start warns */
    char **unexported = t.unexported;
    poolVolDef **vols = NULL;
    size_t n = 0;
    if (pool_manager_lun_list(mgr, pool, &vols, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (vols[i]->state && strcmp(vols[i]->state, "ready") != 0 &&
            !(vols[i]->layer && strcmp(vols[i]->state, "merge") == 0)) {
            log_vol(POOL_LOG_ERROR, pool, vols[i]->name, "not exported: volume state is %s",
                    vols[i]->state);
            continue;
        }
        if (strv_has(unexported, vols[i]->name)) {
            log_vol(POOL_LOG_INFO, pool, vols[i]->name,
                    "not exported: unexported by the operator (pd_export:off)");
            continue;
        }
        if (poold_export_vol_add(ex, vols[i]) < 0)
            log_vol(POOL_LOG_ERROR, pool, vols[i]->name, "%s", pool_error_last_message());
    }
    pool_vol_defs_free(vols, n);
    return 0;
}

bool poold_export_vol_unexported(poolExport *ex, const char *pool, const char *name)
{
    EXPORT_LOCKED(ex);
    exportTarget *t = ex ? find_target(ex, pool) : NULL;
    return t && strv_has(t->unexported, name);
}

bool poold_export_has_pool(poolExport *ex, const char *pool)
{
    EXPORT_LOCKED(ex);
    return ex && find_target(ex, pool) != NULL;
}

int poold_export_vol_mark(poolExport *ex, const char *pool, const char *name, bool exported)
{
    EXPORT_LOCKED(ex);
    exportTarget *t = find_target(ex, pool);
    if (!t)
        return 0;
    if (!exported) {
        if (strv_has(t->unexported, name))
            return 0;
        return pool_strv_add(&t->unexported, name);
    }
    size_t w = 0;
    for (size_t r = 0; t->unexported && t->unexported[r]; r++) {
        if (strcmp(t->unexported[r], name) == 0)
            free(t->unexported[r]);
        else
            t->unexported[w++] = t->unexported[r];
    }
    if (t->unexported)
        t->unexported[w] = NULL;
    return 0;
}

poolTargetDef *poold_export_target_get(poolExport *ex, const char *pool, bool with_secrets)
{
    EXPORT_LOCKED(ex);
    exportTarget *t = find_target(ex, pool);
    if (!t) {
        pool_error(POOL_ERR_NO_POOL,
                   "pool '%s' has no iSCSI target on this host (unknown pool, or its target "
                   "record could not be loaded: see poold's log)",
                   pool);
        return NULL;
    }
    POOL_AUTOPTR(poolTargetDef) c = pool_calloc(1, sizeof(*c));
    if (!c || !(c->pool = pool_strdup(t->def->pool)))
        return NULL;
    if (t->def->acl && !(c->acl = pool_strv_copy(t->def->acl)))
        return NULL;
    if (t->def->chap_user && !(c->chap_user = pool_strdup(t->def->chap_user)))
        return NULL;
    if (t->def->mutual_user && !(c->mutual_user = pool_strdup(t->def->mutual_user)))
        return NULL;
    if (with_secrets) {
        if (t->def->chap_secret && !(c->chap_secret = pool_strdup(t->def->chap_secret)))
            return NULL;
        if (t->def->mutual_secret && !(c->mutual_secret = pool_strdup(t->def->mutual_secret)))
            return NULL;
    } else {
        char iqn[256];
        iqn_of(pool, iqn, sizeof(iqn));
        if (!(c->iqn = pool_strdup(iqn)))
            return NULL;
        if (ex->portal_addrs && !(c->portals = pool_strv_copy(ex->portal_addrs)))
            return NULL;
    }
    return pool_steal_ptr(&c);
}

int poold_export_target_update(poolExport *ex, poolTargetDef *def)
{
    EXPORT_LOCKED(ex);
    POOL_AUTOPTR(poolTargetDef) owned = def;
    exportTarget *t = find_target(ex, def->pool);
    if (!t) {
        pool_error(POOL_ERR_NO_POOL, "pool '%s' has no iSCSI target on this host", def->pool);
        return -1;
    }
    /* iqn and portals are facts of this host, never stored */
    free(def->iqn);
    def->iqn = NULL;
    pool_strv_free(def->portals);
    def->portals = NULL;
    if (def->acl && !def->acl[0]) { /* an empty list means "anyone": store no <acl> */
        pool_strv_free(def->acl);
        def->acl = NULL;
    }
    if (pool_target_def_check_stored(def) < 0)
        return -1;
    char iqn[256];
    iqn_of(def->pool, iqn, sizeof(iqn));
    bool was_open = tgt_target_is_open(ex->inv, iqn);
    /* Record first, then apply: a change that is in force is always one
     * that survives a restart. If applying fails, the old record returns. */
    if (record_save(ex, def) < 0)
        return -1;
    if (apply_auth(ex, def) < 0) {
        poolError *err = pool_error_save();
        if (record_save(ex, t->def) < 0)
            log_pool(POOL_LOG_ERROR, def->pool, "cannot restore the target record: %s",
                     pool_error_last_message());
        pool_error_restore(err);
        return -1;
    }
    pool_target_def_free(t->def);
    t->def = pool_steal_ptr(&owned);
    /* Revoking must revoke: sessions the new ACL or CHAP settings would not
     * admit end now, not at their next login (each is logged). */
    size_t ended = 0;
    for (size_t i = 0; i < ex->nportals; i++)
        ended += iscsi_portal_revoke(ex->portals[i], iqn);
    if (ended)
        log_pool(POOL_LOG_WARN, t->def->pool, "access control changed: %zu session%s ended", ended,
                 ended == 1 ? "" : "s");
    if (!was_open)
        warn_if_open(ex, t->def->pool);
    return 0;
}

int poold_export_target_forget(poolExport *ex, const char *pool)
{
    EXPORT_LOCKED(ex);
    POOL_AUTOFREE(char *) path = record_path(ex, pool);
    if (!path)
        return -1;
    if (unlink(path) < 0 && errno != ENOENT) {
        pool_error_errno(errno, "cannot remove %s", path);
        return -1;
    }
    return 0;
}

void poold_export_pool_remove(poolExport *ex, const char *pool)
{
    EXPORT_LOCKED(ex);
    for (size_t i = 0; i < ex->n;) {
        if (strcmp(ex->entries[i].pool, pool) == 0) {
            entry_clear(&ex->entries[i]);
            ex->entries[i] = ex->entries[--ex->n];
            continue;
        }
        i++;
    }
    exportTarget *t = find_target(ex, pool);
    if (t) {
        if (t->lockspace)
            poold_lease_checker_remove(ex->checker, t->lockspace);
        target_clear(t);
        *t = ex->targets[--ex->ntargets];
    }
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    tgt_target_remove(ex->inv, iqn); /* drops its LUs (in-flight commands keep refs) */
}

poolExport *poold_export_start(const poolConfig *cfg, poolManager *mgr)
{
    poolExport *ex = pool_calloc(1, sizeof(*ex));
    if (ex) {
        ex->mgr = mgr;
        pthread_mutexattr_t ma;
        pthread_mutexattr_init(&ma);
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
        pthread_mutex_init(&ex->lock, &ma);
        pthread_mutexattr_destroy(&ma);
        ex->map_max_age_ms = cfg->map_max_age_ms;
    }
    if (!ex || !(ex->inv = tgt_inventory_new()) || !(ex->state_dir = pool_strdup(cfg->state_dir)) ||
        !(ex->checker = poold_lease_checker_start())) {
        if (ex) {
            tgt_inventory_free(ex->inv);
            free(ex->state_dir);
            pthread_mutex_destroy(&ex->lock);
        }
        free(ex);
        return NULL;
    }
    poolPoolDef **pools = NULL;
    size_t n = 0;
    if (pool_manager_pool_list(mgr, &pools, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (poold_export_pool_add(ex, mgr, pools[i]->name) < 0)
                log_pool(POOL_LOG_ERROR, pools[i]->name, "not exported: %s",
                         pool_error_last_message());
        pool_pool_defs_free(pools, n);
    }
    if (cfg->iscsi_portal && cfg->iscsi_portal[0]) {
        POOL_AUTOSTRV list = NULL;
        int n_portals = pool_parse_portal_list(cfg->iscsi_portal, &list);
        if (n_portals < 0 || !(ex->portal_addrs = pool_strv_copy(list)))
            goto fail;
        /* One portal group per listening address, tags in config order, so
         * an initiator sees each address as its own path (multipath needs
         * distinct tags; SendTargets lists every running portal). */
        for (int i = 0; i < n_portals; i++) {
            char addr[64];
            uint16_t port;
            if (pool_parse_portal(list[i], addr, sizeof(addr), &port) < 0)
                goto fail;
            iscsiPortalConfig pc = {.address = addr,
                                    .port = port,
                                    .tpgt = (uint16_t)(i + 1),
                                    .inv = ex->inv,
                                    .max_sessions = cfg->iscsi_max_sessions,
                                    .max_logins = cfg->iscsi_max_logins,
                                    .max_logins_per_source = cfg->iscsi_max_logins_per_source,
                                    .login_timeout_s = cfg->iscsi_login_timeout,
                                    .first_pdu_timeout_s = cfg->iscsi_first_pdu_timeout};
            iscsiPortal *p = iscsi_portal_start(&pc);
            if (!p) {
                pool_error_prefix("cannot start the iSCSI portal on %s", list[i]);
                goto fail;
            }
            ex->portals[ex->nportals++] = p;
            log_info("iSCSI target listening on %s (portal group %d)", list[i], i + 1);
        }
        for (size_t i = 0; i < ex->ntargets; i++)
            warn_if_open(ex, ex->targets[i].pool);
    }
    return ex;
fail:
    poold_export_stop(ex, 0);
    return NULL;
}

void poold_export_stop(poolExport *ex, int grace_ms)
{
    if (!ex)
        return;
    /* The portals share one grace period: they are stopped in turn (asking
     * all of them to log out at once would need a transport change), each
     * getting what is left, but at least a second so its initiators still
     * receive the logout request instead of a dropped connection. */
    uint64_t start = iscsi_now_ms();
    for (size_t i = 0; i < ex->nportals; i++) {
        int left = grace_ms - (int)(iscsi_now_ms() - start);
        iscsi_portal_stop(ex->portals[i], grace_ms <= 0 ? 0 : left < 1000 ? 1000 : left);
    }
    for (size_t i = 0; i < ex->n; i++)
        entry_clear(&ex->entries[i]);
    free(ex->entries);
    poold_lease_checker_stop(ex->checker);
    for (size_t i = 0; i < ex->ntargets; i++)
        target_clear(&ex->targets[i]);
    free(ex->targets);
    pool_strv_free(ex->portal_addrs);
    free(ex->state_dir);
    tgt_inventory_free(ex->inv);
    pthread_mutex_destroy(&ex->lock);
    free(ex);
}
