/* sensor: the process event source behind an ops table: the eBPF sensor
 * (sensor_bpf.c) and the netlink proc connector (sensor_netlink.c), chosen
 * at start (sensor_table, best first). A sensor reports facts (pid, parent,
 * time, and with eBPF everything the kernel knew at the event, in
 * sensor_msg.k); enrichment from the process table, /proc where the sensor
 * could not tell, and hashes happens in enrich.c, outside the sensor.
 *
 * The collector owns the sensor: poll the fd it gives for readability, then
 * call poll() to drain what is ready. Not thread-safe. */
#ifndef YM_AGENT_SENSOR_H
#define YM_AGENT_SENSOR_H

#include <stddef.h>
#include <stdint.h>

enum sensor_msg_type {
	/* a new process (not a thread); the eBPF sensor leaves out children
	 * sharing their parent's memory (vfork, posix_spawn): their EXEC, or
	 * their EXIT with never_execd, comes instead */
	SENSOR_MSG_FORK = 1,
	SENSOR_MSG_EXEC = 2,
	SENSOR_MSG_EXIT = 3, /* a process (thread group leader) exited */
	/* eBPF sensor only: one syscall, seen at its exit */
	SENSOR_MSG_PRIV = 4,   /* setuid family, capset (successful) */
	SENSOR_MSG_PTRACE = 5, /* ptrace attach or seize (any result) */
	SENSOR_MSG_MODULE = 6, /* init_module / finit_module (any result) */
	SENSOR_MSG_BPF = 7,    /* bpf(BPF_PROG_LOAD) (any result) */
	/* netlink sensor only: the process's real uid changed (sensor_msg.uid);
	 * no event of its own (the eBPF sensor sends SENSOR_MSG_PRIV) */
	SENSOR_MSG_UID = 8,
};

/* what sensor_kinfo.have holds */
#define SENSOR_K_CREDS	 0x01u /* uid ... sessionid */
#define SENSOR_K_START	 0x02u /* start_time, parent_start_time */
#define SENSOR_K_IMAGE	 0x04u
#define SENSOR_K_CMDLINE 0x08u
#define SENSOR_K_CWD	 0x10u
#define SENSOR_K_EXE_ID	 0x20u /* exe_* file identity */
#define SENSOR_K_CGROUP	 0x40u

/* What an eBPF sensor read in the kernel at the moment of the event. All
 * strings are NUL-terminated, borrowed from the sensor and valid during the
 * callback only; NULL or empty when unknown. */
struct sensor_kinfo {
	unsigned have; /* SENSOR_K_* */
	uint64_t start_time, parent_start_time; /* clock ticks since boot (/proc stat 22) */
	uint32_t uid, gid, euid, egid;
	uint32_t loginuid, sessionid; /* UINT32_MAX: unset */
	uint64_t cgroup_id;
	const char *image, *cmdline, *cwd, *tty, *container_id, *comm;
	size_t image_len, cmdline_len, cwd_len;
	int cmdline_truncated; /* argv longer than the kernel-side bound */
	int image_deleted;     /* the executable had no link left (deleted or memfd) */
	int image_memfd;       /* executed from a memfd (memory, no file) */
	int never_execd;       /* EXIT: not exec'd since its fork (runs its parent's image) */
	uint64_t exe_dev, exe_ino, exe_size; /* exe_dev as st_dev */
	int64_t exe_mtime_s, exe_mtime_ns, exe_ctime_s, exe_ctime_ns;
	/* EXEC (bpf): which of stdin, stdout, stderr are TCP or UDP sockets
	 * (bit 0, 1, 2), and the first one's: protocol, family, local port,
	 * remote address and port */
	unsigned stdio_inet;
	uint8_t stdio_proto;
	uint16_t stdio_af, stdio_lport, stdio_rport;
	uint8_t stdio_raddr[16];
	/* syscall messages */
	uint32_t sys_nr;
	/* how the call was made: 0 a 64-bit call, 1 a 32-bit program's, 2 int
	 * 0x80 from 64-bit code (SENSOR_ABI_*) */
	unsigned sys_abi;
	int64_t sys_ret;
	uint64_t sys_args[3];
	uint64_t cap_eff;
	uint32_t bpf_prog_type, bpf_insn_cnt;
	const char *bpf_name;
	const char *module_path, *module_params; /* finit_module's file; parameters */
};

#define SENSOR_ABI_NATIVE 0u
#define SENSOR_ABI_IA32	  1u
#define SENSOR_ABI_INT80  2u

struct sensor_msg {
	enum sensor_msg_type type;
	int32_t pid;		      /* process (tgid) */
	int32_t ppid;		      /* parent's tgid for FORK (and EXIT when known), else 0 */
	uint64_t ts_ns;		      /* wall clock, ns since the epoch */
	uint32_t exit_code;	      /* as wait(2) status */
	uint32_t uid;		      /* UID: the new real uid */
	const struct sensor_kinfo *k; /* NULL from the netlink sensor */
};

struct sensor_stats {
	uint64_t msgs;	    /* messages received */
	uint64_t overruns;  /* times the kernel dropped messages (ENOBUFS) */
	uint64_t lost;	    /* messages the kernel dropped, where it tells (else 0) */
	uint64_t malformed; /* messages ignored as malformed or foreign */
	uint64_t partial;   /* messages delivered without some field (e.g. argv unreadable) */
};

struct sensor;

struct sensor_ops {
	const char *name; /* "bpf", "netlink": reported as "process=<name>" */
	/* 0: poll() when fd() is readable; else also at least every this many
	 * ms (the eBPF ring buffer wakes the reader only for big backlogs) */
	unsigned poll_interval_ms;
	/* Starts capturing. Returns 0, YM_E_AUTH (missing privilege),
	 * YM_E_UNSUPPORTED or YM_E_IO. */
	int (*start)(struct sensor **out);
	/* The descriptor to wait on for readability. */
	int (*fd)(const struct sensor *s);
	/* Drains ready messages without blocking, calling cb for each (max
	 * messages at most). Returns the number handled or a negative error. */
	int (*poll)(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		    void *arg);
	/* NULL, or for a sensor with poll_interval_ms: on = 1 when the caller
	 * stops its timer polls (nothing came for a while): the next message
	 * then makes fd() readable. The caller polls once more right after
	 * (a message that came before is not announced). on = 0: the timer
	 * polls go on (a message came). */
	void (*idle)(struct sensor *s, int on);
	/* NULL, or at the stop, before the last polls: the kernel stops
	 * producing (the programs are detached) while what its buffer holds
	 * stays readable, so the last polls end with the buffer empty. */
	void (*quiesce)(struct sensor *s);
	void (*stats)(struct sensor *s, struct sensor_stats *out);
	void (*stop)(struct sensor *s);
};

extern const struct sensor_ops sensor_netlink_ops;
extern const struct sensor_ops sensor_bpf_ops; /* builds with eBPF (YM_HAVE_BPF) only */
/* sensor_bpf_ops only: how a started sensor's exec program reads the
 * paths' dentries and mounts, for logs and tests: "direct loads"
 * (bpf_rdonly_cast, kernel 6.2+) or "helper reads" (a static string). */
const char *sensor_bpf_reads(const struct sensor *s);
/* Tests: 0 makes the next starts of sensor_bpf_ops use helper reads (the
 * fallback) at once, 1 (the default) lets them try direct loads first.
 * Not thread-safe: set it before starting. */
void sensor_bpf_direct_loads(int allow);
/* NULL-terminated, best first: bpf (when built with eBPF), netlink. */
extern const struct sensor_ops *const sensor_table[];
/* The sensor named name, or NULL. */
const struct sensor_ops *sensor_find(const char *name);

#endif
