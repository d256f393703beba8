/*
 * cmd_vm.c: poolctl vm define | undefine | list | show | start | stop — a
 * pool's VMs, kept
 * in the pool's metadata store so every host can read them — and poolctl
 * pool set-store, which names that store.
 *
 * `vm define POOL FILE.xml`: poolctl reads the domain XML (up to 1 MiB)
 * and sends its content; poold checks it (libvirt's schema and ours) and
 * records it. See poolctl(8).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "pool-util.h"
#include "poolctl.h"

static json_object *str_or_null(const char *s)
{
    return s && *s ? json_object_new_string(s) : NULL;
}

static int print_vm(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "no VM information");
    xmlChar *dom = NULL;
    for (xmlNodePtr c = r->children; c; c = c->next)
        if (cli_is_elem(c, "domain-xml") && !dom)
            dom = xmlNodeGetContent(c);
    int ret;
    if (out->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "pool", json_object_new_string(cli_attr(r, "pool", 0)));
        json_object_object_add(o, "name", json_object_new_string(cli_attr(r, "name", 1)));
        json_object_object_add(o, "uuid", json_object_new_string(cli_attr(r, "uuid", 2)));
        json_object_object_add(o, "generation",
                               json_object_new_int64(cli_attr_num(r, "generation")));
        json_object_object_add(o, "owner", str_or_null(cli_attr(r, "owner", 3)));
        json_object_object_add(o, "owner_host_id",
                               json_object_new_int64(cli_attr_num(r, "owner-host-id")));
        json_object_object_add(o, "modified", json_object_new_int64(cli_attr_num(r, "modified")));
        json_object_object_add(o, "modified_by", str_or_null(cli_attr(r, "modified-by", 4)));
        json_object *a = json_object_new_array();
        for (xmlNodePtr c = r->children; c; c = c->next) {
            if (!cli_is_elem(c, "disk"))
                continue;
            json_object *d = json_object_new_object();
            json_object_object_add(d, "pool", json_object_new_string(cli_attr(c, "pool", 5)));
            json_object_object_add(d, "volume", json_object_new_string(cli_attr(c, "volume", 6)));
            json_object_array_add(a, d);
        }
        json_object_object_add(o, "disks", a);
        json_object_object_add(o, "domain_xml", str_or_null((const char *)dom));
        ret = cli_print_json(o);
    } else {
        time_t t = (time_t)cli_attr_num(r, "modified");
        char when[64] = "";
        struct tm tm;
        if (t > 0 && gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        const char *owner = cli_attr(r, "owner", 3);
        printf("Name:        %s\n", cli_attr(r, "name", 1));
        printf("UUID:        %s\n", cli_attr(r, "uuid", 2));
        printf("Pool:        %s\n", cli_attr(r, "pool", 0));
        printf("Owner:       %s\n", *owner ? owner : "(none: not running)");
        printf("Generation:  %lld\n", cli_attr_num(r, "generation"));
        printf("Modified:    %s by %s\n", *when ? when : "?", cli_attr(r, "modified-by", 4));
        printf("Disks:      ");
        bool any = false;
        for (xmlNodePtr c = r->children; c; c = c->next)
            if (cli_is_elem(c, "disk")) {
                printf(" %s/%s", cli_attr(c, "pool", 5), cli_attr(c, "volume", 6));
                any = true;
            }
        printf("%s\n", any ? "" : " (none)");
        if (dom) {
            size_t l = strlen((const char *)dom);
            printf("Domain XML:\n%s%s", (const char *)dom, l && dom[l - 1] == '\n' ? "" : "\n");
        }
        ret = 0;
    }
    xmlFree(dom);
    return ret;
}

static int print_defined(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    if (out->json)
        return print_vm(out, reply, req);
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "VM defined");
    return cli_print_message(out, "VM %s defined in pool %s (uuid %s, generation %lld)",
                             cli_attr(r, "name", 1), cli_attr(r, "pool", 0), cli_attr(r, "uuid", 2),
                             cli_attr_num(r, "generation"));
}

static int print_undefined(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    return cli_print_message(out, "VM %s undefined from pool %s", pool_request_get(req, "name"),
                             pool_request_get(req, "pool"));
}

static int print_list(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (out->json) {
        json_object *a = json_object_new_array();
        for (xmlNodePtr c = r ? r->children : NULL; c; c = c->next) {
            if (!cli_is_elem(c, "vm"))
                continue;
            json_object *o = json_object_new_object();
            json_object_object_add(o, "name", json_object_new_string(cli_attr(c, "name", 1)));
            json_object_object_add(o, "uuid", json_object_new_string(cli_attr(c, "uuid", 2)));
            json_object_object_add(o, "owner", str_or_null(cli_attr(c, "owner", 3)));
            json_object_object_add(o, "generation",
                                   json_object_new_int64(cli_attr_num(c, "generation")));
            json_object_object_add(o, "disks", json_object_new_int64(cli_attr_num(c, "disks")));
            json_object_array_add(a, o);
        }
        return cli_print_json(a);
    }
    printf("%-32s %-24s %s\n", "NAME", "OWNER", "GENERATION");
    for (xmlNodePtr c = r ? r->children : NULL; c; c = c->next) {
        if (!cli_is_elem(c, "vm"))
            continue;
        const char *owner = cli_attr(c, "owner", 3);
        printf("%-32s %-24s %lld\n", cli_attr(c, "name", 1), *owner ? owner : "-",
               cli_attr_num(c, "generation"));
    }
    return 0;
}

static int print_store(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "metadata store set");
    if (out->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "pool", json_object_new_string(cli_attr(r, "pool", 0)));
        json_object_object_add(o, "url", json_object_new_string(cli_attr(r, "url", 1)));
        json_object_object_add(o, "timeout_ms",
                               json_object_new_int64(cli_attr_num(r, "timeout-ms")));
        return cli_print_json(o);
    }
    return cli_print_message(out, "Pool %s: metadata store %s (timeout %lld ms)",
                             cli_attr(r, "pool", 0), cli_attr(r, "url", 1),
                             cli_attr_num(r, "timeout-ms"));
}

static int print_started(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    if (out->json)
        return print_vm(out, reply, req);
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "VM started");
    return cli_print_message(out, "VM %s started on %s (generation %lld)", cli_attr(r, "name", 1),
                             cli_attr(r, "owner", 3), cli_attr_num(r, "generation"));
}

static int print_stopped(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    if (out->json)
        return print_vm(out, reply, req);
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "VM stopped");
    return cli_print_message(out, "VM %s stopped (generation %lld)", cli_attr(r, "name", 1),
                             cli_attr_num(r, "generation"));
}

#define VM_STOP_TIMEOUT_DEFAULT 60

/* vm stop: while the guest shuts down poold answers state="stopping";
 * ask again (without another ACPI request) until it has stopped or
 * --wait seconds have passed since the first answer. */
static int stop_again(xmlNodePtr reply, const poolRequest *req, poolRequest **next)
{
    static double started; /* 0: no answer yet */
    xmlNodePtr r = cli_reply_result(reply);
    if (!r || strcmp(cli_attr(r, "state", 7), "stopping") != 0)
        return 0;
    double now = pool_monotonic_seconds();
    if (!started)
        started = now;
    const char *t = pool_request_get(req, "wait");
    long limit = t ? strtol(t, NULL, 10) : VM_STOP_TIMEOUT_DEFAULT;
    double waited = now - started;
    if (waited >= (double)limit) {
        pool_error(POOL_ERR_TIMEOUT,
                   "VM %s did not shut down within %ld s (a guest may ignore the ACPI request); "
                   "it still runs: poolctl vm stop --force %s %s ends it at once",
                   pool_request_get(req, "name"), limit, pool_request_get(req, "pool"),
                   pool_request_get(req, "name"));
        return -1;
    }
    poolRequest *n = pool_request_new("vm-stop");
    if (!n || pool_request_add(n, "pool", pool_request_get(req, "pool")) < 0 ||
        pool_request_add(n, "name", pool_request_get(req, "name")) < 0 ||
        pool_request_add(n, "shutdown", "no") < 0 || (t && pool_request_add(n, "wait", t) < 0)) {
        pool_request_free(n);
        return -1;
    }
    *next = n;
    return 1;
}

const cliPrinterEntry cli_vm_printers[] = {
    {"pool-set-store", print_store},
    {"vm-define", print_defined},
    {"vm-undefine", print_undefined},
    {"vm-list", print_list},
    {"vm-show", print_vm},
    {"vm-start", print_started},
    {"vm-stop", print_stopped, stop_again},
    {0},
};
