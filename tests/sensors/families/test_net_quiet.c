/* network family, mode sock_diag, in a network namespace of its own (no
 * other socket comes or goes there): polls while no socket comes make no
 * dump (the kernel's socket counters did not move); a bind, a listener and
 * a connection each make the next poll dump, and are reported with their
 * process; a connect() of a UDP socket bound before, which moves no counter,
 * is reported by the dump made at least every NET_DUMP_EVERY polls (2 s);
 * a connection waiting in its listener's queue (no file yet, so no process)
 * makes every poll dump until it is accepted. */
#include "famnet.h"
#include "famtest.h"
#include "family_net_sockdiag.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct ft t;

static int port_of(int s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(s, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* The child: each byte read from cmd is a step; it answers with a port. */
static void child_steps(int cmd, int ans)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int us = -1, l = -1, c = -1, ac = -1, l2 = -1, c2 = -1, ac2 = -1, port = 0;
	char op;

	while (read(cmd, &op, 1) == 1) {
		switch (op) {
		case 'b': /* a UDP socket bound to a port the kernel picks */
			us = socket(AF_INET, SOCK_DGRAM, 0);
			a.sin_port = 0;
			if (us < 0 || bind(us, (struct sockaddr *)&a, sizeof(a)) != 0)
				_exit(2);
			port = port_of(us);
			break;
		case 'c': /* that socket connected to 127.0.0.2:9 */
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
			a.sin_port = htons(9);
			if (connect(us, (struct sockaddr *)&a, sizeof(a)) != 0)
				_exit(3);
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			port = port_of(us);
			break;
		case 'l': /* a listener, a connection to it, accepted; kept */
			l = socket(AF_INET, SOCK_STREAM, 0);
			c = socket(AF_INET, SOCK_STREAM, 0);
			a.sin_port = 0;
			if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 ||
			    listen(l, 1) != 0)
				_exit(4);
			a.sin_port = htons((uint16_t)port_of(l));
			if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
				_exit(5);
			ac = accept(l, NULL, NULL);
			if (ac < 0)
				_exit(6);
			port = port_of(l);
			break;
		case 'w': /* another listener and a connection left in its queue */
			l2 = socket(AF_INET, SOCK_STREAM, 0);
			c2 = socket(AF_INET, SOCK_STREAM, 0);
			a.sin_port = 0;
			if (l2 < 0 || c2 < 0 || bind(l2, (struct sockaddr *)&a, sizeof(a)) != 0 ||
			    listen(l2, 1) != 0)
				_exit(9);
			a.sin_port = htons((uint16_t)port_of(l2));
			if (connect(c2, (struct sockaddr *)&a, sizeof(a)) != 0)
				_exit(10);
			port = port_of(l2);
			break;
		case 'a': /* ... accepted */
			ac2 = accept(l2, NULL, NULL);
			if (ac2 < 0)
				_exit(11);
			port = port_of(l2);
			break;
		default:
			_exit(8);
		}
		if (write(ans, &port, sizeof(port)) != sizeof(port))
			_exit(7);
	}
	_exit(0);
}

static int step(int cmd, int ans, char op)
{
	int port = 0;

	FT_CHECK(write(cmd, &op, 1) == 1);
	FT_CHECK(read(ans, &port, sizeof(port)) == sizeof(port));
	return port;
}

int main(void)
{
	int cmd[2], ans[2], port;
	pid_t child;
	uint64_t d0, s0, d1, s1;
	char pid[16], ps[16];
	const struct ft_event *e;

	famnet_private();
	ft_start(&t, &family_net_sockdiag_ops, NULL);
	FT_CHECK(pipe(cmd) == 0 && pipe(ans) == 0);
	child = ft_fork();
	FT_CHECK(child >= 0);
	if (child == 0) {
		close(cmd[1]);
		close(ans[0]);
		child_steps(cmd[0], ans[1]);
	}
	close(cmd[0]);
	close(ans[1]);
	snprintf(pid, sizeof(pid), "%d", (int)child);

	/* nothing comes: at most the periodic dump in 2 s (10 polls) */
	family_net_sockdiag_dumps(t.f, &d0, &s0);
	ft_pump(&t, 2000);
	family_net_sockdiag_dumps(t.f, &d1, &s1);
	printf("quiet 2 s: %llu dumps, %llu polls without\n", (unsigned long long)(d1 - d0),
	       (unsigned long long)(s1 - s0));
	FT_CHECK(d1 - d0 <= 1);
	FT_CHECK(s1 - s0 >= 3);
	FT_CHECK(t.nev == 0);

	/* a bind moves UDP's inuse: the next poll dumps */
	port = step(cmd[1], ans[0], 'b');
	snprintf(ps, sizeof(ps), "%d", port);
	e = ft_wait(&t, 1000, "Action", "bind", "SourcePort", ps, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Protocol", "udp");
	ft_expect(e, "ProcessId", pid);

	/* connect() of that socket moves nothing the poll reads: the periodic
	 * dump reports it, after polls that made none */
	ft_pump(&t, 300);
	family_net_sockdiag_dumps(t.f, &d0, &s0);
	port = step(cmd[1], ans[0], 'c');
	snprintf(ps, sizeof(ps), "%d", port);
	e = ft_wait(&t, 3000, "Action", "connect", "SourcePort", ps, NULL);
	FT_CHECK(e != NULL);
	family_net_sockdiag_dumps(t.f, &d1, &s1);
	ft_expect(e, "Protocol", "udp");
	ft_expect(e, "DestinationIp", "127.0.0.2");
	ft_expect(e, "DestinationPort", "9");
	ft_expect(e, "ProcessId", pid);
	FT_CHECK(d1 - d0 == 1);
	FT_CHECK(s1 - s0 >= 1);

	/* a listener and a connection move TCP's counters: the next poll
	 * dumps, and the sockets are there, with their process */
	port = step(cmd[1], ans[0], 'l');
	snprintf(ps, sizeof(ps), "%d", port);
	e = ft_wait(&t, 1000, "Action", "listen", "SourcePort", ps, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 1000, "Action", "connect", "DestinationPort", ps, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 1000, "Action", "accept", "DestinationPort", ps, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);

	/* a connection in its listener's queue has no file, so a dump cannot
	 * name its process: every poll dumps until it has one, though no
	 * counter moves (its passive open was counted before) */
	port = step(cmd[1], ans[0], 'w');
	snprintf(ps, sizeof(ps), "%d", port);
	FT_CHECK(ft_wait(&t, 1000, "Action", "connect", "DestinationPort", ps, NULL) != NULL);
	family_net_sockdiag_dumps(t.f, &d0, &s0);
	ft_pump(&t, 700);
	family_net_sockdiag_dumps(t.f, &d1, &s1);
	FT_CHECK(s1 == s0 && d1 - d0 >= 2);
	FT_CHECK(ft_count(&t, "Action", "accept", "DestinationPort", ps, NULL) == 0);
	step(cmd[1], ans[0], 'a');
	e = ft_wait(&t, 1000, "Action", "accept", "DestinationPort", ps, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);

	close(cmd[1]); /* the child's end */
	ft_stop(&t);
	printf("PASS\n");
	return 0;
}
