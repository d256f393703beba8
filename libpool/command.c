/*
 * command.c: run an external program from an argv array and capture its
 * output, with a time limit.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why not popen()/system(): those go through /bin/sh, and poold passes names
 * that came from users (volume names, tags) to lvm; argv arrays make quoting
 * bugs impossible. Why not plain fork+exec in each caller: the details that
 * make a daemon robust are easy to get wrong and belong in one place:
 *
 *   - stdin is /dev/null, so a program that wants to ask a question (lvm's
 *     "Wipe it? [y/n]") reads EOF and takes the safe answer instead of
 *     hanging forever;
 *   - every fd other than 0-2 is closed in the child (close_range, or a loop
 *     up to RLIMIT_NOFILE), so a child never inherits the control socket,
 *     lease fds or iSCSI connections (lvm even complains about leaked fds);
 *   - the child gets default signal dispositions and an empty signal mask:
 *     a daemon that ignores SIGPIPE must not hand that to lvm;
 *   - stdout and stderr are read concurrently with poll(), so a child that
 *     fills one pipe while we wait on the other cannot deadlock;
 *   - the child runs in its own process group; on timeout (or when the output
 *     cap is hit) the whole group gets SIGKILL, so helpers it spawned die too;
 *   - the child is always reaped (waitpid, EINTR-safe), whatever fails;
 *   - exec failure is reported through a close-on-exec pipe, so "no such
 *     program" is an error of pool_command_run rather than exit status 127.
 *
 * The parent never writes to the child, so it cannot get SIGPIPE from it.
 * Everything the child needs (resolved path, environment) is prepared before
 * fork(), so the child only calls async-signal-safe functions, which keeps
 * this safe in poold's multi-threaded process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-command.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"

extern char **environ;

#define COMMAND_DEFAULT_MAX_OUTPUT (16u * 1024 * 1024)
#define COMMAND_DEFAULT_PATH       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define COMMAND_READ_CHUNK         65536
/* Without a pidfd we look for the child's exit at this interval once its
 * pipes are closed. */
#define COMMAND_REAP_POLL_MS 10

/* --- preparation (parent, before fork) ------------------------------------ */

/* Find argv0 like execvp would, but in the parent. Returns a malloc'd path. */
static char *command_resolve(const char *argv0)
{
    const char *path;
    const char *p;

    if (*argv0 == '\0') {
        pool_error(POOL_ERR_INVALID_ARG, "cannot run a program with an empty name");
        return NULL;
    }
    if (strchr(argv0, '/') != NULL)
        return pool_strdup(argv0);
    path = getenv("PATH");
    if (path == NULL || *path == '\0')
        path = COMMAND_DEFAULT_PATH;
    for (p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        POOL_AUTOFREE(char *) cand = NULL;
        struct stat st;

        if (len == 0)
            cand = pool_asprintf("./%s", argv0);
        else
            cand = pool_asprintf("%.*s/%s", (int)len, p, argv0);
        if (cand == NULL)
            return NULL;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            return pool_steal_ptr(&cand);
        if (colon == NULL)
            break;
        p = colon + 1;
    }
    pool_error(POOL_ERR_SYSTEM, "cannot run %s: program not found in PATH", argv0);
    return NULL;
}

/* environ plus env_extra; an env_extra entry replaces an inherited variable
 * of the same name. The strings are borrowed, only the array is allocated. */
static char **command_build_env(char *const *extra)
{
    size_t nenv = 0, nextra = 0, k = 0;
    char **env;

    for (char **e = environ; e != NULL && *e != NULL; e++)
        nenv++;
    for (char *const *x = extra; x != NULL && *x != NULL; x++) {
        if (strchr(*x, '=') == NULL || **x == '=') {
            pool_error(POOL_ERR_INVALID_ARG, "environment entry '%s' is not NAME=value", *x);
            return NULL;
        }
        nextra++;
    }
    env = pool_calloc(nenv + nextra + 1, sizeof(char *));
    if (env == NULL)
        return NULL;
    for (size_t i = 0; i < nenv; i++) {
        const char *e = environ[i];
        size_t nlen = strcspn(e, "=");
        bool replaced = false;

        for (size_t j = 0; j < nextra; j++) {
            if (strncmp(extra[j], e, nlen) == 0 && extra[j][nlen] == '=') {
                replaced = true;
                break;
            }
        }
        if (!replaced)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < nextra; j++)
        env[k++] = extra[j];
    env[k] = NULL;
    return env;
}

/* --- the child ------------------------------------------------------------ */

static void child_close_fds(int min_fd, long max_fd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)min_fd, ~0u, 0u) == 0)
        return;
#endif
    for (long fd = min_fd; fd < max_fd; fd++)
        close((int)fd);
}

/* Only async-signal-safe calls from here to execve. */
static _Noreturn void child_exec(const char *path, char *const *argv, char **envp, int devnull,
                                 int out_w, int err_w, int status_w, long max_fd)
{
    struct sigaction sa;
    sigset_t none;
    int saved, moved;

    /* Our own process group, so a timeout can kill whatever we start. */
    setpgid(0, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* Lift every fd we need above 2 first: if the caller runs with 0-2
     * closed, pipe2()/open() may have handed those numbers out, and
     * dup2(fd, fd) would keep the close-on-exec flag. dup2 onto a different
     * number clears it; the status pipe keeps it (EOF on exec). */
    devnull = fcntl(devnull, F_DUPFD_CLOEXEC, 3);
    out_w = fcntl(out_w, F_DUPFD_CLOEXEC, 3);
    err_w = fcntl(err_w, F_DUPFD_CLOEXEC, 3);
    moved = fcntl(status_w, F_DUPFD_CLOEXEC, 3);
    if (moved < 0 || devnull < 0 || out_w < 0 || err_w < 0)
        goto fail;
    status_w = moved;
    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        goto fail;
    if (status_w != 3) {
        if (dup3(status_w, 3, O_CLOEXEC) < 0)
            goto fail;
        status_w = 3;
    }
    child_close_fds(4, max_fd);

    execve(path, argv, envp);
fail:
    saved = errno;
    if (write(status_w, &saved, sizeof(saved)) < 0) {
        /* nothing left to tell anyone */
    }
    _exit(127);
}

/* --- the parent ----------------------------------------------------------- */

typedef struct {
    int fd;
    char *buf;
    size_t len;
    size_t cap;
    const char *name;
} captureStream;

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Read what is available. 0: ok (EOF closes s->fd), -1: over the cap, -2:
 * read error (errno set). */
static int stream_read(captureStream *s, size_t max)
{
    /* room for one chunk plus the terminating NUL */
    if (s->cap - s->len < COMMAND_READ_CHUNK + 1) {
        size_t ncap = s->cap * 2;
        char *nbuf;

        if (ncap < s->len + COMMAND_READ_CHUNK + 1)
            ncap = s->len + COMMAND_READ_CHUNK + 1;
        nbuf = realloc(s->buf, ncap);

        if (nbuf == NULL) {
            errno = ENOMEM;
            return -2;
        }
        s->buf = nbuf;
        s->cap = ncap;
    }
    for (;;) {
        ssize_t r = read(s->fd, s->buf + s->len, COMMAND_READ_CHUNK);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return 0;
        if (r < 0)
            return -2;
        if (r == 0) {
            close_fd(&s->fd);
            return 0;
        }
        s->len += (size_t)r;
        s->buf[s->len] = '\0';
        return s->len > max ? -1 : 0;
    }
}

static pid_t wait_child(pid_t pid, int *status, int flags)
{
    pid_t r;

    do {
        r = waitpid(pid, status, flags);
    } while (r < 0 && errno == EINTR);
    return r;
}

static void kill_and_reap(pid_t pid, bool reaped)
{
    int status;

    /* The group first (helpers), then the child itself in case setpgid
     * had not happened yet when we got here. */
    kill(-pid, SIGKILL);
    if (!reaped) {
        kill(pid, SIGKILL);
        wait_child(pid, &status, 0);
    }
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);

    if (fd >= 0) {
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        return (int)fd;
    }
#endif
    return -1;
}

/* Collect output until both pipes are closed and the child has exited, or
 * the deadline passes. Returns 0 or -1 with an error set; the child is
 * reaped on every path. */
static int command_collect(const poolCommand *cmd, pid_t pid, captureStream *streams, size_t max,
                           int *status)
{
    int64_t deadline = cmd->timeout_ms > 0 ? pool_monotonic_ms() + cmd->timeout_ms : -1;
    int pidfd = open_pidfd(pid);
    bool reaped = false;
    int ret = -1;

    for (;;) {
        struct pollfd pfd[3];
        int nfds = 0, timeout = -1, r;
        bool pipes_open = streams[0].fd >= 0 || streams[1].fd >= 0;

        if (!reaped) {
            pid_t w = wait_child(pid, status, WNOHANG);

            if (w == pid) {
                reaped = true;
                close_fd(&pidfd);
            } else if (w < 0) {
                pool_error_errno(errno, "cannot wait for %s", cmd->argv[0]);
                kill(-pid, SIGKILL);
                reaped = true; /* nothing more we can do about it */
                goto out;
            }
        }
        if (reaped && !pipes_open) {
            ret = 0;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (streams[i].fd >= 0) {
                pfd[nfds].fd = streams[i].fd;
                pfd[nfds].events = POLLIN;
                nfds++;
            }
        }
        if (!reaped && pidfd >= 0) {
            pfd[nfds].fd = pidfd;
            pfd[nfds].events = POLLIN;
            nfds++;
        } else if (!reaped) {
            timeout = COMMAND_REAP_POLL_MS;
        }
        if (cmd->cancel != NULL) {
            if (cmd->cancel(cmd->opaque)) {
                pool_error(POOL_ERR_SYSTEM, "%s cancelled; killed", cmd->argv[0]);
                goto out;
            }
            if (timeout < 0 || timeout > POOL_COMMAND_CANCEL_POLL_MS)
                timeout = POOL_COMMAND_CANCEL_POLL_MS;
        }
        if (deadline >= 0) {
            int64_t left = deadline - pool_monotonic_ms();

            if (left <= 0) {
                pool_error(POOL_ERR_TIMEOUT, "%s did not finish within %d ms; killed", cmd->argv[0],
                           cmd->timeout_ms);
                goto out;
            }
            if (timeout < 0 || left < timeout)
                timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        r = poll(pfd, (nfds_t)nfds, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            pool_error_errno(errno, "poll on the output of %s", cmd->argv[0]);
            goto out;
        }
        for (int i = 0; i < nfds; i++) {
            captureStream *s = NULL;

            if (pfd[i].revents == 0)
                continue;
            for (int k = 0; k < 2; k++) {
                if (streams[k].fd >= 0 && streams[k].fd == pfd[i].fd)
                    s = &streams[k];
            }
            if (s == NULL)
                continue; /* the pidfd: the next loop turn reaps */
            size_t before = s->len;
            r = stream_read(s, max);
            if (r == 0 && s == &streams[0] && cmd->on_output != NULL && s->len > before)
                cmd->on_output(cmd->opaque, s->buf + before, s->len - before);
            if (r == -1) {
                pool_error(POOL_ERR_SYSTEM, "%s wrote more than %zu bytes to %s; killed",
                           cmd->argv[0], max, s->name);
                goto out;
            }
            if (r == -2) {
                pool_error_errno(errno, "cannot read the %s of %s", s->name, cmd->argv[0]);
                goto out;
            }
        }
    }

out:
    if (ret < 0)
        kill_and_reap(pid, reaped);
    close_fd(&pidfd);
    return ret;
}

static int make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) < 0) {
        pool_error_errno(errno, "cannot create a pipe");
        return -1;
    }
    return 0;
}

void pool_command_result_clear(poolCommandResult *res)
{
    if (res == NULL)
        return;
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof(*res));
}

int pool_command_run(const poolCommand *cmd, poolCommandResult *res)
{
    POOL_AUTOFREE(char *) path = NULL;
    POOL_AUTOFREE(char **) envp = NULL;
    POOL_AUTOFREE(char *) cmdline = NULL;
    captureStream streams[2] = {{.fd = -1, .name = "stdout"}, {.fd = -1, .name = "stderr"}};
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, status_p[2] = {-1, -1};
    int devnull = -1, status = 0, child_errno = 0, ret = -1;
    size_t max;
    struct rlimit rl;
    long max_fd = 1024;
    ssize_t r;
    pid_t pid;

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (cmd == NULL || res == NULL || cmd->argv == NULL || cmd->argv[0] == NULL) {
        pool_error(POOL_ERR_INVALID_ARG, "no program to run");
        return -1;
    }
    max = cmd->max_output ? cmd->max_output : COMMAND_DEFAULT_MAX_OUTPUT;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        max_fd = rl.rlim_cur > 65536 ? 65536 : (long)rl.rlim_cur;

    if ((path = command_resolve(cmd->argv[0])) == NULL)
        return -1;
    if ((envp = command_build_env(cmd->env_extra)) == NULL)
        return -1;
    if (pool_log_get_level() >= POOL_LOG_DEBUG) {
        cmdline = pool_command_to_string(cmd->argv);
        log_debug("running %s", cmdline ? cmdline : cmd->argv[0]);
    }

    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0) {
        pool_error_errno(errno, "cannot open /dev/null");
        goto out;
    }
    if (make_pipe(out_p) < 0 || make_pipe(err_p) < 0 || make_pipe(status_p) < 0)
        goto out;
    streams[0].fd = out_p[0];
    streams[1].fd = err_p[0];
    for (int i = 0; i < 2; i++) {
        streams[i].buf = malloc(1);
        if (streams[i].buf == NULL) {
            pool_error_oom();
            goto out;
        }
        streams[i].buf[0] = '\0';
        streams[i].cap = 1;
        fcntl(streams[i].fd, F_SETFL, fcntl(streams[i].fd, F_GETFL) | O_NONBLOCK);
    }

    pid = fork();
    if (pid < 0) {
        pool_error_errno(errno, "cannot fork to run %s", cmd->argv[0]);
        goto out;
    }
    if (pid == 0)
        child_exec(path, cmd->argv, envp, devnull, out_p[1], err_p[1], status_p[1], max_fd);

    /* Parent: also set the group from here so kill(-pid) works even if we
     * get to it before the child ran (one of the two calls wins; EACCES
     * after exec is fine). */
    setpgid(pid, pid);
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&status_p[1]);
    close_fd(&devnull);

    /* Blocks until exec succeeded (EOF: the pipe was close-on-exec) or the
     * child reported why it failed. */
    do {
        r = read(status_p[0], &child_errno, sizeof(child_errno));
    } while (r < 0 && errno == EINTR);
    close_fd(&status_p[0]);
    if (r == (ssize_t)sizeof(child_errno)) {
        kill_and_reap(pid, false);
        pool_error_errno(child_errno, "cannot run %s", path);
        goto out;
    }

    if (command_collect(cmd, pid, streams, max, &status) < 0)
        goto out;

    if (WIFEXITED(status))
        res->exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res->exit_status = 128 + WTERMSIG(status);
    else
        res->exit_status = 255;
    res->out = streams[0].buf;
    res->out_len = streams[0].len;
    res->err = streams[1].buf;
    res->err_len = streams[1].len;
    streams[0].buf = streams[1].buf = NULL;
    log_debug("%s exited with status %d", cmd->argv[0], res->exit_status);
    ret = 0;

out:
    for (int i = 0; i < 2; i++) {
        close_fd(&streams[i].fd);
        free(streams[i].buf);
    }
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&status_p[0]);
    close_fd(&status_p[1]);
    close_fd(&devnull);
    return ret;
}

/* --- logging -------------------------------------------------------------- */

static bool arg_needs_quotes(const char *s)
{
    if (*s == '\0')
        return true;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("@%+=:,./_-", c) != NULL))
            return true;
    }
    return false;
}

char *pool_command_to_string(char *const *argv)
{
    size_t len = 1;
    char *buf, *p;

    if (argv == NULL)
        return pool_strdup("");
    for (size_t i = 0; argv[i] != NULL; i++) {
        /* worst case: every char is a quote -> 4 chars, plus quotes and space */
        len += strlen(argv[i]) * 4 + 3;
    }
    buf = pool_calloc(len, 1);
    if (buf == NULL)
        return NULL;
    p = buf;
    for (size_t i = 0; argv[i] != NULL; i++) {
        const char *s = argv[i];

        if (i > 0)
            *p++ = ' ';
        if (!arg_needs_quotes(s)) {
            size_t n = strlen(s);

            memcpy(p, s, n);
            p += n;
            continue;
        }
        *p++ = '\'';
        for (; *s; s++) {
            if (*s == '\'') {
                memcpy(p, "'\\''", 4);
                p += 4;
            } else {
                *p++ = *s;
            }
        }
        *p++ = '\'';
    }
    *p = '\0';
    return buf;
}
