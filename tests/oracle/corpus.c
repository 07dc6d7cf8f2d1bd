/* corpus: NDJSON events in memory and as an SQLite table (see corpus.h). */
#include "corpus.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "err.h"
#include "event.h"

#define CHUNK (1u << 20)

struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[];
};

#define CORPUS_MAX_FIELDS 256 /* per event: fields[] then xfields (struct event) */

struct cev {
	size_t first; /* index of the first field in fields[] */
	uint16_t nfields;
	uint16_t category;
	uint16_t product, service, kind; /* indexes into strs[] */
	uint8_t has_category;		 /* kind is the "category" key's value */
};

struct corpus {
	struct chunk *chunks;
	const char *strs[CORPUS_MAX_NAMES]; /* field names and envelope values, interned
					     * (event_name_intern's where it takes them) */
	size_t nstrs;
	struct event_field *fields;
	size_t nfields, capfields;
	struct cev *evs;
	size_t nevs, capevs;
	unsigned char isname[CORPUS_MAX_NAMES]; /* strs[i] is a field name */
};

/* Copies n bytes (plus a NUL) into the corpus's chunks; NULL when out of memory. */
static char *stash(struct corpus *c, const char *p, size_t n)
{
	struct chunk *k = c->chunks;
	char *d;

	if (!k || k->size - k->used < n + 1) {
		size_t sz = n + 1 > CHUNK ? n + 1 : CHUNK;
		k = malloc(sizeof(*k) + sz);
		if (!k)
			return NULL;
		k->next = c->chunks;
		k->used = 0;
		k->size = sz;
		c->chunks = k;
	}
	d = k->data + k->used;
	memcpy(d, p, n);
	d[n] = 0;
	k->used += n + 1;
	return d;
}

/* Index of s in strs (added when new); -1 at the cap or out of memory. */
static int intern(struct corpus *c, const char *s, int name)
{
	for (size_t i = 0; i < c->nstrs; i++) {
		if (strcmp(c->strs[i], s) == 0) {
			c->isname[i] |= (unsigned char)name;
			return (int)i;
		}
	}
	if (c->nstrs >= CORPUS_MAX_NAMES)
		return -1;
	/* interned process-wide where they fit, as the wire decoder and the
	 * store leave field names and the product (event.h) */
	c->strs[c->nstrs] = event_name_intern(s, strlen(s));
	if (!c->strs[c->nstrs])
		c->strs[c->nstrs] = stash(c, s, strlen(s));
	if (!c->strs[c->nstrs])
		return -1;
	c->isname[c->nstrs] = (unsigned char)name;
	return (int)c->nstrs++;
}

static int add_field(struct corpus *c, struct cev *e, const char *name, json_t *v)
{
	char num[32];
	const char *s;
	size_t len;
	struct event_field *f;
	int id;

	if (json_is_string(v)) {
		s = json_string_value(v);
		len = json_string_length(v);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
		len = strlen(num);
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
		len = strlen(s);
	} else {
		return 0;
	}
	if (memchr(s, 0, len) || len > EVENT_MAX_VALUE || !event_name_ok(name, strlen(name)) ||
	    e->nfields >= CORPUS_MAX_FIELDS)
		return 0;
	if (c->nfields == c->capfields) {
		size_t nc = c->capfields ? c->capfields * 2 : 4096;
		struct event_field *nf = realloc(c->fields, nc * sizeof(*nf));
		if (!nf)
			return YM_E_NOMEM;
		c->fields = nf;
		c->capfields = nc;
	}
	id = intern(c, name, 1);
	if (id < 0)
		return YM_E_TOOBIG;
	f = &c->fields[c->nfields];
	f->value = stash(c, s, len);
	if (!f->value)
		return YM_E_NOMEM;
	f->name = c->strs[id];
	f->value_len = (uint32_t)len;
	c->nfields++;
	e->nfields++;
	return 0;
}

static int add_event(struct corpus *c, json_t *obj)
{
	const char *cat = json_string_value(json_object_get(obj, "category"));
	const char *prod = json_string_value(json_object_get(obj, "product"));
	const char *svc = json_string_value(json_object_get(obj, "service"));
	json_t *fields = json_object_get(obj, "fields"), *v;
	struct cev *e;
	const char *k;
	unsigned code = EVCAT_UNKNOWN;
	int p, s, kd, r;

	if (c->nevs >= CORPUS_MAX_EVENTS)
		return YM_E_TOOBIG;
	if (c->nevs == c->capevs) {
		size_t nc = c->capevs ? c->capevs * 2 : 4096;
		struct cev *ne = realloc(c->evs, nc * sizeof(*ne));
		if (!ne)
			return YM_E_NOMEM;
		c->evs = ne;
		c->capevs = nc;
	}
	if (cat && event_category_parse(cat, &code) != 0)
		code = EVCAT_UNKNOWN;
	p = intern(c, prod ? prod : "linux", 0);
	s = intern(c, svc ? svc : "", 0);
	kd = intern(c, cat ? cat : svc ? svc : "unknown", 0);
	if (p < 0 || s < 0 || kd < 0)
		return YM_E_TOOBIG;
	e = &c->evs[c->nevs];
	*e = (struct cev){.first = c->nfields,
			  .category = (uint16_t)code,
			  .product = (uint16_t)p,
			  .service = (uint16_t)s,
			  .kind = (uint16_t)kd,
			  .has_category = cat != NULL};
	if (!json_is_object(fields))
		fields = obj;
	json_object_foreach(fields, k, v)
	{
		if (fields == obj && (strcmp(k, "category") == 0 || strcmp(k, "product") == 0 ||
				      strcmp(k, "service") == 0 || strcmp(k, "fields") == 0))
			continue;
		r = add_field(c, e, k, v);
		if (r < 0)
			return r;
	}
	c->nevs++;
	return 0;
}

int corpus_load(const char *path, struct corpus **out, char *why, size_t whysz)
{
	struct corpus *c = NULL;
	FILE *f = NULL;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int r = 0;

	f = fopen(path, "r");
	if (!f) {
		snprintf(why, whysz, "cannot open %s", path);
		r = YM_E_IO;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		r = YM_E_NOMEM;
		goto out;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		json_error_t jerr;
		json_t *obj;

		lineno++;
		if ((size_t)n > CORPUS_MAX_LINE) {
			snprintf(why, whysz, "%s:%zu: line over %u bytes", path, lineno,
				 CORPUS_MAX_LINE);
			r = YM_E_TOOBIG;
			goto out;
		}
		if (n == 0 || (n == 1 && line[0] == '\n'))
			continue;
		obj = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &jerr);
		if (!json_is_object(obj)) {
			snprintf(why, whysz, "%s:%zu: not a JSON object: %s", path, lineno,
				 jerr.text);
			json_decref(obj);
			r = YM_E_PARSE;
			goto out;
		}
		r = add_event(c, obj);
		json_decref(obj);
		if (r < 0) {
			snprintf(why, whysz, "%s:%zu: %s", path, lineno, ym_strerror(r));
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(why, whysz, "cannot read %s", path);
		r = YM_E_IO;
		goto out;
	}
	*out = c;
	c = NULL;
out:
	free(line);
	if (f)
		fclose(f);
	corpus_free(c);
	return r;
}

void corpus_free(struct corpus *c)
{
	struct chunk *k, *next;

	if (!c)
		return;
	for (k = c->chunks; k; k = next) {
		next = k->next;
		free(k);
	}
	free(c->fields);
	free(c->evs);
	free(c);
}

size_t corpus_count(const struct corpus *c)
{
	return c->nevs;
}

void corpus_event(const struct corpus *c, size_t i, struct event *ev)
{
	const struct cev *e = &c->evs[i];
	uint16_t n = e->nfields < EVENT_MAX_FIELDS ? e->nfields : EVENT_MAX_FIELDS;

	event_init(ev);
	ev->category = e->category;
	ev->product = c->strs[e->product];
	if (c->strs[e->service][0])
		ev->service = c->strs[e->service];
	if (e->category == EVCAT_UNKNOWN && e->has_category)
		ev->category_name = c->strs[e->kind];
	ev->seq = i + 1;
	memcpy(ev->fields, &c->fields[e->first], n * sizeof(ev->fields[0]));
	ev->nfields = n;
	if (e->nfields > n) {
		ev->xfields = &c->fields[e->first + n];
		ev->nxfields = e->nfields - n;
	}
}

const char *corpus_service(const struct corpus *c, size_t i)
{
	return c->strs[c->evs[i].service];
}

const char *corpus_kind(const struct corpus *c, size_t i)
{
	return c->strs[c->evs[i].kind];
}

/* ------------------------------------------------------------ SQLite */

/* strs index of an interned name (names are interned, so compare pointers). */
static size_t name_index(const struct corpus *c, const char *name)
{
	for (size_t i = 0; i < c->nstrs; i++) {
		if (c->strs[i] == name)
			return i;
	}
	return 0;
}

static int exec(sqlite3 *db, const char *sql, char *why, size_t whysz)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(why, whysz, "%s", msg ? msg : "sqlite error");
		sqlite3_free(msg);
		return YM_E_DB;
	}
	return 0;
}

/* Adds a TEXT column for each field a query names that logs lacks, so a rule
 * over fields the corpus never has still runs (and matches nothing). Other
 * errors are left for the caller to see when it runs the query. */
static int add_query_columns(sqlite3 *db, const char *const *queries, size_t nq, char *why,
			     size_t whysz)
{
	static const char nsc[] = "no such column: ";

	for (size_t i = 0; i < nq; i++) {
		for (int tries = 0; tries < CORPUS_MAX_NAMES; tries++) {
			sqlite3_stmt *st = NULL;
			char *sql = sqlite3_mprintf("SELECT eid FROM (%s)", queries[i]);
			const char *msg, *name;
			int rc;

			if (!sql) {
				snprintf(why, whysz, "out of memory");
				return YM_E_DB;
			}
			rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
			sqlite3_finalize(st);
			sqlite3_free(sql);
			msg = sqlite3_errmsg(db);
			if (rc == SQLITE_OK || strncmp(msg, nsc, sizeof(nsc) - 1) != 0)
				break;
			name = msg + sizeof(nsc) - 1;
			if (!event_name_ok(name, strlen(name)))
				break;
			sql = sqlite3_mprintf("ALTER TABLE logs ADD COLUMN \"%w\" TEXT", name);
			rc = sql ? sqlite3_exec(db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;
			sqlite3_free(sql);
			if (rc != SQLITE_OK) {
				snprintf(why, whysz, "add column: %s", sqlite3_errmsg(db));
				return YM_E_DB;
			}
		}
	}
	return 0;
}

/* CREATE VIEW logs_filled from the columns logs has now. */
static int create_view(sqlite3 *db, char *why, size_t whysz)
{
	sqlite3_str *v = sqlite3_str_new(db);
	sqlite3_stmt *st = NULL;
	char *sql = NULL;
	int r = YM_E_DB;

	sqlite3_str_appendall(v, "CREATE VIEW logs_filled AS SELECT eid, category, product");
	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('logs') WHERE cid > 2", -1,
			       &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 0);
		sqlite3_str_appendf(v, ", coalesce(\"%w\", '') AS \"%w\"", n, n);
	}
	sqlite3_str_appendall(v, " FROM logs");
	sql = sqlite3_str_finish(v);
	v = NULL;
	r = sql ? exec(db, sql, why, whysz) : YM_E_DB;
out:
	if (r && !why[0])
		snprintf(why, whysz, "view: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_free(sqlite3_str_finish(v));
	sqlite3_free(sql);
	return r;
}

int corpus_sql_fill(const struct corpus *c, sqlite3 *db, const char *const *queries, size_t nq,
		    char *why, size_t whysz)
{
	int col[CORPUS_MAX_NAMES]; /* strs index -> SQL parameter, 0 = not a column */
	sqlite3_str *ddl = sqlite3_str_new(db), *ins = sqlite3_str_new(db);
	char *sddl = NULL, *sins = NULL;
	sqlite3_stmt *st = NULL;
	int ncol = 0, r = YM_E_DB;

	memset(col, 0, sizeof(col));
	sqlite3_str_appendall(ddl, "CREATE TABLE logs(eid INTEGER PRIMARY KEY, category TEXT, "
				   "product TEXT");
	sqlite3_str_appendall(ins, "INSERT INTO logs(eid, category, product");
	for (size_t i = 0; i < c->nstrs; i++) {
		if (!c->isname[i])
			continue;
		/* SQLite column names are case-insensitive: one column per folded name */
		for (size_t j = 0; j < i && !col[i]; j++) {
			if (c->isname[j] && strcasecmp(c->strs[i], c->strs[j]) == 0)
				col[i] = col[j];
		}
		if (col[i] || strcasecmp(c->strs[i], "eid") == 0 ||
		    strcasecmp(c->strs[i], "category") == 0 ||
		    strcasecmp(c->strs[i], "product") == 0)
			continue;
		col[i] = 4 + ncol++;
		sqlite3_str_appendf(ddl, ", \"%w\" TEXT", c->strs[i]);
		sqlite3_str_appendf(ins, ", \"%w\"", c->strs[i]);
	}
	sqlite3_str_appendall(ddl, ")");
	sqlite3_str_appendall(ins, ") VALUES(?1, ?2, ?3");
	for (int k = 0; k < ncol; k++)
		sqlite3_str_appendf(ins, ", ?%d", 4 + k);
	sqlite3_str_appendall(ins, ")");
	sddl = sqlite3_str_finish(ddl);
	sins = sqlite3_str_finish(ins);
	ddl = ins = NULL;
	if (!sddl || !sins) {
		snprintf(why, whysz, "out of memory");
		goto out;
	}
	if (exec(db, sddl, why, whysz) || add_query_columns(db, queries, nq, why, whysz) ||
	    create_view(db, why, whysz) || exec(db, "BEGIN", why, whysz))
		goto out;
	if (sqlite3_prepare_v2(db, sins, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "%s", sqlite3_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < c->nevs; i++) {
		const struct cev *e = &c->evs[i];
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		sqlite3_bind_int64(st, 1, (sqlite3_int64)i + 1);
		sqlite3_bind_text(st, 2, c->strs[e->kind], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->strs[e->product], -1, SQLITE_STATIC);
		for (uint16_t k = 0; k < e->nfields; k++) {
			const struct event_field *f = &c->fields[e->first + k];
			int p = col[name_index(c, f->name)];
			if (p)
				sqlite3_bind_text(st, p, f->value, (int)f->value_len,
						  SQLITE_STATIC);
		}
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(why, whysz, "insert: %s", sqlite3_errmsg(db));
			goto out;
		}
	}
	if (exec(db, "COMMIT", why, whysz) ||
	    exec(db, "CREATE INDEX logs_category ON logs(category)", why, whysz))
		goto out;
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_free(sddl);
	sqlite3_free(sins);
	return r;
}

struct rx {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static void rx_free(void *p)
{
	struct rx *x = p;

	if (!x)
		return;
	pcre2_match_data_free(x->md);
	pcre2_match_context_free(x->mc);
	pcre2_code_free(x->code);
	free(x);
}

static void sql_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct rx *x = sqlite3_get_auxdata(ctx, 0);
	const unsigned char *pat, *val;
	int rc;

	(void)argc;
	if (!x) {
		int err;
		PCRE2_SIZE off;

		pat = sqlite3_value_text(argv[0]);
		if (!pat) {
			sqlite3_result_int(ctx, 0);
			return;
		}
		x = calloc(1, sizeof(*x));
		if (!x) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		x->code = pcre2_compile(pat, (PCRE2_SIZE)sqlite3_value_bytes(argv[0]), 0, &err,
					&off, NULL);
		x->md = x->code ? pcre2_match_data_create_from_pattern(x->code, NULL) : NULL;
		x->mc = pcre2_match_context_create(NULL);
		if (!x->code || !x->md || !x->mc) {
			rx_free(x);
			sqlite3_result_error(ctx, "REGEXP: pattern does not compile", -1);
			return;
		}
		/* the same limits as the engine, so neither side stalls */
		pcre2_set_match_limit(x->mc, 100000);
		pcre2_set_depth_limit(x->mc, 10000);
		sqlite3_set_auxdata(ctx, 0, x, rx_free);
		x = sqlite3_get_auxdata(ctx, 0);
		if (!x) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	val = sqlite3_value_text(argv[1]);
	if (!val) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	rc =
	    pcre2_match(x->code, val, (PCRE2_SIZE)sqlite3_value_bytes(argv[1]), 0, 0, x->md, x->mc);
	sqlite3_result_int(ctx, rc >= 0);
}

int corpus_sql_regexp(sqlite3 *db)
{
	return sqlite3_create_function(db, "regexp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				       sql_regexp, NULL, NULL) == SQLITE_OK
		   ? 0
		   : YM_E_DB;
}

/* ------------------------------------------------------- Zircolite rules */

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

int zrules_load(const char *path, struct zrule **out, size_t *n)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *r;
	struct zrule *z = NULL;
	size_t i, nz = 0;
	int ret = 0;

	if (!root) {
		ret = jerr.line <= 0 ? YM_E_IO : YM_E_PARSE;
		goto out;
	}
	if (!json_is_array(root)) {
		ret = YM_E_PARSE;
		goto out;
	}
	z = calloc(json_array_size(root) + 1, sizeof(*z));
	if (!z) {
		ret = YM_E_NOMEM;
		goto out;
	}
	json_array_foreach(root, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		const char *title = json_string_value(json_object_get(r, "title"));
		json_t *q = json_object_get(r, "rule");
		if (!id || !json_is_array(q) || json_array_size(q) != 1 ||
		    !json_string_value(json_array_get(q, 0)))
			continue;
		z[nz].id = dup_str(id);
		z[nz].title = dup_str(title ? title : "");
		z[nz].query = dup_str(json_string_value(json_array_get(q, 0)));
		nz++;
		if (!z[nz - 1].id || !z[nz - 1].title || !z[nz - 1].query) {
			ret = YM_E_NOMEM;
			goto out;
		}
	}
	*out = z;
	*n = nz;
	z = NULL;
out:
	if (z)
		zrules_free(z, nz);
	json_decref(root);
	return ret;
}

void zrules_free(struct zrule *z, size_t n)
{
	if (!z)
		return;
	for (size_t i = 0; i < n; i++) {
		free(z[i].id);
		free(z[i].title);
		free(z[i].query);
	}
	free(z);
}
