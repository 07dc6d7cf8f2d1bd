/* logread_syslog: RFC 5424 and RFC 3164 (and the traditional file format
 * rsyslog writes) lines into fields HOSTNAME, APP, PID, MSGID, SD, MESSAGE,
 * FACILITY, SEVERITY, with the Sigma service derived from the program. */
#include "logread_int.h"

#include "buf.h"
#include "err.h"
#include "event.h"

#include <string.h>
#include <strings.h>

static const char *const facilities[24] = {
    "kern",   "user",	"mail",	    "daemon", "auth",	"syslog",   "lpr",     "news",
    "uucp",   "cron",	"authpriv", "ftp",    "ntp",	"security", "console", "solaris-cron",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7",
};
static const char *const severities[8] = {"emerg",   "alert",  "crit", "err",
					  "warning", "notice", "info", "debug"};

/* program name -> Sigma service (SigmaHQ rules/linux/builtin/) */
static const struct {
	const char *app, *service;
} services[] = {
    {"sshd", "sshd"},		{"cron", "cron"},	{"crond", "cron"},
    {"anacron", "cron"},	{"sudo", "sudo"},	{"su", "auth"},
    {"login", "auth"},		{"passwd", "auth"},	{"useradd", "auth"},
    {"userdel", "auth"},	{"usermod", "auth"},	{"groupadd", "auth"},
    {"groupdel", "auth"},	{"chpasswd", "auth"},	{"chage", "auth"},
    {"systemd-logind", "auth"}, {"polkitd", "auth"},	{"pkexec", "auth"},
    {"unix_chkpwd", "auth"},	{"vsftpd", "vsftpd"},	{"clamd", "clamav"},
    {"freshclam", "clamav"},	{"clamscan", "clamav"}, {"guacd", "guacamole"},
    {"auditd", "auditd"},	{"audispd", "auditd"},
};

static const char *service_of(const char *app, size_t n, int facility)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (strlen(services[i].app) == n && strncasecmp(services[i].app, app, n) == 0)
			return services[i].service;
	}
	if (facility == 4 || facility == 10)
		return "auth";
	return "syslog";
}

/* A word up to the next space; the cursor stops after that space. */
static int word(struct cursor *c, const char **w, size_t *n)
{
	const uint8_t *p;
	size_t k = 0, left = cursor_left(c);

	while (k < left && c->p[c->off + k] != ' ')
		k++;
	if (k == 0 || cursor_get_bytes(c, k, &p))
		return YM_E_PARSE;
	*w = (const char *)p;
	*n = k;
	if (cursor_left(c) > 0)
		(void)cursor_get_bytes(c, 1, &p);
	return 0;
}

static int num(const uint8_t *p, size_t n, unsigned *v)
{
	*v = 0;
	if (n == 0)
		return YM_E_PARSE;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return YM_E_PARSE;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* "Mmm dd hh:mm:ss" (day space-padded) with the year guessed from now. */
static int time_3164(struct cursor *c, uint64_t now_ns, uint64_t *ns)
{
	const uint8_t *p;

	if (cursor_get_bytes(c, 15, &p))
		return YM_E_PARSE;
	return timefmt_3164((const char *)p, 15, now_ns, 0, ns);
}

/* 5424 structured data: "-" or one or more [id param="value" ...]. */
static int sd_skip(struct cursor *c, const char **sd, size_t *n)
{
	const uint8_t *p;
	size_t start = c->off;

	if (cursor_left(c) > 0 && c->p[c->off] == '-') {
		(void)cursor_get_bytes(c, 1, &p);
		*sd = NULL;
		*n = 0;
	} else {
		while (cursor_left(c) > 0 && c->p[c->off] == '[') {
			int inq = 0;
			for (;;) {
				if (cursor_get_bytes(c, 1, &p))
					return YM_E_PARSE;
				if (inq && *p == '\\') {
					if (cursor_get_bytes(c, 1, &p))
						return YM_E_PARSE;
					continue;
				}
				if (*p == '"')
					inq = !inq;
				else if (!inq && *p == ']')
					break;
			}
		}
		if (c->off == start)
			return YM_E_PARSE;
		*sd = (const char *)c->p + start;
		*n = c->off - start;
	}
	if (cursor_left(c) > 0) {
		if (c->p[c->off] != ' ')
			return YM_E_PARSE;
		(void)cursor_get_bytes(c, 1, &p);
	}
	return 0;
}

static void add(struct logread_fields *fl, struct logread_arena *a, const char *name, const char *v,
		size_t n)
{
	if (v && n && !(n == 1 && v[0] == '-'))
		logread_fields_add(fl, a, name, strlen(name), v, n);
}

int logread_syslog_parse(const char *line, size_t len, const struct logread_opts *o,
			 uint64_t now_ns, struct logread_arena *arena, struct event *ev,
			 struct logread_rec *rec, char *why, size_t whysz)
{
	static __thread struct logread_fields fl;
	struct cursor c;
	const uint8_t *p;
	const char *host = NULL, *app = NULL, *pid = NULL, *msgid = NULL, *sd = NULL, *ts;
	size_t hn = 0, an = 0, pn = 0, mn = 0, sn = 0, tn;
	int facility = -1, severity = -1;
	unsigned pri;
	uint64_t ns = 0;

	event_init(ev);
	memset(rec, 0, sizeof(*rec));
	logread_arena_reset(arena);
	fl.n = 0;
	fl.dropped = 0;
	fl.windows = 0;
	cursor_init(&c, line, len);
	if (cursor_left(&c) > 0 && line[0] == '<') {
		size_t k = 1;
		while (k < len && k < 5 && line[k] != '>')
			k++;
		if (k >= len || line[k] != '>' || num((const uint8_t *)line + 1, k - 1, &pri) ||
		    pri > 191) {
			logread_why(why, whysz, "bad <PRI>");
			return YM_E_PARSE;
		}
		(void)cursor_get_bytes(&c, k + 1, &p);
		facility = (int)(pri >> 3);
		severity = (int)(pri & 7);
	}
	if (cursor_left(&c) >= 2 && c.p[c.off] == '1' && c.p[c.off + 1] == ' ') {
		/* RFC 5424 */
		(void)cursor_get_bytes(&c, 2, &p);
		if (word(&c, &ts, &tn) || word(&c, &host, &hn) || word(&c, &app, &an) ||
		    word(&c, &pid, &pn) || word(&c, &msgid, &mn) || sd_skip(&c, &sd, &sn)) {
			logread_why(why, whysz, "not an RFC 5424 header");
			return YM_E_PARSE;
		}
		if (!(tn == 1 && ts[0] == '-') && timefmt_rfc3339(ts, tn, &ns)) {
			logread_why(why, whysz, "bad RFC 5424 time stamp");
			return YM_E_PARSE;
		}
		if (cursor_left(&c) >= 3 && memcmp(c.p + c.off, "\xef\xbb\xbf", 3) == 0)
			(void)cursor_get_bytes(&c, 3, &p);
	} else {
		/* RFC 3164 / file format: time, host, tag[pid]: message */
		size_t k = 0, left = cursor_left(&c);
		if (left >= 4 && c.p[c.off] >= '0' && c.p[c.off] <= '9') {
			if (word(&c, &ts, &tn) || timefmt_rfc3339(ts, tn, &ns)) {
				logread_why(why, whysz, "bad time stamp");
				return YM_E_PARSE;
			}
		} else if (time_3164(&c, now_ns, &ns) || cursor_get_bytes(&c, 1, &p) || *p != ' ') {
			logread_why(why, whysz,
				    "no syslog time stamp (Mmm dd hh:mm:ss or RFC 3339)");
			return YM_E_PARSE;
		}
		if (word(&c, &host, &hn)) {
			logread_why(why, whysz, "no host name");
			return YM_E_PARSE;
		}
		left = cursor_left(&c);
		while (k < left && k < 64 && c.p[c.off + k] != ':' && c.p[c.off + k] != '[' &&
		       c.p[c.off + k] != ' ')
			k++;
		if (k > 0 && k < left && (c.p[c.off + k] == ':' || c.p[c.off + k] == '[')) {
			(void)cursor_get_bytes(&c, k, &p);
			app = (const char *)p;
			an = k;
			if (c.p[c.off] == '[') {
				size_t j = 1;
				left = cursor_left(&c);
				while (j < left && j < 24 && c.p[c.off + j] != ']')
					j++;
				if (j < left && c.p[c.off + j] == ']') {
					(void)cursor_get_bytes(&c, j + 1, &p);
					pid = (const char *)p + 1;
					pn = j - 1;
				}
			}
			if (cursor_left(&c) > 0 && c.p[c.off] == ':')
				(void)cursor_get_bytes(&c, 1, &p);
			if (cursor_left(&c) > 0 && c.p[c.off] == ' ')
				(void)cursor_get_bytes(&c, 1, &p);
		}
	}
	add(&fl, arena, "HOSTNAME", host, hn);
	add(&fl, arena, "APP", app, an);
	add(&fl, arena, "PID", pid, pn);
	add(&fl, arena, "MSGID", msgid, mn);
	add(&fl, arena, "SD", sd, sn);
	add(&fl, arena, "MESSAGE", (const char *)c.p + c.off, cursor_left(&c));
	if (facility >= 0) {
		add(&fl, arena, "FACILITY", facilities[facility], strlen(facilities[facility]));
		add(&fl, arena, "SEVERITY", severities[severity], strlen(severities[severity]));
	}
	rec->product = o && o->product ? o->product : "linux";
	rec->category = o ? o->category : NULL;
	rec->service = o && o->service			    ? o->service
		       : app && !(an == 1 && app[0] == '-') ? service_of(app, an, facility)
		       : facility == 4 || facility == 10    ? "auth"
							    : "syslog";
	if (logread_fields_commit(&fl, arena, ev, rec, why, whysz))
		return YM_E_PARSE;
	ev->ts_ns = ns;
	ev->host = host && !(hn == 1 && host[0] == '-') ? logread_arena_dup(arena, host, hn) : NULL;
	return 0;
}
