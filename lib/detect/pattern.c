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
#include "buf.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static uint8_t fold(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

int pattern_glob(struct pattern *p, struct arena *a, const char *s, size_t n, enum pat_wrap wrap,
		 int cased)
{
	struct cursor cur;
	uint8_t *lit = NULL, *any = NULL;
	struct pchunk *chunks = NULL;
	size_t len = 0, start = 0, nchunks = 0;
	int has_any = 0, r = 0;
	uint8_t c, nx;

	memset(p, 0, sizeof(*p));
	p->kind = PAT_GLOB;
	p->cased = (uint8_t) !!cased;
	p->anch_start = wrap == PAT_WRAP_NONE || wrap == PAT_WRAP_STARTSWITH;
	p->anch_end = wrap == PAT_WRAP_NONE || wrap == PAT_WRAP_ENDSWITH;
	/* Unescaping never grows a value, and n bytes hold at most n / 2 + 1 chunks. */
	lit = arena_alloc(a, n + 1);
	any = arena_alloc(a, n + 1);
	chunks = arena_alloc(a, (n / 2 + 1) * sizeof(*chunks));
	if (!lit || !any || !chunks) {
		r = a->err;
		goto out;
	}
	cursor_init(&cur, s, n);
	while (cursor_get_u8(&cur, &c) == 0) {
		if (c == '*') {
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
			if (cursor_left(&cur) == 0)
				p->anch_end = 0;
			continue;
		}
		if (c == '?') {
			lit[len] = 0;
			any[len++] = 1;
			has_any = 1;
			continue;
		}
		if (c == '\\') {
			struct cursor peek = cur;
			/* \* \? \\ stand for the plain character; any other backslash is itself. */
			if (cursor_get_u8(&peek, &nx) == 0 &&
			    (nx == '*' || nx == '?' || nx == '\\')) {
				cur = peek;
				c = nx;
			}
		}
		lit[len] = cased ? c : fold(c);
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

int pattern_regex(struct pattern *p, const char *s, size_t n, uint32_t opts, char *msg,
		  size_t msgsz)
{
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

int pattern_match(const struct pattern *p, const char *v, size_t n, struct match_env *env)
{
	pcre2_match_data *md;
	int rc;

	if (p->kind == PAT_GLOB)
		return glob_match(p, (const uint8_t *)v, n);
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
