/*
 * cmd_snapshot.c: poolctl snapshot create|list|info|revert|delete. The
 * reply is <result type="snapshots"> with one <snapshot/> per snapshot, in
 * tree order (handlers_snapshot.c); the list draws the tree by depth.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "pool-util.h"
#include "poolctl.h"

static json_object *snap_json(xmlNodePtr x)
{
    json_object *o = json_object_new_object();
    static const char *const strs[] = {"name", "layer", "lv", "format", "state"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        json_object_object_add(o, strs[i], json_object_new_string(cli_attr(x, strs[i], 0)));
    const char *parent = cli_attr(x, "parent", 0);
    json_object_object_add(o, "parent", *parent ? json_object_new_string(parent) : NULL);
    static const char *const nums[] = {"created", "capacity", "allocation",
                                       "lun",     "depth",    "children"};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        json_object_object_add(o, nums[i], json_object_new_int64(cli_attr_num(x, nums[i])));
    json_object_object_add(o, "current",
                           json_object_new_boolean(strcmp(cli_attr(x, "current", 0), "yes") == 0));
    return o;
}

static void when(long long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    snprintf(buf, len, "?");
    if (localtime_r(&tt, &tm))
        strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int print_snaps(const cliOutput *out, xmlNodePtr reply, bool list)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "no snapshot information");
    json_object *arr = out->json ? json_object_new_array() : NULL;
    size_t n = 0;
    if (list && !out->json)
        printf("%-32s %-19s %-12s %-12s %-5s %s\n", "NAME", "CREATED", "ALLOCATION", "CAPACITY",
               "LUN", "STATE");
    for (xmlNodePtr x = r->children; x; x = x->next) {
        if (!cli_is_elem(x, "snapshot"))
            continue;
        n++;
        if (arr) {
            json_object_array_add(arr, snap_json(x));
            continue;
        }
        char t[32], a[32], c[32];
        when(cli_attr_num(x, "created"), t, sizeof(t));
        pool_format_size((uint64_t)cli_attr_num(x, "allocation"), a, sizeof(a));
        pool_format_size((uint64_t)cli_attr_num(x, "capacity"), c, sizeof(c));
        bool cur = strcmp(cli_attr(x, "current", 0), "yes") == 0;
        if (list) {
            char name[96];
            long long depth = cli_attr_num(x, "depth");
            int ind = (int)(depth > 20 ? 20 : depth) * 2;
            snprintf(name, sizeof(name), "%*s%s%s%s", ind, "", depth ? "└ " : "",
                     cli_attr(x, "name", 0), cur ? " *" : "");
            /* "└" takes three bytes and one column */
            printf("%-*s %-19s %-12s %-12s %-5lld %s\n", depth ? 34 : 32, name, t, a, c,
                   cli_attr_num(x, "lun"), cli_attr(x, "state", 0));
        } else {
            const char *parent = cli_attr(x, "parent", 1);
            printf("Name:          %s\n", cli_attr(x, "name", 0));
            printf("Volume:        %s\n", cli_attr(r, "volume", 0));
            printf("Created:       %s\n", t);
            printf("Layer:         %s (LV %s)\n", cli_attr(x, "layer", 0), cli_attr(x, "lv", 2));
            printf("Format:        %s\n", cli_attr(x, "format", 0));
            printf("Capacity:      %s\n", c);
            printf("Allocation:    %s\n", a);
            printf("LUN:           %lld (read-only)\n", cli_attr_num(x, "lun"));
            printf("Parent:        %s\n", *parent ? parent : "-");
            printf("Based on it:   %lld%s\n", cli_attr_num(x, "children"),
                   cur ? " (the volume's current data among them)" : "");
            printf("State:         %s\n", cli_attr(x, "state", 0));
        }
    }
    if (arr)
        return cli_print_json(arr);
    if (list && !n)
        printf("(no snapshots)\n");
    else if (list)
        printf("* = the volume's current data is based on it\n");
    return 0;
}

static int print_list(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return print_snaps(out, reply, true);
}

static int print_one(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return print_snaps(out, reply, false);
}

static int print_reverted(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "Volume %s of pool %s reverted to snapshot %s",
                             pool_request_get(req, "volume"), pool_request_get(req, "pool"),
                             pool_request_get(req, "name"));
}

static int print_deleted(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    /* a merge is a job: how it ended (req is the last job-wait then) */
    if (cli_reply_result(reply))
        return cli_job_print_final(out, reply, req);
    return cli_print_message(out, "Snapshot %s of volume %s deleted", pool_request_get(req, "name"),
                             pool_request_get(req, "volume"));
}

const cliPrinterEntry cli_snapshot_printers[] = {
    {"snapshot-create", print_one},
    {"snapshot-list", print_list},
    {"snapshot-info", print_one},
    {"snapshot-revert", print_reverted},
    {"snapshot-delete", print_deleted, cli_job_wait_again},
    {0},
};
