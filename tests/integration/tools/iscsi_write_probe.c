/*
 * iscsi_write_probe.c: one look at whether a LUN of the embedded target takes
 * writes (libiscsi, synchronous API). Used by lease-write.sh.
 *
 *   iscsi_write_probe iscsi://HOST:PORT/IQN/LUN write
 *       WRITE(16) of one block at LBA 0 (a pattern unique to this run), then
 *       READ(16) of it and a compare. Prints "ok" when the write was taken
 *       and reads back, otherwise "sense KEY/ASC/ASCQ" (hex, e.g.
 *       "sense 7/27/00" for DATA PROTECT, WRITE PROTECTED). A refused write
 *       is also checked not to have reached the disk: if the block reads back
 *       as the pattern anyway, " data-changed" is appended.
 *   ... read   READ(16) of LBA 0: "ok" or "sense KEY/ASC/ASCQ".
 *   ... wp     MODE SENSE(10), all pages: "wp=1" or "wp=0" (WP is bit 7 of
 *              the device-specific parameter, byte 3 of the header).
 *
 * A command answered with something other than GOOD or CHECK CONDITION
 * prints "status 0xNN". All of these exit 0: they are answers. Exit 1 only
 * for usage errors, a failed login or a lost connection (message on stderr).
 * Unit attentions (a fresh session sees POWER ON/RESET first) are retried.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define UA_RETRIES 8

enum probe_op { OP_READCAP, OP_WRITE, OP_READ, OP_MODESENSE };

struct probe {
    struct iscsi_context *ctx;
    int lun;
    uint32_t bs;
};

static int die(struct probe *p, const char *what)
{
    fprintf(stderr, "iscsi_write_probe: %s: %s\n", what,
            p && p->ctx ? iscsi_get_error(p->ctx) : "");
    return 1;
}

static struct scsi_task *issue(struct probe *p, enum probe_op op, unsigned char *buf)
{
    switch (op) {
    case OP_READCAP:
        return iscsi_readcapacity16_sync(p->ctx, p->lun);
    case OP_WRITE:
        return iscsi_write16_sync(p->ctx, p->lun, 0, buf, p->bs, (int)p->bs, 0, 0, 1, 0, 0);
    case OP_READ:
        return iscsi_read16_sync(p->ctx, p->lun, 0, p->bs, (int)p->bs, 0, 0, 0, 0, 0);
    case OP_MODESENSE:
        return iscsi_modesense10_sync(p->ctx, p->lun, 0, 1, SCSI_MODESENSE_PC_CURRENT,
                                      SCSI_MODEPAGE_RETURN_ALL_PAGES, 0, 255);
    }
    return NULL;
}

/* Run one command, retrying while it reports a unit attention. NULL: the
 * transport failed (the caller reports iscsi_get_error). */
static struct scsi_task *run(struct probe *p, enum probe_op op, unsigned char *buf)
{
    for (int i = 0;; i++) {
        struct scsi_task *t = issue(p, op, buf);
        if (!t)
            return NULL;
        if (i < UA_RETRIES && t->status == SCSI_STATUS_CHECK_CONDITION &&
            t->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
            scsi_free_scsi_task(t);
            continue;
        }
        return t;
    }
}

/* "sense K/AA/QQ" or "status 0xNN" for a task that did not end GOOD. */
static void print_not_good(const struct scsi_task *t, const char *suffix)
{
    if (t->status == SCSI_STATUS_CHECK_CONDITION)
        printf("sense %x/%02x/%02x%s\n", (unsigned)t->sense.key, (t->sense.ascq >> 8) & 0xff,
               t->sense.ascq & 0xff, suffix);
    else
        printf("status 0x%02x%s\n", (unsigned)t->status, suffix);
}

/* Read LBA 0 into out (p->bs bytes). 1: read, 0: not GOOD (task kept in
 * *failed for the caller to print and free), -1: transport failure. */
static int read_block(struct probe *p, unsigned char *out, struct scsi_task **failed)
{
    struct scsi_task *t = run(p, OP_READ, NULL);
    if (!t)
        return -1;
    if (t->status != SCSI_STATUS_GOOD) {
        *failed = t;
        return 0;
    }
    if (t->datain.size != (int)p->bs) {
        fprintf(stderr, "iscsi_write_probe: READ(16) returned %d bytes, expected %u\n",
                t->datain.size, p->bs);
        scsi_free_scsi_task(t);
        return -1;
    }
    memcpy(out, t->datain.data, p->bs);
    scsi_free_scsi_task(t);
    return 1;
}

static int do_write(struct probe *p)
{
    unsigned char *pat = malloc(p->bs), *back = malloc(p->bs);
    if (!pat || !back) {
        fprintf(stderr, "iscsi_write_probe: out of memory\n");
        return 1;
    }
    /* unique per run, so a stale block never passes for this write */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t x = (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 7) ^ ((uint32_t)getpid() << 16);
    int len = snprintf((char *)pat, p->bs, "iscsi_write_probe %ld.%09ld pid %d ", (long)ts.tv_sec,
                       ts.tv_nsec, (int)getpid());
    for (uint32_t i = (uint32_t)(len > 0 ? len : 0); i < p->bs; i++) {
        x = x * 1103515245u + 12345u;
        pat[i] = (unsigned char)(x >> 16);
    }

    int rc = 0;
    struct scsi_task *failed = NULL;
    struct scsi_task *t = run(p, OP_WRITE, pat);
    if (!t) {
        rc = die(p, "WRITE(16)");
    } else if (t->status != SCSI_STATUS_GOOD) {
        /* refused: the block must not hold our pattern */
        int r = read_block(p, back, &failed);
        if (r < 0)
            rc = die(p, "READ(16) after a refused write");
        else
            print_not_good(t, r == 1 && memcmp(back, pat, p->bs) == 0 ? " data-changed" : "");
    } else {
        int r = read_block(p, back, &failed);
        if (r < 0)
            rc = die(p, "READ(16) after the write");
        else if (r == 0)
            print_not_good(failed, " (read back)");
        else if (memcmp(back, pat, p->bs) != 0)
            printf("mismatch: the block read back is not the one written\n");
        else
            printf("ok\n");
    }
    if (t)
        scsi_free_scsi_task(t);
    if (failed)
        scsi_free_scsi_task(failed);
    free(pat);
    free(back);
    return rc;
}

static int do_read(struct probe *p)
{
    unsigned char *buf = malloc(p->bs);
    struct scsi_task *failed = NULL;
    if (!buf) {
        fprintf(stderr, "iscsi_write_probe: out of memory\n");
        return 1;
    }
    int r = read_block(p, buf, &failed);
    free(buf);
    if (r < 0)
        return die(p, "READ(16)");
    if (r == 0) {
        print_not_good(failed, "");
        scsi_free_scsi_task(failed);
    } else {
        printf("ok\n");
    }
    return 0;
}

static int do_wp(struct probe *p)
{
    struct scsi_task *t = run(p, OP_MODESENSE, NULL);
    if (!t)
        return die(p, "MODE SENSE(10)");
    if (t->status != SCSI_STATUS_GOOD) {
        print_not_good(t, "");
    } else if (t->datain.size < 8) {
        fprintf(stderr, "iscsi_write_probe: MODE SENSE(10) returned %d bytes, short header\n",
                t->datain.size);
        scsi_free_scsi_task(t);
        return 1;
    } else {
        printf("wp=%d\n", (t->datain.data[3] & 0x80) ? 1 : 0);
    }
    scsi_free_scsi_task(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "write") != 0 && strcmp(argv[2], "read") != 0 &&
                      strcmp(argv[2], "wp") != 0)) {
        fprintf(stderr, "usage: %s iscsi://HOST:PORT/IQN/LUN write|read|wp\n", argv[0]);
        return 1;
    }
    struct probe p = {0};
    p.ctx = iscsi_create_context("iqn.2026-11.org.poold:write-probe");
    if (!p.ctx) {
        fprintf(stderr, "iscsi_write_probe: cannot create an iSCSI context\n");
        return 1;
    }
    struct iscsi_url *url = iscsi_parse_full_url(p.ctx, argv[1]);
    if (!url)
        return die(&p, "bad URL");
    iscsi_set_session_type(p.ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(p.ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    if (iscsi_set_targetname(p.ctx, url->target) ||
        iscsi_full_connect_sync(p.ctx, url->portal, url->lun) != 0)
        return die(&p, "login");
    p.lun = url->lun;

    struct scsi_task *t = run(&p, OP_READCAP, NULL);
    if (!t)
        return die(&p, "READ CAPACITY(16)");
    struct scsi_readcapacity16 *cap =
        t->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(t) : NULL;
    if (!cap || cap->block_length == 0 || cap->block_length > 65536) {
        fprintf(stderr, "iscsi_write_probe: READ CAPACITY(16) failed (status %d, sense %x/%04x)\n",
                t->status, (unsigned)t->sense.key, (unsigned)t->sense.ascq);
        scsi_free_scsi_task(t);
        return 1;
    }
    p.bs = cap->block_length;
    scsi_free_scsi_task(t);

    int rc;
    if (strcmp(argv[2], "write") == 0)
        rc = do_write(&p);
    else if (strcmp(argv[2], "read") == 0)
        rc = do_read(&p);
    else
        rc = do_wp(&p);
    fflush(stdout);
    iscsi_logout_sync(p.ctx);
    iscsi_destroy_url(url);
    iscsi_destroy_context(p.ctx);
    return rc;
}
