/*
 * testhook.c: crash injection for the crash-safety tests. A real power cut
 * cannot be scheduled between two lvm commands, but SIGKILL at a named step
 * has the same effect on this process: nothing after it runs, no cleanup.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool-log.h"
#include "testhook.h"

void pool_testhook(const char *point)
{
    /* POOLD_TEST_SLOW_AT=POINT:MS sleeps MS milliseconds every time POINT
     * is passed: a test that must act while a long operation runs (cancel
     * a copy, call in while it works) gets a window of a known size
     * instead of racing the machine's speed. */
    const char *slow = getenv("POOLD_TEST_SLOW_AT");
    size_t plen = strlen(point);
    if (slow && strncmp(slow, point, plen) == 0 && slow[plen] == ':') {
        long ms = strtol(slow + plen + 1, NULL, 10);
        if (ms > 0 && ms <= 10000) {
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    /* POOLD_TEST_STOP_AT freezes the process instead (SIGSTOP), holding
     * whatever it holds (the pool-metadata lease): a test then kills the
     * whole simulated host, sanlock daemon included, as a power cut would. */
    const char *stop = getenv("POOLD_TEST_STOP_AT");
    if (stop && strcmp(stop, point) == 0) {
        log_warnx("test hook: stopping myself at %s", point);
        kill(getpid(), SIGSTOP);
    }
    const char *want = getenv("POOLD_TEST_CRASH_AT");
    if (!want || strcmp(want, point) != 0)
        return;
    log_warnx("test hook: killing myself at %s", point);
    kill(getpid(), SIGKILL);
    pause();
}
