// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lvm_driver_test.c: the LVM driver (lvm_run.c) against the real lvm2.
 *
 * Unit tests cover the report parser on captured output; only a real lvm
 * shows whether the argv and --config we build are accepted, whether the
 * filters really confine lvm to the pool's devices, which prompts fire with
 * stdin at /dev/null and how lvm's error texts map to our error codes. So
 * this program walks a pool's life on loop devices it is given: PV and VG
 * creation with tags, linear LVs, growth across the PV boundary (segment
 * maps), shrink, tag changes, removal, and the refusals that protect data
 * (an ext4 device without force, a PV already in use, a VG with LVs).
 *
 * Run by lvm-driver.sh, which attaches and always detaches the devices:
 *   lvm_driver_test VG DEV_A DEV_B DEV_EXT4 [ALIAS_OF_A]
 * DEV_A and DEV_B are blank 64 MiB devices, DEV_EXT4 holds an ext4 file
 * system, ALIAS_OF_A is a symlink to DEV_A whose name needs regex escaping.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool-error.h"
#include "pool-log.h"
#include "pool-lvm.h"

#define MiB (1024ull * 1024)

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__,      \
                    #cond, pool_error_last_message());                                             \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* The call must fail with `code` and a message containing `needle`. */
#define CHECK_FAILS(call, code, needle)                                                            \
    do {                                                                                           \
        pool_error_reset();                                                                        \
        int rc_ = (call);                                                                          \
        CHECK(rc_ == -1);                                                                          \
        CHECK(pool_error_last_code() == (code));                                                   \
        if (strstr(pool_error_last_message(), (needle)) == NULL) {                                 \
            fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__,                \
                    pool_error_last_message(), (needle));                                          \
            failures++;                                                                            \
        }                                                                                          \
        printf("  expected failure: [%s] %s\n", pool_error_code_name(pool_error_last_code()),      \
               pool_error_last_message());                                                         \
    } while (0)

/* Fatal: later steps make no sense without this one. */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s (last error: %s)\n", __FILE__, __LINE__,    \
                    #cond, pool_error_last_message());                                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void log_to_stderr(poolLogLevel level, const char *msg, void *opaque)
{
    (void)opaque;
    fprintf(stderr, "[%s] %s\n", pool_log_level_name(level), msg);
}

static bool has_ext4_magic(const char *dev)
{
    unsigned char magic[2] = {0, 0};
    int fd = open(dev, O_RDONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = pread(fd, magic, 2, 1024 + 0x38) == 2 && magic[0] == 0x53 && magic[1] == 0xef;
    close(fd);
    return ok;
}

static const poolLvmLV *find_lv(const poolLvmLV *lvs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(lvs[i].name, name) == 0)
            return &lvs[i];
    }
    return NULL;
}

static uint64_t lv_extents(const poolLvmLV *lv)
{
    uint64_t total = 0;

    for (size_t i = 0; i < lv->nsegments; i++)
        total += lv->segments[i].count;
    return total;
}

/* The segment map must tile [0, extents) and be ordered. */
static void check_segment_map(const poolLvmLV *lv, uint64_t extents)
{
    uint64_t next = 0;

    for (size_t i = 0; i < lv->nsegments; i++) {
        CHECK(lv->segments[i].le_start == next);
        CHECK(lv->segments[i].pv != NULL && lv->segments[i].pv[0] == '/');
        next += lv->segments[i].count;
    }
    CHECK(next == extents);
}

int main(int argc, char **argv)
{
    const char *vg, *a, *b, *ext4, *alias = NULL;
    poolLvm *lvm;
    poolLvmPV *pvs = NULL;
    poolLvmVG *vgi = NULL;
    poolLvmLV *lvs = NULL;
    size_t n = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: %s VG DEV_A DEV_B DEV_EXT4 [ALIAS_OF_A]\n", argv[0]);
        return 2;
    }
    vg = argv[1];
    a = argv[2];
    b = argv[3];
    ext4 = argv[4];
    if (argc > 5)
        alias = argv[5];
    pool_log_set_callback(log_to_stderr, NULL, POOL_LOG_DEBUG);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("host has device-mapper: %s\n", pool_lvm_host_has_dm() ? "yes" : "no");

    /* Paths that cannot be carried in a filter regex are refused. */
    {
        char *bad1[] = {"/dev/a|b", NULL};
        char *bad2[] = {"dev/loop0", NULL};
        char *bad3[] = {"/dev/x\"y", NULL};

        CHECK(pool_lvm_new(NULL, bad1, false) == NULL);
        CHECK(pool_error_last_code() == POOL_ERR_INVALID_ARG);
        CHECK(pool_lvm_new(NULL, bad2, false) == NULL);
        CHECK(pool_lvm_new(NULL, bad3, false) == NULL);
    }

    char *devs[] = {(char *)a, (char *)b, NULL};
    char *dev_a[] = {(char *)a, NULL};
    char *dev_ext4[] = {(char *)ext4, NULL};

    /* activation requested, but without device-mapper it is forced off */
    lvm = pool_lvm_new(NULL, devs, true);
    REQUIRE(lvm != NULL);

    printf("step: blank devices are no PVs\n");
    REQUIRE(pool_lvm_report_pvs(lvm, &pvs, &n) == 0);
    CHECK(n == 0);
    pool_lvm_pvs_free(pvs, n);

    printf("step: pvcreate refuses an ext4 device without force\n");
    REQUIRE(has_ext4_magic(ext4));
    CHECK_FAILS(pool_lvm_pvcreate(lvm, dev_ext4, false), POOL_ERR_DEVICE, "ext4");
    CHECK(has_ext4_magic(ext4));

    printf("step: pvcreate\n");
    REQUIRE(pool_lvm_pvcreate(lvm, devs, false) == 0);
    REQUIRE(pool_lvm_report_pvs(lvm, &pvs, &n) == 0);
    CHECK(n == 2);
    for (size_t i = 0; i < n; i++) {
        CHECK(strcmp(pvs[i].vg_name, "") == 0);
        CHECK(pvs[i].size == 64 * MiB);
    }
    pool_lvm_pvs_free(pvs, n);

    printf("step: pvcreate refuses a device that is already a PV\n");
    CHECK_FAILS(pool_lvm_pvcreate(lvm, dev_a, false), POOL_ERR_DEVICE,
                "already an LVM physical volume");

    printf("step: vgcreate with tags\n");
    {
        char *tags[] = {"pd_pool:5b1f0d9e-6f7a-4b7e-9a51-3c2d1e0f9a8b", "pd_name:pool.one", NULL};

        REQUIRE(pool_lvm_vgcreate(lvm, vg, devs, 4 * MiB, tags) == 0);
        CHECK_FAILS(pool_lvm_vgcreate(lvm, vg, devs, 4 * MiB, NULL), POOL_ERR_EXISTS, vg);
    }
    REQUIRE(pool_lvm_report_vg(lvm, vg, &vgi) == 0);
    CHECK(strcmp(vgi->name, vg) == 0);
    CHECK(vgi->extent_size == 4 * MiB);
    CHECK(vgi->extent_count == 30);
    CHECK(vgi->free_count == 30);
    CHECK(vgi->pv_count == 2);
    CHECK(vgi->lv_count == 0);
    CHECK(pool_lvm_tag_get(vgi->tags, "pd_name") != NULL &&
          strcmp(pool_lvm_tag_get(vgi->tags, "pd_name"), "pool.one") == 0);
    pool_lvm_vgs_free(vgi, 1);
    CHECK_FAILS(pool_lvm_report_vg(lvm, "no_such_vg_here", &vgi), POOL_ERR_NO_POOL,
                "volume group no_such_vg_here not found");
    CHECK(vgi == NULL);
    CHECK_FAILS(pool_lvm_report_lvs(lvm, "no_such_vg_here", &lvs, &n), POOL_ERR_NO_POOL,
                "not found");

    printf("step: the filter hides the VG from a context without its devices\n");
    {
        char *other[] = {(char *)ext4, NULL};
        poolLvm *blind = pool_lvm_new(NULL, other, false);

        REQUIRE(blind != NULL);
        CHECK_FAILS(pool_lvm_report_vg(blind, vg, &vgi), POOL_ERR_NO_POOL, "not found");
        pool_lvm_free(blind);
    }

    printf("step: lvcreate\n");
    {
        char *ids_tags[] = {"pd_kind:ids", NULL};
        char *vol_tags[] = {"pd_slot:12", "pd_name:web01-disk", NULL};
        char *bad_tags[] = {"bad tag", NULL};

        REQUIRE(pool_lvm_lvcreate(lvm, vg, "ids", 2, ids_tags) == 0);
        REQUIRE(pool_lvm_lvcreate(lvm, vg, "leases", 2, NULL) == 0);
        REQUIRE(pool_lvm_lvcreate(lvm, vg, "vol1", 3, vol_tags) == 0);
        REQUIRE(pool_lvm_lvcreate(lvm, vg, "vol2", 2, NULL) == 0);
        CHECK_FAILS(pool_lvm_lvcreate(lvm, vg, "vol1", 1, NULL), POOL_ERR_EXISTS, "vol1");
        CHECK_FAILS(pool_lvm_lvcreate(lvm, vg, "huge", 1000, NULL), POOL_ERR_NO_SPACE,
                    "lvm lvcreate failed");
        CHECK_FAILS(pool_lvm_lvcreate(lvm, vg, "-x", 1, NULL), POOL_ERR_INVALID_ARG, "-x");
        CHECK_FAILS(pool_lvm_lvcreate(lvm, vg, "a/b", 1, NULL), POOL_ERR_INVALID_ARG, "a/b");
        CHECK_FAILS(pool_lvm_lvcreate(lvm, vg, "t", 1, bad_tags), POOL_ERR_INVALID_ARG, "bad tag");
        CHECK_FAILS(pool_lvm_lvcreate(lvm, vg, "z", 0, NULL), POOL_ERR_INVALID_ARG, "0 extents");
    }
    REQUIRE(pool_lvm_report_lvs(lvm, vg, &lvs, &n) == 0);
    CHECK(n == 4);
    {
        const poolLvmLV *v = find_lv(lvs, n, "vol1");

        REQUIRE(v != NULL);
        CHECK(v->size == 12 * MiB);
        CHECK(lv_extents(v) == 3);
        check_segment_map(v, 3);
        CHECK(strcmp(pool_lvm_tag_get(v->tags, "pd_slot"), "12") == 0);
        CHECK(find_lv(lvs, n, "leases")->tags[0] == NULL);
    }
    pool_lvm_lvs_free(lvs, n);

    printf("step: grow vol1 across the PV boundary\n");
    REQUIRE(pool_lvm_lvresize(lvm, vg, "vol1", 12) == 0);
    REQUIRE(pool_lvm_report_lvs(lvm, vg, &lvs, &n) == 0);
    {
        const poolLvmLV *v = find_lv(lvs, n, "vol1");
        bool on_a = false, on_b = false;

        REQUIRE(v != NULL);
        CHECK(v->size == 48 * MiB);
        CHECK(v->nsegments >= 2);
        check_segment_map(v, 12);
        for (size_t i = 0; i < v->nsegments; i++) {
            printf("  vol1 LE %" PRIu64 "+%" PRIu64 " -> %s PE %" PRIu64 "\n",
                   v->segments[i].le_start, v->segments[i].count, v->segments[i].pv,
                   v->segments[i].pe_start);
            on_a |= strcmp(v->segments[i].pv, a) == 0;
            on_b |= strcmp(v->segments[i].pv, b) == 0;
        }
        CHECK(on_a && on_b);
    }
    pool_lvm_lvs_free(lvs, n);

    printf("step: resize to the same size is a no-op, shrink works\n");
    CHECK(pool_lvm_lvresize(lvm, vg, "vol1", 12) == 0);
    CHECK(pool_lvm_lvresize(lvm, vg, "vol1", 5) == 0);
    CHECK_FAILS(pool_lvm_lvresize(lvm, vg, "vol1", 100000), POOL_ERR_NO_SPACE, "lvextend");
    CHECK_FAILS(pool_lvm_lvresize(lvm, vg, "nonexistent", 5), POOL_ERR_NO_VOLUME, "nonexistent");
    REQUIRE(pool_lvm_report_lvs(lvm, vg, &lvs, &n) == 0);
    {
        const poolLvmLV *v = find_lv(lvs, n, "vol1");

        REQUIRE(v != NULL);
        check_segment_map(v, 5);
        CHECK(v->size == 20 * MiB);
    }
    pool_lvm_lvs_free(lvs, n);

    printf("step: tag changes\n");
    {
        char *add[] = {"pd_state:creating", "pd_gen:7", NULL};
        char *del[] = {"pd_slot:12", NULL};
        char *vadd[] = {"pd_gen:2", NULL};
        char *vdel[] = {"pd_name:pool.one", NULL};
        const poolLvmLV *v;

        CHECK(pool_lvm_lv_change_tags(lvm, vg, "vol1", add, del) == 0);
        CHECK(pool_lvm_lv_change_tags(lvm, vg, "vol1", NULL, NULL) == 0);
        CHECK(pool_lvm_vg_change_tags(lvm, vg, vadd, vdel) == 0);
        CHECK_FAILS(pool_lvm_lv_change_tags(lvm, vg, "nonexistent", add, NULL), POOL_ERR_NO_VOLUME,
                    "nonexistent");
        REQUIRE(pool_lvm_report_lvs(lvm, vg, &lvs, &n) == 0);
        v = find_lv(lvs, n, "vol1");
        REQUIRE(v != NULL);
        CHECK(pool_lvm_tag_get(v->tags, "pd_slot") == NULL);
        CHECK(strcmp(pool_lvm_tag_get(v->tags, "pd_state"), "creating") == 0);
        CHECK(strcmp(pool_lvm_tag_get(v->tags, "pd_gen"), "7") == 0);
        CHECK(strcmp(pool_lvm_tag_get(v->tags, "pd_name"), "web01-disk") == 0);
        pool_lvm_lvs_free(lvs, n);
        REQUIRE(pool_lvm_report_vg(lvm, vg, &vgi) == 0);
        CHECK(pool_lvm_tag_get(vgi->tags, "pd_name") == NULL);
        CHECK(strcmp(pool_lvm_tag_get(vgi->tags, "pd_gen"), "2") == 0);
        CHECK(vgi->lv_count == 4);
        pool_lvm_vgs_free(vgi, 1);
    }

    printf("step: a device alias whose name needs regex escaping\n");
    if (alias != NULL) {
        char *adevs[] = {(char *)alias, NULL};
        poolLvm *al = pool_lvm_new(NULL, adevs, false);

        REQUIRE(al != NULL);
        REQUIRE(pool_lvm_report_pvs(al, &pvs, &n) == 0);
        CHECK(n == 1);
        if (n == 1) {
            printf("  alias PV name: %s\n", pvs[0].name);
            CHECK(strcmp(pvs[0].name, alias) == 0);
            CHECK(strcmp(pvs[0].vg_name, vg) == 0);
        }
        pool_lvm_pvs_free(pvs, n);
        pool_lvm_free(al);
    }

    printf("step: refusals while in use\n");
    CHECK_FAILS(pool_lvm_vgremove(lvm, vg), POOL_ERR_BUSY, "logical volumes");
    CHECK_FAILS(pool_lvm_pvremove(lvm, dev_a), POOL_ERR_LVM, "vgreduce");
    CHECK_FAILS(pool_lvm_pvcreate(lvm, dev_a, false), POOL_ERR_DEVICE, vg);

    printf("step: a time limit kills lvm\n");
    pool_lvm_set_timeout(lvm, 1);
    CHECK_FAILS(pool_lvm_report_pvs(lvm, &pvs, &n), POOL_ERR_TIMEOUT, "lvm pvs");
    pool_lvm_set_timeout(lvm, 120000);

    printf("step: remove everything\n");
    CHECK(pool_lvm_lvremove(lvm, vg, "vol2") == 0);
    CHECK_FAILS(pool_lvm_lvremove(lvm, vg, "vol2"), POOL_ERR_NO_VOLUME, "vol2");
    CHECK(pool_lvm_lvremove(lvm, vg, "vol1") == 0);
    CHECK(pool_lvm_lvremove(lvm, vg, "leases") == 0);
    CHECK(pool_lvm_lvremove(lvm, vg, "ids") == 0);
    REQUIRE(pool_lvm_report_lvs(lvm, vg, &lvs, &n) == 0);
    CHECK(n == 0 && lvs == NULL);
    REQUIRE(pool_lvm_vgremove(lvm, vg) == 0);
    CHECK_FAILS(pool_lvm_report_vg(lvm, vg, &vgi), POOL_ERR_NO_POOL, vg);
    REQUIRE(pool_lvm_pvremove(lvm, devs) == 0);
    REQUIRE(pool_lvm_report_pvs(lvm, &pvs, &n) == 0);
    CHECK(n == 0);

    printf("step: pvcreate with force wipes the ext4 signature\n");
    REQUIRE(pool_lvm_pvcreate(lvm, dev_ext4, true) == 0);
    CHECK(!has_ext4_magic(ext4));
    CHECK(pool_lvm_pvremove(lvm, dev_ext4) == 0);

    pool_lvm_free(lvm);
    if (failures > 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all lvm driver checks passed\n");
    return 0;
}
