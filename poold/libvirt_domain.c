/*
 * libvirt_domain.c: transient domains in this host's libvirt for VMs that
 * poold starts (libvirt_domain.h states the contract).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_domain.h"
#include "libvirt_secret.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"

struct poolDomains {
    char *uri;
    virConnectPtr conn;
};

/* poold logs what matters itself; libvirt would print every error. */
static void quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

poolDomains *poold_domains_new(const char *uri)
{
    if (virInitialize() < 0) {
        pool_error(POOL_ERR_SYSTEM, "libvirt: cannot initialise the library");
        return NULL;
    }
    virSetErrorFunc(NULL, quiet);
    poolDomains *d = pool_calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->uri = pool_strdup(uri ? uri : "qemu:///system");
    if (!d->uri) {
        free(d);
        return NULL;
    }
    return d;
}

void poold_domains_free(poolDomains *d)
{
    if (!d)
        return;
    if (d->conn)
        virConnectClose(d->conn);
    free(d->uri);
    free(d);
}

/* The libvirt error as a pool_error, its code mapped. */
static int fail(poolDomains *d, const char *what)
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
    pool_error(code, "libvirt %s: %s: %s", d->uri, what, msg);
    /* a dead connection is dropped: the next call opens a new one */
    if (d->conn && virConnectIsAlive(d->conn) != 1) {
        virConnectClose(d->conn);
        d->conn = NULL;
    }
    return -1;
}

static virConnectPtr conn(poolDomains *d)
{
    if (d->conn && virConnectIsAlive(d->conn) == 1)
        return d->conn;
    if (d->conn) {
        virConnectClose(d->conn);
        d->conn = NULL;
    }
    d->conn = virConnectOpen(d->uri);
    if (!d->conn) {
        virErrorPtr e = virGetLastError();
        pool_error(POOL_ERR_CONNECT, "libvirt %s: cannot connect: %s", d->uri,
                   e && e->message ? e->message : "unknown libvirt error");
        return NULL;
    }
    return d->conn;
}

int poold_domain_create(poolDomains *d, const char *xml)
{
    virConnectPtr c = conn(d);
    if (!c)
        return -1;
    virDomainPtr dom = virDomainCreateXML(c, xml, 0);
    if (!dom)
        return fail(d, "cannot start the domain");
    virDomainFree(dom);
    return 0;
}

/* The domain of that name; NULL with *missing set when there is none. */
static virDomainPtr lookup(poolDomains *d, const char *name, bool *missing)
{
    *missing = false;
    virConnectPtr c = conn(d);
    if (!c)
        return NULL;
    virDomainPtr dom = virDomainLookupByName(c, name);
    if (!dom) {
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_DOMAIN) {
            *missing = true;
            virResetLastError();
            return NULL;
        }
        fail(d, "domain lookup");
    }
    return dom;
}

int poold_domain_active(poolDomains *d, const char *name, bool *active)
{
    *active = false;
    bool missing;
    virDomainPtr dom = lookup(d, name, &missing);
    if (!dom)
        return missing ? 0 : -1;
    int r = virDomainIsActive(dom);
    if (r < 0)
        fail(d, "cannot read the domain's state");
    else
        *active = r == 1;
    virDomainFree(dom);
    return r < 0 ? -1 : 0;
}

int poold_domain_destroy(poolDomains *d, const char *name)
{
    bool missing;
    virDomainPtr dom = lookup(d, name, &missing);
    if (!dom)
        return missing ? 0 : -1;
    int r = 0;
    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
        /* it may have ended between the two calls */
        r = virDomainIsActive(dom) == 0 ? 0 : fail(d, "cannot destroy the domain");
    }
    virDomainFree(dom);
    return r;
}

int poold_domain_shutdown(poolDomains *d, const char *name)
{
    bool missing;
    virDomainPtr dom = lookup(d, name, &missing);
    if (!dom)
        return missing ? 0 : -1;
    int r = 0;
    if (virDomainIsActive(dom) == 1 && virDomainShutdown(dom) < 0)
        r = virDomainIsActive(dom) == 0 ? 0 : fail(d, "cannot shut the domain down");
    virDomainFree(dom);
    return r;
}

/* A failure drops a dead connection, like fail() does. */
static int secret_done(poolDomains *d, int r)
{
    if (r < 0 && d->conn && virConnectIsAlive(d->conn) != 1) {
        virConnectClose(d->conn);
        d->conn = NULL;
    }
    return r;
}

int poold_domain_secret_set(poolDomains *d, const char *usage, const char *value)
{
    virConnectPtr c = conn(d);
    if (!c)
        return -1;
    return secret_done(d, poold_libvirt_secret_set(c, usage, value));
}

int poold_domain_secret_remove(poolDomains *d, const char *usage)
{
    virConnectPtr c = conn(d);
    if (!c)
        return -1;
    return secret_done(d, poold_libvirt_secret_remove(c, usage));
}
