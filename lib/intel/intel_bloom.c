/* intel_bloom: a blocked bloom filter in front of the indicator tables, so
 * that a lookup of a value that is not an indicator (nearly all of them)
 * reads one cache line instead of a table's hash slots or binary search.
 * Each key sets INTEL_BLOOM_K bits inside one 64-byte block chosen by its
 * hash; no false negatives, about 1 % false positives at 12 bits per key. */
#include "intel_int.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define INTEL_BLOOM_BITS_PER_KEY 12
#define BLOOM_HUGE		 ((size_t)2 << 20) /* a huge page */
#define INTEL_BLOOM_K		 6

/* Spreads h over 64 bits (splitmix64's finalizer): the callers' hashes
 * (raw digest bytes, FNV-1a) are not uniform enough in every bit. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

int intel_bloom_init(struct intel_bloom *b, size_t n)
{
	size_t blocks = 1, bytes, align;

	memset(b, 0, sizeof(*b));
	if (n == 0)
		return 0;
	if (n > INTEL_MAX_INDICATORS)
		return YM_E_TOOBIG;
	while (blocks * 512 < n * INTEL_BLOOM_BITS_PER_KEY)
		blocks *= 2;
	bytes = blocks * sizeof(*b->blk); /* a power of two */
	/* Every lookup lands on a random block: over 10 M keys (16 MiB) that is
	 * a TLB miss per lookup with 4 KiB pages. A filter of 2 MiB or more is
	 * 2 MiB-aligned and asks for transparent huge pages (only advice: THP
	 * off or refused leaves it as before). */
	align = bytes >= BLOOM_HUGE ? BLOOM_HUGE : 64;
	b->blk = aligned_alloc(align, bytes);
	if (!b->blk)
		return YM_E_NOMEM;
	if (align == BLOOM_HUGE)
		(void)madvise(b->blk, bytes, MADV_HUGEPAGE);
	memset(b->blk, 0, bytes);
	b->mask = blocks - 1;
	return 0;
}

void intel_bloom_free(struct intel_bloom *b)
{
	free(b->blk);
	memset(b, 0, sizeof(*b));
}

/* The block of h, and in g the bit positions: INTEL_BLOOM_K 9-bit pieces. */
static struct intel_bloom_blk *locate(const struct intel_bloom *b, uint64_t h, uint64_t *g)
{
	uint64_t m = mix(h);

	*g = mix(m ^ 0x9e3779b97f4a7c15ull);
	return &b->blk[(size_t)m & b->mask];
}

void intel_bloom_add(struct intel_bloom *b, uint64_t h)
{
	uint64_t g;
	struct intel_bloom_blk *k;

	if (!b->blk)
		return;
	k = locate(b, h, &g);
	for (unsigned i = 0; i < INTEL_BLOOM_K; i++, g >>= 9)
		k->w[(g >> 6) & 7] |= 1ull << (g & 63);
}

int intel_bloom_maybe(const struct intel_bloom *b, uint64_t h)
{
	uint64_t g;
	const struct intel_bloom_blk *k;

	if (!b->blk)
		return 1; /* no filter: every key may be there */
	k = locate(b, h, &g);
	for (unsigned i = 0; i < INTEL_BLOOM_K; i++, g >>= 9) {
		if (!(k->w[(g >> 6) & 7] >> (g & 63) & 1))
			return 0;
	}
	return 1;
}
