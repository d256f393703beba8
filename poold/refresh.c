/*
 * refresh.c: notice VG changes made by other hosts and bring this host's
 * target in step (issue: "other hosts notice the change and refresh what
 * they cache"). Volume lists and info are read from LVM on every request,
 * so what follows the change is the target's LUN inventory and libvirt's
 * pool (a POOL_CHANGED event, events.h).
 *
 * Runs on a thread of its own, every refresh_interval_ms, holding the set
 * of pools shared (pools_lock, docs/design.md "Concurrency") like a read
 * request, so it never waits behind a lease wait and requests never wait
 * behind it: one O_DIRECT sector read per pool
 * (pool_manager_pool_changed), and a volume list only when a pool changed.
 * Only pools with sanlock locking are watched: a pool without locking has
 * one host, whose own requests already update the target. Each check that
 * finds the target in step renews its LUNs' segment maps for
 * map_max_age_ms (docs/design.md section 7, "Freed extents").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "events.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "poold.h"

static void refresh_once(poolDaemon *d)
{
    pthread_rwlock_rdlock(&d->pools_lock);
    /* a lease poold lost (its sanlock connection dropped) must stop the
     * LUN's writes even when no VG changed */
    poold_export_recheck_leases(d->ex);
    POOL_AUTOSTRV names = pool_manager_pool_names(d->mgr);
    for (size_t i = 0; names && names[i]; i++) {
        int locking;
        unsigned host_id;
        bool changed = false;
        if (pool_manager_pool_locking(d->mgr, names[i], &locking, &host_id) < 0 ||
            locking != POOL_LOCKING_SANLOCK)
            continue;
        int64_t checked = poold_export_map_clock_ms();
        if (pool_manager_pool_changed(d->mgr, names[i], &changed) < 0) {
            /* the LUNs' maps are not renewed: they go NOT READY once
             * map_max_age_ms has passed (docs/design.md section 7) */
            log_pool(POOL_LOG_WARN, names[i], "cannot check for changes: %s",
                     pool_error_last_message());
            continue;
        }
        /* unchanged: the maps stay good (a sync that failed is retried
         * as if the pool had changed) */
        if (!changed && poold_export_map_checked(d->ex, names[i], checked))
            continue;
        log_pool(POOL_LOG_DEBUG, names[i], "volume group changed; refreshing the target");
        poold_emit(d, &(poolEvent){.kind = POOLD_EV_POOL_CHANGED, .pool = names[i]});
    }
    pthread_rwlock_unlock(&d->pools_lock);
    pool_error_reset();
}

static void *refresh_run(void *arg)
{
    poolDaemon *d = arg;
    unsigned iv = d->cfg->refresh_interval_ms;
    pthread_mutex_lock(&d->refresh_lock);
    while (!d->refresh_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += iv / 1000;
        until.tv_nsec += (long)(iv % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!d->refresh_stop &&
               pthread_cond_timedwait(&d->refresh_cond, &d->refresh_lock, &until) != ETIMEDOUT)
            ;
        if (d->refresh_stop)
            break;
        pthread_mutex_unlock(&d->refresh_lock);
        refresh_once(d);
        pthread_mutex_lock(&d->refresh_lock);
    }
    pthread_mutex_unlock(&d->refresh_lock);
    return NULL;
}

int poold_refresh_start(poolDaemon *d)
{
    if (d->cfg->refresh_interval_ms == 0 || !d->ex)
        return 0;
    d->refresh_stop = false;
    int e = pthread_create(&d->refresh_thread, NULL, refresh_run, d);
    if (e != 0) {
        pool_error_errno(e, "cannot start the refresh thread");
        return -1;
    }
    d->refresh_running = true;
    return 0;
}

void poold_refresh_stop(poolDaemon *d)
{
    if (!d->refresh_running)
        return;
    pthread_mutex_lock(&d->refresh_lock);
    d->refresh_stop = true;
    pthread_cond_broadcast(&d->refresh_cond);
    pthread_mutex_unlock(&d->refresh_lock);
    /* a refresh under way ends within the lvm and sanlock timeouts */
    pthread_join(d->refresh_thread, NULL);
    d->refresh_running = false;
}
