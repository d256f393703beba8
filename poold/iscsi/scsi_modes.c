/*
 * scsi_modes.c: MODE SENSE (6)/(10) and MODE SELECT (6)/(10).
 *
 * Pages (no subpages):
 *   08h caching                WCE = cfg->write_cache (honest: only set when
 *                              SYNCHRONIZE CACHE really flushes); RCD=1 (no
 *                              read cache: the data path is O_DIRECT).
 *                              Nothing changeable.
 *   0Ah control                D_SENSE=0, GLTSD=1, QERR=0, TAS=0, queue
 *                              algorithm modifier 1 (unrestricted). SWP is
 *                              changeable: it makes the LU software write
 *                              protected (writes -> DATA PROTECT 27/02).
 *   1Ch informational exceptions: all zero, nothing changeable.
 *   3Fh all of the above.
 *
 * Page control: current, changeable and default are reported; saved
 * values are not kept (39/00 SAVING PARAMETERS NOT SUPPORTED; MODE SELECT
 * with SP=1 is refused the same way). MODE SELECT accepts a page only if
 * every bit that differs from the current value is changeable, else
 * INVALID FIELD IN PARAMETER LIST with the offending byte; a change takes
 * effect immediately and raises MODE PARAMETERS CHANGED (2A/01) on every
 * other I_T nexus.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "scsi_internal.h"

enum { PC_CURRENT = 0, PC_CHANGEABLE = 1, PC_DEFAULT = 2, PC_SAVED = 3 };

/* Build one page; returns its length or 0 if the page does not exist. */
static size_t build_page(const scsiLu *lu, uint8_t page, int pc, bool swp, uint8_t *p)
{
    switch (page) {
    case 0x08:
        memset(p, 0, 20);
        p[0] = 0x08;
        p[1] = 0x12;
        if (pc != PC_CHANGEABLE)
            p[2] = (lu->cfg.write_cache ? 0x04 : 0) | 0x01; /* WCE, RCD */
        return 20;
    case 0x0a:
        memset(p, 0, 12);
        p[0] = 0x0a;
        p[1] = 0x0a;
        if (pc == PC_CHANGEABLE) {
            p[4] = 0x08; /* SWP */
        } else {
            p[2] = 0x02; /* GLTSD */
            p[3] = 0x10; /* queue algorithm modifier 1 */
            p[4] = (pc == PC_CURRENT && swp) ? 0x08 : 0x00;
            put_be16(&p[8], 0xffff); /* busy timeout: unlimited */
        }
        return 12;
    case 0x1c:
        memset(p, 0, 12);
        p[0] = 0x1c;
        p[1] = 0x0a;
        return 12;
    default:
        return 0;
    }
}

static const uint8_t page_order[] = {0x08, 0x0a, 0x1c};

int mode_prep_sense(scsiLu *lu, scsiCmd *cmd)
{
    bool ten = cmd->cdb[0] == 0x5a;
    uint8_t page = cmd->cdb[2] & 0x3f;
    uint8_t pc = cmd->cdb[2] >> 6;
    uint8_t sub = cmd->cdb[3];

    if (pc == PC_SAVED) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS_UNSUP, 0);
        return -1;
    }
    if (page != 0x3f) {
        uint8_t tmp[32];
        if (build_page(lu, page, pc, false, tmp) == 0) {
            scsi_sense_invalid_cdb(cmd, 2, 5);
            return -1;
        }
        if (sub != 0) {
            scsi_sense_invalid_cdb(cmd, 3, -1);
            return -1;
        }
    } else if (sub != 0 && sub != 0xff) {
        scsi_sense_invalid_cdb(cmd, 3, -1);
        return -1;
    }
    cmd->data_in_max = ten ? get_be16(&cmd->cdb[7]) : cmd->cdb[4];
    return 0;
}

void mode_exec_sense(scsiLu *lu, scsiCmd *cmd)
{
    bool ten = cmd->cdb[0] == 0x5a;
    bool dbd = cmd->cdb[1] & 0x08;
    bool llbaa = ten && (cmd->cdb[1] & 0x10);
    uint8_t page = cmd->cdb[2] & 0x3f;
    int pc = cmd->cdb[2] >> 6;
    uint32_t alloc = ten ? get_be16(&cmd->cdb[7]) : cmd->cdb[4];
    uint8_t b[256];
    size_t hdr = ten ? 8 : 4, off, bdlen = 0;
    uint64_t nblocks = scsi_lu_nblocks(lu);
    bool swp;

    pthread_mutex_lock(&lu->lock);
    swp = lu->swp;
    pthread_mutex_unlock(&lu->lock);

    memset(b, 0, sizeof(b));
    off = hdr;
    if (!dbd) {
        if (llbaa) {
            put_be64(&b[off], nblocks);
            put_be32(&b[off + 12], lu->cfg.block_size);
            bdlen = 16;
        } else {
            put_be32(&b[off], nblocks > 0xffffffffull ? 0xffffffffu : (uint32_t)nblocks);
            put_be32(&b[off + 4], lu->cfg.block_size & 0xffffff); /* density 0 */
            bdlen = 8;
        }
        off += bdlen;
    }
    if (page == 0x3f) {
        for (size_t i = 0; i < sizeof(page_order); i++)
            off += build_page(lu, page_order[i], pc, swp, &b[off]);
    } else {
        off += build_page(lu, page, pc, swp, &b[off]);
    }
    uint8_t dsp = 0x10; /* DPOFUA */
    if (lu->cfg.read_only || __atomic_load_n(&lu->wp, __ATOMIC_ACQUIRE) || swp)
        dsp |= 0x80; /* WP */
    if (ten) {
        put_be16(&b[0], (uint16_t)(off - 2));
        b[3] = dsp;
        b[4] = llbaa && bdlen ? 0x01 : 0x00;
        put_be16(&b[6], (uint16_t)bdlen);
    } else {
        b[0] = (uint8_t)(off - 1);
        b[2] = dsp;
        b[3] = (uint8_t)bdlen;
    }
    scsi_data_in(cmd, b, off, alloc);
}

/* ---- MODE SELECT --------------------------------------------------------------- */

int mode_prep_select(scsiLu *lu, scsiCmd *cmd)
{
    bool ten = cmd->cdb[0] == 0x55;
    uint32_t len = ten ? get_be16(&cmd->cdb[7]) : cmd->cdb[4];

    if (cmd->cdb[1] & 0x01) { /* SP: we cannot save */
        scsi_sense_invalid_cdb(cmd, 1, 0);
        return -1;
    }
    if (!(cmd->cdb[1] & 0x10) && len > 0) { /* PF=0: vendor specific format */
        scsi_sense_invalid_cdb(cmd, 1, 4);
        return -1;
    }
    cmd->data_out_needed = len;
    return 0;
}

void mode_exec_select(scsiLu *lu, scsiCmd *cmd)
{
    bool ten = cmd->cdb[0] == 0x55;
    uint32_t len = cmd->data_out_needed;
    const uint8_t *d = cmd->data_out;
    size_t hdr = ten ? 8 : 4, off, bdlen;
    bool new_swp;

    if (len > cmd->data_out_len)
        len = cmd->data_out_len;
    if (cmd->data_out_needed == 0)
        return; /* an empty parameter list is not an error */
    if (len < hdr || !d) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return;
    }
    bdlen = ten ? get_be16(&d[6]) : d[3];
    if (ten && (d[4] & 0x01) && bdlen && bdlen != 16) {
        scsi_sense_invalid_param(cmd, 6, -1);
        return;
    }
    if (bdlen && bdlen != 8 && bdlen != 16) {
        scsi_sense_invalid_param(cmd, ten ? 6 : 3, -1);
        return;
    }
    if (hdr + bdlen > len) {
        scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
        return;
    }
    if (bdlen) {
        /* block descriptor: the block length cannot change */
        const uint8_t *bd = d + hdr;
        uint32_t bl = bdlen == 16 ? get_be32(bd + 12) : get_be24(bd + 5);
        if (bl != lu->cfg.block_size) {
            scsi_sense_invalid_param(cmd, (uint16_t)(hdr + (bdlen == 16 ? 12 : 5)), -1);
            return;
        }
    }
    pthread_mutex_lock(&lu->lock);
    new_swp = lu->swp;
    pthread_mutex_unlock(&lu->lock);

    off = hdr + bdlen;
    while (off < len) {
        uint8_t cur[32], chg[32];
        const uint8_t *p = d + off;
        if (len - off < 2) {
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
            return;
        }
        uint8_t page = p[0] & 0x3f;
        if (p[0] & 0x40) { /* SPF: sub-page format, no subpages here */
            scsi_sense_invalid_param(cmd, (uint16_t)off, 6);
            return;
        }
        size_t plen = build_page(lu, page, PC_CURRENT, new_swp, cur);
        if (plen == 0) {
            scsi_sense_invalid_param(cmd, (uint16_t)off, 5);
            return;
        }
        build_page(lu, page, PC_CHANGEABLE, new_swp, chg);
        if ((size_t)p[1] + 2 != plen) {
            scsi_sense_invalid_param(cmd, (uint16_t)(off + 1), -1);
            return;
        }
        if (len - off < plen) {
            scsi_sense(cmd, SK_ILLEGAL_REQUEST, ASC_PARAM_LIST_LENGTH_ERROR, 0);
            return;
        }
        for (size_t i = 2; i < plen; i++) {
            uint8_t diff = (uint8_t)((p[i] ^ cur[i]) & ~chg[i]);
            if (diff) {
                scsi_sense_invalid_param(cmd, (uint16_t)(off + i), 31 - __builtin_clz(diff));
                return;
            }
        }
        if (page == 0x0a)
            new_swp = (p[4] & 0x08) != 0;
        off += plen;
    }

    pthread_mutex_lock(&lu->lock);
    if (new_swp != lu->swp) {
        lu->swp = new_swp;
        scsi_ua_all_locked(lu, scsi_cmd_nexus(cmd), ASC_PARAMETERS_CHANGED,
                           ASCQ_MODE_PARAMETERS_CHANGED);
    }
    pthread_mutex_unlock(&lu->lock);
}
