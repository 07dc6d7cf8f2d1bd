/* sysx: the one tp_btf/sys_exit program the agent attaches (bpf/sysx.bpf.c),
 * shared by every module that watches system calls at their exit: the
 * process sensor (privilege changes, ptrace, module and bpf loads), the
 * network family (connect, accept, listen) and the file family (opens,
 * renames, unlinks, chmod, chown). A module loads its own tp_btf/sys_exit
 * program without attaching it and registers it here with the system call
 * numbers it watches; the dispatcher tail-calls it for those numbers only.
 * Each program on sys_exit costs every system call of the machine ~25 ns
 * even when it returns at once, so one program instead of three saves ~50 ns
 * per system call (docs/sensors.md, "System calls").
 *
 * The dispatcher is loaded and attached by the first registration and goes
 * with the last. Thread-safe (one lock). When sysx cannot take a program
 * (the kernel refuses the dispatcher or the tail call, a number is watched
 * already, no slot left), the module attaches its program itself: the same
 * events, at the old cost. */
#ifndef YM_AGENT_SYSX_H
#define YM_AGENT_SYSX_H

#include <stddef.h>
#include <stdint.h>

struct sysx_reg;
struct bpf_program;

/* Registers prog (a loaded, unattached tp_btf/sys_exit program; borrowed: the
 * caller keeps it loaded until sysx_del) for the n system call numbers nrs
 * (copied; each below SYSX_NR_MAX, at most 64). Returns 0 and sets *out, or
 * YM_E_INVAL (bad numbers), YM_E_EXISTS (a number already watched),
 * YM_E_TOOBIG (no free slot), YM_E_UNSUPPORTED (the dispatcher or the tail call refused by the
 * kernel) or YM_E_NOMEM. On failure nothing is registered. */
int sysx_add(struct bpf_program *prog, const uint32_t *nrs, size_t n, struct sysx_reg **out);

/* Unregisters r (NULL: nothing): its numbers are no longer dispatched once
 * this returns; the last registration detaches and unloads the dispatcher. */
void sysx_del(struct sysx_reg *r);

struct bpf_link;
/* What a module calls: sysx_add, else (any failure but YM_E_INVAL) attaches
 * prog itself. Sets exactly one of *reg and *link. Returns 0, YM_E_INVAL, or
 * the negative errno of a refused attach (the module's start fails as it did
 * when it attached its program itself). */
int sysx_attach(struct bpf_program *prog, const uint32_t *nrs, size_t n, struct sysx_reg **reg,
		struct bpf_link **link);

/* Registrations now (tests). */
int sysx_count(void);

#endif
