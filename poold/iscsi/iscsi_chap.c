// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_chap.c: CHAP (MD5) for iSCSI login, target side.
 *
 * State machine (iscsiChap.state):
 *   IDLE --CHAP_A with 5--> CHALLENGED --CHAP_N/CHAP_R ok--> DONE
 *                                      \--anything wrong--> FAILED
 * Invariants that make CHAP worth having:
 *   - every challenge is fresh: 16 random bytes from getrandom() and a
 *     random identifier, so a recorded response never replays;
 *   - a mutual challenge equal to ours is refused: otherwise an attacker
 *     could reflect our challenge back and use our answer as its own;
 *   - a target secret equal to the initiator secret is refused, for the
 *     same reason (RFC 7143 12.1.3);
 *   - responses are compared in constant time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "iscsi_chap.h"
#include "pool-util.h"

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int iscsi_chap_decode(const char *text, uint8_t *out, size_t max)
{
    size_t n = 0;

    if (text[0] != '0' || (text[1] != 'x' && text[1] != 'X' && text[1] != 'b' && text[1] != 'B'))
        return -1;
    if (text[1] == 'x' || text[1] == 'X') {
        const char *p = text + 2;
        size_t len = strlen(p);

        if (len == 0)
            return -1;
        if (len % 2) { /* odd digit count: leading nibble */
            int v = pool_hex_value(*p++);
            if (v < 0 || n >= max)
                return -1;
            out[n++] = (uint8_t)v;
        }
        for (; *p; p += 2) {
            int hi = pool_hex_value(p[0]), lo = pool_hex_value(p[1]);
            if (hi < 0 || lo < 0 || n >= max)
                return -1;
            out[n++] = (uint8_t)(hi << 4 | lo);
        }
        return (int)n;
    }
    /* base64 */
    const char *p = text + 2;
    uint32_t acc = 0;
    int bits = 0, pad = 0;

    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p == '=') {
            pad++;
            continue;
        }
        if (pad)
            return -1; /* data after padding */
        int v = b64val(*p);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= max)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    if (pad > 2)
        return -1;
    return n ? (int)n : -1;
}

void iscsi_chap_encode_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[in[i] >> 4];
        out[3 + 2 * i] = digits[in[i] & 15];
    }
    out[2 + 2 * len] = '\0';
}

void iscsi_chap_md5(uint8_t id, const char *secret, const uint8_t *challenge, size_t clen,
                    uint8_t out[MD5_DIGEST_LEN])
{
    md5Ctx ctx;

    md5_init(&ctx);
    md5_update(&ctx, &id, 1);
    md5_update(&ctx, secret, strlen(secret));
    md5_update(&ctx, challenge, clen);
    md5_final(&ctx, out);
}

static bool list_has_md5(const char *list)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == 1 && *p == '5')
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

static int fill_random(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t r = getrandom(p, len, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int iscsi_chap_challenge(iscsiChap *c, const char *chap_a, char *out_i, size_t ilen, char *out_c,
                         size_t clen)
{
    if (!list_has_md5(chap_a) || clen < 2 * ISCSI_CHAP_CHALLENGE_LEN + 3) {
        c->state = ISCSI_CHAP_FAILED;
        return -1;
    }
    if (fill_random(&c->id, 1) < 0 || fill_random(c->challenge, sizeof(c->challenge)) < 0) {
        c->state = ISCSI_CHAP_FAILED;
        return -1;
    }
    snprintf(out_i, ilen, "%u", c->id);
    iscsi_chap_encode_hex(c->challenge, sizeof(c->challenge), out_c);
    c->state = ISCSI_CHAP_CHALLENGED;
    return 0;
}

static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint8_t diff = 0;

    for (size_t i = 0; i < len; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

static int fail(iscsiChap *c, const char **why, const char *msg)
{
    c->state = ISCSI_CHAP_FAILED;
    *why = msg;
    return -1;
}

int iscsi_chap_verify(iscsiChap *c, const tgtAuth *auth, const char *chap_n, const char *chap_r,
                      const char *chap_i, const char *chap_c, char *out_n, size_t nlen, char *out_r,
                      size_t rlen, const char **why)
{
    uint8_t resp[ISCSI_CHAP_MAX_BINARY];
    uint8_t expect[MD5_DIGEST_LEN];
    int rl;

    if (c->state != ISCSI_CHAP_CHALLENGED)
        return fail(c, why, "CHAP response without challenge");
    if (!chap_n || !chap_r)
        return fail(c, why, "CHAP_N or CHAP_R missing");
    if (!auth->initiator.user[0] || strlen(auth->initiator.secret) < 1)
        return fail(c, why, "no CHAP credentials configured");
    if (strcmp(chap_n, auth->initiator.user) != 0)
        return fail(c, why, "unknown CHAP user");
    rl = iscsi_chap_decode(chap_r, resp, sizeof(resp));
    if (rl != MD5_DIGEST_LEN)
        return fail(c, why, "CHAP_R malformed");
    iscsi_chap_md5(c->id, auth->initiator.secret, c->challenge, sizeof(c->challenge), expect);
    if (!ct_equal(resp, expect, MD5_DIGEST_LEN))
        return fail(c, why, "CHAP response does not match (wrong secret)");

    if ((chap_i == NULL) != (chap_c == NULL))
        return fail(c, why, "mutual CHAP needs both CHAP_I and CHAP_C");
    if (!chap_i) {
        if (auth->mutual)
            return fail(c, why, "target requires mutual CHAP");
        if (nlen)
            out_n[0] = '\0';
        if (rlen)
            out_r[0] = '\0';
        c->state = ISCSI_CHAP_DONE;
        return 0;
    }
    /* mutual: the initiator challenges us */
    uint64_t idv = 0;
    const char *q = chap_i;
    if (!*q)
        return fail(c, why, "CHAP_I malformed");
    for (; *q; q++) {
        if (*q < '0' || *q > '9' || idv > 255)
            return fail(c, why, "CHAP_I malformed");
        idv = idv * 10 + (uint64_t)(*q - '0');
    }
    if (idv > 255)
        return fail(c, why, "CHAP_I out of range");
    int cl = iscsi_chap_decode(chap_c, resp, sizeof(resp));
    if (cl <= 0)
        return fail(c, why, "CHAP_C malformed");
    if ((size_t)cl == sizeof(c->challenge) && memcmp(resp, c->challenge, (size_t)cl) == 0)
        return fail(c, why, "reflected CHAP challenge refused");
    if (!auth->target.user[0] || !auth->target.secret[0])
        return fail(c, why, "mutual CHAP requested but no target credentials configured");
    if (strcmp(auth->target.secret, auth->initiator.secret) == 0)
        return fail(c, why, "identical CHAP secrets for both directions refused");
    if (nlen < strlen(auth->target.user) + 1 || rlen < 2 * MD5_DIGEST_LEN + 3)
        return fail(c, why, "internal: buffer too small");
    iscsi_chap_md5((uint8_t)idv, auth->target.secret, resp, (size_t)cl, expect);
    snprintf(out_n, nlen, "%s", auth->target.user);
    iscsi_chap_encode_hex(expect, MD5_DIGEST_LEN, out_r);
    c->state = ISCSI_CHAP_DONE;
    return 0;
}
