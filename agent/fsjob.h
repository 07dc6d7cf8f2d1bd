/* fsjob: the collector's file system calls on files and paths an attacker
 * can choose, run on a worker thread the collector waits for a bounded time.
 *
 * A user who can mount a FUSE file system (fusermount3, or a user namespace)
 * answers the kernel's requests for its files himself, and can leave the
 * agent's unanswered: a stat, an open or a read of such a file then never
 * returns, and a collector that made it would report nothing more from any
 * family. A dead NFS or SMB server does the same. So such a call runs here:
 * fsjob_run copies the job's input to the worker, wakes it and waits; when
 * the call makes no progress for the timeout, the job is abandoned to its
 * worker (which frees it, and what it opened, whenever the call returns)
 * and the next job gets a new worker. At most FSJOB_MAX_STUCK workers may
 * be held at once; beyond that every job is refused at once, as is a job
 * whose key (a device, a user: FSJOB_KEY_*) is the key of a held one.
 *
 * One owner thread calls fsjob_run (the collector); the workers are its
 * helpers. Workers are made when first needed (none before the agent's
 * fork of its uplink). */
#ifndef YM_AGENT_FSJOB_H
#define YM_AGENT_FSJOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define FSJOB_MAX_STUCK	  8
#define FSJOB_TIMEOUT_MS  250
#define FSJOB_KEY_DEV(d)  (((uint64_t)1 << 62) | ((uint64_t)(d) & (((uint64_t)1 << 62) - 1)))
#define FSJOB_KEY_UID(u)  (((uint64_t)2 << 62) | (uint64_t)(uint32_t)(u))
#define FSJOB_KEY_SITE(n) (((uint64_t)3 << 62) | (uint64_t)(uint32_t)(n)) /* a caller's own */

struct fsjob;

/* Given to a job's function: fsjob_progress tells the waiting owner that a
 * long job (hashing a large file) still moves. cx may be NULL (a job's
 * function called directly). */
struct fsjob_ctx {
	void *priv;
};
void fsjob_progress(struct fsjob_ctx *cx);

/* A job: works on io (the worker's copy) and returns 0 or an error code.
 * It must touch nothing but io (its owner may have given up on it). */
typedef int (*fsjob_fn)(void *io, struct fsjob_ctx *cx);
/* Run by the worker on io after fn when the job was abandoned (closes what
 * fn opened for its owner). May be NULL. */
typedef void (*fsjob_drop_fn)(void *io);
/* The drop of an io whose first member is an int descriptor (-1: none):
 * closes it. */
void fsjob_drop_fd(void *io);

struct fsjob_stats {
	uint64_t runs;	  /* jobs that finished in time */
	uint64_t stalls;  /* jobs abandoned at the timeout */
	uint64_t refused; /* jobs refused: key held, or FSJOB_MAX_STUCK held */
	uint64_t freed;	  /* abandoned jobs whose call returned later */
	unsigned stuck;	  /* workers held now */
};

/* timeout_ms: how long a job may make no progress (0: FSJOB_TIMEOUT_MS).
 * Returns 0, YM_E_NOMEM or YM_E_IO. */
int fsjob_new(unsigned timeout_ms, struct fsjob **out);
/* The held workers free what is shared with them when their calls return. */
void fsjob_free(struct fsjob *fj);

/* Runs fn on a copy of io (iosz bytes, at most 64 KiB) and copies it back.
 * key: 0, or a FSJOB_KEY_* value naming what a stall would be blamed on.
 * Returns fn's result; YM_E_TIMEOUT: abandoned, io unchanged, and what io
 * holds (a descriptor) is the job's now: drop runs on the job's copy once,
 * after fn or instead of it; YM_E_BUSY (refused), YM_E_NOMEM or YM_E_IO (no
 * worker could be made): fn and drop never ran. */
int fsjob_run(struct fsjob *fj, uint64_t key, fsjob_fn fn, fsjob_drop_fn drop, void *io,
	      size_t iosz);

void fsjob_stats(struct fsjob *fj, struct fsjob_stats *out);

/* Path calls through fsj (NULL: on the caller's thread), by the owner
 * thread only (they share one buffer). Each returns 0,
 * YM_E_NOTFOUND (the call failed), YM_E_INVAL (path too long), or
 * fsjob_run's YM_E_TIMEOUT / YM_E_BUSY (held or refused: *out unchanged). */
/* lstat, or stat when follow */
int fsjob_stat(struct fsjob *fsj, uint64_t key, const char *path, int follow, struct stat *out);
/* statx(AT_FDCWD, path, flags, mask) */
int fsjob_statx(struct fsjob *fsj, uint64_t key, const char *path, int flags, unsigned mask,
		struct statx *out);
/* realpath into out (outsz bytes; YM_E_TOOBIG when the answer is longer) */
int fsjob_realpath(struct fsjob *fsj, uint64_t key, const char *path, char *out, size_t outsz);

#endif
