/*
 * qemu_img.h: poold's qemu-img calls on qcow2 chains whose layers are LVs
 * served by poold's private NBD server (nbd_server.h). qcow2 headers never
 * name a backing file (docs/design.md, issue 11 model): every chain is
 * passed explicitly as a json: image spec built by poold_qemu_chain_json().
 *
 * Every call runs qemu-img from an argv array through pool_command_run()
 * with a time limit and an optional cancel callback (the child's process
 * group is killed); convert and commit report progress from qemu-img -p.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOLD_QEMU_IMG_H
#define POOLD_QEMU_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest chain below a top (issue 11 model). */
#define POOL_QEMU_CHAIN_MAX 64
/* Default limit of a metadata call (create, measure, check, rebase -u). */
#define POOL_QEMU_IMG_SHORT_TIMEOUT_MS 60000
/* qcow2 options of every image poold creates. */
#define POOL_QCOW2_OPTIONS "cluster_size=131072,extended_l2=on"

typedef struct {
    const char *format;      /* "raw" or "qcow2" */
    const char *socket_path; /* the NBD server's Unix socket */
    const char *export_name;
} poolQemuLayer;

typedef struct {
    int timeout_ms;                             /* <= 0: no limit */
    bool (*cancel)(void *opaque);               /* optional, polled every 200 ms */
    void (*progress)(void *opaque, double pct); /* optional: 0..100 */
    void *opaque;
} poolQemuImgRun;

typedef struct {
    uint64_t image_end_offset; /* bytes of the image file in use */
    uint64_t check_errors;
    uint64_t corruptions;
    uint64_t leaks;
} poolQemuCheck;

/* "json:{...}" for the chain layers[0] (top) .. layers[n-1] (innermost).
 * Only the innermost layer may be raw; a qcow2 innermost layer gets
 * "backing":null. n must be 1..POOL_QEMU_CHAIN_MAX+1. Caller frees; NULL
 * with an error set. */
char *poold_qemu_chain_json(const poolQemuLayer *layers, size_t n);

/* qemu-img create -f qcow2 -o POOL_QCOW2_OPTIONS FILE SIZE (no backing). */
int poold_qemu_img_create(const char *file, uint64_t size, const poolQemuImgRun *run);
/* qemu-img measure -O qcow2 --size SIZE: bytes a fully allocated image needs. */
int poold_qemu_img_measure(uint64_t size, uint64_t *required, uint64_t *fully_allocated,
                           const poolQemuImgRun *run);
/* qemu-img check of a qcow2 image (a json: spec or a file). Leaks are not
 * an error; corruptions are. */
int poold_qemu_img_check(const char *spec, poolQemuCheck *res, const poolQemuImgRun *run);
/* qemu-img convert -p src (json: spec or file) to dst. dst_spec is a
 * json: spec of an existing image (convert -n) when dst_exists, else a file
 * to create in dst_format. */
int poold_qemu_img_convert(const char *src_spec, const char *dst_spec, const char *dst_format,
                           bool dst_exists, const poolQemuImgRun *run);
/* qemu-img commit -p: the top of spec (a chain) into its backing. */
int poold_qemu_img_commit(const char *spec, const poolQemuImgRun *run);
/* Safe rebase of top_spec (a chain: the top over its old backing) onto
 * new_backing_spec (a json: chain, or NULL: onto nothing, every cluster
 * the top reads from its old backing is copied into it), then clear the
 * backing name rebase wrote (headers never keep one). top_alone_spec is
 * the top with "backing":null, for that last step.
 *
 * qemu-img writes the new backing's name into the qcow2 header, which holds
 * at most POOL_QCOW2_BACKING_NAME_MAX bytes: a json: chain of more than a
 * few layers is longer. Then the chain is served as one read-only raw
 * export by a qemu-nbd of its own (socket and pid file in work_dir, a
 * private directory such as the NBD server's), rebase is given its short
 * nbd+unix: name, and that qemu-nbd is ended by its pid afterwards. */
#define POOL_QCOW2_BACKING_NAME_MAX 1023
int poold_qemu_img_rebase(const char *top_spec, const char *top_alone_spec,
                          const char *new_backing_spec, const char *new_backing_format,
                          const char *work_dir, const poolQemuImgRun *run);
/* qemu-img rebase -u -b "": drop the header's backing name. */
int poold_qemu_img_clear_backing(const char *top_alone_spec, const poolQemuImgRun *run);

/* --- pure parsers (unit tested and fuzzed) -------------------------------- */

/* The last "(x/100%)" in buf: 1 and *pct, 0 if none. */
int poold_qemu_progress_parse(const char *buf, size_t len, double *pct);
/* The unsigned integer member key of the top-level JSON object in
 * json[0..len): 1 found, 0 absent, -1 not a well-formed object or the
 * member is not a non-negative integer that fits in 64 bits. */
int poold_qemu_json_get_u64(const char *json, size_t len, const char *key, uint64_t *v);

#endif
