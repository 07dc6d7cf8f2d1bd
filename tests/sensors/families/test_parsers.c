/* The family parsers on hostile input, no privileges needed: DNS names with
 * compression loops, forward pointers, overlong labels and names, truncated
 * messages; auth log lines with injected separators; the kernel's socket
 * counters (/proc/net/snmp, sockstat) whole, cut and altered. */
#include "famtest.h"
#include "err.h"
#include "family_auth_authlog.h"
#include "family_dns_parse.h"
#include "family_file_watch.h"
#include "family_sock.h"

#include <string.h>
#include <time.h>

static int dns(const void *p, size_t n, struct family_dns_msg *m)
{
	return family_dns_parse(p, n, m);
}

static void test_dns(void)
{
	static struct family_dns_msg m;
	/* header: id 0x1234, response, rcode 0, 1 question, 2 answers */
	static const uint8_t ok[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
				     /* 12: www.example.test */
				     3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't',
				     'e', 's', 't', 0, 0, 1, 0, 1,
				     /* CNAME -> web.<16> */
				     0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'e', 'b',
				     0xc0, 16,
				     /* A 10.1.2.3 */
				     0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3};
	uint8_t b[600];
	char tb[12];

	FT_CHECK(dns(ok, sizeof(ok), &m) == 0);
	FT_CHECK(m.id == 0x1234 && m.qr == 1 && m.rcode == 0 && m.qtype == 1);
	FT_CHECK(strcmp(m.qname, "www.example.test") == 0);
	FT_CHECK(strcmp(m.answers, "web.example.test;10.1.2.3") == 0 && m.nanswers == 2);
	/* every truncation fails cleanly */
	for (size_t n = 0; n < sizeof(ok); n++)
		FT_CHECK(dns(ok, n, &m) != 0);
	/* a name pointing at itself */
	memcpy(b, ok, 12);
	b[5] = 1;
	b[7] = 0;
	b[12] = 0xc0;
	b[13] = 12;
	FT_CHECK(dns(b, 18, &m) == YM_E_PARSE);
	/* a forward pointer (could chain into a loop) */
	b[13] = 14;
	b[14] = 0xc0;
	b[15] = 12;
	FT_CHECK(dns(b, 20, &m) == YM_E_PARSE);
	/* a label of 64 (0x40: reserved type) */
	b[12] = 64;
	memset(b + 13, 'a', 64);
	b[77] = 0;
	FT_CHECK(dns(b, 82, &m) == YM_E_PARSE);
	/* 5 labels of 63: 320 wire bytes > 255 */
	for (int i = 0; i < 5; i++) {
		b[12 + i * 64] = 63;
		memset(b + 13 + i * 64, 'a', 63);
	}
	b[12 + 5 * 64] = 0;
	FT_CHECK(dns(b, 12 + 5 * 64 + 5, &m) == YM_E_PARSE);
	/* odd bytes in a label are escaped, never copied raw */
	memcpy(b, ok, 12);
	b[7] = 0;
	b[12] = 3;
	b[13] = 'a';
	b[14] = '.';
	b[15] = 0x01;
	b[16] = 0;
	memcpy(b + 17, "\x00\x01\x00\x01", 4);
	FT_CHECK(dns(b, 21, &m) == 0);
	FT_CHECK(strcmp(m.qname, "a\\046\\001") == 0);
	FT_CHECK(strcmp(family_dns_parse_type(28, tb), "AAAA") == 0);
	FT_CHECK(strcmp(family_dns_parse_type(999, tb), "TYPE999") == 0);
}

static void test_authlog(void)
{
	static struct family_auth_line l;
	const char *s;

	s = "Nov  6 02:03:31 host sshd[12]: Accepted password for root from 10.0.0.1 port 22 ssh2";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.user, "root") == 0 && strcmp(l.ip, "10.0.0.1") == 0 && l.pid == 12);
	/* the header's time: BSD form in the local zone (UTC here) */
	{
		time_t t = (time_t)(l.ts_ns / 1000000000ull);
		struct tm tm;

		FT_CHECK(l.ts_ns % 1000000000ull == 0 && gmtime_r(&t, &tm) != NULL);
		FT_CHECK(tm.tm_mon == 10 && tm.tm_mday == 6 && tm.tm_hour == 2 && tm.tm_min == 3 &&
			 tm.tm_sec == 31);
	}
	s = "2026-11-27T10:17:06.885710+01:00 vm sshd[22597]: Accepted publickey for ymtest from "
	    "127.0.0.1 port 54574 ssh2: ED25519 SHA256:qxe";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(l.ts_ns == 1795771026885710000ull && l.pid == 22597);
	s = "2026-11-27X10:17:06+01:00 vm sshd[1]: Accepted publickey for a from 1.1.1.1 port 1 "
	    "ssh2";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0 && l.ts_ns == 0);
	FT_CHECK(strcmp(l.status, "success") == 0 && strcmp(l.type, "ssh") == 0);
	/* a user name carrying " from " cannot move the source */
	s = "Nov 26 02:03:31 h sshd[1]: Failed password for invalid user x from 1.1.1.1 port 1 "
	    "from 2.2.2.2 port 2 ssh2";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.ip, "2.2.2.2") == 0 && strcmp(l.user, "x from 1.1.1.1 port 1") == 0);
	/* not authentication, and broken headers */
	s = "Nov 26 02:03:31 h sshd[1]: Connection closed by 1.2.3.4 port 5";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_NOTFOUND);
	s = "Nov 26 02:03:31 h sshd[x]: Accepted password for a from 1.1.1.1 port 1 ssh2";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[1]: Accepted password for ";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	/* OpenSSH 9.8 on, and rsyslog's repeated lines */
	s = "Nov 26 02:03:31 h sshd-session[7]: Accepted publickey for al from 10.0.0.2 port 2 "
	    "ssh2";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.user, "al") == 0 && strcmp(l.prog, "sshd-session") == 0 && l.repeat == 1);
	s = "Nov 26 02:03:31 h sshd[1]: message repeated 12 times: [ Failed password for root from "
	    "10.0.0.3 port 3 ssh2]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(l.repeat == 12 && strcmp(l.ip, "10.0.0.3") == 0 && strcmp(l.port, "3") == 0);
	FT_CHECK(strcmp(l.status, "failure") == 0 && strcmp(l.user, "root") == 0);
	s = "Nov 26 02:03:31 h sshd[1]: message repeated 0 times: [ Failed password for root from "
	    "10.0.0.3 port 3 ssh2]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[1]: message repeated 2 times: [ Failed password for root from "
	    "10.0.0.3 port 3 ssh2";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[1]: message repeated 2000000 times: [ Failed password for "
	    "root from 10.0.0.3 port 3 ssh2]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[1]: message repeated 2 times: [ Connection closed]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_NOTFOUND);
	/* the ends of sessions: sshd's (an authenticated connection's name
	 * only), su's (its target) and login's */
	s = "Nov 26 02:03:31 h sshd[40]: Disconnected from user bob 10.0.0.7 port 50122";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.status, "logoff") == 0 && strcmp(l.type, "ssh") == 0 && l.pid == 40);
	FT_CHECK(strcmp(l.user, "bob") == 0 && strcmp(l.ip, "10.0.0.7") == 0 &&
		 strcmp(l.port, "50122") == 0 && l.method[0] == '\0');
	s = "Nov 26 02:03:31 h sshd-session[41]: Timeout, client not responding from user "
	    "a b 2001:db8::9 port 7";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.user, "a b") == 0 && strcmp(l.ip, "2001:db8::9") == 0 &&
		 strcmp(l.port, "7") == 0 && strcmp(l.status, "logoff") == 0);
	s = "Nov 26 02:03:31 h sshd[42]: Connection reset by user carl 10.0.0.8 port 9";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.user, "carl") == 0 && strcmp(l.status, "logoff") == 0);
	s = "Nov 26 02:03:31 h sshd[42]: Connection closed by authenticating user root 10.0.0.8 "
	    "port 9 [preauth]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_NOTFOUND);
	s = "Nov 26 02:03:31 h sshd[42]: Disconnected from invalid user x 10.0.0.8 port 9 "
	    "[preauth]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_NOTFOUND);
	s = "Nov 26 02:03:31 h sshd[42]: Disconnected from user root 10.0.0.8 port 9 [preauth]";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[42]: Disconnected from user 10.0.0.8 port 9";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[42]: Disconnected from user root 10.0.0.8 port ";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h sshd[43]: pam_unix(sshd:session): session closed for user bob";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_NOTFOUND);
	s = "Nov 26 02:03:31 h su[44]: pam_unix(su-l:session): session closed for user root";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.type, "su") == 0 && strcmp(l.status, "logoff") == 0 &&
		 strcmp(l.target, "root") == 0 && l.user[0] == '\0' && l.pid == 44);
	s = "Nov 26 02:03:31 h su[44]: pam_unix(su:session): session closed for user ";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_PARSE);
	s = "Nov 26 02:03:31 h login[45]: pam_unix(login:session): session closed for user root";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.type, "console") == 0 && strcmp(l.status, "logoff") == 0 &&
		 strcmp(l.user, "root") == 0);
	s = "Nov 26 02:03:31 h sudo[46]: pam_unix(sudo:session): session closed for user root";
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == YM_E_NOTFOUND);
	/* every prefix of a valid line parses or fails cleanly */
	s = "2026-11-26T02:03:32+00:00 h sudo: bob : TTY=pts/0 ; PWD=/ ; USER=root ; "
	    "COMMAND=/bin/id";
	for (size_t n = 0; n <= strlen(s); n++)
		(void)family_auth_authlog_parse(s, n, &l);
	{
		const char *r = "Nov 26 02:03:31 h sshd[1]: message repeated 2 times: [ Failed "
				"password for x from 1.1.1.1 port 1 ssh2]";

		for (size_t n = 0; n <= strlen(r); n++)
			(void)family_auth_authlog_parse(r, n, &l);
	}
	FT_CHECK(family_auth_authlog_parse(s, strlen(s), &l) == 0);
	FT_CHECK(strcmp(l.cmd, "/bin/id") == 0 && strcmp(l.target, "root") == 0);
}

static void test_watch(void)
{
	static struct family_file_watch w;
	static const char *const spec[] = {"/a/b/c/", "/a/f", "x:/t/", "d:/l/g/", NULL};
	static const char *const nodir[] = {"d:/l/g", NULL};
	static const char *const rdir[] = {"r:/etc/", NULL}, *const rhome[] = {"r:~/k", NULL};
	static const char *const reads[] = {"r:/1", "r:/2", "r:/3", "r:/4", "r:/5",
					    "r:/6", "r:/7", "r:/8", "r:/9", NULL};

	FT_CHECK(family_file_watch_build(nodir, &w) == YM_E_INVAL);
	/* "r:": a file, not in "~/", at most FAMILY_FILE_WATCH_READS; kept
	 * apart, matching no other action */
	FT_CHECK(family_file_watch_build(rdir, &w) == YM_E_INVAL);
	FT_CHECK(family_file_watch_build(rhome, &w) == YM_E_INVAL);
	FT_CHECK(family_file_watch_build(reads, &w) == YM_E_TOOBIG);
	FT_CHECK(family_file_watch_build(reads + 1, &w) == 0 && w.nreads == 8 && w.n == 0);
	FT_CHECK(strcmp(w.reads[0].path, "/2") == 0 && family_file_watch_match(&w, "/2", 2) == 0);
	FT_CHECK(family_file_watch_build(spec, &w) == 0);
	/* "d:": a tree (only what loses content is reported: the modes) */
	FT_CHECK(family_file_watch_match(&w, "/l/g/x/y.log", 12) == FAMILY_FILE_WATCH_LOSS);
	FT_CHECK(family_file_watch_match(&w, "/l/gx", 5) == 0);
	FT_CHECK(family_file_watch_leads_to(&w, "/l", 2) == 1);
	FT_CHECK(family_file_watch_leads_to(&w, "/l/g", 4) == 1);
	/* a tree's folder and its ancestors lead to it; nothing else does */
	FT_CHECK(family_file_watch_leads_to(&w, "/a", 2) == 1);
	FT_CHECK(family_file_watch_leads_to(&w, "/a/b", 4) == 1);
	FT_CHECK(family_file_watch_leads_to(&w, "/a/b/c", 6) == 1);
	FT_CHECK(family_file_watch_leads_to(&w, "/a/bb", 5) == 0);
	FT_CHECK(family_file_watch_leads_to(&w, "/a/b/c/d", 8) == 0);
	FT_CHECK(family_file_watch_match(&w, "/a/b/c/d", 8) == FAMILY_FILE_WATCH_TREE);
	FT_CHECK(family_file_watch_leads_to(&w, "/t", 2) == 0);
	FT_CHECK(family_file_watch_leads_to(&w, "/x", 2) == 0);
	/* the defaults on a host with the most homes expanded (before: more
	 * than ~80 homes made the list too big, and the file family did not
	 * start); a home made after the start is watched too */
	{
		static char hb[FAMILY_FILE_WATCH_HOMES + 1][32];
		static const char *homes[FAMILY_FILE_WATCH_HOMES + 1];
		static const char *const many[] = {
		    "/a/",   "~/.ssh/", "~/.bashrc", "~/.config/systemd/", "~/.config/autostart/",
		    "x:/t/", NULL};
		const char *p;

		homes[0] = "/root/";
		for (int i = 1; i <= FAMILY_FILE_WATCH_HOMES; i++) {
			snprintf(hb[i], sizeof(hb[i]), "/home/u%d/", i);
			homes[i] = hb[i];
		}
		FT_CHECK(family_file_watch_build_homes(NULL, homes, FAMILY_FILE_WATCH_HOMES + 1,
						       &w) == 0);
		FT_CHECK(family_file_watch_match(&w, "/var/log/auth.log", 17) ==
			 FAMILY_FILE_WATCH_LOSS);
		FT_CHECK(family_file_watch_build_homes(many, homes, FAMILY_FILE_WATCH_HOMES + 1,
						       &w) == 0);
		FT_CHECK(w.n == 2 + 4 * (FAMILY_FILE_WATCH_HOMES + 1) && w.nrel == 4);
#define M(s) family_file_watch_match(&w, s, strlen(s))
#define L(s) family_file_watch_leads_to(&w, s, strlen(s))
		FT_CHECK(M("/home/u256/.ssh/authorized_keys") == FAMILY_FILE_WATCH_TREE);
		FT_CHECK(M("/home/late/.ssh/authorized_keys") == FAMILY_FILE_WATCH_TREE);
		FT_CHECK(M("/root/.bashrc") == FAMILY_FILE_WATCH_FILE);
		FT_CHECK(M("/home/late/.bashrc") == FAMILY_FILE_WATCH_FILE);
		FT_CHECK(M("/home/late/.bashrc.bak") == 0);
		FT_CHECK(M("/home/late/x/.bashrc") == 0);
		FT_CHECK(M("/home/.hidden/.ssh/k") == 0);
		FT_CHECK(M("/home/late/.ssh") == 0);
		FT_CHECK(M("/home/late") == 0);
		FT_CHECK(M("/home//.ssh/k") == 0);
		FT_CHECK(M("/other/.ssh/k") == 0);
		FT_CHECK(M("/a/x") == FAMILY_FILE_WATCH_TREE);
		FT_CHECK(M("/t/x") == FAMILY_FILE_WATCH_EXEC && M("/t/d/x") == 0);
		FT_CHECK(L("/home") && L("/root") && L("/home/late") && L("/home/late/.config"));
		FT_CHECK(L("/home/late/.ssh") && L("/root/.config/systemd"));
		FT_CHECK(!L("/home/late/.cache") && !L("/home/late/.ssh/x") && !L("/homes"));
		FT_CHECK(!L("/home/late/.configx"));
#undef M
#undef L
		/* more "~/" entries than FAMILY_FILE_WATCH_REL: refused */
		{
			static const char *big[FAMILY_FILE_WATCH_REL + 2];
			static char bb[FAMILY_FILE_WATCH_REL + 1][16];

			for (int i = 0; i <= FAMILY_FILE_WATCH_REL; i++) {
				snprintf(bb[i], sizeof(bb[i]), "~/.f%d", i);
				big[i] = bb[i];
			}
			big[FAMILY_FILE_WATCH_REL + 1] = NULL;
			FT_CHECK(family_file_watch_build_homes(big, homes, 1, &w) == YM_E_TOOBIG);
		}
		p = "~/../etc/";
		{
			const char *bad[] = {p, NULL};

			FT_CHECK(family_file_watch_build_homes(bad, homes, 1, &w) == YM_E_INVAL);
		}
	}
}

static int opens(const char *text, uint64_t *a, uint64_t *p)
{
	return family_sock_snmp_opens(text, strlen(text), a, p);
}

static void test_sock_counters(void)
{
	static const char snmp[] =
	    "Ip: Forwarding DefaultTTL InReceives\n"
	    "Ip: 1 64 123\n"
	    "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
	    "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
	    "Tcp: 1 200 120000 -1 67578388 67569643 8695 6330641 0 399297804 399296968 46 0 "
	    "3181291 0\n"
	    "Udp: InDatagrams NoPorts\n"
	    "Udp: 5 6\n";
	static const char sockstat[] = "sockets: used 8\n"
				       "TCP: inuse 3 orphan 0 tw 12 alloc 4 mem 1\n"
				       "UDP: inuse 2 mem 0\n"
				       "UDPLITE: inuse 9\n";
	uint64_t a = 0, p = 0, n = 0;
	char buf[1024];

	FT_CHECK(opens(snmp, &a, &p) == 0);
	FT_CHECK(a == 67578388 && p == 67569643);
	/* the values line cut in the middle: fewer values than names */
	memcpy(buf, snmp, sizeof(snmp));
	*strstr(buf, " 8695") = 0;
	FT_CHECK(opens(buf, &a, &p) == YM_E_NOTFOUND);
	/* no values line, no Tcp section, a value that is not a number, a
	 * name missing, a token longer than any counter */
	FT_CHECK(opens("Tcp: ActiveOpens PassiveOpens\n", &a, &p) == YM_E_NOTFOUND);
	FT_CHECK(opens("Udp: InDatagrams\nUdp: 5\n", &a, &p) == YM_E_NOTFOUND);
	FT_CHECK(opens("Tcp: ActiveOpens PassiveOpens\nTcp: 5 x\n", &a, &p) == YM_E_NOTFOUND);
	FT_CHECK(opens("Tcp: ActiveOpens CurrEstab\nTcp: 5 6\n", &a, &p) == YM_E_NOTFOUND);
	FT_CHECK(opens("Tcp: ActiveOpens PassiveOpens\nTcp: 5 123456789012345678901234567890\n", &a,
		       &p) == YM_E_NOTFOUND);
	FT_CHECK(opens("", &a, &p) == YM_E_NOTFOUND);
	/* the text need not end with a newline, nor with a NUL */
	FT_CHECK(family_sock_snmp_opens("Tcp: ActiveOpens PassiveOpens\nTcp: 7 8xx", 38, &a, &p) ==
		     0 &&
		 a == 7 && p == 8);

	FT_CHECK(family_sock_inuse(sockstat, strlen(sockstat), "TCP", &n) == 0 && n == 3);
	FT_CHECK(family_sock_inuse(sockstat, strlen(sockstat), "UDP", &n) == 0 && n == 2);
	/* "UDP" is not "UDPLITE", nor "TCP" "TCP6" */
	FT_CHECK(family_sock_inuse("UDPLITE: inuse 9\n", 17, "UDP", &n) == YM_E_NOTFOUND);
	FT_CHECK(family_sock_inuse("TCP6: inuse 9\n", 14, "TCP", &n) == YM_E_NOTFOUND);
	FT_CHECK(family_sock_inuse("TCP6: inuse 9\n", 14, "TCP6", &n) == 0 && n == 9);
	FT_CHECK(family_sock_inuse("TCP: orphan 1 inuse 2\n", 22, "TCP", &n) == YM_E_NOTFOUND);
	FT_CHECK(family_sock_inuse("TCP: inuse\n", 11, "TCP", &n) == YM_E_NOTFOUND);
	FT_CHECK(family_sock_inuse("TCP: inuse -1\n", 14, "TCP", &n) == YM_E_NOTFOUND);
	FT_CHECK(family_sock_inuse(sockstat, strlen(sockstat), "AVERYLONGPROTOCOLNAME", &n) ==
		 YM_E_INVAL);
}

int main(void)
{
	setenv("TZ", "UTC", 1); /* the local zone of BSD syslog times */
	tzset();
	test_dns();
	test_authlog();
	test_watch();
	test_sock_counters();
	printf("ok: parsers\n");
	return 0;
}
