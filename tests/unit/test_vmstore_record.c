// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_vmstore_record.c: the VM record of the metadata store — its XML body
 * and the file (header line + body) that carries it on the share.
 *
 * Why these tests: every host reads these records to decide which VM runs
 * where; a record that one host writes and another misreads, or a torn or
 * bit-flipped file taken for a good one, would move or start the wrong VM.
 * So we pin down that
 *   - format(parse(x)) is a fixed point and round trips every field;
 *   - the formatter's output validates against xml-schemas/vmrecord.rng,
 *     and every vmrecord example parses (or, *-invalid, is refused by the C
 *     parser too);
 *   - a table of bad bodies is refused with POOL_ERR_XML and a message
 *     naming the problem; the formatter refuses the same things;
 *   - the file decoder refuses bad magic, other versions, malformed
 *     headers, length mismatches (truncated, extended) and checksum
 *     mismatches (a single flipped bit), each with its own message.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vmstore.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "test_support.h"

static const char DOMAIN_XML[] = "<domain type='qemu'>\n"
                                 "  <name>web01</name>\n"
                                 "  <description>a &amp; b \"quoted\" &lt;x&gt; "
                                 "m\xc3\xa9tal</description>\n"
                                 "  <memory unit='MiB'>512</memory>\n"
                                 "</domain>\n";

static poolVmRecord *make_record(bool full)
{
    poolVmRecord *rec = calloc(1, sizeof(*rec));

    ck_assert_ptr_nonnull(rec);
    rec->name = strdup(full ? "web01" : "a");
    strcpy(rec->uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    rec->generation = full ? UINT64_C(9223372036854775807) : 1;
    rec->modified = full ? INT64_MAX : 0;
    rec->modified_by = strdup("host-a");
    rec->domain_xml = strdup(full ? DOMAIN_XML : "<domain/>");
    if (full) {
        rec->owner_host = strdup("host-b.example");
        rec->owner_host_id = 2000;
        rec->ndisks = 3;
        rec->disks = calloc(3, sizeof(*rec->disks));
        rec->disks[0].pool = strdup("pool1");
        rec->disks[0].name = strdup("web01-disk");
        rec->disks[1].pool = strdup("pool2");
        rec->disks[1].name = strdup("web01-disk");
        rec->disks[2].pool = strdup("pool1");
        rec->disks[2].name = strdup("web01-data");
    }
    return rec;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static void assert_record_equal(const poolVmRecord *a, const poolVmRecord *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_str_eq(a->uuid, b->uuid);
    ck_assert_uint_eq(a->generation, b->generation);
    ck_assert_int_eq(a->deleted, b->deleted);
    ck_assert(str_eq(a->owner_host, b->owner_host));
    ck_assert_uint_eq(a->owner_host_id, b->owner_host_id);
    ck_assert_int_eq(a->modified, b->modified);
    ck_assert(str_eq(a->modified_by, b->modified_by));
    ck_assert_uint_eq(a->ndisks, b->ndisks);
    for (size_t i = 0; i < a->ndisks; i++) {
        ck_assert_str_eq(a->disks[i].pool, b->disks[i].pool);
        ck_assert_str_eq(a->disks[i].name, b->disks[i].name);
    }
    ck_assert_str_eq(a->domain_xml, b->domain_xml);
}

static void round_trip(const poolVmRecord *rec)
{
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOFREE(char *) xml2 = NULL;
    POOL_AUTOFREE(char *) rng = test_schema_path("vmrecord.rng");
    POOL_AUTOPTR(poolVmRecord) back = NULL;

    xml = pool_vm_record_format(rec);
    ck_assert_msg(xml != NULL, "format: %s", pool_error_last_message());
    ck_assert_msg(pool_xml_validate_string(xml, strlen(xml), rng) == 0, "schema: %s\n%s",
                  pool_error_last_message(), xml);
    back = pool_vm_record_parse(xml, strlen(xml));
    ck_assert_msg(back != NULL, "parse: %s\n%s", pool_error_last_message(), xml);
    assert_record_equal(rec, back);
    xml2 = pool_vm_record_format(back);
    ck_assert_ptr_nonnull(xml2);
    ck_assert_str_eq(xml, xml2);
}

START_TEST(test_round_trip)
{
    POOL_AUTOPTR(poolVmRecord) full = make_record(true);
    POOL_AUTOPTR(poolVmRecord) min = make_record(false);

    round_trip(full);
    round_trip(min);
    full->deleted = true;
    free(full->owner_host);
    full->owner_host = NULL;
    full->owner_host_id = 0;
    round_trip(full);
    min->generation = 0; /* a record never stored */
    round_trip(min);
    /* an owner in a pool without locking has no host id: no attribute */
    full->owner_host = strdup("host-b");
    ck_assert_ptr_nonnull(full->owner_host);
    round_trip(full);
    POOL_AUTOFREE(char *) xml = pool_vm_record_format(full);
    ck_assert_ptr_nonnull(xml);
    ck_assert_ptr_nonnull(strstr(xml, "<owner>host-b</owner>"));
}
END_TEST

START_TEST(test_canonical_text)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(true);
    POOL_AUTOFREE(char *) xml = pool_vm_record_format(rec);

    ck_assert_ptr_nonnull(xml);
    ck_assert_msg(strncmp(xml, "<vmrecord version=\"1\">\n  <name>web01</name>\n", 44) == 0, "%s",
                  xml);
    ck_assert_ptr_nonnull(strstr(xml, "<owner host-id=\"2000\">host-b.example</owner>"));
    ck_assert_ptr_nonnull(strstr(xml, "<modified by=\"host-a\">9223372036854775807</modified>"));
    ck_assert_ptr_nonnull(strstr(xml, "<disk pool=\"pool2\" volume=\"web01-disk\"/>"));
    /* the domain XML is escaped text, kept verbatim */
    ck_assert_ptr_nonnull(strstr(xml, "<domain>&lt;domain type='qemu'&gt;\n"));
    ck_assert_ptr_nonnull(strstr(xml, "a &amp;amp; b"));
    ck_assert_ptr_null(strstr(xml, "<deleted"));
    ck_assert_ptr_nonnull(strstr(xml, "</domain>\n</vmrecord>\n"));
}
END_TEST

START_TEST(test_copy)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(true);
    POOL_AUTOPTR(poolVmRecord) c = pool_vm_record_copy(rec);

    ck_assert_ptr_nonnull(c);
    assert_record_equal(rec, c);
    ck_assert_ptr_ne(rec->disks, c->disks);
    ck_assert_ptr_ne(rec->domain_xml, c->domain_xml);
    ck_assert_ptr_null(pool_vm_record_copy(NULL));
    pool_vm_record_free(NULL);
}
END_TEST

/* ---- bad bodies --------------------------------------------------------- */

#define UUID    "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
#define HEAD    "<vmrecord version=\"1\"><name>web01</name><uuid>" UUID "</uuid>"
#define GEN     "<generation>1</generation>"
#define MOD     "<modified by=\"host-a\">1700000000</modified>"
#define DOM     "<domain>&lt;domain/&gt;</domain>"
#define TAIL    "</vmrecord>"
#define BODY(x) HEAD GEN MOD "<disks/>" x DOM TAIL

static const struct {
    const char *xml;
    const char *msg; /* expected in the error message */
} bad_records[] = {
    {"<vmrecord><name>x</name></vmrecord>", "missing attribute 'version'"},
    {"<vmrecord version=\"2\"/>", "unsupported version 2"},
    {"<vmrecord version=\"1\" x=\"1\"/>", "unknown attribute 'x'"},
    {"<record version=\"1\"/>", "expected a <vmrecord> element"},
    {BODY("<state>on</state>"), "unknown element <state>"},
    {BODY("<name>b</name>"), "duplicate element <name>"},
    {HEAD MOD "<disks/>" DOM TAIL, "missing element <generation>"},
    {HEAD GEN MOD DOM TAIL, "missing element <disks>"},
    {HEAD GEN MOD "<disks/>" TAIL, "missing element <domain>"},
    {HEAD GEN "<disks/>" DOM TAIL, "missing element <modified>"},
    {"<vmrecord version=\"1\"><name>.web</name><uuid>" UUID "</uuid>" GEN MOD "<disks/>" DOM TAIL,
     "must not start with '.'"},
    {"<vmrecord version=\"1\"><name>a b</name><uuid>" UUID "</uuid>" GEN MOD "<disks/>" DOM TAIL,
     "character 0x20 not allowed"},
    {"<vmrecord version=\"1\"><name></name><uuid>" UUID "</uuid>" GEN MOD "<disks/>" DOM TAIL,
     "must not be empty"},
    {"<vmrecord "
     "version=\"1\"><name>a1234567890123456789012345678901234567890123456789012345678901234"
     "</name><uuid>" UUID "</uuid>" GEN MOD "<disks/>" DOM TAIL,
     "longer than 64"},
    {"<vmrecord version=\"1\"><name>w</name><uuid>not-a-uuid</uuid>" GEN MOD "<disks/>" DOM TAIL,
     "is not a valid UUID"},
    {HEAD "<generation>-1</generation>" MOD "<disks/>" DOM TAIL, "not an unsigned decimal"},
    {HEAD "<generation>9223372036854775808</generation>" MOD "<disks/>" DOM TAIL, "out of range"},
    {HEAD "<generation>99999999999999999999999</generation>" MOD "<disks/>" DOM TAIL, "too large"},
    {BODY("<deleted>yes</deleted>"), "must be empty"},
    {BODY("<owner host-id=\"0\">host-b</owner>"), "out of range 1..2000"},
    {BODY("<owner host-id=\"2001\">host-b</owner>"), "out of range 1..2000"},
    {BODY("<owner host-id=\"1\">-host</owner>"), "must start with a letter or digit"},
    {BODY("<owner host-id=\"1\" x=\"y\">h</owner>"), "unknown attribute 'x'"},
    {HEAD GEN "<modified>1</modified><disks/>" DOM TAIL, "missing attribute 'by'"},
    {HEAD GEN "<modified by=\"h\">-5</modified><disks/>" DOM TAIL, "not an unsigned decimal"},
    {HEAD GEN "<modified by=\"h h\">5</modified><disks/>" DOM TAIL, "not allowed"},
    {HEAD GEN MOD "<disks><volume/></disks>" DOM TAIL, "unknown element <volume>"},
    {HEAD GEN MOD "<disks><disk pool=\"p\"/></disks>" DOM TAIL, "missing attribute 'volume'"},
    {HEAD GEN MOD "<disks><disk pool=\"p\" volume=\"v\" x=\"1\"/></disks>" DOM TAIL,
     "unknown attribute 'x'"},
    {HEAD GEN MOD "<disks><disk pool=\"p\" volume=\"ids\"/></disks>" DOM TAIL, "reserved"},
    {HEAD GEN MOD
     "<disks><disk pool=\"p\" volume=\"v\"/><disk pool=\"p\" volume=\"v\"/></disks>" DOM TAIL,
     "duplicate disk p/v"},
    {HEAD GEN MOD "<disks>text</disks>" DOM TAIL, "unexpected text content"},
    {HEAD GEN MOD "<disks/><domain></domain>" TAIL, "domain XML is empty"},
    {HEAD GEN MOD "<disks/><domain>not xml</domain>" TAIL, "vmrecord <domain>: XML error"},
    {HEAD GEN MOD "<disks/><domain>&lt;network/&gt;</domain>" TAIL, "expected <domain>"},
    {HEAD GEN MOD "<disks/><domain><domain/></domain>" TAIL, "unexpected child element"},
    {HEAD GEN MOD "<disks/><domain>&lt;domain&gt;&#1;&lt;/domain&gt;</domain>" TAIL, "XML error"},
    {HEAD GEN MOD "<disks/><domain x=\"1\">&lt;domain/&gt;</domain>" TAIL, "unknown attribute 'x'"},
    {"<!DOCTYPE vmrecord [<!ENTITY a \"b\">]>" BODY(""), "DOCTYPE"},
    {"<vmrecord version=\"1\"", "XML error"},
    {"", "empty XML document"},
};

START_TEST(test_bad_records)
{
    const char *xml = bad_records[_i].xml;
    poolVmRecord *rec;

    pool_error_reset();
    rec = pool_vm_record_parse(xml, strlen(xml));
    ck_assert_msg(rec == NULL, "accepted: %s", xml);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    ck_assert_msg(strstr(pool_error_last_message(), bad_records[_i].msg) != NULL,
                  "message '%s' lacks '%s' for %s", pool_error_last_message(), bad_records[_i].msg,
                  xml);
}
END_TEST

START_TEST(test_good_body_sanity)
{
    /* the table's base document is fine; failures above are the edits */
    static const char ok[] = BODY("");
    POOL_AUTOPTR(poolVmRecord) rec = pool_vm_record_parse(ok, strlen(ok));

    ck_assert_msg(rec != NULL, "%s", pool_error_last_message());
    ck_assert_str_eq(rec->domain_xml, "<domain/>");
    ck_assert_uint_eq(rec->ndisks, 0);
    ck_assert_ptr_null(rec->owner_host);
}
END_TEST

START_TEST(test_limits)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(false);
    POOL_AUTOFREE(char *) xml = NULL;
    POOL_AUTOPTR(poolVmRecord) back = NULL;
    size_t big = POOL_VMREC_DOMAIN_MAX;
    char *dom;

    /* 256 disks is the limit */
    rec->disks = calloc(POOL_VMREC_DISKS_MAX + 1, sizeof(*rec->disks));
    for (size_t i = 0; i <= POOL_VMREC_DISKS_MAX; i++) {
        ck_assert_int_ge(asprintf(&rec->disks[i].pool, "pool%zu", i % 7), 0);
        ck_assert_int_ge(asprintf(&rec->disks[i].name, "vol%zu", i), 0);
    }
    rec->ndisks = POOL_VMREC_DISKS_MAX;
    xml = pool_vm_record_format(rec);
    ck_assert_msg(xml != NULL, "%s", pool_error_last_message());
    back = pool_vm_record_parse(xml, strlen(xml));
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->ndisks, POOL_VMREC_DISKS_MAX);
    rec->ndisks = POOL_VMREC_DISKS_MAX + 1;
    ck_assert_ptr_null(pool_vm_record_format(rec));
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "at most 256"));
    {
        /* and the parser refuses the 257th */
        char *x257 = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&x257, &n);

        fprintf(f, HEAD GEN MOD "<disks>");
        for (size_t i = 0; i <= POOL_VMREC_DISKS_MAX; i++)
            fprintf(f, "<disk pool=\"p\" volume=\"v%zu\"/>", i);
        fprintf(f, "</disks>" DOM TAIL);
        fclose(f);
        ck_assert_ptr_null(pool_vm_record_parse(x257, n));
        ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "more than 256 disks"));
        free(x257);
    }
    for (size_t i = 0; i <= POOL_VMREC_DISKS_MAX; i++) {
        free(rec->disks[i].pool);
        free(rec->disks[i].name);
    }
    free(rec->disks);
    rec->disks = NULL;
    rec->ndisks = 0;

    /* domain XML: 1 MiB is the limit, checked on both sides */
    dom = malloc(big + 2);
    memset(dom, ' ', big + 1);
    memcpy(dom, "<domain>", 8);
    memcpy(dom + big - 9, "</domain>", 9);
    dom[big] = '\0';
    free(rec->domain_xml);
    rec->domain_xml = dom;
    {
        POOL_AUTOFREE(char *) x = pool_vm_record_format(rec);
        POOL_AUTOPTR(poolVmRecord) b = NULL;

        ck_assert_msg(x != NULL, "%s", pool_error_last_message());
        b = pool_vm_record_parse(x, strlen(x));
        ck_assert_msg(b != NULL, "%s", pool_error_last_message());
        ck_assert_uint_eq(strlen(b->domain_xml), big);
    }
    memcpy(dom + big - 9, " </domain>", 10);
    dom[big + 1] = '\0';
    ck_assert_ptr_null(pool_vm_record_format(rec));
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "larger than 1048576 bytes"));

    /* escaping must not make the formatter write what the parser refuses */
    memset(dom, '<', big);
    dom[big] = '\0';
    ck_assert_ptr_null(pool_vm_record_format(rec));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
}
END_TEST

START_TEST(test_format_rejects)
{
    POOL_AUTOPTR(poolVmRecord) rec = NULL;

#define REJECT(edit, msg)                                                                          \
    do {                                                                                           \
        pool_vm_record_free(rec);                                                                  \
        rec = make_record(true);                                                                   \
        edit;                                                                                      \
        ck_assert_ptr_null(pool_vm_record_format(rec));                                            \
        ck_assert_msg(strstr(pool_error_last_message(), msg) != NULL, "'%s' lacks '%s'",           \
                      pool_error_last_message(), msg);                                             \
        ck_assert_ptr_null(pool_vm_record_file_encode(rec, NULL));                                 \
    } while (0)

    REJECT(free(rec->name); rec->name = NULL, "must not be empty");
    REJECT(rec->name[0] = '.', "must not start with '.'");
    REJECT(rec->uuid[3] = 'x', "not a valid UUID");
    REJECT(rec->generation = UINT64_MAX, "out of range");
    REJECT(rec->owner_host_id = 2001, "out of range 1..2000");
    REJECT(free(rec->owner_host); rec->owner_host = NULL, "given without an owner host");
    REJECT(rec->modified = -1, "negative");
    REJECT(free(rec->modified_by); rec->modified_by = NULL, "missing the writing host");
    REJECT(rec->modified_by[0] = '_', "must start with a letter or digit");
    REJECT(free(rec->disks[1].pool);
           rec->disks[1].pool = strdup("pool1"), "duplicate disk pool1/web01-disk");
    REJECT(free(rec->disks[0].name); rec->disks[0].name = strdup("snapshot1"), "reserved");
    REJECT(free(rec->domain_xml); rec->domain_xml = NULL, "domain XML is empty");
    REJECT(free(rec->domain_xml); rec->domain_xml = strdup("<domain>"), "XML error");
    REJECT(free(rec->domain_xml);
           rec->domain_xml = strdup("<domain>\r</domain>"), "control characters");
    REJECT(free(rec->domain_xml);
           rec->domain_xml = strdup("<domain>\xff</domain>"), "invalid UTF-8");
    REJECT(free(rec->domain_xml);
           rec->domain_xml = strdup("<x:domain xmlns:x='u'/>"), "expected <domain>");
    ck_assert_ptr_null(pool_vm_record_format(NULL));
#undef REJECT
}
END_TEST

START_TEST(test_name_rules)
{
    ck_assert_int_eq(pool_vm_name_check("web01", "t"), 0);
    ck_assert_int_eq(pool_vm_name_check("-x_y+z.1", "t"), 0);
    ck_assert_int_eq(pool_vm_name_check(".x", "t"), -1);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_INVALID_ARG);
    ck_assert_int_eq(pool_vm_name_check("a/b", "t"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "character '/'"));
    ck_assert_int_eq(pool_vm_name_check("a\nb", "t"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "0x0a"));
    ck_assert_int_eq(pool_vm_name_check(NULL, "t"), -1);
    ck_assert(pool_vm_name_is_valid("web01"));
    ck_assert(!pool_vm_name_is_valid(".."));
    ck_assert(!pool_vm_name_is_valid(""));
    ck_assert(!pool_vm_name_is_valid(
        "a1234567890123456789012345678901234567890123456789012345678901234"));
    ck_assert(
        pool_vm_name_is_valid("a123456789012345678901234567890123456789012345678901234567890123"));
}
END_TEST

/* ---- the file ----------------------------------------------------------- */

START_TEST(test_file_round_trip)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(true);
    POOL_AUTOPTR(poolVmRecord) back = NULL;
    POOL_AUTOFREE(char *) file = NULL;
    POOL_AUTOFREE(char *) body = pool_vm_record_format(rec);
    char header[80];
    size_t len = 0;

    file = pool_vm_record_file_encode(rec, &len);
    ck_assert_msg(file != NULL, "%s", pool_error_last_message());
    ck_assert_uint_eq(strlen(file), len);
    snprintf(header, sizeof(header), "poold-vmrecord 1 %08" PRIx32 " %zu\n",
             pool_crc32c(0, body, strlen(body)), strlen(body));
    ck_assert_msg(strncmp(file, header, strlen(header)) == 0, "%s", file);
    ck_assert_str_eq(file + strlen(header), body);
    back = pool_vm_record_file_decode(file, len);
    ck_assert_msg(back != NULL, "%s", pool_error_last_message());
    assert_record_equal(rec, back);
}
END_TEST

static void expect_decode_error(const char *data, size_t len, const char *msg)
{
    pool_error_reset();
    ck_assert_ptr_null(pool_vm_record_file_decode(data, len));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    ck_assert_msg(strstr(pool_error_last_message(), msg) != NULL, "'%s' lacks '%s'",
                  pool_error_last_message(), msg);
}

/* The body of a minimal record behind a header built from `tmpl`, where
 * '#' stands for the body's crc32c (8 hex digits), '%' for it in upper case
 * and '@' for its length. */
static char *custom_file(const char *tmpl, size_t *len)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(false);
    POOL_AUTOFREE(char *) body = pool_vm_record_format(rec);
    char header[128];
    size_t o = 0;
    char *out = NULL;
    int n;

    ck_assert_ptr_nonnull(body);
    for (const char *p = tmpl; *p && o + 24 < sizeof(header); p++) {
        if (*p == '#')
            o += (size_t)snprintf(header + o, sizeof(header) - o, "%08" PRIx32,
                                  pool_crc32c(0, body, strlen(body)));
        else if (*p == '%')
            o += (size_t)snprintf(header + o, sizeof(header) - o, "%08" PRIX32,
                                  pool_crc32c(0, body, strlen(body)));
        else if (*p == '@')
            o += (size_t)snprintf(header + o, sizeof(header) - o, "%zu", strlen(body));
        else
            header[o++] = *p;
    }
    header[o] = '\0';
    n = asprintf(&out, "%s%s", header, body);
    ck_assert_int_ge(n, 0);
    *len = (size_t)n;
    return out;
}

static bool minimal_crc_has_letters(void)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(false);
    POOL_AUTOFREE(char *) body = pool_vm_record_format(rec);
    char hex[16];

    snprintf(hex, sizeof(hex), "%08" PRIx32, pool_crc32c(0, body, strlen(body)));
    return strpbrk(hex, "abcdef") != NULL;
}

START_TEST(test_file_rejects)
{
    POOL_AUTOPTR(poolVmRecord) rec = make_record(true);
    POOL_AUTOFREE(char *) file = NULL;
    size_t len = 0;
    size_t body_at;

    file = pool_vm_record_file_encode(rec, &len);
    ck_assert_ptr_nonnull(file);
    body_at = (size_t)(strchr(file, '\n') - file) + 1;

    expect_decode_error(NULL, 0, "empty");
    expect_decode_error("", 0, "empty");
    expect_decode_error("<vmrecord/>", 11, "no header line");
    expect_decode_error("hello world\n", 12, "bad magic");
    expect_decode_error("poold-vmrecordx 1 00000000 0\n", 29, "bad magic");
    expect_decode_error("  \n\xde$", 5, "bad magic"); /* found by fuzz_vm_record */
    expect_decode_error(" poold-vmrecord 1 00000000 0\n", 29, "bad magic");
    expect_decode_error("poold-vmrecord\n", 15, "malformed header line");
    expect_decode_error("poold-vmrecord \n", 16, "malformed header line");

    /* a flipped bit anywhere in the body */
    for (size_t at = body_at; at < len; at += (len - body_at) / 7 + 1) {
        for (int bit = 0; bit < 8; bit += 3) {
            file[at] ^= (char)(1 << bit);
            expect_decode_error(file, len, "checksum mismatch");
            file[at] ^= (char)(1 << bit);
        }
    }
    /* truncated, extended */
    expect_decode_error(file, len - 1, "length mismatch");
    expect_decode_error(file, body_at, "length mismatch: header says");
    {
        POOL_AUTOFREE(char *) longer = malloc(len + 1);
        memcpy(longer, file, len);
        longer[len] = '\n';
        expect_decode_error(longer, len + 1, "length mismatch");
    }
    /* the header's own fields */
    {
        static const struct {
            const char *tmpl;
            const char *msg;
        } headers[] = {
            {"poold-vmrecord 1 # @\n", NULL},
            {"poold-vmrecord 2 # @\n", "unsupported version 2"},
            {"poold-vmrecord 0 # @\n", "unsupported version 0"},
            {"poold-vmrecord 01 # @\n", "malformed version"},
            {"poold-vmrecord x # @\n", "malformed version"},
            {"poold-vmrecord 1 % @\n", NULL}, /* see below */
            {"poold-vmrecord 1 #Z @\n", "malformed checksum"},
            {"poold-vmrecord 1 0# @\n", "malformed checksum"},
            {"poold-vmrecord 1 # 0@\n", "malformed body length"},
            {"poold-vmrecord 1 # @x\n", "malformed body length"},
            {"poold-vmrecord 1 #  @\n", "malformed header line"},
            {"poold-vmrecord 1 # @ \n", "malformed header line"},
            {"poold-vmrecord 1 # @ 1\n", "malformed header line"},
            {"poold-vmrecord 1 #\n@\n", "malformed header line"},
            {"poold-vmrecord  1 # @\n", "malformed header line"},
            {"poold-vmrecord 1 ffffffff @\n", "checksum mismatch"},
        };
        for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
            size_t flen = 0;
            POOL_AUTOFREE(char *) f = custom_file(headers[i].tmpl, &flen);
            const char *msg = headers[i].msg;

            if (strchr(headers[i].tmpl, '%')) /* upper-case hex: refused if it has letters */
                msg = minimal_crc_has_letters() ? "malformed checksum" : NULL;
            if (!msg) {
                POOL_AUTOPTR(poolVmRecord) ok = pool_vm_record_file_decode(f, flen);
                ck_assert_msg(ok != NULL, "%s: %s", headers[i].tmpl, pool_error_last_message());
                continue;
            }
            expect_decode_error(f, flen, msg);
        }
    }
    {
        /* header fine, body not a record */
        static const char body[] = "<volume/>";
        char f[128];
        int n = snprintf(f, sizeof(f), "poold-vmrecord 1 %08" PRIx32 " %zu\n%s",
                         pool_crc32c(0, body, strlen(body)), strlen(body), body);
        expect_decode_error(f, (size_t)n, "expected a <vmrecord> element");
    }
    {
        /* body larger than the limit, claimed in the header */
        static const char h[] = "poold-vmrecord 1 00000000 99999999\n";
        expect_decode_error(h, strlen(h), "malformed body length");
    }
}
END_TEST

/* ---- examples ----------------------------------------------------------- */

static char *read_whole(const char *path, size_t *len)
{
    char *data = NULL;
    ck_assert_msg(pool_file_read_all(path, 1u << 24, &data, len) == 0, "%s",
                  pool_error_last_message());
    return data;
}

START_TEST(test_examples)
{
    POOL_AUTOFREE(char *) dirpath = NULL;
    POOL_AUTOFREE(char *) rng = test_schema_path("vmrecord.rng");
    DIR *dir;
    struct dirent *de;
    int valid = 0;
    int invalid = 0;

    ck_assert_int_ge(asprintf(&dirpath, "%s/xml-schemas/examples", test_srcdir()), 0);
    dir = opendir(dirpath);
    ck_assert_ptr_nonnull(dir);
    while ((de = readdir(dir))) {
        POOL_AUTOFREE(char *) path = NULL;
        POOL_AUTOFREE(char *) xml = NULL;
        POOL_AUTOPTR(poolVmRecord) rec = NULL;
        size_t len = 0;
        bool bad;

        if (strncmp(de->d_name, "vmrecord-", 9) != 0)
            continue;
        bad = strstr(de->d_name, "-invalid.xml") != NULL;
        ck_assert_int_ge(asprintf(&path, "%s/%s", dirpath, de->d_name), 0);
        xml = read_whole(path, &len);
        rec = pool_vm_record_parse(xml, len);
        if (bad) {
            ck_assert_msg(rec == NULL, "%s accepted by the C parser", de->d_name);
            ck_assert_int_eq(pool_xml_validate_file(path, rng), -1);
            invalid++;
        } else {
            ck_assert_msg(rec != NULL, "%s: %s", de->d_name, pool_error_last_message());
            ck_assert_msg(pool_xml_validate_file(path, rng) == 0, "%s: %s", de->d_name,
                          pool_error_last_message());
            round_trip(rec);
            valid++;
        }
    }
    closedir(dir);
    ck_assert_int_ge(valid, 2);
    ck_assert_int_ge(invalid, 2);
}
END_TEST

static Suite *meta_record_suite(void)
{
    Suite *s = suite_create("meta_record");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_canonical_text);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_good_body_sanity);
    tcase_add_loop_test(tc, test_bad_records, 0, sizeof(bad_records) / sizeof(bad_records[0]));
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_format_rejects);
    tcase_add_test(tc, test_name_rules);
    tcase_add_test(tc, test_file_round_trip);
    tcase_add_test(tc, test_file_rejects);
    tcase_add_test(tc, test_examples);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(meta_record_suite());
}
