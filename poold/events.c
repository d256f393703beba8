/*
 * events.c: the change events (events.h) and their three subscribers,
 * which hold what each part of poold does when a pool or a volume changes.
 *
 * A subscriber handles every kind in a switch without a default, so a new
 * kind does not build (-Wswitch, -Werror) until each subscriber has said
 * what it does with it, if only nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>

#include "events.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"

/* How long pool destroy waits for libvirt to let go of its pool: libvirt
 * must not hold the pool's LUNs while the VG goes. */
#define UNPUBLISH_WAIT_MS 10000

/* Which volumes the operator unexported (LV tag pd_export:off), as volume
 * info and list report them. target_sync.c keeps it and reads the tags again
 * when a pool is added or synced; between those, this keeps it in step. */
static int export_state_cache(poolDaemon *d, poolEvent *ev)
{
    if (!d->ex)
        return 0;
    switch (ev->kind) {
    case POOLD_EV_VOLUME_DELETED: /* a new volume of this name starts exported */
    case POOLD_EV_VOLUME_EXPORTED:
        poold_export_vol_mark(d->ex, ev->pool, ev->volume, true);
        return 0;
    case POOLD_EV_VOLUME_UNEXPORTED:
        /* if the cache cannot say so, the LUN stays and the request fails */
        return poold_export_vol_mark(d->ex, ev->pool, ev->volume, false);
    case POOLD_EV_VOLUME_EXPORT_UNDONE:
        poold_export_vol_mark(d->ex, ev->pool, ev->volume, ev->exported);
        return 0;
    case POOLD_EV_POOL_ADDED:
    case POOLD_EV_POOL_DESTROYING:
    case POOLD_EV_POOL_DESTROYED:
    case POOLD_EV_POOL_DESTROY_FAILED:
    case POOLD_EV_POOL_CHANGED:
    case POOLD_EV_VOLUME_CREATED:
    case POOLD_EV_VOLUME_RESIZED:
    case POOLD_EV_VOLUME_DELETING:
    case POOLD_EV_VOLUME_DELETE_FAILED:
    case POOLD_EV_TARGET_AUTH_CHANGED:
        return 0;
    }
    return 0;
}

/* How long a forced delete waits for the sessions it ended to be gone. */
#define DROP_SESSIONS_WAIT_MS 5000

/* A volume is not deleted while sessions of this host's target use its LUN
 * (docs/design.md section 7, "Volume delete"): refused naming the
 * initiators, or with --force those sessions are ended first. */
static int lun_sessions(poolExport *ex, poolEvent *ev)
{
    POOL_AUTOSTRV names = poold_export_lun_initiators(ex, ev->pool, ev->vol->lun);
    if (!names)
        return -1;
    if (!names[0])
        return 0;
    char list[512] = "";
    for (size_t i = 0, len = 0; names[i] && len < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
    if (!ev->force) {
        pool_error(POOL_ERR_BUSY,
                   "volume %s is in use: LUN %d of this host's target has sessions of %s; log "
                   "them out first, or --force ends them",
                   ev->volume, ev->vol->lun, list);
        return -1;
    }
    size_t n = poold_export_lun_drop_sessions(ex, ev->pool, ev->vol->lun, DROP_SESSIONS_WAIT_MS);
    log_vol(POOL_LOG_WARN, ev->pool, ev->volume,
            "delete --force: ended %zu session(s) of %s on LUN %d", n, list, ev->vol->lun);
    return 0;
}

/* The embedded target: one target per pool, one LUN per exported volume
 * (target_sync.h). */
static int target(poolDaemon *d, poolEvent *ev)
{
    poolExport *ex = d->ex;
    const poolVolDef *vol = ev->vol;
    if (!ex)
        return 0;
    switch (ev->kind) {
    case POOLD_EV_POOL_ADDED:
        /* the pool exists either way: the request does not fail for it */
        if (poold_export_pool_add(ex, d->mgr, ev->pool) < 0)
            log_pool(POOL_LOG_ERROR, ev->pool, "not exported: %s", pool_error_last_message());
        return 0;
    case POOLD_EV_POOL_DESTROYING:
        poold_export_pool_remove(ex, ev->pool);
        return 0;
    case POOLD_EV_POOL_DESTROYED:
        /* a new pool of the same name must not inherit this one's ACL and
         * CHAP */
        if (poold_export_target_forget(ex, ev->pool) < 0)
            log_pool(POOL_LOG_ERROR, ev->pool, "%s", pool_error_last_message());
        return 0;
    case POOLD_EV_POOL_DESTROY_FAILED:
        poold_export_pool_add(ex, d->mgr, ev->pool);
        return 0;
    case POOLD_EV_POOL_CHANGED:
        if (poold_export_pool_sync(ex, d->mgr, ev->pool) < 0)
            log_pool(POOL_LOG_WARN, ev->pool, "cannot refresh the target: %s",
                     pool_error_last_message());
        return 0;
    case POOLD_EV_VOLUME_CREATED:
        /* never a volume the target cannot serve: refused, the handler
         * undoes the create */
        return poold_export_vol_add(ex, vol);
    case POOLD_EV_VOLUME_RESIZED:
        if (poold_export_vol_exported(ex, ev->pool, vol->lun) &&
            poold_export_vol_resize(ex, vol) < 0) {
            pool_error_prefix("volume %s was resized but its LUN keeps the old size", ev->volume);
            return -1;
        }
        return 0;
    case POOLD_EV_VOLUME_DELETING:
        /* never a LUN taken from under a connected initiator that uses it */
        if (poold_export_vol_exported(ex, ev->pool, vol->lun) && lun_sessions(ex, ev) < 0)
            return -1;
        /* initiators lose the LUN before its extents can be reused */
        ev->lun_removed = poold_export_vol_exported(ex, ev->pool, vol->lun);
        if (ev->lun_removed)
            poold_export_vol_remove(ex, ev->pool, vol->lun);
        return 0;
    case POOLD_EV_VOLUME_DELETE_FAILED:
        if (ev->lun_removed && poold_export_vol_add(ex, vol) < 0)
            log_vol(POOL_LOG_ERROR, ev->pool, ev->volume, "delete failed and re-export failed: %s",
                    pool_error_last_message());
        return 0;
    case POOLD_EV_VOLUME_EXPORTED:
        if (poold_export_vol_exported(ex, ev->pool, vol->lun)) {
            /* the mode may have changed */
            poold_export_vol_access(ex, vol);
            return 0;
        }
        return poold_export_vol_add(ex, vol);
    case POOLD_EV_VOLUME_UNEXPORTED:
        /* in-flight commands keep their reference; new ones see no LUN */
        if (poold_export_vol_exported(ex, ev->pool, vol->lun))
            poold_export_vol_remove(ex, ev->pool, vol->lun);
        return 0;
    case POOLD_EV_VOLUME_DELETED:
    case POOLD_EV_VOLUME_EXPORT_UNDONE:
    case POOLD_EV_TARGET_AUTH_CHANGED: /* poold_export_target_update did it */
        return 0;
    }
    return 0;
}

/* libvirt's storage pools (libvirt_pool.h): queued for its worker, so
 * nothing here waits for libvirtd but pool destroy, and nothing fails. */
static int libvirt(poolDaemon *d, poolEvent *ev)
{
    switch (ev->kind) {
    case POOLD_EV_POOL_ADDED:
    case POOLD_EV_POOL_DESTROY_FAILED:
        poold_libvirt_publish(d->lv, d->mgr, d->ex, ev->pool);
        return 0;
    case POOLD_EV_TARGET_AUTH_CHANGED:
        /* the definition's <auth> and the libvirt secret follow the
         * target's CHAP (libvirt_pool.c); VMs get it at their start */
        if (poold_libvirt_uses_target(d->lv))
            poold_libvirt_publish(d->lv, d->mgr, d->ex, ev->pool);
        return 0;
    case POOLD_EV_POOL_DESTROYING:
        /* while the VG and the target are still there (libvirt_pool.c) */
        poold_libvirt_unpublish_wait(d->lv, ev->pool, UNPUBLISH_WAIT_MS);
        return 0;
    case POOLD_EV_POOL_CHANGED:
    case POOLD_EV_VOLUME_CREATED:
    case POOLD_EV_VOLUME_RESIZED:
    case POOLD_EV_VOLUME_DELETED:
    case POOLD_EV_VOLUME_EXPORTED:
    case POOLD_EV_VOLUME_UNEXPORTED:
        poold_libvirt_refresh(d->lv, ev->pool);
        return 0;
    case POOLD_EV_POOL_DESTROYED:
    case POOLD_EV_VOLUME_DELETING:
    case POOLD_EV_VOLUME_DELETE_FAILED:
    case POOLD_EV_VOLUME_EXPORT_UNDONE:
        return 0;
    }
    return 0;
}

/* In the order the layers stand on each other (events.h). */
static int (*const subscribers[])(poolDaemon *d, poolEvent *ev) = {
    export_state_cache,
    target,
    libvirt,
};

static bool is_before(poolEventKind kind)
{
    return kind == POOLD_EV_POOL_DESTROYING || kind == POOLD_EV_VOLUME_DELETING;
}

int poold_emit(poolDaemon *d, poolEvent *ev)
{
    const size_t n = sizeof(subscribers) / sizeof(subscribers[0]);
    bool up = is_before(ev->kind);
    int r = 0;
    /* one event at a time, whichever thread emits it (request workers, the
     * refresh thread): every subscriber sees them in one order. The
     * libvirt subscriber only queues (libvirt_pool.c), so a hung libvirtd
     * never holds this lock. */
    pthread_mutex_lock(&d->events_lock);
    for (size_t i = 0; i < n && r == 0; i++)
        if (subscribers[up ? n - 1 - i : i](d, ev) < 0)
            r = -1;
    pthread_mutex_unlock(&d->events_lock);
    return r;
}
