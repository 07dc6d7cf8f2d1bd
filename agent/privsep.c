#include "privsep.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "psframe.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef YM_HAVE_SECCOMP
#include <seccomp.h>
#include <sys/ioctl.h>
#endif

#define PRIVSEP_BACKOFF_MIN_MS 100
#define PRIVSEP_BACKOFF_MAX_MS 30000
#define PRIVSEP_STABLE_NS      (60ull * 1000000000ull)
#define PRIVSEP_START_MS       10000 /* INIT taken and READY back within this */

struct privsep {
	pthread_mutex_t mu;
	struct privsep_cfg cfg;
	char server[512];
	char log_level[16];
	struct buf init; /* the INIT payload, built once (holds the key: wiped) */
	int exe_fd;
	pid_t pid; /* 0: none running */
	int fd[2]; /* root ends of the channels, -1 when none */
	uint64_t gen, starts;
	uint64_t started_ns, died_ns, backoff_ms;
	int died;
};

static void ps_sleep(const atomic_int *stop, uint64_t ms)
{
	while (ms > 0 && !(stop && atomic_load(stop))) {
		uint64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

int privsep_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwnam_r(name, &pw, tmp, sizeof(tmp), &res) != 0 || !res) {
		if (strcmp(name, "nobody") != 0)
			return YM_E_NOTFOUND;
		*uid = 65534;
		*gid = 65534;
		return 0;
	}
	if (res->pw_uid == 0 || res->pw_gid == 0)
		return YM_E_INVAL;
	*uid = res->pw_uid;
	*gid = res->pw_gid;
	return 0;
}

int privsep_new(const struct privsep_cfg *cfg, struct privsep **out)
{
	struct privsep *ps = NULL;
	int r = YM_E_INVAL;

	if (!cfg->server || cfg->uid == 0 || cfg->gid == 0 || !cfg->ca || !cfg->ca_len ||
	    !cfg->cert || !cfg->cert_len || !cfg->key || !cfg->key_len)
		return YM_E_INVAL;
	r = YM_E_NOMEM;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return r;
	pthread_mutex_init(&ps->mu, NULL);
	ps->exe_fd = -1;
	ps->fd[0] = ps->fd[1] = -1;
	ps->cfg = *cfg;
	buf_init(&ps->init, PSFRAME_INIT_MAX);
	r = YM_E_INVAL;
	if (util_strlcpy(ps->server, cfg->server, sizeof(ps->server)) ||
	    util_strlcpy(ps->log_level, cfg->log_level ? cfg->log_level : "info",
			 sizeof(ps->log_level)) ||
	    strlen(ps->server) > UINT16_MAX)
		goto out;
	ps->cfg.server = ps->server;
	ps->cfg.log_level = ps->log_level;
	ps->cfg.ca = ps->cfg.cert = ps->cfg.key = NULL;
	r = buf_put_u32(&ps->init, PSFRAME_VERSION);
	if (!r)
		r = buf_put_u32(&ps->init, (uint32_t)cfg->wait_s);
	if (!r)
		r = buf_put_u16(&ps->init, (uint16_t)strlen(ps->server));
	if (!r)
		r = buf_put_str(&ps->init, ps->server);
	if (!r)
		r = buf_put_u32(&ps->init, (uint32_t)cfg->ca_len);
	if (!r)
		r = buf_put(&ps->init, cfg->ca, cfg->ca_len);
	if (!r)
		r = buf_put_u32(&ps->init, (uint32_t)cfg->cert_len);
	if (!r)
		r = buf_put(&ps->init, cfg->cert, cfg->cert_len);
	if (!r)
		r = buf_put_u32(&ps->init, (uint32_t)cfg->key_len);
	if (!r)
		r = buf_put(&ps->init, cfg->key, cfg->key_len);
	if (r)
		goto out;
	r = YM_E_IO;
	/* O_PATH is enough for execveat(AT_EMPTY_PATH); CLOEXEC keeps it out
	 * of the uplink process once it runs */
	ps->exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	if (ps->exe_fd < 0)
		goto out;
	ps->backoff_ms = PRIVSEP_BACKOFF_MIN_MS;
	*out = ps;
	ps = NULL;
	r = 0;
out:
	privsep_free(ps);
	return r;
}

/* Reaps the uplink process and logs how it ended. Locked. */
static void ps_reap(struct privsep *ps, const char *why)
{
	int st = 0, k = 0;
	char how[64];

	/* it may have ended by itself (a crash, the seccomp filter): give it
	 * a moment, so the log says what it died of */
	for (int i = 0; i < 5 && k == 0; i++) {
		k = waitpid(ps->pid, &st, WNOHANG);
		if (k == 0)
			ps_sleep(NULL, 10);
	}
	if (k == 0) {
		kill(ps->pid, SIGKILL);
		while ((k = waitpid(ps->pid, &st, 0)) < 0 && errno == EINTR)
			;
	}
	if (k > 0 && WIFSIGNALED(st))
		snprintf(how, sizeof(how), "killed by signal %d%s", WTERMSIG(st),
			 WTERMSIG(st) == SIGSYS ? " (seccomp: forbidden system call)" : "");
	else if (k > 0 && WIFEXITED(st))
		snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(st));
	else
		snprintf(how, sizeof(how), "not reaped");
	if (why)
		LOG_W("privsep", "W3702", "uplink process %d stopped (%s): %s; restarting",
		      (int)ps->pid, why, how);
	for (int i = 0; i < 2; i++) {
		if (ps->fd[i] >= 0)
			close(ps->fd[i]);
		ps->fd[i] = -1;
	}
	ps->pid = 0;
	ps->died = 1;
	ps->died_ns = util_mono_ns();
	if (ps->died_ns - ps->started_ns > PRIVSEP_STABLE_NS)
		ps->backoff_ms = PRIVSEP_BACKOFF_MIN_MS;
	else if (ps->backoff_ms < PRIVSEP_BACKOFF_MAX_MS)
		ps->backoff_ms = ps->backoff_ms * 2 > PRIVSEP_BACKOFF_MAX_MS
				     ? PRIVSEP_BACKOFF_MAX_MS
				     : ps->backoff_ms * 2;
}

/* Forks and executes the uplink process, hands it INIT and waits for READY.
 * Locked. */
static int ps_spawn(struct privsep *ps)
{
	int up[2] = {-1, -1}, cmd[2] = {-1, -1};
	char a_uid[24], a_gid[24], a_ppid[24];
	char *argv[] = {"yamori-agent", "uplink-child", "--uid",  a_uid,
			"--gid",	a_gid,		"--ppid", a_ppid,
			"--log-level",	ps->log_level,	NULL};
	char *envp[4] = {NULL, NULL, NULL, NULL};
	const char *keep[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
	char envbuf[3][512];
	size_t ne = 0;
	struct psframe_rd rd;
	struct psframe f;
	sigset_t all;
	pid_t pid;
	int r = YM_E_IO;

	psframe_rd_init(&rd, PSFRAME_FROM_CHILD);
	snprintf(a_uid, sizeof(a_uid), "%u", (unsigned)ps->cfg.uid);
	snprintf(a_gid, sizeof(a_gid), "%u", (unsigned)ps->cfg.gid);
	snprintf(a_ppid, sizeof(a_ppid), "%d", (int)getpid());
	/* a clean environment: only the sanitizers' settings go through */
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);
		if (v && snprintf(envbuf[ne], sizeof(envbuf[ne]), "%s=%s", keep[i], v) <
			     (int)sizeof(envbuf[ne])) {
			envp[ne] = envbuf[ne];
			ne++;
		}
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, up) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cmd) < 0)
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		/* only async-signal-safe calls from here to the exec: this
		 * process is a copy of a multi-threaded one */
		int u = fcntl(up[1], F_DUPFD, 10), c = fcntl(cmd[1], F_DUPFD, 10);
		int e = fcntl(ps->exe_fd, F_DUPFD_CLOEXEC, 10);

		if (u < 0 || c < 0 || e < 0 || dup2(u, PRIVSEP_FD_UPLINK) < 0 ||
		    dup2(c, PRIVSEP_FD_CMD) < 0 || dup2(e, 5) < 0 ||
		    fcntl(5, F_SETFD, FD_CLOEXEC) < 0)
			_exit(126);
		/* nothing of the root agent's descriptors (spool, lock, sensors,
		 * eBPF maps) goes further */
		if (syscall(SYS_close_range, 6u, ~0u, 0u) < 0)
			_exit(126);
		/* sent when the forking thread (a root thread that lives until
		 * the agent stops) ends */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		syscall(SYS_execveat, 5, "", argv, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	close(up[1]);
	close(cmd[1]);
	up[1] = cmd[1] = -1;
	ps->pid = pid;
	ps->fd[PRIVSEP_UPLINK] = up[0];
	ps->fd[PRIVSEP_CMD] = cmd[0];
	up[0] = cmd[0] = -1;
	ps->gen++;
	ps->starts++;
	ps->started_ns = util_mono_ns();
	r = psframe_send(ps->fd[PRIVSEP_UPLINK], PSF_INIT, ps->init.data, ps->init.len, NULL, 0,
			 PRIVSEP_START_MS, ps->cfg.stop);
	if (r == 0)
		r = psframe_recv(ps->fd[PRIVSEP_UPLINK], &rd, PRIVSEP_START_MS, ps->cfg.stop, &f);
	if (r == 0) {
		struct cursor c;
		uint32_t ver = 0;

		cursor_init(&c, f.payload, f.len);
		if (f.type != PSF_READY || cursor_get_u32(&c, &ver) || cursor_left(&c) != 0 ||
		    ver != PSFRAME_VERSION)
			r = YM_E_PARSE;
	}
	if (r) {
		ps_reap(ps, NULL);
		if (!(ps->cfg.stop && atomic_load(ps->cfg.stop)))
			LOG_E("privsep", "E3701",
			      "cannot start the uplink process: %s; retrying in %llu ms",
			      ym_strerror(r), (unsigned long long)ps->backoff_ms);
		r = YM_E_IO;
		goto out;
	}
	LOG_I("privsep", "uplink process %d running as uid %u gid %u", (int)pid,
	      (unsigned)ps->cfg.uid, (unsigned)ps->cfg.gid);
	ps->died = 0;
	r = 0;
out:
	psframe_rd_free(&rd);
	for (int i = 0; i < 2; i++) {
		if (up[i] >= 0)
			close(up[i]);
		if (cmd[i] >= 0)
			close(cmd[i]);
	}
	return r;
}

int privsep_channel(struct privsep *ps, int ch, int *fd, uint64_t *gen)
{
	int r = 0, d;

	if (ch != PRIVSEP_UPLINK && ch != PRIVSEP_CMD)
		return YM_E_INVAL;
	pthread_mutex_lock(&ps->mu);
	while (ps->pid == 0) {
		if (ps->cfg.stop && atomic_load(ps->cfg.stop)) {
			r = YM_E_NOTFOUND;
			goto out;
		}
		if (ps->died) {
			uint64_t since = (util_mono_ns() - ps->died_ns) / 1000000u;
			if (since < ps->backoff_ms)
				ps_sleep(ps->cfg.stop, ps->backoff_ms - since);
			if (ps->cfg.stop && atomic_load(ps->cfg.stop)) {
				r = YM_E_NOTFOUND;
				goto out;
			}
		}
		r = ps_spawn(ps);
		if (r)
			goto out;
	}
	d = fcntl(ps->fd[ch], F_DUPFD_CLOEXEC, 0);
	if (d < 0) {
		r = YM_E_IO;
		goto out;
	}
	*fd = d;
	*gen = ps->gen;
out:
	pthread_mutex_unlock(&ps->mu);
	return r;
}

void privsep_fail(struct privsep *ps, uint64_t gen, const char *why)
{
	pthread_mutex_lock(&ps->mu);
	if (ps->pid != 0 && gen == ps->gen)
		ps_reap(ps, (ps->cfg.stop && atomic_load(ps->cfg.stop)) ? NULL : why);
	pthread_mutex_unlock(&ps->mu);
}

pid_t privsep_pid(struct privsep *ps)
{
	pid_t p;
	pthread_mutex_lock(&ps->mu);
	p = ps->pid;
	pthread_mutex_unlock(&ps->mu);
	return p;
}

uint64_t privsep_starts(struct privsep *ps)
{
	uint64_t n;
	pthread_mutex_lock(&ps->mu);
	n = ps->starts;
	pthread_mutex_unlock(&ps->mu);
	return n;
}

void privsep_shutdown(struct privsep *ps)
{
	if (!ps)
		return;
	pthread_mutex_lock(&ps->mu);
	for (int i = 0; i < 2; i++)
		if (ps->fd[i] >= 0)
			shutdown(ps->fd[i], SHUT_RDWR);
	pthread_mutex_unlock(&ps->mu);
}

void privsep_free(struct privsep *ps)
{
	if (!ps)
		return;
	pthread_mutex_lock(&ps->mu);
	if (ps->pid != 0)
		ps_reap(ps, NULL);
	pthread_mutex_unlock(&ps->mu);
	if (ps->init.data)
		explicit_bzero(ps->init.data, ps->init.alloc);
	buf_free(&ps->init);
	if (ps->exe_fd >= 0)
		close(ps->exe_fd);
	pthread_mutex_destroy(&ps->mu);
	free(ps);
}

/* ---- the uplink process's side ---- */

static int ps_caps_zero(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	memset(d, 0xff, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return -1;
	return 0;
}

int privsep_drop(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int last = 63;
	char *text = NULL;
	size_t len;

	if (uid == 0 || gid == 0)
		return YM_E_AUTH;
	if (util_read_file("/proc/sys/kernel/cap_last_cap", 16, &text, &len) == 0) {
		uint64_t v;
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = 0;
		if (util_parse_u64(text, 0, 63, &v) == 0)
			last = (int)v;
		free(text);
	}
	/* the bounding set needs CAP_SETPCAP: before the uid changes */
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return YM_E_AUTH;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return YM_E_AUTH;
	/* the uid change cleared permitted, effective and ambient; make sure */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (ps_caps_zero() < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return YM_E_AUTH;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != uid ||
	    eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return YM_E_AUTH;
	if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0 || getgroups(0, NULL) != 0)
		return YM_E_AUTH;
	return 0;
}

#ifdef YM_HAVE_SECCOMP
/* SCMP_A0() and friends leave datum_b out, which clang warns about */
static struct scmp_arg_cmp ps_arg(unsigned arg, enum scmp_compare op, scmp_datum_t a,
				  scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};
	return c;
}

int privsep_seccomp(void)
{
	/* what libcurl (threaded resolver), OpenSSL, glibc's resolver and NSS,
	 * and the two threads of the uplink process call */
	static const char *allow[] = {
	    "read",
	    "write",
	    "readv",
	    "writev",
	    "pread64",
	    "close",
	    "fstat",
	    "newfstatat",
	    "fstatat64",
	    "stat",
	    "lstat",
	    "statx",
	    "lseek",
	    "_llseek",
	    "mmap",
	    "mmap2",
	    "munmap",
	    "mprotect",
	    "mremap",
	    "madvise",
	    "brk",
	    "rt_sigaction",
	    "rt_sigprocmask",
	    "rt_sigreturn",
	    "sigaltstack",
	    "futex",
	    "futex_time64",
	    "set_robust_list",
	    "get_robust_list",
	    "rseq",
	    "set_tid_address",
	    "exit",
	    "exit_group",
	    "gettid",
	    "getpid",
	    "getppid",
	    "getuid",
	    "geteuid",
	    "getgid",
	    "getegid",
	    "getresuid",
	    "getresgid",
	    "getgroups",
	    "nanosleep",
	    "clock_nanosleep",
	    "clock_nanosleep_time64",
	    "clock_gettime",
	    "clock_gettime64",
	    "clock_getres",
	    "gettimeofday",
	    "time",
	    "getrandom",
	    "poll",
	    "ppoll",
	    "ppoll_time64",
	    "select",
	    "pselect6",
	    "pselect6_time64",
	    "epoll_create1",
	    "epoll_ctl",
	    "epoll_wait",
	    "epoll_pwait",
	    "epoll_pwait2",
	    "eventfd2",
	    "pipe",
	    "pipe2",
	    "socketpair",
	    "connect",
	    "getsockopt",
	    "setsockopt",
	    "getsockname",
	    "getpeername",
	    "sendto",
	    "recvfrom",
	    "sendmsg",
	    "recvmsg",
	    "sendmmsg",
	    "recvmmsg",
	    "bind",
	    "shutdown",
	    "fcntl",
	    "fcntl64",
	    "access",
	    "faccessat",
	    "faccessat2",
	    "readlink",
	    "readlinkat",
	    "getdents64",
	    "uname",
	    "sched_yield",
	    "sched_getaffinity",
	    "getrlimit",
	    "prlimit64",
	    "restart_syscall",
	    "getcwd",
	    "dup",
	    "membarrier",
	    "sysinfo",
	    "getpriority",
	    "fstatfs",
	    "statfs",
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = YM_E_IO, k = 0;

	if (!ctx)
		return YM_E_IO;
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]) && k == 0; i++) {
		int nr = seccomp_syscall_resolve_name(allow[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* sockets: IP, local (nscd, resolver) and route netlink (getaddrinfo) */
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     ps_arg(0, SCMP_CMP_EQ, AF_INET, 0));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     ps_arg(0, SCMP_CMP_EQ, AF_INET6, 0));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     ps_arg(0, SCMP_CMP_EQ, AF_UNIX, 0));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     ps_arg(0, SCMP_CMP_EQ, AF_NETLINK, 0),
				     ps_arg(2, SCMP_CMP_EQ, 0, 0));
	/* files: read-only, never created (anything else: killed) */
	if (k == 0)
		k = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    ps_arg(2, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	if (k == 0 && seccomp_syscall_resolve_name("open") != __NR_SCMP_ERROR) {
		k = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
		    ps_arg(1, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	}
	/* threads only: clone must share the thread group; clone3's flags sit
	 * in memory a filter cannot read, so it fails and glibc falls back */
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     ps_arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* ioctl: non-blocking mode, pending bytes, isatty() */
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     ps_arg(1, SCMP_CMP_EQ, FIONREAD, 0));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     ps_arg(1, SCMP_CMP_EQ, FIONBIO, 0));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     ps_arg(1, SCMP_CMP_EQ, TCGETS, 0));
	/* signals only to its own threads (abort, raise) */
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				     ps_arg(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
	/* prctl: only reading or setting names of threads (glibc, sanitizers) */
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     ps_arg(0, SCMP_CMP_EQ, PR_GET_NAME, 0));
	if (k == 0)
		k = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     ps_arg(0, SCMP_CMP_EQ, PR_SET_NAME, 0));
	if (k == 0 && seccomp_load(ctx) == 0)
		r = 0;
	seccomp_release(ctx);
	return r;
}
#else
int privsep_seccomp(void)
{
	return YM_E_UNSUPPORTED;
}
#endif
