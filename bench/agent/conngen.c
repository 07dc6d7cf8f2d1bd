/* conngen: opens connections to a loopback listener of its own at a steady
 * rate for at most a duration and prints "STARTED FAILED SECONDS PORT". It
 * stops at the deadline, so a rate the machine cannot reach bounds the run
 * time: STARTED / SECONDS is the achieved rate. The agent benchmark uses it
 * for connect storms.
 *
 * Usage: conngen RATE_PER_S SECONDS [WORKERS [tcp|udp|mix]]
 *   WORKERS (default 1) processes share the rate, each paced on its own
 *   schedule; with more than one, TCP connections are accepted by one more
 *   process. tcp (default): connect, accept, close (the accepted end first,
 *   with a reset: no TIME_WAIT, since 2026-11-27); udp: connect(2) of a UDP
 *   socket to a UDP socket bound to the same port number, close; mix: tcp
 *   and udp alternately; spread: udp, each to another address of
 *   127.0.0.0/8 (127.1.0.0 and up, 2^22 of them), so no two connections of a
 *   run form the same flow. Every connection has PORT as its destination
 *   port.
 *   SECONDS is measured until the last worker stopped. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONNGEN_MAX_WORKERS 64

enum { CG_TCP, CG_UDP, CG_MIX, CG_SPREAD };

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One connection of kind udp (1) or tcp (0); returns 0 or -1. */
static int conn_one(int l, const struct sockaddr_in *a, int udp)
{
	int c = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), s;

	if (c < 0)
		return -1;
	if (connect(c, (const struct sockaddr *)a, sizeof(*a)) != 0) {
		close(c);
		return -1;
	}
	if (!udp && l >= 0) {
		s = accept(l, NULL, NULL);
		if (s >= 0)
			close(s);
	}
	close(c);
	return 0;
}

/* Paces n connections per second from start until deadline; out[0] = done,
 * out[1] = failed. */
static void worker(int l, const struct sockaddr_in *a, double rate, int kind, uint64_t w,
		   uint64_t nw, uint64_t start, uint64_t deadline, uint64_t out[2])
{
	for (uint64_t i = 0;; i++) {
		uint64_t due = start + (uint64_t)((double)i * 1e9 / rate), now = mono_ns();

		if (due >= deadline || now >= deadline)
			break;
		if (due > now) {
			struct timespec d = {(time_t)((due - now) / 1000000000ull),
					     (long)((due - now) % 1000000000ull)};
			nanosleep(&d, NULL);
		}
		if (kind == CG_SPREAD) {
			struct sockaddr_in b = *a;

			b.sin_addr.s_addr =
			    htonl(0x7f010000u + (uint32_t)((i * nw + w) & 0x3fffff));
			if (conn_one(l, &b, 1) == 0)
				out[0]++;
			else
				out[1]++;
			continue;
		}
		if (conn_one(l, a, kind == CG_UDP || (kind == CG_MIX && (i & 1))) == 0)
			out[0]++;
		else
			out[1]++;
	}
}

/* With several workers, one process accepts for all: a worker that accepted
 * after its own connect would take another's connection, and the shared
 * queue costs more than the connects. It returns when nothing came for
 * 200 ms after the deadline. */
static void acceptor(int l, uint64_t deadline)
{
	struct timeval tv = {0, 200000};

	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		int s = accept(l, NULL, NULL);

		if (s >= 0)
			close(s);
		else if (mono_ns() >= deadline)
			return;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	long rate, secs, nw, nk;
	uint64_t start, deadline, end, done = 0, failed = 0;
	int l, u = -1, kind = CG_TCP, p[2];
	pid_t kids[CONNGEN_MAX_WORKERS + 1];
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (argc < 3 || argc > 5)
		return 2;
	rate = strtol(argv[1], NULL, 10);
	secs = strtol(argv[2], NULL, 10);
	nw = 1;
	if (argc > 3)
		nw = strtol(argv[3], NULL, 10);
	if (argc > 4)
		kind = strcmp(argv[4], "tcp") == 0	? CG_TCP
		       : strcmp(argv[4], "udp") == 0	? CG_UDP
		       : strcmp(argv[4], "mix") == 0	? CG_MIX
		       : strcmp(argv[4], "spread") == 0 ? CG_SPREAD
							: -1;
	if (rate < 1 || rate > 1000000 || secs < 1 || secs > 3600 || nw < 1 ||
	    nw > CONNGEN_MAX_WORKERS || kind < 0)
		return 2;
	l = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* accepted connections (which inherit it) end with a reset, not in
	 * TIME_WAIT: one client address cycles through the ephemeral ports
	 * faster than TIME_WAIT lasts, so a SYN from a reused port met the
	 * last connection's TIME_WAIT socket, which can answer it with an
	 * ACK; the client resets and sends its SYN again a second later (1,
	 * 2, 4 ... s): storms of 2 s made 12 to 98 connections, or 9,523 in
	 * 19.9 s, between storms of 50,000 (TcpRetransSegs counted them) */
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		return 1;
	if (kind == CG_UDP || kind == CG_MIX) {
		/* the UDP peer on the same port number: one PORT for both */
		u = socket(AF_INET, SOCK_DGRAM, 0);
		if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof(a)))
			return 1;
	}
	start = mono_ns();
	deadline = start + (uint64_t)secs * 1000000000ull;
	if (nw == 1) {
		/* in this process, as exec'd: the agent knows it from its exec */
		uint64_t out[2] = {0, 0};

		worker(l, &a, (double)rate, kind, 0, 1, start, deadline, out);
		done = out[0];
		failed = out[1];
		end = mono_ns();
		goto print;
	}
	if (pipe(p) != 0)
		return 1;
	nk = nw + (kind == CG_TCP || kind == CG_MIX); /* + the acceptor */
	for (long w = 0; w < nk; w++) {
		kids[w] = fork();
		if (kids[w] < 0)
			return 1;
		if (kids[w] == 0) {
			uint64_t out[2] = {0, 0};

			close(p[0]);
			if (w == nw) {
				acceptor(l, deadline);
				_exit(0);
			}
			worker(-1, &a, (double)rate / (double)nw, kind, (uint64_t)w, (uint64_t)nw,
			       start, deadline, out);
			if (write(p[1], out, sizeof(out)) != (ssize_t)sizeof(out))
				_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	for (long w = 0; w < nw; w++) {
		uint64_t out[2];

		if (read(p[0], out, sizeof(out)) == (ssize_t)sizeof(out)) {
			done += out[0];
			failed += out[1];
		}
	}
	end = mono_ns();
	for (long w = 0; w < nk; w++)
		waitpid(kids[w], NULL, 0);
print:
	printf("%llu %llu %.3f %u\n", (unsigned long long)done, (unsigned long long)failed,
	       (double)(end - start) / 1e9, (unsigned)ntohs(a.sin_port));
	if (u >= 0)
		close(u);
	return 0;
}
