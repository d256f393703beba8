// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_conn.c: one connection's life after accept: login (iscsi_login.c),
 * then the full feature phase: SCSI commands with their Data-Out / R2T /
 * Data-In / Response exchange, NOP-In/Out both ways, Text (SendTargets),
 * Task Management, Logout, Reject, Async Messages.
 *
 * Threading: one reader thread per connection reads and parses every PDU,
 * collects Data-Out, and answers everything that does not touch the backing
 * store (NOP, Text, TMF, Logout, INQUIRY, MODE SENSE, REPORT LUNS, ...)
 * itself. A command that touches the media (iscsi_media_command()) is
 * queued to the portal's worker pool once all its data is in
 * (iscsi_worker.c); the worker executes it and sends its Data-In and
 * response, while the reader goes on with the next PDU. So a connection has
 * up to its queue depth of commands in flight, and a slow LU only holds the
 * workers it occupies. Exception (iscsi_run_inline(), iscsi_task.c): small
 * commands to a LU measured to answer in a few microseconds run on the
 * reader, because the hand-over would cost more than the command.
 *
 * Ownership and invariants:
 *   - tx_lock serialises sends. StatSN, ExpCmdSN and MaxCmdSN are stamped
 *     under it at send time, so StatSN on the wire is in send order, and
 *     ExpCmdSN is read atomically (only the reader advances it). A task's
 *     Data-In PDUs and its response go out under one hold of tx_lock, in
 *     DataSN order, with MSG_MORE between them.
 *   - task_lock guards slot allocation and release (a slot is allocated and
 *     its itt/lun set only by the reader) and the buffer free list; the
 *     task state is atomic (transitions in iscsi.h). A task in state RX
 *     belongs to the reader; QUEUED/ABORTED/RESPONDING to the worker pool;
 *     the reader never reads the fields of a task it does not own but
 *     state, itt and lun. Whoever owns a task releases it (state FREE,
 *     under task_lock) and signals task_cond.
 *   - Task management (ABORT TASK, ABORT/CLEAR TASK SET, LUN RESET, target
 *     resets), Logout and connection close abort tasks the same way:
 *     reader-owned ones are released at once, queued ones are taken back
 *     from the worker queue and released, running ones are set ABORTED
 *     (their I/O finishes, their response is suppressed); then the reader
 *     waits on task_cond until every affected slot is FREE, and only then
 *     sends the TMF/Logout response or frees the connection. A worker never
 *     outlives the connection its task belongs to.
 *   - Other threads (stop, reinstatement, cold reset) only send an Async
 *     Message under tx_lock or kick the connection (set stop, shut the
 *     socket down); the reader then leaves its loop and closes as above.
 * Lock order: task_lock -> workers lock. tx_lock is never held together with
 * task_lock or the workers lock.
 *
 * Write commands (the only ones that wait): a task is created when the
 * command arrives; data arrives as immediate data, then unsolicited Data-Out
 * (InitialR2T=No, up to FirstBurstLength), then solicited Data-Out answering
 * our R2Ts. Invariants kept per task:
 *   - data must arrive in order (DataPDUInOrder=Yes, DataSequenceInOrder=Yes
 *     are the only values we accept): each PDU's BufferOffset equals the
 *     bytes already received in its sequence, and its DataSN the next one of
 *     that sequence (the unsolicited sequence, or one R2T's);
 *   - at most MaxOutstandingR2T R2Ts are outstanding, each asking for at
 *     most MaxBurstLength bytes; R2Ts only ask for the first
 *     min(EDTL, what the CDB needs) bytes - the rest is residual;
 *   - bytes beyond that (an initiator sending more than needed) are read
 *     and dropped, never written past the task buffer.
 * A sequence error (DataSN, offset, unknown TTT) cannot be recovered at
 * ErrorRecoveryLevel 0: the connection, and with it the session, is closed.
 *
 * Data-In: segments of at most the initiator's MaxRecvDataSegmentLength, F
 * at every MaxBurstLength boundary; GOOD status rides in the last Data-In
 * (phase collapse, S bit) with the residual; anything else gets a SCSI
 * Response carrying the sense data behind its 2-byte SenseLength.
 *
 * Layering: this file is the top of a connection's stack. It calls down
 * into the login phase (iscsi_login.c), the worker pool (iscsi_worker.c),
 * a task's execution, answer and release (iscsi_task.c, shared with the
 * workers), the session (iscsi_session.c) and the PDU I/O
 * (iscsi_conn_io.c); none of them calls back into it.
 *
 * Steady state allocates nothing: task slots are a fixed table, task buffers
 * (4096-aligned for O_DIRECT; READ data goes straight from the backing into
 * the buffer Data-In is sent from, WRITE data straight from the socket into
 * the buffer the backing writes from) go back to a per-connection free list
 * of up to ISCSI_MAX_FREE_BUFS and are reused.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "iscsi.h"
#include "pool-alloc.h"
#include "pool-log.h"

#define OP_REPORT_LUNS 0xa0

/* ------------------------------------------------- reject, segments */

static int send_reject(iscsiConn *c, uint8_t reason, const uint8_t bhs[ISCSI_BHS_LEN])
{
    iscsiHdr h;

    log_debug("iscsi %s: reject opcode 0x%02x reason 0x%02x", c->peer, bhs[0] & 0x3f, reason);
    iscsi_build_reject(&h, reason, 0);
    return iscsi_conn_send(c, &h, bhs, ISCSI_BHS_LEN, true);
}

/* Receive a data segment: the first `keep` bytes into dst, the rest
 * dropped; then padding and (if negotiated) the data digest. *bad_digest
 * is set on a digest mismatch. -1 on I/O failure. */
static int recv_segment(iscsiConn *c, uint32_t dlen, uint8_t *dst, uint32_t keep, bool *bad_digest)
{
    uint32_t crc = 0;
    uint8_t pad[4];
    uint32_t padlen = iscsi_pad4(dlen) - dlen;
    bool dd = c->params.data_digest;

    *bad_digest = false;
    if (keep > dlen)
        keep = dlen;
    if (keep) {
        if (iscsi_conn_recv(c, dst, keep, ISCSI_PDU_TIMEOUT_MS) < 0)
            return -1;
        if (dd)
            crc = iscsi_digest_update(crc, dst, keep);
    }
    for (uint32_t left = dlen - keep; left;) {
        uint32_t chunk = left < c->rx_cap ? left : (uint32_t)c->rx_cap;
        if (iscsi_conn_recv(c, c->rx, chunk, ISCSI_PDU_TIMEOUT_MS) < 0)
            return -1;
        if (dd)
            crc = iscsi_digest_update(crc, c->rx, chunk);
        left -= chunk;
    }
    if (padlen) {
        if (iscsi_conn_recv(c, pad, padlen, ISCSI_PDU_TIMEOUT_MS) < 0)
            return -1;
        if (dd)
            crc = iscsi_digest_update(crc, pad, padlen);
    }
    if (dd && dlen) {
        uint8_t dig[4];
        if (iscsi_conn_recv(c, dig, 4, ISCSI_PDU_TIMEOUT_MS) < 0)
            return -1;
        if (iscsi_digest_get(dig) != crc)
            *bad_digest = true;
    }
    return 0;
}

static int skip_segment(iscsiConn *c, uint32_t dlen)
{
    bool bad;

    return recv_segment(c, dlen, NULL, 0, &bad);
}

/* -------------------------------------------------------------- tasks */

/* Under task_lock: the task with this ITT in any state but FREE. */
static iscsiTask *task_find_locked(iscsiConn *c, uint32_t itt)
{
    for (unsigned i = 0; i < ISCSI_MAX_TASKS; i++)
        if (c->tasks[i].state != ISCSI_TASK_FREE && c->tasks[i].itt == itt)
            return &c->tasks[i];
    return NULL;
}

/* Reader: the task with this ITT if the reader owns it (collecting
 * Data-Out), else NULL (unknown, or already with the workers). */
static iscsiTask *task_find_rx(iscsiConn *c, uint32_t itt)
{
    pthread_mutex_lock(&c->task_lock);
    iscsiTask *t = task_find_locked(c, itt);
    if (t && t->state != ISCSI_TASK_RX)
        t = NULL;
    pthread_mutex_unlock(&c->task_lock);
    return t;
}

/* Reader: is a command with this ITT still in progress? A task whose
 * response is going out right now is waited for: the initiator may reuse the
 * ITT as soon as it has the response, before the worker frees the slot. */
static bool task_itt_busy(iscsiConn *c, uint32_t itt)
{
    iscsiTask *t;

    pthread_mutex_lock(&c->task_lock);
    while ((t = task_find_locked(c, itt)) && t->state == ISCSI_TASK_RESPONDING)
        pthread_cond_wait(&c->task_cond, &c->task_lock);
    pthread_mutex_unlock(&c->task_lock);
    return t != NULL;
}

/* Reader: a free slot in state RX, or NULL (TASK SET FULL). */
static iscsiTask *task_alloc(iscsiConn *c)
{
    iscsiTask *found = NULL;

    pthread_mutex_lock(&c->task_lock);
    for (unsigned i = 0; i < ISCSI_MAX_TASKS; i++) {
        if (c->tasks[i].state == ISCSI_TASK_FREE) {
            found = &c->tasks[i];
            memset(found, 0, sizeof(*found));
            found->state = ISCSI_TASK_RX;
            found->conn = c;
            break;
        }
    }
    pthread_mutex_unlock(&c->task_lock);
    return found;
}

static bool task_matches(const iscsiTask *t, bool all, uint64_t lun, const iscsiTask *only)
{
    if (t->state == ISCSI_TASK_FREE)
        return false;
    return only ? t == only : (all || t->lun == lun);
}

/* Reader: abort every task of the connection (all), of one LUN, or only one
 * task, and wait until each of their slots is free: reader-owned tasks are
 * released here, queued ones taken back from the workers, running ones
 * marked aborted (no response) and waited for; a response already going
 * out is let finish (counted in *answered, may be NULL: the initiator gets
 * that response, so such a task was not aborted). Returns how many tasks
 * were affected. */
static unsigned abort_tasks(iscsiConn *c, bool all, uint64_t lun, iscsiTask *only,
                            unsigned *answered)
{
    unsigned n = 0;
    if (answered)
        *answered = 0;
    bool waiting;
    iscsiTask *back = NULL;

    pthread_mutex_lock(&c->task_lock);
    for (unsigned i = 0; i < ISCSI_MAX_TASKS; i++) {
        iscsiTask *t = &c->tasks[i];
        if (!task_matches(t, all, lun, only))
            continue;
        n++;
        iscsiTaskState st = ISCSI_TASK_QUEUED;
        if (t->state == ISCSI_TASK_RX)
            iscsi_task_release_locked(c, t);
        else if (!atomic_compare_exchange_strong(&t->state, &st, ISCSI_TASK_ABORTED) &&
                 st == ISCSI_TASK_RESPONDING && answered)
            (*answered)++; /* the worker is answering it already: let it finish */
    }
    if (c->portal->workers)
        iscsi_workers_cancel(c->portal->workers, c, all, lun, only, &back);
    while (back) {
        iscsiTask *t = back;
        back = t->qnext;
        t->qnext = NULL;
        iscsi_task_release_locked(c, t);
    }
    do {
        waiting = false;
        for (unsigned i = 0; i < ISCSI_MAX_TASKS && !waiting; i++)
            waiting = task_matches(&c->tasks[i], all, lun, only);
        if (waiting)
            pthread_cond_wait(&c->task_cond, &c->task_lock);
    } while (waiting);
    pthread_mutex_unlock(&c->task_lock);
    return n;
}

/* Reader: a task with all its Data-Out in hand. Media commands go to the
 * workers (the reader must not touch t afterwards); the rest run here. */
static int task_execute(iscsiConn *c, iscsiTask *t)
{
    iscsiBuf *in = NULL;
    int rc;

    if (!iscsi_run_inline(c, t)) {
        /* no task_lock needed: abort_tasks() runs on this thread, so it
         * never sees the task between QUEUED and in the queue */
        atomic_store(&t->state, ISCSI_TASK_QUEUED);
        iscsi_workers_submit(c->portal->workers, t);
        return 0;
    }
    bool media = !t->cmd.prepared_error && iscsi_media_command(t->cdb[0]) && c->portal->workers;
    uint64_t t0 = media ? iscsi_now_us() : 0;
    iscsi_task_exec(c, t, &in);
    if (media)
        iscsi_lat_sample(c, t->lat_slot, t0);
    rc = iscsi_task_respond(c, t);
    iscsi_buf_put(c, in);
    t->cmd.data_in = NULL;
    iscsi_task_release(c, t);
    return rc;
}

/* Ask for more data if the task is past its unsolicited part; execute when
 * everything is in. */
static int task_progress(iscsiConn *c, iscsiTask *t)
{
    if (!t->unsol_done)
        return 0;
    uint32_t start = t->unsol_got < t->xfer_len ? t->unsol_got : t->xfer_len;
    if (t->solicited < start)
        t->solicited = start;
    while (t->nr2t < c->params.max_outstanding_r2t && t->nr2t < ISCSI_MAX_R2T_TRACK &&
           t->solicited < t->xfer_len) {
        uint32_t len = t->xfer_len - t->solicited;
        if (len > c->params.max_burst)
            len = c->params.max_burst;
        iscsiR2t *r = &t->r2t[t->nr2t++];
        r->ttt = c->next_ttt++;
        if (r->ttt == ISCSI_RSVD_TAG)
            r->ttt = c->next_ttt++;
        r->offset = t->solicited;
        r->len = len;
        r->got = 0;
        r->next_datasn = 0;
        iscsiHdr h;
        iscsi_build_r2t(&h, t->itt, t->lun_raw, r->ttt, t->r2tsn++, r->offset, len);
        if (iscsi_conn_send(c, &h, NULL, 0, false) < 0)
            return -1;
        t->solicited += len;
    }
    if (t->nr2t == 0 && t->solicited >= t->xfer_len && t->sol_got + start >= t->xfer_len)
        return task_execute(c, t);
    return 0;
}

static void fill_lun_list(iscsiConn *c, scsiLunList *list)
{
    list->luns = NULL;
    list->nluns = 0;
    if (!c->lunlist) {
        c->lunlist = calloc(TGT_MAX_LUNS, sizeof(uint64_t));
        if (!c->lunlist)
            return;
    }
    size_t n = tgt_lun_list(c->portal->cfg.inv, c->sess->target, c->lunlist, TGT_MAX_LUNS);
    list->luns = c->lunlist;
    list->nluns = n > TGT_MAX_LUNS ? TGT_MAX_LUNS : n;
}

static int handle_scsi_cmd(iscsiConn *c, const iscsiHdr *h, const uint8_t *bhs, const uint8_t *ahs,
                           size_t ahslen)
{
    iscsiSession *s = c->sess;
    const iscsiParams *p = &c->params;
    scsiLunList lunlist = {0};
    bool bad;

    if (p->session_type == ISCSI_SESSION_DISCOVERY) {
        if (skip_segment(c, h->dlen) < 0)
            return -1;
        return send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
    }
    if (!iscsi_session_cmdsn_accept(s, h->w[ISCSI_W24], h->immediate)) {
        log_debug("iscsi %s: CmdSN %u outside window, ignored", c->peer, h->w[ISCSI_W24]);
        return skip_segment(c, h->dlen);
    }
    bool wr = (h->flags & ISCSI_FLAG_CMD_W) != 0;
    bool rd = (h->flags & ISCSI_FLAG_CMD_R) != 0;
    uint32_t edtl = h->w[ISCSI_W20];
    const uint8_t *ext = NULL;
    size_t extlen = 0;
    uint32_t bidi = 0;

    if (task_itt_busy(c, h->itt) || iscsi_ahs_parse(ahs, ahslen, &ext, &extlen, &bidi) < 0 ||
        16 + extlen > ISCSI_CDB_MAX || (h->dlen && !wr) || (h->dlen && !p->immediate_data) ||
        h->dlen > edtl || h->dlen > p->first_burst ||
        (p->initial_r2t && !(h->flags & ISCSI_FLAG_FINAL))) {
        if (skip_segment(c, h->dlen) < 0)
            return -1;
        return send_reject(c, ISCSI_REJECT_INVALID_FIELD, bhs);
    }
    iscsiTask *t = task_alloc(c);
    if (!t) {
        iscsiTask tmp;
        if (skip_segment(c, h->dlen) < 0)
            return -1;
        memset(&tmp, 0, sizeof(tmp));
        tmp.itt = h->itt;
        tmp.cmd.status = SCSI_STATUS_TASK_SET_FULL;
        return iscsi_task_respond(c, &tmp);
    }
    t->itt = h->itt;
    t->cmdsn = h->w[ISCSI_W24];
    memcpy(t->lun_raw, h->lun, 8);
    t->edtl = edtl;
    t->write = wr;
    memcpy(t->cdb, bhs + 32, 16);
    if (ext)
        memcpy(t->cdb + 16, ext, extlen);

    scsiCmd *cmd = &t->cmd;
    cmd->cdb = t->cdb;
    cmd->cdb_len = (uint8_t)(16 + extlen);
    cmd->nexus = &s->nexus;
    cmd->edtl = edtl;
    cmd->write_dir = wr;
    cmd->read_dir = rd;
    if (t->cdb[0] == OP_REPORT_LUNS) {
        fill_lun_list(c, &lunlist);
        cmd->luns = &lunlist;
    }
    if (iscsi_lun_decode(h->lun, &t->lun) == 0)
        t->lu = iscsi_session_lu_get(s, t->lun);
    if (wr && rd) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00); /* bidirectional: not supported */
        cmd->prepared_error = true;
    } else if (!t->lu) {
        /* no such LU: answered in one step, Data-Out discarded */
        uint32_t want = edtl < ISCSI_DEFAULT_BUF ? edtl : ISCSI_DEFAULT_BUF;
        iscsiBuf *in = iscsi_buf_get(c, want);
        if (skip_segment(c, h->dlen) < 0) {
            iscsi_buf_put(c, in);
            iscsi_task_release(c, t);
            return -1;
        }
        if (!in) {
            cmd->status = SCSI_STATUS_BUSY;
        } else {
            /* the SCSI layer bounds what it writes by EDTL: keep that
             * within the buffer */
            cmd->data_in = in->data;
            cmd->edtl = edtl < in->cap ? edtl : in->cap;
            scsi_cmd_no_lu(cmd);
            if (cmd->data_in_len > cmd->data_in_max)
                cmd->data_in_len = cmd->data_in_max;
        }
        cmd->data_out_needed = 0;
        int rc = iscsi_task_respond(c, t);
        iscsi_buf_put(c, in);
        cmd->data_in = NULL;
        iscsi_task_release(c, t);
        return rc;
    } else {
        scsi_cmd_prepare(t->lu, cmd);
    }
    if (cmd->prepared_error || cmd->status != SCSI_STATUS_GOOD) {
        cmd->prepared_error = true;
        if (skip_segment(c, h->dlen) < 0) {
            iscsi_task_release(c, t);
            return -1;
        }
        int rc = iscsi_task_respond(c, t);
        iscsi_task_release(c, t);
        return rc;
    }
    if (!wr || cmd->data_out_needed == 0) {
        if (skip_segment(c, h->dlen) < 0) {
            iscsi_task_release(c, t);
            return -1;
        }
        if (wr && !(h->flags & ISCSI_FLAG_FINAL)) {
            /* unsolicited Data-Out will follow for a command needing
             * none: answer now, the data is dropped as unknown-task data */
        }
        return task_execute(c, t);
    }

    /* a write that needs data */
    t->xfer_len = cmd->data_out_needed < edtl ? cmd->data_out_needed : edtl;
    if (t->xfer_len > ISCSI_MAX_TASK_BUF) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, 0x24, 0x00);
        cmd->prepared_error = true;
        if (skip_segment(c, h->dlen) < 0) {
            iscsi_task_release(c, t);
            return -1;
        }
        int rc = iscsi_task_respond(c, t);
        iscsi_task_release(c, t);
        return rc;
    }
    if (t->xfer_len) {
        t->buf = iscsi_buf_get(c, t->xfer_len);
        if (!t->buf) {
            cmd->status = SCSI_STATUS_BUSY;
            cmd->prepared_error = true;
            if (skip_segment(c, h->dlen) < 0) {
                iscsi_task_release(c, t);
                return -1;
            }
            int rc = iscsi_task_respond(c, t);
            iscsi_task_release(c, t);
            return rc;
        }
    }
    if (h->dlen) {
        if (recv_segment(c, h->dlen, t->buf ? t->buf->data : NULL, t->xfer_len, &bad) < 0) {
            iscsi_task_release(c, t);
            return -1;
        }
        if (bad) {
            log_warnx("iscsi %s: data digest error on immediate data", c->peer);
            send_reject(c, ISCSI_REJECT_DATA_DIGEST, bhs);
            iscsi_task_release(c, t);
            return -1; /* ERL 0: no recovery */
        }
    }
    t->unsol_got = h->dlen;
    if (h->flags & ISCSI_FLAG_FINAL) {
        t->unsol_len = h->dlen;
        t->unsol_done = true;
    } else {
        uint32_t fb = p->first_burst < edtl ? p->first_burst : edtl;
        t->unsol_len = fb;
        t->unsol_done = t->unsol_got >= fb;
    }
    return task_progress(c, t);
}

/* A Data-Out broke the sequence rules for its task. ERL 0 cannot recover
 * the data, but the session can go on: answer the command with CHECK
 * CONDITION / ABORTED COMMAND and forget it; more Data-Out for it is
 * dropped as unknown-task data. */
static int task_fail_data(iscsiConn *c, iscsiTask *t, uint32_t dlen, uint8_t asc, uint8_t ascq)
{
    if (skip_segment(c, dlen) < 0) {
        iscsi_task_release(c, t);
        return -1;
    }
    scsi_sense(&t->cmd, SK_ABORTED_COMMAND, asc, ascq);
    t->cmd.prepared_error = true;
    t->cmd.data_in_len = 0;
    int rc = iscsi_task_respond(c, t);
    iscsi_task_release(c, t);
    return rc;
}

static int handle_data_out(iscsiConn *c, const iscsiHdr *h, const uint8_t *bhs)
{
    iscsiTask *t = task_find_rx(c, h->itt);
    uint32_t ttt = h->w[ISCSI_W20];
    uint32_t datasn = h->w[ISCSI_W36];
    uint32_t offset = h->w[ISCSI_W40];
    bool final = (h->flags & ISCSI_FLAG_FINAL) != 0;
    bool bad;

    if (!t) {
        /* aborted or already answered: drop the data */
        log_debug("iscsi %s: Data-Out for unknown ITT 0x%x dropped", c->peer, h->itt);
        return skip_segment(c, h->dlen);
    }
    if (ttt == ISCSI_RSVD_TAG) {
        if (t->unsol_done || datasn != t->unsol_datasn || offset != t->unsol_got ||
            h->dlen > t->unsol_len - t->unsol_got) {
            log_info("iscsi %s: unsolicited Data-Out out of sequence (DataSN %u offset %u)",
                     c->peer, datasn, offset);
            if (t->unsol_done || h->dlen > t->unsol_len - t->unsol_got)
                return task_fail_data(c, t, h->dlen, 0x0c, 0x0c); /* unexpected unsolicited */
            if (offset != t->unsol_got)
                return task_fail_data(c, t, h->dlen, 0x4b, 0x05); /* DATA OFFSET ERROR */
            return task_fail_data(c, t, h->dlen, 0x4b, 0x00);     /* DATA PHASE ERROR */
        }
        uint32_t keep = offset < t->xfer_len ? t->xfer_len - offset : 0;
        if (recv_segment(c, h->dlen,
                         t->buf ? t->buf->data + (offset < t->xfer_len ? offset : 0) : NULL, keep,
                         &bad) < 0)
            return -1;
        if (bad) {
            send_reject(c, ISCSI_REJECT_DATA_DIGEST, bhs);
            return task_fail_data(c, t, 0, 0x47, 0x05); /* PROTOCOL SERVICE CRC ERROR */
        }
        t->unsol_datasn++;
        t->unsol_got += h->dlen;
        if (final || t->unsol_got == t->unsol_len)
            t->unsol_done = true;
        return task_progress(c, t);
    }
    unsigned i;
    for (i = 0; i < t->nr2t; i++)
        if (t->r2t[i].ttt == ttt)
            break;
    /* in-order sequences: only the oldest outstanding R2T may receive data */
    if (i == t->nr2t || i != 0) {
        log_info("iscsi %s: Data-Out with unexpected TTT 0x%x", c->peer, ttt);
        return task_fail_data(c, t, h->dlen, 0x4b, 0x01); /* INVALID TARGET PORT TRANSFER TAG */
    }
    iscsiR2t *r = &t->r2t[0];
    if (datasn != r->next_datasn || offset != r->offset + r->got || h->dlen > r->len - r->got ||
        (final && r->got + h->dlen != r->len)) {
        log_info("iscsi %s: Data-Out out of sequence (DataSN %u, expected %u; offset %u)", c->peer,
                 datasn, r->next_datasn, offset);
        if (h->dlen > r->len - r->got)
            return task_fail_data(c, t, h->dlen, 0x4b, 0x02); /* TOO MUCH WRITE DATA */
        if (offset != r->offset + r->got)
            return task_fail_data(c, t, h->dlen, 0x4b, 0x05);
        return task_fail_data(c, t, h->dlen, 0x4b, 0x00);
    }
    if (recv_segment(c, h->dlen, t->buf->data + offset, h->dlen, &bad) < 0)
        return -1;
    if (bad) {
        send_reject(c, ISCSI_REJECT_DATA_DIGEST, bhs);
        return task_fail_data(c, t, 0, 0x47, 0x05);
    }
    r->next_datasn++;
    r->got += h->dlen;
    t->sol_got += h->dlen;
    if (r->got == r->len) {
        memmove(&t->r2t[0], &t->r2t[1], (t->nr2t - 1) * sizeof(t->r2t[0]));
        t->nr2t--;
    }
    return task_progress(c, t);
}

/* ------------------------------------------------------------ NOP, TMF */

static int handle_nop_out(iscsiConn *c, const iscsiHdr *h, const uint8_t *bhs)
{
    bool bad;

    if (h->itt == ISCSI_RSVD_TAG) {
        /* answer to our ping */
        if (c->ping_out && h->w[ISCSI_W20] == c->ping_ttt)
            c->ping_out = false;
        return skip_segment(c, h->dlen);
    }
    if (recv_segment(c, h->dlen, c->rx, h->dlen, &bad) < 0)
        return -1;
    if (bad)
        return send_reject(c, ISCSI_REJECT_DATA_DIGEST, bhs);
    if (!iscsi_session_cmdsn_accept(c->sess, h->w[ISCSI_W24], h->immediate))
        return 0;
    uint32_t dlen = h->dlen < c->params.max_send_dsl ? h->dlen : c->params.max_send_dsl;
    iscsiHdr r;
    iscsi_build_nop_in(&r, h->itt, ISCSI_RSVD_TAG, h->lun, dlen);
    return iscsi_conn_send(c, &r, c->rx, dlen, true);
}

static void cold_reset_kick(iscsiConn *other, void *opaque)
{
    if (other != opaque)
        iscsi_conn_kick(other);
}

static int handle_tmf(iscsiConn *c, const iscsiHdr *h)
{
    iscsiSession *s = c->sess;
    uint8_t fn = h->flags & 0x7f;
    uint8_t resp = ISCSI_TMF_RSP_COMPLETE;
    uint64_t lun = 0;
    bool drop_after = false;
    iscsiHdr r;

    if (skip_segment(c, h->dlen) < 0)
        return -1;
    if (!iscsi_session_cmdsn_accept(s, h->w[ISCSI_W24], h->immediate))
        return 0;
    if (c->params.session_type == ISCSI_SESSION_DISCOVERY) {
        resp = ISCSI_TMF_RSP_REJECTED;
        goto out;
    }
    switch (fn) {
    case ISCSI_TMF_ABORT_TASK: {
        iscsiTask *t;
        uint32_t ref = h->w[ISCSI_W32];
        pthread_mutex_lock(&c->task_lock);
        t = task_find_locked(c, h->w[ISCSI_W20]);
        pthread_mutex_unlock(&c->task_lock);
        if (t) {
            /* only the reader allocates slots, so t stays this task until
             * abort_tasks() has freed it */
            /* A task whose response is already on its way completed
             * before the abort took effect: to the initiator, which will
             * see that response, it no longer exists (RFC 7143 11.6.1:
             * answering "function complete" as well would report one
             * command both done and aborted) */
            unsigned answered = 0;
            abort_tasks(c, false, 0, t, &answered);
            if (answered)
                resp = ISCSI_TMF_RSP_NO_TASK;
        } else if (iscsi_sn_le(s->exp_cmdsn, ref) && iscsi_sn_le(ref, iscsi_session_max_cmdsn(s))) {
            resp = ISCSI_TMF_RSP_COMPLETE; /* never received: nothing to abort */
        } else {
            resp = ISCSI_TMF_RSP_NO_TASK;
        }
        break;
    }
    case ISCSI_TMF_ABORT_TASK_SET:
    case ISCSI_TMF_CLEAR_TASK_SET:
    case ISCSI_TMF_LUN_RESET: {
        scsiLu *lu = NULL;
        if (iscsi_lun_decode(h->lun, &lun) == 0)
            lu = iscsi_session_lu_get(s, lun);
        if (!lu) {
            resp = ISCSI_TMF_RSP_NO_LUN;
            break;
        }
        abort_tasks(c, false, lun, NULL, NULL);
        if (fn == ISCSI_TMF_LUN_RESET)
            scsi_lu_reset(lu, NULL, 0x03); /* every nexus, the issuer too (SAM-5) */
        tgt_lun_put(lu);
        break;
    }
    case ISCSI_TMF_TARGET_WARM_RESET:
    case ISCSI_TMF_TARGET_COLD_RESET:
        abort_tasks(c, true, 0, NULL, NULL);
        iscsi_session_reset_target(s, 0x02);
        drop_after = fn == ISCSI_TMF_TARGET_COLD_RESET;
        break;
    case ISCSI_TMF_CLEAR_ACA:
        resp = ISCSI_TMF_RSP_NOT_SUPPORTED;
        break;
    case ISCSI_TMF_TASK_REASSIGN:
        resp = ISCSI_TMF_RSP_NO_REASSIGN;
        break;
    default:
        resp = ISCSI_TMF_RSP_REJECTED;
        break;
    }
out:
    log_debug("iscsi %s: TMF function %u -> response %u", c->peer, fn, resp);
    iscsi_build_tmf_rsp(&r, h->itt, resp);
    if (iscsi_conn_send(c, &r, NULL, 0, true) < 0)
        return -1;
    if (drop_after) {
        /* TARGET COLD RESET: every session of the target goes away */
        iscsi_session_foreach(NULL, s->target, cold_reset_kick, c);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- Text */

static int send_text_chunk(iscsiConn *c, const uint8_t lun[8])
{
    size_t left = c->text_out.len - c->text_sent;
    uint32_t seg = left > c->params.max_send_dsl ? c->params.max_send_dsl : (uint32_t)left;
    bool last = seg == left;
    iscsiHdr r;

    if (!last) {
        c->text_ttt = c->next_ttt++;
        if (c->text_ttt == ISCSI_RSVD_TAG)
            c->text_ttt = c->next_ttt++;
    }
    iscsi_build_text_rsp(&r, c->text_itt, last, !last, last ? ISCSI_RSVD_TAG : c->text_ttt, lun,
                         seg);
    int rc = iscsi_conn_send(c, &r, seg ? c->text_out.buf + c->text_sent : NULL, seg, true);
    c->text_sent += seg;
    if (last) {
        iscsi_text_out_reset(&c->text_out);
        c->text_sent = 0;
        c->text_ttt = ISCSI_RSVD_TAG;
    }
    return rc;
}

static int handle_text(iscsiConn *c, const iscsiHdr *h, const uint8_t *bhs)
{
    bool bad;

    if (h->dlen > c->rx_cap)
        return -1;
    if (recv_segment(c, h->dlen, c->rx, h->dlen, &bad) < 0)
        return -1;
    if (bad)
        return send_reject(c, ISCSI_REJECT_DATA_DIGEST, bhs);
    if (!iscsi_session_cmdsn_accept(c->sess, h->w[ISCSI_W24], h->immediate))
        return 0;
    uint32_t ttt = h->w[ISCSI_W20];
    if (ttt != ISCSI_RSVD_TAG) {
        /* the initiator asks for the rest of a long answer */
        if (ttt != c->text_ttt || h->itt != c->text_itt || c->text_sent >= c->text_out.len)
            return send_reject(c, ISCSI_REJECT_INVALID_FIELD, bhs);
        return send_text_chunk(c, h->lun);
    }
    /* a new request resets any unfinished answer */
    iscsi_text_out_reset(&c->text_out);
    c->text_sent = 0;
    c->text_itt = h->itt;
    if (c->text_in_len + h->dlen > ISCSI_LOGIN_MAX_TEXT) {
        c->text_in_len = 0;
        return send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
    }
    if (!c->text_in) {
        c->text_in = malloc(ISCSI_LOGIN_MAX_TEXT + 1);
        if (!c->text_in)
            return -1;
    }
    memcpy(c->text_in + c->text_in_len, c->rx, h->dlen);
    c->text_in_len += h->dlen;
    if (h->flags & ISCSI_FLAG_TEXT_C) {
        iscsiHdr r;
        iscsi_build_text_rsp(&r, h->itt, false, false, c->next_ttt++, h->lun, 0);
        return iscsi_conn_send(c, &r, NULL, 0, true);
    }
    iscsiKV kv[ISCSI_TEXT_MAX_PAIRS];
    const char *why = "";
    int n = iscsi_text_parse(c->text_in, c->text_in_len, kv, ISCSI_TEXT_MAX_PAIRS, &why);
    c->text_in_len = 0;
    if (n < 0) {
        log_info("iscsi %s: bad Text Request: %s", c->peer, why);
        return send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(kv[i].key, "SendTargets") == 0) {
            const char *v = kv[i].value;
            if (strcmp(v, "All") == 0) {
                iscsi_portal_send_targets(c->portal, c->params.initiator_name, NULL, c->local,
                                          &c->text_out);
            } else if (v[0] == '\0') {
                if (c->params.session_type == ISCSI_SESSION_NORMAL)
                    iscsi_portal_send_targets(c->portal, c->params.initiator_name, c->sess->target,
                                              c->local, &c->text_out);
            } else {
                iscsi_portal_send_targets(c->portal, c->params.initiator_name, v, c->local,
                                          &c->text_out);
            }
        } else if (strncmp(kv[i].key, "X-", 2) == 0 || strncmp(kv[i].key, "X#", 2) == 0) {
            iscsi_text_add(&c->text_out, kv[i].key, "NotUnderstood");
        } else {
            /* no renegotiation in full feature phase */
            iscsi_text_add(&c->text_out, kv[i].key, "Reject");
        }
    }
    if (c->text_out.failed) {
        iscsi_text_out_reset(&c->text_out);
        return send_reject(c, ISCSI_REJECT_LONG_OP_REJECT, bhs);
    }
    return send_text_chunk(c, h->lun);
}

/* ----------------------------------------------------------- Logout */

static int handle_logout(iscsiConn *c, const iscsiHdr *h, const uint8_t *bhs)
{
    uint8_t reason = h->flags & 0x7f;
    uint8_t resp = ISCSI_LOGOUT_RSP_OK;
    iscsiHdr r;
    int ret = 1;

    if (skip_segment(c, h->dlen) < 0)
        return -1;
    if (!iscsi_session_cmdsn_accept(c->sess, h->w[ISCSI_W24], h->immediate))
        return 0;
    switch (reason) {
    case ISCSI_LOGOUT_CLOSE_SESSION:
        break;
    case ISCSI_LOGOUT_CLOSE_CONN:
        if ((uint16_t)(h->w[ISCSI_W20] >> 16) != c->cid) {
            resp = ISCSI_LOGOUT_RSP_NO_CID;
            ret = 0;
        }
        break;
    case ISCSI_LOGOUT_RECOVERY:
        resp = ISCSI_LOGOUT_RSP_NO_RECOV;
        ret = 0;
        break;
    default:
        return send_reject(c, ISCSI_REJECT_INVALID_FIELD, bhs);
    }
    iscsi_build_logout_rsp(&r, h->itt, resp, (uint16_t)c->params.time2wait,
                           (uint16_t)c->params.time2retain);
    if (ret == 1)
        abort_tasks(c, true, 0, NULL, NULL);
    if (iscsi_conn_send(c, &r, NULL, 0, true) < 0)
        return -1;
    if (ret == 1)
        log_info("iscsi %s: logout (tsih %u)", c->peer, c->sess->tsih);
    return ret;
}

/* ------------------------------------------------------ PDU dispatch */

/* 0: continue, 1: orderly end, -1: drop the connection */
static int read_and_dispatch(iscsiConn *c)
{
    uint8_t bhs[ISCSI_BHS_LEN];
    uint8_t ahs[ISCSI_MAX_AHS];
    iscsiHdr h;
    uint8_t reason;
    size_t ahslen;

    if (iscsi_conn_recv(c, bhs, sizeof(bhs), ISCSI_PDU_TIMEOUT_MS) < 0)
        return -1;
    iscsi_hdr_decode(bhs, &h);
    ahslen = (size_t)h.ahs_words * 4;
    if (ahslen && iscsi_conn_recv(c, ahs, ahslen, ISCSI_PDU_TIMEOUT_MS) < 0)
        return -1;
    if (c->params.header_digest) {
        uint8_t dig[4];
        uint32_t crc = iscsi_digest_update(0, bhs, sizeof(bhs));
        crc = iscsi_digest_update(crc, ahs, ahslen);
        if (iscsi_conn_recv(c, dig, 4, ISCSI_PDU_TIMEOUT_MS) < 0)
            return -1;
        if (iscsi_digest_get(dig) != crc) {
            /* the length fields cannot be trusted: no way to resync */
            log_warnx("iscsi %s: header digest error, closing", c->peer);
            return -1;
        }
    }
    uint32_t limit = c->params.max_recv_dsl;
    if (h.opcode == ISCSI_OP_SCSI_CMD || h.opcode == ISCSI_OP_DATA_OUT)
        limit = c->params.max_recv_dsl; /* immediate/Data-Out also bounded by MRDSL */
    if (iscsi_hdr_check(&h, false, limit, &reason) < 0) {
        if (h.dlen > (16u << 20))
            return -1;
        if (skip_segment(c, h.dlen) < 0)
            return -1;
        if (send_reject(c, reason, bhs) < 0)
            return -1;
        /* a PDU claiming more than we declared may be the start of garbage;
         * keep serving only if it was otherwise framed sanely */
        return 0;
    }
    switch (h.opcode) {
    case ISCSI_OP_SCSI_CMD:
        return handle_scsi_cmd(c, &h, bhs, ahs, ahslen);
    case ISCSI_OP_DATA_OUT:
        if (c->params.session_type == ISCSI_SESSION_DISCOVERY) {
            if (skip_segment(c, h.dlen) < 0)
                return -1;
            return send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
        }
        return handle_data_out(c, &h, bhs);
    case ISCSI_OP_NOP_OUT:
        return handle_nop_out(c, &h, bhs);
    case ISCSI_OP_TMF_REQ:
        return handle_tmf(c, &h);
    case ISCSI_OP_TEXT_REQ:
        return handle_text(c, &h, bhs);
    case ISCSI_OP_LOGOUT_REQ:
        return handle_logout(c, &h, bhs);
    case ISCSI_OP_SNACK:
        /* ErrorRecoveryLevel 0: no SNACK support */
        if (skip_segment(c, h.dlen) < 0)
            return -1;
        return send_reject(c, ISCSI_REJECT_PROTOCOL_ERROR, bhs);
    default:
        if (skip_segment(c, h.dlen) < 0)
            return -1;
        return send_reject(c, ISCSI_REJECT_CMD_NOT_SUPP, bhs);
    }
}

static int send_ping(iscsiConn *c)
{
    iscsiHdr h;

    c->ping_ttt = c->next_ttt++;
    if (c->ping_ttt == ISCSI_RSVD_TAG)
        c->ping_ttt = c->next_ttt++;
    c->ping_out = true;
    c->ping_sent_ms = iscsi_now_ms();
    iscsi_build_nop_in(&h, ISCSI_RSVD_TAG, c->ping_ttt, NULL, 0);
    return iscsi_conn_send(c, &h, NULL, 0, false);
}

static void full_feature_loop(iscsiConn *c)
{
    uint64_t interval = (uint64_t)c->portal->cfg.nop_interval_s * 1000;
    uint64_t timeout = (uint64_t)c->portal->cfg.nop_timeout_s * 1000;

    c->last_rx_ms = iscsi_now_ms();
    while (!atomic_load(&c->stop)) {
        if (c->in_off < c->in_len) {
            /* the next PDU is already (partly) read ahead */
            if (read_and_dispatch(c) != 0)
                break;
            continue;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, 500);
        uint64_t now = iscsi_now_ms();

        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            int rc = read_and_dispatch(c);
            if (rc != 0)
                break;
            continue;
        }
        if (c->ping_out) {
            if (now - c->ping_sent_ms > timeout && now - c->last_rx_ms > timeout) {
                log_warnx("iscsi %s: no answer to NOP-In for %llu s, closing", c->peer,
                          (unsigned long long)(timeout / 1000));
                break;
            }
        } else if (now - c->last_rx_ms > interval) {
            if (send_ping(c) < 0)
                break;
        }
    }
}

void *iscsi_conn_thread(void *arg)
{
    iscsiConn *c = arg;

    if (iscsi_login(c) == 0) {
        c->state = ISCSI_CONN_FULL;
        c->rx_cap = c->params.max_recv_dsl < 65536 ? 65536 : c->params.max_recv_dsl;
        c->rx = aligned_alloc(4096, (c->rx_cap + 4095) & ~(size_t)4095);
        c->tasks = calloc(ISCSI_MAX_TASKS, sizeof(*c->tasks));
        iscsi_text_out_init(&c->text_out, 1u << 20);
        c->text_ttt = ISCSI_RSVD_TAG;
        c->next_ttt = 1;
        /* preallocate the buffers steady state needs */
        iscsiBuf *b1 = iscsi_buf_get(c, ISCSI_DEFAULT_BUF),
                 *b2 = iscsi_buf_get(c, ISCSI_DEFAULT_BUF);
        iscsi_buf_put(c, b1);
        iscsi_buf_put(c, b2);
        if (c->rx && c->tasks)
            full_feature_loop(c);
        /* no worker may still hold a task of this connection when it goes */
        if (c->tasks)
            abort_tasks(c, true, 0, NULL, NULL);
        c->state = ISCSI_CONN_CLOSING;
        if (c->sess)
            log_info("iscsi %s: session tsih %u closed", c->peer, c->sess->tsih);
    }
    shutdown(c->fd, SHUT_RDWR);
    /* detach under tx_lock: a concurrent Async send reads c->sess */
    pthread_mutex_lock(&c->tx_lock);
    iscsiSession *s = c->sess;
    c->sess = NULL;
    c->state = ISCSI_CONN_CLOSING;
    pthread_mutex_unlock(&c->tx_lock);
    iscsi_session_free(s);
    free(c->tasks);
    c->tasks = NULL;
    free(c->rx);
    c->rx = NULL;
    free(c->lunlist);
    c->lunlist = NULL;
    free(c->text_in);
    c->text_in = NULL;
    free(c->inbuf);
    c->inbuf = NULL;
    iscsi_text_out_free(&c->text_out);
    iscsi_buf_free_all(c);
    pthread_mutex_lock(&c->portal->lock);
    atomic_store(&c->done, true);
    pthread_cond_broadcast(&c->portal->cond);
    pthread_mutex_unlock(&c->portal->lock);
    return NULL;
}
