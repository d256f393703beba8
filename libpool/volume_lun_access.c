/*
 * volume_lun_access.c: a volume's LUN access — whether it is offered to
 * initiators as a LUN of its pool's iSCSI target, and in which write mode
 * (rw, ro, shared) — `poolctl volume export|unexport`. "Export" in those
 * commands and in pool_manager_vol_export_* means exactly this.
 *
 * The state lives in LVM, like every other volume attribute (pool-ops.h):
 * an LV tag `pd_export:off` on a volume taken away from initiators,
 * `pd_export:ro` / `pd_export:shared` for the other write modes, no tag
 * for one exported rw. Absent = exported, so every volume made before this
 * existed, and every new one, is exported, and the tag survives restarts
 * and is seen by every host of the pool. One lvchange per change, a single
 * step: there is nothing for reconcile to finish after a crash (the tag is
 * either there or not).
 *
 * Kept apart from volume_ops.c (which owns create/resize/delete) and built
 * only on the public LVM driver and the manager's pool lookup.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "cluster.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-lvm.h"
#include "pool-ops.h"
#include "pool-util.h"

#define TAG_KEY "pd_export"
#define TAG_OFF TAG_KEY ":off"

static bool lv_is_unexported(const poolLvmLV *lv)
{
    const char *v = pool_lvm_tag_get(lv->tags, TAG_KEY);
    return v && strcmp(v, "off") == 0;
}

int pool_manager_vol_export_get(poolManager *mgr, const char *pool, const char *name,
                                bool *exported)
{
    if (pool_name_validate(POOL_NAME_VOLUME, name) < 0)
        return -1;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    /* the whole VG's report (one lvs): export changes are rare, and this
     * needs only the LV driver's long-standing interface */
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    if (pool_lvm_report_lvs(e->lvm, pool, &lvs, &n) < 0)
        return -1;
    size_t i = 0;
    while (i < n && strcmp(lvs[i].name, name) != 0)
        i++;
    if (i == n) {
        pool_lvm_lvs_free(lvs, n);
        pool_error(POOL_ERR_NO_VOLUME, "no volume '%s' in pool '%s'", name, pool);
        return -1;
    }
    *exported = !lv_is_unexported(&lvs[i]);
    pool_lvm_lvs_free(lvs, n);
    return 0;
}

/* The tag for a state: none for exported rw (the default). */
static const char *export_tag_value(bool exported, int mode)
{
    if (!exported)
        return "off";
    return mode == POOL_VOL_MODE_RW ? NULL : pool_vol_mode_name(mode);
}

int pool_manager_vol_export_set(poolManager *mgr, const char *pool, const char *name, bool exported,
                                int mode)
{
    if (pool_name_validate(POOL_NAME_VOLUME, name) < 0)
        return -1;
    if (mode != POOL_VOL_MODE_RW && mode != POOL_VOL_MODE_RO && mode != POOL_VOL_MODE_SHARED) {
        pool_error(POOL_ERR_INVALID_ARG, "unknown export mode %d", mode);
        return -1;
    }
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e || pool_cluster_lock(mgr, e) < 0)
        return -1;
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    int r = pool_lvm_report_lvs(e->lvm, pool, &lvs, &n);
    size_t i = 0;
    while (r == 0 && i < n && strcmp(lvs[i].name, name) != 0)
        i++;
    if (r == 0 && i == n) {
        pool_error(POOL_ERR_NO_VOLUME, "no volume '%s' in pool '%s'", name, pool);
        r = -1;
    }
    if (r == 0) {
        const char *now = pool_lvm_tag_get(lvs[i].tags, TAG_KEY);
        const char *want = export_tag_value(exported, mode);
        if (!(now == want || (now && want && strcmp(now, want) == 0))) {
            POOL_AUTOFREE(char *) add = want ? pool_asprintf(TAG_KEY ":%s", want) : NULL;
            POOL_AUTOFREE(char *) del = now ? pool_asprintf(TAG_KEY ":%s", now) : NULL;
            char *addv[] = {add, NULL}, *delv[] = {del, NULL};
            /* one lvchange swaps the tags: never two states, never none
             * by accident */
            if ((want && !add) || (now && !del) ||
                pool_lvm_lv_change_tags(e->lvm, pool, name, add ? addv : NULL, del ? delv : NULL) <
                    0) {
                pool_error_prefix("cannot record the export state of volume %s", name);
                r = -1;
            } else {
                log_vol(POOL_LOG_INFO, pool, name, "export state recorded: %s",
                        exported ? pool_vol_mode_name(mode) : "off");
            }
        }
    }
    pool_lvm_lvs_free(lvs, n);
    pool_cluster_unlock(mgr, e);
    return r;
}

int pool_manager_vol_unexported(poolManager *mgr, const char *pool, char ***names)
{
    *names = NULL;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    if (pool_lvm_report_lvs(e->lvm, pool, &lvs, &n) < 0)
        return -1;
    char **out = pool_calloc(1, sizeof(char *));
    int r = out ? 0 : -1;
    for (size_t i = 0; r == 0 && i < n; i++)
        if (lv_is_unexported(&lvs[i]) && pool_strv_add(&out, lvs[i].name) < 0)
            r = -1;
    pool_lvm_lvs_free(lvs, n);
    if (r < 0) {
        pool_strv_free(out);
        return -1;
    }
    *names = out;
    return 0;
}
