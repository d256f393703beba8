/*
 * test_lease.c: the parts of the lease module (pool-lease.h) that need no
 * sanlock daemon: timeouts, names, the lockspace's naming and size checks,
 * argument checks made before sanlock is asked, and the error when the
 * daemon cannot be reached (SANLOCK_RUN_DIR pointing at an empty dir).
 * Leases against real daemons: tests/integration/leases.sh.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool-error.h"
#include "pool-lease.h"
#include "test_support.h"

#define MIB (1024ull * 1024)

static char tmpdir[64];
static char ids_file[128];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_lease.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(ids_file, sizeof(ids_file), "%s/ids", tmpdir);
    FILE *f = fopen(ids_file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    /* no daemon listens here: every call that reaches sanlock must fail */
    setenv("SANLOCK_RUN_DIR", tmpdir, 1);
}

static void teardown(void)
{
    unlink(ids_file);
    rmdir(tmpdir);
}

START_TEST(test_timeouts)
{
    poolLeaseTimeouts t;
    pool_lease_timeouts(10, &t);
    ck_assert_uint_eq(t.renewal_seconds, 20);
    ck_assert_uint_eq(t.fail_seconds, 80);
    ck_assert_uint_eq(t.dead_seconds, 140);
    pool_lease_timeouts(1, &t);
    ck_assert_uint_eq(t.fail_seconds, 8);
    ck_assert_uint_eq(t.dead_seconds, 68);
}
END_TEST

START_TEST(test_state_names)
{
    ck_assert_str_eq(pool_lease_host_state_name(POOL_LEASE_HOST_LIVE), "live");
    ck_assert_str_eq(pool_lease_host_state_name(POOL_LEASE_HOST_FAIL), "fail");
    ck_assert_str_eq(pool_lease_host_state_name(POOL_LEASE_HOST_DEAD), "dead");
    ck_assert_str_eq(pool_lease_host_state_name(POOL_LEASE_HOST_FREE), "free");
    ck_assert_str_eq(pool_lease_host_state_name(POOL_LEASE_HOST_UNKNOWN), "unknown");
}
END_TEST

START_TEST(test_lockspace_name_is_uuid_without_dashes)
{
    poolLockspace *ls =
        pool_lockspace_new("6601e2cd-7de3-4ac1-bc46-72f3b8d060bd", ids_file, 0, 8 * MIB, 2000);
    ck_assert_ptr_nonnull(ls);
    ck_assert_str_eq(pool_lockspace_name(ls), "6601e2cd7de34ac1bc4672f3b8d060bd");
    ck_assert_uint_eq(pool_lockspace_sector_size(ls), 512); /* a file: 512 */
    pool_lockspace_free(ls);
}
END_TEST

START_TEST(test_lockspace_rejects_bad_input)
{
    const char *u = "6601e2cd-7de3-4ac1-bc46-72f3b8d060bd";
    ck_assert_ptr_null(pool_lockspace_new("not a uuid!", ids_file, 0, 8 * MIB, 10));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_ptr_null(pool_lockspace_new(u, ids_file, 0, 8 * MIB, 0));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_ptr_null(pool_lockspace_new(u, ids_file, 0, 8 * MIB, 2001));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    /* 512-byte sectors: the lockspace takes 1 MiB */
    ck_assert_ptr_null(pool_lockspace_new(u, ids_file, 0, MIB - 512, 10));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_DEVICE);
    ck_assert_ptr_null(pool_lockspace_new(u, "/nonexistent/ids", 0, 8 * MIB, 10));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_SYSTEM);
    ck_assert(strstr(pool_error_last_message(), "/nonexistent/ids") != NULL);
}
END_TEST

START_TEST(test_metadata_ref_and_alignment)
{
    POOL_AUTOPTR(poolLockspace)
    ls = pool_lockspace_new("6601e2cd-7de3-4ac1-bc46-72f3b8d060bd", ids_file, 0, 8 * MIB, 16);
    ck_assert_ptr_nonnull(ls);
    poolLeaseRef m = pool_lease_metadata_ref("/dev/x", 5 * MIB);
    ck_assert_str_eq(m.name, POOL_LEASE_METADATA_NAME);
    ck_assert_uint_eq(m.offset, 5 * MIB);
    /* a slot must be 1 MiB aligned: checked before sanlock is asked */
    poolLeaseRef bad = {.name = "vol", .pv = ids_file, .offset = MIB + 4096};
    poolLeaseStatus st;
    ck_assert_int_eq(pool_lease_status(ls, &bad, &st), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert(strstr(pool_error_last_message(), "1 MiB aligned") != NULL);
    /* resource names longer than sanlock's 48 are refused */
    poolLeaseRef longname = {
        .name = "0123456789012345678901234567890123456789012345678", .pv = ids_file, .offset = MIB};
    ck_assert_int_eq(pool_lease_format(ls, &longname), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_no_daemon_is_a_connect_error)
{
    POOL_AUTOPTR(poolLockspace)
    ls = pool_lockspace_new("6601e2cd-7de3-4ac1-bc46-72f3b8d060bd", ids_file, 0, 8 * MIB, 16);
    ck_assert_ptr_nonnull(ls);
    ck_assert_ptr_null(pool_lease_holder_new());
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONNECT);
    ck_assert(strstr(pool_error_last_message(), tmpdir) != NULL);
    bool joined = true;
    ck_assert_int_eq(pool_lockspace_joined(ls, &joined, NULL), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONNECT);
    ck_assert_int_eq(pool_lockspace_join(ls, 1, 1, 1), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONNECT);
    /* host id range is checked before the daemon is asked */
    ck_assert_int_eq(pool_lockspace_join(ls, 17, 1, 1), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_int_eq(pool_lockspace_format(ls, 1, false), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONNECT);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lease");
    TCase *tc = tcase_create("lease");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_timeouts);
    tcase_add_test(tc, test_state_names);
    tcase_add_test(tc, test_lockspace_name_is_uuid_without_dashes);
    tcase_add_test(tc, test_lockspace_rejects_bad_input);
    tcase_add_test(tc, test_metadata_ref_and_alignment);
    tcase_add_test(tc, test_no_daemon_is_a_connect_error);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
