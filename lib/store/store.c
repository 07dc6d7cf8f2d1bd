/* store.c: the public store_* calls. Checks every backend shares (arguments,
 * provider-only calls, limits), then forwards through the ops table. */
#include "store_int.h"
#include "err.h"

#include <string.h>

static int provider_only(struct store_scope sc)
{
	return sc.tenant_id ? YM_E_AUTH : 0;
}

static int str_ok(const char *s, size_t max)
{
	return s && s[0] && strnlen(s, max) < max;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_tenant_ensure(struct store *s, struct store_scope sc, const char *name,
			struct store_tenant *out, int *created)
{
	if (provider_only(sc))
		return YM_E_AUTH;
	if (!str_ok(name, STORE_NAME_MAX) || !out)
		return YM_E_INVAL;
	return s->ops->tenant_ensure(s, sc, name, out, created);
}

int store_tenant_find(struct store *s, struct store_scope sc, const char *name,
		      struct store_tenant *out)
{
	if (!str_ok(name, STORE_NAME_MAX) || !out)
		return YM_E_INVAL;
	return s->ops->tenant_find(s, sc, name, out);
}

int store_enrol_token_add(struct store *s, struct store_scope sc, const char *tenant_id,
			  const uint8_t hash[STORE_HASH_LEN])
{
	if (provider_only(sc))
		return YM_E_AUTH;
	if (!str_ok(tenant_id, STORE_ID_LEN) || !hash)
		return YM_E_INVAL;
	return s->ops->enrol_token_add(s, sc, tenant_id, hash);
}

int store_enrol_token_check(struct store *s, struct store_scope sc,
			    const uint8_t hash[STORE_HASH_LEN], char tenant_id[STORE_ID_LEN])
{
	if (provider_only(sc))
		return YM_E_AUTH;
	if (!hash || !tenant_id)
		return YM_E_INVAL;
	return s->ops->enrol_token_check(s, sc, hash, tenant_id);
}

int store_api_token_add(struct store *s, struct store_scope sc, const char *tenant_id,
			const char *role, const char *name, const uint8_t hash[STORE_HASH_LEN],
			struct store_api_token *out)
{
	if (provider_only(sc))
		return YM_E_AUTH;
	if ((tenant_id && !str_ok(tenant_id, STORE_ID_LEN)) || !role || !hash || !out ||
	    !str_ok(name, STORE_NAME_MAX))
		return YM_E_INVAL;
	if (strcmp(role, "analyst") != 0 && strcmp(role, "admin") != 0)
		return YM_E_INVAL;
	return s->ops->api_token_add(s, sc, tenant_id, role, name, hash, out);
}

int store_api_token_check(struct store *s, struct store_scope sc,
			  const uint8_t hash[STORE_HASH_LEN], struct store_api_token *out)
{
	if (provider_only(sc))
		return YM_E_AUTH;
	if (!hash || !out)
		return YM_E_INVAL;
	return s->ops->api_token_check(s, sc, hash, out);
}

int store_agent_add(struct store *s, struct store_scope sc, const struct store_agent *a)
{
	if (!a || !str_ok(a->id, STORE_ID_LEN) || !str_ok(a->tenant_id, STORE_ID_LEN) ||
	    !str_ok(a->hostname, STORE_HOST_MAX) || !str_ok(a->cert_serial, sizeof(a->cert_serial)))
		return YM_E_INVAL;
	if (sc.tenant_id && strcmp(sc.tenant_id, a->tenant_id) != 0)
		return YM_E_NOTFOUND;
	return s->ops->agent_add(s, sc, a);
}

int store_agent_get(struct store *s, struct store_scope sc, const char *id, struct store_agent *out)
{
	if (!str_ok(id, STORE_ID_LEN) || !out)
		return YM_E_INVAL;
	return s->ops->agent_get(s, sc, id, out);
}

int store_agent_list(struct store *s, struct store_scope sc, store_agent_fn fn, void *ctx)
{
	if (!fn)
		return YM_E_INVAL;
	return s->ops->agent_list(s, sc, fn, ctx);
}

int store_ingest(struct store *s, struct store_scope sc, const char *agent_id, const char *host,
		 struct event *evs, size_t n, store_detect_fn detect, void *ctx,
		 struct store_ingest_result *res)
{
	/* events are always stored under a tenant: the provider scope cannot ingest */
	if (!sc.tenant_id || !str_ok(agent_id, STORE_ID_LEN) || !str_ok(host, STORE_HOST_MAX) ||
	    (n && !evs) || !res)
		return YM_E_INVAL;
	return s->ops->ingest(s, sc, agent_id, host, evs, n, detect, ctx, res);
}

int store_sink_alert(struct store_alert_sink *sink, const struct store_alert_in *a)
{
	if (!sink || !a || !a->rule_id || !a->title || !a->level || (a->ntags && !a->tags))
		return YM_E_INVAL;
	return sink->emit(sink, a);
}

int store_event_query(struct store *s, struct store_scope sc, const struct store_event_filter *f,
		      store_event_fn fn, void *ctx)
{
	if (!f || !fn || f->limit < 1 || f->limit > STORE_QUERY_MAX)
		return YM_E_INVAL;
	return s->ops->event_query(s, sc, f, fn, ctx);
}

int store_event_start_time(struct store *s, struct store_scope sc, const char *agent_id,
			   int64_t pid, uint64_t *start_time)
{
	if (!str_ok(agent_id, STORE_ID_LEN) || pid <= 0 || !start_time)
		return YM_E_INVAL;
	return s->ops->event_start_time(s, sc, agent_id, pid, start_time);
}

int store_alert_query(struct store *s, struct store_scope sc, const struct store_alert_filter *f,
		      store_alert_fn fn, void *ctx)
{
	if (!f || !fn || f->limit < 1 || f->limit > STORE_QUERY_MAX)
		return YM_E_INVAL;
	return s->ops->alert_query(s, sc, f, fn, ctx);
}

int store_action_add(struct store *s, struct store_scope sc, const struct store_action *a,
		     const char *command)
{
	if (!a || !str_ok(a->id, STORE_ID_LEN) || !str_ok(a->tenant_id, STORE_ID_LEN) ||
	    !str_ok(a->agent_id, STORE_ID_LEN) || !str_ok(a->type, sizeof(a->type)) ||
	    !str_ok(a->requested_by, sizeof(a->requested_by)) || !str_ok(command, 8193))
		return YM_E_INVAL;
	if (sc.tenant_id && strcmp(sc.tenant_id, a->tenant_id) != 0)
		return YM_E_NOTFOUND;
	return s->ops->action_add(s, sc, a, command);
}

int store_action_get(struct store *s, struct store_scope sc, const char *id, uint64_t now_s,
		     struct store_action *out)
{
	if (!str_ok(id, STORE_ID_LEN) || !out)
		return YM_E_INVAL;
	return s->ops->action_get(s, sc, id, now_s, out);
}

int store_action_pending(struct store *s, struct store_scope sc, const char *agent_id,
			 uint64_t now_s, store_command_fn fn, void *ctx, unsigned *count)
{
	if (!str_ok(agent_id, STORE_ID_LEN) || !fn || !count)
		return YM_E_INVAL;
	return s->ops->action_pending(s, sc, agent_id, now_s, fn, ctx, count);
}

int store_action_result(struct store *s, struct store_scope sc, const char *agent_id,
			const char *id, const char *status, const char *detail, uint64_t now_ns,
			struct store_action *out, int *changed)
{
	if (!str_ok(agent_id, STORE_ID_LEN) || !str_ok(id, STORE_ID_LEN) || !status || !out ||
	    !changed)
		return YM_E_INVAL;
	if (strcmp(status, "done") != 0 && strcmp(status, "refused") != 0 &&
	    strcmp(status, "failed") != 0)
		return YM_E_INVAL;
	return s->ops->action_result(s, sc, agent_id, id, status, detail, now_ns, out, changed);
}

int store_audit_add(struct store *s, struct store_scope sc, const struct store_audit_in *a)
{
	if (!a || !str_ok(a->actor, STORE_ACTOR_MAX) || !str_ok(a->action, 64))
		return YM_E_INVAL;
	if (sc.tenant_id && (!a->tenant_id || strcmp(sc.tenant_id, a->tenant_id) != 0))
		return YM_E_AUTH;
	return s->ops->audit_add(s, sc, a);
}

int store_audit_query(struct store *s, struct store_scope sc, unsigned limit, store_audit_fn fn,
		      void *ctx)
{
	if (!fn || limit < 1 || limit > STORE_QUERY_MAX)
		return YM_E_INVAL;
	return s->ops->audit_query(s, sc, limit, fn, ctx);
}
