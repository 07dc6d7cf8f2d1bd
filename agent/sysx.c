/* sysx: the shared system call exit dispatcher (sysx.h, bpf/sysx.bpf.c). */
#include "sysx.h"
#include "err.h"
#include "log.h"

#include "bpf/sysx.h"
#include "sysx.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SX_REG_NRS 64

struct sysx_reg {
	uint32_t slot;
	size_t n;
	uint32_t nrs[SX_REG_NRS];
};

static pthread_mutex_t sx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sysx_bpf *sx_skel; /* loaded and attached while sx_refs > 0 */
static int sx_refs;
static uint8_t sx_used[SYSX_SLOTS];

/* the dispatcher, loaded and attached; called with the lock held */
static int sx_up(void)
{
	int e;

	if (sx_skel)
		return 0;
	sx_skel = sysx_bpf__open();
	if (!sx_skel)
		return YM_E_UNSUPPORTED;
	e = sysx_bpf__load(sx_skel);
	if (e == 0)
		e = sysx_bpf__attach(sx_skel);
	if (e) {
		LOG_I("sysx", "no shared sys_exit program: %s", strerror(-e));
		sysx_bpf__destroy(sx_skel);
		sx_skel = NULL;
		return YM_E_UNSUPPORTED;
	}
	return 0;
}

static void sx_down(void)
{
	if (sx_refs == 0 && sx_skel) {
		sysx_bpf__destroy(sx_skel); /* detaches */
		sx_skel = NULL;
	}
}

int sysx_add(struct bpf_program *prog, const uint32_t *nrs, size_t n, struct sysx_reg **out)
{
	struct sysx_reg *r = NULL;
	int rc = YM_E_INVAL, map_nr, map_prog, fd = prog ? bpf_program__fd(prog) : -1;
	uint32_t slot = SYSX_SLOTS, set = 0;

	if (fd < 0 || !nrs || n == 0 || n > SX_REG_NRS)
		return YM_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (nrs[i] >= SYSX_NR_MAX)
			return YM_E_INVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return YM_E_NOMEM;
	pthread_mutex_lock(&sx_lock);
	rc = sx_up();
	if (rc)
		goto out;
	map_nr = bpf_map__fd(sx_skel->maps.slot_of);
	map_prog = bpf_map__fd(sx_skel->maps.progs);
	for (uint32_t s = 0; s < SYSX_SLOTS && slot == SYSX_SLOTS; s++)
		if (!sx_used[s])
			slot = s;
	rc = YM_E_TOOBIG;
	if (slot == SYSX_SLOTS)
		goto out;
	rc = YM_E_EXISTS;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;
		if (bpf_map_lookup_elem(map_nr, &nrs[i], &v) || v != 0)
			goto out;
	}
	/* the kernel checks here that prog may be tail-called from the
	 * dispatcher (same program type and attach point) */
	if (bpf_map_update_elem(map_prog, &slot, &fd, BPF_ANY)) {
		LOG_I("sysx", "tail call refused: %s", strerror(errno));
		rc = YM_E_UNSUPPORTED;
		goto out;
	}
	rc = YM_E_IO;
	for (set = 0; set < n; set++) {
		uint32_t v = slot + 1;
		if (bpf_map_update_elem(map_nr, &nrs[set], &v, BPF_ANY))
			goto out;
	}
	r->slot = slot;
	r->n = n;
	memcpy(r->nrs, nrs, n * sizeof(nrs[0]));
	sx_used[slot] = 1;
	sx_refs++;
	*out = r;
	r = NULL;
	rc = 0;
out:
	if (rc && sx_skel) {
		/* undo what was set: numbers, then the slot */
		for (uint32_t i = 0; i < set; i++) {
			uint32_t z = 0;
			(void)bpf_map_update_elem(bpf_map__fd(sx_skel->maps.slot_of), &nrs[i], &z,
						  BPF_ANY);
		}
		if (slot < SYSX_SLOTS && !sx_used[slot])
			(void)bpf_map_delete_elem(bpf_map__fd(sx_skel->maps.progs), &slot);
		sx_down();
	}
	pthread_mutex_unlock(&sx_lock);
	free(r);
	return rc;
}

void sysx_del(struct sysx_reg *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&sx_lock);
	if (sx_skel) {
		int map_nr = bpf_map__fd(sx_skel->maps.slot_of);
		for (size_t i = 0; i < r->n; i++) {
			uint32_t z = 0;
			(void)bpf_map_update_elem(map_nr, &r->nrs[i], &z, BPF_ANY);
		}
		(void)bpf_map_delete_elem(bpf_map__fd(sx_skel->maps.progs), &r->slot);
	}
	sx_used[r->slot] = 0;
	if (sx_refs > 0)
		sx_refs--;
	sx_down();
	pthread_mutex_unlock(&sx_lock);
	free(r);
}

int sysx_attach(struct bpf_program *prog, const uint32_t *nrs, size_t n, struct sysx_reg **reg,
		struct bpf_link **link)
{
	int rc = sysx_add(prog, nrs, n, reg);

	*link = NULL;
	if (rc == 0 || rc == YM_E_INVAL)
		return rc;
	*reg = NULL;
	*link = bpf_program__attach(prog);
	return *link ? 0 : -errno;
}

int sysx_count(void)
{
	int n;

	pthread_mutex_lock(&sx_lock);
	n = sx_refs;
	pthread_mutex_unlock(&sx_lock);
	return n;
}
