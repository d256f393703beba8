/*
 * lvm_run.c: the LVM driver: run `lvm` with a per-command configuration and
 * turn its exit status and stderr into poolErrors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why exec lvm: liblvm2app is gone since lvm2 2.03 and every serious manager
 * (VDSM, Proxmox, libvirt, Cinder) runs the tools. Why a private --config on
 * every command: the VG lives on shared LUNs that other hosts change under
 * us, and the host's lvm.conf was written for the host, not for the pool. So
 * each command sees exactly the pool's devices, never anything else:
 *
 *   lvm SUB --config 'devices { filter=["a|^/dev/sdb$|", ..., "r|.*|"]
 *                               global_filter=[same] use_devicesfile=0
 *                               hints="none" obtain_device_list_from_udev=0
 *                               scan_lvs=0 }
 *                     global { activation=0 use_lvmlockd=0 use_lvmpolld=0
 *                              notify_dbus=0 }
 *                     activation { udev_sync=0 udev_rules=0 monitoring=0
 *                                  auto_activation_volume_list=[] }
 *                     backup { backup=0 archive=0 }'  ARGS...
 *
 * (activation=0 and the udev settings only when activation is off). The
 * filters are what keeps a pool command from ever reading or writing another
 * VG on the same host; the rest removes host state that is wrong for a
 * shared VG: cached hints and the devices file, udev's device list (absent
 * where there is no udev), per-host metadata backups that go stale the
 * moment another host writes, and dmeventd monitoring. The component
 * detections (md, multipath) keep their defaults: they only ever exclude a
 * device, which is the safe direction.
 *
 * Device paths are embedded in filter regexes, so they are checked against a
 * conservative alphabet and the regex metacharacters among it are put in
 * brackets ("." -> "[.]"): that form survives both lvm's config-string
 * quoting and its regex engine, where backslashes are ambiguous.
 *
 * Private LVM_SYSTEM_DIR (pool_lvm_system_dir_prepare/set_system_dir). On
 * this kernel every lvm process spends 35-55 ms of its ~50 ms in one
 * io_destroy() at exit, tearing down the libaio context it set up at start;
 * poold runs several lvm commands per request, so that teardown was most of
 * a request's latency. `global/use_aio=0` avoids it, but only when read
 * from an lvm.conf: given with --config, lvm has already set up AIO by the
 * time the --config string applies, and the io_setup/io_destroy pair still
 * happens (strace -e io_setup,io_destroy shows the
 * pair with the host /etc/lvm and none with ours; `lvs` 42 -> 9 ms). So the
 * poolManager has us write <state_dir>/lvm/lvm.conf and every command runs
 * with LVM_SYSTEM_DIR pointing there. Nothing else is gained or lost
 * silently by not reading the host's /etc/lvm/lvm.conf and lvmlocal.conf:
 *   - devices, global (activation, lvmlockd, lvmpolld, dbus), activation
 *     and backup settings that matter all come from --config above;
 *   - the host's lock directory (global/locking_dir) IS carried: lvm's file
 *     locks in that directory are what serialise our VG writes against an
 *     operator's lvm commands on this host, so both must use the same one;
 *   - the host's system ID settings (global/system_id_source,
 *     global/system_id_file, local/system_id, local/extra_system_ids) ARE
 *     carried: they decide which VGs lvm treats as foreign (refusing to
 *     change them) and what vgcreate stamps on a new VG; losing them would
 *     make lvm treat this host as having no system ID;
 *   - the values are asked of the host's own lvm (`lvmconfig --typeconfig
 *     full`), so they are exactly what it uses, defaults included; the file
 *     is then read back through LVM_SYSTEM_DIR to prove lvm parses it;
 *   - not read any more, on purpose: report/ settings (output format,
 *     units: our parser wants lvm's defaults), allocation/ policy (defaults;
 *     our LVs are linear and extent-counted), profiles and tag configs (not
 *     used by pools), activation/volume_list (poold never activates an LV:
 *     lvcreate -an), the md/multipath component detections (their defaults
 *     only ever exclude a device, the safe direction), and the metadata
 *     backup/archive and devices-file paths (all disabled by --config).
 * If the directory cannot be written or checked, poold logs a warning and
 * runs lvm with the host's configuration, as before: slower, still correct.
 *
 * lvm 2.03.16 facts this code relies on (checked on this version):
 *   - with stdin at /dev/null a prompt ("Wipe it? [y/n]") reads EOF and
 *     answers no, so a command that would need confirmation fails cleanly;
 *     `-y` is only passed where yes is what we want;
 *   - pvcreate silently re-initialises a device that is already an orphan
 *     PV (new UUID), so without force we check for that ourselves;
 *   - lvresize has no --fs option (added in 2.03.17) and never touches a
 *     file system without -r; resizing to the current size fails ("New size
 *     matches existing size"), so the current size is read first;
 *   - vgs/lvs of an unknown VG exit with 5 and print an empty report plus
 *     'Volume group "X" not found' on stderr;
 *   - with activation=0 every command prints "WARNING: Activation disabled"
 *     and, with backup=0, "This metadata update is NOT backed up": noise
 *     removed from error messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool-alloc.h"
#include "pool-command.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-lvm.h"
#include "pool-util.h"

#define LVM_DEFAULT_TIMEOUT_MS (120 * 1000)
#define LVM_MAX_OUTPUT         (64u * 1024 * 1024)
/* How much of lvm's stderr goes into an error message. */
#define LVM_ERR_MAX_LINES    4
#define LVM_ERR_MAX_LINE_LEN 300
#define LVM_MAX_NAME_LEN     127
#define LVM_MAX_TAG_LEN      1024
#define LVM_MAX_DEVICE_LEN   1024

struct poolLvm {
    char *binary;
    char **devices;  /* NULL-terminated, never NULL */
    bool activation; /* effective: requested and the host has device-mapper */
    int timeout_ms;
    char *system_env; /* "LVM_SYSTEM_DIR=<dir>" or NULL (the host's /etc/lvm) */
};

static const char *const lvm_default_paths[] = {"/sbin/lvm", "/usr/sbin/lvm"};

bool pool_lvm_host_has_dm(void)
{
    int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* --- argument checks ----------------------------------------------------- */

static int check_device(const char *dev)
{
    size_t len;

    if (dev == NULL || dev[0] != '/') {
        pool_error(POOL_ERR_INVALID_ARG, "device path '%s' is not absolute", dev ? dev : "");
        return -1;
    }
    len = strlen(dev);
    if (len > LVM_MAX_DEVICE_LEN) {
        pool_error(POOL_ERR_INVALID_ARG, "device path is too long (%zu bytes)", len);
        return -1;
    }
    for (const char *p = dev; *p; p++) {
        unsigned char c = (unsigned char)*p;

        /* '|' and '"' would end the filter or the config string; the rest
         * is kept out so every character is either plain or bracketable. */
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("/_.+:@,=%~-()", c) != NULL)) {
            pool_error(POOL_ERR_INVALID_ARG,
                       "device path '%s' contains a character lvm filters cannot carry "
                       "('%c')",
                       dev, c >= 0x20 && c < 0x7f ? c : '?');
            return -1;
        }
    }
    return 0;
}

static int check_devices(char *const *devices, bool need_one)
{
    if (need_one && (devices == NULL || devices[0] == NULL)) {
        pool_error(POOL_ERR_INVALID_ARG, "no devices given");
        return -1;
    }
    for (size_t i = 0; devices != NULL && devices[i] != NULL; i++) {
        if (check_device(devices[i]) < 0)
            return -1;
    }
    return 0;
}

/* VG and LV names reach lvm as single argv entries; the callers validate
 * them (pool_name_validate), this only guarantees lvm reads them as names. */
static int check_name(const char *what, const char *name)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > LVM_MAX_NAME_LEN || name[0] == '-' ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-") != len ||
        strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "invalid %s name '%s'", what, name ? name : "");
        return -1;
    }
    return 0;
}

static int check_tags(char *const *tags)
{
    for (size_t i = 0; tags != NULL && tags[i] != NULL; i++) {
        const char *t = tags[i];
        size_t len = strlen(t);

        if (len == 0 || len > LVM_MAX_TAG_LEN || t[0] == '-' ||
            strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-/=!:&#") !=
                len) {
            pool_error(POOL_ERR_INVALID_ARG, "invalid LVM tag '%s'", t);
            return -1;
        }
    }
    return 0;
}

/* --- the per-command configuration --------------------------------------- */

/* Append `a|^<escaped dev>$|` (quoted) to buf. */
static int append_filter_item(char **buf, const char *dev)
{
    size_t len = strlen(*buf), dlen = strlen(dev);
    char *nbuf = realloc(*buf, len + dlen * 3 + 16);
    char *p;

    if (nbuf == NULL)
        return pool_error_oom();
    *buf = nbuf;
    p = nbuf + len;
    p += sprintf(p, "\"a|^");
    for (const char *d = dev; *d; d++) {
        if (strchr(".+()", *d) != NULL) {
            *p++ = '[';
            *p++ = *d;
            *p++ = ']';
        } else {
            *p++ = *d;
        }
    }
    strcpy(p, "$|\",");
    return 0;
}

char *pool_lvm_config_string(char *const *devices, char *const *extra, bool activation)
{
    POOL_AUTOFREE(char *) filter = pool_strdup("[");
    char *cfg;

    if (filter == NULL)
        return NULL;
    for (size_t i = 0; devices != NULL && devices[i] != NULL; i++) {
        if (append_filter_item(&filter, devices[i]) < 0)
            return NULL;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        bool dup = false;

        for (size_t j = 0; devices != NULL && devices[j] != NULL && !dup; j++)
            dup = strcmp(devices[j], extra[i]) == 0;
        if (!dup && append_filter_item(&filter, extra[i]) < 0)
            return NULL;
    }
    cfg = pool_asprintf("devices { filter=%s\"r|.*|\"] global_filter=%s\"r|.*|\"] "
                        "use_devicesfile=0 hints=\"none\" obtain_device_list_from_udev=0 "
                        "scan_lvs=0 } "
                        "global { %suse_lvmlockd=0 use_lvmpolld=0 notify_dbus=0 } "
                        "activation { %smonitoring=0 auto_activation_volume_list=[] } "
                        "backup { backup=0 archive=0 }",
                        filter, filter, activation ? "" : "activation=0 ",
                        activation ? "" : "udev_sync=0 udev_rules=0 ");
    return cfg;
}

/* --- running lvm --------------------------------------------------------- */

/* Lines of lvm's stderr that say nothing about why a command failed. */
static bool stderr_line_is_noise(const char *line)
{
    static const char *const noise[] = {
        "WARNING: Activation disabled",
        "WARNING: This metadata update is NOT backed up",
        "leaked on lvm invocation",
        "not zeroed",
    };

    if (*line == '\0')
        return true;
    for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++) {
        if (strstr(line, noise[i]) != NULL)
            return true;
    }
    /* lvm of another version not knowing one of our settings */
    return strncmp(line, "Configuration setting", 21) == 0 && strstr(line, "unknown") != NULL;
}

/* The last meaningful stderr lines, "; "-joined. Caller frees. */
static char *lvm_stderr_summary(const char *err)
{
    const char *lines[LVM_ERR_MAX_LINES];
    size_t lens[LVM_ERR_MAX_LINES];
    size_t nlines = 0, total = 1;
    const char *p = err ? err : "";
    char *out, *o;

    while (*p) {
        const char *start = p, *end = strchr(p, '\n');
        char tmp[LVM_ERR_MAX_LINE_LEN + 1];
        size_t len;

        if (end == NULL)
            end = p + strlen(p);
        p = *end ? end + 1 : end;
        while (start < end && (*start == ' ' || *start == '\t'))
            start++;
        len = (size_t)(end - start);
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\r'))
            len--;
        if (len > LVM_ERR_MAX_LINE_LEN)
            len = LVM_ERR_MAX_LINE_LEN;
        memcpy(tmp, start, len);
        tmp[len] = '\0';
        if (stderr_line_is_noise(tmp))
            continue;
        if (nlines == LVM_ERR_MAX_LINES) {
            memmove(lines, lines + 1, sizeof(lines[0]) * (LVM_ERR_MAX_LINES - 1));
            memmove(lens, lens + 1, sizeof(lens[0]) * (LVM_ERR_MAX_LINES - 1));
            nlines--;
        }
        lines[nlines] = start;
        lens[nlines] = len;
        nlines++;
    }
    for (size_t i = 0; i < nlines; i++)
        total += lens[i] + 2;
    out = pool_calloc(total, 1);
    if (out == NULL)
        return NULL;
    o = out;
    for (size_t i = 0; i < nlines; i++) {
        if (i > 0) {
            memcpy(o, "; ", 2);
            o += 2;
        }
        memcpy(o, lines[i], lens[i]);
        o += lens[i];
    }
    *o = '\0';
    return out;
}

/* Map what lvm said to the closest error code; POOL_ERR_LVM otherwise. */
static poolErrorCode lvm_classify_error(const char *err)
{
    if (err == NULL)
        return POOL_ERR_LVM;
    if (strstr(err, "Volume group \"") != NULL && strstr(err, "\" not found") != NULL)
        return POOL_ERR_NO_POOL;
    if (strstr(err, "Failed to find logical volume") != NULL)
        return POOL_ERR_NO_VOLUME;
    if (strstr(err, "nsufficient free space") != NULL ||
        strstr(err, "nsufficient suitable allocatable extents") != NULL)
        return POOL_ERR_NO_SPACE;
    if (strstr(err, "already exists") != NULL)
        return POOL_ERR_EXISTS;
    if (strstr(err, "signature detected") != NULL || strstr(err, "existing signature") != NULL ||
        strstr(err, "without -ff") != NULL || strstr(err, "No device found for") != NULL ||
        strstr(err, "rejected by filter") != NULL || strstr(err, "excluded by a filter") != NULL)
        return POOL_ERR_DEVICE;
    if (strstr(err, "containing") != NULL && strstr(err, "not removed") != NULL)
        return POOL_ERR_BUSY;
    return POOL_ERR_LVM;
}

/* Run `lvm SUB --config CFG ARGS...`. 0 if lvm exited 0 (res filled, caller
 * clears it); -1 with an error set otherwise (res cleared). extra_devices
 * are allowed by the filter in addition to the context's devices. */
static int lvm_run(poolLvm *lvm, const char *sub, char *const *args, char *const *extra_devices,
                   poolCommandResult *res)
{
    POOL_AUTOSTRV argv = NULL;
    POOL_AUTOFREE(char *) cfg = NULL;
    POOL_AUTOFREE(char *) summary = NULL;
    char *env[] = {"LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C", lvm->system_env, NULL};
    poolCommand cmd = {0};

    memset(res, 0, sizeof(*res));
    /* extra_devices: the PVs a pvcreate/vgcreate is about to add */
    cfg = pool_lvm_config_string(lvm->devices, extra_devices, lvm->activation);
    if (cfg == NULL)
        return -1;
    if (pool_strv_add(&argv, lvm->binary) < 0 || pool_strv_add(&argv, sub) < 0 ||
        pool_strv_add(&argv, "--config") < 0 || pool_strv_add(&argv, cfg) < 0)
        return -1;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (pool_strv_add(&argv, args[i]) < 0)
            return -1;
    }
    cmd.argv = argv;
    cmd.env_extra = env;
    cmd.timeout_ms = lvm->timeout_ms;
    cmd.max_output = LVM_MAX_OUTPUT;
    if (pool_command_run(&cmd, res) < 0) {
        pool_error_prefix("lvm %s", sub);
        return -1;
    }
    if (res->exit_status == 0)
        return 0;

    summary = lvm_stderr_summary(res->err);
    if (summary != NULL && *summary != '\0')
        pool_error(lvm_classify_error(res->err), "lvm %s failed: %s", sub, summary);
    else
        pool_error(lvm_classify_error(res->err), "lvm %s failed with exit status %d", sub,
                   res->exit_status);
    log_debug("lvm %s exit status %d, stderr: %s", sub, res->exit_status, res->err ? res->err : "");
    pool_command_result_clear(res);
    return -1;
}

/* lvm_run for commands whose output we do not need. */
static int lvm_run_simple(poolLvm *lvm, const char *sub, char *const *args,
                          char *const *extra_devices)
{
    poolCommandResult res;
    int ret = lvm_run(lvm, sub, args, extra_devices, &res);

    pool_command_result_clear(&res);
    return ret;
}

/* Small argv builder: an allocation failure in any arg_add is remembered in
 * `failed`, which the caller checks once before running the command. */
typedef struct {
    char **v;
    bool failed;
} argList;

static void arg_add(argList *a, const char *s)
{
    if (!a->failed && pool_strv_add(&a->v, s) < 0)
        a->failed = true;
}

static void arg_addv(argList *a, const char *opt, char *const *vals)
{
    for (size_t i = 0; vals != NULL && vals[i] != NULL; i++) {
        if (opt != NULL)
            arg_add(a, opt);
        arg_add(a, vals[i]);
    }
}

static void arg_clear(argList *a)
{
    pool_strv_free(a->v);
    a->v = NULL;
}

/* --- context ------------------------------------------------------------- */

poolLvm *pool_lvm_new(const char *lvm_binary, char *const *devices, bool activation)
{
    poolLvm *lvm;

    if (check_devices(devices, false) < 0)
        return NULL;
    lvm = pool_calloc(1, sizeof(*lvm));
    if (lvm == NULL)
        return NULL;
    lvm->timeout_ms = LVM_DEFAULT_TIMEOUT_MS;
    if (lvm_binary != NULL) {
        lvm->binary = pool_strdup(lvm_binary);
    } else {
        for (size_t i = 0; i < sizeof(lvm_default_paths) / sizeof(lvm_default_paths[0]); i++) {
            if (access(lvm_default_paths[i], X_OK) == 0) {
                lvm->binary = pool_strdup(lvm_default_paths[i]);
                break;
            }
        }
        if (lvm->binary == NULL) {
            pool_error(POOL_ERR_UNSUPPORTED, "lvm not found in /sbin:/usr/sbin (install lvm2)");
            pool_lvm_free(lvm);
            return NULL;
        }
    }
    if (lvm->binary == NULL) {
        pool_lvm_free(lvm);
        return NULL;
    }
    lvm->devices = devices ? pool_strv_copy(devices) : pool_calloc(1, sizeof(char *));
    if (lvm->devices == NULL) {
        pool_lvm_free(lvm);
        return NULL;
    }
    lvm->activation = activation && pool_lvm_host_has_dm();
    if (activation && !lvm->activation)
        log_debug("lvm: no device-mapper on this host, running with activation=0");
    return lvm;
}

void pool_lvm_free(poolLvm *lvm)
{
    if (lvm == NULL)
        return;
    free(lvm->binary);
    pool_strv_free(lvm->devices);
    free(lvm->system_env);
    free(lvm);
}

int pool_lvm_set_devices(poolLvm *lvm, char *const *devices)
{
    char **copy;

    if (check_devices(devices, false) < 0)
        return -1;
    copy = devices ? pool_strv_copy(devices) : pool_calloc(1, sizeof(char *));
    if (copy == NULL)
        return -1;
    pool_strv_free(lvm->devices);
    lvm->devices = copy;
    return 0;
}

void pool_lvm_set_timeout(poolLvm *lvm, int timeout_ms)
{
    lvm->timeout_ms = timeout_ms;
}

/* --- the private LVM_SYSTEM_DIR (see the top of this file) ---------------- */

/* Host settings carried into the private lvm.conf, by section. */
static const struct {
    const char *section;
    const char *key;
    bool required;
} carried_settings[] = {
    {"global", "locking_dir", true},      {"global", "system_id_source", false},
    {"global", "system_id_file", false},  {"local", "system_id", false},
    {"local", "extra_system_ids", false},
};
#define NCARRIED (sizeof(carried_settings) / sizeof(carried_settings[0]))

/* Run `lvm lvmconfig --typeconfig TYPE node...` with env_dir as
 * LVM_SYSTEM_DIR (NULL: inherited, the host's view). Output: one
 * `key=value` line per node that has a value. */
static int lvmconfig_run(const poolLvm *lvm, const char *env_dir, const char *type,
                         char *const *nodes, poolCommandResult *res)
{
    POOL_AUTOSTRV argv = NULL;
    POOL_AUTOFREE(char *) env_dir_entry = NULL;
    char *env[] = {"LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C", NULL, NULL};
    poolCommand cmd = {0};

    memset(res, 0, sizeof(*res));
    if (env_dir != NULL) {
        env_dir_entry = pool_asprintf("LVM_SYSTEM_DIR=%s", env_dir);
        if (env_dir_entry == NULL)
            return -1;
        env[2] = env_dir_entry;
    }
    if (pool_strv_add(&argv, lvm->binary) < 0 || pool_strv_add(&argv, "lvmconfig") < 0 ||
        pool_strv_add(&argv, "--typeconfig") < 0 || pool_strv_add(&argv, type) < 0)
        return -1;
    for (size_t i = 0; nodes[i] != NULL; i++) {
        if (pool_strv_add(&argv, nodes[i]) < 0)
            return -1;
    }
    cmd.argv = argv;
    cmd.env_extra = env;
    cmd.timeout_ms = lvm->timeout_ms;
    cmd.max_output = 64 * 1024;
    if (pool_command_run(&cmd, res) < 0) {
        pool_error_prefix("lvm lvmconfig");
        return -1;
    }
    if (res->exit_status != 0) {
        POOL_AUTOFREE(char *) summary = lvm_stderr_summary(res->err);

        pool_error(POOL_ERR_LVM, "lvm lvmconfig failed: %s",
                   summary && *summary ? summary : "no message");
        pool_command_result_clear(res);
        return -1;
    }
    return 0;
}

/* The value lvmconfig printed for key ("key=value" line), or NULL; the
 * value is copied verbatim (it is lvm's own config syntax). */
static char *lvmconfig_value(const char *out, const char *key)
{
    size_t klen = strlen(key);

    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);

        while (len > 0 && (*line == ' ' || *line == '\t')) {
            line++;
            len--;
        }
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=')
            return pool_asprintf("%.*s", (int)(len - klen - 1), line + klen + 1);
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* The text of the private lvm.conf: use_aio=0 plus the host's values of
 * carried_settings; *host_locking gets the host's locking_dir. */
static char *system_dir_config(const poolLvm *lvm, char **host_locking, const char *override)
{
    char *nodes[NCARRIED + 1];
    char *values[NCARRIED] = {0};
    poolCommandResult res;
    char *text = NULL;

    for (size_t i = 0; i < NCARRIED; i++) {
        nodes[i] = pool_asprintf("%s/%s", carried_settings[i].section, carried_settings[i].key);
        if (nodes[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(nodes[j]);
            return NULL;
        }
    }
    nodes[NCARRIED] = NULL;
    if (lvmconfig_run(lvm, NULL, "full", nodes, &res) < 0)
        goto out;
    for (size_t i = 0; i < NCARRIED; i++) {
        values[i] = lvmconfig_value(res.out, carried_settings[i].key);
        if (values[i] == NULL && carried_settings[i].required) {
            pool_error(POOL_ERR_LVM, "lvm lvmconfig did not report %s", nodes[i]);
            goto out;
        }
    }
    if (override) {
        /* poold.conf's lvm_locking_dir: lvm's flock files live there */
        if (pool_mkdir_p(override, 0700) < 0)
            goto out;
        free(values[0]);
        values[0] = pool_asprintf("\"%s\"", override);
        if (values[0] == NULL)
            goto out;
    }
    *host_locking = pool_strdup(values[0]); /* carried_settings[0] */
    if (*host_locking == NULL)
        goto out;
    text = pool_asprintf("# Written by poold: its private LVM_SYSTEM_DIR (libpool/lvm_run.c).\n"
                         "# use_aio = 0 spares every lvm command a 35-55 ms io_destroy() at\n"
                         "# exit; it works only from a file, not from --config. The other\n"
                         "# values are the host's own (lvmconfig --typeconfig full), carried\n"
                         "# so locking and system IDs are the same as for any lvm command.\n"
                         "# Device, activation and backup settings come from each command's\n"
                         "# --config. Rewritten at every poold start; do not edit.\n"
                         "global {\n"
                         "    use_aio = 0\n");
    for (int pass = 0; text != NULL && pass < 2; pass++) {
        const char *section = pass == 0 ? "global" : "local";
        char *next;

        if (pass == 1) {
            next = pool_asprintf("%s}\nlocal {\n", text);
            free(text);
            text = next;
        }
        for (size_t i = 0; text != NULL && i < NCARRIED; i++) {
            if (values[i] == NULL || strcmp(carried_settings[i].section, section) != 0)
                continue;
            next = pool_asprintf("%s    %s = %s\n", text, carried_settings[i].key, values[i]);
            free(text);
            text = next;
        }
    }
    if (text != NULL) {
        char *next = pool_asprintf("%s}\n", text);

        free(text);
        text = next;
    }

out:
    pool_command_result_clear(&res);
    for (size_t i = 0; i < NCARRIED; i++) {
        free(nodes[i]);
        free(values[i]);
    }
    return text;
}

/* Prove lvm reads dir/lvm.conf as meant: use_aio is 0 and locking_dir is
 * the host's, read through LVM_SYSTEM_DIR (a file lvm cannot parse would
 * otherwise silently give defaults, or fail every command). */
static int system_dir_check(const poolLvm *lvm, const char *dir, const char *host_locking_dir)
{
    char *nodes[] = {"global/use_aio", "global/locking_dir", NULL};
    POOL_AUTOFREE(char *) aio = NULL;
    POOL_AUTOFREE(char *) locking = NULL;
    poolCommandResult res;

    if (lvmconfig_run(lvm, dir, "full", nodes, &res) < 0)
        return -1;
    aio = lvmconfig_value(res.out, "use_aio");
    locking = lvmconfig_value(res.out, "locking_dir");
    pool_command_result_clear(&res);
    if (aio == NULL || strcmp(aio, "0") != 0 || locking == NULL ||
        strcmp(locking, host_locking_dir) != 0) {
        pool_error(POOL_ERR_LVM,
                   "lvm does not read %s/lvm.conf as written (use_aio=%s, locking_dir=%s)", dir,
                   aio ? aio : "?", locking ? locking : "?");
        return -1;
    }
    return 0;
}

int pool_lvm_system_dir_prepare(poolLvm *lvm, const char *dir, const char *locking_dir)
{
    POOL_AUTOFREE(char *) text = NULL;
    POOL_AUTOFREE(char *) path = NULL;
    POOL_AUTOFREE(char *) host_locking = NULL;

    if (dir == NULL || dir[0] != '/') {
        pool_error(POOL_ERR_INVALID_ARG, "lvm system directory must be an absolute path");
        return -1;
    }
    /* Asked with the inherited environment: the host's view, even when
     * this context already uses a private directory. */
    text = system_dir_config(lvm, &host_locking, locking_dir);
    if (text == NULL)
        return -1;
    path = pool_asprintf("%s/lvm.conf", dir);
    if (path == NULL)
        return -1;
    if (pool_mkdir_p(dir, 0700) < 0 || pool_file_write_atomic(path, text, strlen(text), 0644) < 0)
        return -1;
    if (system_dir_check(lvm, dir, host_locking) < 0)
        return -1;
    return pool_lvm_set_system_dir(lvm, dir);
}

int pool_lvm_set_system_dir(poolLvm *lvm, const char *dir)
{
    char *entry = NULL;

    if (dir != NULL) {
        entry = pool_asprintf("LVM_SYSTEM_DIR=%s", dir);
        if (entry == NULL)
            return -1;
    }
    free(lvm->system_env);
    lvm->system_env = entry;
    return 0;
}

/* --- PVs and VGs --------------------------------------------------------- */

/* Without force, refuse devices that already carry a PV label: lvm itself
 * would quietly re-initialise an orphan PV (new UUID), losing whatever
 * identity it had. Other signatures (file systems, partition tables) are
 * refused by lvm (its wipe prompt reads EOF from /dev/null). */
static int pvcreate_check_not_pv(poolLvm *lvm, char *const *devices)
{
    poolLvm probe = *lvm;
    poolLvmPV *pvs = NULL;
    size_t n = 0;

    probe.devices = (char **)devices;
    if (pool_lvm_report_pvs(&probe, &pvs, &n) < 0)
        return -1;
    if (n > 0) {
        if (pvs[0].vg_name[0] != '\0')
            pool_error(POOL_ERR_DEVICE, "%s is already an LVM physical volume of volume group %s",
                       pvs[0].name, pvs[0].vg_name);
        else
            pool_error(POOL_ERR_DEVICE,
                       "%s is already an LVM physical volume; use force to re-initialise it",
                       pvs[0].name);
        pool_lvm_pvs_free(pvs, n);
        return -1;
    }
    return 0;
}

int pool_lvm_pvcreate(poolLvm *lvm, char *const *devices, bool force)
{
    return pool_lvm_pvcreate_mda(lvm, devices, force, 0);
}

int pool_lvm_pvcreate_mda(poolLvm *lvm, char *const *devices, bool force, uint64_t mda_bytes)
{
    argList a = {0};
    char mda[32];
    int ret;

    if (check_devices(devices, true) < 0)
        return -1;
    if (!force && pvcreate_check_not_pv(lvm, devices) < 0)
        return -1;
    if (force) {
        /* -ff: also re-initialise a PV that belongs to a VG; -y: wipe
         * other signatures without asking. */
        arg_add(&a, "-ff");
        arg_add(&a, "-y");
    }
    if (mda_bytes > 0) {
        /* in KiB, rounded up: lvm takes no byte unit here */
        snprintf(mda, sizeof(mda), "%" PRIu64 "k", (mda_bytes + 1023) / 1024);
        arg_add(&a, "--metadatasize");
        arg_add(&a, mda);
        /* lvm extends the area up to the first extent, aligned to 1 MiB by
         * default: a smaller area needs a smaller alignment to stay small */
        if (mda_bytes < 1024 * 1024) {
            arg_add(&a, "--dataalignment");
            arg_add(&a, "64k");
        }
    }
    arg_addv(&a, NULL, devices);
    if (a.failed) {
        arg_clear(&a);
        return -1;
    }
    ret = lvm_run_simple(lvm, "pvcreate", a.v, devices);
    arg_clear(&a);
    return ret;
}

int pool_lvm_pvremove(poolLvm *lvm, char *const *devices)
{
    argList a = {0};
    int ret;

    if (check_devices(devices, true) < 0)
        return -1;
    arg_addv(&a, NULL, devices);
    if (a.failed) {
        arg_clear(&a);
        return -1;
    }
    ret = lvm_run_simple(lvm, "pvremove", a.v, devices);
    arg_clear(&a);
    return ret;
}

int pool_lvm_vgcreate(poolLvm *lvm, const char *vg, char *const *devices, uint64_t extent_size,
                      char *const *tags)
{
    argList a = {0};
    char size[32];
    int ret;

    if (check_name("volume group", vg) < 0 || check_devices(devices, true) < 0 ||
        check_tags(tags) < 0)
        return -1;
    /* Never autoactivated, on any host: activation is poold's decision. */
    arg_add(&a, "--setautoactivation");
    arg_add(&a, "n");
    if (extent_size > 0) {
        snprintf(size, sizeof(size), "%" PRIu64 "b", extent_size);
        arg_add(&a, "-s");
        arg_add(&a, size);
    }
    arg_addv(&a, "--addtag", tags);
    arg_add(&a, vg);
    arg_addv(&a, NULL, devices);
    if (a.failed) {
        arg_clear(&a);
        return -1;
    }
    ret = lvm_run_simple(lvm, "vgcreate", a.v, devices);
    arg_clear(&a);
    return ret;
}

int pool_lvm_vgremove(poolLvm *lvm, const char *vg)
{
    char *args[] = {(char *)vg, NULL};

    if (check_name("volume group", vg) < 0)
        return -1;
    /* No -f: a VG that still has LVs is refused (the prompt reads EOF). */
    return lvm_run_simple(lvm, "vgremove", args, NULL);
}

/* vgchange/lvchange --addtag ... --deltag ... TARGET */
static int change_tags(poolLvm *lvm, const char *sub, const char *target, char *const *add,
                       char *const *del)
{
    argList a = {0};
    int ret;

    if (check_tags(add) < 0 || check_tags(del) < 0)
        return -1;
    if ((add == NULL || add[0] == NULL) && (del == NULL || del[0] == NULL))
        return 0;
    arg_addv(&a, "--addtag", add);
    arg_addv(&a, "--deltag", del);
    arg_add(&a, target);
    if (a.failed) {
        arg_clear(&a);
        return -1;
    }
    ret = lvm_run_simple(lvm, sub, a.v, NULL);
    arg_clear(&a);
    return ret;
}

int pool_lvm_vg_change_tags(poolLvm *lvm, const char *vg, char *const *add, char *const *del)
{
    if (check_name("volume group", vg) < 0)
        return -1;
    return change_tags(lvm, "vgchange", vg, add, del);
}

/* --- LVs ----------------------------------------------------------------- */

static char *lv_path(const char *vg, const char *lv)
{
    if (check_name("volume group", vg) < 0 || check_name("logical volume", lv) < 0)
        return NULL;
    return pool_asprintf("%s/%s", vg, lv);
}

int pool_lvm_lvcreate(poolLvm *lvm, const char *vg, const char *lv, uint64_t extents,
                      char *const *tags)
{
    argList a = {0};
    char count[32];
    int ret;

    if (check_name("volume group", vg) < 0 || check_name("logical volume", lv) < 0 ||
        check_tags(tags) < 0)
        return -1;
    if (extents == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "cannot create LV %s/%s with 0 extents", vg, lv);
        return -1;
    }
    snprintf(count, sizeof(count), "%" PRIu64, extents);
    /* -an: never activated here; -Zn -Wn: no zeroing or signature wiping
     * (both need an active LV); -y: no questions. */
    arg_add(&a, "-an");
    arg_add(&a, "-Zn");
    arg_add(&a, "-Wn");
    arg_add(&a, "-y");
    arg_add(&a, "--type");
    arg_add(&a, "linear");
    arg_add(&a, "-l");
    arg_add(&a, count);
    arg_add(&a, "-n");
    arg_add(&a, lv);
    arg_addv(&a, "--addtag", tags);
    arg_add(&a, vg);
    if (a.failed) {
        arg_clear(&a);
        return -1;
    }
    ret = lvm_run_simple(lvm, "lvcreate", a.v, NULL);
    arg_clear(&a);
    return ret;
}

int pool_lvm_lvresize(poolLvm *lvm, const char *vg, const char *lv, uint64_t extents)
{
    POOL_AUTOFREE(char *) path = lv_path(vg, lv);
    poolCommandResult res;
    poolLvmLV *lvs = NULL;
    size_t n = 0;
    uint64_t current = 0;
    char count[32];
    char *report_args[] = {"--reportformat",    "json", "--units", "b", "--nosuffix", "-o",
                           POOL_LVM_LVS_FIELDS, path,   NULL};
    char *extend_args[] = {"-l", count, path, NULL};
    char *reduce_args[] = {"-f", "-l", count, path, NULL};

    if (path == NULL)
        return -1;
    if (extents == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "cannot resize LV %s to 0 extents", path);
        return -1;
    }
    if (lvm_run(lvm, "lvs", report_args, NULL, &res) < 0)
        return -1;
    if (pool_lvm_report_parse_lvs(res.out, &lvs, &n) < 0) {
        pool_command_result_clear(&res);
        pool_error_prefix("lvm lvs %s", path);
        return -1;
    }
    pool_command_result_clear(&res);
    if (n != 1) {
        pool_lvm_lvs_free(lvs, n);
        pool_error(POOL_ERR_NO_VOLUME, "logical volume %s not found", path);
        return -1;
    }
    for (size_t i = 0; i < lvs[0].nsegments; i++)
        current += lvs[0].segments[i].count;
    pool_lvm_lvs_free(lvs, n);

    snprintf(count, sizeof(count), "%" PRIu64, extents);
    if (extents == current) {
        log_debug("lvm: %s already has %" PRIu64 " extents", path, extents);
        return 0;
    }
    if (extents > current)
        return lvm_run_simple(lvm, "lvextend", extend_args, NULL);
    return lvm_run_simple(lvm, "lvreduce", reduce_args, NULL);
}

int pool_lvm_lvresize_from(poolLvm *lvm, const char *vg, const char *lv, uint64_t current,
                           uint64_t extents)
{
    POOL_AUTOFREE(char *) path = lv_path(vg, lv);
    char count[32];
    char *extend_args[] = {"-l", count, path, NULL};
    char *reduce_args[] = {"-f", "-l", count, path, NULL};
    int ret;

    if (path == NULL)
        return -1;
    if (extents == 0) {
        pool_error(POOL_ERR_INVALID_ARG, "cannot resize LV %s to 0 extents", path);
        return -1;
    }
    if (extents == current) {
        log_debug("lvm: %s already has %" PRIu64 " extents", path, extents);
        return 0;
    }
    snprintf(count, sizeof(count), "%" PRIu64, extents);
    /* The direction only picks the command: lvextend never shrinks and
     * lvreduce never grows, so a stale `current` makes lvm refuse, never
     * resize the wrong way. Then the slow path reads the size and decides
     * again (it also finishes an LV that is already at `extents`). */
    if (extents > current)
        ret = lvm_run_simple(lvm, "lvextend", extend_args, NULL);
    else
        ret = lvm_run_simple(lvm, "lvreduce", reduce_args, NULL);
    if (ret == 0)
        return 0;
    if (pool_error_last_code() == POOL_ERR_NO_SPACE || pool_error_last_code() == POOL_ERR_NO_VOLUME)
        return -1; /* a fresh size would not change lvm's answer */
    log_debug("lvm: resizing %s from %" PRIu64 " extents failed (%s); reading its size", path,
              current, pool_error_last_message());
    pool_error_reset();
    return pool_lvm_lvresize(lvm, vg, lv, extents);
}

int pool_lvm_lvremove(poolLvm *lvm, const char *vg, const char *lv)
{
    POOL_AUTOFREE(char *) path = lv_path(vg, lv);
    char *args[] = {"-y", path, NULL};

    if (path == NULL)
        return -1;
    return lvm_run_simple(lvm, "lvremove", args, NULL);
}

int pool_lvm_lvrename(poolLvm *lvm, const char *vg, const char *lv, const char *new_name)
{
    char *args[] = {(char *)vg, (char *)lv, (char *)new_name, NULL};
    return lvm_run_simple(lvm, "lvrename", args, NULL);
}

int pool_lvm_lv_change_tags(poolLvm *lvm, const char *vg, const char *lv, char *const *add,
                            char *const *del)
{
    POOL_AUTOFREE(char *) path = lv_path(vg, lv);

    if (path == NULL)
        return -1;
    return change_tags(lvm, "lvchange", path, add, del);
}

/* --- reports ------------------------------------------------------------- */

/* Run SUB --reportformat json --units b --nosuffix -o FIELDS [target]. */
static int lvm_report(poolLvm *lvm, const char *sub, const char *fields, const char *target,
                      poolCommandResult *res)
{
    char *args[] = {"--reportformat", "json",         "--units", "b", "--nosuffix", "-o",
                    (char *)fields,   (char *)target, NULL};

    return lvm_run(lvm, sub, args, NULL, res);
}

int pool_lvm_report_vg(poolLvm *lvm, const char *vg, poolLvmVG **out)
{
    poolCommandResult res;
    poolLvmVG *vgs = NULL;
    size_t n = 0;

    *out = NULL;
    if (check_name("volume group", vg) < 0)
        return -1;
    if (lvm_report(lvm, "vgs", POOL_LVM_VGS_FIELDS, vg, &res) < 0) {
        if (pool_error_last_code() == POOL_ERR_NO_POOL)
            pool_error(POOL_ERR_NO_POOL, "volume group %s not found", vg);
        return -1;
    }
    if (pool_lvm_report_parse_vgs(res.out, &vgs, &n) < 0) {
        pool_command_result_clear(&res);
        pool_error_prefix("lvm vgs %s", vg);
        return -1;
    }
    pool_command_result_clear(&res);
    if (n == 0 || strcmp(vgs[0].name, vg) != 0) {
        pool_lvm_vgs_free(vgs, n);
        pool_error(POOL_ERR_NO_POOL, "volume group %s not found", vg);
        return -1;
    }
    if (n > 1) {
        pool_lvm_vgs_free(vgs, n);
        pool_error(POOL_ERR_LVM, "lvm vgs %s: %zu volume groups with that name", vg, n);
        return -1;
    }
    *out = vgs;
    return 0;
}

int pool_lvm_report_lvs(poolLvm *lvm, const char *vg, poolLvmLV **out, size_t *n)
{
    poolCommandResult res;

    *out = NULL;
    *n = 0;
    if (check_name("volume group", vg) < 0)
        return -1;
    if (lvm_report(lvm, "lvs", POOL_LVM_LVS_FIELDS, vg, &res) < 0) {
        if (pool_error_last_code() == POOL_ERR_NO_POOL)
            pool_error(POOL_ERR_NO_POOL, "volume group %s not found", vg);
        return -1;
    }
    if (pool_lvm_report_parse_lvs(res.out, out, n) < 0) {
        pool_command_result_clear(&res);
        pool_error_prefix("lvm lvs %s", vg);
        return -1;
    }
    pool_command_result_clear(&res);
    return 0;
}

/* A VG with a PV on a device outside the filter (another pool's LUN, or
 * one that vanished) is reported with a "[unknown]" row for it. That PV is
 * not among our devices, so it is dropped (the VG's pv_count still tells). */
static void drop_missing_pvs(poolLvmPV *pvs, size_t *n)
{
    size_t kept = 0;

    for (size_t i = 0; i < *n; i++) {
        if (strcmp(pvs[i].name, "[unknown]") == 0) {
            log_debug("lvm: PV %s of VG %s is on none of the configured devices", pvs[i].uuid,
                      pvs[i].vg_name);
            free(pvs[i].name);
            free(pvs[i].uuid);
            free(pvs[i].vg_name);
            continue;
        }
        pvs[kept++] = pvs[i];
    }
    *n = kept;
}

int pool_lvm_report_pvs(poolLvm *lvm, poolLvmPV **out, size_t *n)
{
    poolCommandResult res;

    *out = NULL;
    *n = 0;
    if (lvm->devices[0] == NULL)
        return 0; /* the filter would reject everything anyway */
    if (lvm_report(lvm, "pvs", POOL_LVM_PVS_FIELDS, NULL, &res) < 0)
        return -1;
    if (pool_lvm_report_parse_pvs(res.out, out, n) < 0) {
        pool_command_result_clear(&res);
        pool_error_prefix("lvm pvs");
        return -1;
    }
    pool_command_result_clear(&res);
    drop_missing_pvs(*out, n);
    if (*n == 0) {
        free(*out);
        *out = NULL;
    }
    return 0;
}

int pool_lvm_report_lvs_vg(poolLvm *lvm, const char *vg, poolLvmVG **vg_out, poolLvmLV **out,
                           size_t *n)
{
    poolCommandResult res;
    poolLvmVG *found = NULL;

    *vg_out = NULL;
    *out = NULL;
    *n = 0;
    if (check_name("volume group", vg) < 0)
        return -1;
    if (lvm_report(lvm, "lvs", POOL_LVM_LVS_VG_FIELDS, vg, &res) < 0) {
        if (pool_error_last_code() == POOL_ERR_NO_POOL)
            pool_error(POOL_ERR_NO_POOL, "volume group %s not found", vg);
        return -1;
    }
    if (pool_lvm_report_parse_lvs_vg(res.out, &found, out, n) < 0) {
        pool_command_result_clear(&res);
        pool_error_prefix("lvm lvs %s", vg);
        return -1;
    }
    pool_command_result_clear(&res);
    if (found == NULL) /* no LVs, so no rows to carry the VG fields */
        return pool_lvm_report_vg(lvm, vg, vg_out);
    if (strcmp(found->name, vg) != 0) {
        pool_error(POOL_ERR_LVM, "lvm lvs %s reported volume group %s", vg, found->name);
        pool_lvm_vgs_free(found, 1);
        pool_lvm_lvs_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    *vg_out = found;
    return 0;
}

int pool_lvm_report_lvs_named(poolLvm *lvm, const char *vg, char *const *names, poolLvmLV **out,
                              size_t *n)
{
    argList a = {0};
    poolCommandResult res;
    int ret;

    *out = NULL;
    *n = 0;
    if (names == NULL || names[0] == NULL) {
        pool_error(POOL_ERR_INVALID_ARG, "no logical volumes named");
        return -1;
    }
    arg_add(&a, "--reportformat");
    arg_add(&a, "json");
    arg_add(&a, "--units");
    arg_add(&a, "b");
    arg_add(&a, "--nosuffix");
    arg_add(&a, "-o");
    arg_add(&a, POOL_LVM_LVS_FIELDS);
    for (size_t i = 0; names[i] != NULL; i++) {
        char *path = lv_path(vg, names[i]);

        if (path == NULL) {
            arg_clear(&a);
            return -1;
        }
        arg_add(&a, path);
        free(path);
    }
    if (a.failed) {
        arg_clear(&a);
        return -1;
    }
    ret = lvm_run(lvm, "lvs", a.v, NULL, &res);
    arg_clear(&a);
    if (ret < 0)
        return -1;
    ret = pool_lvm_report_parse_lvs(res.out, out, n);
    pool_command_result_clear(&res);
    if (ret < 0)
        pool_error_prefix("lvm lvs %s", vg);
    return ret;
}
