/* store_int.h: the backend ops table behind store.h. Only lib/store/ files
 * include it. A backend embeds struct store as the first member of its own
 * handle and sets ops; store.c forwards each public call through the table,
 * after the checks every backend shares. */
#ifndef YM_STORE_INT_H
#define YM_STORE_INT_H

#include "store.h"

struct store_ops {
	void (*close)(struct store *s);
	int (*tenant_ensure)(struct store *s, struct store_scope sc, const char *name,
			     struct store_tenant *out, int *created);
	int (*tenant_find)(struct store *s, struct store_scope sc, const char *name,
			   struct store_tenant *out);
	int (*enrol_token_add)(struct store *s, struct store_scope sc, const char *tenant_id,
			       const uint8_t hash[STORE_HASH_LEN]);
	int (*enrol_token_check)(struct store *s, struct store_scope sc,
				 const uint8_t hash[STORE_HASH_LEN], char tenant_id[STORE_ID_LEN]);
	int (*api_token_add)(struct store *s, struct store_scope sc, const char *tenant_id,
			     const char *role, const char *name, const uint8_t hash[STORE_HASH_LEN],
			     struct store_api_token *out);
	int (*api_token_check)(struct store *s, struct store_scope sc,
			       const uint8_t hash[STORE_HASH_LEN], struct store_api_token *out);
	int (*agent_add)(struct store *s, struct store_scope sc, const struct store_agent *a);
	int (*agent_get)(struct store *s, struct store_scope sc, const char *id,
			 struct store_agent *out);
	int (*agent_list)(struct store *s, struct store_scope sc, store_agent_fn fn, void *ctx);
	int (*ingest)(struct store *s, struct store_scope sc, const char *agent_id,
		      const char *host, struct event *evs, size_t n, store_detect_fn detect,
		      void *ctx, struct store_ingest_result *res);
	int (*event_query)(struct store *s, struct store_scope sc,
			   const struct store_event_filter *f, store_event_fn fn, void *ctx);
	int (*event_start_time)(struct store *s, struct store_scope sc, const char *agent_id,
				int64_t pid, uint64_t *start_time);
	int (*alert_query)(struct store *s, struct store_scope sc,
			   const struct store_alert_filter *f, store_alert_fn fn, void *ctx);
	int (*action_add)(struct store *s, struct store_scope sc, const struct store_action *a,
			  const char *command);
	int (*action_get)(struct store *s, struct store_scope sc, const char *id, uint64_t now_s,
			  struct store_action *out);
	int (*action_pending)(struct store *s, struct store_scope sc, const char *agent_id,
			      uint64_t now_s, store_command_fn fn, void *ctx, unsigned *count);
	int (*action_result)(struct store *s, struct store_scope sc, const char *agent_id,
			     const char *id, const char *status, const char *detail,
			     uint64_t now_ns, struct store_action *out, int *changed);
	int (*audit_add)(struct store *s, struct store_scope sc, const struct store_audit_in *a);
	int (*audit_query)(struct store *s, struct store_scope sc, unsigned limit,
			   store_audit_fn fn, void *ctx);
};

struct store {
	const struct store_ops *ops;
};

/* A backend's alert sink embeds this as its first member. */
struct store_alert_sink {
	int (*emit)(struct store_alert_sink *sink, const struct store_alert_in *a);
};

#endif
