/* auth family, mode authlog: lines appended to a real log file (named by
 * YAMORI_AUTH_LOG) give authentication events with the exact fields; history
 * is not reported; an injected " from " in a user name does not move the
 * source; overlong lines are counted drops; rotation is followed. */
#include "famtest.h"
#include "family_auth_authlog.h"

#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ft t;
static char path[256];

static void append_to(const char *file, const char *line)
{
	FILE *fp = fopen(file, "a");

	FT_CHECK(fp != NULL);
	fputs(line, fp);
	fputc('\n', fp);
	FT_CHECK(fclose(fp) == 0);
}

static void append(const char *line)
{
	append_to(path, line);
}

/* Bytes without a newline: a line the logger has not finished. */
static void append_raw(const char *bytes)
{
	FILE *fp = fopen(path, "a");

	FT_CHECK(fp != NULL);
	fputs(bytes, fp);
	FT_CHECK(fclose(fp) == 0);
}

/* With a state directory: what was written while the module was stopped
 * (an agent upgraded, crashed, or killed by an intruder who then logged in)
 * is read at its next start, from the end of the last whole line it
 * handled; nothing twice; a rotation while stopped: the rest of the old
 * file, then the new one; a position that cannot be read: from the end. */
static void test_resume(const char *rotated)
{
	static struct ft t2, t3, t4, t5;
	char state[] = "/tmp/ym-authlog-state-XXXXXX", pos[320], line[256];
	const struct ft_event *e;
	FILE *fp;

	FT_CHECK(mkdtemp(state) != NULL);
	snprintf(pos, sizeof(pos), "%s/auth_authlog_position", state);
	t2.env.state_dir = state;
	ft_start(&t2, &family_auth_authlog_ops, NULL);
	append("Nov 26 03:00:00 host sshd[1]: Accepted password for kim from 192.0.2.30 port 30 "
	       "ssh2");
	FT_CHECK(ft_wait(&t2, 3000, "User", "kim", NULL) != NULL);
	append_raw("Nov 26 03:00:01 host sshd[1]: Failed password for lou from 192.0.2.31 port 31");
	ft_pump(&t2, 300);
	ft_stop(&t2); /* saves the end of kim's line: lou's is not whole */
	FT_CHECK(access(pos, F_OK) == 0);
	append_raw(" ssh2\n");
	/* written an hour ago (its header's time, RFC 3339 as Debian's rsyslog
	 * writes it): the event has that time, not its read's */
	{
		time_t ago = time(NULL) - 3600;
		struct tm tm;

		FT_CHECK(gmtime_r(&ago, &tm) != NULL);
		FT_CHECK(
		    strftime(
			line, sizeof(line),
			"%Y-%m-%dT%H:%M:%S.250000+00:00 host sshd[1]: Accepted password for max "
			"from 192.0.2.32 port 32 ssh2",
			&tm) > 0);
		append(line);
		t3.env.state_dir = state;
		ft_start(&t3, &family_auth_authlog_ops, NULL);
		FT_CHECK(ft_wait(&t3, 3000, "User", "lou", "SourceIp", "192.0.2.31", NULL) != NULL);
		e = ft_wait(&t3, 3000, "User", "max", NULL);
		FT_CHECK(e != NULL);
		FT_CHECK(e->ts_ns == (uint64_t)ago * 1000000000ull + 250000000ull);
	}
	ft_pump(&t3, 300);
	FT_CHECK(t3.nev == 2); /* not kim again */
	ft_stop(&t3);

	/* rotated while stopped */
	append("Nov 26 03:00:03 host sshd[1]: Failed password for ned from 192.0.2.33 port 33 "
	       "ssh2");
	FT_CHECK(rename(path, rotated) == 0);
	append("Nov 26 03:00:04 host sshd[1]: Accepted password for ola from 192.0.2.34 port 34 "
	       "ssh2");
	t4.env.state_dir = state;
	ft_start(&t4, &family_auth_authlog_ops, NULL);
	FT_CHECK(ft_wait(&t4, 3000, "User", "ned", NULL) != NULL);
	FT_CHECK(ft_wait(&t4, 3000, "User", "ola", NULL) != NULL);
	ft_pump(&t4, 300);
	FT_CHECK(t4.nev == 2);
	ft_stop(&t4);

	/* stopped inside an overlong line: its end, written later, is still
	 * the overlong line's (whatever it reads like), discarded at the next
	 * start */
	{
		static struct ft t6, t7, t8;
		static char big[9001];

		t6.env.state_dir = state;
		ft_start(&t6, &family_auth_authlog_ops, NULL);
		memset(big, 'x', sizeof(big) - 1);
		append_raw(big);
		ft_pump(&t6, 300);
		ft_stop(&t6);
		append("Nov 26 03:00:07 host sshd[1]: Accepted password for tail from 192.0.2.37 "
		       "port 37 ssh2");
		append(
		    "Nov 26 03:00:08 host sshd[1]: Accepted password for rob from 192.0.2.38 port "
		    "38 ssh2");
		t7.env.state_dir = state;
		ft_start(&t7, &family_auth_authlog_ops, NULL);
		FT_CHECK(ft_wait(&t7, 3000, "User", "rob", NULL) != NULL);
		ft_pump(&t7, 300);
		FT_CHECK(t7.nev == 1);
		/* again inside an overlong line at the stop, and the file
		 * truncated meanwhile (copytruncate): read from its start, its
		 * first line whole */
		append_raw(big);
		ft_pump(&t7, 300);
		ft_stop(&t7);
		FT_CHECK(truncate(path, 0) == 0);
		append(
		    "Nov 26 03:00:09 host sshd[1]: Accepted password for sam from 192.0.2.39 port "
		    "39 ssh2");
		t8.env.state_dir = state;
		ft_start(&t8, &family_auth_authlog_ops, NULL);
		FT_CHECK(ft_wait(&t8, 3000, "User", "sam", NULL) != NULL);
		ft_stop(&t8);
	}

	/* a position that is none: the start is at the file's end */
	fp = fopen(pos, "w");
	FT_CHECK(fp != NULL && fputs("1 2 x 0\n", fp) >= 0 && fclose(fp) == 0);
	append("Nov 26 03:00:05 host sshd[1]: Accepted password for pia from 192.0.2.35 port 35 "
	       "ssh2");
	t5.env.state_dir = state;
	ft_start(&t5, &family_auth_authlog_ops, NULL);
	append("Nov 26 03:00:06 host sshd[1]: Accepted password for quinn from 192.0.2.36 port 36 "
	       "ssh2");
	FT_CHECK(ft_wait(&t5, 3000, "User", "quinn", NULL) != NULL);
	ft_pump(&t5, 300);
	FT_CHECK(t5.nev == 1);
	ft_stop(&t5);
	unlink(pos);
	rmdir(state);
}

int main(void)
{
	char dir[] = "/tmp/ym-authlog-XXXXXX", line[12000], pid[16], rotated[300];
	const struct ft_event *e;
	struct family_stats fs;
	pid_t daemon;

	FT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/auth.log", dir);
	setenv("YAMORI_AUTH_LOG", path, 1);
	append("Nov 26 01:00:00 host sshd[1]: Accepted password for history from 192.0.2.1 port 1 "
	       "ssh2");
	ft_start(&t, &family_auth_authlog_ops, NULL);

	/* a live "daemon" so the line's pid names a real process */
	daemon = ft_fork();
	if (daemon == 0) {
		pause();
		_exit(0);
	}
	snprintf(pid, sizeof(pid), "%d", (int)daemon);
	snprintf(line, sizeof(line),
		 "Nov 26 02:03:31 host sshd[%d]: Accepted publickey for alice from 192.0.2.10 port "
		 "50022 ssh2: ED25519 SHA256:abc",
		 (int)daemon);
	append(line);
	e = ft_wait(&t, 3000, "User", "alice", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_AUTHENTICATION);
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "Status", "success");
	ft_expect(e, "AuthMethod", "publickey");
	ft_expect(e, "SourceIp", "192.0.2.10");
	ft_expect(e, "SourcePort", "50022");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "ProcessName", "sshd");
	ft_expect(e, "Image", ft_self_image());

	append("2026-11-26T02:03:32.123456+00:00 host sshd[77]: Failed password for invalid user "
	       "evil from 6.6.6.6 port 1 from 192.0.2.11 port 4242 ssh2");
	e = ft_wait(&t, 3000, "Status", "failure", "LogonType", "ssh", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "evil from 6.6.6.6 port 1");
	ft_expect(e, "SourceIp", "192.0.2.11");
	ft_expect(e, "SourcePort", "4242");
	ft_expect(e, "AuthMethod", "password");
	ft_expect(e, "ProcessId", "77");

	append("Nov 26 02:03:33 host sudo:      bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; "
	       "COMMAND=/usr/bin/id -u ; USER=fake");
	e = ft_wait(&t, 3000, "LogonType", "sudo", "Status", "success", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "bob");
	ft_expect(e, "TargetUser", "root");
	ft_expect(e, "CommandLine", "/usr/bin/id -u ; USER=fake");
	ft_expect(e, "ProcessId", NULL);

	append("Nov 26 02:03:34 host sudo:      bob : 3 incorrect password attempts ; TTY=pts/0 ; "
	       "PWD=/home/bob ; USER=root ; COMMAND=/bin/sh");
	e = ft_wait(&t, 3000, "LogonType", "sudo", "Status", "failure", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "bob");
	ft_expect(e, "TargetUser", "root");

	append("Nov 26 02:03:35 host su[300]: (to root) carol on pts/1");
	append("Nov 26 02:03:36 host su[301]: FAILED SU (to root) dave on pts/2");
	append("Nov 26 02:03:37 host login[302]: FAILED LOGIN (1) on '/dev/tty1' FOR 'erin', "
	       "Authentication failure");
	append("Nov 26 02:03:38 host login[303]: pam_unix(login:session): session opened for user "
	       "frank(uid=1001) by LOGIN(uid=0)");
	append("Nov 26 02:03:39 host CRON[304]: pam_unix(cron:session): session opened for user "
	       "root(uid=0) by (uid=0)");
	e = ft_wait(&t, 3000, "User", "carol", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "su");
	ft_expect(e, "Status", "success");
	ft_expect(e, "TargetUser", "root");
	e = ft_wait(&t, 3000, "User", "dave", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Status", "failure");
	e = ft_wait(&t, 3000, "User", "erin", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "console");
	ft_expect(e, "Status", "failure");
	e = ft_wait(&t, 3000, "User", "frank", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "console");
	ft_expect(e, "Status", "success");
	/* the sessions' ends: sshd's names the connection of its start */
	append("Nov 26 02:03:39 host sshd[310]: Received disconnect from 192.0.2.10 port 50022:11: "
	       "disconnected by user");
	append("Nov 26 02:03:39 host sshd[310]: Disconnected from user alice 192.0.2.10 port "
	       "50022");
	append("Nov 26 02:03:39 host su[300]: pam_unix(su:session): session closed for user root");
	append("Nov 26 02:03:39 host login[303]: pam_unix(login:session): session closed for user "
	       "frank");
	e = ft_wait(&t, 3000, "Status", "logoff", "LogonType", "ssh", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "alice");
	ft_expect(e, "SourceIp", "192.0.2.10");
	ft_expect(e, "SourcePort", "50022");
	ft_expect(e, "AuthMethod", NULL);
	ft_expect(e, "ProcessId", "310");
	e = ft_wait(&t, 3000, "Status", "logoff", "LogonType", "su", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", NULL);
	ft_expect(e, "TargetUser", "root");
	ft_expect(e, "ProcessId", "300");
	e = ft_wait(&t, 3000, "Status", "logoff", "LogonType", "console", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "frank");

	/* an overlong line is a counted drop and does not swallow the next one */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "Nov 26 02:03:40 host sshd[1]: Failed password for ", 50);
	append(line);
	append("Nov 26 02:03:41 host sshd[1]: Failed none for gina from 192.0.2.12 port 7 ssh2");
	FT_CHECK(ft_wait(&t, 3000, "User", "gina", NULL) != NULL);
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.drops == 1);

	/* OpenSSH 9.8 on: sshd-session and sshd-auth write the lines */
	append("Nov 26 02:03:41 host sshd-session[1]: Accepted publickey for ivan from "
	       "192.0.2.14 port 9 ssh2: ED25519 SHA256:abc");
	e = ft_wait(&t, 3000, "User", "ivan", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "ProcessName", "sshd-session");
	ft_expect(e, "SourceIp", "192.0.2.14");
	append("Nov 26 02:03:41 host sshd-auth[1]: Failed password for judy from 192.0.2.15 port "
	       "10 ssh2");
	FT_CHECK(ft_wait(&t, 3000, "User", "judy", NULL) != NULL);
	/* rsyslog's repeated-message reduction: three failures, three events */
	append("Nov 26 02:03:41 host sshd[1]: message repeated 3 times: [ Failed password for "
	       "kate from 192.0.2.16 port 11 ssh2]");
	ft_pump(&t, 500);
	FT_CHECK(
	    ft_count(&t, "User", "kate", "Status", "failure", "SourceIp", "192.0.2.16", NULL) == 3);
	/* one line stands for at most 100 events; the rest are counted */
	append("Nov 26 02:03:41 host sshd[1]: message repeated 150 times: [ Failed password for "
	       "lena from 192.0.2.20 port 15 ssh2]");
	ft_pump(&t, 500);
	FT_CHECK(ft_count(&t, "User", "lena", NULL) == 100);
	/* an authentication line this parser cannot read is a counted loss */
	append("Nov 26 02:03:41 host sshd[1]: Accepted password for ");
	append("Nov 26 02:03:41 host sshd[1]: Connection closed by 192.0.2.17 port 12");
	ft_pump(&t, 500);
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.drops == 52);

	/* rotation: the old file is renamed, a new one created */
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	FT_CHECK(rename(path, rotated) == 0);
	append("Nov 26 02:03:42 host sshd[1]: Accepted password for henry from 192.0.2.13 port 8 "
	       "ssh2");
	FT_CHECK(ft_wait(&t, 4000, "User", "henry", NULL) != NULL);
	/* the logger still writes to the rotated file until logrotate's
	 * signal reaches it: those lines are read too */
	append_to(rotated, "Nov 26 02:03:43 host sshd[1]: Failed password for ivy from 192.0.2.18 "
			   "port 13 ssh2");
	FT_CHECK(ft_wait(&t, 4000, "User", "ivy", NULL) != NULL);
	append("Nov 26 02:03:44 host sshd[1]: Accepted password for jack from 192.0.2.19 port 14 "
	       "ssh2");
	FT_CHECK(ft_wait(&t, 4000, "User", "jack", NULL) != NULL);

	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "User", "history", NULL) == 0);
	FT_CHECK(ft_count(&t, "User", "root", NULL) == 0);
	FT_CHECK(t.nev == 120);
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.events == 120 && fs.drops == 52);

	kill(daemon, SIGKILL);
	waitpid(daemon, NULL, 0);
	ft_stop(&t);
	test_resume(rotated);
	unlink(path);
	unlink(rotated);
	rmdir(dir);
	printf("ok: auth=authlog (%d events)\n", t.nev);
	return 0;
}
