/*
 * pool_store.c: this host's pool records (see pool_store.h). Files are
 * written atomically (temp + rename) so a crash leaves the old or the new
 * record, never half of one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-util.h"
#include "pool_store.h"

int pool_store_init(const char *state_dir, char **pools_dir)
{
    POOL_AUTOFREE(char *) dir = pool_asprintf("%s/pools", state_dir);
    if (!dir)
        return -1;
    if (pool_mkdir_p(dir, 0700) < 0)
        return -1;
    *pools_dir = pool_steal_ptr(&dir);
    return 0;
}

static bool has_suffix(const char *s, const char *suffix, size_t *stem)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (ls <= lx || strcmp(s + ls - lx, suffix) != 0)
        return false;
    *stem = ls - lx;
    return true;
}

static int list_names(const char *dir, const char *suffix, char ***names)
{
    *names = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        pool_error_errno(errno, "cannot open directory %s", dir);
        return -1;
    }
    POOL_AUTOSTRV out = pool_calloc(1, sizeof(char *));
    if (!out) {
        closedir(d);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t stem;
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix, &stem))
            continue;
        POOL_AUTOFREE(char *) name = strndup(e->d_name, stem);
        if (!name || pool_strv_add(&out, name) < 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    *names = pool_steal_ptr(&out);
    return 0;
}

int pool_store_load_all(const char *dir, poolPoolDef ***defs, size_t *n, size_t *bad)
{
    POOL_AUTOSTRV names = NULL;
    *defs = NULL;
    *n = 0;
    *bad = 0;
    if (list_names(dir, ".xml", &names) < 0)
        return -1;
    size_t count = pool_strv_length(names);
    poolPoolDef **out = pool_calloc(count + 1, sizeof(*out));
    if (!out)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.xml", dir, names[i]);
        if (!path)
            goto fail;
        poolPoolDef *def = pool_pool_def_parse_file(path);
        if (!def) {
            log_error("ignoring pool record %s: %s", path, pool_error_last_message());
            (*bad)++;
            continue;
        }
        if (strcmp(def->name, names[i]) != 0) {
            log_error("ignoring pool record %s: it describes pool %s", path, def->name);
            pool_pool_def_free(def);
            (*bad)++;
            continue;
        }
        out[k++] = def;
    }
    *defs = out;
    *n = k;
    return 0;
fail:
    for (size_t i = 0; i < k; i++)
        pool_pool_def_free(out[i]);
    free(out);
    return -1;
}

int pool_store_save(const char *dir, const poolPoolDef *def)
{
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.xml", dir, def->name);
    POOL_AUTOFREE(char *) xml = pool_pool_def_format(def);
    if (!path || !xml)
        return -1;
    return pool_file_write_atomic(path, xml, strlen(xml), 0600);
}

static int unlink_if_exists(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT) {
        pool_error_errno(errno, "cannot remove %s", path);
        return -1;
    }
    return 0;
}

int pool_store_remove(const char *dir, const char *name)
{
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.xml", dir, name);
    if (!path)
        return -1;
    return unlink_if_exists(path);
}

int pool_store_journal_set(const char *dir, const char *name, const char *op)
{
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.journal", dir, name);
    if (!path)
        return -1;
    return pool_file_write_atomic(path, op, strlen(op), 0600);
}

int pool_store_journal_get(const char *dir, const char *name, char **op)
{
    *op = NULL;
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.journal", dir, name);
    if (!path)
        return -1;
    if (access(path, F_OK) < 0) {
        if (errno == ENOENT)
            return 0;
        pool_error_errno(errno, "cannot access %s", path);
        return -1;
    }
    size_t len;
    char *data = NULL;
    if (pool_file_read_all(path, 64, &data, &len) < 0)
        return -1;
    /* tolerate a trailing newline written by hand */
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' '))
        data[--len] = '\0';
    *op = data;
    return 0;
}

int pool_store_journal_clear(const char *dir, const char *name)
{
    POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.journal", dir, name);
    if (!path)
        return -1;
    return unlink_if_exists(path);
}

int pool_store_orphan_journals(const char *dir, char ***names)
{
    POOL_AUTOSTRV journals = NULL;
    *names = NULL;
    if (list_names(dir, ".journal", &journals) < 0)
        return -1;
    POOL_AUTOSTRV out = pool_calloc(1, sizeof(char *));
    if (!out)
        return -1;
    for (size_t i = 0; journals[i]; i++) {
        POOL_AUTOFREE(char *) path = pool_asprintf("%s/%s.xml", dir, journals[i]);
        if (!path)
            return -1;
        if (access(path, F_OK) < 0 && pool_strv_add(&out, journals[i]) < 0)
            return -1;
    }
    *names = pool_steal_ptr(&out);
    return 0;
}
