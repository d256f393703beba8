// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_lvm_mda.c: the LVM2 label / metadata-area-header parser and the
 * fingerprint read of lvm_mda.c.
 *
 * Data: the first 8 KiB of real PVs written by lvm2 2.03.16, captured by
 * tests/data/lvm-mda/capture.sh:
 *   pv-orphan.bin   PV after pvcreate (no VG: raw_locns[0] all zero)
 *   pv-vg.bin       the same PV after vgcreate
 *   pv-vg-lv.bin    the same PV after lvcreate (one more commit)
 *   pv-nomda.bin    a PV of that VG created with --metadatacopies 0
 *   pv-ignored.bin  a PV of that VG after pvchange --metadataignore y
 * Assertions use the shape of the captures (where things are, what changed),
 * not UUIDs or checksums, so the files can be re-captured. Damaged variants
 * are made in memory, with the label/header checksums recomputed where the
 * damage must reach a later check.
 *
 * The last case makes a real PV on a loop device and watches the fingerprint
 * change across lvm commands; it is skipped (passes with a note) unless run
 * as root with lvm and loop devices, and always cleans up after itself.
 */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lvm_mda.h"
#include "pool-byteorder.h"
#include "pool-error.h"
#include "test_support.h"

#define CAPTURE_SIZE 8192
#define LVM_CRC_INIT 0xF597A6CFu
#define LABEL_OFF    512 /* lvm writes the label in sector 1 */
#define MDA_OFF      4096

static void data_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/tests/data/lvm-mda/%s", test_srcdir(), name);
}

/* The 8 KiB capture `name` into buf. */
static void read_capture(const char *name, uint8_t *buf)
{
    char path[4096];
    FILE *f;

    data_path(path, sizeof(path), name);
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_uint_eq(fread(buf, 1, CAPTURE_SIZE, f), CAPTURE_SIZE);
    ck_assert_int_eq(fgetc(f), EOF);
    fclose(f);
}

/* Recompute the crc of the label in the sector at `sec`. */
static void fix_label_crc(uint8_t *sec)
{
    pool_put_le32(sec + 16, pool_lvm_mda_crc(LVM_CRC_INIT, sec + 20, 512 - 20));
}

static void fix_header_crc(uint8_t *hdr)
{
    pool_put_le32(hdr, pool_lvm_mda_crc(LVM_CRC_INIT, hdr + 4, 512 - 4));
}

/* Both parsers on a capture-sized buffer; fp filled on success. */
static int parse_all(const uint8_t *buf, poolMdaFingerprint *fp)
{
    uint64_t off = 0, size = 0;

    if (pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size) < 0)
        return -1;
    if (off + 512 > CAPTURE_SIZE) {
        pool_error(POOL_ERR_INTERNAL, "mda beyond the capture");
        return -1;
    }
    return pool_lvm_mda_parse_header(buf + off, CAPTURE_SIZE - off, off, fp);
}

static void expect_error(int rc, const char *needle)
{
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_DEVICE);
    ck_assert_msg(strstr(pool_error_last_message(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  pool_error_last_message(), needle);
}

START_TEST(test_crc)
{
    /* the LVM variant is zlib's CRC-32 without the inversions: with the
     * inversions done by hand it must give the standard check value */
    const uint8_t check[] = "123456789";
    ck_assert_uint_eq(pool_lvm_mda_crc(0xFFFFFFFFu, check, 9) ^ 0xFFFFFFFFu, 0xCBF43926u);
    ck_assert_uint_eq(pool_lvm_mda_crc(LVM_CRC_INIT, check, 0), LVM_CRC_INIT);
}
END_TEST

START_TEST(test_captured_commit_changes_fingerprint)
{
    static uint8_t vg[CAPTURE_SIZE], lv[CAPTURE_SIZE];
    poolMdaFingerprint fvg, flv, again;
    uint64_t off = 0, size = 0;

    read_capture("pv-vg.bin", vg);
    read_capture("pv-vg-lv.bin", lv);

    /* lvm's default layout: one mda right after the label area, 4 KiB in */
    ck_assert_int_eq(pool_lvm_mda_parse_label(vg, CAPTURE_SIZE, &off, &size), 0);
    ck_assert_uint_eq(off, MDA_OFF);
    ck_assert_uint_ge(size, 1024);
    ck_assert_uint_eq(size % 512, 0);

    ck_assert_int_eq(parse_all(vg, &fvg), 0);
    ck_assert_int_eq(parse_all(lv, &flv), 0);
    ck_assert_uint_eq(fvg.mda_offset, MDA_OFF);
    ck_assert_uint_eq(flv.mda_offset, MDA_OFF);
    /* committed text: after the header, sector-aligned, inside the area */
    ck_assert_uint_ge(fvg.meta_offset, 512);
    ck_assert_uint_eq(fvg.meta_offset % 512, 0);
    ck_assert_uint_gt(fvg.meta_size, 0);
    ck_assert_uint_lt(fvg.meta_offset + fvg.meta_size, size);
    /* the lvcreate wrote its text after the vgcreate's (no wrap in 1 MiB) */
    ck_assert_uint_ge(flv.meta_offset, fvg.meta_offset + fvg.meta_size);
    ck_assert_uint_eq(flv.meta_offset % 512, 0);

    ck_assert(!pool_lvm_mda_fingerprint_equal(&fvg, &flv));
    ck_assert_int_eq(parse_all(vg, &again), 0);
    ck_assert(pool_lvm_mda_fingerprint_equal(&fvg, &again));

    /* raw_locns[0] really designates the committed text: it starts with the
     * VG name and its LVM crc is the recorded checksum (the vgcreate text
     * lies wholly inside the 8 KiB capture) */
    uint64_t text = MDA_OFF + fvg.meta_offset;
    ck_assert_uint_le(text + fvg.meta_size, CAPTURE_SIZE);
    ck_assert_msg(memcmp(vg + text, "mdacap_", 7) == 0, "text does not start with the VG name");
    ck_assert_uint_eq(pool_lvm_mda_crc(LVM_CRC_INIT, vg + text, (size_t)fvg.meta_size),
                      fvg.meta_checksum);
}
END_TEST

START_TEST(test_captured_orphan_pv)
{
    static uint8_t buf[CAPTURE_SIZE];
    poolMdaFingerprint fp;

    /* a PV in no VG: valid header, no committed metadata */
    read_capture("pv-orphan.bin", buf);
    ck_assert_int_eq(parse_all(buf, &fp), 0);
    ck_assert_uint_eq(fp.mda_offset, MDA_OFF);
    ck_assert_uint_eq(fp.meta_offset, 0);
    ck_assert_uint_eq(fp.meta_size, 0);
    ck_assert_uint_eq(fp.meta_checksum, 0);
}
END_TEST

START_TEST(test_captured_no_mda)
{
    static uint8_t buf[CAPTURE_SIZE];
    uint64_t off = 7, size = 7;

    read_capture("pv-nomda.bin", buf);
    pool_error_reset();
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "no metadata area");
    ck_assert_uint_eq(off, 7); /* untouched on failure */
    ck_assert_uint_eq(size, 7);
    /* and the bytes where an mda would be hold no header */
    poolMdaFingerprint fp;
    expect_error(pool_lvm_mda_parse_header(buf + MDA_OFF, 512, MDA_OFF, &fp), "bad magic");
}
END_TEST

START_TEST(test_captured_ignored_mda)
{
    static uint8_t buf[CAPTURE_SIZE];
    uint64_t off = 0, size = 0;
    poolMdaFingerprint fp;

    read_capture("pv-ignored.bin", buf);
    ck_assert_int_eq(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), 0);
    expect_error(pool_lvm_mda_parse_header(buf + off, 512, off, &fp), "ignored");
}
END_TEST

START_TEST(test_label_damage)
{
    static uint8_t orig[CAPTURE_SIZE], buf[CAPTURE_SIZE];
    uint64_t off = 0, size = 0;
    uint8_t *lab = buf + LABEL_OFF;

    read_capture("pv-vg.bin", orig);

    /* truncated: less than the 4 label sectors */
    expect_error(pool_lvm_mda_parse_label(orig, 2047, &off, &size), "truncated");
    expect_error(pool_lvm_mda_parse_label(NULL, 0, &off, &size), "truncated");

    /* a flipped bit in the PV uuid: label crc */
    memcpy(buf, orig, CAPTURE_SIZE);
    lab[40] ^= 0x01;
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "checksum mismatch");
    /* a flipped bit in the stored crc itself */
    memcpy(buf, orig, CAPTURE_SIZE);
    lab[16] ^= 0x80;
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "checksum mismatch");

    /* no label at all */
    memcpy(buf, orig, CAPTURE_SIZE);
    memset(lab, 0, 8);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "no LVM label");

    /* label sector field lies (not covered by the crc) */
    memcpy(buf, orig, CAPTURE_SIZE);
    pool_put_le64(lab + 8, 3);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "claims to be");

    /* another label type, crc valid */
    memcpy(buf, orig, CAPTURE_SIZE);
    memcpy(lab + 24, "LVM1 001", 8);
    fix_label_crc(lab);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "not of type");

    /* pv_header offset pointing out of the sector, crc valid */
    memcpy(buf, orig, CAPTURE_SIZE);
    pool_put_le32(lab + 20, 480);
    fix_label_crc(lab);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size),
                 "outside the label sector");
    memcpy(buf, orig, CAPTURE_SIZE);
    pool_put_le32(lab + 20, 0xFFFFFFFFu);
    fix_label_crc(lab);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size),
                 "outside the label sector");

    /* data area list without terminator, crc valid */
    memcpy(buf, orig, CAPTURE_SIZE);
    for (size_t p = 32 + 40; p + 16 <= 512; p += 16)
        pool_put_le64(lab + p, 1 << 20);
    fix_label_crc(lab);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "runs past");

    /* metadata area inside the label area, crc valid: the data area list is
     * entry 0 + terminator, the mda is the third disk_locn */
    memcpy(buf, orig, CAPTURE_SIZE);
    ck_assert_uint_eq(pool_get_le64(lab + 32 + 40 + 32), MDA_OFF);
    pool_put_le64(lab + 32 + 40 + 32, 1024);
    fix_label_crc(lab);
    expect_error(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), "inside the label");

    /* a label moved to sector 0 is found there (lvm scans sectors 0..3) */
    memcpy(buf, orig, CAPTURE_SIZE);
    memcpy(buf, lab, 512);
    memset(lab, 0, 512);
    pool_put_le64(buf + 8, 0);
    fix_label_crc(buf);
    off = size = 0;
    ck_assert_int_eq(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), 0);
    ck_assert_uint_eq(off, MDA_OFF);
    /* ... and a damaged label in sector 0 does not hide a good one in 1 */
    memcpy(buf + 512, orig + 512, 512);
    buf[100] ^= 1;
    ck_assert_int_eq(pool_lvm_mda_parse_label(buf, CAPTURE_SIZE, &off, &size), 0);
}
END_TEST

START_TEST(test_header_damage)
{
    static uint8_t orig[CAPTURE_SIZE];
    uint8_t hdr[512];
    poolMdaFingerprint fp = {0}, zero = {0};

    read_capture("pv-vg.bin", orig);
    ck_assert_int_eq(pool_lvm_mda_parse_header(orig + MDA_OFF, 512, MDA_OFF, &fp), 0);
    memset(&fp, 0, sizeof(fp));

    /* truncated */
    expect_error(pool_lvm_mda_parse_header(orig + MDA_OFF, 511, MDA_OFF, &fp), "truncated");
    expect_error(pool_lvm_mda_parse_header(NULL, 512, MDA_OFF, &fp), "truncated");

    /* magic */
    memcpy(hdr, orig + MDA_OFF, 512);
    hdr[5] ^= 0x20;
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "bad magic");
    fix_header_crc(hdr);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "bad magic");

    /* checksum: a byte of the unused tail, and the stored checksum */
    memcpy(hdr, orig + MDA_OFF, 512);
    hdr[500] ^= 0x01;
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "checksum mismatch");
    memcpy(hdr, orig + MDA_OFF, 512);
    hdr[0] ^= 0x01;
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "checksum mismatch");
    /* a torn write: the new raw_locn with the old checksum */
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le64(hdr + 40, pool_get_le64(hdr + 40) + 512);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "checksum mismatch");

    /* version */
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le32(hdr + 20, 2);
    fix_header_crc(hdr);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "unsupported version 2");

    /* start must be where the header was read */
    expect_error(pool_lvm_mda_parse_header(orig + MDA_OFF, 512, 8192, &fp), "start field");

    /* area size */
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le64(hdr + 32, 512);
    fix_header_crc(hdr);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "invalid area size");

    /* raw_locns[0] outside the area: in the header, past the end, too big */
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le64(hdr + 40, 256);
    fix_header_crc(hdr);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "outside the");
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le64(hdr + 40, pool_get_le64(hdr + 32));
    fix_header_crc(hdr);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "outside the");
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le64(hdr + 48, UINT64_MAX);
    fix_header_crc(hdr);
    expect_error(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), "outside the");

    /* a wrapped text (offset + size past the area end) is valid */
    memcpy(hdr, orig + MDA_OFF, 512);
    pool_put_le64(hdr + 40, pool_get_le64(hdr + 32) - 512);
    pool_put_le64(hdr + 48, 2048);
    fix_header_crc(hdr);
    ck_assert_int_eq(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), 0);
    ck_assert_uint_eq(fp.meta_size, 2048);

    /* fp untouched by failures */
    memset(&fp, 0, sizeof(fp));
    memcpy(hdr, orig + MDA_OFF, 512);
    hdr[4] = 0;
    ck_assert_int_eq(pool_lvm_mda_parse_header(hdr, 512, MDA_OFF, &fp), -1);
    ck_assert(pool_lvm_mda_fingerprint_equal(&fp, &zero));
}
END_TEST

START_TEST(test_fingerprint_equal)
{
    poolMdaFingerprint a = {4096, 512, 1558, 0x93a769f5}, b = a;

    ck_assert(pool_lvm_mda_fingerprint_equal(&a, &b));
    b.meta_checksum ^= 1;
    ck_assert(!pool_lvm_mda_fingerprint_equal(&a, &b));
    b = a;
    b.meta_offset += 512;
    ck_assert(!pool_lvm_mda_fingerprint_equal(&a, &b));
    b = a;
    b.meta_size++;
    ck_assert(!pool_lvm_mda_fingerprint_equal(&a, &b));
    b = a;
    b.mda_offset = 8192;
    ck_assert(!pool_lvm_mda_fingerprint_equal(&a, &b));
}
END_TEST

/* Write `len` bytes to a new temp file; its path into path. */
static void write_temp(char *path, size_t size, const uint8_t *buf, size_t len)
{
    snprintf(path, size, "/tmp/test_lvm_mda.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

START_TEST(test_fingerprint_of_files)
{
    static uint8_t buf[CAPTURE_SIZE];
    char vg[4096], lv[4096], tmp[64];
    poolMdaFingerprint fvg, flv, pvg, fp;

    /* the captures are PV images: read through the O_DIRECT path */
    data_path(vg, sizeof(vg), "pv-vg.bin");
    data_path(lv, sizeof(lv), "pv-vg-lv.bin");
    ck_assert_msg(pool_lvm_mda_fingerprint(vg, &fvg) == 0, "%s", pool_error_last_message());
    ck_assert_int_eq(pool_lvm_mda_fingerprint(lv, &flv), 0);
    read_capture("pv-vg.bin", buf);
    ck_assert_int_eq(parse_all(buf, &pvg), 0);
    ck_assert(pool_lvm_mda_fingerprint_equal(&fvg, &pvg));
    ck_assert(!pool_lvm_mda_fingerprint_equal(&fvg, &flv));

    /* errors name the device */
    data_path(vg, sizeof(vg), "pv-nomda.bin");
    expect_error(pool_lvm_mda_fingerprint(vg, &fp), "no metadata area");
    ck_assert_msg(strstr(pool_error_last_message(), "pv-nomda.bin: ") != NULL, "%s",
                  pool_error_last_message());
    data_path(vg, sizeof(vg), "pv-ignored.bin");
    expect_error(pool_lvm_mda_fingerprint(vg, &fp), "ignored");
    expect_error(pool_lvm_mda_fingerprint("/nonexistent/pv", &fp), "/nonexistent/pv: cannot open");

    /* a device ending before its mda header */
    write_temp(tmp, sizeof(tmp), buf, 4096);
    expect_error(pool_lvm_mda_fingerprint(tmp, &fp), "too small");
    ck_assert_msg(strstr(pool_error_last_message(), tmp) != NULL, "%s", pool_error_last_message());
    unlink(tmp);

    /* label and header disagree on the area size */
    read_capture("pv-vg.bin", buf);
    pool_put_le64(buf + LABEL_OFF + 32 + 40 + 32 + 8, 2 * 1024 * 1024);
    fix_label_crc(buf + LABEL_OFF);
    write_temp(tmp, sizeof(tmp), buf, CAPTURE_SIZE);
    expect_error(pool_lvm_mda_fingerprint(tmp, &fp), "in the label but");
    unlink(tmp);
}
END_TEST

/* ---- live: a real PV on a loop device ---------------------------------- */

/* Run a shell command quietly; its exit status (-1 if it did not run). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

static int lvm_run(const char *args)
{
    return sh("lvm %s </dev/null >/dev/null 2>&1", args);
}

START_TEST(test_live_loop_device)
{
    char img[] = "/tmp/test_lvm_mda_live.XXXXXX";
    char dev[64] = "", vg[64], args[2048], live_cfg[1024];
    poolMdaFingerprint f_vg = {0}, f_lv = {0}, f_vgs = {0}, f_removed = {0};
    int rc_vg = -1, rc_lv = -1, rc_vgs = -1, rc_removed = -1, rc_wiped = -1;
    int step_fail = 0;

    if (geteuid() != 0 || sh("lvm version >/dev/null 2>&1") != 0 ||
        sh("losetup --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_live_loop_device: skipped (needs root, lvm and losetup)\n");
        return;
    }
    setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
    int fd = mkstemp(img);
    ck_assert_int_ge(fd, 0);
    int truncated = ftruncate(fd, 64 << 20);
    close(fd);
    if (truncated != 0)
        unlink(img);
    ck_assert_int_eq(truncated, 0);

    /* attach; skip if loop devices do not work here */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "losetup --find --show %s 2>/dev/null", img);
    FILE *p = popen(cmd, "r");
    if (p == NULL || fgets(dev, sizeof(dev), p) == NULL)
        dev[0] = '\0';
    if (p)
        pclose(p);
    dev[strcspn(dev, "\n")] = '\0';
    if (dev[0] == '\0') {
        unlink(img);
        fprintf(stderr, "test_live_loop_device: skipped (cannot attach a loop device)\n");
        return;
    }
    snprintf(vg, sizeof(vg), "mdatest_%ld", (long)getpid());
    snprintf(live_cfg, sizeof(live_cfg),
             "--config 'devices { filter=[\"a|^%s$|\",\"r|.*|\"] global_filter=[\"a|^%s$|\","
             "\"r|.*|\"] use_devicesfile=0 hints=\"none\" obtain_device_list_from_udev=0 "
             "scan_lvs=0 } global { activation=0 use_lvmlockd=0 use_lvmpolld=0 notify_dbus=0 } "
             "backup { backup=0 archive=0 }'",
             dev, dev);

    /* No assertion until everything is undone: a failed ck_assert would end
     * this (forked) test before the cleanup. */
    snprintf(args, sizeof(args), "pvcreate %s -y %s", live_cfg, dev);
    step_fail |= lvm_run(args) != 0;
    snprintf(args, sizeof(args), "vgcreate %s --setautoactivation n %s %s", live_cfg, vg, dev);
    step_fail |= (lvm_run(args) != 0) << 1;
    rc_vg = pool_lvm_mda_fingerprint(dev, &f_vg);
    snprintf(args, sizeof(args), "lvcreate %s -an -Zn -Wn -y -L 8M -n lv1 %s", live_cfg, vg);
    step_fail |= (lvm_run(args) != 0) << 2;
    rc_lv = pool_lvm_mda_fingerprint(dev, &f_lv);
    /* a read-only command commits nothing */
    snprintf(args, sizeof(args), "vgs %s %s", live_cfg, vg);
    step_fail |= (lvm_run(args) != 0) << 3;
    rc_vgs = pool_lvm_mda_fingerprint(dev, &f_vgs);

    /* cleanup, observing it as we go */
    snprintf(args, sizeof(args), "vgremove %s -f %s", live_cfg, vg);
    step_fail |= (lvm_run(args) != 0) << 4;
    rc_removed = pool_lvm_mda_fingerprint(dev, &f_removed);
    snprintf(args, sizeof(args), "pvremove %s -y %s", live_cfg, dev);
    step_fail |= (lvm_run(args) != 0) << 5;
    poolMdaFingerprint dummy;
    rc_wiped = pool_lvm_mda_fingerprint(dev, &dummy);
    sh("losetup -d %s", dev);
    unlink(img);

    ck_assert_msg(step_fail == 0, "lvm steps failed (bitmask 0x%x)", step_fail);
    ck_assert_int_eq(rc_vg, 0);
    ck_assert_int_eq(rc_lv, 0);
    ck_assert_int_eq(rc_vgs, 0);
    ck_assert_int_eq(rc_removed, 0);
    ck_assert_int_eq(rc_wiped, -1); /* pvremove wiped the label */
    ck_assert_uint_ne(f_vg.meta_size, 0);
    ck_assert(!pool_lvm_mda_fingerprint_equal(&f_vg, &f_lv));
    ck_assert(pool_lvm_mda_fingerprint_equal(&f_lv, &f_vgs));
    ck_assert(!pool_lvm_mda_fingerprint_equal(&f_lv, &f_removed));
    ck_assert_uint_eq(f_removed.meta_offset, 0); /* vgremove zeroes raw_locns[0] */
    ck_assert_uint_eq(f_removed.meta_size, 0);
}
END_TEST

static Suite *lvm_mda_suite(void)
{
    Suite *s = suite_create("lvm_mda");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_crc);
    tcase_add_test(tc, test_captured_commit_changes_fingerprint);
    tcase_add_test(tc, test_captured_orphan_pv);
    tcase_add_test(tc, test_captured_no_mda);
    tcase_add_test(tc, test_captured_ignored_mda);
    tcase_add_test(tc, test_label_damage);
    tcase_add_test(tc, test_header_damage);
    tcase_add_test(tc, test_fingerprint_equal);
    tcase_add_test(tc, test_fingerprint_of_files);
    suite_add_tcase(s, tc);

    TCase *live = tcase_create("live");
    tcase_set_timeout(live, 120);
    tcase_add_test(live, test_live_loop_device);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    return test_run_suite(lvm_mda_suite());
}
