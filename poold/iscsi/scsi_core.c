/*
 * scsi_core.c: the logical unit object and command dispatch.
 *
 * Layering: this is the top of the SCSI model. It looks commands up in
 * scsi_opcodes.c, which names the command sets' handlers; the command sets
 * use only the layers below them (scsi_lu_state.c, scsi_nexus.c,
 * scsi_sense.c), never this file.
 *
 * An LU is reference counted (scsi_lu_new gives one reference; commands and
 * the inventory hold others; the last unref frees it and calls
 * cfg->release). Its mutable state — capacity, the I_T nexus list with
 * their unit attention queues, the RESERVE(6/10) reservation, persistent
 * reservations and the mode parameters that can change — is guarded by one
 * mutex, lu->lock, which is never held across backing I/O. COMPARE AND WRITE
 * and ORWRITE take lu->caw_lock across their read-compare-write instead.
 *
 * Every command passes through scsi_cmd_prepare(), which in this order:
 *   1. looks the opcode (and service action) up in the opcode table
 *      (scsi_opcodes.c);
 *   2. unit attention gate: unless the command is INQUIRY, REPORT LUNS or
 *      REQUEST SENSE, the oldest pending UA of the nexus is consumed and
 *      returned as CHECK CONDITION (SAM-5 5.14);
 *   3. unknown opcode -> ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE,
 *      unknown service action -> INVALID FIELD IN CDB;
 *   4. every CDB bit that the usage mask (the same one REPORT SUPPORTED
 *      OPERATION CODES returns) does not claim must be zero -> else INVALID
 *      FIELD IN CDB with the field pointer; this is how RDPROTECT/WRPROTECT,
 *      ANCHOR, NACA and other unimplemented options are refused;
 *   5. reservation gate: another nexus' RESERVE(6/10), then the persistent
 *      reservation rules (SPC-4 5.13, "commands allowed in the presence of
 *      various reservations");
 *   6. the command's own prepare function: field checks, LBA range and the
 *      Data-Out / Data-In sizes.
 * scsi_cmd_exec() then runs the command's exec function unless prepare
 * already produced the final status.
 *
 * Invariants: a command never writes more than data_in_max bytes into
 * data_in nor reads more than min(data_out_len, data_out_needed) bytes of
 * data_out; data_in_len <= data_in_max; a UA is delivered at most once.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "pool-util.h"
#include "scsi_internal.h"

/* ---- LU lifecycle -------------------------------------------------------- */

scsiLu *scsi_lu_new(const scsiLuConfig *cfg)
{
    scsiLu *lu;

    if (!cfg || !cfg->ops || !cfg->ops->read || !cfg->ops->write || !cfg->ops->flush)
        return NULL;
    if (cfg->block_size != 512 && cfg->block_size != 1024 && cfg->block_size != 2048 &&
        cfg->block_size != 4096)
        return NULL;
    lu = calloc(1, sizeof(*lu));
    if (!lu)
        return NULL;
    lu->cfg = *cfg;
    lu->cfg.uuid[sizeof(lu->cfg.uuid) - 1] = '\0';
    lu->cfg.serial[sizeof(lu->cfg.serial) - 1] = '\0';
    lu->cfg.product[sizeof(lu->cfg.product) - 1] = '\0';
    lu->cfg.vendor[sizeof(lu->cfg.vendor) - 1] = '\0';
    lu->cfg.revision[sizeof(lu->cfg.revision) - 1] = '\0';
    lu->refs = 1;
    lu->nblocks = cfg->nblocks;
    lu->thin = cfg->ops->unmap != NULL;
    lu->max_xfer = cfg->max_xfer_blocks;
    if (lu->max_xfer == 0)
        lu->max_xfer = SCSI_DEFAULT_MAX_XFER / cfg->block_size;
    /* keep every transfer length expressible in a uint32_t byte count */
    if ((uint64_t)lu->max_xfer * cfg->block_size > UINT32_MAX / 2)
        lu->max_xfer = (UINT32_MAX / 2) / cfg->block_size;
    lu->pr_holder = -1;
    pthread_mutex_init(&lu->lock, NULL);
    pthread_mutex_init(&lu->caw_lock, NULL);
    pthread_mutex_init(&lu->fence_lock, NULL);
    scsi_deadline_ref(lu->cfg.deadline);
    scsi_deadline_ref(lu->cfg.map_deadline);
    pr_load(lu);
    return lu;
}

scsiLu *scsi_lu_ref(scsiLu *lu)
{
    if (lu)
        __atomic_add_fetch(&lu->refs, 1, __ATOMIC_RELAXED);
    return lu;
}

void scsi_lu_unref(scsiLu *lu)
{
    scsiNexusState *ns, *next;

    if (!lu || __atomic_sub_fetch(&lu->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (ns = lu->nexuses; ns; ns = next) {
        next = ns->next;
        free(ns);
    }
    pr_free(lu);
    pthread_mutex_destroy(&lu->lock);
    pthread_mutex_destroy(&lu->caw_lock);
    pthread_mutex_destroy(&lu->fence_lock);
    if (lu->cfg.fence_release)
        lu->cfg.fence_release(lu->cfg.fence_ctx);
    scsi_deadline_unref(lu->cfg.deadline);
    scsi_deadline_unref(lu->cfg.map_deadline);
    if (lu->cfg.release)
        lu->cfg.release(lu->cfg.ctx);
    free(lu);
}

/* ---- dispatch ---------------------------------------------------------------- */

static void cmd_reset_result(scsiCmd *cmd)
{
    cmd->status = SCSI_STATUS_GOOD;
    cmd->sense_len = 0;
    cmd->data_in_len = 0;
    cmd->data_out_needed = 0;
    cmd->data_in_max = 0;
    cmd->prepared_error = false;
    cmd->modifies = false;
}

static uint8_t cmd_sa(const scsiCmd *cmd)
{
    return cmd->cdb_len > 1 ? (cmd->cdb[1] & 0x1f) : 0;
}

/* Is this command blocked by another nexus' RESERVE(6/10)? [L] */
static bool res2_conflict_locked(scsiLu *lu, const scsiOpDesc *op, const scsiCmd *cmd)
{
    const scsiNexus *nx = scsi_cmd_nexus(cmd);

    if (!lu->res2_held || scsi_nexus_match(nx, lu->res2_iport, lu->res2_rtp))
        return false;
    if (op->flags & OPF_RESERVE)
        return false; /* RESERVE/RELEASE decide themselves */
    if (op->opcode == 0x1e)
        return (cmd->cdb[4] & 0x03) != 0; /* PREVENT ALLOW: only ALLOW passes */
    return !(op->flags & OPF_RES2_OK);
}

static int fail_prepare(scsiCmd *cmd)
{
    cmd->prepared_error = true;
    cmd->data_out_needed = 0;
    cmd->data_in_max = 0;
    return -1;
}

int scsi_cmd_prepare(scsiLu *lu, scsiCmd *cmd)
{
    const scsiOpDesc *op;
    bool known = false;
    uint8_t usage[16];
    uint8_t asc, ascq;
    scsiNexusState *ns;
    const scsiNexus *nx = scsi_cmd_nexus(cmd);

    cmd_reset_result(cmd);
    if (!cmd->cdb || cmd->cdb_len == 0) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return fail_prepare(cmd);
    }
    op = scsi_op_lookup(lu, cmd->cdb[0], cmd_sa(cmd), &known);

    pthread_mutex_lock(&lu->lock);
    ns = scsi_nexus_find_locked(lu, nx, true);
    /* unit attention gate */
    if (!(op && (op->flags & OPF_NO_UA)) && scsi_ua_pop_locked(ns, &asc, &ascq)) {
        pthread_mutex_unlock(&lu->lock);
        scsi_sense(cmd, SK_UNIT_ATTENTION, asc, ascq);
        return fail_prepare(cmd);
    }
    pthread_mutex_unlock(&lu->lock);

    if (!op) {
        if (known)
            scsi_sense_invalid_cdb(cmd, 1, 4);
        else
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return fail_prepare(cmd);
    }
    if (cmd->cdb_len < op->cdb_len) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return fail_prepare(cmd);
    }
    scsi_op_usage(lu, op, usage);
    for (unsigned i = 1; i < op->cdb_len; i++) {
        uint8_t bad = cmd->cdb[i] & (uint8_t)~usage[i];
        if (op->flags & OPF_HAS_SA && i == 1)
            bad &= 0xe0; /* the service action itself */
        if (bad) {
            scsi_sense_invalid_cdb(cmd, (uint16_t)i, 31 - __builtin_clz(bad));
            return fail_prepare(cmd);
        }
    }

    /* reservation gate */
    pthread_mutex_lock(&lu->lock);
    uint8_t prc = op->prc;
    if (prc == PRC_PREVENT)
        prc = (cmd->cdb[4] & 0x03) ? PRC_WRITE : PRC_ALLOW;
    bool conflict = res2_conflict_locked(lu, op, cmd) || !pr_allows_locked(lu, nx, prc);
    pthread_mutex_unlock(&lu->lock);
    if (conflict) {
        scsi_reservation_conflict(cmd);
        return fail_prepare(cmd);
    }

    if (op->prepare(lu, cmd) != 0 || cmd->status != SCSI_STATUS_GOOD)
        return fail_prepare(cmd);
    return 0;
}

/* Commands that read or write the LU's blocks (through its segment map):
 * the reservation classes READ and WRITE, less the mode pages and the
 * power and medium-removal commands. */
static bool touches_medium(const scsiOpDesc *op)
{
    switch (op->opcode) {
    case 0x15: /* MODE SELECT(6) */
    case 0x1a: /* MODE SENSE(6) */
    case 0x1b: /* START STOP UNIT */
    case 0x1e: /* PREVENT ALLOW MEDIUM REMOVAL */
    case 0x55: /* MODE SELECT(10) */
    case 0x5a: /* MODE SENSE(10) */
        return false;
    default:
        return op->prc == PRC_READ || op->prc == PRC_WRITE;
    }
}

void scsi_cmd_exec(scsiLu *lu, scsiCmd *cmd)
{
    const scsiOpDesc *op;

    if (cmd->prepared_error)
        return;
    op = scsi_op_lookup(lu, cmd->cdb[0], cmd_sa(cmd), NULL);
    if (!op) { /* exec without a successful prepare */
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return;
    }
    cmd->data_in_len = 0;
    /* a map that may be stale must not be used, for reads either: its
     * extents may belong to another volume by now */
    if (touches_medium(op) && scsi_lu_map_stale(lu)) {
        scsi_sense(cmd, SK_NOT_READY, ASC_LU_NOT_READY, 0x01);
        return;
    }
    if (cmd->modifies) {
        /* Checked at prepare, checked again now that the data is here: a
         * fence set meanwhile (the lease is being given up) must stop it,
         * and a fence being set waits for the writes counted here. */
        __atomic_add_fetch(&lu->writes, 1, __ATOMIC_SEQ_CST);
        if (sbc_write_protected(lu, cmd)) {
            __atomic_sub_fetch(&lu->writes, 1, __ATOMIC_SEQ_CST);
            return;
        }
        op->exec(lu, cmd);
        __atomic_sub_fetch(&lu->writes, 1, __ATOMIC_SEQ_CST);
    } else {
        op->exec(lu, cmd);
    }
    if (cmd->data_in_len > cmd->data_in_max)
        cmd->data_in_len = cmd->data_in_max;
}

/* ---- commands for a LUN that does not exist ---------------------------------- */

void scsi_cmd_no_lu(scsiCmd *cmd)
{
    uint8_t buf[96];
    uint32_t alloc;
    size_t n;

    cmd_reset_result(cmd);
    if (!cmd->cdb || cmd->cdb_len < 6)
        goto not_supported;
    switch (cmd->cdb[0]) {
    case 0x12: /* INQUIRY */
        if (cmd->cdb[1] & 0x03 || cmd->cdb[2]) {
            scsi_sense_invalid_cdb(cmd, (cmd->cdb[1] & 0x03) ? 1 : 2, -1);
            goto fail;
        }
        alloc = get_be16(&cmd->cdb[3]);
        cmd->data_in_max = alloc < cmd->edtl ? alloc : (uint32_t)cmd->edtl;
        n = spc_std_inquiry(NULL, buf, sizeof(buf));
        scsi_data_in(cmd, buf, n, alloc);
        return;
    case 0xa0: /* REPORT LUNS */
        if (cmd->cdb_len < 12)
            goto not_supported;
        alloc = get_be32(&cmd->cdb[6]);
        cmd->data_in_max = alloc < cmd->edtl ? alloc : (uint32_t)cmd->edtl;
        if (spc_prep_report_luns(NULL, cmd) != 0)
            goto fail;
        spc_exec_report_luns(NULL, cmd);
        return;
    case 0x03: /* REQUEST SENSE */
        alloc = cmd->cdb[4];
        cmd->data_in_max = alloc < cmd->edtl ? alloc : (uint32_t)cmd->edtl;
        n = scsi_sense_build(buf, sizeof(buf), cmd->cdb[1] & 1, SK_ILLEGAL_REQUEST,
                             ASC_LU_NOT_SUPPORTED, 0);
        scsi_data_in(cmd, buf, n, alloc);
        return;
    default:
        break;
    }
not_supported:
    scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LU_NOT_SUPPORTED, 0);
fail:
    cmd->prepared_error = true;
    cmd->data_in_max = 0;
    cmd->data_in_len = 0;
}
