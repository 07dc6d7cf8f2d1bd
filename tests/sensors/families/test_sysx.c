/* sysx: how the network and file families' eBPF modules get system call
 * exits (agent/sysx.h), both ways, one after the other:
 * - syscall tracepoints (where this kernel and tracefs allow them: here,
 *   tracefs mounted privately by sysx when the host has none): both modules
 *   are registered on tracepoints;
 * - the shared tp_btf/sys_exit dispatcher (tracepoints not allowed, as on a
 *   kernel without them): both registered with it, not attached alone.
 * Either way each still gets its events (a connect and a file creation
 * made by a child, and the same made as 32-bit calls, int 0x80: each
 * module's compat program through the dispatcher's compat table, with the
 * process sensor's first where the agent is built: it watches open too,
 * and the file family's create is seen only when its program passes the
 * call on); when the network module and the sensor stop, the file module's
 * events still come; when both stopped, nothing is registered. A kernel
 * that refuses the dispatcher (the modules then attach their own programs)
 * skips with 77. */
#include "../i80.h"
#include "famnet.h"
#include "famtest.h"
#ifdef YM_FAMILY_BPF
#include "family_file_bpf.h"
#include "family_net_bpf.h"
#include "sysx.h"
#endif
#if defined(YM_SYSX_SENSOR) && defined(YM_HAVE_BPF)
#include "err.h"
#include "sensor.h"
#endif

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef YM_FAMILY_BPF
static char root[] = "/tmp/ym-sysx-XXXXXX";

/* a child creates name under root/etc/ and connects to 127.0.0.1:port
 * (nothing listens: an attempt is reported all the same) */
static void act(const char *name, int port)
{
	pid_t p = ft_fork();
	int st = 0;

	if (p == 0) {
		char path[600];
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int fd, s;

		snprintf(path, sizeof(path), "%s/etc/%s", root, name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || close(fd) != 0)
			_exit(10);
		if (port) {
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			s = socket(AF_INET, SOCK_STREAM, 0);
			if (s < 0)
				_exit(11);
			(void)connect(s, (struct sockaddr *)&a, sizeof(a));
			close(s);
		}
		_exit(0);
	}
	FT_CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

#if defined(__x86_64__)
/* a child makes name under root/etc/ with a compat open, connects to
 * 127.0.0.1:port through socketcall and to port + 1 with ia32's connect,
 * and listens with ia32's listen (agent/sysx.h: each module's compat
 * program, through the dispatcher's compat table) */
static void act32(const char *name, int port)
{
	pid_t p = ft_fork();
	int st = 0;

	if (p == 0) {
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		struct sockaddr_in *a;
		uint32_t *args;
		long fd;
		int s;

		if (m == MAP_FAILED)
			_exit(20);
		snprintf(m, 600, "%s/etc/%s", root, name);
		fd = i80(5, (unsigned long)m, O_WRONLY | O_CREAT | O_EXCL, 0644); /* open */
		if (fd < 0 || close((int)fd) != 0)
			_exit(21);
		a = (struct sockaddr_in *)(m + 1024);
		args = (uint32_t *)(m + 2048);
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons((uint16_t)port);
		s = socket(AF_INET, SOCK_STREAM, 0);
		args[0] = (uint32_t)s;
		args[1] = (uint32_t)(uintptr_t)a;
		args[2] = sizeof(*a);
		if (s < 0)
			_exit(22);
		(void)i80(102, 3, (unsigned long)args, 0); /* socketcall(SYS_CONNECT) */
		close(s);
		a->sin_port = htons((uint16_t)(port + 1));
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			_exit(23);
		(void)i80(362, (unsigned long)s, (unsigned long)a, sizeof(*a)); /* connect */
		close(s);
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || i80(363, (unsigned long)s, 1, 0) != 0) /* listen */
			_exit(24);
		close(s);
		_exit(0);
	}
	FT_CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
#endif

static char *fname(const char *name)
{
	static char b[600];

	snprintf(b, sizeof(b), "%s/etc/%s", root, name);
	return b;
}
#endif

#ifdef YM_FAMILY_BPF
#if defined(YM_SYSX_SENSOR) && defined(YM_HAVE_BPF)
static struct sensor *sensor;
#endif
static int mods = 2; /* modules registered: the families, and the sensor */

static void stop_sensor(void)
{
#if defined(YM_SYSX_SENSOR) && defined(YM_HAVE_BPF)
	if (sensor)
		sensor_bpf_ops.stop(sensor);
	sensor = NULL;
#endif
}

/* one round with both modules; tp: tracepoints expected. Returns 0, or
 * FT_SKIP when the dispatcher was refused. */
static int run(int tp, const char *one, const char *two)
{
	static struct ft net, file;
	char w[600];
	const char *watch[2] = {w, NULL};

	snprintf(w, sizeof(w), "%s/etc/", root);
#if defined(YM_SYSX_SENSOR) && defined(YM_HAVE_BPF)
	/* the process sensor first, as in the agent: its compat program is
	 * the first watcher of open, the file family's the next */
	{
		int r = sensor_bpf_ops.start(&sensor);

		if (r != 0) {
			printf("note: the process sensor did not start (%s): families only\n",
			       ym_strerror(r));
			sensor = NULL;
		}
		mods = sensor ? 3 : 2;
	}
#endif
	ft_start(&net, &family_net_bpf_ops, NULL);
	ft_start(&file, &family_file_bpf_ops, watch);
	if (sysx_count() == 0) {
		printf("SKIP: the kernel refused the shared sys_exit program (or its tail calls): "
		       "each module attached its own\n");
		ft_stop(&file);
		ft_stop(&net);
		stop_sensor();
		return FT_SKIP;
	}
	FT_CHECK(sysx_count() == mods);
	FT_CHECK(sysx_count_tracepoints() == (tp ? mods : 0));

	act(one, 9);
	ft_current = &net;
	FT_CHECK(ft_wait(&net, 3000, "Action", "connect", "DestinationPort", "9", NULL) != NULL);
	ft_current = &file;
	FT_CHECK(ft_wait(&file, 3000, "Action", "create", "TargetFilename", fname(one), NULL) !=
		 NULL);
#if defined(__x86_64__)
	/* compat calls: both modules' compat programs on the dispatcher's
	 * compat table, whichever way their 64-bit calls come */
	if (sysx_compat_present()) {
		char n32[64];

		FT_CHECK(sysx_count_compat() == mods);
		snprintf(n32, sizeof(n32), "%s32", one);
		act32(n32, 11);
		ft_current = &net;
		/* each marked: int 0x80 from 64-bit code */
		FT_CHECK(ft_wait(&net, 3000, "Action", "connect", "DestinationPort", "11",
				 "SyscallAbi", "int80", NULL) != NULL);
		FT_CHECK(ft_wait(&net, 3000, "Action", "connect", "DestinationPort", "12",
				 "SyscallAbi", "int80", NULL) != NULL);
		FT_CHECK(ft_wait(&net, 3000, "Action", "listen", "SyscallAbi", "int80", NULL) !=
			 NULL);
		ft_current = &file;
		FT_CHECK(ft_wait(&file, 3000, "Action", "create", "TargetFilename", fname(n32),
				 "SyscallAbi", "int80", NULL) != NULL);
		unlink(fname(n32));
	} else {
		printf("note: no IA32 emulation in this kernel: no compat calls\n");
	}
#endif

	/* the network module (and the process sensor) leave: the file module
	 * still gets its calls */
	ft_stop(&net);
	stop_sensor();
	FT_CHECK(sysx_count() == 1);
	FT_CHECK(sysx_count_tracepoints() == (tp ? 1 : 0));
	act(two, 0);
	FT_CHECK(ft_wait(&file, 3000, "Action", "create", "TargetFilename", fname(two), NULL) !=
		 NULL);

	ft_stop(&file);
	FT_CHECK(sysx_count() == 0);
	FT_CHECK(sysx_count_compat() == 0);
	unlink(fname(one));
	unlink(fname(two));
	return 0;
}
#endif

int main(void)
{
#ifndef YM_FAMILY_BPF
	printf("SKIP: built without eBPF (cmake/bpf.cmake found no clang/bpftool/libbpf)\n");
	return FT_SKIP;
#else
	char w[600];
	int rc, tp;

	famnet_private();
	FT_CHECK(mkdtemp(root) != NULL);
	snprintf(w, sizeof(w), "%s/etc", root);
	FT_CHECK(mkdir(w, 0755) == 0);
	/* tracepoints are expected where the kernel has tracefs and
	 * bpf_task_pt_regs (5.15); elsewhere the dispatcher only */
	{
		struct utsname u;
		unsigned maj = 0, min = 0;

		tp = uname(&u) == 0 && sscanf(u.release, "%u.%u", &maj, &min) == 2 &&
		     (maj > 5 || (maj == 5 && min >= 15)) &&
		     access("/sys/kernel/tracing", F_OK) == 0;
	}
	if (!tp)
		printf("note: no syscall tracepoints expected here: the dispatcher only\n");
	rc = tp ? run(1, "one", "two") : 0;
	if (rc == 0) {
		sysx_allow_tracepoints(0);
		rc = run(0, "three", "four");
		sysx_allow_tracepoints(1);
	}
	rmdir(w);
	rmdir(root);
	if (rc == 0)
		printf("ok\n");
	return rc;
#endif
}
