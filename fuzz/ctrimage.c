/* Fuzz target: a container runtime's state file as the agent reads it
 * (agent/ctrimage.c) for a container's image, name, pod and namespace.
 * Whoever starts a container chooses much of that file: its name, its
 * image reference, its labels and annotations (Docker's config.v2.json
 * holds the labels; CRI runtimes copy pod annotations).
 *
 * The first input byte picks the runtime's file (0 Docker, 1 containerd,
 * 2 CRI-O, modulo 3), the rest becomes that file under a fresh root folder
 * for one fixed container id, and ctrimage_get asks for the id. Checks
 * what ctrimage.h promises of each field it answers: NUL-terminated, 1 to
 * CTRIMAGE_NAME_MAX bytes, no control character, and an answer that is not
 * NULL names something. A second ask must give the same answer, from the
 * cache. The folder is removed after each input. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrimage.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const dirs[3][2] = {
    {"/var/lib/docker/containers/" ID, "/config.v2.json"},
    {"/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID, "/config.json"},
    {"/run/containers/storage/overlay-containers/" ID "/userdata", "/config.json"},
};

/* rmdir of root + rel and each folder above it, up to root (not root) */
static int rmdirs(const char *root, const char *rel)
{
	char p[512];
	size_t n = strlen(root);
	int r = 0;

	if (snprintf(p, sizeof(p), "%s%s", root, rel) >= (int)sizeof(p))
		return -1;
	for (char *s = p + strlen(p); s > p + n; s--)
		if (*s == '/' || *s == 0) {
			*s = 0;
			r |= rmdir(p);
		}
	return r;
}

static void field_ok(const char *v)
{
	size_t n;

	if (!v)
		return;
	n = strnlen(v, CTRIMAGE_NAME_MAX + 1);
	if (n == 0 || n > CTRIMAGE_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			abort();
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctrimage *c = NULL;
	const struct ctrimage_info *in;
	struct ctrimage_info first;
	char root[] = "/tmp/ym-fuzz-ctrimage.XXXXXX", path[512];
	int k, fd;

	if (size < 1)
		return 0;
	k = data[0] % 3;
	if (!mkdtemp(root))
		abort();
	snprintf(path, sizeof(path), "%s%s", root, dirs[k][0]);
	if (util_mkdirs(path, 0700) != 0)
		abort();
	snprintf(path, sizeof(path), "%s%s%s", root, dirs[k][0], dirs[k][1]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)))
		abort();
	close(fd);
	if (ctrimage_new(root, &c) != 0)
		abort();
	in = ctrimage_get(c, ID, 1);
	if (in) {
		field_ok(in->image);
		field_ok(in->name);
		field_ok(in->pod);
		field_ok(in->pod_namespace);
		if (!in->image && !in->name && !in->pod && !in->pod_namespace)
			abort(); /* an answer names something, else NULL */
		first = *in;
		/* the cache answers again, with the same strings */
		in = ctrimage_get(c, ID, 2);
		if (!in || !same(in->image, first.image) || !same(in->name, first.name) ||
		    !same(in->pod, first.pod) || !same(in->pod_namespace, first.pod_namespace))
			abort();
	}
	ctrimage_free(c);
	if (unlink(path) != 0 || rmdirs(root, dirs[k][0]) != 0 || rmdir(root) != 0)
		abort();
	return 0;
}
