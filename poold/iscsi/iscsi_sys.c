// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_sys.c: the transport's small system helpers (monotonic clock,
 * mutexes for the command path), at the bottom of the iscsi_*.c layers so
 * that every file, from the connection I/O to the portal, can use them
 * without reaching up.
 */
#include <pthread.h>
#include <stdint.h>

#include "iscsi.h"
#include "pool-util.h"

uint64_t iscsi_now_ms(void)
{
    return (uint64_t)pool_monotonic_ms();
}

uint64_t iscsi_now_us(void)
{
    return (uint64_t)(pool_monotonic_ns() / 1000);
}

/* Locks of the command path are held for a few hundred nanoseconds by up to
 * a worker pool's worth of threads: spin a little before sleeping in the
 * kernel (glibc's adaptive mutex), which saves a futex wake-up per
 * contended hand-over. */
void iscsi_mutex_init_hot(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;

    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
}
