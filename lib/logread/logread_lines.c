/* logread_lines: a bounded line reader. The buffer holds at most one line
 * plus one read's worth of bytes; a longer line is skipped, never grown
 * into. */
#include "logread.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (64u << 10)

static int lines_alloc(struct logread_lines *l, size_t maxline)
{
	if (maxline == 0 || maxline > LOGREAD_MAX_LINE)
		return YM_E_INVAL;
	l->maxline = maxline;
	l->cap = maxline + READ_CHUNK + 1;
	l->buf = malloc(l->cap);
	return l->buf ? 0 : YM_E_NOMEM;
}

int logread_lines_open(struct logread_lines *l, const char *path, size_t maxline)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	r = lines_alloc(l, maxline);
	if (r)
		goto out;
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0) {
		r = YM_E_IO;
		goto out;
	}
	return 0;
out:
	if (r) {
		int e = errno;
		logread_lines_close(l);
		errno = e;
	}
	return r;
}

int logread_lines_mem(struct logread_lines *l, const void *p, size_t len, size_t maxline)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->mem = p;
	l->memlen = len;
	r = lines_alloc(l, maxline);
	if (r)
		logread_lines_close(l);
	return r;
}

void logread_lines_close(struct logread_lines *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->buf);
	l->buf = NULL;
	l->cap = l->start = l->end = 0;
}

/* Moves the pending bytes to the front and reads more behind them. Returns
 * the number of bytes added (0 at end of input) or YM_E_IO. */
static long fill(struct logread_lines *l)
{
	size_t room;
	ssize_t n;

	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	room = l->cap - 1 - l->end;
	if (room > READ_CHUNK)
		room = READ_CHUNK;
	if (room == 0 || l->eof)
		return 0;
	if (l->fd < 0) {
		size_t left = l->memlen - l->memoff;
		if (left < room)
			room = left;
		memcpy(l->buf + l->end, l->mem + l->memoff, room);
		l->memoff += room;
		n = (ssize_t)room;
	} else {
		do {
			n = read(l->fd, l->buf + l->end, room);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return YM_E_IO;
	}
	if (n == 0)
		l->eof = 1;
	l->end += (size_t)n;
	return (long)n;
}

int logread_lines_next(struct logread_lines *l, const char **line, size_t *len)
{
	int skipping = 0;
	size_t scanned = 0;

	if (!l->buf)
		return YM_E_INVAL;
	for (;;) {
		uint8_t *s = l->buf + l->start;
		size_t avail = l->end - l->start;
		uint8_t *nl = avail > scanned ? memchr(s + scanned, '\n', avail - scanned) : NULL;
		long got;

		if (nl || (l->eof && avail > 0)) {
			size_t n = nl ? (size_t)(nl - s) : avail;

			l->start += nl ? n + 1 : n;
			l->lineno++;
			if (skipping || n > l->maxline)
				return YM_E_TOOBIG;
			if (n > 0 && s[n - 1] == '\r')
				n--;
			s[n] = 0; /* the newline's byte, the '\r', or the spare byte at the end */
			*line = (const char *)s;
			*len = n;
			return 1;
		}
		if (l->eof)
			return skipping ? (l->lineno++, YM_E_TOOBIG) : 0;
		if (avail > l->maxline) {
			/* too long: drop what we have and look for the end of it */
			skipping = 1;
			l->start = l->end;
			avail = 0;
		}
		scanned = avail;
		got = fill(l);
		if (got < 0)
			return (int)got;
	}
}
