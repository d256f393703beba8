/*
 * pool_ops.c: pool-level operations (create, destroy, import, list, info).
 * The poolManager itself is manager.c, volume operations volume_ops.c,
 * crash repair reconcile.c; the step order and what a crash at each step
 * means is described in pool-ops.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer_tree.h"
#include "layout.h"
#include "cluster.h"
#include "manager.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool_store.h"
#include "reconcile.h"
#include "testhook.h"

#define MIB (1024ull * 1024)

/* lvm puts the first extent after the label and the metadata area,
 * aligned to 1 MiB: the estimate of usable space below allows the area
 * plus 1 MiB. */
#define PV_OVERHEAD(mda) ((mda) + MIB)

POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolLvm, pool_lvm_free)

/* ---- device checks ---------------------------------------------------- */

static bool device_in_managed_pool(poolManager *mgr, const char *dev, const char **pool)
{
    for (size_t i = 0; i < mgr->npools; i++)
        for (char **d = mgr->pools[i]->def->devices; *d; d++)
            if (strcmp(*d, dev) == 0) {
                *pool = mgr->pools[i]->def->name;
                return true;
            }
    return false;
}

/* Refuse devices that are missing, not block devices, in use (mounted,
 * claimed: O_EXCL fails with EBUSY) or that hold a recognisable signature
 * (file system, partition table, LVM PV, ...) unless force. */
static int check_device(const char *dev, bool force, uint64_t *size)
{
    struct stat st;
    if (dev[0] != '/') {
        pool_error(POOL_ERR_INVALID_ARG, "device '%s' must be an absolute path", dev);
        return -1;
    }
    if (stat(dev, &st) < 0) {
        pool_error(POOL_ERR_DEVICE, "device %s: %s", dev, strerror(errno));
        return -1;
    }
    if (!S_ISBLK(st.st_mode)) {
        pool_error(POOL_ERR_DEVICE, "device %s is not a block device", dev);
        return -1;
    }
    int fd = open(dev, O_RDONLY | O_EXCL | O_CLOEXEC);
    if (fd < 0) {
        pool_error(POOL_ERR_DEVICE, "device %s cannot be opened exclusively: %s", dev,
                   errno == EBUSY ? "it is in use (mounted or claimed by another user)"
                                  : strerror(errno));
        return -1;
    }
    if (ioctl(fd, BLKGETSIZE64, size) < 0) {
        pool_error_errno(errno, "cannot read the size of %s", dev);
        close(fd);
        return -1;
    }
    close(fd);
    if (force)
        return 0;

    blkid_probe pr = blkid_new_probe_from_filename(dev);
    if (!pr) {
        pool_error(POOL_ERR_DEVICE, "cannot probe %s for existing data", dev);
        return -1;
    }
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(pr, 1);
    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
    int r = blkid_do_safeprobe(pr);
    const char *type = NULL;
    char what[64] = "data";
    if (r == 0) {
        if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 ||
            blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0)
            snprintf(what, sizeof(what), "data (%s signature)", type);
    }
    blkid_free_probe(pr);
    if (r == 0 || r == -2) {
        pool_error(POOL_ERR_DEVICE,
                   "device %s holds %s; refusing to overwrite it (use --force to wipe it)", dev,
                   r == -2 ? "several conflicting signatures" : what);
        return -1;
    }
    if (r < 0) {
        pool_error(POOL_ERR_DEVICE, "cannot probe %s for existing data", dev);
        return -1;
    }
    return 0;
}

static int validate_create_options(const poolManager *mgr, const poolCreateOptions *in,
                                   poolCreateOptions *out)
{
    *out = *in;
    if (out->locking < 0)
        out->locking = mgr->cfg->default_locking;
    if (out->locking != POOL_LOCKING_NONE && out->locking != POOL_LOCKING_SANLOCK) {
        pool_error(POOL_ERR_INVALID_ARG, "unknown locking %d", out->locking);
        return -1;
    }
    if (out->locking == POOL_LOCKING_NONE && out->io_timeout) {
        pool_error(POOL_ERR_INVALID_ARG, "io-timeout applies only to pools with sanlock locking");
        return -1;
    }
    if (out->locking == POOL_LOCKING_SANLOCK && !out->io_timeout)
        out->io_timeout = POOL_IO_TIMEOUT_DEFAULT;
    if (out->locking == POOL_LOCKING_SANLOCK &&
        (out->io_timeout < POOL_IO_TIMEOUT_MIN || out->io_timeout > POOL_IO_TIMEOUT_MAX)) {
        pool_error(POOL_ERR_INVALID_ARG, "io-timeout %u s out of range %d..%d", out->io_timeout,
                   POOL_IO_TIMEOUT_MIN, POOL_IO_TIMEOUT_MAX);
        return -1;
    }
    if (!out->extent_size)
        out->extent_size = POOL_DEFAULT_EXTENT_SIZE;
    if (!out->host_ids)
        out->host_ids = POOL_DEFAULT_HOST_IDS;
    if (!out->lease_slots)
        out->lease_slots = POOL_DEFAULT_LEASE_SLOTS;
    if (out->extent_size % MIB || out->extent_size > 1024 * MIB) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "extent size %" PRIu64 " must be a multiple of 1 MiB, at most 1 GiB",
                   out->extent_size);
        return -1;
    }
    if (out->extent_size & (out->extent_size - 1)) {
        pool_error(POOL_ERR_INVALID_ARG, "extent size %" PRIu64 " must be a power of two",
                   out->extent_size);
        return -1;
    }
    if (out->host_ids > POOL_MAX_HOST_IDS) {
        pool_error(POOL_ERR_INVALID_ARG, "host ids %u out of range 1..%u", out->host_ids,
                   POOL_MAX_HOST_IDS);
        return -1;
    }
    if (out->lease_slots > POOL_MAX_LEASE_SLOTS) {
        pool_error(POOL_ERR_INVALID_ARG, "lease slots %u out of range 1..%u", out->lease_slots,
                   POOL_MAX_LEASE_SLOTS);
        return -1;
    }
    /* Default: room for a volume in every lease slot (docs/design.md,
     * "Metadata area"). A smaller area is the operator's choice: volume
     * create then refuses once it is full, whatever slots are left. */
    if (!out->mda_size)
        out->mda_size = pool_layout_mda_bytes(out->host_ids, out->lease_slots);
    if (out->mda_size < POOL_MDA_MIN_BYTES || out->mda_size > POOL_MDA_MAX_BYTES) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata size %" PRIu64 " out of range 64K..1G (default for %u lease slots "
                   "and %u host ids: %" PRIu64 ")",
                   out->mda_size, out->lease_slots, out->host_ids,
                   pool_layout_mda_bytes(out->host_ids, out->lease_slots));
        return -1;
    }
    /* an area under 1 MiB is made with a 64 KiB data alignment
     * (pool_lvm_pvcreate_mda), which puts the extents, and so the ids and
     * leases LVs, off sanlock's 1 MiB lease alignment */
    if (out->locking == POOL_LOCKING_SANLOCK && out->mda_size < 1024 * 1024) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata size %" PRIu64 " is below 1M, which pools with sanlock locking "
                   "cannot use (their leases need 1 MiB alignment)",
                   out->mda_size);
        return -1;
    }
    return 0;
}

/* ---- create ------------------------------------------------------------ */

int pool_create_rollback(poolManager *mgr, poolEntry *e)
{
    poolPoolDef *def = e->def;
    int ret = 0;
    log_pool(POOL_LOG_INFO, def->name, "rolling back an unfinished create");
    /* With a device missing, "VG not found" proves nothing: a half-made VG
     * may sit on the devices we cannot see. Keep the journal and retry. */
    for (char **d = def->devices; *d; d++) {
        struct stat st;
        if (stat(*d, &st) < 0) {
            pool_error(POOL_ERR_DEVICE, "device %s is missing; cannot roll back safely yet", *d);
            log_pool(POOL_LOG_ERROR, def->name, "%s; will retry at next start",
                     pool_error_last_message());
            return -1;
        }
    }
    poolLvmVG *vg = NULL;
    if (pool_lvm_report_vg(e->lvm, def->name, &vg) == 0) {
        const char *uuid = pool_lvm_tag_get(vg->tags, POOL_TAG_UUID);
        if (uuid && strcmp(uuid, def->uuid) == 0) {
            poolLvmLV *lvs = NULL;
            size_t n = 0;
            if (pool_lvm_report_lvs(e->lvm, def->name, &lvs, &n) == 0) {
                for (size_t i = 0; i < n; i++)
                    if (pool_lvm_lvremove(e->lvm, def->name, lvs[i].name) < 0)
                        ret = -1;
                pool_lvm_lvs_free(lvs, n);
            } else {
                ret = -1;
            }
            if (ret == 0 && pool_lvm_vgremove(e->lvm, def->name) < 0)
                ret = -1;
        } else {
            log_pool(POOL_LOG_WARN, def->name,
                     "a volume group of that name exists but is not this pool's; leaving it");
        }
        pool_lvm_vgs_free(vg, 1);
    } else if (pool_error_last_code() != POOL_ERR_NO_POOL) {
        ret = -1;
    }
    if (ret == 0) {
        /* PVs this create made and that belong to no VG */
        poolLvmPV *pvs = NULL;
        size_t npvs = 0;
        if (pool_lvm_report_pvs(e->lvm, &pvs, &npvs) == 0) {
            POOL_AUTOSTRV orphans = pool_calloc(1, sizeof(char *));
            for (size_t i = 0; orphans && i < npvs; i++)
                if (!pvs[i].vg_name || !pvs[i].vg_name[0])
                    pool_strv_add(&orphans, pvs[i].name);
            if (orphans && orphans[0] && pool_lvm_pvremove(e->lvm, orphans) < 0)
                ret = -1;
            pool_lvm_pvs_free(pvs, npvs);
        } else {
            ret = -1;
        }
    }
    if (ret < 0) {
        log_pool(POOL_LOG_ERROR, def->name, "rollback incomplete: %s; will retry at next start",
                 pool_error_last_message());
        return -1;
    }
    if (pool_store_remove(mgr->pools_dir, def->name) < 0 ||
        pool_store_journal_clear(mgr->pools_dir, def->name) < 0)
        return -1;
    log_pool(POOL_LOG_INFO, def->name, "create rolled back; devices released");
    pool_manager_drop_entry(mgr, e);
    return 0;
}

static char **vg_identity_tags(const poolPoolDef *def, bool in_progress)
{
    POOL_AUTOSTRV tags = pool_calloc(1, sizeof(char *));
    if (!tags)
        return NULL;
    bool sl = def->locking == POOL_LOCKING_SANLOCK;
    char *t[7] = {
        pool_layout_tag(POOL_TAG_POOL, "%u", def->format_version),
        pool_layout_tag(POOL_TAG_UUID, "%s", def->uuid),
        pool_layout_tag(POOL_TAG_HOSTIDS, "%u", def->host_ids),
        pool_layout_tag(POOL_TAG_SLOTS, "%u", def->lease_slots),
        in_progress ? pool_layout_tag(POOL_TAG_OP, "create") : NULL,
        sl ? pool_layout_tag(POOL_TAG_LOCK, "sanlock") : NULL,
        sl ? pool_layout_tag(POOL_TAG_IOTO, "%u", def->io_timeout) : NULL,
    };
    int ok = 1;
    for (size_t i = 0; i < 7; i++) {
        if (t[i] && pool_strv_add(&tags, t[i]) < 0)
            ok = 0;
        if ((i < 4 || (sl && i >= 5)) && !t[i])
            ok = 0;
        free(t[i]);
    }
    return ok ? pool_steal_ptr(&tags) : NULL;
}

static int create_special_lv(poolEntry *e, const char *name, uint64_t bytes)
{
    POOL_AUTOFREE(char *) tag = pool_layout_tag(POOL_TAG_SPECIAL, "%s", name);
    char *tags[] = {tag, NULL};
    if (!tag)
        return -1;
    return pool_lvm_lvcreate(e->lvm, e->def->name, name,
                             pool_layout_extents_for(bytes, e->def->extent_size), tags);
}

poolPoolDef *pool_manager_pool_create(poolManager *mgr, const char *name, char *const *devices,
                                      const poolCreateOptions *in_opts)
{
    poolCreateOptions opts;
    poolCreateOptions dflt = {.locking = -1};
    if (pool_name_validate(POOL_NAME_POOL, name) < 0)
        return NULL;
    if (validate_create_options(mgr, in_opts ? in_opts : &dflt, &opts) < 0)
        return NULL;
    for (size_t i = 0; i < mgr->npools; i++)
        if (strcmp(mgr->pools[i]->def->name, name) == 0) {
            pool_error(POOL_ERR_EXISTS, "pool '%s' already exists", name);
            return NULL;
        }
    size_t ndev = pool_strv_length(devices);
    if (ndev == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "a pool needs at least one device");
        return NULL;
    }
    uint64_t usable = 0;
    for (size_t i = 0; i < ndev; i++) {
        const char *other;
        for (size_t j = 0; j < i; j++)
            if (strcmp(devices[i], devices[j]) == 0) {
                pool_error(POOL_ERR_INVALID_ARG, "device %s is listed twice", devices[i]);
                return NULL;
            }
        if (device_in_managed_pool(mgr, devices[i], &other)) {
            pool_error(POOL_ERR_DEVICE, "device %s already belongs to pool %s", devices[i], other);
            return NULL;
        }
        uint64_t size;
        if (check_device(devices[i], opts.force, &size) < 0)
            return NULL;
        if (size < PV_OVERHEAD(opts.mda_size) + opts.extent_size) {
            char b[32];
            pool_error(POOL_ERR_DEVICE, "device %s is too small (%s) to hold even one extent",
                       devices[i], pool_format_size(size, b, sizeof(b)));
            return NULL;
        }
        usable += (size - PV_OVERHEAD(opts.mda_size)) / opts.extent_size;
    }
    uint64_t need =
        pool_layout_extents_for(pool_layout_ids_bytes(opts.host_ids), opts.extent_size) +
        pool_layout_extents_for(pool_layout_leases_bytes(opts.lease_slots), opts.extent_size) + 1;
    if (usable < need) {
        char b1[32], b2[32];
        pool_error(POOL_ERR_DEVICE,
                   "devices too small: the pool's lockspace and %u lease slots need %s plus room "
                   "for volumes, the devices give %s",
                   opts.lease_slots, pool_format_size((need - 1) * opts.extent_size, b1, 32),
                   pool_format_size(usable * opts.extent_size, b2, 32));
        return NULL;
    }

    /* the record */
    POOL_AUTOPTR(poolPoolDef) def = pool_calloc(1, sizeof(*def));
    if (!def || !(def->name = pool_strdup(name)) || !(def->devices = pool_strv_copy(devices)) ||
        pool_uuid_generate(def->uuid) < 0)
        return NULL;
    def->format_version = POOL_FORMAT_VERSION;
    def->extent_size = opts.extent_size;
    def->host_ids = opts.host_ids;
    def->lease_slots = opts.lease_slots;
    def->locking = opts.locking;
    def->io_timeout = opts.locking == POOL_LOCKING_SANLOCK ? opts.io_timeout : 0;

    POOL_AUTOSTRV tags = vg_identity_tags(def, true);
    if (!tags)
        return NULL;
    poolEntry *e = pool_entry_new(mgr, def);
    if (!e)
        return NULL;
    poolPoolDef *defp = pool_steal_ptr(&def);
    if (pool_manager_add_entry(mgr, e) < 0) {
        pool_entry_free(e);
        return NULL;
    }

    /* If the VG name is already used on these devices, lvm would say so, but
     * only after pvcreate: ask first so nothing is touched. */
    poolLvmVG *existing = NULL;
    if (pool_lvm_report_vg(e->lvm, name, &existing) == 0) {
        pool_lvm_vgs_free(existing, 1);
        pool_error(POOL_ERR_EXISTS, "a volume group named %s already exists", name);
        pool_manager_drop_entry(mgr, e);
        return NULL;
    }
    pool_error_reset();

    log_pool(POOL_LOG_INFO, name, "creating on %zu device(s), uuid %s, metadata area %" PRIu64,
             ndev, defp->uuid, opts.mda_size);
    if (pool_store_journal_set(mgr->pools_dir, name, "create") < 0) {
        pool_manager_drop_entry(mgr, e);
        return NULL;
    }
    if (pool_store_save(mgr->pools_dir, defp) < 0)
        goto rollback;
    pool_testhook("pool-create:after-record");
    if (pool_lvm_pvcreate_mda(e->lvm, devices, opts.force, opts.mda_size) < 0)
        goto rollback;
    pool_testhook("pool-create:after-pvcreate");
    if (pool_lvm_vgcreate(e->lvm, name, devices, opts.extent_size, tags) < 0)
        goto rollback;
    pool_testhook("pool-create:after-vgcreate");
    if (create_special_lv(e, POOL_LV_IDS, pool_layout_ids_bytes(opts.host_ids)) < 0 ||
        create_special_lv(e, POOL_LV_LEASES, pool_layout_leases_bytes(opts.lease_slots)) < 0)
        goto rollback;
    pool_testhook("pool-create:after-special-lvs");
    if (pool_cluster_format_pool(mgr, e) < 0)
        goto rollback;
    {
        POOL_AUTOFREE(char *) op = pool_layout_tag(POOL_TAG_OP, "create");
        char *del[] = {op, NULL};
        if (!op || pool_lvm_vg_change_tags(e->lvm, name, NULL, del) < 0)
            goto rollback;
    }
    pool_testhook("pool-create:after-commit");
    if (pool_store_journal_clear(mgr->pools_dir, name) < 0)
        return NULL; /* the pool exists; reconcile clears the journal */
    log_pool(POOL_LOG_INFO, name, "created");
    return pool_manager_pool_info(mgr, name);

rollback : {
    poolError *err = pool_error_save();
    pool_create_rollback(mgr, e);
    pool_error_restore(err);
    return NULL;
}
}

/* ---- destroy ----------------------------------------------------------- */

int pool_destroy_finish(poolManager *mgr, poolEntry *e)
{
    const char *name = e->def->name;
    poolLvmVG *vg = NULL;
    if (pool_lvm_report_vg(e->lvm, name, &vg) == 0) {
        const char *uuid = pool_lvm_tag_get(vg->tags, POOL_TAG_UUID);
        bool ours = uuid && strcmp(uuid, e->def->uuid) == 0;
        pool_lvm_vgs_free(vg, 1);
        if (!ours) {
            pool_error(POOL_ERR_LVM, "volume group %s is not pool %s; not destroying it", name,
                       name);
            return -1;
        }
        poolLvmLV *lvs = NULL;
        size_t n = 0;
        if (pool_lvm_report_lvs(e->lvm, name, &lvs, &n) < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (pool_lvm_lvremove(e->lvm, name, lvs[i].name) < 0) {
                pool_lvm_lvs_free(lvs, n);
                return -1;
            }
            log_vol(POOL_LOG_INFO, name, lvs[i].name, "removed");
        }
        pool_lvm_lvs_free(lvs, n);
        pool_testhook("pool-destroy:after-lvremove");
        if (pool_lvm_vgremove(e->lvm, name) < 0)
            return -1;
    } else if (pool_error_last_code() != POOL_ERR_NO_POOL) {
        return -1;
    }
    pool_testhook("pool-destroy:after-vgremove");
    poolLvmPV *pvs = NULL;
    size_t npvs = 0;
    if (pool_lvm_report_pvs(e->lvm, &pvs, &npvs) < 0)
        return -1;
    POOL_AUTOSTRV orphans = pool_calloc(1, sizeof(char *));
    for (size_t i = 0; orphans && i < npvs; i++)
        if (!pvs[i].vg_name || !pvs[i].vg_name[0])
            pool_strv_add(&orphans, pvs[i].name);
    pool_lvm_pvs_free(pvs, npvs);
    if (!orphans)
        return -1;
    if (orphans[0] && pool_lvm_pvremove(e->lvm, orphans) < 0)
        return -1;
    if (pool_store_remove(mgr->pools_dir, name) < 0 ||
        pool_store_journal_clear(mgr->pools_dir, name) < 0)
        return -1;
    log_pool(POOL_LOG_INFO, name, "destroyed");
    pool_manager_drop_entry(mgr, e);
    return 0;
}

/* A sanlock pool is destroyed only when no other host is still a member
 * (pd_host tags of other hosts: their VMs may be using its volumes; --force
 * overrides that) and no live host holds a volume's lease (never
 * overridden). */
static int destroy_check_members(poolManager *mgr, poolEntry *e, bool force)
{
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return -1;
    POOL_AUTOFREE(char *) others = NULL;
    size_t prefix = strlen(POOL_TAG_HOST) + 1;
    for (char **t = snap.vg->tags; *t; t++) {
        if (strncmp(*t, POOL_TAG_HOST ":", prefix) != 0)
            continue;
        unsigned long id = strtoul(*t + prefix, NULL, 10);
        if (id == e->def->host_id)
            continue;
        char *more = pool_asprintf("%s%s%s", others ? others : "", others ? ", " : "", *t + prefix);
        free(others);
        if (!(others = more)) {
            pool_snapshot_clear(&snap);
            return -1;
        }
    }
    pool_snapshot_clear(&snap);
    if (others && !force) {
        pool_error(POOL_ERR_BUSY,
                   "pool %s is still joined by other hosts (%s); they must 'poolctl host leave' "
                   "first, or use --force",
                   e->def->name, others);
        return -1;
    }
    /* never, not even with --force, delete a volume a live host holds */
    poolVolDef **vols = NULL;
    size_t n = 0;
    if (pool_manager_vol_list(mgr, e->def->name, &vols, &n) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = pool_cluster_check_lease_free(mgr, e, vols[i]);
    pool_vol_defs_free(vols, n);
    if (r < 0)
        pool_error_prefix("pool %s not destroyed", e->def->name);
    return r;
}

int pool_manager_pool_destroy(poolManager *mgr, const char *name, bool force)
{
    poolEntry *e = pool_manager_find(mgr, name);
    if (!e)
        return -1;
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0) {
        if (pool_error_last_code() != POOL_ERR_NO_POOL)
            return -1;
        /* the VG is gone (another host destroyed the pool): only this
         * host's record is left to drop */
        if (!force) {
            pool_error_prefix("pool %s cannot be destroyed (use --force to forget this host's "
                              "record of a pool whose volume group is gone)",
                              name);
            return -1;
        }
        pool_error_reset();
        log_pool(POOL_LOG_WARN, name, "volume group is gone; forgetting the pool on this host");
        if (e->ls && e->def->host_id && pool_lockspace_leave(e->ls, 10) < 0)
            pool_error_reset();
        if (pool_store_remove(mgr->pools_dir, name) < 0 ||
            pool_store_journal_clear(mgr->pools_dir, name) < 0)
            return -1;
        pool_manager_drop_entry(mgr, e);
        return 0;
    }
    size_t nvol = 0;
    POOL_AUTOFREE(char *) foreign = NULL;
    for (size_t i = 0; i < snap.nlvs; i++) {
        /* snapshot layers and the LVs of snapshot operations (layer_tree.h)
         * are poold's too, and go with --force as the volumes do */
        if (pool_layout_lv_is_volume(&snap.lvs[i]) ||
            pool_lvm_tag_get(snap.lvs[i].tags, POOL_TAG_LAYER) ||
            pool_lvm_tag_get(snap.lvs[i].tags, POOL_TAG_OWNER)) {
            nvol++;
        } else if (!pool_layout_lv_is_special(&snap.lvs[i])) {
            /* an LV poold did not make: never delete it, even with --force */
            char *more = pool_asprintf("%s%s%s", foreign ? foreign : "", foreign ? ", " : "",
                                       snap.lvs[i].name);
            free(foreign);
            foreign = more;
            if (!foreign) {
                pool_snapshot_clear(&snap);
                return -1;
            }
        }
    }
    pool_snapshot_clear(&snap);
    if (foreign) {
        pool_error(POOL_ERR_BUSY,
                   "pool %s holds logical volumes poold does not manage (%s); remove or move "
                   "them with lvm first",
                   name, foreign);
        return -1;
    }
    if (nvol && !force) {
        pool_error(POOL_ERR_BUSY,
                   "pool %s still has %zu volume(s); delete them first or use --force", name, nvol);
        return -1;
    }
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    if (e->def->locking == POOL_LOCKING_SANLOCK && destroy_check_members(mgr, e, force) < 0) {
        pool_cluster_unlock(mgr, e);
        return -1;
    }
    if (pool_store_journal_set(mgr->pools_dir, name, "destroy") < 0) {
        pool_cluster_unlock(mgr, e);
        return -1;
    }
    POOL_AUTOFREE(char *) op = pool_layout_tag(POOL_TAG_OP, "destroy");
    char *add[] = {op, NULL};
    int r = op ? pool_lvm_vg_change_tags(e->lvm, name, add, NULL) : -1;
    pool_cluster_unlock(mgr, e);
    if (r < 0) {
        /* the destroy did not begin: drop the journal (should the tag
         * have been written after all, reconcile sees it, and a new
         * destroy finishes it) */
        poolError *err = pool_error_save();
        if (pool_store_journal_clear(mgr->pools_dir, name) < 0)
            pool_error_reset();
        pool_error_restore(err);
        return -1;
    }
    pool_testhook("pool-destroy:after-intent");
    /* Leave the lockspace before its `ids` LV goes: every other host is
     * gone (checked above) and pd_op:destroy keeps them from new changes. */
    if (e->def->locking == POOL_LOCKING_SANLOCK && e->ls && e->def->host_id &&
        pool_lockspace_leave(e->ls, 30) < 0) {
        log_pool(POOL_LOG_WARN, name, "cannot leave the lockspace: %s; destroying anyway",
                 pool_error_last_message());
        pool_error_reset();
    }
    log_pool(POOL_LOG_INFO, name, "destroying (%zu volume(s))", nvol);
    return pool_destroy_finish(mgr, e);
}

/* ---- import, info, list ------------------------------------------------ */

poolPoolDef *pool_manager_pool_import(poolManager *mgr, const char *name, char *const *devices)
{
    if (pool_name_validate(POOL_NAME_POOL, name) < 0)
        return NULL;
    for (size_t i = 0; i < mgr->npools; i++)
        if (strcmp(mgr->pools[i]->def->name, name) == 0) {
            pool_error(POOL_ERR_EXISTS, "pool '%s' is already known on this host", name);
            return NULL;
        }
    if (pool_strv_length(devices) == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "import needs the pool's devices");
        return NULL;
    }
    for (size_t i = 0; devices[i]; i++) {
        const char *other;
        if (device_in_managed_pool(mgr, devices[i], &other)) {
            pool_error(POOL_ERR_DEVICE, "device %s already belongs to pool %s", devices[i], other);
            return NULL;
        }
    }
    POOL_AUTOPTR(poolLvm) lvm = pool_manager_lvm_new(mgr, devices);
    if (!lvm)
        return NULL;
    poolLvmVG *vg = NULL;
    if (pool_lvm_report_vg(lvm, name, &vg) < 0) {
        if (pool_error_last_code() == POOL_ERR_NO_POOL)
            pool_error_prefix("cannot import pool %s: the given device(s) (%s%s) hold no volume "
                              "group of that name",
                              name, devices[0], devices[1] ? ", ..." : "");
        return NULL;
    }
    POOL_AUTOPTR(poolPoolDef) def = pool_calloc(1, sizeof(*def));
    uint64_t ver = 0, hostids = 0, slots = 0;
    const char *uuid = pool_lvm_tag_get(vg->tags, POOL_TAG_UUID);
    const char *v = pool_lvm_tag_get(vg->tags, POOL_TAG_POOL);
    const char *h = pool_lvm_tag_get(vg->tags, POOL_TAG_HOSTIDS);
    const char *s = pool_lvm_tag_get(vg->tags, POOL_TAG_SLOTS);
    int ok = def && uuid && pool_uuid_is_valid(uuid) && v && h && s &&
             pool_parse_uint(v, "format", 1, POOL_FORMAT_VERSION, &ver) == 0 &&
             pool_parse_uint(h, "host ids", 1, POOL_MAX_HOST_IDS, &hostids) == 0 &&
             pool_parse_uint(s, "lease slots", 1, POOL_MAX_LEASE_SLOTS, &slots) == 0;
    if (!ok) {
        pool_lvm_vgs_free(vg, 1);
        pool_error(POOL_ERR_DEVICE, "volume group %s is not a poold pool (identity tags missing)",
                   name);
        return NULL;
    }
    if (pool_lvm_tag_get(vg->tags, POOL_TAG_OP)) {
        pool_lvm_vgs_free(vg, 1);
        pool_error(POOL_ERR_BUSY, "pool %s has an operation in progress on another host", name);
        return NULL;
    }
    const char *lock = pool_lvm_tag_get(vg->tags, POOL_TAG_LOCK);
    const char *ioto = pool_lvm_tag_get(vg->tags, POOL_TAG_IOTO);
    uint64_t io_timeout = 0;
    if (lock && (pool_locking_parse(lock, &def->locking) < 0 || !ioto ||
                 pool_parse_uint(ioto, "io_timeout", POOL_IO_TIMEOUT_MIN, POOL_IO_TIMEOUT_MAX,
                                 &io_timeout) < 0)) {
        pool_lvm_vgs_free(vg, 1);
        pool_error(POOL_ERR_DEVICE, "volume group %s has unreadable locking tags", name);
        return NULL;
    }
    if (pool_layout_store_from_tags(vg->tags, &def->store_url, &def->store_timeout_ms) < 0) {
        pool_lvm_vgs_free(vg, 1);
        pool_error_prefix("cannot import pool %s", name);
        return NULL;
    }
    def->io_timeout = (unsigned)io_timeout;
    memcpy(def->uuid, uuid, 37);
    def->format_version = (unsigned)ver;
    def->host_ids = (unsigned)hostids;
    def->lease_slots = (unsigned)slots;
    def->extent_size = vg->extent_size;
    uint64_t pv_count = vg->pv_count;
    pool_lvm_vgs_free(vg, 1);
    poolLvmPV *pvs = NULL;
    size_t npvs = 0;
    if (pool_lvm_report_pvs(lvm, &pvs, &npvs) < 0)
        return NULL;
    def->devices = pool_calloc(1, sizeof(char *));
    for (size_t i = 0; def->devices && i < npvs; i++)
        if (pvs[i].vg_name && strcmp(pvs[i].vg_name, name) == 0)
            pool_strv_add(&def->devices, pvs[i].name);
    pool_lvm_pvs_free(pvs, npvs);
    for (size_t i = 0; def->devices && devices[i]; i++) {
        bool found = false;
        for (char **d = def->devices; *d; d++)
            if (strcmp(*d, devices[i]) == 0)
                found = true;
        if (!found) {
            pool_error(POOL_ERR_DEVICE, "device %s is not a PV of pool %s", devices[i], name);
            return NULL;
        }
    }
    if (!def->devices || !(def->name = pool_strdup(name)))
        return NULL;
    if (pool_strv_length(def->devices) != pv_count) {
        pool_error(POOL_ERR_DEVICE, "pool %s has %" PRIu64 " PVs but only %zu were given", name,
                   pv_count, pool_strv_length(def->devices));
        return NULL;
    }
    if (pool_store_save(mgr->pools_dir, def) < 0)
        return NULL;
    poolEntry *e = pool_entry_new(mgr, def);
    if (!e)
        return NULL;
    pool_steal_ptr(&def);
    if (pool_manager_add_entry(mgr, e) < 0) {
        pool_entry_free(e);
        return NULL;
    }
    log_pool(POOL_LOG_INFO, name, "imported");
    return pool_manager_pool_info(mgr, name);
}

/* A copy of an entry's record. Under e->mu: pool set-store swaps its store
 * URL while reads run (manager.h). */
static poolPoolDef *def_copy(poolEntry *e)
{
    pthread_mutex_lock(&e->mu);
    POOL_AUTOFREE(char *) xml = pool_pool_def_format(e->def);
    pthread_mutex_unlock(&e->mu);
    if (!xml)
        return NULL;
    return pool_pool_def_parse_string(xml, strlen(xml));
}

static int special_segments(const poolSnapshot *snap, const char *name, uint64_t extent_size,
                            poolSegment **segs, size_t *n)
{
    const poolLvmLV *lv = pool_snapshot_find_lv(snap, name);
    if (!lv) {
        pool_error(POOL_ERR_LVM, "the pool's %s logical volume is missing", name);
        return -1;
    }
    return pool_layout_segments(lv, snap->pvs, snap->npvs, extent_size, segs, n);
}

poolPoolDef *pool_manager_pool_info(poolManager *mgr, const char *name)
{
    poolEntry *e = pool_manager_find(mgr, name);
    if (!e)
        return NULL;
    POOL_AUTOPTR(poolPoolDef) def = def_copy(e);
    if (!def)
        return NULL;
    poolSnapshot snap;
    if (pool_snapshot_load(e, &snap) < 0)
        return NULL;
    def->has_status = true;
    def->capacity = snap.vg->size;
    def->available = snap.vg->free;
    def->allocation = snap.vg->size - snap.vg->free;
    def->seqno = snap.vg->seqno;
    def->metadata_size = snap.vg->mda_size;
    def->metadata_free = snap.vg->mda_free;
    /* the store is the VG's (any host may have changed it) */
    free(def->store_url);
    def->store_url = NULL;
    def->store_timeout_ms = 0;
    if (pool_layout_store_from_tags(snap.vg->tags, &def->store_url, &def->store_timeout_ms) < 0) {
        log_pool(POOL_LOG_WARN, name, "%s", pool_error_last_message());
        pool_error_reset();
    }
    for (size_t i = 0; i < snap.nlvs; i++)
        if (pool_layout_lv_is_volume(&snap.lvs[i]))
            def->volume_count++;
    int r = special_segments(&snap, POOL_LV_IDS, def->extent_size, &def->ids_segments,
                             &def->nids_segments);
    if (r == 0)
        r = special_segments(&snap, POOL_LV_LEASES, def->extent_size, &def->leases_segments,
                             &def->nleases_segments);
    pool_snapshot_clear(&snap);
    if (r < 0)
        return NULL;
    return pool_steal_ptr(&def);
}

int pool_manager_pool_list(poolManager *mgr, poolPoolDef ***defs, size_t *n)
{
    *defs = NULL;
    *n = 0;
    poolPoolDef **out = pool_calloc(mgr->npools + 1, sizeof(*out));
    if (!out)
        return -1;
    for (size_t i = 0; i < mgr->npools; i++) {
        out[i] = pool_manager_pool_info(mgr, mgr->pools[i]->def->name);
        if (!out[i]) {
            /* a pool whose VG cannot be read is still listed, without status */
            log_pool(POOL_LOG_WARN, mgr->pools[i]->def->name, "cannot read status: %s",
                     pool_error_last_message());
            out[i] = def_copy(mgr->pools[i]);
            if (!out[i]) {
                pool_pool_defs_free(out, i);
                return -1;
            }
        }
    }
    *defs = out;
    *n = mgr->npools;
    return 0;
}
