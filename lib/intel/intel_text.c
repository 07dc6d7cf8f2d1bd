/* intel_text: the syntax of indicators, shared by loading (the indicator
 * text) and matching (the event's value), so both sides normalise alike.
 * Every parser reads its input through struct cursor, but for the dotted
 * quad one, which runs on every address field of every event and indexes
 * s[0, n) only. */
#include "intel_int.h"

#include "err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

uint64_t intel_text_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}


static unsigned __int128 mask_bits(unsigned bits, unsigned plen)
{
	/* the host part of a prefix of plen bits in a bits-wide address */
	unsigned host = bits - plen;
	if (host == 0)
		return 0;
	if (host >= 128)
		return ~(unsigned __int128)0;
	return ((unsigned __int128)1 << host) - 1;
}

/* An IPv4 address in dotted-quad form, s[0, n), exactly as inet_pton
 * takes it (four decimal parts of at most 255, no leading zero, nothing
 * else). Returns 0 and sets *out, or -1. */
static int ip4_parse(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	unsigned parts = 0;
	size_t i = 0;

	while (parts < 4) {
		unsigned part = 0, digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && part == 0)
				return -1; /* a leading zero */
			part = part * 10 + (unsigned)(s[i] - '0');
			if (part > 255)
				return -1;
			digits++;
			i++;
		}
		if (digits == 0)
			return -1;
		v = v << 8 | part;
		if (++parts < 4) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	if (i != n)
		return -1;
	*out = v;
	return 0;
}

int intel_text_ip(const char *s, size_t len, int allow_prefix, int *v6, unsigned __int128 *lo,
		  unsigned __int128 *hi)
{
	char a[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned plen, bits;
	unsigned char bin[16];
	unsigned __int128 v = 0, m;
	uint32_t v4;
	int is6;

	if (alen == 0 || alen >= sizeof(a) || (slash && !allow_prefix))
		return YM_E_PARSE;
	if (ip4_parse(s, alen, &v4) == 0) {
		is6 = 0;
		v = v4;
	} else {
		if (!memchr(s, ':', alen))
			return YM_E_PARSE; /* every IPv6 text has a ':' */
		memcpy(a, s, alen);
		a[alen] = 0;
		if (inet_pton(AF_INET6, a, bin) != 1)
			return YM_E_PARSE;
		is6 = 1;
		for (int i = 0; i < 16; i++)
			v = v << 8 | bin[i];
	}
	bits = is6 ? 128 : 32;
	plen = bits;
	if (slash) {
		struct cursor c;
		const uint8_t *d;
		size_t nd = len - alen - 1;

		if (nd == 0 || nd > 3)
			return YM_E_PARSE;
		cursor_init(&c, slash + 1, nd);
		plen = 0;
		while (cursor_get_bytes(&c, 1, &d) == 0) {
			if (*d < '0' || *d > '9')
				return YM_E_PARSE;
			plen = plen * 10 + (unsigned)(*d - '0');
		}
		if (plen > bits)
			return YM_E_PARSE;
	}
	/* ::ffff:a.b.c.d is the IPv4 address a.b.c.d */
	if (is6 && (v >> 32) == 0xffff && plen >= 96) {
		is6 = 0;
		v &= 0xffffffffu;
		plen -= 96;
		bits = 32;
	}
	m = mask_bits(bits, plen);
	*v6 = is6;
	*lo = v & ~m;
	if (!is6)
		*lo &= 0xffffffffu;
	*hi = *lo | m;
	return 0;
}

static int label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int intel_text_domain(const char *s, size_t len, int indicator, char *out)
{
	struct cursor c;
	const uint8_t *p;
	size_t n = 0, label = 0;

	if (indicator && len > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > INTEL_DOMAIN_MAX)
		return YM_E_PARSE;
	cursor_init(&c, s, len);
	while (cursor_get_bytes(&c, 1, &p) == 0) {
		uint8_t ch = *p;
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		if (ch == '.') {
			if (label == 0)
				return YM_E_PARSE;
			label = 0;
		} else if (label_char(ch)) {
			if (++label > 63)
				return YM_E_PARSE;
		} else {
			return YM_E_PARSE;
		}
		out[n++] = (char)ch;
	}
	if (label == 0)
		return YM_E_PARSE;
	out[n] = 0;
	return (int)n;
}

static int put(char *out, size_t *n, size_t cap, const void *p, size_t len)
{
	if (len > cap - *n)
		return YM_E_PARSE;
	memcpy(out + *n, p, len);
	*n += len;
	return 0;
}

/* Lower-cases n bytes at out + from. */
static void lower(char *out, size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	}
}

int intel_text_url(const char *s, size_t len, char *out, size_t *host, size_t *hostlen)
{
	struct cursor c;
	const uint8_t *p, *auth;
	const char *sep = NULL;
	size_t n = 0, slen, alen, hstart, hlen, i, port_at, hoff;
	int r;

	for (i = 0; i + 2 < len; i++) {
		if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
			sep = s + i;
			break;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' ||
				 s[i] == '.'))))
			return YM_E_PARSE;
	}
	if (!sep || sep == s)
		return YM_E_PARSE;
	for (i = 0; i < len; i++) {
		if ((uint8_t)s[i] <= 0x20 || s[i] == 0x7f)
			return YM_E_PARSE; /* no spaces or controls in a URL */
	}
	slen = (size_t)(sep - s);
	cursor_init(&c, s, len);
	if (cursor_get_bytes(&c, slen + 3, &p))
		return YM_E_PARSE;
	if ((r = put(out, &n, INTEL_URL_MAX, s, slen + 3)))
		return r;
	lower(out, 0, slen);
	/* authority: up to the first '/', '?' or '#' */
	auth = c.p + c.off;
	for (alen = 0; alen < cursor_left(&c); alen++) {
		if (auth[alen] == '/' || auth[alen] == '?' || auth[alen] == '#')
			break;
	}
	if (cursor_get_bytes(&c, alen, &p))
		return YM_E_PARSE;
	for (i = alen; i > 0; i--) { /* user info ends at the last '@' */
		if (p[i - 1] == '@')
			break;
	}
	hstart = i;
	hlen = alen - hstart;
	/* port: after the last ':' outside brackets */
	port_at = hlen;
	for (i = hlen; i > 0; i--) {
		uint8_t ch = p[hstart + i - 1];
		if (ch == ']')
			break;
		if (ch == ':') {
			port_at = i - 1;
			break;
		}
	}
	if (port_at == 0)
		return YM_E_PARSE; /* no host */
	hoff = n;
	if ((r = put(out, &n, INTEL_URL_MAX, p + hstart, port_at)))
		return r;
	lower(out, hoff, port_at);
	if (n > hoff && out[n - 1] == '.') /* "evil.com." is "evil.com" */
		n--;
	if (host) {
		*host = hoff;
		*hostlen = n - hoff;
		if (*hostlen >= 2 && out[hoff] == '[' && out[n - 1] == ']') {
			*host = hoff + 1;
			*hostlen -= 2;
		}
	}
	if (port_at < hlen) {
		const char *port = (const char *)p + hstart + port_at + 1;
		size_t plen = hlen - port_at - 1;
		int dflt = (plen == 0) ||
			   (plen == 2 && memcmp(port, "80", 2) == 0 && slen == 4 &&
			    memcmp(out, "http", 4) == 0) ||
			   (plen == 3 && memcmp(port, "443", 3) == 0 && slen == 5 &&
			    memcmp(out, "https", 5) == 0) ||
			   (plen == 2 && memcmp(port, "21", 2) == 0 && slen == 3 &&
			    memcmp(out, "ftp", 3) == 0);
		for (i = 0; i < plen; i++) {
			if (port[i] < '0' || port[i] > '9')
				return YM_E_PARSE;
		}
		if (!dflt && ((r = put(out, &n, INTEL_URL_MAX, ":", 1)) ||
			      (r = put(out, &n, INTEL_URL_MAX, port, plen))))
			return r;
	}
	/* path and query as they are; the fragment never reaches a server */
	alen = cursor_left(&c);
	if (cursor_get_bytes(&c, alen, &p))
		return YM_E_PARSE;
	for (i = 0; i < alen && p[i] != '#'; i++)
		;
	if (i == 0 || p[0] != '/') {
		if ((r = put(out, &n, INTEL_URL_MAX, "/", 1)))
			return r;
	}
	if ((r = put(out, &n, INTEL_URL_MAX, p, i)))
		return r;
	out[n] = 0;
	return (int)n;
}

int intel_text_refang(const char *s, size_t len, char *out, size_t outsz)
{
	static const struct {
		const char *from, *to;
	} tab[] = {{"[://]", "://"},   {"[.]", "."},	{"(.)", "."},	    {"{.}", "."},
		   {"[dot]", "."},     {"[:]", ":"},	{"hxxps", "https"}, {"hxxp", "http"},
		   {"HXXPS", "https"}, {"HXXP", "http"}};
	struct cursor c;
	const uint8_t *p;
	size_t n = 0;

	/* the common case: nothing defanged */
	if (!memchr(s, '[', len) && !memchr(s, '(', len) && !memchr(s, '{', len) &&
	    !(len >= 4 && (strncmp(s, "hxxp", 4) == 0 || strncmp(s, "HXXP", 4) == 0))) {
		if (len >= outsz)
			return YM_E_TOOBIG;
		memcpy(out, s, len);
		out[len] = 0;
		return (int)len;
	}
	cursor_init(&c, s, len);
	while (cursor_left(&c) > 0) {
		size_t left = cursor_left(&c), k;
		const char *at = s + c.off;

		for (k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
			size_t fl = strlen(tab[k].from);
			/* the hxxp forms only at the start */
			if (tab[k].from[0] != '[' && tab[k].from[0] != '(' &&
			    tab[k].from[0] != '{' && c.off != 0)
				continue;
			if (fl <= left && memcmp(at, tab[k].from, fl) == 0)
				break;
		}
		if (k < sizeof(tab) / sizeof(tab[0])) {
			size_t fl = strlen(tab[k].from), tl = strlen(tab[k].to);
			if (tl >= outsz - n)
				return YM_E_TOOBIG;
			memcpy(out + n, tab[k].to, tl);
			n += tl;
			(void)cursor_get_bytes(&c, fl, &p);
			continue;
		}
		if (cursor_get_bytes(&c, 1, &p) || n + 1 >= outsz)
			return YM_E_TOOBIG;
		out[n++] = (char)*p;
	}
	out[n] = 0;
	return (int)n;
}

void intel_text_ip_format(int v6, unsigned __int128 lo, unsigned __int128 hi, char out[64])
{
	unsigned char bin[16];
	unsigned __int128 x = lo ^ hi;
	unsigned host = 0, bits = v6 ? 128 : 32;
	size_t n;

	while (x) {
		host++;
		x >>= 1;
	}
	if (v6) {
		for (int i = 15; i >= 0; i--, lo >>= 8)
			bin[i] = (unsigned char)lo;
		inet_ntop(AF_INET6, bin, out, 64);
	} else {
		for (int i = 3; i >= 0; i--, lo >>= 8)
			bin[i] = (unsigned char)lo;
		inet_ntop(AF_INET, bin, out, 64);
	}
	if (host) {
		n = strlen(out);
		snprintf(out + n, 64 - n, "/%u", bits - host);
	}
}
