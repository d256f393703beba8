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

static const cliArg create_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_VOLUME_NAME, "volume name"},
    {CLI_POSITIONAL, "SIZE", "size", CLI_CHECK_SIZE,
     "size: a number with unit K, M, G, T or P (binary; KiB/GB spellings too; no unit = bytes), "
     "rounded up to whole extents"},
    {0},
};
static const cliArg resize_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_VOLUME_NAME, "volume name"},
    {CLI_POSITIONAL, "SIZE", "size", CLI_CHECK_SIZE, "new size (absolute)"},
    {CLI_FLAG, "allow-shrink", "allow-shrink", CLI_CHECK_NONE,
     "allow a smaller size (destroys data beyond the new end)"},
    {0},
};
static const cliArg vol_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_VOLUME_NAME, "volume name"},
    {0},
};
static const cliArg export_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_VOLUME_NAME, "volume name"},
    {CLI_OPTION, "mode", "mode", CLI_CHECK_NONE,
     "rw (default: writes only from the host holding the volume's lease), ro, or shared "
     "(writes from every host)"},
    {0},
};
static const cliArg list_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {0},
};

const cliCommand cli_volume_commands[] = {
    {"volume", "create", "volume-create", "create a volume", create_args, print_vol},
    {"volume", "resize", "volume-resize", "grow (or, with --allow-shrink, shrink) a volume",
     resize_args, print_vol},
    {"volume", "delete", "volume-delete", "delete a volume and its data", vol_args, print_deleted},
    {"volume", "list", "volume-list", "list a pool's volumes", list_args, print_vol_list},
    {"volume", "info", "volume-info", "show a volume, its lease slot and segment map", vol_args,
     print_vol},
    {"volume", "export", "volume-export",
     "offer a volume to initiators (again), or change how its LUN takes writes", export_args,
     print_vol},
    {"volume", "unexport", "volume-unexport",
     "take a volume's LUN away from initiators (data kept)", vol_args, print_vol},
    {0},
};
