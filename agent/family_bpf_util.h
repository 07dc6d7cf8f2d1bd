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

#endif
