/* pattern: one Sigma value, compiled once at load time.
 *
 * A string value becomes a glob: literal chunks separated by '*', with '?'
 * positions marked, lowercased at load time unless `cased`, plus whether the
 * first chunk is anchored at the start and the last at the end (contains /
 * startswith / endswith only clear those flags). Matching a glob is a greedy
 * leftmost search of each middle chunk, which is exact for '*'-only globs and
 * needs no backtracking, so it is O(len(value) * len(chunk)) at worst and
 * never allocates. ASCII letters are folded on the fly on the event side.
 *
 * A `re` value becomes a PCRE2 code, in byte mode (never UTF), JIT-compiled
 * when the platform allows it. Matching uses one match data per thread and
 * the ruleset's match context, which bounds backtracking. */
#include "detect_int.h"

#include "err.h"
#include "util.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static uint8_t fold(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

int pattern_units(struct pattern *p, struct arena *a, const uint16_t *u, size_t n,
		  enum pat_wrap wrap, int cased)
{
	uint8_t *lit = NULL, *any = NULL;
	struct pchunk *chunks = NULL;
	size_t len = 0, start = 0, nchunks = 0;
	int has_any = 0, r = 0;

	memset(p, 0, sizeof(*p));
	p->kind = PAT_GLOB;
	p->cased = (uint8_t) !!cased;
	p->anch_start = wrap == PAT_WRAP_NONE || wrap == PAT_WRAP_STARTSWITH;
	p->anch_end = wrap == PAT_WRAP_NONE || wrap == PAT_WRAP_ENDSWITH;
	/* n units hold at most n / 2 + 1 chunks. */
	lit = arena_alloc(a, n + 1);
	any = arena_alloc(a, n + 1);
	chunks = arena_alloc(a, (n / 2 + 1) * sizeof(*chunks));
	if (!lit || !any || !chunks) {
		r = a->err;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint16_t c = u[i];
		if (c == VAL_STAR) {
			if (len > start) {
				chunks[nchunks].lit = lit + start;
				chunks[nchunks].any = has_any ? any + start : NULL;
				chunks[nchunks].len = (uint32_t)(len - start);
				nchunks++;
				start = len;
				has_any = 0;
			} else if (nchunks == 0) {
				p->anch_start = 0;
			}
			if (i + 1 == n)
				p->anch_end = 0;
			continue;
		}
		if (c == VAL_ONE) {
			lit[len] = 0;
			any[len++] = 1;
			has_any = 1;
			continue;
		}
		lit[len] = cased ? (uint8_t)c : fold((uint8_t)c);
		any[len++] = 0;
	}
	if (len > start) {
		chunks[nchunks].lit = lit + start;
		chunks[nchunks].any = has_any ? any + start : NULL;
		chunks[nchunks].len = (uint32_t)(len - start);
		nchunks++;
	}
	p->chunks = chunks;
	p->nchunks = (uint32_t)nchunks;
out:
	return r;
}

int pattern_glob(struct pattern *p, struct arena *a, const char *s, size_t n, enum pat_wrap wrap,
		 int cased)
{
	struct value *v = NULL;
	char missing[8];
	int r;

	r = value_parse(a, s, n, NULL, 0, &v, missing, sizeof(missing));
	if (r < 0)
		return r;
	return pattern_units(p, a, v->u, v->n, wrap, cased);
}

int pattern_parse_number(const char *s, size_t n, double *out)
{
	size_t i = 0, digits = 0;
	double v = 0, scale = 1;
	int neg = 0, eneg = 0, e = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		v = v * 10 + (s[i] - '0');
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		}
	}
	if (digits == 0)
		return YM_E_PARSE;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t ed = 0;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++) {
			if (e < 10000)
				e = e * 10 + (s[i] - '0');
		}
		if (ed == 0)
			return YM_E_PARSE;
		for (int k = 0; k < e && v != 0; k++) {
			v = eneg ? v / 10 : v * 10;
			if (v > 1e308)
				break;
		}
	}
	if (i != n)
		return YM_E_PARSE;
	*out = neg ? -v : v;
	return 0;
}

/* Parses an IPv4 or IPv6 address (n bytes, no zone) into addr; returns 4, 6 or 0. */
static int parse_ip(const char *s, size_t n, uint8_t addr[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (memchr(buf, ':', n))
		return inet_pton(AF_INET6, buf, addr) == 1 ? 6 : 0;
	return inet_pton(AF_INET, buf, addr) == 1 ? 4 : 0;
}

int pattern_cidr(struct pattern *p, struct arena *a, const char *s, size_t n, char *msg,
		 size_t msgsz)
{
	struct pextra *x;
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	uint64_t bits;
	int fam;

	memset(p, 0, sizeof(*p));
	x = arena_alloc(a, sizeof(*x));
	if (!x)
		return a->err;
	fam = parse_ip(s, alen, x->addr);
	if (!fam) {
		snprintf(msg, msgsz, "'cidr' needs an IPv4 or IPv6 network (addr/len)");
		return YM_E_PARSE;
	}
	bits = fam == 4 ? 32 : 128;
	if (slash) {
		char num[8];
		size_t nl = n - alen - 1;
		if (nl == 0 || nl >= sizeof(num)) {
			snprintf(msg, msgsz, "'cidr' prefix length is missing or too long");
			return YM_E_PARSE;
		}
		memcpy(num, slash + 1, nl);
		num[nl] = 0;
		if (util_parse_u64(num, 0, fam == 4 ? 32 : 128, &bits) != 0) {
			snprintf(msg, msgsz, "'cidr' prefix length must be 0..%d",
				 fam == 4 ? 32 : 128);
			return YM_E_PARSE;
		}
	}
	x->family = (uint8_t)fam;
	x->plen = (uint8_t)bits;
	p->kind = PAT_CIDR;
	p->x = x;
	return 0;
}

int pattern_num(struct pattern *p, struct arena *a, const char *s, size_t n, enum num_op op,
		enum time_part part, char *msg, size_t msgsz)
{
	struct pextra *x;
	double v;

	memset(p, 0, sizeof(*p));
	if (pattern_parse_number(s, n, &v) != 0) {
		snprintf(msg, msgsz, "numeric and time modifiers need a number");
		return YM_E_PARSE;
	}
	x = arena_alloc(a, sizeof(*x));
	if (!x)
		return a->err;
	x->op = (uint8_t)op;
	x->part = (uint8_t)part;
	x->num = v;
	p->kind = PAT_NUM;
	p->x = x;
	return 0;
}

int pattern_fieldref(struct pattern *p, struct arena *a, const char *s, size_t n,
		     enum pat_wrap wrap, int cased)
{
	struct pextra *x;

	memset(p, 0, sizeof(*p));
	x = arena_alloc(a, sizeof(*x));
	if (!x)
		return a->err;
	x->ref = arena_strndup(a, s, n);
	if (!x->ref)
		return a->err;
	x->wrap = (uint8_t)wrap;
	p->kind = PAT_FIELDREF;
	p->cased = (uint8_t) !!cased;
	p->x = x;
	return 0;
}

static int is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Skips the escape at s[i] == '\\' (i + 1 < n). Returns the index after it,
 * with *lit set to the byte it stands for or -1 when it is no single literal
 * byte; returns 0 for an escape this scanner does not know (give up). */
static size_t re_escape(const uint8_t *s, size_t n, size_t i, int *lit)
{
	uint8_t c = s[i + 1];
	size_t j = i + 2;

	*lit = -1;
	if (!is_alnum(c)) {
		*lit = c;
		return j;
	}
	switch (c) {
	case 'd':
	case 'D':
	case 'w':
	case 'W':
	case 's':
	case 'S':
	case 'b':
	case 'B':
	case 'h':
	case 'H':
	case 'v':
	case 'V':
	case 'R':
	case 'A':
	case 'z':
	case 'Z':
	case 'G':
	case 'K':
	case 'X':
	case 'C':
	case 'n':
	case 't':
	case 'r':
	case 'f':
	case 'e':
	case 'a':
		return j;
	case 'x':
		if (j < n && s[j] == '{') {
			while (j < n && s[j] != '}')
				j++;
			return j < n ? j + 1 : 0;
		}
		for (int k = 0; k < 2 && j < n && is_hex(s[j]); k++)
			j++;
		return j;
	case 'c':
		return j < n ? j + 1 : 0;
	default:
		return 0; /* \Q..\E, \p, \g, \k, back references, octal, ...: unknown here */
	}
}

/* Index after the group or class opening at s[i] ('(' or '['), or 0 when it
 * does not close. Classes nest in no way that matters here except that ']'
 * right after '[' or '[^' is literal and "[:alpha:]" sits inside. */
static size_t re_skip(const uint8_t *s, size_t n, size_t i)
{
	int depth = 0;

	if (s[i] == '[') {
		size_t j = i + 1;
		if (j < n && s[j] == '^')
			j++;
		if (j < n && s[j] == ']')
			j++;
		for (; j < n; j++) {
			if (s[j] == '\\')
				j++;
			else if (s[j] == '[' && j + 1 < n && s[j + 1] == ':') {
				const uint8_t *e = memchr(s + j + 2, ']', n - j - 2);
				if (!e)
					return 0;
				j = (size_t)(e - s);
			} else if (s[j] == ']')
				return j + 1;
		}
		return 0;
	}
	for (size_t j = i; j < n; j++) {
		if (s[j] == '\\') {
			j++;
		} else if (s[j] == '[') {
			size_t k = re_skip(s, n, j);
			if (!k)
				return 0;
			j = k - 1;
		} else if (s[j] == '(') {
			depth++;
		} else if (s[j] == ')' && --depth == 0) {
			return j + 1;
		}
	}
	return 0;
}

size_t pattern_re_literal(const char *str, size_t n, uint8_t *out, size_t outsz)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t best = 0, run = 0, i = 0;
	uint8_t cur[256];

	/* Inline options with x change what whitespace means: give up. */
	for (size_t k = 0; k + 2 < n; k++) {
		if (s[k] == '(' && s[k + 1] == '?') {
			for (size_t j = k + 2; j < n && s[j] != ')' && s[j] != ':'; j++) {
				if (s[j] == 'x')
					return 0;
			}
		}
	}
	while (i < n) {
		uint8_t c = s[i];
		int lit = -1;
		size_t next = i + 1;

		if (c == '\\') {
			if (i + 1 >= n)
				return 0;
			next = re_escape(s, n, i, &lit);
			if (!next)
				return 0;
		} else if (c == '|') {
			return 0; /* a top-level alternation: nothing is certain */
		} else if (c == '(' || c == '[') {
			next = re_skip(s, n, i);
			if (!next)
				return 0;
		} else if (c == '*' || c == '?' || c == '{' || c == '+') {
			/* the byte before is optional (or repeated): leave it out;
			 * a '{' that opens no {n}, {n,}, {n,m} or {,m} is a literal
			 * byte, only left out here */
			if (c == '{') {
				size_t j = i + 1;
				while (j < n &&
				       ((s[j] >= '0' && s[j] <= '9') || s[j] == ',' || s[j] == ' '))
					j++;
				if (j < n && s[j] == '}')
					next = j + 1;
			}
			if (c != '+' && run)
				run--;
			if (run > best) {
				best = run;
				memcpy(out, cur, best < outsz ? best : outsz);
			}
			run = 0;
			i = next;
			continue;
		} else if (c != '.' && c != '^' && c != '$' && c != ')') {
			lit = c;
		}
		if (lit >= 0 && run < sizeof(cur)) {
			cur[run++] = (uint8_t)lit;
		} else {
			if (run > best) {
				best = run;
				memcpy(out, cur, best < outsz ? best : outsz);
			}
			run = 0;
		}
		i = next;
	}
	if (run > best) {
		best = run;
		memcpy(out, cur, best < outsz ? best : outsz);
	}
	return best < outsz ? best : outsz;
}

int pattern_regex(struct pattern *p, struct arena *a, const char *s, size_t n, uint32_t opts,
		  char *msg, size_t msgsz)
{
	uint8_t req[256];
	size_t nreq;

	pcre2_code *code = NULL;
	PCRE2_SIZE eoff = 0;
	int ec = 0, r = 0;

	memset(p, 0, sizeof(*p));
	if (n > DETECT_MAX_RE_LEN) {
		snprintf(msg, msgsz, "regular expression longer than %u bytes", DETECT_MAX_RE_LEN);
		r = YM_E_TOOBIG;
		goto out;
	}
	/* Byte mode: event values need not be valid UTF-8, and a pattern may not
	 * switch UTF or UCP on behind our back. */
	code = pcre2_compile((PCRE2_SPTR)s, n, opts | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &ec, &eoff,
			     NULL);
	if (!code) {
		PCRE2_UCHAR em[120];
		if (ec == PCRE2_ERROR_NOMEMORY) {
			r = YM_E_NOMEM;
			goto out;
		}
		if (pcre2_get_error_message(ec, em, sizeof(em)) < 0)
			snprintf((char *)em, sizeof(em), "error %d", ec);
		snprintf(msg, msgsz, "bad regular expression at offset %zu: %s", (size_t)eoff,
			 (const char *)em);
		r = YM_E_PARSE;
		goto out;
	}
	/* Failing JIT (no executable memory) leaves the interpreter, which is fine. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	nreq = pattern_re_literal(s, n, req, sizeof(req));
	if (nreq) {
		uint8_t *q = arena_alloc(a, nreq);
		if (!q) {
			r = a->err;
			goto out;
		}
		memcpy(q, req, nreq);
		p->req = q;
		p->nreq = (uint32_t)nreq;
	}
	p->kind = PAT_RE;
	p->re = code;
	code = NULL;
out:
	pcre2_code_free(code);
	return r;
}

void pattern_free(struct pattern *p)
{
	if (p && p->re) {
		pcre2_code_free(p->re);
		p->re = NULL;
	}
}

/* One match data per thread, made on the first regex match of the thread:
 * pcre2_match needs a writable one, and sharing one between threads would
 * race. One ovector pair is enough since we only ask whether it matched
 * (a return of 0 means "matched, ovector too small"). */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static int md_key_ok;

static void md_destroy(void *p)
{
	pcre2_match_data_free(p);
}

static void md_key_init(void)
{
	md_key_ok = pthread_key_create(&md_key, md_destroy) == 0;
}

static pcre2_match_data *md_get(void)
{
	pcre2_match_data *md;

	if (pthread_once(&md_once, md_key_init) != 0 || !md_key_ok)
		return NULL;
	md = pthread_getspecific(md_key);
	if (md)
		return md;
	md = pcre2_match_data_create(1, NULL);
	if (md && pthread_setspecific(md_key, md) != 0) {
		pcre2_match_data_free(md);
		md = NULL;
	}
	return md;
}

/* 1 when chunk c matches at h, which has at least c->len bytes. */
static int chunk_at(const struct pchunk *c, const uint8_t *h, int cased)
{
	for (uint32_t i = 0; i < c->len; i++) {
		uint8_t b;
		if (c->any && c->any[i])
			continue;
		b = cased ? h[i] : fold(h[i]);
		if (b != c->lit[i])
			return 0;
	}
	return 1;
}

/* Where the next byte of one value sits at or after some offset: pos is
 * valid once known, SIZE_MAX meaning "no more". */
struct next_hit {
	int known;
	size_t pos;
};

static size_t next_hit(struct next_hit *nh, const uint8_t *h, size_t i, size_t last, uint8_t b)
{
	const uint8_t *q;

	if (!nh->known || (nh->pos != SIZE_MAX && nh->pos < i)) {
		q = memchr(h + i, b, last - i + 1);
		nh->pos = q ? (size_t)(q - h) : SIZE_MAX;
		nh->known = 1;
	}
	return nh->pos;
}

/* Leftmost offset in [from, to - len] where chunk c matches h, or -1. The
 * first byte, when literal, is found with memchr (both cases of a caseless
 * letter), so a miss costs little more than a memchr over the value. */
static long chunk_find(const struct pchunk *c, const uint8_t *h, size_t from, size_t to, int cased)
{
	struct next_hit lo = {0}, up = {0};
	size_t last;
	uint8_t f = c->lit[0];
	int first_any = c->any && c->any[0];
	int twin = !cased && f >= 'a' && f <= 'z';

	if (to < from || to - from < c->len)
		return -1;
	last = to - c->len;
	for (size_t i = from; i <= last; i++) {
		if (!first_any) {
			size_t a = next_hit(&lo, h, i, last, f);
			size_t b = twin ? next_hit(&up, h, i, last, (uint8_t)(f - 0x20)) : SIZE_MAX;
			i = a < b ? a : b;
			if (i == SIZE_MAX)
				return -1;
		}
		if (chunk_at(c, h + i, cased))
			return (long)i;
	}
	return -1;
}

static int glob_match(const struct pattern *p, const uint8_t *h, size_t n)
{
	const struct pchunk *c;
	size_t pos = 0, end = n;
	uint32_t i = 0, k = p->nchunks;

	if (k == 0)
		return (p->anch_start && p->anch_end) ? n == 0 : 1;
	if (p->anch_start) {
		c = &p->chunks[0];
		if (c->len > n || !chunk_at(c, h, p->cased))
			return 0;
		pos = c->len;
		i = 1;
	}
	if (p->anch_end) {
		if (i == k)
			return pos == n;
		c = &p->chunks[k - 1];
		if (c->len > n - pos || !chunk_at(c, h + n - c->len, p->cased))
			return 0;
		end = n - c->len;
		k--;
	}
	for (; i < k; i++) {
		long off = chunk_find(&p->chunks[i], h, pos, end, p->cased);
		if (off < 0)
			return 0;
		pos = (size_t)off + p->chunks[i].len;
	}
	return 1;
}

static int cidr_match(const struct pextra *x, const char *v, size_t n, struct match_env *env)
{
	const uint8_t *a = env->ipaddr;
	int fam;
	unsigned full, rest;

	if (env->ipv != v || env->ipn != n) {
		const char *pct = memchr(v, '%', n);
		/* IPv6 zone: fe80::1%eth0 */
		env->ipfam = parse_ip(v, pct ? (size_t)(pct - v) : n, env->ipaddr);
		env->ipv = v;
		env->ipn = n;
	}
	fam = env->ipfam;
	if (fam == 6 && x->family == 4) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) != 0)
			return 0;
		a += 12; /* ::ffff:a.b.c.d is that IPv4 address */
		fam = 4;
	}
	if (fam != x->family)
		return 0;
	full = x->plen / 8u;
	rest = x->plen % 8u;
	if (memcmp(a, x->addr, full) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a[full] & mask) != (x->addr[full] & mask))
			return 0;
	}
	return 1;
}

static int digits_at(const char *v, size_t n, size_t i, size_t k, int *out)
{
	int r = 0;

	if (i + k > n)
		return 0;
	for (size_t j = i; j < i + k; j++) {
		if (v[j] < '0' || v[j] > '9')
			return 0;
		r = r * 10 + (v[j] - '0');
	}
	*out = r;
	return 1;
}

/* Day of week, Monday = 1 .. Sunday = 7 (Sakamoto). */
static int weekday(int y, int m, int d)
{
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	int w;

	if (m < 3)
		y--;
	w = (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7; /* 0 = Sunday */
	return w == 0 ? 7 : w;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int iso_weeks(int y)
{
	int jan1 = weekday(y, 1, 1);
	return (jan1 == 4 || (jan1 == 3 && leap(y))) ? 53 : 52;
}

static int iso_week(int y, int m, int d)
{
	static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int ord = cum[m - 1] + d + (m > 2 && leap(y)), w;

	w = (ord - weekday(y, m, d) + 10) / 7;
	if (w < 1)
		return iso_weeks(y - 1);
	if (w > iso_weeks(y))
		return 1;
	return w;
}

/* Extracts part from "YYYY-MM-DD[T ]HH:MM[:SS...]" (time optional for day,
 * week, month and year). Returns 1 and sets *out, or 0. */
static int time_part(const char *v, size_t n, enum time_part part, double *out)
{
	int y, mo, d, h = 0, mi = 0, have_time = 0;

	if (!digits_at(v, n, 0, 4, &y) || n < 10 || v[4] != '-' || !digits_at(v, n, 5, 2, &mo) ||
	    v[7] != '-' || !digits_at(v, n, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return 0;
	if (n >= 16 && (v[10] == 'T' || v[10] == ' ') && digits_at(v, n, 11, 2, &h) &&
	    v[13] == ':' && digits_at(v, n, 14, 2, &mi) && h < 24 && mi < 60)
		have_time = 1;
	switch (part) {
	case TP_MINUTE:
		*out = mi;
		return have_time;
	case TP_HOUR:
		*out = h;
		return have_time;
	case TP_DAY:
		*out = d;
		return 1;
	case TP_WEEK:
		*out = iso_week(y, mo, d);
		return 1;
	case TP_MONTH:
		*out = mo;
		return 1;
	case TP_YEAR:
		*out = y;
		return 1;
	default:
		return 0;
	}
}

static int num_match(const struct pextra *x, const char *v, size_t n)
{
	double ev;

	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (x->part != TP_NONE) {
		if (!time_part(v, n, x->part, &ev))
			return 0;
	} else if (pattern_parse_number(v, n, &ev) != 0) {
		return 0;
	}
	switch (x->op) {
	case NUM_LT:
		return ev < x->num;
	case NUM_LTE:
		return ev <= x->num;
	case NUM_GT:
		return ev > x->num;
	case NUM_GTE:
		return ev >= x->num;
	default:
		return ev == x->num;
	}
}

static int bytes_eq(const uint8_t *a, const uint8_t *b, size_t n, int cased)
{
	for (size_t i = 0; i < n; i++) {
		if (cased ? a[i] != b[i] : fold(a[i]) != fold(b[i]))
			return 0;
	}
	return 1;
}

static int fieldref_match(const struct pattern *p, const char *v, size_t n,
			  const struct match_env *env)
{
	const uint8_t *h = (const uint8_t *)v, *r;
	size_t rn = 0;

	r = env->ev ? (const uint8_t *)search_field(env->ev, p->x->ref, &rn) : NULL;
	if (!r)
		return 0;
	switch (p->x->wrap) {
	case PAT_WRAP_STARTSWITH:
		return rn <= n && bytes_eq(h, r, rn, p->cased);
	case PAT_WRAP_ENDSWITH:
		return rn <= n && bytes_eq(h + n - rn, r, rn, p->cased);
	case PAT_WRAP_CONTAINS:
		for (size_t i = 0; i + rn <= n; i++) {
			if (bytes_eq(h + i, r, rn, p->cased))
				return 1;
		}
		return 0;
	default:
		return rn == n && bytes_eq(h, r, rn, p->cased);
	}
}

int pattern_match(const struct pattern *p, const char *v, size_t n, struct match_env *env)
{
	pcre2_match_data *md;
	int rc;

	if (p->kind == PAT_GLOB) /* the common case first */
		return glob_match(p, (const uint8_t *)v, n);
	switch (p->kind) {
	case PAT_CIDR:
		return cidr_match(p->x, v, n, env);
	case PAT_NUM:
		return num_match(p->x, v, n);
	case PAT_FIELDREF:
		return fieldref_match(p, v, n, env);
	default:
		break;
	}
	md = md_get();
	if (!md) {
		env->re_errors++;
		return 0;
	}
	rc = pcre2_match(p->re, (PCRE2_SPTR)v, n, 0, 0, md, env->mctx);
	if (rc >= 0)
		return 1;
	if (rc != PCRE2_ERROR_NOMATCH)
		env->re_errors++; /* match, depth or heap limit: counted, treated as no match */
	return 0;
}
