// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_pdu.c: Basic Header Segment encoding and decoding, AHS walk, LUN
 * field, digests.
 *
 * Every multi-byte field is big-endian on the wire (RFC 7143 11.1), except
 * the CRC32C digests, which are sent least significant byte first. Decoding
 * is total: any 48 bytes decode to an iscsiHdr, so nothing here can read out
 * of bounds; judging the header is iscsi_hdr_check()'s job, which keeps the
 * "what the bits say" and "what we accept" questions apart. Builders clear
 * the whole header so reserved fields are always zero on what we send.
 */
#include <string.h>

#include "iscsi_pdu.h"
#include "pool-util.h"

void iscsi_hdr_decode(const uint8_t bhs[ISCSI_BHS_LEN], iscsiHdr *h)
{
    h->immediate = (bhs[0] & 0x40) != 0;
    h->opcode = bhs[0] & 0x3f;
    h->flags = bhs[1];
    h->b2 = bhs[2];
    h->b3 = bhs[3];
    h->ahs_words = bhs[4];
    h->dlen = (uint32_t)bhs[5] << 16 | (uint32_t)bhs[6] << 8 | bhs[7];
    memcpy(h->lun, bhs + 8, 8);
    h->itt = iscsi_get_be32(bhs + 16);
    for (int i = 0; i < 7; i++)
        h->w[i] = iscsi_get_be32(bhs + 20 + 4 * i);
}

void iscsi_hdr_encode(const iscsiHdr *h, uint8_t bhs[ISCSI_BHS_LEN])
{
    bhs[0] = (uint8_t)((h->opcode & 0x3f) | (h->immediate ? 0x40 : 0));
    bhs[1] = h->flags;
    bhs[2] = h->b2;
    bhs[3] = h->b3;
    bhs[4] = h->ahs_words;
    bhs[5] = (uint8_t)(h->dlen >> 16);
    bhs[6] = (uint8_t)(h->dlen >> 8);
    bhs[7] = (uint8_t)h->dlen;
    memcpy(bhs + 8, h->lun, 8);
    iscsi_put_be32(bhs + 16, h->itt);
    for (int i = 0; i < 7; i++)
        iscsi_put_be32(bhs + 20 + 4 * i, h->w[i]);
}

int iscsi_hdr_check(const iscsiHdr *h, bool login, uint32_t max_dlen, uint8_t *reason)
{
    *reason = ISCSI_REJECT_PROTOCOL_ERROR;
    switch (h->opcode) {
    case ISCSI_OP_LOGIN_REQ:
        if (!login)
            return -1;
        /* T and C together, or a transit to the stage we are in or back */
        if ((h->flags & ISCSI_FLAG_LOGIN_T) && (h->flags & ISCSI_FLAG_LOGIN_C))
            return -1;
        if (ISCSI_LOGIN_CSG(h) == 2 || ISCSI_LOGIN_CSG(h) == ISCSI_STAGE_FULL)
            return -1;
        if (h->flags & 0x30)
            return -1;
        break;
    case ISCSI_OP_NOP_OUT:
    case ISCSI_OP_SCSI_CMD:
    case ISCSI_OP_TMF_REQ:
    case ISCSI_OP_TEXT_REQ:
    case ISCSI_OP_DATA_OUT:
    case ISCSI_OP_LOGOUT_REQ:
    case ISCSI_OP_SNACK:
        if (login)
            return -1;
        break;
    default:
        *reason = ISCSI_REJECT_CMD_NOT_SUPP;
        return -1;
    }
    if (h->dlen > max_dlen)
        return -1;
    if (h->ahs_words && h->opcode != ISCSI_OP_SCSI_CMD)
        return -1;
    switch (h->opcode) {
    case ISCSI_OP_NOP_OUT:
        if (!(h->flags & ISCSI_FLAG_FINAL))
            return -1;
        /* a NOP-Out answering nothing and asking nothing is meaningless */
        if (h->itt == ISCSI_RSVD_TAG && h->w[ISCSI_W20] == ISCSI_RSVD_TAG) {
            *reason = ISCSI_REJECT_INVALID_FIELD;
            return -1;
        }
        if (h->itt == ISCSI_RSVD_TAG && !h->immediate)
            return -1;
        break;
    case ISCSI_OP_SCSI_CMD:
        if (h->itt == ISCSI_RSVD_TAG) {
            *reason = ISCSI_REJECT_INVALID_FIELD;
            return -1;
        }
        break;
    case ISCSI_OP_DATA_OUT:
        if (h->immediate)
            return -1;
        break;
    case ISCSI_OP_TEXT_REQ:
        if ((h->flags & ISCSI_FLAG_FINAL) && (h->flags & ISCSI_FLAG_TEXT_C))
            return -1;
        if (h->itt == ISCSI_RSVD_TAG) {
            *reason = ISCSI_REJECT_INVALID_FIELD;
            return -1;
        }
        break;
    case ISCSI_OP_TMF_REQ:
        if (!(h->flags & ISCSI_FLAG_FINAL) || h->dlen)
            return -1;
        break;
    case ISCSI_OP_LOGOUT_REQ:
        if (!(h->flags & ISCSI_FLAG_FINAL) || h->dlen)
            return -1;
        break;
    default:
        break;
    }
    return 0;
}

uint32_t iscsi_digest_update(uint32_t crc, const void *data, size_t len)
{
    return pool_crc32c(crc, data, len);
}

uint32_t iscsi_digest(const void *data, size_t len)
{
    return pool_crc32c(0, data, len);
}

void iscsi_digest_put(uint8_t out[ISCSI_DIGEST_LEN], uint32_t crc)
{
    out[0] = (uint8_t)crc;
    out[1] = (uint8_t)(crc >> 8);
    out[2] = (uint8_t)(crc >> 16);
    out[3] = (uint8_t)(crc >> 24);
}

uint32_t iscsi_digest_get(const uint8_t in[ISCSI_DIGEST_LEN])
{
    return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}

int iscsi_ahs_parse(const uint8_t *ahs, size_t len, const uint8_t **ext_cdb, size_t *ext_len,
                    uint32_t *bidi_read_len)
{
    size_t off = 0;

    *ext_cdb = NULL;
    *ext_len = 0;
    if (bidi_read_len)
        *bidi_read_len = 0;
    while (off < len) {
        if (len - off < 4)
            return -1;
        size_t alen = iscsi_get_be16(ahs + off);
        uint8_t type = ahs[off + 2];
        size_t total = 3 + alen; /* length counts from the byte after type */

        total = (total + 3) & ~(size_t)3;
        if (alen == 0 || total > len - off)
            return -1;
        if (type == ISCSI_AHS_EXTENDED_CDB) {
            if (*ext_cdb)
                return -1;
            /* the reserved byte (4th) is counted in AHSLength */
            *ext_cdb = ahs + off + 4;
            *ext_len = alen - 1;
        } else if (type == ISCSI_AHS_BIDI_READ) {
            if (alen != 5)
                return -1;
            if (bidi_read_len)
                *bidi_read_len = iscsi_get_be32(ahs + off + 4);
        } else {
            return -1;
        }
        off += total;
    }
    return 0;
}

int iscsi_lun_decode(const uint8_t lun[8], uint64_t *out)
{
    for (int i = 2; i < 8; i++)
        if (lun[i])
            return -1;
    switch (lun[0] >> 6) {
    case 0: /* peripheral device addressing: bus identifier must be 0 */
        if (lun[0] & 0x3f)
            return -1;
        *out = lun[1];
        return 0;
    case 1: /* flat space addressing */
        *out = (uint64_t)(lun[0] & 0x3f) << 8 | lun[1];
        return 0;
    default:
        return -1;
    }
}

void iscsi_lun_encode(uint64_t lun, uint8_t out[8])
{
    memset(out, 0, 8);
    if (lun < 256) {
        out[1] = (uint8_t)lun;
    } else {
        out[0] = (uint8_t)(0x40 | ((lun >> 8) & 0x3f));
        out[1] = (uint8_t)lun;
    }
}

void iscsi_hdr_init(iscsiHdr *h, uint8_t opcode, uint8_t flags, uint32_t itt)
{
    memset(h, 0, sizeof(*h));
    h->opcode = opcode;
    h->flags = flags;
    h->itt = itt;
}

void iscsi_hdr_set_sn(iscsiHdr *h, uint32_t statsn, uint32_t expcmdsn, uint32_t maxcmdsn)
{
    h->w[ISCSI_W24] = statsn;
    h->w[ISCSI_W28] = expcmdsn;
    h->w[ISCSI_W32] = maxcmdsn;
}

void iscsi_build_scsi_rsp(iscsiHdr *h, uint32_t itt, uint8_t status, uint8_t flags,
                          uint32_t residual, uint32_t expdatasn, uint32_t sense_dlen)
{
    iscsi_hdr_init(h, ISCSI_OP_SCSI_RSP, (uint8_t)(ISCSI_FLAG_FINAL | flags), itt);
    h->b2 = 0; /* command completed at target */
    h->b3 = status;
    h->dlen = sense_dlen;
    h->w[ISCSI_W36] = expdatasn;
    h->w[ISCSI_W44] = (flags & (ISCSI_FLAG_RSP_O | ISCSI_FLAG_RSP_U)) ? residual : 0;
}

void iscsi_build_data_in(iscsiHdr *h, uint32_t itt, const uint8_t lun[8], uint8_t flags,
                         uint8_t status, uint32_t datasn, uint32_t offset, uint32_t residual,
                         uint32_t dlen)
{
    iscsi_hdr_init(h, ISCSI_OP_DATA_IN, flags, itt);
    if (flags & ISCSI_FLAG_DATA_S) {
        h->b3 = status;
        h->w[ISCSI_W44] = (flags & (ISCSI_FLAG_RSP_O | ISCSI_FLAG_RSP_U)) ? residual : 0;
    } else {
        /* LUN only meaningful with the A bit, which we never set */
        (void)lun;
    }
    h->dlen = dlen;
    h->w[ISCSI_W20] = ISCSI_RSVD_TAG;
    h->w[ISCSI_W36] = datasn;
    h->w[ISCSI_W40] = offset;
}

void iscsi_build_r2t(iscsiHdr *h, uint32_t itt, const uint8_t lun[8], uint32_t ttt, uint32_t r2tsn,
                     uint32_t offset, uint32_t len)
{
    iscsi_hdr_init(h, ISCSI_OP_R2T, ISCSI_FLAG_FINAL, itt);
    memcpy(h->lun, lun, 8);
    h->w[ISCSI_W20] = ttt;
    h->w[ISCSI_W36] = r2tsn;
    h->w[ISCSI_W40] = offset;
    h->w[ISCSI_W44] = len;
}

void iscsi_build_nop_in(iscsiHdr *h, uint32_t itt, uint32_t ttt, const uint8_t lun[8],
                        uint32_t dlen)
{
    iscsi_hdr_init(h, ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, itt);
    if (lun)
        memcpy(h->lun, lun, 8);
    h->w[ISCSI_W20] = ttt;
    h->dlen = dlen;
}

void iscsi_build_tmf_rsp(iscsiHdr *h, uint32_t itt, uint8_t response)
{
    iscsi_hdr_init(h, ISCSI_OP_TMF_RSP, ISCSI_FLAG_FINAL, itt);
    h->b2 = response;
}

void iscsi_build_logout_rsp(iscsiHdr *h, uint32_t itt, uint8_t response, uint16_t t2w, uint16_t t2r)
{
    iscsi_hdr_init(h, ISCSI_OP_LOGOUT_RSP, ISCSI_FLAG_FINAL, itt);
    h->b2 = response;
    h->w[ISCSI_W40] = (uint32_t)t2w << 16 | t2r;
}

void iscsi_build_async(iscsiHdr *h, uint8_t event, uint16_t p1, uint16_t p2, uint16_t p3,
                       const uint8_t lun[8], uint32_t dlen)
{
    iscsi_hdr_init(h, ISCSI_OP_ASYNC, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
    if (lun)
        memcpy(h->lun, lun, 8);
    h->dlen = dlen;
    h->w[ISCSI_W36] = (uint32_t)event << 24 | p1;
    h->w[ISCSI_W40] = (uint32_t)p2 << 16 | p3;
}

void iscsi_build_reject(iscsiHdr *h, uint8_t reason, uint32_t datasn_r2tsn)
{
    iscsi_hdr_init(h, ISCSI_OP_REJECT, ISCSI_FLAG_FINAL, ISCSI_RSVD_TAG);
    h->b2 = reason;
    h->dlen = ISCSI_BHS_LEN;
    h->w[ISCSI_W36] = datasn_r2tsn;
}

void iscsi_build_text_rsp(iscsiHdr *h, uint32_t itt, bool final, bool cont, uint32_t ttt,
                          const uint8_t lun[8], uint32_t dlen)
{
    iscsi_hdr_init(h, ISCSI_OP_TEXT_RSP,
                   (uint8_t)((final ? ISCSI_FLAG_FINAL : 0) | (cont ? ISCSI_FLAG_TEXT_C : 0)), itt);
    if (lun)
        memcpy(h->lun, lun, 8);
    h->w[ISCSI_W20] = ttt;
    h->dlen = dlen;
}

void iscsi_build_login_rsp(iscsiHdr *h, const uint8_t isid_tsih[8], uint32_t itt, uint8_t flags,
                           uint8_t cls, uint8_t detail, uint32_t dlen)
{
    iscsi_hdr_init(h, ISCSI_OP_LOGIN_RSP, flags, itt);
    h->b2 = 0; /* version-max */
    h->b3 = 0; /* version-active */
    memcpy(h->lun, isid_tsih, 8);
    h->dlen = dlen;
    h->w[ISCSI_W36] = (uint32_t)cls << 24 | (uint32_t)detail << 16;
}

const char *iscsi_opcode_name(uint8_t opcode)
{
    switch (opcode) {
    case ISCSI_OP_NOP_OUT:
        return "NOP-Out";
    case ISCSI_OP_SCSI_CMD:
        return "SCSI Command";
    case ISCSI_OP_TMF_REQ:
        return "Task Management Request";
    case ISCSI_OP_LOGIN_REQ:
        return "Login Request";
    case ISCSI_OP_TEXT_REQ:
        return "Text Request";
    case ISCSI_OP_DATA_OUT:
        return "SCSI Data-Out";
    case ISCSI_OP_LOGOUT_REQ:
        return "Logout Request";
    case ISCSI_OP_SNACK:
        return "SNACK Request";
    case ISCSI_OP_NOP_IN:
        return "NOP-In";
    case ISCSI_OP_SCSI_RSP:
        return "SCSI Response";
    case ISCSI_OP_TMF_RSP:
        return "Task Management Response";
    case ISCSI_OP_LOGIN_RSP:
        return "Login Response";
    case ISCSI_OP_TEXT_RSP:
        return "Text Response";
    case ISCSI_OP_DATA_IN:
        return "SCSI Data-In";
    case ISCSI_OP_LOGOUT_RSP:
        return "Logout Response";
    case ISCSI_OP_R2T:
        return "R2T";
    case ISCSI_OP_ASYNC:
        return "Asynchronous Message";
    case ISCSI_OP_REJECT:
        return "Reject";
    default:
        return "unknown";
    }
}
