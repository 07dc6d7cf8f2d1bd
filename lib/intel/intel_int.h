/* intel_int.h: the tables behind struct intel_builder and struct intel_set
 * (docs/intel.md "Memory"). Private to lib/intel. */
#ifndef YM_INTEL_INT_H
#define YM_INTEL_INT_H

#include "buf.h"
#include "intel.h"

#include <stddef.h>
#include <stdint.h>

#define INTEL_NONE	   UINT32_MAX
#define INTEL_TEXT_CAP	   (1ull << 30)	     /* source and description strings */
#define INTEL_STR_CAP	   (UINT32_MAX - 1u) /* one string table's bytes (32-bit offsets) */
#define INTEL_DOMAIN_MAX   253
#define INTEL_URL_MAX	   2048
#define INTEL_FIELD_HASHES 1

/* A blocked bloom filter (intel_bloom.c): one 64-byte block per lookup, no
 * false negatives. Made by intel_bloom_init for n keys (no filter when n is
 * 0: intel_bloom_maybe then always says yes); keys are 64-bit hashes. */
struct intel_bloom_blk {
	uint64_t w[8];
};

struct intel_bloom {
	struct intel_bloom_blk *blk; /* 64-byte aligned */
	size_t mask;		     /* blocks - 1 */
};

int intel_bloom_init(struct intel_bloom *b, size_t n);
void intel_bloom_free(struct intel_bloom *b);
void intel_bloom_add(struct intel_bloom *b, uint64_t h);
/* 0: h was never added; 1: it may have been. */
int intel_bloom_maybe(const struct intel_bloom *b, uint64_t h);

/* Fixed-size binary keys (hashes), each followed by its 32-bit metadata id,
 * sorted and de-duplicated by intel_keys_finish; bucket[b] is the first
 * record whose first two key bytes are >= b, so a lookup searches about
 * n / 65536 records. */
struct intel_keys {
	uint8_t *rec;
	size_t n, alloc;
	unsigned klen, rsz;
	uint32_t *bucket; /* 65537 entries once finished */
	struct intel_bloom bloom; /* of intel_keys_hash, once finished */
};

/* IPv4 and IPv6 CIDR ranges. CIDRs are either nested or disjoint, so after
 * sorting by (lo ascending, hi descending) each range's parent is the
 * smallest range containing it, and a lookup checks the last range starting
 * at or below the address and then its chain of parents (at most 33 or 129). */
struct intel_ip4 {
	uint32_t lo, hi, meta, parent;
};

struct intel_ip6 {
	unsigned __int128 lo, hi;
	uint32_t meta, parent;
};

struct intel_ips {
	struct intel_ip4 *v4;
	size_t n4, a4;
	/* per /16 prefix p: ranges of v4 with lo below p << 16 (65,537 entries,
	 * NULL when n4 is 0): a lookup binary-searches only its prefix's ranges
	 * (a million addresses are 16 MB of ranges, whose binary search missed
	 * the cache at each of its last ten steps) */
	uint32_t *idx4;
	struct intel_ip6 *v6;
	size_t n6, a6;
};

/* Normalised strings (domains, URLs) in one arena, each entry "u32 meta id
 * then the text and a NUL", found through an open-addressing table of
 * (fingerprint, offset + 1) slots at a load of at most 0.7. */
struct intel_slot {
	uint32_t fp, off1;
};

struct intel_strset {
	struct buf arena;
	uint32_t *offs; /* builder only: entry offsets in insertion order */
	size_t n, alloc;
	struct intel_slot *tab;
	size_t mask;
	struct intel_bloom bloom; /* of intel_text_hash, once finished */
};

struct intel_meta {
	uint32_t source, desc; /* offsets in the text arena */
};

struct intel_data {
	struct intel_keys keys[3]; /* SHA-256, SHA-1, MD5 */
	struct intel_ips ips;
	struct intel_strset domains, urls;
	struct buf text;
	struct intel_meta *meta;
	size_t nmeta, ameta;
	size_t added; /* accepted adds, duplicates included */
};

struct intel_builder {
	struct intel_data d;
};

#define INTEL_FC_MAXLEN 31 /* longest field name intel_match looks at (fields_tab) */

struct intel_set {
	struct intel_data d;
	size_t count; /* distinct indicators */
	uint32_t fcmask[INTEL_FC_MAXLEN + 1]; /* per name length: first letters (& 31) */
	uint32_t fclast;		      /* last letters (& 31) of the names */
};

/* ---- intel_keys.c ---- */
void intel_keys_init(struct intel_keys *k, unsigned klen);
void intel_keys_free(struct intel_keys *k);
int intel_keys_add(struct intel_keys *k, const uint8_t *key, uint32_t meta);
/* Sorts, drops duplicates (the first added wins), shrinks, indexes. */
int intel_keys_finish(struct intel_keys *k);
/* Returns the record (key then meta id) or NULL. */
const uint8_t *intel_keys_find(const struct intel_keys *k, const uint8_t *key);

/* ---- intel_ips.c ---- */
void intel_ips_free(struct intel_ips *t);
int intel_ips_add4(struct intel_ips *t, uint32_t lo, uint32_t hi, uint32_t meta);
int intel_ips_add6(struct intel_ips *t, unsigned __int128 lo, unsigned __int128 hi, uint32_t meta);
int intel_ips_finish(struct intel_ips *t);
const struct intel_ip4 *intel_ips_find4(const struct intel_ips *t, uint32_t a);
const struct intel_ip6 *intel_ips_find6(const struct intel_ips *t, unsigned __int128 a);

/* ---- intel_strset.c ---- */
void intel_strset_init(struct intel_strset *s);
void intel_strset_free(struct intel_strset *s);
int intel_strset_add(struct intel_strset *s, const char *text, size_t len, uint32_t meta);
/* Builds the table, drops duplicates, frees the insertion list; n becomes
 * the number of distinct strings. */
int intel_strset_finish(struct intel_strset *s);
/* Returns the entry's text (NUL-terminated, in the arena) and its meta id,
 * or NULL. */
const char *intel_strset_find(const struct intel_strset *s, const char *text, size_t len,
			      uint32_t *meta);

/* ---- intel_text.c: indicator syntax, shared by loading and matching ---- */

/* Parses "a.b.c.d", "a.b.c.d/n", IPv6 and "IPv6/n" (IPv4-mapped IPv6
 * addresses become IPv4). Host bits under the prefix are cleared.
 * *v6 tells the family; lo/hi are the range. Returns 0, YM_E_PARSE. */
int intel_text_ip(const char *s, size_t len, int allow_prefix, int *v6, unsigned __int128 *lo,
		  unsigned __int128 *hi);
/* Lower-cases, drops a trailing dot (and, when indicator is set, a leading
 * "*."), checks the label syntax; out must hold INTEL_DOMAIN_MAX + 1.
 * Returns the length, or YM_E_PARSE. */
int intel_text_domain(const char *s, size_t len, int indicator, char *out);
/* Normalises a URL into out (INTEL_URL_MAX + 1 bytes): scheme and host
 * lower-cased, user info, default port (http 80, https 443, ftp 21) and
 * fragment dropped, an empty path becomes "/". host/hostlen (may be NULL)
 * get the host's position in out (without brackets). Returns the length,
 * or YM_E_PARSE. */
int intel_text_url(const char *s, size_t len, char *out, size_t *host, size_t *hostlen);
/* Undoes the usual defanging ("hxxp" -> "http", "[.]" and "(.)" -> ".",
 * "[:]" -> ":", "[://]" -> "://") into out (outsz bytes). Returns the
 * length, or YM_E_TOOBIG. */
int intel_text_refang(const char *s, size_t len, char *out, size_t outsz);
/* Formats an IPv4 or IPv6 range as "addr" or "addr/len" into out (64 bytes). */
void intel_text_ip_format(int v6, unsigned __int128 lo, unsigned __int128 hi, char out[64]);

/* 64-bit FNV-1a. */
uint64_t intel_text_hash(const char *s, size_t len);

#endif
