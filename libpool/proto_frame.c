/*
 * proto_frame.c: framing for the poold control socket (see pool-proto.h).
 *
 * Wire format, all integers little-endian, converted byte by byte so the
 * code does not depend on host endianness or alignment:
 *
 *   offset size field
 *        0    4 magic    0x4c4f4f50 (bytes 'P' 'O' 'O' 'L')
 *        4    2 version  POOL_PROTO_VERSION (1)
 *        6    2 type     1 = request, 2 = reply
 *        8    4 length   payload bytes, 1..max_len
 *       12    4 crc32c   CRC32C (Castagnoli) of the payload
 *       16  ...          payload (one XML document)
 *
 * Why the checks come in this order: a peer can be buggy or hostile. The
 * header is decoded and fully checked (magic, version, type, 0 < length <=
 * max) BEFORE anything is allocated, so a forged length cannot make the
 * daemon allocate gigabytes; the CRC is checked before the payload is handed
 * to the XML parser. All failures of the frame itself are POOL_ERR_PROTOCOL.
 *
 * Receive state machine: read 16 header bytes -> decode/check -> allocate
 * length + 1 -> read payload -> check CRC -> hand out (NUL-terminated). Reads
 * loop over short reads and EINTR; with a timeout, poll() guards each read
 * against one overall deadline (CLOCK_MONOTONIC), so a peer trickling one
 * byte at a time cannot extend it. End of file before the first header byte
 * is POOL_ERR_CONNECT (the peer hung up between frames); end of file inside
 * a frame is POOL_ERR_PROTOCOL (truncated frame). An expired deadline is
 * POOL_ERR_TIMEOUT.
 *
 * Sending writes header and payload with one sendmsg(MSG_NOSIGNAL) per
 * attempt (so a dead peer gives EPIPE, not SIGPIPE), falling back to writev
 * for non-sockets, and loops over short writes, EINTR and EAGAIN.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-byteorder.h"
#include "pool-error.h"
#include "pool-proto.h"
#include "pool-util.h"

void pool_frame_header_encode(uint8_t out[POOL_PROTO_HEADER_SIZE], uint16_t type,
                              const void *payload, uint32_t len)
{
    uint32_t crc = pool_crc32c(0, payload ? payload : (const void *)"", payload ? len : 0);

    pool_put_le32(out + 0, POOL_PROTO_MAGIC);
    pool_put_le16(out + 4, POOL_PROTO_VERSION);
    pool_put_le16(out + 6, type);
    pool_put_le32(out + 8, len);
    pool_put_le32(out + 12, crc);
}

int pool_frame_header_decode(const uint8_t in[POOL_PROTO_HEADER_SIZE], uint32_t max_len,
                             poolFrameHeader *h)
{
    poolFrameHeader tmp;

    if (!in || !h) {
        pool_error(POOL_ERR_INTERNAL, "missing frame header buffer");
        return -1;
    }
    if (max_len == 0)
        max_len = POOL_PROTO_MAX_DEFAULT;
    tmp.magic = pool_get_le32(in + 0);
    tmp.version = pool_get_le16(in + 4);
    tmp.type = pool_get_le16(in + 6);
    tmp.length = pool_get_le32(in + 8);
    tmp.crc = pool_get_le32(in + 12);

    if (tmp.magic != POOL_PROTO_MAGIC) {
        pool_error(POOL_ERR_PROTOCOL, "bad frame magic 0x%08x (expected 0x%08x)", tmp.magic,
                   POOL_PROTO_MAGIC);
        return -1;
    }
    if (tmp.version != POOL_PROTO_VERSION) {
        pool_error(POOL_ERR_PROTOCOL, "unsupported protocol version %u (expected %u)", tmp.version,
                   POOL_PROTO_VERSION);
        return -1;
    }
    if (tmp.type != POOL_FRAME_REQUEST && tmp.type != POOL_FRAME_REPLY) {
        pool_error(POOL_ERR_PROTOCOL, "bad frame type %u", tmp.type);
        return -1;
    }
    if (tmp.length == 0) {
        pool_error(POOL_ERR_PROTOCOL, "empty frame payload");
        return -1;
    }
    if (tmp.length > max_len) {
        pool_error(POOL_ERR_PROTOCOL, "frame payload of %u bytes exceeds the limit of %u",
                   tmp.length, max_len);
        return -1;
    }
    *h = tmp;
    return 0;
}

int pool_frame_payload_check(const poolFrameHeader *h, const void *payload)
{
    uint32_t crc;

    if (!h || (!payload && h->length)) {
        pool_error(POOL_ERR_INTERNAL, "missing frame payload");
        return -1;
    }
    crc = pool_crc32c(0, payload, h->length);
    if (crc != h->crc) {
        pool_error(POOL_ERR_PROTOCOL, "frame checksum mismatch (got 0x%08x, expected 0x%08x)", crc,
                   h->crc);
        return -1;
    }
    return 0;
}

/* ---- blocking I/O -------------------------------------------------------- */

/* Wait until fd is ready for `events` or the deadline (-1: none) passes.
 * 0 ready, -1 with error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int wait = -1;
        int rc;

        if (deadline >= 0) {
            int64_t left = deadline - pool_monotonic_ms();
            if (left <= 0) {
                pool_error(POOL_ERR_TIMEOUT, "timed out waiting for the peer");
                return -1;
            }
            wait = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        rc = poll(&pfd, 1, wait);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "poll failed");
            return -1;
        }
        if (rc == 0)
            continue; /* re-check the deadline */
        if (pfd.revents & POLLNVAL) {
            pool_error(POOL_ERR_SYSTEM, "invalid file descriptor %d", fd);
            return -1;
        }
        /* POLLIN/POLLOUT, or POLLHUP/POLLERR which the next read/write
         * turns into end of file or an errno. */
        return 0;
    }
}

/* Read exactly n bytes; *got tells how many arrived before a failure.
 * Returns 0, or -1: with an error reported, or with *eof set and nothing
 * reported (the caller knows whether end of file is clean or a truncation). */
static int read_full(int fd, uint8_t *buf, size_t n, int64_t deadline, size_t *got, bool *eof)
{
    *got = 0;
    *eof = false;
    while (*got < n) {
        ssize_t r;

        if (deadline >= 0 && wait_fd(fd, POLLIN, deadline) < 0)
            return -1;
        r = read(fd, buf + *got, n - *got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (deadline < 0 && wait_fd(fd, POLLIN, -1) < 0)
                    return -1;
                continue;
            }
            pool_error_errno(errno, "read from control socket failed");
            return -1;
        }
        if (r == 0) {
            *eof = true;
            return -1;
        }
        *got += (size_t)r;
    }
    return 0;
}

int pool_frame_recv(int fd, uint32_t max_len, int timeout_ms, uint16_t *type, char **payload,
                    uint32_t *len)
{
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    POOL_AUTOFREE(char *) buf = NULL;
    poolFrameHeader h;
    int64_t deadline = timeout_ms > 0 ? pool_monotonic_ms() + timeout_ms : -1;
    size_t got = 0;
    bool eof = false;

    if (payload)
        *payload = NULL;
    if (len)
        *len = 0;
    if (!payload || !len) {
        pool_error(POOL_ERR_INTERNAL, "pool_frame_recv: missing output arguments");
        return -1;
    }
    if (read_full(fd, hdr, sizeof(hdr), deadline, &got, &eof) < 0) {
        if (eof && got == 0)
            pool_error(POOL_ERR_CONNECT, "connection closed by peer");
        else if (eof)
            pool_error(POOL_ERR_PROTOCOL,
                       "connection closed in the middle of a frame header (%zu of %d bytes)", got,
                       POOL_PROTO_HEADER_SIZE);
        return -1;
    }
    if (pool_frame_header_decode(hdr, max_len, &h) < 0)
        return -1;
    buf = malloc((size_t)h.length + 1);
    if (!buf)
        return pool_error_oom();
    if (read_full(fd, (uint8_t *)buf, h.length, deadline, &got, &eof) < 0) {
        if (eof)
            pool_error(POOL_ERR_PROTOCOL,
                       "connection closed in the middle of a frame (%zu of %u payload bytes)", got,
                       h.length);
        return -1;
    }
    buf[h.length] = '\0';
    if (pool_frame_payload_check(&h, buf) < 0)
        return -1;
    if (type)
        *type = h.type;
    *len = h.length;
    *payload = pool_steal_ptr(&buf);
    return 0;
}

int pool_frame_send(int fd, uint16_t type, const void *payload, uint32_t len)
{
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    struct iovec iov[2];
    size_t niov = 2;
    struct iovec *cur = iov;
    bool use_send = true;

    if (type != POOL_FRAME_REQUEST && type != POOL_FRAME_REPLY) {
        pool_error(POOL_ERR_INTERNAL, "bad frame type %u", type);
        return -1;
    }
    if (!payload || len == 0) {
        pool_error(POOL_ERR_INTERNAL, "refusing to send an empty frame");
        return -1;
    }
    pool_frame_header_encode(hdr, type, payload, len);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)payload;
    iov[1].iov_len = len;

    while (niov > 0) {
        ssize_t w;

        if (use_send) {
            struct msghdr msg = {.msg_iov = cur, .msg_iovlen = niov};
            w = sendmsg(fd, &msg, MSG_NOSIGNAL);
            if (w < 0 && errno == ENOTSOCK) {
                use_send = false;
                continue;
            }
        } else {
            w = writev(fd, cur, (int)niov);
        }
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(fd, POLLOUT, -1) < 0)
                    return -1;
                continue;
            }
            pool_error_errno(errno, "write to control socket failed");
            return -1;
        }
        /* advance over what was written */
        while (w > 0 && niov > 0) {
            if ((size_t)w >= cur->iov_len) {
                w -= (ssize_t)cur->iov_len;
                cur++;
                niov--;
            } else {
                cur->iov_base = (uint8_t *)cur->iov_base + w;
                cur->iov_len -= (size_t)w;
                w = 0;
            }
        }
    }
    return 0;
}
