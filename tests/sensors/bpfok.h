/* bpfok: whether an eBPF module that did not start was refused by this
 * machine (the test skips, 77) or is itself at fault (the test fails).
 * Until 2026-11-27 every refusal was a skip, and so was a program of ours
 * that the verifier rejected: a change that broke one (the DNS skb
 * program, caught by hand) left `make check` green with the test skipped.
 *
 * A refusal is the module's when the kernel's lockdown is off and either
 * the verifier logged a rejection during the start (family modules: the
 * libbpf print callback armed by bpfok_arm sees its log), or, for the
 * process sensor (which routes libbpf's messages to its own log), the
 * kernel is one it supports (5.17+, BTF present). A missing hook, a kernel
 * without BTF, or lockdown (which takes the helpers our programs call
 * away) stay skips. */
#ifndef YM_TESTS_SENSORS_BPFOK_H
#define YM_TESTS_SENSORS_BPFOK_H

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static int bpfok_rejected;

__attribute__((format(printf, 2, 0))) static inline int bpfok_print(enum libbpf_print_level level,
								    const char *fmt, va_list ap)
{
	if (strstr(fmt, "BEGIN PROG LOAD LOG") != NULL ||
	    strstr(fmt, "program load failed") != NULL)
		bpfok_rejected = 1;
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Before a module's start: its verifier rejections are noted from now. */
static inline void bpfok_arm(void)
{
	bpfok_rejected = 0;
	libbpf_set_print(bpfok_print);
}

/* 1 when the kernel's lockdown is on (integrity or confidentiality). */
static inline int bpfok_lockdown(void)
{
	char b[128] = {0};
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");

	if (f == NULL)
		return 0;
	if (fgets(b, sizeof(b), f) == NULL)
		b[0] = '\0';
	fclose(f);
	return b[0] != '\0' && strstr(b, "[none]") == NULL;
}

/* After a family module's start failed: 1 when the verifier rejected one
 * of its programs, on a kernel without lockdown. */
static inline int bpfok_module_at_fault(void)
{
	return bpfok_rejected && !bpfok_lockdown();
}

/* After the process sensor's start failed: 1 on a kernel it supports
 * (5.17+, with BTF), without lockdown, as root. */
static inline int bpfok_process_sensor_at_fault(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (geteuid() != 0 || bpfok_lockdown() || access("/sys/kernel/btf/vmlinux", R_OK) != 0 ||
	    uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major > 5 || (major == 5 && minor >= 17);
}

#endif
