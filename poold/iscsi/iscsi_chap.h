/*
 * iscsi_chap.h: CHAP authentication for iSCSI login (RFC 7143 12.1.3,
 * RFC 1994), MD5 only (CHAP_A=5), one-way and mutual, target side.
 *
 * Flow: the initiator offers CHAP_A; iscsi_chap_challenge() picks 5 and
 * produces CHAP_I/CHAP_C; the initiator answers with CHAP_N/CHAP_R (and
 * CHAP_I/CHAP_C of its own for mutual authentication);
 * iscsi_chap_verify() checks them and produces our CHAP_N/CHAP_R.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_ISCSI_CHAP_H
#define POOL_TARGET_ISCSI_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "md5.h"
#include "target.h"

#define ISCSI_CHAP_CHALLENGE_LEN 16
#define ISCSI_CHAP_MAX_BINARY    1024 /* longest challenge we accept */
#define ISCSI_CHAP_MD5           5

typedef enum {
    ISCSI_CHAP_IDLE = 0,   /* nothing exchanged yet */
    ISCSI_CHAP_CHALLENGED, /* we sent CHAP_I/CHAP_C, waiting for CHAP_N/CHAP_R */
    ISCSI_CHAP_DONE,       /* initiator proved itself (and we answered) */
    ISCSI_CHAP_FAILED,
} iscsiChapState;

typedef struct {
    iscsiChapState state;
    uint8_t id;
    uint8_t challenge[ISCSI_CHAP_CHALLENGE_LEN];
} iscsiChap;

/* Decode a CHAP binary value: "0x" hex or "0b" base64 (RFC 7143 6.1).
 * Returns the byte count or -1. */
int iscsi_chap_decode(const char *text, uint8_t *out, size_t max);
/* Encode as "0x" + lowercase hex into out (2 * len + 3 bytes). */
void iscsi_chap_encode_hex(const uint8_t *in, size_t len, char *out);
/* MD5(id || secret || challenge) */
void iscsi_chap_md5(uint8_t id, const char *secret, const uint8_t *challenge, size_t clen,
                    uint8_t out[MD5_DIGEST_LEN]);

/* CHAP_A offered by the initiator (a list). On success fills our CHAP_A,
 * CHAP_I and CHAP_C values (as text) and returns 0; -1 if MD5 is not in
 * the list. */
int iscsi_chap_challenge(iscsiChap *c, const char *chap_a, char *out_i, size_t ilen, char *out_c,
                         size_t clen);
/* Verify the initiator's answer. chap_i / chap_c are the initiator's mutual
 * challenge (both NULL for one-way). On success returns 0 and, for mutual,
 * fills out_n / out_r with our name and response. -1 with *why on failure. */
int iscsi_chap_verify(iscsiChap *c, const tgtAuth *auth, const char *chap_n, const char *chap_r,
                      const char *chap_i, const char *chap_c, char *out_n, size_t nlen, char *out_r,
                      size_t rlen, const char **why);

#endif
