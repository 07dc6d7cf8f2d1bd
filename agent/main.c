/* yamori-agent: Linux endpoint sensor and response executor.
 *
 *   yamori-agent enrol --server https://HOST:PORT --token T --ca FILE --state DIR
 *                      [--hostname NAME]
 *   yamori-agent run --state DIR [--spool-max-mb N] [--batch-ms N] [--log-level L]
 *                    [--mode FAMILY=MODE]... [--cpu-max-pct N] [--mem-max-mb N]
 *                    [--audit-exec] [--sock-diag-dumps-only] [--uplink-user NAME]
 *   yamori-agent uplink-child ...   (started by `run` only: uplinkd.h)
 */
#include "batch.h"
#include "batcher.h"
#include "cmdloop.h"
#include "collect.h"
#include "enrich.h"
#include "enrol.h"
#include "err.h"
#include "hashcache.h"
#include "family.h"
#include "fsdir.h"
#include "http.h"
#include "privsep.h"
#include "bounds.h"
#include "log.h"
#include "nonce.h"
#include "seqgen.h"
#include "sensor.h"
#include "spool.h"
#include "state.h"
#include "uplink.h"
#include "uplinkd.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <time.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define AGENT_SPOOL_FILES  65536
/* sequence numbers reserved on disk per write of the seq file (a crash
 * leaves a gap of at most this many; 4,096 cost a seq file write, fsync,
 * rename and directory fsync every 0.4 s at 10,000 events/s) */
#define AGENT_SEQ_BLOCK 65536
/* events per batch file: the wire format's maximum (BATCH_MAX_EVENTS); each
 * file costs a create, write, fsync and rename, so fewer, larger files (with
 * --batch-ms 400) cost less per event (docs/internals/agent.md, "Spool") */
#define AGENT_BATCH_EVENTS 4096
_Static_assert(AGENT_BATCH_EVENTS <= BATCH_MAX_EVENTS, "a batch the server accepts");
#define AGENT_BATCH_BYTES  (4u << 20)
#define AGENT_NONCES	   4096

static atomic_int agent_stop;

static void usage(void)
{
	fprintf(stderr, "usage: yamori-agent enrol --server https://HOST:PORT --token T --ca FILE "
			"--state DIR [--hostname NAME]\n"
			"       yamori-agent run --state DIR [--spool-max-mb N] [--batch-ms N] "
			"[--log-level error|warn|info|debug]\n"
			"                        [--mode FAMILY=MODE]... [--cpu-max-pct N] "
			"[--mem-max-mb N] [--audit-exec] [--sock-diag-dumps-only]\n"
			"                        [--uplink-user NAME (nobody)]\n"
			"       yamori-agent spool --state DIR\n"
			"  modes: process=bpf|netlink");
	for (size_t i = 0; family_table[i]; i++)
		fprintf(stderr, " %s=%s", family_table[i]->family, family_table[i]->mode);
	fprintf(stderr, " (FAMILY=off: not collected)\n");
}

static int cmd_enrol(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},	{"token", required_argument, NULL, 't'},
	    {"ca", required_argument, NULL, 'c'},	{"state", required_argument, NULL, 'd'},
	    {"hostname", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0},
	};
	struct enrol_opts o;
	struct agent_state st;
	char why[512];
	int c, r;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.server = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'c':
			o.ca_file = optarg;
			break;
		case 'd':
			o.state_dir = optarg;
			break;
		case 'n':
			o.hostname = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!o.server || !o.token || !o.ca_file || !o.state_dir || optind != argc) {
		usage();
		return 2;
	}
	r = enrol_run(&o, &st, why, sizeof(why));
	if (r) {
		LOG_E("enrol", "E3002", "enrolment failed: %s (%s)", why, ym_strerror(r));
		return 1;
	}
	printf("enrolled agent %s tenant %s\n", st.agent_id, st.tenant_id);
	return 0;
}

/* What the spool of a state directory holds, one line, read only (the
 * agent may be running on it): "spool: N batches, B bytes, seq F..L". */
static int cmd_spool(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL;
	char path[PATH_MAX];
	struct spool_item it;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd') {
			usage();
			return 2;
		}
		dir = optarg;
	}
	if (!dir || optind != argc) {
		usage();
		return 2;
	}
	if (snprintf(path, sizeof(path), "%s/spool", dir) >= (int)sizeof(path)) {
		fprintf(stderr, "yamori-agent: state directory path too long\n");
		return 2;
	}
	r = spool_inspect(path, &it);
	if (r) {
		fprintf(stderr, "yamori-agent: cannot read spool %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("spool: %u batches, %llu bytes, seq %llu..%llu\n", (unsigned)it.count,
	       (unsigned long long)it.bytes, (unsigned long long)it.first_seq,
	       (unsigned long long)it.last_seq);
	return 0;
}

/* The marker of a running agent in its state directory, AGENT_RUN_MARK:
 * "<pid> <start, ns since the epoch>", written once the state directory is
 * locked and removed at the end of an orderly exit, after the spool's last
 * commit. One found at a start means the run before ended without its stop
 * (killed with SIGKILL, crashed, the host's power lost): what it had not yet
 * committed (at most --batch-ms + 200 ms of events) is lost, and the new
 * run says so (W3017, and the `started` status event's PreviousStop). */
#define AGENT_RUN_MARK "running"

/* Reads the marker left in dir into prev; prev->unclean 0 when none. */
static void run_mark_read(const char *dir, struct collect_prev *prev)
{
	char path[PATH_MAX], text[64];
	struct stat sb;
	unsigned long long ns = 0;
	long pid = 0;
	ssize_t n = -1;
	int fd;

	memset(prev, 0, sizeof(*prev));
	if (snprintf(path, sizeof(path), "%s/%s", dir, AGENT_RUN_MARK) >= (int)sizeof(path))
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			prev->unclean = 1; /* something is there: not an orderly end */
		return;
	}
	prev->unclean = 1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size < (off_t)sizeof(text))
		n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n > 0) {
		text[n] = 0;
		if (sscanf(text, "%ld %llu", &pid, &ns) == 2 && pid > 0) {
			time_t t = (time_t)(ns / 1000000000ull);
			struct tm tm;

			prev->pid = pid;
			if (ns && gmtime_r(&t, &tm))
				strftime(prev->started, sizeof(prev->started), "%Y-%m-%dT%H:%M:%SZ",
					 &tm);
		}
	}
}

/* Writes this run's marker (file and folder fsync'd). Returns 0 or YM_E_IO. */
static int run_mark_write(const char *dir)
{
	char path[PATH_MAX], text[64];
	int n = snprintf(text, sizeof(text), "%ld %llu\n", (long)getpid(),
			 (unsigned long long)util_now_ns());

	if (snprintf(path, sizeof(path), "%s/%s", dir, AGENT_RUN_MARK) >= (int)sizeof(path))
		return YM_E_IO;
	if (util_write_file(path, text, (size_t)n, 0600) != 0 || fsdir_sync(dir) != 0)
		return YM_E_IO;
	return 0;
}

static void run_mark_remove(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, AGENT_RUN_MARK) >= (int)sizeof(path))
		return;
	if ((unlink(path) != 0 && errno != ENOENT) || fsdir_sync(dir) != 0)
		LOG_W("agent", "W3018", "cannot remove %s: the next run reports an unclean stop",
		      path);
}

struct agent_threads {
	struct uplink_cfg up;
	struct uplink_stats ups;
	struct cmdloop_cfg cl;
};

static void *uplink_main(void *arg)
{
	struct agent_threads *t = arg;
	uplink_run(&t->up, &t->ups);
	return NULL;
}

static void *cmdloop_main(void *arg)
{
	struct agent_threads *t = arg;
	cmdloop_run(&t->cl);
	return NULL;
}


/* collect_cfg.helper_pid: the running uplink process of privsep ctx. */
static pid_t uplink_pid(void *ctx)
{
	return ctx ? privsep_pid(ctx) : 0;
}
static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 'd'},
	    {"spool-max-mb", required_argument, NULL, 'm'},
	    {"batch-ms", required_argument, NULL, 'b'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"mode", required_argument, NULL, 'M'},
	    {"cpu-max-pct", required_argument, NULL, 'C'},
	    {"mem-max-mb", required_argument, NULL, 'R'},
	    {"audit-exec", no_argument, NULL, 'X'},
	    {"sock-diag-dumps-only", no_argument, NULL, 'D'},
	    {"uplink-user", required_argument, NULL, 'U'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *modes[COLLECT_MAX_FAMILIES + 1], *proc_mode = NULL;
	size_t nmodes = 0, nfams = 0;
	uint64_t cpu_pct = 25, mem_mb = 256;
	struct bounds lim;
	struct collect_family fams[COLLECT_MAX_FAMILIES];
	int fams_started = 0;
	uint64_t spool_mb = 256, batch_ms = 400;
	struct agent_state *st = NULL;
	struct spool *sp = NULL;
	struct seqgen *sg = NULL;
	struct batcher *b = NULL;
	struct nonce_store *ns = NULL;
	struct enrich *en = NULL;
	struct fsjob *fsj = NULL;
	struct sensor *sensor = NULL;
	const struct sensor_ops *ops = NULL;
	struct privsep *ps = NULL;
	const char *uplink_user = "nobody", *log_level = "info";
	char *ca_pem = NULL, *cert_pem = NULL, *key_pem = NULL;
	size_t ca_len = 0, cert_len = 0, key_len = 0;
	uid_t up_uid = 0;
	gid_t up_gid = 0;
	struct agent_threads *th = NULL;
	pthread_t t_up, t_cmd;
	int up_started = 0, cmd_started = 0, sigfd = -1, lockfd = -1, marked = 0, c, r, rc = 1;
	struct collect_prev prev;
	int audit_exec = 0, sockdiag_dumps_only = 0;

	/* A fixed threshold: buffers of 128 KiB and more (a batch being built
	 * and sealed, 1 to 2 MiB at 4,096 events) are mapped on their own and
	 * returned whole when freed. glibc's default raises the threshold to
	 * the largest such block freed, after which those buffers came from
	 * the heap, between the process table's small strings, which kept the
	 * heap from shrinking: +4 MB of RSS under exec storms (docs/internals/
	 * agent.md, "Measured"). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	char path[PATH_MAX];
	sigset_t mask;

	memset(&lim, 0, sizeof(lim));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		enum log_level lvl;
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			if (util_parse_u64(optarg, 1, 1 << 20, &spool_mb)) {
				usage();
				return 2;
			}
			break;
		case 'b':
			if (util_parse_u64(optarg, 1, 60000, &batch_ms)) {
				usage();
				return 2;
			}
			break;
		case 'l':
			if (log_parse_level(optarg, &lvl)) {
				usage();
				return 2;
			}
			log_set_level(lvl);
			log_level = optarg;
			break;
		case 'M':
			if (!strchr(optarg, '=') || nmodes >= COLLECT_MAX_FAMILIES) {
				usage();
				return 2;
			}
			if (strncmp(optarg, "process=", 8) == 0) {
				proc_mode = optarg + 8;
				if (!sensor_find(proc_mode)) {
					fprintf(stderr, "no process sensor %s in this build\n",
						proc_mode);
					return 2;
				}
			}
			modes[nmodes++] = optarg;
			break;
		case 'C':
			if (util_parse_u64(optarg, 0, 100, &cpu_pct)) {
				usage();
				return 2;
			}
			break;
		case 'R':
			if (util_parse_u64(optarg, 0, 1 << 20, &mem_mb)) {
				usage();
				return 2;
			}
			break;
		case 'X':
			audit_exec = 1;
			break;
		case 'D':
			sockdiag_dumps_only = 1;
			break;
		case 'U':
			uplink_user = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!dir || optind != argc) {
		usage();
		return 2;
	}
	/* Signals go to the signalfd of the main thread; threads inherit the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) {
		LOG_E("agent", "E3003", "signalfd failed");
		goto out;
	}
	st = calloc(1, sizeof(*st));
	th = calloc(1, sizeof(*th));
	if (!st || !th)
		goto out;
	r = state_load(dir, st);
	if (r) {
		LOG_E("agent", "E3004", "cannot load state from %s: %s%s", dir, ym_strerror(r),
		      r == YM_E_NOTFOUND ? " (run yamori-agent enrol first)" : "");
		goto out;
	}
	r = state_lock(st, &lockfd);
	if (r) {
		LOG_E("agent", "E3012", "cannot lock state directory %s: %s", dir,
		      r == YM_E_EXISTS ? "another yamori-agent runs on it" : ym_strerror(r));
		goto out;
	}
	run_mark_read(st->dir, &prev);
	if (prev.unclean)
		LOG_W("agent", "W3017",
		      "the previous run (pid %ld, started %s) ended without its stop (killed, "
		      "crashed or power lost): what it had not committed to the spool is lost",
		      prev.pid, prev.started[0] ? prev.started : "?");
	if (run_mark_write(st->dir) == 0)
		marked = 1;
	else
		LOG_W("agent", "W3018", "cannot write %s/%s: an unclean end goes unseen", st->dir,
		      AGENT_RUN_MARK);
	{
		struct bounds_cfg lc = {.cpu_pct = (unsigned)cpu_pct, .mem_max = mem_mb << 20};
		bounds_apply(&lc, &lim);
	}
	/* no libcurl here: only the uplink process talks to the network */
	snprintf(path, sizeof(path), "%s/spool", st->dir);
	r = spool_open(path, spool_mb << 20, AGENT_SPOOL_FILES, &sp);
	if (r) {
		LOG_E("agent", "E3006", "cannot open spool %s: %s", path, ym_strerror(r));
		goto out;
	}
	r = seqgen_open(st->dir, "seq", AGENT_SEQ_BLOCK, &sg);
	if (r) {
		LOG_E("agent", "E3007", "cannot open sequence file in %s: %s", st->dir,
		      ym_strerror(r));
		goto out;
	}
	r = batcher_new(sg, sp, AGENT_BATCH_EVENTS, AGENT_BATCH_BYTES, &b);
	if (r)
		goto out;
	snprintf(path, sizeof(path), "%s/nonces", st->dir);
	r = nonce_open(path, AGENT_NONCES, util_now_ns() / 1000000000ull, &ns);
	if (r) {
		LOG_E("agent", "E3008", "cannot open nonce store %s: %s", path, ym_strerror(r));
		goto out;
	}
	/* the collector's calls on files and paths users choose (fsjob.h) */
	r = fsjob_new(0, &fsj);
	if (r) {
		LOG_E("agent", "E3009", "cannot start enrichment: %s", ym_strerror(r));
		goto out;
	}
	{
		struct enrich_cfg ec = {
		    .proc_max_entries = 16384,
		    .proc_max_bytes = 8u << 20,
		    .proc_retain_ns = 120ull * 1000000000ull,
		    .hash_max_entries = 4096,
		    .hash_max_file = HASHCACHE_MAX_FILE,
		    .termination = 1,
		    .self_pid = (int32_t)getpid(),
		    .fsj = fsj,
		};
		r = enrich_new(&ec, &en);
		if (r) {
			LOG_E("agent", "E3009", "cannot start enrichment: %s", ym_strerror(r));
			goto out;
		}
	}
	/* Privilege separation: the network code runs in an unprivileged
	 * uplink process that gets the TLS material as blobs (privsep.h). */
	r = privsep_user(uplink_user, &up_uid, &up_gid);
	if (r) {
		LOG_E("agent", "E3015", "uplink user %s: %s", uplink_user,
		      r == YM_E_INVAL ? "is root or in group 0" : "no such user");
		goto out;
	}
	if (util_read_file(st->ca_path, 1 << 20, &ca_pem, &ca_len) ||
	    util_read_file(st->cert_path, 1 << 20, &cert_pem, &cert_len) ||
	    util_read_file(st->key_path, 1 << 20, &key_pem, &key_len)) {
		LOG_E("agent", "E3004", "cannot read the TLS files in %s", st->dir);
		goto out;
	}
	{
		struct privsep_cfg pc = {.server = st->server,
					 .ca = ca_pem,
					 .ca_len = ca_len,
					 .cert = cert_pem,
					 .cert_len = cert_len,
					 .key = key_pem,
					 .key_len = key_len,
					 .uid = up_uid,
					 .gid = up_gid,
					 .wait_s = 25,
					 .log_level = log_level,
					 .stop = &agent_stop};
		r = privsep_new(&pc, &ps);
		explicit_bzero(key_pem, key_len);
		if (r) {
			LOG_E("agent", "E3010", "cannot prepare the uplink process: %s",
			      ym_strerror(r));
			goto out;
		}
	}
	/* the forced process sensor, else the best one that starts */
	r = YM_E_UNSUPPORTED;
	for (size_t i = 0; sensor_table[i]; i++) {
		if (proc_mode && strcmp(sensor_table[i]->name, proc_mode) != 0)
			continue;
		r = sensor_table[i]->start(&sensor);
		if (r == 0) {
			ops = sensor_table[i];
			break;
		}
		LOG_I("agent", "process sensor %s cannot start: %s", sensor_table[i]->name,
		      ym_strerror(r));
	}
	if (r) {
		LOG_E("agent", "E3001", "cannot start process sensor %s: %s%s",
		      proc_mode ? proc_mode : "(any)", ym_strerror(r),
		      r == YM_E_AUTH ? " (needs root or CAP_NET_ADMIN / CAP_BPF)" : "");
		goto out;
	}
	{
		struct family_env fe = {.proc_fill = enrich_proc_fill,
					.user_name = enrich_user_name,
					.arg = en,
					.self_pid = (int32_t)getpid(),
					.watch_paths = NULL,
					.process_sensor = 1,
					.audit_exec = audit_exec,
					.state_dir = st->dir,
					.server_url = st->server,
					.sockdiag_dumps_only = sockdiag_dumps_only,
					.fsj = fsj};
		r = collect_families_start(modes, nmodes, &fe, fams, COLLECT_MAX_FAMILIES, &nfams);
		if (r) {
			LOG_E("agent", "E3014", "cannot start the forced sensor modes: %s",
			      ym_strerror(r));
			goto out;
		}
		fams_started = 1;
	}
	th->up = (struct uplink_cfg){.sp = sp, .ps = ps, .stop = &agent_stop};
	th->cl = (struct cmdloop_cfg){.ps = ps,
				      .agent_id = st->agent_id,
				      .pubkey = st->response_pub,
				      .ns = ns,
				      .stop = &agent_stop};
	if (pthread_create(&t_up, NULL, uplink_main, th) == 0)
		up_started = 1;
	if (pthread_create(&t_cmd, NULL, cmdloop_main, th) == 0)
		cmd_started = 1;
	if (!up_started || !cmd_started) {
		LOG_E("agent", "E3011", "cannot start threads");
		goto out;
	}
	{
		char line[512];
		size_t o = 0;
		o += (size_t)snprintf(line, sizeof(line), "process=%s", ops->name);
		for (size_t i = 0; i < nfams && o < sizeof(line); i++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%s", fams[i].family,
					      fams[i].ops ? fams[i].ops->mode : "none");
		fprintf(stderr, "yamori-agent running agent %s sensor %s\n", st->agent_id, line);
		fflush(stderr);
	}
	{
		struct collect_cfg cc = {.ops = ops,
					 .sensor = sensor,
					 .en = en,
					 .b = b,
					 .sp = sp,
					 .fams = fams,
					 .nfams = nfams,
					 .lim = &lim,
					 .sigfd = sigfd,
					 .batch_ms = batch_ms,
					 /* only /proc readers race exiting processes */
					 .realtime = ops == &sensor_netlink_ops,
					 .helper_pid = uplink_pid,
					 .helper_ctx = ps,
					 .prev = &prev};
		r = collect_run(&cc);
	}
	rc = r ? 1 : 0;
out:
	atomic_store(&agent_stop, 1);
	if (sp)
		spool_wake(sp);
	privsep_shutdown(ps);
	if (up_started)
		pthread_join(t_up, NULL);
	if (cmd_started)
		pthread_join(t_cmd, NULL);
	if (fams_started)
		collect_families_stop(fams, nfams);
	if (sensor)
		ops->stop(sensor);
	if (b) {
		/* everything numbered is in the spool: the next run can go on
		 * from the exact next number, without a gap */
		if (batcher_flush(b) == 0 && sg && seqgen_release(sg))
			LOG_W("agent", "W3013", "cannot persist the sequence counter: next run skips ahead");
		batcher_free(b);
	}
	if (th && up_started) {
		struct spool_stats ss;
		spool_stats(sp, &ss);
		LOG_I("agent", "stopped: %llu batches sent, %llu left in spool",
		      (unsigned long long)th->ups.sent_batches, (unsigned long long)ss.files);
	}
	enrich_free(en);
	if (fsj) {
		struct fsjob_stats fs;
		fsjob_stats(fsj, &fs);
		if (fs.stalls || fs.refused)
			LOG_I("agent",
			      "file system calls: %llu held past their bound, %llu refused, %u "
			      "still held",
			      (unsigned long long)fs.stalls, (unsigned long long)fs.refused,
			      fs.stuck);
		fsjob_free(fsj);
	}
	privsep_free(ps);
	if (key_pem)
		explicit_bzero(key_pem, key_len);
	free(key_pem);
	free(cert_pem);
	free(ca_pem);
	nonce_close(ns);
	seqgen_close(sg);
	spool_close(sp);
	/* everything is committed: an orderly end */
	if (marked)
		run_mark_remove(st->dir);
	free(th);
	free(st);
	if (sigfd >= 0)
		close(sigfd);
	if (lockfd >= 0)
		close(lockfd);
	bounds_release(&lim);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "enrol") == 0)
		return cmd_enrol(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "spool") == 0)
		return cmd_spool(argc - 1, argv + 1);
	if (strcmp(argv[1], "uplink-child") == 0)
		return uplinkd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "--version") == 0) {
		printf("yamori-agent %s\n", YM_VERSION);
		return 0;
	}
	usage();
	return 2;
}
