/* util: small helpers every part needs: bounded string copy, hex, random
 * bytes, clocks, whole-file I/O. Thread-safe unless noted. */
#ifndef YM_UTIL_H
#define YM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size dstsz), always NUL-terminated. Returns 0, or
 * YM_E_TOOBIG when src was truncated. */
int util_strlcpy(char *dst, const char *src, size_t dstsz);
/* Hex-encodes n bytes into out (must hold 2n+1). */
void util_hex(const uint8_t *p, size_t n, char *out);
/* Decodes the 2n hex chars of NUL-terminated s into out (n bytes). Returns
 * 0 or YM_E_PARSE (another length, a byte that is no hex digit). */
int util_unhex(const char *s, uint8_t *out, size_t n);
/* The same for s of len bytes (not terminated). */
int util_unhex_len(const char *s, size_t len, uint8_t *out, size_t n);
/* Fills p with n bytes from getrandom(2). Returns 0 or YM_E_IO. */
int util_random(void *p, size_t n);
/* A random version-4 UUID as text into out (37 bytes). Returns 0 or YM_E_IO. */
int util_uuid(char out[37]);
/* Wall clock and monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);
uint64_t util_mono_ns(void);
/* Reads a whole file of at most cap bytes into a malloc'd, NUL-terminated
 * buffer handed to the caller. Returns 0, YM_E_IO (errno kept), YM_E_TOOBIG,
 * YM_E_NOMEM. */
int util_read_file(const char *path, size_t cap, char **out, size_t *len);
/* Writes p to path atomically: path.tmp (mode), write, fsync, rename. The
 * caller makes sure no two writers use one path at once. On failure the temp
 * file is removed and errno kept. Returns 0, YM_E_IO or YM_E_TOOBIG. */
int util_write_file(const char *path, const void *p, size_t n, unsigned mode);
/* mkdir -p with mode for each created level. Returns 0 or YM_E_IO. */
int util_mkdirs(const char *path, unsigned mode);
/* Parses a decimal unsigned integer in [min, max], whole string. Returns 0 or
 * YM_E_INVAL. */
int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Splits the line p[0, n) at runs of spaces into at most max tokens, each
 * stored NUL-terminated width bytes apart from tok (so shorter than width);
 * stops at a token that does not fit. Returns how many were stored. For
 * the kernel's space-aligned /proc tables. */
size_t util_split_spaces(const char *p, size_t n, char *tok, size_t width, size_t max);
/* Parses a duration like "10m", "30s", "2h", "1d" into seconds. Returns 0 or YM_E_INVAL. */
int util_parse_duration(const char *s, uint64_t *secs);

#endif
