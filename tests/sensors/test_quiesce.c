/* sensors_process_bpf_quiesce: at the stop the eBPF process sensor detaches
 * its programs (sensor_ops.quiesce) and keeps its ring readable, so the
 * collector's last polls read everything captured before and nothing can
 * come after (agent/collect.c, collect_drain). Real kernel, real
 * executions: an exec before the quiesce, not yet read, is delivered by a
 * poll after it; an exec after it is not; a second quiesce and the stop
 * after it are harmless. Root; skips with 77 where the kernel refuses the
 * sensor. */
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

int main(void)
{
	struct sensor *s = NULL;
	struct seen seen = {0};
	int r = stest_start(&s);

	if (r != 0)
		return r;
	CHECK(sensor_bpf_ops.quiesce != NULL, "no quiesce op");
	CHECK(stest_drain(s, on_msg, &seen) >= 0, "drain");
	seen.a = stest_run_true();
	CHECK(seen.a > 0, "spawn /bin/true");
	sensor_bpf_ops.quiesce(s);
	seen.b = stest_run_true();
	CHECK(seen.b > 0, "spawn /bin/true");
	CHECK(stest_drain(s, on_msg, &seen) > 0, "nothing read after the quiesce");
	CHECK(seen.exec_a == 1, "exec of %d before the quiesce read %d times", (int)seen.a,
	      seen.exec_a);
	CHECK(seen.exec_b == 0 && seen.exit_b == 0,
	      "exec of %d after the quiesce reported (exec %d, exit %d)", (int)seen.b, seen.exec_b,
	      seen.exit_b);
	sensor_bpf_ops.quiesce(s);
	CHECK(stest_drain(s, on_msg, &seen) == 0, "records after a second quiesce");
	sensor_bpf_ops.stop(s);
	if (stest_fails)
		return 1;
	printf("sensors_process_bpf_quiesce: ok\n");
	return 0;
}
#endif
