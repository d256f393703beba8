/*
 * xml_target.c: the target document (schema xml-schemas/target.rng) — who
 * may log in to a pool's iSCSI target and how.
 *
 *   <target pool="pool1">
 *     <iqn>iqn.2026-11.org.poold:pool1</iqn>        (optional, output only)
 *     <portal tag="1" address="127.0.0.1:3260"/>    (zero or more, output only)
 *     <acl>                                         (optional; none = anyone)
 *       <initiator name="iqn.1993-08.org.debian:01:abc"/>
 *     </acl>
 *     <chap>                                        (optional; none = no CHAP)
 *       <initiator user="alice" secret="..."/>      (what initiators prove)
 *       <mutual user="pool1-target" secret="..."/>  (optional: target proves)
 *     </chap>
 *   </target>
 *
 * Two uses: poold keeps one per pool in <state_dir>/targets/POOL.xml (mode
 * 0600, it holds secrets) and sends one, without secrets, as the answer to
 * target-info. So secret attributes are optional in the schema and the
 * parser, and pool_target_def_check_stored() is what insists on them when a
 * record is loaded.
 *
 * Why strict: this document is access control. A misspelt initiator name
 * that is silently accepted locks the right host out; one silently dropped
 * opens the target to everybody. Unknown elements and attributes, duplicate
 * ACL entries, names that are not iSCSI names (RFC 3720 3.2.6, RFC 7143
 * 4.2.7), CHAP secrets shorter than RFC 7143's 12 bytes (or equal for both
 * directions) are all refused.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-config.h"
#include "pool-error.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "xml_internal.h"

void pool_target_def_free(poolTargetDef *def)
{
    if (!def)
        return;
    free(def->pool);
    free(def->iqn);
    pool_strv_free(def->portals);
    pool_strv_free(def->acl);
    free(def->chap_user);
    if (def->chap_secret) /* do not leave secrets in freed heap memory */
        memset(def->chap_secret, 0, strlen(def->chap_secret));
    free(def->chap_secret);
    free(def->mutual_user);
    if (def->mutual_secret)
        memset(def->mutual_secret, 0, strlen(def->mutual_secret));
    free(def->mutual_secret);
    free(def);
}

/* ---- credentials (iSCSI names: iscsi_names.c) ---------------------------- */

/* Printable ASCII without space: what survives an XML attribute, a text
 * key=value pair of the login (RFC 7143 6.1) and a secret file unchanged. */
static bool cred_chars_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int pool_chap_user_validate(const char *user)
{
    size_t len = strlen(user);
    if (len == 0 || len > POOL_CHAP_USER_MAX || !cred_chars_ok(user, len)) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "CHAP user name must be 1..%d printable ASCII characters without spaces",
                   POOL_CHAP_USER_MAX);
        return -1;
    }
    return 0;
}

int pool_chap_secret_validate(const char *secret, size_t len)
{
    /* never echo the secret in a message: it ends up in logs and terminals */
    if (len < POOL_CHAP_SECRET_MIN || len > POOL_CHAP_SECRET_MAX) {
        pool_error(POOL_ERR_INVALID_ARG, "CHAP secret is %zu bytes long; it must be %d..%d bytes",
                   len, POOL_CHAP_SECRET_MIN, POOL_CHAP_SECRET_MAX);
        return -1;
    }
    if (memchr(secret, '\0', len) || !cred_chars_ok(secret, len)) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "CHAP secret may hold only printable ASCII characters without spaces");
        return -1;
    }
    return 0;
}

/* ---- semantic checks shared by parser and formatter ------------------------- */

static int xml_err_from(const char *what)
{
    /* the validators report POOL_ERR_INVALID_ARG (they also check poolctl
     * input); inside a document the same fault is a POOL_ERR_XML */
    char *msg = pool_strdup(pool_error_last_message());
    pool_error(POOL_ERR_XML, "target %s: %s", what, msg ? msg : "invalid");
    free(msg);
    return -1;
}

static int target_def_check(const poolTargetDef *def)
{
    if (!def->pool || pool_xml_check_name(POOL_NAME_POOL, def->pool, "target pool") < 0)
        return -1;
    /* The target's own name is derived from the pool name, which may hold
     * '_', '+' and upper case (pool_name_validate): initiators accept those,
     * so the output-only <iqn> is checked for shape, not RFC 3722 strictness
     * (which applies to the ACL, the names we match against). */
    if (def->iqn && (strncmp(def->iqn, "iqn.", 4) != 0 || strlen(def->iqn) > POOL_ISCSI_NAME_MAX ||
                     !cred_chars_ok(def->iqn, strlen(def->iqn)))) {
        pool_error(POOL_ERR_XML, "target <iqn>: '%.*s' is not a target name", POOL_ISCSI_NAME_MAX,
                   def->iqn);
        return -1;
    }
    size_t np = pool_strv_length(def->portals);
    if (np > POOL_MAX_PORTALS) {
        pool_error(POOL_ERR_XML, "target: more than %d portals", POOL_MAX_PORTALS);
        return -1;
    }
    for (size_t i = 0; i < np; i++)
        if (pool_parse_portal(def->portals[i], NULL, 0, NULL) < 0)
            return xml_err_from("<portal>");
    size_t na = pool_strv_length(def->acl);
    if (na > POOL_TARGET_ACL_MAX) {
        pool_error(POOL_ERR_XML, "target <acl>: more than %d initiators", POOL_TARGET_ACL_MAX);
        return -1;
    }
    for (size_t i = 0; i < na; i++) {
        if (pool_iscsi_name_validate(def->acl[i]) < 0)
            return xml_err_from("<acl>");
        for (size_t j = 0; j < i; j++)
            if (strcmp(def->acl[i], def->acl[j]) == 0) {
                pool_error(POOL_ERR_XML, "target <acl>: initiator '%s' is listed twice",
                           def->acl[i]);
                return -1;
            }
    }
    if (def->chap_secret && !def->chap_user) {
        pool_error(POOL_ERR_INTERNAL, "target: CHAP secret without a user");
        return -1;
    }
    if (def->chap_user && pool_chap_user_validate(def->chap_user) < 0)
        return xml_err_from("<chap> <initiator>");
    if (def->chap_secret &&
        pool_chap_secret_validate(def->chap_secret, strlen(def->chap_secret)) < 0)
        return xml_err_from("<chap> <initiator>");
    if ((def->mutual_user || def->mutual_secret) && !def->chap_user) {
        pool_error(POOL_ERR_XML, "target <chap>: <mutual> needs <initiator> (mutual CHAP is "
                                 "one-way CHAP plus the target's own answer)");
        return -1;
    }
    if (def->mutual_secret && !def->mutual_user) {
        pool_error(POOL_ERR_INTERNAL, "target: mutual CHAP secret without a user");
        return -1;
    }
    if (def->mutual_user && pool_chap_user_validate(def->mutual_user) < 0)
        return xml_err_from("<chap> <mutual>");
    if (def->mutual_secret &&
        pool_chap_secret_validate(def->mutual_secret, strlen(def->mutual_secret)) < 0)
        return xml_err_from("<chap> <mutual>");
    /* RFC 7143 12.1.3: the same secret both ways lets an attacker reflect the
     * target's own challenge back at it */
    if (def->chap_secret && def->mutual_secret &&
        strcmp(def->chap_secret, def->mutual_secret) == 0) {
        pool_error(POOL_ERR_XML, "target <chap>: the initiator and mutual secrets must differ");
        return -1;
    }
    return 0;
}

int pool_target_def_check_stored(const poolTargetDef *def)
{
    if (def->chap_user && !def->chap_secret) {
        pool_error(POOL_ERR_XML, "target <chap> <initiator>: missing attribute 'secret'");
        return -1;
    }
    if (def->mutual_user && !def->mutual_secret) {
        pool_error(POOL_ERR_XML, "target <chap> <mutual>: missing attribute 'secret'");
        return -1;
    }
    return 0;
}

/* ---- parsing ------------------------------------------------------------------ */

static int parse_acl(xmlNodePtr node, poolTargetDef *def)
{
    static const char *const attrs[] = {"name", NULL};
    xmlNodePtr cur = NULL;
    int err = 0;
    if (pool_xml_check_attrs(node, NULL) < 0)
        return -1;
    /* an empty <acl/> still means "anyone", as no <acl> does; keep a non-NULL
     * list so it formats back the same way */
    if (!def->acl && !(def->acl = pool_calloc(1, sizeof(char *))))
        return -1;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        if (!pool_xml_is_element(cur, "initiator")) {
            pool_error(POOL_ERR_XML, "target <acl>: unknown element <%s>", (const char *)cur->name);
            return -1;
        }
        POOL_AUTOFREE(char *) name = NULL;
        if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr(cur, "name", true, &name) < 0)
            return -1;
        if (pool_strv_length(def->acl) >= POOL_TARGET_ACL_MAX) {
            pool_error(POOL_ERR_XML, "target <acl>: more than %d initiators", POOL_TARGET_ACL_MAX);
            return -1;
        }
        if (pool_strv_add(&def->acl, name) < 0)
            return -1;
    }
    return err;
}

static int parse_cred(xmlNodePtr node, char **user, char **secret)
{
    static const char *const attrs[] = {"user", "secret", NULL};
    if (*user) {
        pool_error(POOL_ERR_XML, "target <chap>: duplicate element <%s>", (const char *)node->name);
        return -1;
    }
    if (pool_xml_check_attrs(node, attrs) < 0 || pool_xml_check_empty(node) < 0 ||
        pool_xml_get_attr(node, "user", true, user) < 0 ||
        pool_xml_get_attr(node, "secret", false, secret) < 0)
        return -1;
    return 0;
}

static int parse_chap(xmlNodePtr node, poolTargetDef *def)
{
    xmlNodePtr cur = NULL;
    int err = 0;
    if (pool_xml_check_attrs(node, NULL) < 0)
        return -1;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        int r;
        if (pool_xml_is_element(cur, "initiator"))
            r = parse_cred(cur, &def->chap_user, &def->chap_secret);
        else if (pool_xml_is_element(cur, "mutual"))
            r = parse_cred(cur, &def->mutual_user, &def->mutual_secret);
        else {
            pool_error(POOL_ERR_XML, "target <chap>: unknown element <%s>",
                       (const char *)cur->name);
            return -1;
        }
        if (r < 0)
            return -1;
    }
    if (err < 0)
        return -1;
    if (!def->chap_user) {
        pool_error(POOL_ERR_XML, "target <chap>: missing element <initiator>");
        return -1;
    }
    return 0;
}

static int parse_portal(xmlNodePtr node, poolTargetDef *def)
{
    static const char *const attrs[] = {"tag", "address", NULL};
    POOL_AUTOFREE(char *) addr = NULL;
    uint64_t tag;
    if (pool_xml_check_attrs(node, attrs) < 0 || pool_xml_check_empty(node) < 0 ||
        pool_xml_get_attr_u64(node, "tag", true, 1, POOL_MAX_PORTALS, &tag, NULL) < 0 ||
        pool_xml_get_attr(node, "address", true, &addr) < 0)
        return -1;
    /* tags are 1, 2, ... in order: the tag is the position, never stored apart */
    if (tag != pool_strv_length(def->portals) + 1) {
        pool_error(POOL_ERR_XML, "target <portal>: tag %" PRIu64 " out of order (expected %zu)",
                   tag, pool_strv_length(def->portals) + 1);
        return -1;
    }
    if (pool_parse_portal(addr, NULL, 0, NULL) < 0)
        return xml_err_from("<portal>");
    return pool_strv_add(&def->portals, addr);
}

poolTargetDef *pool_target_def_parse_node(xmlNodePtr node)
{
    static const char *const attrs[] = {"pool", NULL};
    POOL_AUTOPTR(poolTargetDef) def = NULL;
    xmlNodePtr cur = NULL;
    bool seen_iqn = false, seen_acl = false, seen_chap = false;
    int err = 0;

    if (!pool_xml_is_element(node, "target")) {
        pool_error(POOL_ERR_XML, "expected a <target> element (without namespace), got <%s>",
                   node && node->name ? (const char *)node->name : "(none)");
        return NULL;
    }
    if (!(def = pool_calloc(1, sizeof(*def))) || pool_xml_check_attrs(node, attrs) < 0 ||
        pool_xml_get_attr(node, "pool", true, &def->pool) < 0 ||
        pool_xml_check_name(POOL_NAME_POOL, def->pool, "target pool") < 0)
        return NULL;
    while ((cur = pool_xml_next_child(node, cur, &err))) {
        bool *seen = NULL; /* for elements that may appear once */
        if (pool_xml_is_element(cur, "iqn"))
            seen = &seen_iqn;
        else if (pool_xml_is_element(cur, "acl"))
            seen = &seen_acl;
        else if (pool_xml_is_element(cur, "chap"))
            seen = &seen_chap;
        else if (!pool_xml_is_element(cur, "portal")) {
            pool_error(POOL_ERR_XML, "target: unknown element <%s>", (const char *)cur->name);
            return NULL;
        }
        if (seen && *seen) {
            pool_error(POOL_ERR_XML, "target: duplicate element <%s>", (const char *)cur->name);
            return NULL;
        }
        if (seen)
            *seen = true;
        int r;
        if (seen == &seen_iqn)
            r = pool_xml_check_attrs(cur, NULL) < 0 ? -1 : pool_xml_get_text(cur, &def->iqn);
        else if (seen == &seen_acl)
            r = parse_acl(cur, def);
        else if (seen == &seen_chap)
            r = parse_chap(cur, def);
        else
            r = parse_portal(cur, def);
        if (r < 0)
            return NULL;
    }
    if (err < 0 || target_def_check(def) < 0)
        return NULL;
    return pool_steal_ptr(&def);
}

poolTargetDef *pool_target_def_parse_string(const char *xml, size_t len)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;

    if (!(doc = pool_xml_read_memory(xml, len, "target definition")))
        return NULL;
    return pool_target_def_parse_node(xmlDocGetRootElement(doc));
}

/* ---- formatting ------------------------------------------------------------- */

static int format_cred(xmlNodePtr parent, const char *name, const char *user, const char *secret,
                       bool with_secrets)
{
    xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
    if (!n)
        return pool_error_oom();
    if (pool_xml_set_attr(n, "user", user) < 0)
        return -1;
    if (with_secrets && secret && pool_xml_set_attr(n, "secret", secret) < 0)
        return -1;
    return 0;
}

xmlNodePtr pool_target_def_format_node(const poolTargetDef *def, bool with_secrets)
{
    POOL_AUTOPTR(poolXmlNode) root = NULL;
    xmlNodePtr node;

    if (!def) {
        pool_error(POOL_ERR_INTERNAL, "no target definition to format");
        return NULL;
    }
    if (target_def_check(def) < 0)
        return NULL;
    if (!(root = xmlNewNode(NULL, BAD_CAST "target"))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_xml_set_attr(root, "pool", def->pool) < 0)
        return NULL;
    if (def->iqn && !pool_xml_new_text_child(root, "iqn", def->iqn))
        return NULL;
    for (size_t i = 0; def->portals && def->portals[i]; i++) {
        if (!(node = xmlNewChild(root, NULL, BAD_CAST "portal", NULL))) {
            pool_error_oom();
            return NULL;
        }
        if (pool_xml_set_attr_u64(node, "tag", i + 1) < 0 ||
            pool_xml_set_attr(node, "address", def->portals[i]) < 0)
            return NULL;
    }
    if (def->acl) {
        xmlNodePtr acl = xmlNewChild(root, NULL, BAD_CAST "acl", NULL);
        if (!acl) {
            pool_error_oom();
            return NULL;
        }
        for (size_t i = 0; def->acl[i]; i++) {
            if (!(node = xmlNewChild(acl, NULL, BAD_CAST "initiator", NULL))) {
                pool_error_oom();
                return NULL;
            }
            if (pool_xml_set_attr(node, "name", def->acl[i]) < 0)
                return NULL;
        }
    }
    if (def->chap_user) {
        xmlNodePtr chap = xmlNewChild(root, NULL, BAD_CAST "chap", NULL);
        if (!chap) {
            pool_error_oom();
            return NULL;
        }
        if (format_cred(chap, "initiator", def->chap_user, def->chap_secret, with_secrets) < 0)
            return NULL;
        if (def->mutual_user &&
            format_cred(chap, "mutual", def->mutual_user, def->mutual_secret, with_secrets) < 0)
            return NULL;
    }
    return pool_steal_ptr(&root);
}

char *pool_target_def_format(const poolTargetDef *def, bool with_secrets)
{
    POOL_AUTOPTR(poolXmlNode) node = NULL;

    if (!(node = pool_target_def_format_node(def, with_secrets)))
        return NULL;
    return pool_xml_node_to_string(node, NULL);
}
