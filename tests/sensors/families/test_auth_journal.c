/* auth family, mode journal: a journald of the test's own (systemd-journald
 * in a mount namespace of its own, on tmpfs: the host's journal is not
 * touched) and entries sent to it with sd_journal_send give authentication
 * events with the exact fields: the sender's pid from journald, not from
 * the message; the first entry after a start on a journal without any of
 * the programs' is read; what was there before a first start is not
 * reported, and what came while it was stopped is, from the position it
 * saved in the state directory (at a stop, and at a tick for a kill); an entry
 * named sshd from an unprivileged sender (logger -t sshd) is refused and
 * counted; an overlong or malformed authentication message is a counted
 * drop; other programs' entries are none. Skips (77) without
 * systemd-journald or without the right to a mount namespace. */
#include "famtest.h"
#include "family_auth_journal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define JOURNALD "/lib/systemd/systemd-journald"
#define SOCKET	 "/run/systemd/journal/socket"

static struct ft t, t2, t3, t4, t5, t6;
static char state[] = "/tmp/ym-journal-state-XXXXXX", cursor[256];
static pid_t journald;

static void stop_journald(void)
{
	int st;

	if (journald > 0) {
		kill(journald, SIGTERM);
		waitpid(journald, &st, 0);
		journald = 0;
	}
}

/* a namespace whose /run and /var/log are empty tmpfs, and a journald in it */
static void start_journald(void)
{
	struct stat sb;

	if (access(JOURNALD, X_OK) != 0) {
		printf("SKIP: %s not installed (Debian package systemd)\n", JOURNALD);
		exit(FT_SKIP);
	}
	if (unshare(CLONE_NEWNS) != 0) {
		printf("SKIP: no mount namespace here: %s\n", strerror(errno));
		exit(FT_SKIP);
	}
	FT_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	FT_CHECK(mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0);
	FT_CHECK(mount("tmpfs", "/var/log", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0);
	journald = ft_fork();
	if (journald == 0) {
		execl(JOURNALD, JOURNALD, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && stat(SOCKET, &sb) != 0; i++)
		usleep(50000);
	FT_CHECK(stat(SOCKET, &sb) == 0);
	atexit(stop_journald);
}

static void send_entry(const char *prog, const char *msg)
{
	FT_CHECK(sd_journal_send("SYSLOG_IDENTIFIER=%s", prog, "MESSAGE=%s", msg, NULL) == 0);
}

/* Waits until journald has written the entry with this message (a send
 * returns once the datagram is queued): what a start finds is then sure. */
static void wait_written(const char *msg)
{
	char match[256];
	sd_journal *j = NULL;
	int found = 0;

	snprintf(match, sizeof(match), "MESSAGE=%s", msg);
	FT_CHECK(sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY) >= 0);
	FT_CHECK(sd_journal_add_match(j, match, 0) >= 0);
	for (int i = 0; i < 60 && !found; i++) {
		(void)sd_journal_process(j);
		found = sd_journal_seek_head(j) >= 0 && sd_journal_next(j) > 0;
		if (!found)
			usleep(50000);
	}
	sd_journal_close(j);
	FT_CHECK(found);
}

int main(void)
{
	static char big[12000];
	char pid[16], cpid[16];
	int sync[2];
	const struct ft_event *e;
	struct family_stats fs;
	pid_t child;
	int st;

	/* who is believed: root, or the program's own executable */
	FT_CHECK(family_auth_journal_trusted("sshd", "0", "/usr/bin/logger"));
	FT_CHECK(family_auth_journal_trusted("su", "1000", "/usr/bin/su"));
	FT_CHECK(family_auth_journal_trusted("sudo", "1000", "/usr/bin/sudo"));
	FT_CHECK(family_auth_journal_trusted("sshd", "74", "/usr/sbin/sshd (deleted)"));
	FT_CHECK(family_auth_journal_trusted("sshd", "74", "/usr/lib/openssh/sshd-session"));
	FT_CHECK(!family_auth_journal_trusted("sshd", "1000", "/usr/bin/logger"));
	FT_CHECK(!family_auth_journal_trusted("sshd", "1000", "/tmp/sshd"));
	FT_CHECK(!family_auth_journal_trusted("su", "1000", "/usr/bin/../../tmp/su"));
	FT_CHECK(!family_auth_journal_trusted("su", "1000", "/usr/bin/sudo"));
	FT_CHECK(!family_auth_journal_trusted("sshd", NULL, NULL));
	FT_CHECK(!family_auth_journal_trusted("sshd", "1000", NULL));

	start_journald();
	/* a journal with no entry of these programs yet: the first one sent
	 * after the start is read (a start at the journal's end that skipped
	 * it lost the first login of a fresh host) */
	ft_start(&t, &family_auth_journal_ops, NULL);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	/* another program's entry, then a tick's read that finds nothing */
	send_entry("cron", "(root) CMD (true)");
	ft_pump(&t, 1200);

	send_entry("sshd", "Accepted publickey for alice from 192.0.2.10 port 50022 ssh2: "
			   "ED25519 SHA256:abc");
	e = ft_wait(&t, 3000, "User", "alice", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_AUTHENTICATION);
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "Status", "success");
	ft_expect(e, "AuthMethod", "publickey");
	ft_expect(e, "SourceIp", "192.0.2.10");
	ft_expect(e, "SourcePort", "50022");
	ft_expect(e, "ProcessName", "sshd");
	/* journald's _PID: the sender, this test */
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", ft_self_image());

	/* a local user writes what sshd would (logger -t sshd): refused. The
	 * sender stays until its entry is read: journald takes _EXE from its
	 * /proc when the datagram arrives, and has none for a sender gone */
	FT_CHECK(pipe(sync) == 0);
	child = ft_fork();
	if (child == 0) {
		char ok;

		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		ok = sd_journal_send("SYSLOG_IDENTIFIER=sshd",
				     "MESSAGE=Accepted password for root from 6.6.6.6 port 1 ssh2",
				     NULL) == 0
			 ? 'y'
			 : 'n';
		if (write(sync[1], &ok, 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	{
		char ok = 0;

		FT_CHECK(read(sync[0], &ok, 1) == 1 && ok == 'y');
		close(sync[0]);
		close(sync[1]);
	}

	send_entry("sshd", "Failed password for invalid user bob from 192.0.2.11 port 4242 ssh2");
	e = ft_wait(&t, 3000, "User", "bob", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Status", "failure");
	ft_expect(e, "AuthMethod", "password");
	ft_expect(e, "SourceIp", "192.0.2.11");
	/* the forged entry came first: it was read, refused, and reported */
	FT_CHECK(ft_count(&t, "User", "root", NULL) == 0);
	FT_CHECK(family_auth_journal_refused(t.f) == 1);
	e = ft_wait(&t, 3000, "Status", "forged_log_entry", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_AGENT_STATUS);
	ft_expect(e, "Program", "sshd");
	ft_expect(e, "Message", "Accepted password for root from 6.6.6.6 port 1 ssh2");
	ft_expect(e, "UserId", "65534");
	ft_expect(e, "User", "nobody");
	snprintf(cpid, sizeof(cpid), "%d", (int)child);
	ft_expect(e, "ProcessId", cpid);
	ft_expect(e, "Image", ft_self_image());
	ft_expect(e, "Refused", "1");
	kill(child, SIGKILL);
	FT_CHECK(waitpid(child, &st, 0) == child);
	/* a flood of them: a refused entry that is no authentication is not
	 * reported, and at most 20 reports a minute */
	child = ft_fork();
	if (child == 0) {
		int bad = 0;

		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(2);
		bad |= sd_journal_send("SYSLOG_IDENTIFIER=su", "MESSAGE=hello", NULL);
		for (int i = 0; i < 25; i++)
			bad |= sd_journal_send("SYSLOG_IDENTIFIER=su",
					       "MESSAGE=(to root) mallory%d on pts/9", i, NULL);
		_exit(bad == 0 ? 0 : 1);
	}
	FT_CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	FT_CHECK(ft_wait(&t, 3000, "Status", "forged_log_entry", "Refused", "21", NULL) != NULL);
	ft_pump(&t, 500);
	FT_CHECK(family_auth_journal_refused(t.f) == 27);
	FT_CHECK(ft_count(&t, "Status", "forged_log_entry", NULL) == 20);
	FT_CHECK(ft_count(&t, "Status", "forged_log_entry", "Refused", "2", NULL) == 0);
	FT_CHECK(ft_count(&t, "Status", "forged_log_entry", "Refused", "22", NULL) == 0);
	FT_CHECK(ft_count(&t, "LogonType", "su", NULL) == 0);

	send_entry("sudo", "    carol : TTY=pts/0 ; PWD=/home/carol ; USER=root ; "
			   "COMMAND=/usr/bin/id -u");
	e = ft_wait(&t, 3000, "LogonType", "sudo", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "carol");
	ft_expect(e, "TargetUser", "root");
	ft_expect(e, "CommandLine", "/usr/bin/id -u");
	ft_expect(e, "Status", "success");
	ft_expect(e, "ProcessId", pid);

	send_entry("su", "(to root) dave on pts/1");
	send_entry("login", "FAILED LOGIN (1) on '/dev/tty1' FOR 'erin', Authentication failure");
	send_entry("cron",
		   "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)");
	send_entry("sshd-session", "Accepted password for frank from 192.0.2.12 port 7 ssh2");
	e = ft_wait(&t, 3000, "User", "dave", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "su");
	ft_expect(e, "TargetUser", "root");
	e = ft_wait(&t, 3000, "User", "erin", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "console");
	ft_expect(e, "Status", "failure");
	e = ft_wait(&t, 3000, "User", "frank", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessName", "sshd-session");
	/* the ends of frank's and dave's sessions */
	send_entry("sshd-session", "Disconnected from user frank 192.0.2.12 port 7");
	send_entry("su", "pam_unix(su:session): session closed for user root");
	e = ft_wait(&t, 3000, "Status", "logoff", "User", "frank", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "SourceIp", "192.0.2.12");
	ft_expect(e, "SourcePort", "7");
	ft_expect(e, "ProcessId", pid);
	e = ft_wait(&t, 3000, "Status", "logoff", "LogonType", "su", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "TargetUser", "root");
	ft_expect(e, "User", NULL);

	/* an overlong message and a cut one are counted drops; what follows
	 * them is read */
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "Failed password for ", 20);
	send_entry("sshd", big);
	send_entry("sshd", "Accepted password for");
	send_entry("sshd", "Failed none for gina from 192.0.2.13 port 8 ssh2");
	FT_CHECK(ft_wait(&t, 3000, "User", "gina", NULL) != NULL);
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.drops == 2);
	/* alice, bob, carol, dave, erin, frank, gina: nothing else (not
	 * cron's, not the forged one) */
	FT_CHECK(fs.events == 29);
	FT_CHECK(t.nev == 29);
	ft_stop(&t);

	/* started again: what the journal holds is history, not reported;
	 * what comes after is */
	ft_start(&t2, &family_auth_journal_ops, NULL);
	send_entry("sshd", "Accepted password for heidi from 192.0.2.14 port 9 ssh2");
	FT_CHECK(ft_wait(&t2, 3000, "User", "heidi", NULL) != NULL);
	ft_pump(&t2, 300);
	FT_CHECK(t2.nev == 1);
	ft_stop(&t2);

	/* with a state directory: what came while the module was stopped (an
	 * agent upgraded, crashed or killed) is read at its next start, from
	 * the position it saved; nothing twice */
	FT_CHECK(mkdtemp(state) != NULL);
	snprintf(cursor, sizeof(cursor), "%s/auth_journal_cursor", state);
	t3.env.state_dir = state;
	ft_start(&t3, &family_auth_journal_ops, NULL);
	send_entry("sshd", "Accepted password for ivan from 192.0.2.15 port 10 ssh2");
	FT_CHECK(ft_wait(&t3, 3000, "User", "ivan", NULL) != NULL);
	ft_stop(&t3); /* saves the position */
	FT_CHECK(access(cursor, F_OK) == 0);
	send_entry("sshd", "Accepted password for judy from 192.0.2.16 port 11 ssh2");
	send_entry("su", "(to root) ken on pts/3");
	t4.env.state_dir = state;
	ft_start(&t4, &family_auth_journal_ops, NULL);
	FT_CHECK(ft_wait(&t4, 3000, "User", "judy", NULL) != NULL);
	FT_CHECK(ft_wait(&t4, 3000, "User", "ken", NULL) != NULL);
	send_entry("sshd", "Accepted password for lou from 192.0.2.17 port 12 ssh2");
	FT_CHECK(ft_wait(&t4, 3000, "User", "lou", NULL) != NULL);
	ft_pump(&t4, 1200);    /* a tick saves the position too */
	FT_CHECK(t4.nev == 3); /* not ivan again */
	t4.ops->stop(t4.f);    /* killed: no save at a stop */
	t4.f = NULL;
	send_entry("sshd", "Accepted password for mia from 192.0.2.18 port 13 ssh2");
	t5.env.state_dir = state;
	ft_start(&t5, &family_auth_journal_ops, NULL);
	FT_CHECK(ft_wait(&t5, 3000, "User", "mia", NULL) != NULL);
	ft_pump(&t5, 300);
	FT_CHECK(t5.nev == 1);
	ft_stop(&t5);
	/* a position that is no cursor: from the end, said (W3616) */
	{
		FILE *fp = fopen(cursor, "w");

		FT_CHECK(fp != NULL && fputs("s=nonsense", fp) >= 0 && fclose(fp) == 0);
	}
	send_entry("sshd", "Accepted password for ned from 192.0.2.19 port 14 ssh2");
	wait_written("Accepted password for ned from 192.0.2.19 port 14 ssh2");
	t6.env.state_dir = state;
	ft_start(&t6, &family_auth_journal_ops, NULL);
	send_entry("sshd", "Accepted password for olga from 192.0.2.20 port 15 ssh2");
	FT_CHECK(ft_wait(&t6, 3000, "User", "olga", NULL) != NULL);
	ft_pump(&t6, 300);
	FT_CHECK(t6.nev == 1);
	ft_stop(&t6);
	unlink(cursor);
	rmdir(state);
	stop_journald();
	printf("PASS: auth journal\n");
	return 0;
}
