// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util_size.c: sizes with units, and plain unsigned integers.
 *
 * Sizes come from operators ("poolctl volume create pool1 web01 20G") and end
 * up in lvcreate's argv, so the parser is deliberately narrow: an unsigned
 * integer, an optional binary unit, an optional "iB"/"B" suffix, nothing
 * else. No fractions (1.5G is ambiguous about rounding to extents), no signs,
 * no whitespace, and overflow is an error rather than a wrap: a wrapped size
 * would create a tiny volume where a huge one was asked for. Units are
 * always binary and case-insensitive, so "20GB" means 20 GiB. Unlike lvm's
 * -L (where a bare number means MiB), a bare number here means bytes: the
 * documents poold writes carry bytes, and one meaning everywhere is safer.
 *
 * Messages quote the offending text with control characters escaped because
 * they travel back to a terminal through poolctl.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pool-error.h"
#include "pool-util.h"

/* Printable, bounded rendering of user text for error messages. */
static const char *size_quote(const char *text, char *buf, size_t buflen)
{
    size_t o = 0;
    size_t i;

    for (i = 0; text[i] && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (text[i])
        o += (size_t)snprintf(buf + o, buflen - o, "...");
    buf[o] = '\0';
    return buf;
}

static int size_error(const char *what, const char *text, const char *why)
{
    char q[96];

    pool_error(POOL_ERR_INVALID_ARG, "invalid %s '%s': %s", what, size_quote(text, q, sizeof(q)),
               why);
    return -1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parse leading decimal digits; returns the end or NULL on overflow. */
static const char *parse_digits(const char *p, uint64_t *out)
{
    uint64_t v = 0;

    for (; is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10)
            return NULL;
        v = v * 10 + d;
    }
    *out = v;
    return p;
}

int pool_parse_size(const char *text, const char *what, uint64_t *bytes)
{
    static const char units[] = "KMGTP";
    const char *p;
    const char *u;
    uint64_t value;
    unsigned shift = 0;

    if (!what)
        what = "size";
    if (!text || !*text)
        return size_error(what, text ? text : "", "empty");
    if (!is_digit(*text))
        return size_error(what, text,
                          "must start with a digit (unsigned integer with optional "
                          "unit K, M, G, T or P)");
    p = parse_digits(text, &value);
    if (!p)
        return size_error(what, text, "too large");

    if (*p && (u = memchr(units, toupper((unsigned char)*p), sizeof(units) - 1)) != NULL) {
        shift = 10 * (unsigned)(u - units + 1);
        p++;
        if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
            p += 2;
        else if (p[0] == 'B' || p[0] == 'b')
            p++;
    } else if (*p == 'B' || *p == 'b') {
        p++;
    }
    if (*p) {
        if (*p == '.' || *p == ',')
            return size_error(what, text, "fractions are not allowed, use a smaller unit");
        return size_error(what, text,
                          "unknown unit (use K, M, G, T or P, optionally with iB or B)");
    }
    if (shift && value > (UINT64_MAX >> shift))
        return size_error(what, text, "too large");
    if (bytes)
        *bytes = value << shift;
    return 0;
}

const char *pool_format_size(uint64_t bytes, char *buf, size_t buflen)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned k = 0;

    if (!buf || buflen == 0)
        return "";
    if (bytes < 1024) {
        snprintf(buf, buflen, "%" PRIu64 " B", bytes);
        return buf;
    }
    while (k + 1 < sizeof(units) / sizeof(units[0]) && (bytes >> (10 * (k + 2))) > 0)
        k++;
    snprintf(buf, buflen, "%.2f %s", (double)bytes / (double)(UINT64_C(1) << (10 * (k + 1))),
             units[k]);
    return buf;
}

int pool_parse_uint(const char *text, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
    char why[128];
    const char *p;
    uint64_t v;

    if (!what)
        what = "value";
    if (!text || !*text)
        return size_error(what, text ? text : "", "empty");
    if (!is_digit(*text))
        return size_error(what, text, "not an unsigned decimal integer");
    p = parse_digits(text, &v);
    if (p && *p)
        return size_error(what, text, "not an unsigned decimal integer");
    if (!p || v < min || v > max) {
        snprintf(why, sizeof(why), "out of range %" PRIu64 "..%" PRIu64, min, max);
        return size_error(what, text, why);
    }
    if (out)
        *out = v;
    return 0;
}
