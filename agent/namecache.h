/* namecache: field names the batcher need not check again. The enricher
 * and the families name their fields with string literals, which live in
 * the program's read-only memory: such a name cannot change, so once
 * checked (event_name_ok) its length is remembered by its address, and
 * the next event naming its field with the same literal skips the scan
 * (checking and measuring every name of every event was ~11 % of the
 * agent's userland instructions under exec storms, docs/benchmarks.md,
 * bench/agent round 7). A name anywhere else (a buffer a family fills, a
 * heap string) may change between two events: it is never remembered and
 * the encoder checks it each time.
 *
 * Read-only memory means the main program's PT_LOAD segments mapped
 * neither writable nor executable (its .rodata), read from
 * dl_iterate_phdr at creation; shared libraries are not trusted (one could
 * be unloaded and another mapped at the same address).
 *
 * Not thread-safe: owned by the collector thread (with the batcher). */
#ifndef YM_AGENT_NAMECACHE_H
#define YM_AGENT_NAMECACHE_H

#include <stddef.h>
#include <stdint.h>

/* remembered names; a slot per address hash, a collision replaces */
#define NAMECACHE_SLOTS 512

struct namecache;

/* Returns 0 and sets *out, or YM_E_NOMEM. A program without a read-only
 * segment (none found) gets a cache that remembers nothing. */
int namecache_new(struct namecache **out);
void namecache_free(struct namecache *nc);

/* The length (1..EVENT_MAX_NAME) of name when it lies in the program's
 * read-only memory and is a valid field name (remembered after the first
 * check); 0 otherwise (not read-only, invalid, or NULL): the caller checks
 * it. name is borrowed. */
uint8_t namecache_len(struct namecache *nc, const char *name);

struct namecache_stats {
	uint64_t hits;	   /* remembered */
	uint64_t checked;  /* read-only names checked (and remembered when valid) */
	uint64_t mutable_; /* names outside read-only memory: left to the caller */
};
void namecache_stats(const struct namecache *nc, struct namecache_stats *out);

/* 1 when the n bytes at p lie in one read-only segment (tests). */
int namecache_readonly(const struct namecache *nc, const void *p, size_t n);

#endif
