// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_proto.c: control-socket framing and the request/reply documents.
 *
 * Why these tests: poold reads frames from any local client allowed on its
 * socket. A bad header must be refused before anything is allocated, a slow
 * or vanishing peer must end in an error (never a hang), and requests and
 * replies must survive a round trip exactly, including error replies that
 * carry the daemon's error to poolctl. Everything runs over socketpairs and
 * pipes, with writer threads playing the peer.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-byteorder.h"
#include "pool-error.h"
#include "pool-proto.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "test_support.h"

static void make_pair(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- header encode / decode ---------------------------------------------- */

START_TEST(test_header_round_trip)
{
    const char payload[] = "<request id=\"1\" op=\"pool-list\"/>";
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    poolFrameHeader h;

    pool_frame_header_encode(hdr, POOL_FRAME_REQUEST, payload, sizeof(payload) - 1);
    /* little-endian on the wire, whatever the host */
    ck_assert_int_eq(hdr[0], 'P');
    ck_assert_int_eq(hdr[1], 'O');
    ck_assert_int_eq(hdr[2], 'O');
    ck_assert_int_eq(hdr[3], 'L');
    ck_assert_int_eq(hdr[4], 1);
    ck_assert_int_eq(hdr[5], 0);
    ck_assert_int_eq(hdr[6], 1);
    ck_assert_int_eq(hdr[7], 0);
    ck_assert_int_eq(hdr[8], sizeof(payload) - 1);
    ck_assert_int_eq(hdr[9] | hdr[10] | hdr[11], 0);

    ck_assert_int_eq(pool_frame_header_decode(hdr, 0, &h), 0);
    ck_assert_uint_eq(h.magic, POOL_PROTO_MAGIC);
    ck_assert_uint_eq(h.version, POOL_PROTO_VERSION);
    ck_assert_uint_eq(h.type, POOL_FRAME_REQUEST);
    ck_assert_uint_eq(h.length, sizeof(payload) - 1);
    ck_assert_uint_eq(h.crc, pool_crc32c(0, payload, sizeof(payload) - 1));
    ck_assert_int_eq(pool_frame_payload_check(&h, payload), 0);

    pool_frame_header_encode(hdr, POOL_FRAME_REPLY, payload, sizeof(payload) - 1);
    ck_assert_int_eq(pool_frame_header_decode(hdr, sizeof(payload) - 1, &h), 0);
    ck_assert_uint_eq(h.type, POOL_FRAME_REPLY);
}
END_TEST

/* Each case patches a good header; all must fail with POOL_ERR_PROTOCOL. */
enum {
    BAD_MAGIC,
    BAD_VERSION,
    BAD_TYPE0,
    BAD_TYPE3,
    BAD_ZERO_LEN,
    BAD_OVER_MAX,
    BAD_OVER_DEFAULT,
    BAD_HUGE,
    BAD_LAST
};

static void make_bad_header(int which, uint8_t hdr[POOL_PROTO_HEADER_SIZE], uint32_t *max)
{
    const char payload[] = "<x/>";

    pool_frame_header_encode(hdr, POOL_FRAME_REQUEST, payload, 4);
    *max = 0;
    switch (which) {
    case BAD_MAGIC:
        hdr[0] = 'X';
        break;
    case BAD_VERSION:
        pool_put_le16(hdr + 4, 2);
        break;
    case BAD_TYPE0:
        pool_put_le16(hdr + 6, 0);
        break;
    case BAD_TYPE3:
        pool_put_le16(hdr + 6, 3);
        break;
    case BAD_ZERO_LEN:
        pool_put_le32(hdr + 8, 0);
        break;
    case BAD_OVER_MAX:
        *max = 3;
        break;
    case BAD_OVER_DEFAULT:
        pool_put_le32(hdr + 8, POOL_PROTO_MAX_DEFAULT + 1);
        break;
    case BAD_HUGE:
        pool_put_le32(hdr + 8, 0xffffffffu);
        break;
    }
}

START_TEST(test_header_rejects)
{
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    poolFrameHeader h;
    uint32_t max = 0;

    make_bad_header(_i, hdr, &max);
    pool_error_reset();
    ck_assert_int_eq(pool_frame_header_decode(hdr, max, &h), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
}
END_TEST

/* The same bad headers arriving on a socket: refused without reading (or
 * allocating) a payload, even though none follows. */
START_TEST(test_recv_rejects_bad_header)
{
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    uint32_t max = 0;
    int sv[2];
    char *payload = (char *)1;
    uint32_t len = 99;
    uint16_t type = 0;

    make_bad_header(_i, hdr, &max);
    make_pair(sv);
    ck_assert_int_eq(pool_write_all(sv[1], hdr, sizeof(hdr)), 0);
    pool_error_reset();
    ck_assert_int_eq(pool_frame_recv(sv[0], max, 2000, &type, &payload, &len), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
    ck_assert_ptr_null(payload);
    ck_assert_uint_eq(len, 0);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_bad_crc)
{
    char payload[] = "<request id=\"1\" op=\"x\"/>";
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    poolFrameHeader h;
    int sv[2];
    char *got = NULL;
    uint32_t len = 0;

    pool_frame_header_encode(hdr, POOL_FRAME_REQUEST, payload, strlen(payload));
    ck_assert_int_eq(pool_frame_header_decode(hdr, 0, &h), 0);
    payload[3] ^= 1;
    ck_assert_int_eq(pool_frame_payload_check(&h, payload), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);

    make_pair(sv);
    ck_assert_int_eq(pool_write_all(sv[1], hdr, sizeof(hdr)), 0);
    ck_assert_int_eq(pool_write_all(sv[1], payload, strlen(payload)), 0);
    ck_assert_int_eq(pool_frame_recv(sv[0], 0, 2000, NULL, &got, &len), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
    ck_assert_ptr_null(got);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* ---- send / recv ---------------------------------------------------------- */

START_TEST(test_send_recv)
{
    const char msg[] = "<reply id=\"1\" status=\"ok\"/>";
    int sv[2];
    char *got = NULL;
    uint32_t len = 0;
    uint16_t type = 0;

    make_pair(sv);
    ck_assert_int_eq(pool_frame_send(sv[1], POOL_FRAME_REPLY, msg, strlen(msg)), 0);
    ck_assert_int_eq(pool_frame_send(sv[1], POOL_FRAME_REQUEST, "ab", 2), 0);
    ck_assert_int_eq(pool_frame_recv(sv[0], 0, 0, &type, &got, &len), 0);
    ck_assert_uint_eq(type, POOL_FRAME_REPLY);
    ck_assert_uint_eq(len, strlen(msg));
    ck_assert_str_eq(got, msg); /* NUL-terminated */
    free(got);
    ck_assert_int_eq(pool_frame_recv(sv[0], 0, 1000, &type, &got, &len), 0);
    ck_assert_uint_eq(type, POOL_FRAME_REQUEST);
    ck_assert_str_eq(got, "ab");
    free(got);

    /* argument checks */
    ck_assert_int_eq(pool_frame_send(sv[1], 3, "a", 1), -1);
    ck_assert_int_eq(pool_frame_send(sv[1], POOL_FRAME_REQUEST, "a", 0), -1);
    ck_assert_int_eq(pool_frame_send(sv[1], POOL_FRAME_REQUEST, NULL, 1), -1);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

typedef struct {
    int fd;
    const uint8_t *data;
    size_t len;
    size_t stop_after; /* close after this many bytes (len = all) */
    unsigned delay_us; /* between bytes */
} writer;

/* Plays the peer: writes (part of) a frame one byte at a time, then hangs
 * up. Stops quietly when the reader has gone (no SIGPIPE: MSG_NOSIGNAL). */
static void *writer_thread(void *arg)
{
    writer *w = arg;
    size_t n = w->stop_after < w->len ? w->stop_after : w->len;

    for (size_t i = 0; i < n; i++) {
        ssize_t r = send(w->fd, w->data + i, 1, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) {
            i--;
            continue;
        }
        if (r != 1)
            break;
        if (w->delay_us)
            usleep(w->delay_us);
    }
    close(w->fd);
    return NULL;
}

static uint8_t *make_frame(const char *payload, size_t *flen)
{
    size_t len = strlen(payload);
    uint8_t *f = malloc(POOL_PROTO_HEADER_SIZE + len);
    ck_assert_ptr_nonnull(f);
    pool_frame_header_encode(f, POOL_FRAME_REQUEST, payload, len);
    memcpy(f + POOL_PROTO_HEADER_SIZE, payload, len);
    *flen = POOL_PROTO_HEADER_SIZE + len;
    return f;
}

START_TEST(test_recv_one_byte_pieces)
{
    const char *payload = "<request id=\"77\" op=\"volume-create\">"
                          "<param name=\"pool\">pool1</param></request>";
    size_t flen = 0;
    POOL_AUTOFREE(uint8_t *) frame = make_frame(payload, &flen);
    writer w = {.data = frame, .len = flen, .stop_after = flen, .delay_us = 200};
    pthread_t th;
    int sv[2];
    char *got = NULL;
    uint32_t len = 0;
    uint16_t type = 0;

    make_pair(sv);
    w.fd = sv[1];
    ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &w), 0);
    ck_assert_msg(pool_frame_recv(sv[0], 0, 10000, &type, &got, &len) == 0, "%s",
                  pool_error_last_message());
    pthread_join(th, NULL);
    ck_assert_uint_eq(type, POOL_FRAME_REQUEST);
    ck_assert_str_eq(got, payload);
    free(got);
    close(sv[0]);
}
END_TEST

/* The peer closes in the header, in the payload, or before anything. */
START_TEST(test_recv_peer_closes)
{
    const char *payload = "<request id=\"1\" op=\"pool-list\"/>";
    size_t flen = 0;
    POOL_AUTOFREE(uint8_t *) frame = make_frame(payload, &flen);
    const size_t stops[] = {0, 1, 10, POOL_PROTO_HEADER_SIZE, POOL_PROTO_HEADER_SIZE + 5, flen - 1};
    const poolErrorCode codes[] = {POOL_ERR_CONNECT,  POOL_ERR_PROTOCOL, POOL_ERR_PROTOCOL,
                                   POOL_ERR_PROTOCOL, POOL_ERR_PROTOCOL, POOL_ERR_PROTOCOL};

    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
        writer w = {.data = frame, .len = flen, .stop_after = stops[i]};
        pthread_t th;
        int sv[2];
        char *got = NULL;
        uint32_t len = 0;
        int64_t t0;

        make_pair(sv);
        w.fd = sv[1];
        ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &w), 0);
        t0 = pool_monotonic_ms();
        pool_error_reset();
        ck_assert_int_eq(pool_frame_recv(sv[0], 0, 5000, NULL, &got, &len), -1);
        ck_assert_msg(pool_monotonic_ms() - t0 < 4000, "closing peer was not noticed");
        ck_assert_msg(pool_error_last_code() == codes[i], "stop %zu: %s", stops[i],
                      pool_error_last_message());
        ck_assert_ptr_null(got);
        pthread_join(th, NULL);
        close(sv[0]);
    }
}
END_TEST

START_TEST(test_recv_timeout)
{
    int sv[2];
    char *got = NULL;
    uint32_t len = 0;
    int64_t t0;
    int64_t dt;

    make_pair(sv);
    t0 = pool_monotonic_ms();
    ck_assert_int_eq(pool_frame_recv(sv[0], 0, 200, NULL, &got, &len), -1);
    dt = pool_monotonic_ms() - t0;
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_TIMEOUT);
    ck_assert_int_ge(dt, 150);
    ck_assert_int_lt(dt, 3000);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* A peer trickling bytes cannot stretch the deadline: it is for the frame. */
START_TEST(test_recv_timeout_trickle)
{
    const char *payload = "<request id=\"1\" op=\"pool-list\"/>";
    size_t flen = 0;
    POOL_AUTOFREE(uint8_t *) frame = make_frame(payload, &flen);
    writer w = {.data = frame, .len = flen, .stop_after = flen, .delay_us = 50000};
    pthread_t th;
    int sv[2];
    char *got = NULL;
    uint32_t len = 0;
    int64_t t0;
    int64_t dt;

    make_pair(sv);
    w.fd = sv[1];
    ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &w), 0);
    t0 = pool_monotonic_ms();
    ck_assert_int_eq(pool_frame_recv(sv[0], 0, 300, NULL, &got, &len), -1);
    dt = pool_monotonic_ms() - t0;
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_TIMEOUT);
    ck_assert_int_lt(dt, 1500);
    close(sv[0]); /* the writer sees EPIPE and stops */
    pthread_join(th, NULL);
}
END_TEST

typedef struct {
    int fd;
    const char *payload;
    uint32_t len;
    int rc;
} sender;

static void *sender_thread(void *arg)
{
    sender *s = arg;
    s->rc = pool_frame_send(s->fd, POOL_FRAME_REPLY, s->payload, s->len);
    return NULL;
}

/* A payload larger than the socket buffer needs many partial writes. */
START_TEST(test_large_frame)
{
    const uint32_t n = 3u * 1024 * 1024;
    char *big = malloc(n + 1);
    sender s;
    pthread_t th;
    int sv[2];
    char *got = NULL;
    uint32_t len = 0;
    uint16_t type = 0;

    ck_assert_ptr_nonnull(big);
    for (uint32_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    make_pair(sv);
    s = (sender){.fd = sv[1], .payload = big, .len = n};
    ck_assert_int_eq(pthread_create(&th, NULL, sender_thread, &s), 0);
    ck_assert_msg(pool_frame_recv(sv[0], 0, 20000, &type, &got, &len) == 0, "%s",
                  pool_error_last_message());
    pthread_join(th, NULL);
    ck_assert_int_eq(s.rc, 0);
    ck_assert_uint_eq(len, n);
    ck_assert(memcmp(got, big, n) == 0);
    free(got);

    /* the receiver's limit is enforced */
    s = (sender){.fd = sv[1], .payload = big, .len = n};
    ck_assert_int_eq(pthread_create(&th, NULL, sender_thread, &s), 0);
    ck_assert_int_eq(pool_frame_recv(sv[0], 1024 * 1024, 20000, &type, &got, &len), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
    close(sv[0]); /* sender fails with EPIPE, not SIGPIPE */
    pthread_join(th, NULL);
    ck_assert_int_eq(s.rc, -1);
    close(sv[1]);
    free(big);
}
END_TEST

START_TEST(test_send_to_closed_peer)
{
    int sv[2];

    make_pair(sv);
    close(sv[0]);
    /* would kill the process with SIGPIPE without MSG_NOSIGNAL */
    ck_assert_int_eq(pool_frame_send(sv[1], POOL_FRAME_REQUEST, "abc", 3), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    close(sv[1]);
}
END_TEST

START_TEST(test_pipe)
{
    int p[2];
    char *got = NULL;
    uint32_t len = 0;

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(pool_frame_send(p[1], POOL_FRAME_REQUEST, "<a/>", 4), 0);
    ck_assert_int_eq(pool_frame_recv(p[0], 0, 1000, NULL, &got, &len), 0);
    ck_assert_str_eq(got, "<a/>");
    free(got);
    close(p[1]);
    ck_assert_int_eq(pool_frame_recv(p[0], 0, 1000, NULL, &got, &len), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONNECT);
    close(p[0]);
}
END_TEST

/* ---- requests ------------------------------------------------------------- */

START_TEST(test_request_round_trip)
{
    POOL_AUTOPTR(poolRequest) req = pool_request_new("volume-create");
    POOL_AUTOPTR(poolRequest) back = NULL;
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    POOL_AUTOFREE(char *) rng = test_schema_path("request.rng");
    POOL_AUTOSTRV devs = NULL;
    size_t len = 0;
    size_t len2 = 0;
    bool b = false;
    static const char *const values[][2] = {
        {"pool", "pool1"},
        {"device", "/dev/loop0"},
        {"device", "/dev/loop1"},
        {"empty", ""},
        {"spaces", "   "},
        {"markup", "<a href=\"x\">&amp; ' </a>]]>"},
        {"multi-line", "line one\n\tline two\n"},
        {"unicode", "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x92\xbe"},
        {"force", "yes"},
        {"x0-9", "0"},
    };

    ck_assert_ptr_nonnull(req);
    req->id = UINT64_MAX;
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        ck_assert_int_eq(pool_request_add(req, values[i][0], values[i][1]), 0);
    xml = pool_request_format(req, &len);
    ck_assert_ptr_nonnull(xml);
    ck_assert_uint_eq(len, strlen(xml));
    ck_assert_msg(pool_xml_validate_string(xml, len, rng) == 0, "%s\n%s", pool_error_last_message(),
                  xml);
    back = pool_request_parse(xml, len);
    ck_assert_msg(back != NULL, "%s\n%s", pool_error_last_message(), xml);
    ck_assert_uint_eq(back->id, UINT64_MAX);
    ck_assert_str_eq(back->op, "volume-create");
    ck_assert_uint_eq(back->nparams, req->nparams);
    for (size_t i = 0; i < req->nparams; i++) {
        ck_assert_str_eq(back->params[i].name, req->params[i].name);
        ck_assert_msg(strcmp(back->params[i].value, req->params[i].value) == 0,
                      "param %s: '%s' != '%s'", req->params[i].name, back->params[i].value,
                      req->params[i].value);
    }
    xml2 = pool_request_format(back, &len2);
    ck_assert_str_eq(xml, xml2);

    ck_assert_str_eq(pool_request_get(back, "pool"), "pool1");
    ck_assert_str_eq(pool_request_get(back, "device"), "/dev/loop0");
    ck_assert_ptr_null(pool_request_get(back, "nope"));
    devs = pool_request_get_all(back, "device");
    ck_assert_ptr_nonnull(devs);
    ck_assert_str_eq(devs[0], "/dev/loop0");
    ck_assert_str_eq(devs[1], "/dev/loop1");
    ck_assert_ptr_null(devs[2]);
    {
        POOL_AUTOSTRV none = pool_request_get_all(back, "nope");
        ck_assert_ptr_nonnull(none);
        ck_assert_ptr_null(none[0]);
    }
    ck_assert_int_eq(pool_request_get_bool(back, "force", false, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(pool_request_get_bool(back, "x0-9", true, &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(pool_request_get_bool(back, "nope", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(pool_request_get_bool(back, "pool", true, &b), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_request_bools)
{
    static const struct {
        const char *v;
        int rc;
        bool out;
    } cases[] = {{"yes", 0, true},    {"true", 0, true}, {"1", 0, true},     {"no", 0, false},
                 {"false", 0, false}, {"0", 0, false},   {"YES", -1, false}, {"", -1, false},
                 {"2", -1, false},    {"on", -1, false}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        POOL_AUTOPTR(poolRequest) req = pool_request_new("x");
        bool b = !cases[i].out;
        ck_assert_int_eq(pool_request_add(req, "b", cases[i].v), 0);
        ck_assert_int_eq(pool_request_get_bool(req, "b", false, &b), cases[i].rc);
        if (cases[i].rc == 0)
            ck_assert_int_eq(b, cases[i].out);
    }
}
END_TEST

START_TEST(test_request_rejects_bad_input)
{
    POOL_AUTOPTR(poolRequest) req = pool_request_new("pool-list");
    static const char *const bad_names[] = {
        "",
        "Pool",
        "a_b",
        "a b",
        "a.b",
        "\xc3\xa9",
        "a2345678901234567890123456789012345678901234567890123456789012345", /* 65 */
    };
    static const char *const bad_values[] = {
        "a\x01", "a\rb", "\x1b[31mred",  "a\x7f",        "a\xc2\x85",
        "\xff",  "\xc3", "\xed\xa0\x80", "\xef\xbf\xbe",
    };

    ck_assert_ptr_nonnull(req);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        ck_assert_ptr_null(pool_request_new(bad_names[i]));
        ck_assert_int_eq(pool_request_add(req, bad_names[i], "v"), -1);
    }
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
        ck_assert_msg(pool_request_add(req, "v", bad_values[i]) == -1, "value %zu accepted", i);
    ck_assert_int_eq(pool_request_add(req, "v", NULL), -1);
    ck_assert_ptr_null(pool_request_new(NULL));
    ck_assert_uint_eq(req->nparams, 0);
    /* 64 characters is the longest name */
    ck_assert_int_eq(
        pool_request_add(req, "a234567890123456789012345678901234567890123456789012345678901234",
                         "ok"),
        0);
}
END_TEST

static const char *const bad_requests[] = {
    "",
    "garbage",
    "<request id=\"1\" op=\"x\">",
    "<reply id=\"1\" status=\"ok\"/>",
    "<request op=\"x\"/>",
    "<request id=\"1\"/>",
    "<request id=\"-1\" op=\"x\"/>",
    "<request id=\"18446744073709551616\" op=\"x\"/>",
    "<request id=\"1x\" op=\"x\"/>",
    "<request id=\"\" op=\"x\"/>",
    "<request id=\"1\" op=\"\"/>",
    "<request id=\"1\" op=\"Pool\"/>",
    "<request id=\"1\" op=\"pool list\"/>",
    "<request id=\"1\" op=\"x\" extra=\"1\"/>",
    "<request xmlns=\"urn:x\" id=\"1\" op=\"x\"/>",
    "<request id=\"1\" op=\"x\"><foo/></request>",
    "<request id=\"1\" op=\"x\">text</request>",
    "<request id=\"1\" op=\"x\"><param>v</param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"A\">v</param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"a\" x=\"1\">v</param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"a\"><b/></param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"a\">&#13;</param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"a\">&#127;</param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"a\">&#x85;</param></request>",
    "<request id=\"1\" op=\"x\"><param name=\"a\">&#1;</param></request>",
    "<!DOCTYPE request><request id=\"1\" op=\"x\"/>",
    "<!DOCTYPE r [<!ENTITY e \"x\">]><request id=\"1\" op=\"x\"><param "
    "name=\"a\">&e;</param></request>",
    "<request id=\"1\" op=\"x\"/><request id=\"2\" op=\"y\"/>",
};

START_TEST(test_request_parse_rejects)
{
    const char *xml = bad_requests[_i];

    pool_error_reset();
    ck_assert_msg(pool_request_parse(xml, strlen(xml)) == NULL, "accepted: %s", xml);
    ck_assert_msg(pool_error_last_code() == POOL_ERR_PROTOCOL, "%s: code %d (%s)", xml,
                  pool_error_last_code(), pool_error_last_message());
}
END_TEST

START_TEST(test_request_whitespace_values)
{
    /* Whitespace-only and indented values are kept verbatim. */
    const char *xml = "<request id=\"5\" op=\"x\">\n  <param name=\"a\">  </param>\n"
                      "  <param name=\"b\">\n\tv\n</param>\n  <param name=\"c\"/>\n"
                      "  <!-- comment -->\n</request>\n";
    POOL_AUTOPTR(poolRequest) req = pool_request_parse(xml, strlen(xml));

    ck_assert_msg(req != NULL, "%s", pool_error_last_message());
    ck_assert_uint_eq(req->id, 5);
    ck_assert_uint_eq(req->nparams, 3);
    ck_assert_str_eq(req->params[0].value, "  ");
    ck_assert_str_eq(req->params[1].value, "\n\tv\n");
    ck_assert_str_eq(req->params[2].value, "");
}
END_TEST

/* ---- replies -------------------------------------------------------------- */

static poolVolDef *make_vol(void)
{
    const char *xml = "<volume><name>web01</name><uuid>6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b</uuid>"
                      "<pool>pool1</pool><capacity unit=\"MiB\">4</capacity><format type=\"raw\"/>"
                      "<lease slot=\"2\"/><created>1</created></volume>";
    poolVolDef *v = pool_vol_def_parse_string(xml, strlen(xml));
    ck_assert_msg(v != NULL, "%s", pool_error_last_message());
    return v;
}

START_TEST(test_reply_ok_round_trip)
{
    POOL_AUTOPTR(poolVolDef) vol = make_vol();
    POOL_AUTOFREE(char *) rng = test_schema_path("reply.rng");
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    xmlDocPtr doc = pool_reply_new_ok(42);
    xmlDocPtr back = NULL;
    xmlNodePtr node = NULL;
    xmlNodePtr res = NULL;
    size_t len = 0;
    size_t len2 = 0;
    POOL_AUTOPTR(poolVolDef) vol2 = NULL;

    ck_assert_ptr_nonnull(doc);
    node = pool_vol_def_format_node(vol);
    ck_assert_ptr_nonnull(node);
    ck_assert_ptr_nonnull(xmlAddChild(xmlDocGetRootElement(doc), node));
    res = xmlNewChild(xmlDocGetRootElement(doc), NULL, BAD_CAST "result", NULL);
    xmlNewProp(res, BAD_CAST "command", BAD_CAST "host-list");
    xmlNewTextChild(res, NULL, BAD_CAST "host", BAD_CAST "kvm1 \xc3\xa9");
    xml = pool_reply_format(doc, &len);
    ck_assert_ptr_nonnull(xml);
    ck_assert_uint_eq(len, strlen(xml));
    ck_assert_msg(pool_xml_validate_string(xml, len, rng) == 0, "%s\n%s", pool_error_last_message(),
                  xml);

    back = pool_reply_parse(xml, len, 42);
    ck_assert_msg(back != NULL, "%s", pool_error_last_message());
    node = xmlDocGetRootElement(back)->children;
    while (node && node->type != XML_ELEMENT_NODE)
        node = node->next;
    ck_assert_ptr_nonnull(node);
    vol2 = pool_vol_def_parse_node(node);
    ck_assert_msg(vol2 != NULL, "%s", pool_error_last_message());
    ck_assert_str_eq(vol2->name, "web01");
    ck_assert_int_eq(vol2->lease_slot, 2);
    /* format is a fixed point, and the embedded volume is the canonical text */
    xml2 = pool_reply_format(back, &len2);
    ck_assert_str_eq(xml, xml2);
    ck_assert_ptr_nonnull(strstr(xml, "    <name>web01</name>\n"));
    xmlFreeDoc(back);

    /* the id must match the request */
    pool_error_reset();
    ck_assert_ptr_null(pool_reply_parse(xml, len, 43));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
    xmlFreeDoc(doc);

    doc = pool_reply_new_ok(0);
    free(xml);
    xml = pool_reply_format(doc, &len);
    ck_assert_str_eq(xml, "<reply id=\"0\" status=\"ok\"/>\n");
    back = pool_reply_parse(xml, len, 0);
    ck_assert_ptr_nonnull(back);
    xmlFreeDoc(back);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_reply_error_round_trip)
{
    POOL_AUTOFREE(char *) rng = test_schema_path("reply.rng");
    POOL_AUTOFREE(char *) xml = NULL;
    poolError err = {.code = POOL_ERR_NO_VOLUME,
                     .message = (char *)"volume 'web01' not found in pool 'pool1'",
                     .file = (char *)"../libpool/volume_ops.c",
                     .func = (char *)"pool_manager_vol_delete",
                     .line = 212};
    xmlDocPtr doc = pool_reply_new_error(9, &err);
    const poolError *got = NULL;
    size_t len = 0;

    ck_assert_ptr_nonnull(doc);
    xml = pool_reply_format(doc, &len);
    xmlFreeDoc(doc);
    ck_assert_ptr_nonnull(xml);
    ck_assert_msg(pool_xml_validate_string(xml, len, rng) == 0, "%s\n%s", pool_error_last_message(),
                  xml);
    ck_assert_ptr_nonnull(strstr(xml, "code=\"no-volume\""));
    pool_error_reset();
    ck_assert_ptr_null(pool_reply_parse(xml, len, 9));
    got = pool_error_last();
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(got->code, POOL_ERR_NO_VOLUME);
    ck_assert_str_eq(got->message, err.message);
    ck_assert_str_eq(got->file, err.file);
    ck_assert_str_eq(got->func, err.func);
    ck_assert_int_eq(got->line, 212);

    /* an error reply for another request is a protocol error instead */
    ck_assert_ptr_null(pool_reply_parse(xml, len, 10));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_PROTOCOL);
}
END_TEST

START_TEST(test_reply_error_sanitized)
{
    POOL_AUTOFREE(char *) rng = test_schema_path("reply.rng");
    POOL_AUTOFREE(char *) xml = NULL;
    poolError err = {.code = POOL_ERR_LVM,
                     .message = (char *)"lvcreate failed:\r\n\x1b[31m  bad \xff\xfe byte\x7f\n"
                                        "\tdone <&>",
                     .file = (char *)"f\x01.c",
                     .func = NULL,
                     .line = -5};
    xmlDocPtr doc = pool_reply_new_error(1, &err);
    size_t len = 0;

    ck_assert_ptr_nonnull(doc);
    xml = pool_reply_format(doc, &len);
    xmlFreeDoc(doc);
    ck_assert_ptr_nonnull(xml);
    ck_assert_msg(pool_xml_validate_string(xml, len, rng) == 0, "%s\n%s", pool_error_last_message(),
                  xml);
    ck_assert_ptr_null(pool_reply_parse(xml, len, 1));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    ck_assert_str_eq(pool_error_last_message(),
                     "lvcreate failed:?\n?[31m  bad ?? byte?\n\tdone <&>");
    ck_assert_str_eq(pool_error_last()->file, "f?.c");
    ck_assert_int_eq(pool_error_last()->line, 0);

    /* no error at all: still a well-formed internal error */
    doc = pool_reply_new_error(2, NULL);
    ck_assert_ptr_nonnull(doc);
    free(xml);
    xml = pool_reply_format(doc, &len);
    xmlFreeDoc(doc);
    ck_assert_msg(pool_xml_validate_string(xml, len, rng) == 0, "%s", pool_error_last_message());
    ck_assert_ptr_null(pool_reply_parse(xml, len, 2));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INTERNAL);
}
END_TEST

START_TEST(test_reply_unknown_code)
{
    const char *xml = "<reply id=\"1\" status=\"error\"><error code=\"from-the-future\">"
                      "new failure</error></reply>";

    ck_assert_ptr_null(pool_reply_parse(xml, strlen(xml), 1));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INTERNAL);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "new failure"));
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "from-the-future"));
}
END_TEST

static const char *const bad_replies[] = {
    "",
    "garbage",
    "<reply id=\"7\" status=\"ok\">",
    "<request id=\"7\" op=\"x\"/>",
    "<reply status=\"ok\"/>",
    "<reply id=\"7\"/>",
    "<reply id=\"-7\" status=\"ok\"/>",
    "<reply id=\"7\" status=\"maybe\"/>",
    "<reply id=\"7\" status=\"ok\" x=\"1\"/>",
    "<reply id=\"7\" status=\"ok\"><host/></reply>",
    "<reply id=\"7\" status=\"ok\">text</reply>",
    "<reply id=\"7\" status=\"error\"/>",
    "<reply id=\"7\" status=\"error\"><error>no code</error></reply>",
    "<reply id=\"7\" status=\"error\"><error code=\"BAD CODE\">x</error></reply>",
    "<reply id=\"7\" status=\"error\"><error code=\"internal\" line=\"-1\">x</error></reply>",
    "<reply id=\"7\" status=\"error\"><error code=\"internal\" x=\"1\">x</error></reply>",
    "<reply id=\"7\" status=\"error\"><error code=\"internal\"><b/></error></reply>",
    "<reply id=\"7\" status=\"error\"><error code=\"internal\">x</error><error "
    "code=\"internal\">y</error></reply>",
    "<!DOCTYPE reply><reply id=\"7\" status=\"ok\"/>",
};

START_TEST(test_reply_parse_rejects)
{
    const char *xml = bad_replies[_i];

    pool_error_reset();
    ck_assert_msg(pool_reply_parse(xml, strlen(xml), 7) == NULL, "accepted: %s", xml);
    ck_assert_msg(pool_error_last_code() == POOL_ERR_PROTOCOL, "%s: code %d (%s)", xml,
                  pool_error_last_code(), pool_error_last_message());
}
END_TEST

/* ---- the examples in xml-schemas/examples -------------------------------- */

static const struct {
    const char *file;
    bool ok;            /* parses (request) / is an ok reply */
    poolErrorCode code; /* error replies: the carried code */
} examples[] = {
    {"request-volume-create.xml", true, 0},
    {"request-pool-define.xml", true, 0},
    {"request-pool-list.xml", true, 0},
    {"request-bad-op-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"request-missing-id-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"request-nested-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"request-negative-id-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"request-unknown-element-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"reply-ok-empty.xml", true, 0},
    {"reply-ok-volume.xml", true, 0},
    {"reply-ok-list.xml", true, 0},
    {"reply-ok-result.xml", true, 0},
    {"reply-error.xml", false, POOL_ERR_NO_VOLUME},
    {"reply-bad-status-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"reply-error-without-code-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"reply-unknown-element-invalid.xml", false, POOL_ERR_PROTOCOL},
    {"reply-error-missing-invalid.xml", false, POOL_ERR_PROTOCOL},
};

/* The id attribute of the example's root, read with plain string search. */
static uint64_t example_id(const char *data)
{
    const char *p = strstr(data, " id=\"");
    return p ? strtoull(p + 5, NULL, 10) : 0;
}

START_TEST(test_examples)
{
    const char *name = examples[_i].file;
    POOL_AUTOFREE(char *) path = NULL;
    POOL_AUTOFREE(char *) data = NULL;
    size_t len = 0;

    ck_assert_int_ge(asprintf(&path, "%s/xml-schemas/examples/%s", test_srcdir(), name), 0);
    data = test_read_file(path, &len);
    pool_error_reset();
    if (strncmp(name, "request-", 8) == 0) {
        POOL_AUTOPTR(poolRequest) req = pool_request_parse(data, len);
        if (examples[_i].ok) {
            POOL_AUTOFREE(char *) out = NULL;
            POOL_AUTOFREE(char *) rng = test_schema_path("request.rng");
            POOL_AUTOPTR(poolRequest) again = NULL;
            size_t olen = 0;

            ck_assert_msg(req != NULL, "%s: %s", name, pool_error_last_message());
            out = pool_request_format(req, &olen);
            ck_assert_ptr_nonnull(out);
            ck_assert_int_eq(pool_xml_validate_string(out, olen, rng), 0);
            again = pool_request_parse(out, olen);
            ck_assert_ptr_nonnull(again);
            ck_assert_uint_eq(again->nparams, req->nparams);
        } else {
            ck_assert_msg(req == NULL, "%s accepted", name);
            ck_assert_int_eq(pool_error_last_code(), examples[_i].code);
        }
    } else {
        xmlDocPtr doc = pool_reply_parse(data, len, example_id(data));
        if (examples[_i].ok) {
            ck_assert_msg(doc != NULL, "%s: %s", name, pool_error_last_message());
            /* pool and volume results parse with the strict parsers */
            for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
                if (n->type != XML_ELEMENT_NODE)
                    continue;
                if (xmlStrEqual(n->name, BAD_CAST "volume")) {
                    poolVolDef *v = pool_vol_def_parse_node(n);
                    ck_assert_msg(v != NULL, "%s: %s", name, pool_error_last_message());
                    pool_vol_def_free(v);
                } else if (xmlStrEqual(n->name, BAD_CAST "pool")) {
                    poolPoolDef *p = pool_pool_def_parse_node(n);
                    ck_assert_msg(p != NULL, "%s: %s", name, pool_error_last_message());
                    pool_pool_def_free(p);
                }
            }
            xmlFreeDoc(doc);
        } else {
            ck_assert_msg(doc == NULL, "%s accepted", name);
            ck_assert_msg(pool_error_last_code() == examples[_i].code, "%s: %s", name,
                          pool_error_last_message());
        }
    }
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *frame = tcase_create("frame");
    TCase *msg = tcase_create("message");

    tcase_set_timeout(frame, 60);
    tcase_add_test(frame, test_header_round_trip);
    tcase_add_loop_test(frame, test_header_rejects, 0, BAD_LAST);
    tcase_add_loop_test(frame, test_recv_rejects_bad_header, 0, BAD_LAST);
    tcase_add_test(frame, test_bad_crc);
    tcase_add_test(frame, test_send_recv);
    tcase_add_test(frame, test_recv_one_byte_pieces);
    tcase_add_test(frame, test_recv_peer_closes);
    tcase_add_test(frame, test_recv_timeout);
    tcase_add_test(frame, test_recv_timeout_trickle);
    tcase_add_test(frame, test_large_frame);
    tcase_add_test(frame, test_send_to_closed_peer);
    tcase_add_test(frame, test_pipe);
    suite_add_tcase(s, frame);

    tcase_add_test(msg, test_request_round_trip);
    tcase_add_test(msg, test_request_bools);
    tcase_add_test(msg, test_request_rejects_bad_input);
    tcase_add_loop_test(msg, test_request_parse_rejects, 0,
                        sizeof(bad_requests) / sizeof(bad_requests[0]));
    tcase_add_test(msg, test_request_whitespace_values);
    tcase_add_test(msg, test_reply_ok_round_trip);
    tcase_add_test(msg, test_reply_error_round_trip);
    tcase_add_test(msg, test_reply_error_sanitized);
    tcase_add_test(msg, test_reply_unknown_code);
    tcase_add_loop_test(msg, test_reply_parse_rejects, 0,
                        sizeof(bad_replies) / sizeof(bad_replies[0]));
    tcase_add_loop_test(msg, test_examples, 0, sizeof(examples) / sizeof(examples[0]));
    suite_add_tcase(s, msg);
    return s;
}

int main(void)
{
    return test_run_suite(proto_suite());
}
