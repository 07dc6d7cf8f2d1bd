/* execgen: runs `PROG MARKER N` (a fork + exec each) at a steady rate for a
 * duration, waits for every child, and prints how many ran:
 * "STARTED REAPED FAILED SECONDS". The benchmark
 * uses it to load the agent with a known number of executions.
 * Usage: execgen RATE_PER_S SECONDS MARKER [PROG] */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	char *end;
	long rate, secs;
	const char *prog;
	uint64_t start, total, done = 0, failed = 0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: execgen RATE_PER_S SECONDS MARKER [PROG]\n");
		return 2;
	}
	rate = strtol(argv[1], &end, 10);
	if (*end || rate < 1 || rate > 1000000)
		return 2;
	secs = strtol(argv[2], &end, 10);
	if (*end || secs < 1 || secs > 3600)
		return 2;
	prog = argc == 5 ? argv[4] : "/bin/true";
	total = (uint64_t)rate * (uint64_t)secs;
	start = mono_ns();
	for (uint64_t i = 0; i < total; i++) {
		uint64_t due = start + i * 1000000000ull / (uint64_t)rate;
		uint64_t now = mono_ns();
		char num[32];
		pid_t p;

		if (due > now) {
			struct timespec d = {(time_t)((due - now) / 1000000000ull),
					     (long)((due - now) % 1000000000ull)};
			nanosleep(&d, NULL);
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)i);
		p = fork();
		if (p == 0) {
			execl(prog, prog, argv[3], num, (char *)NULL);
			_exit(127);
		}
		if (p < 0) {
			failed++;
			continue;
		}
		/* reap what has finished so the process table stays small */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			done++;
	}
	while (waitpid(-1, NULL, 0) > 0)
		done++;
	/* executions started, reaped, failed forks, seconds taken */
	printf("%llu %llu %llu %.3f\n", (unsigned long long)(total - failed),
	       (unsigned long long)done, (unsigned long long)failed,
	       (double)(mono_ns() - start) / 1e9);
	return failed ? 1 : 0;
}
