/* sensors_process_netlink_drops: every proc connector message the kernel
 * drops for the netlink process sensor is counted (sensor_stats.lost).
 * After an ENOBUFS the kernel drops every message for the socket until its
 * queue has been emptied, without another ENOBUFS, so the sensor reads the
 * kernel's Drops count until a read that follows the drain. Real kernel,
 * real processes: a burst the sensor does not read fills its queue; a few
 * messages are read (the ENOBUFS) and the stats asked while the queue is
 * still full; a second burst is dropped whole; then the queue is drained.
 * What was read and what is counted lost cover every message of both
 * bursts (two a child: fork, exit). Root; skips with 77 without it. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "sensor.h"

#define ND_STEP	  2000 /* children a step of the first burst, until the queue overruns */
#define ND_STEPS  40   /* (8 MiB asked: ~20,000 messages here, 12,000 children) */
#define ND_SECOND 4000

static void on_msg(void *arg, const struct sensor_msg *m)
{
	(void)arg;
	(void)m;
}

/* A child that exits at once (vfork: no copy of this process; its own
 * function, so no variable of the caller's lives across it). */
static __attribute__((noinline)) pid_t child(void)
{
	pid_t p = vfork();

	if (p == 0)
		_exit(0);
	return p;
}

/* n children, one after the other */
static int burst(int n)
{
	for (int i = 0; i < n; i++) {
		int st;
		pid_t p = child();

		if (p < 0 || waitpid(p, &st, 0) != p)
			return -1;
	}
	return 0;
}

static int drain(struct sensor *s)
{
	int n, total = 0;

	while ((n = sensor_netlink_ops.poll(s, 4096, on_msg, NULL)) > 0)
		total += n;
	return n < 0 ? n : total;
}

int main(void)
{
	struct sensor *s = NULL;
	struct sensor_stats st;
	uint64_t want = 2ull * ND_SECOND;
	int r, steps = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root (proc connector)\n");
		return 77;
	}
	r = sensor_netlink_ops.start(&s);
	if (r == YM_E_AUTH || r == YM_E_UNSUPPORTED) {
		printf("SKIP: the proc connector refused (%s)\n", ym_strerror(r));
		return 77;
	}
	if (r != 0) {
		fprintf(stderr, "FAIL: netlink sensor start: %s\n", ym_strerror(r));
		return 1;
	}
	if (drain(s) < 0) {
		fprintf(stderr, "FAIL: drain\n");
		return 1;
	}
	/* children until the queue overruns; one message read a step (the
	 * ENOBUFS comes first), so the queue stays full */
	do {
		if (burst(ND_STEP) != 0 || sensor_netlink_ops.poll(s, 1, on_msg, NULL) < 0) {
			fprintf(stderr, "FAIL: first burst\n");
			return 1;
		}
		want += 2 * ND_STEP;
		sensor_netlink_ops.stats(s, &st);
	} while (st.overruns == 0 && ++steps < ND_STEPS);
	if (st.overruns == 0) {
		fprintf(stderr,
			"FAIL: %d children did not overrun the queue (%llu messages read)\n",
			ND_STEP * ND_STEPS, (unsigned long long)st.msgs);
		return 1;
	}
	/* a few more read, the stats asked while the queue is still full */
	if (sensor_netlink_ops.poll(s, 100, on_msg, NULL) < 0) {
		fprintf(stderr, "FAIL: poll\n");
		return 1;
	}
	sensor_netlink_ops.stats(s, &st);
	printf("after the first burst: %llu read, %llu lost so far\n", (unsigned long long)st.msgs,
	       (unsigned long long)st.lost);
	if (burst(ND_SECOND) != 0 || drain(s) < 0) {
		fprintf(stderr, "FAIL: second burst\n");
		return 1;
	}
	sensor_netlink_ops.stats(s, &st);
	printf("after the drain: %llu read, %llu lost, %llu overruns; %llu sent to us at least\n",
	       (unsigned long long)st.msgs, (unsigned long long)st.lost,
	       (unsigned long long)st.overruns, (unsigned long long)want);
	sensor_netlink_ops.stop(s);
	if (st.msgs + st.lost < want) {
		fprintf(stderr, "FAIL: %llu messages neither read nor counted lost\n",
			(unsigned long long)(want - st.msgs - st.lost));
		return 1;
	}
	printf("ok: every message read or counted\n");
	return 0;
}
