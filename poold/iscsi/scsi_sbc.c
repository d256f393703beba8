/*
 * scsi_sbc.c: SBC-3 block commands.
 *
 * READ/WRITE (6/10/12/16) are the hot path: they run without allocation
 * and without the LU lock, straight between the transport's buffers and
 * the backing ops (capacity is read with an atomic load). Everything else
 * that needs a scratch buffer (VERIFY, WRITE AND VERIFY with BYTCHK, WRITE
 * SAME, COMPARE AND WRITE, ORWRITE) allocates one bounded, 4096-aligned
 * buffer per command.
 *
 * Common rules (SBC-3 4.x and the command descriptions):
 *   - LBA + TRANSFER LENGTH beyond the capacity -> ILLEGAL REQUEST, LOGICAL
 *     BLOCK ADDRESS OUT OF RANGE (21/00), also for transfer length 0;
 *   - transfer length 0 transfers nothing and is not an error (READ(6) and
 *     WRITE(6): 0 means 256 blocks);
 *   - transfer length above VPD B0 MAXIMUM TRANSFER LENGTH -> INVALID FIELD
 *     IN CDB; RDPROTECT/WRPROTECT/VRPROTECT/ORPROTECT are refused by the
 *     usage mask in scsi_opcodes.c (no protection information);
 *   - a read-only LU refuses writes with DATA PROTECT / WRITE PROTECTED
 *     (27/00), a software write protected one (control page SWP) with 27/02;
 *   - if the transport collected less Data-Out than the CDB asks for
 *     (Expected Data Transfer Length smaller than the transfer length), only
 *     the whole blocks received are written: the transport reports the
 *     residual;
 *   - FUA writes pass fua=true to the backing; DPO is accepted and ignored.
 *
 * COMPARE AND WRITE and ORWRITE hold lu->caw_lock across read, compare and
 * write, so they are atomic with respect to each other (not to plain
 * WRITEs racing on the same blocks, which SAM leaves to the initiator's
 * ordering). A miscompare returns MISCOMPARE / MISCOMPARE DURING VERIFY
 * OPERATION (1D/00) with the offset of the first differing byte in the
 * INFORMATION field.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi_internal.h"

#define SCRATCH_MAX (1u << 20) /* bytes per scratch buffer */

static void *scratch_alloc(size_t len)
{
    void *p = NULL;

    if (len == 0)
        len = 4096;
    if (posix_memalign(&p, 4096, (len + 4095) & ~(size_t)4095) != 0)
        return NULL;
    return p;
}

/* LBA and transfer length of any read/write/verify style CDB. */
static void parse_lba_len(const uint8_t *cdb, uint64_t *lba, uint32_t *n, uint16_t *len_byte)
{
    switch (cdb[0]) {
    case 0x08:
    case 0x0a:
        *lba = get_be24(cdb + 1) & 0x1fffff;
        *n = cdb[4] ? cdb[4] : 256;
        *len_byte = 4;
        break;
    case 0x89:
        *lba = get_be64(cdb + 2);
        *n = cdb[13];
        *len_byte = 13;
        break;
    default:
        if (cdb[0] < 0x80) { /* 10-byte */
            *lba = get_be32(cdb + 2);
            *n = get_be16(cdb + 7);
            *len_byte = 7;
        } else if (cdb[0] >= 0xa0) { /* 12-byte */
            *lba = get_be32(cdb + 2);
            *n = get_be32(cdb + 6);
            *len_byte = 6;
        } else { /* 16-byte */
            *lba = get_be64(cdb + 2);
            *n = get_be32(cdb + 10);
            *len_byte = 10;
        }
        break;
    }
}

static bool out_of_range(scsiLu *lu, uint64_t lba, uint64_t n)
{
    uint64_t cap = scsi_lu_nblocks(lu);

    return lba > cap || n > cap - lba;
}

static int range_check(scsiLu *lu, scsiCmd *cmd, uint64_t lba, uint64_t n)
{
    if (out_of_range(lu, lba, n)) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return -1;
    }
    return 0;
}

bool sbc_write_protected(scsiLu *lu, scsiCmd *cmd)
{
    bool swp;

    cmd->modifies = true;
    /* the deadline first: once it passed, no call out (the fence check
     * asks sanlock, which may be the part that stalled) */
    if (lu->cfg.read_only || __atomic_load_n(&lu->wp, __ATOMIC_ACQUIRE) ||
        scsi_lu_deadline_passed(lu) || scsi_lu_fence_holds(lu)) {
        scsi_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED, 0x00);
        return true;
    }
    pthread_mutex_lock(&lu->lock);
    swp = lu->swp;
    pthread_mutex_unlock(&lu->lock);
    if (swp) {
        scsi_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED, 0x02);
        return true;
    }
    return false;
}

static bool is_write_op(uint8_t op)
{
    return op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a;
}

/* ---- READ / WRITE --------------------------------------------------------------- */

int sbc_prep_rw(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    bool write = is_write_op(cmd->cdb[0]);

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    if (write && sbc_write_protected(lu, cmd))
        return -1;
    if (n > lu->max_xfer) {
        scsi_sense_invalid_cdb(cmd, lb, -1);
        return -1;
    }
    if (range_check(lu, cmd, lba, n))
        return -1;
    if (write)
        cmd->data_out_needed = n * lu->cfg.block_size;
    else
        cmd->data_in_max = n * lu->cfg.block_size;
    return 0;
}

void sbc_exec_read(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    uint32_t bs = lu->cfg.block_size;
    int r;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    if (n == 0)
        return;
    if (range_check(lu, cmd, lba, n))
        return;
    if (!cmd->data_in || (uint64_t)n * bs > cmd->data_in_max) {
        scsi_sense(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE, 0);
        return;
    }
    r = lu->cfg.ops->read(lu->cfg.ctx, lba * bs, n * bs, cmd->data_in);
    if (r < 0) {
        scsi_sense_backing_error(cmd, r, false);
        return;
    }
    cmd->data_in_len = n * bs;
}

/* Whole blocks of Data-Out actually available. */
static uint32_t avail_blocks(const scsiLu *lu, const scsiCmd *cmd, uint32_t n)
{
    uint32_t have = cmd->data_out ? cmd->data_out_len : 0;

    if (have > cmd->data_out_needed)
        have = cmd->data_out_needed;
    have /= lu->cfg.block_size;
    return have < n ? have : n;
}

void sbc_exec_write(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    uint32_t bs = lu->cfg.block_size;
    bool fua = cmd->cdb[0] != 0x0a && (cmd->cdb[1] & 0x08);
    int r;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    n = avail_blocks(lu, cmd, n);
    if (n == 0)
        return;
    if (range_check(lu, cmd, lba, n))
        return;
    r = lu->cfg.ops->write(lu->cfg.ctx, lba * bs, n * bs, cmd->data_out, fua);
    if (r < 0)
        scsi_sense_backing_error(cmd, r, true);
}

/* ---- VERIFY / WRITE AND VERIFY ---------------------------------------------------- */

/* Compare the medium from lba with expected data: bytchk 1 = n blocks in
 * exp, bytchk 3 = one block in exp repeated. Sets sense on mismatch. */
static void verify_range(scsiLu *lu, scsiCmd *cmd, uint64_t lba, uint32_t n, int bytchk,
                         const uint8_t *exp)
{
    uint32_t bs = lu->cfg.block_size;
    uint32_t chunk = SCRATCH_MAX / bs;
    uint64_t done = 0;
    uint8_t *buf;

    if (chunk > n)
        chunk = n;
    buf = scratch_alloc((size_t)chunk * bs);
    if (!buf) {
        scsi_sense_backing_error(cmd, -ENOMEM, false);
        return;
    }
    while (done < n) {
        uint32_t c = n - done < chunk ? (uint32_t)(n - done) : chunk;
        int r = lu->cfg.ops->read(lu->cfg.ctx, (lba + done) * bs, c * bs, buf);
        if (r < 0) {
            scsi_sense_backing_error(cmd, r, false);
            break;
        }
        if (bytchk) {
            for (uint32_t b = 0; b < c; b++) {
                const uint8_t *e = bytchk == 1 ? exp + (done + b) * bs : exp;
                const uint8_t *m = buf + (size_t)b * bs;
                if (memcmp(e, m, bs) == 0)
                    continue;
                uint32_t i = 0;
                while (e[i] == m[i])
                    i++;
                scsi_sense_info(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY, 0,
                                (uint32_t)((done + b) * bs + i));
                free(buf);
                return;
            }
        }
        done += c;
    }
    free(buf);
}

int sbc_prep_verify(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    int bytchk = (cmd->cdb[1] >> 1) & 0x03;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    if (bytchk == 2) {
        scsi_sense_invalid_cdb(cmd, 1, 2);
        return -1;
    }
    if (bytchk && n > lu->max_xfer) {
        scsi_sense_invalid_cdb(cmd, lb, -1);
        return -1;
    }
    if (range_check(lu, cmd, lba, n))
        return -1;
    if (n == 0)
        return 0;
    if (bytchk == 1)
        cmd->data_out_needed = n * lu->cfg.block_size;
    else if (bytchk == 3)
        cmd->data_out_needed = lu->cfg.block_size;
    return 0;
}

void sbc_exec_verify(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    int bytchk = (cmd->cdb[1] >> 1) & 0x03;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    if (n == 0)
        return;
    if (range_check(lu, cmd, lba, n))
        return;
    if (bytchk == 1) {
        n = avail_blocks(lu, cmd, n);
        if (n == 0)
            return;
    } else if (bytchk == 3 && avail_blocks(lu, cmd, 1) < 1) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return;
    }
    verify_range(lu, cmd, lba, n, bytchk, cmd->data_out);
}

/* WRITE AND VERIFY and ORWRITE: n blocks of Data-Out, with the write-protect,
 * transfer-limit and range checks every write gets. */
int sbc_prep_write_blocks(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    if (sbc_write_protected(lu, cmd))
        return -1;
    if (n > lu->max_xfer) {
        scsi_sense_invalid_cdb(cmd, lb, -1);
        return -1;
    }
    if (range_check(lu, cmd, lba, n))
        return -1;
    cmd->data_out_needed = n * lu->cfg.block_size;
    return 0;
}

void sbc_exec_write_verify(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    uint32_t bs = lu->cfg.block_size;
    bool bytchk = cmd->cdb[1] & 0x02;
    int r;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    n = avail_blocks(lu, cmd, n);
    if (n == 0)
        return;
    if (range_check(lu, cmd, lba, n))
        return;
    /* the data must be on the medium before it is verified: write through */
    r = lu->cfg.ops->write(lu->cfg.ctx, lba * bs, n * bs, cmd->data_out, true);
    if (r < 0) {
        scsi_sense_backing_error(cmd, r, true);
        return;
    }
    if (bytchk)
        verify_range(lu, cmd, lba, n, 1, cmd->data_out);
}

/* ---- SYNCHRONIZE CACHE / PRE-FETCH ------------------------------------------------ */

int sbc_prep_sync_cache(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    return range_check(lu, cmd, lba, n);
}

void sbc_exec_sync_cache(scsiLu *lu, scsiCmd *cmd)
{
    /* IMMED is honoured by completing only after the flush: allowed, and
     * the only honest answer when GOOD must mean durable. */
    int r = lu->cfg.ops->flush(lu->cfg.ctx);

    if (r < 0)
        scsi_sense_backing_error(cmd, r, true);
}

int sbc_prep_prefetch(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    return range_check(lu, cmd, lba, n);
}

void sbc_exec_prefetch(scsiLu *lu, scsiCmd *cmd)
{
    /* No cache (O_DIRECT): SBC-3 PRE-FETCH returns GOOD when the blocks do
     * not fit in the cache, CONDITION MET only when they were (or will be)
     * cached. */
    cmd->status = SCSI_STATUS_GOOD;
}

/* ---- READ CAPACITY ------------------------------------------------------------------ */

int sbc_prep_read_capacity10(scsiLu *lu, scsiCmd *cmd)
{
    if (!(cmd->cdb[8] & 0x01) && get_be32(&cmd->cdb[2]) != 0) {
        scsi_sense_invalid_cdb(cmd, 2, -1);
        return -1;
    }
    cmd->data_in_max = 8;
    return 0;
}

void sbc_exec_read_capacity10(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t b[8];
    uint64_t cap = scsi_lu_nblocks(lu);
    uint64_t last = cap ? cap - 1 : 0;

    put_be32(b, last > 0xfffffffeull ? 0xffffffffu : (uint32_t)last);
    put_be32(b + 4, lu->cfg.block_size);
    scsi_data_in(cmd, b, sizeof(b), 8);
}

int sbc_prep_read_capacity16(scsiLu *lu, scsiCmd *cmd)
{
    cmd->data_in_max = get_be32(&cmd->cdb[10]);
    return 0;
}

void sbc_exec_read_capacity16(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t b[32];
    uint64_t cap = scsi_lu_nblocks(lu);

    memset(b, 0, sizeof(b));
    put_be64(b, cap ? cap - 1 : 0);
    put_be32(b + 8, lu->cfg.block_size);
    b[12] = 0x00; /* no protection */
    b[13] = 0x00; /* one logical block per physical block (not reported) */
    if (lu->thin)
        b[14] = 0x80 | (lu->cfg.unmap_zeroes ? 0x40 : 0); /* LBPME, LBPRZ */
    scsi_data_in(cmd, b, sizeof(b), get_be32(&cmd->cdb[10]));
}

/* ---- WRITE SAME ------------------------------------------------------------------------ */

int sbc_prep_write_same(scsiLu *lu, scsiCmd *cmd)
{
    bool ws16 = cmd->cdb[0] == 0x93;
    bool ndob = ws16 && (cmd->cdb[1] & 0x01);
    uint64_t lba = ws16 ? get_be64(&cmd->cdb[2]) : get_be32(&cmd->cdb[2]);
    uint32_t n = ws16 ? get_be32(&cmd->cdb[10]) : get_be16(&cmd->cdb[7]);
    uint32_t bs = lu->cfg.block_size;

    if (sbc_write_protected(lu, cmd))
        return -1;
    if (range_check(lu, cmd, lba, n))
        return -1;
    if (n == 0 || n > SCSI_WS_MAX_BLOCKS) { /* WSNZ=1; MAXIMUM WRITE SAME LENGTH */
        scsi_sense_invalid_cdb(cmd, ws16 ? 10 : 7, -1);
        return -1;
    }
    cmd->data_out_needed = ndob ? 0 : bs;
    /* exactly one block of Data-Out, no more, no less */
    if (!ndob && cmd->edtl != bs) {
        scsi_sense_invalid_cdb(cmd, ws16 ? 10 : 7, -1);
        return -1;
    }
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

void sbc_exec_write_same(scsiLu *lu, scsiCmd *cmd)
{
    bool ws16 = cmd->cdb[0] == 0x93;
    bool ndob = ws16 && (cmd->cdb[1] & 0x01);
    bool unmap = (cmd->cdb[1] & 0x08) && lu->thin;
    uint64_t lba = ws16 ? get_be64(&cmd->cdb[2]) : get_be32(&cmd->cdb[2]);
    uint32_t n = ws16 ? get_be32(&cmd->cdb[10]) : get_be16(&cmd->cdb[7]);
    uint32_t bs = lu->cfg.block_size;
    const uint8_t *pattern = NULL;
    uint8_t *buf;
    uint32_t chunk;
    int r;

    if (range_check(lu, cmd, lba, n))
        return;
    if (!ndob) {
        if (!cmd->data_out || cmd->data_out_len < bs) {
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
            return;
        }
        pattern = cmd->data_out;
    }
    bool zero = ndob || all_zero(pattern, bs);
    if (unmap && zero && lu->cfg.unmap_zeroes) {
        r = lu->cfg.ops->unmap(lu->cfg.ctx, lba * bs, (uint64_t)n * bs);
        if (r == 0)
            return;
        if (r != -EOPNOTSUPP)
            goto fail;
        /* could not deallocate: write the zeros instead */
    }
    chunk = SCRATCH_MAX / bs;
    if (chunk > n)
        chunk = n;
    buf = scratch_alloc((size_t)chunk * bs);
    if (!buf) {
        r = -ENOMEM;
        goto fail;
    }
    for (uint32_t i = 0; i < chunk; i++) {
        if (zero)
            memset(buf + (size_t)i * bs, 0, bs);
        else
            memcpy(buf + (size_t)i * bs, pattern, bs);
    }
    for (uint64_t done = 0; done < n;) {
        uint32_t c = n - done < chunk ? (uint32_t)(n - done) : chunk;
        r = lu->cfg.ops->write(lu->cfg.ctx, (lba + done) * bs, c * bs, buf, false);
        if (r < 0) {
            free(buf);
            goto fail;
        }
        done += c;
    }
    free(buf);
    return;
fail:
    scsi_sense_backing_error(cmd, r, true);
}

/* ---- UNMAP ------------------------------------------------------------------------------- */

int sbc_prep_unmap(scsiLu *lu, scsiCmd *cmd)
{
    uint16_t len = get_be16(&cmd->cdb[7]);

    if (sbc_write_protected(lu, cmd))
        return -1;
    if (len > 0 && len < 8) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return -1;
    }
    cmd->data_out_needed = len;
    return 0;
}

void sbc_exec_unmap(scsiLu *lu, scsiCmd *cmd)
{
    const uint8_t *d = cmd->data_out;
    uint32_t len = cmd->data_out_needed;
    uint32_t bs = lu->cfg.block_size;
    uint64_t total = 0;
    size_t nd;

    if (len == 0)
        return;
    if (!d || cmd->data_out_len < len) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return;
    }
    uint16_t bdl = get_be16(d + 2);
    if (bdl > len - 8)
        bdl = (uint16_t)(len - 8);
    nd = bdl / 16;
    if (nd > SCSI_UNMAP_MAX_DESCS) {
        scsi_sense_invalid_param(cmd, 2, -1);
        return;
    }
    for (size_t i = 0; i < nd; i++) {
        const uint8_t *e = d + 8 + i * 16;
        uint64_t lba = get_be64(e);
        uint32_t cnt = get_be32(e + 8);
        if (out_of_range(lu, lba, cnt)) {
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
            return;
        }
        total += cnt;
    }
    if (total > SCSI_UNMAP_MAX_LBAS) {
        scsi_sense_invalid_param(cmd, 8 + 8, -1);
        return;
    }
    for (size_t i = 0; i < nd; i++) {
        const uint8_t *e = d + 8 + i * 16;
        uint64_t lba = get_be64(e);
        uint32_t cnt = get_be32(e + 8);
        if (cnt == 0)
            continue;
        int r = lu->cfg.ops->unmap(lu->cfg.ctx, lba * bs, (uint64_t)cnt * bs);
        if (r < 0 && r != -EOPNOTSUPP) {
            scsi_sense_backing_error(cmd, r, true);
            return;
        }
    }
}

/* ---- GET LBA STATUS ------------------------------------------------------------------- */

int sbc_prep_get_lba_status(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba = get_be64(&cmd->cdb[2]);

    if (lba >= scsi_lu_nblocks(lu)) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return -1;
    }
    cmd->data_in_max = get_be32(&cmd->cdb[10]);
    return 0;
}

void sbc_exec_get_lba_status(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t b[24];
    uint64_t lba = get_be64(&cmd->cdb[2]);
    uint64_t cap = scsi_lu_nblocks(lu);
    uint64_t n;

    if (lba >= cap) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    n = cap - lba;
    if (n > 0xffffffffull)
        n = 0xffffffffull;
    memset(b, 0, sizeof(b));
    put_be32(b, 20); /* parameter data length: 4 + one descriptor */
    put_be64(b + 8, lba);
    put_be32(b + 16, (uint32_t)n);
    /* provisioning status 0: mapped or unknown (the backing keeps no map) */
    b[20] = 0x00;
    scsi_data_in(cmd, b, sizeof(b), get_be32(&cmd->cdb[10]));
}

/* ---- COMPARE AND WRITE / ORWRITE ----------------------------------------------------- */

static uint32_t caw_max(const scsiLu *lu)
{
    uint32_t m = SCSI_CAW_MAX_BLOCKS;

    if (m > lu->max_xfer / 2)
        m = lu->max_xfer / 2;
    return m;
}

int sbc_prep_caw(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba = get_be64(&cmd->cdb[2]);
    uint32_t n = cmd->cdb[13];

    if (sbc_write_protected(lu, cmd))
        return -1;
    if (n > caw_max(lu)) {
        scsi_sense_invalid_cdb(cmd, 13, -1);
        return -1;
    }
    if (range_check(lu, cmd, lba, n))
        return -1;
    cmd->data_out_needed = 2 * n * lu->cfg.block_size;
    /* the verify and write instances must both be there, exactly */
    if (cmd->edtl != cmd->data_out_needed) {
        scsi_sense_invalid_cdb(cmd, 13, -1);
        return -1;
    }
    return 0;
}

void sbc_exec_caw(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba = get_be64(&cmd->cdb[2]);
    uint32_t n = cmd->cdb[13];
    uint32_t bs = lu->cfg.block_size;
    size_t len = (size_t)n * bs;
    bool fua = cmd->cdb[1] & 0x08;
    uint8_t *buf;
    int r;

    if (n == 0)
        return;
    if (!cmd->data_out || cmd->data_out_len < 2 * len) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return;
    }
    if (range_check(lu, cmd, lba, n))
        return;
    buf = scratch_alloc(len);
    if (!buf) {
        scsi_sense_backing_error(cmd, -ENOMEM, true);
        return;
    }
    pthread_mutex_lock(&lu->caw_lock);
    r = lu->cfg.ops->read(lu->cfg.ctx, lba * bs, (uint32_t)len, buf);
    if (r < 0) {
        pthread_mutex_unlock(&lu->caw_lock);
        scsi_sense_backing_error(cmd, r, false);
        goto out;
    }
    if (memcmp(buf, cmd->data_out, len) != 0) {
        size_t i = 0;
        while (buf[i] == cmd->data_out[i])
            i++;
        pthread_mutex_unlock(&lu->caw_lock);
        scsi_sense_info(cmd, SK_MISCOMPARE, ASC_MISCOMPARE_DURING_VERIFY, 0, (uint32_t)i);
        goto out;
    }
    memcpy(buf, cmd->data_out + len, len); /* aligned copy of the write data */
    r = lu->cfg.ops->write(lu->cfg.ctx, lba * bs, (uint32_t)len, buf, fua);
    pthread_mutex_unlock(&lu->caw_lock);
    if (r < 0)
        scsi_sense_backing_error(cmd, r, true);
out:
    free(buf);
}

void sbc_exec_orwrite(scsiLu *lu, scsiCmd *cmd)
{
    uint64_t lba;
    uint32_t n;
    uint16_t lb;
    uint32_t bs = lu->cfg.block_size;
    bool fua = cmd->cdb[1] & 0x08;
    uint8_t *buf;
    int r = 0;

    parse_lba_len(cmd->cdb, &lba, &n, &lb);
    n = avail_blocks(lu, cmd, n);
    if (n == 0)
        return;
    if (range_check(lu, cmd, lba, n))
        return;
    uint32_t chunk = SCRATCH_MAX / bs;
    if (chunk > n)
        chunk = n;
    buf = scratch_alloc((size_t)chunk * bs);
    if (!buf) {
        scsi_sense_backing_error(cmd, -ENOMEM, true);
        return;
    }
    pthread_mutex_lock(&lu->caw_lock);
    for (uint64_t done = 0; done < n;) {
        uint32_t c = n - done < chunk ? (uint32_t)(n - done) : chunk;
        size_t clen = (size_t)c * bs;
        const uint8_t *src = cmd->data_out + done * bs;
        r = lu->cfg.ops->read(lu->cfg.ctx, (lba + done) * bs, (uint32_t)clen, buf);
        if (r < 0) {
            scsi_sense_backing_error(cmd, r, false);
            break;
        }
        for (size_t i = 0; i < clen; i++)
            buf[i] |= src[i];
        r = lu->cfg.ops->write(lu->cfg.ctx, (lba + done) * bs, (uint32_t)clen, buf, fua);
        if (r < 0) {
            scsi_sense_backing_error(cmd, r, true);
            break;
        }
        done += c;
    }
    pthread_mutex_unlock(&lu->caw_lock);
    free(buf);
}
