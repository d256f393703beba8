/*
 * scsi_vpd.c: INQUIRY vital product data pages.
 *
 *   00h supported pages        80h unit serial number (cfg->serial)
 *   83h device identification  86h extended INQUIRY data
 *   B0h block limits           B1h block device characteristics
 *   B2h logical block provisioning
 *
 * Identity (serial, NAA, T10 vendor id) comes from the volume through
 * scsiLuConfig and is therefore identical on every host and portal; the
 * target port descriptors come from the nexus the command arrived on.
 * What B0/B2 advertise is exactly what scsi_sbc.c implements: UNMAP and
 * WRITE SAME with UNMAP only when the backing can deallocate, WSNZ=1
 * (WRITE SAME with zero blocks is refused), no ATOMIC writes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "scsi_internal.h"

static const uint8_t vpd_pages[] = {0x00, 0x80, 0x83, 0x86, 0xb0, 0xb1, 0xb2};

bool vpd_page_supported(const scsiLu *lu, uint8_t page)
{
    for (size_t i = 0; i < sizeof(vpd_pages); i++)
        if (vpd_pages[i] == page)
            return true;
    return false;
}

/* Designation descriptor header; returns bytes used. */
static size_t desig(uint8_t *p, uint8_t proto, uint8_t codeset, bool piv, uint8_t assoc,
                    uint8_t type, const void *data, size_t len)
{
    p[0] = (uint8_t)((proto << 4) | codeset);
    p[1] = (uint8_t)((piv ? 0x80 : 0) | (assoc << 4) | type);
    p[2] = 0;
    p[3] = (uint8_t)len;
    memcpy(p + 4, data, len);
    return 4 + len;
}

static size_t vpd_83(const scsiLu *lu, const scsiNexus *nx, uint8_t *b)
{
    size_t off = 4;
    uint8_t tmp[256];
    size_t n;

    /* NAA, logical unit: the 8 bytes the LU was given (poold: NAA 3h,
     * locally assigned, from the volume uuid; see target_sync.c lu_identity) */
    off += desig(b + off, 0, 1, false, 0, 3, lu->cfg.naa, sizeof(lu->cfg.naa));

    /* T10 vendor identification: vendor + volume uuid */
    memset(tmp, ' ', 8);
    n = strnlen(lu->cfg.vendor, 8);
    memcpy(tmp, lu->cfg.vendor[0] ? lu->cfg.vendor : "POOLD", n ? n : 5);
    n = strnlen(lu->cfg.uuid, sizeof(lu->cfg.uuid) - 1);
    if (n == 0) {
        n = strnlen(lu->cfg.serial, sizeof(lu->cfg.serial) - 1);
        memcpy(tmp + 8, lu->cfg.serial, n);
    } else {
        memcpy(tmp + 8, lu->cfg.uuid, n);
    }
    off += desig(b + off, 0, 2, false, 0, 1, tmp, 8 + n);

    if (nx->target_port_name[0]) {
        /* relative target port (iSCSI, target port association) */
        memset(tmp, 0, 4);
        put_be16(tmp + 2, nx->rel_target_port);
        off += desig(b + off, 5, 1, true, 1, 4, tmp, 4);

        /* SCSI name string of the target port, null terminated, padded to 4 */
        n = strnlen(nx->target_port_name, 223);
        memset(tmp, 0, sizeof(tmp));
        memcpy(tmp, nx->target_port_name, n);
        n = (n + 1 + 3) & ~(size_t)3;
        off += desig(b + off, 5, 3, true, 1, 8, tmp, n);

        /* SCSI name string of the target device: the port name without ",t,..." */
        const char *comma = strstr(nx->target_port_name, ",t,");
        size_t tl =
            comma ? (size_t)(comma - nx->target_port_name) : strnlen(nx->target_port_name, 223);
        if (tl > 223)
            tl = 223;
        memset(tmp, 0, sizeof(tmp));
        memcpy(tmp, nx->target_port_name, tl);
        tl = (tl + 1 + 3) & ~(size_t)3;
        off += desig(b + off, 5, 3, true, 2, 8, tmp, tl);
    }
    put_be16(b + 2, (uint16_t)(off - 4));
    return off;
}

void vpd_exec(scsiLu *lu, scsiCmd *cmd, uint8_t page, uint16_t alloc)
{
    uint8_t b[1024];
    size_t len = 0;
    uint32_t bs = lu->cfg.block_size;
    uint32_t gran = bs < 4096 ? 4096 / bs : 1;

    memset(b, 0, sizeof(b));
    b[0] = 0x00; /* qualifier 0, direct access */
    b[1] = page;
    switch (page) {
    case 0x00:
        memcpy(b + 4, vpd_pages, sizeof(vpd_pages));
        put_be16(b + 2, sizeof(vpd_pages));
        len = 4 + sizeof(vpd_pages);
        break;
    case 0x80: {
        size_t n = strnlen(lu->cfg.serial, sizeof(lu->cfg.serial) - 1);
        memcpy(b + 4, lu->cfg.serial, n);
        put_be16(b + 2, (uint16_t)n);
        len = 4 + n;
        break;
    }
    case 0x83:
        len = vpd_83(lu, scsi_cmd_nexus(cmd), b);
        break;
    case 0x86:
        put_be16(b + 2, 0x3c);
        b[5] = 0x01;                              /* SIMPSUP */
        b[6] = lu->cfg.write_cache ? 0x01 : 0x00; /* V_SUP: volatile cache */
        b[7] = 0x01;                              /* LUICLR */
        len = 64;
        break;
    case 0xb0: {
        uint32_t caw = SCSI_CAW_MAX_BLOCKS;
        if (caw > lu->max_xfer / 2)
            caw = lu->max_xfer / 2;
        if (caw > 255)
            caw = 255;
        put_be16(b + 2, 0x3c);
        b[4] = 0x01; /* WSNZ */
        b[5] = (uint8_t)caw;
        put_be16(b + 6, (uint16_t)gran);
        put_be32(b + 8, lu->max_xfer);
        put_be32(b + 12, lu->max_xfer < (1048576 / bs) ? lu->max_xfer : 1048576 / bs);
        put_be32(b + 16, 0); /* max prefetch: none */
        if (lu->thin) {
            put_be32(b + 20, SCSI_UNMAP_MAX_LBAS);
            put_be32(b + 24, SCSI_UNMAP_MAX_DESCS);
            put_be32(b + 28, gran);
            put_be32(b + 32, 0x80000000u); /* UGAVALID, alignment 0 */
        }
        put_be64(b + 36, SCSI_WS_MAX_BLOCKS);
        len = 64;
        break;
    }
    case 0xb1:
        put_be16(b + 2, 0x3c);
        put_be16(b + 4, 0x0000); /* medium rotation rate not reported */
        len = 64;
        break;
    case 0xb2:
        put_be16(b + 2, 0x04);
        if (lu->thin) {
            b[5] = 0x80 | 0x40 | 0x20 | (lu->cfg.unmap_zeroes ? 0x04 : 0); /* LBPU LBPWS LBPWS10 */
            b[6] = 0x02;                                                   /* thin provisioned */
        }
        len = 8;
        break;
    default:
        scsi_sense_invalid_cdb(cmd, 2, -1);
        return;
    }
    scsi_data_in(cmd, b, len, alloc);
}
