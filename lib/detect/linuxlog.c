/* linuxlog: raw Linux log lines -> struct event for SigmaHQ's linux rules.
 *
 *   auditd: "type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e
 *           syscall=59 exe="/usr/bin/id" key="x"" -> product linux, service
 *           auditd, field type plus one field per key=value (quotes removed;
 *           hex-encoded values are kept as they are), ts from msg=audit(...).
 *   syslog: "[<PRI>]Mmm dd hh:mm:ss host program[pid]: message" -> product
 *           linux, fields message, host, program, pid; service from the
 *           program (sshd, sudo, cron, su / login -> auth, else syslog).
 *           SigmaHQ's syslog rules are keyword searches over the message.
 *
 * The line is copied into the caller's struct linuxlog and split there (NULs
 * written in place), read only through bounds checks. */
#include "detect_int.h"

#include "err.h"
#include "event.h"

#include <string.h>
#include <strings.h>

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int put(struct linuxlog *l, const char *name, const char *v, size_t n)
{
	if (l->nfields >= LINUXLOG_MAX_FIELDS)
		return YM_E_TOOBIG;
	l->fields[l->nfields].name = name;
	l->fields[l->nfields].value = v;
	l->fields[l->nfields].value_len = (uint32_t)n;
	l->nfields++;
	return 0;
}

static int copy_line(struct linuxlog *l, const char *line, size_t len)
{
	if (len >= sizeof(l->buf) || memchr(line, 0, len))
		return len >= sizeof(l->buf) ? YM_E_TOOBIG : YM_E_INVAL;
	memcpy(l->buf, line, len);
	l->buf[len] = 0;
	while (len && (l->buf[len - 1] == '\n' || l->buf[len - 1] == '\r'))
		l->buf[--len] = 0;
	l->len = len;
	l->nfields = 0;
	return 0;
}

static void finish(struct linuxlog *l, struct event *ev, const char *service, uint64_t ts)
{
	event_init(ev);
	ev->product = "linux";
	ev->service = service;
	ev->ts_ns = ts;
	ev->xfields = l->fields;
	ev->nxfields = l->nfields;
}

int linuxlog_auditd(struct linuxlog *l, const char *line, size_t len, struct event *ev)
{
	char *b = l->buf;
	size_t i = 0, n;
	uint64_t ts = 0;
	int rc;

	if ((rc = copy_line(l, line, len)) < 0)
		return rc;
	n = l->len;
	while (i < n) {
		size_t k0, v0, v1;
		while (i < n && is_space(b[i]))
			i++;
		k0 = i;
		while (i < n && b[i] != '=' && !is_space(b[i]))
			i++;
		if (i >= n || b[i] != '=' || i == k0) {
			while (i < n && !is_space(b[i]))
				i++; /* a word without '=' (e.g. a trailing ':'): skipped */
			continue;
		}
		b[i++] = 0;
		if (i < n && (b[i] == '"' || b[i] == '\'')) {
			char q = b[i++];
			v0 = i;
			while (i < n && b[i] != q)
				i++;
			v1 = i;
			if (i < n)
				i++;
		} else {
			v0 = i;
			while (i < n && !is_space(b[i]))
				i++;
			v1 = i;
		}
		if (i == v1 && i < n)
			i++; /* the separator that b[v1] = 0 overwrites below */
		if (strcmp(b + k0, "msg") == 0 && strncmp(b + v0, "audit(", 6) == 0) {
			/* msg=audit(SECS.MS:SERIAL): */
			uint64_t secs = 0, ms = 0;
			size_t j = v0 + 6;
			while (j < v1 && b[j] >= '0' && b[j] <= '9' && secs < 100000000000ull)
				secs = secs * 10 + (uint64_t)(b[j++] - '0');
			if (j < v1 && b[j] == '.') {
				size_t d = 0;
				for (j++; j < v1 && b[j] >= '0' && b[j] <= '9' && d < 3; j++, d++)
					ms = ms * 10 + (uint64_t)(b[j] - '0');
				for (; d < 3; d++)
					ms *= 10;
			}
			ts = secs * 1000000000ull + ms * 1000000ull;
			b[v1] = 0;
			continue;
		}
		b[v1] = 0;
		if ((rc = put(l, b + k0, b + v0, v1 - v0)) < 0)
			return rc;
	}
	finish(l, ev, "auditd", ts);
	return 0;
}

int linuxlog_syslog(struct linuxlog *l, const char *line, size_t len, struct event *ev)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char *b = l->buf;
	size_t i = 0, n, h0, p0, p1, close = 0;
	const char *service = "syslog";
	int rc, stamp = 0;

	if ((rc = copy_line(l, line, len)) < 0)
		return rc;
	n = l->len;
	if (i < n && b[i] == '<') {
		size_t j = i + 1;
		while (j < n && j < 6 && b[j] >= '0' && b[j] <= '9')
			j++;
		if (j < n && b[j] == '>')
			i = j + 1;
	}
	for (size_t m = 0; m < 12 && n - i >= 15; m++) {
		if (strncmp(b + i, months[m], 3) == 0 && b[i + 3] == ' ' && b[i + 9] == ':' &&
		    b[i + 12] == ':')
			stamp = 1;
	}
	if (!stamp) {
		/* no header: the whole line is the message */
		if ((rc = put(l, "message", b + i, n - i)) < 0)
			return rc;
		finish(l, ev, service, 0);
		return 0;
	}
	i += 15;
	while (i < n && is_space(b[i]))
		i++;
	h0 = i;
	while (i < n && !is_space(b[i]))
		i++;
	if (i >= n) {
		if ((rc = put(l, "message", b + h0, n - h0)) < 0)
			return rc;
		finish(l, ev, service, 0);
		return 0;
	}
	b[i++] = 0;
	if ((rc = put(l, "host", b + h0, strlen(b + h0))) < 0)
		return rc;
	p0 = i;
	while (i < n && b[i] != ':' && b[i] != '[' && !is_space(b[i]))
		i++;
	p1 = i;
	if (i < n && b[i] == '[') {
		size_t d0 = i + 1;
		while (i < n && b[i] != ']')
			i++;
		if (i < n && i + 1 < n && b[i + 1] == ':') {
			close = i;
			b[i++] = 0;
			if ((rc = put(l, "pid", b + d0, strlen(b + d0))) < 0)
				return rc;
		}
	}
	if (i < n && b[i] == ':') {
		b[p1] = 0;
		if ((rc = put(l, "program", b + p0, p1 - p0)) < 0)
			return rc;
		if (strcmp(b + p0, "sshd") == 0)
			service = "sshd";
		else if (strcmp(b + p0, "sudo") == 0)
			service = "sudo";
		else if (strcasecmp(b + p0, "cron") == 0 || strcmp(b + p0, "crond") == 0)
			service = "cron";
		else if (strcmp(b + p0, "su") == 0 || strcmp(b + p0, "login") == 0 ||
			 strncmp(b + p0, "systemd-logind", 14) == 0)
			service = "auth";
		i++;
		while (i < n && is_space(b[i]))
			i++;
	} else {
		if (close)
			b[close] = ']';
		i = p0; /* no "program:": the rest is the message */
	}
	if ((rc = put(l, "message", b + i, n - i)) < 0)
		return rc;
	finish(l, ev, service, 0);
	return 0;
}
