/*
 * pool-util.h: small pure helpers: sizes with units, name validation, UUIDs,
 * atomic file writes, integer parsing, this host's name, the monotonic
 * clock.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef POOL_UTIL_H
#define POOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse "20G", "512M", "1.5T"? no: integers only, optional unit K/M/G/T/P
 * (binary: K=1024), optional "iB"/"B" suffix ("20GiB", "20GB" both mean
 * 20*2^30), bare number = bytes. No sign, no spaces inside, no overflow.
 * 0 -> *bytes set; -1 with POOL_ERR_INVALID_ARG and a message naming
 * `what` ("size") and the offending text. */
int pool_parse_size(const char *text, const char *what, uint64_t *bytes);

/* Format bytes as "20.00 GiB" style text into buf (>= 32 bytes). */
const char *pool_format_size(uint64_t bytes, char *buf, size_t buflen);

/* Parse a decimal unsigned integer in [min, max]; whole string must match. */
int pool_parse_uint(const char *text, const char *what, uint64_t min, uint64_t max, uint64_t *out);

typedef enum {
    POOL_NAME_POOL,   /* also the VG name */
    POOL_NAME_VOLUME, /* also the LV name */
    POOL_NAME_HOST,
} poolNameKind;

/* Validate a user-supplied object name. Rules (shared by pools and volumes):
 * 1..64 chars from [A-Za-z0-9_.+-], first char alphanumeric; not "." or "..";
 * volumes additionally may not be a name or contain a substring LVM reserves
 * ("ids", "leases" are poold's own LVs; "snapshot", "pvmove", "_mlog",
 * "_mimage", "_rimage", "_rmeta", "_tdata", "_tmeta", "_pmspare", "_cdata",
 * "_cmeta", "_corig", "_vorigin", "_vdata", "_wcorig"...).
 * 0 if valid, else -1 with POOL_ERR_INVALID_ARG naming the problem. */
int pool_name_validate(poolNameKind kind, const char *name);

/* Random RFC 4122 v4 UUID as 36-char lowercase text into buf[37]. */
int pool_uuid_generate(char buf[37]);
bool pool_uuid_is_valid(const char *s);

/* Write data to path atomically: temp file in the same directory, fsync,
 * rename, fsync directory. mode applies to the new file. */
int pool_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* write() all of data, retrying short writes and EINTR; -1 with errno set
 * (nothing reported) on failure. */
int pool_write_all(int fd, const void *data, size_t len);
/* Read a whole file (limit: max bytes) into a NUL-terminated buffer. */
int pool_file_read_all(const char *path, size_t max, char **data, size_t *len);
/* mkdir -p with mode for the created components. */
int pool_mkdir_p(const char *path, unsigned mode);

/* This host's name: `configured` (the host_name setting) when not NULL,
 * else the system host name, else "unknown". Callers that derive other
 * names from it (initiator IQNs, file names) apply their own rules. */
const char *pool_host_name(const char *configured);
/* The system host name (gethostname, read once per process); "" if the
 * system has none. */
const char *pool_host_name_system(void);

/* The value of hexadecimal digit c (either case), or -1 if c is not one. */
int pool_hex_value(int c);

/* The monotonic clock (CLOCK_MONOTONIC) in nanoseconds, milliseconds or
 * seconds: for timeouts, deadlines and elapsed times, never for dates. */
int64_t pool_monotonic_ns(void);
int64_t pool_monotonic_ms(void);
double pool_monotonic_seconds(void);

/* CRC32C (Castagnoli), used for frame checksums. */
uint32_t pool_crc32c(uint32_t crc, const void *data, size_t len);
/* Same result as pool_crc32c, always computed by the portable table-driven
 * code (pool_crc32c may use the CPU's crc32 instruction). For tests and
 * benchmarks that compare the two. */
uint32_t pool_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
