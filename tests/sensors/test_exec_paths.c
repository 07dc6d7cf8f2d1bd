/* sensors_process_bpf_paths: the eBPF process sensor's exec record carries
 * the executable's path, its working directory, the task's name and the
 * executable's inode (number, device, size, mtime, ctime) exactly as
 * readlink and stat show them, both ways the exec program can read the kernel's dentries and
 * mounts (agent/bpf/pathwalk.h): plain loads through bpf_rdonly_cast
 * (kernel 6.2+; where the kernel's BTF has that kfunc the sensor must use
 * them) and bpf_probe_read_kernel calls (the fallback, forced). The child
 * runs a copy of /bin/true whose mtime is set apart from its ctime, in a
 * folder three levels under /dev/shm, so the walk crosses two mount points
 * (tmpfs on devtmpfs on /) where those are mounts. Root; skips with 77
 * where the kernel refuses the sensor. */
#include <bpf/btf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stest.h"

extern char **environ;

#ifdef YM_HAVE_BPF

struct want {
	pid_t pid;
	int seen;
	char image[PATH_MAX], cwd[PATH_MAX];
	struct stat st;
	const char *variant;
};

static void on_msg(void *arg, const struct sensor_msg *m)
{
	struct want *w = arg;
	const struct sensor_kinfo *k = m->k;

	if (m->type != SENSOR_MSG_EXEC || m->pid != w->pid || !k)
		return;
	w->seen++;
	CHECK(k->image && strcmp(k->image, w->image) == 0, "%s: image %s, want %s", w->variant,
	      k->image ? k->image : "(none)", w->image);
	CHECK(k->cwd && strcmp(k->cwd, w->cwd) == 0, "%s: cwd %s, want %s", w->variant,
	      k->cwd ? k->cwd : "(none)", w->cwd);
	/* the kernel's name of the task after the exec: the file's */
	CHECK(k->comm && strcmp(k->comm, "ym-true") == 0, "%s: comm %s", w->variant,
	      k->comm ? k->comm : "(none)");
	CHECK(k->exe_ino == (uint64_t)w->st.st_ino && k->exe_dev == (uint64_t)w->st.st_dev &&
		  k->exe_size == (uint64_t)w->st.st_size,
	      "%s: exe inode %llu dev %llu size %llu, want %llu %llu %llu", w->variant,
	      (unsigned long long)k->exe_ino, (unsigned long long)k->exe_dev,
	      (unsigned long long)k->exe_size, (unsigned long long)w->st.st_ino,
	      (unsigned long long)w->st.st_dev, (unsigned long long)w->st.st_size);
	CHECK(k->exe_mtime_s == (int64_t)w->st.st_mtim.tv_sec &&
		  k->exe_mtime_ns == (int64_t)w->st.st_mtim.tv_nsec &&
		  k->exe_ctime_s == (int64_t)w->st.st_ctim.tv_sec &&
		  k->exe_ctime_ns == (int64_t)w->st.st_ctim.tv_nsec,
	      "%s: exe times %lld.%09lld / %lld.%09lld, want %lld.%09lld / %lld.%09lld", w->variant,
	      (long long)k->exe_mtime_s, (long long)k->exe_mtime_ns, (long long)k->exe_ctime_s,
	      (long long)k->exe_ctime_ns, (long long)w->st.st_mtim.tv_sec,
	      (long long)w->st.st_mtim.tv_nsec, (long long)w->st.st_ctim.tv_sec,
	      (long long)w->st.st_ctim.tv_nsec);
}

static char exe[] = "/tmp/ym-paths-exe-XXXXXX/ym-true";

/* Copies /bin/true to exe (its folder created) with an mtime of a known
 * second and nanosecond, never its ctime's. Returns 0 or -1. */
static int make_exe(void)
{
	static char buf[1 << 16];
	const struct timespec ts[2] = {{1700000000, 123456789}, {1700000000, 123456789}};
	char *slash = strrchr(exe, '/');
	int in, out, ok = 0;
	ssize_t n;

	*slash = 0;
	if (!mkdtemp(exe))
		return -1;
	*slash = '/';
	in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	out = open(exe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (in >= 0 && out >= 0) {
		ok = 1;
		while (ok && (n = read(in, buf, sizeof(buf))) != 0)
			ok = n > 0 && write(out, buf, (size_t)n) == n;
	}
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0)
		ok = 0;
	return ok && utimensat(AT_FDCWD, exe, ts, 0) == 0 ? 0 : -1;
}

/* Runs exe in dir to its end; returns its pid or -1. */
static pid_t run_in(const char *dir)
{
	char *argv[] = {"ym-true", NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int st, r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	r = posix_spawn_file_actions_addchdir_np(&fa, dir) == 0 &&
	    posix_spawn(&pid, exe, &fa, NULL, argv, environ) == 0;
	posix_spawn_file_actions_destroy(&fa);
	if (!r || waitpid(pid, &st, 0) != pid)
		return -1;
	return pid;
}

/* One sensor, one exec in dir; direct: the variant asked for. */
static void round_of(const char *dir, int direct)
{
	struct want w = {.variant = direct ? "direct loads" : "helper reads"};
	struct sensor *s = NULL;
	const char *how;
	int r, n;

	sensor_bpf_direct_loads(direct);
	r = sensor_bpf_ops.start(&s);
	sensor_bpf_direct_loads(1);
	if (r != 0) {
		CHECK(0, "%s: sensor start: %s", w.variant, ym_strerror(r));
		return;
	}
	how = sensor_bpf_reads(s);
	printf("%s asked: exec paths by %s\n", w.variant, how);
	if (!direct) {
		CHECK(strcmp(how, "helper reads") == 0, "forced fallback runs %s", how);
	} else if (strcmp(how, "direct loads") != 0) {
		/* a kernel that has the kfunc must take them: a program the
		 * verifier refuses would otherwise hide behind the fallback */
		struct btf *vb = btf__load_vmlinux_btf();

		CHECK(vb == NULL ||
			  btf__find_by_name_kind(vb, "bpf_rdonly_cast", BTF_KIND_FUNC) < 0,
		      "this kernel has bpf_rdonly_cast, but the sensor runs %s", how);
		btf__free(vb);
		printf("SKIP (direct loads): this kernel has no bpf_rdonly_cast\n");
	}
	while (sensor_bpf_ops.poll(s, 4096, on_msg, &w) > 0) {
	}
	CHECK(realpath(exe, w.image) != NULL && stat(w.image, &w.st) == 0, "realpath/stat %s: %s",
	      exe, strerror(errno));
	CHECK(realpath(dir, w.cwd) != NULL, "realpath %s: %s", dir, strerror(errno));
	w.pid = run_in(dir);
	CHECK(w.pid > 0, "spawn %s in %s", exe, dir);
	for (int i = 0; i < 40 && w.seen == 0; i++) {
		usleep(50 * 1000);
		while ((n = sensor_bpf_ops.poll(s, 4096, on_msg, &w)) > 0) {
		}
		CHECK(n >= 0, "%s: poll", w.variant);
	}
	CHECK(w.seen == 1, "%s: exec of %d seen %d times", w.variant, (int)w.pid, w.seen);
	sensor_bpf_ops.stop(s);
}

int main(void)
{
	char base[] = "/dev/shm/ym-paths-XXXXXX", dir[PATH_MAX];
	struct sensor *s = NULL;
	int r = stest_start(&s);

	if (r != 0)
		return r;
	sensor_bpf_ops.stop(s);
	if (!mkdtemp(base)) {
		/* no /dev/shm: the same under /tmp, without mount crossings */
		memcpy(base, "/tmp/ym-paths-XXXXXX", sizeof("/tmp/ym-paths-XXXXXX"));
		if (!mkdtemp(base)) {
			fprintf(stderr, "FAIL: mkdtemp: %s\n", strerror(errno));
			return 1;
		}
	}
	CHECK(make_exe() == 0, "copy /bin/true to %s: %s", exe, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/a", base);
	CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
	snprintf(dir, sizeof(dir), "%s/a/b-with-a-longer-name", base);
	CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
	round_of(dir, 1);
	round_of(dir, 0);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/a", base);
	rmdir(dir);
	rmdir(base);
	unlink(exe);
	*strrchr(exe, '/') = 0;
	rmdir(exe);
	if (stest_fails)
		return 1;
	printf("sensors_process_bpf_paths: ok\n");
	return 0;
}
#endif
