#include "hashcache.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define HC_NIL	 UINT32_MAX
#define HC_CHUNK (64u << 10)

struct hc_key {
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
};

struct hc_node {
	struct hc_key k;
	uint8_t sha[32];
	uint32_t hnext, prev, next;
	int used;
};

/* The file I/O of a hash, in two jobs that may wait on the file system
 * (run through hc->fsj when set): hc_open_job opens path and fstats it, the
 * owner looks the identity up, hc_digest_job reads and hashes the file and
 * fstats it again. Neither touches the cache: they run on a worker. */
struct hc_open_io {
	int fd; /* first, as in hc_digest_io: fsjob_drop_fd */
	struct stat st;
	char path[PATH_MAX];
};

struct hashcache {
	struct hc_node *nodes;
	uint32_t *buckets;
	uint32_t nbuckets, max, count;
	uint32_t head, tail; /* LRU: most recent at head */
	uint64_t max_file;
	struct fsjob *fsj; /* NULL: file I/O on the caller's thread */
	struct hc_open_io oio;
	struct hashcache_stats st;
};

int hashcache_new(size_t max_entries, uint64_t max_file, struct hashcache **out)
{
	struct hashcache *hc = NULL;
	int r = YM_E_INVAL;

	if (max_entries == 0 || max_entries > (1u << 20))
		goto out;
	r = YM_E_NOMEM;
	hc = calloc(1, sizeof(*hc));
	if (!hc)
		goto out;
	hc->max = (uint32_t)max_entries;
	hc->nbuckets = 16;
	while (hc->nbuckets < max_entries)
		hc->nbuckets <<= 1;
	hc->nodes = calloc(max_entries, sizeof(*hc->nodes));
	hc->buckets = malloc(hc->nbuckets * sizeof(*hc->buckets));
	if (!hc->nodes || !hc->buckets)
		goto out;
	for (uint32_t i = 0; i < hc->nbuckets; i++)
		hc->buckets[i] = HC_NIL;
	hc->head = hc->tail = HC_NIL;
	hc->max_file = max_file;
	*out = hc;
	hc = NULL;
	r = 0;
out:
	hashcache_free(hc);
	return r;
}

void hashcache_free(struct hashcache *hc)
{
	if (!hc)
		return;
	free(hc->nodes);
	free(hc->buckets);
	free(hc);
}

static uint32_t hc_hash(const struct hashcache *hc, const struct hc_key *k)
{
	uint64_t h = k->ino * 0x9e3779b97f4a7c15ull ^ k->dev ^ (uint64_t)k->mtime_ns ^
		     ((uint64_t)k->mtime_s << 20) ^ k->size;
	h ^= h >> 29;
	return (uint32_t)(h * 0xbf58476d1ce4e5b9ull >> 32) & (hc->nbuckets - 1);
}

static void hc_unlink(struct hashcache *hc, uint32_t i)
{
	struct hc_node *n = &hc->nodes[i];
	if (n->prev != HC_NIL)
		hc->nodes[n->prev].next = n->next;
	else
		hc->head = n->next;
	if (n->next != HC_NIL)
		hc->nodes[n->next].prev = n->prev;
	else
		hc->tail = n->prev;
}

static void hc_push(struct hashcache *hc, uint32_t i)
{
	struct hc_node *n = &hc->nodes[i];
	n->prev = HC_NIL;
	n->next = hc->head;
	if (hc->head != HC_NIL)
		hc->nodes[hc->head].prev = i;
	hc->head = i;
	if (hc->tail == HC_NIL)
		hc->tail = i;
}

static void hc_insert(struct hashcache *hc, const struct hc_key *k, const uint8_t sha[32])
{
	uint32_t i;
	struct hc_node *n;

	if (hc->count < hc->max) {
		i = hc->count++;
	} else {
		/* evict the least recently used node and reuse its slot */
		uint32_t *pp;
		i = hc->tail;
		pp = &hc->buckets[hc_hash(hc, &hc->nodes[i].k)];
		while (*pp != i)
			pp = &hc->nodes[*pp].hnext;
		*pp = hc->nodes[i].hnext;
		hc_unlink(hc, i);
	}
	n = &hc->nodes[i];
	n->k = *k;
	memcpy(n->sha, sha, 32);
	n->used = 1;
	n->hnext = hc->buckets[hc_hash(hc, k)];
	hc->buckets[hc_hash(hc, k)] = i;
	hc_push(hc, i);
}

static void hc_key_of(const struct stat *s, struct hc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = s->st_dev;
	k->ino = s->st_ino;
	k->size = (uint64_t)s->st_size;
	k->mtime_s = s->st_mtim.tv_sec;
	k->mtime_ns = s->st_mtim.tv_nsec;
	k->ctime_s = s->st_ctim.tv_sec;
	k->ctime_ns = s->st_ctim.tv_nsec;
}

/* Hashes size bytes of fd. nettle's SHA-256, not OpenSSL's: the first
 * EVP digest initialises OpenSSL's library context and default provider,
 * ~2 MB of the agent's RSS for one algorithm. */
static int hc_digest_buf(uint8_t *chunk, int fd, uint64_t size, uint8_t sha[32],
			 struct fsjob_ctx *cx)
{
	struct sha256_ctx ctx;
	uint64_t off = 0;

	sha256_init(&ctx);
	while (off < size) {
		size_t want = size - off < HC_CHUNK ? (size_t)(size - off) : HC_CHUNK;
		ssize_t k = pread(fd, chunk, want, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return YM_E_IO;
		}
		if (k == 0)
			return YM_E_IO; /* shrank under us */
		sha256_update(&ctx, (size_t)k, chunk);
		off += (uint64_t)k;
		fsjob_progress(cx);
	}
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, sha);
	return 0;
}

static int hc_find(struct hashcache *hc, const struct hc_key *k, uint8_t sha256[32])
{
	for (uint32_t i = hc->buckets[hc_hash(hc, k)]; i != HC_NIL; i = hc->nodes[i].hnext) {
		if (memcmp(&hc->nodes[i].k, k, sizeof(*k)) == 0) {
			memcpy(sha256, hc->nodes[i].sha, 32);
			hc_unlink(hc, i);
			hc_push(hc, i);
			return 0;
		}
	}
	return YM_E_NOTFOUND;
}

static int hc_open_job(void *arg, struct fsjob_ctx *cx)
{
	struct hc_open_io *io = arg;

	(void)cx;
	io->fd = open(io->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (io->fd < 0)
		return YM_E_NOTFOUND;
	if (fstat(io->fd, &io->st) < 0)
		return YM_E_IO; /* fd stays open: the owner closes it */
	return 0;
}

struct hc_digest_io {
	int fd;
	uint64_t size;
	uint8_t sha[32];
	struct stat after;
	int after_ok;
};

static int hc_digest_job(void *arg, struct fsjob_ctx *cx)
{
	struct hc_digest_io *io = arg;
	uint8_t *chunk = malloc(HC_CHUNK);
	int r;

	if (!chunk)
		return YM_E_NOMEM;
	r = hc_digest_buf(chunk, io->fd, io->size, io->sha, cx);
	free(chunk);
	io->after_ok = r == 0 && fstat(io->fd, &io->after) == 0;
	return r;
}

static int hc_run(struct hashcache *hc, uint64_t dev, fsjob_fn fn, void *io, size_t iosz)
{
	int r;

	if (!hc->fsj)
		return fn(io, NULL);
	r = fsjob_run(hc->fsj, FSJOB_KEY_DEV(dev), fn, fsjob_drop_fd, io, iosz);
	if (r == YM_E_TIMEOUT || r == YM_E_BUSY)
		hc->st.held++;
	return r;
}

/* Hashes the file io opened (and closes it, unless a held job took it):
 * from the cache when its identity is there. */
static int hc_hash_open(struct hashcache *hc, struct hc_open_io *o, uint8_t sha256[32], int *hit)
{
	struct hc_digest_io d;
	struct hc_key k, k2;
	int r;

	if (!S_ISREG(o->st.st_mode)) {
		close(o->fd);
		return YM_E_INVAL;
	}
	if ((uint64_t)o->st.st_size > hc->max_file) {
		close(o->fd);
		hc->st.too_big++;
		return YM_E_TOOBIG;
	}
	hc_key_of(&o->st, &k);
	if (hc_find(hc, &k, sha256) == 0) {
		close(o->fd);
		hc->st.hits++;
		if (hit)
			*hit = 1;
		return 0;
	}
	hc->st.misses++;
	memset(&d, 0, sizeof(d));
	d.fd = o->fd;
	d.size = (uint64_t)o->st.st_size;
	r = hc_run(hc, o->st.st_dev, hc_digest_job, &d, sizeof(d));
	if (r == YM_E_TIMEOUT)
		return r; /* the job closes the file */
	close(o->fd);
	if (r) {
		hc->st.errors++;
		return r;
	}
	/* cache only when the file did not change while it was read */
	if (d.after_ok) {
		hc_key_of(&d.after, &k2);
		if (memcmp(&k, &k2, sizeof(k)) == 0)
			hc_insert(hc, &k, d.sha);
	}
	memcpy(sha256, d.sha, 32);
	if (hit)
		*hit = 0;
	return 0;
}

static int hc_open(struct hashcache *hc, const char *path, uint64_t dev, struct hc_open_io *o)
{
	int r;

	if (util_strlcpy(o->path, path, sizeof(o->path)) != 0)
		return YM_E_NOTFOUND;
	o->fd = -1;
	r = hc_run(hc, dev, hc_open_job, o, sizeof(*o));
	if (r && r != YM_E_TIMEOUT && o->fd >= 0)
		close(o->fd);
	return r;
}

void hashcache_set_fsjob(struct hashcache *hc, struct fsjob *fsj)
{
	hc->fsj = fsj;
}

int hashcache_path(struct hashcache *hc, const char *path, uint8_t sha256[32], int *hit)
{
	struct hc_open_io *o = &hc->oio;
	struct statx sx;
	struct stat s0;
	struct hc_key k;
	uint64_t dev = 0;
	int r;

	/* A hit costs one statx (of the file itself: /proc/PID/exe is
	 * followed) instead of open, fstat and close: the process sensor's
	 * netlink mode hashes every exec's image this way. Cached attributes
	 * only (AT_STATX_DONT_SYNC): a FUSE or NFS file's are not asked of its
	 * server here, on the collector (a held server would hold it). */
	if (statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) == 0) {
		memset(&s0, 0, sizeof(s0));
		s0.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		s0.st_ino = sx.stx_ino;
		s0.st_mode = sx.stx_mode;
		s0.st_size = (off_t)sx.stx_size;
		s0.st_mtim.tv_sec = sx.stx_mtime.tv_sec;
		s0.st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
		s0.st_ctim.tv_sec = sx.stx_ctime.tv_sec;
		s0.st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
		dev = s0.st_dev;
		if (S_ISREG(s0.st_mode) && (uint64_t)s0.st_size <= hc->max_file) {
			hc_key_of(&s0, &k);
			if (hc_find(hc, &k, sha256) == 0) {
				hc->st.hits++;
				if (hit)
					*hit = 1;
				return 0;
			}
		}
	}
	r = hc_open(hc, path, dev, o);
	if (r)
		return r;
	return hc_hash_open(hc, o, sha256, hit);
}

static void hc_key_of_id(const struct hashcache_id *id, struct hc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = id->dev;
	k->ino = id->ino;
	k->size = id->size;
	k->mtime_s = id->mtime_s;
	k->mtime_ns = id->mtime_ns;
	k->ctime_s = id->ctime_s;
	k->ctime_ns = id->ctime_ns;
}

int hashcache_lookup(struct hashcache *hc, const struct hashcache_id *id, uint8_t sha256[32])
{
	struct hc_key k;

	hc_key_of_id(id, &k);
	if (hc_find(hc, &k, sha256))
		return YM_E_NOTFOUND;
	hc->st.hits++;
	return 0;
}

int hashcache_path_id(struct hashcache *hc, const char *path, const struct hashcache_id *id,
		      uint8_t sha256[32], int *hit)
{
	struct hc_open_io *o = &hc->oio;
	struct hc_key ks, ki;
	uint8_t sha[32];
	int r;

	r = hc_open(hc, path, id->dev, o);
	if (r)
		return r;
	if ((uint64_t)o->st.st_ino != id->ino || (uint64_t)o->st.st_size != id->size) {
		close(o->fd);
		return YM_E_STALE;
	}
	hc_key_of(&o->st, &ks);
	r = hc_hash_open(hc, o, sha, hit);
	if (r)
		return r;
	/* the same content under the kernel's name for it, when the file did
	 * not change (times and size agree) */
	hc_key_of_id(id, &ki);
	if (ks.mtime_s == ki.mtime_s && ks.mtime_ns == ki.mtime_ns && ks.ctime_s == ki.ctime_s &&
	    ks.ctime_ns == ki.ctime_ns && memcmp(&ks, &ki, sizeof(ks)) != 0) {
		uint8_t tmp[32];
		if (hc_find(hc, &ki, tmp))
			hc_insert(hc, &ki, sha);
	}
	memcpy(sha256, sha, 32);
	return 0;
}

void hashcache_stats(const struct hashcache *hc, struct hashcache_stats *out)
{
	*out = hc->st;
	out->entries = hc->count;
}
