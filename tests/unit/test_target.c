// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_target.c: the target's inventory (target.c): targets, the sorted LUN
 * table, references that outlive a removal, ACL checks, visibility, and the
 * generation number sessions poll for changes.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "target.h"
#include "test_support.h"

#define IQN_A TGT_IQN_PREFIX "alpha"
#define IQN_B TGT_IQN_PREFIX "beta"

static atomic_int released; /* LUs freed (their release callback ran) */

static int z_read(void *ctx, uint64_t off, uint32_t len, void *buf)
{
    memset(buf, 0, len);
    return 0;
}
static int z_write(void *ctx, uint64_t off, uint32_t len, const void *buf, bool fua)
{
    return 0;
}
static int z_flush(void *ctx)
{
    return 0;
}
static const scsiBackingOps zero_ops = {z_read, z_write, z_flush, NULL};

static void count_release(void *ctx)
{
    atomic_fetch_add(&released, 1);
}

static scsiLu *lu_new(void)
{
    scsiLuConfig c;
    memset(&c, 0, sizeof(c));
    snprintf(c.uuid, sizeof(c.uuid), "0f8e6c3a-1d2b-4c5d-8e9f-a0b1c2d3e4f5");
    snprintf(c.serial, sizeof(c.serial), "0f8e6c3a1d2b4c5d");
    snprintf(c.product, sizeof(c.product), "pool/vol");
    snprintf(c.vendor, sizeof(c.vendor), "POOLD");
    snprintf(c.revision, sizeof(c.revision), "0001");
    c.block_size = 512;
    c.nblocks = 2048;
    c.max_xfer_blocks = 256;
    c.ops = &zero_ops;
    c.release = count_release;
    scsiLu *lu = scsi_lu_new(&c);
    ck_assert_ptr_nonnull(lu);
    return lu;
}

static tgtInventory *inv_with_targets(void)
{
    tgtInventory *inv = tgt_inventory_new();
    ck_assert_ptr_nonnull(inv);
    ck_assert_int_eq(tgt_target_add(inv, IQN_A, 1), 0);
    ck_assert_int_eq(tgt_target_add(inv, IQN_B, 1), 0);
    return inv;
}

START_TEST(target_add_remove)
{
    tgtInventory *inv = inv_with_targets();
    ck_assert_int_eq(tgt_target_add(inv, IQN_A, 1), -1); /* twice: refused */
    ck_assert_int_eq(tgt_target_remove(inv, IQN_A), 0);
    ck_assert_int_eq(tgt_target_remove(inv, IQN_A), -1);
    ck_assert_int_eq(tgt_target_add(inv, IQN_A, 2), 0); /* the name is free again */
    tgt_inventory_free(inv);
}
END_TEST

START_TEST(lun_table_sorted_and_bounded)
{
    released = 0;
    tgtInventory *inv = inv_with_targets();
    static const uint64_t order[] = {7, 0, 3, 12, 1};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(tgt_lun_add(inv, IQN_A, order[i], lu_new()), 0);
    /* a LUN number in use, out of range, or on a missing target is refused;
     * the caller keeps its reference then */
    scsiLu *extra = lu_new();
    ck_assert_int_eq(tgt_lun_add(inv, IQN_A, 3, extra), -1);
    ck_assert_int_eq(tgt_lun_add(inv, IQN_A, TGT_MAX_LUNS, extra), -1);
    ck_assert_int_eq(tgt_lun_add(inv, TGT_IQN_PREFIX "none", 1, extra), -1);
    scsi_lu_unref(extra);
    ck_assert_int_eq(released, 1);

    uint64_t luns[8];
    ck_assert_uint_eq(tgt_lun_list(inv, IQN_A, luns, 8), 5);
    static const uint64_t sorted[] = {0, 1, 3, 7, 12};
    for (size_t i = 0; i < 5; i++)
        ck_assert_uint_eq(luns[i], sorted[i]);
    /* a short buffer gets a prefix, the count is still the whole */
    memset(luns, 0xff, sizeof(luns));
    ck_assert_uint_eq(tgt_lun_list(inv, IQN_A, luns, 2), 5);
    ck_assert_uint_eq(luns[1], 1);
    ck_assert_uint_eq(luns[2], UINT64_MAX);
    ck_assert_uint_eq(tgt_lun_list(inv, IQN_B, luns, 8), 0);

    /* every LUN is found by number, the gaps are not */
    for (uint64_t l = 0; l < 14; l++) {
        scsiLu *lu = tgt_lun_get(inv, IQN_A, l);
        bool listed = l == 0 || l == 1 || l == 3 || l == 7 || l == 12;
        ck_assert_msg((lu != NULL) == listed, "LUN %llu", (unsigned long long)l);
        if (lu)
            tgt_lun_put(lu);
    }
    ck_assert_ptr_null(tgt_lun_get(inv, IQN_B, 0));
    tgt_inventory_free(inv);
    ck_assert_int_eq(released, 6); /* the inventory freed its five */
}
END_TEST

START_TEST(lun_removed_under_a_reference)
{
    released = 0;
    tgtInventory *inv = inv_with_targets();
    ck_assert_int_eq(tgt_lun_add(inv, IQN_A, 4, lu_new()), 0);
    scsiLu *held = tgt_lun_get(inv, IQN_A, 4); /* a command in flight */
    ck_assert_ptr_nonnull(held);
    ck_assert_int_eq(tgt_lun_remove(inv, IQN_A, 4), 0);
    ck_assert_ptr_null(tgt_lun_get(inv, IQN_A, 4));
    ck_assert_int_eq(released, 0); /* not freed under the command */
    tgt_lun_put(held);
    ck_assert_int_eq(released, 1); /* the last put frees it */
    ck_assert_int_eq(tgt_lun_remove(inv, IQN_A, 4), -1);
    tgt_inventory_free(inv);
}
END_TEST

START_TEST(generation_moves_on_every_change)
{
    tgtInventory *inv = inv_with_targets();
    uint64_t g0 = tgt_generation(inv, IQN_A);
    ck_assert_int_eq(tgt_lun_add(inv, IQN_A, 0, lu_new()), 0);
    uint64_t g1 = tgt_generation(inv, IQN_A);
    ck_assert_uint_gt(g1, g0);
    ck_assert_uint_eq(tgt_generation(inv, IQN_B), 0); /* another target: untouched */
    ck_assert_int_eq(tgt_lun_remove(inv, IQN_A, 0), 0);
    uint64_t g2 = tgt_generation(inv, IQN_A);
    ck_assert_uint_gt(g2, g1);
    tgtAuth auth = {0};
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &auth), 0);
    ck_assert_uint_gt(tgt_generation(inv, IQN_A), g2);
    /* a failed change does not move it */
    uint64_t g3 = tgt_generation(inv, IQN_A);
    ck_assert_int_eq(tgt_lun_remove(inv, IQN_A, 99), -1);
    ck_assert_uint_eq(tgt_generation(inv, IQN_A), g3);
    tgt_inventory_free(inv);
}
END_TEST

START_TEST(acl_and_visibility)
{
    tgtInventory *inv = inv_with_targets();
    char *acl[] = {"iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:vm-*", NULL};
    tgtAuth auth = {.acl = acl};
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &auth), 0);

    tgtAuth got;
    uint64_t epoch;
    const char *why = NULL;
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:host1", &got, &epoch, &why), 0);
    ck_assert_ptr_null(got.acl); /* the policy is copied, the list is not */
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:vm-db", &got, &epoch, &why), 0);
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:host2", &got, &epoch, &why), -1);
    ck_assert_str_eq(why, "initiator not in the target's ACL");
    /* a listed host admits the VMs poold runs on it ("<host>:vm-<name>"),
     * and nothing else that merely starts like it */
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:host1:vm-web01", &got, &epoch, &why),
        0);
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:host1:vm-", &got, &epoch, &why), -1);
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:host1:other", &got, &epoch, &why), -1);
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_A, "iqn.2026-01.org.example:host10:vm-a", &got, &epoch, &why), -1);
    ck_assert_int_eq(tgt_login_check(inv, TGT_IQN_PREFIX "none", "x", &got, &epoch, &why), -1);
    ck_assert_str_eq(why, "no such target");
    /* beta has no ACL: anyone (the caller's list, not the inventory, decides
     * whether that is allowed on a portal) */
    ck_assert_int_eq(
        tgt_login_check(inv, IQN_B, "iqn.2026-01.org.example:host2", &got, &epoch, &why), 0);

    char **seen = tgt_list_visible(inv, "iqn.2026-01.org.example:host2");
    ck_assert_ptr_nonnull(seen);
    ck_assert_str_eq(seen[0], IQN_B);
    ck_assert_ptr_null(seen[1]);
    pool_strv_free(seen);
    seen = tgt_list_visible(inv, "iqn.2026-01.org.example:host1");
    ck_assert_ptr_nonnull(seen);
    ck_assert_ptr_nonnull(seen[0]);
    ck_assert_ptr_nonnull(seen[1]);
    ck_assert_ptr_null(seen[2]);
    pool_strv_free(seen);
    tgt_inventory_free(inv);
}
END_TEST

START_TEST(chap_rules)
{
    tgtInventory *inv = inv_with_targets();
    tgtAuth a = {.chap_required = true};
    snprintf(a.initiator.user, sizeof(a.initiator.user), "u");
    snprintf(a.initiator.secret, sizeof(a.initiator.secret), "short");
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &a), -1); /* < 12 characters */
    snprintf(a.initiator.secret, sizeof(a.initiator.secret), "twelve-chars");
    a.mutual = true;
    snprintf(a.target.secret, sizeof(a.target.secret), "twelve-chars");
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &a), -1); /* mutual: same secret */
    snprintf(a.target.secret, sizeof(a.target.secret), "other-secret");
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &a), 0);
    tgtAuth got;
    uint64_t epoch;
    const char *why;
    ck_assert_int_eq(tgt_login_check(inv, IQN_A, "anyone", &got, &epoch, &why), 0);
    ck_assert(got.chap_required && got.mutual);
    ck_assert_str_eq(got.target.secret, "other-secret");
    ck_assert_int_eq(tgt_target_set_auth(inv, TGT_IQN_PREFIX "none", &a), -1);
    tgt_inventory_free(inv);
}
END_TEST

/* Issue 10: a session lives only while its initiator passes the ACL and
 * the CHAP settings it logged in under are unchanged. */
START_TEST(session_check_follows_acl_and_chap)
{
    tgtInventory *inv = inv_with_targets();
    const char *ini = "iqn.2026-01.org.example:host1";
    char *acl[] = {"iqn.2026-01.org.example:host1", "iqn.2026-01.org.example:host2", NULL};
    tgtAuth auth = {.acl = acl};
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &auth), 0);
    tgtAuth got;
    uint64_t epoch;
    const char *why = NULL;
    ck_assert_int_eq(tgt_login_check(inv, IQN_A, ini, &got, &epoch, &why), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_A, ini, epoch, &why), 0);
    ck_assert(!tgt_target_is_open(inv, IQN_A));
    ck_assert(tgt_target_is_open(inv, IQN_B));

    /* another initiator leaves the ACL: this session stays */
    acl[1] = NULL;
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &auth), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_A, ini, epoch, &why), 0);
    /* this one leaves it: the session must end */
    acl[0] = "iqn.2026-01.org.example:host2";
    acl[1] = NULL;
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_A, &auth), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_A, ini, epoch, &why), -1);
    ck_assert_str_eq(why, "initiator no longer in the target's ACL");

    /* CHAP newly required: a session from before must end */
    tgtAuth c = {.chap_required = true};
    snprintf(c.initiator.user, sizeof(c.initiator.user), "u");
    snprintf(c.initiator.secret, sizeof(c.initiator.secret), "twelve-chars");
    ck_assert_int_eq(tgt_login_check(inv, IQN_B, ini, &got, &epoch, &why), 0);
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_B, &c), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_B, ini, epoch, &why), -1);
    ck_assert_str_eq(why, "logged in under CHAP settings that have changed");
    /* the same settings again (an ACL change, a repeated set) end nothing */
    ck_assert_int_eq(tgt_login_check(inv, IQN_B, ini, &got, &epoch, &why), 0);
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_B, &c), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_B, ini, epoch, &why), 0);
    /* a new secret does */
    snprintf(c.initiator.secret, sizeof(c.initiator.secret), "other-secret");
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_B, &c), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_B, ini, epoch, &why), -1);
    /* and so does clearing CHAP */
    ck_assert_int_eq(tgt_login_check(inv, IQN_B, ini, &got, &epoch, &why), 0);
    tgtAuth none = {0};
    ck_assert_int_eq(tgt_target_set_auth(inv, IQN_B, &none), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_B, ini, epoch, &why), -1);
    /* a removed target ends everything */
    ck_assert_int_eq(tgt_login_check(inv, IQN_B, ini, &got, &epoch, &why), 0);
    ck_assert_int_eq(tgt_target_remove(inv, IQN_B), 0);
    ck_assert_int_eq(tgt_session_check(inv, IQN_B, ini, epoch, &why), -1);
    tgt_inventory_free(inv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("target");
    TCase *tc = tcase_create("inventory");
    tcase_add_test(tc, target_add_remove);
    tcase_add_test(tc, lun_table_sorted_and_bounded);
    tcase_add_test(tc, lun_removed_under_a_reference);
    tcase_add_test(tc, generation_moves_on_every_change);
    tcase_add_test(tc, acl_and_visibility);
    tcase_add_test(tc, chap_rules);
    tcase_add_test(tc, session_check_follows_acl_and_chap);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
