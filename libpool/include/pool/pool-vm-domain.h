/*
 * pool-vm-domain.h: the domain XML a host gives libvirt to run a VM — the
 * stored definition (pool-vm.h: every disk a <disk type='volume'> naming a
 * volume of the pool) with its disks pointed at this host's embedded
 * iSCSI target and the volumes' sanlock leases added, so that QEMU cannot
 * run without them (libvirt's sanlock lock manager acquires every <lease>
 * before QEMU starts and QEMU is killed if one is lost). A pure function
 * of its inputs: libpool/vm_domain.c.
 *
 * Rewrite rules (pool_vm_domain_runtime):
 *   - the stored XML is parsed like vm define does (pool_xml_read_memory:
 *     no DTD, no entities, no network, size-capped); the root is <domain>;
 *   - every <disk> under <devices> must be type='volume' with one
 *     <source pool= volume=/> whose pool is rt->pool and whose volume is
 *     one of rt->disks (else POOL_ERR_INVALID_ARG naming the disk by its
 *     <target dev=>, or "#N" when it has none);
 *   - such a disk becomes type='network', its <source> is replaced by
 *       <source protocol='iscsi' name='IQN/LUN'>
 *         <host name='HOST' port='PORT'/>
 *         <initiator><iqn name='INITIATOR'/></initiator>
 *         <auth username='CHAP_USER'>                (only with rt->chap_user)
 *           <secret type='iscsi' usage='CHAP_USAGE'/>
 *         </auth>
 *       </source>
 *     in the same place among the disk's children; every other child
 *     (<target>, <boot>, <address>, <serial>, <readonly/>, <driver>, ...)
 *     and attribute (device=, ...) is kept as it was, except the
 *     <driver>'s type=, which is always the volume's format (never what
 *     the stored XML says: a raw disk read as qcow2 would let a guest
 *     name host files as its backing). A disk without a <driver> gets
 *     <driver name='qemu' type='FORMAT'/> as its first child;
 *   - a qcow2 top's layers follow its <source> as nested
 *       <backingStore type='network'><format type='F'/><source .../>
 *         <backingStore .../></backingStore>
 *     with sources like the top's (read-only LUNs of the same target),
 *     the last one closed by an empty <backingStore/>, so libvirt and
 *     QEMU open exactly that chain and never read a backing name from an
 *     image header; a <backingStore> in the stored disk is replaced;
 *   - for each disk whose map entry has a lockspace, a
 *       <lease>
 *         <lockspace>LOCKSPACE</lockspace>
 *         <key>KEY</key>
 *         <target path='PATH' offset='OFFSET'/>
 *       </lease>
 *     is appended to <devices> (after its last child), in rt->disks order
 *     of the disks as they appear in the domain; <lease> elements already
 *     in the stored XML are kept;
 *   - nothing else changes (name, uuid, memory, other devices, comments);
 *     the result is serialized without an XML declaration.
 *
 * Errors: NULL with a pool_error: POOL_ERR_XML (does not parse, root is
 * not <domain>), POOL_ERR_INVALID_ARG (a disk as above; an rt field NULL
 * or empty where required: pool, host, initiator, iqn; port 0; chap_user
 * without chap_usage or the other way round; a format other than raw or
 * qcow2; layers below a raw top; more than POOL_VM_MAX_BACKING layers),
 * POOL_ERR_NO_MEMORY.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_VM_DOMAIN_H
#define POOL_VM_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A frozen layer below a qcow2 top (docs/design.md "Snapshots"): a
 * read-only LUN of the same target. */
typedef struct {
    const char *format; /* "raw" or "qcow2" */
    unsigned lun;
} poolVmLayerRef;

typedef struct {
    const char *volume;     /* the <source volume=> this entry serves */
    const char *iqn;        /* the pool's target IQN */
    unsigned lun;           /* the volume's LUN id */
    const char *lockspace;  /* NULL: no lease for this disk */
    const char *lease_key;  /* resource name (the volume's uuid) */
    const char *lease_path; /* PV holding the lease slot */
    uint64_t lease_offset;  /* bytes */
    /* The top's format ("raw" or "qcow2"; NULL: raw) and, for a qcow2
     * top, the layers below it, its parent first (none: a standalone
     * qcow2 image). */
    const char *format;
    const poolVmLayerRef *backing;
    size_t nbacking;
} poolVmDiskMap;

typedef struct {
    const char *pool;      /* the pool the VM's disks must name */
    const char *host;      /* the target's portal address as QEMU reaches it */
    unsigned port;         /* the portal's TCP port */
    const char *initiator; /* QEMU's initiator IQN */
    /* the target's CHAP: the user name and the usage of the libvirt secret
     * holding its secret (both NULL: no CHAP) */
    const char *chap_user;
    const char *chap_usage;
    const poolVmDiskMap *disks;
    size_t ndisks;
} poolVmRuntime;

#define POOL_VM_MAX_BACKING 64

/* The domain XML to run (caller frees), or NULL with a pool_error. */
char *pool_vm_domain_runtime(const char *stored_xml, size_t len, const poolVmRuntime *rt);

#ifdef __cplusplus
}
#endif
#endif
