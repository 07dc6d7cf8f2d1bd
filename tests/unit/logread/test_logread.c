/* Unit tests for lib/logread: the bounded line reader, NDJSON flattening
 * and envelope, syslog (RFC 3164, RFC 5424, file format), the EVTX record
 * XML to fields conversion (XML as libevtx renders it), and EVTX files that
 * libevtx refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "err.h"
#include "event.h"
#include "logread.h"

/* A field from fields[] or xfields, by exact name. */
static const char *get(const struct event *ev, const char *name)
{
	const char *v = event_get(ev, name, NULL);

	for (uint32_t i = 0; !v && i < ev->nxfields; i++) {
		if (strcmp(ev->xfields[i].name, name) == 0)
			v = ev->xfields[i].value;
	}
	return v;
}

static void test_lines(void **state)
{
	static const char in[] = "one\r\n\ntoo long line\nthree\x00x\nlast";
	struct logread_lines l;
	const char *s;
	size_t n;
	(void)state;

	assert_int_equal(logread_lines_mem(&l, in, sizeof(in) - 1, 8), 0);
	assert_int_equal(logread_lines_next(&l, &s, &n), 1);
	assert_int_equal(n, 3);
	assert_string_equal(s, "one");
	assert_int_equal(logread_lines_next(&l, &s, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(logread_lines_next(&l, &s, &n), YM_E_TOOBIG);
	assert_int_equal(l.lineno, 3);
	assert_int_equal(logread_lines_next(&l, &s, &n), 1);
	assert_int_equal(n, 7); /* a NUL inside is kept and counted */
	assert_memory_equal(s, "three\0x", 7);
	assert_int_equal(logread_lines_next(&l, &s, &n), 1);
	assert_string_equal(s, "last");
	assert_int_equal(l.lineno, 5);
	assert_int_equal(logread_lines_next(&l, &s, &n), 0);
	assert_int_equal(logread_lines_next(&l, &s, &n), 0);
	logread_lines_close(&l);
	assert_int_equal(logread_lines_mem(&l, in, 1, 0), YM_E_INVAL);
	assert_int_equal(logread_lines_open(&l, "/nonexistent/file", 64), YM_E_IO);
}

/* A line far longer than the read chunk, then a normal one. */
static void test_lines_long(void **state)
{
	size_t big = 300000;
	char *in = malloc(big + 10);
	struct logread_lines l;
	const char *s;
	size_t n;
	(void)state;

	assert_non_null(in);
	memset(in, 'a', big);
	memcpy(in + big, "\nok\n", 4);
	assert_int_equal(logread_lines_mem(&l, in, big + 4, 100000), 0);
	assert_int_equal(logread_lines_next(&l, &s, &n), YM_E_TOOBIG);
	assert_int_equal(logread_lines_next(&l, &s, &n), 1);
	assert_string_equal(s, "ok");
	assert_int_equal(l.lineno, 2);
	logread_lines_close(&l);
	assert_int_equal(logread_lines_mem(&l, in, big + 4, big), 0);
	assert_int_equal(logread_lines_next(&l, &s, &n), 1);
	assert_int_equal(n, big);
	logread_lines_close(&l);
	free(in);
}

struct ctx {
	struct logread_arena a;
	struct event ev;
	struct logread_rec rec;
	char why[256];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	if (!c || logread_arena_init(&c->a, LOGREAD_ARENA))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	logread_arena_free(&c->a);
	free(c);
	return 0;
}

static int nd(struct ctx *c, const char *line, const struct logread_opts *o)
{
	return logread_ndjson_parse(line, strlen(line), o, &c->a, &c->ev, &c->rec, c->why,
				    sizeof(c->why));
}

static void test_ndjson(void **state)
{
	struct ctx *c = *state;
	struct logread_opts o = {"linux", "process_creation", NULL};

	assert_int_equal(nd(c,
			    "{\"Image\":\"/bin/sh\",\"a\":{\"b\":{\"c\":7}},\"t\":true,\"f\":false,"
			    "\"z\":null,\"r\":0.1,\"arr\":[\"x\",{\"k\":\"v\"}],\"bad-name\":\"y\","
			    "\"host\":\"h\",\"ts\":5}",
			    NULL),
			 0);
	assert_string_equal(get(&c->ev, "Image"), "/bin/sh");
	assert_string_equal(get(&c->ev, "a.b.c"), "7");
	assert_string_equal(get(&c->ev, "t"), "true");
	assert_string_equal(get(&c->ev, "f"), "false");
	assert_string_equal(get(&c->ev, "z"), "");
	assert_string_equal(get(&c->ev, "r"), "0.1");
	assert_string_equal(get(&c->ev, "arr.0"), "x");
	assert_string_equal(get(&c->ev, "arr.1.k"), "v");
	assert_string_equal(get(&c->ev, "bad_name"), "y");
	assert_null(get(&c->ev, "host"));
	assert_string_equal(c->ev.host, "h");
	assert_int_equal(c->ev.ts_ns, 5);
	assert_null(c->ev.product);
	assert_int_equal(c->ev.category, 0);
	/* options fill the logsource; the record's own envelope wins */
	assert_int_equal(nd(c, "{\"x\":1}", &o), 0);
	assert_string_equal(c->ev.product, "linux");
	assert_int_equal(c->ev.category, EVCAT_PROCESS_CREATION);
	assert_int_equal(nd(c,
			    "{\"x\":1,\"product\":\"aws\",\"category\":\"registry_set\","
			    "\"service\":\"cloudtrail\",\"time\":\"2026-01-02T03:04:05.5+01:00\"}",
			    &o),
			 0);
	assert_string_equal(c->ev.product, "aws");
	assert_int_equal(c->ev.category, 0);
	assert_string_equal(c->ev.category_name, "registry_set");
	assert_string_equal(c->ev.service, "cloudtrail");
	assert_string_equal(c->rec.category, "registry_set");
	assert_int_equal(c->ev.ts_ns, 1767319445500000000ull);
	/* errors */
	assert_int_equal(nd(c, "{\"a\":", NULL), YM_E_PARSE);
	assert_non_null(strstr(c->why, "not JSON"));
	assert_int_equal(nd(c, "[1]", NULL), YM_E_PARSE);
	assert_int_equal(nd(c, "{\"a\":\"x\\u0000y\"}", NULL), YM_E_PARSE);
	assert_int_equal(nd(c, "{\"ts\":\"x\"}", NULL), YM_E_PARSE);
	assert_int_equal(nd(c, "{\"ts\":[1]}", NULL), YM_E_PARSE);
}

static void test_ndjson_limits(void **state)
{
	struct ctx *c = *state;
	char line[8192];
	size_t n = 0;
	(void)state;

	/* 40 fields: 32 in fields[], 8 in xfields, all visible */
	n += (size_t)snprintf(line + n, sizeof(line) - n, "{");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"f%d\":\"v%d\"", i ? "," : "",
				      i, i);
	/* an array over 16 elements, and 20 levels of nesting */
	n += (size_t)snprintf(line + n, sizeof(line) - n, ",\"big\":[");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%d", i ? "," : "", i);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "],\"d\":");
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "{\"d\":");
	n += (size_t)snprintf(line + n, sizeof(line) - n, "1");
	for (int i = 0; i < 21; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "}");
	assert_true(n < sizeof(line) - 1);
	assert_int_equal(nd(c, line, NULL), 0);
	assert_int_equal(c->ev.nfields, EVENT_MAX_FIELDS);
	assert_int_equal(c->ev.nxfields, 40 + 16 - EVENT_MAX_FIELDS);
	assert_string_equal(get(&c->ev, "f39"), "v39");
	assert_string_equal(get(&c->ev, "big.15"), "15");
	assert_null(get(&c->ev, "big.16"));
	assert_int_equal(c->rec.dropped, 4 + 1);
}

static void test_ndjson_windows(void **state)
{
	struct ctx *c = *state;
	(void)state;

	assert_int_equal(
	    nd(c,
	       "{\"Event\":{\"#attributes\":{\"xmlns\":\"http://x\"},\"System\":{\"Provider\":{"
	       "\"#attributes\":{\"Name\":\"Microsoft-Windows-Security-Auditing\"}},\"EventID\":"
	       "4688,"
	       "\"Channel\":\"Security\",\"Computer\":\"dc1\"},\"EventData\":{\"NewProcessName\":"
	       "\"C:\\\\x.exe\",\"Command Line\":\"x\"}}}",
	       NULL),
	    0);
	assert_true(c->rec.windows);
	assert_string_equal(c->ev.product, "windows");
	assert_string_equal(c->ev.service, "security");
	assert_int_equal(c->ev.category, EVCAT_PROCESS_CREATION);
	assert_string_equal(get(&c->ev, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
	assert_string_equal(get(&c->ev, "Image"), "C:\\x.exe");
	assert_string_equal(get(&c->ev, "CommandLine"), "x");
	assert_string_equal(c->ev.host, "dc1");
}

static int sl(struct ctx *c, const char *line, const struct logread_opts *o)
{
	/* "now" is 2027-01-02T00:00:00Z */
	return logread_syslog_parse(line, strlen(line), o, 1798848000000000000ull, &c->a, &c->ev,
				    &c->rec, c->why, sizeof(c->why));
}

static void test_syslog(void **state)
{
	struct ctx *c = *state;
	struct logread_opts o = {NULL, NULL, "auth"};
	(void)state;

	assert_int_equal(sl(c, "Jan  1 10:00:00 host1 sshd[42]: Failed password for root", NULL),
			 0);
	assert_string_equal(get(&c->ev, "HOSTNAME"), "host1");
	assert_string_equal(get(&c->ev, "APP"), "sshd");
	assert_string_equal(get(&c->ev, "PID"), "42");
	assert_string_equal(get(&c->ev, "MESSAGE"), "Failed password for root");
	assert_null(get(&c->ev, "FACILITY"));
	assert_string_equal(c->ev.product, "linux");
	assert_string_equal(c->ev.service, "sshd");
	assert_string_equal(c->ev.host, "host1");
	assert_int_equal(c->ev.ts_ns, 1798797600000000000ull); /* 2027-01-01T10:00:00Z */
	/* December's line read on January 2nd is from last year */
	assert_int_equal(sl(c, "Dec 31 23:59:59 h CRON[1]: (root) CMD (x)", NULL), 0);
	assert_int_equal(c->ev.ts_ns, 1798761599000000000ull);
	assert_string_equal(c->ev.service, "cron");
	/* PRI, facility names, a tag without pid, the --logsource service */
	assert_int_equal(sl(c, "<86>Jan  1 10:00:00 h su: pam_unix(su:session): opened", &o), 0);
	assert_string_equal(get(&c->ev, "FACILITY"), "authpriv");
	assert_string_equal(get(&c->ev, "SEVERITY"), "info");
	assert_string_equal(get(&c->ev, "APP"), "su");
	assert_null(get(&c->ev, "PID"));
	assert_string_equal(c->ev.service, "auth");
	/* the facility decides when the program does not */
	assert_int_equal(sl(c, "<38>Jan  1 10:00:00 h myprog[3]: hello", NULL), 0);
	assert_string_equal(c->ev.service, "auth");
	assert_int_equal(sl(c, "<14>Jan  1 10:00:00 h myprog[3]: hello", NULL), 0);
	assert_string_equal(c->ev.service, "syslog");
	/* no tag: all of it is the message */
	assert_int_equal(sl(c, "Jan  1 10:00:00 h just some text", NULL), 0);
	assert_null(get(&c->ev, "APP"));
	assert_string_equal(get(&c->ev, "MESSAGE"), "just some text");
	/* rsyslog's RFC 3339 file format */
	assert_int_equal(sl(c, "2026-03-04T05:06:07.250+00:00 h sudo: x : COMMAND=/bin/id", NULL),
			 0);
	assert_int_equal(c->ev.ts_ns, 1772600767250000000ull);
	assert_string_equal(c->ev.service, "sudo");
	/* RFC 5424 with structured data and nil values */
	assert_int_equal(sl(c,
			    "<165>1 2026-03-04T05:06:07Z mymachine evntslog - ID47 "
			    "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"x]\"][b@1 a=\"\"] "
			    "\xef\xbb\xbf"
			    "An application event",
			    NULL),
			 0);
	assert_string_equal(get(&c->ev, "APP"), "evntslog");
	assert_null(get(&c->ev, "PID"));
	assert_string_equal(get(&c->ev, "MSGID"), "ID47");
	assert_string_equal(get(&c->ev, "SD"),
			    "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"x]\"][b@1 a=\"\"]");
	assert_string_equal(get(&c->ev, "MESSAGE"), "An application event");
	assert_string_equal(get(&c->ev, "FACILITY"), "local4");
	assert_string_equal(get(&c->ev, "SEVERITY"), "notice");
	assert_int_equal(sl(c, "<34>1 - - - - - -", NULL), 0);
	assert_null(c->ev.host);
	/* malformed */
	assert_int_equal(sl(c, "not syslog at all", NULL), YM_E_PARSE);
	assert_int_equal(sl(c, "<999>Jan  1 10:00:00 h x: y", NULL), YM_E_PARSE);
	assert_int_equal(sl(c, "<34>1 2026-13-01T00:00:00Z h a p m -", NULL), YM_E_PARSE);
	assert_int_equal(sl(c, "<34>1 2026-01-01T00:00:00Z h a p m [unterminated", NULL),
			 YM_E_PARSE);
	assert_int_equal(sl(c, "Foo  1 10:00:00 h x: y", NULL), YM_E_PARSE);
}

/* As libevtx renders a Sysmon process creation record. */
static const char sysmon_xml[] =
    "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n"
    "  <System>\n"
    "    <Provider Name=\"Microsoft-Windows-Sysmon\" "
    "Guid=\"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}\"/>\n"
    "    <EventID>1</EventID>\n"
    "    <Version>5</Version>\n"
    "    <Level>4</Level>\n"
    "    <TimeCreated SystemTime=\"2025-11-26T05:11:27.927693900Z\"/>\n"
    "    <EventRecordID>142649</EventRecordID>\n"
    "    <Correlation/>\n"
    "    <Execution ProcessID=\"3544\" ThreadID=\"4264\"/>\n"
    "    <Channel>Microsoft-Windows-Sysmon/Operational</Channel>\n"
    "    <Computer>ws1.corp</Computer>\n"
    "    <Security UserID=\"S-1-5-18\"/>\n"
    "  </System>\n"
    "  <EventData>\n"
    "    <Data Name=\"RuleName\">-</Data>\n"
    "    <Data Name=\"Image\">C:\\Users\\x\\GRB_NET.exe</Data>\n"
    "    <Data Name=\"CommandLine\">GRB_NET.exe  -m:scan &amp; -i:f</Data>\n"
    "    <Data "
    "Name=\"Hashes\">MD5=88DF27B6E794E3FD5F93F28B1CA1D3D0,SHA256="
    "F8810179AB033A9B79CD7006C1A74FBCDE6ED0451C92FBB8C7CE15B52499353A</Data>\n"
    "    <Data Name=\"ParentImage\"></Data>\n"
    "    <Data>unnamed one</Data>\n"
    "    <Data>unnamed two</Data>\n"
    "  </EventData>\n"
    "</Event>\n";

static int ex(struct ctx *c, const char *xml, const struct logread_opts *o)
{
	return logread_evtx_xml(xml, strlen(xml), o, &c->a, &c->ev, &c->rec, c->why,
				sizeof(c->why));
}

static void test_evtx_xml(void **state)
{
	struct ctx *c = *state;
	struct logread_opts o = {NULL, "registry_set", NULL};
	struct logread_opts o2 = {NULL, "process_access", NULL};
	(void)state;

	assert_int_equal(ex(c, sysmon_xml, NULL), 0);
	assert_true(c->rec.windows);
	assert_string_equal(c->ev.product, "windows");
	assert_string_equal(c->ev.service, "sysmon");
	assert_int_equal(c->ev.category, EVCAT_PROCESS_CREATION);
	assert_string_equal(c->ev.host, "ws1.corp");
	assert_int_equal(c->ev.ts_ns, 1764133887927693900ull);
	assert_string_equal(get(&c->ev, "EventID"), "1");
	assert_string_equal(get(&c->ev, "Provider_Name"), "Microsoft-Windows-Sysmon");
	assert_string_equal(get(&c->ev, "Execution_ProcessID"), "3544");
	assert_string_equal(get(&c->ev, "Security_UserID"), "S-1-5-18");
	assert_string_equal(get(&c->ev, "Image"), "C:\\Users\\x\\GRB_NET.exe");
	assert_string_equal(get(&c->ev, "CommandLine"), "GRB_NET.exe  -m:scan & -i:f");
	assert_string_equal(get(&c->ev, "ParentImage"), "");
	assert_string_equal(get(&c->ev, "Data.0"), "unnamed one");
	assert_string_equal(get(&c->ev, "Data.1"), "unnamed two");
	assert_non_null(strstr(get(&c->ev, "Hashes"), "SHA256=F8810179"));
	/* --logsource category replaces the mapped one */
	assert_int_equal(ex(c, sysmon_xml, &o), 0);
	assert_int_equal(c->ev.category, 0);
	assert_string_equal(c->ev.category_name, "registry_set");
	/* a category yamori has a number for gets the number */
	assert_int_equal(ex(c, sysmon_xml, &o2), 0);
	assert_int_equal(c->ev.category, EVCAT_PROCESS_ACCESS);
	/* UserData, and a record of another channel */
	assert_int_equal(ex(c,
			    "<Event><System><EventID>1102</EventID><Channel>Security</Channel>"
			    "</System><UserData><LogFileCleared xmlns=\"x\"><SubjectUserName>bob"
			    "</SubjectUserName></LogFileCleared></UserData></Event>",
			    NULL),
			 0);
	assert_string_equal(get(&c->ev, "SubjectUserName"), "bob");
	assert_string_equal(c->ev.service, "security");
	/* malformed XML */
	assert_int_equal(ex(c, "<Event><System>", NULL), YM_E_PARSE);
	assert_non_null(strstr(c->why, "record XML"));
	assert_int_equal(ex(c, "not xml", NULL), YM_E_PARSE);
}

static void test_files(void **state)
{
	char path[] = "/tmp/ym-logread-XXXXXX";
	int fd = mkstemp(path);
	struct logread *r;
	struct logread_rec rec;
	struct event ev;
	uint64_t where;
	char why[256];
	enum logread_format f;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\n  {\"a\":1}\n\n{bad\n", 17), 17);
	close(fd);
	assert_int_equal(logread_open(path, LOGREAD_AUTO, NULL, &r), 0);
	assert_int_equal(logread_format(r), LOGREAD_NDJSON);
	assert_int_equal(logread_next(r, &ev, &rec, &where, why, sizeof(why)), 1);
	assert_int_equal(where, 2);
	assert_string_equal(get(&ev, "a"), "1");
	assert_int_equal(logread_next(r, &ev, &rec, &where, why, sizeof(why)), YM_E_PARSE);
	assert_int_equal(where, 4);
	assert_int_equal(logread_next(r, &ev, &rec, &where, why, sizeof(why)), 0);
	logread_close(r);
	/* libevtx refuses what is not an EVTX file, whatever it begins with */
	assert_int_equal(logread_open(path, LOGREAD_EVTX, NULL, &r), YM_E_PARSE);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ElfFile\0junkjunk", 16), 16);
	close(fd);
	assert_int_equal(logread_open(path, LOGREAD_AUTO, NULL, &r), YM_E_PARSE);
	unlink(path);
	assert_int_equal(logread_open(path, LOGREAD_AUTO, NULL, &r), YM_E_IO);
	assert_int_equal(logread_format_parse("evtx", &f), 0);
	assert_int_equal(f, LOGREAD_EVTX);
	assert_int_equal(logread_format_parse("csv", &f), YM_E_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_lines_long),
	    cmocka_unit_test_setup_teardown(test_ndjson, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ndjson_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ndjson_windows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syslog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_evtx_xml, setup, teardown),
	    cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
