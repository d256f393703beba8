// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_size.c: libFuzzer target for the small text parsers operators reach
 * directly from the command line (sizes, integers, names), plus CRC32C.
 *
 * Beyond "does not crash", it checks properties a wrong parser would break:
 * an accepted size re-parses to the same value when printed as plain bytes,
 * failures never touch the output, every failure carries a printable
 * message, and the hardware and table CRC32C agree on any input.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-error.h"
#include "pool-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(void)
{
    const char *msg = pool_error_last_message();

    if (pool_error_last_code() != POOL_ERR_INVALID_ARG)
        abort();
    for (const char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    uint64_t v = 0x5a5a5a5a;
    char buf[32];

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    pool_error_reset();
    if (pool_parse_size(text, "size", &v) == 0) {
        uint64_t again = 0;

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        if (pool_parse_size(buf, "size", &again) != 0 || again != v)
            abort();
        if (strlen(pool_format_size(v, buf, sizeof(buf))) == 0)
            abort();
    } else {
        if (v != 0x5a5a5a5a)
            abort();
        check_message();
    }

    v = 0x5a5a5a5a;
    if (pool_parse_uint(text, "n", 1, 2000, &v) == 0) {
        if (v < 1 || v > 2000)
            abort();
    } else {
        check_message();
    }

    if (pool_name_validate(POOL_NAME_VOLUME, text) == 0) {
        if (pool_name_validate(POOL_NAME_POOL, text) != 0 || strlen(text) > 64 || strchr(text, '/'))
            abort();
    } else {
        check_message();
    }

    if (pool_crc32c(0, data, size) != pool_crc32c_portable(0, data, size))
        abort();

    free(text);
    return 0;
}
