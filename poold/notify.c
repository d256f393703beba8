/*
 * notify.c: the sd_notify datagram (see notify.h). Written here rather than
 * linked from libsystemd: the protocol is one sendto() and poold has no
 * other use for the library.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "pool-log.h"

int poold_notify(const char *fmt, ...)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);
    /* '/' a file system socket, '@' an abstract one (leading NUL) */
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path)) {
        log_debug("NOTIFY_SOCKET '%s' is not a socket path; not notifying", path);
        return -1;
    }
    memcpy(sa.sun_path, path, plen);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);

    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = (int)sizeof(msg) - 1;

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_debug("notify: socket: %s", strerror(errno));
        return -1;
    }
    ssize_t r;
    do
        r = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa, salen);
    while (r < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (r < 0) {
        log_debug("notify %s: %s", path, strerror(e));
        return -1;
    }
    return 1;
}
