/*
 * lvm_mda.h (private): notice that a VG's metadata changed by reading one
 * sector of a PV, without running lvm.
 *
 * Why: several hosts share a VG and each must notice within about a second
 * that another host committed new VG metadata. Running `lvm vgs` every second
 * on every host is far too expensive; reading the PV's metadata-area header
 * is two small direct reads.
 *
 * On-disk format (LVM2 text format, "LVM2 001"; all integers little-endian,
 * sectors are 512 bytes, offsets are bytes from the start of the device
 * unless said otherwise):
 *
 *   label sector, one of sectors 0..3 (lvm writes sector 1):
 *     0  char   id[8]        "LABELONE"
 *     8  u64    sector       number of the sector holding this label
 *    16  u32    crc          LVM crc (below) of bytes 20..511 of the sector
 *    20  u32    offset       of the pv_header from the start of the sector (32)
 *    24  char   type[8]      "LVM2 001"
 *   pv_header, at label sector + offset, must lie inside the sector:
 *     0  char   pv_uuid[32]
 *    32  u64    device_size
 *    40  disk_locn data_areas[]      list ended by an entry with offset 0
 *        disk_locn metadata_areas[]  list ended by an entry with offset 0
 *        (then a pv_header_extension we do not need)
 *     disk_locn = { u64 offset; u64 size; } (a data area has size 0 =
 *     "to the end of the device"; so, as in lvm, the lists end at the first
 *     offset 0, whatever the size says)
 *   mda_header, 512 bytes at metadata_areas[0].offset (4096 in practice):
 *     0  u32    checksum     LVM crc of bytes 4..511
 *     4  char   magic[16]    " LVM2 x[5A%r0N*>"
 *    20  u32    version      1
 *    24  u64    start        the header's own device offset
 *    32  u64    size         of the whole metadata area, header included
 *    40  raw_locn raw_locns[] list ended by an all-zero entry
 *     raw_locn = { u64 offset (from start); u64 size; u32 checksum (LVM crc
 *     of the metadata text); u32 flags (bit 0: RAW_LOCN_IGNORED) }
 *   LVM crc: the reflected CRC-32 of polynomial 0xEDB88320 started at
 *   0xF597A6CF, without pre- or post-inversion.
 *
 * How lvm commits metadata (the state machine this relies on):
 *   1. write: the new metadata text (which contains the VG's seqno, one
 *      higher than before) goes into the circular buffer [start + 512,
 *      start + size) right after the committed copy, on a sector boundary,
 *      wrapping at the end. The header is not touched, so a reader still
 *      sees the old raw_locns[0] and the old text intact.
 *   2. commit: the header sector is rewritten in one write with raw_locns[0]
 *      = {offset, size, checksum} of the new text and a new header checksum.
 *      (Some lvm versions also record a pre-committed copy in raw_locns[1]
 *      in between; it is not the committed metadata and is not looked at.)
 *   vgremove rewrites the header with raw_locns[0] zeroed; a PV outside any
 *   VG has raw_locns[0] all zero (fingerprint {mda_offset, 0, 0, 0}).
 * Every commit therefore changes raw_locns[0]: its checksum covers text
 * whose seqno changed (and its offset moves unless the buffer wrapped to the
 * same place), so comparing the triple (offset, size, checksum) detects
 * every commit short of a 32-bit CRC collision at an identical offset and
 * size. A header read while lvm rewrites it is either the old or the new
 * sector (sector writes are atomic on the devices lvm supports), and a torn
 * one fails its checksum: the caller retries on the next poll.
 *
 * Every PV with a metadata area in use is updated on each commit, so
 * watching one such PV is enough. A PV created with --metadatacopies 0 has
 * none (pool_lvm_mda_parse_label fails), and an mda marked ignored
 * (pvchange --metadataignore y) is no longer written by lvm, so its header
 * would never change: pool_lvm_mda_parse_header refuses it.
 *
 * Reads use O_DIRECT: on a shared disk another host writes the header and
 * this host's page cache would otherwise keep returning the old sector.
 *
 * The parsers are pure (no I/O) and must accept any bytes without reading
 * out of bounds (fuzzed by tests/fuzz/fuzz_lvm_mda.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_LVM_MDA_H
#define POOL_LVM_MDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_LVM_SECTOR_SIZE      512
#define POOL_LVM_LABEL_SCAN_BYTES (4 * POOL_LVM_SECTOR_SIZE) /* the label is in sectors 0..3 */
#define POOL_LVM_MDA_HEADER_SIZE  512

typedef struct {
    uint64_t mda_offset;    /* where the mda header lives on the device (bytes) */
    uint64_t meta_offset;   /* raw_locn[0].offset (relative to the mda start) */
    uint64_t meta_size;     /* raw_locn[0].size */
    uint32_t meta_checksum; /* raw_locn[0].checksum */
} poolMdaFingerprint;

/* The LVM crc variant (see above): crc = pool_lvm_mda_crc(0xF597A6CF, ...). */
uint32_t pool_lvm_mda_crc(uint32_t crc, const uint8_t *buf, size_t len);

/* Pure parsers (no I/O), for buffers read from the start of a PV.
 *
 * label: buf holds at least the first POOL_LVM_LABEL_SCAN_BYTES (2048) bytes
 *   of the device; finds the label in sectors 0..3, validates it (id, sector
 *   number, crc, type, pv_header bounds) and returns the first metadata
 *   area's offset and size. A PV without metadata area (--metadatacopies 0):
 *   -1 with POOL_ERR_DEVICE "... has no metadata area".
 * header: buf holds the POOL_LVM_MDA_HEADER_SIZE-byte mda header read from
 *   mda_offset; validates checksum, magic, version, start == mda_offset and
 *   raw_locns[0] (inside the area, not ignored) and fills *fp.
 * Both return 0, or -1 with POOL_ERR_DEVICE and a message naming the failed
 * check; outputs are written only on success. */
int pool_lvm_mda_parse_label(const uint8_t *buf, size_t len, uint64_t *mda_offset,
                             uint64_t *mda_size);
int pool_lvm_mda_parse_header(const uint8_t *buf, size_t len, uint64_t mda_offset,
                              poolMdaFingerprint *fp);

/* Read a device's fingerprint: O_DIRECT reads (aligned 4096-byte buffers) of
 * the label area and of the mda header, then the two parsers, and a check
 * that the header's area size matches the label's. `dev` may also be a
 * regular file (a PV image): if its file system refuses O_DIRECT it is read
 * through the page cache; a block device never is. 0, or -1 with
 * POOL_ERR_DEVICE (open and read failures included; POOL_ERR_NO_MEMORY if the
 * buffer cannot be allocated) and a message "<dev>: <what was wrong>". *fp is
 * written only on success. */
int pool_lvm_mda_fingerprint(const char *dev, poolMdaFingerprint *fp);

bool pool_lvm_mda_fingerprint_equal(const poolMdaFingerprint *a, const poolMdaFingerprint *b);

#endif
