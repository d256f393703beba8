/*
 * vm_domain.c: the domain XML a host hands to libvirt to run a VM
 * (pool-vm-domain.h): the stored definition with its volume disks turned
 * into iSCSI disks of this host's target and the volumes' sanlock leases
 * added.
 *
 * Why a pure function of (stored XML, runtime map): the stored XML comes
 * from the pool's metadata store, which every host of the pool writes, so it
 * is parsed as untrusted input exactly like vm define parses it, and checked
 * again here: a record changed behind define's back must not make a host
 * hand libvirt a disk that is not a volume of this pool (a host path, another
 * pool's volume) or a volume without its lease. Keeping the host-specific
 * facts (portal, LUNs, lease slots) in the caller's map keeps this module
 * free of I/O, so it can be unit-tested and fuzzed on its own.
 *
 * Why edit the parsed tree instead of building a new document: everything
 * the operator wrote that is not a volume disk (devices, metadata, comments)
 * must reach libvirt unchanged. The shared parser drops blank text between
 * elements (XML_PARSE_NOBLANKS), so the layout is not kept byte for byte, but
 * no indentation is added either: the output is serialized without
 * reformatting.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vm-domain.h"
#include "pool-xml.h"
#include "xml_internal.h"

/* ---- XML helpers ------------------------------------------------------ */

/* Attributes in no namespace only: the type= read must be the one
 * xmlSetProp replaces (namespaced ones are refused in disk_entry). */
static char *prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = pool_strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* ---- the runtime map ---------------------------------------------------- */

/* Every string of rt ends up in an attribute or text node; one that is not
 * clean UTF-8 (or holds control characters XML 1.0 cannot carry) would make
 * the output unparseable, so it is refused here instead of by libvirt. */
static int check_string(const char *s, const char *what, const char *whose, bool required)
{
    if (!s) {
        if (!required)
            return 0;
        pool_error(POOL_ERR_INVALID_ARG, "VM runtime: %s%s is missing", whose, what);
        return -1;
    }
    if (!*s) {
        pool_error(POOL_ERR_INVALID_ARG, "VM runtime: %s%s is empty", whose, what);
        return -1;
    }
    if (!pool_xml_text_is_clean(s, strlen(s))) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "VM runtime: %s%s contains control characters or invalid UTF-8", whose, what);
        return -1;
    }
    return 0;
}

static bool is_format(const char *f)
{
    return strcmp(f, "raw") == 0 || strcmp(f, "qcow2") == 0;
}

static int check_runtime(const poolVmRuntime *rt)
{
    if (!rt) {
        pool_error(POOL_ERR_INVALID_ARG, "VM runtime: no runtime given");
        return -1;
    }
    if (check_string(rt->pool, "pool", "", true) < 0 ||
        check_string(rt->host, "portal host", "", true) < 0 ||
        check_string(rt->initiator, "initiator IQN", "", true) < 0)
        return -1;
    if (check_string(rt->chap_user, "CHAP user", "", !!rt->chap_usage) < 0 ||
        check_string(rt->chap_usage, "CHAP secret usage", "", !!rt->chap_user) < 0)
        return -1;
    if (rt->port == 0 || rt->port > 65535) {
        pool_error(POOL_ERR_INVALID_ARG, "VM runtime: portal port %u is not a TCP port", rt->port);
        return -1;
    }
    if (rt->ndisks > 0 && !rt->disks) {
        pool_error(POOL_ERR_INVALID_ARG, "VM runtime: %zu disk map entries but no map", rt->ndisks);
        return -1;
    }
    for (size_t i = 0; i < rt->ndisks; i++) {
        const poolVmDiskMap *m = &rt->disks[i];
        char whose[160];
        snprintf(whose, sizeof(whose), "disk map entry #%zu: ", i + 1);
        if (check_string(m->volume, "volume", whose, true) < 0)
            return -1;
        snprintf(whose, sizeof(whose), "volume '%.64s' of pool %.64s: ", m->volume, rt->pool);
        if (check_string(m->iqn, "target IQN", whose, true) < 0 ||
            check_string(m->lockspace, "lease lockspace", whose, false) < 0)
            return -1;
        /* A lease names its slot by all three; half a lease would only fail
         * later, inside libvirt, with a less precise message. */
        if (m->lockspace && (check_string(m->lease_key, "lease key", whose, true) < 0 ||
                             check_string(m->lease_path, "lease path", whose, true) < 0))
            return -1;
        if (!is_format(m->format ? m->format : "raw")) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "VM runtime: %sformat '%.16s' is neither raw nor qcow2", whose, m->format);
            return -1;
        }
        if (m->nbacking && (!m->format || strcmp(m->format, "qcow2") != 0)) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "VM runtime: %sa raw volume cannot have layers below it", whose);
            return -1;
        }
        if (m->nbacking > POOL_VM_MAX_BACKING || (m->nbacking && !m->backing)) {
            pool_error(POOL_ERR_INVALID_ARG, "VM runtime: %s%zu layers below the volume%s", whose,
                       m->nbacking, m->backing ? " are too many" : " but no list");
            return -1;
        }
        for (size_t j = 0; j < m->nbacking; j++) {
            const poolVmLayerRef *l = &m->backing[j];
            if (!l->format || !is_format(l->format)) {
                pool_error(POOL_ERR_INVALID_ARG,
                           "VM runtime: %slayer %zu: format '%.16s' is neither raw nor qcow2",
                           whose, j + 1, l->format ? l->format : "(none)");
                return -1;
            }
            /* only the innermost layer may be raw: a raw image has no backing */
            if (strcmp(l->format, "raw") == 0 && j + 1 < m->nbacking) {
                pool_error(POOL_ERR_INVALID_ARG,
                           "VM runtime: %slayer %zu is raw but has layers below it", whose, j + 1);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- disks ---------------------------------------------------------------- */

/* Which map entry serves this <disk>, after checking it is a volume of
 * rt->pool used by no earlier disk (two disks on one volume would be two
 * writers of one LUN and the same lease acquired twice). `label` names the
 * disk in messages. */
static const poolVmDiskMap *disk_entry(xmlNodePtr disk, const char *label, const poolVmRuntime *rt,
                                       bool *used, xmlNodePtr *source)
{
    /* libvirt reads attributes with xmlGetProp, which takes the first one of
     * that local name in any namespace: with a namespaced type= next to ours
     * libvirt could see another disk type than the one this check saw and
     * the rewrite set. */
    for (xmlAttrPtr a = disk->properties; a; a = a->next)
        if (a->ns && xmlStrEqual(a->name, BAD_CAST "type")) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "disk %s: a type attribute in a namespace is not a volume of pool %.64s",
                       label, rt->pool);
            return NULL;
        }
    POOL_AUTOFREE(char *) type = prop(disk, "type");
    if (!type || strcmp(type, "volume") != 0) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "disk %s: a disk of type '%.32s' is not a volume of pool %.64s (only <disk "
                   "type='volume'> disks can run from the pool)",
                   label, type ? type : "(none)", rt->pool);
        return NULL;
    }
    int nsrc = 0;
    xmlNodePtr src = pool_xml_find_child(disk, "source", &nsrc);
    /* libvirt finds <source> by local name too: a namespaced one would be a
     * second source, left in place next to ours. */
    for (xmlNodePtr n = disk->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->name, BAD_CAST "source"))
            nsrc++;
    POOL_AUTOFREE(char *) spool = src ? prop(src, "pool") : NULL;
    POOL_AUTOFREE(char *) svol = src ? prop(src, "volume") : NULL;
    if (nsrc != 1 || !spool || !svol) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "disk %s: %s; a volume of pool %.64s needs exactly one <source pool='%.64s' "
                   "volume='NAME'/>",
                   label,
                   nsrc == 0  ? "no <source>"
                   : nsrc > 1 ? "more than one <source>"
                   : !spool   ? "<source> without pool="
                              : "<source> without volume=",
                   rt->pool, rt->pool);
        return NULL;
    }
    if (strcmp(spool, rt->pool) != 0) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "disk %s: volume '%.64s' of pool '%.64s' is not a volume of pool %.64s", label,
                   svol, spool, rt->pool);
        return NULL;
    }
    for (size_t i = 0; i < rt->ndisks; i++) {
        if (strcmp(rt->disks[i].volume, svol) != 0)
            continue;
        if (used[i]) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "disk %s: volume '%.64s' of pool %.64s is used by an earlier disk too",
                       label, svol, rt->pool);
            return NULL;
        }
        used[i] = true;
        *source = src;
        return &rt->disks[i];
    }
    pool_error(POOL_ERR_INVALID_ARG,
               "disk %s: volume '%.64s' of pool %.64s has no LUN on this host's target", label,
               svol, rt->pool);
    return NULL;
}

static int new_attr(xmlNodePtr n, const char *name, const char *value)
{
    /* xmlNewProp keeps the value as given; the serializer escapes it. */
    if (!xmlNewProp(n, BAD_CAST name, BAD_CAST value))
        return pool_error_oom();
    return 0;
}

static xmlNodePtr new_elem(xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
    if (!n)
        pool_error_oom();
    return n;
}

/* <source protocol='iscsi' name='IQN/LUN'><host/><initiator><iqn/></initiator>[<auth/>]</source> */
static xmlNodePtr iscsi_source(xmlDocPtr doc, const poolVmRuntime *rt, const char *iqn_name,
                               unsigned lun)
{
    POOL_AUTOFREE(char *) name = pool_asprintf("%s/%u", iqn_name, lun);
    char port[16];
    snprintf(port, sizeof(port), "%u", rt->port);
    if (!name)
        return NULL;
    POOL_AUTOPTR(poolXmlNode) src = xmlNewDocNode(doc, NULL, BAD_CAST "source", NULL);
    if (!src) {
        pool_error_oom();
        return NULL;
    }
    xmlNodePtr host = NULL, ini = NULL, iqn = NULL;
    if (new_attr(src, "protocol", "iscsi") < 0 || new_attr(src, "name", name) < 0 ||
        !(host = new_elem(src, "host")) || new_attr(host, "name", rt->host) < 0 ||
        new_attr(host, "port", port) < 0 || !(ini = new_elem(src, "initiator")) ||
        !(iqn = new_elem(ini, "iqn")) || new_attr(iqn, "name", rt->initiator) < 0)
        return NULL;
    /* the secret by its usage: its value stays in libvirt, never here */
    xmlNodePtr auth = NULL, secret = NULL;
    if (rt->chap_user &&
        (!(auth = new_elem(src, "auth")) || new_attr(auth, "username", rt->chap_user) < 0 ||
         !(secret = new_elem(auth, "secret")) || new_attr(secret, "type", "iscsi") < 0 ||
         new_attr(secret, "usage", rt->chap_usage) < 0))
        return NULL;
    return pool_steal_ptr(&src);
}

/* The layers below a qcow2 top, outermost first, each one
 * <backingStore type='network'><format/><source/><backingStore .../></backingStore>,
 * ended by an empty <backingStore/>: libvirt then opens exactly this chain
 * and never looks for a backing name in an image header. */
static xmlNodePtr backing_chain(xmlDocPtr doc, const poolVmRuntime *rt, const poolVmDiskMap *m)
{
    POOL_AUTOPTR(poolXmlNode) first = xmlNewDocNode(doc, NULL, BAD_CAST "backingStore", NULL);
    if (!first) {
        pool_error_oom();
        return NULL;
    }
    xmlNodePtr cur = first;
    for (size_t i = 0; i < m->nbacking; i++) {
        xmlNodePtr fmt = NULL, src = NULL, next = NULL;
        if (new_attr(cur, "type", "network") < 0 || !(fmt = new_elem(cur, "format")) ||
            new_attr(fmt, "type", m->backing[i].format) < 0 ||
            !(src = iscsi_source(doc, rt, m->iqn, m->backing[i].lun)))
            return NULL;
        if (!xmlAddChild(cur, src)) {
            xmlFreeNode(src);
            pool_error_oom();
            return NULL;
        }
        if (!(next = new_elem(cur, "backingStore")))
            return NULL;
        cur = next;
    }
    return pool_steal_ptr(&first);
}

static int set_driver(xmlDocPtr doc, xmlNodePtr disk, const char *format)
{
    xmlNodePtr have = pool_xml_find_child(disk, "driver", NULL);
    if (have)
        return xmlSetProp(have, BAD_CAST "type", BAD_CAST format) ? 0 : pool_error_oom();
    /* Without a format QEMU would probe the guest-writable contents for
     * one, and a guest could then make its disk look like a qcow2 image
     * pointing at a host file. */
    POOL_AUTOPTR(poolXmlNode) drv = xmlNewDocNode(doc, NULL, BAD_CAST "driver", NULL);
    if (!drv)
        return pool_error_oom();
    if (new_attr(drv, "name", "qemu") < 0 || new_attr(drv, "type", format) < 0)
        return -1;
    xmlNodePtr added =
        disk->children ? xmlAddPrevSibling(disk->children, drv) : xmlAddChild(disk, drv);
    if (!added)
        return pool_error_oom();
    drv = NULL;
    return 0;
}

static int rewrite_disk(xmlDocPtr doc, xmlNodePtr disk, xmlNodePtr old_src, const poolVmRuntime *rt,
                        const poolVmDiskMap *m)
{
    const char *format = m->format ? m->format : "raw";
    xmlNodePtr src = iscsi_source(doc, rt, m->iqn, m->lun);
    if (!src)
        return -1;
    /* Same place among the children: libvirt does not care, but whoever
     * compares the stored and the running XML should see one change. */
    xmlReplaceNode(old_src, src);
    xmlFreeNode(old_src);
    if (!xmlSetProp(disk, BAD_CAST "type", BAD_CAST "network"))
        return pool_error_oom();
    /* A stored <backingStore> names images of its own choosing: the chain
     * is poold's alone. */
    for (xmlNodePtr c = disk->children, next = NULL; c; c = next) {
        next = c->next;
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "backingStore")) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
    if (strcmp(format, "qcow2") == 0) {
        xmlNodePtr chain = backing_chain(doc, rt, m);
        if (!chain)
            return -1;
        if (!xmlAddNextSibling(src, chain)) {
            xmlFreeNode(chain);
            return pool_error_oom();
        }
    }
    return set_driver(doc, disk, format);
}

/* <lease><lockspace/><key/><target path= offset=/></lease>, last in <devices>. */
static int append_lease(xmlDocPtr doc, xmlNodePtr devices, const poolVmDiskMap *m)
{
    char offset[24];
    snprintf(offset, sizeof(offset), "%" PRIu64, m->lease_offset);
    POOL_AUTOPTR(poolXmlNode) lease = xmlNewDocNode(doc, NULL, BAD_CAST "lease", NULL);
    if (!lease)
        return pool_error_oom();
    xmlNodePtr target = NULL;
    /* xmlNewTextChild escapes text; xmlNewChild would parse it as markup. */
    if (!xmlNewTextChild(lease, NULL, BAD_CAST "lockspace", BAD_CAST m->lockspace) ||
        !xmlNewTextChild(lease, NULL, BAD_CAST "key", BAD_CAST m->lease_key))
        return pool_error_oom();
    if (!(target = new_elem(lease, "target")) || new_attr(target, "path", m->lease_path) < 0 ||
        new_attr(target, "offset", offset) < 0)
        return -1;
    if (!xmlAddChild(devices, lease))
        return pool_error_oom();
    lease = NULL;
    return 0;
}

static int rewrite_devices(xmlDocPtr doc, xmlNodePtr devices, const poolVmRuntime *rt, bool *used,
                           size_t *ndisk)
{
    /* Leases go after the last child as it was before any lease was added;
     * the walk skips them since they are not <disk>. */
    for (xmlNodePtr d = devices->children, next = NULL; d; d = next) {
        next = d->next;
        if (!pool_xml_is_element(d, "disk"))
            continue;
        (*ndisk)++;
        POOL_AUTOFREE(char *) dev = NULL;
        xmlNodePtr target = pool_xml_find_child(d, "target", NULL);
        if (target)
            dev = prop(target, "dev");
        POOL_AUTOFREE(char *)
        label = dev && *dev ? pool_asprintf("%.64s", dev) : pool_asprintf("#%zu", *ndisk);
        if (!label)
            return -1;
        xmlNodePtr src = NULL;
        const poolVmDiskMap *m = disk_entry(d, label, rt, used, &src);
        if (!m || rewrite_disk(doc, d, src, rt, m) < 0)
            return -1;
        if (m->lockspace && append_lease(doc, devices, m) < 0) {
            pool_error_prefix("disk %s", label);
            return -1;
        }
    }
    return 0;
}

/* ---- output ----------------------------------------------------------------- */

/* The whole document, not just the root: comments around <domain> are the
 * operator's too. No declaration: libvirt takes the XML as a string and the
 * bytes are UTF-8 whatever the stored declaration said. No XML_SAVE_FORMAT:
 * reformatting would change text content where elements and text mix. */
static char *serialize(xmlDocPtr doc)
{
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf) {
        pool_error_oom();
        return NULL;
    }
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
    if (!save) {
        xmlBufferFree(buf);
        pool_error_oom();
        return NULL;
    }
    long rc = xmlSaveDoc(save, doc);
    if (xmlSaveClose(save) < 0 || rc < 0) {
        xmlBufferFree(buf);
        pool_error(POOL_ERR_NO_MEMORY, "domain XML: cannot serialize the runtime document");
        return NULL;
    }
    size_t n = (size_t)xmlBufferLength(buf);
    char *out = pool_calloc(n + 1, 1);
    if (out)
        memcpy(out, xmlBufferContent(buf), n);
    xmlBufferFree(buf);
    return out;
}

/* ---- entry point ---------------------------------------------------------- */

char *pool_vm_domain_runtime(const char *stored_xml, size_t len, const poolVmRuntime *rt)
{
    if (check_runtime(rt) < 0)
        return NULL;
    POOL_AUTOPTR(poolXmlDoc) doc = pool_xml_read_memory(stored_xml, len, "domain XML");
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!pool_xml_is_element(root, "domain")) {
        pool_error(POOL_ERR_XML, "domain XML: the root element is <%.64s>, expected <domain>",
                   root && root->name ? (const char *)root->name : "");
        return NULL;
    }
    /* One flag per map entry, +1 so an empty map still gets an allocation. */
    POOL_AUTOFREE(bool *) used = pool_calloc(rt->ndisks + 1, sizeof(*used));
    if (!used)
        return NULL;
    size_t ndisk = 0;
    for (xmlNodePtr devs = root->children; devs; devs = devs->next)
        if (pool_xml_is_element(devs, "devices") &&
            rewrite_devices(doc, devs, rt, used, &ndisk) < 0)
            return NULL;
    return serialize(doc);
}
