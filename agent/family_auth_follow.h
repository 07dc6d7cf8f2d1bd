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

/* Where a start after a stop resumes reading (a module saves it in its
 * state directory): the file and the offset after the last whole line or
 * record its module handled; skip: that offset is inside a line the module
 * was discarding (overlong), to be discarded up to its end. */
struct family_auth_follow_pos {
	uint64_t dev, ino;
	int64_t off;
	int skip;
};

struct family_auth_follow {
	char path[FAMILY_AUTH_FOLLOW_PATH];
	int fd; /* -1 while the file does not exist */
	dev_t dev;
	ino_t ino;
	off_t off;
	int opened; /* fd has been open since the start: dev, ino are a file's */
	uint64_t rotations, truncations;
	/* the file before the last rotation, while it may still grow: -1, or
	 * read from old_off until idle past old_until_ns (monotonic) */
	int old_fd;
	off_t old_off;
	uint64_t old_until_ns;
	int last_old; /* the last bytes returned were the old file's */
	/* the position last written by family_auth_follow_save */
	struct family_auth_follow_pos saved;
	int have_saved;
};

/* Starts following path (copied). at_end: skip what the file holds now (the
 * history), else read it from the start. A missing file is not an error: it
 * is opened when it appears. Returns 0 or YM_E_TOOBIG (path too long). */
int family_auth_follow_init(struct family_auth_follow *f, const char *path, int at_end);
void family_auth_follow_close(struct family_auth_follow *f);

/* The position now, the caller holding pending bytes of a partial line or
 * record (not handled: read again at a resume). Returns 0, or YM_E_NOTFOUND
 * when there is none (no file yet, or reading a rotated file's last lines:
 * a stop then loses what that file gets after it). */
int family_auth_follow_pos(const struct family_auth_follow *f, size_t pending, int skip,
			   struct family_auth_follow_pos *out);

/* Starts following path at pos: the same file (device and inode) from
 * pos->off (from 0 when it now holds less: truncated); a file rotated
 * meanwhile (pos's inode at path.1) from pos->off to its end, then path
 * from its start. Returns 0 with *resumed 1 (at pos->off) or 2 (pos's file
 * read from its start: it holds less than pos->off), or 0 with *resumed 0
 * and the file followed from its end as family_auth_follow_init(f, path,
 * 1) (pos's file gone); YM_E_TOOBIG for a path too long. */
int family_auth_follow_resume(struct family_auth_follow *f, const char *path,
			      const struct family_auth_follow_pos *pos, int *resumed);

/* The state file of a position: "<dev> <ino> <off> <skip>\n", written
 * atomically (mode 0600). Load returns 0, YM_E_NOTFOUND (no file), or
 * YM_E_PARSE (not a position). */
int family_auth_follow_pos_save(const char *file, const struct family_auth_follow_pos *pos);
int family_auth_follow_pos_load(const char *file, struct family_auth_follow_pos *pos);

struct family_env;
/* A module's start: follows path from where the last run stopped (the
 * position in env->state_dir/name, when there is a state directory and
 * the file), else from its end; *skip is set to the position's skip.
 * mode names the module in the warnings (W3617: a position that cannot be
 * read, or whose file is gone). Returns as family_auth_follow_init. */
int family_auth_follow_open(const struct family_env *env, struct family_auth_follow *f,
			    const char *path, const char *name, const char *mode, int *skip);

/* A module's tick and stop: writes the position now (the caller holding
 * pending bytes of a partial line or record, skip as for
 * family_auth_follow_pos) to env->state_dir/name when there is a state
 * directory and it moved since the last write; W3617 (mode names the
 * module) when it cannot be written. */
void family_auth_follow_save(const struct family_env *env, struct family_auth_follow *f,
			     const char *name, const char *mode, size_t pending, int skip);

/* Reads up to cap new bytes into p. Returns the count (0: nothing new) or
 * YM_E_IO. *reset is set to 1 when the bytes come from a different file or
 * offset than the previous call ended at (a partial record kept by the caller
 * must then be discarded), else 0. */
ssize_t family_auth_follow_read(struct family_auth_follow *f, uint8_t *p, size_t cap, int *reset);

#endif
