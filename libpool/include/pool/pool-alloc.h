/*
 * pool-alloc.h: allocation and scope-cleanup helpers.
 *
 *   POOL_AUTOFREE(char *) s = NULL;          freed with free() at scope exit
 *   POOL_AUTOPTR(poolVolDef) def = NULL;      freed with poolVolDefFree()
 *   return pool_steal_ptr(&def);             hand ownership to the caller
 *
 * A type gets AUTOPTR support with POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(T, freefn)
 * next to its declaration. Variables must always be initialised.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_ALLOC_H
#define POOL_ALLOC_H

#include <stdlib.h>
#include <string.h>

static inline void pool_autofree_cleanup(void *p)
{
    free(*(void **)p);
}

#define POOL_AUTOFREE(type) __attribute__((cleanup(pool_autofree_cleanup))) type

#define POOL_AUTOPTR_FUNC_NAME(type) type##AutoPtrFree
#define POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(type, func)                                               \
    static inline void POOL_AUTOPTR_FUNC_NAME(type)(type * *_ptr)                                  \
    {                                                                                              \
        if (*_ptr)                                                                                 \
            (func)(*_ptr);                                                                         \
        *_ptr = NULL;                                                                              \
    }
#define POOL_AUTOPTR(type) __attribute__((cleanup(POOL_AUTOPTR_FUNC_NAME(type)))) type *

/* Close an fd at scope exit (ignores -1). */
void pool_autoclose_cleanup(int *fd);
#define POOL_AUTOCLOSE __attribute__((cleanup(pool_autoclose_cleanup))) int

/* Return *pp and set it to NULL: hands ownership out of an AUTO variable. */
static inline void *pool_steal_ptr_impl(void **pp)
{
    void *p = *pp;
    *pp = NULL;
    return p;
}
#define pool_steal_ptr(pp) pool_steal_ptr_impl((void **)(pp))

/* Free a NULL-terminated array of strings. */
void pool_strv_free(char **strv);
static inline void pool_autostrv_cleanup(char ***p)
{
    pool_strv_free(*p);
}
#define POOL_AUTOSTRV __attribute__((cleanup(pool_autostrv_cleanup))) char **

size_t pool_strv_length(char *const *strv);
/* Append a copy of s to *strv (NULL-terminated); 0 or -1 with error set. */
int pool_strv_add(char ***strv, const char *s);
char **pool_strv_copy(char *const *strv);

/* Allocation wrappers that report POOL_ERR_NO_MEMORY on failure. */
void *pool_calloc(size_t n, size_t size);
char *pool_strdup(const char *s); /* NULL in -> NULL out, no error */
char *pool_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pool_realloc_n(void *pptr, size_t n, size_t size); /* *pptr resized */

#endif
