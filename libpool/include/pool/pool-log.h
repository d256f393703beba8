/*
 * pool-log.h: logging. The library logs nothing unless its caller installs a
 * callback with pool_log_set_callback(); poold installs one that writes to
 * stderr or syslog. Object-scoped helpers put the pool/volume name in every
 * line so an operator can grep one object's history.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_LOG_H
#define POOL_LOG_H

#include <stdarg.h>

typedef enum {
    POOL_LOG_ERROR = 0,
    POOL_LOG_WARN = 1,
    POOL_LOG_INFO = 2,
    POOL_LOG_DEBUG = 3,
} poolLogLevel;

typedef void (*poolLogFunc)(poolLogLevel level, const char *msg, void *opaque);

/* Install (or remove, with NULL) the log sink; messages above max_level are
 * dropped before formatting. Not thread-safe against concurrent logging:
 * call it at startup. */
void pool_log_set_callback(poolLogFunc fn, void *opaque, poolLogLevel max_level);
poolLogLevel pool_log_get_level(void);
int pool_log_level_from_name(const char *name); /* "error".."debug", -1 if unknown */
const char *pool_log_level_name(poolLogLevel level);

void pool_log(poolLogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pool_vlog(poolLogLevel level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* log_warn appends ": strerror(errno)", log_warnx does not (BSD err(3) style). */
#define log_error(...) pool_log(POOL_LOG_ERROR, __VA_ARGS__)
void pool_log_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_warn(...)  pool_log_warn_errno(__VA_ARGS__)
#define log_warnx(...) pool_log(POOL_LOG_WARN, __VA_ARGS__)
#define log_info(...)  pool_log(POOL_LOG_INFO, __VA_ARGS__)
#define log_debug(...) pool_log(POOL_LOG_DEBUG, __VA_ARGS__)

/* Object-scoped: every line starts with "pool NAME: " / "pool NAME vol NAME: ". */
#define log_pool(level, poolname, fmt, ...)                                                        \
    pool_log((level), "pool %s: " fmt, (poolname), ##__VA_ARGS__)
#define log_vol(level, poolname, volname, fmt, ...)                                                \
    pool_log((level), "pool %s vol %s: " fmt, (poolname), (volname), ##__VA_ARGS__)

#endif
