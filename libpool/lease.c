/*
 * lease.c: sanlock lockspace and resource leases for a pool (pool-lease.h).
 *
 * Everything goes through the local sanlock daemon (libsanlock_client); this
 * file only builds sanlock's structs from (PV, offset) addresses, bounds the
 * waits sanlock itself would make unbounded, and turns sanlock's numeric
 * results into errors that name their cause.
 *
 * Waits: every call into libsanlock_client runs on a thread of its own and
 * is waited for at most the sanlock timeout (pool_lease_set_call_timeout;
 * "bounded sanlock calls" below says what happens to a late answer).
 *   join/leave  sanlock's add/rem_lockspace block until the delta lease is
 *               acquired or released, which can take minutes (a host id
 *               recently used by another host is only taken after that host
 *               would be dead). The caller waits at most wait_seconds and
 *               the call finishes on its own (the daemon completes the
 *               operation either way).
 *   acquire     made with SANLK_ACQUIRE_OWNER_NOWAIT, so the daemon never
 *               waits for an owner's delta lease to expire on our behalf; we
 *               retry up to the deadline instead, each try bounded.
 *
 * sanlock's on-disk sizes: a lockspace is max_hosts sectors at its align
 * size; a paxos lease is one align-size area (1 MiB here: one slot).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* sanlock's headers use stdint/stddef types without including them */
#include <sanlock.h>
#include <sanlock_admin.h>
#include <sanlock_resource.h>
#include <sanlock_rv.h>

#include "bounded.h"
#include "pool-alloc.h"
#include "pool-byteorder.h"
#include "pool-error.h"
#include "pool-lease.h"
#include "pool-log.h"
#include "pool-util.h"

#define MIB (1024ull * 1024)

/* sanlock 3.8's WATCHDOG_FIRE_TIMEOUT: other hosts assume a failed host's
 * watchdog fired this long after it stopped renewing, watchdog or not. */
#define SANLOCK_WATCHDOG_FIRE_SECONDS 60u

struct poolLockspace {
    char name[POOL_LEASE_NAME_MAX + 1];
    char *ids_pv;
    uint64_t ids_offset;
    unsigned host_ids;
    unsigned sector_size; /* 512 or 4096 */
    uint32_t ls_flags;    /* SANLK_LSF_SECTOR* | SANLK_LSF_ALIGN* */
    uint32_t res_flags;   /* SANLK_RES_SECTOR* | SANLK_RES_ALIGN1M */
    unsigned res_max_host_id;
};

struct poolLeaseHolder {
    int sock;
    pthread_mutex_t lock; /* sanlock: serialise calls on a registered socket */
    int refs;             /* the owner's and one per call in flight [atomic] */
    poolBoundedLane lane; /* calls on this connection */
};

/* ---- small helpers ---------------------------------------------------- */

static const char *run_dir(void)
{
    const char *d = getenv("SANLOCK_RUN_DIR");
    return d && *d ? d : "/run/sanlock";
}

static void sleep_seconds(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *sanlock_text(int rv)
{
    /* sanlock_strerror knows sanlock's own codes; plain -errno values it
     * reports as generic, so use strerror for those. */
    if (rv <= -200)
        return sanlock_strerror(rv);
    return strerror(-rv);
}

/* ---- bounded sanlock calls ---------------------------------------------
 *
 * Every call into the sanlock client library goes through sl_run: the
 * client waits on its socket for as long as the daemon does not answer
 * (a stopped daemon, a daemon stuck on its disks), so the call runs on a
 * thread of its own (bounded.h) and the caller waits at most the sanlock
 * timeout (pool_lease_set_call_timeout; join and leave their own wait).
 * Lanes: one per holder connection, one per lockspace for join/leave,
 * and one for everything else (queries, formatting: each opens its own
 * connection). While a call of a lane is stuck, further calls of that lane
 * fail at once with the same error.
 *
 * Answers that come after the caller gave up: an acquire that succeeded is
 * released at once on the same connection (the caller reported failure, so
 * nobody relies on the lease, and until that release is answered the
 * holder's lane stays stuck, so no other call on the connection can
 * overtake it); everything else is logged and dropped. */

typedef enum {
    SL_VERSION,
    SL_REGISTER,
    SL_ACQUIRE,
    SL_RELEASE,
    SL_INQUIRE,
    SL_GET_LOCKSPACES,
    SL_GET_HOSTS,
    SL_READ_OWNERS,
    SL_READ_RESOURCE,
    SL_WRITE_RESOURCE,
    SL_READ_LOCKSPACE,
    SL_WRITE_LOCKSPACE,
    SL_ADD_LOCKSPACE,
    SL_REM_LOCKSPACE,
} slKind;

typedef struct {
    slKind kind;
    int rv;
    poolLeaseHolder *h;         /* a reference, for calls on a holder's connection */
    struct sanlk_lockspace sl;  /* lockspace calls */
    struct sanlk_resource *res; /* resource calls (owned) */
    char name[SANLK_NAME_LEN + 1];
    uint64_t host_id;
    uint32_t flags;
    unsigned io_timeout;
    /* answers */
    void *list; /* malloc'd by libsanlock: lockspaces, hosts, owners */
    int count;
    char *state; /* inquire */
    uint32_t u32;
} slCall;

static unsigned call_timeout_s = POOL_LEASE_CALL_TIMEOUT_DEFAULT;
static poolBoundedLane admin_lane = POOL_BOUNDED_LANE_INIT;

void pool_lease_set_call_timeout(unsigned seconds)
{
    __atomic_store_n(&call_timeout_s, seconds ? seconds : 1, __ATOMIC_RELAXED);
}

unsigned pool_lease_call_timeout(void)
{
    return __atomic_load_n(&call_timeout_s, __ATOMIC_RELAXED);
}

/* A thread that must not wait long (the target's I/O path) caps its own
 * calls below the process-wide timeout. */
static __thread unsigned call_cap_ms;

unsigned pool_lease_cap_thread_timeout(unsigned ms)
{
    unsigned old = call_cap_ms;
    call_cap_ms = ms;
    return old;
}

static unsigned call_timeout_ms(void)
{
    unsigned ms = pool_lease_call_timeout() * 1000;
    return call_cap_ms && call_cap_ms < ms ? call_cap_ms : ms;
}

static void holder_unref(poolLeaseHolder *h);

static slCall *sl_new(slKind kind)
{
    slCall *c = calloc(1, sizeof(*c));
    if (!c)
        pool_error_oom();
    else
        c->kind = kind;
    return c;
}

static void sl_free(void *p)
{
    slCall *c = p;
    if (!c)
        return;
    free(c->res);
    free(c->list);
    free(c->state);
    if (c->h)
        holder_unref(c->h);
    free(c);
}

static void sl_freep(slCall **c)
{
    sl_free(*c);
}
#define SL_AUTO __attribute__((cleanup(sl_freep))) slCall *

/* a copy of res for a call to keep */
static struct sanlk_resource *res_dup(const struct sanlk_resource *res)
{
    size_t n = sizeof(*res) + res->num_disks * sizeof(struct sanlk_disk);
    struct sanlk_resource *c = malloc(n);
    if (!c)
        pool_error_oom();
    else
        memcpy(c, res, n);
    return c;
}

static void sl_exec(void *p)
{
    slCall *c = p;
    struct sanlk_resource *args[1] = {c->res};
    switch (c->kind) {
    case SL_VERSION:
        c->rv = sanlock_version(0, &c->u32, &c->flags);
        break;
    case SL_REGISTER:
        c->rv = sanlock_register();
        break;
    case SL_ACQUIRE:
        pthread_mutex_lock(&c->h->lock);
        c->rv = sanlock_acquire(c->h->sock, -1, c->flags, 1, args, NULL);
        pthread_mutex_unlock(&c->h->lock);
        break;
    case SL_RELEASE:
        pthread_mutex_lock(&c->h->lock);
        c->rv = sanlock_release(c->h->sock, -1, 0, 1, args);
        pthread_mutex_unlock(&c->h->lock);
        break;
    case SL_INQUIRE:
        pthread_mutex_lock(&c->h->lock);
        c->rv = sanlock_inquire(c->h->sock, -1, 0, &c->count, &c->state);
        pthread_mutex_unlock(&c->h->lock);
        break;
    case SL_GET_LOCKSPACES: {
        struct sanlk_lockspace *lss = NULL;
        c->rv = sanlock_get_lockspaces(&lss, &c->count, 0);
        c->list = lss;
        break;
    }
    case SL_GET_HOSTS: {
        struct sanlk_host *hss = NULL;
        c->rv = sanlock_get_hosts(c->name, c->host_id, &hss, &c->count, 0);
        c->list = hss;
        break;
    }
    case SL_READ_OWNERS: {
        struct sanlk_host *owners = NULL;
        c->rv = sanlock_read_resource_owners(c->res, 0, &owners, &c->count);
        c->list = owners;
        break;
    }
    case SL_READ_RESOURCE:
        c->rv = sanlock_read_resource(c->res, 0);
        break;
    case SL_WRITE_RESOURCE:
        c->rv = sanlock_write_resource(c->res, 0, 0, 0);
        break;
    case SL_READ_LOCKSPACE:
        c->rv = sanlock_read_lockspace(&c->sl, 0, &c->u32);
        break;
    case SL_WRITE_LOCKSPACE:
        c->rv = sanlock_write_lockspace(&c->sl, 0, 0, c->io_timeout);
        break;
    case SL_ADD_LOCKSPACE:
        c->rv = sanlock_add_lockspace_timeout(&c->sl, 0, c->io_timeout);
        break;
    case SL_REM_LOCKSPACE:
        c->rv = sanlock_rem_lockspace(&c->sl, SANLK_REM_UNUSED);
        break;
    }
}

/* The answer came after the caller gave up. */
static void sl_late(void *p)
{
    slCall *c = p;
    if (c->kind == SL_REGISTER && c->rv >= 0) {
        close(c->rv); /* nobody holds leases through it yet */
    } else if (c->kind == SL_ACQUIRE && c->rv == 0) {
        struct sanlk_resource *args[1] = {c->res};
        pthread_mutex_lock(&c->h->lock);
        int rv = sanlock_release(c->h->sock, -1, 0, 1, args);
        pthread_mutex_unlock(&c->h->lock);
        log_warnx("lockspace %.48s: sanlock granted lease %.48s after the request had given up; "
                  "released it again%s%s",
                  c->res->lockspace_name, c->res->name, rv < 0 ? ": " : "",
                  rv < 0 ? sanlock_text(rv) : "");
    } else if (c->kind == SL_RELEASE) {
        log_warnx("lockspace %.48s: sanlock answered the release of lease %.48s late: %s",
                  c->res->lockspace_name, c->res->name, c->rv < 0 ? sanlock_text(c->rv) : "done");
    } else if (c->kind == SL_ADD_LOCKSPACE || c->kind == SL_REM_LOCKSPACE) {
        log_info("lockspace %.48s: %s as host %llu finished in the background: %s", c->sl.name,
                 c->kind == SL_ADD_LOCKSPACE ? "join" : "leave", (unsigned long long)c->sl.host_id,
                 c->rv < 0 ? sanlock_text(c->rv) : "done");
    }
}

static const poolBoundedOps sl_ops = {.run = sl_exec, .late = sl_late, .free = sl_free};

/* Lanes for join/leave, one per lockspace name (a pool count's worth). */
#define MS_LANES 64
static pthread_mutex_t ms_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[SANLK_NAME_LEN + 1];
    poolBoundedLane lane;
} ms_lanes[MS_LANES];
static poolBoundedLane ms_overflow = POOL_BOUNDED_LANE_INIT;

static poolBoundedLane *membership_lane(const char *name)
{
    poolBoundedLane *l = &ms_overflow;
    pthread_mutex_lock(&ms_lock);
    for (size_t i = 0; i < MS_LANES; i++) {
        if (!ms_lanes[i].name[0]) {
            snprintf(ms_lanes[i].name, sizeof(ms_lanes[i].name), "%s", name);
            pthread_mutex_init(&ms_lanes[i].lane.lock, NULL);
            l = &ms_lanes[i].lane;
            break;
        }
        if (strncmp(ms_lanes[i].name, name, SANLK_NAME_LEN) == 0) {
            l = &ms_lanes[i].lane;
            break;
        }
    }
    pthread_mutex_unlock(&ms_lock);
    return l;
}

/* Run *cp on lane, waiting at most timeout_ms. 0: sanlock answered, (*cp)->rv
 * holds the answer. 1: not in time; *cp now belongs to the call's thread (set
 * to NULL) and, when what is non-NULL, a POOL_ERR_TIMEOUT names it. -1: error
 * set. */
static int sl_run_ms(poolBoundedLane *lane, slCall **cp, unsigned timeout_ms, const char *what)
{
    switch (pool_bounded_call(lane, &sl_ops, *cp, timeout_ms)) {
    case POOL_BOUNDED_DONE:
        return 0;
    case POOL_BOUNDED_TIMEOUT:
        *cp = NULL;
        if (what)
            pool_error(POOL_ERR_TIMEOUT, "%s: sanlock did not answer within %g s", what,
                       timeout_ms / 1000.0);
        return 1;
    case POOL_BOUNDED_STUCK:
        if (what)
            pool_error(POOL_ERR_TIMEOUT,
                       "%s: sanlock did not answer within %g s (an earlier call to it is still "
                       "waiting)",
                       what, timeout_ms / 1000.0);
        return 1;
    case POOL_BOUNDED_NO_THREAD:
        break;
    }
    return -1;
}

/* The usual case: the sanlock timeout, and no answer is an error. */
static int sl_run(poolBoundedLane *lane, slCall **cp, const char *what)
{
    return sl_run_ms(lane, cp, call_timeout_ms(), what) == 0 ? 0 : -1;
}

/* Is the daemon there at all? -ENOENT / -ECONNREFUSED are also what some
 * requests return for "no such lockspace", so ask it something harmless.
 * A daemon that does not answer in time is there. */
static bool daemon_reachable(void)
{
    SL_AUTO c = sl_new(SL_VERSION);
    if (!c)
        return true;
    int r = sl_run_ms(&admin_lane, &c, call_timeout_ms(), NULL);
    return r != 0 || c->rv >= 0;
}

/* Report a sanlock failure rv for an operation described by what. */
static int report_sanlock(int rv, const char *what)
{
    if ((rv == -ENOENT || rv == -ECONNREFUSED || rv == -ENOTCONN || rv == -EPIPE ||
         rv == -ECONNRESET) &&
        !daemon_reachable()) {
        pool_error(POOL_ERR_CONNECT, "%s: cannot reach the sanlock daemon at %s/sanlock.sock: %s",
                   what, run_dir(), strerror(-rv));
        return -1;
    }
    if (rv == -EPIPE || rv == -ECONNRESET || rv == -ENOTCONN) {
        /* the daemon answers but our registered connection is gone: it
         * restarted (and dropped every lease the connection held) */
        pool_error(POOL_ERR_CONNECT, "%s: the connection to the sanlock daemon was lost: %s", what,
                   strerror(-rv));
        return -1;
    }
    switch (rv) {
    case SANLK_LEADER_MAGIC:
        pool_error(POOL_ERR_DEVICE, "%s: the area is not initialised (no sanlock lease there)",
                   what);
        break;
    case SANLK_LEADER_LOCKSPACE:
    case SANLK_LEADER_RESOURCE:
        pool_error(POOL_ERR_DEVICE, "%s: the area holds a different sanlock %s", what,
                   rv == SANLK_LEADER_LOCKSPACE ? "lockspace" : "resource");
        break;
    case SANLK_LEADER_NUMHOSTS:
        pool_error(POOL_ERR_DEVICE,
                   "%s: this host's id is beyond the hosts the lease serves (1 MiB leases "
                   "on 4 KiB sectors serve host ids 1..250)",
                   what);
        break;
    case SANLK_LEADER_SECTORSIZE:
        pool_error(POOL_ERR_DEVICE, "%s: the lease area was written with another sector size: %s",
                   what, sanlock_text(rv));
        break;
    case SANLK_AIO_TIMEOUT:
    case SANLK_DBLOCK_READ:
    case SANLK_DBLOCK_WRITE:
    case SANLK_LEADER_READ:
    case SANLK_LEADER_WRITE:
        pool_error(POOL_ERR_DEVICE, "%s: I/O on the lease area failed: %s", what, sanlock_text(rv));
        break;
    case SANLK_ACQUIRE_LOCKSPACE:
    case -ENOSPC:
        pool_error(POOL_ERR_PERMISSION, "%s: this host has not joined the lockspace", what);
        break;
    case SANLK_ADDLS_INVALID_HOSTID:
        pool_error(POOL_ERR_INVALID_ARG, "%s: host id is larger than the lockspace allows", what);
        break;
    case SANLK_HOSTID_BUSY:
        pool_error(POOL_ERR_BUSY, "%s: the host id is held by another live host", what);
        break;
    default:
        pool_error(POOL_ERR_SYSTEM, "%s: sanlock: %s (%d)", what, sanlock_text(rv), rv);
        break;
    }
    return -1;
}

static poolLeaseHostState host_state(uint32_t flags)
{
    switch (flags & SANLK_HOST_MASK) {
    case SANLK_HOST_FREE:
        return POOL_LEASE_HOST_FREE;
    case SANLK_HOST_LIVE:
        return POOL_LEASE_HOST_LIVE;
    case SANLK_HOST_FAIL:
        return POOL_LEASE_HOST_FAIL;
    case SANLK_HOST_DEAD:
        return POOL_LEASE_HOST_DEAD;
    default:
        return POOL_LEASE_HOST_UNKNOWN;
    }
}

const char *pool_lease_host_state_name(poolLeaseHostState s)
{
    switch (s) {
    case POOL_LEASE_HOST_FREE:
        return "free";
    case POOL_LEASE_HOST_LIVE:
        return "live";
    case POOL_LEASE_HOST_FAIL:
        return "fail";
    case POOL_LEASE_HOST_DEAD:
        return "dead";
    case POOL_LEASE_HOST_UNKNOWN:
        break;
    }
    return "unknown";
}

void pool_lease_timeouts(unsigned io_timeout, poolLeaseTimeouts *out)
{
    /* sanlock 3.8 timeouts.c: renewal 2T, fail 8T, dead 8T + watchdog fire */
    out->io_timeout = io_timeout;
    out->renewal_seconds = 2 * io_timeout;
    out->fail_seconds = 8 * io_timeout;
    out->dead_seconds = 8 * io_timeout + SANLOCK_WATCHDOG_FIRE_SECONDS;
}

/* ---- the lockspace ----------------------------------------------------- */

static int detect_sector_size(const char *path, unsigned *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        pool_error_errno(errno, "cannot open lease device %s", path);
        return -1;
    }
    struct stat st;
    int ssz = 512;
    if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) && ioctl(fd, BLKSSZGET, &ssz) < 0) {
        int e = errno;
        close(fd);
        pool_error_errno(e, "cannot read the sector size of %s", path);
        return -1;
    }
    close(fd);
    /* files, and anything sanlock cannot use, are treated as 512 (as sanlock
     * does for files); 4 KiB devices get 4 KiB leases */
    *out = ssz == 4096 ? 4096u : 512u;
    return 0;
}

poolLockspace *pool_lockspace_new(const char *pool_uuid, const char *ids_pv, uint64_t ids_offset,
                                  uint64_t ids_bytes, unsigned host_ids)
{
    if (!pool_uuid || !ids_pv || !*ids_pv) {
        pool_error(POOL_ERR_INVALID_ARG, "lockspace needs a pool uuid and an ids device");
        return NULL;
    }
    if (strlen(ids_pv) >= SANLK_PATH_LEN) {
        pool_error(POOL_ERR_INVALID_ARG, "lease device path too long: %s", ids_pv);
        return NULL;
    }
    if (host_ids < 1 || host_ids > POOL_LEASE_MAX_HOST_ID) {
        pool_error(POOL_ERR_INVALID_ARG, "host ids %u out of range 1..%u", host_ids,
                   POOL_LEASE_MAX_HOST_ID);
        return NULL;
    }
    POOL_AUTOPTR(poolLockspace) ls = calloc(1, sizeof(*ls));
    if (!ls) {
        pool_error_oom();
        return NULL;
    }
    /* the uuid without dashes: 32 hex characters, well within 48 */
    size_t n = 0;
    for (const char *c = pool_uuid; *c; c++) {
        if (*c == '-')
            continue;
        if (n >= POOL_LEASE_NAME_MAX ||
            !((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F'))) {
            pool_error(POOL_ERR_INVALID_ARG, "pool uuid '%s' cannot name a lockspace", pool_uuid);
            return NULL;
        }
        ls->name[n++] = *c;
    }
    if (n == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "empty pool uuid");
        return NULL;
    }
    if (!(ls->ids_pv = pool_strdup(ids_pv))) {
        pool_error_oom();
        return NULL;
    }
    ls->ids_offset = ids_offset;
    ls->host_ids = host_ids;
    if (detect_sector_size(ids_pv, &ls->sector_size) < 0)
        return NULL;

    uint64_t need;
    if (ls->sector_size == 512) {
        /* 512/1M holds 2000 delta leases; resources the same */
        ls->ls_flags = SANLK_LSF_SECTOR512 | SANLK_LSF_ALIGN1M;
        ls->res_flags = SANLK_RES_SECTOR512 | SANLK_RES_ALIGN1M;
        ls->res_max_host_id = 2000;
        need = MIB;
    } else {
        /* 4K: the smallest align holding host_ids delta leases (250 per MiB);
         * sanlock writes max_hosts sectors, so all of it must fit in ids */
        unsigned mult = host_ids <= 250 ? 1 : host_ids <= 500 ? 2 : host_ids <= 1000 ? 4 : 8;
        ls->ls_flags = SANLK_LSF_SECTOR4K | (mult == 1   ? SANLK_LSF_ALIGN1M
                                             : mult == 2 ? SANLK_LSF_ALIGN2M
                                             : mult == 4 ? SANLK_LSF_ALIGN4M
                                                         : SANLK_LSF_ALIGN8M);
        /* a lease slot is 1 MiB: 4096/1M, so only host ids 1..250 can own one */
        ls->res_flags = SANLK_RES_SECTOR4K | SANLK_RES_ALIGN1M;
        ls->res_max_host_id = 250;
        need = mult * MIB;
    }
    if (ids_bytes < need) {
        pool_error(POOL_ERR_DEVICE,
                   "lockspace for %u hosts needs %llu contiguous bytes at %s:%llu "
                   "(%u-byte sectors), the ids area has %llu",
                   host_ids, (unsigned long long)need, ids_pv, (unsigned long long)ids_offset,
                   ls->sector_size, (unsigned long long)ids_bytes);
        return NULL;
    }
    return pool_steal_ptr(&ls);
}

poolLockspace *pool_lockspace_copy(const poolLockspace *ls)
{
    poolLockspace *c = calloc(1, sizeof(*c));
    if (!c) {
        pool_error_oom();
        return NULL;
    }
    *c = *ls;
    if (!(c->ids_pv = strdup(ls->ids_pv))) {
        free(c);
        pool_error_oom();
        return NULL;
    }
    return c;
}

void pool_lockspace_free(poolLockspace *ls)
{
    if (!ls)
        return;
    free(ls->ids_pv);
    free(ls);
}

const char *pool_lockspace_name(const poolLockspace *ls)
{
    return ls->name;
}

unsigned pool_lockspace_sector_size(const poolLockspace *ls)
{
    return ls->sector_size;
}

static void fill_lockspace(const poolLockspace *ls, struct sanlk_lockspace *out, unsigned host_id)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->name, ls->name, strlen(ls->name)); /* NUL not required at 48 */
    out->host_id = host_id;
    out->flags = ls->ls_flags;
    snprintf(out->host_id_disk.path, sizeof(out->host_id_disk.path), "%s", ls->ids_pv);
    out->host_id_disk.offset = ls->ids_offset;
}

int pool_lockspace_format(const poolLockspace *ls, unsigned io_timeout, bool force)
{
    struct sanlk_lockspace sl;
    POOL_AUTOFREE(char *)
    what = pool_asprintf("format lockspace %s at %s:%llu", ls->name, ls->ids_pv,
                         (unsigned long long)ls->ids_offset);
    if (!what)
        return -1;
    if (!force) {
        /* name left empty: read reports whatever lockspace is there */
        SL_AUTO c = sl_new(SL_READ_LOCKSPACE);
        if (!c)
            return -1;
        fill_lockspace(ls, &c->sl, 1);
        memset(c->sl.name, 0, sizeof(c->sl.name));
        if (sl_run(&admin_lane, &c, what) < 0)
            return -1;
        sl = c->sl;
        uint32_t old_timeout = c->u32;
        int rv = c->rv;
        if (rv == 0) {
            pool_error(POOL_ERR_EXISTS,
                       "%s: the area already holds lockspace %.48s (io_timeout %u); "
                       "reformatting would break every host's membership",
                       what, sl.name, old_timeout);
            return -1;
        }
        if (rv != SANLK_LEADER_MAGIC && rv != SANLK_LEADER_CHECKSUM && rv != SANLK_LEADER_VERSION &&
            rv != SANLK_LEADER_SECTORSIZE)
            return report_sanlock(rv, what);
    }
    SL_AUTO c = sl_new(SL_WRITE_LOCKSPACE);
    if (!c)
        return -1;
    fill_lockspace(ls, &c->sl, 0);
    c->io_timeout = io_timeout;
    if (sl_run(&admin_lane, &c, what) < 0)
        return -1;
    int rv = c->rv;
    if (rv < 0)
        return report_sanlock(rv, what);
    log_info("lockspace %s: formatted at %s:%llu (%u-byte sectors, io_timeout %u)", ls->name,
             ls->ids_pv, (unsigned long long)ls->ids_offset, ls->sector_size, io_timeout);
    return 0;
}

/* Which host id this host has the lockspace under; 0 if not joined (or
 * still joining / leaving). */
static int joined_host_id(const poolLockspace *ls, unsigned *host_id, uint32_t *ls_state)
{
    *host_id = 0;
    *ls_state = 0;
    SL_AUTO c = sl_new(SL_GET_LOCKSPACES);
    if (!c || sl_run(&admin_lane, &c, "list lockspaces") < 0)
        return -1;
    struct sanlk_lockspace *lss = c->list;
    int count = c->count;
    int rv = c->rv;
    if (rv < 0 && rv != -ENOSPC)
        return report_sanlock(rv, "list lockspaces");
    for (int i = 0; i < count; i++) {
        if (strncmp(lss[i].name, ls->name, SANLK_NAME_LEN) == 0) {
            *host_id = (unsigned)lss[i].host_id;
            *ls_state = lss[i].flags & (SANLK_LSF_ADD | SANLK_LSF_REM);
            break;
        }
    }
    return 0;
}

int pool_lockspace_joined(const poolLockspace *ls, bool *joined, unsigned *host_id)
{
    unsigned id;
    uint32_t state;
    if (joined_host_id(ls, &id, &state) < 0)
        return -1;
    *joined = id != 0 && state == 0;
    if (host_id)
        *host_id = *joined ? id : 0;
    return 0;
}

int pool_lockspace_join(const poolLockspace *ls, unsigned host_id, unsigned io_timeout,
                        unsigned wait_seconds)
{
    POOL_AUTOFREE(char *) what = pool_asprintf("join lockspace %s as host %u", ls->name, host_id);
    if (!what)
        return -1;
    if (host_id < 1 || host_id > ls->host_ids) {
        pool_error(POOL_ERR_INVALID_ARG, "%s: host id must be 1..%u", what, ls->host_ids);
        return -1;
    }
    unsigned cur;
    uint32_t state;
    if (joined_host_id(ls, &cur, &state) < 0)
        return -1;
    if (cur != 0 && cur != host_id) {
        pool_error(POOL_ERR_EXISTS, "%s: this host is already %s it as host %u", what,
                   state & SANLK_LSF_REM ? "leaving" : "in", cur);
        return -1;
    }
    if (cur == host_id && state == 0)
        return 0;
    if (host_id > ls->res_max_host_id)
        log_warnx("lockspace %s: host %u can join but cannot own leases on %u-byte sectors "
                  "(1 MiB slots hold host ids 1..%u)",
                  ls->name, host_id, ls->sector_size, ls->res_max_host_id);

    SL_AUTO c = sl_new(SL_ADD_LOCKSPACE);
    if (!c)
        return -1;
    fill_lockspace(ls, &c->sl, host_id);
    c->io_timeout = io_timeout;
    double t0 = pool_monotonic_seconds();
    poolBoundedLane *lane = membership_lane(ls->name);
    if (pool_bounded_stuck(lane) > 0) {
        pool_error(POOL_ERR_BUSY,
                   "%s: an earlier join or leave of this lockspace is still waiting for sanlock",
                   what);
        return -1;
    }
    int r = sl_run_ms(lane, &c, wait_seconds * 1000, NULL);
    if (r < 0)
        return -1;
    if (r == 1) {
        pool_error(POOL_ERR_TIMEOUT,
                   "%s: not done after %u s (sanlock goes on trying; a host id recently held "
                   "by another host is only taken once that host would be dead)",
                   what, wait_seconds);
        return -1;
    }
    int rv = c->rv;
    if (rv == -EEXIST) {
        /* a concurrent join of ours finished first: fine if it is our id */
        if (joined_host_id(ls, &cur, &state) < 0)
            return -1;
        if (cur == host_id)
            return 0;
    }
    if (rv == -EINPROGRESS) {
        pool_error(POOL_ERR_BUSY, "%s: another join or leave of this lockspace is in progress",
                   what);
        return -1;
    }
    if (rv < 0)
        return report_sanlock(rv, what);
    log_info("lockspace %s: joined as host %u (io_timeout %u) in %.1f s", ls->name, host_id,
             io_timeout, pool_monotonic_seconds() - t0);
    return 0;
}

int pool_lockspace_leave(const poolLockspace *ls, unsigned wait_seconds)
{
    POOL_AUTOFREE(char *) what = pool_asprintf("leave lockspace %s", ls->name);
    if (!what)
        return -1;
    unsigned cur;
    uint32_t state;
    if (joined_host_id(ls, &cur, &state) < 0)
        return -1;
    if (cur == 0)
        return 0; /* not a member: nothing to release */
    SL_AUTO c = sl_new(SL_REM_LOCKSPACE);
    if (!c)
        return -1;
    fill_lockspace(ls, &c->sl, cur);
    poolBoundedLane *lane = membership_lane(ls->name);
    if (pool_bounded_stuck(lane) > 0) {
        pool_error(POOL_ERR_BUSY,
                   "%s: an earlier join or leave of this lockspace is still waiting for sanlock",
                   what);
        return -1;
    }
    int r = sl_run_ms(lane, &c, wait_seconds * 1000, NULL);
    if (r < 0)
        return -1;
    if (r == 1) {
        pool_error(POOL_ERR_TIMEOUT, "%s: not done after %u s", what, wait_seconds);
        return -1;
    }
    int rv = c->rv;
    if (rv == -EBUSY) {
        pool_error(POOL_ERR_BUSY, "%s: processes of this host still hold leases in it", what);
        return -1;
    }
    if (rv == -ENOENT && daemon_reachable())
        return 0; /* left meanwhile */
    if (rv < 0)
        return report_sanlock(rv, what);
    log_info("lockspace %s: left (was host %u)", ls->name, cur);
    return 0;
}

static void host_from_sanlock(const struct sanlk_host *h, poolLeaseHost *out)
{
    out->host_id = (unsigned)h->host_id;
    out->generation = h->generation;
    out->timestamp = h->timestamp;
    out->io_timeout = h->io_timeout;
    out->state = host_state(h->flags);
}

static int cmp_host(const void *a, const void *b)
{
    const poolLeaseHost *x = a, *y = b;
    return (x->host_id > y->host_id) - (x->host_id < y->host_id);
}

int pool_lockspace_hosts(const poolLockspace *ls, poolLeaseHost **hosts, size_t *n)
{
    struct sanlk_host *hss = NULL;
    int count = 0;
    *hosts = NULL;
    *n = 0;
    POOL_AUTOFREE(char *) what = pool_asprintf("hosts of lockspace %s", ls->name);
    if (!what)
        return -1;
    /* -EAGAIN: joined, but the first renewal has not read the other hosts'
     * leases yet (lasts at most one renewal interval after a join) */
    int rv;
    double give_up = pool_monotonic_seconds() + 5;
    for (;;) {
        SL_AUTO c = sl_new(SL_GET_HOSTS);
        if (!c)
            return -1;
        snprintf(c->name, sizeof(c->name), "%s", ls->name);
        if (sl_run(&admin_lane, &c, what) < 0)
            return -1;
        rv = c->rv;
        if (rv != -EAGAIN || pool_monotonic_seconds() >= give_up) {
            hss = pool_steal_ptr(&c->list);
            count = c->count;
            break;
        }
        sleep_seconds(0.1);
    }
    if (rv == -EAGAIN) {
        free(hss);
        pool_error(POOL_ERR_BUSY, "hosts of lockspace %s: sanlock has not read them yet", ls->name);
        return -1;
    }
    if (rv < 0) {
        free(hss);
        if (rv == -ENOENT && daemon_reachable()) {
            pool_error(POOL_ERR_NO_POOL, "%s: this host has not joined the lockspace", what);
            return -1;
        }
        return report_sanlock(rv, what);
    }
    poolLeaseHost *out = calloc(count > 0 ? (size_t)count : 1, sizeof(*out));
    if (!out) {
        free(hss);
        return pool_error_oom();
    }
    for (int i = 0; i < count; i++)
        host_from_sanlock(&hss[i], &out[i]);
    free(hss);
    qsort(out, (size_t)count, sizeof(*out), cmp_host);
    *hosts = out;
    *n = (size_t)count;
    return 0;
}

int pool_lockspace_host(const poolLockspace *ls, unsigned host_id, poolLeaseHost *out)
{
    POOL_AUTOFREE(poolLeaseHost *) hosts = NULL;
    size_t n = 0;
    if (pool_lockspace_hosts(ls, &hosts, &n) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->host_id = host_id;
    out->state = POOL_LEASE_HOST_FREE;
    for (size_t i = 0; i < n; i++) {
        if (hosts[i].host_id == host_id) {
            *out = hosts[i];
            break;
        }
    }
    return 0;
}

/* sanlock's delta lease leader record (leader.h), little-endian on disk:
 * the fields read here and their offsets */
#define DELTA_MAGIC         0x12212010u
#define LR_MAGIC            0
#define LR_OWNER_ID         32
#define LR_OWNER_GENERATION 40
#define LR_SPACE_NAME       56
#define LR_TIMESTAMP        152
#define LR_IO_TIMEOUT       174

int pool_lockspace_renewal(const char *ls_name, poolLeaseHost *out)
{
    memset(out, 0, sizeof(*out));
    /* which host id and disk: one call to the daemon */
    SL_AUTO c = sl_new(SL_GET_LOCKSPACES);
    if (!c || sl_run(&admin_lane, &c, "list lockspaces") < 0)
        return -1;
    struct sanlk_lockspace *lss = c->list;
    int count = c->count;
    int rv = c->rv;
    if (rv < 0 && rv != -ENOSPC)
        return report_sanlock(rv, "list lockspaces");
    struct sanlk_lockspace sl = {0};
    for (int i = 0; i < count; i++)
        if (strncmp(lss[i].name, ls_name, SANLK_NAME_LEN) == 0)
            sl = lss[i];
    if (sl.host_id == 0 || (sl.flags & (SANLK_LSF_ADD | SANLK_LSF_REM))) {
        pool_error(POOL_ERR_NO_POOL, "lockspace %s: this host has not joined it", ls_name);
        return -1;
    }
    sl.host_id_disk.path[sizeof(sl.host_id_disk.path) - 1] = '\0';
    /* then the delta lease itself, as the other hosts read it */
    unsigned ssz;
    if (detect_sector_size(sl.host_id_disk.path, &ssz) < 0)
        return -1;
    int fd = open(sl.host_id_disk.path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) {
        pool_error_errno(errno, "cannot open lease device %s", sl.host_id_disk.path);
        return -1;
    }
    void *buf = NULL;
    int e = posix_memalign(&buf, 4096, ssz);
    if (e != 0) {
        close(fd);
        return pool_error_oom();
    }
    off_t at = (off_t)(sl.host_id_disk.offset + (sl.host_id - 1) * (uint64_t)ssz);
    ssize_t n = pread(fd, buf, ssz, at);
    e = errno;
    close(fd);
    const uint8_t *lr = buf;
    int r = -1;
    if (n != (ssize_t)ssz)
        pool_error_errno(n < 0 ? e : EIO, "cannot read the delta lease of host %u in %s",
                         (unsigned)sl.host_id, ls_name);
    else if (pool_get_le32(lr + LR_MAGIC) != DELTA_MAGIC ||
             pool_get_le64(lr + LR_OWNER_ID) != sl.host_id ||
             strncmp((const char *)lr + LR_SPACE_NAME, ls_name, SANLK_NAME_LEN) != 0)
        pool_error(POOL_ERR_DEVICE, "lockspace %s: the delta lease of host %u is not ours", ls_name,
                   (unsigned)sl.host_id);
    else
        r = 0;
    if (r == 0) {
        out->host_id = (unsigned)sl.host_id;
        out->generation = pool_get_le64(lr + LR_OWNER_GENERATION);
        out->timestamp = pool_get_le64(lr + LR_TIMESTAMP);
        out->io_timeout = pool_get_le16(lr + LR_IO_TIMEOUT);
        out->state = POOL_LEASE_HOST_LIVE;
        if (out->timestamp == 0) {
            pool_error(POOL_ERR_BUSY, "lockspace %s: host %u has not renewed yet", ls_name,
                       out->host_id);
            r = -1;
        }
    }
    free(buf);
    return r;
}

/* ---- resource leases --------------------------------------------------- */

poolLeaseRef pool_lease_metadata_ref(const char *leases_pv, uint64_t leases_offset)
{
    poolLeaseRef r = {.name = POOL_LEASE_METADATA_NAME,
                      .pv = leases_pv,
                      .offset = leases_offset,
                      .label = "pool-metadata lease"};
    return r;
}

/* A sanlk_resource with its one disk (the struct ends in a flexible array). */
static struct sanlk_resource *make_resource(const poolLockspace *ls, const poolLeaseRef *ref)
{
    if (!ref->name || !*ref->name || strlen(ref->name) > POOL_LEASE_NAME_MAX || !ref->pv ||
        strlen(ref->pv) >= SANLK_PATH_LEN) {
        pool_error(POOL_ERR_INVALID_ARG, "invalid lease reference (name '%s', device '%s')",
                   ref->name ? ref->name : "", ref->pv ? ref->pv : "");
        return NULL;
    }
    if (ref->offset % MIB) {
        pool_error(POOL_ERR_INVALID_ARG, "lease %s at %s:%llu is not 1 MiB aligned", ref->name,
                   ref->pv, (unsigned long long)ref->offset);
        return NULL;
    }
    struct sanlk_resource *res = calloc(1, sizeof(*res) + sizeof(struct sanlk_disk));
    if (!res) {
        pool_error_oom();
        return NULL;
    }
    memcpy(res->lockspace_name, ls->name, strlen(ls->name));
    memcpy(res->name, ref->name, strlen(ref->name));
    res->flags = ls->res_flags;
    res->num_disks = 1;
    snprintf(res->disks[0].path, sizeof(res->disks[0].path), "%s", ref->pv);
    res->disks[0].offset = ref->offset;
    return res;
}

static char *lease_label(const poolLeaseRef *ref)
{
    return ref->label ? pool_asprintf("%s", ref->label) : pool_asprintf("lease %s", ref->name);
}

/* The on-disk owner, plus its liveness if this host has joined. rv as from
 * sanlock_read_resource_owners. */
static int read_owner(const poolLockspace *ls, struct sanlk_resource *res, poolLeaseStatus *out,
                      const char *what)
{
    memset(out, 0, sizeof(*out));
    SL_AUTO c = sl_new(SL_READ_OWNERS);
    if (!c || !(c->res = res_dup(res)) || sl_run(&admin_lane, &c, what) < 0)
        return -1;
    int rv = c->rv;
    if (rv < 0)
        return report_sanlock(rv, what);
    struct sanlk_host *owners = c->list;
    int count = c->count;
    out->lver = c->res->lver;
    if (count > 0) {
        out->held = true;
        out->owner = (unsigned)owners[0].host_id;
        out->owner_generation = owners[0].generation;
        out->owner_state = POOL_LEASE_HOST_UNKNOWN;
        SL_AUTO hc = sl_new(SL_GET_HOSTS);
        if (!hc)
            return -1;
        snprintf(hc->name, sizeof(hc->name), "%s", ls->name);
        hc->host_id = owners[0].host_id;
        if (sl_run(&admin_lane, &hc, what) < 0)
            return -1;
        struct sanlk_host *hss = hc->list;
        if (hc->rv == 0 && hc->count > 0) {
            /* a newer generation means the owner rejoined since: the lease
             * belongs to a dead incarnation */
            out->owner_state = hss[0].generation == owners[0].generation ? host_state(hss[0].flags)
                                                                         : POOL_LEASE_HOST_DEAD;
        }
    }
    return 0;
}

int pool_lease_status(const poolLockspace *ls, const poolLeaseRef *ref, poolLeaseStatus *out)
{
    POOL_AUTOFREE(struct sanlk_resource *) res = make_resource(ls, ref);
    POOL_AUTOFREE(char *) label = lease_label(ref);
    if (!res || !label)
        return -1;
    POOL_AUTOFREE(char *)
    what =
        pool_asprintf("status of %s at %s:%llu", label, ref->pv, (unsigned long long)ref->offset);
    if (!what)
        return -1;
    return read_owner(ls, res, out, what);
}

int pool_lease_format(const poolLockspace *ls, const poolLeaseRef *ref)
{
    POOL_AUTOFREE(struct sanlk_resource *) res = make_resource(ls, ref);
    POOL_AUTOFREE(char *) label = lease_label(ref);
    if (!res || !label)
        return -1;
    POOL_AUTOFREE(char *)
    what =
        pool_asprintf("initialise %s at %s:%llu", label, ref->pv, (unsigned long long)ref->offset);
    if (!what)
        return -1;
    /* Never wipe a lease someone may still hold: learn what the slot holds
     * (read_resource fills in the names when left empty), then its owner,
     * and refuse unless that owner is known to be gone. */
    POOL_AUTOFREE(struct sanlk_resource *) any = make_resource(ls, ref);
    if (!any)
        return -1;
    memset(any->name, 0, sizeof(any->name));
    memset(any->lockspace_name, 0, sizeof(any->lockspace_name));
    SL_AUTO rc = sl_new(SL_READ_RESOURCE);
    if (!rc || !(rc->res = res_dup(any)) || sl_run(&admin_lane, &rc, what) < 0)
        return -1;
    int rv = rc->rv;
    memcpy(any, rc->res, sizeof(*any) + sizeof(struct sanlk_disk));
    if (rv == 0 && strncmp(any->lockspace_name, ls->name, SANLK_NAME_LEN) == 0) {
        poolLeaseStatus st;
        if (read_owner(ls, any, &st, what) < 0)
            return -1;
        if (st.held && st.owner_state != POOL_LEASE_HOST_DEAD &&
            st.owner_state != POOL_LEASE_HOST_FREE) {
            pool_error(POOL_ERR_BUSY, "%s: the slot holds lease %.48s owned by host %u (%s)", what,
                       any->name, st.owner, pool_lease_host_state_name(st.owner_state));
            return -1;
        }
    } else if (rv == 0) {
        /* a lease of another lockspace: left over from an earlier VG on
         * these disks; this slot belongs to our `leases` LV now */
        log_warnx("lockspace %s: %s: overwriting stale lease %.48s:%.48s", ls->name, what,
                  any->lockspace_name, any->name);
    } else if (rv != SANLK_LEADER_MAGIC && rv != SANLK_LEADER_CHECKSUM &&
               rv != SANLK_LEADER_VERSION && rv != SANLK_LEADER_SECTORSIZE &&
               rv != SANLK_LEADER_NUMHOSTS) {
        /* anything but "no valid lease here" (fresh or garbage) */
        return report_sanlock(rv, what);
    }
    SL_AUTO wc = sl_new(SL_WRITE_RESOURCE);
    if (!wc || !(wc->res = res_dup(res)) || sl_run(&admin_lane, &wc, what) < 0)
        return -1;
    rv = wc->rv;
    if (rv < 0)
        return report_sanlock(rv, what);
    log_debug("lockspace %s: %s initialised at %s:%llu", ls->name, label, ref->pv,
              (unsigned long long)ref->offset);
    return 0;
}

poolLeaseHolder *pool_lease_holder_new(void)
{
    const char *what = "register with the sanlock daemon";
    SL_AUTO c = sl_new(SL_REGISTER);
    if (!c || sl_run(&admin_lane, &c, what) < 0)
        return NULL;
    int sock = c->rv;
    if (sock < 0) {
        report_sanlock(sock, what);
        return NULL;
    }
    poolLeaseHolder *h = calloc(1, sizeof(*h));
    if (!h) {
        close(sock);
        pool_error_oom();
        return NULL;
    }
    h->sock = sock;
    h->refs = 1;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->lane.lock, NULL);
    return h;
}

static poolLeaseHolder *holder_ref(poolLeaseHolder *h)
{
    __atomic_add_fetch(&h->refs, 1, __ATOMIC_ACQ_REL);
    return h;
}

static void holder_unref(poolLeaseHolder *h)
{
    if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (h->sock >= 0)
        close(h->sock);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->lane.lock);
    free(h);
}

void pool_lease_holder_free(poolLeaseHolder *h)
{
    if (!h)
        return;
    /* The daemon releases what this connection held when it closes. A call
     * still stuck on it keeps the descriptor until it returns: shut the
     * connection down now, so the daemon sees it go at once. */
    if (h->sock >= 0)
        shutdown(h->sock, SHUT_RDWR);
    holder_unref(h);
}

/* A call on holder h's connection, for resource res (copied) or none. */
static slCall *holder_call(slKind kind, poolLeaseHolder *h, const struct sanlk_resource *res)
{
    slCall *c = sl_new(kind);
    if (!c)
        return NULL;
    if (res && !(c->res = res_dup(res))) {
        sl_free(c);
        return NULL;
    }
    c->h = holder_ref(h);
    return c;
}

/* Results that mean "someone else has it right now": retry until the
 * deadline. DBLOCK_LVER/MBAL are lost paxos ballots against a concurrent
 * acquirer. */
static bool acquire_busy(int rv)
{
    return rv == SANLK_ACQUIRE_IDLIVE || rv == SANLK_ACQUIRE_OWNED || rv == SANLK_ACQUIRE_OTHER ||
           rv == SANLK_ACQUIRE_OWNED_RETRY || rv == SANLK_ACQUIRE_SHRETRY ||
           rv == SANLK_DBLOCK_LVER || rv == SANLK_DBLOCK_MBAL || rv == -EAGAIN;
}

int pool_lease_acquire(poolLeaseHolder *h, const poolLockspace *ls, const poolLeaseRef *ref,
                       unsigned wait_seconds)
{
    POOL_AUTOFREE(struct sanlk_resource *) res = make_resource(ls, ref);
    POOL_AUTOFREE(char *) label = lease_label(ref);
    if (!res || !label)
        return -1;
    double deadline = pool_monotonic_seconds() + wait_seconds;
    /* Retry with a short, growing, jittered pause: the pool-metadata lease
     * is held for one VG change (tens of ms), so a fixed 1 s pause would
     * make hosts that contend for it idle most of the time, and hosts
     * retrying in step would keep colliding in sanlock's paxos ballots. */
    double pause = 0.01;
    unsigned seed = (unsigned)getpid() ^ (unsigned)(pool_monotonic_seconds() * 1e6);
    POOL_AUTOFREE(char *) what = pool_asprintf("acquire %s", label);
    if (!what)
        return -1;
    int rv;
    for (;;) {
        /* each try bounded: one that is answered after we gave up is
         * released by the call's thread (sl_late) */
        SL_AUTO c = holder_call(SL_ACQUIRE, h, res);
        if (!c)
            return -1;
        c->flags = SANLK_ACQUIRE_OWNER_NOWAIT;
        if (sl_run(&h->lane, &c, what) < 0)
            return -1;
        rv = c->rv;
        if (rv == 0) {
            log_debug("lockspace %s: acquired %s", ls->name, label);
            return 0;
        }
        if (!acquire_busy(rv))
            break;
        double left = deadline - pool_monotonic_seconds();
        if (left <= 0)
            break;
        double t = pause * (0.5 + (double)rand_r(&seed) / RAND_MAX);
        sleep_seconds(left < t ? left : t);
        pause = pause * 2 > 0.25 ? 0.25 : pause * 2;
    }
    if (rv == -EEXIST) {
        pool_error(POOL_ERR_EXISTS, "%s: this process already holds it", what);
        return -1;
    }
    if (!acquire_busy(rv))
        return report_sanlock(rv, what);
    poolLeaseStatus st;
    if (read_owner(ls, res, &st, what) == 0 && st.held) {
        pool_error(POOL_ERR_BUSY, "%s is held by host %u (%s), lockspace %s; waited %u s", label,
                   st.owner, pool_lease_host_state_name(st.owner_state), ls->name, wait_seconds);
    } else {
        pool_error(POOL_ERR_BUSY, "%s of lockspace %s is busy: %s", label, ls->name,
                   sanlock_text(rv));
    }
    return -1;
}

int pool_lease_release(poolLeaseHolder *h, const poolLockspace *ls, const poolLeaseRef *ref)
{
    POOL_AUTOFREE(struct sanlk_resource *) res = make_resource(ls, ref);
    POOL_AUTOFREE(char *) label = lease_label(ref);
    if (!res || !label)
        return -1;
    POOL_AUTOFREE(char *) what = pool_asprintf("release %s", label);
    SL_AUTO c = holder_call(SL_RELEASE, h, res);
    if (!c || sl_run(&h->lane, &c, what ? what : label) < 0)
        return -1;
    int rv = c->rv;
    if (rv == 0) {
        log_debug("lockspace %s: released %s", ls->name, label);
        return 0;
    }
    if (rv == -ENOENT && daemon_reachable()) {
        pool_error(POOL_ERR_INVALID_ARG, "%s: this process does not hold it", what ? what : label);
        return -1;
    }
    return report_sanlock(rv, what ? what : label);
}

/* Leases this holder has in lockspace ls: how many, and whether one of
 * them is `name` (NULL: none asked for). */
static int holder_inquire(poolLeaseHolder *h, const poolLockspace *ls, const char *name,
                          size_t *count, bool *found)
{
    *count = 0;
    if (found)
        *found = false;
    SL_AUTO c = holder_call(SL_INQUIRE, h, NULL);
    if (!c || sl_run(&h->lane, &c, "inquire held leases") < 0)
        return -1;
    int rv = c->rv;
    if (rv < 0)
        return report_sanlock(rv, "inquire held leases");
    char *state = pool_steal_ptr(&c->state);
    int n = c->count;
    if (!state || n == 0) {
        free(state);
        return 0;
    }
    struct sanlk_resource **args = NULL;
    int nargs = 0;
    rv = sanlock_state_to_args(state, &nargs, &args);
    free(state);
    if (rv < 0)
        return report_sanlock(rv, "parse held leases");
    for (int i = 0; i < nargs; i++) {
        if (strncmp(args[i]->lockspace_name, ls->name, SANLK_NAME_LEN) == 0) {
            (*count)++;
            if (name && found && strncmp(args[i]->name, name, SANLK_NAME_LEN) == 0)
                *found = true;
        }
        free(args[i]);
    }
    free(args);
    return 0;
}

int pool_lease_held(poolLeaseHolder *h, const poolLockspace *ls, const poolLeaseRef *ref,
                    bool *held)
{
    size_t n;
    return holder_inquire(h, ls, ref->name, &n, held);
}

int pool_lease_holder_count(poolLeaseHolder *h, const poolLockspace *ls, size_t *n)
{
    return holder_inquire(h, ls, NULL, n, NULL);
}
