/* ruleset: loading rule files into an immutable ruleset, the logsource
 * index, and matching.
 *
 * Index: for each event category, the rules that can see it (their category
 * is that one, or they set none), split into groups by product: group 0 holds
 * rules without a product, the others one product each. An event visits group
 * 0 merged with its product's group, in load order; rules with a service are
 * in no group, because events carry no service yet. */
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

struct pgroup {
	const char *product; /* NULL for rules without a product */
	uint32_t *idx;	     /* rule indices, ascending */
	uint32_t n;
};

struct catidx {
	struct pgroup *groups; /* groups[0]: no product */
	uint32_t ngroups;
};

struct ruleset {
	struct rule **rules;
	size_t n, alloc;
	struct catidx cats[EVCAT_MAX_];
	pcre2_match_context *mctx;
	atomic_ulong *re_errors; /* behind a pointer: counted through a const ruleset */
};

struct loader {
	struct ruleset *rs;
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
	rc = rule_compile(root, L->file, &r, &prob);
	if (rc == YM_E_NOMEM)
		return rc;
	if (rc < 0) {
		report(L, prob.line, prob.severity, prob.reason);
		return 0;
	}
	rc = add_rule(L->rs, r);
	if (rc < 0) {
		rule_free(r);
		return rc;
	}
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

static int eligible(const struct rule *r, unsigned cat)
{
	return !r->info.service[0] && (r->cat == RULE_CAT_NONE || r->cat == (int)cat);
}

static struct pgroup *find_group(struct catidx *ci, const char *product)
{
	if (!product[0])
		return &ci->groups[0];
	for (uint32_t g = 1; g < ci->ngroups; g++) {
		if (strcasecmp(ci->groups[g].product, product) == 0)
			return &ci->groups[g];
	}
	return NULL;
}

static int build_cat(struct ruleset *rs, unsigned cat)
{
	struct catidx *ci = &rs->cats[cat];
	uint32_t nprod = 0;

	/* Pass 1: an upper bound on groups; 2: distinct products and sizes; 3: fill. */
	for (size_t i = 0; i < rs->n; i++) {
		if (eligible(rs->rules[i], cat) && rs->rules[i]->info.product[0])
			nprod++;
	}
	ci->groups = calloc((size_t)nprod + 1, sizeof(*ci->groups));
	if (!ci->groups)
		return YM_E_NOMEM;
	ci->ngroups = 1;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = rs->rules[i];
		struct pgroup *g;
		if (!eligible(r, cat))
			continue;
		g = find_group(ci, r->info.product);
		if (!g) {
			g = &ci->groups[ci->ngroups++];
			g->product = r->info.product;
		}
		g->n++;
	}
	for (uint32_t g = 0; g < ci->ngroups; g++) {
		if (ci->groups[g].n == 0)
			continue;
		ci->groups[g].idx = malloc(ci->groups[g].n * sizeof(uint32_t));
		if (!ci->groups[g].idx)
			return YM_E_NOMEM;
		ci->groups[g].n = 0;
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct pgroup *g;
		if (!eligible(rs->rules[i], cat))
			continue;
		g = find_group(ci, rs->rules[i]->info.product);
		g->idx[g->n++] = (uint32_t)i;
	}
	return 0;
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
		const char *name, struct ruleset **out, struct detect_load_stats *stats,
		detect_diag_fn diag, void *ctx)
{
	struct loader L = {.diag = diag, .ctx = ctx};
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
	for (unsigned c = 0; c < EVCAT_MAX_ && rc == 0; c++)
		rc = build_cat(L.rs, c);
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

int ruleset_load(const char *const *paths, size_t npaths, struct ruleset **out,
		 struct detect_load_stats *stats, detect_diag_fn diag, void *ctx)
{
	if (!paths && npaths)
		return YM_E_INVAL;
	return load(paths, npaths, NULL, 0, NULL, out, stats, diag, ctx);
}

int ruleset_load_mem(const char *yaml, size_t len, const char *name, struct ruleset **out,
		     struct detect_load_stats *stats, detect_diag_fn diag, void *ctx)
{
	if (!yaml)
		yaml = "";
	return load(NULL, 0, yaml, len, name, out, stats, diag, ctx);
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	for (unsigned c = 0; c < EVCAT_MAX_; c++) {
		for (uint32_t g = 0; g < rs->cats[c].ngroups; g++)
			free(rs->cats[c].groups[g].idx);
		free(rs->cats[c].groups);
	}
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

int ruleset_match(const struct ruleset *rs, const struct event *ev, detect_match_fn on_match,
		  void *ctx)
{
	const struct catidx *ci;
	const struct pgroup *g0 = NULL, *g1 = NULL;
	struct match_env env;
	uint32_t i = 0, j = 0, n0, n1;
	int matches = 0;

	if (!rs || !ev)
		return 0;
	env.mctx = rs->mctx;
	env.re_errors = 0;
	ci = &rs->cats[ev->category < EVCAT_MAX_ ? ev->category : EVCAT_UNKNOWN];
	if (ci->ngroups == 0)
		return 0;
	g0 = &ci->groups[0];
	if (ev->product && ev->product[0]) {
		for (uint32_t g = 1; g < ci->ngroups; g++) {
			if (strcasecmp(ci->groups[g].product, ev->product) == 0) {
				g1 = &ci->groups[g];
				break;
			}
		}
	}
	n0 = g0->n;
	n1 = g1 ? g1->n : 0;
	/* Merge the two ascending index lists to keep load order. */
	while (i < n0 || j < n1) {
		uint32_t ri;
		const struct rule *r;
		if (j >= n1 || (i < n0 && g0->idx[i] < g1->idx[j]))
			ri = g0->idx[i++];
		else
			ri = g1->idx[j++];
		r = rs->rules[ri];
		if (!rule_eval(r, ev, &env))
			continue;
		matches++;
		if (on_match && on_match(&r->info, ev, ctx))
			break;
	}
	if (env.re_errors)
		atomic_fetch_add(rs->re_errors, env.re_errors);
	return matches;
}
