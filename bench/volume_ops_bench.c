/*
 * volume_ops_bench.c: latency of volume create / resize / info / delete
 * through poold, printed next to the bare lvm command that makes the same
 * metadata change, measured in the same run, at the same population.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Why it is built this way:
 *   - Absolute milliseconds mean little across machines (disk, CPU, lvm
 *     version); the ratio to the bare lvm command in the same run is what
 *     says whether poold adds cost. So every poold sample has an anchor
 *     sample taken right after it, on a second VG that holds the same number
 *     of bare LVs, and machine noise (other builds on a 2-core box) lands on
 *     both alike.
 *   - The anchor runs lvm exactly as poold does (libpool/lvm_run.c): the
 *     same binary, the same --config string (filter and global_filter on the
 *     anchor VG's devices only, no devices file, no hints, no udev list,
 *     activation=0, no backup/archive), the same environment (including
 *     LVM_SYSTEM_DIR=<poold's state_dir>/lvm, whose lvm.conf sets
 *     use_aio=0, when poold runs with it: --lvm-system-dir), stdin
 *     /dev/null, through the same pool_command_run; the --config string
 *     comes from libpool's own builder (pool_lvm_config_string).
 *   - poold is reached over its socket with libpool's own framing, one
 *     connection per request as poolctl does, so what is timed is the
 *     daemon, not process start-up. The poolctl column times the operator's
 *     real path (fork/exec of poolctl included) on a few samples.
 *   - Populations of 10, 100 and 1,000 volumes, because lvm reads and
 *     rewrites the whole VG metadata on every command: cost grows with the
 *     VG, and poold runs several lvm commands per operation.
 *   - No thresholds: this program fails only when an operation fails.
 *
 * Each population step: fill both VGs to N (timed separately, reported as a
 * mean per volume), then K iterations of: create a new volume, grow an
 * existing one by one extent, read one back (poold: volume-info; lvm: the
 * one lvs-with-VG-fields report poold reads), delete the new volume. The population
 * stays at N or N+1 throughout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-command.h"
#include "pool-error.h"
#include "pool-lvm.h"
#include "pool-proto.h"
#include "pool-util.h"

#define EXTENT_BYTES    (4ull * 1024 * 1024) /* the pool and the anchor VG use 4 MiB */
#define MAX_DEVS        8
#define MAX_SIZES       8
#define REPLY_MAX       (64u * 1024 * 1024)
#define CALL_TIMEOUT_MS (600 * 1000)
#define LVM_TIMEOUT_MS  (600 * 1000)
#define LVM_MAX_OUTPUT  (64u * 1024 * 1024)

enum { OP_CREATE, OP_RESIZE, OP_INFO, OP_DELETE, NOPS };

static const char *const op_names[NOPS] = {"create", "resize", "info", "delete"};
static const char *const op_anchor[NOPS] = {"lvcreate", "lvextend", "lvs+vg", "lvremove"};

typedef struct {
    double *v;
    size_t n;
} sampleSet;

typedef struct {
    unsigned n;
    sampleSet poold[NOPS], lvm[NOPS], cli[NOPS];
    double fill_poold_ms, fill_lvm_ms; /* mean per volume added in this step */
    unsigned filled;                   /* volumes added in this step */
} stepResult;

typedef struct {
    const char *socket_path;
    const char *pool;
    const char *poolctl;
    const char *lvm;
    const char *anchor_vg;
    char *anchor_devs[MAX_DEVS + 1];
    size_t nanchor_devs;
    unsigned sizes[MAX_SIZES];
    size_t nsizes;
    unsigned samples;
    unsigned cli_samples;

    char *lvm_config;
    char *lvm_system_env; /* "LVM_SYSTEM_DIR=<poold's>" or NULL, as poold runs lvm */
    uint64_t next_id;
    unsigned *pool_ext; /* extents of fill volume i in the pool */
    unsigned npool;     /* fill volumes in the pool */
    unsigned nanchor;   /* fill LVs in the anchor VG */
} bench;

static void die_pool(const char *what)
{
    fprintf(stderr, "volume_ops_bench: %s: %s\n", what, pool_error_last_message());
    exit(1);
}

/* --- lvm, run the way poold runs it ------------------------------------- */

/* lvm SUB --config CFG ARGS...; 0 if it exited 0. */
static int lvm_exec(const bench *b, const char *sub, char *const *args)
{
    char *argv[32];
    char *env[] = {"LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C", b->lvm_system_env, NULL};
    poolCommand cmd = {0};
    poolCommandResult res;
    size_t n = 0;

    argv[n++] = (char *)b->lvm;
    argv[n++] = (char *)sub;
    argv[n++] = "--config";
    argv[n++] = b->lvm_config;
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    cmd.argv = argv;
    cmd.env_extra = env;
    cmd.timeout_ms = LVM_TIMEOUT_MS;
    cmd.max_output = LVM_MAX_OUTPUT;
    if (pool_command_run(&cmd, &res) < 0) {
        fprintf(stderr, "volume_ops_bench: lvm %s: %s\n", sub, pool_error_last_message());
        return -1;
    }
    if (res.exit_status != 0) {
        fprintf(stderr, "volume_ops_bench: lvm %s exited with %d:\n%s", sub, res.exit_status,
                res.err ? res.err : "");
        pool_command_result_clear(&res);
        return -1;
    }
    pool_command_result_clear(&res);
    return 0;
}

static int anchor_setup(const bench *b)
{
    char *pv_args[MAX_DEVS + 1];
    char *vg_args[MAX_DEVS + 6];
    size_t n = 0;

    for (size_t i = 0; i < b->nanchor_devs; i++)
        pv_args[i] = b->anchor_devs[i];
    pv_args[b->nanchor_devs] = NULL;
    if (lvm_exec(b, "pvcreate", pv_args) < 0)
        return -1;
    vg_args[n++] = "--setautoactivation";
    vg_args[n++] = "n";
    vg_args[n++] = "-s";
    vg_args[n++] = "4m";
    vg_args[n++] = (char *)b->anchor_vg;
    for (size_t i = 0; i < b->nanchor_devs; i++)
        vg_args[n++] = b->anchor_devs[i];
    vg_args[n] = NULL;
    return lvm_exec(b, "vgcreate", vg_args);
}

/* The same flags poold's lvcreate gets, minus its tags. */
static int anchor_create(const bench *b, const char *lv)
{
    char *args[] = {"-an",
                    "-Zn",
                    "-Wn",
                    "-y",
                    "--type",
                    "linear",
                    "-l",
                    "1",
                    "-n",
                    (char *)lv,
                    (char *)b->anchor_vg,
                    NULL};

    return lvm_exec(b, "lvcreate", args);
}

static int anchor_extend(const bench *b, const char *lv)
{
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s", b->anchor_vg, lv);
    char *args[] = {"-l", "+1", path, NULL};

    return path ? lvm_exec(b, "lvextend", args) : -1;
}

static int anchor_remove(const bench *b, const char *lv)
{
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s", b->anchor_vg, lv);
    char *args[] = {"-y", path, NULL};

    return path ? lvm_exec(b, "lvremove", args) : -1;
}

/* What poold reads before and after every operation (pool_snapshot_load):
 * the VG, its LVs with segments and tags, the PVs, as JSON reports. */
/* What poold reads for volume-info: one lvs with the VG fields on every
 * row (its PV offsets are cached, so no pvs). */
static int anchor_read(const bench *b)
{
    char *lvs[] = {
        "--reportformat",     "json", "--units", "b", "--nosuffix", "-o", POOL_LVM_LVS_VG_FIELDS,
        (char *)b->anchor_vg, NULL};

    return lvm_exec(b, "lvs", lvs);
}

/* --- poold over its socket ---------------------------------------------- */

static int connect_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        pool_error(POOL_ERR_INVALID_ARG, "socket path %s is too long", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        pool_error_errno(errno, "socket");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        pool_error_errno(errno, "cannot connect to %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* One request (params: name, value, ..., NULL) on a new connection, as
 * poolctl sends it. Returns the ok reply (caller frees) or NULL. */
static xmlDocPtr poold_call(bench *b, const char *op, const char *const *params)
{
    POOL_AUTOPTR(poolRequest) req = pool_request_new(op);
    POOL_AUTOFREE(char *) payload = NULL;
    POOL_AUTOFREE(char *) reply = NULL;
    POOL_AUTOCLOSE fd = -1;
    size_t len = 0;
    uint16_t type = 0;
    uint32_t rlen = 0;

    if (req == NULL)
        return NULL;
    for (size_t i = 0; params[i] != NULL; i += 2) {
        if (pool_request_add(req, params[i], params[i + 1]) < 0)
            return NULL;
    }
    req->id = ++b->next_id;
    payload = pool_request_format(req, &len);
    if (payload == NULL)
        return NULL;
    fd = connect_socket(b->socket_path);
    if (fd < 0)
        return NULL;
    if (pool_frame_send(fd, POOL_FRAME_REQUEST, payload, (uint32_t)len) < 0 ||
        pool_frame_recv(fd, REPLY_MAX, CALL_TIMEOUT_MS, &type, &reply, &rlen) < 0)
        return NULL;
    if (type != POOL_FRAME_REPLY) {
        pool_error(POOL_ERR_PROTOCOL, "poold sent a frame of type %u instead of a reply", type);
        return NULL;
    }
    return pool_reply_parse(reply, rlen, req->id);
}

static int poold_op(bench *b, const char *op, const char *const *params)
{
    xmlDocPtr doc = poold_call(b, op, params);

    if (doc == NULL) {
        fprintf(stderr, "volume_ops_bench: poold %s %s: %s\n", op, params[3],
                pool_error_last_message());
        return -1;
    }
    xmlFreeDoc(doc);
    return 0;
}

static int poold_create(bench *b, const char *name)
{
    const char *p[] = {"pool", b->pool, "name", name, "size", "4M", NULL};

    return poold_op(b, "volume-create", p);
}

static int poold_resize(bench *b, const char *name, unsigned extents)
{
    char size[32];
    const char *p[] = {"pool", b->pool, "name", name, "size", size, NULL};

    snprintf(size, sizeof(size), "%llu", (unsigned long long)(extents * EXTENT_BYTES));
    return poold_op(b, "volume-resize", p);
}

static int poold_info(bench *b, const char *name)
{
    const char *p[] = {"pool", b->pool, "name", name, NULL};

    return poold_op(b, "volume-info", p);
}

static int poold_delete(bench *b, const char *name)
{
    const char *p[] = {"pool", b->pool, "name", name, NULL};

    return poold_op(b, "volume-delete", p);
}

/* Volumes poold lists in the pool (a check that the population is what
 * this program thinks it is; not timed). */
static long poold_count(bench *b)
{
    const char *p[] = {"pool", b->pool, NULL};
    xmlDocPtr doc = poold_call(b, "volume-list", p);
    long n = 0;

    if (doc == NULL)
        return -1;
    for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            n++;
    }
    xmlFreeDoc(doc);
    return n;
}

/* --- poolctl, the operator's path --------------------------------------- */

static int cli_run(const bench *b, char *const *args)
{
    char *argv[16];
    poolCommand cmd = {0};
    poolCommandResult res;
    size_t n = 0;

    argv[n++] = (char *)b->poolctl;
    argv[n++] = "--socket";
    argv[n++] = (char *)b->socket_path;
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    cmd.argv = argv;
    cmd.timeout_ms = CALL_TIMEOUT_MS;
    if (pool_command_run(&cmd, &res) < 0) {
        fprintf(stderr, "volume_ops_bench: poolctl %s %s: %s\n", args[0], args[1],
                pool_error_last_message());
        return -1;
    }
    if (res.exit_status != 0) {
        fprintf(stderr, "volume_ops_bench: poolctl %s %s exited with %d: %s", args[0], args[1],
                res.exit_status, res.err ? res.err : "");
        pool_command_result_clear(&res);
        return -1;
    }
    pool_command_result_clear(&res);
    return 0;
}

/* --- statistics ---------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile (p in 0..100) of a sorted set; with 30 samples
 * p99 is the slowest one. */
static double percentile(const sampleSet *s, double p)
{
    size_t rank;

    if (s->n == 0)
        return 0.0;
    rank = (size_t)((p / 100.0) * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return s->v[rank - 1];
}

static void set_add(sampleSet *s, double ms)
{
    s->v[s->n++] = ms;
}

static void set_sort(sampleSet *s)
{
    qsort(s->v, s->n, sizeof(double), cmp_double);
}

/* --- one population step ------------------------------------------------- */

#define TIMED(set, call)                                                                           \
    do {                                                                                           \
        double t0_ = pool_monotonic_ns() / 1e6;                                                    \
        if ((call) < 0)                                                                            \
            return -1;                                                                             \
        set_add((set), (pool_monotonic_ns() / 1e6) - t0_);                                         \
    } while (0)

static int fill(bench *b, unsigned n, stepResult *r)
{
    char name[32];
    double t0;
    unsigned from = b->npool;

    if (n <= from)
        return 0;
    unsigned *ext = realloc(b->pool_ext, n * sizeof(*ext));
    if (ext == NULL) {
        fprintf(stderr, "volume_ops_bench: out of memory\n");
        return -1;
    }
    b->pool_ext = ext;
    fprintf(stderr, "# N=%u: filling the pool from %u to %u volumes through poold\n", n, from, n);
    t0 = pool_monotonic_ns() / 1e6;
    for (unsigned i = from; i < n; i++) {
        snprintf(name, sizeof(name), "f%05u", i);
        if (poold_create(b, name) < 0)
            return -1;
        b->pool_ext[i] = 1;
        b->npool = i + 1;
    }
    r->fill_poold_ms = ((pool_monotonic_ns() / 1e6) - t0) / (n - from);
    fprintf(stderr, "# N=%u: filling the anchor VG from %u to %u LVs\n", n, b->nanchor, n);
    t0 = pool_monotonic_ns() / 1e6;
    for (unsigned i = b->nanchor; i < n; i++) {
        snprintf(name, sizeof(name), "f%05u", i);
        if (anchor_create(b, name) < 0)
            return -1;
        b->nanchor = i + 1;
    }
    r->fill_lvm_ms = ((pool_monotonic_ns() / 1e6) - t0) / (n - from);
    r->filled = n - from;
    return 0;
}

static int step(bench *b, unsigned n, stepResult *r)
{
    unsigned k = b->samples < n ? b->samples : n;
    unsigned c = b->cli_samples < n ? b->cli_samples : n;
    char tmp[32], target[32];
    long count;

    r->n = n;
    for (int op = 0; op < NOPS; op++) {
        r->poold[op].v = calloc(k ? k : 1, sizeof(double));
        r->lvm[op].v = calloc(k ? k : 1, sizeof(double));
        r->cli[op].v = calloc(c ? c : 1, sizeof(double));
        if (!r->poold[op].v || !r->lvm[op].v || !r->cli[op].v) {
            fprintf(stderr, "volume_ops_bench: out of memory\n");
            return -1;
        }
    }
    if (fill(b, n, r) < 0)
        return -1;
    count = poold_count(b);
    if (count != (long)n) {
        fprintf(stderr, "volume_ops_bench: poold lists %ld volumes, expected %u\n", count, n);
        return -1;
    }

    fprintf(stderr, "# N=%u: %u timed iterations through the socket, %u through poolctl\n", n, k,
            c);
    for (unsigned i = 0; i < k; i++) {
        /* spread the grows over the population */
        unsigned idx = (unsigned)(((uint64_t)i * 7919u + n) % n);

        snprintf(tmp, sizeof(tmp), "t%u_%u", n, i);
        snprintf(target, sizeof(target), "f%05u", idx);
        TIMED(&r->poold[OP_CREATE], poold_create(b, tmp));
        TIMED(&r->lvm[OP_CREATE], anchor_create(b, tmp));
        TIMED(&r->poold[OP_RESIZE], poold_resize(b, target, b->pool_ext[idx] + 1));
        b->pool_ext[idx]++;
        TIMED(&r->lvm[OP_RESIZE], anchor_extend(b, target));
        TIMED(&r->poold[OP_INFO], poold_info(b, target));
        TIMED(&r->lvm[OP_INFO], anchor_read(b));
        TIMED(&r->poold[OP_DELETE], poold_delete(b, tmp));
        TIMED(&r->lvm[OP_DELETE], anchor_remove(b, tmp));
    }
    for (unsigned i = 0; i < c; i++) {
        unsigned idx = (unsigned)(((uint64_t)i * 104729u + n / 2) % n);
        char size[32];

        snprintf(tmp, sizeof(tmp), "c%u_%u", n, i);
        snprintf(target, sizeof(target), "f%05u", idx);
        snprintf(size, sizeof(size), "%llu",
                 (unsigned long long)((b->pool_ext[idx] + 1) * EXTENT_BYTES));
        {
            char *create[] = {"volume", "create", (char *)b->pool, tmp, "4M", NULL};
            char *resize[] = {"volume", "resize", (char *)b->pool, target, size, NULL};
            char *info[] = {"volume", "info", (char *)b->pool, target, NULL};
            char *del[] = {"volume", "delete", (char *)b->pool, tmp, NULL};

            TIMED(&r->cli[OP_CREATE], cli_run(b, create));
            TIMED(&r->cli[OP_RESIZE], cli_run(b, resize));
            b->pool_ext[idx]++;
            TIMED(&r->cli[OP_INFO], cli_run(b, info));
            TIMED(&r->cli[OP_DELETE], cli_run(b, del));
        }
    }
    count = poold_count(b);
    if (count != (long)n) {
        fprintf(stderr, "volume_ops_bench: poold lists %ld volumes after the step, expected %u\n",
                count, n);
        return -1;
    }
    for (int op = 0; op < NOPS; op++) {
        set_sort(&r->poold[op]);
        set_sort(&r->lvm[op]);
        set_sort(&r->cli[op]);
    }
    return 0;
}

/* --- report -------------------------------------------------------------- */

static void lvm_version(const bench *b, char *out, size_t len)
{
    char *argv[] = {(char *)b->lvm, "version", NULL};
    char *env[] = {"LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C", NULL};
    poolCommand cmd = {.argv = argv, .env_extra = env, .timeout_ms = 30000};
    poolCommandResult res;

    snprintf(out, len, "unknown");
    if (pool_command_run(&cmd, &res) < 0)
        return;
    /* "  LVM version:     2.03.16(2) (2022-05-18)" (dm errors go to stderr) */
    const char *p = res.out ? strstr(res.out, "LVM version:") : NULL;
    if (p != NULL) {
        p += strlen("LVM version:");
        p += strspn(p, " \t");
        snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
    }
    pool_command_result_clear(&res);
}

static void print_header(const bench *b)
{
    char ver[128], date[64];
    struct utsname u;
    time_t now = time(NULL);

    lvm_version(b, ver, sizeof(ver));
    if (uname(&u) < 0)
        snprintf(u.release, sizeof(u.release), "unknown");
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&now));
    printf("# poold volume-ops benchmark, %s\n", date);
    printf("# machine: %ld cpus online, kernel %s, lvm %s (activation off)\n",
           sysconf(_SC_NPROCESSORS_ONLN), u.release, ver);
    printf("# samples per op: %u through the socket, %u through poolctl; extent 4 MiB\n",
           b->samples, b->cli_samples);
    printf("# lvm configuration (poold and anchor alike): %s\n",
           b->lvm_system_env ? b->lvm_system_env : "the host's /etc/lvm");
    fflush(stdout);
}

static void print_table(const stepResult *res, size_t nres)
{
    printf("\n%6s  %-7s %10s %9s %12s %10s %9s %8s  %s\n", "N", "op", "poold p50", "p99",
           "poolctl p50", "lvm p50", "p99", "ratio", "bare lvm");
    for (size_t s = 0; s < nres; s++) {
        const stepResult *r = &res[s];

        for (int op = 0; op < NOPS; op++) {
            double pp50 = percentile(&r->poold[op], 50), pp99 = percentile(&r->poold[op], 99);
            double lp50 = percentile(&r->lvm[op], 50), lp99 = percentile(&r->lvm[op], 99);
            char cli[32];

            if (r->cli[op].n > 0)
                snprintf(cli, sizeof(cli), "%.1f", percentile(&r->cli[op], 50));
            else
                snprintf(cli, sizeof(cli), "-");
            printf("%6u  %-7s %10.1f %9.1f %12s %10.1f %9.1f %7.2fx  %s\n", r->n, op_names[op],
                   pp50, pp99, cli, lp50, lp99, lp50 > 0 ? pp50 / lp50 : 0.0, op_anchor[op]);
        }
    }
    printf("\n# fill (mean per volume added, not in the table above):\n");
    for (size_t s = 0; s < nres; s++) {
        const stepResult *r = &res[s];

        if (r->filled == 0)
            continue;
        printf("#   to N=%-5u +%-4u volumes: poold %.1f ms, bare lvcreate %.1f ms (%.2fx)\n", r->n,
               r->filled, r->fill_poold_ms, r->fill_lvm_ms,
               r->fill_lvm_ms > 0 ? r->fill_poold_ms / r->fill_lvm_ms : 0.0);
    }
}

/* --- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "Usage: volume_ops_bench --socket PATH --pool NAME --poolctl PATH\n"
               "         --anchor-vg NAME --anchor-dev DEV [--anchor-dev DEV...]\n"
               "         [--lvm PATH] [--sizes 10,100,1000] [--samples 30] [--cli-samples 5]\n"
               "         [--lvm-system-dir DIR]  (poold's <state_dir>/lvm, when it uses one)\n"
               "The pool must exist and hold no volumes; the anchor devices must be unused\n"
               "(the anchor VG is created on them). Normally run by bench/volume-ops.\n");
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_sizes(bench *b, const char *s)
{
    POOL_AUTOFREE(char *) copy = strdup(s);
    char *save = NULL;

    b->nsizes = 0;
    if (copy == NULL)
        return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (b->nsizes == MAX_SIZES || parse_uint(t, 1, 100000, &b->sizes[b->nsizes]) < 0)
            return -1;
        if (b->nsizes > 0 && b->sizes[b->nsizes] <= b->sizes[b->nsizes - 1])
            return -1; /* populations only grow */
        b->nsizes++;
    }
    return b->nsizes > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"pool", required_argument, NULL, 'p'},
        {"poolctl", required_argument, NULL, 'c'},
        {"lvm", required_argument, NULL, 'l'},
        {"anchor-vg", required_argument, NULL, 'a'},
        {"anchor-dev", required_argument, NULL, 'd'},
        {"sizes", required_argument, NULL, 'n'},
        {"samples", required_argument, NULL, 'k'},
        {"cli-samples", required_argument, NULL, 'C'},
        {"lvm-system-dir", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bench b = {.lvm = "/sbin/lvm", .samples = 30, .cli_samples = 5};
    stepResult res[MAX_SIZES];
    double t0 = pool_monotonic_ns() / 1e6;
    int o;

    memset(res, 0, sizeof(res));
    b.sizes[0] = 10;
    b.sizes[1] = 100;
    b.sizes[2] = 1000;
    b.nsizes = 3;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            b.socket_path = optarg;
            break;
        case 'p':
            b.pool = optarg;
            break;
        case 'c':
            b.poolctl = optarg;
            break;
        case 'l':
            b.lvm = optarg;
            break;
        case 'a':
            b.anchor_vg = optarg;
            break;
        case 'd':
            if (b.nanchor_devs == MAX_DEVS) {
                fprintf(stderr, "volume_ops_bench: at most %d anchor devices\n", MAX_DEVS);
                return 2;
            }
            b.anchor_devs[b.nanchor_devs++] = optarg;
            break;
        case 'n':
            if (parse_sizes(&b, optarg) < 0) {
                fprintf(stderr, "volume_ops_bench: --sizes wants increasing counts: %s\n", optarg);
                return 2;
            }
            break;
        case 'k':
            if (parse_uint(optarg, 1, 100000, &b.samples) < 0) {
                fprintf(stderr, "volume_ops_bench: bad --samples %s\n", optarg);
                return 2;
            }
            break;
        case 'C':
            if (parse_uint(optarg, 0, 1000, &b.cli_samples) < 0) {
                fprintf(stderr, "volume_ops_bench: bad --cli-samples %s\n", optarg);
                return 2;
            }
            break;
        case 'S':
            free(b.lvm_system_env);
            b.lvm_system_env = pool_asprintf("LVM_SYSTEM_DIR=%s", optarg);
            if (b.lvm_system_env == NULL)
                die_pool("--lvm-system-dir");
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !b.socket_path || !b.pool || !b.poolctl || !b.anchor_vg ||
        b.nanchor_devs == 0) {
        usage(stderr);
        return 2;
    }
    b.anchor_devs[b.nanchor_devs] = NULL;
    b.lvm_config = pool_lvm_config_string(b.anchor_devs, NULL, false);
    if (b.lvm_config == NULL)
        die_pool("building the lvm config");

    print_header(&b);
    if (anchor_setup(&b) < 0)
        return 1;
    long existing = poold_count(&b);
    if (existing < 0)
        die_pool("poold volume-list");
    if (existing != 0) {
        fprintf(stderr, "volume_ops_bench: pool %s already has %ld volumes\n", b.pool, existing);
        return 1;
    }

    for (size_t s = 0; s < b.nsizes; s++) {
        if (step(&b, b.sizes[s], &res[s]) < 0) {
            print_table(res, s);
            fprintf(stderr, "volume_ops_bench: failed at N=%u\n", b.sizes[s]);
            return 1;
        }
    }
    print_table(res, b.nsizes);
    printf("\n# total run time %.1f s\n", ((pool_monotonic_ns() / 1e6) - t0) / 1000.0);

    for (size_t s = 0; s < b.nsizes; s++) {
        for (int op = 0; op < NOPS; op++) {
            free(res[s].poold[op].v);
            free(res[s].lvm[op].v);
            free(res[s].cli[op].v);
        }
    }
    free(b.pool_ext);
    free(b.lvm_config);
    free(b.lvm_system_env);
    return 0;
}
