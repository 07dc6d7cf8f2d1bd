/* collect: the capture loop of the agent's main thread. Waits (blocking,
 * no busy loop) on the sensor and a signalfd, turns sensor messages into
 * events (enrich), hands them to the batcher, flushes batches when their
 * time is up, and emits agent_status events: one at start (which sensor
 * runs) and one whenever something was dropped (sensor overruns, spool cap
 * drops with their sequence range, rejected batches). Returns on SIGTERM or
 * SIGINT after flushing the pending batch to the spool.
 *
 * With realtime set, the calling thread runs SCHED_FIFO priority 1: /proc of
 * a process can only be read while it lives, and a normal-priority reader
 * loses the race against short-lived processes (measured: 35 % of command
 * lines of a /bin/true loop captured at normal priority, 99 % at FIFO 1).
 * Call it after starting the other threads, which must not inherit it. A
 * guard bounds the cost: when the thread uses more than a quarter of a core
 * over a tick, it drops to SCHED_OTHER for 10 s (logged W3605). */
#ifndef YM_AGENT_COLLECT_H
#define YM_AGENT_COLLECT_H

#include <stdint.h>

#include "sensor.h"

struct enrich;
struct batcher;
struct spool;

struct collect_cfg {
	const struct sensor_ops *ops;
	struct sensor *sensor; /* started */
	struct enrich *en;
	struct batcher *b;
	struct spool *sp;
	int sigfd;	   /* signalfd for SIGTERM and SIGINT */
	uint64_t batch_ms; /* flush a batch this long after its first event */
	int realtime;	   /* run the capture thread SCHED_FIFO (see below) */
};

/* Returns 0 after a clean stop, or YM_E_IO when the sensor failed for good
 * (the pending batch is flushed either way). */
int collect_run(const struct collect_cfg *cfg);

#endif
