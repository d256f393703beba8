// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util_time.c: the monotonic clock every timeout, deadline and elapsed-time
 * measurement in poold is taken from.
 *
 * CLOCK_MONOTONIC, never the wall clock: an operator or NTP stepping the
 * time must not fire a timeout early or keep one from ever firing. Values
 * count from an unspecified point (boot), so only differences mean
 * anything. Signed so that "deadline - now" may go below zero.
 */
#include <time.h>

#include "pool-util.h"

int64_t pool_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t pool_monotonic_ms(void)
{
    return pool_monotonic_ns() / 1000000;
}

double pool_monotonic_seconds(void)
{
    return (double)pool_monotonic_ns() / 1e9;
}
