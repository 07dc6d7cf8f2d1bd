/* procinfo: reading one process's facts from /proc/PID (exe, cmdline, cwd,
 * stat, status). Every file is read into a fixed buffer with a hard cap and
 * parsed through bounds checks: /proc text is attacker-influenced (comm and
 * argv are chosen by the process). Thread-safe (no shared state). */
#ifndef YM_AGENT_PROCINFO_H
#define YM_AGENT_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

#define PROCINFO_CMDLINE_MAX 32768 /* bytes of joined argv kept; longer is truncated */
#define PROCINFO_PATH_MAX    4096
#define PF_KTHREAD_FLAG	     0x00200000u /* task flags (stat field 9): kernel thread */

/* what procinfo_read managed to read */
#define PROCINFO_HAVE_STAT    0x01u
#define PROCINFO_HAVE_IMAGE   0x02u
#define PROCINFO_HAVE_CMDLINE 0x04u
#define PROCINFO_HAVE_CWD     0x08u
#define PROCINFO_HAVE_IDS     0x10u

struct procstat {
	int32_t pid;
	int32_t ppid;	     /* field 4 */
	uint32_t tty_nr;     /* field 7: the controlling terminal's device (0: none) */
	uint32_t flags;	     /* field 9 */
	uint64_t start_time; /* field 22: clock ticks since boot */
};

struct procinfo {
	unsigned have; /* PROCINFO_HAVE_* */
	struct procstat st;
	uint32_t uid, gid;   /* real ids from status */
	uint32_t euid, egid; /* effective ids from status */
	size_t image_len, cmdline_len, cwd_len;
	char image[PROCINFO_PATH_MAX];
	char cwd[PROCINFO_PATH_MAX];
	char cmdline[PROCINFO_CMDLINE_MAX + 1];
};

/* Parses the text of /proc/PID/stat (n bytes, need not be NUL-terminated).
 * comm may hold spaces and parentheses: fields are counted after the last
 * ')'. Returns 0 and fills *out, or YM_E_PARSE. */
int procinfo_parse_stat(const char *text, size_t n, struct procstat *out);

/* Parses the real and effective uid and gid (each line's first and second
 * numbers) from the text of /proc/PID/status. Returns 0, or YM_E_PARSE when
 * either line is missing or malformed. */
int procinfo_parse_ids(const char *text, size_t n, uint32_t *uid, uint32_t *gid, uint32_t *euid,
		       uint32_t *egid);

/* The container id of process pid: the first 64-hex run in /proc/PID/cgroup
 * (every hierarchy: a cgroup v1 host's containers are in /docker/<id> of
 * each v1 hierarchy, v2's in docker-<id>.scope and the like; kpath.h's
 * rule). Returns 1 and fills out (64 digits and a NUL), else 0. */
int procinfo_read_container(int32_t pid, char out[65]);

/* Terminal names as the kernel gives them (tty->name: "pts3", "tty1",
 * "ttyS0"), from /proc/tty/drivers: each line's /dev name, major and minor
 * range. */
#define PROCINFO_TTY_DRIVERS 64
struct procinfo_ttydrv {
	char name[24];
	uint32_t major, minor_lo, minor_hi;
	uint8_t numbered; /* a range of minors: name + index */
};

/* Parses the text of /proc/tty/drivers into tab (at most max); lines that do
 * not parse, or name no /dev node of one component, are skipped. Returns
 * the count. */
size_t procinfo_parse_tty_drivers(const char *text, size_t n, struct procinfo_ttydrv *tab,
				  size_t max);

/* The name of terminal device tty_nr (stat field 7's encoding) in tab.
 * Returns its length (out NUL-terminated), or 0 when no driver has it. */
size_t procinfo_tty_name(const struct procinfo_ttydrv *tab, size_t count, uint32_t tty_nr,
			 char *out, size_t outsz);

/* Joins a NUL-separated argv block (p, n bytes) in place with single spaces
 * and drops trailing NULs; p[result] is set to NUL, so p needs n + 1 bytes.
 * Returns the joined length. */
size_t procinfo_join_cmdline(char *p, size_t n);

/* Reads at most cap bytes of the file at path (a /proc file) into p.
 * Returns 0 and *n, YM_E_NOTFOUND (gone) or YM_E_IO. */
int procinfo_slurp_file(const char *path, char *p, size_t cap, size_t *n);

/* Reads /proc/PID/stat. Returns 0, YM_E_NOTFOUND (no such process), YM_E_IO
 * or YM_E_PARSE. */
int procinfo_read_stat(int32_t pid, struct procstat *out);

/* Reads the audit login uid and login session of pid (/proc/PID/loginuid
 * and sessionid: set at a login by pam_loginuid, inherited by every
 * process the session starts, kept across su and sudo; 4294967295 when
 * unset). Returns 0, YM_E_NOTFOUND (no such process, or a kernel without
 * audit support), YM_E_IO or YM_E_PARSE. */
int procinfo_read_login(int32_t pid, uint32_t *loginuid, uint32_t *sessionid);

/* Reads everything it can about pid into *out (caller-owned, ~40 KiB) and
 * sets out->have to what was read; a process that exits half way leaves the
 * rest unset. Returns 0 when at least stat was read, else YM_E_NOTFOUND. */
int procinfo_read(int32_t pid, struct procinfo *out);

#endif
