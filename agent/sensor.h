/* sensor: the process event source behind an ops table, so that the eBPF
 * sensor (sensor_bpf.c) can sit next to the netlink one and be chosen at
 * start. A sensor reports raw facts (pid, parent, time); enrichment from
 * /proc and the process table happens in enrich.c, outside the sensor.
 *
 * The collector owns the sensor: poll the fd it gives for readability, then
 * call poll() to drain what is ready. Not thread-safe. */
#ifndef YM_AGENT_SENSOR_H
#define YM_AGENT_SENSOR_H

#include <stdint.h>

enum sensor_msg_type {
	SENSOR_MSG_FORK = 1, /* a new process (not a thread) */
	SENSOR_MSG_EXEC = 2,
	SENSOR_MSG_EXIT = 3, /* a process (thread group leader) exited */
};

struct sensor_msg {
	enum sensor_msg_type type;
	int32_t pid;	/* process (tgid) */
	int32_t ppid;	/* parent's tgid for FORK (and EXIT when known), else 0 */
	uint64_t ts_ns; /* wall clock, ns since the epoch */
	uint32_t exit_code;
};

struct sensor_stats {
	uint64_t msgs;	    /* messages received */
	uint64_t overruns;  /* times the kernel dropped messages (ENOBUFS) */
	uint64_t lost;	    /* messages the kernel dropped, where it tells (else 0) */
	uint64_t malformed; /* messages ignored as malformed or foreign */
};

struct sensor;

struct sensor_ops {
	const char *name; /* "netlink": reported as "process=<name>" */
	/* Starts capturing. Returns 0, YM_E_AUTH (missing privilege),
	 * YM_E_UNSUPPORTED or YM_E_IO. */
	int (*start)(struct sensor **out);
	/* The descriptor to wait on for readability. */
	int (*fd)(const struct sensor *s);
	/* Drains ready messages without blocking, calling cb for each (max
	 * messages at most). Returns the number handled or a negative error. */
	int (*poll)(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		    void *arg);
	void (*stats)(struct sensor *s, struct sensor_stats *out);
	void (*stop)(struct sensor *s);
};

extern const struct sensor_ops sensor_netlink_ops;

#endif
