/*
 * bounded.h: run a blocking call that cannot be interrupted (a sanlock
 * client call, which waits on its socket for as long as the daemon does
 * not answer) on a thread of its own, and wait for it at most a given time
 * (docs/design.md section 8, "Bounded calls").
 *
 * The call runs in a detached thread. The caller waits up to timeout_ms;
 * if the call has not returned by then the caller gives up and the call
 * becomes "stuck": its thread goes on, and when the call returns at last,
 * ops->late (if any) runs on that thread to undo or log what the answer
 * did (a lease acquired after the caller gave up is released there), and
 * ops->free frees the call's argument.
 *
 * A lane groups calls to one party (one sanlock connection, one purpose).
 * While a call of a lane is stuck, every new call on that lane fails at
 * once without starting a thread: a frozen daemon makes at most one stuck
 * thread per lane and caller thread, never one per request.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_BOUNDED_H
#define POOL_BOUNDED_H

#include <pthread.h>

typedef struct {
    pthread_mutex_t lock;
    unsigned stuck; /* calls given up on that have not returned [lock] */
} poolBoundedLane;

#define POOL_BOUNDED_LANE_INIT                                                                     \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, 0                                                               \
    }

typedef struct {
    void (*run)(void *arg);  /* the blocking call: reads and writes arg only */
    void (*late)(void *arg); /* after run returned, when the caller had given up; may be NULL */
    void (*free)(void *arg); /* frees arg when the call's thread owns it */
} poolBoundedOps;

typedef enum {
    POOL_BOUNDED_DONE = 0,  /* run returned in time: arg holds its results; the caller owns arg */
    POOL_BOUNDED_TIMEOUT,   /* not returned in time: arg belongs to the call's thread now */
    POOL_BOUNDED_STUCK,     /* an earlier call of the lane is stuck: not started; caller owns arg */
    POOL_BOUNDED_NO_THREAD, /* the thread could not be started (pool_error set); caller owns arg */
} poolBoundedResult;

/* Run ops->run(arg) on its own thread, waiting at most timeout_ms
 * (0: only a call that has already returned counts as done). */
poolBoundedResult pool_bounded_call(poolBoundedLane *lane, const poolBoundedOps *ops, void *arg,
                                    unsigned timeout_ms);

/* Calls of the lane given up on that have not returned yet. */
unsigned pool_bounded_stuck(poolBoundedLane *lane);

#endif
