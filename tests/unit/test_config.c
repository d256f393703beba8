// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_config.c: poold.conf parsing and formatting.
 *
 * The parser is strict on purpose (a silently ignored typo leaves a default
 * in force), so the bad-input table is as important as the good one: every
 * kind of mistake must fail with POOL_ERR_CONFIG and name origin:line and,
 * where there is one, the key. Formatting must produce text the parser
 * accepts and that yields the same configuration.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool-config.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "test_support.h"

static int parse(poolConfig *cfg, const char *text)
{
    return pool_config_parse(cfg, text, strlen(text), "test.conf");
}

static void assert_configs_equal(const poolConfig *a, const poolConfig *b)
{
#define STR_EQ(f)                                                                                  \
    do {                                                                                           \
        if (a->f || b->f) {                                                                        \
            ck_assert_ptr_nonnull(a->f);                                                           \
            ck_assert_ptr_nonnull(b->f);                                                           \
            ck_assert_str_eq(a->f, b->f);                                                          \
        }                                                                                          \
    } while (0)
    STR_EQ(socket_path);
    STR_EQ(socket_group);
    STR_EQ(state_dir);
    STR_EQ(lvm_binary);
    STR_EQ(log_output);
    STR_EQ(host_name);
    STR_EQ(lvm_locking_dir);
    STR_EQ(libvirt_uri);
    STR_EQ(libvirt_initiator);
#undef STR_EQ
    ck_assert_int_eq(a->libvirt_pool_type, b->libvirt_pool_type);
    ck_assert_int_eq(a->default_locking, b->default_locking);
    ck_assert_uint_eq(a->lease_wait, b->lease_wait);
    ck_assert_uint_eq(a->refresh_interval_ms, b->refresh_interval_ms);
    ck_assert_uint_eq(a->map_max_age_ms, b->map_max_age_ms);
    ck_assert_uint_eq(a->socket_mode, b->socket_mode);
    ck_assert_int_eq(a->activation, b->activation);
    ck_assert_uint_eq(a->lvm_timeout, b->lvm_timeout);
    ck_assert_uint_eq(a->log_level, b->log_level);
    ck_assert_uint_eq(a->max_message_size, b->max_message_size);
    ck_assert_uint_eq(a->max_clients, b->max_clients);
    ck_assert_uint_eq(a->client_timeout, b->client_timeout);
    ck_assert_uint_eq(a->iscsi_max_sessions, b->iscsi_max_sessions);
    ck_assert_uint_eq(a->iscsi_max_logins, b->iscsi_max_logins);
    ck_assert_uint_eq(a->iscsi_max_logins_per_source, b->iscsi_max_logins_per_source);
    ck_assert_uint_eq(a->iscsi_login_timeout, b->iscsi_login_timeout);
    ck_assert_uint_eq(a->iscsi_first_pdu_timeout, b->iscsi_first_pdu_timeout);
}

START_TEST(test_defaults)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();

    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(cfg->socket_path, "/run/poold/poold.sock");
    ck_assert_ptr_null(cfg->socket_group);
    ck_assert_uint_eq(cfg->socket_mode, 0660);
    ck_assert_str_eq(cfg->state_dir, "/var/lib/poold");
    ck_assert_ptr_null(cfg->lvm_binary);
    ck_assert_int_eq(cfg->activation, POOL_ACTIVATION_AUTO);
    ck_assert_uint_eq(cfg->lvm_timeout, 120);
    ck_assert_uint_eq(cfg->log_level, POOL_LOG_INFO);
    ck_assert_str_eq(cfg->log_output, "stderr");
    ck_assert_uint_eq(cfg->max_message_size, 4 * 1024 * 1024);
    ck_assert_uint_eq(cfg->max_clients, 64);
    ck_assert_uint_eq(cfg->client_timeout, 30);
    ck_assert_uint_eq(cfg->iscsi_max_sessions, 256);
    ck_assert_uint_eq(cfg->iscsi_max_logins, 64);
    ck_assert_uint_eq(cfg->iscsi_max_logins_per_source, 16);
    ck_assert_uint_eq(cfg->iscsi_login_timeout, 5);
    ck_assert_uint_eq(cfg->iscsi_first_pdu_timeout, 2);
    ck_assert_ptr_null(cfg->host_name);
    /* issue 10: a fresh install serves this host only, never the network */
    ck_assert_str_eq(cfg->iscsi_portal, "127.0.0.1:3260");
    ck_assert_int_eq(cfg->default_locking, POOL_LOCKING_SANLOCK);
    ck_assert_uint_eq(cfg->lease_wait, 30);
    ck_assert_uint_eq(cfg->refresh_interval_ms, 1000);
    ck_assert_ptr_null(cfg->lvm_locking_dir);
    ck_assert_str_eq(cfg->libvirt_uri, "qemu:///system");
    ck_assert_int_eq(cfg->libvirt_pool_type, POOL_LIBVIRT_POOL_AUTO);
    ck_assert_ptr_null(cfg->libvirt_initiator);
    ck_assert_uint_eq(cfg->libvirt_timeout, 30);
    ck_assert_uint_eq(cfg->libvirt_keepalive_interval, 5);
    ck_assert_uint_eq(cfg->libvirt_keepalive_count, 5);

    /* Empty text and comment-only text change nothing. */
    ck_assert_int_eq(pool_config_parse(cfg, NULL, 0, "empty"), 0);
    ck_assert_int_eq(parse(cfg, "\n# only a comment\n   \n\t# another\n"), 0);
    ck_assert_str_eq(cfg->socket_path, "/run/poold/poold.sock");
}
END_TEST

static const char good_conf[] = "# poold test configuration\n"
                                "socket_path = \"/run/test/p.sock\"   # trailing comment\n"
                                "socket_group=\"kvm\"\n"
                                "\tsocket_mode = 0770\n"
                                "state_dir = \"/var/lib/poold-test\"\n"
                                "lvm_binary = \"/usr/sbin/lvm\"\n"
                                "activation = \"off\"\r\n"
                                "lvm_timeout = 300\n"
                                "log_level = \"debug\"\n"
                                "log_output = \"syslog\"\n"
                                "max_message_size = 65536\n"
                                "max_clients = 8\n"
                                "client_timeout = 5\n"
                                "iscsi_max_sessions = 32\n"
                                "iscsi_max_logins = 20\n"
                                "iscsi_max_logins_per_source = 4\n"
                                "iscsi_login_timeout = 10\n"
                                "iscsi_first_pdu_timeout = 3\n"
                                "host_name = \"node-1.example\"\n"
                                "default_locking = \"none\"\n"
                                "lease_wait = 0\n"
                                "refresh_interval_ms = 250\n"
                                "lvm_locking_dir = \"/run/poold-test/lvm-lock\"\n"
                                "libvirt_uri = \"qemu:///system?socket=/run/t/libvirt-sock\"\n"
                                "libvirt_pool_type = \"iscsi-direct\"\n"
                                "libvirt_initiator = \"iqn.2026-11.org.example:host1\"\n"
                                "libvirt_timeout = 7\n"
                                "libvirt_keepalive_interval = 2\n"
                                "libvirt_keepalive_count = 3";

START_TEST(test_good_file)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();

    ck_assert_msg(parse(cfg, good_conf) == 0, "%s", pool_error_last_message());
    ck_assert_str_eq(cfg->socket_path, "/run/test/p.sock");
    ck_assert_str_eq(cfg->socket_group, "kvm");
    ck_assert_uint_eq(cfg->socket_mode, 0770);
    ck_assert_str_eq(cfg->state_dir, "/var/lib/poold-test");
    ck_assert_str_eq(cfg->lvm_binary, "/usr/sbin/lvm");
    ck_assert_int_eq(cfg->activation, POOL_ACTIVATION_OFF);
    ck_assert_uint_eq(cfg->lvm_timeout, 300);
    ck_assert_uint_eq(cfg->log_level, POOL_LOG_DEBUG);
    ck_assert_str_eq(cfg->log_output, "syslog");
    ck_assert_uint_eq(cfg->max_message_size, 65536);
    ck_assert_uint_eq(cfg->max_clients, 8);
    ck_assert_uint_eq(cfg->client_timeout, 5);
    ck_assert_uint_eq(cfg->iscsi_max_sessions, 32);
    ck_assert_uint_eq(cfg->iscsi_max_logins, 20);
    ck_assert_uint_eq(cfg->iscsi_max_logins_per_source, 4);
    ck_assert_uint_eq(cfg->iscsi_login_timeout, 10);
    ck_assert_uint_eq(cfg->iscsi_first_pdu_timeout, 3);
    ck_assert_str_eq(cfg->host_name, "node-1.example");
    ck_assert_int_eq(cfg->default_locking, POOL_LOCKING_NONE);
    ck_assert_uint_eq(cfg->lease_wait, 0);
    ck_assert_uint_eq(cfg->refresh_interval_ms, 250);
    ck_assert_str_eq(cfg->lvm_locking_dir, "/run/poold-test/lvm-lock");
    ck_assert_str_eq(cfg->libvirt_uri, "qemu:///system?socket=/run/t/libvirt-sock");
    ck_assert_int_eq(cfg->libvirt_pool_type, POOL_LIBVIRT_POOL_ISCSI_DIRECT);
    ck_assert_str_eq(cfg->libvirt_initiator, "iqn.2026-11.org.example:host1");
    ck_assert_uint_eq(cfg->libvirt_timeout, 7);
    ck_assert_uint_eq(cfg->libvirt_keepalive_interval, 2);
    ck_assert_uint_eq(cfg->libvirt_keepalive_count, 3);
}
END_TEST

START_TEST(test_values)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();

    /* Escapes in strings. */
    ck_assert_int_eq(parse(cfg, "state_dir = \"/var/lib/a \\\"q\\\" b\\\\c\"\n"), 0);
    ck_assert_str_eq(cfg->state_dir, "/var/lib/a \"q\" b\\c");
    /* socket_mode: octal with a leading 0, decimal otherwise. */
    ck_assert_int_eq(parse(cfg, "socket_mode = 0600"), 0);
    ck_assert_uint_eq(cfg->socket_mode, 0600);
    ck_assert_int_eq(parse(cfg, "socket_mode = 384"), 0);
    ck_assert_uint_eq(cfg->socket_mode, 0600);
    ck_assert_int_eq(parse(cfg, "socket_mode = 0"), 0);
    ck_assert_uint_eq(cfg->socket_mode, 0);
    ck_assert_int_eq(parse(cfg, "socket_mode = 0777"), 0);
    ck_assert_uint_eq(cfg->socket_mode, 0777);
    /* Other integers are decimal even with a leading zero. */
    ck_assert_int_eq(parse(cfg, "lvm_timeout = 010"), 0);
    ck_assert_uint_eq(cfg->lvm_timeout, 10);
    /* Range limits are inclusive. */
    ck_assert_int_eq(parse(cfg, "max_message_size = 4096"), 0);
    ck_assert_int_eq(parse(cfg, "max_message_size = 67108864"), 0);
    ck_assert_uint_eq(cfg->max_message_size, 64 * 1024 * 1024);
    /* Each log level and activation mode. */
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    for (unsigned i = 0; i < 4; i++) {
        char line[64];

        snprintf(line, sizeof(line), "log_level = \"%s\"", levels[i]);
        ck_assert_int_eq(parse(cfg, line), 0);
        ck_assert_uint_eq(cfg->log_level, i);
    }
    ck_assert_int_eq(parse(cfg, "activation = \"on\""), 0);
    ck_assert_int_eq(cfg->activation, POOL_ACTIVATION_ON);
    ck_assert_int_eq(parse(cfg, "activation = \"auto\""), 0);
    ck_assert_int_eq(cfg->activation, POOL_ACTIVATION_AUTO);
    /* Later parses layer on top of earlier ones. */
    ck_assert_str_eq(cfg->state_dir, "/var/lib/a \"q\" b\\c");
}
END_TEST

typedef struct {
    const char *text;
    int line;          /* expected "test.conf:LINE:" */
    const char *key;   /* expected "key 'KEY'" or NULL */
    const char *words; /* expected substring of the message */
} badCase;

static const badCase bad_cases[] = {
    /* unknown key, typo */
    {"sockt_path = \"/x\"\n", 1, NULL, "unknown key 'sockt_path'"},
    {"\n\n# c\nfoo = 1\n", 4, NULL, "unknown key 'foo'"},
    {"SOCKET_PATH = \"/x\"", 1, NULL, "unknown key"},
    /* duplicate */
    {"max_clients = 4\nlvm_timeout = 5\nmax_clients = 5\n", 3, "max_clients",
     "duplicate key (first set on line 1)"},
    /* wrong type */
    {"lvm_timeout = \"120\"", 1, "lvm_timeout", "expected an unsigned integer, got a string"},
    {"socket_path = 5", 1, "socket_path", "expected a string, got an unsigned integer"},
    {"host_name = [ \"a\" ]", 1, "host_name", "expected a string, got a list"},
    {"log_level = [\n  \"a\",\n  \"b\"\n]\n", 1, "log_level", "got a list"},
    {"socket_mode = \"0660\"", 1, "socket_mode", "expected an unsigned integer"},
    /* out of range */
    {"max_message_size = 4095", 1, "max_message_size", "out of range 4096..67108864"},
    {"max_message_size = 67108865", 1, "max_message_size", "out of range"},
    {"lvm_timeout = 0", 1, "lvm_timeout", "out of range 1..86400"},
    {"max_clients = 99999999999999999999999", 1, "max_clients", "out of range"},
    {"client_timeout = 3601", 1, "client_timeout", "out of range"},
    {"iscsi_max_logins = 0", 1, "iscsi_max_logins", "out of range"},
    {"iscsi_login_timeout = 301", 1, "iscsi_login_timeout", "out of range"},
    {"socket_mode = 01000", 1, "socket_mode", "out of range 0..0777"},
    {"socket_mode = 512", 1, "socket_mode", "out of range"},
    {"socket_mode = 0680", 1, "socket_mode", "invalid octal number '0680'"},
    {"lvm_timeout = -1", 1, "lvm_timeout", "negative values are not allowed"},
    {"lvm_timeout = 1.5", 1, "lvm_timeout", "invalid number"},
    {"lvm_timeout = 10s", 1, "lvm_timeout", "invalid number"},
    /* enums and value checks */
    {"activation = \"yes\"", 1, "activation", "'yes' is not one of \"auto\", \"on\", \"off\""},
    {"log_level = \"warning\"", 1, "log_level", "'warning' is not one of"},
    {"log_output = \"file\"", 1, "log_output", "'file' is not one of"},
    {"socket_path = \"run/p.sock\"", 1, "socket_path", "not an absolute path"},
    {"state_dir = \"\"", 1, "state_dir", "not an absolute path"},
    {"lvm_binary = \"lvm\"", 1, "lvm_binary", "not an absolute path"},
    {"socket_path = \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"",
     1, "socket_path", "path longer than 107 bytes"},
    {"socket_group = \"kvm users\"", 1, "socket_group", "not a valid group name"},
    {"socket_group = \"\"", 1, "socket_group", "group name must be"},
    {"host_name = \"node/1\"", 1, "host_name", "invalid host name 'node/1'"},
    {"host_name = \"-node\"", 1, "host_name", "must start with a letter or digit"},
    {"default_locking = \"dlm\"", 1, "default_locking", "not one of \"sanlock\", \"none\""},
    {"default_locking = 1", 1, "default_locking", "expected a string"},
    {"lease_wait = 3601", 1, "lease_wait", "3601"},
    {"refresh_interval_ms = \"fast\"", 1, "refresh_interval_ms", "expected"},
    {"lvm_locking_dir = \"lock\"", 1, "lvm_locking_dir", "not an absolute path"},
    {"libvirt_uri = \"qemu\"", 1, "libvirt_uri", "not a libvirt URI"},
    {"libvirt_pool_type = \"dir\"", 1, "libvirt_pool_type", "not one of"},
    {"libvirt_initiator = \"host1\"", 1, "libvirt_initiator", "host1"},
    /* syntax */
    {"socket_path \"/x\"", 1, "socket_path", "expected '='"},
    {"socket_path =", 1, "socket_path", "missing value"},
    {"socket_path = # nothing\n", 1, "socket_path", "missing value"},
    {"log_output = syslog", 1, "log_output", "strings need double quotes"},
    {"socket_path = \"/x", 1, "socket_path", "unterminated string"},
    {"socket_path = \"/x\n\"", 1, "socket_path", "unterminated string"},
    {"socket_path = \"/x\\n\"", 1, "socket_path", "invalid escape '\\n'"},
    {"socket_path = \"/x\ty\"", 1, "socket_path", "control character 0x09"},
    {"socket_path = \"/x\" \"/y\"", 1, "socket_path", "unexpected text after the value"},
    {"lvm_timeout = 5 6", 1, "lvm_timeout", "unexpected text after the value"},
    {"lvm_timeout = 5; max_clients = 3", 1, "lvm_timeout", "unexpected text"},
    {"host_name = [ \"a\", ", 1, "host_name", "unterminated list (opened on line 1)"},
    {"host_name = [ \"a\"\n\n \"b\" ]", 3, "host_name", "expected ',' or ']'"},
    {"host_name = [ 1 ]", 1, "host_name", "lists may contain only strings"},
    {"host_name = [ , ]", 1, "host_name", "lists may contain only strings"},
    {"= 5", 1, NULL, "expected a key name, found '='"},
    {"\n\"key\" = 5", 2, NULL, "expected a key name"},
    {"9key = 5", 1, NULL, "expected a key name"},
    {"max_clients = 4\n\x01", 2, NULL, "byte 0x01"},
    {"log_output = @", 1, "log_output", "expected a value"},
};

START_TEST(test_bad_input)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();
        POOL_AUTOPTR(poolConfig) before = pool_config_new_default();
        const badCase *c = &bad_cases[i];
        const char *msg;
        char want[128];

        pool_error_reset();
        ck_assert_msg(parse(cfg, c->text) == -1, "case %zu accepted: %s", i, c->text);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFIG);
        msg = pool_error_last_message();
        snprintf(want, sizeof(want), "test.conf:%d: ", c->line);
        ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "case %zu: '%s' lacks '%s'", i, msg,
                      want);
        if (c->key) {
            snprintf(want, sizeof(want), "key '%s': ", c->key);
            ck_assert_msg(strstr(msg, want) != NULL, "case %zu: '%s' lacks '%s'", i, msg, want);
        }
        ck_assert_msg(strstr(msg, c->words) != NULL, "case %zu: '%s' lacks '%s'", i, msg, c->words);
        ck_assert_ptr_null(strchr(msg, '\n'));
        /* A failed parse leaves the configuration untouched. */
        assert_configs_equal(cfg, before);
    }
}
END_TEST

START_TEST(test_failed_parse_is_atomic)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();

    ck_assert_int_eq(parse(cfg, "max_clients = 7\nstate_dir = \"/a\"\nbogus = 1\n"), -1);
    ck_assert_uint_eq(cfg->max_clients, 64);
    ck_assert_str_eq(cfg->state_dir, "/var/lib/poold");
}
END_TEST

START_TEST(test_lists_parse)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();

    /* Lists are valid syntax (even spanning lines with comments) but no
     * key takes one yet: the error is about the type, on the key's line. */
    ck_assert_int_eq(parse(cfg, "\nsocket_group = [\n  \"a\", # first\n\n  \"b\",\n]\n"), -1);
    ck_assert_str_eq(pool_error_last_message(),
                     "test.conf:2: key 'socket_group': expected a string, got a list");
    ck_assert_int_eq(parse(cfg, "socket_group = []"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "got a list"));
    /* Line numbers keep counting inside a multi-line list. */
    ck_assert_int_eq(parse(cfg, "socket_group = \"kvm\"\nhost_name = [\n\"x\"\n] junk\n"), -1);
    ck_assert_str_eq(pool_error_last_message(),
                     "test.conf:4: key 'host_name': unexpected text after the value");
}
END_TEST

START_TEST(test_format_round_trip)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();
    POOL_AUTOPTR(poolConfig) again = pool_config_new_default();
    POOL_AUTOPTR(poolConfig) defaults = pool_config_new_default();
    POOL_AUTOPTR(poolConfig) defaults2 = pool_config_new_default();
    POOL_AUTOFREE(char *) text = NULL;
    POOL_AUTOFREE(char *) text2 = NULL;
    POOL_AUTOFREE(char *) dtext = NULL;

    ck_assert_int_eq(parse(cfg, good_conf), 0);
    ck_assert_int_eq(parse(cfg, "state_dir = \"/var/lib/with \\\"quote\\\" and \\\\\""), 0);
    text = pool_config_format(cfg);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "socket_mode = 0770\n"));
    ck_assert_ptr_nonnull(strstr(text, "activation = \"off\"\n"));
    ck_assert_ptr_nonnull(strstr(text, "log_level = \"debug\"\n"));
    ck_assert_msg(pool_config_parse(again, text, strlen(text), "formatted") == 0, "%s\n%s",
                  pool_error_last_message(), text);
    assert_configs_equal(cfg, again);
    text2 = pool_config_format(again);
    ck_assert_str_eq(text, text2);

    /* Defaults (with unset optional strings) round-trip too. */
    dtext = pool_config_format(defaults);
    ck_assert_ptr_nonnull(dtext);
    ck_assert_int_eq(pool_config_parse(defaults2, dtext, strlen(dtext), "formatted"), 0);
    assert_configs_equal(defaults, defaults2);
    ck_assert_ptr_null(defaults2->socket_group);
    ck_assert_ptr_null(defaults2->host_name);
    ck_assert_ptr_null(defaults2->lvm_binary);
    ck_assert_ptr_nonnull(strstr(dtext, "socket_mode = 0660\n"));
    ck_assert_ptr_nonnull(strstr(dtext, "max_message_size = 4194304\n"));
}
END_TEST

START_TEST(test_load)
{
    char dir[] = "/tmp/test_config.XXXXXX";
    char path[256];
    poolConfig *cfg;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/poold.conf", dir);

    /* Missing file: error unless missing_ok. */
    cfg = pool_config_load(path, false);
    ck_assert_ptr_null(cfg);
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), path));
    cfg = pool_config_load(path, true);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->lvm_timeout, 120);
    pool_config_free(cfg);

    ck_assert_int_eq(pool_file_write_atomic(path, good_conf, strlen(good_conf), 0644), 0);
    cfg = pool_config_load(path, false);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->max_clients, 8);
    pool_config_free(cfg);

    /* Errors name the file. */
    ck_assert_int_eq(pool_file_write_atomic(path, "\nmax_clients = 0\n", 17, 0644), 0);
    ck_assert_ptr_null(pool_config_load(path, true));
    ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFIG);
    {
        char want[300];

        snprintf(want, sizeof(want), "%s:2: key 'max_clients'", path);
        ck_assert_ptr_nonnull(strstr(pool_error_last_message(), want));
    }

    /* The shipped example (everything commented out) parses to defaults. */
    {
        POOL_AUTOPTR(poolConfig) defaults = pool_config_new_default();
        char example[512];

        snprintf(example, sizeof(example), "%s/data/poold.conf", POOL_SRCDIR);
        if (access(example, R_OK) == 0) {
            cfg = pool_config_load(example, false);
            ck_assert_msg(cfg != NULL, "%s", pool_error_last_message());
            assert_configs_equal(cfg, defaults);
            pool_config_free(cfg);
        }
    }

    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_embedded_nul)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();
    static const char text[] = "max_clients = 5\n\0max_clients = 6\n";

    /* Length, not NUL, ends the text: the NUL is an error on line 2. */
    ck_assert_int_eq(pool_config_parse(cfg, text, sizeof(text) - 1, "nul"), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "nul:2:"));
    /* And a prefix length stops before it. */
    ck_assert_int_eq(pool_config_parse(cfg, text, 16, "nul"), 0);
    ck_assert_uint_eq(cfg->max_clients, 5);
}
END_TEST

START_TEST(test_portal_list)
{
    POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();
    char **list = NULL;

    /* several portals, each its own portal group (the order is the tag) */
    ck_assert_int_eq(parse(cfg, "iscsi_portal = \"127.0.0.1:3260  [::1]:3261 10.0.0.1:1\"\n"), 0);
    ck_assert_int_eq(pool_parse_portal_list(cfg->iscsi_portal, &list), 3);
    ck_assert_str_eq(list[0], "127.0.0.1:3260");
    ck_assert_str_eq(list[1], "[::1]:3261");
    ck_assert_str_eq(list[2], "10.0.0.1:1");
    ck_assert_ptr_null(list[3]);
    pool_strv_free(list);
    /* "" (and blanks only) = the target is off: no entries */
    ck_assert_int_eq(pool_parse_portal_list("", &list), 0);
    ck_assert_ptr_null(list);
    ck_assert_int_eq(pool_parse_portal_list("   ", &list), 0);
    ck_assert_ptr_null(list);

    /* each entry is checked: one bad entry rejects the whole value, naming it */
    static const char *const bad[] = {
        "127.0.0.1:3260 127.0.0.1",      "127.0.0.1:3260 127.0.0.1:0",    "1.2.3.4:3260 ::1:3260",
        "127.0.0.1:3260 127.0.0.1:3260", "127.0.0.1:3260,127.0.0.1:3261",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "iscsi_portal = \"%s\"\n", bad[i]);
        ck_assert_msg(parse(cfg, text) == -1, "accepted: %s", bad[i]);
        ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFIG);
        ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "key 'iscsi_portal'"));
        ck_assert_int_eq(pool_parse_portal_list(bad[i], &list), -1);
        ck_assert_ptr_null(list);
    }
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "'127.0.0.1:3260,127.0.0.1:3261'"));
    ck_assert_int_eq(pool_parse_portal_list("127.0.0.1:1 127.0.0.1:1", &list), -1);
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "listed twice"));

    /* at most POOL_MAX_PORTALS */
    char many[1024] = "";
    for (int i = 0; i <= POOL_MAX_PORTALS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "127.0.0.1:%d ", 3000 + i);
    ck_assert_int_eq(pool_parse_portal_list(many, &list), -1);
}
END_TEST

/* A segment map's lifetime must leave room for the change checks that
 * renew it (docs/design.md section 7, "Freed extents"). */
START_TEST(test_map_max_age)
{
    static const struct {
        const char *text;
        int ok;
        unsigned age;
    } cases[] = {
        {"", 1, 3000},
        {"map_max_age_ms = 5000\nrefresh_interval_ms = 4000", 1, 5000},
        {"map_max_age_ms = 0\nrefresh_interval_ms = 0", 1, 0},
        {"map_max_age_ms = 4999\nrefresh_interval_ms = 4000", 0, 0},
        {"refresh_interval_ms = 0", 0, 0},
        {"refresh_interval_ms = 2001", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        POOL_AUTOPTR(poolConfig) cfg = pool_config_new_default();
        pool_error_reset();
        int r = parse(cfg, cases[i].text);
        ck_assert_msg(r == (cases[i].ok ? 0 : -1), "case %zu: %s", i, cases[i].text);
        if (cases[i].ok) {
            ck_assert_uint_eq(cfg->map_max_age_ms, cases[i].age);
        } else {
            ck_assert_int_eq(pool_error_last_code(), POOL_ERR_CONFIG);
            ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "map_max_age_ms"));
            ck_assert_uint_eq(cfg->map_max_age_ms, 3000); /* unchanged */
        }
    }
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_good_file);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_failed_parse_is_atomic);
    tcase_add_test(tc, test_lists_parse);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_load);
    tcase_add_test(tc, test_embedded_nul);
    tcase_add_test(tc, test_portal_list);
    tcase_add_test(tc, test_map_max_age);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(config_suite());
}
