/*
 * cluster.c: cluster coordination of a pool's hosts through sanlock
 * (docs/design.md choices 2-4; the sanlock side is lease.c, this file ties it to
 * pools and volumes).
 *
 * Invariants, for pools with <locking type="sanlock">:
 *   - A VG change (lvcreate, lvresize, lvremove, tag change) is made only by
 *     a host holding the pool-metadata lease (slot 0 of `leases`), taken per
 *     request with a bounded wait (poolConfig.lease_wait) and released when
 *     the request ends. sanlock grants it to one live host at a time; a host
 *     that dies holding it keeps it until sanlock calls that host dead.
 *   - Every multi-step change tags its LV with pd_op first (pool-ops.h).
 *     Whoever holds the lease knows no other host is between two steps, so
 *     any pd_op tag it sees was left by a crash or a dead host: it repairs
 *     it (pool_cluster_repair_strays) before its own change. That is how a
 *     dead host's half-done work is reconciled without waiting for it.
 *   - A host joins the lockspace with a host id recorded in the VG as
 *     pd_host:<id>:<name> (so ids stay unique by name) and in its own pool
 *     record (so poold rejoins at start). sanlock itself refuses a host id
 *     whose delta lease another live host renews.
 *   - A volume's lease slot is (re)written when the volume is created, and
 *     a volume whose lease some live host holds is never deleted.
 *
 * Pools without locking keep the single-host rules: poold's serial request
 * loop is the only writer, so nothing here applies except stray repair.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "cluster.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-lease.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool_store.h"
#include "reconcile.h"

static int need_sanlock(poolEntry *e)
{
    if (e->def->locking == POOL_LOCKING_SANLOCK)
        return 0;
    pool_error(POOL_ERR_INVALID_ARG,
               "pool %s does not use sanlock locking (created with --locking none): it has no "
               "host ids or leases",
               e->def->name);
    return -1;
}

static int first_segment(const poolSnapshot *snap, const char *lv, uint64_t extent_size,
                         poolSegment *out)
{
    const poolLvmLV *l = pool_snapshot_find_lv(snap, lv);
    if (!l) {
        pool_error(POOL_ERR_LVM, "the pool's %s logical volume is missing", lv);
        return -1;
    }
    poolSegment *segs = NULL;
    size_t n = 0;
    if (pool_layout_segments(l, snap->pvs, snap->npvs, extent_size, &segs, &n) < 0)
        return -1;
    if (n == 0) {
        pool_segments_free(segs, n);
        pool_error(POOL_ERR_LVM, "the pool's %s logical volume has no segments", lv);
        return -1;
    }
    *out = segs[0];
    out->pv = pool_strdup(segs[0].pv);
    pool_segments_free(segs, n);
    return out->pv ? 0 : -1;
}

/* Build the lockspace and the metadata lease address from the special LVs'
 * maps (snap may be NULL: one is loaded). */
static int ensure_lockspace(poolEntry *e, const poolSnapshot *snap)
{
    /* Requests of one pool may get here together (reads take no pool
     * lock): e->mu guards the cache, but is not held across the snapshot;
     * the first to finish installs its lockspace, the others drop theirs.
     * Once set, ls stays until the entry goes (GLOBAL ops only). */
    pthread_mutex_lock(&e->mu);
    bool have = e->ls != NULL;
    pthread_mutex_unlock(&e->mu);
    if (have)
        return 0;
    if (need_sanlock(e) < 0)
        return -1;
    poolSnapshot own;
    if (!snap) {
        if (pool_snapshot_load(e, &own) < 0)
            return -1;
        snap = &own;
    }
    poolSegment ids = {0}, leases = {0};
    int r = -1;
    if (first_segment(snap, POOL_LV_IDS, e->def->extent_size, &ids) == 0 &&
        first_segment(snap, POOL_LV_LEASES, e->def->extent_size, &leases) == 0) {
        poolLockspace *ls =
            pool_lockspace_new(e->def->uuid, ids.pv, ids.pv_offset, ids.length, e->def->host_ids);
        if (ls) {
            pthread_mutex_lock(&e->mu);
            if (e->ls) {
                pool_lockspace_free(ls); /* another request was first */
            } else {
                e->ls = ls;
                e->meta_pv = pool_steal_ptr(&leases.pv);
                e->meta_offset = leases.pv_offset;
            }
            pthread_mutex_unlock(&e->mu);
            r = 0;
        }
    }
    free(ids.pv);
    free(leases.pv);
    if (snap == &own)
        pool_snapshot_clear(&own);
    return r;
}

/* The holder, made on first use. A holder replaced after a sanlock restart
 * is kept until the manager goes (pool_manager_drop_holder), so a pointer
 * read here stays valid for the request that read it. */
static poolLeaseHolder *holder(poolManager *mgr)
{
    pthread_mutex_lock(&mgr->holder_mu);
    if (!mgr->holder)
        mgr->holder = pool_lease_holder_new();
    poolLeaseHolder *h = mgr->holder;
    pthread_mutex_unlock(&mgr->holder_mu);
    return h;
}

/* The holder if there is one (NULL: this process holds no lease). */
static poolLeaseHolder *holder_if_any(poolManager *mgr)
{
    pthread_mutex_lock(&mgr->holder_mu);
    poolLeaseHolder *h = mgr->holder;
    pthread_mutex_unlock(&mgr->holder_mu);
    return h;
}

/* Acquire through this process's holder. If the sanlock daemon restarted,
 * the registered connection is dead (and every lease it held is gone
 * with it): reconnect once and try again. */
static int acquire(poolManager *mgr, poolEntry *e, const poolLeaseRef *ref, unsigned wait)
{
    for (int attempt = 0;; attempt++) {
        poolLeaseHolder *h = holder(mgr);
        if (h && pool_lease_acquire(h, e->ls, ref, wait) == 0)
            return 0;
        if (attempt > 0 || !h || pool_error_last_code() != POOL_ERR_CONNECT)
            return -1;
        log_pool(POOL_LOG_WARN, e->def->name,
                 "lost the connection to the sanlock daemon (%s); reconnecting",
                 pool_error_last_message());
        pool_error_reset();
        pool_manager_drop_holder(mgr);
    }
}

static poolLeaseRef meta_ref(poolEntry *e, char *label, size_t len)
{
    poolLeaseRef ref = pool_lease_metadata_ref(e->meta_pv, e->meta_offset);
    snprintf(label, len, "pool-metadata lease of pool %s", e->def->name);
    ref.label = label;
    return ref;
}

/* This host must be in the lockspace before it can hold any lease. */
static int check_joined(poolEntry *e)
{
    bool joined = false;
    unsigned id = 0;
    if (pool_lockspace_joined(e->ls, &joined, &id) < 0)
        return -1;
    if (joined)
        return 0;
    if (e->def->host_id) {
        /* recorded but not in sanlock's lockspaces (the daemon restarted,
         * or the start-up join failed): ask again, in the background */
        if (pool_lockspace_join(e->ls, e->def->host_id, e->def->io_timeout, 0) == 0)
            return 0;
        pool_error_reset();
    }
    if (e->def->host_id)
        pool_error(POOL_ERR_BUSY,
                   "this host is still joining pool %s's lockspace as host id %u (sanlock takes "
                   "a few io_timeouts); try again shortly",
                   e->def->name, e->def->host_id);
    else
        pool_error(POOL_ERR_PERMISSION,
                   "this host has not joined pool %s: run 'poolctl host join %s --host-id N' "
                   "first",
                   e->def->name, e->def->name);
    return -1;
}

int pool_cluster_lock(poolManager *mgr, poolEntry *e)
{
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    if (e->lock_depth > 0) {
        e->lock_depth++;
        return 0;
    }
    if (ensure_lockspace(e, NULL) < 0 || check_joined(e) < 0)
        return -1;
    char label[128];
    poolLeaseRef ref = meta_ref(e, label, sizeof(label));
    if (acquire(mgr, e, &ref, mgr->cfg->lease_wait) < 0) {
        pool_error_prefix("cannot change pool %s", e->def->name);
        return -1;
    }
    e->lock_depth = 1;
    return 0;
}

void pool_cluster_unlock(poolManager *mgr, poolEntry *e)
{
    if (e->def->locking != POOL_LOCKING_SANLOCK || e->lock_depth == 0)
        return;
    if (--e->lock_depth > 0)
        return;
    poolError *err = pool_error_save();
    char label[128];
    poolLeaseRef ref = meta_ref(e, label, sizeof(label));
    poolLeaseHolder *h = holder_if_any(mgr);
    if (!h)
        pool_error(POOL_ERR_CONNECT, "the sanlock connection was replaced");
    if (!h || pool_lease_release(h, e->ls, &ref) < 0)
        log_pool(POOL_LOG_ERROR, e->def->name,
                 "cannot release the pool-metadata lease: %s (sanlock frees it when poold exits)",
                 pool_error_last_message());
    pool_error_reset();
    pool_error_restore(err);
}

static int hold_clone_target(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv);
static void drop_clone_target(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv);

int pool_cluster_repair_strays(poolEntry *e, const poolSnapshot *snap)
{
    if (e->def->locking == POOL_LOCKING_SANLOCK && e->lock_depth == 0)
        return 0; /* only the lease holder may */
    int repaired = 0;
    for (size_t i = 0; i < snap->nlvs; i++) {
        const poolLvmLV *lv = &snap->lvs[i];
        if (!pool_layout_lv_is_volume(lv))
            continue;
        const char *op = pool_lvm_tag_get(lv->tags, POOL_TAG_OP);
        if (!op)
            continue;
        /* a job of this process is between two steps on it (a clone
         * copying): not a crash's leftover */
        if (pool_entry_lv_claimed(e, lv->name))
            continue;
        /* a clone's target is held by its lease while the clone runs, on
         * whichever host: repaired only once that lease can be taken */
        bool held = false;
        if (strcmp(op, "clone") == 0 && e->def->locking == POOL_LOCKING_SANLOCK) {
            int r = hold_clone_target(e, snap, lv);
            if (r < 0)
                return -1;
            if (r == 0) {
                log_vol(POOL_LOG_INFO, e->def->name, lv->name,
                        "a clone runs on it (its lease is held); leaving it alone");
                continue;
            }
            held = true;
        }
        log_vol(POOL_LOG_WARN, e->def->name, lv->name,
                "found '%s' left unfinished by a crashed or dead host; repairing it", op);
        int r = pool_reconcile_volume(e, lv, op);
        if (held)
            drop_clone_target(e, snap, lv);
        if (r < 0)
            return -1;
        repaired++;
    }
    /* snapshot creates, reverts and deletes (reconcile_snapshot.c); after
     * a volume repair the snapshot is stale: read again */
    int s = pool_reconcile_snapshots(e, repaired ? NULL : snap);
    if (s < 0)
        return -1;
    return repaired + s;
}

static int slot_ref(poolEntry *e, const poolSnapshot *snap, int slot, char **pv, uint64_t *off)
{
    const poolLvmLV *leases = pool_snapshot_find_lv(snap, POOL_LV_LEASES);
    if (!leases) {
        pool_error(POOL_ERR_LVM, "the pool's leases logical volume is missing");
        return -1;
    }
    poolSegment *segs = NULL;
    size_t n = 0;
    const char *p;
    int r = pool_layout_segments(leases, snap->pvs, snap->npvs, e->def->extent_size, &segs, &n);
    if (r == 0)
        r = pool_layout_locate(segs, n, (uint64_t)slot * POOL_LEASE_SLOT_SIZE, POOL_LEASE_SLOT_SIZE,
                               &p, off);
    if (r == 0 && !(*pv = pool_strdup(p)))
        r = -1;
    pool_segments_free(segs, n);
    return r;
}

/* The lease of an LV with identity tags (a clone's target): its uuid and
 * slot's address. 0, or -1 with the error set. */
static int lv_lease_ref(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv, char **pv,
                        poolLeaseRef *ref, char *label, size_t len)
{
    const char *uuid = pool_lvm_tag_get(lv->tags, POOL_TAG_UUID);
    const char *slot = pool_lvm_tag_get(lv->tags, POOL_TAG_SLOT);
    uint64_t k, off = 0;
    if (!uuid || !slot || pool_parse_uint(slot, "lease slot", 1, POOL_MAX_LEASE_SLOTS, &k) < 0) {
        pool_error(POOL_ERR_LVM, "logical volume %s has no valid lease slot tag", lv->name);
        return -1;
    }
    if (ensure_lockspace(e, snap) < 0 || slot_ref(e, snap, (int)k, pv, &off) < 0)
        return -1;
    snprintf(label, len, "lease of volume %s", lv->name);
    *ref = (poolLeaseRef){.name = uuid, .pv = *pv, .offset = off, .label = label};
    return 0;
}

/* 1: taken (the clone that held it is gone); 0: held elsewhere (the
 * clone runs); -1: error. */
static int hold_clone_target(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv)
{
    POOL_AUTOFREE(char *) pv = NULL;
    poolLeaseRef ref;
    char label[128];
    if (lv_lease_ref(e, snap, lv, &pv, &ref, label, sizeof(label)) < 0)
        return -1;
    if (acquire(e->mgr, e, &ref, 0) == 0)
        return 1;
    poolErrorCode code = pool_error_last_code();
    if (code == POOL_ERR_BUSY || code == POOL_ERR_EXISTS) {
        pool_error_reset();
        return 0;
    }
    return -1;
}

static void drop_clone_target(poolEntry *e, const poolSnapshot *snap, const poolLvmLV *lv)
{
    poolError *err = pool_error_save();
    POOL_AUTOFREE(char *) pv = NULL;
    poolLeaseRef ref;
    char label[128];
    poolLeaseHolder *h = holder_if_any(e->mgr);
    if (h && lv_lease_ref(e, snap, lv, &pv, &ref, label, sizeof(label)) == 0 &&
        pool_lease_release(h, e->ls, &ref) < 0)
        log_vol(POOL_LOG_WARN, e->def->name, lv->name, "cannot release its lease: %s",
                pool_error_last_message());
    pool_error_reset();
    pool_error_restore(err);
}

int pool_cluster_format_volume_lease(poolManager *mgr, poolEntry *e, const poolSnapshot *snap,
                                     int slot, const char *uuid, const char *name)
{
    (void)mgr;
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    POOL_AUTOFREE(char *) pv = NULL;
    uint64_t off = 0;
    if (ensure_lockspace(e, snap) < 0 || slot_ref(e, snap, slot, &pv, &off) < 0)
        return -1;
    char label[128];
    snprintf(label, sizeof(label), "lease of volume %s", name);
    poolLeaseRef ref = {.name = uuid, .pv = pv, .offset = off, .label = label};
    return pool_lease_format(e->ls, &ref);
}

static int vol_ref(poolEntry *e, const poolVolDef *vol, char *label, size_t len, poolLeaseRef *ref)
{
    if (!vol->lease_pv) {
        pool_error(POOL_ERR_LVM, "volume %s has no lease slot address", vol->name);
        return -1;
    }
    snprintf(label, len, "lease of volume %s", vol->name);
    *ref = (poolLeaseRef){
        .name = vol->uuid, .pv = vol->lease_pv, .offset = vol->lease_offset, .label = label};
    return ensure_lockspace(e, NULL);
}

int pool_cluster_check_lease_free(poolManager *mgr, poolEntry *e, const poolVolDef *vol)
{
    (void)mgr;
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    char label[128];
    poolLeaseRef ref;
    poolLeaseStatus st;
    if (vol_ref(e, vol, label, sizeof(label), &ref) < 0 || pool_lease_status(e->ls, &ref, &st) < 0)
        return -1;
    if (st.held && st.owner_state != POOL_LEASE_HOST_DEAD &&
        st.owner_state != POOL_LEASE_HOST_FREE) {
        pool_error(POOL_ERR_BUSY,
                   "volume %s is in use: its lease is held by host %u (%s); release it first",
                   vol->name, st.owner, pool_lease_host_state_name(st.owner_state));
        return -1;
    }
    return 0;
}

int pool_cluster_hold_volume(poolManager *mgr, poolEntry *e, const poolVolDef *vol)
{
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    char label[128];
    poolLeaseRef ref;
    if (vol_ref(e, vol, label, sizeof(label), &ref) < 0)
        return -1;
    if (acquire(mgr, e, &ref, 0) == 0)
        return 0;
    if (pool_error_last_code() == POOL_ERR_EXISTS) {
        pool_error_reset();
        /* sanlock says "held on this host" for any of its processes:
         * poold itself (lease acquire) or a VM's QEMU */
        pool_error(POOL_ERR_BUSY,
                   "volume %s is in use: its lease is held on this host, by poold (poolctl "
                   "lease release) or by a VM running here; release it or stop the VM first",
                   vol->name);
    } else {
        pool_error_prefix("volume %s is in use", vol->name);
    }
    return -1;
}

int pool_cluster_hold_volume_shrink(poolManager *mgr, poolEntry *e, const poolVolDef *vol,
                                    bool *held)
{
    *held = false;
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    char label[128];
    poolLeaseRef ref;
    if (vol_ref(e, vol, label, sizeof(label), &ref) < 0)
        return -1;
    if (acquire(mgr, e, &ref, 0) == 0) {
        *held = true;
        return 0;
    }
    if (pool_error_last_code() == POOL_ERR_EXISTS) {
        /* poold on this host holds it: the shrink drains this host's I/O */
        pool_error_reset();
        return 0;
    }
    /* Held by another process of this host (a VM's QEMU): this host's
     * LUN is cut and drained by the shrink, so only another host's holder
     * refuses it. */
    poolLeaseStatus st;
    if (pool_error_last_code() == POOL_ERR_BUSY && e->def->host_id &&
        pool_lease_status(e->ls, &ref, &st) == 0 && st.held && st.owner == e->def->host_id) {
        pool_error_reset();
        return 0;
    }
    pool_error_prefix("volume %s is in use (shrinking it would cut the disk under its writer; "
                      "--force shrinks it anyway)",
                      vol->name);
    return -1;
}

int pool_cluster_hold_volume_offline(poolManager *mgr, poolEntry *e, const poolVolDef *vol,
                                     const char *what, bool *held)
{
    *held = false;
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    char label[128];
    poolLeaseRef ref;
    if (vol_ref(e, vol, label, sizeof(label), &ref) < 0)
        return -1;
    if (acquire(mgr, e, &ref, 0) == 0) {
        *held = true;
        return 0;
    }
    if (pool_error_last_code() == POOL_ERR_EXISTS) {
        /* sanlock says "held on this host": by poold itself (lease
         * acquire), so nobody else writes, or by another process of this
         * host (a VM's QEMU), which refuses it */
        poolError *err = pool_error_save();
        poolLeaseHolder *h = holder_if_any(mgr);
        bool mine = false;
        if (h && pool_lease_held(h, e->ls, &ref, &mine) == 0 && mine) {
            pool_error_free(err);
            pool_error_reset();
            return 0;
        }
        pool_error_restore(err);
    }
    pool_error_prefix("volume %s is in use (a running VM's disk?); %s works on a volume nobody "
                      "writes (--live is not built yet)",
                      vol->name, what);
    return -1;
}

void pool_cluster_drop_volume(poolManager *mgr, poolEntry *e, const poolVolDef *vol)
{
    poolLeaseHolder *h = holder_if_any(mgr);
    if (e->def->locking != POOL_LOCKING_SANLOCK || !h)
        return;
    poolError *err = pool_error_save();
    char label[128];
    poolLeaseRef ref;
    if (vol_ref(e, vol, label, sizeof(label), &ref) == 0 && pool_lease_release(h, e->ls, &ref) < 0)
        log_vol(POOL_LOG_WARN, e->def->name, vol->name, "cannot release its lease: %s",
                pool_error_last_message());
    pool_error_reset();
    pool_error_restore(err);
}

int pool_cluster_format_pool(poolManager *mgr, poolEntry *e)
{
    (void)mgr;
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    pool_entry_drop_lockspace(e);
    if (ensure_lockspace(e, NULL) < 0)
        return -1;
    /* force: the VG was made by this request, so whatever the ids area
     * holds is left over from earlier use of these disks (LVs are not
     * zeroed), never a lockspace anyone is in */
    if (pool_lockspace_format(e->ls, e->def->io_timeout, true) < 0)
        return -1;
    char label[128];
    poolLeaseRef ref = meta_ref(e, label, sizeof(label));
    return pool_lease_format(e->ls, &ref);
}

/* ---- hosts ------------------------------------------------------------- */

/* pd_host:<id>:<name> → id and name (name points into the tag). */
static bool parse_host_tag(const char *tag, unsigned *id, const char **name)
{
    static const char prefix[] = POOL_TAG_HOST ":";
    if (strncmp(tag, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *p = tag + sizeof(prefix) - 1;
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || *end != ':' || v < 1 || v > POOL_LEASE_MAX_HOST_ID)
        return false;
    *id = (unsigned)v;
    *name = end + 1;
    return true;
}

static int load_vg_tags(poolEntry *e, poolSnapshot *snap)
{
    return pool_snapshot_load(e, snap);
}

/* The host name goes into a VG tag: poold's host-name rules (letters,
 * digits, _ . + -) are a subset of what LVM tags allow. */
static int check_host_name(const char *name)
{
    if (pool_name_validate(POOL_NAME_HOST, name) == 0)
        return 0;
    pool_error_prefix("this host's name cannot be recorded in the pool; set host_name in "
                      "poold.conf");
    return -1;
}

int pool_manager_host_join(poolManager *mgr, const char *pool, unsigned host_id,
                           unsigned wait_seconds)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || need_sanlock(e) < 0)
        return -1;
    const char *me = pool_host_name(mgr->cfg->host_name);
    if (check_host_name(me) < 0)
        return -1;
    if (host_id < 1 || host_id > e->def->host_ids) {
        pool_error(POOL_ERR_INVALID_ARG, "host id %u is out of range 1..%u for pool %s", host_id,
                   e->def->host_ids, pool);
        return -1;
    }
    if (e->def->host_id && e->def->host_id != host_id) {
        pool_error(POOL_ERR_EXISTS, "this host already joined pool %s as host id %u", pool,
                   e->def->host_id);
        return -1;
    }
    poolSnapshot snap;
    if (load_vg_tags(e, &snap) < 0)
        return -1;
    bool tagged = false;
    int r = 0;
    for (char **t = snap.vg->tags; *t && r == 0; t++) {
        unsigned id;
        const char *name;
        if (!parse_host_tag(*t, &id, &name))
            continue;
        if (id == host_id && strcmp(name, me) == 0) {
            tagged = true;
        } else if (id == host_id) {
            pool_error(POOL_ERR_EXISTS, "host id %u of pool %s is already used by host %s", host_id,
                       pool, name);
            r = -1;
        } else if (strcmp(name, me) == 0) {
            pool_error(POOL_ERR_EXISTS,
                       "this host (%s) already joined pool %s as host id %u; leave first", me, pool,
                       id);
            r = -1;
        }
    }
    if (r == 0)
        r = ensure_lockspace(e, &snap);
    pool_snapshot_clear(&snap);
    if (r < 0)
        return -1;
    log_pool(POOL_LOG_INFO, pool, "joining the lockspace as host id %u (%s)", host_id, me);
    if (pool_lockspace_join(e->ls, host_id, e->def->io_timeout, wait_seconds) < 0)
        return -1;
    if (!tagged) {
        POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_HOST, "%u:%s", host_id, me);
        char *add[] = {tag, NULL};
        if (!tag || pool_cluster_lock(mgr, e) < 0)
            return -1;
        r = pool_lvm_vg_change_tags(e->lvm, pool, add, NULL);
        pool_cluster_unlock(mgr, e);
        if (r < 0)
            return -1;
    }
    if (e->def->host_id != host_id) {
        /* host join runs under the pool's lock only (its wait must not
         * hold up other requests): readers of other requests may look at
         * host_id meanwhile, so it changes in one store */
        __atomic_store_n(&e->def->host_id, host_id, __ATOMIC_RELEASE);
        if (pool_store_save(mgr->pools_dir, e->def) < 0)
            return -1;
    }
    log_pool(POOL_LOG_INFO, pool, "joined as host id %u", host_id);
    return 0;
}

int pool_manager_host_leave(poolManager *mgr, const char *pool, unsigned wait_seconds)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || need_sanlock(e) < 0)
        return -1;
    if (!e->def->host_id) {
        pool_error(POOL_ERR_INVALID_ARG, "this host has not joined pool %s", pool);
        return -1;
    }
    size_t held = 0;
    poolLeaseHolder *h = holder_if_any(mgr);
    if (ensure_lockspace(e, NULL) < 0 || (h && pool_lease_holder_count(h, e->ls, &held) < 0))
        return -1;
    if (held) {
        pool_error(POOL_ERR_BUSY,
                   "poold on this host holds %zu lease(s) in pool %s; release them first", held,
                   pool);
        return -1;
    }
    POOL_AUTOFREE(char *)
    tag = pool_layout_tag(POOL_TAG_HOST, "%u:%s", e->def->host_id,
                          pool_host_name(mgr->cfg->host_name));
    char *tags[] = {tag, NULL};
    if (!tag || pool_cluster_lock(mgr, e) < 0)
        return -1;
    int r = pool_lvm_vg_change_tags(e->lvm, pool, NULL, tags);
    pool_cluster_unlock(mgr, e);
    if (r < 0)
        return -1;
    if (pool_lockspace_leave(e->ls, wait_seconds) < 0) {
        /* still a member (another process of this host holds a lease, or
         * sanlock is slow): the VG must keep saying so */
        poolError *err = pool_error_save();
        if (pool_cluster_lock(mgr, e) == 0) {
            if (pool_lvm_vg_change_tags(e->lvm, pool, tags, NULL) < 0)
                log_pool(POOL_LOG_ERROR, pool, "cannot restore tag %s: %s", tag,
                         pool_error_last_message());
            pool_cluster_unlock(mgr, e);
        }
        pool_error_restore(err);
        return -1;
    }
    log_pool(POOL_LOG_INFO, pool, "left the lockspace (was host id %u)", e->def->host_id);
    e->def->host_id = 0;
    return pool_store_save(mgr->pools_dir, e->def);
}

void pool_host_list_clear(poolHostList *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->hosts[i].name);
    free(l->hosts);
    memset(l, 0, sizeof(*l));
}

static poolHostInfo *host_slot(poolHostList *l, unsigned id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->hosts[i].host_id == id)
            return &l->hosts[i];
    if (pool_realloc_n(&l->hosts, l->n + 1, sizeof(*l->hosts)) < 0)
        return NULL;
    poolHostInfo *h = &l->hosts[l->n++];
    memset(h, 0, sizeof(*h));
    h->host_id = id;
    h->seen.host_id = id;
    return h;
}

static int cmp_host_info(const void *a, const void *b)
{
    unsigned x = ((const poolHostInfo *)a)->host_id, y = ((const poolHostInfo *)b)->host_id;
    return x < y ? -1 : x > y;
}

int pool_manager_host_list(poolManager *mgr, const char *pool, poolHostList *out)
{
    memset(out, 0, sizeof(*out));
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || need_sanlock(e) < 0)
        return -1;
    poolSnapshot snap;
    if (load_vg_tags(e, &snap) < 0)
        return -1;
    int r = ensure_lockspace(e, &snap);
    for (char **t = snap.vg->tags; r == 0 && *t; t++) {
        unsigned id;
        const char *name;
        if (!parse_host_tag(*t, &id, &name))
            continue;
        poolHostInfo *h = host_slot(out, id);
        if (!h || (!h->name && !(h->name = pool_strdup(name))))
            r = -1;
    }
    pool_snapshot_clear(&snap);
    if (r < 0) {
        pool_host_list_clear(out);
        return -1;
    }
    pool_lease_timeouts(e->def->io_timeout, &out->timeouts);
    unsigned id = 0;
    if (pool_lockspace_joined(e->ls, &out->joined, &id) < 0)
        pool_error_reset();
    out->this_host_id = out->joined ? id : e->def->host_id;
    if (out->joined) {
        poolLeaseHost *seen = NULL;
        size_t n = 0;
        if (pool_lockspace_hosts(e->ls, &seen, &n) == 0) {
            for (size_t i = 0; i < n; i++) {
                if (seen[i].state == POOL_LEASE_HOST_FREE)
                    continue;
                poolHostInfo *h = host_slot(out, seen[i].host_id);
                if (!h) {
                    free(seen);
                    pool_host_list_clear(out);
                    return -1;
                }
                h->seen = seen[i];
            }
            free(seen);
        } else {
            log_pool(POOL_LOG_WARN, pool, "cannot read the hosts' delta leases: %s",
                     pool_error_last_message());
            pool_error_reset();
        }
    }
    for (size_t i = 0; i < out->n; i++)
        out->hosts[i].this_host = out->hosts[i].host_id == out->this_host_id;
    if (out->n > 1)
        qsort(out->hosts, out->n, sizeof(*out->hosts), cmp_host_info);
    return 0;
}

void pool_manager_rejoin_all(poolManager *mgr)
{
    for (size_t i = 0; i < mgr->npools; i++) {
        poolEntry *e = mgr->pools[i];
        if (e->def->locking != POOL_LOCKING_SANLOCK || !e->def->host_id)
            continue;
        if (ensure_lockspace(e, NULL) < 0 ||
            pool_lockspace_join(e->ls, e->def->host_id, e->def->io_timeout, 0) < 0) {
            if (pool_error_last() && pool_error_last()->code == POOL_ERR_TIMEOUT)
                log_pool(POOL_LOG_INFO, e->def->name,
                         "rejoining the lockspace as host id %u in the background",
                         e->def->host_id);
            else
                log_pool(POOL_LOG_ERROR, e->def->name, "cannot rejoin the lockspace: %s",
                         pool_error_last_message());
            pool_error_reset();
        } else {
            log_pool(POOL_LOG_INFO, e->def->name, "in the lockspace as host id %u",
                     e->def->host_id);
        }
    }
}

int pool_manager_pool_locking(poolManager *mgr, const char *pool, int *locking, unsigned *host_id)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    *locking = e->def->locking;
    *host_id = e->def->host_id;
    return 0;
}

char *pool_manager_pool_lockspace(poolManager *mgr, const char *pool)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return NULL;
    if (e->def->locking != POOL_LOCKING_SANLOCK) {
        pool_error(POOL_ERR_INVALID_ARG, "pool %s has no sanlock locking", pool);
        return NULL;
    }
    if (ensure_lockspace(e, NULL) < 0)
        return NULL;
    return pool_strdup(pool_lockspace_name(e->ls));
}

int pool_manager_host_state(poolManager *mgr, const char *pool, unsigned host_id,
                            poolLeaseHostState *state)
{
    *state = POOL_LEASE_HOST_UNKNOWN;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (e->def->locking != POOL_LOCKING_SANLOCK)
        return 0;
    if (ensure_lockspace(e, NULL) < 0)
        return -1;
    poolLeaseHost h;
    if (pool_lockspace_host(e->ls, host_id, &h) < 0)
        return -1;
    *state = h.state;
    return 0;
}

/* ---- change detection ---------------------------------------------------- */

int pool_manager_pool_changed(poolManager *mgr, const char *pool, bool *changed)
{
    *changed = false;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    poolMdaFingerprint fp;
    if (pool_lvm_mda_fingerprint(e->def->devices[0], &fp) == 0) {
        *changed = !e->have_fp || !pool_lvm_mda_fingerprint_equal(&fp, &e->fp);
        e->fp = fp;
        e->have_fp = true;
        return 0;
    }
    log_pool(POOL_LOG_DEBUG, pool, "metadata header unreadable (%s); asking lvm",
             pool_error_last_message());
    pool_error_reset();
    poolLvmVG *vg = NULL;
    if (pool_lvm_report_vg(e->lvm, pool, &vg) < 0)
        return -1;
    *changed = !e->have_fp || vg->seqno != e->seqno;
    e->seqno = vg->seqno;
    e->have_fp = true;
    memset(&e->fp, 0, sizeof(e->fp));
    pool_lvm_vgs_free(vg, 1);
    return 0;
}

char **pool_manager_pool_names(poolManager *mgr)
{
    char **out = pool_calloc(1, sizeof(char *));
    for (size_t i = 0; out && i < mgr->npools; i++)
        if (pool_strv_add(&out, mgr->pools[i]->def->name) < 0) {
            pool_strv_free(out);
            return NULL;
        }
    return out;
}

/* ---- volume leases ------------------------------------------------------ */

/* The volume's pool, which must use sanlock. */
static poolEntry *vol_entry(poolManager *mgr, const poolVolDef *vol)
{
    poolEntry *e = pool_manager_find(mgr, vol->pool);
    return e && need_sanlock(e) == 0 ? e : NULL;
}

int pool_manager_lease_acquire(poolManager *mgr, const poolVolDef *vol, unsigned wait_seconds)
{
    poolEntry *e = vol_entry(mgr, vol);
    char label[128];
    poolLeaseRef ref;
    if (!e || vol_ref(e, vol, label, sizeof(label), &ref) < 0 || check_joined(e) < 0)
        return -1;
    if (acquire(mgr, e, &ref, wait_seconds) < 0)
        return -1;
    log_vol(POOL_LOG_INFO, vol->pool, vol->name, "lease acquired (host id %u)", e->def->host_id);
    return 0;
}

int pool_manager_lease_release(poolManager *mgr, const poolVolDef *vol)
{
    poolEntry *e = vol_entry(mgr, vol);
    char label[128];
    poolLeaseRef ref;
    bool held = false;
    if (!e || vol_ref(e, vol, label, sizeof(label), &ref) < 0)
        return -1;
    poolLeaseHolder *h = holder_if_any(mgr);
    if (!h || pool_lease_held(h, e->ls, &ref, &held) < 0 || !held) {
        pool_error_reset();
        pool_error(POOL_ERR_INVALID_ARG, "poold on this host does not hold the lease of volume %s",
                   vol->name);
        return -1;
    }
    if (pool_lease_release(h, e->ls, &ref) < 0)
        return -1;
    log_vol(POOL_LOG_INFO, vol->pool, vol->name, "lease released");
    return 0;
}

void pool_vol_lease_clear(poolVolLease *l)
{
    free(l->owner_name);
    memset(l, 0, sizeof(*l));
}

/* A host id's name: this host's own, or from the VG's pd_host tags (one
 * vgs); NULL when unknown. */
static char *host_name_of(poolManager *mgr, poolEntry *e, unsigned id)
{
    if (id && id == e->def->host_id)
        return pool_strdup(pool_host_name(mgr->cfg->host_name));
    poolLvmVG *vg = NULL;
    if (pool_lvm_report_vg(e->lvm, e->def->name, &vg) < 0) {
        pool_error_reset();
        return NULL;
    }
    char *out = NULL;
    for (char **t = vg->tags; *t && !out; t++) {
        unsigned tid;
        const char *name;
        if (parse_host_tag(*t, &tid, &name) && tid == id)
            out = pool_strdup(name);
    }
    pool_lvm_vgs_free(vg, 1);
    return out;
}

int pool_manager_lease_status(poolManager *mgr, const poolVolDef *vol, poolVolLease *out)
{
    memset(out, 0, sizeof(*out));
    poolEntry *e = vol_entry(mgr, vol);
    char label[128];
    poolLeaseRef ref;
    poolLeaseStatus st;
    if (!e || vol_ref(e, vol, label, sizeof(label), &ref) < 0 ||
        pool_lease_status(e->ls, &ref, &st) < 0)
        return -1;
    out->held = st.held;
    out->owner = st.owner;
    out->owner_state = st.owner_state;
    out->lver = st.lver;
    if (st.held) {
        out->owner_name = host_name_of(mgr, e, st.owner);
        out->this_host = e->def->host_id && st.owner == e->def->host_id;
        bool mine = false;
        poolLeaseHolder *h = holder_if_any(mgr);
        if (h && pool_lease_held(h, e->ls, &ref, &mine) == 0)
            out->this_holder = mine;
        pool_error_reset();
    }
    return 0;
}

/* Does this host hold the lease, by any of its processes? The owner on
 * disk must be this host id in its current generation — read_owner calls
 * an owner of an older generation (an earlier incarnation of this host)
 * dead — and this host must still be in the lockspace and not failing to
 * renew. Thread-safe: sanlock calls and ls read only. */
static int held_by_this_host(const poolLockspace *ls, const poolLeaseRef *ref, const char *pool,
                             const char *vol, bool *held)
{
    *held = false;
    bool joined = false;
    unsigned id = 0;
    if (pool_lockspace_joined(ls, &joined, &id) < 0)
        return -1;
    if (!joined)
        return 0;
    poolLeaseStatus st;
    if (pool_lease_status(ls, ref, &st) < 0)
        return -1;
    *held = st.held && st.owner == id &&
            (st.owner_state == POOL_LEASE_HOST_LIVE || st.owner_state == POOL_LEASE_HOST_UNKNOWN);
    log_pool(POOL_LOG_DEBUG, pool,
             "volume %s: lease on disk %s (owner %u, generation %llu, %s), this host %u: %s", vol,
             st.held ? "held" : "free", st.owner, (unsigned long long)st.owner_generation,
             pool_lease_host_state_name(st.owner_state), id, *held ? "held here" : "not held here");
    return 0;
}

struct poolLeaseProbe {
    poolLockspace *ls;
    char *pool, *vol, *pv;
    char name[37];
    uint64_t offset;
};

poolLeaseProbe *pool_manager_lease_probe(poolManager *mgr, const poolVolDef *vol)
{
    poolEntry *e = pool_manager_find(mgr, vol->pool);
    if (!e)
        return NULL;
    if (e->def->locking != POOL_LOCKING_SANLOCK) {
        pool_error(POOL_ERR_INVALID_ARG, "pool %s has no sanlock locking", vol->pool);
        return NULL;
    }
    char label[128];
    poolLeaseRef ref;
    if (vol_ref(e, vol, label, sizeof(label), &ref) < 0)
        return NULL;
    POOL_AUTOPTR(poolLeaseProbe) p = pool_calloc(1, sizeof(*p));
    if (!p || !(p->ls = pool_lockspace_copy(e->ls)) || !(p->pool = pool_strdup(vol->pool)) ||
        !(p->vol = pool_strdup(vol->name)) || !(p->pv = pool_strdup(vol->lease_pv)))
        return NULL;
    memcpy(p->name, vol->uuid, sizeof(p->name));
    p->offset = vol->lease_offset;
    return pool_steal_ptr(&p);
}

int pool_lease_probe_held_here(poolLeaseProbe *p, bool *held)
{
    char label[128];
    snprintf(label, sizeof(label), "lease of volume %s", p->vol);
    poolLeaseRef ref = {.name = p->name, .pv = p->pv, .offset = p->offset, .label = label};
    return held_by_this_host(p->ls, &ref, p->pool, p->vol, held);
}

void pool_lease_probe_free(poolLeaseProbe *p)
{
    if (!p)
        return;
    pool_lockspace_free(p->ls);
    free(p->pool);
    free(p->vol);
    free(p->pv);
    free(p);
}

int pool_manager_lease_held_here(poolManager *mgr, const poolVolDef *vol, bool *held,
                                 bool *by_poold)
{
    *held = false;
    if (by_poold)
        *by_poold = false;
    poolEntry *e = pool_manager_find(mgr, vol->pool);
    if (!e)
        return -1;
    if (e->def->locking != POOL_LOCKING_SANLOCK) {
        *held = true;
        return 0;
    }
    if (!e->def->host_id)
        return 0;
    char label[128];
    poolLeaseRef ref;
    if (vol_ref(e, vol, label, sizeof(label), &ref) < 0)
        return -1;
    /* Leases this poold holds first: sanlock tells us exactly, without a
     * disk read, and hears at once when they go. */
    poolLeaseHolder *h = holder_if_any(mgr);
    if (h) {
        if (pool_lease_held(h, e->ls, &ref, held) < 0)
            return -1;
        if (*held) {
            if (by_poold)
                *by_poold = true;
            return 0;
        }
    }
    /* Then another process of this host (a VM's QEMU, registered by
     * libvirt's sanlock lock manager). */
    return held_by_this_host(e->ls, &ref, vol->pool, vol->name, held);
}
