/* sensors_process_bpf_compat: the eBPF process sensor's system call events
 * made as 32-bit (compat) system calls, int 0x80 from a 64-bit process, as
 * an attacker would to pass monitors that watch the 64-bit table only
 * (agent/sysx.h, proc_sys_compat): setgid and setreuid with 16-bit ids,
 * unshare, ptrace seize, an open of another process's memory file, a bpf
 * program load, a module load attempt and setuid, each reported as the
 * 64-bit call would be (its number, its arguments), marked as int 0x80
 * from 64-bit code (SyscallAbi int80); and a setuid32 from 32-bit code, as
 * a 32-bit program makes it (SyscallAbi ia32). And nothing else: ia32
 * numbers that are 64-bit watched ones (stat is setgid's, uname setfsuid's,
 * getitimer setuid's) are no events. Twice: with the 64-bit calls on the
 * syscall tracepoints (where this kernel has them), then through the
 * shared dispatcher. Root, x86-64 with IA32 emulation; else 77. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "i80.h"
#include "stest.h"

#if defined(YM_HAVE_BPF) && defined(__x86_64__)
#include "bpf/proc.h"
#include "sysx.h"

/* A system call made from 32-bit code, as a 32-bit program makes it: this
 * 64-bit process switches to the 32-bit code segment (__USER32_CS, 0x23)
 * with a far return into code written below 2 GiB, makes call nr with
 * ebx = a0 by int 0x80 there, and comes back to 64-bit code (__USER_CS)
 * the same way; the stack is switched to low memory meanwhile (esp).
 * Returns the call's result. The bytes, at base:
 *   0: push rbx; mov [save], rsp; mov esp, stack; push 0x23; push base+23;
 *      retfq
 *  23: (32-bit) mov eax, nr; mov ebx, a0; int 0x80; mov esi, eax;
 *      push 0x33; push base+45; retf
 *  45: (64-bit) mov rsp, [save]; movsxd rax, esi; pop rbx; ret */
static long ia32_call(long nr, uint32_t a0)
{
	/* clang-format off */
	static const uint8_t code[58] = {
	    0x53, 0x48, 0x89, 0x24, 0x25, 0, 0, 0, 0, 0xBC, 0, 0, 0, 0, 0x6A, 0x23, 0x68, 0, 0, 0, 0,
	    0x48, 0xCB,
	    0xB8, 0, 0, 0, 0, 0xBB, 0, 0, 0, 0, 0xCD, 0x80, 0x89, 0xC6, 0x6A, 0x33, 0x68, 0, 0, 0, 0,
	    0xCB,
	    0x48, 0x8B, 0x24, 0x25, 0, 0, 0, 0, 0x48, 0x63, 0xC6, 0x5B, 0xC3};
	/* clang-format on */
	uint8_t *b = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint32_t base, v[7];
	/* where each of v goes: save twice, stack, base+23, nr, a0, base+45 */
	static const unsigned at[7] = {5, 49, 10, 17, 24, 29, 40};

	if (b == MAP_FAILED)
		return -ENOMEM;
	base = (uint32_t)(uintptr_t)b;
	v[0] = v[1] = base + 0x800;
	v[2] = base + 0x3000 - 16;
	v[3] = base + 23;
	v[4] = (uint32_t)nr;
	v[5] = a0;
	v[6] = base + 45;
	memcpy(b, code, sizeof(code));
	for (int i = 0; i < 7; i++)
		memcpy(b + at[i], &v[i], 4);
	return ((long (*)(void))(void *)b)();
}

#define WANT 8

struct want {
	enum sensor_msg_type type;
	uint32_t nr;
	uint64_t a0, a1; /* UINT64_MAX: any */
	const char *what;
	int seen;
};

struct run {
	pid_t child, target;
	struct want w[WANT];
	int other;   /* syscall messages of the child not wanted */
	int abi_bad; /* ... not marked as int 0x80 from 64-bit code */
	int bpf_ok, module_ok;
};

static void on_msg(void *arg, const struct sensor_msg *m)
{
	struct run *r = arg;
	const struct sensor_kinfo *k = m->k;
	int hit = 0;

	if (m->pid != r->child || m->type < SENSOR_MSG_PRIV || m->type > SENSOR_MSG_BPF || !k)
		return;
	for (int i = 0; i < WANT; i++) {
		struct want *w = &r->w[i];

		if (w->type != m->type || w->nr != k->sys_nr ||
		    (w->a0 != UINT64_MAX && w->a0 != k->sys_args[0]) ||
		    (w->a1 != UINT64_MAX && w->a1 != k->sys_args[1]))
			continue;
		w->seen++;
		hit = 1;
		r->abi_bad += k->sys_abi != SENSOR_ABI_INT80;
		if (m->type == SENSOR_MSG_BPF)
			r->bpf_ok = k->bpf_prog_type == 1 && k->bpf_insn_cnt == 2 && k->bpf_name &&
				    strcmp(k->bpf_name, "ym32") == 0;
		if (m->type == SENSOR_MSG_MODULE)
			r->module_ok = k->module_params && strcmp(k->module_params, "ym32=1") == 0;
		if (m->type == SENSOR_MSG_PRIV && k->sys_nr == PROC_NR_SETUID)
			hit = k->uid == 65534; /* the credentials after the call */
	}
	if (!hit) {
		fprintf(stderr, "  unwanted: type %d nr %u args %llx %llx\n", (int)m->type,
			(unsigned)k->sys_nr, (unsigned long long)k->sys_args[0],
			(unsigned long long)k->sys_args[1]);
		r->other++;
	}
}

struct ia32_seen {
	pid_t pid;
	int seen;
	unsigned abi;
};

static void on_ia32(void *arg, const struct sensor_msg *m)
{
	struct ia32_seen *is = arg;

	if (m->pid == is->pid && m->type == SENSOR_MSG_PRIV && m->k &&
	    m->k->sys_nr == PROC_NR_SETUID) {
		is->seen++;
		is->abi = m->k->sys_abi;
	}
}

/* The child's calls; exits 0, or the step that failed */
static int child_calls(pid_t target)
{
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		       -1, 0);
	uint64_t *insn;
	uint8_t *attr;
	long fd;

	if (m == MAP_FAILED)
		return 2;
	/* ia32 numbers that are watched 64-bit ones: stat (106, setgid's),
	 * uname (122, setfsuid's), getitimer (105, setuid's) */
	snprintf(m, 64, "/");
	if (i80(106, (unsigned long)m, (unsigned long)(m + 1024), 0) != 0 ||
	    i80(122, (unsigned long)(m + 1024), 0, 0) != 0 ||
	    i80(105, 0, (unsigned long)(m + 1024), 0) != 0)
		return 3;
	if (i80(46, 0, 0, 0) != 0) /* setgid16(0) */
		return 4;
	if (i80(70, 0xffff, 0, 0) != 0) /* setreuid16(-1, 0) */
		return 5;
	if (i80(310, 0x04000000, 0, 0) != 0) /* unshare(CLONE_NEWUTS) */
		return 6;
	if (i80(26, 0x4206, (unsigned long)target, 0) != 0) /* ptrace(PTRACE_SEIZE) */
		return 7;
	snprintf(m, 64, "/proc/%d/mem", (int)target);
	fd = i80(5, (unsigned long)m, O_RDONLY, 0); /* open */
	if (fd < 0)
		return 8;
	close((int)fd);
	/* bpf(BPF_PROG_LOAD): a socket filter "r0 = 0; exit", named ym32 */
	attr = (uint8_t *)(m + 2048);
	insn = (uint64_t *)(m + 4096);
	memset(attr, 0, 128);
	insn[0] = 0x00000000000000b7ull; /* BPF_ALU64 | BPF_MOV | BPF_K, r0 = 0 */
	insn[1] = 0x0000000000000095ull; /* BPF_JMP | BPF_EXIT */
	snprintf(m + 4200, 8, "GPL");
	((uint32_t *)attr)[0] = 1; /* prog_type: BPF_PROG_TYPE_SOCKET_FILTER */
	((uint32_t *)attr)[1] = 2; /* insn_cnt */
	((uint64_t *)attr)[1] = (uint64_t)(uintptr_t)insn;
	((uint64_t *)attr)[2] = (uint64_t)(uintptr_t)(m + 4200);
	memcpy(attr + 48, "ym32", 5); /* prog_name */
	fd = i80(357, 5, (unsigned long)attr, 128);
	if (fd >= 0)
		close((int)fd);
	/* init_module of nothing: refused, reported all the same */
	snprintf(m + 4300, 16, "ym32=1");
	(void)i80(128, (unsigned long)m, 0, (unsigned long)(m + 4300));
	if (i80(23, 65534, 0, 0) != 0) /* setuid16(65534) */
		return 9;
	return 0;
}

static void round_(const char *how, int tp)
{
	struct sensor *s = NULL;
	struct run r;
	int st = 0, n = 0;

	memset(&r, 0, sizeof(r));
	if (stest_start(&s) != 0) {
		CHECK(0, "%s: the sensor did not start", how);
		return;
	}
	CHECK(sysx_count_compat() == 1, "%s: %d compat registrations, not 1", how,
	      sysx_count_compat());
	CHECK(sysx_count_tracepoints() == (tp ? 1 : 0), "%s: %d tracepoint registrations", how,
	      sysx_count_tracepoints());
	(void)stest_drain(&sensor_bpf_ops, s, on_msg, &r);
	r.target = fork();
	if (r.target == 0) {
		pause();
		_exit(0);
	}
	r.child = fork();
	if (r.child == 0)
		_exit(child_calls(r.target));
	CHECK(r.target > 0 && r.child > 0, "fork");
	CHECK(waitpid(r.child, &st, 0) == r.child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "%s: the child's step %d failed (errno of the last: see strace)", how,
	      WEXITSTATUS(st));
	kill(r.target, SIGKILL);
	waitpid(r.target, NULL, 0);
	r.w[0] = (struct want){SENSOR_MSG_PRIV, PROC_NR_SETGID, 0, UINT64_MAX, "setgid16(0)", 0};
	r.w[1] = (struct want){
	    SENSOR_MSG_PRIV, PROC_NR_SETREUID, 0xffffffffull, 0, "setreuid16(-1, 0)", 0};
	r.w[2] = (struct want){SENSOR_MSG_PRIV, PROC_NR_UNSHARE,	 0x04000000,
			       UINT64_MAX,	"unshare(CLONE_NEWUTS)", 0};
	r.w[3] = (struct want){SENSOR_MSG_PTRACE,  PROC_NR_PTRACE,	   0x4206,
			       (uint64_t)r.target, "ptrace(PTRACE_SEIZE)", 0};
	r.w[4] = (struct want){SENSOR_MSG_PTRACE,
			       PROC_NR_OPEN,
			       (uint64_t)r.target,
			       1,
			       "open(/proc/PID/mem, O_RDONLY)",
			       0};
	r.w[5] = (struct want){SENSOR_MSG_BPF, PROC_NR_BPF, 5, UINT64_MAX, "bpf(BPF_PROG_LOAD)", 0};
	r.w[6] = (struct want){SENSOR_MSG_MODULE, PROC_NR_INIT_MODULE, UINT64_MAX,
			       UINT64_MAX,	  "init_module",       0};
	r.w[7] =
	    (struct want){SENSOR_MSG_PRIV, PROC_NR_SETUID, 65534, UINT64_MAX, "setuid16(65534)", 0};
	/* the records are in the ring by now; a few polls take them */
	for (int i = 0; i < 20; i++) {
		n = stest_drain(&sensor_bpf_ops, s, on_msg, &r);
		if (n < 0 || r.w[7].seen)
			break;
		usleep(50 * 1000);
	}
	(void)stest_drain(&sensor_bpf_ops, s, on_msg, &r);
	for (int i = 0; i < WANT; i++)
		CHECK(r.w[i].seen == 1, "%s: %s: %d events, not 1", how, r.w[i].what, r.w[i].seen);
	CHECK(r.abi_bad == 0, "%s: %d events not marked int 0x80 from 64-bit code", how, r.abi_bad);
	CHECK(r.bpf_ok, "%s: bpf event: prog type, insn count or name wrong", how);
	CHECK(r.module_ok, "%s: module event: parameters wrong", how);
	CHECK(r.other == 0, "%s: %d events not made (ia32 numbers taken for 64-bit ones)", how,
	      r.other);
	/* the same call from 32-bit code (a 32-bit program's): SyscallAbi ia32 */
	{
		struct ia32_seen is = {0};
		pid_t c = fork();

		if (c == 0)
			_exit(ia32_call(213, 0) == 0 ? 0 : 1); /* setuid32(0) */
		CHECK(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s: setuid32 from 32-bit code failed", how);
		is.pid = c;
		for (int i = 0; i < 20 && !is.seen; i++) {
			(void)stest_drain(&sensor_bpf_ops, s, on_ia32, &is);
			if (!is.seen)
				usleep(50 * 1000);
		}
		CHECK(is.seen == 1 && is.abi == SENSOR_ABI_IA32,
		      "%s: setuid32 from 32-bit code: %d events, abi %u (not 1, ia32)", how,
		      is.seen, is.abi);
	}
	sensor_bpf_ops.stop(s);
	CHECK(sysx_count() == 0 && sysx_count_compat() == 0, "%s: registrations left", how);
	printf("%s: %d compat calls reported as the 64-bit ones, no other\n", how, WANT);
}

int main(void)
{
	int tp;

	if (geteuid() != 0) {
		printf("SKIP: needs root (eBPF)\n");
		return 77;
	}
	if (!sysx_compat_present()) {
		printf("SKIP: no IA32 emulation in this kernel (int 0x80 refused)\n");
		return 77;
	}
	/* whether the tracepoints will be used: the first registration says */
	tp = 1;
	{
		struct sensor *s = NULL;

		if (stest_start(&s) != 0)
			return 77;
		tp = sysx_count_tracepoints() == 1;
		sensor_bpf_ops.stop(s);
	}
	round_(tp ? "tracepoints" : "dispatcher (no tracepoints here)", tp);
	if (tp) {
		sysx_allow_tracepoints(0);
		round_("dispatcher", 0);
		sysx_allow_tracepoints(1);
	}
	if (stest_fails)
		return 1;
	printf("PASS\n");
	return 0;
}
#elif defined(YM_HAVE_BPF)
int main(void)
{
	printf("SKIP: 32-bit system calls exist on x86-64 only\n");
	return 77;
}
#endif
