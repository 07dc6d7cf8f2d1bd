/* sysx.h: the system call exit dispatcher (sysx.bpf.c, loader agent/sysx.c),
 * shared by both sides. Fixed-width types only. */
#ifndef YM_AGENT_BPF_SYSX_H
#define YM_AGENT_BPF_SYSX_H

/* system call numbers a module can watch: below this (x86-64 and arm64's
 * highest are near 460) */
#define SYSX_NR_MAX 512
/* modules at once (the process sensor, the network and file families) */
#define SYSX_SLOTS 8

#endif
