#include "hashcache.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

struct hashcache {
	struct hc_node *nodes;
	uint32_t *buckets;
	uint32_t nbuckets, max, count;
	uint32_t head, tail; /* LRU: most recent at head */
	uint64_t max_file;
	uint8_t *chunk;
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
	hc->chunk = malloc(HC_CHUNK);
	if (!hc->nodes || !hc->buckets || !hc->chunk)
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
	free(hc->chunk);
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
static int hc_digest(struct hashcache *hc, int fd, uint64_t size, uint8_t sha[32])
{
	struct sha256_ctx ctx;
	uint64_t off = 0;

	sha256_init(&ctx);
	while (off < size) {
		size_t want = size - off < HC_CHUNK ? (size_t)(size - off) : HC_CHUNK;
		ssize_t k = pread(fd, hc->chunk, want, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return YM_E_IO;
		}
		if (k == 0)
			return YM_E_IO; /* shrank under us */
		sha256_update(&ctx, (size_t)k, hc->chunk);
		off += (uint64_t)k;
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

int hashcache_fd(struct hashcache *hc, int fd, uint8_t sha256[32], int *hit)
{
	struct stat s1, s2;
	struct hc_key k, k2;
	uint8_t sha[32];
	int r;

	if (fstat(fd, &s1) < 0) {
		hc->st.errors++;
		return YM_E_IO;
	}
	if (!S_ISREG(s1.st_mode))
		return YM_E_INVAL;
	if ((uint64_t)s1.st_size > hc->max_file) {
		hc->st.too_big++;
		return YM_E_TOOBIG;
	}
	hc_key_of(&s1, &k);
	if (hc_find(hc, &k, sha256) == 0) {
		hc->st.hits++;
		if (hit)
			*hit = 1;
		return 0;
	}
	hc->st.misses++;
	r = hc_digest(hc, fd, (uint64_t)s1.st_size, sha);
	if (r) {
		hc->st.errors++;
		return r;
	}
	/* cache only when the file did not change while it was read */
	if (fstat(fd, &s2) == 0) {
		hc_key_of(&s2, &k2);
		if (memcmp(&k, &k2, sizeof(k)) == 0)
			hc_insert(hc, &k, sha);
	}
	memcpy(sha256, sha, 32);
	if (hit)
		*hit = 0;
	return 0;
}

int hashcache_path(struct hashcache *hc, const char *path, uint8_t sha256[32], int *hit)
{
	struct stat s0;
	struct hc_key k;
	int fd, r;

	/* a hit costs one stat(2) (of the file itself: /proc/PID/exe is
	 * followed) instead of open, fstat and close: the process sensor's
	 * netlink mode hashes every exec's image this way */
	if (stat(path, &s0) == 0 && S_ISREG(s0.st_mode) && (uint64_t)s0.st_size <= hc->max_file) {
		hc_key_of(&s0, &k);
		if (hc_find(hc, &k, sha256) == 0) {
			hc->st.hits++;
			if (hit)
				*hit = 1;
			return 0;
		}
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return YM_E_NOTFOUND;
	r = hashcache_fd(hc, fd, sha256, hit);
	close(fd);
	return r;
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
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat s1;
	struct hc_key ks, ki;
	uint8_t sha[32];
	int r = YM_E_STALE;

	if (fd < 0)
		return YM_E_NOTFOUND;
	if (fstat(fd, &s1) < 0 || (uint64_t)s1.st_ino != id->ino ||
	    (uint64_t)s1.st_size != id->size)
		goto out;
	r = hashcache_fd(hc, fd, sha, hit);
	if (r)
		goto out;
	/* the same content under the kernel's name for it, when the file did
	 * not change (times and size agree) */
	hc_key_of(&s1, &ks);
	hc_key_of_id(id, &ki);
	if (ks.mtime_s == ki.mtime_s && ks.mtime_ns == ki.mtime_ns && ks.ctime_s == ki.ctime_s &&
	    ks.ctime_ns == ki.ctime_ns && memcmp(&ks, &ki, sizeof(ks)) != 0) {
		uint8_t tmp[32];
		if (hc_find(hc, &ki, tmp))
			hc_insert(hc, &ki, sha);
	}
	memcpy(sha256, sha, 32);
out:
	close(fd);
	return r;
}

void hashcache_stats(const struct hashcache *hc, struct hashcache_stats *out)
{
	*out = hc->st;
	out->entries = hc->count;
}
