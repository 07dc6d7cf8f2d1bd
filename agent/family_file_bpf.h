/* family_file_bpf: file family, mode "bpf" (bpf/file.bpf.c, bpf/file.h):
 * path syscalls seen at sys_exit, absolute paths filtered in the kernel by
 * prefix, every event filtered again exactly (family_file_watch) here. */
#ifndef YM_AGENT_FAMILY_FILE_BPF_H
#define YM_AGENT_FAMILY_FILE_BPF_H

#include "family.h"

extern const struct family_ops family_file_bpf_ops;

#endif
