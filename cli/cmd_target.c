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

const cliPrinterEntry cli_target_printers[] = {
    {"target-info", print_target},       {"target-acl-add", print_target},
    {"target-acl-remove", print_target}, {"target-chap-set", print_target},
    {"target-chap-clear", print_target}, {0},
};
