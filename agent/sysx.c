/* sysx: how system call exits reach the modules (sysx.h): the kernel's
 * syscall tracepoints, else the shared dispatcher (bpf/sysx.bpf.c). */
#include "sysx.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include "bpf/sysx.h"
#include "sysx.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SX_REG_NRS 64
/* tracefs: where the host may have it, and where the private mount goes */
#define SX_TRACEFS	 "/sys/kernel/tracing"
#define SX_TRACEFS_DEBUG "/sys/kernel/debug/tracing"
#define SX_TP_PREFIX	 "sys_exit_"
#define SX_TP_NAME	 48   /* bytes of a tracepoint name with its NUL */
#define SX_TP_MAX	 2048 /* tracepoints read at most (x86-64 has ~380 sys_exit_*) */

struct sysx_reg {
	uint32_t slot;
	size_t n;
	uint32_t nrs[SX_REG_NRS];
	/* tracepoint registrations: the links of the calls' tracepoints */
	int tp;
	size_t nlinks;
	struct bpf_link *links[SX_REG_NRS];
};

/* syscalls/sys_exit_* tracepoint ids, read once (sx_tp_load) */
struct sx_tp_id {
	char name[SX_TP_NAME]; /* without "sys_exit_" */
	uint32_t id;
};

static pthread_mutex_t sx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sysx_bpf *sx_skel; /* loaded and attached while sx_refs > 0 */
static int sx_refs;
static uint8_t sx_used[SYSX_SLOTS];
static int sx_tp_refs;		   /* tracepoint registrations */
static int sx_tp_state;		   /* 0: not read yet, 1: ids read, -1: not usable here */
static int sx_tp_allowed = 1;	   /* sysx_allow_tracepoints, sysx_prepare_failed */
static struct sx_tp_id *sx_tp_ids; /* sx_tp_n entries; kept for the process's life */
static size_t sx_tp_n;

/* Reads the id of every syscalls/sys_exit_* tracepoint under tracefs root
 * into sx_tp_ids. Returns how many (0: none there). */
static size_t sx_tp_scan(const char *root)
{
	char dir[128], path[256], num[24];
	DIR *d;
	struct dirent *de;
	size_t n = 0, alloc = 0;
	struct sx_tp_id *ids = NULL;

	snprintf(dir, sizeof(dir), "%s/events/syscalls", root);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < SX_TP_MAX) {
		const char *name = de->d_name + strlen(SX_TP_PREFIX);
		uint64_t id;
		ssize_t got;
		int fd;

		if (strncmp(de->d_name, SX_TP_PREFIX, strlen(SX_TP_PREFIX)) != 0 ||
		    strlen(name) == 0 || strlen(name) >= SX_TP_NAME)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/id", dir, de->d_name) >= (int)sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		got = read(fd, num, sizeof(num) - 1);
		close(fd);
		if (got <= 0)
			continue;
		num[got] = 0;
		num[strcspn(num, "\n")] = 0;
		if (util_parse_u64(num, 1, UINT32_MAX, &id))
			continue;
		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 256;
			struct sx_tp_id *ni = realloc(ids, na * sizeof(*ids));

			if (!ni)
				break;
			ids = ni;
			alloc = na;
		}
		util_strlcpy(ids[n].name, name, sizeof(ids[n].name));
		ids[n].id = (uint32_t)id;
		n++;
	}
	closedir(d);
	if (n == 0) {
		free(ids);
		return 0;
	}
	sx_tp_ids = ids;
	sx_tp_n = n;
	return n;
}

/* A thread of its own, in a mount namespace of its own (unshare CLONE_FS |
 * CLONE_NEWNS: the rest of the process keeps the host's), mounts tracefs
 * where no one else sees it, reads the ids and ends; the namespace and the
 * mount go with it. */
static void *sx_tp_private(void *arg)
{
	size_t *n = arg;

	*n = 0;
	if (unshare(CLONE_FS | CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tracefs", SX_TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return NULL;
	*n = sx_tp_scan(SX_TRACEFS);
	(void)umount2(SX_TRACEFS, MNT_DETACH);
	return NULL;
}

/* The ids, read once: from the host's tracefs where it is mounted, else
 * from a private mount. Called with the lock held. Returns 1 when they are
 * there. */
static int sx_tp_load(void)
{
	pthread_t th;
	size_t n = 0;

	if (sx_tp_state != 0)
		return sx_tp_state > 0;
	sx_tp_state = -1;
	n = sx_tp_scan(SX_TRACEFS);
	if (n == 0)
		n = sx_tp_scan(SX_TRACEFS_DEBUG);
	if (n == 0 && pthread_create(&th, NULL, sx_tp_private, &n) == 0)
		pthread_join(th, NULL);
	if (n == 0) {
		LOG_I("sysx", "no syscall tracepoints (tracefs): the shared sys_exit program");
		return 0;
	}
	LOG_I("sysx", "syscall tracepoints: %zu sys_exit ids", n);
	sx_tp_state = 1;
	return 1;
}

/* The id of syscalls/sys_exit_<name>, or 0 */
static uint32_t sx_tp_id(const char *name)
{
	for (size_t i = 0; i < sx_tp_n; i++)
		if (strcmp(sx_tp_ids[i].name, name) == 0)
			return sx_tp_ids[i].id;
	return 0;
}

int sysx_prepare(struct bpf_program *tp, struct bpf_program *btf)
{
	int use_tp;

	pthread_mutex_lock(&sx_lock);
	use_tp = sx_tp_allowed && sx_tp_load();
	pthread_mutex_unlock(&sx_lock);
	bpf_program__set_autoload(tp, use_tp);
	bpf_program__set_autoload(btf, !use_tp);
	bpf_program__set_autoattach(tp, false);
	bpf_program__set_autoattach(btf, false);
	return use_tp;
}

void sysx_prepare_failed(void)
{
	pthread_mutex_lock(&sx_lock);
	if (sx_tp_allowed)
		LOG_I("sysx", "a syscall tracepoint program was refused: the shared sys_exit "
			      "program from now on");
	sx_tp_allowed = 0;
	pthread_mutex_unlock(&sx_lock);
}

int sysx_load_failed(const char *who, int *direct, int tp, int err)
{
	if (*direct) {
		LOG_I(who, "direct loads refused (%s): helper reads", strerror(-err));
		*direct = 0;
		return 1;
	}
	if (!tp)
		return 0;
	sysx_prepare_failed();
	return 1;
}

struct bpf_program *sysx_choose_direct(int direct, struct bpf_program *dl, struct bpf_program *hr)
{
	struct bpf_program *off = direct ? hr : dl;

	bpf_program__set_autoload(off, false);
	bpf_program__set_autoattach(off, false);
	return direct ? dl : hr;
}

const char *sysx_reads(int direct)
{
	return direct ? "direct loads" : "helper reads";
}

void sysx_allow_tracepoints(int allow)
{
	pthread_mutex_lock(&sx_lock);
	sx_tp_allowed = allow != 0;
	pthread_mutex_unlock(&sx_lock);
}

/* Attaches prog to the tracepoint of each call. Returns 0 and sets *out,
 * or YM_E_INVAL, YM_E_UNSUPPORTED (none attached) or YM_E_NOMEM. */
static int sx_tp_add(struct bpf_program *prog, const struct sysx_call *calls, size_t n,
		     struct sysx_reg **out)
{
	struct sysx_reg *r;
	int rc = YM_E_UNSUPPORTED;

	if (n > SX_REG_NRS)
		return YM_E_INVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return YM_E_NOMEM;
	r->tp = 1;
	pthread_mutex_lock(&sx_lock);
	for (size_t i = 0; i < n; i++) {
		struct perf_event_attr a;
		uint32_t id;
		int pfd;

		if (calls[i].nr < 0)
			continue;
		id = sx_tp_id(calls[i].name);
		if (id == 0) /* this kernel has no such call */
			continue;
		memset(&a, 0, sizeof(a));
		a.type = PERF_TYPE_TRACEPOINT;
		a.size = sizeof(a);
		a.config = id;
		/* one event runs the program on every CPU (the program array
		 * is the tracepoint's); the program returns 0: no sample */
		pfd = (int)syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (pfd < 0) {
			LOG_I("sysx", "tracepoint sys_exit_%s: %s", calls[i].name, strerror(errno));
			goto out;
		}
		r->links[r->nlinks] = bpf_program__attach_perf_event(prog, pfd);
		if (!r->links[r->nlinks]) {
			LOG_I("sysx", "tracepoint sys_exit_%s refused: %s", calls[i].name,
			      strerror(errno));
			close(pfd);
			goto out;
		}
		r->nlinks++;
	}
	if (r->nlinks == 0)
		goto out;
	sx_tp_refs++;
	*out = r;
	r = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&sx_lock);
	if (r) {
		for (size_t i = 0; i < r->nlinks; i++)
			bpf_link__destroy(r->links[i]);
		free(r);
	}
	return rc;
}

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
	if (r->tp) {
		/* each link closes its perf event: the call is no longer watched */
		for (size_t i = 0; i < r->nlinks; i++)
			bpf_link__destroy(r->links[i]);
		pthread_mutex_lock(&sx_lock);
		if (sx_tp_refs > 0)
			sx_tp_refs--;
		pthread_mutex_unlock(&sx_lock);
		free(r);
		return;
	}
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

int sysx_attach(struct bpf_program *tp, struct bpf_program *btf, const struct sysx_call *calls,
		size_t n, struct sysx_reg **reg, struct bpf_link **link)
{
	uint32_t nrs[SX_REG_NRS];
	size_t k = 0;
	int rc;

	*reg = NULL;
	*link = NULL;
	if (!calls || n == 0 || n > SX_REG_NRS)
		return YM_E_INVAL;
	if (tp && bpf_program__fd(tp) >= 0)
		return sx_tp_add(tp, calls, n, reg);
	for (size_t i = 0; i < n; i++)
		if (calls[i].nr >= 0)
			nrs[k++] = (uint32_t)calls[i].nr;
	rc = sysx_add(btf, nrs, k, reg);
	if (rc == 0 || rc == YM_E_INVAL)
		return rc;
	*reg = NULL;
	*link = bpf_program__attach(btf);
	return *link ? 0 : -errno;
}

int sysx_count(void)
{
	int n;

	pthread_mutex_lock(&sx_lock);
	n = sx_refs + sx_tp_refs;
	pthread_mutex_unlock(&sx_lock);
	return n;
}

int sysx_count_tracepoints(void)
{
	int n;

	pthread_mutex_lock(&sx_lock);
	n = sx_tp_refs;
	pthread_mutex_unlock(&sx_lock);
	return n;
}
