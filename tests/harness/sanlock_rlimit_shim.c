/*
 * sanlock_rlimit_shim.c: LD_PRELOAD module that lets sanlock's daemon start
 * on machines without CAP_SYS_RESOURCE (containers, CI).
 *
 * At startup `sanlock daemon` raises RLIMIT_MEMLOCK, RLIMIT_RTPRIO and
 * RLIMIT_CORE to unlimited and exits ("cannot set the limits for memlock")
 * when the kernel refuses. Tests run it with -l 0 (no mlockall) and -h 0 (no
 * real-time scheduling), so none of those limits matters; this shim makes
 * exactly those three raises report success without changing anything.
 * Every other resource, and every call that does not fail, is passed through
 * untouched: the shim only hides EPERM for limits the daemon will not use.
 *
 * Only for tests: production hosts run sanlock as root with its capabilities.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
/* meson builds with _FILE_OFFSET_BITS=64, which makes <sys/resource.h>
 * rename setrlimit to setrlimit64; this module defines both names itself. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

static bool shim_covers(int resource)
{
    return resource == RLIMIT_MEMLOCK || resource == RLIMIT_RTPRIO || resource == RLIMIT_CORE;
}

typedef int (*setrlimit_fn)(__rlimit_resource_t, const struct rlimit *);
typedef int (*setrlimit64_fn)(__rlimit_resource_t, const struct rlimit64 *);
typedef int (*prlimit_fn)(pid_t, __rlimit_resource_t, const struct rlimit *, struct rlimit *);
typedef int (*prlimit64_fn)(pid_t, __rlimit_resource_t, const struct rlimit64 *, struct rlimit64 *);

/* The real call is tried first, so a process that does have the capability
 * (or asks for a limit within its hard limit) gets the real effect. */
int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
    setrlimit_fn real = (setrlimit_fn)dlsym(RTLD_NEXT, "setrlimit");
    int rc = real ? real(resource, rlim) : (errno = ENOSYS, -1);
    if (rc < 0 && errno == EPERM && shim_covers((int)resource))
        return 0;
    return rc;
}

int setrlimit64(__rlimit_resource_t resource, const struct rlimit64 *rlim)
{
    setrlimit64_fn real = (setrlimit64_fn)dlsym(RTLD_NEXT, "setrlimit64");
    int rc = real ? real(resource, rlim) : (errno = ENOSYS, -1);
    if (rc < 0 && errno == EPERM && shim_covers((int)resource))
        return 0;
    return rc;
}

/* prlimit with new_limit == NULL only reads; only writes are excused, and
 * only for the calling process (pid 0), which is what a daemon raising its
 * own limits would use. */
int prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *new_limit,
            struct rlimit *old_limit)
{
    prlimit_fn real = (prlimit_fn)dlsym(RTLD_NEXT, "prlimit");
    int rc = real ? real(pid, resource, new_limit, old_limit) : (errno = ENOSYS, -1);
    if (rc < 0 && errno == EPERM && new_limit && pid == 0 && shim_covers((int)resource)) {
        if (old_limit)
            getrlimit(resource, old_limit);
        return 0;
    }
    return rc;
}

int prlimit64(pid_t pid, __rlimit_resource_t resource, const struct rlimit64 *new_limit,
              struct rlimit64 *old_limit)
{
    prlimit64_fn real = (prlimit64_fn)dlsym(RTLD_NEXT, "prlimit64");
    int rc = real ? real(pid, resource, new_limit, old_limit) : (errno = ENOSYS, -1);
    if (rc < 0 && errno == EPERM && new_limit && pid == 0 && shim_covers((int)resource)) {
        if (old_limit)
            getrlimit64(resource, old_limit);
        return 0;
    }
    return rc;
}
