/* bounds: the agent's resource bounds. At start it moves itself into a
 * cgroup of its own (yamori-agent.<pid>) with a CPU quota and a memory cap:
 * cgroup v2 (cpu.max, memory.high, memory.max) where the cpu controller is
 * there, else the v1 cpu and memory hierarchies (cpu.cfs_quota_us,
 * memory.limit_in_bytes). What could not be applied is reported, and the
 * collector then throttles itself (bounds_throttle). Not thread-safe: start
 * and stop from main, throttle from the collector. */
#ifndef YM_AGENT_BOUNDS_H
#define YM_AGENT_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

/* Where the cgroup file systems are: a seam for the unit tests, which stand
 * a temporary folder in for them. bounds_default_fs is the real system. */
struct bounds_fs {
	const char *root;	 /* the cgroup mounts: "/sys/fs/cgroup" (v1 below it) */
	const char *self_cgroup; /* our cgroups, as in "/proc/self/cgroup" */
	/* 1 when path is a cgroup v2 mount (statfs: CGROUP2_SUPER_MAGIC) */
	int (*is_cgroup2)(const char *path);
};

extern const struct bounds_fs bounds_default_fs;

struct bounds_cfg {
	unsigned cpu_pct; /* of one core, 1..100; 0: no CPU bound */
	uint64_t mem_max; /* bytes; 0: no memory bound */
	const struct bounds_fs *fs; /* borrowed, must outlive the bounds; NULL: the real system */
};

struct bounds {
	char cpu_how[24]; /* "cgroup2", "cgroup1", "self" or "none" */
	char mem_how[24]; /* "cgroup2", "cgroup1" or "none" */
	char cg2[256];	  /* our v2 cgroup folder, or "" */
	char cg1_cpu[256], cg1_mem[256];
	char home2[256], home1_cpu[256], home1_mem[256]; /* where we came from */
	unsigned cpu_pct;
	uint64_t last_cpu_ns, last_mono_ns;
	uint64_t throttled_ns; /* slept by bounds_throttle */
	uint64_t last_periods, last_throttled; /* our cgroup's cpu.stat at the last tick */
	const struct bounds_fs *fs; /* cfg's, or &bounds_default_fs */
};

/* Applies cfg to the calling process (all its threads: call before creating
 * threads or after, cgroup.procs moves them all). Never fails: what could
 * not be applied shows in cpu_how / mem_how. */
void bounds_apply(const struct bounds_cfg *cfg, struct bounds *out);

/* Called about once a second by the collector when cpu_how is "self":
 * when the process used more than its share since the last call, sleeps
 * long enough to bring it back to the share (at most 500 ms), so the
 * sensors' kernel buffers absorb the backlog (and count what overflows).
 * Returns 1 when it slept (the agent is overloaded), else 0. */
int bounds_throttle(struct bounds *l);

/* 1 when the agent is held at its CPU share: its cgroup's quota throttled
 * it in at least LIM_THROTTLED_PCT percent of the CPU periods since the last
 * call (cpu.stat nr_throttled / nr_periods, v2 or v1), or the process used
 * nearly all of its share itself (the uplink process shares the cgroup, and
 * kernels without cpu.stat). Called once a tick by the collector. */
int bounds_overloaded(struct bounds *l);

/* Moves the process back where it came from and removes its cgroups. */
void bounds_release(struct bounds *l);

#endif
