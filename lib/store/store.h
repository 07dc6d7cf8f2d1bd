/* store: the server's state and telemetry store (docs/internals/database.md).
 *
 * One opaque struct store over a backend chosen at open time (an ops table:
 * store_sqlite.c today; store_pg.c can join behind the same table). Every
 * function that reads or writes tenant data takes a struct store_scope and
 * filters by it in the query itself, so tenant isolation lives here, in the
 * data layer, and not in the callers.
 *
 * Threads: a struct store may be shared by any number of threads; each call
 * is serialised internally (the SQLite backend holds one connection behind a
 * mutex). Row callbacks run with that lock held: they must not call back
 * into the same store.
 *
 * Strings handed to callbacks are borrowed for the duration of the call.
 * All fixed-size char arrays below are NUL-terminated. */
#ifndef YM_STORE_H
#define YM_STORE_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct store;

/* Whose data a call may see or touch. tenant_id NULL means the provider:
 * every tenant. Calls that only the provider may make (creating tenants and
 * tokens, looking up credentials) return YM_E_AUTH for a tenant scope. */
struct store_scope {
	const char *tenant_id;
};

#define STORE_ID_LEN	 37  /* UUID text + NUL */
#define STORE_NAME_MAX	 128 /* tenant and token names, incl. NUL */
#define STORE_HOST_MAX	 256 /* hostnames, incl. NUL */
#define STORE_ROLE_MAX	 16
#define STORE_ACTOR_MAX	 160
#define STORE_DETAIL_MAX 1024  /* action result detail, incl. NUL; longer is cut */
#define STORE_QUERY_MAX	 10000 /* hard cap on rows any list call returns */
#define STORE_HASH_LEN	 32    /* SHA-256 of a token */

/* Opens (creating if needed) the SQLite database at path: WAL journal,
 * synchronous=FULL (a commit is on disk before it returns, so an
 * acknowledged batch survives power loss), foreign keys on, schema created
 * or checked. Returns 0 and sets *out (free with store_close), YM_E_DB
 * (cannot open, or a schema newer than this code), YM_E_NOMEM. */
int store_open_sqlite(const char *path, struct store **out);

/* Closes the store; NULL is a no-op. No call may be in progress. */
void store_close(struct store *s);

/* ---- tenants and credentials (provider scope only) ---- */

struct store_tenant {
	char id[STORE_ID_LEN];
	char name[STORE_NAME_MAX];
	uint64_t created_ns;
};

/* Creates tenant name (1..127 bytes) or finds the existing one of that name.
 * Returns 0 and fills *out, *created (if not NULL) set to 1 when it was new;
 * YM_E_INVAL, YM_E_AUTH, YM_E_DB. */
int store_tenant_ensure(struct store *s, struct store_scope sc, const char *name,
			struct store_tenant *out, int *created);
/* Finds a tenant by name within the scope. Returns 0, YM_E_NOTFOUND, YM_E_DB. */
int store_tenant_find(struct store *s, struct store_scope sc, const char *name,
		      struct store_tenant *out);

/* Records the SHA-256 of an enrolment token for tenant_id. Returns 0,
 * YM_E_AUTH, YM_E_NOTFOUND (no such tenant), YM_E_EXISTS, YM_E_DB. */
int store_enrol_token_add(struct store *s, struct store_scope sc, const char *tenant_id,
			  const uint8_t hash[STORE_HASH_LEN]);
/* Looks up an enrolment token by hash. Returns 0 and copies the tenant id
 * into tenant_id, YM_E_AUTH (unknown or revoked), YM_E_DB. */
int store_enrol_token_check(struct store *s, struct store_scope sc,
			    const uint8_t hash[STORE_HASH_LEN], char tenant_id[STORE_ID_LEN]);

struct store_api_token {
	char id[STORE_ID_LEN];
	char tenant_id[STORE_ID_LEN]; /* "" for a provider token */
	char role[STORE_ROLE_MAX];    /* "analyst" or "admin" */
	char name[STORE_NAME_MAX];
};

/* Records an API token (hash of its text). tenant_id NULL makes a provider
 * token. role must be "analyst" or "admin", name 1..127 bytes. Returns 0 and
 * fills *out, YM_E_INVAL, YM_E_AUTH, YM_E_NOTFOUND (tenant), YM_E_EXISTS,
 * YM_E_DB. */
int store_api_token_add(struct store *s, struct store_scope sc, const char *tenant_id,
			const char *role, const char *name, const uint8_t hash[STORE_HASH_LEN],
			struct store_api_token *out);
/* Looks up an API token by hash. Returns 0 and fills *out, YM_E_AUTH
 * (unknown or revoked), YM_E_DB. */
int store_api_token_check(struct store *s, struct store_scope sc,
			  const uint8_t hash[STORE_HASH_LEN], struct store_api_token *out);

/* ---- agents ---- */

struct store_agent {
	char id[STORE_ID_LEN];
	char tenant_id[STORE_ID_LEN];
	char tenant_name[STORE_NAME_MAX]; /* filled by reads */
	char hostname[STORE_HOST_MAX];
	char cert_serial[68]; /* hex of the client certificate serial */
	char os[32];
	char version[32];
	uint64_t enrolled_ns;
	uint64_t last_seen_ns; /* 0: never sent anything */
	uint64_t last_seq;
	uint64_t events; /* events stored for this agent */
	int revoked;
	/* from its agent_status events (filled by reads): JSON objects, e.g.
	 * {"process":"bpf","network":"sock_diag"} and {"file":12,"spool":0} */
	char sensors[512];
	char drops[512];
};

/* Inserts a new agent (id, tenant_id, hostname, cert_serial, os, version,
 * enrolled_ns are used). The tenant must be sc's (or any, for the provider).
 * Returns 0, YM_E_INVAL, YM_E_NOTFOUND (tenant not in scope), YM_E_EXISTS,
 * YM_E_DB. */
int store_agent_add(struct store *s, struct store_scope sc, const struct store_agent *a);
/* Reads one agent within the scope. Returns 0, YM_E_NOTFOUND, YM_E_DB. */
int store_agent_get(struct store *s, struct store_scope sc, const char *id,
		    struct store_agent *out);
/* Calls fn for each agent in the scope, ordered by hostname; stops early
 * when fn returns non-zero (and returns that value). Returns 0, YM_E_DB. */
typedef int (*store_agent_fn)(const struct store_agent *a, void *ctx);
int store_agent_list(struct store *s, struct store_scope sc, store_agent_fn fn, void *ctx);

/* ---- ingest ---- */

/* One alert raised on a stored event, handed to store_sink_alert. All
 * strings borrowed for the call. */
struct store_alert_in {
	const char *rule_id;
	const char *title;
	const char *level;
	const char *const *tags;
	size_t ntags;
};

/* Where a detector puts the alerts of the event it is shown; valid only
 * during the detector call. */
struct store_alert_sink;
/* Inserts an alert for the event being detected, in the ingest transaction
 * (a second alert of the same rule on the same event is ignored). Returns 0,
 * YM_E_INVAL, YM_E_DB, YM_E_NOMEM. */
int store_sink_alert(struct store_alert_sink *sink, const struct store_alert_in *a);

/* Called once per newly stored event (never for duplicates), inside the
 * ingest transaction, with the envelope filled in (tenant_id, agent_id,
 * host, product "linux"). Returns 0, or a negative code that aborts the
 * whole batch (rolled back). */
typedef int (*store_detect_fn)(const struct event *ev, struct store_alert_sink *sink, void *ctx);

struct store_ingest_result {
	uint64_t stored;
	uint64_t duplicates;
	uint64_t alerts;
};

/* Stores a decoded batch for agent_id (which must be in scope sc, whose
 * tenant_id must be set) in one transaction: each event is inserted unless
 * (agent, seq) is already stored, detect (may be NULL) runs over each newly
 * stored event, the agent's last_seq, last_seen and event count are updated;
 * then COMMIT. Either all of it is durable or none of it is. The events'
 * envelope fields are overwritten (they borrow agent_id, host and the scope's
 * tenant_id for the call). Returns 0 and fills *res, YM_E_INVAL,
 * YM_E_NOTFOUND (agent not in scope), YM_E_DB, YM_E_NOMEM, or detect's
 * error. */
int store_ingest(struct store *s, struct store_scope sc, const char *agent_id, const char *host,
		 struct event *evs, size_t n, store_detect_fn detect, void *ctx,
		 struct store_ingest_result *res);

/* ---- telemetry and alert queries ---- */

struct store_event_filter {
	const char *host;     /* NULL: any */
	const char *agent_id; /* NULL: any */
	int category;	      /* < 0: any */
	uint64_t since_ns;    /* 0: any */
	unsigned limit;	      /* 1..STORE_QUERY_MAX */
	const char *process_guid; /* NULL: any; else the process_creation event of that process */
};

struct store_event_row {
	const char *tenant_id;
	const char *agent_id;
	const char *host;
	uint64_t seq;
	uint64_t ts_ns;
	unsigned category;
	const char *fields_json; /* a JSON object, as stored */
};

/* Calls fn for each matching event in scope, newest first. Returns 0,
 * YM_E_INVAL (limit), YM_E_DB, or fn's non-zero value. */
typedef int (*store_event_fn)(const struct store_event_row *r, void *ctx);
int store_event_query(struct store *s, struct store_scope sc, const struct store_event_filter *f,
		      store_event_fn fn, void *ctx);

/* Start time (the ProcessStartTime field, clock ticks since boot) of the
 * newest process_creation event of pid on agent_id, in scope. Returns 0,
 * YM_E_NOTFOUND (no such event, or it has no valid ProcessStartTime),
 * YM_E_DB. */
int store_event_start_time(struct store *s, struct store_scope sc, const char *agent_id,
			   int64_t pid, uint64_t *start_time);

struct store_alert_filter {
	uint64_t since_ns; /* 0: any */
	unsigned limit;	   /* 1..STORE_QUERY_MAX */
};

struct store_alert_row {
	const char *id;
	const char *tenant_id;
	const char *agent_id;
	const char *host;
	const char *rule_id;
	const char *title;
	const char *level;
	const char *tags_json;	/* a JSON array of strings */
	const char *event_json; /* the event's fields, a JSON object */
	uint64_t event_seq;
	uint64_t created_ns;
};

/* Calls fn for each alert in scope, newest first. Returns 0, YM_E_INVAL,
 * YM_E_DB, or fn's non-zero value. */
typedef int (*store_alert_fn)(const struct store_alert_row *r, void *ctx);
int store_alert_query(struct store *s, struct store_scope sc, const struct store_alert_filter *f,
		      store_alert_fn fn, void *ctx);

/* ---- response actions ---- */

struct store_action {
	char id[STORE_ID_LEN];
	char tenant_id[STORE_ID_LEN];
	char agent_id[STORE_ID_LEN];
	char type[24];
	int64_t pid;
	uint64_t start_time;
	char nonce[40];
	char status[16]; /* queued, sent, done, refused, failed, expired */
	char requested_by[STORE_ACTOR_MAX];
	uint64_t requested_ns, sent_ns, completed_ns; /* 0: not yet */
	uint64_t expires_s;
	char detail[STORE_DETAIL_MAX];
};

/* Inserts a queued action with its signed command text (command, at most
 * 8 KiB). a->tenant_id must be the agent's tenant and inside sc. Returns 0,
 * YM_E_INVAL, YM_E_NOTFOUND (agent not in scope), YM_E_EXISTS, YM_E_DB. */
int store_action_add(struct store *s, struct store_scope sc, const struct store_action *a,
		     const char *command);
/* Reads one action in scope. A queued or sent action whose expiry is at or
 * before now_s is first marked expired. Returns 0, YM_E_NOTFOUND, YM_E_DB. */
int store_action_get(struct store *s, struct store_scope sc, const char *id, uint64_t now_s,
		     struct store_action *out);
/* Hands fn the signed command text of each action for agent_id that is
 * queued or sent and not expired at now_s (oldest first, at most 64), marks
 * the queued ones sent, and marks expired the ones past their expiry.
 * *count gets how many were handed out. Returns 0, YM_E_DB, or fn's
 * non-zero value (nothing is marked then). */
typedef int (*store_command_fn)(const char *command, void *ctx);
int store_action_pending(struct store *s, struct store_scope sc, const char *agent_id,
			 uint64_t now_s, store_command_fn fn, void *ctx, unsigned *count);
/* Records the outcome of action id reported by agent_id: status is done,
 * refused or failed; detail (may be NULL) is cut to STORE_DETAIL_MAX - 1
 * bytes. Only an action of that same agent, in scope, that is queued, sent
 * or expired can be completed; repeating the same final status again is
 * accepted and changes nothing (*changed = 0). Returns 0 (and fills *out
 * with the action as stored), YM_E_INVAL (status), YM_E_NOTFOUND (no such
 * action for that agent), YM_E_EXISTS (already completed with another
 * status), YM_E_DB. */
int store_action_result(struct store *s, struct store_scope sc, const char *agent_id,
			const char *id, const char *status, const char *detail, uint64_t now_ns,
			struct store_action *out, int *changed);

/* ---- audit ---- */

struct store_audit_in {
	const char *actor;     /* "cli", "server", "agent:<id>", "token:<name>" */
	const char *tenant_id; /* NULL: not tenant-specific */
	const char *action;    /* "agent.enrolled", "action.requested", ... */
	const char *target;    /* may be NULL */
	const char *detail;    /* may be NULL */
};

/* Appends an audit row stamped now. A tenant scope may only write rows of
 * its own tenant. Returns 0, YM_E_INVAL, YM_E_AUTH, YM_E_DB. */
int store_audit_add(struct store *s, struct store_scope sc, const struct store_audit_in *a);

struct store_audit_row {
	int64_t id;
	uint64_t ns;
	const char *actor;
	const char *tenant_id; /* "" when not tenant-specific */
	const char *action;
	const char *target;
	const char *detail;
};

/* Calls fn for each audit row in scope (a tenant sees only rows of its
 * tenant), newest first, at most limit (1..STORE_QUERY_MAX). Returns 0,
 * YM_E_INVAL, YM_E_DB, or fn's non-zero value. */
typedef int (*store_audit_fn)(const struct store_audit_row *r, void *ctx);
int store_audit_query(struct store *s, struct store_scope sc, unsigned limit, store_audit_fn fn,
		      void *ctx);

#endif
