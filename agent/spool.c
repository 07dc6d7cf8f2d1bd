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
#include <time.h>
#include <unistd.h>

#define SP_META	    0x01u /* last_seq and count are known */
#define SP_INFLIGHT 0x02u
#define SP_PENDING  0x04u /* written as *.tmp, not yet fsync'd and renamed: not sendable */

struct sp_ent {
	uint64_t first, last;
	uint32_t bytes;
	uint16_t count;
	uint8_t flags;
};

struct spool {
	char dir[PATH_MAX];
	char rejdir[PATH_MAX];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sp_ent *ring;
	size_t cap, head, n;
	uint64_t bytes, max_bytes;
	int woken;
	int group;			/* spool_put defers the commit to spool_sync */
	int pend_fd[SPOOL_PENDING_MAX]; /* open *.tmp of the pending batches, oldest first */
	uint64_t pend_first[SPOOL_PENDING_MAX];
	size_t npend;
	uint64_t pend_since_ns; /* monotonic time of the oldest pending batch */
	struct spool_drops drops;
	struct spool_stats st;
};

static struct sp_ent *sp_at(struct spool *sp, size_t i)
{
	return &sp->ring[(sp->head + i) % sp->cap];
}

static void sp_path(const struct spool *sp, const char *dir, uint64_t first, char *out,
		    size_t outsz)
{
	(void)sp;
	snprintf(out, outsz, "%s/%020llu.ymb", dir, (unsigned long long)first);
}

static void sp_tmp_path(const struct spool *sp, uint64_t first, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%020llu.ymb.tmp", sp->dir, (unsigned long long)first);
}

/* Forgets the pending write of batch first: closes and deletes its temp
 * file. Caller holds mu. */
static void sp_pend_forget(struct spool *sp, uint64_t first)
{
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < sp->npend; i++) {
		if (sp->pend_first[i] != first)
			continue;
		close(sp->pend_fd[i]);
		sp_tmp_path(sp, first, path, sizeof(path));
		unlink(path);
		memmove(&sp->pend_fd[i], &sp->pend_fd[i + 1],
			(sp->npend - i - 1) * sizeof(sp->pend_fd[0]));
		memmove(&sp->pend_first[i], &sp->pend_first[i + 1],
			(sp->npend - i - 1) * sizeof(sp->pend_first[0]));
		sp->npend--;
		if (sp->npend == 0)
			sp->pend_since_ns = 0;
		return;
	}
}

/* Removes entry i (offset from head) from the ring. Caller holds mu. */
static void sp_remove_at(struct spool *sp, size_t i)
{
	sp->bytes -= sp_at(sp, i)->bytes;
	for (size_t j = i; j > 0; j--)
		*sp_at(sp, j) = *sp_at(sp, j - 1);
	sp->head = (sp->head + 1) % sp->cap;
	sp->n--;
}

/* Learns last_seq and count of a batch file by decoding it. */
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
	char path[PATH_MAX + 32];
	struct sp_ent e;
	size_t i;

	for (i = 0; i < sp->n; i++)
		if (!(sp_at(sp, i)->flags & SP_INFLIGHT))
			break;
	if (i == sp->n)
		return YM_E_NOTFOUND;
	e = *sp_at(sp, i);
	sp_path(sp, sp->dir, e.first, path, sizeof(path));
	if (e.flags & SP_PENDING)
		sp_pend_forget(sp, e.first);
	if (!(e.flags & SP_META)) {
		uint32_t c = 0;
		uint64_t last = e.first;
		if (sp_meta_from_file(path, &last, &c) == 0) {
			e.last = last;
			e.count = (uint16_t)c;
		}
	}
	if (unlink(path) < 0 && errno != ENOENT)
		LOG_E("spool", "E3101", "cannot delete spool file %s: %s", path, strerror(errno));
	sp_remove_at(sp, i);
	sp_tally_drop(sp, e.first, e.last, e.count);
	LOG_W("spool", "W3102", "spool full: dropped batch seq %llu..%llu (%u events)",
	      (unsigned long long)e.first, (unsigned long long)e.last, (unsigned)e.count);
	return 0;
}

static int sp_name_seq(const char *name, uint64_t *seq)
{
	char digits[21];

	if (strlen(name) != 24 || strcmp(name + 20, ".ymb") != 0)
		return YM_E_PARSE;
	for (int i = 0; i < 20; i++)
		if (name[i] < '0' || name[i] > '9')
			return YM_E_PARSE;
	memcpy(digits, name, 20);
	digits[20] = 0;
	return util_parse_u64(digits, 1, UINT64_MAX, seq) ? YM_E_PARSE : 0;
}

static int sp_cmp_ent(const void *a, const void *b)
{
	const struct sp_ent *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int sp_scan(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	struct dirent *de;
	struct sp_ent *tmp = NULL;
	size_t n = 0, alloc = 0;
	int r = YM_E_IO;

	if (!d)
		goto out;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 300];
		struct stat st;
		uint64_t seq;
		size_t nl = strlen(de->d_name);

		snprintf(path, sizeof(path), "%s/%s", sp->dir, de->d_name);
		if (nl > 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0) {
			unlink(path); /* a write that never completed */
			continue;
		}
		if (sp_name_seq(de->d_name, &seq) || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct sp_ent *nt = realloc(tmp, na * sizeof(*tmp));
			if (!nt) {
				r = YM_E_NOMEM;
				goto out;
			}
			tmp = nt;
			alloc = na;
		}
		memset(&tmp[n], 0, sizeof(tmp[n]));
		tmp[n].first = tmp[n].last = seq;
		tmp[n].bytes = st.st_size > (off_t)UINT32_MAX ? UINT32_MAX : (uint32_t)st.st_size;
		n++;
	}
	if (n)
		qsort(tmp, n, sizeof(*tmp), sp_cmp_ent);
	for (size_t i = 0; i < n; i++) {
		/* over the file cap: drop the oldest before they enter the ring */
		if (sp->n == sp->cap) {
			sp_drop_oldest(sp);
		}
		*sp_at(sp, sp->n) = tmp[i];
		sp->n++;
		sp->bytes += tmp[i].bytes;
	}
	while (sp->bytes > sp->max_bytes && sp->n > 0)
		sp_drop_oldest(sp);
	r = 0;
out:
	if (d)
		closedir(d);
	free(tmp);
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
		free(sp->ring);
		free(sp);
	}
	return r;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	spool_sync(sp);
	pthread_cond_destroy(&sp->cv);
	pthread_mutex_destroy(&sp->mu);
	free(sp->ring);
	free(sp);
}

/* Writes p to a new temp file for batch first; returns its descriptor
 * (open, not yet fsync'd) or -1 with errno set. */
static int sp_write_tmp(struct spool *sp, uint64_t first, const uint8_t *p, size_t n)
{
	char tmp[PATH_MAX + 32];
	int fd, e;

	sp_tmp_path(sp, first, tmp, sizeof(tmp));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += k;
		n -= (size_t)k;
	}
	return fd;
fail:
	e = errno;
	close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}

/* fsyncs and renames the pending batch at pend index k (its temp file is
 * closed either way). Returns 0, or -1 with errno set (the temp file is
 * deleted). Caller holds mu. */
static int sp_commit_one(struct spool *sp, size_t k)
{
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	int fd = sp->pend_fd[k], e;

	sp_tmp_path(sp, sp->pend_first[k], tmp, sizeof(tmp));
	sp_path(sp, sp->dir, sp->pend_first[k], path, sizeof(path));
	if (fsync(fd) < 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		e = errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	errno = e;
	return -1;
}

/* Commits every pending batch: each file fsync'd and renamed, then one
 * directory fsync, then they are sendable. A batch whose fsync or rename
 * fails is dropped and counted (E3103). Caller holds mu. */
static void sp_commit(struct spool *sp)
{
	size_t npend = sp->npend;
	int any = 0;

	if (npend == 0)
		return;
	for (size_t k = 0; k < npend; k++) {
		uint64_t first = sp->pend_first[k];
		size_t i;

		for (i = 0; i < sp->n; i++)
			if (sp_at(sp, i)->first == first)
				break;
		if (sp_commit_one(sp, k) == 0) {
			if (i < sp->n)
				sp_at(sp, i)->flags &= (uint8_t)~SP_PENDING;
			sp->st.put_batches++;
			any = 1;
			continue;
		}
		LOG_E("spool", "E3103", "cannot write spool file for seq %llu: %s",
		      (unsigned long long)first, strerror(errno));
		if (i < sp->n) {
			struct sp_ent e = *sp_at(sp, i);
			sp_remove_at(sp, i);
			sp_tally_drop(sp, e.first, e.last, e.count);
		}
	}
	sp->npend = 0;
	sp->pend_since_ns = 0;
	if (any && fsdir_sync(sp->dir))
		LOG_W("spool", "W3104", "cannot fsync spool directory %s", sp->dir);
	if (any)
		pthread_cond_signal(&sp->cv);
}

int spool_put(struct spool *sp, const uint8_t *p, size_t n, uint64_t first, uint64_t last,
	      uint32_t count)
{
	int r = YM_E_INVAL, tries = 0, fd;

	if (n == 0 || n > UINT32_MAX || count == 0 || count > UINT16_MAX || last < first)
		return YM_E_INVAL;
	pthread_mutex_lock(&sp->mu);
	if (sp->n > 0 && sp_at(sp, sp->n - 1)->first >= first)
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
	/* The write runs under the lock: the uplink only waits on it to pick the
	 * next batch, and a full disk is handled by dropping the oldest here. */
	while ((fd = sp_write_tmp(sp, first, p, n)) < 0) {
		int e = errno;
		if ((e != ENOSPC && e != EDQUOT) || ++tries > 8 || sp_drop_oldest(sp)) {
			LOG_E("spool", "E3103", "cannot write spool file for seq %llu: %s",
			      (unsigned long long)first, strerror(e));
			goto drop;
		}
	}
	{
		struct sp_ent *e = sp_at(sp, sp->n);
		e->first = first;
		e->last = last;
		e->count = (uint16_t)count;
		e->bytes = (uint32_t)n;
		e->flags = SP_META | SP_PENDING;
	}
	sp->n++;
	sp->bytes += n;
	if (sp->npend == 0)
		sp->pend_since_ns = util_mono_ns();
	sp->pend_fd[sp->npend] = fd;
	sp->pend_first[sp->npend] = first;
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

/* Index of the in-flight entry for first_seq, or sp->n. Caller holds mu. */
static size_t sp_find(struct spool *sp, uint64_t first)
{
	for (size_t i = 0; i < sp->n; i++)
		if (sp_at(sp, i)->first == first)
			return i;
	return sp->n;
}

static void sp_move_rejected(struct spool *sp, uint64_t first);

int spool_next(struct spool *sp, uint64_t wait_ms, struct spool_item *it, uint8_t **data, size_t *n)
{
	struct timespec dl;
	int r = YM_E_NOTFOUND;

	sp_deadline(&dl, wait_ms);
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		char path[PATH_MAX + 32];
		struct sp_ent e;
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
		sp_path(sp, sp->dir, e.first, path, sizeof(path));
		pthread_mutex_unlock(&sp->mu);
		/* In flight: nobody else removes it, so the file is read unlocked. */
		rr = util_read_file(path, BATCH_MAX_WIRE, &buf, &len);
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
			LOG_E("spool", "E3105", "unreadable spool file %s (%s): moved to rejected/",
			      path, ym_strerror(rr));
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
	char path[PATH_MAX + 32];
	size_t i;
	int r = YM_E_NOTFOUND;

	pthread_mutex_lock(&sp->mu);
	i = sp_find(sp, first_seq);
	if (i == sp->n)
		goto out;
	sp_path(sp, sp->dir, first_seq, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		LOG_E("spool", "E3101", "cannot delete spool file %s: %s", path, strerror(errno));
	sp_remove_at(sp, i);
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
	size_t count = 0;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		if (sp_name_seq(de->d_name, &seq))
			continue;
		count++;
		if (!oldest || seq < oldest)
			oldest = seq;
	}
	closedir(d);
	if (count > SPOOL_MAX_REJECTED) {
		char path[PATH_MAX + 32];
		sp_path(sp, sp->rejdir, oldest, path, sizeof(path));
		unlink(path);
	}
}

/* Caller holds mu. */
static void sp_move_rejected(struct spool *sp, uint64_t first)
{
	char from[PATH_MAX + 32], to[PATH_MAX + 32];
	size_t i = sp_find(sp, first);
	struct sp_ent e;

	if (i == sp->n)
		return;
	e = *sp_at(sp, i);
	sp_path(sp, sp->dir, first, from, sizeof(from));
	sp_path(sp, sp->rejdir, first, to, sizeof(to));
	if (rename(from, to) < 0 && unlink(from) < 0 && errno != ENOENT)
		LOG_E("spool", "E3101", "cannot delete spool file %s: %s", from, strerror(errno));
	sp_remove_at(sp, i);
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
