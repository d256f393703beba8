/*
 * output.c: how poolctl shows results. Human output is aligned tables and
 * "key: value" blocks with sizes in binary units; --json prints the same
 * data with exact byte counts, for scripts. Both come from the reply's
 * pool/volume documents, parsed with libpool's own parsers, so what poolctl
 * shows is exactly what poold sent.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "pool-error.h"
#include "pool-vmstore.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "poolctl.h"

int cli_print_json(struct json_object *obj)
{
    if (!obj)
        return pool_error_oom();
    const char *s = json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int r = printf("%s\n", s) < 0 ? -1 : 0;
    json_object_put(obj);
    return r;
}

int cli_print_message(const cliOutput *out, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pool_error_oom();
    if (out->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "message", json_object_new_string(text));
        free(text);
        return cli_print_json(o);
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

static json_object *segments_json(const poolSegment *segs, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "lv_offset", json_object_new_uint64(segs[i].lv_offset));
        json_object_object_add(o, "length", json_object_new_uint64(segs[i].length));
        json_object_object_add(o, "pv", json_object_new_string(segs[i].pv));
        json_object_object_add(o, "pv_offset", json_object_new_uint64(segs[i].pv_offset));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *pool_json(const poolPoolDef *p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "uuid", json_object_new_string(p->uuid));
    json_object_object_add(o, "format_version", json_object_new_int(p->format_version));
    json_object *devs = json_object_new_array();
    for (char **d = p->devices; d && *d; d++)
        json_object_array_add(devs, json_object_new_string(*d));
    json_object_object_add(o, "devices", devs);
    json_object_object_add(o, "extent_size", json_object_new_uint64(p->extent_size));
    json_object_object_add(o, "host_ids", json_object_new_int(p->host_ids));
    json_object_object_add(o, "lease_slots", json_object_new_int(p->lease_slots));
    json_object_object_add(o, "locking", json_object_new_string(pool_locking_name(p->locking)));
    if (p->locking == POOL_LOCKING_SANLOCK)
        json_object_object_add(o, "io_timeout", json_object_new_int(p->io_timeout));
    if (p->host_id)
        json_object_object_add(o, "host_id", json_object_new_int(p->host_id));
    if (p->store_url) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "url", json_object_new_string(p->store_url));
        json_object_object_add(s, "timeout_ms",
                               json_object_new_int64(p->store_timeout_ms
                                                         ? p->store_timeout_ms
                                                         : POOL_META_DEFAULT_TIMEOUT_MS));
        json_object_object_add(o, "metadata_store", s);
    }
    if (p->has_status) {
        json_object_object_add(o, "capacity", json_object_new_uint64(p->capacity));
        json_object_object_add(o, "allocation", json_object_new_uint64(p->allocation));
        json_object_object_add(o, "available", json_object_new_uint64(p->available));
        json_object_object_add(o, "volumes", json_object_new_int(p->volume_count));
        json_object_object_add(o, "seqno", json_object_new_uint64(p->seqno));
        if (p->metadata_size) {
            json_object_object_add(o, "metadata_size", json_object_new_uint64(p->metadata_size));
            json_object_object_add(o, "metadata_free", json_object_new_uint64(p->metadata_free));
        }
        json_object_object_add(o, "ids_segments", segments_json(p->ids_segments, p->nids_segments));
        json_object_object_add(o, "leases_segments",
                               segments_json(p->leases_segments, p->nleases_segments));
    }
    return o;
}

static json_object *vol_json(const poolVolDef *v)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(v->name));
    json_object_object_add(o, "uuid", json_object_new_string(v->uuid));
    json_object_object_add(o, "pool", json_object_new_string(v->pool));
    json_object_object_add(o, "capacity", json_object_new_uint64(v->capacity));
    json_object_object_add(o, "format", json_object_new_string(v->format ? v->format : "raw"));
    json_object_object_add(o, "lease_slot", json_object_new_int(v->lease_slot));
    if (v->lease_pv) {
        json_object *l = json_object_new_object();
        json_object_object_add(l, "pv", json_object_new_string(v->lease_pv));
        json_object_object_add(l, "offset", json_object_new_uint64(v->lease_offset));
        json_object_object_add(o, "lease", l);
    }
    json_object_object_add(o, "lun", json_object_new_int(v->lun));
    json_object_object_add(o, "created", json_object_new_int64(v->created));
    json_object_object_add(o, "state", json_object_new_string(v->state ? v->state : "ready"));
    if (v->export_state != POOL_VOL_EXPORT_UNKNOWN) {
        json_object_object_add(o, "exported",
                               json_object_new_boolean(v->export_state == POOL_VOL_EXPORT_ON));
        json_object_object_add(o, "export_mode",
                               json_object_new_string(pool_vol_mode_name(v->export_mode)));
    }
    if (v->allocation)
        json_object_object_add(o, "allocation", json_object_new_uint64(v->allocation));
    if (v->parent) {
        json_object_object_add(o, v->parent_is_template ? "parent_template" : "parent_snapshot",
                               json_object_new_string(v->parent));
        json_object_object_add(o, "parent_layer", json_object_new_string(v->parent_layer));
    }
    json_object_object_add(o, "segments", segments_json(v->segments, v->nsegments));
    return o;
}

static void print_segments(const char *title, const poolSegment *segs, size_t n)
{
    printf("%s:\n", title);
    printf("  %-14s %-14s %-24s %s\n", "LV-OFFSET", "LENGTH", "PV", "PV-OFFSET");
    for (size_t i = 0; i < n; i++)
        printf("  %-14" PRIu64 " %-14" PRIu64 " %-24s %" PRIu64 "\n", segs[i].lv_offset,
               segs[i].length, segs[i].pv, segs[i].pv_offset);
}

static void print_pool_human(const poolPoolDef *p)
{
    char b[32];
    printf("Name:          %s\n", p->name);
    printf("UUID:          %s\n", p->uuid);
    printf("Format:        %u\n", p->format_version);
    printf("Devices:      ");
    for (char **d = p->devices; d && *d; d++)
        printf(" %s", *d);
    printf("\n");
    printf("Extent size:   %s\n", pool_format_size(p->extent_size, b, sizeof(b)));
    printf("Host ids:      %u\n", p->host_ids);
    printf("Lease slots:   %u\n", p->lease_slots);
    if (p->locking == POOL_LOCKING_SANLOCK)
        printf("Locking:       sanlock, io_timeout %u s\n", p->io_timeout);
    else
        printf("Locking:       none (single host)\n");
    if (p->host_id)
        printf("This host id:  %u\n", p->host_id);
    if (p->store_url)
        printf("VM store:      %s (timeout %u ms)\n", p->store_url,
               p->store_timeout_ms ? p->store_timeout_ms : POOL_META_DEFAULT_TIMEOUT_MS);
    else
        printf("VM store:      none (poolctl pool set-store)\n");
    if (!p->has_status) {
        printf("Status:        unavailable\n");
        return;
    }
    printf("Capacity:      %s\n", pool_format_size(p->capacity, b, sizeof(b)));
    printf("Allocation:    %s\n", pool_format_size(p->allocation, b, sizeof(b)));
    printf("Available:     %s\n", pool_format_size(p->available, b, sizeof(b)));
    printf("Volumes:       %u\n", p->volume_count);
    printf("VG seqno:      %" PRIu64 "\n", p->seqno);
    if (p->metadata_size) {
        /* lvm writes the new metadata beside the committed copy: half the
         * area is what the metadata may take */
        char f[32];
        printf("Metadata:      %s area per PV, %s of it free for growth\n",
               pool_format_size(p->metadata_size, b, sizeof(b)),
               pool_format_size(p->metadata_free, f, sizeof(f)));
    }
    print_segments("ids (sanlock lockspace)", p->ids_segments, p->nids_segments);
    print_segments("leases (slot 0: pool metadata, 1 MiB per slot)", p->leases_segments,
                   p->nleases_segments);
}

static const char *export_word(const poolVolDef *v)
{
    switch (v->export_state) {
    case POOL_VOL_EXPORT_ON:
        /* "yes" = rw; fits the list's EXPORTED column */
        return v->export_mode == POOL_VOL_MODE_RO       ? "ro"
               : v->export_mode == POOL_VOL_MODE_SHARED ? "shared"
                                                        : "yes";
    case POOL_VOL_EXPORT_OFF:
        return "no";
    default:
        return "-";
    }
}

static void print_vol_human(const poolVolDef *v)
{
    char b[32], when[64] = "?";
    time_t t = (time_t)v->created;
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
    printf("Name:          %s\n", v->name);
    printf("Pool:          %s\n", v->pool);
    printf("UUID:          %s\n", v->uuid);
    printf("Capacity:      %s (%" PRIu64 " bytes)\n", pool_format_size(v->capacity, b, sizeof(b)),
           v->capacity);
    printf("Format:        %s\n", v->format ? v->format : "raw");
    if (v->allocation)
        printf("Allocation:    %s (%" PRIu64 " bytes of LV)\n",
               pool_format_size(v->allocation, b, sizeof(b)), v->allocation);
    if (v->parent)
        printf("Parent:        %s %s (layer %s)\n", v->parent_is_template ? "template" : "snapshot",
               v->parent, v->parent_layer);
    printf("State:         %s\n", v->state ? v->state : "ready");
    printf("LUN:           %d\n", v->lun);
    if (v->export_state != POOL_VOL_EXPORT_UNKNOWN)
        printf("Exported:      %s\n", export_word(v));
    if (v->lease_pv)
        printf("Lease slot:    %d (%s at offset %" PRIu64 ")\n", v->lease_slot, v->lease_pv,
               v->lease_offset);
    else
        printf("Lease slot:    %d\n", v->lease_slot);
    printf("Created:       %s\n", when);
    print_segments("Segments", v->segments, v->nsegments);
}

bool cli_is_elem(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr cli_reply_result(xmlNodePtr reply)
{
    for (xmlNodePtr n = reply->children; n; n = n->next)
        if (cli_is_elem(n, "result"))
            return n;
    return NULL;
}

const char *cli_attr(xmlNodePtr n, const char *name, int slot)
{
    static xmlChar *held[CLI_ATTR_SLOTS];
    xmlFree(held[slot]);
    held[slot] = xmlGetProp(n, BAD_CAST name);
    return held[slot] ? (const char *)held[slot] : "";
}

long long cli_attr_num(xmlNodePtr n, const char *name)
{
    return atoll(cli_attr(n, name, CLI_ATTR_SLOTS - 1));
}

int cli_print_pools(const cliOutput *out, xmlNodePtr reply, bool list)
{
    json_object *arr = out->json && list ? json_object_new_array() : NULL;
    if (list && !out->json)
        printf("%-20s %-12s %-12s %-8s %s\n", "NAME", "CAPACITY", "AVAILABLE", "VOLUMES",
               "DEVICES");
    for (xmlNodePtr n = reply->children; n; n = n->next) {
        if (!cli_is_elem(n, "pool"))
            continue;
        poolPoolDef *p = pool_pool_def_parse_node(n);
        if (!p) {
            json_object_put(arr);
            return -1;
        }
        if (out->json) {
            if (arr)
                json_object_array_add(arr, pool_json(p));
            else
                cli_print_json(pool_json(p));
        } else if (list) {
            char c[32] = "-", a[32] = "-";
            if (p->has_status) {
                pool_format_size(p->capacity, c, sizeof(c));
                pool_format_size(p->available, a, sizeof(a));
            }
            printf("%-20s %-12s %-12s %-8u", p->name, c, a, p->volume_count);
            for (char **d = p->devices; d && *d; d++)
                printf(" %s", *d);
            printf("\n");
        } else {
            print_pool_human(p);
        }
        pool_pool_def_free(p);
    }
    return arr ? cli_print_json(arr) : 0;
}

int cli_print_volumes(const cliOutput *out, xmlNodePtr reply, bool list)
{
    json_object *arr = out->json && list ? json_object_new_array() : NULL;
    if (list && !out->json)
        printf("%-32s %-12s %-6s %-5s %-5s %-9s %-8s %s\n", "NAME", "CAPACITY", "FORMAT", "LUN",
               "SLOT", "SEGMENTS", "EXPORTED", "STATE");
    for (xmlNodePtr n = reply->children; n; n = n->next) {
        if (!cli_is_elem(n, "volume"))
            continue;
        poolVolDef *v = pool_vol_def_parse_node(n);
        if (!v) {
            json_object_put(arr);
            return -1;
        }
        if (out->json) {
            if (arr)
                json_object_array_add(arr, vol_json(v));
            else
                cli_print_json(vol_json(v));
        } else if (list) {
            char c[32];
            printf("%-32s %-12s %-6s %-5d %-5d %-9zu %-8s %s\n", v->name,
                   pool_format_size(v->capacity, c, sizeof(c)), v->format ? v->format : "raw",
                   v->lun, v->lease_slot, v->nsegments, export_word(v),
                   v->state ? v->state : "ready");
        } else {
            print_vol_human(v);
        }
        pool_vol_def_free(v);
    }
    return arr ? cli_print_json(arr) : 0;
}

static const char *chap_mode(const poolTargetDef *t)
{
    return !t->chap_user ? "none" : t->mutual_user ? "mutual" : "one-way";
}

/* target-info and the target-* changes answer with the target document
 * (never with secrets: poold leaves them out, and nothing here prints one). */
int cli_print_target(const cliOutput *out, xmlNodePtr reply)
{
    for (xmlNodePtr n = reply->children; n; n = n->next) {
        if (!cli_is_elem(n, "target"))
            continue;
        poolTargetDef *t = pool_target_def_parse_node(n);
        if (!t)
            return -1;
        if (out->json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "pool", json_object_new_string(t->pool));
            if (t->iqn)
                json_object_object_add(o, "iqn", json_object_new_string(t->iqn));
            json_object *p = json_object_new_array();
            for (size_t i = 0; t->portals && t->portals[i]; i++) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "tag", json_object_new_int((int)i + 1));
                json_object_object_add(e, "address", json_object_new_string(t->portals[i]));
                json_object_array_add(p, e);
            }
            json_object_object_add(o, "portals", p);
            json_object *a = json_object_new_array();
            for (char **x = t->acl; x && *x; x++)
                json_object_array_add(a, json_object_new_string(*x));
            json_object_object_add(o, "acl", a);
            json_object *c = json_object_new_object();
            json_object_object_add(c, "mode", json_object_new_string(chap_mode(t)));
            if (t->chap_user)
                json_object_object_add(c, "user", json_object_new_string(t->chap_user));
            if (t->mutual_user)
                json_object_object_add(c, "mutual_user", json_object_new_string(t->mutual_user));
            json_object_object_add(o, "chap", c);
            cli_print_json(o);
        } else {
            printf("Pool:          %s\n", t->pool);
            printf("IQN:           %s\n", t->iqn ? t->iqn : "-");
            if (!t->portals || !t->portals[0])
                printf("Portals:       none (the target is off: iscsi_portal = \"\")\n");
            for (size_t i = 0; t->portals && t->portals[i]; i++)
                printf("%s %s (portal group %zu)\n",
                       i ? "              " : "Portals:      ", t->portals[i], i + 1);
            if (!t->acl || !t->acl[0])
                printf("ACL:           none (any initiator may log in)\n");
            for (size_t i = 0; t->acl && t->acl[i]; i++)
                printf("%s %s\n", i ? "              " : "ACL:          ", t->acl[i]);
            printf("CHAP:          %s\n", chap_mode(t));
            if (t->chap_user)
                printf("CHAP user:     %s\n", t->chap_user);
            if (t->mutual_user)
                printf("Target user:   %s (mutual)\n", t->mutual_user);
        }
        pool_target_def_free(t);
    }
    return 0;
}
