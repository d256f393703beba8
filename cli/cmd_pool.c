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

static const cliArg create_args[] = {
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_POOL_NAME, "pool name (also the VG name)"},
    {CLI_POSITIONAL_MULTI, "DEVICE", "device", CLI_CHECK_PATH, "block devices to use as PVs"},
    {CLI_OPTION, "extent-size", "extent-size", CLI_CHECK_SIZE,
     "LVM extent size, a power of two multiple of 1M (default 4M)"},
    {CLI_OPTION, "host-ids", "host-ids", CLI_CHECK_UINT,
     "number of host ids in the lockspace, 1..2000 (default 2000)"},
    {CLI_OPTION, "lease-slots", "lease-slots", CLI_CHECK_UINT,
     "number of 1 MiB volume lease slots (default 2000)"},
    {CLI_OPTION, "locking", "locking", CLI_CHECK_NONE,
     "sanlock (several hosts; the default unless poold.conf says otherwise) or none (one host)"},
    {CLI_OPTION, "io-timeout", "io-timeout", CLI_CHECK_UINT,
     "sanlock io_timeout in seconds, 1..300 (default 10): a host is dead ~8x this + 60 s "
     "after it stops renewing"},
    {CLI_OPTION, "host-id", "host-id", CLI_CHECK_HOST_ID,
     "join the new pool's lockspace right away with this host id"},
    {CLI_FLAG, "force", "force", CLI_CHECK_NONE, "overwrite devices that hold data"},
    {0},
};
static const cliArg import_args[] = {
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_POSITIONAL_MULTI, "DEVICE", "device", CLI_CHECK_PATH, "all of the pool's PVs"},
    {CLI_OPTION, "host-id", "host-id", CLI_CHECK_HOST_ID,
     "join the pool's lockspace right away with this host id"},
    {0},
};
static const cliArg destroy_args[] = {
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_FLAG, "force", "force", CLI_CHECK_NONE, "destroy even if volumes exist (deletes them)"},
    {0},
};
static const cliArg name_args[] = {
    {CLI_POSITIONAL, "NAME", "name", CLI_CHECK_POOL_NAME, "pool name"},
    {0},
};
static const cliArg no_args[] = {{0}};

const cliCommand cli_pool_commands[] = {
    {"pool", "create", "pool-create", "create a pool on block devices", create_args, print_pool},
    {"pool", "import", "pool-import", "adopt an existing pool's volume group on this host",
     import_args, print_pool},
    {"pool", "destroy", "pool-destroy", "destroy a pool and release its devices", destroy_args,
     print_destroyed},
    {"pool", "list", "pool-list", "list the pools of this host", no_args, print_pool_list},
    {"pool", "info", "pool-info", "show a pool's definition, usage and layout", name_args,
     print_pool},
    {0},
};
