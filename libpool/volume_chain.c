/*
 * volume_chain.c: the layers below a volume's top, as a VM's domain needs
 * them (pool_manager_vol_chain, pool-ops.h): read from the pool's LV list
 * through the layer tree (layer_tree.h), no other state.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "layer_tree.h"
#include "layout.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-ops.h"
#include "pool-util.h"

void pool_vol_layers_free(poolVolLayer *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i].format);
    free(l);
}

int pool_manager_vol_chain(poolManager *mgr, const char *pool, const char *volume,
                           poolVolLayer **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    if (pool_name_validate(POOL_NAME_VOLUME, volume) < 0)
        return -1;
    poolSnapshot snap;
    poolLayerTree t;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    if (pool_layer_tree_build(snap.lvs, snap.nlvs, &t) < 0) {
        pool_snapshot_clear(&snap);
        return -1;
    }
    int r = -1;
    size_t *chain = NULL, k = 0;
    poolVolLayer *l = NULL;
    int ti = pool_layer_tree_find_top(&t, volume);
    if (ti < 0) {
        pool_error(POOL_ERR_NO_VOLUME, "no volume named '%s' in pool %s", volume, pool);
        goto out;
    }
    if (pool_layer_tree_chain(&t, (size_t)ti, &chain, &k) < 0)
        goto out;
    /* chain[0] is the top itself */
    if (!(l = pool_calloc(k, sizeof(*l))))
        goto out;
    for (size_t i = 1; i < k; i++) {
        const poolLtNode *nd = &t.nodes[chain[i]];
        if (nd->kind != POOL_LT_LAYER || nd->lun < 0) {
            pool_error(POOL_ERR_LVM, "volume %s: LV %s below it is not a layer with a LUN", volume,
                       nd->lv->name);
            goto out;
        }
        /* a raw layer has no backing: only the innermost one may be raw */
        if (strcmp(nd->format, "raw") == 0 && i + 1 < k) {
            pool_error(POOL_ERR_LVM, "volume %s: raw layer %s has layers below it", volume,
                       nd->lv->name);
            goto out;
        }
        poolVolLayer *o = &l[i - 1];
        o->lun = nd->lun;
        memcpy(o->layer, nd->uuid, sizeof(o->layer));
        if (!(o->format = pool_strdup(nd->format)))
            goto out;
    }
    *out = l;
    *n = k ? k - 1 : 0;
    l = NULL;
    r = 0;
out:
    pool_vol_layers_free(l, k ? k - 1 : 0);
    free(chain);
    pool_layer_tree_free(&t);
    pool_snapshot_clear(&snap);
    return r;
}
