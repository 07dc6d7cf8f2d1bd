/* unit_agent: the agent's spool, sequence numbers, hash cache, nonce store,
 * process table, /proc parsing, batcher, kill executor, command handling,
 * kernel path records (kpath), hashes by kernel file identity and per-family
 * mode selection, each against the real thing: real files, real child processes, real
 * signatures. Needs no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "batcher.h"
#include "buf.h"
#include "cmdloop.h"
#include "collect.h"
#include "ctrimage.h"
#include "command.h"
#include "enrich.h"
#include "err.h"
#include "exec_kill.h"
#include "hashcache.h"
#include "kpath.h"
#include "namecache.h"
#include "nonce.h"
#include "procinfo.h"
#include "proctable.h"
#include "seqgen.h"
#include "spool.h"
#include "util.h"

static char tmpdir[256];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ym-unit-agent.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void subdir(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", tmpdir, name);
	assert_int_equal(util_mkdirs(out, 0700), 0);
}

/* A real encoded batch of n process events with seqs first..first+n-1. */
static void make_batch(struct buf *out, uint64_t first, size_t n)
{
	struct event evs[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		event_init(&evs[i]);
		evs[i].seq = first + i;
		evs[i].ts_ns = 1;
		evs[i].category = EVCAT_PROCESS_CREATION;
		assert_int_equal(event_set_str(&evs[i], "Image", "/usr/bin/true"), 0);
	}
	buf_init(out, BATCH_MAX_WIRE);
	assert_int_equal(batch_encode(out, evs, n, 0), 0);
}

static void put_batch(struct spool *sp, uint64_t first, size_t n)
{
	struct buf b;
	make_batch(&b, first, n);
	assert_int_equal(spool_put(sp, b.data, b.len, first, first + n - 1, (uint32_t)n), 0);
	buf_free(&b);
}

static size_t batch_size(size_t n)
{
	struct buf b;
	size_t len;
	make_batch(&b, 1, n);
	len = b.len;
	buf_free(&b);
	return len;
}

/* path of the spool file named first (.ymb: one batch; .yms: a segment) */
static void spool_file(const char *dir, uint64_t first, const char *ext, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%020llu.%s", dir, (unsigned long long)first, ext);
}

static void test_spool_resume(void **state)
{
	char dir[300], path[400];
	struct spool *sp;
	struct spool_item it;
	struct spool_drops d;
	struct batch bt;
	uint8_t *data;
	char *text;
	size_t n, tn;
	(void)state;

	subdir("spool-resume", dir, sizeof(dir));
	/* a one-batch file an agent before segments left */
	{
		struct buf b;
		make_batch(&b, 1, 2);
		spool_file(dir, 1, "ymb", path, sizeof(path));
		assert_int_equal(util_write_file(path, b.data, b.len, 0600), 0);
		buf_free(&b);
	}
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	put_batch(sp, 3, 3);
	put_batch(sp, 6, 2);
	put_batch(sp, 10, 4);
	/* a seq that does not increase is refused, within a batch too */
	{
		struct buf b;
		make_batch(&b, 5, 1);
		assert_int_equal(spool_put(sp, b.data, b.len, 5, 5, 1), YM_E_INVAL);
		assert_int_equal(spool_put(sp, b.data, b.len, 12, 12, 1), YM_E_INVAL);
		buf_free(&b);
	}
	/* the three went to one segment, named after its first batch */
	spool_file(dir, 3, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	spool_file(dir, 6, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	spool_close(sp);
	assert_int_equal(spool_inspect(dir, &it), 0);
	assert_int_equal(it.count, 4);
	assert_int_equal(it.first_seq, 1);
	assert_int_equal(it.last_seq, 13);

	/* a leftover temp file (of an agent before segments) is removed on open */
	snprintf(path, sizeof(path), "%s/%020d.ymb.tmp", dir, 99);
	assert_int_equal(util_write_file(path, "x", 1, 0600), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(access(path, F_OK), -1);

	/* resumed oldest first; the one-batch file's last seq learned from it */
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 1);
	assert_int_equal(it.last_seq, 2);
	assert_int_equal(it.count, 2);
	free(data);
	/* a failed send keeps it first in line */
	spool_release(sp, 1);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 1);
	free(data);
	assert_int_equal(spool_ack(sp, 1), 0);
	spool_file(dir, 1, "ymb", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 3);
	assert_int_equal(it.last_seq, 5);
	assert_int_equal(it.count, 3);
	free(data);
	assert_int_equal(spool_ack(sp, 3), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 6);
	assert_int_equal(it.last_seq, 7);
	free(data);
	/* rejected: copied aside as a batch of its own, never handed out again */
	assert_int_equal(spool_reject(sp, 6), 0);
	spool_file(dir, 6, "ymb", path, sizeof(path));
	snprintf(path, sizeof(path), "%s/rejected/%020d.ymb", dir, 6);
	assert_int_equal(util_read_file(path, BATCH_MAX_WIRE, &text, &tn), 0);
	assert_int_equal(batch_decode((const uint8_t *)text, tn, &bt, NULL, 0), 0);
	assert_int_equal(bt.first_seq, 6);
	assert_int_equal(bt.count, 2);
	batch_free(&bt);
	free(text);
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.rejected_batches, 1);
	assert_int_equal(d.rejected_events, 2);
	assert_int_equal(d.events, 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 10);
	assert_int_equal(it.last_seq, 13);
	free(data);
	/* the last of the resumed segment: the file goes */
	spool_file(dir, 3, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(spool_ack(sp, 10), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(spool_next(sp, 10, &it, &data, &n), YM_E_NOTFOUND);
	spool_close(sp);
	assert_int_equal(spool_inspect(dir, &it), 0);
	assert_int_equal(it.count, 0);
}

/* Writes text (len bytes) as the segment named seq in dir and opens the
 * spool there: the file must be gone from dir. Returns 1 when it was set
 * aside in rejected/, 0 when deleted. */
static int segment_at_start(const char *dir, uint64_t seq, const char *text, size_t len)
{
	char path[400];
	struct spool *sp;
	int aside;

	spool_file(dir, seq, "yms", path, sizeof(path));
	assert_int_equal(util_write_file(path, text, len, 0600), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/rejected/%020llu.yms", dir, (unsigned long long)seq);
	aside = access(path, F_OK) == 0;
	spool_close(sp);
	return aside;
}

/* Segments: a full one is followed by the next; what was acknowledged or
 * dropped is not resumed; a record a crash cut short is found and set
 * aside; a clean stop with nothing left leaves no segment behind. */
static void test_spool_segments(void **state)
{
	char dir[300], path[400];
	struct spool *sp;
	struct spool_item it;
	struct spool_drops d;
	uint8_t *data;
	size_t n, one = batch_size(1);
	(void)state;

	subdir("spool-segments", dir, sizeof(dir));
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	/* room for two records of one event (header 8, record header 32) */
	spool_set_segment_bytes(sp, 8 + 2 * (32 + one));
	for (uint64_t s = 1; s <= 5; s++)
		put_batch(sp, s, 1);
	spool_file(dir, 1, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	spool_file(dir, 3, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	spool_file(dir, 5, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	spool_file(dir, 2, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	/* both batches of the first segment sent: it goes */
	for (uint64_t s = 1; s <= 3; s++) {
		assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
		assert_int_equal(it.first_seq, s);
		free(data);
		assert_int_equal(spool_ack(sp, s), 0);
	}
	spool_file(dir, 1, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(spool_inspect(dir, &it), 0);
	assert_int_equal(it.count, 2);
	assert_int_equal(it.first_seq, 4);
	assert_int_equal(it.last_seq, 5);
	spool_close(sp);

	/* resumed: 3 was acknowledged, so 4 comes first; a record cut short
	 * after 5 (its header whole, its batch not: the checksum tells) is
	 * counted as rejected, and a header cut short after it is ignored */
	spool_file(dir, 5, "yms", path, sizeof(path));
	{
		uint8_t torn[32 + 100 + 10];
		int fd = open(path, O_WRONLY | O_APPEND);

		memset(torn, 0, sizeof(torn));
		memcpy(torn, "YMR1", 4);
		torn[4] = 100; /* length */
		torn[12] = 1;  /* count */
		torn[16] = 6;  /* first */
		torn[24] = 6;  /* last */
		memcpy(torn + 132, "YMR1", 4);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, torn, sizeof(torn)), (ssize_t)sizeof(torn));
		close(fd);
	}
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 4);
	free(data);
	assert_int_equal(spool_ack(sp, 4), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 5);
	free(data);
	assert_int_equal(spool_ack(sp, 5), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), YM_E_NOTFOUND);
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.rejected_batches, 1);
	assert_int_equal(d.rejected_events, 1);
	/* nothing of it left: gone */
	assert_int_equal(access(path, F_OK), -1);
	/* a put after a start goes to a new segment; sent, then a clean stop
	 * leaves none */
	put_batch(sp, 7, 1);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	free(data);
	assert_int_equal(spool_ack(sp, 7), 0);
	spool_file(dir, 7, "yms", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	spool_close(sp);
	assert_int_equal(access(path, F_OK), -1);

	/* a batch dropped at the cap is not resumed either */
	assert_int_equal(spool_open(dir, 2 * one, 100, &sp), 0);
	put_batch(sp, 8, 1);
	put_batch(sp, 9, 1);
	put_batch(sp, 10, 1); /* drops 8 */
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.first_seq, 8);
	spool_close(sp);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 9);
	free(data);
	assert_int_equal(spool_take_drops(sp, &d), 0);
	spool_close(sp);

	/* a segment a crash cut short at its start (no record, not even its
	 * header) is deleted, not set aside; a file that is no segment is set
	 * aside */
	assert_int_equal(segment_at_start(dir, 40, "YMS", 3), 0);
	assert_int_equal(segment_at_start(dir, 50, "not a segment", 13), 1);
}

static void test_spool_cap_drops_oldest(void **state)
{
	char dir[300];
	struct spool *sp;
	struct spool_item it;
	struct spool_drops d;
	struct spool_stats st;
	uint8_t *data;
	size_t n, one = batch_size(2);
	(void)state;

	subdir("spool-cap", dir, sizeof(dir));
	/* room for exactly three batches of two events */
	assert_int_equal(spool_open(dir, 3 * one, 100, &sp), 0);
	put_batch(sp, 1, 2);
	put_batch(sp, 3, 2);
	put_batch(sp, 5, 2);
	assert_int_equal(spool_take_drops(sp, &d), 0);
	put_batch(sp, 7, 2); /* drops 1..2 */
	put_batch(sp, 9, 2); /* drops 3..4 */
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.events, 4);
	assert_int_equal(d.batches, 2);
	assert_int_equal(d.first_seq, 1);
	assert_int_equal(d.last_seq, 4);
	assert_int_equal(spool_take_drops(sp, &d), 0); /* the tally was handed over */
	spool_stats(sp, &st);
	assert_int_equal(st.files, 3);
	assert_true(st.bytes <= 3 * one);

	/* the batch being sent is never the one dropped: the next oldest is */
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 5);
	free(data);
	put_batch(sp, 11, 2);
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.first_seq, 7);
	assert_int_equal(d.last_seq, 8);
	assert_int_equal(d.events, 2);
	assert_int_equal(spool_ack(sp, 5), 0);
	spool_close(sp);

	/* resumed with a smaller cap: the oldest go at once, counted from the files */
	assert_int_equal(spool_open(dir, one, 100, &sp), 0);
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.events, 2);
	assert_int_equal(d.first_seq, 9);
	assert_int_equal(d.last_seq, 10);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 11);
	free(data);
	spool_close(sp);

	/* the file-count cap works the same way */
	subdir("spool-files", dir, sizeof(dir));
	assert_int_equal(spool_open(dir, 1 << 20, 2, &sp), 0);
	put_batch(sp, 1, 1);
	put_batch(sp, 2, 1);
	put_batch(sp, 3, 1);
	assert_int_equal(spool_take_drops(sp, &d), 1);
	assert_int_equal(d.first_seq, 1);
	assert_int_equal(d.last_seq, 1);
	spool_close(sp);
}

static void test_spool_corrupt_file(void **state)
{
	char dir[300], path[400];
	struct spool *sp;
	struct spool_item it;
	uint8_t *data;
	size_t n;
	(void)state;

	subdir("spool-corrupt", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%020d.ymb", dir, 1);
	assert_int_equal(util_write_file(path, "YMB1garbage", 11, 0600), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	put_batch(sp, 5, 1);
	/* the unreadable one is set aside, the good one comes next */
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 5);
	free(data);
	snprintf(path, sizeof(path), "%s/rejected/%020d.ymb", dir, 1);
	assert_int_equal(access(path, F_OK), 0);
	spool_close(sp);
}

static void test_seq_persistence(void **state)
{
	char dir[300], path[400];
	struct seqgen *sg;
	uint64_t s, last = 0;
	char *text;
	size_t len;
	(void)state;

	subdir("seq", dir, sizeof(dir));
	assert_int_equal(seqgen_open(dir, "seq", 10, &sg), 0);
	for (int i = 0; i < 25; i++) {
		assert_int_equal(seqgen_next(sg, &s), 0);
		assert_int_equal(s, (uint64_t)i + 1);
		last = s;
	}
	/* the reservation on disk is always ahead of what was handed out */
	snprintf(path, sizeof(path), "%s/seq", dir);
	assert_int_equal(util_read_file(path, 64, &text, &len), 0);
	assert_string_equal(text, "31\n");
	free(text);
	seqgen_close(sg); /* like a crash: nothing more is written at close */

	assert_int_equal(seqgen_open(dir, "seq", 10, &sg), 0);
	assert_int_equal(seqgen_next(sg, &s), 0);
	assert_true(s > last);
	assert_int_equal(s, 31);
	/* a clean stop gives the rest of the block back: no gap next run */
	assert_int_equal(seqgen_release(sg), 0);
	seqgen_close(sg);
	assert_int_equal(seqgen_open(dir, "seq", 10, &sg), 0);
	assert_int_equal(seqgen_next(sg, &s), 0);
	assert_int_equal(s, 32);
	seqgen_close(sg);

	/* unwritable directory: no number is handed out */
	if (geteuid() != 0) {
		subdir("seq-ro", dir, sizeof(dir));
		assert_int_equal(seqgen_open(dir, "seq", 10, &sg), 0);
		chmod(dir, 0500);
		assert_int_equal(seqgen_next(sg, &s), YM_E_IO);
		chmod(dir, 0700);
		seqgen_close(sg);
	}
	/* garbage in the file is refused rather than restarting at 1 */
	snprintf(path, sizeof(path), "%s/seq-bad", tmpdir);
	assert_int_equal(util_write_file(path, "12x\n", 4, 0600), 0);
	assert_int_equal(seqgen_open(tmpdir, "seq-bad", 10, &sg), YM_E_INVAL);
}

static void sha256_of(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len;
	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

/* ctrimage: a container's image from its runtime's files (Docker's
 * config.v2.json as Docker 20.10 writes it, with fewer keys; the OCI
 * config.json of a containerd CRI container and of a CRI-O one) */
static void ct_put(const char *rel, const char *text)
{
	char path[600], dir[600], *slash;

	snprintf(path, sizeof(path), "%s/ctr%s", tmpdir, rel);
	util_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	*slash = '\0';
	assert_int_equal(util_mkdirs(dir, 0700), 0);
	assert_int_equal(util_write_file(path, text, strlen(text), 0600), 0);
}

/* the image ctrimage_get names, or NULL */
static const char *ct_img(struct ctrimage *c, const char *id, uint64_t t)
{
	const struct ctrimage_info *in = ctrimage_get(c, id, t);

	return in ? in->image : NULL;
}

static void test_ctrimage(void **state)
{
	static const char d[] = "c4edf15e94972acaa67febc22c81cbb635dd72e4a6321ec0fb5c18445cf7d112";
	static const char k[] = "655b0ad6e26c0403c00ef9ab69c399e4e86f92d6bd3ad22a286849bf310b31f3";
	static const char o[] = "438e2ba9d5970597608a7df68ae72f6085a1460f976f964ed5f369c793eaa4fe";
	static const char late[] =
	    "0000000000000000000000000000000000000000000000000000000000000001";
	char root[500], path[700], id[65];
	struct ctrimage *c;
	const struct ctrimage_info *in;
	uint64_t t = 1000000000ull;
	(void)state;

	snprintf(root, sizeof(root), "%s/ctr", tmpdir);
	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", d);
	ct_put(path, "{\"StreamConfig\":{},\"State\":{\"Running\":true,\"Pid\":9822},"
		     "\"ID\":\"c4edf15e\",\"Path\":\"/busybox\",\"Args\":[\"sh\"],"
		     "\"Config\":{\"Hostname\":\"c4edf15e9497\",\"Env\":[\"PATH=/bin\"],"
		     "\"Cmd\":[\"/busybox\",\"sh\"],\"Image\":\"yamori-test/bb:1\","
		     "\"Labels\":{}},\"Image\":\"sha256:e8532ae8368579b395b84f103e5b7ab4e4"
		     "339ebbb1fa01906f4b82a54a1ea3d3\",\"Name\":\"/priceless_mclaren\"}");
	snprintf(path, sizeof(path),
		 "/run/containerd/io.containerd.runtime.v2.task/k8s.io/%s/config.json", k);
	ct_put(path,
	       "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"/manager\"]},"
	       "\"annotations\":{\"io.kubernetes.cri.container-name\":\"operator\","
	       "\"io.kubernetes.cri.container-type\":\"container\","
	       "\"io.kubernetes.cri.sandbox-name\":\"bpfman-operator-7d8f9c-x2lqz\","
	       "\"io.kubernetes.cri.sandbox-namespace\":\"bpfman\","
	       "\"io.kubernetes.cri.image-name\":\"quay.io/bpfman/bpfman-operator:latest\"}}");
	snprintf(path, sizeof(path),
		 "/run/containers/storage/overlay-containers/%s/userdata/config.json", o);
	ct_put(path, "{\"ociVersion\":\"1.0.2\",\"annotations\":{"
		     "\"io.kubernetes.cri-o.ContainerType\":\"container\","
		     "\"io.kubernetes.container.name\":\"coredns\","
		     "\"io.kubernetes.pod.name\":\"coredns-6d4b75cb6d-8vq2m\","
		     "\"io.kubernetes.pod.namespace\":\"kube-system\","
		     "\"io.kubernetes.cri-o.ImageName\":\"k8s.gcr.io/coredns/coredns:v1.8.6\"}}");

	assert_int_equal(ctrimage_new(root, &c), 0);
	assert_string_equal(ct_img(c, d, t), "yamori-test/bb:1");
	assert_string_equal(ct_img(c, k, t), "quay.io/bpfman/bpfman-operator:latest");
	assert_string_equal(ct_img(c, o, t), "k8s.gcr.io/coredns/coredns:v1.8.6");
	/* the container's name (Docker's without its '/'), and a Kubernetes
	 * container's pod and namespace */
	in = ctrimage_get(c, d, t);
	assert_string_equal(in->name, "priceless_mclaren");
	assert_null(in->pod);
	assert_null(in->pod_namespace);
	in = ctrimage_get(c, k, t);
	assert_string_equal(in->name, "operator");
	assert_string_equal(in->pod, "bpfman-operator-7d8f9c-x2lqz");
	assert_string_equal(in->pod_namespace, "bpfman");
	in = ctrimage_get(c, o, t);
	assert_string_equal(in->name, "coredns");
	assert_string_equal(in->pod, "coredns-6d4b75cb6d-8vq2m");
	assert_string_equal(in->pod_namespace, "kube-system");
	/* found once, kept: the file gone does not matter */
	snprintf(path, sizeof(path), "%s/var/lib/docker/containers/%s/config.v2.json", root, d);
	assert_int_equal(unlink(path), 0);
	assert_string_equal(ct_img(c, d, t + 1), "yamori-test/bb:1");

	/* not an id: never a path (a file where "../" would lead) */
	ct_put("/x/config.v2.json", "{\"Config\":{\"Image\":\"traversal\"}}");
	assert_null(ctrimage_get(c, "../../../../x", t));
	assert_null(
	    ctrimage_get(c, "C4EDF15E94972ACAA67FEBC22C81CBB635DD72E4A6321EC0FB5C18445CF7D112", t));
	assert_null(
	    ctrimage_get(c, "c4edf15e94972acaa67febc22c81cbb635dd72e4a6321ec0fb5c18445cf7d11", t));

	/* unknown, then written: asked again only after the retry interval */
	assert_null(ctrimage_get(c, late, t));
	snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json", late);
	ct_put(path, "{\"Config\":{\"Image\":\"alpine:3.20\",\"Labels\":{"
		     "\"io.kubernetes.pod.name\":\"web-0\",\"io.kubernetes.pod.namespace\":"
		     "\"shop\"}},\"Name\":\"/k8s_web_web-0_shop_0\"}");
	assert_null(ctrimage_get(c, late, t + CTRIMAGE_RETRY_NS - 1));
	assert_string_equal(ct_img(c, late, t + CTRIMAGE_RETRY_NS), "alpine:3.20");
	in = ctrimage_get(c, late, t + CTRIMAGE_RETRY_NS);
	assert_string_equal(in->name, "k8s_web_web-0_shop_0"); /* dockershim's labels */
	assert_string_equal(in->pod, "web-0");
	assert_string_equal(in->pod_namespace, "shop");

	/* what is not a name is not taken: not a string, a control
	 * character, malformed JSON, too long */
	{
		static const char *const bad[] = {
		    "{\"Config\":{\"Image\":42}}",
		    "{\"Config\":{\"Image\":\"evil\\nname\"}}",
		    "{\"Config\":{\"Image\":\"trunc",
		    "{\"Config\":\"alpine\"}",
		    "[1,2]",
		    "{\"Name\":\"/\",\"Config\":{\"Labels\":{\"io.kubernetes.pod.name\":[\"x\"]}}}",
		    "{\"Name\":\"tab\\there\"}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(id, sizeof(id), "%064zx", i + 16);
			snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json",
				 id);
			ct_put(path, bad[i]);
			assert_null(ctrimage_get(c, id, t));
		}
		{
			char big[400];

			memset(big, 'a', sizeof(big));
			memcpy(big, "{\"Config\":{\"Image\":\"", 20);
			memcpy(big + sizeof(big) - 5, "\"}}", 4);
			snprintf(id, sizeof(id), "%064x", 99);
			snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/config.v2.json",
				 id);
			ct_put(path, big);
			assert_null(ctrimage_get(c, id, t));
		}
	}

	/* more ids than the cache holds: the least recently used goes, and
	 * is read again when asked */
	for (unsigned i = 0; i < CTRIMAGE_MAX + 8; i++) {
		snprintf(id, sizeof(id), "%064x", 1000 + i);
		(void)ctrimage_get(c, id, t);
		(void)ctrimage_get(c, k, t); /* k stays recent */
	}
	assert_string_equal(ct_img(c, k, t), "quay.io/bpfman/bpfman-operator:latest");
	snprintf(path, sizeof(path),
		 "%s/run/containers/storage/overlay-containers/%s/userdata/config.json", root, o);
	assert_int_equal(unlink(path), 0);
	assert_null(ctrimage_get(c, o, t)); /* evicted, its file gone: not known now */
	ctrimage_free(c);
}

static void test_hashcache(void **state)
{
	char path[400];
	struct hashcache *hc;
	struct hashcache_stats st;
	uint8_t sha[32], want[32];
	struct timespec ts[2];
	int hit = -1, fd;
	(void)state;

	snprintf(path, sizeof(path), "%s/bin-a", tmpdir);
	assert_int_equal(util_write_file(path, "hello world", 11, 0755), 0);
	assert_int_equal(hashcache_new(4, 1 << 20, &hc), 0);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	sha256_of("hello world", 11, want);
	assert_memory_equal(sha, want, 32);
	assert_int_equal(hit, 0);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	assert_int_equal(hit, 1);
	assert_memory_equal(sha, want, 32);

	/* same size, new content, new mtime: a miss with the new hash */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "HELLO", 5, 0), 5);
	close(fd);
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	assert_int_equal(hit, 0);
	sha256_of("HELLO world", 11, want);
	assert_memory_equal(sha, want, 32);
	/* mtime changed again (content the same): a miss, not a stale hit */
	ts[0].tv_sec = ts[1].tv_sec = 1000000001;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	assert_int_equal(hit, 0);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), 0);
	assert_int_equal(hit, 1);

	/* over the size limit: no hash (a sparse file costs no disk) */
	snprintf(path, sizeof(path), "%s/bin-big", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (1 << 20) + 1), 0);
	close(fd);
	assert_int_equal(hashcache_path(hc, path, sha, &hit), YM_E_TOOBIG);
	/* not a regular file */
	assert_int_equal(hashcache_path(hc, tmpdir, sha, &hit), YM_E_INVAL);
	assert_int_equal(hashcache_path(hc, "/nonexistent/x", sha, &hit), YM_E_NOTFOUND);

	/* the cap: five files through a four-entry cache evict the oldest */
	for (int i = 0; i < 5; i++) {
		char p[400], c = (char)('0' + i);
		snprintf(p, sizeof(p), "%s/small-%d", tmpdir, i);
		assert_int_equal(util_write_file(p, &c, 1, 0644), 0);
		assert_int_equal(hashcache_path(hc, p, sha, &hit), 0);
	}
	hashcache_stats(hc, &st);
	assert_int_equal(st.entries, 4);
	{
		char p[400];
		snprintf(p, sizeof(p), "%s/small-0", tmpdir);
		assert_int_equal(hashcache_path(hc, p, sha, &hit), 0);
		assert_int_equal(hit, 0);
		snprintf(p, sizeof(p), "%s/small-4", tmpdir);
		assert_int_equal(hashcache_path(hc, p, sha, &hit), 0);
		assert_int_equal(hit, 1);
	}
	/* the running image of this very process through /proc/self/exe */
	hashcache_free(hc);
	assert_int_equal(hashcache_new(4, HASHCACHE_MAX_FILE, &hc), 0);
	assert_int_equal(hashcache_path(hc, "/proc/self/exe", sha, &hit), 0);
	assert_int_equal(hit, 0);
	hashcache_free(hc);
}

static void test_nonce_store(void **state)
{
	char path[400];
	struct nonce_store *ns;
	const char *a = "00112233445566778899aabbccddeeff";
	const char *b = "ffeeddccbbaa99887766554433221100";
	const char *c = "0123456789abcdef0123456789abcdef";
	(void)state;

	snprintf(path, sizeof(path), "%s/nonces", tmpdir);
	assert_int_equal(nonce_open(path, 2, 1000, &ns), 0);
	assert_int_equal(nonce_use(ns, a, 1100, 1000), 0);
	assert_int_equal(nonce_use(ns, a, 1100, 1000), YM_E_REPLAY);
	/* same nonce in upper case is the same nonce */
	assert_int_equal(nonce_use(ns, "00112233445566778899AABBCCDDEEFF", 1100, 1000),
			 YM_E_REPLAY);
	assert_int_equal(nonce_use(ns, b, 1300, 1000), 0);
	/* full of live nonces: refuse, do not forget */
	assert_int_equal(nonce_use(ns, c, 1300, 1000), YM_E_TOOBIG);
	assert_int_equal(nonce_use(ns, "xyz", 1300, 1000), YM_E_INVAL);
	assert_int_equal(nonce_use(ns, c, 900, 1000), YM_E_INVAL); /* already expired */
	nonce_close(ns);

	/* persisted: a restart still refuses the replay */
	assert_int_equal(nonce_open(path, 2, 1050, &ns), 0);
	assert_int_equal(nonce_count(ns), 2);
	assert_int_equal(nonce_use(ns, a, 1100, 1050), YM_E_REPLAY);
	/* after a's expiry its slot is free again */
	assert_int_equal(nonce_use(ns, c, 1300, 1100), 0);
	assert_int_equal(nonce_count(ns), 2);
	nonce_close(ns);
	/* reopened after b and c expired: empty */
	assert_int_equal(nonce_open(path, 2, 1300, &ns), 0);
	assert_int_equal(nonce_count(ns), 0);
	nonce_close(ns);
}

static void test_proctable(void **state)
{
	struct proctable *t;
	const struct proc_entry *e;
	(void)state;

	assert_int_equal(proctable_new(3, 1 << 20, 1000, &t), 0);
	assert_int_equal(
	    proctable_put(t, 100, 50, 1, PROCTABLE_UID_NONE, "g-100", "/bin/bash", 9, "bash -i", 7),
	    0);
	/* pid 100 exits, then the pid is reused by a later process */
	assert_non_null(proctable_exit(t, 100, 5000, 0));
	assert_int_equal(
	    proctable_put(t, 100, 90, 1, PROCTABLE_UID_NONE, "g-100b", "/bin/sh", 7, "sh", 2), 0);
	/* a child started at 60 had the old 100 as parent; one started at 95 the new */
	e = proctable_find(t, 100, 60);
	assert_non_null(e);
	assert_string_equal(e->image, "/bin/bash");
	assert_string_equal(e->cmdline, "bash -i");
	assert_string_equal(e->guid, "g-100");
	e = proctable_find(t, 100, 95);
	assert_string_equal(e->image, "/bin/sh");
	assert_null(proctable_find(t, 100, 10));
	/* exited entries go after the retention, live ones stay */
	assert_int_equal(proctable_expire(t, 5500), 0);
	assert_int_equal(proctable_expire(t, 6000), 1);
	assert_null(proctable_find(t, 100, 60));
	assert_non_null(proctable_find(t, 100, UINT64_MAX));
	/* the count cap evicts the least recently used */
	assert_int_equal(proctable_put(t, 200, 1, 1, PROCTABLE_UID_NONE, NULL, "/a", 2, "a", 1), 0);
	assert_int_equal(proctable_put(t, 300, 1, 1, PROCTABLE_UID_NONE, NULL, "/b", 2, "b", 1), 0);
	assert_non_null(proctable_find(t, 100, UINT64_MAX)); /* touch 100 */
	assert_int_equal(proctable_put(t, 400, 1, 1, PROCTABLE_UID_NONE, NULL, "/c", 2, "c", 1), 0);
	assert_int_equal(proctable_count(t), 3);
	assert_null(proctable_find(t, 200, UINT64_MAX));
	assert_non_null(proctable_find(t, 100, UINT64_MAX));
	assert_int_equal(proctable_evictions(t), 1);
	proctable_free(t);

	/* a find spares an entry once (second chance), not for good */
	assert_int_equal(proctable_new(2, 1000, 1000, &t), 0);
	assert_int_equal(proctable_put(t, 10, 1, 1, PROCTABLE_UID_NONE, NULL, "/a", 2, "a", 1), 0);
	assert_int_equal(proctable_put(t, 11, 1, 1, PROCTABLE_UID_NONE, NULL, "/b", 2, "b", 1), 0);
	assert_non_null(proctable_find(t, 10, UINT64_MAX));
	assert_int_equal(proctable_put(t, 12, 1, 1, PROCTABLE_UID_NONE, NULL, "/c", 2, "c", 1), 0);
	assert_int_equal(proctable_count(t), 2);
	assert_int_equal(proctable_evictions(t), 1);
	assert_int_equal(proctable_put(t, 13, 1, 1, PROCTABLE_UID_NONE, NULL, "/d", 2, "d", 1), 0);
	assert_int_equal(proctable_evictions(t), 2);
	assert_non_null(proctable_find(t, 12, UINT64_MAX));
	assert_non_null(proctable_find(t, 13, UINT64_MAX));
	assert_null(proctable_find(t, 10, UINT64_MAX)); /* spared once, then the oldest */
	assert_null(proctable_find(t, 11, UINT64_MAX));
	proctable_free(t);

	/* the byte cap */
	assert_int_equal(proctable_new(100, 20, 1000, &t), 0);
	assert_int_equal(proctable_put(t, 1, 1, 0, PROCTABLE_UID_NONE, NULL, "/x", 2,
				       "0123456789012345678901", 22),
			 YM_E_TOOBIG);
	assert_int_equal(
	    proctable_put(t, 1, 1, 0, PROCTABLE_UID_NONE, NULL, "/x", 2, "01234567", 8), 0);
	assert_int_equal(
	    proctable_put(t, 2, 1, 0, PROCTABLE_UID_NONE, NULL, "/y", 2, "01234567", 8), 0);
	assert_int_equal(proctable_count(t), 1);
	proctable_free(t);

	/* an exec keeps what ran before (for events older than it, read after
	 * it), counted in the byte cap; a put without exec drops it; an exit
	 * keeps its time */
	assert_int_equal(proctable_new(4, 100, 1000, &t), 0);
	assert_int_equal(
	    proctable_put(t, 5, 1, 1, PROCTABLE_UID_NONE, "g-5", "/bin/sh", 7, "sh", 2), 0);
	e = proctable_find(t, 5, UINT64_MAX);
	assert_null(e->prev_image);
	assert_int_equal(e->exec_ts, 0);
	assert_int_equal(proctable_put_fork(t, 6, 2, 5, "g-6", e), 0);
	assert_int_equal(
	    proctable_exec(t, 6, 2, 5, 0, "g-6", "/usr/bin/id", 11, "id -u", 5, NULL, 900), 0);
	e = proctable_find(t, 6, UINT64_MAX);
	assert_string_equal(e->image, "/usr/bin/id");
	assert_string_equal(e->prev_image, "/bin/sh"); /* the parent's, shared */
	assert_string_equal(e->prev_cmdline, "sh");
	assert_int_equal(e->prev_image_len, 7);
	assert_int_equal(e->exec_ts, 900);
	assert_int_equal(proctable_exec(t, 6, 2, 5, 0, "g-6", "/tmp/p", 6, "p", 1, NULL, 950), 0);
	e = proctable_find(t, 6, UINT64_MAX);
	assert_string_equal(e->prev_image, "/usr/bin/id");
	assert_string_equal(e->prev_cmdline, "id -u");
	assert_int_equal(e->exec_ts, 950);
	assert_non_null(proctable_exit(t, 6, 10, 990));
	assert_int_equal(proctable_find(t, 6, UINT64_MAX)->exit_ts, 990);
	/* 100 bytes, 11 of them sh's entry: an exec of 84 bytes of strings
	 * does not fit with the 9 before it (/tmp/p), and drops them */
	assert_int_equal(proctable_exec(t, 6, 2, 5, 0, "g-6", "/x", 2,
					"0123456789012345678901234567890123456789012345678901"
					"2345678901234567890123456789",
					80, NULL, 999),
			 0);
	e = proctable_find(t, 6, UINT64_MAX);
	assert_null(e->prev_image);
	assert_int_equal(e->exec_ts, 999);
	assert_int_equal(e->exit_ts, 0); /* alive again */
	assert_int_equal(proctable_put(t, 6, 2, 5, 0, "g-6", "/y", 2, "y", 1), 0);
	e = proctable_find(t, 6, UINT64_MAX);
	assert_null(e->prev_image);
	assert_int_equal(e->exec_ts, 0);
	assert_int_equal(proctable_count(t), 2);
	proctable_free(t);

	/* the container: stored with the strings (counted in the byte cap),
	 * inherited by a forked child, replaced by an exec, none from a put */
	{
		const char *c1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		const char *c2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
		char c65[66];

		memset(c65, 'a', 65);
		c65[65] = 0;
		t = NULL; /* freed above */
		/* 11 + 65 bytes an entry (shared by the fork, counted for
		 * each); 9's exec keeps what ran before only if 76 (8) + 76 +
		 * 76 (9's exec and what ran before) fit: 228 */
		for (size_t cap = 227; cap <= 228; cap++) {
			proctable_free(t);
			assert_int_equal(proctable_new(4, cap, 1000, &t), 0);
			assert_int_equal(
			    proctable_exec(t, 8, 1, 1, 0, "g-8", "/bin/sh", 7, "sh", 2, c1, 0), 0);
			e = proctable_find(t, 8, UINT64_MAX);
			assert_string_equal(e->container_id, c1);
			assert_string_equal(e->cmdline, "sh");
			assert_int_equal(proctable_put_fork(t, 9, 2, 8, "g-9", e), 0);
			assert_string_equal(proctable_find(t, 9, UINT64_MAX)->container_id, c1);
			assert_int_equal(
			    proctable_exec(t, 9, 2, 8, 0, "g-9", "/bin/id", 7, "id", 2, c2, 5), 0);
			e = proctable_find(t, 9, UINT64_MAX);
			assert_string_equal(e->container_id, c2);
			if (cap == 227)
				assert_null(e->prev_image);
			else
				assert_string_equal(e->prev_image, "/bin/sh");
			assert_string_equal(proctable_find(t, 8, UINT64_MAX)->container_id, c1);
		}
		assert_int_equal(proctable_put(t, 9, 2, 8, 0, "g-9", "/bin/id", 7, "id", 2), 0);
		assert_null(proctable_find(t, 9, UINT64_MAX)->container_id);
		assert_int_equal(proctable_exec(t, 10, 3, 1, 0, "g-10", "/a", 2, "a", 1, "", 0), 0);
		assert_null(proctable_find(t, 10, UINT64_MAX)->container_id);
		assert_int_equal(proctable_exec(t, 11, 3, 1, 0, "g-11", "/a", 2, "a", 1, c65, 0),
				 YM_E_INVAL);
		assert_null(proctable_find(t, 11, UINT64_MAX));
		proctable_free(t);
	}

	/* the same key again (a forked child at its exec): replaced in place,
	 * strings, ppid and GUID new, alive again, the byte count kept exact */
	assert_int_equal(proctable_new(2, 40, 1000, &t), 0);
	assert_int_equal(
	    proctable_put(t, 7, 3, 1, PROCTABLE_UID_NONE, "g-fork", "/bin/sh", 7, "sh -c x", 7), 0);
	assert_non_null(proctable_exit(t, 7, 10, 0));
	e = proctable_find(t, 7, UINT64_MAX);
	assert_int_equal(
	    proctable_put(t, 7, 3, 2, PROCTABLE_UID_NONE, e->guid, "/usr/bin/x", 10, "x --y", 5),
	    0);
	assert_int_equal(proctable_count(t), 1);
	e = proctable_find(t, 7, UINT64_MAX);
	assert_non_null(e);
	assert_string_equal(e->image, "/usr/bin/x");
	assert_string_equal(e->cmdline, "x --y");
	assert_string_equal(e->guid, "g-fork");
	assert_int_equal(e->ppid, 2);
	assert_int_equal(e->exit_ns, 0);
	/* 17 bytes held of 40: another 17 fit, a third entry evicts the LRU */
	assert_int_equal(
	    proctable_put(t, 8, 1, 1, PROCTABLE_UID_NONE, NULL, "/a/b/c/d", 8, "abcdefg", 7), 0);
	assert_int_equal(proctable_count(t), 2);
	assert_int_equal(proctable_evictions(t), 0);
	/* growing 7's strings past the byte cap: 8 (least recent) goes */
	assert_non_null(proctable_find(t, 7, UINT64_MAX));
	assert_int_equal(proctable_put(t, 7, 3, 2, PROCTABLE_UID_NONE, NULL, "/usr/bin/longer-x",
				       17, "x --y --z", 9),
			 0);
	assert_int_equal(proctable_count(t), 1);
	assert_int_equal(proctable_evictions(t), 1);
	assert_null(proctable_find(t, 8, UINT64_MAX));
	assert_string_equal(proctable_find(t, 7, UINT64_MAX)->image, "/usr/bin/longer-x");
	proctable_free(t);

	/* a forked child shares its parent's strings: they outlive the
	 * parent's eviction and its exec, and the child's exec leaves the
	 * parent's alone (ASan sees any use after free) */
	assert_int_equal(proctable_new(2, 1 << 20, 1000, &t), 0);
	assert_int_equal(proctable_put(t, 10, 1, 1, 1000, "g-p", "/bin/bash", 9, "bash -l", 7), 0);
	e = proctable_find(t, 10, UINT64_MAX);
	assert_int_equal(e->uid, 1000);
	assert_int_equal(proctable_put_fork(t, 11, 2, 10, "g-c", e), 0);
	e = proctable_find(t, 11, UINT64_MAX);
	assert_int_equal(e->uid, 1000); /* the parent's */
	assert_string_equal(e->image, "/bin/bash");
	assert_string_equal(e->cmdline, "bash -l");
	assert_string_equal(e->guid, "g-c");
	assert_int_equal(e->ppid, 10);
	/* the parent execs (its strings replaced), then is evicted */
	assert_int_equal(
	    proctable_put(t, 10, 1, 1, PROCTABLE_UID_NONE, "g-p", "/usr/bin/vim", 12, "vim x", 5),
	    0);
	assert_string_equal(proctable_find(t, 11, UINT64_MAX)->image, "/bin/bash");
	assert_int_equal(proctable_put(t, 12, 3, 1, PROCTABLE_UID_NONE, NULL, "/x", 2, "x", 1), 0);
	assert_null(proctable_find(t, 10, UINT64_MAX));
	e = proctable_find(t, 11, UINT64_MAX);
	assert_string_equal(e->cmdline, "bash -l");
	/* a grandchild shares it too; the child's exec leaves it its own */
	assert_int_equal(proctable_put_fork(t, 13, 4, 11, NULL, e), 0);
	assert_int_equal(
	    proctable_put(t, 11, 2, 10, PROCTABLE_UID_NONE, "g-c", "/bin/ls", 7, "ls", 2), 0);
	assert_string_equal(proctable_find(t, 13, UINT64_MAX)->image, "/bin/bash");
	assert_string_equal(proctable_find(t, 11, UINT64_MAX)->image, "/bin/ls");
	assert_int_equal(proctable_count(t), 2); /* the cap held */
	/* a pointer that is no entry of the table is refused */
	{
		struct proc_entry fake = {0};

		assert_int_equal(proctable_put_fork(t, 14, 5, 1, NULL, &fake), YM_E_INVAL);
		assert_int_equal(proctable_put_fork(t, 14, 5, 1, NULL,
						    (const struct proc_entry *)((const char *)e + 8)),
				 YM_E_INVAL);
	}
	proctable_free(t);

	/* a parent looked up at each of its children's forks stays
	 * through a storm that evicts every one of them many times over */
	assert_int_equal(proctable_new(64, 1 << 20, 1000, &t), 0);
	assert_int_equal(proctable_put(t, 1000, 5, 1, PROCTABLE_UID_NONE, "g-parent", "/bin/sh", 7,
				       "sh storm", 8),
			 0);
	for (int32_t c = 0; c < 2000; c++) {
		assert_non_null(proctable_find(t, 1000, UINT64_MAX));
		assert_int_equal(
		    proctable_put(t, 2000 + c, 9, 1000, PROCTABLE_UID_NONE, NULL, "/x", 2, "x", 1),
		    0);
	}
	assert_int_equal(proctable_count(t), 64);
	assert_int_equal(proctable_evictions(t), 2000 + 1 - 64);
	e = proctable_find(t, 1000, UINT64_MAX);
	assert_non_null(e);
	assert_string_equal(e->guid, "g-parent");
	/* the newest children are there, the first ones gone */
	assert_non_null(proctable_find(t, 2000 + 1999, UINT64_MAX));
	assert_null(proctable_find(t, 2000, UINT64_MAX));
	proctable_free(t);

	/* a setuid call seen: the newest live entry of the pid takes the uid;
	 * an exited one, or a pid not known, is left */
	assert_int_equal(proctable_new(8, 1 << 20, 1000, &t), 0);
	assert_int_equal(proctable_put(t, 20, 1, 1, 0, NULL, "/sbin/d", 7, "d", 1), 0);
	assert_non_null(proctable_exit(t, 20, 10, 0));
	assert_int_equal(proctable_put(t, 20, 5, 1, 0, NULL, "/sbin/d", 7, "d -w", 4), 0);
	e = proctable_set_uid(t, 20, 33);
	assert_non_null(e);
	assert_int_equal(e->start_time, 5);
	assert_int_equal(proctable_find(t, 20, UINT64_MAX)->uid, 33);
	assert_int_equal(proctable_find(t, 20, 4)->uid, 0);
	assert_null(proctable_set_uid(t, 21, 33));
	assert_non_null(proctable_exit(t, 20, 20, 0));
	assert_null(proctable_set_uid(t, 20, 44));
	assert_int_equal(proctable_find(t, 20, UINT64_MAX)->uid, 33);
	proctable_free(t);
}

static void test_stat_parsing(void **state)
{
	struct procstat st;
	static const char evil[] =
	    "4242 (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 ) (b) S 77 1 1 0 -1 "
	    "4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 12345 200 18446744073709551615\n";
	static const char trunc[] = "4242 (sh) S 77 1 1 0 -1 4194560 100 0";
	uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
	static const char status[] = "Name:\tsh\nUmask:\t0022\nState:\tS\nUid:\t1000\t0\t0\t0\n"
				     "Gid:\t27\t27\t27\t27\n";
	char argv[] = "ls\0-l\0/tmp\0\0";
	(void)state;

	/* a comm full of ") (" cannot shift the fields: they start after the last ')' */
	assert_int_equal(procinfo_parse_stat(evil, sizeof(evil) - 1, &st), 0);
	assert_int_equal(st.pid, 4242);
	assert_int_equal(st.ppid, 77);
	assert_int_equal(st.flags, 4194560);
	assert_int_equal(st.start_time, 987654);
	assert_int_equal(st.tty_nr, 0); /* field 7 is 0: no terminal */
	{
		/* tty_nr of /dev/pts/3 (major 136, minor 3) */
		static const char tty[] =
		    "7 (sh) S 1 7 7 34819 7 4194560 0 0 0 0 0 0 0 0 20 0 1 0 55";

		assert_int_equal(procinfo_parse_stat(tty, sizeof(tty) - 1, &st), 0);
		assert_int_equal(st.tty_nr, 34819);
		assert_int_equal(st.start_time, 55);
	}
	assert_int_equal(procinfo_parse_stat(trunc, sizeof(trunc) - 1, &st), YM_E_PARSE);
	assert_int_equal(procinfo_parse_stat("", 0, &st), YM_E_PARSE);
	assert_int_equal(procinfo_parse_stat("12 (x", 5, &st), YM_E_PARSE);
	assert_int_equal(procinfo_parse_ids(status, sizeof(status) - 1, &uid, &gid, &euid, &egid),
			 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(euid, 0); /* a setuid-root program run by uid 1000 */
	assert_int_equal(gid, 27);
	assert_int_equal(egid, 27);
	/* a setgid program: the Gid line's second number */
	assert_int_equal(
	    procinfo_parse_ids("Uid:\t5\t5\nGid:\t5\t42\n", 19, &uid, &gid, &euid, &egid), 0);
	assert_int_equal(egid, 42);
	assert_int_equal(procinfo_parse_ids("Uid:\tx\n", 7, &uid, &gid, &euid, &egid), YM_E_PARSE);
	/* the effective uid missing, or not a number */
	assert_int_equal(procinfo_parse_ids("Uid:\t1\nGid:\t2\t2\n", 16, &uid, &gid, &euid, &egid),
			 YM_E_PARSE);
	assert_int_equal(procinfo_parse_ids("Uid:\t1\t-\nGid:\t2\n", 16, &uid, &gid, &euid, &egid),
			 YM_E_PARSE);
	assert_int_equal(procinfo_join_cmdline(argv, sizeof(argv) - 1), 10);
	assert_string_equal(argv, "ls -l /tmp");
}

/* Terminal names from /proc/tty/drivers' text, as the kernel names them */
static void test_tty_names(void **state)
{
	static const char drivers[] =
	    "/dev/tty             /dev/tty        5       0 system:/dev/tty\n"
	    "/dev/console         /dev/console    5       1 system:console\n"
	    "/dev/ptmx            /dev/ptmx       5       2 system\n"
	    "/dev/vc/0            /dev/vc/0       4       0 system:vtmaster\n"
	    "serial               /dev/ttyS       4 64-95 serial\n"
	    "pty_slave            /dev/pts      136 0-1048575 pty:slave\n"
	    "pty_master           /dev/ptm      128 0-1048575 pty:master\n"
	    "unknown              /dev/tty        4 1-63 console\n"
	    "broken               /dev/x        999999 1-2 x\n"
	    "reversed             /dev/y          7 9-3 x\n"
	    "short                /dev/z\n";
	struct procinfo_ttydrv tab[PROCINFO_TTY_DRIVERS];
	size_t n =
	    procinfo_parse_tty_drivers(drivers, sizeof(drivers) - 1, tab, PROCINFO_TTY_DRIVERS);
	char name[32];
	(void)state;

	/* vc/0 (two components) and the three malformed lines are skipped */
	assert_int_equal(n, 7);
	/* (major, minor) in stat's encoding: minor's low byte, major, rest */
#define TTYNR(ma, mi) (((mi)&0xffu) | ((uint32_t)(ma) << 8) | (((uint32_t)(mi) & ~0xffu) << 12))
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(136, 3), name, sizeof(name)), 4);
	assert_string_equal(name, "pts3");
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(136, 70000), name, sizeof(name)), 8);
	assert_string_equal(name, "pts70000");
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(4, 65), name, sizeof(name)), 5);
	assert_string_equal(name, "ttyS1");
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(4, 1), name, sizeof(name)), 4);
	assert_string_equal(name, "tty1");
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(5, 1), name, sizeof(name)), 7);
	assert_string_equal(name, "console");
	/* none, an unknown major, a minor outside every range, no room */
	assert_int_equal(procinfo_tty_name(tab, n, 0, name, sizeof(name)), 0);
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(200, 1), name, sizeof(name)), 0);
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(4, 100), name, sizeof(name)), 0);
	assert_int_equal(procinfo_tty_name(tab, n, TTYNR(136, 3), name, 4), 0);
	assert_int_equal(procinfo_parse_tty_drivers(drivers, sizeof(drivers) - 1, tab, 2), 2);
#undef TTYNR
}

/* A real child: sleep with a recognisable command line and cwd. */
static pid_t spawn_sleep(const char *cwd)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (chdir(cwd) < 0)
			_exit(127);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	/* wait until the exec has happened and finished: the kernel switches
	 * /proc/PID/exe before it sets up the new argument area, so the
	 * command line is checked too */
	for (int i = 0; i < 500; i++) {
		char path[64], link[256];
		ssize_t k;
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		k = readlink(path, link, sizeof(link) - 1);
		if (k > 0) {
			char *cl = NULL;
			size_t cn = 0;
			link[k] = 0;
			snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
			if (strstr(link, "sleep") && util_read_file(path, 4096, &cl, &cn) == 0 &&
			    cn > 0) {
				free(cl);
				return pid;
			}
			free(cl);
		}
		usleep(10000);
	}
	fail_msg("child did not exec");
	return -1;
}

static void test_proc_child(void **state)
{
	struct procinfo *pi = malloc(sizeof(*pi));
	char guid[ENRICH_GUID_LEN + 1], guid2[ENRICH_GUID_LEN + 1];
	pid_t pid;
	int status;
	(void)state;

	assert_non_null(pi);
	pid = spawn_sleep(tmpdir);
	assert_int_equal(procinfo_read(pid, pi), 0);
	assert_int_equal(pi->have & (PROCINFO_HAVE_STAT | PROCINFO_HAVE_IMAGE |
				     PROCINFO_HAVE_CMDLINE | PROCINFO_HAVE_CWD | PROCINFO_HAVE_IDS),
			 PROCINFO_HAVE_STAT | PROCINFO_HAVE_IMAGE | PROCINFO_HAVE_CMDLINE |
			     PROCINFO_HAVE_CWD | PROCINFO_HAVE_IDS);
	assert_string_equal(pi->image, "/usr/bin/sleep");
	assert_string_equal(pi->cmdline, "sleep 30");
	assert_int_equal(pi->cmdline_len, 8);
	assert_string_equal(pi->cwd, tmpdir);
	assert_int_equal(pi->st.pid, pid);
	assert_int_equal(pi->st.ppid, getpid());
	assert_int_equal(pi->uid, getuid());
	assert_int_equal(pi->gid, getgid());
	assert_true(pi->st.start_time > 0);
	/* the login session the child inherited: this process's, as the
	 * kernel prints it (4294967295 when unset); no audit support in the
	 * kernel: no such files */
	{
		uint32_t lu = 1, se = 1;
		char *t = NULL;
		size_t tn;
		int r = procinfo_read_login(pid, &lu, &se);

		if (util_read_file("/proc/self/loginuid", 64, &t, &tn) == 0) {
			char want[24];

			assert_int_equal(r, 0);
			snprintf(want, sizeof(want), "%u", lu);
			assert_int_equal(strlen(want), tn);
			assert_memory_equal(want, t, tn);
			free(t);
			assert_int_equal(util_read_file("/proc/self/sessionid", 64, &t, &tn), 0);
			snprintf(want, sizeof(want), "%u", se);
			assert_int_equal(strlen(want), tn);
			assert_memory_equal(want, t, tn);
			free(t);
		} else {
			assert_int_equal(r, YM_E_NOTFOUND);
		}
	}
	/* ProcessGuid: stable for the same process, different for another */
	assert_int_equal(enrich_guid("b0a1", pid, pi->st.start_time, guid), 0);
	assert_int_equal(enrich_guid("b0a1", pid, pi->st.start_time, guid2), 0);
	assert_string_equal(guid, guid2);
	assert_int_equal(strlen(guid), 36);
	assert_true(guid[8] == '-' && guid[13] == '-' && guid[18] == '-' && guid[23] == '-');
	assert_int_equal(enrich_guid("b0a1", pid, pi->st.start_time + 1, guid2), 0);
	assert_string_not_equal(guid, guid2);
	/* the formula is fixed (GUIDs must not change across agent versions):
	 * SHA-256("<boot_id>:<pid>:<start>"), first 16 bytes, 8-4-4-4-12 */
	assert_int_equal(enrich_guid("b0a1", 42, 1234, guid2), 0);
	assert_string_equal(guid2, "19a74326-3b5e-f602-911c-dfa51098ee9d");
	assert_int_equal(
	    enrich_guid("0f2e9c1a-aaaa-bbbb-cccc-0123456789ab", 4194304, UINT64_MAX, guid2), 0);
	assert_string_equal(guid2, "dbe4ba90-98e8-4ee4-d07b-eef8511b84b3");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* gone: nothing to read */
	assert_int_equal(procinfo_read(pid, pi), YM_E_NOTFOUND);
	{
		uint32_t lu, se;

		assert_int_equal(procinfo_read_login(pid, &lu, &se), YM_E_NOTFOUND);
	}
	free(pi);
}

static void test_kill(void **state)
{
	struct procstat st;
	char detail[256];
	pid_t pid;
	int status;
	(void)state;

	assert_int_equal(exec_kill(1, 1, 100, detail, sizeof(detail)), YM_E_INVAL);
	assert_int_equal(exec_kill(0, 1, 100, detail, sizeof(detail)), YM_E_INVAL);
	assert_int_equal(exec_kill(getpid(), 1, 100, detail, sizeof(detail)), YM_E_INVAL);
	assert_non_null(strstr(detail, "agent itself"));

	pid = spawn_sleep("/");
	assert_int_equal(procinfo_read_stat(pid, &st), 0);
	/* wrong start time: refused, nothing signalled */
	assert_int_equal(exec_kill(pid, st.start_time + 1, 100, detail, sizeof(detail)),
			 YM_E_STALE);
	assert_non_null(strstr(detail, "process changed (pid reused)"));
	usleep(50000);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still running */
	/* the right start time: killed, and the exit was seen */
	assert_int_equal(exec_kill(pid, st.start_time, EXEC_KILL_WAIT_MS, detail, sizeof(detail)),
			 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* and now there is no such process */
	assert_int_equal(exec_kill(pid, st.start_time, 100, detail, sizeof(detail)), YM_E_NOTFOUND);
}

static void test_batcher(void **state)
{
	char dir[300];
	struct seqgen *sg;
	struct spool *sp;
	struct batcher *b;
	struct spool_item it;
	struct batch bt;
	struct event ev;
	uint8_t *data;
	size_t n;
	char big[200];
	(void)state;

	subdir("batcher", dir, sizeof(dir));
	assert_int_equal(seqgen_open(dir, "seq", 100, &sg), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(batcher_new(sg, sp, 3, 1024, &b), 0);
	for (int i = 0; i < 4; i++) {
		char v[16];
		snprintf(v, sizeof(v), "%d", 1000 + i);
		event_init(&ev);
		ev.category = EVCAT_PROCESS_CREATION;
		ev.ts_ns = 42 + (uint64_t)i;
		event_set_str(&ev, "ProcessId", v);
		event_set_str(&ev, "Image", "/usr/bin/id");
		assert_int_equal(batcher_add(b, &ev), 0);
	}
	/* three made a full batch, spooled at once; one is pending */
	assert_int_equal(batcher_pending(b), 1);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 1);
	assert_int_equal(it.last_seq, 3);
	assert_int_equal(batch_decode(data, n, &bt, NULL, 0), 0);
	assert_int_equal(bt.count, 3);
	assert_int_equal(bt.events[2].seq, 3);
	assert_int_equal(bt.events[2].ts_ns, 44);
	assert_string_equal(event_get(&bt.events[2], "ProcessId", NULL), "1002");
	assert_string_equal(event_get(&bt.events[0], "Image", NULL), "/usr/bin/id");
	batch_free(&bt);
	free(data);
	assert_int_equal(spool_ack(sp, 1), 0);
	/* the byte cap flushes early; an event bigger than the cap is refused */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	for (int i = 0; i < 6; i++) {
		static char names[6][8];
		names[i][0] = 'F';
		names[i][1] = (char)('0' + i);
		names[i][2] = 0;
		event_set_str(&ev, names[i], big);
	}
	assert_int_equal(batcher_add(b, &ev), YM_E_TOOBIG);
	assert_int_equal(batcher_flush(b), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 4);
	assert_int_equal(it.count, 1);
	free(data);
	batcher_free(b);
	spool_close(sp);
	seqgen_close(sg);
}

/* Group commit: a put batch is not sendable before spool_sync (its record
 * is written, not yet flushed); more than SPOOL_PENDING_MAX waiting commits
 * the oldest; spool_close commits what waits. */
static void test_spool_group_commit(void **state)
{
	char dir[300];
	struct spool *sp;
	struct spool_item it;
	struct spool_stats st;
	uint8_t *data;
	size_t n;
	(void)state;

	subdir("spool-group", dir, sizeof(dir));
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	spool_set_group_commit(sp, 1);
	assert_int_equal(spool_pending_since(sp), 0);
	put_batch(sp, 1, 2);
	put_batch(sp, 3, 1);
	assert_true(spool_pending_since(sp) > 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), YM_E_NOTFOUND);
	spool_stats(sp, &st);
	assert_int_equal(st.put_batches, 0);
	spool_sync(sp);
	assert_int_equal(spool_pending_since(sp), 0);
	spool_stats(sp, &st);
	assert_int_equal(st.put_batches, 2);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 1);
	assert_int_equal(it.last_seq, 2);
	free(data);
	assert_int_equal(spool_ack(sp, 1), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 3);
	free(data);
	assert_int_equal(spool_ack(sp, 3), 0);
	/* more than SPOOL_PENDING_MAX waiting: the oldest are committed */
	for (int i = 0; i < SPOOL_PENDING_MAX + 1; i++)
		put_batch(sp, 100 + (uint64_t)i, 1);
	assert_true(spool_pending_since(sp) > 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 100);
	free(data);
	assert_int_equal(spool_ack(sp, 100), 0);
	/* close commits the rest */
	spool_close(sp);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 101);
	free(data);
	spool_stats(sp, &st);
	assert_int_equal(st.files, SPOOL_PENDING_MAX);
	spool_close(sp);
}

/* The batcher refuses an undecodable event alone, without a number */
static void test_batcher_malformed(void **state)
{
	char dir[300];
	struct seqgen *sg;
	struct spool *sp;
	struct batcher *b;
	struct batcher_stats st;
	struct spool_item it;
	struct batch bt;
	struct event ev;
	uint8_t *data;
	size_t n;
	(void)state;

	subdir("batcher-bad", dir, sizeof(dir));
	assert_int_equal(seqgen_open(dir, "seq", 100, &sg), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(batcher_new(sg, sp, 10, 4096, &b), 0);
	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	assert_int_equal(event_add(&ev, "Image", "/bin/a", 6), 0);
	assert_int_equal(event_add(&ev, "Image", "/bin/b", 6), 0);
	assert_int_equal(batcher_add(b, &ev), YM_E_INVAL);
	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	assert_int_equal(event_add(&ev, "Image", "/bin/a", 6), 0);
	assert_int_equal(batcher_add(b, &ev), 0);
	batcher_stats(b, &st);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.dropped_events, 0);
	assert_int_equal(st.events, 1);
	assert_int_equal(batcher_flush(b), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 1);
	assert_int_equal(batch_decode(data, n, &bt, NULL, 0), 0);
	assert_int_equal(bt.count, 1);
	batch_free(&bt);
	free(data);
	batcher_free(b);
	spool_close(sp);
	seqgen_close(sg);
}

/* Command handling end to end without the network: real signatures, a real
 * nonce store and a real child process to kill. */
static void test_cmdloop_handle(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem, path[400];
	long pemlen;
	uint8_t pub[32], otherpub[32];
	struct nonce_store *ns;
	struct cmdloop_cfg cfg;
	struct command c;
	struct cmd_result res;
	struct procstat st;
	struct buf w;
	uint64_t now = util_now_ns() / 1000000000ull;
	pid_t pid;
	int status;
	(void)state;

	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	assert_int_equal(command_pubkey_from_pem(pem, (size_t)pemlen, pub), 0);
	memcpy(otherpub, pub, 32);
	otherpub[0] ^= 1;
	snprintf(path, sizeof(path), "%s/cmd-nonces", tmpdir);
	assert_int_equal(nonce_open(path, 16, now, &ns), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.agent_id = "a9d0c3f4-0000-4000-8000-000000000001";
	cfg.pubkey = pub;
	cfg.ns = ns;

	pid = spawn_sleep("/");
	assert_int_equal(procinfo_read_stat(pid, &st), 0);
	memset(&c, 0, sizeof(c));
	util_strlcpy(c.id, "11111111-2222-4333-8444-555555555555", sizeof(c.id));
	util_strlcpy(c.agent_id, cfg.agent_id, sizeof(c.agent_id));
	util_strlcpy(c.action, "kill", sizeof(c.action));
	c.pid = pid;
	c.start_time = st.start_time + 7; /* wrong */
	util_strlcpy(c.nonce, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", sizeof(c.nonce));
	c.issued_s = now;
	c.expires_s = now + 300;

	/* pid changed: refused, still alive */
	buf_init(&w, COMMAND_MAX_WIRE);
	assert_int_equal(command_sign(&c, pem, (size_t)pemlen, &w), 0);
	cmdloop_handle(&cfg, (char *)w.data, w.len, now, &res);
	assert_string_equal(res.status, "refused");
	assert_non_null(strstr(res.detail, "pid reused"));
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);

	/* forged: checked against another key; refused with the id it claims */
	cfg.pubkey = otherpub;
	buf_reset(&w);
	util_strlcpy(c.nonce, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", sizeof(c.nonce));
	c.start_time = st.start_time;
	assert_int_equal(command_sign(&c, pem, (size_t)pemlen, &w), 0);
	cmdloop_handle(&cfg, (char *)w.data, w.len, now, &res);
	assert_string_equal(res.status, "refused");
	assert_true(res.have_id);
	assert_string_equal(res.id, c.id);
	assert_non_null(strstr(res.detail, "forged"));
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	cfg.pubkey = pub;

	/* garbage: no id to report it under */
	cmdloop_handle(&cfg, "{\"payload\":1}", 13, now, &res);
	assert_false(res.have_id);
	assert_string_equal(res.status, "refused");

	/* another agent's command */
	cfg.agent_id = "a9d0c3f4-0000-4000-8000-000000000002";
	cmdloop_handle(&cfg, (char *)w.data, w.len, now, &res);
	assert_string_equal(res.status, "refused");
	assert_non_null(strstr(res.detail, "wrong agent"));
	cfg.agent_id = "a9d0c3f4-0000-4000-8000-000000000001";

	/* expired */
	cmdloop_handle(&cfg, (char *)w.data, w.len, now + 301, &res);
	assert_non_null(strstr(res.detail, "expired"));

	/* valid: killed */
	cmdloop_handle(&cfg, (char *)w.data, w.len, now, &res);
	assert_string_equal(res.status, "done");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* replayed */
	cmdloop_handle(&cfg, (char *)w.data, w.len, now, &res);
	assert_string_equal(res.status, "refused");
	assert_non_null(strstr(res.detail, "replayed nonce"));

	buf_free(&w);
	nonce_close(ns);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

/* This program's executable path, into out. */
static void self_exe_path(char *out, size_t outsz)
{
	ssize_t k = readlink("/proc/self/exe", out, outsz - 1);

	assert_true(k > 0);
	out[k] = 0;
}

/* The GUID enrich_guid gives (pid, start time) on this boot. */
static void boot_guid(int32_t pid, uint64_t start_time, char out[ENRICH_GUID_LEN + 1])
{
	char *boot = NULL;
	size_t bl = 0;

	assert_int_equal(util_read_file("/proc/sys/kernel/random/boot_id", 64, &boot, &bl), 0);
	while (bl > 0 && (boot[bl - 1] == '\n' || boot[bl - 1] == ' '))
		boot[--bl] = 0;
	assert_int_equal(enrich_guid(boot, pid, start_time, out), 0);
	free(boot);
}

/* a small enricher: tables of a few entries, terminations on */
static const struct enrich_cfg small_cfg = {
    .proc_max_entries = 64,
    .proc_max_bytes = 1 << 16,
    .proc_retain_ns = 1000000000ull,
    .hash_max_entries = 4,
    .hash_max_file = HASHCACHE_MAX_FILE,
    .termination = 1,
    .self_pid = -1,
};

/* Enrichment of a real child from synthetic sensor messages (the netlink
 * socket itself needs root; everything after it does not). */
static void test_enrich_child(void **state)
{
	struct enrich_cfg cfg = small_cfg;
	struct enrich *en;
	struct event ev;
	struct sensor_msg m;
	struct procstat st;
	char self_exe[512], pid_s[16], guid[ENRICH_GUID_LEN + 1], want_hash[80];
	uint8_t sha[32];
	struct hashcache *hc;
	const char *v;
	pid_t pid;
	int status;
	(void)state;

	/* larger tables than the small enricher's */
	cfg.proc_max_entries = 1024;
	cfg.proc_max_bytes = 1 << 20;
	cfg.hash_max_entries = 16;
	self_exe_path(self_exe, sizeof(self_exe));
	assert_int_equal(enrich_new(&cfg, &en), 0);
	pid = spawn_sleep(tmpdir);
	assert_int_equal(procinfo_read_stat(pid, &st), 0);
	memset(&m, 0, sizeof(m));
	m.type = SENSOR_MSG_EXEC;
	m.pid = pid;
	m.ts_ns = 123456789;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_int_equal(ev.category, EVCAT_PROCESS_CREATION);
	assert_int_equal(ev.ts_ns, 123456789);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	assert_string_equal(event_get(&ev, "ProcessId", NULL), pid_s);
	assert_string_equal(event_get(&ev, "Image", NULL), "/usr/bin/sleep");
	assert_string_equal(event_get(&ev, "CommandLine", NULL), "sleep 30");
	assert_string_equal(event_get(&ev, "CurrentDirectory", NULL), tmpdir);
	/* the parent is this test program, known from the start-up scan */
	assert_string_equal(event_get(&ev, "ParentImage", NULL), self_exe);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	assert_string_equal(event_get(&ev, "ParentProcessId", NULL), pid_s);
	assert_non_null(event_get(&ev, "ParentProcessGuid", NULL));
	v = event_get(&ev, "ProcessGuid", NULL);
	assert_non_null(v);
	memcpy(guid, v, sizeof(guid));
	assert_int_equal(strlen(guid), ENRICH_GUID_LEN);
	/* the enricher's GUID is enrich_guid's */
	{
		char g2[ENRICH_GUID_LEN + 1];
		boot_guid(pid, st.start_time, g2);
		assert_string_equal(guid, g2);
	}
	assert_non_null(event_get(&ev, "ProcessStartTime", NULL));
	assert_non_null(event_get(&ev, "UserId", NULL));
	/* Hashes is the SHA-256 of the image */
	assert_int_equal(hashcache_new(4, HASHCACHE_MAX_FILE, &hc), 0);
	assert_int_equal(hashcache_path(hc, "/usr/bin/sleep", sha, NULL), 0);
	memcpy(want_hash, "SHA256=", 7);
	util_hex(sha, 32, want_hash + 7);
	assert_string_equal(event_get(&ev, "Hashes", NULL), want_hash);
	hashcache_free(hc);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);

	/* its exit: a termination event with the same GUID */
	m.type = SENSOR_MSG_EXIT;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_int_equal(ev.category, EVCAT_PROCESS_TERMINATION);
	assert_string_equal(event_get(&ev, "ProcessGuid", NULL), guid);
	assert_string_equal(event_get(&ev, "Image", NULL), "/usr/bin/sleep");
	/* a second exit of the same pid is not known any more */
	assert_int_equal(enrich_msg(en, &m, &ev), 0);

	/* a process gone before /proc was read: still an event, parent from FORK */
	m.type = SENSOR_MSG_FORK;
	m.pid = pid;
	m.ppid = getpid();
	assert_int_equal(enrich_msg(en, &m, &ev), 0);
	m.type = SENSOR_MSG_EXEC;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
	assert_string_equal(event_get(&ev, "ProcessId", NULL), pid_s);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)getpid());
	assert_string_equal(event_get(&ev, "ParentProcessId", NULL), pid_s);
	assert_string_equal(event_get(&ev, "ParentImage", NULL), self_exe);
	assert_null(event_get(&ev, "Image", NULL));
	assert_null(event_get(&ev, "CommandLine", NULL));

	/* the agent's own pid is never reported */
	enrich_free(en);
	cfg.self_pid = getpid();
	assert_int_equal(enrich_new(&cfg, &en), 0);
	m.pid = getpid();
	assert_int_equal(enrich_msg(en, &m, &ev), 0);
	enrich_free(en);
}

/* family_env.proc_fill for a process the table does not know (its exec
 * record lost or not read yet): read from /proc once, then from the table
 * (a connect storm of one process read /proc at each connection), its user
 * too; a setuid seen by either sensor changes the user its later events
 * and its termination name */
static void test_enrich_proc_fill(void **state)
{
	struct enrich_cfg cfg = small_cfg;
	struct enrich_stats es;
	struct enrich *en;
	struct event ev;
	struct sensor_msg m;
	struct sensor_kinfo k;
	char guid[ENRICH_GUID_LEN + 1], uid_s[16];
	pid_t pid;
	int status;
	(void)state;

	cfg.proc_max_entries = 1024;
	cfg.proc_max_bytes = 1 << 20;
	assert_int_equal(enrich_new(&cfg, &en), 0);
	pid = spawn_sleep(tmpdir); /* after the start-up scan: not in the table */
	event_init(&ev);
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
	assert_string_equal(event_get(&ev, "Image", NULL), "/usr/bin/sleep");
	assert_string_equal(event_get(&ev, "CommandLine", NULL), "sleep 30");
	assert_non_null(event_get(&ev, "UserId", NULL));
	memcpy(guid, event_get(&ev, "ProcessGuid", NULL), sizeof(guid));
	enrich_stats(en, &es);
	assert_int_equal(es.fill_from_proc, 1);
	snprintf(uid_s, sizeof(uid_s), "%u", (unsigned)getuid());
	assert_string_equal(event_get(&ev, "UserId", NULL), uid_s);
	/* the next events of the process: from the table, same names and user */
	for (int i = 0; i < 3; i++) {
		event_init(&ev);
		assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
		assert_string_equal(event_get(&ev, "Image", NULL), "/usr/bin/sleep");
		assert_string_equal(event_get(&ev, "CommandLine", NULL), "sleep 30");
		assert_string_equal(event_get(&ev, "ProcessGuid", NULL), guid);
		assert_string_equal(event_get(&ev, "UserId", NULL), uid_s);
	}
	enrich_stats(en, &es);
	assert_int_equal(es.fill_from_proc, 1);
	/* its exec record, read late, names the same process */
	memset(&m, 0, sizeof(m));
	m.type = SENSOR_MSG_EXEC;
	m.pid = pid;
	m.ts_ns = 1;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_string_equal(event_get(&ev, "ProcessGuid", NULL), guid);
	assert_string_equal(event_get(&ev, "Image", NULL), "/usr/bin/sleep");
	/* a setuid the netlink sensor saw (no event): its later events name
	 * the new user */
	m.type = SENSOR_MSG_UID;
	m.uid = 4242;
	assert_int_equal(enrich_msg(en, &m, &ev), 0);
	event_init(&ev);
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
	assert_string_equal(event_get(&ev, "UserId", NULL), "4242");
	/* ... and one the eBPF sensor saw (a privilege_change event) */
	memset(&k, 0, sizeof(k));
	k.have = SENSOR_K_CREDS;
	k.uid = k.euid = 4343;
	k.sys_nr = 105; /* setuid on x86-64; the name does not matter here */
	m.type = SENSOR_MSG_PRIV;
	m.k = &k;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_int_equal(ev.category, EVCAT_PRIVILEGE_CHANGE);
	m.k = NULL;
	event_init(&ev);
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
	assert_string_equal(event_get(&ev, "UserId", NULL), "4343");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* the termination names the user too */
	m.type = SENSOR_MSG_EXIT;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_string_equal(event_get(&ev, "UserId", NULL), "4343");
	/* exited and gone from /proc: not known */
	event_init(&ev);
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 0);
	assert_null(event_get(&ev, "Image", NULL));
	enrich_free(en);
}

/* Namespaces made (eBPF): unshare's flags and a clone's differences as
 * Namespace, in the kernel's flag order; a clone names its child */
static void test_enrich_namespaces_made(void **state)
{
	struct enrich *en;
	struct event ev;
	struct sensor_msg m;
	struct sensor_kinfo k;
	(void)state;

	assert_int_equal(enrich_new(&small_cfg, &en), 0);
	memset(&m, 0, sizeof(m));
	memset(&k, 0, sizeof(k));
	m.type = SENSOR_MSG_PRIV;
	m.pid = 4000001; /* over pid_max: never in /proc */
	m.k = &k;
	k.have = SENSOR_K_CREDS;
	k.uid = k.euid = 65534;
	k.sys_nr = 272;		    /* unshare */
	k.sys_args[0] = 0x14000000; /* CLONE_NEWUSER | CLONE_NEWUTS */
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_int_equal(ev.category, EVCAT_PRIVILEGE_CHANGE);
	assert_string_equal(event_get(&ev, "Syscall", NULL), "unshare");
	assert_string_equal(event_get(&ev, "Namespace", NULL), "uts,user");
	assert_null(event_get(&ev, "TargetProcessId", NULL));
	/* every type, in order */
	k.sys_args[0] = 0x7e020080;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_string_equal(event_get(&ev, "Namespace", NULL),
			    "mnt,cgroup,uts,ipc,user,pid,net,time");
	/* no namespace flag (the kernel does not send it): no Namespace */
	k.sys_args[0] = 0x00000400; /* CLONE_FILES */
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_null(event_get(&ev, "Namespace", NULL));
	/* a child cloned into a new network namespace */
	k.sys_nr = 56; /* the fork program's clone */
	k.sys_ret = 4000002;
	k.sys_args[0] = 0x40000000;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_string_equal(event_get(&ev, "Syscall", NULL), "clone");
	assert_string_equal(event_get(&ev, "Namespace", NULL), "net");
	assert_string_equal(event_get(&ev, "TargetProcessId", NULL), "4000002");
	assert_string_equal(event_get(&ev, "Result", NULL), "4000002");
	enrich_free(en);
}

/* A family's event read after its process's exit or exec record (the
 * process ring is read first) is named by its time: before the exit, the
 * exited process; before the exec, the program it ran then; after the
 * exit, nobody (the pid may be another's). */
static void test_enrich_proc_fill_times(void **state)
{
	struct enrich_cfg cfg = small_cfg;
	struct enrich *en;
	struct event ev;
	struct sensor_msg m;
	struct sensor_kinfo k;
	const int32_t pid = 4000000; /* over pid_max: never in /proc */
	(void)state;

	cfg.proc_max_entries = 1024;
	cfg.proc_max_bytes = 1 << 20;
	assert_int_equal(enrich_new(&cfg, &en), 0);
	memset(&k, 0, sizeof(k));
	k.start_time = 777;
	k.have = SENSOR_K_CREDS | SENSOR_K_START | SENSOR_K_IMAGE | SENSOR_K_CMDLINE;
	k.image = "/usr/bin/curl";
	k.image_len = strlen(k.image);
	k.cmdline = "curl -s http://x/";
	k.cmdline_len = strlen(k.cmdline);
	memset(&m, 0, sizeof(m));
	m.type = SENSOR_MSG_EXEC;
	m.pid = pid;
	m.ts_ns = 1000;
	m.k = &k;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	/* a second exec, at 2000 */
	k.image = "/tmp/payload";
	k.image_len = strlen(k.image);
	k.cmdline = "payload";
	k.cmdline_len = 7;
	m.ts_ns = 2000;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	/* the exit at 3000 */
	m.type = SENSOR_MSG_EXIT;
	m.ts_ns = 3000;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	/* a connection at 1500: curl's */
	event_init(&ev);
	ev.ts_ns = 1500;
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
	assert_string_equal(event_get(&ev, "Image", NULL), "/usr/bin/curl");
	assert_string_equal(event_get(&ev, "CommandLine", NULL), "curl -s http://x/");
	assert_non_null(event_get(&ev, "ProcessGuid", NULL));
	/* at 2500 and at the exit: the payload's */
	event_init(&ev);
	ev.ts_ns = 2500;
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
	assert_string_equal(event_get(&ev, "Image", NULL), "/tmp/payload");
	event_init(&ev);
	ev.ts_ns = 3000;
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 1);
	assert_string_equal(event_get(&ev, "Image", NULL), "/tmp/payload");
	/* after the exit, or without a time: not this process */
	event_init(&ev);
	ev.ts_ns = 3001;
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 0);
	assert_null(event_get(&ev, "Image", NULL));
	event_init(&ev);
	assert_int_equal(enrich_proc_fill(en, pid, &ev), 0);
	enrich_free(en);
}

/* The byte cap: an event that does not fit beside the pending ones makes
 * them a batch first and is added after them, numbered next */
static void test_batcher_byte_cap(void **state)
{
	char dir[300], v[3][120];
	struct seqgen *sg;
	struct spool *sp;
	struct batcher *b;
	struct batcher_stats st;
	struct spool_item it;
	struct batch bt;
	struct event ev;
	uint8_t *data;
	size_t n;
	(void)state;

	subdir("batcher-cap", dir, sizeof(dir));
	assert_int_equal(seqgen_open(dir, "seq", 100, &sg), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	/* ~150 bytes an event: two fit in 400, the third does not */
	assert_int_equal(batcher_new(sg, sp, 100, 400, &b), 0);
	for (int i = 0; i < 3; i++) {
		memset(v[i], 'a' + i, sizeof(v[i]) - 1);
		v[i][sizeof(v[i]) - 1] = 0;
		event_init(&ev);
		ev.category = EVCAT_PROCESS_CREATION;
		assert_int_equal(event_add(&ev, "CommandLine", v[i], sizeof(v[i]) - 1), 0);
		assert_int_equal(batcher_add(b, &ev), 0);
	}
	assert_int_equal(batcher_pending(b), 1);
	batcher_stats(b, &st);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.dropped_events, 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 1);
	assert_int_equal(it.last_seq, 2);
	free(data);
	assert_int_equal(spool_ack(sp, 1), 0);
	assert_int_equal(batcher_flush(b), 0);
	assert_int_equal(spool_next(sp, 0, &it, &data, &n), 0);
	assert_int_equal(it.first_seq, 3);
	assert_int_equal(batch_decode(data, n, &bt, NULL, 0), 0);
	assert_int_equal(bt.count, 1);
	assert_int_equal(bt.events[0].seq, 3);
	assert_string_equal(event_get(&bt.events[0], "CommandLine", NULL), v[2]);
	batch_free(&bt);
	free(data);
	batcher_free(b);
	spool_close(sp);
	seqgen_close(sg);
}

/* A name outside read-only memory is checked at every event: one that was
 * valid and is changed in place is refused the next time */
static void test_batcher_mutable_name(void **state)
{
	char dir[300], name[16];
	struct seqgen *sg;
	struct spool *sp;
	struct batcher *b;
	struct batcher_stats st;
	struct event ev;
	(void)state;

	subdir("batcher-names", dir, sizeof(dir));
	assert_int_equal(seqgen_open(dir, "seq", 100, &sg), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &sp), 0);
	assert_int_equal(batcher_new(sg, sp, 100, 4096, &b), 0);
	memcpy(name, "Image", 6);
	for (int i = 0; i < 2; i++) {
		event_init(&ev);
		ev.category = EVCAT_PROCESS_CREATION;
		assert_int_equal(event_add(&ev, name, "/bin/a", 6), 0);
		assert_int_equal(event_add(&ev, "CommandLine", "a", 1), 0);
		assert_int_equal(batcher_add(b, &ev), 0);
	}
	name[2] = '-'; /* "Im-ge" */
	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	assert_int_equal(event_add(&ev, name, "/bin/a", 6), 0);
	assert_int_equal(batcher_add(b, &ev), YM_E_INVAL);
	batcher_stats(b, &st);
	assert_int_equal(st.events, 2);
	assert_int_equal(st.malformed, 1);
	batcher_free(b);
	spool_close(sp);
	seqgen_close(sg);
}

/* namecache: literals (read-only) are checked once and remembered; the
 * same text elsewhere, invalid literals and NULL are left to the caller */
static void test_namecache(void **state)
{
	struct namecache *nc;
	struct namecache_stats st;
	char stack[16];
	char *heap = strdup("ProcessId");
	static char data_seg[] = "ProcessId";
	(void)state;

	assert_non_null(heap);
	memcpy(stack, "ProcessId", 10);
	assert_int_equal(namecache_new(&nc), 0);
	assert_true(namecache_readonly(nc, "ProcessId", 10));
	assert_false(namecache_readonly(nc, stack, 1));
	assert_false(namecache_readonly(nc, heap, 1));
	assert_false(namecache_readonly(nc, data_seg, 1));
	assert_int_equal(namecache_len(nc, "ProcessId"), 9);
	assert_int_equal(namecache_len(nc, "ProcessId"), 9);
	assert_int_equal(namecache_len(nc, stack), 0);
	assert_int_equal(namecache_len(nc, heap), 0);
	assert_int_equal(namecache_len(nc, data_seg), 0);
	assert_int_equal(namecache_len(nc, "Bad-Name"), 0);
	assert_int_equal(namecache_len(nc, "Bad-Name"), 0);
	assert_int_equal(namecache_len(nc, ""), 0);
	assert_int_equal(
	    namecache_len(nc, "N123456789012345678901234567890123456789012345678901234567890123"),
	    0);
	assert_int_equal(namecache_len(nc, NULL), 0);
	namecache_stats(nc, &st);
	assert_true(st.hits >= 1);
	assert_int_equal(st.mutable_, 3);
	namecache_free(nc);
	free(heap);
}

/* numbers of the kernel's records as decimal fields, at every digit count */
static void test_enrich_numbers(void **state)
{
	static const uint64_t vals[] = {0,
					1,
					9,
					10,
					99,
					100,
					101,
					999,
					1000,
					65535,
					4294967294u,
					4294967295u,
					1234567890123ull,
					9999999999999999999ull,
					10000000000000000000ull,
					UINT64_MAX};
	struct enrich *en;
	struct event ev;
	struct sensor_msg m;
	struct sensor_kinfo k;
	char want[32];
	(void)state;

	assert_int_equal(enrich_new(&small_cfg, &en), 0);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		memset(&m, 0, sizeof(m));
		memset(&k, 0, sizeof(k));
		k.have = SENSOR_K_CREDS | SENSOR_K_START;
		k.uid = (uint32_t)vals[i];
		k.loginuid = UINT32_MAX;
		k.sessionid = (uint32_t)vals[i] == UINT32_MAX ? 7 : (uint32_t)vals[i];
		k.cgroup_id = vals[i];
		k.start_time = vals[i];
		k.parent_start_time = 1;
		m.type = SENSOR_MSG_EXEC;
		m.pid = (int32_t)(vals[i] % 4194304 + 1);
		m.k = &k;
		assert_int_equal(enrich_msg(en, &m, &ev), 1);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)vals[i]);
		assert_string_equal(event_get(&ev, "ProcessStartTime", NULL), want);
		if (vals[i])
			assert_string_equal(event_get(&ev, "CgroupId", NULL), want);
		snprintf(want, sizeof(want), "%u", (unsigned)(uint32_t)vals[i]);
		assert_string_equal(event_get(&ev, "UserId", NULL), want);
		snprintf(want, sizeof(want), "%d", (int)m.pid);
		assert_string_equal(event_get(&ev, "ProcessId", NULL), want);
	}
	enrich_free(en);
}

/* A child the eBPF sensor sent no fork record for (it shared its parent's
 * memory) exits without an exec: named after its parent, as its fork would
 * have made it; without never_execd an unknown process has no event */
static void test_enrich_exit_noexec(void **state)
{
	struct enrich *en;
	struct event ev;
	struct sensor_msg m;
	struct sensor_kinfo k;
	struct procstat st;
	char self_exe[512], want[32], guid[ENRICH_GUID_LEN + 1];
	(void)state;

	self_exe_path(self_exe, sizeof(self_exe));
	assert_int_equal(procinfo_read_stat(getpid(), &st), 0);
	/* this program is in the table from the start-up scan */
	assert_int_equal(enrich_new(&small_cfg, &en), 0);
	memset(&m, 0, sizeof(m));
	memset(&k, 0, sizeof(k));
	k.have = SENSOR_K_CREDS | SENSOR_K_START;
	k.loginuid = k.sessionid = UINT32_MAX;
	k.start_time = st.start_time + 5;
	k.parent_start_time = st.start_time;
	m.type = SENSOR_MSG_EXIT;
	m.pid = 4194000; /* above the default pid_max: no such process */
	m.ppid = getpid();
	m.exit_code = 127 << 8;
	m.k = &k;
	assert_int_equal(enrich_msg(en, &m, &ev), 0);
	k.never_execd = 1;
	/* a parent of another start time is not this one */
	k.parent_start_time = st.start_time + 1;
	assert_int_equal(enrich_msg(en, &m, &ev), 0);
	k.parent_start_time = st.start_time;
	assert_int_equal(enrich_msg(en, &m, &ev), 1);
	assert_int_equal(ev.category, EVCAT_PROCESS_TERMINATION);
	assert_string_equal(event_get(&ev, "Image", NULL), self_exe);
	assert_string_equal(event_get(&ev, "ProcessId", NULL), "4194000");
	snprintf(want, sizeof(want), "%d", (int)getpid());
	assert_string_equal(event_get(&ev, "ParentProcessId", NULL), want);
	assert_string_equal(event_get(&ev, "ExitCode", NULL), "127");
	boot_guid(m.pid, k.start_time, guid);
	assert_string_equal(event_get(&ev, "ProcessGuid", NULL), guid);
	/* it exited: a second exit is not reported again */
	assert_int_equal(enrich_msg(en, &m, &ev), 0);
	enrich_free(en);
}

/* kpath_join: components come leaf first; the result is absolute */
static void test_kpath_join(void **state)
{
	static const char comps[] = "true\0bin\0usr"; /* leaf first */
	char out[64], tiny[8];
	size_t n;
	(void)state;

	n = kpath_join(comps, sizeof(comps), out, sizeof(out));
	assert_string_equal(out, "/usr/bin/true");
	assert_int_equal(n, strlen("/usr/bin/true"));
	/* no component: "/" and length 0 */
	assert_int_equal(kpath_join("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* a missing final NUL is no overread: the length bounds it */
	n = kpath_join("abc", 3, out, sizeof(out));
	assert_string_equal(out, "/abc");
	assert_int_equal(n, 4);
	/* too small: the components that fit, from the root, and a NUL */
	n = kpath_join(comps, sizeof(comps), tiny, sizeof(tiny));
	assert_string_equal(tiny, "/usr");
	assert_int_equal(n, 4);
	assert_int_equal(kpath_join(comps, sizeof(comps), tiny, 1), 0);
}

static void test_kpath_container_id(void **state)
{
	static const char id[] = "0123456789abcdef0123456789abcdef"
				 "0123456789abcdef0123456789abcdef";
	char cg[256], out[KPATH_ID_LEN + 1];
	(void)state;

	snprintf(cg, sizeof(cg), "/system.slice/docker-%s.scope", id);
	memset(out, 'x', sizeof(out));
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 1);
	assert_string_equal(out, id);
	snprintf(cg, sizeof(cg), "/kubepods/burstable/pod1/cri-containerd-%s.scope", id);
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 1);
	assert_string_equal(out, id);
	/* at the very end of the path (/docker/<id>) */
	snprintf(cg, sizeof(cg), "/docker/%s", id);
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 1);
	assert_string_equal(out, id);
	/* 63 or 65 digits, upper case, or a host session: none */
	memset(out, 0, sizeof(out));
	snprintf(cg, sizeof(cg), "/docker-%.63s.scope", id);
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 0);
	snprintf(cg, sizeof(cg), "/docker-%sa.scope", id);
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 0);
	snprintf(cg, sizeof(cg), "/docker-%.63sA.scope", id);
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 0);
	snprintf(cg, sizeof(cg), "/user.slice/user-1000.slice/session-2.scope");
	assert_int_equal(kpath_container_id(cg, strlen(cg), out), 0);
	assert_int_equal(out[0], 0); /* untouched */
	/* the length bounds the scan: the id past n is not seen */
	snprintf(cg, sizeof(cg), "/docker/%s", id);
	assert_int_equal(kpath_container_id(cg, strlen(cg) - 1, out), 0);
	/* kernel nanoseconds with the multigrain "queried" flag */
	assert_int_equal(kpath_nsec(0x80000000u | 123456789u), 123456789u);
	assert_int_equal(kpath_nsec(999999999u), 999999999u);
}

/* The eBPF sensor names the executable by (dev, ino, size, times): after
 * one read under that identity, lookups hit with no file access at all. */
static void test_hashcache_kernel_id(void **state)
{
	char path[400];
	struct hashcache *hc;
	struct hashcache_stats st;
	struct hashcache_id id, other;
	struct stat sb;
	uint8_t sha[32], want[32];
	int hit = -1;
	(void)state;

	snprintf(path, sizeof(path), "%s/bin-k", tmpdir);
	assert_int_equal(util_write_file(path, "kernel id", 9, 0755), 0);
	assert_int_equal(stat(path, &sb), 0);
	sha256_of("kernel id", 9, want);
	assert_int_equal(hashcache_new(8, 1 << 20, &hc), 0);
	/* the kernel's device number may differ from stat's (btrfs) */
	memset(&id, 0, sizeof(id));
	id.dev = (uint64_t)sb.st_dev + 7;
	id.ino = sb.st_ino;
	id.size = (uint64_t)sb.st_size;
	id.mtime_s = sb.st_mtim.tv_sec;
	id.mtime_ns = kpath_nsec((uint32_t)sb.st_mtim.tv_nsec | 0x80000000u);
	id.ctime_s = sb.st_ctim.tv_sec;
	id.ctime_ns = kpath_nsec((uint32_t)sb.st_ctim.tv_nsec | 0x80000000u);
	assert_int_equal(hashcache_lookup(hc, &id, sha), YM_E_NOTFOUND);
	assert_int_equal(hashcache_path_id(hc, path, &id, sha, &hit), 0);
	assert_memory_equal(sha, want, 32);
	/* gone from disk: the identity alone still finds the hash */
	assert_int_equal(unlink(path), 0);
	memset(sha, 0, sizeof(sha));
	assert_int_equal(hashcache_lookup(hc, &id, sha), 0);
	assert_memory_equal(sha, want, 32);
	/* the unmasked flag would be another identity: a miss */
	other = id;
	other.ctime_ns |= 0x80000000u;
	assert_int_equal(hashcache_lookup(hc, &other, sha), YM_E_NOTFOUND);
	/* another inode or another mtime: a miss, never a stale hit */
	other = id;
	other.ino++;
	assert_int_equal(hashcache_lookup(hc, &other, sha), YM_E_NOTFOUND);
	other = id;
	other.mtime_s++;
	assert_int_equal(hashcache_lookup(hc, &other, sha), YM_E_NOTFOUND);
	/* a path that is not the file id names (size differs): refused */
	snprintf(path, sizeof(path), "%s/bin-k2", tmpdir);
	assert_int_equal(util_write_file(path, "other content", 13, 0755), 0);
	assert_int_equal(stat(path, &sb), 0);
	other = id;
	other.ino = sb.st_ino;
	assert_int_equal(hashcache_path_id(hc, path, &other, sha, &hit), YM_E_STALE);
	/* same inode and size, times the kernel saw earlier: hashed, but not
	 * cached under the stale identity */
	other.size = (uint64_t)sb.st_size;
	other.mtime_s = sb.st_mtim.tv_sec - 100;
	assert_int_equal(hashcache_path_id(hc, path, &other, sha, &hit), 0);
	assert_int_equal(hashcache_lookup(hc, &other, sha), YM_E_NOTFOUND);
	hashcache_stats(hc, &st);
	assert_int_equal(st.hits, 1);
	hashcache_free(hc);
}

/* Per-family mode selection: a forced mode must exist; "off" starts
 * nothing; the process family belongs to main. */
static void test_family_modes(void **state)
{
	struct family_env env;
	struct collect_family fams[COLLECT_MAX_FAMILIES];
	const char *bad1[] = {"network=nosuch"};
	const char *bad2[] = {"nosuch=bpf"};
	const char *bad3[] = {"network"};
	const char *off[COLLECT_MAX_FAMILIES + 1];
	size_t n = 99, noff = 0, nfam = 0;
	int seen_bpf = 0;
	(void)state;

	memset(&env, 0, sizeof(env));
	assert_int_equal(collect_families_start(bad1, 1, &env, fams, COLLECT_MAX_FAMILIES, &n),
			 YM_E_INVAL);
	assert_int_equal(collect_families_start(bad2, 1, &env, fams, COLLECT_MAX_FAMILIES, &n),
			 YM_E_INVAL);
	assert_int_equal(collect_families_start(bad3, 1, &env, fams, COLLECT_MAX_FAMILIES, &n),
			 YM_E_INVAL);
	assert_int_equal(n, 99); /* untouched on refusal */
	/* every family off (and process=M passed through): none starts */
	off[noff++] = "process=bpf";
	for (size_t i = 0; family_table[i]; i++) {
		static char bufs[COLLECT_MAX_FAMILIES][48];
		int dup = 0;
		for (size_t j = 0; j < i; j++)
			dup |= strcmp(family_table[j]->family, family_table[i]->family) == 0;
		if (dup)
			continue;
		assert_true(noff < COLLECT_MAX_FAMILIES);
		snprintf(bufs[nfam], sizeof(bufs[nfam]), "%s=off", family_table[i]->family);
		off[noff++] = bufs[nfam++];
	}
	assert_int_equal(collect_families_start(off, noff, &env, fams, COLLECT_MAX_FAMILIES, &n),
			 0);
	assert_int_equal(n, nfam);
	for (size_t i = 0; i < n; i++)
		assert_null(fams[i].ops);
	collect_families_stop(fams, n);
	/* fallback order: within a family, the eBPF mode is tried first */
	for (size_t i = 0; family_table[i]; i++) {
		if (strcmp(family_table[i]->mode, "bpf") == 0) {
			for (size_t j = 0; j < i; j++)
				assert_true(strcmp(family_table[j]->family,
						   family_table[i]->family) != 0);
			seen_bpf = 1;
		}
	}
	assert_true(seen_bpf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spool_resume),
	    cmocka_unit_test(test_spool_segments),
	    cmocka_unit_test(test_spool_cap_drops_oldest),
	    cmocka_unit_test(test_spool_corrupt_file),
	    cmocka_unit_test(test_seq_persistence),
	    cmocka_unit_test(test_hashcache),
	    cmocka_unit_test(test_ctrimage),
	    cmocka_unit_test(test_nonce_store),
	    cmocka_unit_test(test_proctable),
	    cmocka_unit_test(test_stat_parsing),
	    cmocka_unit_test(test_tty_names),
	    cmocka_unit_test(test_proc_child),
	    cmocka_unit_test(test_kill),
	    cmocka_unit_test(test_batcher),
	    cmocka_unit_test(test_spool_group_commit),
	    cmocka_unit_test(test_batcher_malformed),
	    cmocka_unit_test(test_batcher_byte_cap),
	    cmocka_unit_test(test_batcher_mutable_name),
	    cmocka_unit_test(test_namecache),
	    cmocka_unit_test(test_enrich_numbers),
	    cmocka_unit_test(test_enrich_exit_noexec),
	    cmocka_unit_test(test_cmdloop_handle),
	    cmocka_unit_test(test_enrich_child),
	    cmocka_unit_test(test_enrich_proc_fill),
	    cmocka_unit_test(test_enrich_proc_fill_times),
	    cmocka_unit_test(test_enrich_namespaces_made),
	    cmocka_unit_test(test_kpath_join),
	    cmocka_unit_test(test_kpath_container_id),
	    cmocka_unit_test(test_hashcache_kernel_id),
	    cmocka_unit_test(test_family_modes),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
