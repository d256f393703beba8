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

/* The catalogue of operations (proto_catalogue.c): every op poold serves,
 * the parameters it accepts and, for poolctl, the command words, argument
 * forms and help text. poolctl builds its commands from it and poold checks
 * requests against it, so an operation is added in one place (plus its
 * handler in poold and its printer in poolctl, which both check at start
 * that they cover the catalogue exactly). */
typedef enum {
    POOL_ARG_POSITIONAL,       /* required positional */
    POOL_ARG_POSITIONAL_MULTI, /* one or more, must be last */
    POOL_ARG_OPTION,           /* --name VALUE (or --name=VALUE) */
    POOL_ARG_FLAG,             /* --name, sent as "yes" */
    POOL_ARG_OPTION_REQUIRED,  /* --name VALUE that must be given */
    POOL_ARG_PROTOCOL,         /* no poolctl argument: a client program sets it
                                * itself (poolctl's repeated vm-stop) */
} poolArgKind;

/* How poolctl checks a value before sending it (early, precise errors;
 * poold checks every value again, the socket being its real boundary). */
typedef enum {
    POOL_CHECK_NONE,
    POOL_CHECK_POOL_NAME,
    POOL_CHECK_VOLUME_NAME,
    POOL_CHECK_SIZE,
    POOL_CHECK_UINT,
    POOL_CHECK_SECONDS, /* a wait: 0 (try once) .. 600 */
    POOL_CHECK_HOST_ID, /* sanlock host id: 1..2000 */
    POOL_CHECK_PATH,
    POOL_CHECK_ISCSI_NAME,  /* iqn. / eui. / naa. name (RFC 3720 3.2.6) */
    POOL_CHECK_CHAP_USER,   /* CHAP user name */
    POOL_CHECK_SECRET_FILE, /* a file holding a CHAP secret: poolctl sends the
                             * file's content (one trailing newline dropped),
                             * never the path, so secrets stay out of argv */
    POOL_CHECK_XML_FILE,    /* an XML document: poolctl sends the file's content */
    POOL_CHECK_STORE_URL,   /* nfs://server[:port]/export/path or an absolute path */
    POOL_CHECK_TIMEOUT_MS,  /* milliseconds, 100..600000 */
} poolArgCheck;

typedef struct {
    poolArgKind kind;
    const char *name;  /* positional: shown in usage; option: long name; protocol: NULL */
    const char *param; /* request parameter it fills */
    poolArgCheck check;
    const char *help;
} poolOpArg;

/* The most arguments an op may list (poolctl tracks them in an array). */
#define POOL_OP_ARGS_MAX 32

/* What an op must hold in poold while it runs (docs/design.md
 * "Concurrency"). Every op has one; 0 is "unset" so that a forgotten entry
 * is caught (pool_catalogue_check_locks). */
typedef enum {
    POOL_OP_LOCK_UNSET = 0,
    /* answered on the socket thread itself, touching no pool: it answers
     * even while every worker is stuck */
    POOL_OP_LOCK_NONE,
    /* reads only: the set of pools shared, no pool or VM mutex, so it never
     * waits behind a lease wait or a slow LVM change */
    POOL_OP_LOCK_READ,
    /* changes one pool (its VG, its target record, its leases): the set of
     * pools shared, that pool's mutex held */
    POOL_OP_LOCK_POOL,
    /* changes one VM's record or runs it: the set of pools shared, the
     * (pool, VM) mutex held */
    POOL_OP_LOCK_VM,
    /* changes the set of pools or a pool's host identity: the set of pools
     * held exclusively */
    POOL_OP_LOCK_GLOBAL,
} poolOpLock;

typedef struct {
    const char *op;        /* protocol op: "pool-create" */
    const char *group;     /* poolctl words: "pool" (NULL: no poolctl command) */
    const char *verb;      /* "create"; two words ("acl add") spelled with a space */
    const char *summary;   /* one line of help */
    const poolOpArg *args; /* terminated by an entry with param NULL */
    poolOpLock lock;       /* what poold holds while it runs */
} poolOpSpec;

/* In the order poolctl --help lists them; terminated by an entry with op NULL. */
extern const poolOpSpec pool_catalogue[];

/* The op's entry, or NULL. */
const poolOpSpec *pool_catalogue_find(const char *op);
/* The op's argument filling request parameter `param`, or NULL. */
const poolOpArg *pool_catalogue_arg(const poolOpSpec *spec, const char *param);
/* Check a program's table of ops (names[0..n-1]; `what` names the table in
 * errors) against the catalogue: every name is a catalogue op, none is
 * there twice, and every catalogue op is there; with `cli_only`, the table
 * covers exactly the ops that have a poolctl command. 0, or -1 with an
 * internal error naming the first mismatch. */
int pool_catalogue_check_table(const char *const *names, size_t n, bool cli_only, const char *what);
/* Every op has a lock class: 0, or -1 with an internal error naming the
 * first op without one. */
int pool_catalogue_check_locks(void);

#endif
