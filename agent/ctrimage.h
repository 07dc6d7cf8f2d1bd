/* ctrimage: what a container is, by its id (the 64 hex digits the process
 * sensor finds in the cgroup path): the image it runs, its name, and on
 * Kubernetes its pod and namespace, read from its runtime's own state
 * files, with no call to the runtime:
 *   Docker      /var/lib/docker/containers/ID/config.v2.json: Config.Image,
 *               Name (without its leading '/'), the pod and namespace from
 *               Config.Labels io.kubernetes.pod.name, .namespace (dockershim)
 *   containerd  /run/containerd/io.containerd.runtime.v2.task/k8s.io/ID/config.json,
 *               annotations io.kubernetes.cri.image-name, .container-name,
 *               .sandbox-name, .sandbox-namespace (CRI pods)
 *   CRI-O       /run/containers/storage/overlay-containers/ID/userdata/config.json,
 *               annotations io.kubernetes.cri-o.ImageName,
 *               io.kubernetes.container.name, io.kubernetes.pod.name,
 *               io.kubernetes.pod.namespace
 * What is found is kept (at most CTRIMAGE_MAX ids, the least recently used
 * forgotten first); an id no runtime names is asked again only after
 * CTRIMAGE_RETRY_NS (its files may not be written yet when its first
 * process starts). Files over 4 MiB, values that are not strings, and
 * names with control characters or over 255 bytes are not taken. */
#ifndef YM_AGENT_CTRIMAGE_H
#define YM_AGENT_CTRIMAGE_H

#include <stddef.h>
#include <stdint.h>

#define CTRIMAGE_MAX	  256
#define CTRIMAGE_NAME_MAX 255
#define CTRIMAGE_RETRY_NS (10ull * 1000000000ull)

struct ctrimage;

/* each NULL when not known */
struct ctrimage_info {
	const char *image;
	const char *name;
	const char *pod, *pod_namespace;
};

/* root: the folder the runtimes' paths above are read under (NULL or "":
 * the host's /; tests give a folder of their own). Returns 0, YM_E_INVAL
 * (root too long) or YM_E_NOMEM. */
int ctrimage_new(const char *root, struct ctrimage **out);
void ctrimage_free(struct ctrimage *c);

/* What the runtime says of container id (64 lowercase hex digits) at
 * monotonic time now_ns, or NULL when no runtime here names any of it. It
 * stays valid until the next call. */
const struct ctrimage_info *ctrimage_get(struct ctrimage *c, const char *id, uint64_t now_ns);

#endif
