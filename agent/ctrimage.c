#include "ctrimage.h"
#include "err.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CI_ID_LEN   64
#define CI_FILE_MAX (4u << 20)

/* where each runtime keeps a container's configuration, and where the
 * image's name is in it: the value of key in the object obj */
static const struct {
	const char *dir, *file; /* the path under the root: dir, the id, file */
	const char *obj, *key;
} ci_src[] = {
    {"/var/lib/docker/containers/", "/config.v2.json", "Config", "Image"},
    {"/run/containerd/io.containerd.runtime.v2.task/k8s.io/", "/config.json", "annotations",
     "io.kubernetes.cri.image-name"},
    {"/run/containers/storage/overlay-containers/", "/userdata/config.json", "annotations",
     "io.kubernetes.cri-o.ImageName"},
};

struct ci_ent {
	char id[CI_ID_LEN + 1];
	char *image; /* NULL: no runtime named it at tried_ns */
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
		free(c->e[i].image);
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

/* The image's name from source k for id, malloc'd, or NULL. */
static char *ci_read(const struct ctrimage *c, size_t k, const char *id)
{
	char path[768], *data = NULL, *name = NULL;
	size_t n;
	json_t *root = NULL, *v;
	int w;

	w = snprintf(path, sizeof(path), "%s%s%s%s", c->root, ci_src[k].dir, id, ci_src[k].file);
	if (w <= 0 || (size_t)w >= sizeof(path) ||
	    util_read_file(path, CI_FILE_MAX, &data, &n) != 0)
		return NULL;
	root = json_loadb(data, n, 0, NULL);
	v = json_object_get(json_object_get(root, ci_src[k].obj), ci_src[k].key);
	if (json_is_string(v) && ci_name_ok(json_string_value(v), json_string_length(v)))
		name = strdup(json_string_value(v));
	json_decref(root);
	free(data);
	return name;
}

const char *ctrimage_get(struct ctrimage *c, const char *id, uint64_t now_ns)
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
		e->used = c->clock;
		if (e->image || now_ns - e->tried_ns < CTRIMAGE_RETRY_NS)
			return e->image;
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
			free(c->e[i].image);
			reused = 1;
		}
		e = &c->e[i];
		memcpy(e->id, id, CI_ID_LEN + 1);
		e->image = NULL;
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
	for (size_t src = 0; src < sizeof(ci_src) / sizeof(ci_src[0]) && !e->image; src++)
		e->image = ci_read(c, src, id);
	return e->image;
}
