// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_util.c: UUIDs, file helpers, CRC32C and the small shared helpers
 * (monotonic clock, host name, write_all, hex digits, byte order).
 *
 * The atomic write is what keeps state and metadata records whole across
 * crashes, and CRC32C guards every protocol frame, so both are checked
 * against their defining properties: no temporary files left behind, old
 * content intact on failure, and the published CRC32C check vectors with
 * the hardware and table implementations agreeing.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-byteorder.h"
#include "pool-error.h"
#include "pool-util.h"
#include "test_support.h"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_util.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;

    if (!d) {
        unlink(path);
        return;
    }
    while ((de = readdir(d))) {
        char sub[512];

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        rm_rf(sub);
    }
    closedir(d);
    rmdir(path);
}

static void teardown(void)
{
    rm_rf(tmpdir);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------------ */

START_TEST(test_uuid)
{
    char a[37], b[37];

    ck_assert_int_eq(pool_uuid_generate(a), 0);
    ck_assert_int_eq(pool_uuid_generate(b), 0);
    ck_assert_uint_eq(strlen(a), 36);
    ck_assert(pool_uuid_is_valid(a));
    ck_assert(pool_uuid_is_valid(b));
    ck_assert_str_ne(a, b);
    /* Version 4, RFC 4122 variant, lowercase. */
    ck_assert_int_eq(a[14], '4');
    ck_assert_ptr_nonnull(strchr("89ab", a[19]));
    for (int i = 0; i < 36; i++)
        ck_assert(!(a[i] >= 'A' && a[i] <= 'F'));

    ck_assert(pool_uuid_is_valid("123e4567-e89b-12d3-a456-426614174000"));
    ck_assert(pool_uuid_is_valid("123E4567-E89B-12D3-A456-426614174000"));
    ck_assert(!pool_uuid_is_valid(NULL));
    ck_assert(!pool_uuid_is_valid(""));
    ck_assert(!pool_uuid_is_valid("123e4567-e89b-12d3-a456-42661417400"));
    ck_assert(!pool_uuid_is_valid("123e4567-e89b-12d3-a456-4266141740000"));
    ck_assert(!pool_uuid_is_valid("123e4567xe89b-12d3-a456-426614174000"));
    ck_assert(!pool_uuid_is_valid("123e4567-e89b-12d3-a456-42661417400g"));
    ck_assert(!pool_uuid_is_valid("123e4567e89b12d3a456426614174000"));
}
END_TEST

START_TEST(test_write_atomic_and_read)
{
    char path[512];
    POOL_AUTOFREE(char *) data = NULL;
    size_t len = 0;
    struct stat st;

    snprintf(path, sizeof(path), "%s/state.xml", tmpdir);
    ck_assert_int_eq(pool_file_write_atomic(path, "<a/>\n", 5, 0600), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(pool_file_read_all(path, 1024, &data, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq(data, "<a/>\n");
    ck_assert_int_eq(count_entries(tmpdir), 1);

    /* Replace: new content, new mode, still no temporary files. */
    free(pool_steal_ptr(&data));
    ck_assert_int_eq(pool_file_write_atomic(path, "second version", 14, 0644), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0644);
    ck_assert_int_eq(pool_file_read_all(path, 1024, &data, NULL), 0);
    ck_assert_str_eq(data, "second version");
    ck_assert_int_eq(count_entries(tmpdir), 1);

    /* Empty files are fine. */
    free(pool_steal_ptr(&data));
    ck_assert_int_eq(pool_file_write_atomic(path, NULL, 0, 0600), 0);
    ck_assert_int_eq(pool_file_read_all(path, 0, &data, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(data, "");
}
END_TEST

START_TEST(test_write_atomic_failure_keeps_old)
{
    char path[512];
    char dirpath[512];
    POOL_AUTOFREE(char *) data = NULL;

    snprintf(path, sizeof(path), "%s/record", tmpdir);
    ck_assert_int_eq(pool_file_write_atomic(path, "old", 3, 0600), 0);

    /* Target is a directory: rename fails, old file untouched, no temp left. */
    snprintf(dirpath, sizeof(dirpath), "%s/adir", tmpdir);
    ck_assert_int_eq(mkdir(dirpath, 0700), 0);
    ck_assert_int_eq(pool_file_write_atomic(dirpath, "new", 3, 0600), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), dirpath));
    ck_assert_int_eq(count_entries(tmpdir), 2);
    ck_assert_int_eq(count_entries(dirpath), 0);

    /* Missing directory. */
    snprintf(dirpath, sizeof(dirpath), "%s/missing/record", tmpdir);
    errno = 0;
    ck_assert_int_eq(pool_file_write_atomic(dirpath, "new", 3, 0600), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "No such file or directory"));

    ck_assert_int_eq(pool_file_read_all(path, 100, &data, NULL), 0);
    ck_assert_str_eq(data, "old");

    ck_assert_int_eq(pool_file_write_atomic("", "x", 1, 0600), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_write_atomic_large)
{
    char path[512];
    POOL_AUTOFREE(char *) big = malloc(3 * 1024 * 1024);
    POOL_AUTOFREE(char *) data = NULL;
    size_t len = 0;

    for (size_t i = 0; i < 3 * 1024 * 1024; i++)
        big[i] = (char)(i * 31 + 7);
    snprintf(path, sizeof(path), "%s/big", tmpdir);
    ck_assert_int_eq(pool_file_write_atomic(path, big, 3 * 1024 * 1024, 0600), 0);
    ck_assert_int_eq(pool_file_read_all(path, 3 * 1024 * 1024, &data, &len), 0);
    ck_assert_uint_eq(len, 3 * 1024 * 1024);
    ck_assert_int_eq(memcmp(data, big, len), 0);
    ck_assert_int_eq(data[len], '\0');
}
END_TEST

START_TEST(test_read_all_limits)
{
    char path[512];
    POOL_AUTOFREE(char *) data = NULL;
    size_t len = 99;

    snprintf(path, sizeof(path), "%s/ten", tmpdir);
    ck_assert_int_eq(pool_file_write_atomic(path, "0123456789", 10, 0600), 0);

    /* Exactly at the limit is fine, one byte over is not. */
    ck_assert_int_eq(pool_file_read_all(path, 10, &data, &len), 0);
    ck_assert_uint_eq(len, 10);
    free(pool_steal_ptr(&data));
    errno = 0;
    ck_assert_int_eq(pool_file_read_all(path, 9, &data, &len), -1);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_ptr_null(data);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "larger than 9 bytes"));

    errno = 0;
    snprintf(path, sizeof(path), "%s/none", tmpdir);
    ck_assert_int_eq(pool_file_read_all(path, 10, &data, &len), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), path));

    /* A directory cannot be read as a file. */
    ck_assert_int_eq(pool_file_read_all(tmpdir, 10, &data, &len), -1);

    /* Files whose size stat does not report are read to EOF. */
    ck_assert_int_eq(pool_file_read_all("/proc/self/status", 1024 * 1024, &data, &len), 0);
    ck_assert_uint_gt(len, 0);
    ck_assert_ptr_nonnull(strstr(data, "Name:"));
}
END_TEST

START_TEST(test_mkdir_p)
{
    char path[512];
    char file[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/a/b//c/", tmpdir);
    ck_assert_int_eq(pool_mkdir_p(path, 0750), 0);
    snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    /* Idempotent. */
    ck_assert_int_eq(pool_mkdir_p(path, 0750), 0);

    /* A file in the way is an error naming it. */
    snprintf(file, sizeof(file), "%s/a/file", tmpdir);
    ck_assert_int_eq(pool_file_write_atomic(file, "x", 1, 0600), 0);
    snprintf(path, sizeof(path), "%s/a/file/sub", tmpdir);
    errno = 0;
    ck_assert_int_eq(pool_mkdir_p(path, 0750), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), file));
    ck_assert_int_eq(pool_mkdir_p(file, 0750), -1);

    ck_assert_int_eq(pool_mkdir_p("", 0750), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_int_eq(pool_mkdir_p("/", 0750), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */

static const struct {
    const char *data;
    size_t len;
    uint32_t crc;
} crc_vectors[] = {
    {"", 0, 0x00000000},
    {"a", 1, 0xC1D04330},
    {"abc", 3, 0x364B3FB7},
    {"123456789", 9, 0xE3069283},
    {"The quick brown fox jumps over the lazy dog", 43, 0x22620404},
};

START_TEST(test_crc32c_vectors)
{
    unsigned char buf[32];

    for (size_t i = 0; i < sizeof(crc_vectors) / sizeof(crc_vectors[0]); i++) {
        ck_assert_msg(pool_crc32c(0, crc_vectors[i].data, crc_vectors[i].len) == crc_vectors[i].crc,
                      "crc32c('%s') = %08x", crc_vectors[i].data,
                      pool_crc32c(0, crc_vectors[i].data, crc_vectors[i].len));
        ck_assert(pool_crc32c_portable(0, crc_vectors[i].data, crc_vectors[i].len) ==
                  crc_vectors[i].crc);
    }

    /* RFC 3720 (iSCSI) B.4 test vectors. */
    memset(buf, 0, sizeof(buf));
    ck_assert_uint_eq(pool_crc32c(0, buf, 32), 0x8A9136AA);
    memset(buf, 0xff, sizeof(buf));
    ck_assert_uint_eq(pool_crc32c(0, buf, 32), 0x62A8AB43);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    ck_assert_uint_eq(pool_crc32c(0, buf, 32), 0x46DD794E);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    ck_assert_uint_eq(pool_crc32c(0, buf, 32), 0x113FDB5C);
}
END_TEST

START_TEST(test_crc32c_chaining_and_impls_agree)
{
    unsigned char *buf = malloc(4096 + 16);
    uint32_t seed = 12345;

    for (size_t i = 0; i < 4096 + 16; i++) {
        seed = seed * 1103515245 + 12345;
        buf[i] = (unsigned char)(seed >> 16);
    }
    /* Every alignment and length, both implementations, and chaining. */
    for (size_t off = 0; off < 9; off++) {
        for (size_t len = 0; len < 300; len += (len < 40 ? 1 : 37)) {
            uint32_t whole = pool_crc32c(0, buf + off, len);

            ck_assert_uint_eq(whole, pool_crc32c_portable(0, buf + off, len));
            for (size_t cut = 0; cut <= len; cut += 7) {
                uint32_t part = pool_crc32c(0, buf + off, cut);

                ck_assert_uint_eq(pool_crc32c(part, buf + off + cut, len - cut), whole);
                ck_assert_uint_eq(pool_crc32c_portable(part, buf + off + cut, len - cut), whole);
            }
        }
    }
    ck_assert_uint_eq(pool_crc32c(0, buf, 4096), pool_crc32c_portable(0, buf, 4096));
    ck_assert_uint_eq(pool_crc32c(0x1234, NULL, 0), 0x1234);
    free(buf);
}
END_TEST

START_TEST(test_monotonic_clock)
{
    struct timespec ts;
    int64_t ns, ms, ref_ms;
    double sec;

    ns = pool_monotonic_ns();
    ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
    ms = pool_monotonic_ms();
    sec = pool_monotonic_seconds();
    ref_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* the three units read the same clock, in order */
    ck_assert_int_gt(ns, 0);
    ck_assert_int_le(ns / 1000000, ref_ms);
    ck_assert_int_ge(ms, ref_ms);
    ck_assert_int_lt(ms - ref_ms, 1000);
    ck_assert(sec * 1e3 >= (double)ms - 1 && sec * 1e3 < (double)ms + 1000);

    /* it advances with real time */
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
    ck_assert_int_ge(pool_monotonic_ms() - ms, 20);
    ck_assert_int_ge(pool_monotonic_ns() - ns, 20 * 1000000);
}
END_TEST

START_TEST(test_host_name)
{
    char expect[256] = "";

    ck_assert_int_eq(gethostname(expect, sizeof(expect) - 1), 0);
    ck_assert_str_eq(pool_host_name_system(), expect);
    /* read once: the same buffer every time */
    ck_assert_ptr_eq(pool_host_name_system(), pool_host_name_system());
    ck_assert_str_eq(pool_host_name(NULL), expect[0] ? expect : "unknown");
    /* the host_name setting wins, verbatim */
    ck_assert_str_eq(pool_host_name("Node-1.Example"), "Node-1.Example");
}
END_TEST

START_TEST(test_write_all)
{
    int sv[2];
    char big[256 * 1024], got[sizeof(big)];
    size_t have = 0;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    /* a socket buffer far smaller than the data forces short writes */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int sz = 4096;
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(sv[1]);
        _exit(pool_write_all(sv[0], big, sizeof(big)) == 0 ? 0 : 1);
    }
    close(sv[0]);
    while (have < sizeof(got)) {
        ssize_t n = read(sv[1], got + have, sizeof(got) - have);
        ck_assert_int_gt(n, 0);
        have += (size_t)n;
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(memcmp(big, got, sizeof(big)), 0);

    /* failure: -1 with errno, nothing reported */
    close(sv[1]);
    pool_error_reset();
    ck_assert_int_eq(pool_write_all(-1, "x", 1), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_ptr_null(pool_error_last());
}
END_TEST

START_TEST(test_hex_value)
{
    const char *digits = "0123456789abcdef";

    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(pool_hex_value(digits[i]), i);
        ck_assert_int_eq(pool_hex_value(toupper((unsigned char)digits[i])), i);
    }
    ck_assert_int_eq(pool_hex_value('g'), -1);
    ck_assert_int_eq(pool_hex_value('G'), -1);
    ck_assert_int_eq(pool_hex_value('/'), -1);
    ck_assert_int_eq(pool_hex_value(':'), -1);
    ck_assert_int_eq(pool_hex_value('@'), -1);
    ck_assert_int_eq(pool_hex_value('`'), -1);
    ck_assert_int_eq(pool_hex_value('\0'), -1);
    ck_assert_int_eq(pool_hex_value(-1), -1);
    ck_assert_int_eq(pool_hex_value(0xe4), -1);
}
END_TEST

START_TEST(test_byteorder)
{
    uint8_t b[8];
    const uint8_t want[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};

    pool_put_le64(b, 0x0102030405060708ull);
    ck_assert_mem_eq(b, want, 8);
    ck_assert_uint_eq(pool_get_le64(b), 0x0102030405060708ull);
    ck_assert_uint_eq(pool_get_le32(b + 4), 0x01020304u);
    ck_assert_uint_eq(pool_get_le16(b + 6), 0x0102u);

    memset(b, 0, sizeof(b));
    pool_put_le32(b + 1, 0xfedcba98u);
    pool_put_le16(b + 5, 0xa55au);
    ck_assert_uint_eq(b[0], 0);
    ck_assert_uint_eq(b[1], 0x98);
    ck_assert_uint_eq(b[4], 0xfe);
    ck_assert_uint_eq(b[5], 0x5a);
    ck_assert_uint_eq(b[6], 0xa5);
    ck_assert_uint_eq(b[7], 0);
    ck_assert_uint_eq(pool_get_le32(b + 1), 0xfedcba98u);
    ck_assert_uint_eq(pool_get_le16(b + 5), 0xa55au);
    /* the top bit survives (no sign extension) */
    pool_put_le64(b, UINT64_MAX);
    ck_assert_uint_eq(pool_get_le64(b), UINT64_MAX);
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("files");
    TCase *tcrc = tcase_create("crc32c");
    TCase *thelp = tcase_create("helpers");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_uuid);
    tcase_add_test(tc, test_write_atomic_and_read);
    tcase_add_test(tc, test_write_atomic_failure_keeps_old);
    tcase_add_test(tc, test_write_atomic_large);
    tcase_add_test(tc, test_read_all_limits);
    tcase_add_test(tc, test_mkdir_p);
    suite_add_tcase(s, tc);

    tcase_add_test(tcrc, test_crc32c_vectors);
    tcase_add_test(tcrc, test_crc32c_chaining_and_impls_agree);
    suite_add_tcase(s, tcrc);

    tcase_add_test(thelp, test_monotonic_clock);
    tcase_add_test(thelp, test_host_name);
    tcase_add_test(thelp, test_write_all);
    tcase_add_test(thelp, test_hex_value);
    tcase_add_test(thelp, test_byteorder);
    suite_add_tcase(s, thelp);
    return s;
}

int main(void)
{
    return test_run_suite(util_suite());
}
