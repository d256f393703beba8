/*
 * cmd_pool.c: poolctl pool create|import|destroy|list|info.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "poolctl.h"

static int print_pool(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_pools(out, reply, false);
}

static int print_pool_list(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_pools(out, reply, true);
}

static int print_destroyed(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "Pool %s destroyed", pool_request_get(req, "name"));
}

const cliPrinterEntry cli_pool_printers[] = {
    {"pool-create", print_pool},    {"pool-import", print_pool}, {"pool-destroy", print_destroyed},
    {"pool-list", print_pool_list}, {"pool-info", print_pool},   {0},
};
