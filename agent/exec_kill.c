#include "exec_kill.h"
#include "err.h"
#include "procinfo.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* raw syscalls: they exist on every kernel that has pidfds, whatever libc says */
static int ek_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int ek_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int exec_kill(int64_t pid, uint64_t start_time, int wait_ms, char *detail, size_t detailsz)
{
	struct procstat st;
	struct pollfd pfd;
	int fd = -1, r, k;

	if (pid <= 1 || pid > INT32_MAX) {
		snprintf(detail, detailsz, "refused: pid %lld is not a valid target",
			 (long long)pid);
		r = YM_E_INVAL;
		goto out;
	}
	if (pid == (int64_t)getpid()) {
		snprintf(detail, detailsz, "refused: pid %lld is the agent itself", (long long)pid);
		r = YM_E_INVAL;
		goto out;
	}
	fd = ek_pidfd_open((pid_t)pid);
	if (fd < 0) {
		r = errno == ESRCH ? YM_E_NOTFOUND : YM_E_IO;
		snprintf(detail, detailsz, "pidfd_open(%lld): %s", (long long)pid, strerror(errno));
		goto out;
	}
	/* The pidfd pins the process: from here on the pid cannot name another one
	 * while it lives, so the start time read now is that of the pinned one. */
	r = procinfo_read_stat((int32_t)pid, &st);
	if (r) {
		snprintf(detail, detailsz, "cannot read /proc/%lld/stat: %s", (long long)pid,
			 ym_strerror(r));
		if (r != YM_E_NOTFOUND)
			r = YM_E_IO;
		goto out;
	}
	if (st.start_time != start_time) {
		snprintf(detail, detailsz,
			 "refused: process changed (pid reused): start time %llu, expected %llu",
			 (unsigned long long)st.start_time, (unsigned long long)start_time);
		r = YM_E_STALE;
		goto out;
	}
	if (st.flags & PF_KTHREAD_FLAG) {
		snprintf(detail, detailsz, "refused: pid %lld is a kernel thread", (long long)pid);
		r = YM_E_INVAL;
		goto out;
	}
	if (ek_pidfd_signal(fd, SIGKILL) < 0) {
		r = errno == ESRCH ? YM_E_NOTFOUND : YM_E_IO;
		snprintf(detail, detailsz, "pidfd_send_signal: %s", strerror(errno));
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do {
		k = poll(&pfd, 1, wait_ms);
	} while (k < 0 && errno == EINTR);
	if (k <= 0) {
		snprintf(detail, detailsz, "SIGKILL sent to pid %lld, still running after %d ms",
			 (long long)pid, wait_ms);
		r = YM_E_EXPIRED;
		goto out;
	}
	snprintf(detail, detailsz, "killed pid %lld (start time %llu)", (long long)pid,
		 (unsigned long long)start_time);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}
