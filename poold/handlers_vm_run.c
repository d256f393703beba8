/*
 * handlers_vm_run.c: vm-start and vm-stop — run a pool's VM on this host
 * (docs/design.md choices 4 and 7).
 *
 * vm-start (pool, name), in this order, so that a crash or a refusal at
 * any step leaves nothing half-done:
 *   1. the record (pool_manager_vm_for_start): refused naming the owner
 *      while another host that is not known dead owns the VM;
 *   2. every disk's volume: exported by this host's target, not read-only,
 *      and (sanlock pools, rw volumes) its lease not held by another host
 *      (refused naming that host: the lock manager would only say "busy");
 *   3. the domain XML to run (pool_vm_domain_runtime: disks as iSCSI disks
 *      of the local target; a qcow2 top (a volume with snapshots or a
 *      linked clone) with its layers as <backingStore>, read-only LUNs of
 *      the same target, from the layer tree (pool_manager_vol_chain); one
 *      <lease> per rw volume of a sanlock pool, the top's only),
 *      started transient: libvirt's sanlock lock manager acquires the
 *      leases in QEMU's process before its vCPUs run (a lease held
 *      elsewhere fails the start). QEMU opens the LUNs while they are
 *      still fenced: a fence is not advertised as write protection, and
 *      the first write that meets it makes the target look at the lease on
 *      disk (target_sync.c), so the guest's first writes are taken;
 *   4. the LUNs are set from the leases now held (checked: a libvirtd
 *      without lock_manager = "sanlock" starts QEMU without them — refused,
 *      the domain destroyed);
 *   5. the record is written as owned by this host (compare-and-swap on the
 *      generation read in 1; written only once the leases are held).
 *   A failure after 3 destroys the domain (its leases go with QEMU) and
 *   fences the LUNs again. A crash between 3 and 5 leaves a running domain
 *   here, holding its leases, and an unowned record: another host's start
 *   is refused by the leases (naming this host), and `vm stop` here ends
 *   it.
 *
 * vm-stop (pool, name, force, shutdown): the VM's domain here is destroyed
 * (force) or asked to shut down (ACPI; shutdown=false: only look). While
 * it runs the reply says state="stopping" and poolctl asks again until it
 * has ended or its --wait passes. Once no domain runs here, the LUNs
 * are write-protected again (unless poold itself holds the lease) and the
 * record loses its owner. Stop is repeatable: a stop whose record update
 * failed (store unreachable) is finished by running it again.
 *
 * Results: <result type="vm" ... state="running|stopping|stopped"> (the
 * record, handlers_vm.c, plus the state here).
 *
 * QEMU's initiator name is this host's (poold_libvirt_initiator) plus
 * ":vm-" and the VM name, so each VM has its own iSCSI session name, apart
 * from libvirtd's pool scans and other VMs.
 *
 * CHAP: with CHAP on the pool's target, step 3 first sets the libvirt
 * secret of the target's CHAP secret (libvirt_secret.h) and the disks'
 * <source> name it (<auth username=...><secret type='iscsi' usage=.../>);
 * libvirt hands the value to QEMU when it starts. Mutual CHAP is refused
 * (QEMU's iSCSI driver does one-way CHAP only). QEMU keeps the
 * credentials it started with: a later CHAP change cuts a running VM off
 * its disks until it is started again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool-vm-domain.h"
#include "pool-vm.h"
#include "poold.h"
#include "iscsi/target.h"
#include "libvirt_secret.h"
#include "testhook.h"

typedef struct {
    poolVolDef **vols; /* one per record disk, same order */
    size_t n;
    poolVmDiskMap *map;
    /* per disk: the layers below a qcow2 top (pool_manager_vol_chain) and
     * the map's view of them */
    poolVolLayer **layers;
    size_t *nlayers;
    poolVmLayerRef **refs;
    char *iqn; /* the pool's target: every disk's */
    char *lockspace;
    int locking;
    unsigned host_id;
} vmDisks;

static void vm_disks_clear(vmDisks *v)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->layers)
            pool_vol_layers_free(v->layers[i], v->nlayers[i]);
        if (v->refs)
            free(v->refs[i]);
    }
    free(v->layers);
    free(v->nlayers);
    free(v->refs);
    pool_vol_defs_free(v->vols, v->n);
    free(v->iqn);
    free(v->map);
    free(v->lockspace);
    memset(v, 0, sizeof(*v));
}

static bool leased(const vmDisks *v, size_t i)
{
    return v->locking == POOL_LOCKING_SANLOCK && v->vols[i]->export_mode == POOL_VOL_MODE_RW;
}

/* Disk i is a qcow2 top: the layers below it, from the layer tree, each
 * a read-only LUN this host's target must serve (QEMU opens the whole
 * chain; only the top is written, under the volume's lease). */
static int load_chain(poolDaemon *d, const char *pool, const poolVmRecord *rec, vmDisks *v,
                      size_t i)
{
    const char *vn = rec->disks[i].name;
    if (pool_manager_vol_chain(d->mgr, pool, vn, &v->layers[i], &v->nlayers[i]) < 0) {
        pool_error_prefix("VM %s: disk volume %s", rec->name, vn);
        return -1;
    }
    if (v->nlayers[i] > POOL_VM_MAX_BACKING) {
        pool_error(POOL_ERR_UNSUPPORTED, "VM %s: volume %s sits on %zu layers (at most %d)",
                   rec->name, vn, v->nlayers[i], POOL_VM_MAX_BACKING);
        return -1;
    }
    if (!v->nlayers[i])
        return 0;
    if (!(v->refs[i] = pool_calloc(v->nlayers[i], sizeof(*v->refs[i]))))
        return -1;
    for (size_t j = 0; j < v->nlayers[i]; j++) {
        const poolVolLayer *l = &v->layers[i][j];
        if (l->lun < 0 || !poold_export_vol_exported(d->ex, pool, l->lun)) {
            pool_error(POOL_ERR_BUSY,
                       "VM %s: layer %s below volume %s is not served by this host's iSCSI "
                       "target yet (LUN %d); try again in a moment",
                       rec->name, l->layer, vn, l->lun);
            return -1;
        }
        v->refs[i][j] = (poolVmLayerRef){.format = l->format, .lun = (unsigned)l->lun};
    }
    return 0;
}

/* Steps 2: every disk's volume, checked; the map for the rewrite. */
static int load_disks(poolDaemon *d, const char *pool, const poolVmRecord *rec, vmDisks *v)
{
    memset(v, 0, sizeof(*v));
    if (pool_manager_pool_locking(d->mgr, pool, &v->locking, &v->host_id) < 0)
        return -1;
    if (v->locking == POOL_LOCKING_SANLOCK) {
        if (!v->host_id) {
            pool_error(POOL_ERR_PERMISSION,
                       "this host has not joined pool %s: poolctl host join %s --host-id N", pool,
                       pool);
            return -1;
        }
        if (!(v->lockspace = pool_manager_pool_lockspace(d->mgr, pool)))
            return -1;
    }
    v->vols = pool_calloc(rec->ndisks ? rec->ndisks : 1, sizeof(*v->vols));
    v->map = pool_calloc(rec->ndisks ? rec->ndisks : 1, sizeof(*v->map));
    v->layers = pool_calloc(rec->ndisks ? rec->ndisks : 1, sizeof(*v->layers));
    v->nlayers = pool_calloc(rec->ndisks ? rec->ndisks : 1, sizeof(*v->nlayers));
    v->refs = pool_calloc(rec->ndisks ? rec->ndisks : 1, sizeof(*v->refs));
    v->iqn = pool_asprintf("%s%s", TGT_IQN_PREFIX, pool);
    if (!v->vols || !v->map || !v->layers || !v->nlayers || !v->refs || !v->iqn)
        return -1;
    for (size_t i = 0; i < rec->ndisks; i++) {
        const char *vn = rec->disks[i].name;
        poolVolDef *vol = pool_manager_vol_info(d->mgr, pool, vn);
        if (!vol) {
            pool_error_prefix("VM %s: disk volume %s", rec->name, vn);
            return -1;
        }
        v->vols[v->n++] = vol;
        if (vol->lun < 0 || !poold_export_vol_exported(d->ex, pool, vol->lun)) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "VM %s: volume %s is not exported by this host's iSCSI target (poolctl "
                       "volume export %s %s)",
                       rec->name, vn, pool, vn);
            return -1;
        }
        bool qcow2 = vol->format && strcmp(vol->format, "qcow2") == 0;
        if (qcow2 && load_chain(d, pool, rec, v, i) < 0)
            return -1;
        if (vol->export_mode == POOL_VOL_MODE_RO) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "VM %s: volume %s is exported read-only; the VM could not write it",
                       rec->name, vn);
            return -1;
        }
        if (leased(v, i)) {
            poolVolLease l;
            if (pool_manager_lease_status(d->mgr, vol, &l) < 0)
                return -1;
            bool other = l.held && !l.this_host && l.owner_state != POOL_LEASE_HOST_DEAD &&
                         l.owner_state != POOL_LEASE_HOST_FREE;
            if (other) {
                pool_error(POOL_ERR_BUSY,
                           "VM %s: the lease of volume %s is held by host %u%s%s%s (%s)", rec->name,
                           vn, l.owner, l.owner_name ? " (" : "", l.owner_name ? l.owner_name : "",
                           l.owner_name ? ")" : "", pool_lease_host_state_name(l.owner_state));
                pool_vol_lease_clear(&l);
                return -1;
            }
            if (l.held && l.this_holder) {
                pool_error(POOL_ERR_BUSY,
                           "VM %s: this poold holds the lease of volume %s (poolctl lease "
                           "release %s %s first)",
                           rec->name, vn, pool, vn);
                pool_vol_lease_clear(&l);
                return -1;
            }
            pool_vol_lease_clear(&l);
        }
        v->map[i] = (poolVmDiskMap){.volume = vol->name,
                                    .iqn = v->iqn,
                                    .lun = (unsigned)vol->lun,
                                    .format = qcow2 ? "qcow2" : "raw",
                                    .backing = v->refs[i],
                                    .nbacking = v->nlayers[i]};
        if (leased(v, i)) {
            v->map[i].lockspace = v->lockspace;
            v->map[i].lease_key = vol->uuid;
            v->map[i].lease_path = vol->lease_pv;
            v->map[i].lease_offset = vol->lease_offset;
            if (!vol->lease_pv) {
                pool_error(POOL_ERR_LVM, "VM %s: volume %s has no lease slot address", rec->name,
                           vn);
                return -1;
            }
        }
    }
    return 0;
}

/* QEMU's initiator name: the host's, ":vm-" and the VM name in the
 * characters an IQN allows. */
static char *vm_initiator(poolDaemon *d, const char *vm)
{
    POOL_AUTOFREE(char *) base = poold_libvirt_initiator(d->cfg);
    POOL_AUTOFREE(char *) name = pool_strdup(vm);
    if (!base || !name)
        return NULL;
    for (char *p = name; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            *p = '-';
    }
    return pool_asprintf("%s:vm-%s", base, name);
}

/* The LUNs of the VM's disks after its domain ended here: a lease this
 * poold holds keeps its LUN writable; any other is write-protected now,
 * not at the next recheck (sanlock frees QEMU's leases as it exits, a
 * moment after libvirt reports the domain gone). */
static void protect_disks(poolDaemon *d, const vmDisks *v)
{
    for (size_t i = 0; i < v->n; i++) {
        if (!leased(v, i))
            continue;
        bool held = false, by_poold = false;
        if (pool_manager_lease_held_here(d->mgr, v->vols[i], &held, &by_poold) == 0 && by_poold)
            poold_export_vol_access(d->ex, v->vols[i]);
        else
            poold_export_vol_fence(d->ex, v->vols[i]);
        pool_error_reset();
    }
}

/* Step 3's CHAP: the libvirt secret set (or, without CHAP, removed) and
 * rt pointing at it. *usage is the caller's to free. */
static int vm_chap(poolDaemon *d, const char *pool, poolVmRuntime *rt, char **usage)
{
    POOL_AUTOPTR(poolTargetDef) t = poold_export_target_get(d->ex, pool, true);
    if (!t || !(*usage = poold_libvirt_secret_usage(pool)))
        return -1;
    if (t->chap_user && t->mutual_user) {
        pool_error(POOL_ERR_UNSUPPORTED,
                   "the iSCSI target of pool %s requires mutual CHAP, which QEMU's iSCSI "
                   "initiator cannot do: set one-way CHAP (poolctl target chap set without "
                   "--mutual-user) to run VMs from it",
                   pool);
        return -1;
    }
    if (!t->chap_user || !t->chap_secret) {
        /* no stale secret of an earlier CHAP setting is left in libvirt */
        if (poold_domain_secret_remove(d->doms, *usage) < 0) {
            log_pool(POOL_LOG_WARN, pool, "%s", pool_error_last_message());
            pool_error_reset();
        }
        return 0;
    }
    if (poold_domain_secret_set(d->doms, *usage, t->chap_secret) < 0)
        return -1;
    rt->chap_user = pool_strdup(t->chap_user);
    rt->chap_usage = *usage;
    return rt->chap_user ? 0 : -1;
}

/* Undo a start after the domain was created (its error kept). */
static void undo_start(poolDaemon *d, const char *name, const vmDisks *v)
{
    poolError *err = pool_error_save();
    if (poold_domain_destroy(d->doms, name) < 0)
        log_warnx("VM %s: %s", name, pool_error_last_message());
    protect_disks(d, v);
    pool_error_restore(err);
}

static int set_state(xmlNodePtr reply, const char *state)
{
    for (xmlNodePtr n = reply->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "result"))
            return poold_set_str(n, "state", state);
    return 0;
}

static int vm_start(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    bool takeover;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 ||
        pool_request_get_bool(req, "takeover", false, &takeover) < 0)
        return -1;
    if (!d->ex || !d->doms) {
        pool_error(POOL_ERR_UNSUPPORTED,
                   "VMs cannot run on this host: its iSCSI target is off (iscsi_portal)");
        return -1;
    }
    POOL_AUTOPTR(poolVmRecord) rec = pool_manager_vm_for_start(d->mgr, pool, name, takeover);
    if (!rec)
        return -1;
    bool active = false;
    if (poold_domain_active(d->doms, name, &active) < 0)
        return -1;
    if (active) {
        pool_error(POOL_ERR_EXISTS, "VM %s already runs on this host", name);
        return -1;
    }
    POOL_AUTOFREE(char *) host = NULL;
    unsigned port = 0;
    POOL_AUTOFREE(char *) initiator = vm_initiator(d, name);
    if (!initiator || poold_libvirt_portal(d->cfg, &host, &port) < 0)
        return -1;
    if (!host) {
        pool_error(POOL_ERR_UNSUPPORTED, "VMs cannot run on this host: iscsi_portal is empty");
        return -1;
    }
    vmDisks v;
    if (load_disks(d, pool, rec, &v) < 0) {
        vm_disks_clear(&v);
        return -1;
    }
    poolVmRuntime rt = {.pool = pool,
                        .host = host,
                        .port = port,
                        .initiator = initiator,
                        .disks = v.map,
                        .ndisks = v.n};
    POOL_AUTOFREE(char *) usage = NULL;
    if (vm_chap(d, pool, &rt, &usage) < 0) {
        free((char *)rt.chap_user);
        pool_error_prefix("VM %s", name);
        vm_disks_clear(&v);
        return -1;
    }
    POOL_AUTOFREE(char *)
    xml = pool_vm_domain_runtime(rec->domain_xml, strlen(rec->domain_xml), &rt);
    free((char *)rt.chap_user);
    if (!xml) {
        pool_error_prefix("VM %s", name);
        vm_disks_clear(&v);
        return -1;
    }
    pool_testhook("vm-start-before-domain");
    if (poold_domain_create(d->doms, xml) < 0) {
        pool_error_prefix("VM %s", name);
        vm_disks_clear(&v);
        return -1;
    }
    pool_testhook("vm-start-domain-created");
    for (size_t i = 0; i < v.n; i++) {
        poold_export_vol_access(d->ex, v.vols[i]);
        if (!leased(&v, i))
            continue;
        bool held = false;
        if (pool_manager_lease_held_here(d->mgr, v.vols[i], &held, NULL) < 0)
            goto undo;
        if (!held) {
            pool_error(POOL_ERR_UNSUPPORTED,
                       "libvirt started it without the lease of volume %s: its lock manager "
                       "must be sanlock (lock_manager = \"sanlock\" in qemu.conf, package "
                       "libvirt-sanlock)",
                       v.vols[i]->name);
            goto undo;
        }
    }
    if (pool_manager_vm_set_owner(d->mgr, pool, rec, true) < 0)
        goto undo;
    log_pool(POOL_LOG_INFO, pool, "VM %s started (%zu disk(s), generation %llu)", name, v.n,
             (unsigned long long)rec->generation);
    int r = poold_vm_record_reply(pool, rec, reply) < 0 ? -1 : set_state(reply, "running");
    vm_disks_clear(&v);
    return r;
undo:
    undo_start(d, name, &v);
    pool_error_prefix("VM %s", name);
    vm_disks_clear(&v);
    return -1;
}

/* The VM has stopped here but clearing the record's owner failed. Another
 * host may have taken the VM over the moment its leases were free (a
 * conflict): then the record is no longer this host's to clear, and the
 * stop is done. Otherwise the error stands; a new stop finishes the job. */
static int release_failed(poolDaemon *d, const char *pool, const char *name, xmlNodePtr reply)
{
    if (pool_error_last_code() == POOL_ERR_CONFLICT) {
        poolError *err = pool_error_save();
        POOL_AUTOPTR(poolVmRecord) now = pool_manager_vm_show(d->mgr, pool, name);
        if (now && !pool_manager_vm_owned_here(d->mgr, pool, now)) {
            pool_error_free(err);
            pool_error_reset();
            log_pool(POOL_LOG_INFO, pool, "VM %s stopped; %s owns it now", name,
                     now->owner_host ? now->owner_host : "nobody");
            return poold_vm_record_reply(pool, now, reply) < 0 ? -1 : set_state(reply, "stopped");
        }
        pool_error_restore(err);
    }
    pool_error_prefix("VM %s stopped, but its record still names this host (run poolctl vm stop "
                      "again)",
                      name);
    return -1;
}

static int vm_stop(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    bool force, shutdown;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0 ||
        pool_request_get_bool(req, "force", false, &force) < 0 ||
        pool_request_get_bool(req, "shutdown", true, &shutdown) < 0)
        return -1;
    const char *to = pool_request_get(req, "wait");
    uint64_t secs;
    if (to && pool_parse_uint(to, "wait", 0, 600, &secs) < 0)
        return -1;
    if (!d->doms) {
        pool_error(POOL_ERR_NO_MEMORY, "out of memory");
        return -1;
    }
    POOL_AUTOPTR(poolVmRecord) rec = pool_manager_vm_show(d->mgr, pool, name);
    if (!rec)
        return -1;
    int locking = 0;
    unsigned host_id = 0;
    if (pool_manager_pool_locking(d->mgr, pool, &locking, &host_id) < 0)
        return -1;
    bool mine = pool_manager_vm_owned_here(d->mgr, pool, rec);
    bool active = false;
    if (poold_domain_active(d->doms, name, &active) < 0)
        return -1;
    if (rec->owner_host && !mine && !active) {
        pool_error(POOL_ERR_BUSY, "VM %s runs on host %s, not on this host", name, rec->owner_host);
        return -1;
    }
    if (active && force) {
        if (poold_domain_destroy(d->doms, name) < 0)
            return -1;
        log_pool(POOL_LOG_INFO, pool, "VM %s destroyed", name);
        active = false;
    } else if (active) {
        if (shutdown && poold_domain_shutdown(d->doms, name) < 0)
            return -1;
        if (poold_domain_active(d->doms, name, &active) < 0)
            return -1;
        if (active)
            return poold_vm_record_reply(pool, rec, reply) < 0 ? -1 : set_state(reply, "stopping");
    }
    vmDisks v = {0};
    v.locking = locking;
    for (size_t i = 0; i < rec->ndisks; i++) {
        if (pool_realloc_n(&v.vols, v.n + 1, sizeof(*v.vols)) < 0) {
            vm_disks_clear(&v);
            return -1;
        }
        poolVolDef *vol = pool_manager_vol_info(d->mgr, pool, rec->disks[i].name);
        if (!vol) { /* deleted meanwhile: nothing to protect */
            pool_error_reset();
            continue;
        }
        v.vols[v.n++] = vol;
    }
    if (d->ex)
        protect_disks(d, &v);
    vm_disks_clear(&v);
    if (mine) {
        if (pool_manager_vm_set_owner(d->mgr, pool, rec, false) < 0)
            return release_failed(d, pool, name, reply);
        log_pool(POOL_LOG_INFO, pool, "VM %s stopped (generation %llu)", name,
                 (unsigned long long)rec->generation);
    }
    return poold_vm_record_reply(pool, rec, reply) < 0 ? -1 : set_state(reply, "stopped");
}

const poolDispatchEntry poold_vm_run_handlers[] = {
    {"vm-start", vm_start},
    {"vm-stop", vm_stop},
    {NULL, NULL},
};
