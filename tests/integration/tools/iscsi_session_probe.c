/*
 * iscsi_session_probe.c: an initiator with a chosen name (and optionally a
 * CHAP user and secret) that logs in to a target of the embedded target and
 * writes, to see when its session is allowed and when it ends (libiscsi,
 * synchronous API, automatic reconnect off: a dropped connection must show
 * as one). Used by target-access.sh.
 *
 *   iscsi_session_probe once HOST:PORT IQN LUN INITIATOR [USER SECRET]
 *       Log in, WRITE(16) one block at LBA 0. Prints "ok", or
 *       "login-failed: ..." (exit 3), or "refused: ..." (exit 4).
 *   iscsi_session_probe loop SECONDS HOST:PORT IQN LUN INITIATOR [USER SECRET]
 *       Log in, print "logged-in", then write one block after another (LBAs
 *       0..63 in turn), printing "writes N" every 50 writes, until the
 *       session fails: then "ended after N writes: ..." and exit 0. Still
 *       writing after SECONDS: "still-writing after N writes", exit 2.
 *       A write answered with a CHECK CONDITION other than a unit attention
 *       prints "refused: ..." and exits 4.
 *
 * Exit 1 for usage errors. Output is line buffered.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define UA_RETRIES 8

static struct iscsi_context *login(const char *portal, const char *iqn, int lun,
                                   const char *initiator, const char *user, const char *secret)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator);
    if (!ctx) {
        printf("login-failed: cannot create a libiscsi context\n");
        return NULL;
    }
    iscsi_set_noautoreconnect(ctx, 1);
    if (iscsi_set_targetname(ctx, iqn) < 0 ||
        iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL) < 0 ||
        (user && iscsi_set_initiator_username_pwd(ctx, user, secret) < 0) ||
        iscsi_full_connect_sync(ctx, portal, lun) < 0) {
        printf("login-failed: %s\n", iscsi_get_error(ctx));
        iscsi_destroy_context(ctx);
        return NULL;
    }
    return ctx;
}

/* 0: written; 1: the transport failed (session gone); 2: not GOOD. */
static int write_block(struct iscsi_context *ctx, int lun, uint64_t lba, unsigned char *buf,
                       uint32_t bs)
{
    for (int i = 0;; i++) {
        struct scsi_task *t = iscsi_write16_sync(ctx, lun, lba, buf, bs, (int)bs, 0, 0, 0, 0, 0);
        if (!t)
            return 1;
        if (t->status == SCSI_STATUS_GOOD) {
            scsi_free_scsi_task(t);
            return 0;
        }
        if (t->status == SCSI_STATUS_CHECK_CONDITION && t->sense.key == SCSI_SENSE_UNIT_ATTENTION &&
            i < UA_RETRIES) {
            scsi_free_scsi_task(t);
            continue;
        }
        if (t->status == SCSI_STATUS_CHECK_CONDITION)
            printf("refused: sense %x/%02x/%02x\n", (unsigned)t->sense.key,
                   (t->sense.ascq >> 8) & 0xff, t->sense.ascq & 0xff);
        else if (t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_CANCELLED)
            return scsi_free_scsi_task(t), 1;
        else
            printf("refused: status 0x%02x\n", (unsigned)t->status);
        scsi_free_scsi_task(t);
        return 2;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool loop = argc > 1 && strcmp(argv[1], "loop") == 0;
    int base = loop ? 3 : 2;
    if (argc < 2 || (!loop && strcmp(argv[1], "once") != 0) ||
        (argc != base + 4 && argc != base + 6)) {
        fprintf(stderr,
                "usage: iscsi_session_probe once HOST:PORT IQN LUN INITIATOR [USER SECRET]\n"
                "       iscsi_session_probe loop SECONDS HOST:PORT IQN LUN INITIATOR "
                "[USER SECRET]\n");
        return 1;
    }
    double seconds = loop ? atof(argv[2]) : 0;
    const char *portal = argv[base], *iqn = argv[base + 1], *initiator = argv[base + 3];
    int lun = atoi(argv[base + 2]);
    const char *user = argc == base + 6 ? argv[base + 4] : NULL;
    const char *secret = user ? argv[base + 5] : NULL;

    struct iscsi_context *ctx = login(portal, iqn, lun, initiator, user, secret);
    if (!ctx)
        return 3;
    uint32_t bs = 512;
    for (int i = 0; i < UA_RETRIES; i++) { /* the block size; a fresh session sees UAs first */
        struct scsi_task *t = iscsi_readcapacity16_sync(ctx, lun);
        if (!t) {
            printf("refused: READ CAPACITY(16): %s\n", iscsi_get_error(ctx));
            iscsi_destroy_context(ctx);
            return 4;
        }
        struct scsi_readcapacity16 *rc16 =
            t->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(t) : NULL;
        if (rc16)
            bs = rc16->block_length;
        scsi_free_scsi_task(t);
        if (rc16)
            break;
    }
    if (bs == 0 || bs > 4096)
        bs = 512;
    unsigned char *buf = calloc(1, 4096);
    if (!buf)
        return 1;
    snprintf((char *)buf, 4096, "iscsi_session_probe %s", initiator);
    if (!loop) {
        int r = write_block(ctx, lun, 0, buf, bs);
        if (r == 0)
            printf("ok\n");
        else if (r == 1)
            printf("refused: %s\n", iscsi_get_error(ctx));
        iscsi_destroy_context(ctx);
        free(buf);
        return r == 0 ? 0 : 4;
    }
    printf("logged-in\n");
    double deadline = now_s() + seconds;
    unsigned long n = 0;
    int rc;
    for (;;) {
        if (now_s() >= deadline) {
            printf("still-writing after %lu writes\n", n);
            rc = 2;
            break;
        }
        int r = write_block(ctx, lun, n % 64, buf, bs);
        if (r == 1) {
            printf("ended after %lu writes: the connection is gone (last libiscsi error: %s)\n", n,
                   iscsi_get_error(ctx));
            rc = 0;
            break;
        }
        if (r == 2) {
            rc = 4;
            break;
        }
        if (++n % 50 == 0)
            printf("writes %lu\n", n);
        struct timespec pace = {0, 2000000}; /* leave the shared CPUs to the target */
        nanosleep(&pace, NULL);
    }
    iscsi_destroy_context(ctx);
    free(buf);
    return rc;
}
