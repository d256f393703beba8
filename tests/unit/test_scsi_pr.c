// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scsi_pr.c: persistent reservations and RESERVE/RELEASE(6) in the
 * SCSI device model: registration rules and PRgeneration, READ KEYS
 * truncation, REPORT CAPABILITIES, the access table of all six types for
 * registered and unregistered nexuses, ownership when the holder
 * unregisters, RELEASE/CLEAR/PREEMPT with their unit attentions, READ FULL
 * STATUS TransportIDs, REGISTER AND MOVE, APTPL save/load (and a corrupted
 * record ignored), and the SPC-2 reservation interplay.
 */
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

static const uint8_t TUR_CDB[6] = {0};
static const uint8_t R10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
static const uint8_t W10[10] = {0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0};
static uint8_t blk[512];

static void prout(scsiLu *lu, const scsiNexus *nx, scsiCmd *c, uint8_t sa, uint8_t type,
                  uint64_t key, uint64_t sakey, uint8_t flags)
{
    uint8_t cdb[10] = {0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0};
    uint8_t p[24];
    memset(p, 0, sizeof(p));
    be64(p, key);
    be64(p + 8, sakey);
    p[20] = flags;
    run(lu, nx, c, cdb, 10, p, sizeof(p));
}

static void prin(scsiLu *lu, const scsiNexus *nx, scsiCmd *c, uint8_t sa)
{
    uint8_t cdb[10] = {0x5e, sa, 0, 0, 0, 0, 0, 0x10, 0x00, 0};
    run(lu, nx, c, cdb, 10, NULL, 0);
}

static scsiLu *pr_lu(void)
{
    scsiLuConfig cfg;
    scsiLu *lu = mk_lu_cfg(64, 512, false, false, &cfg);
    scsi_lu_unref(lu);
    cfg.pr_save = m_pr_save;
    cfg.pr_load = m_pr_load;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX1);
    clear_ua(lu, &NX2);
    return lu;
}

START_TEST(register_and_read_keys)
{
    scsiLu *lu = pr_lu();
    scsiCmd c;

    prout(lu, &NX1, &c, 0, 0, 0, 0xaaaa, 0);
    ck_good(&c);
    prout(lu, &NX1, &c, 0, 0, 0x1234, 0xbbbb, 0); /* wrong key */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prout(lu, &NX2, &c, 6, 0, 0x9999, 0xcccc, 0); /* ignore existing key */
    ck_good(&c);
    prin(lu, &NX1, &c, 0);
    ck_good(&c);
    ck_assert_uint_eq(rbe32(din), 2); /* generation */
    ck_assert_uint_eq(rbe32(din + 4), 16);
    ck_assert_uint_eq(rbe64(din + 8), 0xaaaa);
    ck_assert_uint_eq(rbe64(din + 16), 0xcccc);

    uint8_t trunc[10] = {0x5e, 0, 0, 0, 0, 0, 0, 0, 12, 0};
    run(lu, &NX1, &c, trunc, 10, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 12);
    ck_assert_uint_eq(rbe32(din + 4), 16);

    prout(lu, &NX1, &c, 0, 0, 0xaaaa, 0, 0); /* unregister */
    ck_good(&c);
    prin(lu, &NX1, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 8);

    prin(lu, &NX1, &c, 2); /* REPORT CAPABILITIES */
    ck_good(&c);
    ck_assert_int_eq(rbe32(din) >> 16, 8);
    ck_assert_int_eq(din[2] & 0x1d, 0x15); /* CRH ATP_C PTPL_C, no SIP_C */
    ck_assert_int_eq(din[4], 0xea);
    ck_assert_int_eq(din[5], 0x01);

    prout(lu, &NX1, &c, 0, 0, 0, 1, 0x08); /* SPEC_I_PT refused */
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x00);
    uint8_t badlen[10] = {0x5f, 0, 0, 0, 0, 0, 0, 0, 20, 0};
    run(lu, &NX1, &c, badlen, 10, blk, 20);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

/* Access rules of every type for a registered and an unregistered nexus. */
START_TEST(access_by_type)
{
    static const struct {
        uint8_t type;
        bool reg_read, reg_write, unreg_read, unreg_write;
    } t[] = {
        {1, true, false, true, false}, {3, false, false, false, false},
        {5, true, true, true, false},  {6, true, true, false, false},
        {7, true, true, true, false},  {8, true, true, false, false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        scsiLu *lu = pr_lu();
        scsiCmd c;
        prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0);
        ck_good(&c);
        prout(lu, &NX1, &c, 1, t[i].type, 0x1, 0, 0);
        ck_good(&c);
        run(lu, &NX1, &c, R10, 10, NULL, 0);
        ck_good(&c);
        run(lu, &NX1, &c, W10, 10, blk, 512);
        ck_good(&c);
        /* unregistered */
        run(lu, &NX2, &c, R10, 10, NULL, 0);
        ck_assert_int_eq(c.status == 0, t[i].unreg_read);
        run(lu, &NX2, &c, W10, 10, blk, 512);
        ck_assert_int_eq(c.status == 0, t[i].unreg_write);
        if (!t[i].unreg_write)
            ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
        /* registered */
        prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0);
        ck_good(&c);
        run(lu, &NX2, &c, R10, 10, NULL, 0);
        ck_assert_int_eq(c.status == 0, t[i].reg_read);
        run(lu, &NX2, &c, W10, 10, blk, 512);
        ck_assert_int_eq(c.status == 0, t[i].reg_write);
        /* INQUIRY, TUR and READ CAPACITY always pass */
        uint8_t rc[10] = {0x25};
        run(lu, &NX2, &c, rc, 10, NULL, 0);
        ck_good(&c);
        /* READ RESERVATION: key 0 for all-registrants types */
        prin(lu, &NX2, &c, 1);
        ck_good(&c);
        ck_assert_uint_eq(rbe32(din + 4), 16);
        ck_assert_uint_eq(rbe64(din + 8), (t[i].type >= 7 ? 0 : 1));
        ck_assert_int_eq(din[21], t[i].type);
        /* ownership: the holder unregisters */
        prout(lu, &NX1, &c, 0, 0, 0x1, 0, 0);
        ck_good(&c);
        if (t[i].type == 5 || t[i].type == 6) { /* registrants-only: released */
            run(lu, &NX2, &c, TUR_CDB, 6, NULL, 0);
            ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x04);
        }
        prin(lu, &NX2, &c, 1);
        ck_good(&c);
        ck_assert_uint_eq(rbe32(din + 4), (t[i].type >= 7 ? 16 : 0));
        scsi_lu_unref(lu);
    }
}
END_TEST

START_TEST(release_clear_preempt)
{
    scsiLu *lu = pr_lu();
    scsiCmd c;

    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0);
    prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0);
    prout(lu, &NX1, &c, 1, 5, 0x1, 0, 0); /* WERO */
    ck_good(&c);
    prout(lu, &NX2, &c, 1, 5, 0x2, 0, 0); /* not the holder */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prout(lu, &NX1, &c, 2, 3, 0x1, 0, 0); /* wrong type */
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x04);
    prout(lu, &NX2, &c, 2, 5, 0x2, 0, 0); /* non-holder release: no-op */
    ck_good(&c);
    prout(lu, &NX1, &c, 2, 5, 0x1, 0, 0);
    ck_good(&c);
    run(lu, &NX2, &c, TUR_CDB, 6, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x04); /* RESERVATIONS RELEASED */

    /* PREEMPT: NX2 takes the reservation away from NX1 */
    prout(lu, &NX1, &c, 1, 1, 0x1, 0, 0);
    ck_good(&c);
    prout(lu, &NX2, &c, 4, 3, 0x2, 0x1, 0);
    ck_good(&c);
    run(lu, &NX1, &c, R10, 10, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x05); /* REGISTRATIONS PREEMPTED */
    run(lu, &NX1, &c, R10, 10, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prin(lu, &NX2, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 8);
    prout(lu, &NX2, &c, 4, 3, 0x2, 0x77, 0); /* nobody has that key */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);

    /* CLEAR */
    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0);
    ck_good(&c);
    prout(lu, &NX2, &c, 3, 0, 0x2, 0, 0);
    ck_good(&c);
    run(lu, &NX1, &c, R10, 10, NULL, 0);
    ck_sense(&c, SK_UNIT_ATTENTION, 0x2a, 0x03);
    run(lu, &NX1, &c, W10, 10, blk, 512);
    ck_good(&c);
    prin(lu, &NX1, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 0);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(full_status_and_move)
{
    scsiLu *lu = pr_lu();
    scsiCmd c;
    uint8_t cdb[10] = {0x5f, 7, 1, 0, 0, 0, 0, 0, 24 + 48, 0};
    uint8_t p[24 + 48];

    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0x04); /* ALL_TG_PT */
    prout(lu, &NX1, &c, 1, 1, 0x1, 0, 0);
    ck_good(&c);
    prin(lu, &NX1, &c, 3);
    ck_good(&c);
    ck_assert_uint_eq(rbe64(din + 8), 1);
    ck_assert_int_eq(din[8 + 12], 0x03); /* ALL_TG_PT, R_HOLDER */
    ck_assert_int_eq(din[8 + 13], 1);
    ck_assert_int_eq(din[8 + 24], 0x45); /* iSCSI TransportID, format 01b */
    ck_assert_str_eq((const char *)din + 8 + 28, NX1.name);

    /* REGISTER AND MOVE to NX2 */
    memset(p, 0, sizeof(p));
    be64(p, 0x1);
    be64(p + 8, 0x2);
    p[17] = 0x02; /* UNREG */
    p[19] = 1;    /* relative target port 1 */
    be32(p + 20, 48);
    p[24] = 0x45;
    p[27] = 44;
    memcpy(p + 28, NX2.name, strlen(NX2.name));
    run(lu, &NX1, &c, cdb, 10, p, sizeof(p));
    ck_good(&c);
    prin(lu, &NX2, &c, 1);
    ck_assert_uint_eq(rbe64(din + 8), 0x2);
    prin(lu, &NX2, &c, 0);
    ck_assert_uint_eq(rbe32(din + 4), 8); /* NX1 unregistered */
    run(lu, &NX2, &c, W10, 10, blk, 512);
    ck_good(&c);
    run(lu, &NX1, &c, W10, 10, blk, 512);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(aptpl_persists)
{
    scsiLuConfig cfg;
    scsiLu *lu = mk_lu_cfg(64, 512, false, false, &cfg);
    scsiCmd c;

    scsi_lu_unref(lu);
    free(disk.saved_pr);
    disk.saved_pr = NULL;
    cfg.pr_save = m_pr_save;
    cfg.pr_load = m_pr_load;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX1);
    prout(lu, &NX1, &c, 0, 0, 0, 0xabcdef, 0x01); /* APTPL */
    ck_good(&c);
    prout(lu, &NX1, &c, 1, 6, 0xabcdef, 0, 0x01);
    ck_good(&c);
    ck_assert_ptr_nonnull(disk.saved_pr);
    scsi_lu_unref(lu);

    lu = scsi_lu_new(&cfg); /* "power cycle" */
    clear_ua(lu, &NX2);
    run(lu, &NX2, &c, R10, 10, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    prin(lu, &NX2, &c, 1);
    ck_assert_uint_eq(rbe64(din + 8), 0xabcdef);
    ck_assert_int_eq(din[21], 6);
    prin(lu, &NX2, &c, 2);
    ck_assert_int_eq(din[3] & 1, 1); /* PTPL_A */
    scsi_lu_unref(lu);

    /* a corrupted record is ignored */
    ((uint8_t *)disk.saved_pr)[30] ^= 0xff;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX2);
    run(lu, &NX2, &c, R10, 10, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);

    /* without pr_save APTPL is refused */
    cfg.pr_save = NULL;
    lu = scsi_lu_new(&cfg);
    clear_ua(lu, &NX1);
    prout(lu, &NX1, &c, 0, 0, 0, 0x1, 0x01);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x26, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(reserve6)
{
    scsiLu *lu = pr_lu();
    uint8_t res[6] = {0x16}, rel[6] = {0x17}, ms[6] = {0x1a, 0, 0x3f, 0, 255, 0};
    uint8_t inq[6] = {0x12, 0, 0, 0, 36, 0};
    scsiCmd c;

    run(lu, &NX1, &c, res, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX1, &c, res, 6, NULL, 0); /* again by the holder */
    ck_good(&c);
    run(lu, &NX2, &c, res, 6, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    run(lu, &NX2, &c, rel, 6, NULL, 0); /* no-op */
    ck_good(&c);
    run(lu, &NX1, &c, ms, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, ms, 6, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    run(lu, &NX2, &c, inq, 6, NULL, 0);
    ck_good(&c);
    prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0); /* PR commands conflict too */
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    run(lu, &NX1, &c, rel, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, res, 6, NULL, 0);
    ck_good(&c);
    run(lu, &NX2, &c, rel, 6, NULL, 0);
    ck_good(&c);
    /* with a persistent registration RESERVE(6) conflicts */
    prout(lu, &NX2, &c, 0, 0, 0, 0x2, 0);
    ck_good(&c);
    run(lu, &NX1, &c, res, 6, NULL, 0);
    ck_assert_int_eq(c.status, SCSI_STATUS_RESERVATION_CONFLICT);
    scsi_lu_unref(lu);
}
END_TEST

static Suite *pr_suite(void)
{
    Suite *s = suite_create("scsi_pr");
    TCase *tc = tcase_create("pr");
    tcase_add_test(tc, register_and_read_keys);
    tcase_add_test(tc, access_by_type);
    tcase_add_test(tc, release_clear_preempt);
    tcase_add_test(tc, full_status_and_move);
    tcase_add_test(tc, aptpl_persists);
    tcase_add_test(tc, reserve6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(disk.saved_pr);
    return failed ? 1 : 0;
}
