/*
 * test_layer_tree.c: volumes, snapshot layers, templates and the intents
 * of interrupted snapshot creates and reverts, read from LV lists shaped as
 * `lvs` reports them (libpool/layer_tree.c): chains, trees after a revert,
 * the repair direction at every crash point, and every refusal of bad tags.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_tree.h"
#include "pool-error.h"
#include "test_support.h"

#define MIB (1024ull * 1024)

#define U_VOL  "11111111-1111-4111-8111-111111111111"
#define U_VOL2 "22222222-2222-4222-8222-222222222222"
#define U_L1   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1"
#define U_L2   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa2"
#define U_L3   "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa3"
#define U_T    "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

/* up to 16 LVs of up to 16 tags each */
typedef struct {
    poolLvmLV lv[16];
    char *tags[16][17];
    size_t n;
} lvlist;

static void add_lv(lvlist *l, const char *name, uint64_t size, const char *tags)
{
    size_t i = l->n++;
    ck_assert_uint_lt(i, 16);
    l->lv[i].name = (char *)name;
    l->lv[i].uuid = (char *)"lvmuuid";
    l->lv[i].size = size;
    size_t k = 0;
    char *copy = strdup(tags);
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        ck_assert_uint_lt(k, 16);
        l->tags[i][k++] = strdup(tok);
    }
    free(copy);
    l->tags[i][k] = NULL;
    l->lv[i].tags = l->tags[i];
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
    va_end(ap);
    return s;
}

static void lvlist_free(lvlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        for (size_t k = 0; l->tags[i][k]; k++)
            free(l->tags[i][k]);
    l->n = 0;
}

/* a pool with the special LVs, a plain raw volume and a foreign LV */
static void base_pool(lvlist *l)
{
    memset(l, 0, sizeof(*l));
    add_lv(l, "ids", MIB, "pd_special:ids");
    add_lv(l, "leases", 3 * MIB, "pd_special:leases");
    add_lv(l, "other", MIB, "");
    add_lv(l, "plain", 8 * MIB, "pd_uuid:" U_VOL2 " pd_fmt:raw pd_slot:2 pd_lun:2 pd_ctime:100");
}

/* vm1 with snapshots s1 (raw base) <- s2 (qcow2) <- top (qcow2) */
static void two_snapshots(lvlist *l)
{
    base_pool(l);
    add_lv(l, "pdl-aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaa1", 64 * MIB,
           "pd_layer:" U_L1 " pd_fmt:raw pd_lun:3 pd_ctime:100 pd_owner:" U_VOL
           " pd_snap:s1 pd_stime:200");
    add_lv(l, "pdl-aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaa2", 72 * MIB,
           "pd_layer:" U_L2 " pd_fmt:qcow2 pd_vsize:67108864 pd_lun:4 pd_ctime:200 pd_parent:" U_L1
           " pd_owner:" U_VOL " pd_snap:s2 pd_stime:300");
    add_lv(l, "vm1", 72 * MIB,
           "pd_uuid:" U_VOL " pd_fmt:qcow2 pd_vsize:67108864 pd_slot:1 pd_lun:1 pd_ctime:100 "
           "pd_parent:" U_L2);
}

static void build_ok(lvlist *l, poolLayerTree *t)
{
    pool_error_reset();
    ck_assert_msg(pool_layer_tree_build(l->lv, l->n, t) == 0, "build failed: %s",
                  pool_error_last_message());
}

static void build_fails(lvlist *l, const char *needle)
{
    poolLayerTree t;
    pool_error_reset();
    ck_assert_int_eq(pool_layer_tree_build(l->lv, l->n, &t), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_LVM);
    ck_assert_msg(strstr(pool_error_last_message(), needle), "'%s' lacks '%s'",
                  pool_error_last_message(), needle);
    ck_assert_ptr_null(t.nodes);
}

START_TEST(test_chain)
{
    lvlist l;
    poolLayerTree t;
    two_snapshots(&l);
    build_ok(&l, &t);
    /* plain, s1, s2, vm1: special and foreign LVs are left out */
    ck_assert_uint_eq(t.n, 4);
    int top = pool_layer_tree_find_top(&t, "vm1");
    ck_assert_int_ge(top, 0);
    ck_assert_int_eq(t.nodes[top].kind, POOL_LT_TOP);
    ck_assert_str_eq(t.nodes[top].format, "qcow2");
    ck_assert_uint_eq(t.nodes[top].vsize, 64 * MIB);
    ck_assert_int_eq(t.nodes[top].lun, 1);
    ck_assert_int_eq(pool_layer_tree_find_top_uuid(&t, U_VOL), top);
    int s1 = pool_layer_tree_find_snapshot(&t, U_VOL, "s1");
    int s2 = pool_layer_tree_find_snapshot(&t, U_VOL, "s2");
    ck_assert_int_ge(s1, 0);
    ck_assert_int_ge(s2, 0);
    ck_assert_int_eq(pool_layer_tree_find_snapshot(&t, U_VOL, "s3"), -1);
    ck_assert_int_eq(pool_layer_tree_find_snapshot(&t, U_VOL2, "s1"), -1);
    ck_assert_int_eq(pool_layer_tree_find_layer(&t, U_L2), s2);
    ck_assert_int_eq(t.nodes[s1].kind, POOL_LT_LAYER);
    ck_assert_uint_eq(t.nodes[s1].vsize, 64 * MIB); /* raw: the LV size */
    ck_assert_int_eq(t.nodes[s1].stime, 200);
    ck_assert_int_eq(t.nodes[s2].lun, 4);
    ck_assert_int_eq(t.nodes[top].parent, s2);
    ck_assert_int_eq(t.nodes[s2].parent, s1);
    ck_assert_int_eq(t.nodes[s1].parent, -1);
    ck_assert_uint_eq(t.nodes[s1].nchildren, 1);
    ck_assert_uint_eq(t.nodes[s1].children[0], (size_t)s2);
    ck_assert_uint_eq(t.nodes[top].nchildren, 0);

    size_t *c, n;
    ck_assert_int_eq(pool_layer_tree_chain(&t, (size_t)top, &c, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(c[0], (size_t)top);
    ck_assert_uint_eq(c[1], (size_t)s2);
    ck_assert_uint_eq(c[2], (size_t)s1);
    free(c);
    ck_assert_int_eq(pool_layer_tree_chain(&t, (size_t)s1, &c, &n), 0);
    ck_assert_uint_eq(n, 1);
    free(c);

    size_t *sn;
    unsigned *d;
    ck_assert_int_eq(pool_layer_tree_snapshots(&t, U_VOL, &sn, &d, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(sn[0], (size_t)s1);
    ck_assert_uint_eq(d[0], 0);
    ck_assert_uint_eq(sn[1], (size_t)s2);
    ck_assert_uint_eq(d[1], 1);
    free(sn);
    free(d);
    ck_assert_int_eq(pool_layer_tree_snapshots(&t, U_VOL2, &sn, &d, &n), 0);
    ck_assert_uint_eq(n, 0);
    free(sn);
    free(d);
    pool_layer_tree_free(&t);
    lvlist_free(&l);
}
END_TEST

START_TEST(test_tree_after_revert)
{
    /* s1 <- s2, then revert to s1 and snapshot s3: s1 has two children
     * (s2 and s3), and the top sits on s3 */
    lvlist l;
    poolLayerTree t;
    base_pool(&l);
    add_lv(&l, "pdl-1", 64 * MIB,
           "pd_layer:" U_L1 " pd_fmt:raw pd_lun:3 pd_ctime:100 pd_owner:" U_VOL
           " pd_snap:s1 pd_stime:200");
    add_lv(&l, "pdl-2", 72 * MIB,
           "pd_layer:" U_L2 " pd_fmt:qcow2 pd_vsize:67108864 pd_lun:4 pd_ctime:200 pd_parent:" U_L1
           " pd_owner:" U_VOL " pd_snap:s2 pd_stime:300");
    add_lv(&l, "pdl-3", 72 * MIB,
           "pd_layer:" U_L3 " pd_fmt:qcow2 pd_vsize:67108864 pd_lun:5 pd_ctime:400 pd_parent:" U_L1
           " pd_owner:" U_VOL " pd_snap:s3 pd_stime:500");
    add_lv(&l, "vm1", 72 * MIB,
           "pd_uuid:" U_VOL " pd_fmt:qcow2 pd_vsize:67108864 pd_slot:1 pd_lun:1 pd_ctime:100 "
           "pd_parent:" U_L3);
    /* a template and a linked clone of it: not vm1's snapshots */
    add_lv(&l, "pdl-t", 64 * MIB,
           "pd_layer:" U_T " pd_fmt:raw pd_lun:6 pd_ctime:1 pd_template:gold");
    add_lv(&l, "clone", 72 * MIB,
           "pd_uuid:33333333-3333-4333-8333-333333333333 pd_fmt:qcow2 pd_vsize:67108864 "
           "pd_slot:3 pd_lun:7 pd_ctime:600 pd_parent:" U_T);
    build_ok(&l, &t);
    int s1 = pool_layer_tree_find_snapshot(&t, U_VOL, "s1");
    int s2 = pool_layer_tree_find_snapshot(&t, U_VOL, "s2");
    int s3 = pool_layer_tree_find_snapshot(&t, U_VOL, "s3");
    int tp = pool_layer_tree_find_template(&t, "gold");
    ck_assert_int_ge(tp, 0);
    ck_assert_str_eq(t.nodes[tp].template_name, "gold");
    ck_assert_ptr_null(t.nodes[tp].owner);
    ck_assert_uint_eq(t.nodes[tp].nchildren, 1);
    ck_assert_int_eq(pool_layer_tree_find_template(&t, "silver"), -1);
    ck_assert_uint_eq(t.nodes[s1].nchildren, 2);
    ck_assert_uint_eq(t.nodes[s2].nchildren, 0);
    ck_assert_uint_eq(t.nodes[s3].nchildren, 1);

    size_t *sn, n;
    unsigned *d;
    ck_assert_int_eq(pool_layer_tree_snapshots(&t, U_VOL, &sn, &d, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(sn[0], (size_t)s1);
    ck_assert_uint_eq(d[0], 0);
    ck_assert_uint_eq(sn[1], (size_t)s2); /* older sibling first */
    ck_assert_uint_eq(d[1], 1);
    ck_assert_uint_eq(sn[2], (size_t)s3);
    ck_assert_uint_eq(d[2], 1);
    free(sn);
    free(d);

    size_t *c;
    ck_assert_int_eq(pool_layer_tree_chain(&t, (size_t)pool_layer_tree_find_top(&t, "vm1"), &c, &n),
                     0);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(c[1], (size_t)s3);
    ck_assert_uint_eq(c[2], (size_t)s1);
    free(c);
    pool_layer_tree_free(&t);
    lvlist_free(&l);
}
END_TEST

/* The LV list at each crash point of snapshot create (model: docs/design.md
 * section 6), and the repair the tree decides. */
#define NEW_TAGS                                                                                   \
    "pd_op:snapnew pd_fmt:qcow2 pd_vsize:67108864 pd_owner:" U_VOL " pd_snap:s1 pd_vname:vm1 "     \
    "pd_slot:1 pd_lun:1 pd_ctime:100"
#define TOP_TAGS  "pd_uuid:" U_VOL " pd_fmt:raw pd_slot:1 pd_lun:1 pd_ctime:100"
#define FROZEN_S1 "pd_layer:" U_L1 " pd_fmt:raw pd_lun:3 pd_owner:" U_VOL " pd_snap:s1 pd_stime:200"

static poolLtRepair repair_of(lvlist *l, const char *new_name, const char **parent)
{
    poolLayerTree t;
    build_ok(l, &t);
    int i = -1;
    for (size_t k = 0; k < t.n; k++)
        if (strcmp(t.nodes[k].lv->name, new_name) == 0)
            i = (int)k;
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(t.nodes[i].kind, POOL_LT_NEW);
    static char p[37];
    const char *pu;
    poolLtRepair r = pool_layer_tree_new_repair(&t, (size_t)i, &pu);
    p[0] = '\0';
    if (pu)
        strcpy(p, pu);
    *parent = pu ? p : NULL;
    pool_layer_tree_free(&t);
    return r;
}

START_TEST(test_create_intents)
{
    lvlist l;
    const char *parent;
    /* after-lvcreate, after-format: the top still has its identity */
    base_pool(&l);
    add_lv(&l, "vm1", 64 * MIB, TOP_TAGS);
    add_lv(&l, "pdl-new", 72 * MIB, NEW_TAGS);
    ck_assert_int_eq(repair_of(&l, "pdl-new", &parent), POOL_LT_REPAIR_BACK);
    ck_assert_ptr_null(parent);
    lvlist_free(&l);
    /* after-freeze: the old top is layer s1, still named vm1 */
    base_pool(&l);
    add_lv(&l, "vm1", 64 * MIB, FROZEN_S1);
    add_lv(&l, "pdl-new", 72 * MIB, NEW_TAGS);
    ck_assert_int_eq(repair_of(&l, "pdl-new", &parent), POOL_LT_REPAIR_FORWARD);
    ck_assert_str_eq(parent, U_L1);
    lvlist_free(&l);
    /* after-rename-old */
    base_pool(&l);
    add_lv(&l, "pdl-aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaa1", 64 * MIB, FROZEN_S1);
    add_lv(&l, "pdl-new", 72 * MIB, NEW_TAGS);
    ck_assert_int_eq(repair_of(&l, "pdl-new", &parent), POOL_LT_REPAIR_FORWARD);
    lvlist_free(&l);
    /* after-rename-new */
    base_pool(&l);
    add_lv(&l, "pdl-aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaa1", 64 * MIB, FROZEN_S1);
    add_lv(&l, "vm1", 72 * MIB, NEW_TAGS);
    ck_assert_int_eq(repair_of(&l, "vm1", &parent), POOL_LT_REPAIR_FORWARD);
    ck_assert_str_eq(parent, U_L1);
    lvlist_free(&l);
    /* a new top whose layer vanished: neither way is safe */
    base_pool(&l);
    add_lv(&l, "vm1", 72 * MIB, NEW_TAGS);
    ck_assert_int_eq(repair_of(&l, "vm1", &parent), POOL_LT_REPAIR_STUCK);
    lvlist_free(&l);
}
END_TEST

#define REVERT_NEW                                                                                 \
    "pd_op:revertnew pd_fmt:qcow2 pd_vsize:67108864 pd_owner:" U_VOL " pd_vname:vm1 "              \
    "pd_revert:" U_L1 " pd_slot:1 pd_lun:1 pd_ctime:100"
#define OLD_TOP                                                                                    \
    "pd_uuid:" U_VOL " pd_fmt:qcow2 pd_vsize:67108864 pd_slot:1 pd_lun:1 pd_ctime:100 "            \
    "pd_parent:" U_L1
#define DOOMED "pd_op:delete pd_fmt:qcow2 pd_vsize:67108864 pd_owner:" U_VOL " pd_parent:" U_L1

START_TEST(test_revert_intents)
{
    lvlist l;
    poolLayerTree t;
    const char *parent;
    /* before the commit: back */
    base_pool(&l);
    add_lv(&l, "pdl-1", 64 * MIB, FROZEN_S1);
    add_lv(&l, "vm1", 72 * MIB, OLD_TOP);
    add_lv(&l, "pdl-new", 72 * MIB, REVERT_NEW);
    ck_assert_int_eq(repair_of(&l, "pdl-new", &parent), POOL_LT_REPAIR_BACK);
    lvlist_free(&l);
    /* after the commit, old top still named vm1: forward onto s1 */
    base_pool(&l);
    add_lv(&l, "pdl-1", 64 * MIB, FROZEN_S1);
    add_lv(&l, "vm1", 72 * MIB, DOOMED);
    add_lv(&l, "pdl-new", 72 * MIB, REVERT_NEW);
    ck_assert_int_eq(repair_of(&l, "pdl-new", &parent), POOL_LT_REPAIR_FORWARD);
    ck_assert_str_eq(parent, U_L1);
    build_ok(&l, &t);
    int d = -1;
    for (size_t k = 0; k < t.n; k++)
        if (strcmp(t.nodes[k].lv->name, "vm1") == 0)
            d = (int)k;
    ck_assert_int_eq(t.nodes[d].kind, POOL_LT_DOOMED);
    ck_assert_str_eq(t.nodes[d].uuid, U_VOL);
    ck_assert_int_eq(t.nodes[d].op, POOL_LT_OP_DELETE);
    /* the doomed top still counts as a child of s1 until it is gone */
    ck_assert_uint_eq(t.nodes[pool_layer_tree_find_layer(&t, U_L1)].nchildren, 1);
    ck_assert_int_eq(t.nodes[d].parent, pool_layer_tree_find_layer(&t, U_L1));
    pool_layer_tree_free(&t);
    lvlist_free(&l);
    /* the layer to revert to is gone: stuck */
    base_pool(&l);
    add_lv(&l, "vm1", 72 * MIB, "pd_op:delete pd_fmt:raw pd_owner:" U_VOL);
    add_lv(&l, "pdl-new", 72 * MIB, REVERT_NEW);
    ck_assert_int_eq(repair_of(&l, "pdl-new", &parent), POOL_LT_REPAIR_STUCK);
    lvlist_free(&l);
    /* a layer being deleted is still a layer, with its intent */
    base_pool(&l);
    add_lv(&l, "pdl-1", 64 * MIB, FROZEN_S1 " pd_op:delete");
    build_ok(&l, &t);
    int s1 = pool_layer_tree_find_snapshot(&t, U_VOL, "s1");
    ck_assert_int_eq(t.nodes[s1].op, POOL_LT_OP_DELETE);
    pool_layer_tree_free(&t);
    lvlist_free(&l);
}
END_TEST

START_TEST(test_layer_name)
{
    char b[37];
    pool_layer_lv_name(U_L1, b);
    ck_assert_str_eq(b, "pdl-aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaa1");
    ck_assert_uint_eq(strlen(b), 36);
}
END_TEST

static void one_bad(const char *tags, const char *needle)
{
    lvlist l;
    base_pool(&l);
    add_lv(&l, "pdl-1", 64 * MIB, FROZEN_S1);
    add_lv(&l, "bad", 64 * MIB, tags);
    build_fails(&l, needle);
    lvlist_free(&l);
}

START_TEST(test_bad_tags)
{
    one_bad("pd_layer:nope pd_fmt:raw pd_lun:9 pd_template:t", "bad pd_layer tag: not a uuid");
    one_bad("pd_layer:" U_L2 " pd_fmt:vmdk pd_lun:9 pd_template:t", "bad pd_fmt tag");
    one_bad("pd_layer:" U_L2 " pd_lun:9 pd_template:t", "lacks its pd_fmt tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:qcow2 pd_lun:9 pd_template:t", "lacks its pd_vsize tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:qcow2 pd_vsize:x pd_lun:9 pd_template:t", "bad pd_vsize tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_template:t", "lacks its pd_lun tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:99999 pd_template:t", "bad pd_lun tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9", "neither a template");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_owner:" U_VOL, "neither a template");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_owner:" U_VOL " pd_snap:s9",
            "lacks its pd_stime tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_owner:" U_VOL " pd_snap:s9 pd_stime:-1",
            "bad pd_stime tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_owner:x pd_snap:s9 pd_stime:1",
            "bad pd_owner tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_owner:" U_VOL " pd_snap:-x pd_stime:1",
            "bad pd_snap tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_template:pdl-x", "bad pd_template tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_template:t pd_owner:" U_VOL
            " pd_snap:s9 pd_stime:1",
            "both a template and a snapshot");
    one_bad("pd_layer:" U_L2 " pd_uuid:" U_VOL " pd_fmt:raw pd_lun:9", "both pd_uuid and pd_layer");
    one_bad("pd_uuid:" U_VOL " pd_fmt:raw pd_slot:1 pd_lun:9 pd_ctime:1 pd_snap:x",
            "carries layer tags");
    one_bad("pd_uuid:" U_VOL " pd_fmt:raw pd_slot:1 pd_lun:9 pd_ctime:1 pd_parent:" U_L1,
            "only a qcow2 image has a backing layer");
    one_bad("pd_uuid:" U_VOL " pd_fmt:qcow2 pd_vsize:1 pd_slot:1 pd_lun:9 pd_ctime:1 pd_parent:x",
            "bad pd_parent tag");
    one_bad("pd_uuid:" U_VOL
            " pd_fmt:qcow2 pd_vsize:1 pd_slot:1 pd_lun:9 pd_ctime:1 pd_parent:" U_L3,
            "names a missing backing layer pd_parent=" U_L3);
    /* two LVs with the same layer uuid, the same volume uuid, the same
     * snapshot name, the same template name */
    one_bad("pd_layer:" U_L1 " pd_fmt:raw pd_lun:9 pd_template:t", "have the same pd_layer tag");
    one_bad("pd_uuid:" U_VOL2 " pd_fmt:raw pd_slot:1 pd_lun:9 pd_ctime:1",
            "have the same pd_uuid tag");
    one_bad("pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_owner:" U_VOL " pd_snap:s1 pd_stime:1",
            "both snapshot 's1'");
    /* intents without what their repair needs */
    one_bad("pd_op:snapnew pd_fmt:qcow2 pd_vsize:1 pd_vname:vm1", "lacks its pd_owner or pd_vname");
    one_bad("pd_op:snapnew pd_fmt:qcow2 pd_vsize:1 pd_vname:vm1 pd_owner:" U_VOL,
            "lacks its pd_snap tag");
    one_bad("pd_op:revertnew pd_fmt:qcow2 pd_vsize:1 pd_vname:vm1 pd_owner:" U_VOL,
            "lacks its pd_revert tag");
    one_bad("pd_op:revertnew pd_fmt:qcow2 pd_vsize:1 pd_vname:vm1 pd_owner:" U_VOL " pd_revert:1",
            "bad pd_revert tag");

    lvlist l;
    base_pool(&l);
    add_lv(&l, "a", MIB, "pd_layer:" U_T " pd_fmt:raw pd_lun:8 pd_template:t");
    add_lv(&l, "b", MIB, "pd_layer:" U_L2 " pd_fmt:raw pd_lun:9 pd_template:t");
    build_fails(&l, "both template 't'");
    lvlist_free(&l);
}
END_TEST

START_TEST(test_cycle_and_depth)
{
    lvlist l;
    base_pool(&l);
    add_lv(&l, "a", MIB,
           "pd_layer:" U_L1 " pd_fmt:qcow2 pd_vsize:1 pd_lun:8 pd_template:a pd_parent:" U_L2);
    add_lv(&l, "b", MIB,
           "pd_layer:" U_L2 " pd_fmt:qcow2 pd_vsize:1 pd_lun:9 pd_template:b pd_parent:" U_L1);
    build_fails(&l, "form a cycle");
    lvlist_free(&l);
    base_pool(&l);
    add_lv(&l, "a", MIB,
           "pd_layer:" U_L1 " pd_fmt:qcow2 pd_vsize:1 pd_lun:8 pd_template:a pd_parent:" U_L1);
    build_fails(&l, "form a cycle");
    lvlist_free(&l);

    /* 65 layers under a top: refused; 64: accepted */
    static poolLvmLV lvs[70];
    static char *tags[70][8];
    static char uu[70][37];
    for (int depth = 64; depth <= 65; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++) {
            snprintf(uu[i], 37, "aaaaaaaa-aaaa-4aaa-8aaa-%012d", i);
            lvs[n].name = strdup("layer");
            lvs[n].size = MIB;
            tags[n][0] = xasprintf("pd_layer:%s", uu[i]);
            tags[n][1] = strdup("pd_fmt:qcow2");
            tags[n][2] = strdup("pd_vsize:1");
            tags[n][3] = xasprintf("pd_lun:%d", i + 10);
            tags[n][4] = xasprintf("pd_template:t%d", i);
            tags[n][5] = i ? xasprintf("pd_parent:%s", uu[i - 1]) : NULL;
            tags[n][6] = NULL;
            lvs[n].tags = tags[n];
            n++;
        }
        lvs[n].name = strdup("top");
        lvs[n].size = MIB;
        tags[n][0] = strdup("pd_uuid:" U_VOL);
        tags[n][1] = strdup("pd_fmt:qcow2");
        tags[n][2] = strdup("pd_vsize:1");
        tags[n][3] = strdup("pd_slot:1");
        tags[n][4] = strdup("pd_lun:1");
        tags[n][5] = strdup("pd_ctime:1");
        tags[n][6] = xasprintf("pd_parent:%s", uu[depth - 1]);
        tags[n][7] = NULL;
        lvs[n].tags = tags[n];
        n++;
        poolLayerTree t;
        pool_error_reset();
        int r = pool_layer_tree_build(lvs, n, &t);
        if (depth == 64) {
            ck_assert_msg(r == 0, "%s", pool_error_last_message());
            size_t *c, cn;
            ck_assert_int_eq(pool_layer_tree_chain(&t, n - 1, &c, &cn), 0);
            ck_assert_uint_eq(cn, 65);
            free(c);
            pool_layer_tree_free(&t);
        } else {
            ck_assert_int_eq(r, -1);
            ck_assert_msg(strstr(pool_error_last_message(), "65 backing layers, more than 64"),
                          "%s", pool_error_last_message());
        }
        for (size_t i = 0; i < n; i++) {
            free(lvs[i].name);
            for (int k = 0; tags[i][k]; k++)
                free(tags[i][k]);
        }
    }
}
END_TEST

static Suite *layer_tree_suite(void)
{
    Suite *s = suite_create("layer_tree");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_tree_after_revert);
    tcase_add_test(tc, test_create_intents);
    tcase_add_test(tc, test_revert_intents);
    tcase_add_test(tc, test_layer_name);
    tcase_add_test(tc, test_bad_tags);
    tcase_add_test(tc, test_cycle_and_depth);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(layer_tree_suite());
}
