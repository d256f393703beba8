/*
 * handlers_daemon.c: requests about poold itself (version, shutdown).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <unistd.h>

#include "pool-error.h"
#include "poold.h"

static int daemon_version(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    xmlNodePtr n = xmlNewChild(reply, NULL, BAD_CAST "result", NULL);
    if (!n)
        return pool_error_oom();
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    xmlNewProp(n, BAD_CAST "type", BAD_CAST "version");
    xmlNewProp(n, BAD_CAST "version", BAD_CAST POOL_VERSION);
    xmlNewProp(n, BAD_CAST "protocol", BAD_CAST "1");
    xmlNewProp(n, BAD_CAST "pid", BAD_CAST pid);
    return 0;
}

static int daemon_shutdown(poolDaemon *d, const poolRequest *req, xmlNodePtr reply)
{
    /* The reply goes out first; the loop exits after this request. */
    d->shutdown_requested = true;
    return 0;
}

const poolDispatchEntry poold_daemon_handlers[] = {
    {"daemon-version", daemon_version},
    {"daemon-shutdown", daemon_shutdown},
    {NULL, NULL},
};
