/* timefmt: parsing the time stamps of log records. Pure functions. */
#ifndef YM_CORE_TIMEFMT_H
#define YM_CORE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parses an RFC 3339 time ("2025-11-26T05:11:27.927693Z", "+01:00" zones,
 * a space instead of the T, up to 9 fraction digits; no zone means UTC) of
 * exactly n bytes. Returns 0 and sets *ns (since the epoch), or YM_E_PARSE
 * (*ns untouched). */
int timefmt_rfc3339(const char *s, size_t n, uint64_t *ns);

/* Parses syslog's RFC 3164 time ("Nov 26 02:03:31", "Nov  6 ..."; exactly
 * n = 15 bytes), which has no year and no zone: the year is the one of
 * now_ns, or the one before when that would put it over a day after now
 * (December's lines read in January); the clock is utc_off_s seconds east
 * of UTC (0: UTC; a file a local logger wrote: the local offset). Returns 0
 * and sets *ns, or YM_E_PARSE (*ns untouched). */
int timefmt_3164(const char *s, size_t n, uint64_t now_ns, int64_t utc_off_s, uint64_t *ns);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t timefmt_days(int64_t y, unsigned m, unsigned d);

#endif
