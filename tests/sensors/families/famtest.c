#include "famtest.h"
#include "err.h"
#include "util.h"
#ifdef YM_FAMILY_BPF
#include "../bpfok.h"

#include <bpf/btf.h>
#endif

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct ft *ft_current;

static char ft_image[4096], ft_user[256], ft_uid[32];

/* The test's user_name: the passwd database directly. */
static const char *ft_user_name(void *arg, uint32_t uid)
{
	static char name[256];
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];

	(void)arg;
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || pwp == NULL)
		return NULL;
	snprintf(name, sizeof(name), "%s", pw.pw_name);
	return name;
}

/* The test's proc_fill: /proc directly, as the agent does without its
 * table; a UserId the module set (the kernel's) is left, as the agent's. */
static int ft_proc_fill(void *arg, int32_t pid, struct event *ev)
{
	char path[64], status[4096];
	ssize_t n;
	FILE *fp;
	unsigned uid = 0;
	int have_uid = 0;
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, ft_image, sizeof(ft_image) - 1);
	if (n <= 0)
		return 0;
	ft_image[n] = '\0';
	event_set_str(ev, "Image", ft_image);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "r");
	if (fp != NULL) {
		while (fgets(status, sizeof(status), fp) != NULL)
			if (sscanf(status, "Uid: %u", &uid) == 1) {
				have_uid = 1;
				break;
			}
		fclose(fp);
	}
	if (have_uid && event_get(ev, "UserId", NULL) == NULL) {
		snprintf(ft_uid, sizeof(ft_uid), "%u", uid);
		event_set_str(ev, "UserId", ft_uid);
		if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL) {
			snprintf(ft_user, sizeof(ft_user), "%s", pw.pw_name);
			event_set_str(ev, "User", ft_user);
		}
	}
	return 1;
}

static int ft_emit(void *arg, const struct event *ev)
{
	struct ft *t = arg;
	struct ft_event *e;

	if (t->shed)
		return 1;
	if (t->nev >= FT_MAX_EVENTS)
		return 1;
	e = &t->ev[t->nev++];
	e->category = ev->category;
	e->ts_ns = ev->ts_ns;
	e->service = ev->service;
	e->n = ev->nfields;
	for (int i = 0; i < ev->nfields; i++) {
		e->name[i] = strdup(ev->fields[i].name);
		e->value[i] = strndup(ev->fields[i].value, ev->fields[i].value_len);
		if (e->name[i] == NULL || e->value[i] == NULL)
			abort();
	}
	return 0;
}

void ft_start(struct ft *t, const struct family_ops *ops, const char *const *watch)
{
	int rc;

	ft_current = t;
	t->ops = ops;
	t->env.proc_fill = ft_proc_fill;
	t->env.user_name = ft_user_name;
	t->env.arg = NULL;
	t->env.self_pid = getpid();
	t->env.watch_paths = watch;
	/* the collector's bounded file system calls, as the agent has them */
	if (t->env.fsj == NULL && fsjob_new(0, &t->env.fsj) != 0) {
		fprintf(stderr, "FAIL: fsjob_new\n");
		exit(1);
	}
#ifdef YM_FAMILY_BPF
	if (strstr(ops->mode, "bpf") != NULL)
		bpfok_arm();
#endif
	rc = ops->start(&t->env, &t->f);
	if (rc == YM_E_AUTH || rc == YM_E_UNSUPPORTED) {
		int e = errno;

#ifdef YM_FAMILY_BPF
		if (strstr(ops->mode, "bpf") != NULL && bpfok_module_at_fault()) {
			fprintf(stderr,
				"FAIL: %s=%s: the verifier rejected the module's programs (log "
				"above) on a kernel without lockdown: the module's fault, not "
				"this machine's\n",
				ops->family, ops->mode);
			exit(1);
		}
#endif
		printf("SKIP: %s=%s refused here: %s (errno %s)\n", ops->family, ops->mode,
		       ym_strerror(rc), strerror(e));
		exit(FT_SKIP);
	}
	if (rc != 0) {
		fprintf(stderr, "FAIL: %s=%s start: %s (errno %s)\n", ops->family, ops->mode,
			ym_strerror(rc), strerror(errno));
		exit(1);
	}
}

void ft_stop(struct ft *t)
{
	/* as the collector stops every module: programs detached, buffer read */
	if (t->ops->quiesce != NULL) {
		t->ops->quiesce(t->f);
		FT_CHECK(t->ops->poll(t->f, 256, ft_emit, t) >= 0);
	}
	t->ops->stop(t->f);
	t->f = NULL;
	fsjob_free(t->env.fsj);
	t->env.fsj = NULL;
}

void ft_final(struct ft *t)
{
	int n;

	if (t->ops->quiesce != NULL) {
		t->ops->quiesce(t->f);
		usleep(10 * 1000);
	}
	/* no tick: what the module holds must come out of the flush alone */
	do {
		n = t->ops->poll(t->f, 256, ft_emit, t);
		FT_CHECK(n >= 0);
	} while (n >= 256);
	if (t->ops->flush != NULL)
		FT_CHECK(t->ops->flush(t->f, ft_emit, t) >= 0);
}

#ifdef YM_FAMILY_BPF
void ft_expect_reads(const char *what, const char *how, int reads)
{
	printf("%s by %s\n", what, how);
	if (reads) {
		FT_CHECK(strcmp(how, "helper reads") == 0);
	} else if (strcmp(how, "direct loads") != 0) {
		struct btf *vb = btf__load_vmlinux_btf();

		FT_CHECK(vb == NULL ||
			 btf__find_by_name_kind(vb, "bpf_rdonly_cast", BTF_KIND_FUNC) < 0);
		btf__free(vb);
		printf(
		    "SKIP (direct loads): this kernel has no bpf_rdonly_cast; helper reads run\n");
	}
}
#endif

int ft_poll_until(struct ft *t, int want, int ms)
{
	uint64_t end = util_mono_ns() + (uint64_t)ms * 1000000ull;
	int got = 0;

	while (got < want && util_mono_ns() < end) {
		struct pollfd p = {.fd = t->ops->fd(t->f), .events = POLLIN};
		int n;

		if (p.fd < 0 || poll(&p, 1, 50) <= 0)
			continue;
		n = t->ops->poll(t->f, 256, ft_emit, t);
		FT_CHECK(n >= 0);
		got += n;
	}
	return got;
}

void ft_pump(struct ft *t, int ms)
{
	uint64_t end = util_mono_ns() + (uint64_t)ms * 1000000ull;
	static uint64_t next_tick;

	for (;;) {
		uint64_t now = util_mono_ns();
		int fd = t->ops->fd(t->f), wait;
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (now >= next_tick && t->ops->tick != NULL) {
			FT_CHECK(t->ops->tick(t->f, ft_emit, t) >= 0);
			next_tick = now + 1000000000ull;
		}
		if (now >= end)
			break;
		wait = (int)((end - now) / 1000000ull);
		if (wait > 100)
			wait = 100;
		if (fd >= 0) {
			if (poll(&p, 1, wait) > 0)
				FT_CHECK(t->ops->poll(t->f, 256, ft_emit, t) >= 0);
		} else {
			usleep((useconds_t)wait * 1000);
		}
	}
}

static int ft_match(const struct ft_event *e, va_list ap)
{
	const char *n, *v;

	while ((n = va_arg(ap, const char *)) != NULL) {
		const char *have;

		v = va_arg(ap, const char *);
		have = ft_get(e, n);
		if (v == NULL ? have != NULL : (have == NULL || strcmp(have, v) != 0))
			return 0;
	}
	return 1;
}

const struct ft_event *ft_wait(struct ft *t, int ms, ...)
{
	uint64_t end = util_mono_ns() + (uint64_t)ms * 1000000ull;
	int from = 0;

	for (;;) {
		for (; from < t->nev; from++) {
			va_list ap;
			int ok;

			va_start(ap, ms);
			ok = ft_match(&t->ev[from], ap);
			va_end(ap);
			if (ok)
				return &t->ev[from];
		}
		if (util_mono_ns() >= end)
			return NULL;
		ft_pump(t, 50);
	}
}

int ft_count(struct ft *t, ...)
{
	int n = 0;

	for (int i = 0; i < t->nev; i++) {
		va_list ap;

		va_start(ap, t);
		n += ft_match(&t->ev[i], ap);
		va_end(ap);
	}
	return n;
}

const char *ft_get(const struct ft_event *e, const char *name)
{
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->name[i], name) == 0)
			return e->value[i];
	return NULL;
}

void ft_expect(const struct ft_event *e, const char *name, const char *value)
{
	const char *have = ft_get(e, name);

	if (value == NULL ? have == NULL : (have != NULL && strcmp(have, value) == 0))
		return;
	fprintf(stderr, "FAIL: field %s = %s, expected %s\n", name, have ? have : "(absent)",
		value ? value : "(absent)");
	ft_dump_events(ft_current);
	exit(1);
}

void ft_dump_events(const struct ft *t)
{
	if (t == NULL)
		return;
	fprintf(stderr, "%d events recorded:\n", t->nev);
	for (int i = 0; i < t->nev && i < 200; i++) {
		fprintf(stderr, "  [%d] cat %u:", i, t->ev[i].category);
		for (int j = 0; j < t->ev[i].n; j++)
			fprintf(stderr, " %s=%s", t->ev[i].name[j], t->ev[i].value[j]);
		fputc('\n', stderr);
	}
}

const char *ft_self_image(void)
{
	static char img[4096];
	ssize_t n = readlink("/proc/self/exe", img, sizeof(img) - 1);

	img[n > 0 ? n : 0] = '\0';
	return img;
}

pid_t ft_fork(void)
{
	pid_t parent = getpid(), p = fork();

	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
	}
	return p;
}

uint64_t ft_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ft_expect_time(const struct ft_event *e, uint64_t from_ns, uint64_t to_ns)
{
	const uint64_t slack = 5 * 1000000ull;

	if (e->ts_ns + slack < from_ns || e->ts_ns > to_ns + slack) {
		fprintf(stderr, "FAIL: event time %llu not within [%llu, %llu] (%+.1f ms after)\n",
			(unsigned long long)e->ts_ns, (unsigned long long)from_ns,
			(unsigned long long)to_ns, ((double)e->ts_ns - (double)to_ns) / 1e6);
		ft_dump_events(ft_current);
		exit(1);
	}
}

int ft_uring(const struct io_uring_sqe *sqe, int *res)
{
	struct io_uring_params p;
	struct io_uring_sqe *sqes, op = *sqe, nop;
	struct io_uring_cqe *cqes;
	size_t ssz, csz;
	char *sq, *cq;
	unsigned *tail, *head, k, m;
	/* asked for no completion on success: a NOP linked after it, whose
	 * completion comes once the operation is done (closing the ring
	 * before would cancel an operation still in the ring's worker) */
	int skip = (sqe->flags & IOSQE_CQE_SKIP_SUCCESS) != 0, n = skip ? 2 : 1, fd, r = -1;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 2, &p);
	if (fd < 0)
		return -1;
	ssz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	csz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		ssz = csz = ssz > csz ? ssz : csz;
	sq = mmap(NULL, ssz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		  IORING_OFF_SQ_RING);
	cq = (p.features & IORING_FEAT_SINGLE_MMAP)
		 ? sq
		 : mmap(NULL, csz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
			IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		goto out;
	if (sqe->file_index != 0) {
		/* an open into a fixed-file slot: a sparse table of two */
		int none[2] = {-1, -1};

		if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_FILES, none, 2) != 0)
			goto out;
	}
	tail = (unsigned *)(sq + p.sq_off.tail);
	m = p.sq_entries - 1;
	k = *tail;
	op.user_data = 1;
	memset(&nop, 0, sizeof(nop));
	nop.opcode = IORING_OP_NOP;
	nop.user_data = 2;
	if (skip)
		op.flags |= IOSQE_IO_LINK;
	sqes[k & m] = op;
	((unsigned *)(sq + p.sq_off.array))[k & m] = k & m;
	if (skip) {
		sqes[(k + 1) & m] = nop;
		((unsigned *)(sq + p.sq_off.array))[(k + 1) & m] = (k + 1) & m;
	}
	__atomic_store_n(tail, k + (unsigned)n, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, fd, n, 1, IORING_ENTER_GETEVENTS, NULL, 0) != n)
		goto out;
	head = (unsigned *)(cq + p.cq_off.head);
	cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	if (__atomic_load_n((unsigned *)(cq + p.cq_off.tail), __ATOMIC_ACQUIRE) == *head)
		goto out;
	/* the operation's own completion (its result, or its failure when
	 * skipped on success), else the NOP's: it succeeded */
	*res = cqes[*head & (p.cq_entries - 1)].user_data == 1
		   ? cqes[*head & (p.cq_entries - 1)].res
		   : 0;
	__atomic_store_n(head, *head + 1, __ATOMIC_RELEASE);
	r = 0;
out:
	close(fd); /* the mappings keep the ring until unmapped */
	if (sqes != MAP_FAILED)
		munmap(sqes, p.sq_entries * sizeof(*sqes));
	if (cq != MAP_FAILED && cq != sq)
		munmap(cq, csz);
	if (sq != MAP_FAILED)
		munmap(sq, ssz);
	return r;
}
