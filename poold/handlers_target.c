/*
 * handlers_target.c: target-* requests (access control of a pool's iSCSI
 * target: ACL and CHAP) and volume-export / volume-unexport (a LUN taken
 * away from initiators, or given back, without touching its data).
 *
 * Every change is checked completely before anything happens, stored in
 * <state_dir>/targets/POOL.xml and only then put in force (target_sync.c), so a
 * refused request changes nothing and an accepted one survives a restart.
 * An ACL or CHAP change applies to new logins, and the sessions already
 * logged in that it would not admit end at once (poold_export_target_update
 * revokes them through iscsi_portal_revoke).
 *
 * A CHAP change, once in force, is an event (POOLD_EV_TARGET_AUTH_CHANGED):
 * the initiators poold sets up in libvirt follow it (libvirt_secret.h).
 * Mutual CHAP is refused while pools are published as iscsi-direct:
 * libvirt could not log in.
 *
 * Secrets arrive in request parameters (poolctl reads them from files, so
 * they never show in a process list) and never leave poold again: replies
 * and log lines carry user names only.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "events.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-ops.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "poold.h"

static int need_target(poolDaemon *d, const char *pool)
{
    if (pool_name_validate(POOL_NAME_POOL, pool) < 0)
        return -1;
    if (!d->ex || !poold_export_has_pool(d->ex, pool)) {
        if (!pool_manager_find_exists(d->mgr, pool))
            pool_error(POOL_ERR_NO_POOL, "no pool named '%s' on this host", pool);
        else
            pool_error(POOL_ERR_UNSUPPORTED,
                       "pool '%s' has no iSCSI target on this host (its target record could "
                       "not be loaded: see poold's log)",
                       pool);
        return -1;
    }
    return 0;
}

static int reply_info(poolDaemon *d, const char *pool, xmlNodePtr reply)
{
    POOL_AUTOPTR(poolTargetDef) info = poold_export_target_get(d->ex, pool, false);
    if (!info)
        return -1;
    xmlNodePtr node = pool_target_def_format_node(info, false);
    if (!node)
        return -1;
    xmlAddChild(reply, node);
    return 0;
}

static int target_info(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    if (poold_param_required(req, "pool", &pool) < 0 || need_target(d, pool) < 0)
        return -1;
    return reply_info(d, pool, reply);
}

static int acl_change(poolDaemon *d, const poolRequest *req, xmlNodePtr reply, bool add)
{
    const char *pool, *ini;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "initiator", &ini) < 0 || need_target(d, pool) < 0 ||
        pool_iscsi_name_validate(ini) < 0)
        return -1;
    poolTargetDef *def = poold_export_target_get(d->ex, pool, true);
    if (!def)
        return -1;
    bool present = false;
    for (char **a = def->acl; a && *a; a++)
        if (strcmp(*a, ini) == 0)
            present = true;
    if (add && present) {
        pool_target_def_free(def);
        pool_error(POOL_ERR_EXISTS, "initiator %s is already in the ACL of pool %s", ini, pool);
        return -1;
    }
    if (!add && !present) {
        pool_target_def_free(def);
        pool_error(POOL_ERR_INVALID_ARG, "initiator %s is not in the ACL of pool %s", ini, pool);
        return -1;
    }
    if (add) {
        if (pool_strv_length(def->acl) >= POOL_TARGET_ACL_MAX) {
            pool_target_def_free(def);
            pool_error(POOL_ERR_INVALID_ARG, "the ACL of pool %s is full (%d initiators)", pool,
                       POOL_TARGET_ACL_MAX);
            return -1;
        }
        if (pool_strv_add(&def->acl, ini) < 0) {
            pool_target_def_free(def);
            return -1;
        }
    } else {
        size_t w = 0;
        for (size_t r = 0; def->acl[r]; r++) {
            if (strcmp(def->acl[r], ini) == 0)
                free(def->acl[r]);
            else
                def->acl[w++] = def->acl[r];
        }
        def->acl[w] = NULL;
        if (w == 0) /* the ACL is empty now: any initiator may log in again */
            log_pool(POOL_LOG_WARN, pool, "ACL now empty: the target accepts any initiator");
    }
    if (poold_export_target_update(d->ex, def) < 0)
        return -1;
    log_pool(POOL_LOG_INFO, pool, "ACL: initiator %s %s", ini, add ? "added" : "removed");
    return reply_info(d, pool, reply);
}

static int acl_add(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    return acl_change(d, req, reply, true);
}

static int acl_remove(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    return acl_change(d, req, reply, false);
}

/* The CHAP change is in force: the initiators poold sets up follow it
 * (events.h). Nothing refuses this event, so the request stands. */
static void auth_changed(poolDaemon *d, const char *pool)
{
    poolEvent ev = {.kind = POOLD_EV_TARGET_AUTH_CHANGED, .pool = pool};
    poold_emit(d, &ev);
}

static int chap_set(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *user, *secret;
    const char *muser = pool_request_get(req, "mutual-user");
    const char *msecret = pool_request_get(req, "mutual-secret");
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "user", &user) < 0 ||
        poold_param_required(req, "secret", &secret) < 0 || need_target(d, pool) < 0)
        return -1;
    if (!!muser != !!msecret) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "mutual CHAP needs both a mutual user and a mutual secret (or neither)");
        return -1;
    }
    if (pool_chap_user_validate(user) < 0 || pool_chap_secret_validate(secret, strlen(secret)) < 0)
        return -1;
    if (muser && (pool_chap_user_validate(muser) < 0 ||
                  pool_chap_secret_validate(msecret, strlen(msecret)) < 0)) {
        pool_error_prefix("mutual CHAP");
        return -1;
    }
    if (msecret && strcmp(secret, msecret) == 0) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "the mutual secret must differ from the initiator's secret (RFC 7143 12.1.3)");
        return -1;
    }
    /* libvirt's iscsi-direct backend logs in with one-way CHAP only
     * (libvirt_secret.h): mutual CHAP would lock poold's own pool out */
    if (muser && poold_libvirt_uses_target(d->lv)) {
        pool_error(POOL_ERR_UNSUPPORTED,
                   "mutual CHAP: this host publishes its pools as libvirt iscsi-direct pools, "
                   "and libvirt logs in with one-way CHAP only; use one-way CHAP, or set "
                   "libvirt_pool_type = \"off\" (or \"logical\") in poold.conf");
        return -1;
    }
    poolTargetDef *def = poold_export_target_get(d->ex, pool, true);
    if (!def)
        return -1;
    free(def->chap_user);
    free(def->chap_secret);
    free(def->mutual_user);
    free(def->mutual_secret);
    def->chap_user = pool_strdup(user);
    def->chap_secret = pool_strdup(secret);
    def->mutual_user = pool_strdup(muser);
    def->mutual_secret = pool_strdup(msecret);
    if (!def->chap_user || !def->chap_secret ||
        (muser && (!def->mutual_user || !def->mutual_secret))) {
        pool_target_def_free(def);
        return pool_error_oom();
    }
    if (poold_export_target_update(d->ex, def) < 0)
        return -1;
    log_pool(POOL_LOG_INFO, pool, "CHAP set: %s, user %s%s%s", muser ? "mutual" : "one-way", user,
             muser ? ", target user " : "", muser ? muser : "");
    auth_changed(d, pool);
    return reply_info(d, pool, reply);
}

static int chap_clear(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    if (poold_param_required(req, "pool", &pool) < 0 || need_target(d, pool) < 0)
        return -1;
    poolTargetDef *def = poold_export_target_get(d->ex, pool, true);
    if (!def)
        return -1;
    free(def->chap_user);
    free(def->mutual_user);
    def->chap_user = def->mutual_user = NULL;
    if (def->chap_secret)
        memset(def->chap_secret, 0, strlen(def->chap_secret));
    if (def->mutual_secret)
        memset(def->mutual_secret, 0, strlen(def->mutual_secret));
    free(def->chap_secret);
    free(def->mutual_secret);
    def->chap_secret = def->mutual_secret = NULL;
    if (poold_export_target_update(d->ex, def) < 0)
        return -1;
    log_pool(POOL_LOG_INFO, pool, "CHAP cleared");
    auth_changed(d, pool);
    return reply_info(d, pool, reply);
}

/* Never leave a volume marked exported that the target cannot serve: put
 * the tag back as it was, and keep the error that says why. */
static void export_undo(poolDaemon *d, poolEvent *ev, bool was_on, int was_mode)
{
    poolError *err = pool_error_save();
    if (pool_manager_vol_export_set(d->mgr, ev->pool, ev->volume, was_on, was_mode) == 0) {
        ev->kind = POOLD_EV_VOLUME_EXPORT_UNDONE;
        ev->exported = was_on;
        poold_emit(d, ev);
    }
    pool_error_restore(err);
}

/* volume export / unexport: the LV tag first (it is what a restart obeys),
 * then the live inventory; whichever step fails, the other is undone. */
static int vol_export_change(poolDaemon *d, const poolRequest *req, xmlNodePtr reply, bool on)
{
    const char *pool, *name;
    const char *mode_text = pool_request_get(req, "mode");
    int mode = POOL_VOL_MODE_RW;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 || need_target(d, pool) < 0)
        return -1;
    if (mode_text && pool_vol_mode_parse(mode_text, &mode) < 0)
        return -1;
    POOL_AUTOPTR(poolVolDef) def = pool_manager_vol_info(d->mgr, pool, name);
    if (!def)
        return -1;
    if (def->state && strcmp(def->state, "ready") != 0) {
        pool_error(POOL_ERR_BUSY, "volume %s is busy (state %s)", name, def->state);
        return -1;
    }
    bool was_on = def->export_state != POOL_VOL_EXPORT_OFF;
    int was_mode = def->export_mode;
    if (pool_manager_vol_export_set(d->mgr, pool, name, on, on ? mode : POOL_VOL_MODE_RW) < 0)
        return -1;
    if (on)
        def->export_mode = mode;
    poolEvent ev = {.kind = on ? POOLD_EV_VOLUME_EXPORTED : POOLD_EV_VOLUME_UNEXPORTED,
                    .pool = pool,
                    .volume = name,
                    .vol = def};
    if (poold_emit(d, &ev) < 0) {
        if (on)
            export_undo(d, &ev, was_on, was_mode);
        return -1;
    }
    def->export_state = on ? POOL_VOL_EXPORT_ON : POOL_VOL_EXPORT_OFF;
    xmlNodePtr node = pool_vol_def_format_node(def);
    if (!node)
        return -1;
    xmlAddChild(reply, node);
    return 0;
}

static int vol_export(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    return vol_export_change(d, req, reply, true);
}

static int vol_unexport(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    return vol_export_change(d, req, reply, false);
}

/* volume-export and volume-unexport are `poolctl volume` commands but are
 * served here: they change what the pool's iSCSI target offers, and need
 * the target's state (need_target) like the other ops of this file. */
const poolDispatchEntry poold_target_handlers[] = {
    {"target-info", target_info},      {"target-acl-add", acl_add},
    {"target-acl-remove", acl_remove}, {"target-chap-set", chap_set},
    {"target-chap-clear", chap_clear}, {"volume-export", vol_export},
    {"volume-unexport", vol_unexport}, {NULL, NULL},
};
