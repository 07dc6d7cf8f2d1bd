/* oracle: yamori's Sigma engine against an independent conversion of the same
 * rules to SQL (Zircolite's SQLite queries), rule by rule, event by event.
 *
 *   oracle SIGMA_DIR ZIRCOLITE_JSON CORPUS_NDJSON
 *
 * Loads the corpus (tests/oracle/gen_corpus.py) into an in-memory SQLite
 * table and runs each converted query over the events of its rule's log
 * source (category, or service for auditd rules); loads SIGMA_DIR/rules/linux
 * with ruleset_load and matches every event (logsource routing included);
 * then compares, for every rule of ZIRCOLITE_JSON, the two sets of
 * matching events. Every disagreement is printed (rule id, title, event id,
 * which side matched) with its explanation, if any:
 *
 *   null       the SQL side reads a missing field as NULL, so NOT(x LIKE ..)
 *              is not true there; the same query over logs_filled (missing
 *              fields read as '') agrees with yamori on that event;
 *   eq-case    the conversion wrote plain values as '=', which compares
 *              case-sensitively in SQLite; the query with COLLATE NOCASE on
 *              each '= literal' agrees with yamori on that event;
 *   a per-rule entry of known[] below (docs/oracle.md says why for each).
 *
 * A rule passes when both sides agree on every event, is "explained" when
 * every disagreement is, and fails otherwise; a known[] entry that explains
 * nothing (stale) fails too. Prints "N passed, N failed, N explained".
 * Exit 77 (skip) when the data is absent. */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus.h"
#include "detect.h"
#include "err.h"
#include "event.h"
#include "util.h"

#define MAX_DIAGS     1024
#define MAX_RULE_FILE (1u << 20)

/* Disagreements that are limits of the oracle, not engine bugs; each is
 * described in docs/oracle.md. kind:
 *   "not-loaded"   yamori refuses the rule (the rule is not compared);
 *   "sql-error"    the converted query does not run (not compared);
 *   "drift"        the conversion was made from an older revision of the rule
 *                  (values, modifiers or filters differ from the rule file):
 *                  any disagreement of the rule is explained; never stale,
 *                  since it is a fact about the data, not about the events;
 *   "yamori-only" / "sql-only": every disagreement of that direction that the
 *                  automatic classes do not explain is explained by why.
 * Any other entry that explains nothing in a run is stale and fails. */
struct known {
	const char *id, *kind, *why;
	unsigned used;
};

static struct known known[] = {
    {"97de11cd-4b67-4abf-9a8b-1020e670aa9e", "sql-error",
     "the converter left a single quote of the regex unescaped: the query does not parse", 0},
    {"dbfc7c98-04ab-4ab7-aa94-c74d22aa7376", "yamori-only",
     "cidr converted to LIKE prefixes: '::1/128' became '::1%', which also takes '::10'", 0},
    {"de25eeb8-3655-4643-ac3a-b662d3f26b6b", "drift",
     "older revision: 'stop'/'disable' without spaces, no snapd/ssh/ubuntu-pro filters", 0},
    {"86157017-c2b1-4d4a-8c33-93b8e67e4af4", "drift",
     "older revision: no sed and mdadm.conf filters", 0},
    {"6419afd1-3742-47a5-a7e6-b50386cd15f8", "drift",
     "older revision: no update-shells, dpkg postinst, landscape filters", 0},
    {"84c9e83c-599a-458a-a0cb-0ecce44e807a", "drift",
     "older revision: CommandLine '-ufw-init' and 'force-stop' instead of Image '/ufw-init' "
     "and ' force-stop'/' stop'/' flush'; 'ufw' instead of 'ufw '",
     0},
    {"80915f59-9b56-4616-9de0-fd0dea6c12fe", "drift",
     "older revision: no '/rmdir' image, no sysstat and dmesg filters", 0},
    {"ddb26b76-4447-4807-871f-1b035b2bfa5d", "drift", "older revision: no dpkg filter", 0},
    {"6c4e2f43-d94d-4ead-b64d-97e53fa2bd05", "drift",
     "older revision: no /etc/crontabs/root, /var/spool/cron/root and cron.daily filters", 0},
    {"7ab8f73a-fcff-428b-84aa-6a5ff7877dea", "drift",
     "older revision: ' -c ' and ' --cmd' instead of ' -c' and ' --cmd '; no csh, ksh, tmux", 0},
    {"bed978f8-7f3a-432b-82c5-9286a9b3031a", "drift",
     "older revision: shell paths matched with endswith, the rule now uses contains", 0},
    {"808146b2-9332-4d78-9416-d7e47012d83d", "drift",
     "older revision: 3 of the rule's 19 lock and pid file names", 0},
};

struct diag_list {
	struct detect_diag d[MAX_DIAGS];
	size_t n;
};

struct orule {
	const struct zrule *z;
	const struct rule_info *ri; /* NULL when yamori did not load it */
	const char *kind;	    /* SQL category column: category name or "auditd" */
	char note[300];		    /* why not loaded, or the SQL error */
	uint8_t *y, *s;		    /* matched, per event: yamori, SQL */
	int sql_failed;
	unsigned agree_hits, diffs, explained;
	struct known *k;
};

struct ptrmap {
	const struct rule_info *ri;
	size_t idx;
};

struct ctx {
	struct ruleset *rs;
	struct orule *r;
	size_t nr;
	struct ptrmap *map;
	size_t nmap;
	size_t ev;
	struct diag_list diags;
};

static void on_diag(const struct detect_diag *d, void *arg)
{
	struct diag_list *l = arg;

	if (l->n < MAX_DIAGS)
		l->d[l->n++] = *d;
}

static int cmp_ptr(const void *a, const void *b)
{
	const struct ptrmap *x = a, *y = b;

	return x->ri < y->ri ? -1 : x->ri > y->ri;
}

static int on_match(const struct rule_info *ri, const struct event *ev, void *arg)
{
	struct ctx *c = arg;
	struct ptrmap key = {.ri = ri}, *hit;

	(void)ev;
	hit = bsearch(&key, c->map, c->nmap, sizeof(key), cmp_ptr);
	if (hit)
		c->r[hit->idx].y[c->ev] = 1;
	return 0;
}

static struct known *find_known(const char *id)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i].id, id) == 0)
			return &known[i];
	}
	return NULL;
}

/* Appends s[0..n) to the growing string. */
static void put(sqlite3_str *b, const char *s, size_t n)
{
	sqlite3_str_append(b, s, (int)n);
}

/* The query as a variant: over logs_filled instead of logs (fill), with
 * COLLATE NOCASE after every "= 'literal'" (nocase). The result is restricted
 * to the events of one kind (?1). Returns an sqlite3_malloc'd string or NULL. */
static char *variant(sqlite3 *db, const char *q, int fill, int nocase)
{
	sqlite3_str *b = sqlite3_str_new(db);
	size_t n = strlen(q);

	while (n && (q[n - 1] == ';' || q[n - 1] == ' ' || q[n - 1] == '\n'))
		n--;
	sqlite3_str_appendall(b, "SELECT eid FROM (");
	for (size_t i = 0; i < n;) {
		if (q[i] == '\'') {
			size_t j = i + 1;
			while (j < n && !(q[j] == '\'' && (j + 1 >= n || q[j + 1] != '\'')))
				j += q[j] == '\'' ? 2 : 1;
			put(b, q + i, j < n ? j + 1 - i : n - i);
			i = j < n ? j + 1 : n;
			continue;
		}
		if (fill && strncmp(q + i, " FROM logs", 10) == 0 &&
		    (i + 10 == n || q[i + 10] == ' ' || q[i + 10] == ')')) {
			sqlite3_str_appendall(b, " FROM logs_filled");
			i += 10;
			continue;
		}
		if (nocase && q[i] == '=') {
			size_t j = i + 1;
			while (j < n && q[j] == ' ')
				j++;
			if (j < n && q[j] == '\'') {
				size_t k = j + 1;
				while (k < n && !(q[k] == '\'' && (k + 1 >= n || q[k + 1] != '\'')))
					k += q[k] == '\'' ? 2 : 1;
				k = k < n ? k + 1 : n;
				put(b, q + i, k - i);
				sqlite3_str_appendall(b, " COLLATE NOCASE");
				i = k;
				continue;
			}
		}
		put(b, q + i, 1);
		i++;
	}
	sqlite3_str_appendall(b, ") WHERE category = ?1");
	return sqlite3_str_finish(b);
}

/* Runs a query variant; sets out[eid - 1] for each match. Returns 0 or
 * YM_E_DB with the message in why. */
static int run_sql(sqlite3 *db, const struct orule *o, int fill, int nocase, uint8_t *out,
		   size_t nev, char *why, size_t whysz)
{
	char *sql = variant(db, o->z->query, fill, nocase);
	sqlite3_stmt *st = NULL;
	int rc, r = YM_E_DB;

	if (!sql) {
		snprintf(why, whysz, "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "%s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, o->kind, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 eid = sqlite3_column_int64(st, 0);
		if (eid >= 1 && (size_t)eid <= nev)
			out[eid - 1] = 1;
	}
	if (rc != SQLITE_DONE) {
		snprintf(why, whysz, "%s", sqlite3_errmsg(db));
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return r;
}

/* Why yamori did not load the rule with this id: the diagnostic of the file
 * that holds it, if any. */
static void not_loaded_reason(const struct diag_list *l, const char *id, char *out, size_t outsz)
{
	snprintf(out, outsz, "not in yamori's ruleset");
	for (size_t i = 0; i < l->n; i++) {
		char *text = NULL;
		size_t len;
		int hit;

		if (util_read_file(l->d[i].file, MAX_RULE_FILE, &text, &len) != 0)
			continue;
		hit = strstr(text, id) != NULL;
		free(text);
		if (hit) {
			snprintf(out, outsz, "%s:%d: %s: %s", l->d[i].file, l->d[i].line,
				 l->d[i].severity == YM_E_UNSUPPORTED ? "unsupported" : "error",
				 l->d[i].reason);
			return;
		}
	}
}

static int exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* Compares one rule; prints its disagreements and its line. Returns 0 when
 * it passed or is explained. */
static int compare(sqlite3 *db, struct orule *o, size_t nev, unsigned *passed, unsigned *failed,
		   unsigned *explained)
{
	uint8_t *vn = NULL, *vc = NULL, *vb = NULL;
	unsigned unexpl = 0, by_null = 0, by_case = 0, by_known = 0;
	char why[300] = "";
	int have_variants = 0;

	for (size_t e = 0; e < nev; e++) {
		o->agree_hits += o->y[e] && o->s[e];
		o->diffs += o->y[e] != o->s[e];
	}
	if (o->k && strcmp(o->k->kind, o->ri ? "sql-error" : "not-loaded") == 0 &&
	    (!o->ri || o->sql_failed)) {
		o->k->used++;
		printf("expl %s \"%s\": %s (%s); %u disagreements not compared\n", o->z->id,
		       o->z->title, o->note, o->k->why, o->diffs);
		(*explained)++;
		return 0;
	}
	if (!o->ri || o->sql_failed) {
		printf("FAIL %s \"%s\": %s\n", o->z->id, o->z->title, o->note);
		(*failed)++;
		return -1;
	}
	if (o->diffs) {
		vn = calloc(nev, 1);
		vc = calloc(nev, 1);
		vb = calloc(nev, 1);
		have_variants = vn && vc && vb &&
				run_sql(db, o, 1, 0, vn, nev, why, sizeof(why)) == 0 &&
				run_sql(db, o, 0, 1, vc, nev, why, sizeof(why)) == 0 &&
				run_sql(db, o, 1, 1, vb, nev, why, sizeof(why)) == 0;
		if (!have_variants)
			printf("note %s: variant queries failed: %s\n", o->z->id, why);
	}
	for (size_t e = 0; e < nev && o->diffs; e++) {
		const char *cls = NULL, *dir;

		if (o->y[e] == o->s[e])
			continue;
		dir = o->y[e] ? "yamori-only" : "sql-only";
		if (have_variants && vn[e] == o->y[e])
			cls = "null", by_null++;
		else if (have_variants && vc[e] == o->y[e])
			cls = "eq-case", by_case++;
		else if (have_variants && vb[e] == o->y[e])
			cls = "null+eq-case", by_null++, by_case++;
		else if (o->k && (strcmp(o->k->kind, dir) == 0 || strcmp(o->k->kind, "drift") == 0))
			cls = "known", by_known++;
		else
			unexpl++;
		printf("DIFF %s \"%s\" event %zu: %s [%s]\n", o->z->id, o->z->title, e + 1,
		       o->y[e] ? "yamori matched, sql did not" : "sql matched, yamori did not",
		       cls ? cls : "UNEXPLAINED");
	}
	free(vn);
	free(vc);
	free(vb);
	if (by_known)
		o->k->used++;
	if (!o->diffs) {
		printf("ok   %s \"%s\": %u matching events\n", o->z->id, o->z->title,
		       o->agree_hits);
		(*passed)++;
		return 0;
	}
	if (!unexpl) {
		printf("expl %s \"%s\": %u agreed matches, %u disagreements (null %u, eq-case %u, "
		       "known %u)\n",
		       o->z->id, o->z->title, o->agree_hits, o->diffs, by_null, by_case, by_known);
		(*explained)++;
		return 0;
	}
	printf("FAIL %s \"%s\": %u of %u disagreements unexplained\n", o->z->id, o->z->title,
	       unexpl, o->diffs);
	(*failed)++;
	return -1;
}

static struct ctx C;

int main(int argc, char **argv)
{
	char linux_dir[4096], why[512] = "";
	const char *paths[1];
	struct detect_load_stats st;
	struct corpus *corpus = NULL;
	struct zrule *z = NULL;
	const char **queries = NULL;
	sqlite3 *db = NULL;
	size_t nz = 0, nev = 0, covered = 0;
	unsigned passed = 0, failed = 0, explained = 0;
	uint64_t t0 = util_mono_ns();
	int ret = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: oracle SIGMA_DIR ZIRCOLITE_JSON CORPUS_NDJSON\n");
		return 2;
	}
	snprintf(linux_dir, sizeof(linux_dir), "%s/rules/linux", argv[1]);
	if (!exists(linux_dir) || !exists(argv[2]) || !exists(argv[3])) {
		printf("skip: needs %s, %s and the generated corpus %s (shared data absent?)\n",
		       linux_dir, argv[2], argv[3]);
		return 77;
	}
	if (zrules_load(argv[2], &z, &nz) != 0 || nz == 0) {
		printf("FAIL cannot load converted rules from %s\n", argv[2]);
		goto out;
	}
	paths[0] = linux_dir;
	if (ruleset_load(paths, 1, &C.rs, &st, on_diag, &C.diags) != 0) {
		printf("FAIL cannot load %s\n", linux_dir);
		goto out;
	}
	if (corpus_load(argv[3], &corpus, why, sizeof(why)) != 0) {
		printf("FAIL corpus: %s\n", why);
		goto out;
	}
	nev = corpus_count(corpus);
	printf("oracle: %zu converted rules, %u yamori rules loaded (%u unsupported, %u errors), "
	       "%zu events\n",
	       nz, st.loaded, st.unsupported, st.errors, nev);

	C.r = calloc(nz, sizeof(*C.r));
	C.map = calloc(nz, sizeof(*C.map));
	if (!C.r || !C.map)
		goto out;
	C.nr = nz;
	for (size_t i = 0; i < nz; i++) {
		struct orule *o = &C.r[i];
		o->z = &z[i];
		o->k = find_known(z[i].id);
		o->y = calloc(nev ? nev : 1, 1);
		o->s = calloc(nev ? nev : 1, 1);
		if (!o->y || !o->s)
			goto out;
		for (size_t k = 0; k < ruleset_count(C.rs) && !o->ri; k++) {
			if (strcmp(ruleset_rule(C.rs, k)->id, z[i].id) == 0)
				o->ri = ruleset_rule(C.rs, k);
		}
		if (!o->ri) {
			not_loaded_reason(&C.diags, z[i].id, o->note, sizeof(o->note));
			o->kind = "";
			continue;
		}
		o->kind = o->ri->category[0] ? o->ri->category : o->ri->service;
		C.map[C.nmap++] = (struct ptrmap){.ri = o->ri, .idx = i};
	}
	qsort(C.map, C.nmap, sizeof(*C.map), cmp_ptr);

	/* yamori */
	for (size_t e = 0; e < nev; e++) {
		struct event ev;

		corpus_event(corpus, e, &ev);
		C.ev = e;
		ruleset_match(C.rs, &ev, on_match, &C);
	}
	printf("oracle: yamori matched in %.1f s\n", (double)(util_mono_ns() - t0) / 1e9);

	/* SQL */
	queries = calloc(nz, sizeof(*queries));
	for (size_t i = 0; queries && i < nz; i++)
		queries[i] = z[i].query;
	if (!queries || sqlite3_open(":memory:", &db) != SQLITE_OK || corpus_sql_regexp(db) != 0 ||
	    corpus_sql_fill(corpus, db, queries, nz, why, sizeof(why)) != 0) {
		printf("FAIL sqlite: %s\n", why[0] ? why : db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	for (size_t i = 0; i < nz; i++) {
		struct orule *o = &C.r[i];
		if (o->ri && run_sql(db, o, 0, 0, o->s, nev, o->note, sizeof(o->note)) != 0)
			o->sql_failed = 1;
	}
	printf("oracle: sql matched in %.1f s\n", (double)(util_mono_ns() - t0) / 1e9);

	for (size_t i = 0; i < nz; i++) {
		compare(db, &C.r[i], nev, &passed, &failed, &explained);
		covered += C.r[i].agree_hits > 0;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (!known[i].used && strcmp(known[i].kind, "drift") != 0) {
			printf("FAIL stale known[] entry %s (%s): nothing it explains happened; "
			       "remove it from tests/oracle/oracle.c and docs/oracle.md\n",
			       known[i].id, known[i].kind);
			failed++;
		}
	}
	printf("oracle: %zu of %zu rules matched at least one event on both sides; %.1f s\n",
	       covered, nz, (double)(util_mono_ns() - t0) / 1e9);
	printf("%u passed, %u failed, %u explained\n", passed, failed, explained);
	ret = failed ? 1 : 0;
out:
	for (size_t i = 0; C.r && i < C.nr; i++) {
		free(C.r[i].y);
		free(C.r[i].s);
	}
	free(C.r);
	free(C.map);
	free(queries);
	sqlite3_close(db);
	corpus_free(corpus);
	ruleset_free(C.rs);
	zrules_free(z, nz);
	return ret;
}
