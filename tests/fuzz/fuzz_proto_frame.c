// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_proto_frame.c: libFuzzer target for frame header decoding and the
 * payload checksum.
 *
 * Why: the header is the first thing poold reads from any client. The input
 * is treated as a received frame: a 16-byte header, then payload bytes. The
 * target also checks the decoder's promises: an accepted header has a
 * length within the limit, and re-encoding an accepted frame gives back the
 * same header bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool-error.h"
#include "pool-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    poolFrameHeader h;
    uint8_t again[POOL_PROTO_HEADER_SIZE];
    const uint32_t max = 64 * 1024;

    if (size < POOL_PROTO_HEADER_SIZE)
        return 0;
    if (pool_frame_header_decode(data, max, &h) < 0)
        return 0;
    if (h.length == 0 || h.length > max ||
        (h.type != POOL_FRAME_REQUEST && h.type != POOL_FRAME_REPLY))
        abort();
    if (size - POOL_PROTO_HEADER_SIZE < h.length)
        return 0; /* truncated: a real reader would wait for more */
    if (pool_frame_payload_check(&h, data + POOL_PROTO_HEADER_SIZE) < 0)
        return 0;
    pool_frame_header_encode(again, h.type, data + POOL_PROTO_HEADER_SIZE, h.length);
    if (memcmp(again, data, POOL_PROTO_HEADER_SIZE) != 0)
        abort();
    return 0;
}
