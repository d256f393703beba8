/*
 * export.c: keeps the target inventory in step with the pools (export.h).
 * Runs on poold's main thread; the transport's threads only read the
 * inventory, through references.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "target/iscsi.h"
#include "target/lun_backing.h"
#include "target/target.h"

#define LU_BLOCK_SIZE 512
#define LU_MAX_XFER_BLOCKS                                                                         \
    65536 /* 32 MiB per command: what initiators and WRITE SAME tests expect */

typedef struct {
    char *pool;
    int lun;
    lunBacking *backing; /* owned by the LU (released with it) */
} exportEntry;

struct poolExport {
    tgtInventory *inv;
    iscsiPortal *portal;
    exportEntry *entries;
    size_t n;
};

static void iqn_of(const char *pool, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", TGT_IQN_PREFIX, pool);
}

static exportEntry *find_entry(poolExport *ex, const char *pool, int lun)
{
    for (size_t i = 0; i < ex->n; i++)
        if (ex->entries[i].lun == lun && strcmp(ex->entries[i].pool, pool) == 0)
            return &ex->entries[i];
    return NULL;
}

/* Identity derived from the volume uuid only, so every host and portal
 * reports the same serial and WWN for the same volume (multipath). */
static void lu_identity(const poolVolDef *vol, scsiLuConfig *c)
{
    uint8_t u[16] = {0};
    size_t k = 0;
    for (const char *p = vol->uuid; *p && k < 32; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else
            continue;
        c->serial[k] = *p;
        u[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
        k++;
    }
    c->serial[k] = '\0';
    /* NAA IEEE Registered Extended (6h) carrying the uuid's bits */
    memcpy(c->naa, u, 16);
    c->naa[0] = (uint8_t)(0x60 | (u[0] & 0x0f));
    memcpy(c->uuid, vol->uuid, sizeof(c->uuid));
}

int poold_export_vol_add(poolExport *ex, const poolVolDef *vol)
{
    char iqn[256];
    iqn_of(vol->pool, iqn, sizeof(iqn));
    if (vol->lun < 0) {
        pool_error(POOL_ERR_INTERNAL, "volume %s has no LUN id", vol->name);
        return -1;
    }
    if (find_entry(ex, vol->pool, vol->lun))
        return 0;
    if (vol->capacity == 0 || vol->capacity % LU_BLOCK_SIZE) {
        pool_error(POOL_ERR_DEVICE,
                   "volume %s: capacity %llu is not a whole number of %d-byte blocks", vol->name,
                   (unsigned long long)vol->capacity, LU_BLOCK_SIZE);
        return -1;
    }
    lunBacking *b = lun_backing_open(vol);
    if (!b) {
        pool_error_prefix("volume %s not exported", vol->name);
        return -1;
    }
    scsiLuConfig c = {0};
    lu_identity(vol, &c);
    snprintf(c.vendor, sizeof(c.vendor), "POOLD");
    snprintf(c.product, sizeof(c.product), "poold volume");
    snprintf(c.revision, sizeof(c.revision), "0001");
    c.block_size = LU_BLOCK_SIZE;
    c.nblocks = vol->capacity / LU_BLOCK_SIZE;
    c.write_cache = true; /* SYNCHRONIZE CACHE really flushes: lun_backing.c */
    c.max_xfer_blocks = LU_MAX_XFER_BLOCKS;
    c.ops = &lun_backing_ops;
    c.ctx = b;
    c.release = lun_backing_close;
    scsiLu *lu = scsi_lu_new(&c);
    if (!lu) {
        lun_backing_close(b);
        return -1;
    }
    if (pool_realloc_n(&ex->entries, ex->n + 1, sizeof(*ex->entries)) < 0 ||
        tgt_lun_add(ex->inv, iqn, (uint64_t)vol->lun, lu) < 0) {
        scsi_lu_unref(lu);
        return -1;
    }
    ex->entries[ex->n].pool = pool_strdup(vol->pool);
    ex->entries[ex->n].lun = vol->lun;
    ex->entries[ex->n].backing = b;
    ex->n++;
    log_vol(POOL_LOG_INFO, vol->pool, vol->name, "exported as LUN %d of %s", vol->lun, iqn);
    return 0;
}

void poold_export_vol_remove(poolExport *ex, const char *pool, int lun)
{
    exportEntry *e = find_entry(ex, pool, lun);
    if (!e)
        return;
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    tgt_lun_remove(ex->inv, iqn, (uint64_t)lun);
    free(e->pool);
    *e = ex->entries[--ex->n];
    log_pool(POOL_LOG_INFO, pool, "LUN %d unexported", lun);
}

int poold_export_vol_resize(poolExport *ex, const poolVolDef *vol)
{
    exportEntry *e = find_entry(ex, vol->pool, vol->lun);
    if (!e)
        return poold_export_vol_add(ex, vol);
    char iqn[256];
    iqn_of(vol->pool, iqn, sizeof(iqn));
    scsiLu *lu = tgt_lun_get(ex->inv, iqn, (uint64_t)vol->lun);
    if (!lu) {
        pool_error(POOL_ERR_INTERNAL, "LUN %d of %s vanished", vol->lun, iqn);
        return -1;
    }
    int r = lun_backing_update(e->backing, vol);
    if (r == 0)
        scsi_lu_set_capacity(lu, vol->capacity / LU_BLOCK_SIZE);
    tgt_lun_put(lu);
    if (r == 0)
        log_vol(POOL_LOG_INFO, vol->pool, vol->name, "LUN %d now %llu blocks", vol->lun,
                (unsigned long long)(vol->capacity / LU_BLOCK_SIZE));
    return r;
}

bool poold_export_vol_exported(poolExport *ex, const char *pool, int lun)
{
    return ex && find_entry(ex, pool, lun) != NULL;
}

int poold_export_pool_add(poolExport *ex, poolManager *mgr, const char *pool)
{
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    if (tgt_target_add(ex->inv, iqn, 1) < 0 && pool_error_last_code() != POOL_ERR_EXISTS)
        return -1;
    poolVolDef **vols = NULL;
    size_t n = 0;
    if (pool_manager_vol_list(mgr, pool, &vols, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (vols[i]->state && strcmp(vols[i]->state, "ready") != 0) {
            log_vol(POOL_LOG_ERROR, pool, vols[i]->name, "not exported: volume state is %s",
                    vols[i]->state);
            continue;
        }
        if (poold_export_vol_add(ex, vols[i]) < 0)
            log_vol(POOL_LOG_ERROR, pool, vols[i]->name, "%s", pool_error_last_message());
    }
    pool_vol_defs_free(vols, n);
    return 0;
}

void poold_export_pool_remove(poolExport *ex, const char *pool)
{
    for (size_t i = 0; i < ex->n;) {
        if (strcmp(ex->entries[i].pool, pool) == 0) {
            free(ex->entries[i].pool);
            ex->entries[i] = ex->entries[--ex->n];
            continue;
        }
        i++;
    }
    char iqn[256];
    iqn_of(pool, iqn, sizeof(iqn));
    tgt_target_remove(ex->inv, iqn); /* drops its LUs (in-flight commands keep refs) */
}

poolExport *poold_export_start(const poolConfig *cfg, poolManager *mgr)
{
    poolExport *ex = pool_calloc(1, sizeof(*ex));
    if (!ex || !(ex->inv = tgt_inventory_new())) {
        free(ex);
        return NULL;
    }
    poolPoolDef **pools = NULL;
    size_t n = 0;
    if (pool_manager_pool_list(mgr, &pools, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (poold_export_pool_add(ex, mgr, pools[i]->name) < 0)
                log_pool(POOL_LOG_ERROR, pools[i]->name, "not exported: %s",
                         pool_error_last_message());
        pool_pool_defs_free(pools, n);
    }
    if (cfg->iscsi_portal && cfg->iscsi_portal[0]) {
        char addr[64];
        uint16_t port;
        if (pool_parse_portal(cfg->iscsi_portal, addr, sizeof(addr), &port) < 0)
            goto fail;
        iscsiPortalConfig pc = {.address = addr, .port = port, .tpgt = 1, .inv = ex->inv};
        ex->portal = iscsi_portal_start(&pc);
        if (!ex->portal) {
            pool_error_prefix("cannot start the iSCSI portal on %s", cfg->iscsi_portal);
            goto fail;
        }
        log_info("iSCSI target listening on %s", cfg->iscsi_portal);
    }
    return ex;
fail:
    poold_export_stop(ex, 0);
    return NULL;
}

void poold_export_stop(poolExport *ex, int grace_ms)
{
    if (!ex)
        return;
    if (ex->portal)
        iscsi_portal_stop(ex->portal, grace_ms);
    for (size_t i = 0; i < ex->n; i++)
        free(ex->entries[i].pool);
    free(ex->entries);
    tgt_inventory_free(ex->inv);
    free(ex);
}
