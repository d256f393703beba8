/*
 * scsi_sense.c: sense data (SPC-4 4.5).
 *
 * Every CHECK CONDITION the SCSI layer returns carries fixed-format sense
 * data (response code 70h, 18 bytes): the control mode page reports
 * D_SENSE=0 and it is not changeable, so descriptor format is produced only
 * when REQUEST SENSE asks for it with DESC=1.
 *
 *   byte 0      70h (| 80h VALID when the INFORMATION field is meaningful)
 *   byte 2      sense key
 *   bytes 3-6   INFORMATION (e.g. the miscompare offset, SBC-3 4.x)
 *   byte 7      additional sense length (10)
 *   bytes 12,13 ASC, ASCQ
 *   bytes 15-17 sense-key specific: for ILLEGAL REQUEST the field pointer
 *               (SKSV, C/D, BPV, bit pointer, byte offset) so an initiator
 *               can see which CDB or parameter byte was refused.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <string.h>

#include "scsi_internal.h"

size_t scsi_sense_build(uint8_t *buf, size_t max, bool desc, uint8_t key, uint8_t asc, uint8_t ascq)
{
    uint8_t s[18];
    size_t n;

    memset(s, 0, sizeof(s));
    if (desc) {
        s[0] = 0x72;
        s[1] = key & 0xf;
        s[2] = asc;
        s[3] = ascq;
        s[7] = 0;
        n = 8;
    } else {
        s[0] = 0x70;
        s[2] = key & 0xf;
        s[7] = 10;
        s[12] = asc;
        s[13] = ascq;
        n = 18;
    }
    if (n > max)
        n = max;
    memcpy(buf, s, n);
    return n;
}

void scsi_sense(scsiCmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq)
{
    cmd->status = SCSI_STATUS_CHECK_CONDITION;
    cmd->sense_len =
        (uint32_t)scsi_sense_build(cmd->sense, sizeof(cmd->sense), false, key, asc, ascq);
}

void scsi_sense_info(scsiCmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq, uint32_t info)
{
    scsi_sense(cmd, key, asc, ascq);
    cmd->sense[0] |= 0x80;
    put_be32(&cmd->sense[3], info);
}

void scsi_sense_field(scsiCmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq, bool in_cdb,
                      uint16_t byte, int bit)
{
    scsi_sense(cmd, key, asc, ascq);
    cmd->sense[15] = 0x80 | (in_cdb ? 0x40 : 0);
    if (bit >= 0 && bit <= 7)
        cmd->sense[15] |= 0x08 | (uint8_t)bit;
    put_be16(&cmd->sense[16], byte);
}

void scsi_sense_invalid_cdb(scsiCmd *cmd, uint16_t byte, int bit)
{
    scsi_sense_field(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_CDB, 0, true, byte, bit);
}

void scsi_sense_invalid_param(scsiCmd *cmd, uint16_t byte, int bit)
{
    scsi_sense_field(cmd, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD_IN_PARAM, 0, false, byte, bit);
}

void scsi_reservation_conflict(scsiCmd *cmd)
{
    cmd->status = SCSI_STATUS_RESERVATION_CONFLICT;
    cmd->sense_len = 0;
}

/* Map a backing store error (-errno) to sense data. */
void scsi_sense_backing_error(scsiCmd *cmd, int err, bool write)
{
    switch (-err) {
    case ENOSPC:
        /* SPACE ALLOCATION FAILED WRITE PROTECT */
        scsi_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED, 0x07);
        break;
    case EROFS:
    case EPERM:
    case EACCES:
        scsi_sense(cmd, SK_DATA_PROTECT, ASC_WRITE_PROTECTED, 0x00);
        break;
    case ENOMEM:
    case EAGAIN:
        /* resources: let the initiator retry */
        scsi_sense(cmd, SK_ABORTED_COMMAND, 0x55, 0x03); /* INSUFFICIENT RESOURCES */
        break;
    default:
        if (write)
            scsi_sense(cmd, SK_MEDIUM_ERROR, ASC_WRITE_ERROR, 0x00);
        else
            scsi_sense(cmd, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ_ERROR, 0x00);
        break;
    }
}

void scsi_data_in(scsiCmd *cmd, const void *src, size_t len, size_t alloc)
{
    size_t n = len;

    if (n > alloc)
        n = alloc;
    if (n > cmd->data_in_max)
        n = cmd->data_in_max;
    if (n > 0 && cmd->data_in == NULL) {
        scsi_sense(cmd, SK_HARDWARE_ERROR, ASC_INTERNAL_TARGET_FAILURE, 0x00);
        return;
    }
    if (n > 0)
        memcpy(cmd->data_in, src, n);
    cmd->data_in_len = (uint32_t)n;
}
