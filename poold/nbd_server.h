/*
 * nbd_server.h: poold's private NBD server. poold's own qcow2 work
 * (qemu_img.c: commit, rebase, convert, measure, check) needs qemu-img to
 * open LVs that are never activated on this host (docs/design.md choice 5
 * and "qemu-img and the private NBD exports"): poold serves exactly the
 * LVs one job needs, read-write or read-only each, through the same
 * backing ops as the iSCSI target (scsiBackingOps; lun_backing.c for LVs),
 * on a Unix socket only root can reach, for as long as the job runs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_NBD_SERVER_H
#define POOLD_NBD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iscsi/scsi.h"
#include "pool-xml.h"

typedef struct {
    const char *name; /* export name (1..NBD_NAME_MAX bytes, unique) */
    const scsiBackingOps *ops;
    void *ctx;           /* the backing's ctx; stays the caller's */
    uint64_t size;       /* bytes; a multiple of block_size */
    uint32_t block_size; /* 0: 4096 (what O_DIRECT on the PVs needs) */
    bool writable;       /* false: every write is refused with EPERM */
} poolNbdExport;

typedef struct poolNbd poolNbd;

/* Serve these exports on a new Unix socket in dir (created 0700 if
 * missing; refused unless it is a directory of ours that only we can
 * enter). The socket (mode 0600, a random name) is returned in
 * *socket_path (caller frees). Up to POOL_NBD_CONNS_PER_EXPORT connections
 * per export (qemu-img opens each layer of a chain on a connection of its
 * own, and rebase opens the old and the new chain) plus
 * POOL_NBD_CONNS_SPARE are served at once, each on its own thread. NULL
 * with an error set. */
#define POOL_NBD_CONNS_PER_EXPORT 4
#define POOL_NBD_CONNS_SPARE      4
/* A connection that has not finished its handshake after this long
 * (no byte for this long) is closed. */
#define POOL_NBD_HANDSHAKE_TIMEOUT_S 10
poolNbd *poold_nbd_start(const char *dir, const poolNbdExport *exports, size_t n,
                         char **socket_path);
/* An export of a volume's or layer's LV, read and written straight on its
 * PVs through its segment map (lun_backing.c: O_DIRECT, fdatasync on
 * flush), named name (or vol->name if NULL; borrowed: only needed until
 * poold_nbd_start, which copies it). The caller decides writable: an LV is
 * writable only while this host may write it (its lease). 0, or -1 with
 * an error set. */
int poold_nbd_export_open(const poolVolDef *vol, const char *name, bool writable,
                          poolNbdExport *ex);
/* Close the backing of an export from poold_nbd_export_open (after the
 * server using it stopped). */
void poold_nbd_export_close(poolNbdExport *ex);

/* At start (holding the one-daemon lock): remove the nbd-*.sock a poold
 * that died left in dir, and end the helper qemu-nbd of a rebase it left
 * (flat-*.pid: only a process named qemu-nbd serving that very socket)
 * and remove its files. Returns how many files it removed; a missing dir
 * is fine. */
int poold_nbd_cleanup(const char *dir);

/* Close the socket and every connection (requests under way finish
 * first), join the threads, unlink the socket. NULL is fine. */
void poold_nbd_stop(poolNbd *s);

#endif
