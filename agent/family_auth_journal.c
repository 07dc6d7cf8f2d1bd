/* Entries are read through libsystemd's sd-journal (the journal files'
 * format is systemd's to parse). Their MESSAGE is the sender's own text,
 * as untrusted as a syslog line; the fields journald adds itself (_UID,
 * _PID, _EXE: from the socket's credentials and /proc) are not the
 * sender's to choose, and decide whether an entry is believed. */
#include "family_auth_journal.h"
#include "err.h"
#include "family_auth_authlog.h"
#include "family_util.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

/* entries read per tick when the descriptor did not wake us */
#define JOURNAL_TICK_MAX 4096
/* W3615 at the first refused entry and every this many after */
#define JOURNAL_REFUSED_LOG 1000
/* in the state directory: the position of the last entry read, so that a
 * start after a stop (an upgrade, a crash, an intruder's kill) reads what
 * came meanwhile */
#define JOURNAL_CURSOR_NAME "auth_journal_cursor"
#define JOURNAL_CURSOR_MAX  1024
/* A refused entry that reads as an authentication is reported to the
 * server (agent_status forged_log_entry): at most this many a minute, so
 * a local user cannot flood the provider with them; each report carries
 * the count refused so far. */
#define JOURNAL_FORGED_REPORTS	 20
#define JOURNAL_FORGED_WINDOW_NS (60ull * 1000000000ull)
#define JOURNAL_FORGED_MSG_MAX	 1024 /* of the message, in the report */

static const char *const jr_progs[] = {"sshd", "sshd-session", "sshd-auth", "sudo", "su", "login"};

/* where the programs' executables are: folders only root writes */
static const char *const jr_dirs[] = {"/usr/sbin",   "/usr/bin",	 "/sbin",
				      "/bin",	     "/usr/lib/openssh", "/usr/libexec/openssh",
				      "/usr/libexec"};

struct family {
	struct family_env env;
	sd_journal *j;
	int fd;
	struct family_stats st;
	uint64_t refused;
	uint64_t forged_window;	 /* monotonic ns the reports' window began */
	unsigned forged_reports; /* sent in it */
	int unsaved;	    /* entries read since the position was last saved */
	int current_unread; /* the entry at the position is new (its start) */
	struct family_auth_line ln;
	struct event ev, scratch;
	char pidbuf[FAMILY_UTIL_U64_MAX], uidbuf[FAMILY_UTIL_U64_MAX];
	char countbuf[FAMILY_UTIL_U64_MAX];
	char msg[FAMILY_AUTH_LINE_MAX];
};

static int jr_is_sshd(const char *p)
{
	return strcmp(p, "sshd") == 0 || strcmp(p, "sshd-session") == 0 ||
	       strcmp(p, "sshd-auth") == 0;
}

int family_auth_journal_trusted(const char *prog, const char *uid, const char *exe)
{
	static const char deleted[] = " (deleted)"; /* replaced by an upgrade */
	char path[256];
	const char *base;
	size_t n, dl;

	if (uid != NULL && strcmp(uid, "0") == 0)
		return 1;
	/* su and sudo run with the caller's real uid: their executable */
	if (exe == NULL || (n = strlen(exe)) == 0 || n >= sizeof(path))
		return 0;
	memcpy(path, exe, n + 1);
	if (n > sizeof(deleted) - 1 && strcmp(path + n - (sizeof(deleted) - 1), deleted) == 0)
		path[n - (sizeof(deleted) - 1)] = '\0';
	base = strrchr(path, '/');
	if (base == NULL || strstr(path, "/..") != NULL || strstr(path, "//") != NULL)
		return 0;
	dl = (size_t)(base - path);
	base++;
	if (!(strcmp(base, prog) == 0 || (jr_is_sshd(prog) && jr_is_sshd(base))))
		return 0;
	for (size_t i = 0; i < sizeof(jr_dirs) / sizeof(jr_dirs[0]); i++)
		if (strlen(jr_dirs[i]) == dl && strncmp(path, jr_dirs[i], dl) == 0)
			return 1;
	return 0;
}

uint64_t family_auth_journal_refused(const struct family *f)
{
	return f->refused;
}

/* The value of field name in the current entry, NUL-terminated into out
 * (outsz bytes): 0; YM_E_NOTFOUND when the entry has none; YM_E_TOOBIG
 * when it does not fit; YM_E_PARSE when it holds a NUL. */
static int jr_field(sd_journal *j, const char *name, char *out, size_t outsz)
{
	const void *d;
	size_t l, nl = strlen(name);

	if (sd_journal_get_data(j, name, &d, &l) < 0 || l <= nl || ((const char *)d)[nl] != '=')
		return YM_E_NOTFOUND;
	l -= nl + 1;
	if (l >= outsz)
		return YM_E_TOOBIG;
	memcpy(out, (const char *)d + nl + 1, l);
	out[l] = '\0';
	return memchr(out, '\0', l) != NULL ? YM_E_PARSE : 0;
}

/* Reports a refused entry of program prog that reads as an authentication
 * (what a reader of the journal would have believed: a login forged by a
 * local user, to frame someone, to have an address banned, to hide in
 * noise) as an agent_status event, within the rate bound. uid, exe: its
 * sender's (journald's _UID and _EXE; NULL when missing); pid: _PID or 0. */
static void jr_forged(struct family *f, const char *prog, const char *uid, const char *exe,
		      uint64_t pid, uint64_t ts_ns, family_emit_fn emit, void *arg)
{
	struct event *ev = &f->ev;
	uint64_t now = util_mono_ns(), u;
	int rc = 0;

	if (f->forged_window == 0 || now - f->forged_window >= JOURNAL_FORGED_WINDOW_NS) {
		f->forged_window = now;
		f->forged_reports = 0;
	}
	if (f->forged_reports >= JOURNAL_FORGED_REPORTS)
		return; /* counted in refused: the next report's Refused says */
	f->forged_reports++;
	if (strlen(f->msg) > JOURNAL_FORGED_MSG_MAX)
		f->msg[JOURNAL_FORGED_MSG_MAX] = '\0';
	event_init(ev);
	ev->ts_ns = ts_ns;
	ev->product = "linux";
	ev->category = EVCAT_AGENT_STATUS;
	rc |= event_set_str(ev, "Status", "forged_log_entry");
	rc |= event_set_str(ev, "Family", "auth");
	rc |= event_set_str(ev, "Mode", "journal");
	rc |= event_set_str(ev, "Program", prog);
	rc |= event_set_str(ev, "Message", f->msg);
	rc |= event_set_str(ev, "Refused", family_util_u64(f->refused, f->countbuf));
	if (uid != NULL && util_parse_u64(uid, 0, UINT32_MAX - 1, &u) == 0)
		rc |= family_util_user(&f->env, (uint32_t)u, ev, f->uidbuf);
	if (exe != NULL)
		rc |= event_set_str(ev, "Image", exe);
	if (pid != 0)
		rc |= event_set_str(ev, "ProcessId", family_util_u64(pid, f->pidbuf));
	if (rc != 0 || emit(arg, ev) != 0) {
		f->st.drops++;
		return;
	}
	f->st.events++;
}

/* The current entry: an event when it is an authentication of one of the
 * programs, from that program; a report when it is one from another
 * sender. */
static void jr_entry(struct family *f, family_emit_fn emit, void *arg)
{
	char *msg = f->msg;
	char prog[64], uid[24], exe[256], pid_s[24];
	uint64_t usec = 0, pid = 0, ts;
	int rc, named = 0, have_uid, have_exe, parsed;

	if (jr_field(f->j, "SYSLOG_IDENTIFIER", prog, sizeof(prog)) != 0)
		return; /* our matches name it: not ours */
	rc = jr_field(f->j, "MESSAGE", msg, sizeof(f->msg));
	if (rc == YM_E_NOTFOUND)
		return;
	if (rc != 0) {
		f->st.drops++; /* over 8 KiB, or binary: not read */
		return;
	}
	have_uid = jr_field(f->j, "_UID", uid, sizeof(uid)) == 0;
	have_exe = jr_field(f->j, "_EXE", exe, sizeof(exe)) == 0;
	if (jr_field(f->j, "_PID", pid_s, sizeof(pid_s)) != 0 ||
	    util_parse_u64(pid_s, 1, INT32_MAX, &pid) != 0)
		pid = 0;
	parsed = family_auth_message_parse(prog, (int)pid, msg, strlen(msg), &f->ln, &named) == 0;
	(void)sd_journal_get_realtime_usec(f->j, &usec);
	ts = usec ? usec * 1000 : util_now_ns();
	if (!family_auth_journal_trusted(prog, have_uid ? uid : NULL, have_exe ? exe : NULL)) {
		if (f->refused++ % JOURNAL_REFUSED_LOG == 0)
			LOG_W("family", "W3615",
			      "auth (journal): a %s entry from uid %s (%s) is not that program's: "
			      "refused (%llu so far)",
			      prog, have_uid ? uid : "?", have_exe ? exe : "?",
			      (unsigned long long)f->refused);
		if (parsed)
			jr_forged(f, prog, have_uid ? uid : NULL, have_exe ? exe : NULL, pid, ts,
				  emit, arg);
		return;
	}
	if (!parsed) {
		if (named)
			f->st.drops++;
		return;
	}
	if (family_auth_emit(&f->env, &f->ln, ts, &f->ev, &f->scratch, f->pidbuf, emit, arg) != 0) {
		f->st.drops++;
		return;
	}
	f->st.events++;
}

/* Reads up to max new entries. Returns how many, or YM_E_IO. */
static int jr_read(struct family *f, int max, family_emit_fn emit, void *arg)
{
	int n = 0;

	/* takes the inotify events (new entries, new or rotated files) */
	if (sd_journal_process(f->j) < 0)
		return YM_E_IO;
	if (f->current_unread) {
		f->current_unread = 0;
		jr_entry(f, emit, arg);
		f->unsaved = 1;
		n++;
	}
	while (n < max) {
		int r = sd_journal_next(f->j);

		if (r < 0)
			return YM_E_IO;
		if (r == 0)
			break;
		jr_entry(f, emit, arg);
		f->unsaved = 1;
		n++;
	}
	return n;
}

static void jr_cursor_path(const struct family *f, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s", f->env.state_dir, JOURNAL_CURSOR_NAME);
}

/* Saves the position of the last entry read (at most once a tick). */
static void jr_save(struct family *f)
{
	char path[4096], *c = NULL;

	if (!f->unsaved || f->env.state_dir == NULL)
		return;
	f->unsaved = 0;
	jr_cursor_path(f, path, sizeof(path));
	if (sd_journal_get_cursor(f->j, &c) < 0 || util_write_file(path, c, strlen(c), 0600) != 0)
		LOG_W("family", "W3616",
		      "auth (journal): cannot save the position in %s: a start after a stop "
		      "reads from the journal's end",
		      path);
	free(c);
}

/* The entry time a cursor holds ("...;t=<hex usec>;..."): 0, or -1 when
 * it has none (no cursor of sd-journal's). */
static int jr_cursor_time(const char *c, uint64_t *usec)
{
	const char *t = strstr(c, ";t=");
	uint64_t v = 0;
	int digits = 0;

	if (t == NULL)
		return -1;
	for (t += 3; *t != '\0' && *t != ';'; t++, digits++) {
		int d = *t >= '0' && *t <= '9'	 ? *t - '0'
			: *t >= 'a' && *t <= 'f' ? *t - 'a' + 10
						 : -1;

		if (d < 0 || digits == 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	if (digits == 0)
		return -1;
	*usec = v;
	return 0;
}

/* Positions the reader after the entry the last run read last (its saved
 * cursor): 1 when it did, 0 when there is none to resume from. */
static int jr_resume(struct family *f)
{
	char path[4096], *c = NULL;
	uint64_t t = 0, at = 0;
	size_t n = 0;
	int r = 0, rc;

	if (f->env.state_dir == NULL)
		return 0;
	jr_cursor_path(f, path, sizeof(path));
	rc = util_read_file(path, JOURNAL_CURSOR_MAX, &c, &n);
	if (rc != 0) {
		if (!(rc == YM_E_IO && errno == ENOENT))
			LOG_W("family", "W3616",
			      "auth (journal): cannot read the last run's position in %s: from "
			      "the journal's end",
			      path);
		return 0;
	}
	if (n == 0 || memchr(c, '\0', n) != NULL || jr_cursor_time(c, &t) != 0 ||
	    sd_journal_seek_cursor(f->j, c) < 0 || sd_journal_next(f->j) <= 0)
		goto bad;
	/* the entry of the cursor, or the first after it where it is gone
	 * (the journal vacuumed): that one is new, and no older than it */
	if (sd_journal_test_cursor(f->j, c) <= 0) {
		if (sd_journal_get_realtime_usec(f->j, &at) < 0 || at < t)
			goto bad;
		f->current_unread = 1;
	}
	r = 1;
	goto out;
bad:
	LOG_W("family", "W3616",
	      "auth (journal): the last run's position in %s is not in the journal: from its end",
	      path);
out:
	free(c);
	return r;
}

static int jr_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	return jr_read(f, max > 0 ? max : 1, emit, arg);
}

static int jr_tick(struct family *f, family_emit_fn emit, void *arg)
{
	int rc = jr_read(f, JOURNAL_TICK_MAX, emit, arg);

	jr_save(f);
	return rc < 0 ? rc : 0;
}

static void jr_stop(struct family *f)
{
	if (f == NULL)
		return;
	jr_save(f);
	sd_journal_close(f->j);
	free(f);
}

static int jr_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	const char *dir = getenv("YAMORI_JOURNAL_DIR");
	char match[64];
	int rc = YM_E_NOMEM, rc2;

	if (f == NULL)
		goto out;
	f->env = *env;
	rc = YM_E_UNSUPPORTED;
	if (dir != NULL && dir[0] != '\0') {
		if (sd_journal_open_directory(&f->j, dir, 0) < 0)
			goto out;
	} else {
		/* no journald here (its socket): no journal to follow */
		if (access("/run/systemd/journal/socket", F_OK) != 0 ||
		    sd_journal_open(&f->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
			goto out;
	}
	/* matches on one field are alternatives */
	for (size_t i = 0; i < sizeof(jr_progs) / sizeof(jr_progs[0]); i++) {
		snprintf(match, sizeof(match), "SYSLOG_IDENTIFIER=%s", jr_progs[i]);
		if (sd_journal_add_match(f->j, match, 0) < 0)
			goto out;
	}
	/* after what the last run read, else from the end: the last entry of
	 * ours is taken as read. With none (previous() finds nothing), from
	 * the head: every entry of ours is new. At the tail with none, a read
	 * that found nothing made the next entry be skipped (libsystemd 252:
	 * the agent lost the first sshd entry after its start on a journal
	 * without one) */
	if (!jr_resume(f) &&
	    (sd_journal_seek_tail(f->j) < 0 || (rc2 = sd_journal_previous(f->j)) < 0 ||
	     (rc2 == 0 && sd_journal_seek_head(f->j) < 0)))
		goto out;
	f->fd = sd_journal_get_fd(f->j);
	if (f->fd < 0)
		goto out;
	*out = f;
	f = NULL;
	rc = 0;
out:
	jr_stop(f);
	return rc;
}

static int jr_fd(const struct family *f)
{
	return f->fd;
}

static void jr_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
}

const struct family_ops family_auth_journal_ops = {
    .family = "auth",
    .mode = "journal",
    .start = jr_start,
    .fd = jr_fd,
    .poll = jr_poll,
    .tick = jr_tick,
    .stop = jr_stop,
    .stats = jr_stats,
};
