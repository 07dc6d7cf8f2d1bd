/* execstorm: runs `PROG MARKER N` (one process creation + exec each) at a
 * steady rate for at most SECONDS, then waits for every child, and prints
 * "STARTED REAPED FAILED SECONDS". Unlike bench/e2e's execgen it stops at
 * the deadline, so a rate the machine cannot reach bounds the run time
 * instead of stretching it: STARTED / SECONDS is the achieved rate.
 * Usage: execstorm RATE_PER_S SECONDS MARKER [PROG]
 *
 * PROG defaults to a minimal static program written at start into a fresh
 * temporary folder, DIR/ymtrue (x86-64 and arm64: 132 bytes, exit(0) and
 * nothing else; elsewhere /bin/true), deleted at the end. A dynamically
 * linked /bin/true spends most of its life in the loader (about 1 ms of CPU
 * per process on the 2-core test VM, which capped storms at ~1,600/s); the
 * agent's work per process (fork, exec and exit records, one event each
 * for exec and exit) is the same for both. Command lines read
 * "DIR/ymtrue MARKER N" (or "/bin/true MARKER N").
 *
 * To reach high rates on small machines: one generator process per online
 * CPU (at most 8; EXECSTORM_WORKERS overrides), each with an equal share of
 * the rate and its own numbers (N = i * workers + w, so every N is used
 * once), starting children with posix_spawn (vfork-like: no copy of the
 * parent's page tables), with at most ES_MAX_LIVE children alive each. The
 * agent sees what a fork + exec would show it: a new process (fork record)
 * that execs PROG (exec record) and exits. */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ES_MAX_WORKERS 8
/* children not yet reaped, per generator: past this it waits for one, so a
 * rate the machine cannot run does not pile up thousands of runnable
 * processes (the load on a shared machine, and the agent starved) */
#define ES_MAX_LIVE 256

extern char **environ;

struct es_counts {
	uint64_t started, done, failed;
};

/* Writes the minimal static program to dir/ymtrue; returns 0 or -1 (no
 * code for this architecture, or the write failed). */
static int es_write_true(const char *dir, char *path, size_t pathsz)
{
#if defined(__x86_64__)
	static const unsigned char code[] = {0x31, 0xff,		   /* xor %edi,%edi */
					     0xb8, 0x3c, 0x00, 0x00, 0x00, /* mov $60,%eax */
					     0x0f, 0x05};		   /* syscall */
	const uint16_t machine = EM_X86_64;
#elif defined(__aarch64__)
	static const unsigned char code[] = {0x00, 0x00, 0x80, 0xd2,  /* mov x0, #0 */
					     0xa8, 0x0b, 0x80, 0xd2,  /* mov x8, #93 */
					     0x01, 0x00, 0x00, 0xd4}; /* svc #0 */
	const uint16_t machine = EM_AARCH64;
#else
	(void)dir;
	(void)path;
	(void)pathsz;
	return -1;
#endif
#if defined(__x86_64__) || defined(__aarch64__)
	const uint64_t base = 0x400000;
	unsigned char img[sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + sizeof(code)];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, ok;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_entry = base + sizeof(eh) + sizeof(ph);
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_LOAD;
	ph.p_flags = PF_R | PF_X;
	ph.p_vaddr = ph.p_paddr = base;
	ph.p_filesz = ph.p_memsz = sizeof(img);
	ph.p_align = 0x1000;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	memcpy(img + sizeof(eh) + sizeof(ph), code, sizeof(code));
	if (snprintf(path, pathsz, "%s/ymtrue", dir) >= (int)pathsz)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		return -1;
	ok = write(fd, img, sizeof(img)) == (ssize_t)sizeof(img);
	if (close(fd) < 0 || !ok) {
		unlink(path);
		return -1;
	}
	return 0;
#endif
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One generator: rate/nw per second, numbers i * nw + w. */
static void es_worker(int w, int nw, long rate, uint64_t start, uint64_t deadline, const char *prog,
		      const char *marker, struct es_counts *c)
{
	char num[32], *cargv[4];
	posix_spawnattr_t at;

	posix_spawnattr_init(&at);
	/* children start with default signal handling and no inherited mask */
	{
		sigset_t none;
		sigemptyset(&none);
		posix_spawnattr_setsigmask(&at, &none);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	}
	cargv[0] = (char *)prog;
	cargv[1] = (char *)marker;
	cargv[2] = num;
	cargv[3] = NULL;
	for (uint64_t i = 0;; i++) {
		/* worker w's i-th slot: evenly interleaved with the others */
		uint64_t slot = i * (uint64_t)nw + (uint64_t)w;
		uint64_t due = start + slot * 1000000000ull / (uint64_t)rate, now = mono_ns();
		pid_t p;

		if (due >= deadline || now >= deadline)
			break;
		if (due > now) {
			struct timespec d = {(time_t)((due - now) / 1000000000ull),
					     (long)((due - now) % 1000000000ull)};
			nanosleep(&d, NULL);
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)slot);
		if (posix_spawn(&p, prog, NULL, &at, cargv, environ) != 0) {
			c->failed++;
			continue;
		}
		c->started++;
		/* reap what has finished so the process table stays small */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			c->done++;
		while (c->started - c->done >= ES_MAX_LIVE && waitpid(-1, NULL, 0) > 0)
			c->done++;
	}
	while (waitpid(-1, NULL, 0) > 0)
		c->done++;
	posix_spawnattr_destroy(&at);
}

int main(int argc, char **argv)
{
	char *end;
	long rate, secs, ncpu;
	const char *prog, *env;
	char tdir[] = "/tmp/execstorm.XXXXXX", tpath[64] = "";
	uint64_t start, deadline;
	struct es_counts total = {0, 0, 0};
	int nw, fds[2];
	pid_t kids[ES_MAX_WORKERS];

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: execstorm RATE_PER_S SECONDS MARKER [PROG]\n");
		return 2;
	}
	rate = strtol(argv[1], &end, 10);
	if (*end || rate < 1 || rate > 1000000)
		return 2;
	secs = strtol(argv[2], &end, 10);
	if (*end || secs < 1 || secs > 3600)
		return 2;
	prog = argc == 5 ? argv[4] : "/bin/true";
	if (argc == 4 && mkdtemp(tdir)) {
		char *targv[] = {tpath, NULL};
		pid_t tp;
		int st = -1;

		/* it must run here (a noexec /tmp would fail every exec) */
		if (es_write_true(tdir, tpath, sizeof(tpath)) == 0 &&
		    posix_spawn(&tp, tpath, NULL, NULL, targv, environ) == 0 &&
		    waitpid(tp, &st, 0) == tp && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			prog = tpath;
		} else {
			if (tpath[0])
				unlink(tpath);
			tpath[0] = 0;
			rmdir(tdir);
		}
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nw = ncpu < 1 ? 1 : ncpu > ES_MAX_WORKERS ? ES_MAX_WORKERS : (int)ncpu;
	env = getenv("EXECSTORM_WORKERS");
	if (env) {
		long v = strtol(env, &end, 10);
		if (*end == 0 && v >= 1 && v <= ES_MAX_WORKERS)
			nw = (int)v;
	}
	/* below a few hundred per second one generator keeps the spacing exact */
	if (rate < 500)
		nw = 1;
	if (pipe(fds) < 0)
		return 1;
	start = mono_ns();
	deadline = start + (uint64_t)secs * 1000000000ull;
	for (int w = 0; w < nw; w++) {
		kids[w] = fork();
		if (kids[w] == 0) {
			struct es_counts c = {0, 0, 0};
			close(fds[0]);
			es_worker(w, nw, rate, start, deadline, prog, argv[3], &c);
			if (write(fds[1], &c, sizeof(c)) != (ssize_t)sizeof(c))
				_exit(1);
			_exit(0);
		}
		if (kids[w] < 0) {
			total.failed++;
			nw = w;
			break;
		}
	}
	close(fds[1]);
	for (int w = 0; w < nw; w++) {
		struct es_counts c;
		if (read(fds[0], &c, sizeof(c)) != (ssize_t)sizeof(c)) {
			total.failed++;
			continue;
		}
		total.started += c.started;
		total.done += c.done;
		total.failed += c.failed;
	}
	for (int w = 0; w < nw; w++)
		waitpid(kids[w], NULL, 0);
	if (tpath[0]) {
		unlink(tpath);
		rmdir(tdir);
	}
	printf("%llu %llu %llu %.3f\n", (unsigned long long)total.started,
	       (unsigned long long)total.done, (unsigned long long)total.failed,
	       (double)(mono_ns() - start) / 1e9);
	return total.failed ? 1 : 0;
}
