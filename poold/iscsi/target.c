/*
 * target.c: the target inventory (see target.h). A small rwlock-protected
 * table: lookups are frequent (every command resolves its LUN) and brief,
 * changes are rare (poold's main thread exporting or removing a volume).
 * LUs are reference counted by the SCSI layer, so a LUN removed while a
 * command runs stays alive until that command drops its reference.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "target.h"

typedef struct {
    uint64_t lun;
    scsiLu *lu;
} lunEntry;

struct tgtTarget {
    char *iqn;
    uint16_t tpgt;
    tgtAuth auth;   /* auth.acl owned */
    lunEntry *luns; /* sorted by lun */
    size_t nluns;
    uint64_t generation;
    uint64_t auth_epoch; /* renewed by every change of the CHAP settings */
};

struct tgtInventory {
    pthread_rwlock_t lock;
    tgtTarget **targets;
    size_t ntargets;
    uint64_t last_epoch; /* auth epochs are never reused, even by a new target */
};

tgtInventory *tgt_inventory_new(void)
{
    tgtInventory *inv = pool_calloc(1, sizeof(*inv));
    if (!inv)
        return NULL;
    pthread_rwlock_init(&inv->lock, NULL);
    return inv;
}

static void target_free(tgtTarget *t)
{
    for (size_t i = 0; i < t->nluns; i++)
        scsi_lu_unref(t->luns[i].lu);
    free(t->luns);
    pool_strv_free(t->auth.acl);
    free(t->iqn);
    free(t);
}

void tgt_inventory_free(tgtInventory *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < inv->ntargets; i++)
        target_free(inv->targets[i]);
    free(inv->targets);
    pthread_rwlock_destroy(&inv->lock);
    free(inv);
}

static tgtTarget *find_target(tgtInventory *inv, const char *iqn)
{
    for (size_t i = 0; i < inv->ntargets; i++)
        if (strcmp(inv->targets[i]->iqn, iqn) == 0)
            return inv->targets[i];
    return NULL;
}

int tgt_target_add(tgtInventory *inv, const char *iqn, uint16_t tpgt)
{
    pthread_rwlock_wrlock(&inv->lock);
    int r = -1;
    if (find_target(inv, iqn)) {
        pool_error(POOL_ERR_EXISTS, "target %s already exists", iqn);
        goto out;
    }
    tgtTarget *t = pool_calloc(1, sizeof(*t));
    if (!t || !(t->iqn = pool_strdup(iqn)) ||
        pool_realloc_n(&inv->targets, inv->ntargets + 1, sizeof(*inv->targets)) < 0) {
        if (t)
            free(t->iqn);
        free(t);
        goto out;
    }
    t->tpgt = tpgt;
    t->auth_epoch = ++inv->last_epoch;
    inv->targets[inv->ntargets++] = t;
    r = 0;
out:
    pthread_rwlock_unlock(&inv->lock);
    return r;
}

int tgt_target_remove(tgtInventory *inv, const char *iqn)
{
    pthread_rwlock_wrlock(&inv->lock);
    for (size_t i = 0; i < inv->ntargets; i++) {
        if (strcmp(inv->targets[i]->iqn, iqn) == 0) {
            target_free(inv->targets[i]);
            inv->targets[i] = inv->targets[--inv->ntargets];
            pthread_rwlock_unlock(&inv->lock);
            return 0;
        }
    }
    pthread_rwlock_unlock(&inv->lock);
    pool_error(POOL_ERR_NO_POOL, "no target %s", iqn);
    return -1;
}

/* Any difference in what CHAP asks of an initiator or answers it with. */
static bool chap_changed(const tgtAuth *a, const tgtAuth *b)
{
    if (a->chap_required != b->chap_required || a->mutual != b->mutual)
        return true;
    if (!a->chap_required)
        return false;
    if (strcmp(a->initiator.user, b->initiator.user) != 0 ||
        strcmp(a->initiator.secret, b->initiator.secret) != 0)
        return true;
    return a->mutual && (strcmp(a->target.user, b->target.user) != 0 ||
                         strcmp(a->target.secret, b->target.secret) != 0);
}

int tgt_target_set_auth(tgtInventory *inv, const char *iqn, const tgtAuth *auth)
{
    char **acl = NULL;
    if (auth->acl && !(acl = pool_strv_copy(auth->acl)))
        return -1;
    if (auth->chap_required && strlen(auth->initiator.secret) < 12) {
        pool_strv_free(acl);
        pool_error(POOL_ERR_INVALID_ARG, "CHAP secrets must be at least 12 characters");
        return -1;
    }
    if (auth->mutual && strcmp(auth->initiator.secret, auth->target.secret) == 0) {
        pool_strv_free(acl);
        pool_error(POOL_ERR_INVALID_ARG,
                   "mutual CHAP needs different secrets for the initiator and the target");
        return -1;
    }
    pthread_rwlock_wrlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    if (!t) {
        pthread_rwlock_unlock(&inv->lock);
        pool_strv_free(acl);
        pool_error(POOL_ERR_NO_POOL, "no target %s", iqn);
        return -1;
    }
    if (chap_changed(&t->auth, auth))
        t->auth_epoch = ++inv->last_epoch;
    pool_strv_free(t->auth.acl);
    t->auth = *auth;
    t->auth.acl = acl;
    t->generation++;
    pthread_rwlock_unlock(&inv->lock);
    return 0;
}

int tgt_lun_add(tgtInventory *inv, const char *iqn, uint64_t lun, scsiLu *lu)
{
    if (lun >= TGT_MAX_LUNS) {
        pool_error(POOL_ERR_INVALID_ARG, "LUN %llu out of range", (unsigned long long)lun);
        return -1;
    }
    pthread_rwlock_wrlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    int r = -1;
    if (!t) {
        pool_error(POOL_ERR_NO_POOL, "no target %s", iqn);
        goto out;
    }
    size_t pos = 0;
    while (pos < t->nluns && t->luns[pos].lun < lun)
        pos++;
    if (pos < t->nluns && t->luns[pos].lun == lun) {
        pool_error(POOL_ERR_EXISTS, "target %s already has LUN %llu", iqn, (unsigned long long)lun);
        goto out;
    }
    if (pool_realloc_n(&t->luns, t->nluns + 1, sizeof(*t->luns)) < 0)
        goto out;
    memmove(&t->luns[pos + 1], &t->luns[pos], (t->nluns - pos) * sizeof(*t->luns));
    t->luns[pos].lun = lun;
    t->luns[pos].lu = lu;
    t->nluns++;
    t->generation++;
    /* every other LU of the target tells its nexuses the inventory changed */
    for (size_t i = 0; i < t->nluns; i++)
        if (i != pos)
            scsi_lu_report_luns_changed(t->luns[i].lu);
    r = 0;
out:
    pthread_rwlock_unlock(&inv->lock);
    return r;
}

int tgt_lun_remove(tgtInventory *inv, const char *iqn, uint64_t lun)
{
    pthread_rwlock_wrlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    scsiLu *gone = NULL;
    if (t) {
        for (size_t i = 0; i < t->nluns; i++) {
            if (t->luns[i].lun == lun) {
                gone = t->luns[i].lu;
                memmove(&t->luns[i], &t->luns[i + 1], (t->nluns - i - 1) * sizeof(*t->luns));
                t->nluns--;
                t->generation++;
                for (size_t j = 0; j < t->nluns; j++)
                    scsi_lu_report_luns_changed(t->luns[j].lu);
                break;
            }
        }
    }
    pthread_rwlock_unlock(&inv->lock);
    if (!gone) {
        pool_error(POOL_ERR_NO_VOLUME, "target %s has no LUN %llu", iqn, (unsigned long long)lun);
        return -1;
    }
    scsi_lu_unref(gone); /* commands in flight keep their own references */
    return 0;
}

scsiLu *tgt_lun_get(tgtInventory *inv, const char *iqn, uint64_t lun)
{
    scsiLu *lu = NULL;
    pthread_rwlock_rdlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    if (t) {
        /* binary search: the LUN table is sorted */
        size_t lo = 0, hi = t->nluns;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (t->luns[mid].lun < lun)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < t->nluns && t->luns[lo].lun == lun)
            lu = scsi_lu_ref(t->luns[lo].lu);
    }
    pthread_rwlock_unlock(&inv->lock);
    return lu;
}

/* Is initiator "<entry>:vm-<name>"? poold starts a VM's QEMU with its host's
 * initiator name plus ":vm-" and the VM name (handlers_vm_run.c), so listing
 * a host admits the VMs it runs. */
static bool is_vm_of(const char *entry, const char *initiator)
{
    size_t n = strlen(entry);
    return strncmp(entry, initiator, n) == 0 && strncmp(initiator + n, ":vm-", 4) == 0 &&
           initiator[n + 4] != '\0';
}

static bool acl_allows(const tgtAuth *auth, const char *initiator)
{
    if (!auth->acl || !auth->acl[0])
        return true;
    for (char **a = auth->acl; *a; a++)
        if (strcmp(*a, initiator) == 0 || fnmatch(*a, initiator, 0) == 0 || is_vm_of(*a, initiator))
            return true;
    return false;
}

int tgt_login_check(tgtInventory *inv, const char *iqn, const char *initiator, tgtAuth *auth,
                    uint64_t *auth_epoch, const char **why)
{
    pthread_rwlock_rdlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    int r = -1;
    if (!t) {
        *why = "no such target";
    } else if (!acl_allows(&t->auth, initiator)) {
        *why = "initiator not in the target's ACL";
    } else {
        *auth = t->auth;
        auth->acl = NULL;
        *auth_epoch = t->auth_epoch;
        r = 0;
    }
    pthread_rwlock_unlock(&inv->lock);
    return r;
}

int tgt_session_check(tgtInventory *inv, const char *iqn, const char *initiator,
                      uint64_t auth_epoch, const char **why)
{
    pthread_rwlock_rdlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    int r = -1;
    if (!t)
        *why = "target removed";
    else if (!acl_allows(&t->auth, initiator))
        *why = "initiator no longer in the target's ACL";
    else if (t->auth_epoch != auth_epoch)
        *why = "logged in under CHAP settings that have changed";
    else
        r = 0;
    pthread_rwlock_unlock(&inv->lock);
    return r;
}

bool tgt_target_is_open(tgtInventory *inv, const char *iqn)
{
    pthread_rwlock_rdlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    bool open = t && !t->auth.chap_required && (!t->auth.acl || !t->auth.acl[0]);
    pthread_rwlock_unlock(&inv->lock);
    return open;
}

char **tgt_list_visible(tgtInventory *inv, const char *initiator)
{
    char **out = pool_calloc(1, sizeof(char *));
    if (!out)
        return NULL;
    pthread_rwlock_rdlock(&inv->lock);
    for (size_t i = 0; i < inv->ntargets; i++) {
        if (acl_allows(&inv->targets[i]->auth, initiator) &&
            pool_strv_add(&out, inv->targets[i]->iqn) < 0) {
            pool_strv_free(out);
            out = NULL;
            break;
        }
    }
    pthread_rwlock_unlock(&inv->lock);
    return out;
}

size_t tgt_lun_list(tgtInventory *inv, const char *iqn, uint64_t *luns, size_t max)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    if (t) {
        n = t->nluns;
        for (size_t i = 0; i < n && i < max; i++)
            luns[i] = t->luns[i].lun;
    }
    pthread_rwlock_unlock(&inv->lock);
    return n;
}

uint64_t tgt_generation(tgtInventory *inv, const char *iqn)
{
    uint64_t g = 0;
    pthread_rwlock_rdlock(&inv->lock);
    tgtTarget *t = find_target(inv, iqn);
    if (t)
        g = t->generation;
    pthread_rwlock_unlock(&inv->lock);
    return g;
}
