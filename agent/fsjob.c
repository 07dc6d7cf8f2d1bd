/* fsjob: file system calls on a worker the collector waits for a bounded
 * time (fsjob.h). One mutex guards everything shared; the owner and each
 * live worker hold a reference to it, and the last one frees it. */
#include "fsjob.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define FJ_MAX_IO (64u << 10)
#define FJ_STACK  (256u << 10)

struct fj_job {
	fsjob_fn fn;
	fsjob_drop_fn drop;
	uint64_t key;
	int done, abandoned, rc;
	atomic_uint_fast64_t progress;
	size_t iosz;
	unsigned char io[];
};

struct fj_shared {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the idle worker waits for a job or the end */
	pthread_cond_t done; /* the owner waits for its job */
	struct fj_job *job;  /* handed to the current worker, not yet taken */
	int have_worker;     /* a current (not held) worker lives */
	int quit;
	int refs;
	uint64_t held_keys[FSJOB_MAX_STUCK];
	struct fsjob_stats st;
};

struct fsjob {
	struct fj_shared *sh;
	unsigned timeout_ms;
};

void fsjob_progress(struct fsjob_ctx *cx)
{
	struct fj_job *j = cx ? cx->priv : NULL;

	if (j)
		atomic_fetch_add_explicit(&j->progress, 1, memory_order_relaxed);
}

void fsjob_drop_fd(void *io)
{
	int fd;

	memcpy(&fd, io, sizeof(fd));
	if (fd >= 0)
		close(fd);
}

static void fj_unref_locked(struct fj_shared *sh)
{
	if (--sh->refs > 0) {
		pthread_mutex_unlock(&sh->mu);
		return;
	}
	pthread_mutex_unlock(&sh->mu);
	pthread_cond_destroy(&sh->work);
	pthread_cond_destroy(&sh->done);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

/* A worker abandoned with its job: frees the job, gives its key back. */
static void fj_released_locked(struct fj_shared *sh, struct fj_job *j)
{
	for (unsigned i = 0; i < sh->st.stuck; i++) {
		if (sh->held_keys[i] == j->key) {
			sh->held_keys[i] = sh->held_keys[sh->st.stuck - 1];
			break;
		}
	}
	sh->st.stuck--;
	sh->st.freed++;
}

static void *fj_worker(void *arg)
{
	struct fj_shared *sh = arg;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		struct fj_job *j;
		struct fsjob_ctx cx;
		int rc;

		while (!sh->job && !sh->quit)
			pthread_cond_wait(&sh->work, &sh->mu);
		if (!sh->job) { /* the owner is gone */
			sh->have_worker = 0;
			break;
		}
		j = sh->job;
		sh->job = NULL;
		pthread_mutex_unlock(&sh->mu);
		cx.priv = j;
		rc = j->fn(j->io, &cx);
		pthread_mutex_lock(&sh->mu);
		if (j->abandoned) {
			/* the owner went on without us: clean up, and end (a
			 * new current worker was made for the jobs after) */
			fj_released_locked(sh, j);
			pthread_mutex_unlock(&sh->mu);
			if (j->drop)
				j->drop(j->io);
			free(j);
			pthread_mutex_lock(&sh->mu);
			break;
		}
		j->rc = rc;
		j->done = 1;
		pthread_cond_signal(&sh->done);
	}
	fj_unref_locked(sh);
	return NULL;
}

int fsjob_new(unsigned timeout_ms, struct fsjob **out)
{
	struct fsjob *fj = calloc(1, sizeof(*fj));
	struct fj_shared *sh = calloc(1, sizeof(*sh));
	pthread_condattr_t ca;

	if (!fj || !sh) {
		free(fj);
		free(sh);
		return YM_E_NOMEM;
	}
	if (pthread_condattr_init(&ca) != 0) {
		free(fj);
		free(sh);
		return YM_E_NOMEM;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&sh->mu, NULL) != 0 || pthread_cond_init(&sh->work, NULL) != 0 ||
	    pthread_cond_init(&sh->done, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		free(fj);
		free(sh);
		return YM_E_IO;
	}
	pthread_condattr_destroy(&ca);
	sh->refs = 1;
	fj->sh = sh;
	fj->timeout_ms = timeout_ms ? timeout_ms : FSJOB_TIMEOUT_MS;
	*out = fj;
	return 0;
}

void fsjob_free(struct fsjob *fj)
{
	struct fj_shared *sh;

	if (!fj)
		return;
	sh = fj->sh;
	free(fj);
	pthread_mutex_lock(&sh->mu);
	sh->quit = 1;
	pthread_cond_broadcast(&sh->work);
	fj_unref_locked(sh);
}

/* A new current worker; sh->mu held. Detached: a held one may outlive us. */
static int fj_spawn_locked(struct fj_shared *sh)
{
	pthread_attr_t at;
	pthread_t t;
	int r;

	if (pthread_attr_init(&at) != 0)
		return YM_E_NOMEM;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, FJ_STACK);
	r = pthread_create(&t, &at, fj_worker, sh);
	pthread_attr_destroy(&at);
	if (r != 0)
		return r == EAGAIN ? YM_E_NOMEM : YM_E_IO;
	sh->have_worker = 1;
	sh->refs++;
	return 0;
}

/* What a stall is blamed on, in the log: a device (major:minor, as
 * /proc/self/mountinfo names mounts) or a user. */
static void fj_log_stall(uint64_t key, unsigned ms)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 60);
	uint64_t v = key & (((uint64_t)1 << 62) - 1);

	if (!log_ratelimit_ok(&rl))
		return;
	if (key >> 62 == 1)
		LOG_W("agent", "W3801",
		      "a file system call on device %u:%u made no progress in %u ms: left to a "
		      "worker, its device skipped until it returns",
		      major((dev_t)v), minor((dev_t)v), ms);
	else if (key >> 62 == 2)
		LOG_W("agent", "W3801",
		      "a file system call for user %llu's action made no progress in %u ms: left "
		      "to a worker, that user's calls skipped until it returns",
		      (unsigned long long)v, ms);
	else if (key >> 62 == 3)
		LOG_W("agent", "W3801",
		      "a file system call (site %llu) made no progress in %u ms: left to a worker, "
		      "that site's calls skipped until it returns",
		      (unsigned long long)v, ms);
	else
		LOG_W("agent", "W3801",
		      "a file system call made no progress in %u ms: left to a worker", ms);
}

static void fj_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int fsjob_run(struct fsjob *fj, uint64_t key, fsjob_fn fn, fsjob_drop_fn drop, void *io,
	      size_t iosz)
{
	struct fj_shared *sh = fj->sh;
	struct fj_job *j;
	struct timespec dl;
	uint64_t seen = 0;
	int r;

	if (iosz > FJ_MAX_IO)
		return YM_E_INVAL;
	j = malloc(sizeof(*j) + iosz);
	if (!j)
		return YM_E_NOMEM;
	j->fn = fn;
	j->drop = drop;
	j->key = key;
	j->done = j->abandoned = j->rc = 0;
	atomic_init(&j->progress, 0);
	j->iosz = iosz;
	memcpy(j->io, io, iosz);

	pthread_mutex_lock(&sh->mu);
	if (sh->st.stuck >= FSJOB_MAX_STUCK)
		goto refuse;
	for (unsigned i = 0; key && i < sh->st.stuck; i++)
		if (sh->held_keys[i] == key)
			goto refuse;
	if (!sh->have_worker && (r = fj_spawn_locked(sh)) != 0) {
		pthread_mutex_unlock(&sh->mu);
		free(j);
		return r;
	}
	sh->job = j;
	pthread_cond_signal(&sh->work);
	fj_deadline(&dl, fj->timeout_ms);
	while (!j->done) {
		if (pthread_cond_timedwait(&sh->done, &sh->mu, &dl) != ETIMEDOUT || j->done)
			continue;
		uint64_t p = atomic_load_explicit(&j->progress, memory_order_relaxed);
		if (p != seen) { /* still moving: another period */
			seen = p;
			fj_deadline(&dl, fj->timeout_ms);
			continue;
		}
		/* No progress for the timeout. A job the worker has not even
		 * taken (a starved host) is taken back; one it runs is left to
		 * it, and the next job gets a new worker. */
		int held = sh->job != j;
		if (held) {
			j->abandoned = 1;
			sh->held_keys[sh->st.stuck++] = key;
			sh->have_worker = 0;
		} else {
			sh->job = NULL;
		}
		sh->st.stalls++;
		pthread_mutex_unlock(&sh->mu);
		fj_log_stall(key, fj->timeout_ms);
		if (!held) {
			if (drop)
				drop(j->io);
			free(j);
		}
		return YM_E_TIMEOUT;
	}
	sh->st.runs++;
	pthread_mutex_unlock(&sh->mu);
	memcpy(io, j->io, iosz);
	r = j->rc;
	free(j);
	return r;
refuse:
	sh->st.refused++;
	pthread_mutex_unlock(&sh->mu);
	free(j);
	return YM_E_BUSY;
}

void fsjob_stats(struct fsjob *fj, struct fsjob_stats *out)
{
	pthread_mutex_lock(&fj->sh->mu);
	*out = fj->sh->st;
	pthread_mutex_unlock(&fj->sh->mu);
}

/* the path calls' job */
enum { FJ_LSTAT, FJ_STAT, FJ_STATX, FJ_REALPATH };

struct fj_path_io {
	int op, flags;
	unsigned mask;
	char path[PATH_MAX];
	union {
		struct stat st;
		struct statx sx;
		char real[PATH_MAX];
	} u;
};

static int fj_path_job(void *arg, struct fsjob_ctx *cx)
{
	struct fj_path_io *io = arg;
	int r = -1;

	(void)cx;
	switch (io->op) {
	case FJ_LSTAT:
		r = lstat(io->path, &io->u.st);
		break;
	case FJ_STAT:
		r = stat(io->path, &io->u.st);
		break;
	case FJ_STATX:
		r = statx(AT_FDCWD, io->path, io->flags, io->mask, &io->u.sx);
		break;
	case FJ_REALPATH:
		r = realpath(io->path, io->u.real) ? 0 : -1;
		break;
	}
	return r == 0 ? 0 : YM_E_NOTFOUND;
}

/* Runs the path call io names: through fsj, or here. The io is large
 * (two paths' worth): the caller's is static, the collector's alone. */
static int fj_path(struct fsjob *fsj, uint64_t key, struct fj_path_io *io, const char *path)
{
	size_t n = strlen(path);

	if (n >= sizeof(io->path))
		return YM_E_INVAL;
	memcpy(io->path, path, n + 1);
	if (!fsj)
		return fj_path_job(io, NULL);
	return fsjob_run(fsj, key, fj_path_job, NULL, io, sizeof(*io));
}

static struct fj_path_io fj_io; /* the owner thread's: fsjob.h */

int fsjob_stat(struct fsjob *fsj, uint64_t key, const char *path, int follow, struct stat *out)
{
	int r;

	fj_io.op = follow ? FJ_STAT : FJ_LSTAT;
	r = fj_path(fsj, key, &fj_io, path);
	if (r == 0)
		*out = fj_io.u.st;
	return r;
}

int fsjob_statx(struct fsjob *fsj, uint64_t key, const char *path, int flags, unsigned mask,
		struct statx *out)
{
	int r;

	fj_io.op = FJ_STATX;
	fj_io.flags = flags;
	fj_io.mask = mask;
	r = fj_path(fsj, key, &fj_io, path);
	if (r == 0)
		*out = fj_io.u.sx;
	return r;
}

int fsjob_realpath(struct fsjob *fsj, uint64_t key, const char *path, char *out, size_t outsz)
{
	int r;
	size_t n;

	fj_io.op = FJ_REALPATH;
	r = fj_path(fsj, key, &fj_io, path);
	if (r)
		return r;
	n = strlen(fj_io.u.real);
	if (n >= outsz)
		return YM_E_TOOBIG;
	memcpy(out, fj_io.u.real, n + 1);
	return 0;
}
