// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_worker.c: the per-portal pool of threads that execute SCSI commands
 * touching the backing store (READ, WRITE, SYNCHRONIZE CACHE, ...), so that a
 * connection keeps reading PDUs while its commands run and several commands
 * of one connection (queue depth) are in flight at once.
 *
 * Who owns what:
 *   - A task is handed over by its connection's reader thread in state
 *     QUEUED (iscsi_conn.c sets the state under the connection's task_lock,
 *     then calls iscsi_workers_submit()). From then on the worker that
 *     dequeues it owns it until iscsi_task_run() has released it; the reader
 *     never touches its fields again except state (atomic), itt and lun.
 *   - The queue (a FIFO across every connection of the portal, linked
 *     through iscsiTask.qnext) and the running[] table are guarded by
 *     w->lock. Nothing else is.
 *
 * Fairness between LUs: a worker takes the oldest queued task whose LU has
 * fewer than lu_cap tasks running; lu_cap < nthreads, so however slow one
 * LU is, other LUs always find a free worker. Tasks of the same LU can pass
 * each other (SIMPLE task attribute: the initiator orders what it needs).
 *
 * Which commands come here is decided at the end of this file
 * (iscsi_run_inline(): media commands, except small ones to a LU the
 * connection measured to be fast).
 *
 * Lock order: a connection's task_lock may be held while taking w->lock
 * (submit, cancel); w->lock is never held while taking any other lock, and
 * no lock is held while a task runs.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi.h"
#include "pool-log.h"

struct iscsiWorkers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    iscsiTask *head, *tail; /* queued, oldest first */
    unsigned nthreads;
    unsigned lu_cap;        /* most workers one LU may occupy */
    const scsiLu **running; /* running[i]: LU worker i serves, or NULL */
    unsigned started;
    bool stop;
    pthread_t *threads;
};

typedef struct {
    iscsiWorkers *w;
    unsigned idx;
} workerArg;

static unsigned running_on(const iscsiWorkers *w, const scsiLu *lu)
{
    unsigned n = 0;
    for (unsigned i = 0; i < w->nthreads; i++)
        if (w->running[i] == lu)
            n++;
    return n;
}

/* Under w->lock: unlink and return the oldest eligible task, or NULL. */
static iscsiTask *take_eligible(iscsiWorkers *w)
{
    iscsiTask *prev = NULL;
    for (iscsiTask *t = w->head; t; prev = t, t = t->qnext) {
        if (running_on(w, t->lu) >= w->lu_cap)
            continue;
        if (prev)
            prev->qnext = t->qnext;
        else
            w->head = t->qnext;
        if (w->tail == t)
            w->tail = prev;
        t->qnext = NULL;
        return t;
    }
    return NULL;
}

static void *worker_main(void *arg)
{
    workerArg *a = arg;
    iscsiWorkers *w = a->w;
    unsigned idx = a->idx;

    free(a);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        iscsiTask *t = take_eligible(w);
        if (!t) {
            if (w->stop)
                break;
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        w->running[idx] = t->lu;
        /* more work may be eligible for an idle worker */
        if (w->head)
            pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        iscsi_task_run(t); /* t is released (or handed back free) when this returns */
        pthread_mutex_lock(&w->lock);
        w->running[idx] = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

iscsiWorkers *iscsi_workers_start(unsigned nthreads)
{
    iscsiWorkers *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    if (nthreads < 2)
        nthreads = 2;
    w->nthreads = nthreads;
    /* leave a quarter of the threads (at least one) to the other LUs */
    w->lu_cap = nthreads - (nthreads / 4 ? nthreads / 4 : 1);
    w->running = calloc(nthreads, sizeof(*w->running));
    w->threads = calloc(nthreads, sizeof(*w->threads));
    if (!w->running || !w->threads) {
        free(w->running);
        free(w->threads);
        free(w);
        return NULL;
    }
    iscsi_mutex_init_hot(&w->lock);
    pthread_cond_init(&w->cond, NULL);
    for (unsigned i = 0; i < nthreads; i++) {
        workerArg *a = malloc(sizeof(*a));
        if (!a)
            break;
        a->w = w;
        a->idx = i;
        if (pthread_create(&w->threads[i], NULL, worker_main, a) != 0) {
            free(a);
            break;
        }
        w->started++;
    }
    if (w->started < 2) {
        iscsi_workers_stop(w);
        return NULL;
    }
    if (w->started < nthreads) {
        /* fewer threads than asked: keep the cap below what runs */
        pthread_mutex_lock(&w->lock);
        w->lu_cap = w->started - 1;
        pthread_mutex_unlock(&w->lock);
    }
    return w;
}

void iscsi_workers_submit(iscsiWorkers *w, iscsiTask *t)
{
    pthread_mutex_lock(&w->lock);
    t->qnext = NULL;
    if (w->tail)
        w->tail->qnext = t;
    else
        w->head = t;
    w->tail = t;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

size_t iscsi_workers_cancel(iscsiWorkers *w, const iscsiConn *c, bool all, uint64_t lun,
                            const iscsiTask *only, iscsiTask **out)
{
    size_t n = 0;
    iscsiTask *prev = NULL, *t, *next;

    *out = NULL;
    pthread_mutex_lock(&w->lock);
    for (t = w->head; t; t = next) {
        next = t->qnext;
        bool match = t->conn == c && (only ? t == only : (all || t->lun == lun));
        if (!match) {
            prev = t;
            continue;
        }
        if (prev)
            prev->qnext = next;
        else
            w->head = next;
        if (w->tail == t)
            w->tail = prev;
        t->qnext = *out;
        *out = t;
        n++;
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

void iscsi_workers_stop(iscsiWorkers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->started; i++)
        pthread_join(w->threads[i], NULL);
    if (w->head)
        log_warnx("iscsi: worker pool stopped with tasks queued");
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->running);
    free(w->threads);
    free(w);
}

/* Commands that reach the backing store (and may wait for it): these go to
 * the worker pool. Everything else is answered from LU state by the reader,
 * in microseconds. */
bool iscsi_media_command(uint8_t op)
{
    switch (op) {
    case 0x08: /* READ 6 */
    case 0x0a: /* WRITE 6 */
    case 0x28: /* READ 10 */
    case 0x2a: /* WRITE 10 */
    case 0x2e: /* WRITE AND VERIFY 10 */
    case 0x2f: /* VERIFY 10 */
    case 0x34: /* PRE-FETCH 10 */
    case 0x35: /* SYNCHRONIZE CACHE 10 */
    case 0x41: /* WRITE SAME 10 */
    case 0x42: /* UNMAP */
    case 0x88: /* READ 16 */
    case 0x89: /* COMPARE AND WRITE */
    case 0x8a: /* WRITE 16 */
    case 0x8e: /* WRITE AND VERIFY 16 */
    case 0x8f: /* VERIFY 16 */
    case 0x90: /* PRE-FETCH 16 */
    case 0x91: /* SYNCHRONIZE CACHE 16 */
    case 0x93: /* WRITE SAME 16 */
    case 0xa8: /* READ 12 */
    case 0xaa: /* WRITE 12 */
    case 0xae: /* WRITE AND VERIFY 12 */
    case 0xaf: /* VERIFY 12 */
        return true;
    default:
        return false;
    }
}

/* ------------------------------------- on the reader or a worker */

/* How long the LU behind a task takes to execute media commands, as an
 * exponentially weighted mean (weight 1/4 for the newest sample), kept per
 * connection for a few LUs. The reader alone picks and replaces entries
 * (lu); readers and workers update ewma_us atomically. A sample landing on
 * an entry just given to another LU only skews one mean: harmless. */
static unsigned lat_slot(iscsiConn *c, const scsiLu *lu)
{
    for (unsigned i = 0; i < ISCSI_LAT_SLOTS; i++)
        if (c->lat[i].lu == lu)
            return i;
    unsigned i = c->lat_next++ % ISCSI_LAT_SLOTS;
    c->lat[i].lu = lu;
    atomic_store(&c->lat[i].ewma_us, UINT32_MAX); /* unknown: not fast */
    return i;
}

void iscsi_lat_sample(iscsiConn *c, unsigned slot, uint64_t t0_us)
{
    uint64_t us = iscsi_now_us() - t0_us;
    uint32_t old = atomic_load(&c->lat[slot].ewma_us);
    uint64_t v = old == UINT32_MAX ? us : ((uint64_t)old * 3 + us) / 4;
    atomic_store(&c->lat[slot].ewma_us, v >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)v);
}

/* Run this media command on the reader? Only when its LU is known to answer
 * within ISCSI_INLINE_MAX_US (memory, page cache, fast flash): handing over
 * to a worker costs two thread wake-ups, more than such a command itself.
 * Everything else goes to the workers, so a slow LU never holds the reader:
 * a LU that turns slow holds it for at most the one command that shows it
 * (the mean then jumps above the limit), and a LU the connection has not
 * measured yet goes to the workers. Large transfers always go to the
 * workers: the reader receives the next command's data meanwhile. */
bool iscsi_run_inline(iscsiConn *c, iscsiTask *t)
{
    if (t->cmd.prepared_error || !c->portal->workers || !iscsi_media_command(t->cdb[0]))
        return true;
    t->lat_slot = lat_slot(c, t->lu);
    if (t->xfer_len > ISCSI_INLINE_MAX_XFER || t->cmd.data_in_max > ISCSI_INLINE_MAX_XFER)
        return false;
    return atomic_load(&c->lat[t->lat_slot].ewma_us) < ISCSI_INLINE_MAX_US;
}
