/*
 * cmd_target.c: poolctl target info | acl add | acl remove | chap set |
 * chap clear — access control of a pool's iSCSI target. Changes apply to
 * new logins at once; sessions already logged in stay.
 *
 * CHAP secrets are given as files (--secret-file, --mutual-secret-file):
 * poolctl reads them and sends the content over the control socket, so a
 * secret never appears in a command line, a process list or shell history,
 * and is never printed back.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "poolctl.h"

static int print_target(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_target(out, reply);
}

static const cliArg info_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {0},
};
static const cliArg acl_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_POSITIONAL, "INITIATOR", "initiator", CLI_CHECK_ISCSI_NAME,
     "initiator name: iqn.YYYY-MM.reversed.domain[:id], eui.<16 hex> or naa.<16|32 hex>"},
    {0},
};
static const cliArg chap_set_args[] = {
    {CLI_POSITIONAL, "POOL", "pool", CLI_CHECK_POOL_NAME, "pool name"},
    {CLI_OPTION_REQUIRED, "user", "user", CLI_CHECK_CHAP_USER, "CHAP name initiators log in with"},
    {CLI_OPTION_REQUIRED, "secret-file", "secret", CLI_CHECK_SECRET_FILE,
     "file holding the initiators' CHAP secret (12..255 printable characters)"},
    {CLI_OPTION, "mutual-user", "mutual-user", CLI_CHECK_CHAP_USER,
     "mutual CHAP: the name the target answers with"},
    {CLI_OPTION, "mutual-secret-file", "mutual-secret", CLI_CHECK_SECRET_FILE,
     "mutual CHAP: file holding the target's secret (must differ from the other)"},
    {0},
};

const cliCommand cli_target_commands[] = {
    {"target", "info", "target-info", "show a pool's target: IQN, portals, ACL, CHAP mode",
     info_args, print_target},
    {"target", "acl add", "target-acl-add", "allow an initiator (the ACL is off while empty)",
     acl_args, print_target},
    {"target", "acl remove", "target-acl-remove", "take an initiator off the ACL", acl_args,
     print_target},
    {"target", "chap set", "target-chap-set", "require CHAP (one-way, or mutual)", chap_set_args,
     print_target},
    {"target", "chap clear", "target-chap-clear", "stop requiring CHAP", info_args, print_target},
    {0},
};
