/* store_sqlite.c: the embedded SQLite backend of store.h.
 *
 * One connection behind one mutex (enough for this cut: WAL lets the CLI's
 * own connection read and write alongside the server). synchronous=FULL in
 * WAL mode: every COMMIT fsyncs the WAL, so a batch acknowledged after its
 * commit survives power loss (NORMAL would only survive a process crash).
 * Tenant scope is a WHERE clause in every statement that touches tenant
 * data; the SQL text is fixed fragments only, every value is bound.
 * Schema and rationale: docs/internals/database.md. */
#include "store_int.h"
#include "buf.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION	 1
#define PENDING_MAX	 64 /* commands handed to one poll */
#define COMMAND_TEXT_MAX 8192

struct sqlite_store {
	struct store base; /* first: struct store * converts to this */
	sqlite3 *db;
	pthread_mutex_t lock;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS tenants ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " created_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS enrol_tokens ("
    " hash TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " created_ns INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS api_tokens ("
    " id TEXT PRIMARY KEY,"
    " hash TEXT NOT NULL UNIQUE,"
    " tenant_id TEXT REFERENCES tenants(id),"
    " role TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),"
    " name TEXT NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS agents ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " hostname TEXT NOT NULL,"
    " cert_serial TEXT NOT NULL,"
    " os TEXT NOT NULL DEFAULT '',"
    " version TEXT NOT NULL DEFAULT '',"
    " enrolled_at INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL DEFAULT 0,"
    " last_seq INTEGER NOT NULL DEFAULT 0,"
    " events INTEGER NOT NULL DEFAULT 0,"
    " revoked INTEGER NOT NULL DEFAULT 0,"
    /* from the agent's agent_status events: sensor mode per family, and
     * events lost per family (and "spool") since enrolment */
    " sensors TEXT NOT NULL DEFAULT '{}',"
    " drops TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX IF NOT EXISTS idx_agents_tenant ON agents(tenant_id);"
    /* no foreign keys on the hot tables: the ingest transaction checks the agent once */
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY,"
    " tenant_id TEXT NOT NULL,"
    " agent_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " ts_ns INTEGER NOT NULL,"
    " category INTEGER NOT NULL,"
    " host TEXT NOT NULL,"
    " image TEXT,"
    " command_line TEXT,"
    " pid INTEGER,"
    " process_guid TEXT,"
    " fields TEXT NOT NULL,"
    " UNIQUE (agent_id, seq));"
    "CREATE INDEX IF NOT EXISTS idx_events_time ON events(ts_ns);"
    "CREATE INDEX IF NOT EXISTS idx_events_host ON events(host, ts_ns);"
    "CREATE INDEX IF NOT EXISTS idx_events_proc ON events(agent_id, pid, ts_ns)"
    " WHERE category = 1;"
    /* parent chains: an alert's ancestors are found by ParentProcessGuid */
    "CREATE INDEX IF NOT EXISTS idx_events_guid ON events(agent_id, process_guid)"
    " WHERE category = 1;"
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL,"
    " agent_id TEXT NOT NULL,"
    " host TEXT NOT NULL,"
    " rule_id TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " level TEXT NOT NULL,"
    " tags TEXT NOT NULL,"
    " event_seq INTEGER NOT NULL,"
    " event TEXT NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " UNIQUE (agent_id, event_seq, rule_id));"
    "CREATE INDEX IF NOT EXISTS idx_alerts_time ON alerts(created_ns);"
    "CREATE INDEX IF NOT EXISTS idx_alerts_tenant ON alerts(tenant_id, created_ns);"
    "CREATE TABLE IF NOT EXISTS actions ("
    " id TEXT PRIMARY KEY,"
    " tenant_id TEXT NOT NULL REFERENCES tenants(id),"
    " agent_id TEXT NOT NULL REFERENCES agents(id),"
    " type TEXT NOT NULL,"
    " pid INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL,"
    " nonce TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL CHECK (status IN"
    "  ('queued', 'sent', 'done', 'refused', 'failed', 'expired')),"
    " requested_by TEXT NOT NULL,"
    " requested_ns INTEGER NOT NULL,"
    " sent_ns INTEGER NOT NULL DEFAULT 0,"
    " completed_ns INTEGER NOT NULL DEFAULT 0,"
    " expires_s INTEGER NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " command TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS idx_actions_agent ON actions(agent_id, status);"
    "CREATE TABLE IF NOT EXISTS audit ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ns INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " tenant_id TEXT,"
    " action TEXT NOT NULL,"
    " target TEXT,"
    " detail TEXT);"
    "CREATE INDEX IF NOT EXISTS idx_audit_tenant ON audit(tenant_id, id);";

static struct sqlite_store *ss_of(struct store *s)
{
	return (struct sqlite_store *)s;
}

static struct log_ratelimit db_rl = LOG_RATELIMIT_INIT(20, 60);

/* Logs the connection's last error and returns YM_E_DB. */
static int db_fail(struct sqlite_store *ss, const char *what)
{
	if (log_ratelimit_ok(&db_rl))
		LOG_E("store", "E2301", "sqlite %s: %s", what, sqlite3_errmsg(ss->db));
	return YM_E_DB;
}

static int exec(struct sqlite_store *ss, const char *sql)
{
	if (sqlite3_exec(ss->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(ss, sql);
	return 0;
}

static int prep(struct sqlite_store *ss, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ss->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(ss, "prepare");
	}
	return 0;
}

static void rollback(struct sqlite_store *ss)
{
	/* nothing to do if the transaction is already gone (SQLite may abort it itself) */
	if (!sqlite3_get_autocommit(ss->db))
		sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
}

static const char *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);
	return v < 0 ? 0 : (uint64_t)v;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : YM_E_DB;
}

static int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v > INT64_MAX)
		return YM_E_INVAL;
	return sqlite3_bind_int64(st, i, (sqlite3_int64)v) == SQLITE_OK ? 0 : YM_E_DB;
}

/* Binds the scope's tenant to named parameter :tenant when the SQL has it.
 * A statement that mixes ?N and :name must put every ?N before the first
 * :name (SQLite numbers a :name after the largest index seen so far). */
static int bind_scope(sqlite3_stmt *st, struct store_scope sc)
{
	int i = sqlite3_bind_parameter_index(st, ":tenant");
	if (!sc.tenant_id || i == 0)
		return 0;
	return bind_text(st, i, sc.tenant_id);
}

static int bind_named_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);
	return i ? bind_text(st, i, v) : YM_E_INTERNAL;
}

static int bind_named_u64(sqlite3_stmt *st, const char *name, uint64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);
	return i ? bind_u64(st, i, v) : YM_E_INTERNAL;
}

static void hash_hex(const uint8_t hash[STORE_HASH_LEN], char out[2 * STORE_HASH_LEN + 1])
{
	util_hex(hash, STORE_HASH_LEN, out);
}

/* ---- open / close ---- */

static void sqlite_close(struct store *s)
{
	struct sqlite_store *ss = ss_of(s);
	/* sqlite3_close (not _v2) fails if a statement leaked: that is a bug worth seeing */
	if (ss->db && sqlite3_close(ss->db) != SQLITE_OK)
		LOG_E("store", "E2302", "sqlite close: %s", sqlite3_errmsg(ss->db));
	pthread_mutex_destroy(&ss->lock);
	free(ss);
}

static int schema_init(struct sqlite_store *ss)
{
	sqlite3_stmt *st = NULL;
	int r, ver;
	char sql[64];

	r = exec(ss, "BEGIN IMMEDIATE");
	if (r)
		return r;
	r = prep(ss, "PRAGMA user_version", &st);
	if (r)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = db_fail(ss, "user_version");
		goto out;
	}
	ver = sqlite3_column_int(st, 0);
	if (ver > SCHEMA_VERSION) {
		LOG_E("store", "E2303", "database schema version %d is newer than this server (%d)",
		      ver, SCHEMA_VERSION);
		r = YM_E_DB;
		goto out;
	}
	r = exec(ss, schema_sql);
	if (r)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	r = exec(ss, sql);
	if (r)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	r = exec(ss, "COMMIT");
out:
	sqlite3_finalize(st);
	if (r)
		rollback(ss);
	return r;
}

static const struct store_ops sqlite_ops;

int store_open_sqlite(const char *path, struct store **out)
{
	struct sqlite_store *ss = NULL;
	sqlite3_stmt *st = NULL;
	int r = YM_E_DB;

	if (!path || !out)
		return YM_E_INVAL;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return YM_E_NOMEM;
	ss->base.ops = &sqlite_ops;
	pthread_mutex_init(&ss->lock, NULL);
	if (sqlite3_open_v2(path, &ss->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		LOG_E("store", "E2304", "cannot open database %s: %s", path,
		      ss->db ? sqlite3_errmsg(ss->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(ss->db, 1);
	sqlite3_busy_timeout(ss->db, 5000);
	r = prep(ss, "PRAGMA journal_mode = WAL", &st);
	if (r)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW || strcmp(col_str(st, 0), "wal") != 0) {
		LOG_E("store", "E2305", "database %s: cannot switch to WAL", path);
		r = YM_E_DB;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = exec(ss, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
	if (r)
		goto out;
	r = schema_init(ss);
	if (r)
		goto out;
	*out = &ss->base;
	ss = NULL;
out:
	sqlite3_finalize(st);
	if (ss)
		sqlite_close(&ss->base);
	return r;
}

/* ---- tenants and credentials ---- */

static int tenant_read(struct sqlite_store *ss, struct store_scope sc, const char *name,
		       struct store_tenant *out)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prep(ss,
		 sc.tenant_id
		     ? "SELECT id, name, created_ns FROM tenants WHERE name = ?1 AND id = :tenant"
		     : "SELECT id, name, created_ns FROM tenants WHERE name = ?1",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, name)) || (r = bind_scope(st, sc)))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		util_strlcpy(out->id, col_str(st, 0), sizeof(out->id));
		util_strlcpy(out->name, col_str(st, 1), sizeof(out->name));
		out->created_ns = col_u64(st, 2);
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_NOTFOUND;
		break;
	default:
		r = db_fail(ss, "tenant read");
	}
out:
	sqlite3_finalize(st);
	return r;
}

static int sqlite_tenant_find(struct store *s, struct store_scope sc, const char *name,
			      struct store_tenant *out)
{
	struct sqlite_store *ss = ss_of(s);
	struct store_tenant t;
	int r;

	pthread_mutex_lock(&ss->lock);
	r = tenant_read(ss, sc, name, &t);
	if (!r)
		*out = t;
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_tenant_ensure(struct store *s, struct store_scope sc, const char *name,
				struct store_tenant *out, int *created)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	struct store_tenant t;
	int r, made = 0;

	memset(&t, 0, sizeof(t));
	pthread_mutex_lock(&ss->lock);
	r = exec(ss, "BEGIN IMMEDIATE");
	if (r)
		goto out;
	r = tenant_read(ss, sc, name, &t);
	if (r == YM_E_NOTFOUND) {
		if (util_uuid(t.id)) {
			r = YM_E_IO;
			goto out;
		}
		util_strlcpy(t.name, name, sizeof(t.name));
		t.created_ns = util_now_ns();
		r = prep(ss, "INSERT INTO tenants (id, name, created_ns) VALUES (?1, ?2, ?3)", &st);
		if (r)
			goto out;
		if ((r = bind_text(st, 1, t.id)) || (r = bind_text(st, 2, t.name)) ||
		    (r = bind_u64(st, 3, t.created_ns)))
			goto out;
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = db_fail(ss, "tenant insert");
			goto out;
		}
		made = 1;
	} else if (r) {
		goto out;
	}
	r = exec(ss, "COMMIT");
	if (r)
		goto out;
	*out = t;
	if (created)
		*created = made;
out:
	sqlite3_finalize(st);
	if (r)
		rollback(ss);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int tenant_exists(struct sqlite_store *ss, const char *tenant_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = prep(ss, "SELECT 1 FROM tenants WHERE id = ?1", &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, tenant_id)))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_NOTFOUND;
		break;
	default:
		r = db_fail(ss, "tenant check");
	}
out:
	sqlite3_finalize(st);
	return r;
}

/* Steps an INSERT: 0, YM_E_EXISTS on a uniqueness conflict, YM_E_DB. */
static int step_insert(struct sqlite_store *ss, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return YM_E_EXISTS;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return YM_E_NOTFOUND;
	return db_fail(ss, what);
}

static int sqlite_enrol_token_add(struct store *s, struct store_scope sc, const char *tenant_id,
				  const uint8_t hash[STORE_HASH_LEN])
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	char hx[2 * STORE_HASH_LEN + 1];
	int r;

	(void)sc;
	hash_hex(hash, hx);
	pthread_mutex_lock(&ss->lock);
	r = tenant_exists(ss, tenant_id);
	if (r)
		goto out;
	r = prep(ss, "INSERT INTO enrol_tokens (hash, tenant_id, created_ns) VALUES (?1, ?2, ?3)",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, hx)) || (r = bind_text(st, 2, tenant_id)) ||
	    (r = bind_u64(st, 3, util_now_ns())))
		goto out;
	r = step_insert(ss, st, "enrol token insert");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_enrol_token_check(struct store *s, struct store_scope sc,
				    const uint8_t hash[STORE_HASH_LEN],
				    char tenant_id[STORE_ID_LEN])
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	char hx[2 * STORE_HASH_LEN + 1];
	int r;

	(void)sc;
	hash_hex(hash, hx);
	pthread_mutex_lock(&ss->lock);
	r = prep(ss, "SELECT tenant_id FROM enrol_tokens WHERE hash = ?1 AND revoked = 0", &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, hx)))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		util_strlcpy(tenant_id, col_str(st, 0), STORE_ID_LEN);
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_AUTH;
		break;
	default:
		r = db_fail(ss, "enrol token check");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_api_token_add(struct store *s, struct store_scope sc, const char *tenant_id,
				const char *role, const char *name,
				const uint8_t hash[STORE_HASH_LEN], struct store_api_token *out)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	struct store_api_token t;
	char hx[2 * STORE_HASH_LEN + 1];
	int r;

	(void)sc;
	memset(&t, 0, sizeof(t));
	hash_hex(hash, hx);
	if (util_uuid(t.id))
		return YM_E_IO;
	util_strlcpy(t.tenant_id, tenant_id ? tenant_id : "", sizeof(t.tenant_id));
	util_strlcpy(t.role, role, sizeof(t.role));
	util_strlcpy(t.name, name, sizeof(t.name));
	pthread_mutex_lock(&ss->lock);
	if (tenant_id) {
		r = tenant_exists(ss, tenant_id);
		if (r)
			goto out;
	}
	r = prep(ss,
		 "INSERT INTO api_tokens (id, hash, tenant_id, role, name, created_ns)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, t.id)) || (r = bind_text(st, 2, hx)) ||
	    (r = bind_text(st, 4, role)) || (r = bind_text(st, 5, name)) ||
	    (r = bind_u64(st, 6, util_now_ns())))
		goto out;
	if (tenant_id && (r = bind_text(st, 3, tenant_id)))
		goto out;
	r = step_insert(ss, st, "api token insert");
	if (r)
		goto out;
	*out = t;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_api_token_check(struct store *s, struct store_scope sc,
				  const uint8_t hash[STORE_HASH_LEN], struct store_api_token *out)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	char hx[2 * STORE_HASH_LEN + 1];
	int r;

	(void)sc;
	hash_hex(hash, hx);
	pthread_mutex_lock(&ss->lock);
	r = prep(ss,
		 "SELECT id, tenant_id, role, name FROM api_tokens WHERE hash = ?1 AND revoked = 0",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, hx)))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		memset(out, 0, sizeof(*out));
		util_strlcpy(out->id, col_str(st, 0), sizeof(out->id));
		util_strlcpy(out->tenant_id, col_str(st, 1), sizeof(out->tenant_id));
		util_strlcpy(out->role, col_str(st, 2), sizeof(out->role));
		util_strlcpy(out->name, col_str(st, 3), sizeof(out->name));
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_AUTH;
		break;
	default:
		r = db_fail(ss, "api token check");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

/* ---- agents ---- */

static int sqlite_agent_add(struct store *s, struct store_scope sc, const struct store_agent *a)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	int r;

	(void)sc; /* store.c checked a->tenant_id against the scope */
	pthread_mutex_lock(&ss->lock);
	r = prep(
	    ss,
	    "INSERT INTO agents (id, tenant_id, hostname, cert_serial, os, version, enrolled_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	    &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, a->id)) || (r = bind_text(st, 2, a->tenant_id)) ||
	    (r = bind_text(st, 3, a->hostname)) || (r = bind_text(st, 4, a->cert_serial)) ||
	    (r = bind_text(st, 5, a->os)) || (r = bind_text(st, 6, a->version)) ||
	    (r = bind_u64(st, 7, a->enrolled_ns)))
		goto out;
	r = step_insert(ss, st, "agent insert");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

#define AGENT_COLS                                                                                 \
	"a.id, a.tenant_id, t.name, a.hostname, a.cert_serial, a.os, a.version, a.enrolled_at,"    \
	" a.last_seen, a.last_seq, a.events, a.revoked, a.sensors, a.drops FROM agents a JOIN"     \
	" tenants t ON t.id = a.tenant_id"

static void agent_row(sqlite3_stmt *st, struct store_agent *a)
{
	memset(a, 0, sizeof(*a));
	util_strlcpy(a->id, col_str(st, 0), sizeof(a->id));
	util_strlcpy(a->tenant_id, col_str(st, 1), sizeof(a->tenant_id));
	util_strlcpy(a->tenant_name, col_str(st, 2), sizeof(a->tenant_name));
	util_strlcpy(a->hostname, col_str(st, 3), sizeof(a->hostname));
	util_strlcpy(a->cert_serial, col_str(st, 4), sizeof(a->cert_serial));
	util_strlcpy(a->os, col_str(st, 5), sizeof(a->os));
	util_strlcpy(a->version, col_str(st, 6), sizeof(a->version));
	a->enrolled_ns = col_u64(st, 7);
	a->last_seen_ns = col_u64(st, 8);
	a->last_seq = col_u64(st, 9);
	a->events = col_u64(st, 10);
	a->revoked = sqlite3_column_int(st, 11);
	util_strlcpy(a->sensors, col_str(st, 12), sizeof(a->sensors));
	util_strlcpy(a->drops, col_str(st, 13), sizeof(a->drops));
}

static int sqlite_agent_get(struct store *s, struct store_scope sc, const char *id,
			    struct store_agent *out)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&ss->lock);
	r = prep(ss,
		 sc.tenant_id ? "SELECT " AGENT_COLS " WHERE a.id = ?1 AND a.tenant_id = :tenant"
			      : "SELECT " AGENT_COLS " WHERE a.id = ?1",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, id)) || (r = bind_scope(st, sc)))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		agent_row(st, out);
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_NOTFOUND;
		break;
	default:
		r = db_fail(ss, "agent get");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_agent_list(struct store *s, struct store_scope sc, store_agent_fn fn, void *ctx)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	struct store_agent a;
	unsigned n = 0;
	int r, rc;

	pthread_mutex_lock(&ss->lock);
	r = prep(ss,
		 sc.tenant_id ? "SELECT " AGENT_COLS
				" WHERE a.tenant_id = :tenant ORDER BY a.hostname, a.id LIMIT 10000"
			      : "SELECT " AGENT_COLS " ORDER BY a.hostname, a.id LIMIT 10000",
		 &st);
	if (r)
		goto out;
	if ((r = bind_scope(st, sc)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n++ < STORE_QUERY_MAX) {
		agent_row(st, &a);
		r = fn(&a, ctx);
		if (r)
			goto out;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = db_fail(ss, "agent list");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

/* ---- ingest ---- */

/* A family name from an agent (untrusted) used as a JSON key: [a-z_]{1,32}. */
static int family_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return 0;
	}
	return 1;
}

/* Adds n to drops[key] of the agent (JSON object in agents.drops). */
static int health_add_drops(struct sqlite_store *ss, const char *agent_id, const char *key,
			    uint64_t n)
{
	sqlite3_stmt *st = NULL;
	char path[48];
	int r;

	snprintf(path, sizeof(path), "$.%s", key);
	r = prep(ss,
		 "UPDATE agents SET drops = json_set(drops, ?1,"
		 " coalesce(json_extract(drops, ?1), 0) + ?2) WHERE id = ?3",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, path)) || (r = bind_u64(st, 2, n)) ||
	    (r = bind_text(st, 3, agent_id)))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(ss, "agent drops update");
out:
	sqlite3_finalize(st);
	return r;
}

/* Keeps agents.sensors and agents.drops current from an agent_status event
 * (docs/sensors.md): "started" lists the mode of each family in fields named
 * <Family>Sensor, and PreviousStop=unclean counts a run that ended without
 * its stop (drops["unclean_stop"]); "drops" reports Drops for a Family, and
 * DroppedEvents at the spool cap. Counts are deltas; they add up. */
static int health_update(struct sqlite_store *ss, const char *agent_id, const struct event *ev)
{
	const char *status = event_get(ev, "Status", NULL), *v;
	sqlite3_stmt *st = NULL;
	uint64_t n;
	json_t *o = NULL;
	char *text = NULL;
	int r = 0;

	if (!status)
		return 0;
	if (strcmp(status, "started") == 0) {
		o = json_object();
		if (!o)
			return YM_E_NOMEM;
		for (uint16_t i = 0; i < ev->nfields; i++) {
			const char *name = ev->fields[i].name;
			size_t nl = strlen(name);
			char fam[40];
			if (nl <= 6 || nl - 6 >= sizeof(fam) || strcmp(name + nl - 6, "Sensor") != 0)
				continue;
			for (size_t k = 0; k < nl - 6; k++)
				fam[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] + 32 : name[k]);
			fam[nl - 6] = 0;
			if (family_name_ok(fam) && ev->fields[i].value_len <= 32)
				json_object_set_new(o, fam, json_string(ev->fields[i].value));
		}
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		if (!text) {
			r = YM_E_NOMEM;
			goto out;
		}
		r = prep(ss, "UPDATE agents SET sensors = ?1 WHERE id = ?2", &st);
		if (r)
			goto out;
		if ((r = bind_text(st, 1, text)) || (r = bind_text(st, 2, agent_id)))
			goto out;
		if (sqlite3_step(st) != SQLITE_DONE)
			r = db_fail(ss, "agent sensors update");
		/* the run before ended without its stop (killed, crashed): what
		 * it had not committed is lost, how much is unknown; counted */
		v = event_get(ev, "PreviousStop", NULL);
		if (!r && v && strcmp(v, "unclean") == 0)
			r = health_add_drops(ss, agent_id, "unclean_stop", 1);
		goto out;
	}
	if (strcmp(status, "drops") != 0)
		goto out;
	v = event_get(ev, "Family", NULL);
	if (v && family_name_ok(v) &&
	    util_parse_u64(event_get(ev, "Drops", NULL), 1, INT64_MAX, &n) == 0)
		r = health_add_drops(ss, agent_id, v, n);
	if (!r && util_parse_u64(event_get(ev, "DroppedEvents", NULL), 1, INT64_MAX, &n) == 0)
		r = health_add_drops(ss, agent_id, "spool", n);
out:
	sqlite3_finalize(st);
	free(text);
	json_decref(o);
	return r;
}

/* Decodes one UTF-8 sequence at p (n bytes left); returns its length, or 0
 * when the bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string for a value that may not be UTF-8: valid sequences are kept,
 * every other byte becomes the code point of the same number (as Latin-1
 * would read it), like buf_put_json_str does. Returns NULL on OOM. */
static json_t *json_lossy_string(const char *v, size_t n)
{
	const unsigned char *p = (const unsigned char *)v;
	struct buf b;
	json_t *j = NULL;

	buf_init(&b, 2 * (size_t)EVENT_MAX_VALUE + 16);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(p + i, n - i);
		if (k) {
			if (buf_put(&b, p + i, k))
				goto out;
			i += k;
		} else {
			uint8_t two[2] = {(uint8_t)(0xc0 | p[i] >> 6),
					  (uint8_t)(0x80 | (p[i] & 0x3f))};
			if (buf_put(&b, two, 2))
				goto out;
			i++;
		}
	}
	j = json_stringn(b.data ? (const char *)b.data : "", b.len);
out:
	buf_free(&b);
	return j;
}

/* The event's fields as compact JSON text (malloc'd, free() it). */
static int event_fields_json(const struct event *ev, char **out)
{
	json_t *o = json_object(), *v;
	char *txt = NULL;
	int r = YM_E_NOMEM;

	if (!o)
		goto out;
	for (uint16_t i = 0; i < ev->nfields; i++) {
		const struct event_field *f = &ev->fields[i];
		v = json_stringn(f->value, f->value_len);
		if (!v)
			v = json_lossy_string(f->value, f->value_len);
		if (!v || json_object_set_new(o, f->name, v))
			goto out;
	}
	txt = json_dumps(o, JSON_COMPACT);
	if (!txt)
		goto out;
	*out = txt;
	r = 0;
out:
	json_decref(o);
	return r;
}

struct sqlite_sink {
	struct store_alert_sink base; /* first */
	struct sqlite_store *ss;
	sqlite3_stmt *ins;
	const struct event *ev;
	const char *event_json;
	uint64_t now_ns;
	uint64_t alerts;
};

static int sink_emit(struct store_alert_sink *base, const struct store_alert_in *a)
{
	struct sqlite_sink *k = (struct sqlite_sink *)base;
	json_t *tags = json_array();
	char *tags_txt = NULL;
	char id[STORE_ID_LEN];
	int r = YM_E_NOMEM, rc;

	if (!tags)
		goto out;
	for (size_t i = 0; i < a->ntags; i++) {
		json_t *t = a->tags[i] ? json_string(a->tags[i]) : NULL;
		if (!t || json_array_append_new(tags, t)) {
			r = YM_E_INVAL;
			goto out;
		}
	}
	tags_txt = json_dumps(tags, JSON_COMPACT);
	if (!tags_txt)
		goto out;
	if (util_uuid(id)) {
		r = YM_E_IO;
		goto out;
	}
	sqlite3_reset(k->ins);
	sqlite3_clear_bindings(k->ins);
	if ((r = bind_text(k->ins, 1, id)) || (r = bind_text(k->ins, 2, k->ev->tenant_id)) ||
	    (r = bind_text(k->ins, 3, k->ev->agent_id)) ||
	    (r = bind_text(k->ins, 4, k->ev->host)) || (r = bind_text(k->ins, 5, a->rule_id)) ||
	    (r = bind_text(k->ins, 6, a->title)) || (r = bind_text(k->ins, 7, a->level)) ||
	    (r = bind_text(k->ins, 8, tags_txt)) || (r = bind_u64(k->ins, 9, k->ev->seq)) ||
	    (r = bind_text(k->ins, 10, k->event_json)) || (r = bind_u64(k->ins, 11, k->now_ns)))
		goto out;
	rc = sqlite3_step(k->ins);
	if (rc != SQLITE_DONE) {
		r = db_fail(k->ss, "alert insert");
		goto out;
	}
	k->alerts += (uint64_t)sqlite3_changes(k->ss->db);
	r = 0;
out:
	free(tags_txt);
	json_decref(tags);
	return r;
}

static int sqlite_ingest(struct store *s, struct store_scope sc, const char *agent_id,
			 const char *host, struct event *evs, size_t n, store_detect_fn detect,
			 void *ctx, struct store_ingest_result *res)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *chk = NULL, *ins = NULL, *upd = NULL;
	struct sqlite_sink sink;
	struct store_ingest_result rr = {0, 0, 0};
	uint64_t now_ns = util_now_ns(), max_seq = 0;
	/* interned, as the decoder leaves field names: the engine routes by id */
	const char *linux_name = event_name_intern("linux", 5);
	char *json = NULL;
	int r;

	if (!linux_name)
		linux_name = "linux";
	memset(&sink, 0, sizeof(sink));
	sink.base.emit = sink_emit;
	sink.ss = ss;
	sink.now_ns = now_ns;
	pthread_mutex_lock(&ss->lock);
	r = exec(ss, "BEGIN IMMEDIATE");
	if (r)
		goto out;
	r = prep(ss, "SELECT 1 FROM agents WHERE id = ?1 AND tenant_id = :tenant AND revoked = 0",
		 &chk);
	if (r)
		goto out;
	if ((r = bind_text(chk, 1, agent_id)) || (r = bind_scope(chk, sc)))
		goto out;
	switch (sqlite3_step(chk)) {
	case SQLITE_ROW:
		break;
	case SQLITE_DONE:
		r = YM_E_NOTFOUND;
		goto out;
	default:
		r = db_fail(ss, "ingest agent check");
		goto out;
	}
	r = prep(
	    ss,
	    "INSERT OR IGNORE INTO events (tenant_id, agent_id, seq, ts_ns, category, host,"
	    " image, command_line, pid, fields, process_guid)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	    &ins);
	if (r)
		goto out;
	r = prep(
	    ss,
	    "INSERT OR IGNORE INTO alerts (id, tenant_id, agent_id, host, rule_id, title, level,"
	    " tags, event_seq, event, created_ns)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	    &sink.ins);
	if (r)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct event *ev = &evs[i];
		const char *image, *cmdline, *pidtxt, *guid;
		uint64_t pid;

		ev->tenant_id = sc.tenant_id;
		ev->agent_id = agent_id;
		ev->host = host;
		ev->product = linux_name;
		if (ev->seq < 1 || ev->seq > INT64_MAX || ev->ts_ns > INT64_MAX) {
			r = YM_E_INVAL;
			goto out;
		}
		r = event_fields_json(ev, &json);
		if (r)
			goto out;
		image = event_get(ev, "Image", NULL);
		cmdline = event_get(ev, "CommandLine", NULL);
		pidtxt = event_get(ev, "ProcessId", NULL);
		guid = event_get(ev, "ProcessGuid", NULL);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if ((r = bind_text(ins, 1, sc.tenant_id)) || (r = bind_text(ins, 2, agent_id)) ||
		    (r = bind_u64(ins, 3, ev->seq)) || (r = bind_u64(ins, 4, ev->ts_ns)) ||
		    (r = bind_u64(ins, 5, ev->category)) || (r = bind_text(ins, 6, host)) ||
		    (image && (r = bind_text(ins, 7, image))) ||
		    (cmdline && (r = bind_text(ins, 8, cmdline))) ||
		    (pidtxt && !util_parse_u64(pidtxt, 1, INT64_MAX, &pid) &&
		     (r = bind_u64(ins, 9, pid))) ||
		    (r = bind_text(ins, 10, json)) || (guid && (r = bind_text(ins, 11, guid))))
			goto out;
		if (sqlite3_step(ins) != SQLITE_DONE) {
			r = db_fail(ss, "event insert");
			goto out;
		}
		if (ev->seq > max_seq)
			max_seq = ev->seq;
		if (sqlite3_changes(ss->db) == 0) {
			rr.duplicates++;
		} else {
			rr.stored++;
			if (ev->category == EVCAT_AGENT_STATUS &&
			    (r = health_update(ss, agent_id, ev)))
				goto out;
			if (detect) {
				sink.ev = ev;
				sink.event_json = json;
				r = detect(ev, &sink.base, ctx);
				if (r)
					goto out;
			}
		}
		free(json);
		json = NULL;
	}
	r = prep(ss,
		 "UPDATE agents SET last_seq = MAX(last_seq, ?1), last_seen = ?2,"
		 " events = events + ?3 WHERE id = ?4 AND tenant_id = :tenant",
		 &upd);
	if (r)
		goto out;
	if ((r = bind_u64(upd, 1, max_seq)) || (r = bind_u64(upd, 2, now_ns)) ||
	    (r = bind_u64(upd, 3, rr.stored)) || (r = bind_text(upd, 4, agent_id)) ||
	    (r = bind_scope(upd, sc)))
		goto out;
	if (sqlite3_step(upd) != SQLITE_DONE) {
		r = db_fail(ss, "agent update");
		goto out;
	}
	/* statements must be done before COMMIT can release the write lock */
	sqlite3_finalize(chk);
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_finalize(sink.ins);
	chk = ins = upd = sink.ins = NULL;
	r = exec(ss, "COMMIT");
	if (r)
		goto out;
	rr.alerts = sink.alerts;
	*res = rr;
out:
	free(json);
	sqlite3_finalize(chk);
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_finalize(sink.ins);
	if (r)
		rollback(ss);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

/* ---- queries ---- */

static int sqlite_event_query(struct store *s, struct store_scope sc,
			      const struct store_event_filter *f, store_event_fn fn, void *ctx)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	struct buf sql;
	int r, rc;

	buf_init(&sql, 1024);
	r = buf_put_str(&sql, "SELECT tenant_id, agent_id, host, seq, ts_ns, category, fields"
			      " FROM events WHERE 1");
	if (!r && sc.tenant_id)
		r = buf_put_str(&sql, " AND tenant_id = :tenant");
	if (!r && f->host)
		r = buf_put_str(&sql, " AND host = :host");
	if (!r && f->agent_id)
		r = buf_put_str(&sql, " AND agent_id = :agent");
	if (!r && f->category >= 0)
		r = buf_put_str(&sql, " AND category = :cat");
	if (!r && f->process_guid)
		r = buf_put_str(&sql, " AND category = 1 AND process_guid = :guid");
	if (!r && f->since_ns)
		r = buf_put_str(&sql, " AND ts_ns >= :since");
	if (!r)
		r = buf_put_str(&sql, " ORDER BY ts_ns DESC, id DESC LIMIT :limit");
	if (r)
		goto out_unlocked;
	pthread_mutex_lock(&ss->lock);
	r = prep(ss, (const char *)sql.data, &st);
	if (r)
		goto out;
	if ((r = bind_scope(st, sc)) || (f->host && (r = bind_named_text(st, ":host", f->host))) ||
	    (f->agent_id && (r = bind_named_text(st, ":agent", f->agent_id))) ||
	    (f->category >= 0 && (r = bind_named_u64(st, ":cat", (uint64_t)f->category))) ||
	    (f->process_guid && (r = bind_named_text(st, ":guid", f->process_guid))) ||
	    (f->since_ns && (r = bind_named_u64(st, ":since", f->since_ns))) ||
	    (r = bind_named_u64(st, ":limit", f->limit)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event_row row = {
		    .tenant_id = col_str(st, 0),
		    .agent_id = col_str(st, 1),
		    .host = col_str(st, 2),
		    .seq = col_u64(st, 3),
		    .ts_ns = col_u64(st, 4),
		    .category = (unsigned)sqlite3_column_int(st, 5),
		    .fields_json = col_str(st, 6),
		};
		r = fn(&row, ctx);
		if (r)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_fail(ss, "event query");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
out_unlocked:
	buf_free(&sql);
	return r;
}

static int sqlite_event_start_time(struct store *s, struct store_scope sc, const char *agent_id,
				   int64_t pid, uint64_t *start_time)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	uint64_t v;
	int r;

	pthread_mutex_lock(&ss->lock);
	r = prep(ss,
		 sc.tenant_id
		     ? "SELECT json_extract(fields, '$.ProcessStartTime') FROM events"
		       " WHERE agent_id = ?1 AND pid = ?2 AND category = 1 AND tenant_id = :tenant"
		       " ORDER BY ts_ns DESC, id DESC LIMIT 1"
		     : "SELECT json_extract(fields, '$.ProcessStartTime') FROM events"
		       " WHERE agent_id = ?1 AND pid = ?2 AND category = 1"
		       " ORDER BY ts_ns DESC, id DESC LIMIT 1",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, agent_id)) || (r = bind_u64(st, 2, (uint64_t)pid)) ||
	    (r = bind_scope(st, sc)))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		    util_parse_u64(col_str(st, 0), 0, INT64_MAX, &v)) {
			r = YM_E_NOTFOUND;
			break;
		}
		*start_time = v;
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_NOTFOUND;
		break;
	default:
		r = db_fail(ss, "start time");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_alert_query(struct store *s, struct store_scope sc,
			      const struct store_alert_filter *f, store_alert_fn fn, void *ctx)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	struct buf sql;
	int r, rc;

	buf_init(&sql, 1024);
	r = buf_put_str(&sql, "SELECT id, tenant_id, agent_id, host, rule_id, title, level, tags,"
			      " event, event_seq, created_ns FROM alerts WHERE 1");
	if (!r && sc.tenant_id)
		r = buf_put_str(&sql, " AND tenant_id = :tenant");
	if (!r && f->since_ns)
		r = buf_put_str(&sql, " AND created_ns >= :since");
	if (!r)
		r = buf_put_str(&sql, " ORDER BY created_ns DESC, rowid DESC LIMIT :limit");
	if (r)
		goto out_unlocked;
	pthread_mutex_lock(&ss->lock);
	r = prep(ss, (const char *)sql.data, &st);
	if (r)
		goto out;
	if ((r = bind_scope(st, sc)) ||
	    (f->since_ns && (r = bind_named_u64(st, ":since", f->since_ns))) ||
	    (r = bind_named_u64(st, ":limit", f->limit)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_alert_row row = {
		    .id = col_str(st, 0),
		    .tenant_id = col_str(st, 1),
		    .agent_id = col_str(st, 2),
		    .host = col_str(st, 3),
		    .rule_id = col_str(st, 4),
		    .title = col_str(st, 5),
		    .level = col_str(st, 6),
		    .tags_json = col_str(st, 7),
		    .event_json = col_str(st, 8),
		    .event_seq = col_u64(st, 9),
		    .created_ns = col_u64(st, 10),
		};
		r = fn(&row, ctx);
		if (r)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_fail(ss, "alert query");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
out_unlocked:
	buf_free(&sql);
	return r;
}

/* ---- actions ---- */

static int sqlite_action_add(struct store *s, struct store_scope sc, const struct store_action *a,
			     const char *command)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	int r;

	(void)sc; /* store.c checked a->tenant_id against the scope */
	if (strlen(command) > COMMAND_TEXT_MAX || a->pid <= 0)
		return YM_E_INVAL;
	pthread_mutex_lock(&ss->lock);
	/* the agent must exist in the action's tenant (and so in the scope store.c checked) */
	r = prep(ss,
		 "INSERT INTO actions (id, tenant_id, agent_id, type, pid, start_time, nonce,"
		 " status, requested_by, requested_ns, expires_s, command)"
		 " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?9, ?10, ?11"
		 " WHERE EXISTS (SELECT 1 FROM agents WHERE id = ?3 AND tenant_id = ?2)",
		 &st);
	if (r)
		goto out;
	if ((r = bind_text(st, 1, a->id)) || (r = bind_text(st, 2, a->tenant_id)) ||
	    (r = bind_text(st, 3, a->agent_id)) || (r = bind_text(st, 4, a->type)) ||
	    (r = bind_u64(st, 5, (uint64_t)a->pid)) || (r = bind_u64(st, 6, a->start_time)) ||
	    (r = bind_text(st, 7, a->nonce)) || (r = bind_text(st, 8, a->requested_by)) ||
	    (r = bind_u64(st, 9, a->requested_ns)) || (r = bind_u64(st, 10, a->expires_s)) ||
	    (r = bind_text(st, 11, command)))
		goto out;
	r = step_insert(ss, st, "action insert");
	if (!r && sqlite3_changes(ss->db) == 0)
		r = YM_E_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

#define ACTION_COLS                                                                                \
	"id, tenant_id, agent_id, type, pid, start_time, nonce, status, requested_by,"             \
	" requested_ns, sent_ns, completed_ns, expires_s, detail FROM actions"

static void action_row(sqlite3_stmt *st, struct store_action *a)
{
	memset(a, 0, sizeof(*a));
	util_strlcpy(a->id, col_str(st, 0), sizeof(a->id));
	util_strlcpy(a->tenant_id, col_str(st, 1), sizeof(a->tenant_id));
	util_strlcpy(a->agent_id, col_str(st, 2), sizeof(a->agent_id));
	util_strlcpy(a->type, col_str(st, 3), sizeof(a->type));
	a->pid = sqlite3_column_int64(st, 4);
	a->start_time = col_u64(st, 5);
	util_strlcpy(a->nonce, col_str(st, 6), sizeof(a->nonce));
	util_strlcpy(a->status, col_str(st, 7), sizeof(a->status));
	util_strlcpy(a->requested_by, col_str(st, 8), sizeof(a->requested_by));
	a->requested_ns = col_u64(st, 9);
	a->sent_ns = col_u64(st, 10);
	a->completed_ns = col_u64(st, 11);
	a->expires_s = col_u64(st, 12);
	util_strlcpy(a->detail, col_str(st, 13), sizeof(a->detail));
}

/* Marks expired the queued/sent actions (of one agent, or the one id) in
 * scope whose expiry is at or before now_s. Caller holds the lock. */
static int expire_actions(struct sqlite_store *ss, struct store_scope sc, const char *agent_id,
			  const char *id, uint64_t now_s)
{
	sqlite3_stmt *st = NULL;
	struct buf sql;
	int r;

	buf_init(&sql, 512);
	r = buf_put_str(&sql, "UPDATE actions SET status = 'expired', completed_ns = :now"
			      " WHERE status IN ('queued', 'sent') AND expires_s <= :now_s");
	if (!r && sc.tenant_id)
		r = buf_put_str(&sql, " AND tenant_id = :tenant");
	if (!r && agent_id)
		r = buf_put_str(&sql, " AND agent_id = :agent");
	if (!r && id)
		r = buf_put_str(&sql, " AND id = :id");
	if (r)
		goto out;
	r = prep(ss, (const char *)sql.data, &st);
	if (r)
		goto out;
	if ((r = bind_named_u64(st, ":now", util_now_ns())) ||
	    (r = bind_named_u64(st, ":now_s", now_s)) || (r = bind_scope(st, sc)) ||
	    (agent_id && (r = bind_named_text(st, ":agent", agent_id))) ||
	    (id && (r = bind_named_text(st, ":id", id))))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_fail(ss, "expire actions");
out:
	sqlite3_finalize(st);
	buf_free(&sql);
	return r;
}

static int action_read(struct sqlite_store *ss, struct store_scope sc, const char *id,
		       const char *agent_id, struct store_action *out)
{
	sqlite3_stmt *st = NULL;
	struct buf sql;
	int r;

	buf_init(&sql, 512);
	r = buf_put_str(&sql, "SELECT " ACTION_COLS " WHERE id = :id");
	if (!r && sc.tenant_id)
		r = buf_put_str(&sql, " AND tenant_id = :tenant");
	if (!r && agent_id)
		r = buf_put_str(&sql, " AND agent_id = :agent");
	if (r)
		goto out;
	r = prep(ss, (const char *)sql.data, &st);
	if (r)
		goto out;
	if ((r = bind_named_text(st, ":id", id)) || (r = bind_scope(st, sc)) ||
	    (agent_id && (r = bind_named_text(st, ":agent", agent_id))))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		action_row(st, out);
		r = 0;
		break;
	case SQLITE_DONE:
		r = YM_E_NOTFOUND;
		break;
	default:
		r = db_fail(ss, "action read");
	}
out:
	sqlite3_finalize(st);
	buf_free(&sql);
	return r;
}

static int sqlite_action_get(struct store *s, struct store_scope sc, const char *id, uint64_t now_s,
			     struct store_action *out)
{
	struct sqlite_store *ss = ss_of(s);
	struct store_action a;
	int r;

	pthread_mutex_lock(&ss->lock);
	r = exec(ss, "BEGIN IMMEDIATE");
	if (r)
		goto out;
	r = expire_actions(ss, sc, NULL, id, now_s);
	if (r)
		goto out;
	r = action_read(ss, sc, id, NULL, &a);
	if (r)
		goto out;
	r = exec(ss, "COMMIT");
	if (r)
		goto out;
	*out = a;
out:
	if (r)
		rollback(ss);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_action_pending(struct store *s, struct store_scope sc, const char *agent_id,
				 uint64_t now_s, store_command_fn fn, void *ctx, unsigned *count)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *sel = NULL, *upd = NULL;
	char ids[PENDING_MAX][STORE_ID_LEN];
	unsigned n = 0, nq = 0;
	int r, rc;

	pthread_mutex_lock(&ss->lock);
	r = exec(ss, "BEGIN IMMEDIATE");
	if (r)
		goto out;
	r = expire_actions(ss, sc, agent_id, NULL, now_s);
	if (r)
		goto out;
	r = prep(ss,
		 sc.tenant_id ? "SELECT id, status, command FROM actions WHERE agent_id = ?1"
				" AND status IN ('queued', 'sent') AND expires_s > ?2"
				" AND tenant_id = :tenant ORDER BY requested_ns, id LIMIT 64"
			      : "SELECT id, status, command FROM actions WHERE agent_id = ?1"
				" AND status IN ('queued', 'sent') AND expires_s > ?2"
				" ORDER BY requested_ns, id LIMIT 64",
		 &sel);
	if (r)
		goto out;
	if ((r = bind_text(sel, 1, agent_id)) || (r = bind_u64(sel, 2, now_s)) ||
	    (r = bind_scope(sel, sc)))
		goto out;
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW && n < PENDING_MAX) {
		r = fn(col_str(sel, 2), ctx);
		if (r)
			goto out;
		n++;
		if (strcmp(col_str(sel, 1), "queued") == 0)
			util_strlcpy(ids[nq++], col_str(sel, 0), STORE_ID_LEN);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = db_fail(ss, "pending actions");
		goto out;
	}
	sqlite3_finalize(sel);
	sel = NULL;
	r = prep(ss,
		 "UPDATE actions SET status = 'sent', sent_ns = ?1"
		 " WHERE id = ?2 AND status = 'queued'",
		 &upd);
	if (r)
		goto out;
	for (unsigned i = 0; i < nq; i++) {
		sqlite3_reset(upd);
		if ((r = bind_u64(upd, 1, util_now_ns())) || (r = bind_text(upd, 2, ids[i])))
			goto out;
		if (sqlite3_step(upd) != SQLITE_DONE) {
			r = db_fail(ss, "mark sent");
			goto out;
		}
	}
	sqlite3_finalize(upd);
	upd = NULL;
	r = exec(ss, "COMMIT");
	if (r)
		goto out;
	*count = n;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (r)
		rollback(ss);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_action_result(struct store *s, struct store_scope sc, const char *agent_id,
				const char *id, const char *status, const char *detail,
				uint64_t now_ns, struct store_action *out, int *changed)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	struct store_action a;
	char d[STORE_DETAIL_MAX];
	int r, did = 0;

	util_strlcpy(d, detail ? detail : "", sizeof(d));
	pthread_mutex_lock(&ss->lock);
	r = exec(ss, "BEGIN IMMEDIATE");
	if (r)
		goto out;
	r = action_read(ss, sc, id, agent_id, &a);
	if (r)
		goto out;
	if (strcmp(a.status, "done") == 0 || strcmp(a.status, "refused") == 0 ||
	    strcmp(a.status, "failed") == 0) {
		/* an agent that did not see our 200 posts again: same outcome is fine */
		r = strcmp(a.status, status) == 0 ? 0 : YM_E_EXISTS;
		if (r)
			goto out;
	} else {
		r = prep(ss,
			 "UPDATE actions SET status = ?1, detail = ?2, completed_ns = ?3"
			 " WHERE id = ?4 AND agent_id = ?5",
			 &st);
		if (r)
			goto out;
		if ((r = bind_text(st, 1, status)) || (r = bind_text(st, 2, d)) ||
		    (r = bind_u64(st, 3, now_ns)) || (r = bind_text(st, 4, id)) ||
		    (r = bind_text(st, 5, agent_id)))
			goto out;
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = db_fail(ss, "action result");
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
		r = action_read(ss, sc, id, agent_id, &a);
		if (r)
			goto out;
		did = 1;
	}
	r = exec(ss, "COMMIT");
	if (r)
		goto out;
	*out = a;
	*changed = did;
out:
	sqlite3_finalize(st);
	if (r)
		rollback(ss);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

/* ---- audit ---- */

static int sqlite_audit_add(struct store *s, struct store_scope sc, const struct store_audit_in *a)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	int r;

	(void)sc;
	pthread_mutex_lock(&ss->lock);
	r = prep(ss,
		 "INSERT INTO audit (ns, actor, tenant_id, action, target, detail)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		 &st);
	if (r)
		goto out;
	if ((r = bind_u64(st, 1, util_now_ns())) || (r = bind_text(st, 2, a->actor)) ||
	    (a->tenant_id && (r = bind_text(st, 3, a->tenant_id))) ||
	    (r = bind_text(st, 4, a->action)) || (a->target && (r = bind_text(st, 5, a->target))) ||
	    (a->detail && (r = bind_text(st, 6, a->detail))))
		goto out;
	r = step_insert(ss, st, "audit insert");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static int sqlite_audit_query(struct store *s, struct store_scope sc, unsigned limit,
			      store_audit_fn fn, void *ctx)
{
	struct sqlite_store *ss = ss_of(s);
	sqlite3_stmt *st = NULL;
	int r, rc;

	pthread_mutex_lock(&ss->lock);
	r = prep(ss,
		 sc.tenant_id ? "SELECT id, ns, actor, tenant_id, action, target, detail FROM audit"
				" WHERE tenant_id = :tenant ORDER BY id DESC LIMIT :limit"
			      : "SELECT id, ns, actor, tenant_id, action, target, detail FROM audit"
				" ORDER BY id DESC LIMIT :limit",
		 &st);
	if (r)
		goto out;
	if ((r = bind_named_u64(st, ":limit", limit)) || (r = bind_scope(st, sc)))
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_audit_row row = {
		    .id = sqlite3_column_int64(st, 0),
		    .ns = col_u64(st, 1),
		    .actor = col_str(st, 2),
		    .tenant_id = col_str(st, 3),
		    .action = col_str(st, 4),
		    .target = col_str(st, 5),
		    .detail = col_str(st, 6),
		};
		r = fn(&row, ctx);
		if (r)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_fail(ss, "audit query");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ss->lock);
	return r;
}

static const struct store_ops sqlite_ops = {
    .close = sqlite_close,
    .tenant_ensure = sqlite_tenant_ensure,
    .tenant_find = sqlite_tenant_find,
    .enrol_token_add = sqlite_enrol_token_add,
    .enrol_token_check = sqlite_enrol_token_check,
    .api_token_add = sqlite_api_token_add,
    .api_token_check = sqlite_api_token_check,
    .agent_add = sqlite_agent_add,
    .agent_get = sqlite_agent_get,
    .agent_list = sqlite_agent_list,
    .ingest = sqlite_ingest,
    .event_query = sqlite_event_query,
    .event_start_time = sqlite_event_start_time,
    .alert_query = sqlite_alert_query,
    .action_add = sqlite_action_add,
    .action_get = sqlite_action_get,
    .action_pending = sqlite_action_pending,
    .action_result = sqlite_action_result,
    .audit_add = sqlite_audit_add,
    .audit_query = sqlite_audit_query,
};
