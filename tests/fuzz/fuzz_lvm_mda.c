// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_lvm_mda.c: libFuzzer target for the LVM2 label / metadata-area
 * header parser (libpool/lvm_mda.c).
 *
 * The bytes come from a shared disk that any host, a damaged PV or a non-LVM
 * device can fill, and poold reads them every second: nothing may crash or
 * read out of bounds. Each input is treated as the head of a device:
 *   1. as is: label parser, then the header parser at the mda it names;
 *   2. with the label and header checksums recomputed, so the checks behind
 *      them (pv_header bounds, area lists, version, raw_locn bounds) are
 *      reached by inputs the fuzzer could never give valid CRCs;
 *   3. as a bare 512-byte header (checksum recomputed) at the offset its
 *      start field claims;
 *   4. written to a memfd and read back through pool_lvm_mda_fingerprint,
 *      which must agree with the pure parsers on the same bytes.
 * Invariants: success gives a sector-aligned mda past the label area and a
 * raw_locn either empty or inside the area; failure gives POOL_ERR_DEVICE
 * and leaves the outputs untouched. Seeds: the captured PV heads of
 * tests/data/lvm-mda/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lvm_mda.h"
#include "pool-byteorder.h"
#include "pool-error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LVM_CRC_INIT 0xF597A6CFu
#define MAX_DEVICE   (64 * 1024)

static void check_failed(void)
{
    if (pool_error_last_code() != POOL_ERR_DEVICE)
        abort();
}

/* Header at buf+off (len bytes available there). 0 and *fp on success. */
static int fuzz_header(const uint8_t *buf, size_t len, uint64_t off, poolMdaFingerprint *fp)
{
    poolMdaFingerprint sentinel = {1, 2, 3, 4}, got = sentinel;

    pool_error_reset();
    if (pool_lvm_mda_parse_header(buf, len, off, &got) < 0) {
        check_failed();
        if (!pool_lvm_mda_fingerprint_equal(&got, &sentinel))
            abort();
        return -1;
    }
    if (got.mda_offset != off)
        abort();
    if (got.meta_offset == 0) {
        if (got.meta_size != 0)
            abort();
    } else if (got.meta_offset < POOL_LVM_MDA_HEADER_SIZE || got.meta_size == 0) {
        abort();
    }
    if (fp)
        *fp = got;
    return 0;
}

/* Label, then the header it names if the input holds it. */
static int fuzz_device(const uint8_t *buf, size_t len, poolMdaFingerprint *fp)
{
    uint64_t off = 7, msize = 7;

    pool_error_reset();
    if (pool_lvm_mda_parse_label(buf, len, &off, &msize) < 0) {
        check_failed();
        if (off != 7 || msize != 7)
            abort();
        return -1;
    }
    if (off % POOL_LVM_SECTOR_SIZE != 0 || off < POOL_LVM_LABEL_SCAN_BYTES ||
        msize < 2 * POOL_LVM_MDA_HEADER_SIZE || off + msize < off)
        abort();
    if (off > len || len - off < POOL_LVM_MDA_HEADER_SIZE)
        return -1;
    return fuzz_header(buf + off, (size_t)(len - off), off, fp);
}

/* 4. The I/O path on a memfd holding the input. */
static void fuzz_fingerprint(const uint8_t *data, size_t size)
{
    static int fd = -2;
    static char path[64];
    poolMdaFingerprint io, pure;

    if (fd == -2) {
        fd = memfd_create("fuzz_lvm_mda", MFD_CLOEXEC);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return;
    pool_error_reset();
    if (pool_lvm_mda_fingerprint(path, &io) < 0) {
        check_failed();
        return;
    }
    if (fuzz_device(data, size, &pure) < 0 || !pool_lvm_mda_fingerprint_equal(&io, &pure))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_DEVICE)
        return 0;

    /* 1. as is */
    fuzz_device(data, size, NULL);

    /* 2. checksums made valid */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    for (size_t s = 0; s < 4 && (s + 1) * POOL_LVM_SECTOR_SIZE <= size; s++) {
        uint8_t *sec = copy + s * POOL_LVM_SECTOR_SIZE;
        if (memcmp(sec, "LABELONE", 8) == 0)
            pool_put_le32(sec + 16, pool_lvm_mda_crc(LVM_CRC_INIT, sec + 20, 512 - 20));
    }
    uint64_t off = 0, msize = 0;
    pool_error_reset();
    if (pool_lvm_mda_parse_label(copy, size, &off, &msize) == 0 && off <= size &&
        size - off >= POOL_LVM_MDA_HEADER_SIZE) {
        pool_put_le32(copy + off, pool_lvm_mda_crc(LVM_CRC_INIT, copy + off + 4, 512 - 4));
        if (fuzz_device(copy, size, NULL) < 0 && pool_error_last_code() != POOL_ERR_DEVICE)
            abort();
    }

    /* 3. a bare header at the offset it claims */
    if (size >= POOL_LVM_MDA_HEADER_SIZE) {
        memcpy(copy, data, size);
        pool_put_le32(copy, pool_lvm_mda_crc(LVM_CRC_INIT, copy + 4, 512 - 4));
        fuzz_header(copy, size, pool_get_le64(copy + 24), NULL);
        fuzz_header(copy, size, 4096, NULL);
    }
    free(copy);

    /* 4. through the device read */
    fuzz_fingerprint(data, size);
    return 0;
}
