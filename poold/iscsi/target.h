/*
 * target.h: the embedded iSCSI target's inventory — targets, their LUNs,
 * ACLs and CHAP settings — shared by the iSCSI transport (iscsi_*.c), the
 * SCSI model (scsi_*.c, through scsiLu) and poold (which adds and removes
 * LUNs as volumes are created, exported, resized and deleted).
 *
 * One target per pool: iqn.2026-11.org.poold:<pool>. LUN n of the target is
 * the volume whose pd_lun tag is n.
 *
 * Concurrency: the inventory is read by connection threads and changed by
 * poold's main thread. A reader takes a reference on what it uses
 * (tgt_lun_get / tgt_lun_put) under the inventory's rwlock and then works
 * without the lock, so removing a LUN never waits for I/O in flight and never
 * frees an LU a command is using: the last put frees it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_TARGET_H
#define POOL_TARGET_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi.h"

#define TGT_IQN_PREFIX "iqn.2026-11.org.poold:"
#define TGT_MAX_LUNS   16384

typedef struct tgtInventory tgtInventory;
typedef struct tgtTarget tgtTarget;

typedef struct {
    char user[256];
    char secret[256]; /* 12..255 bytes (RFC 7143 requires >= 12 for CHAP) */
} tgtChapCred;

typedef struct {
    bool chap_required;    /* refuse logins without CHAP */
    tgtChapCred initiator; /* what the initiator must prove (one-way) */
    bool mutual;           /* target also proves itself */
    tgtChapCred target;    /* what the target answers with (mutual) */
    char **acl;            /* allowed initiator names, NULL-terminated; NULL/empty = all */
} tgtAuth;

tgtInventory *tgt_inventory_new(void);
void tgt_inventory_free(tgtInventory *inv);

/* Targets */
int tgt_target_add(tgtInventory *inv, const char *iqn, uint16_t tpgt);
int tgt_target_remove(tgtInventory *inv, const char *iqn);
int tgt_target_set_auth(tgtInventory *inv, const char *iqn, const tgtAuth *auth);

/* Logical units. The inventory takes over the caller's reference to lu. */
int tgt_lun_add(tgtInventory *inv, const char *iqn, uint64_t lun, scsiLu *lu);
int tgt_lun_remove(tgtInventory *inv, const char *iqn, uint64_t lun);
/* Reference to an LU for one command; NULL if there is no such LUN. */
scsiLu *tgt_lun_get(tgtInventory *inv, const char *iqn, uint64_t lun);
#define tgt_lun_put(lu) scsi_lu_unref(lu)

/* For the transport ----------------------------------------------------- */

/* Is the initiator allowed to log in to the target? copies its auth policy
 * into *auth (acl not copied) and the epoch of its CHAP settings into
 * *auth_epoch (tgt_target_set_auth renews it whenever they change). -1 if no
 * such target or not allowed, with a reason string. */
int tgt_login_check(tgtInventory *inv, const char *iqn, const char *initiator, tgtAuth *auth,
                    uint64_t *auth_epoch, const char **why);
/* Does a session that logged in to the target under CHAP epoch auth_epoch
 * still qualify: target there, initiator in the ACL, CHAP settings unchanged
 * since its login? -1 with a reason string if not (the session must end). */
int tgt_session_check(tgtInventory *inv, const char *iqn, const char *initiator,
                      uint64_t auth_epoch, const char **why);
/* Does the target take any initiator (no ACL, no CHAP)? */
bool tgt_target_is_open(tgtInventory *inv, const char *iqn);
/* Targets the initiator may see (SendTargets=All), as a NULL-terminated list
 * of IQNs (caller frees with pool_strv_free). */
char **tgt_list_visible(tgtInventory *inv, const char *initiator);
/* The target's current LUN list (sorted), into a caller buffer; returns the
 * count (may exceed max; then only max are written). */
size_t tgt_lun_list(tgtInventory *inv, const char *iqn, uint64_t *luns, size_t max);
/* Changes every session of a target should learn about (async event,
 * unit attentions): bumps a generation number the transport polls. */
uint64_t tgt_generation(tgtInventory *inv, const char *iqn);

#endif
