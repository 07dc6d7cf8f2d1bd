// SPDX-License-Identifier: GPL-2.0
/* file.bpf.c: the file family's kernel side (docs/sensors.md "Files").
 *
 * tp_btf/sys_exit, at the successful exit of open, creat, openat, openat2,
 * rename, renameat, renameat2, unlink, unlinkat, chmod, fchmodat,
 * fchmodat2, chown, lchown and fchownat, reads the call's arguments from
 * its saved registers and the paths from its memory, and sends a record when an
 * absolute path starts with one of the prefixes in the map "prefixes" (at
 * most FILE_PREFIXES, compared in a bounded bpf_loop). Relative paths are
 * sent as they are, for the loader to resolve and filter. Opens count only
 * with O_WRONLY, O_RDWR, O_CREAT or O_TRUNC; their file is first compared
 * with the prefixes' folders by identity (dir_ino: any name that led to
 * it, "..", a symbolic link to a folder, a bind mount), and one below them
 * is sent named by that folder and its components below it. Other calls
 * with a path through ".." that misses the prefixes are sent for the
 * loader to resolve. link, linkat, symlink and symlinkat count too: a new name in a watched folder
 * is a file made there (a cron job, a unit, a key hard-linked or symlinked in); so do fchmod and
 * fchown, the file's path walked from the descriptor, and utime, utimes,
 * futimesat and utimensat when they set given times (a file dated to look
 * old), not "now" (touch). A failed reserve
 * increments the per-CPU counter "drops".
 *
 * io_uring: the same operations submitted through a ring (IORING_OP_OPENAT,
 * _OPENAT2, _RENAMEAT, _UNLINKAT, _LINKAT, _SYMLINKAT) make no system call
 * of their own, so tp_btf/io_uring_submit_req reads them from the request
 * (its paths already copied into the kernel by the operation's prep) and
 * keeps the record by request until tp_btf/io_uring_complete says it
 * succeeded; a request that asked for no completion on success is sent at
 * the submission (FILE_F_URING_SKIP). The completion also sees read-only
 * opens (an "r:" file read through a ring, its descriptor or fixed-file
 * slot known only then) and whether an O_TRUNC open cut a file that was
 * there. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "file.h"
#include "sysx_maps.h"
#include "pathwalk.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

#define O_WRONLY     01
#define O_RDWR	     02
#define O_CREAT	     0100
#define O_TRUNC	     01000
/* f_mode: the open made the file (include/linux/fs.h, since 4.19) */
#define FMODE_CREATED_ (1u << 20)
#define AT_FDCWD     -100
#define AT_REMOVEDIR 0x200

const volatile __u32 self_tgid = 0;

/* Files whose opens for reading are reported ("r:" entries: /etc/shadow):
 * their inode numbers and devices (the kernel's dev_t), written by the
 * loader through the mapped .bss at its start and again when one was
 * replaced (passwd writes a new file and renames it over); read_n last,
 * 0 while there is none, which is all most opens of the machine read */
__u64 read_ino[FILE_READS] = {};
__u32 read_dev[FILE_READS] = {};
__u32 read_n = 0;

/* The kernel prefixes' folders by identity (inode number and dev_t),
 * written by the loader as read_ino: an open that can write is sent when
 * the file it made or opened lies below one of these, whatever name led
 * to it (by_identity). dir_n last; 0: none known. */
__u64 dir_ino[FILE_PREFIXES] = {};
__u32 dir_dev[FILE_PREFIXES] = {};
__u32 dir_n = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 << 10); /* 600-byte records: ~870 */
} events SEC(".maps");

YM_BPF_DROPS_MAP(1);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FILE_PREFIXES);
	__type(key, __u32);
	__type(value, struct file_prefix);
} prefixes SEC(".maps");

/* scratch for the folder walk: a relative path's name, then its folder's
 * components (pathwalk.h) */
#define FILE_WALK_MASK 1023
struct walk_scratch {
	char d[FILE_WALK_MASK + 1 + YM_WALK_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_scratch);
} walk_buf_map SEC(".maps");

static __always_inline char *walk_buf(__u32 buf, __u32 *mask)
{
	__u32 zero = 0;
	struct walk_scratch *w = bpf_map_lookup_elem(&walk_buf_map, &zero);

	(void)buf;
	*mask = FILE_WALK_MASK;
	return w ? w->d : NULL;
}

struct call {
	__s64 nr;
	__u64 a[5];
	__u32 fl; /* the record's flags from the call: FILE_F_IA32, FILE_F_INT80 */
};

static __always_inline int watched(long nr)
{
	return nr == FILE_NR_OPENAT || nr == FILE_NR_OPENAT2 || nr == FILE_NR_RENAMEAT2 ||
	       nr == FILE_NR_RENAMEAT || nr == FILE_NR_UNLINKAT || nr == FILE_NR_FCHMODAT ||
	       nr == FILE_NR_FCHMODAT2 || nr == FILE_NR_FCHOWNAT || nr == FILE_NR_OPEN ||
	       nr == FILE_NR_CREAT || nr == FILE_NR_RENAME || nr == FILE_NR_UNLINK ||
	       nr == FILE_NR_CHMOD || nr == FILE_NR_CHOWN || nr == FILE_NR_LCHOWN ||
	       nr == FILE_NR_LINK || nr == FILE_NR_LINKAT || nr == FILE_NR_SYMLINK ||
	       nr == FILE_NR_SYMLINKAT || nr == FILE_NR_FCHMOD || nr == FILE_NR_FCHOWN ||
	       nr == FILE_NR_UTIME || nr == FILE_NR_UTIMES || nr == FILE_NR_FUTIMESAT ||
	       nr == FILE_NR_UTIMENSAT || nr == FILE_NR_TRUNCATE || nr == FILE_NR_MOUNT ||
	       nr == FILE_NR_MOVE_MOUNT;
}

/* The arguments of a watched call, read at its exit from the registers the
 * call was made with (the kernel saves them at entry and a system call
 * does not change them; arm64's first one is orig_x0). 0 when the call is
 * not one to report: an open that cannot write, a directory removal. */
static __always_inline void call_args(struct call *c, long nr, struct pt_regs *regs)
{
	c->nr = nr;
	c->fl = 0;
	c->a[0] = PT_REGS_PARM1_SYSCALL(regs);
	c->a[1] = PT_REGS_PARM2_SYSCALL(regs);
	c->a[2] = PT_REGS_PARM3_SYSCALL(regs);
	c->a[3] = PT_REGS_PARM4_SYSCALL(regs);
	c->a[4] = PT_REGS_PARM5_SYSCALL(regs);
}

/* 0 when the call is not one to report: an open that cannot write (kept:
 * the caller's "r:" check), a directory removal */
static __always_inline int call_keep(struct call *c)
{
	__s64 nr = c->nr;

	/* opens: keep only those that may write */
	if (nr == FILE_NR_OPENAT || nr == FILE_NR_OPEN) {
		__u64 fl = nr == FILE_NR_OPEN ? c->a[1] : c->a[2];

		if (!(fl & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)))
			return 0;
	} else if (nr == FILE_NR_OPENAT2) {
		struct open_how how = {};

		if (bpf_probe_read_user(&how, sizeof(how), (void *)c->a[2]) != 0 ||
		    !(how.flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)))
			return 0;
		c->a[2] = how.flags;
		c->a[3] = how.mode;
	} else if (nr == FILE_NR_UNLINKAT && (c->a[2] & AT_REMOVEDIR)) {
		return 0;
	}
	return 1;
}

struct match {
	const char *path;
	int hit;
};

static long prefix_step(__u32 i, void *arg)
{
	struct match *m = arg;
	struct file_prefix *p = bpf_map_lookup_elem(&prefixes, &i);
	__u32 len;

	if (!p)
		return 1;
	len = p->len;
	if (len == 0 || len > FILE_PREFIX_MAX)
		return 0;
	for (__u32 j = 0; j < FILE_PREFIX_MAX; j++) {
		if (j >= len) {
			m->hit = 1;
			return 1;
		}
		if (m->path[j] != p->p[j])
			return 0;
	}
	m->hit = 1;
	return 1;
}

/* A relative path's folder (dirfd's, or the cwd for AT_FDCWD), resolved
 * now, while the caller lives: a short-lived process (rm -r unlinks through
 * a directory descriptor and exits within a millisecond) is gone before
 * the loader could read /proc. dst holds the name (n bytes with its NUL);
 * the folder's components follow it, leaf first (FILE_F_KDIR1 in file.h).
 * Returns the components' bytes + 1 (1: the root), or 0 when the folder
 * is unknown or does not fit in FILE_PATH_MAX (the loader then reads
 * /proc, as before). */
static __always_inline __u32 put_dir(char *dst, __u32 n, __s32 dirfd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct path *p;
	char *s;
	__u32 mask = 0, w, cut = 0;

	if (n == 0 || n >= FILE_PATH_MAX)
		return 0;
	if (dirfd == AT_FDCWD) {
		struct fs_struct *fs = BPF_CORE_READ(t, fs);

		if (!fs)
			return 0;
		p = &fs->pwd;
	} else {
		struct file *f = ym_fd_file(dirfd);

		if (!f)
			return 0;
		p = &f->f_path;
	}
	s = walk_buf(0, &mask);
	if (!s || bpf_probe_read_kernel(s, FILE_PATH_MAX, dst) != 0)
		return 0;
	/* a component is written only with YM_WALK_NAME_MAX bytes of room:
	 * this limit stops the walk once the folder cannot fit beside the
	 * name (FILE_PATH_MAX - n bytes), instead of walking on to discard it */
	w = put_path(0, n, FILE_PATH_MAX - n + YM_WALK_NAME_MAX - 1, p, FILE_DIR_DEPTH, &cut, 1, 0);
	if (cut || n + w > FILE_PATH_MAX)
		return 0;
	if (bpf_probe_read_kernel(dst, FILE_PATH_MAX, s) != 0)
		return 0;
	return w + 1;
}

/* The file descriptor fd of the caller names (fchmod, fchown), its path
 * resolved now: its own components, leaf first, into r->path (FILE_F_FD1
 * in file.h). Always sent (no prefix to compare a reversed path with): the
 * loader filters. */
static __always_inline void put_fd_path(struct file_rec *r, __s32 fd)
{
	struct file *f = ym_fd_file(fd);
	char *s;
	__u32 mask = 0, w, cut = 0;

	r->flags |= FILE_F_REL1 | FILE_F_FD1;
	r->dirfd = fd;
	r->path[0] = 0;
	if (!f)
		return;
	s = walk_buf(0, &mask);
	if (!s)
		return;
	w = put_path(0, 0, FILE_PATH_MAX + YM_WALK_NAME_MAX - 1, &f->f_path, FILE_DIR_DEPTH, &cut,
		     1, 0);
	if (cut || w == 0 || w > FILE_PATH_MAX ||
	    bpf_probe_read_kernel(r->path, FILE_PATH_MAX, s) != 0)
		return;
	r->flags |= FILE_F_KDIR1;
	r->dir_len = (__u16)w;
}

/* One step up from a file towards its file system's root, and on from
 * where that root is mounted (not from a mount's root that is a folder of
 * its file system: a bind mount of /etc/cron.d, a container's view of
 * the host's /etc, is walked up to /etc as the file system holds it): 1
 * to stop, with up->hit set when the folder is one of
 * dir_ino/dir_dev (its slot in up->slot, its dentry in up->top). The walk
 * starts at the file's folder: the file's own inode number may be one a
 * watched folder removed within the last tick had (the number reused, the
 * slot not given again yet). No count of the steps: a
 * counter the caller then branches on would be precise, and the verifier
 * would follow the callback once per value of it. */
struct up {
	struct dentry *d;
	struct mount *mnt;
	struct dentry *top;
	__u32 hit, slot;
};

/* A file system's root d (its own parent), in mount *mnt (dm: the same,
 * for plain loads where direct): on to the folder it is mounted on, in
 * the parent mount (*d, *mnt set), 0; 1 at the top, or where *mnt shows
 * a folder of its file system and not its root (a bind mount: where the
 * rest of that file system is mounted, if anywhere, is not known here). */
static __always_inline long fs_root_up(struct dentry **d, struct mount **mnt, struct mount *dm,
				       struct dentry *mroot, int direct)
{
	struct mount *mp = direct ? dm->mnt_parent : BPF_CORE_READ(*mnt, mnt_parent);

	if (mp == *mnt || *d != mroot)
		return 1;
	*d = direct ? dm->mnt_mountpoint : BPF_CORE_READ(*mnt, mnt_mountpoint);
	*mnt = mp;
	return 0;
}

static __always_inline long up_step_do(struct up *u, int direct)
{
	struct dentry *d = u->d, *parent, *mroot;
	struct mount *dm = u->mnt;
	struct inode *in;
	__u64 ino;

	if (!d)
		return 1;
	walk_links(&d, &dm, &parent, &mroot, direct);
	if (direct) {
		in = d->d_inode;
		ino = in->i_ino;
	} else {
		in = BPF_CORE_READ(d, d_inode);
		ino = BPF_CORE_READ(in, i_ino);
	}
	for (__u32 i = 0; i < FILE_PREFIXES; i++) {
		if (i < dir_n && dir_ino[i] == ino && ino) {
			__u32 dev = direct ? in->i_sb->s_dev : BPF_CORE_READ(in, i_sb, s_dev);

			if (dir_dev[i] == dev) {
				u->hit = 1;
				u->slot = i;
				u->top = u->d;
				return 1;
			}
		}
	}
	if (d == parent)
		return fs_root_up(&u->d, &u->mnt, dm, mroot, direct);
	u->d = parent;
	return 0;
}

static long up_step(__u32 i, void *arg)
{
	return up_step_do(arg, 0);
}

static long up_step_dl(__u32 i, void *arg)
{
	return up_step_do(arg, 1);
}

/* Whether file f lies below one of the folders of dir_ino (any name led
 * to it): 1 with u filled (the folder's slot and dentry), else 0. direct
 * (a constant): plain loads, as path_step_do. */
static __always_inline int under_watched_dir(struct file *f, int direct, struct up *u)
{
	struct vfsmount *vm;

	if (!f || !dir_n)
		return 0;
	if (direct) {
		struct file *df = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));

		u->d = df->f_path.dentry->d_parent;
		vm = df->f_path.mnt;
	} else {
		u->d = BPF_CORE_READ(f, f_path.dentry, d_parent);
		vm = BPF_CORE_READ(f, f_path.mnt);
	}
	if (!u->d || !vm)
		return 0;
	u->mnt = (void *)vm - bpf_core_field_offset(struct mount, mnt);
	u->top = 0;
	u->hit = u->slot = 0;
	bpf_loop(FILE_DIR_DEPTH, direct ? up_step_dl : up_step, u, 0);
	return u->hit;
}

/* the walk of by_identity: up_step's, writing each component (leaf
 * first, as path_step_do), up to the folder found (top) */
struct below {
	struct walk w;
	struct dentry *top;
};

static long below_step(__u32 i, void *arg)
{
	struct below *b = arg;
	struct walk *w = &b->w;
	struct dentry *d = w->d, *parent, *mroot;
	struct mount *dm = w->mnt;
	__u32 mask = 0;
	char *data = walk_buf(w->buf, &mask);

	if (!data || !d)
		return 1;
	if (d == b->top) {
		w->d = 0;
		return 1;
	}
	walk_links(&d, &dm, &parent, &mroot, 0);
	if (d == parent) {
		if (fs_root_up(&w->d, &w->mnt, dm, mroot, 0)) {
			w->trunc = 1; /* not found again */
			return 1;
		}
		return 0;
	}
	return walk_put(w, data, mask, BPF_CORE_READ(d, d_name.name), parent);
}

/* An open that can write, found below the watched folder u->slot by
 * identity (under_watched_dir): named by that folder and its components
 * below it (walked again up to it, leaf first into r->path:
 * FILE_F_IDDIR), whatever name the caller used (relative, through "..",
 * a symbolic link to a folder, a bind mount, another mount namespace's
 * view). fd: the descriptor, or -1 (a ring's fixed-file slot: none to
 * read /proc by if the components do not fit). */
static __always_inline void by_identity(struct file_rec *r, struct file *f, __s32 fd,
					const struct up *u)
{
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct below b = {
	    .w =
		{
		    .buf = 0,
		    .lim = FILE_PATH_MAX + YM_WALK_NAME_MAX - 1,
		    .d = BPF_CORE_READ(f, f_path.dentry),
		    .mnt = (void *)vm - bpf_core_field_offset(struct mount, mnt),
		},
	    .top = u->top,
	};
	__u32 mask = 0;
	char *s;

	r->flags &= ~(FILE_F_REL1 | FILE_F_KDIR1 | FILE_F_TRUNC1);
	r->flags |= FILE_F_REL1 | FILE_F_FD1 | FILE_F_IDDIR;
	r->dirfd = fd;
	r->dir_len = 0;
	r->id_slot = u->slot;
	r->path[0] = 0;
	s = walk_buf(0, &mask);
	if (!s || !vm || !b.w.d || !b.top)
		return;
	bpf_loop(FILE_DIR_DEPTH, below_step, &b, 0);
	/* stopped at the folder (w.d 0), every component written */
	if (b.w.trunc || b.w.d || b.w.off == 0 || b.w.off > FILE_PATH_MAX ||
	    bpf_probe_read_kernel(r->path, FILE_PATH_MAX, s) != 0)
		return;
	r->flags |= FILE_F_KDIR1;
	r->dir_len = (__u16)b.w.off;
}

/* A path with a ".." component ("/tmp/../etc/cron.d/x"): one that misses
 * the prefixes as written but may lead under them. Scanned only for calls
 * that give no file to compare by identity (renames, links, unlinks,
 * chmod, chown...); the loader resolves the folder. The callback reads a
 * copy in the walk's scratch buffer (a pointer in its context would not
 * do: pathwalk.h). */
static long dots_step(__u32 i, void *arg)
{
	int *hit = arg;
	__u32 mask = 0;
	char *s = walk_buf(0, &mask);

	if (!s || i + 3 >= FILE_PATH_MAX)
		return 1;
	i &= mask; /* for the verifier: the buffer holds mask + 1 + YM_WALK_NAME_MAX */
	if (s[i] == 0)
		return 1;
	if (s[i] == '/' && s[i + 1] == '.' && s[i + 2] == '.' &&
	    (s[i + 3] == '/' || s[i + 3] == 0)) {
		*hit = 1;
		return 1;
	}
	return 0;
}

static __always_inline int has_dotdot(const char *p)
{
	__u32 mask = 0;
	char *s;
	int hit = 0;

	if (p[0] != '/')
		return 0; /* relative: sent anyway */
	s = walk_buf(0, &mask);
	if (!s || bpf_probe_read_kernel(s, FILE_PATH_MAX, p) != 0)
		return 0;
	bpf_loop(FILE_PATH_MAX, dots_step, &hit, 0);
	return hit;
}

/* reads a path (user memory, or the kernel's with kern) into dst; sets the relative/cut flags; 1
 * when it falls under a prefix or is relative (the loader decides), else 0. A relative path's
 * folder is resolved here (put_dir): kdir set in *flags and its length in *dir_len. */
static __always_inline int read_path(char *dst, const char *src, int kern, __u32 *flags, __u32 rel,
				     __u32 trunc, __s32 dirfd, __u32 kdir, __u16 *dir_len)
{
	struct match m = {.path = dst};
	long n = kern ? bpf_probe_read_kernel_str(dst, FILE_PATH_MAX, src)
		      : bpf_probe_read_user_str(dst, FILE_PATH_MAX, src);
	__u32 d;

	if (n <= 0)
		return 0;
	if (n == FILE_PATH_MAX)
		*flags |= trunc;
	if (dst[0] != '/') {
		*flags |= rel;
		d = put_dir(dst, (__u32)n, dirfd);
		if (d) {
			*flags |= kdir;
			*dir_len = (__u16)(d - 1);
		}
		return 1;
	}
	bpf_loop(FILE_PREFIXES, prefix_step, &m, 0);
	return m.hit;
}

/* a record's fields before its call's own (id: bpf_get_current_pid_tgid) */
static __always_inline void rec_init(struct file_rec *r, __u64 id)
{
	r->pid = id >> 32;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->flags = 0;
	r->dirfd = AT_FDCWD;
	r->dirfd2 = AT_FDCWD;
	r->mode = 0;
	r->owner_uid = r->owner_gid = (__u32)-1;
	r->dir_len = r->dir2_len = 0;
	r->ts_ns = bpf_ktime_get_ns();
	r->path2[0] = 0;
	r->atime = r->mtime = FILE_TIME_KEEP;
	r->id_slot = r->i_mode = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
}

/* a symbolic link's content into path2, as written (not a path of the
 * caller's: relative to the link's folder, and never resolved) */
static __always_inline void read_link_content(struct file_rec *r, const char *src, int kern)
{
	long n = kern ? bpf_probe_read_kernel_str(r->path2, FILE_PATH_MAX, src)
		      : bpf_probe_read_user_str(r->path2, FILE_PATH_MAX, src);

	if (n <= 0)
		r->path2[0] = 0;
	else if (n == FILE_PATH_MAX)
		r->flags |= FILE_F_TRUNC2;
}

#define MOVE_MOUNT_T_EMPTY_PATH_ 0x40 /* uapi linux/mount.h */

/* the caller's mount namespace (its inode number, as /proc/PID/ns/mnt
 * shows it): a mount in a container's or a sandboxed service's namespace
 * is told from one on the host's. 0 on a kernel whose BTF lacks the
 * (internal) struct: the rest of the program still loads there. */
static __always_inline __u32 mnt_ns_inum(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	if (!bpf_core_type_exists(struct mnt_namespace))
		return 0;
	return BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
}

#define UTIME_NOW  ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)

/* The times a utime call sets (user memory at times; NULL: now), into
 * r->atime and r->mtime. Returns 1 when at least one is a given value (a
 * file dated on purpose: what timestomping does), 0 for "now" (touch). */
static __always_inline int read_times(struct file_rec *r, long nr, __u64 times)
{
	__s64 t[4] = {};

	r->atime = r->mtime = FILE_TIME_NOW;
	if (!times)
		return 0;
	if (nr == FILE_NR_UTIME) { /* struct utimbuf: actime, modtime */
		if (bpf_probe_read_user(t, 16, (void *)times) != 0)
			return 0;
		r->atime = t[0];
		r->mtime = t[1];
		return 1;
	}
	/* timeval[2] or timespec[2]: seconds, then micro- or nanoseconds */
	if (bpf_probe_read_user(t, sizeof(t), (void *)times) != 0)
		return 0;
	r->atime = t[0];
	r->mtime = t[2];
	if (nr == FILE_NR_UTIMENSAT) {
		if (t[1] == UTIME_NOW)
			r->atime = FILE_TIME_NOW;
		else if (t[1] == UTIME_OMIT)
			r->atime = FILE_TIME_KEEP;
		if (t[3] == UTIME_NOW)
			r->mtime = FILE_TIME_NOW;
		else if (t[3] == UTIME_OMIT)
			r->mtime = FILE_TIME_KEEP;
	}
	return r->atime > FILE_TIME_NOW || r->mtime > FILE_TIME_NOW;
}

/* f, just opened for reading only: sent when its file is one whose reads
 * are watched (the same inode under any name: a hard link too); an O_PATH
 * descriptor (FMODE_READ not set) reads nothing. Every read-only open of
 * the machine comes here while there is an "r:" file: the inode number
 * first, by plain loads where direct (a constant: bpf_rdonly_cast, kernel
 * 6.2+; ~64 ns a run through the helper, three reads). flags: the
 * record's (FILE_F_URING through a ring). */
static __always_inline void read_file(struct file *f, __u64 id, int direct, __u32 flags)
{
	struct inode *in;
	struct file_rec *r;
	__u64 ino;
	__u32 dev, fmode, slot = FILE_READS;

	if (!f)
		return;
	if (direct) {
		f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
		in = f->f_inode;
		ino = in->i_ino;
	} else {
		in = BPF_CORE_READ(f, f_inode);
		ino = BPF_CORE_READ(in, i_ino);
	}
	for (__u32 i = 0; i < FILE_READS; i++)
		if (i < read_n && read_ino[i] == ino)
			slot = i;
	if (slot >= FILE_READS)
		return;
	if (direct) {
		fmode = f->f_mode;
		dev = in->i_sb->s_dev;
	} else {
		fmode = BPF_CORE_READ(f, f_mode);
		dev = BPF_CORE_READ(in, i_sb, s_dev);
	}
	if (read_dev[slot] != dev || !(fmode & 1u /* FMODE_READ */))
		return;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		ym_count_drop(0);
		return;
	}
	rec_init(r, id);
	r->flags = flags;
	r->action = FILE_REC_READ;
	r->mode = slot;
	r->path[0] = r->path2[0] = 0;
	bpf_ringbuf_submit(r, 0);
}

/* A watched call whose arguments c holds (64-bit numbering), at its exit
 * with result ret (no sys_enter program): file_sys's for a native call,
 * file_compat's for a compat one */
static __always_inline int file_call(struct call *c, long ret, int direct)
{
	__u64 id;
	struct file_rec *r;
	const char *p1 = 0, *p2 = 0;
	__s64 nr;
	int keep, open;

	id = bpf_get_current_pid_tgid();
	if ((id >> 32) == self_tgid)
		return 0;
	if (!call_keep(c)) {
		/* an open that cannot write: read only */
		if (read_n &&
		    (c->nr == FILE_NR_OPENAT || c->nr == FILE_NR_OPEN || c->nr == FILE_NR_OPENAT2))
			read_file(ym_fd_file(ret), id, direct, 0);
		return 0;
	}
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		ym_count_drop(0);
		return 0;
	}
	nr = c->nr;
	rec_init(r, id);
	r->flags = c->fl;
	open = nr == FILE_NR_OPEN || nr == FILE_NR_CREAT || nr == FILE_NR_OPENAT ||
	       nr == FILE_NR_OPENAT2;
	if (open) {
		struct file *nf = ym_fd_file(ret);
		__u64 fl;

		if (nr == FILE_NR_OPEN) {
			p1 = (const char *)c->a[0];
			fl = c->a[1];
			r->mode = (__u32)c->a[2];
		} else if (nr == FILE_NR_CREAT) {
			p1 = (const char *)c->a[0];
			fl = O_CREAT | O_WRONLY | O_TRUNC;
			r->mode = (__u32)c->a[1];
		} else {
			r->dirfd = (__s32)c->a[0];
			p1 = (const char *)c->a[1];
			fl = c->a[2];
			r->mode = (__u32)c->a[3];
		}
		r->action = (fl & O_CREAT) ? FILE_REC_CREATE : FILE_REC_WRITE;
		/* the file's type and permissions now: the loader's x: check
		 * needs no stat of a path (one on a FUSE mount would wait
		 * for its daemon) */
		if (nf)
			r->i_mode = BPF_CORE_READ(nf, f_inode, i_mode);
		/* O_TRUNC on a file that was there: cut (a log emptied by
		 * "> file"); the new descriptor's file says whether the open
		 * made it */
		if ((fl & O_TRUNC) && nf && !(BPF_CORE_READ(nf, f_mode) & FMODE_CREATED_))
			r->flags |= FILE_F_OTRUNC;
		/* the file it made or opened, by identity: below a watched
		 * folder by whatever name (through "..", a symbolic link to
		 * a folder, a bind mount), named from it; the path as
		 * written goes too, in path2, when it falls under a prefix
		 * (a symbolic link in a watched folder to a file elsewhere:
		 * the loader takes the name that is watched) */
		if (dir_n) {
			struct up u;
			__s32 dfd = r->dirfd;

			if (under_watched_dir(nf, direct, &u)) {
				by_identity(r, nf, (__s32)ret, &u);
				r->dirfd2 = dfd;
				if (!read_path(r->path2, p1, 0, &r->flags, FILE_F_REL2,
					       FILE_F_TRUNC2, dfd, FILE_F_KDIR2, &r->dir2_len))
					r->path2[0] = 0;
				bpf_ringbuf_submit(r, 0);
				return 0;
			}
		}
	} else if (nr == FILE_NR_RENAME || nr == FILE_NR_RENAMEAT || nr == FILE_NR_RENAMEAT2 ||
		   nr == FILE_NR_LINK || nr == FILE_NR_LINKAT) {
		/* (old, new), or (olddirfd, old, newdirfd, new) */
		int link = nr == FILE_NR_LINK || nr == FILE_NR_LINKAT;

		r->action = link ? FILE_REC_LINK : FILE_REC_RENAME;
		if (nr == FILE_NR_RENAME || nr == FILE_NR_LINK) {
			p2 = (const char *)c->a[0];
			p1 = (const char *)c->a[1];
		} else {
			r->dirfd2 = (__s32)c->a[0];
			p2 = (const char *)c->a[1];
			r->dirfd = (__s32)c->a[2];
			p1 = (const char *)c->a[3];
		}
	} else if (nr == FILE_NR_SYMLINK || nr == FILE_NR_SYMLINKAT) {
		r->action = FILE_REC_SYMLINK;
		read_link_content(r, (const char *)c->a[0], 0);
		if (nr == FILE_NR_SYMLINK) {
			p1 = (const char *)c->a[1];
		} else {
			r->dirfd = (__s32)c->a[1];
			p1 = (const char *)c->a[2];
		}
	} else if (nr == FILE_NR_UNLINK || nr == FILE_NR_UNLINKAT) {
		r->action = FILE_REC_UNLINK;
		if (nr == FILE_NR_UNLINK) {
			p1 = (const char *)c->a[0];
		} else {
			r->dirfd = (__s32)c->a[0];
			p1 = (const char *)c->a[1];
		}
	} else if (nr == FILE_NR_UTIME || nr == FILE_NR_UTIMES || nr == FILE_NR_FUTIMESAT ||
		   nr == FILE_NR_UTIMENSAT) {
		int at = nr == FILE_NR_FUTIMESAT || nr == FILE_NR_UTIMENSAT;

		r->action = FILE_REC_TIMES;
		if (!read_times(r, nr, c->a[at ? 2 : 1])) {
			bpf_ringbuf_discard(r, 0);
			return 0;
		}
		if (at)
			r->dirfd = (__s32)c->a[0];
		p1 = (const char *)c->a[at ? 1 : 0];
		if (!p1) { /* utimensat(fd, NULL, ...): futimens, the descriptor's file */
			put_fd_path(r, r->dirfd);
			bpf_ringbuf_submit(r, 0);
			return 0;
		}
	} else if (nr == FILE_NR_TRUNCATE) {
		/* truncate(path, length): a write with no open (ftruncate
		 * needs a descriptor open for writing: its open was seen) */
		r->action = FILE_REC_WRITE;
		r->flags |= FILE_F_TRUNCATE;
		r->atime = (__s64)c->a[1];
		p1 = (const char *)c->a[0];
	} else if (nr == FILE_NR_MOUNT) {
		/* mount(source, target, fstype, flags, data): something put
		 * over a watched file or folder changes what every process
		 * reads there without writing to it (a bind mount over
		 * /etc/passwd or a cron folder) */
		r->action = FILE_REC_MOUNT;
		r->owner_uid = mnt_ns_inum();
		p1 = (const char *)c->a[1];
		r->mode = (__u32)c->a[3];
		if (c->a[0] && bpf_probe_read_user_str(r->path2, FILE_MOUNT_SRC_MAX,
						       (const void *)c->a[0]) <= 0)
			r->path2[0] = 0;
		r->path2[FILE_MOUNT_SRC_MAX] = 0;
		if (c->a[2] && bpf_probe_read_user_str(r->path2 + FILE_MOUNT_SRC_MAX,
						       FILE_PATH_MAX - FILE_MOUNT_SRC_MAX,
						       (const void *)c->a[2]) <= 0)
			r->path2[FILE_MOUNT_SRC_MAX] = 0;
	} else if (nr == FILE_NR_MOVE_MOUNT) {
		/* move_mount(from_dfd, from_path, to_dfd, to_path, flags):
		 * the new mount API's last step (fsmount or open_tree made
		 * the mount, detached) */
		r->action = FILE_REC_MOUNT;
		r->flags |= FILE_F_MOVE_MOUNT;
		r->owner_uid = mnt_ns_inum();
		r->mode = (__u32)c->a[4];
		r->dirfd = (__s32)c->a[2];
		p1 = (const char *)c->a[3];
		if (r->mode & MOVE_MOUNT_T_EMPTY_PATH_) {
			char c0 = 0;

			/* to_path "": the target is to_dfd's file */
			if (!p1 || (bpf_probe_read_user(&c0, 1, p1) == 0 && c0 == 0)) {
				put_fd_path(r, r->dirfd);
				bpf_ringbuf_submit(r, 0);
				return 0;
			}
		}
	} else if (nr == FILE_NR_FCHMOD || nr == FILE_NR_FCHOWN) {
		if (nr == FILE_NR_FCHMOD) {
			r->action = FILE_REC_CHMOD;
			r->mode = (__u32)c->a[1];
		} else {
			r->action = FILE_REC_CHOWN;
			r->owner_uid = (__u32)c->a[1];
			r->owner_gid = (__u32)c->a[2];
		}
		put_fd_path(r, (__s32)c->a[0]);
		bpf_ringbuf_submit(r, 0);
		return 0;
	} else if (nr == FILE_NR_CHMOD || nr == FILE_NR_FCHMODAT || nr == FILE_NR_FCHMODAT2) {
		r->action = FILE_REC_CHMOD;
		if (nr == FILE_NR_CHMOD) {
			p1 = (const char *)c->a[0];
			r->mode = (__u32)c->a[1];
		} else {
			r->dirfd = (__s32)c->a[0];
			p1 = (const char *)c->a[1];
			r->mode = (__u32)c->a[2];
		}
	} else {
		r->action = FILE_REC_CHOWN;
		if (nr == FILE_NR_FCHOWNAT) {
			r->dirfd = (__s32)c->a[0];
			p1 = (const char *)c->a[1];
			r->owner_uid = (__u32)c->a[2];
			r->owner_gid = (__u32)c->a[3];
		} else {
			p1 = (const char *)c->a[0];
			r->owner_uid = (__u32)c->a[1];
			r->owner_gid = (__u32)c->a[2];
		}
	}
	keep = read_path(r->path, p1, 0, &r->flags, FILE_F_REL1, FILE_F_TRUNC1, r->dirfd,
			 FILE_F_KDIR1, &r->dir_len);
	if (p2)
		keep |= read_path(r->path2, p2, 0, &r->flags, FILE_F_REL2, FILE_F_TRUNC2, r->dirfd2,
				  FILE_F_KDIR2, &r->dir2_len);
	/* the rest gives no file to compare by identity (an open was
	 * compared above): a path through ".." is sent for the loader to
	 * resolve (one through a symbolic link to a folder is not seen:
	 * docs/sensors.md) */
	if (!keep && !open && r->action != FILE_REC_MOUNT)
		keep = has_dotdot(r->path) || (p2 && has_dotdot(r->path2));
	/* mounts are few: every one goes to the loader, which also reports
	 * those on /proc (a process hidden) and of a device (a container
	 * reaching the host's disk) */
	if (keep || r->action == FILE_REC_MOUNT)
		bpf_ringbuf_submit(r, 0);
	else
		bpf_ringbuf_discard(r, 0);
	return 0;
}

/* A native call's exit. Through the dispatcher this runs at every system
 * call of the machine, so the number is tested first and the arguments are
 * read only for a watched call (docs/sensors.md: a program per system call
 * costs ~25 ns even when it returns at once); attached alone, the program
 * sees compat calls too, numbered otherwise: left to file_sys_compat. Both
 * entry programs below run it (agent/sysx.h). */
static __always_inline int file_sys(long nr, long ret, struct pt_regs *regs, int direct)
{
	struct call c;

	if (!watched(nr) || ret < 0)
		return 0;
	call_args(&c, nr, regs);
	return file_call(&c, ret, direct);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(file_sys_exit, struct pt_regs *regs, long ret)
{
	if (ym_is_compat())
		return 0;
	file_sys(YM_SYSCALL_NR(regs), ret, regs, 0);
	sysx_next(ctx, YM_SYSCALL_NR(regs), 0, SYSX_MOD_FILE);
	return 0;
}

/* On the syscalls/sys_exit_NAME tracepoint of each watched call (the kernel
 * tests the number; agent/sysx.h) */
SEC("tracepoint/syscalls/sys_exit")
int file_sys_exit_tp(struct ym_sys_exit_tp *ctx)
{
	return file_sys(ctx->nr, ctx->ret, YM_SYSCALL_REGS(), 0);
}

/* The same two with the "r:" check's plain loads (bpf_rdonly_cast, kernel
 * 6.2+): the loader takes these where the kernel accepts them, else the
 * two above */
SEC("tp_btf/sys_exit")
int BPF_PROG(file_sys_dl, struct pt_regs *regs, long ret)
{
	if (ym_is_compat())
		return 0;
	file_sys(YM_SYSCALL_NR(regs), ret, regs, 1);
	sysx_next(ctx, YM_SYSCALL_NR(regs), 0, SYSX_MOD_FILE);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit")
int file_sys_dl_tp(struct ym_sys_exit_tp *ctx)
{
	return file_sys(ctx->nr, ctx->ret, YM_SYSCALL_REGS(), 1);
}

/* --- 32-bit (compat) system calls: int 0x80 from any task, or a 32-bit
 * task's. The syscall tracepoints skip them and their numbers are ia32's:
 * the shared dispatcher tail-calls this program for the ia32 numbers of
 * FILE_CALLS32 (agent/sysx.h; where it cannot, the loader attaches it
 * alone, on every system call's exit, and it returns at once for a native
 * one). It hands a watched compat call to the same code with its 64-bit
 * number and its arguments from ia32's registers (ebx, ecx, edx, esi,
 * edi). x86 only. */
#if defined(__TARGET_ARCH_x86)
static __always_inline int compat_args(struct call *c, struct pt_regs *regs)
{
	long n = regs->orig_ax;
	__u64 a0 = (__u32)regs->bx, a1 = (__u32)regs->cx, a2 = (__u32)regs->dx,
	      a3 = (__u32)regs->si, a4 = (__u32)regs->di;

	c->a[0] = a0;
	c->a[1] = a1;
	c->a[2] = a2;
	c->a[3] = a3;
	c->a[4] = a4;
	/* 64-bit code's segment: int 0x80 from a 64-bit program */
	c->fl = regs->cs == YM_USER_CS ? FILE_F_INT80 : FILE_F_IA32;
	switch (n) {
	case FILE_NR32_OPEN:
		c->nr = FILE_NR_OPEN;
		break;
	case FILE_NR32_CREAT:
		c->nr = FILE_NR_CREAT;
		break;
	case FILE_NR32_LINK:
		c->nr = FILE_NR_LINK;
		break;
	case FILE_NR32_UNLINK:
		c->nr = FILE_NR_UNLINK;
		break;
	case FILE_NR32_CHMOD:
		c->nr = FILE_NR_CHMOD;
		break;
	case FILE_NR32_LCHOWN16:
	case FILE_NR32_CHOWN16:
		c->nr = n == FILE_NR32_LCHOWN16 ? FILE_NR_LCHOWN : FILE_NR_CHOWN;
		c->a[1] = ym_id16(a1);
		c->a[2] = ym_id16(a2);
		break;
	case FILE_NR32_FCHOWN16:
		c->nr = FILE_NR_FCHOWN;
		c->a[1] = ym_id16(a1);
		c->a[2] = ym_id16(a2);
		break;
	case FILE_NR32_LCHOWN:
		c->nr = FILE_NR_LCHOWN;
		break;
	case FILE_NR32_CHOWN:
		c->nr = FILE_NR_CHOWN;
		break;
	case FILE_NR32_FCHOWN:
		c->nr = FILE_NR_FCHOWN;
		break;
	case FILE_NR32_RENAME:
		c->nr = FILE_NR_RENAME;
		break;
	case FILE_NR32_MOUNT:
		c->nr = FILE_NR_MOUNT;
		break;
	case FILE_NR32_SYMLINK:
		c->nr = FILE_NR_SYMLINK;
		break;
	case FILE_NR32_TRUNCATE:
		c->nr = FILE_NR_TRUNCATE;
		break;
	case FILE_NR32_TRUNCATE64: /* the length in two registers */
		c->nr = FILE_NR_TRUNCATE;
		c->a[1] = a1 | (a2 << 32);
		break;
	case FILE_NR32_FCHMOD:
		c->nr = FILE_NR_FCHMOD;
		break;
	case FILE_NR32_OPENAT:
		c->nr = FILE_NR_OPENAT;
		break;
	case FILE_NR32_FCHOWNAT:
		c->nr = FILE_NR_FCHOWNAT;
		break;
	case FILE_NR32_UNLINKAT:
		c->nr = FILE_NR_UNLINKAT;
		break;
	case FILE_NR32_RENAMEAT:
		c->nr = FILE_NR_RENAMEAT;
		break;
	case FILE_NR32_LINKAT:
		c->nr = FILE_NR_LINKAT;
		break;
	case FILE_NR32_SYMLINKAT:
		c->nr = FILE_NR_SYMLINKAT;
		break;
	case FILE_NR32_FCHMODAT:
		c->nr = FILE_NR_FCHMODAT;
		break;
	case FILE_NR32_RENAMEAT2:
		c->nr = FILE_NR_RENAMEAT2;
		break;
	case FILE_NR32_UTIMENSAT64: /* struct __kernel_timespec, as 64-bit's */
		c->nr = FILE_NR_UTIMENSAT;
		break;
	case FILE_NR32_MOVE_MOUNT:
		c->nr = FILE_NR_MOVE_MOUNT;
		break;
	case FILE_NR32_OPENAT2:
		c->nr = FILE_NR_OPENAT2;
		break;
	case FILE_NR32_FCHMODAT2:
		c->nr = FILE_NR_FCHMODAT2;
		break;
	default:
		return 0;
	}
	return 1;
}

/* Both compat programs: attached alone they run at every system call and
 * leave a 64-bit one at once; tail-called they pass the call on to the
 * next module watching it (none after this one now; sysx_maps.h) */
static __always_inline int file_compat(void *ctx, struct pt_regs *regs, long ret, int direct)
{
	struct call c;

	if (!ym_is_compat())
		return 0;
	if (ret >= 0 && compat_args(&c, regs))
		file_call(&c, ret, direct);
	sysx_next(ctx, regs->orig_ax, 1, SYSX_MOD_FILE);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(file_sys_compat, struct pt_regs *regs, long ret)
{
	return file_compat(ctx, regs, ret, 0);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(file_sys_compat_dl, struct pt_regs *regs, long ret)
{
	return file_compat(ctx, regs, ret, 1);
}
#endif

/* --- io_uring --- */

/* the requests' layouts, relocated against the running kernel's (CO-RE):
 * each operation's own struct overlays the request's first bytes
 * (io_kiocb_to_cmd); a kernel without them refuses these two programs
 * only, and the loader runs without them (docs/sensors.md) */
struct io_cqe___ym {
	__s32 res;
} __attribute__((preserve_access_index));

/* the ring's table of registered ("fixed") files: an array of nodes in
 * newer kernels (data.nodes), of io_fixed_file in older ones such as 6.1
 * (files); either holds the file's address in file_ptr, flags in its low
 * bits */
struct io_rsrc_node___ym {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_rsrc_data___ym {
	unsigned int nr;
	struct io_rsrc_node___ym **nodes;
} __attribute__((preserve_access_index));

struct io_fixed_file___ym {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_file_table___ym {
	struct io_rsrc_data___ym data;
	struct io_fixed_file___ym *files;
} __attribute__((preserve_access_index));

struct io_ring_ctx___ym {
	struct io_file_table___ym file_table;
	unsigned int nr_user_files;
} __attribute__((preserve_access_index));

struct io_kiocb___ym {
	__u8 opcode;
	__u32 flags; /* io_req_flags_t: the low bits are the SQE's IOSQE_* flags */
	/* its result as the completion posts it (read here, not from the
	 * tracepoint's arguments, whose list changed across kernels) */
	struct io_cqe___ym cqe;
	struct io_ring_ctx___ym *ctx;
} __attribute__((preserve_access_index));

struct io_open___ym {
	int dfd;
	__u32 file_slot; /* 0: a descriptor; else the fixed-file slot + 1, or ~0: any free */
	struct filename *filename;
	struct open_how how;
} __attribute__((preserve_access_index));

struct io_rename___ym {
	int old_dfd;
	int new_dfd;
	struct filename *oldpath;
	struct filename *newpath;
} __attribute__((preserve_access_index));

struct io_unlink___ym {
	int dfd;
	int flags;
	struct filename *filename;
} __attribute__((preserve_access_index));

struct io_link___ym {
	int old_dfd;
	int new_dfd;
	struct filename *oldpath;
	struct filename *newpath;
} __attribute__((preserve_access_index));

/* enum io_uring_op (uapi, fixed) */
#define IOU_OPENAT	       18
#define IOU_OPENAT2	       28
#define IOU_RENAMEAT	       35
#define IOU_UNLINKAT	       36
#define IOU_SYMLINKAT	       38
#define IOU_LINKAT	       39
#define IOSQE_CQE_SKIP_SUCCESS (1u << 6)

static __always_inline int uring_watched(__u8 op)
{
	return op == IOU_OPENAT || op == IOU_OPENAT2 || op == IOU_RENAMEAT || op == IOU_UNLINKAT ||
	       op == IOU_SYMLINKAT || op == IOU_LINKAT;
}

/* the record being built (larger than the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct file_rec);
} uring_rec SEC(".maps");

/* records in uring_pending (may overcount: an entry the LRU dropped); 0
 * lets the completion program return before reading anything */
static volatile __u64 uring_pending_n;

/* records of requests submitted and not completed yet, by request address */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, __u64);
	__type(value, struct file_rec);
} uring_pending SEC(".maps");

/* read-only opens submitted while there is an "r:" file and not completed
 * yet (their file is compared at the completion), by request address, and
 * how many (may overcount, as uring_pending_n) */
static volatile __u64 uring_reads_n;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, __u64);
	__type(value, __u8);
} uring_reads SEC(".maps");

static __always_inline const char *fname(struct filename *f)
{
	return f ? BPF_CORE_READ(f, name) : 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(file_uring_submit, void *req)
{
	struct io_kiocb___ym *q = req;
	__u8 op = BPF_CORE_READ(q, opcode);
	__u32 zero = 0, reqf;
	__u64 id, key = (__u64)req;
	struct file_rec *r;
	const char *p1 = 0, *p2 = 0;
	int keep;

	if (!uring_watched(op))
		return 0;
	id = bpf_get_current_pid_tgid();
	if ((id >> 32) == self_tgid)
		return 0;
	r = bpf_map_lookup_elem(&uring_rec, &zero);
	if (!r)
		return 0;
	rec_init(r, id);
	r->flags = FILE_F_URING;
	reqf = BPF_CORE_READ(q, flags);
	if (op == IOU_OPENAT || op == IOU_OPENAT2) {
		struct io_open___ym *o = req;
		__u64 fl = BPF_CORE_READ(o, how.flags);

		if (!(fl & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC))) {
			/* read only: the completion compares its file with
			 * the "r:" ones; one that will post no completion
			 * on success is sent now with its path (rare: its
			 * descriptor is never told), for the loader to
			 * compare with theirs */
			if (!read_n)
				return 0;
			if (!(reqf & IOSQE_CQE_SKIP_SUCCESS)) {
				__u8 one = 1;

				if (bpf_map_update_elem(&uring_reads, &key, &one, BPF_ANY) != 0)
					ym_count_drop(0);
				else
					__sync_fetch_and_add(&uring_reads_n, 1);
				return 0;
			}
			r->action = FILE_REC_READ;
			r->mode = FILE_READS; /* by path */
			r->flags |= FILE_F_URING_SKIP;
			r->dirfd = BPF_CORE_READ(o, dfd);
			p1 = fname(BPF_CORE_READ(o, filename));
			if (!p1)
				return 0;
			read_path(r->path, p1, 1, &r->flags, FILE_F_REL1, FILE_F_TRUNC1, r->dirfd,
				  FILE_F_KDIR1, &r->dir_len);
			if (bpf_ringbuf_output(&events, r, sizeof(*r), 0) != 0)
				ym_count_drop(0);
			return 0;
		}
		r->action = (fl & O_CREAT) ? FILE_REC_CREATE : FILE_REC_WRITE;
		r->dirfd = BPF_CORE_READ(o, dfd);
		r->mode = (__u32)BPF_CORE_READ(o, how.mode);
		p1 = fname(BPF_CORE_READ(o, filename));
	} else if (op == IOU_RENAMEAT) {
		struct io_rename___ym *o = req;

		r->action = FILE_REC_RENAME;
		r->dirfd2 = BPF_CORE_READ(o, old_dfd);
		p2 = fname(BPF_CORE_READ(o, oldpath));
		r->dirfd = BPF_CORE_READ(o, new_dfd);
		p1 = fname(BPF_CORE_READ(o, newpath));
	} else if (op == IOU_UNLINKAT) {
		struct io_unlink___ym *o = req;

		if (BPF_CORE_READ(o, flags) & AT_REMOVEDIR)
			return 0;
		r->action = FILE_REC_UNLINK;
		r->dirfd = BPF_CORE_READ(o, dfd);
		p1 = fname(BPF_CORE_READ(o, filename));
	} else {
		struct io_link___ym *o = req;

		r->dirfd = BPF_CORE_READ(o, new_dfd);
		p1 = fname(BPF_CORE_READ(o, newpath));
		if (op == IOU_SYMLINKAT) {
			r->action = FILE_REC_SYMLINK;
			read_link_content(r, fname(BPF_CORE_READ(o, oldpath)), 1);
		} else {
			r->action = FILE_REC_LINK;
			r->dirfd2 = BPF_CORE_READ(o, old_dfd);
			p2 = fname(BPF_CORE_READ(o, oldpath));
		}
	}
	if (!p1)
		return 0;
	keep = read_path(r->path, p1, 1, &r->flags, FILE_F_REL1, FILE_F_TRUNC1, r->dirfd,
			 FILE_F_KDIR1, &r->dir_len);
	if (p2)
		keep |= read_path(r->path2, p2, 1, &r->flags, FILE_F_REL2, FILE_F_TRUNC2, r->dirfd2,
				  FILE_F_KDIR2, &r->dir2_len);
	if ((op == IOU_OPENAT || op == IOU_OPENAT2) && dir_n && !(reqf & IOSQE_CQE_SKIP_SUCCESS)) {
		/* its file, known at the completion, compared with the
		 * watched folders there (file_sys's by identity); the path
		 * as written counts only if that finds nothing */
		r->flags |= FILE_F_BYID;
		if (!keep)
			r->flags |= FILE_F_NOSTR;
		keep = 1;
	} else if (!keep) {
		keep = has_dotdot(r->path) || (p2 && has_dotdot(r->path2));
	}
	if (!keep)
		return 0;
	if (reqf & IOSQE_CQE_SKIP_SUCCESS) {
		/* no completion will say it succeeded: sent now */
		r->flags |= FILE_F_URING_SKIP;
		if (bpf_ringbuf_output(&events, r, sizeof(*r), 0) != 0)
			ym_count_drop(0);
		return 0;
	}
	if (bpf_map_update_elem(&uring_pending, &key, r, BPF_ANY) != 0)
		ym_count_drop(0);
	else
		__sync_fetch_and_add(&uring_pending_n, 1);
	return 0;
}

#define IORING_FILE_INDEX_ALLOC_ (~0u)

/* The file an open through a ring made (res: its result): a descriptor of
 * the submitter's (the completion runs in one of its threads: io_uring's
 * workers share its descriptor table), or a slot of the ring's fixed-file
 * table (file_slot; IORING_FILE_INDEX_ALLOC: the slot is the result;
 * below the table's size, at most 2^20 slots: IORING_MAX_FIXED_FILES). 0
 * when not found. */
static __always_inline struct file *uring_open_file(struct io_kiocb___ym *q, struct io_open___ym *o,
						    int res)
{
	struct io_ring_ctx___ym *ctx;
	__u32 slot = BPF_CORE_READ(o, file_slot), idx;
	unsigned long p = 0;

	if (!slot)
		return ym_fd_file(res);
	idx = slot == IORING_FILE_INDEX_ALLOC_ ? (__u32)res : slot - 1;
	ctx = BPF_CORE_READ(q, ctx);
	if (!ctx)
		return 0;
	if (bpf_core_field_exists(ctx->file_table.data)) {
		struct io_rsrc_node___ym **nodes = BPF_CORE_READ(ctx, file_table.data.nodes),
					 *n = 0;

		if (idx >= BPF_CORE_READ(ctx, file_table.data.nr) || !nodes ||
		    bpf_core_read(&n, sizeof(n), &nodes[idx & 0xfffff]) || !n)
			return 0;
		p = BPF_CORE_READ(n, file_ptr);
	} else if (bpf_core_field_exists(ctx->file_table.files)) {
		struct io_fixed_file___ym *files = BPF_CORE_READ(ctx, file_table.files);

		if (idx >= BPF_CORE_READ(ctx, nr_user_files) || !files ||
		    bpf_core_read(&p, sizeof(p), &files[idx & 0xfffff].file_ptr))
			return 0;
	}
	return (struct file *)(p & ~7ul);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(file_uring_complete, void *ring, void *req)
{
	struct io_kiocb___ym *q = req;
	struct io_open___ym *o = req;
	__u64 key = (__u64)req, fl = 0;
	struct file_rec *r;
	int res, open;
	__u8 op;

	/* every completion of the machine passes here: nothing pending (the
	 * rule), or not one of these operations, returns at once */
	if ((!uring_pending_n && !uring_reads_n) || !req)
		return 0;
	op = BPF_CORE_READ(q, opcode);
	if (!uring_watched(op))
		return 0;
	res = BPF_CORE_READ(q, cqe.res);
	open = op == IOU_OPENAT || op == IOU_OPENAT2;
	if (open)
		fl = BPF_CORE_READ(o, how.flags);
	if (open && !(fl & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC))) {
		/* read only: its file is known now */
		if (!uring_reads_n || bpf_map_delete_elem(&uring_reads, &key) != 0)
			return 0;
		__sync_fetch_and_sub(&uring_reads_n, 1);
		if (res >= 0)
			read_file(uring_open_file(q, o, res), bpf_get_current_pid_tgid(), 0,
				  FILE_F_URING);
		return 0;
	}
	if (!uring_pending_n)
		return 0;
	r = bpf_map_lookup_elem(&uring_pending, &key);
	if (!r)
		return 0;
	if (res >= 0) {
		struct file *nf = open ? uring_open_file(q, o, res) : 0;
		int send = 1;
		struct up u;

		/* O_TRUNC on a file that was there: cut, as through open(2);
		 * the file's mode, as file_sys's */
		if (nf && (fl & O_TRUNC) && !(BPF_CORE_READ(nf, f_mode) & FMODE_CREATED_))
			r->flags |= FILE_F_OTRUNC;
		if (nf)
			r->i_mode = BPF_CORE_READ(nf, f_inode, i_mode);
		if (r->flags & FILE_F_BYID) {
			/* below a watched folder: named by it (by_identity;
			 * a fixed-file slot has no descriptor: -1); else its
			 * path as written, if that was kept */
			if (under_watched_dir(nf, 0, &u)) {
				/* the path as written to path2 (file_sys's) */
				__u32 fl1 = r->flags;

				r->path2[0] = 0;
				if (!(fl1 & FILE_F_NOSTR) &&
				    bpf_probe_read_kernel(r->path2, FILE_PATH_MAX, r->path) == 0) {
					r->dirfd2 = r->dirfd;
					r->dir2_len = r->dir_len;
					r->flags |= ((fl1 & FILE_F_REL1) ? FILE_F_REL2 : 0) |
						    ((fl1 & FILE_F_KDIR1) ? FILE_F_KDIR2 : 0) |
						    ((fl1 & FILE_F_TRUNC1) ? FILE_F_TRUNC2 : 0);
				}
				by_identity(r, nf, BPF_CORE_READ(o, file_slot) ? -1 : res, &u);
			} else if (r->flags & FILE_F_NOSTR) {
				send = 0;
			}
			r->flags &= ~(FILE_F_BYID | FILE_F_NOSTR);
		}
		if (send && bpf_ringbuf_output(&events, r, sizeof(*r), 0) != 0)
			ym_count_drop(0);
	}
	if (bpf_map_delete_elem(&uring_pending, &key) == 0)
		__sync_fetch_and_sub(&uring_pending_n, 1);
	return 0;
}
