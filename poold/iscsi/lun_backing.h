/*
 * lun_backing.h: an LU's blocks, read and written straight on the PVs
 * through the LV's segment map (docs/design.md choice 5): the target host never
 * activates the LV, so its kernel never scans or claims what guests write.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef POOL_TARGET_LUN_BACKING_H
#define POOL_TARGET_LUN_BACKING_H

#include "pool-xml.h"
#include "scsi.h"

typedef struct lunBacking lunBacking;

extern const scsiBackingOps lun_backing_ops;

/* Open every PV the volume's segments use (O_RDWR | O_DIRECT) and check the
 * map: contiguous from 0, non-empty, inside each device. Errors name the
 * cause (missing device, permission, size). */
lunBacking *lun_backing_open(const poolVolDef *vol);
/* Take a new segment map after a resize; the old one stays valid for I/O in
 * flight. Only growth or identical prefixes are allowed online. */
int lun_backing_update(lunBacking *b, const poolVolDef *vol);
uint64_t lun_backing_size(lunBacking *b);
void lun_backing_close(void *b); /* scsiLuConfig.release */

#endif
