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
#define FA_LIST	  (48u << 10) /* bytes of one folder's listing */

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
	struct fa_list_io *lists[FA_DEPTH]; /* fa_mark_tree's, one a level */
};

/* The file system calls of this mode on paths users name (a folder made in
 * /tmp or a home, which its maker may have mounted his FUSE file system
 * on) run through the collector's bounded calls (fsjob.h): each job below
 * touches nothing but its io, and a descriptor in it is a duplicate the
 * job owns (fsjob_drop_fd closes it when the job is held). */
struct fa_probe_io {
	int follow, isdir;
	struct fa_dir key; /* handle and fsid; path unused */
	char path[FA_PATH];
};

/* path's type, file handle and file system id; follow: of what a symbolic
 * link at path points to (fa_mark's) */
static int fa_probe_job(void *arg, struct fsjob_ctx *cx)
{
	struct fa_probe_io *io = arg;
	struct {
		struct file_handle fh;
		uint8_t data[FA_HANDLE];
	} h;
	struct statfs sfs;
	struct stat st;
	int mnt;

	(void)cx;
	io->isdir =
	    (io->follow ? stat(io->path, &st) : lstat(io->path, &st)) == 0 && S_ISDIR(st.st_mode);
	h.fh.handle_bytes = FA_HANDLE;
	if (name_to_handle_at(AT_FDCWD, io->path, &h.fh, &mnt,
			      io->follow ? AT_SYMLINK_FOLLOW : 0) != 0)
		return YM_E_UNSUPPORTED;
	io->key.hlen = h.fh.handle_bytes;
	io->key.htype = h.fh.handle_type;
	memcpy(io->key.handle, h.fh.f_handle, io->key.hlen);
	io->key.fsid = 0;
	if (statfs(io->path, &sfs) == 0)
		memcpy(&io->key.fsid, &sfs.f_fsid, sizeof(io->key.fsid));
	return 0;
}

static struct fa_probe_io fa_probe; /* the collector's (one thread) */

/* Probes path (fa_probe_job) into *isdir and d (not its path). */
static int fa_handle_of(struct family *f, const char *path, struct fa_dir *d, int follow,
			int *isdir)
{
	int r;

	if (isdir)
		*isdir = 0;
	if (util_strlcpy(fa_probe.path, path, sizeof(fa_probe.path)) != 0)
		return YM_E_UNSUPPORTED;
	fa_probe.follow = follow;
	fa_probe.isdir = 0;
	r = f->env.fsj ? fsjob_run(f->env.fsj, 0, fa_probe_job, NULL, &fa_probe, sizeof(fa_probe))
		       : fa_probe_job(&fa_probe, NULL);
	if (isdir) /* the job's own answer (held: not known, not a folder) */
		*isdir = (r == 0 || r == YM_E_UNSUPPORTED) && fa_probe.isdir;
	if (r != 0)
		return YM_E_UNSUPPORTED;
	d->hlen = fa_probe.key.hlen;
	d->htype = fa_probe.key.htype;
	memcpy(d->handle, fa_probe.key.handle, d->hlen);
	d->fsid = fa_probe.key.fsid;
	return 0;
}

/* fanotify_mark of a folder, and (want_dir) a descriptor of it for
 * open_by_handle_at; on a duplicate of the group's descriptor */
struct fa_mark_io {
	int fd;
	unsigned flags;
	uint64_t mask;
	int err;
	int want_dir, dir_fd;
	char path[FA_PATH];
};

static int fa_mark_job(void *arg, struct fsjob_ctx *cx)
{
	struct fa_mark_io *io = arg;

	(void)cx;
	io->dir_fd = -1;
	if (fanotify_mark(io->fd, io->flags, io->mask, AT_FDCWD, io->path) != 0) {
		io->err = errno;
		return YM_E_IO;
	}
	io->err = 0;
	if (io->want_dir)
		io->dir_fd = open(io->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

static void fa_mark_drop(void *arg)
{
	struct fa_mark_io *io = arg;

	close(io->fd);
	if (io->dir_fd >= 0)
		close(io->dir_fd);
}

static struct fa_mark_io fa_markio;

/* fanotify_mark(f->fd, flags, mask, path): 0, or an errno (ETIMEDOUT:
 * held); *dir_fd: a descriptor of the folder when want_dir (else -1) */
static int fa_mark_call(struct family *f, unsigned flags, uint64_t mask, const char *path,
			int want_dir, int *dir_fd)
{
	struct fa_mark_io *io = &fa_markio;
	int r;

	*dir_fd = -1;
	if (util_strlcpy(io->path, path, sizeof(io->path)) != 0)
		return ENAMETOOLONG;
	io->flags = flags;
	io->mask = mask;
	io->want_dir = want_dir;
	io->dir_fd = -1;
	if (!f->env.fsj) {
		io->fd = f->fd;
		fa_mark_job(io, NULL);
		*dir_fd = io->dir_fd;
		return io->err;
	}
	io->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (io->fd < 0)
		return errno;
	r = fsjob_run(f->env.fsj, 0, fa_mark_job, fa_mark_drop, io, sizeof(*io));
	if (r == YM_E_TIMEOUT)
		return ETIMEDOUT; /* the job closes its descriptors */
	close(io->fd);
	if (r != 0 && r != YM_E_IO)
		return ETIMEDOUT;
	*dir_fd = io->dir_fd;
	return io->err;
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
	/* a folder swapped for a link after the lstat is not followed */
	unsigned nofollow = follow ? 0 : FAN_MARK_DONT_FOLLOW;
	int isdir = 0, err, dfd;

	if (f->quiesced)
		return YM_E_UNSUPPORTED; /* stopping: a new folder is not marked */

	if (fa_handle_of(f, path, &key, follow, &isdir) != 0)
		return isdir ? YM_E_UNSUPPORTED : YM_E_NOTFOUND;
	if (!isdir)
		return YM_E_NOTFOUND;
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
	err = fa_mark_call(f, FAN_MARK_ADD | FAN_MARK_ONLYDIR | nofollow, f->mask, path,
			   f->mount_fd < 0, &dfd);
	if (err == EINVAL && (f->mask & FAN_RENAME)) {
		/* before 5.17: no FAN_RENAME, so no old name */
		f->mask = (f->mask & ~(uint64_t)FAN_RENAME) | FAN_MOVED_TO;
		err = fa_mark_call(f, FAN_MARK_ADD | FAN_MARK_ONLYDIR | nofollow, f->mask, path,
				   f->mount_fd < 0, &dfd);
		if (err != 0)
			return YM_E_UNSUPPORTED;
	} else if (err != 0) {
		return err == EINVAL || err == ENODEV || err == EOPNOTSUPP || err == EXDEV ||
			       err == ETIMEDOUT
			   ? YM_E_UNSUPPORTED
			   : YM_E_IO;
	}
	if (f->mount_fd < 0)
		f->mount_fd = dfd;
	else if (dfd >= 0)
		close(dfd);
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

/* Where the folder or file of a handle is now: open_by_handle_at on a
 * duplicate of the mount descriptor, and the opened file's name */
struct fa_hpath_io {
	int fd;
	int32_t htype;
	uint32_t hlen;
	uint8_t h[FA_HANDLE];
	char out[FA_PATH];
};

static int fa_hpath_job(void *arg, struct fsjob_ctx *cx)
{
	struct fa_hpath_io *io = arg;
	struct {
		struct file_handle fh;
		uint8_t data[FA_HANDLE];
	} fh;
	char link[64];
	ssize_t n;
	int fd;

	(void)cx;
	fh.fh.handle_bytes = io->hlen;
	fh.fh.handle_type = io->htype;
	memcpy(fh.fh.f_handle, io->h, io->hlen);
	fd = open_by_handle_at(io->fd, &fh.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return YM_E_NOTFOUND;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, io->out, sizeof(io->out) - 1);
	close(fd);
	if (n <= 0)
		return YM_E_NOTFOUND;
	io->out[n] = '\0';
	return 0;
}

static struct fa_hpath_io fa_hpath;

static int fa_handle_path(struct family *f, int32_t htype, const uint8_t *h, uint32_t hlen,
			  char *out, size_t outsz)
{
	struct fa_hpath_io *io = &fa_hpath;
	int r;

	if (hlen > FA_HANDLE || f->mount_fd < 0)
		return YM_E_NOTFOUND;
	io->htype = htype;
	io->hlen = hlen;
	memcpy(io->h, h, hlen);
	if (!f->env.fsj) {
		io->fd = f->mount_fd;
		r = fa_hpath_job(io, NULL);
	} else {
		io->fd = fcntl(f->mount_fd, F_DUPFD_CLOEXEC, 0);
		if (io->fd < 0)
			return YM_E_NOTFOUND;
		r = fsjob_run(f->env.fsj, 0, fa_hpath_job, fsjob_drop_fd, io, sizeof(*io));
		if (r != YM_E_TIMEOUT)
			close(io->fd);
	}
	return r == 0 ? util_strlcpy(out, io->out, outsz) : YM_E_NOTFOUND;
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

/* An x: folder's file: reported when it is a regular file with an x bit,
 * or when its lstat is held (a file system that does not answer the
 * agent: reported, as the one who holds it would rather it were not) */
static int fa_is_exec(struct family *f, const char *path, char mode[8])
{
	struct stat st;
	int r = fsjob_stat(f->env.fsj, 0, path, 0, &st);

	if (r == YM_E_TIMEOUT || r == YM_E_BUSY) {
		mode[0] = '\0';
		return 1;
	}
	if (r != 0 || !S_ISREG(st.st_mode))
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

/* A folder's entries (fa_mark_tree's walk): the folders, or every entry
 * (all), as a type byte (DT_DIR, or another: not a folder), the name and
 * its NUL, up to the buffer's bound (truncated). An entry whose type the
 * file system does not give is looked at (fstatat, no link followed). */
struct fa_list_io {
	int fd;
	int follow, all, truncated;
	size_t used;
	char path[FA_PATH];
	uint8_t list[FA_LIST];
};

static int fa_list_job(void *arg, struct fsjob_ctx *cx)
{
	struct fa_list_io *io = arg;
	DIR *d;
	struct dirent *de;

	(void)cx;
	io->used = 0;
	io->truncated = 0;
	io->fd = open(io->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (io->follow ? 0 : O_NOFOLLOW));
	if (io->fd < 0)
		return YM_E_NOTFOUND;
	d = fdopendir(io->fd);
	if (d == NULL) {
		close(io->fd);
		io->fd = -1;
		return YM_E_IO;
	}
	io->fd = -1; /* the DIR's now */
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		int type = de->d_type;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
		}
		if (!io->all && type != DT_DIR)
			continue;
		if (io->used + nl + 2 > sizeof(io->list)) {
			io->truncated = 1;
			break;
		}
		io->list[io->used] = (uint8_t)(type == DT_DIR ? DT_DIR : DT_REG);
		memcpy(io->list + io->used + 1, de->d_name, nl + 1);
		io->used += nl + 2;
	}
	closedir(d);
	return 0;
}

/* the listing buffer of walk level depth (allocated at first use) */
static struct fa_list_io *fa_list_io(struct family *f, int depth)
{
	if (depth < 0 || depth >= FA_DEPTH)
		return NULL;
	if (f->lists[depth] == NULL)
		f->lists[depth] = malloc(sizeof(*f->lists[depth]));
	return f->lists[depth];
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
	struct fa_list_io *io;
	size_t n = strlen(path);
	int r;

	if (family_file_watch_match(&f->watch, path, n) == 0 &&
	    !family_file_watch_leads_to(&f->watch, path, n))
		return;
	if (fa_mark(f, path, follow) != 0 || depth >= FA_DEPTH)
		return;
	/* the listing is the job's (fa_list_job), into a buffer of this
	 * level's: the walk below reuses the ones under it */
	io = fa_list_io(f, depth);
	if (io == NULL || util_strlcpy(io->path, path, sizeof(io->path)) != 0)
		return;
	io->fd = -1;
	io->follow = follow;
	io->all = emit != NULL;
	r = f->env.fsj ? fsjob_run(f->env.fsj, 0, fa_list_job, fsjob_drop_fd, io, sizeof(*io))
		       : fa_list_job(io, NULL);
	if (r != 0)
		return;
	if (io->truncated)
		f->st.drops++; /* folders past the listing's bound are not walked */
	for (size_t o = 0; o < io->used;) {
		char sub[FA_PATH];
		int k, type = io->list[o];
		const char *name = (const char *)io->list + o + 1;

		o += 2 + strlen(name);
		k = snprintf(sub, sizeof(sub), "%s/%s", path, name);
		if (k <= 0 || (size_t)k >= sizeof(sub))
			continue;
		if (type == DT_DIR) {
			fa_mark_tree(f, sub, depth + 1, 0, emit, arg);
			continue;
		}
		if (emit == NULL)
			continue;
		k = family_file_watch_match(&f->watch, sub, (size_t)k);
		/* a "d:" tree's files: found, not lost */
		if (k == 0 || k == FAMILY_FILE_WATCH_LOSS ||
		    (k == FAMILY_FILE_WATCH_EXEC && !fa_is_exec(f, sub, f->mode)))
			continue;
		util_strlcpy(f->target, sub, sizeof(f->target));
		f->source[0] = '\0';
		fa_emit_one(f, "create", 0, 0, emit, arg);
	}
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

		if (fa_handle_of(f, to, &key, 0, NULL) != 0 || (i = fa_dir_find(f, &key)) < 0)
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
		if ((mask & FAN_DELETE) || !fa_is_exec(f, f->target, f->mode))
			return;
	} else if (kind == FAMILY_FILE_WATCH_LOSS) {
		/* only what loses content (truncation is not told apart from
		 * a write here) */
		mask &= FAN_DELETE | FAN_RENAME | FAN_MOVED_TO;
	} else if (mask & FAN_ATTRIB) {
		struct stat st;

		if (fsjob_stat(f->env.fsj, 0, f->target, 0, &st) == 0)
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
	for (int i = 0; i < FA_DEPTH; i++)
		free(f->lists[i]);
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
			while (fsjob_stat(f->env.fsj, 0, dir, 0, &st) == YM_E_NOTFOUND &&
			       (slash = strrchr(dir, '/')) != NULL && slash != dir) {
				*slash = '\0';
				if (fsjob_stat(f->env.fsj, 0, dir, 0, &st) == 0 &&
				    S_ISDIR(st.st_mode)) {
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
