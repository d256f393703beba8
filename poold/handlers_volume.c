/*
 * handlers_volume.c: volume-* requests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "events.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-ops.h"
#include "poold.h"

/* The export state this host serves the volume with (volume export |
 * unexport), when its pool's target is set up here. */
static void set_export_state(poolDaemon *d, poolVolDef *def)
{
    if (def && d->ex && poold_export_has_pool(d->ex, def->pool))
        def->export_state = poold_export_vol_unexported(d->ex, def->pool, def->name)
                                ? POOL_VOL_EXPORT_OFF
                                : POOL_VOL_EXPORT_ON;
}

static int add_vol(xmlNodePtr reply, poolVolDef *def)
{
    xmlNodePtr node = pool_vol_def_format_node(def);
    pool_vol_def_free(def);
    if (!node)
        return -1;
    xmlAddChild(reply, node);
    return 0;
}

static int vol_create(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    uint64_t size;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 ||
        poold_param_size(req, "size", true, &size) < 0)
        return -1;
    poolVolDef *def = pool_manager_vol_create(d->mgr, pool, name, size);
    if (!def)
        return -1;
    /* Never leave a volume behind that the target cannot serve: if its
     * blocks cannot be opened, undo the create and say why. */
    poolEvent ev = {.kind = POOLD_EV_VOLUME_CREATED, .pool = pool, .volume = name, .vol = def};
    if (poold_emit(d, &ev) < 0) {
        poolError *err = pool_error_save();
        if (pool_manager_vol_delete(d->mgr, pool, name) < 0)
            log_vol(POOL_LOG_ERROR, pool, name, "cannot undo the create: %s",
                    pool_error_last_message());
        pool_error_restore(err);
        pool_vol_def_free(def);
        return -1;
    }
    return add_vol(reply, def);
}

static int vol_resize(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    uint64_t size;
    bool shrink, force;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 ||
        poold_param_size(req, "size", true, &size) < 0 ||
        pool_request_get_bool(req, "allow-shrink", false, &shrink) < 0 ||
        pool_request_get_bool(req, "force", false, &force) < 0)
        return -1;
    /* A shrink zeroes and frees the tail: this host's LUN stops reaching
     * it first (docs/design.md section 7, "Freed extents"), and gets its
     * size back if the shrink fails. */
    uint64_t cut_from = 0;
    int lun = -1;
    if (shrink) {
        POOL_AUTOPTR(poolVolDef) cur = pool_manager_vol_info(d->mgr, pool, name);
        if (cur && size < cur->capacity) {
            lun = cur->lun;
            cut_from = poold_export_lun_cut(d->ex, pool, lun, size);
        }
        pool_error_reset();
    }
    poolVolDef *def = pool_manager_vol_resize(d->mgr, pool, name, size, shrink, force);
    if (!def) {
        if (cut_from) {
            /* only if the volume still has its old size: a shrink that
             * failed after its lvresize keeps the cut */
            poolError *err = pool_error_save();
            POOL_AUTOPTR(poolVolDef) now = pool_manager_vol_info(d->mgr, pool, name);
            if (now)
                poold_export_lun_uncut(d->ex, pool, lun, cut_from, now->capacity);
            pool_error_restore(err);
        }
        return -1;
    }
    poolEvent ev = {.kind = POOLD_EV_VOLUME_RESIZED, .pool = pool, .volume = name, .vol = def};
    if (poold_emit(d, &ev) < 0) {
        pool_vol_def_free(def);
        return -1;
    }
    return add_vol(reply, def);
}

static int vol_delete(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    bool force;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 ||
        pool_request_get_bool(req, "force", false, &force) < 0)
        return -1;
    /* Take the LUN away from initiators before its extents can be reused;
     * if the delete fails, it comes back. So do its snapshots' LUNs: the
     * delete removes them too. */
    poolVolDef *def = pool_manager_vol_info(d->mgr, pool, name);
    if (!def)
        return -1;
    int layer_luns = 0;
    if (poold_snapshot_luns_take(d, pool, name, &layer_luns) < 0) {
        poolError *err = pool_error_save();
        if (layer_luns)
            poold_emit(d, &(poolEvent){.kind = POOLD_EV_POOL_CHANGED, .pool = pool});
        pool_error_restore(err);
        pool_vol_def_free(def);
        return -1;
    }
    poolEvent ev = {
        .kind = POOLD_EV_VOLUME_DELETING, .pool = pool, .volume = name, .vol = def, .force = force};
    int r = poold_emit(d, &ev);
    if (r == 0)
        r = pool_manager_vol_delete(d->mgr, pool, name);
    if (r == 0) {
        ev.kind = POOLD_EV_VOLUME_DELETED;
        poold_emit(d, &ev);
    } else {
        poolError *err = pool_error_save();
        ev.kind = POOLD_EV_VOLUME_DELETE_FAILED;
        poold_emit(d, &ev);
        if (layer_luns) /* the snapshots' LUNs come back */
            poold_emit(d, &(poolEvent){.kind = POOLD_EV_POOL_CHANGED, .pool = pool});
        pool_error_restore(err);
    }
    pool_vol_def_free(def);
    return r;
}

static int vol_info(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    poolVolDef *def = pool_manager_vol_info(d->mgr, pool, name);
    set_export_state(d, def);
    return def ? add_vol(reply, def) : -1;
}

static int vol_list(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    if (poold_param_required(req, "pool", &pool) < 0)
        return -1;
    poolVolDef **defs = NULL;
    size_t n = 0;
    if (pool_manager_vol_list(d->mgr, pool, &defs, &n) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        set_export_state(d, defs[i]);
        if (r == 0 && add_vol(reply, defs[i]) < 0)
            r = -1;
        else if (r < 0)
            pool_vol_def_free(defs[i]);
        defs[i] = NULL;
    }
    free(defs);
    return r;
}

const poolDispatchEntry poold_volume_handlers[] = {
    {"volume-create", vol_create}, {"volume-resize", vol_resize}, {"volume-delete", vol_delete},
    {"volume-info", vol_info},     {"volume-list", vol_list},     {NULL, NULL},
};
