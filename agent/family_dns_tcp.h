/* family_dns_tcp: DNS messages out of TCP segments (RFC 1035 4.2.2: each
 * message after its 2-byte length, cut into segments as the sender likes),
 * for the dns family's packet mode. Follows the client connections to
 * port 53 it saw start (SYN out, SYN-ACK back), each direction by
 * sequence number: a retransmission passes only what was not seen; a gap
 * (a segment lost, or out of order), or data of a connection whose start
 * was not seen, gives that direction (or the connection) up, and says so
 * once, for the caller to count. The bytes come from the network: copied
 * only within bounds, at most FAMILY_DNS_TCP_MSG of a message kept.
 * Not thread-safe (one per family instance). */
#ifndef YM_AGENT_FAMILY_DNS_TCP_H
#define YM_AGENT_FAMILY_DNS_TCP_H

#include <stddef.h>
#include <stdint.h>

#define FAMILY_DNS_TCP_FLOWS 64	  /* connections followed at once (then the least recent goes) */
#define FAMILY_DNS_TCP_MSG   1024 /* bytes kept of a message (a longer one is cut) */

#define FAMILY_DNS_TCP_FIN 0x01
#define FAMILY_DNS_TCP_SYN 0x02
#define FAMILY_DNS_TCP_RST 0x04

struct family_dns_tcp;

/* One TCP segment: addresses borrowed (4 bytes for AF_INET, 16 for
 * AF_INET6), ports host order, flags the TCP header's, payload borrowed. */
struct family_dns_tcp_seg {
	int af;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t flags;
	const uint8_t *data;
	size_t len;
};

/* A message completed by segment s (which carries its last byte, in the
 * message's direction): its first n bytes (at most FAMILY_DNS_TCP_MSG)
 * of wire_len. */
typedef void (*family_dns_tcp_msg_fn)(void *arg, const struct family_dns_tcp_seg *s,
				      const uint8_t *msg, size_t n, size_t wire_len);

int family_dns_tcp_new(struct family_dns_tcp **out);
void family_dns_tcp_free(struct family_dns_tcp *t);

/* Feeds segment s (to or from port 53; others are ignored). now_ns: a
 * monotonic time, to find the least recent connection. Calls fn for each
 * message it completes. Returns 1 when s made a direction (or, data of a
 * connection not seen starting, a connection) be given up, else 0. */
int family_dns_tcp_segment(struct family_dns_tcp *t, const struct family_dns_tcp_seg *s,
			   uint64_t now_ns, family_dns_tcp_msg_fn fn, void *arg);

#endif
