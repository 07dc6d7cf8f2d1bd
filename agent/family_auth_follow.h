/* family_auth_follow: following an append-only log file the way `tail -F`
 * does, for the auth modes: new bytes from the last offset; a new file at the
 * path (rotation: other inode) is read from its start once the old one is
 * drained, and the old one is still read until it has been idle for
 * FAMILY_AUTH_FOLLOW_OLD_NS (the logger writes to it until logrotate's
 * postrotate signal reaches it); a file that shrank (copytruncate) is read
 * again from 0. Not thread-safe. */
#ifndef YM_AGENT_FAMILY_AUTH_FOLLOW_H
#define YM_AGENT_FAMILY_AUTH_FOLLOW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FAMILY_AUTH_FOLLOW_PATH	  4096
#define FAMILY_AUTH_FOLLOW_OLD_NS (10ull * 1000000000ull)

struct family_auth_follow {
	char path[FAMILY_AUTH_FOLLOW_PATH];
	int fd; /* -1 while the file does not exist */
	dev_t dev;
	ino_t ino;
	off_t off;
	uint64_t rotations, truncations;
	/* the file before the last rotation, while it may still grow: -1, or
	 * read from old_off until idle past old_until_ns (monotonic) */
	int old_fd;
	off_t old_off;
	uint64_t old_until_ns;
	int last_old; /* the last bytes returned were the old file's */
};

/* Starts following path (copied). at_end: skip what the file holds now (the
 * history), else read it from the start. A missing file is not an error: it
 * is opened when it appears. Returns 0 or YM_E_TOOBIG (path too long). */
int family_auth_follow_init(struct family_auth_follow *f, const char *path, int at_end);
void family_auth_follow_close(struct family_auth_follow *f);

/* Reads up to cap new bytes into p. Returns the count (0: nothing new) or
 * YM_E_IO. *reset is set to 1 when the bytes come from a different file or
 * offset than the previous call ended at (a partial record kept by the caller
 * must then be discarded), else 0. */
ssize_t family_auth_follow_read(struct family_auth_follow *f, uint8_t *p, size_t cap, int *reset);

#endif
