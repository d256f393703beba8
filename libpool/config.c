// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * config.c: poold.conf, in libvirt's "key = value" syntax (pool-config.h,
 * poold.conf(5)).
 *
 * Why strict: this file decides where the control socket lives, who may use
 * it and how long lvm may run. A misspelt key silently ignored would leave a
 * default in force that the operator believes changed, so unknown keys,
 * duplicates, wrong types and out-of-range values are all errors, each
 * naming "origin:line" and the key. `poold --check-config` runs exactly this
 * parser.
 *
 * Grammar (one statement per line; lists may span lines):
 *   file      := { line }
 *   line      := blank* [ key blank* '=' blank* value blank* ] [ '#' comment ] '\n'
 *   key       := [A-Za-z_][A-Za-z0-9_]*
 *   value     := string | uint | list
 *   string    := '"' { char | '\"' | '\\' } '"'     (no control characters)
 *   uint      := [0-9]+                              (0-prefixed = octal, socket_mode only)
 *   list      := '[' { ws } [ string { ws } { ',' { ws } string { ws } } [ ',' ] ] { ws } ']'
 *   (ws inside a list includes newlines and comments)
 *
 * Parsing is all-or-nothing: values are applied to a copy of the caller's
 * config, which replaces the original only when the whole text parsed, so a
 * rejected reload leaves the running configuration intact.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pool-config.h"
#include "pool-xml.h"
#include "pool-error.h"
#include "pool-lease.h"
#include "pool-log.h"
#include "pool-util.h"

#define CFG_MAX_FILE_SIZE (1024 * 1024)
#define CFG_MAX_STRING    4096
#define CFG_SUN_PATH_MAX  107 /* sizeof(sockaddr_un.sun_path) - 1 */

typedef enum {
    VAL_STRING,
    VAL_UINT,
    VAL_LIST,
} cfgValueType;

typedef struct {
    cfgValueType type;
    char *str;       /* VAL_STRING */
    const char *num; /* VAL_UINT: digits in the input text */
    size_t numlen;
    char **list; /* VAL_LIST */
} cfgValue;

typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    unsigned line;
    const char *origin;
} cfgParser;

typedef enum {
    KEY_SOCKET_PATH,
    KEY_SOCKET_GROUP,
    KEY_SOCKET_MODE,
    KEY_STATE_DIR,
    KEY_LVM_BINARY,
    KEY_ACTIVATION,
    KEY_LVM_TIMEOUT,
    KEY_LOG_LEVEL,
    KEY_LOG_OUTPUT,
    KEY_MAX_MESSAGE_SIZE,
    KEY_MAX_CLIENTS,
    KEY_CLIENT_TIMEOUT,
    KEY_HOST_NAME,
    KEY_ISCSI_PORTAL,
    KEY_ISCSI_MAX_SESSIONS,
    KEY_ISCSI_MAX_LOGINS,
    KEY_ISCSI_MAX_LOGINS_PER_SOURCE,
    KEY_ISCSI_LOGIN_TIMEOUT,
    KEY_ISCSI_FIRST_PDU_TIMEOUT,
    KEY_DEFAULT_LOCKING,
    KEY_LEASE_WAIT,
    KEY_SANLOCK_TIMEOUT,
    KEY_REFRESH_INTERVAL_MS,
    KEY_MAP_MAX_AGE_MS,
    KEY_LVM_LOCKING_DIR,
    KEY_LIBVIRT_URI,
    KEY_LIBVIRT_POOL_TYPE,
    KEY_LIBVIRT_INITIATOR,
    KEY_LIBVIRT_TIMEOUT,
    KEY_LIBVIRT_KEEPALIVE_INTERVAL,
    KEY_LIBVIRT_KEEPALIVE_COUNT,
    KEY_COUNT
} cfgKey;

static const struct {
    const char *name;
    cfgValueType type;
    uint64_t min, max; /* VAL_UINT only */
} cfg_keys[KEY_COUNT] = {
    [KEY_SOCKET_PATH] = {"socket_path", VAL_STRING, 0, 0},
    [KEY_SOCKET_GROUP] = {"socket_group", VAL_STRING, 0, 0},
    [KEY_SOCKET_MODE] = {"socket_mode", VAL_UINT, 0, 0777},
    [KEY_STATE_DIR] = {"state_dir", VAL_STRING, 0, 0},
    [KEY_LVM_BINARY] = {"lvm_binary", VAL_STRING, 0, 0},
    [KEY_ACTIVATION] = {"activation", VAL_STRING, 0, 0},
    [KEY_LVM_TIMEOUT] = {"lvm_timeout", VAL_UINT, 1, 86400},
    [KEY_LOG_LEVEL] = {"log_level", VAL_STRING, 0, 0},
    [KEY_LOG_OUTPUT] = {"log_output", VAL_STRING, 0, 0},
    [KEY_MAX_MESSAGE_SIZE] = {"max_message_size", VAL_UINT, 4096, 64 * 1024 * 1024},
    [KEY_MAX_CLIENTS] = {"max_clients", VAL_UINT, 1, 65536},
    [KEY_CLIENT_TIMEOUT] = {"client_timeout", VAL_UINT, 1, 3600},
    [KEY_HOST_NAME] = {"host_name", VAL_STRING, 0, 0},
    [KEY_ISCSI_PORTAL] = {"iscsi_portal", VAL_STRING, 0, 0},
    [KEY_ISCSI_MAX_SESSIONS] = {"iscsi_max_sessions", VAL_UINT, 1, 65536},
    [KEY_ISCSI_MAX_LOGINS] = {"iscsi_max_logins", VAL_UINT, 1, 65536},
    [KEY_ISCSI_MAX_LOGINS_PER_SOURCE] = {"iscsi_max_logins_per_source", VAL_UINT, 1, 65536},
    [KEY_ISCSI_LOGIN_TIMEOUT] = {"iscsi_login_timeout", VAL_UINT, 1, 300},
    [KEY_ISCSI_FIRST_PDU_TIMEOUT] = {"iscsi_first_pdu_timeout", VAL_UINT, 1, 300},
    [KEY_DEFAULT_LOCKING] = {"default_locking", VAL_STRING, 0, 0},
    [KEY_LEASE_WAIT] = {"lease_wait", VAL_UINT, 0, 3600},
    [KEY_SANLOCK_TIMEOUT] = {"sanlock_timeout", VAL_UINT, 1, 3600},
    [KEY_REFRESH_INTERVAL_MS] = {"refresh_interval_ms", VAL_UINT, 0, 3600000},
    [KEY_MAP_MAX_AGE_MS] = {"map_max_age_ms", VAL_UINT, 0, 3600000},
    [KEY_LVM_LOCKING_DIR] = {"lvm_locking_dir", VAL_STRING, 0, 0},
    [KEY_LIBVIRT_URI] = {"libvirt_uri", VAL_STRING, 0, 0},
    [KEY_LIBVIRT_POOL_TYPE] = {"libvirt_pool_type", VAL_STRING, 0, 0},
    [KEY_LIBVIRT_INITIATOR] = {"libvirt_initiator", VAL_STRING, 0, 0},
    [KEY_LIBVIRT_TIMEOUT] = {"libvirt_timeout", VAL_UINT, 1, 3600},
    [KEY_LIBVIRT_KEEPALIVE_INTERVAL] = {"libvirt_keepalive_interval", VAL_UINT, 1, 600},
    [KEY_LIBVIRT_KEEPALIVE_COUNT] = {"libvirt_keepalive_count", VAL_UINT, 1, 100},
};

static const char *const libvirt_pool_type_names[] = {
    [POOL_LIBVIRT_POOL_AUTO] = "auto",
    [POOL_LIBVIRT_POOL_ISCSI_DIRECT] = "iscsi-direct",
    [POOL_LIBVIRT_POOL_LOGICAL] = "logical",
    [POOL_LIBVIRT_POOL_OFF] = "off",
};

static const char *const activation_names[] = {
    [POOL_ACTIVATION_AUTO] = "auto",
    [POOL_ACTIVATION_ON] = "on",
    [POOL_ACTIVATION_OFF] = "off",
};

/* ------------------------------------------------------------------------ */
/* config objects */

void pool_config_free(poolConfig *cfg)
{
    if (!cfg)
        return;
    free(cfg->socket_path);
    free(cfg->socket_group);
    free(cfg->state_dir);
    free(cfg->lvm_binary);
    free(cfg->log_output);
    free(cfg->host_name);
    free(cfg->iscsi_portal);
    free(cfg->lvm_locking_dir);
    free(cfg->libvirt_uri);
    free(cfg->libvirt_initiator);
    free(cfg);
}

poolConfig *pool_config_new_default(void)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_calloc(1, sizeof(*cfg));

    if (!cfg)
        return NULL;
    if (!(cfg->socket_path = pool_strdup("/run/poold/poold.sock")) ||
        !(cfg->state_dir = pool_strdup("/var/lib/poold")) ||
        !(cfg->log_output = pool_strdup("stderr")) ||
        !(cfg->iscsi_portal = pool_strdup("127.0.0.1:3260")) ||
        !(cfg->libvirt_uri = pool_strdup("qemu:///system")))
        return NULL;
    cfg->socket_group = NULL;
    cfg->socket_mode = 0660;
    cfg->lvm_binary = NULL;
    cfg->activation = POOL_ACTIVATION_AUTO;
    cfg->lvm_timeout = 120;
    cfg->libvirt_timeout = 30;
    cfg->libvirt_keepalive_interval = 5;
    cfg->libvirt_keepalive_count = 5;
    cfg->log_level = POOL_LOG_INFO;
    cfg->max_message_size = 4u * 1024 * 1024;
    cfg->max_clients = 64;
    cfg->client_timeout = 30;
    cfg->host_name = NULL;
    cfg->iscsi_max_sessions = 256;
    cfg->iscsi_max_logins = 64;
    cfg->iscsi_max_logins_per_source = 16;
    cfg->iscsi_login_timeout = 5;
    cfg->iscsi_first_pdu_timeout = 2;
    cfg->default_locking = POOL_LOCKING_SANLOCK;
    cfg->lease_wait = 30;
    cfg->sanlock_timeout = POOL_LEASE_CALL_TIMEOUT_DEFAULT;
    cfg->refresh_interval_ms = 1000;
    cfg->map_max_age_ms = 3000;
    cfg->lvm_locking_dir = NULL;
    cfg->libvirt_pool_type = POOL_LIBVIRT_POOL_AUTO;
    cfg->libvirt_initiator = NULL;
    return pool_steal_ptr(&cfg);
}

static int copy_str(char **dst, const char *src)
{
    *dst = NULL;
    if (src && !(*dst = pool_strdup(src)))
        return -1;
    return 0;
}

static poolConfig *config_copy(const poolConfig *src)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_calloc(1, sizeof(*cfg));

    if (!cfg)
        return NULL;
    *cfg = *src;
    cfg->socket_path = cfg->socket_group = cfg->state_dir = NULL;
    cfg->lvm_binary = cfg->log_output = cfg->host_name = cfg->iscsi_portal = NULL;
    cfg->lvm_locking_dir = cfg->libvirt_uri = cfg->libvirt_initiator = NULL;
    if (copy_str(&cfg->socket_path, src->socket_path) < 0 ||
        copy_str(&cfg->socket_group, src->socket_group) < 0 ||
        copy_str(&cfg->state_dir, src->state_dir) < 0 ||
        copy_str(&cfg->lvm_binary, src->lvm_binary) < 0 ||
        copy_str(&cfg->log_output, src->log_output) < 0 ||
        copy_str(&cfg->host_name, src->host_name) < 0 ||
        copy_str(&cfg->iscsi_portal, src->iscsi_portal) < 0 ||
        copy_str(&cfg->lvm_locking_dir, src->lvm_locking_dir) < 0 ||
        copy_str(&cfg->libvirt_uri, src->libvirt_uri) < 0 ||
        copy_str(&cfg->libvirt_initiator, src->libvirt_initiator) < 0)
        return NULL;
    return pool_steal_ptr(&cfg);
}

/* ------------------------------------------------------------------------ */
/* error reporting */

/* Printable, bounded rendering of input text for messages. */
static const char *cfg_quote(const char *text, size_t len, char *buf, size_t buflen)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < len && o + 8 < buflen; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (i < len)
        o += (size_t)snprintf(buf + o, buflen - o, "...");
    buf[o] = '\0';
    return buf;
}

static int cfg_error(const cfgParser *ps, unsigned line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int cfg_error(const cfgParser *ps, unsigned line, const char *key, const char *fmt, ...)
{
    char why[512];
    char qkey[96];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (key)
        pool_error(POOL_ERR_CONFIG, "%s:%u: key '%s': %s", ps->origin, line,
                   cfg_quote(key, strlen(key), qkey, sizeof(qkey)), why);
    else
        pool_error(POOL_ERR_CONFIG, "%s:%u: %s", ps->origin, line, why);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* lexing */

static int cfg_peek(const cfgParser *ps)
{
    return ps->pos < ps->len ? (unsigned char)ps->text[ps->pos] : -1;
}

static int cfg_peek_at(const cfgParser *ps, size_t ahead)
{
    return ps->pos + ahead < ps->len ? (unsigned char)ps->text[ps->pos + ahead] : -1;
}

static void skip_blanks(cfgParser *ps)
{
    int c;

    while ((c = cfg_peek(ps)) == ' ' || c == '\t' || c == '\r')
        ps->pos++;
}

static void skip_comment(cfgParser *ps)
{
    if (cfg_peek(ps) != '#')
        return;
    while (cfg_peek(ps) != -1 && cfg_peek(ps) != '\n')
        ps->pos++;
}

/* Blanks, comments and newlines (inside lists). */
static void skip_space(cfgParser *ps)
{
    for (;;) {
        skip_blanks(ps);
        skip_comment(ps);
        if (cfg_peek(ps) != '\n')
            return;
        ps->pos++;
        ps->line++;
    }
}

static int is_key_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_key_char(int c)
{
    return is_key_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static void value_clear(cfgValue *v)
{
    free(v->str);
    pool_strv_free(v->list);
    memset(v, 0, sizeof(*v));
}

static int parse_string(cfgParser *ps, const char *key, char **out)
{
    POOL_AUTOFREE(char *) buf = NULL;
    size_t n = 0;

    ps->pos++; /* opening quote */
    if (pool_realloc_n(&buf, CFG_MAX_STRING + 1, 1) < 0)
        return -1;
    for (;;) {
        int c = cfg_peek(ps);

        if (c == -1 || c == '\n')
            return cfg_error(ps, ps->line, key, "unterminated string");
        ps->pos++;
        if (c == '"')
            break;
        if (c == '\\') {
            c = cfg_peek(ps);
            if (c != '"' && c != '\\') {
                if (c == -1 || c == '\n')
                    return cfg_error(ps, ps->line, key, "unterminated string");
                if (c >= 0x20 && c < 0x7f)
                    return cfg_error(ps, ps->line, key,
                                     "invalid escape '\\%c' in string (only \\\" and \\\\)", c);
                return cfg_error(ps, ps->line, key,
                                 "invalid escape in string (only \\\" and \\\\)");
            }
            ps->pos++;
        } else if (c < 0x20 || c == 0x7f) {
            return cfg_error(ps, ps->line, key, "control character 0x%02x in string", c);
        }
        if (n == CFG_MAX_STRING)
            return cfg_error(ps, ps->line, key, "string longer than %d bytes", CFG_MAX_STRING);
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    *out = pool_steal_ptr(&buf);
    return 0;
}

static int parse_list(cfgParser *ps, const char *key, char ***out)
{
    POOL_AUTOSTRV list = NULL;
    unsigned open_line = ps->line;

    ps->pos++; /* '[' */
    if (!(list = pool_calloc(1, sizeof(char *))))
        return -1;
    skip_space(ps);
    if (cfg_peek(ps) == ']') {
        ps->pos++;
        *out = pool_steal_ptr(&list);
        return 0;
    }
    for (;;) {
        POOL_AUTOFREE(char *) s = NULL;
        int c;

        skip_space(ps);
        c = cfg_peek(ps);
        if (c == -1)
            return cfg_error(ps, ps->line, key, "unterminated list (opened on line %u)", open_line);
        if (c == ']' && pool_strv_length(list) > 0) {
            ps->pos++; /* trailing comma */
            break;
        }
        if (c != '"')
            return cfg_error(ps, ps->line, key, "lists may contain only strings in double quotes");
        if (parse_string(ps, key, &s) < 0 || pool_strv_add(&list, s) < 0)
            return -1;
        skip_space(ps);
        c = cfg_peek(ps);
        if (c == ',') {
            ps->pos++;
            continue;
        }
        if (c == ']') {
            ps->pos++;
            break;
        }
        if (c == -1)
            return cfg_error(ps, ps->line, key, "unterminated list (opened on line %u)", open_line);
        return cfg_error(ps, ps->line, key, "expected ',' or ']' in list");
    }
    *out = pool_steal_ptr(&list);
    return 0;
}

static int parse_value(cfgParser *ps, const char *key, cfgValue *v)
{
    int c = cfg_peek(ps);

    memset(v, 0, sizeof(*v));
    if (c == '"') {
        v->type = VAL_STRING;
        return parse_string(ps, key, &v->str);
    }
    if (c == '[') {
        v->type = VAL_LIST;
        return parse_list(ps, key, &v->list);
    }
    if (is_digit(c)) {
        v->type = VAL_UINT;
        v->num = ps->text + ps->pos;
        while (is_digit(cfg_peek(ps)))
            ps->pos++;
        v->numlen = (size_t)(ps->text + ps->pos - v->num);
        if (is_key_char(cfg_peek(ps)) || cfg_peek(ps) == '.')
            return cfg_error(ps, ps->line, key,
                             "invalid number (only unsigned integers, without units)");
        return 0;
    }
    if (c == '-' && is_digit(cfg_peek_at(ps, 1)))
        return cfg_error(ps, ps->line, key, "negative values are not allowed");
    if (c == -1 || c == '\n' || c == '#')
        return cfg_error(ps, ps->line, key, "missing value after '='");
    if (is_key_start(c))
        return cfg_error(ps, ps->line, key, "expected a value (strings need double quotes)");
    return cfg_error(ps, ps->line, key,
                     "expected a value (\"string\", unsigned integer or [ list ])");
}

/* ------------------------------------------------------------------------ */
/* applying values */

static const char *type_name(cfgValueType t)
{
    switch (t) {
    case VAL_STRING:
        return "a string";
    case VAL_UINT:
        return "an unsigned integer";
    case VAL_LIST:
        return "a list";
    }
    return "?";
}

/* Convert the digits of v; socket_mode reads a leading 0 as octal. */
static int value_to_uint(const cfgParser *ps, unsigned line, cfgKey key, const cfgValue *v,
                         uint64_t *out)
{
    const char *name = cfg_keys[key].name;
    unsigned base = 10;
    uint64_t n = 0;
    char q[64];

    if (key == KEY_SOCKET_MODE && v->numlen > 1 && v->num[0] == '0')
        base = 8;
    for (size_t i = 0; i < v->numlen; i++) {
        unsigned d = (unsigned)(v->num[i] - '0');

        if (d >= base)
            return cfg_error(ps, line, name, "invalid octal number '%s'",
                             cfg_quote(v->num, v->numlen, q, sizeof(q)));
        if (n > (UINT64_MAX - d) / base) {
            n = UINT64_MAX; /* saturate: reported as out of range below */
            break;
        }
        n = n * base + d;
    }
    if (n < cfg_keys[key].min || n > cfg_keys[key].max) {
        if (key == KEY_SOCKET_MODE)
            return cfg_error(ps, line, name, "value %s out of range 0..0777 (octal)",
                             cfg_quote(v->num, v->numlen, q, sizeof(q)));
        return cfg_error(ps, line, name, "value %s out of range %" PRIu64 "..%" PRIu64,
                         cfg_quote(v->num, v->numlen, q, sizeof(q)), cfg_keys[key].min,
                         cfg_keys[key].max);
    }
    *out = n;
    return 0;
}

static int check_abs_path(const cfgParser *ps, unsigned line, const char *key, const char *s,
                          size_t max)
{
    if (s[0] != '/')
        return cfg_error(ps, line, key, "'%s' is not an absolute path", s);
    if (strlen(s) > max)
        return cfg_error(ps, line, key, "path longer than %zu bytes", max);
    return 0;
}

static int check_group_name(const cfgParser *ps, unsigned line, const char *key, const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 64)
        return cfg_error(ps, line, key, "group name must be 1..64 characters");
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!(is_key_char((unsigned char)c) || c == '.' || c == '-' || (c == '$' && i == len - 1)))
            return cfg_error(ps, line, key, "'%s' is not a valid group name", s);
    }
    if (s[0] == '-')
        return cfg_error(ps, line, key, "'%s' is not a valid group name", s);
    return 0;
}

static int lookup_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0)
            return (int)i;
    }
    return -1;
}

/* Move a string value into *field (the value gives up ownership). */
static void take_string(char **field, cfgValue *v)
{
    free(*field);
    *field = pool_steal_ptr(&v->str);
}

static int apply_value(const cfgParser *ps, unsigned line, poolConfig *cfg, cfgKey key, cfgValue *v)
{
    const char *name = cfg_keys[key].name;
    uint64_t n = 0;
    int idx;

    if (v->type != cfg_keys[key].type)
        return cfg_error(ps, line, name, "expected %s, got %s", type_name(cfg_keys[key].type),
                         type_name(v->type));
    if (v->type == VAL_UINT && value_to_uint(ps, line, key, v, &n) < 0)
        return -1;

    switch (key) {
    case KEY_SOCKET_PATH:
        if (check_abs_path(ps, line, name, v->str, CFG_SUN_PATH_MAX) < 0)
            return -1;
        take_string(&cfg->socket_path, v);
        break;
    case KEY_STATE_DIR:
        if (check_abs_path(ps, line, name, v->str, CFG_MAX_STRING) < 0)
            return -1;
        take_string(&cfg->state_dir, v);
        break;
    case KEY_LVM_BINARY:
        if (check_abs_path(ps, line, name, v->str, CFG_MAX_STRING) < 0)
            return -1;
        take_string(&cfg->lvm_binary, v);
        break;
    case KEY_SOCKET_GROUP:
        if (check_group_name(ps, line, name, v->str) < 0)
            return -1;
        take_string(&cfg->socket_group, v);
        break;
    case KEY_HOST_NAME:
        if (pool_name_validate(POOL_NAME_HOST, v->str) < 0)
            return cfg_error(ps, line, name, "%s", pool_error_last_message());
        take_string(&cfg->host_name, v);
        break;
    case KEY_ISCSI_PORTAL: {
        /* a space-separated list: every entry must be a valid, distinct
         * portal, or poold would start with fewer paths than configured */
        char **list = NULL;
        if (pool_parse_portal_list(v->str, &list) < 0)
            return cfg_error(ps, line, name, "%s", pool_error_last_message());
        pool_strv_free(list);
        take_string(&cfg->iscsi_portal, v);
        break;
    }
    case KEY_ACTIVATION:
        idx = lookup_name(activation_names, 3, v->str);
        if (idx < 0)
            return cfg_error(ps, line, name, "'%s' is not one of \"auto\", \"on\", \"off\"",
                             v->str);
        cfg->activation = (poolActivation)idx;
        break;
    case KEY_LOG_LEVEL:
        idx = pool_log_level_from_name(v->str);
        if (idx < 0)
            return cfg_error(ps, line, name,
                             "'%s' is not one of \"error\", \"warn\", \"info\", \"debug\"", v->str);
        cfg->log_level = (unsigned)idx;
        break;
    case KEY_LOG_OUTPUT:
        if (strcmp(v->str, "stderr") != 0 && strcmp(v->str, "syslog") != 0)
            return cfg_error(ps, line, name, "'%s' is not one of \"stderr\", \"syslog\"", v->str);
        take_string(&cfg->log_output, v);
        break;
    case KEY_SOCKET_MODE:
        cfg->socket_mode = (unsigned)n;
        break;
    case KEY_LVM_TIMEOUT:
        cfg->lvm_timeout = (unsigned)n;
        break;
    case KEY_LIBVIRT_TIMEOUT:
        cfg->libvirt_timeout = (unsigned)n;
        break;
    case KEY_LIBVIRT_KEEPALIVE_INTERVAL:
        cfg->libvirt_keepalive_interval = (unsigned)n;
        break;
    case KEY_LIBVIRT_KEEPALIVE_COUNT:
        cfg->libvirt_keepalive_count = (unsigned)n;
        break;
    case KEY_MAX_MESSAGE_SIZE:
        cfg->max_message_size = (uint32_t)n;
        break;
    case KEY_MAX_CLIENTS:
        cfg->max_clients = (unsigned)n;
        break;
    case KEY_CLIENT_TIMEOUT:
        cfg->client_timeout = (unsigned)n;
        break;
    case KEY_ISCSI_MAX_SESSIONS:
        cfg->iscsi_max_sessions = (unsigned)n;
        break;
    case KEY_ISCSI_MAX_LOGINS:
        cfg->iscsi_max_logins = (unsigned)n;
        break;
    case KEY_ISCSI_MAX_LOGINS_PER_SOURCE:
        cfg->iscsi_max_logins_per_source = (unsigned)n;
        break;
    case KEY_ISCSI_LOGIN_TIMEOUT:
        cfg->iscsi_login_timeout = (unsigned)n;
        break;
    case KEY_ISCSI_FIRST_PDU_TIMEOUT:
        cfg->iscsi_first_pdu_timeout = (unsigned)n;
        break;
    case KEY_DEFAULT_LOCKING:
        if (pool_locking_parse(v->str, &cfg->default_locking) < 0)
            return cfg_error(ps, line, name, "'%s' is not one of \"sanlock\", \"none\"", v->str);
        break;
    case KEY_LEASE_WAIT:
        cfg->lease_wait = (unsigned)n;
        break;
    case KEY_SANLOCK_TIMEOUT:
        cfg->sanlock_timeout = (unsigned)n;
        break;
    case KEY_REFRESH_INTERVAL_MS:
        cfg->refresh_interval_ms = (unsigned)n;
        break;
    case KEY_MAP_MAX_AGE_MS:
        cfg->map_max_age_ms = (unsigned)n;
        break;
    case KEY_LVM_LOCKING_DIR:
        if (check_abs_path(ps, line, name, v->str, CFG_MAX_STRING) < 0)
            return -1;
        take_string(&cfg->lvm_locking_dir, v);
        break;
    case KEY_LIBVIRT_URI:
        /* libvirt parses it; only what it can never accept is refused here */
        if (!v->str[0] || strchr(v->str, ' ') || !strstr(v->str, ":/"))
            return cfg_error(ps, line, name, "'%s' is not a libvirt URI (like qemu:///system)",
                             v->str);
        take_string(&cfg->libvirt_uri, v);
        break;
    case KEY_LIBVIRT_POOL_TYPE:
        idx = lookup_name(libvirt_pool_type_names, 4, v->str);
        if (idx < 0)
            return cfg_error(ps, line, name,
                             "'%s' is not one of \"auto\", \"iscsi-direct\", \"logical\", "
                             "\"off\"",
                             v->str);
        cfg->libvirt_pool_type = idx;
        break;
    case KEY_LIBVIRT_INITIATOR:
        if (pool_iscsi_name_validate(v->str) < 0)
            return cfg_error(ps, line, name, "%s", pool_error_last_message());
        take_string(&cfg->libvirt_initiator, v);
        break;
    case KEY_COUNT:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* statements */

static int parse_statement(cfgParser *ps, poolConfig *cfg, unsigned seen[KEY_COUNT])
{
    char key[65];
    char q[96];
    size_t start = ps->pos;
    size_t klen;
    unsigned line = ps->line;
    cfgValue v = {0};
    int k = -1;
    int rc = -1;
    int c;

    if (!is_key_start(cfg_peek(ps))) {
        c = cfg_peek(ps);
        if (c >= 0x21 && c < 0x7f)
            return cfg_error(ps, line, NULL, "expected a key name, found '%c'", c);
        return cfg_error(ps, line, NULL, "expected a key name, found byte 0x%02x", c);
    }
    while (is_key_char(cfg_peek(ps)))
        ps->pos++;
    klen = ps->pos - start;
    if (klen < sizeof(key)) {
        memcpy(key, ps->text + start, klen);
        key[klen] = '\0';
        for (size_t i = 0; i < KEY_COUNT; i++) {
            if (strcmp(cfg_keys[i].name, key) == 0)
                k = (int)i;
        }
    }
    if (k < 0)
        return cfg_error(ps, line, NULL, "unknown key '%s'",
                         cfg_quote(ps->text + start, klen, q, sizeof(q)));

    skip_blanks(ps);
    if (cfg_peek(ps) != '=')
        return cfg_error(ps, line, key, "expected '=' after the key");
    ps->pos++;
    skip_blanks(ps);
    if (parse_value(ps, key, &v) < 0)
        goto out;
    skip_blanks(ps);
    skip_comment(ps);
    c = cfg_peek(ps);
    if (c != -1 && c != '\n') {
        cfg_error(ps, ps->line, key, "unexpected text after the value");
        goto out;
    }
    if (seen[k]) {
        cfg_error(ps, line, key, "duplicate key (first set on line %u)", seen[k]);
        goto out;
    }
    seen[k] = line;
    rc = apply_value(ps, line, cfg, (cfgKey)k, &v);

out:
    value_clear(&v);
    return rc;
}

static int parse_text(cfgParser *ps, poolConfig *cfg)
{
    unsigned seen[KEY_COUNT] = {0};

    for (;;) {
        skip_blanks(ps);
        skip_comment(ps);
        if (cfg_peek(ps) == -1)
            return 0;
        if (cfg_peek(ps) == '\n') {
            ps->pos++;
            ps->line++;
            continue;
        }
        if (parse_statement(ps, cfg, seen) < 0)
            return -1;
    }
}

int pool_config_parse(poolConfig *cfg, const char *text, size_t len, const char *origin)
{
    POOL_AUTOPTR(poolConfig) work = NULL;
    cfgParser ps = {
        .text = text,
        .len = len,
        .pos = 0,
        .line = 1,
        .origin = origin ? origin : "<config>",
    };
    poolConfig old;

    if (!cfg || (!text && len > 0)) {
        pool_error(POOL_ERR_INVALID_ARG, "config parse: missing config or text");
        return -1;
    }
    if (!(work = config_copy(cfg)))
        return -1;
    if (parse_text(&ps, work) < 0)
        return -1;
    /* A target's segment maps stay valid map_max_age_ms after a change
     * check (docs/design.md section 7, "Freed extents"): the checks must
     * come well within that, or every LUN of a shared pool would keep
     * going NOT READY between two of them. */
    if (work->map_max_age_ms != 0 &&
        (work->refresh_interval_ms == 0 ||
         work->map_max_age_ms < (uint64_t)work->refresh_interval_ms + 1000)) {
        pool_error(POOL_ERR_CONFIG,
                   "%s: map_max_age_ms = %u needs refresh_interval_ms between 1 and "
                   "map_max_age_ms - 1000 (it is %u), or map_max_age_ms = 0",
                   ps.origin, work->map_max_age_ms, work->refresh_interval_ms);
        return -1;
    }

    /* Success: swap the contents, free the old strings with the shell. */
    old = *cfg;
    *cfg = *work;
    *work = old;
    return 0;
}

poolConfig *pool_config_load(const char *path, bool missing_ok)
{
    POOL_AUTOPTR(poolConfig) cfg = NULL;
    POOL_AUTOFREE(char *) text = NULL;
    size_t len = 0;

    if (!path)
        path = POOL_CONFIG_DEFAULT_PATH;
    if (!(cfg = pool_config_new_default()))
        return NULL;
    if (pool_file_read_all(path, CFG_MAX_FILE_SIZE, &text, &len) < 0) {
        if (missing_ok && errno == ENOENT) {
            pool_error_reset();
            return pool_steal_ptr(&cfg);
        }
        pool_error_prefix("cannot load configuration");
        pool_error_set(POOL_ERR_CONFIG, pool_error_last_message(), __FILE__, __func__, __LINE__);
        return NULL;
    }
    if (pool_config_parse(cfg, text, len, path) < 0)
        return NULL;
    return pool_steal_ptr(&cfg);
}

/* ------------------------------------------------------------------------ */
/* formatting */

typedef struct {
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
} cfgBuf;

static void buf_add(cfgBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(cfgBuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        size_t room = b->cap - b->len;

        va_start(ap, fmt);
        n = vsnprintf(b->buf ? b->buf + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            pool_error(POOL_ERR_INTERNAL, "cannot format configuration");
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        if (pool_realloc_n(&b->buf, b->cap + (size_t)n + 256, 1) < 0) {
            b->failed = true;
            return;
        }
        b->cap += (size_t)n + 256;
    }
}

static void buf_add_string(cfgBuf *b, const char *key, const char *value, const char *unset)
{
    if (!value) {
        buf_add(b, "# %s is not set: %s\n", key, unset);
        return;
    }
    buf_add(b, "%s = \"", key);
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_add(b, "\\%c", *p);
        else
            buf_add(b, "%c", *p);
    }
    buf_add(b, "\"\n");
}

char *pool_config_format(const poolConfig *cfg)
{
    cfgBuf b = {0};
    const char *activation = "auto";

    if (!cfg) {
        pool_error(POOL_ERR_INVALID_ARG, "config format: no config");
        return NULL;
    }
    if ((unsigned)cfg->activation < 3)
        activation = activation_names[cfg->activation];

    buf_add(&b, "# poold configuration (effective values), see poold.conf(5)\n");
    buf_add_string(&b, "socket_path", cfg->socket_path, "default");
    buf_add_string(&b, "socket_group", cfg->socket_group, "only root may connect");
    buf_add(&b, "socket_mode = 0%03o\n", cfg->socket_mode);
    buf_add_string(&b, "state_dir", cfg->state_dir, "default");
    buf_add_string(&b, "lvm_binary", cfg->lvm_binary, "lvm is searched in /sbin and /usr/sbin");
    buf_add_string(&b, "activation", activation, "auto");
    buf_add(&b, "lvm_timeout = %u\n", cfg->lvm_timeout);
    buf_add_string(&b, "log_level", pool_log_level_name((poolLogLevel)cfg->log_level), "info");
    buf_add_string(&b, "log_output", cfg->log_output, "stderr");
    buf_add(&b, "max_message_size = %" PRIu32 "\n", cfg->max_message_size);
    buf_add(&b, "max_clients = %u\n", cfg->max_clients);
    buf_add(&b, "client_timeout = %u\n", cfg->client_timeout);
    buf_add_string(&b, "host_name", cfg->host_name, "the system host name is used");
    buf_add_string(&b, "iscsi_portal", cfg->iscsi_portal, "127.0.0.1:3260");
    buf_add(&b, "iscsi_max_sessions = %u\n", cfg->iscsi_max_sessions);
    buf_add(&b, "iscsi_max_logins = %u\n", cfg->iscsi_max_logins);
    buf_add(&b, "iscsi_max_logins_per_source = %u\n", cfg->iscsi_max_logins_per_source);
    buf_add(&b, "iscsi_login_timeout = %u\n", cfg->iscsi_login_timeout);
    buf_add(&b, "iscsi_first_pdu_timeout = %u\n", cfg->iscsi_first_pdu_timeout);
    buf_add_string(&b, "default_locking", pool_locking_name(cfg->default_locking), "sanlock");
    buf_add(&b, "lease_wait = %u\n", cfg->lease_wait);
    buf_add(&b, "sanlock_timeout = %u\n", cfg->sanlock_timeout);
    buf_add(&b, "refresh_interval_ms = %u\n", cfg->refresh_interval_ms);
    buf_add(&b, "map_max_age_ms = %u\n", cfg->map_max_age_ms);
    buf_add_string(&b, "lvm_locking_dir", cfg->lvm_locking_dir, "the host's lvm.conf setting");
    buf_add_string(&b, "libvirt_uri", cfg->libvirt_uri, "qemu:///system");
    buf_add_string(&b, "libvirt_pool_type",
                   (unsigned)cfg->libvirt_pool_type < 4
                       ? libvirt_pool_type_names[cfg->libvirt_pool_type]
                       : "auto",
                   "auto");
    buf_add_string(&b, "libvirt_initiator", cfg->libvirt_initiator,
                   "iqn.2026-11.org.poold:initiator:<host name>");
    buf_add(&b, "libvirt_timeout = %u\n", cfg->libvirt_timeout);
    buf_add(&b, "libvirt_keepalive_interval = %u\n", cfg->libvirt_keepalive_interval);
    buf_add(&b, "libvirt_keepalive_count = %u\n", cfg->libvirt_keepalive_count);
    if (b.failed) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}
