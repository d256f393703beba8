// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_scsi_sbc.c: SBC-3 block commands of the SCSI device model, driven
 * with real CDBs through scsi_cmd_prepare/scsi_cmd_exec against a
 * memory-backed LU: data round trips, range checks, transfer length 0,
 * protection fields refused, read-only, residual writes, READ CAPACITY,
 * VERIFY/WRITE AND VERIFY with miscompare offsets, SYNCHRONIZE CACHE,
 * PRE-FETCH, WRITE SAME (pattern, UNMAP, NDOB, refused sizes), UNMAP,
 * GET LBA STATUS, COMPARE AND WRITE and ORWRITE.
 */
#include <pthread.h>
#include <time.h>

#include "scsi_test_lu.h"
#include "test_support.h"

static void rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n, uint8_t flags)
{
    memset(cdb, 0, 10);
    cdb[0] = op;
    cdb[1] = flags;
    be32(cdb + 2, lba);
    cdb[7] = (uint8_t)(n >> 8);
    cdb[8] = (uint8_t)n;
}

static void rw16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n, uint8_t flags)
{
    memset(cdb, 0, 16);
    cdb[0] = op;
    cdb[1] = flags;
    be64(cdb + 2, lba);
    be32(cdb + 10, n);
}

/* A segment map past its deadline (docs/design.md section 7, "Freed
 * extents"): reads and writes get NOT READY 02/04/01, commands that do not
 * touch the medium still work, and moving the deadline on serves I/O again. */
START_TEST(map_deadline_refuses_media_io)
{
    scsiLuConfig c;
    scsiDeadline *map = scsi_deadline_new(); /* time 0: already passed */
    ck_assert_ptr_nonnull(map);
    scsiLu *lu = mk_lu_cfg(1000, 512, false, false, &c);
    scsi_lu_unref(lu);
    c.map_deadline = map;
    lu = scsi_lu_new(&c);
    ck_assert_ptr_nonnull(lu);
    uint8_t cdb[16], buf[512];
    static const uint8_t tur[6] = {0};
    uint8_t rc10[10] = {0x25};
    scsiCmd cmd;

    clear_ua(lu, &NX1);
    memset(buf, 0x5a, sizeof(buf));
    rw10(cdb, 0x2a, 3, 1, 0);
    run(lu, &NX1, &cmd, cdb, 10, buf, 512);
    ck_sense(&cmd, SK_NOT_READY, 0x04, 0x01);
    ck_assert_int_eq(disk.mem[3 * 512], 0); /* nothing written */
    rw10(cdb, 0x28, 3, 1, 0);
    run(lu, &NX1, &cmd, cdb, 10, NULL, 0);
    ck_sense(&cmd, SK_NOT_READY, 0x04, 0x01);
    ck_assert_int_eq(cmd.data_in_len, 0);
    run(lu, &NX1, &cmd, tur, 6, NULL, 0);
    ck_good(&cmd);
    run(lu, &NX1, &cmd, rc10, 10, NULL, 0);
    ck_good(&cmd);

    /* a change check moved it on */
    scsi_deadline_set(map, scsi_deadline_now_ms() + 60000);
    rw10(cdb, 0x2a, 3, 1, 0);
    run(lu, &NX1, &cmd, cdb, 10, buf, 512);
    ck_good(&cmd);
    rw10(cdb, 0x28, 3, 1, 0);
    run(lu, &NX1, &cmd, cdb, 10, NULL, 0);
    ck_good(&cmd);
    ck_assert_mem_eq(din, buf, 512);

    /* and it passes again */
    scsi_deadline_set(map, scsi_deadline_now_ms() - 1);
    run(lu, &NX1, &cmd, cdb, 10, NULL, 0);
    ck_sense(&cmd, SK_NOT_READY, 0x04, 0x01);
    scsi_lu_unref(lu);
    scsi_deadline_unref(map); /* the LU held its own reference */
}
END_TEST

START_TEST(write_read_roundtrip)
{
    scsiLu *lu = mk_lu(1000, 512, false);
    uint8_t cdb[16], buf[4096];
    scsiCmd c;

    clear_ua(lu, &NX1);
    for (int i = 0; i < 4096; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    rw10(cdb, 0x2a, 10, 8, 0x08); /* WRITE(10) FUA */
    run(lu, &NX1, &c, cdb, 10, buf, 4096);
    ck_good(&c);
    ck_assert_int_eq(c.data_out_needed, 4096);
    ck_assert_int_eq(disk.fua_writes, 1);
    ck_assert_mem_eq(disk.mem + 10 * 512, buf, 4096);

    rw16(cdb, 0x88, 10, 8, 0x18); /* READ(16) DPO FUA */
    run(lu, &NX1, &c, cdb, 16, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 4096);
    ck_assert_mem_eq(din, buf, 4096);

    /* READ(6): transfer length 0 means 256 blocks */
    uint8_t r6[6] = {0x08, 0, 0, 0, 0, 0};
    run(lu, &NX1, &c, r6, 6, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 256 * 512);
    ck_assert_mem_eq(din + 10 * 512, buf, 4096);

    /* WRITE(12) then READ(12) */
    uint8_t w12[12] = {0xaa, 0, 0, 0, 0x03, 0xe7, 0, 0, 0, 1, 0, 0}; /* LBA 999, 1 block */
    run(lu, &NX1, &c, w12, 12, buf, 512);
    ck_good(&c);
    ck_assert_mem_eq(disk.mem + 999 * 512, buf, 512);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(range_and_zero_length)
{
    scsiLu *lu = mk_lu(1000, 512, false);
    uint8_t cdb[16];
    scsiCmd c;

    clear_ua(lu, &NX1);
    rw10(cdb, 0x28, 999, 2, 0);
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);
    ck_assert_int_eq(c.data_in_max, 0);

    rw10(cdb, 0x28, 1000, 0, 0); /* 0 blocks at the end: fine */
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 0);

    rw10(cdb, 0x28, 1001, 0, 0); /* 0 blocks past the end: out of range */
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);

    rw16(cdb, 0x88, UINT64_MAX, 1, 0); /* wrap-around */
    run(lu, &NX1, &c, cdb, 16, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);

    rw16(cdb, 0x8a, 0, 2000, 0); /* above max transfer length */
    run(lu, &NX1, &c, cdb, 16, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);

    rw10(cdb, 0x28, 0, 1, 0x20); /* RDPROTECT=1: no protection information */
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    ck_assert_int_eq(c.sense[15], 0x80 | 0x40 | 0x08 | 5); /* SKSV C/D BPV bit 5 */
    ck_assert_int_eq(c.sense[17], 1);                      /* byte 1 */

    rw10(cdb, 0x2a, 0, 1, 0x40); /* WRPROTECT=2 */
    run(lu, &NX1, &c, cdb, 10, "x", 1);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(read_only_and_residual)
{
    scsiLu *lu = mk_lu_cfg(100, 4096, false, true, NULL);
    uint8_t cdb[16], buf[8192];
    scsiCmd c;

    clear_ua(lu, &NX1);
    rw10(cdb, 0x2a, 0, 1, 0);
    run(lu, &NX1, &c, cdb, 10, buf, 4096);
    ck_sense(&c, SK_DATA_PROTECT, 0x27, 0x00);
    rw10(cdb, 0x28, 0, 1, 0);
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_good(&c);
    scsi_lu_unref(lu);

    /* EDTL smaller than the transfer length: only what arrived is written */
    lu = mk_lu(100, 4096, false);
    clear_ua(lu, &NX1);
    memset(buf, 'b', sizeof(buf));
    memset(disk.mem, 'a', 2 * 4096);
    rw10(cdb, 0x2a, 0, 2, 0);
    run_edtl(lu, &NX1, &c, cdb, 10, buf, 4096, 4096);
    ck_good(&c);
    ck_assert_int_eq(disk.mem[0], 'b');
    ck_assert_int_eq(disk.mem[4095], 'b');
    ck_assert_int_eq(disk.mem[4096], 'a');
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(read_capacity)
{
    scsiLu *lu = mk_lu(1000, 512, true);
    uint8_t rc10[10] = {0x25};
    uint8_t rc16[16] = {0x9e, 0x10};
    scsiCmd c;

    clear_ua(lu, &NX1);
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 8);
    ck_assert_uint_eq(rbe32(din), 999);
    ck_assert_uint_eq(rbe32(din + 4), 512);

    rc16[13] = 32;
    run(lu, &NX1, &c, rc16, 16, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 32);
    ck_assert_uint_eq(rbe64(din), 999);
    ck_assert_uint_eq(rbe32(din + 8), 512);
    ck_assert_int_eq(din[14] & 0xc0, 0xc0); /* LBPME LBPRZ: thin, unmap zeroes */

    rc16[13] = 15; /* allocation length truncates */
    run(lu, &NX1, &c, rc16, 16, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 15);

    rc10[2] = 1; /* LBA without PMI */
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);

    /* beyond 2^32 blocks READ CAPACITY(10) says 0xFFFFFFFF */
    scsi_lu_set_capacity(lu, 0x100000010ull);
    clear_ua(lu, &NX1);
    rc10[2] = 0;
    run(lu, &NX1, &c, rc10, 10, NULL, 0);
    ck_good(&c);
    ck_assert_uint_eq(rbe32(din), 0xffffffffu);
    run(lu, &NX1, &c, rc16, 16, NULL, 0);
    ck_assert_uint_eq(rbe64(din), 0x10000000full);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(verify_and_write_verify)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[16], buf[2048];
    scsiCmd c;

    clear_ua(lu, &NX1);
    memset(buf, 0x5a, sizeof(buf));
    rw10(cdb, 0x2e, 4, 4, 0x02); /* WRITE AND VERIFY(10) BYTCHK */
    run(lu, &NX1, &c, cdb, 10, buf, 2048);
    ck_good(&c);
    ck_assert_mem_eq(disk.mem + 4 * 512, buf, 2048);

    rw10(cdb, 0x2f, 4, 4, 0x02); /* VERIFY(10) BYTCHK=1, equal */
    run(lu, &NX1, &c, cdb, 10, buf, 2048);
    ck_good(&c);

    buf[1000] ^= 1; /* mismatch at byte 1000 */
    run(lu, &NX1, &c, cdb, 10, buf, 2048);
    ck_sense(&c, SK_MISCOMPARE, 0x1d, 0x00);
    ck_assert_int_eq(c.sense[0], 0xf0); /* VALID: INFORMATION holds the offset */
    ck_assert_uint_eq(rbe32(c.sense + 3), 1000);

    rw10(cdb, 0x2f, 4, 4, 0x00); /* BYTCHK=0: medium verification only */
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_out_needed, 0);

    rw16(cdb, 0x8f, 4, 4, 0x06); /* VERIFY(16) BYTCHK=3: one block for all */
    buf[1000] ^= 1;
    run(lu, &NX1, &c, cdb, 16, buf, 512);
    ck_good(&c);
    ck_assert_int_eq(c.data_out_needed, 512);

    rw10(cdb, 0x2f, 4, 4, 0x04); /* BYTCHK=2 reserved */
    run(lu, &NX1, &c, cdb, 10, buf, 512);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(sync_cache_prefetch)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[16];
    scsiCmd c;

    clear_ua(lu, &NX1);
    rw10(cdb, 0x35, 0, 0, 0x02);
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(disk.flushes, 1);
    rw16(cdb, 0x91, 99, 2, 0);
    run(lu, &NX1, &c, cdb, 16, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);
    rw10(cdb, 0x34, 10, 10, 0x02);
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_good(&c);
    rw16(cdb, 0x90, 100, 1, 0);
    run(lu, &NX1, &c, cdb, 16, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(write_same)
{
    scsiLu *lu = mk_lu(100, 512, true);
    uint8_t cdb[16], blk[512];
    scsiCmd c;

    clear_ua(lu, &NX1);
    memset(blk, 0xa6, sizeof(blk));
    rw10(cdb, 0x41, 10, 5, 0);
    run(lu, &NX1, &c, cdb, 10, blk, 512);
    ck_good(&c);
    for (int i = 10; i < 15; i++)
        ck_assert_mem_eq(disk.mem + i * 512, blk, 512);
    ck_assert_int_eq(disk.mem[15 * 512], 0);

    /* UNMAP bit with a zero block on a thin LU deallocates */
    memset(blk, 0, sizeof(blk));
    rw16(cdb, 0x93, 10, 2, 0x08);
    run(lu, &NX1, &c, cdb, 16, blk, 512);
    ck_good(&c);
    ck_assert_int_eq(disk.unmaps, 1);
    ck_assert_int_eq(disk.mem[10 * 512], 0);
    ck_assert_int_eq(disk.mem[12 * 512], (uint8_t)0xa6);

    /* NDOB: no data-out, zeros */
    rw16(cdb, 0x93, 12, 1, 0x01);
    run(lu, &NX1, &c, cdb, 16, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_out_needed, 0);
    ck_assert_int_eq(disk.mem[12 * 512], 0);

    /* wrong Data-Out size, zero blocks (WSNZ), out of range, ANCHOR */
    rw10(cdb, 0x41, 0, 1, 0x08);
    run(lu, &NX1, &c, cdb, 10, blk, 256);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    run_edtl(lu, &NX1, &c, cdb, 10, blk, 512, 1024);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    rw10(cdb, 0x41, 0, 0, 0);
    run(lu, &NX1, &c, cdb, 10, blk, 512);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    rw10(cdb, 0x41, 101, 0, 0);
    run(lu, &NX1, &c, cdb, 10, blk, 512);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);
    rw10(cdb, 0x41, 0, 1, 0x10);
    run(lu, &NX1, &c, cdb, 10, blk, 512);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);

    /* thick: the UNMAP bit is not offered */
    lu = mk_lu(100, 512, false);
    clear_ua(lu, &NX1);
    rw10(cdb, 0x41, 0, 1, 0x08);
    run(lu, &NX1, &c, cdb, 10, blk, 512);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(unmap_and_lba_status)
{
    scsiLu *lu = mk_lu(100, 512, true);
    uint8_t cdb[10] = {0x42}, p[8 + 32];
    uint8_t gls[16] = {0x9e, 0x12};
    scsiCmd c;

    clear_ua(lu, &NX1);
    memset(disk.mem, 0x11, disk.size);
    memset(p, 0, sizeof(p));
    p[1] = 6 + 32;
    p[3] = 32;
    be64(p + 8, 5);
    be32(p + 16, 3);
    be64(p + 24, 50);
    be32(p + 32, 0); /* zero blocks: nothing */
    cdb[8] = sizeof(p);
    run(lu, &NX1, &c, cdb, 10, p, sizeof(p));
    ck_good(&c);
    ck_assert_int_eq(disk.unmaps, 1);
    ck_assert_int_eq(disk.mem[5 * 512], 0);
    ck_assert_int_eq(disk.mem[8 * 512], 0x11);

    be64(p + 24, 99);
    be32(p + 32, 2); /* beyond the end */
    run(lu, &NX1, &c, cdb, 10, p, sizeof(p));
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);

    cdb[8] = 4; /* 1..7: parameter list length error */
    run(lu, &NX1, &c, cdb, 10, p, 4);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x1a, 0x00);
    cdb[8] = 0; /* 0: nothing to do */
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_good(&c);

    be64(gls + 2, 7);
    gls[13] = 24;
    run(lu, &NX1, &c, gls, 16, NULL, 0);
    ck_good(&c);
    ck_assert_int_eq(c.data_in_len, 24);
    ck_assert_uint_eq(rbe32(din), 20);
    ck_assert_uint_eq(rbe64(din + 8), 7);
    ck_assert_uint_eq(rbe32(din + 16), 93);
    be64(gls + 2, 100);
    run(lu, &NX1, &c, gls, 16, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x21, 0x00);
    scsi_lu_unref(lu);

    /* thick: UNMAP is an unknown opcode */
    lu = mk_lu(100, 512, false);
    clear_ua(lu, &NX1);
    cdb[8] = 0;
    run(lu, &NX1, &c, cdb, 10, NULL, 0);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x20, 0x00);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(compare_and_write)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[16] = {0x89}, buf[2048];
    scsiCmd c;

    clear_ua(lu, &NX1);
    memset(disk.mem + 20 * 512, 'A', 1024);
    be64(cdb + 2, 20);
    cdb[13] = 2;
    memset(buf, 'A', 1024);
    memset(buf + 1024, 'B', 1024);
    run(lu, &NX1, &c, cdb, 16, buf, 2048);
    ck_good(&c);
    ck_assert_int_eq(disk.mem[20 * 512], 'B');
    ck_assert_int_eq(disk.mem[22 * 512 - 1], 'B');

    /* now the medium holds B: comparing with A miscompares at offset 0 */
    memset(buf + 1024, 'C', 1024);
    run(lu, &NX1, &c, cdb, 16, buf, 2048);
    ck_sense(&c, SK_MISCOMPARE, 0x1d, 0x00);
    ck_assert_uint_eq(rbe32(c.sense + 3), 0);
    ck_assert_int_eq(disk.mem[20 * 512], 'B');

    memset(buf, 'B', 1024);
    buf[700] = 'x';
    run(lu, &NX1, &c, cdb, 16, buf, 2048);
    ck_sense(&c, SK_MISCOMPARE, 0x1d, 0x00);
    ck_assert_uint_eq(rbe32(c.sense + 3), 700);

    /* Data-Out size must be exactly 2 x NUMBER OF LOGICAL BLOCKS */
    run_edtl(lu, &NX1, &c, cdb, 16, buf, 2048, 1024);
    ck_sense(&c, SK_ILLEGAL_REQUEST, 0x24, 0x00);
    cdb[13] = 0;
    run_edtl(lu, &NX1, &c, cdb, 16, NULL, 0, 0);
    ck_good(&c);
    scsi_lu_unref(lu);
}
END_TEST

START_TEST(orwrite)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[16], buf[512];
    scsiCmd c;

    clear_ua(lu, &NX1);
    memset(disk.mem + 3 * 512, 0x0f, 512);
    memset(buf, 0xf0, 512);
    rw16(cdb, 0x8b, 3, 1, 0);
    run(lu, &NX1, &c, cdb, 16, buf, 512);
    ck_good(&c);
    ck_assert_int_eq(disk.mem[3 * 512], 0xff);
    ck_assert_int_eq(disk.mem[4 * 512 - 1], 0xff);
    scsi_lu_unref(lu);
}
END_TEST

/* ---- the lease fence (scsi_lu_set_fence) ------------------------------------- */

static int fence_checks;
static bool fence_answer;
static bool count_check(void *ctx)
{
    (void)ctx;
    fence_checks++;
    return fence_answer;
}

/* A fence refuses writes with 7/27/00 but does not report WP; a soft one
 * asks fence_check (which may lift it), a hard one never does. */
START_TEST(fence_soft_and_hard)
{
    scsiLuConfig cfg;
    scsiLu *lu0 = mk_lu_cfg(100, 512, false, false, &cfg);
    scsi_lu_unref(lu0);
    cfg.fence_check = count_check;
    scsiLu *lu = scsi_lu_new(&cfg);
    uint8_t cdb[16], buf[512];
    scsiCmd c;
    memset(buf, 0xab, sizeof(buf));
    clear_ua(lu, &NX1);

    fence_checks = 0;
    fence_answer = false;
    ck_assert(scsi_lu_set_fence(lu, SCSI_FENCE_HARD));
    ck_assert(scsi_lu_fenced(lu));
    ck_assert(!scsi_lu_write_protected(lu)); /* no WP bit for a fence */
    rw10(cdb, 0x2a, 1, 1, 0);
    run(lu, &NX1, &c, cdb, 10, buf, 512);
    ck_sense(&c, 0x7, 0x27, 0x00);
    ck_assert_int_eq(fence_checks, 0); /* hard: never asked */
    ck_assert_int_eq(disk.mem[512], 0);

    ck_assert(scsi_lu_set_fence(lu, SCSI_FENCE_SOFT));
    run(lu, &NX1, &c, cdb, 10, buf, 512);
    ck_sense(&c, 0x7, 0x27, 0x00);
    ck_assert_int_ge(fence_checks, 1); /* asked at once after a new fence */
    ck_assert_int_eq(disk.mem[512], 0);
    int asked = fence_checks;
    run(lu, &NX1, &c, cdb, 10, buf, 512); /* within SCSI_FENCE_CHECK_MS: not asked again */
    ck_sense(&c, 0x7, 0x27, 0x00);
    ck_assert_int_eq(fence_checks, asked);

    fence_answer = true; /* the lease came: a new fence is asked at once */
    ck_assert(scsi_lu_set_fence(lu, SCSI_FENCE_SOFT));
    run(lu, &NX1, &c, cdb, 10, buf, 512);
    ck_good(&c);
    ck_assert(!scsi_lu_fenced(lu));
    ck_assert_int_eq(disk.mem[512], 0xab);
    scsi_lu_unref(lu);
}
END_TEST

/* A write that passed the fence at prepare (before its data came) is
 * checked again when it executes: a fence set in between stops it. */
START_TEST(fence_between_prepare_and_exec)
{
    scsiLu *lu = mk_lu(100, 512, false);
    uint8_t cdb[16];
    static uint8_t data[512] __attribute__((aligned(4096)));
    scsiCmd c;
    clear_ua(lu, &NX1);
    memset(data, 0xcd, sizeof(data));
    rw10(cdb, 0x2a, 2, 1, 0);
    memset(&c, 0, sizeof(c));
    c.cdb = cdb;
    c.cdb_len = 10;
    c.nexus = &NX1;
    c.edtl = 512;
    c.write_dir = true;
    ck_assert_int_eq(scsi_cmd_prepare(lu, &c), 0);
    ck_assert(scsi_lu_set_fence(lu, SCSI_FENCE_HARD));
    c.data_out = data;
    c.data_out_len = 512;
    c.data_in = din;
    scsi_cmd_exec(lu, &c);
    ck_sense(&c, 0x7, 0x27, 0x00);
    ck_assert_int_eq(disk.mem[2 * 512], 0);
    scsi_lu_unref(lu);
}
END_TEST

/* Setting a fence waits for the writes already executing: once it returns
 * nothing written before it can still land. */
static volatile int slow_in_write, slow_release;
static int slow_write(void *ctx, uint64_t off, uint32_t len, const void *buf, bool fua)
{
    __atomic_store_n(&slow_in_write, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&slow_release, __ATOMIC_SEQ_CST)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return m_write(ctx, off, len, buf, fua);
}
static const scsiBackingOps ops_slow = {m_read, slow_write, m_flush, NULL};

typedef struct {
    scsiLu *lu;
    scsiCmd c;
    uint8_t cdb[16];
    volatile int fence_returned;
    bool drained;
} slowCtx;

static void *slow_writer(void *arg)
{
    slowCtx *x = arg;
    scsi_cmd_exec(x->lu, &x->c);
    return NULL;
}

static void *fencer(void *arg)
{
    slowCtx *x = arg;
    x->drained = scsi_lu_set_fence(x->lu, SCSI_FENCE_HARD);
    __atomic_store_n(&x->fence_returned, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

START_TEST(fence_waits_for_writes_under_way)
{
    scsiLuConfig cfg;
    scsiLu *lu0 = mk_lu_cfg(100, 512, false, false, &cfg);
    scsi_lu_unref(lu0);
    cfg.ops = &ops_slow;
    static slowCtx x;
    static uint8_t data[512] __attribute__((aligned(4096)));
    memset(&x, 0, sizeof(x));
    x.lu = scsi_lu_new(&cfg);
    clear_ua(x.lu, &NX1);
    memset(data, 0xef, sizeof(data));
    slow_in_write = slow_release = 0;
    rw10(x.cdb, 0x2a, 3, 1, 0);
    x.c.cdb = x.cdb;
    x.c.cdb_len = 10;
    x.c.nexus = &NX1;
    x.c.edtl = 512;
    x.c.write_dir = true;
    ck_assert_int_eq(scsi_cmd_prepare(x.lu, &x.c), 0);
    x.c.data_out = data;
    x.c.data_out_len = 512;
    x.c.data_in = din;
    pthread_t w, f;
    ck_assert_int_eq(pthread_create(&w, NULL, slow_writer, &x), 0);
    for (int i = 0; i < 5000 && !__atomic_load_n(&slow_in_write, __ATOMIC_SEQ_CST); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(slow_in_write, "the write never reached the backing store");
    ck_assert_int_eq(pthread_create(&f, NULL, fencer, &x), 0);
    struct timespec ts = {0, 100000000}; /* 100 ms: the fence must still wait */
    nanosleep(&ts, NULL);
    ck_assert_int_eq(__atomic_load_n(&x.fence_returned, __ATOMIC_SEQ_CST), 0);
    __atomic_store_n(&slow_release, 1, __ATOMIC_SEQ_CST);
    pthread_join(w, NULL);
    pthread_join(f, NULL);
    ck_assert(x.drained);
    ck_good(&x.c); /* it was past the fence: it completes */
    ck_assert_int_eq(disk.mem[3 * 512], 0xef);
    scsi_lu_unref(x.lu);
}
END_TEST

static Suite *sbc_suite(void)
{
    Suite *s = suite_create("scsi_sbc");
    TCase *tc = tcase_create("sbc");
    tcase_add_test(tc, write_read_roundtrip);
    tcase_add_test(tc, map_deadline_refuses_media_io);
    tcase_add_test(tc, range_and_zero_length);
    tcase_add_test(tc, read_only_and_residual);
    tcase_add_test(tc, read_capacity);
    tcase_add_test(tc, verify_and_write_verify);
    tcase_add_test(tc, sync_cache_prefetch);
    tcase_add_test(tc, write_same);
    tcase_add_test(tc, unmap_and_lba_status);
    tcase_add_test(tc, compare_and_write);
    tcase_add_test(tc, orwrite);
    tcase_add_test(tc, fence_soft_and_hard);
    tcase_add_test(tc, fence_between_prepare_and_exec);
    tcase_add_test(tc, fence_waits_for_writes_under_way);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(sbc_suite());
}
