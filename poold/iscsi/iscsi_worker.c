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
 * Which commands come here is decided in iscsi_task.c (iscsi_run_inline():
 * media commands, except small ones to a LU the connection measured to be
 * fast). The pool calls only iscsi_task_run() (iscsi_task.c, below it); the
 * full feature phase (iscsi_conn.c, above it) submits and cancels.
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
