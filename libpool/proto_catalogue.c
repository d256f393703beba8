/*
 * proto_catalogue.c: the one list of control-protocol operations. For each
 * op: the parameters poold accepts and, for poolctl, the command words, the
 * form of each argument, the check poolctl makes before sending it, and the
 * help text. poolctl's usage, parsing and requests come from here, and
 * poold refuses any parameter not listed here, so the two cannot drift
 * apart.
 *
 * The order is the order of `poolctl --help`. `pool set-store` sits with
 * the VM operations: it names the store that holds the pool's VM records.
 *
 * A new operation is an entry here, its handler in one of poold's handler
 * tables (poold/handlers_*.c) and its printer in one of poolctl's printer
 * tables (cli/cmd_*.c). Both programs refuse to start, and the unit tests
 * test_catalogue and test_dispatch fail, while one of the three is missing.
 * An op without command words (group NULL) is served by poold but not
 * offered by poolctl; a param of kind POOL_ARG_PROTOCOL is accepted by
 * poold but has no poolctl argument.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>

#include "pool-error.h"
#include "pool-proto.h"

/* Arguments many operations share, so their help reads the same everywhere. */
#define ARG_POOL                                                                                   \
    {                                                                                              \
        POOL_ARG_POSITIONAL, "POOL", "pool", POOL_CHECK_POOL_NAME, "pool name"                     \
    }
#define ARG_POOL_NAME                                                                              \
    {                                                                                              \
        POOL_ARG_POSITIONAL, "NAME", "name", POOL_CHECK_POOL_NAME, "pool name"                     \
    }
#define ARG_VOLUME_NAME                                                                            \
    {                                                                                              \
        POOL_ARG_POSITIONAL, "NAME", "name", POOL_CHECK_VOLUME_NAME, "volume name"                 \
    }
#define ARG_LEASE_VOLUME                                                                           \
    {                                                                                              \
        POOL_ARG_POSITIONAL, "VOLUME", "volume", POOL_CHECK_VOLUME_NAME, "volume name"             \
    }
#define ARG_VM_NAME                                                                                \
    {                                                                                              \
        POOL_ARG_POSITIONAL, "NAME", "name", POOL_CHECK_NONE, "VM name"                            \
    }
#define ARG_END                                                                                    \
    {                                                                                              \
        0                                                                                          \
    }

/* pool */

static const poolOpArg pool_create_args[] = {
    {POOL_ARG_POSITIONAL, "NAME", "name", POOL_CHECK_POOL_NAME, "pool name (also the VG name)"},
    {POOL_ARG_POSITIONAL_MULTI, "DEVICE", "device", POOL_CHECK_PATH, "block devices to use as PVs"},
    {POOL_ARG_OPTION, "extent-size", "extent-size", POOL_CHECK_SIZE,
     "LVM extent size, a power of two multiple of 1M (default 4M)"},
    {POOL_ARG_OPTION, "host-ids", "host-ids", POOL_CHECK_UINT,
     "number of host ids in the lockspace, 1..2000 (default 2000)"},
    {POOL_ARG_OPTION, "lease-slots", "lease-slots", POOL_CHECK_UINT,
     "number of 1 MiB volume lease slots (default 2000)"},
    {POOL_ARG_OPTION, "metadata-size", "metadata-size", POOL_CHECK_SIZE,
     "LVM metadata area of each PV, 64K..1G (default: room for a volume in every lease slot, "
     "3M for 2000 slots)"},
    {POOL_ARG_OPTION, "locking", "locking", POOL_CHECK_NONE,
     "sanlock (several hosts; the default unless poold.conf says otherwise) or none (one host)"},
    {POOL_ARG_OPTION, "io-timeout", "io-timeout", POOL_CHECK_UINT,
     "sanlock io_timeout in seconds, 1..300 (default 10): a host is dead ~8x this + 60 s "
     "after it stops renewing"},
    {POOL_ARG_OPTION, "host-id", "host-id", POOL_CHECK_HOST_ID,
     "join the new pool's lockspace right away with this host id"},
    {POOL_ARG_FLAG, "force", "force", POOL_CHECK_NONE, "overwrite devices that hold data"},
    ARG_END,
};
static const poolOpArg pool_import_args[] = {
    {POOL_ARG_POSITIONAL, "NAME", "name", POOL_CHECK_POOL_NAME, "pool name"},
    {POOL_ARG_POSITIONAL_MULTI, "DEVICE", "device", POOL_CHECK_PATH, "all of the pool's PVs"},
    {POOL_ARG_OPTION, "host-id", "host-id", POOL_CHECK_HOST_ID,
     "join the pool's lockspace right away with this host id"},
    ARG_END,
};
static const poolOpArg pool_destroy_args[] = {
    ARG_POOL_NAME,
    {POOL_ARG_FLAG, "force", "force", POOL_CHECK_NONE,
     "destroy even if volumes exist (deletes them)"},
    ARG_END,
};
static const poolOpArg pool_name_args[] = {ARG_POOL_NAME, ARG_END};
static const poolOpArg no_args[] = {ARG_END};

/* volume */

static const poolOpArg volume_create_args[] = {
    ARG_POOL,
    ARG_VOLUME_NAME,
    {POOL_ARG_POSITIONAL, "SIZE", "size", POOL_CHECK_SIZE,
     "size: a number with unit K, M, G, T or P (binary; KiB/GB spellings too; no unit = bytes), "
     "rounded up to whole extents"},
    ARG_END,
};
static const poolOpArg volume_resize_args[] = {
    ARG_POOL,
    ARG_VOLUME_NAME,
    {POOL_ARG_POSITIONAL, "SIZE", "size", POOL_CHECK_SIZE, "new size (absolute)"},
    {POOL_ARG_FLAG, "allow-shrink", "allow-shrink", POOL_CHECK_NONE,
     "allow a smaller size (destroys data beyond the new end)"},
    {POOL_ARG_FLAG, "force", "force", POOL_CHECK_NONE,
     "shrink even while another host holds the volume's lease"},
    ARG_END,
};
static const poolOpArg volume_args[] = {ARG_POOL, ARG_VOLUME_NAME, ARG_END};
static const poolOpArg volume_delete_args[] = {
    ARG_POOL,
    ARG_VOLUME_NAME,
    {POOL_ARG_FLAG, "force", "force", POOL_CHECK_NONE,
     "end the sessions of this host's target that use the volume's LUN instead of refusing"},
    ARG_END,
};
/* snapshot: POOL VOLUME [NAME] */
static const poolOpArg snapshot_list_args[] = {ARG_POOL, ARG_LEASE_VOLUME, ARG_END};
static const poolOpArg snapshot_args[] = {
    ARG_POOL,
    ARG_LEASE_VOLUME,
    {POOL_ARG_POSITIONAL, "NAME", "name", POOL_CHECK_VOLUME_NAME,
     "snapshot name (the rules of volume names; unique per volume)"},
    ARG_END,
};
static const poolOpArg volume_export_args[] = {
    ARG_POOL,
    ARG_VOLUME_NAME,
    {POOL_ARG_OPTION, "mode", "mode", POOL_CHECK_NONE,
     "rw (default: writes only from the host holding the volume's lease), ro, or shared "
     "(writes from every host)"},
    ARG_END,
};
static const poolOpArg pool_args[] = {ARG_POOL, ARG_END};

/* host and lease */

static const poolOpArg host_join_args[] = {
    ARG_POOL,
    {POOL_ARG_OPTION_REQUIRED, "host-id", "host-id", POOL_CHECK_HOST_ID,
     "this host's id in the pool, 1..the pool's host ids (unique per host)"},
    {POOL_ARG_OPTION, "wait", "wait", POOL_CHECK_SECONDS,
     "seconds to wait for sanlock (default 120; joining takes a few io_timeouts)"},
    ARG_END,
};
static const poolOpArg lease_acquire_args[] = {
    ARG_POOL,
    ARG_LEASE_VOLUME,
    {POOL_ARG_OPTION, "wait", "wait", POOL_CHECK_SECONDS,
     "seconds to keep trying while another host holds it (default 0: try once)"},
    ARG_END,
};
static const poolOpArg lease_args[] = {ARG_POOL, ARG_LEASE_VOLUME, ARG_END};

/* target */

static const poolOpArg target_acl_args[] = {
    ARG_POOL,
    {POOL_ARG_POSITIONAL, "INITIATOR", "initiator", POOL_CHECK_ISCSI_NAME,
     "initiator name: iqn.YYYY-MM.reversed.domain[:id], eui.<16 hex> or naa.<16|32 hex>"},
    ARG_END,
};
static const poolOpArg target_chap_set_args[] = {
    ARG_POOL,
    {POOL_ARG_OPTION_REQUIRED, "user", "user", POOL_CHECK_CHAP_USER,
     "CHAP name initiators log in with"},
    {POOL_ARG_OPTION_REQUIRED, "secret-file", "secret", POOL_CHECK_SECRET_FILE,
     "file holding the initiators' CHAP secret (12..255 printable characters)"},
    {POOL_ARG_OPTION, "mutual-user", "mutual-user", POOL_CHECK_CHAP_USER,
     "mutual CHAP: the name the target answers with"},
    {POOL_ARG_OPTION, "mutual-secret-file", "mutual-secret", POOL_CHECK_SECRET_FILE,
     "mutual CHAP: file holding the target's secret (must differ from the other)"},
    ARG_END,
};

/* VMs and their metadata store */

static const poolOpArg pool_set_store_args[] = {
    ARG_POOL,
    {POOL_ARG_POSITIONAL, "URL", "url", POOL_CHECK_STORE_URL,
     "nfs://server[:port]/export/path or an absolute directory path (a mounted share)"},
    {POOL_ARG_OPTION, "timeout-ms", "timeout-ms", POOL_CHECK_TIMEOUT_MS,
     "bound on every NFS call, 100..600000 ms (default 5000)"},
    ARG_END,
};
static const poolOpArg vm_define_args[] = {
    ARG_POOL,
    {POOL_ARG_POSITIONAL, "FILE", "xml", POOL_CHECK_XML_FILE,
     "libvirt domain XML; every <disk> type='volume' with <source pool='POOL' volume='V'/>"},
    ARG_END,
};
static const poolOpArg vm_args[] = {ARG_POOL, ARG_VM_NAME, ARG_END};
static const poolOpArg vm_start_args[] = {
    ARG_POOL,
    ARG_VM_NAME,
    {POOL_ARG_FLAG, "takeover", "takeover", POOL_CHECK_NONE,
     "start it although its record names another host (that host is down for good)"},
    ARG_END,
};
static const poolOpArg vm_stop_args[] = {
    ARG_POOL,
    ARG_VM_NAME,
    {POOL_ARG_FLAG, "force", "force", POOL_CHECK_NONE,
     "pull the plug (destroy) instead of asking the guest to shut down"},
    {POOL_ARG_OPTION, "wait", "wait", POOL_CHECK_SECONDS,
     "how long to wait for the guest to shut down, 0..600 s (default 60)"},
    /* poolctl asks again while the guest shuts down, without a second ACPI
     * request; wait is poolctl's own (poold only checks it) */
    {POOL_ARG_PROTOCOL, NULL, "shutdown", POOL_CHECK_NONE,
     "no: only report the state, do not ask the guest to shut down (again)"},
    ARG_END,
};

/* clones and jobs */

static const poolOpArg volume_clone_args[] = {
    ARG_POOL,
    {POOL_ARG_POSITIONAL, "SOURCE", "source", POOL_CHECK_VOLUME_NAME,
     "the volume to copy (shut down whatever writes it first)"},
    ARG_VOLUME_NAME,
    {POOL_ARG_FLAG, "no-wait", "no-wait", POOL_CHECK_NONE,
     "print the job id and return instead of waiting for the copy"},
    {POOL_ARG_FLAG, "linked", "linked", POOL_CHECK_NONE,
     "a linked clone: a new qcow2 top over the snapshot's layer, instant, no copy"},
    {POOL_ARG_OPTION, "snapshot", "snapshot", POOL_CHECK_VOLUME_NAME,
     "the snapshot of SOURCE to clone (with --linked)"},
    ARG_END,
};
static const poolOpArg job_list_args[] = {
    {POOL_ARG_OPTION, "pool", "pool", POOL_CHECK_POOL_NAME, "only the jobs of this pool"},
    ARG_END,
};
static const poolOpArg job_id_args[] = {
    {POOL_ARG_POSITIONAL, "ID", "id", POOL_CHECK_UINT, "job id (job list shows them)"},
    ARG_END,
};
static const poolOpArg job_wait_args[] = {
    {POOL_ARG_POSITIONAL, "ID", "id", POOL_CHECK_UINT, "job id (job list shows them)"},
    {POOL_ARG_OPTION, "wait", "wait", POOL_CHECK_SECONDS,
     "give up after this many seconds, 0..600 (default: until the job ends); the job goes on"},
    ARG_END,
};

const poolOpSpec pool_catalogue[] = {
    {"pool-create", "pool", "create", "create a pool on block devices", pool_create_args,
     POOL_OP_LOCK_GLOBAL},
    {"pool-import", "pool", "import", "adopt an existing pool's volume group on this host",
     pool_import_args, POOL_OP_LOCK_GLOBAL},
    {"pool-destroy", "pool", "destroy", "destroy a pool and release its devices", pool_destroy_args,
     POOL_OP_LOCK_GLOBAL},
    {"pool-list", "pool", "list", "list the pools of this host", no_args, POOL_OP_LOCK_READ},
    {"pool-info", "pool", "info", "show a pool's definition, usage and layout", pool_name_args,
     POOL_OP_LOCK_READ},

    {"volume-create", "volume", "create", "create a volume", volume_create_args, POOL_OP_LOCK_POOL},
    {"volume-resize", "volume", "resize", "grow (or, with --allow-shrink, shrink) a volume",
     volume_resize_args, POOL_OP_LOCK_POOL},
    {"volume-delete", "volume", "delete", "delete a volume and its data", volume_delete_args,
     POOL_OP_LOCK_POOL},
    {"volume-list", "volume", "list", "list a pool's volumes", pool_args, POOL_OP_LOCK_READ},
    {"volume-info", "volume", "info", "show a volume, its lease slot and segment map", volume_args,
     POOL_OP_LOCK_READ},
    {"volume-export", "volume", "export",
     "offer a volume to initiators (again), or change how its LUN takes writes", volume_export_args,
     POOL_OP_LOCK_POOL},
    {"volume-unexport", "volume", "unexport",
     "take a volume's LUN away from initiators (data kept)", volume_args, POOL_OP_LOCK_POOL},

    {"host-join", "host", "join", "join a sanlock pool's lockspace with a host id", host_join_args,
     POOL_OP_LOCK_POOL},
    {"host-leave", "host", "leave", "leave a pool's lockspace (no leases may be held)", pool_args,
     POOL_OP_LOCK_GLOBAL},
    {"host-list", "host", "list", "every host of a pool and sanlock's view of it", pool_args,
     POOL_OP_LOCK_READ},

    {"snapshot-create", "snapshot", "create",
     "freeze a volume nobody writes as a read-only snapshot; the volume goes on in a new qcow2 "
     "layer",
     snapshot_args, POOL_OP_LOCK_POOL},
    {"snapshot-list", "snapshot", "list", "list a volume's snapshots as a tree", snapshot_list_args,
     POOL_OP_LOCK_READ},
    {"snapshot-info", "snapshot", "info", "show one snapshot of a volume", snapshot_args,
     POOL_OP_LOCK_READ},
    {"snapshot-revert", "snapshot", "revert",
     "return a volume nobody writes to a snapshot (its data since then is discarded)",
     snapshot_args, POOL_OP_LOCK_POOL},
    {"snapshot-delete", "snapshot", "delete",
     "delete a snapshot; merged first into what is based on it (a job: waits for it, showing "
     "progress)",
     snapshot_args, POOL_OP_LOCK_POOL},

    {"lease-acquire", "lease", "acquire",
     "take a volume's lease on this host (its LUN then takes writes here)", lease_acquire_args,
     POOL_OP_LOCK_POOL},
    {"lease-release", "lease", "release", "give back a volume's lease held by poold here",
     lease_args, POOL_OP_LOCK_POOL},
    {"lease-status", "lease", "status", "who holds a volume's lease", lease_args,
     POOL_OP_LOCK_READ},

    {"target-info", "target", "info", "show a pool's target: IQN, portals, ACL, CHAP mode",
     pool_args, POOL_OP_LOCK_READ},
    {"target-acl-add", "target", "acl add", "allow an initiator (the ACL is off while empty)",
     target_acl_args, POOL_OP_LOCK_POOL},
    {"target-acl-remove", "target", "acl remove", "take an initiator off the ACL", target_acl_args,
     POOL_OP_LOCK_POOL},
    {"target-chap-set", "target", "chap set", "require CHAP (one-way, or mutual)",
     target_chap_set_args, POOL_OP_LOCK_POOL},
    {"target-chap-clear", "target", "chap clear", "stop requiring CHAP", pool_args,
     POOL_OP_LOCK_POOL},

    {"daemon-version", "daemon", "version", "show the running poold's version and pid", no_args,
     POOL_OP_LOCK_NONE},
    {"daemon-shutdown", "daemon", "stop", "ask poold to shut down cleanly", no_args,
     POOL_OP_LOCK_NONE},

    {"pool-set-store", "pool", "set-store", "name the pool's VM metadata store (must be reachable)",
     pool_set_store_args, POOL_OP_LOCK_POOL},
    {"vm-define", "vm", "define", "define a VM from a domain XML file (disks: pool volumes)",
     vm_define_args, POOL_OP_LOCK_VM},
    {"vm-undefine", "vm", "undefine", "remove a VM's definition (not while it runs)", vm_args,
     POOL_OP_LOCK_VM},
    {"vm-list", "vm", "list", "every VM of a pool, with the host it runs on", pool_args,
     POOL_OP_LOCK_READ},
    {"vm-show", "vm", "show", "a VM's record and domain XML", vm_args, POOL_OP_LOCK_READ},
    {"vm-start", "vm", "start",
     "start a VM on this host (takes its volume leases through libvirt's sanlock lock manager)",
     vm_start_args, POOL_OP_LOCK_VM},
    {"vm-stop", "vm", "stop", "shut a VM down on this host (or --force), release its leases",
     vm_stop_args, POOL_OP_LOCK_VM},

    {"volume-clone", "volume", "clone",
     "copy a volume into a new one, as a job (waits for it, showing progress)", volume_clone_args,
     POOL_OP_LOCK_POOL},
    {"job-list", "job", "list", "the jobs running or ended in the last 10 minutes", job_list_args,
     POOL_OP_LOCK_READ},
    {"job-info", "job", "info", "one job: state, progress, error", job_id_args, POOL_OP_LOCK_READ},
    {"job-wait", "job", "wait", "wait for a job to end, showing progress", job_wait_args,
     POOL_OP_LOCK_READ},
    {"job-cancel", "job", "cancel", "stop a job: a clone is undone, a merge is finished later",
     job_id_args, POOL_OP_LOCK_READ},
    {0},
};

const poolOpSpec *pool_catalogue_find(const char *op)
{
    for (const poolOpSpec *s = pool_catalogue; op && s->op; s++)
        if (strcmp(s->op, op) == 0)
            return s;
    return NULL;
}

const poolOpArg *pool_catalogue_arg(const poolOpSpec *spec, const char *param)
{
    for (const poolOpArg *a = spec->args; param && a->param; a++)
        if (strcmp(a->param, param) == 0)
            return a;
    return NULL;
}

int pool_catalogue_check_locks(void)
{
    for (const poolOpSpec *s = pool_catalogue; s->op; s++)
        if (s->lock < POOL_OP_LOCK_NONE || s->lock > POOL_OP_LOCK_GLOBAL) {
            pool_error(POOL_ERR_INTERNAL, "catalogue: operation '%s' has no lock class", s->op);
            return -1;
        }
    return 0;
}

int pool_catalogue_check_table(const char *const *names, size_t n, bool cli_only, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const poolOpSpec *s = pool_catalogue_find(names[i]);
        if (!s || (cli_only && !s->group)) {
            pool_error(POOL_ERR_INTERNAL, "%s: '%s' is not an operation of the catalogue%s", what,
                       names[i] ? names[i] : "(null)", s ? " with a poolctl command" : "");
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0) {
                pool_error(POOL_ERR_INTERNAL, "%s: '%s' is there twice", what, names[i]);
                return -1;
            }
    }
    for (const poolOpSpec *s = pool_catalogue; s->op; s++) {
        if (cli_only && !s->group)
            continue;
        bool found = false;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(names[i], s->op) == 0;
        if (!found) {
            pool_error(POOL_ERR_INTERNAL, "%s: nothing for operation '%s' of the catalogue", what,
                       s->op);
            return -1;
        }
    }
    return 0;
}
