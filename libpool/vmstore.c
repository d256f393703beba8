/*
 * vmstore.c: the VM metadata store (pool-vmstore.h, docs/design.md choice 7):
 * VM records as files in one directory of a share, written with a
 * compare-and-swap on the generation that needs no lock server — only
 * exclusive create, link() that never replaces, unlink and readdir, which
 * local file systems and NFS provide alike (vmstore_backend.h).
 *
 * Files in the store directory:
 *   <name>.<G>.vmrec              generation G of record <name> (G >= 1,
 *                                 decimal, no leading zeros), written once,
 *                                 never modified; format in vmstore_record.c
 *   .tmp.<name>.<host>.<random>   a write in progress (<host> has no '.',
 *                                 <random> is 16 hex digits)
 * Anything else is left alone and reported by pool_meta_store_check().
 *
 * State of a record: its files' generations. The CURRENT generation is the
 * highest-numbered file that decodes (header, length, checksum, XML, and
 * the body's name and generation match the file name). Files above it that
 * do not decode are skipped (and reported); a file in a format version this
 * code does not know stops reads and writes of that record instead, so an
 * older poold never overwrites what a newer one wrote.
 *
 * Write (define, update, remove), with G = the current generation:
 *   1. list; check the caller's expectation against G (update/remove:
 *      G == the generation read, else POOL_ERR_CONFLICT; define: no live
 *      record). The new generation N = (highest generation number present,
 *      decodable or not) + 1, so a corrupt file never blocks a slot.
 *   2. create .tmp.<...> exclusively, write, fsync (NFS COMMIT), close;
 *   3. link it to <name>.<N>.vmrec. link() is atomic and fails with EEXIST
 *      when the name exists: of writers racing from G exactly one wins; the
 *      losers get POOL_ERR_CONFLICT. (A link whose reply was lost is
 *      recognised by the temporary file's link count of 2.)
 *   4. unlink the temporary name; list again (step 5 needs it);
 *   5. garbage-collect: remove this record's generations below G and its
 *      temporaries older than a minute — see the grace rule below.
 *
 * Why a grace period (the one subtle point). Slot N is free for link()
 * either because nobody ever wrote N, or because N was written and later
 * collected. In the second case a writer that listed while G = N - 1 and
 * then stalled would link into the recycled slot N, below the current
 * generation, and its update would silently never be seen. pool-vmstore.h's
 * step 4 catches that case by looking for a generation above N after the
 * link — but that test alone cannot tell it from the harmless case where the
 * writer linked N in time and other writers simply moved on past it before
 * it listed again (they read and built on its update); reporting a conflict
 * there makes the caller apply its change twice. So:
 *   - collection removes generation g only when ctime(g) + grace <=
 *     ctime(the collector's own new file): both stamps come from the file
 *     system's clock, and ctime(g) is at least the moment g was linked. A
 *     recycled slot therefore needs at least `grace` (60 s) of file-system
 *     time between the slot being filled and the stalled writer's link;
 *   - a writer measures, on its own monotonic clock, the time from just
 *     before its step-1 listing to the end of its link. Below 90% of grace
 *     its slot cannot have been recycled: a higher generation seen at step 4
 *     was built on its update, and the write succeeded. Only a writer that
 *     stalled that long falls back to pool-vmstore.h's rule (a higher
 *     generation exists: unlink its file, POOL_ERR_CONFLICT) — correct for a
 *     recycled slot; for a writer that stalled *after* linking it reports a
 *     conflict for an update others may have seen (the one at-least-once
 *     case; the update is never lost).
 * Assumed: the file system's clock does not step back by more than the
 * margin between a link and a later collection.
 *
 * Invariants: a <name>.<G>.vmrec file is complete when it appears (written
 * and flushed under the temporary name first); the highest generation
 * number present never decreases (collection removes only below the
 * collector's own file; step 4 removes a file only below a higher one); a
 * reader never sees a generation that was not, at its link, the highest.
 *
 * Crash anywhere leaves at most a temporary file (collected by a later
 * write of the record once older than a minute) or a complete generation.
 * Timeouts and lost connections (NFS) may leave the outcome of a link
 * unknown: the call fails with POOL_ERR_TIMEOUT / POOL_ERR_CONNECT and the
 * caller re-reads.
 *
 * Threads: a poolMetaStore is used by one thread at a time (an NFS store is
 * one libnfs context); separate stores may be used concurrently.
 *
 * POOLD_TEST_META_GRACE_MS (tests only) overrides the 60 s grace period.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-vmstore.h"
#include "pool-util.h"
#include "pool-xml.h"

#define REC_SUFFIX    ".vmrec"
#define TMP_PREFIX    ".tmp."
#define TMP_STALE_SEC 60
#define GC_GRACE_MS   60000
#define GEN_MAX       ((uint64_t)INT64_MAX)
#define SCAN_RETRIES  20
#define HOST_PART_MAX 64

struct poolMetaStore {
    char *url;
    poolMetaBackend *be;
    unsigned timeout_ms;
    int64_t grace_ms;
    char host[HOST_PART_MAX + 1]; /* [A-Za-z0-9_+-], first alnum: temp names, modified_by */
};

/* ---- small helpers ------------------------------------------------------ */

static int64_t time_ms(poolMetaTime t)
{
    return t.sec * 1000 + t.nsec / 1000000;
}

static void host_part(char out[HOST_PART_MAX + 1])
{
    const char *buf = pool_host_name_system();
    size_t o = 0;

    for (size_t i = 0; buf[i] && buf[i] != '.' && o < HOST_PART_MAX; i++) {
        char c = buf[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-';
        out[o++] = ok ? c : '-';
    }
    out[o] = '\0';
    if (o == 0 || !((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= 'A' && out[0] <= 'Z') ||
                    (out[0] >= '0' && out[0] <= '9')))
        snprintf(out, HOST_PART_MAX + 1, "localhost");
}

/* "<name>.<G>.vmrec" -> name (into buf) and G. Quiet: false if not one. */
static bool parse_record_file(const char *fname, char *name, size_t namesz, uint64_t *gen)
{
    size_t len = strlen(fname);
    size_t slen = strlen(REC_SUFFIX);
    const char *dot;
    const char *digits;
    size_t ndigits;
    uint64_t v = 0;

    if (len <= slen + 2 || strcmp(fname + len - slen, REC_SUFFIX) != 0)
        return false;
    len -= slen;
    dot = memrchr(fname, '.', len);
    if (!dot || dot == fname)
        return false;
    digits = dot + 1;
    ndigits = (size_t)(fname + len - digits);
    if (ndigits == 0 || ndigits > 19 || digits[0] == '0')
        return false;
    for (size_t i = 0; i < ndigits; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(digits[i] - '0');
    }
    if (v < 1 || v > GEN_MAX || (size_t)(dot - fname) >= namesz)
        return false;
    memcpy(name, fname, (size_t)(dot - fname));
    name[dot - fname] = '\0';
    if (!pool_vm_name_is_valid(name))
        return false;
    *gen = v;
    return true;
}

/* ".tmp.<name>.<host>.<random>" -> name. */
static bool parse_temp_file(const char *fname, char *name, size_t namesz)
{
    const char *p;
    const char *last;
    const char *host;
    size_t n;

    if (strncmp(fname, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
        return false;
    p = fname + strlen(TMP_PREFIX);
    last = strrchr(p, '.');
    if (!last || last == p)
        return false;
    host = memrchr(p, '.', (size_t)(last - p));
    if (!host || host == p)
        return false;
    n = (size_t)(host - p);
    if (n >= namesz)
        return false;
    memcpy(name, p, n);
    name[n] = '\0';
    return pool_vm_name_is_valid(name);
}

static char *record_file_name(const char *name, uint64_t gen)
{
    return pool_asprintf("%s.%" PRIu64 "%s", name, gen, REC_SUFFIX);
}

/* Version field of a file that starts like a record file; -1 if it does not
 * (then it is simply corrupt). */
static long file_format_version(const char *data, size_t len)
{
    static const char magic[] = "poold-vmrecord ";
    size_t i = sizeof(magic) - 1;
    long v = 0;

    if (len < i + 2 || memcmp(data, magic, i) != 0)
        return -1;
    for (; i < len && i < 32 && data[i] >= '0' && data[i] <= '9'; i++)
        v = v * 10 + (data[i] - '0');
    if (i >= len || data[i] != ' ')
        return -1;
    return v;
}

/* ---- loading one generation --------------------------------------------- */

typedef enum {
    LOAD_OK,
    LOAD_VANISHED, /* listed, gone when read (collected meanwhile) */
    LOAD_CORRUPT,  /* why in *why */
    LOAD_NEWER,    /* a format version this code does not know */
} loadResult;

/* -1 on I/O error (reported); otherwise a loadResult. */
static int load_generation(poolMetaStore *st, const char *fname, const char *name, uint64_t gen,
                           poolVmRecord **out, char **why)
{
    POOL_AUTOFREE(char *) data = NULL;
    POOL_AUTOPTR(poolVmRecord) rec = NULL;
    size_t len = 0;
    long version;
    int rc;

    *out = NULL;
    if (why)
        *why = NULL;
    rc = st->be->ops->read(st->be, fname, POOL_VMREC_FILE_MAX, &data, &len);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return LOAD_VANISHED;
    version = file_format_version(data, len);
    if (version > 1) {
        if (why)
            *why =
                pool_asprintf("format version %ld is newer than this poold understands", version);
        return LOAD_NEWER;
    }
    if (!(rec = pool_vm_record_file_decode(data, len))) {
        if (why)
            *why = pool_strdup(pool_error_last_message());
        pool_error_reset();
        return LOAD_CORRUPT;
    }
    if (strcmp(rec->name, name) != 0 || rec->generation != gen) {
        if (why)
            *why = pool_asprintf("body is record '%s' generation %" PRIu64
                                 ", file name says '%s' generation %" PRIu64,
                                 rec->name, rec->generation, name, gen);
        return LOAD_CORRUPT;
    }
    *out = pool_steal_ptr(&rec);
    return LOAD_OK;
}

/* ---- scanning one record ------------------------------------------------ */

typedef struct {
    uint64_t gen;
    size_t ent; /* index into the listing */
} genRef;

typedef struct {
    poolMetaDirent *ents; /* the whole listing */
    size_t nents;
    genRef *gens; /* this record's files, highest generation first */
    size_t ngens;
    uint64_t max_gen;      /* highest generation number present, 0 if none */
    poolVmRecord *current; /* highest decodable generation (maybe a tombstone) */
    uint64_t current_gen;
} recScan;

static void scan_clear(recScan *s)
{
    pool_meta_dirents_free(s->ents, s->nents);
    free(s->gens);
    pool_vm_record_free(s->current);
    memset(s, 0, sizeof(*s));
}

static int cmp_gen_desc(const void *a, const void *b)
{
    const genRef *x = a;
    const genRef *y = b;

    return x->gen < y->gen ? 1 : x->gen > y->gen ? -1 : 0;
}

/* Collect `name`'s files from a listing already in s->ents. */
static int scan_collect(recScan *s, const char *name)
{
    char fname_name[POOL_VMREC_NAME_MAX + 1];

    free(s->gens);
    s->gens = NULL;
    s->ngens = 0;
    s->max_gen = 0;
    for (size_t i = 0; i < s->nents; i++) {
        uint64_t gen;

        if (!parse_record_file(s->ents[i].name, fname_name, sizeof(fname_name), &gen) ||
            strcmp(fname_name, name) != 0)
            continue;
        if (pool_realloc_n(&s->gens, s->ngens + 1, sizeof(*s->gens)) < 0)
            return -1;
        s->gens[s->ngens].gen = gen;
        s->gens[s->ngens++].ent = i;
        if (gen > s->max_gen)
            s->max_gen = gen;
    }
    if (s->ngens > 1)
        qsort(s->gens, s->ngens, sizeof(*s->gens), cmp_gen_desc);
    return 0;
}

static int scan_list(poolMetaStore *st, recScan *s)
{
    pool_meta_dirents_free(s->ents, s->nents);
    s->ents = NULL;
    s->nents = 0;
    return st->be->ops->list(st->be, &s->ents, &s->nents);
}

/* In the listing already in s->ents, find the record's current generation.
 * 0 (with *vanished when a file went away between listing and reading: the
 * caller lists again), or -1 with an error. */
static int scan_pick(poolMetaStore *st, const char *name, recScan *s, bool *vanished)
{
    *vanished = false;
    pool_vm_record_free(s->current);
    s->current = NULL;
    s->current_gen = 0;
    if (scan_collect(s, name) < 0)
        return -1;
    for (size_t i = 0; i < s->ngens; i++) {
        const char *fname = s->ents[s->gens[i].ent].name;
        POOL_AUTOFREE(char *) why = NULL;
        poolVmRecord *rec = NULL;
        int rc = load_generation(st, fname, name, s->gens[i].gen, &rec, &why);

        if (rc < 0)
            return -1;
        if (rc == LOAD_OK) {
            s->current = rec;
            s->current_gen = s->gens[i].gen;
            return 0;
        }
        if (rc == LOAD_VANISHED) {
            *vanished = true;
            return 0;
        }
        if (rc == LOAD_NEWER) {
            pool_error(POOL_ERR_UNSUPPORTED, "VM record '%s' in %s: '%s': %s", name, st->url, fname,
                       why ? why : "unknown format");
            return -1;
        }
        log_warnx("metadata store %s: skipping '%s': %s", st->url, fname, why ? why : "corrupt");
    }
    return 0; /* no decodable generation (maybe no file at all) */
}

/* List the directory and find the record's current generation; with
 * `listed`, try the listing already in s->ents first. */
static int scan_record_from(poolMetaStore *st, const char *name, recScan *s, bool listed)
{
    for (int attempt = 0; attempt < SCAN_RETRIES; attempt++) {
        bool vanished = false;

        if (!listed || attempt > 0) {
            if (scan_list(st, s) < 0)
                return -1;
        }
        if (scan_pick(st, name, s, &vanished) < 0)
            return -1;
        if (!vanished)
            return 0;
    }
    pool_error(POOL_ERR_CONFLICT, "VM record '%s' in %s keeps changing while being read", name,
               st->url);
    return -1;
}

static int scan_record(poolMetaStore *st, const char *name, recScan *s)
{
    scan_clear(s);
    return scan_record_from(st, name, s, false);
}

/* ---- writing one generation --------------------------------------------- */

static int random_hex(char out[17])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[8];
    size_t got = 0;

    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "cannot get random bytes");
            return -1;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[16] = '\0';
    return 0;
}

/* Step 5: remove the record's generations below `below` and its stale
 * temporaries, by the grace rule (file-system time of our own new file). */
static void collect_garbage(poolMetaStore *st, recScan *s, const char *name, uint64_t below,
                            const char *own_fname)
{
    const poolMetaDirent *own = NULL;
    char n[POOL_VMREC_NAME_MAX + 1];
    int64_t ref_ms;

    for (size_t i = 0; i < s->nents; i++) {
        if (strcmp(s->ents[i].name, own_fname) == 0)
            own = &s->ents[i];
    }
    if (!own)
        return;
    ref_ms = time_ms(own->ctime);
    for (size_t i = 0; i < s->nents; i++) {
        const poolMetaDirent *e = &s->ents[i];
        uint64_t gen;
        bool remove = false;

        if (parse_record_file(e->name, n, sizeof(n), &gen)) {
            remove =
                strcmp(n, name) == 0 && gen < below && time_ms(e->ctime) + st->grace_ms <= ref_ms;
        } else if (parse_temp_file(e->name, n, sizeof(n))) {
            remove =
                strcmp(n, name) == 0 && time_ms(e->mtime) + (int64_t)TMP_STALE_SEC * 1000 <= ref_ms;
        }
        if (remove && st->be->ops->unlink(st->be, e->name) < 0) {
            /* Best effort: the write itself succeeded. */
            log_warnx("metadata store %s: cannot remove old '%s': %s", st->url, e->name,
                      pool_error_last_message());
            pool_error_reset();
            return;
        }
    }
}

/* Steps 2-5 for `rec` (already carrying the new generation) after a step-1
 * scan that started at t0 (monotonic ms) and found generation `replaced`
 * (0 if none) current. */
static int write_generation(poolMetaStore *st, const poolVmRecord *rec, uint64_t replaced,
                            int64_t t0)
{
    POOL_AUTOFREE(char *) data = NULL;
    POOL_AUTOFREE(char *) tmp = NULL;
    POOL_AUTOFREE(char *) fname = NULL;
    recScan after = {0};
    char rnd[17];
    size_t len = 0;
    int64_t elapsed;
    uint64_t higher = 0;

    if (!(data = pool_vm_record_file_encode(rec, &len)))
        return -1;
    if (random_hex(rnd) < 0 ||
        !(tmp = pool_asprintf(TMP_PREFIX "%s.%s.%s", rec->name, st->host, rnd)) ||
        !(fname = record_file_name(rec->name, rec->generation)))
        return -1;
    if (st->be->ops->create(st->be, tmp, data, len) < 0) {
        pool_error_prefix("VM record '%s'", rec->name);
        return -1;
    }
    if (st->be->ops->link(st->be, tmp, fname) < 0) {
        poolErrorCode code = pool_error_last_code();
        POOL_AUTOFREE(char *) msg = pool_strdup(pool_error_last_message());
        poolMetaDirent tst = {0};
        int rc;

        /* Did the link happen after all (a lost reply)? Then our file
         * has two names. */
        rc = st->be->ops->stat(st->be, tmp, &tst);
        if (rc == 0 && tst.nlink >= 2) {
            log_warnx("metadata store %s: link of '%s' reported failure but took effect", st->url,
                      fname);
        } else {
            if (rc >= 0)
                st->be->ops->unlink(st->be, tmp);
            if (code == POOL_ERR_EXISTS) {
                pool_error(POOL_ERR_CONFLICT,
                           "VM record '%s' changed: generation %" PRIu64
                           " was written by another host meanwhile",
                           rec->name, rec->generation);
            } else {
                pool_error(code, "VM record '%s': %s", rec->name, msg ? msg : "link failed");
            }
            return -1;
        }
    }
    elapsed = pool_monotonic_ms() - t0;
    if (st->be->ops->unlink(st->be, tmp) < 0) {
        log_warnx("metadata store %s: cannot remove '%s': %s", st->url, tmp,
                  pool_error_last_message());
        pool_error_reset();
    }

    /* Step 4: anything above us? */
    if (scan_list(st, &after) < 0 || scan_collect(&after, rec->name) < 0) {
        /* Our generation is in place; only the check and collection are
         * missing. If we stalled too long to be sure, say so. */
        if (elapsed * 10 >= st->grace_ms * 9) {
            pool_error_prefix("VM record '%s' generation %" PRIu64
                              " written, but cannot confirm it",
                              rec->name, rec->generation);
            scan_clear(&after);
            return -1;
        }
        pool_error_reset();
        scan_clear(&after);
        return 0;
    }
    if (after.max_gen > rec->generation)
        higher = after.max_gen;
    if (higher && elapsed * 10 >= st->grace_ms * 9) {
        /* Stalled for most of the grace period: our slot may have been
         * collected and reused; if so nobody ever saw our file. */
        st->be->ops->unlink(st->be, fname);
        scan_clear(&after);
        pool_error(POOL_ERR_CONFLICT,
                   "VM record '%s' changed: generation %" PRIu64 " exists above ours (%" PRIu64
                   ") after a %" PRId64 " ms stall",
                   rec->name, higher, rec->generation, elapsed);
        return -1;
    }
    collect_garbage(st, &after, rec->name, replaced, fname);
    scan_clear(&after);
    return 0;
}

/* ---- public API --------------------------------------------------------- */

static bool url_text_ok(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

poolMetaStore *pool_meta_store_open(const char *url, unsigned timeout_ms)
{
    poolMetaStore *st;
    const char *env;

    if (!url || !*url) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store: missing URL or path");
        return NULL;
    }
    if (strlen(url) > 4096 || !url_text_ok(url)) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL: too long or contains control characters");
        return NULL;
    }
    if (strncmp(url, "nfs://", 6) != 0 && url[0] != '/') {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL '%s': expected nfs://server[:port]/export/path or an "
                   "absolute directory path",
                   url);
        return NULL;
    }
    if (!(st = pool_calloc(1, sizeof(*st))))
        return NULL;
    st->timeout_ms = timeout_ms ? timeout_ms : POOL_META_DEFAULT_TIMEOUT_MS;
    st->grace_ms = GC_GRACE_MS;
    env = getenv("POOLD_TEST_META_GRACE_MS");
    if (env && *env) {
        uint64_t v = 0;

        if (pool_parse_uint(env, "POOLD_TEST_META_GRACE_MS", 0, 86400000, &v) == 0)
            st->grace_ms = (int64_t)v;
        else
            pool_error_reset();
    }
    host_part(st->host);
    if (!(st->url = pool_strdup(url)))
        goto error;
    if (url[0] == '/')
        st->be = pool_meta_local_open(url);
    else
        st->be = pool_meta_nfs_open(url, st->timeout_ms);
    if (!st->be)
        goto error;
    return st;
error:
    pool_meta_store_free(st);
    return NULL;
}

void pool_meta_store_free(poolMetaStore *st)
{
    if (!st)
        return;
    if (st->be)
        st->be->ops->free(st->be);
    free(st->url);
    free(st);
}

const char *pool_meta_store_url(const poolMetaStore *st)
{
    return st ? st->url : NULL;
}

static int check_args(poolMetaStore *st, const char *name)
{
    if (!st) {
        pool_error(POOL_ERR_INVALID_ARG, "no metadata store");
        return -1;
    }
    return pool_vm_name_check(name, "VM record");
}

poolVmRecord *pool_meta_store_read(poolMetaStore *st, const char *name)
{
    recScan s = {0};
    poolVmRecord *rec;

    if (check_args(st, name) < 0)
        return NULL;
    if (scan_record(st, name, &s) < 0) {
        scan_clear(&s);
        return NULL;
    }
    if (!s.current || s.current->deleted) {
        pool_error(POOL_ERR_NO_VM, "no VM record '%s' in %s%s", name, st->url,
                   s.current ? " (deleted)" : "");
        scan_clear(&s);
        return NULL;
    }
    rec = pool_steal_ptr(&s.current);
    scan_clear(&s);
    return rec;
}

/* The record as it will be written: new generation, time, writer. */
static poolVmRecord *prepare(poolMetaStore *st, const poolVmRecord *src, uint64_t gen, bool deleted)
{
    POOL_AUTOPTR(poolVmRecord) w = pool_vm_record_copy(src);

    if (!w)
        return NULL;
    if (gen > GEN_MAX) {
        pool_error(POOL_ERR_INTERNAL, "VM record '%s': generation overflow", src->name);
        return NULL;
    }
    w->generation = gen;
    w->deleted = deleted;
    w->modified = (int64_t)time(NULL);
    if (!w->modified_by || deleted) {
        free(w->modified_by);
        if (!(w->modified_by = pool_strdup(st->host)))
            return NULL;
    }
    return pool_steal_ptr(&w);
}

/* Returns 0 and fills rec's generation and modified on success. */
static int commit(poolMetaStore *st, poolVmRecord *rec, const poolVmRecord *w, uint64_t replaced,
                  int64_t t0)
{
    if (write_generation(st, w, replaced, t0) < 0)
        return -1;
    if (rec) {
        rec->generation = w->generation;
        rec->modified = w->modified;
        if (!rec->modified_by)
            rec->modified_by = pool_strdup(w->modified_by);
    }
    return 0;
}

int pool_meta_store_define(poolMetaStore *st, poolVmRecord *rec)
{
    POOL_AUTOPTR(poolVmRecord) w = NULL;
    recScan s = {0};
    int64_t t0;
    int rc;

    if (!rec) {
        pool_error(POOL_ERR_INVALID_ARG, "no VM record to define");
        return -1;
    }
    if (check_args(st, rec->name) < 0 || rec->deleted) {
        if (rec->deleted)
            pool_error(POOL_ERR_INVALID_ARG, "VM record '%s': cannot define a deleted record",
                       rec->name);
        return -1;
    }
    t0 = pool_monotonic_ms();
    if (scan_record(st, rec->name, &s) < 0) {
        scan_clear(&s);
        return -1;
    }
    if (s.current && !s.current->deleted) {
        pool_error(POOL_ERR_EXISTS, "VM record '%s' already exists in %s (generation %" PRIu64 ")",
                   rec->name, st->url, s.current_gen);
        scan_clear(&s);
        return -1;
    }
    w = prepare(st, rec, s.max_gen + 1, false);
    rc = w ? commit(st, rec, w, s.current_gen, t0) : -1;
    scan_clear(&s);
    return rc;
}

int pool_meta_store_update(poolMetaStore *st, poolVmRecord *rec)
{
    POOL_AUTOPTR(poolVmRecord) w = NULL;
    recScan s = {0};
    int64_t t0;
    int rc;

    if (!rec) {
        pool_error(POOL_ERR_INVALID_ARG, "no VM record to update");
        return -1;
    }
    if (check_args(st, rec->name) < 0)
        return -1;
    if (rec->deleted) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "VM record '%s': use pool_meta_store_remove to delete a record", rec->name);
        return -1;
    }
    if (rec->generation < 1) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "VM record '%s': update needs the generation that was read (got 0)", rec->name);
        return -1;
    }
    t0 = pool_monotonic_ms();
    if (scan_record(st, rec->name, &s) < 0) {
        scan_clear(&s);
        return -1;
    }
    if (!s.current || s.current->deleted) {
        pool_error(POOL_ERR_NO_VM, "no VM record '%s' in %s%s", rec->name, st->url,
                   s.current ? " (deleted)" : "");
        scan_clear(&s);
        return -1;
    }
    if (s.current_gen != rec->generation) {
        pool_error(POOL_ERR_CONFLICT,
                   "VM record '%s' changed: generation %" PRIu64 " was read, current is %" PRIu64,
                   rec->name, rec->generation, s.current_gen);
        scan_clear(&s);
        return -1;
    }
    w = prepare(st, rec, s.max_gen + 1, false);
    rc = w ? commit(st, rec, w, s.current_gen, t0) : -1;
    scan_clear(&s);
    return rc;
}

int pool_meta_store_remove(poolMetaStore *st, const char *name, uint64_t generation)
{
    POOL_AUTOPTR(poolVmRecord) w = NULL;
    recScan s = {0};
    int64_t t0;
    int rc;

    if (check_args(st, name) < 0)
        return -1;
    t0 = pool_monotonic_ms();
    if (scan_record(st, name, &s) < 0) {
        scan_clear(&s);
        return -1;
    }
    if (!s.current || s.current->deleted) {
        pool_error(POOL_ERR_NO_VM, "no VM record '%s' in %s%s", name, st->url,
                   s.current ? " (already deleted)" : "");
        scan_clear(&s);
        return -1;
    }
    if (s.current_gen != generation) {
        pool_error(POOL_ERR_CONFLICT,
                   "VM record '%s' changed: generation %" PRIu64 " was read, current is %" PRIu64,
                   name, generation, s.current_gen);
        scan_clear(&s);
        return -1;
    }
    w = prepare(st, s.current, s.max_gen + 1, true);
    rc = w ? commit(st, NULL, w, s.current_gen, t0) : -1;
    scan_clear(&s);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pool_meta_store_list(poolMetaStore *st, char ***names)
{
    POOL_AUTOSTRV seen = NULL;
    POOL_AUTOSTRV live = NULL;
    recScan s = {0};
    int rc = -1;

    if (!names) {
        pool_error(POOL_ERR_INVALID_ARG, "list: no output");
        return -1;
    }
    *names = NULL;
    if (!st) {
        pool_error(POOL_ERR_INVALID_ARG, "no metadata store");
        return -1;
    }
    /* One listing for all records (one READDIRPLUS on NFS); a record whose
     * files change meanwhile is listed again on its own. */
    if (scan_list(st, &s) < 0)
        return -1;
    for (size_t i = 0; i < s.nents; i++) {
        char n[POOL_VMREC_NAME_MAX + 1];
        uint64_t gen;
        bool dup = false;

        if (!parse_record_file(s.ents[i].name, n, sizeof(n), &gen))
            continue;
        for (size_t j = 0; seen && seen[j]; j++) {
            if (strcmp(seen[j], n) == 0) {
                dup = true;
                break;
            }
        }
        if (!dup && pool_strv_add(&seen, n) < 0)
            goto out;
    }
    for (size_t j = 0; seen && seen[j]; j++) {
        if (scan_record_from(st, seen[j], &s, true) < 0) {
            if (pool_error_last_code() != POOL_ERR_UNSUPPORTED)
                goto out;
            /* Newer format: it exists, this poold cannot read it. */
            log_warnx("%s", pool_error_last_message());
            pool_error_reset();
            if (pool_strv_add(&live, seen[j]) < 0)
                goto out;
            continue;
        }
        if (s.current && !s.current->deleted && pool_strv_add(&live, seen[j]) < 0)
            goto out;
    }
    if (!live && !(live = pool_calloc(1, sizeof(char *))))
        goto out;
    qsort(live, pool_strv_length(live), sizeof(char *), cmp_str);
    *names = pool_steal_ptr(&live);
    rc = 0;
out:
    scan_clear(&s);
    return rc;
}

static int report_add(char **report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int report_add(char **report, const char *fmt, ...)
{
    char *line = NULL;
    char *joined;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pool_error_oom();
    joined = *report ? pool_asprintf("%s%s\n", *report, line) : pool_asprintf("%s\n", line);
    free(line);
    if (!joined)
        return -1;
    free(*report);
    *report = joined;
    return 0;
}

int pool_meta_store_check(poolMetaStore *st, char **report)
{
    POOL_AUTOFREE(char *) out = NULL;
    poolMetaDirent *ents = NULL;
    size_t nents = 0;
    int64_t now = (int64_t)time(NULL);
    int rc = 0;

    if (!report) {
        pool_error(POOL_ERR_INVALID_ARG, "check: no output");
        return -1;
    }
    *report = NULL;
    if (!st) {
        pool_error(POOL_ERR_INVALID_ARG, "no metadata store");
        return -1;
    }
    if (st->be->ops->list(st->be, &ents, &nents) < 0)
        return -1;
    for (size_t i = 0; i < nents && rc == 0; i++) {
        const poolMetaDirent *e = &ents[i];
        char n[POOL_VMREC_NAME_MAX + 1];
        uint64_t gen;

        if (parse_record_file(e->name, n, sizeof(n), &gen)) {
            POOL_AUTOPTR(poolVmRecord) rec = NULL;
            POOL_AUTOFREE(char *) why = NULL;
            int lr;

            if (!e->is_file) {
                rc = report_add(&out, "%s: not a regular file", e->name);
                continue;
            }
            lr = load_generation(st, e->name, n, gen, &rec, &why);
            if (lr < 0) {
                rc = report_add(&out, "%s: cannot read: %s", e->name, pool_error_last_message());
                pool_error_reset();
            } else if (lr == LOAD_CORRUPT || lr == LOAD_NEWER) {
                rc = report_add(&out, "%s: %s: %s", e->name,
                                lr == LOAD_NEWER ? "unsupported" : "corrupt",
                                why ? why : "unknown problem");
            }
        } else if (parse_temp_file(e->name, n, sizeof(n))) {
            int64_t age = now - e->mtime.sec;

            if (age >= TMP_STALE_SEC)
                rc = report_add(&out, "%s: stale temporary file (%" PRId64 " s old)", e->name, age);
        } else {
            rc = report_add(&out, "%s: unknown file (not a VM record)", e->name);
        }
    }
    pool_meta_dirents_free(ents, nents);
    if (rc < 0)
        return -1;
    *report = pool_steal_ptr(&out);
    return 0;
}
