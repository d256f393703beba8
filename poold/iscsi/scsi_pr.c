/*
 * scsi_pr.c: persistent reservations (SPC-4 5.13, PERSISTENT RESERVE IN
 * and OUT).
 *
 * State (in the LU, under lu->lock): a list of registrations, each an
 * (initiator port, relative target port) pair — or the initiator port on
 * every target port when registered with ALL_TG_PT — with its key; the
 * reservation (index of the holding registration, type; scope is always
 * LU_SCOPE); the PRgeneration counter (bumped by every REGISTER, REGISTER
 * AND IGNORE EXISTING KEY, CLEAR, PREEMPT, PREEMPT AND ABORT and REGISTER
 * AND MOVE that succeeds); APTPL.
 *
 * For the all-registrants types (7h, 8h) every registrant is a holder;
 * pr_holder then just names one of them, and the reservation lives until
 * the last registration goes. READ RESERVATION reports key 0 for them.
 *
 * Supported: READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL
 * STATUS; REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, PREEMPT AND ABORT,
 * REGISTER AND IGNORE EXISTING KEY, REGISTER AND MOVE; types 1, 3, 5, 6, 7,
 * 8; ALL_TG_PT. Not supported (and reported so by REPORT CAPABILITIES):
 * SPEC_I_PT (refused with INVALID FIELD IN PARAMETER LIST). PREEMPT AND
 * ABORT cannot abort commands in flight (the transport owns them); since
 * every command here completes synchronously, what it must abort has
 * already completed or not started.
 *
 * Unit attentions: RESERVATIONS PREEMPTED (2A/03) to the other registrants
 * on CLEAR and on a PREEMPT that changes the reservation, REGISTRATIONS
 * PREEMPTED (2A/05) to nexuses whose registration a PREEMPT removed,
 * RESERVATIONS RELEASED (2A/04) to the other registrants when a
 * registrants-only or all-registrants reservation is released (RELEASE, or
 * the holder unregistering).
 *
 * APTPL: when the last PERSISTENT RESERVE OUT set APTPL=1 the state is
 * saved through cfg->pr_save after every change (and an empty record when
 * APTPL is cleared); cfg->pr_load restores it when the LU is created. The
 * record is little-endian:
 *
 *   off  size  field
 *   0    4     magic "PDPR" (0x52504450)
 *   4    2     version (1)
 *   6    2     flags: bit 0 reservation present, bit 1 APTPL
 *   8    4     PRgeneration
 *   12   4     number of registrations N
 *   16   1     reservation type
 *   17   3     reserved (0)
 *   20   4     holder index (0xffffffff: none)
 *   24   ...   N entries: u64 key, u16 relative target port, u16 flags
 *              (bit 0 ALL_TG_PT), u16 initiator port length, u16 target
 *              port length, then the two names (no terminator)
 *   end  4     CRC32C of every byte before it
 *
 * A record that fails any check (magic, version, lengths, CRC) is ignored:
 * the LU starts with no registrations rather than with wrong ones.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool-util.h"
#include "scsi_internal.h"

#define PR_MAGIC   0x52504450u
#define PR_VERSION 1

static bool type_valid(uint8_t t)
{
    return t == PR_TYPE_WE || t == PR_TYPE_EA || t == PR_TYPE_WERO || t == PR_TYPE_EARO ||
           t == PR_TYPE_WEAR || t == PR_TYPE_EAAR;
}

static bool type_all_reg(uint8_t t)
{
    return t == PR_TYPE_WEAR || t == PR_TYPE_EAAR;
}

static bool reg_matches(const scsiPrReg *r, const scsiNexus *nx)
{
    return strcmp(r->iport, nx->name) == 0 && (r->all_tg_pt || r->rtp == nx->rel_target_port);
}

static int find_reg(const scsiLu *lu, const scsiNexus *nx)
{
    for (size_t i = 0; i < lu->nregs; i++)
        if (reg_matches(&lu->regs[i], nx))
            return (int)i;
    return -1;
}

static bool is_holder(const scsiLu *lu, int reg)
{
    if (lu->pr_holder < 0 || reg < 0)
        return false;
    return type_all_reg(lu->pr_type) || reg == lu->pr_holder;
}

bool pr_any_registration_locked(const scsiLu *lu)
{
    return lu->nregs > 0;
}

bool pr_allows_locked(scsiLu *lu, const scsiNexus *nx, uint8_t prc)
{
    int r;

    if (lu->pr_holder < 0 || prc == PRC_ALLOW)
        return true;
    r = find_reg(lu, nx);
    if (is_holder(lu, r))
        return true;
    switch (lu->pr_type) {
    case PR_TYPE_WE:
        return prc == PRC_READ;
    case PR_TYPE_EA:
        return false;
    case PR_TYPE_WERO:
    case PR_TYPE_WEAR:
        return r >= 0 || prc == PRC_READ;
    case PR_TYPE_EARO:
    case PR_TYPE_EAAR:
        return r >= 0;
    default:
        return false;
    }
}

/* UA to every nexus the registration covers. */
static void ua_reg(scsiLu *lu, const scsiPrReg *r, uint8_t ascq)
{
    for (scsiNexusState *ns = lu->nexuses; ns; ns = ns->next)
        if (strcmp(ns->name, r->iport) == 0 && (r->all_tg_pt || ns->rtp == r->rtp))
            scsi_ua_add_locked(ns, ASC_PARAMETERS_CHANGED, ascq);
}

/* UA to every registrant except the nexus nx. */
static void ua_registrants_except(scsiLu *lu, const scsiNexus *nx, uint8_t ascq)
{
    for (scsiNexusState *ns = lu->nexuses; ns; ns = ns->next) {
        if (strcmp(ns->name, nx->name) == 0 && ns->rtp == nx->rel_target_port)
            continue;
        scsiNexus tmp;
        memcpy(tmp.name, ns->name, sizeof(tmp.name));
        tmp.rel_target_port = ns->rtp;
        if (find_reg(lu, &tmp) >= 0)
            scsi_ua_add_locked(ns, ASC_PARAMETERS_CHANGED, ascq);
    }
}

static void remove_reg(scsiLu *lu, size_t i)
{
    if (lu->pr_holder >= 0) {
        if ((int)i == lu->pr_holder) {
            if (type_all_reg(lu->pr_type) && lu->nregs > 1)
                lu->pr_holder = i == 0 ? 1 : 0; /* fixed below by the shift */
            else
                lu->pr_holder = -1;
        }
        if (lu->pr_holder > (int)i)
            lu->pr_holder--;
    }
    memmove(&lu->regs[i], &lu->regs[i + 1], (lu->nregs - i - 1) * sizeof(lu->regs[0]));
    lu->nregs--;
}

static int add_reg(scsiLu *lu, const scsiNexus *nx, uint64_t key, bool all_tg_pt)
{
    if (lu->nregs == lu->regs_cap) {
        size_t cap = lu->regs_cap ? lu->regs_cap * 2 : 8;
        if (cap > SCSI_PR_MAX_REGS)
            cap = SCSI_PR_MAX_REGS;
        if (lu->nregs >= cap)
            return -1;
        scsiPrReg *n = realloc(lu->regs, cap * sizeof(*n));
        if (!n)
            return -1;
        lu->regs = n;
        lu->regs_cap = cap;
    }
    scsiPrReg *r = &lu->regs[lu->nregs];
    memset(r, 0, sizeof(*r));
    r->key = key;
    snprintf(r->iport, sizeof(r->iport), "%s", nx->name);
    snprintf(r->tport, sizeof(r->tport), "%s", nx->target_port_name);
    r->rtp = nx->rel_target_port;
    r->all_tg_pt = all_tg_pt;
    return (int)lu->nregs++;
}

/* ---- APTPL persistence ------------------------------------------------------------ */

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void le32(uint8_t *p, uint32_t v)
{
    le16(p, (uint16_t)v);
    le16(p + 2, (uint16_t)(v >> 16));
}
static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}
static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}
static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* Save (or clear) the APTPL record. [L] Returns 0 or -1. */
static int pr_persist_locked(scsiLu *lu)
{
    size_t len = 24 + 4, off;
    uint8_t *b;
    int r;

    if (!lu->cfg.pr_save)
        return lu->pr_aptpl ? -1 : 0;
    if (lu->pr_aptpl)
        for (size_t i = 0; i < lu->nregs; i++)
            len += 16 + strlen(lu->regs[i].iport) + strlen(lu->regs[i].tport);
    b = calloc(1, len);
    if (!b)
        return -1;
    le32(b, PR_MAGIC);
    le16(b + 4, PR_VERSION);
    if (lu->pr_aptpl) {
        le16(b + 6, (uint16_t)((lu->pr_holder >= 0 ? 1 : 0) | 2));
        le32(b + 8, lu->pr_gen);
        le32(b + 12, (uint32_t)lu->nregs);
        b[16] = lu->pr_type;
        le32(b + 20, lu->pr_holder >= 0 ? (uint32_t)lu->pr_holder : 0xffffffffu);
    } else {
        le32(b + 20, 0xffffffffu);
    }
    off = 24;
    if (lu->pr_aptpl) {
        for (size_t i = 0; i < lu->nregs; i++) {
            const scsiPrReg *g = &lu->regs[i];
            uint16_t il = (uint16_t)strlen(g->iport), tl = (uint16_t)strlen(g->tport);
            le64(b + off, g->key);
            le16(b + off + 8, g->rtp);
            le16(b + off + 10, g->all_tg_pt ? 1 : 0);
            le16(b + off + 12, il);
            le16(b + off + 14, tl);
            memcpy(b + off + 16, g->iport, il);
            memcpy(b + off + 16 + il, g->tport, tl);
            off += 16 + il + tl;
        }
    }
    le32(b + off, pool_crc32c(0, b, off));
    r = lu->cfg.pr_save(lu->cfg.ctx, b, off + 4);
    free(b);
    return r < 0 ? -1 : 0;
}

static bool pr_parse(scsiLu *lu, const uint8_t *b, size_t len)
{
    size_t off = 24;
    uint32_t n, holder;

    if (len < 28 || rd32(b) != PR_MAGIC || rd16(b + 4) != PR_VERSION)
        return false;
    if (rd32(b + len - 4) != pool_crc32c(0, b, len - 4))
        return false;
    if (!(rd16(b + 6) & 2))
        return true; /* APTPL cleared: nothing to restore */
    n = rd32(b + 12);
    holder = rd32(b + 20);
    if (n > SCSI_PR_MAX_REGS)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        scsiNexus nx;
        if (len - 4 < off + 16)
            return false;
        uint16_t il = rd16(b + off + 12), tl = rd16(b + off + 14);
        if (il >= sizeof(nx.name) || tl >= sizeof(nx.target_port_name) ||
            len - 4 < off + 16 + il + tl)
            return false;
        memset(&nx, 0, sizeof(nx));
        memcpy(nx.name, b + off + 16, il);
        memcpy(nx.target_port_name, b + off + 16 + il, tl);
        nx.rel_target_port = rd16(b + off + 8);
        if (add_reg(lu, &nx, rd64(b + off), rd16(b + off + 10) & 1) < 0)
            return false;
        off += 16 + il + tl;
    }
    if ((rd16(b + 6) & 1) && holder < n && type_valid(b[16])) {
        lu->pr_holder = (int)holder;
        lu->pr_type = b[16];
    }
    lu->pr_gen = rd32(b + 8);
    lu->pr_aptpl = true;
    return true;
}

void pr_load(scsiLu *lu)
{
    void *data = NULL;
    size_t len = 0;

    if (!lu->cfg.pr_load || lu->cfg.pr_load(lu->cfg.ctx, &data, &len) < 0 || !data)
        return;
    if (!pr_parse(lu, data, len)) {
        lu->nregs = 0;
        lu->pr_holder = -1;
        lu->pr_aptpl = false;
        lu->pr_gen = 0;
    }
    free(data);
}

void pr_free(scsiLu *lu)
{
    free(lu->regs);
    lu->regs = NULL;
    lu->nregs = lu->regs_cap = 0;
}

/* ---- PERSISTENT RESERVE IN ------------------------------------------------------- */

int pr_prep_in(scsiLu *lu, scsiCmd *cmd)
{
    cmd->data_in_max = get_be16(&cmd->cdb[7]);
    return 0;
}

static size_t transport_id(uint8_t *p, const char *iport)
{
    /* iSCSI TransportID: format 01b (name,i,0x<isid>) when there is an
     * ISID part, else format 00b (name only); null terminated, padded to a
     * multiple of four, at least 20 bytes. */
    size_t n = strnlen(iport, 223);
    bool isid = strstr(iport, ",i,0x") != NULL;
    size_t len = (n + 1 + 3) & ~(size_t)3;

    if (len < 20)
        len = 20;
    memset(p, 0, 4 + len);
    p[0] = (uint8_t)((isid ? 0x40 : 0x00) | 0x05);
    put_be16(p + 2, (uint16_t)len);
    memcpy(p + 4, iport, n);
    return 4 + len;
}

void pr_exec_in(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t sa = cmd->cdb[1] & 0x1f;
    uint16_t alloc = get_be16(&cmd->cdb[7]);
    uint8_t *b;
    size_t cap, off = 8;

    pthread_mutex_lock(&lu->lock);
    cap = 8 + (size_t)(lu->nregs + 1) * (24 + 4 + 260) + 64;
    b = calloc(1, cap);
    if (!b) {
        pthread_mutex_unlock(&lu->lock);
        scsi_sense(cmd, SK_ABORTED_COMMAND, 0x55, 0x03);
        return;
    }
    put_be32(b, lu->pr_gen);
    switch (sa) {
    case 0x00: /* READ KEYS */
        for (size_t i = 0; i < lu->nregs; i++, off += 8)
            put_be64(b + off, lu->regs[i].key);
        put_be32(b + 4, (uint32_t)(off - 8));
        break;
    case 0x01: /* READ RESERVATION */
        if (lu->pr_holder >= 0) {
            put_be64(b + 8, type_all_reg(lu->pr_type) ? 0 : lu->regs[lu->pr_holder].key);
            b[8 + 13] = lu->pr_type & 0x0f; /* scope LU_SCOPE (0) */
            off += 16;
        }
        put_be32(b + 4, (uint32_t)(off - 8));
        break;
    case 0x02: /* REPORT CAPABILITIES */
        memset(b, 0, 8);
        put_be16(b, 8);
        b[2] = 0x10 | 0x04 | (lu->cfg.pr_save ? 0x01 : 0); /* CRH, ATP_C, PTPL_C */
        b[3] = 0x80 | (lu->pr_aptpl ? 0x01 : 0);           /* TMV, PTPL_A */
        b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; /* WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX */
        b[5] = 0x01;                             /* EX_AC_AR */
        off = 8;
        break;
    case 0x03: /* READ FULL STATUS */
        for (size_t i = 0; i < lu->nregs; i++) {
            const scsiPrReg *g = &lu->regs[i];
            uint8_t *d = b + off;
            put_be64(d, g->key);
            d[12] = (g->all_tg_pt ? 0x02 : 0) | (is_holder(lu, (int)i) ? 0x01 : 0);
            if (is_holder(lu, (int)i))
                d[13] = lu->pr_type & 0x0f;
            put_be16(d + 18, g->rtp);
            size_t tl = transport_id(d + 24, g->iport);
            put_be32(d + 20, (uint32_t)tl);
            off += 24 + tl;
        }
        put_be32(b + 4, (uint32_t)(off - 8));
        break;
    default:
        pthread_mutex_unlock(&lu->lock);
        free(b);
        scsi_sense_invalid_cdb(cmd, 1, 4);
        return;
    }
    pthread_mutex_unlock(&lu->lock);
    scsi_data_in(cmd, b, off, alloc);
    free(b);
}

/* ---- PERSISTENT RESERVE OUT ------------------------------------------------------ */

int pr_prep_out(scsiLu *lu, scsiCmd *cmd)
{
    uint32_t len = get_be32(&cmd->cdb[5]);
    uint8_t sa = cmd->cdb[1] & 0x1f;

    if (sa > 7) {
        scsi_sense_invalid_cdb(cmd, 1, 4);
        return -1;
    }
    if ((sa != 7 && len != 24) || (sa == 7 && (len < 24 || len > 24 + 4 + 260))) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return -1;
    }
    cmd->data_out_needed = len;
    return 0;
}

/* Unregister reg index r (holder handling and UAs). [L] */
static void unregister_locked(scsiLu *lu, int r, const scsiNexus *nx)
{
    bool was_holder = is_holder(lu, r);
    uint8_t type = lu->pr_type;

    remove_reg(lu, (size_t)r);
    if (was_holder && !type_all_reg(type) && lu->pr_holder < 0 &&
        (type == PR_TYPE_WERO || type == PR_TYPE_EARO))
        ua_registrants_except(lu, nx, ASCQ_RESERVATIONS_RELEASED);
}

/* Parse a TransportID into an initiator port name. */
static bool parse_transport_id(const uint8_t *t, size_t len, char *out, size_t outlen)
{
    if (len < 4 || (t[0] & 0x0f) != 0x05)
        return false;
    size_t al = get_be16(t + 2);
    if (al + 4 > len || al == 0)
        return false;
    size_t n = strnlen((const char *)t + 4, al);
    if (n == 0 || n >= outlen || n == al)
        return false;
    memcpy(out, t + 4, n);
    out[n] = '\0';
    return true;
}

void pr_exec_out(scsiLu *lu, scsiCmd *cmd)
{
    const scsiNexus *nx = scsi_cmd_nexus(cmd);
    uint8_t sa = cmd->cdb[1] & 0x1f;
    uint8_t scope = cmd->cdb[2] >> 4, type = cmd->cdb[2] & 0x0f;
    const uint8_t *d = cmd->data_out;
    uint32_t len = cmd->data_out_needed;
    uint64_t key, sakey;
    bool spec_i_pt, all_tg_pt, aptpl;
    int r;
    bool changed = false;

    if (!d || cmd->data_out_len < len) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return;
    }
    key = get_be64(d);
    sakey = get_be64(d + 8);
    if (sa == 7) {
        spec_i_pt = false;
        all_tg_pt = false;
        aptpl = d[17] & 0x01;
    } else {
        spec_i_pt = d[20] & 0x08;
        all_tg_pt = d[20] & 0x04;
        aptpl = d[20] & 0x01;
    }
    if (spec_i_pt) {
        scsi_sense_invalid_param(cmd, 20, 3);
        return;
    }
    if (aptpl && !lu->cfg.pr_save) {
        scsi_sense_invalid_param(cmd, sa == 7 ? 17 : 20, 0);
        return;
    }

    pthread_mutex_lock(&lu->lock);
    /* SPC-4 5.13.3: PR commands conflict with another nexus' RESERVE */
    if (lu->res2_held && !scsi_nexus_match(nx, lu->res2_iport, lu->res2_rtp))
        goto conflict;
    r = find_reg(lu, nx);

    switch (sa) {
    case 0x00: /* REGISTER */
    case 0x06: /* REGISTER AND IGNORE EXISTING KEY */
        if (r < 0) {
            if (sa == 0 && key != 0)
                goto conflict;
            if (sakey == 0)
                break; /* nothing to do */
            if (add_reg(lu, nx, sakey, all_tg_pt) < 0) {
                pthread_mutex_unlock(&lu->lock);
                scsi_sense(cmd, SK_ILLEGAL_REQUEST, 0x55,
                           0x04); /* INSUFFICIENT REGISTRATION RESOURCES */
                return;
            }
        } else {
            if (sa == 0 && key != lu->regs[r].key)
                goto conflict;
            if (sakey == 0)
                unregister_locked(lu, r, nx);
            else
                lu->regs[r].key = sakey;
        }
        lu->pr_gen++;
        lu->pr_aptpl = aptpl;
        changed = true;
        break;

    case 0x01: /* RESERVE */
        if (r < 0 || key != lu->regs[r].key)
            goto conflict;
        if (scope != 0 || !type_valid(type))
            goto bad_cdb;
        if (lu->pr_holder >= 0) {
            if (is_holder(lu, r) && lu->pr_type == type)
                break;
            goto conflict;
        }
        lu->pr_holder = r;
        lu->pr_type = type;
        changed = true;
        break;

    case 0x02: /* RELEASE */
        if (r < 0 || key != lu->regs[r].key)
            goto conflict;
        if (lu->pr_holder < 0 || !is_holder(lu, r))
            break;
        if (scope != 0 || type != lu->pr_type) {
            pthread_mutex_unlock(&lu->lock);
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, 0x26, 0x04); /* INVALID RELEASE OF PR */
            return;
        }
        if (lu->pr_type != PR_TYPE_WE && lu->pr_type != PR_TYPE_EA)
            ua_registrants_except(lu, nx, ASCQ_RESERVATIONS_RELEASED);
        lu->pr_holder = -1;
        changed = true;
        break;

    case 0x03: /* CLEAR */
        if (r < 0 || key != lu->regs[r].key)
            goto conflict;
        ua_registrants_except(lu, nx, ASCQ_RESERVATIONS_PREEMPTED);
        lu->nregs = 0;
        lu->pr_holder = -1;
        lu->pr_gen++;
        changed = true;
        break;

    case 0x04: /* PREEMPT */
    case 0x05: /* PREEMPT AND ABORT */ {
        if (r < 0 || key != lu->regs[r].key)
            goto conflict;
        bool res = lu->pr_holder >= 0;
        bool allreg = res && type_all_reg(lu->pr_type);
        bool takes_res = false;
        if (res && (allreg ? sakey == 0 : sakey == lu->regs[lu->pr_holder].key))
            takes_res = true;
        if (takes_res && (scope != 0 || !type_valid(type)))
            goto bad_cdb;
        if (!takes_res && sakey == 0) {
            pthread_mutex_unlock(&lu->lock);
            scsi_sense_invalid_param(cmd, 8, -1);
            return;
        }
        /* remember who issued it, indices move while removing */
        uint64_t mykey = lu->regs[r].key;
        char myport[256];
        uint16_t myrtp = lu->regs[r].rtp;
        snprintf(myport, sizeof(myport), "%s", lu->regs[r].iport);
        bool removed = false;
        bool old_type_changed = takes_res && (lu->pr_type != type);
        for (size_t i = 0; i < lu->nregs;) {
            scsiPrReg *g = &lu->regs[i];
            bool me = g->key == mykey && strcmp(g->iport, myport) == 0 && g->rtp == myrtp;
            bool victim = !me && (allreg && takes_res ? true : g->key == sakey);
            if (victim) {
                ua_reg(lu, g, ASCQ_REGISTRATIONS_PREEMPTED);
                remove_reg(lu, i);
                removed = true;
                continue;
            }
            i++;
        }
        if (!removed && !takes_res) {
            goto conflict;
        }
        if (takes_res) {
            lu->pr_holder = find_reg(lu, nx);
            lu->pr_type = type;
            if (old_type_changed)
                ua_registrants_except(lu, nx, ASCQ_RESERVATIONS_RELEASED);
        }
        lu->pr_gen++;
        changed = true;
        break;
    }

    case 0x07: { /* REGISTER AND MOVE */
        char dest[256];
        uint16_t dest_rtp = get_be16(d + 18);
        uint32_t tidlen = get_be32(d + 20);
        if (r < 0 || key != lu->regs[r].key)
            goto conflict;
        if (lu->pr_holder < 0 || !is_holder(lu, r) || type_all_reg(lu->pr_type))
            goto conflict;
        if (scope != 0 || !type_valid(type))
            goto bad_cdb;
        if (sakey == 0 || tidlen > len - 24 ||
            !parse_transport_id(d + 24, tidlen, dest, sizeof(dest))) {
            pthread_mutex_unlock(&lu->lock);
            scsi_sense_invalid_param(cmd, sakey == 0 ? 8 : 24, -1);
            return;
        }
        scsiNexus dn;
        memset(&dn, 0, sizeof(dn));
        snprintf(dn.name, sizeof(dn.name), "%s", dest);
        dn.rel_target_port = dest_rtp;
        if (scsi_nexus_match(nx, dn.name, dest_rtp)) {
            pthread_mutex_unlock(&lu->lock);
            scsi_sense_invalid_param(cmd, 24, -1);
            return;
        }
        for (scsiNexusState *ns = lu->nexuses; ns; ns = ns->next)
            if (ns->rtp == dest_rtp && strcmp(ns->name, dest) == 0)
                snprintf(dn.target_port_name, sizeof(dn.target_port_name), "%s", ns->tport);
        int dr = find_reg(lu, &dn);
        if (dr < 0) {
            dr = add_reg(lu, &dn, sakey, false);
            if (dr < 0) {
                pthread_mutex_unlock(&lu->lock);
                scsi_sense(cmd, SK_ILLEGAL_REQUEST, 0x55, 0x04);
                return;
            }
        } else {
            lu->regs[dr].key = sakey;
        }
        lu->pr_holder = dr;
        lu->pr_type = type;
        if (d[17] & 0x02) { /* UNREG */
            r = find_reg(lu, nx);
            if (r >= 0)
                remove_reg(lu, (size_t)r);
        }
        lu->pr_gen++;
        lu->pr_aptpl = aptpl;
        changed = true;
        break;
    }
    default:
        goto bad_cdb;
    }
    if (changed && (lu->pr_aptpl || sa == 0 || sa == 6 || sa == 7) && pr_persist_locked(lu) < 0) {
        pthread_mutex_unlock(&lu->lock);
        scsi_sense(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE, 0);
        return;
    }
    pthread_mutex_unlock(&lu->lock);
    return;

conflict:
    pthread_mutex_unlock(&lu->lock);
    scsi_reservation_conflict(cmd);
    return;
bad_cdb:
    pthread_mutex_unlock(&lu->lock);
    scsi_sense_invalid_cdb(cmd, 2, -1);
}
