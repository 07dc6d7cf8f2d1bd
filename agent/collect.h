/* collect: the capture loop of the agent's main thread. Waits (epoll, no
 * busy loop) on the process sensor, every started telemetry family
 * (family.h) and a signalfd; turns sensor messages into events (enrich),
 * takes finished events from the families, hands both to the batcher,
 * flushes batches when their time is up, calls each family's tick() once a
 * second, and emits agent_status events: one at start (the mode of every
 * family, the resource bounds) and drop reports (spool cap drops with their
 * sequence range, rejected batches, per-family kernel drops and sheds).
 * Returns on SIGTERM or SIGINT after flushing the pending batch to the spool.
 *
 * Overload: when the agent uses more CPU than its share (bounds.h) over a
 * tick, events are shed by priority, file events first, then network and
 * dns; process events are never shed here (their kernel buffer absorbs a
 * backlog and counts what overflows). Each shed event is counted for its
 * family and reported.
 *
 * With realtime set (netlink mode only), the calling thread runs SCHED_FIFO
 * priority 1: /proc of a process can only be read while it lives, and a
 * normal-priority reader loses the race against short-lived processes
 * (measured: 35 % of command lines of a /bin/true loop captured at normal
 * priority, 99 % at FIFO 1). Call it after starting the other threads, which
 * must not inherit it. A guard bounds the cost: when the thread uses more
 * than a quarter of a core over a tick, it drops to SCHED_OTHER for 10 s
 * (logged W3605). The eBPF sensor reads everything in the kernel and needs
 * none of this. */
#ifndef YM_AGENT_COLLECT_H
#define YM_AGENT_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "family.h"
#include "sensor.h"

struct enrich;
struct batcher;
struct spool;
struct bounds;

#define COLLECT_MAX_FAMILIES 16

/* One family as chosen at start: ops NULL when no mode could start (or the
 * family was switched off with --mode FAMILY=off). */
struct collect_family {
	const char *family;
	const struct family_ops *ops;
	struct family *f; /* started instance, owned by the collector */
	int failed;	  /* poll() failed for good: stopped */
	uint64_t shed;	  /* events the collector shed (overload) */
	struct family_stats reported; /* counters as of the last report */
	uint64_t shed_reported;
};

/* How the agent's previous run on this state directory ended: unclean when
 * it left its running marker (main.c); pid (0 when unknown) and start
 * (RFC 3339, UTC; "" when unknown) from it. */
struct collect_prev {
	int unclean;
	long pid;
	char started[32];
};

struct collect_cfg {
	const struct sensor_ops *ops;
	struct sensor *sensor; /* started */
	struct enrich *en;
	struct batcher *b;
	struct spool *sp;
	struct collect_family *fams; /* started families, borrowed */
	size_t nfams;
	struct bounds *lim; /* may be NULL: no overload detection */
	int sigfd;	    /* signalfd for SIGTERM and SIGINT */
	uint64_t batch_ms;  /* flush a batch this long after its first event */
	int realtime;	    /* run the capture thread SCHED_FIFO (see above) */
	/* The agent's unprivileged uplink process (privsep.c), whose own
	 * traffic to the server no family reports; re-read every tick, as the
	 * process is restarted when it dies. NULL: none. */
	pid_t (*helper_pid)(void *ctx);
	void *helper_ctx;
	/* NULL: not known (tests); else said in the `started` status event
	 * (PreviousStop, PreviousPid, PreviousStarted) */
	const struct collect_prev *prev;
};

/* Starts one mode for each family of family_table: the mode forced for it in
 * forced ("family=mode" strings, nforced of them; mode "off" starts none),
 * else the first whose start() succeeds. Fills out[] (at most max) and *n.
 * Returns 0, or YM_E_INVAL when a forced family or mode does not exist, or
 * the error of a forced mode's start() (nothing is left started then). */
int collect_families_start(const char *const *forced, size_t nforced,
			   const struct family_env *env, struct collect_family *out, size_t max,
			   size_t *n);
/* Stops every started family. */
void collect_families_stop(struct collect_family *fams, size_t n);

/* The bound in messages for a source's next poll, after one that took ns
 * of wall time for n messages of at most max: what fits the collector's
 * poll budget (25 ms) at the rate seen when it took longer, never under 64;
 * twice max, up to cap, when a full poll took under half of it; else max.
 * Exposed for the unit tests. */
int collect_poll_bound(int max, int n, uint64_t ns, int cap);

/* The collector's emit path for one finished family event, exposed for the
 * unit tests (collect_run calls it for every family event). cf is the family
 * being polled (borrowed; NULL: none, never shed); shed_level is the current
 * overload level: 0 none, 1 sheds file events, 2 also network and dns
 * (process, auth and other families are never shed). A shed event counts in
 * cf->shed. An event that would make batch_encode refuse the whole batch
 * (category out of range or agent_status, but the auth family's Status
 * forged_log_entry report, more than EVENT_MAX_FIELDS fields,
 * a NULL or invalid name, a NULL value, a value longer than EVENT_MAX_VALUE
 * or holding a NUL) is refused alone; the module counts it as its drop. ev is
 * borrowed (batcher_add copies it). Returns 0 when b took the event, 1 when it
 * was shed, refused as malformed or refused by batcher_add. */
int collect_offer(struct batcher *b, struct collect_family *cf, int shed_level,
		  const struct event *ev);

/* Returns 0 after a clean stop, or YM_E_IO when the process sensor failed
 * for good (the pending batch is flushed either way). */
int collect_run(const struct collect_cfg *cfg);

#endif
