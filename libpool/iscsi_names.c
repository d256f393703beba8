/*
 * iscsi_names.c: the two kinds of iSCSI address poold checks: iSCSI names
 * (iqn., eui., naa.; declared in pool-xml.h) and portals, A.B.C.D:PORT or
 * [IPv6]:PORT (pool-config.h). Both the config file (config.c) and the
 * target document (xml_target.c) check them, so they live below both.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-config.h"
#include "pool-error.h"
#include "pool-util.h"
#include "pool-xml.h"

/* ---- iSCSI names ---------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int bad_name(const char *name, const char *why)
{
    pool_error(POOL_ERR_INVALID_ARG, "'%.*s' is not an iSCSI name: %s", POOL_ISCSI_NAME_MAX, name,
               why);
    return -1;
}

/* iqn.YYYY-MM.reversed.domain[:anything]: after RFC 3722 stringprep a name
 * holds only lower-case letters, digits, '-', '.' and ':' (we take the
 * ASCII subset: every initiator in practice), so an upper-case letter would
 * never match what the initiator sends after normalisation. */
static int iqn_validate(const char *name)
{
    const char *p = name + 4;
    if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
          p[3] >= '0' && p[3] <= '9' && p[4] == '-' && p[5] >= '0' && p[5] <= '1' && p[6] >= '0' &&
          p[6] <= '9' && p[7] == '.'))
        return bad_name(name, "an iqn. name continues with a date yyyy-mm and a '.'");
    int month = (p[5] - '0') * 10 + (p[6] - '0');
    if (month < 1 || month > 12)
        return bad_name(name, "the month in the iqn. date must be 01..12");
    p += 8;
    /* naming authority: reversed domain name, labels of [a-z0-9-] */
    size_t label = 0;
    for (; *p && *p != ':'; p++) {
        if (*p == '.') {
            if (label == 0)
                return bad_name(name, "empty label in the naming authority");
            label = 0;
        } else if (is_lower_alnum(*p) || *p == '-') {
            label++;
        } else {
            return bad_name(name, "the naming authority (reversed domain name) may hold only "
                                  "a-z, 0-9, '-' and '.'");
        }
    }
    if (label == 0)
        return bad_name(name, "the iqn. name needs a naming authority (reversed domain name)");
    if (*p == ':') {
        p++;
        if (!*p)
            return bad_name(name, "nothing after ':'");
        for (; *p; p++)
            if (!is_lower_alnum(*p) && *p != '-' && *p != '.' && *p != ':')
                return bad_name(name, "only a-z, 0-9, '-', '.' and ':' are allowed (iSCSI names "
                                      "are lower case)");
    }
    return 0;
}

int pool_iscsi_name_validate(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return bad_name(name, "empty");
    if (len > POOL_ISCSI_NAME_MAX) {
        pool_error(POOL_ERR_INVALID_ARG, "iSCSI name is %zu bytes long (at most %d)", len,
                   POOL_ISCSI_NAME_MAX);
        return -1;
    }
    if (strncmp(name, "iqn.", 4) == 0)
        return iqn_validate(name);
    if (strncmp(name, "eui.", 4) == 0 || strncmp(name, "naa.", 4) == 0) {
        /* eui.: an EUI-64, 16 hex digits; naa.: NAA 64-bit (16) or 128-bit
         * (32) identifier (RFC 3980, RFC 7143 4.2.7.4) */
        size_t n = len - 4;
        for (size_t i = 4; i < len; i++)
            if (!is_hex(name[i]))
                return bad_name(name, "only hexadecimal digits may follow eui. / naa.");
        if (name[0] == 'e' && n != 16)
            return bad_name(name, "an eui. name has exactly 16 hexadecimal digits");
        if (name[0] == 'n' && n != 16 && n != 32)
            return bad_name(name, "a naa. name has 16 or 32 hexadecimal digits");
        return 0;
    }
    return bad_name(name, "it must start with iqn., eui. or naa.");
}

/* ---- portals -------------------------------------------------------------- */

int pool_parse_portal(const char *text, char *addr, size_t addrlen, uint16_t *port)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    const char *h = text;
    size_t hl;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || end[1] != ':')
            goto bad;
        h = text + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            goto bad;
        hl = (size_t)(colon - text);
    }
    if (hl == 0 || hl >= sizeof(host))
        goto bad;
    memcpy(host, h, hl);
    host[hl] = '\0';
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(text[0] == '[' ? AF_INET6 : AF_INET, host, buf) != 1)
        goto bad;
    uint64_t p;
    if (pool_parse_uint(colon + 1, "port", 1, 65535, &p) < 0)
        goto bad;
    if (addr) {
        if (strlen(host) >= addrlen)
            goto bad;
        strcpy(addr, host);
    }
    if (port)
        *port = (uint16_t)p;
    return 0;
bad:
    pool_error(POOL_ERR_CONFIG,
               "'%s' is not a portal address (A.B.C.D:PORT or [IPv6]:PORT, port 1..65535)", text);
    return -1;
}

int pool_parse_portal_list(const char *text, char ***entries)
{
    char **list = NULL;
    *entries = NULL;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " \t");
        char *one = pool_asprintf("%.*s", (int)len, p);
        if (!one)
            goto fail;
        char addr[INET6_ADDRSTRLEN + 2];
        uint16_t port;
        if (pool_parse_portal(one, addr, sizeof(addr), &port) < 0) {
            free(one);
            goto fail;
        }
        /* The same address:port twice would fail to bind at start; say so
         * here, where the operator can see the line. */
        for (char **q = list; q && *q; q++) {
            if (strcmp(*q, one) == 0) {
                pool_error(POOL_ERR_CONFIG, "portal '%s' is listed twice", one);
                free(one);
                goto fail;
            }
        }
        if (pool_strv_length(list) >= POOL_MAX_PORTALS) {
            pool_error(POOL_ERR_CONFIG, "more than %d portals", POOL_MAX_PORTALS);
            free(one);
            goto fail;
        }
        int r = pool_strv_add(&list, one);
        free(one);
        if (r < 0)
            goto fail;
        p += len;
    }
    *entries = list;
    return (int)pool_strv_length(list);
fail:
    pool_strv_free(list);
    return -1;
}
