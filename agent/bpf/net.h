/* net.h: the record the network family's eBPF programs (net.bpf.c) put in
 * their ring buffer, shared with the loader (agent/family_net_bpf.c). Fixed
 * width types only; the size is checked below. */
#ifndef YM_AGENT_BPF_NET_H
#define YM_AGENT_BPF_NET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum net_rec_action {
	NET_REC_CONNECT =
	    1, /* connect(2) returned 0 or EINPROGRESS; or a UDP datagram to a new peer */
	NET_REC_ACCEPT = 2, /* accept(2)/accept4(2) returned a socket */
	NET_REC_LISTEN = 3, /* listen(2) returned 0 */
	NET_REC_BIND = 4,   /* bind(2) on a UDP or raw socket (post_bind) */
	NET_REC_MAX_ = 5,
};

struct net_rec {
	__u32 action; /* enum net_rec_action */
	__u32 pid;    /* tgid */
	__u32 uid;
	__u32 pad;
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u16 af;    /* AF_INET (2) or AF_INET6 (10) */
	__u8 proto;  /* IPPROTO_TCP (6), IPPROTO_UDP (17), ... */
	__u8 pad2;
	__u16 sport, dport;	   /* host order */
	__u8 saddr[16], daddr[16]; /* network order; 4 bytes used for AF_INET */
	char comm[16];
};

_Static_assert(sizeof(struct net_rec) == 80, "net_rec layout");

#endif
