// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_lun_backing.c: an LU's blocks on its PVs (lun_backing.c), with
 * regular files standing in for the PVs (O_DIRECT works on them as on block
 * devices): the segment map's arithmetic (every byte lands at its PV
 * offset, I/O split at segment boundaries), the checks that refuse a bad
 * map, and map swaps (grow, shrink) while other threads do I/O.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lun_backing.h"
#include "pool-error.h"
#include "test_support.h"

#define MIB     (1024u * 1024u)
#define PV_SIZE (4u * MIB)

static char dir[64];
static char pv1[96], pv2[96];

static void make_pv(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, PV_SIZE), 0);
    close(fd);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/poold-test-lunb.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(pv1, sizeof(pv1), "%s/pv1", dir);
    snprintf(pv2, sizeof(pv2), "%s/pv2", dir);
    make_pv(pv1);
    make_pv(pv2);
}

static void teardown(void)
{
    unlink(pv1);
    unlink(pv2);
    rmdir(dir);
}

/* A volume of nseg segments given as (pv, pv_offset, length) triples laid
 * end to end. */
typedef struct {
    const char *pv;
    uint64_t pv_offset, length;
} seg;

static poolVolDef *vol_new(const seg *s, size_t n)
{
    poolVolDef *v = calloc(1, sizeof(*v));
    v->name = strdup("vol");
    v->segments = calloc(n, sizeof(poolSegment));
    v->nsegments = n;
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        v->segments[i] = (poolSegment){off, s[i].length, strdup(s[i].pv), s[i].pv_offset};
        off += s[i].length;
    }
    v->capacity = off;
    return v;
}

static void vol_free(poolVolDef *v)
{
    for (size_t i = 0; i < v->nsegments; i++)
        free(v->segments[i].pv);
    free(v->segments);
    free(v->name);
    free(v);
}

static void *abuf(size_t len)
{
    void *p = NULL;
    ck_assert_int_eq(posix_memalign(&p, 4096, len), 0);
    return p;
}

/* byte i of the LV carries a value derived from its LV offset */
static uint8_t pat(uint64_t lv_off, uint8_t salt)
{
    return (uint8_t)((lv_off * 31 + lv_off / 4096 + salt) & 0xff);
}

/* Index of the first non-zero byte, or len. (One assertion per byte would
 * cost a Check message each.) */
static size_t first_nonzero(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len && p[i] == 0)
        i++;
    return i;
}

static void pv_read(const char *pv, uint64_t off, void *buf, size_t len)
{
    int fd = open(pv, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

/* 3 MiB in three segments over two PVs, out of order on pv1 */
static const seg three[] = {{pv1, 2 * MIB, MIB}, {pv2, 0, MIB}, {pv1, 0, MIB}};

START_TEST(every_byte_lands_at_its_pv_offset)
{
    poolVolDef *v = vol_new(three, 3);
    lunBacking *b = lun_backing_open(v);
    ck_assert_msg(b, "%s", pool_error_last() ? pool_error_last()->message : "?");
    ck_assert_uint_eq(lun_backing_size(b), 3 * MIB);

    uint8_t *buf = abuf(3 * MIB);
    for (uint64_t i = 0; i < 3 * MIB; i++)
        buf[i] = pat(i, 1);
    /* written in pieces that straddle the segment boundaries */
    ck_assert_int_eq(lun_backing_ops.write(b, 0, MIB - 4096, buf, false), 0);
    ck_assert_int_eq(lun_backing_ops.write(b, MIB - 4096, 8192, buf + MIB - 4096, true), 0);
    ck_assert_int_eq(lun_backing_ops.write(b, MIB + 4096, 2 * MIB - 4096, buf + MIB + 4096, false),
                     0);
    ck_assert_int_eq(lun_backing_ops.flush(b), 0);

    uint8_t *pv = malloc(MIB);
    for (size_t s = 0; s < 3; s++) {
        pv_read(three[s].pv, three[s].pv_offset, pv, MIB);
        ck_assert_msg(memcmp(pv, buf + s * MIB, MIB) == 0, "segment %zu misplaced", s);
    }
    /* and nothing else on the PVs was touched: pv1's [1M, 2M) and pv2 past 1M */
    pv_read(pv1, MIB, pv, MIB);
    ck_assert_msg(first_nonzero(pv, MIB) == MIB, "pv1 byte %zu written",
                  MIB + first_nonzero(pv, MIB));
    pv_read(pv2, MIB, pv, MIB);
    ck_assert_msg(first_nonzero(pv, MIB) == MIB, "pv2 byte %zu written",
                  MIB + first_nonzero(pv, MIB));

    /* a read across both boundaries returns the LV's bytes in order */
    uint8_t *r = abuf(MIB + 8192);
    ck_assert_int_eq(lun_backing_ops.read(b, MIB - 4096, MIB + 8192, r), 0);
    ck_assert(memcmp(r, buf + MIB - 4096, MIB + 8192) == 0);
    free(r);
    free(pv);
    free(buf);
    lun_backing_close(b);
    vol_free(v);
}
END_TEST

START_TEST(io_outside_the_lv_is_refused)
{
    poolVolDef *v = vol_new(three, 3);
    lunBacking *b = lun_backing_open(v);
    ck_assert_ptr_nonnull(b);
    uint8_t *buf = abuf(8192);
    ck_assert_int_eq(lun_backing_ops.read(b, 3 * MIB, 4096, buf), -ERANGE);
    ck_assert_int_eq(lun_backing_ops.read(b, 3 * MIB - 4096, 8192, buf), -ERANGE);
    ck_assert_int_eq(lun_backing_ops.write(b, UINT64_MAX - 4095, 8192, buf, false), -ERANGE);
    ck_assert_int_eq(lun_backing_ops.read(b, 3 * MIB - 4096, 4096, buf), 0);
    free(buf);
    lun_backing_close(b);
    vol_free(v);
}
END_TEST

static void expect_refused(const seg *s, size_t n, uint64_t capacity_delta, const char *words)
{
    poolVolDef *v = vol_new(s, n);
    v->capacity += capacity_delta;
    pool_error_reset();
    lunBacking *b = lun_backing_open(v);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(pool_error_last());
    ck_assert_msg(strstr(pool_error_last()->message, words), "'%s' lacks '%s'",
                  pool_error_last()->message, words);
    vol_free(v);
}

START_TEST(bad_maps_are_refused_with_the_cause)
{
    const seg past_end[] = {{pv1, PV_SIZE - MIB, 2 * MIB}};
    expect_refused(past_end, 1, 0, "beyond the end of PV");
    const seg unaligned[] = {{pv1, 100, MIB}};
    expect_refused(unaligned, 1, 0, "not contiguous or aligned");
    const seg empty_seg[] = {{pv1, 0, MIB}, {pv2, 0, 0}};
    expect_refused(empty_seg, 2, 0, "not contiguous or aligned");
    const seg ok[] = {{pv1, 0, MIB}};
    expect_refused(ok, 1, 4096, "segments cover");
    expect_refused(ok, 0, 0, "no blocks");
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no-such-pv", dir);
    const seg gone[] = {{pv1, 0, MIB}, {missing, 0, MIB}};
    expect_refused(gone, 2, 0, "cannot open its PV");

    /* a hole in the LV offsets */
    poolVolDef *v = vol_new(three, 3);
    v->segments[2].lv_offset += 4096;
    ck_assert_ptr_null(lun_backing_open(v));
    vol_free(v);
}
END_TEST

START_TEST(two_lus_share_a_pv)
{
    const seg a[] = {{pv1, 0, MIB}};
    const seg c[] = {{pv1, MIB, MIB}};
    poolVolDef *va = vol_new(a, 1), *vc = vol_new(c, 1);
    lunBacking *ba = lun_backing_open(va), *bc = lun_backing_open(vc);
    ck_assert_ptr_nonnull(ba);
    ck_assert_ptr_nonnull(bc);
    uint8_t *buf = abuf(4096);
    memset(buf, 0x5a, 4096);
    lun_backing_close(ba); /* the PV stays open for the other LU */
    ck_assert_int_eq(lun_backing_ops.write(bc, 0, 4096, buf, true), 0);
    uint8_t got[4096];
    pv_read(pv1, MIB, got, sizeof(got));
    ck_assert(memcmp(got, buf, 4096) == 0);
    free(buf);
    lun_backing_close(bc);
    vol_free(va);
    vol_free(vc);
}
END_TEST

/* I/O threads write and verify the first MiB while the main thread swaps the
 * map (grow to 3 MiB, shrink back to 1 MiB, again and again): every I/O
 * inside the current first MiB must see its own bytes. */
typedef struct {
    lunBacking *b;
    unsigned idx;
    atomic_bool *stop;
    int failures;
    atomic_uint rounds;
} ioArg;

static void *io_thread(void *p)
{
    ioArg *a = p;
    uint8_t *w = abuf(64 * 1024), *r = abuf(64 * 1024);
    uint64_t base = (uint64_t)a->idx * 256 * 1024; /* each thread owns 256 KiB */
    while (!atomic_load(a->stop)) {
        unsigned round = atomic_load(&a->rounds);
        uint8_t salt = (uint8_t)(round + a->idx);
        uint64_t off = base + (round % 4) * 64 * 1024;
        for (size_t i = 0; i < 64 * 1024; i++)
            w[i] = pat(off + i, salt);
        if (lun_backing_ops.write(a->b, off, 64 * 1024, w, false) != 0 ||
            lun_backing_ops.read(a->b, off, 64 * 1024, r) != 0 || memcmp(w, r, 64 * 1024) != 0)
            a->failures++;
        atomic_fetch_add(&a->rounds, 1);
    }
    free(w);
    free(r);
    return NULL;
}

START_TEST(map_swaps_under_io)
{
    const seg small[] = {{pv1, 2 * MIB, MIB}};
    poolVolDef *v1 = vol_new(small, 1), *v3 = vol_new(three, 3);
    lunBacking *b = lun_backing_open(v1);
    ck_assert_ptr_nonnull(b);
    atomic_bool stop = false;
    ioArg args[4];
    pthread_t th[4];
    for (unsigned i = 0; i < 4; i++) {
        args[i] = (ioArg){.b = b, .idx = i, .stop = &stop};
        ck_assert_int_eq(pthread_create(&th[i], NULL, io_thread, &args[i]), 0);
    }
    /* swap until the I/O threads have done 200 rounds among them (they may
     * start late on a loaded machine), 400 swaps at least, 30 s at most */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned rounds = 0;
    for (int i = 0; i < 400 || rounds < 200; i++) {
        ck_assert_int_eq(lun_backing_update(b, i % 2 ? v1 : v3), 0);
        ck_assert_uint_eq(lun_backing_size(b), i % 2 ? MIB : 3 * MIB);
        rounds = 0;
        for (unsigned k = 0; k < 4; k++)
            rounds += atomic_load(&args[k].rounds);
        clock_gettime(CLOCK_MONOTONIC, &now);
        ck_assert_msg(now.tv_sec - t0.tv_sec < 30, "I/O threads made only %u rounds", rounds);
    }
    ck_assert_int_eq(lun_backing_update(b, v1), 0);
    atomic_store(&stop, true);
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].failures, 0);
    }
    /* what the threads wrote is on pv1 at 2 MiB, where the first segment is */
    uint8_t *r = abuf(MIB), *pv = malloc(MIB);
    ck_assert_int_eq(lun_backing_ops.read(b, 0, MIB, r), 0);
    pv_read(pv1, 2 * MIB, pv, MIB);
    ck_assert(memcmp(r, pv, MIB) == 0);
    /* after the last swap (to 1 MiB) the tail is gone */
    ck_assert_int_eq(lun_backing_ops.read(b, MIB, 4096, r), -ERANGE);
    free(r);
    free(pv);
    lun_backing_close(b);
    vol_free(v1);
    vol_free(v3);
}
END_TEST

START_TEST(a_bad_update_keeps_the_old_map)
{
    poolVolDef *v = vol_new(three, 3);
    lunBacking *b = lun_backing_open(v);
    ck_assert_ptr_nonnull(b);
    const seg past_end[] = {{pv1, 2 * MIB, MIB}, {pv2, PV_SIZE - MIB, 2 * MIB}};
    poolVolDef *bad = vol_new(past_end, 2);
    ck_assert_int_eq(lun_backing_update(b, bad), -1);
    ck_assert_uint_eq(lun_backing_size(b), 3 * MIB);
    uint8_t *buf = abuf(4096);
    ck_assert_int_eq(lun_backing_ops.read(b, 3 * MIB - 4096, 4096, buf), 0);
    free(buf);
    lun_backing_close(b);
    vol_free(bad);
    vol_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lun_backing");
    TCase *tc = tcase_create("map");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_byte_lands_at_its_pv_offset);
    tcase_add_test(tc, io_outside_the_lv_is_refused);
    tcase_add_test(tc, bad_maps_are_refused_with_the_cause);
    tcase_add_test(tc, two_lus_share_a_pv);
    tcase_add_test(tc, map_swaps_under_io);
    tcase_add_test(tc, a_bad_update_keeps_the_old_map);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
