/*
 * xml_internal.h: helpers shared by the XML document parsers and formatters
 * (xml_pool.c, xml_volume.c, proto_message.c). Not installed.
 *
 * Why a private module: every document poold reads comes from outside (an
 * operator's file, a socket peer) and has to be parsed the same strict way:
 * unknown elements and attributes rejected, numbers range-checked, text
 * checked for control characters. Keeping those rules in one place means the
 * pool document, the volume document and the protocol messages cannot drift
 * apart.
 *
 * All functions report POOL_ERR_XML (or the code they name) through
 * pool_error() and return 0 / -1 or a pointer / NULL. Strings they hand out
 * are malloc'd and owned by the caller.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_XML_INTERNAL_H
#define POOL_XML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>

#include "pool-error.h"
#include "pool-util.h"
#include "pool-xml.h"

/* Largest document any parser accepts. */
#define POOL_XML_MAX_SIZE (4u * 1024 * 1024)
/* Longest device path accepted in a document (PATH_MAX - 1). */
#define POOL_XML_MAX_PATH 4095

/* Like pool_xml_read_memory() but reports failures with `code` (the protocol
 * uses POOL_ERR_PROTOCOL, documents POOL_ERR_XML). */
xmlDocPtr pool_xml_read_memory_code(const char *xml, size_t len, const char *what,
                                    poolErrorCode code);

/* Read a whole regular file of at most POOL_XML_MAX_SIZE bytes into a new
 * NUL-terminated buffer. */
int pool_xml_read_file(const char *path, char **data, size_t *len);

/* Serialize a node (and its subtree) with 2-space indentation, no XML
 * declaration, ending in a newline. Returns a malloc'd NUL-terminated string
 * and its length in *len (when len is not NULL). */
char *pool_xml_node_to_string(xmlNodePtr node, size_t *len);
/* Same for a whole document (its root element; no declaration). */
char *pool_xml_doc_to_string(xmlDocPtr doc, size_t *len);

/* True if node is an element called `name` in no namespace. */
bool pool_xml_is_element(xmlNodePtr node, const char *name);
/* The first child element `name` (no namespace) of parent, or NULL; *count
 * (may be NULL) gets how many there are. For documents read leniently
 * (libvirt's domain XML), where other children are allowed. */
xmlNodePtr pool_xml_find_child(xmlNodePtr parent, const char *name, int *count);

/* Check that node is an element without a namespace and that every attribute
 * it carries (also without a namespace) is listed in `allowed`
 * (NULL-terminated; NULL for none). Messages name the element. */
int pool_xml_check_attrs(xmlNodePtr node, const char *const *allowed);

/* Iterate the element children of an element-only node: returns the next
 * element after `prev` (first if prev is NULL), NULL at the end. Comments and
 * processing instructions are skipped, whitespace-only text is skipped. Any
 * other content (non-blank text, entity references) sets *err to -1 with an
 * error reported; check *err when NULL comes back. */
xmlNodePtr pool_xml_next_child(xmlNodePtr parent, xmlNodePtr prev, int *err);

/* For documents whose children may come in any order but at most once:
 * which of names[0..n) is the element cur? Marks seen[i] and returns i, or
 * returns -1 with "<what>: unknown element <x>" / "duplicate element <x>". */
int pool_xml_child_index(xmlNodePtr cur, const char *const *names, int n, bool *seen,
                         const char *what);
/* After the children: -1 with "<what>: missing element <x>" for the first
 * names[i] that is required (required NULL: all are) and was not seen. */
int pool_xml_check_required(const char *const *names, const bool *required, const bool *seen, int n,
                            const char *what);

/* Check that node has no element or text children (an empty element like
 * <format version="1"/>). */
int pool_xml_check_empty(xmlNodePtr node);

/* Text content of a text-only element (no child elements). *out is a new
 * string ("" when the element is empty). Rejects control characters other
 * than tab and newline, and invalid UTF-8. */
int pool_xml_get_text(xmlNodePtr node, char **out);

/* Attribute value (new string) or NULL in *out when absent; required
 * attributes report an error when absent. */
int pool_xml_get_attr(xmlNodePtr node, const char *attr, bool required, char **out);

/* Strict decimal unsigned integer in [min, max]. Leading and trailing XML
 * whitespace (space, tab, CR, LF) is allowed, as in XML Schema's collapsed
 * integer types; no sign, no other characters. `what` names the field. */
int pool_xml_parse_u64(const char *text, const char *what, uint64_t min, uint64_t max,
                       uint64_t *out);

/* Text-only element holding an unsigned integer in [min, max]. */
int pool_xml_get_u64(xmlNodePtr node, uint64_t min, uint64_t max, uint64_t *out);
/* Attribute holding an unsigned integer in [min, max]; *present (may be NULL
 * when required) tells whether it was there. */
int pool_xml_get_attr_u64(xmlNodePtr node, const char *attr, bool required, uint64_t min,
                          uint64_t max, uint64_t *out, bool *present);

/* A size element: text is the number, optional unit attribute (bytes, B,
 * KiB, MiB, GiB, TiB; default bytes). The result in bytes must lie in
 * [min, max]; overflow of number * unit is an error. */
int pool_xml_get_size(xmlNodePtr node, uint64_t min, uint64_t max, uint64_t *out);

/* Device paths: absolute, at most POOL_XML_MAX_PATH bytes, valid UTF-8, no
 * control characters. Reports with `code`. */
int pool_xml_check_path(const char *path, const char *what, poolErrorCode code);

/* Object names and UUIDs in documents: pool_name_validate() /
 * pool_uuid_is_valid() rules (UUIDs: 36 characters), failures reported as
 * POOL_ERR_XML naming `what`. */
int pool_xml_check_name(poolNameKind kind, const char *name, const char *what);
int pool_xml_check_uuid(const char *uuid, const char *what);

/* Text a document may carry: valid UTF-8 and no control characters (C0 other
 * than tab and newline, DEL, C1). */
bool pool_xml_text_is_clean(const char *s, size_t len);

/* Segment lists (<segment lv-offset= length= pv= pv-offset=/> children of
 * `parent`): at least one segment, each with length > 0, sorted and
 * contiguous from lv-offset 0, no offset overflow. `what` names the list in
 * messages ("lv ids", "target"). */
int pool_xml_parse_segments(xmlNodePtr parent, const char *what, poolSegment **segs, size_t *nsegs);
/* Check a segment list held in memory with the same rules (format side). */
int pool_xml_check_segments(const poolSegment *segs, size_t nsegs, const char *what);
/* Append <segment/> children for segs to parent. */
int pool_xml_format_segments(xmlNodePtr parent, const poolSegment *segs, size_t nsegs);
void pool_xml_segments_free(poolSegment *segs, size_t nsegs);

/* Tree building: new child element with (escaped) text / with a size in
 * bytes (unit="bytes") / with an unsigned number. NULL on allocation
 * failure with POOL_ERR_NO_MEMORY reported. */
xmlNodePtr pool_xml_new_text_child(xmlNodePtr parent, const char *name, const char *text);
xmlNodePtr pool_xml_new_size_child(xmlNodePtr parent, const char *name, uint64_t bytes);
xmlNodePtr pool_xml_new_u64_child(xmlNodePtr parent, const char *name, uint64_t value);
int pool_xml_set_attr(xmlNodePtr node, const char *name, const char *value);
int pool_xml_set_attr_u64(xmlNodePtr node, const char *name, uint64_t value);

/* Scope-cleanup aliases for libxml2 objects: POOL_AUTOPTR(poolXmlNode) frees
 * an unlinked subtree with xmlFreeNode, POOL_AUTOPTR(poolXmlDoc) a document
 * with xmlFreeDoc. (Aliases, so they cannot clash with another module
 * defining cleanups for the libxml2 type names.) */
typedef xmlNode poolXmlNode;
typedef xmlDoc poolXmlDoc;
static inline void pool_xml_node_free(poolXmlNode *node)
{
    xmlFreeNode(node);
}
static inline void pool_xml_doc_free(poolXmlDoc *doc)
{
    xmlFreeDoc(doc);
}
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolXmlNode, pool_xml_node_free)
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolXmlDoc, pool_xml_doc_free)

#endif
