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
 * one host, whose own requests already update the target.
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

void poold_refresh_tick(poolDaemon *d)
{
    unsigned iv = d->cfg->refresh_interval_ms;
    if (iv == 0 || !d->ex)
        return;
    uint64_t now = pool_monotonic_ms();
    if (now < d->refresh_next)
        return;
    d->refresh_next = now + iv;
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
        if (pool_manager_pool_changed(d->mgr, names[i], &changed) < 0) {
            log_pool(POOL_LOG_WARN, names[i], "cannot check for changes: %s",
                     pool_error_last_message());
            continue;
        }
        if (!changed)
            continue;
        log_pool(POOL_LOG_DEBUG, names[i], "volume group changed; refreshing the target");
        poold_emit(d, &(poolEvent){.kind = POOLD_EV_POOL_CHANGED, .pool = names[i]});
    }
    pool_error_reset();
}
