/*
 * md5.h: MD5 message digest (RFC 1321), used only by iSCSI CHAP (RFC 1994,
 * CHAP_A=5). MD5 is broken for collision resistance, but CHAP needs only a
 * keyed one-way response and RFC 7143 mandates MD5 for interoperability.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_MD5_H
#define POOL_TARGET_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_DIGEST_LEN 16

typedef struct {
    uint32_t state[4];
    uint64_t nbytes;   /* total message length so far */
    uint8_t block[64]; /* partial input block */
} md5Ctx;

void md5_init(md5Ctx *ctx);
void md5_update(md5Ctx *ctx, const void *data, size_t len);
void md5_final(md5Ctx *ctx, uint8_t digest[MD5_DIGEST_LEN]);
/* One-shot convenience. */
void md5_digest(const void *data, size_t len, uint8_t digest[MD5_DIGEST_LEN]);

#endif
