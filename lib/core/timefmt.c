/* timefmt: time stamps of log records (RFC 3339, syslog's RFC 3164). */
#include "timefmt.h"

#include "err.h"

#include <string.h>

static int digits(const char *s, size_t n, size_t at, size_t k, unsigned *v)
{
	*v = 0;
	if (at + k > n)
		return YM_E_PARSE;
	for (size_t i = at; i < at + k; i++) {
		if (s[i] < '0' || s[i] > '9')
			return YM_E_PARSE;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t timefmt_days(int64_t y, unsigned m, unsigned d)
{
	return days_from_civil(y, m, d);
}

int timefmt_rfc3339(const char *s, size_t n, uint64_t *ns)
{
	unsigned Y, M, D, h, mi, sec, zh, zm;
	size_t at = 19;
	uint64_t frac = 0, scale = 1000000000ull;
	int64_t secs, off = 0;

	if (digits(s, n, 0, 4, &Y) || n < 19 || s[4] != '-' || digits(s, n, 5, 2, &M) ||
	    s[7] != '-' || digits(s, n, 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s, n, 11, 2, &h) ||
	    s[13] != ':' || digits(s, n, 14, 2, &mi) || s[16] != ':' || digits(s, n, 17, 2, &sec))
		return YM_E_PARSE;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60 || Y < 1970)
		return YM_E_PARSE;
	if (at < n && (s[at] == '.' || s[at] == ',')) {
		at++;
		if (at >= n || s[at] < '0' || s[at] > '9')
			return YM_E_PARSE;
		while (at < n && s[at] >= '0' && s[at] <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(s[at] - '0') * scale;
			}
			at++;
		}
	}
	if (at < n && (s[at] == 'Z' || s[at] == 'z')) {
		at++;
	} else if (at < n && (s[at] == '+' || s[at] == '-')) {
		if (digits(s, n, at + 1, 2, &zh) || at + 3 >= n || s[at + 3] != ':' ||
		    digits(s, n, at + 4, 2, &zm) || zh > 23 || zm > 59)
			return YM_E_PARSE;
		off = ((int64_t)zh * 60 + zm) * 60;
		if (s[at] == '-')
			off = -off;
		at += 6;
	}
	if (at != n)
		return YM_E_PARSE;
	secs = days_from_civil(Y, M, D) * 86400 + (int64_t)h * 3600 + mi * 60 + sec - off;
	if (secs < 0 || (uint64_t)secs > UINT64_MAX / 1000000000ull - 1)
		return YM_E_PARSE;
	*ns = (uint64_t)secs * 1000000000ull + frac;
	return 0;
}

int timefmt_3164(const char *s, size_t n, uint64_t now_ns, int64_t utc_off_s, uint64_t *ns)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	unsigned mon = 0, d, h, mi, sec;
	int64_t secs, now_s = (int64_t)(now_ns / 1000000000ull) + utc_off_s;
	int64_t days = now_s / 86400, y = 1970;

	if (n != 15)
		return YM_E_PARSE;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(s, months[i], 3) == 0)
			mon = i + 1;
	if (mon == 0 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' ||
	    (s[4] == ' ' ? digits(s, n, 5, 1, &d) : digits(s, n, 4, 2, &d)) ||
	    digits(s, n, 7, 2, &h) || digits(s, n, 10, 2, &mi) || digits(s, n, 13, 2, &sec) ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return YM_E_PARSE;
	while (days_from_civil(y + 1, 1, 1) <= days)
		y++;
	secs = days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + sec;
	if (secs > now_s + 86400) /* December's lines read in January */
		secs = days_from_civil(y - 1, mon, d) * 86400 + h * 3600 + mi * 60 + sec;
	secs -= utc_off_s;
	if (secs < 0)
		secs = 0;
	*ns = (uint64_t)secs * 1000000000ull;
	return 0;
}
