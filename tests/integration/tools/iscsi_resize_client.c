/*
 * iscsi_resize_client.c: a long-lived initiator (libiscsi) for the online
 * resize test. It logs in, reads the capacity, writes a marker in the last
 * block, signals that it is ready (creates READY_FILE) and waits for GO_FILE.
 * Meanwhile the test grows the volume with poolctl. Then, on the SAME
 * session, it expects:
 *   - a unit attention CAPACITY DATA HAS CHANGED (2A/09) on its next command,
 *   - READ CAPACITY (16) reporting the new size,
 *   - the marker in the old last block intact, and I/O beyond the old end.
 *
 * usage: iscsi_resize_client URL READY_FILE GO_FILE EXPECT_BYTES
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static int fail(const char *what, struct iscsi_context *ctx)
{
    fprintf(stderr, "FAIL: %s: %s\n", what, ctx ? iscsi_get_error(ctx) : "");
    return 1;
}

static int capacity(struct iscsi_context *ctx, int lun, uint64_t *bytes, uint32_t *bs)
{
    struct scsi_task *t = iscsi_readcapacity16_sync(ctx, lun);
    if (!t || t->status != SCSI_STATUS_GOOD) {
        if (t)
            scsi_free_scsi_task(t);
        return -1;
    }
    struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(t);
    if (!rc) {
        scsi_free_scsi_task(t);
        return -1;
    }
    *bs = rc->block_length;
    *bytes = (rc->returned_lba + 1) * rc->block_length;
    scsi_free_scsi_task(t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL READY_FILE GO_FILE EXPECT_BYTES\n", argv[0]);
        return 2;
    }
    uint64_t expect = strtoull(argv[4], NULL, 10);
    struct iscsi_context *ctx = iscsi_create_context("iqn.2026-11.org.poold:test-initiator");
    struct iscsi_url *url = ctx ? iscsi_parse_full_url(ctx, argv[1]) : NULL;
    if (!url)
        return fail("parse url", ctx);
    iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_NONE_CRC32C);
    if (iscsi_set_targetname(ctx, url->target) ||
        iscsi_full_connect_sync(ctx, url->portal, url->lun) != 0)
        return fail("login", ctx);
    int lun = url->lun;

    uint64_t before;
    uint32_t bs;
    if (capacity(ctx, lun, &before, &bs) < 0)
        return fail("read capacity before", ctx);
    printf("# capacity before: %" PRIu64 " bytes, block %u\n", before, bs);

    unsigned char block[4096];
    memset(block, 0x5a, bs);
    memcpy(block, "poold-marker", 12);
    uint64_t last = before / bs - 1;
    struct scsi_task *t = iscsi_write16_sync(ctx, lun, last, block, bs, bs, 0, 0, 1, 0, 0);
    if (!t || t->status != SCSI_STATUS_GOOD)
        return fail("write marker", ctx);
    scsi_free_scsi_task(t);

    int fd = open(argv[2], O_CREAT | O_WRONLY, 0644);
    if (fd < 0)
        return fail("ready file", NULL);
    close(fd);
    for (int i = 0; access(argv[3], F_OK) != 0; i++) {
        if (i > 1200)
            return fail("timed out waiting for the go file", NULL);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }

    /* the next command on this session must carry the unit attention */
    t = iscsi_testunitready_sync(ctx, lun);
    if (!t)
        return fail("test unit ready", ctx);
    int ua = t->status == SCSI_STATUS_CHECK_CONDITION &&
             t->sense.key == SCSI_SENSE_UNIT_ATTENTION && t->sense.ascq == 0x2a09;
    printf("# TUR after resize: status %d sense key %d asc/ascq %04x\n", t->status, t->sense.key,
           t->sense.ascq);
    scsi_free_scsi_task(t);
    if (!ua)
        return fail("expected UNIT ATTENTION CAPACITY DATA HAS CHANGED", NULL);

    uint64_t after;
    if (capacity(ctx, lun, &after, &bs) < 0)
        return fail("read capacity after", ctx);
    printf("# capacity after: %" PRIu64 " bytes (expected %" PRIu64 ")\n", after, expect);
    if (after != expect)
        return fail("capacity did not change as expected", NULL);

    t = iscsi_read16_sync(ctx, lun, last, bs, bs, 0, 0, 0, 0, 0);
    if (!t || t->status != SCSI_STATUS_GOOD || t->datain.size != (int)bs ||
        memcmp(t->datain.data, block, bs) != 0)
        return fail("marker in the old last block is not intact", ctx);
    scsi_free_scsi_task(t);
    t = iscsi_write16_sync(ctx, lun, after / bs - 1, block, bs, bs, 0, 0, 0, 0, 0);
    if (!t || t->status != SCSI_STATUS_GOOD)
        return fail("write to the new last block", ctx);
    scsi_free_scsi_task(t);
    iscsi_logout_sync(ctx);
    iscsi_destroy_url(url);
    iscsi_destroy_context(ctx);
    printf("# online resize seen without reconnecting\n");
    return 0;
}
