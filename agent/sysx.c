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
#include <sys/wait.h>
#include <unistd.h>

#define SX_REG_NRS 64
/* tracefs: where the host may have it, and where the private mount goes */
#define SX_TRACEFS	 "/sys/kernel/tracing"
#define SX_TRACEFS_DEBUG "/sys/kernel/debug/tracing"
#define SX_TP_PREFIX	 "sys_exit_"
#define SX_TP_NAME	 48   /* bytes of a tracepoint name with its NUL */
#define SX_TP_MAX	 2048 /* tracepoints read at most (x86-64 has ~380 sys_exit_*) */

struct sysx_reg {
	uint32_t module; /* SYSX_MOD_* */
	uint32_t slot;	 /* SYSX_SLOT(module, compat) */
	int compat;	 /* 1: compat (ia32) numbers */
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
/* the dispatcher: loaded by the first registration or share and kept (the
 * modules' objects share its maps); one of its programs attached while
 * there are registrations (sx_relink) */
static struct sysx_bpf *sx_skel;
static struct bpf_link *sx_link;      /* sysx_exit or sysx_compat, or NULL */
static int sx_link_compat;	      /* sx_link is sysx_compat's */
static int sx_refs;		      /* 64-bit registrations with the dispatcher */
static int sx_compat_refs;	      /* compat registrations */
static uint8_t sx_used[2][SYSX_MODS]; /* [compat][module]: registered */
static int sx_compat_state;	      /* sysx_compat_present: 0 not asked, 1 yes, -1 no */
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

void sysx_try_init(struct sysx_try *t, int want_compat, int want_uring)
{
	memset(t, 0, sizeof(*t));
	t->compat = t->want_compat = want_compat != 0;
	t->uring = t->want_uring = want_uring != 0;
}

int sysx_try_next(struct sysx_try *t, const char *who, int *direct, int tp, int err)
{
	if (t->compat) {
		t->compat_err = err;
		t->compat = 0;
		return 1;
	}
	if (t->uring) {
		t->uring_err = err;
		t->uring = 0;
		t->compat = t->want_compat;
		return 1;
	}
	if (!sysx_load_failed(who, direct, tp, err))
		return 0;
	t->compat = t->want_compat;
	t->uring = t->want_uring;
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

/* the dispatcher, loaded (not attached); called with the lock held */
static int sx_load(void)
{
	struct bpf_program *p;
	int e;

	if (sx_skel)
		return 0;
	sx_skel = sysx_bpf__open();
	if (!sx_skel)
		return YM_E_UNSUPPORTED;
	bpf_object__for_each_program(p, sx_skel->obj)
	{
		bpf_program__set_autoattach(p, false);
	}
	e = sysx_bpf__load(sx_skel);
	if (e) {
		LOG_I("sysx", "no shared sys_exit program: %s", strerror(-e));
		sysx_bpf__destroy(sx_skel);
		sx_skel = NULL;
		return YM_E_UNSUPPORTED;
	}
	return 0;
}

/* Attaches the program the registrations need: sysx_exit while any 64-bit
 * one is here (it takes compat calls too), else sysx_compat while a compat
 * one is, else none. The new one is attached before the old one goes (a
 * compat call in between may run its modules twice, never none). Called
 * with the lock held; returns 0 or YM_E_UNSUPPORTED (the old one kept). */
static int sx_relink(void)
{
	int compat = sx_refs == 0, want = sx_refs > 0 || sx_compat_refs > 0;
	struct bpf_link *l;

	if (!want) {
		bpf_link__destroy(sx_link);
		sx_link = NULL;
		return 0;
	}
	if (sx_link && sx_link_compat == compat)
		return 0;
	l = bpf_program__attach(compat ? sx_skel->progs.sysx_compat : sx_skel->progs.sysx_exit);
	if (!l) {
		LOG_I("sysx", "shared sys_exit program not attached: %s", strerror(errno));
		return YM_E_UNSUPPORTED;
	}
	bpf_link__destroy(sx_link);
	sx_link = l;
	sx_link_compat = compat;
	return 0;
}

/* Sets (on) or clears the module's bit for the n numbers of a kind; with
 * the lock held */
static int sx_watch(uint32_t module, int compat, const uint32_t *nrs, size_t n, int on)
{
	int fd = bpf_map__fd(sx_skel->maps.sysx_watch), rc = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0, k = SYSX_KEY(nrs[i], compat);

		if (bpf_map_lookup_elem(fd, &k, &v))
			v = 0;
		v = on ? v | (1u << module) : v & ~(1u << module);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			rc = YM_E_IO;
	}
	return rc;
}

int sysx_share(struct bpf_map *progs, struct bpf_map *watch)
{
	int rc;

	pthread_mutex_lock(&sx_lock);
	rc = sx_load();
	if (rc == 0 && (bpf_map__reuse_fd(progs, bpf_map__fd(sx_skel->maps.sysx_progs)) != 0 ||
			bpf_map__reuse_fd(watch, bpf_map__fd(sx_skel->maps.sysx_watch)) != 0))
		rc = YM_E_IO;
	pthread_mutex_unlock(&sx_lock);
	return rc;
}

/* sysx_add and sysx_add_compat */
static int sx_add(uint32_t module, int compat, struct bpf_program *prog, const uint32_t *nrs,
		  size_t n, struct sysx_reg **out)
{
	struct sysx_reg *r = NULL;
	int rc, fd = prog ? bpf_program__fd(prog) : -1, *refs = compat ? &sx_compat_refs : &sx_refs;
	uint32_t slot = SYSX_SLOT(module, compat);

	if (module >= SYSX_MODS || fd < 0 || !nrs || n == 0 || n > SX_REG_NRS)
		return YM_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (nrs[i] >= SYSX_NR_MAX)
			return YM_E_INVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return YM_E_NOMEM;
	pthread_mutex_lock(&sx_lock);
	rc = sx_load();
	if (rc)
		goto out;
	rc = YM_E_EXISTS;
	if (sx_used[compat][module])
		goto out;
	/* the kernel checks here that prog may be tail-called from the
	 * dispatcher (same program type and attach point) */
	if (bpf_map_update_elem(bpf_map__fd(sx_skel->maps.sysx_progs), &slot, &fd, BPF_ANY)) {
		LOG_I("sysx", "tail call refused: %s", strerror(errno));
		rc = YM_E_UNSUPPORTED;
		goto out;
	}
	rc = sx_watch(module, compat, nrs, n, 1);
	if (rc == 0) {
		(*refs)++;
		rc = sx_relink();
		if (rc)
			(*refs)--;
	}
	if (rc) {
		(void)sx_watch(module, compat, nrs, n, 0);
		(void)bpf_map_delete_elem(bpf_map__fd(sx_skel->maps.sysx_progs), &slot);
		goto out;
	}
	r->module = module;
	r->slot = slot;
	r->compat = compat;
	r->n = n;
	memcpy(r->nrs, nrs, n * sizeof(nrs[0]));
	sx_used[compat][module] = 1;
	*out = r;
	r = NULL;
out:
	pthread_mutex_unlock(&sx_lock);
	free(r);
	return rc;
}

int sysx_add(uint32_t module, struct bpf_program *prog, const uint32_t *nrs, size_t n,
	     struct sysx_reg **out)
{
	return sx_add(module, 0, prog, nrs, n, out);
}

int sysx_add_compat(uint32_t module, struct bpf_program *prog, const uint32_t *nrs, size_t n,
		    struct sysx_reg **out)
{
	return sx_add(module, 1, prog, nrs, n, out);
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
	(void)sx_watch(r->module, r->compat, r->nrs, r->n, 0);
	(void)bpf_map_delete_elem(bpf_map__fd(sx_skel->maps.sysx_progs), &r->slot);
	sx_used[r->compat][r->module] = 0;
	if (r->compat && sx_compat_refs > 0)
		sx_compat_refs--;
	else if (!r->compat && sx_refs > 0)
		sx_refs--;
	/* to sysx_compat, or none: a detach cannot fail */
	(void)sx_relink();
	pthread_mutex_unlock(&sx_lock);
	free(r);
}

int sysx_attach(uint32_t module, struct bpf_program *tp, struct bpf_program *btf,
		const struct sysx_call *calls, size_t n, struct sysx_reg **reg,
		struct bpf_link **link)
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
	rc = sysx_add(module, btf, nrs, k, reg);
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

int sysx_count_compat(void)
{
	int n;

	pthread_mutex_lock(&sx_lock);
	n = sx_compat_refs;
	pthread_mutex_unlock(&sx_lock);
	return n;
}

#if defined(__x86_64__)
/* A child makes one compat call (int 0x80 getpid) and says whether it
 * answered; where it cannot (a fault kills the child), the kernel has no
 * IA32 emulation. Nothing but the call and _exit in the child (this
 * process has threads). */
static int sx_compat_probe(void)
{
	pid_t p = fork();
	int st = 0;

	if (p == 0) {
		long r;

		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		_exit(r == (long)getpid() ? 0 : 1);
	}
	if (p < 0)
		return 1; /* not known: watched */
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
#else
static int sx_compat_probe(void)
{
	return 0;
}
#endif

int sysx_compat_present(void)
{
	int present;

	pthread_mutex_lock(&sx_lock);
	if (sx_compat_state == 0)
		sx_compat_state = sx_compat_probe() ? 1 : -1;
	present = sx_compat_state > 0;
	pthread_mutex_unlock(&sx_lock);
	return present;
}

void sysx_compat_watch(const char *who, const char *what, uint32_t module, struct bpf_program *prog,
		       const uint32_t *nrs, size_t n, struct sysx_try *tr, struct sysx_reg **reg,
		       struct bpf_link **link)
{
	int rc = 0;

	*reg = NULL;
	*link = NULL;
	if (tr->compat) {
		rc = sysx_add_compat(module, prog, nrs, n, reg);
		if (rc == YM_E_INVAL) {
			rc = -EINVAL;
		} else if (rc != 0) {
			*reg = NULL;
			*link = bpf_program__attach(prog);
			rc = *link ? 0 : -errno;
		}
		if (rc != 0)
			tr->compat_err = rc;
	}
	if (!sysx_compat_present())
		LOG_I(who, "compat (32-bit) system calls: none in this kernel (no IA32 emulation)");
	else if (tr->compat && rc == 0)
		LOG_I(who, "compat (32-bit) system calls: watched");
	else
		LOG_W(who, "W3621", "%s: compat (int 0x80, 32-bit) system calls not watched: %s",
		      what, strerror(tr->compat_err < 0 ? -tr->compat_err : EINVAL));
}
