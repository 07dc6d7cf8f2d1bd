/* A relative path's folder comes resolved from the kernel, at the call
 * (FILE_F_KDIR1/2: its components follow the name in the record); where the
 * kernel could not (a folder deeper than the record holds), through
 * /proc/PID/cwd or /proc/PID/fd/N when the record is read: a process that
 * changed directory, closed the descriptor or exited meanwhile is then
 * resolved wrongly or not at all (such records are counted in drops).
 * An open that can write is named by the file it made or opened when the
 * kernel finds that below a prefix's folder by identity (its path walked
 * from the descriptor: a name through ".." or a symbolic link to a folder
 * says where the file is); other calls are taken as written, a path
 * through ".." resolved here (fb_canon), one through a symbolic link to a
 * folder not seen (docs/sensors.md). */
#include "family_file_bpf.h"
#include "err.h"
#include "family_bpf_util.h"
#include "sysx.h"
#include "bpf/sysx.h"
#include "family_file_watch.h"
#include "family_util.h"
#include "file.h"
#include "kpath.h"
#include "log.h"
#include "file.skel.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FB_PATH 4096
static int fb_direct_loads = 1;

/* fb_idents_set's job (fsjob.h): the paths, and statx of each */
#define FB_IDENTS (FILE_PREFIXES + FILE_READS)
struct fb_idents_io {
	size_t n;
	char path[FB_IDENTS][FAMILY_FILE_WATCH_PATH]; /* "": none */
	int ok[FB_IDENTS];
	struct statx sx[FB_IDENTS];
};

struct family {
	struct family_env env;
	struct file_bpf *skel;
	struct sysx_reg *sysx;	   /* the syscall program on tracepoints or the dispatcher, */
	struct bpf_link *sys_link; /* or attached alone */
	struct bpf_link *uring_links[2]; /* io_uring submission, completion */
	struct sysx_reg *compat_reg;	 /* compat system calls (x86): file_sys_compat* */
	struct bpf_link *compat_link;	 /* ... through the dispatcher, or attached alone */
	int uring;			 /* their programs loaded and attached */
	int direct;			 /* the "r:" check by plain loads (file_sys_dl*) */
	struct ring_buffer *rb;
	struct family_file_watch watch;
	int handled;
	struct family_bpf_drain drain; /* this poll's bound */
	uint64_t unresolved;
	family_emit_fn emit;
	void *arg;
	struct family_stats st;
	struct event ev;
	struct file_rec rec;
	char target[FB_PATH], source[FB_PATH], mode[8], owner[32], pidbuf[FAMILY_UTIL_U64_MAX];
	char uidbuf[FAMILY_UTIL_U64_MAX];
	char canon[FB_PATH]; /* fb_canon's folder */
	char alt[FB_PATH];   /* an open's path as written, beside its name by identity */
	char atime_s[32], mtime_s[32], size_s[24], mflags[96], mntns_s[24];
	uint32_t mnt_ns; /* the agent's mount namespace (inode of /proc/self/ns/mnt), or 0 */
	uint64_t read_ino[FILE_READS]; /* "r:" files as last given to the kernel */
	/* the kernel prefixes (fb_prefixes), and their folders' inodes as
	 * last given to the kernel (dir_ino) */
	struct file_prefix pre[FILE_PREFIXES];
	size_t npre;
	uint64_t dir_ino[FILE_PREFIXES];
	struct fb_idents_io idents;
};

/* A device number as the kernel's dev_t holds it (MKDEV: 12 bits of major,
 * 20 of minor), which is what the program compares */
static uint32_t fb_kdev(unsigned maj, unsigned mnr)
{
	return (uint32_t)(maj << 20) | (mnr & 0xfffff);
}

/* The kernel's dev_t of the file system holding a file of mount mnt_id:
 * the "major:minor" /proc/self/mountinfo gives (the super block's s_dev,
 * which the program compares); stat's st_dev is not always that one
 * (btrfs names each subvolume with a device of its own). 0: not found. */
static uint32_t fb_mount_dev(uint64_t mnt_id)
{
	FILE *m = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	uint32_t dev = 0;

	if (m == NULL)
		return 0;
	while (fgets(line, sizeof(line), m) != NULL) {
		unsigned long long id;
		unsigned maj, mnr;

		if (sscanf(line, "%llu %*u %u:%u", &id, &maj, &mnr) == 3 && id == mnt_id) {
			dev = fb_kdev(maj, mnr);
			break;
		}
	}
	fclose(m);
	return dev;
}

/* The identities the kernel compares of what paths name (following links):
 * statx of each, in one job (fsjob.h): a user's ~/.ssh made a link into his
 * FUSE mount must not hold the collector. */
static int fb_idents_job(void *arg, struct fsjob_ctx *cx)
{
	struct fb_idents_io *io = arg;

	(void)cx;
	for (size_t i = 0; i < io->n; i++)
		io->ok[i] =
		    io->path[i][0] != '\0' &&
		    statx(AT_FDCWD, io->path[i], 0, STATX_INO | STATX_MNT_ID, &io->sx[i]) == 0 &&
		    (io->sx[i].stx_mask & STATX_INO) && io->sx[i].stx_ino != 0;
	return 0;
}

/* The device the kernel compares of a file statx described: that of its
 * mount (fb_mount_dev), or statx's on a kernel without mount ids (before
 * 5.8) */
static uint32_t fb_sx_dev(const struct statx *sx)
{
	uint32_t dev = 0;

	if (sx->stx_mask & STATX_MNT_ID)
		dev = fb_mount_dev(sx->stx_mnt_id);
	return dev ? dev : fb_kdev(sx->stx_dev_major, sx->stx_dev_minor);
}

/* Gives the kernel the identity (inode, and the device of its mount) of
 * what each of n paths names, io's results from slot `from` on, into its
 * arrays kino/kdev (the program's .bss) and the count of slots up to the
 * last one found into *kn; known: what was given last, kept where
 * unchanged. A path that is NULL or names nothing is 0, looked for again
 * at the next call. The program reads these while they change: no match
 * until both are the new file's (stores in this order). */
static void fb_idents_apply(const struct fb_idents_io *io, size_t from, size_t n, uint64_t *known,
			    __u64 *kino, __u32 *kdev, __u32 *kn)
{
	uint32_t last = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t ino = io->ok[from + i] ? io->sx[from + i].stx_ino : 0;
		uint32_t dev = 0;

		if (ino != 0 && ino == known[i]) {
			last = (uint32_t)i + 1;
			continue;
		}
		if (ino != 0)
			dev = fb_sx_dev(&io->sx[from + i]);
		__atomic_store_n(&kino[i], 0, __ATOMIC_RELEASE);
		__atomic_store_n(&kdev[i], dev, __ATOMIC_RELEASE);
		__atomic_store_n(&kino[i], ino, __ATOMIC_RELEASE);
		known[i] = ino;
		if (ino != 0)
			last = (uint32_t)i + 1;
	}
	__atomic_store_n(kn, last, __ATOMIC_RELEASE);
}

/* Gives the kernel the inode and device of each "r:" file and of each
 * kernel prefix's folder (file.bpf.c: read_ino, dir_ino), at the start and
 * at each tick (what was made or replaced since: passwd and vipw write a
 * new file and rename it over the old one; ~/.ssh of an account that had
 * none). One job for all (a held one changes nothing). */
static void fb_idents_set(struct family *f)
{
	struct fb_idents_io *io = &f->idents;
	size_t nr = f->watch.nreads < FILE_READS ? f->watch.nreads : FILE_READS;
	size_t nd = f->npre < FILE_PREFIXES ? f->npre : FILE_PREFIXES;
	int r;

	if (f->skel == NULL || f->skel->bss == NULL)
		return;
	for (size_t i = 0; i < nr; i++)
		if (util_strlcpy(io->path[i], f->watch.reads[i].path, sizeof(io->path[i])) != 0)
			io->path[i][0] = '\0';
	for (size_t i = 0; i < nd; i++) {
		char *d = io->path[nr + i];
		size_t len = f->pre[i].len;

		memcpy(d, f->pre[i].p, len);
		d[len] = '\0';
		/* a prefix cut at FILE_PREFIX_MAX may end inside a name */
		if (len == 0 || d[len - 1] != '/')
			d[0] = '\0';
	}
	io->n = nr + nd;
	r = f->env.fsj
		? fsjob_run(f->env.fsj, FSJOB_KEY_SITE(1), fb_idents_job, NULL, io, sizeof(*io))
		: fb_idents_job(io, NULL);
	if (r != 0)
		return;
	fb_idents_apply(io, 0, nr, f->read_ino, f->skel->bss->read_ino, f->skel->bss->read_dev,
			&f->skel->bss->read_n);
	fb_idents_apply(io, nr, nd, f->dir_ino, f->skel->bss->dir_ino, f->skel->bss->dir_dev,
			&f->skel->bss->dir_n);
}

/* The "r:" entry whose file path names, by the identity the kernel side
 * compares (fb_idents_set: the inode last given it, and the device of the
 * file's mount), so a hard link, a symbolic link or ".." names it too; -1
 * when none. The mount's device is looked up only for an inode that
 * matches. */
static int fb_read_slot(const struct family *f, const char *path, uint32_t uid)
{
	struct statx sx;
	uint32_t dev = 0;

	if (f->skel == NULL || f->skel->bss == NULL ||
	    fsjob_statx(f->env.fsj, FSJOB_KEY_UID(uid), path, 0, STATX_INO | STATX_MNT_ID, &sx) !=
		0 ||
	    !(sx.stx_mask & STATX_INO) || sx.stx_ino == 0)
		return -1;
	for (size_t i = 0; i < f->watch.nreads && i < FILE_READS; i++) {
		if (f->read_ino[i] != sx.stx_ino)
			continue;
		if (dev == 0)
			dev = fb_sx_dev(&sx);
		if (dev == f->skel->bss->read_dev[i])
			return (int)i;
	}
	return -1;
}

/* a mount's flags as words: mount(2)'s MS_* that change what is seen at
 * the mount point, or move_mount(2)'s "move_mount" */
static void fb_mount_flags(const struct file_rec *r, char *out, size_t outsz)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ms[] = {{0x1000, "bind"},	{0x4000, "rec"},    {0x2000, "move"}, {0x20, "remount"},
		  {0x1, "ro"},		{0x2, "nosuid"},    {0x8, "noexec"},  {0x40000, "shared"},
		  {0x80000, "private"}, {0x100000, "slave"}};
	size_t n = 0;

	out[0] = '\0';
	if (r->flags & FILE_F_MOVE_MOUNT) {
		util_strlcpy(out, "move_mount", outsz);
		return;
	}
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		int w;

		if (!(r->mode & ms[i].bit))
			continue;
		w = snprintf(out + n, outsz - n, "%s%s", n ? "," : "", ms[i].name);
		if (w < 0 || (size_t)w >= outsz - n)
			break;
		n += (size_t)w;
	}
}

/* out = folder base (absolute) + "/" + relative path p (leading "./" dropped);
 * an empty p: base itself */
static int fb_join(const char *base, const char *p, char *out, size_t outsz)
{
	int w;

	while (p[0] == '.' && p[1] == '/')
		p += 2;
	w = snprintf(out, outsz, "%s%s%s", base, p[0] && strcmp(base, "/") != 0 ? "/" : "", p);
	return w > 0 && (size_t)w < outsz ? 0 : YM_E_TOOBIG;
}

/* The absolute form of p (n bytes, NUL-terminated) as pid saw it. */
static int fb_resolve(int32_t pid, int32_t dirfd, int rel, const char *p, char *out, size_t outsz)
{
	char link[64], base[FB_PATH];
	ssize_t n;

	if (!rel)
		return util_strlcpy(out, p, outsz);
	if (dirfd == -100)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, (int)dirfd);
	n = readlink(link, base, sizeof(base) - 1);
	if (n <= 0)
		return YM_E_NOTFOUND;
	base[n] = '\0';
	return fb_join(base, p, out, outsz);
}

/* A relative path whose folder the kernel resolved (FILE_F_KDIR1/2): p is
 * the name, its NUL, then dir_len bytes of the folder's components, leaf
 * first (agent/bpf/file.h). */
static int fb_kdir(const char *p, uint16_t dir_len, char *out, size_t outsz)
{
	char base[FB_PATH];
	size_t nl = strnlen(p, FILE_PATH_MAX);

	if (nl == 0 || nl + 1 + dir_len > FILE_PATH_MAX)
		return YM_E_PARSE;
	kpath_join(p + nl + 1, dir_len, base, sizeof(base));
	return fb_join(base, p, out, outsz);
}

/* The record's path (target: 1, source: 2) made absolute. */
static int fb_path(const struct family *f, const struct file_rec *r, int which, char *out,
		   size_t outsz)
{
	const char *p = which == 1 ? r->path : r->path2;
	int32_t dirfd = which == 1 ? r->dirfd : r->dirfd2;
	uint32_t rel = which == 1 ? FILE_F_REL1 : FILE_F_REL2;
	uint32_t kdir = which == 1 ? FILE_F_KDIR1 : FILE_F_KDIR2;

	if (which == 1 &&
	    (r->flags & (FILE_F_IDDIR | FILE_F_KDIR1)) == (FILE_F_IDDIR | FILE_F_KDIR1)) {
		/* an open's file below the prefix folder id_slot, found by
		 * identity: that folder's name as the watched entries
		 * write it (a link to it, a bind mount, a container's view
		 * of it are other names), and the file's components below
		 * it */
		char below[FB_PATH];
		size_t pl;
		int w;

		if (r->id_slot >= f->npre || r->id_slot >= FILE_PREFIXES ||
		    kpath_join(p, r->dir_len, below, sizeof(below)) == 0)
			return YM_E_PARSE;
		pl = f->pre[r->id_slot].len;
		if (pl > 0 && f->pre[r->id_slot].p[pl - 1] == '/')
			pl--; /* "/etc/" + "/cron.d/x" */
		w = snprintf(out, outsz, "%.*s%s", (int)pl, f->pre[r->id_slot].p, below);
		return w > 0 && (size_t)w < outsz ? 0 : YM_E_TOOBIG;
	}
	if (which == 1 && (r->flags & FILE_F_FD1)) {
		/* fchmod, fchown: the descriptor's file, its own components
		 * leaf first (its name, then its folder's), else what
		 * /proc/PID/fd/N names (p is empty then) */
		size_t nl = strnlen(p, FILE_PATH_MAX);

		if (r->flags & FILE_F_KDIR1)
			return r->dir_len > nl
				   ? fb_kdir(p, (uint16_t)(r->dir_len - nl - 1), out, outsz)
				   : YM_E_PARSE;
		return fb_resolve((int32_t)r->pid, dirfd, 1, "", out, outsz);
	}
	if ((r->flags & rel) && (r->flags & kdir))
		return fb_kdir(p, which == 1 ? r->dir_len : r->dir2_len, out, outsz);
	return fb_resolve((int32_t)r->pid, dirfd, r->flags & rel, p, out, outsz);
}

/* path (absolute) without "." and ".." components and repeated '/',
 * lexically: "a/.." taken as nothing, which a link named a is not. */
static void fb_lexical(char *path)
{
	size_t o = 0, i = 0;

	while (path[i] != '\0') {
		size_t j;

		while (path[i] == '/')
			i++;
		j = i;
		while (path[j] != '\0' && path[j] != '/')
			j++;
		if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			while (o > 0 && path[o - 1] != '/')
				o--;
			if (o > 0)
				o--; /* the '/' before the name dropped */
		} else if (j > i && !(j - i == 1 && path[i] == '.')) {
			path[o++] = '/';
			memmove(path + o, path + i, j - i);
			o += j - i;
		}
		i = j;
	}
	if (o == 0)
		path[o++] = '/';
	path[o] = '\0';
}

/* A path as written with "." or ".." components or "//" ("/tmp/../etc/cron.d/x",
 * a relative "../etc/x" joined to its folder), which the watched paths'
 * prefixes cannot be compared with: its folder resolved by the file
 * system now (realpath: symbolic links followed, as the call followed
 * them; a link swapped since resolves as it is now), its last name kept;
 * lexically when the folder is gone. Other paths are left as written. */
static void fb_canon(struct family *f, uint32_t uid, char *path, size_t sz)
{
	size_t n = strlen(path);
	char *slash, *base;

	if (path[0] != '/' ||
	    (strstr(path, "/./") == NULL && strstr(path, "/../") == NULL &&
	     strstr(path, "//") == NULL && !(n >= 2 && strcmp(path + n - 2, "/.") == 0) &&
	     !(n >= 3 && strcmp(path + n - 3, "/..") == 0)))
		return;
	slash = strrchr(path, '/');
	base = slash + 1;
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || *base == '\0') {
		base = path + n; /* the whole path is the folder */
		slash = base;
	}
	if (slash == path) {
		util_strlcpy(f->canon, "/", sizeof(f->canon));
	} else {
		char c = *slash;

		*slash = '\0';
		if (fsjob_realpath(f->env.fsj, FSJOB_KEY_UID(uid), path, f->canon,
				   sizeof(f->canon)) != 0) {
			*slash = c;
			fb_lexical(path);
			return;
		}
		*slash = c;
	}
	if (*base == '\0') {
		util_strlcpy(path, f->canon, sz);
		return;
	}
	n = strlen(f->canon);
	if (snprintf(f->canon + n, sizeof(f->canon) - n, "%s%s", n == 1 ? "" : "/", base) >=
	    (int)(sizeof(f->canon) - n)) {
		fb_lexical(path);
		return;
	}
	util_strlcpy(path, f->canon, sz);
}

/* secs since the epoch as RFC 3339 UTC ("2019-03-04T05:06:07Z") */
static int fb_time(int64_t secs, char *out, size_t outsz)
{
	struct tm tm;
	time_t t = (time_t)secs;

	if (secs < -62135596800LL || secs > 253402300799LL || !gmtime_r(&t, &tm) ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return YM_E_PARSE;
	return 0;
}

static int fb_record(void *ctx, void *data, size_t size);

/* A mount outside the watched paths that is reported all the same: on
 * /proc/PID (a folder mounted there hides that process from ps and from
 * every tool that reads /proc), or of a device (mount(2) with a
 * /dev/ source other than a bind: a container mounting the host's disk) */
static int fb_mount_notable(const struct file_rec *r, const char *target)
{
	if (strncmp(target, "/proc/", 6) == 0 && target[6] >= '0' && target[6] <= '9')
		return 1; /* not /proc/kcore and the like: a container runtime masks those */
	return !(r->flags & FILE_F_MOVE_MOUNT) && !(r->mode & 0x1000 /* MS_BIND */) &&
	       strncmp(r->path2, "/dev/", 5) == 0;
}

static int fb_record_one(void *ctx, void *data, size_t size)
{
	static const char *const names[FILE_REC_MAX_] = {"",	    "create",	 "write", "rename",
							 "unlink",  "chmod",	 "chown", "link",
							 "symlink", "timestamp", "mount", "read"};
	struct family *f = ctx;
	struct file_rec *r = &f->rec;
	struct event *ev = &f->ev;
	int kind, kind2 = 0, rc = 0;

	if (size != sizeof(*r)) {
		f->st.drops++;
		return 0;
	}
	memcpy(r, data, sizeof(*r));
	r->path[FILE_PATH_MAX - 1] = r->path2[FILE_PATH_MAX - 1] = '\0';
	if (r->action == 0 || r->action >= FILE_REC_MAX_) {
		f->st.drops++;
		return 0;
	}
	f->handled++;
	f->source[0] = '\0';
	if (r->action == FILE_REC_READ && r->mode == FILE_READS) {
		/* a read-only open through a ring that posts no completion:
		 * by its path (the file is not open yet at the submission) */
		int slot;

		if (fb_path(f, r, 1, f->target, sizeof(f->target)) != 0) {
			f->unresolved++;
			f->st.drops++;
			return 0;
		}
		slot = fb_read_slot(f, f->target, r->uid);
		if (slot < 0)
			return 0;
		r->mode = (uint32_t)slot;
		util_strlcpy(f->target, f->watch.reads[slot].path, sizeof(f->target));
	} else if (r->action == FILE_REC_READ) {
		/* an "r:" file read: named by its slot */
		if (r->mode >= f->watch.nreads || r->mode >= FILE_READS) {
			f->st.drops++;
			return 0;
		}
		util_strlcpy(f->target, f->watch.reads[r->mode].path, sizeof(f->target));
	} else if (fb_path(f, r, 1, f->target, sizeof(f->target)) != 0 ||
		   ((r->action == FILE_REC_RENAME || r->action == FILE_REC_LINK) &&
		    fb_path(f, r, 2, f->source, sizeof(f->source)) != 0)) {
		f->unresolved++;
		f->st.drops++;
		return 0;
	}
	if (r->action != FILE_REC_READ) {
		fb_canon(f, r->uid, f->target, sizeof(f->target));
		if (f->source[0] != '\0')
			fb_canon(f, r->uid, f->source, sizeof(f->source));
	}
	kind = r->action == FILE_REC_READ
		   ? FAMILY_FILE_WATCH_FILE
		   : family_file_watch_match(&f->watch, f->target, strlen(f->target));
	/* an open named by identity, and as written (path2): the name a
	 * watched entry reports unconditionally, the real one first (a
	 * link to a watched folder), else the written one (a link in a
	 * watched folder to a file elsewhere: /etc/ld.so.preload ->
	 * /dev/shm/x) */
	if ((r->flags & FILE_F_IDDIR) && r->path2[0] != '\0' && kind != FAMILY_FILE_WATCH_TREE &&
	    kind != FAMILY_FILE_WATCH_FILE && fb_path(f, r, 2, f->alt, sizeof(f->alt)) == 0) {
		int ka;

		fb_canon(f, r->uid, f->alt, sizeof(f->alt));
		ka = family_file_watch_match(&f->watch, f->alt, strlen(f->alt));
		if (ka != 0 &&
		    (kind == 0 || ka == FAMILY_FILE_WATCH_TREE || ka == FAMILY_FILE_WATCH_FILE)) {
			util_strlcpy(f->target, f->alt, sizeof(f->target));
			kind = ka;
		}
	}
	if (f->source[0] != '\0')
		kind2 = family_file_watch_match(&f->watch, f->source, strlen(f->source));
	if (kind == 0 && kind2 == 0 &&
	    !(r->action == FILE_REC_MOUNT && fb_mount_notable(r, f->target)))
		return 0;
	/* a "d:" tree: only what loses content (a log's routine writes are
	 * not sent) */
	if ((kind == FAMILY_FILE_WATCH_LOSS || (kind == 0 && kind2 == FAMILY_FILE_WATCH_LOSS)) &&
	    !(r->action == FILE_REC_UNLINK || r->action == FILE_REC_RENAME ||
	      r->action == FILE_REC_MOUNT || (r->flags & (FILE_F_TRUNCATE | FILE_F_OTRUNC))))
		return 0;
	if (kind == FAMILY_FILE_WATCH_EXEC || (kind == 0 && kind2 == FAMILY_FILE_WATCH_EXEC)) {
		/* only executables: a chmod that sets an x bit, or a file
		 * that has one (an open's: its mode from the kernel, at the
		 * open; no stat of a path an unprivileged user's FUSE mount
		 * could hold the collector on) */
		struct stat st;

		if (r->i_mode != 0 &&
		    (r->action == FILE_REC_CREATE || r->action == FILE_REC_WRITE) &&
		    !(r->flags & FILE_F_TRUNCATE)) {
			st.st_mode = r->i_mode;
		} else if (r->action == FILE_REC_CHMOD) {
			st.st_mode = S_IFREG | (r->mode & 07777);
		} else if (r->action == FILE_REC_UNLINK) {
			return 0;
		} else {
			int sr = fsjob_stat(f->env.fsj, FSJOB_KEY_UID(r->uid), f->target, 0, &st);
			/* held by a file system (a FUSE mount of the user's):
			 * reported, as the one who holds the look would not */
			if (sr == YM_E_TIMEOUT || sr == YM_E_BUSY)
				st.st_mode = S_IFREG | 0111;
			else if (sr != 0)
				return 0;
		}
		if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
			return 0;
	}
	event_init(ev);
	ev->ts_ns = family_bpf_util_wall_ns(&f->drain, r->ts_ns); /* the kernel's, of the call */
	/* a read is Sigma's file_access: the file_event rules are about
	 * changes */
	ev->category = r->action == FILE_REC_READ ? EVCAT_FILE_ACCESS : EVCAT_FILE_EVENT;
	rc |= event_set_str(ev, "TargetFilename", f->target);
	rc |= event_set_str(ev, "Action", names[r->action]);
	if (f->source[0] != '\0')
		rc |= event_set_str(ev, "SourceFilename", f->source);
	if (r->action == FILE_REC_CHMOD) {
		snprintf(f->mode, sizeof(f->mode), "%04o", r->mode & 07777);
		rc |= event_set_str(ev, "Mode", f->mode);
	}
	if (r->action == FILE_REC_CHOWN) {
		snprintf(f->owner, sizeof(f->owner), "%d:%d", (int)r->owner_uid, (int)r->owner_gid);
		rc |= event_set_str(ev, "Owner", f->owner);
	}
	/* times set to given values: what they were set to */
	if (r->action == FILE_REC_TIMES) {
		if (r->mtime > FILE_TIME_NOW &&
		    fb_time(r->mtime, f->mtime_s, sizeof(f->mtime_s)) == 0)
			rc |= event_set_str(ev, "ModificationTime", f->mtime_s);
		if (r->atime > FILE_TIME_NOW &&
		    fb_time(r->atime, f->atime_s, sizeof(f->atime_s)) == 0)
			rc |= event_set_str(ev, "AccessTime", f->atime_s);
	}
	/* an open with O_TRUNC cut a file that was there */
	if (r->flags & FILE_F_OTRUNC)
		rc |= event_set_str(ev, "Truncated", "true");
	/* truncate(2) by path: the length the file was cut (or grown) to */
	if (r->action == FILE_REC_WRITE && (r->flags & FILE_F_TRUNCATE)) {
		snprintf(f->size_s, sizeof(f->size_s), "%lld", (long long)r->atime);
		rc |= event_set_str(ev, "Size", f->size_s);
	}
	/* a mount on a watched path: its source and type as written, its
	 * flags */
	if (r->action == FILE_REC_MOUNT) {
		r->path2[FILE_MOUNT_SRC_MAX - 1] = '\0';
		if (!(r->flags & FILE_F_MOVE_MOUNT) && r->path2[0] != '\0')
			rc |= event_set_str(ev, "MountSource", r->path2);
		if (!(r->flags & FILE_F_MOVE_MOUNT) && r->path2[FILE_MOUNT_SRC_MAX] != '\0')
			rc |= event_set_str(ev, "MountType", r->path2 + FILE_MOUNT_SRC_MAX);
		fb_mount_flags(r, f->mflags, sizeof(f->mflags));
		if (f->mflags[0] != '\0')
			rc |= event_set_str(ev, "MountFlags", f->mflags);
		/* made in another mount namespace than the agent's (a
		 * container's, a sandboxed service's): which (0: the kernel's
		 * read failed, which must not make a host mount look like a
		 * container's) */
		if (f->mnt_ns && r->owner_uid && r->owner_uid != f->mnt_ns) {
			snprintf(f->mntns_s, sizeof(f->mntns_s), "%u", r->owner_uid);
			rc |= event_set_str(ev, "MountNamespace", f->mntns_s);
		}
	}
	/* a symbolic link's content, as written (relative to its folder) */
	if (r->action == FILE_REC_SYMLINK)
		rc |= event_set_str(ev, "LinkTarget", r->path2);
	/* made through an io_uring ring, not a system call; "submitted": the
	 * submitter asked for no completion on success, so whether it
	 * succeeded is not known */
	if (r->flags & FILE_F_URING)
		rc |= event_set_str(ev, "IoUring",
				    (r->flags & FILE_F_URING_SKIP) ? "submitted" : "true");
	/* made as a 32-bit (compat) call: a 32-bit program's, or int 0x80
	 * from 64-bit code */
	if (r->flags & (FILE_F_IA32 | FILE_F_INT80))
		rc |= event_set_str(ev, "SyscallAbi", (r->flags & FILE_F_INT80) ? "int80" : "ia32");
	if (rc == 0)
		rc = family_util_user(&f->env, r->uid, ev, f->uidbuf);
	if (rc != 0 || family_util_proc(&f->env, (int32_t)r->pid, ev, f->pidbuf) < 0 ||
	    f->emit(f->arg, ev) != 0) {
		f->st.drops++;
		return 0;
	}
	f->st.events++;
	return 0;
}

/* The kernel's coarse prefixes: each watched entry's folder, homes as
 * "/home/" and "/root/"; more than FILE_PREFIXES collapse to "/". */
static int fb_prefixes(struct family *f)
{
	struct file_prefix pre[FILE_PREFIXES];
	size_t np = 0;
	int fd = bpf_map__fd(f->skel->maps.prefixes), all = 0;

	memset(pre, 0, sizeof(pre));
	for (size_t i = 0; i < f->watch.n && !all; i++) {
		const struct family_file_watch_entry *e = &f->watch.e[i];
		char p[FAMILY_FILE_WATCH_PATH];
		size_t len;
		int dup = 0;

		util_strlcpy(p, e->path, sizeof(p));
		if (strncmp(p, "/home/", 6) == 0) {
			p[6] = '\0';
		} else if (e->kind == FAMILY_FILE_WATCH_FILE) {
			char *s = strrchr(p, '/');

			s[1] = '\0';
		}
		len = strlen(p);
		if (len >= FILE_PREFIX_MAX) {
			len = FILE_PREFIX_MAX - 1; /* a shorter prefix still covers it */
			p[len] = '\0';
		}
		for (size_t j = 0; j < np; j++) {
			size_t l = pre[j].len;

			if (l <= len && memcmp(pre[j].p, p, l) == 0)
				dup = 1; /* covered by a shorter one */
		}
		if (dup)
			continue;
		if (np == FILE_PREFIXES) {
			all = 1;
			break;
		}
		pre[np].len = (uint32_t)len;
		memcpy(pre[np].p, p, len);
		np++;
	}
	if (all) {
		memset(pre, 0, sizeof(pre));
		pre[0].len = 1;
		pre[0].p[0] = '/';
		np = 1;
	}
	for (uint32_t k = 0; k < FILE_PREFIXES; k++)
		if (bpf_map_update_elem(fd, &k, &pre[k], BPF_ANY) != 0)
			return YM_E_IO;
	memcpy(f->pre, pre, sizeof(pre));
	f->npre = np;
	return 0;
}

static void fb_uring_detach(struct family *f)
{
	for (int i = 0; i < 2; i++) {
		bpf_link__destroy(f->uring_links[i]);
		f->uring_links[i] = NULL;
	}
}

static void fb_stop(struct family *f)
{
	if (f == NULL)
		return;
	ring_buffer__free(f->rb);
	sysx_del(f->sysx);
	bpf_link__destroy(f->sys_link);
	sysx_del(f->compat_reg);
	bpf_link__destroy(f->compat_link);
	fb_uring_detach(f);
	file_bpf__destroy(f->skel);
	free(f);
}

static int fb_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	struct bpf_program *sys_tp = NULL, *sys_btf = NULL, *compat_prog = NULL;
	int rc = YM_E_NOMEM, err = 0;
	struct sysx_try tr;

	if (f == NULL)
		goto out;
	f->env = *env;
	rc = family_file_watch_build(env->watch_paths, &f->watch);
	if (rc != 0)
		goto out;
	{
		struct stat ns;

		if (stat("/proc/self/ns/mnt", &ns) == 0)
			f->mnt_ns = (uint32_t)ns.st_ino;
	}
	/* the syscall program with the "r:" check's plain loads (else, again,
	 * with helper reads), as a tracepoint program where sysx can attach
	 * one (if this kernel refuses it, again with the tp_btf one). Each
	 * with the io_uring programs, then without them (a kernel without
	 * io_uring, or whose requests the programs cannot read: W3618); the
	 * compat program dropped before them (sysx_try_next, W3621) */
	f->direct = fb_direct_loads;
	sysx_try_init(&tr, SYSX_COMPAT && sysx_compat_present(), 1);
	for (int tries = 0; tries < 12; tries++) {
		int tp;

		f->skel = file_bpf__open();
		if (f->skel == NULL) {
			rc = family_bpf_util_err(-errno);
			goto out;
		}
		f->skel->rodata->self_tgid = (uint32_t)env->self_pid;
		sys_tp = sysx_choose_direct(f->direct, f->skel->progs.file_sys_dl_tp,
					    f->skel->progs.file_sys_exit_tp);
		sys_btf = sysx_choose_direct(f->direct, f->skel->progs.file_sys_dl,
					     f->skel->progs.file_sys_exit);
		tp = sysx_prepare(sys_tp, sys_btf);
		bpf_program__set_autoload(f->skel->progs.file_uring_submit, tr.uring);
		bpf_program__set_autoload(f->skel->progs.file_uring_complete, tr.uring);
#if SYSX_COMPAT
		compat_prog = sysx_choose_direct(f->direct, f->skel->progs.file_sys_compat_dl,
						 f->skel->progs.file_sys_compat);
		bpf_program__set_autoload(compat_prog, tr.compat);
		bpf_program__set_autoattach(compat_prog, false);
#endif
		/* the dispatcher's maps where it may be used (sysx.h); without
		 * them (it refused) the programs run alone, as they then must */
		if (!tp || tr.compat)
			(void)sysx_share(f->skel->maps.sysx_progs, f->skel->maps.sysx_watch);
		err = file_bpf__load(f->skel);
		if (err == 0) {
			f->uring = tr.uring;
			break;
		}
		file_bpf__destroy(f->skel);
		f->skel = NULL;
		if (!sysx_try_next(&tr, "family_file", &f->direct, tp, err))
			break;
	}
	if (err != 0) {
		rc = family_bpf_util_err(err);
		goto out;
	}
	rc = fb_prefixes(f); /* before attaching: nothing passes an empty map */
	if (rc != 0)
		goto out;
	fb_idents_set(f);
	{
		/* numbers of -1 (not on this architecture) are skipped */
		static const struct sysx_call calls[] = {FILE_CALLS};

		err = sysx_attach(SYSX_MOD_FILE, sys_tp, sys_btf, calls,
				  sizeof(calls) / sizeof(calls[0]), &f->sysx, &f->sys_link);
	}
	if (err != 0) {
		rc = family_bpf_util_err(err);
		goto out;
	}
	/* after the prefixes too: an empty map passes nothing */
	if (f->uring) {
		f->uring_links[0] = bpf_program__attach(f->skel->progs.file_uring_submit);
		f->uring_links[1] = f->uring_links[0]
					? bpf_program__attach(f->skel->progs.file_uring_complete)
					: NULL;
		if (f->uring_links[1] == NULL) {
			tr.uring_err = -errno;
			f->uring = 0;
			fb_uring_detach(f);
		}
	}
	/* compat system calls (x86): through the dispatcher's compat table
	 * (sysx.h), after the prefixes too */
	{
		static const uint32_t nrs32[] = {FILE_CALLS32};

		sysx_compat_watch("family_file", "file (bpf)", SYSX_MOD_FILE, compat_prog, nrs32,
				  sizeof(nrs32) / sizeof(nrs32[0]), &tr, &f->compat_reg,
				  &f->compat_link);
	}
	LOG_I("family_file", "r: check by %s", sysx_reads(f->direct));
	if (!f->uring)
		family_bpf_util_uring_off("W3618", "file (bpf)",
					  "files opened, renamed, unlinked or linked",
					  tr.uring_err);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), fb_record, f, NULL);
	if (f->rb == NULL) {
		rc = YM_E_IO;
		goto out;
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	fb_stop(f);
	return rc;
}

/* About once a second: "r:" files and prefix folders made or replaced
 * since are given again. */
static int fb_tick(struct family *f, family_emit_fn emit, void *arg)
{
	(void)emit;
	(void)arg;
	fb_idents_set(f);
	return 0;
}

const char *family_file_bpf_reads(const struct family *f)
{
	return sysx_reads(f->direct);
}

void family_file_bpf_direct_loads(int allow)
{
	fb_direct_loads = allow != 0;
}

static int fb_fd(const struct family *f)
{
	return ring_buffer__epoll_fd(f->rb);
}

/* ring_buffer callback: one record; stops the drain at the poll's max, so
 * a flood cannot keep the collector from its other sources and ticks */
static int fb_record(void *ctx, void *data, size_t size)
{
	struct family *f = ctx;

	(void)fb_record_one(ctx, data, size);
	return family_bpf_util_counted(&f->drain);
}

/* Returns the records handled; max at most were read (a drain that hit max
 * returns max, so the collector comes back at once). */
static int fb_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	f->emit = emit;
	f->arg = arg;
	f->handled = 0;
	return family_bpf_util_poll(f->rb, &f->drain, max, &f->handled);
}

/* Detaches the syscall watch and the io_uring programs; the ring stays
 * for the last polls. */
static void fb_quiesce(struct family *f)
{
	sysx_del(f->sysx);
	f->sysx = NULL;
	bpf_link__destroy(f->sys_link);
	f->sys_link = NULL;
	sysx_del(f->compat_reg);
	f->compat_reg = NULL;
	bpf_link__destroy(f->compat_link);
	f->compat_link = NULL;
	fb_uring_detach(f);
}

static void fb_stats(const struct family *f, struct family_stats *out)
{
	uint64_t kdrops = 0;

	*out = f->st;
	if (family_bpf_util_percpu_sum(bpf_map__fd(f->skel->maps.drops), 0, &kdrops) == 0)
		out->drops += kdrops;
}

const struct family_ops family_file_bpf_ops = {
    .family = "file",
    .mode = "bpf",
    .start = fb_start,
    .fd = fb_fd,
    .poll = fb_poll,
    .tick = fb_tick,
    .quiesce = fb_quiesce,
    .stats = fb_stats,
    .stop = fb_stop,
};
