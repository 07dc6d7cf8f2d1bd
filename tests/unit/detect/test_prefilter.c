/* Unit tests for the literal prefilter of lib/detect (prefilter.c): which
 * rules ruleset_match evaluates for an event (ruleset_candidates), that a
 * rule which can match is always among them (NOT, keywords, case folding,
 * wildcards, regular expressions, exact values, several clauses), that the
 * matches equal those without prefilter, and hot reload: threads matching a
 * stream while another thread swaps rulesets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "err.h"
#include "event.h"

#define HDR                                                                                        \
	"title: t\n"                                                                               \
	"id: 11111111-2222-4333-8444-555555555555\n"                                               \
	"logsource:\n"                                                                             \
	"    product: linux\n"                                                                     \
	"    category: process_creation\n"                                                         \
	"detection:\n"

struct pair {
	struct ruleset *pf, *plain; /* the same rules with and without prefilter */
};

static struct pair load2(const char *det)
{
	struct detect_options no = {.no_prefilter = 1};
	struct detect_load_stats st;
	struct pair p = {0};
	char yaml[4096];

	snprintf(yaml, sizeof(yaml), "%s%s", HDR, det);
	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "t.yml", &p.pf, &st, NULL, NULL), 0);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(
	    ruleset_load_mem_opts(yaml, strlen(yaml), "t.yml", &no, &p.plain, &st, NULL, NULL), 0);
	assert_int_equal(st.loaded, 1);
	return p;
}

static void free2(struct pair *p)
{
	ruleset_free(p->pf);
	ruleset_free(p->plain);
}

static void fill(struct event *ev, va_list ap)
{
	const char *k;

	event_init(ev);
	ev->category = EVCAT_PROCESS_CREATION;
	ev->product = "linux";
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		assert_int_equal(event_set_str(ev, k, v), 0);
	}
}

/* Matches the event (name, value pairs ending in NULL) against both rulesets,
 * which must agree; returns 2 when the rule matched, 1 when it was a
 * candidate that did not match, 0 when the prefilter skipped it. */
static int check(const struct pair *p, ...)
{
	unsigned char cand[1];
	struct event ev;
	va_list ap;
	int a, b;
	long c;

	va_start(ap, p);
	fill(&ev, ap);
	va_end(ap);
	a = ruleset_match(p->pf, &ev, NULL, NULL);
	b = ruleset_match(p->plain, &ev, NULL, NULL);
	assert_int_equal(a, b);
	c = ruleset_candidates(p->pf, &ev, cand, sizeof(cand));
	assert_true(c == 0 || c == 1);
	assert_int_equal(cand[0], (unsigned char)c);
	if (a)
		assert_int_equal(c, 1); /* a match is always a candidate */
	/* without prefilter every routed rule is a candidate */
	assert_int_equal(ruleset_candidates(p->plain, &ev, cand, sizeof(cand)), 1);
	return a ? 2 : (int)c;
}

static void test_contains_case_folding(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|contains: MiMiKatz\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "run MIMIKATZ.exe", NULL), 2);
	assert_int_equal(check(&p, "CommandLine", "run mimikatz", NULL), 2);
	assert_int_equal(check(&p, "CommandLine", "run mimi katz", NULL), 0);
	/* the literal in another field does not make it a candidate */
	assert_int_equal(check(&p, "Image", "/tmp/mimikatz", "CommandLine", "x", NULL), 0);
	/* rule field names match event fields whatever their case */
	assert_int_equal(check(&p, "commandline", "mimikatz", NULL), 2);
	free2(&p);
}

static void test_cased_modifier(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|contains|cased: MiMiKatz\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "MiMiKatz", NULL), 2);
	/* the prefilter folds case, the rule does not */
	assert_int_equal(check(&p, "CommandLine", "mimikatz", NULL), 1);
	free2(&p);
}

static void test_not_is_always_candidate(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|contains: harmless\n"
			      "    condition: not sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "anything else", NULL), 2);
	assert_int_equal(check(&p, "Image", "/bin/ls", NULL), 2);
	assert_int_equal(check(&p, "CommandLine", "HARMLESS", NULL), 1);
	free2(&p);
}

static void test_and_not_uses_positive_side(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        Image|endswith: /curl\n"
			      "    filter:\n"
			      "        CommandLine|contains: localhost\n"
			      "    condition: sel and not filter\n");
	(void)state;
	assert_int_equal(check(&p, "Image", "/usr/bin/curl", "CommandLine", "curl x", NULL), 2);
	assert_int_equal(check(&p, "Image", "/usr/bin/curl", "CommandLine", "localhost", NULL), 1);
	assert_int_equal(check(&p, "Image", "/usr/bin/curlx", "CommandLine", "x", NULL), 0);
	free2(&p);
}

static void test_keywords(void **state)
{
	struct pair p = load2("    keywords:\n"
			      "        - 'Evil-Thing'\n"
			      "        - 'other*bad'\n"
			      "    condition: keywords\n");
	(void)state;
	assert_int_equal(check(&p, "User", "root", "CommandLine", "x EVIL-THING y", NULL), 2);
	assert_int_equal(check(&p, "Image", "/other/very/bad", NULL), 2);
	assert_int_equal(check(&p, "Image", "/bin/ls", "CommandLine", "ls", NULL), 0);
	/* values are scanned NUL-separated: a literal split over two fields is
	 * not found */
	assert_int_equal(check(&p, "Image", "evil", "CommandLine", "-thing", NULL), 0);
	free2(&p);
}

static void test_wildcards_longest_piece(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine: 'foo*barbaz?qux*'\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "FOO and BARBAZ-QUX!", NULL), 2);
	/* "barbaz" is the piece the prefilter looks for */
	assert_int_equal(check(&p, "CommandLine", "xbarbaz", NULL), 1);
	assert_int_equal(check(&p, "CommandLine", "foo qux", NULL), 0);
	assert_int_equal(check(&p, "CommandLine", "foo barba qux", NULL), 0);
	free2(&p);
}

static void test_exact_value_framed(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        Image: /usr/bin/nc\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "Image", "/USR/BIN/NC", NULL), 2);
	assert_int_equal(check(&p, "Image", "/usr/bin/ncat", NULL), 0);
	assert_int_equal(check(&p, "Image", "x/usr/bin/nc", NULL), 0);
	free2(&p);
}

static void test_startswith_endswith(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        Image|startswith: /tmp/\n"
			      "        CommandLine|endswith: ' -e'\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "Image", "/tmp/x", "CommandLine", "nc -e", NULL), 2);
	/* both clauses are needed */
	assert_int_equal(check(&p, "Image", "/tmp/x", "CommandLine", "nc -e x", NULL), 0);
	assert_int_equal(check(&p, "Image", "/var/tmp/x", "CommandLine", "nc -e", NULL), 0);
	free2(&p);
}

static void test_one_of_union(void **state)
{
	struct pair p = load2("    sel_a:\n"
			      "        CommandLine|contains: alpha\n"
			      "    sel_ab:\n"
			      "        Image|endswith: /beta\n"
			      "    sel_c:\n"
			      "        User: root\n"
			      "    condition: 1 of sel_a* or sel_c\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "ALPHA", NULL), 2);
	assert_int_equal(check(&p, "Image", "/x/beta", NULL), 2);
	assert_int_equal(check(&p, "User", "root", NULL), 2);
	assert_int_equal(check(&p, "User", "roots", "Image", "/beta/x", NULL), 0);
	free2(&p);
}

static void test_all_modifier(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|contains|all:\n"
			      "            - ' -enc '\n"
			      "            - 'powershell'\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "PowerShell -enc AAAA", NULL), 2);
	assert_int_equal(check(&p, "CommandLine", "powershell -nop", NULL), 1);
	assert_int_equal(check(&p, "CommandLine", "pwsh", NULL), 0);
	free2(&p);
}

static void test_windash_variants(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|windash|contains: ' -decode '\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "certutil /decode a b", NULL), 2);
	assert_int_equal(check(&p, "CommandLine", "certutil -decode a b", NULL), 2);
	assert_int_equal(check(&p, "CommandLine", "certutil decode a b", NULL), 0);
	free2(&p);
}

static void test_regex_literal(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|re: 'ab[0-9]+cdef\\.x{2}'\n"
			      "    condition: sel\n");
	struct pair alt = load2("    sel:\n"
				"        CommandLine|re: 'foo|bar'\n"
				"    condition: sel\n");
	struct pair q = load2("    sel:\n"
			      "        CommandLine|re: '-(W|R)\\s?x{2,20}yz'\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "CommandLine", "ab12cdef.xx", NULL), 2);
	/* regexes compare case-sensitively: a candidate, no match */
	assert_int_equal(check(&p, "CommandLine", "AB12CDEF.XX", NULL), 1);
	assert_int_equal(check(&p, "CommandLine", "ab12cde", NULL), 0);
	/* a top-level alternation gives nothing certain */
	assert_int_equal(check(&alt, "CommandLine", "bar", NULL), 2);
	assert_int_equal(check(&alt, "CommandLine", "zzz", NULL), 1);
	/* a quantifier's digits are no literal */
	assert_int_equal(check(&q, "CommandLine", "-W xxxyz", NULL), 2);
	assert_int_equal(check(&q, "CommandLine", "-Rxxyz", NULL), 2);
	free2(&p);
	free2(&alt);
	free2(&q);
}

static void test_no_literal_items(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        ProcessId|gt: 100\n"
			      "    condition: sel\n");
	struct pair n = load2("    sel:\n"
			      "        Image: null\n"
			      "    condition: sel\n");
	(void)state;
	assert_int_equal(check(&p, "ProcessId", "200", NULL), 2);
	assert_int_equal(check(&p, "ProcessId", "2", NULL), 1);
	assert_int_equal(check(&n, "CommandLine", "x", NULL), 2);
	free2(&p);
	free2(&n);
}

static void test_fields_differing_in_case(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        Image: /bin/a\n"
			      "    condition: sel\n");
	(void)state;
	/* the exact name wins, as without prefilter */
	assert_int_equal(check(&p, "image", "/bin/a", "Image", "/bin/b", NULL), 1);
	assert_int_equal(check(&p, "image", "/bin/b", "Image", "/bin/a", NULL), 2);
	free2(&p);
}

/* Patterns decided by the field's literal scan (contains, startswith,
 * endswith and equality of one literal, once the field has a database):
 * the same answers as without prefilter, for a value seen again (the value
 * cache), a value with many literal hits, and values holding NUL bytes,
 * where a framed literal could hit at the inner NUL. */
#define MANY(p)                                                                                    \
	"'" p "1', '" p "2', '" p "3', '" p "4', '" p "5', '" p "6', '" p "7', '" p "8', '" p "9'"

static int check_x(const struct pair *p, const char *name, const char *v, size_t n)
{
	struct event_field xf = {name, v, (uint32_t)n};
	struct event ev;
	int a, b;

	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	ev.product = "linux";
	ev.xfields = &xf;
	ev.nxfields = 1;
	a = ruleset_match(p->pf, &ev, NULL, NULL);
	b = ruleset_match(p->plain, &ev, NULL, NULL);
	assert_int_equal(a, b);
	return a;
}

static void test_decided_by_scan(void **state)
{
	struct pair p = load2("    sel_e:\n"
			      "        Image|endswith: ['/tool', " MANY("/e") "]\n"
			      "    sel_c:\n"
			      "        CommandLine|contains: ['whoami', " MANY("cx") "]\n"
			      "    sel_s:\n"
			      "        ParentImage|startswith: ['/opt/', " MANY("/s") "]\n"
			      "    sel_q:\n"
			      "        User: ['root', " MANY("u") "]\n"
			      "    condition: 1 of sel_*\n");
	char many[512];
	size_t k = 0;

	(void)state;
	for (int round = 0; round < 3; round++) { /* again: replayed from the value cache */
		assert_int_equal(check(&p, "Image", "/usr/bin/tool", NULL), 2);
		assert_true(check(&p, "Image", "/usr/bin/tool2", NULL) < 2);
		assert_int_equal(check(&p, "Image", "/usr/bin/TOOL", NULL), 2);
		assert_int_equal(check(&p, "CommandLine", "sh -c WhoAmI", NULL), 2);
		assert_true(check(&p, "CommandLine", "sh -c who am i", NULL) < 2);
		assert_int_equal(check(&p, "ParentImage", "/opt/x", NULL), 2);
		assert_true(check(&p, "ParentImage", "/x/opt/", NULL) < 2);
		assert_int_equal(check(&p, "User", "ROOT", NULL), 2);
		assert_true(check(&p, "User", "roots", NULL) < 2);
	}
	/* more literal hits in one value than the cache keeps */
	for (int i = 1; i <= 9; i++)
		k += (size_t)snprintf(many + k, sizeof(many) - k, "cx%d ", i);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(check(&p, "CommandLine", many, NULL), 2);
		for (int i = 0; i < 80 && k + 4 < sizeof(many); i++)
			k += (size_t)snprintf(many + k, sizeof(many) - k, "%c", 'a' + i % 26);
	}
	/* NUL bytes inside values: a framed literal hits at an inner NUL, but
	 * the value neither starts with nor equals it */
	assert_int_equal(check_x(&p, "ParentImage", "x\0/opt/y", 8), 0);
	assert_int_equal(check_x(&p, "ParentImage", "/opt/\0y", 7), 1);
	assert_int_equal(check_x(&p, "User", "x\0root", 6), 0);
	assert_int_equal(check_x(&p, "Image", "/usr/bin/tool\0x", 15), 0);
	assert_int_equal(check_x(&p, "Image", "x\0/usr/bin/tool", 15), 1);
	assert_int_equal(check_x(&p, "CommandLine", "a\0whoami\0b", 10), 1);
	free2(&p);
}

/* Remembered results (prefilter_memo_get): a rule's result is reused for
 * the same values of the fields it reads, the other field of a fieldref and
 * its filter's fields included; different values, a value pushed out of the
 * value cache, missing fields and names given twice are never confused. */
static void test_remembered_results(void **state)
{
	struct pair p = load2("    sel_same:\n"
			      "        Image|fieldref: ParentImage\n"
			      "    sel_re:\n"
			      "        CommandLine|re: '\\s[a-f0-9]{8}\\s'\n"
			      "    filter:\n"
			      "        OriginalFileName: ['a.exe', 'b.exe']\n"
			      "    condition: 1 of sel_* and not filter\n");
	static const char *const img[] = {"/x/a", "/x/b"};
	static const char *const par[] = {"/x/a", "/x/c"};
	static const char *const cmd[] = {"run 1234abcd x", "run zz"};
	static const char *const ofn[] = {"a.exe", "c.exe", NULL};
	char v[32];
	int seen[2] = {0, 0};

	(void)state;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 2 * 2 * 2 * 3; i++) {
			const char *o = ofn[i % 3];
			int r =
			    o ? check(&p, "Image", img[i / 12], "ParentImage", par[i / 6 % 2],
				      "CommandLine", cmd[i / 3 % 2], "OriginalFileName", o, NULL)
			      : check(&p, "Image", img[i / 12], "ParentImage", par[i / 6 % 2],
				      "CommandLine", cmd[i / 3 % 2], NULL);
			seen[r == 2]++;
		}
		/* push every cached value out: new OriginalFileName values */
		for (int i = 0; i < 5000; i++) {
			snprintf(v, sizeof(v), "n%d.exe", i);
			(void)check(&p, "Image", "/x/a", "ParentImage", "/x/a", "CommandLine",
				    cmd[1], "OriginalFileName", v, NULL);
		}
	}
	assert_true(seen[0] > 0 && seen[1] > 0);
	/* the same name twice (differing in case): never remembered as one */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(check(&p, "Image", "/x/a", "ParentImage", "/x/a", NULL), 2);
		assert_int_equal(check(&p, "Image", "/x/a", "ParentImage", "/x/a",
				       "originalfilename", "a.exe", NULL),
				 1);
		assert_int_equal(
		    check(&p, "Image", "/x/a", "ParentImage", "/x/a", "originalfilename", "x.exe",
			  "OriginalFileName", "a.exe", NULL),
		    check(&p, "Image", "/x/a", "ParentImage", "/x/a", "OriginalFileName", "a.exe",
			  "originalfilename", "x.exe", NULL));
	}
	free2(&p);
	/* A value cache entry taken by another value gets a new id: here
	 * 'a.exe' alternates with new names, so one of them lands on its entry
	 * (20,000 names, 2,048 entries) while its result is remembered. */
	p = load2("    filter:\n"
		  "        OriginalFileName: 'a.exe'\n"
		  "    condition: not filter\n");
	for (int i = 0; i < 20000; i++) {
		snprintf(v, sizeof(v), "n%d.exe", i);
		assert_int_equal(check(&p, "OriginalFileName", "a.exe", NULL), 1);
		assert_int_equal(check(&p, "OriginalFileName", v, NULL), 2);
	}
	free2(&p);
}

/* A field whose literals are all long (hashes) has a hashed index instead
 * of a database: a literal is found at every offset (the index samples the
 * value every 16 bytes), in any case, at the end of the value, framed
 * (equality), and not when one byte differs. */
static void test_hashed_index(void **state)
{
	char det[2048], v[256];
	size_t k = 0;
	struct pair p;

	(void)state;
	k += (size_t)snprintf(det + k, sizeof(det) - k, "    sel:\n        Hashes|contains:\n");
	for (int i = 0; i < 12; i++)
		k += (size_t)snprintf(det + k, sizeof(det) - k,
				      "            - 'MD5=%02d3456789ABCDEF0123456789abcdef'\n", i);
	k += (size_t)snprintf(det + k, sizeof(det) - k,
			      "    exact:\n        Hashes: 'SHA256=00112233445566778899AABBCCDDEEFF'\n"
			      "    condition: sel or exact\n");
	p = load2(det);
	for (int round = 0; round < 2; round++) {
		for (int off = 0; off < 40; off++) {
			snprintf(v, sizeof(v), "%.*sMD5=073456789abcdef0123456789ABCDEF,IMPHASH=00", off,
				 "SHA1=0123456789abcdef0123456789abcdef01234567,");
			assert_int_equal(check(&p, "Hashes", v, NULL), 2);
			snprintf(v, sizeof(v), "%.*sMD5=073456789abcdef0123456789ABCDEX", off,
				 "SHA1=0123456789abcdef0123456789abcdef01234567,");
			assert_true(check(&p, "Hashes", v, NULL) < 2);
			snprintf(v, sizeof(v), "%.*smd5=113456789abcdef0123456789abcdef", off,
				 "x,SHA1=0123456789abcdef0123456789abcdef01234567");
			assert_int_equal(check(&p, "Hashes", v, NULL), 2);
		}
		assert_int_equal(check(&p, "Hashes", "sha256=00112233445566778899aabbccddeeff", NULL),
				 2);
		assert_true(check(&p, "Hashes", "sha256=00112233445566778899aabbccddeeff0", NULL) <
			    2);
		assert_true(check(&p, "Hashes", "xsha256=00112233445566778899aabbccddeeff", NULL) <
			    2);
		assert_true(check(&p, "Hashes", "MD5=", NULL) < 2);
		assert_true(check(&p, "Hashes", "", NULL) < 2);
	}
	free2(&p);
}

/* Keyword hits kept with cached values: a value seen before replays its
 * keyword hits only for events routed to the same keyword databases (here
 * Linux process creations have two, file events one); others scan it. Each
 * round has values of its own and starts with another category, so values
 * are first seen in each. */
static const char kw_yaml[] =
    "title: kw_linux\nid: 11111111-0000-4000-8000-000000000001\n"
    "logsource: {product: linux}\n"
    "detection: {keywords: ['evilword', 'x-marker'], condition: keywords}\n"
    "---\n"
    "title: kw_proc\nid: 11111111-0000-4000-8000-000000000002\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {keywords: ['procword'], condition: keywords}\n"
    "---\n"
    "title: cmd\nid: 11111111-0000-4000-8000-000000000003\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n"
    "    sel:\n"
    "        CommandLine|contains: [zz1, zz2, zz3, zz4, zz5, zz6, zz7, zz8, zz9]\n"
    "    condition: sel\n"
    "---\n"
    "title: file\nid: 11111111-0000-4000-8000-000000000004\n"
    "logsource: {product: linux, category: file_event}\n"
    "detection:\n"
    "    sel:\n"
    "        CommandLine|contains: [yy1, yy2, yy3, yy4, yy5, yy6, yy7, yy8, yy9]\n"
    "    condition: sel\n";

static int on_title(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	char *s = ctx;
	size_t n = strlen(s);

	(void)ev;
	snprintf(s + n, 200 - n, "%s,", ri->title);
	return 0;
}

static void test_keyword_cache(void **state)
{
	struct detect_options no = {.no_prefilter = 1};
	struct detect_load_stats st;
	struct ruleset *pf, *plain;
	static const char *const cmd[] = {"run evilword now", "procword x", "plain",
					  "zz3 EvilWord procword", "yy2 x-marker", "zz1 yy1"};
	static const unsigned cat[] = {EVCAT_PROCESS_CREATION, EVCAT_FILE_EVENT, EVCAT_NETWORK_CONNECTION};
	int matched = 0;

	(void)state;
	assert_int_equal(ruleset_load_mem(kw_yaml, strlen(kw_yaml), "kw.yml", &pf, &st, NULL, NULL), 0);
	assert_int_equal(st.loaded, 4);
	assert_int_equal(ruleset_load_mem_opts(kw_yaml, strlen(kw_yaml), "kw.yml", &no, &plain, &st,
					       NULL, NULL),
			 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 6 * 3 * 2 * 2; i++) {
			struct event ev;
			char a[200] = "", b[200] = "", c[64];
			event_init(&ev);
			ev.product = "linux";
			ev.category = (uint16_t)cat[(i / 12 + round) % 3];
			snprintf(c, sizeof(c), "%s r%d", cmd[i % 6], round);
			assert_int_equal(event_set_str(&ev, "CommandLine", c), 0);
			if (i / 6 % 2)
				assert_int_equal(event_set_str(&ev, "User", "x-marker"), 0);
			assert_int_equal(ruleset_match(pf, &ev, on_title, a),
					 ruleset_match(plain, &ev, on_title, b));
			assert_string_equal(a, b);
			matched += a[0] != 0;
		}
	}
	assert_true(matched > 0);
	ruleset_free(pf);
	ruleset_free(plain);
}

static const char kwa_yaml[] =
    "title: kw\nid: 22222222-0000-4000-8000-000000000001\n"
    "logsource: {product: linux}\n"
    "detection: {keywords: ['evilword', 'otherword', '|tail'], condition: keywords}\n"
    "---\n"
    "title: cmd\nid: 22222222-0000-4000-8000-000000000002\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n"
    "    sel:\n"
    "        CommandLine|contains: [zz1, zz2, zz3, zz4, zz5, zz6, zz7, zz8, zz9]\n"
    "    condition: sel\n"
    "---\n"
    "title: parent\nid: 22222222-0000-4000-8000-000000000003\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n"
    "    sel:\n"
    "        ParentCommandLine|contains: [yy1, yy2, yy3, yy4, yy5, yy6, yy7, yy8, yy9]\n"
    "    condition: sel\n";

/* Cached values learn their keyword hits from the event's keyword buffer:
 * a literal in two values of one event belongs to both (each occurrence is
 * reported, not the first only), and one at a value's edge to that value.
 * Each value then comes back alone, from the cache. */
static void test_keyword_attribution(void **state)
{
	struct detect_options no = {.no_prefilter = 1};
	struct detect_load_stats st;
	struct ruleset *pf, *plain;
	/* CommandLine, ParentCommandLine: each pair, then each value alone
	 * beside a value without keywords */
	static const char *const pair[][2] = {
	    {"run evilword a", "evilword b"}, {"evilword", "x evilword"},
	    {"c otherword", "d evilword"},    {"x|tail", "y|tail"},
	    {"e evilwor", "d evilword"},      {"zz1 evilword", "yy1 evilword"},
	};
	int matched = 0;

	(void)state;
	assert_int_equal(ruleset_load_mem(kwa_yaml, strlen(kwa_yaml), "kwa.yml", &pf, &st, NULL, NULL),
			 0);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(ruleset_load_mem_opts(kwa_yaml, strlen(kwa_yaml), "kwa.yml", &no, &plain,
					       &st, NULL, NULL),
			 0);
	for (size_t i = 0; i < sizeof(pair) / sizeof(pair[0]); i++) {
		for (int step = 0; step < 3; step++) {
			struct event ev;
			char a[200] = "", b[200] = "";
			event_init(&ev);
			ev.product = "linux";
			ev.category = EVCAT_PROCESS_CREATION;
			assert_int_equal(
			    event_set_str(&ev, "CommandLine", step == 2 ? "plain one" : pair[i][0]), 0);
			assert_int_equal(
			    event_set_str(&ev, "ParentCommandLine", step == 1 ? "plain two" : pair[i][1]),
			    0);
			assert_int_equal(ruleset_match(pf, &ev, on_title, a),
					 ruleset_match(plain, &ev, on_title, b));
			if (strcmp(a, b) != 0)
				fail_msg("pair %zu step %d: prefilter %s, without %s", i, step, a, b);
			matched += strstr(a, "kw,") != NULL;
		}
	}
	assert_int_equal(matched, 17);
	ruleset_free(pf);
	ruleset_free(plain);
}

/* ---- hot reload ---- */

#define RL_THREADS 3
#define RL_EVENTS  4000
#define RL_SWAPS   60

/* Set A's rules look at CommandLine, set B's at Image: different literals,
 * different databases. Rule ids start with 'a' or 'b'. */
static const char *const set_yaml[2] = {
    "title: a1\nid: aaaaaaaa-0000-4000-8000-000000000001\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {sel: {CommandLine|contains: 'run'}, condition: sel}\n"
    "---\n"
    "title: a2\nid: aaaaaaaa-0000-4000-8000-000000000002\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {sel: {CommandLine|endswith: '-x'}, condition: sel}\n"
    "---\n"
    "title: a3\nid: aaaaaaaa-0000-4000-8000-000000000003\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {sel: {CommandLine|contains: 'never-there'}, condition: not sel}\n",
    "title: b1\nid: bbbbbbbb-0000-4000-8000-000000000001\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {sel: {Image|endswith: '/tool'}, condition: sel}\n"
    "---\n"
    "title: b2\nid: bbbbbbbb-0000-4000-8000-000000000002\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {sel: {Image|startswith: '/opt/'}, condition: sel}\n"
    "---\n"
    "title: b3\nid: bbbbbbbb-0000-4000-8000-000000000003\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {sel: {Image|contains: 'never-there'}, condition: not sel}\n"};

/* Matches of event i by set s (what the rules above say). */
static int expected(int s, int i)
{
	if (s == 0)
		return 1 + ((i % 3) == 0) + ((i % 5) == 0);
	return 1 + ((i % 2) == 0) + ((i % 7) == 0);
}

static void make_event(int i, struct event *ev, char *cmd, char *img)
{
	snprintf(cmd, 64, "%s arg%d%s", (i % 3) == 0 ? "run" : "walk", i,
		 (i % 5) == 0 ? " -x" : "");
	snprintf(img, 64, "%s/%s", (i % 7) == 0 ? "/opt/x" : "/usr/bin",
		 (i % 2) == 0 ? "tool" : "other");
	event_init(ev);
	ev->category = EVCAT_PROCESS_CREATION;
	ev->product = "linux";
	event_set_str(ev, "CommandLine", cmd);
	event_set_str(ev, "Image", img);
}

struct reload {
	pthread_rwlock_t lock;
	struct ruleset *cur;
	int done;
	long bad, events;
};

struct seen {
	int n;
	char first;
	int mixed;
};

static int on_seen(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct seen *s = ctx;

	(void)ev;
	if (s->n++ == 0)
		s->first = ri->id[0];
	else if (ri->id[0] != s->first)
		s->mixed = 1;
	return 0;
}

static void *matcher(void *p)
{
	struct reload *R = p;
	long bad = 0, n = 0;

	for (int i = 0; i < RL_EVENTS; i++) {
		char cmd[64], img[64];
		struct seen s = {0};
		struct event ev;
		int got;
		make_event(i, &ev, cmd, img);
		pthread_rwlock_rdlock(&R->lock);
		got = ruleset_match(R->cur, &ev, on_seen, &s);
		pthread_rwlock_unlock(&R->lock);
		n++;
		/* every event matches in both sets: none may come out empty, and
		 * its matches are all of one set and complete for it */
		if (got == 0 || got != s.n || s.mixed || got != expected(s.first == 'a' ? 0 : 1, i))
			bad++;
	}
	pthread_rwlock_wrlock(&R->lock);
	R->bad += bad;
	R->events += n;
	pthread_rwlock_unlock(&R->lock);
	return NULL;
}

static void *swapper(void *p)
{
	struct reload *R = p;

	for (int k = 0; k < RL_SWAPS; k++) {
		const char *y = set_yaml[(k + 1) % 2];
		struct ruleset *rs = NULL, *old;
		struct detect_load_stats st;
		int done;
		if (ruleset_load_mem(y, strlen(y), "r.yml", &rs, &st, NULL, NULL) != 0)
			break;
		pthread_rwlock_wrlock(&R->lock);
		old = R->cur;
		R->cur = rs;
		done = R->done;
		pthread_rwlock_unlock(&R->lock);
		ruleset_free(old); /* no reader can hold it any more */
		if (done)
			break;
	}
	return NULL;
}

/* The per-thread field-name cache is keyed by the name's address: a name
 * buffer reused for another name must not keep the old name's field. */
static void test_name_cache_address_reuse(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|contains: mimikatz\n"
			      "    condition: sel\n");
	char name[32];
	struct event ev;

	(void)state;
	for (int round = 0; round < 3; round++) {
		event_init(&ev);
		ev.category = EVCAT_PROCESS_CREATION;
		ev.product = "linux";
		snprintf(name, sizeof(name), "%s", "CommandLine");
		assert_int_equal(event_set_str(&ev, name, "run mimikatz"), 0);
		assert_int_equal(ruleset_match(p.pf, &ev, NULL, NULL), 1);
		/* same address, another name: the value is not in CommandLine */
		snprintf(name, sizeof(name), "%s", "Image");
		assert_int_equal(ruleset_match(p.pf, &ev, NULL, NULL), 0);
		assert_int_equal(ruleset_match(p.plain, &ev, NULL, NULL), 0);
		/* and back, in another case: found case-insensitively */
		snprintf(name, sizeof(name), "%s", "COMMANDLINE");
		assert_int_equal(ruleset_match(p.pf, &ev, NULL, NULL), 1);
		assert_int_equal(ruleset_match(p.plain, &ev, NULL, NULL), 1);
	}
	free2(&p);
}

/* Logsources for the route cache test: (product, category name,
 * service), each with one rule in set 0; set 1 holds the same rules in the
 * reverse order, so that its buckets are numbered otherwise. The last
 * three have no rule. */
#define RC_LS 15
static const char *const rc_ls[RC_LS][3] = {
    {"linux", NULL, NULL},	       {"linux", "process_creation", NULL},
    {"linux", "file_event", NULL},     {"linux", NULL, "auditd"},
    {"linux", NULL, "sshd"},	       {"windows", "process_creation", NULL},
    {"windows", NULL, "security"},     {"windows", "registry_set", NULL},
    {"windows", "ps_script", NULL},    {"windows", NULL, "sysmon"},
    {"macos", "process_creation", NULL}, {"aws", NULL, "cloudtrail"},
    {"bsd", NULL, NULL},	       {"linux", "dns_query", "none"},
    {"windows", "driver_load", "x"},
};

static char *rc_rules(int reverse)
{
	size_t cap = 16384, n = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	y[0] = 0;
	for (int k = 0; k < RC_LS - 3; k++) {
		int i = reverse ? RC_LS - 4 - k : k;
		n += (size_t)snprintf(y + n, cap - n,
				      "%stitle: r%d\nid: cccccccc-0000-4000-8000-%012d\n"
				      "logsource: {product: %s%s%s%s%s}\n"
				      "detection: {sel: {CommandLine|contains: 'hit'}, condition: sel}\n",
				      k ? "---\n" : "", i, i, rc_ls[i][0],
				      rc_ls[i][1] ? ", category: " : "", rc_ls[i][1] ? rc_ls[i][1] : "",
				      rc_ls[i][2] ? ", service: " : "", rc_ls[i][2] ? rc_ls[i][2] : "");
		assert_true(n < cap);
	}
	return y;
}

/* The rules an event of logsource l must match: its own, and product
 * linux's for the other linux events. */
static void rc_want(int l, char *out, size_t sz)
{
	int n = l < RC_LS - 3 ? snprintf(out, sz, "r%d,", l) : 0;

	out[n] = 0;
	if (l != 0 && strcmp(rc_ls[l][0], "linux") == 0)
		snprintf(out + n, sz - (size_t)n, "r0,");
}

/* The thread's route cache: events whose logsource strings are interned
 * (event.h) take the cache by id, others by string; both must give what
 * logsource_route gives, across many logsources (some sharing a cache
 * entry) and after a ruleset with other bucket numbers replaces the first. */
static void test_route_cache_interned(void **state)
{
	struct detect_load_stats st;
	struct ruleset *rs[2];
	char *y;

	(void)state;
	for (int k = 0; k < 2; k++) {
		y = rc_rules(k);
		assert_int_equal(ruleset_load_mem(y, strlen(y), "rc.yml", &rs[k], &st, NULL, NULL), 0);
		assert_int_equal(st.loaded, RC_LS - 3);
		free(y);
	}
	for (int round = 0; round < 6; round++) {
		const struct ruleset *cur = rs[round & 1];
		for (int i = 0; i < 3000; i++) {
			int l = (i * 7 + round) % RC_LS, interned = (i / RC_LS + round) % 3 != 0;
			char prod[16], cat[32], svc[16], got[200] = "", want[64], g2[256], w2[80];
			struct event ev;
			event_init(&ev);
			/* strings at addresses of their own, or the interned copies */
			snprintf(prod, sizeof(prod), "%s", rc_ls[l][0]);
			ev.product = interned ? event_name_intern(prod, strlen(prod)) : prod;
			if (rc_ls[l][1]) {
				snprintf(cat, sizeof(cat), "%s", rc_ls[l][1]);
				ev.category_name = interned ? event_name_intern(cat, strlen(cat)) : cat;
			}
			if (rc_ls[l][2]) {
				snprintf(svc, sizeof(svc), "%s", rc_ls[l][2]);
				ev.service = interned ? event_name_intern(svc, strlen(svc)) : svc;
			}
			assert_int_equal(event_set_str(&ev, "CommandLine", "a hit here"), 0);
			ruleset_match(cur, &ev, on_title, got);
			rc_want(l, want, sizeof(want));
			/* the same titles in any order: as many, each of want in got */
			{
				int ng = 0, nw = 0, ok = 1;
				snprintf(g2, sizeof(g2), ",%s", got);
				for (const char *q = got; *q; q++)
					ng += *q == ',';
				for (const char *q = want, *e; *q; q = e + 1) {
					e = strchr(q, ',');
					snprintf(w2, sizeof(w2), ",%.*s,", (int)(e - q), q);
					ok &= strstr(g2, w2) != NULL;
					nw++;
				}
				if (!ok || ng != nw)
					fail_msg("set %d, %s/%s/%s (%s): got %s want %s", round & 1,
						 rc_ls[l][0], rc_ls[l][1] ? rc_ls[l][1] : "-",
						 rc_ls[l][2] ? rc_ls[l][2] : "-",
						 interned ? "interned" : "own", got, want);
			}
		}
	}
	ruleset_free(rs[0]);
	ruleset_free(rs[1]);
}

/* Interned field names map to field ids by their id (name_fid): the ids
 * are the ruleset's, so two rulesets numbering the same names otherwise,
 * used in turn on one thread, must each see their own. */
static void test_interned_field_ids(void **state)
{
	static const char *const y[2] = {
	    "title: a\nid: dddddddd-0000-4000-8000-000000000001\n"
	    "logsource: {product: linux, category: process_creation}\n"
	    "detection: {sel: {Image|endswith: '/tool'}, condition: sel}\n"
	    "---\n"
	    "title: b\nid: dddddddd-0000-4000-8000-000000000002\n"
	    "logsource: {product: linux, category: process_creation}\n"
	    "detection: {sel: {CommandLine|contains: 'run'}, condition: sel}\n",
	    "title: c\nid: dddddddd-0000-4000-8000-000000000003\n"
	    "logsource: {product: linux, category: process_creation}\n"
	    "detection: {sel: {CommandLine|contains: 'tool'}, condition: sel}\n"
	    "---\n"
	    "title: d\nid: dddddddd-0000-4000-8000-000000000004\n"
	    "logsource: {product: linux, category: process_creation}\n"
	    "detection: {sel: {ParentImage|contains: 'run'}, condition: sel}\n"};
	struct detect_options no = {.no_prefilter = 1};
	struct detect_load_stats st;
	struct ruleset *pf[2], *plain[2];
	const char *img = event_name_intern("Image", 5), *cmd = event_name_intern("CommandLine", 11),
		   *par = event_name_intern("ParentImage", 11);
	int matched = 0;

	(void)state;
	assert_non_null(img);
	assert_non_null(cmd);
	assert_non_null(par);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(ruleset_load_mem(y[k], strlen(y[k]), "i.yml", &pf[k], &st, NULL, NULL),
				 0);
		assert_int_equal(ruleset_load_mem_opts(y[k], strlen(y[k]), "i.yml", &no, &plain[k], &st,
						       NULL, NULL),
				 0);
	}
	for (int i = 0; i < 400; i++) {
		static const char *const v[] = {"/opt/tool", "run it", "x", "tool run"};
		struct event ev;
		char a[200] = "", b[200] = "";
		int k = (i / 3) % 2;
		event_init(&ev);
		ev.product = "linux";
		ev.category = EVCAT_PROCESS_CREATION;
		assert_int_equal(event_set_str(&ev, img, v[i % 4]), 0);
		assert_int_equal(event_set_str(&ev, cmd, v[(i / 4) % 4]), 0);
		assert_int_equal(event_set_str(&ev, par, v[(i / 16) % 4]), 0);
		assert_int_equal(ruleset_match(pf[k], &ev, on_title, a),
				 ruleset_match(plain[k], &ev, on_title, b));
		if (strcmp(a, b) != 0)
			fail_msg("event %d, set %d: prefilter %s, without %s", i, k, a, b);
		matched += a[0] != 0;
	}
	assert_true(matched > 100);
	for (int k = 0; k < 2; k++) {
		ruleset_free(pf[k]);
		ruleset_free(plain[k]);
	}
}

static void test_reload_while_matching(void **state)
{
	struct reload R = {.bad = 0};
	struct detect_load_stats st;
	pthread_t th[RL_THREADS], sw;

	(void)state;
	assert_int_equal(pthread_rwlock_init(&R.lock, NULL), 0);
	assert_int_equal(
	    ruleset_load_mem(set_yaml[0], strlen(set_yaml[0]), "r.yml", &R.cur, &st, NULL, NULL),
	    0);
	assert_int_equal(st.loaded, 3);
	for (int i = 0; i < RL_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, matcher, &R), 0);
	assert_int_equal(pthread_create(&sw, NULL, swapper, &R), 0);
	for (int i = 0; i < RL_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_rwlock_wrlock(&R.lock);
	R.done = 1;
	pthread_rwlock_unlock(&R.lock);
	assert_int_equal(pthread_join(sw, NULL), 0);
	assert_int_equal(R.events, (long)RL_THREADS * RL_EVENTS);
	assert_int_equal(R.bad, 0);
	ruleset_free(R.cur);
	pthread_rwlock_destroy(&R.lock);
}

/* A callback that matches again on the same thread (the prefilter's
 * per-thread state is busy then) still gets exact results. */
struct nest {
	const struct ruleset *rs;
	const struct event *ev;
	int inner;
};

static int on_nested(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct nest *n = ctx;

	(void)ri;
	(void)ev;
	n->inner += ruleset_match(n->rs, n->ev, NULL, NULL);
	return 0;
}

static void test_nested_match(void **state)
{
	struct pair p = load2("    sel:\n"
			      "        CommandLine|contains: nested\n"
			      "    condition: sel\n");
	struct event ev;
	struct nest n;

	(void)state;
	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	ev.product = "linux";
	assert_int_equal(event_set_str(&ev, "CommandLine", "a nested call"), 0);
	n = (struct nest){p.pf, &ev, 0};
	assert_int_equal(ruleset_match(p.pf, &ev, on_nested, &n), 1);
	assert_int_equal(n.inner, 1);
	free2(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contains_case_folding),
	    cmocka_unit_test(test_cased_modifier),
	    cmocka_unit_test(test_not_is_always_candidate),
	    cmocka_unit_test(test_and_not_uses_positive_side),
	    cmocka_unit_test(test_keywords),
	    cmocka_unit_test(test_wildcards_longest_piece),
	    cmocka_unit_test(test_exact_value_framed),
	    cmocka_unit_test(test_startswith_endswith),
	    cmocka_unit_test(test_one_of_union),
	    cmocka_unit_test(test_all_modifier),
	    cmocka_unit_test(test_windash_variants),
	    cmocka_unit_test(test_regex_literal),
	    cmocka_unit_test(test_no_literal_items),
	    cmocka_unit_test(test_fields_differing_in_case),
	    cmocka_unit_test(test_decided_by_scan),
	    cmocka_unit_test(test_remembered_results),
	    cmocka_unit_test(test_hashed_index),
	    cmocka_unit_test(test_keyword_cache),
	    cmocka_unit_test(test_name_cache_address_reuse),
	    cmocka_unit_test(test_route_cache_interned),
	    cmocka_unit_test(test_interned_field_ids),
	    cmocka_unit_test(test_keyword_attribution),
	    cmocka_unit_test(test_reload_while_matching),
	    cmocka_unit_test(test_nested_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
