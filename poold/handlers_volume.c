/*
 * handlers_volume.c: volume-* requests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "pool-error.h"
#include "pool-ops.h"
#include "poold.h"

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
    return def ? add_vol(reply, def) : -1;
}

static int vol_resize(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    uint64_t size;
    bool shrink;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 ||
        poold_param_size(req, "size", true, &size) < 0 ||
        pool_request_get_bool(req, "allow-shrink", false, &shrink) < 0)
        return -1;
    poolVolDef *def = pool_manager_vol_resize(d->mgr, pool, name, size, shrink);
    return def ? add_vol(reply, def) : -1;
}

static int vol_delete(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    return pool_manager_vol_delete(d->mgr, pool, name);
}

static int vol_info(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    poolVolDef *def = pool_manager_vol_info(d->mgr, pool, name);
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
        if (r == 0 && add_vol(reply, defs[i]) < 0)
            r = -1;
        else if (r < 0)
            pool_vol_def_free(defs[i]);
        defs[i] = NULL;
    }
    free(defs);
    return r;
}

static const char *const create_params[] = {"pool", "name", "size", NULL};
static const char *const resize_params[] = {"pool", "name", "size", "allow-shrink", NULL};
static const char *const vol_params[] = {"pool", "name", NULL};
static const char *const list_params[] = {"pool", NULL};

const poolDispatchEntry poold_volume_handlers[] = {
    {"volume-create", vol_create, create_params}, {"volume-resize", vol_resize, resize_params},
    {"volume-delete", vol_delete, vol_params},    {"volume-info", vol_info, vol_params},
    {"volume-list", vol_list, list_params},       {NULL, NULL, NULL},
};
