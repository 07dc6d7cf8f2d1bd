#include "collect.h"
#include "batcher.h"
#include "enrich.h"
#include "err.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define COLLECT_TICK_MS	      1000
#define COLLECT_BACKLOG_FILES 100 /* server behind: batch longer, fewer files */
#define COLLECT_BACKLOG_MS    1000
#define COLLECT_RT_SHARE      4		     /* RT off above 1/4 of a core */
#define COLLECT_RT_PAUSE_NS   10000000000ull /* ... for this long */

struct collect_state {
	const struct collect_cfg *cfg;
	struct event ev;
	uint64_t last_overruns, last_lost, last_batch_drops;
	int rt_want, rt_on;
	uint64_t rt_cpu_ns, rt_mono_ns, rt_off_until;
};

static uint64_t collect_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int collect_rt_set(int on)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	sp.sched_priority = on ? 1 : 0;
	return pthread_setschedparam(pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &sp);
}

/* Called every tick: keeps real-time priority only while it is cheap. */
static void collect_rt_tick(struct collect_state *cs, uint64_t now)
{
	uint64_t cpu = collect_thread_cpu_ns();
	uint64_t used = cpu - cs->rt_cpu_ns, wall = now - cs->rt_mono_ns;

	cs->rt_cpu_ns = cpu;
	cs->rt_mono_ns = now;
	if (!cs->rt_want)
		return;
	if (cs->rt_on && used * COLLECT_RT_SHARE > wall) {
		if (collect_rt_set(0) == 0) {
			cs->rt_on = 0;
			cs->rt_off_until = now + COLLECT_RT_PAUSE_NS;
			LOG_W("collect", "W3605",
			      "capture thread used %llu ms of CPU in %llu ms: real-time priority "
			      "off for 10 s",
			      (unsigned long long)(used / 1000000),
			      (unsigned long long)(wall / 1000000));
		}
	} else if (!cs->rt_on && now >= cs->rt_off_until && collect_rt_set(1) == 0) {
		cs->rt_on = 1;
	}
}

static void collect_on_msg(void *arg, const struct sensor_msg *m)
{
	struct collect_state *cs = arg;

	if (enrich_msg(cs->cfg->en, m, &cs->ev) == 1)
		batcher_add(cs->cfg->b, &cs->ev);
}

/* Emits an agent_status event. Values are formatted into local buffers that
 * live until batcher_add has copied them. */
static void collect_status(struct collect_state *cs, const char *status,
			   const struct spool_drops *d, uint64_t overruns, uint64_t sensor_lost,
			   uint64_t lost)
{
	struct event ev;
	char v[8][24];

	event_init(&ev);
	ev.product = "linux";
	ev.category = EVCAT_AGENT_STATUS;
	ev.ts_ns = util_now_ns();
	event_set_str(&ev, "Status", status);
	event_set_str(&ev, "AgentVersion", YM_VERSION);
	event_set_str(&ev, "ProcessSensor", cs->cfg->ops->name);
	if (d && (d->events || d->batches)) {
		snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)d->events);
		snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)d->first_seq);
		snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)d->last_seq);
		event_set_str(&ev, "DroppedEvents", v[0]);
		event_set_str(&ev, "DroppedFirstSeq", v[1]);
		event_set_str(&ev, "DroppedLastSeq", v[2]);
	}
	if (d && d->rejected_batches) {
		snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)d->rejected_batches);
		snprintf(v[4], sizeof(v[4]), "%llu", (unsigned long long)d->rejected_events);
		event_set_str(&ev, "RejectedBatches", v[3]);
		event_set_str(&ev, "RejectedEvents", v[4]);
	}
	if (overruns) {
		snprintf(v[5], sizeof(v[5]), "%llu", (unsigned long long)overruns);
		event_set_str(&ev, "SensorOverruns", v[5]);
	}
	if (sensor_lost) {
		/* kernel messages lost (fork, exec and exit messages alike) */
		snprintf(v[7], sizeof(v[7]), "%llu", (unsigned long long)sensor_lost);
		event_set_str(&ev, "SensorLostMessages", v[7]);
	}
	if (lost) {
		/* events that never got a sequence number (seq file not writable) */
		snprintf(v[6], sizeof(v[6]), "%llu", (unsigned long long)lost);
		event_set_str(&ev, "UnsequencedDrops", v[6]);
	}
	batcher_add(cs->cfg->b, &ev);
}

static void collect_check_drops(struct collect_state *cs)
{
	struct sensor_stats ss;
	struct batcher_stats bs;
	struct spool_drops d;
	uint64_t ov, slost, lost;
	int any;

	cs->cfg->ops->stats(cs->cfg->sensor, &ss);
	batcher_stats(cs->cfg->b, &bs);
	any = spool_take_drops(cs->cfg->sp, &d);
	ov = ss.overruns - cs->last_overruns;
	slost = ss.lost - cs->last_lost;
	lost = bs.dropped_events - cs->last_batch_drops;
	cs->last_overruns = ss.overruns;
	cs->last_lost = ss.lost;
	cs->last_batch_drops = bs.dropped_events;
	if (any || ov || slost || lost) {
		if (any && d.events)
			LOG_W("collect", "W3601",
			      "dropped %llu events (seq %llu..%llu) at the spool cap",
			      (unsigned long long)d.events, (unsigned long long)d.first_seq,
			      (unsigned long long)d.last_seq);
		if (ov)
			LOG_W("collect", "W3604",
			      "process sensor lost %llu kernel messages (%llu overruns)",
			      (unsigned long long)slost, (unsigned long long)ov);
		collect_status(cs, "drops", &d, ov, slost, lost);
	}
}

int collect_run(const struct collect_cfg *cfg)
{
	struct collect_state cs;
	uint64_t last_tick = util_mono_ns(), last_expire = last_tick;
	int r = 0, stop = 0;

	memset(&cs, 0, sizeof(cs));
	cs.cfg = cfg;
	cs.rt_cpu_ns = collect_thread_cpu_ns();
	cs.rt_mono_ns = last_tick;
	if (cfg->realtime) {
		int e = collect_rt_set(1);
		if (e == 0) {
			cs.rt_want = cs.rt_on = 1;
		} else {
			LOG_W("collect", "W3606",
			      "no real-time priority for the capture thread (%s): short-lived "
			      "processes may be reported without command line",
			      strerror(e));
		}
	}
	collect_status(&cs, "started", NULL, 0, 0, 0);
	while (!stop) {
		struct pollfd pfd[2];
		uint64_t now = util_mono_ns(), oldest = batcher_oldest_ns(cfg->b);
		uint64_t batch_ms = cfg->batch_ms;
		int64_t timeout = COLLECT_TICK_MS - (int64_t)((now - last_tick) / 1000000);
		struct spool_stats sst;
		int k;

		spool_stats(cfg->sp, &sst);
		if (sst.files > COLLECT_BACKLOG_FILES && batch_ms < COLLECT_BACKLOG_MS)
			batch_ms = COLLECT_BACKLOG_MS;
		if (oldest) {
			int64_t due = (int64_t)batch_ms - (int64_t)((now - oldest) / 1000000);
			if (due < timeout)
				timeout = due;
		}
		if (timeout < 0)
			timeout = 0;
		pfd[0].fd = cfg->ops->fd(cfg->sensor);
		pfd[0].events = POLLIN;
		pfd[1].fd = cfg->sigfd;
		pfd[1].events = POLLIN;
		k = poll(pfd, 2, (int)timeout);
		if (k < 0 && errno != EINTR) {
			LOG_E("collect", "E3602", "poll failed: %s", strerror(errno));
			r = YM_E_IO;
			break;
		}
		if (k > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(cfg->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				LOG_I("collect", "signal %u: stopping", si.ssi_signo);
			stop = 1;
		}
		if (k > 0 && (pfd[0].revents & (POLLIN | POLLERR))) {
			/* bounded drain so timers still run under a flood */
			int n = cfg->ops->poll(cfg->sensor, 4096, collect_on_msg, &cs);
			if (n < 0) {
				LOG_E("collect", "E3603", "sensor %s failed: %s", cfg->ops->name,
				      ym_strerror(n));
				r = YM_E_IO;
				break;
			}
		}
		now = util_mono_ns();
		oldest = batcher_oldest_ns(cfg->b);
		if (oldest && (now - oldest) / 1000000 >= batch_ms)
			batcher_flush(cfg->b);
		if ((now - last_tick) / 1000000 >= COLLECT_TICK_MS) {
			last_tick = now;
			collect_check_drops(&cs);
			collect_rt_tick(&cs, now);
		}
		if (now - last_expire >= 10000000000ull) {
			last_expire = now;
			enrich_tick(cfg->en);
		}
	}
	collect_check_drops(&cs);
	batcher_flush(cfg->b);
	return r;
}
