/*
 * locks.h: the named mutexes of POOL and VM requests (locks.c; the rules
 * and the order are in docs/design.md section 3, "Concurrency").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_LOCKS_H
#define POOLD_LOCKS_H

#include "poold.h"

/* Take the mutex named `key` ("pool\nPOOL" or "vm\nPOOL\nVM"), made on
 * first use; NULL out of memory. */
struct poolNamedLock *poold_named_lock(poolDaemon *d, const char *key);
void poold_named_unlock(poolDaemon *d, struct poolNamedLock *l);
/* The pool's mutex. */
struct poolNamedLock *poold_pool_named_lock(poolDaemon *d, const char *pool);

#endif
