// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * md5.c: MD5 (RFC 1321), written from the RFC's description.
 *
 * The message is processed in 64-byte blocks of sixteen little-endian words;
 * each block runs four rounds of sixteen steps over the state (A, B, C, D).
 * Invariant: ctx->block holds (nbytes % 64) bytes not yet compressed, so
 * md5_update can be fed arbitrary slices. Padding is a 0x80 byte, zeros up to
 * 56 mod 64, then the bit length as a little-endian 64-bit integer.
 */
#include <string.h>

#include "md5.h"

/* T[i] = floor(2^32 * abs(sin(i + 1))) */
static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t md5_shift[64] = {
    7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 5,  9,  14, 20, 5,  9,
    14, 20, 5,  9,  14, 20, 5,  9,  14, 20, 4,  11, 16, 23, 4,  11, 16, 23, 4,  11, 16, 23,
    4,  11, 16, 23, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21,
};

static uint32_t rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void md5_compress(uint32_t state[4], const uint8_t block[64])
{
    uint32_t x[16];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];

    for (int i = 0; i < 16; i++)
        x[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
               (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;

    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;

        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (b & d) | (c & ~d);
            g = (5 * i + 1) & 15;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) & 15;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) & 15;
        }
        uint32_t tmp = d;
        d = c;
        c = b;
        b = b + rotl32(a + f + md5_t[i] + x[g], md5_shift[i]);
        a = tmp;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void md5_init(md5Ctx *ctx)
{
    ctx->state[0] = 0x67452301;
    ctx->state[1] = 0xefcdab89;
    ctx->state[2] = 0x98badcfe;
    ctx->state[3] = 0x10325476;
    ctx->nbytes = 0;
}

void md5_update(md5Ctx *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t have = (size_t)(ctx->nbytes & 63);

    ctx->nbytes += len;
    if (have) {
        size_t take = 64 - have < len ? 64 - have : len;

        memcpy(ctx->block + have, p, take);
        p += take;
        len -= take;
        if (have + take < 64)
            return;
        md5_compress(ctx->state, ctx->block);
    }
    while (len >= 64) {
        md5_compress(ctx->state, p);
        p += 64;
        len -= 64;
    }
    if (len)
        memcpy(ctx->block, p, len);
}

void md5_final(md5Ctx *ctx, uint8_t digest[MD5_DIGEST_LEN])
{
    uint64_t bits = ctx->nbytes * 8;
    size_t have = (size_t)(ctx->nbytes & 63);
    uint8_t lenle[8];

    ctx->block[have++] = 0x80;
    if (have > 56) {
        memset(ctx->block + have, 0, 64 - have);
        md5_compress(ctx->state, ctx->block);
        have = 0;
    }
    memset(ctx->block + have, 0, 56 - have);
    for (int i = 0; i < 8; i++)
        lenle[i] = (uint8_t)(bits >> (8 * i));
    memcpy(ctx->block + 56, lenle, 8);
    md5_compress(ctx->state, ctx->block);
    for (int i = 0; i < 4; i++) {
        digest[4 * i] = (uint8_t)ctx->state[i];
        digest[4 * i + 1] = (uint8_t)(ctx->state[i] >> 8);
        digest[4 * i + 2] = (uint8_t)(ctx->state[i] >> 16);
        digest[4 * i + 3] = (uint8_t)(ctx->state[i] >> 24);
    }
    memset(ctx, 0, sizeof(*ctx));
}

void md5_digest(const void *data, size_t len, uint8_t digest[MD5_DIGEST_LEN])
{
    md5Ctx ctx;

    md5_init(&ctx);
    md5_update(&ctx, data, len);
    md5_final(&ctx, digest);
}
