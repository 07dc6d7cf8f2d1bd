// SPDX-License-Identifier: GPL-2.0
/* dns.bpf.c: the dns family's kernel side (docs/sensors.md "DNS").
 *
 * cgroup_skb/egress and cgroup_skb/ingress on the root cgroup v2: UDP
 * datagrams to or from port 53 (IPv4 without fragments, IPv6 without
 * extension headers) are copied, at most DNS_REC_DATA bytes of payload, to
 * the ring buffer with the sending task at egress. Both programs always
 * return 1: they observe, never drop. A failed reserve increments "drops". */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dns.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP    0x0800
#define ETH_P_IPV6  0x86DD
#define IPPROTO_UDP 17
#define AF_INET	    2
#define AF_INET6    10

const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} events SEC(".maps");

YM_BPF_DROPS_MAP(1);

static __always_inline void dns_copy(struct __sk_buff *skb, __u8 dir)
{
	__u8 hdr[40];
	__u16 ports[3];
	__u32 l4;
	__u16 af;
	struct dns_rec *r;
	__u32 plen, n;
	/* Every packet of the machine passes here, 12 times per loopback TCP
	 * connection: the protocol byte is read in place (skb->data is the
	 * network header) where the header lies in the linear data, so the
	 * packets of other protocols leave without a helper call (half of
	 * these programs' time in a connect storm, by perf); UDP, and headers
	 * outside the linear data, take bpf_skb_load_bytes below. */
	const __u8 *data = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (data + 20 <= end && data[9] != IPPROTO_UDP)
			return;
		if (bpf_skb_load_bytes(skb, 0, hdr, 20) != 0 || hdr[9] != IPPROTO_UDP ||
		    (((hdr[6] << 8) | hdr[7]) & 0x3fff) != 0) /* MF or offset: a fragment */
			return;
		l4 = (hdr[0] & 0xf) * 4;
		af = AF_INET;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (data + 40 <= end && data[6] != IPPROTO_UDP)
			return;
		if (bpf_skb_load_bytes(skb, 0, hdr, 40) != 0 || hdr[6] != IPPROTO_UDP)
			return;
		l4 = 40;
		af = AF_INET6;
	} else {
		return;
	}
	if (l4 < 20 || l4 > 60 || bpf_skb_load_bytes(skb, l4, ports, 6) != 0)
		return;
	if (ports[0] != bpf_htons(53) && ports[1] != bpf_htons(53))
		return;
	plen = bpf_ntohs(ports[2]);
	if (plen < 8 + 12)
		return;
	plen -= 8;
	if (dir == DNS_DIR_EGRESS && (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		ym_count_drop(0);
		return;
	}
	r->pid = dir == DNS_DIR_EGRESS ? bpf_get_current_pid_tgid() >> 32 : 0;
	r->dir = dir;
	r->pad = 0;
	r->pad2 = 0;
	r->af = af;
	r->sport = bpf_ntohs(ports[0]);
	r->dport = bpf_ntohs(ports[1]);
	r->wire_len = plen;
	__builtin_memset(r->saddr, 0, 32);
	if (af == AF_INET) {
		__builtin_memcpy(r->saddr, hdr + 12, 4);
		__builtin_memcpy(r->daddr, hdr + 16, 4);
	} else {
		__builtin_memcpy(r->saddr, hdr + 8, 16);
		__builtin_memcpy(r->daddr, hdr + 24, 16);
	}
	n = plen > DNS_REC_DATA ? DNS_REC_DATA : plen;
	n &= 2 * DNS_REC_DATA - 1;
	if (n == 0 || n > DNS_REC_DATA || bpf_skb_load_bytes(skb, l4 + 8, r->data, n) != 0) {
		bpf_ringbuf_discard(r, 0);
		return;
	}
	r->len = n;
	bpf_ringbuf_submit(r, 0);
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	dns_copy(skb, DNS_DIR_EGRESS);
	return 1;
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	dns_copy(skb, DNS_DIR_INGRESS);
	return 1;
}
