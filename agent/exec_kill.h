/* exec_kill: the "kill" response action. The target is named by pid and
 * start time (field 22 of /proc/PID/stat); the process is pinned with a
 * pidfd first and its start time read afterwards, so a pid reused in
 * between is refused instead of killed. Thread-safe. */
#ifndef YM_AGENT_EXEC_KILL_H
#define YM_AGENT_EXEC_KILL_H

#include <stddef.h>
#include <stdint.h>

#define EXEC_KILL_WAIT_MS 5000

/* Kills process pid if its start time equals start_time: pidfd_open, read
 * the start time, pidfd_send_signal(SIGKILL), then poll the pidfd up to
 * wait_ms for the exit. A reason is written to detail (size detailsz).
 * Returns 0 (killed and exited), YM_E_INVAL (refused: pid <= 1, the agent
 * itself, a kernel thread), YM_E_STALE (refused: start time differs, the pid
 * was reused; nothing signalled), YM_E_NOTFOUND (no such process),
 * YM_E_EXPIRED (signalled but still running after wait_ms) or YM_E_IO. */
int exec_kill(int64_t pid, uint64_t start_time, int wait_ms, char *detail, size_t detailsz);

#endif
