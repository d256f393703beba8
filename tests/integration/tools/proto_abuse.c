/*
 * proto_abuse.c: throws truncated, oversized, garbage and otherwise wrong
 * frames and requests at a live poold and checks that each is refused with
 * a clear error, and that the daemon keeps serving everyone else.
 *
 * usage: proto_abuse SOCKET POOL   (POOL: an existing pool for param checks)
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "pool-error.h"
#include "pool-proto.h"

static const char *sock_path;
static int failures, checks;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

static int dial(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

/* Read one reply frame; returns the payload (caller frees) or NULL. */
static char *read_reply(int fd, int timeout_ms)
{
    uint16_t type;
    char *payload = NULL;
    uint32_t len;
    if (pool_frame_recv(fd, 1u << 24, timeout_ms, &type, &payload, &len) < 0)
        return NULL;
    return payload;
}

/* After an error reply the daemon must close the connection. */
static int peer_closed(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    char c;
    /* EOF, or ECONNRESET when the daemon closed with our bytes unread */
    return read(fd, &c, 1) <= 0;
}

static int still_serving(void)
{
    int fd = dial();
    poolRequest *r = pool_request_new("daemon-version");
    r->id = 42;
    size_t len;
    char *p = pool_request_format(r, &len);
    int ok = pool_frame_send(fd, POOL_FRAME_REQUEST, p, (uint32_t)len) == 0;
    char *reply = ok ? read_reply(fd, 10000) : NULL;
    xmlDocPtr doc = reply ? pool_reply_parse(reply, strlen(reply), 42) : NULL;
    ok = doc != NULL;
    if (doc)
        xmlFreeDoc(doc);
    free(reply);
    free(p);
    pool_request_free(r);
    close(fd);
    return ok;
}

static char *roundtrip_raw(const void *bytes, size_t n, int *closed)
{
    int fd = dial();
    if (write(fd, bytes, n) != (ssize_t)n)
        return NULL;
    char *reply = read_reply(fd, 10000);
    *closed = peer_closed(fd, 3000);
    close(fd);
    return reply;
}

static void expect_error_reply(const char *what, const void *bytes, size_t n, uint64_t id,
                               const char *code, const char *text, int must_close)
{
    int closed = 0;
    char *reply = roundtrip_raw(bytes, n, &closed);
    CHECK(reply != NULL, "%s: no reply", what);
    if (reply) {
        pool_error_reset();
        xmlDocPtr doc = pool_reply_parse(reply, strlen(reply), id);
        CHECK(doc == NULL, "%s: got an ok reply", what);
        if (doc)
            xmlFreeDoc(doc);
        const poolError *e = pool_error_last();
        CHECK(e && strcmp(pool_error_code_name(e->code), code) == 0, "%s: code %s, wanted %s", what,
              e ? pool_error_code_name(e->code) : "none", code);
        CHECK(e && strstr(e->message, text), "%s: message '%s' lacks '%s'", what,
              e ? e->message : "", text);
        free(reply);
    }
    if (must_close)
        CHECK(closed, "%s: connection not closed", what);
    CHECK(still_serving(), "%s: daemon stopped serving", what);
}

static size_t frame(uint8_t *buf, uint16_t type, const char *payload)
{
    size_t len = strlen(payload);
    pool_frame_header_encode(buf, type, payload, (uint32_t)len);
    memcpy(buf + POOL_PROTO_HEADER_SIZE, payload, len);
    return POOL_PROTO_HEADER_SIZE + len;
}

static void request_error(const char *what, const char *xml, const char *code, const char *text)
{
    uint8_t buf[8192];
    size_t n = frame(buf, POOL_FRAME_REQUEST, xml);
    expect_error_reply(what, buf, n, 1, code, text, 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET POOL\n", argv[0]);
        return 2;
    }
    sock_path = argv[1];
    const char *pool = argv[2];
    uint8_t buf[8192];

    CHECK(still_serving(), "daemon not serving at start");

    /* truncated header, then the peer goes away */
    {
        int fd = dial();
        CHECK(write(fd, "POOL\1", 5) == 5, "write");
        close(fd);
        CHECK(still_serving(), "truncated header: daemon stopped serving");
    }
    /* truncated payload: header promises 100 bytes, 10 arrive, then close */
    {
        int fd = dial();
        size_t n = frame(buf, POOL_FRAME_REQUEST, "<request id=\"1\" op=\"pool-list\"/>");
        CHECK(write(fd, buf, 26) == 26, "write");
        close(fd);
        (void)n;
        CHECK(still_serving(), "truncated payload: daemon stopped serving");
    }
    /* garbage */
    {
        memcpy(buf, "GET / HTTP/1.1\r\n\r\n", 18);
        expect_error_reply("garbage", buf, 18, 0, "protocol", "magic", 1);
    }
    /* oversized: 1 GiB announced, refused from the header alone */
    {
        uint8_t h[POOL_PROTO_HEADER_SIZE];
        pool_frame_header_encode(h, POOL_FRAME_REQUEST, "x", 1);
        uint32_t big = 1u << 30;
        memcpy(h + 8, &big, 4); /* little-endian host */
        expect_error_reply("oversized", h, sizeof(h), 0, "protocol", "", 1);
    }
    /* bad version */
    {
        size_t n = frame(buf, POOL_FRAME_REQUEST, "<request id=\"1\" op=\"pool-list\"/>");
        buf[4] = 99;
        expect_error_reply("bad version", buf, n, 0, "protocol", "version", 1);
    }
    /* bad checksum */
    {
        size_t n = frame(buf, POOL_FRAME_REQUEST, "<request id=\"1\" op=\"pool-list\"/>");
        buf[n - 3] ^= 0x20;
        expect_error_reply("bad crc", buf, n, 0, "protocol", "", 1);
    }
    /* a reply frame sent to the daemon */
    {
        size_t n = frame(buf, POOL_FRAME_REPLY, "<reply id=\"1\" status=\"ok\"/>");
        expect_error_reply("reply frame", buf, n, 0, "protocol", "request", 1);
    }
    /* well-framed but wrong requests: error reply, daemon keeps serving */
    request_error("not xml", "this is not xml", "protocol", "");
    request_error("wrong root", "<pool/>", "protocol", "");
    request_error("unknown op", "<request id=\"1\" op=\"format-disk\"/>", "protocol",
                  "unknown operation");
    request_error("unknown param",
                  "<request id=\"1\" op=\"pool-list\"><param name=\"evil\">1</param></request>",
                  "protocol", "evil");
    char xml[1024];
    snprintf(xml, sizeof(xml),
             "<request id=\"1\" op=\"volume-create\"><param name=\"pool\">%s</param>"
             "<param name=\"name\">../etc</param><param name=\"size\">1G</param></request>",
             pool);
    request_error("bad name bypassing poolctl", xml, "invalid-argument", "name");
    snprintf(xml, sizeof(xml),
             "<request id=\"1\" op=\"volume-create\"><param name=\"pool\">%s</param>"
             "<param name=\"name\">ok</param><param name=\"size\">-5G</param></request>",
             pool);
    request_error("bad size bypassing poolctl", xml, "invalid-argument", "size");
    request_error("missing param", "<request id=\"1\" op=\"volume-list\"/>", "invalid-argument",
                  "pool");
    request_error("entity expansion",
                  "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>"
                  "<request id=\"1\" op=\"&b;\"/>",
                  "protocol", "");

    /* a stalled client is dropped after client_timeout, others are served
     * meanwhile */
    {
        int fd = dial();
        CHECK(write(fd, "POOL", 4) == 4, "write");
        CHECK(still_serving(), "stalled client blocks others");
        CHECK(peer_closed(fd, 20000), "stalled client not dropped");
        close(fd);
    }
    /* a client that connects and says nothing is dropped too */
    {
        int fd = dial();
        CHECK(peer_closed(fd, 20000), "idle client not dropped");
        close(fd);
    }
    /* many idle connections at once do not block service */
    {
        int fds[30];
        for (int i = 0; i < 30; i++)
            fds[i] = dial();
        CHECK(still_serving(), "30 idle connections block service");
        for (int i = 0; i < 30; i++)
            close(fds[i]);
    }
    xmlCleanupParser();
    printf("# proto_abuse: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
