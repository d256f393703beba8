/*
 * vm_ops.c: a pool's VMs in its metadata store (pool-vm.h), and reading and
 * changing the VG tags that name the store (layout.h: pd_store, pd_storeto;
 * their encoding is layout_store.c).
 *
 * Where the store is recorded: in the VG, like every other pool attribute,
 * so every host of the pool sees the same store without any file of its
 * own. The URL is escaped into LVM's tag alphabet; the change is one
 * vgchange (add the new tags, delete the old ones) under the pool-metadata
 * lease, so hosts never see two stores or half a change.
 *
 * Per request the tags are read (one vgs) and the store opened, used and
 * closed: simple, always current, and a dead NFS server costs at most the
 * store's timeout per request (the store bounds every call).
 *
 * Define (rules in pool-vm.h) checks everything before it touches the
 * store: parse, name, uuid, disks against this pool's volumes (one lvs),
 * libvirt's schema (virt-xml-validate). Only then the store is opened and
 * the record written with a compare-and-swap define (pool-vmstore.h), so a
 * refused definition writes nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "layout.h"
#include "cluster.h"
#include "manager.h"
#include "vmstore_backend.h"
#include "pool-alloc.h"
#include "pool-command.h"
#include "pool-error.h"
#include "pool-log.h"
#include "pool-lvm.h"
#include "pool-util.h"
#include "pool-vm.h"
#include "xml_internal.h"

#define VALIDATE_PROGRAM    "virt-xml-validate"
#define VALIDATE_TIMEOUT_MS 60000

/* ---- the store's VG tags (their encoding: layout_store.c) ---------------- */

/* Every tag of `tags` with this key (the whole "key:value"), to delete. */
static int tags_with_key(char *const *tags, const char *key, char ***out)
{
    size_t kl = strlen(key);
    for (size_t i = 0; tags && tags[i]; i++)
        if (strncmp(tags[i], key, kl) == 0 && tags[i][kl] == ':' && pool_strv_add(out, tags[i]) < 0)
            return -1;
    return 0;
}

int pool_manager_pool_get_store(poolManager *mgr, const char *pool, char **url,
                                unsigned *timeout_ms)
{
    *url = NULL;
    *timeout_ms = 0;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    poolLvmVG *vg = NULL;
    if (pool_lvm_report_vg(e->lvm, pool, &vg) < 0)
        return -1;
    int r = pool_layout_store_from_tags(vg->tags, url, timeout_ms);
    pool_lvm_vgs_free(vg, 1);
    return r;
}

int pool_manager_pool_set_store(poolManager *mgr, const char *pool, const char *url,
                                unsigned timeout_ms)
{
    if (pool_store_url_check(url) < 0)
        return -1;
    if (timeout_ms &&
        (timeout_ms < POOL_STORE_TIMEOUT_MIN_MS || timeout_ms > POOL_STORE_TIMEOUT_MAX_MS)) {
        pool_error(POOL_ERR_INVALID_ARG, "metadata store timeout %u ms is out of range %d..%d",
                   timeout_ms, POOL_STORE_TIMEOUT_MIN_MS, POOL_STORE_TIMEOUT_MAX_MS);
        return -1;
    }
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    /* reachable before it is recorded (a local directory is created) */
    {
        POOL_AUTOPTR(poolMetaStore) st = pool_meta_store_open(url, timeout_ms);
        if (!st) {
            pool_error_prefix("cannot use %s as the metadata store of pool %s", url, pool);
            return -1;
        }
    }
    POOL_AUTOFREE(char *) esc = pool_layout_store_escape(url);
    POOL_AUTOFREE(char *) tag = esc ? pool_layout_tag(POOL_TAG_STORE, "%s", esc) : NULL;
    POOL_AUTOFREE(char *)
    totag = timeout_ms ? pool_layout_tag(POOL_TAG_STORE_TO, "%u", timeout_ms) : NULL;
    if (!tag || (timeout_ms && !totag))
        return -1;
    if (strlen(tag) > 1024) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "metadata store URL is too long once escaped for an LVM tag (%zu bytes, "
                   "limit 1024)",
                   strlen(tag));
        return -1;
    }
    if (pool_cluster_lock(mgr, e) < 0)
        return -1;
    poolLvmVG *vg = NULL;
    POOL_AUTOSTRV del = NULL;
    char *add[3] = {NULL, NULL, NULL};
    size_t nadd = 0;
    int r = pool_lvm_report_vg(e->lvm, pool, &vg);
    if (r == 0) {
        const char *cur = pool_lvm_tag_get(vg->tags, POOL_TAG_STORE);
        const char *curto = pool_lvm_tag_get(vg->tags, POOL_TAG_STORE_TO);
        bool same_url = cur && strcmp(cur, esc) == 0;
        bool same_to =
            totag ? (curto && strcmp(curto, totag + strlen(POOL_TAG_STORE_TO) + 1) == 0) : !curto;
        if (!same_url) {
            add[nadd++] = tag;
            r = tags_with_key(vg->tags, POOL_TAG_STORE, &del);
        }
        if (r == 0 && !same_to) {
            if (totag)
                add[nadd++] = totag;
            r = tags_with_key(vg->tags, POOL_TAG_STORE_TO, &del);
        }
    }
    if (r == 0 && (nadd || del)) {
        /* one vgchange: never two stores, never none by accident */
        r = pool_lvm_vg_change_tags(e->lvm, pool, nadd ? add : NULL, del);
        if (r < 0)
            pool_error_prefix("cannot record the metadata store of pool %s", pool);
    }
    if (r == 0) {
        char *copy = pool_strdup(url);
        if (copy) {
            /* under mu: reads copy the record meanwhile (manager.h) */
            pthread_mutex_lock(&e->mu);
            free(e->def->store_url);
            e->def->store_url = copy;
            e->def->store_timeout_ms = timeout_ms;
            pthread_mutex_unlock(&e->mu);
        }
        log_pool(POOL_LOG_INFO, pool, "metadata store set to %s (timeout %u ms)", url,
                 timeout_ms ? timeout_ms : POOL_META_DEFAULT_TIMEOUT_MS);
    }
    pool_lvm_vgs_free(vg, 1);
    pool_cluster_unlock(mgr, e);
    return r;
}

/* The pool's store, opened for one request. */
static poolMetaStore *open_store(poolManager *mgr, const char *pool)
{
    POOL_AUTOFREE(char *) url = NULL;
    unsigned to = 0;
    if (pool_manager_pool_get_store(mgr, pool, &url, &to) < 0)
        return NULL;
    if (!url) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "pool %s has no metadata store; set one with poolctl pool set-store", pool);
        return NULL;
    }
    poolMetaStore *st = pool_meta_store_open(url, to);
    if (!st)
        pool_error_prefix("pool %s: metadata store %s", pool, url);
    return st;
}

/* Prefix store errors with the pool, keeping the code. */
static void store_error(const char *pool)
{
    pool_error_prefix("pool %s: metadata store", pool);
}

/* ---- domain XML checks --------------------------------------------------- */

static char *node_text(xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) {
        pool_error_oom();
        return NULL;
    }
    char *s = pool_strdup((const char *)t);
    xmlFree(t);
    if (!s)
        return NULL;
    /* libvirt trims surrounding whitespace of <name> and <uuid> too */
    size_t a = 0, b = strlen(s);
    while (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r')
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r'))
        b--;
    memmove(s, s + a, b - a);
    s[b - a] = '\0';
    return s;
}

static char *prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (!v)
        return NULL;
    char *s = pool_strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* A uuid in either of libvirt's spellings (with or without dashes) into
 * the canonical lower-case dashed form. */
static int canonical_uuid(const char *text, char out[37])
{
    char hex[33];
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '-')
            continue;
        if (n >= 32 || pool_hex_value(*p) < 0)
            goto bad;
        hex[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    }
    if (n != 32)
        goto bad;
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return 0;
bad:
    pool_error(POOL_ERR_XML, "domain <uuid>: '%.64s' is not a UUID", text);
    return -1;
}

static bool volume_exists(const poolLvmLV *lvs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(lvs[i].name, name) == 0 && pool_layout_lv_is_volume(&lvs[i]))
            return true;
    return false;
}

/* One <disk>: a volume of this pool. */
static int check_disk(xmlNodePtr disk, size_t index, const char *pool, const poolLvmLV *lvs,
                      size_t nlvs, poolVmRecord *rec)
{
    POOL_AUTOFREE(char *) type = prop(disk, "type");
    POOL_AUTOFREE(char *) dev = NULL;
    xmlNodePtr target = pool_xml_find_child(disk, "target", NULL);
    if (target)
        dev = prop(target, "dev");
    POOL_AUTOFREE(char *) label = dev ? pool_strdup(dev) : pool_asprintf("#%zu", index + 1);
    if (!label)
        return -1;
    if (!type || strcmp(type, "volume") != 0) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "disk %s: a disk of type '%.32s' is not a volume of pool %s (use <disk "
                   "type='volume'> with <source pool='%s' volume='NAME'/>)",
                   label, type ? type : "(none)", pool, pool);
        return -1;
    }
    int nsrc = 0;
    xmlNodePtr src = pool_xml_find_child(disk, "source", &nsrc);
    POOL_AUTOFREE(char *) spool = src ? prop(src, "pool") : NULL;
    POOL_AUTOFREE(char *) svol = src ? prop(src, "volume") : NULL;
    if (nsrc != 1 || !spool || !svol) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "disk %s: a disk without <source pool='%s' volume='NAME'/> is not a volume of "
                   "pool %s",
                   label, pool, pool);
        return -1;
    }
    if (strcmp(spool, pool) != 0) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "disk %s: volume '%.64s' of pool '%.64s' is not a volume of pool %s", label,
                   svol, spool, pool);
        return -1;
    }
    if (pool_name_validate(POOL_NAME_VOLUME, svol) < 0) {
        pool_error_prefix("disk %s: '%.64s' is not a volume of pool %s", label, svol, pool);
        return -1;
    }
    if (!volume_exists(lvs, nlvs, svol)) {
        pool_error(POOL_ERR_NO_VOLUME, "disk %s: '%s' is not a volume of pool %s (no such volume)",
                   label, svol, pool);
        return -1;
    }
    for (size_t i = 0; i < rec->ndisks; i++)
        if (strcmp(rec->disks[i].name, svol) == 0) {
            pool_error(POOL_ERR_INVALID_ARG, "disk %s: volume %s of pool %s is used twice", label,
                       svol, pool);
            return -1;
        }
    if (pool_realloc_n(&rec->disks, rec->ndisks + 1, sizeof(*rec->disks)) < 0)
        return -1;
    poolVmDisk *d = &rec->disks[rec->ndisks];
    d->pool = pool_steal_ptr(&spool);
    d->name = pool_steal_ptr(&svol);
    rec->ndisks++;
    return 0;
}

static int check_disks(xmlNodePtr root, poolEntry *e, poolVmRecord *rec)
{
    const char *pool = e->def->name;
    size_t ndisk = 0;
    poolLvmLV *lvs = NULL;
    size_t nlvs = 0;
    bool loaded = false;
    int r = 0;
    for (xmlNodePtr devs = root->children; r == 0 && devs; devs = devs->next) {
        if (!pool_xml_is_element(devs, "devices"))
            continue;
        for (xmlNodePtr d = devs->children; r == 0 && d; d = d->next) {
            if (!pool_xml_is_element(d, "disk"))
                continue;
            if (!loaded) {
                if (pool_lvm_report_lvs(e->lvm, pool, &lvs, &nlvs) < 0)
                    return -1;
                loaded = true;
            }
            r = check_disk(d, ndisk++, pool, lvs, nlvs, rec);
        }
    }
    pool_lvm_lvs_free(lvs, nlvs);
    return r;
}

/* The program's path in $PATH (or the usual places), NULL if absent. */
static char *find_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    POOL_AUTOFREE(char *) copy = pool_strdup(path);
    if (!copy)
        return NULL;
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        if (dir[0] != '/')
            continue;
        char *p = pool_asprintf("%s/%s", dir, name);
        if (!p)
            return NULL;
        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* libvirt's schema check of the domain, through virt-xml-validate. */
static int libvirt_validate(const char *pool, const char *xml, size_t len)
{
    POOL_AUTOFREE(char *) prog = find_program(VALIDATE_PROGRAM);
    if (!prog) {
        log_pool(POOL_LOG_WARN, pool,
                 "%s not found (package libvirt-clients): skipping libvirt's schema check of the "
                 "domain XML",
                 VALIDATE_PROGRAM);
        return 0;
    }
    const char *tmpdir = getenv("TMPDIR");
    POOL_AUTOFREE(char *)
    path =
        pool_asprintf("%s/poold-domain-XXXXXX.xml", tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp");
    if (!path)
        return -1;
    int fd = mkstemps(path, 4);
    if (fd < 0) {
        pool_error_errno(errno, "cannot create a temporary file for %s", VALIDATE_PROGRAM);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, xml + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            unlink(path);
            pool_error_errno(err, "cannot write %s", path);
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    char *argv[] = {prog, path, (char *)"domain", NULL};
    poolCommand cmd = {.argv = argv, .timeout_ms = VALIDATE_TIMEOUT_MS, .max_output = 65536};
    poolCommandResult res = {0};
    int r = pool_command_run(&cmd, &res);
    unlink(path);
    if (r < 0) {
        pool_error_prefix("%s", VALIDATE_PROGRAM);
        return -1;
    }
    if (res.exit_status != 0) {
        /* its first line names the problem; the temporary path is noise */
        const char *msg = res.err && res.err[0] ? res.err : (res.out ? res.out : "");
        size_t ml = strcspn(msg, "\n");
        const char *p = strstr(msg, path);
        if (p && p < msg + ml) {
            size_t pl = strlen(path);
            msg = p + pl;
            while (*msg == ':' || *msg == ' ')
                msg++;
            ml = strcspn(msg, "\n");
        }
        pool_error(POOL_ERR_XML, "the domain XML does not pass libvirt's schema (%s): %.*s",
                   VALIDATE_PROGRAM, (int)(ml > 400 ? 400 : ml), msg);
        r = -1;
    }
    pool_command_result_clear(&res);
    return r;
}

/* Parse and check a domain document into a new record (everything but the
 * store). */
static poolVmRecord *record_from_domain(poolManager *mgr, poolEntry *e, const char *xml, size_t len)
{
    const char *pool = e->def->name;
    POOL_AUTOPTR(poolXmlDoc) doc = pool_xml_read_memory(xml, len, "domain XML");
    if (!doc)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!pool_xml_is_element(root, "domain")) {
        pool_error(POOL_ERR_XML, "domain XML: the root element is <%s>, expected <domain>",
                   root && root->name ? (const char *)root->name : "");
        return NULL;
    }
    POOL_AUTOPTR(poolVmRecord) rec = pool_calloc(1, sizeof(*rec));
    if (!rec)
        return NULL;
    int count = 0;
    xmlNodePtr name = pool_xml_find_child(root, "name", &count);
    if (!name || count != 1) {
        pool_error(POOL_ERR_XML, "domain XML: %s", name ? "more than one <name>" : "no <name>");
        return NULL;
    }
    if (!(rec->name = node_text(name)) || pool_vm_name_check(rec->name, "domain <name>") < 0)
        return NULL;
    xmlNodePtr uuid = pool_xml_find_child(root, "uuid", &count);
    bool inserted = false;
    if (count > 1) {
        pool_error(POOL_ERR_XML, "domain XML: more than one <uuid>");
        return NULL;
    }
    if (uuid) {
        POOL_AUTOFREE(char *) text = node_text(uuid);
        if (!text || canonical_uuid(text, rec->uuid) < 0)
            return NULL;
    } else {
        if (pool_uuid_generate(rec->uuid) < 0)
            return NULL;
        xmlNodePtr u = xmlNewDocNode(doc, NULL, BAD_CAST "uuid", BAD_CAST rec->uuid);
        if (!u || !xmlAddNextSibling(name, u)) {
            xmlFreeNode(u);
            pool_error_oom();
            return NULL;
        }
        inserted = true;
    }
    if (check_disks(root, e, rec) < 0)
        return NULL;
    if (inserted)
        rec->domain_xml = pool_xml_doc_to_string(doc, NULL);
    else if ((rec->domain_xml = pool_calloc(len + 1, 1)))
        memcpy(rec->domain_xml, xml, len);
    if (!rec->domain_xml)
        return NULL;
    if (libvirt_validate(pool, rec->domain_xml, strlen(rec->domain_xml)) < 0)
        return NULL;
    if (!(rec->modified_by = pool_strdup(pool_host_name(mgr->cfg->host_name))))
        return NULL;
    return pool_steal_ptr(&rec);
}

/* ---- VM operations ------------------------------------------------------- */

int pool_manager_vm_define(poolManager *mgr, const char *pool, const char *domain_xml, size_t len,
                           poolVmRecord **out)
{
    if (out)
        *out = NULL;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    /* the store must be named before anything else is worth checking */
    POOL_AUTOFREE(char *) url = NULL;
    unsigned to = 0;
    if (pool_manager_pool_get_store(mgr, pool, &url, &to) < 0)
        return -1;
    if (!url) {
        pool_error(POOL_ERR_INVALID_ARG,
                   "pool %s has no metadata store; set one with poolctl pool set-store", pool);
        return -1;
    }
    POOL_AUTOPTR(poolVmRecord) rec = record_from_domain(mgr, e, domain_xml, len);
    if (!rec)
        return -1;
    POOL_AUTOPTR(poolMetaStore) st = pool_meta_store_open(url, to);
    if (!st) {
        pool_error_prefix("pool %s: metadata store %s", pool, url);
        return -1;
    }
    if (pool_meta_store_define(st, rec) < 0) {
        store_error(pool);
        return -1;
    }
    log_pool(POOL_LOG_INFO, pool, "VM %s (%s) defined, %zu disk(s), generation %" PRIu64, rec->name,
             rec->uuid, rec->ndisks, rec->generation);
    if (out)
        *out = pool_steal_ptr(&rec);
    return 0;
}

int pool_manager_vm_undefine(poolManager *mgr, const char *pool, const char *name)
{
    if (pool_vm_name_check(name, "VM") < 0)
        return -1;
    POOL_AUTOPTR(poolMetaStore) st = open_store(mgr, pool);
    if (!st)
        return -1;
    POOL_AUTOPTR(poolVmRecord) rec = pool_meta_store_read(st, name);
    if (!rec) {
        store_error(pool);
        return -1;
    }
    if (rec->owner_host) {
        pool_error(POOL_ERR_BUSY, "VM %s is running on host %s", name, rec->owner_host);
        return -1;
    }
    if (pool_meta_store_remove(st, name, rec->generation) < 0) {
        store_error(pool);
        return -1;
    }
    log_pool(POOL_LOG_INFO, pool, "VM %s undefined", name);
    return 0;
}

void pool_vm_records_free(poolVmRecord **recs, size_t n)
{
    if (!recs)
        return;
    for (size_t i = 0; i < n; i++)
        pool_vm_record_free(recs[i]);
    free(recs);
}

int pool_manager_vm_list(poolManager *mgr, const char *pool, poolVmRecord ***recs, size_t *n)
{
    *recs = NULL;
    *n = 0;
    POOL_AUTOPTR(poolMetaStore) st = open_store(mgr, pool);
    if (!st)
        return -1;
    POOL_AUTOSTRV names = NULL;
    if (pool_meta_store_list(st, &names) < 0) {
        store_error(pool);
        return -1;
    }
    size_t cnt = pool_strv_length(names);
    poolVmRecord **out = pool_calloc(cnt + 1, sizeof(*out));
    if (!out)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        out[k] = pool_meta_store_read(st, names[i]);
        if (out[k]) {
            k++;
            continue;
        }
        if (pool_error_last_code() == POOL_ERR_NO_VM) { /* undefined meanwhile */
            pool_error_reset();
            continue;
        }
        store_error(pool);
        pool_vm_records_free(out, k);
        return -1;
    }
    *recs = out;
    *n = k;
    return 0;
}

poolVmRecord *pool_manager_vm_show(poolManager *mgr, const char *pool, const char *name)
{
    if (pool_vm_name_check(name, "VM") < 0)
        return NULL;
    POOL_AUTOPTR(poolMetaStore) st = open_store(mgr, pool);
    if (!st)
        return NULL;
    poolVmRecord *rec = pool_meta_store_read(st, name);
    if (!rec)
        store_error(pool);
    return rec;
}

/* ---- ownership (vm start / stop) ----------------------------------------- */

/* Does the VM run anywhere, as far as its leases tell? 1: some lease of
 * its volumes is held by a host that is not dead (it runs there, or is
 * being started); 0: it has leased volumes and none is held (a QEMU holds
 * them all while the VM runs: it does not run); -1: cannot tell (no
 * leased volume, a volume gone, a read error), with no error left set. */
static int runs_by_leases(poolManager *mgr, const char *pool, const poolVmRecord *rec)
{
    int leased = 0;
    for (size_t i = 0; i < rec->ndisks; i++) {
        POOL_AUTOPTR(poolVolDef) vol = pool_manager_vol_info(mgr, pool, rec->disks[i].name);
        if (!vol) {
            pool_error_reset();
            return -1;
        }
        if (vol->export_mode != POOL_VOL_MODE_RW)
            continue;
        poolVolLease l;
        if (pool_manager_lease_status(mgr, vol, &l) < 0) {
            pool_error_reset();
            return -1;
        }
        bool held = l.held && l.owner_state != POOL_LEASE_HOST_DEAD &&
                    l.owner_state != POOL_LEASE_HOST_FREE;
        pool_vol_lease_clear(&l);
        if (held)
            return 1;
        leased++;
    }
    return leased ? 0 : -1;
}

bool pool_manager_vm_owned_here(poolManager *mgr, const char *pool, const poolVmRecord *rec)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    pool_error_reset();
    if (!e || !rec->owner_host || strcmp(rec->owner_host, pool_host_name(mgr->cfg->host_name)) != 0)
        return false;
    /* a host name can come back as a new host: in a sanlock pool the host
     * id must match too */
    return e->def->locking != POOL_LOCKING_SANLOCK || rec->owner_host_id == e->def->host_id;
}

poolVmRecord *pool_manager_vm_for_start(poolManager *mgr, const char *pool, const char *name,
                                        bool takeover)
{
    if (pool_vm_name_check(name, "VM") < 0)
        return NULL;
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return NULL;
    POOL_AUTOPTR(poolMetaStore) st = open_store(mgr, pool);
    if (!st)
        return NULL;
    POOL_AUTOPTR(poolVmRecord) rec = pool_meta_store_read(st, name);
    if (!rec) {
        store_error(pool);
        return NULL;
    }
    if (!rec->owner_host || pool_manager_vm_owned_here(mgr, pool, rec))
        return pool_steal_ptr(&rec);
    /* Another host's. Its leases guard the disks, so the record can only be
     * taken over once sanlock says that host is gone: dead (its leases are
     * free to take) or no longer in the lockspace. Without locking nothing
     * can tell: the owner must stop it (or be stopped) first. */
    poolLeaseHostState hs = POOL_LEASE_HOST_UNKNOWN;
    if (e->def->locking == POOL_LOCKING_SANLOCK && rec->owner_host_id &&
        pool_manager_host_state(mgr, pool, rec->owner_host_id, &hs) < 0)
        pool_error_reset();
    if (hs == POOL_LEASE_HOST_DEAD || hs == POOL_LEASE_HOST_FREE) {
        log_pool(POOL_LOG_WARN, pool, "VM %s: its owner, host %s (id %u), is %s: taking it over",
                 name, rec->owner_host, rec->owner_host_id, pool_lease_host_state_name(hs));
        return pool_steal_ptr(&rec);
    }
    /* The owner lives, but a running VM's QEMU holds every lease of its
     * volumes (the owner is recorded only once they are held), so with
     * none held the VM does not run there any more: the guest powered
     * off, crashed, or was destroyed behind poold's back. Its leases are
     * free to take, and taking them is what decides who runs it. */
    if (takeover) {
        log_pool(POOL_LOG_WARN, pool,
                 "VM %s: taking it over from host %s on the operator's word (--takeover)", name,
                 rec->owner_host);
        return pool_steal_ptr(&rec);
    }
    if (e->def->locking == POOL_LOCKING_SANLOCK && runs_by_leases(mgr, pool, rec) == 0) {
        log_pool(POOL_LOG_WARN, pool,
                 "VM %s: its owner, host %s, holds none of its leases (it does not run): "
                 "taking it over",
                 name, rec->owner_host);
        return pool_steal_ptr(&rec);
    }
    if (rec->owner_host_id)
        pool_error(POOL_ERR_BUSY, "VM %s runs on host %s (host id %u%s%s); stop it there first",
                   name, rec->owner_host, rec->owner_host_id,
                   hs == POOL_LEASE_HOST_UNKNOWN ? "" : ", ",
                   hs == POOL_LEASE_HOST_UNKNOWN ? "" : pool_lease_host_state_name(hs));
    else
        pool_error(POOL_ERR_BUSY,
                   "VM %s runs on host %s; stop it there first (or, if that host is down for "
                   "good, vm start --takeover)",
                   name, rec->owner_host);
    return NULL;
}

int pool_manager_vm_set_owner(poolManager *mgr, const char *pool, poolVmRecord *rec, bool own)
{
    poolEntry *e = pool_manager_find(mgr, pool);
    if (!e)
        return -1;
    POOL_AUTOPTR(poolMetaStore) st = open_store(mgr, pool);
    if (!st)
        return -1;
    POOL_AUTOPTR(poolVmRecord) next = pool_vm_record_copy(rec);
    if (!next)
        return -1;
    free(next->owner_host);
    next->owner_host = NULL;
    next->owner_host_id = 0;
    free(next->modified_by);
    next->modified_by = pool_strdup(pool_host_name(mgr->cfg->host_name));
    if (!next->modified_by)
        return -1;
    if (own) {
        if (!(next->owner_host = pool_strdup(pool_host_name(mgr->cfg->host_name))))
            return -1;
        next->owner_host_id = e->def->locking == POOL_LOCKING_SANLOCK ? e->def->host_id : 0;
    }
    if (pool_meta_store_update(st, next) < 0) {
        store_error(pool);
        return -1;
    }
    log_pool(POOL_LOG_INFO, pool, "VM %s: %s, generation %" PRIu64, next->name,
             own ? "owned by this host" : "no owner", next->generation);
    /* rec becomes the record written; next takes the old fields away */
    poolVmRecord old = *rec;
    *rec = *next;
    *next = old;
    return 0;
}
