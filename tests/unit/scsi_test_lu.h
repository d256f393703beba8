// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * scsi_test_lu.h: the memory-backed LU and CDB/byte-order helpers the SCSI
 * unit tests share (test_scsi_sbc/spc/pr/ua.c): one definition instead of a
 * copy per file. Each test uses a different part, hence the pragmas.
 */
#ifndef POOL_TEST_SCSI_TEST_LU_H
#define POOL_TEST_SCSI_TEST_LU_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi.h"

/* each test file uses a different part of these helpers */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"
#pragma GCC diagnostic ignored "-Wunused-variable"

typedef struct {
    uint8_t *mem;
    uint64_t size;
    int flushes;
    int fua_writes;
    int unmaps;
    void *saved_pr;
    size_t saved_pr_len;
} MemDisk;

static int m_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
    MemDisk *d = ctx;
    ck_assert_msg(((uintptr_t)buf & 4095) == 0, "read buffer not aligned");
    ck_assert_msg(off + len <= d->size, "read beyond the disk");
    memcpy(buf, d->mem + off, len);
    return 0;
}

static int m_write(void *ctx, uint64_t off, uint32_t len, const void *buf, bool fua)
{
    MemDisk *d = ctx;
    ck_assert_msg(off + len <= d->size, "write beyond the disk");
    memcpy(d->mem + off, buf, len);
    if (fua)
        d->fua_writes++;
    return 0;
}

static int m_flush(void *ctx)
{
    ((MemDisk *)ctx)->flushes++;
    return 0;
}

static int m_unmap(void *ctx, uint64_t off, uint64_t len)
{
    MemDisk *d = ctx;
    ck_assert_msg(off + len <= d->size, "unmap beyond the disk");
    memset(d->mem + off, 0, len);
    d->unmaps++;
    return 0;
}

static int m_pr_save(void *ctx, const void *data, size_t len)
{
    MemDisk *d = ctx;
    free(d->saved_pr);
    d->saved_pr = malloc(len);
    memcpy(d->saved_pr, data, len);
    d->saved_pr_len = len;
    return 0;
}

static int m_pr_load(void *ctx, void **data, size_t *len)
{
    MemDisk *d = ctx;
    if (!d->saved_pr)
        return -ENOENT;
    *data = malloc(d->saved_pr_len);
    memcpy(*data, d->saved_pr, d->saved_pr_len);
    *len = d->saved_pr_len;
    return 0;
}

static const scsiBackingOps ops_thick = {m_read, m_write, m_flush, NULL};
static const scsiBackingOps ops_thin = {m_read, m_write, m_flush, m_unmap};

static MemDisk disk;
static uint8_t *din; /* 4096-aligned data-in buffer */
#define DIN_SIZE (4u << 20)

static const scsiNexus NX1 = {"iqn.1994-05.com.example:a,i,0x23d000000001", 1,
                              "iqn.2026-11.org.poold:pool1,t,0x0001"};
static const scsiNexus NX2 = {"iqn.1994-05.com.example:b,i,0x23d000000002", 1,
                              "iqn.2026-11.org.poold:pool1,t,0x0001"};

static scsiLu *mk_lu_cfg(uint64_t nblocks, uint32_t bs, bool thin, bool ro, scsiLuConfig *out)
{
    scsiLuConfig c;
    memset(&c, 0, sizeof(c));
    if (!disk.mem || disk.size != nblocks * bs) {
        free(disk.mem);
        disk.size = nblocks * bs;
        ck_assert_int_eq(posix_memalign((void **)&disk.mem, 4096, disk.size), 0);
    }
    memset(disk.mem, 0, disk.size);
    disk.flushes = disk.fua_writes = disk.unmaps = 0;
    if (!din)
        ck_assert_int_eq(posix_memalign((void **)&din, 4096, DIN_SIZE), 0);
    snprintf(c.uuid, sizeof(c.uuid), "0f8e6c3a-1d2b-4c5d-8e9f-a0b1c2d3e4f5");
    snprintf(c.serial, sizeof(c.serial), "0f8e6c3a1d2b4c5d");
    for (int i = 0; i < 8; i++)
        c.naa[i] = (uint8_t)(0x30 + i);
    snprintf(c.product, sizeof(c.product), "pool1/vol1");
    snprintf(c.vendor, sizeof(c.vendor), "POOLD");
    snprintf(c.revision, sizeof(c.revision), "0001");
    c.block_size = bs;
    c.nblocks = nblocks;
    c.read_only = ro;
    c.write_cache = true;
    c.max_xfer_blocks = 1024;
    c.ops = thin ? &ops_thin : &ops_thick;
    c.ctx = &disk;
    c.unmap_zeroes = thin;
    if (out)
        *out = c;
    return scsi_lu_new(&c);
}

static scsiLu *mk_lu(uint64_t nblocks, uint32_t bs, bool thin)
{
    return mk_lu_cfg(nblocks, bs, thin, false, NULL);
}

/* Run one command the way the transport does. dout may be longer than what
 * prepare asks for; only data_out_needed (or less, if dout is shorter) is
 * handed over. edtl: the expected data transfer length of the iSCSI PDU. */
static void run_edtl(scsiLu *lu, const scsiNexus *nx, scsiCmd *cmd, const uint8_t *cdb,
                     uint8_t cdb_len, const void *dout, uint32_t dout_len, uint32_t edtl)
{
    static uint8_t *dbuf;
    memset(cmd, 0, sizeof(*cmd));
    cmd->cdb = cdb;
    cmd->cdb_len = cdb_len;
    cmd->nexus = nx;
    cmd->edtl = edtl;
    cmd->write_dir = dout_len > 0;
    cmd->read_dir = dout_len == 0;
    if (scsi_cmd_prepare(lu, cmd) != 0) {
        ck_assert(cmd->prepared_error);
        ck_assert_int_ne(cmd->status, 0);
        return;
    }
    ck_assert_uint_le(cmd->data_in_max, DIN_SIZE);
    if (!dbuf)
        ck_assert_int_eq(posix_memalign((void **)&dbuf, 4096, DIN_SIZE), 0);
    uint32_t n = dout_len < cmd->data_out_needed ? dout_len : cmd->data_out_needed;
    if (n > cmd->edtl)
        n = (uint32_t)cmd->edtl;
    if (n)
        memcpy(dbuf, dout, n);
    cmd->data_out = dbuf;
    cmd->data_out_len = n;
    memset(din, 0xee, cmd->data_in_max);
    cmd->data_in = din;
    scsi_cmd_exec(lu, cmd);
    ck_assert_uint_le(cmd->data_in_len, cmd->data_in_max);
}

static void run(scsiLu *lu, const scsiNexus *nx, scsiCmd *cmd, const uint8_t *cdb, uint8_t cdb_len,
                const void *dout, uint32_t dout_len)
{
    run_edtl(lu, nx, cmd, cdb, cdb_len, dout, dout_len, dout_len ? dout_len : DIN_SIZE);
}

#define SENSE_KEY(c)  ((c)->sense[2] & 0x0f)
#define SENSE_ASC(c)  ((c)->sense[12])
#define SENSE_ASCQ(c) ((c)->sense[13])

#define ck_sense(c, key, asc, ascq)                                                                \
    do {                                                                                           \
        ck_assert_int_eq((c)->status, SCSI_STATUS_CHECK_CONDITION);                                \
        ck_assert_int_eq((c)->sense[0] & 0x7f, 0x70);                                              \
        ck_assert_int_eq(SENSE_KEY(c), (key));                                                     \
        ck_assert_int_eq(SENSE_ASC(c), (asc));                                                     \
        ck_assert_int_eq(SENSE_ASCQ(c), (ascq));                                                   \
    } while (0)
#define ck_good(c)                                                                                 \
    ck_assert_msg((c)->status == 0, "status %d sense %x/%02x/%02x", (c)->status, SENSE_KEY(c),     \
                  SENSE_ASC(c), SENSE_ASCQ(c))

static void clear_ua(scsiLu *lu, const scsiNexus *nx)
{
    static const uint8_t tur[6] = {0};
    scsiCmd c;
    for (int i = 0; i < 20; i++) {
        run(lu, nx, &c, tur, 6, NULL, 0);
        if (c.status == SCSI_STATUS_GOOD)
            return;
    }
    ck_abort_msg("unit attentions never cleared");
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}
static uint32_t rbe32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t rbe64(const uint8_t *p)
{
    return ((uint64_t)rbe32(p) << 32) | rbe32(p + 4);
}

#endif
