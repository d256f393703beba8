// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_portal.c: listening socket, one thread per connection, the budget
 * of connections still logging in (above accept_one), clean stop.
 *
 * Lifecycle of a connection object: created by the accept thread and put on
 * the portal's list; its thread runs login and the full feature phase, then
 * sets `done`; the accept thread (or stop) joins it, closes the socket and
 * frees it. The socket stays open until the join, so another thread calling
 * shutdown() on it (reinstatement, stop, cold reset) can never hit a reused
 * descriptor.
 *
 * Stop: stop accepting, then ask every normal session to log out (Async
 * Message, AsyncEvent 1 with Parameter3 = the grace in seconds), wait for
 * the grace, shut down what is left (a reader sees the dead socket, takes
 * its queued commands back from the workers and waits only for those a
 * worker is executing) and join everything; the worker pool goes last,
 * when no connection can queue to it any more.
 *
 * The worker pool (iscsi_worker.c) is per portal: cfg.workers threads
 * executing the media commands of every connection of the portal.
 *
 * All running portals are on a process-wide list (iscsi_send_targets.c)
 * so that SendTargets can name every path to a target (each portal of the
 * same inventory).
 *
 * This file is the top of the transport: it starts connection threads
 * (iscsi_conn.c) and the worker pool, and reaches connections only through
 * the calls below them (iscsi_conn_io.c: kick, Async logout).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iscsi.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len, bool with_port)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        if (with_port)
            snprintf(buf, len, "%s:%u", host, port);
        else
            snprintf(buf, len, "%s", host);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        if (with_port)
            snprintf(buf, len, "[%s]:%u", host, port);
        else
            snprintf(buf, len, "[%s]", host);
    } else {
        snprintf(buf, len, "?");
    }
}

static void reap(iscsiPortal *p, bool all)
{
    for (;;) {
        iscsiConn *dead = NULL;

        pthread_mutex_lock(&p->lock);
        for (iscsiConn **pp = &p->conns; *pp; pp = &(*pp)->next) {
            if (all || atomic_load(&(*pp)->done)) {
                dead = *pp;
                *pp = dead->next;
                break;
            }
        }
        pthread_mutex_unlock(&p->lock);
        if (!dead)
            return;
        pthread_join(dead->thread, NULL);
        close(dead->fd);
        pthread_mutex_destroy(&dead->tx_lock);
        pthread_mutex_destroy(&dead->task_lock);
        pthread_cond_destroy(&dead->task_cond);
        free(dead);
    }
}

/* The address part of a peer: the per-source budget's key. */
static void source_key(const struct sockaddr_storage *ss, uint8_t key[17])
{
    memset(key, 0, 17);
    key[0] = (uint8_t)ss->ss_family;
    if (ss->ss_family == AF_INET)
        memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    else if (ss->ss_family == AF_INET6)
        memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

typedef struct {
    size_t total, from_src; /* connections still logging in */
    size_t dying;           /* dropped, thread not finished yet */
    iscsiConn *idlest, *idlest_src;
} loginLoad;

/* Under p->lock: the pre-login load, in total and from src, and the
 * connections of each that made login progress least recently. */
static void login_load(iscsiPortal *p, const uint8_t src[17], loginLoad *ld)
{
    memset(ld, 0, sizeof(*ld));
    for (iscsiConn *c = p->conns; c; c = c->next) {
        if (atomic_load(&c->done))
            continue;
        iscsiAdmit a = atomic_load(&c->admit);
        if (a == ISCSI_ADMIT_DROPPED)
            ld->dying++;
        if (a != ISCSI_ADMIT_PRELOGIN)
            continue;
        uint64_t t = atomic_load(&c->progress_ms);
        ld->total++;
        if (!ld->idlest || t < atomic_load(&ld->idlest->progress_ms))
            ld->idlest = c;
        if (memcmp(c->src, src, sizeof(c->src)) == 0) {
            ld->from_src++;
            if (!ld->idlest_src || t < atomic_load(&ld->idlest_src->progress_ms))
                ld->idlest_src = c;
        }
    }
}

/* The warnings about pre-login drops: at most one line per 10 s per portal
 * and kind (per source, in total, refused, accept failing), counting the drops it did not
 * report. */
static void log_drop(iscsiPortal *p, unsigned kind, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void log_drop(iscsiPortal *p, unsigned kind, uint64_t now, const char *fmt, ...)
{
    char what[320];
    va_list ap;

    if (p->drop_log_ms[kind] && now - p->drop_log_ms[kind] < 10000) {
        p->drops_unlogged[kind]++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    log_warnx("iscsi: portal %s port %u: %s; %lu more since the last message", p->address, p->port,
              what, p->drops_unlogged[kind]);
    p->drop_log_ms[kind] = now;
    p->drops_unlogged[kind] = 0;
}

/*
 * Pre-login budget. A connection counts against it from accept until its
 * login claims a session (admit ADMITTED, iscsi_login.c) or it ends: at
 * most cfg.max_logins connections in total and cfg.max_logins_per_source
 * from one address. A login must send its first Login Request within
 * first_pdu_timeout_s and finish within login_timeout_s. Logged-in sessions
 * have their own cap (cfg.max_sessions, checked when a session registers,
 * iscsi_session.c) and are never dropped to make room here.
 *
 * A new connection that finds the budget full makes room: the accept
 * thread drops the connection that made login progress least recently
 * (its accept, its last complete Login Request or our last answer, longest
 * ago) within the scope that is full: the new connection's own address
 * first, else the whole portal. Why the idlest and not the newest: refusing the newest
 * leaves the slots to whoever holds them until they time out, so a flood
 * that reopens its connections as they expire locks every new login out
 * for as long as it goes on. Dropping the idlest lets every new
 * connection in, and an initiator really logging in sends a PDU every
 * round trip, so it stays among the most recently active while idle or
 * stalled connections (the flood) go first. One address can only displace
 * its own connections, since its own limit is reached first.
 *
 * All this is decided before the connection's thread exists, so idle
 * connections cost at most max_logins threads. Dropped connections are
 * shut down and their threads end at once; should more than max_logins of
 * them still be ending, new connections are closed right away, so threads
 * stay bounded whatever the rate.
 */
static int accept_one(iscsiPortal *p)
{
    struct sockaddr_storage peer, local;
    socklen_t plen = sizeof(peer), llen = sizeof(local);
    int fd = accept4(p->lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);

    if (fd < 0)
        return errno == EINTR || errno == ECONNABORTED ? 0 : -1;
    uint64_t now = iscsi_now_ms();
    uint8_t src[17];
    char from[80];
    source_key(&peer, src);
    format_addr(&peer, from, sizeof(from), false);

    loginLoad ld;
    iscsiConn *victim = NULL;
    char victim_peer[80] = "";
    uint64_t victim_idle = 0;
    bool per_source = false, refuse = false;
    pthread_mutex_lock(&p->lock);
    login_load(p, src, &ld);
    if (ld.from_src >= p->cfg.max_logins_per_source) {
        victim = ld.idlest_src;
        per_source = true;
    } else if (ld.total >= p->cfg.max_logins) {
        victim = ld.idlest;
    }
    if (victim && ld.dying >= p->cfg.max_logins) {
        refuse = true;
    } else if (victim) {
        iscsiAdmit pre = ISCSI_ADMIT_PRELOGIN;
        snprintf(victim_peer, sizeof(victim_peer), "%s", victim->peer);
        uint64_t t = atomic_load(&victim->progress_ms);
        victim_idle = now > t ? now - t : 0;
        /* fails only if its login just claimed a session: room made too */
        if (atomic_compare_exchange_strong(&victim->admit, &pre, ISCSI_ADMIT_DROPPED))
            iscsi_conn_kick(victim);
    }
    pthread_mutex_unlock(&p->lock);
    if (refuse) {
        close(fd);
        log_drop(p, 2, now,
                 "pre-login limit of %u connections%s reached, %zu dropped ones still closing: "
                 "refused a connection from %s",
                 per_source ? p->cfg.max_logins_per_source : p->cfg.max_logins,
                 per_source ? " per source" : " in total", ld.dying, from);
        return 0;
    }
    if (victim) {
        if (per_source)
            log_drop(p, 0, now,
                     "pre-login limit of %u connections per source reached by %s: dropped "
                     "its least active login, %s (idle %llu ms)",
                     p->cfg.max_logins_per_source, from, victim_peer,
                     (unsigned long long)victim_idle);
        else
            log_drop(p, 1, now,
                     "pre-login limit of %u connections in total reached (new connection "
                     "from %s): dropped the least active login, %s (idle %llu ms)",
                     p->cfg.max_logins, from, victim_peer, (unsigned long long)victim_idle);
    }

    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    iscsiConn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return 0;
    }
    c->fd = fd;
    c->portal = p;
    memcpy(c->src, src, sizeof(c->src));
    atomic_store(&c->admit, ISCSI_ADMIT_PRELOGIN);
    atomic_store(&c->progress_ms, now);
    format_addr(&peer, c->peer, sizeof(c->peer), true);
    if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
        format_addr(&local, c->local, sizeof(c->local), false);
    iscsi_mutex_init_hot(&c->tx_lock);
    iscsi_mutex_init_hot(&c->task_lock);
    pthread_cond_init(&c->task_cond, NULL);
    iscsi_params_default(&c->params);
    pthread_mutex_lock(&p->lock);
    c->next = p->conns;
    p->conns = c;
    if (pthread_create(&c->thread, NULL, iscsi_conn_thread, c) != 0) {
        p->conns = c->next;
        pthread_mutex_unlock(&p->lock);
        close(fd);
        pthread_mutex_destroy(&c->tx_lock);
        pthread_mutex_destroy(&c->task_lock);
        pthread_cond_destroy(&c->task_cond);
        free(c);
        return 0;
    }
    pthread_mutex_unlock(&p->lock);
    log_debug("iscsi: connection from %s", c->peer);
    return 0;
}

static void *accept_thread(void *arg)
{
    iscsiPortal *p = arg;

    while (!atomic_load(&p->stopping)) {
        struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
        int r = poll(&pfd, 1, 200);

        reap(p, false);
        if (r <= 0)
            continue;
        /* empty the backlog (the socket does not block): while it is full
         * the kernel drops every initiator's SYN, budget or not; reap
         * between batches so dropped connections are joined */
        for (unsigned i = 0; i < 64 && !atomic_load(&p->stopping); i++) {
            if (accept_one(p) == 0)
                continue;
            /* Out of descriptors or memory: the pending connection stays
             * in the backlog and poll() reports it again at once, so
             * without a pause this thread would spin at full speed until
             * something else frees a descriptor. Back off; connections
             * ending meanwhile are reaped above. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_drop(p, 3, iscsi_now_ms(), "cannot accept a connection: %s; pausing 100 ms",
                         strerror(errno));
                poll(NULL, 0, 100);
            }
            break;
        }
    }
    return NULL;
}

iscsiPortal *iscsi_portal_start(const iscsiPortalConfig *cfg)
{
    POOL_AUTOFREE(iscsiPortal *) p = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen;
    const char *addr = cfg->address ? cfg->address : "0.0.0.0";
    int one = 1;

    if (!cfg->inv) {
        pool_error(POOL_ERR_INVALID_ARG, "iSCSI portal needs an inventory");
        return NULL;
    }
    p = pool_calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = *cfg;
    if (!p->cfg.port)
        p->cfg.port = 3260;
    if (!p->cfg.tpgt)
        p->cfg.tpgt = 1;
    if (!p->cfg.max_sessions)
        p->cfg.max_sessions = 256;
    if (!p->cfg.max_logins)
        p->cfg.max_logins = 64;
    if (!p->cfg.max_logins_per_source)
        p->cfg.max_logins_per_source = 16;
    if (!p->cfg.login_timeout_s)
        p->cfg.login_timeout_s = 5;
    if (!p->cfg.first_pdu_timeout_s)
        p->cfg.first_pdu_timeout_s = 2;
    if (!p->cfg.queue_depth || p->cfg.queue_depth > ISCSI_MAX_TASKS / 2)
        p->cfg.queue_depth = 64;
    if (!p->cfg.workers)
        p->cfg.workers = ISCSI_DEFAULT_WORKERS;
    if (!p->cfg.nop_interval_s)
        p->cfg.nop_interval_s = 10;
    if (!p->cfg.nop_timeout_s)
        p->cfg.nop_timeout_s = 30;
    p->cfg.address = NULL;
    p->cfg.advertise = NULL;
    snprintf(p->address, sizeof(p->address), "%s", addr);

    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(p->cfg.port);
        sslen = sizeof(*in4);
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(p->cfg.port);
        sslen = sizeof(*in6);
    } else {
        pool_error(POOL_ERR_INVALID_ARG, "iSCSI portal address '%s' is not an IP literal", addr);
        return NULL;
    }
    p->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (p->lfd < 0) {
        pool_error_errno(errno, "socket");
        return NULL;
    }
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(p->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(p->lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(p->lfd, 128) < 0) {
        int e = errno;
        close(p->lfd);
        pool_error_errno(e, "cannot listen on %s port %u", addr, p->cfg.port);
        return NULL;
    }
    sslen = sizeof(ss);
    getsockname(p->lfd, (struct sockaddr *)&ss, &sslen);
    p->port = ss.ss_family == AF_INET ? ntohs(in4->sin_port) : ntohs(in6->sin6_port);
    p->cfg.port = p->port;
    if (cfg->advertise) {
        snprintf(p->advertise, sizeof(p->advertise), "%s", cfg->advertise);
    } else if (strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0) {
        p->advertise[0] = '\0';
    } else {
        format_addr(&ss, p->advertise, sizeof(p->advertise), true);
    }
    p->workers = iscsi_workers_start(p->cfg.workers);
    if (!p->workers) {
        close(p->lfd);
        pool_error(POOL_ERR_SYSTEM, "cannot start the iSCSI worker threads");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->accept_thread, NULL, accept_thread, p) != 0) {
        close(p->lfd);
        iscsi_workers_stop(p->workers);
        pool_error(POOL_ERR_SYSTEM, "cannot start the iSCSI accept thread");
        return NULL;
    }
    iscsi_portal_list_add(p);
    log_info("iscsi: portal %s port %u tpgt %u listening", addr, p->port, p->cfg.tpgt);
    return pool_steal_ptr(&p);
}

uint16_t iscsi_portal_port(const iscsiPortal *p)
{
    return p->port;
}

size_t iscsi_portal_session_count(iscsiPortal *p)
{
    return iscsi_session_count(p);
}

static void kick_one(iscsiConn *c, void *opaque)
{
    (void)opaque;
    iscsi_conn_kick(c);
}

void iscsi_portal_drop_target(iscsiPortal *p, const char *iqn)
{
    iscsi_session_foreach(p, iqn, kick_one, NULL);
}

size_t iscsi_portal_revoke(iscsiPortal *p, const char *iqn)
{
    return iscsi_session_revoke(p, iqn);
}

struct dropLun {
    scsiLu *lu;
    size_t n;
};

static void kick_user(iscsiConn *c, void *opaque)
{
    struct dropLun *d = opaque;
    if (c->sess && scsi_lu_has_nexus(d->lu, &c->sess->nexus)) {
        iscsi_conn_kick(c);
        d->n++;
    }
}

size_t iscsi_portal_drop_lun(iscsiPortal *p, const char *iqn, uint64_t lun)
{
    struct dropLun d = {.lu = tgt_lun_get(p->cfg.inv, iqn, lun)};
    if (!d.lu)
        return 0;
    iscsi_session_foreach(p, iqn, kick_user, &d);
    tgt_lun_put(d.lu);
    return d.n;
}

static bool all_done(iscsiPortal *p)
{
    for (iscsiConn *c = p->conns; c; c = c->next)
        if (!atomic_load(&c->done))
            return false;
    return true;
}

void iscsi_portal_stop(iscsiPortal *p, int grace_ms)
{
    if (!p)
        return;
    iscsi_portal_list_remove(p);

    atomic_store(&p->stopping, true);
    pthread_join(p->accept_thread, NULL);
    close(p->lfd);

    if (grace_ms < 0)
        grace_ms = 0;
    uint16_t grace_s = (uint16_t)((grace_ms + 999) / 1000);
    pthread_mutex_lock(&p->lock);
    for (iscsiConn *c = p->conns; c; c = c->next) {
        if (atomic_load(&c->done))
            continue;
        if (c->state == ISCSI_CONN_FULL && grace_ms > 0)
            iscsi_conn_send_async_logout(c, grace_s);
        else
            iscsi_conn_kick(c);
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += grace_ms / 1000;
    deadline.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!all_done(p)) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &deadline) == ETIMEDOUT)
            break;
    }
    for (iscsiConn *c = p->conns; c; c = c->next)
        if (!atomic_load(&c->done))
            iscsi_conn_kick(c);
    pthread_mutex_unlock(&p->lock);
    reap(p, true);
    iscsi_workers_stop(p->workers); /* every connection is gone: queue empty */
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    log_info("iscsi: portal %s port %u stopped", p->address, p->port);
    free(p);
}
