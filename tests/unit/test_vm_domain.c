// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_vm_domain.c: the domain XML a host gives libvirt to run a VM
 * (pool_vm_domain_runtime, libpool/vm_domain.c): volume disks turned into
 * iSCSI disks of this host's target, the volumes' sanlock leases added.
 *
 * Why these tests: this XML decides what QEMU may open and which leases
 * protect it. A disk left pointing anywhere but the pool's target, a lease
 * missing or naming the wrong slot, or an operator's device silently changed
 * would let two hosts write one volume or break the guest. So we pin down,
 * by parsing the output again with libxml2, that
 *   - each volume disk becomes type='network' with the iSCSI source (IQN/LUN,
 *     portal, initiator) in the old source's place, and keeps its target,
 *     boot order, device= and driver (a raw driver is added when absent);
 *   - with the target's CHAP each iSCSI source names the libvirt secret
 *     (<auth username><secret type='iscsi' usage/></auth>), without it none;
 *   - leases are appended to <devices> in disk order with the exact
 *     lockspace, key, path and decimal offset (also above 4 GiB), none for a
 *     disk without lockspace, and stored leases are kept;
 *   - everything else (name, uuid, other devices, comments) is untouched, the
 *     output has no XML declaration, and values with XML metacharacters come
 *     back exactly (they are escaped, not interpreted);
 *   - every refusal has its code and a message naming the disk (target dev
 *     or #N), the volume and the pool; a DTD or entity is never expanded;
 *   - the output, fed back in, is refused: the rewrite really happened.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-vm-domain.h"
#include "test_support.h"

#define IQN       "iqn.2024-01.org.example:pool.p1"
#define INITIATOR "iqn.2024-01.org.example:qemu.host-a"
#define KEY_ROOT  "6f1c2a0e-1d2b-4c3d-8e4f-5a6b7c8d9e01"
#define KEY_DATA  "6f1c2a0e-1d2b-4c3d-8e4f-5a6b7c8d9e02"
#define LEASES    "/dev/mapper/p1-leases"

static const char DOMAIN_XML[] = "<?xml version='1.0' encoding='UTF-8'?>\n"
                                 "<!-- stored by poolctl vm define -->\n"
                                 "<domain type='kvm'>\n"
                                 "  <name>web01</name>\n"
                                 "  <uuid>1b4e28ba-2fa1-11d2-883f-0016d3cca427</uuid>\n"
                                 "  <description>m\xc3\xa9tal &amp; glass</description>\n"
                                 "  <memory unit='MiB'>512</memory>\n"
                                 "  <devices>\n"
                                 "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
                                 "    <disk type='volume' device='disk'>\n"
                                 "      <source pool='p1' volume='root'/>\n"
                                 "      <target dev='vda' bus='virtio'/>\n"
                                 "      <boot order='1'/>\n"
                                 "    </disk>\n"
                                 "    <!-- the data LUN, SCSI passthrough -->\n"
                                 "    <disk type='volume' device='lun'>\n"
                                 "      <driver name='qemu' type='raw' cache='none' io='native'/>\n"
                                 "      <source pool='p1' volume='data'/>\n"
                                 "      <target dev='sda' bus='scsi'/>\n"
                                 "      <serial>DATA-1</serial>\n"
                                 "      <readonly/>\n"
                                 "    </disk>\n"
                                 "    <lease>\n"
                                 "      <lockspace>site</lockspace>\n"
                                 "      <key>vm-web01</key>\n"
                                 "      <target path='/dev/mapper/site-leases' offset='0'/>\n"
                                 "    </lease>\n"
                                 "    <interface type='network'>\n"
                                 "      <source network='default'/>\n"
                                 "      <mac address='52:54:00:12:34:56'/>\n"
                                 "    </interface>\n"
                                 "    <serial type='pty'><target port='0'/></serial>\n"
                                 "  </devices>\n"
                                 "</domain>\n";

/* 5 GiB + 1 MiB: an offset that does not fit 32 bits */
#define BIG_OFFSET     5369757696ULL
#define BIG_OFFSET_STR "5369757696"

static poolVmDiskMap maps[2];
static poolVmRuntime rt;

static void setup(void)
{
    pool_error_reset();
    memset(maps, 0, sizeof(maps));
    maps[0] = (poolVmDiskMap){.volume = "root",
                              .iqn = IQN,
                              .lun = 1,
                              .lockspace = "p1",
                              .lease_key = KEY_ROOT,
                              .lease_path = LEASES,
                              .lease_offset = 1048576};
    maps[1] = (poolVmDiskMap){.volume = "data",
                              .iqn = IQN,
                              .lun = 2,
                              .lockspace = "p1",
                              .lease_key = KEY_DATA,
                              .lease_path = LEASES,
                              .lease_offset = BIG_OFFSET};
    rt = (poolVmRuntime){.pool = "p1",
                         .host = "192.0.2.10",
                         .port = 3260,
                         .initiator = INITIATOR,
                         .disks = maps,
                         .ndisks = 2};
}

static char *run(const char *xml)
{
    return pool_vm_domain_runtime(xml, strlen(xml), &rt);
}

static xmlDocPtr parse(const char *out)
{
    ck_assert_ptr_nonnull(out);
    xmlDocPtr doc = xmlReadMemory(out, (int)strlen(out), NULL, NULL, XML_PARSE_NONET);
    ck_assert_msg(doc != NULL, "output does not parse: %s", out);
    return doc;
}

/* string(expr) / number(expr) of an XPath expression on the output */
static char *xp_str(xmlDocPtr doc, const char *expr)
{
    POOL_AUTOFREE(char *) full = pool_asprintf("string(%s)", expr);
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    ck_assert_ptr_nonnull(ctx);
    xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST full, ctx);
    ck_assert_msg(obj && obj->type == XPATH_STRING, "bad XPath %s", expr);
    char *s = strdup((const char *)obj->stringval);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return s;
}

static long xp_count(xmlDocPtr doc, const char *expr)
{
    POOL_AUTOFREE(char *) full = pool_asprintf("count(%s)", expr);
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    ck_assert_ptr_nonnull(ctx);
    xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST full, ctx);
    ck_assert_msg(obj && obj->type == XPATH_NUMBER, "bad XPath %s", expr);
    long n = (long)obj->floatval;
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return n;
}

#define ASSERT_XP(doc, expr, want)                                                                 \
    do {                                                                                           \
        char *got_ = xp_str((doc), (expr));                                                        \
        ck_assert_msg(strcmp(got_, (want)) == 0, "%s: got '%s', want '%s'", (expr), got_, (want)); \
        free(got_);                                                                                \
    } while (0)

#define ASSERT_FAILS(out, code, substr)                                                            \
    do {                                                                                           \
        ck_assert_msg((out) == NULL, "accepted: %s", (out));                                       \
        ck_assert_msg(pool_error_last_code() == (code), "code %s, want %s: %s",                    \
                      pool_error_code_name(pool_error_last_code()), pool_error_code_name(code),    \
                      pool_error_last_message());                                                  \
        if (substr)                                                                                \
            ck_assert_msg(strstr(pool_error_last_message(), (substr)) != NULL,                     \
                          "message '%s' lacks '%s'", pool_error_last_message(),                    \
                          (const char *)(substr));                                                 \
    } while (0)

START_TEST(test_disks_rewritten)
{
    POOL_AUTOFREE(char *) out = run(DOMAIN_XML);
    ck_assert_msg(out, "%s", pool_error_last_message());
    xmlDocPtr doc = parse(out);
    const char *d1 = "/domain/devices/disk[1]";
    const char *d2 = "/domain/devices/disk[2]";
    char x[256];

    ck_assert_int_eq(xp_count(doc, "/domain/devices/disk"), 2);
    ck_assert_int_eq(xp_count(doc, "//disk[@type='volume']"), 0);
    /* disk 1: driver added as first child, source in the old source's place */
    snprintf(x, sizeof(x), "%s/@type", d1);
    ASSERT_XP(doc, x, "network");
    snprintf(x, sizeof(x), "%s/@device", d1);
    ASSERT_XP(doc, x, "disk");
    snprintf(x, sizeof(x), "name(%s/*[1])", d1);
    ASSERT_XP(doc, x, "driver");
    snprintf(x, sizeof(x), "%s/driver/@name", d1);
    ASSERT_XP(doc, x, "qemu");
    snprintf(x, sizeof(x), "%s/driver/@type", d1);
    ASSERT_XP(doc, x, "raw");
    snprintf(x, sizeof(x), "name(%s/*[2])", d1);
    ASSERT_XP(doc, x, "source");
    snprintf(x, sizeof(x), "%s/source", d1);
    ck_assert_int_eq(xp_count(doc, x), 1);
    snprintf(x, sizeof(x), "%s/source/@*", d1);
    ck_assert_int_eq(xp_count(doc, x), 2); /* protocol, name: pool= volume= gone */
    snprintf(x, sizeof(x), "%s/source/@protocol", d1);
    ASSERT_XP(doc, x, "iscsi");
    snprintf(x, sizeof(x), "%s/source/@name", d1);
    ASSERT_XP(doc, x, IQN "/1");
    snprintf(x, sizeof(x), "%s/source/host/@name", d1);
    ASSERT_XP(doc, x, "192.0.2.10");
    snprintf(x, sizeof(x), "%s/source/host/@port", d1);
    ASSERT_XP(doc, x, "3260");
    snprintf(x, sizeof(x), "%s/source/initiator/iqn/@name", d1);
    ASSERT_XP(doc, x, INITIATOR);
    snprintf(x, sizeof(x), "%s/target/@dev", d1);
    ASSERT_XP(doc, x, "vda");
    snprintf(x, sizeof(x), "%s/target/@bus", d1);
    ASSERT_XP(doc, x, "virtio");
    snprintf(x, sizeof(x), "%s/boot/@order", d1);
    ASSERT_XP(doc, x, "1");
    snprintf(x, sizeof(x), "%s/*", d1);
    ck_assert_int_eq(xp_count(doc, x), 4);

    /* disk 2: its own driver kept as it was, device='lun' kept */
    snprintf(x, sizeof(x), "%s/@type", d2);
    ASSERT_XP(doc, x, "network");
    snprintf(x, sizeof(x), "%s/@device", d2);
    ASSERT_XP(doc, x, "lun");
    snprintf(x, sizeof(x), "%s/driver", d2);
    ck_assert_int_eq(xp_count(doc, x), 1);
    snprintf(x, sizeof(x), "%s/driver/@cache", d2);
    ASSERT_XP(doc, x, "none");
    snprintf(x, sizeof(x), "%s/driver/@io", d2);
    ASSERT_XP(doc, x, "native");
    snprintf(x, sizeof(x), "name(%s/*[2])", d2);
    ASSERT_XP(doc, x, "source");
    snprintf(x, sizeof(x), "%s/source/@name", d2);
    ASSERT_XP(doc, x, IQN "/2");
    snprintf(x, sizeof(x), "%s/target/@dev", d2);
    ASSERT_XP(doc, x, "sda");
    snprintf(x, sizeof(x), "%s/serial", d2);
    ASSERT_XP(doc, x, "DATA-1");
    snprintf(x, sizeof(x), "%s/readonly", d2);
    ck_assert_int_eq(xp_count(doc, x), 1);
    snprintf(x, sizeof(x), "%s/*", d2);
    ck_assert_int_eq(xp_count(doc, x), 5);
    xmlFreeDoc(doc);
}
END_TEST

/* With the target's CHAP, every disk's source names the libvirt secret by
 * its usage and the user (escaped, as any value); never a secret value. */
START_TEST(test_chap_auth)
{
    char x[256];
    POOL_AUTOFREE(char *) none = run(DOMAIN_XML);
    xmlDocPtr doc = parse(none);
    ck_assert_int_eq(xp_count(doc, "//auth"), 0);
    xmlFreeDoc(doc);

    rt.chap_user = "chap<'&\"user";
    rt.chap_usage = "poold-" IQN;
    POOL_AUTOFREE(char *) out = run(DOMAIN_XML);
    ck_assert_msg(out, "%s", pool_error_last_message());
    doc = parse(out);
    ck_assert_int_eq(xp_count(doc, "//auth"), 2);
    for (int i = 1; i <= 2; i++) {
        snprintf(x, sizeof(x), "/domain/devices/disk[%d]/source/auth/@username", i);
        ASSERT_XP(doc, x, "chap<'&\"user");
        snprintf(x, sizeof(x), "/domain/devices/disk[%d]/source/auth/secret/@type", i);
        ASSERT_XP(doc, x, "iscsi");
        snprintf(x, sizeof(x), "/domain/devices/disk[%d]/source/auth/secret/@usage", i);
        ASSERT_XP(doc, x, "poold-" IQN);
        snprintf(x, sizeof(x), "/domain/devices/disk[%d]/source/auth/*", i);
        ck_assert_int_eq(xp_count(doc, x), 1);
        snprintf(x, sizeof(x), "/domain/devices/disk[%d]/source/auth/secret/@*", i);
        ck_assert_int_eq(xp_count(doc, x), 2);
    }
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(test_leases_and_untouched)
{
    POOL_AUTOFREE(char *) out = run(DOMAIN_XML);
    ck_assert_msg(out, "%s", pool_error_last_message());
    xmlDocPtr doc = parse(out);

    /* the stored lease kept, ours appended after the last child, disk order */
    ck_assert_int_eq(xp_count(doc, "/domain/devices/lease"), 3);
    ASSERT_XP(doc, "/domain/devices/lease[1]/lockspace", "site");
    ASSERT_XP(doc, "/domain/devices/lease[1]/key", "vm-web01");
    ASSERT_XP(doc, "/domain/devices/lease[1]/target/@path", "/dev/mapper/site-leases");
    ASSERT_XP(doc, "name(/domain/devices/*[last()-2])", "serial");
    ASSERT_XP(doc, "/domain/devices/*[last()-1]/lockspace", "p1");
    ASSERT_XP(doc, "/domain/devices/*[last()-1]/key", KEY_ROOT);
    ASSERT_XP(doc, "/domain/devices/*[last()-1]/target/@path", LEASES);
    ASSERT_XP(doc, "/domain/devices/*[last()-1]/target/@offset", "1048576");
    ASSERT_XP(doc, "/domain/devices/*[last()]/lockspace", "p1");
    ASSERT_XP(doc, "/domain/devices/*[last()]/key", KEY_DATA);
    ASSERT_XP(doc, "/domain/devices/*[last()]/target/@path", LEASES);
    ASSERT_XP(doc, "/domain/devices/*[last()]/target/@offset", BIG_OFFSET_STR);
    ck_assert_int_eq(xp_count(doc, "/domain/devices/*[last()]/*"), 3);

    /* nothing else changed */
    ASSERT_XP(doc, "/domain/@type", "kvm");
    ASSERT_XP(doc, "/domain/name", "web01");
    ASSERT_XP(doc, "/domain/uuid", "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    ASSERT_XP(doc, "/domain/description", "m\xc3\xa9tal & glass");
    ASSERT_XP(doc, "/domain/memory", "512");
    ASSERT_XP(doc, "/domain/memory/@unit", "MiB");
    ASSERT_XP(doc, "/domain/devices/emulator", "/usr/bin/qemu-system-x86_64");
    ASSERT_XP(doc, "name(/domain/devices/*[1])", "emulator");
    ASSERT_XP(doc, "/domain/devices/interface/@type", "network");
    ASSERT_XP(doc, "/domain/devices/interface/source/@network", "default");
    ASSERT_XP(doc, "/domain/devices/interface/mac/@address", "52:54:00:12:34:56");
    ck_assert_int_eq(xp_count(doc, "/domain/devices/interface/*"), 2);
    ASSERT_XP(doc, "/domain/devices/serial/@type", "pty");
    ASSERT_XP(doc, "/domain/devices/serial/target/@port", "0");
    ck_assert_int_eq(xp_count(doc, "/domain/devices/*"), 8);
    ck_assert_int_eq(xp_count(doc, "//comment()"), 2);
    ASSERT_XP(doc, "/comment()", " stored by poolctl vm define ");

    /* no declaration; UTF-8 text stays UTF-8 */
    ck_assert_msg(strstr(out, "<?xml") == NULL, "declaration in %s", out);
    ck_assert_ptr_nonnull(strstr(out, "m\xc3\xa9tal"));
    xmlFreeDoc(doc);
}
END_TEST

/* Leases follow the disks in the domain, not the map. */
START_TEST(test_lease_order_and_no_lockspace)
{
    poolVmDiskMap rev[2] = {maps[1], maps[0]};
    rt.disks = rev;
    POOL_AUTOFREE(char *) out = run(DOMAIN_XML);
    ck_assert_msg(out, "%s", pool_error_last_message());
    xmlDocPtr doc = parse(out);
    ASSERT_XP(doc, "/domain/devices/*[last()-1]/key", KEY_ROOT);
    ASSERT_XP(doc, "/domain/devices/*[last()]/key", KEY_DATA);
    ASSERT_XP(doc, "/domain/devices/disk[1]/source/@name", IQN "/1");
    ASSERT_XP(doc, "/domain/devices/disk[2]/source/@name", IQN "/2");
    xmlFreeDoc(doc);

    /* no lockspace: that disk is rewritten but gets no lease */
    rev[1].lockspace = NULL;
    rev[1].lease_key = NULL;
    rev[1].lease_path = NULL;
    POOL_AUTOFREE(char *) out2 = run(DOMAIN_XML);
    ck_assert_msg(out2, "%s", pool_error_last_message());
    doc = parse(out2);
    ck_assert_int_eq(xp_count(doc, "/domain/devices/lease"), 2);
    ck_assert_int_eq(xp_count(doc, "//lease[key='" KEY_ROOT "']"), 0);
    ASSERT_XP(doc, "/domain/devices/*[last()]/key", KEY_DATA);
    ASSERT_XP(doc, "/domain/devices/disk[1]/@type", "network");
    xmlFreeDoc(doc);
}
END_TEST

/* Values with XML metacharacters come back exactly as given. */
START_TEST(test_escaping)
{
    const char *xml = "<domain type='kvm'><name>e</name><devices>"
                      "<disk type='volume' device='disk'><source pool='p&amp;1' volume='v&lt;1'/>"
                      "<target dev='vda'/></disk></devices></domain>";
    poolVmDiskMap m = {.volume = "v<1",
                       .iqn = "iqn.2024-01.org.example:a&b'c\"d",
                       .lun = 0,
                       .lockspace = "ls<&>'\"",
                       .lease_key = "key & <key>",
                       .lease_path = "/dev/disk/by-id/it's&\"x\"<y>",
                       .lease_offset = 0};
    rt.pool = "p&1";
    rt.host = "fe80::1%eth0";
    rt.initiator = "iqn.2024-01.org.example:qemu'&\"";
    rt.disks = &m;
    rt.ndisks = 1;
    POOL_AUTOFREE(char *) out = run(xml);
    ck_assert_msg(out, "%s", pool_error_last_message());
    xmlDocPtr doc = parse(out);
    ASSERT_XP(doc, "//disk/source/@name", "iqn.2024-01.org.example:a&b'c\"d/0");
    ASSERT_XP(doc, "//disk/source/host/@name", "fe80::1%eth0");
    ASSERT_XP(doc, "//disk/source/initiator/iqn/@name", "iqn.2024-01.org.example:qemu'&\"");
    ASSERT_XP(doc, "//lease/lockspace", "ls<&>'\"");
    ASSERT_XP(doc, "//lease/key", "key & <key>");
    ASSERT_XP(doc, "//lease/target/@path", "/dev/disk/by-id/it's&\"x\"<y>");
    ASSERT_XP(doc, "//lease/target/@offset", "0");
    ck_assert_int_eq(xp_count(doc, "//lease/*"), 3);
    xmlFreeDoc(doc);
}
END_TEST

/* The output is no longer a stored definition: a second run refuses it. */
START_TEST(test_twice_refused)
{
    POOL_AUTOFREE(char *) out = run(DOMAIN_XML);
    ck_assert_msg(out, "%s", pool_error_last_message());
    POOL_AUTOFREE(char *) again = run(out);
    ASSERT_FAILS(again, POOL_ERR_INVALID_ARG, "disk vda: a disk of type 'network'");
}
END_TEST

/* No disks: the document comes back unchanged but for the declaration. */
START_TEST(test_no_disks)
{
    const char *xml = "<?xml version='1.0'?><domain type='kvm'><name>n</name>"
                      "<devices><console type='pty'/></devices></domain>";
    rt.disks = NULL;
    rt.ndisks = 0;
    POOL_AUTOFREE(char *) out = run(xml);
    ck_assert_msg(out, "%s", pool_error_last_message());
    ck_assert_str_eq(out, "<domain type=\"kvm\"><name>n</name>"
                          "<devices><console type=\"pty\"/></devices></domain>\n");
}
END_TEST

#define DOM(devices) "<domain type='kvm'><name>x</name><devices>" devices "</devices></domain>"
#define GOOD_VDA     "<disk type='volume'><source pool='p1' volume='root'/><target dev='vda'/></disk>"

static const struct {
    const char *xml;
    poolErrorCode code;
    const char *substr;
} bad[] = {
    {"<domain type='kvm'><name>x</name>", POOL_ERR_XML, "XML error"},
    {"", POOL_ERR_XML, "empty"},
    {"<notdomain/>", POOL_ERR_XML, "expected <domain>"},
    {"<x:domain xmlns:x='urn:x'/>", POOL_ERR_XML, "expected <domain>"},
    {DOM("<disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vdz'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdz: a disk of type 'file' is not a volume of pool p1"},
    {DOM("<disk device='disk'><source pool='p1' volume='root'/><target dev='vdq'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdq: a disk of type '(none)'"},
    {DOM("<disk type='volume'><source pool='p2' volume='root'/><target dev='vdb'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdb: volume 'root' of pool 'p2' is not a volume of pool p1"},
    {DOM("<disk type='volume'><source pool='p1' volume='ghost'/><target dev='vdc'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdc: volume 'ghost' of pool p1 has no LUN"},
    {DOM("<disk type='volume'><target dev='vdd'/></disk>"), POOL_ERR_INVALID_ARG,
     "disk vdd: no <source>"},
    {DOM("<disk type='volume'><source pool='p1' volume='root'/><source pool='p1' volume='data'/>"
         "<target dev='vde'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vde: more than one <source>"},
    {DOM("<disk type='volume'><source pool='p1'/><target dev='vdf'/></disk>"), POOL_ERR_INVALID_ARG,
     "disk vdf: <source> without volume="},
    {DOM("<disk type='volume'><source volume='root'/><target dev='vdg'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdg: <source> without pool="},
    {DOM("<disk type='file'><source file='/x'/></disk>"), POOL_ERR_INVALID_ARG, "disk #1:"},
    {DOM(GOOD_VDA "<disk type='volume'><source pool='p1' volume='ghost'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk #2: volume 'ghost'"},
    {DOM(GOOD_VDA "<disk type='volume'><source pool='p1' volume='root'/><target dev='vdh'/>"
                  "</disk>"),
     POOL_ERR_INVALID_ARG, "disk vdh: volume 'root' of pool p1 is used by an earlier disk"},
    {DOM("<disk xmlns:x='urn:x' x:type='file' type='volume'><source pool='p1' volume='root'/>"
         "<target dev='vdj'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdj: a type attribute in a namespace"},
    {DOM("<disk type='volume'><x:source xmlns:x='urn:x' file='/etc/shadow'/>"
         "<source pool='p1' volume='root'/><target dev='vdk'/></disk>"),
     POOL_ERR_INVALID_ARG, "disk vdk: more than one <source>"},
    /* a long name is cut in the message */
    {DOM("<disk type='volume'><source pool='p1' volume='"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaZZZZ'/>"
         "<target dev='vdi'/></disk>"),
     POOL_ERR_INVALID_ARG, "aaaaaaaa' of pool p1 has no LUN"},
    /* an undeclared entity is not well-formed; declarations are refused */
    {DOM("<disk type='volume'><source pool='p1' volume='&v;'/><target dev='vda'/></disk>"),
     POOL_ERR_XML, NULL},
    {"<!DOCTYPE domain [<!ENTITY v 'root'>]>" DOM(
         "<disk type='volume'><source pool='p1' volume='&v;'/><target dev='vda'/></disk>"),
     POOL_ERR_XML, "DOCTYPE"},
    {"<!DOCTYPE domain [<!ENTITY v SYSTEM 'file:///etc/passwd'>]>" DOM(
         "<disk type='volume'><source pool='p1' volume='root'/><target dev='&v;'/></disk>"),
     POOL_ERR_XML, "DOCTYPE"},
};

START_TEST(test_bad_domains)
{
    POOL_AUTOFREE(char *) out = run(bad[_i].xml);
    ASSERT_FAILS(out, bad[_i].code, bad[_i].substr);
}
END_TEST

/* An entity in the volume name: the error or the literal text, never what
 * the entity stands for (here: a volume the map serves as LUN 7). */
START_TEST(test_entity_not_expanded)
{
    const char *xml = "<!DOCTYPE domain [<!ENTITY v 'root'>]>\n" DOM(
        "<disk type='volume'><source pool='p1' volume='&v;'/><target dev='vda'/></disk>");
    maps[0].lun = 7;
    POOL_AUTOFREE(char *) out = run(xml);
    ck_assert_msg(out == NULL || strstr(out, IQN "/7") == NULL, "entity expanded: %s", out);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_XML);
    ck_assert_ptr_null(strstr(pool_error_last_message(), "root"));
}
END_TEST

START_TEST(test_bad_runtime)
{
    POOL_AUTOFREE(char *) out = NULL;

    out = pool_vm_domain_runtime(DOMAIN_XML, strlen(DOMAIN_XML), NULL);
    ASSERT_FAILS(out, POOL_ERR_INVALID_ARG, "no runtime");
#define BAD_RT(change, substr)                                                                     \
    do {                                                                                           \
        setup();                                                                                   \
        change;                                                                                    \
        out = run(DOMAIN_XML);                                                                     \
        ASSERT_FAILS(out, POOL_ERR_INVALID_ARG, substr);                                           \
    } while (0)
    BAD_RT(rt.pool = NULL, "pool is missing");
    BAD_RT(rt.pool = "", "pool is empty");
    BAD_RT(rt.host = NULL, "portal host is missing");
    BAD_RT(rt.host = "", "portal host is empty");
    BAD_RT(rt.initiator = NULL, "initiator IQN is missing");
    BAD_RT(rt.initiator = "", "initiator IQN is empty");
    BAD_RT(rt.port = 0, "portal port 0");
    BAD_RT(rt.port = 65536, "portal port 65536");
    BAD_RT(rt.disks = NULL, "no map");
    BAD_RT(maps[1].volume = NULL, "disk map entry #2: volume is missing");
    BAD_RT(maps[0].iqn = NULL, "volume 'root' of pool p1: target IQN is missing");
    BAD_RT(maps[1].iqn = "", "volume 'data' of pool p1: target IQN is empty");
    BAD_RT(maps[0].lockspace = "", "lease lockspace is empty");
    BAD_RT(maps[0].lease_key = NULL, "volume 'root' of pool p1: lease key is missing");
    BAD_RT(maps[1].lease_path = "", "volume 'data' of pool p1: lease path is empty");
    BAD_RT(rt.host = "host\x01", "portal host contains control characters");
    BAD_RT(maps[0].lease_path = "/dev/\xff", "lease path contains control characters");
    BAD_RT(rt.chap_user = "u", "CHAP secret usage is missing");
    BAD_RT(rt.chap_usage = "poold-x", "CHAP user is missing");
    BAD_RT((rt.chap_user = "", rt.chap_usage = "poold-x"), "CHAP user is empty");
    static const poolVmLayerRef raw_mid[] = {{"raw", 7}, {"qcow2", 8}};
    static const poolVmLayerRef odd[] = {{"vmdk", 7}};
    BAD_RT(maps[0].format = "vmdk", "volume 'root' of pool p1: format 'vmdk' is neither");
    BAD_RT((maps[0].backing = raw_mid, maps[0].nbacking = 1),
           "volume 'root' of pool p1: a raw volume cannot have layers");
    BAD_RT((maps[0].format = "qcow2", maps[0].backing = raw_mid, maps[0].nbacking = 2),
           "layer 1 is raw but has layers below it");
    BAD_RT((maps[0].format = "qcow2", maps[0].backing = odd, maps[0].nbacking = 1),
           "layer 1: format 'vmdk'");
    BAD_RT((maps[0].format = "qcow2", maps[0].nbacking = 1), "1 layers below the volume but no");
    BAD_RT((maps[0].format = "qcow2", maps[0].backing = raw_mid,
            maps[0].nbacking = POOL_VM_MAX_BACKING + 1),
           "are too many");
#undef BAD_RT
}
END_TEST

/* A qcow2 top: the driver says qcow2 whatever the stored XML said, and the
 * layers below follow the source as nested <backingStore>s, outermost
 * first, each a read-only LUN of the same target with the same portal,
 * initiator and CHAP, the last one closed by an empty <backingStore/>.
 * A <backingStore> in the stored disk is dropped. A raw volume whose
 * stored driver claims qcow2 is served as raw. */
static const char CHAIN_XML[] = "<domain type='kvm'><name>c</name><devices>"
                                "<disk type='volume' device='disk'>"
                                "<driver name='qemu' type='raw' cache='none'/>"
                                "<source pool='p1' volume='root'/>"
                                "<backingStore type='file'><format type='raw'/>"
                                "<source file='/etc/shadow'/></backingStore>"
                                "<target dev='vda' bus='virtio'/></disk>"
                                "<disk type='volume' device='disk'>"
                                "<driver name='qemu' type='qcow2'/>"
                                "<source pool='p1' volume='data'/>"
                                "<target dev='vdb' bus='virtio'/></disk>"
                                "</devices></domain>";

START_TEST(test_backing_chain)
{
    static const poolVmLayerRef chain[] = {{"qcow2", 11}, {"qcow2", 12}, {"raw", 13}};
    maps[0].format = "qcow2";
    maps[0].backing = chain;
    maps[0].nbacking = 3;
    rt.chap_user = "u1";
    rt.chap_usage = "poold-" IQN;
    POOL_AUTOFREE(char *) out = run(CHAIN_XML);
    ck_assert_msg(out, "%s", pool_error_last_message());
    xmlDocPtr doc = parse(out);
    const char *d1 = "/domain/devices/disk[1]";
    char x[256];

    snprintf(x, sizeof(x), "%s/driver/@type", d1);
    ASSERT_XP(doc, x, "qcow2");
    snprintf(x, sizeof(x), "%s/driver/@cache", d1);
    ASSERT_XP(doc, x, "none");
    ck_assert_int_eq(xp_count(doc, "//source[@file]"), 0);
    snprintf(x, sizeof(x), "name(%s/source/following-sibling::*[1])", d1);
    ASSERT_XP(doc, x, "backingStore");
    const char *luns[] = {"11", "12", "13"};
    const char *fmts[] = {"qcow2", "qcow2", "raw"};
    char path[200];
    snprintf(path, sizeof(path), "%s/backingStore", d1);
    for (int i = 0; i < 3; i++) {
        snprintf(x, sizeof(x), "%s/@type", path);
        ASSERT_XP(doc, x, "network");
        snprintf(x, sizeof(x), "%s/format/@type", path);
        ASSERT_XP(doc, x, fmts[i]);
        snprintf(x, sizeof(x), "%s/source/@name", path);
        char want[128];
        snprintf(want, sizeof(want), IQN "/%s", luns[i]);
        ASSERT_XP(doc, x, want);
        snprintf(x, sizeof(x), "%s/source/host/@port", path);
        ASSERT_XP(doc, x, "3260");
        snprintf(x, sizeof(x), "%s/source/initiator/iqn/@name", path);
        ASSERT_XP(doc, x, INITIATOR);
        snprintf(x, sizeof(x), "%s/source/auth/secret/@usage", path);
        ASSERT_XP(doc, x, "poold-" IQN);
        strncat(path, "/backingStore", sizeof(path) - strlen(path) - 1);
    }
    /* the innermost: empty, so nothing is looked up in an image header */
    snprintf(x, sizeof(x), "%s/node()", path);
    ck_assert_int_eq(xp_count(doc, x), 0);
    snprintf(x, sizeof(x), "%s/@*", path);
    ck_assert_int_eq(xp_count(doc, x), 0);
    ck_assert_int_eq(xp_count(doc, "//backingStore"), 4);

    /* disk 2 is raw: its stored type='qcow2' is overridden, no chain */
    ASSERT_XP(doc, "/domain/devices/disk[2]/driver/@type", "raw");
    ck_assert_int_eq(xp_count(doc, "/domain/devices/disk[2]/backingStore"), 0);
    xmlFreeDoc(doc);

    /* a standalone qcow2 top: only the empty <backingStore/> */
    maps[0].nbacking = 0;
    maps[0].backing = NULL;
    POOL_AUTOFREE(char *) alone = run(CHAIN_XML);
    ck_assert_msg(alone, "%s", pool_error_last_message());
    doc = parse(alone);
    ck_assert_int_eq(xp_count(doc, "/domain/devices/disk[1]/backingStore"), 1);
    ck_assert_int_eq(xp_count(doc, "/domain/devices/disk[1]/backingStore/node()"), 0);
    xmlFreeDoc(doc);
}
END_TEST

static Suite *vm_domain_suite(void)
{
    Suite *s = suite_create("vm_domain");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_disks_rewritten);
    tcase_add_test(tc, test_chap_auth);
    tcase_add_test(tc, test_leases_and_untouched);
    tcase_add_test(tc, test_lease_order_and_no_lockspace);
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_twice_refused);
    tcase_add_test(tc, test_no_disks);
    tcase_add_loop_test(tc, test_bad_domains, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, test_entity_not_expanded);
    tcase_add_test(tc, test_bad_runtime);
    tcase_add_test(tc, test_backing_chain);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(vm_domain_suite());
}
