/* auditd family, mode audit: a child execs /bin/echo with an argument that
 * auditd hex-encodes; the EXECVE and SYSCALL records come out as auditd
 * events with decoded fields, and a process_creation event with the exact
 * image, command line and pids. The kernel's LOGIN record (a login uid
 * set) and a user-space USER message come out too. At the stop (quiesce,
 * the last polls, the flush) an exec just before it is reported and one
 * after it is not, and nothing is counted lost. The rule, the registration
 * and the enabled flag are set back at the stop, and a start under a
 * stream of messages reads none away. With a state directory, a module
 * killed after it enabled auditing leaves its marker there, and the next
 * start sets the flag back at its stop; a marker that is no longer true
 * (a live reader, auditing off, not the module's) goes, the flag
 * untouched. */
#include "famtest.h"
#include "family_auditd_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ft t;

/* Sends an audit netlink request of type with body (len bytes) on fd:
 * 0, or -1. */
static int au_send(int fd, uint16_t type, uint16_t flags, const void *body, size_t len)
{
	struct {
		struct nlmsghdr nh;
		uint8_t body[256];
	} m;
	struct sockaddr_nl sa;

	if (len > sizeof(m.body))
		return -1;
	memset(&m, 0, sizeof(m));
	m.nh.nlmsg_len = NLMSG_LENGTH(len);
	m.nh.nlmsg_type = type;
	m.nh.nlmsg_flags = flags;
	if (len)
		memcpy(m.body, body, len);
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	return sendto(fd, &m, m.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) > 0 ? 0 : -1;
}

/* The kernel's audit status (AUDIT_GET), asked on a socket of its own:
 * 0, or -1 where the kernel refuses (the module's start then skips). */
static int status(struct audit_status *st)
{
	uint8_t b[8192];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT), r = -1;

	if (fd < 0)
		return -1;
	if (au_send(fd, AUDIT_GET, NLM_F_REQUEST, NULL, 0) != 0)
		goto out;
	for (;;) {
		ssize_t n = recv(fd, b, sizeof(b), 0);
		struct nlmsghdr nh;

		if (n < (ssize_t)sizeof(nh))
			goto out;
		memcpy(&nh, b, sizeof(nh));
		if (nh.nlmsg_type == NLMSG_ERROR)
			goto out;
		if (nh.nlmsg_type != AUDIT_GET)
			continue;
		memset(st, 0, sizeof(*st));
		memcpy(st, b + NLMSG_HDRLEN,
		       (size_t)n - NLMSG_HDRLEN < sizeof(*st) ? (size_t)n - NLMSG_HDRLEN
							      : sizeof(*st));
		r = 0;
		break;
	}
out:
	close(fd);
	return r;
}

/* Runs /bin/echo a1 a2 in a child (the exec once the parent is ready) and
 * reaps it; returns its pid. */
static pid_t echo(const char *a1, const char *a2)
{
	pid_t c;
	int st, fd[2];

	FT_CHECK(pipe(fd) == 0);
	c = ft_fork();
	if (c == 0) {
		char go;

		close(fd[1]);
		if (read(fd[0], &go, 1) != 0) /* the parent closes: exec now */
			_exit(9);
		execl("/bin/echo", "/bin/echo", a1, a2, (char *)NULL);
		_exit(8);
	}
	close(fd[0]);
	close(fd[1]);
	FT_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return c;
}

/* A child sets its login uid (as pam_loginuid does at a login): the
 * kernel's LOGIN record (type 1006). Returns the child's pid. */
static pid_t set_loginuid(const char *auid)
{
	pid_t c;
	int st;

	c = ft_fork();
	if (c == 0) {
		int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, auid, strlen(auid)) != (ssize_t)strlen(auid))
			_exit(7);
		_exit(0);
	}
	FT_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return c;
}

/* This process's login uid, as /proc/self/loginuid gives it */
static const char *own_loginuid(void)
{
	static char buf[16];
	ssize_t n;
	int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);

	FT_CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	FT_CHECK(n > 0);
	buf[n] = 0;
	return buf;
}

/* A user-space message of the old AUDIT_USER type (1005), as a program
 * without libaudit's numbers sends it: the kernel's USER record. */
static void user_message(const char *text)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);

	FT_CHECK(fd >= 0);
	FT_CHECK(au_send(fd, AUDIT_USER, NLM_F_REQUEST, text, strlen(text) + 1) == 0);
	close(fd);
}

/* --- the marker that the module enabled auditing (a state directory) --- */

#define MARK_NAME "audit_enabled"

static struct audit_status host; /* the kernel's status before the test */
static pid_t test_pid;		 /* the test, not a child, restores the host */
static char mdir[64], mpath[128], mtarget[128];

/* AUDIT_SET on fd (or a socket of its own when fd is -1), acknowledged:
 * 0, or -1 with errno. */
static int aset(int fd, uint32_t mask, uint32_t enabled, uint32_t pid)
{
	struct audit_status s;
	uint8_t b[8192];
	int own = fd < 0, r = -1;

	if (own)
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (fd < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	s.mask = mask;
	s.enabled = enabled;
	s.pid = pid;
	if (au_send(fd, AUDIT_SET, NLM_F_REQUEST | NLM_F_ACK, &s, sizeof(s)) != 0)
		goto out;
	for (;;) {
		ssize_t n = recv(fd, b, sizeof(b), 0);
		struct nlmsghdr nh;
		int32_t e;

		if (n < (ssize_t)(NLMSG_HDRLEN + sizeof(e)))
			goto out;
		memcpy(&nh, b, sizeof(nh));
		if (nh.nlmsg_type != NLMSG_ERROR)
			continue; /* a record, on a registered reader's socket */
		memcpy(&e, b + NLMSG_HDRLEN, sizeof(e));
		errno = -e;
		r = e == 0 ? 0 : -1;
		break;
	}
out:
	if (own)
		close(fd);
	return r;
}

/* At every exit of the test process (a failed check included): the
 * kernel's enabled flag as the test found it, this process unregistered,
 * the state directory gone. */
static void marker_restore(void)
{
	struct audit_status now;

	if (getpid() != test_pid)
		return;
	if (status(&now) == 0) {
		if (now.pid == (uint32_t)getpid())
			(void)aset(-1, AUDIT_STATUS_PID, 0, 0);
		if (now.enabled != host.enabled)
			(void)aset(-1, AUDIT_STATUS_ENABLED, host.enabled, 0);
	}
	if (mdir[0] != '\0') {
		(void)unlink(mpath);
		(void)unlink(mtarget);
		(void)rmdir(mdir);
	}
}

/* What is at the marker's name: 'f' a regular file, 'l' a symbolic link,
 * 0 nothing. */
static int marker_kind(void)
{
	struct stat sb;

	if (lstat(mpath, &sb) != 0)
		return 0;
	return S_ISREG(sb.st_mode) ? 'f' : S_ISLNK(sb.st_mode) ? 'l' : '?';
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FT_CHECK(fd >= 0);
	FT_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* The module with the state directory, without its execve rule (a killed
 * one would leave it): the agent's case, a process sensor beside it. */
static void start_marked(void)
{
	t.env.state_dir = mdir;
	t.env.process_sensor = 1;
	ft_start(&t, &family_auditd_audit_ops, NULL);
}

/* A child starts the module with the state directory, as the audit reader,
 * and waits to be killed. Returns its pid once it started. */
static pid_t start_doomed(void)
{
	int p[2];
	char go;
	pid_t c;

	FT_CHECK(pipe(p) == 0);
	c = ft_fork();
	if (c == 0) {
		close(p[0]);
		start_marked();
		if (write(p[1], "x", 1) != 1)
			_exit(7);
		for (;;)
			pause();
	}
	close(p[1]);
	FT_CHECK(read(p[0], &go, 1) == 1);
	close(p[0]);
	return c;
}

/* The child killed as SIGKILL or the OOM killer would: no stop, its
 * sockets closed by the kernel, auditing left enabled. */
static void kill_doomed(pid_t c)
{
	int st;

	FT_CHECK(kill(c, SIGKILL) == 0);
	FT_CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st));
}

/* The kernel forgets a dead reader once a send to it fails: a user
 * message makes one; polled until no reader is registered. */
static void wait_reader_gone(void)
{
	struct audit_status now;

	for (int i = 0; i < 500; i++) {
		FT_CHECK(status(&now) == 0);
		if (now.pid == 0)
			return;
		user_message("yamori_marker_probe=1");
		usleep(10 * 1000);
	}
	FT_CHECK(!"the kernel kept the killed reader registered for 5 s");
}

/* Starts a child module, kills it, and checks what it left: its marker
 * and auditing enabled (no reader once the kernel noticed when wait).
 * Returns the child's pid. */
static pid_t killed_agent(int wait)
{
	struct audit_status now;
	pid_t c;

	FT_CHECK(status(&now) == 0 && now.enabled == 0 && now.pid == 0);
	c = start_doomed();
	FT_CHECK(marker_kind() == 'f');
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == (uint32_t)c);
	kill_doomed(c);
	if (wait)
		wait_reader_gone();
	FT_CHECK(status(&now) == 0 && now.enabled == 1);
	FT_CHECK(marker_kind() == 'f');
	return c;
}

/* The module started and stopped on a host where auditing is enabled and
 * no reader runs, with what (none, or a marker not the module's) at the
 * marker's name: it goes, none is written, auditing stays enabled (the
 * host's own setting). */
static void untouched_enabled(const char *what)
{
	struct audit_status now;

	FT_CHECK(aset(-1, AUDIT_STATUS_ENABLED, 1, 0) == 0);
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == 0);
	start_marked();
	FT_CHECK(marker_kind() == 0);
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == (uint32_t)getpid());
	ft_stop(&t);
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == 0);
	FT_CHECK(marker_kind() == 0);
	FT_CHECK(aset(-1, AUDIT_STATUS_ENABLED, 0, 0) == 0);
	fprintf(stderr, "marker: %s: removed, auditing left enabled\n", what);
}

static void marker_cases(void)
{
	struct audit_status now;
	pid_t c;
	int rd;

	if (host.pid != 0) {
		/* the kill cannot be simulated beside a live reader (auditd) */
		printf("SKIP: marker cases: an audit reader (pid %u) is registered here\n",
		       host.pid);
		return;
	}
	/* room for the events of these cases (the recorder holds 4,096) */
	for (int i = 0; i < t.nev; i++)
		for (int j = 0; j < t.ev[i].n; j++) {
			free(t.ev[i].name[j]);
			free(t.ev[i].value[j]);
		}
	t.nev = 0;
	snprintf(mdir, sizeof(mdir), "/tmp/yamori-audit-XXXXXX");
	FT_CHECK(mkdtemp(mdir) != NULL);
	snprintf(mpath, sizeof(mpath), "%s/%s", mdir, MARK_NAME);
	snprintf(mtarget, sizeof(mtarget), "%s/target", mdir);
	FT_CHECK(aset(-1, AUDIT_STATUS_ENABLED, 0, 0) == 0); /* restored at exit */

	/* a clean start and stop: the marker while the module runs, then
	 * nothing */
	start_marked();
	FT_CHECK(marker_kind() == 'f');
	ft_stop(&t);
	FT_CHECK(marker_kind() == 0);
	FT_CHECK(status(&now) == 0 && now.enabled == 0 && now.pid == 0);

	/* killed; the kernel noticed (no reader registered); the next start
	 * sets auditing back to disabled at its stop (W3613) */
	killed_agent(1);
	start_marked();
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == (uint32_t)getpid());
	FT_CHECK(marker_kind() == 'f');
	ft_stop(&t);
	FT_CHECK(status(&now) == 0);
	if (now.enabled != 0)
		fprintf(stderr, "FAIL: auditing left enabled after a killed agent's restart\n");
	FT_CHECK(now.enabled == 0 && now.pid == 0);
	FT_CHECK(marker_kind() == 0);

	/* killed and started again at once: the dead reader still registered
	 * counts as none, the start replaces it */
	c = killed_agent(0);
	FT_CHECK(status(&now) == 0);
	/* not checked: any record on the host (a login) makes the kernel
	 * notice before this start */
	fprintf(stderr, "marker: the killed reader %s registered at the restart\n",
		now.pid == (uint32_t)c ? "still" : "no longer");
	start_marked();
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == (uint32_t)getpid());
	ft_stop(&t);
	FT_CHECK(status(&now) == 0 && now.enabled == 0 && now.pid == 0);
	FT_CHECK(marker_kind() == 0);

	/* stale: a live reader took over (this process, as auditd would):
	 * the module joins the group, the marker goes, auditing stays
	 * enabled at its stop */
	killed_agent(1);
	rd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	FT_CHECK(rd >= 0 && aset(rd, AUDIT_STATUS_PID, 0, (uint32_t)getpid()) == 0);
	start_marked();
	FT_CHECK(marker_kind() == 0);
	ft_stop(&t);
	FT_CHECK(status(&now) == 0 && now.enabled == 1 && now.pid == (uint32_t)getpid());
	FT_CHECK(marker_kind() == 0);
	FT_CHECK(aset(rd, AUDIT_STATUS_PID | AUDIT_STATUS_ENABLED, 0, 0) == 0);
	close(rd);

	/* stale: auditing disabled since (an administrator): the marker goes
	 * (a new one is written: the module enables auditing), disabled
	 * again at the stop */
	killed_agent(1);
	FT_CHECK(aset(-1, AUDIT_STATUS_ENABLED, 0, 0) == 0);
	start_marked();
	FT_CHECK(marker_kind() == 'f');
	ft_stop(&t);
	FT_CHECK(status(&now) == 0 && now.enabled == 0 && now.pid == 0);
	FT_CHECK(marker_kind() == 0);

	/* not the module's, auditing enabled by the host: no marker, a
	 * marker of another boot, a symbolic link (not followed: its target
	 * is left as it is) */
	untouched_enabled("none");
	write_text(mpath, "yamori-agent enabled kernel auditing, boot "
			  "00000000-0000-0000-0000-000000000000\n");
	untouched_enabled("another boot's");
	write_text(mtarget, "keep\n");
	FT_CHECK(symlink(mtarget, mpath) == 0 && marker_kind() == 'l');
	untouched_enabled("a symbolic link");
	{
		char b[16];
		int fd = open(mtarget, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

		FT_CHECK(n == 5 && memcmp(b, "keep\n", 5) == 0);
		close(fd);
	}
	FT_CHECK(status(&now) == 0 && now.enabled == 0 && now.pid == 0);
	t.env.state_dir = NULL;
	t.env.process_sensor = 0;
	fprintf(stderr, "marker: killed agents' auditing set back\n");
}

#define SEQ_N 2000

/* Starts the module while a child sends SEQ_N user messages
 * yamori_seq=0.. one after the other, asking the kernel before each
 * whether a reader is registered (the start begins once it sent 200:
 * those find no reader and go); then checks that every message sent
 * after the child saw the module registered was received: the start
 * reads nothing away. */
static void start_under_messages(void)
{
	static unsigned char got[SEQ_N];
	int p[2], q[2], st, reg = -1, n = 0;
	char go;
	pid_t c;

	FT_CHECK(pipe(p) == 0 && pipe(q) == 0);
	c = ft_fork();
	if (c == 0) {
		int seen = -1;

		close(p[0]);
		close(q[0]);
		for (int i = 0; i < SEQ_N; i++) {
			char m[32];

			struct audit_status now;

			if (seen < 0 && status(&now) == 0 && now.pid != 0)
				seen = i;
			snprintf(m, sizeof(m), "yamori_seq=%d", i);
			user_message(m);
			if (i == 200 && write(p[1], "x", 1) != 1)
				_exit(7);
			usleep(20);
		}
		_exit(write(q[1], &seen, sizeof(seen)) == (ssize_t)sizeof(seen) ? 0 : 7);
	}
	close(p[1]);
	close(q[1]);
	FT_CHECK(read(p[0], &go, 1) == 1);
	close(p[0]);
	ft_start(&t, &family_auditd_audit_ops, NULL);
	FT_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FT_CHECK(read(q[0], &reg, sizeof(reg)) == (ssize_t)sizeof(reg));
	close(q[0]);
	ft_pump(&t, 1000);
	memset(got, 0, sizeof(got));
	for (int i = 0; i < t.nev; i++) {
		const char *v = ft_get(&t.ev[i], "yamori_seq");
		char *end;
		long k = v != NULL ? strtol(v, &end, 10) : -1;

		if (k >= 0 && k < SEQ_N && *end == 0)
			got[k] = 1;
	}
	for (int i = reg < 0 ? SEQ_N : reg; i < SEQ_N; i++)
		n += got[i];
	fprintf(stderr,
		"start under messages: registered seen before %d, %d of the %d after received\n",
		reg, n, SEQ_N - reg);
	FT_CHECK(reg >= 0 && reg < SEQ_N - 100 && n == SEQ_N - reg);
}

int main(void)
{
	char pid[16], ppid[16];
	const struct ft_event *e;
	pid_t c;
	struct audit_status st0, st;
	struct family_stats fs;
	int have0 = status(&st0) == 0, nev;

	ft_start(&t, &family_auditd_audit_ops, NULL); /* 77 where the kernel refuses */
	FT_CHECK(have0 && status(&st) == 0);
	host = st0;
	test_pid = getpid();
	FT_CHECK(atexit(marker_restore) == 0);
	if (st0.pid == 0) /* no reader before: the module is the reader now */
		FT_CHECK(st.pid == (uint32_t)getpid() && st.enabled == 1);
	c = echo("yamori audit test", "two");
	snprintf(pid, sizeof(pid), "%d", (int)c);
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());

	e = ft_wait(&t, 5000, "type", "EXECVE", "pid", pid, NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_AUDITD && e->service != NULL);
	FT_CHECK(strcmp(e->service, "auditd") == 0);
	ft_expect(e, "argc", "3");
	ft_expect(e, "a0", "/bin/echo");
	ft_expect(e, "a1", "yamori audit test");
	ft_expect(e, "a2", "two");
	ft_expect(e, "key", FAMILY_AUDITD_KEY);
	ft_expect(e, "exe", "/usr/bin/echo");

	e = ft_wait(&t, 3000, "type", "SYSCALL", "pid", pid, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ppid", ppid);
	ft_expect(e, "exe", "/usr/bin/echo");
	ft_expect(e, "comm", "echo");
	ft_expect(e, "key", FAMILY_AUDITD_KEY);
	ft_expect(e, "success", "yes");

	e = ft_wait(&t, 3000, "type", "CWD", "pid", pid, NULL);
	FT_CHECK(e != NULL);

	e = ft_wait(&t, 3000, "CommandLine", "/bin/echo yamori audit test two", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_PROCESS_CREATION);
	ft_expect(e, "Image", "/usr/bin/echo");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "ParentProcessId", ppid);
	ft_expect(e, "UserId", "0");
	FT_CHECK(ft_count(&t, "CommandLine", "/bin/echo yamori audit test two", NULL) == 1);

	/* an argument longer than the kernel puts in one EXECVE record (7,500
	 * bytes: it splits it into a1[0], a1[1], ... over records of the
	 * event), and one whose trailing space is its own (hex-encoded, as
	 * any argument with a space): the whole command line, exact */
	{
		static char big[12001], want[12100];

		for (size_t i = 0; i < sizeof(big) - 1; i++)
			big[i] = (char)('a' + i % 26);
		snprintf(want, sizeof(want), "/bin/echo %s tail ", big);
		c = echo(big, "tail ");
		snprintf(pid, sizeof(pid), "%d", (int)c);
		e = ft_wait(&t, 3000, "ProcessId", pid, "CommandLine", want, NULL);
		FT_CHECK(e != NULL);
		FT_CHECK(e->category == EVCAT_PROCESS_CREATION);
	}

	/* records whose types lie below the user-message range: the kernel's
	 * LOGIN and a user-space USER message */
	c = set_loginuid("4242");
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(&t, 3000, "type", "LOGIN", "pid", pid, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "auid", "4242");
	/* the record's hyphenated names, as field names may be: old_auid,
	 * the login uid the child had (this process's) */
	ft_expect(e, "old_auid", own_loginuid());
	FT_CHECK(ft_get(e, "old_ses") != NULL);
	user_message("yamori_user_test=1");
	e = ft_wait(&t, 3000, "type", "USER", "yamori_user_test", "1", NULL);
	FT_CHECK(e != NULL);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ft_expect(e, "pid", pid);

	/* the stop: an exec right before the quiesce is read to its end
	 * (records kauditd still queued included), one after it never comes */
	echo("yamori audit", "before");
	ft_final(&t);
	FT_CHECK(ft_count(&t, "CommandLine", "/bin/echo yamori audit before", NULL) == 1);
	/* nothing lost: the kernel's AUDIT_REPLACE probe that the unregistering
	 * made is no record (it was counted as a dropped one) */
	t.ops->stats(t.f, &fs);
	if (fs.drops != 0)
		fprintf(stderr, "drops %llu, overruns %llu\n", (unsigned long long)fs.drops,
			(unsigned long long)fs.overruns);
	FT_CHECK(fs.drops == 0);
	echo("yamori audit", "after");
	ft_pump(&t, 500);
	ft_final(&t);
	FT_CHECK(ft_count(&t, "CommandLine", "/bin/echo yamori audit after", NULL) == 0);

	ft_stop(&t);
	FT_CHECK(status(&st) == 0);
	FT_CHECK(st.pid == st0.pid && st.enabled == st0.enabled);
	/* a clean stop leaves the kernel so that a restart works, and the
	 * start reads nothing away: messages sent all through it come
	 * without a gap from the first that found the module registered on */
	start_under_messages();
	ft_stop(&t);
	FT_CHECK(status(&st) == 0);
	FT_CHECK(st.pid == st0.pid && st.enabled == st0.enabled);
	nev = t.nev;
	marker_cases();
	marker_restore();
	FT_CHECK(status(&st) == 0);
	FT_CHECK(st.pid == st0.pid && st.enabled == st0.enabled);
	printf("ok: auditd=audit (%d events)\n", nev);
	return 0;
}
