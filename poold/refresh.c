/*
 * refresh.c: notice VG changes made by other hosts and bring this host's
 * target in step (issue: "other hosts notice the change and refresh what
 * they cache"). Volume lists and info are read from LVM on every request,
 * so what follows the change is the target's LUN inventory and libvirt's
 * pool (a POOL_CHANGED event, events.h).
 *
 * Runs on the main loop between requests, at most every
 * refresh_interval_ms: one O_DIRECT sector read per pool
 * (pool_manager_pool_changed), and a volume list only when a pool changed.
 * Only pools with sanlock locking are watched: a pool without locking has
 * one host, whose own requests already update the target. Each check that
 * finds the target in step renews its LUNs' segment maps for
 * map_max_age_ms (docs/design.md section 7, "Freed extents").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <time.h>

#include "events.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "poold.h"

int poold_refresh_timeout_ms(const poolDaemon *d)
{
    unsigned iv = d->cfg->refresh_interval_ms;
    if (iv == 0 || !d->ex)
        return 1000;
    uint64_t now = pool_monotonic_ms();
    if (d->refresh_next <= now)
        return 0;
    uint64_t left = d->refresh_next - now;
    return left > 1000 ? 1000 : (int)left;
}

static bool in_tick; /* the main thread's; the idle hook must not nest */

void poold_refresh_idle(void *ctx)
{
    /* inside a request: keep whatever error state it has */
    poolError *err = pool_error_save();
    poold_refresh_tick(ctx);
    pool_error_restore(err);
}

void poold_refresh_tick(poolDaemon *d)
{
    unsigned iv = d->cfg->refresh_interval_ms;
    if (iv == 0 || !d->ex || in_tick)
        return;
    uint64_t now = pool_monotonic_ms();
    if (now < d->refresh_next)
        return;
    d->refresh_next = now + iv;
    in_tick = true;
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
    in_tick = false;
    pool_error_reset();
}
