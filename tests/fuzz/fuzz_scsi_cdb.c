// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_scsi_cdb.c: arbitrary CDBs and Data-Out through scsi_cmd_prepare /
 * scsi_cmd_exec on a small memory LU (thin, so UNMAP and WRITE SAME with
 * UNMAP are reachable; APTPL saves into memory).
 *
 * Input layout: byte 0 selects the nexus (bit 0), a thick/thin LU (bit 1)
 * and read-only (bit 2); byte 1 is the CDB length (taken modulo 17); then
 * the CDB; the rest is Data-Out. The EDTL is the Data-Out length for
 * commands that want Data-Out, else the Data-In limit below.
 *
 * Checks: data_in_len <= data_in_max <= the buffer handed over; the
 * backing is never asked for bytes outside the disk; every CHECK CONDITION
 * carries sense data. ASan catches any write outside the buffers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scsi.h"

#define NBLOCKS 64
#define BS      512
#define DIN_MAX (1u << 20)

static uint8_t *mem;
static uint8_t *din;
static uint8_t *dout;
static void *pr_blob;
static size_t pr_blob_len;

static int f_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
    if (off + len > (uint64_t)NBLOCKS * BS || off % BS || len % BS)
        abort();
    memcpy(buf, mem + off, len);
    return 0;
}

static int f_write(void *ctx, uint64_t off, uint32_t len, const void *buf, bool fua)
{
    if (off + len > (uint64_t)NBLOCKS * BS || off % BS || len % BS)
        abort();
    memcpy(mem + off, buf, len);
    return 0;
}

static int f_flush(void *ctx)
{
    return 0;
}

static int f_unmap(void *ctx, uint64_t off, uint64_t len)
{
    if (off + len > (uint64_t)NBLOCKS * BS || off % BS || len % BS)
        abort();
    memset(mem + off, 0, len);
    return 0;
}

static int f_pr_save(void *ctx, const void *data, size_t len)
{
    free(pr_blob);
    pr_blob = malloc(len);
    if (!pr_blob)
        return -1;
    memcpy(pr_blob, data, len);
    pr_blob_len = len;
    return 0;
}

static const scsiBackingOps thick = {f_read, f_write, f_flush, NULL};
static const scsiBackingOps thin = {f_read, f_write, f_flush, f_unmap};

static const scsiNexus nx[2] = {
    {"iqn.1994-05.com.example:a,i,0x23d000000001", 1, "iqn.2026-11.org.poold:p,t,0x0001"},
    {"iqn.1994-05.com.example:b,i,0x23d000000002", 2, "iqn.2026-11.org.poold:p,t,0x0002"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t luns[] = {0, 1, 300};
    static const scsiLunList list = {luns, 3};
    scsiLuConfig cfg;
    scsiCmd cmd;
    uint8_t cdb[16];

    if (size < 2)
        return 0;
    if (!mem) {
        mem = aligned_alloc(4096, NBLOCKS * BS);
        din = aligned_alloc(4096, DIN_MAX);
        dout = aligned_alloc(4096, DIN_MAX);
    }
    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.serial, "fuzz");
    strcpy(cfg.product, "fuzz");
    cfg.block_size = BS;
    cfg.nblocks = NBLOCKS;
    cfg.read_only = data[0] & 4;
    cfg.write_cache = true;
    cfg.max_xfer_blocks = 128;
    cfg.ops = (data[0] & 2) ? &thin : &thick;
    cfg.unmap_zeroes = data[0] & 8;
    cfg.pr_save = f_pr_save;
    scsiLu *lu = scsi_lu_new(&cfg);
    if (!lu)
        abort();

    uint8_t cdb_len = data[1] % 17;
    if (cdb_len == 0 || (size_t)cdb_len + 2 > size) {
        scsi_lu_unref(lu);
        return 0;
    }
    memcpy(cdb, data + 2, cdb_len);
    const uint8_t *out = data + 2 + cdb_len;
    size_t out_len = size - 2 - cdb_len;
    if (out_len > DIN_MAX)
        out_len = DIN_MAX;

    /* run the command twice: once as the first command of the nexus (UA),
     * then for real; a third time from the other nexus */
    for (int round = 0; round < 3; round++) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.cdb = cdb;
        cmd.cdb_len = cdb_len;
        cmd.nexus = &nx[round == 2 ? !(data[0] & 1) : (data[0] & 1)];
        cmd.luns = &list;
        cmd.edtl = out_len ? out_len : DIN_MAX;
        if (scsi_cmd_prepare(lu, &cmd) != 0) {
            if (cmd.status == 0 || !cmd.prepared_error)
                abort();
            if (cmd.status == 2 && cmd.sense_len == 0)
                abort();
            continue;
        }
        if (cmd.data_in_max > DIN_MAX)
            continue; /* the transport would refuse a buffer this big */
        uint32_t n = cmd.data_out_needed < out_len ? cmd.data_out_needed : (uint32_t)out_len;
        memcpy(dout, out, n);
        cmd.data_out = dout;
        cmd.data_out_len = n;
        cmd.data_in = din;
        scsi_cmd_exec(lu, &cmd);
        if (cmd.data_in_len > cmd.data_in_max)
            abort();
        if (cmd.status == 2 && cmd.sense_len == 0)
            abort();
    }
    scsi_lu_set_capacity(lu, NBLOCKS / 2);
    scsi_lu_nexus_remove(lu, &nx[0]);
    scsi_lu_reset(lu, &nx[1], 0);
    scsi_lu_unref(lu);
    return 0;
}
