/* auth family, mode wtmp: records written with updwtmpx to real wtmp/btmp
 * files (named by YAMORI_WTMP / YAMORI_BTMP) give authentication events;
 * history is not reported; a logout record is a session's end, named from
 * the logon on its terminal (read back at the start for one opened
 * before); a record written in two pieces is read once
 * whole. */
#include "famtest.h"
#include "family_auth_wtmp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utmpx.h>

static struct ft t;

static void rec(struct utmpx *u, short type, const char *user, const char *line, const char *host,
		pid_t pid)
{
	struct timeval tv;

	memset(u, 0, sizeof(*u));
	u->ut_type = type;
	u->ut_pid = pid;
	strncpy(u->ut_user, user, sizeof(u->ut_user));
	strncpy(u->ut_line, line, sizeof(u->ut_line));
	strncpy(u->ut_host, host, sizeof(u->ut_host));
	gettimeofday(&tv, NULL);
	u->ut_tv.tv_sec = (int32_t)tv.tv_sec;
	u->ut_tv.tv_usec = (int32_t)tv.tv_usec;
}

/* With a state directory: the logins written while the module was stopped
 * are read at its next start, from the end of the last whole record it
 * handled (a record half written at the stop is read whole); nothing
 * twice. */
static void test_resume(const char *wtmp)
{
	static struct ft t2, t3;
	char state[] = "/tmp/ym-wtmp-state-XXXXXX", pos[320];
	struct utmpx u;
	int fd;

	FT_CHECK(mkdtemp(state) != NULL);
	snprintf(pos, sizeof(pos), "%s/auth_wtmp_position", state);
	t2.env.state_dir = state;
	ft_start(&t2, &family_auth_wtmp_ops, NULL);
	rec(&u, USER_PROCESS, "kim", "pts/11", "192.0.2.30", 4301);
	updwtmpx(wtmp, &u);
	FT_CHECK(ft_wait(&t2, 3000, "User", "kim", NULL) != NULL);
	rec(&u, USER_PROCESS, "lou", "pts/12", "192.0.2.31", 4302);
	fd = open(wtmp, O_WRONLY | O_APPEND);
	FT_CHECK(fd >= 0 && write(fd, &u, 100) == 100);
	ft_pump(&t2, 300);
	ft_stop(&t2);
	FT_CHECK(access(pos, F_OK) == 0);
	FT_CHECK(write(fd, (char *)&u + 100, sizeof(u) - 100) == (ssize_t)(sizeof(u) - 100));
	FT_CHECK(close(fd) == 0);
	rec(&u, USER_PROCESS, "max", "pts/13", "", 4303);
	updwtmpx(wtmp, &u);
	/* the end of kim's session, read by the last run */
	rec(&u, DEAD_PROCESS, "", "pts/11", "", 4301);
	updwtmpx(wtmp, &u);
	t3.env.state_dir = state;
	ft_start(&t3, &family_auth_wtmp_ops, NULL);
	FT_CHECK(ft_wait(&t3, 3000, "User", "lou", "Terminal", "pts/12", NULL) != NULL);
	FT_CHECK(ft_wait(&t3, 3000, "User", "max", NULL) != NULL);
	FT_CHECK(ft_wait(&t3, 3000, "Status", "logoff", "User", "kim", "SourceHostname",
			 "192.0.2.30", NULL) != NULL);
	ft_pump(&t3, 300);
	FT_CHECK(t3.nev == 3); /* not kim's logon again */
	ft_stop(&t3);
	unlink(pos);
	snprintf(pos, sizeof(pos), "%s/auth_btmp_position", state);
	unlink(pos);
	rmdir(state);
}

/* What a start reads back of wtmp for the sessions open where it begins:
 * a session closed before it, or ended by a boot, is not; a logon further
 * back than WTMP_RECALL (2 MiB of records) is not read. */
static void test_recall(const char *dir)
{
	static struct ft t4;
	char wtmp[256];
	struct utmpx u;
	FILE *fp;

	snprintf(wtmp, sizeof(wtmp), "%s/wtmp-recall", dir);
	FT_CHECK((fp = fopen(wtmp, "w")) != NULL);
	rec(&u, USER_PROCESS, "far", "pts/30", "", 4400);
	FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	rec(&u, RUN_LVL, "runlevel", "~", "", 0);
	for (int i = 0; i < (2 << 20) / (int)sizeof(u); i++)
		FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	rec(&u, USER_PROCESS, "crashed", "pts/31", "", 4401);
	FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	rec(&u, BOOT_TIME, "reboot", "~", "", 0);
	FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	rec(&u, USER_PROCESS, "gone", "pts/32", "", 4402);
	FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	rec(&u, DEAD_PROCESS, "", "pts/32", "", 4402);
	FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	rec(&u, USER_PROCESS, "open", "pts/33", "", 4403);
	FT_CHECK(fwrite(&u, sizeof(u), 1, fp) == 1);
	FT_CHECK(fclose(fp) == 0);
	setenv("YAMORI_WTMP", wtmp, 1);
	ft_start(&t4, &family_auth_wtmp_ops, NULL);
	for (int i = 30; i <= 33; i++) {
		char line[16];

		snprintf(line, sizeof(line), "pts/%d", i);
		rec(&u, DEAD_PROCESS, "", line, "", 4400 + i - 30);
		updwtmpx(wtmp, &u);
	}
	FT_CHECK(ft_wait(&t4, 3000, "Status", "logoff", "User", "open", "Terminal", "pts/33",
			 NULL) != NULL);
	ft_pump(&t4, 300);
	FT_CHECK(t4.nev == 1);
	ft_stop(&t4);
	unlink(wtmp);
}

/* A rotation while stopped: the start resumes in the rotated file
 * (PATH.1) and reads the sessions back from it, so the end of one opened
 * there, written to the new file, is named. */
static void test_recall_rotated(const char *dir)
{
	static struct ft t5, t6;
	char state[] = "/tmp/ym-wtmp-rot-XXXXXX", wtmp[256], old[300], pos[320];
	struct utmpx u;
	int fd;

	FT_CHECK(mkdtemp(state) != NULL);
	snprintf(wtmp, sizeof(wtmp), "%s/wtmp-rot", dir);
	snprintf(old, sizeof(old), "%s.1", wtmp);
	FT_CHECK((fd = open(wtmp, O_CREAT | O_WRONLY | O_TRUNC, 0664)) >= 0 && close(fd) == 0);
	setenv("YAMORI_WTMP", wtmp, 1);
	t5.env.state_dir = state;
	ft_start(&t5, &family_auth_wtmp_ops, NULL);
	rec(&u, USER_PROCESS, "rosa", "pts/40", "192.0.2.44", 4500);
	updwtmpx(wtmp, &u);
	FT_CHECK(ft_wait(&t5, 3000, "User", "rosa", NULL) != NULL);
	ft_stop(&t5);
	FT_CHECK(rename(wtmp, old) == 0);
	FT_CHECK((fd = open(wtmp, O_CREAT | O_WRONLY | O_TRUNC, 0664)) >= 0 && close(fd) == 0);
	rec(&u, DEAD_PROCESS, "", "pts/40", "", 4500);
	updwtmpx(wtmp, &u);
	t6.env.state_dir = state;
	ft_start(&t6, &family_auth_wtmp_ops, NULL);
	FT_CHECK(ft_wait(&t6, 3000, "Status", "logoff", "User", "rosa", "SourceHostname",
			 "192.0.2.44", NULL) != NULL);
	ft_pump(&t6, 300);
	FT_CHECK(t6.nev == 1);
	ft_stop(&t6);
	unlink(wtmp);
	unlink(old);
	snprintf(pos, sizeof(pos), "%s/auth_wtmp_position", state);
	unlink(pos);
	snprintf(pos, sizeof(pos), "%s/auth_btmp_position", state);
	unlink(pos);
	rmdir(state);
}

int main(void)
{
	char dir[] = "/tmp/ym-wtmp-XXXXXX", wtmp[256], btmp[256], pid[16];
	struct utmpx u;
	const struct ft_event *e;
	pid_t sess;
	int fd;

	FT_CHECK(mkdtemp(dir) != NULL);
	snprintf(wtmp, sizeof(wtmp), "%s/wtmp", dir);
	snprintf(btmp, sizeof(btmp), "%s/btmp", dir);
	setenv("YAMORI_WTMP", wtmp, 1);
	setenv("YAMORI_BTMP", btmp, 1);
	/* updwtmpx appends only to an existing file, as on a real system */
	FT_CHECK((fd = open(wtmp, O_CREAT | O_WRONLY, 0664)) >= 0 && close(fd) == 0);
	FT_CHECK((fd = open(btmp, O_CREAT | O_WRONLY, 0600)) >= 0 && close(fd) == 0);
	rec(&u, USER_PROCESS, "history", "pts/1", "gw.example", 1);
	FT_CHECK(inet_pton(AF_INET, "192.0.2.10", &u.ut_addr_v6[0]) == 1);
	updwtmpx(wtmp, &u);
	ft_start(&t, &family_auth_wtmp_ops, NULL);

	sess = ft_fork();
	if (sess == 0) {
		pause();
		_exit(0);
	}
	snprintf(pid, sizeof(pid), "%d", (int)sess);
	rec(&u, USER_PROCESS, "alice", "pts/7", "192.0.2.20", sess);
	FT_CHECK(inet_pton(AF_INET, "192.0.2.20", &u.ut_addr_v6[0]) == 1);
	updwtmpx(wtmp, &u);
	e = ft_wait(&t, 3000, "User", "alice", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_AUTHENTICATION);
	ft_expect(e, "Status", "success");
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "Terminal", "pts/7");
	ft_expect(e, "SourceIp", "192.0.2.20");
	ft_expect(e, "SourceHostname", "192.0.2.20");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", ft_self_image());

	/* the session's end, written as systemd and login write it (no user,
	 * host or address): named from its start on that terminal */
	rec(&u, DEAD_PROCESS, "", "pts/7", "", sess);
	updwtmpx(wtmp, &u);
	e = ft_wait(&t, 3000, "Status", "logoff", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "User", "alice");
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "Terminal", "pts/7");
	ft_expect(e, "SourceIp", "192.0.2.20");
	ft_expect(e, "SourceHostname", "192.0.2.20");
	ft_expect(e, "ProcessId", pid);
	/* a getty's exit on a terminal without a session, and the same
	 * terminal's end again: no event */
	rec(&u, DEAD_PROCESS, "", "tty3", "", 4243);
	updwtmpx(wtmp, &u);
	rec(&u, DEAD_PROCESS, "", "pts/7", "", sess);
	updwtmpx(wtmp, &u);
	/* the end of a session opened before the start (its logon not
	 * reported, but read back at the start), written without a user */
	rec(&u, DEAD_PROCESS, "", "pts/1", "", 4244);
	updwtmpx(wtmp, &u);
	e = ft_wait(&t, 3000, "Status", "logoff", "User", "history", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "Terminal", "pts/1");
	ft_expect(e, "SourceIp", "192.0.2.10");
	ft_expect(e, "SourceHostname", "gw.example");
	ft_expect(e, "ProcessId", "4244");
	/* sshd's own logout record names its user: a terminal whose logon
	 * is not in the table */
	rec(&u, DEAD_PROCESS, "sshonly", "pts/3", "", 4245);
	updwtmpx(wtmp, &u);
	e = ft_wait(&t, 3000, "Status", "logoff", "User", "sshonly", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "console");
	ft_expect(e, "Terminal", "pts/3");
	ft_expect(e, "SourceIp", NULL);
	ft_expect(e, "ProcessId", "4245");
	rec(&u, LOGIN_PROCESS, "mallory", "ssh:notty", "2001:db8::5", 4242);
	FT_CHECK(inet_pton(AF_INET6, "2001:db8::5", &u.ut_addr_v6[0]) == 1);
	updwtmpx(btmp, &u);
	e = ft_wait(&t, 3000, "User", "mallory", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Status", "failure");
	ft_expect(e, "LogonType", "ssh");
	ft_expect(e, "SourceIp", "2001:db8::5");
	ft_expect(e, "ProcessId", "4242");
	ft_expect(e, "Image", NULL);

	/* a console login written in two pieces */
	rec(&u, USER_PROCESS, "root", "tty1", "", 1);
	fd = open(wtmp, O_WRONLY | O_APPEND);
	FT_CHECK(fd >= 0);
	FT_CHECK(write(fd, &u, 100) == 100);
	ft_pump(&t, 300);
	FT_CHECK(ft_count(&t, "User", "root", NULL) == 0);
	FT_CHECK(write(fd, (char *)&u + 100, sizeof(u) - 100) == (ssize_t)(sizeof(u) - 100));
	close(fd);
	e = ft_wait(&t, 3000, "User", "root", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "LogonType", "console");
	ft_expect(e, "Terminal", "tty1");
	ft_expect(e, "SourceIp", NULL);

	ft_pump(&t, 300);
	FT_CHECK(t.nev == 6);
	FT_CHECK(ft_count(&t, "Status", "logoff", NULL) == 3);
	/* the collector sheds: a counted drop */
	{
		struct family_stats fs;

		t.ops->stats(t.f, &fs);
		FT_CHECK(fs.drops == 0 && fs.events == 6);
		t.shed = 1;
		rec(&u, USER_PROCESS, "shed", "pts/9", "", 1);
		updwtmpx(wtmp, &u);
		ft_pump(&t, 300);
		t.shed = 0;
		t.ops->stats(t.f, &fs);
		FT_CHECK(fs.drops == 1 && fs.events == 6);
	}
	FT_CHECK(ft_count(&t, "User", "history", "Status", "success", NULL) == 0);

	kill(sess, SIGKILL);
	waitpid(sess, NULL, 0);
	ft_stop(&t);
	test_resume(wtmp);
	test_recall(dir);
	test_recall_rotated(dir);
	unlink(wtmp);
	unlink(btmp);
	rmdir(dir);
	printf("ok: auth=wtmp (%d events)\n", t.nev);
	return 0;
}
