/*
 * scsi.h: the SCSI device model of the embedded target (SPC-4 / SBC-3),
 * independent of the transport. The iSCSI layer (iscsi_*.c) turns PDUs into
 * scsiCmd, calls scsi_cmd_exec(), and turns the result back into Data-In /
 * SCSI Response PDUs; the SCSI layer never sees a socket, and the backing
 * store is reached only through the scsiBacking ops (lun_backing.c maps an
 * LV's segments onto its PVs; tests use memory).
 *
 * Data flow of one command:
 *   1. transport receives the CDB, calls scsi_cmd_prepare(): it checks the
 *      opcode and CDB fields and says how many bytes of Data-Out the command
 *      needs (cmd->data_out_needed) and how many Data-In bytes it may return
 *      at most (cmd->data_in_max) — before any data moves, so the transport
 *      can size R2Ts and check ImmediateData against it;
 *   2. transport collects Data-Out into cmd->data_out (caller-owned buffer);
 *   3. scsi_cmd_exec() runs it: fills cmd->data_in (caller-owned buffer of
 *      at least data_in_max bytes), sets data_in_len, status and sense.
 *   If prepare already failed (status CHECK CONDITION), the transport skips
 *   2 and 3 and sends the response.
 *
 * Unit attentions, reservations and persistent reservations are kept per
 * I_T nexus (scsiNexus: initiator port name = "iqn...,i,0x<isid>", target
 * port = portal group). Thread safety: one mutex per LU guards its state
 * (UA lists, reservations, capacity); I/O to the backing runs outside it,
 * except COMPARE AND WRITE, which holds the LU's caw lock for atomicity.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_SCSI_H
#define POOL_TARGET_SCSI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* status codes (SAM-5) */
#define SCSI_STATUS_GOOD                 0x00
#define SCSI_STATUS_CHECK_CONDITION      0x02
#define SCSI_STATUS_CONDITION_MET        0x04
#define SCSI_STATUS_BUSY                 0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL        0x28
#define SCSI_STATUS_ACA_ACTIVE           0x30
#define SCSI_STATUS_TASK_ABORTED         0x40

/* sense keys */
#define SK_NO_SENSE        0x0
#define SK_RECOVERED_ERROR 0x1
#define SK_NOT_READY       0x2
#define SK_MEDIUM_ERROR    0x3
#define SK_HARDWARE_ERROR  0x4
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION  0x6
#define SK_DATA_PROTECT    0x7
#define SK_ABORTED_COMMAND 0xb
#define SK_MISCOMPARE      0xe

#define SCSI_SENSE_MAX 96

/* What stores the LU's blocks. All offsets in bytes, multiples of the block
 * size; buffers are aligned to 4096 (O_DIRECT). Return 0 or -errno. */
typedef struct {
    int (*read)(void *ctx, uint64_t offset, uint32_t len, void *buf);
    int (*write)(void *ctx, uint64_t offset, uint32_t len, const void *buf, bool fua);
    int (*flush)(void *ctx); /* make every completed write durable */
    /* optional: deallocate (UNMAP / WRITE SAME with UNMAP); NULL = not supported */
    int (*unmap)(void *ctx, uint64_t offset, uint64_t len);
} scsiBackingOps;

typedef struct {
    char name[256];             /* initiator port: "iqn.x,i,0x<isid hex>" */
    uint16_t rel_target_port;   /* relative target port id (portal group tag) */
    char target_port_name[256]; /* "iqn.target,t,0x<tpgt>" */
} scsiNexus;

typedef struct scsiLu scsiLu;

typedef struct {
    /* identity: stable across hosts and portals, derived from the volume */
    char uuid[37];    /* volume uuid */
    char serial[33];  /* VPD 80 */
    uint8_t naa[8];   /* VPD 83 NAA locally assigned (NAA 3h: 4 bits + 60 bits) */
    char product[17]; /* INQUIRY product id, space padded by the layer */
    char vendor[9];
    char revision[5];
    uint32_t block_size; /* 512 or 4096 */
    uint64_t nblocks;
    bool read_only;
    bool write_cache;         /* WCE in mode page 08: only true if flush really flushes */
    uint32_t max_xfer_blocks; /* VPD B0 maximum transfer length */
    const scsiBackingOps *ops;
    void *ctx;
    void (*release)(void *ctx); /* called when the LU is freed (may be NULL) */
    /* persistent reservations with APTPL are saved here (NULL: APTPL refused) */
    int (*pr_save)(void *ctx, const void *data, size_t len);
    int (*pr_load)(void *ctx, void **data, size_t *len);
    /* optional: a write met the fence (scsi_lu_set_fence): may this host
     * write now after all? Called from a target thread, at most once per
     * SCSI_FENCE_CHECK_MS per LU, only for SCSI_FENCE_SOFT, with the
     * LU's fence lock held (so scsi_lu_set_fence waits for a check under
     * way and wins over it); true lifts the fence. Must be thread-safe and
     * bounded. */
    bool (*fence_check)(void *fence_ctx);
    void *fence_ctx;
    void (*fence_release)(void *fence_ctx); /* when the LU is freed (may be NULL) */
    /* optional: the time after which this LU refuses writes whatever its
     * fence says, once scsi_lu_set_deadline_on turned it on (the LU takes
     * its own reference). Shared by every LU of a sanlock pool. */
    struct scsiDeadline *deadline;
    /* optional: the time until which the LU's segment map is known to be
     * current (docs/design.md section 7, "Freed extents"); from then on
     * commands that read or write the medium get NOT READY (02/04/01)
     * until it is moved on. The LU takes its own reference. NULL: no
     * limit. Shared by every LU of a sanlock pool. */
    struct scsiDeadline *map_deadline;
    /* added by the SCSI layer: true if ops->unmap makes the blocks read back
     * as zeros (LBPRZ=1; WRITE SAME with UNMAP and a zero block may then
     * deallocate instead of writing). false = unknown, never assumed. */
    bool unmap_zeroes;
} scsiLuConfig;

/* The target's LUN inventory as the initiator sees it (REPORT LUNS). */
typedef struct {
    const uint64_t *luns; /* sorted LUN numbers */
    size_t nluns;
} scsiLunList;

typedef struct {
    const uint8_t *cdb;
    uint8_t cdb_len;
    const scsiNexus *nexus;
    const scsiLunList *luns; /* for REPORT LUNS, answered on any LU */
    uint64_t edtl;           /* expected data transfer length from the transport */
    bool write_dir;          /* transport's W bit */
    bool read_dir;           /* transport's R bit */
    /* filled by prepare */
    uint32_t data_out_needed;
    uint32_t data_in_max;
    bool modifies; /* a write to the medium: exec re-checks the fence */
    /* buffers owned by the transport */
    const uint8_t *data_out;
    uint32_t data_out_len;
    uint8_t *data_in;
    uint32_t data_in_len; /* set by exec */
    /* result */
    uint8_t status;
    uint8_t sense[SCSI_SENSE_MAX];
    uint32_t sense_len;
    bool prepared_error; /* prepare produced the final status already */
} scsiCmd;

/* Reference counted: new returns one reference; the last unref frees the LU
 * (and calls cfg->release). Commands hold a reference while they run. */
scsiLu *scsi_lu_new(const scsiLuConfig *cfg);
scsiLu *scsi_lu_ref(scsiLu *lu);
void scsi_lu_unref(scsiLu *lu);

/* Online resize: new capacity; raises CAPACITY DATA HAS CHANGED (2A/09) on
 * every I_T nexus that has seen this LU. */
void scsi_lu_set_capacity(scsiLu *lu, uint64_t nblocks);
uint64_t scsi_lu_get_capacity(const scsiLu *lu);
/* REPORTED LUNS DATA HAS CHANGED (3F/0E) for every nexus: LUN added/removed. */
void scsi_lu_report_luns_changed(scsiLu *lu);
/* Refuse writes (DATA PROTECT / WRITE PROTECTED, MODE SENSE WP bit) from
 * now on, or allow them again; commands already past their check finish. */
void scsi_lu_set_write_protect(scsiLu *lu, bool wp);
bool scsi_lu_write_protected(const scsiLu *lu);
/* Refuse writes the same way, but without the WP bit: the LU is writable
 * in principle, only not by this host right now (an rw volume whose lease
 * it does not hold). An initiator that opens it meanwhile — QEMU starting
 * a VM whose lease is being taken — must not conclude the device is
 * read-only for good, as it would from WP.
 *   SCSI_FENCE_SOFT: a write that meets it asks cfg.fence_check, which
 *     may lift it (the lease came);
 *   SCSI_FENCE_HARD: only scsi_lu_set_fence lifts it (this host is about
 *     to give the lease up: it still holds it, and a check must not
 *     reopen the LU).
 * Setting a fence returns once every write that passed the fence before
 * has finished (writes are checked again when they execute, after their
 * data arrived), or after SCSI_FENCE_DRAIN_MS (false then). So a lease
 * can be released right after, with no write of this host still to land. */
typedef enum { SCSI_FENCE_OFF, SCSI_FENCE_SOFT, SCSI_FENCE_HARD } scsiFence;
bool scsi_lu_set_fence(scsiLu *lu, scsiFence fence);
bool scsi_lu_fenced(const scsiLu *lu);
#define SCSI_FENCE_CHECK_MS 200

/* Fencing by time (docs/design.md section 7, "The deadline"): a write
 * whose execution starts at or after the deadline's time is refused like a
 * fenced one (DATA PROTECT, 27/00), with no lock and no call out: one
 * clock read and two atomic loads. Whoever learns that this host's lease
 * stays valid longer (poold's lease checker thread) moves the time on;
 * when it stops learning that (sanlock stalled, the host froze), the time
 * simply passes and the LU fences itself.
 *
 * The clock is CLOCK_BOOTTIME, in ms: it advances while processes are
 * stopped (SIGSTOP, a frozen host) as CLOCK_MONOTONIC does, and also while
 * the host is suspended, when CLOCK_MONOTONIC stands still although the
 * other hosts' clocks, which decide when they may take our leases, run
 * on. A deadline therefore expires across a suspend too. sanlock's renewal
 * times are CLOCK_MONOTONIC: the checker converts them (lease_check.c).
 * CLOCK_BOOTTIME has no _COARSE variant; through the vDSO it costs about
 * what CLOCK_MONOTONIC does, tens of ns per write. */
typedef struct scsiDeadline scsiDeadline;
scsiDeadline *scsi_deadline_new(void); /* time 0: already passed */
scsiDeadline *scsi_deadline_ref(scsiDeadline *d);
void scsi_deadline_unref(scsiDeadline *d);
void scsi_deadline_set(scsiDeadline *d, int64_t until_ms);
int64_t scsi_deadline_get(const scsiDeadline *d);
int64_t scsi_deadline_now_ms(void); /* CLOCK_BOOTTIME */
/* Does the LU's cfg.deadline apply to it (off at creation)? */
void scsi_lu_set_deadline_on(scsiLu *lu, bool on);
/* Would a write starting now be refused by the deadline? */
bool scsi_lu_deadline_passed(const scsiLu *lu);
/* Has the LU's cfg.map_deadline passed (its map may be stale)? One clock
 * read and one atomic load; false without a map deadline. */
bool scsi_lu_map_stale(const scsiLu *lu);
#define SCSI_FENCE_DRAIN_MS 10000
/* A new I_T nexus logged in: POWER ON, RESET, OR BUS DEVICE RESET (29/00). */
void scsi_lu_nexus_add(scsiLu *lu, const scsiNexus *nexus);
/* Session gone: drop its UAs and (non-persistent) reservation. */
void scsi_lu_nexus_remove(scsiLu *lu, const scsiNexus *nexus);
/* Has this I_T nexus used the LU (and not ended since)? */
bool scsi_lu_has_nexus(scsiLu *lu, const scsiNexus *nexus);
/* The initiator names (the initiator port name up to ",i,") of the I_T
 * nexuses using the LU, each once: NULL-terminated, malloc'd strings in a
 * malloc'd array (pool_strv_free frees it); NULL if out of memory. */
char **scsi_lu_initiators(scsiLu *lu);
/* LOGICAL UNIT RESET / TARGET WARM or COLD RESET (29/03 or 29/02 to others). */
void scsi_lu_reset(scsiLu *lu, const scsiNexus *by, uint8_t ascq);

int scsi_cmd_prepare(scsiLu *lu, scsiCmd *cmd);
void scsi_cmd_exec(scsiLu *lu, scsiCmd *cmd);

/* A command for a LUN that does not exist: prepare and exec in one step.
 * INQUIRY answers with peripheral qualifier 011b / device type 1Fh, REPORT
 * LUNS and REQUEST SENSE work, the rest get LOGICAL UNIT NOT SUPPORTED
 * (25/00). Data-Out, if any, is discarded by the transport. */
void scsi_cmd_no_lu(scsiCmd *cmd);

/* Build fixed-format sense (70h) into cmd with CHECK CONDITION. */
void scsi_sense(scsiCmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq);

#endif
