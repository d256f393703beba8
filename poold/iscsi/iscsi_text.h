/*
 * iscsi_text.h: iSCSI text key=value exchange (RFC 7143 section 6 and the
 * key catalogue of section 13): parsing with the RFC's limits, a response
 * builder, and the target side of operational-key negotiation.
 *
 * Ownership: iscsi_text_parse() splits a caller buffer in place; the kv
 * pointers point into it. iscsiTextOut is a caller-owned growable buffer
 * freed with iscsi_text_out_free().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_ISCSI_TEXT_H
#define POOL_TARGET_ISCSI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_KEY_MAX        63
#define ISCSI_VALUE_MAX      255
#define ISCSI_BIG_VALUE_MAX  8192 /* CHAP_C / CHAP_R binary values */
#define ISCSI_TEXT_MAX_PAIRS 128
#define ISCSI_NAME_MAX       223

typedef struct {
    const char *key;
    const char *value;
} iscsiKV;

/* Split "k=v\0k=v\0..." of len bytes (buf must have one spare byte at
 * buf[len], which is set to NUL). Empty strings between pairs (padding) are
 * skipped. Returns the number of pairs or -1 with *why: malformed pair, key
 * too long or with invalid characters, value too long, duplicate key, too
 * many pairs. */
int iscsi_text_parse(char *buf, size_t len, iscsiKV *kv, size_t max, const char **why);

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory or over the limit */
    size_t limit;
} iscsiTextOut;

void iscsi_text_out_init(iscsiTextOut *o, size_t limit);
void iscsi_text_out_reset(iscsiTextOut *o);
void iscsi_text_out_free(iscsiTextOut *o);
/* Append "key=value\0". */
void iscsi_text_add(iscsiTextOut *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool iscsi_text_has_key(const iscsiTextOut *o, const char *key);

typedef enum {
    ISCSI_SESSION_UNSET = 0,
    ISCSI_SESSION_DISCOVERY,
    ISCSI_SESSION_NORMAL,
} iscsiSessionType;

/* Negotiated session and connection parameters. */
typedef struct {
    bool header_digest;
    bool data_digest;
    uint32_t max_connections;
    bool initial_r2t;
    bool immediate_data;
    uint32_t max_recv_dsl; /* what we accept in one PDU (our declaration) */
    uint32_t max_send_dsl; /* the initiator's MaxRecvDataSegmentLength */
    uint32_t max_burst;
    uint32_t first_burst;
    uint32_t time2wait;
    uint32_t time2retain;
    uint32_t max_outstanding_r2t;
    bool data_pdu_in_order;
    bool data_seq_in_order;
    uint32_t erl;
    uint32_t protocol_level;
    iscsiSessionType session_type;
    char initiator_name[ISCSI_NAME_MAX + 1];
    char initiator_alias[ISCSI_VALUE_MAX + 1];
    char target_name[ISCSI_NAME_MAX + 1];
} iscsiParams;

/* What this target offers / accepts. */
typedef struct {
    uint32_t max_recv_dsl;
    uint32_t max_burst;
    uint32_t first_burst;
    uint32_t max_outstanding_r2t;
    uint32_t max_connections;
    uint32_t time2wait;
    uint32_t time2retain;
    bool initial_r2t;    /* true: we insist on InitialR2T=Yes */
    bool immediate_data; /* false: we refuse ImmediateData */
    bool allow_digests;  /* CRC32C may be chosen */
} iscsiTargetLimits;

/* RFC 7143 defaults (section 13) — what applies to keys never negotiated. */
void iscsi_params_default(iscsiParams *p);
void iscsi_limits_default(iscsiTargetLimits *lim);

typedef struct {
    iscsiParams *p;
    const iscsiTargetLimits *lim;
    uint64_t seen; /* bit per key: negotiated once already */
    bool declared_mrdsl;
} iscsiNegotiation;

void iscsi_negotiation_init(iscsiNegotiation *n, iscsiParams *p, const iscsiTargetLimits *lim);

typedef enum {
    ISCSI_NEG_OK = 0,       /* handled, response (if any) appended */
    ISCSI_NEG_SECURITY = 1, /* AuthMethod / CHAP_*: the login code's business */
    ISCSI_NEG_ERROR = -1,   /* fatal protocol error (e.g. renegotiating a key) */
} iscsiNegResult;

/* Negotiate one key offered by the initiator during login. */
iscsiNegResult iscsi_negotiate_key(iscsiNegotiation *n, const char *key, const char *value,
                                   iscsiTextOut *out);
/* After the last operational PDU: declare what we have not yet declared,
 * apply the combination rules (FirstBurstLength <= MaxBurstLength). */
void iscsi_negotiation_finish(iscsiNegotiation *n, iscsiTextOut *out);

/* Value helpers (exposed for CHAP and tests). */
int iscsi_parse_number(const char *v, uint64_t max, uint64_t *out);
bool iscsi_name_valid(const char *name);

#endif
