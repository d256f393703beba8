/*
 * scsi_internal.h: private declarations shared by the scsi_*.c files — the
 * LU object, per-nexus state, the opcode table entry, big-endian helpers and
 * the command handlers each file provides. Nothing outside scsi_*.c includes
 * this header; the transport sees only scsi.h.
 *
 * Locking (see scsi_core.c for the whole story):
 *   lu->lock     guards every field below marked [L]; never held across
 *                backing I/O;
 *   lu->caw_lock serialises COMPARE AND WRITE and ORWRITE (read-modify-write
 *                of blocks) and is held across their backing I/O;
 *   lu->nblocks  is written under lu->lock and read lock-free with atomic
 *                loads by the I/O paths.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_SCSI_INTERNAL_H
#define POOL_TARGET_SCSI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scsi.h"

/* ---- additional sense codes used in more than one file ---------------- */
#define ASC_NO_ADDITIONAL_SENSE      0x00
#define ASC_LU_NOT_READY             0x04
#define ASC_WRITE_ERROR              0x0c
#define ASC_UNRECOVERED_READ_ERROR   0x11
#define ASC_PARAM_LIST_LENGTH_ERROR  0x1a
#define ASC_INVALID_OPCODE           0x20
#define ASC_LBA_OUT_OF_RANGE         0x21
#define ASC_INVALID_FIELD_IN_CDB     0x24
#define ASC_LU_NOT_SUPPORTED         0x25
#define ASC_INVALID_FIELD_IN_PARAM   0x26
#define ASC_WRITE_PROTECTED          0x27
#define ASC_NOT_READY_TO_READY       0x28
#define ASC_POWER_ON_RESET           0x29
#define ASC_PARAMETERS_CHANGED       0x2a
#define ASC_SAVING_PARAMS_UNSUP      0x39
#define ASC_INTERNAL_TARGET_FAILURE  0x44
#define ASC_REPORTED_LUNS_CHANGED    0x3f
#define ASC_MISCOMPARE_DURING_VERIFY 0x1d

/* 2Ah ASCQs */
#define ASCQ_MODE_PARAMETERS_CHANGED 0x01
#define ASCQ_RESERVATIONS_PREEMPTED  0x03
#define ASCQ_RESERVATIONS_RELEASED   0x04
#define ASCQ_REGISTRATIONS_PREEMPTED 0x05
#define ASCQ_CAPACITY_CHANGED        0x09

/* ---- limits ------------------------------------------------------------- */
#define SCSI_UA_MAX           16    /* queued unit attentions per nexus */
#define SCSI_PR_MAX_REGS      1024  /* registrations per LU */
#define SCSI_CAW_MAX_BLOCKS   255   /* VPD B0 MAXIMUM COMPARE AND WRITE LENGTH */
#define SCSI_WS_MAX_BLOCKS    65536 /* VPD B0 MAXIMUM WRITE SAME LENGTH */
#define SCSI_UNMAP_MAX_LBAS   1048576
#define SCSI_UNMAP_MAX_DESCS  256
#define SCSI_DEFAULT_MAX_XFER (8u << 20) /* bytes, when cfg->max_xfer_blocks is 0 */

/* ---- big-endian helpers ------------------------------------------------- */
static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t get_be24(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t get_be64(const uint8_t *p)
{
    return ((uint64_t)get_be32(p) << 32) | get_be32(p + 4);
}
static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* ---- per-nexus state ---------------------------------------------------- */
typedef struct scsiNexusState {
    struct scsiNexusState *next;
    char name[256];             /* initiator port */
    uint16_t rtp;               /* relative target port */
    char tport[256];            /* target port name */
    uint8_t ua[SCSI_UA_MAX][2]; /* queue of (asc, ascq), oldest at ua_head */
    unsigned ua_head, ua_count;
} scsiNexusState;

/* ---- persistent reservations -------------------------------------------- */
typedef struct {
    uint64_t key;
    char iport[256]; /* initiator port name */
    char tport[256]; /* target port name (for READ FULL STATUS) */
    uint16_t rtp;    /* relative target port of the registering nexus */
    bool all_tg_pt;  /* registered through every target port */
} scsiPrReg;

#define PR_TYPE_WE   0x1
#define PR_TYPE_EA   0x3
#define PR_TYPE_WERO 0x5
#define PR_TYPE_EARO 0x6
#define PR_TYPE_WEAR 0x7
#define PR_TYPE_EAAR 0x8

/* ---- the logical unit --------------------------------------------------- */
struct scsiLu {
    scsiLuConfig cfg; /* copy; identity strings never change */
    int refs;         /* atomic */
    pthread_mutex_t lock;
    pthread_mutex_t caw_lock;
    uint64_t nblocks; /* [L] written; atomic reads */
    /* write protection set at run time (scsi_lu_set_write_protect): the
     * host does not hold the volume's lease, or it is exported read-only */
    bool wp;
    /* writes refused without saying so in MODE SENSE (scsi_lu_set_fence):
     * an rw volume whose lease this host does not hold (yet) */
    int fence;                  /* scsiFence; atomic */
    int writes;                 /* writes executing past the fence; atomic */
    pthread_mutex_t fence_lock; /* serialises fence checks and fence changes */
    uint64_t fence_checked_ms;  /* [fence_lock] last cfg.fence_check */
    bool deadline_on;           /* cfg.deadline applies; atomic */
    uint32_t max_xfer;          /* blocks */
    bool thin;                  /* cfg.ops->unmap != NULL */

    scsiNexusState *nexuses; /* [L] */

    /* RESERVE/RELEASE (SPC-2) reservation [L] */
    bool res2_held;
    char res2_iport[256];
    uint16_t res2_rtp;

    /* persistent reservations [L] */
    uint32_t pr_gen;
    scsiPrReg *regs;
    size_t nregs, regs_cap;
    int pr_holder; /* index into regs, -1 = no reservation */
    uint8_t pr_type;
    bool pr_aptpl;

    /* mode parameters [L] */
    bool swp; /* control page SWP: software write protect */
};

/* ---- opcode table ------------------------------------------------------- */
/* Reservation classes: what a command is in the SPC-4 table of commands
 * allowed in the presence of reservations. */
enum {
    PRC_ALLOW = 0, /* never conflicts */
    PRC_READ,      /* conflicts with the exclusive-access types */
    PRC_WRITE,     /* conflicts with every type */
    PRC_PREVENT,   /* PREVENT ALLOW: PREVENT=0 allowed, else like write */
};

#define OPF_NO_UA     0x01 /* INQUIRY, REPORT LUNS, REQUEST SENSE */
#define OPF_HAS_SA    0x02 /* service action in CDB byte 1 bits 0-4 */
#define OPF_THIN_ONLY 0x04 /* offered only when the backing can unmap */
#define OPF_THIN_BITS 0x08 /* usage byte 1 bit 3 (UNMAP) only when thin */
#define OPF_RES2_OK   0x10 /* allowed under another nexus' RESERVE(6/10) */
#define OPF_RESERVE   0x20 /* RESERVE/RELEASE: handled by its own checks */

typedef struct scsiOpDesc {
    uint8_t opcode;
    uint8_t sa;
    uint8_t cdb_len;
    uint8_t flags;
    uint8_t prc;
    uint8_t usage[16];
    int (*prepare)(scsiLu *lu, scsiCmd *cmd);
    void (*exec)(scsiLu *lu, scsiCmd *cmd);
    uint32_t timeout_s; /* nominal timeout reported with RCTD */
} scsiOpDesc;

/*
 * The files, bottom layer first; each calls only files listed before it,
 * never one after it:
 *   scsi_sense.c      sense data, Data-In copy
 *   scsi_nexus.c      I_T nexuses, unit attention queues
 *   scsi_lu_state.c   capacity, write protection, write fence
 *   scsi_vpd.c, scsi_modes.c, scsi_pr.c, scsi_sbc.c, scsi_spc.c
 *                     command sets (scsi_spc.c uses scsi_vpd.c and
 *                     pr_any_registration_locked())
 *   scsi_opcodes.c    the opcode table naming the sets' handlers, RSOC
 *   scsi_core.c       LU lifecycle, dispatch (scsi.h only)
 */

/* scsi_sense.c */
void scsi_sense_info(scsiCmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq, uint32_t info);
void scsi_sense_field(scsiCmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq, bool in_cdb,
                      uint16_t byte, int bit);
void scsi_sense_invalid_cdb(scsiCmd *cmd, uint16_t byte, int bit);
void scsi_sense_invalid_param(scsiCmd *cmd, uint16_t byte, int bit);
size_t scsi_sense_build(uint8_t *buf, size_t max, bool desc, uint8_t key, uint8_t asc,
                        uint8_t ascq);
void scsi_sense_backing_error(scsiCmd *cmd, int err, bool write);
void scsi_reservation_conflict(scsiCmd *cmd);
/* copy len bytes of src into cmd->data_in limited by alloc and data_in_max */
void scsi_data_in(scsiCmd *cmd, const void *src, size_t len, size_t alloc);

/* scsi_nexus.c [lu->lock held] */
const scsiNexus *scsi_cmd_nexus(const scsiCmd *cmd);
bool scsi_nexus_match(const scsiNexus *nx, const char *iport, uint16_t rtp);
scsiNexusState *scsi_nexus_find_locked(scsiLu *lu, const scsiNexus *nx, bool create);
void scsi_ua_add_locked(scsiNexusState *ns, uint8_t asc, uint8_t ascq);
void scsi_ua_all_locked(scsiLu *lu, const scsiNexus *except, uint8_t asc, uint8_t ascq);
bool scsi_ua_pop_locked(scsiNexusState *ns, uint8_t *asc, uint8_t *ascq);

/* scsi_lu_state.c */
uint64_t scsi_lu_nblocks(const scsiLu *lu);
/* Is the LU fenced for this write (after asking cfg.fence_check)? */
bool scsi_lu_fence_holds(scsiLu *lu);

/* scsi_spc.c */
int spc_prep_tur(scsiLu *lu, scsiCmd *cmd);
void spc_exec_tur(scsiLu *lu, scsiCmd *cmd);
int spc_prep_inquiry(scsiLu *lu, scsiCmd *cmd);
void spc_exec_inquiry(scsiLu *lu, scsiCmd *cmd);
int spc_prep_request_sense(scsiLu *lu, scsiCmd *cmd);
void spc_exec_request_sense(scsiLu *lu, scsiCmd *cmd);
int spc_prep_report_luns(scsiLu *lu, scsiCmd *cmd);
void spc_exec_report_luns(scsiLu *lu, scsiCmd *cmd);
int spc_prep_reserve(scsiLu *lu, scsiCmd *cmd);
void spc_exec_reserve(scsiLu *lu, scsiCmd *cmd);
void spc_exec_release(scsiLu *lu, scsiCmd *cmd);
int spc_prep_prevent_allow(scsiLu *lu, scsiCmd *cmd);
void spc_exec_nop(scsiLu *lu, scsiCmd *cmd);
int spc_prep_start_stop(scsiLu *lu, scsiCmd *cmd);
void spc_exec_start_stop(scsiLu *lu, scsiCmd *cmd);
size_t spc_std_inquiry(const scsiLu *lu, uint8_t *buf, size_t max);
size_t spc_report_luns_data(const scsiCmd *cmd, uint8_t *buf, size_t max, uint32_t *full_len);

/* scsi_vpd.c */
void vpd_exec(scsiLu *lu, scsiCmd *cmd, uint8_t page, uint16_t alloc);
bool vpd_page_supported(const scsiLu *lu, uint8_t page);

/* scsi_modes.c */
int mode_prep_sense(scsiLu *lu, scsiCmd *cmd);
void mode_exec_sense(scsiLu *lu, scsiCmd *cmd);
int mode_prep_select(scsiLu *lu, scsiCmd *cmd);
void mode_exec_select(scsiLu *lu, scsiCmd *cmd);

/* scsi_sbc.c */
int sbc_prep_rw(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_read(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_write(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_verify(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_verify(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_write_blocks(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_write_verify(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_sync_cache(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_sync_cache(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_prefetch(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_prefetch(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_read_capacity10(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_read_capacity10(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_read_capacity16(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_read_capacity16(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_write_same(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_write_same(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_unmap(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_unmap(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_get_lba_status(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_get_lba_status(scsiLu *lu, scsiCmd *cmd);
int sbc_prep_caw(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_caw(scsiLu *lu, scsiCmd *cmd);
void sbc_exec_orwrite(scsiLu *lu, scsiCmd *cmd);
bool sbc_write_protected(scsiLu *lu, scsiCmd *cmd);

/* scsi_pr.c */
int pr_prep_in(scsiLu *lu, scsiCmd *cmd);
void pr_exec_in(scsiLu *lu, scsiCmd *cmd);
int pr_prep_out(scsiLu *lu, scsiCmd *cmd);
void pr_exec_out(scsiLu *lu, scsiCmd *cmd);
/* Does the PR state let this nexus run a command of class prc? [L held] */
bool pr_allows_locked(scsiLu *lu, const scsiNexus *nx, uint8_t prc);
bool pr_any_registration_locked(const scsiLu *lu);
void pr_load(scsiLu *lu);
void pr_free(scsiLu *lu);

/* scsi_opcodes.c */
const scsiOpDesc *scsi_op_lookup(const scsiLu *lu, uint8_t opcode, uint8_t sa, bool *opcode_known);
size_t scsi_op_count(void);
const scsiOpDesc *scsi_op_at(size_t i);
bool scsi_op_available(const scsiLu *lu, const scsiOpDesc *op);
void scsi_op_usage(const scsiLu *lu, const scsiOpDesc *op, uint8_t *usage);
int spc_prep_rsoc(scsiLu *lu, scsiCmd *cmd);
void spc_exec_rsoc(scsiLu *lu, scsiCmd *cmd);

#endif
