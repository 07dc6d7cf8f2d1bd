/* ctrimage: the image a container runs, by its id (the 64 hex digits the
 * process sensor finds in the cgroup path), read from its runtime's own
 * state files, with no call to the runtime:
 *   Docker      /var/lib/docker/containers/ID/config.v2.json, Config.Image
 *   containerd  /run/containerd/io.containerd.runtime.v2.task/k8s.io/ID/config.json,
 *               annotations["io.kubernetes.cri.image-name"] (CRI pods)
 *   CRI-O       /run/containers/storage/overlay-containers/ID/userdata/config.json,
 *               annotations["io.kubernetes.cri-o.ImageName"]
 * Names found are kept (at most CTRIMAGE_MAX ids, the least recently used
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

/* root: the folder the runtimes' paths above are read under (NULL or "":
 * the host's /; tests give a folder of their own). Returns 0, YM_E_INVAL
 * (root too long) or YM_E_NOMEM. */
int ctrimage_new(const char *root, struct ctrimage **out);
void ctrimage_free(struct ctrimage *c);

/* The image name of container id (64 lowercase hex digits) at monotonic
 * time now_ns, or NULL when no runtime here names it. The string stays
 * valid until the next call. */
const char *ctrimage_get(struct ctrimage *c, const char *id, uint64_t now_ns);

#endif
