/*
 * xml_pool.c: the pool document (schema xml-schemas/pool.rng).
 *
 *   <pool type="poold">
 *     <name>pool1</name>
 *     <uuid>...</uuid>
 *     <format version="1"/>
 *     <source><device path="/dev/loop0"/>...</source>
 *     <extent-size unit="bytes">4194304</extent-size>
 *     <host-ids>2000</host-ids>
 *     <lease-slots>2000</lease-slots>
 *     <locking type="sanlock" io-timeout="10"/>    (optional: absent = none)
 *     <host-id>3</host-id>                         (optional: this host's id)
 *     <metadata-store url="nfs://srv/exp/vms" timeout-ms="5000"/>  (optional)
 *     <status>...</status>                         (optional, output only; its
 *       <metadata-size>/<metadata-free>, the VG's LVM metadata area, optional)
 *   </pool>
 *
 * Why strict: the pool document is what an operator hands to `poolctl pool
 * define`, and what every host reads back to learn the pool's layout. A
 * typo'd element silently ignored, or an out-of-range host-ids value, would
 * become a wrong VG or lockspace on shared storage. So parsing rejects
 * unknown elements and attributes, duplicates, missing required elements and
 * every value outside its documented range, and formatting checks the same
 * rules before it writes a document the parser would refuse.
 *
 * Children of <pool> and <status> may come in any order (the schema uses
 * <interleave>); the formatter always writes the canonical order with sizes
 * in bytes, so parse(format(def)) equals def and format is a fixed point.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "xml_internal.h"

#define MIB                  (UINT64_C(1) << 20)
#define POOL_EXTENT_MIN      MIB
#define POOL_EXTENT_MAX      (UINT64_C(1) << 30)
#define POOL_HOST_IDS_MAX    2000
#define POOL_LEASE_SLOTS_MAX 65535
#define POOL_FORMAT_VERSION  1
#define POOL_MAX_DEVICES     1024
#define POOL_BYTES_MAX       ((uint64_t)INT64_MAX)

void pool_pool_def_free(poolPoolDef *def)
{
    if (!def)
        return;
    free(def->name);
    free(def->store_url);
    if (def->devices) {
        for (size_t i = 0; def->devices[i]; i++)
            free(def->devices[i]);
        free(def->devices);
    }
    pool_xml_segments_free(def->ids_segments, def->nids_segments);
    pool_xml_segments_free(def->leases_segments, def->nleases_segments);
    free(def);
}

/* Semantic rules shared by the parser (after reading) and the formatter
 * (before writing). */
static int pool_def_check(const poolPoolDef *def)
{
    size_t ndev = 0;

    if (pool_xml_check_name(POOL_NAME_POOL, def->name, "pool <name>") < 0 ||
        pool_xml_check_uuid(def->uuid, "pool <uuid>") < 0)
        return -1;
    if (def->format_version != POOL_FORMAT_VERSION) {
        pool_error(POOL_ERR_XML, "pool <format>: unsupported version %u (expected %d)",
                   def->format_version, POOL_FORMAT_VERSION);
        return -1;
    }
    if (def->devices) {
        while (def->devices[ndev])
            ndev++;
    }
    if (ndev == 0) {
        pool_error(POOL_ERR_XML, "pool <source>: at least one <device> is required");
        return -1;
    }
    if (ndev > POOL_MAX_DEVICES) {
        pool_error(POOL_ERR_XML, "pool <source>: too many devices (%zu, limit %d)", ndev,
                   POOL_MAX_DEVICES);
        return -1;
    }
    for (size_t i = 0; i < ndev; i++) {
        if (pool_xml_check_path(def->devices[i], "pool <source> <device>", POOL_ERR_XML) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(def->devices[i], def->devices[j]) == 0) {
                pool_error(POOL_ERR_XML, "pool <source>: device '%.256s' is listed twice",
                           def->devices[i]);
                return -1;
            }
        }
    }
    if (def->extent_size < POOL_EXTENT_MIN || def->extent_size > POOL_EXTENT_MAX ||
        def->extent_size % MIB != 0) {
        pool_error(POOL_ERR_XML,
                   "pool <extent-size>: %" PRIu64
                   " bytes is not a multiple of 1 MiB between 1 MiB and 1 GiB",
                   def->extent_size);
        return -1;
    }
    if (def->host_ids < 1 || def->host_ids > POOL_HOST_IDS_MAX) {
        pool_error(POOL_ERR_XML, "pool <host-ids>: %u is out of range 1..%d", def->host_ids,
                   POOL_HOST_IDS_MAX);
        return -1;
    }
    if (def->lease_slots < 1 || def->lease_slots > POOL_LEASE_SLOTS_MAX) {
        pool_error(POOL_ERR_XML, "pool <lease-slots>: %u is out of range 1..%d", def->lease_slots,
                   POOL_LEASE_SLOTS_MAX);
        return -1;
    }
    if (def->locking != POOL_LOCKING_NONE && def->locking != POOL_LOCKING_SANLOCK) {
        pool_error(POOL_ERR_XML, "pool <locking>: unknown locking %d", def->locking);
        return -1;
    }
    if (def->locking == POOL_LOCKING_SANLOCK &&
        (def->io_timeout < POOL_IO_TIMEOUT_MIN || def->io_timeout > POOL_IO_TIMEOUT_MAX)) {
        pool_error(POOL_ERR_XML, "pool <locking>: io-timeout %u is out of range %d..%d s",
                   def->io_timeout, POOL_IO_TIMEOUT_MIN, POOL_IO_TIMEOUT_MAX);
        return -1;
    }
    if (def->host_id > def->host_ids) {
        pool_error(POOL_ERR_XML, "pool <host-id>: %u is out of range 1..%u", def->host_id,
                   def->host_ids);
        return -1;
    }
    if (def->host_id && def->locking != POOL_LOCKING_SANLOCK) {
        pool_error(POOL_ERR_XML, "pool <host-id>: only sanlock pools have host ids");
        return -1;
    }
    if (def->store_url && pool_store_url_check(def->store_url) < 0) {
        pool_error_prefix("pool <metadata-store>");
        return -1;
    }
    if (!def->store_url && def->store_timeout_ms) {
        pool_error(POOL_ERR_XML, "pool <metadata-store>: a timeout without a url");
        return -1;
    }
    if (def->store_timeout_ms && (def->store_timeout_ms < POOL_STORE_TIMEOUT_MIN_MS ||
                                  def->store_timeout_ms > POOL_STORE_TIMEOUT_MAX_MS)) {
        pool_error(POOL_ERR_XML, "pool <metadata-store>: timeout-ms %u is out of range %d..%d",
                   def->store_timeout_ms, POOL_STORE_TIMEOUT_MIN_MS, POOL_STORE_TIMEOUT_MAX_MS);
        return -1;
    }
    if (!def->has_status)
        return 0;
    if (def->capacity > POOL_BYTES_MAX || def->allocation > POOL_BYTES_MAX ||
        def->available > POOL_BYTES_MAX) {
        pool_error(POOL_ERR_XML, "pool <status>: size out of range");
        return -1;
    }
    if (def->nids_segments > 0 &&
        pool_xml_check_segments(def->ids_segments, def->nids_segments, "pool <lv name='ids'>") < 0)
        return -1;
    if (def->nleases_segments > 0 &&
        pool_xml_check_segments(def->leases_segments, def->nleases_segments,
                                "pool <lv name='leases'>") < 0)
        return -1;
    return 0;
}

/* ---- parsing ------------------------------------------------------------- */

static int parse_source(xmlNodePtr node, poolPoolDef *def)
{
    static const char *const attrs[] = {"path", NULL};
    xmlNodePtr cur = NULL;
    size_t n = 0;
    int err = 0;

    if (pool_xml_check_attrs(node, NULL) < 0)
        return -1;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        char *path = NULL;
        char **tmp;

        if (!pool_xml_is_element(cur, "device")) {
            pool_error(POOL_ERR_XML, "pool <source>: unknown element <%s>",
                       (const char *)cur->name);
            return -1;
        }
        if (n >= POOL_MAX_DEVICES) {
            pool_error(POOL_ERR_XML, "pool <source>: too many devices (limit %d)",
                       POOL_MAX_DEVICES);
            return -1;
        }
        if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr(cur, "path", true, &path) < 0)
            return -1;
        tmp = realloc(def->devices, (n + 2) * sizeof(*tmp));
        if (!tmp) {
            free(path);
            return pool_error_oom();
        }
        def->devices = tmp;
        def->devices[n++] = path;
        def->devices[n] = NULL;
        if (pool_xml_check_path(path, "pool <source> <device>", POOL_ERR_XML) < 0)
            return -1;
        for (size_t j = 0; j + 1 < n; j++) {
            if (strcmp(def->devices[j], path) == 0) {
                pool_error(POOL_ERR_XML, "pool <source>: device '%.256s' is listed twice", path);
                return -1;
            }
        }
    }
    if (err < 0)
        return -1;
    if (n == 0) {
        pool_error(POOL_ERR_XML, "pool <source>: at least one <device> is required");
        return -1;
    }
    return 0;
}

static int parse_lv(xmlNodePtr node, poolPoolDef *def, bool *seen_ids, bool *seen_leases)
{
    static const char *const attrs[] = {"name", NULL};
    POOL_AUTOFREE(char *) name = NULL;

    if (pool_xml_check_attrs(node, attrs) < 0 || pool_xml_get_attr(node, "name", true, &name) < 0)
        return -1;
    if (strcmp(name, "ids") == 0) {
        if (*seen_ids) {
            pool_error(POOL_ERR_XML, "pool <status>: duplicate <lv name='ids'>");
            return -1;
        }
        *seen_ids = true;
        return pool_xml_parse_segments(node, "pool <lv name='ids'>", &def->ids_segments,
                                       &def->nids_segments);
    }
    if (strcmp(name, "leases") == 0) {
        if (*seen_leases) {
            pool_error(POOL_ERR_XML, "pool <status>: duplicate <lv name='leases'>");
            return -1;
        }
        *seen_leases = true;
        return pool_xml_parse_segments(node, "pool <lv name='leases'>", &def->leases_segments,
                                       &def->nleases_segments);
    }
    pool_error(POOL_ERR_XML, "pool <status>: unknown lv name '%.64s' (expected ids or leases)",
               name);
    return -1;
}

enum {
    ST_CAPACITY,
    ST_ALLOCATION,
    ST_AVAILABLE,
    ST_VOLUMES,
    ST_SEQNO,
    ST_MDA_SIZE,
    ST_MDA_FREE,
    ST_LAST,
};

static int parse_status(xmlNodePtr node, poolPoolDef *def)
{
    static const char *const names[ST_LAST] = {"capacity",     "allocation", "available",
                                               "volumes",      "seqno",      "metadata-size",
                                               "metadata-free"};
    /* the metadata area: optional, as older poold replies lack it */
    static const bool required[ST_LAST] = {true, true, true, true, true, false, false};
    bool seen[ST_LAST] = {false};
    bool seen_ids = false;
    bool seen_leases = false;
    xmlNodePtr cur = NULL;
    int err = 0;

    if (pool_xml_check_attrs(node, NULL) < 0)
        return -1;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        uint64_t v = 0;
        int which = -1;

        if (pool_xml_is_element(cur, "lv")) {
            if (parse_lv(cur, def, &seen_ids, &seen_leases) < 0)
                return -1;
            continue;
        }
        if ((which = pool_xml_child_index(cur, names, ST_LAST, seen, "pool <status>")) < 0)
            return -1;
        switch (which) {
        case ST_CAPACITY:
            if (pool_xml_get_size(cur, 0, POOL_BYTES_MAX, &def->capacity) < 0)
                return -1;
            break;
        case ST_ALLOCATION:
            if (pool_xml_get_size(cur, 0, POOL_BYTES_MAX, &def->allocation) < 0)
                return -1;
            break;
        case ST_AVAILABLE:
            if (pool_xml_get_size(cur, 0, POOL_BYTES_MAX, &def->available) < 0)
                return -1;
            break;
        case ST_VOLUMES:
            if (pool_xml_get_u64(cur, 0, UINT32_MAX, &v) < 0)
                return -1;
            def->volume_count = (unsigned)v;
            break;
        case ST_SEQNO:
            if (pool_xml_get_u64(cur, 0, UINT64_MAX, &def->seqno) < 0)
                return -1;
            break;
        case ST_MDA_SIZE:
            if (pool_xml_get_size(cur, 0, POOL_BYTES_MAX, &def->metadata_size) < 0)
                return -1;
            break;
        case ST_MDA_FREE:
            if (pool_xml_get_size(cur, 0, POOL_BYTES_MAX, &def->metadata_free) < 0)
                return -1;
            break;
        }
    }
    if (err < 0)
        return -1;
    if (pool_xml_check_required(names, required, seen, ST_LAST, "pool <status>") < 0)
        return -1;
    def->has_status = true;
    return 0;
}

enum {
    EL_NAME,
    EL_UUID,
    EL_FORMAT,
    EL_SOURCE,
    EL_EXTENT_SIZE,
    EL_HOST_IDS,
    EL_LEASE_SLOTS,
    EL_LOCKING,
    EL_HOST_ID,
    EL_STORE,
    EL_STATUS,
    EL_LAST,
};

static const char *const pool_elements[EL_LAST] = {
    "name",        "uuid",    "format",  "source",         "extent-size", "host-ids",
    "lease-slots", "locking", "host-id", "metadata-store", "status",
};
/* everything but <locking>, <host-id>, <metadata-store> and <status> */
static const bool pool_required[EL_LAST] = {
    true, true, true, true, true, true, true, false, false, false, false,
};

int pool_store_url_check(const char *url)
{
    size_t len = url ? strnlen(url, POOL_STORE_URL_MAX + 1) : 0;
    if (len == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store URL is empty");
        return -1;
    }
    if (len > POOL_STORE_URL_MAX) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store URL is longer than %d bytes",
                   POOL_STORE_URL_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "metadata store URL: byte 0x%02x not allowed (printable ASCII, no spaces)",
                       (unsigned char)url[i]);
            return -1;
        }
    if (url[0] == '/')
        return 0;
    if (strncmp(url, "nfs://", 6) != 0 || !url[6] || url[6] == '/') {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL '%.128s': expected nfs://server[:port]/export/path or an "
                   "absolute directory path",
                   url);
        return -1;
    }
    const char *slash = strchr(url + 6, '/');
    if (!slash || !slash[1]) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL '%.128s': no export path after the server (expected "
                   "nfs://server[:port]/export/path)",
                   url);
        return -1;
    }
    return 0;
}

static int parse_store(xmlNodePtr cur, poolPoolDef *def)
{
    static const char *const attrs[] = {"url", "timeout-ms", NULL};
    uint64_t v = 0;
    bool have = false;
    if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
        pool_xml_get_attr(cur, "url", true, &def->store_url) < 0)
        return -1;
    if (pool_store_url_check(def->store_url) < 0) {
        POOL_AUTOFREE(char *) msg = strdup(pool_error_last_message());
        pool_error(POOL_ERR_XML, "pool <metadata-store>: %s", msg ? msg : "bad url");
        return -1;
    }
    if (pool_xml_get_attr_u64(cur, "timeout-ms", false, POOL_STORE_TIMEOUT_MIN_MS,
                              POOL_STORE_TIMEOUT_MAX_MS, &v, &have) < 0)
        return -1;
    def->store_timeout_ms = have ? (unsigned)v : 0;
    return 0;
}

const char *pool_locking_name(int locking)
{
    return locking == POOL_LOCKING_SANLOCK ? "sanlock" : "none";
}

int pool_locking_parse(const char *text, int *locking)
{
    if (text && strcmp(text, "sanlock") == 0)
        *locking = POOL_LOCKING_SANLOCK;
    else if (text && strcmp(text, "none") == 0)
        *locking = POOL_LOCKING_NONE;
    else {
        pool_error(POOL_ERR_INVALID_ARG, "unknown locking '%.64s' (expected sanlock or none)",
                   text ? text : "");
        return -1;
    }
    return 0;
}

static int parse_locking(xmlNodePtr cur, poolPoolDef *def)
{
    static const char *const attrs[] = {"type", "io-timeout", NULL};
    POOL_AUTOFREE(char *) type = NULL;
    uint64_t v = 0;
    bool have = false;
    if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
        pool_xml_get_attr(cur, "type", true, &type) < 0)
        return -1;
    if (pool_locking_parse(type, &def->locking) < 0) {
        pool_error(POOL_ERR_XML, "pool <locking>: unknown type '%.64s' (expected sanlock or none)",
                   type);
        return -1;
    }
    if (pool_xml_get_attr_u64(cur, "io-timeout", false, POOL_IO_TIMEOUT_MIN, POOL_IO_TIMEOUT_MAX,
                              &v, &have) < 0)
        return -1;
    if (def->locking == POOL_LOCKING_SANLOCK)
        def->io_timeout = have ? (unsigned)v : POOL_IO_TIMEOUT_DEFAULT;
    else if (have) {
        pool_error(POOL_ERR_XML, "pool <locking type='none'>: io-timeout only applies to sanlock");
        return -1;
    }
    return 0;
}

static int parse_element(xmlNodePtr cur, int which, poolPoolDef *def)
{
    static const char *const version_attrs[] = {"version", NULL};
    POOL_AUTOFREE(char *) text = NULL;
    uint64_t v = 0;

    switch (which) {
    case EL_NAME:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &def->name) < 0)
            return -1;
        return pool_xml_check_name(POOL_NAME_POOL, def->name, "pool <name>");
    case EL_UUID:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &text) < 0 ||
            pool_xml_check_uuid(text, "pool <uuid>") < 0)
            return -1;
        memcpy(def->uuid, text, 37);
        return 0;
    case EL_FORMAT:
        if (pool_xml_check_attrs(cur, version_attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr_u64(cur, "version", true, POOL_FORMAT_VERSION, POOL_FORMAT_VERSION,
                                  &v, NULL) < 0)
            return -1;
        def->format_version = (unsigned)v;
        return 0;
    case EL_SOURCE:
        return parse_source(cur, def);
    case EL_EXTENT_SIZE:
        if (pool_xml_get_size(cur, POOL_EXTENT_MIN, POOL_EXTENT_MAX, &def->extent_size) < 0)
            return -1;
        if (def->extent_size % MIB != 0) {
            pool_error(POOL_ERR_XML,
                       "pool <extent-size>: %" PRIu64 " bytes is not a multiple of 1 MiB",
                       def->extent_size);
            return -1;
        }
        return 0;
    case EL_HOST_IDS:
        if (pool_xml_get_u64(cur, 1, POOL_HOST_IDS_MAX, &v) < 0)
            return -1;
        def->host_ids = (unsigned)v;
        return 0;
    case EL_LEASE_SLOTS:
        if (pool_xml_get_u64(cur, 1, POOL_LEASE_SLOTS_MAX, &v) < 0)
            return -1;
        def->lease_slots = (unsigned)v;
        return 0;
    case EL_LOCKING:
        return parse_locking(cur, def);
    case EL_HOST_ID:
        if (pool_xml_get_u64(cur, 1, POOL_HOST_IDS_MAX, &v) < 0)
            return -1;
        def->host_id = (unsigned)v;
        return 0;
    case EL_STORE:
        return parse_store(cur, def);
    case EL_STATUS:
        return parse_status(cur, def);
    }
    pool_error(POOL_ERR_INTERNAL, "unhandled pool element %d", which);
    return -1;
}

poolPoolDef *pool_pool_def_parse_node(xmlNodePtr node)
{
    static const char *const attrs[] = {"type", NULL};
    POOL_AUTOPTR(poolPoolDef) def = NULL;
    POOL_AUTOFREE(char *) type = NULL;
    bool seen[EL_LAST] = {false};
    xmlNodePtr cur = NULL;
    int err = 0;

    if (!pool_xml_is_element(node, "pool")) {
        pool_error(POOL_ERR_XML, "expected a <pool> element (without namespace), got <%s>",
                   node && node->name ? (const char *)node->name : "(none)");
        return NULL;
    }
    if (pool_xml_check_attrs(node, attrs) < 0 || pool_xml_get_attr(node, "type", true, &type) < 0)
        return NULL;
    if (strcmp(type, "poold") != 0) {
        pool_error(POOL_ERR_XML, "pool: unsupported type '%.64s' (expected 'poold')", type);
        return NULL;
    }
    if (!(def = pool_calloc(1, sizeof(*def))))
        return NULL;

    while ((cur = pool_xml_next_child(node, cur, &err))) {
        int which = pool_xml_child_index(cur, pool_elements, EL_LAST, seen, "pool");

        if (which < 0 || parse_element(cur, which, def) < 0)
            return NULL;
    }
    if (err < 0)
        return NULL;
    if (pool_xml_check_required(pool_elements, pool_required, seen, EL_LAST, "pool") < 0)
        return NULL;
    if (pool_def_check(def) < 0)
        return NULL;
    return pool_steal_ptr(&def);
}

poolPoolDef *pool_pool_def_parse_string(const char *xml, size_t len)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;

    if (!(doc = pool_xml_read_memory(xml, len, "pool definition")))
        return NULL;
    return pool_pool_def_parse_node(xmlDocGetRootElement(doc));
}

poolPoolDef *pool_pool_def_parse_file(const char *path)
{
    POOL_AUTOFREE(char *) data = NULL;
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    poolPoolDef *def = NULL;
    size_t len = 0;

    if (pool_xml_read_file(path, &data, &len) < 0)
        return NULL;
    if (!(doc = pool_xml_read_memory(data, len, path)))
        return NULL;
    if (!(def = pool_pool_def_parse_node(xmlDocGetRootElement(doc))))
        pool_error_prefix("%s", path);
    return def;
}

/* ---- formatting ---------------------------------------------------------- */

static int format_lv(xmlNodePtr parent, const char *name, const poolSegment *segs, size_t n)
{
    xmlNodePtr lv = NULL;

    if (n == 0)
        return 0;
    if (!(lv = xmlNewChild(parent, NULL, BAD_CAST "lv", NULL)))
        return pool_error_oom();
    if (pool_xml_set_attr(lv, "name", name) < 0)
        return -1;
    return pool_xml_format_segments(lv, segs, n);
}

static int format_status(xmlNodePtr root, const poolPoolDef *def)
{
    xmlNodePtr st = NULL;

    if (!(st = xmlNewChild(root, NULL, BAD_CAST "status", NULL)))
        return pool_error_oom();
    if (!pool_xml_new_size_child(st, "capacity", def->capacity) ||
        !pool_xml_new_size_child(st, "allocation", def->allocation) ||
        !pool_xml_new_size_child(st, "available", def->available) ||
        !pool_xml_new_u64_child(st, "volumes", def->volume_count) ||
        !pool_xml_new_u64_child(st, "seqno", def->seqno))
        return -1;
    if (def->metadata_size && (!pool_xml_new_size_child(st, "metadata-size", def->metadata_size) ||
                               !pool_xml_new_size_child(st, "metadata-free", def->metadata_free)))
        return -1;
    if (format_lv(st, "ids", def->ids_segments, def->nids_segments) < 0 ||
        format_lv(st, "leases", def->leases_segments, def->nleases_segments) < 0)
        return -1;
    return 0;
}

xmlNodePtr pool_pool_def_format_node(const poolPoolDef *def)
{
    POOL_AUTOPTR(poolXmlNode) root = NULL;
    xmlNodePtr node = NULL;

    if (!def) {
        pool_error(POOL_ERR_INTERNAL, "no pool definition to format");
        return NULL;
    }
    if (pool_def_check(def) < 0)
        return NULL;
    if (!(root = xmlNewNode(NULL, BAD_CAST "pool"))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_xml_set_attr(root, "type", "poold") < 0 ||
        !pool_xml_new_text_child(root, "name", def->name) ||
        !pool_xml_new_text_child(root, "uuid", def->uuid))
        return NULL;
    if (!(node = xmlNewChild(root, NULL, BAD_CAST "format", NULL))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_xml_set_attr_u64(node, "version", def->format_version) < 0)
        return NULL;
    if (!(node = xmlNewChild(root, NULL, BAD_CAST "source", NULL))) {
        pool_error_oom();
        return NULL;
    }
    for (size_t i = 0; def->devices[i]; i++) {
        xmlNodePtr dev = xmlNewChild(node, NULL, BAD_CAST "device", NULL);
        if (!dev) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr(dev, "path", def->devices[i]) < 0)
            return NULL;
    }
    if (!pool_xml_new_size_child(root, "extent-size", def->extent_size) ||
        !pool_xml_new_u64_child(root, "host-ids", def->host_ids) ||
        !pool_xml_new_u64_child(root, "lease-slots", def->lease_slots))
        return NULL;
    if (def->locking == POOL_LOCKING_SANLOCK) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "locking", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr(node, "type", "sanlock") < 0 ||
            pool_xml_set_attr_u64(node, "io-timeout", def->io_timeout) < 0)
            return NULL;
    }
    if (def->host_id && !pool_xml_new_u64_child(root, "host-id", def->host_id))
        return NULL;
    if (def->store_url) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "metadata-store", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr(node, "url", def->store_url) < 0 ||
            (def->store_timeout_ms &&
             pool_xml_set_attr_u64(node, "timeout-ms", def->store_timeout_ms) < 0))
            return NULL;
    }
    if (def->has_status && format_status(root, def) < 0)
        return NULL;
    return pool_steal_ptr(&root);
}

char *pool_pool_def_format(const poolPoolDef *def)
{
    POOL_AUTOPTR(poolXmlNode) node = NULL;

    if (!(node = pool_pool_def_format_node(def)))
        return NULL;
    return pool_xml_node_to_string(node, NULL);
}
