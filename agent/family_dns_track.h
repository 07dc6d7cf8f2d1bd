/* family_dns_track: what both dns modes share: DNS payloads seen on UDP port
 * 53 are parsed (family_dns_parse), queries wait in a bounded table for their
 * response, and one dns_query event is emitted per query: at the response
 * (QueryResults, QueryStatus) or, without one, after FAMILY_DNS_TRACK_WAIT_S
 * (QueryStatus absent). A query is attributed to a process when seen: the
 * caller's pid, else the owner of the local UDP socket (sock_diag + /proc).
 * Not thread-safe. */
#ifndef YM_AGENT_FAMILY_DNS_TRACK_H
#define YM_AGENT_FAMILY_DNS_TRACK_H

#include <stdint.h>

#include "family.h"
#include "family_util.h"

#define FAMILY_DNS_TRACK_MAX	1024 /* queries waiting; at the cap the oldest is emitted now */
#define FAMILY_DNS_TRACK_WAIT_S 5

struct family_dns_track;

/* env is copied (its pointers borrowed). Returns 0, YM_E_NOMEM, YM_E_AUTH or
 * YM_E_IO (no sock_diag socket). */
int family_dns_track_new(const struct family_env *env, struct family_dns_track **out);
void family_dns_track_free(struct family_dns_track *t);

/* One DNS message: a UDP datagram, or a message of a TCP connection (proto
 * IPPROTO_UDP or IPPROTO_TCP; addresses in network order: 4 bytes for AF_INET, 16 for
 * AF_INET6; ports in host order; payload borrowed: its first n bytes of
 * wire_len, a longer message's copy cut at its bound reporting the
 * answers that fit, with QueryResultsTruncated). pid: the sender of a
 * query or the reader of a response known from the kernel, or 0 to look it
 * up (a response that completes a query takes the query's process); uid:
 * that process's real uid at the call where the kernel read it, else
 * FAMILY_UID_NONE (the user then comes from the process context); ts_ns:
 * when the datagram passed (ns since the epoch; a query's is its event's
 * time), or 0 for now. Emits what completes. Returns the number of events
 * emitted (0 or 1). A payload that does not parse is counted as malformed
 * and as a drop. */
int family_dns_track_packet(struct family_dns_track *t, int proto, int af, const uint8_t *src,
			    uint16_t sport, const uint8_t *dst, uint16_t dport, const uint8_t *p,
			    size_t n, size_t wire_len, int32_t pid, uint32_t uid, uint64_t ts_ns,
			    family_emit_fn emit, void *arg);

/* Emits queries that waited too long. Returns the number emitted. */
int family_dns_track_tick(struct family_dns_track *t, family_emit_fn emit, void *arg);

/* Emits every query still waiting (unanswered, as at its timeout): at the
 * stop. Returns the number emitted. */
int family_dns_track_flush(struct family_dns_track *t, family_emit_fn emit, void *arg);

/* events, drops; malformed payloads in *malformed */
void family_dns_track_stats(const struct family_dns_track *t, struct family_stats *out,
			    uint64_t *malformed);

#endif
