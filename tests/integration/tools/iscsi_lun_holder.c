/*
 * iscsi_lun_holder.c: an initiator (libiscsi, synchronous API) that keeps a
 * session using one LUN, for lun-identity.sh (issue 10 item 5).
 *
 *   iscsi_lun_holder iscsi://HOST:PORT/IQN/LUN INITIATOR_IQN READY_FILE GO_FILE
 *
 * Logs in as INITIATOR_IQN, reads LBA 0 of LUN (so the target counts the
 * session as using it), creates READY_FILE and waits (up to 120 s) for
 * GO_FILE. Meanwhile the test deletes the volume (--force ends this
 * session) and creates another. Then it writes one block at LBA 0 of the
 * same LUN number, as an initiator that lost its session would: first on
 * the old session, and when that fails at the transport (the session was
 * ended), on a new login.
 * Unit attentions are retried. Prints the answer to the write: "ok" (taken:
 * the number now addresses some volume), "sense KEY/ASC/ASCQ" (hex, e.g.
 * "sense 5/25/00", LOGICAL UNIT NOT SUPPORTED) or "status 0xNN". Exit 0
 * for any answer; 1 for usage errors, a failed first login or read, or no
 * answer at all (message on stderr).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define UA_RETRIES 8
#define BLOCK      512

static int die(struct iscsi_context *ctx, const char *what)
{
    fprintf(stderr, "iscsi_lun_holder: %s: %s\n", what, ctx ? iscsi_get_error(ctx) : "");
    return 1;
}

static struct iscsi_context *login(const char *url_s, const char *initiator, int *lun)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator);
    if (!ctx)
        return NULL;
    struct iscsi_url *url = iscsi_parse_full_url(ctx, url_s);
    if (!url) {
        die(ctx, "bad URL");
        iscsi_destroy_context(ctx);
        return NULL;
    }
    *lun = url->lun;
    /* a lost session is noticed as a transport error, then logged in again
     * below: libiscsi's own reconnect would retry for ever; and no command
     * waits longer than 10 s */
    iscsi_set_noautoreconnect(ctx, 1);
    iscsi_set_timeout(ctx, 10);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    /* connect and log in only: no TEST UNIT READY of the LUN, which may be
     * gone by now */
    if (iscsi_set_targetname(ctx, url->target) || iscsi_connect_sync(ctx, url->portal) != 0 ||
        iscsi_login_sync(ctx) != 0) {
        die(ctx, "login");
        iscsi_destroy_url(url);
        iscsi_destroy_context(ctx);
        return NULL;
    }
    iscsi_destroy_url(url);
    return ctx;
}

/* WRITE(10) (or READ(10) when buf is NULL) of LBA 0, unit attentions
 * retried; NULL when the transport failed. */
static struct scsi_task *io(struct iscsi_context *ctx, int lun, unsigned char *buf)
{
    for (int i = 0;; i++) {
        struct scsi_task *t =
            buf ? iscsi_write10_sync(ctx, lun, 0, buf, BLOCK, BLOCK, 0, 0, 0, 0, 0)
                : iscsi_read10_sync(ctx, lun, 0, BLOCK, BLOCK, 0, 0, 0, 0, 0);
        if (!t)
            return NULL;
        if (t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_CANCELLED ||
            t->status == SCSI_STATUS_TIMEOUT) {
            /* libiscsi's codes for "no answer": the connection went */
            scsi_free_scsi_task(t);
            return NULL;
        }
        if (i < UA_RETRIES && t->status == SCSI_STATUS_CHECK_CONDITION &&
            t->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
            scsi_free_scsi_task(t);
            continue;
        }
        return t;
    }
}

static void print_answer(const struct scsi_task *t)
{
    if (t->status == SCSI_STATUS_GOOD)
        printf("ok\n");
    else if (t->status == SCSI_STATUS_CHECK_CONDITION)
        printf("sense %x/%02x/%02x\n", (unsigned)t->sense.key, (t->sense.ascq >> 8) & 0xff,
               t->sense.ascq & 0xff);
    else
        printf("status 0x%02x\n", (unsigned)t->status);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s iscsi://HOST:PORT/IQN/LUN INITIATOR_IQN READY_FILE GO_FILE\n",
                argv[0]);
        return 1;
    }
    int lun;
    struct iscsi_context *ctx = login(argv[1], argv[2], &lun);
    if (!ctx)
        return 1;
    struct scsi_task *t = io(ctx, lun, NULL);
    if (!t || t->status != SCSI_STATUS_GOOD)
        return die(ctx, "first READ(10)");
    scsi_free_scsi_task(t);

    FILE *f = fopen(argv[3], "w");
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "iscsi_lun_holder: cannot create %s\n", argv[3]);
        return 1;
    }
    struct timespec step = {0, 50 * 1000000L};
    for (int i = 0; access(argv[4], F_OK) != 0; i++) {
        if (i > 120 * 20) {
            fprintf(stderr, "iscsi_lun_holder: %s never appeared\n", argv[4]);
            return 1;
        }
        nanosleep(&step, NULL);
    }

    unsigned char buf[BLOCK];
    memset(buf, 0, sizeof(buf));
    snprintf((char *)buf, sizeof(buf), "iscsi_lun_holder pid %d: written after the delete",
             (int)getpid());
    t = io(ctx, lun, buf);
    if (!t) {
        fprintf(stderr, "iscsi_lun_holder: old session: %s; logging in again\n",
                iscsi_get_error(ctx));
        iscsi_destroy_context(ctx);
        if (!(ctx = login(argv[1], argv[2], &lun)))
            return 1;
        if (!(t = io(ctx, lun, buf)))
            return die(ctx, "WRITE(10) after a new login");
    }
    print_answer(t);
    fflush(stdout);
    scsi_free_scsi_task(t);
    iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
    return 0;
}
