// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_lvm_report.c: libFuzzer target for the lvm report parsers.
 *
 * lvm's output is trusted by nothing in poold: a newer lvm, a damaged VG or a
 * bug could print anything, and the parsed segment maps decide where data is
 * read and written. So every input goes through all four report parsers
 * (lvs, vgs, pvs, and lvs with the VG fields) and the PE-range parser, and whatever they accept
 * must satisfy the invariants the rest of poold relies on (sorted segments tiling the LV, tag lists
 * never NULL, counts consistent); a failure must come with POOL_ERR_LVM and leave *out NULL. Seeds:
 * real captures from tests/data/lvm-report/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool-error.h"
#include "pool-lvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(const void *out, size_t n)
{
    if (out != NULL || n != 0 || pool_error_last_code() != POOL_ERR_LVM)
        abort();
}

static void check_tags(char **tags)
{
    if (tags == NULL)
        abort();
    for (size_t i = 0; tags[i] != NULL; i++) {
        if (tags[i][0] == '\0' || strchr(tags[i], ',') != NULL)
            abort();
        (void)pool_lvm_tag_get(tags, tags[i]);
    }
}

static void fuzz_lvs(const char *text)
{
    poolLvmLV *lvs = NULL;
    size_t n = 0;

    if (pool_lvm_report_parse_lvs(text, &lvs, &n) < 0) {
        check_failure(lvs, n);
        return;
    }
    if ((n == 0) != (lvs == NULL))
        abort();
    for (size_t i = 0; i < n; i++) {
        uint64_t next = 0;

        if (lvs[i].name == NULL || lvs[i].uuid == NULL || lvs[i].nsegments == 0)
            abort();
        check_tags(lvs[i].tags);
        for (size_t s = 0; s < lvs[i].nsegments; s++) {
            const poolLvmSegment *seg = &lvs[i].segments[s];

            if (seg->le_start != next || seg->count == 0 || seg->pv == NULL || seg->pv[0] == '\0')
                abort();
            next = seg->le_start + seg->count;
        }
        if (lvs[i].size == 0 || lvs[i].size % next != 0)
            abort();
    }
    pool_lvm_lvs_free(lvs, n);
}

static void fuzz_vgs(const char *text)
{
    poolLvmVG *vgs = NULL;
    size_t n = 0;

    if (pool_lvm_report_parse_vgs(text, &vgs, &n) < 0) {
        check_failure(vgs, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (vgs[i].name == NULL || vgs[i].uuid == NULL || vgs[i].extent_size == 0 ||
            vgs[i].free_count > vgs[i].extent_count ||
            vgs[i].size != vgs[i].extent_size * vgs[i].extent_count)
            abort();
        check_tags(vgs[i].tags);
    }
    pool_lvm_vgs_free(vgs, n);
}

/* The combined lvs+VG parser: a VG exactly when there are LVs, the VG
 * passing the vgs invariants and the LVs the lvs ones, and it must accept
 * exactly what the lvs parser accepts plus the VG rules (never more). */
static void fuzz_lvs_vg(const char *text)
{
    poolLvmVG *vg = NULL;
    poolLvmLV *lvs = NULL, *plain = NULL;
    size_t n = 0, nplain = 0;

    if (pool_lvm_report_parse_lvs_vg(text, &vg, &lvs, &n) < 0) {
        if (vg != NULL)
            abort();
        check_failure(lvs, n);
        return;
    }
    if ((vg == NULL) != (n == 0) || (n == 0) != (lvs == NULL))
        abort();
    if (vg != NULL) {
        if (vg->name == NULL || vg->uuid == NULL || vg->extent_size == 0 ||
            vg->free_count > vg->extent_count || vg->size != vg->extent_size * vg->extent_count)
            abort();
        check_tags(vg->tags);
    }
    pool_error_reset();
    if (pool_lvm_report_parse_lvs(text, &plain, &nplain) < 0 || nplain != n)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (strcmp(lvs[i].name, plain[i].name) != 0 || strcmp(lvs[i].uuid, plain[i].uuid) != 0 ||
            lvs[i].size != plain[i].size || lvs[i].nsegments != plain[i].nsegments)
            abort();
        for (size_t s = 0; s < lvs[i].nsegments; s++) {
            if (lvs[i].segments[s].le_start != plain[i].segments[s].le_start ||
                lvs[i].segments[s].pe_start != plain[i].segments[s].pe_start ||
                lvs[i].segments[s].count != plain[i].segments[s].count ||
                strcmp(lvs[i].segments[s].pv, plain[i].segments[s].pv) != 0)
                abort();
        }
    }
    pool_lvm_lvs_free(plain, nplain);
    pool_lvm_lvs_free(lvs, n);
    pool_lvm_vgs_free(vg, vg ? 1 : 0);
}

static void fuzz_pvs(const char *text)
{
    poolLvmPV *pvs = NULL;
    size_t n = 0;

    if (pool_lvm_report_parse_pvs(text, &pvs, &n) < 0) {
        check_failure(pvs, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (pvs[i].name == NULL || pvs[i].uuid == NULL || pvs[i].vg_name == NULL ||
            pvs[i].pe_alloc > pvs[i].pe_count)
            abort();
    }
    pool_lvm_pvs_free(pvs, n);
}

static void fuzz_pe_range(const char *text)
{
    char *pv = NULL;
    uint64_t first = 0, last = 0;

    if (pool_lvm_report_parse_pe_range(text, &pv, &first, &last) < 0) {
        if (pv != NULL)
            abort();
        return;
    }
    if (pv == NULL || pv[0] == '\0' || first > last)
        abort();
    free(pv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    pool_error_reset();
    fuzz_lvs(text);
    fuzz_vgs(text);
    pool_error_reset();
    fuzz_lvs_vg(text);
    fuzz_pvs(text);
    if (size < 4096)
        fuzz_pe_range(text);
    free(text);
    return 0;
}
