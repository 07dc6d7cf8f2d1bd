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
#include <strings.h>

enum vtype { VT_STR, VT_RE, VT_CIDR, VT_NUM, VT_FIELDREF, VT_EXISTS };

struct mods {
	enum pat_wrap wrap;
	const char *wrap_name;
	int all, cased, neq, expand, unsupported, nmods;
	enum vtype type;
	const char *type_name;
	enum num_op op;
	int have_op;
	enum time_part part;
	uint32_t re_opts;
	uint8_t ops[16]; /* transformation modifiers, in the rule's order */
	int nops;
	const char *op_name;
};

/* Sets the value type (re, cidr, numeric, fieldref, exists); two are an error. */
static int set_type(struct rule_build *b, int line, struct mods *m, enum vtype t, const char *name)
{
	if (m->type != VT_STR && m->type != t)
		return rule_error(b, line, YM_E_PARSE, "modifier '%s' cannot be combined with '%s'",
				  name, m->type_name);
	m->type = t;
	m->type_name = name;
	return 0;
}

/* Parses "Field|mod|mod" (key k) into *field (arena copy, NULL for a
 * keyword key "|mod") and m. */
static int parse_key(struct rule_build *b, const struct ynode *k, const char **field,
		     struct mods *m)
{
	const char *s = k->str, *bar;
	size_t n = k->len, flen;
	char q[80];
	int r;

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
		r = 0;
		switch (mod->id) {
		case MOD_CONTAINS:
		case MOD_STARTSWITH:
		case MOD_ENDSWITH:
			if (m->wrap != PAT_WRAP_NONE)
				return rule_error(b, k->line, YM_E_PARSE,
						  "modifier '%s' cannot be combined with '%s'",
						  mod->name, m->wrap_name);
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
		case MOD_NEQ:
			m->neq = 1;
			break;
		case MOD_EXPAND:
			m->expand = 1;
			break;
		case MOD_EXISTS:
			r = set_type(b, k->line, m, VT_EXISTS, mod->name);
			break;
		case MOD_RE:
			r = set_type(b, k->line, m, VT_RE, mod->name);
			break;
		case MOD_CIDR:
			r = set_type(b, k->line, m, VT_CIDR, mod->name);
			break;
		case MOD_FIELDREF:
			r = set_type(b, k->line, m, VT_FIELDREF, mod->name);
			break;
		case MOD_LT:
		case MOD_LTE:
		case MOD_GT:
		case MOD_GTE:
			if (m->have_op)
				return rule_error(b, k->line, YM_E_PARSE,
						  "modifier '%s' cannot be combined with '%s'",
						  mod->name, m->op_name);
			r = set_type(b, k->line, m, VT_NUM, mod->name);
			m->have_op = 1;
			m->op_name = mod->name;
			m->op = mod->id == MOD_LT    ? NUM_LT
				: mod->id == MOD_LTE ? NUM_LTE
				: mod->id == MOD_GT  ? NUM_GT
						     : NUM_GTE;
			break;
		case MOD_MINUTE:
		case MOD_HOUR:
		case MOD_DAY:
		case MOD_WEEK:
		case MOD_MONTH:
		case MOD_YEAR:
			if (m->part != TP_NONE)
				return rule_error(b, k->line, YM_E_PARSE,
						  "only one time modifier per field");
			if (m->type != VT_NUM)
				r = set_type(b, k->line, m, VT_NUM, mod->name);
			m->part = (enum time_part)(TP_MINUTE + (mod->id - MOD_MINUTE));
			break;
		case MOD_RE_I:
		case MOD_RE_M:
		case MOD_RE_S:
			if (m->type != VT_RE)
				return rule_error(b, k->line, YM_E_PARSE,
						  "modifier '%s' is only valid after 're'",
						  mod->name);
			m->re_opts |= mod->id == MOD_RE_I   ? PCRE2_CASELESS
				      : mod->id == MOD_RE_M ? PCRE2_MULTILINE
							    : PCRE2_DOTALL;
			break;
		case MOD_WINDASH:
		case MOD_BASE64:
		case MOD_BASE64OFFSET:
		case MOD_UTF16LE:
		case MOD_UTF16BE:
		case MOD_UTF16:
			if (m->nops == (int)sizeof(m->ops))
				return rule_error(b, k->line, YM_E_TOOBIG,
						  "more than %zu encoding modifiers", sizeof(m->ops));
			m->ops[m->nops++] = (uint8_t)mod->id;
			break;
		case MOD_UNSUPPORTED:
			rule_unsupported(b, k->line, "%s", mod->unsupported);
			m->unsupported = 1;
			break;
		}
		if (r < 0)
			return r;
	}
	if (m->type == VT_EXISTS && m->nmods > 1)
		return rule_error(b, k->line, YM_E_PARSE,
				  "modifier 'exists' cannot be combined with other modifiers");
	if (m->wrap != PAT_WRAP_NONE && m->type != VT_STR && m->type != VT_FIELDREF)
		return rule_error(b, k->line, YM_E_PARSE,
				  "modifier '%s' cannot be combined with '%s'", m->wrap_name,
				  m->type_name);
	if ((m->nops || m->expand) && m->type != VT_STR)
		return rule_error(b, k->line, YM_E_PARSE,
				  "encoding modifiers and 'expand' apply to strings, not to '%s'",
				  m->type_name);
	return 0;
}

/* Compiles the values nodes[0..n) of one item into it->pats. Transformations
 * run in scratch memory, emptied at the end; only patterns stay in the rule. */
static int compile_nodes(struct rule_build *b, struct item *it, const struct mods *m,
			 const struct ynode *const *nodes, size_t n)
{
	enum pat_wrap wrap = (it->field == NULL && m->wrap == PAT_WRAP_NONE) ? PAT_WRAP_CONTAINS
									     : m->wrap;
	struct value **vars = NULL;
	size_t total = 0, k = 0;
	char msg[160], q[80];
	int r = 0;

	vars = arena_alloc(b->scratch, n * sizeof(*vars));
	if (!vars) {
		r = rule_error(b, nodes[0]->line, b->scratch->err,
			       "values need more than %u bytes of memory to expand",
			       DETECT_MAX_SCRATCH);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *v = nodes[i];
		if (memchr(v->str, 0, v->len)) {
			r = rule_error(b, v->line, YM_E_PARSE, "value contains a NUL byte");
			goto out;
		}
		if (m->type != VT_STR) {
			total++;
			continue;
		}
		r = value_parse(b->scratch, v->str, v->len, b->ph, m->expand, &vars[i], q,
				sizeof(q));
		if (r == YM_E_NOTFOUND) {
			char e[80];
			rule_unsupported(b, v->line,
					 "placeholder '%%%s%%' has no configured values (modifier "
					 "'expand')",
					 rule_quote(q, strlen(q), e, sizeof(e)));
			r = 0;
			goto out; /* the rule is not loaded; nothing to compile */
		}
		for (int o = 0; r == 0 && o < m->nops; o++)
			r = value_apply(b->scratch, (enum mod_id)m->ops[o], &vars[i], msg,
					sizeof(msg));
		if (r == YM_E_PARSE || (r == YM_E_TOOBIG && !b->scratch->err)) {
			r = rule_error(b, v->line, r, "%s", msg);
			goto out;
		}
		if (r < 0) {
			r = rule_error(b, v->line, b->scratch->err ? b->scratch->err : r,
				       "values need more than %u bytes of memory to expand",
				       DETECT_MAX_SCRATCH);
			goto out;
		}
		total += value_count(vars[i]);
		if (total > DETECT_MAX_PATTERNS) {
			r = rule_error(b, v->line, YM_E_TOOBIG,
				       "values expand to more than %u patterns for one field",
				       DETECT_MAX_PATTERNS);
			goto out;
		}
	}
	it->pats = arena_alloc(b->a, total * sizeof(*it->pats));
	if (!it->pats) {
		r = rule_error(b, nodes[0]->line, b->a->err,
			       "rule needs more than %u bytes of memory", DETECT_MAX_RULE_MEM);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ynode *v = nodes[i];
		struct pattern *p = &it->pats[k];
		switch (m->type) {
		case VT_STR:
			for (struct value *w = vars[i]; w; w = w->next) {
				r = pattern_units(&it->pats[k++], b->a, w->u, w->n, wrap, m->cased);
				if (r < 0)
					break;
			}
			p = &it->pats[k - 1];
			break;
		case VT_RE:
			r = pattern_regex(p, b->a, v->str, v->len, m->re_opts, msg, sizeof(msg));
			if (r == 0)
				rule_keep_regex(b, p);
			k++;
			break;
		case VT_CIDR:
			r = pattern_cidr(p, b->a, v->str, v->len, msg, sizeof(msg));
			k++;
			break;
		case VT_NUM:
			r = pattern_num(p, b->a, v->str, v->len, m->have_op ? m->op : NUM_EQ,
					m->part, msg, sizeof(msg));
			k++;
			break;
		case VT_FIELDREF:
			r = pattern_fieldref(p, b->a, v->str, v->len, m->wrap, m->cased);
			k++;
			break;
		default:
			r = YM_E_INTERNAL;
			break;
		}
		if (r == YM_E_PARSE) {
			r = rule_error(b, v->line, r, "%s", msg);
			goto out;
		}
		if (r == YM_E_TOOBIG && m->type == VT_RE) {
			r = rule_error(b, v->line, r, "%s", msg);
			goto out;
		}
		if (r < 0) {
			r = rule_error(b, v->line, r == YM_E_NOMEM ? r : b->a->err,
				       "rule needs more than %u bytes of memory",
				       DETECT_MAX_RULE_MEM);
			goto out;
		}
		p->grp_end = 1;
	}
	it->npat = (uint32_t)k;
	it->all = (uint8_t)m->all;
	it->neg = (uint8_t)m->neq;
	it->kind = ITEM_VALUES;
out:
	arena_free(b->scratch);
	return r;
}

/* Compiles the values of one item: a scalar or a list of scalars. */
static int compile_values(struct rule_build *b, struct item *it, const struct mods *m,
			  const struct ynode *val, const char *what)
{
	const struct ynode **nodes;
	const struct ynode *v;
	size_t n = 0;

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
	nodes = arena_alloc(b->scratch, (val->kind == YN_SEQ ? val->n : 1) * sizeof(*nodes));
	if (!nodes)
		return rule_error(b, val->line, b->scratch->err, "out of memory for the rule");
	for (v = val->kind == YN_SEQ ? val->first : val; v;
	     v = val->kind == YN_SEQ ? v->next : NULL)
		nodes[n++] = v;
	return compile_nodes(b, it, m, nodes, n);
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
	if (m.type == VT_EXISTS) {
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
	if ((m.type == VT_FIELDREF || m.type == VT_NUM || m.type == VT_CIDR) && !it->field)
		return rule_error(b, k->line, YM_E_PARSE, "modifier '%s' needs a field name",
				  m.type_name);
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
		const struct ynode **nodes = arena_alloc(b->scratch, nkw * sizeof(*nodes));
		kw = arena_alloc(b->a, sizeof(*kw));
		if (!kw || !nodes)
			return rule_error(b, line, b->a->err ? b->a->err : b->scratch->err,
					  "rule needs more than %u bytes of memory",
					  DETECT_MAX_RULE_MEM);
		for (v = node->first; v; v = v->next) {
			if (v->kind != YN_MAP)
				nodes[nk++] = v;
		}
		r = compile_nodes(b, kw, &plain_mods, nodes, nk);
		if (r < 0)
			return r;
	}
	for (v = node->first; v; v = v->next) {
		if (v->kind != YN_MAP)
			continue;
		r = compile_map(b, v, &s->alts[s->nalts++]);
		if (r < 0)
			return r;
	}
	if (kw) {
		s->alts[s->nalts].items = kw;
		s->alts[s->nalts].nitems = 1;
		s->nalts++;
	}
	return 0;
}

static const struct event_field *find_exact(const struct event_field *f, uint32_t n,
					    const char *name)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	}
	return NULL;
}

static const struct event_field *find_ci(const struct event_field *f, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcasecmp(f[i].name, name) == 0)
			return &f[i];
	}
	return NULL;
}

const char *search_field(const struct event *ev, const char *name, size_t *len)
{
	uint32_t n = ev->nfields < EVENT_MAX_FIELDS ? ev->nfields : EVENT_MAX_FIELDS;
	const struct event_field *f = find_exact(ev->fields, n, name);

	if (!f && ev->nxfields)
		f = find_exact(ev->xfields, ev->nxfields, name);
	if (!f)
		f = find_ci(ev->fields, n, name);
	if (!f && ev->nxfields)
		f = find_ci(ev->xfields, ev->nxfields, name);
	if (!f)
		return NULL;
	*len = f->value_len;
	return f->value;
}

static int keyword_eval(const struct pattern *p, const struct event *ev, struct match_env *env)
{
	uint32_t n = ev->nfields < EVENT_MAX_FIELDS ? ev->nfields : EVENT_MAX_FIELDS;

	for (uint32_t f = 0; f < n; f++) {
		const struct event_field *ef = &ev->fields[f];
		if (ef->value && pattern_match(p, ef->value, ef->value_len, env))
			return 1;
	}
	for (uint32_t f = 0; f < ev->nxfields; f++) {
		const struct event_field *ef = &ev->xfields[f];
		if (ef->value && pattern_match(p, ef->value, ef->value_len, env))
			return 1;
	}
	return 0;
}

/* One pattern against field value v; decided: the prefilter scanned v, so a
 * pattern its literal decides (pfq) is read from the scan's hits, and a
 * regex whose necessary literal did not occur is not run. */
static inline __attribute__((always_inline)) int pat_eval(const struct pattern *p, const char *v,
							  size_t len, int decided,
							  struct match_env *env)
{
	if (p->pfq && decided > p->pfq_framed) {
		int hit = prefilter_hit(env->pt, p->pfq);
		if (!hit || !p->pfq_need)
			return hit;
	}
	return pattern_match(p, v, len, env);
}

static int values_eval(const struct item *it, const char *v, size_t len, int decided,
		       const struct event *ev, struct match_env *env)
{
	int hit = 0;

	if (!it->all) {
		for (uint32_t i = 0; i < it->npat; i++) {
			if (it->field ? pat_eval(&it->pats[i], v, len, decided, env)
				      : keyword_eval(&it->pats[i], ev, env))
				return 1;
		}
		return 0;
	}
	for (uint32_t i = 0; i < it->npat; i++) {
		const struct pattern *p = &it->pats[i];
		if (!hit || !it->all) {
			hit = it->field ? pat_eval(p, v, len, decided, env) : keyword_eval(p, ev, env);
			if (hit && !it->all)
				return 1;
		}
		if (p->grp_end) {
			/* 'all': every rule value needs one of its variants to match */
			if (it->all && !hit)
				return 0;
			hit = 0;
		}
	}
	return it->all && it->npat > 0;
}

static int item_eval(const struct item *it, const struct event *ev, struct match_env *env)
{
	const char *v = NULL;
	size_t len = 0;
	int m, decided = 0;

	if (it->field)
		v = (env->pt && it->fid) ? prefilter_field(env->pt, it, ev, &len, &decided)
					 : search_field(ev, it->field, &len);
	switch (it->kind) {
	case ITEM_EXISTS:
		return (v != NULL) == it->want;
	case ITEM_NULL:
		return v == NULL || len == 0;
	default:
		break;
	}
	if (it->field && !v)
		return it->neg; /* neq: a missing field differs from every value */
	m = values_eval(it, v, len, decided, ev, env);
	return it->neg ? !m : m;
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
