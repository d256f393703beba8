/*
 * qemu_img.c: qemu-img on explicit chains over poold's NBD exports (see
 * qemu_img.h).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-command.h"
#include "pool-error.h"
#include "pool-log.h"
#include "qemu_img.h"

#define QEMU_IMG       "qemu-img"
#define JSON_MAX_DEPTH 64

/* --- pure parsers --------------------------------------------------------- */

int poold_qemu_progress_parse(const char *buf, size_t len, double *pct)
{
    int found = 0;

    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '(')
            continue;
        /* "(" digits [ "." digits ] "/100%)" */
        size_t j = i + 1;
        double v = 0, scale = 0;
        bool digits = false;
        while (j < len && buf[j] >= '0' && buf[j] <= '9') {
            v = v * 10 + (buf[j++] - '0');
            digits = true;
        }
        if (j < len && buf[j] == '.') {
            j++;
            scale = 1;
            while (j < len && buf[j] >= '0' && buf[j] <= '9') {
                scale /= 10;
                v += (buf[j++] - '0') * scale;
            }
        }
        if (!digits || len - j < 6 || memcmp(buf + j, "/100%)", 6) != 0 || v > 100)
            continue;
        *pct = v;
        found = 1;
    }
    return found;
}

typedef struct {
    const char *p, *end;
} jsonIn;

static void json_ws(jsonIn *in)
{
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
        in->p++;
}

static int json_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string starting at in->p ('"'); its raw contents in [*s, *s + *n). */
static int json_string(jsonIn *in, const char **s, size_t *n)
{
    if (in->p >= in->end || *in->p != '"')
        return -1;
    const char *start = ++in->p;
    while (in->p < in->end) {
        unsigned char c = (unsigned char)*in->p;
        if (c == '"') {
            if (s) {
                *s = start;
                *n = (size_t)(in->p - start);
            }
            in->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (++in->p >= in->end)
                return -1;
            c = (unsigned char)*in->p;
            if (c == 'u') {
                if (in->end - in->p < 5)
                    return -1;
                for (int k = 1; k <= 4; k++)
                    if (!json_hex(in->p[k]))
                        return -1;
                in->p += 4;
            } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
                return -1;
            }
        }
        in->p++;
    }
    return -1;
}

static int json_digits(jsonIn *in)
{
    const char *s = in->p;
    while (in->p < in->end && *in->p >= '0' && *in->p <= '9')
        in->p++;
    return in->p > s ? 0 : -1;
}

static int json_number(jsonIn *in)
{
    if (in->p < in->end && *in->p == '-')
        in->p++;
    if (in->p < in->end && *in->p == '0')
        in->p++;
    else if (json_digits(in) < 0)
        return -1;
    if (in->p < in->end && *in->p == '.') {
        in->p++;
        if (json_digits(in) < 0)
            return -1;
    }
    if (in->p < in->end && (*in->p == 'e' || *in->p == 'E')) {
        in->p++;
        if (in->p < in->end && (*in->p == '+' || *in->p == '-'))
            in->p++;
        if (json_digits(in) < 0)
            return -1;
    }
    return 0;
}

static int json_word(jsonIn *in, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(in->end - in->p) < n || memcmp(in->p, w, n) != 0)
        return -1;
    in->p += n;
    return 0;
}

static int json_value(jsonIn *in, int depth);

/* Object or array at in->p; for a top-level object, each member is
 * offered to fn (key, value start). */
static int json_container(jsonIn *in, int depth, int (*fn)(void *, const char *, size_t, jsonIn *),
                          void *opaque)
{
    bool obj = *in->p == '{';
    char close = obj ? '}' : ']';

    if (depth >= JSON_MAX_DEPTH)
        return -1;
    in->p++;
    json_ws(in);
    if (in->p < in->end && *in->p == close) {
        in->p++;
        return 0;
    }
    for (;;) {
        json_ws(in);
        if (obj) {
            const char *k;
            size_t kn;
            if (json_string(in, &k, &kn) < 0)
                return -1;
            json_ws(in);
            if (in->p >= in->end || *in->p != ':')
                return -1;
            in->p++;
            json_ws(in);
            if (fn) {
                jsonIn at = *in;
                if (fn(opaque, k, kn, &at) < 0)
                    return -1;
            }
        }
        if (json_value(in, depth + 1) < 0)
            return -1;
        json_ws(in);
        if (in->p >= in->end)
            return -1;
        if (*in->p == close) {
            in->p++;
            return 0;
        }
        if (*in->p != ',')
            return -1;
        in->p++;
    }
}

static int json_value(jsonIn *in, int depth)
{
    json_ws(in);
    if (in->p >= in->end)
        return -1;
    switch (*in->p) {
    case '{':
    case '[':
        return json_container(in, depth, NULL, NULL);
    case '"':
        return json_string(in, NULL, NULL);
    case 't':
        return json_word(in, "true");
    case 'f':
        return json_word(in, "false");
    case 'n':
        return json_word(in, "null");
    default:
        return json_number(in);
    }
}

typedef struct {
    const char *key;
    bool found;
    bool bad;
    uint64_t v;
} jsonLookup;

static int lookup_member(void *opaque, const char *k, size_t kn, jsonIn *at)
{
    jsonLookup *l = opaque;
    uint64_t v = 0;

    if (l->found || strlen(l->key) != kn || memcmp(l->key, k, kn) != 0)
        return 0;
    l->found = true;
    if (at->p >= at->end || *at->p < '0' || *at->p > '9') {
        l->bad = true;
        return 0;
    }
    while (at->p < at->end && *at->p >= '0' && *at->p <= '9') {
        unsigned d = (unsigned)(*at->p++ - '0');
        if (v > (UINT64_MAX - d) / 10) {
            l->bad = true;
            return 0;
        }
        v = v * 10 + d;
    }
    if (at->p < at->end && (*at->p == '.' || *at->p == 'e' || *at->p == 'E'))
        l->bad = true;
    l->v = v;
    return 0;
}

int poold_qemu_json_get_u64(const char *json, size_t len, const char *key, uint64_t *v)
{
    jsonIn in = {json, json + len};
    jsonLookup l = {.key = key};

    json_ws(&in);
    if (in.p >= in.end || *in.p != '{')
        return -1;
    if (json_container(&in, 0, lookup_member, &l) < 0)
        return -1;
    json_ws(&in);
    if (in.p != in.end || l.bad)
        return -1;
    if (!l.found)
        return 0;
    *v = l.v;
    return 1;
}

/* --- chains --------------------------------------------------------------- */

/* Append s to *buf as a JSON string (with quotes). */
static int json_put_string(char **buf, const char *s)
{
    size_t n = strlen(s), k = 0;
    char *out = malloc(n * 6 + 3);
    if (!out)
        return pool_error_oom();
    out[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            out[k++] = '\\';
            out[k++] = (char)*p;
        } else if (*p < 0x20) {
            k += (size_t)sprintf(out + k, "\\u%04x", *p);
        } else {
            out[k++] = (char)*p;
        }
    }
    out[k++] = '"';
    out[k] = '\0';
    char *joined = pool_asprintf("%s%s", *buf, out);
    free(out);
    if (!joined)
        return -1;
    free(*buf);
    *buf = joined;
    return 0;
}

static int append(char **buf, const char *s)
{
    char *joined = pool_asprintf("%s%s", *buf, s);
    if (!joined)
        return -1;
    free(*buf);
    *buf = joined;
    return 0;
}

char *poold_qemu_chain_json(const poolQemuLayer *layers, size_t n)
{
    char *buf;

    if (n == 0 || n > POOL_QEMU_CHAIN_MAX + 1) {
        pool_error(POOL_ERR_INVALID_ARG, "a chain has 1 to %d layers, not %zu",
                   POOL_QEMU_CHAIN_MAX + 1, n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const poolQemuLayer *l = &layers[i];
        bool raw = l->format && strcmp(l->format, "raw") == 0;
        if (!l->format || (!raw && strcmp(l->format, "qcow2") != 0)) {
            pool_error(POOL_ERR_INVALID_ARG, "chain layer %zu: format must be raw or qcow2", i);
            return NULL;
        }
        if (raw && i != n - 1) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "chain layer %zu is raw but not the innermost: raw has no backing", i);
            return NULL;
        }
        if (!l->socket_path || !*l->socket_path || !l->export_name || !*l->export_name) {
            pool_error(POOL_ERR_INVALID_ARG, "chain layer %zu: no NBD socket or export name", i);
            return NULL;
        }
    }
    if ((buf = pool_strdup("json:")) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const poolQemuLayer *l = &layers[i];
        if (append(&buf, "{\"driver\":") < 0 || json_put_string(&buf, l->format) < 0 ||
            append(&buf, ",\"file\":{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\",\"path\":") <
                0 ||
            json_put_string(&buf, l->socket_path) < 0 || append(&buf, "},\"export\":") < 0 ||
            json_put_string(&buf, l->export_name) < 0 || append(&buf, "}") < 0)
            goto fail;
        if (strcmp(l->format, "qcow2") == 0 &&
            append(&buf, i == n - 1 ? ",\"backing\":null" : ",\"backing\":") < 0)
            goto fail;
    }
    for (size_t i = 0; i < n; i++)
        if (append(&buf, "}") < 0)
            goto fail;
    return buf;
fail:
    free(buf);
    return NULL;
}

/* --- running qemu-img ----------------------------------------------------- */

typedef struct {
    const poolQemuImgRun *run;
    char tail[64]; /* the unfinished end of the output so far */
    size_t ntail;
} progressState;

static void on_output(void *opaque, const char *chunk, size_t len)
{
    progressState *ps = opaque;
    char buf[sizeof(ps->tail) + 4096];
    double pct;

    while (len > 0) {
        size_t k = len < 4096 ? len : 4096;
        memcpy(buf, ps->tail, ps->ntail);
        memcpy(buf + ps->ntail, chunk, k);
        size_t n = ps->ntail + k;
        if (poold_qemu_progress_parse(buf, n, &pct) && ps->run->progress)
            ps->run->progress(ps->run->opaque, pct);
        ps->ntail = n < sizeof(ps->tail) ? n : sizeof(ps->tail);
        memcpy(ps->tail, buf + n - ps->ntail, ps->ntail);
        chunk += k;
        len -= k;
    }
}

static bool on_cancel(void *opaque)
{
    progressState *ps = opaque;
    return ps->run->cancel(ps->run->opaque);
}

/* Run argv (qemu-img, or qemu-nbd for a long chain); *out gets stdout if out. */
static int qemu_img(const char *what, char **argv, const poolQemuImgRun *run, char **out)
{
    static const poolQemuImgRun none = {.timeout_ms = POOL_QEMU_IMG_SHORT_TIMEOUT_MS};
    progressState ps = {.run = run ? run : &none};
    poolCommand cmd = {.argv = argv,
                       .timeout_ms = ps.run->timeout_ms,
                       .on_output = ps.run->progress ? on_output : NULL,
                       .cancel = ps.run->cancel ? on_cancel : NULL,
                       .opaque = &ps};
    poolCommandResult res;

    if (pool_command_run(&cmd, &res) < 0) {
        if (ps.run->cancel && ps.run->cancel(ps.run->opaque))
            pool_error(POOL_ERR_BUSY, "%s %s cancelled", argv[0], what);
        else {
            POOL_AUTOFREE(char *) msg = pool_strdup(pool_error_last_message());
            pool_error(pool_error_last_code(), "%s %s: %s", argv[0], what, msg ? msg : "failed");
        }
        return -1;
    }
    if (res.exit_status != 0) {
        size_t n = res.err_len;
        while (n > 0 && (res.err[n - 1] == '\n' || res.err[n - 1] == '\r'))
            res.err[--n] = '\0';
        pool_error(POOL_ERR_SYSTEM, "%s %s failed (exit status %d): %s", argv[0], what,
                   res.exit_status, n ? res.err : "no message");
        pool_command_result_clear(&res);
        return -1;
    }
    if (out) {
        *out = res.out;
        res.out = NULL;
    }
    pool_command_result_clear(&res);
    return 0;
}

int poold_qemu_img_create(const char *file, uint64_t size, const poolQemuImgRun *run)
{
    char sz[32];
    snprintf(sz, sizeof(sz), "%" PRIu64, size);
    char *argv[] = {QEMU_IMG, "create",           "-q",         "-f", "qcow2",
                    "-o",     POOL_QCOW2_OPTIONS, (char *)file, sz,   NULL};
    return qemu_img("create", argv, run, NULL);
}

int poold_qemu_img_measure(uint64_t size, uint64_t *required, uint64_t *fully_allocated,
                           const poolQemuImgRun *run)
{
    char sz[32];
    POOL_AUTOFREE(char *) out = NULL;
    uint64_t req = 0, full = 0;

    snprintf(sz, sizeof(sz), "%" PRIu64, size);
    char *argv[] = {QEMU_IMG, "measure",          "--output=json", "-O", "qcow2",
                    "-o",     POOL_QCOW2_OPTIONS, "--size",        sz,   NULL};
    if (qemu_img("measure", argv, run, &out) < 0)
        return -1;
    if (poold_qemu_json_get_u64(out, strlen(out), "required", &req) != 1 ||
        poold_qemu_json_get_u64(out, strlen(out), "fully-allocated", &full) != 1) {
        pool_error(POOL_ERR_SYSTEM, "qemu-img measure: unexpected output: %.200s", out);
        return -1;
    }
    if (required)
        *required = req;
    if (fully_allocated)
        *fully_allocated = full;
    return 0;
}

int poold_qemu_img_check(const char *spec, poolQemuCheck *res, const poolQemuImgRun *run)
{
    static const poolQemuImgRun none = {.timeout_ms = POOL_QEMU_IMG_SHORT_TIMEOUT_MS};
    const poolQemuImgRun *r = run ? run : &none;
    /* a json: spec names its driver; a plain file needs -f */
    bool json = strncmp(spec, "json:", 5) == 0;
    char *argv[] = {
        QEMU_IMG,     "check", "--output=json", json ? (char *)spec : "-f", json ? NULL : "qcow2",
        (char *)spec, NULL};
    poolCommand cmd = {.argv = argv, .timeout_ms = r->timeout_ms};
    poolCommandResult out;
    poolQemuCheck c = {0};
    int ret = -1;

    /* exit status 0: clean, 2: corruptions, 3: leaks only; 1: not checked */
    if (pool_command_run(&cmd, &out) < 0)
        return -1;
    if (out.exit_status != 0 && out.exit_status != 2 && out.exit_status != 3) {
        pool_error(POOL_ERR_SYSTEM, "qemu-img check failed (exit status %d): %.400s",
                   out.exit_status, out.err_len ? out.err : "no message");
        goto done;
    }
    size_t n = out.out_len;
    uint64_t v;
    if (poold_qemu_json_get_u64(out.out, n, "image-end-offset", &c.image_end_offset) != 1 ||
        poold_qemu_json_get_u64(out.out, n, "check-errors", &c.check_errors) != 1) {
        pool_error(POOL_ERR_SYSTEM, "qemu-img check: unexpected output: %.200s", out.out);
        goto done;
    }
    if (poold_qemu_json_get_u64(out.out, n, "corruptions", &v) == 1)
        c.corruptions = v;
    if (poold_qemu_json_get_u64(out.out, n, "leaks", &v) == 1)
        c.leaks = v;
    if (res)
        *res = c;
    if (c.corruptions || c.check_errors || out.exit_status == 2) {
        pool_error(POOL_ERR_SYSTEM,
                   "qemu-img check: %" PRIu64 " corruptions, %" PRIu64 " check errors",
                   c.corruptions, c.check_errors);
        goto done;
    }
    ret = 0;
done:
    pool_command_result_clear(&out);
    return ret;
}

int poold_qemu_img_convert(const char *src_spec, const char *dst_spec, const char *dst_format,
                           bool dst_exists, const poolQemuImgRun *run)
{
    char *argv[16];
    int k = 0;

    argv[k++] = QEMU_IMG;
    argv[k++] = "convert";
    argv[k++] = "-p";
    argv[k++] = "-t"; /* flush the target at the end: the default is unsafe */
    argv[k++] = "writeback";
    if (dst_exists) {
        argv[k++] = "-n";
    } else {
        argv[k++] = "-O";
        argv[k++] = (char *)dst_format;
        if (strcmp(dst_format, "qcow2") == 0) {
            argv[k++] = "-o";
            argv[k++] = POOL_QCOW2_OPTIONS;
        }
    }
    argv[k++] = (char *)src_spec;
    argv[k++] = (char *)dst_spec;
    argv[k] = NULL;
    if (dst_exists && strncmp(dst_spec, "json:", 5) != 0) {
        pool_error(POOL_ERR_INVALID_ARG, "convert into an existing image needs a json: spec");
        return -1;
    }
    return qemu_img("convert", argv, run, NULL);
}

int poold_qemu_img_commit(const char *spec, const poolQemuImgRun *run)
{
    char *argv[] = {QEMU_IMG, "commit", "-p", "-t", "writeback", (char *)spec, NULL};
    return qemu_img("commit", argv, run, NULL);
}

int poold_qemu_img_clear_backing(const char *top_alone_spec, const poolQemuImgRun *run)
{
    char *argv[] = {QEMU_IMG, "rebase", "-u", "-b", "", (char *)top_alone_spec, NULL};
    return qemu_img("rebase -u", argv, run, NULL);
}

/* --- a long backing chain as one raw export (see qemu_img.h) --------------- */

typedef struct {
    char *sock;
    char *pidfile;
    pid_t pid;
} flatExport;

static void flat_stop(flatExport *f)
{
    if (f->pid > 0) {
        /* only the qemu-nbd we started: its pid file, and its name in /proc */
        POOL_AUTOFREE(char *) comm_path = pool_asprintf("/proc/%d/comm", (int)f->pid);
        char comm[32] = "";
        FILE *fp = comm_path ? fopen(comm_path, "r") : NULL;
        if (fp) {
            if (!fgets(comm, sizeof(comm), fp))
                comm[0] = '\0';
            fclose(fp);
        }
        if (strncmp(comm, "qemu-nbd", 8) == 0) {
            kill(f->pid, SIGTERM);
            for (int i = 0; i < 100 && kill(f->pid, 0) == 0; i++)
                poll(NULL, 0, 50);
            if (kill(f->pid, 0) == 0)
                kill(f->pid, SIGKILL);
        }
    }
    if (f->sock)
        unlink(f->sock);
    if (f->pidfile)
        unlink(f->pidfile);
    free(f->sock);
    free(f->pidfile);
    memset(f, 0, sizeof(*f));
}

static int flat_start(flatExport *f, const char *spec, const char *work_dir,
                      const poolQemuImgRun *run)
{
    uint8_t rnd[6];
    char pidbuf[32] = "";

    memset(f, 0, sizeof(*f));
    if (work_dir == NULL) {
        pool_error(POOL_ERR_INVALID_ARG, "a backing chain of %zu bytes needs a work directory",
                   strlen(spec));
        return -1;
    }
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        pool_error_errno(errno, "cannot get random bytes");
        return -1;
    }
    f->sock = pool_asprintf("%s/flat-%02x%02x%02x%02x%02x%02x.sock", work_dir, rnd[0], rnd[1],
                            rnd[2], rnd[3], rnd[4], rnd[5]);
    f->pidfile = pool_asprintf("%s/flat-%02x%02x%02x%02x%02x%02x.pid", work_dir, rnd[0], rnd[1],
                               rnd[2], rnd[3], rnd[4], rnd[5]);
    POOL_AUTOFREE(char *) sock_opt = f->sock ? pool_asprintf("--socket=%s", f->sock) : NULL;
    POOL_AUTOFREE(char *) pid_opt = f->pidfile ? pool_asprintf("--pid-file=%s", f->pidfile) : NULL;
    if (!sock_opt || !pid_opt) {
        flat_stop(f);
        return -1;
    }
    /* --fork: returns once the socket listens; without --persistent it
     * exits by itself when rebase's one connection closes */
    char *argv[] = {"qemu-nbd", "--fork", "--read-only", "--export-name=flat",
                    sock_opt,   pid_opt,  (char *)spec,  NULL};
    poolQemuImgRun quick = {.timeout_ms = POOL_QEMU_IMG_SHORT_TIMEOUT_MS,
                            .cancel = run ? run->cancel : NULL,
                            .opaque = run ? run->opaque : NULL};
    if (qemu_img("(serving a long backing chain)", argv, &quick, NULL) < 0) {
        flat_stop(f);
        return -1;
    }
    FILE *fp = fopen(f->pidfile, "r");
    if (fp) {
        if (!fgets(pidbuf, sizeof(pidbuf), fp))
            pidbuf[0] = '\0';
        fclose(fp);
    }
    f->pid = (pid_t)atoi(pidbuf);
    if (f->pid <= 0) {
        pool_error(POOL_ERR_SYSTEM, "qemu-nbd started but wrote no pid to %s", f->pidfile);
        flat_stop(f);
        return -1;
    }
    return 0;
}

int poold_qemu_img_rebase(const char *top_spec, const char *top_alone_spec,
                          const char *new_backing_spec, const char *new_backing_format,
                          const char *work_dir, const poolQemuImgRun *run)
{
    char *argv[16];
    int k = 0;
    flatExport flat = {0};
    POOL_AUTOFREE(char *) flat_name = NULL;

    if (new_backing_spec && strlen(new_backing_spec) > POOL_QCOW2_BACKING_NAME_MAX) {
        if (flat_start(&flat, new_backing_spec, work_dir, run) < 0)
            return -1;
        flat_name = pool_asprintf("nbd+unix:///flat?socket=%s", flat.sock);
        if (!flat_name || strlen(flat_name) > POOL_QCOW2_BACKING_NAME_MAX) {
            flat_stop(&flat);
            pool_error(POOL_ERR_INVALID_ARG, "work directory %s: path too long", work_dir);
            return -1;
        }
        new_backing_spec = flat_name;
        new_backing_format = "raw";
    }

    argv[k++] = QEMU_IMG;
    argv[k++] = "rebase";
    argv[k++] = "-p";
    argv[k++] = "-t";
    argv[k++] = "writeback";
    argv[k++] = "-b";
    argv[k++] = new_backing_spec ? (char *)new_backing_spec : "";
    if (new_backing_spec) {
        argv[k++] = "-F";
        argv[k++] = (char *)(new_backing_format ? new_backing_format : "qcow2");
    }
    argv[k++] = (char *)top_spec;
    argv[k] = NULL;
    int r = qemu_img("rebase", argv, run, NULL);
    if (flat.sock)
        flat_stop(&flat); /* sets no error */
    if (r < 0)
        return -1;
    return new_backing_spec ? poold_qemu_img_clear_backing(top_alone_spec, run) : 0;
}
