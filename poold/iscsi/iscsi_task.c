// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_task.c: one SCSI task from "all its Data-Out is in" to "slot free
 * again", the part the connection's reader and the workers share: where the
 * command runs (on the reader or a worker, from the LU's measured latency),
 * its execution into a Data-In buffer, the Data-In/SCSI Response exchange,
 * and the release of the task slot and its buffers.
 *
 * It sits between the connection I/O (iscsi_conn_io.c) below and the worker
 * pool (iscsi_worker.c) and the full feature phase (iscsi_conn.c) above:
 * both call down into it, and it calls neither, which is what keeps the
 * worker pool from calling back into the reader's file.
 *
 * Buffers: 4096-aligned for O_DIRECT, kept on a per-connection free list of
 * up to ISCSI_MAX_FREE_BUFS under task_lock, so steady state allocates
 * nothing. Ownership of tasks and the state transitions: iscsi.h.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi.h"

/* ------------------------------------------------------------ buffers */

/* Buffers: called by the reader and by workers; task_lock guards the list. */
static iscsiBuf *buf_get_locked(iscsiConn *c, size_t size)
{
    iscsiBuf **pp, *b;

    if (size == 0)
        size = 1;
    for (pp = &c->free_bufs; (b = *pp); pp = &b->next) {
        if (b->cap >= size) {
            *pp = b->next;
            b->next = NULL;
            c->nfree--;
            if (b->cap > ISCSI_DEFAULT_BUF)
                c->nfree_big--;
            return b;
        }
    }
    /* none big enough: grow (rare; steady state reuses) */
    size_t cap = size < ISCSI_DEFAULT_BUF ? ISCSI_DEFAULT_BUF : (size + 4095) & ~(size_t)4095;
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->data = aligned_alloc(4096, cap);
    if (!b->data) {
        free(b);
        return NULL;
    }
    b->cap = cap;
    c->nbufs++;
    return b;
}

static void buf_put_locked(iscsiConn *c, iscsiBuf *b)
{
    if (!b)
        return;
    /* keep a bounded number around (enough for the queue depth at the
     * default size, two larger ones); free the excess */
    bool big = b->cap > ISCSI_DEFAULT_BUF;
    if (c->nfree >= ISCSI_MAX_FREE_BUFS || (big && c->nfree_big >= 2)) {
        free(b->data);
        free(b);
        c->nbufs--;
        return;
    }
    /* default-size buffers first: small requests take those, and larger
     * ones stay for the requests that need them */
    if (big) {
        iscsiBuf **pp = &c->free_bufs;
        while (*pp)
            pp = &(*pp)->next;
        b->next = NULL;
        *pp = b;
        c->nfree_big++;
    } else {
        b->next = c->free_bufs;
        c->free_bufs = b;
    }
    c->nfree++;
}

iscsiBuf *iscsi_buf_get(iscsiConn *c, size_t size)
{
    pthread_mutex_lock(&c->task_lock);
    iscsiBuf *b = buf_get_locked(c, size);
    pthread_mutex_unlock(&c->task_lock);
    return b;
}

void iscsi_buf_put(iscsiConn *c, iscsiBuf *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&c->task_lock);
    buf_put_locked(c, b);
    pthread_mutex_unlock(&c->task_lock);
}

void iscsi_buf_free_all(iscsiConn *c)
{
    while (c->free_bufs) {
        iscsiBuf *b = c->free_bufs;
        c->free_bufs = b->next;
        free(b->data);
        free(b);
    }
    c->nfree = c->nfree_big = 0;
}

/* ------------------------------------------------------ task slots */

void iscsi_task_release_locked(iscsiConn *c, iscsiTask *t)
{
    if (t->lu)
        tgt_lun_put(t->lu);
    buf_put_locked(c, t->buf);
    t->lu = NULL;
    t->buf = NULL;
    atomic_store(&t->state, ISCSI_TASK_FREE);
    pthread_cond_broadcast(&c->task_cond);
}

/* By the task's owner. */
void iscsi_task_release(iscsiConn *c, iscsiTask *t)
{
    pthread_mutex_lock(&c->task_lock);
    iscsi_task_release_locked(c, t);
    pthread_mutex_unlock(&c->task_lock);
}

/* ------------------------------------------------------ SCSI responses */

int iscsi_task_respond(iscsiConn *c, iscsiTask *t)
{
    scsiCmd *cmd = &t->cmd;
    bool w = cmd->write_dir, r = cmd->read_dir;
    uint64_t want, expect = (r || w) ? t->edtl : 0;
    uint8_t rflags = 0;
    uint32_t residual = 0;
    uint32_t datasn = 0;
    iscsiHdr h;

    if (w || cmd->data_out_needed)
        want = cmd->data_out_needed;
    else
        want = cmd->data_in_len;
    if (want > expect) {
        rflags = ISCSI_FLAG_RSP_O;
        residual = (uint32_t)(want - expect > UINT32_MAX ? UINT32_MAX : want - expect);
    } else if (want < expect) {
        rflags = ISCSI_FLAG_RSP_U;
        residual = (uint32_t)(expect - want);
    }

    uint32_t amount = r ? cmd->data_in_len : 0;
    if (amount > t->edtl)
        amount = t->edtl;
    bool collapse = amount > 0 && cmd->status == SCSI_STATUS_GOOD;
    uint32_t mrdsl = c->params.max_send_dsl;
    uint32_t burst = c->params.max_burst;
    uint32_t off = 0, in_burst = 0;
    int rc = 0;

    /* the whole answer under one hold: Data-In in DataSN order, then the
     * response, with no other PDU of this connection in between */
    pthread_mutex_lock(&c->tx_lock);
    while (off < amount) {
        uint32_t seg = amount - off;
        if (seg > mrdsl)
            seg = mrdsl;
        if (seg > burst - in_burst)
            seg = burst - in_burst;
        bool last = off + seg == amount;
        uint8_t flags = 0;
        in_burst += seg;
        if (last || in_burst == burst) {
            flags |= ISCSI_FLAG_FINAL;
            in_burst = 0;
        }
        if (last && collapse)
            flags |= (uint8_t)(ISCSI_FLAG_DATA_S | rflags);
        iscsi_build_data_in(&h, t->itt, t->lun_raw, flags, cmd->status, datasn++, off, residual,
                            seg);
        rc = iscsi_conn_send_locked(c, &h, cmd->data_in + off, seg, last && collapse,
                                    !last || !collapse);
        if (rc < 0)
            goto out;
        off += seg;
    }
    if (collapse)
        goto out;

    uint8_t sense[2 + SCSI_SENSE_MAX];
    uint32_t slen = 0;
    if (cmd->sense_len && cmd->status != SCSI_STATUS_GOOD) {
        uint32_t sl = cmd->sense_len > SCSI_SENSE_MAX ? SCSI_SENSE_MAX : cmd->sense_len;
        iscsi_put_be16(sense, (uint16_t)sl);
        memcpy(sense + 2, cmd->sense, sl);
        slen = 2 + sl;
    }
    iscsi_build_scsi_rsp(&h, t->itt, cmd->status, rflags, residual, datasn + t->r2tsn, slen);
    rc = iscsi_conn_send_locked(c, &h, slen ? sense : NULL, slen, true, false);
out:
    pthread_mutex_unlock(&c->tx_lock);
    return rc;
}

/* Execute a prepared task (all Data-Out in hand) into a Data-In buffer;
 * *in is the buffer to give back after the response. Runs on the reader or
 * on a worker: touches only the task, the LU and the buffer list (locked). */
void iscsi_task_exec(iscsiConn *c, iscsiTask *t, iscsiBuf **in_out)
{
    scsiCmd *cmd = &t->cmd;
    iscsiBuf *in = NULL;

    if (!cmd->prepared_error) {
        if (cmd->data_in_max > ISCSI_MAX_TASK_BUF) {
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
        } else {
            if (cmd->data_in_max) {
                in = iscsi_buf_get(c, cmd->data_in_max);
                if (!in) {
                    cmd->status = SCSI_STATUS_BUSY;
                    cmd->sense_len = 0;
                    goto respond;
                }
                cmd->data_in = in->data;
            }
            if (t->buf) {
                cmd->data_out = t->buf->data;
                cmd->data_out_len = t->xfer_len;
            }
            scsi_cmd_exec(t->lu, cmd);
            if (cmd->data_in_len > cmd->data_in_max)
                cmd->data_in_len = cmd->data_in_max;
        }
    }
respond:
    *in_out = in;
}

/* Worker: run a queued task, answer it, release it. A task aborted while
 * queued or running is released without a response (the reader waiting in
 * abort_tasks() is woken by the release). One task_lock hold per command
 * (the release); the state changes are compare-and-swap. */
void iscsi_task_run(iscsiTask *t)
{
    iscsiConn *c = t->conn;
    iscsiBuf *in = NULL;

    if (atomic_load(&t->state) != ISCSI_TASK_ABORTED) {
        uint64_t t0 = iscsi_now_us();
        iscsi_task_exec(c, t, &in);
        iscsi_lat_sample(c, t->lat_slot, t0);
    }
    iscsiTaskState st = ISCSI_TASK_QUEUED;
    bool answer = atomic_compare_exchange_strong(&t->state, &st, ISCSI_TASK_RESPONDING);
    if (answer && iscsi_task_respond(c, t) < 0)
        iscsi_conn_kick(c); /* the reader sees the dead socket and closes */
    pthread_mutex_lock(&c->task_lock);
    buf_put_locked(c, in);
    t->cmd.data_in = NULL;
    iscsi_task_release_locked(c, t);
    pthread_mutex_unlock(&c->task_lock);
}

/* ------------------------------------------ reader or worker? */

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
