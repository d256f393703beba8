/*
 * layer_tree.c: a pool's volumes, layers, snapshots and templates from its
 * LV tags (layer_tree.h). Pure: every rule that decides what a layer is,
 * what it backs and which way an interrupted snapshot is repaired is tested
 * on plain data, since a wrong answer would lose a guest's data.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "layer_tree.h"
#include "layout.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"

void pool_layer_tree_free(poolLayerTree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->nodes[i].children);
    free(t->nodes);
    t->nodes = NULL;
    t->n = 0;
}

void pool_layer_lv_name(const char *layer_uuid, char buf[37])
{
    size_t o = 0;
    memcpy(buf, POOL_LAYER_PREFIX, 4);
    o = 4;
    for (size_t i = 0; layer_uuid[i] && o < 36; i++)
        if (layer_uuid[i] != '-')
            buf[o++] = layer_uuid[i];
    buf[o] = '\0';
}

static int bad_tag(const poolLvmLV *lv, const char *key, const char *why)
{
    pool_error(POOL_ERR_LVM, "logical volume %s has a bad %s tag: %s", lv->name, key, why);
    return -1;
}

static int tag_uuid(const poolLvmLV *lv, const char *key, bool required, char out[37])
{
    const char *v = pool_lvm_tag_get(lv->tags, key);
    out[0] = '\0';
    if (!v) {
        if (!required)
            return 0;
        pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name, key);
        return -1;
    }
    if (!pool_uuid_is_valid(v))
        return bad_tag(lv, key, "not a uuid");
    memcpy(out, v, 36);
    out[36] = '\0';
    return 0;
}

/* -1 with an error; 0 absent (when allowed); 1 present */
static int tag_num(const poolLvmLV *lv, const char *key, bool required, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    const char *v = pool_lvm_tag_get(lv->tags, key);
    if (!v) {
        if (!required)
            return 0;
        pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name, key);
        return -1;
    }
    if (pool_parse_uint(v, key, min, max, out) < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", pool_error_last_message());
        return bad_tag(lv, key, why);
    }
    return 1;
}

static int tag_name(const poolLvmLV *lv, const char *key, bool required, const char **out)
{
    const char *v = pool_lvm_tag_get(lv->tags, key);
    *out = v;
    if (!v) {
        if (!required)
            return 0;
        pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name, key);
        return -1;
    }
    if (pool_name_validate(POOL_NAME_VOLUME, v) < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", pool_error_last_message());
        return bad_tag(lv, key, why);
    }
    return 1;
}

static poolLtOp op_of(const char *op)
{
    if (!op)
        return POOL_LT_OP_NONE;
    if (strcmp(op, "snapnew") == 0)
        return POOL_LT_OP_SNAPNEW;
    if (strcmp(op, "revertnew") == 0)
        return POOL_LT_OP_REVERTNEW;
    if (strcmp(op, "delete") == 0)
        return POOL_LT_OP_DELETE;
    return POOL_LT_OP_OTHER;
}

/* 1: a node was filled; 0: the LV is not one of poold's layered LVs */
static int node_from_lv(const poolLvmLV *lv, poolLtNode *nd)
{
    memset(nd, 0, sizeof(*nd));
    nd->lv = lv;
    nd->parent = -1;
    nd->lun = -1;
    if (pool_layout_lv_is_special(lv))
        return 0;
    bool has_uuid = pool_lvm_tag_get(lv->tags, POOL_TAG_UUID) != NULL;
    bool has_layer = pool_lvm_tag_get(lv->tags, POOL_TAG_LAYER) != NULL;
    nd->op = op_of(pool_lvm_tag_get(lv->tags, POOL_TAG_OP));
    if (has_uuid && has_layer) {
        pool_error(POOL_ERR_LVM, "logical volume %s has both %s and %s tags", lv->name,
                   POOL_TAG_UUID, POOL_TAG_LAYER);
        return -1;
    }
    if (has_uuid)
        nd->kind = POOL_LT_TOP;
    else if (has_layer)
        nd->kind = POOL_LT_LAYER;
    else if (nd->op == POOL_LT_OP_SNAPNEW || nd->op == POOL_LT_OP_REVERTNEW)
        nd->kind = POOL_LT_NEW;
    else if (nd->op == POOL_LT_OP_DELETE && pool_lvm_tag_get(lv->tags, POOL_TAG_OWNER))
        nd->kind = POOL_LT_DOOMED;
    else
        return 0; /* not poold's */

    if (tag_uuid(lv, nd->kind == POOL_LT_TOP ? POOL_TAG_UUID : POOL_TAG_LAYER,
                 nd->kind <= POOL_LT_LAYER, nd->uuid) < 0)
        return -1;
    nd->format = pool_lvm_tag_get(lv->tags, POOL_TAG_FMT);
    if (!nd->format) {
        pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name, POOL_TAG_FMT);
        return -1;
    }
    if (strcmp(nd->format, "raw") != 0 && strcmp(nd->format, "qcow2") != 0)
        return bad_tag(lv, POOL_TAG_FMT, "unknown format");
    uint64_t v;
    int r = tag_num(lv, POOL_TAG_VSIZE, strcmp(nd->format, "qcow2") == 0, 1, INT64_MAX, &v);
    if (r < 0)
        return -1;
    nd->vsize = r ? v : lv->size;
    if ((r = tag_num(lv, POOL_TAG_LUN, nd->kind <= POOL_LT_LAYER && nd->op != POOL_LT_OP_DELETE, 1,
                     POOL_MAX_LUN, &v)) < 0)
        return -1;
    nd->lun = r ? (int)v : -1;
    if (tag_uuid(lv, POOL_TAG_PARENT, false, nd->parent_uuid) < 0)
        return -1;
    if (nd->parent_uuid[0] && strcmp(nd->format, "qcow2") != 0)
        return bad_tag(lv, POOL_TAG_PARENT, "only a qcow2 image has a backing layer");

    nd->owner = pool_lvm_tag_get(lv->tags, POOL_TAG_OWNER);
    if (nd->owner && !pool_uuid_is_valid(nd->owner))
        return bad_tag(lv, POOL_TAG_OWNER, "not a uuid");
    if (tag_name(lv, POOL_TAG_SNAP, false, &nd->snap) < 0 ||
        tag_name(lv, POOL_TAG_TEMPLATE, false, &nd->template_name) < 0 ||
        tag_name(lv, POOL_TAG_VNAME, false, &nd->vname) < 0)
        return -1;
    if ((r = tag_num(lv, POOL_TAG_STIME, false, 0, INT64_MAX, &v)) < 0)
        return -1;
    nd->stime = r ? (int64_t)v : 0;
    nd->revert = pool_lvm_tag_get(lv->tags, POOL_TAG_REVERT);
    if (nd->revert && !pool_uuid_is_valid(nd->revert))
        return bad_tag(lv, POOL_TAG_REVERT, "not a uuid");

    switch (nd->kind) {
    case POOL_LT_TOP:
        if (nd->owner || nd->snap || nd->template_name) {
            pool_error(POOL_ERR_LVM,
                       "logical volume %s is a volume (%s) but carries layer tags (%s, %s or %s)",
                       lv->name, POOL_TAG_UUID, POOL_TAG_OWNER, POOL_TAG_SNAP, POOL_TAG_TEMPLATE);
            return -1;
        }
        break;
    case POOL_LT_LAYER:
        if (nd->template_name && (nd->owner || nd->snap)) {
            pool_error(POOL_ERR_LVM, "layer %s is both a template and a snapshot", lv->name);
            return -1;
        }
        if (!nd->template_name) {
            if (!nd->owner || !nd->snap) {
                pool_error(POOL_ERR_LVM,
                           "layer %s is neither a template (%s) nor a snapshot (%s and %s)",
                           lv->name, POOL_TAG_TEMPLATE, POOL_TAG_OWNER, POOL_TAG_SNAP);
                return -1;
            }
            if (!pool_lvm_tag_get(lv->tags, POOL_TAG_STIME)) {
                pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name,
                           POOL_TAG_STIME);
                return -1;
            }
        }
        break;
    case POOL_LT_NEW:
        if (!nd->owner || !nd->vname) {
            pool_error(POOL_ERR_LVM, "new top %s lacks its %s or %s tag", lv->name, POOL_TAG_OWNER,
                       POOL_TAG_VNAME);
            return -1;
        }
        if (nd->op == POOL_LT_OP_SNAPNEW && !nd->snap) {
            pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name, POOL_TAG_SNAP);
            return -1;
        }
        if (nd->op == POOL_LT_OP_REVERTNEW && !nd->revert) {
            pool_error(POOL_ERR_LVM, "logical volume %s lacks its %s tag", lv->name,
                       POOL_TAG_REVERT);
            return -1;
        }
        memcpy(nd->uuid, nd->owner, 36);
        nd->uuid[36] = '\0';
        break;
    case POOL_LT_DOOMED:
        memcpy(nd->uuid, nd->owner, 36);
        nd->uuid[36] = '\0';
        break;
    }
    return 1;
}

static int add_child(poolLtNode *p, size_t c)
{
    if (pool_realloc_n(&p->children, p->nchildren + 1, sizeof(size_t)) < 0)
        return -1;
    p->children[p->nchildren++] = c;
    return 0;
}

int pool_layer_tree_build(const poolLvmLV *lvs, size_t n, poolLayerTree *out)
{
    poolLayerTree t = {0};
    out->nodes = NULL;
    out->n = 0;
    if (n && !(t.nodes = pool_calloc(n, sizeof(*t.nodes))))
        return -1;
    for (size_t i = 0; i < n; i++) {
        int r = node_from_lv(&lvs[i], &t.nodes[t.n]);
        if (r < 0)
            goto fail;
        if (r > 0)
            t.n++;
    }
    /* uniqueness */
    for (size_t i = 0; i < t.n; i++) {
        const poolLtNode *a = &t.nodes[i];
        for (size_t j = i + 1; j < t.n; j++) {
            const poolLtNode *b = &t.nodes[j];
            if (a->kind == b->kind && (a->kind == POOL_LT_TOP || a->kind == POOL_LT_LAYER) &&
                strcmp(a->uuid, b->uuid) == 0) {
                pool_error(POOL_ERR_LVM, "logical volumes %s and %s have the same %s tag %s",
                           a->lv->name, b->lv->name,
                           a->kind == POOL_LT_TOP ? POOL_TAG_UUID : POOL_TAG_LAYER, a->uuid);
                goto fail;
            }
            if (a->kind == POOL_LT_LAYER && b->kind == POOL_LT_LAYER) {
                if (a->snap && b->snap && strcmp(a->owner, b->owner) == 0 &&
                    strcmp(a->snap, b->snap) == 0) {
                    pool_error(POOL_ERR_LVM, "layers %s and %s are both snapshot '%s' of volume %s",
                               a->lv->name, b->lv->name, a->snap, a->owner);
                    goto fail;
                }
                if (a->template_name && b->template_name &&
                    strcmp(a->template_name, b->template_name) == 0) {
                    pool_error(POOL_ERR_LVM, "layers %s and %s are both template '%s'", a->lv->name,
                               b->lv->name, a->template_name);
                    goto fail;
                }
            }
        }
    }
    /* parents and children */
    for (size_t i = 0; i < t.n; i++) {
        poolLtNode *c = &t.nodes[i];
        if (!c->parent_uuid[0])
            continue;
        int p = pool_layer_tree_find_layer(&t, c->parent_uuid);
        if (p < 0) {
            pool_error(POOL_ERR_LVM, "logical volume %s names a missing backing layer %s=%s",
                       c->lv->name, POOL_TAG_PARENT, c->parent_uuid);
            goto fail;
        }
        c->parent = p;
        if (add_child(&t.nodes[p], i) < 0)
            goto fail;
    }
    /* every chain ends (no cycle), within the depth limit */
    for (size_t i = 0; i < t.n; i++) {
        size_t depth = 0;
        int p = t.nodes[i].parent;
        while (p >= 0 && depth <= t.n) {
            depth++;
            p = t.nodes[p].parent;
        }
        if (p >= 0) {
            pool_error(POOL_ERR_LVM, "the backing layers of logical volume %s form a cycle",
                       t.nodes[i].lv->name);
            goto fail;
        }
        if (depth > POOL_LAYER_MAX_DEPTH) {
            pool_error(POOL_ERR_LVM, "logical volume %s has %zu backing layers, more than %d",
                       t.nodes[i].lv->name, depth, POOL_LAYER_MAX_DEPTH);
            goto fail;
        }
    }
    *out = t;
    return 0;
fail:
    pool_layer_tree_free(&t);
    return -1;
}

int pool_layer_tree_find_top(const poolLayerTree *t, const char *volume_name)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i].kind == POOL_LT_TOP && strcmp(t->nodes[i].lv->name, volume_name) == 0)
            return (int)i;
    return -1;
}

int pool_layer_tree_find_top_uuid(const poolLayerTree *t, const char *volume_uuid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i].kind == POOL_LT_TOP && strcmp(t->nodes[i].uuid, volume_uuid) == 0)
            return (int)i;
    return -1;
}

int pool_layer_tree_find_layer(const poolLayerTree *t, const char *layer_uuid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->nodes[i].kind == POOL_LT_LAYER && strcmp(t->nodes[i].uuid, layer_uuid) == 0)
            return (int)i;
    return -1;
}

int pool_layer_tree_find_snapshot(const poolLayerTree *t, const char *volume_uuid, const char *snap)
{
    for (size_t i = 0; i < t->n; i++) {
        const poolLtNode *nd = &t->nodes[i];
        if (nd->kind == POOL_LT_LAYER && nd->snap && strcmp(nd->owner, volume_uuid) == 0 &&
            strcmp(nd->snap, snap) == 0)
            return (int)i;
    }
    return -1;
}

int pool_layer_tree_find_template(const poolLayerTree *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++) {
        const poolLtNode *nd = &t->nodes[i];
        if (nd->kind == POOL_LT_LAYER && nd->template_name && strcmp(nd->template_name, name) == 0)
            return (int)i;
    }
    return -1;
}

int pool_layer_tree_chain(const poolLayerTree *t, size_t node, size_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t *c = pool_calloc(POOL_LAYER_MAX_DEPTH + 1, sizeof(size_t));
    if (!c)
        return -1;
    size_t k = 0;
    /* build checked depth and cycles: the walk ends within the limit */
    for (int i = (int)node; i >= 0 && k <= POOL_LAYER_MAX_DEPTH; i = t->nodes[i].parent)
        c[k++] = (size_t)i;
    *out = c;
    *n = k;
    return 0;
}

static int snap_cmp_ctx_stime(const poolLtNode *a, const poolLtNode *b)
{
    if (a->stime != b->stime)
        return a->stime < b->stime ? -1 : 1;
    return strcmp(a->snap, b->snap);
}

/* the nearest ancestor of node i that is a snapshot of the volume, or -1 */
static int snap_ancestor(const poolLayerTree *t, size_t i, const char *volume_uuid)
{
    for (int p = t->nodes[i].parent; p >= 0; p = t->nodes[p].parent) {
        const poolLtNode *nd = &t->nodes[p];
        if (nd->kind == POOL_LT_LAYER && nd->snap && strcmp(nd->owner, volume_uuid) == 0)
            return p;
    }
    return -1;
}

static void snap_walk(const poolLayerTree *t, const char *volume_uuid, int under, unsigned d,
                      size_t *out, unsigned *depth, size_t *k, const size_t *snaps, size_t ns)
{
    /* the volume's snapshots whose nearest snapshot ancestor is `under`,
     * ordered by time then name (ns is small: a plain selection) */
    bool *done = pool_calloc(ns ? ns : 1, sizeof(bool));
    if (!done)
        return;
    for (;;) {
        int best = -1;
        for (size_t i = 0; i < ns; i++) {
            if (done[i] || snap_ancestor(t, snaps[i], volume_uuid) != under)
                continue;
            if (best < 0 || snap_cmp_ctx_stime(&t->nodes[snaps[i]], &t->nodes[snaps[best]]) < 0)
                best = (int)i;
        }
        if (best < 0)
            break;
        done[best] = true;
        out[*k] = snaps[best];
        depth[*k] = d;
        (*k)++;
        snap_walk(t, volume_uuid, (int)snaps[best], d + 1, out, depth, k, snaps, ns);
    }
    free(done);
}

int pool_layer_tree_snapshots(const poolLayerTree *t, const char *volume_uuid, size_t **out,
                              unsigned **depth, size_t *n)
{
    *out = NULL;
    *depth = NULL;
    *n = 0;
    size_t ns = 0;
    POOL_AUTOFREE(size_t *) snaps = pool_calloc(t->n ? t->n : 1, sizeof(size_t));
    if (!snaps)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        const poolLtNode *nd = &t->nodes[i];
        if (nd->kind == POOL_LT_LAYER && nd->snap && strcmp(nd->owner, volume_uuid) == 0)
            snaps[ns++] = i;
    }
    POOL_AUTOFREE(size_t *) o = pool_calloc(ns ? ns : 1, sizeof(size_t));
    POOL_AUTOFREE(unsigned *) d = pool_calloc(ns ? ns : 1, sizeof(unsigned));
    if (!o || !d)
        return -1;
    size_t k = 0;
    snap_walk(t, volume_uuid, -1, 0, o, d, &k, snaps, ns);
    if (k != ns) {
        pool_error_oom();
        return -1;
    }
    *out = pool_steal_ptr(&o);
    *depth = pool_steal_ptr(&d);
    *n = k;
    return 0;
}

poolLtRepair pool_layer_tree_new_repair(const poolLayerTree *t, size_t node,
                                        const char **parent_uuid)
{
    const poolLtNode *nd = &t->nodes[node];
    *parent_uuid = NULL;
    /* the volume's top still has its identity: the commit never happened */
    if (pool_layer_tree_find_top_uuid(t, nd->owner) >= 0)
        return POOL_LT_REPAIR_BACK;
    int l;
    if (nd->op == POOL_LT_OP_SNAPNEW)
        l = pool_layer_tree_find_snapshot(t, nd->owner, nd->snap);
    else
        l = pool_layer_tree_find_layer(t, nd->revert);
    if (l < 0)
        return POOL_LT_REPAIR_STUCK;
    *parent_uuid = t->nodes[l].uuid;
    return POOL_LT_REPAIR_FORWARD;
}
