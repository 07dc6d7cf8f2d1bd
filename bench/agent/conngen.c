/* conngen: opens TCP connections to a loopback listener of its own at a
 * steady rate for at most a duration (connect, accept, close), and prints
 * "STARTED FAILED SECONDS PORT". It stops at the deadline, so a rate the
 * machine cannot reach bounds the run time: STARTED / SECONDS is the
 * achieved rate. The agent benchmark uses it for connect
 * storms. Usage: conngen RATE_PER_S SECONDS */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	long rate, secs;
	uint64_t start, deadline, done = 0, failed = 0;
	int l;

	if (argc != 3)
		return 2;
	rate = strtol(argv[1], NULL, 10);
	secs = strtol(argv[2], NULL, 10);
	if (rate < 1 || rate > 1000000 || secs < 1 || secs > 3600)
		return 2;
	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		return 1;
	start = mono_ns();
	deadline = start + (uint64_t)secs * 1000000000ull;
	for (uint64_t i = 0;; i++) {
		uint64_t due = start + i * 1000000000ull / (uint64_t)rate, now = mono_ns();
		int c, s;

		if (due >= deadline || now >= deadline)
			break;
		if (due > now) {
			struct timespec d = {(time_t)((due - now) / 1000000000ull),
					     (long)((due - now) % 1000000000ull)};
			nanosleep(&d, NULL);
		}
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) {
			failed++;
			if (c >= 0)
				close(c);
			continue;
		}
		s = accept(l, NULL, NULL);
		if (s >= 0)
			close(s);
		close(c);
		done++;
	}
	printf("%llu %llu %.3f %u\n", (unsigned long long)done, (unsigned long long)failed,
	       (double)(mono_ns() - start) / 1e9, (unsigned)ntohs(a.sin_port));
	return 0;
}
