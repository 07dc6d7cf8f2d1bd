// SPDX-License-Identifier: GPL-2.0
/* net.bpf.c: the network family's kernel side (docs/sensors.md "Network").
 *
 * raw_tp/sys_enter + sys_exit for connect, accept, accept4 and listen: at the
 * exit of a successful call the socket is read through the descriptor, so
 * both ends are known (cgroup/connect4 runs before the source port exists).
 * cgroup/sendmsg4/6 see datagrams of unconnected UDP sockets (one record per
 * socket and peer, remembered in an LRU map) and cgroup/post_bind4/6 see
 * binds. The cgroup programs always return 1: they observe, never block.
 * A failed ring buffer reserve increments the per-CPU counter "drops". */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "net.h"
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
#define S_IFMT	     00170000
#define S_IFSOCK     0140000
#define SOCK_STREAM  1

/* x86_64 and arm64 (generic) syscall numbers */
#if defined(__TARGET_ARCH_x86)
#define NR_CONNECT 42
#define NR_ACCEPT  43
#define NR_LISTEN  50
#define NR_ACCEPT4 288
#elif defined(__TARGET_ARCH_arm64)
#define NR_CONNECT 203
#define NR_ACCEPT  202
#define NR_LISTEN  201
#define NR_ACCEPT4 242
#endif

const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 << 10);
} events SEC(".maps");

YM_BPF_DROPS_MAP(1);

/* pid_tgid -> (syscall nr, fd, connect's address) between enter and exit */
struct call {
	__u32 nr;
	__s32 fd;
	__u64 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct call);
} calls SEC(".maps");

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

static __always_inline struct net_rec *rec_new(__u32 action)
{
	struct net_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		ym_count_drop(0);
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->action = action;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->ts_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	return r;
}

/* the socket behind fd of the current task, or 0 */
static __always_inline struct sock *fd_sock(__s32 fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(t, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(t, files, fdt, max_fds);
	struct file *f = 0;
	struct socket *so;

	if (fd < 0 || (unsigned int)fd >= max)
		return 0;
	if (bpf_core_read(&f, sizeof(f), &fds[fd]) || !f)
		return 0;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : 0;
}

static __always_inline int sock_fill(struct net_rec *r, struct sock *sk)
{
	__u16 af = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (af != AF_INET && af != AF_INET6)
		return -1;
	r->af = af;
	r->proto = (__u8)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
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

SEC("raw_tp/sys_enter")
int net_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = ctx->args[1];
	__u64 id = bpf_get_current_pid_tgid();
	struct call c;

	if (nr != NR_CONNECT && nr != NR_ACCEPT && nr != NR_ACCEPT4 && nr != NR_LISTEN)
		return 0;
	if ((id >> 32) == self_tgid)
		return 0;
	c.nr = (__u32)nr;
	c.fd = (__s32)PT_REGS_PARM1_CORE_SYSCALL(regs);
	c.addr = PT_REGS_PARM2_CORE_SYSCALL(regs);
	bpf_map_update_elem(&calls, &id, &c, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_exit")
int net_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	__u64 id = bpf_get_current_pid_tgid();
	struct call *c = bpf_map_lookup_elem(&calls, &id);
	struct net_rec *r;
	struct sock *sk;
	__u32 action;
	__s32 fd;

	if (!c)
		return 0;
	/* the syscall number at exit: orig_ax on x86 */
	(void)regs;
	fd = c->fd;
	if (c->nr == NR_CONNECT) {
		/* attempts count, whatever the peer answered; not calls the
		 * kernel refused before trying */
		action = NET_REC_CONNECT;
		if (ret == -EBADF || ret == -EFAULT || ret == -EINVAL || ret == -ENOTSOCK ||
		    ret == -EAFNOSUPPORT || ret == -EISCONN || ret == -EALREADY)
			goto out;
	} else if (c->nr == NR_LISTEN) {
		action = NET_REC_LISTEN;
		if (ret != 0)
			goto out;
	} else {
		action = NET_REC_ACCEPT;
		if (ret < 0)
			goto out;
		fd = (__s32)ret;
	}
	sk = fd_sock(fd);
	if (!sk)
		goto out;
	r = rec_new(action);
	if (!r)
		goto out;
	if (sock_fill(r, sk) != 0 || (action == NET_REC_CONNECT && peer_fill(r, c->addr) != 0)) {
		bpf_ringbuf_discard(r, 0);
		goto out;
	}
	bpf_ringbuf_submit(r, 0);
out:
	bpf_map_delete_elem(&calls, &id);
	return 0;
}

static __always_inline void sendmsg_rec(struct bpf_sock_addr *ctx, int v6)
{
	struct peer p = {};
	struct bpf_sock *sk = ctx->sk;
	struct net_rec *r;
	__u8 one = 1;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid || !sk)
		return;
	p.cookie = bpf_get_socket_cookie(ctx);
	p.port = ctx->user_port;
	if (v6) {
		p.ip[0] = ctx->user_ip6[0];
		p.ip[1] = ctx->user_ip6[1];
		p.ip[2] = ctx->user_ip6[2];
		p.ip[3] = ctx->user_ip6[3];
	} else {
		p.ip[0] = ctx->user_ip4;
	}
	if (bpf_map_lookup_elem(&peers, &p))
		return;
	bpf_map_update_elem(&peers, &p, &one, BPF_ANY);
	r = rec_new(NET_REC_CONNECT);
	if (!r)
		return;
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
	bpf_ringbuf_submit(r, 0);
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
	struct net_rec *r;

	/* TCP: listen(2) and connect(2) say more than the bind before them */
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid || sk->type == SOCK_STREAM)
		return;
	r = rec_new(NET_REC_BIND);
	if (!r)
		return;
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
	bpf_ringbuf_submit(r, 0);
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
