/* family_file_bpf: file family, mode "bpf" (bpf/file.bpf.c, bpf/file.h):
 * path syscalls seen at sys_exit, absolute paths filtered in the kernel by
 * prefix, every event filtered again exactly (family_file_watch) here. */
#ifndef YM_AGENT_FAMILY_FILE_BPF_H
#define YM_AGENT_FAMILY_FILE_BPF_H

#include "family.h"

extern const struct family_ops family_file_bpf_ops;

/* How the started module reads the "r:" check's inode: "direct loads" or
 * "helper reads" (the fallback where bpf_rdonly_cast is refused). */
const char *family_file_bpf_reads(const struct family *f);

/* Tests: 0 makes the next starts read through the helper (the fallback)
 * at once, 1 (the default) lets them try direct loads first. Not
 * thread-safe: set it before starting. */
void family_file_bpf_direct_loads(int allow);

#endif
