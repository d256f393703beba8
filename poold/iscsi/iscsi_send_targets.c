// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi_send_targets.c: the process-wide list of running portals and the
 * SendTargets answer built from it: every target visible to the initiator,
 * each with one TargetAddress per running portal of the same inventory,
 * so that initiators find every path (multipath).
 *
 * The list lives here rather than in iscsi_portal.c because the full
 * feature phase (Text requests) needs the answer while the portal starts
 * connection threads: both call down into this file.
 */
#include <stdatomic.h>
#include <string.h>

#include "iscsi.h"
#include "pool-alloc.h"

static pthread_mutex_t portals_lock = PTHREAD_MUTEX_INITIALIZER;
static iscsiPortal *portals_head;

void iscsi_portal_list_add(iscsiPortal *p)
{
    pthread_mutex_lock(&portals_lock);
    p->next_global = portals_head;
    portals_head = p;
    pthread_mutex_unlock(&portals_lock);
}

void iscsi_portal_list_remove(iscsiPortal *p)
{
    pthread_mutex_lock(&portals_lock);
    for (iscsiPortal **pp = &portals_head; *pp; pp = &(*pp)->next_global) {
        if (*pp == p) {
            *pp = p->next_global;
            break;
        }
    }
    pthread_mutex_unlock(&portals_lock);
}

void iscsi_portal_send_targets(iscsiPortal *p, const char *initiator, const char *only,
                               const char *local_addr, iscsiTextOut *out)
{
    POOL_AUTOSTRV names = tgt_list_visible(p->cfg.inv, initiator);

    if (!names)
        return;
    pthread_mutex_lock(&portals_lock);
    for (char **n = names; *n; n++) {
        if (only && strcmp(*n, only) != 0)
            continue;
        iscsi_text_add(out, "TargetName", "%s", *n);
        /* this portal first (the path the initiator already uses) */
        bool self_listed = false;
        for (iscsiPortal *q = portals_head; q; q = q->next_global) {
            if (q != p)
                continue;
            self_listed = true;
            if (q->advertise[0])
                iscsi_text_add(out, "TargetAddress", "%s,%u", q->advertise, q->cfg.tpgt);
            else
                iscsi_text_add(out, "TargetAddress", "%s:%u,%u", local_addr, q->port, q->cfg.tpgt);
        }
        (void)self_listed;
        for (iscsiPortal *q = portals_head; q; q = q->next_global) {
            if (q == p || q->cfg.inv != p->cfg.inv || atomic_load(&q->stopping))
                continue;
            if (q->advertise[0])
                iscsi_text_add(out, "TargetAddress", "%s,%u", q->advertise, q->cfg.tpgt);
            else
                iscsi_text_add(out, "TargetAddress", "%s:%u,%u", local_addr, q->port, q->cfg.tpgt);
        }
    }
    pthread_mutex_unlock(&portals_lock);
}
