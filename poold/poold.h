/*
 * poold.h: what the daemon's parts share: the server state and the request
 * dispatch table.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_H
#define POOLD_H

#include <pthread.h>
#include <stdatomic.h>
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

struct poolNamedLock;
struct poolJobs;

/* docs/design.md "Concurrency" has the rules and the lock order. */
typedef struct {
    const poolConfig *cfg;
    poolManager *mgr;
    poolExport *ex;                 /* the embedded iSCSI target's view of the pools */
    poolLibvirt *lv;                /* libvirt storage pools (libvirt_pool.c); NULL = off */
    poolDomains *doms;              /* VMs run here (libvirt_domain.c); NULL = out of memory */
    atomic_bool shutdown_requested; /* set by SIGTERM/SIGINT or the shutdown request */
    int ready_fd;                   /* written to once listening (daemon mode), else -1 */
    /* The set of pools (the manager's entries, the target's pools): shared
     * by every request but the GLOBAL ones (pool create, import, destroy,
     * host join and leave), which hold it exclusively. */
    pthread_rwlock_t pools_lock;
    /* The per-pool and per-(pool, VM) mutexes of POOL and VM requests,
     * made on first use and freed when no request holds or waits for
     * them; names_lock guards only that list. */
    pthread_mutex_t names_lock;
    struct poolNamedLock *named;
    /* poold_emit: one event at a time, so subscribers see them in order */
    pthread_mutex_t events_lock;
    /* refresh.c's thread */
    pthread_t refresh_thread;
    bool refresh_running;
    pthread_mutex_t refresh_lock;
    pthread_cond_t refresh_cond;
    bool refresh_stop;
    /* long operations running in the background (jobs.h) */
    struct poolJobs *jobs;
} poolDaemon;

/* Initialise / destroy the locks of a poolDaemon (main.c, tests). */
void poold_daemon_locks_init(poolDaemon *d);
void poold_daemon_locks_destroy(poolDaemon *d);

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
 * of memory): poold_dispatch_prepare then poold_dispatch_run. */
xmlDocPtr poold_dispatch(poolDaemon *d, const char *payload, size_t len);

/* A request parsed and checked against the catalogue, not yet run. The
 * socket thread prepares every request; one that is "inline" (failed its
 * checks, or an op of lock class NONE) it runs itself, any other runs on
 * a worker thread (server.c). */
typedef struct poolPrepared poolPrepared;
/* NULL only when out of memory. Never blocks. */
poolPrepared *poold_dispatch_prepare(poolDaemon *d, const char *payload, size_t len);
bool poold_dispatch_inline(const poolPrepared *p);
/* Take the op's locks, run its handler, release them; frees p. Runs on
 * the thread that prepared p when p is inline (its error is there). */
xmlDocPtr poold_dispatch_run(poolDaemon *d, poolPrepared *p);
/* Every op of the catalogue has exactly one handler and every handler
 * serves an op of the catalogue: 0, or -1 with an internal error. */
int poold_dispatch_check(void);

extern const poolDispatchEntry poold_pool_handlers[];
extern const poolDispatchEntry poold_volume_handlers[];
extern const poolDispatchEntry poold_daemon_handlers[];
extern const poolDispatchEntry poold_target_handlers[];
extern const poolDispatchEntry poold_cluster_handlers[];
extern const poolDispatchEntry poold_snapshot_handlers[];
/* Before a volume delete: the read-only LUNs of its snapshot layers leave
 * this host's target (refused, busy, while sessions use one); *taken: how
 * many (handlers_snapshot.c). */
int poold_snapshot_luns_take(poolDaemon *d, const char *pool, const char *volume, int *taken);
/* At start: finish the snapshot merges a crash interrupted (pools without
 * locking); how many, or -1 (logged). */
int poold_snapshot_merge_resume(poolDaemon *d);
extern const poolDispatchEntry poold_vm_handlers[];     /* handlers_vm.c */
extern const poolDispatchEntry poold_vm_run_handlers[]; /* handlers_vm_run.c */
extern const poolDispatchEntry poold_job_handlers[];    /* handlers_job.c */
/* handlers_job.c, for the dispatcher (with the op's locks held): refuse a
 * change of a volume a running job uses, and pool destroy / host leave of
 * a pool a job runs on (POOL_ERR_BUSY naming the job). 0 or -1. */
int poold_jobs_check_request(poolDaemon *d, const poolOpSpec *spec, const poolRequest *req);
/* <result type="job" .../> of job id (handlers_job.c). */
int poold_job_reply_id(poolDaemon *d, xmlNodePtr reply, unsigned id);
/* <result type="vm" ...> for a record (handlers_vm.c) */
int poold_vm_record_reply(const char *pool, const poolVmRecord *rec, xmlNodePtr reply);

/* How long pool create/import --host-id wait for sanlock's join before
 * answering "still joining" (host join takes --wait). */
#define POOLD_JOIN_WAIT 120

/* A GLOBAL op (pool create/import) whose last step is a long wait on one
 * pool (sanlock's join) leaves that step for after its global part: the
 * dispatcher then runs fn under that pool's locks only (the shared pools
 * lock and the pool's mutex), so other requests are not held up by the
 * wait. fn appends to the same reply; its failure is the request's. Takes
 * ctx (freed with ctx_free when done, or at once on failure). Only
 * honoured for GLOBAL ops; 0, or -1 with the error set. */
typedef int (*poolContinuation)(poolDaemon *d, const char *pool, void *ctx, xmlNodePtr reply);
int poold_continue_on_pool(const char *pool, poolContinuation fn, void *ctx,
                           void (*ctx_free)(void *));
/* Run fn under a pool's locks, as a POOL request would (the shared pools
 * lock and the pool's mutex), from a thread that holds none: a job's
 * short LVM steps. The pool may have gone meanwhile (an error then).
 * fn's result, or -1 with the error set. */
int poold_with_pool(poolDaemon *d, const char *pool,
                    int (*fn)(poolDaemon *d, const char *pool, void *ctx), void *ctx);
/* For the dispatcher: the continuation this thread's handler left, if any
 * (handlers_common.c). */
typedef struct {
    char *pool;
    poolContinuation fn;
    void *ctx;
    void (*ctx_free)(void *);
} poolPendingContinuation;
bool poold_continuation_take(poolPendingContinuation *out);
void poold_continuation_clear(poolPendingContinuation *c);

/* Helpers for handlers (handlers_common.c). */
int poold_param_required(const poolRequest *req, const char *name, const char **value);
int poold_param_size(const poolRequest *req, const char *name, bool required, uint64_t *bytes);
int poold_param_uint(const poolRequest *req, const char *name, uint64_t max, unsigned *out);
/* Attributes of <result> replies; 0, or -1 out of memory. */
int poold_set_uint(xmlNodePtr n, const char *name, uint64_t v);
int poold_set_str(xmlNodePtr n, const char *name, const char *v);

/* refresh.c: look for other hosts' VG changes, every refresh_interval_ms,
 * on a thread of its own. start: 0, or -1 with the error set. */
int poold_refresh_start(poolDaemon *d);
void poold_refresh_stop(poolDaemon *d);

/* server.c */
int poold_server_run(poolDaemon *d);

#endif
