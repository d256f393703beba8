/*
 * pool-config.h: /etc/poold/poold.conf. Format (libvirt-style):
 *     # comment
 *     key = "string"
 *     key = 123
 *     key = [ "a", "b" ]
 * Unknown keys, wrong types, duplicates and out-of-range values are errors
 * that name the file, line and key. See poold.conf(5).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_CONFIG_H
#define POOL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "pool-alloc.h"

#define POOL_CONFIG_DEFAULT_PATH "/etc/poold/poold.conf"

typedef enum {
    POOL_ACTIVATION_AUTO = 0, /* on if the host has device-mapper */
    POOL_ACTIVATION_ON,
    POOL_ACTIVATION_OFF,
} poolActivation;

typedef struct {
    char *socket_path;    /* "/run/poold/poold.sock" */
    char *socket_group;   /* group allowed besides root; NULL = root only */
    unsigned socket_mode; /* 0660 */
    char *state_dir;      /* "/var/lib/poold" */
    char *lvm_binary;     /* NULL = find lvm in /sbin, /usr/sbin */
    poolActivation activation;
    unsigned lvm_timeout;         /* seconds per lvm command, 120 */
    unsigned log_level;           /* poolLogLevel, "info" */
    char *log_output;             /* "stderr" or "syslog" */
    uint32_t max_message_size;    /* bytes, 4 MiB */
    unsigned max_clients;         /* 64 */
    unsigned client_timeout;      /* seconds a client may take to send a request, 30 */
    char *host_name;              /* NULL = gethostname() */
    char *iscsi_portal;           /* space-separated "ADDR:PORT" / "[V6]:PORT" entries the target
                                   * listens on (portal group tags 1, 2, ... in order); "" = off;
                                   * default "127.0.0.1:3260" (this host only) */
    int default_locking;          /* POOL_LOCKING_* of pools created here: sanlock */
    unsigned lease_wait;          /* seconds a request waits for the pool-metadata lease, 30 */
    unsigned sanlock_timeout;     /* seconds any one call to the sanlock daemon may take, 30 */
    unsigned refresh_interval_ms; /* how often other hosts' VG changes are looked for, 1000 */
    unsigned map_max_age_ms;      /* sanlock pools: a LUN's segment map is used at most this
                                   * long after the last change check, 3000; 0 = no limit */
    char *lvm_locking_dir;        /* lvm's file-lock directory; NULL = the host's */
    char *libvirt_uri;            /* libvirt connection poold publishes pools to: qemu:///system */
    int libvirt_pool_type;        /* POOL_LIBVIRT_POOL_*: auto */
    char *libvirt_initiator;      /* initiator IQN of iscsi-direct pools; NULL = derived from
                                   * the host name */
    unsigned libvirt_timeout;     /* seconds a request waits for a libvirt call, 30 */
    /* libvirt keepalive: a ping every interval s (5); the connection is
     * closed after count (5) unanswered ones */
    unsigned libvirt_keepalive_interval;
    unsigned libvirt_keepalive_count;
    /* iSCSI limits per portal: logged-in sessions (256); connections still
     * logging in (64), of those from one address (16); seconds from connect
     * to logged in (5) and to the first Login Request (2) */
    unsigned iscsi_max_sessions;
    unsigned iscsi_max_logins;
    unsigned iscsi_max_logins_per_source;
    unsigned iscsi_login_timeout;
    unsigned iscsi_first_pdu_timeout;
} poolConfig;

/* How poold publishes its pools in libvirt (libvirt_pool_type). */
#define POOL_LIBVIRT_POOL_AUTO         0 /* logical where LVs are activated, else iscsi-direct */
#define POOL_LIBVIRT_POOL_ISCSI_DIRECT 1
#define POOL_LIBVIRT_POOL_LOGICAL      2
#define POOL_LIBVIRT_POOL_OFF          3

void pool_config_free(poolConfig *cfg);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolConfig, pool_config_free)

/* A config holding every default. */
poolConfig *pool_config_new_default(void);
/* Parse text on top of cfg (origin names the source in messages). */
int pool_config_parse(poolConfig *cfg, const char *text, size_t len, const char *origin);
/* Load path. A missing file is an error unless missing_ok (then defaults). */
poolConfig *pool_config_load(const char *path, bool missing_ok);
/* Format the effective config (poold --check-config prints it). */
char *pool_config_format(const poolConfig *cfg);

/* Parse "A.B.C.D:PORT" or "[v6addr]:PORT" (port 1..65535). addr (if not
 * NULL) receives the address without brackets. */
int pool_parse_portal(const char *text, char *addr, size_t addrlen, uint16_t *port);

#define POOL_MAX_PORTALS 16
/* Split a space-separated portal list (the iscsi_portal value), checking
 * every entry with pool_parse_portal and refusing duplicates. *entries gets
 * a NULL-terminated strv (caller frees with pool_strv_free; NULL for "").
 * Returns the number of entries, or -1 with the error set. */
int pool_parse_portal_list(const char *text, char ***entries);

#endif
