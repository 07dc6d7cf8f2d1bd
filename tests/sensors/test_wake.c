/* sensors_process_bpf_wake: the eBPF process sensor wakes a consumer that
 * stopped its timer polls (sensor_ops.idle, consumer_idle in
 * agent/bpf/proc.bpf.c). Real kernel, real executions: with the consumer
 * polling (idle off), one exec leaves the sensor's descriptor unreadable
 * (records wait for the timer poll, or for 256 KiB); told it is idle, the
 * next exec makes it readable, the exec's message is delivered and the wake
 * record itself is neither a message nor malformed. Root; skips with 77
 * where the kernel refuses the sensor. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stest.h"

#ifdef YM_HAVE_BPF

struct seen {
	pid_t pid;
	int exec; /* EXEC messages of pid */
};

static void on_msg(void *arg, const struct sensor_msg *m)
{
	struct seen *s = arg;

	if (m->type == SENSOR_MSG_EXEC && m->pid == s->pid)
		s->exec++;
}

/* 1 when the sensor's descriptor becomes readable within ms. */
static int readable(struct sensor *s, int ms)
{
	struct pollfd p = {.fd = sensor_bpf_ops.fd(s), .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & POLLIN);
}

int main(void)
{
	struct sensor *s = NULL;
	struct sensor_stats st0, st1;
	struct seen seen = {0};
	int r = stest_start(&s);

	if (r != 0)
		return r;
	CHECK(stest_drain(&sensor_bpf_ops, s, on_msg, &seen) >= 0, "drain");
	sensor_bpf_ops.stats(s, &st0);

	/* polling consumer: an exec is not announced (the control: a wake-up
	 * below is the idle flag's, not every record's) */
	sensor_bpf_ops.idle(s, 0);
	seen.pid = stest_run_true();
	CHECK(seen.pid > 0, "spawn /bin/true");
	CHECK(!readable(s, 300), "readable after one exec with the consumer polling");
	seen.exec = 0;
	CHECK(stest_drain(&sensor_bpf_ops, s, on_msg, &seen) > 0 && seen.exec == 1,
	      "exec of %d not delivered by a poll (%d)", (int)seen.pid, seen.exec);

	for (int round = 0; round < 3; round++) {
		/* idle: set the flag, then the one more poll the caller makes */
		sensor_bpf_ops.idle(s, 1);
		CHECK(stest_drain(&sensor_bpf_ops, s, on_msg, &seen) >= 0, "drain");
		seen.exec = 0;
		seen.pid = stest_run_true();
		CHECK(seen.pid > 0, "spawn /bin/true");
		CHECK(readable(s, 2000), "round %d: not woken within 2 s by exec of %d", round,
		      (int)seen.pid);
		CHECK(stest_drain(&sensor_bpf_ops, s, on_msg, &seen) > 0 && seen.exec == 1,
		      "round %d: exec of %d not delivered after the wake-up (%d)", round,
		      (int)seen.pid, seen.exec);
		sensor_bpf_ops.idle(s, 0);
		CHECK(stest_drain(&sensor_bpf_ops, s, on_msg, &seen) >= 0, "drain");
	}
	sensor_bpf_ops.stats(s, &st1);
	CHECK(st1.malformed == st0.malformed, "wake records counted as malformed (%llu)",
	      (unsigned long long)(st1.malformed - st0.malformed));
	sensor_bpf_ops.stop(s);
	if (stest_fails)
		return 1;
	printf("sensors_process_bpf_wake: ok\n");
	return 0;
}
#endif
