/*
 * libvirt_pool.c: one libvirt storage pool per managed pool (docs/design.md
 * choice 6), so `virsh pool-list`, `vol-list`, `vol-info` are current.
 *
 * Rules.
 *  - Type (libvirt_pool_type): "auto" is "logical" where poold activates
 *    LVs (activation not "off" and the host has device-mapper), else
 *    "iscsi-direct"; "off" disables all of this. iscsi-direct points at the
 *    embedded target: host = the first iscsi_portal address (0.0.0.0 ->
 *    127.0.0.1, :: -> ::1) and its port, device = the pool's target IQN,
 *    initiator = libvirt_initiator or "iqn.2026-11.org.poold:initiator:"
 *    + the host name (host_name or gethostname(), lower case, '_' and '+'
 *    as '-'). Without a portal (iscsi_portal = "") an iscsi-direct pool
 *    cannot be published: logged once, skipped.
 *  - Name: the libvirt pool is named like the poold pool.
 *  - Ownership: a libvirt pool of that name is poold's when its persistent
 *    definition has the type and the source identity poold would write
 *    (iscsi-direct: same host, port and target IQN; logical: same VG
 *    name). Nothing else is recorded: the definition is the mark. Another
 *    pool of that name (an operator's) is never redefined, started,
 *    refreshed or undefined; poold logs an error once and leaves it. A pool
 *    of ours whose other details differ (e.g. libvirt_initiator changed) is
 *    redefined and restarted.
 *  - When: at startup for every pool, after pool create/import (define,
 *    start, autostart, refresh), after pool destroy (destroy + undefine if
 *    ours), after volume create/resize/delete/export/unexport here and when
 *    refresh.c sees another host's change (refresh). A refresh of a pool
 *    that is not active starts it (which refreshes it).
 *  - Never blocking poold: every libvirt call runs on this file's worker
 *    thread; the main loop only queues jobs (queued refreshes of one pool
 *    coalesce). The connection is opened lazily, and after a failure
 *    (libvirtd down or restarted) reopened at most every
 *    LIBVIRT_RECONNECT_MS; once reopened, every published pool is checked
 *    again (define/start/autostart/refresh). Failures are logged only; a
 *    failed start or refresh is tried again with a backoff (1 s .. 30 s)
 *    and warned about once it failed three times in a row.
 *  - Pool destroy takes the libvirt pool away first and waits for that
 *    (poold_libvirt_unpublish_wait), while the VG and the target still
 *    exist: a logical pool cannot even be stopped once its VG is gone
 *    (libvirt runs vgchange -aln), and no refresh may run against a target
 *    being taken down. A destroy that fails publishes the pool again.
 *  - An iscsi-direct refresh makes libvirtd log in to this poold's own
 *    target; the target runs on its own threads and the worker is not the
 *    main loop, so nothing waits on itself.
 *  - CHAP (libvirt_secret.h): when the pool's target has CHAP set, the
 *    definition's <source> gets <auth type='chap' username='USER'><secret
 *    usage='poold-IQN'/></auth>, and before the pool is defined, started or
 *    refreshed by ensure() the worker defines that libvirt secret and sets
 *    its value; with CHAP cleared, the pool is defined without <auth> and
 *    the secret undefined. A CHAP change (target chap set | clear) publishes
 *    the pool again: a new user or CHAP on/off is a new definition (pool
 *    restarted), a new secret only a new value (the next login uses it).
 *    The value travels in the job and the wanted table only (wiped when
 *    freed), never in the definition or a log line. Mutual CHAP cannot
 *    work (libvirt's iscsi-direct backend does one-way CHAP only):
 *    handlers_target.c refuses it while pools are published as
 *    iscsi-direct; one found at startup is logged as an error. Unpublishing
 *    a pool (pool destroy) undefines its secret too.
 *
 * Threads: the job queue is shared (mutex + condition); the connection and
 * the `wanted` table belong to the worker alone. The connection has
 * keepalive on (libvirt_domain.h), so a hung libvirtd holds the worker
 * for at most libvirt_keepalive_interval x (libvirt_keepalive_count + 1)
 * seconds per call once connected; requests never wait for the worker
 * except pool destroy (poold_libvirt_unpublish_wait, bounded).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "libvirt_domain.h"
#include "libvirt_pool.h"
#include "libvirt_secret.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-lvm.h"
#include "pool-util.h"
#include "pool-xml.h"
#include "iscsi/target.h"

#define LIBVIRT_RECONNECT_MS     3000
#define LIBVIRT_INITIATOR_PREFIX "iqn.2026-11.org.poold:initiator:"

typedef enum { JOB_PUBLISH, JOB_UNPUBLISH, JOB_REFRESH } lvJobKind;

typedef struct lvJob {
    lvJobKind kind;
    char *pool;
    char *xml;    /* JOB_PUBLISH: the definition */
    char *secret; /* JOB_PUBLISH: the target's CHAP secret (NULL: none) */
    struct lvJob *next;
} lvJob;

typedef struct {
    char *pool;
    char *xml;
    char *secret; /* the target's CHAP secret, NULL without CHAP */
    bool ours;    /* the libvirt pool of that name was seen to be ours */
    bool warned;  /* "not ours" logged */
    /* a refresh that failed is tried again at retry_ms (0: none due);
     * fails counts the failed rounds in a row, warned_fail says the streak
     * was logged as a warning */
    uint64_t retry_ms;
    unsigned fails;
    bool warned_fail;
} lvWanted;

struct poolLibvirt {
    char *uri;
    int type; /* POOL_LIBVIRT_POOL_ISCSI_DIRECT or _LOGICAL */
    /* iscsi-direct source (main thread) */
    char *host;
    unsigned port;
    char *initiator;
    bool warned_no_target;
    /* shared */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    lvJob *head, *tail;
    uint64_t queued, done; /* jobs appended / finished (unpublish_wait) */
    pthread_cond_t done_cond;
    bool stop, exited;
    /* worker only */
    virConnectPtr conn;
    const poolConfig *cfg; /* keepalive settings */
    uint64_t next_connect_ms;
    bool conn_failed_logged;
    bool resync; /* check every wanted pool once connected */
    lvWanted *wanted;
    size_t nwanted;
};

static const char *lv_errmsg(void)
{
    const char *m = virGetLastErrorMessage();
    return m ? m : "unknown libvirt error";
}

/* libvirt prints every error on stderr unless told otherwise: poold logs
 * the ones it cares about itself. */
static void lv_quiet(void *opaque, virErrorPtr err)
{
}

/* A CHAP secret is wiped before its memory goes back. */
static void secret_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

static void job_free(lvJob *j)
{
    if (!j)
        return;
    free(j->pool);
    free(j->xml);
    secret_free(j->secret);
    free(j);
}

/* ---- source description (main thread) ------------------------------------ */

char *poold_libvirt_initiator(const poolConfig *cfg)
{
    if (cfg->libvirt_initiator)
        return pool_strdup(cfg->libvirt_initiator);
    char hn[256];
    snprintf(hn, sizeof(hn), "%s", pool_host_name(cfg->host_name));
    for (char *p = hn; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            *p = '-';
    }
    return pool_asprintf("%s%s", LIBVIRT_INITIATOR_PREFIX, hn);
}

int poold_libvirt_portal(const poolConfig *cfg, char **host, unsigned *port)
{
    POOL_AUTOSTRV entries = NULL;
    *host = NULL;
    *port = 0;
    if (!cfg->iscsi_portal || !cfg->iscsi_portal[0])
        return 0;
    if (pool_parse_portal_list(cfg->iscsi_portal, &entries) <= 0 || !entries)
        return -1;
    char addr[128];
    uint16_t p;
    if (pool_parse_portal(entries[0], addr, sizeof(addr), &p) < 0)
        return -1;
    if (strcmp(addr, "0.0.0.0") == 0)
        snprintf(addr, sizeof(addr), "127.0.0.1");
    else if (strcmp(addr, "::") == 0)
        snprintf(addr, sizeof(addr), "::1");
    *host = pool_strdup(addr);
    *port = p;
    return *host ? 0 : -1;
}

/* s with the five XML special characters as entities (a CHAP user name
 * may hold any printable character); caller frees. */
static char *xml_escape(const char *s)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += strchr("<>&'\"", *p) ? 6 : 1;
    char *out = malloc(n), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        const char *e = *p == '<'    ? "&lt;"
                        : *p == '>'  ? "&gt;"
                        : *p == '&'  ? "&amp;"
                        : *p == '\'' ? "&apos;"
                        : *p == '"'  ? "&quot;"
                                     : NULL;
        if (e)
            o = stpcpy(o, e);
        else
            *o++ = *p;
    }
    *o = '\0';
    return out;
}

/* <auth> for the pool's <source> when its target has CHAP ("" without);
 * caller frees. */
static char *auth_xml(const char *pool, const char *chap_user)
{
    if (!chap_user)
        return pool_strdup("");
    POOL_AUTOFREE(char *) user = xml_escape(chap_user);
    POOL_AUTOFREE(char *) usage = poold_libvirt_secret_usage(pool);
    if (!user || !usage)
        return NULL;
    return pool_asprintf("    <auth type='chap' username='%s'>\n"
                         "      <secret usage='%s'/>\n"
                         "    </auth>\n",
                         user, usage);
}

static char *build_xml(poolLibvirt *lv, poolExport *ex, const char *pool, const char *chap_user)
{
    if (lv->type == POOL_LIBVIRT_POOL_LOGICAL)
        return pool_asprintf("<pool type='logical'>\n"
                             "  <name>%s</name>\n"
                             "  <source>\n"
                             "    <name>%s</name>\n"
                             "    <format type='lvm2'/>\n"
                             "  </source>\n"
                             "  <target>\n"
                             "    <path>/dev/%s</path>\n"
                             "  </target>\n"
                             "</pool>\n",
                             pool, pool, pool);
    if (!lv->host) {
        if (!lv->warned_no_target)
            log_warnx("libvirt: the iSCSI target is off (iscsi_portal is empty): pools cannot be "
                      "published as iscsi-direct storage pools");
        lv->warned_no_target = true;
        return NULL;
    }
    if (!ex || !poold_export_has_pool(ex, pool)) {
        log_pool(POOL_LOG_WARN, pool,
                 "no iSCSI target here: not published as a libvirt storage pool");
        return NULL;
    }
    POOL_AUTOFREE(char *) auth = auth_xml(pool, chap_user);
    if (!auth)
        return NULL;
    return pool_asprintf("<pool type='iscsi-direct'>\n"
                         "  <name>%s</name>\n"
                         "  <source>\n"
                         "    <host name='%s' port='%u'/>\n"
                         "    <device path='%s%s'/>\n"
                         "%s"
                         "    <initiator>\n"
                         "      <iqn name='%s'/>\n"
                         "    </initiator>\n"
                         "  </source>\n"
                         "</pool>\n",
                         pool, lv->host, lv->port, TGT_IQN_PREFIX, pool, auth, lv->initiator);
}

/* ---- ownership: compare definitions ------------------------------------- */

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
            return c;
    return NULL;
}

static void add_prop(char *buf, size_t len, xmlNodePtr n, const char *attr)
{
    xmlChar *v = n ? xmlGetProp(n, BAD_CAST attr) : NULL;
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "|%s", v ? (const char *)v : "");
    xmlFree(v);
}

static void add_text(char *buf, size_t len, xmlNodePtr n)
{
    xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "|%s", v ? (const char *)v : "");
    xmlFree(v);
}

/* identity: what makes the pool poold's; detail: the rest poold writes */
static int describe(const char *xml, char *identity, char *detail, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                                      XML_PARSE_NOWARNING);
    if (!doc)
        return -1;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr src = child(root, "source");
    identity[0] = detail[0] = '\0';
    add_prop(identity, len, root, "type");
    add_prop(identity, len, child(src, "host"), "name");
    add_prop(identity, len, child(src, "host"), "port");
    add_prop(identity, len, child(src, "device"), "path");
    add_text(identity, len, child(src, "name"));
    add_prop(detail, len, child(child(src, "initiator"), "iqn"), "name");
    add_prop(detail, len, child(src, "format"), "type");
    add_text(detail, len, child(child(root, "target"), "path"));
    add_prop(detail, len, child(src, "auth"), "type");
    add_prop(detail, len, child(src, "auth"), "username");
    add_prop(detail, len, child(child(src, "auth"), "secret"), "usage");
    xmlFreeDoc(doc);
    return 0;
}

/* ---- worker --------------------------------------------------------------- */

static lvWanted *wanted_find(poolLibvirt *lv, const char *pool)
{
    for (size_t i = 0; i < lv->nwanted; i++)
        if (strcmp(lv->wanted[i].pool, pool) == 0)
            return &lv->wanted[i];
    return NULL;
}

static void wanted_remove(poolLibvirt *lv, const char *pool)
{
    lvWanted *w = wanted_find(lv, pool);
    if (!w)
        return;
    free(w->pool);
    free(w->xml);
    secret_free(w->secret);
    *w = lv->wanted[--lv->nwanted];
}

/* Take the definition (xml) and the CHAP secret; NULL if out of memory. */
static lvWanted *wanted_set(poolLibvirt *lv, const char *pool, char *xml, char *secret)
{
    lvWanted *w = wanted_find(lv, pool);
    if (w) {
        free(w->xml);
        secret_free(w->secret);
        w->xml = xml;
        w->secret = secret;
        w->ours = w->warned = false;
        return w;
    }
    lvWanted *n = realloc(lv->wanted, (lv->nwanted + 1) * sizeof(*n));
    char *name = pool_strdup(pool);
    if (!n || !name) {
        if (n)
            lv->wanted = n;
        free(name);
        free(xml);
        secret_free(secret);
        return NULL;
    }
    lv->wanted = n;
    w = &lv->wanted[lv->nwanted++];
    *w = (lvWanted){.pool = name, .xml = xml, .secret = secret};
    return w;
}

/* A call failed: if the connection is gone, drop it; the next use
 * reconnects and checks every published pool again. */
static void conn_check(poolLibvirt *lv)
{
    if (lv->conn && virConnectIsAlive(lv->conn) != 1) {
        log_warnx("libvirt: lost the connection to %s; reconnecting", lv->uri);
        virConnectClose(lv->conn);
        lv->conn = NULL;
        lv->resync = true;
        lv->next_connect_ms = pool_monotonic_ms() + LIBVIRT_RECONNECT_MS;
    }
}

static int ensure(poolLibvirt *lv, lvWanted *w);

static virConnectPtr conn_get(poolLibvirt *lv)
{
    if (lv->conn)
        return lv->conn;
    uint64_t now = pool_monotonic_ms();
    if (now < lv->next_connect_ms)
        return NULL;
    lv->conn = virConnectOpen(lv->uri);
    if (!lv->conn) {
        lv->next_connect_ms = now + LIBVIRT_RECONNECT_MS;
        lv->resync = true;
        if (!lv->conn_failed_logged)
            log_warnx("libvirt: cannot connect to %s (retrying every %d s): %s", lv->uri,
                      LIBVIRT_RECONNECT_MS / 1000, lv_errmsg());
        lv->conn_failed_logged = true;
        return NULL;
    }
    /* a libvirtd that stops answering closes the connection after
     * keepalive_interval x (keepalive_count + 1) s, so a call stuck in it
     * fails and the worker moves on (conn_check then reconnects) */
    poold_libvirt_keepalive(lv->conn, lv->cfg);
    log_info("libvirt: connected to %s", lv->uri);
    lv->conn_failed_logged = false;
    if (lv->resync) {
        lv->resync = false;
        for (size_t i = 0; i < lv->nwanted && lv->conn; i++)
            ensure(lv, &lv->wanted[i]);
    }
    return lv->conn;
}

/* A start or refresh failed with the connection still up. The pool's
 * target may be briefly unreachable (a LUN going away under the scan, a
 * loaded host), so the pool is tried again, backing off from 1 s to 30 s;
 * a warning is logged only once three rounds in a row failed (so about
 * 4 s of failures), and the recovery is logged after it. */
static void refresh_failed(poolLibvirt *lv, lvWanted *w, const char *what)
{
    /* copied first: every libvirt call, virConnectIsAlive included, resets
     * the thread's last error ("no error" in the log otherwise) */
    char why[512];
    snprintf(why, sizeof(why), "%s", lv_errmsg());
    if (!lv->conn || virConnectIsAlive(lv->conn) != 1)
        return; /* conn_check drops it; the reconnect checks every pool */
    w->fails++;
    unsigned shift = w->fails < 6 ? w->fails - 1 : 5;
    uint64_t delay = (uint64_t)1000 << shift;
    w->retry_ms = pool_monotonic_ms() + (delay < 30000 ? delay : 30000);
    if (w->fails >= 3 && !w->warned_fail) {
        log_pool(POOL_LOG_WARN, w->pool, "%s (%u times in a row; still trying): %s", what, w->fails,
                 why);
        w->warned_fail = true;
    } else {
        log_pool(POOL_LOG_DEBUG, w->pool, "%s (try %u; again in %llu ms): %s", what, w->fails,
                 (unsigned long long)(w->retry_ms - pool_monotonic_ms()), why);
    }
}

static void refresh_worked(lvWanted *w)
{
    if (w->warned_fail)
        log_pool(POOL_LOG_INFO, w->pool, "libvirt pool current again after %u failed tries",
                 w->fails);
    w->fails = 0;
    w->retry_ms = 0;
    w->warned_fail = false;
}

/* Start (which refreshes) or refresh an existing libvirt pool of ours. */
static int start_or_refresh(poolLibvirt *lv, virStoragePoolPtr p, lvWanted *w)
{
    int active = virStoragePoolIsActive(p);
    if (active == 1) {
        /* An iscsi-direct refresh is a whole login, REPORT LUNS and a scan
         * of each LUN: one racing a LUN going away (a delete on any host)
         * fails. On this worker thread a short pause and a new try cost
         * nothing; what keeps failing goes to refresh_failed. */
        int r = -1;
        for (int attempt = 0; attempt < 3 && r < 0; attempt++) {
            if (attempt > 0) {
                log_pool(POOL_LOG_DEBUG, w->pool, "libvirt pool refresh failed (%s); retrying",
                         lv_errmsg());
                poll(NULL, 0, 200 * attempt);
            }
            r = virStoragePoolRefresh(p, 0);
        }
        if (r < 0) {
            refresh_failed(lv, w, "libvirt pool refresh failed");
            return -1;
        }
        refresh_worked(w);
        log_pool(POOL_LOG_DEBUG, w->pool, "libvirt pool refreshed");
        return 0;
    }
    if (virStoragePoolCreate(p, 0) < 0) {
        refresh_failed(lv, w, "cannot start the libvirt pool");
        return -1;
    }
    refresh_worked(w);
    log_pool(POOL_LOG_INFO, w->pool, "libvirt pool started");
    return 0;
}

/* The libvirt secret of the pool's CHAP secret, set before the pool is
 * (re)defined or started so its logins find it. */
static int secret_ensure(poolLibvirt *lv, lvWanted *w)
{
    if (lv->type != POOL_LIBVIRT_POOL_ISCSI_DIRECT || !w->secret)
        return 0;
    POOL_AUTOFREE(char *) usage = poold_libvirt_secret_usage(w->pool);
    if (!usage || poold_libvirt_secret_set(lv->conn, usage, w->secret) < 0) {
        log_pool(POOL_LOG_WARN, w->pool, "%s", pool_error_last_message());
        conn_check(lv);
        return -1;
    }
    return 0;
}

/* CHAP is off: the secret goes, once no definition of ours names it. */
static void secret_drop(poolLibvirt *lv, lvWanted *w)
{
    if (lv->type != POOL_LIBVIRT_POOL_ISCSI_DIRECT || w->secret || !lv->conn)
        return;
    POOL_AUTOFREE(char *) usage = poold_libvirt_secret_usage(w->pool);
    if (usage && poold_libvirt_secret_remove(lv->conn, usage) < 0)
        log_pool(POOL_LOG_WARN, w->pool, "%s", pool_error_last_message());
}

static int ensure_pool(poolLibvirt *lv, lvWanted *w);

/* xml (one of build_xml's) with the existing pool's <uuid> after <name>;
 * caller frees, NULL on failure. */
static char *with_uuid(virStoragePoolPtr p, const char *xml)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    const char *end = strstr(xml, "</name>\n");
    if (virStoragePoolGetUUIDString(p, uuid) < 0 || !end)
        return NULL;
    end += strlen("</name>\n");
    return pool_asprintf("%.*s  <uuid>%s</uuid>\n%s", (int)(end - xml), xml, uuid, end);
}

/* Define (or take over) the libvirt pool, autostart, start/refresh, with
 * the CHAP secret in libvirt first (or removed after). */
static int ensure(poolLibvirt *lv, lvWanted *w)
{
    if (secret_ensure(lv, w) < 0)
        return -1;
    int r = ensure_pool(lv, w);
    if (w->ours)
        secret_drop(lv, w);
    return r;
}

static int ensure_pool(poolLibvirt *lv, lvWanted *w)
{
    virConnectPtr conn = lv->conn;
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, w->pool);
    if (!p) {
        virErrorPtr e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_STORAGE_POOL) {
            log_pool(POOL_LOG_WARN, w->pool, "libvirt pool lookup failed: %s", lv_errmsg());
            conn_check(lv);
            return -1;
        }
        p = virStoragePoolDefineXML(conn, w->xml, 0);
        if (!p) {
            log_pool(POOL_LOG_ERROR, w->pool, "cannot define the libvirt pool: %s", lv_errmsg());
            conn_check(lv);
            return -1;
        }
        log_pool(POOL_LOG_INFO, w->pool, "libvirt pool defined");
    } else {
        char have_id[1024], have_detail[1024], want_id[1024], want_detail[1024];
        char *desc = virStoragePoolGetXMLDesc(p, VIR_STORAGE_XML_INACTIVE);
        if (!desc) {
            log_pool(POOL_LOG_WARN, w->pool, "cannot read the libvirt pool: %s", lv_errmsg());
            virStoragePoolFree(p);
            conn_check(lv);
            return -1;
        }
        int r1 = describe(desc, have_id, have_detail, sizeof(have_id));
        int r2 = describe(w->xml, want_id, want_detail, sizeof(want_id));
        free(desc);
        if (r1 < 0 || r2 < 0 || strcmp(have_id, want_id) != 0) {
            if (!w->warned)
                log_pool(POOL_LOG_ERROR, w->pool,
                         "libvirt already has a storage pool of this name with another type or "
                         "source (%s, poold's would be %s): left alone, not published",
                         have_id + 1, want_id + 1);
            w->warned = true;
            w->ours = false;
            virStoragePoolFree(p);
            return -1;
        }
        if (strcmp(have_detail, want_detail) != 0) {
            /* a definition without the pool's uuid would be another pool
             * of the same name, which libvirt refuses */
            POOL_AUTOFREE(char *) xml = with_uuid(p, w->xml);
            virStoragePoolPtr np = xml ? virStoragePoolDefineXML(conn, xml, 0) : NULL;
            if (!np) {
                log_pool(POOL_LOG_WARN, w->pool, "cannot update the libvirt pool: %s", lv_errmsg());
            } else {
                log_pool(POOL_LOG_INFO, w->pool, "libvirt pool definition updated (%s -> %s)",
                         have_detail, want_detail);
                virStoragePoolFree(np);
                if (virStoragePoolIsActive(p) == 1 && virStoragePoolDestroy(p) < 0)
                    log_pool(POOL_LOG_WARN, w->pool, "cannot restart the libvirt pool: %s",
                             lv_errmsg());
            }
        }
    }
    w->ours = true;
    int autostart = 0;
    if (virStoragePoolGetAutostart(p, &autostart) < 0 ||
        (!autostart && virStoragePoolSetAutostart(p, 1) < 0))
        log_pool(POOL_LOG_WARN, w->pool, "cannot autostart the libvirt pool: %s", lv_errmsg());
    int r = start_or_refresh(lv, p, w);
    virStoragePoolFree(p);
    if (r < 0)
        conn_check(lv);
    return r;
}

static void do_publish(poolLibvirt *lv, lvJob *j)
{
    lvWanted *w = wanted_set(lv, j->pool, j->xml, j->secret);
    j->xml = NULL;
    j->secret = NULL;
    if (!w) {
        log_pool(POOL_LOG_ERROR, j->pool, "libvirt: out of memory");
        return;
    }
    if (!conn_get(lv)) /* ensured when the connection comes back */
        return;
    ensure(lv, w);
}

static void do_unpublish(poolLibvirt *lv, lvJob *j)
{
    lvWanted *w = wanted_find(lv, j->pool);
    bool ours = w && w->ours;
    wanted_remove(lv, j->pool);
    if (!ours)
        return;
    virConnectPtr conn = conn_get(lv);
    if (!conn) {
        log_pool(POOL_LOG_WARN, j->pool, "libvirt unreachable: its storage pool stays defined");
        return;
    }
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, j->pool);
    if (!p) {
        conn_check(lv);
        return;
    }
    if (virStoragePoolIsActive(p) == 1 && virStoragePoolDestroy(p) < 0)
        log_pool(POOL_LOG_WARN, j->pool, "cannot stop the libvirt pool: %s", lv_errmsg());
    if (virStoragePoolUndefine(p) < 0)
        log_pool(POOL_LOG_WARN, j->pool, "cannot undefine the libvirt pool: %s", lv_errmsg());
    else
        log_pool(POOL_LOG_INFO, j->pool, "libvirt pool undefined");
    virStoragePoolFree(p);
    /* the pool's CHAP secret goes with it */
    POOL_AUTOFREE(char *) usage = poold_libvirt_secret_usage(j->pool);
    if (lv->type == POOL_LIBVIRT_POOL_ISCSI_DIRECT && usage &&
        poold_libvirt_secret_remove(conn, usage) < 0)
        log_pool(POOL_LOG_WARN, j->pool, "%s", pool_error_last_message());
    conn_check(lv);
}

static void refresh_wanted(poolLibvirt *lv, lvWanted *w)
{
    bool was_resync = lv->resync;
    w->retry_ms = 0;
    virConnectPtr conn = conn_get(lv);
    if (!conn || (was_resync && !lv->resync)) /* later, or just ensured */
        return;
    if (!w->ours) { /* not yet checked (or an operator's: ensure says so once) */
        ensure(lv, w);
        return;
    }
    virStoragePoolPtr p = virStoragePoolLookupByName(conn, w->pool);
    if (!p) { /* undefined behind our back: define it again */
        conn_check(lv);
        if (lv->conn)
            ensure(lv, w);
        return;
    }
    if (start_or_refresh(lv, p, w) < 0)
        conn_check(lv);
    virStoragePoolFree(p);
}

static void do_refresh(poolLibvirt *lv, lvJob *j)
{
    lvWanted *w = wanted_find(lv, j->pool);
    if (w)
        refresh_wanted(lv, w);
}

/* The wanted pool whose failed refresh is due first, or NULL. */
static lvWanted *next_retry(poolLibvirt *lv)
{
    lvWanted *first = NULL;
    for (size_t i = 0; i < lv->nwanted; i++) {
        lvWanted *w = &lv->wanted[i];
        if (w->retry_ms && (!first || w->retry_ms < first->retry_ms))
            first = w;
    }
    return first;
}

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

static void *worker(void *opaque)
{
    poolLibvirt *lv = opaque;
    pthread_mutex_lock(&lv->lock);
    while (!lv->stop) {
        lvJob *j = lv->head;
        if (j) {
            lv->head = j->next;
            if (!lv->head)
                lv->tail = NULL;
            pthread_mutex_unlock(&lv->lock);
            uint64_t t0 = pool_monotonic_ms();
            if (j->kind == JOB_PUBLISH)
                do_publish(lv, j);
            else if (j->kind == JOB_UNPUBLISH)
                do_unpublish(lv, j);
            else
                do_refresh(lv, j);
            uint64_t took = pool_monotonic_ms() - t0;
            if (took > 2000)
                log_pool(POOL_LOG_WARN, j->pool, "libvirt took %llu ms", (unsigned long long)took);
            job_free(j);
            pool_error_reset();
            pthread_mutex_lock(&lv->lock);
            lv->done++;
            pthread_cond_broadcast(&lv->done_cond);
            continue;
        }
        /* nothing queued: reconnect, or retry a failed refresh, when due */
        uint64_t now = pool_monotonic_ms(), due = 0;
        bool reconnect = !lv->conn && lv->resync && lv->nwanted > 0;
        if (reconnect)
            due = lv->next_connect_ms;
        lvWanted *retry = reconnect ? NULL : next_retry(lv);
        if (retry)
            due = retry->retry_ms;
        if (!reconnect && !retry) {
            pthread_cond_wait(&lv->cond, &lv->lock);
            continue;
        }
        if (now >= due) {
            pthread_mutex_unlock(&lv->lock);
            if (reconnect)
                conn_get(lv);
            else
                refresh_wanted(lv, retry);
            pool_error_reset();
            pthread_mutex_lock(&lv->lock);
            continue;
        }
        struct timespec ts;
        deadline_in(&ts, due - now);
        pthread_cond_timedwait(&lv->cond, &lv->lock, &ts);
    }
    lv->exited = true;
    pthread_cond_broadcast(&lv->done_cond);
    pthread_mutex_unlock(&lv->lock);
    return NULL;
}

/* ---- main-thread API ------------------------------------------------------ */

/* Append a job; its ticket (lv->done reaches it when the job is over), or
 * 0 when coalesced into a queued one or out of memory. */
static uint64_t enqueue_secret(poolLibvirt *lv, lvJobKind kind, const char *pool, char *xml,
                               char *secret);

static uint64_t enqueue(poolLibvirt *lv, lvJobKind kind, const char *pool, char *xml)
{
    return enqueue_secret(lv, kind, pool, xml, NULL);
}

/* enqueue, the job taking the CHAP secret too */
static uint64_t enqueue_secret(poolLibvirt *lv, lvJobKind kind, const char *pool, char *xml,
                               char *secret)
{
    pthread_mutex_lock(&lv->lock);
    if (kind == JOB_REFRESH) {
        /* a queued publish or refresh of this pool does it already */
        for (lvJob *q = lv->head; q; q = q->next) {
            if (q->kind != JOB_UNPUBLISH && strcmp(q->pool, pool) == 0) {
                pthread_mutex_unlock(&lv->lock);
                return 0;
            }
        }
    }
    lvJob *j = calloc(1, sizeof(*j));
    if (!j || !(j->pool = strdup(pool))) {
        pthread_mutex_unlock(&lv->lock);
        free(j);
        free(xml);
        secret_free(secret);
        log_pool(POOL_LOG_ERROR, pool, "libvirt: out of memory");
        return 0;
    }
    j->kind = kind;
    j->xml = xml;
    j->secret = secret;
    if (lv->tail)
        lv->tail->next = j;
    else
        lv->head = j;
    lv->tail = j;
    uint64_t ticket = ++lv->queued;
    pthread_cond_signal(&lv->cond);
    pthread_mutex_unlock(&lv->lock);
    return ticket;
}

static void lv_free(poolLibvirt *lv)
{
    while (lv->head) {
        lvJob *j = lv->head;
        lv->head = j->next;
        job_free(j);
    }
    for (size_t i = 0; i < lv->nwanted; i++) {
        free(lv->wanted[i].pool);
        free(lv->wanted[i].xml);
        secret_free(lv->wanted[i].secret);
    }
    free(lv->wanted);
    if (lv->conn)
        virConnectClose(lv->conn);
    free(lv->uri);
    free(lv->host);
    free(lv->initiator);
    pthread_mutex_destroy(&lv->lock);
    pthread_cond_destroy(&lv->cond);
    pthread_cond_destroy(&lv->done_cond);
    free(lv);
}

poolLibvirt *poold_libvirt_start(const poolConfig *cfg)
{
    int type = cfg->libvirt_pool_type;
    if (type == POOL_LIBVIRT_POOL_OFF) {
        log_info("libvirt: storage pools are not published (libvirt_pool_type = \"off\")");
        return NULL;
    }
    if (type == POOL_LIBVIRT_POOL_AUTO)
        type = cfg->activation != POOL_ACTIVATION_OFF && pool_lvm_host_has_dm()
                   ? POOL_LIBVIRT_POOL_LOGICAL
                   : POOL_LIBVIRT_POOL_ISCSI_DIRECT;
    if (virInitialize() < 0) {
        log_error("libvirt: cannot initialise the library: storage pools are not published");
        return NULL;
    }
    poold_libvirt_events_start();
    virSetErrorFunc(NULL, lv_quiet);
    poolLibvirt *lv = calloc(1, sizeof(*lv));
    if (!lv)
        return NULL;
    lv->cfg = cfg;
    pthread_mutex_init(&lv->lock, NULL);
    pthread_cond_init(&lv->cond, NULL);
    pthread_cond_init(&lv->done_cond, NULL);
    lv->type = type;
    lv->uri = pool_strdup(cfg->libvirt_uri ? cfg->libvirt_uri : "qemu:///system");
    lv->initiator = poold_libvirt_initiator(cfg);
    if (!lv->uri || !lv->initiator) {
        lv_free(lv);
        return NULL;
    }
    if (type == POOL_LIBVIRT_POOL_ISCSI_DIRECT) {
        if (pool_iscsi_name_validate(lv->initiator) < 0) {
            log_error("libvirt: initiator name %s: %s (set libvirt_initiator): storage pools are "
                      "not published",
                      lv->initiator, pool_error_last_message());
            lv_free(lv);
            return NULL;
        }
        if (poold_libvirt_portal(cfg, &lv->host, &lv->port) < 0) {
            log_error("libvirt: %s: storage pools are not published", pool_error_last_message());
            lv_free(lv);
            return NULL;
        }
    }
    if (pthread_create(&lv->thread, NULL, worker, lv) != 0) {
        log_error("libvirt: cannot start the worker thread: storage pools are not published");
        lv_free(lv);
        return NULL;
    }
    log_info("libvirt: publishing pools as %s storage pools on %s%s%s",
             type == POOL_LIBVIRT_POOL_LOGICAL ? "logical" : "iscsi-direct", lv->uri,
             type == POOL_LIBVIRT_POOL_LOGICAL ? "" : ", initiator ",
             type == POOL_LIBVIRT_POOL_LOGICAL ? "" : lv->initiator);
    return lv;
}

void poold_libvirt_stop(poolLibvirt *lv, int wait_ms)
{
    if (!lv)
        return;
    pthread_mutex_lock(&lv->lock);
    lv->stop = true;
    pthread_cond_broadcast(&lv->cond);
    pthread_mutex_unlock(&lv->lock);
    struct timespec ts;
    deadline_in(&ts, (uint64_t)wait_ms);
    if (pthread_timedjoin_np(lv->thread, NULL, &ts) != 0) {
        /* stuck in a libvirt call: leave it (and lv) behind */
        log_warnx("libvirt: a call did not finish within %d ms; not waiting for it", wait_ms);
        pthread_detach(lv->thread);
        return;
    }
    lv_free(lv);
}

void poold_libvirt_publish(poolLibvirt *lv, poolManager *mgr, poolExport *ex, const char *pool)
{
    if (!lv)
        return;
    /* the target's CHAP (iscsi-direct pools log in to it) */
    POOL_AUTOPTR(poolTargetDef) auth = NULL;
    if (lv->type == POOL_LIBVIRT_POOL_ISCSI_DIRECT && lv->host && ex &&
        poold_export_has_pool(ex, pool)) {
        auth = poold_export_target_get(ex, pool, true);
        if (!auth) {
            log_pool(POOL_LOG_ERROR, pool, "libvirt: cannot read the target's CHAP settings: %s",
                     pool_error_last_message());
            return;
        }
        if (auth->chap_user && auth->mutual_user)
            log_pool(POOL_LOG_ERROR, pool,
                     "the target requires mutual CHAP, which libvirt's iscsi-direct pools cannot "
                     "do: its libvirt pool will not start (poolctl target chap set without "
                     "--mutual-user, or libvirt_pool_type = \"off\")");
    }
    const char *user = auth && auth->chap_user && auth->chap_secret ? auth->chap_user : NULL;
    char *secret = user ? pool_strdup(auth->chap_secret) : NULL;
    if (user && !secret)
        return;
    char *xml = build_xml(lv, ex, pool, user);
    if (xml)
        enqueue_secret(lv, JOB_PUBLISH, pool, xml, secret);
    else
        secret_free(secret);
}

bool poold_libvirt_uses_target(const poolLibvirt *lv)
{
    return lv && lv->type == POOL_LIBVIRT_POOL_ISCSI_DIRECT && lv->host;
}

void poold_libvirt_publish_all(poolLibvirt *lv, poolManager *mgr, poolExport *ex)
{
    if (!lv)
        return;
    POOL_AUTOSTRV names = pool_manager_pool_names(mgr);
    for (size_t i = 0; names && names[i]; i++)
        poold_libvirt_publish(lv, mgr, ex, names[i]);
    pool_error_reset();
}

void poold_libvirt_unpublish(poolLibvirt *lv, const char *pool)
{
    if (lv)
        enqueue(lv, JOB_UNPUBLISH, pool, NULL);
}

void poold_libvirt_unpublish_wait(poolLibvirt *lv, const char *pool, int wait_ms)
{
    if (!lv)
        return;
    uint64_t ticket = enqueue(lv, JOB_UNPUBLISH, pool, NULL);
    struct timespec ts;
    deadline_in(&ts, (uint64_t)wait_ms);
    pthread_mutex_lock(&lv->lock);
    while (ticket && lv->done < ticket && !lv->exited)
        if (pthread_cond_timedwait(&lv->done_cond, &lv->lock, &ts) != 0)
            break;
    bool late = ticket && lv->done < ticket;
    pthread_mutex_unlock(&lv->lock);
    if (late)
        log_pool(POOL_LOG_WARN, pool,
                 "libvirt did not let go of its storage pool within %d ms; going on", wait_ms);
}

void poold_libvirt_refresh(poolLibvirt *lv, const char *pool)
{
    if (lv)
        enqueue(lv, JOB_REFRESH, pool, NULL);
}
