/* family_dns_bpf: dns family, mode "bpf" (bpf/dns.bpf.c, bpf/dns.h):
 * cgroup_skb programs copy UDP port 53 payloads; queries are taken at egress
 * (with the sending process), responses at ingress, and both go through
 * family_dns_track. */
#ifndef YM_AGENT_FAMILY_DNS_BPF_H
#define YM_AGENT_FAMILY_DNS_BPF_H

#include "family.h"

extern const struct family_ops family_dns_bpf_ops;

#endif
