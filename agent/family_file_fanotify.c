/* What fanotify cannot tell, and so this mode does not report: chmod from
 * chown from a time change (all FAN_ATTRIB: reported as Action "attrib" with
 * the file's mode when read), the writer of a file kept open (FAN_CLOSE_WRITE
 * comes at close), files created in a new folder before its mark is added. */
#include "family_file_fanotify.h"
#include "buf.h"
#include "err.h"
#include "family_file_watch.h"
#include "family_util.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define FA_BUF	  65536
#define FA_HANDLE 128 /* bytes of a file handle kept */
#define FA_DEPTH  16
#define FA_PATH	  4096

struct fa_dir {
	uint64_t fsid;
	uint32_t hlen;
	int32_t htype;
	uint8_t handle[FA_HANDLE];
	char *path; /* owned */
};

struct family {
	struct family_env env;
	int fd;
	uint64_t mask;
	struct family_file_watch watch;
	struct fa_dir *dirs;
	size_t ndirs;
	int mount_fd; /* any marked folder: for open_by_handle_at */
	int quiesced; /* fa_quiesce: marks removed, no new ones */
	/* the event's own file (FAN_REPORT_TARGET_FID, 5.17+): where a file
	 * or folder moved out of the marked ones went, which the kernel does
	 * not name */
	uint8_t child[FA_HANDLE];
	uint32_t child_len; /* 0: the event had none */
	int32_t child_type;
	struct family_stats st;
	uint64_t unmarked;	      /* folders left unmarked at the cap */
	char first_unmarked[FA_PATH]; /* the first of them */
	int started;		      /* fa_start's walk is over */
	struct event ev;
	char target[FA_PATH], source[FA_PATH], mode[8], pidbuf[FAMILY_UTIL_U64_MAX];
	uint8_t buf[FA_BUF];
};

/* path's file handle and file system id into d (not its path); follow: of
 * what a symbolic link at path points to (fa_mark's). */
static int fa_handle_of(const char *path, struct fa_dir *d, int follow)
{
	struct {
		struct file_handle fh;
		uint8_t data[FA_HANDLE];
	} h;
	struct statfs sfs;
	int mnt;

	h.fh.handle_bytes = FA_HANDLE;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, follow ? AT_SYMLINK_FOLLOW : 0) != 0)
		return YM_E_UNSUPPORTED;
	d->hlen = h.fh.handle_bytes;
	d->htype = h.fh.handle_type;
	memcpy(d->handle, h.fh.f_handle, d->hlen);
	d->fsid = 0;
	if (statfs(path, &sfs) == 0)
		memcpy(&d->fsid, &sfs.f_fsid, sizeof(d->fsid));
	return 0;
}

static int fa_same_handle(const struct fa_dir *a, const struct fa_dir *b)
{
	return a->hlen == b->hlen && a->htype == b->htype &&
	       memcmp(a->handle, b->handle, a->hlen) == 0;
}

/* The marked folder with key's handle and file system id: its index, or -1. */
static ssize_t fa_dir_find(const struct family *f, const struct fa_dir *key)
{
	for (size_t i = 0; i < f->ndirs; i++)
		if (f->dirs[i].fsid == key->fsid && fa_same_handle(&f->dirs[i], key))
			return (ssize_t)i;
	return -1;
}

/* Marks folder path; follow: path may be a symbolic link to a folder (a
 * watched entry as configured: "/opt/app/conf/" with /opt/app a link),
 * marked and named by that path. Never for folders found inside the trees
 * nor in homes: a link made there (/etc/x -> /, ~/.ssh -> /) must not mark
 * what it points to. */
static int fa_mark(struct family *f, const char *path, int follow)
{
	struct fa_dir *d = NULL, key;
	struct stat st;
	/* a folder swapped for a link after the lstat is not followed */
	unsigned nofollow = follow ? 0 : FAN_MARK_DONT_FOLLOW;

	if (f->quiesced)
		return YM_E_UNSUPPORTED; /* stopping: a new folder is not marked */

	if ((follow ? stat(path, &st) : lstat(path, &st)) != 0 || !S_ISDIR(st.st_mode))
		return YM_E_NOTFOUND;
	if (fa_handle_of(path, &key, follow) != 0)
		return YM_E_UNSUPPORTED;
	/* the same folder is marked once; a folder of that name made again
	 * (rm -r ~/.ssh; mkdir ~/.ssh) is another inode, whose mark the old
	 * one's removal did not leave: its entry is taken over */
	for (size_t i = 0; i < f->ndirs && d == NULL; i++) {
		if (strcmp(f->dirs[i].path, path) != 0)
			continue;
		if (fa_same_handle(&f->dirs[i], &key))
			return 0;
		d = &f->dirs[i];
	}
	if (d == NULL && f->ndirs >= FAMILY_FILE_FANOTIFY_MARKS) {
		/* a watched folder left blind: said once at the start with how
		 * many (fa_start), then at the first made later and every
		 * 1,000th */
		if (f->unmarked++ == 0)
			util_strlcpy(f->first_unmarked, path, sizeof(f->first_unmarked));
		if (f->started && f->unmarked % 1000 == 1)
			LOG_W("family", "W3612",
			      "file (fanotify): %s not watched: %d marks at most (%llu folders "
			      "not watched so far)",
			      path, FAMILY_FILE_FANOTIFY_MARKS, (unsigned long long)f->unmarked);
		return YM_E_TOOBIG;
	}
	if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_ONLYDIR | nofollow, f->mask, AT_FDCWD,
			  path) != 0) {
		if (errno != EINVAL || !(f->mask & FAN_RENAME))
			return errno == EINVAL || errno == ENODEV || errno == EOPNOTSUPP ||
				       errno == EXDEV
				   ? YM_E_UNSUPPORTED
				   : YM_E_IO;
		/* before 5.17: no FAN_RENAME, so no old name */
		f->mask = (f->mask & ~(uint64_t)FAN_RENAME) | FAN_MOVED_TO;
		if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_ONLYDIR | nofollow, f->mask,
				  AT_FDCWD, path) != 0)
			return YM_E_UNSUPPORTED;
	}
	if (d == NULL) {
		d = &f->dirs[f->ndirs];
		memset(d, 0, sizeof(*d));
		d->path = strdup(path);
		if (d->path == NULL)
			return YM_E_NOMEM;
		f->ndirs++;
	}
	d->hlen = key.hlen;
	d->htype = key.htype;
	memcpy(d->handle, key.handle, key.hlen);
	d->fsid = key.fsid;
	if (f->mount_fd < 0)
		f->mount_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

static int fa_handle_path(struct family *f, int32_t htype, const uint8_t *h, uint32_t hlen,
			  char *out, size_t outsz);

/* The folder of a DFID record: from the marks, else open_by_handle_at. */
static int fa_dir_path(struct family *f, uint64_t fsid, int32_t htype, const uint8_t *h,
		       uint32_t hlen, char *out, size_t outsz)
{
	struct fa_dir key = {.fsid = fsid, .hlen = hlen, .htype = htype};
	ssize_t i;

	if (hlen > FA_HANDLE)
		return YM_E_NOTFOUND;
	memcpy(key.handle, h, hlen);
	i = fa_dir_find(f, &key);
	if (i >= 0)
		return util_strlcpy(out, f->dirs[i].path, outsz);
	return fa_handle_path(f, htype, h, hlen, out, outsz);
}

/* Where the folder or file of a handle is now (open_by_handle_at). */
static int fa_handle_path(struct family *f, int32_t htype, const uint8_t *h, uint32_t hlen,
			  char *out, size_t outsz)
{
	struct {
		struct file_handle fh;
		uint8_t data[FA_HANDLE];
	} fh;
	char link[64];
	ssize_t n;
	int fd;

	if (hlen > FA_HANDLE || f->mount_fd < 0)
		return YM_E_NOTFOUND;
	fh.fh.handle_bytes = hlen;
	fh.fh.handle_type = htype;
	memcpy(fh.fh.f_handle, h, hlen);
	fd = open_by_handle_at(f->mount_fd, &fh.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return YM_E_NOTFOUND;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, outsz - 1);
	close(fd);
	if (n <= 0)
		return YM_E_NOTFOUND;
	out[n] = '\0';
	return 0;
}

static int fa_get_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p;
	int rc = cursor_get_bytes(c, 4, &p);

	if (rc == 0)
		memcpy(v, p, 4); /* host order: fanotify records are native */
	return rc;
}

/* One DFID_NAME info record (after its 4-byte header) into dir + "/" + name. */
static int fa_info_path(struct family *f, struct cursor *c, char *out, size_t outsz)
{
	const uint8_t *p, *name;
	uint64_t fsid;
	uint32_t hlen, htype;
	char dir[FA_PATH];
	size_t nl;
	int n;

	if (cursor_get_bytes(c, 8, &p) != 0)
		return YM_E_PARSE;
	memcpy(&fsid, p, 8);
	if (fa_get_u32(c, &hlen) != 0 || fa_get_u32(c, &htype) != 0 ||
	    cursor_get_bytes(c, hlen, &p) != 0)
		return YM_E_PARSE;
	name = c->p + c->off;
	nl = strnlen((const char *)name, cursor_left(c));
	if (nl == cursor_left(c))
		return YM_E_PARSE; /* no NUL inside the record */
	if (fa_dir_path(f, fsid, (int32_t)htype, p, hlen, dir, sizeof(dir)) != 0)
		return YM_E_NOTFOUND;
	if (nl == 0 || (nl == 1 && name[0] == '.'))
		return util_strlcpy(out, dir, outsz);
	n = snprintf(out, outsz, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
	return n > 0 && (size_t)n < outsz ? 0 : YM_E_TOOBIG;
}

/* One FID info record (after its 4-byte header): the handle of the
 * event's own file into f->child. */
static void fa_info_child(struct family *f, struct cursor *c)
{
	const uint8_t *p;
	uint32_t hlen, htype;

	f->child_len = 0;
	if (cursor_get_bytes(c, 8, &p) != 0 || fa_get_u32(c, &hlen) != 0 ||
	    fa_get_u32(c, &htype) != 0 || hlen == 0 || hlen > FA_HANDLE ||
	    cursor_get_bytes(c, hlen, &p) != 0)
		return;
	memcpy(f->child, p, hlen);
	f->child_len = hlen;
	f->child_type = (int32_t)htype;
}

/* Where the event's own file is now (its handle), when it still is:
 * a rename out of the marked folders names only the old side. */
static int fa_child_path(struct family *f, char *out, size_t outsz)
{
	static const char deleted[] = " (deleted)";
	size_t n, dl = sizeof(deleted) - 1;

	if (f->child_len == 0 ||
	    fa_handle_path(f, f->child_type, f->child, f->child_len, out, outsz) != 0)
		return YM_E_NOTFOUND;
	n = strlen(out);
	if (out[0] != '/' || (n > dl && strcmp(out + n - dl, deleted) == 0)) {
		out[0] = '\0';
		return YM_E_NOTFOUND;
	}
	return 0;
}

static int fa_is_exec(const char *path, char mode[8])
{
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	snprintf(mode, 8, "%04o", (unsigned)(st.st_mode & 07777));
	return (st.st_mode & 0111) != 0;
}

/* One event of one action (an fanotify event may carry several merged ones). */
static void fa_emit_one(struct family *f, const char *action, int32_t pid, int with_mode,
			family_emit_fn emit, void *arg)
{
	struct event *ev = &f->ev;
	int rc = 0;

	event_init(ev);
	ev->ts_ns = util_now_ns();
	ev->category = EVCAT_FILE_EVENT;
	rc |= event_set_str(ev, "TargetFilename", f->target);
	rc |= event_set_str(ev, "Action", action);
	if (f->source[0] != '\0' && strcmp(action, "rename") == 0)
		rc |= event_set_str(ev, "SourceFilename", f->source);
	if (with_mode && f->mode[0] != '\0')
		rc |= event_set_str(ev, "Mode", f->mode);
	if (rc != 0 || family_util_proc(&f->env, pid, ev, f->pidbuf) < 0 || emit(arg, ev) != 0) {
		f->st.drops++;
		return;
	}
	f->st.events++;
}

/* Marks path, a watched tree's folder, a folder inside one or on the way
 * to one, and the folders below it that are too (depth and count bounded);
 * folders that lead nowhere watched are neither marked nor read. With emit
 * (a folder made or moved in after the start: ~/.ssh of an account that
 * had none, ~/.config on the way to ~/.config/systemd/), the watched files
 * already in them are reported as created: a mkdir -p and a write right
 * after it come before the mark (their process is not known then).
 * follow: path itself may be a symbolic link to a folder (fa_mark). */
static void fa_mark_tree(struct family *f, const char *path, int depth, int follow,
			 family_emit_fn emit, void *arg)
{
	size_t n = strlen(path);
	DIR *d;
	struct dirent *de;

	if (family_file_watch_match(&f->watch, path, n) == 0 &&
	    !family_file_watch_leads_to(&f->watch, path, n))
		return;
	if (fa_mark(f, path, follow) != 0 || depth >= FA_DEPTH)
		return;
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char sub[FA_PATH];
		struct stat st;
		int k, dir = de->d_type == DT_DIR;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (emit == NULL && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		k = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (k <= 0 || (size_t)k >= sizeof(sub))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			if (lstat(sub, &st) != 0)
				continue;
			dir = S_ISDIR(st.st_mode);
		}
		if (dir) {
			fa_mark_tree(f, sub, depth + 1, 0, emit, arg);
			continue;
		}
		if (emit == NULL)
			continue;
		k = family_file_watch_match(&f->watch, sub, (size_t)k);
		/* a "d:" tree's files: found, not lost */
		if (k == 0 || k == FAMILY_FILE_WATCH_LOSS ||
		    (k == FAMILY_FILE_WATCH_EXEC && !fa_is_exec(sub, f->mode)))
			continue;
		util_strlcpy(f->target, sub, sizeof(f->target));
		f->source[0] = '\0';
		fa_emit_one(f, "create", 0, 0, emit, arg);
	}
	closedir(d);
}

/* Folder from was renamed to: the marked folders at or under it get their
 * new path, which their events are named by from now on (and filtered by:
 * a folder moved out of the watched paths keeps its mark, but what happens
 * in it is no longer reported). from NULL (a kernel before 5.17: no old
 * name): the marked folder with to's handle. */
static void fa_dir_renamed(struct family *f, const char *from, const char *to)
{
	char old[FA_PATH];
	size_t ol;

	if (from == NULL) {
		struct fa_dir key;
		ssize_t i;

		if (fa_handle_of(to, &key, 0) != 0 || (i = fa_dir_find(f, &key)) < 0)
			return;
		from = f->dirs[i].path;
	}
	if (util_strlcpy(old, from, sizeof(old)) != 0 || strcmp(old, to) == 0)
		return;
	ol = strlen(old);
	for (size_t i = 0; i < f->ndirs; i++) {
		struct fa_dir *d = &f->dirs[i];
		char np[FA_PATH], *dup;
		int k;

		if (strncmp(d->path, old, ol) != 0 || (d->path[ol] != '\0' && d->path[ol] != '/'))
			continue;
		k = snprintf(np, sizeof(np), "%s%s", to, d->path + ol);
		if (k <= 0 || (size_t)k >= sizeof(np))
			continue;
		dup = strdup(np);
		if (dup == NULL)
			continue;
		free(d->path);
		d->path = dup;
	}
}

static void fa_event(struct family *f, uint64_t mask, int32_t pid, family_emit_fn emit, void *arg)
{
	static const struct {
		uint64_t bit;
		const char *action;
	} acts[] = {{FAN_CREATE, "create"}, {FAN_CLOSE_WRITE, "write"}, {FAN_ATTRIB, "attrib"},
		    {FAN_RENAME, "rename"}, {FAN_MOVED_TO, "rename"},	{FAN_DELETE, "unlink"}};
	size_t tl = strlen(f->target), sl = strlen(f->source);
	int kind = family_file_watch_match(&f->watch, f->target, tl);

	if (kind == 0 && f->source[0] != '\0')
		kind = family_file_watch_match(&f->watch, f->source, sl);
	f->mode[0] = '\0';
	if (mask & FAN_ONDIR) {
		if (mask & (FAN_MOVED_TO | FAN_RENAME))
			fa_dir_renamed(f, f->source[0] != '\0' ? f->source : NULL, f->target);
		/* a new folder inside a watched tree, or on the way to one */
		if ((mask & (FAN_CREATE | FAN_MOVED_TO | FAN_RENAME)) &&
		    (kind != 0 || family_file_watch_leads_to(&f->watch, f->target, tl))) {
			char dir[FA_PATH];

			util_strlcpy(dir, f->target, sizeof(dir));
			fa_mark_tree(f, dir, 0, 0, emit, arg);
		}
		return;
	}
	if (kind == 0)
		return;
	if (kind == FAMILY_FILE_WATCH_EXEC) {
		if ((mask & FAN_DELETE) || !fa_is_exec(f->target, f->mode))
			return;
	} else if (kind == FAMILY_FILE_WATCH_LOSS) {
		/* only what loses content (truncation is not told apart from
		 * a write here) */
		mask &= FAN_DELETE | FAN_RENAME | FAN_MOVED_TO;
	} else if (mask & FAN_ATTRIB) {
		struct stat st;

		if (lstat(f->target, &st) == 0)
			snprintf(f->mode, sizeof(f->mode), "%04o", (unsigned)(st.st_mode & 07777));
	}
	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (mask & acts[i].bit)
			fa_emit_one(f, acts[i].action, pid, acts[i].bit == FAN_ATTRIB, emit, arg);
}

static int fa_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	int handled = 0;

	while (handled < max) {
		ssize_t n = read(f->fd, f->buf, sizeof(f->buf));
		struct cursor c;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return YM_E_IO;
		}
		if (n == 0)
			break;
		cursor_init(&c, f->buf, (size_t)n);
		while (cursor_left(&c) >= FAN_EVENT_METADATA_LEN) {
			struct fanotify_event_metadata md;
			const uint8_t *p;
			struct cursor ec;
			uint64_t mask;

			memcpy(&md, c.p + c.off, sizeof(md));
			if (md.event_len < FAN_EVENT_METADATA_LEN ||
			    md.event_len > cursor_left(&c) ||
			    md.metadata_len < FAN_EVENT_METADATA_LEN ||
			    md.metadata_len > md.event_len ||
			    md.vers != FANOTIFY_METADATA_VERSION) {
				f->st.drops++;
				break;
			}
			(void)cursor_get_bytes(&c, md.event_len, &p);
			handled++;
			if (md.fd >= 0)
				close(md.fd);
			mask = md.mask;
			if (mask & FAN_Q_OVERFLOW) {
				f->st.overruns++; /* the kernel does not say how many were lost */
				continue;
			}
			if (family_is_agent(&f->env, md.pid))
				continue;
			cursor_init(&ec, p + md.metadata_len, md.event_len - md.metadata_len);
			f->target[0] = f->source[0] = '\0';
			f->child_len = 0;
			while (cursor_left(&ec) >= 4) {
				const uint8_t *h;
				uint8_t type;
				uint16_t len;
				struct cursor rc;
				char *dst;

				memcpy(&type, ec.p + ec.off, 1);
				memcpy(&len, ec.p + ec.off + 2, 2);
				if (len < 4 || len > cursor_left(&ec))
					break;
				(void)cursor_get_bytes(&ec, len, &h);
				cursor_init(&rc, h + 4, len - 4u);
				if (type == FAN_EVENT_INFO_TYPE_DFID_NAME ||
				    type == FAN_EVENT_INFO_TYPE_NEW_DFID_NAME)
					dst = f->target;
				else if (type == FAN_EVENT_INFO_TYPE_OLD_DFID_NAME)
					dst = f->source;
				else if (type == FAN_EVENT_INFO_TYPE_FID) {
					fa_info_child(f, &rc);
					continue;
				} else
					continue;
				if (fa_info_path(f, &rc, dst, FA_PATH) != 0)
					dst[0] = '\0';
			}
			/* moved out of the marked folders: the kernel names
			 * only the old side; the file's handle tells where */
			if (f->target[0] == '\0' && f->source[0] != '\0' && (mask & FAN_RENAME))
				(void)fa_child_path(f, f->target, FA_PATH);
			if (f->target[0] == '\0')
				continue; /* the folder is gone or unknown: nothing to name */
			fa_event(f, mask, md.pid, emit, arg);
		}
	}
	return handled;
}

static void fa_stop(struct family *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->mount_fd >= 0)
		close(f->mount_fd);
	for (size_t i = 0; i < f->ndirs; i++)
		free(f->dirs[i].path);
	free(f->dirs);
	free(f);
}

static int fa_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	int rc = YM_E_NOMEM;

	if (f == NULL)
		goto out;
	f->env = *env;
	f->fd = f->mount_fd = -1;
	f->dirs = calloc(FAMILY_FILE_FANOTIFY_MARKS, sizeof(*f->dirs));
	if (f->dirs == NULL)
		goto out;
	rc = family_file_watch_build(env->watch_paths, &f->watch);
	if (rc != 0)
		goto out;
	if (f->watch.nreads != 0)
		LOG_W("family", "W3620",
		      "file (fanotify): %zu files' reads (\"r:\" entries, the first: %s) are "
		      "seen in the bpf mode only",
		      f->watch.nreads, f->watch.reads[0].path);
	/* the event's own file too where the kernel can (5.17+): a rename out
	 * of the marked folders is named by it */
	f->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				  FAN_REPORT_DFID_NAME_TARGET,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0 && errno == EINVAL)
		f->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
					  FAN_REPORT_DFID_NAME,
				      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0) {
		rc = errno == EPERM ? YM_E_AUTH : YM_E_UNSUPPORTED;
		goto out;
	}
	f->mask = FAN_CREATE | FAN_CLOSE_WRITE | FAN_DELETE | FAN_ATTRIB | FAN_RENAME | FAN_ONDIR |
		  FAN_EVENT_ON_CHILD;
	for (size_t i = 0; i < f->watch.n; i++) {
		const struct family_file_watch_entry *e = &f->watch.e[i];
		char dir[FAMILY_FILE_WATCH_PATH];
		char *slash;

		util_strlcpy(dir, e->path, sizeof(dir));
		slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir)
			*slash = '\0'; /* the folder of a file, or a folder without its '/' */
		if (family_file_watch_is_tree(e->kind)) {
			struct stat st;

			/* an entry's own folder named through a link is
			 * followed where the entry is the administrator's,
			 * not in a home (a user's ~/.ssh made a link to /
			 * must not have / marked as it) */
			fa_mark_tree(f, dir, 0, !e->home, NULL, NULL);
			/* a tree not there yet: the nearest folder above it is
			 * marked, so that its making is seen (fa_event) */
			while (lstat(dir, &st) != 0 && (slash = strrchr(dir, '/')) != NULL &&
			       slash != dir) {
				*slash = '\0';
				if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
					(void)fa_mark(f, dir, 1);
					break;
				}
			}
		} else {
			(void)fa_mark(f, dir, !e->home); /* a missing folder is not watched */
		}
	}
	/* a home made after the start (useradd -m): /home itself is marked,
	 * so that its folder's making is seen and the trees in it marked
	 * (fa_event; family_file_watch_leads_to names every home) */
	for (size_t i = 0; i < f->watch.nrel; i++) {
		if (family_file_watch_is_tree(f->watch.rel[i].kind)) {
			(void)fa_mark(f, "/home", 1);
			break;
		}
	}
	if (f->ndirs == 0) {
		rc = YM_E_UNSUPPORTED; /* nothing could be marked */
		goto out;
	}
	if (f->unmarked)
		LOG_W("family", "W3612",
		      "file (fanotify): %llu folders of the watched paths not watched (the "
		      "first: %s): %d marks at most",
		      (unsigned long long)f->unmarked, f->first_unmarked,
		      FAMILY_FILE_FANOTIFY_MARKS);
	f->started = 1;
	*out = f;
	f = NULL;
	rc = 0;
out:
	fa_stop(f);
	return rc;
}

static int fa_fd(const struct family *f)
{
	return f->fd;
}

/* At the stop, before the last polls: every folder mark goes (inode marks:
 * FAN_MARK_FLUSH without a mount or filesystem flag), so nothing more is
 * queued; the queued events stay readable and the folders' handles stay
 * known for naming them. */
static void fa_quiesce(struct family *f)
{
	f->quiesced = 1;
	if (fanotify_mark(f->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) != 0)
		LOG_D("family_file", "cannot remove the fanotify marks: %s", strerror(errno));
}

static void fa_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
}

const struct family_ops family_file_fanotify_ops = {
    .family = "file",
    .mode = "fanotify",
    .start = fa_start,
    .fd = fa_fd,
    .poll = fa_poll,
    .tick = NULL,
    .quiesce = fa_quiesce,
    .stats = fa_stats,
    .stop = fa_stop,
};
