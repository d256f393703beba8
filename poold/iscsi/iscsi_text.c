// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_text.c: key=value parsing and operational-key negotiation (target
 * side), RFC 7143 sections 6 and 13.
 *
 * The target never starts a negotiation of its own during login: it answers
 * what the initiator offers and declares its own MaxRecvDataSegmentLength.
 * Every key the initiator never offers keeps its RFC default, which is why
 * iscsi_params_default() is the single source of defaults. Each offered key
 * gets exactly one response, chosen by its result function:
 *   list (digests, TaskReporting): first offered value we support;
 *   min (MaxConnections, bursts, MaxOutstandingR2T, Time2Retain, ERL,
 *       iSCSIProtocolLevel); max (DefaultTime2Wait);
 *   OR (InitialR2T, DataPDUInOrder, DataSequenceInOrder); AND (ImmediateData);
 *   declarative (MaxRecvDataSegmentLength per direction, names, aliases,
 *       SessionType) - no response except our own declaration.
 * A value outside the key's range earns "Reject" and leaves the default; an
 * unknown key earns "NotUnderstood"; keys only a target may send earn
 * "Irrelevant". Offering the same key twice in one login is a protocol error
 * (RFC 7143 6.1), but answering a key we offered is not (we offer none).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi_text.h"
#include "pool-util.h"

static bool key_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '+' || c == '@' || c == '_';
}

static size_t value_limit(const char *key)
{
    if (strcmp(key, "CHAP_C") == 0 || strcmp(key, "CHAP_R") == 0)
        return ISCSI_BIG_VALUE_MAX;
    return ISCSI_VALUE_MAX;
}

int iscsi_text_parse(char *buf, size_t len, iscsiKV *kv, size_t max, const char **why)
{
    size_t n = 0, off = 0;

    buf[len] = '\0';
    while (off < len) {
        char *s = buf + off;
        size_t slen = strlen(s);

        off += slen + 1;
        if (slen == 0)
            continue; /* padding / stray separators */
        char *eq = strchr(s, '=');
        if (!eq) {
            *why = "key without '='";
            return -1;
        }
        size_t klen = (size_t)(eq - s);
        if (klen == 0 || klen > ISCSI_KEY_MAX) {
            *why = "key empty or longer than 63 bytes";
            return -1;
        }
        for (size_t i = 0; i < klen; i++) {
            if (!key_char_ok(s[i])) {
                *why = "invalid character in key";
                return -1;
            }
        }
        *eq = '\0';
        if (strlen(eq + 1) > value_limit(s)) {
            *why = "value too long";
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(kv[i].key, s) == 0) {
                *why = "key repeated";
                return -1;
            }
        }
        if (n == max) {
            *why = "too many keys";
            return -1;
        }
        kv[n].key = s;
        kv[n].value = eq + 1;
        n++;
    }
    return (int)n;
}

void iscsi_text_out_init(iscsiTextOut *o, size_t limit)
{
    memset(o, 0, sizeof(*o));
    o->limit = limit;
}

void iscsi_text_out_reset(iscsiTextOut *o)
{
    o->len = 0;
    o->failed = false;
}

void iscsi_text_out_free(iscsiTextOut *o)
{
    free(o->buf);
    memset(o, 0, sizeof(*o));
}

void iscsi_text_add(iscsiTextOut *o, const char *key, const char *fmt, ...)
{
    char val[ISCSI_BIG_VALUE_MAX + 1];
    va_list ap;
    int vlen;
    size_t need;

    if (o->failed)
        return;
    va_start(ap, fmt);
    vlen = vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    if (vlen < 0 || (size_t)vlen >= sizeof(val)) {
        o->failed = true;
        return;
    }
    need = strlen(key) + 1 + (size_t)vlen + 1;
    if (o->len + need > o->limit) {
        o->failed = true;
        return;
    }
    if (o->len + need > o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 1024;
        while (ncap < o->len + need)
            ncap *= 2;
        char *nb = realloc(o->buf, ncap);
        if (!nb) {
            o->failed = true;
            return;
        }
        o->buf = nb;
        o->cap = ncap;
    }
    memcpy(o->buf + o->len, key, strlen(key));
    o->len += strlen(key);
    o->buf[o->len++] = '=';
    memcpy(o->buf + o->len, val, (size_t)vlen);
    o->len += (size_t)vlen;
    o->buf[o->len++] = '\0';
}

bool iscsi_text_has_key(const iscsiTextOut *o, const char *key)
{
    size_t klen = strlen(key);

    for (size_t off = 0; off < o->len;) {
        const char *s = o->buf + off;
        size_t slen = strnlen(s, o->len - off);

        if (slen > klen && strncmp(s, key, klen) == 0 && s[klen] == '=')
            return true;
        off += slen + 1;
    }
    return false;
}

void iscsi_params_default(iscsiParams *p)
{
    memset(p, 0, sizeof(*p));
    p->header_digest = false;
    p->data_digest = false;
    p->max_connections = 1;
    p->initial_r2t = true;
    p->immediate_data = true;
    p->max_recv_dsl = 8192;
    p->max_send_dsl = 8192;
    p->max_burst = 262144;
    p->first_burst = 65536;
    p->time2wait = 2;
    p->time2retain = 20;
    p->max_outstanding_r2t = 1;
    p->data_pdu_in_order = true;
    p->data_seq_in_order = true;
    p->erl = 0;
    p->protocol_level = 0;
    p->session_type = ISCSI_SESSION_NORMAL;
}

void iscsi_limits_default(iscsiTargetLimits *lim)
{
    lim->max_recv_dsl = 262144;
    lim->max_burst = 1048576;
    lim->first_burst = 262144;
    lim->max_outstanding_r2t = 8;
    lim->max_connections = 1;
    lim->time2wait = 2;
    lim->time2retain = 20;
    lim->initial_r2t = false;
    lim->immediate_data = true;
    lim->allow_digests = true;
}

void iscsi_negotiation_init(iscsiNegotiation *n, iscsiParams *p, const iscsiTargetLimits *lim)
{
    memset(n, 0, sizeof(*n));
    n->p = p;
    n->lim = lim;
    p->max_recv_dsl = lim->max_recv_dsl;
}

int iscsi_parse_number(const char *v, uint64_t max, uint64_t *out)
{
    uint64_t val = 0;
    const char *s = v;

    if (!*s)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        if (!*s)
            return -1;
        for (; *s; s++) {
            int d = pool_hex_value(*s);
            if (d < 0)
                return -1;
            if (val > (max >> 4))
                return -1;
            val = val << 4 | (uint64_t)d;
        }
    } else {
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return -1;
            if (val > (max - (uint64_t)(*s - '0')) / 10)
                return -1;
            val = val * 10 + (uint64_t)(*s - '0');
        }
    }
    if (val > max)
        return -1;
    *out = val;
    return 0;
}

bool iscsi_name_valid(const char *name)
{
    size_t len = strlen(name);

    if (len < 5 || len > ISCSI_NAME_MAX)
        return false;
    if (strncasecmp(name, "iqn.", 4) != 0 && strncasecmp(name, "eui.", 4) != 0 &&
        strncasecmp(name, "naa.", 4) != 0)
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c == 0x7f || c == ',' || c == '/' || c == '\\' || c == '"')
            return false;
    }
    return true;
}

enum key_kind { K_LIST_DIGEST, K_NUM_MIN, K_NUM_MAX, K_BOOL_OR, K_BOOL_AND, K_DECL, K_SPECIAL };

enum key_id {
    KEY_HEADER_DIGEST,
    KEY_DATA_DIGEST,
    KEY_MAX_CONNECTIONS,
    KEY_SEND_TARGETS,
    KEY_TARGET_NAME,
    KEY_INITIATOR_NAME,
    KEY_TARGET_ALIAS,
    KEY_INITIATOR_ALIAS,
    KEY_TARGET_ADDRESS,
    KEY_TPGT,
    KEY_INITIAL_R2T,
    KEY_IMMEDIATE_DATA,
    KEY_MRDSL,
    KEY_MAX_BURST,
    KEY_FIRST_BURST,
    KEY_TIME2WAIT,
    KEY_TIME2RETAIN,
    KEY_MAX_OUT_R2T,
    KEY_DATA_PDU_IN_ORDER,
    KEY_DATA_SEQ_IN_ORDER,
    KEY_ERL,
    KEY_SESSION_TYPE,
    KEY_TASK_REPORTING,
    KEY_PROTOCOL_LEVEL,
    KEY_OFMARKER,
    KEY_IFMARKER,
    KEY_OFMARKINT,
    KEY_IFMARKINT,
    KEY_COUNT
};

static const struct {
    const char *name;
    enum key_id id;
    enum key_kind kind;
    uint64_t min, max;
} key_table[] = {
    {"HeaderDigest", KEY_HEADER_DIGEST, K_LIST_DIGEST, 0, 0},
    {"DataDigest", KEY_DATA_DIGEST, K_LIST_DIGEST, 0, 0},
    {"MaxConnections", KEY_MAX_CONNECTIONS, K_NUM_MIN, 1, 65535},
    {"SendTargets", KEY_SEND_TARGETS, K_SPECIAL, 0, 0},
    {"TargetName", KEY_TARGET_NAME, K_DECL, 0, 0},
    {"InitiatorName", KEY_INITIATOR_NAME, K_DECL, 0, 0},
    {"TargetAlias", KEY_TARGET_ALIAS, K_SPECIAL, 0, 0},
    {"InitiatorAlias", KEY_INITIATOR_ALIAS, K_DECL, 0, 0},
    {"TargetAddress", KEY_TARGET_ADDRESS, K_SPECIAL, 0, 0},
    {"TargetPortalGroupTag", KEY_TPGT, K_SPECIAL, 0, 0},
    {"InitialR2T", KEY_INITIAL_R2T, K_BOOL_OR, 0, 0},
    {"ImmediateData", KEY_IMMEDIATE_DATA, K_BOOL_AND, 0, 0},
    {"MaxRecvDataSegmentLength", KEY_MRDSL, K_DECL, 512, 16777215},
    {"MaxBurstLength", KEY_MAX_BURST, K_NUM_MIN, 512, 16777215},
    {"FirstBurstLength", KEY_FIRST_BURST, K_NUM_MIN, 512, 16777215},
    {"DefaultTime2Wait", KEY_TIME2WAIT, K_NUM_MAX, 0, 3600},
    {"DefaultTime2Retain", KEY_TIME2RETAIN, K_NUM_MIN, 0, 3600},
    {"MaxOutstandingR2T", KEY_MAX_OUT_R2T, K_NUM_MIN, 1, 65535},
    {"DataPDUInOrder", KEY_DATA_PDU_IN_ORDER, K_BOOL_OR, 0, 0},
    {"DataSequenceInOrder", KEY_DATA_SEQ_IN_ORDER, K_BOOL_OR, 0, 0},
    {"ErrorRecoveryLevel", KEY_ERL, K_NUM_MIN, 0, 2},
    {"SessionType", KEY_SESSION_TYPE, K_DECL, 0, 0},
    {"TaskReporting", KEY_TASK_REPORTING, K_SPECIAL, 0, 0},
    {"iSCSIProtocolLevel", KEY_PROTOCOL_LEVEL, K_NUM_MIN, 0, 31},
    {"OFMarker", KEY_OFMARKER, K_BOOL_AND, 0, 0},
    {"IFMarker", KEY_IFMARKER, K_BOOL_AND, 0, 0},
    {"OFMarkInt", KEY_OFMARKINT, K_SPECIAL, 0, 0},
    {"IFMarkInt", KEY_IFMARKINT, K_SPECIAL, 0, 0},
};

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "Yes") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "No") == 0) {
        *out = false;
        return 0;
    }
    return -1;
}

/* Pick the first value of a comma list that ok() accepts. */
static const char *list_pick(const char *list, bool allow_crc, char *buf, size_t buflen)
{
    const char *p = list;

    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len < buflen) {
            memcpy(buf, p, len);
            buf[len] = '\0';
            if (strcmp(buf, "None") == 0 || (allow_crc && strcmp(buf, "CRC32C") == 0))
                return buf;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return NULL;
}

static bool list_contains(const char *list, const char *want)
{
    size_t wl = strlen(want);

    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == wl && strncmp(p, want, wl) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

static uint32_t min32(uint64_t a, uint64_t b)
{
    return (uint32_t)(a < b ? a : b);
}

iscsiNegResult iscsi_negotiate_key(iscsiNegotiation *n, const char *key, const char *value,
                                   iscsiTextOut *out)
{
    iscsiParams *p = n->p;
    const iscsiTargetLimits *lim = n->lim;
    size_t i;
    uint64_t num = 0;
    bool b = false;

    if (strcmp(key, "AuthMethod") == 0 || strncmp(key, "CHAP_", 5) == 0)
        return ISCSI_NEG_SECURITY;
    for (i = 0; i < sizeof(key_table) / sizeof(key_table[0]); i++)
        if (strcmp(key_table[i].name, key) == 0)
            break;
    if (i == sizeof(key_table) / sizeof(key_table[0])) {
        iscsi_text_add(out, key, "NotUnderstood");
        return ISCSI_NEG_OK;
    }
    enum key_id id = key_table[i].id;
    /* responses to our own offers never happen; repeated offers are errors
     * except the names, which the login code re-validates anyway */
    if (n->seen & (1ull << id)) {
        if (id == KEY_TARGET_NAME || id == KEY_INITIATOR_NAME || id == KEY_SESSION_TYPE) {
            /* fall through: must match the first declaration */
        } else {
            return ISCSI_NEG_ERROR;
        }
    }
    n->seen |= 1ull << id;

    /* "Reject"/"Irrelevant"/"NotUnderstood" from an initiator answer
     * nothing we asked; keep the default */
    if (strcmp(value, "Reject") == 0 || strcmp(value, "Irrelevant") == 0 ||
        strcmp(value, "NotUnderstood") == 0)
        return ISCSI_NEG_OK;

    switch (key_table[i].kind) {
    case K_LIST_DIGEST: {
        char buf[16];
        const char *pick = list_pick(value, lim->allow_digests, buf, sizeof(buf));
        if (!pick) {
            iscsi_text_add(out, key, "Reject");
            return ISCSI_NEG_OK;
        }
        bool crc = strcmp(pick, "CRC32C") == 0;
        if (id == KEY_HEADER_DIGEST)
            p->header_digest = crc;
        else
            p->data_digest = crc;
        iscsi_text_add(out, key, "%s", pick);
        return ISCSI_NEG_OK;
    }
    case K_NUM_MIN:
    case K_NUM_MAX:
        if (iscsi_parse_number(value, key_table[i].max, &num) < 0 || num < key_table[i].min) {
            iscsi_text_add(out, key, "Reject");
            return ISCSI_NEG_OK;
        }
        switch (id) {
        case KEY_MAX_CONNECTIONS:
            p->max_connections = min32(num, lim->max_connections);
            iscsi_text_add(out, key, "%u", p->max_connections);
            break;
        case KEY_MAX_BURST:
            p->max_burst = min32(num, lim->max_burst);
            iscsi_text_add(out, key, "%u", p->max_burst);
            break;
        case KEY_FIRST_BURST:
            p->first_burst = min32(min32(num, lim->first_burst), p->max_burst);
            iscsi_text_add(out, key, "%u", p->first_burst);
            break;
        case KEY_TIME2WAIT:
            p->time2wait = num > lim->time2wait ? (uint32_t)num : lim->time2wait;
            iscsi_text_add(out, key, "%u", p->time2wait);
            break;
        case KEY_TIME2RETAIN:
            p->time2retain = min32(num, lim->time2retain);
            iscsi_text_add(out, key, "%u", p->time2retain);
            break;
        case KEY_MAX_OUT_R2T:
            p->max_outstanding_r2t = min32(num, lim->max_outstanding_r2t);
            iscsi_text_add(out, key, "%u", p->max_outstanding_r2t);
            break;
        case KEY_ERL:
            p->erl = 0; /* we implement ErrorRecoveryLevel 0 only */
            iscsi_text_add(out, key, "0");
            break;
        case KEY_PROTOCOL_LEVEL:
            p->protocol_level = min32(num, 1);
            iscsi_text_add(out, key, "%u", p->protocol_level);
            break;
        default:
            break;
        }
        return ISCSI_NEG_OK;
    case K_BOOL_OR:
    case K_BOOL_AND:
        if (parse_bool(value, &b) < 0) {
            iscsi_text_add(out, key, "Reject");
            return ISCSI_NEG_OK;
        }
        switch (id) {
        case KEY_INITIAL_R2T:
            p->initial_r2t = b || lim->initial_r2t;
            iscsi_text_add(out, key, "%s", p->initial_r2t ? "Yes" : "No");
            break;
        case KEY_IMMEDIATE_DATA:
            p->immediate_data = b && lim->immediate_data;
            iscsi_text_add(out, key, "%s", p->immediate_data ? "Yes" : "No");
            break;
        case KEY_DATA_PDU_IN_ORDER:
            /* we only reassemble in order: our side says Yes, so OR is Yes */
            p->data_pdu_in_order = true;
            iscsi_text_add(out, key, "Yes");
            break;
        case KEY_DATA_SEQ_IN_ORDER:
            p->data_seq_in_order = true;
            iscsi_text_add(out, key, "Yes");
            break;
        case KEY_OFMARKER:
        case KEY_IFMARKER:
            iscsi_text_add(out, key, "No"); /* markers are not implemented */
            break;
        default:
            break;
        }
        return ISCSI_NEG_OK;
    case K_DECL:
        switch (id) {
        case KEY_MRDSL:
            if (iscsi_parse_number(value, key_table[i].max, &num) < 0 || num < key_table[i].min) {
                iscsi_text_add(out, key, "Reject");
                return ISCSI_NEG_OK;
            }
            p->max_send_dsl = (uint32_t)num;
            if (!n->declared_mrdsl) {
                iscsi_text_add(out, key, "%u", p->max_recv_dsl);
                n->declared_mrdsl = true;
            }
            break;
        case KEY_INITIATOR_NAME:
        case KEY_TARGET_NAME: {
            char *dst = id == KEY_INITIATOR_NAME ? p->initiator_name : p->target_name;
            if (!iscsi_name_valid(value))
                return ISCSI_NEG_ERROR;
            if (dst[0] && strcmp(dst, value) != 0)
                return ISCSI_NEG_ERROR;
            snprintf(dst, ISCSI_NAME_MAX + 1, "%s", value);
            break;
        }
        case KEY_INITIATOR_ALIAS:
            snprintf(p->initiator_alias, sizeof(p->initiator_alias), "%s", value);
            break;
        case KEY_SESSION_TYPE: {
            iscsiSessionType t;
            if (strcmp(value, "Discovery") == 0)
                t = ISCSI_SESSION_DISCOVERY;
            else if (strcmp(value, "Normal") == 0)
                t = ISCSI_SESSION_NORMAL;
            else
                return ISCSI_NEG_ERROR;
            if (p->session_type != ISCSI_SESSION_UNSET && (n->seen & (1ull << 63)) &&
                p->session_type != t)
                return ISCSI_NEG_ERROR;
            p->session_type = t;
            n->seen |= 1ull << 63;
            break;
        }
        default:
            break;
        }
        return ISCSI_NEG_OK;
    case K_SPECIAL:
        switch (id) {
        case KEY_TASK_REPORTING:
            iscsi_text_add(out, key, "%s", list_contains(value, "RFC3720") ? "RFC3720" : "Reject");
            break;
        case KEY_OFMARKINT:
        case KEY_IFMARKINT:
        case KEY_SEND_TARGETS:
        case KEY_TARGET_ALIAS:
        case KEY_TARGET_ADDRESS:
        case KEY_TPGT:
        default:
            iscsi_text_add(out, key, "Irrelevant");
            break;
        }
        return ISCSI_NEG_OK;
    }
    return ISCSI_NEG_OK;
}

void iscsi_negotiation_finish(iscsiNegotiation *n, iscsiTextOut *out)
{
    iscsiParams *p = n->p;

    if (!n->declared_mrdsl) {
        iscsi_text_add(out, "MaxRecvDataSegmentLength", "%u", p->max_recv_dsl);
        n->declared_mrdsl = true;
    }
    if (p->first_burst > p->max_burst)
        p->first_burst = p->max_burst;
}
