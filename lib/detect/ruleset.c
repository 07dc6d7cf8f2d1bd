/* ruleset: loading rule files into an immutable ruleset, resolving
 * references (correlation rules, filters), and matching.
 *
 * After every document of a load is compiled, finalize() resolves the rules
 * that correlations and filters name (by id, else by name), drops those whose
 * references cannot be resolved (an error diagnostic each), attaches filters
 * to their rules, marks rules that only feed correlations as quiet, orders
 * correlations by nesting level and builds the logsource index (logsource.c).
 * The ruleset never changes afterwards; correlation windows live in a
 * separate struct correl_state (correl.c). */
#include "detect_int.h"

#include "err.h"
#include "event.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define TREE_ARENA_CAP (64u << 20) /* one YAML document's node tree */

struct ruleset {
	struct rule **rules;
	size_t n, alloc;
	struct lsidx *ls;
	struct prefilter *pf; /* NULL: every routed rule is evaluated */
	uint32_t *corr; /* correlation rule indices, by ascending level */
	uint32_t ncorr;
	const struct rule **filter_refs; /* storage of every rule's filters array */
	size_t mem;			 /* arena bytes of all rules */
	pcre2_match_context *mctx;
	atomic_ulong *re_errors; /* behind a pointer: counted through a const ruleset */
};

struct loader {
	struct ruleset *rs;
	const struct placeholders *ph;
	int no_prefilter;
	struct detect_load_stats st;
	detect_diag_fn diag;
	void *ctx;
	const char *file;
	unsigned docs;	 /* documents seen in the current file */
	unsigned nfiles; /* files read so far */
	int full;	 /* DETECT_MAX_RULES reached and reported */
	struct arena tree;
};

/* Reports one diagnostic; rule text in reason was already escaped, file
 * names are made printable here. */
static void report(struct loader *L, int line, int sev, const char *reason)
{
	struct detect_diag d;

	if (sev == YM_E_UNSUPPORTED)
		L->st.unsupported++;
	else
		L->st.errors++;
	if (!L->diag)
		return;
	util_strlcpy(d.file, L->file, sizeof(d.file));
	for (char *p = d.file; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	d.line = line;
	d.severity = sev == YM_E_UNSUPPORTED ? YM_E_UNSUPPORTED : YM_E_PARSE;
	util_strlcpy(d.reason, reason, sizeof(d.reason));
	for (char *p = d.reason; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	L->diag(&d, L->ctx);
}

static int add_rule(struct ruleset *rs, struct rule *r)
{
	if (rs->n == rs->alloc) {
		size_t na = rs->alloc ? rs->alloc * 2 : 256;
		struct rule **nr = realloc(rs->rules, na * sizeof(*nr));
		if (!nr)
			return YM_E_NOMEM;
		rs->rules = nr;
		rs->alloc = na;
	}
	rs->rules[rs->n++] = r;
	return 0;
}

/* A YAML document that is not meant as a Sigma rule at all (a test's
 * info.yml, a pipeline or config file beside the rules): a mapping with none
 * of the keys every kind of Sigma rule has. Such a document is skipped and
 * counted, not reported as a broken rule. */
static int not_a_rule(const struct ynode *root)
{
	static const char *const keys[] = {"title", "logsource", "detection", "correlation",
					   "filter"};

	if (!root || root->kind != YN_MAP)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (yamltree_key(root, keys[i]))
			return 0;
	}
	return 1;
}

static int on_doc(const struct ynode *root, void *ctx)
{
	struct loader *L = ctx;
	struct rule_problem prob = {0};
	struct rule *r = NULL;
	int rc;

	L->docs++;
	if (L->rs->n >= DETECT_MAX_RULES) {
		if (!L->full) {
			char m[80];
			snprintf(m, sizeof(m), "more than %u rules: the rest is not loaded",
				 DETECT_MAX_RULES);
			report(L, root ? root->line : 0, YM_E_PARSE, m);
			L->full = 1;
		}
		return 0;
	}
	if (not_a_rule(root)) {
		L->st.skipped++;
		return 0;
	}
	rc = rule_compile(root, L->file, L->ph, &r, &prob);
	if (rc == YM_E_NOMEM)
		return rc;
	if (rc < 0) {
		report(L, prob.line, prob.severity, prob.reason);
		return 0;
	}
	if (L->rs->mem + r->arena.total > DETECT_MAX_RULESET_MEM) {
		if (!L->full) {
			report(L, r->line, YM_E_PARSE,
			       "rules need more than 1 GiB of memory: the rest is not loaded");
			L->full = 1;
		}
		rule_free(r);
		return 0;
	}
	rc = add_rule(L->rs, r);
	if (rc < 0) {
		rule_free(r);
		return rc;
	}
	L->rs->mem += r->arena.total;
	L->st.loaded++;
	return 0;
}

static int load_buf(struct loader *L, const char *buf, size_t len)
{
	struct yamltree_err yerr = {0};
	int rc;

	if (len > DETECT_MAX_FILE_SIZE) {
		report(L, 0, YM_E_PARSE, "file larger than 1 MiB (1048576 bytes)");
		return 0;
	}
	L->docs = 0;
	rc = yamltree_parse(buf, len, &L->tree, on_doc, L, &yerr);
	if (rc == YM_E_NOMEM)
		return rc;
	if (rc < 0)
		report(L, yerr.line, yerr.severity, yerr.reason);
	else if (L->docs == 0)
		report(L, 0, YM_E_PARSE, "file holds no YAML document");
	return 0;
}

static int load_file(struct loader *L, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	L->file = path;
	if (++L->nfiles > DETECT_MAX_FILES) {
		if (L->nfiles == DETECT_MAX_FILES + 1)
			report(L, 0, YM_E_PARSE, "more than 100000 files: the rest is not loaded");
		return 0;
	}
	rc = util_read_file(path, DETECT_MAX_FILE_SIZE, &buf, &len);
	if (rc == YM_E_NOMEM)
		goto out;
	if (rc == YM_E_TOOBIG) {
		report(L, 0, YM_E_PARSE, "file larger than 1 MiB (1048576 bytes)");
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		char m[160];
		snprintf(m, sizeof(m), "cannot read file: %s", strerror(errno));
		report(L, 0, YM_E_PARSE, m);
		rc = 0;
		goto out;
	}
	rc = load_buf(L, buf, len);
out:
	free(buf);
	return rc;
}

static int yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	       (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Loads path: a file (any name when top, else *.yml / *.yaml) or a folder,
 * recursively in sorted order. Returns YM_E_IO only for an unreadable top
 * path; deeper problems become diagnostics. */
static int load_path(struct loader *L, const char *path, int depth, int top)
{
	struct dirent **ents = NULL;
	struct stat st;
	int n = 0, rc = 0;

	L->file = path;
	if (stat(path, &st) < 0) {
		char m[160];
		if (top)
			return YM_E_IO;
		snprintf(m, sizeof(m), "cannot read: %s", strerror(errno));
		report(L, 0, YM_E_PARSE, m);
		return 0;
	}
	if (S_ISREG(st.st_mode))
		return (top || yaml_name(path)) ? load_file(L, path) : 0;
	if (!S_ISDIR(st.st_mode))
		return top ? YM_E_IO : 0;
	if (depth > DETECT_MAX_DIR_DEPTH) {
		report(L, 0, YM_E_PARSE, "folders nested deeper than 32 levels: not loaded");
		return 0;
	}
	n = scandir(path, &ents, not_hidden, alphasort);
	if (n < 0) {
		char m[160];
		if (top)
			return YM_E_IO;
		snprintf(m, sizeof(m), "cannot list folder: %s", strerror(errno));
		report(L, 0, YM_E_PARSE, m);
		return 0;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		char sub[4096];
		int k = snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
		if (k < 0 || (size_t)k >= sizeof(sub)) {
			L->file = path;
			report(L, 0, YM_E_PARSE, "path longer than 4095 bytes: not loaded");
			continue;
		}
		rc = load_path(L, sub, depth + 1, 0);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

/* Reports a problem with rule r found after compiling, and drops it. */
static void drop(struct loader *L, struct rule *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void drop(struct loader *L, struct rule *r, const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	L->file = r->info.file;
	report(L, r->line, YM_E_PARSE, m);
	r->dead = 1;
	L->st.loaded--;
}

/* Index of the live rule whose id (else name) is ref, or -1. Filters are
 * never referenced. */
static long resolve(const struct ruleset *rs, const char *ref)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < rs->n; i++) {
			const struct rule *r = rs->rules[i];
			const char *key = pass == 0 ? r->info.id : r->info.name;
			if (!r->dead && r->kind != RK_FILTER && key[0] && strcmp(key, ref) == 0)
				return (long)i;
		}
	}
	return -1;
}

/* Resolves correlation references until nothing changes: a correlation whose
 * reference is unknown, dropped, itself, or nested too deep (or in a cycle)
 * is dropped. */
static void resolve_correl(struct loader *L)
{
	struct ruleset *rs = L->rs;
	int changed = 1;
	char q[80];

	while (changed) {
		changed = 0;
		for (size_t i = 0; i < rs->n; i++) {
			struct rule *r = rs->rules[i];
			struct correl *c = r->correl;
			uint32_t level = 0;
			if (r->dead || r->kind != RK_CORRELATION)
				continue;
			if (!c->refs) {
				c->refs = arena_alloc(&r->arena, c->nrefs * sizeof(*c->refs));
				if (!c->refs) {
					drop(L, r, "out of memory for the rule");
					changed = 1;
					continue;
				}
			}
			for (uint32_t j = 0; j < c->nrefs && !r->dead; j++) {
				long k = resolve(rs, c->ref_names[j]);
				const char *ref = c->ref_names[j];
				if (k < 0) {
					drop(L, r, "correlation references unknown rule '%s'",
					     rule_quote(ref, strlen(ref), q, sizeof(q)));
				} else if ((size_t)k == i) {
					drop(L, r, "correlation references itself");
				} else {
					const struct rule *t = rs->rules[k];
					uint32_t lv = t->kind == RK_CORRELATION
							  ? t->correl->level + 1
							  : 0;
					c->refs[j] = (uint32_t)k;
					if (lv > level)
						level = lv;
				}
			}
			if (r->dead) {
				changed = 1;
				continue;
			}
			if (level > DETECT_MAX_CORREL_DEPTH) {
				drop(L, r,
				     "correlation chain deeper than %u levels (or a cycle of "
				     "correlations)",
				     DETECT_MAX_CORREL_DEPTH);
				changed = 1;
			} else if (level != c->level) {
				c->level = level;
				changed = 1;
			}
		}
	}
}

/* Attaches each filter to the rules it names; a filter naming an unknown
 * rule is dropped. */
static int attach_filters(struct loader *L)
{
	struct ruleset *rs = L->rs;
	uint32_t *cnt = NULL;
	size_t total = 0, off = 0;
	char q[80];
	int rc = YM_E_NOMEM;

	for (size_t i = 0; i < rs->n; i++) {
		struct rule *f = rs->rules[i];
		if (f->dead || f->kind != RK_FILTER)
			continue;
		for (uint32_t j = 0; j < f->nfrefs && !f->dead; j++) {
			long k = resolve(rs, f->frefs[j]);
			if (k < 0 || rs->rules[k]->kind != RK_DETECTION)
				drop(L, f, "filter names unknown rule '%s'",
				     rule_quote(f->frefs[j], strlen(f->frefs[j]), q, sizeof(q)));
		}
		if (!f->dead)
			total += f->nfrefs;
	}
	if (total == 0)
		return 0;
	cnt = calloc(rs->n, sizeof(*cnt));
	rs->filter_refs = calloc(total, sizeof(*rs->filter_refs));
	if (!cnt || !rs->filter_refs)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < rs->n; i++) {
			const struct rule *f = rs->rules[i];
			if (f->dead || f->kind != RK_FILTER)
				continue;
			for (uint32_t j = 0; j < f->nfrefs; j++) {
				struct rule *t = rs->rules[resolve(rs, f->frefs[j])];
				if (pass == 0)
					cnt[resolve(rs, f->frefs[j])]++;
				else
					((const struct rule **)t->filters)[t->nfilters++] = f;
			}
		}
		if (pass == 0) {
			for (size_t i = 0; i < rs->n; i++) {
				rs->rules[i]->filters = rs->filter_refs + off;
				rs->rules[i]->nfilters = 0;
				off += cnt[i];
			}
		}
	}
	rc = 0;
out:
	free(cnt);
	return rc;
}

static int cmp_level(const void *a, const void *b, void *ctx)
{
	const struct ruleset *rs = ctx;
	uint32_t la = rs->rules[*(const uint32_t *)a]->correl->level;
	uint32_t lb = rs->rules[*(const uint32_t *)b]->correl->level;

	if (la != lb)
		return la < lb ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int finalize(struct loader *L)
{
	struct ruleset *rs = L->rs;
	size_t k = 0;
	int rc;

	resolve_correl(L);
	rc = attach_filters(L);
	if (rc < 0)
		return rc;
	/* Drop dead rules; correlations then resolve again to the new indices. */
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->rules[i]->dead)
			rule_free(rs->rules[i]);
		else
			rs->rules[k++] = rs->rules[i];
	}
	rs->n = k;
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->rules[i]->kind == RK_CORRELATION)
			rs->ncorr++;
	}
	rs->corr = malloc((rs->ncorr + 1) * sizeof(*rs->corr));
	if (!rs->corr)
		return YM_E_NOMEM;
	k = 0;
	for (size_t i = 0; i < rs->n; i++) {
		struct rule *r = rs->rules[i];
		struct correl *c = r->correl;
		if (r->kind != RK_CORRELATION)
			continue;
		c->slot = (uint32_t)k;
		rs->corr[k++] = (uint32_t)i;
		for (uint32_t j = 0; j < c->nrefs; j++) {
			long t = resolve(rs, c->ref_names[j]);
			if (t < 0)
				return YM_E_INTERNAL; /* resolved before compaction */
			c->refs[j] = (uint32_t)t;
		}
	}
	qsort_r(rs->corr, rs->ncorr, sizeof(*rs->corr), cmp_level, rs);
	/* A rule referenced only by correlations that do not 'generate' it is quiet. */
	for (uint32_t i = 0; i < rs->ncorr; i++) {
		const struct correl *c = rs->rules[rs->corr[i]]->correl;
		for (uint32_t j = 0; j < c->nrefs; j++) {
			struct rule *t = rs->rules[c->refs[j]];
			if (!c->generate && t->quiet != 2)
				t->quiet = 1;
		}
	}
	for (uint32_t i = 0; i < rs->ncorr; i++) {
		const struct correl *c = rs->rules[rs->corr[i]]->correl;
		for (uint32_t j = 0; j < c->nrefs && c->generate; j++)
			rs->rules[c->refs[j]]->quiet = 2; /* generated: reported */
	}
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->rules[i]->quiet == 2)
			rs->rules[i]->quiet = 0;
	}
	rc = logsource_build(rs->rules, rs->n, &rs->ls);
	if (rc < 0 || L->no_prefilter)
		return rc;
	return prefilter_build(rs->rules, rs->n, rs->ls, &rs->pf);
}

size_t ruleset_correl_slots(const struct ruleset *rs)
{
	return rs ? rs->ncorr : 0;
}

static int ruleset_new(struct ruleset **out)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));
	int rc = YM_E_NOMEM;

	if (!rs)
		goto out;
	rs->re_errors = malloc(sizeof(*rs->re_errors));
	rs->mctx = pcre2_match_context_create(NULL);
	if (!rs->re_errors || !rs->mctx)
		goto out;
	atomic_init(rs->re_errors, 0);
	/* Bounds catastrophic patterns: a match that hits a limit counts as no match. */
	pcre2_set_match_limit(rs->mctx, DETECT_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, DETECT_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(rs->mctx, DETECT_RE_HEAP_LIMIT_KIB);
	*out = rs;
	rs = NULL;
	rc = 0;
out:
	ruleset_free(rs);
	return rc;
}

/* Runs a load (paths, or one memory buffer when buf != NULL) into a new ruleset. */
static int load(const char *const *paths, size_t npaths, const char *buf, size_t len,
		const char *name, const struct detect_options *opt, struct ruleset **out,
		struct detect_load_stats *stats, detect_diag_fn diag, void *ctx)
{
	struct loader L = {.diag = diag,
			   .ctx = ctx,
			   .ph = opt ? opt->placeholders : NULL,
			   .no_prefilter = opt ? opt->no_prefilter : 0};
	int rc;

	arena_init(&L.tree, TREE_ARENA_CAP);
	rc = ruleset_new(&L.rs);
	if (rc < 0)
		goto out;
	if (buf) {
		L.file = name ? name : "(memory)";
		rc = load_buf(&L, buf, len);
	} else {
		for (size_t i = 0; i < npaths && rc == 0; i++)
			rc = load_path(&L, paths[i], 0, 1);
	}
	if (rc == 0)
		rc = finalize(&L);
	if (rc < 0)
		goto out;
	if (stats)
		*stats = L.st;
	*out = L.rs;
	L.rs = NULL;
out:
	arena_free(&L.tree);
	ruleset_free(L.rs);
	return rc;
}

int ruleset_load_opts(const char *const *paths, size_t npaths, const struct detect_options *opt,
		      struct ruleset **out, struct detect_load_stats *stats, detect_diag_fn diag,
		      void *ctx)
{
	if (!paths && npaths)
		return YM_E_INVAL;
	return load(paths, npaths, NULL, 0, NULL, opt, out, stats, diag, ctx);
}

int ruleset_load_mem_opts(const char *yaml, size_t len, const char *name,
			  const struct detect_options *opt, struct ruleset **out,
			  struct detect_load_stats *stats, detect_diag_fn diag, void *ctx)
{
	if (!yaml)
		yaml = "";
	return load(NULL, 0, yaml, len, name, opt, out, stats, diag, ctx);
}

int ruleset_load(const char *const *paths, size_t npaths, struct ruleset **out,
		 struct detect_load_stats *stats, detect_diag_fn diag, void *ctx)
{
	return ruleset_load_opts(paths, npaths, NULL, out, stats, diag, ctx);
}

int ruleset_load_mem(const char *yaml, size_t len, const char *name, struct ruleset **out,
		     struct detect_load_stats *stats, detect_diag_fn diag, void *ctx)
{
	return ruleset_load_mem_opts(yaml, len, name, NULL, out, stats, diag, ctx);
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	logsource_free(rs->ls);
	prefilter_free(rs->pf);
	free(rs->corr);
	free(rs->filter_refs);
	pcre2_match_context_free(rs->mctx);
	free(rs->re_errors);
	free(rs);
}

size_t ruleset_count(const struct ruleset *rs)
{
	return rs ? rs->n : 0;
}

const struct rule_info *ruleset_rule(const struct ruleset *rs, size_t i)
{
	return (rs && i < rs->n) ? &rs->rules[i]->info : NULL;
}

unsigned long ruleset_match_errors(const struct ruleset *rs)
{
	return rs ? atomic_load(rs->re_errors) : 0;
}

struct match_run {
	const struct ruleset *rs;
	const struct event *ev;
	struct match_env env;
	struct correl_state *st;
	detect_match_fn cb;
	void *ctx;
	int matches, any, stop;
};

static int on_rule(uint32_t ri, void *p)
{
	struct match_run *m = p;
	const struct rule *r = m->rs->rules[ri];
	struct pf_memo_key k;
	int res = m->env.pt ? prefilter_memo_get(m->rs->pf, m->env.pt, m->ev, ri, &k) : -2;

	if (res < 0) {
		unsigned long re_errors = m->env.re_errors;
		int v = rule_eval(r, m->ev, &m->env);
		/* a result cut short by a regex error is not remembered: the
		 * next event with these values counts its own error */
		if (res == -1 && m->env.re_errors == re_errors)
			prefilter_memo_put(m->env.pt, &k, v);
		res = v;
	}
	if (!res)
		return 0;
	if (m->st) {
		correl_state_mark(m->st, ri);
		m->any = 1;
	}
	if (r->quiet)
		return 0;
	m->matches++;
	if (m->cb && m->cb(&r->info, m->ev, m->ctx)) {
		m->stop = 1;
		return 1;
	}
	return 0;
}

/* Marks in t->cand every rule ruleset_match must evaluate for ev: the
 * prefilter's hits and the always-candidates of the buckets ev is routed to,
 * or every rule of those buckets when the scan could not run. Rules outside
 * those buckets may stay marked: the caller checks t->stamp. */
static void mark_candidates(const struct ruleset *rs, struct pf_thread *t, const struct event *ev)
{
	uint32_t bk[LS_MAX_ROUTE], nb = logsource_route_cached(rs->ls, t->lscache, ev, bk);
	int full = prefilter_scan(rs->pf, t, ev, bk, nb) < 0; /* starts the epoch */

	for (uint32_t i = 0; i < nb; i++) {
		uint32_t n;
		const uint32_t *r = full ? logsource_bucket_rules(rs->ls, bk[i], &n)
					 : prefilter_always(rs->pf, bk[i], &n);
		t->stamp[bk[i]] = t->epoch;
		for (uint32_t k = 0; k < n; k++)
			pf_cand_set(t, r[k]);
	}
}

/* Calls fn for each candidate rule of ev in ascending index order (load
 * order), until it returns non-zero. Returns 0, or -1 when there is no
 * prefilter to use (the caller then walks every routed rule). */
static int match_candidates(const struct ruleset *rs, const struct event *ev, struct match_env *env,
			    int (*fn)(uint32_t ri, void *ctx), void *ctx)
{
	struct pf_thread *t = prefilter_enter(rs->pf);
	size_t nw = (rs->n + 63) / 64;

	if (!t)
		return -1;
	mark_candidates(rs, t, ev);
	if (env)
		env->pt = t; /* rules read fields from the event's slots */
	/* the touched words of t->cand, in ascending order */
	for (size_t i = 0; i < (nw + 63) / 64; i++) {
		uint64_t ws = t->candw[i];
		while (ws) {
			size_t w = i * 64 + (size_t)__builtin_ctzll(ws);
			uint64_t x = t->cand[w];
			ws &= ws - 1;
			while (x) {
				uint32_t ri = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
				uint32_t b = logsource_bucket_of(rs->ls, ri);
				x &= x - 1;
				if (b != UINT32_MAX && t->stamp[b] == t->epoch && fn(ri, ctx))
					goto out;
			}
		}
	}
out:
	if (env)
		env->pt = NULL;
	prefilter_leave(t);
	return 0;
}

struct cand_fill {
	unsigned char *cand;
	long n;
};

static int on_cand(uint32_t ri, void *p)
{
	struct cand_fill *f = p;

	f->cand[ri] = 1;
	f->n++;
	return 0;
}

long ruleset_candidates(const struct ruleset *rs, const struct event *ev, unsigned char *cand,
			size_t ncand)
{
	struct cand_fill f = {cand, 0};

	if (!rs || !ev || !cand || ncand < rs->n)
		return YM_E_INVAL;
	memset(cand, 0, rs->n);
	if (match_candidates(rs, ev, NULL, on_cand, &f) < 0)
		logsource_each(rs->ls, ev, on_cand, &f);
	return f.n;
}

size_t ruleset_always_candidates(const struct ruleset *rs)
{
	return rs ? prefilter_count_always(rs->pf) : 0;
}

/* Feeds the rules the event matched into the correlations, lowest level
 * first, so a correlation that fires feeds the ones above it. Within one
 * correlation the referenced rules are fed last to first, so one event never
 * completes two steps of a temporal_ordered chain. */
static void run_correl(struct match_run *m)
{
	const struct ruleset *rs = m->rs;

	for (uint32_t k = 0; k < rs->ncorr && !m->stop; k++) {
		const struct rule *r = rs->rules[rs->corr[k]];
		const struct correl *c = r->correl;
		int fired = 0;
		for (uint32_t j = c->nrefs; j-- > 0;) {
			if (correl_state_marked(m->st, c->refs[j]))
				fired |= correl_feed(m->st, c->slot, c, j, m->ev);
		}
		if (!fired)
			continue;
		correl_state_mark(m->st, rs->corr[k]);
		if (r->quiet)
			continue;
		m->matches++;
		if (m->cb && m->cb(&r->info, m->ev, m->ctx))
			m->stop = 1;
	}
}

int ruleset_match_correl(const struct ruleset *rs, struct correl_state *st,
			 const struct event *ev, detect_match_fn on_match, void *ctx)
{
	struct match_run m = {.rs = rs, .ev = ev, .cb = on_match, .ctx = ctx};

	if (!rs || !ev)
		return 0;
	m.env.mctx = rs->mctx;
	m.env.ev = ev;
	if (st && rs->ncorr) {
		m.st = st;
		correl_state_epoch(st);
	}
	if (match_candidates(rs, ev, &m.env, on_rule, &m) < 0)
		logsource_each(rs->ls, ev, on_rule, &m);
	if (m.st && m.any && !m.stop)
		run_correl(&m);
	if (m.env.re_errors)
		atomic_fetch_add(rs->re_errors, m.env.re_errors);
	return m.matches;
}

int ruleset_match(const struct ruleset *rs, const struct event *ev, detect_match_fn on_match,
		  void *ctx)
{
	return ruleset_match_correl(rs, NULL, ev, on_match, ctx);
}
