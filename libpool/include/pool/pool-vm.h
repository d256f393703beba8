/*
 * pool-vm.h: a pool's VMs — definitions kept in the pool's metadata store
 * (pool-vmstore.h; docs/design.md choice 7) so every host of the pool can read
 * them. libpool/vm_ops.c.
 *
 * The store is named in the VG (tags pd_store / pd_storeto, see layout.h),
 * so every host sees the same one; it is set with
 * pool_manager_pool_set_store (under the pool-metadata lease) and opened
 * per request from the tags read then. A pool without one refuses every VM
 * operation with POOL_ERR_INVALID_ARG ("pool P has no metadata store; set
 * one with poolctl pool set-store").
 *
 * Define rules (pool_manager_vm_define):
 *   - the domain XML is parsed safely (pool_xml_read_memory: no DTD, no
 *     entities, no network, size-capped); its root is <domain> (no
 *     namespace) with a <name> that is a valid VM name (pool-vmstore.h) and an
 *     optional <uuid> (generated and inserted after <name> when missing;
 *     the stored XML is then re-serialized, otherwise kept verbatim);
 *   - every <disk> under <devices> is type='volume' with
 *     <source pool='P' volume='V'/> naming this pool and an existing volume
 *     of it; anything else is refused with POOL_ERR_INVALID_ARG
 *     "disk vda: ... is not a volume of pool P" (a missing volume:
 *     POOL_ERR_NO_VOLUME);
 *   - libvirt's own schema check (`virt-xml-validate FILE domain`, package
 *     libvirt-clients) must pass (POOL_ERR_XML with its message); when the
 *     program is not installed the step is skipped with a warning in the
 *     log;
 *   - a name already defined: POOL_ERR_EXISTS (from the store).
 *   Nothing is written to the store unless every check passed.
 *
 * Errors: 0 / -1 (or pointer / NULL) with a pool_error; store errors
 * (POOL_ERR_CONNECT, POOL_ERR_TIMEOUT naming the server) pass through.
 *
 * Ownership: records are freed with pool_vm_record_free, arrays from
 * vm_list with pool_vm_records_free.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_VM_H
#define POOL_VM_H

#include <stdbool.h>
#include <stddef.h>

#include "pool-vmstore.h"
#include "pool-ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record the pool's metadata store (url: nfs://server[:port]/export/path
 * or an absolute directory path; timeout_ms 0 = the store's default, else
 * POOL_STORE_TIMEOUT_MIN_MS..MAX_MS). The store must open (be reachable)
 * before anything is recorded. */
int pool_manager_pool_set_store(poolManager *mgr, const char *pool, const char *url,
                                unsigned timeout_ms);
/* The store recorded now (*url NULL when none; caller frees). */
int pool_manager_pool_get_store(poolManager *mgr, const char *pool, char **url,
                                unsigned *timeout_ms);

/* Define a VM from its domain XML (len bytes, need not be NUL-terminated).
 * *out (may be NULL) receives the record as stored. */
int pool_manager_vm_define(poolManager *mgr, const char *pool, const char *domain_xml, size_t len,
                           poolVmRecord **out);
/* Remove a VM's record; refused (POOL_ERR_BUSY) while it has an owner. */
int pool_manager_vm_undefine(poolManager *mgr, const char *pool, const char *name);
/* Every VM of the pool, sorted by name (records that vanish meanwhile are
 * left out). */
int pool_manager_vm_list(poolManager *mgr, const char *pool, poolVmRecord ***recs, size_t *n);
poolVmRecord *pool_manager_vm_show(poolManager *mgr, const char *pool, const char *name);

/* Does the record name this host as its owner (host name, and in a
 * sanlock pool the host id)? */
bool pool_manager_vm_owned_here(poolManager *mgr, const char *pool, const poolVmRecord *rec);
/* vm start: the record, if this host may start the VM: it has no owner,
 * or it is this host's (a start that did not finish, or one to repeat),
 * or its owner host is known gone (sanlock: dead, or not in the
 * lockspace), or (sanlock pools) none of the leases of its rw volumes is
 * held: a running VM's QEMU holds them all, so it does not run (powered
 * off, crashed); or takeover is set: the operator says the owner is gone
 * (the only way out in a pool without locking, where nothing else can tell;
 * in a sanlock pool the leases still refuse a VM that runs). All logged as
 * a take-over. Otherwise NULL with POOL_ERR_BUSY
 * "VM X runs on host A (host id N, state); stop it there first". */
poolVmRecord *pool_manager_vm_for_start(poolManager *mgr, const char *pool, const char *name,
                                        bool takeover);
/* Write rec back as owned by this host (own) or by nobody, conditional on
 * rec->generation (POOL_ERR_CONFLICT when it moved on). On success rec is
 * the record written (new generation, owner, modified-by). Only the host
 * that holds (own) or just let go of (!own) the VM's leases calls this. */
int pool_manager_vm_set_owner(poolManager *mgr, const char *pool, poolVmRecord *rec, bool own);

void pool_vm_records_free(poolVmRecord **recs, size_t n);

#ifdef __cplusplus
}
#endif
#endif
