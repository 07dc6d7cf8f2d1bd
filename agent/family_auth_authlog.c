/* Lines are attacker-influenced (a user name reaches sshd's log verbatim),
 * so fields are cut from the right where a name could hide a separator: the
 * sshd source is taken after the last " from ". */
#include "family_auth_authlog.h"
#include "buf.h"
#include "err.h"
#include "family_auth_follow.h"
#include "family_util.h"
#include "timefmt.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define AUTHLOG_READ (64 * 1024)
/* events of one "message repeated N times" line; the rest are counted.
 * Any local user can write such a line (logger -t sshd): the bound keeps
 * one forged line from standing for more than this many events, and N
 * past FAMILY_AUTH_REPEAT_PARSE is no line of rsyslog's (not read) */
#define FAMILY_AUTH_REPEAT_MAX	 100
#define FAMILY_AUTH_REPEAT_PARSE 1000000

struct family {
	struct family_env env;
	struct family_auth_follow fw;
	int ino_fd;
	size_t plen;  /* bytes of the partial line */
	int skipping; /* inside an overlong line: discard to its newline */
	struct family_stats st;
	struct family_auth_line ln;
	struct event ev, scratch;
	char pidbuf[FAMILY_UTIL_U64_MAX];
	uint8_t part[FAMILY_AUTH_LINE_MAX];
	uint8_t rbuf[AUTHLOG_READ];
};

/* --- bounded text helpers over a cursor --- */

static int al_lit(struct cursor *c, const char *s)
{
	size_t n = strlen(s);
	const uint8_t *p;

	if (cursor_left(c) < n || memcmp(c->p + c->off, s, n) != 0)
		return 0;
	return cursor_get_bytes(c, n, &p) == 0;
}

/* Next space-separated word. Returns 0 or YM_E_TRUNCATED at the end. */
static int al_word(struct cursor *c, const uint8_t **w, size_t *n)
{
	const uint8_t *p;
	size_t k = 0;

	while (cursor_left(c) > 0 && c->p[c->off] == ' ')
		(void)cursor_get_bytes(c, 1, &p);
	while (k < cursor_left(c) && c->p[c->off + k] != ' ')
		k++;
	if (k == 0)
		return YM_E_TRUNCATED;
	*n = k;
	return cursor_get_bytes(c, k, w);
}

/* Offset (from the cursor) of the first / last occurrence of s, or -1. */
static long al_find(const struct cursor *c, const char *s, int last)
{
	size_t n = strlen(s), left = cursor_left(c);
	long found = -1;

	for (size_t i = 0; n <= left && i <= left - n; i++) {
		if (memcmp(c->p + c->off + i, s, n) == 0) {
			found = (long)i;
			if (!last)
				break;
		}
	}
	return found;
}

static void al_copy(char *dst, size_t dstsz, const uint8_t *p, size_t n)
{
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* Seconds east of UTC of the local zone at t (what rsyslog's traditional
 * file format writes its times in). */
static int64_t al_local_offset(time_t t)
{
	struct tm tm;

	return localtime_r(&t, &tm) != NULL ? (int64_t)tm.tm_gmtoff : 0;
}

/* The syslog header: RFC 3339 or BSD time (o->ts_ns where it reads), host,
 * "prog[pid]:" */
static int al_header(struct cursor *c, struct family_auth_line *o)
{
	const uint8_t *w, *lb, *first;
	size_t n;
	int rc;

	if ((rc = al_word(c, &w, &n)) != 0)
		return rc;
	o->ts_ns = 0; /* the parsers set it only where the time reads */
	if (n >= 5 && w[0] >= '0' && w[0] <= '9' && w[4] == '-') {
		(void)timefmt_rfc3339((const char *)w, n, &o->ts_ns);
	} else {
		/* "Nov 26 02:03:31": two more words */
		first = w;
		if ((rc = al_word(c, &w, &n)) != 0 || (rc = al_word(c, &w, &n)) != 0)
			return rc;
		if ((size_t)(w + n - first) == 15) {
			uint64_t now = util_now_ns();

			(void)timefmt_3164((const char *)first, 15, now,
					   al_local_offset((time_t)(now / 1000000000ull)),
					   &o->ts_ns);
		}
	}
	if ((rc = al_word(c, &w, &n)) != 0) /* host */
		return rc;
	if ((rc = al_word(c, &w, &n)) != 0 || w[n - 1] != ':')
		return YM_E_PARSE;
	n--;
	lb = memchr(w, '[', n);
	o->pid = 0;
	if (lb != NULL && w[n - 1] == ']') {
		uint64_t v;
		char num[16];
		size_t dl = n - 1 - (size_t)(lb + 1 - w);

		if (dl == 0 || dl >= sizeof(num))
			return YM_E_PARSE;
		memcpy(num, lb + 1, dl);
		num[dl] = '\0';
		if (util_parse_u64(num, 1, INT32_MAX, &v) != 0)
			return YM_E_PARSE;
		o->pid = (int)v;
		n = (size_t)(lb - w);
	}
	al_copy(o->prog, sizeof(o->prog), w, n);
	if (cursor_left(c) > 0 && c->p[c->off] == ' ')
		(void)cursor_get_bytes(c, 1, &w);
	return 0;
}

/* rsyslog's repeated-message reduction turns repeats of a line into
 * "message repeated N times: [ <message>]": the cursor is narrowed to the
 * message and *repeat set to N. A line without it is left as it is. */
static int al_repeated(struct cursor *c, unsigned *repeat)
{
	const uint8_t *w;
	size_t n;
	char num[12];
	uint64_t v;

	if (!al_lit(c, "message repeated "))
		return 0;
	if (al_word(c, &w, &n) != 0 || n >= sizeof(num))
		return YM_E_PARSE;
	memcpy(num, w, n);
	num[n] = '\0';
	if (util_parse_u64(num, 1, FAMILY_AUTH_REPEAT_PARSE, &v) != 0 || !al_lit(c, " times: [ ") ||
	    cursor_left(c) == 0 || c->p[c->off + cursor_left(c) - 1] != ']')
		return YM_E_PARSE;
	c->len--; /* the closing bracket */
	*repeat = (unsigned)v;
	return 0;
}

/* The end of an authenticated session, as sshd names its connection once
 * the user is logged in ("user NAME ADDR port PORT"; before, "authenticating
 * user" or "invalid user", which are no sessions): a clean disconnect, and
 * the ends sshd logs when the connection breaks. */
static const char *const al_ssh_ends[] = {
    "Disconnected from user ",
    "Connection closed by user ",
    "Connection reset by user ",
    "Timeout, client not responding from user ",
};

/* "NAME ADDR port PORT" to the end of the message, cut from the right. */
static int al_ssh_end(struct cursor *c, struct family_auth_line *o)
{
	const uint8_t *p = c->p + c->off;
	size_t left = cursor_left(c), sp;
	long at = al_find(c, " port ", 1);

	if (at <= 0 || (size_t)at + 6 >= left)
		return YM_E_PARSE;
	for (size_t i = (size_t)at + 6; i < left; i++)
		if (p[i] < '0' || p[i] > '9')
			return YM_E_PARSE; /* "[preauth]" or more after the port */
	al_copy(o->port, sizeof(o->port), p + at + 6, left - (size_t)at - 6);
	sp = (size_t)at;
	while (sp > 0 && p[sp - 1] != ' ')
		sp--;
	if (sp < 2 || sp == (size_t)at)
		return YM_E_PARSE;
	al_copy(o->ip, sizeof(o->ip), p + sp, (size_t)at - sp);
	al_copy(o->user, sizeof(o->user), p, sp - 1);
	o->type = "ssh";
	o->status = "logoff";
	return 0;
}

static int al_sshd(struct cursor *c, struct family_auth_line *o)
{
	const uint8_t *w;
	size_t n;
	long at;
	struct cursor tail;

	for (size_t i = 0; i < sizeof(al_ssh_ends) / sizeof(al_ssh_ends[0]); i++)
		if (al_lit(c, al_ssh_ends[i]))
			return al_ssh_end(c, o);
	if (al_lit(c, "Accepted "))
		o->status = "success";
	else if (al_lit(c, "Failed "))
		o->status = "failure";
	else
		return YM_E_NOTFOUND;
	o->type = "ssh";
	if (al_word(c, &w, &n) != 0)
		return YM_E_PARSE;
	al_copy(o->method, sizeof(o->method), w, n);
	if (!al_lit(c, " for "))
		return YM_E_PARSE;
	(void)al_lit(c, "invalid user ");
	at = al_find(c, " from ", 1);
	if (at <= 0)
		return YM_E_PARSE;
	al_copy(o->user, sizeof(o->user), c->p + c->off, (size_t)at);
	tail = *c;
	if (cursor_get_bytes(&tail, (size_t)at + 6, &w) != 0 || al_word(&tail, &w, &n) != 0)
		return YM_E_PARSE;
	al_copy(o->ip, sizeof(o->ip), w, n);
	if (al_lit(&tail, " port ") && al_word(&tail, &w, &n) == 0)
		al_copy(o->port, sizeof(o->port), w, n);
	return 0;
}

/* "bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id" */
static int al_sudo(struct cursor *c, struct family_auth_line *o)
{
	const uint8_t *w;
	long at, u, cm;
	struct cursor r;

	while (cursor_left(c) > 0 && c->p[c->off] == ' ')
		(void)cursor_get_bytes(c, 1, &w);
	at = al_find(c, " : ", 0);
	if (at <= 0)
		return YM_E_NOTFOUND;
	al_copy(o->user, sizeof(o->user), c->p + c->off, (size_t)at);
	if (cursor_get_bytes(c, (size_t)at + 3, &w) != 0)
		return YM_E_PARSE;
	o->type = "sudo";
	o->status = al_lit(c, "TTY=") ? "success" : "failure";
	cm = al_find(c, " ; COMMAND=", 0);
	r = *c;
	if (cm >= 0)
		r.len = r.off + (size_t)cm; /* USER= before the command, which the user chose */
	u = al_find(&r, " ; USER=", 0);
	if (u >= 0) {
		size_t n = 0;

		r.off += (size_t)u + 8;
		while (n < cursor_left(&r) && r.p[r.off + n] != ' ')
			n++;
		al_copy(o->target, sizeof(o->target), r.p + r.off, n);
	}
	if (cm >= 0) {
		r = *c;
		r.off += (size_t)cm + 11;
		al_copy(o->cmd, sizeof(o->cmd), r.p + r.off, cursor_left(&r));
	}
	if (o->status[0] == 's' && cm < 0)
		return YM_E_NOTFOUND; /* a sudo line that is not a command run */
	return 0;
}

/* "(to root) bob on pts/0", "FAILED SU (to root) bob on pts/0"; the end
 * of the session, "pam_unix(su:session): session closed for user root"
 * (su-l for "su -"), names the account switched to only: the one who ran
 * su is in the start's event of the same ProcessId */
static int al_su(struct cursor *c, struct family_auth_line *o)
{
	const uint8_t *w;
	size_t n;

	if (al_lit(c, "pam_unix(su:session): session closed for user ") ||
	    al_lit(c, "pam_unix(su-l:session): session closed for user ")) {
		if (al_word(c, &w, &n) != 0)
			return YM_E_PARSE;
		al_copy(o->target, sizeof(o->target), w, n);
		o->type = "su";
		o->status = "logoff";
		return 0;
	}
	o->status = al_lit(c, "FAILED SU ") ? "failure" : "success";
	if (!al_lit(c, "(to "))
		return YM_E_NOTFOUND;
	if (al_word(c, &w, &n) != 0 || w[n - 1] != ')')
		return YM_E_PARSE;
	al_copy(o->target, sizeof(o->target), w, n - 1);
	if (al_word(c, &w, &n) != 0)
		return YM_E_PARSE;
	al_copy(o->user, sizeof(o->user), w, n);
	o->type = "su";
	return 0;
}

/* "pam_unix(login:session): session opened for user root(uid=0) by ...",
 * "FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure" */
static int al_login(struct cursor *c, struct family_auth_line *o)
{
	const uint8_t *w;
	size_t n;
	long at;

	o->type = "console";
	if (al_lit(c, "pam_unix(login:session): session opened for user ")) {
		if (al_word(c, &w, &n) != 0)
			return YM_E_PARSE;
		at = (long)n;
		for (size_t i = 0; i < n; i++)
			if (w[i] == '(') {
				at = (long)i;
				break;
			}
		al_copy(o->user, sizeof(o->user), w, (size_t)at);
		o->status = "success";
		return 0;
	}
	if (al_lit(c, "pam_unix(login:session): session closed for user ")) {
		if (al_word(c, &w, &n) != 0)
			return YM_E_PARSE;
		al_copy(o->user, sizeof(o->user), w, n);
		o->status = "logoff";
		return 0;
	}
	if (al_lit(c, "FAILED LOGIN ")) {
		at = al_find(c, " FOR '", 1);
		if (at < 0 || cursor_get_bytes(c, (size_t)at + 6, &w) != 0)
			return YM_E_PARSE;
		at = al_find(c, "'", 0);
		if (at <= 0)
			return YM_E_PARSE;
		al_copy(o->user, sizeof(o->user), c->p + c->off, (size_t)at);
		o->status = "failure";
		return 0;
	}
	return YM_E_NOTFOUND;
}

/* The message at c of program o->prog: its parser by the program's name;
 * *named (may be NULL) is set when the message is one of the program's
 * authentication messages but malformed. */
static int al_message(struct cursor *c, struct family_auth_line *o, int *named)
{
	int rc;

	/* OpenSSH 9.8 on logs from sshd-session, 10.0 from sshd-auth too */
	if (strcmp(o->prog, "sshd") == 0 || strcmp(o->prog, "sshd-session") == 0 ||
	    strcmp(o->prog, "sshd-auth") == 0)
		rc = al_sshd(c, o);
	else if (strcmp(o->prog, "sudo") == 0)
		rc = al_sudo(c, o);
	else if (strcmp(o->prog, "su") == 0)
		rc = al_su(c, o);
	else if (strcmp(o->prog, "login") == 0)
		rc = al_login(c, o);
	else
		rc = YM_E_NOTFOUND;
	/* every event names its user; su's end, its target only */
	if (rc == 0 && o->user[0] == '\0' && !(o->status[0] == 'l' && o->target[0]))
		rc = YM_E_PARSE;
	if (rc != 0 && named != NULL)
		*named = rc == YM_E_PARSE;
	return rc;
}

/* family_auth_authlog_parse; *named as for al_message. */
static int al_parse(const char *line, size_t n, struct family_auth_line *out, int *named)
{
	struct family_auth_line o;
	struct cursor c;
	int rc;

	memset(&o, 0, sizeof(o));
	cursor_init(&c, line, n);
	if ((rc = al_header(&c, &o)) != 0)
		return rc == YM_E_TRUNCATED ? YM_E_PARSE : rc;
	o.repeat = 1;
	if ((rc = al_repeated(&c, &o.repeat)) != 0)
		return rc;
	if ((rc = al_message(&c, &o, named)) != 0)
		return rc;
	*out = o;
	return 0;
}

int family_auth_message_parse(const char *prog, int pid, const char *msg, size_t n,
			      struct family_auth_line *out, int *named)
{
	struct family_auth_line o;
	struct cursor c;
	size_t pl = strlen(prog);
	int rc;

	if (named != NULL)
		*named = 0;
	if (pl == 0 || pl >= sizeof(o.prog))
		return YM_E_NOTFOUND; /* no program of ours */
	memset(&o, 0, sizeof(o));
	memcpy(o.prog, prog, pl);
	o.pid = pid;
	o.repeat = 1;
	cursor_init(&c, msg, n);
	if ((rc = al_message(&c, &o, named)) != 0)
		return rc;
	*out = o;
	return 0;
}

int family_auth_authlog_parse(const char *line, size_t n, struct family_auth_line *out)
{
	return al_parse(line, n, out, NULL);
}

int family_auth_emit(const struct family_env *env, const struct family_auth_line *o, uint64_t ts_ns,
		     struct event *ev, struct event *scratch, char pidbuf[FAMILY_UTIL_U64_MAX],
		     family_emit_fn emit, void *arg)
{
	int rc = 0;

	event_init(ev);
	ev->ts_ns = ts_ns;
	ev->category = EVCAT_AUTHENTICATION;
	if (o->user[0])
		rc |= event_set_str(ev, "User", o->user);
	rc |= event_set_str(ev, "LogonType", o->type);
	rc |= event_set_str(ev, "Status", o->status);
	if (o->ip[0])
		rc |= event_set_str(ev, "SourceIp", o->ip);
	if (o->port[0])
		rc |= event_set_str(ev, "SourcePort", o->port);
	if (o->method[0])
		rc |= event_set_str(ev, "AuthMethod", o->method);
	if (o->target[0])
		rc |= event_set_str(ev, "TargetUser", o->target);
	if (o->cmd[0])
		rc |= event_set_str(ev, "CommandLine", o->cmd);
	rc |= event_set_str(ev, "ProcessName", o->prog);
	if (rc != 0 || family_util_proc_daemon(env, o->pid, ev, scratch, pidbuf) < 0 ||
	    emit(arg, ev) != 0)
		return -1;
	return 0;
}

/* One event of the parsed line o; 0, or -1 when it is lost (counted). Its
 * time is the line's (lines read at a start after a stop were written
 * while the agent did not run), unless that is over a year before now or
 * over a day after: then the read's. */
static int al_emit(struct family *f, const struct family_auth_line *o, family_emit_fn emit,
		   void *arg)
{
	const uint64_t day = 86400ull * 1000000000ull;
	uint64_t now = util_now_ns(), ts = o->ts_ns;

	if (ts == 0 || ts + 366 * day < now || ts > now + day)
		ts = now;
	if (family_auth_emit(&f->env, o, ts, &f->ev, &f->scratch, f->pidbuf, emit, arg) != 0) {
		f->st.drops++;
		return -1;
	}
	f->st.events++;
	return 0;
}

/* A line that names an authentication but cannot be read (cut, or a
 * format this parser does not know) is a lost event, counted; any other
 * line is none. A line rsyslog stands for N repeats is N events, at most
 * FAMILY_AUTH_REPEAT_MAX (the rest counted as lost). */
static void al_line(struct family *f, const uint8_t *p, size_t n, family_emit_fn emit, void *arg)
{
	struct family_auth_line *o = &f->ln;
	int named = 0;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (memchr(p, '\0', n) != NULL)
		return; /* not text (a file's zeroed tail after a crash) */
	if (al_parse((const char *)p, n, o, &named) != 0) {
		if (named)
			f->st.drops++;
		return;
	}
	for (unsigned i = 0; i < o->repeat; i++) {
		if (i == FAMILY_AUTH_REPEAT_MAX || al_emit(f, o, emit, arg) != 0) {
			/* past the bound, or refused (shed, counted): the rest */
			f->st.drops += o->repeat - i - (i < FAMILY_AUTH_REPEAT_MAX);
			break;
		}
	}
}

static int al_read(struct family *f, family_emit_fn emit, void *arg)
{
	int handled = 0;

	for (int round = 0; round < 64; round++) {
		int reset;
		ssize_t n = family_auth_follow_read(&f->fw, f->rbuf, sizeof(f->rbuf), &reset);

		if (n < 0)
			return (int)n;
		if (reset) {
			if (f->plen != 0 || f->skipping)
				f->st.drops++; /* a line cut by rotation or truncation */
			f->plen = 0;
			f->skipping = 0;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			uint8_t b = f->rbuf[i];

			if (b == '\n') {
				if (!f->skipping) {
					al_line(f, f->part, f->plen, emit, arg);
					handled++;
				}
				f->plen = 0;
				f->skipping = 0;
			} else if (f->skipping) {
				continue;
			} else if (f->plen < sizeof(f->part)) {
				f->part[f->plen++] = b;
			} else {
				f->st.drops++; /* overlong line: not parsed */
				f->skipping = 1;
				f->plen = 0;
			}
		}
	}
	return handled;
}

static int al_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	uint8_t ib[4096];

	(void)max; /* bounded by the read rounds instead */
	if (f->ino_fd >= 0)
		while (read(f->ino_fd, ib, sizeof(ib)) > 0) {
		}
	return al_read(f, emit, arg);
}

#define AL_POS_NAME "auth_authlog_position"

/* Saves where a start after a stop resumes (at a tick that moved it and at
 * the stop): the end of the last line handled. */
static void al_save(struct family *f)
{
	family_auth_follow_save(&f->env, &f->fw, AL_POS_NAME, "authlog", f->plen, f->skipping);
}

static int al_tick(struct family *f, family_emit_fn emit, void *arg)
{
	int rc = al_read(f, emit, arg);

	al_save(f);
	return rc < 0 ? rc : 0;
}

static void al_stop(struct family *f)
{
	if (f == NULL)
		return;
	al_save(f);
	family_auth_follow_close(&f->fw);
	if (f->ino_fd >= 0)
		close(f->ino_fd);
	free(f);
}

static int al_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	const char *path = getenv("YAMORI_AUTH_LOG");
	char dir[FAMILY_AUTH_FOLLOW_PATH];
	char *slash;
	int rc = YM_E_NOMEM;

	if (f == NULL)
		goto out;
	f->env = *env;
	f->ino_fd = -1;
	f->fw.fd = -1;
	if (path == NULL || path[0] == '\0') {
		path = access("/var/log/auth.log", R_OK) == 0 ? "/var/log/auth.log"
		       : access("/var/log/secure", R_OK) == 0 ? "/var/log/secure"
							      : NULL;
		if (path == NULL) {
			rc = YM_E_UNSUPPORTED; /* no syslog file here: journal only */
			goto out;
		}
	}
	rc = family_auth_follow_open(&f->env, &f->fw, path, AL_POS_NAME, "authlog", &f->skipping);
	if (rc != 0)
		goto out;
	/* inotify on the folder: writes, and the new file of a rotation */
	util_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		util_strlcpy(dir, ".", sizeof(dir));
	f->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->ino_fd >= 0 &&
	    inotify_add_watch(f->ino_fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) {
		close(f->ino_fd);
		f->ino_fd = -1; /* tick() still follows, once a second */
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	al_stop(f);
	return rc;
}

static int al_fd(const struct family *f)
{
	return f->ino_fd;
}

static void al_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
}

const struct family_ops family_auth_authlog_ops = {
    .family = "auth",
    .mode = "authlog",
    .start = al_start,
    .fd = al_fd,
    .poll = al_poll,
    .tick = al_tick,
    .stats = al_stats,
    .stop = al_stop,
};
