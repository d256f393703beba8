// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_nbd_proto.c: the pure parts of poold's qemu-img plumbing:
 * poold/nbd_proto.c (NBD handshake and transmission encoding, every field
 * checked) and poold/qemu_img.c's parsers and chain rendering (progress
 * lines, qemu-img's JSON output, json: chain specs).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nbd_proto.h"
#include "pool-error.h"
#include "qemu_img.h"
#include "test_support.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

START_TEST(test_greeting)
{
    uint8_t g[NBD_GREETING_LEN];
    nbd_encode_greeting(g);
    ck_assert_int_eq(memcmp(g, "NBDMAGICIHAVEOPT", 16), 0);
    ck_assert_int_eq(g[16], 0);
    ck_assert_int_eq(g[17], NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}
END_TEST

START_TEST(test_client_flags)
{
    uint8_t b[4] = {0, 0, 0, 3};
    uint32_t f = 0;
    const char *why = NULL;

    ck_assert_int_eq(nbd_decode_client_flags(b, &f, &why), 0);
    ck_assert_uint_eq(f, 3);
    b[3] = 2; /* no fixed newstyle */
    ck_assert_int_eq(nbd_decode_client_flags(b, &f, &why), -1);
    ck_assert_str_eq(why, "client does not speak fixed newstyle");
    b[3] = 1;
    b[0] = 0x80; /* unknown bit */
    ck_assert_int_eq(nbd_decode_client_flags(b, &f, &why), -1);
    ck_assert_str_eq(why, "unknown client flags");
}
END_TEST

START_TEST(test_opt_header)
{
    uint8_t h[NBD_OPT_HDR_LEN];
    nbdOptHdr o;
    const char *why = NULL;

    put64(h, NBD_IHAVEOPT);
    put32(h + 8, NBD_OPT_GO);
    put32(h + 12, 10);
    ck_assert_int_eq(nbd_decode_opt_header(h, &o, &why), 0);
    ck_assert_uint_eq(o.option, NBD_OPT_GO);
    ck_assert_uint_eq(o.length, 10);
    put32(h + 12, NBD_OPT_MAX_LEN + 1);
    ck_assert_int_eq(nbd_decode_opt_header(h, &o, &why), -1);
    ck_assert_str_eq(why, "option data too long");
    put32(h + 12, 0);
    h[0] ^= 1;
    ck_assert_int_eq(nbd_decode_opt_header(h, &o, &why), -1);
    ck_assert_str_eq(why, "option without the IHAVEOPT magic");
}
END_TEST

START_TEST(test_parse_go)
{
    uint8_t d[64];
    nbdGoRequest go;
    const char *why = NULL;

    put32(d, 3);
    memcpy(d + 4, "top", 3);
    d[7] = 0, d[8] = 2;              /* two info requests */
    d[9] = 0, d[10] = NBD_INFO_NAME; /* ... */
    d[11] = 0, d[12] = NBD_INFO_BLOCK_SIZE;
    ck_assert_int_eq(nbd_parse_go(d, 13, &go, &why), 0);
    ck_assert_uint_eq(go.name_len, 3);
    ck_assert_int_eq(memcmp(go.name, "top", 3), 0);
    ck_assert(go.want_block_size);
    ck_assert(go.want_name);
    /* count and length disagree, either way */
    ck_assert_int_eq(nbd_parse_go(d, 12, &go, &why), -1);
    ck_assert_str_eq(why, "info request count does not match the option length");
    ck_assert_int_eq(nbd_parse_go(d, 14, &go, &why), -1);
    /* name longer than the data, too long, NUL inside, too short */
    put32(d, 100);
    ck_assert_int_eq(nbd_parse_go(d, 13, &go, &why), -1);
    ck_assert_str_eq(why, "export name longer than the option data");
    put32(d, NBD_NAME_MAX + 1);
    ck_assert_int_eq(nbd_parse_go(d, 13, &go, &why), -1);
    ck_assert_str_eq(why, "export name too long");
    put32(d, 3);
    d[5] = 0;
    ck_assert_int_eq(nbd_parse_go(d, 13, &go, &why), -1);
    ck_assert_str_eq(why, "export name contains a NUL byte");
    ck_assert_int_eq(nbd_parse_go(d, 5, &go, &why), -1);
    /* empty name, no infos: valid (the default export, which we do not have) */
    put32(d, 0);
    d[4] = d[5] = 0;
    ck_assert_int_eq(nbd_parse_go(d, 6, &go, &why), 0);
    ck_assert_uint_eq(go.name_len, 0);
    ck_assert(!go.want_block_size);
}
END_TEST

START_TEST(test_replies_encode)
{
    uint8_t r[NBD_REP_HDR_LEN], ie[NBD_INFO_EXPORT_LEN], ib[NBD_INFO_BLOCK_SIZE_LEN];
    uint8_t sr[NBD_REPLY_LEN];
    static const uint8_t want_r[] = {0, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0,
                                     0, 7,    0x80, 0,    0,    6,    0,    0,    0, 5};
    static const uint8_t want_ie[] = {0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x4f};
    static const uint8_t want_ib[] = {0, 3, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 0x02, 0, 0, 0};
    static const uint8_t want_sr[] = {0x67, 0x44, 0x66, 0x98, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};

    nbd_encode_opt_reply(r, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, 5);
    ck_assert_int_eq(memcmp(r, want_r, sizeof(r)), 0);
    nbd_encode_info_export(ie, 1ull << 20, 0x4f);
    ck_assert_int_eq(memcmp(ie, want_ie, sizeof(ie)), 0);
    nbd_encode_info_block_size(ib, 4096, 4096, NBD_MAX_REQUEST);
    ck_assert_int_eq(memcmp(ib, want_ib, sizeof(ib)), 0);
    nbd_encode_simple_reply(sr, NBD_EPERM, 0x0102030405060708ull);
    ck_assert_int_eq(memcmp(sr, want_sr, sizeof(sr)), 0);
}
END_TEST

START_TEST(test_transmission_flags)
{
    nbdExportLimits ro = {.size = 1 << 20, .block_size = 4096};
    nbdExportLimits rw = {.size = 1 << 20, .block_size = 4096, .writable = true};
    nbdExportLimits rwt = {.size = 1 << 20, .block_size = 4096, .writable = true, .can_trim = true};

    ck_assert_uint_eq(nbd_transmission_flags(&ro), NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY |
                                                       NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA);
    ck_assert_uint_eq(nbd_transmission_flags(&rw), NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                                                       NBD_FLAG_SEND_FUA |
                                                       NBD_FLAG_SEND_WRITE_ZEROES);
    ck_assert(nbd_transmission_flags(&rwt) & NBD_FLAG_SEND_TRIM);
}
END_TEST

static uint32_t check_req(uint16_t type, uint16_t flags, uint64_t off, uint32_t len, bool writable,
                          const char **why)
{
    nbdExportLimits lim = {.size = 1 << 20, .block_size = 4096, .writable = writable};
    uint8_t b[NBD_REQUEST_LEN];
    nbdRequest r;
    const char *w = NULL;

    put32(b, NBD_REQUEST_MAGIC);
    b[4] = (uint8_t)(flags >> 8), b[5] = (uint8_t)flags;
    b[6] = (uint8_t)(type >> 8), b[7] = (uint8_t)type;
    put64(b + 8, 0xabcdef);
    put64(b + 16, off);
    put32(b + 24, len);
    ck_assert_int_eq(nbd_decode_request(b, &r, &w), 0);
    ck_assert_uint_eq(r.cookie, 0xabcdef);
    ck_assert_uint_eq(r.offset, off);
    ck_assert_uint_eq(r.length, len);
    *why = NULL;
    return nbd_check_request(&r, &lim, why);
}

START_TEST(test_requests)
{
    const char *why;

    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, 0, 4096, false, &why), 0);
    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, (1 << 20) - 4096, 4096, false, &why), 0);
    ck_assert_uint_eq(check_req(NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 8192, 4096, true, &why), 0);
    ck_assert_uint_eq(check_req(NBD_CMD_FLUSH, 0, 0, 0, false, &why), 0);
    ck_assert_uint_eq(check_req(NBD_CMD_DISC, 0, 0, 0, false, &why), 0);
    ck_assert_uint_eq(check_req(NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 0, 1 << 20, true, &why),
                      0);

    ck_assert_uint_eq(check_req(NBD_CMD_WRITE, 0, 0, 4096, false, &why), NBD_EPERM);
    ck_assert_str_eq(why, "the export is read-only");
    ck_assert_uint_eq(check_req(NBD_CMD_WRITE_ZEROES, 0, 0, 4096, false, &why), NBD_EPERM);
    ck_assert_uint_eq(check_req(NBD_CMD_TRIM, 0, 0, 4096, false, &why), NBD_EPERM);
    ck_assert_uint_eq(check_req(NBD_CMD_TRIM, 0, 0, 4096, true, &why), NBD_EINVAL);
    ck_assert_str_eq(why, "TRIM is not supported on this export");

    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, 1 << 20, 4096, false, &why), NBD_EINVAL);
    ck_assert_str_eq(why, "request beyond the end of the export");
    ck_assert_uint_eq(check_req(NBD_CMD_WRITE, 0, (1 << 20) - 4096, 8192, true, &why), NBD_ENOSPC);
    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, UINT64_MAX - 4095, 8192, false, &why), NBD_EINVAL);
    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, 512, 4096, false, &why), NBD_EINVAL);
    ck_assert_str_eq(why, "offset or length not a multiple of the export's block size");
    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, 0, 4095, false, &why), NBD_EINVAL);
    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, 0, 0, false, &why), NBD_EINVAL);
    ck_assert_str_eq(why, "zero-length request");
    ck_assert_uint_eq(check_req(NBD_CMD_READ, 0, 0, NBD_MAX_REQUEST + 4096, false, &why),
                      NBD_EINVAL);
    ck_assert_str_eq(why, "request larger than 32 MiB");
    ck_assert_uint_eq(check_req(NBD_CMD_READ, NBD_CMD_FLAG_FUA, 0, 4096, false, &why), NBD_EINVAL);
    ck_assert_str_eq(why, "command flags not valid for this command");
    ck_assert_uint_eq(check_req(NBD_CMD_FLUSH, 0, 0, 4096, true, &why), NBD_EINVAL);
    ck_assert_uint_eq(check_req(99, 0, 0, 4096, true, &why), NBD_EINVAL);
    ck_assert_str_eq(why, "unknown command");
}
END_TEST

START_TEST(test_request_magic_and_payload)
{
    uint8_t b[NBD_REQUEST_LEN] = {0};
    nbdRequest r;
    const char *why = NULL;

    ck_assert_int_eq(nbd_decode_request(b, &r, &why), -1);
    ck_assert_str_eq(why, "request without the request magic");
    r = (nbdRequest){.type = NBD_CMD_WRITE, .length = 8192};
    ck_assert_uint_eq(nbd_request_payload(&r), 8192);
    r.type = NBD_CMD_READ;
    ck_assert_uint_eq(nbd_request_payload(&r), 0);
    ck_assert_uint_eq(nbd_errno_to_wire(0), 0);
    ck_assert_uint_eq(nbd_errno_to_wire(-EROFS), NBD_EPERM);
    ck_assert_uint_eq(nbd_errno_to_wire(-ENOSPC), NBD_ENOSPC);
    ck_assert_uint_eq(nbd_errno_to_wire(-EBADF), NBD_EIO);
}
END_TEST

/* --- qemu_img.c's pure parts ---------------------------------------------- */

START_TEST(test_progress_parse)
{
    double p = -1;
    const char *s = "    (0.00/100%)\r    (12.34/100%)\r";

    ck_assert_int_eq(poold_qemu_progress_parse(s, strlen(s), &p), 1);
    ck_assert_double_eq_tol(p, 12.34, 1e-9);
    ck_assert_int_eq(poold_qemu_progress_parse("    (100.00/100%)\r", 18, &p), 1);
    ck_assert_double_eq_tol(p, 100, 1e-9);
    /* incomplete, not ours, over 100, empty */
    ck_assert_int_eq(poold_qemu_progress_parse("(12.34/100", 10, &p), 0);
    ck_assert_int_eq(poold_qemu_progress_parse("(12.34/50%)", 11, &p), 0);
    ck_assert_int_eq(poold_qemu_progress_parse("(150.00/100%)", 13, &p), 0);
    ck_assert_int_eq(poold_qemu_progress_parse("(/100%)", 7, &p), 0);
    ck_assert_int_eq(poold_qemu_progress_parse("", 0, &p), 0);
}
END_TEST

START_TEST(test_json_get_u64)
{
    /* what qemu-img check --output=json prints */
    const char *check = "{\n    \"image-end-offset\": 4849664,\n    \"total-clusters\": 512,\n"
                        "    \"check-errors\": 0,\n    \"filename\": \"json:{\\\"a\\\":1}\",\n"
                        "    \"format\": \"qcow2\", \"nested\": {\"leaks\": 9, \"x\": [1, -2.5e3, "
                        "true, null, \"\\u00e9\"]}\n}\n";
    uint64_t v = 0;

    ck_assert_int_eq(poold_qemu_json_get_u64(check, strlen(check), "image-end-offset", &v), 1);
    ck_assert_uint_eq(v, 4849664);
    ck_assert_int_eq(poold_qemu_json_get_u64(check, strlen(check), "check-errors", &v), 1);
    ck_assert_uint_eq(v, 0);
    /* only top-level members count */
    ck_assert_int_eq(poold_qemu_json_get_u64(check, strlen(check), "leaks", &v), 0);
    /* the member exists but is not an unsigned integer */
    ck_assert_int_eq(poold_qemu_json_get_u64(check, strlen(check), "format", &v), -1);
    const char *big = "{\"a\": 18446744073709551615, \"b\": 18446744073709551616, \"c\": 1.5}";
    ck_assert_int_eq(poold_qemu_json_get_u64(big, strlen(big), "a", &v), 1);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(poold_qemu_json_get_u64(big, strlen(big), "b", &v), -1);
    ck_assert_int_eq(poold_qemu_json_get_u64(big, strlen(big), "c", &v), -1);
    /* malformed documents */
    static const char *bad[] = {"",
                                "[1]",
                                "{",
                                "{\"a\":}",
                                "{\"a\":1,}",
                                "{\"a\":1} x",
                                "{\"a\" 1}",
                                "{\"a\":\"\x01\"}",
                                "{\"a\":tru}",
                                "{\"a\":\"\\q\"}",
                                "{\"a\":01}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(poold_qemu_json_get_u64(bad[i], strlen(bad[i]), "a", &v) == -1, "%s", bad[i]);
    /* nesting deeper than the limit is refused, not a stack overflow */
    char deep[300];
    size_t k = 0;
    deep[k++] = '{', deep[k++] = '"', deep[k++] = 'x', deep[k++] = '"', deep[k++] = ':';
    for (int i = 0; i < 100; i++)
        deep[k++] = '[';
    for (int i = 0; i < 100; i++)
        deep[k++] = ']';
    deep[k++] = '}';
    ck_assert_int_eq(poold_qemu_json_get_u64(deep, k, "a", &v), -1);
}
END_TEST

START_TEST(test_chain_json)
{
    poolQemuLayer l[3] = {{"qcow2", "/run/s.sock", "top"},
                          {"qcow2", "/run/s.sock", "mid"},
                          {"raw", "/run/b \"q\".sock", "base"}};
    char *s = poold_qemu_chain_json(l, 3);

    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(
        s, "json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
           "\"path\":\"/run/s.sock\"},\"export\":\"top\"},\"backing\":{\"driver\":\"qcow2\","
           "\"file\":{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\",\"path\":\"/run/s.sock\"},"
           "\"export\":\"mid\"},\"backing\":{\"driver\":\"raw\",\"file\":{\"driver\":\"nbd\","
           "\"server\":{\"type\":\"unix\",\"path\":\"/run/b \\\"q\\\".sock\"},\"export\":"
           "\"base\"}}}}");
    /* well-formed JSON by our own parser */
    ck_assert_int_eq(poold_qemu_json_get_u64(s + 5, strlen(s + 5), "none", &(uint64_t){0}), 0);
    free(s);

    s = poold_qemu_chain_json(l, 2);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, "\"export\":\"mid\"},\"backing\":null}}"));
    free(s);

    /* raw above another layer, bad format, empty export, depth */
    poolQemuLayer bad[2] = {{"raw", "/s", "a"}, {"raw", "/s", "b"}};
    ck_assert_ptr_null(poold_qemu_chain_json(bad, 2));
    ck_assert_ptr_nonnull(strstr(pool_error_last_message(), "raw but not the innermost"));
    bad[0] = (poolQemuLayer){"vmdk", "/s", "a"};
    ck_assert_ptr_null(poold_qemu_chain_json(bad, 1));
    bad[0] = (poolQemuLayer){"qcow2", "/s", ""};
    ck_assert_ptr_null(poold_qemu_chain_json(bad, 1));
    ck_assert_ptr_null(poold_qemu_chain_json(l, 0));
    poolQemuLayer many[POOL_QEMU_CHAIN_MAX + 2];
    for (size_t i = 0; i < POOL_QEMU_CHAIN_MAX + 2; i++)
        many[i] = (poolQemuLayer){"qcow2", "/s", "x"};
    s = poold_qemu_chain_json(many, POOL_QEMU_CHAIN_MAX + 1);
    ck_assert_ptr_nonnull(s);
    free(s);
    ck_assert_ptr_null(poold_qemu_chain_json(many, POOL_QEMU_CHAIN_MAX + 2));
}
END_TEST

static Suite *nbd_suite(void)
{
    Suite *s = suite_create("nbd_proto");
    TCase *tc = tcase_create("nbd");

    tcase_add_test(tc, test_greeting);
    tcase_add_test(tc, test_client_flags);
    tcase_add_test(tc, test_opt_header);
    tcase_add_test(tc, test_parse_go);
    tcase_add_test(tc, test_replies_encode);
    tcase_add_test(tc, test_transmission_flags);
    tcase_add_test(tc, test_requests);
    tcase_add_test(tc, test_request_magic_and_payload);
    suite_add_tcase(s, tc);
    tc = tcase_create("qemu_img");
    tcase_add_test(tc, test_progress_parse);
    tcase_add_test(tc, test_json_get_u64);
    tcase_add_test(tc, test_chain_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(nbd_suite());
}
