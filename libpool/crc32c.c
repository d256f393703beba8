// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crc32c.c: CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * Every control-socket frame carries a CRC32C of its payload, up to the
 * maximum message size, so the checksum is on the hot path of large
 * replies. CRC32C rather than zlib's CRC32 because x86 has an instruction
 * for it (SSE4.2 crc32) and it is what iSCSI digests and ext4/btrfs use.
 *
 * Two implementations give identical results:
 *  - portable slicing-by-8: eight 256-entry tables built once at first use,
 *    eight bytes per step, byte loads so it is endian- and
 *    alignment-independent;
 *  - x86-64 SSE4.2 crc32 instruction, chosen at runtime when the CPU has it.
 *
 * Convention: the pre- and post-inversion are done inside, so callers pass 0
 * to start and may chain: crc(crc(0, a), b) == crc(0, a || b). The standard
 * check value crc32c("123456789") is 0xE3069283.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "pool-util.h"

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc_impl)(uint32_t crc, const unsigned char *p, size_t len);

static uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* crc here is the raw register (already inverted). */
static uint32_t crc_slice8(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint32_t lo = crc ^ load_le32(p);
        uint32_t hi = load_le32(p + 4);

        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^
              crc_table[2][(hi >> 8) & 0xff] ^ crc_table[1][(hi >> 16) & 0xff] ^
              crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POOL_CRC32C_HW 1
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const unsigned char *p,
                                                            size_t len)
{
    uint64_t c = crc;

    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        len--;
    }
    return (uint32_t)c;
}
#endif

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;

        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        for (int t = 1; t < 8; t++) {
            uint32_t prev = crc_table[t - 1][n];

            crc_table[t][n] = (prev >> 8) ^ crc_table[0][prev & 0xff];
        }
    }
    crc_impl = crc_slice8;
#ifdef POOL_CRC32C_HW
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        crc_impl = crc_sse42;
#endif
}

uint32_t pool_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    if (!data || len == 0)
        return crc;
    return ~crc_impl(~crc, data, len);
}

uint32_t pool_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    if (!data || len == 0)
        return crc;
    return ~crc_slice8(~crc, data, len);
}
