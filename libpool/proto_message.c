/*
 * proto_message.c: request and reply documents of the control protocol
 * (schemas xml-schemas/request.rng and reply.rng; framing in proto_frame.c).
 *
 *   <request id="7" op="volume-create">
 *     <param name="pool">pool1</param>
 *     <param name="device">/dev/loop0</param>    (names may repeat)
 *   </request>
 *
 *   <reply id="7" status="ok">
 *     <pool type="poold">...</pool> | <volume>...</volume> | <result .../>
 *   </reply>
 *   <reply id="7" status="error">
 *     <error code="no-volume" file="volume_ops.c" func="f" line="12">text</error>
 *   </reply>
 *
 * Why it is this strict: the daemon runs as root and takes these documents
 * from any local client allowed on the socket. Op and parameter names are
 * [a-z0-9-]{1,64}; parameter values are plain strings in valid UTF-8 without
 * control characters (tab and newline allowed) so they can never smuggle
 * terminal escapes into logs or odd bytes into lvm argv; ids are unsigned
 * 64-bit decimals, and a reply whose id does not match the request is
 * refused (it answers some other request). Every problem with a message is
 * POOL_ERR_PROTOCOL.
 *
 * The ok payload of a reply may hold <pool>, <volume> and <result> elements
 * (<result> is free-form for commands that return something else); callers
 * parse pool and volume children with pool_*_def_parse_node().
 *
 * Error text in replies comes from anywhere (lvm's stderr, errno strings), so
 * pool_reply_new_error() replaces bytes that XML cannot carry or that are
 * control characters with '?', instead of producing a reply that fails.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-proto.h"
#include "xml_internal.h"

#define PROTO_NAME_MAX   64
#define PROTO_PARAMS_MAX 65536

static bool proto_name_is_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
        if (n >= PROTO_NAME_MAX)
            return false;
    }
    return n >= 1;
}

/* Turn the current error (from the shared XML helpers, POOL_ERR_XML) into a
 * protocol error, keeping its text. */
static void recode_as_protocol(void)
{
    POOL_AUTOFREE(char *) msg = NULL;

    if (pool_error_last_code() == POOL_ERR_PROTOCOL || pool_error_last_code() == POOL_ERR_NO_MEMORY)
        return;
    msg = strdup(pool_error_last_message());
    pool_error(POOL_ERR_PROTOCOL, "%s", msg ? msg : "invalid message");
}

/* ---- requests ------------------------------------------------------------ */

void pool_request_free(poolRequest *req)
{
    if (!req)
        return;
    free(req->op);
    for (size_t i = 0; i < req->nparams; i++) {
        free(req->params[i].name);
        free(req->params[i].value);
    }
    free(req->params);
    free(req);
}

poolRequest *pool_request_new(const char *op)
{
    POOL_AUTOPTR(poolRequest) req = NULL;

    if (!proto_name_is_valid(op)) {
        pool_error(POOL_ERR_INVALID_ARG, "invalid request op '%.80s' (expected [a-z0-9-]{1,%d})",
                   op ? op : "", PROTO_NAME_MAX);
        return NULL;
    }
    if (!(req = pool_calloc(1, sizeof(*req))) || !(req->op = pool_strdup(op)))
        return NULL;
    return pool_steal_ptr(&req);
}

static int request_add_owned(poolRequest *req, char *name, char *value)
{
    poolParam *tmp;

    if (req->nparams >= PROTO_PARAMS_MAX) {
        pool_error(POOL_ERR_INVALID_ARG, "too many request parameters (limit %d)",
                   PROTO_PARAMS_MAX);
        return -1;
    }
    tmp = realloc(req->params, (req->nparams + 1) * sizeof(*tmp));
    if (!tmp)
        return pool_error_oom();
    req->params = tmp;
    req->params[req->nparams].name = name;
    req->params[req->nparams].value = value;
    req->nparams++;
    return 0;
}

static int check_param(const char *name, const char *value, poolErrorCode code)
{
    if (!proto_name_is_valid(name)) {
        pool_error(code, "invalid parameter name '%.80s' (expected [a-z0-9-]{1,%d})",
                   name ? name : "", PROTO_NAME_MAX);
        return -1;
    }
    if (!value) {
        pool_error(code, "parameter '%s' has no value", name);
        return -1;
    }
    if (!pool_xml_text_is_clean(value, strlen(value))) {
        pool_error(code, "parameter '%s': value contains control characters or invalid UTF-8",
                   name);
        return -1;
    }
    return 0;
}

int pool_request_add(poolRequest *req, const char *name, const char *value)
{
    POOL_AUTOFREE(char *) n = NULL;
    POOL_AUTOFREE(char *) v = NULL;

    if (!req) {
        pool_error(POOL_ERR_INTERNAL, "no request");
        return -1;
    }
    if (check_param(name, value, POOL_ERR_INVALID_ARG) < 0)
        return -1;
    if (!(n = pool_strdup(name)) || !(v = pool_strdup(value)))
        return -1;
    if (request_add_owned(req, n, v) < 0)
        return -1;
    n = NULL;
    v = NULL;
    return 0;
}

const char *pool_request_get(const poolRequest *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    }
    return NULL;
}

char **pool_request_get_all(const poolRequest *req, const char *name)
{
    char **out = NULL;
    size_t n = 0;

    if (!req || !name) {
        pool_error(POOL_ERR_INTERNAL, "no request or parameter name");
        return NULL;
    }
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, name) == 0)
            n++;
    }
    if (!(out = pool_calloc(n + 1, sizeof(*out))))
        return NULL;
    n = 0;
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, name) != 0)
            continue;
        if (!(out[n] = pool_strdup(req->params[i].value))) {
            for (size_t k = 0; k < n; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
        n++;
    }
    return out;
}

int pool_request_get_bool(const poolRequest *req, const char *name, bool def, bool *out)
{
    const char *v = pool_request_get(req, name);

    if (!v) {
        *out = def;
        return 0;
    }
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return 0;
    }
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    pool_error(POOL_ERR_INVALID_ARG,
               "parameter '%s': '%.64s' is not a boolean (yes/no, true/false, 1/0)", name, v);
    return -1;
}

char *pool_request_format(const poolRequest *req, size_t *len)
{
    POOL_AUTOPTR(poolXmlNode) root = NULL;

    if (len)
        *len = 0;
    if (!req) {
        pool_error(POOL_ERR_INTERNAL, "no request to format");
        return NULL;
    }
    if (!proto_name_is_valid(req->op)) {
        pool_error(POOL_ERR_INVALID_ARG, "invalid request op '%.80s'", req->op ? req->op : "");
        return NULL;
    }
    if (!(root = xmlNewNode(NULL, BAD_CAST "request"))) {
        pool_error_oom();
        return NULL;
    }
    if (pool_xml_set_attr_u64(root, "id", req->id) < 0 ||
        pool_xml_set_attr(root, "op", req->op) < 0)
        return NULL;
    for (size_t i = 0; i < req->nparams; i++) {
        xmlNodePtr p;

        if (check_param(req->params[i].name, req->params[i].value, POOL_ERR_INVALID_ARG) < 0)
            return NULL;
        if (!(p = pool_xml_new_text_child(root, "param", req->params[i].value)) ||
            pool_xml_set_attr(p, "name", req->params[i].name) < 0)
            return NULL;
    }
    return pool_xml_node_to_string(root, len);
}

static poolRequest *request_parse_node(xmlNodePtr root)
{
    static const char *const attrs[] = {"id", "op", NULL};
    static const char *const param_attrs[] = {"name", NULL};
    POOL_AUTOPTR(poolRequest) req = NULL;
    POOL_AUTOFREE(char *) op = NULL;
    xmlNodePtr cur = NULL;
    uint64_t id = 0;
    int err = 0;

    if (!pool_xml_is_element(root, "request")) {
        pool_error(POOL_ERR_PROTOCOL, "expected a <request> document, got <%s>",
                   (const char *)root->name);
        return NULL;
    }
    if (pool_xml_check_attrs(root, attrs) < 0 ||
        pool_xml_get_attr_u64(root, "id", true, 0, UINT64_MAX, &id, NULL) < 0 ||
        pool_xml_get_attr(root, "op", true, &op) < 0)
        return NULL;
    if (!proto_name_is_valid(op)) {
        pool_error(POOL_ERR_PROTOCOL, "invalid request op '%.80s' (expected [a-z0-9-]{1,%d})", op,
                   PROTO_NAME_MAX);
        return NULL;
    }
    if (!(req = pool_request_new(op)))
        return NULL;
    req->id = id;
    while ((cur = pool_xml_next_child(root, cur, &err))) {
        POOL_AUTOFREE(char *) name = NULL;
        POOL_AUTOFREE(char *) value = NULL;

        if (!pool_xml_is_element(cur, "param")) {
            pool_error(POOL_ERR_PROTOCOL, "request: unknown element <%s>", (const char *)cur->name);
            return NULL;
        }
        if (pool_xml_check_attrs(cur, param_attrs) < 0 ||
            pool_xml_get_attr(cur, "name", true, &name) < 0 || pool_xml_get_text(cur, &value) < 0)
            return NULL;
        if (check_param(name, value, POOL_ERR_PROTOCOL) < 0)
            return NULL;
        if (request_add_owned(req, name, value) < 0)
            return NULL;
        name = NULL;
        value = NULL;
    }
    if (err < 0)
        return NULL;
    return pool_steal_ptr(&req);
}

poolRequest *pool_request_parse(const char *payload, size_t len)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    poolRequest *req = NULL;

    if (!(doc = pool_xml_read_memory_code(payload, len, "request", POOL_ERR_PROTOCOL)))
        return NULL;
    if (!(req = request_parse_node(xmlDocGetRootElement(doc))))
        recode_as_protocol();
    return req;
}

/* ---- replies ------------------------------------------------------------- */

static xmlDocPtr reply_new(uint64_t id, const char *status)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    xmlNodePtr root = NULL;

    if (!(doc = xmlNewDoc(BAD_CAST "1.0")) || !(root = xmlNewNode(NULL, BAD_CAST "reply"))) {
        pool_error_oom();
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    if (pool_xml_set_attr_u64(root, "id", id) < 0 || pool_xml_set_attr(root, "status", status) < 0)
        return NULL;
    return pool_steal_ptr(&doc);
}

xmlDocPtr pool_reply_new_ok(uint64_t id)
{
    return reply_new(id, "ok");
}

/* Copy s, replacing invalid UTF-8 and control characters (tab and newline
 * kept) with '?'. */
static char *sanitize_text(const char *s, size_t max)
{
    size_t len = strnlen(s, max);
    char *out = malloc(len + 1);
    size_t i = 0;

    if (!out) {
        pool_error_oom();
        return NULL;
    }
    while (i < len) {
        size_t n = 1;
        unsigned char c = (unsigned char)s[i];

        if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4;
        if (i + n <= len && pool_xml_text_is_clean(s + i, n)) {
            memcpy(out + i, s + i, n);
            i += n;
        } else {
            out[i++] = '?';
        }
    }
    out[len] = '\0';
    return out;
}

xmlDocPtr pool_reply_new_error(uint64_t id, const poolError *err)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    POOL_AUTOFREE(char *) msg = NULL;
    POOL_AUTOFREE(char *) file = NULL;
    POOL_AUTOFREE(char *) func = NULL;
    poolErrorCode code = err ? err->code : POOL_ERR_INTERNAL;
    const char *code_name = NULL;
    xmlNodePtr e = NULL;

    if (code <= POOL_ERR_OK || code >= POOL_ERR_LAST)
        code = POOL_ERR_INTERNAL;
    code_name = pool_error_code_name(code);
    if (!code_name || !proto_name_is_valid(code_name))
        code_name = "internal";
    if (!(doc = reply_new(id, "error")))
        return NULL;
    if (!(msg = sanitize_text(err && err->message && *err->message ? err->message : "unknown error",
                              POOL_XML_MAX_SIZE / 4)))
        return NULL;
    if (!(e = pool_xml_new_text_child(xmlDocGetRootElement(doc), "error", msg)) ||
        pool_xml_set_attr(e, "code", code_name) < 0)
        return NULL;
    if (err && err->file) {
        if (!(file = sanitize_text(err->file, PATH_MAX)) || pool_xml_set_attr(e, "file", file) < 0)
            return NULL;
    }
    if (err && err->func) {
        if (!(func = sanitize_text(err->func, 256)) || pool_xml_set_attr(e, "func", func) < 0)
            return NULL;
    }
    if (err && (err->file || err->func) &&
        pool_xml_set_attr_u64(e, "line", err->line > 0 ? (uint64_t)err->line : 0) < 0)
        return NULL;
    return pool_steal_ptr(&doc);
}

char *pool_reply_format(xmlDocPtr doc, size_t *len)
{
    if (len)
        *len = 0;
    if (!doc) {
        pool_error(POOL_ERR_INTERNAL, "no reply to format");
        return NULL;
    }
    return pool_xml_doc_to_string(doc, len);
}

/* Install the error carried by <error>; returns 0 when it was installed, -1
 * when the element itself is malformed (protocol error reported). */
static int reply_install_error(xmlNodePtr root)
{
    static const char *const attrs[] = {"code", "file", "func", "line", NULL};
    POOL_AUTOFREE(char *) code_name = NULL;
    POOL_AUTOFREE(char *) file = NULL;
    POOL_AUTOFREE(char *) func = NULL;
    POOL_AUTOFREE(char *) msg = NULL;
    xmlNodePtr e = NULL;
    xmlNodePtr extra = NULL;
    uint64_t line = 0;
    int code;
    int err = 0;

    e = pool_xml_next_child(root, NULL, &err);
    if (err < 0)
        return -1;
    if (!e || !pool_xml_is_element(e, "error")) {
        pool_error(POOL_ERR_PROTOCOL, "error reply without an <error> element");
        return -1;
    }
    extra = pool_xml_next_child(root, e, &err);
    if (err < 0)
        return -1;
    if (extra) {
        pool_error(POOL_ERR_PROTOCOL, "error reply: unexpected element <%s>",
                   (const char *)extra->name);
        return -1;
    }
    if (pool_xml_check_attrs(e, attrs) < 0 || pool_xml_get_attr(e, "code", true, &code_name) < 0 ||
        pool_xml_get_attr(e, "file", false, &file) < 0 ||
        pool_xml_get_attr(e, "func", false, &func) < 0 ||
        pool_xml_get_attr_u64(e, "line", false, 0, INT_MAX, &line, NULL) < 0 ||
        pool_xml_get_text(e, &msg) < 0)
        return -1;
    if (!proto_name_is_valid(code_name)) {
        pool_error(POOL_ERR_PROTOCOL, "error reply: invalid code '%.64s'", code_name);
        return -1;
    }
    code = pool_error_code_from_name(code_name);
    if (code <= POOL_ERR_OK || code >= POOL_ERR_LAST) {
        /* A newer peer may know codes we do not: keep its message. */
        POOL_AUTOFREE(char *) full = pool_asprintf("%s (error code '%s')", msg, code_name);
        if (!full)
            return -1;
        pool_error_set(POOL_ERR_INTERNAL, full, file, func, (int)line);
        return 0;
    }
    pool_error_set((poolErrorCode)code, msg, file, func, (int)line);
    return 0;
}

static int reply_check_ok_payload(xmlNodePtr root)
{
    xmlNodePtr cur = NULL;
    int err = 0;

    while ((cur = pool_xml_next_child(root, cur, &err))) {
        if (!pool_xml_is_element(cur, "pool") && !pool_xml_is_element(cur, "volume") &&
            !pool_xml_is_element(cur, "target") && !pool_xml_is_element(cur, "result")) {
            pool_error(POOL_ERR_PROTOCOL,
                       "reply: unexpected element <%s> (expected pool, volume, target or result)",
                       (const char *)cur->name);
            return -1;
        }
    }
    return err;
}

xmlDocPtr pool_reply_parse(const char *payload, size_t len, uint64_t expect_id)
{
    static const char *const attrs[] = {"id", "status", NULL};
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    POOL_AUTOFREE(char *) status = NULL;
    xmlNodePtr root = NULL;
    uint64_t id = 0;

    if (!(doc = pool_xml_read_memory_code(payload, len, "reply", POOL_ERR_PROTOCOL)))
        return NULL;
    root = xmlDocGetRootElement(doc);
    if (!pool_xml_is_element(root, "reply")) {
        pool_error(POOL_ERR_PROTOCOL, "expected a <reply> document, got <%s>",
                   (const char *)root->name);
        return NULL;
    }
    if (pool_xml_check_attrs(root, attrs) < 0 ||
        pool_xml_get_attr_u64(root, "id", true, 0, UINT64_MAX, &id, NULL) < 0 ||
        pool_xml_get_attr(root, "status", true, &status) < 0) {
        recode_as_protocol();
        return NULL;
    }
    if (id != expect_id) {
        pool_error(POOL_ERR_PROTOCOL, "reply id %" PRIu64 " does not match request id %" PRIu64, id,
                   expect_id);
        return NULL;
    }
    if (strcmp(status, "ok") == 0) {
        if (reply_check_ok_payload(root) < 0) {
            recode_as_protocol();
            return NULL;
        }
        return pool_steal_ptr(&doc);
    }
    if (strcmp(status, "error") == 0) {
        if (reply_install_error(root) < 0)
            recode_as_protocol();
        return NULL;
    }
    pool_error(POOL_ERR_PROTOCOL, "reply: unknown status '%.32s' (expected ok or error)", status);
    return NULL;
}
