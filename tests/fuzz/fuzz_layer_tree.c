// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_layer_tree.c: libFuzzer target for the snapshot layer model
 * (libpool/layer_tree.c), which reads LV tags any host or an operator's
 * lvchange may have written. Each input line is one LV: its name, then its
 * tags, separated by spaces. Whatever the tags, building the tree either
 * fails with POOL_ERR_LVM and no nodes, or gives a tree whose parent links
 * are in range and agree with the children lists, whose chains end within
 * the depth limit, and whose look-ups and repair decisions do not crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layer_tree.h"
#include "pool-error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LVS  32
#define MAX_TAGS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    poolLvmLV lvs[MAX_LVS];
    char *tags[MAX_LVS][MAX_TAGS + 1];
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && n < MAX_LVS;
         line = strtok_r(NULL, "\n", &save)) {
        char *s2 = NULL;
        char *name = strtok_r(line, " ", &s2);
        if (!name)
            continue;
        size_t k = 0;
        for (char *t = strtok_r(NULL, " ", &s2); t && k < MAX_TAGS; t = strtok_r(NULL, " ", &s2))
            tags[n][k++] = t;
        tags[n][k] = NULL;
        lvs[n] = (poolLvmLV){.name = name, .uuid = "u", .size = 1 << 20, .tags = tags[n]};
        n++;
    }
    poolLayerTree t;
    pool_error_reset();
    if (pool_layer_tree_build(lvs, n, &t) < 0) {
        if (t.nodes || t.n || pool_error_last_code() != POOL_ERR_LVM)
            abort();
        free(text);
        return 0;
    }
    for (size_t i = 0; i < t.n; i++) {
        const poolLtNode *nd = &t.nodes[i];
        if (nd->parent >= (int)t.n || nd->parent < -1)
            abort();
        if (nd->parent >= 0) {
            const poolLtNode *p = &t.nodes[nd->parent];
            bool listed = false;
            for (size_t c = 0; c < p->nchildren; c++)
                listed = listed || p->children[c] == i;
            if (!listed || p->kind != POOL_LT_LAYER)
                abort();
        }
        size_t *chain, cn;
        if (pool_layer_tree_chain(&t, i, &chain, &cn) == 0) {
            if (cn == 0 || cn > POOL_LAYER_MAX_DEPTH + 1 || t.nodes[chain[cn - 1]].parent != -1)
                abort();
            free(chain);
        }
        if (nd->kind == POOL_LT_TOP) {
            size_t *s, sn;
            unsigned *d;
            if (pool_layer_tree_snapshots(&t, nd->uuid, &s, &d, &sn) == 0) {
                free(s);
                free(d);
            }
        }
        if (nd->kind == POOL_LT_NEW) {
            const char *parent = NULL;
            poolLtRepair r = pool_layer_tree_new_repair(&t, i, &parent);
            if ((r == POOL_LT_REPAIR_FORWARD) != (parent != NULL))
                abort();
        }
    }
    pool_layer_tree_free(&t);
    free(text);
    return 0;
}
