/* intel_strset: a set of normalised strings (domains, URLs): one arena of
 * entries and an open-addressing table of fingerprints and offsets. */
#include "intel_int.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

void intel_strset_init(struct intel_strset *s)
{
	memset(s, 0, sizeof(*s));
	buf_init(&s->arena, INTEL_STR_CAP);
}

void intel_strset_free(struct intel_strset *s)
{
	buf_free(&s->arena);
	free(s->offs);
	free(s->tab);
	intel_bloom_free(&s->bloom);
	s->offs = NULL;
	s->tab = NULL;
	s->n = s->alloc = 0;
	s->mask = 0;
}

int intel_strset_add(struct intel_strset *s, const char *text, size_t len, uint32_t meta)
{
	size_t off = s->arena.len;
	int r;

	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 256;
		uint32_t *p;

		if (na > INTEL_MAX_INDICATORS)
			na = INTEL_MAX_INDICATORS;
		if (na <= s->n)
			return YM_E_TOOBIG;
		p = realloc(s->offs, na * sizeof(*p));
		if (!p)
			return YM_E_NOMEM;
		s->offs = p;
		s->alloc = na;
	}
	/* meta, text, NUL: on failure the buffer is cut back to where it was */
	if ((r = buf_put(&s->arena, &meta, 4)) || (r = buf_put(&s->arena, text, len)) ||
	    (r = buf_put_u8(&s->arena, 0))) {
		s->arena.len = off;
		return r;
	}
	s->offs[s->n++] = (uint32_t)off;
	return 0;
}

static uint32_t fp_of(uint64_t h)
{
	return (uint32_t)(h >> 32) | 1u; /* never 0 */
}

int intel_strset_finish(struct intel_strset *s)
{
	size_t size = 16, distinct = 0;

	while (size * 7 < s->n * 10)
		size *= 2;
	s->tab = calloc(size, sizeof(*s->tab));
	if (!s->tab)
		return YM_E_NOMEM;
	s->mask = size - 1;
	if (intel_bloom_init(&s->bloom, s->n) < 0)
		return YM_E_NOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const char *t = (const char *)s->arena.data + s->offs[i] + 4;
		size_t len = strlen(t);
		uint64_t h = intel_text_hash(t, len);
		uint32_t fp = fp_of(h);
		size_t j = (size_t)h & s->mask;

		intel_bloom_add(&s->bloom, h);
		for (;; j = (j + 1) & s->mask) {
			struct intel_slot *sl = &s->tab[j];
			if (sl->off1 == 0) {
				sl->fp = fp;
				sl->off1 = s->offs[i] + 1;
				distinct++;
				break;
			}
			if (sl->fp == fp &&
			    strcmp((const char *)s->arena.data + sl->off1 - 1 + 4, t) == 0)
				break; /* duplicate: the first one stays */
		}
	}
	free(s->offs);
	s->offs = NULL;
	s->alloc = 0;
	s->n = distinct;
	if (s->arena.alloc > s->arena.len + 1) { /* give back the doubling's slack */
		uint8_t *p = realloc(s->arena.data, s->arena.len + 1);
		if (p) {
			s->arena.data = p;
			s->arena.alloc = s->arena.len + 1;
		}
	}
	return 0;
}

const char *intel_strset_find(const struct intel_strset *s, const char *text, size_t len,
			      uint32_t *meta)
{
	uint64_t h;
	uint32_t fp;
	size_t j;

	if (!s->tab || s->n == 0)
		return NULL;
	h = intel_text_hash(text, len);
	if (!intel_bloom_maybe(&s->bloom, h))
		return NULL;
	fp = fp_of(h);
	for (j = (size_t)h & s->mask;; j = (j + 1) & s->mask) {
		const struct intel_slot *sl = &s->tab[j];
		const char *e;

		if (sl->off1 == 0)
			return NULL;
		if (sl->fp != fp)
			continue;
		e = (const char *)s->arena.data + sl->off1 - 1 + 4;
		if (strncmp(e, text, len) == 0 && e[len] == 0) {
			memcpy(meta, e - 4, 4);
			return e;
		}
	}
}
