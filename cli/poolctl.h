/*
 * poolctl.h: the command table. Each command family (pool, volume, daemon)
 * lives in its own file and contributes a table of commands; main.c parses
 * argv against the tables, builds the request, sends it and hands the reply
 * to the command's printer.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLCTL_H
#define POOLCTL_H

#include <stdbool.h>
#include <libxml/tree.h>

#include "pool-proto.h"

typedef enum {
    CLI_POSITIONAL,       /* required positional */
    CLI_POSITIONAL_MULTI, /* one or more, must be last */
    CLI_OPTION,           /* --name VALUE (or --name=VALUE) */
    CLI_FLAG,             /* --name, sent as "yes" */
    CLI_OPTION_REQUIRED,  /* --name VALUE that must be given */
} cliArgKind;

typedef enum {
    CLI_CHECK_NONE,
    CLI_CHECK_POOL_NAME,
    CLI_CHECK_VOLUME_NAME,
    CLI_CHECK_SIZE,
    CLI_CHECK_UINT,
    CLI_CHECK_SECONDS, /* a wait: 0 (try once) .. 600 */
    CLI_CHECK_HOST_ID, /* sanlock host id: 1..2000 */
    CLI_CHECK_PATH,
    CLI_CHECK_ISCSI_NAME,  /* iqn. / eui. / naa. name (RFC 3720 3.2.6) */
    CLI_CHECK_CHAP_USER,   /* CHAP user name */
    CLI_CHECK_SECRET_FILE, /* a file holding a CHAP secret: poolctl sends the
                            * file's content (one trailing newline dropped),
                            * never the path, so secrets stay out of argv */
    CLI_CHECK_XML_FILE,    /* an XML document (up to CLI_XML_FILE_MAX bytes):
                            * poolctl sends the file's content */
    CLI_CHECK_STORE_URL,   /* nfs://server[:port]/export/path or an absolute path */
    CLI_CHECK_TIMEOUT_MS,  /* milliseconds, 100..600000 */
} cliCheck;

#define CLI_XML_FILE_MAX (1024 * 1024)

typedef struct {
    cliArgKind kind;
    const char *name;  /* positional: shown in usage; option: long name */
    const char *param; /* request parameter it fills */
    cliCheck check;    /* client-side validation, for early clear errors */
    const char *help;
} cliArg;

typedef struct {
    bool json;
} cliOutput;

typedef int (*cliPrinter)(const cliOutput *out, xmlNodePtr reply, const poolRequest *req);

/* A command that waits on something poold only reports (vm stop: the
 * guest shutting down) asks again: 1 with *next, the request to send after
 * CLI_AGAIN_MS; 0 when the reply is final (printed); -1 with a pool_error. */
typedef int (*cliAgain)(xmlNodePtr reply, const poolRequest *req, poolRequest **next);
#define CLI_AGAIN_MS 250

typedef struct {
    const char *group; /* "pool" */
    const char *verb;  /* "create" */
    const char *op;    /* protocol op: "pool-create" */
    const char *summary;
    const cliArg *args; /* terminated by {0} */
    cliPrinter print;
    cliAgain again; /* NULL: one request */
} cliCommand;

extern const cliCommand cli_pool_commands[];
extern const cliCommand cli_volume_commands[];
extern const cliCommand cli_daemon_commands[];
extern const cliCommand cli_target_commands[];
extern const cliCommand cli_host_commands[];
extern const cliCommand cli_lease_commands[];
extern const cliCommand cli_vm_commands[]; /* cmd_vm.c: vm ..., pool set-store */

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
