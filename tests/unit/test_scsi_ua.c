// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scsi_ua.c: unit attentions per I_T nexus: power-on for a new nexus,
 * CAPACITY DATA HAS CHANGED and REPORTED LUNS DATA HAS CHANGED on every
 * nexus in order, INQUIRY/REQUEST SENSE not blocked, LUN reset (not to the
 * issuer) releasing RESERVE(6), nexus loss, bounded queues, and the LU
 * reference count.
 */
/* ---- memory-backed LU shared by the SCSI unit tests (copied per file) ---- */
/* ---- memory-backed LU shared by the SCSI unit tests (copied per file) ---- */
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
    for (int i = 0; i < 16; i++)
        c.naa[i] = (uint8_t)(0x60 + i);
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
/* ---- end of shared helpers ---- */

static const uint8_t TUR[6] = {0};

START_TEST(power_on_ua_per_nexus)
{
    scsiLu *lu = mk_lu(100, 512, false);
    scsiCmd c;

    scsi_lu_nexus_add(lu, &NX1);
    run(lu, &NX1, &c, TUR, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x29, 0x00);
    run(lu, &NX1, &c, TUR, 6, NULL, 0); /* consumed */
    ck_good(&c);
    /* a nexus the LU never saw also starts with the power-on UA */
    run(lu, &NX2, &c, TUR, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x29, 0x00);
    run(lu, &NX2, &c, TUR, 6, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(capacity_change_and_luns_changed)
{
    scsiLu *lu = mk_lu(200, 512, false); /* the disk has 200 blocks */
    uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    uint8_t rc10[10] = {0x25};
    scsiCmd c;

    scsi_lu_set_capacity(lu, 100); /* the LU starts smaller */
    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    scsi_lu_set_capacity(lu, 200);
    ck_assert_uint_eq(scsi_lu_get_capacity(lu), 200);
    scsi_lu_report_luns_changed(lu);

    run(lu, &NX1, &c, inq, 6, NULL, 0); /* INQUIRY is not blocked */
    ck_good(&c);
    run(lu, &NX1, &c, rc10, 10, NULL, 0); /* oldest first */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x09);
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x3f, 0x0e);
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_good(&c);
    ck_assert_uint_eq(rbe32(din), 199); /* the new size, immediately */

    run(lu, &NX2, &c, rc10, 10, NULL, 0); /* every nexus gets its own */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x09);

    /* reads beyond the old end work at once */
    uint8_t r10[10] = {0x28, 0, 0, 0, 0, 150, 0, 0, 1, 0};
    run(lu, &NX1, &c, r10, 10, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(reset_and_remove)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t res6[6] = {0x16};
    uint8_t rs[6] = {0x03, 0, 0, 0, 18, 0};
    scsiCmd c;

    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    run(lu, &NX1, &c, res6, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, TUR, 6, NULL, 0);
    ck_good(&c); /* TEST UNIT READY passes a RESERVE(6) */
    scsi_lu_reset(lu, &NX1, 0);
    run(lu, &NX1, &c, TUR, 6, NULL, 0); /* the issuer gets no UA */
    ck_good(&c);
    run(lu, &NX2, &c, rs, 6, NULL, 0); /* REQUEST SENSE reports it */
    ck_good(&c);
    ck_assert_int_eq(din[2], SK_UNIT_ATTENTION);
    ck_assert_int_eq(din[12], 0x29);
    ck_assert_int_eq(din[13], 0x03);
    run(lu, &NX2, &c, res6, 6, NULL, 0); /* the reset released RESERVE(6) */
    ck_good(&c);

    /* nexus loss releases the reservation too and forgets the UAs */
    scsi_lu_set_capacity(lu, 120);
    scsi_lu_nexus_remove(lu, &NX2);
    run(lu, &NX1, &c, res6, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x09);
    run(lu, &NX1, &c, res6, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, TUR, 6, NULL, 0); /* a new nexus: power-on UA only */
    ck_sense(&c, SK_UNIT_ATTENTION, 0x29, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(ua_queue_bounded)
{
    scsiLu *lu = mk_lu(100, 512, false);
    scsiCmd c;
    int n = 0;

    clear_ua(lu, &NX1);
    for (int i = 0; i < 100; i++) {
        scsi_lu_set_capacity(lu, 100 + (uint64_t)i + 1);
        scsi_lu_report_luns_changed(lu);
    }
    /* duplicates are merged: two distinct UAs pending */
    for (;;) {
        run(lu, &NX1, &c, TUR, 6, NULL, 0);
        if (c.status == SCSI_STATUS_GOOD)
            break;
        ck_assert_int_eq(SENSE_KEY(&c), SK_UNIT_ATTENTION);
        n++;
        ck_assert_int_le(n, 16);
    }
    ck_assert_int_eq(n, 2);
    scsi_lu_unref(lu);
}
END_TEST

static int released;
static void on_release(void *ctx)
{
    released++;
}

START_TEST(refcount)
{
    scsiLuConfig cfg;
    scsiLu *lu = mk_lu_cfg(10, 512, false, false, &cfg);
    scsi_lu_unref(lu);
    cfg.release = on_release;
    released = 0;
    lu = scsi_lu_new(&cfg);
    ck_assert_ptr_nonnull(lu);
    ck_assert_ptr_eq(scsi_lu_ref(lu), lu);
    scsi_lu_unref(lu);
    ck_assert_int_eq(released, 0);
    scsi_lu_unref(lu);
    ck_assert_int_eq(released, 1);
    cfg.block_size = 520;
    ck_assert_ptr_null(scsi_lu_new(&cfg));
}
END_TEST

static Suite *ua_suite(void)
{
    Suite *s = suite_create("scsi_ua");
    TCase *tc = tcase_create("ua");
    tcase_add_test(tc, power_on_ua_per_nexus);
    tcase_add_test(tc, capacity_change_and_luns_changed);
    tcase_add_test(tc, reset_and_remove);
    tcase_add_test(tc, ua_queue_bounded);
    tcase_add_test(tc, refcount);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ua_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
