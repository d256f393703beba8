/*
 * xml_util.c: safe XML reading, RelaxNG validation and the small strict
 * helpers every document parser shares (see xml_internal.h).
 *
 * Why this file exists: poold parses XML that comes from operators and from
 * socket peers. libxml2 is powerful enough to be dangerous with untrusted
 * input: it can fetch DTDs over the network, expand entities into gigabytes
 * ("billion laughs"), and silently keep going on content a schema would
 * reject. Every XML byte poold reads goes through pool_xml_read_memory(),
 * which:
 *   - caps the input at 4 MiB before libxml2 sees it;
 *   - parses with XML_PARSE_NONET (no network), without XML_PARSE_NOENT (no
 *     entity substitution), without DTD loading or attribute defaulting;
 *   - rejects any document carrying a DOCTYPE: a SAX hook stops the parser at
 *     the DOCTYPE declaration, before a single entity declaration is read;
 *   - keeps libxml2 quiet (no printing to stderr) and turns its first error
 *     into a POOL_ERR_XML naming the document and the line.
 * The element walkers below then enforce "no unknown content": every
 * attribute must be on an allow-list, only elements (and ignorable comments
 * and blank text) may appear where the schema expects elements, and numbers
 * must be plain decimals within their range.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlsave.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-xml.h"
#include "xml_internal.h"

static pthread_once_t xml_init_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
    xmlRelaxNGInitTypes();
}

/* libxml2 reports through callbacks; keep the first message and its line. */
typedef struct {
    bool have;
    bool doctype;
    int line;
    char message[512];
} xmlErrCapture;

static void capture_store(xmlErrCapture *cap, const xmlError *err)
{
    size_t n;

    if (cap->have || !err)
        return;
    cap->have = true;
    cap->line = err->line;
    snprintf(cap->message, sizeof(cap->message), "%s",
             err->message ? err->message : "unknown libxml2 error");
    /* libxml2 messages end in a newline; drop it and any control chars so
     * the message can travel in a reply. */
    n = strlen(cap->message);
    while (n > 0 && (cap->message[n - 1] == '\n' || cap->message[n - 1] == ' '))
        cap->message[--n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)cap->message[i] < 0x20)
            cap->message[i] = ' ';
    }
}

static void parser_serror(void *data, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = data;

    if (err && err->level == XML_ERR_WARNING)
        return;
    if (ctxt && ctxt->_private)
        capture_store(ctxt->_private, err);
}

/* SAX hook called as soon as "<!DOCTYPE name ..." has been read: stop. */
static void parser_reject_doctype(void *data, const xmlChar *name, const xmlChar *external_id,
                                  const xmlChar *system_id)
{
    xmlParserCtxtPtr ctxt = data;
    xmlErrCapture *cap = ctxt->_private;

    if (cap && !cap->have) {
        cap->doctype = true;
        cap->have = true;
        cap->line = ctxt->input ? ctxt->input->line : 0;
        snprintf(cap->message, sizeof(cap->message), "DOCTYPE declarations are not allowed");
    }
    xmlStopParser(ctxt);
}

xmlDocPtr pool_xml_read_memory_code(const char *xml, size_t len, const char *what,
                                    poolErrorCode code)
{
    xmlErrCapture cap = {0};
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    const int opts = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
                     XML_PARSE_NOWARNING;

    if (!what)
        what = "document";
    if (!xml || len == 0) {
        pool_error(code, "%s: empty XML document", what);
        return NULL;
    }
    if (len > POOL_XML_MAX_SIZE) {
        pool_error(code, "%s: XML document too large (%zu bytes, limit %u)", what, len,
                   POOL_XML_MAX_SIZE);
        return NULL;
    }
    /* libxml2 would silently stop at a NUL byte; documents are UTF-8 text. */
    if (memchr(xml, '\0', len)) {
        pool_error(code, "%s: XML document contains a NUL byte", what);
        return NULL;
    }
    pthread_once(&xml_init_once, xml_init);

    ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        pool_error(POOL_ERR_NO_MEMORY, "%s: cannot allocate XML parser", what);
        return NULL;
    }
    ctxt->_private = &cap;
    ctxt->sax->serror = parser_serror;
    ctxt->sax->internalSubset = parser_reject_doctype;
    ctxt->sax->externalSubset = parser_reject_doctype;
    /* No entity declarations may ever be acted upon. */
    ctxt->sax->entityDecl = NULL;
    ctxt->sax->unparsedEntityDecl = NULL;

    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, opts);
    if (!cap.have && (!doc || !ctxt->wellFormed)) {
        const xmlError *err = xmlCtxtGetLastError(ctxt);
        if (err && err->code != XML_ERR_OK) {
            capture_store(&cap, err);
        } else {
            cap.have = true;
            snprintf(cap.message, sizeof(cap.message), "document is not well-formed");
        }
    }
    if (cap.have || !doc || (doc && (doc->intSubset || doc->extSubset))) {
        if (!cap.have)
            snprintf(cap.message, sizeof(cap.message), "DOCTYPE declarations are not allowed");
        if (cap.line > 0)
            pool_error(code, "%s: XML error at line %d: %s", what, cap.line, cap.message);
        else
            pool_error(code, "%s: XML error: %s", what, cap.message);
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return NULL;
    }
    xmlFreeParserCtxt(ctxt);

    if (!xmlDocGetRootElement(doc)) {
        pool_error(code, "%s: XML document has no root element", what);
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

xmlDocPtr pool_xml_read_memory(const char *xml, size_t len, const char *what)
{
    return pool_xml_read_memory_code(xml, len, what, POOL_ERR_XML);
}

int pool_xml_read_file(const char *path, char **data, size_t *len)
{
    POOL_AUTOCLOSE fd = -1;
    POOL_AUTOFREE(char *) buf = NULL;
    struct stat st;
    size_t have = 0;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pool_error_errno(errno, "cannot open '%s'", path);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        pool_error_errno(errno, "cannot stat '%s'", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pool_error(POOL_ERR_XML, "'%s' is not a regular file", path);
        return -1;
    }
    buf = malloc(POOL_XML_MAX_SIZE + 2);
    if (!buf)
        return pool_error_oom();
    for (;;) {
        ssize_t n = read(fd, buf + have, POOL_XML_MAX_SIZE + 1 - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "cannot read '%s'", path);
            return -1;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        if (have > POOL_XML_MAX_SIZE) {
            pool_error(POOL_ERR_XML, "'%s' is too large (limit %u bytes)", path, POOL_XML_MAX_SIZE);
            return -1;
        }
    }
    buf[have] = '\0';
    *data = pool_steal_ptr(&buf);
    *len = have;
    return 0;
}

/* ---- RelaxNG validation ---------------------------------------------- */

static void relaxng_serror(void *data, xmlErrorPtr err)
{
    if (err && err->level == XML_ERR_WARNING)
        return;
    capture_store(data, err);
}

static int validate_doc(xmlDocPtr doc, const char *what, const char *rng_path)
{
    xmlErrCapture cap = {0};
    xmlRelaxNGParserCtxtPtr pctxt = NULL;
    xmlRelaxNGPtr schema = NULL;
    xmlRelaxNGValidCtxtPtr vctxt = NULL;
    int ret = -1;
    int rc;

    /* Checked here so libxml2 does not print its own I/O warning. */
    if (!rng_path || access(rng_path, R_OK) < 0) {
        pool_error(POOL_ERR_XML, "cannot read RelaxNG schema '%s': %s",
                   rng_path ? rng_path : "(null)", strerror(errno));
        return -1;
    }
    pctxt = xmlRelaxNGNewParserCtxt(rng_path);
    if (!pctxt) {
        pool_error(POOL_ERR_NO_MEMORY, "cannot allocate RelaxNG parser for '%s'", rng_path);
        goto out;
    }
    xmlRelaxNGSetParserStructuredErrors(pctxt, relaxng_serror, &cap);
    schema = xmlRelaxNGParse(pctxt);
    if (!schema) {
        pool_error(POOL_ERR_XML, "cannot load RelaxNG schema '%s': %s", rng_path,
                   cap.have ? cap.message : "unknown error");
        goto out;
    }
    vctxt = xmlRelaxNGNewValidCtxt(schema);
    if (!vctxt) {
        pool_error(POOL_ERR_NO_MEMORY, "cannot allocate RelaxNG validator");
        goto out;
    }
    xmlRelaxNGSetValidStructuredErrors(vctxt, relaxng_serror, &cap);
    rc = xmlRelaxNGValidateDoc(vctxt, doc);
    if (rc != 0) {
        if (!cap.have)
            snprintf(cap.message, sizeof(cap.message), "document does not match the schema");
        if (cap.line > 0)
            pool_error(POOL_ERR_XML, "%s fails to validate against '%s' at line %d: %s", what,
                       rng_path, cap.line, cap.message);
        else
            pool_error(POOL_ERR_XML, "%s fails to validate against '%s': %s", what, rng_path,
                       cap.message);
        goto out;
    }
    ret = 0;
out:
    xmlRelaxNGFreeValidCtxt(vctxt);
    xmlRelaxNGFree(schema);
    xmlRelaxNGFreeParserCtxt(pctxt);
    return ret;
}

int pool_xml_validate_string(const char *xml, size_t len, const char *rng_path)
{
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;

    if (!(doc = pool_xml_read_memory(xml, len, "document")))
        return -1;
    return validate_doc(doc, "document", rng_path);
}

int pool_xml_validate_file(const char *xml_path, const char *rng_path)
{
    POOL_AUTOFREE(char *) data = NULL;
    POOL_AUTOPTR(poolXmlDoc) doc = NULL;
    size_t len = 0;

    if (pool_xml_read_file(xml_path, &data, &len) < 0)
        return -1;
    if (!(doc = pool_xml_read_memory(data, len, xml_path)))
        return -1;
    return validate_doc(doc, xml_path, rng_path);
}

/* ---- serialization ----------------------------------------------------- */

/* libxml2 writes non-ASCII characters of attribute values as character
 * references unless the node's document declares an encoding; give doc-less
 * nodes a temporary UTF-8 document (and doc'd nodes a temporary encoding) so
 * output is plain UTF-8 and identical whichever way the node was built. */
static int save_node(xmlSaveCtxtPtr save, xmlNodePtr node)
{
    xmlDocPtr tmp = NULL;
    xmlDocPtr doc = node->doc;
    bool set_encoding = false;
    int rc;

    if (!doc && !node->parent) {
        if (!(tmp = xmlNewDoc(BAD_CAST "1.0")))
            return -1;
        xmlDocSetRootElement(tmp, node);
        doc = tmp;
    }
    if (doc && !doc->encoding) {
        if (!(doc->encoding = xmlStrdup(BAD_CAST "UTF-8"))) {
            rc = -1;
            goto out;
        }
        set_encoding = true;
    }
    rc = xmlSaveTree(save, node) < 0 ? -1 : 0;
out:
    if (set_encoding) {
        xmlFree((xmlChar *)doc->encoding);
        doc->encoding = NULL;
    }
    if (tmp) {
        xmlUnlinkNode(node);
        xmlSetTreeDoc(node, NULL);
        xmlFreeDoc(tmp);
    }
    return rc;
}

char *pool_xml_node_to_string(xmlNodePtr node, size_t *len)
{
    xmlBufferPtr buf = NULL;
    xmlSaveCtxtPtr save = NULL;
    char *out = NULL;
    size_t n;
    int rc;

    if (len)
        *len = 0;
    if (!node) {
        pool_error(POOL_ERR_INTERNAL, "no XML node to format");
        return NULL;
    }
    pthread_once(&xml_init_once, xml_init);
    buf = xmlBufferCreate();
    if (!buf) {
        pool_error_oom();
        return NULL;
    }
    save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
    if (!save) {
        xmlBufferFree(buf);
        pool_error_oom();
        return NULL;
    }
    rc = save_node(save, node);
    if (xmlSaveClose(save) < 0 || rc < 0) {
        xmlBufferFree(buf);
        pool_error(POOL_ERR_XML, "cannot serialize XML element <%s>", (const char *)node->name);
        return NULL;
    }
    n = (size_t)xmlBufferLength(buf);
    out = malloc(n + 2);
    if (!out) {
        xmlBufferFree(buf);
        pool_error_oom();
        return NULL;
    }
    memcpy(out, xmlBufferContent(buf), n);
    xmlBufferFree(buf);
    if (n == 0 || out[n - 1] != '\n')
        out[n++] = '\n';
    out[n] = '\0';
    if (len)
        *len = n;
    return out;
}

char *pool_xml_doc_to_string(xmlDocPtr doc, size_t *len)
{
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

    if (len)
        *len = 0;
    if (!root) {
        pool_error(POOL_ERR_INTERNAL, "XML document has no root element");
        return NULL;
    }
    return pool_xml_node_to_string(root, len);
}

/* ---- strict walkers ------------------------------------------------------ */

bool pool_xml_is_element(xmlNodePtr node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns == NULL &&
           xmlStrEqual(node->name, BAD_CAST name);
}

xmlNodePtr pool_xml_find_child(xmlNodePtr parent, const char *name, int *count)
{
    xmlNodePtr found = NULL;
    if (count)
        *count = 0;
    for (xmlNodePtr n = parent->children; n; n = n->next)
        if (pool_xml_is_element(n, name)) {
            if (!found)
                found = n;
            if (count)
                (*count)++;
        }
    return found;
}

int pool_xml_check_attrs(xmlNodePtr node, const char *const *allowed)
{
    if (!node || node->type != XML_ELEMENT_NODE) {
        pool_error(POOL_ERR_XML, "expected an XML element");
        return -1;
    }
    if (node->ns) {
        pool_error(POOL_ERR_XML, "element <%s> must not be in a namespace",
                   (const char *)node->name);
        return -1;
    }
    for (xmlAttrPtr a = node->properties; a; a = a->next) {
        bool ok = false;
        if (!a->ns) {
            for (size_t i = 0; allowed && allowed[i]; i++) {
                if (xmlStrEqual(a->name, BAD_CAST allowed[i])) {
                    ok = true;
                    break;
                }
            }
        }
        if (!ok) {
            pool_error(POOL_ERR_XML, "element <%s>: unknown attribute '%s%s%s'",
                       (const char *)node->name,
                       a->ns && a->ns->prefix ? (const char *)a->ns->prefix : "",
                       a->ns && a->ns->prefix ? ":" : "", (const char *)a->name);
            return -1;
        }
    }
    return 0;
}

static bool is_blank(const xmlChar *s)
{
    if (!s)
        return true;
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    }
    return true;
}

xmlNodePtr pool_xml_next_child(xmlNodePtr parent, xmlNodePtr prev, int *err)
{
    xmlNodePtr cur = prev ? prev->next : parent->children;

    *err = 0;
    for (; cur; cur = cur->next) {
        switch (cur->type) {
        case XML_ELEMENT_NODE:
            if (cur->ns) {
                pool_error(POOL_ERR_XML, "element <%s>: child <%s> must not be in a namespace",
                           (const char *)parent->name, (const char *)cur->name);
                *err = -1;
                return NULL;
            }
            return cur;
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            continue;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            if (is_blank(cur->content))
                continue;
            pool_error(POOL_ERR_XML, "element <%s>: unexpected text content",
                       (const char *)parent->name);
            *err = -1;
            return NULL;
        default:
            pool_error(POOL_ERR_XML, "element <%s>: unexpected content (node type %d)",
                       (const char *)parent->name, (int)cur->type);
            *err = -1;
            return NULL;
        }
    }
    return NULL;
}

int pool_xml_check_empty(xmlNodePtr node)
{
    for (xmlNodePtr cur = node->children; cur; cur = cur->next) {
        if (cur->type == XML_COMMENT_NODE || cur->type == XML_PI_NODE)
            continue;
        if ((cur->type == XML_TEXT_NODE || cur->type == XML_CDATA_SECTION_NODE) &&
            is_blank(cur->content))
            continue;
        pool_error(POOL_ERR_XML, "element <%s> must be empty", (const char *)node->name);
        return -1;
    }
    return 0;
}

bool pool_xml_text_is_clean(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        uint32_t cp;
        size_t n;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i < n)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        /* overlong forms, surrogates, beyond Unicode, C1 controls and the
         * two XML non-characters */
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f) || cp == 0xfffe ||
            cp == 0xffff)
            return false;
        i += n;
    }
    return true;
}

int pool_xml_get_text(xmlNodePtr node, char **out)
{
    POOL_AUTOFREE(char *) buf = NULL;
    size_t len = 0;

    *out = NULL;
    for (xmlNodePtr cur = node->children; cur; cur = cur->next) {
        size_t n;
        char *tmp;

        switch (cur->type) {
        case XML_COMMENT_NODE:
        case XML_PI_NODE:
            continue;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            break;
        case XML_ELEMENT_NODE:
            pool_error(POOL_ERR_XML, "element <%s>: unexpected child element <%s>",
                       (const char *)node->name, (const char *)cur->name);
            return -1;
        default:
            pool_error(POOL_ERR_XML, "element <%s>: unexpected content (node type %d)",
                       (const char *)node->name, (int)cur->type);
            return -1;
        }
        n = cur->content ? strlen((const char *)cur->content) : 0;
        if (n > POOL_XML_MAX_SIZE - len) {
            pool_error(POOL_ERR_XML, "element <%s>: text too long", (const char *)node->name);
            return -1;
        }
        tmp = realloc(buf, len + n + 1);
        if (!tmp)
            return pool_error_oom();
        buf = tmp;
        if (n)
            memcpy(buf + len, cur->content, n);
        len += n;
        buf[len] = '\0';
    }
    if (!buf) {
        buf = strdup("");
        if (!buf)
            return pool_error_oom();
    }
    if (!pool_xml_text_is_clean(buf, len)) {
        pool_error(POOL_ERR_XML, "element <%s>: text contains control characters or invalid UTF-8",
                   (const char *)node->name);
        return -1;
    }
    *out = pool_steal_ptr(&buf);
    return 0;
}

int pool_xml_get_attr(xmlNodePtr node, const char *attr, bool required, char **out)
{
    xmlChar *val = NULL;
    char *copy = NULL;

    *out = NULL;
    val = xmlGetNoNsProp(node, BAD_CAST attr);
    if (!val) {
        if (required) {
            pool_error(POOL_ERR_XML, "element <%s>: missing attribute '%s'",
                       (const char *)node->name, attr);
            return -1;
        }
        return 0;
    }
    if (!pool_xml_text_is_clean((const char *)val, strlen((const char *)val))) {
        pool_error(POOL_ERR_XML,
                   "element <%s>: attribute '%s' contains control characters or invalid UTF-8",
                   (const char *)node->name, attr);
        xmlFree(val);
        return -1;
    }
    copy = strdup((const char *)val);
    xmlFree(val);
    if (!copy)
        return pool_error_oom();
    *out = copy;
    return 0;
}

static bool is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int pool_xml_parse_u64(const char *text, const char *what, uint64_t min, uint64_t max,
                       uint64_t *out)
{
    const char *p = text;
    const char *end;
    uint64_t v = 0;

    if (!text) {
        pool_error(POOL_ERR_XML, "%s: missing number", what);
        return -1;
    }
    while (is_xml_space(*p))
        p++;
    end = p;
    while (*end >= '0' && *end <= '9')
        end++;
    if (end == p) {
        pool_error(POOL_ERR_XML, "%s: '%.64s' is not an unsigned decimal number", what, text);
        return -1;
    }
    for (const char *q = end; *q; q++) {
        if (!is_xml_space(*q)) {
            pool_error(POOL_ERR_XML, "%s: '%.64s' is not an unsigned decimal number", what, text);
            return -1;
        }
    }
    for (const char *q = p; q < end; q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_MAX - d) / 10) {
            pool_error(POOL_ERR_XML, "%s: '%.64s' is too large", what, text);
            return -1;
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        pool_error(POOL_ERR_XML, "%s: %" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, what, v,
                   min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int pool_xml_get_u64(xmlNodePtr node, uint64_t min, uint64_t max, uint64_t *out)
{
    POOL_AUTOFREE(char *) text = NULL;
    POOL_AUTOFREE(char *) what = NULL;

    if (pool_xml_check_attrs(node, NULL) < 0 || pool_xml_get_text(node, &text) < 0)
        return -1;
    if (!(what = pool_asprintf("element <%s>", (const char *)node->name)))
        return -1;
    return pool_xml_parse_u64(text, what, min, max, out);
}

int pool_xml_get_attr_u64(xmlNodePtr node, const char *attr, bool required, uint64_t min,
                          uint64_t max, uint64_t *out, bool *present)
{
    POOL_AUTOFREE(char *) text = NULL;
    POOL_AUTOFREE(char *) what = NULL;

    if (present)
        *present = false;
    if (pool_xml_get_attr(node, attr, required, &text) < 0)
        return -1;
    if (!text)
        return 0;
    if (!(what = pool_asprintf("element <%s> attribute '%s'", (const char *)node->name, attr)))
        return -1;
    if (pool_xml_parse_u64(text, what, min, max, out) < 0)
        return -1;
    if (present)
        *present = true;
    return 0;
}

static const struct {
    const char *name;
    uint64_t factor;
} size_units[] = {
    {"bytes", 1},
    {"B", 1},
    {"KiB", UINT64_C(1) << 10},
    {"MiB", UINT64_C(1) << 20},
    {"GiB", UINT64_C(1) << 30},
    {"TiB", UINT64_C(1) << 40},
};

int pool_xml_get_size(xmlNodePtr node, uint64_t min, uint64_t max, uint64_t *out)
{
    static const char *const attrs[] = {"unit", NULL};
    POOL_AUTOFREE(char *) unit = NULL;
    POOL_AUTOFREE(char *) text = NULL;
    POOL_AUTOFREE(char *) what = NULL;
    uint64_t factor = 0;
    uint64_t v = 0;
    const char *name = (const char *)node->name;

    if (pool_xml_check_attrs(node, attrs) < 0 ||
        pool_xml_get_attr(node, "unit", false, &unit) < 0 || pool_xml_get_text(node, &text) < 0)
        return -1;
    if (!unit) {
        factor = 1;
    } else {
        for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
            if (strcmp(unit, size_units[i].name) == 0) {
                factor = size_units[i].factor;
                break;
            }
        }
        if (!factor) {
            pool_error(POOL_ERR_XML,
                       "element <%s>: unknown unit '%.32s' (expected bytes, B, KiB, MiB, GiB "
                       "or TiB)",
                       name, unit);
            return -1;
        }
    }
    if (!(what = pool_asprintf("element <%s>", name)))
        return -1;
    if (pool_xml_parse_u64(text, what, 0, UINT64_MAX, &v) < 0)
        return -1;
    if (v > UINT64_MAX / factor) {
        pool_error(POOL_ERR_XML, "element <%s>: size %" PRIu64 " %s overflows", name, v,
                   unit ? unit : "bytes");
        return -1;
    }
    v *= factor;
    if (v < min || v > max) {
        pool_error(POOL_ERR_XML,
                   "element <%s>: size %" PRIu64 " bytes is out of range %" PRIu64 "..%" PRIu64,
                   name, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int pool_xml_check_path(const char *path, const char *what, poolErrorCode code)
{
    size_t len;

    if (!path || path[0] != '/') {
        pool_error(code, "%s: path '%.128s' is not absolute", what, path ? path : "");
        return -1;
    }
    len = strlen(path);
    if (len > POOL_XML_MAX_PATH) {
        pool_error(code, "%s: path is too long (%zu bytes, limit %d)", what, len,
                   POOL_XML_MAX_PATH);
        return -1;
    }
    if (!pool_xml_text_is_clean(path, len) || strchr(path, '\t') || strchr(path, '\n')) {
        pool_error(code, "%s: path contains control characters or invalid UTF-8", what);
        return -1;
    }
    return 0;
}

/* ---- segment maps -------------------------------------------------------- */

void pool_xml_segments_free(poolSegment *segs, size_t nsegs)
{
    if (!segs)
        return;
    for (size_t i = 0; i < nsegs; i++)
        free(segs[i].pv);
    free(segs);
}

int pool_xml_check_segments(const poolSegment *segs, size_t nsegs, const char *what)
{
    uint64_t next = 0;

    if (nsegs == 0 || !segs) {
        pool_error(POOL_ERR_XML, "%s: needs at least one segment", what);
        return -1;
    }
    for (size_t i = 0; i < nsegs; i++) {
        const poolSegment *s = &segs[i];
        if (s->lv_offset != next) {
            pool_error(POOL_ERR_XML,
                       "%s: segment %zu starts at lv-offset %" PRIu64 ", expected %" PRIu64
                       " (segments must be sorted and contiguous from 0)",
                       what, i, s->lv_offset, next);
            return -1;
        }
        if (s->length == 0 || s->length > (uint64_t)INT64_MAX) {
            pool_error(POOL_ERR_XML, "%s: segment %zu has invalid length %" PRIu64, what, i,
                       s->length);
            return -1;
        }
        if (s->lv_offset > (uint64_t)INT64_MAX - s->length) {
            pool_error(POOL_ERR_XML, "%s: segment %zu ends beyond the largest LV offset", what, i);
            return -1;
        }
        if (s->pv_offset > (uint64_t)INT64_MAX - s->length) {
            pool_error(POOL_ERR_XML, "%s: segment %zu: pv-offset %" PRIu64 " out of range", what, i,
                       s->pv_offset);
            return -1;
        }
        if (pool_xml_check_path(s->pv, what, POOL_ERR_XML) < 0)
            return -1;
        next = s->lv_offset + s->length;
    }
    return 0;
}

int pool_xml_parse_segments(xmlNodePtr parent, const char *what, poolSegment **segs, size_t *nsegs)
{
    static const char *const attrs[] = {"lv-offset", "length", "pv", "pv-offset", NULL};
    poolSegment *list = NULL;
    size_t n = 0;
    xmlNodePtr cur = NULL;
    int err = 0;

    *segs = NULL;
    *nsegs = 0;
    while ((cur = pool_xml_next_child(parent, cur, &err))) {
        poolSegment *s;
        poolSegment *tmp;

        if (!pool_xml_is_element(cur, "segment")) {
            pool_error(POOL_ERR_XML, "%s: unknown element <%s>", what, (const char *)cur->name);
            goto error;
        }
        if (n >= 1u << 20) {
            pool_error(POOL_ERR_XML, "%s: too many segments", what);
            goto error;
        }
        tmp = realloc(list, (n + 1) * sizeof(*list));
        if (!tmp) {
            pool_error_oom();
            goto error;
        }
        list = tmp;
        s = &list[n++];
        memset(s, 0, sizeof(*s));
        if (pool_xml_check_attrs(cur, attrs) < 0 || pool_xml_check_empty(cur) < 0 ||
            pool_xml_get_attr_u64(cur, "lv-offset", true, 0, INT64_MAX, &s->lv_offset, NULL) < 0 ||
            pool_xml_get_attr_u64(cur, "length", true, 1, INT64_MAX, &s->length, NULL) < 0 ||
            pool_xml_get_attr_u64(cur, "pv-offset", true, 0, INT64_MAX, &s->pv_offset, NULL) < 0 ||
            pool_xml_get_attr(cur, "pv", true, &s->pv) < 0) {
            pool_error_prefix("%s", what);
            goto error;
        }
    }
    if (err < 0)
        goto error;
    if (pool_xml_check_segments(list, n, what) < 0)
        goto error;
    *segs = list;
    *nsegs = n;
    return 0;
error:
    pool_xml_segments_free(list, n);
    return -1;
}

int pool_xml_format_segments(xmlNodePtr parent, const poolSegment *segs, size_t nsegs)
{
    for (size_t i = 0; i < nsegs; i++) {
        xmlNodePtr seg = xmlNewChild(parent, NULL, BAD_CAST "segment", NULL);
        if (!seg)
            return pool_error_oom();
        if (pool_xml_set_attr_u64(seg, "lv-offset", segs[i].lv_offset) < 0 ||
            pool_xml_set_attr_u64(seg, "length", segs[i].length) < 0 ||
            pool_xml_set_attr(seg, "pv", segs[i].pv) < 0 ||
            pool_xml_set_attr_u64(seg, "pv-offset", segs[i].pv_offset) < 0)
            return -1;
    }
    return 0;
}

/* ---- tree building ------------------------------------------------------- */

xmlNodePtr pool_xml_new_text_child(xmlNodePtr parent, const char *name, const char *text)
{
    /* xmlNewTextChild escapes the content (xmlNewChild would parse it). */
    xmlNodePtr node = xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST(text ? text : ""));
    if (!node)
        pool_error_oom();
    return node;
}

xmlNodePtr pool_xml_new_u64_child(xmlNodePtr parent, const char *name, uint64_t value)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, value);
    return pool_xml_new_text_child(parent, name, buf);
}

xmlNodePtr pool_xml_new_size_child(xmlNodePtr parent, const char *name, uint64_t bytes)
{
    xmlNodePtr node = pool_xml_new_u64_child(parent, name, bytes);

    if (node && pool_xml_set_attr(node, "unit", "bytes") < 0)
        return NULL;
    return node;
}

int pool_xml_set_attr(xmlNodePtr node, const char *name, const char *value)
{
    if (!xmlNewProp(node, BAD_CAST name, BAD_CAST(value ? value : "")))
        return pool_error_oom();
    return 0;
}

int pool_xml_set_attr_u64(xmlNodePtr node, const char *name, uint64_t value)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, value);
    return pool_xml_set_attr(node, name, buf);
}

/* ---- names and uuids ----------------------------------------------------- */

int pool_xml_check_name(poolNameKind kind, const char *name, const char *what)
{
    POOL_AUTOFREE(char *) msg = NULL;

    if (!name) {
        pool_error(POOL_ERR_XML, "%s: missing name", what);
        return -1;
    }
    if (pool_name_validate(kind, name) == 0)
        return 0;
    /* Keep the validator's explanation but report it as a document error. */
    msg = strdup(pool_error_last_message());
    pool_error(POOL_ERR_XML, "%s: %s", what, msg ? msg : "invalid name");
    return -1;
}

int pool_xml_check_uuid(const char *uuid, const char *what)
{
    if (!uuid || strnlen(uuid, 37) != 36 || !pool_uuid_is_valid(uuid)) {
        pool_error(POOL_ERR_XML, "%s: '%.64s' is not a valid UUID", what, uuid ? uuid : "");
        return -1;
    }
    return 0;
}

int pool_xml_child_index(xmlNodePtr cur, const char *const *names, int n, bool *seen,
                         const char *what)
{
    for (int i = 0; i < n; i++) {
        if (!pool_xml_is_element(cur, names[i]))
            continue;
        if (seen[i]) {
            pool_error(POOL_ERR_XML, "%s: duplicate element <%s>", what, names[i]);
            return -1;
        }
        seen[i] = true;
        return i;
    }
    pool_error(POOL_ERR_XML, "%s: unknown element <%s>", what, (const char *)cur->name);
    return -1;
}

int pool_xml_check_required(const char *const *names, const bool *required, const bool *seen, int n,
                            const char *what)
{
    for (int i = 0; i < n; i++) {
        if ((!required || required[i]) && !seen[i]) {
            pool_error(POOL_ERR_XML, "%s: missing element <%s>", what, names[i]);
            return -1;
        }
    }
    return 0;
}
