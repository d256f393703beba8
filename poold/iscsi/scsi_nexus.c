/*
 * scsi_nexus.c: the I_T nexuses an LU knows and their unit attention
 * queues (SAM-5 5.14): found or created per command, added and removed as
 * the transport's sessions come and go, and fed by every event the
 * initiators must hear of (reset, capacity, reported LUNs, mode
 * parameters, reservations preempted).
 *
 * Everything here runs under lu->lock (the *_locked functions expect it
 * held, the scsi_lu_* ones take it). It sits below the command sets and
 * the dispatcher, which all queue or consume unit attentions; it calls
 * nothing but the C library.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "scsi_internal.h"

static const scsiNexus anon_nexus; /* commands without a nexus (tests, no-LU) */

const scsiNexus *scsi_cmd_nexus(const scsiCmd *cmd)
{
    return cmd->nexus ? cmd->nexus : &anon_nexus;
}

bool scsi_nexus_match(const scsiNexus *nx, const char *iport, uint16_t rtp)
{
    return nx->rel_target_port == rtp && strcmp(nx->name, iport) == 0;
}

scsiNexusState *scsi_nexus_find_locked(scsiLu *lu, const scsiNexus *nx, bool create)
{
    scsiNexusState *ns;

    for (ns = lu->nexuses; ns; ns = ns->next)
        if (ns->rtp == nx->rel_target_port && strcmp(ns->name, nx->name) == 0)
            return ns;
    if (!create)
        return NULL;
    ns = calloc(1, sizeof(*ns));
    if (!ns)
        return NULL;
    memcpy(ns->name, nx->name, sizeof(ns->name));
    ns->name[sizeof(ns->name) - 1] = '\0';
    memcpy(ns->tport, nx->target_port_name, sizeof(ns->tport));
    ns->tport[sizeof(ns->tport) - 1] = '\0';
    ns->rtp = nx->rel_target_port;
    /* an I_T nexus the LU has not seen before starts with a power-on UA */
    scsi_ua_add_locked(ns, ASC_POWER_ON_RESET, 0x00);
    ns->next = lu->nexuses;
    lu->nexuses = ns;
    return ns;
}

void scsi_ua_add_locked(scsiNexusState *ns, uint8_t asc, uint8_t ascq)
{
    if (asc == ASC_POWER_ON_RESET) {
        /* a reset supersedes whatever was pending */
        ns->ua_head = 0;
        ns->ua_count = 0;
    }
    for (unsigned i = 0; i < ns->ua_count; i++) {
        unsigned k = (ns->ua_head + i) % SCSI_UA_MAX;
        if (ns->ua[k][0] == asc && ns->ua[k][1] == ascq)
            return;
    }
    if (ns->ua_count == SCSI_UA_MAX)
        return; /* full: the oldest ones are still reported */
    unsigned k = (ns->ua_head + ns->ua_count) % SCSI_UA_MAX;
    ns->ua[k][0] = asc;
    ns->ua[k][1] = ascq;
    ns->ua_count++;
}

bool scsi_ua_pop_locked(scsiNexusState *ns, uint8_t *asc, uint8_t *ascq)
{
    if (!ns || ns->ua_count == 0)
        return false;
    *asc = ns->ua[ns->ua_head][0];
    *ascq = ns->ua[ns->ua_head][1];
    ns->ua_head = (ns->ua_head + 1) % SCSI_UA_MAX;
    ns->ua_count--;
    return true;
}

void scsi_ua_all_locked(scsiLu *lu, const scsiNexus *except, uint8_t asc, uint8_t ascq)
{
    for (scsiNexusState *ns = lu->nexuses; ns; ns = ns->next) {
        if (except && ns->rtp == except->rel_target_port && strcmp(ns->name, except->name) == 0)
            continue;
        scsi_ua_add_locked(ns, asc, ascq);
    }
}

/* ---- called by the transport and the inventory -------------------------- */

void scsi_lu_report_luns_changed(scsiLu *lu)
{
    pthread_mutex_lock(&lu->lock);
    scsi_ua_all_locked(lu, NULL, ASC_REPORTED_LUNS_CHANGED, 0x0e);
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_nexus_add(scsiLu *lu, const scsiNexus *nexus)
{
    scsiNexusState *ns;

    if (!lu || !nexus)
        return;
    pthread_mutex_lock(&lu->lock);
    ns = scsi_nexus_find_locked(lu, nexus, true);
    if (ns) /* a re-login of a known nexus is a new nexus too */
        scsi_ua_add_locked(ns, ASC_POWER_ON_RESET, 0x00);
    pthread_mutex_unlock(&lu->lock);
}

void scsi_lu_nexus_remove(scsiLu *lu, const scsiNexus *nexus)
{
    scsiNexusState **pp, *ns;

    if (!lu || !nexus)
        return;
    pthread_mutex_lock(&lu->lock);
    for (pp = &lu->nexuses; (ns = *pp) != NULL; pp = &ns->next) {
        if (ns->rtp == nexus->rel_target_port && strcmp(ns->name, nexus->name) == 0) {
            *pp = ns->next;
            free(ns);
            break;
        }
    }
    /* I_T nexus loss releases a RESERVE(6/10) reservation (SPC-2 5.5.1);
     * persistent reservations survive it. */
    if (lu->res2_held && scsi_nexus_match(nexus, lu->res2_iport, lu->res2_rtp))
        lu->res2_held = false;
    pthread_mutex_unlock(&lu->lock);
}

bool scsi_lu_has_nexus(scsiLu *lu, const scsiNexus *nexus)
{
    if (!lu || !nexus)
        return false;
    pthread_mutex_lock(&lu->lock);
    bool found = scsi_nexus_find_locked(lu, nexus, false) != NULL;
    pthread_mutex_unlock(&lu->lock);
    return found;
}

char **scsi_lu_initiators(scsiLu *lu)
{
    pthread_mutex_lock(&lu->lock);
    size_t n = 0, k = 0;
    for (scsiNexusState *ns = lu->nexuses; ns; ns = ns->next)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (scsiNexusState *ns = lu->nexuses; out && ns; ns = ns->next) {
        const char *end = strstr(ns->name, ",i,");
        size_t len = end ? (size_t)(end - ns->name) : strlen(ns->name);
        bool dup = len == 0; /* commands without a nexus (tests) */
        for (size_t i = 0; i < k && !dup; i++)
            dup = strlen(out[i]) == len && strncmp(out[i], ns->name, len) == 0;
        if (dup)
            continue;
        if (!(out[k] = strndup(ns->name, len))) {
            for (size_t i = 0; i < k; i++)
                free(out[i]);
            free(out);
            out = NULL;
            break;
        }
        k++;
    }
    pthread_mutex_unlock(&lu->lock);
    return out;
}

void scsi_lu_reset(scsiLu *lu, const scsiNexus *by, uint8_t ascq)
{
    if (!lu)
        return;
    pthread_mutex_lock(&lu->lock);
    lu->res2_held = false;
    scsi_ua_all_locked(lu, by, ASC_POWER_ON_RESET, ascq ? ascq : 0x03);
    pthread_mutex_unlock(&lu->lock);
}
