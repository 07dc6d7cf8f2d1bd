#include "util.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int util_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);
	if (dstsz == 0)
		return YM_E_TOOBIG;
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = 0;
		return YM_E_TOOBIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void util_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = 0;
}

/* Per byte: its hex digit value, or 16 (not a hex digit): every event's
 * hashes pass here (intel), one table load per digit. */
/* clang-format off */
static const uint8_t hexval[256] = {
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
};
/* clang-format on */

int util_unhex_len(const char *s, size_t len, uint8_t *out, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	unsigned bad = 0;

	if (len != 2 * n)
		return YM_E_PARSE; /* so p[2i + 1] below stays inside s */
	for (size_t i = 0; i < n; i++) {
		unsigned hi = hexval[p[2 * i]], lo = hexval[p[2 * i + 1]];
		bad |= hi | lo; /* 16 or more: not a digit */
		out[i] = (uint8_t)(hi << 4 | (lo & 15));
	}
	return bad & 16 ? YM_E_PARSE : 0;
}

int util_unhex(const char *s, uint8_t *out, size_t n)
{
	return util_unhex_len(s, strnlen(s, 2 * n + 1), out, n);
}

int util_random(void *p, size_t n)
{
	uint8_t *q = p;
	while (n > 0) {
		ssize_t k = getrandom(q, n, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return YM_E_IO;
		}
		q += k;
		n -= (size_t)k;
	}
	return 0;
}

int util_uuid(char out[37])
{
	uint8_t u[16];
	char h[33];
	if (util_random(u, sizeof(u)))
		return YM_E_IO;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	util_hex(u, 16, h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
	return 0;
}

uint64_t util_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t util_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int util_read_file(const char *path, size_t cap, char **out, size_t *len)
{
	int fd = -1, r = YM_E_IO;
	char *b = NULL;
	size_t n = 0, alloc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	for (;;) {
		ssize_t k;
		if (n + 1 >= alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			char *nb;
			if (na > cap + 1)
				na = cap + 1;
			if (na <= n + 1) {
				r = YM_E_TOOBIG;
				goto out;
			}
			nb = realloc(b, na);
			if (!nb) {
				r = YM_E_NOMEM;
				goto out;
			}
			b = nb;
			alloc = na;
		}
		k = read(fd, b + n, alloc - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (!b) {
		b = malloc(1);
		if (!b) {
			r = YM_E_NOMEM;
			goto out;
		}
	}
	b[n] = 0;
	*out = b;
	if (len)
		*len = n;
	b = NULL;
	r = 0;
out:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	free(b);
	return r;
}

int util_write_file(const char *path, const void *p, size_t n, unsigned mode)
{
	char tmp[4096];
	int fd = -1, r = YM_E_IO;
	const char *q = p;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return YM_E_TOOBIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto out;
	while (n > 0) {
		ssize_t k = write(fd, q, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		q += k;
		n -= (size_t)k;
	}
	if (fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (r) {
		int e = errno;
		unlink(tmp);
		errno = e;
	}
	return r;
}

int util_mkdirs(const char *path, unsigned mode)
{
	char p[4096];
	size_t n;

	if (util_strlcpy(p, path, sizeof(p)))
		return YM_E_TOOBIG;
	n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] == '/' || p[i] == 0) {
			char c = p[i];
			p[i] = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return YM_E_IO;
			p[i] = c;
		}
	}
	return 0;
}

size_t util_split_spaces(const char *p, size_t n, char *tok, size_t width, size_t max)
{
	size_t i = 0, nt = 0;

	while (i < n && nt < max) {
		size_t b;

		while (i < n && p[i] == ' ')
			i++;
		b = i;
		while (i < n && p[i] != ' ')
			i++;
		if (i == b || i - b >= width)
			break;
		memcpy(tok + nt * width, p + b, i - b);
		tok[nt * width + (i - b)] = 0;
		nt++;
	}
	return nt;
}

int util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return YM_E_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return YM_E_INVAL;
	*out = v;
	return 0;
}

int util_parse_duration(const char *s, uint64_t *secs)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t v, mul = 1;

	if (n == 0 || n >= sizeof(num))
		return YM_E_INVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mul = 1; num[n - 1] = 0; break;
	case 'm': mul = 60; num[n - 1] = 0; break;
	case 'h': mul = 3600; num[n - 1] = 0; break;
	case 'd': mul = 86400; num[n - 1] = 0; break;
	default: break;
	}
	if (util_parse_u64(num, 0, UINT64_MAX / 86400, &v))
		return YM_E_INVAL;
	*secs = v * mul;
	return 0;
}
