/* family_dns_bpf: dns family, mode "bpf" (bpf/dns.bpf.c, bpf/dns.h): eBPF
 * programs copy UDP port 53 payloads; queries are taken where they are sent
 * (with the sending process), responses where they are received, and both
 * go through family_dns_track. Two sets of programs, one loaded:
 *
 * - socket hooks (preferred, 6.3+): tp_btf/sock_send_length and
 *   tp_btf/sock_recv_length, after every socket send and receive, in the
 *   sending or reading task; UDP sends to port 53 (queries) and reads of
 *   responses are copied from the user buffer the system call named. TCP
 *   packets never run them; every socket send and receive does (unix
 *   sockets too: ~30 ns each).
 * - cgroup skb (fallback, when the kernel lacks or refuses the first set):
 *   cgroup_skb/egress and ingress on the cgroup v2 root, run for every
 *   packet of the machine; responses without a process, looked up by
 *   their local port.
 *
 * The start log line says which set runs. */
#ifndef YM_AGENT_FAMILY_DNS_BPF_H
#define YM_AGENT_FAMILY_DNS_BPF_H

#include "family.h"

extern const struct family_ops family_dns_bpf_ops;

/* The hooks a started instance (of family_dns_bpf_ops) uses, for logs and
 * tests: a static string. */
const char *family_dns_bpf_hooks(const struct family *f);

/* Tests: 0 makes the next starts use the cgroup skb programs (the
 * fallback) at once, 1 (the default) lets them try the socket hooks first.
 * Not thread-safe: set it before starting. */
void family_dns_bpf_socket_hooks(int allow);

#endif
