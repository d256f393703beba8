/*
 * scsi_opcodes.c: the opcode table — for every CDB the target accepts, its
 * length, the usage mask of the bits it implements, its reservation class
 * and the command set handlers (prepare, exec) that serve it — and REPORT
 * SUPPORTED OPERATION CODES, which reports exactly this table.
 *
 * The table names handlers of every command set, so it sits above them;
 * the dispatcher (scsi_core.c) looks commands up here. RSOC lives here
 * rather than in scsi_spc.c so that no command set has to call back up
 * into the table that names it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "scsi_internal.h"

/* clang-format off */
#define U6(...)  { __VA_ARGS__ }
static const scsiOpDesc op_table[] = {
    /* op    sa    len flags                              prc          usage */
    { 0x00, 0, 6, OPF_RES2_OK, PRC_ALLOW, U6(0x00, 0, 0, 0, 0, 0),
      spc_prep_tur, spc_exec_tur, 5 },
    { 0x03, 0, 6, OPF_NO_UA | OPF_RES2_OK, PRC_ALLOW, U6(0x03, 0x01, 0, 0, 0xff, 0),
      spc_prep_request_sense, spc_exec_request_sense, 5 },
    { 0x08, 0, 6, 0, PRC_READ, U6(0x08, 0x1f, 0xff, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0x0a, 0, 6, 0, PRC_WRITE, U6(0x0a, 0x1f, 0xff, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0x12, 0, 6, OPF_NO_UA | OPF_RES2_OK, PRC_ALLOW, U6(0x12, 0x01, 0xff, 0xff, 0xff, 0),
      spc_prep_inquiry, spc_exec_inquiry, 5 },
    { 0x15, 0, 6, 0, PRC_WRITE, U6(0x15, 0x11, 0, 0, 0xff, 0),
      mode_prep_select, mode_exec_select, 5 },
    { 0x16, 0, 6, OPF_RESERVE, PRC_ALLOW, U6(0x16, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_reserve, 5 },
    { 0x17, 0, 6, OPF_RESERVE, PRC_ALLOW, U6(0x17, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_release, 5 },
    { 0x1a, 0, 6, 0, PRC_READ, U6(0x1a, 0x08, 0xff, 0xff, 0xff, 0),
      mode_prep_sense, mode_exec_sense, 5 },
    { 0x1b, 0, 6, 0, PRC_WRITE, U6(0x1b, 0x01, 0, 0x0f, 0xf5, 0),
      spc_prep_start_stop, spc_exec_start_stop, 30 },
    { 0x1e, 0, 6, OPF_RES2_OK, PRC_PREVENT, U6(0x1e, 0, 0, 0, 0x01, 0),
      spc_prep_prevent_allow, spc_exec_nop, 5 },
    { 0x25, 0, 10, 0, PRC_ALLOW, U6(0x25, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0),
      sbc_prep_read_capacity10, sbc_exec_read_capacity10, 5 },
    { 0x28, 0, 10, 0, PRC_READ, U6(0x28, 0x18, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0x2a, 0, 10, 0, PRC_WRITE, U6(0x2a, 0x18, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0x2e, 0, 10, 0, PRC_WRITE, U6(0x2e, 0x12, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_write_blocks, sbc_exec_write_verify, 30 },
    { 0x2f, 0, 10, 0, PRC_READ, U6(0x2f, 0x16, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_verify, sbc_exec_verify, 60 },
    { 0x34, 0, 10, 0, PRC_READ, U6(0x34, 0x02, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_prefetch, sbc_exec_prefetch, 5 },
    { 0x35, 0, 10, 0, PRC_WRITE, U6(0x35, 0x02, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_sync_cache, sbc_exec_sync_cache, 60 },
    { 0x41, 0, 10, OPF_THIN_BITS, PRC_WRITE,
      U6(0x41, 0x00, 0xff, 0xff, 0xff, 0xff, 0x1f, 0xff, 0xff, 0),
      sbc_prep_write_same, sbc_exec_write_same, 120 },
    { 0x42, 0, 10, OPF_THIN_ONLY, PRC_WRITE, U6(0x42, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0),
      sbc_prep_unmap, sbc_exec_unmap, 120 },
    { 0x55, 0, 10, 0, PRC_WRITE, U6(0x55, 0x11, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      mode_prep_select, mode_exec_select, 5 },
    { 0x56, 0, 10, OPF_RESERVE, PRC_ALLOW, U6(0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_reserve, 5 },
    { 0x57, 0, 10, OPF_RESERVE, PRC_ALLOW, U6(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      spc_prep_reserve, spc_exec_release, 5 },
    { 0x5a, 0, 10, 0, PRC_READ, U6(0x5a, 0x18, 0xff, 0xff, 0, 0, 0, 0xff, 0xff, 0),
      mode_prep_sense, mode_exec_sense, 5 },
    { 0x5e, 0x00, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x00, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5e, 0x01, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x01, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5e, 0x02, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x02, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5e, 0x03, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5e, 0x03, 0, 0, 0, 0, 0, 0xff, 0xff, 0),
      pr_prep_in, pr_exec_in, 5 },
    { 0x5f, 0x00, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x00, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x01, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x01, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x02, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x02, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x03, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x03, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x04, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x04, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x05, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x05, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x06, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x06, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x5f, 0x07, 10, OPF_HAS_SA, PRC_ALLOW, U6(0x5f, 0x07, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      pr_prep_out, pr_exec_out, 5 },
    { 0x88, 0, 16, 0, PRC_READ, U6(0x88, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0x89, 0, 16, 0, PRC_WRITE, U6(0x89, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0, 0, 0, 0xff, 0x1f, 0),
      sbc_prep_caw, sbc_exec_caw, 30 },
    { 0x8a, 0, 16, 0, PRC_WRITE, U6(0x8a, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0x8b, 0, 16, 0, PRC_WRITE, U6(0x8b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_write_blocks, sbc_exec_orwrite, 30 },
    { 0x8e, 0, 16, 0, PRC_WRITE, U6(0x8e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_write_blocks, sbc_exec_write_verify, 30 },
    { 0x8f, 0, 16, 0, PRC_READ, U6(0x8f, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_verify, sbc_exec_verify, 60 },
    { 0x90, 0, 16, 0, PRC_READ, U6(0x90, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_prefetch, sbc_exec_prefetch, 5 },
    { 0x91, 0, 16, 0, PRC_WRITE, U6(0x91, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_sync_cache, sbc_exec_sync_cache, 60 },
    { 0x93, 0, 16, OPF_THIN_BITS, PRC_WRITE,
      U6(0x93, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0x1f, 0),
      sbc_prep_write_same, sbc_exec_write_same, 120 },
    { 0x9e, 0x10, 16, OPF_HAS_SA, PRC_ALLOW,
      U6(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0),
      sbc_prep_read_capacity16, sbc_exec_read_capacity16, 5 },
    { 0x9e, 0x12, 16, OPF_HAS_SA, PRC_READ,
      U6(0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
         0),
      sbc_prep_get_lba_status, sbc_exec_get_lba_status, 5 },
    { 0xa0, 0, 12, OPF_NO_UA | OPF_RES2_OK, PRC_ALLOW,
      U6(0xa0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0),
      spc_prep_report_luns, spc_exec_report_luns, 5 },
    { 0xa3, 0x0c, 12, OPF_HAS_SA | OPF_RES2_OK, PRC_ALLOW,
      U6(0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0),
      spc_prep_rsoc, spc_exec_rsoc, 5 },
    { 0xa8, 0, 12, 0, PRC_READ,
      U6(0xa8, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_read, 30 },
    { 0xaa, 0, 12, 0, PRC_WRITE,
      U6(0xaa, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_rw, sbc_exec_write, 30 },
    { 0xae, 0, 12, 0, PRC_WRITE,
      U6(0xae, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_write_blocks, sbc_exec_write_verify, 30 },
    { 0xaf, 0, 12, 0, PRC_READ,
      U6(0xaf, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0),
      sbc_prep_verify, sbc_exec_verify, 60 },
};
/* clang-format on */

#define OP_COUNT (sizeof(op_table) / sizeof(op_table[0]))

size_t scsi_op_count(void)
{
    return OP_COUNT;
}

const scsiOpDesc *scsi_op_at(size_t i)
{
    return i < OP_COUNT ? &op_table[i] : NULL;
}

bool scsi_op_available(const scsiLu *lu, const scsiOpDesc *op)
{
    if ((op->flags & OPF_THIN_ONLY) && !lu->thin)
        return false;
    return true;
}

void scsi_op_usage(const scsiLu *lu, const scsiOpDesc *op, uint8_t *usage)
{
    memcpy(usage, op->usage, op->cdb_len);
    if ((op->flags & OPF_THIN_BITS) && lu->thin)
        usage[1] |= 0x08;
}

/* Table lookup. *opcode_known tells an unknown service action of a known
 * opcode (INVALID FIELD IN CDB) from an unknown opcode. */
const scsiOpDesc *scsi_op_lookup(const scsiLu *lu, uint8_t opcode, uint8_t sa, bool *opcode_known)
{
    bool known = false;

    for (size_t i = 0; i < OP_COUNT; i++) {
        const scsiOpDesc *op = &op_table[i];
        if (op->opcode != opcode || (lu && !scsi_op_available(lu, op)))
            continue;
        known = true;
        if (!(op->flags & OPF_HAS_SA) || op->sa == sa) {
            if (opcode_known)
                *opcode_known = true;
            return op;
        }
    }
    if (opcode_known)
        *opcode_known = known;
    return NULL;
}

/* ---- REPORT SUPPORTED OPERATION CODES ---------------------------------------------- */

int spc_prep_rsoc(scsiLu *lu, scsiCmd *cmd)
{
    uint8_t opt = cmd->cdb[2] & 0x07;

    if (opt > 3) {
        scsi_sense_invalid_cdb(cmd, 2, 2);
        return -1;
    }
    cmd->data_in_max = get_be32(&cmd->cdb[6]);
    return 0;
}

static size_t put_timeouts(uint8_t *p, const scsiOpDesc *op)
{
    memset(p, 0, 12);
    put_be16(p, 0x000a);
    put_be32(p + 4, op->timeout_s);     /* nominal */
    put_be32(p + 8, op->timeout_s * 2); /* recommended */
    return 12;
}

void spc_exec_rsoc(scsiLu *lu, scsiCmd *cmd)
{
    bool rctd = cmd->cdb[2] & 0x80;
    uint8_t opt = cmd->cdb[2] & 0x07;
    uint8_t req_op = cmd->cdb[3];
    uint16_t req_sa = get_be16(&cmd->cdb[4]);
    uint32_t alloc = get_be32(&cmd->cdb[6]);
    uint8_t buf[4 + 64 * 20 + 64];
    size_t len = 0;

    memset(buf, 0, sizeof(buf));
    if (opt == 0) {
        len = 4;
        for (size_t i = 0; i < scsi_op_count(); i++) {
            const scsiOpDesc *op = scsi_op_at(i);
            if (!scsi_op_available(lu, op))
                continue;
            if (len + 20 > sizeof(buf))
                break;
            uint8_t *d = &buf[len];
            d[0] = op->opcode;
            put_be16(&d[2], (op->flags & OPF_HAS_SA) ? op->sa : 0);
            d[5] = ((op->flags & OPF_HAS_SA) ? 0x01 : 0) | (rctd ? 0x02 : 0);
            put_be16(&d[6], op->cdb_len);
            len += 8;
            if (rctd)
                len += put_timeouts(&buf[len], op);
        }
        put_be32(buf, (uint32_t)(len - 4));
    } else {
        const scsiOpDesc *op = NULL;
        bool has_sa = false;
        /* does the opcode have service actions at all? */
        for (size_t i = 0; i < scsi_op_count(); i++) {
            const scsiOpDesc *o = scsi_op_at(i);
            if (o->opcode == req_op && scsi_op_available(lu, o) && (o->flags & OPF_HAS_SA))
                has_sa = true;
        }
        if (opt == 1 && has_sa) {
            scsi_sense_invalid_cdb(cmd, 2, 2);
            return;
        }
        if (opt == 2 && !has_sa) {
            scsi_sense_invalid_cdb(cmd, 2, 2);
            return;
        }
        if (!has_sa || req_sa <= 0x1f)
            op = scsi_op_lookup(lu, req_op, has_sa ? (uint8_t)req_sa : 0, NULL);
        if (op && !has_sa && opt == 3 && req_sa != 0)
            op = NULL;
        if (!op) {
            buf[1] = 0x01; /* not supported */
            len = 4;
        } else {
            buf[1] = 0x03 | (rctd ? 0x80 : 0); /* supported per standard */
            put_be16(&buf[2], op->cdb_len);
            scsi_op_usage(lu, op, &buf[4]);
            len = 4 + op->cdb_len;
            if (rctd)
                len += put_timeouts(&buf[len], op);
        }
    }
    scsi_data_in(cmd, buf, len, alloc);
}
