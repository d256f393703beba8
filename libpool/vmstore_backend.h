/*
 * vmstore_backend.h: the file primitives the VM metadata store (vmstore.c)
 * is built on, as a small vtable with two implementations:
 *   vmstore_local.c  a directory reached with POSIX calls (a local directory
 *                 or an already-mounted share);
 *   vmstore_nfs.c    a directory on an NFS export reached in user space
 *                 through libnfs, every call bounded by a timeout.
 * Not installed: private to libpool.
 *
 * Everything is relative to the store directory, which the constructors
 * create when missing (mkdir -p). Names are single path components (no '/').
 *
 * The store's compare-and-swap (pool-vmstore.h) needs exactly these semantics:
 *   create  makes a NEW file exclusively (O_CREAT|O_EXCL), writes it in
 *           full and flushes it to stable storage (fsync / NFS COMMIT)
 *           before returning; on failure the partial file is removed when
 *           possible;
 *   link    makes a second name for a file and fails with POOL_ERR_EXISTS
 *           when the new name already exists (link(2) / NFS LINK are atomic
 *           and never replace);
 *   stat    tells the link count, so a link whose reply was lost can be
 *           recognised (the new name exists and nlink went to 2);
 *   unlink  removes a name; a name that is already gone is not an error
 *           (returns 1);
 *   read    reads a whole file of at most `max` bytes; a file that vanished
 *           between listing and reading returns 1 (no error reported);
 *   list    every entry of the directory with its attributes, "." and ".."
 *           left out.
 * Times are the file system's (the NFS server's clock for NFS), so the
 * store compares them only with each other, never with the local clock.
 *
 * Errors: -1 with a pool_error: POOL_ERR_EXISTS (link/create target
 * exists), POOL_ERR_CONNECT (NFS server unreachable, export not mountable,
 * connection lost), POOL_ERR_TIMEOUT (an NFS call did not complete within
 * the timeout), POOL_ERR_SYSTEM (other I/O errors, errno text in the
 * message). Messages name the file and, for NFS, the server.
 *
 * Ownership: list's entries are freed with pool_meta_dirents_free, read's
 * buffer with free(); the backend with its free op.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_VMSTORE_BACKEND_H
#define POOL_VMSTORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t sec;
    int64_t nsec;
} poolMetaTime;

typedef struct {
    char *name;
    bool is_file; /* a regular file */
    uint64_t size;
    uint64_t nlink;
    poolMetaTime mtime; /* last data change */
    poolMetaTime ctime; /* last inode change: link, unlink of another name */
} poolMetaDirent;

typedef struct poolMetaBackend poolMetaBackend;

typedef struct {
    const char *kind; /* "local" or "nfs" */
    int (*list)(poolMetaBackend *be, poolMetaDirent **ents, size_t *n);
    int (*read)(poolMetaBackend *be, const char *name, size_t max, char **data, size_t *len);
    int (*create)(poolMetaBackend *be, const char *name, const void *data, size_t len);
    int (*link)(poolMetaBackend *be, const char *oldname, const char *newname);
    int (*stat)(poolMetaBackend *be, const char *name, poolMetaDirent *out);
    int (*unlink)(poolMetaBackend *be, const char *name);
    void (*free)(poolMetaBackend *be);
} poolMetaBackendOps;

struct poolMetaBackend {
    const poolMetaBackendOps *ops;
    char *where; /* for messages: the directory, or server:/export/dir */
};

/* dir: absolute path. */
poolMetaBackend *pool_meta_local_open(const char *dir);
/* url: nfs://server[:port]/export/path[?args]; timeout_ms > 0. */
poolMetaBackend *pool_meta_nfs_open(const char *url, unsigned timeout_ms);

void pool_meta_dirents_free(poolMetaDirent *ents, size_t n);
void pool_meta_dirent_clear(poolMetaDirent *ent);

/* ---- shared with vmstore_record.c ------------------------------------------ */

/* VM names: [A-Za-z0-9_.+-]{1,POOL_VMREC_NAME_MAX}, not starting with '.'.
 * 0, or -1 with POOL_ERR_INVALID_ARG naming `what`. */
int pool_vm_name_check(const char *name, const char *what);
/* The same rule, quietly (no error reported). */
bool pool_vm_name_is_valid(const char *name);

/* Largest record file (header + body) and largest domain XML accepted. */
#define POOL_VMREC_FILE_MAX    (4u * 1024 * 1024 + 64)
#define POOL_VMREC_DOMAIN_MAX  (1u * 1024 * 1024)
#define POOL_VMREC_DISKS_MAX   256
#define POOL_VMREC_HOST_ID_MAX 2000

#endif
