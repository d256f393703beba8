/*
 * poold.h: what the daemon's parts share: the server state and the request
 * dispatch table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_H
#define POOLD_H

#include <stdbool.h>
#include <stdint.h>
#include <libxml/tree.h>

#include "pool-config.h"
#include "pool-vmstore.h"
#include "pool-ops.h"
#include "pool-proto.h"
#include "target_sync.h"
#include "libvirt_domain.h"
#include "libvirt_pool.h"

typedef struct {
    const poolConfig *cfg;
    poolManager *mgr;
    poolExport *ex;          /* the embedded iSCSI target's view of the pools */
    poolLibvirt *lv;         /* libvirt storage pools (libvirt_pool.c); NULL = off */
    poolDomains *doms;       /* VMs run here (libvirt_domain.c); NULL = out of memory */
    bool shutdown_requested; /* set by SIGTERM/SIGINT or the shutdown request */
    int ready_fd;            /* written to once listening (daemon mode), else -1 */
    uint64_t refresh_next;   /* monotonic ms of the next change check (refresh.c) */
} poolDaemon;

/* A handler reads the request's params, does the work and appends result
 * nodes to `reply` (the <reply> root). It returns 0, or -1 with the error
 * set; the dispatcher turns that into an error reply. */
typedef int (*poolHandler)(poolDaemon *d, const poolRequest *req, xmlNodePtr reply);

/* Which handler serves an op. The params an op accepts are the catalogue's
 * (pool_catalogue in pool-proto.h), not the handler table's. */
typedef struct {
    const char *op;
    poolHandler handler;
} poolDispatchEntry;

/* Build the reply document for one request payload (never NULL unless out
 * of memory). */
xmlDocPtr poold_dispatch(poolDaemon *d, const char *payload, size_t len);
/* Every op of the catalogue has exactly one handler and every handler
 * serves an op of the catalogue: 0, or -1 with an internal error. */
int poold_dispatch_check(void);

extern const poolDispatchEntry poold_pool_handlers[];
extern const poolDispatchEntry poold_volume_handlers[];
extern const poolDispatchEntry poold_daemon_handlers[];
extern const poolDispatchEntry poold_target_handlers[];
extern const poolDispatchEntry poold_cluster_handlers[];
extern const poolDispatchEntry poold_vm_handlers[];     /* handlers_vm.c */
extern const poolDispatchEntry poold_vm_run_handlers[]; /* handlers_vm_run.c */
/* <result type="vm" ...> for a record (handlers_vm.c) */
int poold_vm_record_reply(const char *pool, const poolVmRecord *rec, xmlNodePtr reply);

/* How long pool create/import --host-id wait for sanlock's join before
 * answering "still joining" (host join takes --wait). */
#define POOLD_JOIN_WAIT 120

/* Helpers for handlers (handlers_common.c). */
int poold_param_required(const poolRequest *req, const char *name, const char **value);
int poold_param_size(const poolRequest *req, const char *name, bool required, uint64_t *bytes);
int poold_param_uint(const poolRequest *req, const char *name, uint64_t max, unsigned *out);
/* Attributes of <result> replies; 0, or -1 out of memory. */
int poold_set_uint(xmlNodePtr n, const char *name, uint64_t v);
int poold_set_str(xmlNodePtr n, const char *name, const char *v);

/* refresh.c: look for other hosts' VG changes (between requests) */
void poold_refresh_tick(poolDaemon *d);
/* The manager's idle hook (pool_manager_set_idle_hook): the refresh tick,
 * run from inside a request that waits (ctx: the poolDaemon). Once
 * requests no longer run on the main loop (they hold up no tick), it can
 * go. */
void poold_refresh_idle(void *ctx);
/* how long the loop may sleep before the next check is due */
int poold_refresh_timeout_ms(const poolDaemon *d);

/* server.c */
int poold_server_run(poolDaemon *d);

#endif
