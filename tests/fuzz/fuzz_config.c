// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_config.c: libFuzzer target for the poold.conf parser.
 *
 * The config parser reads a file an administrator (or a configuration
 * management tool) wrote; it must reject anything malformed with a message
 * and never crash. Accepted input must also survive the --check-config path:
 * the formatted effective config parses again to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool-config.h"
#include "pool-error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();
    POOL_AUTOPTR(poolConfig) again = pool_config_new_default();
    POOL_AUTOFREE(char *) text = NULL;
    POOL_AUTOFREE(char *) text2 = NULL;

    if (!cfg || !again)
        return 0;
    pool_error_reset();
    if (pool_config_parse(cfg, (const char *)data, size, "fuzz") < 0) {
        const char *msg = pool_error_last_message();

        if (pool_error_last_code() != POOL_ERR_CONFIG || strncmp(msg, "fuzz:", 5) != 0)
            abort();
        return 0;
    }
    text = pool_config_format(cfg);
    if (!text)
        abort();
    if (pool_config_parse(again, text, strlen(text), "formatted") < 0)
        abort();
    text2 = pool_config_format(again);
    if (!text2 || strcmp(text, text2) != 0)
        abort();
    return 0;
}
