/*
 * events.h: one change, one fan-out. When a pool or a volume changes, three
 * parts of poold must follow: the cached export state (volume export |
 * unexport), the embedded target's LUNs (target_sync.c) and libvirt's storage
 * pools (libvirt_pool.c). Each of them is a subscriber here and gets every
 * event, so an operation that reports its change cannot forget one of them.
 *
 * The rule: a handler (or refresh.c) that changes a pool or a volume emits
 * an event; it never calls the target, libvirt or a cache itself. Direct
 * calls stay for what is not such a change: queries (poold_export_has_pool,
 * poold_export_vol_exported, poold_export_target_get, ...), the target's
 * own record (poold_export_target_update: that is the change; a CHAP
 * change then emits POOLD_EV_TARGET_AUTH_CHANGED for the initiators poold
 * sets up in libvirt), the write permission that follows a lease
 * (poold_export_vol_access, _protect, _fence, _recheck_leases), and
 * startup and shutdown (main.c builds and ends everything at once).
 *
 * Phases. A "before" event (..._DESTROYING, ..._DELETING) is emitted before
 * the LVM step, while the VG and the LV still exist, and a subscriber may
 * refuse it (none does today; the handler then skips the LVM step and
 * fails); the other events report a change made. A change that failed
 * after its before event gets its own event (..._FAILED), so the
 * subscribers put back what they let go.
 *
 * Order. The subscribers are kept in the order the layers stand on each
 * other: the export state cache, the target, libvirt (libvirt's pool
 * reaches the volumes through the target). A change made goes down that
 * list; a before event goes up it, so a layer lets go before the one under
 * it. The first subscriber that fails stops the event: later ones do not
 * see it, and poold_emit returns -1 with its error.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_EVENTS_H
#define POOLD_EVENTS_H

#include <stdbool.h>

#include "pool-xml.h"
#include "poold.h"

typedef enum {
    /* pool create or import on this host */
    POOLD_EV_POOL_ADDED,
    /* before: pool destroy, while its VG and target still exist */
    POOLD_EV_POOL_DESTROYING,
    POOLD_EV_POOL_DESTROYED,
    /* the destroy failed and the pool is still there */
    POOLD_EV_POOL_DESTROY_FAILED,
    /* another host changed the pool's VG (refresh.c) */
    POOLD_EV_POOL_CHANGED,
    /* may be refused: the target cannot serve the new volume */
    POOLD_EV_VOLUME_CREATED,
    /* may be refused: the LUN keeps the old size */
    POOLD_EV_VOLUME_RESIZED,
    /* before: volume delete, while its extents cannot be reused yet */
    POOLD_EV_VOLUME_DELETING,
    POOLD_EV_VOLUME_DELETED,
    /* the delete failed: the volume is still there */
    POOLD_EV_VOLUME_DELETE_FAILED,
    /* the LV tag says exported (vol->export_mode); may be refused */
    POOLD_EV_VOLUME_EXPORTED,
    /* the LV tag says unexported; may be refused */
    POOLD_EV_VOLUME_UNEXPORTED,
    /* an export was refused and the LV tag is back to `exported` */
    POOLD_EV_VOLUME_EXPORT_UNDONE,
    /* the pool's target CHAP settings changed (target chap set | clear),
     * already in force in the target: the initiators poold configures
     * (libvirt's iscsi-direct pool) follow */
    POOLD_EV_TARGET_AUTH_CHANGED,
} poolEventKind;

typedef struct {
    poolEventKind kind;
    const char *pool;
    /* volume events: the name the request gave, and the volume as LVM
     * reports it now (LUN, capacity, lease, export mode) */
    const char *volume;
    const poolVolDef *vol;
    /* VOLUME_EXPORT_UNDONE: the export state the tag is back to */
    bool exported;
    /* VOLUME_DELETING: end the sessions using its LUN instead of refusing */
    bool force;
    /* Set by a subscriber during a before event, for the events that
     * follow it (the same struct is emitted again with a new kind). */
    bool lun_removed;
} poolEvent;

/* Give the event to every subscriber, in the order above. 0, or -1 with
 * the error of the subscriber that refused it. */
int poold_emit(poolDaemon *d, poolEvent *ev);

#endif
