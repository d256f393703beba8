// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_session.c: sessions, TSIH allocation, reinstatement, the CmdSN
 * window and the I_T nexus bookkeeping with the SCSI layer.
 *
 * Invariants:
 *   - A registered session has a TSIH unique among registered sessions and
 *     never 0. The registry is process-wide because TSIHs and I_T nexus
 *     identity (initiator name, ISID, target, portal group) are.
 *   - ERL 0 and MaxConnections=1: a session has exactly one connection and
 *     lives and dies with it; its CmdSN state is touched only by that
 *     connection's thread, so the window needs no lock.
 *   - A portal has at most cfg.max_sessions registered sessions; the check
 *     and the registration are one step under the registry lock.
 *   - Reinstatement: a new leading login for an existing I_T nexus (same
 *     initiator name + ISID + target + TPGT, TSIH 0) closes the old session
 *     first; the new one is registered only after the old one is gone, so
 *     the SCSI layer never sees two sessions on one nexus.
 *   - The window is fixed: MaxCmdSN = ExpCmdSN + depth - 1. Commands arrive
 *     in order on the single connection; anything outside [ExpCmdSN,
 *     MaxCmdSN] is silently ignored (RFC 7143 4.2.2.1).
 *   - Every LU a session has used is remembered with a reference, so its
 *     nexus can be removed when the session ends; LUs removed from the
 *     inventory are forgotten (and unreferenced) as soon as the target's
 *     generation changes, so a removed volume is not kept open by idle
 *     sessions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "iscsi.h"
#include "pool-error.h"
#include "pool-log.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cond = PTHREAD_COND_INITIALIZER;
static iscsiSession *reg_head;
static uint16_t reg_next_tsih = 1;

iscsiSession *iscsi_session_new(iscsiPortal *p, const uint8_t isid[6], const iscsiParams *params)
{
    iscsiSession *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->portal = p;
    memcpy(s->isid, isid, 6);
    s->params = *params;
    snprintf(s->target, sizeof(s->target), "%s", params->target_name);
    snprintf(s->initiator, sizeof(s->initiator), "%s", params->initiator_name);
    s->queue_depth = p->cfg.queue_depth;
    snprintf(s->nexus.name, sizeof(s->nexus.name), "%s,i,0x%02x%02x%02x%02x%02x%02x", s->initiator,
             isid[0], isid[1], isid[2], isid[3], isid[4], isid[5]);
    s->nexus.rel_target_port = p->cfg.tpgt;
    snprintf(s->nexus.target_port_name, sizeof(s->nexus.target_port_name), "%s,t,0x%04x", s->target,
             p->cfg.tpgt);
    return s;
}

static bool same_nexus(const iscsiSession *a, const iscsiSession *b)
{
    return memcmp(a->isid, b->isid, 6) == 0 && strcasecmp(a->initiator, b->initiator) == 0 &&
           strcasecmp(a->target, b->target) == 0 && a->portal->cfg.tpgt == b->portal->cfg.tpgt &&
           a->params.session_type == b->params.session_type;
}

bool iscsi_session_tsih_exists(uint16_t tsih)
{
    bool found = false;

    pthread_mutex_lock(&reg_lock);
    for (iscsiSession *s = reg_head; s; s = s->next)
        if (s->tsih == tsih)
            found = true;
    pthread_mutex_unlock(&reg_lock);
    return found;
}

int iscsi_session_register(iscsiSession *s)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&reg_lock);
    for (;;) {
        bool old = false;
        for (iscsiSession *o = reg_head; o; o = o->next) {
            if (o != s && same_nexus(o, s)) {
                old = true;
                if (o->conn && !atomic_load(&o->conn->stop)) {
                    log_info("iscsi: %s reinstates session tsih %u of %s", s->initiator, o->tsih,
                             s->target);
                    iscsi_conn_kick(o->conn);
                }
            }
        }
        if (!old)
            break;
        if (pthread_cond_timedwait(&reg_cond, &reg_lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&reg_lock);
            pool_error(POOL_ERR_TIMEOUT, "old session of %s did not close", s->initiator);
            return -1;
        }
    }
    /* the portal's session cap counts logged-in sessions only: connections
     * still logging in have their own budget (iscsi_portal.c), so no number
     * of them can keep a login from getting here */
    size_t nsess = 0;
    for (iscsiSession *o = reg_head; o; o = o->next)
        if (o->portal == s->portal)
            nsess++;
    if (nsess >= s->portal->cfg.max_sessions) {
        pthread_mutex_unlock(&reg_lock);
        pool_error(POOL_ERR_BUSY, "session limit (%u) of portal %s port %u reached",
                   s->portal->cfg.max_sessions, s->portal->address, s->portal->port);
        return -1;
    }
    /* allocate a TSIH not in use */
    for (unsigned tries = 0; tries < 65536; tries++) {
        uint16_t t = reg_next_tsih++;
        bool used = false;
        if (reg_next_tsih == 0)
            reg_next_tsih = 1;
        if (t == 0)
            continue;
        for (iscsiSession *o = reg_head; o; o = o->next)
            if (o->tsih == t)
                used = true;
        if (!used) {
            s->tsih = t;
            break;
        }
    }
    if (!s->tsih) {
        pthread_mutex_unlock(&reg_lock);
        pool_error(POOL_ERR_BUSY, "no free TSIH");
        return -1;
    }
    s->next = reg_head;
    reg_head = s;
    s->registered = true;
    pthread_mutex_unlock(&reg_lock);
    return 0;
}

static void forget_lu(iscsiSession *s, size_t i)
{
    scsi_lu_nexus_remove(s->seen[i].lu, &s->nexus);
    scsi_lu_unref(s->seen[i].lu);
    s->seen[i] = s->seen[--s->nseen];
}

void iscsi_session_free(iscsiSession *s)
{
    if (!s)
        return;
    if (s->registered) {
        pthread_mutex_lock(&reg_lock);
        for (iscsiSession **pp = &reg_head; *pp; pp = &(*pp)->next) {
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        }
        s->registered = false;
        pthread_cond_broadcast(&reg_cond);
        pthread_mutex_unlock(&reg_lock);
    }
    while (s->nseen)
        forget_lu(s, s->nseen - 1);
    free(s->seen);
    free(s);
}

size_t iscsi_session_count(iscsiPortal *p)
{
    size_t n = 0;

    pthread_mutex_lock(&reg_lock);
    for (iscsiSession *s = reg_head; s; s = s->next)
        if (!p || s->portal == p)
            n++;
    pthread_mutex_unlock(&reg_lock);
    return n;
}

/* Kicking is what reinstatement does: the reader sees the dead socket, takes
 * the session's queued commands back from the workers unanswered and waits
 * only for the ones a worker is executing; nothing it sends after this
 * reaches a LUN. */
size_t iscsi_session_revoke(iscsiPortal *p, const char *iqn)
{
    size_t n = 0;
    pthread_mutex_lock(&reg_lock);
    for (iscsiSession *s = reg_head; s; s = s->next) {
        const char *why = "";
        if ((p && s->portal != p) || !s->target[0] || strcasecmp(s->target, iqn) != 0)
            continue;
        if (!s->conn || atomic_load(&s->conn->stop))
            continue;
        if (tgt_session_check(s->portal->cfg.inv, s->target, s->initiator, s->auth_epoch, &why) ==
            0)
            continue;
        log_warnx("iscsi %s: ending session tsih %u of %s to %s: %s", s->conn->peer, s->tsih,
                  s->initiator, s->target, why);
        iscsi_conn_kick(s->conn);
        n++;
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}

void iscsi_session_foreach(iscsiPortal *p, const char *iqn, void (*fn)(iscsiConn *, void *),
                           void *opaque)
{
    pthread_mutex_lock(&reg_lock);
    for (iscsiSession *s = reg_head; s; s = s->next) {
        if (p && s->portal != p)
            continue;
        if (iqn && strcasecmp(s->target, iqn) != 0)
            continue;
        if (s->conn)
            fn(s->conn, opaque);
    }
    pthread_mutex_unlock(&reg_lock);
}

bool iscsi_session_cmdsn_accept(iscsiSession *s, uint32_t cmdsn, bool immediate)
{
    if (immediate)
        return true;
    uint32_t max = iscsi_session_max_cmdsn(s);
    if (iscsi_sn_lt(cmdsn, s->exp_cmdsn) || iscsi_sn_lt(max, cmdsn))
        return false;
    /* one connection delivers in order; a gap can only come from a broken
     * initiator, whose later commands we still serve in arrival order */
    s->exp_cmdsn = cmdsn + 1;
    return true;
}

static void prune_removed(iscsiSession *s, tgtInventory *inv)
{
    for (size_t i = 0; i < s->nseen;) {
        scsiLu *cur = tgt_lun_get(inv, s->target, s->seen[i].lun);
        bool gone = cur != s->seen[i].lu;
        if (cur)
            tgt_lun_put(cur);
        if (gone)
            forget_lu(s, i);
        else
            i++;
    }
}

scsiLu *iscsi_session_lu_get(iscsiSession *s, uint64_t lun)
{
    tgtInventory *inv = s->portal->cfg.inv;
    uint64_t gen = tgt_generation(inv, s->target);

    if (gen != s->generation) {
        prune_removed(s, inv);
        s->generation = gen;
    }
    scsiLu *lu = tgt_lun_get(inv, s->target, lun);
    if (!lu)
        return NULL;
    for (size_t i = 0; i < s->nseen; i++)
        if (s->seen[i].lu == lu)
            return lu;
    if (s->nseen == s->capseen) {
        size_t ncap = s->capseen ? s->capseen * 2 : 8;
        void *n = realloc(s->seen, ncap * sizeof(*s->seen));
        if (!n)
            return lu; /* serve the command; nexus bookkeeping retried next time */
        s->seen = n;
        s->capseen = ncap;
    }
    s->seen[s->nseen].lun = lun;
    s->seen[s->nseen].lu = scsi_lu_ref(lu);
    s->nseen++;
    scsi_lu_nexus_add(lu, &s->nexus);
    return lu;
}

void iscsi_session_reset_target(iscsiSession *s, uint8_t ascq)
{
    tgtInventory *inv = s->portal->cfg.inv;
    uint64_t luns[256];
    size_t n = tgt_lun_list(inv, s->target, luns, 256);

    if (n > 256)
        n = 256;
    for (size_t i = 0; i < n; i++) {
        scsiLu *lu = iscsi_session_lu_get(s, luns[i]);
        if (lu) {
            scsi_lu_reset(lu, NULL, ascq);
            tgt_lun_put(lu);
        }
    }
}
