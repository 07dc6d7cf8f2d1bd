/* ymbpf.h: what every yamori eBPF program shares (kernel side only; include
 * after vmlinux.h and bpf_helpers.h). Each program counts the records it
 * could not reserve in a per-CPU array "drops", which its loader sums and
 * reports (docs/sensors.md: drops are never silent). */
#ifndef YM_BPF_YMBPF_H
#define YM_BPF_YMBPF_H

#include <bpf/bpf_core_read.h>

/* Declares the per-CPU drop counter map with n slots. */
#define YM_BPF_DROPS_MAP(n)                                                                        \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                           \
		__uint(max_entries, (n));                                                          \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} drops SEC(".maps")

/* Adds n drops at slot idx of the program's "drops" map. */
#define ym_count_drops(idx, n)                                                                     \
	do {                                                                                       \
		__u32 ym_k_ = (idx);                                                               \
		__u64 *ym_v_ = bpf_map_lookup_elem(&drops, &ym_k_);                                \
		if (ym_v_)                                                                         \
			*ym_v_ += (n);                                                             \
	} while (0)

/* Adds one drop at slot idx of the program's "drops" map. */
#define ym_count_drop(idx) ym_count_drops(idx, 1)

/* bpf_rdonly_cast (kernel 6.2+): a kernel pointer the program holds only as a
 * number (read with a helper, or from a void * field) becomes a read-only
 * BTF pointer of the given type, whose fields are then plain loads (the JIT
 * makes a faulting one read 0, as bpf_probe_read_kernel would fail) instead
 * of a helper call each. Weak: on a kernel without it only the programs that
 * call it are refused, and their loaders take the ones that do not. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* The system call number at tp_btf/sys_exit, read straight from the saved
 * registers (a tp_btf argument: no helper call). Programs on sys_enter and
 * sys_exit run at every system call of the machine, so they test the number
 * before anything else. */
#if defined(__TARGET_ARCH_x86)
#define YM_SYSCALL_NR(regs) ((long)(regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define YM_SYSCALL_NR(regs) ((long)(regs)->syscallno)
#endif

/* Whether the current system call is a compat (ia32) one: TS_COMPAT in
 * thread_info's status, set by int 0x80 from any task and by a 32-bit
 * task's calls; never on other architectures. Its number and registers are
 * ia32's (ebx, ecx, edx, esi, edi: regs->bx...), and the syscalls/sys_exit_*
 * tracepoints skip it (agent/sysx.h: the dispatcher's compat table). A
 * tp_btf program's plain load (the task is a BTF pointer). */
static __always_inline int ym_is_compat(void)
{
#if defined(__TARGET_ARCH_x86)
	return (bpf_get_current_task_btf()->thread_info.status & 0x0002) != 0;
#else
	return 0;
#endif
}

/* x86-64's __USER_CS: the code segment saved at a compat call made by int
 * 0x80 from 64-bit code (a 32-bit program's is __USER32_CS, 0x23) */
#define YM_USER_CS 0x33

/* A 16-bit uid or gid of ia32's old calls (setuid, chown...): 0xffff is
 * "unchanged", as -1 is in the 32-bit ones */
static __always_inline __u64 ym_id16(__u64 v)
{
	v &= 0xffff;
	return v == 0xffff ? 0xffffffffull : v;
}

/* The registers of the current task's system call, in a program on a
 * syscalls/sys_exit_* tracepoint (its context holds the number and the
 * return value only): a BTF pointer, read with plain loads (5.15+) */
#define YM_SYSCALL_REGS() ((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()))

/* The record of a syscalls/sys_exit_NAME tracepoint, as tracefs's format
 * file gives it: the number is an int at offset 8 and the return value a
 * long at 16. Not vmlinux.h's trace_event_raw_sys_exit (raw_syscalls'
 * record, whose id is a long): read through that, the number takes the
 * four bytes of padding after it, which the kernel does not clear (6.18.44
 * left them set, and every watched call was taken for another number). */
struct ym_sys_exit_tp {
	__u64 common;
	int nr;
	long ret;
};

/* The file behind descriptor fd of the current task, or 0. The task, its
 * files and their table are BTF pointers, read with plain loads; the
 * table's slot, which another thread may be changing, through the helper
 * (as the kernel's own lookup reads it under RCU). A plain pointer: read
 * what it points to with BPF_CORE_READ, or bpf_rdonly_cast it. */
static __always_inline struct file *ym_task_fd_file(struct task_struct *t, long fd)
{
	struct files_struct *files = t ? t->files : 0;
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = 0;

	if (!files)
		return 0;
	fdt = files->fdt;
	if (!fdt)
		return 0;
	fds = fdt->fd;
	if (fd < 0 || (unsigned long)fd >= fdt->max_fds)
		return 0;
	if (bpf_core_read(&f, sizeof(f), &fds[fd & 0xffffff]))
		return 0;
	return f;
}

static __always_inline struct file *ym_fd_file(long fd)
{
	return ym_task_fd_file(bpf_get_current_task_btf(), fd);
}

#define YM_S_IFMT   00170000
#define YM_S_IFSOCK 0140000

/* the socket of file f (a plain pointer: read through the helper), or 0 */
static __always_inline struct sock *ym_file_sock(struct file *f)
{
	struct socket *so;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & YM_S_IFMT) != YM_S_IFSOCK)
		return 0;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : 0;
}

/* the socket behind fd of the current task, or 0. The file comes from
 * ym_fd_file (plain loads up to the table's slot: six
 * bpf_probe_read_kernel calls before, ~70 ns a call, two calls a
 * connection); what it points to is read through the helper, unless
 * direct (a constant): then the file and its socket are made BTF pointers
 * by bpf_rdonly_cast and read with plain loads too (kernel 6.2+: only the
 * programs the loader takes where the kernel accepts them) */
static __always_inline struct sock *ym_task_fd_sock(struct task_struct *t, long fd, int direct)
{
	struct file *f = ym_task_fd_file(t, fd);
	struct socket *so;

	if (!f)
		return 0;
	if (direct) {
		struct file *df = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));

		if ((df->f_inode->i_mode & YM_S_IFMT) != YM_S_IFSOCK)
			return 0;
		so = bpf_rdonly_cast(df->private_data, bpf_core_type_id_kernel(struct socket));
		return so->sk;
	}
	return ym_file_sock(f);
}

static __always_inline struct sock *ym_fd_sock(long fd, int direct)
{
	return ym_task_fd_sock(bpf_get_current_task_btf(), fd, direct);
}

#endif
