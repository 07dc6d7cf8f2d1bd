/* hashcache: SHA-256 of executables, cached by file identity.
 *
 * The key is (st_dev, st_ino, st_size, st_mtim, st_ctim): a rewrite in place
 * changes mtime and ctime, and setting mtime back still moves ctime, so a
 * cached hash is never served for changed content. Files over max_file bytes
 * are not hashed. The table holds at most max_entries hashes and evicts the
 * least recently used one. Not thread-safe: one owner (the collector). */
#ifndef YM_AGENT_HASHCACHE_H
#define YM_AGENT_HASHCACHE_H

#include <stddef.h>
#include <stdint.h>

#define HASHCACHE_MAX_FILE (64u << 20)

struct hashcache;

struct hashcache_stats {
	uint64_t hits, misses, too_big, errors;
	size_t entries;
};

/* Returns 0, YM_E_INVAL or YM_E_NOMEM. */
int hashcache_new(size_t max_entries, uint64_t max_file, struct hashcache **out);
void hashcache_free(struct hashcache *hc);

/* SHA-256 of the regular file open at fd (borrowed; read with pread, so its
 * offset is untouched). *hit (may be NULL) tells whether it came from the
 * cache. Returns 0, YM_E_TOOBIG (over max_file: no hash), YM_E_INVAL (not a
 * regular file), YM_E_IO, YM_E_CRYPTO or YM_E_NOMEM. */
int hashcache_fd(struct hashcache *hc, int fd, uint8_t sha256[32], int *hit);

/* Opens path read-only (e.g. "/proc/PID/exe", which reaches the running
 * image even when it was deleted or replaced) and calls hashcache_fd.
 * Returns the same codes, or YM_E_NOTFOUND when it cannot be opened. */
int hashcache_path(struct hashcache *hc, const char *path, uint8_t sha256[32], int *hit);

void hashcache_stats(const struct hashcache *hc, struct hashcache_stats *out);

#endif
