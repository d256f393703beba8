// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_support.h: what the unit tests share: running their suite, and
 * finding and reading files of the source tree (schemas, examples,
 * captured lvm reports).
 *
 * The tests run from the build directory; meson passes the source tree in
 * POOL_SRCDIR (tests/meson.build). Failures are Check assertions, so a
 * missing file fails the test that wanted it with the path in the message.
 */
#ifndef POOL_TEST_SUPPORT_H
#define POOL_TEST_SUPPORT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef POOL_SRCDIR
#define POOL_SRCDIR "."
#endif

/* The top of the source tree. */
static inline const char *test_srcdir(void)
{
    const char *env = getenv("POOL_SRCDIR");
    return env && *env ? env : POOL_SRCDIR;
}

/* xml-schemas/<name> in the source tree; caller frees. */
static inline char *test_schema_path(const char *name)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p, "%s/xml-schemas/%s", test_srcdir(), name), 0);
    return p;
}

/* The whole file, NUL-terminated; its length in *len unless len is NULL.
 * Caller frees. */
static inline char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    ck_assert_msg(!ferror(f), "cannot read %s", path);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Run every test of s; the exit status of the test program (0: all passed). */
static inline int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);

    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
