/*
 * nbd_proto.c: NBD encoding and decoding (see nbd_proto.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <string.h>

#include "nbd_proto.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

void nbd_encode_greeting(uint8_t out[NBD_GREETING_LEN])
{
    put64(out, NBD_MAGIC);
    put64(out + 8, NBD_IHAVEOPT);
    put16(out + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}

int nbd_decode_client_flags(const uint8_t in[4], uint32_t *flags, const char **why)
{
    uint32_t f = get32(in);

    if (f & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
        *why = "unknown client flags";
        return -1;
    }
    if (!(f & NBD_FLAG_C_FIXED_NEWSTYLE)) {
        *why = "client does not speak fixed newstyle";
        return -1;
    }
    *flags = f;
    return 0;
}

int nbd_decode_opt_header(const uint8_t in[NBD_OPT_HDR_LEN], nbdOptHdr *h, const char **why)
{
    if (get64(in) != NBD_IHAVEOPT) {
        *why = "option without the IHAVEOPT magic";
        return -1;
    }
    h->option = get32(in + 8);
    h->length = get32(in + 12);
    if (h->length > NBD_OPT_MAX_LEN) {
        *why = "option data too long";
        return -1;
    }
    return 0;
}

int nbd_parse_go(const uint8_t *data, size_t len, nbdGoRequest *go, const char **why)
{
    uint32_t nlen;
    uint16_t n;

    memset(go, 0, sizeof(*go));
    if (len < 6) {
        *why = "option data shorter than a name length and an info count";
        return -1;
    }
    nlen = get32(data);
    if (nlen > NBD_NAME_MAX) {
        *why = "export name too long";
        return -1;
    }
    if ((size_t)nlen > len - 6) {
        *why = "export name longer than the option data";
        return -1;
    }
    n = get16(data + 4 + nlen);
    if ((size_t)n * 2 != len - 6 - nlen) {
        *why = "info request count does not match the option length";
        return -1;
    }
    if (memchr(data + 4, '\0', nlen) != NULL) {
        *why = "export name contains a NUL byte";
        return -1;
    }
    go->name = (const char *)data + 4;
    go->name_len = nlen;
    for (uint16_t i = 0; i < n; i++) {
        uint16_t t = get16(data + 6 + nlen + 2 * (size_t)i);
        if (t == NBD_INFO_BLOCK_SIZE)
            go->want_block_size = true;
        else if (t == NBD_INFO_NAME)
            go->want_name = true;
        /* other types: ignored, as the spec asks */
    }
    return 0;
}

void nbd_encode_opt_reply(uint8_t out[NBD_REP_HDR_LEN], uint32_t option, uint32_t type,
                          uint32_t len)
{
    put64(out, NBD_REP_MAGIC);
    put32(out + 8, option);
    put32(out + 12, type);
    put32(out + 16, len);
}

void nbd_encode_info_export(uint8_t out[NBD_INFO_EXPORT_LEN], uint64_t size, uint16_t flags)
{
    put16(out, NBD_INFO_EXPORT);
    put64(out + 2, size);
    put16(out + 10, flags);
}

void nbd_encode_info_block_size(uint8_t out[NBD_INFO_BLOCK_SIZE_LEN], uint32_t min, uint32_t pref,
                                uint32_t max)
{
    put16(out, NBD_INFO_BLOCK_SIZE);
    put32(out + 2, min);
    put32(out + 6, pref);
    put32(out + 10, max);
}

uint16_t nbd_transmission_flags(const nbdExportLimits *lim)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA;

    if (!lim->writable)
        f |= NBD_FLAG_READ_ONLY;
    else {
        f |= NBD_FLAG_SEND_WRITE_ZEROES;
        if (lim->can_trim)
            f |= NBD_FLAG_SEND_TRIM;
    }
    return f;
}

int nbd_decode_request(const uint8_t in[NBD_REQUEST_LEN], nbdRequest *r, const char **why)
{
    if (get32(in) != NBD_REQUEST_MAGIC) {
        *why = "request without the request magic";
        return -1;
    }
    r->flags = get16(in + 4);
    r->type = get16(in + 6);
    r->cookie = get64(in + 8);
    r->offset = get64(in + 16);
    r->length = get32(in + 24);
    return 0;
}

uint32_t nbd_request_payload(const nbdRequest *r)
{
    return r->type == NBD_CMD_WRITE ? r->length : 0;
}

/* offset and length inside the export and aligned */
static uint32_t check_range(const nbdRequest *r, const nbdExportLimits *lim, bool write,
                            const char **why)
{
    uint32_t bs = lim->block_size ? lim->block_size : 1;

    if (r->length == 0) {
        *why = "zero-length request";
        return NBD_EINVAL;
    }
    if (r->offset % bs || r->length % bs) {
        *why = "offset or length not a multiple of the export's block size";
        return NBD_EINVAL;
    }
    if (r->offset > lim->size || r->length > lim->size - r->offset) {
        *why = "request beyond the end of the export";
        return write ? NBD_ENOSPC : NBD_EINVAL;
    }
    return 0;
}

uint32_t nbd_check_request(const nbdRequest *r, const nbdExportLimits *lim, const char **why)
{
    uint16_t allowed = 0;
    bool write = false;

    switch (r->type) {
    case NBD_CMD_READ:
        break;
    case NBD_CMD_WRITE:
        allowed = NBD_CMD_FLAG_FUA;
        write = true;
        break;
    case NBD_CMD_FLUSH:
    case NBD_CMD_DISC:
        break;
    case NBD_CMD_TRIM:
        allowed = NBD_CMD_FLAG_FUA;
        write = true;
        if (!lim->can_trim && lim->writable) {
            *why = "TRIM is not supported on this export";
            return NBD_EINVAL;
        }
        break;
    case NBD_CMD_WRITE_ZEROES:
        allowed = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
        write = true;
        break;
    default:
        *why = "unknown command";
        return NBD_EINVAL;
    }
    if (r->flags & ~allowed) {
        *why = "command flags not valid for this command";
        return NBD_EINVAL;
    }
    if (r->type == NBD_CMD_FLUSH || r->type == NBD_CMD_DISC) {
        if (r->offset != 0 || r->length != 0) {
            *why = "FLUSH and DISC take no offset or length";
            return NBD_EINVAL;
        }
        return 0;
    }
    if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) && r->length > NBD_MAX_REQUEST) {
        *why = "request larger than 32 MiB";
        return NBD_EINVAL;
    }
    if (write && !lim->writable) {
        *why = "the export is read-only";
        return NBD_EPERM;
    }
    return check_range(r, lim, write, why);
}

void nbd_encode_simple_reply(uint8_t out[NBD_REPLY_LEN], uint32_t error, uint64_t cookie)
{
    put32(out, NBD_SIMPLE_REPLY_MAGIC);
    put32(out + 4, error);
    put64(out + 8, cookie);
}

uint32_t nbd_errno_to_wire(int neg_errno)
{
    switch (-neg_errno) {
    case 0:
        return 0;
    case EPERM:
    case EROFS:
    case EACCES:
        return NBD_EPERM;
    case ENOMEM:
        return NBD_ENOMEM;
    case EINVAL:
        return NBD_EINVAL;
    case ENOSPC:
    case ERANGE:
        return NBD_ENOSPC;
    case ENOTSUP:
        return NBD_ENOTSUP;
    default:
        return NBD_EIO;
    }
}
