// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util_name.c: validation of pool, volume and host names.
 *
 * Names become VG and LV names, LVM tags, file names under the state
 * directory, libvirt pool/volume names and iSCSI IQN parts. Rather than
 * escaping for each of those, we accept only what is safe everywhere: a
 * short, shell-inert alphabet ([A-Za-z0-9_.+-]) starting with a letter or
 * digit, which also keeps a name from looking like a command-line option
 * ("-f") or a hidden/relative path (".", "..", ".x").
 *
 * Volume names additionally avoid what LVM refuses or treats specially:
 * names starting "snapshot" or "pvmove", and the internal sub-LV suffixes
 * ("_mlog", "_rimage", ...) anywhere in the name. "ids" and "leases" are the
 * sanlock LVs poold itself keeps in every pool; "pdl-" starts the names of
 * its snapshot and template layers. Rejecting these here gives
 * the operator a clear message before any lvm command runs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pool-error.h"
#include "pool-util.h"

#define POOL_NAME_MAX 64

static const char *const volume_reserved_names[] = {"ids", "leases"};

/* lvm refuses LV names beginning with these. */
static const char *const volume_reserved_prefixes[] = {"snapshot", "pvmove"};

/* lvm's internal sub-LV name parts, refused anywhere in an LV name. */
static const char *const volume_reserved_substrings[] = {
    "_cdata",  "_cmeta", "_corig", "_cpool", "_cvol",    "_iorig", "_imeta",   "_mimage", "_mlog",
    "_rimage", "_rmeta", "_tdata", "_tmeta", "_pmspare", "_vdata", "_vorigin", "_vdo",    "_wcorig",
};

static const char *kind_name(poolNameKind kind)
{
    switch (kind) {
    case POOL_NAME_POOL:
        return "pool";
    case POOL_NAME_VOLUME:
        return "volume";
    case POOL_NAME_HOST:
        return "host";
    }
    return "object";
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_name_char(char c)
{
    return is_alnum(c) || c == '_' || c == '.' || c == '+' || c == '-';
}

/* Printable, bounded rendering of the rejected name for the message. */
static const char *name_quote(const char *text, char *buf, size_t buflen)
{
    size_t o = 0;
    size_t i;

    for (i = 0; text[i] && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (text[i])
        o += (size_t)snprintf(buf + o, buflen - o, "...");
    buf[o] = '\0';
    return buf;
}

static int name_error(poolNameKind kind, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int name_error(poolNameKind kind, const char *name, const char *fmt, ...)
{
    char q[96];
    char why[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    pool_error(POOL_ERR_INVALID_ARG, "invalid %s name '%s': %s", kind_name(kind),
               name_quote(name, q, sizeof(q)), why);
    return -1;
}

int pool_name_validate(poolNameKind kind, const char *name)
{
    size_t len;
    char ch[8];

    if (!name || !*name)
        return name_error(kind, "", "%s", "must not be empty");
    len = strlen(name);
    if (len > POOL_NAME_MAX) {
        return name_error(kind, name, "longer than %d characters", POOL_NAME_MAX);
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return name_error(kind, name, "%s", "'.' and '..' are not names");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (is_name_char((char)c))
            continue;
        if (c > 0x20 && c < 0x7f)
            snprintf(ch, sizeof(ch), "'%c'", c);
        else
            snprintf(ch, sizeof(ch), "0x%02x", c);
        return name_error(kind, name, "character %s not allowed (use A-Z a-z 0-9 _ . + -)", ch);
    }
    if (!is_alnum(name[0]))
        return name_error(kind, name, "%s", "must start with a letter or digit");

    if (kind != POOL_NAME_VOLUME)
        return 0;

    for (size_t i = 0; i < sizeof(volume_reserved_names) / sizeof(volume_reserved_names[0]); i++) {
        if (strcmp(name, volume_reserved_names[i]) == 0)
            return name_error(kind, name, "'%s' is reserved for poold's own volume",
                              volume_reserved_names[i]);
    }
    /* the LV names of snapshot and template layers (layer_tree.h) */
    if (strncmp(name, "pdl-", 4) == 0)
        return name_error(kind, name, "%s",
                          "names starting with 'pdl-' are reserved for poold's layers");
    for (size_t i = 0; i < sizeof(volume_reserved_prefixes) / sizeof(volume_reserved_prefixes[0]);
         i++) {
        const char *r = volume_reserved_prefixes[i];

        if (strncmp(name, r, strlen(r)) == 0)
            return name_error(kind, name, "names starting with '%s' are reserved by LVM", r);
    }
    for (size_t i = 0;
         i < sizeof(volume_reserved_substrings) / sizeof(volume_reserved_substrings[0]); i++) {
        const char *r = volume_reserved_substrings[i];

        if (strstr(name, r))
            return name_error(kind, name, "'%s' is reserved by LVM for internal volumes", r);
    }
    return 0;
}
