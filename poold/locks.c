/*
 * locks.c: the per-pool and per-(pool, VM) mutexes of POOL and VM requests
 * (docs/design.md section 3, "Concurrency"), made on first use and freed
 * when no request holds or waits for them; and poold_with_pool, which
 * takes a pool's locks for a job's short steps as a POOL request would.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "poold.h"

struct poolNamedLock {
    struct poolNamedLock *next;
    char *key;      /* "pool\n" POOL, or "vm\n" POOL "\n" VM ("" for vm define) */
    unsigned users; /* requests holding or waiting for it */
    pthread_mutex_t mutex;
};

/* Take the mutex named `key` (made on first use); NULL out of memory. */
struct poolNamedLock *poold_named_lock(poolDaemon *d, const char *key)
{
    pthread_mutex_lock(&d->names_lock);
    struct poolNamedLock *l = d->named;
    while (l && strcmp(l->key, key) != 0)
        l = l->next;
    if (!l) {
        l = calloc(1, sizeof(*l));
        if (!l || !(l->key = strdup(key))) {
            free(l);
            pthread_mutex_unlock(&d->names_lock);
            pool_error_oom();
            return NULL;
        }
        pthread_mutex_init(&l->mutex, NULL);
        l->next = d->named;
        d->named = l;
    }
    l->users++;
    pthread_mutex_unlock(&d->names_lock);
    pthread_mutex_lock(&l->mutex);
    return l;
}

void poold_named_unlock(poolDaemon *d, struct poolNamedLock *l)
{
    pthread_mutex_unlock(&l->mutex);
    pthread_mutex_lock(&d->names_lock);
    if (--l->users == 0) {
        for (struct poolNamedLock **pp = &d->named; *pp; pp = &(*pp)->next)
            if (*pp == l) {
                *pp = l->next;
                break;
            }
        pthread_mutex_destroy(&l->mutex);
        free(l->key);
        free(l);
    }
    pthread_mutex_unlock(&d->names_lock);
}

struct poolNamedLock *poold_pool_named_lock(poolDaemon *d, const char *pool)
{
    POOL_AUTOFREE(char *) key = pool_asprintf("pool\n%s", pool ? pool : "");
    return key ? poold_named_lock(d, key) : NULL;
}

int poold_with_pool(poolDaemon *d, const char *pool,
                    int (*fn)(poolDaemon *d, const char *pool, void *ctx), void *ctx)
{
    pthread_rwlock_rdlock(&d->pools_lock);
    struct poolNamedLock *named = poold_pool_named_lock(d, pool);
    int r = -1;
    if (named) {
        if (!pool_manager_find_exists(d->mgr, pool))
            pool_error(POOL_ERR_NO_POOL, "pool %s went away meanwhile", pool);
        else
            r = fn(d, pool, ctx);
        poold_named_unlock(d, named);
    }
    pthread_rwlock_unlock(&d->pools_lock);
    return r;
}
