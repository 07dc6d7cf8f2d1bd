/* file.h: the record the file family's eBPF programs (file.bpf.c) put in
 * their ring buffer, and the prefix map the loader fills (family_file_bpf.c).
 * Fixed-width types only; sizes are checked below. */
#ifndef YM_AGENT_BPF_FILE_H
#define YM_AGENT_BPF_FILE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* the system calls file_sys_exit watches (-1: not in this architecture's
 * table); the loader registers them with the dispatcher (agent/sysx.h). The
 * build targets one architecture: __TARGET_ARCH_* in the eBPF program, the
 * compiler's own in the agent. */
#if defined(__TARGET_ARCH_x86) || (!defined(__bpf__) && defined(__x86_64__))
#define FILE_NR_OPEN	  2
#define FILE_NR_CREAT	  85
#define FILE_NR_RENAME	  82
#define FILE_NR_UNLINK	  87
#define FILE_NR_CHMOD	  90
#define FILE_NR_CHOWN	  92
#define FILE_NR_LCHOWN	  94
#define FILE_NR_OPENAT	  257
#define FILE_NR_RENAMEAT  264
#define FILE_NR_UNLINKAT  263
#define FILE_NR_FCHMODAT  268
#define FILE_NR_FCHOWNAT  260
#define FILE_NR_RENAMEAT2 316
#define FILE_NR_OPENAT2	  437
#define FILE_NR_FCHMODAT2 452
#define FILE_NR_LINK	  86
#define FILE_NR_SYMLINK	  88
#define FILE_NR_FCHMOD	  91
#define FILE_NR_FCHOWN	  93
#define FILE_NR_UTIME	  132
#define FILE_NR_UTIMES	  235
#define FILE_NR_FUTIMESAT 261
#define FILE_NR_UTIMENSAT 280
#define FILE_NR_LINKAT	  265
#define FILE_NR_SYMLINKAT 266
#define FILE_NR_TRUNCATE   76
#define FILE_NR_MOUNT	   165
#define FILE_NR_MOVE_MOUNT 429
#else /* the generic table (arm64): no legacy calls */
#define FILE_NR_OPEN	  -1
#define FILE_NR_CREAT	  -1
#define FILE_NR_RENAME	  -1
#define FILE_NR_UNLINK	  -1
#define FILE_NR_CHMOD	  -1
#define FILE_NR_CHOWN	  -1
#define FILE_NR_LCHOWN	  -1
#define FILE_NR_OPENAT	  56
#define FILE_NR_RENAMEAT  38
#define FILE_NR_UNLINKAT  35
#define FILE_NR_FCHMODAT  53
#define FILE_NR_FCHOWNAT  54
#define FILE_NR_RENAMEAT2 276
#define FILE_NR_OPENAT2	  437
#define FILE_NR_FCHMODAT2 452
#define FILE_NR_LINK	  -1
#define FILE_NR_SYMLINK	  -1
#define FILE_NR_FCHMOD	  52
#define FILE_NR_FCHOWN	  55
#define FILE_NR_UTIME	  -1
#define FILE_NR_UTIMES	  -1
#define FILE_NR_FUTIMESAT -1
#define FILE_NR_UTIMENSAT 88
#define FILE_NR_LINKAT	  37
#define FILE_NR_SYMLINKAT 36
#define FILE_NR_TRUNCATE   45
#define FILE_NR_MOUNT	   40
#define FILE_NR_MOVE_MOUNT 429
#endif
/* the same calls' ia32 numbers (int 0x80, a 32-bit task: file_sys_compat,
 * x86 only); chown16 and friends take 16-bit ids, truncate64 its length in
 * two registers, utimensat_time64 the 64-bit timespec (the older utime,
 * utimes, futimesat and utimensat take 32-bit times: not watched) */
#define FILE_NR32_OPEN	      5
#define FILE_NR32_CREAT	      8
#define FILE_NR32_LINK	      9
#define FILE_NR32_UNLINK      10
#define FILE_NR32_CHMOD	      15
#define FILE_NR32_LCHOWN16    16
#define FILE_NR32_MOUNT	      21
#define FILE_NR32_RENAME      38
#define FILE_NR32_SYMLINK     83
#define FILE_NR32_TRUNCATE    92
#define FILE_NR32_FCHMOD      94
#define FILE_NR32_FCHOWN16    95
#define FILE_NR32_CHOWN16     182
#define FILE_NR32_TRUNCATE64  193
#define FILE_NR32_LCHOWN      198
#define FILE_NR32_FCHOWN      207
#define FILE_NR32_CHOWN	      212
#define FILE_NR32_OPENAT      295
#define FILE_NR32_FCHOWNAT    298
#define FILE_NR32_UNLINKAT    301
#define FILE_NR32_RENAMEAT    302
#define FILE_NR32_LINKAT      303
#define FILE_NR32_SYMLINKAT   304
#define FILE_NR32_FCHMODAT    306
#define FILE_NR32_RENAMEAT2   353
#define FILE_NR32_UTIMENSAT64 412
#define FILE_NR32_MOVE_MOUNT  429
#define FILE_NR32_OPENAT2     437
#define FILE_NR32_FCHMODAT2   452
/* ... the list the loader registers (sysx_compat_watch) */
#define FILE_CALLS32                                                                               \
	FILE_NR32_OPEN, FILE_NR32_CREAT, FILE_NR32_LINK, FILE_NR32_UNLINK, FILE_NR32_CHMOD,        \
	    FILE_NR32_LCHOWN16, FILE_NR32_MOUNT, FILE_NR32_RENAME, FILE_NR32_SYMLINK,              \
	    FILE_NR32_TRUNCATE, FILE_NR32_FCHMOD, FILE_NR32_FCHOWN16, FILE_NR32_CHOWN16,           \
	    FILE_NR32_TRUNCATE64, FILE_NR32_LCHOWN, FILE_NR32_FCHOWN, FILE_NR32_CHOWN,             \
	    FILE_NR32_OPENAT, FILE_NR32_FCHOWNAT, FILE_NR32_UNLINKAT, FILE_NR32_RENAMEAT,          \
	    FILE_NR32_LINKAT, FILE_NR32_SYMLINKAT, FILE_NR32_FCHMODAT, FILE_NR32_RENAMEAT2,        \
	    FILE_NR32_UTIMENSAT64, FILE_NR32_MOVE_MOUNT, FILE_NR32_OPENAT2, FILE_NR32_FCHMODAT2

/* the watched calls with their names (struct sysx_call, agent/sysx.h: the
 * loader's tracepoints or the dispatcher's numbers); -1: not on this
 * architecture */
#define FILE_CALLS                                                                                 \
	{FILE_NR_OPEN, "open"}, {FILE_NR_CREAT, "creat"}, {FILE_NR_RENAME, "rename"},              \
	    {FILE_NR_UNLINK, "unlink"}, {FILE_NR_CHMOD, "chmod"}, {FILE_NR_CHOWN, "chown"},        \
	    {FILE_NR_LCHOWN, "lchown"}, {FILE_NR_OPENAT, "openat"},                                \
	    {FILE_NR_RENAMEAT, "renameat"}, {FILE_NR_UNLINKAT, "unlinkat"},                        \
	    {FILE_NR_FCHMODAT, "fchmodat"}, {FILE_NR_FCHOWNAT, "fchownat"},                        \
	    {FILE_NR_RENAMEAT2, "renameat2"}, {FILE_NR_OPENAT2, "openat2"},                        \
	    {FILE_NR_FCHMODAT2, "fchmodat2"}, {FILE_NR_LINK, "link"},                              \
	    {FILE_NR_SYMLINK, "symlink"}, {FILE_NR_LINKAT, "linkat"},                              \
	    {FILE_NR_SYMLINKAT, "symlinkat"}, {FILE_NR_FCHMOD, "fchmod"},                          \
	    {FILE_NR_FCHOWN, "fchown"}, {FILE_NR_UTIME, "utime"}, {FILE_NR_UTIMES, "utimes"},      \
	    {FILE_NR_FUTIMESAT, "futimesat"}, {FILE_NR_UTIMENSAT, "utimensat"},                    \
	    {FILE_NR_TRUNCATE, "truncate"}, {FILE_NR_MOUNT, "mount"},                              \
	    {FILE_NR_MOVE_MOUNT, "move_mount"},

#define FILE_PATH_MAX	256 /* bytes of a path argument read (with its NUL); longer is cut */
#define FILE_PREFIXES	16  /* kernel-side prefixes; more collapse to "/" in the loader */
#define FILE_PREFIX_MAX 64  /* bytes of one prefix */

enum file_rec_action {
	FILE_REC_CREATE = 1, /* open with O_CREAT */
	FILE_REC_WRITE = 2,  /* open for writing or truncating, without O_CREAT */
	FILE_REC_RENAME = 3,
	FILE_REC_UNLINK = 4,
	FILE_REC_CHMOD = 5,
	FILE_REC_CHOWN = 6,
	FILE_REC_LINK = 7,    /* a hard link: path the new name, path2 the file linked */
	FILE_REC_SYMLINK = 8, /* path the link made, path2 its content as written */
	FILE_REC_TIMES = 9,   /* times set to given values (utime*, utimensat) */
	/* something mounted on path (mount, move_mount): mode the flags
	 * (mount: MS_*; move_mount: MOVE_MOUNT_*, with FILE_F_MOVE_MOUNT);
	 * mount's source as written in path2, its file system type at
	 * path2 + FILE_MOUNT_SRC_MAX; owner_uid the caller's mount
	 * namespace (inode number) */
	FILE_REC_MOUNT = 10,
	/* an open for reading of a file whose reads are watched ("r:"): mode
	 * its slot in read_ino (the loader names it); no path */
	FILE_REC_READ = 11,
	FILE_REC_MAX_ = 12,
};

#define FILE_F_TRUNC1 0x1u /* path cut at FILE_PATH_MAX */
#define FILE_F_TRUNC2 0x2u
#define FILE_F_REL1   0x4u /* path relative to dirfd (AT_FDCWD: the cwd) */
#define FILE_F_REL2   0x8u
/* a relative path's folder, resolved in the kernel at the call: path holds
 * the name as written, its NUL, then the folder's components leaf first,
 * each NUL-terminated, dir_len bytes (0: the root) */
#define FILE_DIR_DEPTH 40 /* folder components walked at most */
#define FILE_F_KDIR1 0x10u
#define FILE_F_KDIR2 0x20u
/* made through io_uring (an operation of a submission queue, no system
 * call of its own): FILE_F_URING_SKIP when the submitter asked for no
 * completion on success (IOSQE_CQE_SKIP_SUCCESS), so the record was sent
 * at the submission, before the operation ran: an attempt */
#define FILE_F_URING	  0x40u
#define FILE_F_URING_SKIP 0x80u
/* fchmod, fchown: the file named by a descriptor (dirfd). With
 * FILE_F_KDIR1, path holds its own components, leaf first (its name the
 * first), dir_len bytes in all; without it (the walk did not fit), the
 * loader reads /proc/PID/fd/N */
#define FILE_F_FD1 0x100u
/* a write that is truncate(2) by path (no open to see): atime holds the
 * length set */
#define FILE_F_TRUNCATE	  0x200u
#define FILE_F_MOVE_MOUNT 0x400u
/* an open with O_TRUNC of a file that was there (the open did not create
 * it: FMODE_CREATED not in the file's f_mode): its content was cut */
#define FILE_F_OTRUNC 0x800u
/* an open's file found below the prefix folder id_slot (dir_ino in
 * file.bpf.c) by identity: with FILE_F_FD1 and FILE_F_KDIR1, path holds
 * its components below that folder, leaf first (dir_len bytes); without
 * FILE_F_KDIR1 (they did not fit) the loader reads /proc/PID/fd/N. path2
 * (dirfd2, FILE_F_REL2, FILE_F_KDIR2) holds the path as written when it
 * fell under a prefix too, else "" */
#define FILE_F_IDDIR 0x4000u
/* made as a compat (32-bit) system call: a 32-bit program's, or int 0x80
 * from 64-bit code (file_sys_compat: the saved code segment) */
#define FILE_F_IA32  0x8000u
#define FILE_F_INT80 0x10000u
/* (the kernel side's own) an open through a ring kept until its
 * completion to compare its file with the watched folders (dir_ino);
 * FILE_F_NOSTR: its path as written fell under no prefix */
#define FILE_F_BYID  0x1000u
#define FILE_F_NOSTR 0x2000u

/* files whose reads are reported (the loader's "r:" entries), by inode */
#define FILE_READS 8

#define FILE_MOUNT_SRC_MAX 192 /* bytes of path2 for mount's source; the rest its type */

#define FILE_TIME_KEEP (-(__s64)0x4000000000000000LL)
#define FILE_TIME_NOW  (FILE_TIME_KEEP + 1)

struct file_rec {
	__u32 action; /* enum file_rec_action */
	__u32 pid;    /* tgid */
	__u32 uid;
	__u32 flags;		    /* FILE_F_* */
	__s32 dirfd, dirfd2;	    /* as passed (-100: AT_FDCWD) */
	__u32 mode;		    /* chmod mode, open's create mode */
	__u32 owner_uid, owner_gid; /* chown: as passed ((u32)-1: unchanged) */
	__u16 dir_len, dir2_len;    /* FILE_F_KDIR1, FILE_F_KDIR2: bytes of components */
	__u64 ts_ns;
	char comm[16];
	char path[FILE_PATH_MAX];  /* target (rename: the new name) */
	char path2[FILE_PATH_MAX]; /* rename: the old name */
	/* FILE_REC_TIMES: the access and modification times set, seconds
	 * since the epoch; FILE_TIME_KEEP: not changed, FILE_TIME_NOW: now */
	__s64 atime, mtime;
	__u32 id_slot; /* FILE_F_IDDIR: the prefix folder the file is below */
	__u32 i_mode;  /* an open's file: its type and permissions then; 0: not known */
};

struct file_prefix {
	__u32 len; /* 0: unused slot */
	char p[FILE_PREFIX_MAX];
};

_Static_assert(sizeof(struct file_rec) == 88 + 2 * FILE_PATH_MAX, "file_rec layout");
_Static_assert(sizeof(struct file_prefix) == 4 + FILE_PREFIX_MAX, "file_prefix layout");

#endif
