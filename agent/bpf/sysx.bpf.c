// SPDX-License-Identifier: GPL-2.0
/* sysx.bpf.c: one tp_btf/sys_exit program for every module that watches
 * system calls at their exit (agent/sysx.c; docs/sensors.md).
 *
 * A program on sys_exit runs at every system call of the machine, and each
 * one costs ~25 ns there even when it returns at once (the tracepoint's
 * call into BPF, not the program). With the process sensor, the network and
 * the file families each attaching its own, every system call paid that
 * three times. sysx_exit is the only one attached: it looks the number up in
 * the array "slot_of" (0: nobody watches it) and tail-calls the watching
 * module's program, which runs with the same arguments as if it had been
 * attached itself. Each number has at most one watcher. */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "sysx.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

/* system call number -> slot in "progs" + 1; 0: not watched */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSX_NR_MAX);
	__type(key, __u32);
	__type(value, __u32);
} slot_of SEC(".maps");

/* the modules' tp_btf/sys_exit programs (loaded, not attached) */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SYSX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} progs SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(sysx_exit, struct pt_regs *regs, long ret)
{
	long nr = YM_SYSCALL_NR(regs);
	__u32 k, *slot;

	(void)ret;
	if (nr < 0 || nr >= SYSX_NR_MAX)
		return 0;
	k = (__u32)nr;
	slot = bpf_map_lookup_elem(&slot_of, &k);
	if (!slot || *slot == 0 || *slot > SYSX_SLOTS)
		return 0;
	/* returns only when the slot is empty (a module leaving) */
	bpf_tail_call(ctx, &progs, *slot - 1);
	return 0;
}
