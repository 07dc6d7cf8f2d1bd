#include "family_bpf_util.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#define CGROUP2_MAGIC 0x63677270

int family_bpf_util_cgroup_root(int *fd)
{
	static const char *const roots[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		struct statfs sf;
		int d;

		if (statfs(roots[i], &sf) != 0 || sf.f_type != CGROUP2_MAGIC)
			continue;
		d = open(roots[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d >= 0) {
			*fd = d;
			return 0;
		}
	}
	return YM_E_UNSUPPORTED;
}

int family_bpf_util_percpu_sum(int map_fd, uint32_t key, uint64_t *sum)
{
	int n = libbpf_num_possible_cpus(), rc = YM_E_IO;
	uint64_t *v = NULL, s = 0;

	if (n <= 0 || n > 4096)
		goto out;
	v = calloc((size_t)n, sizeof(*v));
	if (v == NULL) {
		rc = YM_E_NOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(map_fd, &key, v) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		s += v[i];
	*sum = s;
	rc = 0;
out:
	free(v);
	return rc;
}

int family_bpf_util_err(int err)
{
	if (err < 0)
		err = -err;
	return err == EPERM || err == EACCES ? YM_E_AUTH : YM_E_UNSUPPORTED;
}

void family_bpf_util_uring_off(const char *code, const char *family, const char *what, int err)
{
	LOG_W("family", code,
	      "%s: io_uring operations not watched (the kernel refused the programs: %s): %s "
	      "through an io_uring ring are not reported",
	      family, strerror(err < 0 ? -err : EINVAL), what);
}

int family_bpf_util_consume(struct ring_buffer *rb)
{
	int rc = ring_buffer__consume(rb);
	return rc < 0 && rc != -EINTR && rc != FAMILY_BPF_UTIL_STOP ? YM_E_IO : 0;
}

int family_bpf_util_poll(struct ring_buffer *rb, struct family_bpf_drain *d, int max,
			 const int *handled)
{
	d->seen = 0;
	d->max = max > 0 ? max : 1;
	d->mono_to_wall = (int64_t)(util_now_ns() - util_mono_ns());
	if (family_bpf_util_consume(rb))
		return YM_E_IO;
	return d->seen >= d->max && *handled < d->max ? d->max : *handled;
}

uint64_t family_bpf_util_wall_ns(const struct family_bpf_drain *d, uint64_t mono_ns)
{
	if (mono_ns == 0 || d->mono_to_wall == 0)
		return util_now_ns();
	return (uint64_t)((int64_t)mono_ns + d->mono_to_wall);
}
