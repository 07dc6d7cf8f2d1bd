/* logread: whole files, format detection and the reader loop. */
#include "logread_int.h"

#include "err.h"
#include "event.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct logread {
	enum logread_format fmt;
	struct logread_opts o;
	struct logread_lines lines;
	struct logread_evtx *evtx;
	struct logread_arena arena;
	uint64_t now_ns;
};

void logread_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whysz)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

static const char *const fmt_names[] = {"auto", "ndjson", "syslog", "evtx"};

int logread_format_parse(const char *s, enum logread_format *out)
{
	for (unsigned i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++) {
		if (strcmp(s, fmt_names[i]) == 0) {
			*out = (enum logread_format)i;
			return 0;
		}
	}
	return YM_E_INVAL;
}

const char *logread_format_name(enum logread_format f)
{
	return (unsigned)f < sizeof(fmt_names) / sizeof(fmt_names[0]) ? fmt_names[f] : "";
}

enum logread_format logread_format(const struct logread *r)
{
	return r->fmt;
}

/* Looks at the first bytes: the EVTX signature, else '{' after blanks. */
static int sniff(const char *path, enum logread_format *out)
{
	uint8_t b[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = YM_E_IO;

	if (fd < 0)
		return YM_E_IO;
	do {
		n = read(fd, b, sizeof(b));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		goto out;
	r = 0;
	if (n >= 8 && memcmp(b, "ElfFile\0", 8) == 0) {
		*out = LOGREAD_EVTX;
		goto out;
	}
	*out = LOGREAD_SYSLOG;
	for (ssize_t i = 0; i < n; i++) {
		if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')
			continue;
		if (b[i] == '{')
			*out = LOGREAD_NDJSON;
		break;
	}
out:
	if (r) {
		int e = errno;
		close(fd);
		errno = e;
	} else {
		close(fd);
	}
	return r;
}

void logread_close(struct logread *r)
{
	if (!r)
		return;
	logread_lines_close(&r->lines);
	logread_evtx_close(r->evtx);
	logread_arena_free(&r->arena);
	free(r);
}

int logread_open(const char *path, enum logread_format fmt, const struct logread_opts *o,
		 struct logread **out)
{
	struct logread *r = calloc(1, sizeof(*r));
	char why[256];
	int rc = YM_E_NOMEM;

	if (!r)
		goto out;
	r->lines.fd = -1;
	if (o)
		r->o = *o;
	r->now_ns = util_now_ns();
	if ((rc = logread_arena_init(&r->arena, LOGREAD_ARENA)))
		goto out;
	if (fmt == LOGREAD_AUTO && (rc = sniff(path, &fmt)))
		goto out;
	r->fmt = fmt;
	if (fmt == LOGREAD_EVTX)
		rc = logread_evtx_open(path, &r->evtx, why, sizeof(why));
	else
		rc = logread_lines_open(&r->lines, path, LOGREAD_MAX_LINE);
	if (rc)
		goto out;
	*out = r;
	r = NULL;
out:
	if (rc) {
		int e = errno;
		logread_close(r);
		errno = e;
	}
	return rc;
}

int logread_next(struct logread *r, struct event *ev, struct logread_rec *rec, uint64_t *where,
		 char *why, size_t whysz)
{
	const char *line;
	size_t len;
	int rc;

	if (r->fmt == LOGREAD_EVTX)
		return logread_evtx_next(r->evtx, &r->o, &r->arena, ev, rec, where, why, whysz);
	for (;;) {
		rc = logread_lines_next(&r->lines, &line, &len);
		*where = r->lines.lineno;
		if (rc == YM_E_TOOBIG) {
			logread_why(why, whysz, "line longer than %u bytes", LOGREAD_MAX_LINE);
			return rc;
		}
		if (rc <= 0)
			return rc;
		/* blank lines are no records */
		if (len == 0 || strspn(line, " \t") == len)
			continue;
		if (memchr(line, 0, len)) {
			logread_why(why, whysz, "NUL byte in the line");
			return YM_E_PARSE;
		}
		if (r->fmt == LOGREAD_NDJSON)
			rc = logread_ndjson_parse(line, len, &r->o, &r->arena, ev, rec, why, whysz);
		else
			rc = logread_syslog_parse(line, len, &r->o, r->now_ns, &r->arena, ev, rec,
						  why, whysz);
		return rc ? rc : 1;
	}
}
