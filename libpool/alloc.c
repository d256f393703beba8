// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * alloc.c: allocation wrappers and string-vector helpers (pool-alloc.h).
 *
 * The wrappers exist so allocation failure is reported like every other
 * error (POOL_ERR_NO_MEMORY in the thread-local slot) instead of each caller
 * inventing a message, and so a zero-sized request still yields a unique
 * non-NULL pointer: NULL from these functions always means failure.
 *
 * String vectors are NULL-terminated arrays of heap strings, the shape
 * execve() wants for lvm argv and the shape list values take in the config.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-error.h"

void pool_autoclose_cleanup(int *fd)
{
    if (fd && *fd >= 0) {
        int saved_errno = errno;

        close(*fd);
        *fd = -1;
        errno = saved_errno;
    }
}

void pool_strv_free(char **strv)
{
    if (!strv)
        return;
    for (char **p = strv; *p; p++)
        free(*p);
    free(strv);
}

size_t pool_strv_length(char *const *strv)
{
    size_t n = 0;

    if (!strv)
        return 0;
    while (strv[n])
        n++;
    return n;
}

int pool_strv_add(char ***strv, const char *s)
{
    size_t n;
    char **grown;
    char *copy;

    if (!strv || !s) {
        pool_error(POOL_ERR_INTERNAL, "pool_strv_add: NULL argument");
        return -1;
    }
    n = pool_strv_length(*strv);
    copy = strdup(s);
    if (!copy)
        return pool_error_oom();
    /* realloc, not pool_realloc_n: on failure *strv must stay intact. */
    if (n > SIZE_MAX / sizeof(char *) - 2 || !(grown = realloc(*strv, (n + 2) * sizeof(char *)))) {
        free(copy);
        return pool_error_oom();
    }
    grown[n] = copy;
    grown[n + 1] = NULL;
    *strv = grown;
    return 0;
}

/* A NULL vector copies to an empty one, so NULL stays an error indication. */
char **pool_strv_copy(char *const *strv)
{
    size_t n = pool_strv_length(strv);
    char **copy = pool_calloc(n + 1, sizeof(char *));

    if (!copy)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        copy[i] = strdup(strv[i]);
        if (!copy[i]) {
            pool_strv_free(copy);
            pool_error_oom();
            return NULL;
        }
    }
    return copy;
}

void *pool_calloc(size_t n, size_t size)
{
    void *p;

    if (n == 0 || size == 0)
        n = size = 1;
    /* Checked here too: sanitizer allocators abort on calloc overflow. */
    if (n > SIZE_MAX / size) {
        pool_error_oom();
        return NULL;
    }
    p = calloc(n, size);
    if (!p)
        pool_error_oom();
    return p;
}

char *pool_strdup(const char *s)
{
    char *p;

    if (!s)
        return NULL;
    p = strdup(s);
    if (!p)
        pool_error_oom();
    return p;
}

char *pool_asprintf(const char *fmt, ...)
{
    char *p = NULL;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        pool_error_oom();
        return NULL;
    }
    return p;
}

/* n == 0 frees and leaves NULL; on failure *pptr is untouched. */
int pool_realloc_n(void *pptr, size_t n, size_t size)
{
    void **pp = pptr;
    void *p;

    if (!pp) {
        pool_error(POOL_ERR_INTERNAL, "pool_realloc_n: NULL argument");
        return -1;
    }
    if (n == 0 || size == 0) {
        free(*pp);
        *pp = NULL;
        return 0;
    }
    if (n > SIZE_MAX / size)
        return pool_error_oom();
    p = realloc(*pp, n * size);
    if (!p)
        return pool_error_oom();
    *pp = p;
    return 0;
}
