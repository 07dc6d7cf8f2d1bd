/* family_net_bpf: network family, mode "bpf" (bpf/net.bpf.c, bpf/net.h). */
#ifndef YM_AGENT_FAMILY_NET_BPF_H
#define YM_AGENT_FAMILY_NET_BPF_H

#include "family.h"

extern const struct family_ops family_net_bpf_ops;

#endif
