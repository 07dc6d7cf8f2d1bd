/* dns.h: the record the dns family's eBPF programs (dns.bpf.c) put in their
 * ring buffer, shared with the loader (agent/family_dns_bpf.c). Fixed-width
 * types only; the size is checked below. */
#ifndef YM_AGENT_BPF_DNS_H
#define YM_AGENT_BPF_DNS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DNS_REC_DATA 1024 /* bytes of UDP payload copied; longer messages are cut */
/* A message of at most DNS_REC_SMALL bytes (nearly every query, most
 * answers) goes in a short record: DNS_REC_HEAD + DNS_REC_SMALL bytes of the
 * ring instead of the whole struct, ~3.3 times as many in the same ring
 * (bpf_ringbuf_reserve takes constant sizes only: two). */
#define DNS_REC_SMALL 256
#define DNS_REC_HEAD  64

#define DNS_DIR_EGRESS	0 /* sent by a local socket: pid is the sender */
#define DNS_DIR_INGRESS 1 /* received by a local socket: pid is the reader, or 0 (cgroup skb) */

/* dns_rec.flags */
#define DNS_REC_F_TCP 1 /* a message of a TCP stream (its 2-byte length not in data) */

/* slots of the programs' per-CPU "drops" map, summed by the loader */
#define DNS_DROP_RING	0 /* the ring buffer was full */
#define DNS_DROP_UNREAD 1 /* a datagram to or from port 53 whose payload could not be read */
#define DNS_DROPS	2

/* Addresses and ports are the datagram's (af: its IP version). With the
 * socket hooks the local end is the socket's own (its bound address, 0 for
 * a socket bound to the wildcard, as it is for the query and its
 * response alike), the remote end the peer's; with the cgroup skb programs
 * both come from the packet. */
struct dns_rec {
	__u32 pid;	/* tgid of the sender (egress) or reader (ingress), 0 if unknown */
	__u32 len;	/* bytes in data */
	__u32 wire_len; /* the message's real length (UDP: the payload's; TCP: its length prefix) */
	__u8 dir;
	__u8 flags; /* DNS_REC_F_* */
	__u16 af;
	__u16 sport, dport; /* host order */
	__u32 uid;	    /* the sender's (egress) or reader's real uid; (u32)-1 if unknown */
	__u64 ts_ns;	    /* bpf_ktime_get_ns() at the hook (CLOCK_MONOTONIC) */
	__u8 saddr[16], daddr[16];
	__u8 data[DNS_REC_DATA];
};

_Static_assert(sizeof(struct dns_rec) == DNS_REC_HEAD + DNS_REC_DATA, "dns_rec layout");

#endif
