/*
 * main.c: poolctl, the operator's tool. Argument parsing is driven by the
 * catalogue of operations (libpool/proto_catalogue.c): each command lists
 * its positionals and options and the request parameter each one fills, so
 * help text, validation and the request all come from one place, the one
 * poold checks requests against. The replies go to the printers (cmd_*.c).
 *
 * Values are checked here first (names, sizes, paths) so mistakes get an
 * immediate, precise message; poold checks everything again, since the
 * socket is its real boundary.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <libxml/parser.h>

#include "pool-config.h"
#include "pool-error.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "poolctl.h"

#define DEFAULT_SOCKET  "/run/poold/poold.sock"
#define DEFAULT_TIMEOUT 600

static const cliPrinterEntry *const printer_tables[] = {
    cli_pool_printers,  cli_volume_printers, cli_host_printers,
    cli_lease_printers, cli_target_printers, cli_daemon_printers,
    cli_vm_printers,    cli_job_printers,    cli_snapshot_printers};

const cliOutput *cli_output;
#define NPRINTER_TABLES (sizeof(printer_tables) / sizeof(printer_tables[0]))

/* Protocol-only params (POOL_ARG_PROTOCOL) are neither: poolctl sets them
 * itself, they are no part of its command line. */
static bool is_option(const poolOpArg *a)
{
    return a->kind == POOL_ARG_OPTION || a->kind == POOL_ARG_FLAG ||
           a->kind == POOL_ARG_OPTION_REQUIRED;
}

static bool is_positional(const poolOpArg *a)
{
    return a->kind == POOL_ARG_POSITIONAL || a->kind == POOL_ARG_POSITIONAL_MULTI;
}

static const cliPrinterEntry *find_printer(const char *op)
{
    for (size_t t = 0; t < NPRINTER_TABLES; t++)
        for (const cliPrinterEntry *p = printer_tables[t]; p->op; p++)
            if (strcmp(p->op, op) == 0)
                return p;
    return NULL;
}

/* Every poolctl command of the catalogue has exactly one printer, and every
 * printer belongs to one: a mismatch is a build mistake, said at once. */
static int check_printer_tables(void)
{
    const char *names[128];
    size_t n = 0;
    for (size_t t = 0; t < NPRINTER_TABLES; t++)
        for (const cliPrinterEntry *p = printer_tables[t]; p->op; p++) {
            if (n == sizeof(names) / sizeof(names[0])) {
                pool_error(POOL_ERR_INTERNAL, "poolctl's printer tables: too many entries");
                return -1;
            }
            names[n++] = p->op;
        }
    return pool_catalogue_check_table(names, n, true, "poolctl's printer tables");
}

static void usage_global(FILE *f)
{
    fprintf(f,
            "Usage: poolctl [GLOBAL OPTIONS] COMMAND SUBCOMMAND [ARGS]\n\n"
            "Global options (anywhere on the line):\n"
            "  -s, --socket PATH   poold control socket (default " DEFAULT_SOCKET
            ", or $POOLD_SOCKET)\n"
            "  -j, --json          machine-readable output\n"
            "  -t, --timeout SECS  how long to wait for poold (default %d)\n"
            "  -h, --help          help (after a command: that command's help)\n"
            "  -V, --version       print poolctl's version\n\n"
            "Commands:\n",
            DEFAULT_TIMEOUT);
    for (const poolOpSpec *c = pool_catalogue; c->op; c++)
        if (c->group)
            fprintf(f, "  %-6s %-11s %s\n", c->group, c->verb, c->summary);
    fprintf(f, "\nSee poolctl(8) for details and exit codes.\n");
}

static void usage_command(FILE *f, const poolOpSpec *c)
{
    fprintf(f, "Usage: poolctl %s %s", c->group, c->verb);
    for (const poolOpArg *a = c->args; a->param; a++) {
        if (a->kind == POOL_ARG_POSITIONAL)
            fprintf(f, " %s", a->name);
        else if (a->kind == POOL_ARG_POSITIONAL_MULTI)
            fprintf(f, " %s...", a->name);
    }
    bool has_opts = false;
    for (const poolOpArg *a = c->args; a->param; a++)
        if (is_option(a))
            has_opts = true;
    fprintf(f, "%s\n%s.\n", has_opts ? " [OPTIONS]" : "", c->summary);
    for (const poolOpArg *a = c->args; a->param; a++) {
        if (a->kind == POOL_ARG_PROTOCOL)
            continue;
        char left[64];
        if (a->kind == POOL_ARG_OPTION || a->kind == POOL_ARG_OPTION_REQUIRED)
            snprintf(left, sizeof(left), "--%s %s", a->name,
                     a->kind == POOL_ARG_OPTION_REQUIRED ? "VALUE (required)" : "VALUE");
        else if (a->kind == POOL_ARG_FLAG)
            snprintf(left, sizeof(left), "--%s", a->name);
        else
            snprintf(left, sizeof(left), "%s", a->name);
        fprintf(f, "  %-22s %s\n", left, a->help);
    }
}

static int check_value(const poolOpArg *a, const char *v)
{
    uint64_t n;
    switch (a->check) {
    case POOL_CHECK_POOL_NAME:
        return pool_name_validate(POOL_NAME_POOL, v);
    case POOL_CHECK_VOLUME_NAME:
        return pool_name_validate(POOL_NAME_VOLUME, v);
    case POOL_CHECK_SIZE:
        return pool_parse_size(v, a->name, &n);
    case POOL_CHECK_UINT:
        return pool_parse_uint(v, a->name, 1, UINT32_MAX, &n);
    case POOL_CHECK_HOST_ID:
        return pool_parse_uint(v, a->name, 1, 2000, &n);
    case POOL_CHECK_SECONDS:
        return pool_parse_uint(v, a->name, 0, 600, &n);
    case POOL_CHECK_PATH:
        if (v[0] != '/') {
            pool_error(POOL_ERR_INVALID_ARG, "%s '%s' must be an absolute path", a->name, v);
            return -1;
        }
        return 0;
    case POOL_CHECK_ISCSI_NAME:
        return pool_iscsi_name_validate(v);
    case POOL_CHECK_STORE_URL:
        return pool_store_url_check(v);
    case POOL_CHECK_TIMEOUT_MS:
        return pool_parse_uint(v, a->name, POOL_STORE_TIMEOUT_MIN_MS, POOL_STORE_TIMEOUT_MAX_MS,
                               &n);
    case POOL_CHECK_CHAP_USER:
        if (pool_chap_user_validate(v) < 0) {
            pool_error_prefix("--%s", a->name);
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

static const poolOpSpec *find_command(const char *group, const char *verb)
{
    for (const poolOpSpec *c = pool_catalogue; c->op; c++)
        if (c->group && strcmp(c->group, group) == 0 && (!verb || strcmp(c->verb, verb) == 0))
            return c;
    return NULL;
}

/* --secret-file: the secret goes to poold over the control socket, read
 * here so it never appears in a command line (ps, shell history). One
 * trailing newline (as `echo` and editors leave) is not part of it. */
static int add_secret_file(poolRequest *req, const poolOpArg *a, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (pool_file_read_all(path, 4096, &data, &len) < 0) {
        pool_error_prefix("--%s", a->name);
        return -1;
    }
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    int r = pool_chap_secret_validate(data, len);
    if (r < 0)
        pool_error_prefix("--%s %s", a->name, path);
    else
        r = pool_request_add(req, a->param, data);
    memset(data, 0, len);
    free(data);
    return r;
}

/* An XML file (vm define): its content goes in the request. Line ends
 * CRLF become LF; other control characters cannot travel in a request and
 * are refused here, naming the line. */
static int add_xml_file(poolRequest *req, const poolOpArg *a, const char *path)
{
    POOL_AUTOFREE(char *) data = NULL;
    size_t len = 0;
    if (pool_file_read_all(path, CLI_XML_FILE_MAX, &data, &len) < 0) {
        pool_error_prefix("%s", a->name);
        return -1;
    }
    size_t o = 0, line = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
            continue;
        if (c < 0x20 && c != '\n' && c != '\t') {
            pool_error(POOL_ERR_XML, "%s: control character 0x%02x on line %zu", path, c, line);
            return -1;
        }
        if (c == '\n')
            line++;
        data[o++] = (char)c;
    }
    data[o] = '\0';
    if (o == 0) {
        pool_error(POOL_ERR_XML, "%s: the file is empty", path);
        return -1;
    }
    return pool_request_add(req, a->param, data);
}

/* Check a value and add it to the request under the argument's param. */
static int add_value(poolRequest *req, const poolOpArg *a, const char *v)
{
    if (a->check == POOL_CHECK_SECRET_FILE)
        return add_secret_file(req, a, v);
    if (a->check == POOL_CHECK_XML_FILE)
        return add_xml_file(req, a, v);
    if (check_value(a, v) < 0)
        return -1;
    return pool_request_add(req, a->param, v);
}

/* Parse the command's own arguments into a request. */
static poolRequest *parse_command(const poolOpSpec *c, int argc, char **argv)
{
    POOL_AUTOPTR(poolRequest) req = pool_request_new(c->op);
    if (!req)
        return NULL;
    const poolOpArg *pos = c->args;
    bool seen[POOL_OP_ARGS_MAX] = {false};
    bool only_positional = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (!only_positional && arg[0] == '-' && arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t nl = eq ? (size_t)(eq - name) : strlen(name);
            const poolOpArg *a = NULL;
            for (const poolOpArg *x = c->args; x->param; x++)
                if (is_option(x) && strlen(x->name) == nl && strncmp(x->name, name, nl) == 0)
                    a = x;
            if (!a) {
                pool_error(POOL_ERR_INVALID_ARG, "%s %s: unknown option '%.*s'", c->group, c->verb,
                           (int)(nl + 2), arg);
                return NULL;
            }
            size_t idx = (size_t)(a - c->args);
            if (seen[idx]) {
                pool_error(POOL_ERR_INVALID_ARG, "%s %s: option --%s given twice", c->group,
                           c->verb, a->name);
                return NULL;
            }
            seen[idx] = true;
            const char *val;
            if (a->kind == POOL_ARG_FLAG) {
                if (eq) {
                    pool_error(POOL_ERR_INVALID_ARG, "%s %s: --%s takes no value", c->group,
                               c->verb, a->name);
                    return NULL;
                }
                val = "yes";
            } else if (eq) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                pool_error(POOL_ERR_INVALID_ARG, "%s %s: --%s needs a value", c->group, c->verb,
                           a->name);
                return NULL;
            }
            if (add_value(req, a, val) < 0)
                return NULL;
            continue;
        }
        /* "-1" is a (bad) value, not an option: let the value check explain */
        if (!only_positional && arg[0] == '-' && arg[1] && !(arg[1] >= '0' && arg[1] <= '9')) {
            pool_error(POOL_ERR_INVALID_ARG, "%s %s: unknown option '%s'", c->group, c->verb, arg);
            return NULL;
        }
        while (pos->param && !is_positional(pos))
            pos++;
        if (!pos->param) {
            pool_error(POOL_ERR_INVALID_ARG, "%s %s: unexpected argument '%s'", c->group, c->verb,
                       arg);
            return NULL;
        }
        if (add_value(req, pos, arg) < 0)
            return NULL;
        seen[pos - c->args] = true;
        if (pos->kind == POOL_ARG_POSITIONAL)
            pos++;
    }
    for (const poolOpArg *a = c->args; a->param; a++)
        if (a->kind == POOL_ARG_OPTION_REQUIRED && !seen[a - c->args]) {
            pool_error(POOL_ERR_INVALID_ARG, "%s %s: missing --%s (see poolctl %s %s --help)",
                       c->group, c->verb, a->name, c->group, c->verb);
            return NULL;
        }
    for (const poolOpArg *a = c->args; a->param; a++)
        if (is_positional(a) && !seen[a - c->args]) {
            pool_error(POOL_ERR_INVALID_ARG, "%s %s: missing %s (see poolctl %s %s --help)",
                       c->group, c->verb, a->name, c->group, c->verb);
            return NULL;
        }
    return pool_steal_ptr(&req);
}

static int connect_socket(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        pool_error(POOL_ERR_INVALID_ARG, "socket path %s is too long", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        pool_error_errno(errno, "socket");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int e = errno;
        close(fd);
        if (e == ENOENT || e == ECONNREFUSED)
            pool_error(POOL_ERR_CONNECT, "cannot reach poold at %s: %s (is poold running?)", path,
                       strerror(e));
        else if (e == EACCES || e == EPERM)
            pool_error(POOL_ERR_PERMISSION,
                       "cannot reach poold at %s: %s (run as root or a member of the socket "
                       "group)",
                       path, strerror(e));
        else
            pool_error(POOL_ERR_CONNECT, "cannot reach poold at %s: %s", path, strerror(e));
        return -1;
    }
    return fd;
}

static xmlDocPtr call(const char *socket_path, int timeout_s, poolRequest *req)
{
    req->id = (uint64_t)getpid();
    size_t len = 0;
    POOL_AUTOFREE(char *) payload = pool_request_format(req, &len);
    if (!payload)
        return NULL;
    POOL_AUTOCLOSE fd = connect_socket(socket_path);
    if (fd < 0)
        return NULL;
    /* If poold refused us it has sent why and closed: the send then fails
     * (EPIPE), but the explanation is waiting to be read. */
    bool sent = pool_frame_send(fd, POOL_FRAME_REQUEST, payload, (uint32_t)len) == 0;
    poolError *send_err = sent ? NULL : pool_error_save();
    uint16_t type;
    POOL_AUTOFREE(char *) reply = NULL;
    uint32_t rlen;
    if (pool_frame_recv(fd, 64u * 1024 * 1024, sent ? timeout_s * 1000 : 1000, &type, &reply,
                        &rlen) < 0) {
        if (send_err) {
            pool_error_restore(send_err);
            return NULL;
        }
        if (pool_error_last_code() == POOL_ERR_TIMEOUT)
            pool_error_prefix("no reply from poold within %d s", timeout_s);
        return NULL;
    }
    pool_error_free(send_err);
    if (type != POOL_FRAME_REPLY) {
        pool_error(POOL_ERR_PROTOCOL, "poold sent a frame of type %u instead of a reply", type);
        return NULL;
    }
    xmlDocPtr doc = pool_reply_parse(reply, rlen, req->id);
    if (!doc && pool_error_last_code() == POOL_ERR_PROTOCOL) {
        /* an error reply to a request we could not frame carries id 0 */
        doc = pool_reply_parse(reply, rlen, 0);
    }
    return doc;
}

static int fail(void)
{
    const poolError *e = pool_error_last();
    fprintf(stderr, "poolctl: error: %s\n", e ? e->message : "unknown error");
    return e ? pool_error_exit_code(e->code) : 1;
}

int main(int argc, char **argv)
{
    if (check_printer_tables() < 0)
        return fail();
    const char *socket_path = getenv("POOLD_SOCKET");
    int timeout_s = DEFAULT_TIMEOUT;
    cliOutput out = {.json = false};
    cli_output = &out;
    bool help = false;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;
    if (!socket_path || !socket_path[0])
        socket_path = DEFAULT_SOCKET;

    /* Global options may appear anywhere; everything else is the command. */
    bool after_dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (after_dashdash) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            after_dashdash = true;
            /* before the command it only ends the global options */
            if (nrest >= 2)
                rest[nrest++] = argv[i];
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
            out.json = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = true;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("poolctl %s\n", POOL_VERSION);
            free(rest);
            return 0;
        } else if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0 ||
                   strncmp(a, "--socket=", 9) == 0) {
            if (a[2] == 's' && a[8] == '=') {
                socket_path = a + 9;
            } else if (i + 1 < argc) {
                socket_path = argv[++i];
            } else {
                fprintf(stderr, "poolctl: error: %s needs a path\n", a);
                free(rest);
                return 2;
            }
        } else if (strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0 ||
                   strncmp(a, "--timeout=", 10) == 0) {
            const char *v = a[1] == '-' && a[9] == '=' ? a + 10 : (i + 1 < argc ? argv[++i] : NULL);
            uint64_t t;
            if (!v || pool_parse_uint(v, "timeout", 1, 86400, &t) < 0) {
                fprintf(stderr, "poolctl: error: %s\n",
                        v ? pool_error_last_message() : "--timeout needs a number of seconds");
                free(rest);
                return 2;
            }
            timeout_s = (int)t;
        } else {
            rest[nrest++] = argv[i];
        }
    }

    if (nrest == 0) {
        usage_global(help ? stdout : stderr);
        free(rest);
        return help ? 0 : 2;
    }
    if (!find_command(rest[0], NULL)) {
        fprintf(stderr, "poolctl: error: unknown command '%s' (see poolctl --help)\n", rest[0]);
        free(rest);
        return 2;
    }
    if (nrest == 1) {
        if (help) {
            for (const poolOpSpec *c = pool_catalogue; c->op; c++)
                if (c->group && strcmp(c->group, rest[0]) == 0)
                    usage_command(stdout, c);
            free(rest);
            return 0;
        }
        fprintf(stderr, "poolctl: error: '%s' needs a subcommand (see poolctl %s --help)\n",
                rest[0], rest[0]);
        free(rest);
        return 2;
    }
    /* Two-word verbs ("target acl add"): the table spells them with a
     * space; try the one-word verb first. */
    const poolOpSpec *cmd = find_command(rest[0], rest[1]);
    int used = 2;
    char verb2[64];
    if (!cmd && nrest >= 3 && snprintf(verb2, sizeof(verb2), "%s %s", rest[1], rest[2]) > 0 &&
        (cmd = find_command(rest[0], verb2)))
        used = 3;
    if (!cmd) {
        /* "poolctl target acl" or "... acl --help": show the two-word verbs */
        size_t l = strlen(rest[1]);
        bool any = false;
        for (const poolOpSpec *c = pool_catalogue; c->op; c++)
            if (c->group && strcmp(c->group, rest[0]) == 0 && strncmp(c->verb, rest[1], l) == 0 &&
                c->verb[l] == ' ') {
                if (help)
                    usage_command(stdout, c);
                any = true;
            }
        if (any && help) {
            free(rest);
            return 0;
        }
        if (any)
            fprintf(stderr,
                    "poolctl: error: '%s %s' needs a subcommand (see poolctl %s %s --help)\n",
                    rest[0], rest[1], rest[0], rest[1]);
        else
            fprintf(stderr, "poolctl: error: unknown command '%s %s' (see poolctl %s --help)\n",
                    rest[0], rest[1], rest[0]);
        free(rest);
        return 2;
    }
    if (help) {
        usage_command(stdout, cmd);
        free(rest);
        return 0;
    }
    POOL_AUTOPTR(poolRequest) req = parse_command(cmd, nrest - used, rest + used);
    free(rest);
    if (!req)
        return fail();
    xmlDocPtr doc = call(socket_path, timeout_s, req);
    if (!doc)
        return fail();
    const cliPrinterEntry *printer = find_printer(cmd->op);
    while (printer->again) {
        poolRequest *next = NULL;
        int a = printer->again(xmlDocGetRootElement(doc), req, &next);
        if (a < 0) {
            xmlFreeDoc(doc);
            return fail();
        }
        if (a == 0)
            break;
        xmlFreeDoc(doc);
        pool_request_free(req);
        req = next;
        poll(NULL, 0, CLI_AGAIN_MS);
        if (!(doc = call(socket_path, timeout_s, req)))
            return fail();
    }
    int r = printer->print(&out, xmlDocGetRootElement(doc), req);
    xmlFreeDoc(doc);
    if (r < 0)
        return fail();
    if (fflush(stdout) != 0) {
        fprintf(stderr, "poolctl: error: cannot write output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
