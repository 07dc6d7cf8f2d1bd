/* privsep: the root agent's side of privilege separation (docs/internals/
 * agent.md, "Privilege separation"). All network code (libcurl, TLS, the
 * server's JSON) runs in one unprivileged "uplink process": yamori-agent
 * re-executed as `yamori-agent uplink-child`, which drops to an
 * unprivileged user, every capability and a seccomp filter before it reads
 * anything (uplinkd.c). It talks to the root agent over two socketpairs
 * (psframe.h): the uplink channel (batches out, acknowledgements back) and the
 * command channel (signed commands in, results out). The root keeps the
 * spool, the sequence numbers, command verification and execution.
 *
 * struct privsep starts that process on demand, hands each of the two root
 * threads its own descriptor, and when a channel breaks kills the process;
 * the next privsep_channel starts a new one after a backoff (100 ms doubling
 * to 30 s; reset after 60 s of life). Thread-safe. */
#ifndef YM_AGENT_PRIVSEP_H
#define YM_AGENT_PRIVSEP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PRIVSEP_UPLINK 0 /* channel: batches and acknowledgements */
#define PRIVSEP_CMD    1 /* channel: commands and results */

/* descriptors the uplink process finds its channels on */
#define PRIVSEP_FD_UPLINK 3
#define PRIVSEP_FD_CMD	  4

struct privsep;

struct privsep_cfg {
	const char *server; /* https://HOST:PORT, copied */
	/* PEM blobs, copied (the key copy is wiped on privsep_free) */
	const void *ca, *cert, *key;
	size_t ca_len, cert_len, key_len;
	uid_t uid; /* unprivileged user and group of the uplink process; never 0 */
	gid_t gid;
	int wait_s;		/* command long-poll wait, <= 30 */
	const char *log_level;	/* passed on: "error", "warn", "info" or "debug" */
	const atomic_int *stop; /* borrowed: waits give up when non-zero */
};

/* Copies cfg and opens /proc/self/exe (so the same binary is re-executed
 * even if the file is replaced). Starts nothing yet. Returns 0, YM_E_INVAL
 * (uid or gid 0, missing blob), YM_E_IO or YM_E_NOMEM. */
int privsep_new(const struct privsep_cfg *cfg, struct privsep **out);

/* Shuts both channels down (after *stop was set): every thread waiting on
 * one of them wakes at once, the uplink process sees the end and exits. */
void privsep_shutdown(struct privsep *ps);

/* Kills the uplink process (if any), reaps it and frees ps. */
void privsep_free(struct privsep *ps);

/* Gives the caller its own descriptor (a dup: the caller closes it) of
 * channel ch (PRIVSEP_UPLINK or PRIVSEP_CMD) of the running uplink process,
 * starting one first if none runs (after the restart backoff). *gen names
 * that process for privsep_fail. Returns 0, YM_E_NOTFOUND (*stop set while
 * waiting), YM_E_IO (could not start one: logged, the backoff grows). */
int privsep_channel(struct privsep *ps, int ch, int *fd, uint64_t *gen);

/* The channel of process gen broke (why: for the log, static or escaped
 * text). Kills it if it still runs, reaps it and logs its exit status. A gen
 * that is no longer current is ignored. */
void privsep_fail(struct privsep *ps, uint64_t gen, const char *why);

/* The pid of the running uplink process, 0 if none. */
pid_t privsep_pid(struct privsep *ps);
/* How many uplink processes were started so far. */
uint64_t privsep_starts(struct privsep *ps);

/* Looks up user name for the uplink process: its uid and primary gid.
 * "nobody" falls back to 65534:65534 when the user database lacks it.
 * Returns 0, YM_E_NOTFOUND or YM_E_INVAL (the user is root or gid 0). */
int privsep_user(const char *name, uid_t *uid, gid_t *gid);

/* In the uplink process, still root, before anything untrusted is read:
 * drops the capability bounding set, supplementary groups, gid and uid (all
 * of real, effective, saved), every capability (permitted, effective,
 * inheritable, ambient), sets no_new_privs and makes the process
 * non-dumpable, then checks that regaining root fails. Returns 0 or
 * YM_E_AUTH (something could not be dropped: the caller must exit). */
int privsep_drop(uid_t uid, gid_t gid);

/* Installs the uplink process's seccomp filter (libseccomp): the system
 * calls libcurl, OpenSSL, the resolver and glibc threads need; files only
 * read-only; new threads but no new processes; no exec, ptrace, mount,
 * kill of others. Anything else kills the process (SIGSYS). Returns 0,
 * YM_E_UNSUPPORTED (built without libseccomp) or YM_E_IO. */
int privsep_seccomp(void);

#endif
