/*
 * pool-lvm.h: the LVM driver. One module (lvm_run.c) runs `lvm`; a separate
 * pure module (lvm_report.c) parses its JSON reports and can be unit-tested on
 * captured output.
 *
 * Every command gets its own --config: devices restricted to the pool's PVs
 * (filter and global_filter), no devices file, no hints, no udev device list,
 * no autoactivation, no metadata backup/archive, and global/activation=0
 * when the host has no device-mapper (see pool_lvm_host_has_dm). Argv arrays
 * only: names are validated before they get here and passed as single args.
 *
 * Ownership: report functions allocate *out; free with the matching
 * pool_lvm_*_free. poolLvm is owned by its creator (pool_lvm_free).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_LVM_H
#define POOL_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct poolLvm poolLvm;

/* One linear segment of an LV: `count` extents starting at logical extent
 * `le_start` map onto `pv` starting at physical extent `pe_start`. */
typedef struct {
    uint64_t le_start;
    uint64_t count;
    char *pv;
    uint64_t pe_start;
} poolLvmSegment;

typedef struct {
    char *name;
    char *uuid;
    uint64_t size; /* bytes */
    char **tags;   /* NULL-terminated, never NULL */
    size_t nsegments;
    poolLvmSegment *segments; /* sorted by le_start */
} poolLvmLV;

typedef struct {
    char *name;
    char *uuid;
    uint64_t size;        /* bytes */
    uint64_t free;        /* bytes */
    uint64_t extent_size; /* bytes */
    uint64_t extent_count;
    uint64_t free_count;
    uint64_t seqno;
    uint64_t pv_count;
    uint64_t lv_count;
    char **tags;       /* NULL-terminated, never NULL */
    uint64_t mda_size; /* bytes of the smallest metadata area; 0 = not reported */
    uint64_t mda_free; /* bytes the metadata text may still grow by (vg_mda_free) */
} poolLvmVG;

typedef struct {
    char *name; /* device path */
    char *uuid;
    char *vg_name;     /* "" if not in a VG */
    uint64_t size;     /* bytes */
    uint64_t pe_start; /* byte offset of the first extent on the device */
    uint64_t pe_count;
    uint64_t pe_alloc;
} poolLvmPV;

/* --- pure parsers (lvm_report.c) --- */
/* Parse `lvm lvs --reportformat json` output produced with the fields listed
 * in POOL_LVM_LVS_FIELDS (one row per segment); rows of the same LV (by uuid)
 * are merged into one poolLvmLV with its segments. */
#define POOL_LVM_LVS_FIELDS                                                                        \
    "lv_name,lv_uuid,lv_size,lv_tags,seg_start_pe,seg_size_pe,seg_pe_ranges,segtype"
#define POOL_LVM_VGS_FIELDS                                                                        \
    "vg_name,vg_uuid,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,"       \
    "pv_count,lv_count,vg_tags,vg_mda_size,vg_mda_free"
#define POOL_LVM_PVS_FIELDS "pv_name,pv_uuid,vg_name,pv_size,pe_start,pv_pe_count,pv_pe_alloc_count"

int pool_lvm_report_parse_lvs(const char *json, poolLvmLV **out, size_t *n);
int pool_lvm_report_parse_vgs(const char *json, poolLvmVG **out, size_t *n);
int pool_lvm_report_parse_pvs(const char *json, poolLvmPV **out, size_t *n);
/* `lvs` with the VG fields on every row: one lvm command instead of vgs+lvs
 * (each lvm process costs far more than the report itself). Every row must
 * carry the same VG. *vg is the VG (free with pool_lvm_vgs_free(*vg, 1)), or
 * NULL when there are no rows: lvs prints nothing for a VG without LVs, so
 * the VG must then be read with vgs. */
#define POOL_LVM_LVS_VG_FIELDS POOL_LVM_LVS_FIELDS "," POOL_LVM_VGS_FIELDS
int pool_lvm_report_parse_lvs_vg(const char *json, poolLvmVG **vg, poolLvmLV **out, size_t *n);
/* Parse one seg_pe_ranges value "/dev/x:0-254" -> pv, first, last. */
int pool_lvm_report_parse_pe_range(const char *text, char **pv, uint64_t *first, uint64_t *last);

void pool_lvm_lvs_free(poolLvmLV *lvs, size_t n);
void pool_lvm_vgs_free(poolLvmVG *vgs, size_t n);
void pool_lvm_pvs_free(poolLvmPV *pvs, size_t n);

/* Tag helpers: find "key:value" tags. Returns the value part or NULL. */
const char *pool_lvm_tag_get(char *const *tags, const char *key);

/* --- driver (lvm_run.c) --- */
/* Does this kernel have device-mapper (/dev/mapper/control usable)? */
bool pool_lvm_host_has_dm(void);

/* lvm_binary NULL = "lvm" found in /sbin:/usr/sbin. devices: the PVs every
 * command may see (copied). activation: false forces global/activation=0. */
poolLvm *pool_lvm_new(const char *lvm_binary, char *const *devices, bool activation);
void pool_lvm_free(poolLvm *lvm);
int pool_lvm_set_devices(poolLvm *lvm, char *const *devices);
void pool_lvm_set_timeout(poolLvm *lvm, int timeout_ms); /* per command; default 120 s */

/* The --config text every command of a context runs with (lvm_run.c says
 * why each setting): the filters accept exactly `devices` plus the `extra`
 * ones not already among them; activation as for pool_lvm_new. Public so
 * that tools can run lvm exactly as poold does. Caller frees. */
char *pool_lvm_config_string(char *const *devices, char *const *extra, bool activation);

/* pvcreate refuses devices with existing signatures unless force. */
int pool_lvm_pvcreate(poolLvm *lvm, char *const *devices, bool force);
/* The same with a metadata area of at least mda_bytes (0 = lvm's default).
 * lvm grows the area up to the first extent, which it aligns to 1 MiB; an
 * area under 1 MiB gets a 64 KiB alignment instead so it stays small. */
int pool_lvm_pvcreate_mda(poolLvm *lvm, char *const *devices, bool force, uint64_t mda_bytes);
int pool_lvm_pvremove(poolLvm *lvm, char *const *devices);
int pool_lvm_vgcreate(poolLvm *lvm, const char *vg, char *const *devices, uint64_t extent_size,
                      char *const *tags);
int pool_lvm_vgremove(poolLvm *lvm, const char *vg);
int pool_lvm_vg_change_tags(poolLvm *lvm, const char *vg, char *const *add, char *const *del);
/* Linear LV of `extents` extents; tags added atomically with creation. */
int pool_lvm_lvcreate(poolLvm *lvm, const char *vg, const char *lv, uint64_t extents,
                      char *const *tags);
/* Grow (lvextend) or shrink (lvreduce -f) to exactly `extents`. */
int pool_lvm_lvresize(poolLvm *lvm, const char *vg, const char *lv, uint64_t extents);
int pool_lvm_lvremove(poolLvm *lvm, const char *vg, const char *lv);
/* lvrename VG LV NEW_NAME: one metadata commit (snapshot layers). */
int pool_lvm_lvrename(poolLvm *lvm, const char *vg, const char *lv, const char *new_name);
int pool_lvm_lv_change_tags(poolLvm *lvm, const char *vg, const char *lv, char *const *add,
                            char *const *del);

/* Reports. report_vg: -1 with POOL_ERR_NO_POOL if the VG is not found. */
int pool_lvm_report_vg(poolLvm *lvm, const char *vg, poolLvmVG **out);
int pool_lvm_report_lvs(poolLvm *lvm, const char *vg, poolLvmLV **out, size_t *n);
/* PVs among the configured devices (all of them, in a VG or not). */
int pool_lvm_report_pvs(poolLvm *lvm, poolLvmPV **out, size_t *n);

/* --- additions for fewer lvm processes per operation --- */

/* The VG and its LVs from one `lvs` (POOL_LVM_LVS_VG_FIELDS); falls back to
 * `vgs` for the VG only when it has no LVs. Errors as report_vg. */
int pool_lvm_report_lvs_vg(poolLvm *lvm, const char *vg, poolLvmVG **vg_out, poolLvmLV **out,
                           size_t *n);
/* Only the named LVs of vg (NULL-terminated list), in one `lvs`; names not
 * found are simply absent from *out (lvs exits non-zero for them, so this
 * returns -1 with POOL_ERR_NO_VOLUME when any is missing). */
int pool_lvm_report_lvs_named(poolLvm *lvm, const char *vg, char *const *names, poolLvmLV **out,
                              size_t *n);
/* pool_lvm_lvresize for a caller that already knows the LV's current extent
 * count (from a report it just read): saves the lvs that lvresize runs.
 * Should `current` be stale (lvm refuses the command), it retries once
 * through pool_lvm_lvresize, which reads the size itself. */
int pool_lvm_lvresize_from(poolLvm *lvm, const char *vg, const char *lv, uint64_t current,
                           uint64_t extents);
/* Run every lvm command with LVM_SYSTEM_DIR=dir: a private lvm.conf with
 * `global { use_aio = 0 }` and the host's lock and system-ID settings (see
 * lvm_run.c for why). pool_lvm_system_dir_prepare writes dir/lvm.conf
 * (creating dir, 0700), asking the host's lvm for the settings it carries;
 * pool_lvm_set_system_dir then only points a context at a prepared dir
 * (NULL: back to the host's /etc/lvm). Both copy dir. */
/* locking_dir: lvm's file-lock directory to use instead of the host's
 * (NULL = the host's). */
int pool_lvm_system_dir_prepare(poolLvm *lvm, const char *dir, const char *locking_dir);
int pool_lvm_set_system_dir(poolLvm *lvm, const char *dir);

#endif
