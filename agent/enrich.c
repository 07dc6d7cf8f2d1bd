#include "enrich.h"
#include "err.h"
#include "hashcache.h"
#include "log.h"
#include "procinfo.h"
#include "proctable.h"
#include "util.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EN_FORKMAP 4096 /* direct-mapped pid -> parent, for processes gone before /proc */
#define EN_USERS   64

struct en_fork {
	int32_t pid, ppid;
};

struct en_user {
	uint32_t uid;
	int used;
	char name[64];
};

struct enrich {
	struct enrich_cfg cfg;
	char boot_id[40];
	struct proctable *pt;
	struct hashcache *hc;
	struct procinfo pi;  /* the process */
	struct procinfo ppi; /* its parent, when read from /proc */
	struct en_fork forks[EN_FORKMAP];
	struct en_user users[EN_USERS];
	unsigned user_next;
	/* string storage for the event being built */
	char guid[ENRICH_GUID_LEN + 1], pguid[ENRICH_GUID_LEN + 1];
	char pid_s[16], ppid_s[16], uid_s[16], start_s[24], hashes[8 + 64 + 1];
	char user[64];
	struct enrich_stats st;
};

int enrich_guid(const char *boot_id, int32_t pid, uint64_t start_time,
		char out[ENRICH_GUID_LEN + 1])
{
	char in[96], h[33];
	uint8_t md[32];
	unsigned int mdlen = 0;
	int n = snprintf(in, sizeof(in), "%s:%d:%llu", boot_id, (int)pid,
			 (unsigned long long)start_time);

	if (n <= 0 || (size_t)n >= sizeof(in) ||
	    EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return YM_E_CRYPTO;
	util_hex(md, 16, h);
	snprintf(out, ENRICH_GUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16,
		 h + 20);
	return 0;
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
		if (enrich_guid(en->boot_id, (int32_t)pid, en->pi.st.start_time, guid))
			continue;
		proctable_put(en->pt, (int32_t)pid, en->pi.st.start_time, en->pi.st.ppid, guid,
			      en->pi.image, en->pi.image_len, en->pi.cmdline, en->pi.cmdline_len);
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
	free(en);
}

static const char *en_user(struct enrich *en, uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[2048];
	struct en_user *u;

	for (unsigned i = 0; i < EN_USERS; i++)
		if (en->users[i].used && en->users[i].uid == uid)
			return en->users[i].name;
	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return NULL;
	u = &en->users[en->user_next++ % EN_USERS];
	u->used = 1;
	u->uid = uid;
	util_strlcpy(u->name, pw.pw_name, sizeof(u->name));
	return u->name;
}

static void en_set(struct event *ev, const char *name, const char *v, size_t len)
{
	/* values here come from /proc and are bounded; a failure only loses the field */
	if (event_set(ev, name, v, len))
		LOG_D("enrich", "field %s not set", name);
}

static int en_exec(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	struct procinfo *pi = &en->pi;
	const struct proc_entry *pe = NULL;
	int32_t ppid = 0;
	uint64_t start = UINT64_MAX;
	char exe[64];
	uint8_t sha[32];

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
		const char *u = en_user(en, pi->uid);
		snprintf(en->uid_s, sizeof(en->uid_s), "%u", (unsigned)pi->uid);
		en_set(ev, "UserId", en->uid_s, strlen(en->uid_s));
		if (u) {
			util_strlcpy(en->user, u, sizeof(en->user));
			en_set(ev, "User", en->user, strlen(en->user));
		}
	}
	if (pi->have & PROCINFO_HAVE_STAT) {
		snprintf(en->start_s, sizeof(en->start_s), "%llu",
			 (unsigned long long)pi->st.start_time);
		en_set(ev, "ProcessStartTime", en->start_s, strlen(en->start_s));
		if (enrich_guid(en->boot_id, m->pid, pi->st.start_time, en->guid) == 0)
			en_set(ev, "ProcessGuid", en->guid, ENRICH_GUID_LEN);
	}
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)m->pid);
	if (pi->have & PROCINFO_HAVE_IMAGE) {
		int hit = 0;
		if (hashcache_path(en->hc, exe, sha, &hit) == 0) {
			memcpy(en->hashes, "SHA256=", 7);
			util_hex(sha, 32, en->hashes + 7);
			en_set(ev, "Hashes", en->hashes, 7 + 64);
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
		proctable_put(en->pt, m->pid, pi->st.start_time, ppid, en->guid, pi->image,
			      pi->image_len, pi->cmdline, pi->cmdline_len);
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
			if (enrich_guid(en->boot_id, ppid, en->ppi.st.start_time, en->pguid) == 0)
				en_set(ev, "ParentProcessGuid", en->pguid, ENRICH_GUID_LEN);
			if (en->ppi.have & PROCINFO_HAVE_IMAGE)
				proctable_put(en->pt, ppid, en->ppi.st.start_time, en->ppi.st.ppid,
					      en->pguid, en->ppi.image, en->ppi.image_len,
					      en->ppi.cmdline, en->ppi.cmdline_len);
		}
	}
	en->st.exec_events++;
	return 1;
}

static int en_exit(struct enrich *en, const struct sensor_msg *m, struct event *ev)
{
	const struct proc_entry *pe = proctable_exit(en->pt, m->pid, util_mono_ns());

	if (!pe || !en->cfg.termination)
		return 0;
	event_init(ev);
	ev->product = "linux";
	ev->category = EVCAT_PROCESS_TERMINATION;
	ev->ts_ns = m->ts_ns;
	snprintf(en->pid_s, sizeof(en->pid_s), "%d", (int)m->pid);
	en_set(ev, "ProcessId", en->pid_s, strlen(en->pid_s));
	if (pe->image_len)
		en_set(ev, "Image", pe->image, pe->image_len);
	if (pe->guid[0]) {
		memcpy(en->guid, pe->guid, sizeof(en->guid));
		en_set(ev, "ProcessGuid", en->guid, strlen(en->guid));
	}
	if (pe->ppid > 0) {
		snprintf(en->ppid_s, sizeof(en->ppid_s), "%d", (int)pe->ppid);
		en_set(ev, "ParentProcessId", en->ppid_s, strlen(en->ppid_s));
	}
	en->st.exit_events++;
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
	if (!pe || pe->exit_ns || procinfo_read_stat(m->pid, &st) || st.ppid != m->ppid ||
	    enrich_guid(en->boot_id, m->pid, st.start_time, guid))
		return;
	/* pe's strings are copied before the put can evict anything */
	proctable_put(en->pt, m->pid, st.start_time, m->ppid, guid, pe->image, pe->image_len,
		      pe->cmdline, pe->cmdline_len);
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
	}
	return 0;
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
	out->table_entries = proctable_count(en->pt);
}
