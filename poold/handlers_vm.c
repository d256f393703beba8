/*
 * handlers_vm.c: vm-* requests (a pool's VM records in its metadata store,
 * libpool/vm_ops.c) and pool-set-store (which store that is).
 *
 * Results, every value an attribute:
 *   <result type="vm" pool= name= uuid= generation= modified= modified-by=
 *           [owner= owner-host-id=]>
 *     <disk pool= volume=/>...  <domain-xml>the domain XML, as text</domain-xml>
 *   </result>
 *   <result type="vms" pool=> <vm name= uuid= generation= [owner=]/>... </result>
 *   <result type="store" pool= url= timeout-ms=/>
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pool-error.h"
#include "pool-vmstore.h"
#include "pool-util.h"
#include "pool-vm.h"
#include "poold.h"

static xmlNodePtr new_result(xmlNodePtr reply, const char *type, const char *pool)
{
    xmlNodePtr n = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (!n) {
        pool_error_oom();
        return NULL;
    }
    if (poold_set_str(n, "type", type) < 0 || poold_set_str(n, "pool", pool) < 0)
        return NULL;
    return n;
}

int poold_vm_record_reply(const char *pool, const poolVmRecord *rec, xmlNodePtr reply)
{
    xmlNodePtr n = new_result(reply, "vm", pool);
    if (!n || poold_set_str(n, "name", rec->name) < 0 || poold_set_str(n, "uuid", rec->uuid) < 0 ||
        poold_set_uint(n, "generation", rec->generation) < 0 ||
        poold_set_uint(n, "modified", rec->modified > 0 ? (uint64_t)rec->modified : 0) < 0 ||
        (rec->modified_by && poold_set_str(n, "modified-by", rec->modified_by) < 0) ||
        (rec->owner_host && (poold_set_str(n, "owner", rec->owner_host) < 0 ||
                             poold_set_uint(n, "owner-host-id", rec->owner_host_id) < 0)))
        return -1;
    for (size_t i = 0; i < rec->ndisks; i++) {
        xmlNodePtr d = xmlNewChild(n, NULL, BAD_CAST "disk", NULL);
        if (!d)
            return pool_error_oom();
        if (poold_set_str(d, "pool", rec->disks[i].pool) < 0 ||
            poold_set_str(d, "volume", rec->disks[i].name) < 0)
            return -1;
    }
    /* xmlNewTextChild escapes the text */
    if (rec->domain_xml &&
        !xmlNewTextChild(n, NULL, BAD_CAST "domain-xml", BAD_CAST rec->domain_xml))
        return pool_error_oom();
    return 0;
}

static int vm_define(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *xml;
    if (poold_param_required(req, "pool", &pool) < 0 || poold_param_required(req, "xml", &xml) < 0)
        return -1;
    POOL_AUTOPTR(poolVmRecord) rec = NULL;
    if (pool_manager_vm_define(d->mgr, pool, xml, strlen(xml), &rec) < 0)
        return -1;
    return poold_vm_record_reply(pool, rec, reply);
}

static int vm_undefine(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    return pool_manager_vm_undefine(d->mgr, pool, name);
}

static int vm_show(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *name;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "name", &name) < 0)
        return -1;
    POOL_AUTOPTR(poolVmRecord) rec = pool_manager_vm_show(d->mgr, pool, name);
    return rec ? poold_vm_record_reply(pool, rec, reply) : -1;
}

static int vm_list(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool;
    if (poold_param_required(req, "pool", &pool) < 0)
        return -1;
    poolVmRecord **recs = NULL;
    size_t n = 0;
    if (pool_manager_vm_list(d->mgr, pool, &recs, &n) < 0)
        return -1;
    int r = -1;
    xmlNodePtr res = new_result(reply, "vms", pool);
    if (!res)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const poolVmRecord *rec = recs[i];
        xmlNodePtr c = xmlNewChild(res, NULL, BAD_CAST "vm", NULL);
        if (!c) {
            pool_error_oom();
            goto out;
        }
        if (poold_set_str(c, "name", rec->name) < 0 || poold_set_str(c, "uuid", rec->uuid) < 0 ||
            poold_set_uint(c, "generation", rec->generation) < 0 ||
            poold_set_uint(c, "disks", rec->ndisks) < 0 ||
            (rec->owner_host && (poold_set_str(c, "owner", rec->owner_host) < 0 ||
                                 poold_set_uint(c, "owner-host-id", rec->owner_host_id) < 0)))
            goto out;
    }
    r = 0;
out:
    pool_vm_records_free(recs, n);
    return r;
}

static int pool_set_store(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    const char *pool, *url;
    const char *to = pool_request_get(req, "timeout-ms");
    uint64_t ms = 0;
    if (poold_param_required(req, "pool", &pool) < 0 ||
        poold_param_required(req, "url", &url) < 0 ||
        (to && pool_parse_uint(to, "timeout-ms", POOL_STORE_TIMEOUT_MIN_MS,
                               POOL_STORE_TIMEOUT_MAX_MS, &ms) < 0))
        return -1;
    if (pool_manager_pool_set_store(d->mgr, pool, url, (unsigned)ms) < 0)
        return -1;
    xmlNodePtr n = new_result(reply, "store", pool);
    if (!n || poold_set_str(n, "url", url) < 0 ||
        poold_set_uint(n, "timeout-ms", ms ? ms : POOL_META_DEFAULT_TIMEOUT_MS) < 0)
        return -1;
    return 0;
}

const poolDispatchEntry poold_vm_handlers[] = {
    {"vm-define", vm_define}, {"vm-undefine", vm_undefine},       {"vm-list", vm_list},
    {"vm-show", vm_show},     {"pool-set-store", pool_set_store}, {NULL, NULL},
};
