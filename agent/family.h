/* family: telemetry families other than processes (network, dns, file,
 * auth). Each mode of each family is one module behind struct family_ops
 * (family_<name>_<mode>.c, e.g. family_net_bpf.c, family_net_sockdiag.c,
 * family_file_fanotify.c), listed in the registration table families.c in
 * preference order. At start the collector picks, per family, the first mode
 * whose start() succeeds, or the mode forced with `--mode FAMILY=MODE`, and
 * reports the choice (agent_status event, `yamori agents`).
 *
 * A module builds complete events itself (the process sensor's raw-message
 * path in sensor.h/enrich.c is for processes only). The collector owns every
 * family instance: it waits on fd() for readability and calls poll(). Not
 * thread-safe. */
#ifndef YM_AGENT_FAMILY_H
#define YM_AGENT_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "fsjob.h"

/* What the collector lends a family module; all borrowed. */
struct family_env {
	/* Adds the process context of pid at ev's time (ev->ts_ns: set it
	 * first) to ev: Image, ProcessGuid, User, UserId, CommandLine where
	 * known (from the agent's process table, which keeps an exited
	 * process and the program before an exec for the events older than
	 * them; else /proc). The strings stay valid until the next call.
	 * Returns 1 when the process was known, 0 otherwise (ev unchanged). */
	int (*proc_fill)(void *arg, int32_t pid, struct event *ev);
	/* The user name of uid (the agent's cache of the passwd database),
	 * valid until the next call, or NULL when it has none. May be NULL
	 * (no names). For a module whose kernel record carries the uid at the
	 * event: exact where the process table's is not (a setuid read before
	 * an event that came earlier). arg as for proc_fill. */
	const char *(*user_name)(void *arg, uint32_t uid);
	void *arg;
	int32_t self_pid; /* the agent: never reported */
	/* 1 when a process sensor (bpf, netlink) runs: then no module may
	 * report process_creation events, which would duplicate the sensor's
	 * (auditd's EXECVE-derived ones are its fallback only) */
	int process_sensor;
	/* auditd family: 1 = add the execve audit rule even though a process
	 * sensor runs (`--audit-exec`, for `service: auditd` rules on EXECVE
	 * records). 0 (default): the rule is added only when process_sensor is 0
	 * (the fallback); with a sensor every exec would cost 5 to 7 audit
	 * records, each an event (docs/sensors.md, "Audit") */
	int audit_exec;
	/* file family: paths to watch (NULL-terminated; NULL = the defaults of
	 * docs/sensors.md) */
	const char *const *watch_paths;
	/* The collector's bounded file system calls (fsjob.h): a module that
	 * stats, opens or resolves a path or file a user can choose does it
	 * through this. NULL: on the collector's thread. */
	struct fsjob *fsj;
	/* The agent's state directory (0700, root's; valid until the module
	 * stops), for what a module must remember across an agent that was
	 * killed: the auditd family's marker that it enabled kernel auditing
	 * (docs/sensors.md, "Audit"). NULL: nothing is remembered (tests,
	 * other callers). */
	const char *state_dir;
	/* The agent's server URL (https://HOST:PORT), or NULL: its connections
	 * there are never reported. sock_diag, which cannot name the process
	 * of a connection it sees only at its end, skips those to HOST:PORT
	 * when HOST is an address (or localhost); else it learns the server's
	 * address from the agent's own sockets in its dumps. */
	const char *server_url;
	/* network family, sock_diag mode: 1 = the dumps only, without the
	 * kernel's reports of sockets' ends (`--sock-diag-dumps-only`: on a
	 * host taking tens of thousands of connections a second, where each
	 * report costs the kernel a work item; connections shorter than a
	 * dump's interval are then not seen) */
	int sockdiag_dumps_only;
};

struct family_stats {
	uint64_t events;   /* events emitted */
	uint64_t drops;	   /* events lost (overrun, shed, unreadable), counted exactly where known */
	uint64_t overruns; /* times the source reported an overflow */
};

struct family;

/* emit: hands one finished event to the collector (which assigns seq and
 * batches it). ev's strings need to stay valid only during the call. Returns
 * 0, or non-zero when the collector shed it (the module counts a drop). */
typedef int (*family_emit_fn)(void *arg, const struct event *ev);

struct family_ops {
	const char *family; /* "network", "dns", "file", "auth" */
	const char *mode;   /* "bpf", "sock_diag", "fanotify", "audit", "journal", "utmp", ... */
	/* Starts capturing. Returns 0, YM_E_AUTH (missing privilege),
	 * YM_E_UNSUPPORTED (kernel refuses this mode), YM_E_IO, YM_E_NOMEM. */
	int (*start)(const struct family_env *env, struct family **out);
	/* The descriptor to wait on for readability (or -1 for a module that
	 * only works on tick()). */
	int (*fd)(const struct family *f);
	/* Drains ready input without blocking, emitting at most max events.
	 * Returns the number handled, or a negative error when the module failed
	 * for good (the collector then stops it and reports it). */
	int (*poll)(struct family *f, int max, family_emit_fn emit, void *arg);
	/* Called about once a second (log files are followed here). May be NULL. */
	int (*tick)(struct family *f, family_emit_fn emit, void *arg);
	/* At the stop, after the last poll: emits what still waits for more
	 * input (a query's answer, the rest of an audit event) as it is, as its
	 * timeout would, and what the kernel still counts (repeated flows'
	 * pending counts), as the next tick would. Returns the number emitted
	 * or a negative error (what was held is lost: logged). May be NULL. */
	int (*flush)(struct family *f, family_emit_fn emit, void *arg);
	/* At the stop, before the last polls: the kernel stops producing (the
	 * module's programs are detached) while what its buffer holds stays
	 * readable, so the last polls end with the buffer empty. May be NULL
	 * (the last polls are then bounded in time: the buffer may keep
	 * filling). */
	void (*quiesce)(struct family *f);
	void (*stats)(const struct family *f, struct family_stats *out);
	void (*stop)(struct family *f);
};

/* The registration table (families.c): every module, grouped by family in
 * preference order, NULL-terminated. */
extern const struct family_ops *const family_table[];

#endif
