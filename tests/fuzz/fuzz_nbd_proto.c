// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_nbd_proto.c: libFuzzer target for what poold's private NBD server
 * and qemu-img plumbing parse: NBD client flags, option headers, GO/INFO
 * data and transmission requests (poold/nbd_proto.c), and qemu-img's
 * progress lines and JSON output (poold/qemu_img.c).
 *
 * The first byte picks the export's limits (size, writable); the rest is
 * read by every parser. Properties beyond "does not crash": an accepted
 * option is never longer than NBD_OPT_MAX_LEN; an accepted GO names an
 * export lying inside the data; a request nbd_check_request accepts is
 * aligned, inside the export, at most 32 MiB and a write only on a
 * writable export; every refusal comes with a reason; parsed progress is
 * within 0..100.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nbd_proto.h"
#include "qemu_img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why;
    uint32_t flags;

    if (size < 1)
        return 0;
    nbdExportLimits lim = {.size = (uint64_t)(data[0] & 0x3f) * 65536 + 4096,
                           .block_size = (data[0] & 0x40) ? 512 : 4096,
                           .writable = data[0] & 0x80,
                           .can_trim = data[0] & 1};
    lim.size -= lim.size % lim.block_size;
    data++, size--;

    if (size >= 4) {
        why = NULL;
        if (nbd_decode_client_flags(data, &flags, &why) < 0 && why == NULL)
            abort();
    }
    if (size >= NBD_OPT_HDR_LEN) {
        nbdOptHdr h;
        why = NULL;
        if (nbd_decode_opt_header(data, &h, &why) == 0) {
            if (h.length > NBD_OPT_MAX_LEN)
                abort();
        } else if (why == NULL) {
            abort();
        }
    }
    nbdGoRequest go;
    why = NULL;
    if (nbd_parse_go(data, size, &go, &why) == 0) {
        if (go.name_len > NBD_NAME_MAX || (const uint8_t *)go.name < data ||
            (const uint8_t *)go.name + go.name_len > data + size ||
            memchr(go.name, 0, go.name_len) != NULL)
            abort();
    } else if (why == NULL) {
        abort();
    }
    if (size >= NBD_REQUEST_LEN) {
        nbdRequest r;
        why = NULL;
        if (nbd_decode_request(data, &r, &why) == 0) {
            uint32_t err = nbd_check_request(&r, &lim, &why);
            if (err == 0 && r.type != NBD_CMD_FLUSH && r.type != NBD_CMD_DISC) {
                bool write = r.type != NBD_CMD_READ;
                if (r.length == 0 || r.offset % lim.block_size || r.length % lim.block_size ||
                    r.offset + r.length > lim.size || r.offset + r.length < r.offset ||
                    (write && !lim.writable) ||
                    (r.type <= NBD_CMD_WRITE && r.length > NBD_MAX_REQUEST))
                    abort();
            }
            if (err != 0 && why == NULL)
                abort();
        } else if (why == NULL) {
            abort();
        }
    }
    double pct;
    if (poold_qemu_progress_parse((const char *)data, size, &pct) && (pct < 0 || pct > 100))
        abort();
    uint64_t v;
    (void)poold_qemu_json_get_u64((const char *)data, size, "image-end-offset", &v);
    return 0;
}
