/* proctable: the agent's table of processes it has seen, keyed by pid and
 * start time, so that an event can name its parent's image, command line
 * and GUID even after the parent exited (or its pid was reused).
 *
 * Exited entries stay for retain_ns after their exit. The table is bounded
 * by entry count and by string bytes; at either cap the entry put least
 * recently is evicted (live or not), unless it was found since it was put
 * or last spared: then it is spared once and the next is looked at (second
 * chance, an approximation of least recently used), so the table never
 * fails for lack of room unless a single entry is bigger than the byte cap.
 *
 * Not thread-safe: owned by the collector thread. Pointers returned by
 * proctable_find stay valid until the next proctable_put/expire/free. */
#ifndef YM_AGENT_PROCTABLE_H
#define YM_AGENT_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>

#define PROCTABLE_GUID_LEN 36
#define PROCTABLE_UID_NONE UINT32_MAX /* proc_entry.uid not known */
#define PROCTABLE_CONTAINER_MAX 64	   /* bytes of a container id */

struct proctable;

struct proc_entry {
	int32_t pid, ppid;
	uint32_t uid; /* real uid as last seen, or PROCTABLE_UID_NONE */
	/* string lengths (the byte cap keeps them far below 4 GiB) */
	uint32_t image_len, cmdline_len, prev_image_len, prev_cmdline_len;
	uint64_t start_time; /* ticks since boot */
	uint64_t exit_ns;    /* 0 while alive; else monotonic ns of the exit */
	/* times in the events' clock (ns since the epoch, the kernel's time
	 * of the record), 0 when not known: of the exit, and of the exec that
	 * set image (proctable_exec) */
	uint64_t exit_ts, exec_ts;
	const char *image;   /* owned by the table, NUL-terminated */
	const char *cmdline; /* owned by the table */
	/* what the process ran before that exec (a forked child: its parent's
	 * program), for an event of the process older than exec_ts; NULL when
	 * not known */
	const char *prev_image, *prev_cmdline;
	/* the container the process runs in (its id, NUL-terminated), as
	 * its exec or the read of /proc that entered it found it, inherited
	 * at a fork; NULL: none known */
	const char *container_id;
	char guid[PROCTABLE_GUID_LEN + 1];
};

/* Creates a table. Returns 0, YM_E_INVAL (zero caps, max_bytes over 4 GiB)
 * or YM_E_NOMEM. */
int proctable_new(size_t max_entries, size_t max_bytes, uint64_t retain_ns, struct proctable **out);
void proctable_free(struct proctable *t);

/* Inserts the process (pid, start_time), or replaces the entry with that key
 * (marking it alive again). uid: its real uid, or PROCTABLE_UID_NONE. Strings
 * are copied. Returns 0, YM_E_TOOBIG (the strings alone exceed the byte cap)
 * or YM_E_NOMEM; the table is unchanged on error. */
int proctable_put(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid, uint32_t uid,
		  const char *guid, const char *image, size_t image_len, const char *cmdline,
		  size_t cmdline_len);

/* proctable_put of an exec seen at exec_ts (the events' clock; 0: not an
 * exec, as proctable_put) of a process in container (its id, at most
 * PROCTABLE_CONTAINER_MAX bytes, NUL-terminated; NULL or "": none): an
 * entry of the same key keeps its strings as what the process ran before
 * (prev_image, prev_cmdline; counted in the byte cap, as is the container
 * id). YM_E_INVAL: a longer container id. */
int proctable_exec(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid,
		   uint32_t uid, const char *guid, const char *image, size_t image_len,
		   const char *cmdline, size_t cmdline_len, const char *container,
		   uint64_t exec_ts);

/* proctable_put of a forked child (pid, start_time) whose image, command
 * line and uid are its parent's: parent, an entry proctable_find returned for
 * this table, shares its strings (no copy). Returns as proctable_put, or
 * YM_E_INVAL when parent is no entry of t. */
int proctable_put_fork(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid,
		       const char *guid, const struct proc_entry *parent);

/* Finds the entry for pid with the greatest start time <= max_start (pass
 * UINT64_MAX for the newest) and marks it recently used. NULL if none. */
const struct proc_entry *proctable_find(struct proctable *t, int32_t pid, uint64_t max_start);

/* Marks the newest live entry of pid as exited at now_ns (monotonic: its
 * retention starts) and exit_ts (the exit's time in the events' clock, 0
 * when not known) and returns it, or NULL when the table does not know pid. */
const struct proc_entry *proctable_exit(struct proctable *t, int32_t pid, uint64_t now_ns,
					uint64_t exit_ts);

/* Sets the real uid of the newest live entry of pid (a setuid call seen)
 * and returns the entry, or NULL when the table does not know pid. */
const struct proc_entry *proctable_set_uid(struct proctable *t, int32_t pid, uint32_t uid);

/* Drops exited entries older than retain_ns at now_ns. Returns how many. */
size_t proctable_expire(struct proctable *t, uint64_t now_ns);

size_t proctable_count(const struct proctable *t);
/* Entries evicted at a cap (not by expiry) since creation. */
uint64_t proctable_evictions(const struct proctable *t);

#endif
