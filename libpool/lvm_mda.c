// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * lvm_mda.c: read the fingerprint of an LVM2 PV's committed metadata
 * (raw_locns[0] of its first metadata-area header) to notice VG metadata
 * changes cheaply. The on-disk format, lvm's commit sequence and why the
 * fingerprint catches every commit are described in lvm_mda.h.
 *
 * Written from the format description (lvm2's layout.h and label.h), no code
 * taken from lvm2. Every field read from the buffers is bounds-checked
 * against the sector it must lie in; nothing is trusted (fuzzed by
 * tests/fuzz/fuzz_lvm_mda.c, tested on captured PVs in
 * tests/data/lvm-mda/).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lvm_mda.h"
#include "pool-alloc.h"
#include "pool-byteorder.h"
#include "pool-error.h"

#define LVM_CRC_INITIAL 0xF597A6CFu
#define LVM_CRC_POLY    0xEDB88320u

#define LABEL_ID         "LABELONE"
#define LABEL_TYPE       "LVM2 001"
#define LABEL_HEADER_LEN 32 /* id, sector, crc, offset, type */
#define LABEL_CRC_FROM   20 /* the crc covers the offset field to the end of the sector */
#define PV_HEADER_LEN    40 /* pv_uuid[32], device_size */
#define DISK_LOCN_LEN    16

#define MDA_MAGIC        "\040\114\126\115\062\040\170\133\065\101\045\162\060\116\052\076"
#define MDA_MAGIC_LEN    16
#define MDA_VERSION      1
#define MDA_RAW_LOCN0    40 /* offset of raw_locns[0] in the header */
#define RAW_LOCN_IGNORED 0x1u

/* Direct I/O unit: buffers, offsets and lengths are multiples of it, which
 * satisfies any logical block size up to 4 KiB. */
#define DIO_BLOCK 4096

uint32_t pool_lvm_mda_crc(uint32_t crc, const uint8_t *buf, size_t len)
{
    /* Bitwise: at most a few sectors a second, no table to initialise. */
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (LVM_CRC_POLY & (0u - (crc & 1u)));
    }
    return crc;
}

/* What one of sectors 0..3 holds. The rejections are ordered from least to
 * most specific: if no sector holds a valid label, the most specific one is
 * reported (a "LABELONE" with a bad crc says more than three empty sectors). */
typedef enum {
    LABEL_ABSENT = 0, /* no "LABELONE" */
    LABEL_WRONG_SECTOR,
    LABEL_BAD_CRC,
    LABEL_BAD_TYPE,
    LABEL_OK,
} labelState;

typedef struct {
    labelState state;
    uint64_t sector;       /* which sector was examined */
    uint64_t sector_field; /* its sector field */
    uint32_t crc_stored;
    uint32_t crc_computed;
} labelCheck;

static labelCheck label_check(const uint8_t *sec, uint64_t sector_no)
{
    labelCheck c = {.state = LABEL_ABSENT, .sector = sector_no};

    if (memcmp(sec, LABEL_ID, 8) != 0)
        return c;
    c.sector_field = pool_get_le64(sec + 8);
    c.state = LABEL_WRONG_SECTOR;
    if (c.sector_field != sector_no)
        return c;
    c.crc_stored = pool_get_le32(sec + 16);
    c.crc_computed = pool_lvm_mda_crc(LVM_CRC_INITIAL, sec + LABEL_CRC_FROM,
                                      POOL_LVM_SECTOR_SIZE - LABEL_CRC_FROM);
    c.state = LABEL_BAD_CRC;
    if (c.crc_stored != c.crc_computed)
        return c;
    c.state = LABEL_BAD_TYPE;
    if (memcmp(sec + 24, LABEL_TYPE, 8) != 0)
        return c;
    c.state = LABEL_OK;
    return c;
}

static void label_report(const labelCheck *c)
{
    switch (c->state) {
    case LABEL_WRONG_SECTOR:
        pool_error(POOL_ERR_DEVICE,
                   "LVM label in sector %" PRIu64 " claims to be in sector %" PRIu64, c->sector,
                   c->sector_field);
        break;
    case LABEL_BAD_CRC:
        pool_error(POOL_ERR_DEVICE,
                   "LVM label checksum mismatch in sector %" PRIu64
                   " (stored 0x%08x, computed 0x%08x)",
                   c->sector, c->crc_stored, c->crc_computed);
        break;
    case LABEL_BAD_TYPE:
        pool_error(POOL_ERR_DEVICE, "LVM label in sector %" PRIu64 " is not of type \"%s\"",
                   c->sector, LABEL_TYPE);
        break;
    case LABEL_ABSENT:
    case LABEL_OK:
        pool_error(POOL_ERR_DEVICE, "no LVM label in the first %d sectors",
                   POOL_LVM_LABEL_SCAN_BYTES / POOL_LVM_SECTOR_SIZE);
        break;
    }
}

int pool_lvm_mda_parse_label(const uint8_t *buf, size_t len, uint64_t *mda_offset,
                             uint64_t *mda_size)
{
    labelCheck worst = {.state = LABEL_ABSENT};
    const uint8_t *sec = NULL;
    uint64_t sector_no = 0;

    if (buf == NULL || len < POOL_LVM_LABEL_SCAN_BYTES) {
        pool_error(POOL_ERR_DEVICE, "label area truncated: %zu bytes, need %d", buf ? len : 0,
                   POOL_LVM_LABEL_SCAN_BYTES);
        return -1;
    }

    /* the first valid label wins, as in lvm */
    for (uint64_t s = 0; s < POOL_LVM_LABEL_SCAN_BYTES / POOL_LVM_SECTOR_SIZE; s++) {
        labelCheck c = label_check(buf + s * POOL_LVM_SECTOR_SIZE, s);

        if (c.state == LABEL_OK) {
            sec = buf + s * POOL_LVM_SECTOR_SIZE;
            sector_no = s;
            break;
        }
        if (c.state > worst.state)
            worst = c;
    }
    if (sec == NULL) {
        label_report(&worst);
        return -1;
    }

    /* pv_header: fixed part, then two lists of disk_locn, all in the sector. */
    uint32_t pvh = pool_get_le32(sec + 20);
    if (pvh < LABEL_HEADER_LEN || pvh > POOL_LVM_SECTOR_SIZE - PV_HEADER_LEN) {
        pool_error(POOL_ERR_DEVICE,
                   "LVM label in sector %" PRIu64 ": pv_header offset %" PRIu32
                   " outside the label sector",
                   sector_no, pvh);
        return -1;
    }
    size_t pos = (size_t)pvh + PV_HEADER_LEN;

    /* data areas, then metadata areas; each list ends at an offset of 0 */
    for (int list = 0; list < 2; list++) {
        for (;;) {
            if (pos + DISK_LOCN_LEN > POOL_LVM_SECTOR_SIZE) {
                pool_error(POOL_ERR_DEVICE,
                           "LVM label in sector %" PRIu64 ": %s area list runs past the sector",
                           sector_no, list == 0 ? "data" : "metadata");
                return -1;
            }
            uint64_t off = pool_get_le64(sec + pos);
            uint64_t size = pool_get_le64(sec + pos + 8);
            pos += DISK_LOCN_LEN;
            if (off == 0)
                break;
            if (list == 1) {
                /* first metadata area: its header is one sector, and the
                 * area holds at least the header and one sector of text */
                if (off % POOL_LVM_SECTOR_SIZE != 0 || off < POOL_LVM_LABEL_SCAN_BYTES) {
                    pool_error(POOL_ERR_DEVICE,
                               "metadata area offset %" PRIu64
                               " is inside the label area or not sector-aligned",
                               off);
                    return -1;
                }
                if (size < 2 * POOL_LVM_MDA_HEADER_SIZE || size > UINT64_MAX - off) {
                    pool_error(POOL_ERR_DEVICE,
                               "metadata area at %" PRIu64 " has invalid size %" PRIu64, off, size);
                    return -1;
                }
                *mda_offset = off;
                *mda_size = size;
                return 0;
            }
        }
    }
    pool_error(POOL_ERR_DEVICE,
               "PV has no metadata area (created with --metadatacopies 0?): nothing to watch");
    return -1;
}

/* The header checks; also returns the area size the header records. */
static int parse_header(const uint8_t *buf, size_t len, uint64_t mda_offset, poolMdaFingerprint *fp,
                        uint64_t *area_size)
{
    if (buf == NULL || len < POOL_LVM_MDA_HEADER_SIZE) {
        pool_error(POOL_ERR_DEVICE, "metadata area header truncated: %zu bytes, need %d",
                   buf ? len : 0, POOL_LVM_MDA_HEADER_SIZE);
        return -1;
    }
    uint32_t stored = pool_get_le32(buf);
    uint32_t computed = pool_lvm_mda_crc(LVM_CRC_INITIAL, buf + 4, POOL_LVM_MDA_HEADER_SIZE - 4);
    if (memcmp(buf + 4, MDA_MAGIC, MDA_MAGIC_LEN) != 0) {
        pool_error(POOL_ERR_DEVICE, "no metadata area header at %" PRIu64 " (bad magic)",
                   mda_offset);
        return -1;
    }
    if (stored != computed) {
        pool_error(POOL_ERR_DEVICE,
                   "metadata area header at %" PRIu64
                   ": checksum mismatch (stored 0x%08x, computed 0x%08x)",
                   mda_offset, stored, computed);
        return -1;
    }
    uint32_t version = pool_get_le32(buf + 20);
    if (version != MDA_VERSION) {
        pool_error(POOL_ERR_DEVICE,
                   "metadata area header at %" PRIu64 ": unsupported version %" PRIu32
                   " (expected %d)",
                   mda_offset, version, MDA_VERSION);
        return -1;
    }
    uint64_t start = pool_get_le64(buf + 24);
    if (start != mda_offset) {
        pool_error(POOL_ERR_DEVICE,
                   "metadata area header at %" PRIu64 ": start field says %" PRIu64, mda_offset,
                   start);
        return -1;
    }
    uint64_t size = pool_get_le64(buf + 32);
    if (size < 2 * POOL_LVM_MDA_HEADER_SIZE) {
        pool_error(POOL_ERR_DEVICE,
                   "metadata area header at %" PRIu64 ": invalid area size %" PRIu64, mda_offset,
                   size);
        return -1;
    }

    const uint8_t *rl = buf + MDA_RAW_LOCN0;
    uint64_t off = pool_get_le64(rl);
    uint64_t msize = pool_get_le64(rl + 8);
    uint32_t csum = pool_get_le32(rl + 16);
    uint32_t flags = pool_get_le32(rl + 20);
    if (flags & RAW_LOCN_IGNORED) {
        pool_error(POOL_ERR_DEVICE,
                   "metadata area at %" PRIu64
                   " is ignored (pvchange --metadataignore): lvm no longer updates it",
                   mda_offset);
        return -1;
    }
    /* {0, 0}: no committed metadata (PV in no VG). Otherwise the text starts
     * in the circular buffer after the header and is smaller than it (it
     * may wrap around its end). */
    if ((off != 0 || msize != 0) && (off < POOL_LVM_MDA_HEADER_SIZE || off >= size || msize == 0 ||
                                     msize > size - POOL_LVM_MDA_HEADER_SIZE)) {
        pool_error(POOL_ERR_DEVICE,
                   "metadata area header at %" PRIu64 ": committed metadata (offset %" PRIu64
                   ", size %" PRIu64 ") outside the %" PRIu64 "-byte area",
                   mda_offset, off, msize, size);
        return -1;
    }

    fp->mda_offset = mda_offset;
    fp->meta_offset = off;
    fp->meta_size = msize;
    fp->meta_checksum = csum;
    *area_size = size;
    return 0;
}

int pool_lvm_mda_parse_header(const uint8_t *buf, size_t len, uint64_t mda_offset,
                              poolMdaFingerprint *fp)
{
    uint64_t area_size = 0;

    return parse_header(buf, len, mda_offset, fp, &area_size);
}

bool pool_lvm_mda_fingerprint_equal(const poolMdaFingerprint *a, const poolMdaFingerprint *b)
{
    return a->mda_offset == b->mda_offset && a->meta_offset == b->meta_offset &&
           a->meta_size == b->meta_size && a->meta_checksum == b->meta_checksum;
}

/* Open for direct reads. A regular file on a file system without O_DIRECT
 * (tmpfs) falls back to cached reads; a block device never does. */
static int open_direct(const char *dev)
{
    int fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd >= 0 || errno != EINVAL)
        return fd;

    struct stat st;
    if (stat(dev, &st) == 0 && S_ISREG(st.st_mode))
        return open(dev, O_RDONLY | O_CLOEXEC);
    errno = EINVAL;
    return -1;
}

/* Read exactly DIO_BLOCK bytes at off (a multiple of DIO_BLOCK). */
static int read_block(int fd, const char *dev, uint64_t off, uint8_t *buf, const char *what)
{
    size_t done = 0;
    char ebuf[128];

    if (off > (uint64_t)INT64_MAX - DIO_BLOCK) {
        pool_error(POOL_ERR_DEVICE, "%s: %s offset %" PRIu64 " out of range", dev, what, off);
        return -1;
    }
    while (done < DIO_BLOCK) {
        ssize_t n = pread(fd, buf + done, DIO_BLOCK - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            pool_error(POOL_ERR_DEVICE, "%s: cannot read the %s at %" PRIu64 ": %s", dev, what, off,
                       strerror_r(errno, ebuf, sizeof(ebuf)));
            return -1;
        }
        if (n == 0) {
            pool_error(POOL_ERR_DEVICE,
                       "%s: device too small: end of device while reading the %s at %" PRIu64, dev,
                       what, off);
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int pool_lvm_mda_fingerprint(const char *dev, poolMdaFingerprint *fp)
{
    POOL_AUTOFREE(uint8_t *) buf = NULL;
    POOL_AUTOCLOSE fd = -1;
    uint64_t mda_offset = 0, mda_size = 0, hdr_area_size = 0;
    poolMdaFingerprint got;
    char ebuf[128];
    void *p = NULL;

    if (posix_memalign(&p, DIO_BLOCK, DIO_BLOCK) != 0)
        return pool_error_oom();
    buf = p;

    fd = open_direct(dev);
    if (fd < 0) {
        pool_error(POOL_ERR_DEVICE, "%s: cannot open for direct reading: %s", dev,
                   strerror_r(errno, ebuf, sizeof(ebuf)));
        return -1;
    }

    if (read_block(fd, dev, 0, buf, "label area") < 0)
        return -1;
    if (pool_lvm_mda_parse_label(buf, DIO_BLOCK, &mda_offset, &mda_size) < 0) {
        pool_error_prefix("%s", dev);
        return -1;
    }

    /* The header is sector-aligned, so it lies inside one 4 KiB block. */
    uint64_t block = mda_offset - mda_offset % DIO_BLOCK;
    if (read_block(fd, dev, block, buf, "metadata area header") < 0)
        return -1;
    if (parse_header(buf + (mda_offset - block), DIO_BLOCK - (size_t)(mda_offset - block),
                     mda_offset, &got, &hdr_area_size) < 0) {
        pool_error_prefix("%s", dev);
        return -1;
    }
    if (hdr_area_size != mda_size) {
        pool_error(POOL_ERR_DEVICE,
                   "%s: metadata area at %" PRIu64 " is %" PRIu64 " bytes in the label but %" PRIu64
                   " in its header",
                   dev, mda_offset, mda_size, hdr_area_size);
        return -1;
    }
    *fp = got;
    return 0;
}
