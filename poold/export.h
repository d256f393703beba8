/*
 * export.h: poold's side of the embedded iSCSI target — which volumes are
 * LUNs of which target, kept in step with every create, resize and delete.
 * One target per pool (TGT_IQN_PREFIX + pool name); LUN = the volume's
 * pd_lun tag, so a volume has the same LUN on every host and after restarts.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_EXPORT_H
#define POOLD_EXPORT_H

#include "pool-ops.h"
#include "pool-xml.h"

typedef struct poolExport poolExport;

/* Build the inventory from every pool and volume poold knows, then start
 * the portal (cfg->iscsi_portal; "" = inventory only, no listener). A
 * volume that cannot be opened is not exported; its error is logged. */
poolExport *poold_export_start(const poolConfig *cfg, poolManager *mgr);
/* Ask initiators to log out, wait up to grace_ms, drop the rest. */
void poold_export_stop(poolExport *ex, int grace_ms);

int poold_export_pool_add(poolExport *ex, poolManager *mgr, const char *pool);
void poold_export_pool_remove(poolExport *ex, const char *pool);
/* Export a volume; -1 with an error naming the cause if its blocks cannot
 * be opened (it is then not exported). */
int poold_export_vol_add(poolExport *ex, const poolVolDef *vol);
void poold_export_vol_remove(poolExport *ex, const char *pool, int lun);
/* Volume grew: new map, new capacity, unit attention on every nexus. */
int poold_export_vol_resize(poolExport *ex, const poolVolDef *vol);
/* Is this LUN exported (for volume info)? */
bool poold_export_vol_exported(poolExport *ex, const char *pool, int lun);

#endif
