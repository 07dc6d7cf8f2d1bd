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

#include "fsjob.h"

#define HASHCACHE_MAX_FILE (64u << 20)

struct hashcache;

struct hashcache_stats {
	uint64_t hits, misses, too_big, errors;
	uint64_t held; /* opens and reads given up on (held: fsjob.h) */
	size_t entries;
};

/* Returns 0, YM_E_INVAL or YM_E_NOMEM. */
int hashcache_new(size_t max_entries, uint64_t max_file, struct hashcache **out);
void hashcache_free(struct hashcache *hc);

/* Opens, stats and reads files through fsj's workers from now on (NULL:
 * on the caller's thread). fsj is borrowed: it must outlive hc. A stall is
 * blamed on the file's device (FSJOB_KEY_DEV). */
void hashcache_set_fsjob(struct hashcache *hc, struct fsjob *fsj);

/* Opens path read-only (e.g. "/proc/PID/exe", which reaches the running
 * image even when it was deleted or replaced) and hashes the file, from the
 * cache when its identity (a statx of cached attributes first, so a hit
 * asks no file system server) is there. With an fsjob, path's lookup must
 * not wait on a file system (/proc/PID/exe's does not): only the open and
 * reads are the workers'. *hit (may be NULL) tells whether it came from
 * the cache. Returns 0, YM_E_TOOBIG (over max_file: no hash), YM_E_INVAL
 * (not a regular file), YM_E_IO, YM_E_NOMEM, YM_E_NOTFOUND when it cannot
 * be opened, or YM_E_TIMEOUT / YM_E_BUSY (held or refused by
 * the fsjob: no hash). */
int hashcache_path(struct hashcache *hc, const char *path, uint8_t sha256[32], int *hit);

/* A file's identity as the kernel reports it (the eBPF process sensor reads
 * it from the executable's inode at exec time). */
struct hashcache_id {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

/* The cached SHA-256 of the file with identity id, without any system
 * call. Returns 0, or YM_E_NOTFOUND when not cached. Counts a hit. */
int hashcache_lookup(struct hashcache *hc, const struct hashcache_id *id, uint8_t sha256[32]);

/* Like hashcache_path, but only when path still is the file id names (same
 * inode and size; the device may be numbered differently by stat, e.g. on
 * btrfs): returns YM_E_STALE otherwise. On success the hash is cached under
 * id as well, so the next hashcache_lookup hits. The lookup of path, the
 * open and the reads are the fsjob's, when set. */
int hashcache_path_id(struct hashcache *hc, const char *path, const struct hashcache_id *id,
		      uint8_t sha256[32], int *hit);

void hashcache_stats(const struct hashcache *hc, struct hashcache_stats *out);

#endif
