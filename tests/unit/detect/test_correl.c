/* Unit tests for lib/detect beyond single-event rules: correlation rules
 * (every type, windows and expiry, group-by, aliases, ordering, chaining,
 * generate, the memory bounds), Sigma filters, placeholders for 'expand' and
 * the Windows record mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "err.h"
#include "event.h"

#define SEC 1000000000ull

#define BASE(name, field, value)                                                                   \
	"title: " name "\n"                                                                        \
	"name: " name "\n"                                                                         \
	"logsource: {product: linux, category: authentication}\n"                                  \
	"detection:\n"                                                                             \
	"    sel:\n"                                                                               \
	"        " field ": " value "\n"                                                           \
	"    condition: sel\n"

struct hits {
	char names[64][64];
	int n;
};

static int on_hit(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct hits *h = ctx;
	(void)ev;
	if (h->n < 64)
		snprintf(h->names[h->n++], sizeof(h->names[0]), "%s", ri->title);
	return 0;
}

static int diag_count;
static char diag_last[256]; /* the first diagnostic of a load */

static void on_diag(const struct detect_diag *d, void *ctx)
{
	(void)ctx;
	if (diag_count++ == 0)
		snprintf(diag_last, sizeof(diag_last), "%s", d->reason);
}

static struct ruleset *load(const char *yaml)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st;

	diag_count = 0;
	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "c.yml", &rs, &st, on_diag, NULL), 0);
	if (diag_count)
		print_message("diagnostic: %s\n", diag_last);
	assert_int_equal(diag_count, 0);
	return rs;
}

/* Feeds one event at time t (seconds); fields as name, value pairs, NULL-ended.
 * Returns how many matches were reported; their titles are appended to h. */
static int feed(const struct ruleset *rs, struct correl_state *st, struct hits *h, uint64_t t,
		...)
{
	struct event ev;
	va_list ap;
	const char *k;

	event_init(&ev);
	ev.product = "linux";
	ev.category = EVCAT_AUTHENTICATION;
	ev.ts_ns = t * SEC;
	va_start(ap, t);
	while ((k = va_arg(ap, const char *)) != NULL)
		assert_int_equal(event_set_str(&ev, k, va_arg(ap, const char *)), 0);
	va_end(ap);
	return ruleset_match_correl(rs, st, &ev, on_hit, h);
}

static void test_event_count(void **state)
{
	struct ruleset *rs = load(BASE("fail", "Outcome", "failure") "---\n"
				  "title: brute\n"
				  "correlation:\n"
				  "    type: event_count\n"
				  "    rules: [fail]\n"
				  "    group-by: [User]\n"
				  "    timespan: 60s\n"
				  "    condition: {gte: 3}\n");
	struct correl_state *st = NULL;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, NULL, &st), 0);
	/* the base rule is only referenced: not reported on its own */
	assert_int_equal(feed(rs, st, &h, 100, "Outcome", "failure", "User", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 110, "Outcome", "failure", "User", "b", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 120, "Outcome", "failure", "User", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 130, "Outcome", "success", "User", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 159, "Outcome", "failure", "User", "a", NULL), 1);
	assert_string_equal(h.names[0], "brute");
	/* the group starts afresh after firing */
	assert_int_equal(feed(rs, st, &h, 160, "Outcome", "failure", "User", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 161, "Outcome", "failure", "User", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 162, "Outcome", "failure", "User", "a", NULL), 1);
	/* expiry: three events of b, but spread over more than 60 s */
	assert_int_equal(feed(rs, st, &h, 200, "Outcome", "failure", "User", "b", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 261, "Outcome", "failure", "User", "b", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 262, "Outcome", "failure", "User", "b", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 263, "Outcome", "failure", "User", "b", NULL), 1);
	/* an event without the group-by field is not counted */
	assert_int_equal(feed(rs, st, &h, 264, "Outcome", "failure", NULL), 0);
	{
		struct correl_stats cs;
		correl_state_stats(st, &cs);
		assert_int_equal(cs.events_ignored, 1);
		assert_int_equal(cs.groups, 2);
	}
	/* without a state, ruleset_match reports nothing for quiet rules */
	assert_int_equal(feed(rs, NULL, &h, 300, "Outcome", "failure", "User", "a", NULL), 0);
	correl_state_free(st);
	ruleset_free(rs);
}

static void test_value_count(void **state)
{
	struct ruleset *rs = load(BASE("fail", "Outcome", "failure") "---\n"
				  "title: spray\n"
				  "correlation:\n"
				  "    type: value_count\n"
				  "    rules: fail\n"
				  "    group-by: SourceIp\n"
				  "    timespan: 1m\n"
				  "    condition: {field: User, gte: 3}\n");
	struct correl_state *st = NULL;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, NULL, &st), 0);
	assert_int_equal(feed(rs, st, &h, 1, "Outcome", "failure", "SourceIp", "10.0.0.1", "User",
			      "a", NULL),
			 0);
	assert_int_equal(feed(rs, st, &h, 2, "Outcome", "failure", "SourceIp", "10.0.0.1", "User",
			      "a", NULL),
			 0);
	assert_int_equal(feed(rs, st, &h, 3, "Outcome", "failure", "SourceIp", "10.0.0.2", "User",
			      "b", NULL),
			 0);
	assert_int_equal(feed(rs, st, &h, 4, "Outcome", "failure", "SourceIp", "10.0.0.1", "User",
			      "b", NULL),
			 0);
	assert_int_equal(feed(rs, st, &h, 5, "Outcome", "failure", "SourceIp", "10.0.0.1", "User",
			      "c", NULL),
			 1);
	correl_state_free(st);
	ruleset_free(rs);
}

static void test_temporal(void **state)
{
	struct ruleset *rs = load(BASE("a", "Step", "a") "---\n" BASE("b", "Step", "b") "---\n"
			"title: unordered\n"
			"correlation:\n"
			"    type: temporal\n"
			"    rules: [a, b]\n"
			"    group-by: [Host]\n"
			"    timespan: 10s\n"
			"---\n"
			"title: ordered\n"
			"correlation:\n"
			"    type: temporal_ordered\n"
			"    rules: [a, b]\n"
			"    group-by: [Host]\n"
			"    timespan: 10s\n");
	struct correl_state *st = NULL;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, NULL, &st), 0);
	/* b then a: temporal fires, temporal_ordered does not */
	assert_int_equal(feed(rs, st, &h, 0, "Step", "b", "Host", "x", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 5, "Step", "a", "Host", "x", NULL), 1);
	assert_string_equal(h.names[0], "unordered");
	/* then b within 10 s of that a: ordered fires (a -> b); unordered needs a fresh pair */
	assert_int_equal(feed(rs, st, &h, 9, "Step", "b", "Host", "x", NULL), 1);
	assert_string_equal(h.names[1], "ordered");
	/* too far apart: nothing */
	assert_int_equal(feed(rs, st, &h, 100, "Step", "a", "Host", "y", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 111, "Step", "b", "Host", "y", NULL), 0);
	/* another host does not complete the pair */
	assert_int_equal(feed(rs, st, &h, 112, "Step", "a", "Host", "z", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 113, "Step", "b", "Host", "w", NULL), 0);
	correl_state_free(st);
	ruleset_free(rs);
}

/* The specification's example: many failed logins, then a success, chained. */
static void test_chain_and_generate(void **state)
{
	struct ruleset *rs = load("title: Failed then success\n"
				  "correlation:\n"
				  "    type: temporal_ordered\n"
				  "    rules: [many_failed, success]\n"
				  "    group-by: [User]\n"
				  "    timespan: 10m\n"
				  "level: high\n"
				  "---\n"
				  "title: many failed\n"
				  "name: many_failed\n"
				  "correlation:\n"
				  "    type: event_count\n"
				  "    rules: [00000000-0000-4000-8000-000000000001]\n"
				  "    group-by: [User]\n"
				  "    timespan: 10m\n"
				  "    condition: {gte: 3}\n"
				  "---\n"
				  "title: fail\n"
				  "id: 00000000-0000-4000-8000-000000000001\n"
				  "logsource: {product: linux, category: authentication}\n"
				  "detection: {sel: {Outcome: failure}, condition: sel}\n"
				  "---\n"
				  "title: success\n"
				  "name: success\n"
				  "logsource: {product: linux, category: authentication}\n"
				  "detection: {sel: {Outcome: success}, condition: sel}\n"
				  "---\n"
				  "title: count successes\n"
				  "correlation:\n"
				  "    type: event_count\n"
				  "    rules: [success]\n"
				  "    timespan: 1h\n"
				  "    condition: {gte: 100}\n"
				  "    generate: true\n");
	struct correl_state *st = NULL;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, NULL, &st), 0);
	/* success is generated by one correlation: reported on its own */
	assert_int_equal(feed(rs, st, &h, 0, "Outcome", "success", "User", "u", NULL), 1);
	assert_string_equal(h.names[0], "success");
	assert_int_equal(feed(rs, st, &h, 1, "Outcome", "failure", "User", "u", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 2, "Outcome", "failure", "User", "u", NULL), 0);
	/* the third failure fires 'many failed', which is quiet (only referenced) */
	assert_int_equal(feed(rs, st, &h, 3, "Outcome", "failure", "User", "u", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 4, "Outcome", "success", "User", "v", NULL), 1);
	assert_int_equal(feed(rs, st, &h, 5, "Outcome", "success", "User", "u", NULL), 2);
	assert_string_equal(h.names[2], "success");
	assert_string_equal(h.names[3], "Failed then success");
	correl_state_free(st);
	ruleset_free(rs);
}

static void test_aliases(void **state)
{
	struct ruleset *rs = load(BASE("inbound", "Dir", "in") "---\n" BASE("outbound", "Dir", "out")
				  "---\n"
				  "title: back and forth\n"
				  "correlation:\n"
				  "    type: temporal\n"
				  "    rules: [inbound, outbound]\n"
				  "    group-by: [peer]\n"
				  "    timespan: 10s\n"
				  "    aliases:\n"
				  "        peer:\n"
				  "            inbound: SourceIp\n"
				  "            outbound: DestinationIp\n");
	struct correl_state *st = NULL;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, NULL, &st), 0);
	assert_int_equal(feed(rs, st, &h, 0, "Dir", "in", "SourceIp", "1.2.3.4", "DestinationIp",
			      "10.0.0.1", NULL),
			 0);
	assert_int_equal(feed(rs, st, &h, 1, "Dir", "out", "SourceIp", "10.0.0.1", "DestinationIp",
			      "5.6.7.8", NULL),
			 0);
	assert_int_equal(feed(rs, st, &h, 2, "Dir", "out", "SourceIp", "10.0.0.1", "DestinationIp",
			      "1.2.3.4", NULL),
			 1);
	correl_state_free(st);
	ruleset_free(rs);
}

static void test_value_metrics(void **state)
{
	struct ruleset *rs = load(BASE("xfer", "Kind", "upload") "---\n"
				  "title: sum\n"
				  "correlation: {type: value_sum, rules: [xfer], group-by: [User],"
				  " timespan: 1h, condition: {field: Bytes, gt: 1000}}\n"
				  "---\n"
				  "title: avg\n"
				  "correlation: {type: value_avg, rules: [xfer], group-by: [User],"
				  " timespan: 1h, condition: {field: Bytes, gte: 600}}\n"
				  "---\n"
				  "title: rare\n"
				  "correlation: {type: value_percentile, rules: [xfer], group-by: [Host],"
				  " timespan: 1h, condition: {field: Image, lte: 20}}\n");
	struct correl_state *st = NULL;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, NULL, &st), 0);
	/* first event: avg 600 fires; Image 100 % of one event: rare does not */
	assert_int_equal(feed(rs, st, &h, 0, "Kind", "upload", "User", "u", "Bytes", "600", "Host",
			      "h", "Image", "curl", NULL),
			 1);
	assert_string_equal(h.names[0], "avg");
	for (int i = 1; i < 5; i++)
		assert_int_equal(feed(rs, st, &h, (uint64_t)i, "Kind", "upload", "User", "w",
				      "Bytes", "10", "Host", "h", "Image", "curl", NULL),
				 0);
	/* 6th event: w's sum is 40 + 1000 > 1000; nc is 1 of 6 events in h (16.7 %) */
	assert_int_equal(feed(rs, st, &h, 6, "Kind", "upload", "User", "w", "Bytes", "1000", "Host",
			      "h", "Image", "nc", NULL),
			 2);
	assert_string_equal(h.names[1], "sum");
	assert_string_equal(h.names[2], "rare");
	/* a non-numeric value is not summed */
	assert_int_equal(feed(rs, st, &h, 7, "Kind", "upload", "User", "z", "Bytes", "lots", "Host",
			      "h2", "Image", "x", NULL),
			 0);
	correl_state_free(st);
	ruleset_free(rs);
}

static void test_bounds(void **state)
{
	struct ruleset *rs = load(BASE("ev", "Kind", "x") "---\n"
				  "title: count\n"
				  "correlation: {type: event_count, rules: [ev], group-by: [G],"
				  " timespan: 1h, condition: {gte: 5}}\n");
	struct correl_limits lim = {.max_groups = 2, .max_entries = 4};
	struct correl_limits bad = {.max_groups = (1u << 20) + 1};
	struct correl_state *st = NULL;
	struct correl_stats cs;
	struct hits h = {0};
	(void)state;

	assert_int_equal(correl_state_new(rs, &bad, &st), YM_E_INVAL);
	assert_int_equal(correl_state_new(rs, &lim, &st), 0);
	/* three groups with room for two: the least recently updated is evicted */
	assert_int_equal(feed(rs, st, &h, 0, "Kind", "x", "G", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 1, "Kind", "x", "G", "b", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 2, "Kind", "x", "G", "a", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 3, "Kind", "x", "G", "c", NULL), 0);
	correl_state_stats(st, &cs);
	assert_int_equal(cs.groups_evicted, 1);
	assert_int_equal(cs.groups, 2);
	/* a's count survived (2 so far); b starts again from 1 */
	assert_int_equal(feed(rs, st, &h, 4, "Kind", "x", "G", "a", NULL), 0);
	/* four entries per group: the count never reaches 5, the oldest is dropped */
	for (int i = 0; i < 6; i++)
		assert_int_equal(feed(rs, st, &h, 5 + (uint64_t)i, "Kind", "x", "G", "a", NULL), 0);
	correl_state_stats(st, &cs);
	assert_true(cs.entries_evicted >= 4);
	/* an expired group is counted as expired, not evicted */
	assert_int_equal(feed(rs, st, &h, 10000, "Kind", "x", "G", "d", NULL), 0);
	assert_int_equal(feed(rs, st, &h, 10001, "Kind", "x", "G", "e", NULL), 0);
	correl_state_stats(st, &cs);
	assert_int_equal(cs.groups_expired, 2);
	correl_state_free(st);
	ruleset_free(rs);
}

static void expect_diags(const char *yaml, const char *part, unsigned loaded, int ndiag)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st;

	diag_count = 0;
	assert_int_equal(ruleset_load_mem(yaml, strlen(yaml), "c.yml", &rs, &st, on_diag, NULL), 0);
	if (!strstr(diag_last, part))
		print_message("diagnostic was: %s\n", diag_last);
	assert_int_equal(diag_count, ndiag);
	assert_non_null(strstr(diag_last, part));
	assert_int_equal(st.loaded, loaded);
	assert_int_equal(ruleset_count(rs), loaded);
	assert_int_equal(st.errors, ndiag);
	ruleset_free(rs);
}

static void expect_diag(const char *yaml, const char *part, unsigned loaded)
{
	expect_diags(yaml, part, loaded, 1);
}

static void test_correl_errors(void **state)
{
	(void)state;
	expect_diag("title: c\ncorrelation: {type: event_count, rules: [nope], timespan: 1h,"
		    " condition: {gte: 1}}\n",
		    "unknown rule 'nope'", 0);
	/* a cycle: the first one over the depth cap goes, then the other loses its reference */
	expect_diags("title: c\nname: a\ncorrelation: {type: temporal, rules: [b], timespan: 1h}\n"
		     "---\n"
		     "title: d\nname: b\ncorrelation: {type: temporal, rules: [a], timespan: 1h}\n",
		     "deeper than 8", 0, 2);
	expect_diag("title: c\ncorrelation: {type: sometimes, rules: [x], timespan: 1h}\n",
		    "unknown correlation type", 0);
	expect_diag("title: c\ncorrelation: {type: event_count, rules: [x], timespan: 1y,"
		    " condition: {gte: 1}}\n",
		    "timespan", 0);
	expect_diag("title: c\ncorrelation: {type: event_count, rules: [x], timespan: 1h}\n",
		    "needs a condition", 0);
	expect_diag("title: c\ncorrelation: {type: value_count, rules: [x], timespan: 1h,"
		    " condition: {gte: 1}}\n",
		    "needs 'field'", 0);
	expect_diag(BASE("x", "A", "b") "---\ntitle: f\nlogsource: {product: linux}\n"
				       "filter: {rules: [y], sel: {A: c}, condition: sel}\n",
		    "filter names unknown rule 'y'", 1);
}

static void test_filters(void **state)
{
	struct ruleset *rs = load(BASE("whoami", "Image|endswith", "/whoami") "---\n"
				  "title: admins are fine\n"
				  "logsource: {product: linux, category: authentication}\n"
				  "filter:\n"
				  "    rules: [whoami]\n"
				  "    selection: {User|startswith: adm_}\n"
				  "    condition: selection\n");
	struct hits h = {0};
	(void)state;

	assert_int_equal(ruleset_count(rs), 2);
	assert_string_equal(ruleset_rule(rs, 1)->type, "filter");
	assert_int_equal(feed(rs, NULL, &h, 0, "Image", "/usr/bin/whoami", "User", "bob", NULL), 1);
	assert_int_equal(feed(rs, NULL, &h, 0, "Image", "/usr/bin/whoami", "User", "adm_x", NULL),
			 0);
	ruleset_free(rs);
}

static void test_placeholders(void **state)
{
	static const char rule[] = "title: p\n"
				   "logsource: {product: linux, category: authentication}\n"
				   "detection:\n"
				   "    sel: {User|expand: '%admins%', Host|expand: 'srv-%site%-*'}\n"
				   "    condition: sel\n";
	static const char file[] = "admins: [root, 'adm_*']\n'%site%': par\n";
	struct placeholders *ph = NULL;
	struct detect_options opt = {0};
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct hits h = {0};
	char err[128];
	(void)state;

	assert_int_equal(placeholders_new(&ph), 0);
	assert_int_equal(placeholders_load_mem(ph, file, strlen(file), err, sizeof(err)), 0);
	assert_int_equal(placeholders_add(ph, "site", "lon"), 0);
	assert_int_equal(placeholders_add(ph, "bad name", "x"), YM_E_INVAL);
	assert_int_equal(placeholders_load_mem(ph, "[1, 2]", 6, err, sizeof(err)), YM_E_PARSE);
	opt.placeholders = ph;
	assert_int_equal(ruleset_load_mem_opts(rule, strlen(rule), "p.yml", &opt, &rs, &st, NULL,
					       NULL),
			 0);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(feed(rs, NULL, &h, 0, "User", "adm_eve", "Host", "srv-lon-1", NULL), 1);
	assert_int_equal(feed(rs, NULL, &h, 0, "User", "root", "Host", "SRV-PAR-9", NULL), 1);
	assert_int_equal(feed(rs, NULL, &h, 0, "User", "eve", "Host", "srv-lon-1", NULL), 0);
	assert_int_equal(feed(rs, NULL, &h, 0, "User", "root", "Host", "srv-ber-1", NULL), 0);
	ruleset_free(rs);
	placeholders_free(ph);
}

static void test_winevt(void **state)
{
	static const struct detect_kv kv[] = {
	    {"Event.#attributes.xmlns", "http://x", 8},
	    {"Event.System.Provider.#attributes.Name", "Microsoft-Windows-Sysmon", 24},
	    {"Event.System.EventID", "13", 2},
	    {"Event.System.Channel", "Microsoft-Windows-Sysmon/Operational", 36},
	    {"Event.System.Security.#attributes.UserID", "S-1-5-18", 8},
	    {"Event.EventData.TargetObject", "HKLM\\Software\\Run\\x", 19},
	    {"Event.EventData.Product Name", "Defender", 8},
	};
	static struct winevt w;
	static const char rule[] = "title: r\n"
				   "logsource: {product: windows, category: registry_event}\n"
				   "detection:\n"
				   "    sel: {TargetObject|contains: '\\Run\\', Security_UserID: S-1-5-18,"
				   " ProductName: defender, Provider_Name: Microsoft-Windows-Sysmon}\n"
				   "    condition: sel\n";
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct event ev;
	(void)state;

	assert_int_equal(winevt_map(&w, kv, sizeof(kv) / sizeof(kv[0]), &ev), 0);
	assert_string_equal(ev.product, "windows");
	assert_string_equal(ev.service, "sysmon");
	assert_int_equal(ev.category, EVCAT_UNKNOWN);
	assert_string_equal(ev.category_name, "registry_set");
	assert_int_equal(ev.nxfields, 6);
	assert_int_equal(ruleset_load_mem(rule, strlen(rule), "r.yml", &rs, &st, NULL, NULL), 0);
	assert_int_equal(st.loaded, 1);
	/* registry_event rules also see registry_set events */
	assert_int_equal(ruleset_match(rs, &ev, NULL, NULL), 1);
	ev.category_name = "file_event";
	assert_int_equal(ruleset_match(rs, &ev, NULL, NULL), 0);
	ruleset_free(rs);
}

static void test_linuxlog(void **state)
{
	static struct linuxlog l;
	static const char audit[] = "type=EXECVE msg=audit(1700000000.250:77): argc=3 a0=\"nc\" "
				    "a1=\"-e\" a2=\"/bin/sh\"\n";
	static const char sys[] = "<38>Nov 26 10:00:01 web1 sshd[811]: Failed password for root "
				  "from 10.0.0.9 port 4242 ssh2";
	static const char rules[] =
	    "title: nc exec\n"
	    "logsource: {product: linux, service: auditd}\n"
	    "detection: {sel: {type: EXECVE, a0: nc, a1: '-e'}, condition: sel}\n"
	    "---\n"
	    "title: ssh fail\n"
	    "logsource: {product: linux, service: sshd}\n"
	    "detection: {keywords: ['Failed password for root'], condition: keywords}\n"
	    "---\n"
	    "title: any syslog\n"
	    "logsource: {product: linux, service: syslog}\n"
	    "detection: {keywords: ['port 4242'], condition: keywords}\n";
	struct ruleset *rs = load(rules);
	struct hits h = {0};
	struct event ev;
	(void)state;

	assert_int_equal(linuxlog_auditd(&l, audit, strlen(audit), &ev), 0);
	assert_string_equal(ev.service, "auditd");
	assert_true(ev.ts_ns == 1700000000250000000ull);
	assert_int_equal(ev.nxfields, 5); /* type, argc, a0, a1, a2 */
	assert_int_equal(ruleset_match(rs, &ev, on_hit, &h), 1);
	assert_string_equal(h.names[0], "nc exec");
	assert_int_equal(linuxlog_syslog(&l, sys, strlen(sys), &ev), 0);
	assert_string_equal(ev.service, "sshd");
	assert_int_equal(ruleset_match(rs, &ev, on_hit, &h), 2);
	assert_string_equal(h.names[1], "ssh fail");
	assert_string_equal(h.names[2], "any syslog");
	assert_int_equal(linuxlog_syslog(&l, "no header here", 14, &ev), 0);
	assert_string_equal(ev.service, "syslog");
	assert_int_equal(linuxlog_auditd(&l, "a\0b", 3, &ev), YM_E_INVAL);
	ruleset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_count),	   cmocka_unit_test(test_value_count),
	    cmocka_unit_test(test_temporal),	   cmocka_unit_test(test_chain_and_generate),
	    cmocka_unit_test(test_aliases),	   cmocka_unit_test(test_value_metrics),
	    cmocka_unit_test(test_bounds),	   cmocka_unit_test(test_correl_errors),
	    cmocka_unit_test(test_filters),	   cmocka_unit_test(test_placeholders),
	    cmocka_unit_test(test_winevt),	   cmocka_unit_test(test_linuxlog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
