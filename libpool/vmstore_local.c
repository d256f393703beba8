/*
 * vmstore_local.c: the metadata store's file primitives (vmstore_backend.h) on a
 * directory reached with POSIX calls — a local directory (tests, single
 * host) or a share the administrator already mounted (kernel NFS, CephFS,
 * GlusterFS...). All calls are relative to an O_DIRECTORY descriptor of the
 * store directory (openat/linkat/unlinkat/fstatat), so a rename of a parent
 * cannot redirect them.
 *
 * create = openat(O_CREAT|O_EXCL|O_NOFOLLOW) + write + fsync + close, then
 * fsync of the directory after link/unlink so a committed generation
 * survives a power cut. link = linkat(2), which never replaces an existing
 * name (EEXIST), also on NFS mounts.
 *
 * There is no timeout here: a hung kernel mount hangs the caller, which is
 * why docs/design.md choice 7 prefers nfs:// URLs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-util.h"

typedef struct {
    poolMetaBackend base;
    int dirfd;
} localBackend;

void pool_meta_dirent_clear(poolMetaDirent *ent)
{
    if (!ent)
        return;
    free(ent->name);
    memset(ent, 0, sizeof(*ent));
}

void pool_meta_dirents_free(poolMetaDirent *ents, size_t n)
{
    if (!ents)
        return;
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
}

static void stat_to_dirent(const struct stat *st, poolMetaDirent *out)
{
    out->is_file = S_ISREG(st->st_mode);
    out->size = (uint64_t)st->st_size;
    out->nlink = (uint64_t)st->st_nlink;
    out->mtime.sec = st->st_mtim.tv_sec;
    out->mtime.nsec = st->st_mtim.tv_nsec;
    out->ctime.sec = st->st_ctim.tv_sec;
    out->ctime.nsec = st->st_ctim.tv_nsec;
}

static int local_sync_dir(localBackend *lb)
{
    if (fsync(lb->dirfd) < 0 && errno != EINVAL) {
        pool_error_errno(errno, "cannot sync directory '%s'", lb->base.where);
        return -1;
    }
    return 0;
}

static int local_list(poolMetaBackend *be, poolMetaDirent **ents, size_t *n)
{
    localBackend *lb = (localBackend *)be;
    poolMetaDirent *list = NULL;
    size_t count = 0;
    DIR *dir = NULL;
    int fd;

    *ents = NULL;
    *n = 0;
    /* A fresh descriptor: readdir on lb->dirfd would share its offset. */
    fd = openat(lb->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !(dir = fdopendir(fd))) {
        pool_error_errno(errno, "cannot open directory '%s'", be->where);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (;;) {
        struct dirent *de;
        struct stat st;
        poolMetaDirent *e;

        errno = 0;
        if (!(de = readdir(dir))) {
            if (errno) {
                pool_error_errno(errno, "cannot read directory '%s'", be->where);
                goto error;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(lb->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue; /* removed since readdir */
            pool_error_errno(errno, "cannot stat '%s/%s'", be->where, de->d_name);
            goto error;
        }
        if (pool_realloc_n(&list, count + 1, sizeof(*list)) < 0)
            goto error;
        e = &list[count];
        memset(e, 0, sizeof(*e));
        if (!(e->name = pool_strdup(de->d_name))) {
            pool_error_oom();
            goto error;
        }
        count++;
        stat_to_dirent(&st, e);
    }
    closedir(dir);
    *ents = list;
    *n = count;
    return 0;
error:
    closedir(dir);
    pool_meta_dirents_free(list, count);
    return -1;
}

static int local_read(poolMetaBackend *be, const char *name, size_t max, char **data, size_t *len)
{
    localBackend *lb = (localBackend *)be;
    POOL_AUTOCLOSE fd = -1;
    POOL_AUTOFREE(char *) buf = NULL;
    struct stat st;
    size_t used = 0;

    *data = NULL;
    *len = 0;
    fd = openat(lb->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        pool_error_errno(errno, "cannot open '%s/%s'", be->where, name);
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        pool_error_errno(errno, "cannot stat '%s/%s'", be->where, name);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pool_error(POOL_ERR_SYSTEM, "'%s/%s' is not a regular file", be->where, name);
        return -1;
    }
    if ((uint64_t)st.st_size > max) {
        pool_error(POOL_ERR_SYSTEM, "'%s/%s' is too large (%lld bytes, limit %zu)", be->where, name,
                   (long long)st.st_size, max);
        return -1;
    }
    if (!(buf = malloc(max + 2))) /* +1 detects growth, +1 for the NUL */
        return pool_error_oom();
    for (;;) {
        ssize_t r = read(fd, buf + used, max + 1 - used);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            pool_error_errno(errno, "cannot read '%s/%s'", be->where, name);
            return -1;
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (used > max) {
            pool_error(POOL_ERR_SYSTEM, "'%s/%s' is too large (limit %zu bytes)", be->where, name,
                       max);
            return -1;
        }
    }
    buf[used] = '\0';
    *data = pool_steal_ptr(&buf);
    *len = used;
    return 0;
}

static int local_create(poolMetaBackend *be, const char *name, const void *data, size_t len)
{
    localBackend *lb = (localBackend *)be;
    int fd;
    int err;

    fd = openat(lb->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = errno;
        if (err == EEXIST) {
            pool_error(POOL_ERR_EXISTS, "cannot create '%s/%s': file exists", be->where, name);
            return -1;
        }
        pool_error_errno(err, "cannot create '%s/%s'", be->where, name);
        return -1;
    }
    if (pool_write_all(fd, data, len) < 0) {
        pool_error_errno(errno, "cannot write '%s/%s'", be->where, name);
        goto fail;
    }
    if (fsync(fd) < 0) {
        pool_error_errno(errno, "cannot sync '%s/%s'", be->where, name);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        pool_error_errno(errno, "cannot close '%s/%s'", be->where, name);
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlinkat(lb->dirfd, name, 0);
    return -1;
}

static int local_link(poolMetaBackend *be, const char *oldname, const char *newname)
{
    localBackend *lb = (localBackend *)be;

    if (linkat(lb->dirfd, oldname, lb->dirfd, newname, 0) < 0) {
        if (errno == EEXIST) {
            pool_error(POOL_ERR_EXISTS, "cannot link '%s/%s': '%s' exists", be->where, oldname,
                       newname);
            return -1;
        }
        pool_error_errno(errno, "cannot link '%s/%s' to '%s'", be->where, oldname, newname);
        return -1;
    }
    return local_sync_dir(lb);
}

static int local_stat(poolMetaBackend *be, const char *name, poolMetaDirent *out)
{
    localBackend *lb = (localBackend *)be;
    struct stat st;

    memset(out, 0, sizeof(*out));
    if (fstatat(lb->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 1;
        pool_error_errno(errno, "cannot stat '%s/%s'", be->where, name);
        return -1;
    }
    stat_to_dirent(&st, out);
    return 0;
}

static int local_unlink(poolMetaBackend *be, const char *name)
{
    localBackend *lb = (localBackend *)be;

    if (unlinkat(lb->dirfd, name, 0) < 0) {
        if (errno == ENOENT)
            return 1;
        pool_error_errno(errno, "cannot remove '%s/%s'", be->where, name);
        return -1;
    }
    return local_sync_dir(lb) < 0 ? -1 : 0;
}

static void local_free(poolMetaBackend *be)
{
    localBackend *lb = (localBackend *)be;

    if (!lb)
        return;
    if (lb->dirfd >= 0)
        close(lb->dirfd);
    free(lb->base.where);
    free(lb);
}

static const poolMetaBackendOps local_ops = {
    .kind = "local",
    .list = local_list,
    .read = local_read,
    .create = local_create,
    .link = local_link,
    .stat = local_stat,
    .unlink = local_unlink,
    .free = local_free,
};

poolMetaBackend *pool_meta_local_open(const char *dir)
{
    localBackend *lb;

    if (!dir || dir[0] != '/') {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store directory '%s' is not an absolute path",
                   dir ? dir : "");
        return NULL;
    }
    if (pool_mkdir_p(dir, 0755) < 0)
        return NULL;
    if (!(lb = pool_calloc(1, sizeof(*lb))))
        return NULL;
    lb->base.ops = &local_ops;
    lb->dirfd = -1;
    if (!(lb->base.where = pool_strdup(dir))) {
        pool_error_oom();
        local_free(&lb->base);
        return NULL;
    }
    lb->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lb->dirfd < 0) {
        pool_error_errno(errno, "cannot open metadata store directory '%s'", dir);
        local_free(&lb->base);
        return NULL;
    }
    return &lb->base;
}
