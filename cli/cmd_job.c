/*
 * cmd_job.c: poolctl volume clone and job list | info | wait | cancel.
 *
 * volume clone and job wait follow the job until it ends: poolctl asks
 * poold with job-wait (which answers within a second) again and again,
 * and shows the progress: on a terminal one line redrawn with \r; else a
 * line "clone a -> b: 42%" every 5 percent or 10 seconds; with --json one
 * object per answer and a final one. A job that failed or was cancelled
 * makes poolctl exit with its error's status.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "pool-error.h"
#include "pool-util.h"
#include "poolctl.h"

static json_object *job_json(xmlNodePtr r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(cli_attr_num(r, "id")));
    json_object_object_add(o, "kind", json_object_new_string(cli_attr(r, "kind", 0)));
    json_object_object_add(o, "pool", json_object_new_string(cli_attr(r, "pool", 1)));
    json_object_object_add(o, "volume", json_object_new_string(cli_attr(r, "volume", 2)));
    const char *src = cli_attr(r, "source", 3);
    json_object_object_add(o, "source", *src ? json_object_new_string(src) : NULL);
    json_object_object_add(o, "state", json_object_new_string(cli_attr(r, "state", 4)));
    json_object_object_add(o, "done", json_object_new_int64(cli_attr_num(r, "done")));
    json_object_object_add(o, "total", json_object_new_int64(cli_attr_num(r, "total")));
    json_object_object_add(o, "started", json_object_new_int64(cli_attr_num(r, "started")));
    long long ended = cli_attr_num(r, "ended");
    json_object_object_add(o, "ended", ended ? json_object_new_int64(ended) : NULL);
    const char *err = cli_attr(r, "error", 5);
    json_object_object_add(o, "error", *err ? json_object_new_string(err) : NULL);
    const char *code = cli_attr(r, "code", 6);
    json_object_object_add(o, "code", *code ? json_object_new_string(code) : NULL);
    return o;
}

static int percent(xmlNodePtr r)
{
    long long done = cli_attr_num(r, "done"), total = cli_attr_num(r, "total");
    return total > 0 ? (int)(done * 100 / total) : 0;
}

/* "clone a -> b" */
static void job_title(xmlNodePtr r, char *buf, size_t size)
{
    const char *src = cli_attr(r, "source", 3);
    if (*src)
        snprintf(buf, size, "%s %s -> %s", cli_attr(r, "kind", 0), src, cli_attr(r, "volume", 2));
    else
        snprintf(buf, size, "%s %s", cli_attr(r, "kind", 0), cli_attr(r, "volume", 2));
}

/* Printed between two answers of a job still running. */
static bool bar_drawn;
static void show_progress(xmlNodePtr r)
{
    static int last_pct = -1;
    static double last_t;
    int pct = percent(r);
    if (cli_output && cli_output->json) {
        json_object *o = job_json(r);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else if (isatty(STDOUT_FILENO)) {
        char title[300], bar[41];
        job_title(r, title, sizeof(title));
        int fill = pct * 40 / 100;
        for (int i = 0; i < 40; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[40] = '\0';
        printf("\r%s [%s] %3d%%", title, bar, pct);
        bar_drawn = true;
    } else {
        double now = pool_monotonic_seconds();
        if (last_pct < 0 || pct >= last_pct + 5 || now - last_t >= 10) {
            char title[300];
            job_title(r, title, sizeof(title));
            printf("%s: %d%%\n", title, pct);
            last_pct = pct;
            last_t = now;
        }
    }
    fflush(stdout);
}

/* Ask again while the job runs (volume clone without --no-wait, job wait). */
int cli_job_wait_again(xmlNodePtr reply, const poolRequest *req, poolRequest **next)
{
    static double started;
    xmlNodePtr r = cli_reply_result(reply);
    if (!r || !cli_is_elem(r, "result") || strcmp(cli_attr(r, "state", 4), "running") != 0)
        return 0;
    if (strcmp(req->op, "volume-clone") == 0) {
        bool no_wait = false;
        if (pool_request_get_bool(req, "no-wait", false, &no_wait) < 0)
            return -1;
        if (no_wait)
            return 0;
    }
    double now = pool_monotonic_seconds();
    if (!started)
        started = now;
    const char *limit = pool_request_get(req, "wait");
    if (limit && now - started >= strtod(limit, NULL)) {
        if (bar_drawn)
            printf("\n");
        pool_error(POOL_ERR_TIMEOUT, "job %lld is still running after %s s (%d%% done)",
                   cli_attr_num(r, "id"), limit, percent(r));
        return -1;
    }
    show_progress(r);
    char id[32];
    snprintf(id, sizeof(id), "%lld", cli_attr_num(r, "id"));
    poolRequest *n = pool_request_new("job-wait");
    if (!n || pool_request_add(n, "id", id) < 0 ||
        (limit && pool_request_add(n, "wait", limit) < 0)) {
        pool_request_free(n);
        return -1;
    }
    *next = n;
    return 1;
}

/* The job as it ended (or, volume clone --no-wait, as it started). */
int cli_job_print_final(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    bool linked = false;
    if (strcmp(req->op, "volume-clone") == 0 &&
        pool_request_get_bool(req, "linked", false, &linked) == 0 && linked)
        return cli_print_volumes(out, reply, false); /* no job: the new volume */
    xmlNodePtr r = cli_reply_result(reply);
    if (bar_drawn) {
        show_progress(r); /* the bar at its last value */
        printf("\n");
    }
    if (!r)
        return cli_print_message(out, "no job information");
    const char *state = cli_attr(r, "state", 4);
    char title[300];
    job_title(r, title, sizeof(title));
    if (out->json) {
        /* one object a line, like the progress objects before it */
        json_object *o = job_json(r);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else if (strcmp(state, "running") == 0)
        printf("Job %lld started: %s (poolctl job wait %lld)\n", cli_attr_num(r, "id"), title,
               cli_attr_num(r, "id"));
    else if (strcmp(state, "done") == 0)
        printf("Job %lld done: %s, %lld MiB in %lld s\n", cli_attr_num(r, "id"), title,
               cli_attr_num(r, "total") >> 20,
               cli_attr_num(r, "ended") - cli_attr_num(r, "started"));
    if (strcmp(state, "failed") == 0 || strcmp(state, "cancelled") == 0) {
        int code = pool_error_code_from_name(cli_attr(r, "code", 6));
        pool_error(code > 0 ? (poolErrorCode)code : POOL_ERR_INTERNAL, "job %lld (%s) %s: %s",
                   cli_attr_num(r, "id"), title, state, cli_attr(r, "error", 5));
        return -1;
    }
    return 0;
}

static int print_info(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (!r)
        return cli_print_message(out, "no job information");
    if (out->json)
        return cli_print_json(job_json(r));
    char title[300];
    job_title(r, title, sizeof(title));
    printf("Job:       %lld\n", cli_attr_num(r, "id"));
    printf("Operation: %s\n", title);
    printf("Pool:      %s\n", cli_attr(r, "pool", 1));
    printf("State:     %s\n", cli_attr(r, "state", 4));
    printf("Progress:  %d%% (%lld of %lld MiB)\n", percent(r), cli_attr_num(r, "done") >> 20,
           cli_attr_num(r, "total") >> 20);
    const char *err = cli_attr(r, "error", 5);
    if (*err)
        printf("Error:     %s\n", err);
    return 0;
}

static int print_list(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    if (out->json) {
        json_object *a = json_object_new_array();
        for (xmlNodePtr c = reply ? reply->children : NULL; c; c = c->next)
            if (cli_is_elem(c, "result"))
                json_object_array_add(a, job_json(c));
        return cli_print_json(a);
    }
    printf("%-6s %-10s %-16s %-32s %-10s %s\n", "ID", "KIND", "POOL", "VOLUME", "STATE",
           "PROGRESS");
    for (xmlNodePtr c = reply ? reply->children : NULL; c; c = c->next) {
        if (!cli_is_elem(c, "result"))
            continue;
        printf("%-6lld %-10s %-16s %-32s %-10s %d%%\n", cli_attr_num(c, "id"),
               cli_attr(c, "kind", 0), cli_attr(c, "pool", 1), cli_attr(c, "volume", 2),
               cli_attr(c, "state", 4), percent(c));
    }
    return 0;
}

static int print_cancel(const cliOutput *out, xmlNodePtr reply, const poolRequest *req)
{
    xmlNodePtr r = cli_reply_result(reply);
    if (out->json)
        return r ? cli_print_json(job_json(r)) : 0;
    if (r && strcmp(cli_attr(r, "state", 4), "running") != 0)
        return cli_print_message(out, "Job %lld had already ended (%s)", cli_attr_num(r, "id"),
                                 cli_attr(r, "state", 4));
    return cli_print_message(out,
                             "Job %s: cancel requested (poolctl job wait %s shows when it has "
                             "undone its work)",
                             pool_request_get(req, "id"), pool_request_get(req, "id"));
}

const cliPrinterEntry cli_job_printers[] = {
    {"volume-clone", cli_job_print_final, cli_job_wait_again},
    {"job-list", print_list},
    {"job-info", print_info},
    {"job-wait", cli_job_print_final, cli_job_wait_again},
    {"job-cancel", print_cancel},
    {0},
};
