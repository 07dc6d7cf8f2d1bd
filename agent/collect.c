#include "collect.h"
#include "batcher.h"
#include "enrich.h"
#include "err.h"
#include "family_util.h"
#include "bounds.h"
#include "log.h"
#include "spool.h"
#ifdef YM_FAMILY_BPF
#include "sysx.h"
#endif
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define COLLECT_TICK_MS	      1000
#define COLLECT_BACKLOG_FILES 100 /* server behind: batch longer, fewer files */
#define COLLECT_BACKLOG_MS    1000
#define COLLECT_RT_SHARE      4		     /* RT off above 1/4 of a core */
#define COLLECT_RT_PAUSE_NS   10000000000ull /* ... for this long */
/* Spool group commit: batches wait up to this long after the first of them
 * for one shared round of fsyncs (agent.md, "Spool"); with --batch-ms 400 an
 * event is sendable at most 600 ms after it was captured */
#define COLLECT_SYNC_MS 200

/* A sensor with timer polls (poll_interval_ms) and nothing in this long
 * stops them (ops->idle): its next message wakes the collector instead.
 * An idle host then costs no wake-up for it (ten a second before); the
 * 1 s tick polls it still, in case a wake-up never comes. */
#define COLLECT_SENSOR_IDLE_MS 500

#define COLLECT_FAMILY_MAX_POLL 4096 /* events drained from one family per wake-up */
#define COLLECT_SENSOR_MAX_POLL 4096 /* messages from the process sensor per poll */
/* A poll's bound in messages is cut to what fits this much wall time, and
 * doubled back (up to the maximum) while polls take under half of it. An
 * agent held at its CPU share (a cgroup quota of 5 % of a core gives it
 * 5 ms of every 100) read 4,096 records in seconds, and its tick (drop
 * reports, the shedding level, the families' timers) waited for them:
 * under a storm the overload was seen ~10 s late. */
#define COLLECT_POLL_BUDGET_NS (25 * 1000000ull)
#define COLLECT_POLL_MIN       64
/* After a family's descriptor woke the collector and was drained, it is left
 * out of the epoll set this long, so a stream of records (auditd: one
 * datagram each; eBPF rings: a wake-up per record) costs one wake-up per
 * interval instead of one per record. The kernel buffers hold the interval:
 * at 100,000 records/s, 2,000 records (rings of 256 KiB and more, socket
 * buffers of MiBs). */
#define COLLECT_FAMILY_POLL_MS 20
/* At the stop, what the kernel buffers hold is read for at most this long
 * (collect_drain): every module that reads a stream the kernel fills stops
 * it first (ops->quiesce), and its buffer is finite by then and read to the
 * end well within this; the bound is for one whose source goes on (an
 * audit module that could not stop its records, W3611; an auth log a
 * storm keeps appending to). A full 1 MiB process ring is ~6,000 records,
 * ~10 ms of CPU; the audit socket's 8 MiB a few hundred ms; a CPU bound
 * of 5 % of a core stretches both 20 times. */
#define COLLECT_STOP_DRAIN_MS 2000
/* ... after the modules that can stop their programs did (ops->quiesce),
 * and this much later: a program running at its detach commits within
 * microseconds */
#define COLLECT_QUIESCE_NS (10 * 1000000l)
#define COLLECT_EP_SENSOR	0
#define COLLECT_EP_SIGNAL	1
#define COLLECT_EP_FAMILY	2 /* + index */

#define COLLECT_CALM_TICKS 3 /* calm ticks before the shedding level goes down one */

struct collect_state {
	const struct collect_cfg *cfg;
	struct event ev;
	int shed_level; /* 0 none, 1 file, 2 file + network + dns */
	struct collect_family *emitting;
	uint64_t last_overruns, last_lost, last_batch_drops;
	int rt_want, rt_on;
	uint64_t rt_cpu_ns, rt_mono_ns, rt_off_until;
	unsigned calm_ticks; /* ticks in a row without overload */
	/* each poll's bound in messages (COLLECT_POLL_BUDGET_NS) */
	int sensor_max, fam_max[COLLECT_MAX_FAMILIES];
};

/* The next bound after a poll that took ns for n messages of at most max:
 * what fits COLLECT_POLL_BUDGET_NS at the rate seen when it took longer;
 * twice as much when a full poll took under half of it. */
int collect_poll_bound(int max, int n, uint64_t ns, int cap)
{
	if (ns > COLLECT_POLL_BUDGET_NS && n > 0) {
		uint64_t fit = (uint64_t)n * COLLECT_POLL_BUDGET_NS / ns;
		int next = fit < COLLECT_POLL_MIN ? COLLECT_POLL_MIN : (int)fit;

		return next < max ? next : max;
	}
	if (n >= max && ns < COLLECT_POLL_BUDGET_NS / 2 && max < cap)
		return max > cap / 2 ? cap : max * 2;
	return max;
}

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

/* Shed priority of a family: lower goes first. Process and auth events are
 * never shed here. */
static int collect_shed_rank(const char *family)
{
	if (strcmp(family, "file") == 0)
		return 1;
	if (strcmp(family, "network") == 0 || strcmp(family, "dns") == 0)
		return 2;
	return 99;
}

int collect_offer(struct batcher *b, struct collect_family *cf, int shed_level,
		  const struct event *ev)
{
	if (cf && shed_level >= collect_shed_rank(cf->family)) {
		cf->shed++;
		return 1;
	}
	/* a family never speaks for the agent: of its status category, only
	 * the auth family's report of a forged log entry, a Status the
	 * server's health bookkeeping (started, drops) does not read. Anything
	 * that would not decode (bad name, NUL in a value, a name twice)
	 * batcher_add refuses alone, and the module counts it */
	if (ev->category == EVCAT_AGENT_STATUS) {
		const char *st = event_get(ev, "Status", NULL);

		if (!cf || strcmp(cf->family, "auth") != 0 || !st ||
		    strcmp(st, "forged_log_entry") != 0)
			return 1;
	}
	return batcher_add(b, ev) == 0 ? 0 : 1;
}

/* family_emit_fn: one finished event of the family being polled */
static int collect_emit(void *arg, const struct event *ev)
{
	struct collect_state *cs = arg;

	return collect_offer(cs->cfg->b, cs->emitting, cs->shed_level, ev);
}

/* The uplink process's pid for the families, which do not report it. */
static void collect_helper_pid(const struct collect_state *cs)
{
	pid_t p = cs->cfg->helper_pid ? cs->cfg->helper_pid(cs->cfg->helper_ctx) : 0;

	family_set_helper_pid(p > 0 ? (int32_t)p : 0);
}

static void collect_on_msg(void *arg, const struct sensor_msg *m)
{
	struct collect_state *cs = arg;

	if (enrich_msg(cs->cfg->en, m, &cs->ev) == 1)
		batcher_add(cs->cfg->b, &cs->ev);
}

/* "network" -> "NetworkSensor" */
static void collect_mode_field(const char *family, char *out, size_t outsz)
{
	snprintf(out, outsz, "%sSensor", family);
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

/* The started event names the mode of every family and the bounds. The
 * field names live in a static table: the event borrows them. */
static void collect_status_modes(struct collect_state *cs, struct event *ev)
{
	static char names[COLLECT_MAX_FAMILIES][40];
	const struct collect_cfg *cfg = cs->cfg;

	for (size_t i = 0; i < cfg->nfams && i < COLLECT_MAX_FAMILIES; i++) {
		collect_mode_field(cfg->fams[i].family, names[i], sizeof(names[i]));
		event_set_str(ev, names[i], cfg->fams[i].ops ? cfg->fams[i].ops->mode : "none");
	}
	if (cfg->lim) {
		event_set_str(ev, "CpuLimit", cfg->lim->cpu_how);
		event_set_str(ev, "MemoryLimit", cfg->lim->mem_how);
	}
#if defined(YM_FAMILY_BPF) && defined(__x86_64__)
	/* whether 32-bit system calls can be made here: the eBPF modes watch
	 * them at a cost on every system call (docs/sensors.md, "32-bit
	 * system calls"); "off" (ia32_emulation=0): nothing to watch */
	event_set_str(ev, "Ia32Emulation", sysx_compat_present() ? "on" : "off");
#endif
}

/* How the previous run ended, for the started status: PreviousStop clean
 * or unclean (its running marker left behind: killed, crashed, power
 * lost), and for an unclean one its pid and start (RFC 3339, UTC). */
static void collect_status_prev(struct collect_state *cs, struct event *ev)
{
	static char pid[24];
	const struct collect_prev *p = cs->cfg->prev;

	if (!p)
		return;
	event_set_str(ev, "PreviousStop", p->unclean ? "unclean" : "clean");
	if (!p->unclean)
		return;
	if (p->pid > 0) {
		snprintf(pid, sizeof(pid), "%ld", p->pid);
		event_set_str(ev, "PreviousPid", pid);
	}
	if (p->started[0])
		event_set_str(ev, "PreviousStarted", p->started);
}

/* One drop report for a family whose counters moved: Family, Drops (events
 * lost: kernel or source overflows, unreadable data, sheds), Overruns,
 * Shed (of Drops, what the collector shed under overload). */
static void collect_family_drops(struct collect_state *cs, const char *family, const char *mode,
				 uint64_t drops, uint64_t overruns, uint64_t shed)
{
	struct event ev;
	char v[3][24];

	event_init(&ev);
	ev.product = "linux";
	ev.category = EVCAT_AGENT_STATUS;
	ev.ts_ns = util_now_ns();
	event_set_str(&ev, "Status", "drops");
	event_set_str(&ev, "AgentVersion", YM_VERSION);
	event_set_str(&ev, "Family", family);
	event_set_str(&ev, "Mode", mode);
	snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)drops);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)overruns);
	snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)shed);
	event_set_str(&ev, "Drops", v[0]);
	if (overruns)
		event_set_str(&ev, "Overruns", v[1]);
	if (shed)
		event_set_str(&ev, "Shed", v[2]);
	LOG_W("collect", "W3607", "%s (%s): %llu events dropped (%llu shed), %llu overruns",
	      family, mode, (unsigned long long)drops, (unsigned long long)shed,
	      (unsigned long long)overruns);
	batcher_add(cs->cfg->b, &ev);
}

static void collect_check_families(struct collect_state *cs)
{
	const struct collect_cfg *cfg = cs->cfg;

	for (size_t i = 0; i < cfg->nfams; i++) {
		struct collect_family *cf = &cfg->fams[i];
		struct family_stats st;
		uint64_t d, o, sh;

		if (!cf->ops || !cf->f)
			continue;
		cf->ops->stats(cf->f, &st);
		/* a shed event is a drop the module counted too (emit said no) */
		d = st.drops - cf->reported.drops;
		o = st.overruns - cf->reported.overruns;
		sh = cf->shed - cf->shed_reported;
		if (d || o || sh)
			collect_family_drops(cs, cf->family, cf->ops->mode, d > sh ? d : sh, o, sh);
		cf->reported = st;
		cf->shed_reported = cf->shed;
	}
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
	if (strcmp(status, "started") == 0) {
		collect_status_modes(cs, &ev);
		collect_status_prev(cs, &ev);
	}
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
		if (ov || slost)
			LOG_W("collect", "W3604",
			      "process sensor lost %llu kernel messages (%llu overruns)",
			      (unsigned long long)slost, (unsigned long long)ov);
		collect_status(cs, "drops", &d, ov, slost, lost);
		if (ov || slost)
			collect_family_drops(cs, "process", cs->cfg->ops->name, slost, ov, 0);
	}
	collect_check_families(cs);
}

/* Returns what the family's poll() returned (< 0: failed, now stopped);
 * *full: it took as many as it could (more may wait). */
static int collect_poll_family(struct collect_state *cs, struct collect_family *cf, int *full)
{
	int *max = &cs->fam_max[cf - cs->cfg->fams], n;
	uint64_t t0;

	*full = 0;
	if (!cf->ops || !cf->f || cf->failed)
		return 0;
	/* the uplink's pid as it is now: restarted, it connects to the server
	 * at once, and a dump or record of that connection must know it for
	 * the agent's (a tick later was a second of its connections reported) */
	collect_helper_pid(cs);
	cs->emitting = cf;
	t0 = util_mono_ns();
	n = cf->ops->poll(cf->f, *max, collect_emit, cs);
	cs->emitting = NULL;
	if (n < 0) {
		LOG_E("collect", "E3604", "%s sensor %s failed: %s: stopped", cf->family,
		      cf->ops->mode, ym_strerror(n));
		cf->failed = 1;
		return n;
	}
	*full = n >= *max;
	*max = collect_poll_bound(*max, n, util_mono_ns() - t0, COLLECT_FAMILY_MAX_POLL);
	return n;
}

static void collect_tick_families(struct collect_state *cs)
{
	for (size_t i = 0; i < cs->cfg->nfams; i++) {
		struct collect_family *cf = &cs->cfg->fams[i];
		if (!cf->ops || !cf->f || cf->failed || !cf->ops->tick)
			continue;
		cs->emitting = cf;
		if (cf->ops->tick(cf->f, collect_emit, cs) < 0) {
			LOG_E("collect", "E3604", "%s sensor %s failed on tick: stopped",
			      cf->family, cf->ops->mode);
			cf->failed = 1;
		}
		cs->emitting = NULL;
	}
}

/* Once a tick: over the CPU share, shed one more priority class (and, with
 * no cgroup quota, sleep the excess off); under half of it, one less. */
static void collect_overload_tick(struct collect_state *cs)
{
	struct bounds *l = cs->cfg->lim;
	int over, prev = cs->shed_level;

	if (!l || !l->cpu_pct)
		return;
	over = strcmp(l->cpu_how, "self") == 0 ? bounds_throttle(l) : bounds_overloaded(l);
	/* up at once, down only after COLLECT_CALM_TICKS calm ticks in a row:
	 * shedding itself relieves the load, which would otherwise lower the
	 * level the next tick and raise it again the one after */
	cs->calm_ticks = over ? 0 : cs->calm_ticks + 1;
	if (over && cs->shed_level < 2)
		cs->shed_level++;
	else if (cs->calm_ticks >= COLLECT_CALM_TICKS && cs->shed_level > 0) {
		cs->shed_level--;
		cs->calm_ticks = 0;
	}
	if (cs->shed_level != prev)
		LOG_W("collect", "W3608", "overload: shedding level %d (1: file, 2: + network, dns)",
		      cs->shed_level);
}

int collect_families_start(const char *const *forced, size_t nforced,
			   const struct family_env *env, struct collect_family *out, size_t max,
			   size_t *n)
{
	size_t nf = 0;
	int r = 0;

	/* every forced family=mode must name a module (or "off") */
	for (size_t j = 0; j < nforced; j++) {
		const char *eq = strchr(forced[j], '=');
		int found = 0;
		if (!eq)
			return YM_E_INVAL;
		/* process is main's; "off" for a family this build lacks is no error */
		if ((strncmp(forced[j], "process", (size_t)(eq - forced[j])) == 0 &&
		     eq - forced[j] == 7) ||
		    strcmp(eq + 1, "off") == 0)
			continue;
		for (size_t i = 0; family_table[i]; i++) {
			const struct family_ops *o = family_table[i];
			if (strlen(o->family) == (size_t)(eq - forced[j]) &&
			    strncmp(o->family, forced[j], (size_t)(eq - forced[j])) == 0 &&
			    (strcmp(eq + 1, o->mode) == 0 || strcmp(eq + 1, "off") == 0))
				found = 1;
		}
		if (!found) {
			LOG_E("collect", "E3013", "--mode %s: no such family or mode", forced[j]);
			return YM_E_INVAL;
		}
	}
	for (size_t i = 0; family_table[i]; i++) {
		const struct family_ops *o = family_table[i];
		const char *want = NULL;
		struct collect_family *cf = NULL;
		size_t k;
		int e;

		for (k = 0; k < nf; k++)
			if (strcmp(out[k].family, o->family) == 0)
				cf = &out[k];
		if (!cf) {
			if (nf >= max)
				continue;
			cf = &out[nf++];
			memset(cf, 0, sizeof(*cf));
			cf->family = o->family;
		}
		if (cf->ops)
			continue; /* an earlier mode runs */
		for (size_t j = 0; j < nforced; j++) {
			const char *eq = strchr(forced[j], '=');
			if (strlen(o->family) == (size_t)(eq - forced[j]) &&
			    strncmp(o->family, forced[j], (size_t)(eq - forced[j])) == 0)
				want = eq + 1;
		}
		if (want && strcmp(want, o->mode) != 0)
			continue;
		e = o->start(env, &cf->f);
		if (e == 0) {
			cf->ops = o;
			LOG_I("collect", "%s sensor: %s", o->family, o->mode);
		} else if (want) {
			LOG_E("collect", "E3014", "%s sensor %s (forced) cannot start: %s",
			      o->family, o->mode, ym_strerror(e));
			r = e;
			break;
		} else {
			LOG_I("collect", "%s sensor %s cannot start: %s", o->family, o->mode,
			      ym_strerror(e));
		}
	}
	if (r) {
		collect_families_stop(out, nf);
		return r;
	}
	for (size_t k = 0; k < nf; k++)
		if (!out[k].ops)
			LOG_W("collect", "W3609", "%s events not collected: no mode could start",
			      out[k].family);
	*n = nf;
	return 0;
}

void collect_families_stop(struct collect_family *fams, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fams[i].ops && fams[i].f)
			fams[i].ops->stop(fams[i].f);
		fams[i].f = NULL;
		fams[i].ops = NULL;
	}
}

static int collect_ep_ctl(int ep, int op, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = events;
	e.data.u32 = tag;
	return epoll_ctl(ep, op, fd, &e);
}

static int collect_ep_add(int ep, int fd, uint32_t tag)
{
	return collect_ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, tag);
}

/* Re-arms the family descriptors whose rest interval is over (rearm[i] != 0
 * and <= now); returns the ms until the next one is due (INT64_MAX: none). */
static int64_t collect_rearm(const struct collect_cfg *cfg, int ep, uint64_t *rearm, uint64_t now)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < cfg->nfams; i++) {
		const struct collect_family *cf = &cfg->fams[i];

		if (rearm[i] == 0)
			continue;
		if (rearm[i] > now) {
			int64_t due = (int64_t)((rearm[i] - now + 999999) / 1000000);

			if (due < next)
				next = due;
			continue;
		}
		rearm[i] = 0;
		if (cf->ops && cf->f && !cf->failed &&
		    collect_ep_ctl(ep, EPOLL_CTL_MOD, cf->ops->fd(cf->f), EPOLLIN,
				   COLLECT_EP_FAMILY + (uint32_t)i) != 0)
			LOG_E("collect", "E3602", "epoll re-arm of %s failed: %s", cf->family,
			      strerror(errno));
	}
	return next;
}

/* Drains the process sensor (at most its bound: COLLECT_POLL_BUDGET_NS);
 * logs a failure; *full: it took as many as it could (more may wait).
 * Returns what its poll() returned. */
static int collect_poll_sensor(struct collect_state *cs, int *full)
{
	const struct collect_cfg *cfg = cs->cfg;
	uint64_t t0 = util_mono_ns();
	int n = cfg->ops->poll(cfg->sensor, cs->sensor_max, collect_on_msg, cs);

	*full = 0;
	if (n < 0) {
		LOG_E("collect", "E3603", "sensor %s failed: %s", cfg->ops->name, ym_strerror(n));
		return n;
	}
	*full = n >= cs->sensor_max;
	cs->sensor_max =
	    collect_poll_bound(cs->sensor_max, n, util_mono_ns() - t0, COLLECT_SENSOR_MAX_POLL);
	return n;
}

/* At the stop: the sensor and the families that can stop their kernel
 * side (ops->quiesce: eBPF programs detached) do so first, so that what
 * their buffers hold is finite; then reads what the sensor and each family
 * hold, until a poll finds less than it may take (drained) or
 * COLLECT_STOP_DRAIN_MS pass (a buffer that keeps filling), then has each
 * family emit what waits for more input (ops->flush). Records left in a
 * kernel buffer are freed with it, lost and counted nowhere; an agent held
 * back by its CPU bound, or stopped during a storm, has thousands there. */
static void collect_drain(struct collect_state *cs)
{
	const struct collect_cfg *cfg = cs->cfg;
	uint64_t t0 = util_mono_ns(), tq, end;
	uint64_t got = 0;
	int n, full, quiesced = 0;

	if (cfg->ops->quiesce) {
		cfg->ops->quiesce(cfg->sensor);
		quiesced = 1;
	}
	for (size_t i = 0; i < cfg->nfams; i++) {
		struct collect_family *cf = &cfg->fams[i];

		if (cf->ops && cf->f && !cf->failed && cf->ops->quiesce) {
			cf->ops->quiesce(cf->f);
			quiesced = 1;
		}
	}
	/* a program that was running on another CPU at its detach may still
	 * commit its record: a moment for it, before the polls that must see
	 * it */
	if (quiesced) {
		struct timespec ts = {0, COLLECT_QUIESCE_NS};

		nanosleep(&ts, NULL);
	}
	/* the bound runs from here: detaching takes its time (closing a link
	 * waits for the kernel's grace periods, 50-80 ms each in this VM, ~2 s
	 * for every module's in bpf mode), and the buffers it left finite are
	 * to be read to the end, not one poll each */
	tq = util_mono_ns();
	end = tq + COLLECT_STOP_DRAIN_MS * 1000000ull;

	do {
		n = collect_poll_sensor(cs, &full);
		got += n > 0 ? (uint64_t)n : 0;
	} while (full && util_mono_ns() < end);
	for (size_t i = 0; i < cfg->nfams; i++) {
		struct collect_family *cf = &cfg->fams[i];

		do {
			n = collect_poll_family(cs, cf, &full);
			got += n > 0 ? (uint64_t)n : 0;
		} while (full && util_mono_ns() < end);
		/* then what waits for more input (an answer, an event's last record) */
		if (!cf->ops || !cf->f || cf->failed || !cf->ops->flush)
			continue;
		cs->emitting = cf;
		n = cf->ops->flush(cf->f, collect_emit, cs);
		cs->emitting = NULL;
		if (n < 0)
			LOG_E("collect", "E3605",
			      "%s sensor %s: what it held at the stop is lost: %s", cf->family,
			      cf->ops->mode, ym_strerror(n));
		got += n > 0 ? (uint64_t)n : 0;
	}
	if (got)
		LOG_I("collect",
		      "stop: %llu records and waiting events taken from the sensors in %llu ms "
		      "(their sources stopped in %llu ms)",
		      (unsigned long long)got,
		      (unsigned long long)((util_mono_ns() - tq) / 1000000),
		      (unsigned long long)((tq - t0) / 1000000));
}

int collect_run(const struct collect_cfg *cfg)
{
	struct collect_state cs;
	uint64_t rearm[COLLECT_MAX_FAMILIES] = {0}; /* 0: in the epoll set */
	uint64_t last_tick = util_mono_ns(), last_expire = last_tick, last_sensor = last_tick;
	uint64_t last_msg = last_tick; /* the sensor's last poll that found something */
	int r = 0, stop = 0, ep = -1, sensor_idle = 0;

	memset(&cs, 0, sizeof(cs));
	cs.cfg = cfg;
	cs.sensor_max = COLLECT_SENSOR_MAX_POLL;
	for (size_t i = 0; i < COLLECT_MAX_FAMILIES; i++)
		cs.fam_max[i] = COLLECT_FAMILY_MAX_POLL;
	collect_helper_pid(&cs);
	cs.rt_cpu_ns = collect_thread_cpu_ns();
	cs.rt_mono_ns = last_tick;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || collect_ep_add(ep, cfg->ops->fd(cfg->sensor), COLLECT_EP_SENSOR) ||
	    collect_ep_add(ep, cfg->sigfd, COLLECT_EP_SIGNAL)) {
		LOG_E("collect", "E3602", "epoll set-up failed: %s", strerror(errno));
		r = YM_E_IO;
		goto out;
	}
	for (size_t i = 0; i < cfg->nfams; i++) {
		const struct collect_family *cf = &cfg->fams[i];
		int fd = cf->ops && cf->f ? cf->ops->fd(cf->f) : -1;
		if (fd >= 0 && collect_ep_add(ep, fd, COLLECT_EP_FAMILY + (uint32_t)i)) {
			LOG_E("collect", "E3602", "epoll set-up failed: %s", strerror(errno));
			r = YM_E_IO;
			goto out;
		}
	}
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
	spool_set_group_commit(cfg->sp, 1);
	collect_status(&cs, "started", NULL, 0, 0, 0);
	while (!stop) {
		struct epoll_event evs[COLLECT_MAX_FAMILIES + 2];
		uint64_t now = util_mono_ns(), oldest = batcher_oldest_ns(cfg->b);
		uint64_t batch_ms = cfg->batch_ms;
		int64_t timeout = COLLECT_TICK_MS - (int64_t)((now - last_tick) / 1000000);
		struct spool_stats sst;
		uint32_t ready[COLLECT_MAX_FAMILIES]; /* families whose descriptor woke us */
		int k, nready = 0, sensor_ready = 0;

		spool_stats(cfg->sp, &sst);
		if (sst.files > COLLECT_BACKLOG_FILES && batch_ms < COLLECT_BACKLOG_MS)
			batch_ms = COLLECT_BACKLOG_MS;
		if (oldest) {
			int64_t due = (int64_t)batch_ms - (int64_t)((now - oldest) / 1000000);
			if (due < timeout)
				timeout = due;
		}
		{
			uint64_t ps = spool_pending_since(cfg->sp);
			int64_t due =
			    ps ? COLLECT_SYNC_MS - (int64_t)((now - ps) / 1000000) : INT64_MAX;

			if (due < timeout)
				timeout = due;
		}
		if (cfg->ops->poll_interval_ms && !sensor_idle) {
			int64_t due = (int64_t)cfg->ops->poll_interval_ms -
				      (int64_t)((now - last_sensor) / 1000000);
			if (due < timeout)
				timeout = due;
		}
		{
			int64_t due = collect_rearm(cfg, ep, rearm, now);

			if (due < timeout)
				timeout = due;
		}
		if (timeout < 0)
			timeout = 0;
		k = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), (int)timeout);
		if (k < 0 && errno != EINTR) {
			LOG_E("collect", "E3602", "epoll_wait failed: %s", strerror(errno));
			r = YM_E_IO;
			break;
		}
		for (int i = 0; i < k; i++) {
			uint32_t tag = evs[i].data.u32;
			if (tag == COLLECT_EP_SIGNAL) {
				struct signalfd_siginfo si;
				if (read(cfg->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					LOG_I("collect", "signal %u: stopping", si.ssi_signo);
				stop = 1;
			} else if (tag == COLLECT_EP_SENSOR) {
				sensor_ready = 1;
			} else if (tag - COLLECT_EP_FAMILY < cfg->nfams) {
				ready[nready++] = tag - COLLECT_EP_FAMILY;
			}
		}
		/* the process sensor first: a family's events are named from the
		 * process table, which the exec (and setuid) records that came
		 * before them fill */
		if (nready)
			sensor_ready = 1;
		now = util_mono_ns();
		if (cfg->ops->poll_interval_ms &&
		    (now - last_sensor) / 1000000 >=
			(sensor_idle ? COLLECT_TICK_MS : cfg->ops->poll_interval_ms))
			sensor_ready = 1;
		if (sensor_ready) {
			/* bounded drain so timers still run under a flood */
			int full, n = collect_poll_sensor(&cs, &full);
			last_sensor = now;
			if (n < 0) {
				r = YM_E_IO;
				break;
			}
			if (n > 0) {
				last_msg = now;
				if (sensor_idle) {
					sensor_idle = 0;
					cfg->ops->idle(cfg->sensor, 0);
				}
			} else if (!sensor_idle && cfg->ops->idle &&
				   (now - last_msg) / 1000000 >= COLLECT_SENSOR_IDLE_MS) {
				/* quiet: the next message wakes us; one more poll for
				 * those that came before the sensor knew */
				cfg->ops->idle(cfg->sensor, 1);
				n = collect_poll_sensor(&cs, &full);
				if (n < 0) {
					r = YM_E_IO;
					break;
				}
				if (n > 0) {
					cfg->ops->idle(cfg->sensor, 0);
					last_msg = now;
				} else {
					sensor_idle = 1;
				}
			}
			/* more waiting: come back at once */
			if (full)
				last_sensor = now - (uint64_t)cfg->ops->poll_interval_ms * 1000000;
		}
		for (int i = 0; i < nready; i++) {
			struct collect_family *cf = &cfg->fams[ready[i]];
			int full, n = collect_poll_family(&cs, cf, &full);

			/* drained: rest (a full drain comes back at once) */
			if (n >= 0 && !full && !cf->failed &&
			    collect_ep_ctl(ep, EPOLL_CTL_MOD, cf->ops->fd(cf->f), 0,
					   COLLECT_EP_FAMILY + ready[i]) == 0)
				rearm[ready[i]] =
				    util_mono_ns() + COLLECT_FAMILY_POLL_MS * 1000000ull;
		}
		now = util_mono_ns();
		oldest = batcher_oldest_ns(cfg->b);
		if (oldest && (now - oldest) / 1000000 >= batch_ms)
			batcher_flush(cfg->b);
		{
			uint64_t ps = spool_pending_since(cfg->sp);

			if (ps && (now - ps) / 1000000 >= COLLECT_SYNC_MS)
				spool_sync(cfg->sp);
		}
		if ((now - last_tick) / 1000000 >= COLLECT_TICK_MS) {
			last_tick = now;
			collect_helper_pid(&cs);
			collect_tick_families(&cs);
			collect_check_drops(&cs);
			collect_rt_tick(&cs, now);
			collect_overload_tick(&cs);
		}
		if (now - last_expire >= 10000000000ull) {
			last_expire = now;
			enrich_tick(cfg->en);
		}
	}
	if (r == 0)
		collect_drain(&cs);
	collect_tick_families(&cs); /* pending flow summaries, so their counts are kept */
	collect_check_drops(&cs);
	batcher_flush(cfg->b);
	spool_set_group_commit(cfg->sp, 0); /* commits what waits */
	/* normal priority again: leaving the bounds' cgroup (bounds_release)
	 * moves the process to one that may have no real-time runtime, which
	 * the kernel refuses to a real-time task */
	if (cs.rt_on && collect_rt_set(0) == 0)
		cs.rt_on = 0;
out:
	if (ep >= 0)
		close(ep);
	return r;
}
