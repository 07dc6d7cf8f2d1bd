#include "procinfo.h"
#include "kpath.h"
#include "buf.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Reads at most cap bytes of a /proc file into p. Returns 0 and *n, or
 * YM_E_NOTFOUND / YM_E_IO. A read that returns less than it asked for has
 * reached the end: /proc's files (seq_file records generated whole, a
 * process's argv copied until its end) return all they have up to the size
 * asked, so the read that would return 0 is not made (a system call per
 * file, four per process in netlink mode). */
static int procinfo_slurp(const char *path, char *p, size_t cap, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t got = 0;
	int r = YM_E_IO;

	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? YM_E_NOTFOUND : YM_E_IO;
	while (got < cap) {
		ssize_t k = read(fd, p + got, cap - got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ESRCH)
				r = YM_E_NOTFOUND;
			goto out;
		}
		if (k == 0)
			break;
		got += (size_t)k;
		if ((size_t)k < cap - (got - (size_t)k))
			break;
	}
	*n = got;
	r = 0;
out:
	close(fd);
	return r;
}

int procinfo_slurp_file(const char *path, char *p, size_t cap, size_t *n)
{
	return procinfo_slurp(path, p, cap, n);
}

/* Reads the next space-separated decimal field from the cursor. */
static int procinfo_field(struct cursor *c, int neg_ok, int64_t *v)
{
	const uint8_t *b;
	uint64_t acc = 0;
	int neg = 0, digits = 0;

	if (cursor_get_bytes(c, 1, &b) || *b != ' ')
		return YM_E_PARSE;
	if (cursor_left(c) && c->p[c->off] == '-' && neg_ok) {
		neg = 1;
		c->off++;
	}
	while (cursor_left(c) && c->p[c->off] >= '0' && c->p[c->off] <= '9') {
		if (acc > (UINT64_MAX - 9) / 10)
			return YM_E_PARSE;
		acc = acc * 10 + (uint64_t)(c->p[c->off] - '0');
		c->off++;
		digits++;
	}
	if (!digits || acc > INT64_MAX)
		return YM_E_PARSE;
	*v = neg ? -(int64_t)acc : (int64_t)acc;
	return 0;
}

/* Skips one space-separated token of any content. */
static int procinfo_skip(struct cursor *c)
{
	const uint8_t *b;
	if (cursor_get_bytes(c, 1, &b) || *b != ' ')
		return YM_E_PARSE;
	if (!cursor_left(c) || c->p[c->off] == ' ')
		return YM_E_PARSE;
	while (cursor_left(c) && c->p[c->off] != ' ' && c->p[c->off] != '\n')
		c->off++;
	return 0;
}

int procinfo_parse_stat(const char *text, size_t n, struct procstat *out)
{
	struct cursor c;
	struct procstat st;
	size_t rp = n, i;
	int64_t v;

	/* pid: leading decimal */
	memset(&st, 0, sizeof(st));
	for (i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
		if (st.pid > 100000000)
			return YM_E_PARSE;
		st.pid = st.pid * 10 + (text[i] - '0');
	}
	if (i == 0 || i + 1 >= n || text[i] != ' ' || text[i + 1] != '(')
		return YM_E_PARSE;
	while (rp > i && text[rp - 1] != ')')
		rp--;
	if (rp <= i + 2)
		return YM_E_PARSE;
	/* after ')': " state ppid pgrp session tty tpgid flags ... starttime(22)" */
	cursor_init(&c, text + rp, n - rp);
	if (procinfo_skip(&c)) /* 3 state */
		return YM_E_PARSE;
	if (procinfo_field(&c, 0, &v) || v > INT32_MAX) /* 4 ppid */
		return YM_E_PARSE;
	st.ppid = (int32_t)v;
	for (int f = 5; f <= 8; f++) { /* pgrp session tty_nr tpgid (may be -1) */
		if (procinfo_field(&c, 1, &v))
			return YM_E_PARSE;
		if (f == 7)
			st.tty_nr = v >= 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
	}
	if (procinfo_field(&c, 0, &v) || v > UINT32_MAX) /* 9 flags */
		return YM_E_PARSE;
	st.flags = (uint32_t)v;
	for (int f = 10; f <= 21; f++) /* minflt ... itrealvalue; priority/nice may be < 0 */
		if (procinfo_field(&c, 1, &v))
			return YM_E_PARSE;
	if (procinfo_field(&c, 0, &v)) /* 22 starttime */
		return YM_E_PARSE;
	st.start_time = (uint64_t)v;
	*out = st;
	return 0;
}

/* Parses the nth (from 0) decimal after "Key:\t" in the line that starts
 * with key, the numbers separated by tabs or spaces. */
static int procinfo_status_nth(const char *text, size_t n, const char *key, int nth, uint32_t *v)
{
	size_t kl = strlen(key), i = 0;

	while (i < n) {
		size_t eol = i;
		while (eol < n && text[eol] != '\n')
			eol++;
		if (eol - i > kl && memcmp(text + i, key, kl) == 0) {
			uint64_t acc = 0;
			size_t j = i + kl, d = 0;

			for (int k = 0; k <= nth; k++) {
				acc = 0;
				d = 0;
				while (j < eol && (text[j] == '\t' || text[j] == ' '))
					j++;
				while (j < eol && text[j] >= '0' && text[j] <= '9' && d < 11) {
					acc = acc * 10 + (uint64_t)(text[j] - '0');
					j++;
					d++;
				}
				if (!d || acc > UINT32_MAX ||
				    (j < eol && text[j] != '\t' && text[j] != ' '))
					return YM_E_PARSE;
			}
			*v = (uint32_t)acc;
			return 0;
		}
		i = eol + 1;
	}
	return YM_E_PARSE;
}

int procinfo_parse_ids(const char *text, size_t n, uint32_t *uid, uint32_t *gid, uint32_t *euid,
		       uint32_t *egid)
{
	uint32_t u, g, e, eg;

	if (procinfo_status_nth(text, n, "Uid:", 0, &u) ||
	    procinfo_status_nth(text, n, "Uid:", 1, &e) ||
	    procinfo_status_nth(text, n, "Gid:", 0, &g) ||
	    procinfo_status_nth(text, n, "Gid:", 1, &eg))
		return YM_E_PARSE;
	*uid = u;
	*gid = g;
	*euid = e;
	*egid = eg;
	return 0;
}

int procinfo_read_container(int32_t pid, char out[65])
{
	char path[64], text[4096];
	size_t n;

	/* a process in many v1 hierarchies has a line each: the first 4 KiB
	 * hold the id when any does (every line names the same cgroup) */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (procinfo_slurp(path, text, sizeof(text), &n) != 0)
		return 0;
	return kpath_container_id(text, n, out);
}

size_t procinfo_parse_tty_drivers(const char *text, size_t n, struct procinfo_ttydrv *tab,
				  size_t max)
{
	size_t i = 0, got = 0;

	/* "pty_slave            /dev/pts      136 0-1048575 pty:slave": driver
	 * name, /dev/NAME, major, minor or minor range, type */
	while (i < n && got < max) {
		char tok[5][32];
		size_t eol = i, nt;
		struct procinfo_ttydrv d;
		uint64_t v, lo, hi;
		char *dash;

		while (eol < n && text[eol] != '\n')
			eol++;
		nt = util_split_spaces(text + i, eol - i, tok[0], sizeof(tok[0]), 5);
		i = eol + 1;
		if (nt < 4 || strncmp(tok[1], "/dev/", 5) != 0 || tok[1][5] == 0 ||
		    strchr(tok[1] + 5, '/') != NULL || strlen(tok[1] + 5) >= sizeof(d.name) ||
		    util_parse_u64(tok[2], 0, 4095, &v) != 0)
			continue;
		memset(&d, 0, sizeof(d));
		memcpy(d.name, tok[1] + 5, strlen(tok[1] + 5));
		d.major = (uint32_t)v;
		dash = strchr(tok[3], '-');
		if (dash) {
			*dash = 0;
			if (util_parse_u64(tok[3], 0, 0xfffff, &lo) != 0 ||
			    util_parse_u64(dash + 1, lo, 0xfffff, &hi) != 0)
				continue;
			d.numbered = 1;
		} else if (util_parse_u64(tok[3], 0, 0xfffff, &lo) != 0) {
			continue;
		} else {
			hi = lo;
		}
		d.minor_lo = (uint32_t)lo;
		d.minor_hi = (uint32_t)hi;
		tab[got++] = d;
	}
	return got;
}

size_t procinfo_tty_name(const struct procinfo_ttydrv *tab, size_t count, uint32_t tty_nr,
			 char *out, size_t outsz)
{
	/* the kernel's new_encode_dev: minor's low 8 bits, major, minor's rest */
	uint32_t major = (tty_nr >> 8) & 0xfff,
		 minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
	int k;

	if (tty_nr == 0)
		return 0;
	for (size_t i = 0; i < count; i++) {
		const struct procinfo_ttydrv *d = &tab[i];

		if (d->major != major || minor < d->minor_lo || minor > d->minor_hi)
			continue;
		/* a virtual console's index counts from 1 as its name does
		 * (minors 1-63: tty1-tty63); other drivers' from their first
		 * minor (ttyS0 is minor 64, pts0 minor 0) */
		if (d->numbered)
			k = snprintf(out, outsz, "%s%u", d->name,
				     strcmp(d->name, "tty") == 0 && major == 4
					 ? minor
					 : minor - d->minor_lo);
		else
			k = snprintf(out, outsz, "%s", d->name);
		return k > 0 && (size_t)k < outsz ? (size_t)k : 0;
	}
	return 0;
}

size_t procinfo_join_cmdline(char *p, size_t n)
{
	while (n > 0 && p[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n; i++)
		if (p[i] == 0)
			p[i] = ' ';
	p[n] = 0;
	return n;
}

int procinfo_read_stat(int32_t pid, struct procstat *out)
{
	char path[64], text[1024];
	size_t n;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = procinfo_slurp(path, text, sizeof(text), &n);
	if (r)
		return r;
	return procinfo_parse_stat(text, n, out);
}

static int procinfo_link(int32_t pid, const char *name, char *dst, size_t dstsz, size_t *len)
{
	char path[64];
	ssize_t k;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	k = readlink(path, dst, dstsz - 1);
	if (k <= 0)
		return YM_E_IO;
	dst[k] = 0;
	/* a NUL inside a path is impossible, but the event must never carry one */
	*len = strnlen(dst, (size_t)k);
	return 0;
}

/* /proc/PID/NAME holding one decimal uint32 ("%u", no newline, in the
 * kernels seen; one is taken) */
static int procinfo_read_u32(int32_t pid, const char *name, uint32_t *v)
{
	char path[64], text[16];
	size_t n;
	uint64_t x;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	r = procinfo_slurp(path, text, sizeof(text) - 1, &n);
	if (r)
		return r;
	if (n > 0 && text[n - 1] == '\n')
		n--;
	text[n] = 0;
	if (util_parse_u64(text, 0, UINT32_MAX, &x) != 0)
		return YM_E_PARSE;
	*v = (uint32_t)x;
	return 0;
}

int procinfo_read_login(int32_t pid, uint32_t *loginuid, uint32_t *sessionid)
{
	int r = procinfo_read_u32(pid, "loginuid", loginuid);

	return r ? r : procinfo_read_u32(pid, "sessionid", sessionid);
}

int procinfo_read(int32_t pid, struct procinfo *out)
{
	char path[64], status[4096];
	size_t n;

	out->have = 0;
	out->image_len = out->cmdline_len = out->cwd_len = 0;
	out->image[0] = out->cwd[0] = out->cmdline[0] = 0;
	/* What vanishes first when a short-lived process exits (its memory:
	 * argv, then exe and cwd) is read first; stat and status stay readable
	 * while it is a zombie. */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	switch (procinfo_slurp(path, out->cmdline, PROCINFO_CMDLINE_MAX, &n)) {
	case 0:
		out->cmdline_len = procinfo_join_cmdline(out->cmdline, n);
		out->have |= PROCINFO_HAVE_CMDLINE;
		break;
	case YM_E_NOTFOUND:
		/* no /proc/PID (reaped): the other four would fail too (the
		 * netlink mode meets this on most processes that live
		 * microseconds) */
		return YM_E_NOTFOUND;
	default:
		break;
	}
	if (procinfo_link(pid, "exe", out->image, sizeof(out->image), &out->image_len) == 0)
		out->have |= PROCINFO_HAVE_IMAGE;
	if (procinfo_link(pid, "cwd", out->cwd, sizeof(out->cwd), &out->cwd_len) == 0)
		out->have |= PROCINFO_HAVE_CWD;
	if (procinfo_read_stat(pid, &out->st) == 0)
		out->have |= PROCINFO_HAVE_STAT;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (procinfo_slurp(path, status, sizeof(status), &n) == 0 &&
	    procinfo_parse_ids(status, n, &out->uid, &out->gid, &out->euid, &out->egid) == 0)
		out->have |= PROCINFO_HAVE_IDS;
	return (out->have & PROCINFO_HAVE_STAT) ? 0 : YM_E_NOTFOUND;
}
