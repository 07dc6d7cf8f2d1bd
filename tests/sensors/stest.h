/* stest.h: what the eBPF process sensor's C tests (test_*.c here) share:
 * a main that skips in builds without eBPF, a failure counter with its
 * CHECK, and the start of the sensor that skips (77) where it cannot run.
 * Each test defines its own main under YM_HAVE_BPF. */
#ifndef YM_TESTS_SENSORS_STEST_H
#define YM_TESTS_SENSORS_STEST_H

#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "sensor.h"

#ifndef YM_HAVE_BPF
int main(void)
{
	printf("SKIP: built without eBPF\n");
	return 77;
}
#else

#include "bpfok.h"

static int stest_fails;

#define CHECK(c, ...)                                                                              \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "FAIL: " __VA_ARGS__);                                     \
			fprintf(stderr, "\n");                                                     \
			stest_fails++;                                                             \
		}                                                                                  \
	} while (0)

/* Starts the eBPF process sensor into *s. Returns 0, 77 (not root, or the
 * kernel refuses the sensor: said on stdout) or 1 (another failure). */
static inline int stest_start(struct sensor **s)
{
	int r;

	if (geteuid() != 0) {
		printf("SKIP: needs root (eBPF)\n");
		return 77;
	}
	r = sensor_bpf_ops.start(s);
	if ((r == YM_E_UNSUPPORTED || r == YM_E_AUTH) && bpfok_process_sensor_at_fault()) {
		fprintf(stderr,
			"FAIL: the eBPF process sensor did not start (%s) on a kernel it "
			"supports (5.17+, BTF, no lockdown): the sensor's fault; "
			"`yamori-agent run --log-level debug` shows the verifier's log\n",
			ym_strerror(r));
		return 1;
	}
	if (r == YM_E_UNSUPPORTED || r == YM_E_AUTH) {
		printf("SKIP: the kernel refuses the eBPF process sensor here (%s)\n",
		       ym_strerror(r));
		return 77;
	}
	if (r != 0) {
		fprintf(stderr, "FAIL: sensor start: %s\n", ym_strerror(r));
		return 1;
	}
	return 0;
}

/* Polls the sensor (of ops) until it is empty, cb(arg, msg) for each
 * message. Returns the messages read or a negative error. */
static inline int stest_drain(const struct sensor_ops *ops, struct sensor *s,
			      void (*cb)(void *arg, const struct sensor_msg *m), void *arg)
{
	int n, total = 0;

	while ((n = ops->poll(s, 4096, cb, arg)) > 0)
		total += n;
	return n < 0 ? n : total;
}

/* Runs /bin/true to its end; returns its pid or -1. */
static inline pid_t stest_run_true(void)
{
	extern char **environ;
	char *argv[] = {"true", NULL};
	pid_t pid;
	int st;

	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return pid;
}

#endif
#endif
