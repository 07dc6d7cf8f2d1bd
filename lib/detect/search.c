/* search: compiles one search identifier of a rule's detection section and
 * evaluates it against an event.
 *
 * A search is an OR of alternatives; an alternative is an AND of items; an
 * item is one field (or, for keywords, any field) with its values and
 * modifiers. A map is one alternative, a list of maps is several, and a list
 * of plain values is one keyword item. */
#include "detect_int.h"

#include "err.h"
#include "event.h"

#include <stdio.h>
#include <string.h>

struct mods {
	enum pat_wrap wrap;
	const char *wrap_name;
	int all, cased, exists, re, unsupported, nmods;
	uint32_t re_opts;
};

/* Parses "Field|mod|mod" (key k) into *field (arena copy, NULL for a
 * keyword key "|mod") and m. */
static int parse_key(struct rule_build *b, const struct ynode *k, const char **field,
		     struct mods *m)
{
	const char *s = k->str, *bar;
	size_t n = k->len, flen;
	char q[80];

	memset(m, 0, sizeof(*m));
	if (memchr(s, 0, n))
		return rule_error(b, k->line, YM_E_PARSE, "field name contains a NUL byte");
	bar = memchr(s, '|', n);
	flen = bar ? (size_t)(bar - s) : n;
	*field = NULL;
	if (flen > 0) {
		*field = arena_strndup(b->a, s, flen);
		if (!*field)
			return rule_error(b, k->line, b->a->err, "out of memory for the rule");
	}
	while (bar) {
		const char *name = bar + 1, *end = s + n;
		const struct modifier *mod;
		size_t mlen;

		bar = memchr(name, '|', (size_t)(end - name));
		mlen = bar ? (size_t)(bar - name) : (size_t)(end - name);
		if (mlen == 0)
			return rule_error(b, k->line, YM_E_PARSE, "empty modifier in '%s'",
					  rule_quote(s, n, q, sizeof(q)));
		mod = modifier_lookup(name, mlen);
		if (!mod)
			return rule_error(b, k->line, YM_E_PARSE, "unknown modifier '%s'",
					  rule_quote(name, mlen, q, sizeof(q)));
		m->nmods++;
		switch (mod->id) {
		case MOD_CONTAINS:
		case MOD_STARTSWITH:
		case MOD_ENDSWITH:
			if (m->wrap != PAT_WRAP_NONE || m->re)
				return rule_error(b, k->line, YM_E_PARSE,
						  "modifier '%s' cannot be combined with '%s'",
						  mod->name, m->re ? "re" : m->wrap_name);
			m->wrap = mod->id == MOD_CONTAINS     ? PAT_WRAP_CONTAINS
				  : mod->id == MOD_STARTSWITH ? PAT_WRAP_STARTSWITH
							      : PAT_WRAP_ENDSWITH;
			m->wrap_name = mod->name;
			break;
		case MOD_ALL:
			m->all = 1;
			break;
		case MOD_CASED:
			m->cased = 1;
			break;
		case MOD_EXISTS:
			m->exists = 1;
			break;
		case MOD_RE:
			if (m->wrap != PAT_WRAP_NONE)
				return rule_error(b, k->line, YM_E_PARSE,
						  "modifier 're' cannot be combined with '%s'",
						  m->wrap_name);
			m->re = 1;
			break;
		case MOD_RE_I:
		case MOD_RE_M:
		case MOD_RE_S:
			if (!m->re)
				return rule_error(b, k->line, YM_E_PARSE,
						  "modifier '%s' is only valid after 're'",
						  mod->name);
			m->re_opts |= mod->id == MOD_RE_I   ? PCRE2_CASELESS
				      : mod->id == MOD_RE_M ? PCRE2_MULTILINE
							    : PCRE2_DOTALL;
			break;
		case MOD_UNSUPPORTED:
			rule_unsupported(b, k->line, "%s", mod->unsupported);
			m->unsupported = 1;
			break;
		}
	}
	if (m->exists && m->nmods > 1)
		return rule_error(b, k->line, YM_E_PARSE,
				  "modifier 'exists' cannot be combined with other modifiers");
	return 0;
}

static int compile_value(struct rule_build *b, const struct mods *m, int keyword,
			 const struct ynode *v, struct pattern *p)
{
	char msg[160];
	int r;

	if (memchr(v->str, 0, v->len))
		return rule_error(b, v->line, YM_E_PARSE, "value contains a NUL byte");
	if (m->re) {
		r = pattern_regex(p, v->str, v->len, m->re_opts, msg, sizeof(msg));
		if (r == YM_E_NOMEM)
			return rule_error(b, v->line, r, "out of memory for the rule");
		if (r < 0)
			return rule_error(b, v->line, r, "%s", msg);
		rule_keep_regex(b, p);
		return 0;
	}
	r = pattern_glob(p, b->a, v->str, v->len,
			 (keyword && m->wrap == PAT_WRAP_NONE) ? PAT_WRAP_CONTAINS : m->wrap,
			 m->cased);
	if (r < 0)
		return rule_error(b, v->line, r, "rule needs more than %u bytes of memory",
				  DETECT_MAX_RULE_MEM);
	return 0;
}

/* Compiles the values of one item: a scalar or a list of scalars. */
static int compile_values(struct rule_build *b, struct item *it, const struct mods *m,
			  const struct ynode *val, const char *what)
{
	const struct ynode *v;
	size_t n = 0;
	int r;

	if (val->kind == YN_MAP)
		return rule_error(b, val->line, YM_E_PARSE,
				  "value of %s must be a string, number or list, not a map", what);
	if (val->kind == YN_SEQ) {
		if (val->n == 0)
			return rule_error(b, val->line, YM_E_PARSE, "empty list of values for %s",
					  what);
		if (val->n > DETECT_MAX_VALUES)
			return rule_error(b, val->line, YM_E_TOOBIG, "more than %u values for %s",
					  DETECT_MAX_VALUES, what);
		for (v = val->first; v; v = v->next) {
			if (v->kind != YN_SCALAR)
				return rule_error(b, v->line, YM_E_PARSE,
						  "values of %s must be strings or numbers", what);
			if (yamltree_is_null(v))
				return rule_error(b, v->line, YM_E_PARSE,
						  "null cannot be part of a list of values");
		}
	}
	it->pats = arena_alloc(b->a, (val->kind == YN_SEQ ? val->n : 1) * sizeof(*it->pats));
	if (!it->pats)
		return rule_error(b, val->line, b->a->err,
				  "rule needs more than %u bytes of memory", DETECT_MAX_RULE_MEM);
	for (v = val->kind == YN_SEQ ? val->first : val; v;
	     v = val->kind == YN_SEQ ? v->next : NULL) {
		r = compile_value(b, m, it->field == NULL, v, &it->pats[n]);
		if (r < 0)
			return r;
		n++;
	}
	it->npat = (uint32_t)n;
	it->all = (uint8_t)m->all;
	it->kind = ITEM_VALUES;
	return 0;
}

static int compile_item(struct rule_build *b, const struct ynode *k, const struct ynode *val,
			struct item *it)
{
	struct mods m;
	char q[80], what[100];
	int r;

	r = parse_key(b, k, &it->field, &m);
	if (r < 0 || m.unsupported)
		return r;
	if (it->field)
		snprintf(what, sizeof(what), "field '%s'",
			 rule_quote(it->field, strlen(it->field), q, sizeof(q)));
	else
		snprintf(what, sizeof(what), "keywords");
	if (m.exists) {
		if (!it->field)
			return rule_error(b, k->line, YM_E_PARSE, "'exists' needs a field name");
		if (val->kind != YN_SCALAR || !val->plain ||
		    (strcmp(val->str, "true") && strcmp(val->str, "false")))
			return rule_error(b, val->line, YM_E_PARSE,
					  "'exists' takes true or false, for %s", what);
		it->kind = ITEM_EXISTS;
		it->want = strcmp(val->str, "true") == 0;
		return 0;
	}
	if (yamltree_is_null(val)) {
		if (!it->field)
			return rule_error(b, val->line, YM_E_PARSE, "keywords cannot be null");
		if (m.nmods)
			return rule_error(b, val->line, YM_E_PARSE,
					  "null cannot take modifiers, for %s", what);
		it->kind = ITEM_NULL;
		return 0;
	}
	return compile_values(b, it, &m, val, what);
}

static int compile_map(struct rule_build *b, const struct ynode *map, struct alt *alt)
{
	size_t npairs = map->n / 2, i = 0;
	int r;

	if (npairs == 0)
		return rule_error(b, map->line, YM_E_PARSE, "empty map in search identifier");
	if (npairs > DETECT_MAX_ITEMS)
		return rule_error(b, map->line, YM_E_TOOBIG, "more than %u fields in one map",
				  DETECT_MAX_ITEMS);
	alt->items = arena_alloc(b->a, npairs * sizeof(*alt->items));
	if (!alt->items)
		return rule_error(b, map->line, b->a->err,
				  "rule needs more than %u bytes of memory", DETECT_MAX_RULE_MEM);
	for (const struct ynode *k = map->first; k && k->next; k = k->next->next) {
		if (k->kind != YN_SCALAR)
			return rule_error(b, k->line, YM_E_PARSE, "field key must be a string");
		for (const struct ynode *o = map->first; o != k; o = o->next->next) {
			if (o->len == k->len && memcmp(o->str, k->str, k->len) == 0) {
				char q[80];
				return rule_error(b, k->line, YM_E_PARSE, "duplicate key '%s'",
						  rule_quote(k->str, k->len, q, sizeof(q)));
			}
		}
		r = compile_item(b, k, k->next, &alt->items[i++]);
		if (r < 0)
			return r;
	}
	alt->nitems = (uint32_t)i;
	return 0;
}

int search_compile(struct rule_build *b, struct search *s, const char *name, int line,
		   const struct ynode *node)
{
	static const struct mods plain_mods;
	const struct ynode *v;
	size_t nalts = 0, nkw = 0, nk = 0;
	char q[80];
	struct item *kw = NULL;
	int r;

	s->name = name;
	s->line = line;
	if (!node || yamltree_is_null(node))
		return rule_error(b, line, YM_E_PARSE, "search identifier '%s' is empty",
				  rule_quote(name, strlen(name), q, sizeof(q)));
	if (node->kind == YN_MAP || node->kind == YN_SCALAR) {
		s->alts = arena_alloc(b->a, sizeof(*s->alts));
		if (!s->alts)
			return rule_error(b, line, b->a->err, "out of memory for the rule");
		s->nalts = 1;
		if (node->kind == YN_MAP)
			return compile_map(b, node, &s->alts[0]);
		/* A single keyword. */
		s->alts[0].items = arena_alloc(b->a, sizeof(struct item));
		if (!s->alts[0].items)
			return rule_error(b, line, b->a->err, "out of memory for the rule");
		s->alts[0].nitems = 1;
		return compile_values(b, s->alts[0].items, &plain_mods, node, "keywords");
	}
	if (node->n == 0)
		return rule_error(b, node->line, YM_E_PARSE,
				  "search identifier '%s' is an empty list",
				  rule_quote(name, strlen(name), q, sizeof(q)));
	for (v = node->first; v; v = v->next) {
		if (v->kind == YN_SEQ)
			return rule_error(b, v->line, YM_E_PARSE, "nested lists are not allowed");
		if (v->kind == YN_MAP)
			nalts++;
		else if (yamltree_is_null(v))
			return rule_error(b, v->line, YM_E_PARSE, "keywords cannot be null");
		else
			nkw++;
	}
	if (nalts > DETECT_MAX_ALTS)
		return rule_error(b, node->line, YM_E_TOOBIG, "more than %u maps in one list",
				  DETECT_MAX_ALTS);
	if (nkw > DETECT_MAX_VALUES)
		return rule_error(b, node->line, YM_E_TOOBIG, "more than %u keywords in one list",
				  DETECT_MAX_VALUES);
	s->alts = arena_alloc(b->a, (nalts + (nkw ? 1 : 0)) * sizeof(*s->alts));
	if (!s->alts)
		return rule_error(b, line, b->a->err, "rule needs more than %u bytes of memory",
				  DETECT_MAX_RULE_MEM);
	if (nkw) {
		/* All plain values of the list form one keyword item (an OR). */
		kw = arena_alloc(b->a, sizeof(*kw));
		if (kw)
			kw->pats = arena_alloc(b->a, nkw * sizeof(*kw->pats));
		if (!kw || !kw->pats)
			return rule_error(b, line, b->a->err,
					  "rule needs more than %u bytes of memory",
					  DETECT_MAX_RULE_MEM);
		kw->kind = ITEM_VALUES;
	}
	for (v = node->first; v; v = v->next) {
		if (v->kind == YN_MAP) {
			r = compile_map(b, v, &s->alts[s->nalts++]);
		} else {
			r = compile_value(b, &plain_mods, 1, v, &kw->pats[nk]);
			nk++;
		}
		if (r < 0)
			return r;
	}
	if (kw) {
		kw->npat = (uint32_t)nk;
		s->alts[s->nalts].items = kw;
		s->alts[s->nalts].nitems = 1;
		s->nalts++;
	}
	return 0;
}

static int keyword_eval(const struct pattern *p, const struct event *ev, struct match_env *env)
{
	for (uint16_t f = 0; f < ev->nfields && f < EVENT_MAX_FIELDS; f++) {
		const struct event_field *ef = &ev->fields[f];
		if (ef->value && pattern_match(p, ef->value, ef->value_len, env))
			return 1;
	}
	return 0;
}

static int item_eval(const struct item *it, const struct event *ev, struct match_env *env)
{
	const char *v = NULL;
	size_t len = 0;

	if (it->field)
		v = event_get_ci(ev, it->field, &len);
	switch (it->kind) {
	case ITEM_EXISTS:
		return (v != NULL) == it->want;
	case ITEM_NULL:
		return v == NULL || len == 0;
	default:
		break;
	}
	if (it->field && !v)
		return 0;
	for (uint32_t i = 0; i < it->npat; i++) {
		int m = it->field ? pattern_match(&it->pats[i], v, len, env)
				  : keyword_eval(&it->pats[i], ev, env);
		if (m && !it->all)
			return 1;
		if (!m && it->all)
			return 0;
	}
	return it->all;
}

int search_eval(const struct search *s, const struct event *ev, struct match_env *env)
{
	for (uint32_t a = 0; a < s->nalts; a++) {
		const struct alt *alt = &s->alts[a];
		uint32_t i;
		for (i = 0; i < alt->nitems; i++) {
			if (!item_eval(&alt->items[i], ev, env))
				break;
		}
		if (i == alt->nitems)
			return 1;
	}
	return 0;
}
