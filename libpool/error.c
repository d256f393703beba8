// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * error.c: the thread-local error slot behind pool-error.h.
 *
 * Why a thread-local slot rather than returned error objects: every layer
 * (lvm runner, XML, protocol, daemon dispatch) can keep the plain 0 / -1
 * convention and the innermost function, which knows most, writes the
 * message. libpool is called from several threads (the iSCSI target's workers
 * will be), so the slot must be per thread.
 *
 * Invariants:
 *  - Reporting never fails visibly. When the message cannot be allocated the
 *    slot falls back to a static "out of memory" error (POOL_ERR_NO_MEMORY)
 *    whose strings are not owned; `owned` says whether the slot's strings
 *    must be freed.
 *  - Reporting preserves errno, so a caller may report and then still look at
 *    errno (pool_config_load relies on this to recognise ENOENT).
 *  - A thread's slot is released by a pthread key destructor when the thread
 *    exits, so worker threads do not leak their last error.
 *
 * Names travel over the wire and exit codes are what scripts see, so both
 * tables below are append-only. Exit-code table (poolctl exit status):
 *
 *   code                                    exit
 *   ok                                        0
 *   internal, no-memory, system, lvm, timeout 1   (generic failure)
 *   invalid-argument, config, xml             2   (bad input)
 *   no-pool, no-volume                        3   (object not found)
 *   exists, busy                              4   (object state conflict)
 *   device, no-space                          5   (storage problem)
 *   connect, permission, protocol             6   (cannot talk to poold)
 *   unsupported                               7
 *   anything unknown                          1
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-alloc.h"
#include "pool-error.h"

typedef struct {
    poolError err;
    bool set;   /* an error is recorded */
    bool owned; /* err's strings are heap copies owned by the slot */
} poolErrorSlot;

static __thread poolErrorSlot error_slot;

static pthread_key_t error_key;
static pthread_once_t error_key_once = PTHREAD_ONCE_INIT;
static bool error_key_ok;
static __thread bool error_key_registered;

static const char oom_message[] = "out of memory";

static void slot_clear(poolErrorSlot *slot)
{
    if (slot->owned) {
        free(slot->err.message);
        free(slot->err.file);
        free(slot->err.func);
    }
    memset(slot, 0, sizeof(*slot));
}

static void error_key_destroy(void *p)
{
    slot_clear(p);
}

static void error_key_create(void)
{
    error_key_ok = pthread_key_create(&error_key, error_key_destroy) == 0;
}

/* Make sure this thread's slot is released when the thread exits. */
static void slot_register(void)
{
    if (error_key_registered)
        return;
    pthread_once(&error_key_once, error_key_create);
    if (error_key_ok && pthread_setspecific(error_key, &error_slot) == 0)
        error_key_registered = true;
}

/* Static fallback used when the real message cannot be stored. file and
 * func must outlive the slot (string literals); strings the slot owns are
 * replaced by this file's location since they are about to be freed. */
static void slot_set_oom(const char *file, const char *func, int line)
{
    if (error_slot.owned && (file == error_slot.err.file || func == error_slot.err.func)) {
        file = __FILE__;
        func = __func__;
    }
    slot_clear(&error_slot);
    error_slot.err.code = POOL_ERR_NO_MEMORY;
    error_slot.err.message = (char *)oom_message;
    error_slot.err.file = (char *)(file ? file : __FILE__);
    error_slot.err.func = (char *)(func ? func : __func__);
    error_slot.err.line = line;
    error_slot.set = true;
    error_slot.owned = false;
}

static void strip_trailing_newlines(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Heap-formatted text, NULL on allocation failure. A NULL format is a
 * caller bug; it yields an empty message rather than a crash. */
static char *format_message(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *format_message(const char *fmt, va_list ap)
{
    char *msg = NULL;

    if (!fmt)
        return strdup("");
    if (vasprintf(&msg, fmt, ap) < 0)
        return NULL;
    return msg;
}

/* Take ownership of message (may be NULL = allocation failed). `literal`
 * says file and func are string literals that may back the OOM fallback;
 * locations decoded from the wire are not. */
static void slot_store(poolErrorCode code, char *message, const char *file, const char *func,
                       int line, bool literal)
{
    char *f = strdup(file ? file : "");
    char *fn = strdup(func ? func : "");

    slot_register();
    if (!message || !f || !fn) {
        free(message);
        free(f);
        free(fn);
        if (literal)
            slot_set_oom(file, func, line);
        else
            slot_set_oom(__FILE__, __func__, __LINE__);
        return;
    }
    strip_trailing_newlines(message);
    slot_clear(&error_slot);
    if (code <= POOL_ERR_OK || code >= POOL_ERR_LAST)
        code = POOL_ERR_INTERNAL;
    error_slot.err.code = code;
    error_slot.err.message = message;
    error_slot.err.file = f;
    error_slot.err.func = fn;
    error_slot.err.line = line;
    error_slot.set = true;
    error_slot.owned = true;
}

void pool_error_vreport_full(poolErrorCode code, const char *file, const char *func, int line,
                             const char *fmt, va_list ap)
{
    int saved_errno = errno;
    char *msg = NULL;

    msg = format_message(fmt, ap);
    slot_store(code, msg, file, func, line, true);
    errno = saved_errno;
}

void pool_error_report_full(poolErrorCode code, const char *file, const char *func, int line,
                            const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pool_error_vreport_full(code, file, func, line, fmt, ap);
    va_end(ap);
}

void pool_error_errno_full(int errnum, const char *file, const char *func, int line,
                           const char *fmt, ...)
{
    int saved_errno = errno;
    POOL_AUTOFREE(char *) prefix = NULL;
    char ebuf[256];
    const char *etext;
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    prefix = format_message(fmt, ap);
    va_end(ap);
    etext = strerror_r(errnum, ebuf, sizeof(ebuf));
    if (prefix && asprintf(&msg, "%s: %s", prefix, etext) < 0)
        msg = NULL;
    slot_store(POOL_ERR_SYSTEM, msg, file, func, line, true);
    errno = saved_errno;
}

void pool_error_prefix(const char *fmt, ...)
{
    int saved_errno = errno;
    POOL_AUTOFREE(char *) prefix = NULL;
    char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    prefix = format_message(fmt, ap);
    va_end(ap);
    if (!prefix) {
        /* Keep the original error rather than replacing it with OOM. */
        errno = saved_errno;
        return;
    }

    if (!error_slot.set) {
        /* Someone forgot to report: make that visible instead of silent. */
        pool_error_report_full(POOL_ERR_INTERNAL, __FILE__, __func__, __LINE__, "%s: unknown error",
                               prefix);
        errno = saved_errno;
        return;
    }

    if (asprintf(&msg, "%s: %s", prefix, error_slot.err.message) < 0) {
        errno = saved_errno;
        return;
    }
    if (error_slot.owned) {
        free(error_slot.err.message);
        error_slot.err.message = msg;
    } else {
        /* Static fallback: take a copy of the location so all is owned. */
        char *f = strdup(error_slot.err.file);
        char *fn = strdup(error_slot.err.func);

        if (!f || !fn) {
            free(f);
            free(fn);
            free(msg);
        } else {
            error_slot.err.message = msg;
            error_slot.err.file = f;
            error_slot.err.func = fn;
            error_slot.owned = true;
        }
    }
    errno = saved_errno;
}

void pool_error_set(poolErrorCode code, const char *message, const char *file, const char *func,
                    int line)
{
    int saved_errno = errno;

    slot_store(code, strdup(message ? message : "unknown error"), file, func, line, false);
    errno = saved_errno;
}

const poolError *pool_error_last(void)
{
    return error_slot.set ? &error_slot.err : NULL;
}

poolErrorCode pool_error_last_code(void)
{
    return error_slot.set ? error_slot.err.code : POOL_ERR_OK;
}

const char *pool_error_last_message(void)
{
    if (!error_slot.set || !error_slot.err.message)
        return "unknown error";
    return error_slot.err.message;
}

void pool_error_reset(void)
{
    int saved_errno = errno;

    slot_clear(&error_slot);
    errno = saved_errno;
}

poolError *pool_error_copy(const poolError *err)
{
    poolError *copy;

    if (!err)
        return NULL;
    copy = calloc(1, sizeof(*copy));
    if (!copy)
        goto oom;
    copy->code = err->code;
    copy->line = err->line;
    copy->message = strdup(err->message ? err->message : "");
    copy->file = strdup(err->file ? err->file : "");
    copy->func = strdup(err->func ? err->func : "");
    if (!copy->message || !copy->file || !copy->func)
        goto oom;
    return copy;

oom:
    pool_error_free(copy);
    pool_error_oom();
    return NULL;
}

void pool_error_free(poolError *err)
{
    if (!err)
        return;
    free(err->message);
    free(err->file);
    free(err->func);
    free(err);
}

poolError *pool_error_save(void)
{
    return pool_error_copy(pool_error_last());
}

void pool_error_restore(poolError *saved)
{
    if (!saved)
        return;
    pool_error_set(saved->code, saved->message, saved->file, saved->func, saved->line);
    pool_error_free(saved);
}

/* Indexed by poolErrorCode. */
static const struct {
    const char *name;
    int exit_code;
} error_codes[POOL_ERR_LAST] = {
    [POOL_ERR_OK] = {"ok", 0},
    [POOL_ERR_INTERNAL] = {"internal", 1},
    [POOL_ERR_NO_MEMORY] = {"no-memory", 1},
    [POOL_ERR_INVALID_ARG] = {"invalid-argument", 2},
    [POOL_ERR_SYSTEM] = {"system", 1},
    [POOL_ERR_CONFIG] = {"config", 2},
    [POOL_ERR_XML] = {"xml", 2},
    [POOL_ERR_PROTOCOL] = {"protocol", 6},
    [POOL_ERR_LVM] = {"lvm", 1},
    [POOL_ERR_NO_POOL] = {"no-pool", 3},
    [POOL_ERR_NO_VOLUME] = {"no-volume", 3},
    [POOL_ERR_EXISTS] = {"exists", 4},
    [POOL_ERR_BUSY] = {"busy", 4},
    [POOL_ERR_DEVICE] = {"device", 5},
    [POOL_ERR_NO_SPACE] = {"no-space", 5},
    [POOL_ERR_CONNECT] = {"connect", 6},
    [POOL_ERR_PERMISSION] = {"permission", 6},
    [POOL_ERR_UNSUPPORTED] = {"unsupported", 7},
    [POOL_ERR_TIMEOUT] = {"timeout", 1},
    [POOL_ERR_NO_VM] = {"no-vm", 3},
    [POOL_ERR_CONFLICT] = {"conflict", 4},
};

const char *pool_error_code_name(poolErrorCode code)
{
    if ((int)code < 0 || code >= POOL_ERR_LAST || !error_codes[code].name)
        return "unknown";
    return error_codes[code].name;
}

int pool_error_code_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < POOL_ERR_LAST; i++) {
        if (error_codes[i].name && strcmp(error_codes[i].name, name) == 0)
            return i;
    }
    return -1;
}

int pool_error_exit_code(poolErrorCode code)
{
    if ((int)code < 0 || code >= POOL_ERR_LAST || !error_codes[code].name)
        return 1;
    return error_codes[code].exit_code;
}

int pool_error_oom_full(const char *file, const char *func, int line)
{
    int saved_errno = errno;

    /* No allocation here: this is what runs when allocation failed. */
    slot_register();
    slot_set_oom(file, func, line);
    errno = saved_errno;
    return -1;
}
