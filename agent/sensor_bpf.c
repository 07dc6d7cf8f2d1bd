/* sensor_bpf: process events from the eBPF programs of bpf/proc.bpf.c
 * (tp_btf sched_process_exec/fork/exit and sys_exit), read from their
 * ring buffer. Everything about a process is read in the kernel at exec
 * time, so short-lived processes lose nothing to a /proc race.
 *
 * Records are parsed through bounds checks (a record's size must match its
 * type; every length must fit the record), although they come from our own
 * kernel program. Kernel-side drops (ring buffer full) are counted per
 * record type in the per-CPU map "drops" and summed in stats(). */
#include "sensor.h"
#include "buf.h"
#include "err.h"
#include "kpath.h"
#include "log.h"
#include "sysx.h"
#include "util.h"

#include "bpf/sysx.h"
#include "proc.h"
#include "proc.skel.h"

_Static_assert(PROC_ABI_IA32 == SENSOR_ABI_IA32 && PROC_ABI_INT80 == SENSOR_ABI_INT80,
	       "the record's abi is the message's");
_Static_assert(PROC_PATH_DEPTH <= KPATH_DEPTH_MAX, "kpath_join bounds the depth");

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SB_POLL_MS    100
#define SB_CMDLINE    (PROC_ARGS_MAX + 1)
#define SB_PATH	      (PROC_PATH_MAX + 2)
#define SB_MAX_CPUS   1024
#define SB_STOP_EARLY (-1000) /* callback's "max reached": record consumed, stop */
static int sb_direct_loads = 1;

struct sensor {
	struct proc_bpf *skel;
	int direct; /* proc_exec_dl loaded, not proc_exec */
	struct ring_buffer *rb;
	int fd;
	int sys_attached;	   /* the syscall program attached: syscall records flow */
	struct sysx_reg *sysx;	   /* the syscall program on tracepoints or the dispatcher, */
	struct bpf_link *sys_link; /* or attached alone */
	struct sysx_reg *compat_reg;  /* ... registered with the dispatcher, */
	struct bpf_link *compat_link; /* or attached alone */
	struct sensor_stats st;
	uint64_t kdrops; /* kernel-side drops, summed over CPUs and types */
	int ncpus;
	uint64_t ns_per_tick;
	int64_t mono_to_wall;
	/* the poll in progress */
	void (*cb)(void *arg, const struct sensor_msg *m);
	void *arg;
	int max, done;
	/* storage for the message being delivered */
	struct sensor_kinfo k;
	char cmdline[SB_CMDLINE];
	char image[SB_PATH], cwd[SB_PATH], modpath[SB_PATH];
	char cgroup[PROC_CG_MAX + 2];
	/* the last exec's cgroup path as the kernel sent it (cg_raw_len
	 * bytes) and whether a container id was in it: an exec in the same
	 * cgroup (a storm, a build, a service's workers) takes it again
	 * without joining and scanning the path (~800 instructions) */
	char cg_raw[PROC_CG_MAX];
	uint32_t cg_raw_len;
	int cg_has_ctr;
	char container[KPATH_ID_LEN + 1], tty[PROC_TTY_MAX + 1], comm[17], bpf_name[17];
	char modparams[PROC_UARG_MAX + 1];
};

__attribute__((format(printf, 2, 0))) static int sb_libbpf_print(enum libbpf_print_level level,
								 const char *fmt, va_list ap)
{
	char line[512];

	/* the verifier log is long: only at debug level */
	if (level == LIBBPF_DEBUG || log_level_current < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	LOG_D("sensor_bpf", "libbpf: %s", line);
	return 0;
}

static uint64_t sb_ticks(const struct sensor *s, uint64_t ns)
{
	return ns / s->ns_per_tick;
}

/* libc's memset, called: for a struct of a few hundred bytes the compiler's
 * inline form is `rep stosq`, ~100 cycles a record here (3 % of the
 * agent's CPU under exec storms, perf) where libc's vector stores take a
 * fraction of that. The volatile pointer keeps it a call. */
static void *(*const volatile sb_memset)(void *, int, size_t) = memset;

static void sb_hdr(struct sensor *s, const struct proc_hdr *h, struct sensor_msg *m)
{
	struct sensor_kinfo *k = &s->k;

	memset(m, 0, sizeof(*m));
	sb_memset(k, 0, sizeof(*k));
	m->pid = (int32_t)h->pid;
	m->ppid = (int32_t)h->ppid;
	m->ts_ns = (uint64_t)((int64_t)h->ts_ns + s->mono_to_wall);
	m->k = k;
	k->have = SENSOR_K_CREDS | SENSOR_K_START;
	k->uid = h->uid;
	k->gid = h->gid;
	k->euid = h->euid;
	k->egid = h->egid;
	k->loginuid = h->loginuid;
	k->sessionid = h->sessionid;
	k->start_time = sb_ticks(s, h->start_ns);
	k->parent_start_time = sb_ticks(s, h->parent_start_ns);
	k->cgroup_id = h->cgroup_id;
	memcpy(s->comm, h->comm, sizeof(h->comm));
	s->comm[16] = 0;
	k->comm = s->comm;
}

static int sb_exec(struct sensor *s, const struct proc_exec *e, size_t size, struct sensor_msg *m)
{
	struct sensor_kinfo *k = &s->k;
	size_t hdr = offsetof(struct proc_exec, data), need;
	const char *d = e->data;

	need = hdr + (size_t)e->args_len + e->exe_len + e->cwd_len + e->cg_len;
	if (size < hdr || need > size || e->args_len > PROC_ARGS_MAX ||
	    e->exe_len > PROC_PATH_MAX || e->cwd_len > PROC_PATH_MAX || e->cg_len > PROC_CG_MAX)
		return YM_E_PARSE;
	sb_hdr(s, &e->h, m);
	m->type = SENSOR_MSG_EXEC;
	if (!(e->flags & PROC_F_ARGS_FAIL)) {
		memcpy(s->cmdline, d, e->args_len);
		/* argv joined with spaces, as /proc/PID/cmdline is shown */
		for (size_t i = 0; i < e->args_len; i++)
			if (s->cmdline[i] == 0)
				s->cmdline[i] = ' ';
		k->cmdline_len = e->args_len;
		while (k->cmdline_len > 0 && s->cmdline[k->cmdline_len - 1] == ' ' &&
		       d[k->cmdline_len - 1] == 0)
			k->cmdline_len--;
		s->cmdline[k->cmdline_len] = 0;
		k->cmdline = s->cmdline;
		k->have |= SENSOR_K_CMDLINE;
		k->cmdline_truncated = (e->flags & PROC_F_ARGS_TRUNC) != 0;
	} else {
		s->st.partial++;
	}
	d += e->args_len;
	if (e->exe_len) {
		k->image_len = kpath_join(d, e->exe_len, s->image, sizeof(s->image) - 12);
		k->image_deleted = e->exe_nlink == 0;
		k->image_memfd = k->image_deleted && strncmp(s->image, "/memfd:", 7) == 0;
		/* as readlink(/proc/PID/exe) shows it */
		if (k->image_deleted && k->image_len) {
			memcpy(s->image + k->image_len, " (deleted)", 11);
			k->image_len += 10;
		}
		if (k->image_len) {
			k->image = s->image;
			k->have |= SENSOR_K_IMAGE | SENSOR_K_EXE_ID;
			k->exe_dev = makedev(e->exe_dev >> 20, e->exe_dev & 0xfffff);
			k->exe_ino = e->exe_ino;
			k->exe_size = e->exe_size;
			k->exe_mtime_s = e->exe_mtime_sec;
			/* as stat(2) shows them, so the hash cache hits (kpath.h) */
			k->exe_mtime_ns = kpath_nsec(e->exe_mtime_nsec);
			k->exe_ctime_s = e->exe_ctime_sec;
			k->exe_ctime_ns = kpath_nsec(e->exe_ctime_nsec);
		}
	}
	d += e->exe_len;
	if (!(e->flags & PROC_F_NO_CWD)) {
		k->cwd_len = kpath_join(d, e->cwd_len, s->cwd, sizeof(s->cwd));
		if (e->cwd_len == 0)
			k->cwd_len = 1; /* "/" itself */
		k->cwd = s->cwd;
		k->have |= SENSOR_K_CWD;
	}
	d += e->cwd_len;
	if (e->cg_len) {
		if (e->cg_len != s->cg_raw_len || memcmp(d, s->cg_raw, e->cg_len) != 0) {
			size_t n = kpath_join(d, e->cg_len, s->cgroup, sizeof(s->cgroup));

			s->cg_has_ctr = kpath_container_id(s->cgroup, n, s->container);
			memcpy(s->cg_raw, d, e->cg_len);
			s->cg_raw_len = e->cg_len;
		}
		if (s->cg_has_ctr)
			k->container_id = s->container;
		k->have |= SENSOR_K_CGROUP;
	}
	k->stdio_inet = e->stdio_inet & ((PROC_STDIO_IN | PROC_STDIO_OUT | PROC_STDIO_ERR) *
					 (1u | 1u << PROC_STDIO_PARENT_SHIFT));
	k->stdio_proto = e->stdio_proto;
	k->stdio_af = e->stdio_af;
	k->stdio_lport = e->stdio_lport;
	k->stdio_rport = e->stdio_rport;
	memcpy(k->stdio_raddr, e->stdio_raddr, sizeof(k->stdio_raddr));
	memcpy(s->tty, e->tty, PROC_TTY_MAX);
	s->tty[PROC_TTY_MAX] = 0;
	k->tty = s->tty[0] ? s->tty : NULL;
	if ((e->flags & (PROC_F_EXE_TRUNC | PROC_F_CWD_TRUNC)) != 0)
		s->st.partial++;
	return 0;
}

static int sb_sys(struct sensor *s, const struct proc_sys *r, size_t size, struct sensor_msg *m)
{
	struct sensor_kinfo *k = &s->k;

	if (size < offsetof(struct proc_sys, path))
		return YM_E_PARSE;
	sb_hdr(s, &r->h, m);
	switch (r->h.type) {
	case PROC_REC_PRIV:
		m->type = SENSOR_MSG_PRIV;
		break;
	case PROC_REC_PTRACE:
		m->type = SENSOR_MSG_PTRACE;
		break;
	case PROC_REC_MODULE:
		m->type = SENSOR_MSG_MODULE;
		if (size < sizeof(*r) || r->path_len > PROC_PATH_MAX || r->uarg_len >= PROC_UARG_MAX)
			return YM_E_PARSE;
		if (r->path_len) {
			kpath_join(r->path, r->path_len, s->modpath, sizeof(s->modpath));
			k->module_path = s->modpath;
		}
		memcpy(s->modparams, r->uarg, r->uarg_len);
		s->modparams[r->uarg_len] = 0;
		k->module_params = s->modparams;
		break;
	case PROC_REC_BPF:
		m->type = SENSOR_MSG_BPF;
		break;
	default:
		return YM_E_PARSE;
	}
	if (r->abi > PROC_ABI_INT80)
		return YM_E_PARSE;
	k->sys_nr = r->nr;
	k->sys_abi = r->abi;
	k->sys_ret = r->ret;
	memcpy(k->sys_args, r->args, sizeof(k->sys_args));
	k->cap_eff = r->cap_eff;
	k->bpf_prog_type = r->bpf_prog_type;
	k->bpf_insn_cnt = r->bpf_insn_cnt;
	memcpy(s->bpf_name, r->bpf_name, 16);
	s->bpf_name[16] = 0;
	k->bpf_name = s->bpf_name;
	return 0;
}

/* ring_buffer callback: one record */
static int sb_record(void *ctx, void *data, size_t size)
{
	struct sensor *s = ctx;
	struct proc_hdr h;
	struct sensor_msg m;
	int r = YM_E_PARSE;

	if (size == sizeof(struct proc_wake)) {
		struct proc_wake w;

		memcpy(&w, data, sizeof(w));
		if (w.type != PROC_REC_WAKE || w.size != sizeof(w))
			goto bad;
		return 0; /* it woke us (sb_idle): no event */
	}
	if (size < sizeof(h))
		goto bad;
	memcpy(&h, data, sizeof(h));
	if (h.size != size)
		goto bad;
	switch (h.type) {
	case PROC_REC_EXEC:
		r = sb_exec(s, data, h.size, &m);
		break;
	case PROC_REC_FORK:
		if (h.size != sizeof(struct proc_fork))
			goto bad;
		sb_hdr(s, &h, &m);
		m.type = SENSOR_MSG_FORK;
		r = 0;
		break;
	case PROC_REC_EXIT: {
		struct proc_exit x;
		if (h.size != sizeof(x))
			goto bad;
		memcpy(&x, data, sizeof(x));
		sb_hdr(s, &h, &m);
		m.type = SENSOR_MSG_EXIT;
		m.exit_code = x.exit_code;
		s->k.never_execd = (x.flags & PROC_X_NOEXEC) != 0;
		r = 0;
		break;
	}
	case PROC_REC_PRIV:
	case PROC_REC_PTRACE:
	case PROC_REC_MODULE:
	case PROC_REC_BPF:
		r = sb_sys(s, data, h.size, &m);
		break;
	default:
		break;
	}
	if (r)
		goto bad;
	s->st.msgs++;
	s->done++;
	s->cb(s->arg, &m);
	return s->done >= s->max ? SB_STOP_EARLY : 0;
bad:
	s->st.malformed++;
	s->done++;
	return s->done >= s->max ? SB_STOP_EARLY : 0;
}

static int sb_start(struct sensor **out)
{
	struct sensor *s = NULL;
	struct bpf_program *exec_prog = NULL;
	long tck = sysconf(_SC_CLK_TCK);
	int r = YM_E_NOMEM, e;
	struct sysx_try tr;

	libbpf_set_print(sb_libbpf_print);
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->fd = -1;
	s->ns_per_tick = tck > 0 ? 1000000000ull / (uint64_t)tck : 10000000ull;
	s->ncpus = libbpf_num_possible_cpus();
	r = YM_E_UNSUPPORTED;
	if (s->ncpus <= 0 || s->ncpus > SB_MAX_CPUS)
		goto out;
	/* the exec program with direct loads where this kernel takes them
	 * (else, again, the one with helper reads); the syscall program as a
	 * tracepoint program where sysx can attach one (if this kernel refuses
	 * it, again with the tp_btf one) */
	s->direct = sb_direct_loads;
	/* the compat program (x86) with each, and once without it when the
	 * load failed with it (W3621) */
	sysx_try_init(&tr, SYSX_COMPAT && sysx_compat_present(), 0);
	for (int tries = 0; tries < 6; tries++) {
		int tp;

		s->skel = proc_bpf__open();
		if (!s->skel)
			goto out;
		s->skel->rodata->self_tgid = (uint32_t)getpid();
		exec_prog = sysx_choose_direct(s->direct, s->skel->progs.proc_exec_dl,
					       s->skel->progs.proc_exec);
		tp = sysx_prepare(s->skel->progs.proc_sys_exit_tp, s->skel->progs.proc_sys_exit);
#if SYSX_COMPAT
		bpf_program__set_autoload(s->skel->progs.proc_sys_compat, tr.compat);
		bpf_program__set_autoattach(s->skel->progs.proc_sys_compat, false);
#endif
		/* the dispatcher's maps where it may be used (sysx.h); without
		 * them (it refused) the programs run alone, as they then must */
		if (!tp || tr.compat)
			(void)sysx_share(s->skel->maps.sysx_progs, s->skel->maps.sysx_watch);
		e = proc_bpf__load(s->skel);
		if (e == 0)
			break;
		proc_bpf__destroy(s->skel);
		s->skel = NULL;
		if (!sysx_try_next(&tr, "sensor_bpf", &s->direct, tp, e))
			break;
	}
	if (e) {
		r = (e == -EPERM || e == -EACCES) ? YM_E_AUTH : YM_E_UNSUPPORTED;
		LOG_I("sensor_bpf", "cannot load the process programs: %s", strerror(-e));
		goto out;
	}
	/* exec, fork and exit are the family; the syscall watch is a bonus */
	{
		struct bpf_link **el =
		    s->direct ? &s->skel->links.proc_exec_dl : &s->skel->links.proc_exec;

		*el = bpf_program__attach(exec_prog);
		s->skel->links.proc_fork = bpf_program__attach(s->skel->progs.proc_fork);
		s->skel->links.proc_exit = bpf_program__attach(s->skel->progs.proc_exit);
		if (!*el || !s->skel->links.proc_fork || !s->skel->links.proc_exit) {
			LOG_I("sensor_bpf", "cannot attach the process tracepoints: %s",
			      strerror(errno));
			goto out;
		}
	}
	LOG_I("sensor_bpf", "exec paths by %s", sensor_bpf_reads(s));
	{
		static const struct sysx_call calls[] = {PROC_CALLS};
		int e2 = sysx_attach(SYSX_MOD_PROC, s->skel->progs.proc_sys_exit_tp,
				     s->skel->progs.proc_sys_exit, calls,
				     sizeof(calls) / sizeof(calls[0]), &s->sysx, &s->sys_link);
		if (e2 == 0)
			s->sys_attached = 1;
		else
			LOG_W("sensor_bpf", "W3310",
			      "tp_btf/sys_exit refused (%s): no privilege, ptrace, module or bpf "
			      "events",
			      strerror(e2 < 0 && e2 > -4096 ? -e2 : EINVAL));
	}
#if SYSX_COMPAT
	/* compat system calls: through the dispatcher's compat keys (sysx.h) */
	if (s->sys_attached) {
		static const uint32_t nrs32[] = {PROC_CALLS32};

		sysx_compat_watch(
		    "sensor_bpf", "process (bpf)", SYSX_MOD_PROC, s->skel->progs.proc_sys_compat,
		    nrs32, sizeof(nrs32) / sizeof(nrs32[0]), &tr, &s->compat_reg, &s->compat_link);
	}
#endif
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), sb_record, s, NULL);
	if (!s->rb)
		goto out;
	s->fd = ring_buffer__epoll_fd(s->rb);
	*out = s;
	s = NULL;
	r = 0;
out:
	if (s) {
		ring_buffer__free(s->rb);
		sysx_del(s->sysx);
		bpf_link__destroy(s->sys_link);
		sysx_del(s->compat_reg);
		bpf_link__destroy(s->compat_link);
		proc_bpf__destroy(s->skel);
		free(s);
	}
	return r;
}

static int sb_fd(const struct sensor *s)
{
	return s->fd;
}

static int sb_poll(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		   void *arg)
{
	int k;

	s->mono_to_wall = (int64_t)(util_now_ns() - util_mono_ns());
	s->cb = cb;
	s->arg = arg;
	s->max = max > 0 ? max : 1;
	s->done = 0;
	k = ring_buffer__consume(s->rb);
	if (k < 0 && k != SB_STOP_EARLY && k != -EINTR)
		return YM_E_IO;
	return s->done;
}

/* The consumer stops (on) or resumes its timer polls: while it sleeps, the
 * programs wake it with the next record (consumer_idle in proc.bpf.c). The
 * full barrier orders the store before the caller's next poll, which the
 * caller makes at once after on = 1. */
static void sb_idle(struct sensor *s, int on)
{
	__atomic_store_n(&s->skel->bss->consumer_idle, on ? 1u : 0u, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Detaches every program that writes to the ring (exec, fork, exit, the
 * syscall watch); the ring and its records stay. A program already
 * running may still commit its record: the caller's polls come after. */
static void sb_quiesce(struct sensor *s)
{
	struct bpf_link **links[] = {&s->skel->links.proc_exec, &s->skel->links.proc_exec_dl,
				     &s->skel->links.proc_fork, &s->skel->links.proc_exit};

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		bpf_link__destroy(*links[i]);
		*links[i] = NULL;
	}
	sysx_del(s->sysx);
	s->sysx = NULL;
	bpf_link__destroy(s->sys_link);
	s->sys_link = NULL;
	sysx_del(s->compat_reg);
	s->compat_reg = NULL;
	bpf_link__destroy(s->compat_link);
	s->compat_link = NULL;
	s->sys_attached = 0;
}

static void sb_stats(struct sensor *s, struct sensor_stats *out)
{
	uint64_t vals[SB_MAX_CPUS], sum = 0;
	int fd = bpf_map__fd(s->skel->maps.drops);

	for (uint32_t key = 0; key < PROC_REC_MAX_; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int c = 0; c < s->ncpus; c++) {
			if (key == PROC_DROP_ARGV_UNREAD)
				continue; /* delivered, only without argv (counted as partial) */
			sum += vals[c];
		}
	}
	if (sum > s->kdrops) {
		s->st.overruns++;
		LOG_W("sensor_bpf", "W3311", "ring buffer full: %llu process records lost",
		      (unsigned long long)(sum - s->kdrops));
		s->kdrops = sum;
	}
	s->st.lost = s->kdrops;
	*out = s->st;
}

static void sb_stop(struct sensor *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	sysx_del(s->sysx);
	bpf_link__destroy(s->sys_link);
	sysx_del(s->compat_reg);
	bpf_link__destroy(s->compat_link);
	proc_bpf__destroy(s->skel);
	free(s);
}

const char *sensor_bpf_reads(const struct sensor *s)
{
	return sysx_reads(s->direct);
}

void sensor_bpf_direct_loads(int allow)
{
	sb_direct_loads = allow != 0;
}

const struct sensor_ops sensor_bpf_ops = {
    .name = "bpf",
    .poll_interval_ms = SB_POLL_MS,
    .start = sb_start,
    .fd = sb_fd,
    .poll = sb_poll,
    .idle = sb_idle,
    .quiesce = sb_quiesce,
    .stats = sb_stats,
    .stop = sb_stop,
};
