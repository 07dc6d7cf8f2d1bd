/* sockio: the time of one small send and its receive over a local socket
 * pair, in ns per pair of calls: the best of ROUNDS rounds of N, one
 * thread (write on one end, read on the other: no wake-up, no scheduling
 * in the figure). What eBPF programs on the socket send and receive paths
 * (the dns family's socket hooks: tp_btf/sock_send_length and
 * sock_recv_length) add to every socket's I/O shows here; packet hooks
 * (cgroup skb) show on tcp and udp only. bench/agent/sockpair.sh runs it
 * with two agent builds and with none.
 * Usage: sockio [N (200000)] [ROUNDS (5)] [SIZE (1)]; prints one JSON line
 * per kind: tcp (loopback TCP, TCP_NODELAY), udp (connected loopback UDP
 * pair, not port 53), unix (AF_UNIX stream socketpair), with the wall and
 * the CPU (user + system) time per pair of calls. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKIO_MAX 65536

static double clock_ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* A connected pair of kind k into fd[2]. Returns 0 or -1. */
static int pair(const char *k, int fd[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int l = -1, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (strcmp(k, "unix") == 0)
		return socketpair(AF_UNIX, SOCK_STREAM, 0, fd);
	if (strcmp(k, "udp") == 0) {
		fd[0] = socket(AF_INET, SOCK_DGRAM, 0);
		fd[1] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd[0] < 0 || fd[1] < 0 || bind(fd[1], (struct sockaddr *)&a, al) != 0 ||
		    getsockname(fd[1], (struct sockaddr *)&a, &al) != 0 ||
		    connect(fd[0], (struct sockaddr *)&a, al) != 0)
			return -1;
		a.sin_port = 0;
		al = sizeof(a);
		if (getsockname(fd[0], (struct sockaddr *)&a, &al) != 0 ||
		    connect(fd[1], (struct sockaddr *)&a, al) != 0)
			return -1;
		return 0;
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	fd[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || fd[0] < 0 || bind(l, (struct sockaddr *)&a, al) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) != 0 ||
	    connect(fd[0], (struct sockaddr *)&a, al) != 0)
		return -1;
	fd[1] = accept(l, NULL, NULL);
	close(l);
	if (fd[1] < 0)
		return -1;
	setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const kinds[] = {"tcp", "udp", "unix"};
	static char buf[SOCKIO_MAX];
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
	long size = argc > 3 ? strtol(argv[3], NULL, 10) : 1;

	if (n <= 0 || rounds <= 0 || size <= 0 || size > SOCKIO_MAX) {
		fprintf(stderr, "usage: sockio [N] [ROUNDS] [SIZE (1..65536)]\n");
		return 2;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		double best_wall = 0, best_cpu = 0;
		int fd[2];

		if (pair(kinds[k], fd) != 0) {
			printf("{\"bench\":\"agent_sockio\",\"kind\":\"%s\",\"error\":\"no pair\"}\n",
			       kinds[k]);
			continue;
		}
		for (long r = 0; r < rounds; r++) {
			double w0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
			double w, c;

			for (long i = 0; i < n; i++) {
				int from = (int)(i & 1), to = !from;

				if (write(fd[from], buf, (size_t)size) != size)
					return 1;
				/* a stream may hand the bytes over in parts */
				for (long got = 0; got < size;) {
					ssize_t m = read(fd[to], buf, (size_t)(size - got));

					if (m <= 0)
						return 1;
					got += m;
				}
			}
			w = (clock_ns(CLOCK_MONOTONIC) - w0) / (double)n;
			c = (clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / (double)n;
			if (r == 0 || w < best_wall)
				best_wall = w;
			if (r == 0 || c < best_cpu)
				best_cpu = c;
		}
		printf("{\"bench\":\"agent_sockio\",\"kind\":\"%s\",\"size\":%ld,\"wall_ns_per_op\":%.1f,"
		       "\"cpu_ns_per_op\":%.1f}\n",
		       kinds[k], size, best_wall, best_cpu);
		close(fd[0]);
		close(fd[1]);
	}
	return 0;
}
