/* dns.h: the record the dns family's eBPF programs (dns.bpf.c) put in their
 * ring buffer, shared with the loader (agent/family_dns_bpf.c). Fixed-width
 * types only; the size is checked below. */
#ifndef YM_AGENT_BPF_DNS_H
#define YM_AGENT_BPF_DNS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DNS_REC_DATA 1024 /* bytes of UDP payload copied; longer messages are cut */

#define DNS_DIR_EGRESS	0 /* sent by a local socket: pid is the sender */
#define DNS_DIR_INGRESS 1 /* received by a local socket: pid is meaningless */

struct dns_rec {
	__u32 pid;	/* tgid of the current task at egress, else 0 */
	__u32 len;	/* bytes in data */
	__u32 wire_len; /* the UDP payload's real length */
	__u8 dir;
	__u8 pad;
	__u16 af;
	__u16 sport, dport; /* host order */
	__u32 pad2;
	__u8 saddr[16], daddr[16];
	__u8 data[DNS_REC_DATA];
};

_Static_assert(sizeof(struct dns_rec) == 56 + DNS_REC_DATA, "dns_rec layout");

#endif
