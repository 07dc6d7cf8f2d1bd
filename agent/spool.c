#include "spool.h"
#include "batch.h"
#include "err.h"
#include "fsdir.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SP_META	    0x01u /* last_seq and count are known */
#define SP_INFLIGHT 0x02u
#define SP_PENDING  0x04u /* appended, not yet fdatasync'd: not sendable */

/* Segment files (docs/internals/agent.md, "Spool"): a header, then records
 * of a header and one encoded batch each. */
#define SP_SEG_MAGIC   "YMS1"
#define SP_SEG_VERSION 1u
#define SP_SEG_HDR     8u
#define SP_REC_MAGIC   "YMR1"
#define SP_REC_DEAD    "YMRX" /* acknowledged, dropped or rejected */
#define SP_REC_HDR     32u

struct sp_ent {
	uint64_t first, last;
	uint32_t bytes; /* the batch's (the record's header not counted) */
	uint32_t off;	/* of the record in its segment (0 in a one-batch file) */
	uint16_t count;
	uint8_t flags;
};

/* A file of the spool: a segment (records appended) or a one-batch file of
 * an agent before segments (read, never written). Named after the first
 * sequence number it holds. */
struct sp_seg {
	uint64_t name;
	uint64_t size; /* bytes written: where the next record goes */
	uint32_t live; /* records not yet acknowledged, dropped or rejected */
	int fd;	       /* the newest segment, open for appending; else -1 */
	uint8_t single;
	uint8_t dir_synced; /* its directory entry is on disk */
};

struct spool {
	char dir[PATH_MAX];
	char rejdir[PATH_MAX];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sp_ent *ring;
	size_t cap, head, n;
	struct sp_seg *segs; /* oldest first; the last one may be open */
	size_t nsegs, segcap;
	uint64_t bytes, max_bytes;
	uint64_t top;	  /* the highest sequence number spooled: a put must go above */
	uint64_t seg_max; /* a segment takes batches up to this size */
	int woken;
	int group;		/* spool_put defers the commit to spool_sync */
	size_t npend;		/* the newest npend entries are SP_PENDING */
	uint64_t pend_since_ns; /* monotonic time of the oldest pending batch */
	struct spool_drops drops;
	struct spool_stats st;
};

static void sp_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sp_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t sp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t sp_get64(const uint8_t *p)
{
	return (uint64_t)sp_get32(p) | (uint64_t)sp_get32(p + 4) << 32;
}

static uint32_t sp_crc(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, n);
}

static struct sp_ent *sp_at(struct spool *sp, size_t i)
{
	return &sp->ring[(sp->head + i) % sp->cap];
}

static void sp_path(const char *dir, uint64_t name, int single, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%020llu.%s", dir, (unsigned long long)name,
		 single ? "ymb" : "yms");
}

/* Index of the file holding the batch that starts at first: the one with
 * the greatest name not above it. Caller holds mu; there is one. */
static size_t sp_seg_of(const struct spool *sp, uint64_t first)
{
	size_t lo = 0, hi = sp->nsegs;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp->segs[mid].name <= first)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Appends a file to the list (names increase). Caller holds mu. */
static int sp_seg_add(struct spool *sp, const struct sp_seg *s)
{
	if (sp->nsegs == sp->segcap) {
		size_t nc = sp->segcap ? sp->segcap * 2 : 16;
		struct sp_seg *ns = realloc(sp->segs, nc * sizeof(*ns));
		if (!ns)
			return YM_E_NOMEM;
		sp->segs = ns;
		sp->segcap = nc;
	}
	sp->segs[sp->nsegs++] = *s;
	return 0;
}

/* Deletes file k (its batches are all done) and forgets it. Caller holds mu. */
static void sp_seg_delete(struct spool *sp, size_t k)
{
	char path[PATH_MAX + 32];
	struct sp_seg *s = &sp->segs[k];

	if (s->fd >= 0)
		close(s->fd);
	sp_path(sp->dir, s->name, s->single, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		LOG_E("spool", "E3101", "cannot delete spool file %s: %s", path, strerror(errno));
	memmove(&sp->segs[k], &sp->segs[k + 1], (sp->nsegs - k - 1) * sizeof(*s));
	sp->nsegs--;
}

static void sp_commit(struct spool *sp);

/* Closes the open segment, if any; deleted when nothing in it is left.
 * Caller holds mu, with nothing pending. */
static void sp_seg_close_cur(struct spool *sp)
{
	struct sp_seg *s = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;

	if (!s || s->fd < 0)
		return;
	if (s->live == 0) {
		sp_seg_delete(sp, sp->nsegs - 1);
		return;
	}
	close(s->fd);
	s->fd = -1;
}

/* Entry i (offset from head) is done (acknowledged, dropped, rejected):
 * its record is marked so a later start skips it (not flushed: after a
 * crash it may be sent again, which the server counts as duplicates), its
 * file deleted once nothing in it is left, and it leaves the ring. Caller
 * holds mu. */
static void sp_done_at(struct spool *sp, size_t i)
{
	struct sp_ent e = *sp_at(sp, i);
	size_t k = sp_seg_of(sp, e.first);
	struct sp_seg *s = &sp->segs[k];

	if (!s->single && !(s->live == 1 && s->fd < 0)) {
		char path[PATH_MAX + 32];
		int fd = s->fd;

		if (fd < 0) {
			sp_path(sp->dir, s->name, 0, path, sizeof(path));
			fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		}
		if (fd >= 0) {
			(void)!pwrite(fd, SP_REC_DEAD, 4, (off_t)e.off);
			if (fd != s->fd)
				close(fd);
		}
	}
	if (--s->live == 0 && s->fd < 0)
		sp_seg_delete(sp, k);
	sp->bytes -= e.bytes;
	if (e.flags & SP_PENDING) {
		sp->npend--;
		if (sp->npend == 0)
			sp->pend_since_ns = 0;
	}
	for (size_t j = i; j > 0; j--)
		*sp_at(sp, j) = *sp_at(sp, j - 1);
	sp->head = (sp->head + 1) % sp->cap;
	sp->n--;
}

/* Learns last_seq and count of a one-batch file by decoding it. */
static int sp_meta_from_file(const char *path, uint64_t *last, uint32_t *count)
{
	char *data = NULL;
	size_t n;
	struct batch b;
	int r;

	r = util_read_file(path, BATCH_MAX_WIRE, &data, &n);
	if (r)
		goto out;
	r = batch_decode((const uint8_t *)data, n, &b, NULL, 0);
	if (r)
		goto out;
	if (b.count == 0) {
		r = YM_E_PARSE;
	} else {
		*last = b.last_seq;
		*count = (uint32_t)b.count;
	}
	batch_free(&b);
out:
	free(data);
	return r;
}

static void sp_tally_drop(struct spool *sp, uint64_t first, uint64_t last, uint64_t count)
{
	if (sp->drops.first_seq == 0 || first < sp->drops.first_seq)
		sp->drops.first_seq = first;
	if (last > sp->drops.last_seq)
		sp->drops.last_seq = last;
	sp->drops.events += count;
	sp->drops.batches++;
	sp->st.dropped_events_total += count;
	sp->st.dropped_batches_total++;
}

/* Drops the oldest batch that is not in flight. Caller holds mu. Returns 0
 * or YM_E_NOTFOUND when there is none. */
static int sp_drop_oldest(struct spool *sp)
{
	struct sp_ent e;
	size_t i;

	for (i = 0; i < sp->n; i++)
		if (!(sp_at(sp, i)->flags & SP_INFLIGHT))
			break;
	if (i == sp->n)
		return YM_E_NOTFOUND;
	e = *sp_at(sp, i);
	if (!(e.flags & SP_META)) {
		char path[PATH_MAX + 32];
		uint32_t c = 0;
		uint64_t last = e.first;

		sp_path(sp->dir, e.first, 1, path, sizeof(path));
		if (sp_meta_from_file(path, &last, &c) == 0) {
			e.last = last;
			e.count = (uint16_t)c;
		}
	}
	sp_done_at(sp, i);
	sp_tally_drop(sp, e.first, e.last, e.count);
	LOG_W("spool", "W3102", "spool full: dropped batch seq %llu..%llu (%u events)",
	      (unsigned long long)e.first, (unsigned long long)e.last, (unsigned)e.count);
	return 0;
}

/* The sequence number a spool file's name gives, and whether it is a
 * one-batch file (.ymb) or a segment (.yms). */
static int sp_name_seq(const char *name, uint64_t *seq, int *single)
{
	char digits[21];

	if (strlen(name) != 24 || name[20] != '.' ||
	    (strcmp(name + 21, "ymb") != 0 && strcmp(name + 21, "yms") != 0))
		return YM_E_PARSE;
	for (int i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return YM_E_PARSE;
	memcpy(digits, name, 20);
	digits[20] = 0;
	if (single)
		*single = name[23] == 'b';
	return util_parse_u64(digits, 1, UINT64_MAX, seq) ? YM_E_PARSE : 0;
}

static int sp_cmp_ent(const void *a, const void *b)
{
	const struct sp_ent *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int sp_cmp_seg(const void *a, const void *b)
{
	const struct sp_seg *x = a, *y = b;
	return x->name < y->name ? -1 : x->name > y->name;
}

struct sp_list {
	struct sp_ent *e;
	size_t n, alloc;
};

static int sp_list_add(struct sp_list *l, const struct sp_ent *e)
{
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		struct sp_ent *ne = realloc(l->e, na * sizeof(*ne));
		if (!ne)
			return YM_E_NOMEM;
		l->e = ne;
		l->alloc = na;
	}
	l->e[l->n++] = *e;
	return 0;
}

/* Reads the record headers of the segment at path (size bytes): each
 * batch not yet done goes to l (or, with l NULL, is only counted into
 * *live and *bytes). Stops at the first header that cannot be read, such
 * as a write a crash cut short (said once: W3106, unless quiet: a segment
 * read while its agent writes it). Returns 0, YM_E_PARSE (no segment
 * header: not a segment), YM_E_IO, YM_E_NOMEM. */
static int sp_seg_read(const char *path, uint64_t size, struct sp_list *l, uint32_t *live,
		       uint64_t *bytes, int quiet)
{
	uint8_t h[SP_REC_HDR];
	uint64_t off = SP_SEG_HDR, prev = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r = 0;

	*live = 0;
	*bytes = 0;
	if (fd < 0)
		return YM_E_IO;
	if (pread(fd, h, SP_SEG_HDR, 0) != (ssize_t)SP_SEG_HDR || memcmp(h, SP_SEG_MAGIC, 4) != 0 ||
	    sp_get32(h + 4) != SP_SEG_VERSION) {
		close(fd);
		return YM_E_PARSE;
	}
	while (off < size) {
		struct sp_ent e;
		uint32_t len;
		int dead;

		if (size - off < SP_REC_HDR || pread(fd, h, SP_REC_HDR, (off_t)off) != SP_REC_HDR)
			break;
		dead = memcmp(h, SP_REC_DEAD, 4) == 0;
		len = sp_get32(h + 4);
		memset(&e, 0, sizeof(e));
		e.count = (uint16_t)sp_get32(h + 12);
		e.first = sp_get64(h + 16);
		e.last = sp_get64(h + 24);
		if ((!dead && memcmp(h, SP_REC_MAGIC, 4) != 0) || len == 0 ||
		    len > BATCH_MAX_WIRE || size - off - SP_REC_HDR < len || e.first <= prev ||
		    e.last < e.first || sp_get32(h + 12) == 0 || sp_get32(h + 12) > UINT16_MAX ||
		    off > UINT32_MAX)
			break;
		prev = e.last;
		if (!dead) {
			e.bytes = len;
			e.off = (uint32_t)off;
			e.flags = SP_META;
			if (l && (r = sp_list_add(l, &e)) != 0)
				break;
			(*live)++;
			*bytes += len;
		}
		off += SP_REC_HDR + len;
	}
	if (r == 0 && off < size && !quiet)
		LOG_W("spool", "W3106",
		      "spool file %s unreadable from byte %llu of %llu (a write cut short): "
		      "the rest is ignored",
		      path, (unsigned long long)off, (unsigned long long)size);
	close(fd);
	return r;
}

/* Moves the spool file name to rejected/ (else deletes it). */
static void sp_move_aside(struct spool *sp, const char *name)
{
	char from[PATH_MAX + 300], to[PATH_MAX + 300];

	snprintf(from, sizeof(from), "%s/%s", sp->dir, name);
	snprintf(to, sizeof(to), "%s/%s", sp->rejdir, name);
	if (rename(from, to) < 0 && unlink(from) < 0 && errno != ENOENT)
		LOG_E("spool", "E3101", "cannot delete spool file %s: %s", from, strerror(errno));
}

static int sp_scan(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	struct sp_list l = {NULL, 0, 0};
	int r = YM_E_IO;

	if (!d)
		goto out;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 300];
		struct stat st;
		struct sp_seg s;
		uint64_t seq, bytes;
		uint32_t live;
		int single, e;
		size_t nl = strlen(de->d_name);

		snprintf(path, sizeof(path), "%s/%s", sp->dir, de->d_name);
		if (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0) {
			unlink(path); /* a write that never completed */
			continue;
		}
		if (sp_name_seq(de->d_name, &seq, &single) || lstat(path, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		memset(&s, 0, sizeof(s));
		s.name = seq;
		s.size = (uint64_t)st.st_size;
		s.fd = -1;
		s.single = (uint8_t)single;
		s.dir_synced = 1;
		if (single) {
			struct sp_ent en = {seq, seq, 0, 0, 0, 0};

			en.bytes =
			    st.st_size > (off_t)UINT32_MAX ? UINT32_MAX : (uint32_t)st.st_size;
			s.live = 1;
			r = sp_list_add(&l, &en);
		} else if (s.size <= SP_SEG_HDR) {
			/* no record: a segment a crash cut short at its start */
			unlink(path);
			continue;
		} else {
			e = sp_seg_read(path, s.size, &l, &live, &bytes, 0);
			if (e == YM_E_PARSE) {
				LOG_E("spool", "E3105",
				      "unreadable spool file %s: moved to rejected/", path);
				sp_move_aside(sp, de->d_name);
				continue;
			}
			if (e == YM_E_IO)
				continue;
			r = e;
			s.live = live;
			if (r == 0 && live == 0) {
				unlink(path); /* everything in it was done */
				continue;
			}
		}
		if (r == 0)
			r = sp_seg_add(sp, &s);
		if (r)
			goto out;
	}
	if (sp->nsegs)
		qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), sp_cmp_seg);
	if (l.n)
		qsort(l.e, l.n, sizeof(*l.e), sp_cmp_ent);
	for (size_t i = 0; i < l.n; i++) {
		/* over the batch cap: drop the oldest before they enter the ring */
		if (sp->n == sp->cap)
			sp_drop_oldest(sp);
		*sp_at(sp, sp->n) = l.e[i];
		sp->n++;
		sp->bytes += l.e[i].bytes;
		if (l.e[i].last > sp->top)
			sp->top = l.e[i].last;
	}
	for (size_t k = 0; k < sp->nsegs; k++)
		if (sp->segs[k].name > sp->top)
			sp->top = sp->segs[k].name; /* (a one-batch file's last is learnt later) */
	while (sp->bytes > sp->max_bytes && sp->n > 0)
		sp_drop_oldest(sp);
	r = 0;
out:
	if (d)
		closedir(d);
	free(l.e);
	return r;
}

int spool_open(const char *dir, uint64_t max_bytes, size_t max_files, struct spool **out)
{
	struct spool *sp = NULL;
	int r = YM_E_INVAL, locks = 0;

	if (!dir || max_bytes == 0 || max_files == 0 || max_files > (1u << 22))
		goto out;
	r = YM_E_NOMEM;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		goto out;
	sp->ring = calloc(max_files, sizeof(*sp->ring));
	if (!sp->ring)
		goto out;
	sp->cap = max_files;
	sp->max_bytes = max_bytes;
	sp->seg_max = SPOOL_SEGMENT_BYTES;
	r = YM_E_INVAL;
	if (util_strlcpy(sp->dir, dir, sizeof(sp->dir)) ||
	    snprintf(sp->rejdir, sizeof(sp->rejdir), "%s/rejected", dir) >= (int)sizeof(sp->rejdir))
		goto out;
	r = YM_E_IO;
	if (util_mkdirs(sp->rejdir, 0700))
		goto out;
	if (pthread_mutex_init(&sp->mu, NULL))
		goto out;
	locks = 1;
	{
		pthread_condattr_t ca;
		int bad = pthread_condattr_init(&ca) ||
			  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
			  pthread_cond_init(&sp->cv, &ca);
		pthread_condattr_destroy(&ca);
		if (bad)
			goto out;
	}
	locks = 2;
	r = sp_scan(sp);
	if (r)
		goto out;
	*out = sp;
	sp = NULL;
out:
	if (sp) {
		if (locks >= 2)
			pthread_cond_destroy(&sp->cv);
		if (locks >= 1)
			pthread_mutex_destroy(&sp->mu);
		free(sp->segs);
		free(sp->ring);
		free(sp);
	}
	return r;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	pthread_mutex_lock(&sp->mu);
	sp_commit(sp);
	sp_seg_close_cur(sp);
	pthread_mutex_unlock(&sp->mu);
	pthread_cond_destroy(&sp->cv);
	pthread_mutex_destroy(&sp->mu);
	free(sp->segs);
	free(sp->ring);
	free(sp);
}

/* Starts segment name, open for appending. Returns 0, or -1 with errno
 * set. Caller holds mu. */
static int sp_seg_new(struct spool *sp, uint64_t name)
{
	char path[PATH_MAX + 32];
	uint8_t h[SP_SEG_HDR];
	struct sp_seg s;
	int e;

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.size = SP_SEG_HDR;
	sp_path(sp->dir, name, 0, path, sizeof(path));
	s.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s.fd < 0)
		return -1;
	memcpy(h, SP_SEG_MAGIC, 4);
	sp_le32(h + 4, SP_SEG_VERSION);
	if (pwrite(s.fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		e = errno ? errno : EIO;
		goto fail;
	}
	if (sp_seg_add(sp, &s) != 0) {
		e = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	close(s.fd);
	unlink(path);
	errno = e;
	return -1;
}

/* Appends the record of batch first..last (p, n bytes) to the open
 * segment. Returns 0, or -1 with errno set (the segment is cut back to
 * where it was). Caller holds mu. */
static int sp_append(struct spool *sp, const uint8_t *p, size_t n, uint64_t first, uint64_t last,
		     uint32_t count)
{
	struct sp_seg *s = &sp->segs[sp->nsegs - 1];
	uint8_t h[SP_REC_HDR];
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)p, n}};
	uint64_t off = s->size;
	size_t left = sizeof(h) + n;
	int e;

	memcpy(h, SP_REC_MAGIC, 4);
	sp_le32(h + 4, (uint32_t)n);
	sp_le32(h + 8, sp_crc(p, n));
	sp_le32(h + 12, count);
	sp_le64(h + 16, first);
	sp_le64(h + 24, last);
	while (left > 0) {
		ssize_t k = pwritev(s->fd, iov, 2, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (uint64_t)k;
		left -= (size_t)k;
		for (int i = 0; i < 2 && k > 0; i++) {
			size_t t = (size_t)k < iov[i].iov_len ? (size_t)k : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + t;
			iov[i].iov_len -= t;
			k -= (ssize_t)t;
		}
	}
	return 0;
fail:
	e = errno;
	if (ftruncate(s->fd, (off_t)s->size) < 0) {
		/* what follows could not be read back: no more records here */
		sp_commit(sp);
		sp_seg_close_cur(sp);
	}
	errno = e;
	return -1;
}

/* Commits every pending batch: one fdatasync of the open segment (and of
 * the directory, the first time), then they are sendable. When it fails
 * they are dropped and counted (E3103) and the segment takes no more.
 * Caller holds mu. */
static void sp_commit(struct spool *sp)
{
	struct sp_seg *s;
	int e;

	if (sp->npend == 0)
		return;
	s = &sp->segs[sp->nsegs - 1];
	errno = EBADF; /* (pending batches are in the open segment) */
	if (s->fd >= 0 && fdatasync(s->fd) == 0) {
		if (!s->dir_synced) {
			if (fsdir_sync(sp->dir))
				LOG_W("spool", "W3104", "cannot fsync spool directory %s", sp->dir);
			s->dir_synced = 1;
		}
		for (size_t i = sp->n - sp->npend; i < sp->n; i++)
			sp_at(sp, i)->flags &= (uint8_t)~SP_PENDING;
		sp->st.put_batches += sp->npend;
		sp->npend = 0;
		sp->pend_since_ns = 0;
		pthread_cond_signal(&sp->cv);
		return;
	}
	e = errno;
	while (sp->npend > 0) {
		size_t i = sp->n - 1;
		struct sp_ent en = *sp_at(sp, i);

		LOG_E("spool", "E3103", "cannot write spool file for seq %llu: %s",
		      (unsigned long long)en.first, strerror(e));
		/* the newest: removed from the tail */
		sp_done_at(sp, i);
		sp_tally_drop(sp, en.first, en.last, en.count);
	}
	sp_seg_close_cur(sp);
}

int spool_put(struct spool *sp, const uint8_t *p, size_t n, uint64_t first, uint64_t last,
	      uint32_t count)
{
	int r = YM_E_INVAL, tries = 0;

	if (n == 0 || n > BATCH_MAX_WIRE || count == 0 || count > UINT16_MAX || last < first)
		return YM_E_INVAL;
	pthread_mutex_lock(&sp->mu);
	if (first <= sp->top)
		goto out;
	/* the pending set is bounded: commit it when full */
	if (sp->npend == SPOOL_PENDING_MAX)
		sp_commit(sp);
	while (sp->n > 0 && (sp->n >= sp->cap || sp->bytes + n > sp->max_bytes))
		if (sp_drop_oldest(sp))
			break;
	r = YM_E_IO;
	if (sp->n >= sp->cap)
		goto drop;
	for (;;) {
		struct sp_seg *s = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
		int e;

		/* a new segment when there is none open, or this one is full
		 * (what waits in it is committed first) */
		if (s && s->fd >= 0 && s->size > SP_SEG_HDR &&
		    s->size + SP_REC_HDR + n > sp->seg_max) {
			sp_commit(sp);
			sp_seg_close_cur(sp);
			s = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
		}
		if ((!s || s->fd < 0) && sp_seg_new(sp, first) < 0) {
			e = errno;
		} else {
			s = &sp->segs[sp->nsegs - 1];
			if (sp_append(sp, p, n, first, last, count) == 0)
				break;
			e = errno;
		}
		if ((e != ENOSPC && e != EDQUOT) || ++tries > 8 || sp_drop_oldest(sp)) {
			LOG_E("spool", "E3103", "cannot write spool file for seq %llu: %s",
			      (unsigned long long)first, strerror(e));
			goto drop;
		}
	}
	{
		struct sp_seg *s = &sp->segs[sp->nsegs - 1];
		struct sp_ent *e = sp_at(sp, sp->n);

		e->first = first;
		e->last = last;
		e->count = (uint16_t)count;
		e->bytes = (uint32_t)n;
		e->off = (uint32_t)s->size;
		e->flags = SP_META | SP_PENDING;
		s->size += SP_REC_HDR + n;
		s->live++;
	}
	sp->top = last;
	sp->n++;
	sp->bytes += n;
	if (sp->npend == 0)
		sp->pend_since_ns = util_mono_ns();
	sp->npend++;
	r = 0;
	if (!sp->group) {
		sp_commit(sp);
		/* a failed commit removed (and counted) the batch */
		if (sp->n == 0 || sp_at(sp, sp->n - 1)->first != first)
			r = YM_E_IO;
	}
	goto out;
drop:
	sp_tally_drop(sp, first, last, count);
out:
	pthread_mutex_unlock(&sp->mu);
	return r;
}

void spool_set_segment_bytes(struct spool *sp, uint64_t bytes)
{
	pthread_mutex_lock(&sp->mu);
	sp->seg_max = bytes < SP_SEG_HDR + SP_REC_HDR + 1 ? SP_SEG_HDR + SP_REC_HDR + 1 : bytes;
	pthread_mutex_unlock(&sp->mu);
}

void spool_set_group_commit(struct spool *sp, int on)
{
	pthread_mutex_lock(&sp->mu);
	sp->group = on != 0;
	if (!sp->group)
		sp_commit(sp);
	pthread_mutex_unlock(&sp->mu);
}

void spool_sync(struct spool *sp)
{
	pthread_mutex_lock(&sp->mu);
	sp_commit(sp);
	pthread_mutex_unlock(&sp->mu);
}

uint64_t spool_pending_since(struct spool *sp)
{
	uint64_t t;

	pthread_mutex_lock(&sp->mu);
	t = sp->pend_since_ns;
	pthread_mutex_unlock(&sp->mu);
	return t;
}

static void sp_deadline(struct timespec *ts, uint64_t wait_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(wait_ms / 1000);
	ts->tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Index of the entry for first_seq, or sp->n. Caller holds mu. */
static size_t sp_find(struct spool *sp, uint64_t first)
{
	for (size_t i = 0; i < sp->n; i++)
		if (sp_at(sp, i)->first == first)
			return i;
	return sp->n;
}

/* Reads the batch of entry e (in flight or held under mu: its file stays)
 * into a malloc'd buffer. Returns 0, YM_E_IO, YM_E_PARSE (short, or its
 * checksum does not match: a write cut short or a damaged disk), YM_E_NOMEM. */
static int sp_read(struct spool *sp, const struct sp_ent *e, uint64_t seg, int single, char **out,
		   size_t *len)
{
	char path[PATH_MAX + 32];
	uint8_t h[SP_REC_HDR];
	char *buf;
	int fd, r = YM_E_IO;
	ssize_t k;

	sp_path(sp->dir, seg, single, path, sizeof(path));
	if (single)
		return util_read_file(path, BATCH_MAX_WIRE, out, len);
	buf = malloc(e->bytes ? e->bytes : 1);
	if (!buf)
		return YM_E_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		goto out;
	r = YM_E_PARSE;
	if (pread(fd, h, sizeof(h), (off_t)e->off) != (ssize_t)sizeof(h) ||
	    sp_get32(h + 4) != e->bytes)
		goto out;
	k = pread(fd, buf, e->bytes, (off_t)e->off + SP_REC_HDR);
	if (k != (ssize_t)e->bytes || sp_crc((const uint8_t *)buf, e->bytes) != sp_get32(h + 8))
		goto out;
	*out = buf;
	*len = e->bytes;
	buf = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}

static void sp_move_rejected(struct spool *sp, uint64_t first);

int spool_next(struct spool *sp, uint64_t wait_ms, struct spool_item *it, uint8_t **data, size_t *n)
{
	struct timespec dl;
	int r = YM_E_NOTFOUND;

	sp_deadline(&dl, wait_ms);
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		struct sp_ent e;
		struct sp_seg s;
		char *buf = NULL;
		size_t len = 0;
		struct batch b;
		int rr;

		/* pending batches are the newest: none before the head's commit */
		while ((sp->n == 0 || (sp_at(sp, 0)->flags & SP_PENDING)) && !sp->woken) {
			if (pthread_cond_timedwait(&sp->cv, &sp->mu, &dl) == ETIMEDOUT)
				break;
		}
		if (sp->woken) {
			sp->woken = 0;
			goto out;
		}
		if (sp->n == 0 || (sp_at(sp, 0)->flags & SP_PENDING))
			goto out;
		sp_at(sp, 0)->flags |= SP_INFLIGHT;
		e = *sp_at(sp, 0);
		s = sp->segs[sp_seg_of(sp, e.first)];
		pthread_mutex_unlock(&sp->mu);
		/* In flight: nobody else removes it, so it is read unlocked. */
		rr = sp_read(sp, &e, s.name, s.single, &buf, &len);
		if (rr == 0 && !(e.flags & SP_META)) {
			rr = batch_decode((const uint8_t *)buf, len, &b, NULL, 0);
			if (rr == 0) {
				if (b.count == 0)
					rr = YM_E_PARSE;
				e.last = b.last_seq;
				e.count = (uint16_t)b.count;
				batch_free(&b);
			}
		}
		pthread_mutex_lock(&sp->mu);
		if (rr == YM_E_NOMEM) {
			free(buf);
			sp_at(sp, 0)->flags &= (uint8_t)~SP_INFLIGHT;
			r = YM_E_NOMEM;
			goto out;
		}
		if (rr) {
			LOG_E("spool", "E3105", "unreadable spool batch seq %llu (%s): %s",
			      (unsigned long long)e.first, ym_strerror(rr),
			      s.single ? "moved to rejected/" : "counted as rejected");
			free(buf);
			sp_move_rejected(sp, e.first);
			continue;
		}
		sp_at(sp, 0)->last = e.last;
		sp_at(sp, 0)->count = e.count;
		sp_at(sp, 0)->flags |= SP_META;
		it->first_seq = e.first;
		it->last_seq = e.last;
		it->count = e.count;
		it->bytes = len;
		*data = (uint8_t *)buf;
		*n = len;
		r = 0;
		goto out;
	}
out:
	pthread_mutex_unlock(&sp->mu);
	return r;
}

int spool_ack(struct spool *sp, uint64_t first_seq)
{
	size_t i;
	int r = YM_E_NOTFOUND;

	pthread_mutex_lock(&sp->mu);
	i = sp_find(sp, first_seq);
	if (i == sp->n)
		goto out;
	sp_done_at(sp, i);
	sp->st.sent_batches++;
	r = 0;
out:
	pthread_mutex_unlock(&sp->mu);
	return r;
}

/* Keeps at most SPOOL_MAX_REJECTED files in rejected/ (oldest deleted). */
static void sp_trim_rejected(struct spool *sp)
{
	DIR *d = opendir(sp->rejdir);
	struct dirent *de;
	uint64_t oldest = 0;
	int oldest_single = 1;
	size_t count = 0;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		int single;
		if (sp_name_seq(de->d_name, &seq, &single))
			continue;
		count++;
		if (!oldest || seq < oldest) {
			oldest = seq;
			oldest_single = single;
		}
	}
	closedir(d);
	if (count > SPOOL_MAX_REJECTED) {
		char path[PATH_MAX + 32];
		sp_path(sp->rejdir, oldest, oldest_single, path, sizeof(path));
		unlink(path);
	}
}

/* Moves the batch starting at first to rejected/<first>.ymb (a one-batch
 * file: as it is; a record of a segment: copied out when it can be read,
 * else left out) and counts it. Caller holds mu. */
static void sp_move_rejected(struct spool *sp, uint64_t first)
{
	size_t i = sp_find(sp, first);
	struct sp_ent e;
	struct sp_seg *s;

	if (i == sp->n)
		return;
	e = *sp_at(sp, i);
	s = &sp->segs[sp_seg_of(sp, first)];
	if (s->single) {
		char name[32];

		/* moved: the entry's done below finds no file to delete */
		snprintf(name, sizeof(name), "%020llu.ymb", (unsigned long long)first);
		sp_move_aside(sp, name);
	} else {
		char to[PATH_MAX + 32], *data = NULL;
		size_t len = 0;

		sp_path(sp->rejdir, first, 1, to, sizeof(to));
		if (sp_read(sp, &e, s->name, 0, &data, &len) == 0 &&
		    util_write_file(to, data, len, 0600) != 0)
			LOG_E("spool", "E3101", "cannot write %s: %s", to, strerror(errno));
		free(data);
	}
	sp_done_at(sp, i);
	sp->drops.rejected_batches++;
	sp->drops.rejected_events += e.count;
	sp->st.rejected_batches_total++;
	sp_trim_rejected(sp);
}

int spool_reject(struct spool *sp, uint64_t first_seq)
{
	int r = YM_E_NOTFOUND;

	pthread_mutex_lock(&sp->mu);
	if (sp_find(sp, first_seq) < sp->n) {
		sp_move_rejected(sp, first_seq);
		r = 0;
	}
	pthread_mutex_unlock(&sp->mu);
	return r;
}

void spool_release(struct spool *sp, uint64_t first_seq)
{
	size_t i;

	pthread_mutex_lock(&sp->mu);
	i = sp_find(sp, first_seq);
	if (i < sp->n)
		sp_at(sp, i)->flags &= (uint8_t)~SP_INFLIGHT;
	pthread_mutex_unlock(&sp->mu);
}

void spool_wake(struct spool *sp)
{
	pthread_mutex_lock(&sp->mu);
	sp->woken = 1;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
}

int spool_take_drops(struct spool *sp, struct spool_drops *out)
{
	int any;

	pthread_mutex_lock(&sp->mu);
	*out = sp->drops;
	memset(&sp->drops, 0, sizeof(sp->drops));
	pthread_mutex_unlock(&sp->mu);
	any = out->events || out->batches || out->rejected_batches;
	return any;
}

void spool_stats(struct spool *sp, struct spool_stats *out)
{
	pthread_mutex_lock(&sp->mu);
	*out = sp->st;
	out->files = sp->n;
	out->bytes = sp->bytes;
	pthread_mutex_unlock(&sp->mu);
}

int spool_inspect(const char *dir, struct spool_item *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t batches = 0, bytes = 0;

	if (!d)
		return YM_E_IO;
	memset(out, 0, sizeof(*out));
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 300];
		struct stat st;
		struct sp_list l = {NULL, 0, 0};
		uint64_t seq, b;
		uint32_t live;
		int single;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (sp_name_seq(de->d_name, &seq, &single) || lstat(path, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (single) {
			batches++;
			bytes += (uint64_t)st.st_size;
			if (!out->first_seq || seq < out->first_seq)
				out->first_seq = seq;
			if (seq > out->last_seq)
				out->last_seq = seq;
			continue;
		}
		if (sp_seg_read(path, (uint64_t)st.st_size, &l, &live, &b, 1) == 0 && l.n > 0) {
			if (!out->first_seq || l.e[0].first < out->first_seq)
				out->first_seq = l.e[0].first;
			if (l.e[l.n - 1].last > out->last_seq)
				out->last_seq = l.e[l.n - 1].last;
			batches += live;
			bytes += b;
		}
		free(l.e);
	}
	closedir(d);
	out->count = batches > UINT32_MAX ? UINT32_MAX : (uint32_t)batches;
	out->bytes = bytes;
	return 0;
}
