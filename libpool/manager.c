/*
 * manager.c: the poolManager itself: the pools this host knows (loaded from
 * its pool records at start), their entries, and the snapshot of what LVM
 * says about one pool. The bottom layer of the pool operations: everything
 * above it (cluster.c, volume_ops.c, pool_ops.c, vm_ops.c, reconcile.c)
 * finds a pool and reads its VG through here, and nothing here calls up.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-lease.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool_store.h"

POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolLvm, pool_lvm_free)

void pool_entry_free(poolEntry *e)
{
    if (!e)
        return;
    pool_pool_def_free(e->def);
    pool_lvm_free(e->lvm);
    pool_lvm_pvs_free(e->pv_cache, e->npv_cache);
    pool_entry_drop_lockspace(e);
    pool_strv_free(e->claimed);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

int pool_entry_claim_lv(poolEntry *e, const char *lv)
{
    pthread_mutex_lock(&e->mu);
    size_t n = 0;
    while (e->claimed && e->claimed[n])
        n++;
    char **v = realloc(e->claimed, (n + 2) * sizeof(*v));
    int r = -1;
    if (v) {
        e->claimed = v;
        if ((v[n] = strdup(lv))) {
            v[n + 1] = NULL;
            r = 0;
        } else {
            v[n] = NULL;
        }
    }
    pthread_mutex_unlock(&e->mu);
    return r < 0 ? pool_error_oom() : 0;
}

void pool_entry_release_lv(poolEntry *e, const char *lv)
{
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; e->claimed && e->claimed[i]; i++)
        if (strcmp(e->claimed[i], lv) == 0) {
            free(e->claimed[i]);
            do
                e->claimed[i] = e->claimed[i + 1];
            while (e->claimed[i++]);
            break;
        }
    pthread_mutex_unlock(&e->mu);
}

bool pool_entry_lv_claimed(poolEntry *e, const char *lv)
{
    bool found = false;
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; e->claimed && e->claimed[i] && !found; i++)
        found = strcmp(e->claimed[i], lv) == 0;
    pthread_mutex_unlock(&e->mu);
    return found;
}

void pool_pool_defs_free(poolPoolDef **defs, size_t n)
{
    if (!defs)
        return;
    for (size_t i = 0; i < n; i++)
        pool_pool_def_free(defs[i]);
    free(defs);
}

void pool_vol_defs_free(poolVolDef **defs, size_t n)
{
    if (!defs)
        return;
    for (size_t i = 0; i < n; i++)
        pool_vol_def_free(defs[i]);
    free(defs);
}

poolLvm *pool_manager_lvm_new(poolManager *mgr, char *const *devices)
{
    poolLvm *lvm = pool_lvm_new(mgr->cfg->lvm_binary, devices, mgr->activation);
    if (lvm && mgr->cfg->lvm_timeout)
        pool_lvm_set_timeout(lvm, (int)mgr->cfg->lvm_timeout * 1000);
    if (lvm && mgr->lvm_system_dir && pool_lvm_set_system_dir(lvm, mgr->lvm_system_dir) < 0) {
        pool_lvm_free(lvm);
        return NULL;
    }
    return lvm;
}

/* Write <state_dir>/lvm/lvm.conf once per start (lvm_run.c says why: it
 * takes ~40 ms off every lvm command). Any failure only costs speed: warn
 * and keep running lvm with the host's configuration. */
static void manager_prepare_lvm_dir(poolManager *mgr)
{
    char *state = realpath(mgr->cfg->state_dir, NULL);
    POOL_AUTOFREE(char *) dir = state ? pool_asprintf("%s/lvm", state) : NULL;
    POOL_AUTOPTR(poolLvm) probe = pool_manager_lvm_new(mgr, NULL);

    free(state);
    if (dir && probe && pool_lvm_system_dir_prepare(probe, dir, mgr->cfg->lvm_locking_dir) == 0) {
        mgr->lvm_system_dir = pool_steal_ptr(&dir);
        log_debug("lvm: running with LVM_SYSTEM_DIR=%s (use_aio=0)", mgr->lvm_system_dir);
        return;
    }
    log_warn("cannot set up a private lvm configuration under %s/lvm (%s); "
             "running lvm with the host's, which costs ~40 ms more per lvm command",
             mgr->cfg->state_dir, pool_error_last_message());
    pool_error_reset();
}

poolEntry *pool_entry_new(poolManager *mgr, poolPoolDef *def)
{
    poolEntry *e = pool_calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->lvm = pool_manager_lvm_new(mgr, def->devices);
    if (!e->lvm) {
        free(e);
        return NULL;
    }
    e->def = def;
    pthread_mutex_init(&e->mu, NULL);
    e->mgr = mgr;
    return e;
}

void pool_manager_set_idle_hook(poolManager *mgr, void (*fn)(void *ctx), void *ctx)
{
    mgr->idle = fn;
    mgr->idle_ctx = ctx;
}

int pool_manager_add_entry(poolManager *mgr, poolEntry *e)
{
    if (pool_realloc_n(&mgr->pools, mgr->npools + 1, sizeof(*mgr->pools)) < 0)
        return -1;
    mgr->pools[mgr->npools++] = e;
    return 0;
}

void pool_manager_drop_entry(poolManager *mgr, poolEntry *e)
{
    for (size_t i = 0; i < mgr->npools; i++) {
        if (mgr->pools[i] == e) {
            memmove(&mgr->pools[i], &mgr->pools[i + 1],
                    (mgr->npools - i - 1) * sizeof(*mgr->pools));
            mgr->npools--;
            break;
        }
    }
    pool_entry_free(e);
}

poolManager *pool_manager_new(const poolConfig *cfg)
{
    poolManager *mgr = pool_calloc(1, sizeof(*mgr));
    if (!mgr)
        return NULL;
    mgr->cfg = cfg;
    if (cfg->sanlock_timeout)
        pool_lease_set_call_timeout(cfg->sanlock_timeout);
    pthread_mutex_init(&mgr->holder_mu, NULL);
    switch (cfg->activation) {
    case POOL_ACTIVATION_ON:
        mgr->activation = true;
        break;
    case POOL_ACTIVATION_OFF:
        mgr->activation = false;
        break;
    default:
        mgr->activation = pool_lvm_host_has_dm();
        break;
    }
    if (pool_store_init(cfg->state_dir, &mgr->pools_dir) < 0)
        goto fail;
    manager_prepare_lvm_dir(mgr);
    poolPoolDef **defs = NULL;
    size_t n = 0, bad = 0;
    if (pool_store_load_all(mgr->pools_dir, &defs, &n, &bad) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        poolEntry *e = pool_entry_new(mgr, defs[i]);
        if (!e || pool_manager_add_entry(mgr, e) < 0) {
            pool_entry_free(e);
            for (size_t j = i + (e ? 1 : 0); j < n; j++)
                pool_pool_def_free(defs[j]);
            free(defs);
            goto fail;
        }
        defs[i] = NULL;
    }
    free(defs);
    log_info("%zu pool(s) known, activation %s", mgr->npools, mgr->activation ? "on" : "off");
    return mgr;
fail:
    pool_manager_free(mgr);
    return NULL;
}

void pool_manager_free(poolManager *mgr)
{
    if (!mgr)
        return;
    for (size_t i = 0; i < mgr->npools; i++)
        pool_entry_free(mgr->pools[i]);
    free(mgr->pools);
    pool_lease_holder_free(mgr->holder);
    for (size_t i = 0; i < mgr->nretired; i++)
        pool_lease_holder_free(mgr->retired[i]);
    free(mgr->retired);
    pthread_mutex_destroy(&mgr->holder_mu);
    free(mgr->pools_dir);
    free(mgr->lvm_system_dir);
    free(mgr);
}

poolEntry *pool_manager_find(poolManager *mgr, const char *name)
{
    for (size_t i = 0; i < mgr->npools; i++)
        if (strcmp(mgr->pools[i]->def->name, name) == 0)
            return mgr->pools[i];
    if (pool_name_validate(POOL_NAME_POOL, name) < 0)
        return NULL;
    pool_error(POOL_ERR_NO_POOL, "no pool named '%s' on this host", name);
    return NULL;
}

bool pool_manager_find_exists(poolManager *mgr, const char *name)
{
    for (size_t i = 0; i < mgr->npools; i++)
        if (strcmp(mgr->pools[i]->def->name, name) == 0)
            return true;
    return false;
}

void pool_snapshot_clear(poolSnapshot *snap)
{
    if (snap->vg)
        pool_lvm_vgs_free(snap->vg, 1);
    pool_lvm_lvs_free(snap->lvs, snap->nlvs);
    pool_lvm_pvs_free(snap->pvs, snap->npvs);
    memset(snap, 0, sizeof(*snap));
}

/* Does the PV cache cover this VG and every PV its segments name? */
static bool pv_cache_covers(const poolEntry *e, const poolLvmVG *vg, const poolLvmLV *lvs,
                            size_t nlvs)
{
    size_t in_vg = 0;
    for (size_t i = 0; i < e->npv_cache; i++)
        if (strcmp(e->pv_cache[i].vg_name, vg->name) == 0)
            in_vg++;
    if (e->npv_cache == 0 || in_vg != vg->pv_count)
        return false;
    for (size_t i = 0; i < nlvs; i++) {
        for (size_t j = 0; j < lvs[i].nsegments; j++) {
            bool known = false;
            for (size_t k = 0; k < e->npv_cache && !known; k++)
                known = strcmp(e->pv_cache[k].name, lvs[i].segments[j].pv) == 0;
            if (!known)
                return false;
        }
    }
    return true;
}

/* A copy of the cached PVs for the snapshot (which owns and frees its own). */
static int pv_cache_copy(const poolEntry *e, poolLvmPV **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (e->npv_cache == 0)
        return 0;
    poolLvmPV *pvs = pool_calloc(e->npv_cache, sizeof(*pvs));
    if (!pvs)
        return -1;
    for (size_t i = 0; i < e->npv_cache; i++) {
        pvs[i] = e->pv_cache[i];
        pvs[i].name = pool_strdup(e->pv_cache[i].name);
        pvs[i].uuid = pool_strdup(e->pv_cache[i].uuid);
        pvs[i].vg_name = pool_strdup(e->pv_cache[i].vg_name);
        if (!pvs[i].name || !pvs[i].uuid || !pvs[i].vg_name) {
            pool_lvm_pvs_free(pvs, i + 1);
            return -1;
        }
    }
    *out = pvs;
    *n = e->npv_cache;
    return 0;
}

/* One `lvs` with the VG fields replaces vgs + lvs, and pvs runs only when
 * the PV cache does not cover the VG: each lvm process costs far more than
 * its report, so a volume request is now 1 lvm command of reading instead
 * of 3. The VG is still read fresh every time: LVM metadata stays the
 * single source of truth. */
int pool_snapshot_load(poolEntry *e, poolSnapshot *snap)
{
    memset(snap, 0, sizeof(*snap));
    if (pool_lvm_report_lvs_vg(e->lvm, e->def->name, &snap->vg, &snap->lvs, &snap->nlvs) < 0) {
        pool_snapshot_clear(snap);
        return -1;
    }
    const char *uuid = pool_lvm_tag_get(snap->vg->tags, POOL_TAG_UUID);
    if (!uuid || strcmp(uuid, e->def->uuid) != 0) {
        pool_error(POOL_ERR_LVM,
                   "volume group %s does not carry pool %s's identity (uuid tag %s, expected %s)",
                   e->def->name, e->def->name, uuid ? uuid : "missing", e->def->uuid);
        pool_snapshot_clear(snap);
        return -1;
    }
    /* e->mu is not held across pvs: two requests may both run it, and the
     * second one's (as fresh) replaces the first's */
    pthread_mutex_lock(&e->mu);
    bool covered = pv_cache_covers(e, snap->vg, snap->lvs, snap->nlvs);
    pthread_mutex_unlock(&e->mu);
    if (!covered) {
        poolLvmPV *pvs = NULL;
        size_t npvs = 0;
        if (pool_lvm_report_pvs(e->lvm, &pvs, &npvs) < 0) {
            pool_snapshot_clear(snap);
            return -1;
        }
        pthread_mutex_lock(&e->mu);
        pool_lvm_pvs_free(e->pv_cache, e->npv_cache);
        e->pv_cache = pvs;
        e->npv_cache = npvs;
        pthread_mutex_unlock(&e->mu);
    }
    pthread_mutex_lock(&e->mu);
    int r = pv_cache_copy(e, &snap->pvs, &snap->npvs);
    pthread_mutex_unlock(&e->mu);
    if (r < 0) {
        pool_snapshot_clear(snap);
        return -1;
    }
    return 0;
}

const poolLvmLV *pool_snapshot_find_lv(const poolSnapshot *snap, const char *name)
{
    for (size_t i = 0; i < snap->nlvs; i++)
        if (strcmp(snap->lvs[i].name, name) == 0)
            return &snap->lvs[i];
    return NULL;
}

/* The sanlock state an entry or the manager caches (cluster.c fills it in
 * on first use); freed here so that freeing needs nothing above this file. */
void pool_entry_drop_lockspace(poolEntry *e)
{
    pool_lockspace_free(e->ls);
    e->ls = NULL;
    free(e->meta_pv);
    e->meta_pv = NULL;
}

void pool_manager_drop_holder(poolManager *mgr)
{
    pthread_mutex_lock(&mgr->holder_mu);
    if (mgr->holder &&
        pool_realloc_n(&mgr->retired, mgr->nretired + 1, sizeof(*mgr->retired)) == 0) {
        mgr->retired[mgr->nretired++] = mgr->holder;
        mgr->holder = NULL;
    } else if (mgr->holder) {
        /* out of memory: keep it (dead, but never freed under a user) */
        pool_error_reset();
    }
    pthread_mutex_unlock(&mgr->holder_mu);
}
