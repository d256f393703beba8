/*
 * libvirt_domain.h: the domains of this host's libvirt that poold runs for
 * `poolctl vm start|stop` (libvirt C API on libvirt_uri). Domains are
 * transient: the definition lives in the pool's metadata store, so a host
 * keeps nothing about a VM once it stops and any host can start it.
 *
 * Called from request workers, with its own connection (opened on first
 * use, reopened when found dead), apart from libvirt_pool.c's worker: each
 * call is one short libvirt request (create, destroy, ask for an
 * ACPI shutdown, look up); waiting for a guest to shut down is left to the
 * caller (poolctl polls), so poold is never held by a slow guest.
 *
 * Bounded: each call runs on a helper thread and the caller waits for it
 * at most libvirt_timeout seconds, then fails with POOL_ERR_TIMEOUT
 * ("libvirtd ... did not answer within N s") and drops the connection, so
 * the next call opens a new one; the helper finishes on its own when
 * libvirtd answers or the connection's keepalive gives up on it. While a
 * helper that timed out is still stuck, later calls fail the same way at
 * once rather than piling up threads. Every connection (this file's and
 * libvirt_pool.c's) has keepalive on (libvirt_keepalive_interval and
 * _count), served by the event loop thread poold_libvirt_events_start
 * runs.
 *
 * Errors: 0 / -1 with a pool_error naming the URI: POOL_ERR_CONNECT
 * (libvirtd unreachable), POOL_ERR_BUSY (libvirt says a resource is busy:
 * a lease held elsewhere), POOL_ERR_EXISTS (a domain of that name already
 * exists here), POOL_ERR_SYSTEM (anything else, libvirt's message kept).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_LIBVIRT_DOMAIN_H
#define POOLD_LIBVIRT_DOMAIN_H

#include <stdbool.h>

#include "pool-config.h"
#include <libvirt/libvirt.h>

typedef struct poolDomains poolDomains;

/* libvirt's default event loop on a thread of its own (once per process,
 * before any connection is opened): keepalive needs it. 0, or -1 (logged:
 * connections then run without keepalive). */
int poold_libvirt_events_start(void);
/* Keepalive on a new connection (cfg's interval and count); logged when
 * it cannot be set. */
void poold_libvirt_keepalive(virConnectPtr conn, const poolConfig *cfg);

poolDomains *poold_domains_new(const poolConfig *cfg);
void poold_domains_free(poolDomains *d);

/* Create and start a transient domain. With libvirt's sanlock lock
 * manager QEMU holds the domain's <lease>s before its vCPUs run (libvirt
 * acquires them in QEMU's process; started paused, it would only register
 * and acquire at resume); a lease held elsewhere fails the start. */
int poold_domain_create(poolDomains *d, const char *xml);
/* Does a domain of that name run here (running, paused, shutting down)? */
int poold_domain_active(poolDomains *d, const char *name, bool *active);
/* Pull the plug (QEMU killed): leases are freed as it exits. A domain that
 * is not running is not an error. */
int poold_domain_destroy(poolDomains *d, const char *name);
/* Ask the guest to shut down (ACPI); returns at once. */
int poold_domain_shutdown(poolDomains *d, const char *name);
/* The libvirt secret a VM's disks name for the target's CHAP
 * (libvirt_secret.h): defined and set before the domain starts; removed
 * when the target has no CHAP (none is not an error). */
int poold_domain_secret_set(poolDomains *d, const char *usage, const char *value);
int poold_domain_secret_remove(poolDomains *d, const char *usage);

#endif
