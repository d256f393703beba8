// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * util_file.c: UUIDs and the file primitives the state directory and the
 * metadata store build on.
 *
 * Atomic write protocol (a reader sees the old file or the new one, never a
 * torn mix, even across a power cut):
 *   1. create "<dir>/.<name>.XXXXXX" with O_EXCL (mkostemp) in the target's
 *      own directory, so the rename below never crosses a file system;
 *   2. write everything, fchmod to the requested mode, fsync the file;
 *   3. rename over the target (atomic replace);
 *   4. fsync the directory so the rename itself is durable.
 * Any failure before step 3 unlinks the temporary file; the target is then
 * untouched. Temporary names start with '.' so directory scans that skip
 * hidden files never pick up a half-written record.
 *
 * UUIDs come from getrandom(): it blocks only until the kernel pool is
 * initialised at boot and needs no open file descriptor.
 *
 * Every failure is reported with the path and strerror, and errno is left
 * describing the failure (pool_config_load checks for ENOENT).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"

static int fill_random(void *buf, size_t len)
{
    unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "cannot get random bytes");
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pool_uuid_generate(char buf[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t o = 0;

    if (fill_random(b, sizeof(b)) < 0)
        return -1;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hex[b[i] >> 4];
        buf[o++] = hex[b[i] & 0x0f];
    }
    buf[o] = '\0';
    return 0;
}

/* Any RFC 4122 textual UUID (8-4-4-4-12 hex digits, either case); the version
 * is not checked because UUIDs also come from other tools. */
bool pool_uuid_is_valid(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (pool_hex_value(c) < 0) {
            return false;
        }
    }
    return s[36] == '\0';
}

int pool_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Split path into a directory to create the temp file in and a base name. */
static int split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');

    if (!slash) {
        *dir = pool_strdup(".");
        *base = path;
    } else if (slash == path) {
        *dir = pool_strdup("/");
        *base = slash + 1;
    } else {
        *dir = strndup(path, (size_t)(slash - path));
        if (!*dir)
            pool_error_oom();
        *base = slash + 1;
    }
    return *dir ? 0 : -1;
}

static int fsync_dir(const char *dir)
{
    POOL_AUTOCLOSE dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0) {
        pool_error_errno(errno, "cannot open directory '%s'", dir);
        return -1;
    }
    if (fsync(dfd) < 0 && errno != EINVAL) {
        pool_error_errno(errno, "cannot sync directory '%s'", dir);
        return -1;
    }
    return 0;
}

int pool_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    POOL_AUTOFREE(char *) dir = NULL;
    POOL_AUTOFREE(char *) tmp = NULL;
    const char *base;
    int fd;
    int saved_errno;

    if (!path || !*path || (!data && len > 0)) {
        pool_error(POOL_ERR_INVALID_ARG, "atomic write: missing path or data");
        return -1;
    }
    if (split_path(path, &dir, &base) < 0)
        return -1;
    if (!*base) {
        pool_error(POOL_ERR_INVALID_ARG, "cannot write '%s': not a file name", path);
        return -1;
    }
    if (!(tmp = pool_asprintf("%s/.%s.XXXXXX", dir, base)))
        return -1;

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        pool_error_errno(errno, "cannot create temporary file for '%s'", path);
        return -1;
    }
    if (pool_write_all(fd, data, len) < 0) {
        pool_error_errno(errno, "cannot write '%s'", tmp);
        goto fail;
    }
    if (fchmod(fd, mode & 07777) < 0) {
        pool_error_errno(errno, "cannot set mode of '%s'", tmp);
        goto fail;
    }
    if (fsync(fd) < 0) {
        pool_error_errno(errno, "cannot sync '%s'", tmp);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        pool_error_errno(errno, "cannot close '%s'", tmp);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        pool_error_errno(errno, "cannot rename '%s' to '%s'", tmp, path);
        goto fail;
    }
    return fsync_dir(dir);

fail:
    saved_errno = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = saved_errno;
    return -1;
}

int pool_file_read_all(const char *path, size_t max, char **data, size_t *len)
{
    POOL_AUTOCLOSE fd = -1;
    POOL_AUTOFREE(char *) buf = NULL;
    size_t cap = 0;
    size_t used = 0;
    struct stat st;

    if (!path || !data) {
        pool_error(POOL_ERR_INVALID_ARG, "read file: missing path");
        return -1;
    }
    *data = NULL;
    if (len)
        *len = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        pool_error_errno(errno, "cannot open '%s'", path);
        return -1;
    }
    /* The size is only a hint: /proc and pipes report 0, files may grow. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        cap = (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
    if (cap < 4096)
        cap = 4096;

    for (;;) {
        ssize_t n;

        if (used == cap || !buf) {
            size_t ncap = buf ? (cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2) : cap;

            if (pool_realloc_n(&buf, ncap, 1) < 0)
                return -1;
            cap = ncap;
        }
        n = read(fd, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "cannot read '%s'", path);
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            pool_error_errno(EFBIG, "cannot read '%s': larger than %zu bytes", path, max);
            errno = EFBIG;
            return -1;
        }
    }
    /* Room for the terminating NUL. */
    if (used == cap && pool_realloc_n(&buf, cap + 1, 1) < 0)
        return -1;
    buf[used] = '\0';
    if (len)
        *len = used;
    *data = pool_steal_ptr(&buf);
    return 0;
}

int pool_mkdir_p(const char *path, unsigned mode)
{
    POOL_AUTOFREE(char *) copy = NULL;
    struct stat st;
    char *p;

    if (!path || !*path) {
        pool_error(POOL_ERR_INVALID_ARG, "mkdir: empty path");
        return -1;
    }
    if (!(copy = pool_strdup(path)))
        return -1;

    /* Create each prefix ending before a '/', then the whole path. */
    for (p = copy + 1;; p++) {
        bool last = (*p == '\0');

        if (*p != '/' && !last)
            continue;
        if (p > copy && p[-1] == '/') {
            /* "a//b" or trailing '/': nothing new to create here. */
            if (last)
                break;
            continue;
        }
        *p = '\0';
        if (mkdir(copy, mode & 07777) < 0) {
            int err = errno;

            if (err != EEXIST) {
                pool_error_errno(err, "cannot create directory '%s'", copy);
                errno = err;
                return -1;
            }
            if (stat(copy, &st) < 0 || !S_ISDIR(st.st_mode)) {
                pool_error_errno(ENOTDIR, "cannot create directory '%s'", copy);
                errno = ENOTDIR;
                return -1;
            }
        }
        if (last)
            break;
        *p = '/';
    }
    return 0;
}
