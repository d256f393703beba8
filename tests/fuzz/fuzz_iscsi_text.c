// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_iscsi_text.c: libFuzzer target for login text handling: key=value
 * parsing with the RFC limits, operational-key negotiation, and CHAP value
 * decoding and verification — everything an unauthenticated initiator can
 * reach before the target knows who it is.
 *
 * Properties: parsed keys and values respect the length limits and contain
 * no NUL; every response is well-formed "key=value\0" text; negotiated
 * results stay within their RFC ranges (FirstBurstLength <= MaxBurstLength
 * after finish, ERL 0, MaxConnections 1); CHAP never accepts a response
 * for a challenge it did not issue.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_chap.h"
#include "iscsi_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_response(const iscsiTextOut *o)
{
    size_t off = 0;

    while (off < o->len) {
        const char *s = o->buf + off;
        size_t l = strnlen(s, o->len - off);
        if (l == o->len - off || !memchr(s, '=', l))
            abort();
        off += l + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf;
    iscsiKV kv[ISCSI_TEXT_MAX_PAIRS];
    const char *why = NULL;

    if (size > 70000)
        return 0;
    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    int n = iscsi_text_parse(buf, size, kv, ISCSI_TEXT_MAX_PAIRS, &why);
    if (n < 0 && !why)
        abort();

    iscsiParams p;
    iscsiTargetLimits lim;
    iscsiNegotiation neg;
    iscsiTextOut out;
    iscsi_params_default(&p);
    iscsi_limits_default(&lim);
    iscsi_negotiation_init(&neg, &p, &lim);
    iscsi_text_out_init(&out, 65536);
    const char *chap_r = NULL, *chap_i = NULL, *chap_c = NULL, *chap_n = NULL, *chap_a = NULL;

    for (int i = 0; i < n; i++) {
        size_t kl = strlen(kv[i].key), vl = strlen(kv[i].value);
        if (kl == 0 || kl > ISCSI_KEY_MAX || vl > ISCSI_BIG_VALUE_MAX)
            abort();
        iscsiNegResult r = iscsi_negotiate_key(&neg, kv[i].key, kv[i].value, &out);
        if (r == ISCSI_NEG_SECURITY) {
            if (strcmp(kv[i].key, "CHAP_R") == 0)
                chap_r = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_I") == 0)
                chap_i = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_C") == 0)
                chap_c = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_N") == 0)
                chap_n = kv[i].value;
            else if (strcmp(kv[i].key, "CHAP_A") == 0)
                chap_a = kv[i].value;
        }
        uint8_t bin[ISCSI_CHAP_MAX_BINARY];
        int bl = iscsi_chap_decode(kv[i].value, bin, sizeof(bin));
        if (bl > (int)sizeof(bin))
            abort();
    }
    iscsi_negotiation_finish(&neg, &out);
    if (!out.failed)
        check_response(&out);
    if (p.first_burst > p.max_burst || p.erl != 0 || p.max_connections != 1 ||
        p.max_send_dsl < 512 || p.max_send_dsl > 16777215)
        abort();

    /* CHAP: without a challenge nothing verifies; with a fresh random one,
     * a fuzzer-chosen response is (overwhelmingly) wrong */
    tgtAuth auth;
    memset(&auth, 0, sizeof(auth));
    strcpy(auth.initiator.user, "user");
    strcpy(auth.initiator.secret, "initiatorsecret");
    strcpy(auth.target.user, "target");
    strcpy(auth.target.secret, "targetsecret12");
    iscsiChap chap;
    char on[256], orr[64], ci[8], cc[64];
    memset(&chap, 0, sizeof(chap));
    if (iscsi_chap_verify(&chap, &auth, chap_n, chap_r, chap_i, chap_c, on, sizeof(on), orr,
                          sizeof(orr), &why) == 0)
        abort();
    if (chap_a) {
        memset(&chap, 0, sizeof(chap));
        if (iscsi_chap_challenge(&chap, chap_a, ci, sizeof(ci), cc, sizeof(cc)) == 0 &&
            iscsi_chap_verify(&chap, &auth, chap_n, chap_r, chap_i, chap_c, on, sizeof(on), orr,
                              sizeof(orr), &why) == 0)
            abort();
    }
    iscsi_text_out_free(&out);
    free(buf);
    return 0;
}
