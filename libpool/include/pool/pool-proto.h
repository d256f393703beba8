/*
 * pool-proto.h: the poold control protocol (Unix socket).
 *
 * Frame (all integers little-endian), 16-byte header then payload:
 *   0  u32 magic    0x4c4f4f50 ("POOL" in memory order P,O,O,L read LE)
 *   4  u16 version  POOL_PROTO_VERSION
 *   6  u16 type     1 = request, 2 = reply
 *   8  u32 length   payload bytes, 1..max (max defaults to 4 MiB)
 *  12  u32 crc32c   CRC32C of the payload
 * Payload: one UTF-8 XML document (schemas xml-schemas/request.rng and
 * reply.rng):
 *   <request id="7" op="volume-create">
 *     <param name="pool">pool1</param> ...      (repeatable: devices)
 *   </request>
 *   <reply id="7" status="ok"> ...pool/volume documents... </reply>
 *   <reply id="7" status="error">
 *     <error code="no-volume" file="..." func="..." line="12">message</error>
 *   </reply>
 * A frame with bad magic, version, type, length or checksum gets an error
 * reply (when it can be answered) and the connection is closed; the daemon
 * keeps serving everyone else.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_PROTO_H
#define POOL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-error.h"

#define POOL_PROTO_MAGIC       0x4c4f4f50u
#define POOL_PROTO_VERSION     1
#define POOL_PROTO_HEADER_SIZE 16
#define POOL_PROTO_MAX_DEFAULT (4u * 1024 * 1024)

enum { POOL_FRAME_REQUEST = 1, POOL_FRAME_REPLY = 2 };

typedef struct {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t length;
    uint32_t crc;
} poolFrameHeader;

void pool_frame_header_encode(uint8_t out[POOL_PROTO_HEADER_SIZE], uint16_t type,
                              const void *payload, uint32_t len);
/* Checks magic, version, type (1 or 2), 0 < length <= max_len. */
int pool_frame_header_decode(const uint8_t in[POOL_PROTO_HEADER_SIZE], uint32_t max_len,
                             poolFrameHeader *h);
int pool_frame_payload_check(const poolFrameHeader *h, const void *payload);

/* Blocking I/O helpers (client side). timeout_ms <= 0: wait forever. */
int pool_frame_send(int fd, uint16_t type, const void *payload, uint32_t len);
int pool_frame_recv(int fd, uint32_t max_len, int timeout_ms, uint16_t *type, char **payload,
                    uint32_t *len);

typedef struct {
    char *name;
    char *value;
} poolParam;

typedef struct {
    uint64_t id;
    char *op;
    size_t nparams;
    poolParam *params;
} poolRequest;

void pool_request_free(poolRequest *req);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolRequest, pool_request_free)

poolRequest *pool_request_new(const char *op);
int pool_request_add(poolRequest *req, const char *name, const char *value);
/* First value of `name`, or NULL. */
const char *pool_request_get(const poolRequest *req, const char *name);
/* All values of `name` as a new NULL-terminated strv (never NULL on success). */
char **pool_request_get_all(const poolRequest *req, const char *name);
/* "yes"/"no"/"true"/"false"/"1"/"0"; absent -> def. -1 with error if malformed. */
int pool_request_get_bool(const poolRequest *req, const char *name, bool def, bool *out);

char *pool_request_format(const poolRequest *req, size_t *len);
/* Validates: root <request>, numeric id, op of [a-z-]{1,64}, params with
 * name [a-z-]{1,64} and text value (no control chars) */
poolRequest *pool_request_parse(const char *payload, size_t len);

/* Replies. A new ok reply is a doc whose root <reply status="ok"> the caller
 * appends result nodes to. */
xmlDocPtr pool_reply_new_ok(uint64_t id);
xmlDocPtr pool_reply_new_error(uint64_t id, const poolError *err);
char *pool_reply_format(xmlDocPtr doc, size_t *len);
/* Parse a reply. status ok: returns the doc (root <reply>). status error:
 * installs the carried error with pool_error_set and returns NULL. */
xmlDocPtr pool_reply_parse(const char *payload, size_t len, uint64_t expect_id);

#endif
