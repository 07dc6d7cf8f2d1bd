/* gateway.c: enrolment, event ingest with detection, command long poll and
 * action results for agents. */
#include "gateway.h"
#include "actions.h"
#include "audit.h"
#include "batch.h"
#include "detect.h"
#include "err.h"
#include "event.h"
#include "http.h"
#include "intel.h"
#include "ioc.h"
#include "jsonin.h"
#include "log.h"
#include "pki.h"
#include "rules.h"
#include "server.h"
#include "store.h"
#include "util.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* ---- enrolment ---- */

static int hostname_ok(const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int printable(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	}
	return 1;
}

static int hex64(const char *s)
{
	for (size_t i = 0; i < 64; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[64] == 0;
}

/* a token of any shape is checked below and refused with 401, not 400 */
/* clang-format off */
static const struct jsonin_field enrol_spec[] = {
	{"token", JSONIN_STR, 1, 1, 256},
	{"hostname", JSONIN_STR, 1, 1, STORE_HOST_MAX - 1},
	{"csr", JSONIN_STR, 1, 1, 16384},
	{"os", JSONIN_STR, 0, 0, 31},
	{"agent_version", JSONIN_STR, 0, 0, 31},
};
/* clang-format on */

/* Attackers can make these at will: the log line and the audit row share
 * one rate limit so neither grows without bound. */
static struct log_ratelimit refused_rl = LOG_RATELIMIT_INIT(10, 60);

void gateway_enrol(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *in = NULL;
	char why[128], tenant[STORE_ID_LEN], serial[PKI_SERIAL_HEX], eh[600];
	const char *token, *host, *csr, *os, *ver;
	char *crt = NULL;
	struct store_agent ag;
	uint8_t hash[32];
	int e;

	e = jsonin_parse((const char *)r->body.data, r->body.len, enrol_spec,
			 sizeof(enrol_spec) / sizeof(enrol_spec[0]), &in, why, sizeof(why));
	if (e) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, why);
		goto out;
	}
	token = jsonin_str(in, "token");
	host = jsonin_str(in, "hostname");
	csr = jsonin_str(in, "csr");
	os = jsonin_str(in, "os");
	ver = jsonin_str(in, "agent_version");
	if (!hostname_ok(host) || (os && !printable(os)) || (ver && !printable(ver))) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST,
			  "hostname, os or agent_version has characters outside the allowed set");
		goto out;
	}
	if (strlen(token) != 64 || !hex64(token) || pki_sha256(token, 64, hash) ||
	    store_enrol_token_check(srv->store, (struct store_scope){NULL}, hash, tenant)) {
		/* one limiter for both: a flood neither fills the log nor the audit table */
		if (log_ratelimit_ok(&refused_rl)) {
			log_escape(host, strlen(host), eh, sizeof(eh));
			LOG_W("gateway", HTTP_E_ENROL, "enrolment refused: peer=%s hostname=%s",
			      r->peer, eh);
			audit_record(srv->store, "anonymous", NULL, "enrol.refused", r->peer,
				     "invalid enrolment token, hostname=%s", eh);
		}
		json_decref(r->out);
		r->out = json_pack("{s:s}", "error", "invalid enrolment token");
		r->status = r->out ? MHD_HTTP_UNAUTHORIZED : MHD_HTTP_INTERNAL_SERVER_ERROR;
		goto out;
	}
	memset(&ag, 0, sizeof(ag));
	if (util_uuid(ag.id)) {
		http_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, HTTP_E_INTERNAL, "no randomness");
		goto out;
	}
	e = pki_sign_csr(srv->ca, csr, strlen(csr), ag.id, tenant, &crt, serial);
	if (e) {
		http_fail(r,
			  e == YM_E_NOMEM || e == YM_E_IO ? MHD_HTTP_INTERNAL_SERVER_ERROR
							  : MHD_HTTP_BAD_REQUEST,
			  HTTP_E_CSR,
			  e == YM_E_PARSE	  ? "csr: not a PEM certificate request"
			  : e == YM_E_CRYPTO	  ? "csr: signature does not verify"
			  : e == YM_E_UNSUPPORTED ? "csr: key must be EC P-256"
						  : "csr: cannot be signed");
		goto out;
	}
	util_strlcpy(ag.tenant_id, tenant, sizeof(ag.tenant_id));
	util_strlcpy(ag.hostname, host, sizeof(ag.hostname));
	util_strlcpy(ag.cert_serial, serial, sizeof(ag.cert_serial));
	util_strlcpy(ag.os, os ? os : "", sizeof(ag.os));
	util_strlcpy(ag.version, ver ? ver : "", sizeof(ag.version));
	ag.enrolled_ns = util_now_ns();
	e = store_agent_add(srv->store, (struct store_scope){tenant}, &ag);
	if (e) {
		http_fail_code(r, e, "agent");
		goto out;
	}
	audit_record(srv->store, "anonymous", tenant, "agent.enrolled", ag.id,
		     "hostname=%s os=%s version=%s serial=%s peer=%s", ag.hostname, ag.os,
		     ag.version, serial, r->peer);
	http_reply(r, MHD_HTTP_OK,
		   json_pack("{s:s, s:s, s:s, s:s, s:s}", "agent_id", ag.id, "tenant_id", tenant,
			     "cert", crt, "ca", srv->keys.ca_crt, "response_pubkey",
			     srv->keys.response_pub));
out:
	free(crt);
	json_decref(in);
}

/* ---- events ---- */

struct detect_ctx {
	const struct ruleset *rs;
	struct correl_state *correl; /* the tenant's windows, or NULL */
	const struct intel_set *iocs;
	struct store_alert_sink *sink;
	int err;
};

static int on_match(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct detect_ctx *d = ctx;
	struct store_alert_in a = {ri->id, ri->title, ri->level, ri->tags, ri->ntags};

	(void)ev;
	d->err = store_sink_alert(d->sink, &a);
	return d->err != 0; /* stop matching this event on a store failure */
}

/* An IoC hit is an alert like a rule's, in the same transaction: rule_id
 * "intel:<kind>", title "IoC match: <kind> <indicator>" (docs/intel.md). */
static int on_ioc(const struct intel_hit *h, const struct event *ev, void *ctx)
{
	struct detect_ctx *d = ctx;
	struct store_alert_in a;
	char rule_id[32], title[256];

	(void)ev;
	intel_hit_alert(h, rule_id, sizeof(rule_id), title, sizeof(title), &a.tags, &a.ntags);
	a.rule_id = rule_id;
	a.title = title;
	a.level = INTEL_ALERT_LEVEL;
	d->err = store_sink_alert(d->sink, &a);
	return d->err != 0;
}

static int detect_event(const struct event *ev, struct store_alert_sink *sink, void *ctx)
{
	struct detect_ctx *d = ctx;

	d->sink = sink;
	d->err = 0;
	if (d->rs)
		ruleset_match_correl(d->rs, d->correl, ev, on_match, d);
	if (d->iocs && !d->err)
		intel_match(d->iocs, ev, on_ioc, d);
	return d->err;
}

void gateway_events(struct http_req *r)
{
	struct server *srv = r->srv;
	struct batch b;
	struct store_ingest_result res;
	struct detect_ctx dc = {NULL, NULL, NULL, NULL, 0};
	char why[256], msg[300];
	int e;

	e = batch_decode(r->body.data ? r->body.data : (const uint8_t *)"", r->body.len, &b, why,
			 sizeof(why));
	if (e) {
		snprintf(msg, sizeof(msg), "malformed batch: %s", why);
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_BATCH, msg);
		return;
	}
	dc.rs = rules_acquire(srv->rules);
	dc.correl = rules_correl_acquire(srv->rules, r->scope.tenant_id);
	dc.iocs = srv->ioc ? ioc_acquire(srv->ioc) : NULL;
	e = store_ingest(srv->store, r->scope, r->agent.id, r->agent.hostname, b.events, b.count,
			 dc.rs || dc.iocs ? detect_event : NULL, &dc, &res);
	rules_correl_release(srv->rules);
	if (srv->ioc)
		ioc_release(srv->ioc);
	rules_release(srv->rules);
	if (e) {
		http_fail_code(r, e, "batch");
	} else {
		LOG_D("gateway",
		      "agent %s batch %llu..%llu: %llu stored, %llu duplicates, %llu alerts",
		      r->agent.id, (unsigned long long)b.first_seq, (unsigned long long)b.last_seq,
		      (unsigned long long)res.stored, (unsigned long long)res.duplicates,
		      (unsigned long long)res.alerts);
		http_reply(r, MHD_HTTP_OK,
			   json_pack("{s:I, s:I, s:I, s:I}", "stored", (json_int_t)res.stored,
				     "duplicates", (json_int_t)res.duplicates, "first_seq",
				     (json_int_t)b.first_seq, "last_seq", (json_int_t)b.last_seq));
	}
	batch_free(&b);
}

/* ---- commands ---- */

static int add_command(const char *text, void *ctx)
{
	json_t *arr = ctx, *c = json_loads(text, 0, NULL);

	/* stored by us from command_sign: anything else is a bug, not input */
	if (!c)
		return YM_E_INTERNAL;
	return json_array_append_new(arr, c) ? YM_E_NOMEM : 0;
}

void gateway_commands(struct http_req *r)
{
	struct server *srv = r->srv;
	struct actions_waiter w;
	const char *ws = http_query(r, "wait");
	uint64_t wait = 0, deadline;
	json_t *arr = NULL;
	unsigned n = 0;
	int e = 0;

	if (ws && util_parse_u64(ws, 0, GATEWAY_WAIT_MAX_S, &wait)) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, "wait: 0..30 seconds expected");
		return;
	}
	deadline = util_mono_ns() + wait * 1000000000ull;
	actions_waiter_add(srv->actions, &w, r->agent.id);
	for (;;) {
		actions_waiter_arm(srv->actions, &w);
		json_decref(arr);
		arr = json_array();
		if (!arr) {
			e = YM_E_NOMEM;
			break;
		}
		e = store_action_pending(srv->store, r->scope, r->agent.id,
					 util_now_ns() / 1000000000ull, add_command, arr, &n);
		if (e || n > 0 || util_mono_ns() >= deadline)
			break;
		/* woken or not, look again: a time-out or stop ends the loop on the next check */
		if (!actions_waiter_wait(srv->actions, &w, deadline) && util_mono_ns() < deadline)
			break; /* stopping */
	}
	actions_waiter_remove(srv->actions, &w);
	if (e) {
		json_decref(arr);
		http_fail_code(r, e, "commands");
		return;
	}
	http_reply(r, MHD_HTTP_OK, json_pack("{s:o}", "commands", arr));
}

/* ---- results ---- */

static const struct jsonin_field result_spec[] = {
    {"id", JSONIN_STR, 1, 36, 36},
    {"status", JSONIN_STR, 1, 1, 15},
    {"detail", JSONIN_STR, 0, 0, STORE_DETAIL_MAX - 1},
};

void gateway_results(struct http_req *r)
{
	struct server *srv = r->srv;
	json_t *in = NULL;
	const char *id, *status, *detail;
	struct store_action act;
	char why[128], ed[STORE_DETAIL_MAX * 4];
	int e, changed = 0;

	e = jsonin_parse((const char *)r->body.data, r->body.len, result_spec,
			 sizeof(result_spec) / sizeof(result_spec[0]), &in, why, sizeof(why));
	if (e) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, why);
		goto out;
	}
	id = jsonin_str(in, "id");
	status = jsonin_str(in, "status");
	detail = jsonin_str(in, "detail");
	if (strcmp(status, "done") != 0 && strcmp(status, "refused") != 0 &&
	    strcmp(status, "failed") != 0) {
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST,
			  "status: done, refused or failed expected");
		goto out;
	}
	/* the store only completes actions addressed to this very agent */
	e = store_action_result(srv->store, r->scope, r->agent.id, id, status, detail,
				util_now_ns(), &act, &changed);
	if (e == YM_E_EXISTS) {
		http_fail(r, MHD_HTTP_CONFLICT, HTTP_E_CONFLICT,
			  "action already completed with another status");
		goto out;
	}
	if (e) {
		http_fail_code(r, e, "action");
		goto out;
	}
	if (changed) {
		log_escape(act.detail, strlen(act.detail), ed, sizeof(ed));
		audit_record(srv->store, r->actor, act.tenant_id, "action.result", act.id,
			     "%s %s pid=%lld: %s", act.status, act.type, (long long)act.pid, ed);
	}
	http_reply(r, MHD_HTTP_OK, json_pack("{s:s, s:s}", "id", act.id, "status", act.status));
out:
	json_decref(in);
}
