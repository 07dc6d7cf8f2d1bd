/* unit_agent_bounds: the agent's resource bounds (agent/bounds.c) against a
 * temporary folder standing in for the cgroup mounts (struct bounds_fs): v2,
 * hybrid v2 and v1 detection, the files written and the fallbacks. Needs no
 * root: the cgroup files are plain files here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "util.h"

static char tmpdir[256];
static char cg2_path[400]; /* the one path fake_is_cgroup2 calls a v2 mount; "": none */

static int fake_is_cgroup2(const char *path)
{
	return cg2_path[0] && strcmp(path, cg2_path) == 0;
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ym-unit-bounds.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void touch(const char *dir, const char *file)
{
	char path[700];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
}

/* A fresh fake cgroup root tmpdir/name, with a stand-in for /proc/self/cgroup. */
static void fake_root(const char *name, const char *self_cgroup, struct bounds_fs *fs, char *root,
		      size_t rootsz, char *self, size_t selfsz)
{
	FILE *fp;

	snprintf(root, rootsz, "%s/%s", tmpdir, name);
	assert_int_equal(util_mkdirs(root, 0700), 0);
	snprintf(self, selfsz, "%s/self-cgroup", root);
	fp = fopen(self, "w");
	assert_non_null(fp);
	fputs(self_cgroup, fp);
	fclose(fp);
	fs->root = root;
	fs->self_cgroup = self;
	fs->is_cgroup2 = fake_is_cgroup2;
}

/* home (where the agent runs, with its cgroup.procs) and the folder bounds
 * makes below it, home/yamori-agent.<pid>, with the given empty control
 * files, as the kernel would populate it on mkdir. dir gets that folder. */
static void fake_cgroup(const char *home, const char *const *files, char *dir, size_t dirsz)
{
	snprintf(dir, dirsz, "%s/yamori-agent.%d", home, (int)getpid());
	assert_int_equal(util_mkdirs(dir, 0700), 0);
	touch(home, "cgroup.procs");
	for (; *files; files++)
		touch(dir, *files);
}

static void expect_file(const char *dir, const char *file, const char *want)
{
	char path[700], *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	assert_int_equal(util_read_file(path, 4096, &text, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(text, want, len);
	free(text);
}

/* Pure v2: cpu.max, memory.high and memory.max in yamori-agent.<pid> below
 * the agent's own cgroup, the pid joined, and back home on release. Without
 * a v2 mount the same tree is not touched. */
static void test_bounds_cgroup2(void **state)
{
	static const char *const files[] = {"cpu.max", "memory.max", "memory.high", "cgroup.procs",
					    NULL};
	char root[300], self[400], home[400], dir[500], pid[24];
	struct bounds_fs fs;
	struct bounds_cfg cfg = {.cpu_pct = 25, .mem_max = 64ull << 20, .fs = &fs};
	struct bounds l;
	(void)state;

	fake_root("v2", "0::/test.slice/agent.service\n", &fs, root, sizeof(root), self,
		  sizeof(self));
	snprintf(home, sizeof(home), "%s/test.slice/agent.service", root);
	fake_cgroup(home, files, dir, sizeof(dir));
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

	cg2_path[0] = 0; /* not a v2 mount, no v1 folders: the process throttles itself */
	bounds_apply(&cfg, &l);
	assert_string_equal(l.cpu_how, "self");
	assert_string_equal(l.mem_how, "none");
	assert_string_equal(l.cg2, "");
	expect_file(dir, "cpu.max", "");

	snprintf(cg2_path, sizeof(cg2_path), "%s", root);
	bounds_apply(&cfg, &l);
	assert_string_equal(l.cpu_how, "cgroup2");
	assert_string_equal(l.mem_how, "cgroup2");
	assert_string_equal(l.cg2, dir);
	assert_string_equal(l.home2, home);
	expect_file(dir, "cpu.max", "25000 100000\n");
	expect_file(dir, "memory.max", "67108864\n");
	expect_file(dir, "memory.high", "50331648\n"); /* 3/4 of the max */
	expect_file(dir, "cgroup.procs", pid);
	expect_file(home, "cgroup.procs", "");
	/* back home; the rmdir fails on a plain folder with files (it cannot on
	 * cgroupfs), which release ignores */
	bounds_release(&l);
	expect_file(home, "cgroup.procs", pid);
	assert_string_equal(l.cg2, "");
}

/* Hybrid: v2 at <root>/unified. Without the cpu controller there (no
 * cpu.max) and no v1 cpu hierarchy, memory goes to v2 and the CPU bound to
 * the process itself; no bound asked, nothing is made. */
static void test_bounds_cgroup2_hybrid(void **state)
{
	static const char *const files[] = {"memory.max", "memory.high", "cgroup.procs", NULL};
	char root[300], self[400], home[400], dir[500];
	struct bounds_fs fs;
	struct bounds_cfg cfg = {.cpu_pct = 50, .mem_max = 1 << 20, .fs = &fs};
	struct bounds l;
	(void)state;

	fake_root("hybrid", "1:name=systemd:/x\n0::/u.slice\n", &fs, root, sizeof(root), self,
		  sizeof(self));
	snprintf(home, sizeof(home), "%s/unified/u.slice", root);
	fake_cgroup(home, files, dir, sizeof(dir));
	snprintf(cg2_path, sizeof(cg2_path), "%s/unified", root);
	bounds_apply(&cfg, &l);
	assert_string_equal(l.cpu_how, "self");
	assert_string_equal(l.mem_how, "cgroup2");
	assert_string_equal(l.cg2, dir);
	expect_file(dir, "memory.max", "1048576\n");
	expect_file(dir, "memory.high", "786432\n");
	bounds_release(&l);

	cfg.cpu_pct = 0;
	cfg.mem_max = 0;
	bounds_apply(&cfg, &l);
	assert_string_equal(l.cpu_how, "none");
	assert_string_equal(l.mem_how, "none");
	assert_string_equal(l.cg2, "");
	cg2_path[0] = 0;
}

/* v1: cpu.cfs_quota_us in the cpu hierarchy (here only "cpu,cpuacct", the
 * fallback of "cpu"), memory.limit_in_bytes in the memory hierarchy, each
 * below the agent's cgroup of that controller in /proc/self/cgroup. */
static void test_bounds_cgroup1(void **state)
{
	static const char *const cpu_files[] = {"cpu.cfs_quota_us", "cgroup.procs", NULL};
	static const char *const mem_files[] = {"memory.limit_in_bytes", "cgroup.procs", NULL};
	char root[300], self[400], home[400], cpudir[500], memdir[500], pid[24];
	struct bounds_fs fs;
	struct bounds_cfg cfg = {.cpu_pct = 30, .mem_max = 1 << 20, .fs = &fs};
	struct bounds l;
	(void)state;

	fake_root("v1", "12:memory:/m.slice\n5:cpuacct,cpu:/c.slice\n1:name=systemd:/x\n0::/u\n",
		  &fs, root, sizeof(root), self, sizeof(self));
	snprintf(home, sizeof(home), "%s/cpu,cpuacct/c.slice", root);
	fake_cgroup(home, cpu_files, cpudir, sizeof(cpudir));
	snprintf(home, sizeof(home), "%s/memory/m.slice", root);
	fake_cgroup(home, mem_files, memdir, sizeof(memdir));
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	cg2_path[0] = 0;
	bounds_apply(&cfg, &l);
	assert_string_equal(l.cpu_how, "cgroup1");
	assert_string_equal(l.mem_how, "cgroup1");
	assert_string_equal(l.cg2, "");
	assert_string_equal(l.cg1_cpu, cpudir);
	assert_string_equal(l.cg1_mem, memdir);
	expect_file(cpudir, "cpu.cfs_quota_us", "30000");
	expect_file(cpudir, "cgroup.procs", pid);
	expect_file(memdir, "memory.limit_in_bytes", "1048576");
	expect_file(memdir, "cgroup.procs", pid);
	bounds_release(&l);
	expect_file(home, "cgroup.procs", pid);
	assert_string_equal(l.cg1_cpu, "");
	assert_string_equal(l.cg1_mem, "");
}

/* v1 with real-time group scheduling (cpu.rt_runtime_us in the group): the
 * group gets the agent's share of its real-time period before the agent
 * joins it (else SCHED_FIFO is refused to its capture thread), of a 100 ms
 * period where the group has the file to set it, else of the kernel's
 * default (1 s). Left-over
 * folders of agents that are gone are removed; a live process's is not. */
static void test_bounds_cgroup1_rt(void **state)
{
	static const char *const cpu_files[] = {"cpu.cfs_quota_us", "cpu.rt_runtime_us",
						"cgroup.procs", NULL};
	char root[300], self[400], home[400], cpudir[500], stale[600], live[600], path[700];
	struct bounds_fs fs;
	struct bounds_cfg cfg = {.cpu_pct = 30, .fs = &fs};
	struct bounds l;
	struct stat sb;
	pid_t gone;
	(void)state;

	fake_root("v1rt", "4:cpu,cpuacct:/s\n0::/u\n", &fs, root, sizeof(root), self,
		  sizeof(self));
	snprintf(home, sizeof(home), "%s/cpu/s", root);
	fake_cgroup(home, cpu_files, cpudir, sizeof(cpudir));
	/* a process that has exited (and was reaped): its pid is free */
	gone = fork();
	assert_true(gone >= 0);
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, NULL, 0), gone);
	snprintf(stale, sizeof(stale), "%s/yamori-agent.%d", home, (int)gone);
	assert_int_equal(util_mkdirs(stale, 0700), 0);
	snprintf(live, sizeof(live), "%s/yamori-agent.%d", home, (int)getppid());
	assert_int_equal(util_mkdirs(live, 0700), 0);
	cg2_path[0] = 0;
	bounds_apply(&cfg, &l);
	assert_string_equal(l.cpu_how, "cgroup1");
	expect_file(cpudir, "cpu.rt_runtime_us", "300000");
	expect_file(cpudir, "cpu.cfs_quota_us", "30000");
	assert_int_equal(stat(stale, &sb), -1);
	assert_int_equal(stat(live, &sb), 0);
	bounds_release(&l);

	/* with a period file (cgroupfs replaces a value written to it; here
	 * the fake file starts empty): the quota's period, 100 ms */
	fake_cgroup(home, cpu_files, cpudir, sizeof(cpudir));
	snprintf(path, sizeof(path), "%s/cpu.rt_runtime_us", cpudir);
	assert_int_equal(util_write_file(path, "", 0, 0644), 0);
	snprintf(path, sizeof(path), "%s/cpu.rt_period_us", cpudir);
	assert_int_equal(util_write_file(path, "", 0, 0644), 0);
	bounds_apply(&cfg, &l);
	expect_file(cpudir, "cpu.rt_period_us", "100000");
	expect_file(cpudir, "cpu.rt_runtime_us", "30000");
	bounds_release(&l);
	rmdir(live);
}

/* Overload under a cgroup quota: the cgroup holds the agent at its share,
 * so bounds_overloaded reads cpu.stat; throttled in 20 % or more of the CPU
 * periods since the last call is overloaded, fewer is not. */
static void write_cpu_stat(const char *dir, unsigned periods, unsigned throttled)
{
	char path[260], text[128];
	int n = snprintf(text, sizeof(text),
			 "nr_periods %u\nnr_throttled %u\nthrottled_time 12345\n", periods,
			 throttled);

	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	assert_int_equal(util_write_file(path, text, (size_t)n, 0644), 0);
}

static void test_bounds_overloaded_cpu_stat(void **state)
{
	struct bounds l;
	char dir[200], file[260];

	(void)state;
	assert_true(strlen(tmpdir) < 150);
	snprintf(dir, sizeof(dir), "%.150s/stat", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	memset(&l, 0, sizeof(l));
	l.cpu_pct = 100; /* the process's own use never counts here */
	snprintf(l.cg1_cpu, sizeof(l.cg1_cpu), "%s", dir);
	write_cpu_stat(dir, 100, 0);
	assert_int_equal(bounds_overloaded(&l), 0); /* first reading: a baseline */
	write_cpu_stat(dir, 110, 1);
	assert_int_equal(bounds_overloaded(&l), 0); /* 1 of 10 periods */
	write_cpu_stat(dir, 120, 4);
	assert_int_equal(bounds_overloaded(&l), 1); /* 3 of 10 */
	write_cpu_stat(dir, 130, 4);
	assert_int_equal(bounds_overloaded(&l), 0);
	write_cpu_stat(dir, 130, 4);
	assert_int_equal(bounds_overloaded(&l), 0); /* no period passed */
	/* a malformed file is no reading (and no crash) */
	snprintf(file, sizeof(file), "%s/cpu.stat", dir);
	assert_int_equal(util_write_file(file, "nr_periods x\n", 13, 0644), 0);
	assert_int_equal(bounds_overloaded(&l), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds_cgroup2),
	    cmocka_unit_test(test_bounds_cgroup2_hybrid),
	    cmocka_unit_test(test_bounds_cgroup1),
	    cmocka_unit_test(test_bounds_cgroup1_rt),
	    cmocka_unit_test(test_bounds_overloaded_cpu_stat),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
