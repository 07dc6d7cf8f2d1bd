/* unit_agent_fsjob: the collector's bounded file system calls (agent/fsjob.c)
 * against calls that really block: a read of a pipe nobody writes stands
 * for a FUSE daemon that never answers (tests/sensors/fuse_hold.sh has the
 * real one). A held call is abandoned at the timeout and the next job runs on
 * a new worker; a job that reports progress is waited for past the timeout;
 * keys and the cap on held workers refuse at once; a held call that returns
 * later has its job dropped (what it opened closed) and its key given back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fsjob.h"
#include "hashcache.h"

#include <nettle/sha2.h>
#include <stdlib.h>

struct rd_io {
	int fd;	     /* read this */
	int drop_fd; /* the drop writes a byte here */
	int loops;   /* reads to make (each reporting progress) */
	char got[8];
};

static int rd_fn(void *io, struct fsjob_ctx *cx)
{
	struct rd_io *r = io;

	for (int i = 0; i < r->loops; i++) {
		ssize_t k = read(r->fd, r->got, 1);
		if (k != 1)
			return YM_E_IO;
		fsjob_progress(cx);
	}
	return 0;
}

static void rd_drop(void *io)
{
	struct rd_io *r = io;

	(void)!write(r->drop_fd, "d", 1);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_quick_job(void **state)
{
	struct fsjob *fj;
	struct fsjob_stats st;
	int p[2];
	struct rd_io io = {.loops = 1, .drop_fd = -1};

	(void)state;
	assert_int_equal(fsjob_new(200, &fj), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	io.fd = p[0];
	assert_int_equal(fsjob_run(fj, 0, rd_fn, rd_drop, &io, sizeof(io)), 0);
	assert_int_equal(io.got[0], 'x'); /* the result is copied back */
	/* the job's own error comes back as it is */
	close(p[1]);
	assert_int_equal(fsjob_run(fj, 0, rd_fn, rd_drop, &io, sizeof(io)), YM_E_IO);
	fsjob_stats(fj, &st);
	assert_int_equal(st.runs, 2);
	assert_int_equal(st.stalls, 0);
	assert_int_equal(st.stuck, 0);
	close(p[0]);
	fsjob_free(fj);
}

/* a held call: abandoned at the timeout; the same key is refused at once,
 * another key runs on a new worker; the held call's return drops its job
 * and frees the key */
static void test_held_call(void **state)
{
	struct fsjob *fj;
	struct fsjob_stats st;
	int hold[2], ok[2], dropped[2];
	struct rd_io io = {.loops = 1};
	int64_t t0, dt;
	char c;

	(void)state;
	assert_int_equal(fsjob_new(150, &fj), 0);
	assert_int_equal(pipe(hold), 0);
	assert_int_equal(pipe(ok), 0);
	assert_int_equal(pipe(dropped), 0);
	io.fd = hold[0];
	io.drop_fd = dropped[1];
	t0 = ms_now();
	assert_int_equal(fsjob_run(fj, FSJOB_KEY_DEV(42), rd_fn, rd_drop, &io, sizeof(io)),
			 YM_E_TIMEOUT);
	dt = ms_now() - t0;
	assert_true(dt >= 140 && dt < 2000);
	fsjob_stats(fj, &st);
	assert_int_equal(st.stalls, 1);
	assert_int_equal(st.stuck, 1);

	/* the same device: refused without waiting */
	t0 = ms_now();
	assert_int_equal(fsjob_run(fj, FSJOB_KEY_DEV(42), rd_fn, rd_drop, &io, sizeof(io)),
			 YM_E_BUSY);
	assert_true(ms_now() - t0 < 100);

	/* another one runs, on a new worker */
	assert_int_equal(write(ok[1], "y", 1), 1);
	io.fd = ok[0];
	assert_int_equal(fsjob_run(fj, FSJOB_KEY_DEV(43), rd_fn, rd_drop, &io, sizeof(io)), 0);
	assert_int_equal(io.got[0], 'y');

	/* the held call returns: its job is dropped, its key given back */
	assert_int_equal(write(hold[1], "z", 1), 1);
	assert_int_equal(read(dropped[0], &c, 1), 1);
	for (int i = 0; i < 200; i++) {
		fsjob_stats(fj, &st);
		if (st.stuck == 0)
			break;
		usleep(5000);
	}
	assert_int_equal(st.stuck, 0);
	assert_int_equal(st.freed, 1);
	assert_int_equal(write(ok[1], "w", 1), 1);
	io.fd = ok[0];
	assert_int_equal(fsjob_run(fj, FSJOB_KEY_DEV(42), rd_fn, rd_drop, &io, sizeof(io)), 0);
	assert_int_equal(io.got[0], 'w');
	fsjob_free(fj);
	close(hold[0]);
	close(hold[1]);
	close(ok[0]);
	close(ok[1]);
	close(dropped[0]);
	close(dropped[1]);
}

/* FSJOB_MAX_STUCK held calls: every job is refused, whatever its key */
static void test_cap(void **state)
{
	struct fsjob *fj;
	struct fsjob_stats st;
	int hold[2], dropped[2];
	struct rd_io io = {.loops = 1};
	char c;

	(void)state;
	assert_int_equal(fsjob_new(50, &fj), 0);
	assert_int_equal(pipe(hold), 0);
	assert_int_equal(pipe(dropped), 0);
	io.fd = hold[0];
	io.drop_fd = dropped[1];
	for (int i = 0; i < FSJOB_MAX_STUCK; i++)
		assert_int_equal(fsjob_run(fj, 0, rd_fn, rd_drop, &io, sizeof(io)), YM_E_TIMEOUT);
	assert_int_equal(fsjob_run(fj, FSJOB_KEY_UID(7), rd_fn, rd_drop, &io, sizeof(io)),
			 YM_E_BUSY);
	fsjob_stats(fj, &st);
	assert_int_equal(st.stuck, FSJOB_MAX_STUCK);
	assert_int_equal(st.refused, 1);
	/* the owner may go first: the held workers end on their own */
	fsjob_free(fj);
	for (int i = 0; i < FSJOB_MAX_STUCK; i++) {
		assert_int_equal(write(hold[1], "z", 1), 1);
		assert_int_equal(read(dropped[0], &c, 1), 1);
	}
	close(hold[0]);
	close(hold[1]);
	close(dropped[0]);
	close(dropped[1]);
}

struct feeder {
	int fd, n, gap_ms;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;

	for (int i = 0; i < f->n; i++) {
		usleep((useconds_t)f->gap_ms * 1000);
		(void)!write(f->fd, "p", 1);
	}
	return NULL;
}

/* a long job that moves (a large file hashed): waited for past the timeout */
static void test_progress(void **state)
{
	struct fsjob *fj;
	int p[2];
	struct rd_io io = {.loops = 8, .drop_fd = -1};
	struct feeder f;
	pthread_t t;
	int64_t t0;

	(void)state;
	assert_int_equal(fsjob_new(150, &fj), 0);
	assert_int_equal(pipe(p), 0);
	f.fd = p[1];
	f.n = 8;
	f.gap_ms = 60; /* 480 ms in all, over three timeouts */
	io.fd = p[0];
	assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
	t0 = ms_now();
	assert_int_equal(fsjob_run(fj, 0, rd_fn, rd_drop, &io, sizeof(io)), 0);
	assert_true(ms_now() - t0 >= 400);
	pthread_join(t, NULL);
	fsjob_free(fj);
	close(p[0]);
	close(p[1]);
}

/* the hash cache's opens and reads through the workers: the same digests,
 * hits and refusals as on the caller's thread */
static void test_hashcache_jobs(void **state)
{
	char dir[] = "/tmp/ym-unit-fsjob.XXXXXX", path[64];
	struct fsjob *fj;
	struct hashcache *hc;
	struct hashcache_stats hs;
	struct hashcache_id id;
	struct fsjob_stats st;
	struct sha256_ctx c;
	struct stat sb;
	uint8_t sha[32], want[32];
	int fd, hit = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	/* over one 64 KiB read: progress is reported between them */
	for (int i = 0; i < 3; i++) {
		static char blk[50000];
		memset(blk, 'a' + i, sizeof(blk));
		assert_int_equal(write(fd, blk, sizeof(blk)), (ssize_t)sizeof(blk));
	}
	close(fd);
	{
		static char all[150000];
		fd = open(path, O_RDONLY);
		assert_int_equal(read(fd, all, sizeof(all)), (ssize_t)sizeof(all));
		close(fd);
		sha256_init(&c);
		sha256_update(&c, sizeof(all), (const uint8_t *)all);
		sha256_digest(&c, sizeof(want), want);
	}
	assert_int_equal(fsjob_new(0, &fj), 0);
	assert_int_equal(hashcache_new(8, 1 << 20, &hc), 0);
	hashcache_set_fsjob(hc, fj);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	assert_memory_equal(sha, want, 32);
	assert_int_equal(hit, 0);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	assert_int_equal(hit, 1);
	assert_int_equal(hashcache_path(hc, dir, sha, &hit), YM_E_INVAL);
	assert_int_equal(hashcache_path(hc, "/nonexistent/x", sha, &hit), YM_E_NOTFOUND);
	/* by the kernel's identity: a stale one refused, the right one hashed */
	assert_int_equal(stat(path, &sb), 0);
	memset(&id, 0, sizeof(id));
	id.dev = sb.st_dev;
	id.ino = sb.st_ino;
	id.size = (uint64_t)sb.st_size + 1;
	assert_int_equal(hashcache_path_id(hc, path, &id, sha, &hit), YM_E_STALE);
	id.size = (uint64_t)sb.st_size;
	memset(sha, 0, sizeof(sha));
	assert_int_equal(hashcache_path_id(hc, path, &id, sha, &hit), 0);
	assert_memory_equal(sha, want, 32);
	hashcache_stats(hc, &hs);
	assert_int_equal(hs.held, 0);
	fsjob_stats(fj, &st);
	assert_true(st.runs >= 6);
	assert_int_equal(st.stalls, 0);
	hashcache_free(hc);
	fsjob_free(fj);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quick_job),
	    cmocka_unit_test(test_held_call),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_progress),
	    cmocka_unit_test(test_hashcache_jobs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
