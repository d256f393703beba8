/*
 * snapshot_ops.h (private): the qcow2 steps of snapshot_ops.c that a
 * linked clone (volume_clone_linked.c) shares, so its new top is made
 * exactly as a snapshot's new top is.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_SNAPSHOT_OPS_H
#define POOL_SNAPSHOT_OPS_H

#include <stdint.h>

#include "manager.h"

/* Bytes a fully allocated qcow2 image of vsize needs (qemu-img measure).
 * 0, or -1 with the error set. */
int pool_snap_measure_qcow2(uint64_t vsize, uint64_t *bytes);
/* Format LV lvname as an empty qcow2 image of vsize, no backing file
 * (qemu-img create into a temp file, written at the LV's offset 0).
 * 0, or -1 with the error set. */
int pool_snap_format_qcow2(poolEntry *e, const char *lvname, uint64_t vsize);

#endif
