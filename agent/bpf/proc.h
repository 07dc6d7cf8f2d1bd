/* proc.h: the records the process sensor's eBPF programs (proc.bpf.c) put in
 * their ring buffer, shared with the loader (agent/sensor_bpf.c). Fixed-width
 * types only; every size is checked below, so a layout change breaks the
 * build rather than the parser.
 *
 * Each record starts with struct proc_hdr; hdr.size is the record's length
 * in bytes (the ring buffer gives it too: the loader checks both). Strings in
 * the variable part (struct proc_exec.data) are not NUL-terminated as a
 * whole: their lengths are in the record. Paths are sent leaf first as
 * NUL-terminated components, which the loader reverses and joins. */
#ifndef YM_AGENT_BPF_PROC_H
#define YM_AGENT_BPF_PROC_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PROC_ARGS_MAX	4096  /* bytes of argv read at exec time (NUL-separated) */
#define PROC_PATH_MAX	4096  /* bytes of path components per path */
#define PROC_PATH_DEPTH 40    /* path components per path (deeper: truncated) */
#define PROC_NAME_MAX	256   /* bytes of one component, with its NUL */
#define PROC_CG_MAX	1024  /* bytes of the cgroup path (components, leaf first) */
#define PROC_CG_DEPTH	12
#define PROC_DATA_MAX	16384 /* power of two: offsets are masked with it - 1 */
#define PROC_TTY_MAX	32
#define PROC_UARG_MAX	128 /* bytes of a syscall's string argument (module params) */

enum proc_rec_type {
	PROC_REC_EXEC = 1,
	PROC_REC_FORK = 2,
	PROC_REC_EXIT = 3,
	PROC_REC_PRIV = 4,   /* setuid family, capset: after success */
	PROC_REC_PTRACE = 5, /* ptrace attach or seize, process_vm_readv/writev (any
			      result), an open of another process's memory file */
	PROC_REC_MODULE = 6, /* init_module, finit_module (any result) */
	PROC_REC_BPF = 7,    /* bpf(BPF_PROG_LOAD) (any result) */
	PROC_REC_WAKE = 8,   /* no event: wakes a consumer that stopped polling */
	PROC_REC_MAX_ = 9,
};

/* x86-64 numbers of the system calls proc_sys_exit reports; the loader
 * watches the same list (agent/sysx.h). Their compat (ia32) numbers below
 * (PROC_NR32_*, proc_sys_compat). */
#define PROC_NR_PTRACE	     101
#define PROC_NR_SETUID	     105
#define PROC_NR_SETGID	     106
#define PROC_NR_SETREUID     113
#define PROC_NR_SETREGID     114
#define PROC_NR_SETRESUID    117
#define PROC_NR_SETRESGID    119
#define PROC_NR_SETFSUID     122
#define PROC_NR_SETFSGID     123
#define PROC_NR_CAPSET	     126
#define PROC_NR_INIT_MODULE  175
#define PROC_NR_FINIT_MODULE 313
#define PROC_NR_BPF	     321
#define PROC_NR_VM_READV     310 /* process_vm_readv */
#define PROC_NR_VM_WRITEV    311 /* process_vm_writev */
/* open, openat, openat2: only a successful open of another process's
 * /proc/PID/mem (or /proc/PID/task/TID/mem) is reported, as PTRACE */
#define PROC_NR_OPEN	2
#define PROC_NR_OPENAT	257
#define PROC_NR_OPENAT2 437
/* setns: joining another namespace (successful calls), as PRIV */
#define PROC_NR_SETNS 308
/* unshare: new namespaces for the caller (successful calls with a
 * namespace flag; not CLONE_FILES, CLONE_FS, CLONE_SYSVSEM alone), as PRIV */
#define PROC_NR_UNSHARE 272
/* clone, clone3 (and fork, vfork) into new namespaces: not watched as a
 * call (every fork would pay for it) but told by the fork program from
 * the child's namespaces and its parent's, as PRIV with this number, the
 * CLONE_NEW* flags of what differs in args[0] and the child's tgid in ret */
#define PROC_NR_CLONE 56
/* CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
 * CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME */
#define PROC_CLONE_NEW_ANY 0x7e020080ull
/* the same with their names (struct sysx_call: the loader's tracepoints or
 * the dispatcher's numbers) */
#define PROC_CALLS                                                                                 \
	{PROC_NR_PTRACE, "ptrace"}, {PROC_NR_SETUID, "setuid"}, {PROC_NR_SETGID, "setgid"},        \
	    {PROC_NR_SETREUID, "setreuid"}, {PROC_NR_SETREGID, "setregid"},                        \
	    {PROC_NR_SETRESUID, "setresuid"}, {PROC_NR_SETRESGID, "setresgid"},                    \
	    {PROC_NR_SETFSUID, "setfsuid"}, {PROC_NR_SETFSGID, "setfsgid"},                        \
	    {PROC_NR_CAPSET, "capset"}, {PROC_NR_INIT_MODULE, "init_module"},                      \
	    {PROC_NR_FINIT_MODULE, "finit_module"}, {PROC_NR_BPF, "bpf"},                          \
	    {PROC_NR_VM_READV, "process_vm_readv"}, {PROC_NR_VM_WRITEV, "process_vm_writev"},      \
	    {PROC_NR_OPEN, "open"}, {PROC_NR_OPENAT, "openat"}, {PROC_NR_OPENAT2, "openat2"},      \
	    {PROC_NR_SETNS, "setns"}, {PROC_NR_UNSHARE, "unshare"},

/* The same calls' ia32 numbers (int 0x80, a 32-bit task: proc_sys_compat,
 * x86 only); the *16 ones take 16-bit ids */
#define PROC_NR32_OPEN	       5
#define PROC_NR32_SETUID16     23
#define PROC_NR32_PTRACE       26
#define PROC_NR32_SETGID16     46
#define PROC_NR32_SETREUID16   70
#define PROC_NR32_SETREGID16   71
#define PROC_NR32_INIT_MODULE  128
#define PROC_NR32_SETFSUID16   138
#define PROC_NR32_SETFSGID16   139
#define PROC_NR32_SETRESUID16  164
#define PROC_NR32_SETRESGID16  170
#define PROC_NR32_CAPSET       185
#define PROC_NR32_SETREUID     203
#define PROC_NR32_SETREGID     204
#define PROC_NR32_SETRESUID    208
#define PROC_NR32_SETRESGID    210
#define PROC_NR32_SETUID       213
#define PROC_NR32_SETGID       214
#define PROC_NR32_SETFSUID     215
#define PROC_NR32_SETFSGID     216
#define PROC_NR32_OPENAT       295
#define PROC_NR32_UNSHARE      310
#define PROC_NR32_SETNS	       346
#define PROC_NR32_VM_READV     347
#define PROC_NR32_VM_WRITEV    348
#define PROC_NR32_FINIT_MODULE 350
#define PROC_NR32_BPF	       357
#define PROC_NR32_OPENAT2      437
/* ... the list the loader registers (sysx_compat_watch) */
#define PROC_CALLS32                                                                               \
	PROC_NR32_OPEN, PROC_NR32_SETUID16, PROC_NR32_PTRACE, PROC_NR32_SETGID16,                  \
	    PROC_NR32_SETREUID16, PROC_NR32_SETREGID16, PROC_NR32_INIT_MODULE,                     \
	    PROC_NR32_SETFSUID16, PROC_NR32_SETFSGID16, PROC_NR32_SETRESUID16,                     \
	    PROC_NR32_SETRESGID16, PROC_NR32_CAPSET, PROC_NR32_SETREUID, PROC_NR32_SETREGID,       \
	    PROC_NR32_SETRESUID, PROC_NR32_SETRESGID, PROC_NR32_SETUID, PROC_NR32_SETGID,          \
	    PROC_NR32_SETFSUID, PROC_NR32_SETFSGID, PROC_NR32_OPENAT, PROC_NR32_UNSHARE,           \
	    PROC_NR32_SETNS, PROC_NR32_VM_READV, PROC_NR32_VM_WRITEV, PROC_NR32_FINIT_MODULE,      \
	    PROC_NR32_BPF, PROC_NR32_OPENAT2

/* index into the per-CPU drop counter map "drops": a reserve or output
 * failure of that record type. Slot 0 counts exec records whose argv could
 * not be read (sent without CommandLine, not lost). */
#define PROC_DROP_ARGV_UNREAD 0

/* exec flags */
#define PROC_F_ARGS_TRUNC 0x01u /* argv longer than PROC_ARGS_MAX */
#define PROC_F_EXE_TRUNC  0x02u /* exe path deeper or longer than the bounds */
#define PROC_F_CWD_TRUNC  0x04u
#define PROC_F_ARGS_FAIL  0x08u /* argv could not be read */
#define PROC_F_NO_EXE	  0x10u
#define PROC_F_NO_CWD	  0x20u

/* proc_exec.stdio_inet */
#define PROC_STDIO_IN  0x1u
#define PROC_STDIO_OUT 0x2u
#define PROC_STDIO_ERR 0x4u
/* ... and, when none of those is and stdin is a pseudo-terminal, the
 * parent's stdin, stdout, stderr (the addresses are then the parent's) */
#define PROC_STDIO_PARENT_SHIFT 4

struct proc_hdr {
	__u32 type; /* enum proc_rec_type */
	__u32 size; /* bytes of the whole record */
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;   /* tgid */
	__u32 tid;
	__u32 ppid; /* real_parent's tgid */
	__u32 uid, gid, euid, egid;
	__u32 loginuid;	 /* (u32)-1 when unset */
	__u32 sessionid; /* (u32)-1 when unset */
	__u32 pad0;
	__u64 start_ns;	       /* group leader's start_boottime */
	__u64 parent_start_ns; /* real_parent's group leader's start_boottime */
	__u64 cgroup_id;       /* cgroup v2 id */
	char comm[16];
};

struct proc_exec {
	struct proc_hdr h;
	__u32 flags; /* PROC_F_* */
	__u32 exe_nlink;
	__u64 exe_ino;
	__u32 exe_dev; /* kernel encoding: major << 20 | minor */
	__u32 exe_mtime_nsec;
	__u64 exe_size;
	__s64 exe_mtime_sec;
	__s64 exe_ctime_sec;
	__u32 exe_ctime_nsec;
	__u16 args_len; /* data[0, args_len) */
	__u16 exe_len;	/* then exe components */
	__u16 cwd_len;	/* then cwd components */
	__u16 cg_len;	/* then cgroup path components */
	__u32 pad;
	/* stdin, stdout, stderr that are TCP or UDP sockets (PROC_STDIO_*),
	 * and the first one's ends: a shell whose input and output are a
	 * connection is a reverse (or bind) shell, whatever started it; a
	 * shell on a pseudo-terminal whose parent's are (python's
	 * pty.spawn, script, inside a reverse shell: its "upgrade") too */
	__u8 stdio_inet;
	__u8 stdio_proto; /* IPPROTO_TCP, IPPROTO_UDP */
	__u16 stdio_af;	  /* AF_INET, AF_INET6 */
	__u16 stdio_lport;
	__u16 stdio_rport;
	__u8 stdio_raddr[16]; /* IPv4 in the first 4 bytes */
	char tty[PROC_TTY_MAX];
	char data[PROC_DATA_MAX + PROC_NAME_MAX];
};

/* Not sent for a child that shares its parent's memory (CLONE_VM without
 * CLONE_THREAD: vfork, posix_spawn): it runs nothing of its own before it
 * execs or exits, and those records name it and its parent. */
struct proc_fork {
	struct proc_hdr h; /* the child; ppid: the parent */
};

/* exit flags */
#define PROC_X_NOEXEC 0x01u /* never exec'd since its fork (PF_FORKNOEXEC) */

struct proc_exit {
	struct proc_hdr h;
	__u32 exit_code; /* as wait(2): status << 8 | signal */
	__u32 flags;	 /* PROC_X_* */
};

/* proc_sys.abi: a 64-bit call; a compat one of a 32-bit program (its code
 * segment __USER32_CS); a compat one made by int 0x80 from 64-bit code
 * (__USER_CS: almost never legitimate, a way around monitors that watch
 * only the 64-bit table) */
#define PROC_ABI_NATIVE 0u
#define PROC_ABI_IA32	1u
#define PROC_ABI_INT80	2u

/* PRIV, PTRACE, MODULE, BPF: one syscall, seen at its exit. The header's
 * credentials are those after the call. */
struct proc_sys {
	struct proc_hdr h;
	__u32 nr;  /* x86-64 syscall number */
	__u32 abi; /* PROC_ABI_*: how the call was made */
	__s64 ret;
	__u64 args[3];	    /* setns: fd, nstype, and the namespace's inode number
			     * (or, through a pidfd, the target's tgid) */
	__u64 cap_eff;	    /* PRIV: effective capabilities after */
	__u32 bpf_prog_type; /* BPF: attr.prog_type */
	__u32 bpf_insn_cnt;
	char bpf_name[16]; /* BPF: the program's name; setns: the namespace's type
			    * ("mnt", "net"...), or "pidfd" */
	__u16 path_len; /* MODULE via finit_module: file path components */
	__u16 uarg_len; /* MODULE: parameter string */
	__u32 pad2;
	char path[PROC_PATH_MAX + PROC_NAME_MAX];
	char uarg[PROC_UARG_MAX];
};

_Static_assert(sizeof(struct proc_hdr) == 96, "proc_hdr layout");

/* The record of PROC_REC_WAKE: type and size only (see consumer_idle in
 * proc.bpf.c). */
struct proc_wake {
	__u32 type; /* PROC_REC_WAKE */
	__u32 size; /* sizeof(struct proc_wake) */
};
_Static_assert(sizeof(struct proc_wake) == 8, "proc_wake layout");
_Static_assert(sizeof(struct proc_exec) == 96 + 88 + PROC_TTY_MAX + PROC_DATA_MAX + PROC_NAME_MAX,
	       "proc_exec layout");
_Static_assert(sizeof(struct proc_fork) == 96, "proc_fork layout");
_Static_assert(sizeof(struct proc_exit) == 104, "proc_exit layout");
_Static_assert(sizeof(struct proc_sys) == 96 + 80 + PROC_PATH_MAX + PROC_NAME_MAX + PROC_UARG_MAX,
	       "proc_sys layout");
_Static_assert((PROC_DATA_MAX & (PROC_DATA_MAX - 1)) == 0, "PROC_DATA_MAX is a power of two");
_Static_assert(PROC_ARGS_MAX + 2 * PROC_PATH_MAX + PROC_CG_MAX <= PROC_DATA_MAX,
	       "exec data fits");

#endif
