/*
 * lease_check.c: the lease checker (lease_check.h; docs/design.md section
 * 7, "The deadline").
 *
 * The rule. sanlock renews this host's delta lease every 2T (T = the
 * io_timeout this host joined the lockspace with). Other hosts call this
 * host "fail" once they have seen no renewal for 8T, and may take its
 * leases only when it is "dead", 8T + 60 s after they last saw a renewal;
 * they see a renewal only after it was written. So until
 *
 *     last renewal + 8T - margin,   margin = 2T
 *
 * no other host can hold a lease this host held, and every LUN whose
 * writes depend on a lease (export mode rw) may take writes until then,
 * and never after, whatever poold's main thread or sanlock are doing.
 * Using the fail time, not the dead time, keeps the LUNs closed before
 * this host's own sanlock starts killing lease holders at 8T, with 2T to
 * spare for writes already executing and for clock granularity.
 *
 * "Last renewal" is the timestamp of this host's delta lease as written
 * on disk, read there (pool_lockspace_renewal): what the other hosts read
 * too, and the freshest there is (sanlock_get_hosts reports this host's own
 * renewals one or two renewal intervals late, which would leave the LUNs
 * writable for only a second or two after each check with T = 1 s). It is
 * sanlock's monotime() taken before the write: in this host's
 * CLOCK_MONOTONIC seconds, rounded down, never later than the write. The
 * deadline is in CLOCK_BOOTTIME (scsi.h says why), so it is converted with
 * the offset between the two
 * clocks, which grows only across a suspend. A suspend seen between two
 * checks (the offset changed) means a reported renewal might predate it
 * and be converted too late; until sanlock reports a renewal made after
 * the suspend was seen, the deadline is not moved.
 *
 * Renewals must follow each other closely enough. After a gap of more
 * than 8T sanlock fails the lockspace and kills its lease holders, but if
 * it renews again before the other hosts call this host dead (8T + 60 s
 * after they saw its last renewal), none of them can have taken a lease,
 * and a fresh renewal is as good as ever. Past that, another host may hold
 * our leases although sanlock on this host still lists them (it is only
 * killing their holders): so when two renewals seen in a row are more
 * than 8T + 60 s - 4T apart (4T: two renewal intervals, for when the
 * other hosts read the delta leases), a renewal in that lockspace
 * generation extends nothing any more; only a new generation does (the
 * lockspace left and joined again, which drops every lease of the old
 * one). Two renewals seen that far apart may also mean that this checker
 * was blind that long (poold stopped) while sanlock renewed: it cannot
 * tell, and keeps the LUNs closed.
 *
 * Every check runs on this thread, never on poold's main thread, and its
 * sanlock calls run on a second thread (the caller) that the checker waits
 * for at most CALL_TIMEOUT_MS: the sanlock client blocks on its socket for
 * as long as the daemon does not answer. One call is outstanding at a
 * time: while one is stuck, the checker makes no other and the deadlines
 * stay where they are, so the LUNs fence themselves when they pass.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lease_check.h"
#include "pool-error.h"
#include "pool-lease.h"
#include "pool-log.h"

#define CHECK_MS        1000 /* well under the margin (2T >= 2 s) */
#define CALL_TIMEOUT_MS 500
#define FAIL_FACTOR     8 /* sanlock: "fail" after 8T without renewal */
#define MARGIN_FACTOR   2

typedef struct {
    char name[POOL_LEASE_NAME_MAX + 1];
    scsiDeadline *deadline;
    bool ok;                    /* last check moved the deadline on (for logging changes only) */
    uint64_t last_ts, last_gen; /* the renewal seen last, and its generation */
    uint64_t failed_gen;        /* a gap was seen in this generation: no more */
} lcPool;

struct poolLeaseChecker {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stop;
    lcPool *pools; /* [lock] */
    size_t npools;
    pthread_t checker, caller;
    /* the one outstanding sanlock call [lock] */
    uint64_t job_seq, done_seq;
    char job_name[POOL_LEASE_NAME_MAX + 1];
    int job_rv;
    poolLeaseHost job_out;
    char job_err[256];
    bool caller_busy;
    /* suspend detection (checker thread only) */
    int64_t offset_ms;     /* CLOCK_BOOTTIME - CLOCK_MONOTONIC at the last check */
    int64_t floor_mono_ms; /* renewals before this do not count */
};

/* seconds between two renewals seen beyond which another host may have
 * taken our leases (see the top comment) */
static uint64_t gap_limit_s(unsigned io_timeout)
{
    poolLeaseTimeouts to;
    pool_lease_timeouts(io_timeout, &to);
    return to.dead_seconds - 2 * to.renewal_seconds;
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

static void *caller_run(void *arg)
{
    poolLeaseChecker *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->stop && c->job_seq == c->done_seq)
            pthread_cond_wait(&c->cond, &c->lock);
        if (c->stop)
            break;
        uint64_t seq = c->job_seq;
        char name[sizeof(c->job_name)];
        memcpy(name, c->job_name, sizeof(name));
        pthread_mutex_unlock(&c->lock);
        poolLeaseHost h;
        int rv = pool_lockspace_renewal(name, &h);
        pthread_mutex_lock(&c->lock);
        c->job_rv = rv;
        c->job_out = h;
        snprintf(c->job_err, sizeof(c->job_err), "%s", rv < 0 ? pool_error_last_message() : "");
        pool_error_reset();
        c->done_seq = seq;
        c->caller_busy = false;
        pthread_cond_broadcast(&c->cond);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Ask sanlock about ls_name, waiting at most CALL_TIMEOUT_MS. Returns 0
 * with *h, -1 with err (sanlock said no), 1 when it did not answer in
 * time or a call is still stuck. Called with c->lock held. */
static int call_bounded(poolLeaseChecker *c, const char *ls_name, poolLeaseHost *h, char *err,
                        size_t errlen)
{
    if (c->caller_busy)
        return 1;
    snprintf(c->job_name, sizeof(c->job_name), "%s", ls_name);
    uint64_t seq = ++c->job_seq;
    c->caller_busy = true;
    pthread_cond_broadcast(&c->cond);
    struct timespec until = mono_in(CALL_TIMEOUT_MS);
    while (c->done_seq != seq && !c->stop)
        if (pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT)
            break;
    if (c->done_seq != seq)
        return 1;
    *h = c->job_out;
    snprintf(err, errlen, "%s", c->job_err);
    return c->job_rv < 0 ? -1 : 0;
}

/* One lockspace; c->lock held. */
static void check_one(poolLeaseChecker *c, lcPool *p)
{
    int64_t mono0 = clock_ms(CLOCK_MONOTONIC);
    int64_t offset = clock_ms(CLOCK_BOOTTIME) - mono0;
    if (c->offset_ms && (offset - c->offset_ms > 5 || c->offset_ms - offset > 5))
        c->floor_mono_ms = mono0; /* suspended since the last check */
    c->offset_ms = offset;

    poolLeaseHost h;
    char err[256] = "";
    bool was_busy = c->caller_busy;
    int r = call_bounded(c, p->name, &h, err, sizeof(err));
    const char *why = NULL;
    char buf[320];
    if (r == 1) {
        snprintf(buf, sizeof(buf),
                 was_busy ? "a sanlock call is still unanswered"
                          : "sanlock did not answer within %d ms",
                 CALL_TIMEOUT_MS);
        why = buf;
    } else if (r < 0) {
        why = err;
    } else if (h.io_timeout == 0) {
        why = "sanlock reports no io_timeout for this host";
    } else if ((int64_t)h.timestamp * 1000 < c->floor_mono_ms) {
        why = "no renewal since the host resumed from a suspend yet";
    } else if ((int64_t)h.timestamp * 1000 > clock_ms(CLOCK_MONOTONIC) + 1000) {
        why = "sanlock's renewal time is in the future";
    } else if (h.generation == p->failed_gen) {
        why = "renewals stopped for too long in this lockspace generation: rejoin needed";
    } else if (h.generation == p->last_gen && p->last_ts &&
               h.timestamp > p->last_ts + gap_limit_s(h.io_timeout)) {
        p->failed_gen = h.generation;
        why = "renewals stopped for too long in this lockspace generation: rejoin needed";
    }
    if (r == 0 && h.generation != p->last_gen) {
        p->last_gen = h.generation;
        p->last_ts = h.timestamp;
    } else if (r == 0 && h.timestamp > p->last_ts) {
        p->last_ts = h.timestamp;
    }
    if (why) {
        if (p->ok)
            log_warnx("lockspace %s: LUN deadline not extended (%s); rw LUNs stop taking "
                      "writes at %lld ms from now unless this changes",
                      p->name, why,
                      (long long)(scsi_deadline_get(p->deadline) - scsi_deadline_now_ms()));
        p->ok = false;
        return;
    }
    int64_t valid_ms = (int64_t)(FAIL_FACTOR - MARGIN_FACTOR) * h.io_timeout * 1000;
    int64_t until = (int64_t)h.timestamp * 1000 + offset + valid_ms;
    int64_t set_at = clock_ms(CLOCK_BOOTTIME); /* no write can use it before this */
    scsi_deadline_set(p->deadline, until);
    /* tests read this line (lease-fence.sh, lease-takeover.sh) */
    log_debug("lockspace %s: LUN deadline %lld.%03lld s (CLOCK_BOOTTIME), renewal %llu s "
              "(CLOCK_MONOTONIC), set at %lld.%03lld s",
              p->name, (long long)(until / 1000), (long long)(until % 1000),
              (unsigned long long)h.timestamp, (long long)(set_at / 1000),
              (long long)(set_at % 1000));
    if (!p->ok)
        log_info("lockspace %s: host %u renewing (io_timeout %u s): rw LUNs take writes "
                 "until %lld ms after each renewal seen",
                 p->name, h.host_id, h.io_timeout, (long long)valid_ms);
    p->ok = true;
}

static void *checker_run(void *arg)
{
    poolLeaseChecker *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        /* pools may come and go while the lock is dropped in a wait:
         * walk by name, one at a time */
        for (size_t i = 0; i < c->npools && !c->stop; i++) {
            char name[POOL_LEASE_NAME_MAX + 1];
            memcpy(name, c->pools[i].name, sizeof(name));
            scsiDeadline *d = scsi_deadline_ref(c->pools[i].deadline);
            lcPool p = c->pools[i];
            p.deadline = d;
            check_one(c, &p);
            /* the lock was dropped while waiting: find the entry again */
            for (size_t k = 0; k < c->npools; k++) {
                if (strcmp(c->pools[k].name, name) == 0) {
                    p.deadline = c->pools[k].deadline;
                    c->pools[k] = p;
                }
            }
            scsi_deadline_unref(d);
        }
        struct timespec until = mono_in(CHECK_MS);
        while (!c->stop && pthread_cond_timedwait(&c->cond, &c->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

poolLeaseChecker *poold_lease_checker_start(void)
{
    poolLeaseChecker *c = calloc(1, sizeof(*c));
    if (!c) {
        pool_error_oom();
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&c->caller, NULL, caller_run, c);
    if (e == 0) {
        e = pthread_create(&c->checker, NULL, checker_run, c);
        if (e != 0) {
            pthread_mutex_lock(&c->lock);
            c->stop = true;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->lock);
            pthread_join(c->caller, NULL);
        }
    }
    if (e != 0) {
        pool_error_errno(e, "cannot start the lease checker thread");
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    return c;
}

void poold_lease_checker_stop(poolLeaseChecker *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    bool stuck = c->caller_busy;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->checker, NULL);
    if (stuck) {
        /* its sanlock call may never return: leave the thread and what it
         * uses behind (poold is exiting) */
        pthread_detach(c->caller);
        return;
    }
    pthread_join(c->caller, NULL);
    for (size_t i = 0; i < c->npools; i++)
        scsi_deadline_unref(c->pools[i].deadline);
    free(c->pools);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

scsiDeadline *poold_lease_checker_add(poolLeaseChecker *c, const char *ls_name)
{
    pthread_mutex_lock(&c->lock);
    scsiDeadline *d = NULL;
    for (size_t i = 0; i < c->npools && !d; i++)
        if (strcmp(c->pools[i].name, ls_name) == 0)
            d = scsi_deadline_ref(c->pools[i].deadline);
    if (!d) {
        lcPool *n = realloc(c->pools, (c->npools + 1) * sizeof(*n));
        if (n) {
            c->pools = n;
            memset(&n[c->npools], 0, sizeof(*n));
            snprintf(n[c->npools].name, sizeof(n[c->npools].name), "%s", ls_name);
            n[c->npools].deadline = scsi_deadline_new();
            n[c->npools].ok = true; /* so a first failure is logged */
            if (n[c->npools].deadline) {
                d = scsi_deadline_ref(n[c->npools].deadline);
                c->npools++;
            }
        }
        if (!d)
            pool_error_oom();
    }
    /* a new pool is checked now, not after the pause */
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return d;
}

void poold_lease_checker_remove(poolLeaseChecker *c, const char *ls_name)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->npools; i++) {
        if (strcmp(c->pools[i].name, ls_name) == 0) {
            scsi_deadline_unref(c->pools[i].deadline);
            c->pools[i] = c->pools[--c->npools];
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
}
