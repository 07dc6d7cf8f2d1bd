/* Fuzz target: the kernel's socket-destruction reports as the network
 * family's sock_diag mode parses them (agent/family_sock.c,
 * family_sock_destroy_parse): netlink headers, inet_diag_msg and its
 * attributes. Checks that every report handed on has a family and a
 * protocol the caller handles, and that the count returned is the count
 * handed on. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "family_sock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int seen;

static void on_report(void *arg, const struct family_sock_info *s)
{
	(void)arg;
	if ((s->af != AF_INET && s->af != AF_INET6) ||
	    (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP))
		abort();
	seen++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t malformed = 0;
	int n;

	seen = 0;
	n = family_sock_destroy_parse(data, size, on_report, NULL, &malformed);
	if (n != seen || n < 0)
		abort();
	return 0;
}
