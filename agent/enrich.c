#include "enrich.h"
#include "ctrimage.h"
#include "err.h"
#include "hashcache.h"
#include "kpath.h"
#include "log.h"
#include "procinfo.h"
#include "proctable.h"
#include "util.h"

#include "bpf/proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <nettle/sha2.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EN_FORKMAP 4096 /* direct-mapped pid -> parent, for processes gone before /proc */
#define EN_USERS   64	/* user and group names kept */
/* an id the system named none is asked again after this long */
#define EN_NAME_RETRY_NS (10ull * 1000000000ull)

struct en_fork {
	int32_t pid, ppid;
};

/* a user's or a group's name; name[0] == 0: the system named none when
 * asked at tried_ns */
struct en_user {
	uint32_t id;
	uint8_t used, group;
	uint64_t tried_ns;
	char name[64];
};

struct enrich {
	struct enrich_cfg cfg;
	char boot_id[40];
	struct proctable *pt;
	struct hashcache *hc;
	struct ctrimage *ci; /* container images by id */
	struct procinfo pi;  /* the process */
	struct procinfo ppi; /* its parent, when read from /proc */
	struct en_fork forks[EN_FORKMAP];
	struct en_user users[EN_USERS];
	unsigned user_next;
	/* string storage for the event being built */
	char guid[ENRICH_GUID_LEN + 1], pguid[ENRICH_GUID_LEN + 1];
	char pid_s[24], ppid_s[24], uid_s[24], start_s[24], hashes[8 + 64 + 1];
	uint8_t hashes_sha[32]; /* the digest hashes holds, when hashes_set */
	int hashes_set;
	char euid_s[24], luid_s[24], sess_s[24], cg_s[24], code_s[24], sig_s[24];
	char a0_s[24], a1_s[24], a2_s[24], ret_s[24], cap_s[24], nr_s[24], tpid_s[24];
	char user[64], tuser[64], group[64], gid_s[24], egid_s[24];
	/* netlink mode's exec: from /proc (ctr: also the scan's, pctr: the
	 * parent's) */
	char tty[32], ctr[KPATH_ID_LEN + 1], pctr[KPATH_ID_LEN + 1];
	char stdio[24], stdio_ip[INET6_ADDRSTRLEN], stdio_port[24], stdio_lport[24];
	char ns_s[64], nsino_s[24];
	struct procinfo_ttydrv ttys[PROCINFO_TTY_DRIVERS]; /* /proc/tty/drivers */
	size_t nttys;
	int ttys_read; /* read at the first terminal met (netlink mode only) */
	char cmdline[PROCINFO_CMDLINE_MAX + 1]; /* /proc read of a long argv (bpf) */
	/* enrich_proc_fill's own storage: its strings live until its next call */
	struct procinfo fpi;
	char fguid[ENRICH_GUID_LEN + 1], fuid_s[16], fuser[64], fctr[KPATH_ID_LEN + 1];
	char kuser[64]; /* enrich_user_name's */
	struct enrich_stats st;
};

/* "00" "01" ... "99" */
static const char en_digits2[201] = "00010203040506070809101112131415161718192021222324252627282930"
				    "31323334353637383940414243444546474849505152535455565758596061"
				    "62636465666768697071727374757677787980818283848586878889909192"
				    "93949596979899";

/* Decimal digits of v into out (at least 21 bytes), NUL-terminated;
 * returns the length. The length first, then two digits a step straight
 * into place from the end: half the divisions of one digit a step, and no
 * copy of a scratch buffer just written (its reload stalled on the byte
 * stores). en_setu was 2 % of the agent's CPU under exec storms; snprintf
 * costs ~10 times as much per field. */
static size_t en_u64(char *out, uint64_t v)
{
	static const uint64_t p10[19] = {
	    10ull,
	    100ull,
	    1000ull,
	    10000ull,
	    100000ull,
	    1000000ull,
	    10000000ull,
	    100000000ull,
	    1000000000ull,
	    10000000000ull,
	    100000000000ull,
	    1000000000000ull,
	    10000000000000ull,
	    100000000000000ull,
	    1000000000000000ull,
	    10000000000000000ull,
	    100000000000000000ull,
	    1000000000000000000ull,
	    10000000000000000000ull,
	};
	size_t len = 1, n;

	while (len < 20 && v >= p10[len - 1])
		len++;
	n = len;
	out[n] = 0;
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		n -= 2;
		memcpy(out + n, en_digits2 + d, 2);
	}
	if (v >= 10)
		memcpy(out + n - 2, en_digits2 + v * 2, 2);
	else
		out[n - 1] = (char)('0' + v);
	return len;
}

/* "<boot_id>:<pid>:<start_time>" into in (at least 96 bytes); its length,
 * or 0 when it does not fit. */
static size_t en_guid_input(const char *boot_id, int32_t pid, uint64_t start_time, char *in)
{
	size_t bl = strnlen(boot_id, 64), n;

	if (bl >= 64)
		return 0;
	memcpy(in, boot_id, bl);
	n = bl;
	in[n++] = ':';
	if (pid < 0) {
		in[n++] = '-';
		n += en_u64(in + n, (uint64_t)(-(int64_t)pid));
	} else {
		n += en_u64(in + n, (uint64_t)pid);
	}
	in[n++] = ':';
	n += en_u64(in + n, start_time);
	return n;
}

/* 8-4-4-4-12 hex of the first 16 bytes of md */
static void en_guid_format(const uint8_t md[32], char out[ENRICH_GUID_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[md[i] >> 4];
		out[o++] = hx[md[i] & 15];
	}
	out[o] = 0;
}

/* The GUID's SHA-256 through nettle: one block, called once per process
 * between the storm's processes, so what its code and data take from the
 * caches matters more than its speed in a loop. Through OpenSSL's EVP
 * (provider dispatch, method tables) a digest measured 4.6-4.9 us with
 * the caches emptied before each (1.1-1.2 us here; 120 and 103 ns in a
 * loop), and the GUID was 12.5 % of the agent's CPU in an exec storm.
 * Same digest (nettle's sha256 is the standard one; a GUID is checked
 * against known values in tests/unit/agent/test_agent.c). */
int enrich_guid(const char *boot_id, int32_t pid, uint64_t start_time,
		char out[ENRICH_GUID_LEN + 1])
{
	char in[96];
	uint8_t md[SHA256_DIGEST_SIZE];
	struct sha256_ctx c;
	size_t n = en_guid_input(boot_id, pid, start_time, in);

	if (n == 0)
		return YM_E_CRYPTO;
	sha256_init(&c);
	sha256_update(&c, n, (const uint8_t *)in);
	sha256_digest(&c, sizeof(md), md);
	en_guid_format(md, out);
	return 0;
}

static int en_guid(struct enrich *en, int32_t pid, uint64_t start_time,
		   char out[ENRICH_GUID_LEN + 1])
{
	return enrich_guid(en->boot_id, pid, start_time, out);
}

/* the real uid /proc gave, for the process table */
static uint32_t en_pi_uid(const struct procinfo *pi)
{
	return (pi->have & PROCINFO_HAVE_IDS) ? pi->uid : PROCTABLE_UID_NONE;
}

/* The container of process pid read from /proc into buf, or NULL. */
static const char *en_proc_container(int32_t pid, char buf[KPATH_ID_LEN + 1])
{
	return procinfo_read_container(pid, buf) ? buf : NULL;
}

static void en_scan(struct enrich *en)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		uint64_t pid;
		char guid[ENRICH_GUID_LEN + 1];
		if (util_parse_u64(de->d_name, 1, INT32_MAX, &pid))
			continue;
		if (procinfo_read((int32_t)pid, &en->pi) || (en->pi.st.flags & PF_KTHREAD_FLAG) ||
		    !(en->pi.have & PROCINFO_HAVE_IMAGE))
			continue;
		if (en_guid(en, (int32_t)pid, en->pi.st.start_time, guid))
			continue;
		proctable_exec(en->pt, (int32_t)pid, en->pi.st.start_time, en->pi.st.ppid,
			       en_pi_uid(&en->pi), guid, en->pi.image, en->pi.image_len,
			       en->pi.cmdline, en->pi.cmdline_len,
			       en_proc_container((int32_t)pid, en->ctr), 0);
	}
	closedir(d);
}

int enrich_new(const struct enrich_cfg *cfg, struct enrich **out)
{
	struct enrich *en = NULL;
	char *boot = NULL;
	size_t len;
	int r = YM_E_NOMEM;

	en = calloc(1, sizeof(*en));
	if (!en)
		goto out;
	en->cfg = *cfg;
	r = util_read_file("/proc/sys/kernel/random/boot_id", 64, &boot, &len);
	if (r)
		goto out;
	while (len > 0 && (boot[len - 1] == '\n' || boot[len - 1] == ' '))
		boot[--len] = 0;
	r = YM_E_IO;
	if (len == 0 || len >= sizeof(en->boot_id))
		goto out;
	memcpy(en->boot_id, boot, len + 1);
	r = proctable_new(cfg->proc_max_entries, cfg->proc_max_bytes, cfg->proc_retain_ns, &en->pt);
	if (r)
		goto out;
	r = hashcache_new(cfg->hash_max_entries, cfg->hash_max_file, &en->hc);
	if (r)
		goto out;
	hashcache_set_fsjob(en->hc, cfg->fsj);
	r = ctrimage_new(cfg->container_root, &en->ci);
	if (r)
		goto out;
	en_scan(en);
	*out = en;
	en = NULL;
	r = 0;
out:
	free(boot);
	enrich_free(en);
	return r;
}

void enrich_free(struct enrich *en)
{
	if (!en)
		return;
	proctable_free(en->pt);
	hashcache_free(en->hc);
	ctrimage_free(en->ci);
	free(en);
}

/* The name of user (group 0) or group (1) id, or NULL: the last EN_USERS
 * asked are kept, and so is an id the system names none, asked again after
 * EN_NAME_RETRY_NS (a container's uid has no name on the host: before, each
 * of its events cost an NSS lookup, a read of /etc/passwd). The name stays
 * valid until the next call. */
static const char *en_name(struct enrich *en, int group, uint32_t id)
{
	char buf[4096];
	struct en_user *u = NULL;
	const char *name = NULL;
	uint64_t now;

	for (unsigned i = 0; i < EN_USERS; i++)
		if (en->users[i].used && en->users[i].id == id && en->users[i].group == group) {
			u = &en->users[i];
			break;
		}
	if (u && u->name[0])
		return u->name;
	now = util_mono_ns();
	if (u && now - u->tried_ns < EN_NAME_RETRY_NS)
		return NULL;
	if (group) {
		struct group gr, *res = NULL;

		if (getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &res) == 0 && res)
			name = gr.gr_name;
	} else {
		struct passwd pw, *res = NULL;

		if (getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &res) == 0 && res)
			name = pw.pw_name;
	}
	if (!u)
		u = &en->users[en->user_next++ % EN_USERS];
	u->used = 1;
	u->group = (uint8_t)(group != 0);
	u->id = id;
	u->tried_ns = now;
	util_strlcpy(u->name, name ? name : "", sizeof(u->name));
	return u->name[0] ? u->name : NULL;
}

/* Each name is set at most once per event here, so fields are appended
 * unchecked (event_add); the batcher checks the whole event before
 * encoding it. A failure only loses the field. */
static void en_set(struct event *ev, const char *name, const char *v, size_t len)
{
	if (event_add(ev, name, v, len))
		LOG_D("enrich", "field %s not set", name);
}

/* enrich_proc_fill adds to a family's event, which may hold the name */
static void en_set_chk(struct event *ev, const char *name, const char *v, size_t len)
{
	if (event_set(ev, name, v, len))
		LOG_D("enrich", "field %s not set", name);
}

static void en_setu(struct event *ev, const char *name, char *buf, size_t bufsz, uint64_t v)
{
	if (bufsz < 21) /* never here: en_u64 needs 21 bytes */
		return;
	en_set(ev, name, buf, en_u64(buf, v));
}

static void en_sets(struct event *ev, const char *name, char *buf, size_t bufsz, int64_t v)
{
	snprintf(buf, bufsz, "%lld", (long long)v);
	en_set(ev, name, buf, strlen(buf));
}

/* ContainerId of container id (borrowed by the event) and what its runtime
 * says of it: ContainerImage, ContainerName, PodName, PodNamespace; set by
 * set (en_set, or en_set_chk for a family's event) */
static void en_container(struct enrich *en, struct event *ev, const char *id,
			 void (*set)(struct event *, const char *, const char *, size_t))
{
	const struct ctrimage_info *in = ctrimage_get(en->ci, id, util_mono_ns());

	set(ev, "ContainerId", id, strlen(id));
	if (!in)
		return;
	if (in->image)
		set(ev, "ContainerImage", in->image, strlen(in->image));
	if (in->name)
		set(ev, "ContainerName", in->name, strlen(in->name));
	if (in->pod)
		set(ev, "PodName", in->pod, strlen(in->pod));
	if (in->pod_namespace)
		set(ev, "PodNamespace", in->pod_namespace, strlen(in->pod_namespace));
}

/* Hashes=SHA256=<hex>. A storm, a build or a shell loop execs the same few
 * programs: the text of the last digest is kept and not formatted again
 * (util_hex was ~2 % of the enrich + encode pipeline's instructions). */
static void en_hashes(struct enrich *en, struct event *ev, const uint8_t sha[32])
{
	if (!en->hashes_set || memcmp(sha, en->hashes_sha, 32) != 0) {
		memcpy(en->hashes, "SHA256=", 7);
		util_hex(sha, 32, en->hashes + 7);
		memcpy(en->hashes_sha, sha, 32);
		en->hashes_set = 1;
	}
	en_set(ev, "Hashes", en->hashes, 7 + 64);
}

/* Hash of the executable the kernel named (dev, ino, size, times): from the
 * cache without a system call, else read through /proc/PID/exe or the path
 * when either still is that very file. */
static int en_hash_k(struct enrich *en, int32_t pid, const struct sensor_kinfo *k,
		     uint8_t sha[32], int *hit)
{
	struct hashcache_id id = {
	    .dev = k->exe_dev,
	    .ino = k->exe_ino,
	    .size = k->exe_size,
	    .mtime_s = k->exe_mtime_s,
	    .mtime_ns = k->exe_mtime_ns,
	    .ctime_s = k->exe_ctime_s,
	    .ctime_ns = k->exe_ctime_ns,
	};
	char exe[64];

	if (hashcache_lookup(en->hc, &id, sha) == 0) {
		*hit = 1;
		return 0;
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	if (hashcache_path_id(en->hc, exe, &id, sha, hit) == 0)
		return 0;
	if (k->image && !k->image_deleted && hashcache_path_id(en->hc, k->image, &id, sha, hit) == 0)
		return 0;
	return YM_E_NOTFOUND;
}

/* en_name's answer copied into dst (the cache's slot may be reused by the
 * event's next name), or NULL */
static const char *en_name_copy(struct enrich *en, int group, uint32_t id, char *dst, size_t dstsz)
{
	const char *n = en_name(en, group, id);

	if (!n)
		return NULL;
	util_strlcpy(dst, n, dstsz);
	return dst;
}

/* UserId and User of uid, in en's uid_s and user */
static void en_user_fields(struct enrich *en, struct event *ev, uint32_t uid)
{
	const char *u = en_name_copy(en, 0, uid, en->user, sizeof(en->user));

	en_setu(ev, "UserId", en->uid_s, sizeof(en->uid_s), uid);
	if (u)
		en_set(ev, "User", u, strlen(u));
}

/* GroupId and Group of gid, in en's gid_s and group */
static void en_group_fields(struct enrich *en, struct event *ev, uint32_t gid)
{
	const char *g = en_name_copy(en, 1, gid, en->group, sizeof(en->group));

	en_setu(ev, "GroupId", en->gid_s, sizeof(en->gid_s), gid);
	if (g)
		en_set(ev, "Group", g, strlen(g));
}

/* LoginUid and SessionId, each when set (UINT32_MAX: unset) */
static void en_login_fields(struct enrich *en, struct event *ev, uint32_t loginuid,
			    uint32_t sessionid)
{
	if (loginuid != UINT32_MAX)
		en_setu(ev, "LoginUid", en->luid_s, sizeof(en->luid_s), loginuid);
	if (sessionid != UINT32_MAX)
		en_setu(ev, "SessionId", en->sess_s, sizeof(en->sess_s), sessionid);
}

/* A program started with TCP or UDP sockets for stdin, stdout or stderr
 * (bpf): which, and the connection (the first of them): a shell whose
 * input and output are a connection is a reverse or bind shell, however it
 * was set up (nc -e, a script's dup2, bash's /dev/tcp). Else, started on a
 * pseudo-terminal by a parent whose are: the same of the parent, as
 * ParentStdio* (a reverse shell's "upgrade": python's pty.spawn, script) */
static void en_stdio(struct enrich *en, struct event *ev, const struct sensor_kinfo *k)
{
	static const char *const names[3] = {"stdin", "stdout", "stderr"};
	static const char *const own[5] = {"StdioSocket", "StdioProtocol", "StdioRemoteIp",
					   "StdioRemotePort", "StdioLocalPort"};
	static const char *const parent[5] = {"ParentStdioSocket", "ParentStdioProtocol",
					      "ParentStdioRemoteIp", "ParentStdioRemotePort",
					      "ParentStdioLocalPort"};
	unsigned bits = k->stdio_inet & 7u;
	const char *const *f = own;
	size_t n = 0;

	if (bits == 0) {
		bits = (k->stdio_inet >> PROC_STDIO_PARENT_SHIFT) & 7u;
		f = parent;
	}
	en->stdio[0] = '\0';
	for (int i = 0; i < 3; i++) {
		if (!(bits & (1u << i)))
			continue;
		n += (size_t)snprintf(en->stdio + n, sizeof(en->stdio) - n, "%s%s", n ? "," : "",
				      names[i]);
	}
	en_set(ev, f[0], en->stdio, n);
	if (k->stdio_proto == IPPROTO_TCP || k->stdio_proto == IPPROTO_UDP)
		en_set(ev, f[1], k->stdio_proto == IPPROTO_TCP ? "tcp" : "udp", 3);
	if ((k->stdio_af == AF_INET || k->stdio_af == AF_INET6) &&
	    inet_ntop(k->stdio_af, k->stdio_raddr, en->stdio_ip, sizeof(en->stdio_ip)))
		en_set(ev, f[2], en->stdio_ip, strlen(en->stdio_ip));
	if (k->stdio_rport)
		en_setu(ev, f[3], en->stdio_port, sizeof(en->stdio_port), k->stdio_rport);
	if (k->stdio_lport)
		en_setu(ev, f[4], en->stdio_lport, sizeof(en->stdio_lport), k->stdio_lport);
}

/* process_creation from what the eBPF sensor read in the kernel */
static int en_exec_k(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	const struct sensor_kinfo *k = m->k;
	const struct proc_entry *pe;
	const char *cmd = k->cmdline;
	size_t cmd_len = k->cmdline_len;
	uint8_t sha[32];
	int hit = 0;

	/* argv beyond the kernel-side bound: /proc has more, if the process
	 * still is the one that exec'd */
	if (k->cmdline_truncated) {
		struct procstat st;
		char path[64];
		size_t n = 0;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)m->pid);
		if (procinfo_read_stat(m->pid, &st) == 0 && st.start_time == k->start_time &&
		    procinfo_slurp_file(path, en->cmdline, PROCINFO_CMDLINE_MAX, &n) == 0 &&
		    n > cmd_len) {
			cmd_len = procinfo_join_cmdline(en->cmdline, n);
			cmd = en->cmdline;
		}
	}
	event_init(ev);
	ev->product = "linux";
	ev->category = EVCAT_PROCESS_CREATION;
	ev->ts_ns = m->ts_ns;
	en_setu(ev, "ProcessId", en->pid_s, sizeof(en->pid_s), (uint64_t)m->pid);
	if (k->image_len)
		en_set(ev, "Image", k->image, k->image_len);
	if (cmd && cmd_len)
		en_set(ev, "CommandLine", cmd, cmd_len);
	if (k->cwd_len)
		en_set(ev, "CurrentDirectory", k->cwd, k->cwd_len);
	en_user_fields(en, ev, k->uid);
	if (k->euid != k->uid)
		en_setu(ev, "EffectiveUserId", en->euid_s, sizeof(en->euid_s), k->euid);
	en_group_fields(en, ev, k->gid);
	if (k->egid != k->gid) /* a setgid program */
		en_setu(ev, "EffectiveGroupId", en->egid_s, sizeof(en->egid_s), k->egid);
	en_login_fields(en, ev, k->loginuid, k->sessionid);
	if (k->tty)
		en_set(ev, "Tty", k->tty, strlen(k->tty));
	if (k->stdio_inet)
		en_stdio(en, ev, k);
	if (k->cgroup_id)
		en_setu(ev, "CgroupId", en->cg_s, sizeof(en->cg_s), k->cgroup_id);
	if (k->container_id)
		en_container(en, ev, k->container_id, en_set);
	if (k->image_memfd)
		en_set(ev, "ExecFromMemory", "true", 4);
	else if (k->image_deleted)
		en_set(ev, "ImageDeleted", "true", 4);
	en_setu(ev, "ProcessStartTime", en->start_s, sizeof(en->start_s), k->start_time);
	/* the GUID of (pid, start time) is the fork's, when the table saw it */
	pe = proctable_find(en->pt, m->pid, k->start_time);
	if (pe && pe->start_time == k->start_time &&
	    strnlen(pe->guid, sizeof(en->guid)) == ENRICH_GUID_LEN) {
		memcpy(en->guid, pe->guid, ENRICH_GUID_LEN + 1);
		en_set(ev, "ProcessGuid", en->guid, ENRICH_GUID_LEN);
	} else if (en_guid(en, m->pid, k->start_time, en->guid) == 0) {
		en_set(ev, "ProcessGuid", en->guid, ENRICH_GUID_LEN);
	} else {
		en->guid[0] = 0;
	}
	if ((k->have & SENSOR_K_EXE_ID) && en_hash_k(en, m->pid, k, sha, &hit) == 0) {
		en_hashes(en, ev, sha);
	}
	/* before the parent lookup: see en_exec */
	proctable_exec(en->pt, m->pid, k->start_time, m->ppid, k->uid, en->guid,
		       k->image ? k->image : "", k->image_len, cmd ? cmd : "", cmd ? cmd_len : 0,
		       k->container_id, m->ts_ns);
	if (m->ppid > 0) {
		en_setu(ev, "ParentProcessId", en->ppid_s, sizeof(en->ppid_s), (uint64_t)m->ppid);
		/* the kernel named the parent exactly (pid, start time); the
		 * table has its GUID when it saw the parent start */
		pe = proctable_find(en->pt, m->ppid, k->start_time);
		if (pe && pe->start_time == k->parent_start_time &&
		    strnlen(pe->guid, sizeof(en->pguid)) == ENRICH_GUID_LEN) {
			memcpy(en->pguid, pe->guid, ENRICH_GUID_LEN + 1);
			en_set(ev, "ParentProcessGuid", en->pguid, ENRICH_GUID_LEN);
		} else if (en_guid(en, m->ppid, k->parent_start_time, en->pguid) == 0) {
			en_set(ev, "ParentProcessGuid", en->pguid, ENRICH_GUID_LEN);
		}
		if (pe && pe->start_time == k->parent_start_time) {
			en->st.parent_from_table++;
			if (pe->image_len)
				en_set(ev, "ParentImage", pe->image, pe->image_len);
			if (pe->cmdline_len)
				en_set(ev, "ParentCommandLine", pe->cmdline, pe->cmdline_len);
		} else if (procinfo_read(m->ppid, &en->ppi) == 0 &&
			   en->ppi.st.start_time == k->parent_start_time) {
			en->st.parent_from_proc++;
			if (en->ppi.have & PROCINFO_HAVE_IMAGE)
				en_set(ev, "ParentImage", en->ppi.image, en->ppi.image_len);
			if ((en->ppi.have & PROCINFO_HAVE_CMDLINE) && en->ppi.cmdline_len)
				en_set(ev, "ParentCommandLine", en->ppi.cmdline,
				       en->ppi.cmdline_len);
			/* no put: the event borrows ppi, and ppi outlives it */
		}
	}
	if (!(k->have & SENSOR_K_CMDLINE) || !k->image_len)
		en->st.partial++;
	en->st.exec_events++;
	return 1;
}

/* The name of terminal tty_nr into en->tty (its length; 0: unknown), from
 * /proc/tty/drivers, read once at the first terminal met: only the netlink
 * mode needs it (the bpf mode has the kernel's name); a missing file leaves
 * Tty out. */
static size_t en_tty_name(struct enrich *en, uint32_t tty_nr)
{
	if (!en->ttys_read) {
		char *text = NULL;
		size_t tlen;

		en->ttys_read = 1;
		if (util_read_file("/proc/tty/drivers", 65536, &text, &tlen) == 0) {
			en->nttys =
			    procinfo_parse_tty_drivers(text, tlen, en->ttys, PROCINFO_TTY_DRIVERS);
			free(text);
		}
	}
	return procinfo_tty_name(en->ttys, en->nttys, tty_nr, en->tty, sizeof(en->tty));
}

static int en_exec(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	struct procinfo *pi = &en->pi;
	const struct proc_entry *pe = NULL;
	int32_t ppid = 0;
	uint64_t start = UINT64_MAX;
	const char *ctr = NULL;
	char exe[64];
	uint8_t sha[32];
	uint32_t luid, sess;

	if (m->k)
		return en_exec_k(en, m, ev);
	procinfo_read(m->pid, pi);
	if (pi->have & PROCINFO_HAVE_STAT) {
		ppid = pi->st.ppid;
		start = pi->st.start_time;
	} else {
		struct en_fork *f = &en->forks[(uint32_t)m->pid % EN_FORKMAP];
		if (f->pid == m->pid)
			ppid = f->ppid;
	}
	if ((pi->have & (PROCINFO_HAVE_STAT | PROCINFO_HAVE_IMAGE | PROCINFO_HAVE_CMDLINE)) !=
	    (PROCINFO_HAVE_STAT | PROCINFO_HAVE_IMAGE | PROCINFO_HAVE_CMDLINE))
		en->st.partial++;
	event_init(ev);
	ev->product = "linux";
	ev->category = EVCAT_PROCESS_CREATION;
	ev->ts_ns = m->ts_ns;
	snprintf(en->pid_s, sizeof(en->pid_s), "%d", (int)m->pid);
	en_set(ev, "ProcessId", en->pid_s, strlen(en->pid_s));
	if (pi->have & PROCINFO_HAVE_IMAGE)
		en_set(ev, "Image", pi->image, pi->image_len);
	/* a zombie's cmdline reads empty: no value is better than a false one */
	if ((pi->have & PROCINFO_HAVE_CMDLINE) && pi->cmdline_len)
		en_set(ev, "CommandLine", pi->cmdline, pi->cmdline_len);
	if (pi->have & PROCINFO_HAVE_CWD)
		en_set(ev, "CurrentDirectory", pi->cwd, pi->cwd_len);
	if (pi->have & PROCINFO_HAVE_IDS) {
		en_user_fields(en, ev, pi->uid);
		if (pi->euid != pi->uid)
			en_setu(ev, "EffectiveUserId", en->euid_s, sizeof(en->euid_s), pi->euid);
		en_group_fields(en, ev, pi->gid);
		if (pi->egid != pi->gid)
			en_setu(ev, "EffectiveGroupId", en->egid_s, sizeof(en->egid_s), pi->egid);
	}
	if ((pi->have & PROCINFO_HAVE_STAT) && pi->st.tty_nr != 0 &&
	    en_tty_name(en, pi->st.tty_nr) > 0)
		en_set(ev, "Tty", en->tty, strlen(en->tty));
	/* the container: /proc/PID/cgroup, every hierarchy (the bpf mode reads
	 * the v2 one's), read right after the files above */
	if ((pi->have & PROCINFO_HAVE_STAT) && (ctr = en_proc_container(m->pid, en->ctr)) != NULL)
		en_container(en, ev, ctr, en_set);
	/* the login session, read last of the process's files: the ones
	 * above say more of a process that may be gone any moment */
	if ((pi->have & PROCINFO_HAVE_STAT) && procinfo_read_login(m->pid, &luid, &sess) == 0)
		en_login_fields(en, ev, luid, sess);
	if (pi->have & PROCINFO_HAVE_STAT) {
		snprintf(en->start_s, sizeof(en->start_s), "%llu",
			 (unsigned long long)pi->st.start_time);
		en_set(ev, "ProcessStartTime", en->start_s, strlen(en->start_s));
		if (en_guid(en, m->pid, pi->st.start_time, en->guid) == 0)
			en_set(ev, "ProcessGuid", en->guid, ENRICH_GUID_LEN);
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)m->pid);
	if (pi->have & PROCINFO_HAVE_IMAGE) {
		int hit = 0;
		if (hashcache_path(en->hc, exe, sha, &hit) == 0) {
			en_hashes(en, ev, sha);
			if (hit)
				en->st.hash_hits++;
			else
				en->st.hash_misses++;
		}
	}
	/* Remember it, so its children and its exit can name it. This comes
	 * before the parent lookup: the event may borrow the parent's strings
	 * from the table, and no put may run after that. */
	if (pi->have & PROCINFO_HAVE_STAT)
		proctable_exec(en->pt, m->pid, pi->st.start_time, ppid, en_pi_uid(pi), en->guid,
			       pi->image, pi->image_len, pi->cmdline, pi->cmdline_len, ctr,
			       m->ts_ns);
	if (ppid > 0) {
		snprintf(en->ppid_s, sizeof(en->ppid_s), "%d", (int)ppid);
		en_set(ev, "ParentProcessId", en->ppid_s, strlen(en->ppid_s));
		pe = proctable_find(en->pt, ppid, start);
		if (pe) {
			en->st.parent_from_table++;
			if (pe->image_len)
				en_set(ev, "ParentImage", pe->image, pe->image_len);
			if (pe->cmdline_len)
				en_set(ev, "ParentCommandLine", pe->cmdline, pe->cmdline_len);
			if (pe->guid[0])
				en_set(ev, "ParentProcessGuid", pe->guid, strlen(pe->guid));
		} else if (procinfo_read(ppid, &en->ppi) == 0 && en->ppi.st.start_time <= start) {
			en->st.parent_from_proc++;
			if (en->ppi.have & PROCINFO_HAVE_IMAGE)
				en_set(ev, "ParentImage", en->ppi.image, en->ppi.image_len);
			if ((en->ppi.have & PROCINFO_HAVE_CMDLINE) && en->ppi.cmdline_len)
				en_set(ev, "ParentCommandLine", en->ppi.cmdline,
				       en->ppi.cmdline_len);
			if (en_guid(en, ppid, en->ppi.st.start_time, en->pguid) == 0)
				en_set(ev, "ParentProcessGuid", en->pguid, ENRICH_GUID_LEN);
			/* (the event's ContainerId is in en->ctr, read
			 * already: the parent's goes in the table only) */
			if (en->ppi.have & PROCINFO_HAVE_IMAGE)
				proctable_exec(en->pt, ppid, en->ppi.st.start_time, en->ppi.st.ppid,
					       en_pi_uid(&en->ppi), en->pguid, en->ppi.image,
					       en->ppi.image_len, en->ppi.cmdline,
					       en->ppi.cmdline_len,
					       en_proc_container(ppid, en->pctr), 0);
		}
	}
	en->st.exec_events++;
	return 1;
}

/* A forked child runs its parent's image until it execs (subshells never
 * do): it enters the table with the parent's image and command line, so its
 * own children can name it. Parents the table does not know are not read. */
static void en_fork(struct enrich *en, const struct sensor_msg *m)
{
	const struct proc_entry *pe;
	struct procstat st;
	char guid[ENRICH_GUID_LEN + 1];

	en->forks[(uint32_t)m->pid % EN_FORKMAP].pid = m->pid;
	en->forks[(uint32_t)m->pid % EN_FORKMAP].ppid = m->ppid;
	pe = proctable_find(en->pt, m->ppid, UINT64_MAX);
	if (!pe || pe->exit_ns)
		return;
	if (m->k) {
		/* the kernel said who forked whom, and when */
		if (pe->start_time != m->k->parent_start_time)
			return;
		st.start_time = m->k->start_time;
	} else if (procinfo_read_stat(m->pid, &st) || st.ppid != m->ppid) {
		return;
	}
	if (en_guid(en, m->pid, st.start_time, guid))
		return;
	/* the child runs its parent's program: their strings are shared */
	proctable_put_fork(en->pt, m->pid, st.start_time, m->ppid, guid, pe);
}

static int en_exit(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	const struct proc_entry *pe = proctable_exit(en->pt, m->pid, util_mono_ns(), m->ts_ns);

	/* a child that shared its parent's memory has no fork record
	 * (proc.bpf.c); one that never exec'd enters the table now, as its
	 * fork would have made it (the same entry: the parent's image) */
	if (!pe && m->k && m->k->never_execd) {
		const struct proc_entry *x = proctable_find(en->pt, m->pid, m->k->start_time);

		if (x && x->start_time == m->k->start_time)
			return 0; /* its exit came before */
		en_fork(en, m);
		pe = proctable_exit(en->pt, m->pid, util_mono_ns(), m->ts_ns);
	}
	if (!pe || !en->cfg.termination)
		return 0;
	event_init(ev);
	ev->product = "linux";
	ev->category = EVCAT_PROCESS_TERMINATION;
	ev->ts_ns = m->ts_ns;
	en_setu(ev, "ProcessId", en->pid_s, sizeof(en->pid_s), (uint64_t)m->pid);
	if (pe->image_len)
		en_set(ev, "Image", pe->image, pe->image_len);
	if (pe->guid[0]) {
		memcpy(en->guid, pe->guid, sizeof(en->guid));
		en_set(ev, "ProcessGuid", en->guid, strlen(en->guid));
	}
	if (pe->ppid > 0)
		en_setu(ev, "ParentProcessId", en->ppid_s, sizeof(en->ppid_s), (uint64_t)pe->ppid);
	if (pe->uid != PROCTABLE_UID_NONE)
		en_user_fields(en, ev, pe->uid);
	if (pe->container_id)
		en_container(en, ev, pe->container_id, en_set);
	/* wait(2) status: exit code in bits 8..15, or the killing signal */
	if (m->exit_code & 0x7f)
		en_setu(ev, "ExitSignal", en->sig_s, sizeof(en->sig_s), m->exit_code & 0x7f);
	else
		en_setu(ev, "ExitCode", en->code_s, sizeof(en->code_s), (m->exit_code >> 8) & 0xff);
	en->st.exit_events++;
	return 1;
}

static const char *en_sys_name(uint32_t nr)
{
	static const struct {
		int nr;
		const char *name;
	} calls[] = {PROC_CALLS};

	if (nr == PROC_NR_CLONE) /* told by the fork program, not a watched call */
		return "clone";
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (calls[i].nr == (int)nr)
			return calls[i].name;
	return "unknown";
}

/* the inode of /proc/PID/ns/NAME (pid 0: the agent's own, which runs in
 * the host's namespaces), or 0 */
static uint64_t en_ns_ino(int32_t pid, const char *name)
{
	char p[64];
	struct stat st;

	if (pid)
		snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)pid, name);
	else
		snprintf(p, sizeof(p), "/proc/self/ns/%s", name);
	return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* namespace types by their CLONE_NEW* flag */
static const struct {
	uint64_t flag;
	const char *name;
} en_ns_types[] = {{0x00020000, "mnt"}, {0x02000000, "cgroup"}, {0x04000000, "uts"},
		   {0x08000000, "ipc"}, {0x10000000, "user"},	{0x20000000, "pid"},
		   {0x40000000, "net"}, {0x00000080, "time"}};
#define EN_NS_TYPES (sizeof(en_ns_types) / sizeof(en_ns_types[0]))

/* The names of the namespace types in CLONE_NEW* flags, comma-separated,
 * into en->ns_s (its length) */
static size_t en_ns_list(struct enrich *en, uint64_t flags)
{
	size_t n = 0;

	en->ns_s[0] = '\0';
	for (size_t i = 0; i < EN_NS_TYPES; i++) {
		int w;

		if (!(flags & en_ns_types[i].flag))
			continue;
		w = snprintf(en->ns_s + n, sizeof(en->ns_s) - n, "%s%s", n ? "," : "",
			     en_ns_types[i].name);
		if (w > 0 && (size_t)w < sizeof(en->ns_s) - n)
			n += (size_t)w;
	}
	return n;
}

/* unshare, clone (bpf): the namespaces made, Namespace (their types); a
 * clone's child, TargetProcessId */
static void en_unshare(struct enrich *en, struct event *ev, const struct sensor_kinfo *k)
{
	size_t n = en_ns_list(en, k->sys_args[0]);

	if (n)
		en_set(ev, "Namespace", en->ns_s, n);
	if (k->sys_nr == PROC_NR_CLONE && k->sys_ret > 0)
		en_setu(ev, "TargetProcessId", en->tpid_s, sizeof(en->tpid_s),
			(uint64_t)k->sys_ret);
}

/* setns (bpf): the namespace joined, Namespace (its type: mnt, net...;
 * through a pidfd, the types asked for) with NamespaceInode, or
 * TargetProcessId for a pidfd; NamespaceOfHost: whether it is the host's
 * (the agent's own), which a process in a container joining it is leaving
 * the container for the host (nsenter -t 1) */
static void en_setns(struct enrich *en, struct event *ev, const struct sensor_kinfo *k)
{
	int host = -1; /* unknown */

	if (!k->bpf_name || !k->bpf_name[0])
		return;
	if (strcmp(k->bpf_name, "pidfd") == 0) {
		int32_t tpid = (int32_t)(k->sys_args[2] & 0x7fffffff);
		size_t n = en_ns_list(en, k->sys_args[1]);

		en_setu(ev, "TargetProcessId", en->tpid_s, sizeof(en->tpid_s), (uint32_t)tpid);
		for (size_t i = 0; i < EN_NS_TYPES; i++) {
			uint64_t a, b;

			if (!(k->sys_args[1] & en_ns_types[i].flag))
				continue;
			a = en_ns_ino(tpid, en_ns_types[i].name);
			b = en_ns_ino(0, en_ns_types[i].name);
			if (a && b)
				host = (host != 0 && a == b) ? 1 : 0;
		}
		if (n)
			en_set(ev, "Namespace", en->ns_s, n);
	} else {
		uint64_t b = en_ns_ino(0, k->bpf_name);

		util_strlcpy(en->ns_s, k->bpf_name, sizeof(en->ns_s));
		en_set(ev, "Namespace", en->ns_s, strlen(en->ns_s));
		en_setu(ev, "NamespaceInode", en->nsino_s, sizeof(en->nsino_s), k->sys_args[2]);
		if (b)
			host = b == k->sys_args[2];
	}
	if (host >= 0)
		en_set(ev, "NamespaceOfHost", host ? "true" : "false", host ? 4 : 5);
}

/* The acting process: Image, CommandLine, ProcessGuid from the table (the
 * process exec'd or forked while the agent watched), else /proc. */
static void en_actor(struct enrich *en, const struct sensor_msg *m, struct event *ev,
		     const char *pfx_image, const char *pfx_pid, const char *pfx_guid)
{
	const struct sensor_kinfo *k = m->k;
	const struct proc_entry *pe = proctable_find(en->pt, m->pid, k->start_time);

	en_setu(ev, pfx_pid, en->pid_s, sizeof(en->pid_s), (uint64_t)m->pid);
	if (en_guid(en, m->pid, k->start_time, en->guid) == 0)
		en_set(ev, pfx_guid, en->guid, ENRICH_GUID_LEN);
	if (pe && pe->start_time == k->start_time) {
		if (pe->image_len)
			en_set(ev, pfx_image, pe->image, pe->image_len);
		if (pe->cmdline_len && strcmp(pfx_image, "Image") == 0)
			en_set(ev, "CommandLine", pe->cmdline, pe->cmdline_len);
		if (pe->container_id) /* the actor's */
			en_container(en, ev, pe->container_id, en_set);
	} else if (procinfo_read(m->pid, &en->pi) == 0 && en->pi.st.start_time == k->start_time) {
		if (en->pi.have & PROCINFO_HAVE_IMAGE)
			en_set(ev, pfx_image, en->pi.image, en->pi.image_len);
		if ((en->pi.have & PROCINFO_HAVE_CMDLINE) && en->pi.cmdline_len &&
		    strcmp(pfx_image, "Image") == 0)
			en_set(ev, "CommandLine", en->pi.cmdline, en->pi.cmdline_len);
	}
}

static int en_sys(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	const struct sensor_kinfo *k = m->k;
	const char *u;

	if (!k)
		return 0;
	event_init(ev);
	ev->product = "linux";
	ev->ts_ns = m->ts_ns;
	en_set(ev, "Syscall", en_sys_name(k->sys_nr), strlen(en_sys_name(k->sys_nr)));
	en_sets(ev, "Result", en->ret_s, sizeof(en->ret_s), k->sys_ret);
	/* a compat call: a 32-bit program's, or int 0x80 from 64-bit code */
	if (k->sys_abi == SENSOR_ABI_IA32)
		en_set(ev, "SyscallAbi", "ia32", 4);
	else if (k->sys_abi == SENSOR_ABI_INT80)
		en_set(ev, "SyscallAbi", "int80", 5);
	u = en_name_copy(en, 0, k->uid, en->user, sizeof(en->user));
	switch (m->type) {
	case SENSOR_MSG_PRIV:
		/* the process's later events name its new user */
		(void)proctable_set_uid(en->pt, m->pid, k->uid);
		ev->category = EVCAT_PRIVILEGE_CHANGE;
		en_set(ev, "EventType", "privilege_change", 16);
		en_actor(en, m, ev, "Image", "ProcessId", "ProcessGuid");
		/* credentials after the call */
		en_setu(ev, "UserId", en->uid_s, sizeof(en->uid_s), k->uid);
		if (u)
			en_set(ev, "User", u, strlen(u));
		en_setu(ev, "EffectiveUserId", en->euid_s, sizeof(en->euid_s), k->euid);
		en_group_fields(en, ev, k->gid);
		en_setu(ev, "EffectiveGroupId", en->egid_s, sizeof(en->egid_s), k->egid);
		snprintf(en->cap_s, sizeof(en->cap_s), "%016llx", (unsigned long long)k->cap_eff);
		en_set(ev, "CapEffective", en->cap_s, strlen(en->cap_s));
		en_sets(ev, "SyscallArg0", en->a0_s, sizeof(en->a0_s), (int64_t)k->sys_args[0]);
		en_sets(ev, "SyscallArg1", en->a1_s, sizeof(en->a1_s), (int64_t)k->sys_args[1]);
		en_sets(ev, "SyscallArg2", en->a2_s, sizeof(en->a2_s), (int64_t)k->sys_args[2]);
		if (k->sys_nr == PROC_NR_SETNS)
			en_setns(en, ev, k);
		else if (k->sys_nr == PROC_NR_UNSHARE || k->sys_nr == PROC_NR_CLONE)
			en_unshare(en, ev, k);
		break;
	case SENSOR_MSG_PTRACE: {
		const struct proc_entry *te;
		int32_t tpid;
		ev->category = EVCAT_PROCESS_ACCESS;
		en_set(ev, "EventType", "process_access", 14);
		en_actor(en, m, ev, "SourceImage", "SourceProcessId", "SourceProcessGuid");
		if (u)
			en_set(ev, "SourceUser", u, strlen(u));
		if (k->sys_nr == PROC_NR_VM_READV || k->sys_nr == PROC_NR_VM_WRITEV) {
			/* process_vm_readv/writev(pid, ...); Result: the bytes
			 * moved, or the error (attempts count) */
			const char *acc =
			    k->sys_nr == PROC_NR_VM_READV ? "PROCESS_VM_READ" : "PROCESS_VM_WRITE";

			tpid = (int32_t)(k->sys_args[0] & 0x7fffffff);
			en_set(ev, "GrantedAccess", acc, strlen(acc));
		} else if (k->sys_nr == PROC_NR_OPEN || k->sys_nr == PROC_NR_OPENAT ||
			   k->sys_nr == PROC_NR_OPENAT2) {
			/* an open of another process's /proc/PID/mem: its
			 * thread group, the file's access (read 1, write 2),
			 * the thread named by the path; Result: the descriptor */
			static const char *const acc[4] = {"", "PROCESS_VM_READ",
							   "PROCESS_VM_WRITE",
							   "PROCESS_VM_READ|PROCESS_VM_WRITE"};

			tpid = (int32_t)(k->sys_args[0] & 0x7fffffff);
			if (k->sys_args[1] & 3)
				en_set(ev, "GrantedAccess", acc[k->sys_args[1] & 3],
				       strlen(acc[k->sys_args[1] & 3]));
			if (k->sys_args[2] != k->sys_args[0])
				en_setu(ev, "TargetThreadId", en->a2_s, sizeof(en->a2_s),
					(uint32_t)k->sys_args[2]);
		} else {
			tpid = (int32_t)(k->sys_args[1] & 0x7fffffff);
			en_set(ev, "GrantedAccess",
			       k->sys_args[0] == 16 ? "PTRACE_ATTACH" : "PTRACE_SEIZE",
			       13 - (k->sys_args[0] == 16 ? 0 : 1));
		}
		en_setu(ev, "TargetProcessId", en->tpid_s, sizeof(en->tpid_s), (uint32_t)tpid);
		te = proctable_find(en->pt, tpid, UINT64_MAX);
		if (te && !te->exit_ns) {
			if (te->image_len)
				en_set(ev, "TargetImage", te->image, te->image_len);
			if (te->guid[0])
				en_set(ev, "TargetProcessGuid", te->guid, strlen(te->guid));
		} else if (tpid > 0 && procinfo_read(tpid, &en->ppi) == 0) {
			/* not in the table (started before the agent and gone
			 * from it, or a child sharing its parent's memory, whose
			 * fork the sensor does not send): a traced process is
			 * stopped, so /proc still shows it */
			if (en->ppi.have & PROCINFO_HAVE_IMAGE)
				en_set(ev, "TargetImage", en->ppi.image, en->ppi.image_len);
			if (en_guid(en, tpid, en->ppi.st.start_time, en->pguid) == 0)
				en_set(ev, "TargetProcessGuid", en->pguid, ENRICH_GUID_LEN);
		}
		break;
	}
	case SENSOR_MSG_MODULE:
		ev->category = EVCAT_DRIVER_LOAD;
		en_set(ev, "EventType", "driver_load", 11);
		en_actor(en, m, ev, "Image", "ProcessId", "ProcessGuid");
		if (u)
			en_set(ev, "User", u, strlen(u));
		if (k->module_path && k->module_path[0])
			en_set(ev, "ImageLoaded", k->module_path, strlen(k->module_path));
		if (k->module_params && k->module_params[0])
			en_set(ev, "ModuleParameters", k->module_params,
			       strlen(k->module_params));
		break;
	case SENSOR_MSG_BPF:
		ev->category = EVCAT_BPF_LOAD;
		en_set(ev, "EventType", "bpf_load", 8);
		en_actor(en, m, ev, "Image", "ProcessId", "ProcessGuid");
		if (u)
			en_set(ev, "User", u, strlen(u));
		en_setu(ev, "BpfProgramType", en->a0_s, sizeof(en->a0_s), k->bpf_prog_type);
		en_setu(ev, "BpfInstructionCount", en->a1_s, sizeof(en->a1_s), k->bpf_insn_cnt);
		if (k->bpf_name && k->bpf_name[0])
			en_set(ev, "BpfProgramName", k->bpf_name, strlen(k->bpf_name));
		break;
	default:
		return 0;
	}
	en->st.sys_events++;
	return 1;
}

int enrich_msg(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	if (m->pid == en->cfg.self_pid)
		return 0;
	switch (m->type) {
	case SENSOR_MSG_FORK:
		en_fork(en, m);
		return 0;
	case SENSOR_MSG_EXEC:
		return en_exec(en, m, ev);
	case SENSOR_MSG_EXIT:
		return en_exit(en, m, ev);
	case SENSOR_MSG_PRIV:
	case SENSOR_MSG_PTRACE:
	case SENSOR_MSG_MODULE:
	case SENSOR_MSG_BPF:
		return en_sys(en, m, ev);
	case SENSOR_MSG_UID:
		/* the process's later events name its new user */
		(void)proctable_set_uid(en->pt, m->pid, m->uid);
		return 0;
	}
	return 0;
}

/* enrich_proc_fill's UserId and User of uid, unless the module set the
 * kernel's (family_util_user) */
static void en_fill_user(struct enrich *en, uint32_t uid, struct event *ev)
{
	const char *u;

	if (event_get(ev, "UserId", NULL) != NULL)
		return;
	u = en_name_copy(en, 0, uid, en->fuser, sizeof(en->fuser));
	snprintf(en->fuid_s, sizeof(en->fuid_s), "%u", (unsigned)uid);
	en_set_chk(ev, "UserId", en->fuid_s, strlen(en->fuid_s));
	if (u)
		en_set_chk(ev, "User", u, strlen(u));
}

const char *enrich_user_name(void *arg, uint32_t uid)
{
	struct enrich *en = arg;

	return en_name_copy(en, 0, uid, en->kuser, sizeof(en->kuser));
}

/* Whether pe stands for the process at an event of time ts (the events'
 * clock; 0: not known): alive, or exited after ts (a process that connected
 * and exited at once, both records read in one wake-up: the exit is read
 * first). Past its exit the pid may be another process's. */
static int en_entry_at(const struct proc_entry *pe, uint64_t ts)
{
	return !pe->exit_ns || (ts && pe->exit_ts && ts <= pe->exit_ts);
}

int enrich_proc_fill(void *arg, int32_t pid, struct event *ev)
{
	struct enrich *en = arg;
	const struct proc_entry *pe = proctable_find(en->pt, pid, UINT64_MAX);
	uint64_t ts = ev->ts_ns;
	const char *fctr;

	if (pid <= 0)
		return 0;
	if (pe && en_entry_at(pe, ts)) {
		/* an event older than the process's exec ran the program
		 * before it (a connection, then an exec, read in one wake-up:
		 * the exec is read first) */
		int before = ts && pe->exec_ts && ts < pe->exec_ts && pe->prev_image;
		const char *img = before ? pe->prev_image : pe->image;
		const char *cmd = before ? pe->prev_cmdline : pe->cmdline;
		size_t il = before ? pe->prev_image_len : pe->image_len;
		size_t cl = before ? pe->prev_cmdline_len : pe->cmdline_len;

		if (il)
			en_set_chk(ev, "Image", img, il);
		if (cl)
			en_set_chk(ev, "CommandLine", cmd, cl);
		if (pe->guid[0]) {
			memcpy(en->fguid, pe->guid, sizeof(en->fguid));
			en_set_chk(ev, "ProcessGuid", en->fguid, strlen(en->fguid));
		}
		if (pe->uid != PROCTABLE_UID_NONE)
			en_fill_user(en, pe->uid, ev);
		if (pe->container_id)
			en_container(en, ev, pe->container_id, en_set_chk);
		return 1;
	}
	if (procinfo_read(pid, &en->fpi) || en_guid(en, pid, en->fpi.st.start_time, en->fguid))
		return 0;
	/* kept, so that the process's next events are named from the table:
	 * a process whose exec record was lost or is still unread (one ring
	 * per family) cost a read of /proc at each of its events, ~4,000 in a
	 * second of a connect storm; its exec record replaces the entry */
	fctr = en_proc_container(pid, en->fctr);
	if (en->fpi.have & PROCINFO_HAVE_IMAGE) {
		proctable_exec(
		    en->pt, pid, en->fpi.st.start_time, en->fpi.st.ppid, en_pi_uid(&en->fpi),
		    en->fguid, en->fpi.image, en->fpi.image_len, en->fpi.cmdline,
		    (en->fpi.have & PROCINFO_HAVE_CMDLINE) ? en->fpi.cmdline_len : 0, fctr, 0);
		en->st.fill_from_proc++;
		en_set_chk(ev, "Image", en->fpi.image, en->fpi.image_len);
	}
	if ((en->fpi.have & PROCINFO_HAVE_CMDLINE) && en->fpi.cmdline_len)
		en_set_chk(ev, "CommandLine", en->fpi.cmdline, en->fpi.cmdline_len);
	en_set_chk(ev, "ProcessGuid", en->fguid, ENRICH_GUID_LEN);
	if (en->fpi.have & PROCINFO_HAVE_IDS)
		en_fill_user(en, en->fpi.uid, ev);
	if (fctr)
		en_container(en, ev, fctr, en_set_chk);
	return 1;
}

void enrich_tick(struct enrich *en)
{
	proctable_expire(en->pt, util_mono_ns());
}

void enrich_stats(const struct enrich *en, struct enrich_stats *out)
{
	struct hashcache_stats hs;

	*out = en->st;
	hashcache_stats(en->hc, &hs);
	out->hash_hits = hs.hits;
	out->hash_misses = hs.misses;
	out->hash_held = hs.held;
	out->table_entries = proctable_count(en->pt);
}
