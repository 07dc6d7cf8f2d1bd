/* sensors_process_bpf_quiesce: at the stop the eBPF process sensor detaches
 * its programs (sensor_ops.quiesce) and keeps its ring readable, so the
 * collector's last polls read everything captured before and nothing can
 * come after (agent/collect.c, collect_drain); the netlink sensor (the
 * fallback) stops listening to the proc connector and keeps its queue.
 * Real kernel, real executions: an exec before the quiesce, not yet read,
 * is delivered by a poll after it; an exec after it is not; a second
 * quiesce and the stop after it are harmless. Root; skips with 77 where the
 * kernel refuses the eBPF sensor. */
#include <stdio.h>
#include <unistd.h>

#include "stest.h"

#ifdef YM_HAVE_BPF

struct seen {
	pid_t a, b;
	int exec_a, exec_b, exit_b;
};

static void on_msg(void *arg, const struct sensor_msg *m)
{
	struct seen *s = arg;

	if (m->type == SENSOR_MSG_EXEC && m->pid == s->a)
		s->exec_a++;
	if (m->pid == s->b) {
		if (m->type == SENSOR_MSG_EXEC)
			s->exec_b++;
		if (m->type == SENSOR_MSG_EXIT)
			s->exit_b++;
	}
}

/* An exec before the quiesce (not yet read) is delivered by the polls
 * after it, one after it is not; a second quiesce changes nothing. */
static void check(const struct sensor_ops *ops, struct sensor *s)
{
	struct seen seen = {0};

	CHECK(ops->quiesce != NULL, "%s: no quiesce op", ops->name);
	if (ops->quiesce == NULL)
		return;
	CHECK(stest_drain(ops, s, on_msg, &seen) >= 0, "%s: drain", ops->name);
	seen.a = stest_run_true();
	CHECK(seen.a > 0, "spawn /bin/true");
	ops->quiesce(s);
	seen.b = stest_run_true();
	CHECK(seen.b > 0, "spawn /bin/true");
	CHECK(stest_drain(ops, s, on_msg, &seen) > 0, "%s: nothing read after the quiesce",
	      ops->name);
	CHECK(seen.exec_a == 1, "%s: exec of %d before the quiesce read %d times", ops->name,
	      (int)seen.a, seen.exec_a);
	CHECK(seen.exec_b == 0 && seen.exit_b == 0,
	      "%s: exec of %d after the quiesce reported (exec %d, exit %d)", ops->name,
	      (int)seen.b, seen.exec_b, seen.exit_b);
	ops->quiesce(s);
	CHECK(stest_drain(ops, s, on_msg, &seen) == 0, "%s: records after a second quiesce",
	      ops->name);
}

int main(void)
{
	struct sensor *s = NULL;
	int r = stest_start(&s);

	if (r != 0)
		return r;
	check(&sensor_bpf_ops, s);
	sensor_bpf_ops.stop(s);
	/* the fallback the same way: the proc connector stops queueing to it */
	s = NULL;
	r = sensor_netlink_ops.start(&s);
	CHECK(r == 0, "netlink sensor start: %s", ym_strerror(r));
	if (r == 0) {
		check(&sensor_netlink_ops, s);
		sensor_netlink_ops.stop(s);
	}
	if (stest_fails)
		return 1;
	printf("sensors_process_bpf_quiesce: ok (bpf, netlink)\n");
	return 0;
}
#endif
