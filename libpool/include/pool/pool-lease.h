/*
 * pool-lease.h: cluster coordination through sanlock (docs/design.md choices 2-4).
 *
 * A pool's `ids` LV holds its sanlock lockspace: one delta lease per host id
 * (1..host_ids). Its `leases` LV holds 1 MiB paxos resource leases: slot 0 is
 * the pool-metadata lease (whoever holds it may change the VG), slot k is the
 * lease of the volume tagged pd_slot:k. Both are addressed as (PV path, byte
 * offset) through the LVs' segment maps and are never activated; callers
 * resolve the addresses (poolPoolDef.ids_segments, poolVolDef.lease_pv/offset)
 * and hand them in here, so this module knows nothing about LVM.
 *
 * Every call goes to the sanlock daemon of this host through libsanlock's
 * client library; the daemon is found in $SANLOCK_RUN_DIR (default
 * /run/sanlock), which is how tests give each simulated host its own daemon.
 *
 * Names on disk:
 *   lockspace  the pool uuid without dashes (32 characters; sanlock allows
 *              48). Not the pool name: the uuid never changes, is unique
 *              across every pool a daemon may join (two clusters may both
 *              have a pool "pool1"; an imported VG may be renamed), and the
 *              name is written into every delta and paxos lease, where a
 *              rename would make every lease mismatch.
 *   resource   the volume uuid (36 characters), or POOL_LEASE_METADATA_NAME
 *              for slot 0. A uuid never matches that name.
 *
 * Sector and align sizes follow the PV's logical sector size (BLKSSZGET):
 * 512-byte PVs use 512/1M everywhere (2000 hosts per lease); 4 KiB PVs use
 * 4096 with the smallest lockspace align that fits host_ids, and 4096/1M for
 * the 1 MiB lease slots, which limits lease holders to host ids 1..250.
 *
 * Holding leases: sanlock ties a resource lease to a registered process
 * connection. A poolLeaseHolder is that connection; every lease acquired
 * through it is released by the daemon when the holder is freed or the
 * process exits. Use one holder per process and keep it open while leases
 * must be held. Calls on one holder are serialised internally (sanlock
 * requires it for threaded clients).
 *
 * Timeouts (sanlock 3.8, derived from a host's io_timeout T):
 *   renewal every 2T; a host that has not renewed for 8T is "fail" (it is
 *   killing its lease holders); after 8T + 60 s (its watchdog's fire time,
 *   fixed in sanlock 3.8 even when the watchdog is off) it is "dead" and its
 *   leases may be taken. So with T = 1 a failover takes ~68 s, with T = 10
 *   (the oVirt default) ~140 s.
 *
 * Errors: 0 / -1 (or pointer / NULL) with a pool_error naming the cause:
 *   POOL_ERR_CONNECT      the sanlock daemon cannot be reached
 *   POOL_ERR_BUSY         "lease of volume V is held by host 3 (live)"
 *   POOL_ERR_TIMEOUT      a bounded wait ran out (join, leave), or sanlock did
 *                         not answer within the sanlock timeout
 *   POOL_ERR_PERMISSION   lockspace not joined by this host
 *   POOL_ERR_DEVICE       area not initialised / holds another lease / I/O
 *   POOL_ERR_EXISTS       lockspace already formatted, lease already held
 *   POOL_ERR_INVALID_ARG  host id out of range, bad name
 *
 * Ownership: poolLockspace and poolLeaseHolder are freed by their _free
 * functions; host arrays from pool_lockspace_hosts() with free().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_LEASE_H
#define POOL_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool-alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POOL_LEASE_NAME_MAX      48 /* sanlock's SANLK_NAME_LEN */
#define POOL_LEASE_METADATA_NAME "pool-metadata"
#define POOL_LEASE_MAX_HOST_ID   2000u

typedef enum {
    POOL_LEASE_HOST_UNKNOWN = 0, /* not watched long enough to tell */
    POOL_LEASE_HOST_FREE,        /* host id not held */
    POOL_LEASE_HOST_LIVE,        /* renewing */
    POOL_LEASE_HOST_FAIL,        /* stopped renewing; may still be writing */
    POOL_LEASE_HOST_DEAD,        /* past its watchdog time: its leases can be taken */
} poolLeaseHostState;

const char *pool_lease_host_state_name(poolLeaseHostState s); /* "live", ... */

typedef struct {
    unsigned io_timeout;      /* seconds */
    unsigned renewal_seconds; /* delta lease renewed this often */
    unsigned fail_seconds;    /* no renewal for this long: "fail" */
    unsigned dead_seconds;    /* no renewal for this long: "dead" */
} poolLeaseTimeouts;

/* Every call to the sanlock daemon is waited for at most this many seconds
 * (join and leave: their own wait_seconds); a daemon that does not answer
 * in time gives POOL_ERR_TIMEOUT "sanlock did not answer within N s", and
 * while such a call is still outstanding, further calls of the same kind
 * (on the same holder; queries; join/leave of the same lockspace) fail the
 * same way at once. An acquire answered after its caller gave up is
 * released again as soon as the answer comes. Process-wide; poold sets it
 * from poold.conf's sanlock_timeout. */
#define POOL_LEASE_CALL_TIMEOUT_DEFAULT 30u /* 3 x the default io_timeout */
void pool_lease_set_call_timeout(unsigned seconds);
unsigned pool_lease_call_timeout(void);
/* Cap this thread's sanlock calls at ms milliseconds (0: no cap, the
 * process-wide timeout applies); returns the previous cap. For threads that
 * must not block long, such as the target's I/O path. */
unsigned pool_lease_cap_thread_timeout(unsigned ms);

/* What sanlock derives from an io_timeout (see the table above). */
void pool_lease_timeouts(unsigned io_timeout, poolLeaseTimeouts *out);

/* One host's delta lease as this host's sanlock daemon sees it. */
typedef struct {
    unsigned host_id;
    uint64_t generation; /* bumped each time the host joins */
    uint64_t timestamp;  /* last renewal, in that host's monotonic seconds */
    unsigned io_timeout; /* the io_timeout that host joined with */
    poolLeaseHostState state;
} poolLeaseHost;

/* A pool's lockspace: name and where its delta leases live. */
typedef struct poolLockspace poolLockspace;

/* pool_uuid: the pool's uuid (with or without dashes); ids_pv/ids_offset:
 * where the `ids` LV starts; ids_bytes: how many contiguous bytes lie there
 * (the length of the LV's first segment); host_ids: how many host ids the
 * pool has (1..2000). Detects the PV's sector size and checks the delta
 * leases fit in ids_bytes at that sector size; does not talk to sanlock. */
poolLockspace *pool_lockspace_new(const char *pool_uuid, const char *ids_pv, uint64_t ids_offset,
                                  uint64_t ids_bytes, unsigned host_ids);
void pool_lockspace_free(poolLockspace *ls);
/* An independent copy (for another thread to use). */
poolLockspace *pool_lockspace_copy(const poolLockspace *ls);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolLockspace, pool_lockspace_free)

const char *pool_lockspace_name(const poolLockspace *ls);
unsigned pool_lockspace_sector_size(const poolLockspace *ls);

/* Write fresh delta leases for every host id (done once, at pool create).
 * Refuses (POOL_ERR_EXISTS) when the area already holds a lockspace unless
 * force: reformatting a lockspace in use silently breaks every host's
 * membership. io_timeout is recorded as the lockspace default. */
int pool_lockspace_format(const poolLockspace *ls, unsigned io_timeout, bool force);

/* Join with host_id (1..host_ids) and io_timeout (seconds, 0 = daemon
 * default). Joining acquires the host id's delta lease, which sanlock makes
 * slow on purpose (about 3 io_timeouts; much longer if the id was recently
 * held by another host). Waits at most wait_seconds; on timeout the join goes
 * on in the daemon and POOL_ERR_TIMEOUT is reported. Joining again with the
 * same host id succeeds at once. */
int pool_lockspace_join(const poolLockspace *ls, unsigned host_id, unsigned io_timeout,
                        unsigned wait_seconds);

/* Leave: releases this host's delta lease. Fails with POOL_ERR_BUSY while a
 * process of this host still holds leases in the lockspace (sanlock would
 * otherwise kill it). Bounded like join. */
int pool_lockspace_leave(const poolLockspace *ls, unsigned wait_seconds);

/* Has this host joined (joined = true, *host_id set if non-NULL)? A join in
 * progress reports false. */
int pool_lockspace_joined(const poolLockspace *ls, bool *joined, unsigned *host_id);

/* Every host this host's daemon has seen in the lockspace (requires having
 * joined). *hosts is malloc'd (free()), sorted by host id. */
int pool_lockspace_hosts(const poolLockspace *ls, poolLeaseHost **hosts, size_t *n);
/* One host; state FREE if it was never seen. */
int pool_lockspace_host(const poolLockspace *ls, unsigned host_id, poolLeaseHost *out);
/* This host's own delta lease in the lockspace named ls_name: which host id
 * this host joined it with (asked of the sanlock daemon), then the lease as
 * the other hosts see it, read from disk: timestamp is the last renewal
 * written, in this host's CLOCK_MONOTONIC seconds (sanlock's monotime(),
 * taken just before the write), generation and io_timeout as written.
 * One sanlock call and one O_DIRECT sector read, no retries and no waits;
 * both block while the daemon or the disk do not answer, so call it from a
 * thread that can be given up on (poold's lease checker). POOL_ERR_NO_POOL
 * when not joined (or joining, leaving), POOL_ERR_BUSY before the first
 * renewal, POOL_ERR_DEVICE when the sector is not our delta lease. */
int pool_lockspace_renewal(const char *ls_name, poolLeaseHost *out);

/* Where one resource lease lives. label names it in error messages
 * ("volume web01-disk", "pool-metadata lease"); NULL means "lease NAME". */
typedef struct {
    const char *name; /* resource name: volume uuid or POOL_LEASE_METADATA_NAME */
    const char *pv;
    uint64_t offset; /* bytes; a multiple of 1 MiB */
    const char *label;
} poolLeaseRef;

/* The pool-metadata lease: slot 0, at the start of the `leases` LV. */
poolLeaseRef pool_lease_metadata_ref(const char *leases_pv, uint64_t leases_offset);

/* Initialise a lease slot for a resource (volume create; slot 0 at pool
 * create). Refuses with POOL_ERR_BUSY if the slot holds a lease that a live
 * (or not yet dead) host owns: a slot is only reused once its lease is free. */
int pool_lease_format(const poolLockspace *ls, const poolLeaseRef *ref);

/* Current owner of a lease, read from disk (works without joining). */
typedef struct {
    bool held;      /* an owner is recorded on disk */
    unsigned owner; /* its host id, when held */
    uint64_t owner_generation;
    poolLeaseHostState owner_state; /* UNKNOWN unless this host has joined */
    uint64_t lver;                  /* lease version: bumps at each acquire */
} poolLeaseStatus;

int pool_lease_status(const poolLockspace *ls, const poolLeaseRef *ref, poolLeaseStatus *out);

/* The registered connection that holds leases for this process. */
typedef struct poolLeaseHolder poolLeaseHolder;

poolLeaseHolder *pool_lease_holder_new(void);
/* Closes the connection: the daemon releases every lease it holds. */
void pool_lease_holder_free(poolLeaseHolder *h);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolLeaseHolder, pool_lease_holder_free)

/* Acquire an exclusive lease (this host must have joined the lockspace).
 * While another host owns it, retries until wait_seconds have passed (0 =
 * try once), then fails with POOL_ERR_BUSY naming the owner and its state.
 * A dead owner's lease is taken over. POOL_ERR_EXISTS if this holder
 * already has it. */
int pool_lease_acquire(poolLeaseHolder *h, const poolLockspace *ls, const poolLeaseRef *ref,
                       unsigned wait_seconds);
int pool_lease_release(poolLeaseHolder *h, const poolLockspace *ls, const poolLeaseRef *ref);
/* Does this holder hold the lease? */
int pool_lease_held(poolLeaseHolder *h, const poolLockspace *ls, const poolLeaseRef *ref,
                    bool *held);
/* How many leases of lockspace ls this holder holds. */
int pool_lease_holder_count(poolLeaseHolder *h, const poolLockspace *ls, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
