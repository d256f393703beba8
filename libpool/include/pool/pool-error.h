/*
 * pool-error.h: the error model shared by libpool, poold and poolctl.
 *
 * Functions return 0 / -1 (or a pointer / NULL) and record what went wrong in
 * a thread-local slot, in the spirit of libvirt's virReportError. The slot
 * holds one poolError; a new report replaces the old one. The same error is
 * carried over the control socket (see pool-proto.h) so poolctl prints the
 * daemon's message verbatim.
 *
 * Ownership: pool_error_last() returns a pointer into the thread-local slot,
 * valid until the next report or reset on this thread. pool_error_copy()
 * gives the caller its own copy, freed with pool_error_free().
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_ERROR_H
#define POOL_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stable numeric codes: they travel over the wire by name (pool_error_code_name)
 * and map onto poolctl exit codes (pool_error_exit_code). Append only. */
typedef enum {
    POOL_ERR_OK = 0,
    POOL_ERR_INTERNAL, /* a bug: should never happen */
    POOL_ERR_NO_MEMORY,
    POOL_ERR_INVALID_ARG, /* bad user input: size, name, option */
    POOL_ERR_SYSTEM,      /* a system call failed (errno in message) */
    POOL_ERR_CONFIG,      /* configuration file invalid */
    POOL_ERR_XML,         /* XML document malformed or invalid */
    POOL_ERR_PROTOCOL,    /* control-socket frame or message invalid */
    POOL_ERR_LVM,         /* an lvm command failed */
    POOL_ERR_NO_POOL,     /* no such pool */
    POOL_ERR_NO_VOLUME,   /* no such volume */
    POOL_ERR_EXISTS,      /* object already exists */
    POOL_ERR_BUSY,        /* object in use (pool has volumes, ...) */
    POOL_ERR_DEVICE,      /* block device unusable (missing, too small, holds data) */
    POOL_ERR_NO_SPACE,    /* not enough free extents */
    POOL_ERR_CONNECT,     /* cannot reach poold */
    POOL_ERR_PERMISSION,  /* peer not allowed */
    POOL_ERR_UNSUPPORTED, /* operation not supported */
    POOL_ERR_TIMEOUT,
    POOL_ERR_NO_VM,    /* no such VM record */
    POOL_ERR_CONFLICT, /* the object changed since it was read (retry) */
    POOL_ERR_LAST
} poolErrorCode;

typedef struct {
    poolErrorCode code;
    char *message; /* human text, no trailing newline */
    char *file;    /* source location where it was reported */
    char *func;
    int line;
} poolError;

void pool_error_report_full(poolErrorCode code, const char *file, const char *func, int line,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void pool_error_vreport_full(poolErrorCode code, const char *file, const char *func, int line,
                             const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* Report an error at the caller's location. */
#define pool_error(code, ...)                                                                      \
    pool_error_report_full((code), __FILE__, __func__, __LINE__, __VA_ARGS__)

/* Report errno-based failure: "<message>: <strerror(errnum)>". */
#define pool_error_errno(errnum, ...)                                                              \
    pool_error_errno_full((errnum), __FILE__, __func__, __LINE__, __VA_ARGS__)
void pool_error_errno_full(int errnum, const char *file, const char *func, int line,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefix the current error's message with "<prefix>: " (adds context while
 * an error propagates up; keeps the code and the original location). */
void pool_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Install an error received from elsewhere (e.g. decoded from the wire). */
void pool_error_set(poolErrorCode code, const char *message, const char *file, const char *func,
                    int line);

const poolError *pool_error_last(void); /* NULL if none */
poolErrorCode pool_error_last_code(void);
const char *pool_error_last_message(void); /* "unknown error" if none */
void pool_error_reset(void);

poolError *pool_error_copy(const poolError *err);
void pool_error_free(poolError *err);

/* Keep the error being reported while cleanup code runs that may report its
 * own: saved = pool_error_save(); <cleanup>; pool_error_restore(saved).
 * pool_error_save() returns a copy of the current error (NULL if none).
 * pool_error_restore() installs and frees it; with NULL it leaves the slot
 * as the cleanup left it (reset first if that must not survive). */
poolError *pool_error_save(void);
void pool_error_restore(poolError *saved);

const char *pool_error_code_name(poolErrorCode code); /* "no-volume", ... */
int pool_error_code_from_name(const char *name);      /* -1 if unknown */
int pool_error_exit_code(poolErrorCode code);         /* poolctl exit status */

/* Convenience for allocation failure; always returns -1. */
int pool_error_oom_full(const char *file, const char *func, int line);
#define pool_error_oom() pool_error_oom_full(__FILE__, __func__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
