// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_slowlun_test.c: the target's concurrency with a real initiator
 * (libiscsi, asynchronous API) over 127.0.0.1, against memory LUs:
 *   1. one slow LU (every READ sleeps SLOW_MS) must not stall another LU on
 *      the same connection: with more slow READs queued than there are
 *      workers, a READ and an INQUIRY to the fast LU answer at once, and
 *      several commands of one connection are in flight together;
 *   2. ABORT TASK for a READ still waiting in the worker queue completes
 *      without waiting for the slow I/O running in front of it;
 *   3. iscsi_portal_stop() with slow I/O in flight and queued returns within
 *      a few seconds (queued commands are taken back, running ones finish).
 * Registered as a unit test (suite 'unit'); exit 77 without libiscsi.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iscsi_slowlun_test.h"
#include "pool-error.h"
#include "pool-util.h"
#include "scsi.h"
#include "target.h"

#define TEST_IQN TGT_IQN_PREFIX "slowlun"
#define SLOW_MS  1500
#define NWORKERS 4
#define NSLOW    8 /* more than the workers: some wait in the queue */
#define LU_SIZE  (4u << 20)

typedef struct {
    uint8_t *mem;
    uint64_t size;
    bool slow;
    atomic_int reads_running;
    atomic_int max_running;
} memDisk;

static int mem_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
    memDisk *d = ctx;
    if (off > d->size || len > d->size - off)
        return -EIO;
    if (d->slow) {
        int now = atomic_fetch_add(&d->reads_running, 1) + 1;
        int max = atomic_load(&d->max_running);
        while (now > max && !atomic_compare_exchange_weak(&d->max_running, &max, now))
            ;
        usleep(SLOW_MS * 1000);
        atomic_fetch_sub(&d->reads_running, 1);
    }
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

static const scsiBackingOps mem_ops = {mem_read, mem_write, mem_flush, NULL};

static void mem_release(void *ctx)
{
    memDisk *d = ctx;
    free(d->mem);
    free(d);
}

static scsiLu *make_lu(unsigned idx, bool slow, memDisk **out)
{
    memDisk *d = calloc(1, sizeof(*d));
    scsiLuConfig cfg;

    if (!d)
        return NULL;
    d->size = LU_SIZE;
    d->slow = slow;
    d->mem = aligned_alloc(4096, LU_SIZE);
    if (!d->mem) {
        free(d);
        return NULL;
    }
    memset(d->mem, 0x5a, LU_SIZE);
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.uuid, sizeof(cfg.uuid), "7b2d4e1f-0000-4000-8000-%012x", idx);
    snprintf(cfg.serial, sizeof(cfg.serial), "7b2d4e1f0000%04x", idx);
    cfg.naa[0] = 0x30;
    cfg.naa[7] = (uint8_t)idx;
    snprintf(cfg.vendor, sizeof(cfg.vendor), "POOLD");
    snprintf(cfg.product, sizeof(cfg.product), "slowdisk");
    snprintf(cfg.revision, sizeof(cfg.revision), "0.1");
    cfg.block_size = 512;
    cfg.nblocks = LU_SIZE / 512;
    cfg.max_xfer_blocks = 2048;
    cfg.ops = &mem_ops;
    cfg.ctx = d;
    cfg.release = mem_release;
    scsiLu *lu = scsi_lu_new(&cfg);
    if (!lu) {
        mem_release(d);
        return NULL;
    }
    *out = d;
    return lu;
}

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok: ");                                                                        \
        } else {                                                                                   \
            printf("FAIL: ");                                                                      \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

typedef struct {
    bool done;
    int status;
    uint64_t at_ms;
    uint32_t tmf_response;
} cmdResult;

static void cmd_cb(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
    cmdResult *r = private_data;
    (void)iscsi;
    r->done = true;
    r->status = status;
    r->at_ms = pool_monotonic_ms();
    /* also a task libiscsi cancelled itself (ABORT TASK): ours to free */
    if (command_data)
        scsi_free_scsi_task(command_data);
}

static void tmf_cb(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
    cmdResult *r = private_data;
    (void)iscsi;
    r->done = true;
    r->status = status;
    r->at_ms = pool_monotonic_ms();
    r->tmf_response = command_data ? *(uint32_t *)command_data : 0xff;
}

/* Service the initiator until *flag or the deadline. */
static bool pump_until(struct iscsi_context *iscsi, const bool *flag, uint64_t deadline_ms)
{
    while (!*flag) {
        uint64_t now = pool_monotonic_ms();
        if (now >= deadline_ms)
            return false;
        struct pollfd pfd = {.fd = iscsi_get_fd(iscsi), .events = (short)iscsi_which_events(iscsi)};
        int r = poll(&pfd, 1, 50);
        if (r < 0 && errno != EINTR)
            return false;
        if (iscsi_service(iscsi, r > 0 ? pfd.revents : 0) < 0)
            return false;
    }
    return true;
}

static bool all_done(const cmdResult *r, int n)
{
    for (int i = 0; i < n; i++)
        if (!r[i].done)
            return false;
    return true;
}

static void clear_ua(struct iscsi_context *iscsi, int lun)
{
    for (int i = 0; i < 5; i++) {
        struct scsi_task *t = iscsi_testunitready_sync(iscsi, lun);
        bool good = t && t->status == SCSI_STATUS_GOOD;
        if (t)
            scsi_free_scsi_task(t);
        if (good)
            return;
    }
}

int main(void)
{
    memDisk *slow = NULL, *fast = NULL;
    tgtInventory *inv = tgt_inventory_new();
    char portal[64];

    signal(SIGPIPE, SIG_IGN);
    if (!inv || tgt_target_add(inv, TEST_IQN, 1) < 0) {
        fprintf(stderr, "inventory: %s\n", pool_error_last_message());
        return 1;
    }
    scsiLu *lu0 = make_lu(0, true, &slow), *lu1 = make_lu(1, false, &fast);
    if (!lu0 || !lu1 || tgt_lun_add(inv, TEST_IQN, 0, lu0) < 0 ||
        tgt_lun_add(inv, TEST_IQN, 1, lu1) < 0) {
        fprintf(stderr, "LUs: %s\n", pool_error_last_message());
        return 1;
    }
    unsigned port = 0;
    void *p = slowlun_portal_start(inv, NWORKERS, &port);
    if (!p) {
        fprintf(stderr, "portal: %s\n", pool_error_last_message());
        return 1;
    }
    snprintf(portal, sizeof(portal), "127.0.0.1:%u", port);

    struct iscsi_context *iscsi = iscsi_create_context("iqn.2026-11.org.poold:slowlun-initiator");
    if (!iscsi) {
        fprintf(stderr, "libiscsi context\n");
        return 1;
    }
    iscsi_set_targetname(iscsi, TEST_IQN);
    iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
    iscsi_set_noautoreconnect(iscsi, 1);
    if (iscsi_full_connect_sync(iscsi, portal, 1) < 0) {
        fprintf(stderr, "login: %s\n", iscsi_get_error(iscsi));
        return 1;
    }
    clear_ua(iscsi, 0);
    clear_ua(iscsi, 1);

    /* 1. slow LU against fast LU on one connection */
    cmdResult sr[NSLOW], fr = {0}, ir = {0};
    memset(sr, 0, sizeof(sr));
    uint64_t t0 = pool_monotonic_ms();
    for (int i = 0; i < NSLOW; i++)
        if (!iscsi_read10_task(iscsi, 0, (uint32_t)i * 8, 4096, 512, 0, 0, 0, 0, 0, cmd_cb, &sr[i]))
            CHECK(false, "queue slow READ %d", i);
    if (!iscsi_read10_task(iscsi, 1, 0, 65536, 512, 0, 0, 0, 0, 0, cmd_cb, &fr))
        CHECK(false, "queue fast READ");
    if (!iscsi_inquiry_task(iscsi, 0, 0, 0, 96, cmd_cb, &ir))
        CHECK(false, "queue INQUIRY");
    bool got = pump_until(iscsi, &fr.done, t0 + 10000);
    CHECK(got && fr.status == SCSI_STATUS_GOOD && fr.at_ms - t0 < SLOW_MS / 2,
          "READ on the fast LU answered in %llu ms while %d slow READs are pending",
          (unsigned long long)(fr.at_ms - t0), NSLOW);
    got = pump_until(iscsi, &ir.done, t0 + 10000);
    CHECK(got && ir.status == SCSI_STATUS_GOOD && ir.at_ms - t0 < SLOW_MS / 2,
          "INQUIRY on the slow LU answered in %llu ms", (unsigned long long)(ir.at_ms - t0));
    int pending = 0;
    for (int i = 0; i < NSLOW; i++)
        pending += !sr[i].done;
    CHECK(pending == NSLOW, "no slow READ done yet (%d pending)", pending);

    /* all slow READs complete; several ran at once, never all workers */
    int64_t deadline = (int64_t)t0 + 4 * SLOW_MS * NSLOW;
    while (!all_done(sr, NSLOW) && pool_monotonic_ms() < deadline) {
        bool never = false;
        pump_until(iscsi, &never, pool_monotonic_ms() + 100);
    }
    int good = 0;
    for (int i = 0; i < NSLOW; i++)
        good += sr[i].done && sr[i].status == SCSI_STATUS_GOOD;
    int maxrun = atomic_load(&slow->max_running);
    CHECK(good == NSLOW, "all %d slow READs GOOD (%d)", NSLOW, good);
    CHECK(maxrun >= 2 && maxrun < NWORKERS,
          "slow LU had %d READs running at once (>= 2: queue depth works; < %d workers: the "
          "others stay free)",
          maxrun, NWORKERS);

    /* 2. ABORT TASK of a queued READ */
    memset(sr, 0, sizeof(sr));
    struct scsi_task *tasks[NSLOW];
    t0 = pool_monotonic_ms();
    for (int i = 0; i < NSLOW; i++)
        tasks[i] =
            iscsi_read10_task(iscsi, 0, (uint32_t)i * 8, 4096, 512, 0, 0, 0, 0, 0, cmd_cb, &sr[i]);
    /* let them reach the target */
    {
        bool never = false;
        pump_until(iscsi, &never, pool_monotonic_ms() + 200);
    }
    cmdResult ar = {0};
    if (tasks[NSLOW - 1] &&
        iscsi_task_mgmt_abort_task_async(iscsi, tasks[NSLOW - 1], tmf_cb, &ar) == 0) {
        got = pump_until(iscsi, &ar.done, t0 + 10000);
        CHECK(got && ar.status == SCSI_STATUS_GOOD && ar.tmf_response == 0 &&
                  ar.at_ms - t0 < SLOW_MS,
              "ABORT TASK of a queued READ: response %u in %llu ms", ar.tmf_response,
              (unsigned long long)(ar.at_ms - t0));
    } else {
        CHECK(false, "send ABORT TASK");
    }
    deadline = pool_monotonic_ms() + 4 * SLOW_MS * NSLOW;
    while (!all_done(sr, NSLOW - 1) && pool_monotonic_ms() < deadline) {
        bool never = false;
        pump_until(iscsi, &never, pool_monotonic_ms() + 100);
    }
    good = 0;
    for (int i = 0; i < NSLOW - 1; i++)
        good += sr[i].done && sr[i].status == SCSI_STATUS_GOOD;
    CHECK(good == NSLOW - 1, "the other %d slow READs GOOD (%d)", NSLOW - 1, good);
    /* the session still works */
    clear_ua(iscsi, 1);
    struct scsi_task *tur = iscsi_testunitready_sync(iscsi, 1);
    CHECK(tur && tur->status == SCSI_STATUS_GOOD, "session alive after the abort");
    if (tur)
        scsi_free_scsi_task(tur);

    /* 3. stop with slow I/O running and queued */
    memset(sr, 0, sizeof(sr));
    for (int i = 0; i < NSLOW; i++)
        tasks[i] =
            iscsi_read10_task(iscsi, 0, (uint32_t)i * 8, 4096, 512, 0, 0, 0, 0, 0, cmd_cb, &sr[i]);
    {
        bool never = false;
        pump_until(iscsi, &never, pool_monotonic_ms() + 200);
    }
    t0 = pool_monotonic_ms();
    slowlun_portal_stop(p, 500);
    uint64_t took = pool_monotonic_ms() - t0;
    CHECK(took < 500 + SLOW_MS + 2000, "portal stop with I/O in flight took %llu ms",
          (unsigned long long)took);

    iscsi_destroy_context(iscsi);
    /* commands the stop cut off never completed: libiscsi leaves them */
    for (int i = 0; i < NSLOW; i++)
        if (tasks[i] && !sr[i].done)
            scsi_free_scsi_task(tasks[i]);
    tgt_inventory_free(inv);
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
    return failures ? 1 : 0;
}
