/* execstorm: runs `PROG MARKER N` (a fork + exec each) at a steady rate for at most SECONDS, then waits for every
 * child, and prints "STARTED REAPED FAILED SECONDS". Unlike bench/e2e's
 * execgen it stops at the deadline, so a rate the machine cannot reach
 * bounds the run time instead of stretching it: STARTED / SECONDS is the
 * achieved rate. Usage: execstorm RATE_PER_S SECONDS MARKER [PROG] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
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
	char *end, num[32], *cargv[4];
	long rate, secs;
	const char *prog;
	uint64_t start, deadline, started = 0, done = 0, failed = 0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: execstorm RATE_PER_S SECONDS MARKER [PROG]\n");
		return 2;
	}
	rate = strtol(argv[1], &end, 10);
	if (*end || rate < 1 || rate > 1000000)
		return 2;
	secs = strtol(argv[2], &end, 10);
	if (*end || secs < 1 || secs > 3600)
		return 2;
	prog = argc == 5 ? argv[4] : "/bin/true";
	cargv[0] = (char *)prog;
	cargv[1] = argv[3];
	cargv[2] = num;
	cargv[3] = NULL;
	start = mono_ns();
	deadline = start + (uint64_t)secs * 1000000000ull;
	for (uint64_t i = 0;; i++) {
		uint64_t due = start + i * 1000000000ull / (uint64_t)rate, now = mono_ns();
		pid_t p;

		if (due >= deadline || now >= deadline)
			break;
		if (due > now) {
			struct timespec d = {(time_t)((due - now) / 1000000000ull),
					     (long)((due - now) % 1000000000ull)};
			nanosleep(&d, NULL);
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)i);
		p = fork();
		if (p == 0) {
			execv(prog, cargv);
			_exit(127);
		}
		if (p < 0) {
			failed++;
			continue;
		}
		started++;
		/* reap what has finished so the process table stays small */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			done++;
	}
	while (waitpid(-1, NULL, 0) > 0)
		done++;
	printf("%llu %llu %llu %.3f\n", (unsigned long long)started, (unsigned long long)done,
	       (unsigned long long)failed, (double)(mono_ns() - start) / 1e9);
	return failed ? 1 : 0;
}
