// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util_hex.c: hexadecimal digits, for the decoders of escaped tags, UUIDs,
 * CHAP values and iSCSI numbers.
 */
#include "pool-util.h"

int pool_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
