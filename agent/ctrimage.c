#include "ctrimage.h"
#include "err.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CI_ID_LEN   64
#define CI_FILE_MAX (4u << 20)

enum { CI_IMAGE, CI_NAME, CI_POD, CI_POD_NS, CI_FIELDS };

/* where each runtime keeps a container's configuration, and where each
 * field is in it: the keys from the top object down (at most 3) */
static const struct {
	const char *dir, *file; /* the path under the root: dir, the id, file */
	const char *path[CI_FIELDS][3];
} ci_src[] = {
    {"/var/lib/docker/containers/",
     "/config.v2.json",
     {{"Config", "Image"},
      {"Name"},
      {"Config", "Labels", "io.kubernetes.pod.name"},
      {"Config", "Labels", "io.kubernetes.pod.namespace"}}},
    {"/run/containerd/io.containerd.runtime.v2.task/k8s.io/",
     "/config.json",
     {{"annotations", "io.kubernetes.cri.image-name"},
      {"annotations", "io.kubernetes.cri.container-name"},
      {"annotations", "io.kubernetes.cri.sandbox-name"},
      {"annotations", "io.kubernetes.cri.sandbox-namespace"}}},
    {"/run/containers/storage/overlay-containers/",
     "/userdata/config.json",
     {{"annotations", "io.kubernetes.cri-o.ImageName"},
      {"annotations", "io.kubernetes.container.name"},
      {"annotations", "io.kubernetes.pod.name"},
      {"annotations", "io.kubernetes.pod.namespace"}}},
};

struct ci_ent {
	char id[CI_ID_LEN + 1];
	char *v[CI_FIELDS]; /* malloc'd; all NULL: no runtime named it at tried_ns */
	uint64_t tried_ns;
	uint64_t used; /* the cache's clock at its last use */
};

/* slots of an open-addressing index of e by the id's first 8 bytes (the
 * ids are random hex): a process in a container finds its entry in a
 * probe or two, not a scan of the 256 entries (24 KiB) at every exec */
#define CI_SLOTS_LOG 9
#define CI_SLOTS     (1u << CI_SLOTS_LOG)

struct ctrimage {
	char root[512];
	struct ctrimage_info info; /* ctrimage_get's answer */
	struct ci_ent e[CTRIMAGE_MAX];
	uint64_t key[CTRIMAGE_MAX]; /* e[i].id's first 8 bytes */
	int16_t slot[CI_SLOTS];	    /* index into e, -1: empty */
	size_t n;
	uint64_t clock;
};

static uint64_t ci_key(const char *id)
{
	uint64_t k;

	memcpy(&k, id, sizeof(k));
	return k;
}

static size_t ci_pos(uint64_t k)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> (64 - CI_SLOTS_LOG));
}

static void ci_index(struct ctrimage *c, size_t i)
{
	size_t p = ci_pos(c->key[i]);

	while (c->slot[p] >= 0)
		p = (p + 1) & (CI_SLOTS - 1);
	c->slot[p] = (int16_t)i;
}

int ctrimage_new(const char *root, struct ctrimage **out)
{
	struct ctrimage *c = calloc(1, sizeof(*c));

	if (!c)
		return YM_E_NOMEM;
	if (root && util_strlcpy(c->root, root, sizeof(c->root)) != 0) {
		free(c);
		return YM_E_INVAL;
	}
	memset(c->slot, 0xff, sizeof(c->slot));
	*out = c;
	return 0;
}

void ctrimage_free(struct ctrimage *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		for (int f = 0; f < CI_FIELDS; f++)
			free(c->e[i].v[f]);
	free(c);
}

static int ci_id_ok(const char *id)
{
	size_t i;

	for (i = 0; i < CI_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return id[i] == '\0';
}

/* A name as a runtime wrote it: printable, 1..CTRIMAGE_NAME_MAX bytes. */
static int ci_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > CTRIMAGE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The fields source k has for id into e->v (malloc'd; NULL where it has
 * none). Returns 1 when it had any. */
static int ci_read(const struct ctrimage *c, size_t k, const char *id, struct ci_ent *e)
{
	char path[768], *data = NULL;
	size_t n;
	json_t *root = NULL;
	int w, any = 0;

	w = snprintf(path, sizeof(path), "%s%s%s%s", c->root, ci_src[k].dir, id, ci_src[k].file);
	if (w <= 0 || (size_t)w >= sizeof(path) ||
	    util_read_file(path, CI_FILE_MAX, &data, &n) != 0)
		return 0;
	root = json_loadb(data, n, 0, NULL);
	for (int f = 0; f < CI_FIELDS; f++) {
		json_t *v = root;
		const char *s;
		size_t len;

		for (int d = 0; d < 3 && ci_src[k].path[f][d] && v; d++)
			v = json_object_get(v, ci_src[k].path[f][d]);
		if (!json_is_string(v))
			continue;
		s = json_string_value(v);
		len = json_string_length(v);
		if (f == CI_NAME && len > 0 && s[0] == '/') { /* Docker's "/name" */
			s++;
			len--;
		}
		if (ci_name_ok(s, len) && (e->v[f] = strndup(s, len)) != NULL)
			any = 1;
	}
	json_decref(root);
	free(data);
	return any;
}

/* e's fields as the answer, or NULL when it has none */
static const struct ctrimage_info *ci_info(struct ctrimage *c, const struct ci_ent *e)
{
	if (!e->v[CI_IMAGE] && !e->v[CI_NAME] && !e->v[CI_POD] && !e->v[CI_POD_NS])
		return NULL;
	c->info.image = e->v[CI_IMAGE];
	c->info.name = e->v[CI_NAME];
	c->info.pod = e->v[CI_POD];
	c->info.pod_namespace = e->v[CI_POD_NS];
	return &c->info;
}

const struct ctrimage_info *ctrimage_get(struct ctrimage *c, const char *id, uint64_t now_ns)
{
	struct ci_ent *e = NULL;
	uint64_t k;

	if (!c || !id || !ci_id_ok(id))
		return NULL;
	c->clock++;
	k = ci_key(id);
	for (size_t p = ci_pos(k); c->slot[p] >= 0 && !e; p = (p + 1) & (CI_SLOTS - 1))
		if (c->key[c->slot[p]] == k && memcmp(c->e[c->slot[p]].id, id, CI_ID_LEN) == 0)
			e = &c->e[c->slot[p]];
	if (e) {
		const struct ctrimage_info *in = ci_info(c, e);

		e->used = c->clock;
		if (in || now_ns - e->tried_ns < CTRIMAGE_RETRY_NS)
			return in;
	} else {
		size_t i;
		int reused = 0;

		if (c->n < CTRIMAGE_MAX) {
			i = c->n++;
		} else {
			i = 0; /* the least recently used gives its place */
			for (size_t j = 1; j < c->n; j++)
				if (c->e[j].used < c->e[i].used)
					i = j;
			for (int f = 0; f < CI_FIELDS; f++)
				free(c->e[i].v[f]);
			reused = 1;
		}
		e = &c->e[i];
		memcpy(e->id, id, CI_ID_LEN + 1);
		memset(e->v, 0, sizeof(e->v));
		e->used = c->clock;
		c->key[i] = k;
		if (reused) {
			/* its old key is gone with it: the index is built again
			 * (only past 256 containers) */
			memset(c->slot, 0xff, sizeof(c->slot));
			for (size_t j = 0; j < c->n; j++)
				ci_index(c, j);
		} else {
			ci_index(c, i);
		}
	}
	e->tried_ns = now_ns;
	for (size_t src = 0; src < sizeof(ci_src) / sizeof(ci_src[0]); src++)
		if (ci_read(c, src, id, e))
			break;
	return ci_info(c, e);
}
