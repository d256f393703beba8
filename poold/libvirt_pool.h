/*
 * libvirt_pool.h: poold keeps one libvirt storage pool per managed pool
 * defined, started, autostarted and refreshed on its host (docs/design.md
 * choice 6), through the libvirt C API on libvirt_uri.
 *
 * All libvirt calls run on one worker thread of their own: the main loop
 * only queues jobs (a mutex held for microseconds), so a slow or hung
 * libvirtd never delays a storage request, and a libvirt failure is logged,
 * never returned to a client. libvirt_pool.c states the rules (pool type,
 * which libvirt pools are poold's, reconnecting).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_LIBVIRT_POOL_H
#define POOLD_LIBVIRT_POOL_H

#include "target_sync.h"
#include "pool-config.h"
#include "pool-ops.h"

typedef struct poolLibvirt poolLibvirt;

/* Start the worker (no connection yet: it is opened on first use). NULL
 * when libvirt_pool_type is "off" or the worker cannot start (logged);
 * every function below accepts NULL and then does nothing. */
poolLibvirt *poold_libvirt_start(const poolConfig *cfg);
/* Stop the worker: queued jobs are dropped, the job under way gets up to
 * wait_ms to finish (a worker stuck in libvirt is left behind, detached). */
void poold_libvirt_stop(poolLibvirt *lv, int wait_ms);

/* Define (if absent), start and autostart the libvirt pool of `pool`, then
 * refresh it. Called at startup for every pool and after pool create or
 * import. Needs the pool's target (iscsi-direct) from ex. */
void poold_libvirt_publish(poolLibvirt *lv, poolManager *mgr, poolExport *ex, const char *pool);
void poold_libvirt_publish_all(poolLibvirt *lv, poolManager *mgr, poolExport *ex);
/* Pool gone: destroy and undefine its libvirt pool, if it is ours. */
void poold_libvirt_unpublish(poolLibvirt *lv, const char *pool);
/* The same, waiting (up to wait_ms) until it is done: pool destroy, before
 * the VG and the target go (a failed destroy publishes the pool again). */
void poold_libvirt_unpublish_wait(poolLibvirt *lv, const char *pool, int wait_ms);
/* Volumes changed (here or on another host): refresh the libvirt pool. */
void poold_libvirt_refresh(poolLibvirt *lv, const char *pool);
/* Do libvirt's pools log in to the target (iscsi-direct publishing on)?
 * false for NULL. Such a pool follows the target's CHAP: a CHAP change
 * publishes the pool again (its libvirt secret, libvirt_secret.h). */
bool poold_libvirt_uses_target(const poolLibvirt *lv);

/* This host's initiator name for libvirt and QEMU: libvirt_initiator, or
 * "iqn.2026-11.org.poold:initiator:" + the host name (lower case, other
 * characters as '-'). Caller frees. */
char *poold_libvirt_initiator(const poolConfig *cfg);
/* Where this host's initiators reach the embedded target: the first
 * iscsi_portal entry (0.0.0.0 -> 127.0.0.1, :: -> ::1). *host NULL when
 * the target is off (iscsi_portal empty). */
int poold_libvirt_portal(const poolConfig *cfg, char **host, unsigned *port);

#endif
