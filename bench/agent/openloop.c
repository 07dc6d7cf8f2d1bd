/* openloop: what the agent's programs on the open system calls' exit add to
 * every open of the machine (docs/sensors.md, "Processes": the process
 * family's check for another process's /proc/PID/mem): one thread opens
 * a file read-only (openat, AT_FDCWD) and closes it, for SECONDS. A
 * read-only open of a small file is the cheapest open there is, so the
 * added share is the largest an open can see.
 * With "w" after FILE the open is for writing (O_WRONLY): the file
 * family's programs then compare it with the watched folders.
 * Usage: openloop [SECONDS (2)] [FILE (/etc/hostname)] [w]; prints
 * "OPS SECONDS NS_PER_OP". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 2, t0, t;
	const char *path = argc > 2 ? argv[2] : "/etc/hostname";
	int flags = argc > 3 && argv[3][0] == 'w' ? O_WRONLY : O_RDONLY;
	long ops = 0;

	if (!(secs > 0)) {
		fprintf(stderr, "usage: openloop [SECONDS] [FILE] [w]\n");
		return 2;
	}
	t0 = now_s();
	do {
		for (int i = 0; i < 256; i++) {
			int fd = openat(AT_FDCWD, path, flags | O_CLOEXEC);

			if (fd < 0) {
				perror("openloop: open");
				return 1;
			}
			close(fd);
		}
		ops += 256;
		t = now_s() - t0;
	} while (t < secs);
	printf("%ld %.3f %.1f\n", ops, t, t * 1e9 / (double)ops);
	return 0;
}
