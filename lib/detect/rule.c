/* rule: one YAML document -> one compiled struct rule.
 *
 * Checks what the Sigma specification requires of a rule (title, logsource,
 * detection with a condition), copies the metadata, compiles each search
 * identifier (search.c) and then the condition (cond.c), which resolves
 * identifiers against the compiled searches. The first error stops the
 * compile; an unsupported feature is noted and compiling goes on, so a rule
 * that is both broken and unsupported is reported as broken. */
#include "detect_int.h"

#include "err.h"
#include "event.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rule_quote(const char *s, size_t n, char *out, size_t outsz)
{
	return log_escape(s, n, out, outsz);
}

int rule_error(struct rule_build *b, int line, int code, const char *fmt, ...)
{
	va_list ap;

	if (b->err)
		return b->err;
	b->err = code < 0 ? code : YM_E_PARSE;
	b->err_line = line;
	va_start(ap, fmt);
	vsnprintf(b->err_reason, sizeof(b->err_reason), fmt, ap);
	va_end(ap);
	return b->err;
}

int rule_unsupported(struct rule_build *b, int line, const char *fmt, ...)
{
	va_list ap;

	if (b->unsupported)
		return 0;
	b->unsupported = 1;
	b->unsup_line = line;
	va_start(ap, fmt);
	vsnprintf(b->unsup_reason, sizeof(b->unsup_reason), fmt, ap);
	va_end(ap);
	return 0;
}

void rule_keep_regex(struct rule_build *b, struct pattern *p)
{
	p->next_re = b->rule->regexes;
	b->rule->regexes = p;
}

int rule_meta_str(struct rule_build *b, const struct ynode *m, const char *key, int required,
		    const char **out)
{
	const struct ynode *v = yamltree_get(m, key);

	*out = "";
	if (!v || yamltree_is_null(v)) {
		if (required)
			return rule_error(b, m->line, YM_E_PARSE, "rule has no '%s'", key);
		return 0;
	}
	if (v->kind != YN_SCALAR)
		return rule_error(b, v->line, YM_E_PARSE, "'%s' must be a string", key);
	*out = arena_strndup(b->a, v->str, v->len);
	if (!*out)
		return rule_error(b, v->line, b->a->err, "out of memory for the rule");
	return 0;
}

static int check_dup_keys(struct rule_build *b, const struct ynode *m, const char *what)
{
	char q[80];

	for (const struct ynode *k = m->first; k && k->next; k = k->next->next) {
		if (k->kind != YN_SCALAR)
			return rule_error(b, k->line, YM_E_PARSE, "%s keys must be strings", what);
		for (const struct ynode *o = m->first; o != k; o = o->next->next) {
			if (o->len == k->len && memcmp(o->str, k->str, k->len) == 0)
				return rule_error(b, k->line, YM_E_PARSE,
						  "duplicate key '%s' in %s",
						  rule_quote(k->str, k->len, q, sizeof(q)), what);
		}
	}
	return 0;
}

/* Lowercased arena copy of s, for the routing index. */
static const char *lc_dup(struct rule_build *b, const char *s)
{
	size_t n = strlen(s);
	char *d = arena_strndup(b->a, s, n);

	for (size_t i = 0; d && i < n; i++) {
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] | 0x20);
	}
	return d;
}

static int compile_meta(struct rule_build *b, const struct ynode *root, const char *file,
			int need_logsource)
{
	static const char *const no_tags[1] = {NULL};
	static const char *const levels[] = {"informational", "low", "medium", "high", "critical"};
	struct rule_info *ri = &b->rule->info;
	const struct ynode *ls, *tags;
	const char **tv;
	size_t i;
	char q[80];
	int r;

	if ((r = rule_meta_str(b, root, "title", 1, &ri->title)) < 0 ||
	    (r = rule_meta_str(b, root, "id", 0, &ri->id)) < 0 ||
	    (r = rule_meta_str(b, root, "status", 0, &ri->status)) < 0 ||
	    (r = rule_meta_str(b, root, "description", 0, &ri->description)) < 0 ||
	    (r = rule_meta_str(b, root, "level", 0, &ri->level)) < 0 ||
	    (r = rule_meta_str(b, root, "name", 0, &ri->name)) < 0)
		return r;
	if (ri->level[0]) {
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (strcmp(ri->level, levels[i]) == 0)
				break;
		}
		if (i == sizeof(levels) / sizeof(levels[0]))
			return rule_error(b, yamltree_key(root, "level")->line, YM_E_PARSE,
					  "level '%s' is not informational, low, medium, high or "
					  "critical",
					  rule_quote(ri->level, strlen(ri->level), q, sizeof(q)));
	}
	ri->file = arena_strndup(b->a, file, strlen(file));
	if (!ri->file)
		return rule_error(b, root->line, b->a->err, "out of memory for the rule");

	ls = yamltree_get(root, "logsource");
	ri->product = ri->category = ri->service = "";
	if (!ls && need_logsource)
		return rule_error(b, root->line, YM_E_PARSE, "rule has no 'logsource'");
	if (ls && ls->kind != YN_MAP)
		return rule_error(b, ls->line, YM_E_PARSE, "'logsource' must be a map");
	if (ls && ((r = rule_meta_str(b, ls, "product", 0, &ri->product)) < 0 ||
		   (r = rule_meta_str(b, ls, "category", 0, &ri->category)) < 0 ||
		   (r = rule_meta_str(b, ls, "service", 0, &ri->service)) < 0))
		return r;
	b->rule->lc_product = lc_dup(b, ri->product);
	b->rule->lc_category = lc_dup(b, ri->category);
	b->rule->lc_service = lc_dup(b, ri->service);
	if (!b->rule->lc_product || !b->rule->lc_category || !b->rule->lc_service)
		return rule_error(b, root->line, b->a->err, "out of memory for the rule");

	ri->tags = no_tags;
	ri->ntags = 0;
	tags = yamltree_get(root, "tags");
	if (tags && !yamltree_is_null(tags)) {
		if (tags->kind != YN_SEQ)
			return rule_error(b, tags->line, YM_E_PARSE, "'tags' must be a list");
		if (tags->n > DETECT_MAX_TAGS)
			return rule_error(b, tags->line, YM_E_TOOBIG, "more than %u tags",
					  DETECT_MAX_TAGS);
		tv = arena_alloc(b->a, (tags->n + 1) * sizeof(*tv));
		if (!tv)
			return rule_error(b, tags->line, b->a->err, "out of memory for the rule");
		i = 0;
		for (const struct ynode *t = tags->first; t; t = t->next) {
			if (t->kind != YN_SCALAR)
				return rule_error(b, t->line, YM_E_PARSE, "tags must be strings");
			tv[i] = arena_strndup(b->a, t->str, t->len);
			if (!tv[i++])
				return rule_error(b, t->line, b->a->err,
						  "out of memory for the rule");
		}
		ri->tags = tv;
		ri->ntags = i;
	}
	return 0;
}

/* Compiles a detection map (or a filter's 'filter' map, whose 'rules' key is
 * not a search identifier). */
static int compile_detection(struct rule_build *b, int det_line, const struct ynode *det,
			     int filter)
{
	struct rule *rule = b->rule;
	const struct ynode *cond = NULL, *k;
	struct cond **parts = NULL;
	size_t nsearch = 0, nparts, i;
	int r;

	if (det->kind != YN_MAP)
		return rule_error(b, det->line, YM_E_PARSE, "'detection' must be a map");
	if ((r = check_dup_keys(b, det, "detection")) < 0)
		return r;
	for (k = det->first; k && k->next; k = k->next->next) {
		if (strcmp(k->str, "condition") == 0)
			cond = k->next;
		else if (filter && strcmp(k->str, "rules") == 0)
			continue;
		else if (strcmp(k->str, "timeframe") == 0)
			rule_unsupported(b, k->line,
					 "'timeframe' (aggregation over time) is not supported");
		else
			nsearch++;
	}
	if (!cond || yamltree_is_null(cond))
		return rule_error(b, det_line, YM_E_PARSE, "detection has no condition");
	if (nsearch == 0)
		return rule_error(b, det_line, YM_E_PARSE, "detection has no search identifier");
	if (nsearch > DETECT_MAX_SEARCHES)
		return rule_error(b, det->line, YM_E_TOOBIG, "more than %u search identifiers",
				  DETECT_MAX_SEARCHES);
	rule->searches = arena_alloc(b->a, nsearch * sizeof(*rule->searches));
	if (!rule->searches)
		return rule_error(b, det->line, b->a->err, "out of memory for the rule");
	for (k = det->first; k && k->next; k = k->next->next) {
		const char *name;
		if (strcmp(k->str, "condition") == 0 || strcmp(k->str, "timeframe") == 0 ||
		    (filter && strcmp(k->str, "rules") == 0))
			continue;
		name = arena_strndup(b->a, k->str, k->len);
		if (!name)
			return rule_error(b, k->line, b->a->err, "out of memory for the rule");
		r = search_compile(b, &rule->searches[rule->nsearches], name, k->line, k->next);
		rule->nsearches++;
		if (r < 0)
			return r;
	}

	/* A list of conditions is their OR. */
	if (cond->kind == YN_MAP)
		return rule_error(b, cond->line, YM_E_PARSE,
				  "condition must be a string or a list");
	nparts = cond->kind == YN_SEQ ? cond->n : 1;
	if (nparts == 0 || nparts > DETECT_MAX_COND_NODES)
		return rule_error(b, cond->line, YM_E_PARSE, "condition list is empty or too long");
	parts = arena_alloc(b->a, nparts * sizeof(*parts));
	if (!parts)
		return rule_error(b, cond->line, b->a->err, "out of memory for the rule");
	i = 0;
	for (k = cond->kind == YN_SEQ ? cond->first : cond; k;
	     k = cond->kind == YN_SEQ ? k->next : NULL) {
		if (k->kind != YN_SCALAR)
			return rule_error(b, k->line, YM_E_PARSE, "condition must be a string");
		r = cond_parse(b, k->str, k->len, k->line, &parts[i++]);
		if (r < 0)
			return r;
	}
	if (nparts == 1) {
		rule->cond = parts[0];
		return 0;
	}
	rule->cond = arena_alloc(b->a, sizeof(*rule->cond));
	if (!rule->cond)
		return rule_error(b, cond->line, b->a->err, "out of memory for the rule");
	rule->cond->op = C_OR;
	rule->cond->n = (uint32_t)nparts;
	rule->cond->kids = parts;
	return 0;
}

/* The 'rules' list of a filter: ids or names of the rules it applies to. */
static int compile_filter_refs(struct rule_build *b, const struct ynode *f)
{
	const struct ynode *rl = yamltree_get(f, "rules");
	struct rule *r = b->rule;
	size_t i = 0;

	if (!rl || yamltree_is_null(rl))
		return rule_error(b, f->line, YM_E_PARSE, "filter has no 'rules'");
	if (rl->kind == YN_SCALAR) {
		r->frefs = arena_alloc(b->a, sizeof(*r->frefs));
		if (!r->frefs || !(r->frefs[0] = arena_strndup(b->a, rl->str, rl->len)))
			return rule_error(b, rl->line, b->a->err, "out of memory for the rule");
		r->nfrefs = 1;
		r->frefs_line = rl->line;
		return 0;
	}
	if (rl->kind != YN_SEQ || rl->n == 0)
		return rule_error(b, rl->line, YM_E_PARSE,
				  "filter 'rules' must be a non-empty list of rule ids or names");
	if (rl->n > DETECT_MAX_FILTER_REFS)
		return rule_error(b, rl->line, YM_E_TOOBIG, "filter applies to more than %u rules",
				  DETECT_MAX_FILTER_REFS);
	r->frefs = arena_alloc(b->a, rl->n * sizeof(*r->frefs));
	if (!r->frefs)
		return rule_error(b, rl->line, b->a->err, "out of memory for the rule");
	for (const struct ynode *v = rl->first; v; v = v->next) {
		if (v->kind != YN_SCALAR || yamltree_is_null(v))
			return rule_error(b, v->line, YM_E_PARSE,
					  "filter 'rules' entries must be rule ids or names");
		r->frefs[i] = arena_strndup(b->a, v->str, v->len);
		if (!r->frefs[i++])
			return rule_error(b, v->line, b->a->err, "out of memory for the rule");
	}
	r->nfrefs = (uint32_t)i;
	r->frefs_line = rl->line;
	return 0;
}

static int compile_doc(struct rule_build *b, const struct ynode *root, const char *file)
{
	const struct ynode *det, *f, *c;
	int r;

	if (!root)
		return rule_error(b, 1, YM_E_PARSE, "empty YAML document");
	if (root->kind != YN_MAP)
		return rule_error(b, root->line, YM_E_PARSE, "a rule must be a YAML map");
	if ((r = check_dup_keys(b, root, "rule")) < 0)
		return r;
	if (yamltree_key(root, "action")) {
		rule_unsupported(b, yamltree_key(root, "action")->line,
				 "rule collections ('action: global/reset/repeat', Sigma 1) are "
				 "not supported");
		return 0;
	}
	b->rule_root = root;
	c = yamltree_get(root, "correlation");
	if (c) {
		b->rule->kind = RK_CORRELATION;
		b->rule->info.type = "correlation";
		if ((r = compile_meta(b, root, file, 0)) < 0)
			return r;
		return correl_compile(b, c);
	}
	det = yamltree_get(root, "detection");
	f = yamltree_get(root, "filter");
	if (!det && f) {
		b->rule->kind = RK_FILTER;
		b->rule->info.type = "filter";
		if ((r = compile_meta(b, root, file, 1)) < 0)
			return r;
		if (f->kind != YN_MAP)
			return rule_error(b, f->line, YM_E_PARSE, "'filter' must be a map");
		if ((r = compile_filter_refs(b, f)) < 0)
			return r;
		return compile_detection(b, yamltree_key(root, "filter")->line, f, 1);
	}
	if ((r = compile_meta(b, root, file, 1)) < 0)
		return r;
	if (!det || yamltree_is_null(det))
		return rule_error(b, root->line, YM_E_PARSE, "rule has no 'detection'");
	return compile_detection(b, yamltree_key(root, "detection")->line, det, 0);
}

int rule_compile(const struct ynode *root, const char *file, const struct placeholders *ph,
		 struct rule **out, struct rule_problem *prob)
{
	struct rule_build b = {0};
	struct arena scratch;
	struct rule *r = NULL;
	int rc;

	arena_init(&scratch, DETECT_MAX_SCRATCH);
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = YM_E_NOMEM;
		goto out;
	}
	arena_init(&r->arena, DETECT_MAX_RULE_MEM);
	r->info.id = r->info.title = r->info.level = r->info.description = r->info.status =
	    r->info.product = r->info.category = r->info.service = r->info.file = r->info.name =
		"";
	r->info.type = "detection";
	b.rule = r;
	b.a = &r->arena;
	b.scratch = &scratch;
	b.ph = ph;
	r->line = root ? root->line : 1;
	compile_doc(&b, root, file);
	if (b.err == YM_E_NOMEM) {
		rc = YM_E_NOMEM;
		goto out;
	}
	if (b.err) {
		prob->line = b.err_line;
		prob->severity = YM_E_PARSE;
		util_strlcpy(prob->reason, b.err_reason, sizeof(prob->reason));
		rc = b.err == YM_E_TOOBIG ? YM_E_TOOBIG : YM_E_PARSE;
		goto out;
	}
	if (b.unsupported) {
		prob->line = b.unsup_line;
		prob->severity = YM_E_UNSUPPORTED;
		util_strlcpy(prob->reason, b.unsup_reason, sizeof(prob->reason));
		rc = YM_E_UNSUPPORTED;
		goto out;
	}
	*out = r;
	r = NULL;
	rc = 0;
out:
	arena_free(&scratch);
	rule_free(r);
	return rc;
}

void rule_free(struct rule *r)
{
	if (!r)
		return;
	for (struct pattern *p = r->regexes; p; p = p->next_re)
		pattern_free(p);
	arena_free(&r->arena);
	free(r);
}

int rule_eval(const struct rule *r, const struct event *ev, struct match_env *env)
{
	if (!cond_eval(r->cond, r->searches, ev, env))
		return 0;
	for (uint32_t i = 0; i < r->nfilters; i++) {
		const struct rule *f = r->filters[i];
		if (cond_eval(f->cond, f->searches, ev, env))
			return 0; /* a Sigma filter: "rule and not filter" */
	}
	return 1;
}
