/*
 * cmd_volume.c: poolctl volume create|resize|delete|list|info|export|unexport.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "poolctl.h"

static int print_vol(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_volumes(out, reply, false);
}

static int print_vol_list(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_volumes(out, reply, true);
}

static int print_deleted(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "Volume %s deleted from pool %s", pool_request_get(req, "name"),
                             pool_request_get(req, "pool"));
}

const cliPrinterEntry cli_volume_printers[] = {
    {"volume-create", print_vol},     {"volume-resize", print_vol},
    {"volume-delete", print_deleted}, {"volume-list", print_vol_list},
    {"volume-info", print_vol},       {"volume-export", print_vol},
    {"volume-unexport", print_vol},   {0},
};
