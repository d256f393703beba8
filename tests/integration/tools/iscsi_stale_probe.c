/*
 * iscsi_stale_probe.c: an initiator (libiscsi, synchronous API) on one
 * host's target that stays connected to a volume's LUN while another host
 * deletes the volume and gives its extents to a new one, for
 * freed-extents.sh (issue 10 item 4).
 *
 *   iscsi_stale_probe iscsi://HOST:PORT/IQN/LUN INITIATOR_IQN READY_FILE GO_FILE MARKER
 *
 * Logs in as INITIATOR_IQN and writes LBA 0 of LUN until that succeeds
 * (the host's target learns of the volume and its export mode at its next
 * refresh: up to 60 s; so READY_FILE appears just after one), then
 * creates READY_FILE and waits (up to 120 s) for GO_FILE. Then, on the same
 * session, it writes 16 blocks of "stale-writer" at LBA 0 and reads 1 MiB
 * from LBA 0, and prints two lines:
 *   write ANSWER
 *   read ANSWER marker=0|1
 * ANSWER is "ok", "sense KEY/ASC/ASCQ" (hex) or "status 0xNN", or "gone"
 * when the session broke; marker=1 when the data read contains MARKER
 * (what the test wrote into the new volume). Unit attentions are retried.
 * Exit 0 for any answer, 1 for usage errors or no first write.
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
#define WRITE_BLKS 16
#define READ_BYTES (1024 * 1024)

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct iscsi_context *login(const char *url_s, const char *initiator, int *lun)
{
    struct iscsi_context *ctx = iscsi_create_context(initiator);
    if (!ctx)
        return NULL;
    struct iscsi_url *url = iscsi_parse_full_url(ctx, url_s);
    if (!url) {
        fprintf(stderr, "iscsi_stale_probe: bad URL: %s\n", iscsi_get_error(ctx));
        iscsi_destroy_context(ctx);
        return NULL;
    }
    *lun = url->lun;
    iscsi_set_noautoreconnect(ctx, 1);
    iscsi_set_timeout(ctx, 10);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    if (iscsi_set_targetname(ctx, url->target) || iscsi_connect_sync(ctx, url->portal) != 0 ||
        iscsi_login_sync(ctx) != 0) {
        fprintf(stderr, "iscsi_stale_probe: login: %s\n", iscsi_get_error(ctx));
        iscsi_destroy_url(url);
        iscsi_destroy_context(ctx);
        return NULL;
    }
    iscsi_destroy_url(url);
    return ctx;
}

/* WRITE(10) of buf (len bytes) or READ(10) of len bytes at LBA 0, unit
 * attentions retried; NULL when the transport failed. */
static struct scsi_task *io(struct iscsi_context *ctx, int lun, unsigned char *buf, uint32_t len)
{
    for (int i = 0;; i++) {
        struct scsi_task *t = buf ? iscsi_write10_sync(ctx, lun, 0, buf, len, BLOCK, 0, 0, 0, 0, 0)
                                  : iscsi_read10_sync(ctx, lun, 0, len, BLOCK, 0, 0, 0, 0, 0);
        if (!t)
            return NULL;
        if (t->status == SCSI_STATUS_ERROR || t->status == SCSI_STATUS_CANCELLED ||
            t->status == SCSI_STATUS_TIMEOUT) {
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

static void print_answer(const char *what, const struct scsi_task *t)
{
    if (!t)
        printf("%s gone", what);
    else if (t->status == SCSI_STATUS_GOOD)
        printf("%s ok", what);
    else if (t->status == SCSI_STATUS_CHECK_CONDITION)
        printf("%s sense %x/%02x/%02x", what, (unsigned)t->sense.key, (t->sense.ascq >> 8) & 0xff,
               t->sense.ascq & 0xff);
    else
        printf("%s status 0x%02x", what, (unsigned)t->status);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr,
                "usage: %s iscsi://HOST:PORT/IQN/LUN INITIATOR_IQN READY_FILE GO_FILE MARKER\n",
                argv[0]);
        return 1;
    }
    int lun;
    struct iscsi_context *ctx = NULL;
    struct scsi_task *t = NULL;
    for (int i = 0;; i++) {
        if (!ctx)
            ctx = login(argv[1], argv[2], &lun);
        if (ctx) {
            static unsigned char first[BLOCK] = "iscsi_stale_probe: ready";
            t = io(ctx, lun, first, BLOCK);
            if (t && t->status == SCSI_STATUS_GOOD)
                break;
            if (t)
                scsi_free_scsi_task(t);
            else {
                iscsi_destroy_context(ctx);
                ctx = NULL;
            }
        }
        if (i > 60 * 5) {
            fprintf(stderr, "iscsi_stale_probe: LBA 0 of LUN never writable\n");
            return 1;
        }
        nap_ms(200);
    }
    scsi_free_scsi_task(t);

    FILE *f = fopen(argv[3], "w");
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "iscsi_stale_probe: cannot create %s\n", argv[3]);
        return 1;
    }
    for (int i = 0; access(argv[4], F_OK) != 0; i++) {
        if (i > 120 * 20) {
            fprintf(stderr, "iscsi_stale_probe: %s never appeared\n", argv[4]);
            return 1;
        }
        nap_ms(50);
    }

    static unsigned char buf[WRITE_BLKS * BLOCK];
    for (size_t i = 0; i < sizeof(buf); i += 16)
        memcpy(buf + i, "stale-writer....", 16);
    t = io(ctx, lun, buf, sizeof(buf));
    print_answer("write", t);
    printf("\n");
    if (t)
        scsi_free_scsi_task(t);
    t = t ? io(ctx, lun, NULL, READ_BYTES) : NULL;
    print_answer("read", t);
    int marker = 0;
    if (t && t->status == SCSI_STATUS_GOOD && t->datain.data)
        marker = memmem(t->datain.data, (size_t)t->datain.size, argv[5], strlen(argv[5])) != NULL;
    printf(" marker=%d\n", marker);
    fflush(stdout);
    if (t)
        scsi_free_scsi_task(t);
    iscsi_logout_sync(ctx);
    iscsi_destroy_context(ctx);
    return 0;
}
