/*
 * lease_test.c: drives libpool's lease module (pool-lease.h) for
 * tests/integration/leases.sh. One invocation = one simulated host's action;
 * the host is chosen by SANLOCK_RUN_DIR (whose sanlock daemon is used).
 *
 *   lease_test COMMAND --uuid U --ids PV:OFF --ids-bytes N --host-ids N [options]
 *
 *   format-lockspace --io-timeout T
 *   format-lease     --name R --at PV:OFF
 *   join             --host-id N --io-timeout T --wait S
 *   leave            --wait S
 *   hosts            one line per host: "host N STATE gen G ts T io I"
 *   status           --name R --at PV:OFF
 *   acquire          --name R --at PV:OFF --wait S   (acquire, release, exit)
 *   hold             --name R --at PV:OFF --wait S   (acquire, print "acquired",
 *                    hold until SIGTERM or stdin closes, release)
 *   takeover         --name R --at PV:OFF --dead-host N --wait S
 *                    after the owner's sanlock was killed: poll its state
 *                    and try to acquire every 0.5 s; print when the owner
 *                    went fail, dead, and when the lease was taken, and
 *                    check no acquire succeeded too early.
 *
 * Errors are printed as "lease_test: error: <code-name>: <message>"; exit
 * status 2 for POOL_ERR_BUSY, 1 for anything else.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool-error.h"
#include "pool-lease.h"
#include "pool-util.h"

typedef struct {
    const char *uuid, *ids_pv, *name, *at_pv, *label;
    uint64_t ids_offset, ids_bytes, at_offset;
    unsigned host_ids, host_id, io_timeout, wait, dead_host;
} opts;

static int fail(void)
{
    fprintf(stderr, "lease_test: error: %s: %s\n", pool_error_code_name(pool_error_last_code()),
            pool_error_last_message());
    return pool_error_last_code() == POOL_ERR_BUSY ? 2 : 1;
}

static int parse_at(const char *s, const char **pv, uint64_t *off)
{
    const char *c = strrchr(s, ':');
    if (!c || c == s)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(c + 1, &end, 0);
    if (errno || *end)
        return -1;
    static char *kept[8]; /* reachable until exit: not a leak to LSan */
    static size_t nkept;
    char *p = strndup(s, (size_t)(c - s));
    if (!p || nkept == sizeof(kept) / sizeof(kept[0])) {
        free(p);
        return -1;
    }
    kept[nkept++] = p;
    *pv = p;
    *off = v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "lease_test: bad usage (see the comment at the top of lease_test.c)\n");
    return 1;
}

static unsigned parse_uint(const char *s)
{
    return (unsigned)strtoul(s, NULL, 0);
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int cmd_hold(poolLockspace *ls, const poolLeaseRef *ref, unsigned wait)
{
    POOL_AUTOPTR(poolLeaseHolder) h = pool_lease_holder_new();
    if (!h || pool_lease_acquire(h, ls, ref, wait) < 0)
        return fail();
    printf("acquired %s\n", ref->name);
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* hold until told to stop; a closed stdin also ends it, so a test that
     * dies without cleanup does not leave us behind forever */
    while (!stop) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        int r = poll(&p, 1, 500);
        if (r > 0 && (p.revents & (POLLHUP | POLLERR))) {
            break;
        }
        if (r > 0 && (p.revents & POLLIN)) {
            char buf[64];
            if (read(0, buf, sizeof(buf)) <= 0)
                break;
        }
    }
    if (pool_lease_release(h, ls, ref) < 0)
        return fail();
    printf("released %s\n", ref->name);
    return 0;
}

static int cmd_takeover(poolLockspace *ls, const poolLeaseRef *ref, const opts *o)
{
    POOL_AUTOPTR(poolLeaseHolder) h = pool_lease_holder_new();
    if (!h)
        return fail();
    double t0 = pool_monotonic_seconds();
    double t_fail = -1, t_dead = -1, t_acq = -1;
    unsigned refused = 0, refused_named = 0, io = 0;
    poolLeaseHostState state_at_acq = POOL_LEASE_HOST_UNKNOWN;
    while (pool_monotonic_seconds() - t0 < o->wait) {
        poolLeaseHost host;
        if (pool_lockspace_host(ls, o->dead_host, &host) < 0)
            return fail();
        double t = pool_monotonic_seconds() - t0;
        if (host.io_timeout)
            io = host.io_timeout;
        if (host.state == POOL_LEASE_HOST_FAIL && t_fail < 0) {
            t_fail = t;
            printf("t=%5.1f s host %u is fail\n", t, o->dead_host);
        }
        if (host.state == POOL_LEASE_HOST_DEAD && t_dead < 0) {
            t_dead = t;
            if (t_fail < 0)
                t_fail = t;
            printf("t=%5.1f s host %u is dead\n", t, o->dead_host);
        }
        if (pool_lease_acquire(h, ls, ref, 0) == 0) {
            t_acq = pool_monotonic_seconds() - t0;
            state_at_acq = host.state;
            printf("t=%5.1f s acquired %s (host %u was %s at the last check)\n", t_acq, ref->name,
                   o->dead_host, pool_lease_host_state_name(host.state));
            break;
        }
        if (pool_error_last_code() != POOL_ERR_BUSY)
            return fail();
        refused++;
        char needle[32];
        snprintf(needle, sizeof(needle), "held by host %u ", o->dead_host);
        if (strstr(pool_error_last_message(), needle))
            refused_named++;
        if (refused == 1)
            printf("t=%5.1f s refused: %s\n", t, pool_error_last_message());
        fflush(stdout);
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    poolLeaseTimeouts to;
    pool_lease_timeouts(io ? io : o->io_timeout, &to);
    printf("io_timeout=%u expected: fail after ~%u s, dead after ~%u s (minus up to %u s since "
           "the last renewal)\n",
           to.io_timeout, to.fail_seconds, to.dead_seconds, to.renewal_seconds);
    printf("measured: fail=%.1f s dead=%.1f s acquired=%.1f s refused=%u (naming host %u: %u)\n",
           t_fail, t_dead, t_acq, refused, o->dead_host, refused_named);
    int rc = 0;
    if (t_acq < 0) {
        printf("FAIL: lease not taken over within %u s\n", o->wait);
        rc = 1;
    } else if (t_acq + to.renewal_seconds + 1 < to.dead_seconds) {
        printf("FAIL: lease taken after %.1f s, before host %u could be dead (%u s)\n", t_acq,
               o->dead_host, to.dead_seconds);
        rc = 1;
    }
    if (refused_named != refused) {
        printf("FAIL: %u refusals did not name host %u\n", refused - refused_named, o->dead_host);
        rc = 1;
    }
    if (t_acq >= 0 && state_at_acq != POOL_LEASE_HOST_DEAD) {
        /* our view of the owner lags the acquire's own check by up to one
         * renewal; it must catch up */
        double until = pool_monotonic_seconds() + to.renewal_seconds + 2;
        poolLeaseHost host = {0};
        while (pool_monotonic_seconds() < until) {
            if (pool_lockspace_host(ls, o->dead_host, &host) < 0)
                return fail();
            if (host.state == POOL_LEASE_HOST_DEAD)
                break;
            sleep(1);
        }
        printf("host %u state after the takeover: %s\n", o->dead_host,
               pool_lease_host_state_name(host.state));
        if (host.state != POOL_LEASE_HOST_DEAD)
            rc = 1;
    }
    if (t_acq >= 0 && pool_lease_release(h, ls, ref) < 0)
        return fail();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lease_test COMMAND [options]\n");
        return 1;
    }
    const char *cmd = argv[1];
    opts o = {.host_ids = 2000, .wait = 30, .ids_bytes = 8 * 1024 * 1024};
    static const struct option lopts[] = {
        {"uuid", required_argument, NULL, 'u'},       {"ids", required_argument, NULL, 'i'},
        {"ids-bytes", required_argument, NULL, 'B'},  {"host-ids", required_argument, NULL, 'H'},
        {"name", required_argument, NULL, 'n'},       {"at", required_argument, NULL, 'a'},
        {"label", required_argument, NULL, 'l'},      {"host-id", required_argument, NULL, 'h'},
        {"io-timeout", required_argument, NULL, 'o'}, {"wait", required_argument, NULL, 'w'},
        {"dead-host", required_argument, NULL, 'd'},  {NULL, 0, NULL, 0}};
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o.uuid = optarg;
            break;
        case 'i':
            if (parse_at(optarg, &o.ids_pv, &o.ids_offset) < 0)
                return usage();
            break;
        case 'B':
            o.ids_bytes = strtoull(optarg, NULL, 0);
            break;
        case 'H':
            o.host_ids = parse_uint(optarg);
            break;
        case 'n':
            o.name = optarg;
            break;
        case 'a':
            if (parse_at(optarg, &o.at_pv, &o.at_offset) < 0)
                return usage();
            break;
        case 'l':
            o.label = optarg;
            break;
        case 'h':
            o.host_id = parse_uint(optarg);
            break;
        case 'o':
            o.io_timeout = parse_uint(optarg);
            break;
        case 'w':
            o.wait = parse_uint(optarg);
            break;
        case 'd':
            o.dead_host = parse_uint(optarg);
            break;
        default:
            return usage();
        }
    }
    if (!o.uuid || !o.ids_pv)
        return usage();
    POOL_AUTOPTR(poolLockspace)
    ls = pool_lockspace_new(o.uuid, o.ids_pv, o.ids_offset, o.ids_bytes, o.host_ids);
    if (!ls)
        return fail();
    poolLeaseRef ref = {.name = o.name, .pv = o.at_pv, .offset = o.at_offset, .label = o.label};

    if (strcmp(cmd, "format-lockspace") == 0) {
        if (pool_lockspace_format(ls, o.io_timeout, false) < 0)
            return fail();
        printf("lockspace %s formatted (%u-byte sectors)\n", pool_lockspace_name(ls),
               pool_lockspace_sector_size(ls));
        return 0;
    }
    if (strcmp(cmd, "join") == 0) {
        double t0 = pool_monotonic_seconds();
        if (pool_lockspace_join(ls, o.host_id, o.io_timeout, o.wait) < 0)
            return fail();
        printf("joined %s as host %u in %.1f s\n", pool_lockspace_name(ls), o.host_id,
               pool_monotonic_seconds() - t0);
        return 0;
    }
    if (strcmp(cmd, "leave") == 0) {
        if (pool_lockspace_leave(ls, o.wait) < 0)
            return fail();
        printf("left %s\n", pool_lockspace_name(ls));
        return 0;
    }
    if (strcmp(cmd, "hosts") == 0) {
        poolLeaseHost *hosts = NULL;
        size_t n = 0;
        if (pool_lockspace_hosts(ls, &hosts, &n) < 0)
            return fail();
        for (size_t i = 0; i < n; i++)
            printf("host %u %s gen %" PRIu64 " ts %" PRIu64 " io %u\n", hosts[i].host_id,
                   pool_lease_host_state_name(hosts[i].state), hosts[i].generation,
                   hosts[i].timestamp, hosts[i].io_timeout);
        free(hosts);
        return 0;
    }
    if (!o.name || !o.at_pv)
        return usage();
    if (strcmp(cmd, "format-lease") == 0) {
        if (pool_lease_format(ls, &ref) < 0)
            return fail();
        printf("lease %s initialised\n", o.name);
        return 0;
    }
    if (strcmp(cmd, "status") == 0) {
        poolLeaseStatus st;
        if (pool_lease_status(ls, &ref, &st) < 0)
            return fail();
        if (st.held)
            printf("held by host %u (%s) lver %" PRIu64 "\n", st.owner,
                   pool_lease_host_state_name(st.owner_state), st.lver);
        else
            printf("free lver %" PRIu64 "\n", st.lver);
        return 0;
    }
    if (strcmp(cmd, "acquire") == 0) {
        POOL_AUTOPTR(poolLeaseHolder) h = pool_lease_holder_new();
        if (!h || pool_lease_acquire(h, ls, &ref, o.wait) < 0)
            return fail();
        bool held = false;
        if (pool_lease_held(h, ls, &ref, &held) < 0)
            return fail();
        printf("acquired %s (held: %s)\n", o.name, held ? "yes" : "no");
        if (pool_lease_release(h, ls, &ref) < 0)
            return fail();
        return held ? 0 : 1;
    }
    if (strcmp(cmd, "hold") == 0)
        return cmd_hold(ls, &ref, o.wait);
    if (strcmp(cmd, "takeover") == 0 && o.dead_host)
        return cmd_takeover(ls, &ref, &o);
    return usage();
}
