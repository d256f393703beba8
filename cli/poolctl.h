/*
 * poolctl.h: what poolctl's parts share. The commands come from the
 * catalogue of operations (pool_catalogue, pool-proto.h): main.c parses argv
 * against it, builds the request, sends it and hands the reply to the op's
 * printer. Each command family (pool, volume, daemon, ...) has its printers
 * in its own file (cmd_*.c), with a table from op name to printer.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLCTL_H
#define POOLCTL_H

#include <stdbool.h>
#include <libxml/tree.h>

#include "pool-proto.h"

/* vm define FILE: the largest domain XML poolctl reads and sends. */
#define CLI_XML_FILE_MAX (1024 * 1024)

typedef struct {
    bool json;
} cliOutput;

typedef int (*cliPrinter)(const cliOutput *out, xmlNodePtr reply, const poolRequest *req);

/* A command that waits on something poold only reports (vm stop: the
 * guest shutting down) asks again: 1 with *next, the request to send after
 * CLI_AGAIN_MS; 0 when the reply is final (printed); -1 with a pool_error. */
typedef int (*cliAgain)(xmlNodePtr reply, const poolRequest *req, poolRequest **next);
#define CLI_AGAIN_MS 250

/* What poolctl does with an op's reply. The command itself (its words,
 * arguments, checks and help) is the op's entry in the catalogue
 * (pool_catalogue, pool-proto.h); main.c checks at start that the printer
 * tables cover its poolctl commands exactly once. */
typedef struct {
    const char *op; /* protocol op: "pool-create" */
    cliPrinter print;
    cliAgain again; /* NULL: one request */
} cliPrinterEntry;

extern const cliPrinterEntry cli_pool_printers[];
extern const cliPrinterEntry cli_volume_printers[];
extern const cliPrinterEntry cli_daemon_printers[];
extern const cliPrinterEntry cli_target_printers[];
extern const cliPrinterEntry cli_host_printers[];
extern const cliPrinterEntry cli_lease_printers[];
extern const cliPrinterEntry cli_vm_printers[];  /* cmd_vm.c: vm ..., pool set-store */
extern const cliPrinterEntry cli_job_printers[]; /* cmd_job.c: volume clone, job ... */
/* A job's reply: follow it while it runs (job-wait again), print how it
 * ended (cmd_job.c; a snapshot delete that merges is a job too). */
int cli_job_wait_again(xmlNodePtr reply, const poolRequest *req, poolRequest **next);
int cli_job_print_final(const cliOutput *out, xmlNodePtr reply, const poolRequest *req);
extern const cliPrinterEntry cli_snapshot_printers[]; /* cmd_snapshot.c */
/* The output options of this run, for what prints between two answers
 * (cliAgain: a job's progress). */
extern const cliOutput *cli_output;

/* output.c */
int cli_print_pools(const cliOutput *out, xmlNodePtr reply, bool list);
int cli_print_volumes(const cliOutput *out, xmlNodePtr reply, bool list);
int cli_print_target(const cliOutput *out, xmlNodePtr reply);
/* Reading replies: the first <result> child of the reply (NULL if none);
 * is n the element `name`; an attribute's value ("" when absent), valid
 * until the next call with the same slot (0..CLI_ATTR_SLOTS-2); an
 * attribute as a number (0 when absent, own slot). */
#define CLI_ATTR_SLOTS 8
xmlNodePtr cli_reply_result(xmlNodePtr reply);
bool cli_is_elem(xmlNodePtr n, const char *name);
const char *cli_attr(xmlNodePtr n, const char *name, int slot);
long long cli_attr_num(xmlNodePtr n, const char *name);
/* Print and release a JSON value (pretty, newline-terminated). */
struct json_object;
int cli_print_json(struct json_object *obj);
/* Human mode: the text. JSON mode: {"message": text}. */
int cli_print_message(const cliOutput *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
