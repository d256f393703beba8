/*
 * layout.h (private): how a pool is laid out on its VG, and how poold's
 * metadata is encoded in LVM tags. Pure functions: unit-tested without lvm.
 *
 * VG tags:  pd_pool:<format version>  pd_uuid:<uuid>  pd_hostids:<n>  pd_slots:<n>
 *           pd_op:create | pd_op:destroy          (operation in progress)
 *           pd_lock:sanlock pd_ioto:<s>           (cluster coordination; absent = none)
 *           pd_host:<id>:<name>                   (one per host that joined)
 *           pd_store:<url, escaped> pd_storeto:<ms> (the VM metadata store; vm_ops.c)
 * LV tags (volumes):
 *           pd_uuid:<uuid> pd_fmt:raw pd_slot:<n> pd_lun:<n> pd_ctime:<unix s>
 *           pd_op:create | pd_op:resize-<extents> | pd_op:delete | pd_op:clone
 *           pd_export:off|ro|shared                (absent: exported rw)
 *           pd_fmt:qcow2 pd_vsize:<bytes> pd_parent:<layer uuid> (a qcow2 top)
 * LV tags (snapshot and template layers, LV pdl-<uuid hex>): layer_tree.h
 * Special LVs "ids" (sanlock delta leases, one sector per host id, sized for
 * 4 KiB sectors) and "leases" (slot 0 = pool-metadata lease, slot k = the
 * volume holding pd_slot:k; 1 MiB each) carry pd_special:<name>.
 *
 * Since the extent size is a multiple of 1 MiB and LVs start on extent
 * boundaries, every 1 MiB lease slot lies inside one extent, so it has a
 * single (PV, offset) address through the leases LV's segment map.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_LAYOUT_H
#define POOL_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "pool-lvm.h"
#include "pool-xml.h"

#define POOL_TAG_POOL    "pd_pool"
#define POOL_TAG_UUID    "pd_uuid"
#define POOL_TAG_HOSTIDS "pd_hostids"
#define POOL_TAG_SLOTS   "pd_slots"
#define POOL_TAG_OP      "pd_op"
#define POOL_TAG_FMT     "pd_fmt"
#define POOL_TAG_SLOT    "pd_slot"
#define POOL_TAG_LUN     "pd_lun"
#define POOL_TAG_CTIME   "pd_ctime"
#define POOL_TAG_SPECIAL "pd_special"
#define POOL_TAG_EXPORT  "pd_export"
/* VG: pd_lunlast:<n>, the last LUN number handed to a new volume */
#define POOL_TAG_LUN_LAST "pd_lunlast"
/* VG tags of cluster coordination */
#define POOL_TAG_LOCK "pd_lock" /* pd_lock:sanlock (absent: none) */
#define POOL_TAG_IOTO "pd_ioto" /* pd_ioto:<seconds> (sanlock io_timeout) */
#define POOL_TAG_HOST "pd_host" /* pd_host:<id>:<host name>, one per joined host */
/* VG tags of the VM metadata store (vm_ops.c): the URL with every byte
 * outside LVM's tag alphabet [A-Za-z0-9_+.-/=!:&#], and '#' itself, written
 * as #xx (two lower-case hex digits); the per-call timeout in ms. */
#define POOL_TAG_STORE    "pd_store"
#define POOL_TAG_STORE_TO "pd_storeto"

/* The store URL as a tag value (malloc'd) and back (-1: not a valid
 * escape). */
char *pool_layout_store_escape(const char *url);
char *pool_layout_store_unescape(const char *value);
/* The store recorded in VG tags: *url NULL (and *timeout_ms 0) when none;
 * -1 with POOL_ERR_LVM when the tags are unreadable. */
int pool_layout_store_from_tags(char *const *tags, char **url, unsigned *timeout_ms);

#define POOL_LV_IDS    "ids"
#define POOL_LV_LEASES "leases"

#define POOL_MAX_LUN 16383

uint64_t pool_layout_ids_bytes(unsigned host_ids);
uint64_t pool_layout_leases_bytes(unsigned lease_slots);
uint64_t pool_layout_extents_for(uint64_t bytes, uint64_t extent_size);

/* LVM metadata-area sizing (docs/design.md "Metadata area"). Each PV's
 * metadata area holds the VG's metadata text twice (lvm writes the new copy
 * beside the committed one before it commits), so at most half of it holds
 * the text, which grows with every LV, segment and tag. Measured with lvm
 * 2.03: a volume with a 64-character name, one segment and all its tags at
 * their widest adds 474 bytes; a further segment about 100. */
/* per volume: the 474, a pd_export and a pd_op tag, one more segment */
#define POOL_MDA_VOLUME_BYTES 640u
/* per host id: its pd_host:<id>:<name> tag */
#define POOL_MDA_HOST_BYTES 96u
/* the VG, its PVs, the ids and leases LVs, the store tags */
#define POOL_MDA_BASE_BYTES (32u * 1024)
/* kept free by volume create, so that delete, resize, export and host join
 * still fit in a full pool */
#define POOL_MDA_RESERVE_BYTES (16u * 1024)
/* below this much room, volume delete skips its intent tag (volume_ops.c) */
#define POOL_MDA_DELETE_BYTES 1024u
#define POOL_MDA_MIN_BYTES    (64ull * 1024)
#define POOL_MDA_MAX_BYTES    (1024ull * 1024 * 1024)
/* The metadata area a pool needs so that every lease slot can hold a
 * volume: 2 x (base + reserve + hosts x host + slots x volume), rounded up
 * to whole MiB. */
uint64_t pool_layout_mda_bytes(unsigned host_ids, unsigned lease_slots);
/* Is there room for one more volume with the reserve left over, by lvm's
 * own count (vg_mda_free: how much the metadata text may still grow)? */
bool pool_layout_mda_fits_volume(const poolLvmVG *vg);

/* Convert an LV's extent segment map to a byte map using the PVs' pe_start. */
int pool_layout_segments(const poolLvmLV *lv, const poolLvmPV *pvs, size_t npvs,
                         uint64_t extent_size, poolSegment **out, size_t *n);
/* Map a byte offset of an LV to (PV, offset); the range [off, off+len) must
 * lie in one segment. */
int pool_layout_locate(const poolSegment *segs, size_t n, uint64_t off, uint64_t len,
                       const char **pv, uint64_t *pv_offset);
void pool_segments_free(poolSegment *segs, size_t n);

/* "key:value" tag into a new string. */
char *pool_layout_tag(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool pool_layout_lv_is_volume(const poolLvmLV *lv);
bool pool_layout_lv_is_special(const poolLvmLV *lv);

/* Build a volume def from an LV (tags validated; POOL_ERR_LVM if they are
 * inconsistent). Segments converted with the PV list. capacity is the
 * virtual size (pd_vsize of a qcow2 image), allocation the LV's size. A
 * layer (pd_layer, no pd_uuid) gives a def with layer set, its layer uuid,
 * no lease slot and export mode ro: an entry of poold's LUN list. */
poolVolDef *pool_layout_vol_from_lv(const char *pool, const poolLvmLV *lv, const poolLvmPV *pvs,
                                    size_t npvs, uint64_t extent_size);

/* Lowest unused lease slot in 1..max_slots among the volumes' tags; -1 with
 * POOL_ERR_NO_SPACE if all are used. */
int pool_layout_alloc_slot(const poolLvmLV *lvs, size_t n, unsigned max_slots);
/* LUN number for a new volume: the first one in 1..POOL_MAX_LUN not used by
 * the volumes' tags after the last one handed out (the VG tag pd_lunlast in
 * vg_tags, which may be NULL; without it the highest in use), wrapping
 * around; -1 with POOL_ERR_NO_SPACE if all are used. The caller records the
 * result in pd_lunlast before the lvcreate. */
int pool_layout_alloc_lun(char *const *vg_tags, const poolLvmLV *lvs, size_t n);

#endif
