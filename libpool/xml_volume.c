/*
 * xml_volume.c: the volume document (schema xml-schemas/volume.rng).
 *
 *   <volume>
 *     <name>web01</name>
 *     <uuid>...</uuid>
 *     <pool>pool1</pool>
 *     <capacity unit="bytes">21474836480</capacity>
 *     <format type="raw"/>
 *     <lease slot="3" pv="/dev/loop0" offset="..."/>   (optional; pv and
 *                                                       offset go together)
 *     <lun id="1"/>                                     (optional)
 *     <created>1700000000</created>
 *     <state>ready</state>                              (optional)
 *     <export state="on"/>                              (optional: is it a LUN
 *                                                       of the pool's target)
 *     <allocation unit="bytes">...</allocation>         (optional: the LV's size)
 *     <parent snapshot="s1" layer="uuid"/>              (optional: the layer a
 *                                                       qcow2 top sits on;
 *                                                       template="T" instead
 *                                                       of snapshot for a clone)
 *     <target><segment lv-offset="0" length="..." pv="..." pv-offset="..."/>
 *     </target>                                         (optional)
 *   </volume>
 *
 * Why strict: volume documents travel from poold to poolctl and to other
 * hosts, and the lease slot, LUN id and segment map in them decide which
 * bytes of shared storage a host touches. A wrong slot means two VMs sharing
 * one lease; a gap in the segment map means reading the wrong extent. So
 * every number is range-checked, segments must be sorted and contiguous from
 * lv-offset 0, and unknown elements are refused.
 *
 * In-memory conventions (pool-xml.h): lease_slot == -1 and lun == -1 mean
 * "unknown" and the element is left out; lease_pv == NULL leaves out the pv
 * and offset attributes (lease_offset is then not written and reads back as
 * 0). Children may come in any order; the formatter writes the order above.
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

#define VOL_LEASE_SLOT_MAX 65535
#define VOL_LUN_MAX        16383 /* SAM flat addressing */
#define VOL_BYTES_MAX      ((uint64_t)INT64_MAX)
#define VOL_STATE_MAX      64

static const char *const vol_formats[] = {"raw", "qcow2", NULL};

void pool_vol_def_free(poolVolDef *def)
{
    if (!def)
        return;
    free(def->name);
    free(def->pool);
    free(def->format);
    free(def->lease_pv);
    free(def->state);
    free(def->parent);
    free(def->parent_layer);
    pool_xml_segments_free(def->segments, def->nsegments);
    free(def);
}

static bool state_is_valid(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return n >= 1 && n <= VOL_STATE_MAX;
}

static bool format_is_known(const char *fmt)
{
    for (size_t i = 0; vol_formats[i]; i++) {
        if (strcmp(fmt, vol_formats[i]) == 0)
            return true;
    }
    return false;
}

/* Semantic rules shared by the parser and the formatter. */
static int vol_def_check(const poolVolDef *def)
{
    if (pool_xml_check_name(POOL_NAME_VOLUME, def->name, "volume <name>") < 0 ||
        pool_xml_check_uuid(def->uuid, "volume <uuid>") < 0 ||
        pool_xml_check_name(POOL_NAME_POOL, def->pool, "volume <pool>") < 0)
        return -1;
    if (def->capacity < 1 || def->capacity > VOL_BYTES_MAX) {
        pool_error(POOL_ERR_XML, "volume <capacity>: %" PRIu64 " bytes is out of range",
                   def->capacity);
        return -1;
    }
    if (!def->format || !format_is_known(def->format)) {
        pool_error(POOL_ERR_XML, "volume <format>: unknown type '%.32s' (expected raw or qcow2)",
                   def->format ? def->format : "");
        return -1;
    }
    if (def->lease_slot != -1 && (def->lease_slot < 1 || def->lease_slot > VOL_LEASE_SLOT_MAX)) {
        pool_error(POOL_ERR_XML, "volume <lease>: slot %d is out of range 1..%d", def->lease_slot,
                   VOL_LEASE_SLOT_MAX);
        return -1;
    }
    if (def->lease_slot != -1 && def->lease_pv) {
        if (pool_xml_check_path(def->lease_pv, "volume <lease> pv", POOL_ERR_XML) < 0)
            return -1;
        if (def->lease_offset > VOL_BYTES_MAX) {
            pool_error(POOL_ERR_XML, "volume <lease>: offset %" PRIu64 " is out of range",
                       def->lease_offset);
            return -1;
        }
    }
    if (def->lun != -1 && (def->lun < 0 || def->lun > VOL_LUN_MAX)) {
        pool_error(POOL_ERR_XML, "volume <lun>: id %d is out of range 0..%d", def->lun,
                   VOL_LUN_MAX);
        return -1;
    }
    if (def->created < 0) {
        pool_error(POOL_ERR_XML, "volume <created>: %" PRId64 " is negative", def->created);
        return -1;
    }
    if (def->state && !state_is_valid(def->state)) {
        pool_error(POOL_ERR_XML, "volume <state>: '%.64s' is not a state name ([a-z0-9-]{1,%d})",
                   def->state, VOL_STATE_MAX);
        return -1;
    }
    if (def->nsegments > 0 &&
        pool_xml_check_segments(def->segments, def->nsegments, "volume <target>") < 0)
        return -1;
    if (def->export_state != POOL_VOL_EXPORT_UNKNOWN && def->export_state != POOL_VOL_EXPORT_ON &&
        def->export_state != POOL_VOL_EXPORT_OFF) {
        pool_error(POOL_ERR_XML, "volume <export>: unknown state %d", def->export_state);
        return -1;
    }
    if (def->allocation > VOL_BYTES_MAX) {
        pool_error(POOL_ERR_XML, "volume <allocation>: %" PRIu64 " bytes is out of range",
                   def->allocation);
        return -1;
    }
    if (!!def->parent != !!def->parent_layer) {
        pool_error(POOL_ERR_XML, "volume <parent>: a name and a layer uuid go together");
        return -1;
    }
    if (def->parent && (pool_xml_check_name(POOL_NAME_VOLUME, def->parent, "volume <parent>") < 0 ||
                        pool_xml_check_uuid(def->parent_layer, "volume <parent> layer") < 0))
        return -1;
    if (def->export_mode != POOL_VOL_MODE_RW && def->export_mode != POOL_VOL_MODE_RO &&
        def->export_mode != POOL_VOL_MODE_SHARED) {
        pool_error(POOL_ERR_XML, "volume <export>: unknown mode %d", def->export_mode);
        return -1;
    }
    return 0;
}

const char *pool_vol_mode_name(int mode)
{
    return mode == POOL_VOL_MODE_RO ? "ro" : mode == POOL_VOL_MODE_SHARED ? "shared" : "rw";
}

int pool_vol_mode_parse(const char *text, int *mode)
{
    if (text && strcmp(text, "rw") == 0)
        *mode = POOL_VOL_MODE_RW;
    else if (text && strcmp(text, "ro") == 0)
        *mode = POOL_VOL_MODE_RO;
    else if (text && strcmp(text, "shared") == 0)
        *mode = POOL_VOL_MODE_SHARED;
    else {
        pool_error(POOL_ERR_INVALID_ARG, "unknown export mode '%.32s' (expected rw, ro or shared)",
                   text ? text : "");
        return -1;
    }
    return 0;
}

/* ---- parsing ------------------------------------------------------------- */

enum {
    EL_NAME,
    EL_UUID,
    EL_POOL,
    EL_CAPACITY,
    EL_FORMAT,
    EL_LEASE,
    EL_LUN,
    EL_CREATED,
    EL_STATE,
    EL_TARGET,
    EL_EXPORT,
    EL_ALLOCATION,
    EL_PARENT,
    EL_LAST,
};

static const char *const vol_elements[EL_LAST] = {
    "name",    "uuid",  "pool",   "capacity", "format",     "lease",  "lun",
    "created", "state", "target", "export",   "allocation", "parent",
};

static const bool vol_required[EL_LAST] = {
    [EL_NAME] = true,     [EL_UUID] = true,   [EL_POOL] = true,
    [EL_CAPACITY] = true, [EL_FORMAT] = true, [EL_CREATED] = true,
};

static int parse_lease(xmlNodePtr cur, poolVolDef *def)
{
    static const char *const attrs[] = {"slot", "pv", "offset", NULL};
    uint64_t v = 0;
    bool have_offset = false;

    if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
        pool_xml_get_attr_u64(cur, "slot", true, 1, VOL_LEASE_SLOT_MAX, &v, NULL) < 0 ||
        pool_xml_get_attr(cur, "pv", false, &def->lease_pv) < 0 ||
        pool_xml_get_attr_u64(cur, "offset", false, 0, VOL_BYTES_MAX, &def->lease_offset,
                              &have_offset) < 0)
        return -1;
    def->lease_slot = (int)v;
    if (!!def->lease_pv != have_offset) {
        pool_error(POOL_ERR_XML, "volume <lease>: attributes 'pv' and 'offset' go together");
        return -1;
    }
    if (def->lease_pv && pool_xml_check_path(def->lease_pv, "volume <lease> pv", POOL_ERR_XML) < 0)
        return -1;
    return 0;
}

static int parse_element(xmlNodePtr cur, int which, poolVolDef *def)
{
    static const char *const type_attrs[] = {"type", NULL};
    static const char *const id_attrs[] = {"id", NULL};
    static const char *const export_attrs[] = {"state", "mode", NULL};
    POOL_AUTOFREE(char *) text = NULL;
    uint64_t v = 0;

    switch (which) {
    case EL_NAME:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &def->name) < 0)
            return -1;
        return pool_xml_check_name(POOL_NAME_VOLUME, def->name, "volume <name>");
    case EL_UUID:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &text) < 0 ||
            pool_xml_check_uuid(text, "volume <uuid>") < 0)
            return -1;
        memcpy(def->uuid, text, 37);
        return 0;
    case EL_POOL:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &def->pool) < 0)
            return -1;
        return pool_xml_check_name(POOL_NAME_POOL, def->pool, "volume <pool>");
    case EL_CAPACITY:
        return pool_xml_get_size(cur, 1, VOL_BYTES_MAX, &def->capacity);
    case EL_FORMAT:
        if (pool_xml_check_attrs(cur, type_attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr(cur, "type", true, &def->format) < 0)
            return -1;
        if (!format_is_known(def->format)) {
            pool_error(POOL_ERR_XML,
                       "volume <format>: unknown type '%.32s' (expected raw or qcow2)",
                       def->format);
            return -1;
        }
        return 0;
    case EL_LEASE:
        return parse_lease(cur, def);
    case EL_LUN:
        if (pool_xml_check_attrs(cur, id_attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr_u64(cur, "id", true, 0, VOL_LUN_MAX, &v, NULL) < 0)
            return -1;
        def->lun = (int)v;
        return 0;
    case EL_CREATED:
        if (pool_xml_get_u64(cur, 0, INT64_MAX, &v) < 0)
            return -1;
        def->created = (int64_t)v;
        return 0;
    case EL_STATE:
        if (pool_xml_check_attrs(cur, NULL) < 0 || pool_xml_get_text(cur, &def->state) < 0)
            return -1;
        if (!state_is_valid(def->state)) {
            pool_error(POOL_ERR_XML,
                       "volume <state>: '%.64s' is not a state name ([a-z0-9-]{1,%d})", def->state,
                       VOL_STATE_MAX);
            return -1;
        }
        return 0;
    case EL_TARGET:
        if (pool_xml_check_attrs(cur, NULL) < 0)
            return -1;
        return pool_xml_parse_segments(cur, "volume <target>", &def->segments, &def->nsegments);
    case EL_EXPORT:
        if (pool_xml_check_attrs(cur, export_attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr(cur, "state", true, &text) < 0)
            return -1;
        if (strcmp(text, "on") == 0)
            def->export_state = POOL_VOL_EXPORT_ON;
        else if (strcmp(text, "off") == 0)
            def->export_state = POOL_VOL_EXPORT_OFF;
        else {
            pool_error(POOL_ERR_XML, "volume <export>: state '%.32s' is not \"on\" or \"off\"",
                       text);
            return -1;
        }
        {
            POOL_AUTOFREE(char *) mode = NULL;
            if (pool_xml_get_attr(cur, "mode", false, &mode) < 0)
                return -1;
            if (mode && pool_vol_mode_parse(mode, &def->export_mode) < 0) {
                pool_error(POOL_ERR_XML,
                           "volume <export>: mode '%.32s' is not \"rw\", \"ro\" or \"shared\"",
                           mode);
                return -1;
            }
        }
        return 0;
    case EL_ALLOCATION:
        return pool_xml_get_size(cur, 0, VOL_BYTES_MAX, &def->allocation);
    case EL_PARENT: {
        static const char *const parent_attrs[] = {"snapshot", "template", "layer", NULL};
        POOL_AUTOFREE(char *) snap = NULL;
        POOL_AUTOFREE(char *) tmpl = NULL;
        if (pool_xml_check_attrs(cur, parent_attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr(cur, "snapshot", false, &snap) < 0 ||
            pool_xml_get_attr(cur, "template", false, &tmpl) < 0 ||
            pool_xml_get_attr(cur, "layer", true, &def->parent_layer) < 0)
            return -1;
        if (!snap == !tmpl) {
            pool_error(POOL_ERR_XML, "volume <parent>: exactly one of 'snapshot' and 'template'");
            return -1;
        }
        def->parent_is_template = tmpl != NULL;
        def->parent = snap ? pool_steal_ptr(&snap) : pool_steal_ptr(&tmpl);
        return 0;
    }
    }
    pool_error(POOL_ERR_INTERNAL, "unhandled volume element %d", which);
    return -1;
}

poolVolDef *pool_vol_def_parse_node(xmlNodePtr node)
{
    POOL_AUTOPTR(poolVolDef) def = NULL;
    bool seen[EL_LAST] = {false};
    xmlNodePtr cur = NULL;
    int err = 0;

    if (!pool_xml_is_element(node, "volume")) {
        pool_error(POOL_ERR_XML, "expected a <volume> element (without namespace), got <%s>",
                   node && node->name ? (const char *)node->name : "(none)");
        return NULL;
    }
    if (pool_xml_check_attrs(node, NULL) < 0)
        return NULL;
    if (!(def = pool_calloc(1, sizeof(*def))))
        return NULL;
    def->lease_slot = -1;
    def->lun = -1;

    while ((cur = pool_xml_next_child(node, cur, &err))) {
        int which = pool_xml_child_index(cur, vol_elements, EL_LAST, seen, "volume");

        if (which < 0 || parse_element(cur, which, def) < 0)
            return NULL;
    }
    if (err < 0)
        return NULL;
    if (pool_xml_check_required(vol_elements, vol_required, seen, EL_LAST, "volume") < 0)
        return NULL;
    if (vol_def_check(def) < 0)
        return NULL;
    return pool_steal_ptr(&def);
}

poolVolDef *pool_vol_def_parse_string(const char *xml, size_t len)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;

    if (!(doc = pool_xml_read_memory(xml, len, "volume definition")))
        return NULL;
    return pool_vol_def_parse_node(xmlDocGetRootElement(doc));
}

/* ---- formatting ---------------------------------------------------------- */

xmlNodePtr pool_vol_def_format_node(const poolVolDef *def)
{
    POOL_AUTOPTR(poolXmlNode) root = NULL;
    xmlNodePtr node = NULL;
    char buf[32];

    if (!def) {
        pool_error(POOL_ERR_INTERNAL, "no volume definition to format");
        return NULL;
    }
    if (vol_def_check(def) < 0)
        return NULL;
    if (!(root = xmlNewNode(NULL, BAD_CAST "volume"))) {
        pool_error_oom();
        return NULL;
    }
    if (!pool_xml_new_text_child(root, "name", def->name) ||
        !pool_xml_new_text_child(root, "uuid", def->uuid) ||
        !pool_xml_new_text_child(root, "pool", def->pool) ||
        !pool_xml_new_size_child(root, "capacity", def->capacity))
        return NULL;
    if (!(node = xmlNewChild(root, NULL, BAD_CAST "format", NULL))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_xml_set_attr(node, "type", def->format) < 0)
        return NULL;
    if (def->lease_slot != -1) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "lease", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr_u64(node, "slot", (uint64_t)def->lease_slot) < 0)
            return NULL;
        if (def->lease_pv && (pool_xml_set_attr(node, "pv", def->lease_pv) < 0 ||
                              pool_xml_set_attr_u64(node, "offset", def->lease_offset) < 0))
            return NULL;
    }
    if (def->lun != -1) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "lun", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr_u64(node, "id", (uint64_t)def->lun) < 0)
            return NULL;
    }
    snprintf(buf, sizeof(buf), "%" PRId64, def->created);
    if (!pool_xml_new_text_child(root, "created", buf))
        return NULL;
    if (def->state && !pool_xml_new_text_child(root, "state", def->state))
        return NULL;
    if (def->nsegments > 0) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "target", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_format_segments(node, def->segments, def->nsegments) < 0)
            return NULL;
    }
    if (def->export_state != POOL_VOL_EXPORT_UNKNOWN) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "export", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr(node, "state",
                              def->export_state == POOL_VOL_EXPORT_OFF ? "off" : "on") < 0 ||
            (def->export_mode != POOL_VOL_MODE_RW &&
             pool_xml_set_attr(node, "mode", pool_vol_mode_name(def->export_mode)) < 0))
            return NULL;
    }
    if (def->allocation && !pool_xml_new_size_child(root, "allocation", def->allocation))
        return NULL;
    if (def->parent) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "parent", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr(node, def->parent_is_template ? "template" : "snapshot",
                              def->parent) < 0 ||
            pool_xml_set_attr(node, "layer", def->parent_layer) < 0)
            return NULL;
    }
    return pool_steal_ptr(&root);
}

char *pool_vol_def_format(const poolVolDef *def)
{
    POOL_AUTOPTR(poolXmlNode) node = NULL;

    if (!(node = pool_vol_def_format_node(def)))
        return NULL;
    return pool_xml_node_to_string(node, NULL);
}
