/*
 * cmd_daemon.c: poolctl daemon version|stop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "poolctl.h"

static int print_version(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    for (xmlNodePtr n = reply->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "result") != 0)
            continue;
        xmlChar *v = xmlGetProp(n, BAD_CAST "version");
        xmlChar *pid = xmlGetProp(n, BAD_CAST "pid");
        int r;
        if (out->json) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "version", json_object_new_string(v ? (char *)v : ""));
            json_object_object_add(o, "pid", json_object_new_int64(pid ? atoll((char *)pid) : 0));
            r = cli_print_json(o);
        } else {
            r = cli_print_message(out, "poold %s (pid %s)", v ? (char *)v : "?",
                                  pid ? (char *)pid : "?");
        }
        xmlFree(v);
        xmlFree(pid);
        return r;
    }
    return cli_print_message(out, "poold (version unknown)");
}

static int print_stopped(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "poold is shutting down");
}

const cliPrinterEntry cli_daemon_printers[] = {
    {"daemon-version", print_version},
    {"daemon-shutdown", print_stopped},
    {0},
};
