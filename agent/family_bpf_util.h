/* family_bpf_util: what the family modules' eBPF loaders share: the cgroup v2
 * root to attach cgroup programs to, and the sum of a per-CPU drop counter.
 * Thread-safe (no shared state). */
#ifndef YM_AGENT_FAMILY_BPF_UTIL_H
#define YM_AGENT_FAMILY_BPF_UTIL_H

#include <stdint.h>

/* Opens the root of the cgroup v2 hierarchy (/sys/fs/cgroup/unified on a
 * hybrid layout, else /sys/fs/cgroup), O_RDONLY | O_DIRECTORY. Returns 0 and
 * sets *fd, or YM_E_UNSUPPORTED (no cgroup v2 mounted). */
int family_bpf_util_cgroup_root(int *fd);

/* Sums slot key of the per-CPU __u64 array map map_fd. Returns 0 and sets
 * *sum, or YM_E_IO. */
int family_bpf_util_percpu_sum(int map_fd, uint32_t key, uint64_t *sum);

/* Maps a libbpf error (negative errno) to YM_E_AUTH or YM_E_UNSUPPORTED. */
int family_bpf_util_err(int err);

/* Logs warning code of family (its log name, and how its log lines
 * begin: "file (bpf)") running without its io_uring programs, which the
 * kernel refused (err: a negative errno; 0, not known): what it does not
 * see through an io_uring ring. */
void family_bpf_util_uring_off(const char *code, const char *family, const char *what, int err);

/* What a module's record callback returns to stop the drain after this
 * record (consumed), e.g. once its poll()'s max is reached. Without it,
 * libbpf 1.1 consumes until the ring is empty, which under a flood the
 * producers refill as fast as it is read: the collector would never get back
 * to its other sources, its timers and its ticks. */
#define FAMILY_BPF_UTIL_STOP (-1000)

struct ring_buffer;
/* Drains a module's ring buffer, calling its record callback for each
 * record, until it is empty or the callback returned FAMILY_BPF_UTIL_STOP.
 * Returns 0, or YM_E_IO when the ring cannot be read. */
int family_bpf_util_consume(struct ring_buffer *rb);

/* One poll()'s bounded drain: a module keeps one in its state, its record
 * callback returns family_bpf_util_counted(&drain) for each record, and its
 * poll() returns family_bpf_util_poll(...). */
struct family_bpf_drain {
	int seen, max;	      /* records this poll, and its bound */
	int64_t mono_to_wall; /* wall clock minus CLOCK_MONOTONIC (ns) at the poll's start */
};

/* The record callback's return value: FAMILY_BPF_UTIL_STOP once the poll's
 * max records were read. */
static inline int family_bpf_util_counted(struct family_bpf_drain *d)
{
	return ++d->seen >= d->max ? FAMILY_BPF_UTIL_STOP : 0;
}

/* The wall-clock time (ns since the epoch) of a record stamped with
 * bpf_ktime_get_ns() (CLOCK_MONOTONIC) in the kernel, by the clocks' offset
 * at the poll's start: an event's time is when the kernel saw it, not when
 * the agent read it (a poll interval later, seconds under overload, and
 * out of order with the process events, which carry the kernel's time). A
 * stamp of 0 gives the time now. */
uint64_t family_bpf_util_wall_ns(const struct family_bpf_drain *d, uint64_t mono_ns);

/* Drains rb reading at most max records (at least 1). *handled is the
 * module's count of events the callbacks handle (reset by the caller).
 * Returns *handled, or max when the drain stopped at max with fewer
 * handled (so the collector comes back at once), or YM_E_IO. */
int family_bpf_util_poll(struct ring_buffer *rb, struct family_bpf_drain *d, int max,
			 const int *handled);

#endif
