// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * log.c: the library's logging front end.
 *
 * A library must not write to a program's stderr on its own, so nothing is
 * emitted until the caller installs a sink (poold installs stderr or syslog;
 * poolctl installs one only with --debug). The level check comes before any
 * formatting so disabled debug lines cost one comparison.
 *
 * Logging must never disturb the caller's error handling: every entry point
 * preserves errno, including across the sink, because callers commonly log
 * and then return -1 with errno still describing the failure.
 *
 * The sink and level are plain globals, set once at startup (see
 * pool-log.h); they are read without locking.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-log.h"

static poolLogFunc log_fn;
static void *log_opaque;
static poolLogLevel log_max_level = POOL_LOG_INFO;

static const char *const log_level_names[] = {
    [POOL_LOG_ERROR] = "error",
    [POOL_LOG_WARN] = "warn",
    [POOL_LOG_INFO] = "info",
    [POOL_LOG_DEBUG] = "debug",
};

void pool_log_set_callback(poolLogFunc fn, void *opaque, poolLogLevel max_level)
{
    if ((int)max_level < POOL_LOG_ERROR)
        max_level = POOL_LOG_ERROR;
    if (max_level > POOL_LOG_DEBUG)
        max_level = POOL_LOG_DEBUG;
    log_fn = fn;
    log_opaque = fn ? opaque : NULL;
    log_max_level = max_level;
}

poolLogLevel pool_log_get_level(void)
{
    return log_max_level;
}

int pool_log_level_from_name(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
        if (strcmp(log_level_names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

const char *pool_log_level_name(poolLogLevel level)
{
    if ((int)level < POOL_LOG_ERROR || level > POOL_LOG_DEBUG)
        return "unknown";
    return log_level_names[level];
}

static inline int log_enabled(poolLogLevel level)
{
    return log_fn != NULL && (int)level >= POOL_LOG_ERROR && level <= log_max_level;
}

/* Format into buf when it fits, else into a heap buffer (*heap, caller
 * frees). On allocation failure the truncated stack text is used: a cut line
 * beats a lost one. */
static const char *log_format(char *buf, size_t buflen, char **heap, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static const char *log_format(char *buf, size_t buflen, char **heap, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    *heap = NULL;
    va_copy(ap2, ap);
    n = vsnprintf(buf, buflen, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        snprintf(buf, buflen, "(unformattable log message)");
        return buf;
    }
    if ((size_t)n >= buflen) {
        char *p = malloc((size_t)n + 1);

        if (p) {
            va_copy(ap2, ap);
            vsnprintf(p, (size_t)n + 1, fmt, ap2);
            va_end(ap2);
            *heap = p;
            return p;
        }
    }
    return buf;
}

static void log_emit(poolLogLevel level, const char *msg)
{
    char *copy = NULL;
    size_t n = strlen(msg);

    /* Sinks add their own line ending. */
    if (n > 0 && msg[n - 1] == '\n') {
        copy = strndup(msg, n - 1);
        if (copy)
            msg = copy;
    }
    log_fn(level, msg, log_opaque);
    free(copy);
}

void pool_vlog(poolLogLevel level, const char *fmt, va_list ap)
{
    int saved_errno = errno;
    POOL_AUTOFREE(char *) heap = NULL;
    char buf[1024];
    const char *msg;

    if (!log_enabled(level) || !fmt)
        return;
    msg = log_format(buf, sizeof(buf), &heap, fmt, ap);
    log_emit(level, msg);
    errno = saved_errno;
}

void pool_log(poolLogLevel level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pool_vlog(level, fmt, ap);
    va_end(ap);
}

void pool_log_warn_errno(const char *fmt, ...)
{
    int saved_errno = errno;
    POOL_AUTOFREE(char *) heap = NULL;
    POOL_AUTOFREE(char *) full = NULL;
    char buf[1024];
    char ebuf[256];
    const char *msg;
    const char *etext;
    va_list ap;

    if (!log_enabled(POOL_LOG_WARN) || !fmt)
        return;
    va_start(ap, fmt);
    msg = log_format(buf, sizeof(buf), &heap, fmt, ap);
    va_end(ap);
    etext = strerror_r(saved_errno, ebuf, sizeof(ebuf));
    if (asprintf(&full, "%s: %s", msg, etext) < 0) {
        full = NULL;
        log_emit(POOL_LOG_WARN, msg);
    } else {
        log_emit(POOL_LOG_WARN, full);
    }
    errno = saved_errno;
}
