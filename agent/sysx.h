/* sysx: how the modules that watch system calls at their exit get there:
 * the process sensor (privilege changes, ptrace, module and bpf loads), the
 * network family (connect, accept, listen) and the file family (opens,
 * renames, unlinks, chmod, chown). Each module has its program twice, and
 * one of them is loaded:
 *
 * - tracepoint (preferred): a BPF_PROG_TYPE_TRACEPOINT program attached to
 *   the kernel's syscalls/sys_exit_NAME tracepoint of each call it watches.
 *   The kernel tests the number (a bit in a bitmap) before any program
 *   runs, so an unwatched system call costs ~3 ns more than with no agent;
 *   a watched one ~30 ns (the perf record the kernel fills first). The
 *   tracepoints' ids come from tracefs (docs/sensors.md, "System calls"),
 *   mounted in a private mount namespace of a short-lived thread when the
 *   host has it nowhere, so the host's mounts do not change.
 * - dispatcher (fallback: no tracefs, a kernel without syscall tracepoints
 *   or bpf_task_pt_regs, a tracepoint program refused): the module's
 *   tp_btf/sys_exit program is loaded unattached and registered with the one
 *   shared tp_btf/sys_exit program (bpf/sysx.bpf.c), which tail-calls it for
 *   the numbers it watches. That program runs at every system call of the
 *   machine (~18-25 ns even when it returns at once); one instead of three
 *   saved ~50 ns per system call in round 6. When the dispatcher cannot take
 *   a program, the module attaches its own: the same events, at that cost.
 *   Each module (SYSX_MOD_*, bpf/sysx.h) has its slot; the dispatcher
 *   tail-calls the first module watching a number and each the next
 *   (bpf/sysx_maps.h: each module's object shares the dispatcher's maps,
 *   sysx_share), so two modules can watch one number (the process sensor
 *   and the file family both watch open).
 *
 * Compat (ia32) system calls (int 0x80 from any task, a 32-bit task's
 * calls) have ia32's numbers and registers, and the syscall tracepoints skip
 * them. A module that watches them too has a third program, tp_btf, that
 * reads ia32's registers, registered by ia32 number with the dispatcher
 * (sysx_compat_watch) whichever way its 64-bit calls come. The 64-bit
 * programs never see a compat call through it. With 64-bit registrations
 * the dispatcher's sysx_exit takes both kinds; with compat ones only (the
 * 64-bit calls on tracepoints) its sysx_compat, which returns after one
 * load for a 64-bit call: one program at every system call for every
 * module's compat calls. Only where the kernel runs compat calls at all
 * (sysx_compat_present).
 *
 * The choice is made before the module's skeleton is loaded (sysx_prepare)
 * and is the same for every module of the process; the dispatcher is loaded
 * by the first registration or share and kept, attached while there are
 * registrations. Thread-safe (one lock). */
#ifndef YM_AGENT_SYSX_H
#define YM_AGENT_SYSX_H

#include <stddef.h>
#include <stdint.h>

/* 1 where compat (ia32) system calls exist: x86-64 (the modules' compat
 * programs, sysx_compat_present) */
#if defined(__x86_64__)
#define SYSX_COMPAT 1
#else
#define SYSX_COMPAT 0
#endif

struct sysx_reg;
struct bpf_program;
struct bpf_map;

/* One watched system call: its number on this architecture (< 0: the call
 * does not exist here and is skipped) and its name, as in the kernel's
 * syscalls/sys_exit_<name> tracepoint. */
struct sysx_call {
	int32_t nr;
	const char *name;
};

/* Before a module's skeleton is loaded: sets the autoload of its two
 * programs for the same calls (tp: SEC("tracepoint/..."), btf:
 * SEC("tp_btf/sys_exit"); both borrowed) so that only the one sysx will use
 * is loaded: tp when syscall tracepoints can be used here (their ids are
 * read once per process, on the first call), else btf. Returns 1 when tp
 * was chosen, 0 for btf. */
int sysx_prepare(struct bpf_program *tp, struct bpf_program *btf);

/* After a module's load failed with tp chosen: from now on sysx_prepare
 * chooses btf for every module (the kernel refused a tracepoint program:
 * e.g. no bpf_task_pt_regs before 5.15). The module opens its skeleton again
 * and retries. */
void sysx_prepare_failed(void);

/* A module's load loop after its load failed (err, a negative errno) with
 * *direct (its direct-load programs, bpf_rdonly_cast) and tp (sysx_prepare's
 * choice): what to try next. With *direct: again without (logged as who's,
 * *direct set to 0); else with tp: again with the tp_btf program
 * (sysx_prepare_failed). Returns 1 to retry, 0 when nothing is left. */
int sysx_load_failed(const char *who, int *direct, int tp, int err);

/* A module's load loop with optional programs: its compat one (x86) and
 * its io_uring ones, each loaded while its flag is set. */
struct sysx_try {
	int compat, uring;	     /* load with them this time */
	int want_compat, want_uring; /* ... after a step of sysx_load_failed */
	int compat_err, uring_err;   /* the refused load's error when dropped */
};

/* The first try: with what the module wants. */
void sysx_try_init(struct sysx_try *t, int want_compat, int want_uring);

/* After a refused load (err, a negative errno): again without the compat
 * program first, then without the io_uring ones (the compat one again),
 * then sysx_load_failed's next step with both again. Returns 1 to retry,
 * 0 when nothing is left. */
int sysx_try_next(struct sysx_try *t, const char *who, int *direct, int tp, int err);

/* Of a program's two builds, dl (direct loads through bpf_rdonly_cast) and
 * hr (helper reads), the one a module loads: dl when direct, else hr; the
 * other is neither loaded nor attached. */
struct bpf_program *sysx_choose_direct(int direct, struct bpf_program *dl, struct bpf_program *hr);

/* The build a module loaded, for its logs and tests: "direct loads" or
 * "helper reads" (a static string). */
const char *sysx_reads(int direct);

/* Tests: 0 makes sysx_prepare choose btf from now on, 1 lets it choose tp
 * again where the tracepoints can be used. */
void sysx_allow_tracepoints(int allow);

/* Before a module's skeleton is loaded: makes its copies of the
 * dispatcher's maps (bpf/sysx_maps.h: sysx_progs, sysx_watch) the
 * dispatcher's own, loading the dispatcher (not attaching it) if it is not
 * yet. Returns 0, YM_E_UNSUPPORTED (the dispatcher refused: the module's
 * programs, attached alone, run no other module's) or YM_E_IO. */
int sysx_share(struct bpf_map *progs, struct bpf_map *watch);

/* Registers module's (SYSX_MOD_*) prog (a loaded, unattached
 * tp_btf/sys_exit program of a skeleton that shared the maps; borrowed:
 * the caller keeps it loaded until sysx_del) for the n system call numbers
 * nrs (copied; each below SYSX_NR_MAX, at most 64). Returns 0 and sets
 * *out, or YM_E_INVAL (bad numbers or module), YM_E_EXISTS (the module is
 * registered), YM_E_UNSUPPORTED (the dispatcher, its attach or the tail
 * call refused by the kernel), YM_E_IO or YM_E_NOMEM. On failure nothing
 * is registered. */
int sysx_add(uint32_t module, struct bpf_program *prog, const uint32_t *nrs, size_t n,
	     struct sysx_reg **out);

/* Unregisters r (NULL: nothing), from sysx_add, sysx_add_compat or the
 * attaches: its numbers are no longer dispatched (its tracepoints
 * detached) once this returns; the last dispatcher registration detaches
 * the dispatcher. */
void sysx_del(struct sysx_reg *r);

struct bpf_link;
/* What a module calls once its skeleton is loaded (after sysx_prepare):
 * with tp loaded, attaches it to the tracepoint of each of the n calls (a
 * call whose tracepoint this kernel lacks is skipped: it has no such call);
 * else sysx_add(module, btf) with the calls' numbers, and when that fails (any
 * failure but YM_E_INVAL) attaches btf itself. Sets *reg (tracepoints or
 * dispatcher) or *link (btf attached alone), never both. Returns 0,
 * YM_E_INVAL, YM_E_UNSUPPORTED (no tracepoint could be attached), or the
 * negative errno of a refused attach (the module's start fails as it did
 * when it attached its program itself). */
int sysx_attach(uint32_t module, struct bpf_program *tp, struct bpf_program *btf,
		const struct sysx_call *calls, size_t n, struct sysx_reg **reg,
		struct bpf_link **link);

/* Whether this kernel runs compat (ia32) system calls: x86-64 with IA32
 * emulation built and not disabled at boot (ia32_emulation=0). Asked once
 * per process (a child makes one); a module loads its compat program only
 * where this says 1. */
int sysx_compat_present(void);

/* sysx_add for module's compat program prog: nrs are ia32's numbers, prog
 * reads ia32's registers (the dispatcher tail-calls it for compat calls
 * only). The same returns. */
int sysx_add_compat(uint32_t module, struct bpf_program *prog, const uint32_t *nrs, size_t n,
		    struct sysx_reg **out);

/* What a module calls once its skeleton is loaded, for its compat program
 * prog (loaded when the load loop kept it: tr->compat): sysx_add_compat,
 * and when that fails (any failure but YM_E_INVAL) prog attached alone (it
 * then runs at every system call, returns at once for a native one and
 * does not run the next module's); sets *reg or *link, never both. Then
 * logs how the module's compat calls are watched: none in this kernel,
 * watched, or not watched (W3621, what: "file (bpf)", with the refused
 * load's or attach's error, kept in tr->compat_err). */
void sysx_compat_watch(const char *who, const char *what, uint32_t module, struct bpf_program *prog,
		       const uint32_t *nrs, size_t n, struct sysx_try *tr, struct sysx_reg **reg,
		       struct bpf_link **link);

/* Registrations now, of either kind, compat ones not counted (tests). */
int sysx_count(void);
/* Registrations now attached to syscall tracepoints (tests). */
int sysx_count_tracepoints(void);
/* Compat registrations now (tests). */
int sysx_count_compat(void);

#endif
