/*
 * libvirt_domain.c: transient domains in this host's libvirt for VMs that
 * poold starts (libvirt_domain.h states the contract).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_domain.h"
#include "libvirt_secret.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"

struct poolDomains {
    const poolConfig *cfg;
    char *uri;
    pthread_mutex_t lock; /* conn, stuck, and every call's result */
    virConnectPtr conn;   /* this object's reference; each call takes its own */
    unsigned stuck;       /* helpers that timed out and still wait for libvirtd */
};

/* poold logs what matters itself; libvirt would print every error. */
static void quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

/* ---- the event loop: keepalive needs one ----------------------------------- */

static pthread_once_t events_once = PTHREAD_ONCE_INIT;
static int events_ok = -1;

static void *events_run(void *arg)
{
    (void)arg;
    for (;;)
        if (virEventRunDefaultImpl() < 0)
            usleep(100000); /* libvirt logged it; do not spin */
    return NULL;
}

static void events_init(void)
{
    if (virEventRegisterDefaultImpl() < 0) {
        log_warnx("libvirt: cannot register an event loop (%s): connections run without "
                  "keepalive",
                  virGetLastErrorMessage());
        return;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, events_run, NULL) != 0) {
        log_warnx("libvirt: cannot start the event loop thread: connections run without "
                  "keepalive");
        return;
    }
    pthread_detach(t);
    events_ok = 0;
}

int poold_libvirt_events_start(void)
{
    pthread_once(&events_once, events_init);
    return events_ok;
}

void poold_libvirt_keepalive(virConnectPtr conn, const poolConfig *cfg)
{
    if (events_ok < 0)
        return;
    if (virConnectSetKeepAlive(conn, (int)cfg->libvirt_keepalive_interval,
                               cfg->libvirt_keepalive_count) < 0)
        log_warnx("libvirt: cannot turn keepalive on: %s", virGetLastErrorMessage());
}

poolDomains *poold_domains_new(const poolConfig *cfg)
{
    if (virInitialize() < 0) {
        pool_error(POOL_ERR_SYSTEM, "libvirt: cannot initialise the library");
        return NULL;
    }
    poold_libvirt_events_start();
    virSetErrorFunc(NULL, quiet);
    poolDomains *d = pool_calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->cfg = cfg;
    d->uri = pool_strdup(cfg->libvirt_uri ? cfg->libvirt_uri : "qemu:///system");
    if (!d->uri) {
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

void poold_domains_free(poolDomains *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    bool stuck = d->stuck > 0;
    pthread_mutex_unlock(&d->lock);
    if (stuck)
        return; /* a helper still uses it: left to the process's exit */
    if (d->conn)
        virConnectClose(d->conn);
    pthread_mutex_destroy(&d->lock);
    free(d->uri);
    free(d);
}

/* Forget the connection if it is `c` (dead or not answering): the next
 * call opens a new one. */
static void conn_drop(poolDomains *d, virConnectPtr c)
{
    pthread_mutex_lock(&d->lock);
    if (d->conn && (!c || d->conn == c)) {
        virConnectClose(d->conn); /* our reference; callers hold their own */
        d->conn = NULL;
    }
    pthread_mutex_unlock(&d->lock);
}

/* The libvirt error as a pool_error, its code mapped. */
static int fail(poolDomains *d, virConnectPtr c, const char *what)
{
    virErrorPtr e = virGetLastError();
    const char *msg = e && e->message ? e->message : "unknown libvirt error";
    int code = POOL_ERR_SYSTEM;
    if (e && e->code == VIR_ERR_RESOURCE_BUSY)
        code = POOL_ERR_BUSY;
    else if (e && e->code == VIR_ERR_OPERATION_FAILED && strstr(msg, "already exists"))
        code = POOL_ERR_EXISTS;
    else if (e && e->code == VIR_ERR_NO_CONNECT)
        code = POOL_ERR_CONNECT;
    if (strstr(msg, "keepalive")) /* the connection closed it: libvirtd hung */
        pool_error(POOL_ERR_TIMEOUT,
                   "libvirtd (%s) did not answer within %u s (keepalive every %u s, %u missed): "
                   "%s",
                   d->uri,
                   d->cfg->libvirt_keepalive_interval * (d->cfg->libvirt_keepalive_count + 1),
                   d->cfg->libvirt_keepalive_interval, d->cfg->libvirt_keepalive_count, what);
    else
        pool_error(code, "libvirt %s: %s: %s", d->uri, what, msg);
    /* a dead connection is dropped: the next call opens a new one */
    if (virConnectIsAlive(c) != 1)
        conn_drop(d, c);
    return -1;
}

/* A reference to the connection (the caller closes it), opened when there
 * is none or it died. */
static virConnectPtr conn_get(poolDomains *d)
{
    pthread_mutex_lock(&d->lock);
    virConnectPtr c = d->conn;
    if (c && virConnectIsAlive(c) == 1) {
        virConnectRef(c);
        pthread_mutex_unlock(&d->lock);
        return c;
    }
    if (c) {
        virConnectClose(c);
        d->conn = NULL;
    }
    pthread_mutex_unlock(&d->lock);
    c = virConnectOpen(d->uri);
    if (!c) {
        virErrorPtr e = virGetLastError();
        pool_error(POOL_ERR_CONNECT, "libvirt %s: cannot connect: %s", d->uri,
                   e && e->message ? e->message : "unknown libvirt error");
        return NULL;
    }
    poold_libvirt_keepalive(c, d->cfg);
    pthread_mutex_lock(&d->lock);
    if (!d->conn) {
        d->conn = c;
        virConnectRef(c); /* one for d, one for the caller */
    }
    pthread_mutex_unlock(&d->lock);
    return c;
}

/* ---- the calls, run on a helper thread with a connection reference -------- */

static int do_create(poolDomains *d, virConnectPtr c, const char *xml)
{
    virDomainPtr dom = virDomainCreateXML(c, xml, 0);
    if (!dom)
        return fail(d, c, "cannot start the domain");
    virDomainFree(dom);
    return 0;
}

/* The domain of that name; NULL with *missing set when there is none. */
static virDomainPtr lookup(poolDomains *d, virConnectPtr c, const char *name, bool *missing)
{
    *missing = false;
    virDomainPtr dom = virDomainLookupByName(c, name);
    if (!dom) {
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            *missing = true;
            virResetLastError();
            return NULL;
        }
        fail(d, c, "domain lookup");
    }
    return dom;
}

static int do_active(poolDomains *d, virConnectPtr c, const char *name, bool *active)
{
    *active = false;
    bool missing;
    virDomainPtr dom = lookup(d, c, name, &missing);
    if (!dom)
        return missing ? 0 : -1;
    int r = virDomainIsActive(dom);
    if (r < 0)
        fail(d, c, "cannot read the domain's state");
    else
        *active = r == 1;
    virDomainFree(dom);
    return r < 0 ? -1 : 0;
}

static int do_destroy(poolDomains *d, virConnectPtr c, const char *name)
{
    bool missing;
    virDomainPtr dom = lookup(d, c, name, &missing);
    if (!dom)
        return missing ? 0 : -1;
    int r = 0;
    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
        /* it may have ended between the two calls */
        r = virDomainIsActive(dom) == 0 ? 0 : fail(d, c, "cannot destroy the domain");
    }
    virDomainFree(dom);
    return r;
}

static int do_shutdown(poolDomains *d, virConnectPtr c, const char *name)
{
    bool missing;
    virDomainPtr dom = lookup(d, c, name, &missing);
    if (!dom)
        return missing ? 0 : -1;
    int r = 0;
    if (virDomainIsActive(dom) == 1 && virDomainShutdown(dom) < 0)
        r = virDomainIsActive(dom) == 0 ? 0 : fail(d, c, "cannot shut the domain down");
    virDomainFree(dom);
    return r;
}

/* The CHAP secret of the target, for the disks' <auth> (libvirt_secret.h). */
static int do_secret_set(poolDomains *d, virConnectPtr c, const char *usage, const char *value)
{
    int r = poold_libvirt_secret_set(c, usage, value);
    if (r < 0 && virConnectIsAlive(c) != 1)
        conn_drop(d, c);
    return r;
}

static int do_secret_remove(poolDomains *d, virConnectPtr c, const char *usage)
{
    int r = poold_libvirt_secret_remove(c, usage);
    if (r < 0 && virConnectIsAlive(c) != 1)
        conn_drop(d, c);
    return r;
}

typedef enum {
    CALL_CREATE,
    CALL_ACTIVE,
    CALL_DESTROY,
    CALL_SHUTDOWN,
    CALL_SECRET_SET,
    CALL_SECRET_REMOVE
} callKind;

static const char *const call_what[] = {
    [CALL_CREATE] = "start the domain",
    [CALL_ACTIVE] = "read the domain's state",
    [CALL_DESTROY] = "destroy the domain",
    [CALL_SHUTDOWN] = "shut the domain down",
    [CALL_SECRET_SET] = "store the target's CHAP secret",
    [CALL_SECRET_REMOVE] = "remove the target's CHAP secret",
};

/* One call; shared by the waiting request and the helper, under d->lock:
 * whichever of them is last frees it. */
typedef struct {
    poolDomains *d;
    callKind kind;
    char *arg;  /* XML, name or secret usage */
    char *arg2; /* the secret's value (CALL_SECRET_SET) */
    bool done, abandoned;
    int r;
    bool active;
    poolError *err;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
} domCall;

static void call_free(domCall *c)
{
    pool_error_free(c->err);
    pthread_cond_destroy(&c->cond);
    free(c->arg);
    if (c->arg2) {
        memset(c->arg2, 0, strlen(c->arg2)); /* a secret */
        free(c->arg2);
    }
    free(c);
}

static void *call_run(void *arg)
{
    domCall *call = arg;
    poolDomains *d = call->d;
    bool active = false;
    int r = -1;
    virConnectPtr c = conn_get(d);
    if (c) {
        switch (call->kind) {
        case CALL_CREATE:
            r = do_create(d, c, call->arg);
            break;
        case CALL_ACTIVE:
            r = do_active(d, c, call->arg, &active);
            break;
        case CALL_DESTROY:
            r = do_destroy(d, c, call->arg);
            break;
        case CALL_SHUTDOWN:
            r = do_shutdown(d, c, call->arg);
            break;
        case CALL_SECRET_SET:
            r = do_secret_set(d, c, call->arg, call->arg2);
            break;
        case CALL_SECRET_REMOVE:
            r = do_secret_remove(d, c, call->arg);
            break;
        }
        virConnectClose(c);
    }
    poolError *err = r < 0 ? pool_error_save() : NULL;
    pthread_mutex_lock(&d->lock);
    call->done = true;
    call->r = r;
    call->active = active;
    call->err = err;
    bool abandoned = call->abandoned;
    if (abandoned) {
        d->stuck--;
        log_info("libvirt %s: a call that timed out ended (%s)", d->uri,
                 r < 0 && err ? err->message : "ok");
    } else {
        pthread_cond_signal(&call->cond);
    }
    pthread_mutex_unlock(&d->lock);
    if (abandoned)
        call_free(call);
    return NULL;
}

static int call_bounded(poolDomains *d, callKind kind, const char *arg, const char *arg2,
                        bool *active)
{
    unsigned limit = d->cfg->libvirt_timeout;
    pthread_mutex_lock(&d->lock);
    unsigned stuck = d->stuck;
    pthread_mutex_unlock(&d->lock);
    if (stuck) {
        pool_error(POOL_ERR_TIMEOUT,
                   "libvirtd (%s) did not answer within %u s: cannot %s (an earlier call is still "
                   "waiting for it)",
                   d->uri, limit, call_what[kind]);
        return -1;
    }
    domCall *call = pool_calloc(1, sizeof(*call));
    if (!call)
        return -1;
    call->d = d;
    call->kind = kind;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&call->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!(call->arg = pool_strdup(arg)) || (arg2 && !(call->arg2 = pool_strdup(arg2)))) {
        call_free(call);
        return -1;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int e = pthread_create(&t, &attr, call_run, call);
    pthread_attr_destroy(&attr);
    if (e != 0) {
        call_free(call);
        pool_error_errno(e, "libvirt: cannot start a helper thread");
        return -1;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += limit;
    pthread_mutex_lock(&d->lock);
    while (!call->done && pthread_cond_timedwait(&call->cond, &d->lock, &until) != ETIMEDOUT)
        ;
    if (!call->done) {
        /* left to the helper, which frees it; the connection is dropped
         * so the next call opens a new one */
        call->abandoned = true;
        d->stuck++;
        if (d->conn) {
            virConnectClose(d->conn);
            d->conn = NULL;
        }
        pthread_mutex_unlock(&d->lock);
        log_warnx("libvirt %s: no answer within %u s (cannot %s); connection dropped", d->uri,
                  limit, call_what[kind]);
        pool_error(POOL_ERR_TIMEOUT, "libvirtd (%s) did not answer within %u s: cannot %s", d->uri,
                   limit, call_what[kind]);
        return -1;
    }
    pthread_mutex_unlock(&d->lock);
    int r = call->r;
    if (active)
        *active = call->active;
    if (r < 0) {
        pool_error_restore(call->err);
        call->err = NULL;
    }
    call_free(call);
    return r;
}

int poold_domain_create(poolDomains *d, const char *xml)
{
    return call_bounded(d, CALL_CREATE, xml, NULL, NULL);
}

int poold_domain_active(poolDomains *d, const char *name, bool *active)
{
    *active = false;
    return call_bounded(d, CALL_ACTIVE, name, NULL, active);
}

int poold_domain_destroy(poolDomains *d, const char *name)
{
    return call_bounded(d, CALL_DESTROY, name, NULL, NULL);
}

int poold_domain_shutdown(poolDomains *d, const char *name)
{
    return call_bounded(d, CALL_SHUTDOWN, name, NULL, NULL);
}

int poold_domain_secret_set(poolDomains *d, const char *usage, const char *value)
{
    return call_bounded(d, CALL_SECRET_SET, usage, value, NULL);
}

int poold_domain_secret_remove(poolDomains *d, const char *usage)
{
    return call_bounded(d, CALL_SECRET_REMOVE, usage, NULL, NULL);
}
