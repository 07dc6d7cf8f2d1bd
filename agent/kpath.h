/* kpath: what the eBPF sensors hand over about paths and files, turned into
 * what userland shows (no system call, no allocation).
 *
 * kpath_join: NUL-terminated components given leaf first (n bytes at p, at
 * most KPATH_DEPTH_MAX + 1 of them) joined into an absolute path in out
 * (outsz >= 2); components that do not fit are left off at the leaf end.
 * Returns the length written; 0 when there were no components (out is then
 * "/").
 *
 * kpath_container_id: the container id in a cgroup path (n bytes at p): the
 * first run of exactly 64 lower-case hex digits (docker-<id>.scope,
 * cri-containerd-<id>.scope, libpod-<id>.scope, /docker/<id>). Returns 1 and
 * fills out (64 digits and a NUL), else 0 and out is untouched.
 *
 * kpath_nsec: an inode time's nanoseconds as stat(2) shows them: since 6.13
 * (multigrain timestamps) the kernel keeps a "queried" flag in bit 31. */
#ifndef YM_AGENT_KPATH_H
#define YM_AGENT_KPATH_H

#include <stddef.h>
#include <stdint.h>

#define KPATH_DEPTH_MAX 40
#define KPATH_ID_LEN	64

size_t kpath_join(const char *p, size_t n, char *out, size_t outsz);
int kpath_container_id(const char *p, size_t n, char out[KPATH_ID_LEN + 1]);

static inline uint32_t kpath_nsec(uint32_t ns)
{
	return ns & 0x3fffffffu; /* nanoseconds are below 2^30 */
}

#endif
