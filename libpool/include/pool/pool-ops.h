/*
 * pool-ops.h: pool and volume operations — what poold executes for each
 * request. A poolManager knows the pools of this host (definitions recorded
 * in <state_dir>/pools/NAME.xml) and drives LVM for them.
 *
 * Every operation that takes several LVM steps records its intent first (a
 * `pd_op:` tag on the LV or VG, or a journal file beside the pool record), so
 * that pool_manager_reconcile() can finish or undo it after a crash
 * (docs/design.md, "Crash safety", lists every step and its crash point):
 *
 *   operation       steps                                             after a crash
 *   volume create   lvcreate (all tags + pd_op:create) -> deltag      roll back (lvremove)
 *   volume resize   addtag pd_op:resize-N -> lvresize -> deltag       roll forward to N
 *   volume delete   addtag pd_op:delete -> lvremove                   roll forward
 *   pool create     journal "create" -> record NAME.xml -> pvcreate   roll back, unless
 *                   -> vgcreate (pd_op:create) -> ids, leases         every step was done
 *                   -> sanlock format (sanlock pools) -> deltag
 *                   -> journal removed
 *   pool destroy    journal "destroy" -> addtag pd_op:destroy         roll forward (once
 *                   -> lvremove all -> vgremove -> pvremove           the VG has the tag)
 *                   -> record and journal removed
 *
 * Ownership: returned defs belong to the caller (pool_*_def_free); arrays of
 * defs are freed with pool_pool_defs_free / pool_vol_defs_free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_OPS_H
#define POOL_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-config.h"
#include "pool-lease.h"
#include "pool-xml.h"

typedef struct poolManager poolManager;

#define POOL_DEFAULT_EXTENT_SIZE (4ull * 1024 * 1024)
#define POOL_DEFAULT_HOST_IDS    2000u
#define POOL_DEFAULT_LEASE_SLOTS 2000u
#define POOL_MAX_HOST_IDS        2000u
#define POOL_MAX_LEASE_SLOTS     65535u
#define POOL_LEASE_SLOT_SIZE     (1024ull * 1024)
#define POOL_FORMAT_VERSION      1u

typedef struct {
    uint64_t extent_size; /* 0 = default */
    unsigned host_ids;    /* 0 = default */
    unsigned lease_slots; /* 0 = default */
    bool force;           /* overwrite devices that hold data */
    int locking;          /* POOL_LOCKING_*; -1 = the config's default_locking */
    unsigned io_timeout;  /* sanlock pools: seconds, 0 = POOL_IO_TIMEOUT_DEFAULT */
    /* each PV's LVM metadata area in bytes; 0 = room for a volume in every
     * lease slot (pool_layout_mda_bytes, docs/design.md "Metadata area") */
    uint64_t mda_size;
} poolCreateOptions;

/* cfg is copied where needed; it must outlive the manager. Loads the pool
 * records from the state directory (creating it if missing). */
poolManager *pool_manager_new(const poolConfig *cfg);
void pool_manager_free(poolManager *mgr);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolManager, pool_manager_free)
/* Called about every 100 ms while a request waits for other hosts' targets
 * to drop a deleted volume's segment map (docs/design.md section 7, "Freed
 * extents"), so that the caller can keep its own change checks going
 * (poold: its refresh tick). NULL: nothing. */
void pool_manager_set_idle_hook(poolManager *mgr, void (*fn)(void *ctx), void *ctx);

/* Finish or undo operations a crash interrupted; logs every action. Returns
 * the number of repairs made, or -1 if some could not be made. */
int pool_manager_reconcile(poolManager *mgr);

poolPoolDef *pool_manager_pool_create(poolManager *mgr, const char *name, char *const *devices,
                                      const poolCreateOptions *opts);
int pool_manager_pool_destroy(poolManager *mgr, const char *name, bool force);
/* Adopt an existing poold VG (e.g. after the state directory was lost). */
poolPoolDef *pool_manager_pool_import(poolManager *mgr, const char *name, char *const *devices);
int pool_manager_pool_list(poolManager *mgr, poolPoolDef ***defs, size_t *n);
poolPoolDef *pool_manager_pool_info(poolManager *mgr, const char *name);
/* Is the pool known on this host (no error reported either way)? */
bool pool_manager_find_exists(poolManager *mgr, const char *name);

poolVolDef *pool_manager_vol_create(poolManager *mgr, const char *pool, const char *name,
                                    uint64_t capacity);
poolVolDef *pool_manager_vol_resize(poolManager *mgr, const char *pool, const char *name,
                                    uint64_t capacity, bool allow_shrink, bool force);
int pool_manager_vol_delete(poolManager *mgr, const char *pool, const char *name);
int pool_manager_vol_list(poolManager *mgr, const char *pool, poolVolDef ***defs, size_t *n);
poolVolDef *pool_manager_vol_info(poolManager *mgr, const char *pool, const char *name);
/* What the pool's iSCSI target serves: its volumes and, flagged `layer`,
 * its snapshot and template layers (read-only LUNs, named by their LV). */
int pool_manager_lun_list(poolManager *mgr, const char *pool, poolVolDef ***defs, size_t *n);

/* The layers below a volume's top (volume_chain.c): its parent first, the
 * base last; none (*n = 0) for a volume without layers. Every layer is a
 * read-only LUN of the pool's target; only the last may be raw. Missing
 * volume: POOL_ERR_NO_VOLUME. Free with pool_vol_layers_free. */
typedef struct {
    char *format;   /* "raw" or "qcow2" */
    int lun;        /* its read-only LUN */
    char layer[37]; /* its layer uuid */
} poolVolLayer;
int pool_manager_vol_chain(poolManager *mgr, const char *pool, const char *volume,
                           poolVolLayer **out, size_t *n);
void pool_vol_layers_free(poolVolLayer *l, size_t n);

/* Snapshots (snapshot_ops.c; docs/design.md section 4 choice 8): offline
 * operations on a volume nobody writes (its lease is held by poold for the
 * operation, refused when another process holds it). create freezes the
 * volume's current top as read-only snapshot layer `name` and puts a new,
 * empty qcow2 top over it; revert puts a new empty qcow2 top over the
 * snapshot's layer and removes the old top (its data since the snapshot
 * is gone); delete removes a snapshot nothing is backed by (with
 * dependants: POOL_ERR_UNSUPPORTED, see pool_manager_snapshot_delete_merge). Missing
 * volume or snapshot: POOL_ERR_NO_VOLUME; duplicate name: POOL_ERR_EXISTS. */
typedef struct {
    char *name;          /* snapshot name */
    char layer[37];      /* its layer uuid */
    char *lv;            /* its LV (pdl-<uuid hex>) */
    char *format;        /* raw or qcow2 */
    int64_t created;     /* unix seconds */
    uint64_t capacity;   /* virtual size */
    uint64_t allocation; /* LV size */
    int lun;             /* its read-only LUN */
    char *parent;        /* the snapshot (or template) below it; NULL: none */
    unsigned depth;      /* in the tree of the volume's snapshots, 0 = root */
    bool current;        /* the volume's top sits on it */
    size_t nchildren;    /* LVs backed by it */
    char *state;         /* "ready" or an operation in progress */
} poolSnapInfo;
int pool_manager_snapshot_create(poolManager *mgr, const char *pool, const char *volume,
                                 const char *name);
int pool_manager_snapshot_revert(poolManager *mgr, const char *pool, const char *volume,
                                 const char *name);
int pool_manager_snapshot_delete(poolManager *mgr, const char *pool, const char *volume,
                                 const char *name);
/* Delete a snapshot whose layer L backs other LVs (its children: the
 * volume's top, later snapshots of the same volume) by merging L's data
 * into each child (docs/design.md section 6, "Snapshot delete with
 * merging"): L is tagged pd_op:merge first; then for each child C, C's LV
 * is grown by L's LV size (at most to a fully allocated image), and
 * rebase(ctx, C, chain, n) is called with C (to be written) and C's backing
 * chain chain[0] = L, chain[1] = L's parent, ... the base (read only): it
 * must make C's image stand on chain[1..n-1] (nothing if n == 1) with C's
 * view unchanged (a safe qemu-img rebase); then C's pd_parent is moved to
 * L's parent in one lvchange. Last L is wiped and removed. Without
 * children it is pool_manager_snapshot_delete. Refused, nothing changed,
 * when a child belongs to another volume (a linked clone) or is not a
 * finished layer or top. A layer already tagged pd_op:merge (an
 * interrupted merge) is finished the same way. */
typedef int (*poolMergeRebaseFn)(void *ctx, const poolVolDef *child, const poolVolDef *const *chain,
                                 size_t n);
int pool_manager_snapshot_delete_merge(poolManager *mgr, const char *pool, const char *volume,
                                       const char *name, poolMergeRebaseFn rebase, void *ctx);
/* Finish every merge a crash interrupted (layers tagged pd_op:merge) in
 * the pools without locking; sanlock pools finish theirs at the next
 * snapshot delete of that snapshot. Returns how many, or -1 (logged). */
int pool_manager_snapshot_merge_resume(poolManager *mgr, poolMergeRebaseFn rebase, void *ctx);
/* The volume's snapshots in tree order (each after its parent). */
int pool_manager_snapshot_list(poolManager *mgr, const char *pool, const char *volume,
                               poolSnapInfo **out, size_t *n);
void pool_snap_infos_free(poolSnapInfo *s, size_t n);

/* Export state (volume_lun_access.c): whether a volume is offered as a LUN of
 * its pool's iSCSI target, and in which write mode. Stored as the LV tag
 * pd_export:off (not a LUN), pd_export:ro or pd_export:shared; no tag =
 * exported rw (the default). export_set changes the tag only when the state
 * differs. unexported lists the names of the pool's volumes tagged off
 * (NULL-terminated, never NULL on success; free with pool_strv_free). */
int pool_manager_vol_export_get(poolManager *mgr, const char *pool, const char *name,
                                bool *exported);
int pool_manager_vol_export_set(poolManager *mgr, const char *pool, const char *name, bool exported,
                                int mode);
int pool_manager_vol_unexported(poolManager *mgr, const char *pool, char ***names);

/* ---- cluster coordination (cluster.c; docs/design.md choices 2-4) -----
 *
 * Only for pools with <locking type="sanlock">. A host joins a pool's
 * lockspace with a host id (recorded in the VG as pd_host:<id>:<host name>
 * and in this host's pool record, so poold rejoins at start); every VG
 * change then happens under the pool-metadata lease; volume leases are
 * taken by operators (lease acquire) or by the VMs' lock manager. */

/* Join with host_id; waits at most wait_seconds for sanlock (joining takes
 * a few io_timeouts). POOL_ERR_EXISTS when the id is another host's or this
 * host joined with another id; POOL_ERR_TIMEOUT when still joining. */
int pool_manager_host_join(poolManager *mgr, const char *pool, unsigned host_id,
                           unsigned wait_seconds);
/* Leave the lockspace (refused while this host holds leases in it). */
int pool_manager_host_leave(poolManager *mgr, const char *pool, unsigned wait_seconds);

typedef struct {
    unsigned host_id;
    char *name;         /* from the VG's pd_host tag; NULL if none */
    poolLeaseHost seen; /* sanlock's view (state UNKNOWN when not joined) */
    bool this_host;
} poolHostInfo;

typedef struct {
    poolHostInfo *hosts;
    size_t n;
    poolLeaseTimeouts timeouts;
    unsigned this_host_id; /* 0 = not joined */
    bool joined;           /* sanlock says this host is in the lockspace */
} poolHostList;

void pool_host_list_clear(poolHostList *l);
int pool_manager_host_list(poolManager *mgr, const char *pool, poolHostList *out);
/* Rejoin every sanlock pool this host had joined (poold start): asks
 * sanlock and returns at once; the join completes in the background. */
void pool_manager_rejoin_all(poolManager *mgr);

/* Has the pool's VG changed (any host) since the previous call? Cheap: one
 * O_DIRECT read of the first PV's metadata header (lvm_mda.h); falls back
 * to the VG seqno (one vgs) when that header cannot be read. The first
 * call for a pool reports a change. */
int pool_manager_pool_changed(poolManager *mgr, const char *pool, bool *changed);
/* Names of this host's pools, NULL-terminated (free with pool_strv_free). */
char **pool_manager_pool_names(poolManager *mgr);

/* Volume leases, held by this process (released if poold exits). */
/* vol: from pool_manager_vol_info (its uuid and lease address). */
int pool_manager_lease_acquire(poolManager *mgr, const poolVolDef *vol, unsigned wait_seconds);
int pool_manager_lease_release(poolManager *mgr, const poolVolDef *vol);

typedef struct {
    bool held;
    unsigned owner; /* host id */
    char *owner_name;
    poolLeaseHostState owner_state;
    bool this_host;   /* the owner is this host */
    bool this_holder; /* held by this process */
    uint64_t lver;
} poolVolLease;
void pool_vol_lease_clear(poolVolLease *l);
int pool_manager_lease_status(poolManager *mgr, const poolVolDef *vol, poolVolLease *out);
/* Does this host hold the volume's lease: this poold (asks sanlock, no
 * disk read; *by_poold set, may be NULL) or another process of this host
 * in the host's current lockspace generation (a VM's QEMU through
 * libvirt's lock manager; reads the lease from disk)? For a pool without
 * locking: always true. */
int pool_manager_lease_held_here(poolManager *mgr, const poolVolDef *vol, bool *held,
                                 bool *by_poold);
/* A volume's lease, packed to be checked from another thread (the
 * target's, when a write meets a fenced LUN): "does this host, any
 * process, hold it now?" as pool_manager_lease_held_here's disk check.
 * NULL with POOL_ERR_INVALID_ARG for a pool without sanlock locking. */
typedef struct poolLeaseProbe poolLeaseProbe;
poolLeaseProbe *pool_manager_lease_probe(poolManager *mgr, const poolVolDef *vol);
int pool_lease_probe_held_here(poolLeaseProbe *p, bool *held);
void pool_lease_probe_free(poolLeaseProbe *p);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolLeaseProbe, pool_lease_probe_free)

/* The pool's sanlock lockspace name (caller frees); NULL with
 * POOL_ERR_INVALID_ARG for a pool without sanlock locking. */
char *pool_manager_pool_lockspace(poolManager *mgr, const char *pool);
/* sanlock's view of a host of the pool (UNKNOWN for a pool without
 * locking, or while this host has not watched long enough). */
int pool_manager_host_state(poolManager *mgr, const char *pool, unsigned host_id,
                            poolLeaseHostState *state);
/* The pool's locking and this host's id (0 = not joined). */
int pool_manager_pool_locking(poolManager *mgr, const char *pool, int *locking, unsigned *host_id);

void pool_pool_defs_free(poolPoolDef **defs, size_t n);
void pool_vol_defs_free(poolVolDef **defs, size_t n);

#endif
