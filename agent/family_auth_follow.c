#include "family_auth_follow.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int family_auth_follow_init(struct family_auth_follow *f, const char *path, int at_end)
{
	struct stat st;

	f->fd = -1;
	f->off = 0;
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
	f->off = at_end ? st.st_size : 0;
	return 0;
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
