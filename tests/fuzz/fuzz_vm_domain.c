// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_vm_domain.c: libFuzzer target for pool_vm_domain_runtime, the
 * rewrite of a stored domain XML into the one a host gives libvirt.
 *
 * Why: the stored XML comes from the pool's metadata store, which every
 * host writes; a damaged or hostile record must be refused, never crash the
 * host starting the VM, and never reach libvirt with a disk that was not
 * rewritten. The input is the stored XML; the runtime is fixed (pool "p",
 * volumes "a" with a lease and "b" without). Accepted inputs must give
 * output that libxml2 parses, in which no disk libvirt reads is still
 * type='volume' (checked the way libvirt reads it: xmlGetProp), and which a
 * second rewrite refuses when it has disks.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vm-domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const poolVmLayerRef chain[] = {{"qcow2", 2}, {"raw", 3}};
static const poolVmDiskMap maps[] = {
    {.volume = "a",
     .iqn = "iqn.2024-01.org.example:pool.p",
     .lun = 0,
     .lockspace = "p",
     .lease_key = "0f2c6a1e-6d3b-4c7a-9e1f-2b3c4d5e6f70",
     .lease_path = "/dev/mapper/p-leases",
     .lease_offset = 5368709120ULL},
    {.volume = "b",
     .iqn = "iqn.2024-01.org.example:pool.p",
     .lun = 1,
     .format = "qcow2",
     .backing = chain,
     .nbacking = 2},
};
static const poolVmRuntime rt = {.pool = "p",
                                 .host = "192.0.2.1",
                                 .port = 3260,
                                 .initiator = "iqn.2024-01.org.example:host-a",
                                 .disks = maps,
                                 .ndisks = 2};

static bool is_elem(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, BAD_CAST name);
}

/* Number of libvirt disks (/domain/devices/disk); aborts on a volume one. */
static size_t check_disks(xmlNodePtr root)
{
    size_t n = 0;
    for (xmlNodePtr devs = root->children; devs; devs = devs->next) {
        if (!is_elem(devs, "devices"))
            continue;
        for (xmlNodePtr d = devs->children; d; d = d->next) {
            if (!is_elem(d, "disk"))
                continue;
            xmlChar *type = xmlGetProp(d, BAD_CAST "type");
            if (!type || !xmlStrEqual(type, BAD_CAST "network"))
                abort();
            xmlFree(type);
            n++;
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    POOL_AUTOFREE(char *) out = pool_vm_domain_runtime((const char *)data, size, &rt);
    if (out) {
        size_t len = strlen(out);
        if (len == 0 || len > INT32_MAX || strncmp(out, "<?xml ", 6) == 0)
            abort();
        xmlDocPtr doc = xmlReadMemory(out, (int)len, NULL, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!is_elem(root, "domain"))
            abort();
        size_t ndisks = check_disks(root);
        xmlFreeDoc(doc);
        if (ndisks > 0) {
            POOL_AUTOFREE(char *) again = pool_vm_domain_runtime(out, len, &rt);
            if (again)
                abort();
        }
    }
    pool_error_reset();
    return 0;
}
