/*
 * lvm_report.c: parse the JSON reports of `lvm lvs/vgs/pvs`.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why a separate, pure module: everything poold knows about a pool comes from
 * these reports (volume sizes, tags carrying our metadata, and the segment
 * maps through which the target and the lease code reach LV data as
 * (PV, offset) without activation). A mistake here would make poold write to
 * the wrong place on a shared disk, so the parser trusts nothing: it is fed
 * captured real output in unit tests and arbitrary bytes by a fuzzer.
 *
 * Input shape (lvm2 2.03, `--reportformat json --units b --nosuffix -o F`):
 *
 *   {"report": [ {"lv": [ {"lv_name":"vol1", "lv_size":"50331648", ...}, ...] } ] }
 *
 * Every value is a JSON string, numbers included (decimal, no unit suffix).
 * `lvs` run with segment fields prints one row per segment; rows of one LV
 * are merged by lv_uuid. Leading/trailing whitespace around the document is
 * accepted (lvm indents it); anything else after it is not.
 *
 * Validation rules (any violation: -1, POOL_ERR_LVM, message naming the
 * object and field):
 *   - every field of the POOL_LVM_*_FIELDS list is present and a string;
 *   - numbers are plain decimal, no sign or blanks, fit in uint64_t;
 *   - segments are "linear" (or "striped" with a single stripe), their
 *     seg_pe_ranges is one "PV:first-last" range whose length is seg_size_pe;
 *   - an LV's segments, sorted by le_start, tile [0, total) with no gap or
 *     overlap, and all its rows agree on name, size and tags;
 *   - tags are a comma-separated list ("" means none) without empty items.
 *
 * The combined report (`lvs` with the VG fields appended, one command instead
 * of `vgs` + `lvs`) repeats the VG fields on every row: each row must pass
 * the vgs rules and all rows must agree on the VG, to the last field and tag.
 * No rows (a VG without LVs) gives *vg == NULL: the caller asks `vgs`.
 *
 * Ownership: on success *out is a malloc'd array (NULL when *n == 0) freed by
 * pool_lvm_{lvs,vgs,pvs}_free; on failure *out is NULL and *n is 0.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-lvm.h"

/* lvm's documents are three levels deep; a little slack, no more. */
#define REPORT_MAX_DEPTH 8

/* --- small helpers ------------------------------------------------------- */

/* Strict decimal uint64: digits only, at least one, no overflow. */
static int parse_decimal_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return -1;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The string value of row[field]; NULL (error set) if missing, not a
 * string, or containing a NUL byte. `what` names the row for messages. */
static const char *row_string(json_object *row, const char *field, const char *what)
{
    json_object *val = NULL;
    const char *s;

    if (!json_object_object_get_ex(row, field, &val) || val == NULL) {
        pool_error(POOL_ERR_LVM, "lvm report: %s: field %s missing", what, field);
        return NULL;
    }
    if (!json_object_is_type(val, json_type_string)) {
        pool_error(POOL_ERR_LVM, "lvm report: %s: field %s is not a string", what, field);
        return NULL;
    }
    s = json_object_get_string(val);
    if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(val)) {
        pool_error(POOL_ERR_LVM, "lvm report: %s: field %s contains a NUL byte", what, field);
        return NULL;
    }
    return s;
}

/* Like row_string, but the value must not be empty. */
static const char *row_nonempty(json_object *row, const char *field, const char *what)
{
    const char *s = row_string(row, field, what);

    if (s != NULL && *s == '\0') {
        pool_error(POOL_ERR_LVM, "lvm report: %s: field %s is empty", what, field);
        return NULL;
    }
    return s;
}

static int row_u64(json_object *row, const char *field, const char *what, uint64_t *out)
{
    const char *s = row_string(row, field, what);

    if (s == NULL)
        return -1;
    if (parse_decimal_u64(s, strlen(s), out) < 0) {
        pool_error(POOL_ERR_LVM, "lvm report: %s: field %s is not a decimal number: '%.64s'", what,
                   field, s);
        return -1;
    }
    return 0;
}

/* A field that reports captured before it was asked for lack: 0 when
 * absent, checked like row_u64 when present. */
static int row_u64_optional(json_object *row, const char *field, const char *what, uint64_t *out)
{
    *out = 0;
    if (!json_object_object_get_ex(row, field, NULL))
        return 0;
    return row_u64(row, field, what, out);
}

/* "a,b:c" -> {"a","b:c",NULL}; "" -> {NULL}. Never returns an empty item. */
static char **split_tags(const char *text, const char *what)
{
    POOL_AUTOSTRV tags = pool_calloc(1, sizeof(char *));
    const char *p = text;

    if (tags == NULL)
        return NULL;
    if (*text == '\0')
        return pool_steal_ptr(&tags);
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        POOL_AUTOFREE(char *) tag = NULL;

        if (len == 0) {
            pool_error(POOL_ERR_LVM, "lvm report: %s: empty item in tag list '%.128s'", what, text);
            return NULL;
        }
        tag = strndup(p, len);
        if (tag == NULL) {
            pool_error_oom();
            return NULL;
        }
        if (pool_strv_add(&tags, tag) < 0)
            return NULL;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return pool_steal_ptr(&tags);
}

/* Parse the document and return (a new reference to) the array of rows
 * under report[*].<key>, all report entries' arrays concatenated. */
static json_object *report_rows(const char *json, const char *key)
{
    json_tokener *tok = NULL;
    json_object *root = NULL;
    json_object *report = NULL;
    json_object *rows = NULL;
    bool found = false;
    size_t len, end;
    enum json_tokener_error jerr;

    if (json == NULL) {
        pool_error(POOL_ERR_LVM, "lvm report: no output");
        return NULL;
    }
    len = strlen(json);
    if (len >= INT32_MAX) {
        pool_error(POOL_ERR_LVM, "lvm report: output too large (%zu bytes)", len);
        return NULL;
    }
    tok = json_tokener_new_ex(REPORT_MAX_DEPTH);
    if (tok == NULL) {
        pool_error_oom();
        return NULL;
    }
    /* Including the terminating NUL tells json-c the input ends there
     * (otherwise a bare top-level literal like `null` stays pending). */
    root = json_tokener_parse_ex(tok, json, (int)len + 1);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof) {
        pool_error(POOL_ERR_LVM, "lvm report: JSON truncated or empty");
        goto error;
    }
    if (jerr != json_tokener_success) {
        pool_error(POOL_ERR_LVM, "lvm report: invalid JSON at offset %zu: %s", end,
                   json_tokener_error_desc(jerr));
        goto error;
    }
    for (size_t i = end; i < len; i++) {
        if (json[i] != ' ' && json[i] != '\n' && json[i] != '\t' && json[i] != '\r') {
            pool_error(POOL_ERR_LVM, "lvm report: unexpected text after JSON at offset %zu", i);
            goto error;
        }
    }
    if (root == NULL || !json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "report", &report) ||
        !json_object_is_type(report, json_type_array)) {
        pool_error(POOL_ERR_LVM, "lvm report: no \"report\" array");
        goto error;
    }
    rows = json_object_new_array();
    if (rows == NULL) {
        pool_error_oom();
        goto error;
    }
    for (size_t i = 0; i < json_object_array_length(report); i++) {
        json_object *entry = json_object_array_get_idx(report, i);
        json_object *arr = NULL;

        if (!json_object_is_type(entry, json_type_object)) {
            pool_error(POOL_ERR_LVM, "lvm report: report entry %zu is not an object", i);
            goto error;
        }
        if (!json_object_object_get_ex(entry, key, &arr))
            continue;
        if (!json_object_is_type(arr, json_type_array)) {
            pool_error(POOL_ERR_LVM, "lvm report: \"%s\" is not an array", key);
            goto error;
        }
        found = true;
        for (size_t j = 0; j < json_object_array_length(arr); j++) {
            json_object *row = json_object_array_get_idx(arr, j);

            if (!json_object_is_type(row, json_type_object)) {
                pool_error(POOL_ERR_LVM, "lvm report: %s row %zu is not an object", key, j);
                goto error;
            }
            if (json_object_array_add(rows, json_object_get(row)) < 0) {
                json_object_put(row);
                pool_error_oom();
                goto error;
            }
        }
    }
    if (!found) {
        pool_error(POOL_ERR_LVM, "lvm report: no \"%s\" array in report", key);
        goto error;
    }
    json_object_put(root);
    return rows;

error:
    json_object_put(rows);
    json_object_put(root);
    return NULL;
}

/* One element of elem_size bytes per row of report[*].<key>, filled by
 * parse_row (which leaves its element empty when it fails). On failure the
 * elements parsed so far are cleared and freed and nothing is returned. */
static int report_parse_each(const char *json, const char *key, size_t elem_size,
                             int (*parse_row)(json_object *row, size_t index, void *elem),
                             void (*clear)(void *elem), void **out, size_t *n)
{
    json_object *rows;
    char *elems = NULL;
    size_t count;

    *out = NULL;
    *n = 0;
    rows = report_rows(json, key);
    if (rows == NULL)
        return -1;
    count = json_object_array_length(rows);
    if (count > 0) {
        elems = pool_calloc(count, elem_size);
        if (elems == NULL)
            goto error;
    }
    for (size_t i = 0; i < count; i++) {
        if (parse_row(json_object_array_get_idx(rows, i), i, elems + i * elem_size) < 0) {
            for (size_t j = 0; j < i; j++)
                clear(elems + j * elem_size);
            free(elems);
            goto error;
        }
    }
    json_object_put(rows);
    *out = elems;
    *n = count;
    return 0;

error:
    json_object_put(rows);
    return -1;
}

/* --- seg_pe_ranges ------------------------------------------------------- */

int pool_lvm_report_parse_pe_range(const char *text, char **pv, uint64_t *first, uint64_t *last)
{
    const char *colon, *dash;
    uint64_t a, b;
    char *name;

    *pv = NULL;
    if (text == NULL) {
        pool_error(POOL_ERR_LVM, "lvm report: missing PE range");
        return -1;
    }
    colon = strrchr(text, ':');
    if (colon == NULL || colon == text) {
        pool_error(POOL_ERR_LVM, "lvm report: PE range '%.128s' has no PV name", text);
        return -1;
    }
    dash = strchr(colon + 1, '-');
    if (dash == NULL || parse_decimal_u64(colon + 1, (size_t)(dash - colon - 1), &a) < 0 ||
        parse_decimal_u64(dash + 1, strlen(dash + 1), &b) < 0) {
        pool_error(POOL_ERR_LVM, "lvm report: PE range '%.128s' is not PV:FIRST-LAST", text);
        return -1;
    }
    if (a > b) {
        pool_error(POOL_ERR_LVM, "lvm report: PE range '%.128s' ends before it starts", text);
        return -1;
    }
    name = strndup(text, (size_t)(colon - text));
    if (name == NULL)
        return pool_error_oom();
    *pv = name;
    *first = a;
    *last = b;
    return 0;
}

/* --- lvs ----------------------------------------------------------------- */

static void lv_clear(poolLvmLV *lv)
{
    free(lv->name);
    free(lv->uuid);
    pool_strv_free(lv->tags);
    for (size_t i = 0; i < lv->nsegments; i++)
        free(lv->segments[i].pv);
    free(lv->segments);
    memset(lv, 0, sizeof(*lv));
}

void pool_lvm_lvs_free(poolLvmLV *lvs, size_t n)
{
    if (lvs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        lv_clear(&lvs[i]);
    free(lvs);
}

/* One lvs row, before merging. Strings point into the JSON tree. */
typedef struct {
    size_t index; /* row number, to keep lvm's LV order */
    const char *name;
    const char *uuid;
    const char *tags;
    uint64_t size;
    poolLvmSegment seg; /* seg.pv owned */
} lvRow;

static int lv_row_parse(json_object *obj, size_t index, lvRow *row)
{
    char what[160];
    const char *segtype, *ranges;
    uint64_t first, last;

    memset(row, 0, sizeof(*row));
    row->index = index;
    snprintf(what, sizeof(what), "lvs row %zu", index);
    row->name = row_nonempty(obj, "lv_name", what);
    if (row->name == NULL)
        return -1;
    snprintf(what, sizeof(what), "LV %.128s", row->name);
    if ((row->uuid = row_nonempty(obj, "lv_uuid", what)) == NULL ||
        (row->tags = row_string(obj, "lv_tags", what)) == NULL ||
        row_u64(obj, "lv_size", what, &row->size) < 0 ||
        row_u64(obj, "seg_start_pe", what, &row->seg.le_start) < 0 ||
        row_u64(obj, "seg_size_pe", what, &row->seg.count) < 0 ||
        (ranges = row_string(obj, "seg_pe_ranges", what)) == NULL ||
        (segtype = row_string(obj, "segtype", what)) == NULL)
        return -1;

    if (strcmp(segtype, "linear") != 0 &&
        !(strcmp(segtype, "striped") == 0 && strchr(ranges, ' ') == NULL)) {
        pool_error(POOL_ERR_LVM,
                   "LV %.128s has a segment of type '%.32s' (%.128s): only linear LVs are "
                   "supported",
                   row->name, segtype, ranges);
        return -1;
    }
    if (row->seg.count == 0) {
        pool_error(POOL_ERR_LVM, "lvm report: LV %.128s: segment at LE %" PRIu64 " is empty",
                   row->name, row->seg.le_start);
        return -1;
    }
    if (pool_lvm_report_parse_pe_range(ranges, &row->seg.pv, &first, &last) < 0) {
        pool_error_prefix("LV %.128s", row->name);
        return -1;
    }
    if (last - first != row->seg.count - 1) {
        pool_error(POOL_ERR_LVM,
                   "lvm report: LV %.128s: segment at LE %" PRIu64 " has %" PRIu64
                   " extents but maps PE range %.128s",
                   row->name, row->seg.le_start, row->seg.count, ranges);
        return -1;
    }
    if (row->seg.le_start > UINT64_MAX - row->seg.count) {
        pool_error(POOL_ERR_LVM, "lvm report: LV %.128s: segment end overflows", row->name);
        return -1;
    }
    row->seg.pe_start = first;
    return 0;
}

/* Sort rows by uuid, then by le_start: each LV's rows become one run with its
 * segments already in order. */
static int lv_row_cmp_uuid(const void *a, const void *b)
{
    const lvRow *x = a, *y = b;
    int c = strcmp(x->uuid, y->uuid);

    if (c != 0)
        return c;
    if (x->seg.le_start != y->seg.le_start)
        return x->seg.le_start < y->seg.le_start ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

/* Order of the merged LVs: that of their first row in lvm's output. */
typedef struct {
    size_t first_index;
    poolLvmLV lv;
} lvOrder;

static int lv_order_cmp(const void *a, const void *b)
{
    const lvOrder *x = a, *y = b;

    return x->first_index < y->first_index ? -1 : (x->first_index > y->first_index);
}

/* Build one LV from rows[0..n) (same uuid, sorted by le_start). Moves the
 * segments' pv strings out of the rows. */
static int lv_merge(lvRow *rows, size_t n, poolLvmLV *lv)
{
    char what[160];
    uint64_t next = 0;

    memset(lv, 0, sizeof(*lv));
    for (size_t i = 1; i < n; i++) {
        if (strcmp(rows[i].name, rows[0].name) != 0) {
            pool_error(POOL_ERR_LVM, "lvm report: LVs %.128s and %.128s share uuid %.64s",
                       rows[0].name, rows[i].name, rows[0].uuid);
            return -1;
        }
        if (rows[i].size != rows[0].size || strcmp(rows[i].tags, rows[0].tags) != 0) {
            pool_error(POOL_ERR_LVM, "lvm report: LV %.128s: segment rows disagree on size or tags",
                       rows[0].name);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const poolLvmSegment *s = &rows[i].seg;

        if (s->le_start != next) {
            pool_error(POOL_ERR_LVM, "lvm report: LV %.128s: segment map has %s at LE %" PRIu64,
                       rows[0].name, s->le_start > next ? "a gap" : "an overlap",
                       s->le_start > next ? next : s->le_start);
            return -1;
        }
        next = s->le_start + s->count;
    }
    /* size = extents * extent size, so it must divide evenly. */
    if (rows[0].size == 0 || rows[0].size % next != 0) {
        pool_error(POOL_ERR_LVM,
                   "lvm report: LV %.128s: size %" PRIu64 " does not match %" PRIu64 " extents",
                   rows[0].name, rows[0].size, next);
        return -1;
    }

    lv->name = strdup(rows[0].name);
    lv->uuid = strdup(rows[0].uuid);
    lv->segments = calloc(n, sizeof(*lv->segments));
    if (lv->name == NULL || lv->uuid == NULL || lv->segments == NULL) {
        lv_clear(lv);
        return pool_error_oom();
    }
    snprintf(what, sizeof(what), "LV %.128s", rows[0].name);
    lv->tags = split_tags(rows[0].tags, what);
    if (lv->tags == NULL) {
        lv_clear(lv);
        return -1;
    }
    lv->size = rows[0].size;
    lv->nsegments = n;
    for (size_t i = 0; i < n; i++) {
        lv->segments[i] = rows[i].seg;
        rows[i].seg.pv = NULL;
    }
    return 0;
}

/* The LVs of an array of "lv" rows (shared by the plain and the combined
 * parser; rows is borrowed). */
static int lv_rows_parse(json_object *rows, poolLvmLV **out, size_t *n)
{
    lvRow *r = NULL;
    lvOrder *order = NULL;
    size_t nrows = 0, nlvs = 0;
    poolLvmLV *lvs = NULL;
    int ret = -1;

    *out = NULL;
    *n = 0;
    nrows = json_object_array_length(rows);
    if (nrows == 0)
        return 0;
    r = pool_calloc(nrows, sizeof(*r));
    order = pool_calloc(nrows, sizeof(*order));
    if (r == NULL || order == NULL)
        goto out;
    for (size_t i = 0; i < nrows; i++) {
        if (lv_row_parse(json_object_array_get_idx(rows, i), i, &r[i]) < 0)
            goto out;
    }
    qsort(r, nrows, sizeof(*r), lv_row_cmp_uuid);
    for (size_t i = 0; i < nrows;) {
        size_t j = i + 1, first = r[i].index;

        while (j < nrows && strcmp(r[j].uuid, r[i].uuid) == 0) {
            if (r[j].index < first)
                first = r[j].index;
            j++;
        }
        order[nlvs].first_index = first;
        if (lv_merge(&r[i], j - i, &order[nlvs].lv) < 0)
            goto out;
        nlvs++;
        i = j;
    }
    qsort(order, nlvs, sizeof(*order), lv_order_cmp);
    lvs = pool_calloc(nlvs, sizeof(*lvs));
    if (lvs == NULL)
        goto out;
    for (size_t i = 0; i < nlvs; i++) {
        lvs[i] = order[i].lv;
        memset(&order[i].lv, 0, sizeof(order[i].lv));
    }
    *out = lvs;
    *n = nlvs;
    ret = 0;

out:
    if (order != NULL) {
        for (size_t i = 0; i < nlvs; i++)
            lv_clear(&order[i].lv);
        free(order);
    }
    if (r != NULL) {
        for (size_t i = 0; i < nrows; i++)
            free(r[i].seg.pv);
        free(r);
    }
    return ret;
}

int pool_lvm_report_parse_lvs(const char *json, poolLvmLV **out, size_t *n)
{
    json_object *rows;
    int ret;

    *out = NULL;
    *n = 0;
    rows = report_rows(json, "lv");
    if (rows == NULL)
        return -1;
    ret = lv_rows_parse(rows, out, n);
    json_object_put(rows);
    return ret;
}

/* --- vgs ----------------------------------------------------------------- */

static void vg_clear(void *elem)
{
    poolLvmVG *vg = elem;

    free(vg->name);
    free(vg->uuid);
    pool_strv_free(vg->tags);
    memset(vg, 0, sizeof(*vg));
}

void pool_lvm_vgs_free(poolLvmVG *vgs, size_t n)
{
    if (vgs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        vg_clear(&vgs[i]);
    free(vgs);
}

static int vg_parse(json_object *obj, size_t index, void *elem)
{
    poolLvmVG *vg = elem;
    char what[160];
    const char *name, *uuid, *tags;
    uint64_t bytes;

    memset(vg, 0, sizeof(*vg));
    snprintf(what, sizeof(what), "vgs row %zu", index);
    if ((name = row_nonempty(obj, "vg_name", what)) == NULL)
        return -1;
    snprintf(what, sizeof(what), "VG %.128s", name);
    if ((uuid = row_nonempty(obj, "vg_uuid", what)) == NULL ||
        (tags = row_string(obj, "vg_tags", what)) == NULL ||
        row_u64(obj, "vg_size", what, &vg->size) < 0 ||
        row_u64(obj, "vg_free", what, &vg->free) < 0 ||
        row_u64(obj, "vg_extent_size", what, &vg->extent_size) < 0 ||
        row_u64(obj, "vg_extent_count", what, &vg->extent_count) < 0 ||
        row_u64(obj, "vg_free_count", what, &vg->free_count) < 0 ||
        row_u64(obj, "vg_seqno", what, &vg->seqno) < 0 ||
        row_u64(obj, "pv_count", what, &vg->pv_count) < 0 ||
        row_u64(obj, "lv_count", what, &vg->lv_count) < 0 ||
        row_u64_optional(obj, "vg_mda_size", what, &vg->mda_size) < 0 ||
        row_u64_optional(obj, "vg_mda_free", what, &vg->mda_free) < 0)
        return -1;

    if (vg->extent_size == 0) {
        pool_error(POOL_ERR_LVM, "lvm report: VG %.128s: extent size is 0", name);
        return -1;
    }
    if (vg->free_count > vg->extent_count) {
        pool_error(POOL_ERR_LVM, "lvm report: VG %.128s: more free extents than extents", name);
        return -1;
    }
    if (__builtin_mul_overflow(vg->extent_size, vg->extent_count, &bytes) || bytes != vg->size ||
        __builtin_mul_overflow(vg->extent_size, vg->free_count, &bytes) || bytes != vg->free) {
        pool_error(POOL_ERR_LVM,
                   "lvm report: VG %.128s: size/free do not match extent size and counts", name);
        return -1;
    }
    vg->name = strdup(name);
    vg->uuid = strdup(uuid);
    if (vg->name == NULL || vg->uuid == NULL) {
        vg_clear(vg);
        return pool_error_oom();
    }
    vg->tags = split_tags(tags, what);
    if (vg->tags == NULL) {
        vg_clear(vg);
        return -1;
    }
    return 0;
}

int pool_lvm_report_parse_vgs(const char *json, poolLvmVG **out, size_t *n)
{
    void *vgs;

    *out = NULL;
    if (report_parse_each(json, "vg", sizeof(poolLvmVG), vg_parse, vg_clear, &vgs, n) < 0)
        return -1;
    *out = vgs;
    return 0;
}

/* --- lvs with VG fields -------------------------------------------------- */

/* The VG fields every row of the combined report repeats. */
static const char *const vg_fields[] = {
    "vg_name",       "vg_uuid",  "vg_size",  "vg_free",  "vg_extent_size", "vg_extent_count",
    "vg_free_count", "vg_seqno", "pv_count", "lv_count", "vg_tags",
};

int pool_lvm_report_parse_lvs_vg(const char *json, poolLvmVG **vg, poolLvmLV **out, size_t *n)
{
    json_object *rows;
    json_object *first_row;
    poolLvmVG *first = NULL;
    size_t nrows;

    *vg = NULL;
    *out = NULL;
    *n = 0;
    rows = report_rows(json, "lv");
    if (rows == NULL)
        return -1;
    nrows = json_object_array_length(rows);
    if (nrows == 0) {
        json_object_put(rows);
        return 0;
    }
    /* The first row's VG passes every vgs rule; every other row must carry
     * the very same text in every VG field (one lvm command reads one
     * metadata version, so anything else means the rows cannot be trusted).
     * Comparing text instead of parsing each row keeps a 1,000-LV report
     * cheap. */
    first_row = json_object_array_get_idx(rows, 0);
    first = pool_calloc(1, sizeof(*first));
    if (first == NULL)
        goto error;
    if (vg_parse(first_row, 0, first) < 0) {
        free(first);
        first = NULL;
        goto error;
    }
    for (size_t i = 1; i < nrows; i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        char what[64];

        snprintf(what, sizeof(what), "lvs row %zu", i);
        for (size_t f = 0; f < sizeof(vg_fields) / sizeof(vg_fields[0]); f++) {
            const char *a = row_string(first_row, vg_fields[f], "lvs row 0");
            const char *b = row_string(row, vg_fields[f], what);

            if (a == NULL || b == NULL)
                goto error;
            if (strcmp(a, b) != 0) {
                pool_error(POOL_ERR_LVM,
                           "lvm report: lvs row %zu: VG %.128s differs from the first row's "
                           "(%s)",
                           i, first->name, vg_fields[f]);
                goto error;
            }
        }
    }
    if (lv_rows_parse(rows, out, n) < 0)
        goto error;
    json_object_put(rows);
    *vg = first;
    return 0;

error:
    pool_lvm_vgs_free(first, first ? 1 : 0);
    json_object_put(rows);
    return -1;
}

/* --- pvs ----------------------------------------------------------------- */

static void pv_clear(void *elem)
{
    poolLvmPV *pv = elem;

    free(pv->name);
    free(pv->uuid);
    free(pv->vg_name);
    memset(pv, 0, sizeof(*pv));
}

void pool_lvm_pvs_free(poolLvmPV *pvs, size_t n)
{
    if (pvs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        pv_clear(&pvs[i]);
    free(pvs);
}

static int pv_parse(json_object *obj, size_t index, void *elem)
{
    poolLvmPV *pv = elem;
    char what[160];
    const char *name, *uuid, *vg_name;

    memset(pv, 0, sizeof(*pv));
    snprintf(what, sizeof(what), "pvs row %zu", index);
    if ((name = row_nonempty(obj, "pv_name", what)) == NULL)
        return -1;
    snprintf(what, sizeof(what), "PV %.128s", name);
    if ((uuid = row_nonempty(obj, "pv_uuid", what)) == NULL ||
        (vg_name = row_string(obj, "vg_name", what)) == NULL ||
        row_u64(obj, "pv_size", what, &pv->size) < 0 ||
        row_u64(obj, "pe_start", what, &pv->pe_start) < 0 ||
        row_u64(obj, "pv_pe_count", what, &pv->pe_count) < 0 ||
        row_u64(obj, "pv_pe_alloc_count", what, &pv->pe_alloc) < 0)
        return -1;
    if (pv->pe_alloc > pv->pe_count) {
        pool_error(POOL_ERR_LVM, "lvm report: PV %.128s: more extents allocated than exist", name);
        return -1;
    }
    pv->name = strdup(name);
    pv->uuid = strdup(uuid);
    pv->vg_name = strdup(vg_name);
    if (pv->name == NULL || pv->uuid == NULL || pv->vg_name == NULL) {
        pv_clear(pv);
        return pool_error_oom();
    }
    return 0;
}

int pool_lvm_report_parse_pvs(const char *json, poolLvmPV **out, size_t *n)
{
    void *pvs;

    *out = NULL;
    if (report_parse_each(json, "pv", sizeof(poolLvmPV), pv_parse, pv_clear, &pvs, n) < 0)
        return -1;
    *out = pvs;
    return 0;
}

/* --- tags ---------------------------------------------------------------- */

const char *pool_lvm_tag_get(char *const *tags, const char *key)
{
    size_t klen;

    if (tags == NULL || key == NULL)
        return NULL;
    klen = strlen(key);
    for (size_t i = 0; tags[i] != NULL; i++) {
        if (strncmp(tags[i], key, klen) == 0 && tags[i][klen] == ':')
            return tags[i] + klen + 1;
    }
    return NULL;
}
