/*
 * nfs_probe.c: libnfs operations against an NFS export, each timed, for the
 * NFS harness (nfs-harness.sh, lib-nfs.sh). It exists because the libnfs
 * command-line tools (nfs-ls, nfs-cat, nfs-cp) cannot bound how long they
 * wait for a server (libnfs 4.0 has no URL argument for the RPC timeout, and
 * its default is no timeout at all) and offer no rename or link.
 *
 *   nfs_probe [-t MS] [-r N] [-v 3|4] nfs://SERVER/EXPORT[?ARGS] CMD [ARGS...]
 *   nfs_probe [-t MS] [-r N] [-v 3|4] nfs://SERVER/EXPORT[?ARGS] -
 *
 *   -t MS   nfs_set_timeout(MS): every RPC (portmapper, MOUNT, NFS) fails
 *           after MS ms without a reply (whole seconds only); libnfs 4.0
 *           reports that as -EINTR ("command timed out"), not -ETIMEDOUT.
 *           Default: libnfs's own (-1: wait forever).
 *   -r N    nfs_set_autoreconnect(N): 0 = a lost connection fails the call
 *           at once, N > 0 = reconnect N times, -1 = forever (libnfs's
 *           default). The URL argument autoreconnect=N does the same.
 *   -v V    nfs_set_version(V); the URL argument version=3|4 does the same.
 *
 * The URL names the export (nfs_parse_url_dir: everything after the server
 * is the export path; URL arguments configure the context). It is mounted
 * once; then CMD runs, or with "-" one command per line of stdin, all on the
 * same context (a long-lived client, like a daemon's). Paths are relative to
 * the export root and start with '/'. Commands:
 *
 *   info                  timeout=MS (the context's RPC timeout)
 *   stat PATH             size, nlink, mode
 *   write PATH TEXT       create or truncate PATH, write TEXT, fsync, close
 *   put PATH LOCALFILE    the same with LOCALFILE's bytes
 *   get PATH LOCALFILE    copy PATH into LOCALFILE
 *   rename OLD NEW        nfs_rename (one NFS RENAME: replaces NEW)
 *   link OLD NEW          nfs_link (one NFS LINK: fails if NEW exists)
 *   unlink PATH / mkdir PATH
 *   remount               destroy the context, make a new one, mount again
 *   sleep MS              (line mode) wait MS ms
 *
 * Every command prints one line on stdout, flushed:
 *   ok CMD ms=ELAPSED [details]
 *   err CMD ms=ELAPSED rc=-ERRNO ERRNAME: libnfs's message
 * ELAPSED is CLOCK_MONOTONIC time spent in libnfs. The mount prints such a
 * line too. Exit 0 when every command succeeded, 1 when one failed (in line
 * mode the others still run; a failed mount ends the run), 2 on usage errors.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <nfsc/libnfs.h>

#define MAX_ARGS 4
#define IO_CHUNK (64 * 1024)

struct probe {
    const char *url;
    int timeout_ms;    /* -1: leave libnfs's default */
    int autoreconnect; /* INT32_MIN: leave libnfs's default */
    int version;       /* 0: leave the URL's / libnfs's default */
    struct nfs_context *nfs;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void report(struct probe *p, const char *cmd, long long t0, int rc, const char *details)
{
    long long ms = now_ms() - t0;
    if (rc >= 0) {
        printf("ok %s ms=%lld%s%s\n", cmd, ms, details && *details ? " " : "",
               details ? details : "");
    } else {
        const char *name = strerrorname_np(-rc);
        const char *msg = p->nfs ? nfs_get_error(p->nfs) : NULL;
        printf("err %s ms=%lld rc=%d %s: %s\n", cmd, ms, rc, name ? name : "?",
               msg && *msg ? msg : strerror(-rc));
    }
    fflush(stdout);
}

/* New context configured from the URL and the options, then mounted. */
static int probe_mount(struct probe *p)
{
    long long t0 = now_ms();
    p->nfs = nfs_init_context();
    if (!p->nfs) {
        fprintf(stderr, "nfs_probe: nfs_init_context failed\n");
        return -ENOMEM;
    }
    struct nfs_url *u = nfs_parse_url_dir(p->nfs, p->url);
    if (!u || !u->server || !u->path) {
        fprintf(stderr, "nfs_probe: bad URL %s: %s\n", p->url, nfs_get_error(p->nfs));
        if (u)
            nfs_destroy_url(u);
        return -EINVAL;
    }
    if (p->timeout_ms >= 0)
        nfs_set_timeout(p->nfs, p->timeout_ms);
    if (p->autoreconnect != INT32_MIN)
        nfs_set_autoreconnect(p->nfs, p->autoreconnect);
    if (p->version && nfs_set_version(p->nfs, p->version) != 0) {
        fprintf(stderr, "nfs_probe: version %d: %s\n", p->version, nfs_get_error(p->nfs));
        nfs_destroy_url(u);
        return -EINVAL;
    }
    int rc = nfs_mount(p->nfs, u->server, u->path);
    char details[64];
    snprintf(details, sizeof(details), "timeout=%d", nfs_get_timeout(p->nfs));
    report(p, "mount", t0, rc, details);
    nfs_destroy_url(u);
    return rc;
}

static void probe_unmount(struct probe *p)
{
    if (p->nfs) {
        nfs_destroy_context(p->nfs);
        p->nfs = NULL;
    }
}

static int write_bytes(struct probe *p, const char *path, const void *buf, size_t len)
{
    struct nfsfh *fh = NULL;
    int rc = nfs_open2(p->nfs, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh);
    if (rc < 0)
        return rc;
    size_t off = 0;
    while (off < len) {
        size_t n = len - off > IO_CHUNK ? IO_CHUNK : len - off;
        rc = nfs_pwrite(p->nfs, fh, off, n, (const char *)buf + off);
        if (rc < 0)
            break;
        if (rc == 0) {
            rc = -EIO;
            break;
        }
        off += (size_t)rc;
    }
    if (rc >= 0)
        rc = nfs_fsync(p->nfs, fh);
    int crc = nfs_close(p->nfs, fh);
    return rc < 0 ? rc : crc;
}

static int cmd_put(struct probe *p, const char *path, const char *local)
{
    FILE *f = fopen(local, "rb");
    if (!f)
        return -errno;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < IO_CHUNK) {
            cap = cap ? cap * 2 : IO_CHUNK;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int err = ferror(f) ? -EIO : 0;
    fclose(f);
    int rc = err ? err : write_bytes(p, path, buf, len);
    free(buf);
    return rc;
}

static int cmd_get(struct probe *p, const char *path, const char *local)
{
    struct nfsfh *fh = NULL;
    int rc = nfs_open(p->nfs, path, O_RDONLY, &fh);
    if (rc < 0)
        return rc;
    FILE *f = fopen(local, "wb");
    if (!f) {
        rc = -errno;
        nfs_close(p->nfs, fh);
        return rc;
    }
    static char buf[IO_CHUNK];
    uint64_t off = 0;
    for (;;) {
        rc = nfs_pread(p->nfs, fh, off, sizeof(buf), buf);
        if (rc <= 0)
            break;
        if (fwrite(buf, 1, (size_t)rc, f) != (size_t)rc) {
            rc = -EIO;
            break;
        }
        off += (uint64_t)rc;
    }
    if (fclose(f) != 0 && rc >= 0)
        rc = -EIO;
    nfs_close(p->nfs, fh);
    return rc;
}

static int run_cmd(struct probe *p, int argc, char **argv)
{
    const char *cmd = argc > 0 ? argv[0] : "";
    char details[160] = "";
    long long t0 = now_ms();
    int rc;

    if (!p->nfs && strcmp(cmd, "remount") != 0 && strcmp(cmd, "sleep") != 0) {
        printf("err %s ms=0 rc=-107 ENOTCONN: not mounted (a remount failed)\n", cmd);
        fflush(stdout);
        return 1;
    }
    if (!strcmp(cmd, "info") && argc == 1) {
        snprintf(details, sizeof(details), "timeout=%d", nfs_get_timeout(p->nfs));
        rc = 0;
    } else if (!strcmp(cmd, "stat") && argc == 2) {
        struct nfs_stat_64 st;
        rc = nfs_stat64(p->nfs, argv[1], &st);
        if (rc == 0)
            snprintf(details, sizeof(details), "size=%llu nlink=%llu mode=0%llo",
                     (unsigned long long)st.nfs_size, (unsigned long long)st.nfs_nlink,
                     (unsigned long long)st.nfs_mode);
    } else if (!strcmp(cmd, "write") && argc == 3) {
        rc = write_bytes(p, argv[1], argv[2], strlen(argv[2]));
    } else if (!strcmp(cmd, "put") && argc == 3) {
        rc = cmd_put(p, argv[1], argv[2]);
    } else if (!strcmp(cmd, "get") && argc == 3) {
        rc = cmd_get(p, argv[1], argv[2]);
    } else if (!strcmp(cmd, "rename") && argc == 3) {
        rc = nfs_rename(p->nfs, argv[1], argv[2]);
    } else if (!strcmp(cmd, "link") && argc == 3) {
        rc = nfs_link(p->nfs, argv[1], argv[2]);
    } else if (!strcmp(cmd, "unlink") && argc == 2) {
        rc = nfs_unlink(p->nfs, argv[1]);
    } else if (!strcmp(cmd, "mkdir") && argc == 2) {
        rc = nfs_mkdir(p->nfs, argv[1]);
    } else if (!strcmp(cmd, "remount") && argc == 1) {
        probe_unmount(p);
        rc = probe_mount(p);
        if (rc < 0)
            probe_unmount(p);
        return rc < 0 ? 1 : 0; /* probe_mount reported it */
    } else if (!strcmp(cmd, "sleep") && argc == 2) {
        long ms = strtol(argv[1], NULL, 10);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        rc = 0;
    } else {
        fprintf(stderr, "nfs_probe: bad command: %s (%d args)\n", cmd, argc - 1);
        printf("err %s ms=0 rc=-22 EINVAL: bad command\n", cmd);
        fflush(stdout);
        return 1;
    }
    report(p, cmd, t0, rc, details);
    return rc < 0 ? 1 : 0;
}

static int run_lines(struct probe *p)
{
    char line[4096];
    int failed = 0;
    while (fgets(line, sizeof(line), stdin)) {
        char *argv[MAX_ARGS + 1];
        int argc = 0;
        char *save = NULL;
        for (char *tok = strtok_r(line, " \t\r\n", &save); tok;
             tok = strtok_r(NULL, " \t\r\n", &save)) {
            if (argc == MAX_ARGS) {
                argc = MAX_ARGS + 1;
                break;
            }
            argv[argc++] = tok;
        }
        if (argc == 0 || argv[0][0] == '#')
            continue;
        if (!strcmp(argv[0], "quit"))
            break;
        if (argc > MAX_ARGS) {
            printf("err %s ms=0 rc=-7 E2BIG: too many arguments\n", argv[0]);
            fflush(stdout);
            failed = 1;
            continue;
        }
        failed |= run_cmd(p, argc, argv);
    }
    return failed;
}

static int usage(void)
{
    fprintf(stderr, "usage: nfs_probe [-t MS] [-r N] [-v 3|4] nfs://SERVER/EXPORT[?ARGS] "
                    "CMD [ARGS...] | -\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct probe p = {.timeout_ms = -1, .autoreconnect = INT32_MIN};
    int opt;
    while ((opt = getopt(argc, argv, "+t:r:v:")) != -1) {
        switch (opt) {
        case 't':
            p.timeout_ms = atoi(optarg);
            break;
        case 'r':
            p.autoreconnect = atoi(optarg);
            break;
        case 'v':
            p.version = atoi(optarg);
            break;
        default:
            return usage();
        }
    }
    if (argc - optind < 2)
        return usage();
    p.url = argv[optind];
    if (probe_mount(&p) < 0) {
        probe_unmount(&p);
        return 1;
    }
    int rc;
    if (!strcmp(argv[optind + 1], "-"))
        rc = run_lines(&p);
    else
        rc = run_cmd(&p, argc - optind - 1, argv + optind + 1);
    probe_unmount(&p);
    return rc;
}
