#include "family_auth_wtmp.h"
#include "buf.h"
#include "err.h"
#include "family_auth_follow.h"
#include "family_util.h"
#include "util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utmpx.h>

#define WTMP_REC    sizeof(struct utmpx)
#define WTMP_BATCH  256 /* records read per call and file */
#define WTMP_ROUNDS 16
/* terminals with a session open, to name the user of its logout record
 * (systemd and login write it without one; sshd with one): the oldest
 * logon's terminal is forgotten first */
#define WTMP_LINES 128
/* how far before where a start begins reading wtmp it reads the records
 * (not reported) for the sessions still open there: a session opened
 * before the start, or before the stop of the run before it, is named at
 * its end (the record of ~5,400 logons and logouts) */
#define WTMP_RECALL (2u << 20)

struct wtmp_file {
	struct family_auth_follow fw;
	int failed; /* btmp: every record is a failed login */
	size_t plen;
	uint8_t part[WTMP_REC];
};

/* a session opened on a terminal (a wtmp USER_PROCESS record) */
struct wtmp_line {
	char line[sizeof(((struct utmpx *)0)->ut_line) + 1]; /* "" : free */
	char user[sizeof(((struct utmpx *)0)->ut_user) + 1];
	char host[sizeof(((struct utmpx *)0)->ut_host) + 1];
	char ip[FAMILY_UTIL_IP_MAX];
	uint64_t seq; /* logon order */
};

struct family {
	struct family_env env;
	struct wtmp_file files[2];
	struct wtmp_line lines[WTMP_LINES];
	uint64_t line_seq;
	int ino_fd;
	struct family_stats st;
	struct event ev, scratch;
	char user[sizeof(((struct utmpx *)0)->ut_user) + 1];
	char line[sizeof(((struct utmpx *)0)->ut_line) + 1];
	char host[sizeof(((struct utmpx *)0)->ut_host) + 1];
	char ip[FAMILY_UTIL_IP_MAX], pidbuf[FAMILY_UTIL_U64_MAX];
	uint8_t rbuf[WTMP_REC * WTMP_BATCH];
};

static void wt_str(char *dst, const char *src, size_t n)
{
	size_t l = strnlen(src, n);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* The session open on terminal line, or NULL. */
static struct wtmp_line *wt_line_find(struct family *f, const char *line)
{
	for (size_t i = 0; i < WTMP_LINES; i++)
		if (f->lines[i].line[0] && strcmp(f->lines[i].line, line) == 0)
			return &f->lines[i];
	return NULL;
}

/* Keeps the session the logon record just read (f->user, f->line, f->host,
 * f->ip) opened, in place of one on the same terminal, else of the oldest. */
static void wt_line_open(struct family *f)
{
	struct wtmp_line *l = wt_line_find(f, f->line);

	for (size_t i = 0; l == NULL && i < WTMP_LINES; i++)
		if (f->lines[i].line[0] == '\0')
			l = &f->lines[i];
	if (l == NULL) {
		l = &f->lines[0];
		for (size_t i = 1; i < WTMP_LINES; i++)
			if (f->lines[i].seq < l->seq)
				l = &f->lines[i];
	}
	memcpy(l->line, f->line, sizeof(l->line));
	memcpy(l->user, f->user, sizeof(l->user));
	memcpy(l->host, f->host, sizeof(l->host));
	memcpy(l->ip, f->ip, sizeof(l->ip));
	l->seq = ++f->line_seq;
}

/* A logout record (DEAD_PROCESS) of wtmp: the end of the session open on
 * its terminal, which names its user, source and remoteness (else the
 * record's own user, when it has one). Returns 1 and sets f->user,
 * f->host and f->ip when it is a session's end, 0 when not (a getty's
 * exit: no session was open there). */
static int wt_logout(struct family *f)
{
	struct wtmp_line *l = f->line[0] ? wt_line_find(f, f->line) : NULL;

	if (l != NULL) {
		memcpy(f->user, l->user, sizeof(f->user));
		memcpy(f->host, l->host, sizeof(f->host));
		memcpy(f->ip, l->ip, sizeof(f->ip));
		l->line[0] = '\0';
		return 1;
	}
	return f->user[0] != '\0' && f->line[0] != '\0';
}

/* Copies record p into *u, its user, terminal and host into f->user,
 * f->line and f->host; f->ip empty. */
static void wt_parse(struct family *f, const uint8_t *p, struct utmpx *u)
{
	memcpy(u, p, sizeof(*u));
	wt_str(f->user, u->ut_user, sizeof(u->ut_user));
	wt_str(f->line, u->ut_line, sizeof(u->ut_line));
	wt_str(f->host, u->ut_host, sizeof(u->ut_host));
	f->ip[0] = '\0';
}

/* A logon record's address into f->ip (none: left empty). */
static void wt_ip(struct family *f, const struct utmpx *u)
{
	static const uint8_t zero[16];
	const uint8_t *a = (const uint8_t *)u->ut_addr_v6;

	if (memcmp(a, zero, 16) != 0 &&
	    family_util_ip(memcmp(a + 4, zero, 12) == 0 ? AF_INET : AF_INET6, a, f->ip) != 0)
		f->ip[0] = '\0';
}

/* A boot record: the sessions open before it ended with the machine
 * (a crash or power loss writes no logout record). */
static void wt_boot(struct family *f)
{
	for (size_t i = 0; i < WTMP_LINES; i++)
		f->lines[i].line[0] = '\0';
}

/* Record p of wtmp read before where the start begins: the terminal table
 * only, no event. */
static void wt_recall_record(struct family *f, const uint8_t *p)
{
	struct utmpx u;

	wt_parse(f, p, &u);
	if (u.ut_type == BOOT_TIME) {
		wt_boot(f);
	} else if (u.ut_type == DEAD_PROCESS && f->line[0]) {
		(void)wt_logout(f);
	} else if (u.ut_type == USER_PROCESS && f->user[0] && f->line[0]) {
		wt_ip(f, &u);
		wt_line_open(f);
	}
}

/* The sessions open where wtmp is read from at the start (the resumed
 * position, else the file's end): the logons and logouts of the last
 * WTMP_RECALL bytes before it, in whole records counted back from it. */
static void wt_recall(struct family *f)
{
	const struct family_auth_follow *fw = &f->files[0].fw;
	int fd = fw->old_fd >= 0 ? fw->old_fd : fw->fd;
	off_t end = fw->old_fd >= 0 ? fw->old_off : fw->off;
	off_t at = end;

	if (fd < 0)
		return;
	at -= (end < (off_t)WTMP_RECALL ? end : (off_t)WTMP_RECALL) / (off_t)WTMP_REC *
	      (off_t)WTMP_REC;
	while (at < end) {
		size_t want =
		    (size_t)(end - at) < sizeof(f->rbuf) ? (size_t)(end - at) : sizeof(f->rbuf);
		ssize_t n = pread(fd, f->rbuf, want, at);

		if (n < (ssize_t)WTMP_REC)
			break; /* an error, or the file is shorter now: the table
				* holds what was read */
		n -= n % (ssize_t)WTMP_REC;
		for (ssize_t i = 0; i < n; i += (ssize_t)WTMP_REC)
			wt_recall_record(f, f->rbuf + i);
		at += n;
	}
}

static void wt_record(struct family *f, const struct wtmp_file *wf, const uint8_t *p,
		      family_emit_fn emit, void *arg)
{
	struct utmpx u;
	struct event *ev = &f->ev;
	int rc = 0, remote, logoff = 0;

	wt_parse(f, p, &u);
	if (!wf->failed && u.ut_type == BOOT_TIME) {
		wt_boot(f);
		return;
	}
	if (!wf->failed && u.ut_type == DEAD_PROCESS) {
		if (!wt_logout(f))
			return;
		logoff = 1;
	} else if (wf->failed ? (u.ut_type != USER_PROCESS && u.ut_type != LOGIN_PROCESS)
			      : u.ut_type != USER_PROCESS) {
		return; /* run-level and getty records */
	} else {
		if (f->user[0] == '\0')
			return;
		wt_ip(f, &u);
		if (!wf->failed && f->line[0])
			wt_line_open(f);
	}
	event_init(ev);
	ev->ts_ns = u.ut_tv.tv_sec > 0 ? (uint64_t)u.ut_tv.tv_sec * 1000000000ull +
					     (uint64_t)u.ut_tv.tv_usec * 1000ull
				       : util_now_ns();
	ev->category = EVCAT_AUTHENTICATION;
	remote = f->host[0] != '\0' || strncmp(f->line, "ssh", 3) == 0;
	rc |= event_set_str(ev, "User", f->user);
	rc |= event_set_str(ev, "LogonType", remote ? "ssh" : "console");
	rc |= event_set_str(ev, "Status", logoff ? "logoff" : wf->failed ? "failure" : "success");
	if (f->line[0])
		rc |= event_set_str(ev, "Terminal", f->line);
	if (f->ip[0])
		rc |= event_set_str(ev, "SourceIp", f->ip);
	if (f->host[0])
		rc |= event_set_str(ev, "SourceHostname", f->host);
	if (rc != 0 || family_util_proc_daemon(&f->env, u.ut_pid, ev, &f->scratch, f->pidbuf) < 0 ||
	    emit(arg, ev) != 0) {
		f->st.drops++;
		return;
	}
	f->st.events++;
}

static int wt_read(struct family *f, struct wtmp_file *wf, family_emit_fn emit, void *arg)
{
	int handled = 0;

	for (int round = 0; round < WTMP_ROUNDS; round++) {
		int reset;
		ssize_t n = family_auth_follow_read(&wf->fw, f->rbuf, sizeof(f->rbuf), &reset);
		struct cursor c;
		const uint8_t *rec;

		if (n < 0)
			return (int)n;
		if (reset && wf->plen != 0) {
			f->st.drops++; /* a record cut by rotation or truncation */
			wf->plen = 0;
		}
		if (n == 0)
			break;
		cursor_init(&c, f->rbuf, (size_t)n);
		if (wf->plen != 0) {
			size_t need = WTMP_REC - wf->plen,
			       take = need < (size_t)n ? need : (size_t)n;

			(void)cursor_get_bytes(&c, take, &rec);
			memcpy(wf->part + wf->plen, rec, take);
			wf->plen += take;
			if (wf->plen < WTMP_REC)
				continue;
			wt_record(f, wf, wf->part, emit, arg);
			wf->plen = 0;
			handled++;
		}
		while (cursor_get_bytes(&c, WTMP_REC, &rec) == 0) {
			wt_record(f, wf, rec, emit, arg);
			handled++;
		}
		if (cursor_left(&c) > 0) {
			wf->plen = cursor_left(&c);
			(void)cursor_get_bytes(&c, wf->plen, &rec);
			memcpy(wf->part, rec, wf->plen);
		}
	}
	return handled;
}

static int wt_read_all(struct family *f, family_emit_fn emit, void *arg)
{
	int total = 0;

	for (int i = 0; i < 2; i++) {
		int n = wt_read(f, &f->files[i], emit, arg);

		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

static int wt_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	uint8_t ib[4096];

	(void)max;
	if (f->ino_fd >= 0)
		while (read(f->ino_fd, ib, sizeof(ib)) > 0) {
		}
	return wt_read_all(f, emit, arg);
}

/* the state files of the positions (wtmp, btmp) */
static const char *const wt_pos_names[2] = {"auth_wtmp_position", "auth_btmp_position"};

/* Saves where a start after a stop resumes, per file (at a tick that moved
 * it and at the stop): the end of the last whole record. */
static void wt_save(struct family *f)
{
	for (int i = 0; i < 2; i++)
		family_auth_follow_save(&f->env, &f->files[i].fw, wt_pos_names[i], "wtmp",
					f->files[i].plen, 0);
}

static int wt_tick(struct family *f, family_emit_fn emit, void *arg)
{
	int rc = wt_read_all(f, emit, arg);

	wt_save(f);
	return rc < 0 ? rc : 0;
}

static void wt_stop(struct family *f)
{
	if (f == NULL)
		return;
	wt_save(f);
	for (int i = 0; i < 2; i++)
		family_auth_follow_close(&f->files[i].fw);
	if (f->ino_fd >= 0)
		close(f->ino_fd);
	free(f);
}

static void wt_watch_dir(struct family *f, const char *path)
{
	char dir[FAMILY_AUTH_FOLLOW_PATH];
	char *slash;

	util_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	(void)inotify_add_watch(f->ino_fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
}

static int wt_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	const char *paths[2] = {getenv("YAMORI_WTMP"), getenv("YAMORI_BTMP")};
	static const char *const defaults[2] = {"/var/log/wtmp", "/var/log/btmp"};
	int rc = YM_E_NOMEM;

	if (f == NULL)
		goto out;
	f->env = *env;
	f->files[0].fw.fd = f->files[1].fw.fd = -1;
	f->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (int i = 0; i < 2; i++) {
		int skip; /* none in records of a fixed size */

		f->files[i].fw.fd = -1;
		f->files[i].failed = i == 1;
		if (paths[i] == NULL || paths[i][0] == '\0')
			paths[i] = defaults[i];
		rc = family_auth_follow_open(&f->env, &f->files[i].fw, paths[i], wt_pos_names[i],
					     "wtmp", &skip);
		if (rc != 0)
			goto out;
		if (i == 0)
			wt_recall(f);
		if (f->ino_fd >= 0)
			wt_watch_dir(f, paths[i]);
	}
	if (f->files[0].fw.fd < 0 && f->files[1].fw.fd < 0 && getenv("YAMORI_WTMP") == NULL) {
		rc = YM_E_UNSUPPORTED; /* neither file: no utmp logging here */
		goto out;
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	wt_stop(f);
	return rc;
}

static int wt_fd(const struct family *f)
{
	return f->ino_fd;
}

static void wt_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
}

const struct family_ops family_auth_wtmp_ops = {
    .family = "auth",
    .mode = "wtmp",
    .start = wt_start,
    .fd = wt_fd,
    .poll = wt_poll,
    .tick = wt_tick,
    .stats = wt_stats,
    .stop = wt_stop,
};
