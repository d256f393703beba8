/*
 * server.c: the control socket. One thread, one epoll loop, which only
 * does socket I/O: it reads a request frame, checks it and parses it
 * (poold_dispatch_prepare), and hands it to a worker thread of its own,
 * which runs it under the locks of its op (dispatch.c; docs/design.md
 * "Concurrency") and hands the reply back through an eventfd; the loop
 * sends it. A client has at most one request in flight (the next one is
 * read after the reply), so there are at most max_clients workers. Ops of
 * lock class NONE (daemon version, daemon stop) and requests refused by
 * their checks are answered by the loop itself, so they answer even while
 * every worker is stuck in a slow lease wait, lvm command or libvirt call.
 *
 * Each client has its own buffers, so a slow or malicious client can only
 * waste its own slot: partial frames time out, bad frames get an error
 * reply and the connection is closed, and nobody else notices.
 *
 * Shutdown: stop accepting, wait up to SHUTDOWN_WAIT_S for the requests
 * running to finish and their replies to go out, then return. A request
 * still running then (stuck beyond every timeout) is abandoned: poold
 * exits at once without tearing down what that request may be using, as
 * if it had crashed, and the next start reconciles (docs/design.md,
 * "Crash safety").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "notify.h"
#include "poold.h"

typedef struct {
    int fd;
    pid_t pid;
    uid_t uid;
    uint8_t hdr[POOL_PROTO_HEADER_SIZE];
    size_t hdr_have;
    poolFrameHeader h;
    char *payload;
    size_t payload_have;
    uint8_t *out; /* frame being sent */
    size_t out_len, out_pos;
    bool close_after_send;
    /* a worker runs its request: the fd is out of the epoll set and the
     * client is freed only once the reply came back */
    bool busy;
    /* A client has client_timeout seconds from connecting (or from its last
     * reply) to deliver a complete request; bytes trickling in do not
     * extend it, so idle or slow-dribbling connections cannot pin slots. */
    time_t deadline;
} client;

/* How long shutdown waits for running requests. */
#define SHUTDOWN_WAIT_S 30

typedef struct job job;

typedef struct {
    poolDaemon *d;
    int epfd;
    int listen_fd;
    int sig_fd;
    client **clients;
    size_t nclients;
    /* workers' finished jobs, handed to the loop; done_fd signals them */
    int done_fd;
    pthread_mutex_t done_lock;
    job *done;
    size_t inflight; /* workers running (loop thread only) */
} server;

struct job {
    job *next;
    server *s;
    client *c;
    poolPrepared *p;
    xmlDocPtr reply; /* NULL: out of memory */
};

static void client_free(server *s, client *c)
{
    if (!c->busy)
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->payload);
    free(c->out);
    for (size_t i = 0; i < s->nclients; i++)
        if (s->clients[i] == c) {
            s->clients[i] = s->clients[--s->nclients];
            break;
        }
    free(c);
}

static bool peer_allowed(const poolConfig *cfg, const struct ucred *cred)
{
    if (cred->uid == 0 || cred->uid == geteuid())
        return true;
    if (!cfg->socket_group)
        return false;
    struct group *gr = getgrnam(cfg->socket_group);
    if (!gr)
        return false;
    if (cred->gid == gr->gr_gid)
        return true;
    struct passwd *pw = getpwuid(cred->uid);
    if (!pw)
        return false;
    int ng = 64;
    for (int tries = 0; tries < 8; tries++) {
        gid_t *groups = calloc((size_t)ng, sizeof(gid_t));
        if (!groups)
            return false;
        int want = ng;
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &want) >= 0) {
            bool found = false;
            for (int i = 0; i < want; i++)
                if (groups[i] == gr->gr_gid)
                    found = true;
            free(groups);
            return found;
        }
        free(groups);
        ng = want > ng ? want : ng * 2; /* getgrouplist told us how many */
    }
    return false;
}

static int client_update_events(server *s, client *c)
{
    struct epoll_event ev = {.events = c->out ? EPOLLOUT : EPOLLIN, .data.ptr = c};
    if (c->busy) {
        /* back from a worker: into the epoll set again */
        c->busy = false;
        return epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev);
    }
    return epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Queue a reply frame; the loop sends it. */
static int client_queue_reply(server *s, client *c, xmlDocPtr doc)
{
    size_t len = 0;
    POOL_AUTOFREE(char *) payload = pool_reply_format(doc, &len);
    xmlFreeDoc(doc);
    if (!payload)
        return -1;
    if (len > s->d->cfg->max_message_size) {
        /* Too big to send: say so instead of sending a frame the client
         * must reject. */
        pool_error(POOL_ERR_PROTOCOL, "reply of %zu bytes exceeds max_message_size %u", len,
                   s->d->cfg->max_message_size);
        xmlDocPtr err = pool_reply_new_error(0, pool_error_last());
        free(payload);
        payload = err ? pool_reply_format(err, &len) : NULL;
        if (err)
            xmlFreeDoc(err);
        if (!payload)
            return -1;
    }
    c->out = malloc(POOL_PROTO_HEADER_SIZE + len);
    if (!c->out)
        return pool_error_oom();
    pool_frame_header_encode(c->out, POOL_FRAME_REPLY, payload, (uint32_t)len);
    memcpy(c->out + POOL_PROTO_HEADER_SIZE, payload, len);
    c->out_len = POOL_PROTO_HEADER_SIZE + len;
    c->out_pos = 0;
    /* the client's clock restarts now, not when it sent the request: a long
     * operation must not count against it */
    c->deadline = pool_monotonic_ms() / 1000 + (time_t)s->d->cfg->client_timeout;
    return client_update_events(s, c);
}

static void client_reject(server *s, client *c)
{
    log_info("client pid %ld: %s; closing", (long)c->pid, pool_error_last_message());
    xmlDocPtr doc = pool_reply_new_error(0, pool_error_last());
    c->close_after_send = true;
    if (!doc || client_queue_reply(s, c, doc) < 0)
        client_free(s, c);
}

static void *worker_run(void *arg)
{
    job *j = arg;
    server *s = j->s;
    j->reply = poold_dispatch_run(s->d, j->p);
    j->p = NULL;
    if (!j->reply)
        log_error("cannot build the reply to client pid %ld: %s", (long)j->c->pid,
                  pool_error_last_message());
    pool_error_reset();
    /* Signalled under the lock: once the loop has taken this job it may
     * return and close done_fd, so nothing of s is touched after. */
    uint64_t one = 1;
    pthread_mutex_lock(&s->done_lock);
    j->next = s->done;
    s->done = j;
    (void)!write(s->done_fd, &one, sizeof(one));
    pthread_mutex_unlock(&s->done_lock);
    return NULL;
}

/* Run the request on a worker thread of its own (detached: it hands its
 * job back through s->done). 0, or -1: the caller runs it inline. */
static int client_start_worker(server *s, client *c, poolPrepared *p)
{
    job *j = calloc(1, sizeof(*j));
    if (!j)
        return -1;
    *j = (job){.s = s, .c = c, .p = p};
    /* out of the epoll set while the request runs: nothing is read from
     * it, and a hang-up is noticed when the reply is sent */
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->busy = true;
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&t, &attr, worker_run, j);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        log_warnx("cannot start a worker thread (%s): running the request on the socket thread",
                  strerror(e));
        free(j);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        c->busy = false;
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev);
        return -1;
    }
    s->inflight++;
    return 0;
}

/* Replies of finished workers: queue them for sending. */
static void collect_done(server *s)
{
    uint64_t n;
    (void)!read(s->done_fd, &n, sizeof(n));
    pthread_mutex_lock(&s->done_lock);
    job *list = s->done;
    s->done = NULL;
    pthread_mutex_unlock(&s->done_lock);
    while (list) {
        job *j = list;
        list = j->next;
        client *c = j->c;
        s->inflight--;
        if (!j->reply || client_queue_reply(s, c, j->reply) < 0) {
            log_error("cannot reply to client pid %ld: %s", (long)c->pid,
                      pool_error_last_message());
            if (c->busy) {
                c->busy = false;
                epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd,
                          &(struct epoll_event){.events = EPOLLIN, .data.ptr = c});
            }
            client_free(s, c);
        }
        free(j);
    }
}

static void client_handle_frame(server *s, client *c)
{
    if (pool_frame_payload_check(&c->h, c->payload) < 0) {
        client_reject(s, c);
        return;
    }
    if (c->h.type != POOL_FRAME_REQUEST) {
        pool_error(POOL_ERR_PROTOCOL, "expected a request frame, got type %u", c->h.type);
        client_reject(s, c);
        return;
    }
    poolPrepared *p = poold_dispatch_prepare(s->d, c->payload, c->h.length);
    free(c->payload);
    c->payload = NULL;
    c->payload_have = 0;
    c->hdr_have = 0;
    if (p && !poold_dispatch_inline(p) && client_start_worker(s, c, p) == 0)
        return;
    xmlDocPtr reply = p ? poold_dispatch_run(s->d, p) : NULL;
    if (!reply || client_queue_reply(s, c, reply) < 0) {
        log_error("cannot reply to client pid %ld: %s", (long)c->pid, pool_error_last_message());
        client_free(s, c);
    }
}

static void client_readable(server *s, client *c)
{
    for (;;) {
        ssize_t n;
        if (c->hdr_have < POOL_PROTO_HEADER_SIZE) {
            n = read(c->fd, c->hdr + c->hdr_have, POOL_PROTO_HEADER_SIZE - c->hdr_have);
        } else {
            n = read(c->fd, c->payload + c->payload_have, c->h.length - c->payload_have);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            client_free(s, c);
            return;
        }
        if (n == 0) {
            if (c->hdr_have || c->payload_have)
                log_info("client pid %ld closed the connection mid-frame", (long)c->pid);
            client_free(s, c);
            return;
        }
        if (c->hdr_have < POOL_PROTO_HEADER_SIZE) {
            c->hdr_have += (size_t)n;
            if (c->hdr_have < POOL_PROTO_HEADER_SIZE)
                continue;
            /* Validate before allocating: an oversized length is refused
             * here, without reading or buffering the payload. */
            if (pool_frame_header_decode(c->hdr, s->d->cfg->max_message_size, &c->h) < 0) {
                client_reject(s, c);
                return;
            }
            c->payload = malloc(c->h.length + 1);
            if (!c->payload) {
                pool_error_oom();
                client_reject(s, c);
                return;
            }
            c->payload_have = 0;
        } else {
            c->payload_have += (size_t)n;
        }
        if (c->hdr_have == POOL_PROTO_HEADER_SIZE && c->payload_have == c->h.length) {
            c->payload[c->h.length] = '\0';
            client_handle_frame(s, c);
            return; /* one request at a time: read more after the reply */
        }
    }
}

static void client_writable(server *s, client *c)
{
    while (c->out_pos < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_pos, c->out_len - c->out_pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            client_free(s, c);
            return;
        }
        c->out_pos += (size_t)n;
    }
    free(c->out);
    c->out = NULL;
    if (c->close_after_send) {
        client_free(s, c);
        return;
    }
    if (client_update_events(s, c) < 0)
        client_free(s, c);
}

/* Best effort: tell a refused peer why before closing, so poolctl can print
 * a real reason instead of "connection closed". Non-blocking: a peer that
 * does not read does not hold us up. */
static void refuse_peer(int fd, poolErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse_peer(int fd, poolErrorCode code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pool_error_set(code, msg, __FILE__, __func__, __LINE__);
    xmlDocPtr doc = pool_reply_new_error(0, pool_error_last());
    size_t len = 0;
    char *payload = doc ? pool_reply_format(doc, &len) : NULL;
    if (payload) {
        uint8_t h[POOL_PROTO_HEADER_SIZE];
        pool_frame_header_encode(h, POOL_FRAME_REPLY, payload, (uint32_t)len);
        if (send(fd, h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(h))
            (void)!send(fd, payload, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    free(payload);
    if (doc)
        xmlFreeDoc(doc);
    close(fd);
}

static void accept_clients(server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                log_warn("accept");
            return;
        }
        struct ucred cred;
        socklen_t cl = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
            log_warn("SO_PEERCRED");
            close(fd);
            continue;
        }
        if (!peer_allowed(s->d->cfg, &cred)) {
            log_warnx("refusing client pid %ld uid %ld: not root, not in the socket group",
                      (long)cred.pid, (long)cred.uid);
            refuse_peer(fd, POOL_ERR_PERMISSION,
                        "permission denied: uid %ld is neither root nor in the socket group",
                        (long)cred.uid);
            continue;
        }
        if (s->nclients >= s->d->cfg->max_clients) {
            log_warnx("refusing client pid %ld: max_clients (%u) reached", (long)cred.pid,
                      s->d->cfg->max_clients);
            refuse_peer(fd, POOL_ERR_BUSY, "poold is busy: max_clients (%u) connections are open",
                        s->d->cfg->max_clients);
            continue;
        }
        client *c = calloc(1, sizeof(*c));
        client **nc = realloc(s->clients, (s->nclients + 1) * sizeof(*nc));
        if (!c || !nc) {
            free(c);
            if (nc)
                s->clients = nc;
            close(fd);
            continue;
        }
        s->clients = nc;
        c->fd = fd;
        c->pid = cred.pid;
        c->uid = cred.uid;
        c->deadline = pool_monotonic_ms() / 1000 + (time_t)s->d->cfg->client_timeout;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        s->clients[s->nclients++] = c;
    }
}

static void sweep_idle(server *s)
{
    time_t now = pool_monotonic_ms() / 1000;
    for (size_t i = 0; i < s->nclients;) {
        client *c = s->clients[i];
        if (!c->busy && now > c->deadline) {
            log_info("client pid %ld sent no complete request within %u s; closing", (long)c->pid,
                     s->d->cfg->client_timeout);
            client_free(s, c); /* swaps in the last client: re-check index i */
            continue;
        }
        i++;
    }
}

static int open_listen_socket(const poolConfig *cfg)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(cfg->socket_path) >= sizeof(addr.sun_path)) {
        pool_error(POOL_ERR_CONFIG, "socket path %s is too long", cfg->socket_path);
        return -1;
    }
    strcpy(addr.sun_path, cfg->socket_path);
    POOL_AUTOFREE(char *) dir = pool_strdup(cfg->socket_path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (pool_mkdir_p(dir, 0755) < 0)
            return -1;
    }
    /* We hold the daemon lock, so a socket file left here is stale. */
    unlink(cfg->socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        pool_error_errno(errno, "socket");
        return -1;
    }
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (r < 0) {
        pool_error_errno(errno, "cannot bind %s", cfg->socket_path);
        close(fd);
        return -1;
    }
    if (cfg->socket_group) {
        struct group *gr = getgrnam(cfg->socket_group);
        if (!gr) {
            pool_error(POOL_ERR_CONFIG, "socket_group '%s' does not exist", cfg->socket_group);
            close(fd);
            return -1;
        }
        if (chown(cfg->socket_path, (uid_t)-1, gr->gr_gid) < 0) {
            pool_error_errno(errno, "cannot chown %s", cfg->socket_path);
            close(fd);
            return -1;
        }
    }
    if (chmod(cfg->socket_path, cfg->socket_mode) < 0 || listen(fd, 64) < 0) {
        pool_error_errno(errno, "cannot set up %s", cfg->socket_path);
        close(fd);
        return -1;
    }
    return fd;
}

int poold_server_run(poolDaemon *d)
{
    server s = {.d = d, .epfd = -1, .listen_fd = -1, .sig_fd = -1, .done_fd = -1};
    int ret = -1;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    s.done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&s.done_lock, NULL);
    if (s.sig_fd < 0 || s.epfd < 0 || s.done_fd < 0) {
        pool_error_errno(errno, "cannot set up the event loop");
        goto out;
    }
    if ((s.listen_fd = open_listen_socket(d->cfg)) < 0)
        goto out;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s.listen_fd};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &s.sig_fd};
    struct epoll_event dev = {.events = EPOLLIN, .data.ptr = &s.done_fd};
    if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.listen_fd, &ev) < 0 ||
        epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.sig_fd, &sev) < 0 ||
        epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.done_fd, &dev) < 0) {
        pool_error_errno(errno, "epoll_ctl");
        goto out;
    }
    log_info("listening on %s", d->cfg->socket_path);
    /* reconcile is done and requests are answered from here on */
    poold_notify("READY=1\nSTATUS=serving on %s", d->cfg->socket_path);
    if (d->ready_fd >= 0) {
        /* tell the parent of a daemonizing poold that startup succeeded */
        (void)!write(d->ready_fd, "", 1);
        close(d->ready_fd);
        d->ready_fd = -1;
    }

    while (!d->shutdown_requested) {
        struct epoll_event evs[32];
        int n = epoll_wait(s.epfd, evs, 32, 1000);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "epoll_wait");
            goto out;
        }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s.listen_fd) {
                accept_clients(&s);
            } else if (p == &s.done_fd) {
                collect_done(&s);
            } else if (p == &s.sig_fd) {
                struct signalfd_siginfo si;
                while (read(s.sig_fd, &si, sizeof(si)) == sizeof(si)) {
                    if (si.ssi_signo == SIGHUP) {
                        log_info("SIGHUP: nothing to reload; configuration changes need a restart");
                    } else {
                        log_info("signal %u: shutting down", si.ssi_signo);
                        d->shutdown_requested = true;
                    }
                }
            } else {
                client *c = p;
                /* a client freed earlier in this batch cannot appear: each
                 * fd yields at most one event per epoll_wait */
                if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN) && !c->out)
                    client_free(&s, c);
                else if (c->out)
                    client_writable(&s, c);
                else
                    client_readable(&s, c);
            }
        }
        sweep_idle(&s);
    }
    /* Stop accepting; let the running requests finish and their replies
     * go out (the shutdown request's own among them), with a bound. */
    epoll_ctl(s.epfd, EPOLL_CTL_DEL, s.listen_fd, NULL);
    close(s.listen_fd);
    s.listen_fd = -1;
    unlink(d->cfg->socket_path);
    uint64_t until = pool_monotonic_ms() + SHUTDOWN_WAIT_S * 1000;
    if (s.inflight)
        log_info("waiting up to %d s for %zu running request(s)", SHUTDOWN_WAIT_S, s.inflight);
    for (;;) {
        bool pending = s.inflight > 0;
        for (size_t i = 0; i < s.nclients && !pending; i++)
            pending = s.clients[i]->out != NULL;
        uint64_t now = pool_monotonic_ms();
        if (!pending || now >= until)
            break;
        struct epoll_event evs[32];
        int n = epoll_wait(s.epfd, evs, 32, (int)(until - now > 100 ? 100 : until - now));
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &s.done_fd) {
                collect_done(&s);
            } else if (p != &s.sig_fd && p != &s.listen_fd) {
                client *c = p;
                if (c->out)
                    client_writable(&s, c);
                else if (evs[i].events & (EPOLLERR | EPOLLHUP))
                    client_free(&s, c);
            } else if (p == &s.sig_fd) {
                struct signalfd_siginfo si;
                while (read(s.sig_fd, &si, sizeof(si)) == sizeof(si))
                    ;
            }
        }
    }
    if (s.inflight) {
        /* a worker still uses the manager, the target or libvirt: tearing
         * them down under it is worse than a crash, which is safe */
        log_error("%zu request(s) still running after %d s; exiting without waiting for them "
                  "(the next start reconciles what they left)",
                  s.inflight, SHUTDOWN_WAIT_S);
        _exit(1);
    }
    ret = 0;
out:
    if (s.inflight) {
        log_error("%s; %zu request(s) still running: exiting at once", pool_error_last_message(),
                  s.inflight);
        _exit(1);
    }
    while (s.nclients)
        client_free(&s, s.clients[0]);
    if (s.done_fd >= 0)
        close(s.done_fd);
    pthread_mutex_destroy(&s.done_lock);
    free(s.clients);
    if (s.listen_fd >= 0) {
        close(s.listen_fd);
        unlink(d->cfg->socket_path);
    }
    if (s.sig_fd >= 0)
        close(s.sig_fd);
    if (s.epfd >= 0)
        close(s.epfd);
    return ret;
}
