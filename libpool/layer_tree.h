/*
 * layer_tree.h (private): a pool's volumes, snapshot layers and templates,
 * read from its LV list alone (docs/design.md section 5, "Layers"). Pure:
 * no I/O, unit-tested on captured-style LV lists (tests/unit/test_layer_tree.c).
 *
 * Every poold LV that is not special is one node:
 *   - a TOP: a volume (pd_uuid); may carry pd_parent (a qcow2 top's backing
 *     layer) and pd_vsize;
 *   - a LAYER: frozen, read-only (pd_layer, LV name pdl-<uuid hex>): a
 *     snapshot (pd_owner + pd_snap + pd_stime) or a template (pd_template);
 *   - a NEW LV of a snapshot create or revert that has not committed yet
 *     (pd_op:snapnew / pd_op:revertnew, pd_owner, pd_vname; neither pd_uuid
 *     nor pd_layer);
 *   - a DOOMED LV: the old top of a committed revert (pd_op:delete, neither
 *     pd_uuid nor pd_layer), wiped and removed by the repair.
 * Nodes point into the LV list, which must outlive the tree.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_LAYER_TREE_H
#define POOL_LAYER_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-lvm.h"

/* LV tags of layers and of snapshot intents (layout.h has the others) */
#define POOL_TAG_LAYER    "pd_layer"    /* pd_layer:<layer uuid> (instead of pd_uuid) */
#define POOL_TAG_PARENT   "pd_parent"   /* pd_parent:<layer uuid>: the backing layer */
#define POOL_TAG_VSIZE    "pd_vsize"    /* pd_vsize:<bytes>: virtual size */
#define POOL_TAG_OWNER    "pd_owner"    /* pd_owner:<volume uuid>: snapshot of that volume */
#define POOL_TAG_SNAP     "pd_snap"     /* pd_snap:<snapshot name> */
#define POOL_TAG_STIME    "pd_stime"    /* pd_stime:<unix s>: when the snapshot was taken */
#define POOL_TAG_TEMPLATE "pd_template" /* pd_template:<template name> */
#define POOL_TAG_VNAME    "pd_vname"    /* pd_vname:<volume name> a new top will take */
#define POOL_TAG_REVERT   "pd_revert"   /* pd_revert:<layer uuid> a revert goes back to */

#define POOL_LAYER_PREFIX "pdl-"
/* layers below a top, at most */
#define POOL_LAYER_MAX_DEPTH 64

typedef enum {
    POOL_LT_TOP,    /* a volume */
    POOL_LT_LAYER,  /* a snapshot or template layer */
    POOL_LT_NEW,    /* uncommitted new top of a snapshot create or revert */
    POOL_LT_DOOMED, /* the old top of a committed revert, to be removed */
} poolLtKind;

typedef enum {
    POOL_LT_OP_NONE,
    POOL_LT_OP_SNAPNEW,   /* pd_op:snapnew */
    POOL_LT_OP_REVERTNEW, /* pd_op:revertnew */
    POOL_LT_OP_DELETE,    /* pd_op:delete */
    POOL_LT_OP_OTHER,     /* create, resize-N, merge...: another module's */
} poolLtOp;

typedef struct {
    const poolLvmLV *lv;
    poolLtKind kind;
    poolLtOp op;
    /* TOP: the volume uuid; LAYER: the layer uuid; NEW and DOOMED: the
     * volume uuid they belong to (pd_owner), or "" */
    char uuid[37];
    const char *format;   /* "raw" or "qcow2" */
    uint64_t vsize;       /* virtual size: pd_vsize, else the LV size */
    int lun;              /* pd_lun, or -1 */
    char parent_uuid[37]; /* pd_parent, or "" */
    int parent;           /* index of the parent node, or -1 */
    size_t *children;     /* indexes of nodes whose pd_parent is this one */
    size_t nchildren;
    const char *owner;         /* pd_owner: volume uuid (LAYER snapshot, NEW, DOOMED), or NULL */
    const char *snap;          /* pd_snap, or NULL */
    int64_t stime;             /* pd_stime, or 0 */
    const char *template_name; /* pd_template, or NULL */
    const char *vname;         /* pd_vname (NEW), or NULL */
    const char *revert;        /* pd_revert (NEW of a revert), or NULL */
} poolLtNode;

typedef struct {
    poolLtNode *nodes;
    size_t n;
} poolLayerTree;

/* Build the tree of an LV list. Special LVs and LVs that are not poold's are
 * left out. Refused (-1, POOL_ERR_LVM naming the LV) on: a bad uuid or
 * number tag, an unknown format, a layer that is both snapshot and template
 * or neither, a snapshot without its name or time, a pd_parent naming no
 * layer, a pd_parent cycle, a chain deeper than POOL_LAYER_MAX_DEPTH, two
 * LVs with the same layer uuid, two volumes with the same uuid, two
 * snapshots of one volume with the same name, two templates with the same
 * name. */
int pool_layer_tree_build(const poolLvmLV *lvs, size_t n, poolLayerTree *out);
void pool_layer_tree_free(poolLayerTree *t);

/* Look-ups: index of the node, or -1. */
int pool_layer_tree_find_top(const poolLayerTree *t, const char *volume_name);
int pool_layer_tree_find_top_uuid(const poolLayerTree *t, const char *volume_uuid);
int pool_layer_tree_find_layer(const poolLayerTree *t, const char *layer_uuid);
int pool_layer_tree_find_snapshot(const poolLayerTree *t, const char *volume_uuid,
                                  const char *snap);
int pool_layer_tree_find_template(const poolLayerTree *t, const char *name);

/* The chain of a node, itself first, then its parent, ... down to the base.
 * *out is malloc'd (free it); *n its length (depth + 1). */
int pool_layer_tree_chain(const poolLayerTree *t, size_t node, size_t **out, size_t *n);

/* The snapshots of a volume (layers whose pd_owner is its uuid), in tree
 * order: each snapshot after its parent, siblings by pd_stime, then name.
 * depth[i] is the snapshot's depth among them (0 = no snapshot of the
 * volume below it). Both malloc'd. */
int pool_layer_tree_snapshots(const poolLayerTree *t, const char *volume_uuid, size_t **out,
                              unsigned **depth, size_t *n);

/* The layer name of a layer uuid: "pdl-" + 32 hex digits; buf >= 37 bytes. */
void pool_layer_lv_name(const char *layer_uuid, char buf[37]);

/* What reconcile does with a NEW node (an interrupted snapshot create or
 * revert): roll BACK (remove the new LV: the volume's top is still there,
 * nothing else changed) or FORWARD (the commit happened: finish the renames
 * and the retag). POOL_LT_REPAIR_STUCK: neither is safe (the layer the new
 * top would sit on is missing): left for an operator, with a message. */
typedef enum {
    POOL_LT_REPAIR_BACK,
    POOL_LT_REPAIR_FORWARD,
    POOL_LT_REPAIR_STUCK,
} poolLtRepair;

/* For a NEW node: the repair and, for FORWARD, the layer uuid the new top's
 * pd_parent names (*parent_uuid, pointing into the tree). */
poolLtRepair pool_layer_tree_new_repair(const poolLayerTree *t, size_t node,
                                        const char **parent_uuid);

#endif
