/* net.h: the record the network family's eBPF programs (net.bpf.c) put in
 * their ring buffer, shared with the loader (agent/family_net_bpf.c). Fixed
 * width types only; the size is checked below. */
#ifndef YM_AGENT_BPF_NET_H
#define YM_AGENT_BPF_NET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* the system calls net_sys_exit watches: x86_64 and arm64 (generic) numbers
 * (the loader registers them with the dispatcher, agent/sysx.h; the build
 * targets one architecture: __TARGET_ARCH_* in the eBPF program, the
 * compiler's own in the agent) */
#if defined(__TARGET_ARCH_x86) || (!defined(__bpf__) && defined(__x86_64__))
#define NET_NR_CONNECT 42
#define NET_NR_ACCEPT  43
#define NET_NR_LISTEN  50
#define NET_NR_ACCEPT4 288
#elif defined(__TARGET_ARCH_arm64) || (!defined(__bpf__) && defined(__aarch64__))
#define NET_NR_CONNECT 203
#define NET_NR_ACCEPT  202
#define NET_NR_LISTEN  201
#define NET_NR_ACCEPT4 242
#endif
/* the same calls' ia32 numbers (int 0x80, a 32-bit task: net_sys_compat,
 * x86 only), and socketcall's, which multiplexes them (its first argument:
 * SYS_CONNECT...; the call's arguments in the caller's memory) */
#define NET_NR32_SOCKETCALL    102
#define NET_NR32_CONNECT       362
#define NET_NR32_LISTEN	       363
#define NET_NR32_ACCEPT4       364
#define NET_SOCKETCALL_CONNECT 3
#define NET_SOCKETCALL_LISTEN  4
#define NET_SOCKETCALL_ACCEPT  5
#define NET_SOCKETCALL_ACCEPT4 18
#define NET_CALLS32	       NET_NR32_SOCKETCALL, NET_NR32_CONNECT, NET_NR32_LISTEN, NET_NR32_ACCEPT4

/* the watched calls with their names (struct sysx_call, agent/sysx.h: the
 * loader's tracepoints or the dispatcher's numbers) */
#define NET_CALLS                                                                                  \
	{NET_NR_CONNECT, "connect"}, {NET_NR_ACCEPT, "accept"}, {NET_NR_LISTEN, "listen"},         \
	    {NET_NR_ACCEPT4, "accept4"},

enum net_rec_action {
	NET_REC_CONNECT =
	    1, /* connect(2) returned 0 or EINPROGRESS; or a UDP datagram to a new peer */
	NET_REC_ACCEPT = 2, /* accept(2)/accept4(2) returned a socket */
	NET_REC_LISTEN = 3, /* listen(2) returned 0 */
	NET_REC_BIND = 4,   /* bind(2) on a UDP or raw socket (post_bind) */
	NET_REC_MAX_ = 5,
};

/* Repeated connects and accepts of one flow (same process, uid, action,
 * protocol, addresses and the service's port: everything but the
 * initiator's ephemeral port) are counted in the kernel instead of being
 * sent one by one. The first connection of a flow, and the first after
 * NET_AGG_WINDOW_NS since the last one sent alone, is sent alone (count 1,
 * exact ports); the others are sent as summary records (NET_REC_F_AGG,
 * count = how many, the initiator's port 0: they had different ones) when
 * the next window opens or when the loader runs net_flush, about once a
 * second. Listen and bind records are never summarised. */
#define NET_AGG_WINDOW_NS 1000000000ull
/* a flow idle this long is forgotten (its pending count sent first) */
#define NET_AGG_IDLE_NS 10000000000ull
#define NET_AGG_FLOWS	8192

#define NET_REC_F_AGG 1 /* a summary of count connections, initiator's port unknown */
#define NET_REC_F_URING 2 /* done through an io_uring ring, not a system call */
/* a TCP Fast Open connect (sendto/sendmsg with MSG_FASTOPEN, no connect
 * call), seen before the kernel bound the socket: no source address or
 * port */
#define NET_REC_F_TFO 4
/* made as a compat (32-bit) system call: a 32-bit program's, or int 0x80
 * from 64-bit code (net_sys_compat: the saved code segment) */
#define NET_REC_F_IA32	8
#define NET_REC_F_INT80 16

struct net_rec {
	__u32 action; /* enum net_rec_action */
	__u32 pid;    /* tgid */
	__u32 uid;
	__u32 count;	    /* 1, or with NET_REC_F_AGG the connections summarised (>= 1) */
	__u64 ts_ns;	    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC; NET_REC_F_AGG: window start */
	__u16 af;	    /* AF_INET (2) or AF_INET6 (10) */
	__u8 proto;	    /* IPPROTO_TCP (6), IPPROTO_UDP (17), ... */
	__u8 flags;	    /* NET_REC_F_* */
	__u16 sport, dport; /* host order */
	__u8 saddr[16], daddr[16]; /* network order; 4 bytes used for AF_INET */
};

_Static_assert(sizeof(struct net_rec) == 64, "net_rec layout");

#endif
