/*
 * nbd_proto.h: the NBD protocol (fixed newstyle handshake, simple replies),
 * pure encoding and decoding: no sockets, no allocation, every field
 * checked. nbd_server.c drives it; tests/unit/test_nbd_proto.c and
 * tests/fuzz/fuzz_nbd_proto.c test it. Wire layouts (all big-endian):
 *
 *   greeting (server)   u64 "NBDMAGIC", u64 "IHAVEOPT", u16 handshake flags
 *   client flags        u32
 *   option (client)     u64 "IHAVEOPT", u32 option, u32 length, data
 *   option reply        u64 0x3e889045565a9, u32 option, u32 type, u32 length, data
 *   GO/INFO data        u32 name length, name, u16 n, n x u16 info type
 *   request             u32 0x25609513, u16 flags, u16 type, u64 cookie,
 *                       u64 offset, u32 length (28 bytes; WRITE: data follows)
 *   simple reply        u32 0x67446698, u32 error, u64 cookie (16 bytes;
 *                       READ without error: data follows)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_NBD_PROTO_H
#define POOLD_NBD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBD_MAGIC              0x4e42444d41474943ull /* "NBDMAGIC" */
#define NBD_IHAVEOPT           0x49484156454f5054ull /* "IHAVEOPT" */
#define NBD_REP_MAGIC          0x0003e889045565a9ull
#define NBD_REQUEST_MAGIC      0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698u

#define NBD_GREETING_LEN        18
#define NBD_OPT_HDR_LEN         16
#define NBD_REP_HDR_LEN         20
#define NBD_REQUEST_LEN         28
#define NBD_REPLY_LEN           16
#define NBD_INFO_EXPORT_LEN     12
#define NBD_INFO_BLOCK_SIZE_LEN 14

/* handshake flags (server) and client flags */
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)

/* options */
#define NBD_OPT_EXPORT_NAME      1
#define NBD_OPT_ABORT            2
#define NBD_OPT_LIST             3
#define NBD_OPT_STARTTLS         5
#define NBD_OPT_INFO             6
#define NBD_OPT_GO               7
#define NBD_OPT_STRUCTURED_REPLY 8

/* option reply types */
#define NBD_REP_ACK                 1u
#define NBD_REP_SERVER              2u
#define NBD_REP_INFO                3u
#define NBD_REP_ERR_UNSUP           (0x80000000u | 1)
#define NBD_REP_ERR_POLICY          (0x80000000u | 2)
#define NBD_REP_ERR_INVALID         (0x80000000u | 3)
#define NBD_REP_ERR_UNKNOWN         (0x80000000u | 6)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (0x80000000u | 8)
#define NBD_REP_ERR_TOO_BIG         (0x80000000u | 9)

/* NBD_REP_INFO types */
#define NBD_INFO_EXPORT      0
#define NBD_INFO_NAME        1
#define NBD_INFO_DESCRIPTION 2
#define NBD_INFO_BLOCK_SIZE  3

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS         (1u << 0)
#define NBD_FLAG_READ_ONLY         (1u << 1)
#define NBD_FLAG_SEND_FLUSH        (1u << 2)
#define NBD_FLAG_SEND_FUA          (1u << 3)
#define NBD_FLAG_SEND_TRIM         (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_CAN_MULTI_CONN    (1u << 8)

/* commands and their flags */
#define NBD_CMD_READ         0
#define NBD_CMD_WRITE        1
#define NBD_CMD_DISC         2
#define NBD_CMD_FLUSH        3
#define NBD_CMD_TRIM         4
#define NBD_CMD_WRITE_ZEROES 6
#define NBD_CMD_FLAG_FUA     (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE (1u << 1)

/* error values on the wire */
#define NBD_EPERM   1
#define NBD_EIO     5
#define NBD_ENOMEM  12
#define NBD_EINVAL  22
#define NBD_ENOSPC  28
#define NBD_ENOTSUP 95

/* limits of this server */
#define NBD_OPT_MAX_LEN 4096                /* longest option data accepted */
#define NBD_NAME_MAX    256                 /* longest export name */
#define NBD_MAX_REQUEST (32u * 1024 * 1024) /* largest READ/WRITE payload */

typedef struct {
    uint32_t option;
    uint32_t length;
} nbdOptHdr;

typedef struct {
    const char *name; /* points into the option data, NOT NUL-terminated */
    uint32_t name_len;
    bool want_block_size; /* the client listed NBD_INFO_BLOCK_SIZE */
    bool want_name;
} nbdGoRequest;

typedef struct {
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint32_t length;
} nbdRequest;

/* What a request is checked against. */
typedef struct {
    uint64_t size;
    uint32_t block_size; /* offsets and lengths of data commands: multiples of it */
    bool writable;
    bool can_trim;
} nbdExportLimits;

void nbd_encode_greeting(uint8_t out[NBD_GREETING_LEN]);
/* Unknown bits are an error (the spec: the server must then close). */
int nbd_decode_client_flags(const uint8_t in[4], uint32_t *flags, const char **why);
/* 0, or -1 with *why: bad magic, option data longer than NBD_OPT_MAX_LEN
 * (the caller must then close the connection: skipping is unsafe). */
int nbd_decode_opt_header(const uint8_t in[NBD_OPT_HDR_LEN], nbdOptHdr *h, const char **why);
/* Data of NBD_OPT_GO / NBD_OPT_INFO: lengths must add up exactly. */
int nbd_parse_go(const uint8_t *data, size_t len, nbdGoRequest *go, const char **why);
/* Option reply header; the caller sends len bytes of data after it. */
void nbd_encode_opt_reply(uint8_t out[NBD_REP_HDR_LEN], uint32_t option, uint32_t type,
                          uint32_t len);
void nbd_encode_info_export(uint8_t out[NBD_INFO_EXPORT_LEN], uint64_t size, uint16_t flags);
void nbd_encode_info_block_size(uint8_t out[NBD_INFO_BLOCK_SIZE_LEN], uint32_t min, uint32_t pref,
                                uint32_t max);
/* Transmission flags of an export with these limits. */
uint16_t nbd_transmission_flags(const nbdExportLimits *lim);
/* 0, or -1 with *why on a bad magic (the stream is then lost: close). */
int nbd_decode_request(const uint8_t in[NBD_REQUEST_LEN], nbdRequest *r, const char **why);
/* Is this request acceptable for the export? Returns 0 or the NBD error
 * to reply with (*why says why). A WRITE refused here still has its payload
 * on the wire: the caller drains it when nbd_request_payload() says so. */
uint32_t nbd_check_request(const nbdRequest *r, const nbdExportLimits *lim, const char **why);
/* Bytes of data following this request on the wire (WRITE: its length). */
uint32_t nbd_request_payload(const nbdRequest *r);
void nbd_encode_simple_reply(uint8_t out[NBD_REPLY_LEN], uint32_t error, uint64_t cookie);
/* The NBD error for a backing's -errno. */
uint32_t nbd_errno_to_wire(int neg_errno);

#endif
