/* intel_ips: IPv4 and IPv6 CIDR ranges as sorted interval tables with
 * parent links (intel_int.h says why parents suffice for CIDRs). */
#include "intel_int.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NEST 130 /* /0 .. /128 */

void intel_ips_free(struct intel_ips *t)
{
	free(t->v4);
	free(t->idx4);
	free(t->v6);
	memset(t, 0, sizeof(*t));
}

static int grow(void **p, size_t *alloc, size_t n, size_t sz)
{
	size_t na;
	void *q;

	if (n < *alloc)
		return 0;
	na = *alloc ? *alloc * 2 : 256;
	if (na > INTEL_MAX_INDICATORS)
		na = INTEL_MAX_INDICATORS;
	if (na <= n)
		return YM_E_TOOBIG;
	q = realloc(*p, na * sz);
	if (!q)
		return YM_E_NOMEM;
	*p = q;
	*alloc = na;
	return 0;
}

int intel_ips_add4(struct intel_ips *t, uint32_t lo, uint32_t hi, uint32_t meta)
{
	int r = grow((void **)&t->v4, &t->a4, t->n4, sizeof(*t->v4));

	if (r)
		return r;
	t->v4[t->n4++] = (struct intel_ip4){lo, hi, meta, INTEL_NONE};
	return 0;
}

int intel_ips_add6(struct intel_ips *t, unsigned __int128 lo, unsigned __int128 hi, uint32_t meta)
{
	int r = grow((void **)&t->v6, &t->a6, t->n6, sizeof(*t->v6));

	if (r)
		return r;
	t->v6[t->n6].lo = lo;
	t->v6[t->n6].hi = hi;
	t->v6[t->n6].meta = meta;
	t->v6[t->n6].parent = INTEL_NONE;
	t->n6++;
	return 0;
}

/* lo ascending, then hi descending (the container first), then insertion order */
static int cmp4(const void *a, const void *b)
{
	const struct intel_ip4 *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return x->meta < y->meta ? -1 : x->meta > y->meta;
}

static int cmp6(const void *a, const void *b)
{
	const struct intel_ip6 *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return x->meta < y->meta ? -1 : x->meta > y->meta;
}

static void finish4(struct intel_ips *t)
{
	uint32_t stack[MAX_NEST];
	size_t sp = 0, w = 0;

	if (t->n4 > 1)
		qsort(t->v4, t->n4, sizeof(*t->v4), cmp4);
	for (size_t r = 0; r < t->n4; r++) {
		struct intel_ip4 cur = t->v4[r];

		if (w > 0 && t->v4[w - 1].lo == cur.lo && t->v4[w - 1].hi == cur.hi)
			continue;
		while (sp > 0 && t->v4[stack[sp - 1]].hi < cur.lo)
			sp--;
		cur.parent = sp > 0 ? stack[sp - 1] : INTEL_NONE;
		t->v4[w] = cur;
		if (sp < MAX_NEST) /* CIDRs nest at most 33 deep */
			stack[sp++] = (uint32_t)w;
		w++;
	}
	t->n4 = w;
}

static void finish6(struct intel_ips *t)
{
	uint32_t stack[MAX_NEST];
	size_t sp = 0, w = 0;

	if (t->n6 > 1)
		qsort(t->v6, t->n6, sizeof(*t->v6), cmp6);
	for (size_t r = 0; r < t->n6; r++) {
		struct intel_ip6 cur = t->v6[r];

		if (w > 0 && t->v6[w - 1].lo == cur.lo && t->v6[w - 1].hi == cur.hi)
			continue;
		while (sp > 0 && t->v6[stack[sp - 1]].hi < cur.lo)
			sp--;
		cur.parent = sp > 0 ? stack[sp - 1] : INTEL_NONE;
		t->v6[w] = cur;
		if (sp < MAX_NEST)
			stack[sp++] = (uint32_t)w;
		w++;
	}
	t->n6 = w;
}

/* idx4[p]: the number of ranges whose lo is below p << 16 (p = 0 .. 65536). */
static int index4(struct intel_ips *t)
{
	size_t r = 0;

	free(t->idx4);
	t->idx4 = NULL;
	if (t->n4 == 0)
		return 0;
	t->idx4 = malloc(65537 * sizeof(*t->idx4));
	if (!t->idx4)
		return YM_E_NOMEM;
	for (uint32_t p = 0; p < 65536; p++) {
		while (r < t->n4 && t->v4[r].lo < (p << 16))
			r++;
		t->idx4[p] = (uint32_t)r;
	}
	t->idx4[65536] = (uint32_t)t->n4;
	return 0;
}

int intel_ips_finish(struct intel_ips *t)
{
	finish4(t);
	finish6(t);
	return index4(t);
}

const struct intel_ip4 *intel_ips_find4(const struct intel_ips *t, uint32_t a)
{
	size_t lo = 0, hi = t->n4;
	uint32_t i;

	/* the last range with lo <= a: among those of a's /16 prefix, else
	 * the one just before them (a wider range holding a, by its parents) */
	if (t->idx4) {
		lo = t->idx4[a >> 16];
		hi = t->idx4[(a >> 16) + 1];
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v4[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	for (i = (uint32_t)(lo - 1); i != INTEL_NONE; i = t->v4[i].parent) {
		if (t->v4[i].hi >= a)
			return &t->v4[i];
	}
	return NULL;
}

const struct intel_ip6 *intel_ips_find6(const struct intel_ips *t, unsigned __int128 a)
{
	size_t lo = 0, hi = t->n6;
	uint32_t i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v6[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	for (i = (uint32_t)(lo - 1); i != INTEL_NONE; i = t->v6[i].parent) {
		if (t->v6[i].hi >= a)
			return &t->v6[i];
	}
	return NULL;
}
