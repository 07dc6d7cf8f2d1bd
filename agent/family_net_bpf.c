#include "family_net_bpf.h"
#include "err.h"
#include "family_bpf_util.h"
#include "family_util.h"
#include "log.h"
#include "sysx.h"
#include "bpf/sysx.h"
#include "net.h"
#include "net.skel.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NET_BPF_LINKS 6
#define NB_TICK_MAX   4096 /* records read by tick(); the rest at the next poll */

static int net_bpf_direct_loads = 1;

struct family {
	struct family_env env;
	struct net_bpf *skel;
	int direct; /* the syscall program's _dl pair (net.bpf.c) loaded */
	struct bpf_link *links[NET_BPF_LINKS];
	struct sysx_reg *sysx;	   /* the syscall program on tracepoints or the dispatcher, */
	struct bpf_link *sys_link; /* or attached alone */
	struct bpf_link *uring_link; /* io_uring completions, or NULL */
	int uring;		     /* its program loaded and attached */
	struct sysx_reg *compat_reg; /* compat system calls (x86): net_sys_compat*, */
	struct bpf_link *compat_link; /* through the dispatcher or attached alone */
	struct ring_buffer *rb;
	int cg_fd;
	int handled;		       /* events this poll (the collector's count) */
	struct family_bpf_drain drain; /* this poll's bound */
	family_emit_fn emit;
	void *arg;
	uint64_t malformed;
	struct family_stats st;
	struct event ev;
	char sip[FAMILY_UTIL_IP_MAX], dip[FAMILY_UTIL_IP_MAX], proto[FAMILY_UTIL_U64_MAX];
	char sport[FAMILY_UTIL_U64_MAX], dport[FAMILY_UTIL_U64_MAX], pid[FAMILY_UTIL_U64_MAX];
	char uid[FAMILY_UTIL_U64_MAX];
	char count[FAMILY_UTIL_U64_MAX];
};

/* One record: an event, or a drop (counting every connection it stood for). */
static void nb_rec_one(struct family *f, const void *data, size_t size)
{
	static const char *const names[NET_REC_MAX_] = {"", "connect", "accept", "listen", "bind"};
	struct net_rec r;
	struct event *ev = &f->ev;
	int accept, peer, agg, rc = 0;
	const uint8_t *la, *ra;
	uint16_t lp, rp;
	uint64_t drop;

	if (size != sizeof(r)) {
		f->malformed++;
		f->st.drops++;
		return;
	}
	memcpy(&r, data, sizeof(r));
	agg = (r.flags & NET_REC_F_AGG) != 0;
	if (r.action == 0 || r.action >= NET_REC_MAX_ || (r.af != AF_INET && r.af != AF_INET6) ||
	    (r.flags & ~(NET_REC_F_AGG | NET_REC_F_URING | NET_REC_F_TFO | NET_REC_F_IA32 |
			 NET_REC_F_INT80)) != 0 ||
	    r.count == 0 || (!agg && r.count != 1) ||
	    (agg && r.action != NET_REC_CONNECT && r.action != NET_REC_ACCEPT)) {
		f->malformed++;
		f->st.drops++;
		return;
	}
	if (family_is_agent(&f->env, (int32_t)r.pid))
		return;
	/* one event; a summary (NET_REC_F_AGG) stands for r.count connections,
	 * all counted as drops when it is lost */
	drop = agg ? r.count : 1;
	f->handled++;
	accept = r.action == NET_REC_ACCEPT;
	peer = r.action == NET_REC_CONNECT || accept;
	la = r.saddr;
	ra = r.daddr;
	lp = r.sport;
	rp = r.dport;
	event_init(ev);
	/* the kernel's time of the call (a summary's: its window's start) */
	ev->ts_ns = family_bpf_util_wall_ns(&f->drain, r.ts_ns);
	ev->category = EVCAT_NETWORK_CONNECTION;
	if (family_util_ip(r.af, accept ? ra : la, f->sip) != 0 ||
	    family_util_ip(r.af, accept ? la : ra, f->dip) != 0) {
		f->st.drops += drop;
		return;
	}
	rc |= event_set_str(ev, "Action", names[r.action]);
	rc |= event_set_str(ev, "Protocol",
			    r.proto == IPPROTO_TCP   ? "tcp"
			    : r.proto == IPPROTO_UDP ? "udp"
						     : family_util_u64(r.proto, f->proto));
	rc |= event_set_str(ev, "Initiated", r.action == NET_REC_CONNECT ? "true" : "false");
	/* (a Fast Open connect is seen before its socket is bound) */
	if (!(r.flags & NET_REC_F_TFO))
		rc |= event_set_str(ev, "SourceIp", f->sip);
	if (!agg && !(r.flags & NET_REC_F_TFO)) /* a summary's initiators had different ports */
		rc |= event_set_str(ev, "SourcePort", family_util_u64(accept ? rp : lp, f->sport));
	rc |= event_set_str(ev, "SourceIsIpv6", r.af == AF_INET6 ? "true" : "false");
	if (peer) {
		rc |= event_set_str(ev, "DestinationIp", f->dip);
		rc |= event_set_str(ev, "DestinationPort",
				    family_util_u64(accept ? lp : rp, f->dport));
		rc |= event_set_str(ev, "DestinationIsIpv6", r.af == AF_INET6 ? "true" : "false");
	}
	if (agg)
		rc |= event_set_str(ev, "Count", family_util_u64(r.count, f->count));
	if (r.flags & NET_REC_F_URING) /* through an io_uring ring, no system call */
		rc |= event_set_str(ev, "IoUring", "true");
	/* a compat (32-bit) call: a 32-bit program's, or int 0x80 from 64-bit code */
	if (r.flags & (NET_REC_F_IA32 | NET_REC_F_INT80))
		rc |=
		    event_set_str(ev, "SyscallAbi", (r.flags & NET_REC_F_INT80) ? "int80" : "ia32");
	if (r.flags & NET_REC_F_TFO) /* sendto/sendmsg with MSG_FASTOPEN, no connect */
		rc |= event_set_str(ev, "FastOpen", "true");
	if (rc == 0)
		rc = family_util_user(&f->env, r.uid, ev, f->uid);
	if (rc != 0 || family_util_proc(&f->env, (int32_t)r.pid, ev, f->pid) < 0 ||
	    f->emit(f->arg, ev) != 0) {
		f->st.drops += drop;
		return;
	}
	f->st.events++;
}

/* ring_buffer callback: one record; stops the drain at the poll's max */
static int nb_record(void *ctx, void *data, size_t size)
{
	struct family *f = ctx;

	nb_rec_one(f, data, size);
	return family_bpf_util_counted(&f->drain);
}

/* Runs net_flush in the kernel: every count the flows hold goes to the ring
 * as a summary record. Returns 0 or YM_E_IO. */
static int nb_flush(struct family *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	if (bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.net_flush), &o) != 0)
		return YM_E_IO;
	return 0;
}

static void nb_stop(struct family *f)
{
	if (f == NULL)
		return;
	ring_buffer__free(f->rb);
	for (int i = 0; i < NET_BPF_LINKS; i++)
		bpf_link__destroy(f->links[i]);
	sysx_del(f->sysx);
	bpf_link__destroy(f->sys_link);
	sysx_del(f->compat_reg);
	bpf_link__destroy(f->compat_link);
	bpf_link__destroy(f->uring_link);
	net_bpf__destroy(f->skel);
	if (f->cg_fd >= 0)
		close(f->cg_fd);
	free(f);
}

static int nb_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	struct bpf_program *cg[NET_BPF_LINKS], *sys_tp = NULL, *sys_btf = NULL, *compat_prog = NULL;
	int rc = YM_E_NOMEM, err = 0;
	struct sysx_try tr;

	if (f == NULL)
		goto out;
	f->env = *env;
	f->cg_fd = -1;
	rc = family_bpf_util_cgroup_root(&f->cg_fd);
	if (rc != 0)
		goto out;
	/* the syscall program with direct loads where this kernel takes them
	 * (else, again, with helper reads), as a tracepoint program where sysx
	 * can attach one (if this kernel refuses it, again with the tp_btf
	 * one); the pair not chosen is not loaded */
	f->direct = net_bpf_direct_loads;
	/* first with the io_uring program and the compat one (x86), then
	 * without the compat one (W3621), then without the io_uring one
	 * (W3619, the compat one again), then the steps above */
	sysx_try_init(&tr, SYSX_COMPAT && sysx_compat_present(), 1);
	for (int tries = 0; tries < 12; tries++) {
		int tp;

		f->skel = net_bpf__open();
		if (f->skel == NULL) {
			rc = family_bpf_util_err(-errno);
			goto out;
		}
		f->skel->rodata->self_tgid = (uint32_t)env->self_pid;
		sys_tp = sysx_choose_direct(f->direct, f->skel->progs.net_sys_dl_tp,
					    f->skel->progs.net_sys_exit_tp);
		sys_btf = sysx_choose_direct(f->direct, f->skel->progs.net_sys_dl,
					     f->skel->progs.net_sys_exit);
		bpf_program__set_autoload(f->skel->progs.net_uring_complete, tr.uring);
#if SYSX_COMPAT
		compat_prog = sysx_choose_direct(f->direct, f->skel->progs.net_sys_compat_dl,
						 f->skel->progs.net_sys_compat);
		bpf_program__set_autoload(compat_prog, tr.compat);
		bpf_program__set_autoattach(compat_prog, false);
#endif
		tp = sysx_prepare(sys_tp, sys_btf);
		/* the dispatcher's maps where it may be used (sysx.h); without
		 * them (it refused) the programs run alone, as they then must */
		if (!tp || tr.compat)
			(void)sysx_share(f->skel->maps.sysx_progs, f->skel->maps.sysx_watch);
		err = net_bpf__load(f->skel);
		if (err == 0) {
			f->uring = tr.uring;
			break;
		}
		net_bpf__destroy(f->skel);
		f->skel = NULL;
		if (!sysx_try_next(&tr, "family_net", &f->direct, tp, err))
			break;
	}
	/* the syscall program on its tracepoints or through the shared
	 * dispatcher (net_flush is only run, the cgroup programs are attached
	 * below) */
	if (err == 0) {
		static const struct sysx_call calls[] = {NET_CALLS};

		err = sysx_attach(SYSX_MOD_NET, sys_tp, sys_btf, calls,
				  sizeof(calls) / sizeof(calls[0]), &f->sysx, &f->sys_link);
	}
	if (err != 0) {
		rc = family_bpf_util_err(err);
		goto out;
	}
	cg[0] = f->skel->progs.net_sendmsg4;
	cg[1] = f->skel->progs.net_sendmsg6;
	cg[2] = f->skel->progs.net_post_bind4;
	cg[3] = f->skel->progs.net_post_bind6;
	cg[4] = f->skel->progs.net_connect4;
	cg[5] = f->skel->progs.net_connect6;
	for (int i = 0; i < NET_BPF_LINKS; i++) {
		f->links[i] = bpf_program__attach_cgroup(cg[i], f->cg_fd);
		if (f->links[i] == NULL) {
			rc = family_bpf_util_err(-errno);
			goto out;
		}
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), nb_record, f, NULL);
	if (f->rb == NULL) {
		rc = YM_E_IO;
		goto out;
	}
	if (f->uring) {
		f->uring_link = bpf_program__attach(f->skel->progs.net_uring_complete);
		if (f->uring_link == NULL) {
			tr.uring_err = -errno;
			f->uring = 0;
		}
	}
	if (!f->uring)
		family_bpf_util_uring_off("W3619", "network (bpf)", "connect, accept and listen",
					  tr.uring_err);
	/* compat system calls (x86; elsewhere none: logged so): through
	 * the dispatcher's compat keys (sysx.h) */
	{
		static const uint32_t nrs32[] = {NET_CALLS32};

		sysx_compat_watch("family_net", "network (bpf)", SYSX_MOD_NET, compat_prog, nrs32,
				  sizeof(nrs32) / sizeof(nrs32[0]), &tr, &f->compat_reg,
				  &f->compat_link);
	}
	/* repeats are counted in the kernel only when the counts can be
	 * flushed: a kernel that refuses the test run sends every connection */
	if (nb_flush(f) == 0)
		f->skel->bss->agg_on = 1;
	LOG_I("family_net", "sockets by %s", family_net_bpf_reads(f));
	*out = f;
	f = NULL;
	rc = 0;
out:
	nb_stop(f);
	return rc;
}

static int nb_fd(const struct family *f)
{
	return ring_buffer__epoll_fd(f->rb);
}

/* Returns the events handled; max records at most were read (a full
 * drain returns max or more, so the collector comes back at once). */
static int nb_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	f->emit = emit;
	f->arg = arg;
	f->handled = 0;
	return family_bpf_util_poll(f->rb, &f->drain, max, &f->handled);
}

/* About once a second: the flows' pending counts become summaries, sent at
 * once (a summary is at most this late). */
static int nb_tick(struct family *f, family_emit_fn emit, void *arg)
{
	if (!f->skel->bss->agg_on)
		return 0;
	/* no flow, nothing pending or to forget: no walk of the empty map */
	if (__atomic_load_n(&f->skel->bss->flows_live, __ATOMIC_RELAXED) == 0)
		return 0;
	if (nb_flush(f) != 0)
		return YM_E_IO; /* counts would stay unsent: stop, reported */
	return nb_poll(f, NB_TICK_MAX, emit, arg) < 0 ? YM_E_IO : 0;
}

/* At the stop: what the flows counted since the last tick would go with
 * the map; sent now as summaries, as the next tick would, and read from the
 * ring (every pending count is one record: the ring's records are finite).
 * Returns the events emitted, or YM_E_IO. */
static int nb_final(struct family *f, family_emit_fn emit, void *arg)
{
	int n, got = 0;

	if (!f->skel->bss->agg_on ||
	    __atomic_load_n(&f->skel->bss->flows_live, __ATOMIC_RELAXED) == 0)
		return 0;
	if (nb_flush(f) != 0)
		return YM_E_IO;
	do {
		n = nb_poll(f, NB_TICK_MAX, emit, arg);
		got += n > 0 ? n : 0;
	} while (n >= NB_TICK_MAX);
	return n < 0 ? YM_E_IO : got;
}

/* Detaches the socket programs and the syscall watch; the ring, the flow
 * map and net_flush stay for the last polls and nb_final. */
static void nb_quiesce(struct family *f)
{
	for (int i = 0; i < NET_BPF_LINKS; i++) {
		bpf_link__destroy(f->links[i]);
		f->links[i] = NULL;
	}
	sysx_del(f->sysx);
	f->sysx = NULL;
	bpf_link__destroy(f->sys_link);
	f->sys_link = NULL;
	sysx_del(f->compat_reg);
	f->compat_reg = NULL;
	bpf_link__destroy(f->compat_link);
	f->compat_link = NULL;
	bpf_link__destroy(f->uring_link);
	f->uring_link = NULL;
}

static void nb_stats(const struct family *f, struct family_stats *out)
{
	uint64_t kdrops = 0;

	*out = f->st;
	if (family_bpf_util_percpu_sum(bpf_map__fd(f->skel->maps.drops), 0, &kdrops) == 0)
		out->drops += kdrops; /* ring buffer full in the kernel */
}

const char *family_net_bpf_reads(const struct family *f)
{
	return sysx_reads(f->direct);
}

void family_net_bpf_direct_loads(int allow)
{
	net_bpf_direct_loads = allow != 0;
}

const struct family_ops family_net_bpf_ops = {
    .family = "network",
    .mode = "bpf",
    .start = nb_start,
    .fd = nb_fd,
    .poll = nb_poll,
    .tick = nb_tick,
    .flush = nb_final,
    .quiesce = nb_quiesce,
    .stats = nb_stats,
    .stop = nb_stop,
};
