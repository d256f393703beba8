// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbd_file_server: poold's private NBD server (poold/nbd_server.c) with
 * file-backed exports, for tests/integration/nbd-qemu.sh.
 *
 *   nbd_file_server DIR EXPORT...
 *   EXPORT: NAME=FILE:rw|ro                          a regular file
 *           NAME=segs:PV@OFFSET+LEN[,...]:rw|ro      an LV, by its segment map
 *
 * Serves each FILE (its size must be a multiple of 4096) or LV (through
 * poold_nbd_export_open, i.e. poold's own LV backing, lun_backing.c)
 * as export NAME on a new socket in DIR, prints the socket's path on a line
 * of its own, and serves until SIGTERM or SIGINT; then stops the server
 * (which unlinks the socket) and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbd_server.h"
#include "pool-error.h"

typedef struct {
    int fd;
} fileCtx;

static int f_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
    fileCtx *f = ctx;
    for (uint32_t done = 0; done < len;) {
        ssize_t r = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        done += (uint32_t)r;
    }
    return 0;
}

static int f_write(void *ctx, uint64_t off, uint32_t len, const void *buf, bool fua)
{
    fileCtx *f = ctx;
    for (uint32_t done = 0; done < len;) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        done += (uint32_t)r;
    }
    return fua && fdatasync(f->fd) < 0 ? -errno : 0;
}

static int f_flush(void *ctx)
{
    fileCtx *f = ctx;
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

static const scsiBackingOps file_ops = {.read = f_read, .write = f_write, .flush = f_flush};

/* "PV@OFFSET+LEN,..." (LV offsets follow each other from 0) */
static int lv_export(const char *name, char *segs, bool rw, poolNbdExport *ex)
{
    poolVolDef vol = {.name = (char *)name};
    size_t n = 1;
    for (const char *p = segs; *p; p++)
        n += *p == ',';
    vol.segments = calloc(n, sizeof(*vol.segments));
    if (!vol.segments)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(segs, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *at = strrchr(tok, '@'), *plus = at ? strchr(at, '+') : NULL;
        if (!plus) {
            pool_error(POOL_ERR_INVALID_ARG, "bad segment '%s': want PV@OFFSET+LEN", tok);
            return -1;
        }
        *at = *plus = '\0';
        poolSegment *sg = &vol.segments[vol.nsegments++];
        sg->pv = tok;
        sg->pv_offset = strtoull(at + 1, NULL, 0);
        sg->length = strtoull(plus + 1, NULL, 0);
        sg->lv_offset = vol.capacity;
        vol.capacity += sg->length;
    }
    int r = poold_nbd_export_open(&vol, NULL, rw, ex);
    free(vol.segments); /* the backing keeps its own copy of the map */
    return r;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DIR NAME=FILE:rw|ro...\n", argv[0]);
        return 2;
    }
    size_t n = (size_t)argc - 2;
    poolNbdExport *ex = calloc(n, sizeof(*ex));
    fileCtx *ctx = calloc(n, sizeof(*ctx));
    if (!ex || !ctx)
        return 1;
    for (size_t i = 0; i < n; i++) {
        char *spec = argv[i + 2];
        char *eq = strchr(spec, '='), *colon = strrchr(spec, ':');
        struct stat st;
        if (!eq || !colon || colon < eq || (strcmp(colon, ":rw") && strcmp(colon, ":ro"))) {
            fprintf(stderr, "bad export '%s': want NAME=FILE:rw|ro\n", spec);
            return 2;
        }
        *eq = *colon = '\0';
        bool rw = colon[1] == 'r' && colon[2] == 'w';
        if (strncmp(eq + 1, "segs:", 5) == 0) {
            if (lv_export(spec, eq + 6, rw, &ex[i]) < 0) {
                fprintf(stderr, "nbd_file_server: %s\n", pool_error_last_message());
                return 1;
            }
            ctx[i].fd = -1;
            continue;
        }
        ctx[i].fd = open(eq + 1, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (ctx[i].fd < 0 || fstat(ctx[i].fd, &st) < 0) {
            fprintf(stderr, "%s: %s\n", eq + 1, strerror(errno));
            return 1;
        }
        ex[i] = (poolNbdExport){.name = spec,
                                .ops = &file_ops,
                                .ctx = &ctx[i],
                                .size = (uint64_t)st.st_size,
                                .writable = rw};
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char *path = NULL;
    poolNbd *s = poold_nbd_start(argv[1], ex, n, &path);
    if (!s) {
        fprintf(stderr, "nbd_file_server: %s\n", pool_error_last_message());
        return 1;
    }
    printf("%s\n", path);
    fflush(stdout);
    while (!stop)
        poll(NULL, 0, 100);
    poold_nbd_stop(s);
    free(path);
    for (size_t i = 0; i < n; i++) {
        if (ctx[i].fd >= 0)
            close(ctx[i].fd);
        else
            poold_nbd_export_close(&ex[i]);
    }
    free(ex);
    free(ctx);
    return 0;
}
