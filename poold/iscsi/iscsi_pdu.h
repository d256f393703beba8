/*
 * iscsi_pdu.h: iSCSI PDU layout (RFC 7143 section 11): the 48-byte Basic
 * Header Segment, additional header segments, data segment padding and
 * CRC32C digests.
 *
 * A BHS is decoded into iscsiHdr, a flat view in which bytes 20..47 are seven
 * big-endian words (w[0] = bytes 20..23, ..., w[6] = bytes 44..47); the
 * accessors below name the fields of each opcode. Decoding never fails (every
 * bit pattern is a header); iscsi_hdr_check() then applies the rules the
 * target relies on and says which Reject reason a bad header earns.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_ISCSI_PDU_H
#define POOL_TARGET_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISCSI_BHS_LEN    48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_MAX_AHS    (255 * 4) /* TotalAHSLength is in 4-byte words */
#define ISCSI_RSVD_TAG   0xffffffffu

/* initiator opcodes */
#define ISCSI_OP_NOP_OUT    0x00
#define ISCSI_OP_SCSI_CMD   0x01
#define ISCSI_OP_TMF_REQ    0x02
#define ISCSI_OP_LOGIN_REQ  0x03
#define ISCSI_OP_TEXT_REQ   0x04
#define ISCSI_OP_DATA_OUT   0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
#define ISCSI_OP_SNACK      0x10
/* target opcodes */
#define ISCSI_OP_NOP_IN     0x20
#define ISCSI_OP_SCSI_RSP   0x21
#define ISCSI_OP_TMF_RSP    0x22
#define ISCSI_OP_LOGIN_RSP  0x23
#define ISCSI_OP_TEXT_RSP   0x24
#define ISCSI_OP_DATA_IN    0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T        0x31
#define ISCSI_OP_ASYNC      0x32
#define ISCSI_OP_REJECT     0x3f

/* byte 1 flags */
#define ISCSI_FLAG_FINAL    0x80
#define ISCSI_FLAG_CMD_R    0x40
#define ISCSI_FLAG_CMD_W    0x20
#define ISCSI_FLAG_CMD_ATTR 0x07
#define ISCSI_FLAG_TEXT_C   0x40
#define ISCSI_FLAG_LOGIN_T  0x80
#define ISCSI_FLAG_LOGIN_C  0x40
#define ISCSI_FLAG_DATA_A   0x40
#define ISCSI_FLAG_RSP_o    0x10 /* bidi read overflow */
#define ISCSI_FLAG_RSP_u    0x08
#define ISCSI_FLAG_RSP_O    0x04 /* residual overflow */
#define ISCSI_FLAG_RSP_U    0x02 /* residual underflow */
#define ISCSI_FLAG_DATA_S   0x01 /* status in this Data-In */

/* login stages */
#define ISCSI_STAGE_SECURITY    0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL        3

/* Reject reasons (RFC 7143 11.17.1) */
#define ISCSI_REJECT_DATA_DIGEST      0x02
#define ISCSI_REJECT_SNACK            0x03
#define ISCSI_REJECT_PROTOCOL_ERROR   0x04
#define ISCSI_REJECT_CMD_NOT_SUPP     0x05
#define ISCSI_REJECT_IMM_CMD_REJECT   0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS 0x07
#define ISCSI_REJECT_INVALID_DATA_ACK 0x08
#define ISCSI_REJECT_INVALID_FIELD    0x09
#define ISCSI_REJECT_LONG_OP_REJECT   0x0a
#define ISCSI_REJECT_NEGOTIATION_RST  0x0b
#define ISCSI_REJECT_WAIT_LOGOUT      0x0c

/* Task management functions and responses (11.5.1, 11.6.1) */
#define ISCSI_TMF_ABORT_TASK         1
#define ISCSI_TMF_ABORT_TASK_SET     2
#define ISCSI_TMF_CLEAR_ACA          3
#define ISCSI_TMF_CLEAR_TASK_SET     4
#define ISCSI_TMF_LUN_RESET          5
#define ISCSI_TMF_TARGET_WARM_RESET  6
#define ISCSI_TMF_TARGET_COLD_RESET  7
#define ISCSI_TMF_TASK_REASSIGN      8
#define ISCSI_TMF_RSP_COMPLETE       0
#define ISCSI_TMF_RSP_NO_TASK        1
#define ISCSI_TMF_RSP_NO_LUN         2
#define ISCSI_TMF_RSP_TASK_ALLEGIANT 3
#define ISCSI_TMF_RSP_NO_REASSIGN    4
#define ISCSI_TMF_RSP_NOT_SUPPORTED  5
#define ISCSI_TMF_RSP_AUTH_FAILED    6
#define ISCSI_TMF_RSP_REJECTED       255

/* Logout reasons and responses (11.14.1, 11.15.1) */
#define ISCSI_LOGOUT_CLOSE_SESSION 0
#define ISCSI_LOGOUT_CLOSE_CONN    1
#define ISCSI_LOGOUT_RECOVERY      2
#define ISCSI_LOGOUT_RSP_OK        0
#define ISCSI_LOGOUT_RSP_NO_CID    1
#define ISCSI_LOGOUT_RSP_NO_RECOV  2
#define ISCSI_LOGOUT_RSP_FAILED    3

/* Async events (11.9.1) */
#define ISCSI_ASYNC_SCSI_EVENT     0
#define ISCSI_ASYNC_LOGOUT_REQUEST 1
#define ISCSI_ASYNC_DROP_CONN      2
#define ISCSI_ASYNC_DROP_SESSION   3
#define ISCSI_ASYNC_NEGOTIATE      4

/* AHS types */
#define ISCSI_AHS_EXTENDED_CDB 1
#define ISCSI_AHS_BIDI_READ    2

/* word indexes into iscsiHdr.w (byte offset = 20 + 4 * index) */
#define ISCSI_W20 0
#define ISCSI_W24 1
#define ISCSI_W28 2
#define ISCSI_W32 3
#define ISCSI_W36 4
#define ISCSI_W40 5
#define ISCSI_W44 6

typedef struct {
    uint8_t opcode; /* 6 bits */
    bool immediate; /* I bit (initiator PDUs) */
    uint8_t flags;  /* byte 1 */
    uint8_t b2, b3; /* bytes 2, 3: opcode specific */
    uint8_t ahs_words;
    uint32_t dlen;  /* DataSegmentLength, 24 bits */
    uint8_t lun[8]; /* bytes 8..15 (ISID + TSIH for login) */
    uint32_t itt;   /* bytes 16..19 */
    uint32_t w[7];  /* bytes 20..47 */
} iscsiHdr;

void iscsi_hdr_decode(const uint8_t bhs[ISCSI_BHS_LEN], iscsiHdr *h);
void iscsi_hdr_encode(const iscsiHdr *h, uint8_t bhs[ISCSI_BHS_LEN]);

/* Validate an initiator PDU header for a connection in full feature phase
 * (login=false) or login phase (login=true). Returns 0, or -1 with *reason
 * set to the Reject reason to send. max_dlen is our declared
 * MaxRecvDataSegmentLength (login PDUs are limited separately by the
 * caller's buffer). */
int iscsi_hdr_check(const iscsiHdr *h, bool login, uint32_t max_dlen, uint8_t *reason);

/* Field helpers. */
static inline uint32_t iscsi_pad4(uint32_t len)
{
    return (len + 3u) & ~3u;
}
static inline uint32_t iscsi_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void iscsi_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint16_t iscsi_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline void iscsi_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
/* Serial number arithmetic (RFC 1982, 32 bits): a < b */
static inline bool iscsi_sn_lt(uint32_t a, uint32_t b)
{
    return a != b && (int32_t)(a - b) < 0;
}
static inline bool iscsi_sn_le(uint32_t a, uint32_t b)
{
    return a == b || iscsi_sn_lt(a, b);
}

/* CRC32C digest of header or data (with its padding), as a host value. On
 * the wire it travels least significant byte first (RFC 7143 appendix A.4). */
uint32_t iscsi_digest(const void *data, size_t len);
uint32_t iscsi_digest_update(uint32_t crc, const void *data, size_t len); /* start with 0 */
void iscsi_digest_put(uint8_t out[ISCSI_DIGEST_LEN], uint32_t crc);
uint32_t iscsi_digest_get(const uint8_t in[ISCSI_DIGEST_LEN]);

/* Walk the AHS area: returns 0 and fills *ext_cdb and *ext_len with an extended
 * CDB AHS if present (else NULL/0), or -1 when an AHS is malformed (length
 * runs past the area, unknown type with nonzero reserved bits...). */
int iscsi_ahs_parse(const uint8_t *ahs, size_t len, const uint8_t **ext_cdb, size_t *ext_len,
                    uint32_t *bidi_read_len);

/* LUN field (SAM-5 4.7): peripheral (00b) and flat (01b) single level
 * addressing. Returns 0 and the LUN number, or -1 for other forms. */
int iscsi_lun_decode(const uint8_t lun[8], uint64_t *out);
void iscsi_lun_encode(uint64_t lun, uint8_t out[8]);

/* Builders for target PDUs. Every one clears the header first; the caller
 * fills StatSN/ExpCmdSN/MaxCmdSN with iscsi_hdr_set_sn() at send time. */
void iscsi_hdr_init(iscsiHdr *h, uint8_t opcode, uint8_t flags, uint32_t itt);
void iscsi_hdr_set_sn(iscsiHdr *h, uint32_t statsn, uint32_t expcmdsn, uint32_t maxcmdsn);
void iscsi_build_scsi_rsp(iscsiHdr *h, uint32_t itt, uint8_t status, uint8_t flags,
                          uint32_t residual, uint32_t expdatasn, uint32_t sense_dlen);
void iscsi_build_data_in(iscsiHdr *h, uint32_t itt, const uint8_t lun[8], uint8_t flags,
                         uint8_t status, uint32_t datasn, uint32_t offset, uint32_t residual,
                         uint32_t dlen);
void iscsi_build_r2t(iscsiHdr *h, uint32_t itt, const uint8_t lun[8], uint32_t ttt, uint32_t r2tsn,
                     uint32_t offset, uint32_t len);
void iscsi_build_nop_in(iscsiHdr *h, uint32_t itt, uint32_t ttt, const uint8_t lun[8],
                        uint32_t dlen);
void iscsi_build_tmf_rsp(iscsiHdr *h, uint32_t itt, uint8_t response);
void iscsi_build_logout_rsp(iscsiHdr *h, uint32_t itt, uint8_t response, uint16_t t2w,
                            uint16_t t2r);
void iscsi_build_async(iscsiHdr *h, uint8_t event, uint16_t p1, uint16_t p2, uint16_t p3,
                       const uint8_t lun[8], uint32_t dlen);
void iscsi_build_reject(iscsiHdr *h, uint8_t reason, uint32_t datasn_r2tsn);
void iscsi_build_text_rsp(iscsiHdr *h, uint32_t itt, bool final, bool cont, uint32_t ttt,
                          const uint8_t lun[8], uint32_t dlen);
void iscsi_build_login_rsp(iscsiHdr *h, const uint8_t isid_tsih[8], uint32_t itt, uint8_t flags,
                           uint8_t cls, uint8_t detail, uint32_t dlen);

/* Field names per opcode. */
#define ISCSI_LOGIN_CSG(h) (((h)->flags >> 2) & 3)
#define ISCSI_LOGIN_NSG(h) ((h)->flags & 3)

const char *iscsi_opcode_name(uint8_t opcode);

#endif
