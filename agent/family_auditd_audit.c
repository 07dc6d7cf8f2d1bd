#include "family_auditd_audit.h"
#include "buf.h"
#include "err.h"
#include "family_util.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AU_RECV	   (64 * 1024)
/* key=value pairs parsed per record: an EXECVE record holds as many
 * arguments as fit in ~7.5 KB (before 2026-11-27, 48: the command line of
 * an exec with more arguments ended at the 47th) */
#define AU_FIELDS  512
#define AU_WAIT_NS (2ull * 1000000000ull) /* a group without EOE is emitted after this */
/* bytes of an exec's command line kept (as the process sensors') */
#define AU_CMDLINE 32768
/* At the stop (au_quiesce), what kauditd still queues was produced before
 * it: waited for this long at most (its thread sends within microseconds;
 * a full socket makes it wait until the last polls read) */
#define AU_QUIESCE_WAIT_NS (100ull * 1000000ull)
/* In the state directory while kernel auditing is enabled because this
 * agent enabled it (the host had it off): an agent killed before it could
 * set it back leaves it, so the next one sets it back at its stop. It holds
 * one line, AU_MARK_TEXT and the boot id (kernel state does not survive a
 * reboot: a marker of an earlier boot is no longer true). */
#define AU_MARK_NAME "audit_enabled"
#define AU_MARK_TEXT "yamori-agent enabled kernel auditing, boot "
#define AU_MARK_MAX  128 /* the line's length at most (the boot id is 36) */

struct au_rec {
	uint16_t type;
	uint16_t len;
	char text[FAMILY_AUDITD_TEXT]; /* the part after "audit(...): " */
};

struct au_group {
	int used;
	int skip; /* an event of the agent's own execve rule, not wanted: records ignored */
	uint64_t serial, ts_ns, mono_ns;
	int nrec;
	struct au_rec rec[FAMILY_AUDITD_RECORDS];
};

/* one parsed record: names and values point into vals[] */
struct au_kv {
	int n;
	const char *name[AU_FIELDS];
	const char *val[AU_FIELDS];
	size_t vlen[AU_FIELDS];
	char store[FAMILY_AUDITD_TEXT * 2 + AU_FIELDS * 2];
};

struct family {
	struct family_env env;
	int fd;
	/* requests and their answers once records come to fd (the rules, the
	 * lost counter, the stop's unregistering): none of fd's is read away */
	int ctl;
	int registered, was_enabled, rules_added;
	int marked;    /* the marker AU_MARK_NAME is in env.state_dir, this agent's to remove */
	int quiesced;  /* au_quiesce ran: no records come, lost counted */
	int want_exec; /* events of the agent's execve rule (key FAMILY_AUDITD_KEY) */
	uint32_t lost_base;
	struct family_stats st;
	struct au_group grp[FAMILY_AUDITD_GROUPS];
	struct au_kv kv, ctx;
	struct event ev;
	char cmdline[AU_CMDLINE + 1], pidbuf[FAMILY_UTIL_U64_MAX];
	uint8_t rbuf[AU_RECV];
};

/* --- netlink requests --- */

static int au_send(int fd, uint16_t type, const void *p, size_t n)
{
	struct {
		struct nlmsghdr nh;
		uint8_t body[2048];
	} m;
	struct sockaddr_nl sa;

	if (n > sizeof(m.body))
		return YM_E_TOOBIG;
	memset(&m, 0, sizeof(m));
	m.nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(n);
	m.nh.nlmsg_type = type;
	m.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (n > 0)
		memcpy(m.body, p, n);
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, &m, m.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EPERM ? YM_E_AUTH : YM_E_IO;
	return 0;
}

/* Waits for the answer of a request: the ack (0 or -errno), and for AUDIT_GET
 * the status. Other messages (records) that arrive meanwhile are ignored. */
static int au_wait(int fd, uint16_t want, struct audit_status *st)
{
	uint8_t b[8192];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, b, sizeof(b), 0);
		struct cursor c;

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return YM_E_IO;
		}
		cursor_init(&c, b, (size_t)n);
		while (cursor_left(&c) >= sizeof(struct nlmsghdr)) {
			struct nlmsghdr nh;
			const uint8_t *p;

			memcpy(&nh, c.p + c.off, sizeof(nh));
			if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > cursor_left(&c))
				break;
			(void)cursor_get_bytes(&c,
					       NLMSG_ALIGN(nh.nlmsg_len) < cursor_left(&c)
						   ? NLMSG_ALIGN(nh.nlmsg_len)
						   : cursor_left(&c),
					       &p);
			if (nh.nlmsg_type == NLMSG_ERROR && nh.nlmsg_len >= NLMSG_LENGTH(4)) {
				int32_t e;

				memcpy(&e, p + NLMSG_HDRLEN, 4);
				if (e != 0)
					return e == -EPERM ? YM_E_AUTH : YM_E_IO;
				if (want != AUDIT_GET)
					return 0;
			} else if (nh.nlmsg_type == AUDIT_GET && want == AUDIT_GET &&
				   nh.nlmsg_len >= NLMSG_LENGTH(sizeof(*st) - 8)) {
				memset(st, 0, sizeof(*st));
				memcpy(st, p + NLMSG_HDRLEN,
				       nh.nlmsg_len - NLMSG_HDRLEN < sizeof(*st)
					   ? nh.nlmsg_len - NLMSG_HDRLEN
					   : sizeof(*st));
				return 0;
			}
		}
	}
	return YM_E_IO;
}

static int au_status(int fd, struct audit_status *st)
{
	int rc = au_send(fd, AUDIT_GET, NULL, 0);

	return rc != 0 ? rc : au_wait(fd, AUDIT_GET, st);
}

static int au_set(int fd, uint32_t mask, uint32_t enabled, uint32_t pid)
{
	struct audit_status s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.mask = mask;
	s.enabled = enabled;
	s.pid = pid;
	rc = au_send(fd, AUDIT_SET, &s, sizeof(s));
	return rc != 0 ? rc : au_wait(fd, AUDIT_SET, NULL);
}

/* --- the marker that this agent enabled kernel auditing --- */

enum { AU_MARK_NONE, AU_MARK_OURS, AU_MARK_OTHER };

/* The marker's line for this boot into b (AU_MARK_MAX); its length. */
static size_t au_mark_line(char b[AU_MARK_MAX])
{
	char id[64] = "unknown";
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, id, sizeof(id) - 1) : -1;
	int len;

	if (fd >= 0)
		close(fd);
	if (n > 0 && n < 40 && id[n - 1] == '\n')
		id[n - 1] = '\0';
	else
		snprintf(id, sizeof(id), "unknown");
	len = snprintf(b, AU_MARK_MAX, "%s%s\n", AU_MARK_TEXT, id);
	return len > 0 && len < AU_MARK_MAX ? (size_t)len : 0;
}

/* AU_MARK_NONE (no marker, or no state directory to read), AU_MARK_OURS (a
 * regular file holding exactly this boot's line), AU_MARK_OTHER (anything
 * else at the name: a symbolic link, not followed; not a regular file;
 * other text; unreadable). */
static int au_mark_read(const struct family *f)
{
	char want[AU_MARK_MAX], have[AU_MARK_MAX];
	size_t n = au_mark_line(want);
	int dfd, fd = -1, r = AU_MARK_NONE;
	struct stat sb;
	ssize_t got;

	dfd = open(f->env.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto out;
	/* O_NONBLOCK: a FIFO put there would block the open */
	fd = openat(dfd, AU_MARK_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? AU_MARK_NONE : AU_MARK_OTHER;
		goto out;
	}
	r = AU_MARK_OTHER;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != (off_t)n)
		goto out;
	got = read(fd, have, sizeof(have));
	if (n != 0 && got == (ssize_t)n && memcmp(have, want, n) == 0)
		r = AU_MARK_OURS;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* Creates the marker (a new regular file, 0600, never through a link),
 * then fsyncs it and the directory: it is on disk before auditing is
 * enabled. Returns 0 or YM_E_IO (nothing left behind). */
static int au_mark_write(const struct family *f)
{
	char line[AU_MARK_MAX];
	size_t n = au_mark_line(line);
	int dfd, fd = -1, r = YM_E_IO;

	dfd = open(f->env.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || n == 0)
		goto out;
	fd = openat(dfd, AU_MARK_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (write(fd, line, n) != (ssize_t)n || fsync(fd) != 0 || fsync(dfd) != 0) {
		int e = errno;

		(void)unlinkat(dfd, AU_MARK_NAME, 0);
		errno = e;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0 || dfd >= 0) {
		int e = errno; /* the failure's, for the caller's log */

		if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
		errno = e;
	}
	return r;
}

/* Removes whatever is at the marker's name (a link itself, not what it
 * names), and fsyncs the directory. Returns 0 (also when there was none)
 * or YM_E_IO. */
static int au_mark_remove(const struct family *f)
{
	int dfd = open(f->env.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = YM_E_IO;

	if (dfd < 0)
		return YM_E_IO;
	if (unlinkat(dfd, AU_MARK_NAME, 0) == 0)
		r = fsync(dfd) == 0 ? 0 : YM_E_IO;
	else if (errno == ENOENT)
		r = 0;
	{
		int e = errno; /* the failure's, for the caller's log */

		close(dfd);
		errno = e;
	}
	return r;
}

/* The marker is no longer true (the flag was set back, or never changed):
 * removed. A marker that stays is judged again at the next start. */
static void au_mark_clear(struct family *f)
{
	if (!f->marked)
		return;
	f->marked = 0;
	if (au_mark_remove(f) != 0)
		LOG_W("family", "W3614",
		      "audit: cannot remove %s/%s (%s): the next start judges it again",
		      f->env.state_dir, AU_MARK_NAME, strerror(errno));
}

/* At the start, before registering, the status st in hand and reader set
 * when a live audit reader is registered: a marker of this boot with
 * auditing enabled and no reader means an agent that enabled auditing was
 * killed (or crashed) before it could set it back, and nobody took over:
 * the host had it off, and this agent sets it back at its stop. Any other
 * marker is no longer true (auditd took over, or the flag was set back):
 * removed. */
static void au_mark_check(struct family *f, const struct audit_status *st, int reader)
{
	int m = au_mark_read(f);

	if (m == AU_MARK_NONE)
		return;
	if (m == AU_MARK_OURS && st->enabled == 1 && !reader) {
		f->was_enabled = 0;
		f->marked = 1;
		LOG_W("family", "W3613",
		      "audit: kernel auditing was left enabled by an agent that did not stop "
		      "(%s/%s): it is disabled again at this agent's stop",
		      f->env.state_dir, AU_MARK_NAME);
		return;
	}
	if (au_mark_remove(f) != 0)
		LOG_W("family", "W3614", "audit: cannot remove the stale %s/%s (%s)",
		      f->env.state_dir, AU_MARK_NAME, strerror(errno));
	else
		LOG_I("family", "audit: stale %s/%s removed (auditing %s, %s)", f->env.state_dir,
		      AU_MARK_NAME, st->enabled ? "enabled" : "disabled",
		      reader ? "a reader registered" : "no reader");
}

/* What the agent found before it registered, set back: no reader, and the
 * enabled flag (the marker goes once it is set back). */
static int au_unregister(struct family *f, int fd)
{
	int rc = au_set(fd, AUDIT_STATUS_PID | (f->was_enabled ? 0 : AUDIT_STATUS_ENABLED),
			(uint32_t)f->was_enabled, 0);

	if (rc == 0)
		au_mark_clear(f);
	return rc;
}

static int au_rule(int fd, uint16_t op)
{
	/* struct audit_rule_data ends in a flexible array: the key follows it */
	_Alignas(struct audit_rule_data)
	    uint8_t b[sizeof(struct audit_rule_data) + sizeof(FAMILY_AUDITD_KEY)];
	struct audit_rule_data *r = (struct audit_rule_data *)b;
	static const int calls[] = {__NR_execve, __NR_execveat};
	int rc;

	memset(b, 0, sizeof(b));
	r->flags = AUDIT_FILTER_EXIT;
	r->action = AUDIT_ALWAYS;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		r->mask[calls[i] / 32] |= 1u << (calls[i] % 32);
	r->field_count = 2;
	r->fields[0] = AUDIT_ARCH;
	r->fieldflags[0] = AUDIT_EQUAL;
#if defined(__x86_64__)
	r->values[0] = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	r->values[0] = AUDIT_ARCH_AARCH64;
#else
#error "audit arch of this platform"
#endif
	r->fields[1] = AUDIT_FILTERKEY;
	r->fieldflags[1] = AUDIT_EQUAL;
	r->values[1] = sizeof(FAMILY_AUDITD_KEY) - 1;
	r->buflen = sizeof(FAMILY_AUDITD_KEY) - 1;
	memcpy(b + sizeof(*r), FAMILY_AUDITD_KEY, sizeof(FAMILY_AUDITD_KEY) - 1);
	rc = au_send(fd, op, b, sizeof(*r) + sizeof(FAMILY_AUDITD_KEY) - 1);
	return rc != 0 ? rc : au_wait(fd, op, NULL);
}

/* --- record text --- */

static const char *au_type_name(uint16_t t, char buf[16])
{
	static const struct {
		uint16_t t;
		const char *n;
	} names[] = {
	    /* user-space message numbers are libaudit's (not in linux/audit.h) */
	    {AUDIT_USER, "USER"},
	    {AUDIT_LOGIN, "LOGIN"},
	    {AUDIT_SYSCALL, "SYSCALL"},
	    {AUDIT_PATH, "PATH"},
	    {AUDIT_CWD, "CWD"},
	    {AUDIT_EXECVE, "EXECVE"},
	    {AUDIT_PROCTITLE, "PROCTITLE"},
	    {AUDIT_SOCKADDR, "SOCKADDR"},
	    {AUDIT_MMAP, "MMAP"},
	    {AUDIT_BPRM_FCAPS, "BPRM_FCAPS"},
	    {AUDIT_KERN_MODULE, "KERN_MODULE"},
	    {AUDIT_ANOM_ABEND, "ANOM_ABEND"},
	    {AUDIT_CONFIG_CHANGE, "CONFIG_CHANGE"},
	    {AUDIT_USER_TTY, "USER_TTY"},
	    {1100, "USER_AUTH"},
	    {1101, "USER_ACCT"},
	    {1102, "USER_MGMT"},
	    {1103, "CRED_ACQ"},
	    {1104, "CRED_DISP"},
	    {1105, "USER_START"},
	    {1106, "USER_END"},
	    {1108, "USER_CHAUTHTOK"},
	    {1109, "USER_ERR"},
	    {1110, "CRED_REFR"},
	    {1112, "USER_LOGIN"},
	    {1113, "USER_LOGOUT"},
	    {1114, "ADD_USER"},
	    {1115, "DEL_USER"},
	    {1116, "ADD_GROUP"},
	    {1117, "DEL_GROUP"},
	    {1123, "USER_CMD"},
	    {1130, "SERVICE_START"},
	    {1131, "SERVICE_STOP"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].n;
	snprintf(buf, 16, "UNKNOWN[%u]", t);
	return buf;
}

static int au_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Fields whose unquoted value is hex-encoded text (auditd's encoding). */
static int au_encoded(uint16_t type, const char *name)
{
	static const char *const names[] = {"exe", "comm", "name", "cwd",  "proctitle", "path",
					    "key", "acct", "cmd",  "data", "old",	"new"};

	if (type == AUDIT_EXECVE && name[0] == 'a' && name[1] >= '0' && name[1] <= '9') {
		/* a0, a1[2]; not a1_len (decimal: 6000 was read as hex) */
		size_t d = strspn(name + 1, "0123456789");

		return name[1 + d] == '\0' || name[1 + d] == '[';
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* Splits a record's text into key=value pairs. Quoted values lose their
 * quotes; hex-encoded ones are decoded with NUL bytes as spaces; user-space
 * messages nest their fields in msg='...', parsed as fields too. */
static void au_parse(uint16_t type, const char *text, size_t n, struct au_kv *kv)
{
	struct cursor c;
	size_t o = 0;
	const uint8_t *p;

	kv->n = 0;
	cursor_init(&c, text, n);
	while (cursor_left(&c) > 0 && kv->n < AU_FIELDS) {
		size_t k = 0, v = 0, nstart, vstart;
		uint8_t q = 0;
		const uint8_t *qp;

		while (cursor_left(&c) > 0 && (c.p[c.off] == ' ' || c.p[c.off] == '\''))
			(void)cursor_get_bytes(&c, 1, &p);
		while (k < cursor_left(&c) && c.p[c.off + k] != '=' && c.p[c.off + k] != ' ')
			k++;
		if (k == 0 || k >= cursor_left(&c) || c.p[c.off + k] != '=') {
			(void)cursor_get_bytes(&c, k ? k : 1, &p);
			continue;
		}
		if (o + k + 1 > sizeof(kv->store))
			break;
		nstart = o;
		(void)cursor_get_bytes(&c, k, &p);
		/* "old-auid", "old-ses" (LOGIN), "new-level": a field name
		 * takes no '-' ([A-Za-z0-9_.]), so they go as old_auid */
		for (size_t i = 0; i < k; i++)
			kv->store[o + i] = p[i] == '-' ? '_' : (char)p[i];
		o += k;
		kv->store[o++] = '\0';
		(void)cursor_get_bytes(&c, 1, &p); /* '=' */
		if (k == 3 && memcmp(kv->store + nstart, "msg", 3) == 0 && cursor_left(&c) > 0 &&
		    c.p[c.off] == '\'') {
			o = nstart; /* msg='...': its fields follow */
			continue;
		}
		if (cursor_left(&c) > 0 && c.p[c.off] == '"')
			q = '"';
		if (q)
			(void)cursor_get_bytes(&c, 1, &p);
		while (v < cursor_left(&c) &&
		       (q ? c.p[c.off + v] != q : c.p[c.off + v] != ' ' && c.p[c.off + v] != '\''))
			v++;
		if (o + v + 1 > sizeof(kv->store))
			break;
		(void)cursor_get_bytes(&c, v, &p);
		if (q && cursor_left(&c) > 0)
			(void)cursor_get_bytes(&c, 1, &qp); /* the closing quote */
		vstart = o;
		if (!q && v % 2 == 0 && v > 0 && au_encoded(type, kv->store + nstart)) {
			size_t i;
			int ok = 1;

			for (i = 0; i < v && ok; i++)
				ok = au_hexval(p[i]) >= 0;
			if (ok) {
				for (i = 0; i < v; i += 2) {
					char ch =
					    (char)(au_hexval(p[i]) << 4 | au_hexval(p[i + 1]));

					kv->store[o++] = ch == '\0' ? ' ' : ch;
				}
				/* a proctitle's trailing NULs; an argument's
				 * own trailing spaces stay (one with a space is
				 * hex-encoded: "hi " as 686920) */
				while (type != AUDIT_EXECVE && o > vstart &&
				       kv->store[o - 1] == ' ')
					o--;
				goto done;
			}
		}
		memcpy(kv->store + o, p, v);
		o += v;
	done:
		kv->store[o] = '\0';
		for (size_t i = vstart; i < o; i++)
			if (kv->store[i] == '\0')
				kv->store[i] = ' ';
		kv->name[kv->n] = kv->store + nstart;
		kv->val[kv->n] = kv->store + vstart;
		kv->vlen[kv->n] = o - vstart;
		kv->n++;
		o++;
	}
}

/* The field named name of kv at index *at or after it (an EXECVE record's
 * arguments come in order: the search starts where the last one was
 * found), moving *at past it; NULL when none. */
static const char *au_get_next(const struct au_kv *kv, const char *name, int *at, size_t *len)
{
	for (int i = *at; i < kv->n; i++)
		if (strcmp(kv->name[i], name) == 0) {
			*at = i + 1;
			*len = kv->vlen[i];
			return kv->val[i];
		}
	return NULL;
}

static const char *au_get(const struct au_kv *kv, const char *name, size_t *len)
{
	int at = 0;
	size_t n = 0;
	const char *v = au_get_next(kv, name, &at, &n);

	if (v != NULL && len != NULL)
		*len = n;
	return v;
}

/* --- emitting --- */

static int au_emit(struct family *f, struct event *ev, family_emit_fn emit, void *arg)
{
	if (emit(arg, ev) != 0) {
		f->st.drops++;
		return 0;
	}
	f->st.events++;
	return 1;
}

static int au_emit_record(struct family *f, const struct au_group *g, const struct au_rec *r,
			  int have_ctx, family_emit_fn emit, void *arg)
{
	static const char *const ctx_names[] = {"exe", "comm", "pid",	  "ppid",   "auid",
						"uid", "key",  "syscall", "success"};
	const size_t nctx = sizeof(ctx_names) / sizeof(ctx_names[0]);
	struct event *ev = &f->ev;
	int ctx = have_ctx && r->type != AUDIT_SYSCALL;
	uint16_t room = EVENT_MAX_FIELDS;
	char tb[16];

	au_parse(r->type, r->text, r->len, &f->kv);
	event_init(ev);
	ev->ts_ns = g->ts_ns;
	ev->category = EVCAT_AUDITD; /* on the wire; the server routes it as service auditd */
	ev->service = FAMILY_AUDITD_SERVICE;
	if (event_set_str(ev, "type", au_type_name(r->type, tb)) != 0)
		goto drop;
	/* A record with more fields than an event holds (an EXECVE record of
	 * more than ~20 arguments) keeps room for the context its own fields
	 * do not give: who ran it (exe, pid, auid, the rule's key) says more
	 * than its 22nd argument, and the process_creation event has them all */
	if (ctx && f->kv.n + 1 + (int)nctx > EVENT_MAX_FIELDS)
		for (size_t i = 0; i < nctx; i++)
			if (au_get(&f->ctx, ctx_names[i], NULL) != NULL &&
			    au_get(&f->kv, ctx_names[i], NULL) == NULL)
				room--;
	for (int i = 0; i < f->kv.n && ev->nfields < room; i++) {
		if (!event_name_ok(f->kv.name[i], strlen(f->kv.name[i])) ||
		    strcmp(f->kv.name[i], "type") == 0)
			continue; /* a name no field may have: left out */
		if (event_set(ev, f->kv.name[i], f->kv.val[i], f->kv.vlen[i]) == YM_E_TOOBIG)
			break; /* EVENT_MAX_FIELDS: the rest of a long record is left out */
	}
	for (size_t i = 0; ctx && i < nctx; i++) {
		size_t n;
		const char *v = au_get(&f->ctx, ctx_names[i], &n);

		if (v != NULL && event_get(ev, ctx_names[i], NULL) == NULL)
			(void)event_set(ev, ctx_names[i], v, n);
	}
	return au_emit(f, ev, emit, arg);
drop:
	f->st.drops++;
	return 0;
}

/* Appends the arguments of the EXECVE record parsed in f->kv to f->cmdline
 * (*o bytes so far). The kernel writes a0, a1, ... and splits an argument
 * too long for the rest of the record into a<N>[0], a<N>[1], ... (after
 * a<N>_len), going on in the next EXECVE record of the event: *arg and
 * *part say where the last record stopped. Returns 0, or -1 once
 * f->cmdline is full. */
static int au_execve_args(struct family *f, size_t *o, int *arg, int *part)
{
	int at = 0;
	char name[32];

	for (;;) {
		const char *v = NULL;
		size_t n = 0;
		int whole = 0;

		if (*part == 0) {
			snprintf(name, sizeof(name), "a%d", *arg);
			v = au_get_next(&f->kv, name, &at, &n);
			whole = v != NULL;
		}
		if (v == NULL) {
			snprintf(name, sizeof(name), "a%d[%d]", *arg, *part);
			v = au_get_next(&f->kv, name, &at, &n);
		}
		if (v == NULL && *part > 0) {
			/* the split argument ended: the next one starts here,
			 * or its parts go on in the next record */
			int probe = at;
			size_t pn;

			snprintf(name, sizeof(name), "a%d", *arg + 1);
			if (au_get_next(&f->kv, name, &probe, &pn) == NULL) {
				snprintf(name, sizeof(name), "a%d[0]", *arg + 1);
				if (au_get_next(&f->kv, name, &probe, &pn) == NULL)
					return 0;
			}
			(*arg)++;
			*part = 0;
			continue;
		}
		if (v == NULL)
			return 0;
		if (*o + n + 2 > sizeof(f->cmdline))
			return -1;
		if (*o != 0 && *part == 0)
			f->cmdline[(*o)++] = ' ';
		memcpy(f->cmdline + *o, v, n);
		*o += n;
		if (whole)
			(*arg)++;
		else
			(*part)++;
	}
}

/* The process_creation event of an execve: the fallback of the process family. */
static int au_emit_exec(struct family *f, const struct au_group *g, family_emit_fn emit, void *arg)
{
	struct event *ev = &f->ev;
	size_t o = 0, n;
	const char *v;
	uint64_t pid = 0;
	int a = 0, part = 0;

	/* the EXECVE records, in order: a0..aN */
	for (int i = 0; i < g->nrec; i++)
		if (g->rec[i].type == AUDIT_EXECVE) {
			au_parse(AUDIT_EXECVE, g->rec[i].text, g->rec[i].len, &f->kv);
			if (au_execve_args(f, &o, &a, &part) != 0)
				break;
		}
	f->cmdline[o] = '\0';
	event_init(ev);
	ev->ts_ns = g->ts_ns;
	ev->category = EVCAT_PROCESS_CREATION;
	v = au_get(&f->ctx, "pid", NULL);
	if (v != NULL && util_parse_u64(v, 1, INT32_MAX, &pid) == 0)
		(void)family_util_proc(&f->env, (int32_t)pid, ev, f->pidbuf);
	/* the record is authoritative over /proc (which may already show a later exec) */
	if ((v = au_get(&f->ctx, "exe", &n)) != NULL)
		(void)event_set(ev, "Image", v, n);
	if (o != 0)
		(void)event_set(ev, "CommandLine", f->cmdline, o);
	if ((v = au_get(&f->ctx, "ppid", &n)) != NULL)
		(void)event_set(ev, "ParentProcessId", v, n);
	if ((v = au_get(&f->ctx, "uid", &n)) != NULL)
		(void)event_set(ev, "UserId", v, n);
	/* the first CWD record's (the event borrows the parse: a second
	 * parse would rewrite the value it points to) */
	for (int i = 0; i < g->nrec; i++)
		if (g->rec[i].type == AUDIT_CWD) {
			au_parse(AUDIT_CWD, g->rec[i].text, g->rec[i].len, &f->kv);
			if ((v = au_get(&f->kv, "cwd", &n)) != NULL)
				(void)event_set(ev, "CurrentDirectory", v, n);
			break;
		}
	return au_emit(f, ev, emit, arg);
}

static int au_flush(struct family *f, struct au_group *g, family_emit_fn emit, void *arg)
{
	int n = 0, have_ctx = 0, exec = 0;
	uint64_t pid = 0;
	const char *v;

	if (g->skip) {
		g->used = 0;
		return 0;
	}
	f->ctx.n = 0;
	for (int i = 0; i < g->nrec; i++) {
		if (g->rec[i].type == AUDIT_SYSCALL) {
			au_parse(AUDIT_SYSCALL, g->rec[i].text, g->rec[i].len, &f->ctx);
			have_ctx = 1;
		}
		exec |= g->rec[i].type == AUDIT_EXECVE;
	}
	v = au_get(&f->ctx, "pid", NULL);
	if (have_ctx && v != NULL && util_parse_u64(v, 1, INT32_MAX, &pid) == 0 &&
	    family_is_agent(&f->env, (int32_t)pid)) {
		g->used = 0;
		return 0;
	}
	for (int i = 0; i < g->nrec; i++)
		n += au_emit_record(f, g, &g->rec[i], have_ctx, emit, arg);
	/* the EXECVE-derived process_creation is the fallback when no process
	 * sensor runs; otherwise it would report every exec twice */
	if (exec && have_ctx && !f->env.process_sensor)
		n += au_emit_exec(f, g, emit, arg);
	g->used = 0;
	return n;
}

/* "audit(1700000000.123:456): " -> ts, serial; *body at the rest. */
static int au_header(struct cursor *c, uint64_t *ts_ns, uint64_t *serial)
{
	uint64_t sec = 0, ms = 0, ser = 0, *cur = &sec;
	const uint8_t *p;

	if (cursor_left(c) < 6 || memcmp(c->p + c->off, "audit(", 6) != 0)
		return YM_E_PARSE;
	(void)cursor_get_bytes(c, 6, &p);
	for (;;) {
		uint8_t ch;

		if (cursor_get_u8(c, &ch) != 0)
			return YM_E_PARSE;
		if (ch >= '0' && ch <= '9') {
			if (*cur > UINT64_MAX / 10 - 10)
				return YM_E_PARSE;
			*cur = *cur * 10 + (uint64_t)(ch - '0');
		} else if (ch == '.' && cur == &sec) {
			cur = &ms;
		} else if (ch == ':' && cur == &ms) {
			cur = &ser;
		} else if (ch == ')' && cur == &ser) {
			break;
		} else {
			return YM_E_PARSE;
		}
	}
	if (cursor_left(c) >= 2 && c->p[c->off] == ':')
		(void)cursor_get_bytes(c, 2, &p);
	*ts_ns = sec * 1000000000ull + ms * 1000000ull;
	*serial = ser;
	return 0;
}

static int au_record(struct family *f, uint16_t type, const uint8_t *p, size_t n,
		     family_emit_fn emit, void *arg)
{
	struct cursor c;
	uint64_t ts, serial;
	struct au_group *g = NULL, *oldest = NULL;
	int emitted = 0;

	cursor_init(&c, p, n);
	if (au_header(&c, &ts, &serial) != 0) {
		f->st.drops++;
		return 0;
	}
	for (int i = 0; i < FAMILY_AUDITD_GROUPS; i++) {
		struct au_group *x = &f->grp[i];

		if (x->used && x->serial == serial) {
			g = x;
			break;
		}
	}
	if (type == AUDIT_EOE)
		return g != NULL ? au_flush(f, g, emit, arg) : 0;
	if (g == NULL) {
		for (int i = 0; i < FAMILY_AUDITD_GROUPS && g == NULL; i++) {
			if (!f->grp[i].used)
				g = &f->grp[i];
			else if (oldest == NULL || f->grp[i].mono_ns < oldest->mono_ns)
				oldest = &f->grp[i];
		}
		if (g == NULL) {
			emitted += au_flush(f, oldest, emit, arg);
			g = oldest;
		}
		g->used = 1;
		g->skip = 0;
		g->serial = serial;
		g->ts_ns = ts;
		g->mono_ns = util_mono_ns();
		g->nrec = 0;
	}
	if (g->skip)
		return emitted;
	/* the agent's own execve rule left by an agent killed before it could
	 * remove it (or one beside this agent): not wanted, so the event is
	 * ignored from its SYSCALL record on (the first) without parsing */
	if (!f->want_exec && type == AUDIT_SYSCALL &&
	    memmem(c.p + c.off, cursor_left(&c), " key=\"" FAMILY_AUDITD_KEY "\"",
		   sizeof(" key=\"" FAMILY_AUDITD_KEY "\"") - 1) != NULL) {
		g->skip = 1;
		return emitted;
	}
	if (g->nrec >= FAMILY_AUDITD_RECORDS) {
		f->st.drops++;
		return emitted;
	}
	{
		struct au_rec *r = &g->rec[g->nrec++];
		size_t len = cursor_left(&c) < sizeof(r->text) ? cursor_left(&c) : sizeof(r->text);

		r->type = type;
		r->len = (uint16_t)len;
		memcpy(r->text, c.p + c.off, len);
	}
	/* user-space messages and other single records come without EOE */
	if (type < 1300 || type > 1399) /* kernel event records: 1300..1399 */
		emitted += au_flush(f, g, emit, arg);
	return emitted;
}

/* Message types that carry a record: the user-message and kernel ranges
 * (1100 on), and the two of the command range (1000-1099) the kernel logs
 * as records, LOGIN (a login uid set) and USER (a user-space message of
 * the old type); the rest of that range are answers to requests. */
static int au_is_record(uint16_t type)
{
	return type >= AUDIT_FIRST_USER_MSG || type == AUDIT_LOGIN || type == AUDIT_USER;
}

static int au_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	int handled = 0;

	while (handled < max) {
		ssize_t n = recv(f->fd, f->rbuf, sizeof(f->rbuf), MSG_DONTWAIT);
		struct cursor c;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ENOBUFS) {
				f->st.overruns++; /* the exact loss comes from the kernel's counter
						   */
				continue;
			}
			return YM_E_IO;
		}
		cursor_init(&c, f->rbuf, (size_t)n);
		while (cursor_left(&c) >= sizeof(struct nlmsghdr)) {
			struct nlmsghdr nh;
			const uint8_t *p;
			size_t take;

			memcpy(&nh, c.p + c.off, sizeof(nh));
			if (nh.nlmsg_type == AUDIT_REPLACE) {
				/* the kernel asking its reader whether it lives (a
				 * process set the audit pid: au_quiesce, auditctl),
				 * one per datagram: no record, no loss */
				(void)cursor_get_bytes(&c, cursor_left(&c), &p);
				handled++;
				break;
			}
			if (au_is_record(nh.nlmsg_type)) {
				/* a record: the kernel sets nlmsg_len to the payload length
				 * (without the header, kernel/audit.c), one per datagram */
				(void)cursor_get_bytes(&c, NLMSG_HDRLEN, &p);
				take =
				    nh.nlmsg_len < cursor_left(&c) ? nh.nlmsg_len : cursor_left(&c);
				(void)cursor_get_bytes(&c, cursor_left(&c), &p);
				handled++;
				au_record(f, (uint16_t)nh.nlmsg_type, p, take, emit, arg);
				break;
			}
			if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > cursor_left(&c)) {
				f->st.drops++;
				break;
			}
			take = NLMSG_ALIGN(nh.nlmsg_len) < cursor_left(&c)
				   ? NLMSG_ALIGN(nh.nlmsg_len)
				   : cursor_left(&c);
			(void)cursor_get_bytes(&c, take, &p); /* acks and replies, not records */
			handled++;
		}
	}
	return handled;
}

/* At the stop: every group still waiting for its end record, as it is
 * (as after AU_WAIT_NS) */
static int au_final(struct family *f, family_emit_fn emit, void *arg)
{
	int n = 0;

	for (int i = 0; i < FAMILY_AUDITD_GROUPS; i++)
		if (f->grp[i].used)
			n += au_flush(f, &f->grp[i], emit, arg);
	return n;
}

/* The kernel's lost counter, asked on a second socket so no record of the
 * first is read, added to the drops. */
static void au_count_lost(struct family *f, int fd)
{
	struct audit_status st;

	if (au_status(fd, &st) == 0 && st.lost != f->lost_base) {
		f->st.drops += (uint32_t)(st.lost - f->lost_base);
		f->st.overruns++;
		f->lost_base = st.lost;
	}
}

static int au_tick(struct family *f, family_emit_fn emit, void *arg)
{
	uint64_t now = util_mono_ns();

	for (int i = 0; i < FAMILY_AUDITD_GROUPS; i++)
		if (f->grp[i].used && now - f->grp[i].mono_ns > AU_WAIT_NS)
			(void)au_flush(f, &f->grp[i], emit, arg);
	/* records the kernel lost (backlog full, rate limit): its own exact
	 * counter, until the stop's au_quiesce */
	if (!f->quiesced && f->ctl >= 0)
		au_count_lost(f, f->ctl);
	return 0;
}

/* At the stop, before the last polls: the agent's execve rule goes, then
 * the kernel stops sending records to this socket (the agent unregisters as
 * the audit reader, restoring the enabled flag it found, or leaves the
 * read-only group), while what the socket holds stays readable. What
 * kauditd still queues was produced before the stop: the socket gets it
 * first (backlog 0, at most AU_QUIESCE_WAIT_NS). Without a reader the
 * kernel prints later records (the administrator's rules) to its log, and
 * booted with audit=1 keeps them in its hold queue for the next reader
 * (the agent started again, auditd). The lost counter is read once more
 * here and not after: records lost after the stop are not the agent's. */
static void au_quiesce(struct family *f)
{
	struct audit_status st;
	uint64_t end = util_mono_ns() + AU_QUIESCE_WAIT_NS;
	int fd = f->ctl;

	if (f->quiesced || fd < 0)
		return;
	f->quiesced = 1;
	if (f->rules_added && au_rule(fd, AUDIT_DEL_RULE) == 0)
		f->rules_added = 0;
	while (au_status(fd, &st) == 0 && st.backlog > 0 && util_mono_ns() < end)
		usleep(1000);
	au_count_lost(f, fd);
	if (f->registered) {
		int rc = au_unregister(f, fd);

		if (rc == 0) {
			f->registered = 0;
		} else {
			/* records keep coming: still counted, au_stop tries again */
			LOG_W("family", "W3611",
			      "audit: cannot unregister to stop the records at the stop (%s): its "
			      "last reads are bounded in time",
			      ym_strerror(rc));
			f->quiesced = 0;
		}
	} else {
		int grp = AUDIT_NLGRP_READLOG;

		if (setsockopt(f->fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof(grp)) != 0)
			LOG_D("family", "audit: cannot leave the read-only group: %s",
			      strerror(errno));
	}
}

static void au_stop(struct family *f)
{
	if (f == NULL)
		return;
	if (f->ctl >= 0) {
		if (f->rules_added)
			(void)au_rule(f->ctl, AUDIT_DEL_RULE);
		if (f->registered)
			(void)au_unregister(f, f->ctl);
		close(f->ctl);
	}
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* An instance without a socket yet; NULL when out of memory. */
static struct family *au_alloc(const struct family_env *env)
{
	struct family *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->env = *env;
	f->fd = -1;
	f->ctl = -1;
	/* the execve rule: only as the process family's fallback or when asked;
	 * beside a process sensor it would turn every exec into 5 to 7 records
	 * (events) that repeat what the sensor reports */
	f->want_exec = !env->process_sensor || env->audit_exec;
	return f;
}

int family_auditd_audit_new(const struct family_env *env, struct family **out)
{
	struct family *f = au_alloc(env);

	if (f == NULL)
		return YM_E_NOMEM;
	*out = f;
	return 0;
}

int family_auditd_audit_feed(struct family *f, uint16_t type, const char *text, size_t n,
			     family_emit_fn emit, void *arg)
{
	return au_record(f, type, (const uint8_t *)text, n, emit, arg);
}

/* Whether another agent may be relying on the execve rule: a process named
 * yamori-agent other than this one and the children it started (its uplink
 * process). /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold any
 * byte, so it ends at the last ')'. When it cannot tell, it says yes. */
static int au_other_agent(void)
{
	static const char name[] = "(yamori-agent) ";
	DIR *d = opendir("/proc");
	struct dirent *de;
	int32_t self = (int32_t)getpid();
	int found = 0;

	if (d == NULL)
		return 1;
	while (!found && (de = readdir(d)) != NULL) {
		char path[64], text[256];
		const char *open_, *close_;
		uint64_t pid;
		ssize_t n;
		long ppid;
		int fd;

		if (util_parse_u64(de->d_name, 1, INT32_MAX, &pid) != 0 || (int32_t)pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/stat", (unsigned)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n <= 0)
			continue;
		text[n] = 0;
		open_ = strchr(text, '(');
		close_ = strrchr(text, ')');
		if (!open_ || !close_ || close_ < open_ ||
		    (size_t)(close_ - open_ + 2) != sizeof(name) - 1 ||
		    memcmp(open_, name, sizeof(name) - 1) != 0)
			continue;
		/* after ") ": the state letter, a space, then ppid */
		if (close_[1] != ' ' || close_[2] == 0 || close_[3] != ' ')
			continue;
		ppid = strtol(close_ + 4, NULL, 10);
		if (ppid == (long)self)
			continue; /* this agent's own uplink process */
		found = 1;
	}
	closedir(d);
	return found;
}

static int au_start(const struct family_env *env, struct family **out)
{
	struct family *f = au_alloc(env);
	struct audit_status st;
	int rc = YM_E_NOMEM, sz = 8 * 1024 * 1024, stale, reader;

	if (f == NULL)
		goto out;
	f->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (f->fd >= 0)
		f->ctl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (f->fd < 0 || f->ctl < 0) {
		rc = errno == EPERM || errno == EACCES ? YM_E_AUTH : YM_E_UNSUPPORTED;
		goto out;
	}
	if (setsockopt(f->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		(void)setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	rc = au_status(f->fd, &st);
	if (rc != 0)
		goto out;
	f->was_enabled = st.enabled != 0;
	f->lost_base = st.lost;
	if (st.enabled == 2) {
		rc = YM_E_UNSUPPORTED; /* locked configuration: rules cannot be added */
		goto out;
	}
	/* A registered reader whose process is gone (an agent or auditd killed
	 * a moment ago: the kernel forgets it only once a send to it fails) is
	 * no reader: registering replaces it (the kernel tests the old
	 * connection first, AUDIT_REPLACE, and drops it). */
	reader = st.pid != 0 && !(kill((pid_t)st.pid, 0) != 0 && errno == ESRCH);
	/* An execve rule with our key that nobody reads (no audit reader is
	 * registered and no other agent runs) is a leftover; one this agent
	 * does not want is removed below. */
	stale = !f->want_exec && !reader && !au_other_agent();
	if (f->env.state_dir != NULL)
		au_mark_check(f, &st, reader);
	if (!reader) {
		/* on disk before the flag changes: were the agent killed after,
		 * the next one knows the flag is its to set back */
		if (!f->was_enabled && !f->marked && f->env.state_dir != NULL) {
			if (au_mark_write(f) == 0)
				f->marked = 1;
			else
				LOG_W("family", "W3614",
				      "audit: cannot write %s/%s (%s): should the agent be "
				      "killed, kernel auditing stays enabled",
				      f->env.state_dir, AU_MARK_NAME, strerror(errno));
		}
		rc = au_set(f->fd, AUDIT_STATUS_PID | AUDIT_STATUS_ENABLED, 1, (uint32_t)getpid());
		if (rc != 0) {
			/* the marker stays while the flag may be this agent's */
			struct audit_status now;

			if (f->marked && au_status(f->ctl, &now) == 0 &&
			    now.enabled == (uint32_t)f->was_enabled)
				au_mark_clear(f);
			goto out;
		}
		f->registered = 1;
	} else {
		/* the socket is bound already (AUDIT_GET): join the group instead */
		int grp = AUDIT_NLGRP_READLOG;

		if (setsockopt(f->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) !=
		    0) {
			rc = errno == EPERM ? YM_E_AUTH : YM_E_UNSUPPORTED;
			goto out;
		}
	}
	if (stale && au_rule(f->ctl, AUDIT_DEL_RULE) == 0) {
		/* left by an agent that was killed before it could remove it:
		 * every exec on the host would cost 5 to 7 records for nothing */
		LOG_W("family", "W3610", "removed a stale execve audit rule (key %s)",
		      FAMILY_AUDITD_KEY);
	}
	if (f->want_exec) {
		rc = au_rule(f->ctl, AUDIT_ADD_RULE);
		if (rc == 0)
			f->rules_added = 1;
		else if (rc == YM_E_IO)
			rc = 0; /* the rule exists already (another agent, auditd's rules) */
		if (rc != 0)
			goto out;
	}
	*out = f;
	f = NULL;
out:
	au_stop(f);
	return rc;
}

static int au_fd(const struct family *f)
{
	return f->fd;
}

static void au_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
}

const struct family_ops family_auditd_audit_ops = {
    .family = "auditd",
    .mode = "audit",
    .start = au_start,
    .fd = au_fd,
    .poll = au_poll,
    .tick = au_tick,
    .flush = au_final,
    .quiesce = au_quiesce,
    .stats = au_stats,
    .stop = au_stop,
};
