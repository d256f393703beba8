/*
 * nbd_server.c: poold's private NBD server (see nbd_server.h). The wire
 * format is nbd_proto.c's; this file owns sockets and threads.
 *
 * Threads: one listener (poll on the socket and a wake pipe) and one thread
 * per connection. A connection reads a request, runs it on the backing and
 * replies before it reads the next, so replies never interleave and the
 * connection needs one buffer, allocated (aligned, as O_DIRECT wants) once
 * when it enters transmission. poold_nbd_stop() wakes the listener, shuts
 * every connection's socket down (a blocked read returns) and joins all.
 *
 * Rules of the handshake kept here: only fixed newstyle; an unknown export
 * gets NBD_REP_ERR_UNKNOWN (NBD_OPT_EXPORT_NAME: the connection is closed,
 * as the spec says); structured replies and TLS are refused with
 * NBD_REP_ERR_UNSUP, so the client falls back to simple replies; a client
 * that asks GO without listing NBD_INFO_BLOCK_SIZE gets
 * NBD_REP_ERR_BLOCK_SIZE_REQD, because the backing needs aligned I/O.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "iscsi/lun_backing.h"
#include "nbd_proto.h"
#include "nbd_server.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"

typedef struct {
    char *name;
    const scsiBackingOps *ops;
    void *ctx;
    nbdExportLimits lim;
} nbdExport;

typedef struct nbdConn {
    struct poolNbd *srv;
    int fd;
    pthread_t thread;
    bool done; /* the thread has finished (guarded by srv->lock) */
    struct nbdConn *next;
} nbdConn;

struct poolNbd {
    char *path;
    int lfd;
    int wake[2];
    pthread_t listener;
    nbdExport *exports;
    size_t n;
    pthread_mutex_t lock;
    nbdConn *conns;
    size_t nconns;
    size_t max_conns;
    atomic_bool stopping;
};

/* --- socket I/O ----------------------------------------------------------- */

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Read and drop n bytes. */
static int drain(int fd, uint64_t n)
{
    uint8_t junk[4096];
    while (n > 0) {
        size_t k = n < sizeof(junk) ? (size_t)n : sizeof(junk);
        if (read_full(fd, junk, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

static int opt_reply(int fd, uint32_t option, uint32_t type, const void *data, uint32_t len)
{
    uint8_t h[NBD_REP_HDR_LEN];
    nbd_encode_opt_reply(h, option, type, len);
    if (write_full(fd, h, sizeof(h)) < 0)
        return -1;
    return len ? write_full(fd, data, len) : 0;
}

static int opt_error(int fd, uint32_t option, uint32_t type, const char *msg)
{
    return opt_reply(fd, option, type, msg, (uint32_t)strlen(msg));
}

static const nbdExport *find_export(const poolNbd *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->exports[i].name) == len && memcmp(s->exports[i].name, name, len) == 0)
            return &s->exports[i];
    return NULL;
}

/* --- handshake ------------------------------------------------------------ */

/* Returns the export to serve, or NULL: close (abort, error, or a client
 * that went away). */
static const nbdExport *handshake(poolNbd *s, int fd)
{
    uint8_t greet[NBD_GREETING_LEN], cflags[4], hdr[NBD_OPT_HDR_LEN];
    uint8_t data[NBD_OPT_MAX_LEN];
    uint32_t flags;
    const char *why = NULL;

    nbd_encode_greeting(greet);
    if (write_full(fd, greet, sizeof(greet)) < 0 || read_full(fd, cflags, 4) < 0)
        return NULL;
    if (nbd_decode_client_flags(cflags, &flags, &why) < 0) {
        log_warnx("nbd %s: %s; connection closed", s->path, why);
        return NULL;
    }
    for (;;) {
        nbdOptHdr h;
        if (read_full(fd, hdr, sizeof(hdr)) < 0)
            return NULL;
        if (nbd_decode_opt_header(hdr, &h, &why) < 0) {
            log_warnx("nbd %s: %s; connection closed", s->path, why);
            return NULL;
        }
        if (read_full(fd, data, h.length) < 0)
            return NULL;
        switch (h.option) {
        case NBD_OPT_ABORT:
            opt_reply(fd, h.option, NBD_REP_ACK, NULL, 0);
            return NULL;
        case NBD_OPT_EXPORT_NAME: {
            const nbdExport *e = find_export(s, (const char *)data, h.length);
            uint8_t info[10];
            if (e == NULL) {
                log_warnx("nbd %s: unknown export asked by name; connection closed", s->path);
                return NULL;
            }
            uint16_t tf = nbd_transmission_flags(&e->lim);
            for (int i = 0; i < 8; i++)
                info[i] = (uint8_t)(e->lim.size >> (56 - 8 * i));
            info[8] = (uint8_t)(tf >> 8);
            info[9] = (uint8_t)tf;
            if (write_full(fd, info, sizeof(info)) < 0)
                return NULL;
            if (!(flags & NBD_FLAG_C_NO_ZEROES)) {
                uint8_t zero[124] = {0};
                if (write_full(fd, zero, sizeof(zero)) < 0)
                    return NULL;
            }
            return e;
        }
        case NBD_OPT_LIST:
            if (h.length != 0) {
                if (opt_error(fd, h.option, NBD_REP_ERR_INVALID, "LIST takes no data") < 0)
                    return NULL;
                break;
            }
            for (size_t i = 0; i < s->n; i++) {
                uint8_t buf[4 + NBD_NAME_MAX];
                uint32_t nl = (uint32_t)strlen(s->exports[i].name);
                buf[0] = (uint8_t)(nl >> 24);
                buf[1] = (uint8_t)(nl >> 16);
                buf[2] = (uint8_t)(nl >> 8);
                buf[3] = (uint8_t)nl;
                memcpy(buf + 4, s->exports[i].name, nl);
                if (opt_reply(fd, h.option, NBD_REP_SERVER, buf, 4 + nl) < 0)
                    return NULL;
            }
            if (opt_reply(fd, h.option, NBD_REP_ACK, NULL, 0) < 0)
                return NULL;
            break;
        case NBD_OPT_INFO:
        case NBD_OPT_GO: {
            nbdGoRequest go;
            const nbdExport *e;
            uint8_t ie[NBD_INFO_EXPORT_LEN], ib[NBD_INFO_BLOCK_SIZE_LEN];
            int r;

            if (nbd_parse_go(data, h.length, &go, &why) < 0) {
                r = opt_error(fd, h.option, NBD_REP_ERR_INVALID, why);
            } else if ((e = find_export(s, go.name, go.name_len)) == NULL) {
                r = opt_error(fd, h.option, NBD_REP_ERR_UNKNOWN, "no such export");
            } else if (!go.want_block_size && e->lim.block_size > 1 && h.option == NBD_OPT_GO) {
                r = opt_error(fd, h.option, NBD_REP_ERR_BLOCK_SIZE_REQD,
                              "this export needs aligned requests: ask NBD_INFO_BLOCK_SIZE");
            } else {
                nbd_encode_info_export(ie, e->lim.size, nbd_transmission_flags(&e->lim));
                nbd_encode_info_block_size(ib, e->lim.block_size, e->lim.block_size,
                                           NBD_MAX_REQUEST);
                if (opt_reply(fd, h.option, NBD_REP_INFO, ie, sizeof(ie)) < 0 ||
                    opt_reply(fd, h.option, NBD_REP_INFO, ib, sizeof(ib)) < 0 ||
                    opt_reply(fd, h.option, NBD_REP_ACK, NULL, 0) < 0)
                    return NULL;
                if (h.option == NBD_OPT_GO)
                    return e;
                break;
            }
            if (r < 0)
                return NULL;
            break;
        }
        default: /* STARTTLS, STRUCTURED_REPLY, anything else */
            if (opt_error(fd, h.option, NBD_REP_ERR_UNSUP, "option not supported") < 0)
                return NULL;
            break;
        }
    }
}

/* --- transmission --------------------------------------------------------- */

static int do_write_zeroes(const nbdExport *e, uint8_t *buf, size_t cap, const nbdRequest *r)
{
    uint64_t off = r->offset, left = r->length;
    uint32_t chunk = (uint32_t)cap;

    memset(buf, 0, chunk < left ? chunk : left);
    while (left > 0) {
        uint32_t k = left < chunk ? (uint32_t)left : chunk;
        int rc = e->ops->write(e->ctx, off, k, buf, false);
        if (rc < 0)
            return rc;
        off += k;
        left -= k;
    }
    return (r->flags & NBD_CMD_FLAG_FUA) ? e->ops->flush(e->ctx) : 0;
}

/* The connection's buffer, at least len bytes (aligned for O_DIRECT). It
 * only grows, by doubling from 1 MiB up to NBD_MAX_REQUEST, so a
 * connection allocates a handful of times in its life however many
 * requests it serves, and a chain of many layers does not cost 32 MiB per
 * connection. */
static uint8_t *conn_buf(uint8_t **buf, size_t *cap, size_t len)
{
    if (len <= *cap)
        return *buf;
    size_t ncap = *cap ? *cap : 1024 * 1024;
    while (ncap < len)
        ncap *= 2;
    if (ncap > NBD_MAX_REQUEST)
        ncap = NBD_MAX_REQUEST;
    uint8_t *nb = NULL;
    if (posix_memalign((void **)&nb, 4096, ncap) != 0)
        return NULL;
    free(*buf);
    *buf = nb;
    *cap = ncap;
    return nb;
}

static void transmission(poolNbd *s, int fd, const nbdExport *e)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint8_t hdr[NBD_REQUEST_LEN], rep[NBD_REPLY_LEN];

    for (;;) {
        nbdRequest r;
        const char *why = NULL;
        uint32_t err;
        int rc = 0;

        if (read_full(fd, hdr, sizeof(hdr)) < 0)
            break;
        if (nbd_decode_request(hdr, &r, &why) < 0) {
            log_warnx("nbd %s export %s: %s; connection closed", s->path, e->name, why);
            break;
        }
        err = nbd_check_request(&r, &e->lim, &why);
        if (err != 0) {
            uint32_t pl = nbd_request_payload(&r);
            log_debug("nbd %s export %s: request refused: %s", s->path, e->name, why);
            /* a payload too large to be a real write means the stream is garbage */
            if (pl > NBD_MAX_REQUEST || drain(fd, pl) < 0)
                break;
            nbd_encode_simple_reply(rep, err, r.cookie);
            if (write_full(fd, rep, sizeof(rep)) < 0)
                break;
            continue;
        }
        size_t need = r.length;
        if (r.type == NBD_CMD_WRITE_ZEROES && need > 1024 * 1024)
            need = 1024 * 1024; /* zeroes are written from one buffer, piece by piece */
        if ((r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE || r.type == NBD_CMD_WRITE_ZEROES) &&
            conn_buf(&buf, &cap, need) == NULL) {
            log_error("nbd %s export %s: no memory for a %zu-byte buffer", s->path, e->name, need);
            break;
        }
        switch (r.type) {
        case NBD_CMD_DISC:
            goto out;
        case NBD_CMD_READ:
            rc = e->ops->read(e->ctx, r.offset, r.length, buf);
            break;
        case NBD_CMD_WRITE:
            if (read_full(fd, buf, r.length) < 0)
                goto out;
            rc = e->ops->write(e->ctx, r.offset, r.length, buf, r.flags & NBD_CMD_FLAG_FUA);
            break;
        case NBD_CMD_FLUSH:
            rc = e->ops->flush(e->ctx);
            break;
        case NBD_CMD_TRIM:
            rc = e->ops->unmap(e->ctx, r.offset, r.length);
            if (rc == 0 && (r.flags & NBD_CMD_FLAG_FUA))
                rc = e->ops->flush(e->ctx);
            break;
        case NBD_CMD_WRITE_ZEROES:
            rc = do_write_zeroes(e, buf, cap, &r);
            break;
        }
        if (rc < 0)
            log_warnx("nbd %s export %s: %s at %llu+%u: %s", s->path, e->name,
                      r.type == NBD_CMD_READ ? "read" : "write", (unsigned long long)r.offset,
                      r.length, strerror(-rc));
        nbd_encode_simple_reply(rep, nbd_errno_to_wire(rc), r.cookie);
        if (write_full(fd, rep, sizeof(rep)) < 0)
            break;
        if (r.type == NBD_CMD_READ && rc == 0 && write_full(fd, buf, r.length) < 0)
            break;
    }
out:
    free(buf);
}

static void *conn_main(void *arg)
{
    nbdConn *c = arg;
    /* a client that stalls in the handshake gives its thread back; once
     * transmission starts, idle time is the client's business */
    struct timeval tv = {.tv_sec = POOL_NBD_HANDSHAKE_TIMEOUT_S};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    const nbdExport *e = handshake(c->srv, c->fd);

    tv.tv_sec = 0;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (e != NULL && !atomic_load(&c->srv->stopping))
        transmission(c->srv, c->fd, e);
    pthread_mutex_lock(&c->srv->lock);
    shutdown(c->fd, SHUT_RDWR);
    c->done = true;
    pthread_mutex_unlock(&c->srv->lock);
    return NULL;
}

/* Join and free connections whose thread has finished (lock held). */
static void reap_conns(poolNbd *s, bool all)
{
    nbdConn **pp = &s->conns;
    while (*pp) {
        nbdConn *c = *pp;
        if (all || c->done) {
            *pp = c->next;
            if (!c->done)
                shutdown(c->fd, SHUT_RDWR);
            pthread_mutex_unlock(&s->lock);
            pthread_join(c->thread, NULL);
            pthread_mutex_lock(&s->lock);
            close(c->fd);
            free(c);
            s->nconns--;
        } else {
            pp = &c->next;
        }
    }
}

static void *listener_main(void *arg)
{
    poolNbd *s = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
                              {.fd = s->wake[0], .events = POLLIN}};
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            break;
        if (atomic_load(&s->stopping))
            break;
        pthread_mutex_lock(&s->lock);
        reap_conns(s, false);
        pthread_mutex_unlock(&s->lock);
        if (!(p[0].revents & POLLIN))
            continue;
        /* the listening socket is non-blocking (a client gone before
         * accept must not block the listener); the accepted one blocks */
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        if (s->nconns >= s->max_conns) {
            pthread_mutex_unlock(&s->lock);
            log_warnx("nbd %s: more than %zu connections; one refused", s->path, s->max_conns);
            close(fd);
            continue;
        }
        nbdConn *c = calloc(1, sizeof(*c));
        if (c == NULL) {
            pthread_mutex_unlock(&s->lock);
            close(fd);
            continue;
        }
        c->srv = s;
        c->fd = fd;
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
            pthread_mutex_unlock(&s->lock);
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

/* --- start and stop ------------------------------------------------------- */

static int check_private_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        pool_error_errno(errno, "cannot create the NBD socket directory %s", dir);
        return -1;
    }
    if (lstat(dir, &st) < 0) {
        pool_error_errno(errno, "cannot stat the NBD socket directory %s", dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        pool_error(POOL_ERR_PERMISSION,
                   "%s must be a directory owned by uid %u with mode 0700 (it holds poold's "
                   "private NBD sockets)",
                   dir, (unsigned)geteuid());
        return -1;
    }
    return 0;
}

static void free_server(poolNbd *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->exports[i].name);
    free(s->exports);
    free(s->path);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    if (s->lfd >= 0)
        close(s->lfd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

poolNbd *poold_nbd_start(const char *dir, const poolNbdExport *exports, size_t n,
                         char **socket_path)
{
    poolNbd *s;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint8_t rnd[8];

    if (n == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "an NBD server needs at least one export");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const poolNbdExport *x = &exports[i];
        uint32_t bs = x->block_size ? x->block_size : 4096;
        size_t nl = x->name ? strlen(x->name) : 0;
        if (nl == 0 || nl > NBD_NAME_MAX) {
            pool_error(POOL_ERR_INVALID_ARG, "NBD export %zu: name must be 1..%d bytes", i,
                       NBD_NAME_MAX);
            return NULL;
        }
        if (!x->ops || !x->ops->read || !x->ops->write || !x->ops->flush) {
            pool_error(POOL_ERR_INVALID_ARG, "NBD export %s: no backing", x->name);
            return NULL;
        }
        if ((bs & (bs - 1)) != 0 || bs > 65536 || x->size == 0 || x->size % bs != 0) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "NBD export %s: size %llu is not a non-zero multiple of its block size %u",
                       x->name, (unsigned long long)x->size, bs);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(exports[j].name, x->name) == 0) {
                pool_error(POOL_ERR_INVALID_ARG, "NBD export %s is listed twice", x->name);
                return NULL;
            }
    }
    if (check_private_dir(dir) < 0)
        return NULL;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        pool_error_errno(errno, "cannot get random bytes for an NBD socket name");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        pool_error_oom();
        return NULL;
    }
    s->lfd = s->wake[0] = s->wake[1] = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->path = pool_asprintf("%s/nbd-%02x%02x%02x%02x%02x%02x%02x%02x.sock", dir, rnd[0], rnd[1],
                            rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    s->exports = calloc(n, sizeof(*s->exports));
    if (s->path == NULL || s->exports == NULL) {
        pool_error_oom();
        free_server(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        nbdExport *e = &s->exports[i];
        if ((e->name = strdup(exports[i].name)) == NULL) {
            pool_error_oom();
            free_server(s);
            return NULL;
        }
        s->n = i + 1;
        e->ops = exports[i].ops;
        e->ctx = exports[i].ctx;
        e->lim.size = exports[i].size;
        e->lim.block_size = exports[i].block_size ? exports[i].block_size : 4096;
        e->lim.writable = exports[i].writable;
        e->lim.can_trim = exports[i].ops->unmap != NULL;
    }
    if (strlen(s->path) >= sizeof(sa.sun_path)) {
        pool_error(POOL_ERR_INVALID_ARG, "NBD socket path %s is too long for a Unix socket",
                   s->path);
        free_server(s);
        return NULL;
    }
    strcpy(sa.sun_path, s->path);
    if (pipe2(s->wake, O_CLOEXEC) < 0 ||
        (s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
        pool_error_errno(errno, "cannot create the NBD socket");
        free_server(s);
        return NULL;
    }
    if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        pool_error_errno(errno, "cannot bind the NBD socket %s", s->path);
        free_server(s);
        return NULL;
    }
    s->max_conns = n * POOL_NBD_CONNS_PER_EXPORT + POOL_NBD_CONNS_SPARE;
    if (chmod(s->path, 0600) < 0 || listen(s->lfd, 64) < 0) {
        pool_error_errno(errno, "cannot set up the NBD socket %s", s->path);
        unlink(s->path);
        free_server(s);
        return NULL;
    }
    if (pthread_create(&s->listener, NULL, listener_main, s) != 0) {
        pool_error(POOL_ERR_SYSTEM, "cannot start the NBD listener thread");
        unlink(s->path);
        free_server(s);
        return NULL;
    }
    if (socket_path && (*socket_path = strdup(s->path)) == NULL) {
        poold_nbd_stop(s);
        pool_error_oom();
        return NULL;
    }
    log_debug("nbd: serving %zu export(s) on %s", n, s->path);
    return s;
}

int poold_nbd_export_open(const poolVolDef *vol, const char *name, bool writable, poolNbdExport *ex)
{
    memset(ex, 0, sizeof(*ex));
    if (vol->capacity == 0 || vol->capacity % 4096 != 0) {
        pool_error(POOL_ERR_DEVICE, "volume %s: capacity %llu is not a multiple of 4096 bytes",
                   vol->name, (unsigned long long)vol->capacity);
        return -1;
    }
    lunBacking *b = lun_backing_open(vol);
    if (b == NULL)
        return -1;
    *ex = (poolNbdExport){.name = name ? name : vol->name,
                          .ops = &lun_backing_ops,
                          .ctx = b,
                          .size = lun_backing_size(b),
                          .block_size = 4096,
                          .writable = writable};
    return 0;
}

void poold_nbd_export_close(poolNbdExport *ex)
{
    if (ex && ex->ctx && ex->ops == &lun_backing_ops)
        lun_backing_close(ex->ctx);
    if (ex)
        ex->ctx = NULL;
}

/* Is pid a qemu-nbd whose command line names sock? */
static bool is_our_qemu_nbd(pid_t pid, const char *sock)
{
    char path[64], buf[8192];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *argv0 = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    if (strcmp(argv0, "qemu-nbd") != 0)
        return false;
    for (ssize_t i = 0; i < n;) { /* the NUL-separated arguments */
        const char *a = buf + i;
        if (strncmp(a, "--socket=", 9) == 0 && strcmp(a + 9, sock) == 0)
            return true;
        i += (ssize_t)strlen(a) + 1;
    }
    return false;
}

int poold_nbd_cleanup(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int removed = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        bool sock = len > 5 && strcmp(nm + len - 5, ".sock") == 0;
        bool pid = len > 4 && strcmp(nm + len - 4, ".pid") == 0;
        if (!((strncmp(nm, "nbd-", 4) == 0 && sock) ||
              (strncmp(nm, "flat-", 5) == 0 && (sock || pid))))
            continue;
        POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s", dir, nm);
        if (path == NULL)
            continue;
        if (pid) {
            char buf[32] = "";
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                buf[n > 0 ? n : 0] = '\0';
                close(fd);
            }
            POOL_AUTOFREE(char *)
            sock_path = pool_asprintf("%s/%.*s.sock", dir, (int)(len - 4), nm);
            pid_t p = (pid_t)atoi(buf);
            if (p > 0 && sock_path && is_our_qemu_nbd(p, sock_path)) {
                log_info("nbd: ending qemu-nbd %d left by a previous poold", (int)p);
                kill(p, SIGTERM);
            }
        }
        if (unlink(path) == 0)
            removed++;
    }
    closedir(d);
    if (removed)
        log_info("nbd: removed %d file(s) a previous poold left in %s", removed, dir);
    return removed;
}

void poold_nbd_stop(poolNbd *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, true);
    (void)!write(s->wake[1], "x", 1);
    pthread_join(s->listener, NULL);
    unlink(s->path);
    pthread_mutex_lock(&s->lock);
    reap_conns(s, true);
    pthread_mutex_unlock(&s->lock);
    log_debug("nbd: %s stopped", s->path);
    free_server(s);
}
