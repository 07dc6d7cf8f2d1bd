/* Fuzz target: TCP segments to and from port 53 as the dns family's packet
 * mode follows them (agent/family_dns_tcp.c): sequence numbers that jump,
 * go back and wrap, lengths split anyhow, SYN, FIN and RST anywhere, more
 * connections than the table holds. The input is a list of segments, each
 * [flags, connection, sequence number (4 bytes), length, payload]: bit 0x80
 * of the connection byte makes the segment the server's. Checks that each
 * message handed on is at most FAMILY_DNS_TCP_MSG bytes and at most its
 * length, at least a DNS header's, and lies in the follower's own memory. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "family_dns_tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_msg(void *arg, const struct family_dns_tcp_seg *s, const uint8_t *msg, size_t n,
		   size_t wire_len)
{
	volatile uint8_t sum = 0;

	(void)arg;
	(void)s;
	if (n > FAMILY_DNS_TCP_MSG || n > wire_len || n < 12 || msg == NULL)
		abort();
	for (size_t i = 0; i < n; i++) /* every byte readable (ASan) */
		sum = (uint8_t)(sum + msg[i]);
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct family_dns_tcp *t;
	uint8_t client[4] = {10, 0, 0, 1}, server[4] = {10, 0, 0, 53};
	uint64_t now = 0;

	if (family_dns_tcp_new(&t) != 0)
		return 0;
	while (size >= 7) {
		struct family_dns_tcp_seg g;
		uint8_t conn = data[1];
		size_t n = data[6];
		int back = (conn & 0x80) != 0;

		memset(&g, 0, sizeof(g));
		g.af = AF_INET;
		g.flags = data[0];
		g.seq = (uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 8 |
			data[5];
		data += 7;
		size -= 7;
		if (n > size)
			n = size;
		/* up to 128 connections: the client's port */
		client[3] = (uint8_t)(conn & 0x7f);
		g.src = back ? server : client;
		g.dst = back ? client : server;
		g.sport = back ? 53 : (uint16_t)(40000 + (conn & 0x7f));
		g.dport = back ? (uint16_t)(40000 + (conn & 0x7f)) : 53;
		g.data = n ? data : NULL;
		g.len = n;
		(void)family_dns_tcp_segment(t, &g, ++now, fz_msg, NULL);
		data += n;
		size -= n;
	}
	family_dns_tcp_free(t);
	return 0;
}
