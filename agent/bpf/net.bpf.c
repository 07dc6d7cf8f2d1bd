// SPDX-License-Identifier: GPL-2.0
/* net.bpf.c: the network family's kernel side (docs/sensors.md "Network").
 *
 * tp_btf/sys_exit for connect, accept, accept4 and listen: at the
 * exit of a successful call the socket is read through the descriptor, so
 * both ends are known (cgroup/connect4 runs before the source port exists).
 * cgroup/sendmsg4/6 see datagrams of unconnected UDP sockets (one record per
 * socket and peer, remembered in an LRU map) and cgroup/post_bind4/6 see
 * binds. The cgroup programs always return 1: they observe, never block.
 * tp_btf/io_uring_complete sees connect, accept and listen done through an
 * io_uring ring (no system call of theirs; below, "io_uring").
 * Repeats of a flow are counted in the kernel (net.h, NET_AGG_*; below,
 * "Aggregation"). A record the ring buffer cannot take adds the connections
 * it stood for to the per-CPU counter "drops". */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "net.h"
#include "sysx_maps.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET	     2
#define AF_INET6     10
#define EBADF	     9
#define EFAULT	     14
#define EINVAL	     22
#define ENOTSOCK     88
#define EAFNOSUPPORT 97
#define EISCONN	     106
#define EALREADY     114
#define EINPROGRESS  115
#define SOCK_STREAM  1

const volatile __u32 self_tgid = 0;

/* The kernel's tick rate (libbpf reads it from the kernel's configuration;
 * 0 when it has none to read): the aggregation's windows are counted in
 * jiffies where it is known (below, "Aggregation") */
extern unsigned long CONFIG_HZ __kconfig __weak;

/* 512 KiB hold 7,200 records (72 bytes with the header): 70 ms at 100,000
 * distinct flows/s. The pages are mapped twice and count twice in the
 * agent's RSS once touched, so 1 MiB (measured: 0.96 captured instead of
 * 0.94 in that storm) would cost 1 MiB more of the 20 MB budget. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 << 10);
} events SEC(".maps");

YM_BPF_DROPS_MAP(1);

/* UDP peers already reported: (socket cookie, peer) */
struct peer {
	__u64 cookie;
	__u32 ip[4];
	__u32 port;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct peer);
	__type(value, __u8);
} peers SEC(".maps");

static __always_inline void rec_init(struct net_rec *r, __u32 action)
{
	__builtin_memset(r, 0, sizeof(*r));
	r->action = action;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->count = 1;
}

/* r's time: the clock is read only for a record that is sent (~30-40 ns a
 * read on this paravirtualised host), not for a connection its flow counts */
static __always_inline __u64 rec_time(struct net_rec *r)
{
	if (!r->ts_ns)
		r->ts_ns = bpf_ktime_get_ns();
	return r->ts_ns;
}

/* Sends r; a full ring buffer loses the r->count connections it stands for,
 * which are counted. */
static __always_inline void rec_send(struct net_rec *r)
{
	rec_time(r);
	if (bpf_ringbuf_output(&events, r, sizeof(*r), 0) != 0)
		ym_count_drops(0, r->count);
}

/*
 * Aggregation. A flow is what a record says but the initiator's ephemeral
 * port: for a connect the local port, for an accept the remote one. Its
 * state is one 64-bit word changed only by atomic compare-and-exchange, so
 * every connection is counted exactly once, in a record or in a summary:
 *   bits 0..31   connections counted and not yet sent (pending)
 *   bits 32..62  generation, new for every map element, so a probe that
 *                still holds the pointer of an element that was deleted and
 *                reused fails its exchange (and looks the flow up again)
 *   bit 63       dead: the flusher is deleting the element; a probe that
 *                sees it sends its connection alone
 * A window's end is told by the jiffies counter where the kernel's tick
 * rate is known (one memory load; the clock is read only for a connection
 * sent alone: the window's first), so a window is 1 s to within one tick.
 * The probes never delete; net_flush (run by the loader about once a second)
 * sends every pending count as a summary and deletes the flows idle for
 * NET_AGG_IDLE_NS. A full map, or an exchange lost three times, sends the
 * connection alone: aggregation never loses one.
 */
#define FLOW_PENDING 0xffffffffull
#define FLOW_DEAD    (1ull << 63)

struct flow {
	__u32 pid, uid;
	__u8 action, proto;
	__u16 af;
	__u16 port; /* the service's: destination of a connect, local of an accept */
	__u16 pad;
	__u8 laddr[16], raddr[16];
};

struct flow_val {
	__u64 state;
	__u64 start_ns; /* the window's first connection (sent alone) */
	__u64 start_j;	/* the same in jiffies (CONFIG_HZ known) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_AGG_FLOWS);
	__type(key, struct flow);
	__type(value, struct flow_val);
} flows SEC(".maps");

__u64 flow_gen = 0;
/* set by the loader once it has run net_flush: without the flush, pending
 * counts would never be sent */
__u32 agg_on = 0;
/* elements of flows (added by the probes, deleted by net_flush): the
 * loader skips the flush while it is 0, read from the mapped .bss without
 * a system call (walking the map's 8,192 empty buckets cost ~0.35 ms a
 * second, a sixth of an idle agent's CPU) */
__u64 flows_live = 0;

static __always_inline void flow_key(struct flow *k, const struct net_rec *r)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->pid = r->pid;
	k->uid = r->uid;
	k->action = (__u8)r->action;
	k->proto = r->proto;
	k->af = r->af;
	k->port = r->action == NET_REC_ACCEPT ? r->sport : r->dport;
	__builtin_memcpy(k->laddr, r->saddr, 16);
	__builtin_memcpy(k->raddr, r->daddr, 16);
}

/* Sends the summary of n connections of flow k. */
static __always_inline void flow_summary(const struct flow *k, __u64 n, __u64 start)
{
	struct net_rec r;

	__builtin_memset(&r, 0, sizeof(r));
	r.action = k->action;
	r.pid = k->pid;
	r.uid = k->uid;
	r.count = (__u32)n;
	r.ts_ns = start;
	r.af = k->af;
	r.proto = k->proto;
	r.flags = NET_REC_F_AGG;
	if (k->action == NET_REC_ACCEPT)
		r.sport = k->port;
	else
		r.dport = k->port;
	__builtin_memcpy(r.saddr, k->laddr, 16);
	__builtin_memcpy(r.daddr, k->raddr, 16);
	rec_send(&r);
}

/* Whether a connection at jiffies j (CONFIG_HZ known) or at r's time opens
 * a new window of the flow whose window began at start_j, start */
static __always_inline int flow_window_over(struct net_rec *r, __u64 j, __u64 start_j, __u64 start)
{
	if (CONFIG_HZ)
		return (__s64)(j - start_j) >=
		       (__s64)(NET_AGG_WINDOW_NS / 1000000ull * CONFIG_HZ / 1000ull);
	return (__s64)(rec_time(r) - start) >= (__s64)NET_AGG_WINDOW_NS;
}

/* Returns 1 when r's connection was counted in its flow (nothing to send),
 * 0 when r is to be sent alone. */
static __always_inline int flow_count(struct net_rec *r)
{
	struct flow k;
	__u64 j;

	if (!agg_on)
		return 0;
	j = CONFIG_HZ ? bpf_jiffies64() : 0;
	flow_key(&k, r);
	for (int i = 0; i < 3; i++) {
		struct flow_val *v = bpf_map_lookup_elem(&flows, &k);
		__u64 s, start, start_j;

		if (!v) {
			struct flow_val nv = {};

			nv.state = (__sync_fetch_and_add(&flow_gen, 1) & 0x7fffffffull) << 32;
			nv.start_ns = rec_time(r);
			nv.start_j = j;
			/* fails when another CPU was first or the map is full:
			 * either way this one goes alone */
			if (bpf_map_update_elem(&flows, &k, &nv, BPF_NOEXIST) == 0)
				__sync_fetch_and_add(&flows_live, 1);
			return 0;
		}
		s = *(volatile __u64 *)&v->state;
		start = *(volatile __u64 *)&v->start_ns;
		start_j = *(volatile __u64 *)&v->start_j;
		if (s & FLOW_DEAD)
			return 0;
		if (flow_window_over(r, j, start_j, start)) {
			/* a new window, opened by this connection (sent alone);
			 * what the last one counted goes first */
			if (__sync_val_compare_and_swap(&v->state, s, s & ~FLOW_PENDING) != s)
				continue;
			v->start_ns = rec_time(r);
			v->start_j = j;
			if (s & FLOW_PENDING)
				flow_summary(&k, s & FLOW_PENDING, start);
			return 0;
		}
		if ((s & FLOW_PENDING) == FLOW_PENDING)
			return 0;
		if (__sync_val_compare_and_swap(&v->state, s, s + 1) == s)
			return 1;
	}
	return 0;
}

/* Sends r unless its flow counted it. */
static __always_inline void rec_flow(struct net_rec *r)
{
	if (!flow_count(r))
		rec_send(r);
}

struct flush_ctx {
	__u64 now;
};

static long flush_one(struct bpf_map *map, struct flow *k, struct flow_val *v, struct flush_ctx *c)
{
	__u64 s = *(volatile __u64 *)&v->state, start = v->start_ns, ns;
	int idle = (__s64)(c->now - start) >= (__s64)NET_AGG_IDLE_NS;

	if (s & FLOW_DEAD) {
		/* its delete failed last time */
		if (bpf_map_delete_elem(map, k) == 0)
			__sync_fetch_and_sub(&flows_live, 1);
		return 0;
	}
	if (!(s & FLOW_PENDING) && !idle)
		return 0;
	ns = s & ~FLOW_PENDING;
	if (idle)
		ns |= FLOW_DEAD;
	if (__sync_val_compare_and_swap(&v->state, s, ns) != s)
		return 0; /* a probe counted meanwhile: the next flush */
	if (s & FLOW_PENDING)
		flow_summary(k, s & FLOW_PENDING, start);
	if (idle && bpf_map_delete_elem(map, k) == 0)
		__sync_fetch_and_sub(&flows_live, 1);
	return 0;
}

/* Run by the loader (BPF_PROG_TEST_RUN), never attached: sends every
 * pending count and forgets idle flows. */
SEC("raw_tp")
int net_flush(void *ctx)
{
	struct flush_ctx c = {.now = bpf_ktime_get_ns()};

	(void)ctx;
	bpf_for_each_map_elem(&flows, flush_one, &c, 0);
	return 0;
}

/* bytes of struct sock_common read at once by sock_fill: its addresses,
 * ports and family lie in them (x86-64 6.x: the IPv6 addresses end at 88) */
#define NET_SK_HEAD 96

/* The fields of sk (a plain pointer: every read goes through the helper) */
static __always_inline int sock_fill_slow(struct net_rec *r, struct sock *sk)
{
	__u16 af = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (af != AF_INET && af != AF_INET6)
		return -1;
	r->af = af;
	r->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	r->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (af == AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(r->saddr, &s, 4);
		__builtin_memcpy(r->daddr, &d, 4);
	} else {
		bpf_core_read(r->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(r->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	return 0;
}

/* The same from a BTF pointer (ym_fd_sock's direct): plain loads */
static __always_inline int sock_fill_direct(struct net_rec *r, struct sock *sk)
{
	__u16 af = sk->__sk_common.skc_family;

	if (af != AF_INET && af != AF_INET6)
		return -1;
	r->proto = (__u8)BPF_CORE_READ_BITFIELD(sk, sk_protocol);
	r->af = af;
	r->sport = sk->__sk_common.skc_num;
	r->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (af == AF_INET) {
		__u32 s = sk->__sk_common.skc_rcv_saddr;
		__u32 d = sk->__sk_common.skc_daddr;

		__builtin_memcpy(r->saddr, &s, 4);
		__builtin_memcpy(r->daddr, &d, 4);
	} else {
		__builtin_memcpy(r->saddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(r->daddr, &sk->__sk_common.skc_v6_daddr, 16);
	}
	return 0;
}

/* The same from one read of sock_common's head, where this kernel's layout
 * puts every field in it (the offsets are CO-RE constants, so the test
 * below is decided at load time): one bpf_probe_read_kernel instead of six
 * (~12 ns each, two calls a connection) */
static __always_inline int sock_fill(struct net_rec *r, struct sock *sk)
{
	__u8 h[NET_SK_HEAD];
	__u32 o_fam = bpf_core_field_offset(struct sock_common, skc_family);
	__u32 o_num = bpf_core_field_offset(struct sock_common, skc_num);
	__u32 o_dport = bpf_core_field_offset(struct sock_common, skc_dport);
	__u32 o_s4 = bpf_core_field_offset(struct sock_common, skc_rcv_saddr);
	__u32 o_d4 = bpf_core_field_offset(struct sock_common, skc_daddr);
	__u32 o_s6 = bpf_core_field_offset(struct sock_common, skc_v6_rcv_saddr);
	__u32 o_d6 = bpf_core_field_offset(struct sock_common, skc_v6_daddr);
	__u16 af, port;

	r->proto = (__u8)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (o_fam > NET_SK_HEAD - 2 || o_num > NET_SK_HEAD - 2 || o_dport > NET_SK_HEAD - 2 ||
	    o_s4 > NET_SK_HEAD - 4 || o_d4 > NET_SK_HEAD - 4 || o_s6 > NET_SK_HEAD - 16 ||
	    o_d6 > NET_SK_HEAD - 16)
		return sock_fill_slow(r, sk);
	if (bpf_probe_read_kernel(h, sizeof(h), &sk->__sk_common))
		return -1;
	__builtin_memcpy(&af, h + o_fam, 2);
	if (af != AF_INET && af != AF_INET6)
		return -1;
	r->af = af;
	__builtin_memcpy(&port, h + o_num, 2);
	r->sport = port;
	__builtin_memcpy(&port, h + o_dport, 2);
	r->dport = bpf_ntohs(port);
	if (af == AF_INET) {
		__builtin_memcpy(r->saddr, h + o_s4, 4);
		__builtin_memcpy(r->daddr, h + o_d4, 4);
	} else {
		__builtin_memcpy(r->saddr, h + o_s6, 16);
		__builtin_memcpy(r->daddr, h + o_d6, 16);
	}
	return 0;
}

/* connect's destination from its sockaddr: a failed attempt's socket no
 * longer holds it */
static __always_inline int peer_fill(struct net_rec *r, __u64 uaddr)
{
	struct {
		__u16 family;
		__be16 port;
		__u32 v4_or_flow;
		__u8 v6[16];
	} sa = {};

	if (bpf_probe_read_user(&sa, sizeof(sa), (void *)uaddr) != 0 &&
	    bpf_probe_read_user(&sa, 8, (void *)uaddr) != 0)
		return -1;
	if (sa.family != r->af && !(r->af == AF_INET6 && sa.family == AF_INET))
		return -1; /* AF_UNSPEC: a disconnect */
	r->dport = bpf_ntohs(sa.port);
	__builtin_memset(r->daddr, 0, 16);
	if (sa.family == AF_INET6) {
		__builtin_memcpy(r->daddr, sa.v6, 16);
	} else if (r->af == AF_INET6) {
		/* an IPv4 peer of a dual-stack socket: v4-mapped */
		r->daddr[10] = 0xff;
		r->daddr[11] = 0xff;
		__builtin_memcpy(r->daddr + 12, &sa.v4_or_flow, 4);
	} else {
		__builtin_memcpy(r->daddr, &sa.v4_or_flow, 4);
	}
	return 0;
}

/* A system call's exit, no sys_enter program: through the dispatcher this
 * runs at every system call of the machine, so the number is tested first
 * (a program per system call costs ~25 ns even when it returns at once; as
 * raw_tp with a sys_enter program and a map lookup per call it was 30 + 43
 * ns more; docs/sensors.md). The descriptor and connect's address are read
 * at the exit from the registers the call was made with (saved at entry,
 * not changed by the call; arm64's first one is orig_x0). Both entry
 * programs below run it (agent/sysx.h). */
/* A watched call's exit (64-bit numbering); fl: the record's flags from
 * the call (a compat one's NET_REC_F_IA32 or _INT80: sent alone, never
 * summarised into a flow's count, so the mark is not lost) */
static __always_inline int net_call(long nr, long ret, __s32 fd, __u64 addr, int direct, __u8 fl)
{
	struct net_rec r;
	struct sock *sk;
	__u32 action;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	if (nr == NET_NR_CONNECT) {
		/* attempts count, whatever the peer answered; not calls the
		 * kernel refused before trying */
		action = NET_REC_CONNECT;
		if (ret == -EBADF || ret == -EFAULT || ret == -EINVAL || ret == -ENOTSOCK ||
		    ret == -EAFNOSUPPORT || ret == -EISCONN || ret == -EALREADY)
			return 0;
	} else if (nr == NET_NR_LISTEN) {
		action = NET_REC_LISTEN;
		if (ret != 0)
			return 0;
	} else {
		action = NET_REC_ACCEPT;
		if (ret < 0)
			return 0;
		fd = (__s32)ret;
	}
	sk = ym_fd_sock(fd, direct);
	if (!sk)
		return 0;
	rec_init(&r, action);
	if ((direct ? sock_fill_direct(&r, sk) : sock_fill(&r, sk)) != 0)
		return 0;
	/* A connect that succeeded or is under way left its peer in the
	 * socket, read with the rest above; only a failed one (whose socket
	 * was reset, port 0) needs the sockaddr from user memory (~40 ns a
	 * connect: a fault-tolerant user copy, twice when the first one
	 * failed) */
	if (action == NET_REC_CONNECT && ((ret != 0 && ret != -EINPROGRESS) || r.dport == 0) &&
	    peer_fill(&r, addr) != 0)
		return 0;
	r.flags |= fl;
	if (action == NET_REC_LISTEN || fl)
		rec_send(&r);
	else
		rec_flow(&r);
	return 0;
}

static __always_inline int net_sys(long nr, long ret, struct pt_regs *regs, int direct)
{
	if (nr != NET_NR_CONNECT && nr != NET_NR_ACCEPT && nr != NET_NR_ACCEPT4 &&
	    nr != NET_NR_LISTEN)
		return 0;
	return net_call(nr, ret, (__s32)PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
			direct, 0);
}

/* Attached alone it sees compat calls too, whose numbers are ia32's: left
 * to net_sys_compat */
SEC("tp_btf/sys_exit")
int BPF_PROG(net_sys_exit, struct pt_regs *regs, long ret)
{
	if (ym_is_compat())
		return 0;
	net_sys(YM_SYSCALL_NR(regs), ret, regs, 0);
	sysx_next(ctx, YM_SYSCALL_NR(regs), 0, SYSX_MOD_NET);
	return 0;
}

/* On the syscalls/sys_exit_NAME tracepoint of each watched call (the kernel
 * tests the number; agent/sysx.h) */
SEC("tracepoint/syscalls/sys_exit")
int net_sys_exit_tp(struct ym_sys_exit_tp *ctx)
{
	return net_sys(ctx->nr, ctx->ret, YM_SYSCALL_REGS(), 0);
}

/* The same two with the socket read by plain loads (bpf_rdonly_cast,
 * kernel 6.2+: ~45 of ~215 ns a run, stats on; docs/sensors.md): the loader
 * takes these where the kernel accepts them, else the two above. */
SEC("tp_btf/sys_exit")
int BPF_PROG(net_sys_dl, struct pt_regs *regs, long ret)
{
	if (ym_is_compat())
		return 0;
	net_sys(YM_SYSCALL_NR(regs), ret, regs, 1);
	sysx_next(ctx, YM_SYSCALL_NR(regs), 0, SYSX_MOD_NET);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit")
int net_sys_dl_tp(struct ym_sys_exit_tp *ctx)
{
	return net_sys(ctx->nr, ctx->ret, YM_SYSCALL_REGS(), 1);
}

#if defined(__TARGET_ARCH_x86)
/* Compat (ia32) system calls, int 0x80 from any task or a 32-bit task's
 * (NET_CALLS32): the dispatcher's compat table tail-calls this for their
 * numbers (agent/sysx.h; attached alone where it cannot, it returns at
 * once for a native call). connect, listen and accept4 of their own
 * numbers (ebx: the descriptor, ecx: connect's address), and the same
 * through socketcall (ebx: which, ecx: its arguments, three 32-bit words in
 * the caller's memory). bind and unconnected UDP come through the cgroup
 * programs, whatever the call. */
static __always_inline int net_compat_call(struct pt_regs *regs, long ret, int direct)
{
	long n = regs->orig_ax, nr;
	__u32 a[3] = {(__u32)regs->bx, (__u32)regs->cx, 0};

	if (n == NET_NR32_SOCKETCALL) {
		__u32 which = a[0];

		if (which == NET_SOCKETCALL_CONNECT)
			nr = NET_NR_CONNECT;
		else if (which == NET_SOCKETCALL_LISTEN)
			nr = NET_NR_LISTEN;
		else if (which == NET_SOCKETCALL_ACCEPT)
			nr = NET_NR_ACCEPT;
		else if (which == NET_SOCKETCALL_ACCEPT4)
			nr = NET_NR_ACCEPT4;
		else
			return 0;
		/* the kernel copied them at entry; a thread that changed them
		 * since makes this event name another socket or peer, as the
		 * 64-bit call's reread sockaddr would */
		if (bpf_probe_read_user(a, sizeof(a), (void *)(unsigned long)a[1]) != 0)
			return 0;
	} else if (n == NET_NR32_CONNECT) {
		nr = NET_NR_CONNECT;
	} else if (n == NET_NR32_LISTEN) {
		nr = NET_NR_LISTEN;
	} else if (n == NET_NR32_ACCEPT4) {
		nr = NET_NR_ACCEPT4;
	} else {
		return 0;
	}
	/* 64-bit code's segment: int 0x80 from a 64-bit program */
	return net_call(nr, ret, (__s32)a[0], a[1], direct,
			regs->cs == YM_USER_CS ? NET_REC_F_INT80 : NET_REC_F_IA32);
}

/* Both compat programs: attached alone they run at every system call and
 * leave a 64-bit one at once; tail-called they pass the call on to the
 * next module watching it (sysx_maps.h) */
static __always_inline int net_compat(void *ctx, struct pt_regs *regs, long ret, int direct)
{
	if (!ym_is_compat())
		return 0;
	net_compat_call(regs, ret, direct);
	sysx_next(ctx, regs->orig_ax, 1, SYSX_MOD_NET);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(net_sys_compat, struct pt_regs *regs, long ret)
{
	return net_compat(ctx, regs, ret, 0);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(net_sys_compat_dl, struct pt_regs *regs, long ret)
{
	return net_compat(ctx, regs, ret, 1);
}
#endif

/* the address a cgroup sock_addr program's caller passed (network order;
 * IPv4 in ip[0]) */
static __always_inline void ctx_ip(const struct bpf_sock_addr *ctx, int v6, __u32 ip[4])
{
	if (v6) {
		ip[0] = ctx->user_ip6[0];
		ip[1] = ctx->user_ip6[1];
		ip[2] = ctx->user_ip6[2];
		ip[3] = ctx->user_ip6[3];
	} else {
		ip[0] = ctx->user_ip4;
	}
}

static __always_inline void sendmsg_rec(struct bpf_sock_addr *ctx, int v6)
{
	struct peer p = {};
	struct bpf_sock *sk = ctx->sk;
	struct net_rec rec, *r = &rec;
	__u8 one = 1;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid || !sk)
		return;
	p.cookie = bpf_get_socket_cookie(ctx);
	p.port = ctx->user_port;
	ctx_ip(ctx, v6, p.ip);
	if (bpf_map_lookup_elem(&peers, &p))
		return;
	bpf_map_update_elem(&peers, &p, &one, BPF_ANY);
	rec_init(r, NET_REC_CONNECT);
	r->af = v6 ? AF_INET6 : AF_INET;
	r->proto = (__u8)ctx->protocol;
	r->sport = (__u16)sk->src_port;
	r->dport = bpf_ntohs((__u16)ctx->user_port);
	if (v6) {
		__u32 s[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};

		__builtin_memcpy(r->saddr, s, 16);
		__builtin_memcpy(r->daddr, p.ip, 16);
	} else {
		__u32 s = sk->src_ip4;

		__builtin_memcpy(r->saddr, &s, 4);
		__builtin_memcpy(r->daddr, p.ip, 4);
	}
	rec_flow(r);
}

SEC("cgroup/sendmsg4")
int net_sendmsg4(struct bpf_sock_addr *ctx)
{
	sendmsg_rec(ctx, 0);
	return 1;
}

SEC("cgroup/sendmsg6")
int net_sendmsg6(struct bpf_sock_addr *ctx)
{
	sendmsg_rec(ctx, 1);
	return 1;
}

static __always_inline void bind_rec(struct bpf_sock *sk, int v6)
{
	struct net_rec rec, *r = &rec;

	/* TCP: listen(2) and connect(2) say more than the bind before them */
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid || sk->type == SOCK_STREAM)
		return;
	rec_init(r, NET_REC_BIND);
	r->af = v6 ? AF_INET6 : AF_INET;
	r->proto = (__u8)sk->protocol;
	r->sport = (__u16)sk->src_port;
	if (v6) {
		__u32 s[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};

		__builtin_memcpy(r->saddr, s, 16);
	} else {
		__u32 s = sk->src_ip4;

		__builtin_memcpy(r->saddr, &s, 4);
	}
	rec_send(r);
}

/* TCP Fast Open: sendto or sendmsg with MSG_FASTOPEN connects a TCP socket
 * with no connect call (so the syscall programs above never see it), and
 * the kernel runs the cgroup connect hook from there too. What tells it
 * from a connect call here: the socket's fastopen_req, set only for the
 * send's duration. The socket is not bound yet: no source. */
static __always_inline void tfo_rec(struct bpf_sock_addr *ctx, int v6)
{
	struct net_rec rec, *r = &rec;
	struct tcp_sock *tp;
	__u32 d[4] = {};

	/* every connect of the machine runs this: the agent's own test last,
	 * since almost none is a Fast Open */
	if (ctx->type != SOCK_STREAM || !ctx->sk)
		return;
	tp = bpf_skc_to_tcp_sock(ctx->sk);
	if (!tp || !tp->fastopen_req || (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	rec_init(r, NET_REC_CONNECT);
	r->af = v6 ? AF_INET6 : AF_INET;
	r->proto = IPPROTO_TCP;
	r->flags = NET_REC_F_TFO;
	r->dport = bpf_ntohs((__u16)ctx->user_port);
	ctx_ip(ctx, v6, d);
	if (v6)
		__builtin_memcpy(r->daddr, d, 16);
	else
		__builtin_memcpy(r->daddr, d, 4);
	rec_flow(r);
}

SEC("cgroup/connect4")
int net_connect4(struct bpf_sock_addr *ctx)
{
	tfo_rec(ctx, 0);
	return 1;
}

SEC("cgroup/connect6")
int net_connect6(struct bpf_sock_addr *ctx)
{
	tfo_rec(ctx, 1);
	return 1;
}

SEC("cgroup/post_bind4")
int net_post_bind4(struct bpf_sock *sk)
{
	bind_rec(sk, 0);
	return 1;
}

SEC("cgroup/post_bind6")
int net_post_bind6(struct bpf_sock *sk)
{
	bind_rec(sk, 1);
	return 1;
}

/* --- io_uring --- */

/* An io_uring ring's IORING_OP_CONNECT, _ACCEPT and _LISTEN make no system
 * call: their completion is read instead, the request's layout relocated
 * against the running kernel's (CO-RE; a kernel without it refuses this
 * program only, and the loader runs without it). Each operation's struct
 * overlays the request's first bytes, whose first member is the socket's
 * file. The completion runs in the submitter, or in a worker thread of its
 * process (same descriptors, same memory). A multishot accept's later
 * completions name no request (the tracepoint's req is NULL): not seen. */
struct io_cqe___ym {
	__s32 res;
} __attribute__((preserve_access_index));

struct io_kiocb___ym {
	struct file *file;
	__u8 opcode;
	/* its result as the completion posts it (read here, not from the
	 * tracepoint's arguments, whose list changed across kernels) */
	struct io_cqe___ym cqe;
} __attribute__((preserve_access_index));

/* the caller's sockaddr: the kernel's own copy (the request's async data)
 * is given back before the completion is posted, so a failed attempt's
 * peer is read where the caller put it (a caller that rewrote it after the
 * submission shows what it wrote) */
struct io_connect___ym {
	struct sockaddr *addr;
} __attribute__((preserve_access_index));

struct io_accept___ym {
	__u32 file_slot;
} __attribute__((preserve_access_index));

/* enum io_uring_op (uapi, fixed) */
#define IOU_ACCEPT  13
#define IOU_CONNECT 16
#define IOU_LISTEN  57

SEC("tp_btf/io_uring_complete")
int BPF_PROG(net_uring_complete, void *ring, void *req)
{
	struct io_kiocb___ym *q = req;
	struct net_rec r;
	struct sock *sk;
	__u32 action;
	__s32 res;
	__u8 op;

	/* every completion of the machine passes here: the opcode first */
	if (!req)
		return 0;
	op = BPF_CORE_READ(q, opcode);
	if (op != IOU_CONNECT && op != IOU_ACCEPT && op != IOU_LISTEN)
		return 0;
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	res = BPF_CORE_READ(q, cqe.res);
	if (op == IOU_CONNECT) {
		/* as the system call's: attempts, not what was refused before
		 * trying */
		action = NET_REC_CONNECT;
		if (res == -EBADF || res == -EFAULT || res == -EINVAL || res == -ENOTSOCK ||
		    res == -EAFNOSUPPORT || res == -EISCONN || res == -EALREADY)
			return 0;
		sk = ym_file_sock(BPF_CORE_READ(q, file));
	} else if (op == IOU_LISTEN) {
		action = NET_REC_LISTEN;
		if (res != 0)
			return 0;
		sk = ym_file_sock(BPF_CORE_READ(q, file));
	} else {
		/* the new descriptor; one put in the ring's own table
		 * (file_slot) is in no descriptor table: not read */
		action = NET_REC_ACCEPT;
		if (res < 0 || BPF_CORE_READ((struct io_accept___ym *)req, file_slot) != 0)
			return 0;
		sk = ym_fd_sock(res, 0);
	}
	if (!sk)
		return 0;
	rec_init(&r, action);
	if (sock_fill(&r, sk) != 0)
		return 0;
	/* as the system call's: the socket holds the peer unless the attempt
	 * failed */
	if (action == NET_REC_CONNECT && ((res != 0 && res != -EINPROGRESS) || r.dport == 0) &&
	    peer_fill(&r, (__u64)BPF_CORE_READ((struct io_connect___ym *)req, addr)) != 0)
		return 0;
	r.flags |= NET_REC_F_URING;
	if (action == NET_REC_LISTEN)
		rec_send(&r);
	else
		rec_flow(&r);
	return 0;
}
