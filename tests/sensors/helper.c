/* ym-sensor-helper: real actions for the sensor tests (tests/sensors/).
 *
 *   ym-sensor-helper setuid UID            setresuid to UID, then exit 0
 *   ym-sensor-helper setuid-connect UID    listen on 127.0.0.1 (an ephemeral port),
 *                                          setresuid to UID, connect to it, hold the
 *                                          connection 0.3 s; print "pid N port P"
 *   ym-sensor-helper connect-exit -        listen on 127.0.0.1, connect to it, print
 *                                          "pid N port P" and exit at once
 *   ym-sensor-helper connect-exec PROG     the same, then exec PROG (no argument)
 *                                          instead of exiting
 *   ym-sensor-helper memfd-exec MARKER     copy /bin/sleep into a memfd, execveat it
 *                                          as "MARKER 1" (it sleeps a second)
 *   ym-sensor-helper deleted-exec MARKER   copy /bin/true to /tmp, run it, unlink it
 *                                          while it waits, then let it go
 *   ym-sensor-helper finit-module FILE     finit_module on FILE (not a module: fails)
 *   ym-sensor-helper bpf-load NAME         load a 2-instruction socket filter named NAME
 *   ym-sensor-helper ptrace                fork a child, PTRACE_ATTACH it, print its pid
 *   ym-sensor-helper ptrace-vm             the same with a child sharing this process's
 *                                          memory (clone CLONE_VM: no fork record)
 *   ym-sensor-helper vm-rw                 fork a child, read and write its memory with
 *                                          process_vm_readv/writev; print "pid N read R
 *                                          wrote W"
 *   ym-sensor-helper proc-mem              open /proc/self/mem, then fork a child with a
 *                                          second thread and open its memory file: read
 *                                          and written (/proc/N/mem, O_RDWR), read
 *                                          (openat of "mem" in /proc/N) and the thread's
 *                                          (/proc/N/task/T/mem); print "pid N tid T
 *                                          self S"
 *   ym-sensor-helper stdio-shell MARKER    a child connects to a loopback listener, makes
 *                                          the connection its stdin, stdout and stderr,
 *                                          execs /bin/sh -c ': MARKER'; print "pid N port P"
 *   ym-sensor-helper pty-shell MARKER      a child connects to a loopback listener, makes
 *                                          the connection its stdio, then (as python's
 *                                          pty.spawn) forks a grandchild on a new
 *                                          pseudo-terminal that execs /bin/sh -c ': MARKER';
 *                                          print "pid N port P" (the grandchild)
 *   ym-sensor-helper setns host|other|pidfd join a UTS namespace: its own, a child's own,
 *                                          or its parent's through a pidfd; print "pid N
 *                                          ino I"
 *   ym-sensor-helper unshare UID           as UID (setresgid, setresuid; 0: stay root),
 *                                          unshare its descriptor table (no namespace),
 *                                          then a UTS namespace, and a user one too
 *                                          unless UID is 0; print "pid N ret R" (R: 0 or
 *                                          the errno of a refused unshare: exit 0 too)
 *   ym-sensor-helper clone UID             as UID, fork a child (no namespace), then
 *                                          clone one into a new UTS namespace, and a new
 *                                          user one unless UID is 0; print "pid N child
 *                                          C ret R" (R: 0 or the errno of a refused clone)
 *   ym-sensor-helper exit CODE             exit with CODE
 *   ym-sensor-helper spawn MARKER          posix_spawn "/bin/sh -c 'sleep 0.3; exit 3'
 *                                          MARKER" (CLONE_VM: no fork record in the
 *                                          eBPF mode), wait for it, print its pid
 *   ym-sensor-helper spawn-fail MARKER     posix_spawn a program that does not exist:
 *                                          the child exits 127 without an exec (glibc
 *                                          reaps it); print "ppid" and its own pid
 *
 * Prints what it did on stdout ("pid N", "ret N"), exits 0 when the action
 * was carried out (a refused finit_module is carried out). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* a child sharing the helper's memory (and its thread pointer: it only
 * waits) */
/* proc-mem's child's second thread: sends its id, then waits */
static void *pm_thread(void *arg)
{
	int *pp = arg;
	pid_t t = gettid();

	if (write(pp[1], &t, sizeof(t)) != sizeof(t))
		return NULL;
	for (;;)
		pause();
	return NULL;
}

static int vm_child(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return 0;
}

/* Leaves root for uid u, group and user (the unshare and clone modes) */
static int become(uid_t u)
{
	return setresgid(u, u, u) != 0 || setresuid(u, u, u) != 0 ? -1 : 0;
}

/* clone's child: lives a moment in its new namespaces */
static int helper_child(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	return 0;
}

static int copy_file(const char *from, int out)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	off_t off = 0;

	if (in < 0 || fstat(in, &sb) < 0)
		return -1;
	while (off < sb.st_size)
		if (sendfile(out, in, &off, (size_t)(sb.st_size - off)) <= 0)
			return -1;
	close(in);
	return 0;
}

/* Listens on 127.0.0.1 (an ephemeral port), switches to *uid when given
 * (setresuid), connects to the listener and prints "pid N port P". The
 * sockets stay open (until an exec: close-on-exec). Returns 0 or -1. */
static int loop_connect(const uid_t *uid)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) != 0 ||
	    (uid != NULL && setresuid(*uid, *uid, *uid) != 0))
		return -1;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	printf("pid %d port %u\n", (int)getpid(), (unsigned)ntohs(a.sin_port));
	fflush(stdout);
	return 0;
}

/* Run by ym-fuse-hold as its program ("ptrace-fuse" SECONDS: its marker,
 * then the seconds): maps the held file system's "data", which no one
 * read yet, over its own arguments (what /proc/PID/cmdline reads: the
 * daemon answers this process's faults, not the agent's), then seizes a
 * CLONE_VM child, which shares that memory and is in no process table:
 * the agent reads the child's command line from /proc for the event's
 * target, and that read waits for the daemon. Prints "vm PID"; lives
 * SECONDS. Touches no argument after the mapping. */
static int ptrace_fuse(int argc, char **argv)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	unsigned secs = (unsigned)strtoul(argv[1], NULL, 10);
	uintptr_t lo = (uintptr_t)argv[0] & ~(uintptr_t)4095;
	uintptr_t hi =
	    ((uintptr_t)argv[argc - 1] + strlen(argv[argc - 1]) + 1 + 4095) & ~(uintptr_t)4095;
	char exe[4096], data[4200];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	pid_t p;
	int fd, st;

	if (k <= 0)
		return 1;
	exe[k] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(data, sizeof(data), "%s/data", exe);
	fd = open(data, O_RDONLY | O_CLOEXEC);
	if (fd < 0 ||
	    mmap((void *)lo, hi - lo, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED)
		return 1;
	close(fd);
	p = clone(vm_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
	if (p < 0 || ptrace(PTRACE_SEIZE, p, NULL, NULL) != 0)
		return 1;
	printf("vm %d\n", (int)p);
	fflush(stdout);
	sleep(secs);
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return 0;
}

/* A connection to *a made stdin, stdout and stderr; its socket, or -1 */
static int stdio_connect(const struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || connect(s, (const struct sockaddr *)a, sizeof(*a)) != 0 || dup2(s, 0) != 0 ||
	    dup2(s, 1) != 1 || dup2(s, 2) != 2)
		return -1;
	return s;
}

/* A TCP listener on 127.0.0.1, its address in *a; -1 on failure */
static int loopback_listener(struct sockaddr_in *a)
{
	socklen_t al = sizeof(*a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)a, sizeof(*a)) != 0 || listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)a, &al) != 0)
		return -1;
	return l;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[0], "ptrace-fuse") == 0)
		return ptrace_fuse(argc, argv);
	if (argc != 3) {
		fprintf(stderr, "usage: ym-sensor-helper ACTION ARG\n");
		return 2;
	}
	if (strcmp(argv[1], "setuid") == 0) {
		uid_t u = (uid_t)strtoul(argv[2], NULL, 10);
		if (setresuid(u, u, u) != 0)
			return 1;
		printf("pid %d\n", (int)getpid());
		return 0;
	}
	if (strcmp(argv[1], "setuid-int80") == 0) {
		/* setuid32 (ia32's 213) through int 0x80 from this 64-bit
		 * program: a compat call (ENOSYS without IA32 emulation: 77) */
#if defined(__x86_64__)
		long r, u = (long)strtoul(argv[2], NULL, 10);

		__asm__ volatile("int $0x80" : "=a"(r) : "a"(213L), "b"(u) : "memory");
		if (r == -ENOSYS)
			return 77;
		if (r != 0)
			return 1;
		printf("pid %d\n", (int)getpid());
		return 0;
#else
		return 77;
#endif
	}
	if (strcmp(argv[1], "setuid-connect") == 0) {
		uid_t u = (uid_t)strtoul(argv[2], NULL, 10);

		if (loop_connect(&u) != 0)
			return 1;
		usleep(300000);
		return 0;
	}
	if (strcmp(argv[1], "connect-exit") == 0 || strcmp(argv[1], "connect-exec") == 0) {
		if (loop_connect(NULL) != 0)
			return 1;
		if (strcmp(argv[1], "connect-exit") == 0)
			_exit(0);
		execl(argv[2], argv[2], (char *)NULL);
		return 1;
	}
	if (strcmp(argv[1], "stdio-shell") == 0) {
		/* a reverse shell's shape: a child connects to a loopback
		 * listener, makes the connection its stdin, stdout and stderr
		 * and execs a shell (/bin/sh -c ': MARKER'); prints "pid N port
		 * P" (the child, the listener's port) */
		struct sockaddr_in a;
		int l = loopback_listener(&a), c, st;
		char cmd[128];
		pid_t p;

		if (l < 0)
			return 1;
		snprintf(cmd, sizeof(cmd), ": %s", argv[2]);
		p = fork();
		if (p == 0) {
			int s = stdio_connect(&a);

			if (s < 0)
				_exit(1);
			close(s);
			close(l);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(1);
		}
		if (p < 0 || (c = accept(l, NULL, NULL)) < 0 || waitpid(p, &st, 0) != p ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
		close(c);
		printf("pid %d port %d\n", (int)p, (int)ntohs(a.sin_port));
		return 0;
	}
	if (strcmp(argv[1], "pty-shell") == 0) {
		/* a reverse shell's "upgrade" (python -c 'import pty;
		 * pty.spawn("/bin/sh")' inside the connection): a child
		 * connects to a loopback listener and makes the connection its
		 * stdio; it opens a pseudo-terminal and forks a grandchild
		 * that, in a session of its own, makes the terminal's slave
		 * its stdio and execs a shell (/bin/sh -c ': MARKER'); the
		 * child sends the grandchild's pid through the connection.
		 * Prints "pid N port P" (the grandchild, the listener's port) */
		struct sockaddr_in a;
		int l = loopback_listener(&a), c, st;
		char cmd[128];
		int32_t gp = 0;
		pid_t p;

		if (l < 0)
			return 1;
		snprintf(cmd, sizeof(cmd), ": %s", argv[2]);
		p = fork();
		if (p == 0) {
			int s = stdio_connect(&a), m, gst;
			const char *pts;
			pid_t g;

			if (s < 0)
				_exit(1);
			close(l);
			m = posix_openpt(O_RDWR | O_NOCTTY);
			if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || !(pts = ptsname(m)))
				_exit(1);
			g = fork();
			if (g == 0) {
				int t;

				if (setsid() < 0 || (t = open(pts, O_RDWR)) < 0 ||
				    dup2(t, 0) != 0 || dup2(t, 1) != 1 || dup2(t, 2) != 2)
					_exit(1);
				close(t);
				close(m);
				close(s);
				execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
				_exit(1);
			}
			gp = (int32_t)g;
			if (g < 0 || write(s, &gp, sizeof(gp)) != (ssize_t)sizeof(gp) ||
			    waitpid(g, &gst, 0) != g || !WIFEXITED(gst) || WEXITSTATUS(gst) != 0)
				_exit(1);
			_exit(0);
		}
		if (p < 0 || (c = accept(l, NULL, NULL)) < 0 ||
		    read(c, &gp, sizeof(gp)) != (ssize_t)sizeof(gp) || waitpid(p, &st, 0) != p ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
		close(c);
		printf("pid %d port %d\n", (int)gp, (int)ntohs(a.sin_port));
		return 0;
	}
	if (strcmp(argv[1], "setns") == 0) {
		/* joins a UTS namespace: "host", its own (the host's, where
		 * the agent runs: /proc/self/ns/uts); "other", a child's own
		 * (unshare); "pidfd", its parent's through a pidfd. Prints "pid
		 * N ino I" (I: the namespace's inode) */
		char path[64];
		struct stat st;
		int fd, pp[2] = {-1, -1};
		pid_t c = 0;
		char ok = 0;

		if (strcmp(argv[2], "other") == 0) {
			if (pipe(pp) != 0)
				return 1;
			c = fork();
			if (c == 0) {
				ok = unshare(CLONE_NEWUTS) == 0;
				if (write(pp[1], &ok, 1) != 1)
					_exit(1);
				pause();
				_exit(0);
			}
			if (c < 0 || read(pp[0], &ok, 1) != 1 || !ok)
				return 1;
		}
		snprintf(path, sizeof(path), "/proc/%d/ns/uts", c ? (int)c : (int)getpid());
		if (stat(path, &st) != 0)
			return 1;
		if (strcmp(argv[2], "pidfd") == 0)
			fd = (int)syscall(SYS_pidfd_open, getppid(), 0);
		else
			fd = open(path, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWUTS) != 0)
			return 1;
		printf("pid %d ino %lu\n", (int)getpid(), (unsigned long)st.st_ino);
		fflush(stdout);
		usleep(300 * 1000); /* named from the table or /proc */
		if (c > 0) {
			kill(c, SIGKILL);
			waitpid(c, NULL, 0);
		}
		return 0;
	}
	if (strcmp(argv[1], "unshare") == 0) {
		/* a kernel exploit's first step: a user namespace of its own,
		 * where it holds every capability (a user that may not make
		 * one: EPERM, printed, as the kernel's refusal is not the
		 * test's failure) */
		uid_t u = (uid_t)strtoul(argv[2], NULL, 10);
		int flags = CLONE_NEWUTS, r;

		if (u != 0) {
			flags |= CLONE_NEWUSER;
			if (become(u) != 0)
				return 1;
		}
		/* no namespace made: never reported */
		if (unshare(CLONE_FILES) != 0)
			return 1;
		r = unshare(flags) == 0 ? 0 : errno;
		printf("pid %d ret %d\n", (int)getpid(), r);
		fflush(stdout);
		usleep(300 * 1000); /* named from the table or /proc */
		return 0;
	}
	if (strcmp(argv[1], "clone") == 0) {
		/* the same namespaces made by clone, in a child (as Chrome's
		 * sandbox and some exploits do) */
		static char stack[64 * 1024] __attribute__((aligned(16)));
		uid_t u = (uid_t)strtoul(argv[2], NULL, 10);
		int flags = CLONE_NEWUTS, r = 0;
		pid_t c, f;

		if (u != 0) {
			flags |= CLONE_NEWUSER;
			if (become(u) != 0)
				return 1;
		}
		f = fork(); /* no namespace made: never reported */
		if (f == 0)
			_exit(0);
		if (f < 0 || waitpid(f, NULL, 0) != f)
			return 1;
		c = clone(helper_child, stack + sizeof(stack), flags | SIGCHLD, NULL);
		if (c < 0)
			r = errno;
		printf("pid %d child %d ret %d\n", (int)getpid(), (int)c, r);
		fflush(stdout);
		if (c > 0 && waitpid(c, NULL, 0) != c)
			return 1;
		usleep(300 * 1000); /* named from the table or /proc */
		return 0;
	}
	if (strcmp(argv[1], "exit") == 0) {
		/* live 0.3 s first: the netlink mode reads /proc after the exec
		 * message, and a process already gone leaves only its fork image */
		usleep(300000);
		return (int)strtol(argv[2], NULL, 10);
	}
	if (strcmp(argv[1], "spawn") == 0 || strcmp(argv[1], "spawn-fail") == 0) {
		int fail = strcmp(argv[1], "spawn-fail") == 0, st = 0;
		char prog[64];
		char *const av[] = {"/bin/sh", "-c", "sleep 0.3; exit 3", argv[2], NULL};
		pid_t p;

		/* glibc's posix_spawn starts the child with CLONE_VM | CLONE_VFORK;
		 * one that cannot exec reports the error and exits 127 */
		snprintf(prog, sizeof(prog), "/nonexistent/ym-%s", argv[2]);
		if (fail) {
			if (posix_spawn(&p, prog, NULL, NULL, av, environ) != ENOENT)
				return 1;
			printf("ppid %d\n", (int)getpid());
			return 0;
		}
		if (posix_spawn(&p, av[0], NULL, NULL, av, environ) != 0 || waitpid(p, &st, 0) != p ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 3)
			return 1;
		printf("pid %d\n", (int)p);
		return 0;
	}
	if (strcmp(argv[1], "memfd-exec") == 0) {
		int fd = (int)syscall(SYS_memfd_create, "ymtest", 0);
		char *const av[] = {argv[2], "1", NULL};
		char *const env[] = {NULL};
		if (fd < 0 || copy_file("/bin/sleep", fd))
			return 1;
		syscall(SYS_execveat, fd, "", av, env, AT_EMPTY_PATH);
		return 1;
	}
	if (strcmp(argv[1], "deleted-exec") == 0) {
		char path[] = "/tmp/ym-deleted-XXXXXX";
		int fd = mkstemp(path), st;
		pid_t p;
		if (fd < 0 || copy_file("/bin/true", fd) || fchmod(fd, 0700) || close(fd))
			return 1;
		/* unlink first, then exec through /proc/self/fd of an O_PATH fd */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		unlink(path);
		p = fork();
		if (p == 0) {
			char *const av[] = {"ymdeleted", argv[2], NULL};
			char *const env[] = {NULL};
			syscall(SYS_execveat, fd, "", av, env, AT_EMPTY_PATH);
			_exit(127);
		}
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
		printf("pid %d\n", (int)p);
		return 0;
	}
	if (strcmp(argv[1], "finit-module") == 0) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		long r;
		if (fd < 0)
			return 1;
		r = syscall(SYS_finit_module, fd, "ymparam=1", 0);
		printf("ret %ld errno %d\n", r, r < 0 ? errno : 0);
		return 0;
	}
	if (strcmp(argv[1], "bpf-load") == 0) {
		struct bpf_insn insns[2];
		union bpf_attr a;
		long r;
		memset(insns, 0, sizeof(insns));
		insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
		insns[1].code = BPF_JMP | BPF_EXIT;
		memset(&a, 0, sizeof(a));
		a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
		a.insn_cnt = 2;
		a.insns = (uint64_t)(uintptr_t)insns;
		a.license = (uint64_t)(uintptr_t) "GPL";
		strncpy(a.prog_name, argv[2], sizeof(a.prog_name) - 1);
		r = syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
		printf("ret %ld\n", r);
		return r < 0;
	}
	if (strcmp(argv[1], "vm-rw") == 0) {
		/* another process's memory without ptrace: a forked child's
		 * copy of a buffer read (process_vm_readv) and written
		 * (process_vm_writev); prints "pid P read N wrote M" */
		static char buf[64] = "ym-vm-rw secret";
		char got[64];
		struct iovec l = {got, sizeof(got)}, r = {buf, sizeof(buf)};
		ssize_t rd, wr;
		pid_t p = fork();
		int st;

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			return 1;
		rd = process_vm_readv(p, &l, 1, &r, 1, 0);
		l.iov_base = (void *)"ym-vm-rw written";
		l.iov_len = 17;
		r.iov_len = 17;
		wr = process_vm_writev(p, &l, 1, &r, 1, 0);
		printf("pid %d read %zd wrote %zd\n", (int)p, rd, wr);
		fflush(stdout);
		usleep(300 * 1000); /* the agent names it from its table or /proc */
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		return rd != (ssize_t)sizeof(buf) || wr != 17;
	}
	if (strcmp(argv[1], "proc-mem") == 0) {
		/* another process's memory through its /proc memory file, by
		 * a program with no debugger's name: injection without
		 * ptrace (T1055.009) */
		static char buf[64] = "ym-proc-mem secret";
		char got[64], path[64];
		int pp[2], fd, dfd, st, ok = 1;
		pid_t p, tid = 0;

		fd = open("/proc/self/mem", O_RDONLY); /* its own: no event */
		if (fd < 0 || pread(fd, got, sizeof(got), (off_t)(uintptr_t)buf) != sizeof(got))
			return 1;
		close(fd);
		if (pipe(pp) != 0)
			return 1;
		p = fork();
		if (p == 0) {
			pthread_t th;

			if (pthread_create(&th, NULL, pm_thread, pp) != 0)
				_exit(1);
			(void)pthread_detach(th);
			for (;;)
				pause();
		}
		if (p < 0)
			return 1;
		close(pp[1]);
		if (read(pp[0], &tid, sizeof(tid)) != sizeof(tid))
			ok = 0;
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)p);
		fd = open(path, O_RDWR);
		if (fd < 0 || pread(fd, got, sizeof(got), (off_t)(uintptr_t)buf) != sizeof(got) ||
		    pwrite(fd, "ym-proc-mem written", 19, (off_t)(uintptr_t)buf) != 19)
			ok = 0;
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "/proc/%d", (int)p);
		dfd = open(path, O_RDONLY | O_DIRECTORY);
		fd = dfd >= 0 ? openat(dfd, "mem", O_RDONLY) : -1;
		if (fd < 0)
			ok = 0;
		else
			close(fd);
		if (dfd >= 0)
			close(dfd);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/mem", (int)p, (int)tid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			ok = 0;
		else
			close(fd);
		printf("pid %d tid %d self %d\n", (int)p, (int)tid, (int)getpid());
		fflush(stdout);
		usleep(300 * 1000); /* the agent names it from its table or /proc */
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		return !ok;
	}
	if (strcmp(argv[1], "ptrace") == 0 || strcmp(argv[1], "ptrace-vm") == 0) {
		static char stack[64 * 1024] __attribute__((aligned(16)));
		pid_t p;
		int st;
		if (strcmp(argv[1], "ptrace-vm") == 0) {
			p = clone(vm_child, stack + sizeof(stack), CLONE_VM | SIGCHLD, NULL);
		} else {
			p = fork();
			if (p == 0) {
				pause();
				_exit(0);
			}
		}
		if (p < 0 || ptrace(PTRACE_ATTACH, p, NULL, NULL) != 0)
			return 1;
		waitpid(p, &st, 0);
		printf("pid %d\n", (int)p);
		fflush(stdout);
		/* the CLONE_VM child is in no process table: the agent reads
		 * /proc, so it stays traced a while, as under a debugger */
		if (strcmp(argv[1], "ptrace-vm") == 0)
			sleep(1);
		kill(p, SIGKILL);
		ptrace(PTRACE_DETACH, p, NULL, NULL);
		waitpid(p, &st, 0);
		return 0;
	}
	return 2;
}
