// SPDX-License-Identifier: GPL-2.0
/* sysx.bpf.c: one tp_btf/sys_exit program for every module that watches
 * system calls at their exit (agent/sysx.c; docs/sensors.md).
 *
 * A program on sys_exit runs at every system call of the machine, and each
 * one costs ~25 ns there even when it returns at once (the tracepoint's
 * call into BPF, not the program). With the process sensor, the network and
 * the file families each attaching its own, every system call paid that
 * three times. sysx_exit is the only one attached: it looks the number up in
 * the array "sysx_watch" (sysx_maps.h: the modules watching it, a mask) and
 * tail-calls the first watching module's program, which runs with the same
 * arguments as if it had been attached itself and tail-calls the next.
 *
 * Compat (ia32) system calls, int 0x80 from any task or a 32-bit task's,
 * have numbers of their own (ia32's table) and the syscall tracepoints
 * skip them: they have keys of their own in the table, whose programs
 * (each module's compat one) read ia32's registers. A module on the
 * tracepoints still registers its compat program here; where only such
 * modules do, sysx_compat is attached instead of sysx_exit: one program at
 * every system call for all modules' compat calls, returning after one
 * load for a 64-bit call (docs/sensors.md, "32-bit system calls"). */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sysx.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

#include "sysx_maps.h"

/* Where the 64-bit calls come through here: at every system call */
SEC("tp_btf/sys_exit")
int BPF_PROG(sysx_exit, struct pt_regs *regs, long ret)
{
	long nr = YM_SYSCALL_NR(regs);
	int compat;
	__u32 k, *mask;

	(void)ret;
	if (nr < 0 || nr >= SYSX_NR_MAX)
		return 0;
	compat = ym_is_compat();
	k = SYSX_KEY((__u32)nr, compat);
	mask = bpf_map_lookup_elem(&sysx_watch, &k);
	if (mask && *mask)
		sysx_call(ctx, *mask, 0, compat);
	return 0;
}

/* Where the 64-bit calls come on the syscall tracepoints and only compat
 * ones through here: at every system call too, but a 64-bit one returns
 * after one load (the task's status) */
SEC("tp_btf/sys_exit")
int BPF_PROG(sysx_compat, struct pt_regs *regs, long ret)
{
	long nr;
	__u32 k, *mask;

	(void)ret;
	if (!ym_is_compat())
		return 0;
	nr = YM_SYSCALL_NR(regs);
	if (nr < 0 || nr >= SYSX_NR_MAX)
		return 0;
	k = SYSX_KEY((__u32)nr, 1);
	mask = bpf_map_lookup_elem(&sysx_watch, &k);
	if (mask && *mask)
		sysx_call(ctx, *mask, 0, 1);
	return 0;
}
