/* syscost: the time of one cheap system call (getppid), the best of ROUNDS
 * rounds of N calls, in ns: what every eBPF program on sys_enter/sys_exit
 * adds to every system call of the machine shows here (bench/agent/
 * compare.sh runs it with each agent build and with none).
 * Usage: syscost [N (2000000)] [ROUNDS (5)]; prints "NS". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
	long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 5;
	double best = 0;

	if (n <= 0 || rounds <= 0) {
		fprintf(stderr, "usage: syscost [N] [ROUNDS]\n");
		return 2;
	}
	for (long r = 0; r < rounds; r++) {
		double t0 = now_ns(), d;

		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		d = (now_ns() - t0) / (double)n;
		if (r == 0 || d < best)
			best = d;
	}
	printf("%.1f\n", best);
	return 0;
}
