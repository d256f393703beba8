/*
 * layout.c: the pool's on-VG layout and the encoding of poold metadata in LVM
 * tags (see layout.h for the format). Kept free of I/O so that the rules that
 * decide where a lease lives or which slot a volume gets can be tested on
 * plain data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer_tree.h"
#include "layout.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-ops.h"
#include "pool-util.h"

#define MIB (1024ull * 1024)

uint64_t pool_layout_ids_bytes(unsigned host_ids)
{
    /* One delta lease per host id, sized for 4 KiB sectors so the same
     * layout works whatever the LUN's logical block size. sanlock only
     * knows lockspace alignments of 1, 2, 4 and 8 MiB, serving 250, 500,
     * 1000 and 2000 hosts with 4 KiB sectors: take the smallest that holds
     * every host id. */
    uint64_t b = MIB;
    unsigned cap = 250;
    while (host_ids > cap) {
        b *= 2;
        cap *= 2;
    }
    return b;
}

uint64_t pool_layout_leases_bytes(unsigned lease_slots)
{
    /* slot 0 is the pool-metadata lease */
    return ((uint64_t)lease_slots + 1) * POOL_LEASE_SLOT_SIZE;
}

uint64_t pool_layout_extents_for(uint64_t bytes, uint64_t extent_size)
{
    /* not (bytes + extent_size - 1) / extent_size: that wraps to 0 extents
     * for sizes within one extent of 2^64 */
    return bytes / extent_size + (bytes % extent_size != 0);
}

uint64_t pool_layout_mda_bytes(unsigned host_ids, unsigned lease_slots)
{
    uint64_t text = (uint64_t)POOL_MDA_BASE_BYTES + POOL_MDA_RESERVE_BYTES +
                    (uint64_t)host_ids * POOL_MDA_HOST_BYTES +
                    (uint64_t)lease_slots * POOL_MDA_VOLUME_BYTES;
    return (2 * text + MIB - 1) / MIB * MIB;
}

bool pool_layout_mda_fits_volume(const poolLvmVG *vg)
{
    /* mda_size 0: lvm did not report it (never the case with the fields we
     * ask for, but a report without them must not block creates) */
    return vg->mda_size == 0 ||
           vg->mda_free >= (uint64_t)POOL_MDA_VOLUME_BYTES + POOL_MDA_RESERVE_BYTES;
}

void pool_segments_free(poolSegment *segs, size_t n)
{
    if (!segs)
        return;
    for (size_t i = 0; i < n; i++)
        free(segs[i].pv);
    free(segs);
}

int pool_layout_segments(const poolLvmLV *lv, const poolLvmPV *pvs, size_t npvs,
                         uint64_t extent_size, poolSegment **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (lv->nsegments == 0) {
        pool_error(POOL_ERR_LVM, "logical volume %s has no segments", lv->name);
        return -1;
    }
    poolSegment *segs = pool_calloc(lv->nsegments, sizeof(*segs));
    if (!segs)
        return -1;
    uint64_t expect = 0;
    for (size_t i = 0; i < lv->nsegments; i++) {
        const poolLvmSegment *s = &lv->segments[i];
        const poolLvmPV *pv = NULL;
        for (size_t j = 0; j < npvs; j++) {
            if (strcmp(pvs[j].name, s->pv) == 0) {
                pv = &pvs[j];
                break;
            }
        }
        if (!pv) {
            pool_error(POOL_ERR_LVM, "logical volume %s uses %s, which is not a known PV", lv->name,
                       s->pv);
            goto fail;
        }
        if (s->le_start != expect) {
            pool_error(POOL_ERR_LVM,
                       "logical volume %s has a gap in its segment map at extent %" PRIu64,
                       lv->name, expect);
            goto fail;
        }
        segs[i].lv_offset = s->le_start * extent_size;
        segs[i].length = s->count * extent_size;
        segs[i].pv_offset = pv->pe_start + s->pe_start * extent_size;
        segs[i].pv = pool_strdup(s->pv);
        if (!segs[i].pv)
            goto fail;
        expect = s->le_start + s->count;
    }
    *out = segs;
    *n = lv->nsegments;
    return 0;
fail:
    pool_segments_free(segs, lv->nsegments);
    return -1;
}

int pool_layout_locate(const poolSegment *segs, size_t n, uint64_t off, uint64_t len,
                       const char **pv, uint64_t *pv_offset)
{
    for (size_t i = 0; i < n; i++) {
        if (off >= segs[i].lv_offset && off < segs[i].lv_offset + segs[i].length) {
            if (len > segs[i].lv_offset + segs[i].length - off) {
                pool_error(POOL_ERR_INTERNAL,
                           "range %" PRIu64 "+%" PRIu64 " crosses a segment boundary", off, len);
                return -1;
            }
            *pv = segs[i].pv;
            *pv_offset = segs[i].pv_offset + (off - segs[i].lv_offset);
            return 0;
        }
    }
    pool_error(POOL_ERR_INTERNAL, "offset %" PRIu64 " is beyond the end of the volume", off);
    return -1;
}

char *pool_layout_tag(const char *key, const char *fmt, ...)
{
    va_list ap;
    char *val = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&val, fmt, ap);
    va_end(ap);
    if (r < 0) {
        pool_error_oom();
        return NULL;
    }
    char *tag = pool_asprintf("%s:%s", key, val);
    free(val);
    return tag;
}

bool pool_layout_lv_is_special(const poolLvmLV *lv)
{
    return pool_lvm_tag_get(lv->tags, POOL_TAG_SPECIAL) != NULL;
}

bool pool_layout_lv_is_volume(const poolLvmLV *lv)
{
    return !pool_layout_lv_is_special(lv) && pool_lvm_tag_get(lv->tags, POOL_TAG_UUID) != NULL;
}

static int tag_uint(const poolLvmLV *lv, const char *key, uint64_t max, uint64_t *out)
{
    const char *v = pool_lvm_tag_get(lv->tags, key);
    if (!v) {
        pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name, key);
        return -1;
    }
    if (pool_parse_uint(v, key, 0, max, out) < 0) {
        /* the tag is metadata, not user input: report it as such */
        pool_error(POOL_ERR_LVM, "logical volume %s has a bad %s tag: %s", lv->name, key,
                   pool_error_last_message());
        return -1;
    }
    return 0;
}

poolVolDef *pool_layout_vol_from_lv(const char *pool, const poolLvmLV *lv, const poolLvmPV *pvs,
                                    size_t npvs, uint64_t extent_size)
{
    POOL_AUTOPTR(poolVolDef) def = pool_calloc(1, sizeof(*def));
    if (!def)
        return NULL;
    /* a snapshot or template layer (layer_tree.h) is described the same
     * way for poold's LUN list, with its layer uuid */
    bool layer =
        !pool_lvm_tag_get(lv->tags, POOL_TAG_UUID) && pool_lvm_tag_get(lv->tags, POOL_TAG_LAYER);
    const char *uuid_key = layer ? POOL_TAG_LAYER : POOL_TAG_UUID;
    const char *uuid = pool_lvm_tag_get(lv->tags, uuid_key);
    if (!uuid || !pool_uuid_is_valid(uuid)) {
        pool_error(POOL_ERR_LVM, "logical volume %s has no valid %s tag", lv->name, uuid_key);
        return NULL;
    }
    def->layer = layer;
    memcpy(def->uuid, uuid, 36);
    def->uuid[36] = '\0';
    uint64_t slot = 0, lun, ctime_s = 0, vsize = lv->size;
    if ((!layer && tag_uint(lv, POOL_TAG_SLOT, POOL_MAX_LEASE_SLOTS, &slot) < 0) ||
        tag_uint(lv, POOL_TAG_LUN, POOL_MAX_LUN, &lun) < 0 ||
        ((!layer || pool_lvm_tag_get(lv->tags, POOL_TAG_CTIME)) &&
         tag_uint(lv, POOL_TAG_CTIME, INT64_MAX, &ctime_s) < 0))
        return NULL;
    const char *fmt = pool_lvm_tag_get(lv->tags, POOL_TAG_FMT);
    if (!fmt || (strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0)) {
        pool_error(POOL_ERR_LVM, "logical volume %s has an unknown format tag", lv->name);
        return NULL;
    }
    /* qcow2: the virtual size is the image's, the LV holds the image */
    if (strcmp(fmt, "qcow2") == 0 && tag_uint(lv, POOL_TAG_VSIZE, INT64_MAX, &vsize) < 0)
        return NULL;
    if (vsize == 0) {
        pool_error(POOL_ERR_LVM, "logical volume %s has a bad %s tag: zero", lv->name,
                   POOL_TAG_VSIZE);
        return NULL;
    }
    const char *op = pool_lvm_tag_get(lv->tags, POOL_TAG_OP);
    if (!(def->name = pool_strdup(lv->name)) || !(def->pool = pool_strdup(pool)) ||
        !(def->format = pool_strdup(fmt)) || !(def->state = pool_strdup(op ? op : "ready")))
        return NULL;
    /* pd_export: absent = exported rw; off; ro; shared (volume_lun_access.c) */
    const char *ex = pool_lvm_tag_get(lv->tags, POOL_TAG_EXPORT);
    def->export_state = ex && strcmp(ex, "off") == 0 ? POOL_VOL_EXPORT_OFF : POOL_VOL_EXPORT_ON;
    if (ex && strcmp(ex, "off") != 0 && pool_vol_mode_parse(ex, &def->export_mode) < 0) {
        pool_error(POOL_ERR_LVM, "logical volume %s has an unknown export tag '%s'", lv->name, ex);
        return NULL;
    }
    def->capacity = vsize;
    def->allocation = lv->size;
    def->lease_slot = layer ? -1 : (int)slot;
    if (layer)
        def->export_mode = POOL_VOL_MODE_RO; /* a layer is never written */
    def->lun = (int)lun;
    def->created = (int64_t)ctime_s;
    if (pool_layout_segments(lv, pvs, npvs, extent_size, &def->segments, &def->nsegments) < 0) {
        /* A PV of this volume is not visible (failed path, detached LUN):
         * the volume still exists and is listed, but it has no usable map,
         * so nothing may serve its blocks. */
        bool missing = false;
        for (size_t i = 0; i < lv->nsegments; i++) {
            bool known = false;
            for (size_t j = 0; j < npvs; j++)
                if (strcmp(pvs[j].name, lv->segments[i].pv) == 0)
                    known = true;
            if (!known)
                missing = true;
        }
        if (!missing)
            return NULL;
        pool_error_reset();
        free(def->state);
        if (!(def->state = pool_strdup("pv-missing")))
            return NULL;
    }
    return pool_steal_ptr(&def);
}

static int alloc_lowest(const poolLvmLV *lvs, size_t n, const char *key, unsigned max)
{
    /* bitmap of used values; max is small (<= 65535) */
    POOL_AUTOFREE(unsigned char *) used = pool_calloc((size_t)max + 1, 1);
    if (!used)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        const char *t = pool_lvm_tag_get(lvs[i].tags, key);
        if (t && pool_parse_uint(t, key, 0, UINT64_MAX, &v) == 0 && v <= max)
            used[v] = 1;
    }
    pool_error_reset();
    for (unsigned v = 1; v <= max; v++)
        if (!used[v])
            return (int)v;
    return -1;
}

int pool_layout_alloc_slot(const poolLvmLV *lvs, size_t n, unsigned max_slots)
{
    int r = alloc_lowest(lvs, n, POOL_TAG_SLOT, max_slots);
    if (r < 0)
        pool_error(POOL_ERR_NO_SPACE, "all %u volume lease slots are in use", max_slots);
    return r;
}

int pool_layout_alloc_lun(char *const *vg_tags, const poolLvmLV *lvs, size_t n)
{
    POOL_AUTOFREE(unsigned char *) used = pool_calloc((size_t)POOL_MAX_LUN + 1, 1);
    if (!used)
        return -1;
    /* The last number handed out: the VG's pd_lunlast, or (a pool from
     * before the tag) the highest number in use. */
    uint64_t last = 0, v;
    for (size_t i = 0; i < n; i++) {
        const char *t = pool_lvm_tag_get(lvs[i].tags, POOL_TAG_LUN);
        if (t && pool_parse_uint(t, POOL_TAG_LUN, 1, POOL_MAX_LUN, &v) == 0) {
            used[v] = 1;
            if (v > last)
                last = v;
        }
    }
    const char *t = vg_tags ? pool_lvm_tag_get(vg_tags, POOL_TAG_LUN_LAST) : NULL;
    if (t && pool_parse_uint(t, POOL_TAG_LUN_LAST, 1, POOL_MAX_LUN, &v) == 0)
        last = v;
    pool_error_reset();
    /* Never soon again a number an initiator may still address: the next
     * free one after the last, wrapping around only when the space is
     * used up, so the number reused is the one handed out longest ago
     * (docs/design.md section 5, "LUN numbers"). */
    for (unsigned i = 0; i < POOL_MAX_LUN; i++) {
        unsigned c = (unsigned)((last + i) % POOL_MAX_LUN) + 1;
        if (!used[c])
            return (int)c;
    }
    pool_error(POOL_ERR_NO_SPACE, "all %u LUN ids are in use", POOL_MAX_LUN);
    return -1;
}
