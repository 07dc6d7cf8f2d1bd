/* sysx.h: the system call exit dispatcher (sysx.bpf.c, loader agent/sysx.c),
 * shared by both sides. Fixed-width types only. */
#ifndef YM_AGENT_BPF_SYSX_H
#define YM_AGENT_BPF_SYSX_H

/* system call numbers a module can watch: below this (x86-64 and arm64's
 * highest are near 460) */
#define SYSX_NR_MAX 512
/* The modules that watch system calls, each with a fixed slot in the
 * dispatcher's program array for its 64-bit program and one for its compat
 * (ia32) program, and a bit in the dispatcher's table: a call's number
 * (a compat one's at SYSX_NR_MAX + its ia32 number) -> the modules
 * watching it, a mask. The dispatcher tail-calls the first watcher of a
 * number; each watcher, done, tail-calls the next (sysx_maps.h:
 * sysx_next), so two modules can watch one number (the process sensor and
 * the file family both watch open). */
#define SYSX_MOD_PROC	     0
#define SYSX_MOD_NET	     1
#define SYSX_MOD_FILE	     2
#define SYSX_MODS	     3
#define SYSX_SLOT(m, compat) ((compat) ? SYSX_MODS + (m) : (m))
#define SYSX_PROGS	     (2 * SYSX_MODS)
#define SYSX_KEY(nr, compat) ((compat) ? SYSX_NR_MAX + (nr) : (nr))
#define SYSX_KEYS	     (2 * SYSX_NR_MAX)

#endif
