/* intel_keys: a sorted array of fixed-size binary keys with a 16-bit prefix
 * index. Key bytes plus a 4-byte metadata id per indicator, nothing else:
 * 36 bytes per SHA-256 (docs/intel.md "Memory"). */
#include "intel_int.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKET 65536u

void intel_keys_init(struct intel_keys *k, unsigned klen)
{
	memset(k, 0, sizeof(*k));
	k->klen = klen;
	k->rsz = klen + 4;
}

void intel_keys_free(struct intel_keys *k)
{
	free(k->rec);
	free(k->bucket);
	intel_bloom_free(&k->bloom);
	k->rec = NULL;
	k->bucket = NULL;
	k->n = k->alloc = 0;
}

int intel_keys_add(struct intel_keys *k, const uint8_t *key, uint32_t meta)
{
	if (k->n == k->alloc) {
		size_t na = k->alloc ? k->alloc * 2 : 1024;
		uint8_t *p;

		if (na > INTEL_MAX_INDICATORS)
			na = INTEL_MAX_INDICATORS;
		if (na <= k->n)
			return YM_E_TOOBIG;
		p = realloc(k->rec, na * k->rsz);
		if (!p)
			return YM_E_NOMEM;
		k->rec = p;
		k->alloc = na;
	}
	memcpy(k->rec + k->n * k->rsz, key, k->klen);
	memcpy(k->rec + k->n * k->rsz + k->klen, &meta, 4);
	k->n++;
	return 0;
}

/* Equal keys order by position, so the first one added survives de-duplication;
 * the metadata id grows with insertion order, so it serves as the position. */
static int cmp_rec(const void *a, const void *b, void *arg)
{
	const struct intel_keys *k = arg;
	int c = memcmp(a, b, k->klen);
	uint32_t ma, mb;

	if (c)
		return c;
	memcpy(&ma, (const uint8_t *)a + k->klen, 4);
	memcpy(&mb, (const uint8_t *)b + k->klen, 4);
	return ma < mb ? -1 : ma > mb;
}

/* The bloom filter's hash of a key: its first and last 8 bytes (digests:
 * klen >= 16), spread by the filter. */
static uint64_t key_hash(const struct intel_keys *k, const uint8_t *key)
{
	uint64_t a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + k->klen - 8, 8);
	return a ^ (b * 0x9e3779b97f4a7c15ull);
}

int intel_keys_finish(struct intel_keys *k)
{
	size_t w = 0, r;
	uint32_t b;

	if (k->n == 0) { /* nothing to index: lookups see n == 0 */
		free(k->rec);
		k->rec = NULL;
		k->alloc = 0;
		return 0;
	}
	k->bucket = malloc((NBUCKET + 1) * sizeof(uint32_t));
	if (!k->bucket)
		return YM_E_NOMEM;
	if (k->n > 1)
		qsort_r(k->rec, k->n, k->rsz, cmp_rec, k);
	for (r = 0; r < k->n; r++) {
		if (w > 0 && memcmp(k->rec + (w - 1) * k->rsz, k->rec + r * k->rsz, k->klen) == 0)
			continue;
		if (w != r)
			memcpy(k->rec + w * k->rsz, k->rec + r * k->rsz, k->rsz);
		w++;
	}
	k->n = w;
	if (k->n < k->alloc) {
		uint8_t *p = k->n ? realloc(k->rec, k->n * k->rsz) : NULL;
		if (p || !k->n) {
			if (!k->n)
				free(k->rec);
			k->rec = p;
			k->alloc = k->n;
		}
	}
	/* bucket[b]: first record with prefix >= b */
	r = 0;
	for (b = 0; b <= NBUCKET; b++) {
		while (r < k->n &&
		       (uint32_t)((k->rec[r * k->rsz] << 8) | k->rec[r * k->rsz + 1]) < b)
			r++;
		k->bucket[b] = (uint32_t)r;
	}
	if (intel_bloom_init(&k->bloom, k->n) < 0)
		return YM_E_NOMEM;
	for (r = 0; r < k->n; r++)
		intel_bloom_add(&k->bloom, key_hash(k, k->rec + r * k->rsz));
	return 0;
}

const uint8_t *intel_keys_find(const struct intel_keys *k, const uint8_t *key)
{
	uint32_t b, lo, hi;

	if (!k->n || !k->bucket || !intel_bloom_maybe(&k->bloom, key_hash(k, key)))
		return NULL;
	b = (uint32_t)(key[0] << 8) | key[1];
	lo = k->bucket[b];
	hi = k->bucket[b + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const uint8_t *rec = k->rec + (size_t)mid * k->rsz;
		int c = memcmp(key, rec, k->klen);

		if (c == 0)
			return rec;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
