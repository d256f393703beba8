/*
 * iscsi_seq_writer.c: a stream of numbered writes through one LUN of the
 * embedded target, and a read-back of what landed (libiscsi, synchronous
 * API). Used by lease-fence.sh and lease-takeover.sh.
 *
 *   iscsi_seq_writer iscsi://HOST:PORT/IQN/LUN write SECONDS INTERVAL_MS TAG [STOPFILE]
 *       For SECONDS, or until STOPFILE exists (checked between writes, so
 *       the last write is always printed), every INTERVAL_MS: WRITE(16) of one block at LBA
 *       seq % 256 holding "poold-seq TAG SEQ" (seq from 1). One line per
 *       write, printed when it completed:
 *         "<CLOCK_BOOTTIME s.us> <seq> ok" or "... sense K/AA/QQ" or
 *         "... status 0xNN"; a lost connection ends the stream with
 *         "... <seq> lost".
 *   ... verify TAG
 *       READ(16) of LBAs 0..255: prints "max <seq>", the highest sequence
 *       number of TAG found on them (0 if none).
 *   ... count TAG
 *       The same read; prints "blocks <n> max <seq>": how many of the 256
 *       blocks hold a write of TAG, and the highest sequence number.
 *
 * Exit 0 with answers; 1 for usage errors or a failed login.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define NBLOCKS 256

/* CLOCK_BOOTTIME: the clock of the target's deadline, and of /proc/uptime
 * (which the test reads) */
static double now_boot(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void result(double t, uint64_t seq, const struct scsi_task *task)
{
    if (task->status == SCSI_STATUS_GOOD)
        printf("%.6f %" PRIu64 " ok\n", t, seq);
    else if (task->status == SCSI_STATUS_CHECK_CONDITION)
        printf("%.6f %" PRIu64 " sense %x/%02x/%02x\n", t, seq, (unsigned)task->sense.key,
               (task->sense.ascq >> 8) & 0xff, task->sense.ascq & 0xff);
    else
        printf("%.6f %" PRIu64 " status 0x%02x\n", t, seq, (unsigned)task->status);
    fflush(stdout);
}

static int do_write(struct iscsi_context *ctx, int lun, uint32_t bs, double seconds, int interval,
                    const char *tag, const char *stopfile)
{
    unsigned char *buf = calloc(1, bs);
    if (!buf)
        return 1;
    double end = now_mono() + seconds;
    for (uint64_t seq = 1; now_mono() < end && !(stopfile && access(stopfile, F_OK) == 0); seq++) {
        memset(buf, 0, bs);
        snprintf((char *)buf, bs, "poold-seq %s %" PRIu64 " ", tag, seq);
        struct scsi_task *t =
            iscsi_write16_sync(ctx, lun, seq % NBLOCKS, buf, bs, (int)bs, 0, 0, 0, 0, 0);
        double done = now_boot();
        if (!t) {
            printf("%.6f %" PRIu64 " lost\n", done, seq);
            break;
        }
        result(done, seq, t);
        scsi_free_scsi_task(t);
        struct timespec ts = {0, (long)interval * 1000000};
        nanosleep(&ts, NULL);
    }
    free(buf);
    return 0;
}

static int do_verify(struct iscsi_context *ctx, int lun, uint32_t bs, const char *tag, bool count)
{
    unsigned blocks = 0;
    char prefix[128];
    int plen = snprintf(prefix, sizeof(prefix), "poold-seq %s ", tag);
    uint64_t max = 0;
    for (uint64_t lba = 0; lba < NBLOCKS; lba++) {
        struct scsi_task *t = iscsi_read16_sync(ctx, lun, lba, bs, (int)bs, 0, 0, 0, 0, 0);
        if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != (int)bs) {
            fprintf(stderr, "iscsi_seq_writer: READ(16) of LBA %" PRIu64 " failed: %s\n", lba,
                    t ? "not GOOD" : iscsi_get_error(ctx));
            if (t)
                scsi_free_scsi_task(t);
            return 1;
        }
        const char *d = (const char *)t->datain.data;
        if (memcmp(d, prefix, (size_t)plen) == 0) {
            uint64_t s = strtoull(d + plen, NULL, 10);
            blocks++;
            if (s > max)
                max = s;
        }
        scsi_free_scsi_task(t);
    }
    if (count)
        printf("blocks %u max %" PRIu64 "\n", blocks, max);
    else
        printf("max %" PRIu64 "\n", max);
    return 0;
}

int main(int argc, char **argv)
{
    bool wr = (argc == 6 || argc == 7) && strcmp(argv[2], "write") == 0;
    bool cnt = argc == 4 && strcmp(argv[2], "count") == 0;
    bool ver = (argc == 4 && strcmp(argv[2], "verify") == 0) || cnt;
    if (!wr && !ver) {
        fprintf(stderr,
                "usage: %s URL write SECONDS INTERVAL_MS TAG [STOPFILE]\n"
                "       %s URL verify|count TAG\n",
                argv[0], argv[0]);
        return 1;
    }
    struct iscsi_context *ctx = iscsi_create_context("iqn.2026-11.org.poold:seq-writer");
    if (!ctx)
        return 1;
    struct iscsi_url *url = iscsi_parse_full_url(ctx, argv[1]);
    if (!url) {
        fprintf(stderr, "iscsi_seq_writer: bad URL: %s\n", iscsi_get_error(ctx));
        return 1;
    }
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    if (iscsi_set_targetname(ctx, url->target) ||
        iscsi_full_connect_sync(ctx, url->portal, url->lun) != 0) {
        fprintf(stderr, "iscsi_seq_writer: login: %s\n", iscsi_get_error(ctx));
        return 1;
    }
    int lun = url->lun;
    /* the first commands of a fresh session may meet unit attentions */
    struct scsi_task *t = NULL;
    for (int i = 0; i < 8; i++) {
        if (t)
            scsi_free_scsi_task(t);
        t = iscsi_readcapacity16_sync(ctx, lun);
        if (!t || t->status != SCSI_STATUS_CHECK_CONDITION ||
            t->sense.key != SCSI_SENSE_UNIT_ATTENTION)
            break;
    }
    struct scsi_readcapacity16 *cap =
        t && t->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(t) : NULL;
    if (!cap || cap->block_length == 0 || cap->block_length > 65536 ||
        cap->returned_lba + 1 < NBLOCKS) {
        fprintf(stderr, "iscsi_seq_writer: READ CAPACITY(16) failed or LUN too small\n");
        return 1;
    }
    uint32_t bs = cap->block_length;
    scsi_free_scsi_task(t);
    int rc = wr ? do_write(ctx, lun, bs, atof(argv[3]), atoi(argv[4]), argv[5],
                           argc == 7 ? argv[6] : NULL)
                : do_verify(ctx, lun, bs, argv[3], cnt);
    iscsi_logout_sync(ctx);
    iscsi_destroy_url(url);
    iscsi_destroy_context(ctx);
    return rc;
}
