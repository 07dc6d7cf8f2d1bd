/* family_dns_packet: dns family, mode "packet": an AF_PACKET socket on every
 * interface with a classic BPF filter for UDP port 53 (IPv4 without
 * fragments, IPv6 without extension headers), parsed by family_dns_track. */
#ifndef YM_AGENT_FAMILY_DNS_PACKET_H
#define YM_AGENT_FAMILY_DNS_PACKET_H

#include "family.h"

extern const struct family_ops family_dns_packet_ops;

#endif
