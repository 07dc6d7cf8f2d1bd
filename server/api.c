/* api.c: JSON views of agents, alerts, events, actions and the audit log,
 * and action requests. Parameters are checked strictly; every read is
 * scoped by the store. */
#include "api.h"
#include "actions.h"
#include "err.h"
#include "event.h"
#include "http.h"
#include "jsonin.h"
#include "server.h"
#include "store.h"
#include "util.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* RFC 3339 UTC with milliseconds; null for 0 ("never"). */
static json_t *time_json(uint64_t ns)
{
	char s[80];
	struct tm tm;
	time_t t = (time_t)(ns / 1000000000ull);

	if (ns == 0)
		return json_null();
	gmtime_r(&t, &tm);
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000ull / 1000000ull));
	return json_string(s);
}

/* Text we stored from our own JSON encoder; a parse failure is a bug. */
static json_t *stored_json(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	return j ? j : json_null();
}

/* json_string for a stored value, which may have been cut at a byte
 * boundary or not be UTF-8 at all (hostnames, names are checked ASCII). */
static json_t *str_json(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_string("");
}

/* limit: 1.. (default API_LIMIT_DEFAULT); more than API_LIMIT_MAX is capped,
 * the way a page size is, rather than refused. */
static int param_limit(struct http_req *r, unsigned *out)
{
	const char *s = http_query(r, "limit");
	uint64_t v = API_LIMIT_DEFAULT;

	if (s && util_parse_u64(s, 1, UINT64_MAX, &v)) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST,
			  "limit: a positive integer expected");
		return YM_E_INVAL;
	}
	*out = v > API_LIMIT_MAX ? API_LIMIT_MAX : (unsigned)v;
	return 0;
}

/* since: Unix seconds, or a duration back from now ("10m", "2h", "1d",
 * "30s"); absent means everything. */
static int param_since(struct http_req *r, uint64_t *ns)
{
	const char *s = http_query(r, "since");
	size_t n = s ? strlen(s) : 0;
	uint64_t v, now = util_now_ns() / 1000000000ull;

	*ns = 0;
	if (!s)
		return 0;
	if (n > 0 && n < 24 && strchr("smhd", s[n - 1])) {
		if (util_parse_duration(s, &v) || v > now)
			goto bad;
		*ns = (now - v) * 1000000000ull;
		return 0;
	}
	if (util_parse_u64(s, 0, UINT64_MAX / 1000000000ull, &v))
		goto bad;
	*ns = v * 1000000000ull;
	return 0;
bad:
	http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST,
		  "since: Unix seconds or a duration like 10m, 2h, 1d expected");
	return YM_E_INVAL;
}

static int uuid_ok(const char *s)
{
	size_t n = strlen(s);
	if (n != 36)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

/* Builds {"<key>": [...]} from rows; a failed append marks the view failed. */
struct view {
	json_t *arr;
	int failed;
};

static void view_add(struct view *v, json_t *o)
{
	if (!o || json_array_append_new(v->arr, o))
		v->failed = 1;
}

static void view_reply(struct http_req *r, struct view *v, int err, const char *key)
{
	if (err || v->failed) {
		json_decref(v->arr);
		http_fail_code(r, err ? err : YM_E_NOMEM, key);
		return;
	}
	http_reply(r, MHD_HTTP_OK, json_pack("{s:o}", key, v->arr));
}

void api_health(struct http_req *r)
{
	http_reply(r, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

/* The store keeps these JSON objects itself; anything else reads as {}. */
static json_t *obj_json(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

static int agent_row(const struct store_agent *a, void *ctx)
{
	view_add(ctx,
		 json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o}", "id", a->id,
			   "tenant_id", a->tenant_id, "tenant", str_json(a->tenant_name),
			   "hostname", str_json(a->hostname), "enrolled_at",
			   time_json(a->enrolled_ns), "last_seen", time_json(a->last_seen_ns),
			   "last_seq", (json_int_t)a->last_seq, "events", (json_int_t)a->events,
			   "sensors", obj_json(a->sensors), "drops", obj_json(a->drops)));
	return 0;
}

void api_agents(struct http_req *r)
{
	struct view v = {json_array(), 0};
	int e = v.arr ? store_agent_list(r->srv->store, r->scope, agent_row, &v) : YM_E_NOMEM;
	view_reply(r, &v, e, "agents");
}

static int alert_row(const struct store_alert_row *a, void *ctx)
{
	view_add(ctx, json_pack("{s:s, s:o, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:o}",
				"id", a->id, "time", time_json(a->created_ns), "time_ns",
				(json_int_t)a->created_ns, "tenant_id", a->tenant_id, "agent_id",
				a->agent_id, "host", str_json(a->host), "rule_id",
				str_json(a->rule_id), "title", str_json(a->title), "level",
				str_json(a->level), "tags", stored_json(a->tags_json), "event_seq",
				(json_int_t)a->event_seq, "event", stored_json(a->event_json)));
	return 0;
}

void api_alerts(struct http_req *r)
{
	struct store_alert_filter f;
	struct view v = {NULL, 0};
	int e;

	if (param_since(r, &f.since_ns) || param_limit(r, &f.limit))
		return;
	v.arr = json_array();
	e = v.arr ? store_alert_query(r->srv->store, r->scope, &f, alert_row, &v) : YM_E_NOMEM;
	view_reply(r, &v, e, "alerts");
}

static int event_row(const struct store_event_row *ev, void *ctx)
{
	view_add(ctx, json_pack("{s:s, s:o, s:I, s:o, s:I, s:s, s:o}", "agent_id", ev->agent_id,
				"host", str_json(ev->host), "seq", (json_int_t)ev->seq, "time",
				time_json(ev->ts_ns), "time_ns", (json_int_t)ev->ts_ns, "category",
				event_category_name(ev->category), "fields",
				stored_json(ev->fields_json)));
	return 0;
}

void api_events(struct http_req *r)
{
	struct store_event_filter f;
	struct view v = {NULL, 0};
	const char *cat = http_query(r, "category");
	unsigned c;
	uint64_t cv;
	int e;

	memset(&f, 0, sizeof(f));
	f.host = http_query(r, "host");
	f.agent_id = http_query(r, "agent");
	f.process_guid = http_query(r, "process_guid");
	f.category = -1;
	if (param_since(r, &f.since_ns) || param_limit(r, &f.limit))
		return;
	if (f.host && (!f.host[0] || strlen(f.host) >= STORE_HOST_MAX)) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, "host: 1..255 bytes expected");
		return;
	}
	if (f.agent_id && !uuid_ok(f.agent_id)) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, "agent: an agent id expected");
		return;
	}
	if (f.process_guid && (!f.process_guid[0] || strlen(f.process_guid) > 64)) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, "process_guid: 1..64 bytes expected");
		return;
	}
	if (cat) {
		if (event_category_parse(cat, &c) == 0)
			f.category = (int)c;
		else if (util_parse_u64(cat, 0, EVCAT_MAX_ - 1, &cv) == 0)
			f.category = (int)cv;
		else {
			http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST,
				  "category: a category name or number expected");
			return;
		}
	}
	v.arr = json_array();
	e = v.arr ? store_event_query(r->srv->store, r->scope, &f, event_row, &v) : YM_E_NOMEM;
	view_reply(r, &v, e, "events");
}

static const struct jsonin_field action_spec[] = {
    {"type", JSONIN_STR, 1, 1, 23},
    {"agent_id", JSONIN_STR, 1, 36, 36},
    {"pid", JSONIN_INT, 1, 1, 4194304}, /* PID_MAX_LIMIT */
    {"start_time", JSONIN_INT, 0, 0, INT64_MAX},
};

void api_actions_post(struct http_req *r)
{
	json_t *in = NULL;
	struct actions_kill k;
	struct store_action act;
	char why[128];
	int64_t v;
	int e;

	e = jsonin_parse((const char *)r->body.data, r->body.len, action_spec,
			 sizeof(action_spec) / sizeof(action_spec[0]), &in, why, sizeof(why));
	if (e) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, why);
		goto out;
	}
	if (strcmp(jsonin_str(in, "type"), "kill") != 0) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, "type: only kill is supported");
		goto out;
	}
	memset(&k, 0, sizeof(k));
	k.agent_id = jsonin_str(in, "agent_id");
	if (!uuid_ok(k.agent_id)) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST,
			  "agent_id: an agent id expected");
		goto out;
	}
	jsonin_int(in, "pid", &k.pid);
	if (jsonin_int(in, "start_time", &v)) {
		k.have_start_time = 1;
		k.start_time = (uint64_t)v;
	}
	e = actions_kill(r->srv, r->scope, r->actor, &k, &act);
	if (e == YM_E_NOTFOUND) {
		http_fail(r, MHD_HTTP_NOT_FOUND, HTTP_E_NOTFOUND,
			  k.have_start_time ? "agent not found"
					    : "agent not found, or no process_creation event with "
					      "that pid and a start time");
		goto out;
	}
	if (e) {
		http_fail_code(r, e, "action");
		goto out;
	}
	http_reply(r, MHD_HTTP_ACCEPTED,
		   json_pack("{s:s, s:s}", "id", act.id, "status", act.status));
out:
	json_decref(in);
}

void api_action_get(struct http_req *r)
{
	const char *id = r->url + strlen("/api/v1/actions/");
	struct store_action a;
	int e;

	if (!uuid_ok(id)) {
		http_fail(r, MHD_HTTP_NOT_FOUND, HTTP_E_NOTFOUND, "action not found");
		return;
	}
	e = store_action_get(r->srv->store, r->scope, id, util_now_ns() / 1000000000ull, &a);
	if (e) {
		http_fail_code(r, e, "action");
		return;
	}
	http_reply(r, MHD_HTTP_OK,
		   json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:o, s:o}", "id", a.id,
			     "type", a.type, "tenant_id", a.tenant_id, "agent_id", a.agent_id,
			     "pid", (json_int_t)a.pid, "start_time", (json_int_t)a.start_time,
			     "status", a.status, "requested_by", str_json(a.requested_by),
			     "requested_at", time_json(a.requested_ns), "completed_at",
			     time_json(a.completed_ns), "detail", str_json(a.detail)));
}

static int audit_row(const struct store_audit_row *a, void *ctx)
{
	view_add(ctx, json_pack("{s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)a->id,
				"time", time_json(a->ns), "time_ns", (json_int_t)a->ns, "actor",
				str_json(a->actor), "tenant_id",
				a->tenant_id[0] ? json_string(a->tenant_id) : json_null(), "action",
				str_json(a->action), "target", str_json(a->target), "detail",
				str_json(a->detail)));
	return 0;
}

void api_audit(struct http_req *r)
{
	struct view v = {NULL, 0};
	unsigned limit;
	int e;

	if (param_limit(r, &limit))
		return;
	v.arr = json_array();
	e = v.arr ? store_audit_query(r->srv->store, r->scope, limit, audit_row, &v) : YM_E_NOMEM;
	view_reply(r, &v, e, "audit");
}
