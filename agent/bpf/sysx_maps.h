/* sysx_maps.h: the dispatcher's program array and table, declared by the
 * dispatcher (sysx.bpf.c) and by each module that watches system calls,
 * whose loader makes them the dispatcher's own before its load
 * (agent/sysx.h: sysx_share). eBPF side only. */
#ifndef YM_AGENT_BPF_SYSX_MAPS_H
#define YM_AGENT_BPF_SYSX_MAPS_H

#include "sysx.h"

/* the modules' tp_btf/sys_exit programs (loaded, not attached), at
 * SYSX_SLOT(module, compat) */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SYSX_PROGS);
	__type(key, __u32);
	__type(value, __u32);
} sysx_progs SEC(".maps");

/* SYSX_KEY(number, compat) -> the modules watching it: bit SYSX_MOD_* */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SYSX_KEYS);
	__type(key, __u32);
	__type(value, __u32);
} sysx_watch SEC(".maps");

/* Tail-calls the first module of mask at or after module from (its 64-bit
 * or compat program); returns when there is none (or its slot is empty:
 * a module leaving) */
static __always_inline void sysx_call(void *ctx, __u32 mask, __u32 from, int compat)
{
	for (__u32 m = from; m < SYSX_MODS; m++)
		if (mask & (1u << m)) {
			bpf_tail_call(ctx, &sysx_progs, SYSX_SLOT(m, compat));
			return;
		}
}

/* What module me's program (64-bit or compat) does last through the
 * dispatcher, whatever it did with the call nr: tail-calls the next
 * module watching it. Only when me is registered for it (a program
 * attached alone must not run the others: the dispatcher does). */
static __always_inline void sysx_next(void *ctx, long nr, int compat, __u32 me)
{
	__u32 k, *mask;

	if (nr < 0 || nr >= SYSX_NR_MAX)
		return;
	k = SYSX_KEY((__u32)nr, compat);
	mask = bpf_map_lookup_elem(&sysx_watch, &k);
	if (mask && (*mask & (1u << me)))
		sysx_call(ctx, *mask, me + 1, compat);
}

#endif
