/*
 * pool-xml.h: the pool and volume documents (parse, format, round-trip).
 * Schemas: xml-schemas/pool.rng, xml-schemas/volume.rng.
 *
 * Sizes are always bytes in the documents (unit="bytes" attribute, other units
 * accepted on input: B, KiB, MiB, GiB, TiB). Parsers validate every field and
 * report POOL_ERR_XML with the element name on error; unknown elements are
 * rejected (an operator typo must not be silently ignored).
 *
 * Ownership: *_parse_* allocate the def; free with pool_pool_def_free /
 * pool_vol_def_free. *_format return a malloc'd NUL-terminated string.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_XML_H
#define POOL_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>

#include "pool-alloc.h"

/* Where a byte range of an LV lives on disk. */
typedef struct {
    uint64_t lv_offset; /* bytes from the start of the LV */
    uint64_t length;    /* bytes */
    char *pv;           /* PV device path */
    uint64_t pv_offset; /* bytes from the start of the PV device */
} poolSegment;

typedef struct {
    char *name; /* also the VG name */
    char uuid[37];
    unsigned format_version;
    char **devices;       /* PV paths, NULL-terminated, >= 1 */
    uint64_t extent_size; /* bytes; multiple of 1 MiB */
    unsigned host_ids;    /* sanlock host ids, 1..2000 */
    unsigned lease_slots; /* volume lease slots (1 MiB each), >= 1 */
    /* Cluster coordination (<locking type= io-timeout=/>, optional: absent
     * means "none", which is what pools made before it existed are). */
    int locking;         /* POOL_LOCKING_NONE or POOL_LOCKING_SANLOCK */
    unsigned io_timeout; /* sanlock io_timeout of the lockspace, seconds (sanlock only) */
    /* This host's id in the lockspace (<host-id>), 0 = not joined. Only in
     * this host's record and in replies about this host's view. */
    unsigned host_id;
    /* The pool's VM metadata store (<metadata-store url= timeout-ms=/>,
     * optional; recorded in the VG as pd_store/pd_storeto tags, so every
     * host sees the same one): "nfs://server/export/path" or an absolute
     * directory path; NULL = none. store_timeout_ms: per NFS call, 0 =
     * the store's default. */
    char *store_url;
    unsigned store_timeout_ms;
    /* status, present in output only when has_status */
    bool has_status;
    uint64_t capacity;
    uint64_t allocation;
    uint64_t available;
    unsigned volume_count;
    uint64_t seqno;
    /* the VG's LVM metadata area (optional: 0 = not known): its size and
     * how much the metadata may still grow */
    uint64_t metadata_size;
    uint64_t metadata_free;
    size_t nids_segments; /* the `ids` LV's map */
    poolSegment *ids_segments;
    size_t nleases_segments; /* the `leases` LV's map */
    poolSegment *leases_segments;
} poolPoolDef;

typedef struct {
    char *name;
    char uuid[37];
    char *pool;
    uint64_t capacity; /* bytes */
    char *format;      /* "raw" */
    int lease_slot;    /* >= 1, or -1 unknown */
    char *lease_pv;    /* where the lease slot lives (output only; may be NULL) */
    uint64_t lease_offset;
    int lun;         /* >= 0, or -1 unknown */
    int64_t created; /* unix seconds */
    char *state;     /* "ready" or an in-progress operation name; may be NULL */
    size_t nsegments;
    poolSegment *segments;
    /* Is the volume a LUN of its pool's target (<export state="on|off"/>)?
     * POOL_VOL_EXPORT_UNKNOWN (0, what calloc gives) leaves the element out,
     * so documents without it stay valid and mean "not reported". */
    int export_state;
    /* How its LUN takes writes (<export mode="rw|ro|shared"/>, LV tag
     * pd_export:ro|shared; default rw): rw = only on the host holding the
     * volume's lease (sanlock pools) or always (pools without locking);
     * ro = never; shared = always, on every host (the operator's choice,
     * e.g. a cluster filesystem that coordinates its own writers). */
    int export_mode;
    /* Bytes the volume's LV takes (<allocation>): for a raw volume its
     * capacity, for a qcow2 top the LV that holds the image (capacity is
     * then the virtual size, pd_vsize). 0: not reported. */
    uint64_t allocation;
    /* The snapshot or template layer a qcow2 top sits on (<parent
     * snapshot="S"|template="T" layer="uuid"/>); NULL: none (a raw
     * volume). parent_is_template tells which of the two names it is. */
    char *parent;
    char *parent_layer;
    bool parent_is_template;
    /* Set in poold's LUN list (pool_manager_lun_list) for the read-only
     * LUN of a snapshot or template layer: name is then its LV name and
     * uuid the layer uuid. Never in a volume document. */
    bool layer;
} poolVolDef;

#define POOL_VOL_MODE_RW     0
#define POOL_VOL_MODE_RO     1
#define POOL_VOL_MODE_SHARED 2
const char *pool_vol_mode_name(int mode); /* "rw", "ro", "shared" */
int pool_vol_mode_parse(const char *text, int *mode);

#define POOL_VOL_EXPORT_UNKNOWN 0
#define POOL_VOL_EXPORT_ON      1
#define POOL_VOL_EXPORT_OFF     2

#define POOL_LOCKING_NONE       0
#define POOL_LOCKING_SANLOCK    1
#define POOL_IO_TIMEOUT_MIN     1
#define POOL_IO_TIMEOUT_MAX     300
#define POOL_IO_TIMEOUT_DEFAULT 10          /* what oVirt uses */
const char *pool_locking_name(int locking); /* "none", "sanlock" */
#define POOL_STORE_URL_MAX        900       /* bytes; its escaped form must fit an LVM tag */
#define POOL_STORE_TIMEOUT_MIN_MS 100
#define POOL_STORE_TIMEOUT_MAX_MS 600000
/* A metadata store URL as a pool document may carry it: nfs://... or an
 * absolute path, at most POOL_STORE_URL_MAX bytes of printable ASCII.
 * -1 with POOL_ERR_INVALID_ARG otherwise. (Reachability is checked by
 * pool_meta_store_open.) */
int pool_store_url_check(const char *url);
int pool_locking_parse(const char *text, int *locking);

void pool_pool_def_free(poolPoolDef *def);
void pool_vol_def_free(poolVolDef *def);
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolPoolDef, pool_pool_def_free)
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolVolDef, pool_vol_def_free)

poolPoolDef *pool_pool_def_parse_string(const char *xml, size_t len);
poolPoolDef *pool_pool_def_parse_file(const char *path);
poolPoolDef *pool_pool_def_parse_node(xmlNodePtr node);
char *pool_pool_def_format(const poolPoolDef *def);
xmlNodePtr pool_pool_def_format_node(const poolPoolDef *def);

poolVolDef *pool_vol_def_parse_string(const char *xml, size_t len);
poolVolDef *pool_vol_def_parse_node(xmlNodePtr node);
char *pool_vol_def_format(const poolVolDef *def);
xmlNodePtr pool_vol_def_format_node(const poolVolDef *def);

/* Validate a document against a RelaxNG schema file; 0 valid, -1 with
 * POOL_ERR_XML and libxml2's first message otherwise. */
int pool_xml_validate_file(const char *xml_path, const char *rng_path);
int pool_xml_validate_string(const char *xml, size_t len, const char *rng_path);

/* Safe parse of untrusted XML: no network, no entity expansion, no DTD
 * loading, size-capped. */
xmlDocPtr pool_xml_read_memory(const char *xml, size_t len, const char *what);

/* ---- the target document (xml-schemas/target.rng, libpool/xml_target.c) ----
 * Access control of a pool's iSCSI target: initiator ACL and CHAP. Stored by
 * poold in <state_dir>/targets/POOL.xml (with secrets, mode 0600) and sent
 * without secrets as the target-info reply (with iqn and portals). */
#define POOL_ISCSI_NAME_MAX  223 /* RFC 7143 6.1: iSCSI names are at most 223 bytes */
#define POOL_CHAP_USER_MAX   255
#define POOL_CHAP_SECRET_MIN 12 /* RFC 7143 12.1.3 */
#define POOL_CHAP_SECRET_MAX 255
#define POOL_TARGET_ACL_MAX  1024

typedef struct {
    char *pool;
    char *iqn;           /* output only; NULL leaves <iqn> out */
    char **portals;      /* output only, "ADDR:PORT", tag = index + 1; may be NULL */
    char **acl;          /* allowed initiators, NULL-terminated; NULL or empty = anyone */
    char *chap_user;     /* NULL: no CHAP */
    char *chap_secret;   /* NULL when not carried (replies never carry secrets) */
    char *mutual_user;   /* NULL: one-way CHAP */
    char *mutual_secret; /* NULL when not carried */
} poolTargetDef;

void pool_target_def_free(poolTargetDef *def); /* also wipes the secrets */
POOL_DEFINE_AUTOPTR_CLEANUP_FUNC(poolTargetDef, pool_target_def_free)

poolTargetDef *pool_target_def_parse_string(const char *xml, size_t len);
poolTargetDef *pool_target_def_parse_node(xmlNodePtr node);
/* A stored record must carry a secret for every CHAP user. */
int pool_target_def_check_stored(const poolTargetDef *def);
/* with_secrets false leaves every secret attribute out (replies, logs). */
char *pool_target_def_format(const poolTargetDef *def, bool with_secrets);
xmlNodePtr pool_target_def_format_node(const poolTargetDef *def, bool with_secrets);

/* iSCSI names (RFC 3720 3.2.6, RFC 7143 4.2.7): "iqn.yyyy-mm.reversed.domain[:x]"
 * in lower case, "eui." + 16 hex digits, "naa." + 16 or 32 hex digits; at
 * most 223 bytes. -1 with POOL_ERR_INVALID_ARG saying what is wrong. */
int pool_iscsi_name_validate(const char *name);
/* CHAP user names: 1..255 printable ASCII characters, no spaces. */
int pool_chap_user_validate(const char *user);
/* CHAP secrets: 12..255 printable ASCII characters, no spaces (messages never
 * quote the secret). */
int pool_chap_secret_validate(const char *secret, size_t len);

#endif
