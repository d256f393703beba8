// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_alloc.c: allocation wrappers, string vectors and cleanup helpers.
 *
 * The cleanup attributes are only safe if the helpers behave exactly as
 * pool-alloc.h says (NULL tolerated, steal leaves NULL behind, fds closed
 * once); run under ASan these tests also catch leaks and double frees.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "test_support.h"

typedef struct {
    int *freed;
} testObj;

static void test_obj_free(testObj *o)
{
    (*o->freed)++;
    free(o);
}
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(testObj, test_obj_free)

START_TEST(test_strv)
{
    POOL_AUTOSTRV v = NULL;
    POOL_AUTOSTRV copy = NULL;
    POOL_AUTOSTRV empty = NULL;
    char arg[] = "--config";

    ck_assert_uint_eq(pool_strv_length(NULL), 0);
    ck_assert_int_eq(pool_strv_add(&v, "lvm"), 0);
    ck_assert_int_eq(pool_strv_add(&v, "lvcreate"), 0);
    ck_assert_int_eq(pool_strv_add(&v, arg), 0);
    arg[0] = 'X'; /* the vector holds its own copy */
    ck_assert_uint_eq(pool_strv_length(v), 3);
    ck_assert_str_eq(v[0], "lvm");
    ck_assert_str_eq(v[1], "lvcreate");
    ck_assert_str_eq(v[2], "--config");
    ck_assert_ptr_null(v[3]);

    copy = pool_strv_copy(v);
    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_ne(copy, v);
    ck_assert_uint_eq(pool_strv_length(copy), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(copy[i], v[i]);
        ck_assert_ptr_ne(copy[i], v[i]);
    }
    ck_assert_ptr_null(copy[3]);

    /* NULL copies to an empty vector so NULL keeps meaning failure. */
    empty = pool_strv_copy(NULL);
    ck_assert_ptr_nonnull(empty);
    ck_assert_ptr_null(empty[0]);

    ck_assert_int_eq(pool_strv_add(&v, NULL), -1);
    ck_assert_uint_eq(pool_strv_length(v), 3);
    pool_strv_free(NULL);
}
END_TEST

START_TEST(test_many_adds)
{
    POOL_AUTOSTRV v = NULL;
    char buf[16];

    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof(buf), "a%d", i);
        ck_assert_int_eq(pool_strv_add(&v, buf), 0);
    }
    ck_assert_uint_eq(pool_strv_length(v), 1000);
    ck_assert_str_eq(v[999], "a999");
}
END_TEST

START_TEST(test_wrappers)
{
    POOL_AUTOFREE(char *) s = NULL;
    POOL_AUTOFREE(char *) f = NULL;
    POOL_AUTOFREE(int *) arr = NULL;
    POOL_AUTOFREE(void *) zero = NULL;

    s = pool_strdup("hello");
    ck_assert_str_eq(s, "hello");
    ck_assert_ptr_null(pool_strdup(NULL));

    f = pool_asprintf("%s-%03d", "vol", 7);
    ck_assert_str_eq(f, "vol-007");

    arr = pool_calloc(4, sizeof(int));
    ck_assert_ptr_nonnull(arr);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(arr[i], 0);

    zero = pool_calloc(0, 8);
    ck_assert_ptr_nonnull(zero);

    ck_assert_int_eq(pool_realloc_n(&arr, 100, sizeof(int)), 0);
    arr[99] = 5;
    ck_assert_int_eq(arr[0], 0);
    ck_assert_int_eq(pool_realloc_n(&arr, 0, sizeof(int)), 0);
    ck_assert_ptr_null(arr);
}
END_TEST

START_TEST(test_no_memory_reported)
{
    POOL_AUTOFREE(char *) buf = NULL;
    void *p;

    pool_error_reset();
    p = pool_calloc(SIZE_MAX / 2, 4);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_MEMORY);

    buf = pool_strdup("keep");
    pool_error_reset();
    ck_assert_int_eq(pool_realloc_n(&buf, SIZE_MAX / 2, 4), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_NO_MEMORY);
    /* On failure the old buffer is untouched. */
    ck_assert_str_eq(buf, "keep");
}
END_TEST

START_TEST(test_autoptr_and_steal)
{
    int freed = 0;
    testObj *kept;

    {
        POOL_AUTOPTR(testObj) o = calloc(1, sizeof(testObj));
        o->freed = &freed;
    }
    ck_assert_int_eq(freed, 1);

    {
        POOL_AUTOPTR(testObj) o = calloc(1, sizeof(testObj));
        o->freed = &freed;
        kept = pool_steal_ptr(&o);
        ck_assert_ptr_null(o);
    }
    ck_assert_int_eq(freed, 1);
    test_obj_free(kept);
    ck_assert_int_eq(freed, 2);

    {
        POOL_AUTOPTR(testObj) o = NULL;
        (void)o;
    }
    ck_assert_int_eq(freed, 2);
}
END_TEST

START_TEST(test_autoclose)
{
    int raw;

    {
        POOL_AUTOCLOSE fd = open("/dev/null", O_RDONLY);
        ck_assert_int_ge(fd, 0);
        raw = fd;
    }
    errno = 0;
    ck_assert_int_eq(fcntl(raw, F_GETFD), -1);
    ck_assert_int_eq(errno, EBADF);

    {
        POOL_AUTOCLOSE fd = -1;
        (void)fd;
        errno = EINTR;
    }
    ck_assert_int_eq(errno, EINTR);

    {
        int fd = open("/dev/null", O_RDONLY);
        errno = ENOSPC;
        pool_autoclose_cleanup(&fd);
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(errno, ENOSPC);
    }
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_strv);
    tcase_add_test(tc, test_many_adds);
    tcase_add_test(tc, test_wrappers);
    tcase_add_test(tc, test_no_memory_reported);
    tcase_add_test(tc, test_autoptr_and_steal);
    tcase_add_test(tc, test_autoclose);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(alloc_suite());
}
