/*
 * scsi_core.c: the logical unit object and command dispatch.
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
 *   1. looks the opcode (and service action) up in the table below;
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

/* clang-format off */
#define U6(...)  { __VA_ARGS__ }
static const scsiOpDesc op_table[] = {
    /* op    sa    len flags                              prc          usage */
    { 0x00, 0, 6, OPF_RES2_OK, PRC_ALLOW, U6(0x00, 0, 0, 0, 0, 0),
      spc_prep_tur, spc_exec_tur, 5 },
    { 0x03, 0, 6, OPF_NO_UA | OPF_RES2_OK, PRC_ALLOW, U6(0x03, 0x01, 0, 0, 0xff, 0),
      spc_prep_request_sense, spc_exec_request_sense, 5 },
    { 0x08, 0, 6, 0, PRC_READ, U6(0x08, 0x1f, 0xff, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0x0a, 0, 6, 0, PRC_WRITE, U6(0x0a, 0x1f, 0xff, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0x12, 0, 6, OPF_NO_UA | OPF_RES2_OK, PRC_ALLOW, U6(0x12, 0x01, 0xff, 0xff, 0xff, 0),
      spc_prep_inquiry, spc_exec_inquiry, 5 },
    { 0x15, 0, 6, 0, PRC_WRITE, U6(0x15, 0x11, 0, 0, 0xff, 0),
      mode_prep_select, mode_exec_select, 5 },
    { 0x16, 0, 6, OPF_RESERVE, PRC_ALLOW, U6(0x16, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_reserve, 5 },
    { 0x17, 0, 6, OPF_RESERVE, PRC_ALLOW, U6(0x17, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_release, 5 },
    { 0x1a, 0, 6, 0, PRC_READ, U6(0x1a, 0x08, 0xff, 0xff, 0xff, 0),
      mode_prep_sense, mode_exec_sense, 5 },
    { 0x1b, 0, 6, 0, PRC_WRITE, U6(0x1b, 0x01, 0, 0x0f, 0xf5, 0),
      spc_prep_start_stop, spc_exec_start_stop, 30 },
    { 0x1e, 0, 6, OPF_RES2_OK, PRC_PREVENT, U6(0x1e, 0, 0, 0, 0x01, 0),
      spc_prep_prevent_allow, spc_exec_nop, 5 },
    { 0x25, 0, 10, 0, PRC_ALLOW, U6(0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0),
      sbc_prep_read_capacity10, sbc_exec_read_capacity10, 5 },
    { 0x28, 0, 10, 0, PRC_READ, U6(0x28, 0x18, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0x2a, 0, 10, 0, PRC_WRITE, U6(0x2a, 0x18, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0x2e, 0, 10, 0, PRC_WRITE, U6(0x2e, 0x12, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_write_blocks, sbc_exec_write_verify, 30 },
    { 0x2f, 0, 10, 0, PRC_READ, U6(0x2f, 0x16, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_verify, sbc_exec_verify, 60 },
    { 0x34, 0, 10, 0, PRC_READ, U6(0x34, 0x02, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_prefetch, sbc_exec_prefetch, 5 },
    { 0x35, 0, 10, 0, PRC_WRITE, U6(0x35, 0x02, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_sync_cache, sbc_exec_sync_cache, 60 },
    { 0x41, 0, 10, OPF_THIN_BITS, PRC_WRITE,
      U6(0x41, 0x00, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_write_same, sbc_exec_write_same, 120 },
    { 0x42, 0, 10, OPF_THIN_ONLY, PRC_WRITE, U6(0x42, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0),
      sbc_prep_unmap, sbc_exec_unmap, 120 },
    { 0x55, 0, 10, 0, PRC_WRITE, U6(0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      mode_prep_select, mode_exec_select, 5 },
    { 0x56, 0, 10, OPF_RESERVE, PRC_ALLOW, U6(0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_reserve, 5 },
    { 0x57, 0, 10, OPF_RESERVE, PRC_ALLOW, U6(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_release, 5 },
    { 0x5a, 0, 10, 0, PRC_READ, U6(0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0),
      mode_prep_sense, mode_exec_sense, 5 },
    { 0x5e, 0x00, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x00, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5e, 0x01, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5e, 0x02, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x02, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5e, 0x03, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x03, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5f, 0x00, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x00, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x01, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x01, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x02, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x02, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x03, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x03, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x04, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x04, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x05, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x05, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x06, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x06, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x07, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x07, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x88, 0, 16, 0, PRC_READ, U6(0x88, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0x89, 0, 16, 0, PRC_WRITE, U6(0x89, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0, 0, 0, 0xff, 0x1f, 0),
      sbc_prep_caw, sbc_exec_caw, 30 },
    { 0x8a, 0, 16, 0, PRC_WRITE, U6(0x8a, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0x8b, 0, 16, 0, PRC_WRITE, U6(0x8b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_write_blocks, sbc_exec_orwrite, 30 },
    { 0x8e, 0, 16, 0, PRC_WRITE, U6(0x8e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_write_blocks, sbc_exec_write_verify, 30 },
    { 0x8f, 0, 16, 0, PRC_READ, U6(0x8f, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_verify, sbc_exec_verify, 60 },
    { 0x90, 0, 16, 0, PRC_READ, U6(0x90, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_prefetch, sbc_exec_prefetch, 5 },
    { 0x91, 0, 16, 0, PRC_WRITE, U6(0x91, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_sync_cache, sbc_exec_sync_cache, 60 },
    { 0x93, 0, 16, OPF_THIN_BITS, PRC_WRITE,
      U6(0x93, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0x1f, 0),
      sbc_prep_write_same, sbc_exec_write_same, 120 },
    { 0x9e, 0x10, 16, OPF_HAS_SA, PRC_ALLOW,
      U6(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0),
      sbc_prep_read_capacity16, sbc_exec_read_capacity16, 5 },
    { 0x9e, 0x12, 16, OPF_HAS_SA, PRC_READ,
      U6(0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
         0),
      sbc_prep_get_lba_status, sbc_exec_get_lba_status, 5 },
    { 0xa0, 0, 12, OPF_NO_UA | OPF_RES2_OK, PRC_ALLOW,
      U6(0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0),
      spc_prep_report_luns, spc_exec_report_luns, 5 },
    { 0xa3, 0x0c, 12, OPF_HAS_SA | OPF_RES2_OK, PRC_ALLOW,
      U6(0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0),
      spc_prep_rsoc, spc_exec_rsoc, 5 },
    { 0xa8, 0, 12, 0, PRC_READ,
      U6(0xa8, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0xaa, 0, 12, 0, PRC_WRITE,
      U6(0xaa, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0xae, 0, 12, 0, PRC_WRITE,
      U6(0xae, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_write_blocks, sbc_exec_write_verify, 30 },
    { 0xaf, 0, 12, 0, PRC_READ,
      U6(0xaf, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_verify, sbc_exec_verify, 60 },
};
/* clang-format on */

#define OP_COUNT (sizeof(op_table) / sizeof(op_table[0]))

size_t scsi_op_count(void)
{
    return OP_COUNT;
}

const scsiOpDesc *scsi_op_at(size_t i)
{
    return i < OP_COUNT ? &op_table[i] : NULL;
}

bool scsi_op_available(const scsiLu *lu, const scsiOpDesc *op)
{
    if ((op->flags & OPF_THIN_ONLY) && !lu->thin)
        return false;
    return true;
}

void scsi_op_usage(const scsiLu *lu, const scsiOpDesc *op, uint8_t *usage)
{
    memcpy(usage, op->usage, op->cdb_len);
    if ((op->flags & OPF_THIN_BITS) && lu->thin)
        usage[1] |= 0x08;
}

/* Table lookup. *opcode_known tells an unknown service action of a known
 * opcode (INVALID FIELD IN CDB) from an unknown opcode. */
const scsiOpDesc *scsi_op_lookup(const scsiLu *lu, uint8_t opcode, uint8_t sa, bool *opcode_known)
{
    bool known = false;

    for (size_t i = 0; i < OP_COUNT; i++) {
        const scsiOpDesc *op = &op_table[i];
        if (op->opcode != opcode || (lu && !scsi_op_available(lu, op)))
            continue;
        known = true;
        if (!(op->flags & OPF_HAS_SA) || op->sa == sa) {
            if (opcode_known)
                *opcode_known = true;
            return op;
        }
    }
    if (opcode_known)
        *opcode_known = known;
    return NULL;
}

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
    if (lu->cfg.release)
        lu->cfg.release(lu->cfg.ctx);
    free(lu);
}

uint64_t scsi_lu_nblocks(const scsiLu *lu)
{
    return __atomic_load_n(&lu->nblocks, __ATOMIC_ACQUIRE);
}

uint64_t scsi_lu_get_capacity(const scsiLu *lu)
{
    return scsi_lu_nblocks(lu);
}

/* ---- nexus state and unit attentions ------------------------------------- */

static const scsiNexus anon_nexus; /* commands without a nexus (tests, no-LU) */

const scsiNexus *scsi_cmd_nexus(const scsiCmd *cmd)
{
    return cmd->nexus ? cmd->nexus : &anon_nexus;
}

bool scsi_nexus_match(const scsiNexus *nx, const char *iport, uint16_t rtp)
{
    return nx->rel_target_port == rtp && strcmp(nx->name, iport) == 0;
}

scsiNexusState *scsi_nexus_find_locked(scsiLu *lu, const scsiNexus *nx, bool create)
{
    scsiNexusState *ns;

    for (ns = lu->nexuses; ns; ns = ns->next)
        if (ns->rtp == nx->rel_target_port && strcmp(ns->name, nx->name) == 0)
            return ns;
    if (!create)
        return NULL;
    ns = calloc(1, sizeof(*ns));
    if (!ns)
        return NULL;
    memcpy(ns->name, nx->name, sizeof(ns->name));
    ns->name[sizeof(ns->name) - 1] = '\0';
    memcpy(ns->tport, nx->target_port_name, sizeof(ns->tport));
    ns->tport[sizeof(ns->tport) - 1] = '\0';
    ns->rtp = nx->rel_target_port;
    /* an I_T nexus the LU has not seen before starts with a power-on UA */
    scsi_ua_add_locked(ns, ASC_POWER_ON_RESET, 0x00);
    ns->next = lu->nexuses;
    lu->nexuses = ns;
    return ns;
}

void scsi_ua_add_locked(scsiNexusState *ns, uint8_t asc, uint8_t ascq)
{
    if (asc == ASC_POWER_ON_RESET) {
        /* a reset supersedes whatever was pending */
        ns->ua_head = 0;
        ns->ua_count = 0;
    }
    for (unsigned i = 0; i < ns->ua_count; i++) {
        unsigned k = (ns->ua_head + i) % SCSI_UA_MAX;
        if (ns->ua[k][0] == asc && ns->ua[k][1] == ascq)
            return;
    }
    if (ns->ua_count == SCSI_UA_MAX)
        return; /* full: the oldest ones are still reported */
    unsigned k = (ns->ua_head + ns->ua_count) % SCSI_UA_MAX;
    ns->ua[k][0] = asc;
    ns->ua[k][1] = ascq;
    ns->ua_count++;
}

bool scsi_ua_pop_locked(scsiNexusState *ns, uint8_t *asc, uint8_t *ascq)
{
    if (!ns || ns->ua_count == 0)
        return false;
    *asc = ns->ua[ns->ua_head][0];
    *ascq = ns->ua[ns->ua_head][1];
    ns->ua_head = (ns->ua_head + 1) % SCSI_UA_MAX;
    ns->ua_count--;
    return true;
}

void scsi_ua_all_locked(scsiLu *lu, const scsiNexus *except, uint8_t asc, uint8_t ascq)
{
    for (scsiNexusState *ns = lu->nexuses; ns; ns = ns->next) {
        if (except && ns->rtp == except->rel_target_port && strcmp(ns->name, except->name) == 0)
            continue;
        scsi_ua_add_locked(ns, asc, ascq);
    }
}

void scsi_lu_set_capacity(scsiLu *lu, uint64_t nblocks)
{
    pthread_mutex_lock(&lu->lock);
    if (nblocks != lu->nblocks) {
        __atomic_store_n(&lu->nblocks, nblocks, __ATOMIC_RELEASE);
        scsi_ua_all_locked(lu, NULL, ASC_PARAMETERS_CHANGED, ASCQ_CAPACITY_CHANGED);
    }
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_set_write_protect(scsiLu *lu, bool wp)
{
    __atomic_store_n(&lu->wp, wp, __ATOMIC_RELEASE);
}

bool scsi_lu_write_protected(const scsiLu *lu)
{
    return lu->cfg.read_only || __atomic_load_n(&lu->wp, __ATOMIC_ACQUIRE);
}

bool scsi_lu_set_fence(scsiLu *lu, scsiFence fence)
{
    pthread_mutex_lock(&lu->fence_lock);
    __atomic_store_n(&lu->fence, (int)fence, __ATOMIC_SEQ_CST);
    /* a new fence is checked at the first write, not after the pause */
    lu->fence_checked_ms = 0;
    pthread_mutex_unlock(&lu->fence_lock);
    if (fence == SCSI_FENCE_OFF)
        return true;
    /* Writes count themselves in before they look at the fence
     * (scsi_cmd_exec), and this looks at the count after setting it: a
     * write either sees the fence or is counted here. */
    int64_t until = pool_monotonic_ms() + SCSI_FENCE_DRAIN_MS;
    while (__atomic_load_n(&lu->writes, __ATOMIC_SEQ_CST) > 0) {
        if (pool_monotonic_ms() >= until)
            return false;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}

bool scsi_lu_fenced(const scsiLu *lu)
{
    return __atomic_load_n(&lu->fence, __ATOMIC_SEQ_CST) != SCSI_FENCE_OFF;
}

bool scsi_lu_fence_holds(scsiLu *lu)
{
    int f = __atomic_load_n(&lu->fence, __ATOMIC_SEQ_CST);
    if (f == SCSI_FENCE_OFF)
        return false;
    if (f == SCSI_FENCE_HARD || !lu->cfg.fence_check)
        return true;
    /* The lease may have come without poold hearing of it yet (a VM's
     * QEMU got it from libvirt's lock manager as it started): ask, at a
     * bounded rate, and let the writes through once this host holds it.
     * Writes arriving meanwhile wait for the answer rather than fail. */
    pthread_mutex_lock(&lu->fence_lock);
    f = __atomic_load_n(&lu->fence, __ATOMIC_SEQ_CST);
    uint64_t now = pool_monotonic_ms();
    if (f == SCSI_FENCE_SOFT &&
        (lu->fence_checked_ms == 0 || now - lu->fence_checked_ms >= SCSI_FENCE_CHECK_MS)) {
        lu->fence_checked_ms = now ? now : 1;
        if (lu->cfg.fence_check(lu->cfg.fence_ctx)) {
            __atomic_store_n(&lu->fence, SCSI_FENCE_OFF, __ATOMIC_SEQ_CST);
            f = SCSI_FENCE_OFF;
        }
    }
    pthread_mutex_unlock(&lu->fence_lock);
    return f != SCSI_FENCE_OFF;
}

void scsi_lu_report_luns_changed(scsiLu *lu)
{
    pthread_mutex_lock(&lu->lock);
    scsi_ua_all_locked(lu, NULL, ASC_REPORTED_LUNS_CHANGED, 0x0e);
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_nexus_add(scsiLu *lu, const scsiNexus *nexus)
{
    scsiNexusState *ns;

    if (!lu || !nexus)
        return;
    pthread_mutex_lock(&lu->lock);
    ns = scsi_nexus_find_locked(lu, nexus, true);
    if (ns) /* a re-login of a known nexus is a new nexus too */
        scsi_ua_add_locked(ns, ASC_POWER_ON_RESET, 0x00);
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_nexus_remove(scsiLu *lu, const scsiNexus *nexus)
{
    scsiNexusState **pp, *ns;

    if (!lu || !nexus)
        return;
    pthread_mutex_lock(&lu->lock);
    for (pp = &lu->nexuses; (ns = *pp) != NULL; pp = &ns->next) {
        if (ns->rtp == nexus->rel_target_port && strcmp(ns->name, nexus->name) == 0) {
            *pp = ns->next;
            free(ns);
            break;
        }
    }
    /* I_T nexus loss releases a RESERVE(6/10) reservation (SPC-2 5.5.1);
     * persistent reservations survive it. */
    if (lu->res2_held && scsi_nexus_match(nexus, lu->res2_iport, lu->res2_rtp))
        lu->res2_held = false;
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_reset(scsiLu *lu, const scsiNexus *by, uint8_t ascq)
{
    if (!lu)
        return;
    pthread_mutex_lock(&lu->lock);
    lu->res2_held = false;
    scsi_ua_all_locked(lu, by, ASC_POWER_ON_RESET, ascq ? ascq : 0x03);
    pthread_mutex_unlock(&lu->lock);
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
