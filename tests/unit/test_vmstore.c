// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_vmstore.c: the VM metadata store on the local-directory backend
 * (a mkdtemp directory), and the NFS backend's bounded failure when the
 * server cannot be reached.
 *
 * Why these tests: the store is how hosts agree on which VM runs where,
 * without a lock server; what must never happen is a lost update (two
 * writers from the same generation both "succeeding"), a torn or corrupt
 * file taken for the record, or a dead NFS server hanging poold. So:
 *   - define/read/update/remove and their errors (EXISTS, CONFLICT, NO_VM),
 *     tombstones and a define continuing the tombstone's generation;
 *   - a corrupt newest file is skipped (readers fall back to the previous
 *     generation, writers move past it) and check() reports it;
 *   - old temporary files are collected by the next write, young ones kept;
 *   - RACE: four processes each run 100 read-modify-update loops on one
 *     record, every applied update incrementing a counter in the record;
 *     at the end the counter equals the number of updates reported applied
 *     and the generation is 1 + that number — a lost update (or one applied
 *     twice) breaks the equality;
 *   - an unreachable or silent NFS server fails within the timeout.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vmstore.h"
#include "pool-util.h"
#include "test_support.h"

static char tmpdir[64];

static void setup(void)
{
    strcpy(tmpdir, "/tmp/test_meta_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    unsetenv("POOLD_TEST_META_GRACE_MS");
}

static void teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *path_in(const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
    return p;
}

static bool file_exists(const char *name)
{
    POOL_AUTOFREE(char *) p = path_in(name);
    return access(p, F_OK) == 0;
}

static poolVmRecord *make_record(const char *name, unsigned counter)
{
    poolVmRecord *rec = calloc(1, sizeof(*rec));

    ck_assert_ptr_nonnull(rec);
    rec->name = strdup(name);
    strcpy(rec->uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    rec->modified_by = strdup("host-a");
    ck_assert_int_ge(asprintf(&rec->domain_xml,
                              "<domain type='qemu'><name>%s</name>"
                              "<description>%u</description></domain>\n",
                              name, counter),
                     0);
    rec->ndisks = 1;
    rec->disks = calloc(1, sizeof(*rec->disks));
    rec->disks[0].pool = strdup("pool1");
    rec->disks[0].name = strdup("disk1");
    return rec;
}

static unsigned record_counter(const poolVmRecord *rec)
{
    const char *p = strstr(rec->domain_xml, "<description>");
    ck_assert_ptr_nonnull(p);
    return (unsigned)strtoul(p + strlen("<description>"), NULL, 10);
}

static void set_counter(poolVmRecord *rec, unsigned counter)
{
    free(rec->domain_xml);
    ck_assert_int_ge(asprintf(&rec->domain_xml,
                              "<domain type='qemu'><name>%s</name>"
                              "<description>%u</description></domain>\n",
                              rec->name, counter),
                     0);
}

static poolMetaStore *open_store(void)
{
    poolMetaStore *st = pool_meta_store_open(tmpdir, 0);
    ck_assert_msg(st != NULL, "%s", pool_error_last_message());
    return st;
}

/* Age a file: mtime (and atime) `secs` seconds in the past. */
static void age_file(const char *name, int secs)
{
    POOL_AUTOFREE(char *) p = path_in(name);
    struct timespec ts[2];

    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= secs;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void write_file(const char *name, const char *data, size_t len)
{
    POOL_AUTOFREE(char *) p = path_in(name);
    FILE *f = fopen(p, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* ---- URL and open ------------------------------------------------------- */

START_TEST(test_open_urls)
{
    static const char *const bad[] = {
        "",        "relative/dir",    "file:///tmp/x", "nfs:/x",      "http://h/x", "nfs://",
        "nfs://h", "nfs://h:99999/x", "nfs://h:0/x",   "nfs://h:x/x", "/tmp/a\nb",
    };
    POOL_AUTOPTR(poolMetaStore) st = NULL;
    POOL_AUTOFREE(char *) nested = path_in("a/b/c");

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pool_error_reset();
        ck_assert_msg(pool_meta_store_open(bad[i], 100) == NULL, "accepted '%s'", bad[i]);
        ck_assert_msg(pool_error_last_code() == POOL_ERR_INVALID_ARG, "'%s': %s (%d)", bad[i],
                      pool_error_last_message(), pool_error_last_code());
    }
    pool_meta_store_open("relative", 0);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(),
                                 "expected nfs://server[:port]/export/path or an absolute"));
    ck_assert_ptr_null(pool_meta_store_open(NULL, 0));

    /* the directory is created */
    st = pool_meta_store_open(nested, 0);
    ck_assert_msg(st != NULL, "%s", pool_error_last_message());
    ck_assert_str_eq(pool_meta_store_url(st), nested);
    ck_assert(file_exists("a/b/c"));
    ck_assert_ptr_null(pool_meta_store_url(NULL));
}
END_TEST

/* ---- the local backend's primitives ------------------------------------- */

START_TEST(test_local_backend)
{
    poolMetaBackend *be = pool_meta_local_open(tmpdir);
    poolMetaDirent *ents = NULL;
    poolMetaDirent ent;
    char *data = NULL;
    size_t n = 0;
    size_t len = 0;

    ck_assert_ptr_nonnull(be);
    ck_assert_str_eq(be->ops->kind, "local");
    ck_assert_int_eq(be->ops->create(be, "f1", "hello", 5), 0);
    ck_assert_int_eq(be->ops->create(be, "f1", "again", 5), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_EXISTS);
    ck_assert_int_eq(be->ops->link(be, "f1", "f2"), 0);
    ck_assert_int_eq(be->ops->link(be, "f1", "f2"), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_EXISTS);
    ck_assert_int_eq(be->ops->link(be, "missing", "f3"), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert_int_eq(be->ops->stat(be, "f1", &ent), 0);
    ck_assert_uint_eq(ent.nlink, 2);
    ck_assert_uint_eq(ent.size, 5);
    ck_assert(ent.is_file);
    ck_assert_int_eq(be->ops->stat(be, "missing", &ent), 1);
    ck_assert_int_eq(be->ops->read(be, "f2", 100, &data, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq(data, "hello");
    free(data);
    ck_assert_int_eq(be->ops->read(be, "f2", 4, &data, &len), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "too large"));
    ck_assert_int_eq(be->ops->read(be, "missing", 100, &data, &len), 1);
    ck_assert_int_eq(be->ops->list(be, &ents, &n), 0);
    ck_assert_uint_eq(n, 2);
    pool_meta_dirents_free(ents, n);
    ck_assert_int_eq(be->ops->unlink(be, "f1"), 0);
    ck_assert_int_eq(be->ops->unlink(be, "f1"), 1);
    be->ops->free(be);
    ck_assert_ptr_null(pool_meta_local_open("relative"));
}
END_TEST

/* ---- the life of a record ----------------------------------------------- */

START_TEST(test_lifecycle)
{
    POOL_AUTOPTR(poolMetaStore) st = open_store();
    POOL_AUTOPTR(poolVmRecord) rec = make_record("web01", 0);
    POOL_AUTOPTR(poolVmRecord) got = NULL;
    POOL_AUTOPTR(poolVmRecord) stale = NULL;
    POOL_AUTOSTRV names = NULL;
    char *report = NULL;
    int64_t before = (int64_t)time(NULL);

    /* define */
    ck_assert_msg(pool_meta_store_define(st, rec) == 0, "%s", pool_error_last_message());
    ck_assert_uint_eq(rec->generation, 1);
    ck_assert_int_ge(rec->modified, before);
    ck_assert(file_exists("web01.1.vmrec"));
    ck_assert_int_eq(pool_meta_store_define(st, rec), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_EXISTS);

    /* read */
    got = pool_meta_store_read(st, "web01");
    ck_assert_msg(got != NULL, "%s", pool_error_last_message());
    ck_assert_uint_eq(got->generation, 1);
    ck_assert_str_eq(got->domain_xml, rec->domain_xml);
    ck_assert_str_eq(got->modified_by, "host-a");
    ck_assert_uint_eq(got->ndisks, 1);
    stale = pool_vm_record_copy(got);

    /* update */
    free(got->owner_host);
    got->owner_host = strdup("host-b");
    got->owner_host_id = 2;
    set_counter(got, 1);
    ck_assert_msg(pool_meta_store_update(st, got) == 0, "%s", pool_error_last_message());
    ck_assert_uint_eq(got->generation, 2);
    pool_vm_record_free(got);
    got = pool_meta_store_read(st, "web01");
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->generation, 2);
    ck_assert_str_eq(got->owner_host, "host-b");
    ck_assert_uint_eq(record_counter(got), 1);

    /* update from a stale generation */
    set_counter(stale, 99);
    ck_assert_int_eq(pool_meta_store_update(st, stale), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFLICT);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "generation 1 was read, current is 2"));
    ck_assert_uint_eq(stale->generation, 1);
    stale->generation = 0;
    ck_assert_int_eq(pool_meta_store_update(st, stale), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);

    /* list */
    ck_assert_int_eq(pool_meta_store_list(st, &names), 0);
    ck_assert_uint_eq(pool_strv_length(names), 1);
    ck_assert_str_eq(names[0], "web01");
    pool_strv_free(names);
    names = NULL;

    /* remove: stale generation refused, then a tombstone */
    ck_assert_int_eq(pool_meta_store_remove(st, "web01", 1), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFLICT);
    ck_assert_int_eq(pool_meta_store_remove(st, "web01", 2), 0);
    ck_assert(file_exists("web01.3.vmrec"));
    ck_assert_ptr_null(pool_meta_store_read(st, "web01"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VM);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "deleted"));
    ck_assert_int_eq(pool_meta_store_remove(st, "web01", 3), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VM);
    got->generation = 3;
    ck_assert_int_eq(pool_meta_store_update(st, got), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VM);
    ck_assert_int_eq(pool_meta_store_list(st, &names), 0);
    ck_assert_uint_eq(pool_strv_length(names), 0);
    pool_strv_free(names);
    names = NULL;

    /* define over the tombstone continues its generation */
    rec->generation = 0;
    ck_assert_msg(pool_meta_store_define(st, rec) == 0, "%s", pool_error_last_message());
    ck_assert_uint_eq(rec->generation, 4);
    pool_vm_record_free(got);
    got = pool_meta_store_read(st, "web01");
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->generation, 4);
    ck_assert_ptr_null(got->owner_host);

    /* missing records, bad names */
    ck_assert_ptr_null(pool_meta_store_read(st, "nope"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VM);
    ck_assert_int_eq(pool_meta_store_remove(st, "nope", 1), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VM);
    ck_assert_ptr_null(pool_meta_store_read(st, "../etc"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_ptr_null(pool_meta_store_read(st, ".tmp"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    {
        POOL_AUTOPTR(poolVmRecord) bad = make_record("web02", 0);
        bad->uuid[0] = 'x';
        ck_assert_int_eq(pool_meta_store_define(st, bad), -1);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
        ck_assert(!file_exists("web02.1.vmrec"));
    }

    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_msg(report == NULL, "%s", report);
}
END_TEST

/* Two writers from the same generation: exactly one wins. */
START_TEST(test_conflict_same_generation)
{
    POOL_AUTOPTR(poolMetaStore) st = open_store();
    POOL_AUTOPTR(poolVmRecord) rec = make_record("vm1", 0);
    POOL_AUTOPTR(poolVmRecord) a = NULL;
    POOL_AUTOPTR(poolVmRecord) b = NULL;

    ck_assert_int_eq(pool_meta_store_define(st, rec), 0);
    a = pool_meta_store_read(st, "vm1");
    b = pool_meta_store_read(st, "vm1");
    set_counter(a, 1);
    set_counter(b, 1);
    ck_assert_int_eq(pool_meta_store_update(st, a), 0);
    ck_assert_int_eq(pool_meta_store_update(st, b), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFLICT);

    /* another host defined the name first: EXISTS */
    {
        POOL_AUTOPTR(poolVmRecord) c = make_record("vm2", 0);
        POOL_AUTOPTR(poolVmRecord) enc = make_record("vm2", 7);
        POOL_AUTOFREE(char *) data = NULL;
        size_t len = 0;

        enc->generation = 1;
        data = pool_vm_record_file_encode(enc, &len);
        ck_assert_ptr_nonnull(data);
        write_file("vm2.1.vmrec", data, len);
        ck_assert_int_eq(pool_meta_store_define(st, c), -1);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_EXISTS);
    }
}
END_TEST

/* ---- damage ------------------------------------------------------------- */

static void flip_byte(const char *name, long from_end)
{
    POOL_AUTOFREE(char *) p = path_in(name);
    FILE *f = fopen(p, "r+b");
    int c;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, -from_end, SEEK_END), 0);
    c = fgetc(f);
    ck_assert_int_eq(fseek(f, -from_end, SEEK_END), 0);
    fputc(c ^ 0x04, f);
    fclose(f);
}

START_TEST(test_corrupt_newest)
{
    POOL_AUTOPTR(poolMetaStore) st = open_store();
    POOL_AUTOPTR(poolVmRecord) rec = make_record("web01", 0);
    POOL_AUTOPTR(poolVmRecord) got = NULL;
    POOL_AUTOFREE(char *) report = NULL;
    POOL_AUTOSTRV names = NULL;

    ck_assert_int_eq(pool_meta_store_define(st, rec), 0);
    set_counter(rec, 1);
    ck_assert_int_eq(pool_meta_store_update(st, rec), 0);
    ck_assert_uint_eq(rec->generation, 2);

    /* a flipped bit in generation 2: readers fall back to 1 */
    flip_byte("web01.2.vmrec", 20);
    got = pool_meta_store_read(st, "web01");
    ck_assert_msg(got != NULL, "%s", pool_error_last_message());
    ck_assert_uint_eq(got->generation, 1);
    ck_assert_uint_eq(record_counter(got), 0);
    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_ptr_nonnull(report);
    ck_assert_msg(strstr(report, "web01.2.vmrec: corrupt: VM record file: checksum mismatch"), "%s",
                  report);
    free(report);
    report = NULL;

    /* garbage further up, and a truncated file */
    write_file("web01.9.vmrec", "garbage\n", 8);
    {
        POOL_AUTOFREE(char *) p1 = path_in("web01.1.vmrec");
        POOL_AUTOFREE(char *) p5 = path_in("web01.5.vmrec");
        char *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(pool_file_read_all(p1, 1 << 20, &data, &len), 0);
        write_file("web01.5.vmrec", data, len / 2);
        free(data);
        (void)p5;
    }
    pool_vm_record_free(got);
    got = pool_meta_store_read(st, "web01");
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(got->generation, 1);
    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_ptr_nonnull(strstr(report, "web01.9.vmrec: corrupt: VM record file: bad magic"));
    ck_assert_ptr_nonnull(
        strstr(report, "web01.5.vmrec: corrupt: VM record file: length mismatch"));
    free(report);
    report = NULL;

    /* a writer from the current (valid) generation moves past the damage */
    set_counter(got, 5);
    ck_assert_msg(pool_meta_store_update(st, got) == 0, "%s", pool_error_last_message());
    ck_assert_uint_eq(got->generation, 10);
    pool_vm_record_free(got);
    got = pool_meta_store_read(st, "web01");
    ck_assert_uint_eq(got->generation, 10);
    ck_assert_uint_eq(record_counter(got), 5);

    /* a record made only of damage does not exist; list skips it */
    write_file("ghost.1.vmrec", "poold-vmrecord 1 00000000 3\nabc", 31);
    ck_assert_ptr_null(pool_meta_store_read(st, "ghost"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_VM);
    ck_assert_int_eq(pool_meta_store_list(st, &names), 0);
    ck_assert_uint_eq(pool_strv_length(names), 1);
    ck_assert_str_eq(names[0], "web01");

    /* a body that belongs to another file name */
    {
        POOL_AUTOFREE(char *) p = path_in("web01.10.vmrec");
        char *data = NULL;
        size_t len = 0;
        ck_assert_int_eq(pool_file_read_all(p, 1 << 20, &data, &len), 0);
        write_file("other.3.vmrec", data, len);
        free(data);
    }
    ck_assert_ptr_null(pool_meta_store_read(st, "other"));
    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_msg(strstr(report, "other.3.vmrec: corrupt: body is record 'web01' generation 10, "
                                 "file name says 'other' generation 3"),
                  "%s", report);
}
END_TEST

START_TEST(test_newer_format)
{
    POOL_AUTOPTR(poolMetaStore) st = open_store();
    POOL_AUTOPTR(poolVmRecord) rec = make_record("web01", 0);
    POOL_AUTOFREE(char *) report = NULL;
    POOL_AUTOSTRV names = NULL;

    ck_assert_int_eq(pool_meta_store_define(st, rec), 0);
    write_file("web01.2.vmrec", "poold-vmrecord 2 00000000 2\n{}", 30);
    /* an older poold must neither show stale data nor overwrite it */
    ck_assert_ptr_null(pool_meta_store_read(st, "web01"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_UNSUPPORTED);
    ck_assert_int_eq(pool_meta_store_update(st, rec), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_UNSUPPORTED);
    ck_assert_int_eq(pool_meta_store_list(st, &names), 0);
    ck_assert_uint_eq(pool_strv_length(names), 1);
    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_ptr_nonnull(strstr(report, "web01.2.vmrec: unsupported: format version 2"));
}
END_TEST

/* ---- collection --------------------------------------------------------- */

START_TEST(test_temp_cleanup)
{
    POOL_AUTOPTR(poolMetaStore) st = open_store();
    POOL_AUTOPTR(poolVmRecord) rec = make_record("web01", 0);
    POOL_AUTOFREE(char *) report = NULL;

    ck_assert_int_eq(pool_meta_store_define(st, rec), 0);
    write_file(".tmp.web01.hostx.0123456789abcdef", "partial", 7);
    write_file(".tmp.web01.hostx.fedcba9876543210", "partial", 7);
    write_file(".tmp.web01.b.hostx.00000000000000aa", "other record", 12);
    write_file("README", "hello", 5);
    age_file(".tmp.web01.hostx.0123456789abcdef", 120);
    age_file(".tmp.web01.b.hostx.00000000000000aa", 120);

    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_ptr_nonnull(report);
    ck_assert_msg(strstr(report, ".tmp.web01.hostx.0123456789abcdef: stale temporary file"), "%s",
                  report);
    ck_assert_ptr_nonnull(strstr(report, ".tmp.web01.b.hostx.00000000000000aa: stale"));
    ck_assert_ptr_null(strstr(report, "fedcba9876543210"));
    ck_assert_ptr_nonnull(strstr(report, "README: unknown file"));
    free(report);
    report = NULL;

    /* the next write of web01 removes its old temporary, keeps the young
     * one (a write in progress) and the other record's */
    set_counter(rec, 1);
    ck_assert_int_eq(pool_meta_store_update(st, rec), 0);
    ck_assert(!file_exists(".tmp.web01.hostx.0123456789abcdef"));
    ck_assert(file_exists(".tmp.web01.hostx.fedcba9876543210"));
    ck_assert(file_exists(".tmp.web01.b.hostx.00000000000000aa"));
    ck_assert(file_exists("README"));
    /* our own temporary is gone */
    {
        poolMetaBackend *be = pool_meta_local_open(tmpdir);
        poolMetaDirent *ents = NULL;
        size_t n = 0;
        int tmps = 0;

        ck_assert_int_eq(be->ops->list(be, &ents, &n), 0);
        for (size_t i = 0; i < n; i++)
            tmps += strncmp(ents[i].name, ".tmp.", 5) == 0;
        ck_assert_int_eq(tmps, 2);
        pool_meta_dirents_free(ents, n);
        be->ops->free(be);
    }
}
END_TEST

START_TEST(test_generation_gc)
{
    POOL_AUTOPTR(poolMetaStore) st = NULL;
    POOL_AUTOPTR(poolMetaStore) st0 = NULL;
    POOL_AUTOPTR(poolVmRecord) rec = make_record("web01", 0);

    /* default grace (60 s): young generations stay */
    st = open_store();
    ck_assert_int_eq(pool_meta_store_define(st, rec), 0);
    for (unsigned i = 1; i <= 4; i++) {
        set_counter(rec, i);
        ck_assert_int_eq(pool_meta_store_update(st, rec), 0);
    }
    for (unsigned g = 1; g <= 5; g++) {
        char n[32];
        snprintf(n, sizeof(n), "web01.%u.vmrec", g);
        ck_assert_msg(file_exists(n), "%s", n);
    }
    /* grace 0: the next write keeps only the generation it replaced and
     * its own */
    setenv("POOLD_TEST_META_GRACE_MS", "0", 1);
    st0 = open_store();
    unsetenv("POOLD_TEST_META_GRACE_MS");
    set_counter(rec, 5);
    ck_assert_int_eq(pool_meta_store_update(st0, rec), 0);
    ck_assert_uint_eq(rec->generation, 6);
    ck_assert(!file_exists("web01.1.vmrec"));
    ck_assert(!file_exists("web01.4.vmrec"));
    ck_assert(file_exists("web01.5.vmrec"));
    ck_assert(file_exists("web01.6.vmrec"));
    /* a tombstone collects the same way and stays */
    ck_assert_int_eq(pool_meta_store_remove(st0, "web01", 6), 0);
    ck_assert(!file_exists("web01.5.vmrec"));
    ck_assert(file_exists("web01.6.vmrec"));
    ck_assert(file_exists("web01.7.vmrec"));
}
END_TEST

/* ---- the race ----------------------------------------------------------- */

#define RACE_PROCS 4
#define RACE_LOOPS 100

/* One process: RACE_LOOPS read-modify-update rounds; writes "applied
 * conflicts errors" to fd. */
static void race_child(int idx, int fd)
{
    poolMetaStore *st = pool_meta_store_open(tmpdir, 0);
    unsigned applied = 0;
    unsigned conflicts = 0;
    unsigned errors = 0;
    char line[64];

    if (!st)
        _exit(2);
    for (int i = 0; i < RACE_LOOPS; i++) {
        poolVmRecord *rec = pool_meta_store_read(st, "race");

        if (!rec) {
            errors++;
            continue;
        }
        set_counter(rec, record_counter(rec) + 1);
        free(rec->modified_by);
        if (asprintf(&rec->modified_by, "p%d-%d", idx, i) < 0)
            _exit(2);
        if (pool_meta_store_update(st, rec) == 0)
            applied++;
        else if (pool_error_last_code() == POOL_ERR_CONFLICT)
            conflicts++;
        else {
            fprintf(stderr, "race child %d: %s\n", idx, pool_error_last_message());
            errors++;
        }
        pool_vm_record_free(rec);
    }
    pool_meta_store_free(st);
    snprintf(line, sizeof(line), "%u %u %u\n", applied, conflicts, errors);
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
        _exit(2);
    _exit(0);
}

static void run_race(const char *grace_ms)
{
    POOL_AUTOPTR(poolMetaStore) st = NULL;
    POOL_AUTOPTR(poolVmRecord) rec = make_record("race", 0);
    POOL_AUTOPTR(poolVmRecord) final = NULL;
    POOL_AUTOFREE(char *) report = NULL;
    unsigned applied = 0;
    unsigned conflicts = 0;
    unsigned errors = 0;
    int fds[2];
    FILE *in;

    if (grace_ms)
        setenv("POOLD_TEST_META_GRACE_MS", grace_ms, 1);
    st = open_store();
    ck_assert_int_eq(pool_meta_store_define(st, rec), 0);
    ck_assert_int_eq(pipe(fds), 0);
    for (int i = 0; i < RACE_PROCS; i++) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            race_child(i, fds[1]);
        }
    }
    close(fds[1]);
    for (int i = 0; i < RACE_PROCS; i++) {
        int status = 0;

        ck_assert_int_gt(wait(&status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    }
    in = fdopen(fds[0], "r");
    for (int i = 0; i < RACE_PROCS; i++) {
        unsigned a = 0;
        unsigned c = 0;
        unsigned e = 0;

        ck_assert_int_eq(fscanf(in, "%u %u %u", &a, &c, &e), 3);
        ck_assert_uint_eq(a + c + e, RACE_LOOPS);
        applied += a;
        conflicts += c;
        errors += e;
    }
    fclose(in);
    final = pool_meta_store_read(st, "race");
    ck_assert_ptr_nonnull(final);
    fprintf(stderr,
            "race (grace %s ms): %u applied, %u conflicts, %u errors, generation %" PRIu64 "\n",
            grace_ms ? grace_ms : "default", applied, conflicts, errors, final->generation);
    ck_assert_uint_eq(errors, 0);
    ck_assert_uint_gt(applied, 0);
    /* no update lost, none applied twice */
    ck_assert_uint_eq(record_counter(final), applied);
    ck_assert_uint_eq(final->generation, 1 + applied);
    ck_assert_int_eq(pool_meta_store_check(st, &report), 0);
    ck_assert_msg(report == NULL, "%s", report);
    unsetenv("POOLD_TEST_META_GRACE_MS");
}

START_TEST(test_race)
{
    run_race(NULL);
}
END_TEST

START_TEST(test_race_collecting)
{
    /* collection running all the time under contention */
    run_race("1000");
}
END_TEST

/* ---- NFS: a server that is not there must fail fast --------------------- */

START_TEST(test_nfs_unreachable)
{
    double t0;
    poolMetaStore *st;
    poolErrorCode code;

    t0 = pool_monotonic_seconds();
    st = pool_meta_store_open("nfs://127.0.0.1:1/x", 500);
    code = pool_error_last_code();
    ck_assert_ptr_null(st);
    ck_assert_msg(code == POOL_ERR_CONNECT || code == POOL_ERR_TIMEOUT, "%d: %s", code,
                  pool_error_last_message());
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "127.0.0.1"));
    double took = pool_monotonic_seconds() - t0;
    ck_assert_msg(took < 5.0, "took %.1f s", took);
}
END_TEST

START_TEST(test_nfs_silent_server)
{
    /* A TCP listener that never answers: the MOUNT call must time out. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(addr);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char url[128];
    double t0;
    poolMetaStore *st;
    double took;

    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(s, 16), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&addr, &alen), 0);
    snprintf(url, sizeof(url), "nfs://127.0.0.1/export/meta?nfsport=%u&mountport=%u",
             ntohs(addr.sin_port), ntohs(addr.sin_port));
    t0 = pool_monotonic_seconds();
    st = pool_meta_store_open(url, 500);
    took = pool_monotonic_seconds() - t0;
    ck_assert_ptr_null(st);
    ck_assert_msg(pool_error_last_code() == POOL_ERR_TIMEOUT, "%d: %s", pool_error_last_code(),
                  pool_error_last_message());
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "timed out"));
    ck_assert_msg(took >= 0.4 && took < 5.0, "took %.2f s", took);
    close(s);
}
END_TEST

static Suite *meta_store_suite(void)
{
    Suite *s = suite_create("meta_store");
    TCase *tc = tcase_create("local");
    TCase *race = tcase_create("race");
    TCase *nfs = tcase_create("nfs");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_urls);
    tcase_add_test(tc, test_local_backend);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_conflict_same_generation);
    tcase_add_test(tc, test_corrupt_newest);
    tcase_add_test(tc, test_newer_format);
    tcase_add_test(tc, test_temp_cleanup);
    tcase_add_test(tc, test_generation_gc);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(race, setup, teardown);
    tcase_set_timeout(race, 120);
    tcase_add_test(race, test_race);
    tcase_add_test(race, test_race_collecting);
    suite_add_tcase(s, race);

    tcase_set_timeout(nfs, 30);
    tcase_add_test(nfs, test_nfs_unreachable);
    tcase_add_test(nfs, test_nfs_silent_server);
    suite_add_tcase(s, nfs);
    return s;
}

int main(void)
{
    return test_run_suite(meta_store_suite());
}
