/* enrich: turns raw sensor messages into process_creation and
 * process_termination events: reads /proc/PID (procinfo), finds the parent
 * in the process table (falling back to /proc/PPID), hashes the image
 * (hashcache) and derives the stable ProcessGuid.
 *
 * A process that is gone before /proc could be read still yields an event
 * with what is known (pid, and the parent from its fork message). The
 * agent's own process is never reported. Not thread-safe: the collector
 * owns it. */
#ifndef YM_AGENT_ENRICH_H
#define YM_AGENT_ENRICH_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "fsjob.h"
#include "sensor.h"

#define ENRICH_GUID_LEN 36

struct enrich;

struct enrich_cfg {
	size_t proc_max_entries; /* process table caps */
	size_t proc_max_bytes;
	uint64_t proc_retain_ns; /* how long exited processes stay known */
	size_t hash_max_entries;
	uint64_t hash_max_file;	    /* bytes; bigger images get no hash */
	int termination;	    /* emit process_termination events */
	int32_t self_pid;	    /* never reported */
	const char *container_root; /* the container runtimes' files are read
				     * under it (ctrimage.h); NULL: / */
	struct fsjob *fsj;	    /* executables are opened and read through it
				     * (fsjob.h; borrowed); NULL: on the caller's thread */
};

struct enrich_stats {
	uint64_t exec_events, exit_events, partial; /* partial: /proc was gone */
	uint64_t sys_events; /* privilege change, ptrace, module and bpf load */
	uint64_t parent_from_table, parent_from_proc, hash_hits, hash_misses;
	uint64_t hash_held;	 /* hashes given up: the file's server held the open or a read */
	uint64_t fill_from_proc; /* enrich_proc_fill: processes read from /proc, then kept */
	size_t table_entries;
};

/* Reads the boot id and fills the process table from /proc. Returns 0,
 * YM_E_IO (no boot id) or YM_E_NOMEM. */
int enrich_new(const struct enrich_cfg *cfg, struct enrich **out);
void enrich_free(struct enrich *en);

/* Handles one sensor message. When it yields an event, fills *ev (whose
 * strings borrow from en and stay valid until the next call) and returns 1;
 * returns 0 when there is nothing to report (fork, the agent itself, an
 * unknown process's exit). */
int enrich_msg(struct enrich *en, const struct sensor_msg *m, struct event *ev);

/* family_env.proc_fill (family.h): adds Image, CommandLine, ProcessGuid of
 * the process pid at ev->ts_ns to ev: from the process table when the
 * process was alive then (an exited one whose exit came after ts_ns; the
 * program before its exec when the exec came after ts_ns), else the live
 * process from /proc (then with User and UserId too, and the process is
 * put in the table). arg is the struct enrich. Strings stay valid until
 * the next call. Returns 1 when pid was known, else 0 (ev unchanged). */
int enrich_proc_fill(void *arg, int32_t pid, struct event *ev);

/* family_env.user_name (family.h): the user name of uid from the agent's
 * cache, valid until the next call, or NULL. arg is the struct enrich. */
const char *enrich_user_name(void *arg, uint32_t uid);

/* Forgets exited processes older than the retention. Call now and then. */
void enrich_tick(struct enrich *en);

void enrich_stats(const struct enrich *en, struct enrich_stats *out);

/* ProcessGuid of (pid, start_time) on the boot boot_id: the first 16 bytes
 * of SHA-256("<boot_id>:<pid>:<start_time>") as 8-4-4-4-12 hex, into out
 * (ENRICH_GUID_LEN + 1 bytes). Returns 0 or YM_E_CRYPTO. */
int enrich_guid(const char *boot_id, int32_t pid, uint64_t start_time,
		char out[ENRICH_GUID_LEN + 1]);

#endif
