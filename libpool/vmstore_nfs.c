/*
 * vmstore_nfs.c: the metadata store's file primitives (vmstore_backend.h) on an
 * NFS export reached in user space through libnfs (docs/design.md choice 7): no
 * kernel mount, so a dead server can never leave poold in an uninterruptible
 * sleep.
 *
 * Bounded calls. Every call runs libnfs's *async* API under our own poll()
 * loop with a deadline of timeout_ms from the start of the call (millisecond
 * precision; libnfs 4.0's own nfs_set_timeout() takes whole seconds and is
 * also set, rounded up, as a second line of defence). When the deadline
 * passes, or the connection breaks (nfs_service() fails), the whole libnfs
 * context is destroyed — the only way to abandon an RPC in flight — and the
 * call fails with POOL_ERR_TIMEOUT or POOL_ERR_CONNECT naming the server.
 * The next call reconnects and mounts again, within the same kind of
 * deadline. libnfs's own reconnect loop is off (autoreconnect 0): it would
 * otherwise retry a dead server forever inside one call.
 *
 * Caches off: libnfs's directory cache would let one host list a directory
 * another host just changed without seeing the change, which would break the
 * store's compare-and-swap; the page cache and read-ahead are off too.
 *
 * Semantics the store relies on (NFSv3, RFC 1813):
 *   CREATE with O_EXCL  (libnfs: EXCLUSIVE/GUARDED create) fails with
 *                       NFS3ERR_EXIST -> -EEXIST when the name exists;
 *   WRITE + COMMIT      nfs_fsync() sends COMMIT: the data is on the
 *                       server's stable storage before the link;
 *   LINK                fails with NFS3ERR_EXIST -> -EEXIST, never
 *                       replaces. Over TCP libnfs does not retransmit on
 *                       its own (autoreconnect 0), so a lost reply shows as
 *                       a broken connection, and the store then checks the
 *                       link count (the link(2)-then-stat idiom);
 *   READDIRPLUS         listing with attributes (size, nlink, mtime, ctime
 *                       stamped by the server's clock).
 *
 * Seen with libnfs 4.0.0 against nfs-ganesha 4.3 (VFS): CREATE O_EXCL and
 * LINK of an existing name give -EEXIST; a stopped server (SIGSTOP) makes
 * the call time out at the deadline and later calls re-mount (each bounded)
 * until it answers again; a killed server fails pending and new calls at
 * once with -EFAULT "RPC ERROR: Failed to reconnect async" (POOL_ERR_CONNECT)
 * and the first call after its restart reconnects.
 *
 * URLs: nfs://server[:port]/export/path[?libnfs args]. libnfs 4.0 does not
 * understand ":port", so a port is passed as its "nfsport" argument (the
 * MOUNT protocol still goes through the portmapper unless "mountport" is
 * given). The path is mounted as an export if the server allows it;
 * otherwise its longest prefix that is an export is mounted and the rest is
 * the store directory inside it (created when missing).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs.h>

#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"

#define NFS_ERRMSG_MAX 256
#define NFS_IO_CHUNK   (64u * 1024)

typedef struct {
    poolMetaBackend base;
    struct nfs_context *nfs; /* NULL while disconnected */
    char *url;               /* what libnfs parses: port rewritten to nfsport */
    char *server;
    char *export;  /* the mounted export */
    char *dir;     /* store directory inside the export: "" or "/a/b" */
    bool exact;    /* the full URL path mounted as the export */
    bool resolved; /* export/dir decided (after the first mount) */
    unsigned timeout_ms;
} nfsBackend;

/* One RPC in flight: filled by the callback. */
typedef struct {
    bool done;
    int status;
    void *data; /* open/create: struct nfsfh *, opendir: struct nfsdir * */
    struct nfs_stat_64 st;
    char *buf; /* pread: destination */
    size_t buflen;
    char err[NFS_ERRMSG_MAX];
} nfsCall;

static void call_init(nfsCall *c)
{
    memset(c, 0, sizeof(*c));
}

static void call_error_text(nfsCall *c, int status, void *data)
{
    /* On failure libnfs hands the error string as data. */
    snprintf(c->err, sizeof(c->err), "%s",
             data && status < 0 ? (const char *)data : strerror(-status));
    for (char *p = c->err; *p; p++) {
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    }
}

static void generic_cb(int status, struct nfs_context *nfs, void *data, void *private_data)
{
    nfsCall *c = private_data;

    c->done = true;
    c->status = status;
    if (status < 0)
        call_error_text(c, status, data);
    else
        c->data = data;
}

static void stat_cb(int status, struct nfs_context *nfs, void *data, void *private_data)
{
    nfsCall *c = private_data;

    c->done = true;
    c->status = status;
    if (status < 0)
        call_error_text(c, status, data);
    else if (data)
        memcpy(&c->st, data, sizeof(c->st));
}

static void pread_cb(int status, struct nfs_context *nfs, void *data, void *private_data)
{
    nfsCall *c = private_data;

    c->done = true;
    c->status = status;
    if (status < 0) {
        call_error_text(c, status, data);
        return;
    }
    if ((size_t)status > c->buflen) {
        c->status = -EIO;
        snprintf(c->err, sizeof(c->err), "server returned more data than asked for");
        return;
    }
    if (status > 0)
        memcpy(c->buf, data, (size_t)status);
}

static void nfs_disconnect(nfsBackend *nb)
{
    if (nb->nfs) {
        /* Cancels what is in flight; callbacks that fire now write into
         * nfsCall structures still on the caller's stack. */
        nfs_destroy_context(nb->nfs);
        nb->nfs = NULL;
    }
}

/* Run the event loop until the call completes or `deadline` (monotonic ms)
 * passes. 0 when the callback ran (check c->status), -1 with an error (the
 * context is then gone). */
static int nfs_wait(nfsBackend *nb, nfsCall *c, int64_t deadline, const char *what)
{
    while (!c->done) {
        int64_t left = deadline - pool_monotonic_ms();
        struct pollfd pfd;
        int rc;

        if (left <= 0) {
            nfs_disconnect(nb);
            pool_error(POOL_ERR_TIMEOUT, "NFS server %s: %s timed out after %u ms", nb->server,
                       what, nb->timeout_ms);
            return -1;
        }
        pfd.fd = nfs_get_fd(nb->nfs);
        pfd.events = (short)nfs_which_events(nb->nfs);
        pfd.revents = 0;
        if (pfd.fd < 0) {
            nfs_disconnect(nb);
            pool_error(POOL_ERR_CONNECT, "NFS server %s: %s: not connected", nb->server, what);
            return -1;
        }
        /* Wake at least every 100 ms so libnfs can run its own timers. */
        rc = poll(&pfd, 1, left < 100 ? (int)left : 100);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "NFS server %s: %s: poll failed", nb->server, what);
            nfs_disconnect(nb);
            return -1;
        }
        if (nfs_service(nb->nfs, pfd.revents) < 0) {
            if (c->done)
                break; /* the callback already reported the failure */
            {
                char msg[NFS_ERRMSG_MAX];

                snprintf(msg, sizeof(msg), "%s", nfs_get_error(nb->nfs));
                nfs_disconnect(nb);
                pool_error(POOL_ERR_CONNECT, "NFS server %s: %s: connection failed: %s", nb->server,
                           what, msg);
            }
            return -1;
        }
    }
    return 0;
}

/* Map a failed call's status to an error; connection-level failures also
 * drop the context so the next call reconnects. */
static int call_fail(nfsBackend *nb, nfsCall *c, const char *fmt, const char *path)
{
    int err = -c->status;

    if (err == ETIMEDOUT || strstr(c->err, "timed out")) {
        nfs_disconnect(nb);
        pool_error(POOL_ERR_TIMEOUT, "NFS server %s: %s '%s' timed out: %s", nb->server, fmt, path,
                   c->err);
        return -1;
    }
    /* libnfs reports RPC-level failures (connection lost, reconnect
     * refused) as -EFAULT and cancelled calls as -EINTR: the connection is
     * unusable, not the file. */
    if (err == EFAULT || err == EINTR || err == ENOTCONN || err == ECONNREFUSED ||
        err == ECONNRESET || err == EPIPE || err == ESHUTDOWN || err == EHOSTUNREACH ||
        err == ENETUNREACH) {
        nfs_disconnect(nb);
        pool_error(POOL_ERR_CONNECT, "NFS server %s: %s '%s': %s", nb->server, fmt, path, c->err);
        return -1;
    }
    if (err == EEXIST) {
        pool_error(POOL_ERR_EXISTS, "NFS server %s: %s '%s': file exists", nb->server, fmt, path);
        return -1;
    }
    pool_error(POOL_ERR_SYSTEM, "NFS server %s: %s '%s': %s (%s)", nb->server, fmt, path,
               strerror(err > 0 ? err : EIO), c->err);
    return -1;
}

/* Queue-failure of an async call: libnfs could not even send it. */
static int queue_fail(nfsBackend *nb, const char *what, const char *path)
{
    char msg[NFS_ERRMSG_MAX];

    snprintf(msg, sizeof(msg), "%s", nb->nfs ? nfs_get_error(nb->nfs) : "not connected");
    nfs_disconnect(nb);
    pool_error(POOL_ERR_CONNECT, "NFS server %s: cannot send %s '%s': %s", nb->server, what, path,
               msg);
    return -1;
}

/* ---- connecting --------------------------------------------------------- */

static void mount_cb(int status, struct nfs_context *nfs, void *data, void *private_data)
{
    generic_cb(status, nfs, status < 0 ? data : NULL, private_data);
}

/* New context with our settings, parsed from the URL (its ?args apply). */
static struct nfs_context *new_context(nfsBackend *nb, struct nfs_url **urlp)
{
    struct nfs_context *nfs = nfs_init_context();
    struct nfs_url *url;
    int secs;

    *urlp = NULL;
    if (!nfs) {
        pool_error_oom();
        return NULL;
    }
    if (!(url = nfs_parse_url_dir(nfs, nb->url))) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store URL '%s': %s", nb->base.where,
                   nfs_get_error(nfs));
        nfs_destroy_context(nfs);
        return NULL;
    }
    secs = (int)((nb->timeout_ms + 999) / 1000);
    nfs_set_timeout(nfs, secs * 1000);
    nfs_set_autoreconnect(nfs, 0);
    nfs_set_dircache(nfs, 0);
    nfs_set_pagecache(nfs, 0);
    nfs_set_readahead(nfs, 0);
    *urlp = url;
    return nfs;
}

/* Try mounting `export` on a fresh context. 0 mounted, 1 refused by the
 * server's MOUNT service (try a parent), -1 error reported. */
static int try_mount(nfsBackend *nb, const char *export, int64_t deadline)
{
    struct nfs_url *url = NULL;
    nfsCall c;
    int err;

    nfs_disconnect(nb);
    if (!(nb->nfs = new_context(nb, &url)))
        return -1;
    nfs_destroy_url(url);
    call_init(&c);
    if (nfs_mount_async(nb->nfs, nb->server, export, mount_cb, &c) != 0) {
        char msg[NFS_ERRMSG_MAX];

        snprintf(msg, sizeof(msg), "%s", nfs_get_error(nb->nfs));
        nfs_disconnect(nb);
        pool_error(POOL_ERR_CONNECT, "cannot reach NFS server %s: %s", nb->server, msg);
        return -1;
    }
    if (nfs_wait(nb, &c, deadline, "mount") < 0) {
        pool_error_prefix("cannot mount %s:%s", nb->server, export);
        return -1;
    }
    if (c.status == 0)
        return 0;
    err = -c.status;
    nfs_disconnect(nb);
    if (err == ENOENT || err == EACCES || err == EPERM || err == ENOTDIR || err == EINVAL)
        return 1; /* the MOUNT service answered: not an export */
    if (err == ETIMEDOUT || strstr(c.err, "timed out")) {
        pool_error(POOL_ERR_TIMEOUT, "cannot mount %s:%s: timed out: %s", nb->server, export,
                   c.err);
        return -1;
    }
    pool_error(POOL_ERR_CONNECT, "cannot mount %s:%s: %s", nb->server, export, c.err);
    return -1;
}

static int nfs_connect(nfsBackend *nb)
{
    int64_t deadline;
    int rc;

    if (nb->nfs)
        return 0;
    deadline = pool_monotonic_ms() + nb->timeout_ms;
    if (nb->resolved) {
        rc = try_mount(nb, nb->export, deadline);
        if (rc > 0)
            pool_error(POOL_ERR_CONNECT, "cannot mount %s:%s: the server refuses it now",
                       nb->server, nb->export);
        return rc == 0 ? 0 : -1;
    }

    /* First time: find the export — the whole path, else its longest
     * prefix the server accepts. */
    {
        POOL_AUTOFREE(char *) path = pool_strdup(nb->export);
        char *slash;

        if (!path)
            return -1;
        for (;;) {
            rc = try_mount(nb, path[0] ? path : "/", deadline);
            if (rc < 0)
                return -1;
            if (rc == 0)
                break;
            slash = strrchr(path, '/');
            if (!slash || path[0] == '\0' || strcmp(path, "/") == 0) {
                pool_error(POOL_ERR_CONNECT,
                           "cannot mount %s:%s: the server exports neither it nor a parent",
                           nb->server, nb->export);
                return -1;
            }
            *slash = '\0';
        }
        {
            size_t plen = strlen(path);
            char *dir = pool_strdup(nb->export + plen);
            char *exp = pool_strdup(path[0] ? path : "/");

            if (!dir || !exp) {
                free(dir);
                free(exp);
                return pool_error_oom();
            }
            /* strip a trailing '/' of the directory */
            while (dir[0] && dir[strlen(dir) - 1] == '/')
                dir[strlen(dir) - 1] = '\0';
            free(nb->dir);
            free(nb->export);
            nb->dir = dir;
            nb->export = exp;
            nb->exact = dir[0] == '\0';
            nb->resolved = true;
        }
    }
    return 0;
}

static char *nfs_path(nfsBackend *nb, const char *name)
{
    return pool_asprintf("%s/%s", nb->dir, name);
}

/* ---- operations --------------------------------------------------------- */

static int nfs_do_stat(nfsBackend *nb, const char *path, struct nfs_stat_64 *st)
{
    nfsCall c;

    if (nfs_connect(nb) < 0)
        return -1;
    call_init(&c);
    if (nfs_stat64_async(nb->nfs, path, stat_cb, &c) != 0)
        return queue_fail(nb, "stat", path);
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "stat") < 0)
        return -1;
    if (c.status == -ENOENT)
        return 1;
    if (c.status < 0)
        return call_fail(nb, &c, "stat", path);
    *st = c.st;
    return 0;
}

static void st64_to_dirent(const struct nfs_stat_64 *st, poolMetaDirent *out)
{
    out->is_file = S_ISREG((mode_t)st->nfs_mode);
    out->size = st->nfs_size;
    out->nlink = st->nfs_nlink;
    out->mtime.sec = (int64_t)st->nfs_mtime;
    out->mtime.nsec = (int64_t)st->nfs_mtime_nsec;
    out->ctime.sec = (int64_t)st->nfs_ctime;
    out->ctime.nsec = (int64_t)st->nfs_ctime_nsec;
}

static int nfs_stat_op(poolMetaBackend *be, const char *name, poolMetaDirent *out)
{
    nfsBackend *nb = (nfsBackend *)be;
    POOL_AUTOFREE(char *) path = nfs_path(nb, name);
    struct nfs_stat_64 st;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!path)
        return -1;
    if ((rc = nfs_do_stat(nb, path, &st)) != 0)
        return rc;
    st64_to_dirent(&st, out);
    return 0;
}

static int nfs_list(poolMetaBackend *be, poolMetaDirent **ents, size_t *n)
{
    nfsBackend *nb = (nfsBackend *)be;
    const char *path;
    poolMetaDirent *list = NULL;
    size_t count = 0;
    struct nfsdir *dir;
    struct nfsdirent *de;
    nfsCall c;

    *ents = NULL;
    *n = 0;
    if (nfs_connect(nb) < 0)
        return -1;
    path = nb->dir[0] ? nb->dir : "/";
    /* nfs-ganesha (4.3) fails a whole READDIRPLUS with NFS3ERR_NOENT or
     * NFS3ERR_STALE when an entry is unlinked while it collects attributes
     * (a quarter of listings under two busy writers): a listing racing a
     * writer's unlink is retried, with a short growing pause, within the
     * call's deadline. */
    int64_t deadline = pool_monotonic_ms() + (int64_t)nb->timeout_ms;
    for (int attempt = 0;; attempt++) {
        call_init(&c);
        if (nfs_opendir_async(nb->nfs, path, generic_cb, &c) != 0)
            return queue_fail(nb, "opendir", path);
        if (nfs_wait(nb, &c, deadline, "readdir") < 0)
            return -1;
        if ((c.status == -ENOENT || c.status == -ESTALE) && attempt < 20 &&
            pool_monotonic_ms() + 2 * (attempt + 1) < deadline) {
            poll(NULL, 0, 2 * (attempt + 1));
            continue;
        }
        if (c.status < 0)
            return call_fail(nb, &c, "readdir", path);
        break;
    }
    dir = c.data;
    /* nfs_readdir never blocks: the whole listing came in the call. */
    while ((de = nfs_readdir(nb->nfs, dir))) {
        poolMetaDirent *e;

        if (!de->name || strcmp(de->name, ".") == 0 || strcmp(de->name, "..") == 0)
            continue;
        if (pool_realloc_n(&list, count + 1, sizeof(*list)) < 0)
            goto error;
        e = &list[count];
        memset(e, 0, sizeof(*e));
        if (!(e->name = strdup(de->name))) {
            pool_error_oom();
            goto error;
        }
        count++;
        e->is_file = de->type == NF3REG;
        e->size = de->size;
        e->nlink = de->nlink;
        e->mtime.sec = de->mtime.tv_sec;
        e->mtime.nsec = de->mtime_nsec;
        e->ctime.sec = de->ctime.tv_sec;
        e->ctime.nsec = de->ctime_nsec;
    }
    nfs_closedir(nb->nfs, dir);
    *ents = list;
    *n = count;
    return 0;
error:
    nfs_closedir(nb->nfs, dir);
    pool_meta_dirents_free(list, count);
    return -1;
}

/* Close a handle; errors only matter after writes (reported by fsync). The
 * thread's current error is kept. */
static void nfs_close_quiet(nfsBackend *nb, struct nfsfh *fh)
{
    poolError *saved;
    nfsCall c;

    if (!nb->nfs || !fh)
        return;
    saved = pool_error_save();
    call_init(&c);
    if (nfs_close_async(nb->nfs, fh, generic_cb, &c) == 0)
        nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "close");
    pool_error_reset(); /* the close's own error must not outlive it */
    pool_error_restore(saved);
}

static int nfs_read_op(poolMetaBackend *be, const char *name, size_t max, char **data, size_t *len)
{
    nfsBackend *nb = (nfsBackend *)be;
    POOL_AUTOFREE(char *) path = nfs_path(nb, name);
    POOL_AUTOFREE(char *) buf = NULL;
    struct nfsfh *fh;
    size_t used = 0;
    nfsCall c;

    *data = NULL;
    *len = 0;
    if (!path || nfs_connect(nb) < 0)
        return -1;
    call_init(&c);
    if (nfs_open_async(nb->nfs, path, O_RDONLY, generic_cb, &c) != 0)
        return queue_fail(nb, "open", path);
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "open") < 0)
        return -1;
    if (c.status == -ENOENT)
        return 1;
    if (c.status < 0)
        return call_fail(nb, &c, "open", path);
    fh = c.data;
    if (!(buf = malloc(max + 2))) {
        nfs_close_quiet(nb, fh);
        return pool_error_oom();
    }
    for (;;) {
        size_t want = max + 1 - used;

        if (want > NFS_IO_CHUNK)
            want = NFS_IO_CHUNK;
        call_init(&c);
        c.buf = buf + used;
        c.buflen = want;
        if (nfs_pread_async(nb->nfs, fh, used, want, pread_cb, &c) != 0)
            return queue_fail(nb, "read", path);
        if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "read") < 0)
            return -1;
        if (c.status < 0) {
            int rc = call_fail(nb, &c, "read", path);

            nfs_close_quiet(nb, fh);
            return rc;
        }
        if (c.status == 0)
            break;
        used += (size_t)c.status;
        if (used > max) {
            nfs_close_quiet(nb, fh);
            pool_error(POOL_ERR_SYSTEM, "NFS server %s: '%s' is too large (limit %zu bytes)",
                       nb->server, path, max);
            return -1;
        }
    }
    nfs_close_quiet(nb, fh);
    buf[used] = '\0';
    *data = pool_steal_ptr(&buf);
    *len = used;
    return 0;
}

static int nfs_unlink_path(nfsBackend *nb, const char *path)
{
    nfsCall c;

    if (nfs_connect(nb) < 0)
        return -1;
    call_init(&c);
    if (nfs_unlink_async(nb->nfs, path, generic_cb, &c) != 0)
        return queue_fail(nb, "remove", path);
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "remove") < 0)
        return -1;
    if (c.status == -ENOENT)
        return 1;
    if (c.status < 0)
        return call_fail(nb, &c, "remove", path);
    return 0;
}

static int nfs_create_op(poolMetaBackend *be, const char *name, const void *data, size_t len)
{
    nfsBackend *nb = (nfsBackend *)be;
    POOL_AUTOFREE(char *) path = nfs_path(nb, name);
    struct nfsfh *fh;
    size_t done = 0;
    nfsCall c;

    if (!path || nfs_connect(nb) < 0)
        return -1;
    call_init(&c);
    if (nfs_create_async(nb->nfs, path, O_EXCL, 0644, generic_cb, &c) != 0)
        return queue_fail(nb, "create", path);
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "create") < 0)
        return -1;
    if (c.status < 0)
        return call_fail(nb, &c, "create", path);
    fh = c.data;
    while (done < len) {
        size_t chunk = len - done > NFS_IO_CHUNK ? NFS_IO_CHUNK : len - done;

        call_init(&c);
        if (nfs_pwrite_async(nb->nfs, fh, done, chunk, (const char *)data + done, generic_cb, &c) !=
            0) {
            queue_fail(nb, "write", path);
            return -1;
        }
        if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "write") < 0)
            return -1;
        if (c.status < 0) {
            call_fail(nb, &c, "write", path);
            goto fail;
        }
        if (c.status == 0 || (size_t)c.status > chunk) {
            pool_error(POOL_ERR_SYSTEM, "NFS server %s: short write to '%s'", nb->server, path);
            goto fail;
        }
        done += (size_t)c.status;
    }
    /* COMMIT: on the server's stable storage before anyone can link it. */
    call_init(&c);
    if (nfs_fsync_async(nb->nfs, fh, generic_cb, &c) != 0) {
        queue_fail(nb, "commit", path);
        return -1;
    }
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "commit") < 0)
        return -1;
    if (c.status < 0) {
        call_fail(nb, &c, "commit", path);
        goto fail;
    }
    call_init(&c);
    if (nfs_close_async(nb->nfs, fh, generic_cb, &c) != 0) {
        queue_fail(nb, "close", path);
        return -1;
    }
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "close") < 0)
        return -1;
    if (c.status < 0) {
        call_fail(nb, &c, "close", path);
        fh = NULL;
        goto fail_unlink;
    }
    return 0;
fail:
    nfs_close_quiet(nb, fh);
fail_unlink:
    if (nb->nfs) {
        poolError *saved = pool_error_save();

        nfs_unlink_path(nb, path);
        pool_error_reset();
        pool_error_restore(saved);
    }
    return -1;
}

static int nfs_link_op(poolMetaBackend *be, const char *oldname, const char *newname)
{
    nfsBackend *nb = (nfsBackend *)be;
    POOL_AUTOFREE(char *) oldpath = nfs_path(nb, oldname);
    POOL_AUTOFREE(char *) newpath = nfs_path(nb, newname);
    nfsCall c;

    if (!oldpath || !newpath || nfs_connect(nb) < 0)
        return -1;
    call_init(&c);
    if (nfs_link_async(nb->nfs, oldpath, newpath, generic_cb, &c) != 0)
        return queue_fail(nb, "link", newpath);
    if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "link") < 0)
        return -1;
    if (c.status == -EEXIST) {
        pool_error(POOL_ERR_EXISTS, "NFS server %s: cannot link '%s': '%s' exists", nb->server,
                   oldpath, newpath);
        return -1;
    }
    if (c.status < 0)
        return call_fail(nb, &c, "link", newpath);
    return 0;
}

static int nfs_unlink_op(poolMetaBackend *be, const char *name)
{
    nfsBackend *nb = (nfsBackend *)be;
    POOL_AUTOFREE(char *) path = nfs_path(nb, name);

    if (!path)
        return -1;
    return nfs_unlink_path(nb, path);
}

/* mkdir -p of the store directory inside the export. */
static int nfs_mkdir_p(nfsBackend *nb)
{
    POOL_AUTOFREE(char *) path = pool_strdup(nb->dir);
    struct nfs_stat_64 st;
    int rc;

    if (!path)
        return -1;
    for (char *p = path + 1; path[0]; p++) {
        bool last = *p == '\0';
        nfsCall c;

        if (*p != '/' && !last)
            continue;
        *p = '\0';
        if (nfs_connect(nb) < 0)
            return -1;
        call_init(&c);
        if (nfs_mkdir2_async(nb->nfs, path, 0755, generic_cb, &c) != 0)
            return queue_fail(nb, "mkdir", path);
        if (nfs_wait(nb, &c, pool_monotonic_ms() + nb->timeout_ms, "mkdir") < 0)
            return -1;
        if (c.status < 0 && c.status != -EEXIST)
            return call_fail(nb, &c, "mkdir", path);
        if (last)
            break;
        *p = '/';
    }
    rc = nfs_do_stat(nb, nb->dir[0] ? nb->dir : "/", &st);
    if (rc < 0)
        return -1;
    if (rc > 0 || !S_ISDIR((mode_t)st.nfs_mode)) {
        pool_error(POOL_ERR_SYSTEM, "NFS server %s: '%s' is not a directory", nb->server,
                   nb->base.where);
        return -1;
    }
    return 0;
}

static void nfs_free_op(poolMetaBackend *be)
{
    nfsBackend *nb = (nfsBackend *)be;

    if (!nb)
        return;
    nfs_disconnect(nb);
    free(nb->url);
    free(nb->server);
    free(nb->export);
    free(nb->dir);
    free(nb->base.where);
    free(nb);
}

static const poolMetaBackendOps nfs_ops = {
    .kind = "nfs",
    .list = nfs_list,
    .read = nfs_read_op,
    .create = nfs_create_op,
    .link = nfs_link_op,
    .stat = nfs_stat_op,
    .unlink = nfs_unlink_op,
    .free = nfs_free_op,
};

/* "nfs://host:port/p?a" -> "nfs://host/p?nfsport=port&a" (libnfs 4.0 has no
 * ":port"). Bracketed IPv6 literals keep their brackets. */
static char *rewrite_port(const char *url)
{
    const char *host = url + strlen("nfs://");
    const char *slash = strchr(host, '/');
    const char *colon;
    const char *q;
    uint64_t port = 0;
    POOL_AUTOFREE(char *) portstr = NULL;

    if (!slash || slash == host) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL '%s': expected nfs://server[:port]/export/path", url);
        return NULL;
    }
    colon = memrchr(host, ':', (size_t)(slash - host));
    if (host[0] == '[') {
        const char *close = memchr(host, ']', (size_t)(slash - host));
        if (!close || (colon && colon < close))
            colon = NULL;
    }
    if (!colon)
        return pool_strdup(url);
    if (!(portstr = strndup(colon + 1, (size_t)(slash - colon - 1)))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_parse_uint(portstr, "NFS port", 1, 65535, &port) < 0) {
        pool_error_prefix("metadata store URL '%s'", url);
        return NULL;
    }
    q = strchr(slash, '?');
    if (q && strstr(q, "nfsport=")) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL '%s': port given twice (':port' and nfsport=)", url);
        return NULL;
    }
    if (q)
        return pool_asprintf("nfs://%.*s%.*s?nfsport=%" PRIu64 "&%s", (int)(colon - host), host,
                             (int)(q - slash), slash, port, q + 1);
    return pool_asprintf("nfs://%.*s%s?nfsport=%" PRIu64, (int)(colon - host), host, slash, port);
}

poolMetaBackend *pool_meta_nfs_open(const char *url, unsigned timeout_ms)
{
    nfsBackend *nb = NULL;
    struct nfs_context *probe = NULL;
    struct nfs_url *parsed = NULL;

    if (!url || strncmp(url, "nfs://", 6) != 0) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store URL '%s' is not an nfs:// URL",
                   url ? url : "");
        return NULL;
    }
    if (!(nb = pool_calloc(1, sizeof(*nb))))
        return NULL;
    nb->base.ops = &nfs_ops;
    nb->timeout_ms = timeout_ms ? timeout_ms : 5000;
    if (!(nb->base.where = pool_strdup(url)) || !(nb->url = rewrite_port(url)))
        goto error;
    /* Parse once to learn the server and path (and to refuse bad URLs
     * before any network traffic). */
    if (!(probe = nfs_init_context())) {
        pool_error_oom();
        goto error;
    }
    if (!(parsed = nfs_parse_url_dir(probe, nb->url))) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store URL '%s': %s", url, nfs_get_error(probe));
        goto error;
    }
    if (!parsed->server || !parsed->server[0] || !parsed->path || parsed->path[0] != '/') {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL '%s': expected nfs://server[:port]/export/path", url);
        goto error;
    }
    if (!(nb->server = pool_strdup(parsed->server)) || !(nb->export = pool_strdup(parsed->path)))
        goto error;
    /* "/export/dir/" and "/export/dir" are the same directory */
    while (strlen(nb->export) > 1 && nb->export[strlen(nb->export) - 1] == '/')
        nb->export[strlen(nb->export) - 1] = '\0';
    if (!(nb->dir = pool_strdup("")))
        goto error;
    nfs_destroy_url(parsed);
    parsed = NULL;
    nfs_destroy_context(probe);
    probe = NULL;

    if (nfs_connect(nb) < 0 || (!nb->exact && nfs_mkdir_p(nb) < 0))
        goto error;
    return &nb->base;
error:
    if (parsed)
        nfs_destroy_url(parsed);
    if (probe)
        nfs_destroy_context(probe);
    nfs_free_op(nb ? &nb->base : NULL);
    return NULL;
}
