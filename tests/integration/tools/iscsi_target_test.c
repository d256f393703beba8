// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_target_test.c: the embedded iSCSI target on its own, for
 * integration tests with real initiators (libiscsi tools, QEMU).
 *
 *   iscsi_target_test PORT [--port2 PORT] [--size MiB] [--luns N]
 *                     [--chap USER:SECRET] [--mutual USER:SECRET]
 *                     [--acl IQN[,IQN...]] [--grace MS]
 *
 * Serves target iqn.2026-11.org.poold:test on 127.0.0.1:PORT (tpgt 1) and,
 * with --port2, a second portal (tpgt 2) for multipath tests; each LUN is
 * memory-backed (512-byte blocks). Prints "READY" when listening and runs
 * until SIGTERM/SIGINT, then stops the portals with the grace period.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iscsi.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "scsi.h"
#include "target.h"

#define TEST_IQN TGT_IQN_PREFIX "test"

typedef struct {
    uint8_t *mem;
    uint64_t size;
} memDisk;

static int mem_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
    memDisk *d = ctx;
    if (off > d->size || len > d->size - off)
        return -EIO;
    memcpy(buf, d->mem + off, len);
    return 0;
}

static int mem_write(void *ctx, uint64_t off, uint32_t len, const void *buf, bool fua)
{
    memDisk *d = ctx;
    (void)fua;
    if (off > d->size || len > d->size - off)
        return -EIO;
    memcpy(d->mem + off, buf, len);
    return 0;
}

static int mem_flush(void *ctx)
{
    (void)ctx;
    return 0;
}

static int mem_unmap(void *ctx, uint64_t off, uint64_t len)
{
    memDisk *d = ctx;
    if (off > d->size || len > d->size - off)
        return -EIO;
    memset(d->mem + off, 0, len);
    return 0;
}

static const scsiBackingOps mem_ops = {mem_read, mem_write, mem_flush, mem_unmap};

static void mem_release(void *ctx)
{
    memDisk *d = ctx;
    free(d->mem);
    free(d);
}

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static void log_stderr(poolLogLevel level, const char *msg, void *opaque)
{
    (void)opaque;
    fprintf(stderr, "[%s] %s\n", pool_log_level_name(level), msg);
}

static scsiLu *make_lu(unsigned idx, uint64_t size)
{
    memDisk *d = calloc(1, sizeof(*d));
    scsiLuConfig cfg;

    if (!d)
        return NULL;
    d->size = size;
    d->mem = aligned_alloc(4096, size);
    if (!d->mem) {
        free(d);
        return NULL;
    }
    memset(d->mem, 0, size);
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.uuid, sizeof(cfg.uuid), "6a1c3f9e-0000-4000-8000-%012x", idx);
    snprintf(cfg.serial, sizeof(cfg.serial), "6a1c3f9e0000%04x", idx);
    cfg.naa[0] = 0x30;
    cfg.naa[7] = (uint8_t)idx;
    snprintf(cfg.vendor, sizeof(cfg.vendor), "POOLD");
    snprintf(cfg.product, sizeof(cfg.product), "memdisk");
    snprintf(cfg.revision, sizeof(cfg.revision), "0.1");
    cfg.block_size = 512;
    cfg.nblocks = size / 512;
    cfg.write_cache = false;
    cfg.max_xfer_blocks = 65536; /* 32 MiB: iscsi-test-cu writes that much in one WRITE16 */
    cfg.ops = &mem_ops;
    cfg.ctx = d;
    cfg.release = mem_release;
    scsiLu *lu = scsi_lu_new(&cfg);
    if (!lu)
        mem_release(d);
    return lu;
}

static int split_cred(const char *arg, tgtChapCred *c)
{
    const char *colon = strchr(arg, ':');
    if (!colon || (size_t)(colon - arg) >= sizeof(c->user) ||
        strlen(colon + 1) >= sizeof(c->secret))
        return -1;
    memcpy(c->user, arg, (size_t)(colon - arg));
    c->user[colon - arg] = '\0';
    snprintf(c->secret, sizeof(c->secret), "%s", colon + 1);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned port = 0, port2 = 0, size_mb = 64, nluns = 1;
    int grace = 2000;
    tgtAuth auth;
    char *acl = NULL;

    memset(&auth, 0, sizeof(auth));
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s PORT [--port2 P] [--size MiB] [--luns N] [--chap U:S] "
                "[--mutual U:S] [--acl IQN,...] [--grace MS]\n",
                argv[0]);
        return 2;
    }
    port = (unsigned)atoi(argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!next) {
            fprintf(stderr, "%s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--port2") == 0)
            port2 = (unsigned)atoi(next);
        else if (strcmp(argv[i], "--size") == 0)
            size_mb = (unsigned)atoi(next);
        else if (strcmp(argv[i], "--luns") == 0)
            nluns = (unsigned)atoi(next);
        else if (strcmp(argv[i], "--grace") == 0)
            grace = atoi(next);
        else if (strcmp(argv[i], "--chap") == 0) {
            if (split_cred(next, &auth.initiator) < 0)
                return 2;
            auth.chap_required = true;
        } else if (strcmp(argv[i], "--mutual") == 0) {
            if (split_cred(next, &auth.target) < 0)
                return 2;
            auth.mutual = true;
        } else if (strcmp(argv[i], "--acl") == 0)
            acl = next ? strdup(next) : NULL;
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
        i++;
    }
    pool_log_set_callback(log_stderr, NULL,
                          getenv("ISCSI_TEST_DEBUG") ? POOL_LOG_DEBUG : POOL_LOG_INFO);

    tgtInventory *inv = tgt_inventory_new();
    if (!inv || tgt_target_add(inv, TEST_IQN, 1) < 0) {
        fprintf(stderr, "inventory: %s\n", pool_error_last_message());
        return 1;
    }
    if (acl) {
        for (char *tok = strtok(acl, ","); tok; tok = strtok(NULL, ","))
            pool_strv_add(&auth.acl, tok);
    }
    if ((auth.chap_required || auth.acl) && tgt_target_set_auth(inv, TEST_IQN, &auth) < 0) {
        fprintf(stderr, "auth: %s\n", pool_error_last_message());
        return 1;
    }
    for (unsigned i = 0; i < nluns; i++) {
        scsiLu *lu = make_lu(i, (uint64_t)size_mb << 20);
        if (!lu || tgt_lun_add(inv, TEST_IQN, i, lu) < 0) {
            fprintf(stderr, "LUN %u: %s\n", i, pool_error_last_message());
            return 1;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    iscsiPortalConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.address = "127.0.0.1";
    cfg.port = (uint16_t)port;
    cfg.tpgt = 1;
    cfg.inv = inv;
    iscsiPortal *p1 = iscsi_portal_start(&cfg);
    if (!p1) {
        fprintf(stderr, "portal: %s\n", pool_error_last_message());
        return 3; /* port busy: the caller may retry with another */
    }
    iscsiPortal *p2 = NULL;
    if (port2) {
        cfg.port = (uint16_t)port2;
        cfg.tpgt = 2;
        p2 = iscsi_portal_start(&cfg);
        if (!p2) {
            fprintf(stderr, "portal 2: %s\n", pool_error_last_message());
            iscsi_portal_stop(p1, 0);
            return 3;
        }
    }
    printf("READY %u\n", iscsi_portal_port(p1));
    fflush(stdout);
    while (!quit)
        pause();
    fprintf(stderr, "stopping\n");
    if (p2)
        iscsi_portal_stop(p2, grace);
    iscsi_portal_stop(p1, grace);
    tgt_inventory_free(inv);
    pool_strv_free(auth.acl);
    free(acl);
    return 0;
}
