#include "family_auth_follow.h"
#include "err.h"
#include "family.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int family_auth_follow_init(struct family_auth_follow *f, const char *path, int at_end)
{
	struct stat st;

	f->fd = -1;
	f->off = 0;
	f->opened = 0;
	f->have_saved = 0;
	f->rotations = f->truncations = 0;
	f->old_fd = -1;
	f->old_off = 0;
	f->old_until_ns = 0;
	f->last_old = 0;
	if (util_strlcpy(f->path, path, sizeof(f->path)) != 0)
		return YM_E_TOOBIG;
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (f->fd < 0)
		return 0;
	if (fstat(f->fd, &st) != 0) {
		close(f->fd);
		f->fd = -1;
		return 0;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->opened = 1;
	f->off = at_end ? st.st_size : 0;
	return 0;
}

int family_auth_follow_pos(const struct family_auth_follow *f, size_t pending, int skip,
			   struct family_auth_follow_pos *out)
{
	if (f->fd < 0 || !f->opened || f->last_old || (off_t)pending > f->off)
		return YM_E_NOTFOUND;
	out->dev = (uint64_t)f->dev;
	out->ino = (uint64_t)f->ino;
	out->off = (int64_t)(f->off - (off_t)pending);
	out->skip = skip ? 1 : 0;
	return 0;
}

/* Opens path when it is pos's file: its fd, or -1 (and *st filled). */
static int follow_open_same(const char *path, const struct family_auth_follow_pos *pos,
			    struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || (uint64_t)st->st_dev != pos->dev ||
	    (uint64_t)st->st_ino != pos->ino) {
		close(fd);
		return -1;
	}
	return fd;
}

int family_auth_follow_resume(struct family_auth_follow *f, const char *path,
			      const struct family_auth_follow_pos *pos, int *resumed)
{
	char rotated[FAMILY_AUTH_FOLLOW_PATH];
	struct stat st;
	int fd, rc;

	*resumed = 0;
	if (pos->off < 0)
		return family_auth_follow_init(f, path, 1);
	rc = family_auth_follow_init(f, path, 0);
	if (rc != 0)
		return rc;
	if (f->fd >= 0 && f->dev == (dev_t)pos->dev && f->ino == (ino_t)pos->ino) {
		if (fstat(f->fd, &st) != 0)
			return family_auth_follow_init(f, path, 1);
		/* the same file: on from the position (from 0 when it was
		 * truncated meanwhile: what it holds came after) */
		f->off = st.st_size >= pos->off ? (off_t)pos->off : 0;
		*resumed = f->off == (off_t)pos->off ? 1 : 2;
		return 0;
	}
	/* rotated while stopped: the rest of the old file, then the new one
	 * from its start (all of it came after) */
	if (snprintf(rotated, sizeof(rotated), "%s.1", path) < (int)sizeof(rotated) &&
	    (fd = follow_open_same(rotated, pos, &st)) >= 0) {
		f->old_fd = fd;
		f->old_off = st.st_size >= pos->off ? (off_t)pos->off : 0;
		f->old_until_ns = util_mono_ns() + FAMILY_AUTH_FOLLOW_OLD_NS;
		f->rotations++;
		*resumed = f->old_off == (off_t)pos->off ? 1 : 2;
		return 0;
	}
	family_auth_follow_close(f);
	return family_auth_follow_init(f, path, 1);
}

int family_auth_follow_pos_save(const char *file, const struct family_auth_follow_pos *pos)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%llu %llu %lld %d\n", (unsigned long long)pos->dev,
			 (unsigned long long)pos->ino, (long long)pos->off, pos->skip);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return YM_E_TOOBIG;
	return util_write_file(file, buf, (size_t)n, 0600);
}

int family_auth_follow_pos_load(const char *file, struct family_auth_follow_pos *pos)
{
	char *buf = NULL, *tok[4], *save = NULL;
	size_t n = 0, k = 0;
	uint64_t v[4];
	int rc = util_read_file(file, 96, &buf, &n);

	if (rc != 0)
		return rc == YM_E_IO && errno == ENOENT ? YM_E_NOTFOUND : YM_E_PARSE;
	rc = YM_E_PARSE;
	if (n == 0 || buf[n - 1] != '\n' || memchr(buf, '\0', n) != NULL)
		goto out;
	buf[n - 1] = '\0';
	for (char *t = strtok_r(buf, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (k == 4)
			goto out;
		tok[k++] = t;
	}
	if (k != 4 || util_parse_u64(tok[0], 0, UINT64_MAX, &v[0]) != 0 ||
	    util_parse_u64(tok[1], 1, UINT64_MAX, &v[1]) != 0 ||
	    util_parse_u64(tok[2], 0, INT64_MAX, &v[2]) != 0 ||
	    util_parse_u64(tok[3], 0, 1, &v[3]) != 0)
		goto out;
	pos->dev = v[0];
	pos->ino = v[1];
	pos->off = (int64_t)v[2];
	pos->skip = (int)v[3];
	rc = 0;
out:
	free(buf);
	return rc;
}

void family_auth_follow_close(struct family_auth_follow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->old_fd >= 0)
		close(f->old_fd);
	f->old_fd = -1;
}

/* What the rotated file got since; 0 once it has been idle long enough
 * (then closed), or YM_E_IO. */
static ssize_t follow_old(struct family_auth_follow *f, uint8_t *p, size_t cap)
{
	uint64_t now = util_mono_ns();
	ssize_t n;

	if (f->old_fd < 0)
		return 0;
	n = pread(f->old_fd, p, cap, f->old_off);
	if (n < 0 && errno != EAGAIN)
		return YM_E_IO;
	if (n > 0) {
		f->old_off += n;
		f->old_until_ns = now + FAMILY_AUTH_FOLLOW_OLD_NS;
		return n;
	}
	if (now >= f->old_until_ns) {
		close(f->old_fd);
		f->old_fd = -1;
	}
	return 0;
}

static int follow_reopen(struct family_auth_follow *f)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return 0;
	}
	if (f->fd >= 0) {
		/* rotated: the old file may still get lines (follow_old) */
		if (f->old_fd >= 0)
			close(f->old_fd);
		f->old_fd = f->fd;
		f->old_off = f->off;
		f->old_until_ns = util_mono_ns() + FAMILY_AUTH_FOLLOW_OLD_NS;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->opened = 1;
	f->off = 0;
	return 1;
}

ssize_t family_auth_follow_read(struct family_auth_follow *f, uint8_t *p, size_t cap, int *reset)
{
	struct stat st, now;
	ssize_t n;

	*reset = 0;
	n = follow_old(f, p, cap);
	if (n < 0)
		return n;
	if (n > 0) {
		*reset = !f->last_old;
		f->last_old = 1;
		return n;
	}
	if (f->last_old) {
		*reset = 1; /* back from the old file */
		f->last_old = 0;
	}
	if (f->fd < 0) {
		if (!follow_reopen(f))
			return 0;
		*reset = 1;
	}
	if (fstat(f->fd, &st) != 0)
		return YM_E_IO;
	if (st.st_size < f->off) {
		f->truncations++;
		f->off = 0;
		*reset = 1;
	}
	n = pread(f->fd, p, cap, f->off);
	if (n < 0)
		return errno == EAGAIN ? 0 : YM_E_IO;
	if (n > 0) {
		f->off += n;
		return n;
	}
	/* drained: has the path moved on to a new file? */
	if (stat(f->path, &now) == 0 && (now.st_ino != f->ino || now.st_dev != f->dev)) {
		if (follow_reopen(f)) {
			f->rotations++;
			*reset = 1;
			n = pread(f->fd, p, cap, 0);
			if (n < 0)
				return YM_E_IO;
			f->off = n;
			return n;
		}
	}
	return 0;
}

int family_auth_follow_open(const struct family_env *env, struct family_auth_follow *f,
			    const char *path, const char *name, const char *mode, int *skip)
{
	struct family_auth_follow_pos pos;
	char file[4096];
	int rc, resumed = 0;

	*skip = 0;
	if (env->state_dir == NULL)
		return family_auth_follow_init(f, path, 1);
	snprintf(file, sizeof(file), "%s/%s", env->state_dir, name);
	rc = family_auth_follow_pos_load(file, &pos);
	if (rc == YM_E_NOTFOUND)
		return family_auth_follow_init(f, path, 1); /* a first start */
	if (rc != 0) {
		LOG_W("family", "W3617",
		      "auth (%s): the last run's position in %s cannot be read: from the end of %s",
		      mode, file, path);
		return family_auth_follow_init(f, path, 1);
	}
	rc = family_auth_follow_resume(f, path, &pos, &resumed);
	if (rc == 0 && !resumed)
		LOG_W(
		    "family", "W3617",
		    "auth (%s): the last run's file (inode %llu) is neither %s nor %s.1 any more: "
		    "from the end of %s",
		    mode, (unsigned long long)pos.ino, path, path, path);
	if (rc == 0 && resumed == 1)
		*skip = pos.skip; /* not in a file read from its start */
	return rc;
}

void family_auth_follow_save(const struct family_env *env, struct family_auth_follow *f,
			     const char *name, const char *mode, size_t pending, int skip)
{
	struct family_auth_follow_pos p;
	char file[4096];

	if (env->state_dir == NULL || family_auth_follow_pos(f, pending, skip, &p) != 0 ||
	    (f->have_saved && memcmp(&p, &f->saved, sizeof(p)) == 0))
		return;
	snprintf(file, sizeof(file), "%s/%s", env->state_dir, name);
	if (family_auth_follow_pos_save(file, &p) != 0) {
		LOG_W("family", "W3617",
		      "auth (%s): cannot save the position in %s: a start after a stop reads "
		      "from the file's end",
		      mode, file);
		return;
	}
	f->saved = p;
	f->have_saved = 1;
}
