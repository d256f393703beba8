/*
 * vmstore_record.c: the VM record of the metadata store (pool-vmstore.h) — its
 * XML body (xml-schemas/vmrecord.rng) and the file that carries it.
 *
 * File format, one record per file, <name>.<generation>.vmrec:
 *
 *   "poold-vmrecord 1 0a1b2c3d 1234\n"   the header line, ASCII:
 *       magic      "poold-vmrecord"
 *       version    "1" (a reader refuses any other version)
 *       checksum   CRC32C (Castagnoli, crc32c.c convention: start 0) of
 *                  the body bytes, exactly 8 lowercase hex digits
 *       length     the body's length in bytes, decimal without leading
 *                  zeros, at most 4 MiB
 *     separated by single spaces, ended by one '\n', at most 64 bytes;
 *   then exactly `length` bytes of body: the record as UTF-8 XML.
 * Text rather than a binary header, so an operator can `head -1` a file on
 * the share; no integer in it has an endianness. A file whose header does not
 * parse, whose size does not match the length, or whose body does not match
 * the checksum is refused with a message saying which.
 *
 * Body (elements in any order, each at most once):
 *
 *   <vmrecord version="1">
 *     <name>web01</name>                 VM name: [A-Za-z0-9_.+-]{1,64},
 *                                        not starting with '.'
 *     <uuid>...</uuid>                   the domain's uuid
 *     <generation>3</generation>         0..2^63-1 (0: never stored)
 *     <deleted/>                         optional: a tombstone
 *     <owner host-id="2">hostb</owner>   optional: host running it
 *                                        (host name rules; host-id 1..2000,
 *                                        absent in a pool without locking,
 *                                        which has no host ids)
 *     <modified by="hosta">1700000000</modified>
 *                                        unix seconds and writer host
 *     <disks>                            0..256 pool volumes, no duplicates
 *       <disk pool="pool1" volume="web01-disk"/>
 *     </disks>
 *     <domain>&lt;domain ...</domain>    the libvirt domain XML as text,
 *                                        1 byte..1 MiB, itself well-formed
 *                                        XML with root <domain>
 *   </vmrecord>
 *
 * Invariants: the formatter applies the same checks as the parser (so it
 * never writes what it would refuse to read), and format(parse(x)) is a
 * fixed point. The domain XML is kept verbatim (not re-serialized).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vmstore.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "xml_internal.h"

#define VMREC_MAGIC      "poold-vmrecord"
#define VMREC_VERSION    1
#define VMREC_HEADER_MAX 64
#define VMREC_BODY_MAX   POOL_XML_MAX_SIZE
#define VMREC_GEN_MAX    ((uint64_t)INT64_MAX)

/* ---- names and the in-memory record ------------------------------------- */

static bool vm_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '+' || c == '-';
}

bool pool_vm_name_is_valid(const char *name)
{
    size_t len;

    if (!name || !*name || name[0] == '.')
        return false;
    len = strnlen(name, POOL_VMREC_NAME_MAX + 1);
    if (len > POOL_VMREC_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!vm_name_char(name[i]))
            return false;
    }
    return true;
}

int pool_vm_name_check(const char *name, const char *what)
{
    size_t len;

    if (!name || !*name) {
        pool_error(POOL_ERR_INVALID_ARG, "%s: VM name must not be empty", what);
        return -1;
    }
    len = strnlen(name, POOL_VMREC_NAME_MAX + 1);
    if (len > POOL_VMREC_NAME_MAX) {
        pool_error(POOL_ERR_INVALID_ARG, "%s: VM name '%.64s...' is longer than %d characters",
                   what, name, POOL_VMREC_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (vm_name_char((char)c))
            continue;
        if (c > 0x20 && c < 0x7f)
            pool_error(POOL_ERR_INVALID_ARG,
                       "%s: VM name: character '%c' not allowed (use A-Z a-z 0-9 _ . + -)", what,
                       c);
        else
            pool_error(POOL_ERR_INVALID_ARG,
                       "%s: VM name: character 0x%02x not allowed (use A-Z a-z 0-9 _ . + -)", what,
                       c);
        return -1;
    }
    if (name[0] == '.') {
        pool_error(POOL_ERR_INVALID_ARG, "%s: VM name '%s' must not start with '.'", what, name);
        return -1;
    }
    return 0;
}

void pool_vm_record_free(poolVmRecord *rec)
{
    if (!rec)
        return;
    free(rec->name);
    free(rec->owner_host);
    free(rec->modified_by);
    for (size_t i = 0; i < rec->ndisks && rec->disks; i++) {
        free(rec->disks[i].pool);
        free(rec->disks[i].name);
    }
    free(rec->disks);
    free(rec->domain_xml);
    free(rec);
}

static int copy_str(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : pool_error_oom();
}

poolVmRecord *pool_vm_record_copy(const poolVmRecord *rec)
{
    POOL_AUTOPTR(poolVmRecord) c = NULL;

    if (!rec) {
        pool_error(POOL_ERR_INVALID_ARG, "no VM record to copy");
        return NULL;
    }
    if (!(c = pool_calloc(1, sizeof(*c))))
        return NULL;
    memcpy(c->uuid, rec->uuid, sizeof(c->uuid));
    c->uuid[sizeof(c->uuid) - 1] = '\0';
    c->generation = rec->generation;
    c->deleted = rec->deleted;
    c->owner_host_id = rec->owner_host_id;
    c->modified = rec->modified;
    if (copy_str(&c->name, rec->name) < 0 || copy_str(&c->owner_host, rec->owner_host) < 0 ||
        copy_str(&c->modified_by, rec->modified_by) < 0 ||
        copy_str(&c->domain_xml, rec->domain_xml) < 0)
        return NULL;
    if (rec->ndisks > 0 && rec->disks) {
        if (!(c->disks = pool_calloc(rec->ndisks, sizeof(*c->disks))))
            return NULL;
        c->ndisks = rec->ndisks;
        for (size_t i = 0; i < rec->ndisks; i++) {
            if (copy_str(&c->disks[i].pool, rec->disks[i].pool) < 0 ||
                copy_str(&c->disks[i].name, rec->disks[i].name) < 0)
                return NULL;
        }
    }
    return pool_steal_ptr(&c);
}

/* ---- checks shared by parser and formatter ------------------------------ */

static int check_vm_name_xml(const char *name)
{
    POOL_AUTOFREE(char *) msg = NULL;

    if (pool_vm_name_check(name, "vmrecord <name>") == 0)
        return 0;
    msg = strdup(pool_error_last_message());
    pool_error(POOL_ERR_XML, "%s", msg ? msg : "vmrecord <name>: invalid VM name");
    return -1;
}

static int check_domain(const char *xml)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    xmlNodePtr root;
    size_t len;

    if (!xml || !*xml) {
        pool_error(POOL_ERR_XML, "vmrecord <domain>: the domain XML is empty");
        return -1;
    }
    len = strnlen(xml, POOL_VMREC_DOMAIN_MAX + 1);
    if (len > POOL_VMREC_DOMAIN_MAX) {
        pool_error(POOL_ERR_XML, "vmrecord <domain>: the domain XML is larger than %u bytes",
                   POOL_VMREC_DOMAIN_MAX);
        return -1;
    }
    if (!pool_xml_text_is_clean(xml, len)) {
        pool_error(POOL_ERR_XML,
                   "vmrecord <domain>: text contains control characters or invalid UTF-8");
        return -1;
    }
    if (!(doc = pool_xml_read_memory(xml, len, "vmrecord <domain>")))
        return -1;
    root = xmlDocGetRootElement(doc);
    if (!root || !xmlStrEqual(root->name, BAD_CAST "domain") || root->ns) {
        pool_error(POOL_ERR_XML, "vmrecord <domain>: root element is <%s>, expected <domain>",
                   root ? (const char *)root->name : "");
        return -1;
    }
    return 0;
}

static int record_check(const poolVmRecord *rec)
{
    if (check_vm_name_xml(rec->name) < 0 || pool_xml_check_uuid(rec->uuid, "vmrecord <uuid>") < 0)
        return -1;
    if (rec->generation > VMREC_GEN_MAX) {
        pool_error(POOL_ERR_XML, "vmrecord <generation>: %" PRIu64 " is out of range 0..%" PRIu64,
                   rec->generation, VMREC_GEN_MAX);
        return -1;
    }
    if (rec->owner_host) {
        if (pool_xml_check_name(POOL_NAME_HOST, rec->owner_host, "vmrecord <owner>") < 0)
            return -1;
        if (rec->owner_host_id > POOL_VMREC_HOST_ID_MAX) {
            pool_error(POOL_ERR_XML, "vmrecord <owner>: host-id %u is out of range 1..%d",
                       rec->owner_host_id, POOL_VMREC_HOST_ID_MAX);
            return -1;
        }
    } else if (rec->owner_host_id != 0) {
        pool_error(POOL_ERR_XML, "vmrecord <owner>: host-id %u given without an owner host",
                   rec->owner_host_id);
        return -1;
    }
    if (rec->modified < 0) {
        pool_error(POOL_ERR_XML, "vmrecord <modified>: %" PRId64 " is negative", rec->modified);
        return -1;
    }
    if (!rec->modified_by) {
        pool_error(POOL_ERR_XML, "vmrecord <modified>: missing the writing host ('by')");
        return -1;
    }
    if (pool_xml_check_name(POOL_NAME_HOST, rec->modified_by, "vmrecord <modified> by") < 0)
        return -1;
    if (rec->ndisks > POOL_VMREC_DISKS_MAX) {
        pool_error(POOL_ERR_XML, "vmrecord <disks>: %zu disks, at most %d allowed", rec->ndisks,
                   POOL_VMREC_DISKS_MAX);
        return -1;
    }
    if (rec->ndisks > 0 && !rec->disks) {
        pool_error(POOL_ERR_XML, "vmrecord <disks>: %zu disks but no list", rec->ndisks);
        return -1;
    }
    for (size_t i = 0; i < rec->ndisks; i++) {
        const poolVmDisk *d = &rec->disks[i];

        if (pool_xml_check_name(POOL_NAME_POOL, d->pool, "vmrecord <disk> pool") < 0 ||
            pool_xml_check_name(POOL_NAME_VOLUME, d->name, "vmrecord <disk> volume") < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(rec->disks[j].pool, d->pool) == 0 &&
                strcmp(rec->disks[j].name, d->name) == 0) {
                pool_error(POOL_ERR_XML, "vmrecord <disks>: duplicate disk %s/%s", d->pool,
                           d->name);
                return -1;
            }
        }
    }
    return check_domain(rec->domain_xml);
}

/* ---- parsing ------------------------------------------------------------ */

enum {
    EL_NAME,
    EL_UUID,
    EL_GENERATION,
    EL_DELETED,
    EL_OWNER,
    EL_MODIFIED,
    EL_DISKS,
    EL_DOMAIN,
    EL_LAST,
};

static const char *const rec_elements[EL_LAST] = {
    "name", "uuid", "generation", "deleted", "owner", "modified", "disks", "domain",
};

static const bool rec_required[EL_LAST] = {
    [EL_NAME] = true,     [EL_UUID] = true,  [EL_GENERATION] = true,
    [EL_MODIFIED] = true, [EL_DISKS] = true, [EL_DOMAIN] = true,
};

static int parse_disks(xmlNodePtr node, poolVmRecord *rec)
{
    static const char *const attrs[] = {"pool", "volume", NULL};
    xmlNodePtr cur = NULL;
    int err = 0;

    if (pool_xml_check_attrs(node, NULL) < 0)
        return -1;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        poolVmDisk *d;

        if (!pool_xml_is_element(cur, "disk")) {
            pool_error(POOL_ERR_XML, "vmrecord <disks>: unknown element <%s>",
                       (const char *)cur->name);
            return -1;
        }
        if (rec->ndisks >= POOL_VMREC_DISKS_MAX) {
            pool_error(POOL_ERR_XML, "vmrecord <disks>: more than %d disks", POOL_VMREC_DISKS_MAX);
            return -1;
        }
        if (pool_realloc_n(&rec->disks, rec->ndisks + 1, sizeof(*rec->disks)) < 0)
            return -1;
        d = &rec->disks[rec->ndisks++];
        memset(d, 0, sizeof(*d));
        if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr(cur, "pool", true, &d->pool) < 0 ||
            pool_xml_get_attr(cur, "volume", true, &d->name) < 0)
            return -1;
    }
    return err;
}

static int parse_element(xmlNodePtr cur, int which, poolVmRecord *rec)
{
    static const char *const owner_attrs[] = {"host-id", NULL};
    static const char *const modified_attrs[] = {"by", NULL};
    POOL_AUTOFREE(char *) text = NULL;
    uint64_t v = 0;
    bool present = false;

    switch (which) {
    case EL_NAME:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &rec->name) < 0)
            return -1;
        return check_vm_name_xml(rec->name);
    case EL_UUID:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &text) < 0 ||
            pool_xml_check_uuid(text, "vmrecord <uuid>") < 0)
            return -1;
        memcpy(rec->uuid, text, 37);
        return 0;
    case EL_GENERATION:
        if (pool_xml_get_u64(cur, 0, VMREC_GEN_MAX, &rec->generation) < 0)
            return -1;
        return 0;
    case EL_DELETED:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_check_empty(cur) < 0)
            return -1;
        rec->deleted = true;
        return 0;
    case EL_OWNER:
        if (pool_xml_check_attrs(cur, owner_attrs) < 0 ||
            pool_xml_get_attr_u64(cur, "host-id", false, 1, POOL_VMREC_HOST_ID_MAX, &v, &present) <
                0 ||
            pool_xml_get_text(cur, &rec->owner_host) < 0)
            return -1;
        rec->owner_host_id = present ? (unsigned)v : 0;
        return pool_xml_check_name(POOL_NAME_HOST, rec->owner_host, "vmrecord <owner>");
    case EL_MODIFIED:
        if (pool_xml_check_attrs(cur, modified_attrs) < 0 ||
            pool_xml_get_attr(cur, "by", true, &rec->modified_by) < 0 ||
            pool_xml_check_name(POOL_NAME_HOST, rec->modified_by, "vmrecord <modified> by") < 0 ||
            pool_xml_get_text(cur, &text) < 0 ||
            pool_xml_parse_u64(text, "vmrecord <modified>", 0, INT64_MAX, &v) < 0)
            return -1;
        rec->modified = (int64_t)v;
        return 0;
    case EL_DISKS:
        return parse_disks(cur, rec);
    case EL_DOMAIN:
        /* checked (size, well-formed) with the whole record */
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &rec->domain_xml) < 0)
            return -1;
        return 0;
    }
    pool_error(POOL_ERR_INTERNAL, "unhandled vmrecord element %d", which);
    return -1;
}

static poolVmRecord *record_parse_node(xmlNodePtr node)
{
    static const char *const root_attrs[] = {"version", NULL};
    POOL_AUTOPTR(poolVmRecord) rec = NULL;
    bool seen[EL_LAST] = {false};
    xmlNodePtr cur = NULL;
    uint64_t version = 0;
    int err = 0;

    if (!pool_xml_is_element(node, "vmrecord")) {
        pool_error(POOL_ERR_XML, "expected a <vmrecord> element (without namespace), got <%s>",
                   node && node->name ? (const char *)node->name : "(none)");
        return NULL;
    }
    if (pool_xml_check_attrs(node, root_attrs) < 0 ||
        pool_xml_get_attr_u64(node, "version", true, 0, UINT32_MAX, &version, NULL) < 0)
        return NULL;
    if (version != VMREC_VERSION) {
        pool_error(POOL_ERR_XML, "vmrecord: unsupported version %" PRIu64 " (expected %d)", version,
                   VMREC_VERSION);
        return NULL;
    }
    if (!(rec = pool_calloc(1, sizeof(*rec))))
        return NULL;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        int which = pool_xml_child_index(cur, rec_elements, EL_LAST, seen, "vmrecord");

        if (which < 0 || parse_element(cur, which, rec) < 0)
            return NULL;
    }
    if (err < 0)
        return NULL;
    if (pool_xml_check_required(rec_elements, rec_required, seen, EL_LAST, "vmrecord") < 0)
        return NULL;
    if (record_check(rec) < 0)
        return NULL;
    return pool_steal_ptr(&rec);
}

poolVmRecord *pool_vm_record_parse(const char *xml, size_t len)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;

    if (!(doc = pool_xml_read_memory(xml, len, "VM record")))
        return NULL;
    return record_parse_node(xmlDocGetRootElement(doc));
}

/* ---- formatting --------------------------------------------------------- */

static xmlNodePtr record_format_node(const poolVmRecord *rec)
{
    POOL_AUTOPTR(poolXmlNode) root = NULL;
    xmlNodePtr node = NULL;
    xmlNodePtr disks = NULL;
    char buf[32];

    if (!rec) {
        pool_error(POOL_ERR_INTERNAL, "no VM record to format");
        return NULL;
    }
    if (record_check(rec) < 0)
        return NULL;
    if (!(root = xmlNewNode(NULL, BAD_CAST "vmrecord"))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_xml_set_attr_u64(root, "version", VMREC_VERSION) < 0 ||
        !pool_xml_new_text_child(root, "name", rec->name) ||
        !pool_xml_new_text_child(root, "uuid", rec->uuid) ||
        !pool_xml_new_u64_child(root, "generation", rec->generation))
        return NULL;
    if (rec->deleted && !xmlNewChild(root, NULL, BAD_CAST "deleted", NULL)) {
        pool_error_oom();
        return NULL;
    }
    if (rec->owner_host) {
        if (!(node = pool_xml_new_text_child(root, "owner", rec->owner_host)) ||
            (rec->owner_host_id && pool_xml_set_attr_u64(node, "host-id", rec->owner_host_id) < 0))
            return NULL;
    }
    snprintf(buf, sizeof(buf), "%" PRId64, rec->modified);
    if (!(node = pool_xml_new_text_child(root, "modified", buf)) ||
        pool_xml_set_attr(node, "by", rec->modified_by) < 0)
        return NULL;
    if (!(disks = xmlNewChild(root, NULL, BAD_CAST "disks", NULL))) {
        pool_error_oom();
        return NULL;
    }
    for (size_t i = 0; i < rec->ndisks; i++) {
        if (!(node = xmlNewChild(disks, NULL, BAD_CAST "disk", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr(node, "pool", rec->disks[i].pool) < 0 ||
            pool_xml_set_attr(node, "volume", rec->disks[i].name) < 0)
            return NULL;
    }
    if (!pool_xml_new_text_child(root, "domain", rec->domain_xml))
        return NULL;
    return pool_steal_ptr(&root);
}

static char *record_format(const poolVmRecord *rec, size_t *len)
{
    POOL_AUTOPTR(poolXmlNode) node = NULL;
    char *xml = NULL;
    size_t n = 0;

    if (!(node = record_format_node(rec)))
        return NULL;
    if (!(xml = pool_xml_node_to_string(node, &n)))
        return NULL;
    /* Escaping can grow the domain XML ("<" is 4 bytes as "&lt;"): never
     * write a body the parser would refuse as too large. */
    if (n > VMREC_BODY_MAX) {
        pool_error(POOL_ERR_XML, "VM record '%s' is too large (%zu bytes formatted, limit %u)",
                   rec->name, n, VMREC_BODY_MAX);
        free(xml);
        return NULL;
    }
    if (len)
        *len = n;
    return xml;
}

char *pool_vm_record_format(const poolVmRecord *rec)
{
    return record_format(rec, NULL);
}

/* ---- the file: header line + body --------------------------------------- */

char *pool_vm_record_file_encode(const poolVmRecord *rec, size_t *len)
{
    POOL_AUTOFREE(char *) body = NULL;
    char header[VMREC_HEADER_MAX + 1];
    size_t blen = 0;
    char *out;
    int hlen;

    if (len)
        *len = 0;
    if (!(body = record_format(rec, &blen)))
        return NULL;
    hlen = snprintf(header, sizeof(header), "%s %d %08" PRIx32 " %zu\n", VMREC_MAGIC, VMREC_VERSION,
                    pool_crc32c(0, body, blen), blen);
    if (hlen < 0 || (size_t)hlen >= sizeof(header)) {
        pool_error(POOL_ERR_INTERNAL, "VM record header does not fit");
        return NULL;
    }
    if (!(out = malloc((size_t)hlen + blen + 1))) {
        pool_error_oom();
        return NULL;
    }
    memcpy(out, header, (size_t)hlen);
    memcpy(out + hlen, body, blen);
    out[(size_t)hlen + blen] = '\0';
    if (len)
        *len = (size_t)hlen + blen;
    return out;
}

/* Parse a field of the header: [start, end) must be digits (base 10) or
 * lowercase hex digits (base 16). */
static bool header_number(const char *s, size_t n, int base, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d;
        char c = s[i];

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        if (v > (max - d) / (unsigned)base)
            return false;
        v = v * (unsigned)base + d;
    }
    *out = v;
    return true;
}

poolVmRecord *pool_vm_record_file_decode(const char *data, size_t len)
{
    const char *nl;
    const char *p;
    const char *fields[4];
    size_t flen[4];
    size_t nfields = 0;
    size_t hlen;
    uint64_t version = 0;
    uint64_t crc = 0;
    uint64_t blen = 0;
    uint32_t actual;

    if (!data || len == 0) {
        pool_error(POOL_ERR_XML, "VM record file: empty");
        return NULL;
    }
    nl = memchr(data, '\n', len < VMREC_HEADER_MAX ? len : VMREC_HEADER_MAX);
    if (!nl) {
        pool_error(POOL_ERR_XML,
                   "VM record file: no header line (expected \"%s %d <crc32c> "
                   "<length>\" in the first %d bytes)",
                   VMREC_MAGIC, VMREC_VERSION, VMREC_HEADER_MAX);
        return NULL;
    }
    hlen = (size_t)(nl - data) + 1;
    {
        size_t mlen = strlen(VMREC_MAGIC);

        if (hlen < mlen + 1 || memcmp(data, VMREC_MAGIC, mlen) != 0 ||
            (data[mlen] != ' ' && data[mlen] != '\n')) {
            pool_error(POOL_ERR_XML, "VM record file: bad magic (not a \"%s\" file)", VMREC_MAGIC);
            return NULL;
        }
    }
    /* Split the header at single spaces into exactly four fields; an empty
     * field (double or trailing space) makes it malformed. */
    p = data;
    while (p < nl) {
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        const char *end = sp ? sp : nl;

        if (nfields == 4 || end == p || (sp && sp + 1 == nl)) {
            nfields = 0;
            break;
        }
        fields[nfields] = p;
        flen[nfields++] = (size_t)(end - p);
        p = sp ? sp + 1 : nl;
    }
    if (nfields != 4) {
        pool_error(POOL_ERR_XML,
                   "VM record file: malformed header line (expected \"%s %d "
                   "<crc32c> <length>\")",
                   VMREC_MAGIC, VMREC_VERSION);
        return NULL;
    }
    if (!header_number(fields[1], flen[1], 10, UINT32_MAX, &version) ||
        (flen[1] > 1 && fields[1][0] == '0')) {
        pool_error(POOL_ERR_XML, "VM record file: malformed version '%.*s'", (int)flen[1],
                   fields[1]);
        return NULL;
    }
    if (version != VMREC_VERSION) {
        pool_error(POOL_ERR_XML, "VM record file: unsupported version %" PRIu64 " (expected %d)",
                   version, VMREC_VERSION);
        return NULL;
    }
    if (flen[2] != 8 || !header_number(fields[2], flen[2], 16, UINT32_MAX, &crc)) {
        pool_error(POOL_ERR_XML,
                   "VM record file: malformed checksum '%.*s' (expected 8 lowercase hex digits)",
                   (int)(flen[2] > 16 ? 16 : flen[2]), fields[2]);
        return NULL;
    }
    if (!header_number(fields[3], flen[3], 10, VMREC_BODY_MAX, &blen) ||
        (flen[3] > 1 && fields[3][0] == '0')) {
        pool_error(POOL_ERR_XML,
                   "VM record file: malformed body length '%.*s' (decimal, at most %u)",
                   (int)(flen[3] > 16 ? 16 : flen[3]), fields[3], VMREC_BODY_MAX);
        return NULL;
    }
    if (len - hlen != blen) {
        pool_error(POOL_ERR_XML,
                   "VM record file: length mismatch: header says %" PRIu64
                   " body bytes, file has %zu (truncated or extended)",
                   blen, len - hlen);
        return NULL;
    }
    actual = pool_crc32c(0, data + hlen, (size_t)blen);
    if (actual != (uint32_t)crc) {
        pool_error(POOL_ERR_XML,
                   "VM record file: checksum mismatch: header says %08" PRIx32
                   ", body has %08" PRIx32 " (corrupted)",
                   (uint32_t)crc, actual);
        return NULL;
    }
    return pool_vm_record_parse(data + hlen, (size_t)blen);
}
