// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_conn_io.c: moving PDUs over one connection's socket, shared by the
 * login phase, the full feature phase and the worker threads: receiving
 * with read-ahead, sending with digests and the sequence numbers stamped at
 * send time, and the two ways another thread reaches a connection (kick,
 * Async logout request).
 *
 * This file sits below the session layer: it reads the session's CmdSN
 * window (ExpCmdSN, MaxCmdSN) to stamp them on every PDU, but calls nothing
 * above it, so sessions (reinstatement) and the portal (stop) can kick a
 * connection without a cycle.
 *
 * Locking: every send takes tx_lock (or is called with it held:
 * iscsi_conn_send_locked), which is what puts StatSN on the wire in send
 * order; receiving is the reader thread's alone.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "iscsi.h"

/* Receive exactly len bytes (reader thread only). Small reads (headers,
 * small data segments) are served from a read-ahead buffer filled with one
 * recv of whatever the socket holds, so a burst of PDUs costs a few system
 * calls instead of two or three each; large data segments are received
 * straight into their destination (no copy). */
int iscsi_conn_recv(iscsiConn *c, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    uint64_t deadline = iscsi_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

    if (!c->inbuf) {
        c->inbuf = malloc(ISCSI_INBUF_SIZE);
        c->in_off = c->in_len = 0;
    }
    while (len) {
        if (c->in_off < c->in_len) {
            size_t n = c->in_len - c->in_off;
            if (n > len)
                n = len;
            memcpy(p, c->inbuf + c->in_off, n);
            c->in_off += n;
            p += n;
            len -= n;
            continue;
        }
        ssize_t r;
        bool ahead = c->inbuf && len < ISCSI_INBUF_DIRECT;
        if (ahead) {
            r = recv(c->fd, c->inbuf, ISCSI_INBUF_SIZE, MSG_DONTWAIT);
            if (r > 0) {
                c->in_off = 0;
                c->in_len = (size_t)r;
                continue;
            }
        } else {
            r = recv(c->fd, p, len, MSG_DONTWAIT);
        }
        if (r > 0) {
            p += r;
            len -= (size_t)r;
            continue;
        }
        if (r == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        if (atomic_load(&c->stop))
            return -1;
        uint64_t now = iscsi_now_ms();
        if (now >= deadline)
            return -1;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        uint64_t wait = deadline - now;
        if (wait > 500)
            wait = 500; /* re-check stop regularly */
        if (poll(&pfd, 1, (int)wait) < 0 && errno != EINTR)
            return -1;
    }
    c->last_rx_ms = iscsi_now_ms();
    return 0;
}

static int send_all(iscsiConn *c, struct iovec *iov, int iovcnt, bool more)
{
    while (iovcnt > 0) {
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
                if (poll(&pfd, 1, ISCSI_PDU_TIMEOUT_MS) <= 0)
                    return -1;
                continue;
            }
            return -1;
        }
        size_t done = (size_t)w;
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

/* One PDU; caller holds tx_lock. more: another PDU follows at once (the
 * kernel may hold this one back to fill a segment: MSG_MORE). */
int iscsi_conn_send_locked(iscsiConn *c, iscsiHdr *h, const void *data, uint32_t dlen,
                           bool advance_sn, bool more)
{
    uint8_t bhs[ISCSI_BHS_LEN];
    uint8_t hdig[4], ddig[4];
    static const uint8_t zero[4];
    struct iovec iov[5];
    int n = 0;
    bool digests = c->state == ISCSI_CONN_FULL;

    h->dlen = dlen;
    h->w[ISCSI_W24] = c->statsn;
    if (c->sess) {
        h->w[ISCSI_W28] = c->sess->exp_cmdsn;
        h->w[ISCSI_W32] = iscsi_session_max_cmdsn(c->sess);
    }
    if (advance_sn)
        c->statsn++;
    iscsi_hdr_encode(h, bhs);
    iov[n].iov_base = bhs;
    iov[n++].iov_len = sizeof(bhs);
    if (digests && c->params.header_digest) {
        iscsi_digest_put(hdig, iscsi_digest(bhs, sizeof(bhs)));
        iov[n].iov_base = hdig;
        iov[n++].iov_len = 4;
    }
    if (dlen) {
        uint32_t pad = iscsi_pad4(dlen) - dlen;
        iov[n].iov_base = (void *)data;
        iov[n++].iov_len = dlen;
        if (pad) {
            iov[n].iov_base = (void *)zero;
            iov[n++].iov_len = pad;
        }
        if (digests && c->params.data_digest) {
            uint32_t crc = iscsi_digest_update(0, data, dlen);
            crc = iscsi_digest_update(crc, zero, pad);
            iscsi_digest_put(ddig, crc);
            iov[n].iov_base = ddig;
            iov[n++].iov_len = 4;
        }
    }
    return send_all(c, iov, n, more);
}

int iscsi_conn_send(iscsiConn *c, iscsiHdr *h, const void *data, uint32_t dlen, bool advance_sn)
{
    pthread_mutex_lock(&c->tx_lock);
    int rc = iscsi_conn_send_locked(c, h, data, dlen, advance_sn, false);
    pthread_mutex_unlock(&c->tx_lock);
    return rc;
}

void iscsi_conn_kick(iscsiConn *c)
{
    atomic_store(&c->stop, true);
    shutdown(c->fd, SHUT_RDWR);
}

/* Called from the stopping thread. The connection thread may be blocked
 * in a send to an initiator that does not read: do not wait for tx_lock
 * longer than a moment; such a connection is dropped after the grace. */
void iscsi_conn_send_async_logout(iscsiConn *c, uint16_t grace_s)
{
    iscsiHdr h;
    int tries = 0;

    while (pthread_mutex_trylock(&c->tx_lock) != 0) {
        if (++tries > 100)
            return;
        usleep(1000);
    }
    bool ok = c->state == ISCSI_CONN_FULL && c->sess && !c->logout_sent &&
              c->params.session_type == ISCSI_SESSION_NORMAL;
    c->logout_sent = true;
    pthread_mutex_unlock(&c->tx_lock);
    if (!ok)
        return;
    iscsi_build_async(&h, ISCSI_ASYNC_LOGOUT_REQUEST, 0, 0, grace_s, NULL, 0);
    iscsi_conn_send(c, &h, NULL, 0, true);
}
