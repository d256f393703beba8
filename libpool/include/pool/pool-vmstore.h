/*
 * pool-vmstore.h: the VM metadata store (docs/design.md choice 7) — VM records on
 * a share every host of a pool can reach: an NFS export reached in user
 * space through libnfs (nfs://server/export/path; a dead server yields an
 * error within the store's timeout, never a hang in the kernel), or a
 * plain directory (an already-mounted share, or local for tests).
 *
 * A record is poold's own view of one VM: its name and uuid, the domain
 * XML, the pool volumes its disks use, which host owns it (runs it, holds
 * its leases) and a generation that every successful write bumps.
 *
 * On the share, one record is a set of files in the store directory:
 *
 *     <name>.<generation>.vmrec     one file per written generation
 *     .tmp.<name>.<host>.<random>   a write in progress (never read)
 *
 * File format (described at the top of vmstore_record.c): a header line
 *     "poold-vmrecord 1 <crc32c as 8 hex digits> <body length>\n"
 * then the body, the record as XML (xml-schemas/vmrecord.rng). A file
 * whose header, length or checksum does not match is ignored by readers
 * and reported by pool_meta_store_check().
 *
 * Writes are atomic and conditional (compare-and-swap on the generation),
 * also between hosts and over NFS, without a lock server:
 *   1. the writer lists the directory: the current generation G is the
 *      highest <name>.<G>.vmrec with a valid checksum; if G differs from
 *      the generation the caller read, it fails with POOL_ERR_CONFLICT;
 *   2. writes the new record (generation G+1) to a temporary file, in
 *      full, then flushes it (fsync / NFS COMMIT);
 *   3. hard-links the temporary file to <name>.<G+1>.vmrec — link() is
 *      atomic and fails with EEXIST when the name exists, on local file
 *      systems and NFS alike, so of two writers racing from G exactly one
 *      wins; the other gets POOL_ERR_CONFLICT;
 *   4. removes the temporary name. Should it find, listing again, a
 *      generation above G+1 already, others have built on its file (they
 *      can only have read it as the newest), so the write stands: it is
 *      never undone after the link, or a retrying caller would apply the
 *      same change twice;
 *   5. removes generations older than the newest two only once their
 *      ctime is at least a minute older than the new file's (both stamps
 *      from the share's clock), so a slot a writer may still be about to
 *      link can only be collected under a writer stalled for about a
 *      minute between listing and linking; such a writer (it times its
 *      own steps) falls back to conflict when it sees a higher generation.
 *   The new generation is the highest number present plus one, readable or
 *   not: a corrupt file cannot block its slot. A file whose header shows a
 *   newer format version stops reads and writes of that record
 *   (POOL_ERR_UNSUPPORTED): an older poold must not overwrite newer data.
 * A crash leaves at most a temporary file (removed by the next write of
 * that record once older than a minute) or a complete new generation.
 * Deleting a record: a tombstone generation (a record with `deleted`
 * set), written like any other, then the older files removed; a later
 * define of the same name continues from the tombstone's generation.
 *
 * Who may write: the caller's business (the host holding the VM's leases,
 * pool-ops); the store guarantees only that no update is lost.
 *
 * Timeouts: every NFS call is bounded by the store's timeout in
 * milliseconds (vmstore_nfs.c drives libnfs's async API in its own poll loop
 * with a deadline; libnfs's auto-reconnect and caches are off): a stopped
 * server gives POOL_ERR_TIMEOUT, a dead one POOL_ERR_CONNECT, both naming
 * the server, and the next call reconnects. A local directory has no
 * timeout.
 *
 * Errors: 0 / -1 (or pointer / NULL) with a pool_error:
 *   POOL_ERR_INVALID_ARG  malformed URL or path, bad record name
 *   POOL_ERR_CONNECT      NFS server unreachable, export not mountable
 *   POOL_ERR_TIMEOUT      an NFS call did not complete in time
 *   POOL_ERR_NO_VM        no such record (or only a tombstone)
 *   POOL_ERR_EXISTS       define of a name that exists (not a tombstone)
 *   POOL_ERR_CONFLICT     the record changed since it was read
 *   POOL_ERR_XML          a record body that does not parse
 *   POOL_ERR_SYSTEM       other I/O errors (errno text in the message)
 *
 * Threads: one store is used by one thread at a time (it holds one libnfs
 * connection).
 *
 * Ownership: the store and records are freed by their _free functions;
 * name lists with pool_strv_free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_VMSTORE_H
#define POOL_VMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POOL_META_DEFAULT_TIMEOUT_MS 5000
#define POOL_VMREC_NAME_MAX          64 /* VM names: libvirt-safe subset */

typedef struct {
    char *pool; /* pool name */
    char *name; /* volume name */
} poolVmDisk;

typedef struct {
    char *name;          /* VM name: [A-Za-z0-9_.+-]{1,64}, not starting with '.' */
    char uuid[37];       /* the domain's uuid */
    uint64_t generation; /* set by the store: the generation this record is */
    bool deleted;        /* a tombstone */
    char *owner_host;    /* host name running it / holding its leases; NULL = none */
    unsigned owner_host_id;
    int64_t modified;  /* unix seconds of the write (set by the store) */
    char *modified_by; /* host name that wrote it (set by the caller) */
    poolVmDisk *disks; /* the pool volumes its disks use */
    size_t ndisks;
    char *domain_xml; /* the libvirt domain XML, verbatim */
} poolVmRecord;

void pool_vm_record_free(poolVmRecord *rec);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolVmRecord, pool_vm_record_free)
poolVmRecord *pool_vm_record_copy(const poolVmRecord *rec);

/* The record body (XML, xml-schemas/vmrecord.rng) and the file format
 * (header + body). Parsers are strict and bounded (fuzzed). */
char *pool_vm_record_format(const poolVmRecord *rec);
poolVmRecord *pool_vm_record_parse(const char *xml, size_t len);
char *pool_vm_record_file_encode(const poolVmRecord *rec, size_t *len);
poolVmRecord *pool_vm_record_file_decode(const char *data, size_t len);

typedef struct poolMetaStore poolMetaStore;

/* url: "nfs://server[:port]/export/path[?libnfs args]" or an absolute
 * directory path. The NFS export is mounted (in user space) at open; the
 * directory is created if missing. timeout_ms: per NFS call (0 = default). */
poolMetaStore *pool_meta_store_open(const char *url, unsigned timeout_ms);
void pool_meta_store_free(poolMetaStore *st);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolMetaStore, pool_meta_store_free)
const char *pool_meta_store_url(const poolMetaStore *st);

/* Names of the live (not deleted) records, sorted. */
int pool_meta_store_list(poolMetaStore *st, char ***names);
/* The current generation of a record (POOL_ERR_NO_VM if none or deleted). */
poolVmRecord *pool_meta_store_read(poolMetaStore *st, const char *name);
/* Create a record that does not exist (or whose newest generation is a
 * tombstone). Sets rec->generation on success. */
int pool_meta_store_define(poolMetaStore *st, poolVmRecord *rec);
/* Replace generation rec->generation with rec (as generation + 1); on
 * success rec->generation is the new generation. POOL_ERR_CONFLICT if the
 * record moved on since rec->generation. */
int pool_meta_store_update(poolMetaStore *st, poolVmRecord *rec);
/* Delete (tombstone) the record if it is still at `generation`. */
int pool_meta_store_remove(poolMetaStore *st, const char *name, uint64_t generation);
/* Problems found in the store (bad files, stale temporaries), as text
 * lines; 0 with *report = NULL when clean. */
int pool_meta_store_check(poolMetaStore *st, char **report);

#ifdef __cplusplus
}
#endif
#endif
