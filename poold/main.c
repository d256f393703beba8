/*
 * main.c: poold startup. Order matters: configuration, logging, the
 * one-daemon-per-host lock, reconcile (repair what a crash interrupted)
 * and only then the control socket, so no request ever sees a half-done
 * operation. Only startup may abort; after that errors go to clients.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <libxml/parser.h>

#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "nbd_server.h"
#include "notify.h"
#include "jobs.h"
#include "poold.h"

static void log_to_stderr(poolLogLevel level, const char *msg, void *opaque)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld poold[%ld] %s: %s\n", when, ts.tv_nsec / 1000000, (long)getpid(),
            pool_log_level_name(level), msg);
}

static void log_to_syslog(poolLogLevel level, const char *msg, void *opaque)
{
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    syslog(prio[level], "%s", msg);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: poold [OPTION]...\n"
        "Per-host agent for clustered-LVM storage pools.\n\n"
        "  -c, --config=FILE    configuration file (default " POOL_CONFIG_DEFAULT_PATH ")\n"
        "  -f, --foreground     stay in the foreground (for systemd and tests)\n"
        "  -p, --pid-file=FILE  also write the pid here (it is always in <state_dir>/poold.lock)\n"
        "      --check-config   validate the configuration, print it, and exit\n"
        "  -v, --verbose        log at debug level\n"
        "  -V, --version        print the version and exit\n"
        "  -h, --help           print this help and exit\n\n"
        "See poold(8) and poold.conf(5).\n");
}

/* One poold per host (per state directory): an flock held for the daemon's
 * lifetime. The kernel drops it when the process dies, however it dies. */
static int take_daemon_lock(const poolConfig *cfg, int *lock_fd)
{
    if (pool_mkdir_p(cfg->state_dir, 0700) < 0)
        return -1;
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/poold.lock", cfg->state_dir);
    if (!path)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        pool_error_errno(errno, "cannot open %s", path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
        if (n > 0)
            pid[strcspn(pid, "\n")] = '\0';
        if (pid[0])
            pool_error(POOL_ERR_BUSY, "another poold (pid %s) is already running for %s", pid,
                       cfg->state_dir);
        else
            pool_error(POOL_ERR_BUSY, "another poold is already running for %s", cfg->state_dir);
        close(fd);
        return -1;
    }
    *lock_fd = fd;
    return 0;
}

static int write_pid(int lock_fd, const char *pid_file)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, buf, (size_t)n, 0) != n) {
        pool_error_errno(errno, "cannot record the pid");
        return -1;
    }
    if (pid_file && pool_file_write_atomic(pid_file, buf, (size_t)n, 0644) < 0)
        return -1;
    return 0;
}

/* Detach into the background, but only report success once the daemon is
 * really serving: the parent waits on a pipe that the daemon writes to when
 * its socket listens, so `poold` (without -f) exits non-zero when startup
 * fails (lock held, bad socket group, ...) instead of failing silently.
 * Returns the pipe's write end in the daemon; the parent never returns. */
static int daemonize(bool use_syslog)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        fprintf(stderr, "poold: error: pipe: %s\n", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "poold: error: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        char c;
        ssize_t n;
        do {
            n = read(p[0], &c, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1)
            _exit(0);
        fprintf(stderr, "poold: error: the daemon failed to start (see its log)\n");
        _exit(1);
    }
    close(p[0]);
    if (setsid() < 0 || chdir("/") < 0)
        return -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (use_syslog)
            dup2(null, STDERR_FILENO);
        close(null);
    }
    return p[1];
}

int main(int argc, char **argv)
{
    const char *config_path = POOL_CONFIG_DEFAULT_PATH;
    const char *pid_file = NULL;
    bool foreground = false, check_only = false, verbose = false, config_given = false;
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"foreground", no_argument, NULL, 'f'},
        {"pid-file", required_argument, NULL, 'p'}, {"check-config", no_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:fp:vVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            config_given = true;
            break;
        case 'f':
            foreground = true;
            break;
        case 'p':
            pid_file = optarg;
            break;
        case 'C':
            check_only = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'V':
            printf("poold %s\n", POOL_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "poold: error: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    /* A handler table that misses an op of the catalogue, or serves one it
     * does not list, is a build mistake: refuse to start. */
    if (poold_dispatch_check() < 0) {
        fprintf(stderr, "poold: error: %s\n", pool_error_last_message());
        return 1;
    }

    /* The default file may be absent (defaults apply); a named one may not. */
    POOL_AUTOPTR(poolConfig) cfg = pool_config_load(config_path, !config_given);
    if (!cfg) {
        fprintf(stderr, "poold: error: %s\n", pool_error_last_message());
        return 2;
    }
    if (check_only) {
        POOL_AUTOFREE(char *) text = pool_config_format(cfg);
        if (!text) {
            fprintf(stderr, "poold: error: %s\n", pool_error_last_message());
            return 1;
        }
        printf("# %s: valid\n%s", config_path, text);
        return 0;
    }
    if (verbose)
        cfg->log_level = POOL_LOG_DEBUG;
    bool use_syslog = cfg->log_output && strcmp(cfg->log_output, "syslog") == 0;
    if (use_syslog)
        openlog("poold", LOG_PID, LOG_DAEMON);
    pool_log_set_callback(use_syslog ? log_to_syslog : log_to_stderr, NULL,
                          (poolLogLevel)cfg->log_level);

    int ready_fd = -1;
    if (!foreground) {
        ready_fd = daemonize(use_syslog);
        if (ready_fd < 0)
            return 1;
    }
    xmlInitParser();
    /* Block the signals the server loop reads from its signalfd now, before
     * any thread exists: threads inherit the mask, and a thread with them
     * unblocked would let SIGTERM kill poold instead of stopping it. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int lock_fd = -1;
    if (take_daemon_lock(cfg, &lock_fd) < 0 || write_pid(lock_fd, pid_file) < 0) {
        log_error("%s", pool_error_last_message());
        return 1;
    }
    log_info("poold %s starting (config %s, state %s)", POOL_VERSION, config_path, cfg->state_dir);
    POOL_AUTOFREE(char *) nbd_dir = pool_asprintf("%s/run", cfg->state_dir);
    if (nbd_dir)
        poold_nbd_cleanup(nbd_dir); /* what a dead poold's qemu-img jobs left */

    POOL_AUTOPTR(poolManager) mgr = pool_manager_new(cfg);
    if (!mgr) {
        log_error("%s", pool_error_last_message());
        return 1;
    }
    poold_notify("STATUS=reconciling: finishing what a crash interrupted");
    int repairs = pool_manager_reconcile(mgr);
    if (repairs < 0)
        log_error("reconcile left problems (see above); serving anyway");
    else
        log_info("reconcile: %d repair(s)", repairs);

    poolDaemon d = {.cfg = cfg, .mgr = mgr, .ready_fd = ready_fd};
    poold_daemon_locks_init(&d);
    if (!(d.jobs = poold_jobs_new())) {
        log_error("%s", pool_error_last_message());
        return 1;
    }
    /* snapshot deletes a crash interrupted mid-merge (pd_op:merge): the
     * rebase needs poold's NBD server, so reconcile leaves them to us;
     * before the target serves anything */
    if (poold_snapshot_merge_resume(&d) < 0)
        log_error("an interrupted snapshot merge could not be finished (see above)");
    /* rejoin the lockspaces of sanlock pools (in the background: joining
     * takes a few io_timeouts; until it is done, changes are refused as
     * busy and reads work) */
    pool_manager_rejoin_all(mgr);
    poold_notify("STATUS=starting the iSCSI target and the libvirt publisher");
    d.ex = poold_export_start(cfg, mgr);
    if (!d.ex) {
        log_error("%s", pool_error_last_message());
        return 1;
    }
    /* libvirt storage pools: defined/started/refreshed by a worker thread */
    d.lv = poold_libvirt_start(cfg);
    d.doms = poold_domains_new(cfg);
    poold_libvirt_publish_all(d.lv, mgr, d.ex);
    if (poold_refresh_start(&d) < 0) {
        log_error("%s", pool_error_last_message());
        return 1;
    }
    int r = poold_server_run(&d);
    /* running jobs are cancelled and undo what they made (jobs.h); one
     * that does not end in time is left to reconcile, like a crash */
    if (!poold_jobs_shutdown(d.jobs, 30000)) {
        log_error("jobs still running after 30 s; exiting without them (reconcile rolls them "
                  "back at the next start)");
        return 1;
    }
    poold_jobs_free(d.jobs);
    d.jobs = NULL;
    poold_refresh_stop(&d);
    poold_notify("STOPPING=1\nSTATUS=stopping: libvirt publisher, then the target's sessions");
    /* before the target: a refresh under way is one of its initiators */
    poold_libvirt_stop(d.lv, 3000);
    poold_domains_free(d.doms);
    /* initiators get an async logout request and a few seconds to leave */
    poold_export_stop(d.ex, 5000);
    if (r < 0)
        log_error("%s", pool_error_last_message());
    log_info("poold stopped");
    if (pid_file)
        unlink(pid_file);
    close(lock_fd);
    xmlCleanupParser();
    return r < 0 ? 1 : 0;
}
