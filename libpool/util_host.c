// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util_host.c: this host's name, as poold records it in VG tags and VM
 * records and derives names from it.
 *
 * The system name is read once per process: a host that is renamed while
 * poold runs keeps the identity it started with, so the owner it wrote into
 * a record still matches when it reads the record back.
 */
#include <pthread.h>
#include <unistd.h>

#include "pool-util.h"

static char system_name[256];
static pthread_once_t system_name_once = PTHREAD_ONCE_INIT;

static void read_system_name(void)
{
    /* one byte short of the buffer: the name is NUL-terminated even when
     * gethostname truncates without saying so */
    if (gethostname(system_name, sizeof(system_name) - 1) < 0)
        system_name[0] = '\0';
}

const char *pool_host_name_system(void)
{
    pthread_once(&system_name_once, read_system_name);
    return system_name;
}

const char *pool_host_name(const char *configured)
{
    if (configured)
        return configured;
    const char *name = pool_host_name_system();
    return name[0] ? name : "unknown";
}
