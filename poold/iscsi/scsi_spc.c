/*
 * scsi_spc.c: SPC-4 primary commands — INQUIRY (standard data; VPD pages
 * live in scsi_vpd.c), REPORT LUNS, TEST UNIT READY, REQUEST SENSE,
 * RESERVE/RELEASE (6) and (10), PREVENT ALLOW MEDIUM REMOVAL and START STOP
 * UNIT. REPORT SUPPORTED OPERATION CODES lives with the opcode table it
 * reports (scsi_opcodes.c).
 *
 * Every Data-In producer builds its full response in a local buffer, puts
 * the full length into the header and copies min(length, allocation
 * length) to the transport's buffer (SPC-4 4.2.5.6: truncation is not an
 * error).
 *
 * The LU is a non-removable disk (RMB=0). START STOP UNIT is accepted as a
 * no-op apart from the cache flush a stop implies: a volume is shared by
 * every host of the cluster, and one host shutting down must not stop the
 * unit for the others. LOEJ is refused (nothing to eject).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "scsi_internal.h"

/* ---- INQUIRY -------------------------------------------------------------- */

static void pad_copy(uint8_t *dst, const char *src, size_t n)
{
    size_t l = src ? strnlen(src, n) : 0;

    memset(dst, ' ', n);
    for (size_t i = 0; i < l; i++) {
        uint8_t c = (uint8_t)src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? c : ' ';
    }
}

size_t spc_std_inquiry(const scsiLu *lu, uint8_t *buf, size_t max)
{
    uint8_t d[96];

    memset(d, 0, sizeof(d));
    d[0] = lu ? 0x00 : 0x7f; /* qualifier 000b/011b, direct access / unknown */
    d[1] = 0x00;             /* RMB=0 */
    d[2] = 0x06;             /* SPC-4 */
    d[3] = 0x12;             /* HiSup, response data format 2 */
    d[4] = sizeof(d) - 5;
    d[5] = 0x00; /* no TPGS, no 3PC, no PROTECT */
    d[6] = 0x00;
    d[7] = 0x02; /* CmdQue */
    pad_copy(&d[8], lu && lu->cfg.vendor[0] ? lu->cfg.vendor : "POOLD", 8);
    pad_copy(&d[16], lu && lu->cfg.product[0] ? lu->cfg.product : "VOLUME", 16);
    pad_copy(&d[32], lu && lu->cfg.revision[0] ? lu->cfg.revision : "0001", 4);
    /* version descriptors: SAM-5, iSCSI, SPC-4, SBC-3 (no version claimed) */
    put_be16(&d[58], 0x00a0);
    put_be16(&d[60], 0x0960);
    put_be16(&d[62], 0x0460);
    put_be16(&d[64], 0x04c0);
    if (max > sizeof(d))
        max = sizeof(d);
    memcpy(buf, d, max);
    return max;
}

int spc_prep_inquiry(scsiLu *lu, scsiCmd *cmd)
{
    bool evpd = cmd->cdb[1] & 0x01;
    uint8_t page = cmd->cdb[2];

    if (!evpd && page != 0) {
        scsi_sense_invalid_cdb(cmd, 2, -1);
        return -1;
    }
    if (evpd && !vpd_page_supported(lu, page)) {
        scsi_sense_invalid_cdb(cmd, 2, -1);
        return -1;
    }
    cmd->data_in_max = get_be16(&cmd->cdb[3]);
    return 0;
}

void spc_exec_inquiry(scsiLu *lu, scsiCmd *cmd)
{
    uint16_t alloc = get_be16(&cmd->cdb[3]);
    uint8_t buf[96];

    if (cmd->cdb[1] & 0x01) {
        vpd_exec(lu, cmd, cmd->cdb[2], alloc);
        return;
    }
    size_t n = spc_std_inquiry(lu, buf, sizeof(buf));
    scsi_data_in(cmd, buf, n, alloc);
}

/* ---- TEST UNIT READY / PREVENT ALLOW ---------------------------------------- */

int spc_prep_tur(scsiLu *lu, scsiCmd *cmd)
{
    return 0;
}

void spc_exec_tur(scsiLu *lu, scsiCmd *cmd)
{
    cmd->status = SCSI_STATUS_GOOD;
}

int spc_prep_prevent_allow(scsiLu *lu, scsiCmd *cmd)
{
    /* PREVENT 0 or 1 (the mask refuses 2 and 3); nothing is removable so
     * there is no state to keep. */
    return 0;
}

void spc_exec_nop(scsiLu *lu, scsiCmd *cmd)
{
    cmd->status = SCSI_STATUS_GOOD;
}

/* ---- START STOP UNIT ------------------------------------------------------------- */

int spc_prep_start_stop(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t pc = cmd->cdb[4] >> 4;

    /* SBC-3 power conditions: START_VALID, ACTIVE, IDLE, STANDBY,
     * LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0 */
    switch (pc) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x3:
    case 0x7:
    case 0xa:
    case 0xb:
        break;
    default:
        scsi_sense_invalid_cdb(cmd, 4, 7);
        return -1;
    }
    return 0;
}

void spc_exec_start_stop(scsiLu *lu, scsiCmd *cmd)
{
    bool start = cmd->cdb[4] & 0x01;
    bool no_flush = cmd->cdb[4] & 0x04;
    uint8_t pc = cmd->cdb[4] >> 4;

    if (pc == 0 && !start && !no_flush) {
        int r = lu->cfg.ops->flush(lu->cfg.ctx);
        if (r < 0) {
            scsi_sense_backing_error(cmd, r, true);
            return;
        }
    }
    cmd->status = SCSI_STATUS_GOOD;
}

/* ---- REQUEST SENSE --------------------------------------------------------------- */

int spc_prep_request_sense(scsiLu *lu, scsiCmd *cmd)
{
    cmd->data_in_max = cmd->cdb[4];
    return 0;
}

void spc_exec_request_sense(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t buf[32];
    uint8_t asc = 0, ascq = 0, key = SK_NO_SENSE;
    bool desc = cmd->cdb[1] & 0x01;
    scsiNexusState *ns;

    pthread_mutex_lock(&lu->lock);
    ns = scsi_nexus_find_locked(lu, scsi_cmd_nexus(cmd), true);
    if (scsi_ua_pop_locked(ns, &asc, &ascq))
        key = SK_UNIT_ATTENTION;
    pthread_mutex_unlock(&lu->lock);
    size_t n = scsi_sense_build(buf, sizeof(buf), desc, key, asc, ascq);
    scsi_data_in(cmd, buf, n, cmd->cdb[4]);
}

/* ---- REPORT LUNS ----------------------------------------------------------------- */

static void encode_lun(uint8_t *p, uint64_t lun)
{
    memset(p, 0, 8);
    if (lun < 256) {
        p[1] = (uint8_t)lun; /* peripheral device addressing, bus 0 */
    } else {
        p[0] = 0x40 | (uint8_t)((lun >> 8) & 0x3f); /* flat space addressing */
        p[1] = (uint8_t)lun;
    }
}

int spc_prep_report_luns(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t sel = cmd->cdb[2];
    uint32_t alloc = get_be32(&cmd->cdb[6]);

    if (sel != 0x00 && sel != 0x01 && sel != 0x02) {
        scsi_sense_invalid_cdb(cmd, 2, -1);
        return -1;
    }
    if (alloc < 16) {
        scsi_sense_invalid_cdb(cmd, 6, -1);
        return -1;
    }
    if (lu)
        cmd->data_in_max = alloc;
    return 0;
}

void spc_exec_report_luns(scsiLu *lu, scsiCmd *cmd)
{
    uint32_t alloc = get_be32(&cmd->cdb[6]);
    uint8_t sel = cmd->cdb[2];
    uint32_t limit = alloc < cmd->data_in_max ? alloc : cmd->data_in_max;
    uint8_t hdr[8], ent[8];
    size_t nluns = 0;
    static const uint64_t lun0 = 0;
    const uint64_t *luns = &lun0;
    size_t count = 1;

    if (cmd->luns && cmd->luns->luns) {
        luns = cmd->luns->luns;
        count = cmd->luns->nluns;
    } else if (cmd->luns) {
        count = 0;
    }
    if (sel == 0x01) /* well known logical units only: we have none */
        count = 0;
    for (size_t i = 0; i < count; i++)
        if (luns[i] < 16384)
            nluns++;

    memset(hdr, 0, sizeof(hdr));
    put_be32(hdr, (uint32_t)(nluns * 8));
    if (limit > 0 && !cmd->data_in) {
        scsi_sense(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE, 0);
        return;
    }
    uint32_t off = 0;
    uint32_t n = limit < 8 ? limit : 8;
    memcpy(cmd->data_in, hdr, n);
    off = n;
    for (size_t i = 0; i < count && off < limit; i++) {
        if (luns[i] >= 16384)
            continue;
        encode_lun(ent, luns[i]);
        n = limit - off < 8 ? limit - off : 8;
        memcpy(cmd->data_in + off, ent, n);
        off += n;
    }
    cmd->data_in_len = off;
}

/* ---- RESERVE / RELEASE (6) and (10) ----------------------------------------------- */

int spc_prep_reserve(scsiLu *lu, scsiCmd *cmd)
{
    return 0;
}

void spc_exec_reserve(scsiLu *lu, scsiCmd *cmd)
{
    const scsiNexus *nx = scsi_cmd_nexus(cmd);

    pthread_mutex_lock(&lu->lock);
    /* SPC-4 5.13.3: with persistent registrations, RESERVE conflicts */
    if (pr_any_registration_locked(lu) ||
        (lu->res2_held && !scsi_nexus_match(nx, lu->res2_iport, lu->res2_rtp))) {
        pthread_mutex_unlock(&lu->lock);
        scsi_reservation_conflict(cmd);
        return;
    }
    lu->res2_held = true;
    snprintf(lu->res2_iport, sizeof(lu->res2_iport), "%s", nx->name);
    lu->res2_rtp = nx->rel_target_port;
    pthread_mutex_unlock(&lu->lock);
}

void spc_exec_release(scsiLu *lu, scsiCmd *cmd)
{
    const scsiNexus *nx = scsi_cmd_nexus(cmd);

    pthread_mutex_lock(&lu->lock);
    if (pr_any_registration_locked(lu)) {
        pthread_mutex_unlock(&lu->lock);
        scsi_reservation_conflict(cmd);
        return;
    }
    /* a RELEASE from a nexus that does not hold the reservation is a no-op */
    if (lu->res2_held && scsi_nexus_match(nx, lu->res2_iport, lu->res2_rtp))
        lu->res2_held = false;
    pthread_mutex_unlock(&lu->lock);
}
