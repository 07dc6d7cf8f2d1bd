#include "bounds.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define LIM_CG2_MAGIC  0x63677270 /* CGROUP2_SUPER_MAGIC */
#define LIM_PERIOD_US  100000
#define LIM_SLEEP_MAX  500000000ull
#define LIM_BUSY_PCT   90 /* a cgroup-held agent using this much of its share is saturated */
#define LIM_THROTTLED_PCT 20 /* throttled in this share of CPU periods: held back */
#define LIM_RT_PERIOD_US  1000000 /* cpu.rt_period_us when it can be neither set nor read: the kernel's default */

static int lim_write(const char *dir, const char *file, const char *val)
{
	char path[512];
	int fd, r = -1;
	size_t n = strlen(val);

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, val, n) == (ssize_t)n)
		r = 0;
	close(fd);
	return r;
}

static int lim_has(const char *dir, const char *file)
{
	char path[512];

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return 0;
	return access(path, W_OK) == 0;
}

static int lim_is_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == LIM_CG2_MAGIC;
}

const struct bounds_fs bounds_default_fs = {
    .root = "/sys/fs/cgroup",
    .self_cgroup = "/proc/self/cgroup",
    .is_cgroup2 = lim_is_cgroup2,
};

/* The v2 hierarchy: <root> (pure v2) or <root>/unified (hybrid), into buf. */
static const char *lim_cg2_root(const struct bounds_fs *fs, char *buf, size_t bufsz)
{
	if (fs->is_cgroup2(fs->root) && snprintf(buf, bufsz, "%s", fs->root) < (int)bufsz)
		return buf;
	if (snprintf(buf, bufsz, "%s/unified", fs->root) < (int)bufsz && fs->is_cgroup2(buf))
		return buf;
	return NULL;
}

/* Our current cgroup in a hierarchy, from /proc/self/cgroup: the line whose
 * controller list is ctl ("" for v2's "0::"). */
static int lim_self_cg(const struct bounds_fs *fs, const char *ctl, char *out, size_t outsz)
{
	char *text = NULL;
	size_t len, i = 0;
	int r = -1;

	if (util_read_file(fs->self_cgroup, 1 << 16, &text, &len))
		return -1;
	while (i < len) {
		size_t eol = i, c1, c2;
		while (eol < len && text[eol] != '\n')
			eol++;
		c1 = i;
		while (c1 < eol && text[c1] != ':')
			c1++;
		c2 = c1 + 1;
		while (c2 < eol && text[c2] != ':')
			c2++;
		if (c2 < eol) {
			size_t cl = c2 - c1 - 1;
			int match = 0;
			if (!*ctl) {
				match = cl == 0;
			} else {
				/* "cpu,cpuacct": any listed controller */
				size_t a = c1 + 1;
				while (a < c2 && !match) {
					size_t b = a;
					while (b < c2 && text[b] != ',')
						b++;
					match = b - a == strlen(ctl) && memcmp(text + a, ctl, b - a) == 0;
					a = b + 1;
				}
			}
			if (match && eol - c2 - 1 < outsz) {
				memcpy(out, text + c2 + 1, eol - c2 - 1);
				out[eol - c2 - 1] = 0;
				r = 0;
				break;
			}
		}
		i = eol + 1;
	}
	free(text);
	return r;
}

/* Deletes the yamori-agent.<pid> folders that agents gone without leaving
 * (SIGKILL, a crash, a power cut under a persistent hierarchy) left in home:
 * those of a pid no process has. rmdir refuses a cgroup that holds a task or
 * a child, so nothing in use goes; a pid reused since is left alone. Each
 * would keep its share of the parent's real-time runtime (lim_rt_budget). */
static void lim_sweep(const char *home)
{
	DIR *d = opendir(home);
	struct dirent *de;
	char path[512];
	uint64_t pid;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "yamori-agent.", 13) != 0 ||
		    util_parse_u64(de->d_name + 13, 1, INT32_MAX, &pid) || (pid_t)pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", home, de->d_name) < (int)sizeof(path) &&
		    rmdir(path) == 0)
			LOG_I("bounds", "removed %s (its agent is gone)", path);
	}
	closedir(d);
}

/* Creates yamori-agent.<pid> below the cgroup the agent was started in
 * (home), so it stays inside whatever its service manager (or container)
 * accounts it to. */
static int lim_make(const char *home, char *dir, size_t dirsz)
{
	lim_sweep(home);
	if (snprintf(dir, dirsz, "%s/yamori-agent.%d", home, (int)getpid()) >= (int)dirsz)
		return -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int lim_join(const char *dir)
{
	char pid[24];

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	return lim_write(dir, "cgroup.procs", pid);
}

static void lim_cgroup2(const struct bounds_cfg *cfg, struct bounds *l)
{
	char v[64], self[200], rootbuf[200];
	const char *root = lim_cg2_root(l->fs, rootbuf, sizeof(rootbuf));
	int cpu = 0, mem = 0;

	if (!root || lim_self_cg(l->fs, "", self, sizeof(self)) ||
	    snprintf(l->home2, sizeof(l->home2), "%s%s", root, self) >= (int)sizeof(l->home2))
		return;
	if (lim_make(l->home2, l->cg2, sizeof(l->cg2))) {
		l->cg2[0] = 0;
		return;
	}
	if (cfg->cpu_pct && lim_has(l->cg2, "cpu.max")) {
		snprintf(v, sizeof(v), "%u %u\n", cfg->cpu_pct * (LIM_PERIOD_US / 100),
			 LIM_PERIOD_US);
		cpu = lim_write(l->cg2, "cpu.max", v) == 0;
	}
	if (cfg->mem_max && lim_has(l->cg2, "memory.max")) {
		/* high throttles and reclaims; max is the hard stop above it */
		snprintf(v, sizeof(v), "%llu\n", (unsigned long long)(cfg->mem_max / 4 * 3));
		lim_write(l->cg2, "memory.high", v);
		snprintf(v, sizeof(v), "%llu\n", (unsigned long long)cfg->mem_max);
		mem = lim_write(l->cg2, "memory.max", v) == 0;
	}
	if ((cpu || mem) && lim_join(l->cg2) == 0) {
		if (cpu)
			util_strlcpy(l->cpu_how, "cgroup2", sizeof(l->cpu_how));
		if (mem)
			util_strlcpy(l->mem_how, "cgroup2", sizeof(l->mem_how));
		return;
	}
	rmdir(l->cg2);
	l->cg2[0] = 0;
}

/* With real-time group scheduling (CONFIG_RT_GROUP_SCHED: dir has
 * cpu.rt_runtime_us) a new v1 cpu cgroup gets no real-time runtime, and the
 * kernel refuses SCHED_FIFO to its tasks (EPERM): the netlink sensor's
 * capture thread (collect.c) lost its priority to the CPU bound, and with
 * it most command lines of short-lived processes. The group gets the
 * agent's share of the quota's period (100 ms, not the default 1 s: a
 * thread that used its runtime waits for the next period, and must not
 * wait most of a second while the kernel's message queue fills). A parent
 * without that much left refuses it: the thread then runs at normal
 * priority (W3606). */
static void lim_rt_budget(const char *dir, unsigned pct)
{
	char path[512], v[32], *text = NULL;
	uint64_t period = LIM_RT_PERIOD_US;
	size_t len;

	if (!pct || !lim_has(dir, "cpu.rt_runtime_us"))
		return;
	snprintf(v, sizeof(v), "%u", LIM_PERIOD_US);
	if (lim_write(dir, "cpu.rt_period_us", v) == 0) {
		period = LIM_PERIOD_US;
	} else if (snprintf(path, sizeof(path), "%s/cpu.rt_period_us", dir) < (int)sizeof(path) &&
		   util_read_file(path, 64, &text, &len) == 0) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = 0;
		if (util_parse_u64(text, 1, 1000000000ull, &period))
			period = LIM_RT_PERIOD_US;
		free(text);
	}
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(period / 100 * pct));
	if (lim_write(dir, "cpu.rt_runtime_us", v))
		LOG_I("bounds", "no real-time runtime for %s (%s): the capture thread may "
				"not get real-time priority", dir, strerror(errno));
}

/* mnt: the hierarchy's folder below the cgroup root ("cpu", "memory");
 * rt_pct: real-time runtime for the group (cpu only; 0: none) */
static void lim_cgroup1(const char *ctl, const char *mnt, struct bounds *l, char *dir,
			size_t dirsz, char *home, size_t homesz, const char *file, const char *val,
			unsigned rt_pct)
{
	char self[200], path[256];
	struct stat sb;

	if (snprintf(path, sizeof(path), "%s/%s", l->fs->root, mnt) >= (int)sizeof(path) ||
	    stat(path, &sb) < 0 || lim_self_cg(l->fs, ctl, self, sizeof(self)) ||
	    snprintf(home, homesz, "%s%s", path, self) >= (int)homesz)
		return;
	if (lim_make(home, dir, dirsz))
		goto fail;
	/* before the join: a task with real-time priority cannot enter a
	 * group without runtime */
	lim_rt_budget(dir, rt_pct);
	if (lim_write(dir, file, val) || lim_join(dir))
		goto fail;
	return;
fail:
	if (dir[0])
		rmdir(dir);
	dir[0] = 0;
}

void bounds_apply(const struct bounds_cfg *cfg, struct bounds *l)
{
	char v[64];
	struct timespec ts;

	memset(l, 0, sizeof(*l));
	util_strlcpy(l->cpu_how, "none", sizeof(l->cpu_how));
	util_strlcpy(l->mem_how, "none", sizeof(l->mem_how));
	l->cpu_pct = cfg->cpu_pct;
	l->fs = cfg->fs ? cfg->fs : &bounds_default_fs;
	lim_cgroup2(cfg, l);
	if (cfg->cpu_pct && strcmp(l->cpu_how, "none") == 0) {
		snprintf(v, sizeof(v), "%u", cfg->cpu_pct * (LIM_PERIOD_US / 100));
		lim_cgroup1("cpu", "cpu", l, l->cg1_cpu,
				    sizeof(l->cg1_cpu), l->home1_cpu, sizeof(l->home1_cpu),
				    "cpu.cfs_quota_us", v, cfg->cpu_pct);
		if (!l->cg1_cpu[0])
			lim_cgroup1("cpu", "cpu,cpuacct", l, l->cg1_cpu,
				    sizeof(l->cg1_cpu), l->home1_cpu, sizeof(l->home1_cpu),
				    "cpu.cfs_quota_us", v, cfg->cpu_pct);
		if (l->cg1_cpu[0])
			util_strlcpy(l->cpu_how, "cgroup1", sizeof(l->cpu_how));
	}
	if (cfg->mem_max && strcmp(l->mem_how, "none") == 0) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)cfg->mem_max);
		lim_cgroup1("memory", "memory", l, l->cg1_mem, sizeof(l->cg1_mem),
			    l->home1_mem, sizeof(l->home1_mem), "memory.limit_in_bytes", v, 0);
		if (l->cg1_mem[0])
			util_strlcpy(l->mem_how, "cgroup1", sizeof(l->mem_how));
	}
	if (cfg->cpu_pct && strcmp(l->cpu_how, "none") == 0)
		util_strlcpy(l->cpu_how, "self", sizeof(l->cpu_how));
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	l->last_cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	l->last_mono_ns = util_mono_ns();
	LOG_I("bounds", "cpu bound %u%% of a core via %s, memory bound %llu MiB via %s",
	      cfg->cpu_pct, l->cpu_how, (unsigned long long)(cfg->mem_max >> 20), l->mem_how);
}

/* CPU used since the last call against the share: *over_ns gets what went
 * past the share; returns whether more than at_pct percent of the share was
 * used. */
static int lim_measure(struct bounds *l, unsigned at_pct, uint64_t *over_ns)
{
	struct timespec ts;
	uint64_t cpu, now = util_mono_ns(), used, wall, allowed;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cpu = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	used = cpu - l->last_cpu_ns;
	wall = now - l->last_mono_ns;
	l->last_cpu_ns = cpu;
	l->last_mono_ns = now;
	allowed = wall / 100 * l->cpu_pct;
	*over_ns = used > allowed ? used - allowed : 0;
	return l->cpu_pct && used > allowed / 100 * at_pct;
}

/* nr_periods and nr_throttled from our cgroup's cpu.stat. Returns 0 or -1. */
static int lim_cpu_stat(const struct bounds *l, uint64_t *periods, uint64_t *throttled)
{
	const char *dir = l->cg2[0] ? l->cg2 : l->cg1_cpu;
	char path[300], buf[1024];
	int fd, got = 0;
	ssize_t n;

	if (!dir[0] || snprintf(path, sizeof(path), "%s/cpu.stat", dir) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		char *sp = strchr(line, ' ');
		uint64_t v;
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (!sp)
			continue;
		*sp = 0;
		if (util_parse_u64(sp + 1, 0, UINT64_MAX, &v) != 0)
			continue;
		if (strcmp(line, "nr_periods") == 0) {
			*periods = v;
			got |= 1;
		} else if (strcmp(line, "nr_throttled") == 0) {
			*throttled = v;
			got |= 2;
		}
	}
	return got == 3 ? 0 : -1;
}

int bounds_overloaded(struct bounds *l)
{
	uint64_t over, p = 0, t = 0;
	/* the cgroup holds the agent at its share: it is never seen above it,
	 * only at it, so nearly all of it counts */
	int busy = lim_measure(l, LIM_BUSY_PCT, &over), held = 0;

	if (lim_cpu_stat(l, &p, &t) == 0) {
		held = l->last_periods && p > l->last_periods && t >= l->last_throttled &&
		       (t - l->last_throttled) * 100 >= (p - l->last_periods) * LIM_THROTTLED_PCT;
		l->last_periods = p;
		l->last_throttled = t;
	}
	return busy || held;
}

int bounds_throttle(struct bounds *l)
{
	uint64_t over, sleep_ns;
	struct timespec d;

	if (!lim_measure(l, 100, &over))
		return 0;
	/* sleeping over * 100 / pct brings the average back to the share */
	sleep_ns = over / l->cpu_pct * 100;
	if (sleep_ns > LIM_SLEEP_MAX)
		sleep_ns = LIM_SLEEP_MAX;
	d.tv_sec = (time_t)(sleep_ns / 1000000000ull);
	d.tv_nsec = (long)(sleep_ns % 1000000000ull);
	nanosleep(&d, NULL);
	l->throttled_ns += sleep_ns;
	l->last_mono_ns = util_mono_ns();
	return 1;
}

static void lim_leave(char *dir, const char *home)
{
	if (!dir[0])
		return;
	if (home[0])
		lim_join(home);
	rmdir(dir);
	dir[0] = 0;
}

void bounds_release(struct bounds *l)
{
	lim_leave(l->cg2, l->home2);
	lim_leave(l->cg1_cpu, l->home1_cpu);
	lim_leave(l->cg1_mem, l->home1_mem);
}
