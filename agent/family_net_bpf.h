/* family_net_bpf: network family, mode "bpf" (bpf/net.bpf.c, bpf/net.h).
 *
 * The syscall program reads the socket behind a descriptor with plain loads
 * (bpf_rdonly_cast, kernel 6.2+) where the kernel accepts that program,
 * else through bpf_probe_read_kernel; the start log line says which. */
#ifndef YM_AGENT_FAMILY_NET_BPF_H
#define YM_AGENT_FAMILY_NET_BPF_H

#include "family.h"

extern const struct family_ops family_net_bpf_ops;

/* How a started instance (of family_net_bpf_ops) reads sockets, for logs
 * and tests: "direct loads" or "helper reads" (a static string). */
const char *family_net_bpf_reads(const struct family *f);

/* Tests: 0 makes the next starts read sockets through the helper (the
 * fallback) at once, 1 (the default) lets them try direct loads first.
 * Not thread-safe: set it before starting. */
void family_net_bpf_direct_loads(int allow);

#endif
