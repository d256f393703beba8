// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_xml.c: the pool and volume documents, the safe XML reader and the
 * RelaxNG helpers.
 *
 * Why these tests: the documents carry what decides which bytes of shared
 * storage a host touches (devices, lease slots, segment maps), and they come
 * from operators and socket peers. So we pin down that
 *   - parse(format(x)) == x and format is a fixed point, byte for byte;
 *   - the C formatter's output validates against the shipped schemas;
 *   - every example in xml-schemas/examples parses (or, for *-invalid.xml,
 *     is refused by the C parser too);
 *   - a table of hostile or mistyped documents is refused with POOL_ERR_XML:
 *     unknown elements, bad numbers, bad names and uuids, duplicates,
 *     DOCTYPEs and entity bombs, broken and empty input.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-xml.h"
#include "test_support.h"

/* ---- building and comparing defs ----------------------------------------- */

static poolSegment *make_segments(size_t n, uint64_t seglen, const char *pv, uint64_t pv_base)
{
    poolSegment *s = calloc(n, sizeof(*s));
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++) {
        s[i].lv_offset = i * seglen;
        s[i].length = seglen;
        s[i].pv = strdup(pv);
        s[i].pv_offset = pv_base + i * 2 * seglen;
    }
    return s;
}

static poolPoolDef *make_pool(bool status)
{
    poolPoolDef *def = calloc(1, sizeof(*def));

    ck_assert_ptr_nonnull(def);
    def->name = strdup("pool1");
    strcpy(def->uuid, "3f2c6a52-8d0e-4f8e-9a51-2b7c1d5e9f01");
    def->format_version = 1;
    def->devices = calloc(4, sizeof(char *));
    def->devices[0] = strdup("/dev/loop0");
    def->devices[1] = strdup("/dev/disk/by-id/a&b<c>\"d'");
    def->devices[2] = strdup("/dev/m\xc3\xa9tal");
    def->extent_size = 4u << 20;
    def->host_ids = 2000;
    def->lease_slots = 2000;
    if (status) {
        def->has_status = true;
        def->capacity = UINT64_C(3) << 30;
        def->allocation = 12345 * def->extent_size;
        def->available = 0;
        def->volume_count = 4000000000u;
        def->seqno = UINT64_MAX;
        def->nids_segments = 1;
        def->ids_segments = make_segments(1, 8u << 20, "/dev/loop0", 1u << 20);
        def->nleases_segments = 3;
        def->leases_segments = make_segments(3, 4u << 20, "/dev/loop1", 0);
    }
    return def;
}

static poolVolDef *make_vol(void)
{
    poolVolDef *def = calloc(1, sizeof(*def));

    ck_assert_ptr_nonnull(def);
    def->name = strdup("web01-disk");
    strcpy(def->uuid, "6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
    def->pool = strdup("pool1");
    def->capacity = UINT64_C(20) << 30;
    def->format = strdup("raw");
    def->lease_slot = 3;
    def->lease_pv = strdup("/dev/loop0");
    def->lease_offset = 12582912;
    def->lun = 16383;
    def->created = INT64_MAX;
    def->state = strdup("ready");
    def->nsegments = 2;
    def->segments = make_segments(2, UINT64_C(10) << 30, "/dev/loop1", 1u << 20);
    return def;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static void assert_segments_equal(const poolSegment *a, size_t na, const poolSegment *b, size_t nb)
{
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        ck_assert_uint_eq(a[i].lv_offset, b[i].lv_offset);
        ck_assert_uint_eq(a[i].length, b[i].length);
        ck_assert_uint_eq(a[i].pv_offset, b[i].pv_offset);
        ck_assert_str_eq(a[i].pv, b[i].pv);
    }
}

static void assert_pool_equal(const poolPoolDef *a, const poolPoolDef *b)
{
    size_t i;

    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->uuid, b->uuid);
    ck_assert_uint_eq(a->format_version, b->format_version);
    for (i = 0; a->devices[i]; i++) {
        ck_assert_ptr_nonnull(b->devices[i]);
        ck_assert_str_eq(a->devices[i], b->devices[i]);
    }
    ck_assert_ptr_null(b->devices[i]);
    ck_assert_int_eq(a->locking, b->locking);
    ck_assert_uint_eq(a->io_timeout, b->io_timeout);
    ck_assert_uint_eq(a->host_id, b->host_id);
    ck_assert_uint_eq(a->extent_size, b->extent_size);
    ck_assert_uint_eq(a->host_ids, b->host_ids);
    ck_assert_uint_eq(a->lease_slots, b->lease_slots);
    ck_assert_int_eq(a->has_status, b->has_status);
    if (!a->has_status)
        return;
    ck_assert_uint_eq(a->capacity, b->capacity);
    ck_assert_uint_eq(a->allocation, b->allocation);
    ck_assert_uint_eq(a->available, b->available);
    ck_assert_uint_eq(a->volume_count, b->volume_count);
    ck_assert_uint_eq(a->seqno, b->seqno);
    assert_segments_equal(a->ids_segments, a->nids_segments, b->ids_segments, b->nids_segments);
    assert_segments_equal(a->leases_segments, a->nleases_segments, b->leases_segments,
                          b->nleases_segments);
}

static void assert_vol_equal(const poolVolDef *a, const poolVolDef *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->uuid, b->uuid);
    ck_assert_str_eq(a->pool, b->pool);
    ck_assert_uint_eq(a->capacity, b->capacity);
    ck_assert_str_eq(a->format, b->format);
    ck_assert_int_eq(a->lease_slot, b->lease_slot);
    if (a->lease_slot != -1) {
        ck_assert(str_eq(a->lease_pv, b->lease_pv));
        if (a->lease_pv)
            ck_assert_uint_eq(a->lease_offset, b->lease_offset);
    }
    ck_assert_int_eq(a->lun, b->lun);
    ck_assert_int_eq(a->created, b->created);
    ck_assert(str_eq(a->state, b->state));
    ck_assert_uint_eq(a->allocation, b->allocation);
    ck_assert(str_eq(a->parent, b->parent));
    ck_assert(str_eq(a->parent_layer, b->parent_layer));
    ck_assert_int_eq(a->parent_is_template, b->parent_is_template);
    assert_segments_equal(a->segments, a->nsegments, b->segments, b->nsegments);
}

/* format -> validate against the schema -> parse -> equal -> format again */
static void pool_round_trip(const poolPoolDef *def)
{
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    POOL_AUTOFREE(char *) rng = test_schema_path("pool.rng");
    POOL_AUTOPTR(poolPoolDef) back = NULL;

    xml = pool_pool_def_format(def);
    ck_assert_msg(xml != NULL, "format: %s", pool_error_last_message());
    ck_assert_msg(pool_xml_validate_string(xml, strlen(xml), rng) == 0, "schema: %s\n%s",
                  pool_error_last_message(), xml);
    back = pool_pool_def_parse_string(xml, strlen(xml));
    ck_assert_msg(back != NULL, "parse: %s\n%s", pool_error_last_message(), xml);
    assert_pool_equal(def, back);
    xml2 = pool_pool_def_format(back);
    ck_assert_ptr_nonnull(xml2);
    ck_assert_str_eq(xml, xml2);
}

static void vol_round_trip(const poolVolDef *def)
{
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    POOL_AUTOFREE(char *) rng = test_schema_path("volume.rng");
    POOL_AUTOPTR(poolVolDef) back = NULL;

    xml = pool_vol_def_format(def);
    ck_assert_msg(xml != NULL, "format: %s", pool_error_last_message());
    ck_assert_msg(pool_xml_validate_string(xml, strlen(xml), rng) == 0, "schema: %s\n%s",
                  pool_error_last_message(), xml);
    back = pool_vol_def_parse_string(xml, strlen(xml));
    ck_assert_msg(back != NULL, "parse: %s\n%s", pool_error_last_message(), xml);
    assert_vol_equal(def, back);
    xml2 = pool_vol_def_format(back);
    ck_assert_ptr_nonnull(xml2);
    ck_assert_str_eq(xml, xml2);
}

/* ---- round trips ----------------------------------------------------------- */

START_TEST(test_pool_round_trip)
{
    POOL_AUTOPTR(poolPoolDef) plain = make_pool(false);
    POOL_AUTOPTR(poolPoolDef) full = make_pool(true);

    pool_round_trip(plain);
    pool_round_trip(full);

    /* status without the LV maps, boundary values */
    full->extent_size = 1u << 30;
    full->host_ids = 1;
    full->lease_slots = 65535;
    pool_round_trip(full);
    full->extent_size = 1u << 20;
    pool_round_trip(full);

    /* cluster coordination: sanlock with an io_timeout and this host's id */
    full->host_ids = 16;
    full->locking = POOL_LOCKING_SANLOCK;
    full->io_timeout = 1;
    full->host_id = 16;
    pool_round_trip(full);
    full->io_timeout = 300;
    full->host_id = 0;
    pool_round_trip(full);
}
END_TEST

static void pool_doc(char *buf, size_t len, const char *extra)
{
    snprintf(buf, len,
             "<pool type=\"poold\"><name>p</name>"
             "<uuid>3f2c6a52-8d0e-4f8e-9a51-2b7c1d5e9f01</uuid><format version=\"1\"/>"
             "<source><device path=\"/dev/loop0\"/></source><extent-size>4194304</extent-size>"
             "<host-ids>8</host-ids><lease-slots>4</lease-slots>%s</pool>",
             extra);
}

/* <locking> and <host-id>: what is refused, and the defaults. */
START_TEST(test_pool_locking)
{
    char xml[1024];
    pool_doc(xml, sizeof(xml), "");
    POOL_AUTOPTR(poolPoolDef) none = pool_pool_def_parse_string(xml, strlen(xml));
    ck_assert_ptr_nonnull(none);
    ck_assert_int_eq(none->locking, POOL_LOCKING_NONE);
    POOL_AUTOFREE(char *) f0 = pool_pool_def_format(none);
    ck_assert_ptr_null(strstr(f0, "locking"));

    pool_doc(xml, sizeof(xml), "<locking type=\"sanlock\"/>");
    POOL_AUTOPTR(poolPoolDef) dflt = pool_pool_def_parse_string(xml, strlen(xml));
    ck_assert_ptr_nonnull(dflt);
    ck_assert_int_eq(dflt->locking, POOL_LOCKING_SANLOCK);
    ck_assert_uint_eq(dflt->io_timeout, POOL_IO_TIMEOUT_DEFAULT);

    pool_doc(xml, sizeof(xml),
             "<host-id>8</host-id><locking type=\"sanlock\" "
             "io-timeout=\"2\"/>");
    POOL_AUTOPTR(poolPoolDef) sl = pool_pool_def_parse_string(xml, strlen(xml));
    ck_assert_ptr_nonnull(sl);
    ck_assert_uint_eq(sl->io_timeout, 2);
    ck_assert_uint_eq(sl->host_id, 8);

    static const struct {
        const char *extra, *msg;
    } bad[] = {
        {"<locking type=\"dlm\"/>", "unknown type"},
        {"<locking/>", "type"},
        {"<locking type=\"sanlock\" io-timeout=\"0\"/>", "io-timeout"},
        {"<locking type=\"sanlock\" io-timeout=\"301\"/>", "io-timeout"},
        {"<locking type=\"none\" io-timeout=\"5\"/>", "only applies to sanlock"},
        {"<locking type=\"sanlock\">x</locking>", "locking"},
        {"<host-id>1</host-id>", "only sanlock pools"},
        {"<locking type=\"sanlock\"/><host-id>9</host-id>", "out of range 1..8"},
        {"<locking type=\"sanlock\"/><host-id>0</host-id>", "host-id"},
        {"<locking type=\"sanlock\"/><locking type=\"sanlock\"/>", "locking"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pool_doc(xml, sizeof(xml), bad[i].extra);
        ck_assert_msg(pool_pool_def_parse_string(xml, strlen(xml)) == NULL, "accepted %s",
                      bad[i].extra);
        ck_assert_msg(strstr(pool_error_last_message(), bad[i].msg) != NULL, "%s: %s", bad[i].extra,
                      pool_error_last_message());
    }
    int l = -1;
    ck_assert_int_eq(pool_locking_parse("none", &l), 0);
    ck_assert_int_eq(l, POOL_LOCKING_NONE);
    ck_assert_int_eq(pool_locking_parse("Sanlock", &l), -1);
    ck_assert_str_eq(pool_locking_name(POOL_LOCKING_SANLOCK), "sanlock");
}
END_TEST

START_TEST(test_pool_canonical_text)
{
    POOL_AUTOPTR(poolPoolDef) def = make_pool(true);
    POOL_AUTOFREE(char *) xml = NULL;
    const char *expect_start = "<pool type=\"poold\">\n"
                               "  <name>pool1</name>\n"
                               "  <uuid>3f2c6a52-8d0e-4f8e-9a51-2b7c1d5e9f01</uuid>\n"
                               "  <format version=\"1\"/>\n"
                               "  <source>\n"
                               "    <device path=\"/dev/loop0\"/>\n"
                               "    <device path=\"/dev/disk/by-id/a&amp;b&lt;c&gt;&quot;d'\"/>\n"
                               "    <device path=\"/dev/m\xc3\xa9tal\"/>\n"
                               "  </source>\n"
                               "  <extent-size unit=\"bytes\">4194304</extent-size>\n"
                               "  <host-ids>2000</host-ids>\n"
                               "  <lease-slots>2000</lease-slots>\n"
                               "  <status>\n"
                               "    <capacity unit=\"bytes\">3221225472</capacity>\n";
    const char *expect_end = "    <lv name=\"ids\">\n"
                             "      <segment lv-offset=\"0\" length=\"8388608\" pv=\"/dev/loop0\" "
                             "pv-offset=\"1048576\"/>\n"
                             "    </lv>\n";

    xml = pool_pool_def_format(def);
    ck_assert_ptr_nonnull(xml);
    ck_assert_msg(strncmp(xml, expect_start, strlen(expect_start)) == 0, "got:\n%s", xml);
    ck_assert_msg(strstr(xml, expect_end) != NULL, "got:\n%s", xml);
    ck_assert(strstr(xml, "<seqno>18446744073709551615</seqno>") != NULL);
    ck_assert(strstr(xml, "<?xml") == NULL);
    ck_assert(xml[strlen(xml) - 1] == '\n');
    ck_assert(strcmp(xml + strlen(xml) - 8, "</pool>\n") == 0);
}
END_TEST

START_TEST(test_vol_round_trip)
{
    POOL_AUTOPTR(poolVolDef) def = make_vol();

    vol_round_trip(def);

    /* lease location unknown */
    free(def->lease_pv);
    def->lease_pv = NULL;
    vol_round_trip(def);
    /* no lease, no lun, no state, no map */
    def->lease_slot = -1;
    def->lun = -1;
    free(def->state);
    def->state = NULL;
    for (size_t i = 0; i < def->nsegments; i++)
        free(def->segments[i].pv);
    free(def->segments);
    def->segments = NULL;
    def->nsegments = 0;
    def->created = 0;
    def->lun = 0;
    vol_round_trip(def);
    free(def->format);
    def->format = strdup("qcow2");
    def->capacity = 1;
    vol_round_trip(def);
    /* a qcow2 top: its LV as allocation, the snapshot (or template) it
     * sits on */
    def->allocation = 72ull << 20;
    def->parent = strdup("s1");
    def->parent_layer = strdup("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1");
    vol_round_trip(def);
    def->parent_is_template = true;
    vol_round_trip(def);
}
END_TEST

START_TEST(test_vol_omits_unknowns)
{
    POOL_AUTOPTR(poolVolDef) def = make_vol();
    POOL_AUTOFREE(char *) xml = NULL;

    def->lease_slot = -1;
    def->lun = -1;
    xml = pool_vol_def_format(def);
    ck_assert_ptr_nonnull(xml);
    ck_assert(strstr(xml, "<lease") == NULL);
    ck_assert(strstr(xml, "<lun") == NULL);
    free(xml);

    def->lease_slot = 7;
    xml = pool_vol_def_format(def);
    ck_assert_ptr_nonnull(xml);
    ck_assert_msg(strstr(xml, "  <lease slot=\"7\" pv=\"/dev/loop0\" offset=\"12582912\"/>\n"),
                  "%s", xml);
    ck_assert(strstr(xml, "  <capacity unit=\"bytes\">21474836480</capacity>\n"));
}
END_TEST

START_TEST(test_format_rejects_bad_defs)
{
    POOL_AUTOPTR(poolPoolDef) pool = make_pool(true);
    POOL_AUTOPTR(poolVolDef) vol = make_vol();

    pool->host_ids = 0;
    ck_assert_ptr_null(pool_pool_def_format(pool));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    pool->host_ids = 1;
    pool->extent_size = 3u << 19;
    ck_assert_ptr_null(pool_pool_def_format(pool));
    pool->extent_size = 4u << 20;
    pool->leases_segments[1].lv_offset += 1;
    ck_assert_ptr_null(pool_pool_def_format(pool));
    pool->leases_segments[1].lv_offset -= 1;
    free(pool->devices[1]);
    pool->devices[1] = strdup("/dev/loop0");
    ck_assert_ptr_null(pool_pool_def_format_node(pool));

    vol->lease_slot = 0;
    ck_assert_ptr_null(pool_vol_def_format(vol));
    vol->lease_slot = 1;
    vol->lun = 16384;
    ck_assert_ptr_null(pool_vol_def_format(vol));
    vol->lun = -1;
    vol->created = -1;
    ck_assert_ptr_null(pool_vol_def_format(vol));
    vol->created = 0;
    free(vol->name);
    vol->name = strdup("leases");
    ck_assert_ptr_null(pool_vol_def_format(vol));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    free(vol->name);
    vol->name = strdup("ok");
    {
        xmlNodePtr node = pool_vol_def_format_node(vol);
        ck_assert_ptr_nonnull(node);
        xmlFreeNode(node);
    }
}
END_TEST

/* ---- units ----------------------------------------------------------------- */

static const char vol_template[] = "<volume><name>v</name>"
                                   "<uuid>6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b</uuid>"
                                   "<pool>p</pool>%s<format type=\"raw\"/>"
                                   "<created>1</created></volume>";

START_TEST(test_size_units)
{
    static const struct {
        const char *elem;
        uint64_t bytes;
    } cases[] = {
        {"<capacity>1</capacity>", 1},
        {"<capacity unit=\"bytes\">512</capacity>", 512},
        {"<capacity unit=\"B\">513</capacity>", 513},
        {"<capacity unit=\"KiB\">3</capacity>", 3072},
        {"<capacity unit=\"MiB\">5</capacity>", 5u << 20},
        {"<capacity unit=\"GiB\">20</capacity>", UINT64_C(20) << 30},
        {"<capacity unit=\"TiB\">2</capacity>", UINT64_C(2) << 40},
        {"<capacity unit=\"TiB\">8388607</capacity>", UINT64_C(8388607) << 40},
        {"<capacity> 42\n</capacity>", 42},
        {"<capacity>007</capacity>", 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        POOL_AUTOFREE(char *) xml = NULL;
        POOL_AUTOPTR(poolVolDef) def = NULL;

        ck_assert_int_ge(asprintf(&xml, vol_template, cases[i].elem), 0);
        def = pool_vol_def_parse_string(xml, strlen(xml));
        ck_assert_msg(def != NULL, "%s: %s", cases[i].elem, pool_error_last_message());
        ck_assert_uint_eq(def->capacity, cases[i].bytes);
    }
}
END_TEST

/* ---- bad documents --------------------------------------------------------- */

#define POOL_HEAD "<pool type=\"poold\">"
#define POOL_NAME "<name>pool1</name>"
#define POOL_UUID "<uuid>3f2c6a52-8d0e-4f8e-9a51-2b7c1d5e9f01</uuid>"
#define POOL_FMT  "<format version=\"1\"/>"
#define POOL_SRC  "<source><device path=\"/dev/loop0\"/></source>"
#define POOL_EXT  "<extent-size unit=\"bytes\">4194304</extent-size>"
#define POOL_IDS  "<host-ids>2000</host-ids>"
#define POOL_SLOT "<lease-slots>2000</lease-slots>"
#define POOL_TAIL "</pool>"
#define POOL_BODY POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT
#define POOL_OK   POOL_HEAD POOL_BODY POOL_TAIL
#define STATUS_NUMS                                                                                \
    "<capacity>1</capacity><allocation>1</allocation><available>0</available>"                     \
    "<volumes>0</volumes><seqno>1</seqno>"
#define SEG(off, len)                                                                              \
    "<segment lv-offset=\"" off "\" length=\"" len "\" pv=\"/dev/a\" pv-offset=\"0\"/>"

#define LAUGHS                                                                                     \
    "<?xml version=\"1.0\"?>\n"                                                                    \
    "<!DOCTYPE pool [\n"                                                                           \
    " <!ENTITY lol \"lol\">\n"                                                                     \
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"                     \
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"           \
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"           \
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"           \
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"           \
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"           \
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"           \
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"           \
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"           \
    "]>\n" POOL_HEAD                                                                               \
    "<name>&lol9;</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL

static const struct {
    const char *what;
    const char *xml;
} bad_pools[] = {
    {"unknown element", POOL_HEAD POOL_BODY "<mirror/>" POOL_TAIL},
    {"unknown attribute on root", "<pool type=\"poold\" x=\"1\">" POOL_BODY POOL_TAIL},
    {"unknown attribute on child", POOL_HEAD "<name x=\"1\">pool1</name>" POOL_UUID POOL_FMT
                                       POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"namespaced root", "<pool xmlns=\"urn:x\" type=\"poold\">" POOL_BODY POOL_TAIL},
    {"namespaced attribute",
     "<pool xmlns:x=\"urn:x\" x:type=\"poold\" type=\"poold\">" POOL_BODY POOL_TAIL},
    {"wrong root", "<volume>" POOL_BODY "</volume>"},
    {"wrong type", "<pool type=\"lvm\">" POOL_BODY POOL_TAIL},
    {"missing type", "<pool>" POOL_BODY POOL_TAIL},
    {"missing name", POOL_HEAD POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"missing lease-slots",
     POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_TAIL},
    {"duplicate name", POOL_HEAD POOL_NAME POOL_BODY POOL_TAIL},
    {"text in element-only content", POOL_HEAD "hello" POOL_BODY POOL_TAIL},
    {"element inside name", POOL_HEAD
     "<name><b>pool1</b></name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"bad name", POOL_HEAD
     "<name>-pool</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"name with space", POOL_HEAD
     "<name>po ol</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"empty name",
     POOL_HEAD "<name/>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"name too long", POOL_HEAD
     "<name>a1234567890123456789012345678901234567890123456789012345678901234</name>" POOL_UUID
         POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"name with path", POOL_HEAD
     "<name>../etc</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"bad uuid",
     POOL_HEAD POOL_NAME "<uuid>3f2c6a52-8d0e-4f8e-9a51-2b7c1d5e9f0g</uuid>" POOL_FMT POOL_SRC
         POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"short uuid", POOL_HEAD POOL_NAME
     "<uuid>3f2c6a52</uuid>" POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"long uuid",
     POOL_HEAD POOL_NAME "<uuid>3f2c6a52-8d0e-4f8e-9a51-2b7c1d5e9f011</uuid>" POOL_FMT POOL_SRC
         POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"format version 2", POOL_HEAD POOL_NAME POOL_UUID
     "<format version=\"2\"/>" POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"format with content", POOL_HEAD POOL_NAME POOL_UUID
     "<format version=\"1\">x</format>" POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"duplicate devices", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT
     "<source><device path=\"/dev/loop0\"/><device path=\"/dev/loop1\"/>"
     "<device path=\"/dev/loop0\"/></source>" POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"relative device", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT
     "<source><device path=\"dev/loop0\"/></source>" POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"empty source",
     POOL_HEAD POOL_NAME POOL_UUID POOL_FMT "<source/>" POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"device without path", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT
     "<source><device/></source>" POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"device with tab", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT
     "<source><device path=\"/dev/a&#9;b\"/></source>" POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"device with DEL", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT
     "<source><device path=\"/dev/a&#127;b\"/></source>" POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"negative host-ids", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>-1</host-ids>" POOL_SLOT POOL_TAIL},
    {"zero host-ids", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>0</host-ids>" POOL_SLOT POOL_TAIL},
    {"host-ids 2001", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>2001</host-ids>" POOL_SLOT POOL_TAIL},
    {"host-ids with sign", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>+5</host-ids>" POOL_SLOT POOL_TAIL},
    {"host-ids hex", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>0x10</host-ids>" POOL_SLOT POOL_TAIL},
    {"host-ids empty", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids></host-ids>" POOL_SLOT POOL_TAIL},
    {"host-ids overflow", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>18446744073709551617</host-ids>" POOL_SLOT POOL_TAIL},
    {"host-ids wraps to 1", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT
     "<host-ids>4294967297</host-ids>" POOL_SLOT POOL_TAIL},
    {"lease-slots 65536", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS
     "<lease-slots>65536</lease-slots>" POOL_TAIL},
    {"extent not MiB multiple", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size>1572864</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent too small", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size unit=\"KiB\">512</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent too large", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size unit=\"GiB\">2</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent zero", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size>0</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent huge number", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size>99999999999999999999999</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent unit overflow", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size unit=\"TiB\">16777216</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent unknown unit", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size unit=\"mib\">4</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"extent fraction", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC
     "<extent-size unit=\"MiB\">4.0</extent-size>" POOL_IDS POOL_SLOT POOL_TAIL},
    {"status missing seqno", POOL_HEAD POOL_BODY
     "<status><capacity>1</capacity><allocation>1</allocation><available>0</available>"
     "<volumes>0</volumes></status>" POOL_TAIL},
    {"status unknown lv", POOL_HEAD POOL_BODY
     "<status>" STATUS_NUMS "<lv name=\"data\">" SEG("0", "1") "</lv></status>" POOL_TAIL},
    {"status duplicate lv",
     POOL_HEAD POOL_BODY "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG(
         "0", "1") "</lv><lv name=\"ids\">" SEG("0", "1") "</lv></status>" POOL_TAIL},
    {"lv without segments",
     POOL_HEAD POOL_BODY "<status>" STATUS_NUMS "<lv name=\"ids\"/></status>" POOL_TAIL},
    {"segment gap", POOL_HEAD POOL_BODY "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG("0", "10")
                        SEG("11", "5") "</lv></status>" POOL_TAIL},
    {"segments unsorted", POOL_HEAD POOL_BODY "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG(
                              "10", "5") SEG("0", "10") "</lv></status>" POOL_TAIL},
    {"segment not from 0", POOL_HEAD POOL_BODY
     "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG("1", "10") "</lv></status>" POOL_TAIL},
    {"segment zero length", POOL_HEAD POOL_BODY
     "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG("0", "0") "</lv></status>" POOL_TAIL},
    {"segment offset overflow",
     POOL_HEAD POOL_BODY "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG("0", "9223372036854775807")
         SEG("9223372036854775807", "1") "</lv></status>" POOL_TAIL},
    {"segment unknown attribute", POOL_HEAD POOL_BODY
     "<status>" STATUS_NUMS
     "<lv name=\"ids\"><segment lv-offset=\"0\" length=\"1\" pv=\"/dev/a\" pv-offset=\"0\" "
     "x=\"1\"/></lv></status>" POOL_TAIL},
    {"segment missing pv", POOL_HEAD POOL_BODY
     "<status>" STATUS_NUMS "<lv name=\"ids\"><segment lv-offset=\"0\" length=\"1\" "
     "pv-offset=\"0\"/></lv></status>" POOL_TAIL},
    {"status volumes negative", POOL_HEAD POOL_BODY
     "<status><capacity>1</capacity><allocation>1</allocation><available>0</available>"
     "<volumes>-1</volumes><seqno>1</seqno></status>" POOL_TAIL},
    {"status capacity beyond off_t", POOL_HEAD POOL_BODY
     "<status><capacity>9223372036854775808</capacity><allocation>1</allocation>"
     "<available>0</available><volumes>1</volumes><seqno>1</seqno></status>" POOL_TAIL},
    {"DOCTYPE", "<!DOCTYPE pool>" POOL_OK},
    {"DOCTYPE with system id", "<!DOCTYPE pool SYSTEM \"http://example.com/pool.dtd\">" POOL_OK},
    {"external entity",
     "<!DOCTYPE pool [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" POOL_HEAD
     "<name>&x;</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"billion laughs", LAUGHS},
    {"undeclared entity", POOL_HEAD
     "<name>&x;</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"not well-formed", POOL_HEAD POOL_BODY},
    {"mismatched tag", POOL_HEAD POOL_BODY "</pol>"},
    {"two roots", POOL_OK POOL_OK},
    {"garbage", "\x01\x02\x03 not xml"},
    {"whitespace only", "   \n  "},
    {"text only", "pool1"},
    {"control char reference", POOL_HEAD
     "<name>pool&#1;</name>" POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT POOL_TAIL},
    {"xinclude", POOL_HEAD POOL_NAME POOL_UUID POOL_FMT POOL_SRC POOL_EXT POOL_IDS POOL_SLOT
     "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"/etc/passwd\"/>" POOL_TAIL},
};

START_TEST(test_bad_pool_documents)
{
    const char *what = bad_pools[_i].what;
    const char *xml = bad_pools[_i].xml;
    poolPoolDef *def = NULL;

    pool_error_reset();
    def = pool_pool_def_parse_string(xml, strlen(xml));
    ck_assert_msg(def == NULL, "'%s' was accepted", what);
    if (getenv("POOL_TEST_VERBOSE"))
        fprintf(stderr, "%s: %s\n", what, pool_error_last_message());
    ck_assert_msg(pool_error_last_code() == POOL_ERR_XML, "'%s': code %d (%s)", what,
                  pool_error_last_code(), pool_error_last_message());
    ck_assert(strlen(pool_error_last_message()) > 0);
}
END_TEST

START_TEST(test_good_pool_sanity)
{
    /* The table's base document is itself valid, so each bad case fails for
     * the reason it names. */
    POOL_AUTOPTR(poolPoolDef) def = pool_pool_def_parse_string(POOL_OK, strlen(POOL_OK));
    const char *with_status =
        POOL_HEAD POOL_BODY "<status>" STATUS_NUMS "<lv name=\"ids\">" SEG("0", "10")
            SEG("10", "5") "</lv></status>" POOL_TAIL;
    POOL_AUTOPTR(poolPoolDef) def2 = NULL;

    ck_assert_msg(def != NULL, "%s", pool_error_last_message());
    ck_assert_str_eq(def->name, "pool1");
    ck_assert_ptr_null(def->devices[1]);
    ck_assert(!def->has_status);
    def2 = pool_pool_def_parse_string(with_status, strlen(with_status));
    ck_assert_msg(def2 != NULL, "%s", pool_error_last_message());
    ck_assert(def2->has_status);
    ck_assert_uint_eq(def2->nids_segments, 2);
    ck_assert_uint_eq(def2->nleases_segments, 0);
}
END_TEST

#define VOL_HEAD "<volume>"
#define VOL_NAME "<name>web01</name>"
#define VOL_UUID "<uuid>6b1f0e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b</uuid>"
#define VOL_POOL "<pool>pool1</pool>"
#define VOL_CAP  "<capacity unit=\"GiB\">20</capacity>"
#define VOL_FMT  "<format type=\"raw\"/>"
#define VOL_CRE  "<created>1700000000</created>"
#define VOL_TAIL "</volume>"
#define VOL_BODY VOL_NAME VOL_UUID VOL_POOL VOL_CAP VOL_FMT VOL_CRE
#define VOL_OK   VOL_HEAD VOL_BODY VOL_TAIL
#define VOL_NAMED(n)                                                                               \
    VOL_HEAD "<name>" n "</name>" VOL_UUID VOL_POOL VOL_CAP VOL_FMT VOL_CRE VOL_TAIL

static const struct {
    const char *what;
    const char *xml;
} bad_vols[] = {
    {"unknown element", VOL_HEAD VOL_BODY "<thin/>" VOL_TAIL},
    {"parent without layer", VOL_HEAD VOL_BODY "<parent snapshot=\"s1\"/>" VOL_TAIL},
    {"parent with both names",
     VOL_HEAD VOL_BODY "<parent snapshot=\"s1\" template=\"t\" "
                       "layer=\"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1\"/>" VOL_TAIL},
    {"parent layer not a uuid", VOL_HEAD VOL_BODY "<parent snapshot=\"s1\" layer=\"x\"/>" VOL_TAIL},
    {"parent name reserved",
     VOL_HEAD VOL_BODY "<parent snapshot=\"pdl-1\" "
                       "layer=\"aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaa1\"/>" VOL_TAIL},
    {"allocation not a size", VOL_HEAD VOL_BODY "<allocation>x</allocation>" VOL_TAIL},
    {"unknown root attribute", "<volume type=\"raw\">" VOL_BODY VOL_TAIL},
    {"missing created", VOL_HEAD VOL_NAME VOL_UUID VOL_POOL VOL_CAP VOL_FMT VOL_TAIL},
    {"missing pool", VOL_HEAD VOL_NAME VOL_UUID VOL_CAP VOL_FMT VOL_CRE VOL_TAIL},
    {"duplicate capacity", VOL_HEAD VOL_BODY VOL_CAP VOL_TAIL},
    {"reserved name ids", VOL_NAMED("ids")},
    {"reserved name leases", VOL_NAMED("leases")},
    {"reserved prefix snapshot", VOL_NAMED("snapshot1")},
    {"reserved substring _mlog", VOL_NAMED("a_mlog")},
    {"name with slash", VOL_NAMED("a/b")},
    {"name starting with dash", VOL_NAMED("-rf")},
    {"bad pool name",
     VOL_HEAD VOL_NAME VOL_UUID "<pool>po/ol</pool>" VOL_CAP VOL_FMT VOL_CRE VOL_TAIL},
    {"bad uuid",
     VOL_HEAD VOL_NAME "<uuid>not-a-uuid</uuid>" VOL_POOL VOL_CAP VOL_FMT VOL_CRE VOL_TAIL},
    {"capacity zero",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL "<capacity>0</capacity>" VOL_FMT VOL_CRE VOL_TAIL},
    {"capacity negative",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL "<capacity>-1</capacity>" VOL_FMT VOL_CRE VOL_TAIL},
    {"capacity overflow", VOL_HEAD VOL_NAME VOL_UUID VOL_POOL
     "<capacity>18446744073709551616</capacity>" VOL_FMT VOL_CRE VOL_TAIL},
    {"capacity unit overflow", VOL_HEAD VOL_NAME VOL_UUID VOL_POOL
     "<capacity unit=\"TiB\">8388608</capacity>" VOL_FMT VOL_CRE VOL_TAIL},
    {"capacity text",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL "<capacity>20G</capacity>" VOL_FMT VOL_CRE VOL_TAIL},
    {"capacity inner space",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL "<capacity>2 0</capacity>" VOL_FMT VOL_CRE VOL_TAIL},
    {"unknown format",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL VOL_CAP "<format type=\"vmdk\"/>" VOL_CRE VOL_TAIL},
    {"format without type",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL VOL_CAP "<format/>" VOL_CRE VOL_TAIL},
    {"lease slot 0", VOL_HEAD VOL_BODY "<lease slot=\"0\"/>" VOL_TAIL},
    {"lease slot 65536", VOL_HEAD VOL_BODY "<lease slot=\"65536\"/>" VOL_TAIL},
    {"lease slot negative", VOL_HEAD VOL_BODY "<lease slot=\"-1\"/>" VOL_TAIL},
    {"lease without slot", VOL_HEAD VOL_BODY "<lease/>" VOL_TAIL},
    {"lease pv without offset", VOL_HEAD VOL_BODY "<lease slot=\"1\" pv=\"/dev/a\"/>" VOL_TAIL},
    {"lease offset without pv", VOL_HEAD VOL_BODY "<lease slot=\"1\" offset=\"0\"/>" VOL_TAIL},
    {"lease relative pv", VOL_HEAD VOL_BODY "<lease slot=\"1\" pv=\"a\" offset=\"0\"/>" VOL_TAIL},
    {"lun negative", VOL_HEAD VOL_BODY "<lun id=\"-1\"/>" VOL_TAIL},
    {"lun too large", VOL_HEAD VOL_BODY "<lun id=\"16384\"/>" VOL_TAIL},
    {"lun with content", VOL_HEAD VOL_BODY "<lun id=\"1\">1</lun>" VOL_TAIL},
    {"created negative",
     VOL_HEAD VOL_NAME VOL_UUID VOL_POOL VOL_CAP VOL_FMT "<created>-1</created>" VOL_TAIL},
    {"created beyond int64", VOL_HEAD VOL_NAME VOL_UUID VOL_POOL VOL_CAP VOL_FMT
     "<created>9223372036854775808</created>" VOL_TAIL},
    {"state upper case", VOL_HEAD VOL_BODY "<state>Ready</state>" VOL_TAIL},
    {"state with space", VOL_HEAD VOL_BODY "<state>in progress</state>" VOL_TAIL},
    {"state empty", VOL_HEAD VOL_BODY "<state/>" VOL_TAIL},
    {"state with DEL", VOL_HEAD VOL_BODY "<state>a&#127;</state>" VOL_TAIL},
    {"state with C1 control", VOL_HEAD VOL_BODY "<state>a\xc2\x85</state>" VOL_TAIL},
    {"invalid UTF-8", VOL_HEAD VOL_BODY "<state>a\xff</state>" VOL_TAIL},
    {"empty target", VOL_HEAD VOL_BODY "<target/>" VOL_TAIL},
    {"target gap",
     VOL_HEAD VOL_BODY "<target>" SEG("0", "10") SEG("20", "10") "</target>" VOL_TAIL},
    {"target overlap",
     VOL_HEAD VOL_BODY "<target>" SEG("0", "10") SEG("5", "10") "</target>" VOL_TAIL},
    {"target foreign child", VOL_HEAD VOL_BODY "<target><lv/></target>" VOL_TAIL},
    {"DOCTYPE", "<!DOCTYPE volume>" VOL_OK},
    {"empty", ""},
    {"truncated", VOL_HEAD VOL_NAME},
};

START_TEST(test_bad_vol_documents)
{
    const char *what = bad_vols[_i].what;
    const char *xml = bad_vols[_i].xml;
    poolVolDef *def = NULL;

    pool_error_reset();
    def = pool_vol_def_parse_string(xml, strlen(xml));
    ck_assert_msg(def == NULL, "'%s' was accepted", what);
    if (getenv("POOL_TEST_VERBOSE"))
        fprintf(stderr, "%s: %s\n", what, pool_error_last_message());
    ck_assert_msg(pool_error_last_code() == POOL_ERR_XML, "'%s': code %d (%s)", what,
                  pool_error_last_code(), pool_error_last_message());
}
END_TEST

START_TEST(test_good_vol_sanity)
{
    POOL_AUTOPTR(poolVolDef) def = pool_vol_def_parse_string(VOL_OK, strlen(VOL_OK));
    const char *full =
        VOL_HEAD VOL_BODY "<lease slot=\"65535\" pv=\"/dev/a\" offset=\"0\"/>"
                          "<lun id=\"0\"/><state>lv-create</state><target>" SEG("0", "10")
                              SEG("10", "10") "</target>" VOL_TAIL;
    POOL_AUTOPTR(poolVolDef) def2 = NULL;

    ck_assert_msg(def != NULL, "%s", pool_error_last_message());
    ck_assert_int_eq(def->lease_slot, -1);
    ck_assert_int_eq(def->lun, -1);
    ck_assert_ptr_null(def->state);
    ck_assert_ptr_null(def->lease_pv);
    ck_assert_uint_eq(def->nsegments, 0);
    def2 = pool_vol_def_parse_string(full, strlen(full));
    ck_assert_msg(def2 != NULL, "%s", pool_error_last_message());
    ck_assert_int_eq(def2->lease_slot, 65535);
    ck_assert_str_eq(def2->lease_pv, "/dev/a");
    ck_assert_int_eq(def2->lun, 0);
    ck_assert_str_eq(def2->state, "lv-create");
    ck_assert_uint_eq(def2->nsegments, 2);
}
END_TEST

/* ---- the safe reader ------------------------------------------------------- */

START_TEST(test_read_memory)
{
    xmlDocPtr doc = NULL;
    char *big = NULL;
    const size_t cap = 4u * 1024 * 1024;

    doc = pool_xml_read_memory("<a>  <b/>  </a>", 15, "test doc");
    ck_assert_ptr_nonnull(doc);
    xmlFreeDoc(doc);

    /* error names the document and carries the line */
    ck_assert_ptr_null(pool_xml_read_memory("<a>\n<b>\n</a>", 12, "my doc"));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    ck_assert_msg(strstr(pool_error_last_message(), "my doc") != NULL, "%s",
                  pool_error_last_message());
    ck_assert_msg(strstr(pool_error_last_message(), "line 3") != NULL, "%s",
                  pool_error_last_message());

    ck_assert_ptr_null(pool_xml_read_memory("<!DOCTYPE a><a/>", 16, "dt"));
    ck_assert_msg(strstr(pool_error_last_message(), "DOCTYPE") != NULL, "%s",
                  pool_error_last_message());
    ck_assert_ptr_null(pool_xml_read_memory(LAUGHS, strlen(LAUGHS), "bomb"));
    ck_assert_msg(strstr(pool_error_last_message(), "DOCTYPE") != NULL, "%s",
                  pool_error_last_message());

    ck_assert_ptr_null(pool_xml_read_memory("", 0, "empty"));
    ck_assert_ptr_null(pool_xml_read_memory(NULL, 5, "null"));
    ck_assert_ptr_null(pool_xml_read_memory("<a/>\0<b/>", 9, "nul"));

    /* size cap: exactly 4 MiB is read, one byte more is refused up front */
    big = malloc(cap + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', cap + 1);
    memcpy(big, "<a>", 3);
    memcpy(big + cap - 4, "</a>", 4);
    doc = pool_xml_read_memory(big, cap, "big");
    ck_assert_msg(doc != NULL, "%s", pool_error_last_message());
    xmlFreeDoc(doc);
    ck_assert_ptr_null(pool_xml_read_memory(big, cap + 1, "big"));
    ck_assert_msg(strstr(pool_error_last_message(), "too large") != NULL, "%s",
                  pool_error_last_message());
    free(big);
}
END_TEST

START_TEST(test_validate_helpers)
{
    POOL_AUTOFREE(char *) rng = test_schema_path("pool.rng");
    POOL_AUTOFREE(char *) vrng = test_schema_path("volume.rng");
    POOL_AUTOFREE(char *) file = NULL;

    ck_assert_int_eq(pool_xml_validate_string(POOL_OK, strlen(POOL_OK), rng), 0);
    ck_assert_int_eq(pool_xml_validate_string(POOL_OK, strlen(POOL_OK), vrng), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    ck_assert_int_eq(pool_xml_validate_string(VOL_OK, strlen(VOL_OK), vrng), 0);
    ck_assert_int_eq(pool_xml_validate_string("<pool/>", 7, rng), -1);
    ck_assert_int_eq(pool_xml_validate_string("<pool", 5, rng), -1);
    ck_assert_int_eq(pool_xml_validate_string(POOL_OK, strlen(POOL_OK), "/nonexistent.rng"), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);

    ck_assert_int_ge(asprintf(&file, "%s/xml-schemas/examples/pool-status.xml", test_srcdir()), 0);
    ck_assert_msg(pool_xml_validate_file(file, rng) == 0, "%s", pool_error_last_message());
    ck_assert_int_eq(pool_xml_validate_file(file, vrng), -1);
    ck_assert_int_eq(pool_xml_validate_file("/nonexistent.xml", rng), -1);
}
END_TEST

START_TEST(test_parse_file)
{
    POOL_AUTOFREE(char *) path = NULL;
    POOL_AUTOPTR(poolPoolDef) def = NULL;

    ck_assert_int_ge(asprintf(&path, "%s/xml-schemas/examples/pool-minimal.xml", test_srcdir()), 0);
    def = pool_pool_def_parse_file(path);
    ck_assert_msg(def != NULL, "%s", pool_error_last_message());
    ck_assert_uint_eq(def->extent_size, 4u << 20);
    ck_assert_ptr_null(pool_pool_def_parse_file("/nonexistent/pool.xml"));
    ck_assert_ptr_null(pool_pool_def_parse_file("/"));
}
END_TEST

START_TEST(test_parse_node)
{
    xmlDocPtr doc = pool_xml_read_memory(VOL_OK, strlen(VOL_OK), "vol");
    poolVolDef *vol = NULL;

    ck_assert_ptr_nonnull(doc);
    vol = pool_vol_def_parse_node(xmlDocGetRootElement(doc));
    ck_assert_ptr_nonnull(vol);
    pool_vol_def_free(vol);
    ck_assert_ptr_null(pool_pool_def_parse_node(xmlDocGetRootElement(doc)));
    ck_assert_ptr_null(pool_pool_def_parse_node(NULL));
    ck_assert_ptr_null(pool_vol_def_parse_node(NULL));
    xmlFreeDoc(doc);
    pool_pool_def_free(NULL);
    pool_vol_def_free(NULL);
}
END_TEST

/* ---- examples -------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The canonical examples are exactly what the formatter writes (after their
 * leading comment line). */
static void check_canonical(const char *name, const char *data, const char *formatted)
{
    const char *body = strstr(data, "-->\n");

    if (strcmp(name, "pool-status.xml") != 0 && strcmp(name, "volume-full.xml") != 0)
        return;
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(body + 4, formatted);
}

static int check_example(const char *dir, const char *name)
{
    POOL_AUTOFREE(char *) path = NULL;
    POOL_AUTOFREE(char *) data = NULL;
    bool invalid = ends_with(name, "-invalid.xml");
    size_t len = 0;

    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    data = test_read_file(path, &len);

    if (strncmp(name, "pool-", 5) == 0) {
        POOL_AUTOFREE(char *) rng = test_schema_path("pool.rng");
        POOL_AUTOPTR(poolPoolDef) def = pool_pool_def_parse_string(data, len);
        if (invalid) {
            ck_assert_msg(def == NULL, "%s: accepted by the C parser", name);
            ck_assert_int_eq(pool_xml_validate_file(path, rng), -1);
        } else {
            POOL_AUTOFREE(char *) out = NULL;
            ck_assert_msg(def != NULL, "%s: %s", name, pool_error_last_message());
            ck_assert_msg(pool_xml_validate_file(path, rng) == 0, "%s", pool_error_last_message());
            pool_round_trip(def);
            out = pool_pool_def_format(def);
            check_canonical(name, data, out);
        }
    } else if (strncmp(name, "volume-", 7) == 0) {
        POOL_AUTOFREE(char *) rng = test_schema_path("volume.rng");
        POOL_AUTOPTR(poolVolDef) def = pool_vol_def_parse_string(data, len);
        if (invalid) {
            ck_assert_msg(def == NULL, "%s: accepted by the C parser", name);
            ck_assert_int_eq(pool_xml_validate_file(path, rng), -1);
        } else {
            POOL_AUTOFREE(char *) out = NULL;
            ck_assert_msg(def != NULL, "%s: %s", name, pool_error_last_message());
            ck_assert_msg(pool_xml_validate_file(path, rng) == 0, "%s", pool_error_last_message());
            vol_round_trip(def);
            out = pool_vol_def_format(def);
            check_canonical(name, data, out);
        }
    } else {
        /* request-* and reply-* examples are covered by test_proto. */
        return 0;
    }
    return 1;
}

START_TEST(test_examples)
{
    POOL_AUTOFREE(char *) dir = NULL;
    DIR *d = NULL;
    struct dirent *de;
    int checked = 0;
    int invalid = 0;

    ck_assert_int_ge(asprintf(&dir, "%s/xml-schemas/examples", test_srcdir()), 0);
    d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    while ((de = readdir(d))) {
        if (!ends_with(de->d_name, ".xml"))
            continue;
        checked += check_example(dir, de->d_name);
        if (ends_with(de->d_name, "-invalid.xml") &&
            (strncmp(de->d_name, "pool-", 5) == 0 || strncmp(de->d_name, "volume-", 7) == 0))
            invalid++;
    }
    closedir(d);
    ck_assert_int_ge(checked, 10);
    ck_assert_int_ge(invalid, 6);
}
END_TEST

static Suite *xml_suite(void)
{
    Suite *s = suite_create("xml");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_pool_round_trip);
    tcase_add_test(tc, test_pool_canonical_text);
    tcase_add_test(tc, test_pool_locking);
    tcase_add_test(tc, test_vol_round_trip);
    tcase_add_test(tc, test_vol_omits_unknowns);
    tcase_add_test(tc, test_format_rejects_bad_defs);
    tcase_add_test(tc, test_size_units);
    tcase_add_test(tc, test_good_pool_sanity);
    tcase_add_loop_test(tc, test_bad_pool_documents, 0, sizeof(bad_pools) / sizeof(bad_pools[0]));
    tcase_add_test(tc, test_good_vol_sanity);
    tcase_add_loop_test(tc, test_bad_vol_documents, 0, sizeof(bad_vols) / sizeof(bad_vols[0]));
    tcase_add_test(tc, test_read_memory);
    tcase_add_test(tc, test_validate_helpers);
    tcase_add_test(tc, test_parse_file);
    tcase_add_test(tc, test_parse_node);
    tcase_add_test(tc, test_examples);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(xml_suite());
}
