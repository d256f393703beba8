/*
 * cmd_host.c: poolctl host join | leave | list — a host's membership in a
 * sanlock pool's lockspace, and every host's liveness as sanlock sees it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "poolctl.h"

static bool yes(xmlNodePtr n, const char *name)
{
    return strcmp(cli_attr(n, name, 6), "yes") == 0;
}

static int print_joined(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "This host joined pool %s as host id %s",
                             pool_request_get(req, "pool"), pool_request_get(req, "host-id"));
}

static int print_left(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "This host left pool %s", pool_request_get(req, "pool"));
}

static int print_hosts(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "no host information");
    if (out->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "pool", json_object_new_string(cli_attr(r, "pool", 0)));
        json_object_object_add(o, "io_timeout",
                               json_object_new_int64(cli_attr_num(r, "io-timeout")));
        json_object_object_add(o, "renewal_seconds",
                               json_object_new_int64(cli_attr_num(r, "renewal-seconds")));
        json_object_object_add(o, "fail_seconds",
                               json_object_new_int64(cli_attr_num(r, "fail-seconds")));
        json_object_object_add(o, "dead_seconds",
                               json_object_new_int64(cli_attr_num(r, "dead-seconds")));
        json_object_object_add(o, "this_host_id",
                               json_object_new_int64(cli_attr_num(r, "this-host-id")));
        json_object_object_add(o, "joined", json_object_new_boolean(yes(r, "joined")));
        json_object *a = json_object_new_array();
        for (xmlNodePtr h = r->children; h; h = h->next) {
            if (h->type != XML_ELEMENT_NODE)
                continue;
            json_object *e = json_object_new_object();
            json_object_object_add(e, "host_id", json_object_new_int64(cli_attr_num(h, "id")));
            const char *name = cli_attr(h, "name", 1);
            json_object_object_add(e, "name", *name ? json_object_new_string(name) : NULL);
            json_object_object_add(e, "state", json_object_new_string(cli_attr(h, "state", 2)));
            json_object_object_add(e, "generation",
                                   json_object_new_int64(cli_attr_num(h, "generation")));
            json_object_object_add(e, "timestamp",
                                   json_object_new_int64(cli_attr_num(h, "timestamp")));
            json_object_object_add(e, "io_timeout",
                                   json_object_new_int64(cli_attr_num(h, "io-timeout")));
            json_object_object_add(e, "this_host", json_object_new_boolean(yes(h, "this-host")));
            json_object_array_add(a, e);
        }
        json_object_object_add(o, "hosts", a);
        return cli_print_json(o);
    }
    printf("Pool %s: io_timeout %lld s (renewal every %lld s; a silent host is 'fail' after "
           "%lld s, 'dead' after %lld s)\n",
           cli_attr(r, "pool", 0), cli_attr_num(r, "io-timeout"),
           cli_attr_num(r, "renewal-seconds"), cli_attr_num(r, "fail-seconds"),
           cli_attr_num(r, "dead-seconds"));
    if (!yes(r, "joined"))
        printf("This host is not in the lockspace%s: states are unknown.\n",
               cli_attr_num(r, "this-host-id") ? " yet (still joining)" : "");
    printf("%-8s %-24s %-8s %-11s %s\n", "HOST-ID", "NAME", "STATE", "GENERATION", "RENEWED-AT");
    for (xmlNodePtr h = r->children; h; h = h->next) {
        if (h->type != XML_ELEMENT_NODE)
            continue;
        const char *name = cli_attr(h, "name", 1);
        printf("%-8lld %-24s %-8s %-11lld %lld%s\n", cli_attr_num(h, "id"),
               *name ? name : "(untagged)", cli_attr(h, "state", 2), cli_attr_num(h, "generation"),
               cli_attr_num(h, "timestamp"), yes(h, "this-host") ? "  (this host)" : "");
    }
    return 0;
}

const cliPrinterEntry cli_host_printers[] = {
    {"host-join", print_joined},
    {"host-leave", print_left},
    {"host-list", print_hosts},
    {0},
};
