/* file.h: the record the file family's eBPF programs (file.bpf.c) put in
 * their ring buffer, and the prefix map the loader fills (family_file_bpf.c).
 * Fixed-width types only; sizes are checked below. */
#ifndef YM_AGENT_BPF_FILE_H
#define YM_AGENT_BPF_FILE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

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
	FILE_REC_MAX_ = 7,
};

#define FILE_F_TRUNC1 0x1u /* path cut at FILE_PATH_MAX */
#define FILE_F_TRUNC2 0x2u
#define FILE_F_REL1   0x4u /* path relative to dirfd (AT_FDCWD: the cwd) */
#define FILE_F_REL2   0x8u

struct file_rec {
	__u32 action; /* enum file_rec_action */
	__u32 pid;    /* tgid */
	__u32 uid;
	__u32 flags;		    /* FILE_F_* */
	__s32 dirfd, dirfd2;	    /* as passed (-100: AT_FDCWD) */
	__u32 mode;		    /* chmod mode, open's create mode */
	__u32 owner_uid, owner_gid; /* chown: as passed ((u32)-1: unchanged) */
	__u32 pad;
	__u64 ts_ns;
	char comm[16];
	char path[FILE_PATH_MAX];  /* target (rename: the new name) */
	char path2[FILE_PATH_MAX]; /* rename: the old name */
};

struct file_prefix {
	__u32 len; /* 0: unused slot */
	char p[FILE_PREFIX_MAX];
};

_Static_assert(sizeof(struct file_rec) == 64 + 2 * FILE_PATH_MAX, "file_rec layout");
_Static_assert(sizeof(struct file_prefix) == 4 + FILE_PREFIX_MAX, "file_prefix layout");

#endif
