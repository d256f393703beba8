/*
 * layout_store.c: how the VM metadata store a pool uses is written in its
 * VG tags (layout.h: pd_store, pd_storeto). Pure functions, below every
 * operation: pool_ops.c reads the tags at import and vm_ops.c reads and
 * changes them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-lvm.h"
#include "pool-util.h"
#include "pool-xml.h"

static bool tag_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("_+.-/=!:&", c) != NULL;
}

char *pool_layout_store_escape(const char *url)
{
    size_t len = strlen(url);
    char *out = pool_calloc(len * 3 + 1, 1);
    if (!out)
        return NULL;
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c && tag_char_ok(c))
            *p++ = (char)c;
        else
            p += sprintf(p, "#%02x", c);
    }
    *p = '\0';
    return out;
}

char *pool_layout_store_unescape(const char *value)
{
    size_t len = strlen(value);
    char *out = pool_calloc(len + 1, 1);
    if (!out)
        return NULL;
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        if (value[i] != '#') {
            *p++ = value[i];
            continue;
        }
        int hi = i + 2 < len ? pool_hex_value(value[i + 1]) : -1;
        int lo = hi >= 0 ? pool_hex_value(value[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            pool_error(POOL_ERR_LVM, "bad escape in the metadata store tag '%.128s'", value);
            return NULL;
        }
        *p++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *p = '\0';
    return out;
}

int pool_layout_store_from_tags(char *const *tags, char **url, unsigned *timeout_ms)
{
    *url = NULL;
    *timeout_ms = 0;
    const char *v = pool_lvm_tag_get(tags, POOL_TAG_STORE);
    const char *to = pool_lvm_tag_get(tags, POOL_TAG_STORE_TO);
    if (!v)
        return 0;
    POOL_AUTOFREE(char *) u = pool_layout_store_unescape(v);
    if (!u)
        return -1;
    if (pool_store_url_check(u) < 0) {
        pool_error(POOL_ERR_LVM, "the pool's metadata store tag holds a bad URL");
        return -1;
    }
    uint64_t ms = 0;
    if (to && pool_parse_uint(to, "metadata store timeout", POOL_STORE_TIMEOUT_MIN_MS,
                              POOL_STORE_TIMEOUT_MAX_MS, &ms) < 0) {
        pool_error(POOL_ERR_LVM, "the pool's metadata store timeout tag '%.32s' is unreadable", to);
        return -1;
    }
    *url = pool_steal_ptr(&u);
    *timeout_ms = (unsigned)ms;
    return 0;
}
