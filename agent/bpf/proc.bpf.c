// SPDX-License-Identifier: GPL-2.0
/* proc.bpf.c: the process family's kernel side (docs/sensors.md).
 *
 * tp_btf/sched_process_exec, _fork, _exit and tp_btf/sys_exit (for the
 * setuid family, capset, ptrace, process_vm_readv/writev, opens of
 * another process's /proc/PID/mem, init_module/finit_module and bpf), each
 * writing one record (proc.h) into the ring buffer "events". Everything the
 * enrichment needs is read here, at the moment of the event, so a process
 * that exits at once is reported as completely as a long-lived one: argv,
 * executable path (dentry walk across mounts), cwd, credentials, login
 * session, tty, cgroup, start time.
 *
 * Drops are never silent: a failed reserve or output increments the per-CPU
 * counter "drops" at the record type's index, which the loader sums and
 * reports. Every loop is bounded. Only tp_btf is used: it loads where
 * fentry, kprobes and BPF LSM are refused (see DESIGN.md). */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "proc.h"
#include "sysx_maps.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_KTHREAD_    0x00200000 /* task_struct.flags: a kernel thread */
#define PF_FORKNOEXEC_ 0x00000040 /* ... forked, not exec'd since */

/* set by the loader before load */
const volatile __u32 self_tgid = 0;
/* wake the consumer only once this much is waiting (it also polls on a
 * timer, every 100 ms), so a storm costs one wake-up per this many bytes.
 * 256 KiB (64 KiB until round 9): an exec storm at 5,000/s (~3 MB/s)
 * wakes the agent ~12 times a second instead of ~48, and each wake-up
 * starts with cold caches: 11 % less agent CPU per process (compare.sh,
 * 11 of 12 alternated runs). The rest of the 1 MiB ring, 768 KiB, is
 * ~55 ms of the fastest storm (~14 MB/s) for a reader held up by a
 * spool fsync. */
const volatile __u64 wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* 1 MiB: ~110 ms of the fastest exec storm (~620 bytes a process at
	 * 15,000-22,000/s), enough for a spool fsync that stalls the reader
	 * under load (512 KiB lost records there); 2 MiB of RSS (mapped twice) */
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

YM_BPF_DROPS_MAP(PROC_REC_MAX_);

/* scratch space: too big for the 512-byte BPF stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_exec);
} exec_buf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct proc_sys);
} sys_buf SEC(".maps");

/* The cgroup path this CPU's last exec sent (put_cgroup): an exec in the
 * same cgroup (a storm, a build, a service's workers) copies it instead
 * of walking the kernfs nodes again (~300-450 ns a run). Keyed by the
 * task's css_set, which fixes every controller's cgroup, and the default
 * hierarchy's node id (never reused), so a css_set freed and made again
 * at the same address for another cgroup is walked. A cgroup renamed
 * (rename(2) in cgroupfs; runtimes do not) keeps its old path here until
 * another cgroup's exec on this CPU. */
struct cg_last {
	__u64 cset;
	__u64 kn_id;
	__u32 len;
	__u32 pad;
	char path[PROC_CG_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cg_last);
} cg_last SEC(".maps");

/* kernfs_node->parent became __parent in 6.15 */
struct kernfs_node___old {
	struct kernfs_node___old *parent;
} __attribute__((preserve_access_index));


/* 1 while the consumer sleeps without its 100 ms polls: no record came
 * for a while, so it set this (through the mmapped .bss), then polled once
 * more (agent/sensor_bpf.c, sb_wake). The first record committed after
 * that wakes it, and clears the flag. Read only after the record is
 * committed: the commit is a full barrier (an xchg in the kernel), and the
 * consumer's store is followed by one before its last poll, so either that
 * poll sees the record or the record sees the flag. An idle host then
 * costs the agent no wake-up at all instead of ten a second. */
__u32 consumer_idle = 0;

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									       : BPF_RB_NO_WAKEUP;
}

/* After a record was committed with flags: wakes an idle consumer with a
 * record of its own (a wake-up alone cannot be sent once the record is
 * in). A wake record the full ring refuses is not needed: a full ring has
 * woken the consumer already. */
static __always_inline void rb_wake_idle(__u64 flags)
{
	struct proc_wake w = {.type = PROC_REC_WAKE, .size = sizeof(w)};

	if ((flags & BPF_RB_FORCE_WAKEUP) || !consumer_idle)
		return;
	consumer_idle = 0;
	bpf_ringbuf_output(&events, &w, sizeof(w), BPF_RB_FORCE_WAKEUP);
}

/* t is a BTF pointer (a tp_btf argument or bpf_get_current_task_btf()):
 * its fields are read directly, a plain load each, where BPF_CORE_READ
 * would call bpf_probe_read_kernel per field (measured: fork 735 ns, exit
 * 548 ns per run before, docs/sensors.md) */
static __always_inline void fill_hdr(struct proc_hdr *h, __u32 type, struct task_struct *t)
{
	struct task_struct *leader = t->group_leader;
	struct task_struct *parent = t->real_parent;
	const struct cred *cr = t->cred;

	h->type = type;
	h->ts_ns = bpf_ktime_get_ns();
	h->pid = t->tgid;
	h->tid = t->pid;
	h->ppid = parent->tgid;
	h->uid = cr->uid.val;
	h->gid = cr->gid.val;
	h->euid = cr->euid.val;
	h->egid = cr->egid.val;
	h->loginuid = (__u32)-1;
	h->sessionid = (__u32)-1;
	if (bpf_core_field_exists(t->loginuid)) {
		h->loginuid = t->loginuid.val;
		h->sessionid = t->sessionid;
	}
	h->start_ns = leader->start_boottime;
	h->parent_start_ns = parent->group_leader->start_boottime;
	h->cgroup_id = 0;
	if (bpf_core_field_exists(t->cgroups))
		h->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
	/* 16 bytes, NUL-terminated by the kernel: two plain loads, not a
	 * string-copy helper call (what follows the NUL is not read back) */
	__builtin_memcpy(h->comm, t->comm, sizeof(h->comm));
}

static __always_inline char *walk_buf(__u32 buf, __u32 *mask)
{
	__u32 zero = 0;

	if (buf == 0) {
		struct proc_exec *e = bpf_map_lookup_elem(&exec_buf, &zero);
		*mask = PROC_DATA_MAX - 1;
		return e ? e->data : NULL;
	} else {
		struct proc_sys *s = bpf_map_lookup_elem(&sys_buf, &zero);
		*mask = PROC_PATH_MAX - 1;
		return s ? s->path : NULL;
	}
}

#include "pathwalk.h"

/* kn's parent (NULL at the root; kernfs_node___old above) */
static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return (void *)BPF_CORE_READ((struct kernfs_node___old *)(void *)kn, parent);
}

static long cg_step(__u32 i, void *arg)
{
	struct walk *w = arg;
	struct kernfs_node *kn = w->kn, *up;
	__u32 mask = 0;
	char *data = walk_buf(0, &mask);
	const char *name;
	long n;

	if (!data || !kn)
		return 1;
	up = kn_parent(kn);
	/* the root's name is empty */
	if (!up || w->off - w->start + PROC_NAME_MAX > w->lim)
		return 1;
	name = BPF_CORE_READ(kn, name);
	n = bpf_probe_read_kernel_str(&data[w->off & mask], PROC_NAME_MAX, name);
	if (n <= 0)
		return 1;
	w->off += (__u32)n;
	w->kn = up;
	return 0;
}

/* The cgroup v2 path of t, leaf first (container runtimes name the leaf or
 * its parent after the container id). A task in the v2 root is, on a host
 * whose controllers are mounted as cgroup v1, in its containers' v2 root
 * too (the runtime makes /docker/<id> in each v1 hierarchy): its memory
 * controller's cgroup path then, which is the v2 one where that controller
 * is on v2. */
static __always_inline __u32 put_cgroup(__u32 off, struct task_struct *t)
{
	struct css_set *cset = t->cgroups;
	struct kernfs_node *kn = cset->dfl_cgrp->kn; /* a BTF pointer: plain loads */
	__u64 kn_id = kn->id;
	__u32 zero = 0, mask = 0, n;
	struct cg_last *c = bpf_map_lookup_elem(&cg_last, &zero);
	char *data = walk_buf(0, &mask);
	struct walk w = {
	    .buf = 0,
	    .off = off,
	    .start = off,
	    .lim = PROC_CG_MAX,
	    .kn = kn,
	};

	if (!data)
		return 0;
	/* in chunks of PROC_NAME_MAX, the slack after the record's data */
	if (c && c->cset == (__u64)cset && c->kn_id == kn_id && c->len <= PROC_CG_MAX) {
		n = c->len;
		for (__u32 i = 0; i < PROC_CG_MAX / PROC_NAME_MAX; i++) {
			if (i * PROC_NAME_MAX >= n)
				break;
			bpf_probe_read_kernel(&data[(off + i * PROC_NAME_MAX) & mask],
					      PROC_NAME_MAX, &c->path[i * PROC_NAME_MAX]);
		}
		return n;
	}
	if (!kn_parent(kn) && bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id)) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct cgroup_subsys_state *css = NULL;

		if (id >= 0 && id < CGROUP_SUBSYS_COUNT)
			css = BPF_CORE_READ(t, cgroups, subsys[id]);
		if (css)
			w.kn = BPF_CORE_READ(css, cgroup, kn);
	}
	bpf_loop(PROC_CG_DEPTH, cg_step, &w, 0);
	n = w.off - w.start;
	if (c && n <= PROC_CG_MAX) {
		c->cset = (__u64)cset;
		c->kn_id = kn_id;
		c->len = n;
		for (__u32 i = 0; i < PROC_CG_MAX / PROC_NAME_MAX; i++) {
			if (i * PROC_NAME_MAX >= n)
				break;
			bpf_probe_read_kernel(&c->path[i * PROC_NAME_MAX], PROC_NAME_MAX,
					      &data[(off + i * PROC_NAME_MAX) & mask]);
		}
	}
	return n;
}

/* inode times moved: i_mtime (timespec64) before 6.6, __i_mtime in 6.6 to
 * 6.10, i_mtime_sec/_nsec since 6.11 */
struct inode___v66 {
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___old {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/* ino is a BTF pointer (the exec's file): plain loads, no helper call */
static __always_inline void exe_times(struct proc_exec *e, struct inode *ino)
{
	if (bpf_core_field_exists(ino->i_mtime_sec)) {
		e->exe_mtime_sec = ino->i_mtime_sec;
		e->exe_mtime_nsec = ino->i_mtime_nsec;
		e->exe_ctime_sec = ino->i_ctime_sec;
		e->exe_ctime_nsec = ino->i_ctime_nsec;
	} else if (bpf_core_field_exists(((struct inode___v66 *)ino)->__i_mtime)) {
		struct inode___v66 *o = (void *)ino;
		e->exe_mtime_sec = o->__i_mtime.tv_sec;
		e->exe_mtime_nsec = (__u32)o->__i_mtime.tv_nsec;
		e->exe_ctime_sec = o->__i_ctime.tv_sec;
		e->exe_ctime_nsec = (__u32)o->__i_ctime.tv_nsec;
	} else {
		struct inode___old *o = (void *)ino;
		e->exe_mtime_sec = o->i_mtime.tv_sec;
		e->exe_mtime_nsec = (__u32)o->i_mtime.tv_nsec;
		e->exe_ctime_sec = o->i_ctime.tv_sec;
		e->exe_ctime_nsec = (__u32)o->i_ctime.tv_nsec;
	}
}

#define AF_INET_  2
#define AF_INET6_ 10

/* Which of task t's stdin, stdout and stderr are TCP or UDP sockets, as
 * bits from 1 << shift on into e->stdio_inet; the first one's socket. */
static __always_inline struct sock *stdio_socks(struct proc_exec *e, struct task_struct *t,
						int shift, int direct)
{
	struct sock *first = 0;

	for (int fd = 0; fd < 3; fd++) {
		struct sock *sk = ym_task_fd_sock(t, fd, direct);
		__u16 af;

		if (!sk)
			continue;
		af = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (af != AF_INET_ && af != AF_INET6_)
			continue;
		e->stdio_inet |= 1u << (fd + shift);
		if (!first)
			first = sk;
	}
	return first;
}

#define PTS_MAJOR_FIRST 136 /* UNIX98_PTY_SLAVE_MAJOR, and its 7 more */
#define PTS_MAJOR_LAST	143

/* Whether file f (a plain pointer: ym_fd_file's) is a pseudo-terminal's
 * slave: by plain loads where direct (as ym_fd_sock) */
static __always_inline int file_pts(struct file *f, int direct)
{
	__u32 mode, rdev, major;

	if (!f)
		return 0;
	if (direct) {
		struct file *df = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));

		mode = df->f_inode->i_mode;
		rdev = df->f_inode->i_rdev;
	} else {
		mode = BPF_CORE_READ(f, f_inode, i_mode);
		rdev = BPF_CORE_READ(f, f_inode, i_rdev);
	}
	if ((mode & YM_S_IFMT) != 0020000) /* S_IFCHR */
		return 0;
	major = rdev >> 20; /* the kernel's MINORBITS */
	return major >= PTS_MAJOR_FIRST && major <= PTS_MAJOR_LAST;
}

/* Which of the new program's stdin, stdout and stderr are TCP or UDP
 * sockets, and the first one's addresses, into e (stdio_*): ym_fd_sock,
 * by plain loads where direct; unix sockets (a service's output to the
 * journal) are not counted. None, and stdin a pseudo-terminal: its
 * parent's three, from bit PROC_STDIO_PARENT_SHIFT, and their first
 * one's addresses (a reverse shell's "upgrade": python's pty.spawn or
 * script, their stdio the connection, start a shell on a new terminal;
 * only programs on a terminal pay the parent's three lookups). */
static __always_inline void stdio_inet(struct proc_exec *e, int direct)
{
	struct sock *first;

	e->stdio_inet = 0;
	e->stdio_proto = 0;
	e->stdio_af = 0;
	e->stdio_lport = e->stdio_rport = 0;
	__builtin_memset(e->stdio_raddr, 0, sizeof(e->stdio_raddr));
	first = stdio_socks(e, bpf_get_current_task_btf(), 0, direct);
	if (!first && file_pts(ym_fd_file(0), direct)) {
		struct task_struct *t = bpf_get_current_task_btf();

		first = stdio_socks(e, t->real_parent, PROC_STDIO_PARENT_SHIFT, direct);
	}
	if (!first)
		return;
	e->stdio_af = BPF_CORE_READ(first, __sk_common.skc_family);
	e->stdio_proto = (__u8)BPF_CORE_READ_BITFIELD_PROBED(first, sk_protocol);
	e->stdio_lport = BPF_CORE_READ(first, __sk_common.skc_num);
	e->stdio_rport = bpf_ntohs(BPF_CORE_READ(first, __sk_common.skc_dport));
	if (e->stdio_af == AF_INET_) {
		__u32 d = BPF_CORE_READ(first, __sk_common.skc_daddr);

		__builtin_memcpy(e->stdio_raddr, &d, 4);
	} else {
		bpf_core_read(e->stdio_raddr, 16, &first->__sk_common.skc_v6_daddr);
	}
}

/* The exec record of the current task; direct (a constant): the path
 * walks read dentries and mounts with plain loads (pathwalk.h) */
static __always_inline int exec_rec(struct linux_binprm *bprm, int direct)
{
	__u32 zero = 0, off, n, size;
	struct proc_exec *e = bpf_map_lookup_elem(&exec_buf, &zero);
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	struct file *f;
	struct inode *ino;
	struct tty_struct *tty;
	unsigned long as, ae;
	__u64 len, flags;

	if (!e)
		return 0;
	fill_hdr(&e->h, PROC_REC_EXEC, t);
	if (e->h.pid == self_tgid)
		return 0;
	e->flags = 0;
	e->tty[0] = 0;
	tty = t->signal->tty;
	if (tty)
		BPF_CORE_READ_STR_INTO(&e->tty, tty, name);
	stdio_inet(e, direct);
	/* argv: the new image's stack was just written by the kernel */
	as = t->mm->arg_start;
	ae = t->mm->arg_end;
	len = ae > as ? ae - as : 0;
	if (len > PROC_ARGS_MAX) {
		len = PROC_ARGS_MAX;
		e->flags |= PROC_F_ARGS_TRUNC;
	}
	e->args_len = 0;
	if (len > 0 && len <= PROC_ARGS_MAX) {
		if (bpf_probe_read_user(e->data, len, (void *)as) == 0) {
			e->args_len = (__u16)len;
		} else {
			e->flags |= PROC_F_ARGS_FAIL;
			ym_count_drop(PROC_DROP_ARGV_UNREAD);
		}
	}
	off = e->args_len;
	f = bprm->file;
	e->exe_len = 0;
	e->exe_nlink = 0;
	e->exe_ino = 0;
	e->exe_dev = 0;
	e->exe_size = 0;
	e->exe_mtime_sec = e->exe_ctime_sec = 0;
	e->exe_mtime_nsec = e->exe_ctime_nsec = 0;
	e->pad = 0;
	if (f) {
		ino = f->f_inode;
		e->exe_nlink = ino->i_nlink;
		e->exe_ino = ino->i_ino;
		e->exe_dev = ino->i_sb->s_dev;
		e->exe_size = ino->i_size;
		exe_times(e, ino);
		n = put_path(0, off, PROC_PATH_MAX, &f->f_path, PROC_PATH_DEPTH, &e->flags,
			     PROC_F_EXE_TRUNC, direct);
		e->exe_len = (__u16)n;
		off += n;
	} else {
		e->flags |= PROC_F_NO_EXE;
	}
	{
		struct fs_struct *fs = t->fs;
		e->cwd_len = 0;
		if (fs) {
			n = put_path(0, off, PROC_PATH_MAX, &fs->pwd, PROC_PATH_DEPTH, &e->flags,
				     PROC_F_CWD_TRUNC, direct);
			e->cwd_len = (__u16)n;
			off += n;
		} else {
			e->flags |= PROC_F_NO_CWD;
		}
	}
	e->cg_len = 0;
	if (bpf_core_field_exists(t->cgroups)) {
		n = put_cgroup(off, t);
		e->cg_len = (__u16)n;
		off += n;
	}
	/* off < PROC_DATA_MAX always (PROC_DATA_MAX holds every part at its
	 * cap); the mask says so to the verifier */
	size = (__u32)__builtin_offsetof(struct proc_exec, data) + (off & (PROC_DATA_MAX - 1));
	e->h.size = size;
	flags = rb_flags();
	if (bpf_ringbuf_output(&events, e, size, flags))
		ym_count_drop(PROC_REC_EXEC);
	else
		rb_wake_idle(flags);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec_rec(bprm, 0);
}

/* The same with the path walks' plain loads (bpf_rdonly_cast, kernel
 * 6.2+): the loader takes it where the kernel accepts it, else the one
 * above (docs/sensors.md) */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec_dl, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return exec_rec(bprm, 1);
}

/* The CLONE_NEW* flags of the namespaces child does not share with parent
 * (both BTF pointers: plain loads). A clone without such a flag shares the
 * parent's nsproxy and user namespace: two comparisons at every fork. */
static __always_inline __u64 clone_new_ns(struct task_struct *parent, struct task_struct *child)
{
	struct nsproxy *pn = parent->nsproxy, *cn = child->nsproxy;
	__u64 f = 0;

	if (child->cred->user_ns != parent->cred->user_ns)
		f |= 0x10000000; /* CLONE_NEWUSER */
	if (pn == cn || !pn || !cn)
		return f;
	if (cn->mnt_ns != pn->mnt_ns)
		f |= 0x00020000;
	if (cn->cgroup_ns != pn->cgroup_ns)
		f |= 0x02000000;
	if (cn->uts_ns != pn->uts_ns)
		f |= 0x04000000;
	if (cn->ipc_ns != pn->ipc_ns)
		f |= 0x08000000;
	if (cn->pid_ns_for_children != pn->pid_ns_for_children)
		f |= 0x20000000;
	if (cn->net_ns != pn->net_ns)
		f |= 0x40000000;
	if (bpf_core_field_exists(cn->time_ns_for_children) &&
	    cn->time_ns_for_children != pn->time_ns_for_children)
		f |= 0x00000080;
	return f;
}

/* parent made child in new namespaces (ns: their CLONE_NEW* flags): a
 * PRIV record as unshare's, with the parent's credentials and the child's
 * capabilities (every one in a user namespace it was made in) */
static __always_inline void clone_ns_report(struct task_struct *parent, struct task_struct *child,
					    __u64 ns)
{
	__u32 zero = 0, size = (__u32) __builtin_offsetof(struct proc_sys, path);
	struct proc_sys *s = bpf_map_lookup_elem(&sys_buf, &zero);
	__u64 flags;

	if (!s)
		return;
	fill_hdr(&s->h, PROC_REC_PRIV, parent);
	s->h.size = size;
	s->nr = PROC_NR_CLONE;
	s->abi = PROC_ABI_NATIVE;
	s->ret = child->tgid;
	s->args[0] = ns;
	s->args[1] = 0;
	s->args[2] = 0;
	s->cap_eff = 0;
	bpf_probe_read_kernel(&s->cap_eff, sizeof(s->cap_eff), &child->cred->cap_effective);
	s->bpf_prog_type = 0;
	s->bpf_insn_cnt = 0;
	s->bpf_name[0] = 0;
	s->path_len = 0;
	s->uarg_len = 0;
	s->pad2 = 0;
	flags = rb_flags();
	if (bpf_ringbuf_output(&events, s, size, flags))
		ym_count_drop(PROC_REC_PRIV);
	else
		rb_wake_idle(flags);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	struct proc_fork *r;
	__u64 flags, ns;

	/* threads are not processes; kernel threads are not in the process
	 * table (enrich.c) and never exec: their records were read for
	 * nothing (one a second: the kernel answers each AUDIT_GET of the
	 * auditd family from a new kernel thread) */
	if (child->pid != child->tgid || (child->flags & PF_KTHREAD_))
		return 0;
	ns = clone_new_ns(parent, child);
	if (ns && parent->tgid != self_tgid)
		clone_ns_report(parent, child, ns);
	/* a child sharing its parent's memory (vfork, posix_spawn: how
	 * glibc, make, ninja, Go and Python's subprocess start programs) runs
	 * nothing of its own until it execs or exits: the exec record names
	 * it and its parent, the exit record says whether it never exec'd,
	 * and the agent makes its table entry from either (enrich.c). Without
	 * the ring write this program takes 70 ns a run instead of ~630
	 * (docs/sensors.md), and the agent reads one record less. */
	if (child->mm == parent->mm)
		return 0;
	if (parent->tgid == self_tgid)
		return 0;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		ym_count_drop(PROC_REC_FORK);
		return 0;
	}
	fill_hdr(&r->h, PROC_REC_FORK, child);
	/* the child's real_parent may be a reaper (CLONE_PARENT); the forking
	 * process is what made it */
	r->h.ppid = parent->tgid;
	r->h.parent_start_ns = parent->group_leader->start_boottime;
	r->h.size = sizeof(*r);
	flags = rb_flags();
	bpf_ringbuf_submit(r, flags);
	rb_wake_idle(flags);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *p)
{
	struct proc_exit *r;
	struct signal_struct *sig = p->signal;
	__u32 code;
	__u64 flags;

	/* the process ends with its last thread (signal->live was decremented
	 * before this tracepoint on every kernel version) */
	if (sig->live.counter != 0 || (p->flags & PF_KTHREAD_))
		return 0;
	if (p->tgid == self_tgid)
		return 0;
	code = p->exit_code;
	if (sig->flags & 0x00000004 /* SIGNAL_GROUP_EXIT */)
		code = sig->group_exit_code;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		ym_count_drop(PROC_REC_EXIT);
		return 0;
	}
	fill_hdr(&r->h, PROC_REC_EXIT, p);
	r->exit_code = code;
	/* the leader's: every thread is born with the flag, and only the one
	 * that execs (which becomes the leader) loses it */
	r->flags = (p->group_leader->flags & PF_FORKNOEXEC_) ? PROC_X_NOEXEC : 0;
	r->h.size = sizeof(*r);
	flags = rb_flags();
	bpf_ringbuf_submit(r, flags);
	rb_wake_idle(flags);
	return 0;
}

#define PTRACE_ATTACH_	 16
#define PTRACE_SEIZE_	 0x4206
#define BPF_PROG_LOAD_	 5

/* The thread group of the first task pid names (a struct pid: a process's
 * or a thread's), or its number when no task has it any more; the number
 * (in the first namespace: the agent's) into *nr */
static __always_inline __u32 pid_tgid(struct pid *pid, __u32 *nr)
{
	struct hlist_node *first;

	*nr = 0;
	bpf_core_read(nr, sizeof(*nr), &pid->numbers[0].nr);
	first = BPF_CORE_READ(pid, tasks[0].first);
	if (!first)
		return *nr;
	return BPF_CORE_READ(
	    (struct task_struct *)((char *)first -
				   bpf_core_field_offset(struct task_struct, pid_links)),
	    tgid);
}

#define PROC_SUPER_MAGIC_ 0x9fa0
#define FMODE_READ_	  0x1
#define FMODE_WRITE_	  0x2

/* Whether fd, a descriptor an open just returned, is the memory file of
 * another process: /proc/PID/mem or /proc/PID/task/TID/mem, read and
 * written like a file once the open passed the ptrace access check (an
 * injection or a credential dump from memory without ptrace or
 * process_vm_*, and with no command line to tell: "dd of=/proc/PID/mem" is
 * one way, a few lines of any language another). Its name is read first
 * (3 bytes: most opens end there), then the file system (no other proc
 * file is called "mem"), then whose memory it is: the proc inode's pid,
 * its thread group. Into tgid, tid and mode (FMODE_READ, FMODE_WRITE). */
static __always_inline int mem_file(long fd, __u64 *tgid, __u64 *tid, __u64 *mode)
{
	struct file *f = ym_fd_file(fd);
	struct proc_inode *pi;
	struct inode *ino;
	struct dentry *d;
	struct pid *pid;
	struct qstr q;
	char nm[4];
	__u32 nr = 0, owner;

	/* proc_inode is procfs's own: a kernel whose BTF lacks it loses this
	 * check, not the program */
	if (!f || !bpf_core_type_exists(struct proc_inode))
		return 0;
	d = BPF_CORE_READ(f, f_path.dentry);
	if (!d || bpf_core_read(&q, sizeof(q), &d->d_name) || q.len != 3)
		return 0;
	if (bpf_probe_read_kernel(nm, sizeof(nm), q.name) || nm[0] != 'm' || nm[1] != 'e' ||
	    nm[2] != 'm' || nm[3] != 0)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	if (!ino || BPF_CORE_READ(ino, i_sb, s_magic) != PROC_SUPER_MAGIC_)
		return 0;
	pi = (struct proc_inode *)((char *)ino -
				   bpf_core_field_offset(struct proc_inode, vfs_inode));
	pid = BPF_CORE_READ(pi, pid);
	if (!pid)
		return 0;
	/* its process gone (the memory is still held): the thread's own id */
	owner = pid_tgid(pid, &nr);
	if (owner == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return 0; /* its own memory */
	*tgid = owner;
	*tid = nr;
	/* none with O_PATH: no access check, no access */
	*mode = BPF_CORE_READ(f, f_mode) & (FMODE_READ_ | FMODE_WRITE_);
	return *mode != 0;
}

#define NSFS_MAGIC_	     0x6e736673
#define PIDFS_MAGIC_	     0x50494446
#define ANON_INODE_FS_MAGIC_ 0x09041934

/* What setns(fd, nstype) joined, at its successful exit: through a
 * namespace file (/proc/PID/ns/TYPE), its type's name into bpf_name and
 * its inode number into args[2]; through a pidfd (5.8+: every namespace
 * of nstype of that process), "pidfd" and the process's tgid. The caller
 * still holds the descriptor. */
static __always_inline void setns_target(struct proc_sys *s)
{
	struct file *f = ym_fd_file((long)s->args[0]);
	struct inode *ino;
	unsigned long magic;

	s->args[2] = 0;
	if (!f)
		return;
	ino = BPF_CORE_READ(f, f_inode);
	magic = ino ? BPF_CORE_READ(ino, i_sb, s_magic) : 0;
	if (magic == NSFS_MAGIC_) {
		const char *name;
		struct ns_common *ns;

		if (!bpf_core_field_exists(struct proc_ns_operations, name))
			return; /* the type's name not readable here: the event without it */
		ns = BPF_CORE_READ(ino, i_private);
		name = ns ? BPF_CORE_READ(ns, ops, name) : 0;
		if (!ns)
			return;
		s->args[2] = BPF_CORE_READ(ns, inum);
		if (!name || bpf_probe_read_kernel_str(s->bpf_name, sizeof(s->bpf_name), name) < 0)
			s->bpf_name[0] = 0;
	} else {
		/* a pidfd: an anonymous inode before 6.9 (the pid in the
		 * file's private_data), pidfs since (in the inode's) */
		struct pid *pid = magic == PIDFS_MAGIC_ ? BPF_CORE_READ(ino, i_private)
							: BPF_CORE_READ(f, private_data);
		__u32 nr = 0;

		if (!pid || (magic != PIDFS_MAGIC_ && magic != ANON_INODE_FS_MAGIC_))
			return;
		s->args[2] = pid_tgid(pid, &nr);
		__builtin_memcpy(s->bpf_name, "pidfd", 6);
	}
}

/* A watched call's exit: nr (x86-64's), its return value and its first
 * three arguments (from the registers it was made with: saved at entry,
 * not changed by the call). The entry programs below run it
 * (agent/sysx.h). */
static __always_inline int proc_sys(long nr, long ret, __u64 a0, __u64 a1, __u64 a2, __u32 abi)
{
	__u32 zero = 0, type, size;
	struct proc_sys *s;
	struct task_struct *t;
	__u64 flags, mem[3] = {0, 0, 0};

	switch (nr) {
	case PROC_NR_SETUID:
	case PROC_NR_SETGID:
	case PROC_NR_SETREUID:
	case PROC_NR_SETREGID:
	case PROC_NR_SETRESUID:
	case PROC_NR_SETRESGID:
	case PROC_NR_SETFSUID:
	case PROC_NR_SETFSGID:
	case PROC_NR_CAPSET:
		/* setfs*id return the previous id, not 0 */
		if (ret != 0 && nr != PROC_NR_SETFSUID && nr != PROC_NR_SETFSGID)
			return 0;
		type = PROC_REC_PRIV;
		break;
	case PROC_NR_SETNS:
		if (ret != 0)
			return 0;
		type = PROC_REC_PRIV;
		break;
	case PROC_NR_UNSHARE:
		/* a namespace made: how an exploit of a kernel bug gets the
		 * capabilities it needs inside a user namespace of its own */
		if (ret != 0 || !(a0 & PROC_CLONE_NEW_ANY))
			return 0;
		type = PROC_REC_PRIV;
		break;
	case PROC_NR_PTRACE:
	case PROC_NR_VM_READV:
	case PROC_NR_VM_WRITEV:
		/* another process's memory read or written without ptrace:
		 * an injection, or a credential dump from a process's memory */
		type = PROC_REC_PTRACE;
		break;
	case PROC_NR_OPEN:
	case PROC_NR_OPENAT:
	case PROC_NR_OPENAT2:
		if (ret < 0)
			return 0;
		if (!mem_file(ret, &mem[0], &mem[2], &mem[1]))
			return 0;
		type = PROC_REC_PTRACE;
		break;
	case PROC_NR_INIT_MODULE:
	case PROC_NR_FINIT_MODULE:
		type = PROC_REC_MODULE;
		break;
	case PROC_NR_BPF:
		type = PROC_REC_BPF;
		break;
	default:
		return 0;
	}
	s = bpf_map_lookup_elem(&sys_buf, &zero);
	if (!s)
		return 0;
	t = (struct task_struct *)bpf_get_current_task_btf();
	s->args[0] = a0;
	s->args[1] = a1;
	s->args[2] = a2;
	if (nr == PROC_NR_OPEN || nr == PROC_NR_OPENAT || nr == PROC_NR_OPENAT2) {
		/* the target's tgid, the access, its thread id */
		s->args[0] = mem[0];
		s->args[1] = mem[1];
		s->args[2] = mem[2];
	}
	if (nr == PROC_NR_PTRACE && s->args[0] != PTRACE_ATTACH_ && s->args[0] != PTRACE_SEIZE_)
		return 0;
	if (type == PROC_REC_BPF && s->args[0] != BPF_PROG_LOAD_)
		return 0;
	fill_hdr(&s->h, type, t);
	if (s->h.pid == self_tgid)
		return 0;
	/* its own memory (allowed, and no access to another) */
	if ((nr == PROC_NR_VM_READV || nr == PROC_NR_VM_WRITEV) && (__u32)s->args[0] == s->h.pid)
		return 0;
	s->nr = (__u32)nr;
	s->abi = abi;
	s->ret = ret;
	s->cap_eff = 0;
	s->bpf_prog_type = 0;
	s->bpf_insn_cnt = 0;
	s->bpf_name[0] = 0;
	s->path_len = 0;
	s->uarg_len = 0;
	s->pad2 = 0;
	size = (__u32)__builtin_offsetof(struct proc_sys, path);
	if (type == PROC_REC_PRIV) {
		__u64 caps = 0;
		bpf_probe_read_kernel(&caps, sizeof(caps), &t->cred->cap_effective);
		s->cap_eff = caps;
		if (nr == PROC_NR_SETNS)
			setns_target(s);
	} else if (type == PROC_REC_BPF) {
		__u32 head[2] = {0, 0};
		void *attr = (void *)s->args[1];
		if (attr && bpf_probe_read_user(head, sizeof(head), attr) == 0) {
			s->bpf_prog_type = head[0];
			s->bpf_insn_cnt = head[1];
		}
		/* prog_name sits at offset 48 of union bpf_attr (uapi, stable) */
		if (attr && s->args[2] >= 64)
			bpf_probe_read_user(s->bpf_name, sizeof(s->bpf_name), attr + 48);
		s->bpf_name[15] = 0;
	} else if (type == PROC_REC_MODULE) {
		__u32 flags = 0, n = 0;
		const char *uarg;
		long k;

		if (nr == PROC_NR_FINIT_MODULE) {
			struct file *f = ym_fd_file((long)s->args[0]);
			if (f)
				n = put_path(1, 0, PROC_PATH_MAX, &f->f_path, PROC_PATH_DEPTH, &flags, 1,
					     0);
			uarg = (const char *)s->args[1];
		} else {
			uarg = (const char *)s->args[2];
		}
		s->path_len = (__u16)n;
		k = uarg ? bpf_probe_read_user_str(s->uarg, sizeof(s->uarg), uarg) : 0;
		s->uarg_len = k > 1 ? (__u16)(k - 1) : 0;
		size = sizeof(*s);
	}
	s->h.size = size;
	flags = rb_flags();
	if (bpf_ringbuf_output(&events, s, size, flags))
		ym_count_drop(type);
	else
		rb_wake_idle(flags);
	return 0;
}

/* Through the shared dispatcher (or attached alone): tp_btf, not raw_tp,
 * since it runs at every system call of the machine and the number is read
 * straight from the registers (raw_tp needed a bpf_probe_read_kernel: 36 ns
 * per system call, docs/sensors.md). Attached alone it sees compat calls
 * too, whose numbers are ia32's: left to proc_sys_compat. */
SEC("tp_btf/sys_exit")
int BPF_PROG(proc_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = YM_SYSCALL_NR(regs);

	if (ym_is_compat())
		return 0;
	proc_sys(nr, ret, PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
		 PT_REGS_PARM3_SYSCALL(regs), PROC_ABI_NATIVE);
	/* the file family watches open too */
	sysx_next(ctx, nr, 0, SYSX_MOD_PROC);
	return 0;
}

/* On the syscalls/sys_exit_NAME tracepoint of each watched call (the kernel
 * tests the number; it skips compat calls) */
SEC("tracepoint/syscalls/sys_exit")
int proc_sys_exit_tp(struct ym_sys_exit_tp *ctx)
{
	struct pt_regs *regs = YM_SYSCALL_REGS();

	return proc_sys(ctx->nr, ctx->ret, PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
			PT_REGS_PARM3_SYSCALL(regs), PROC_ABI_NATIVE);
}

#if defined(__TARGET_ARCH_x86)
/* Compat (ia32) system calls, int 0x80 from any task or a 32-bit task's
 * (PROC_CALLS32): the dispatcher's compat table tail-calls this for their
 * numbers (agent/sysx.h; attached alone where it cannot, it returns at
 * once for a native call). Each is handed to proc_sys as the 64-bit call
 * with ia32's registers (ebx, ecx, edx, zero-extended as the 64-bit
 * call's ids are): the 16-bit id calls' 0xffff as 0xffffffff (unchanged).
 * An attacker's int 0x80 setuid or module load is the 64-bit one's event. */
static __always_inline long proc_nr32(long n)
{
	switch (n) {
	case PROC_NR32_SETUID:
	case PROC_NR32_SETUID16:
		return PROC_NR_SETUID;
	case PROC_NR32_SETGID:
	case PROC_NR32_SETGID16:
		return PROC_NR_SETGID;
	case PROC_NR32_SETREUID:
	case PROC_NR32_SETREUID16:
		return PROC_NR_SETREUID;
	case PROC_NR32_SETREGID:
	case PROC_NR32_SETREGID16:
		return PROC_NR_SETREGID;
	case PROC_NR32_SETRESUID:
	case PROC_NR32_SETRESUID16:
		return PROC_NR_SETRESUID;
	case PROC_NR32_SETRESGID:
	case PROC_NR32_SETRESGID16:
		return PROC_NR_SETRESGID;
	case PROC_NR32_SETFSUID:
	case PROC_NR32_SETFSUID16:
		return PROC_NR_SETFSUID;
	case PROC_NR32_SETFSGID:
	case PROC_NR32_SETFSGID16:
		return PROC_NR_SETFSGID;
	case PROC_NR32_CAPSET:
		return PROC_NR_CAPSET;
	case PROC_NR32_PTRACE:
		return PROC_NR_PTRACE;
	case PROC_NR32_INIT_MODULE:
		return PROC_NR_INIT_MODULE;
	case PROC_NR32_FINIT_MODULE:
		return PROC_NR_FINIT_MODULE;
	case PROC_NR32_BPF:
		return PROC_NR_BPF;
	case PROC_NR32_VM_READV:
		return PROC_NR_VM_READV;
	case PROC_NR32_VM_WRITEV:
		return PROC_NR_VM_WRITEV;
	case PROC_NR32_OPEN:
		return PROC_NR_OPEN;
	case PROC_NR32_OPENAT:
		return PROC_NR_OPENAT;
	case PROC_NR32_OPENAT2:
		return PROC_NR_OPENAT2;
	case PROC_NR32_SETNS:
		return PROC_NR_SETNS;
	case PROC_NR32_UNSHARE:
		return PROC_NR_UNSHARE;
	}
	return -1;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proc_sys_compat, struct pt_regs *regs, long ret)
{
	long n = regs->orig_ax, nr;
	__u64 a0 = (__u32)regs->bx, a1 = (__u32)regs->cx, a2 = (__u32)regs->dx;

	if (!ym_is_compat())
		return 0;
	nr = proc_nr32(n);
	if (nr < 0)
		goto next;
	switch (n) {
	case PROC_NR32_SETUID16:
	case PROC_NR32_SETGID16:
	case PROC_NR32_SETFSUID16:
	case PROC_NR32_SETFSGID16:
		a0 = ym_id16(a0);
		break;
	case PROC_NR32_SETREUID16:
	case PROC_NR32_SETREGID16:
		a0 = ym_id16(a0);
		a1 = ym_id16(a1);
		break;
	case PROC_NR32_SETRESUID16:
	case PROC_NR32_SETRESGID16:
		a0 = ym_id16(a0);
		a1 = ym_id16(a1);
		a2 = ym_id16(a2);
		break;
	}
	proc_sys(nr, ret, a0, a1, a2, regs->cs == YM_USER_CS ? PROC_ABI_INT80 : PROC_ABI_IA32);
next:
	/* the file family watches open too */
	sysx_next(ctx, n, 1, SYSX_MOD_PROC);
	return 0;
}
#endif
