/* correl: Sigma correlation rules (sigma-correlation-rules-specification.md).
 *
 * Compile: the 'correlation' section of a document -> struct correl (type,
 * referenced rules as written, group-by fields resolved per referenced rule
 * through 'aliases', timespan, condition). References are resolved to rule
 * indices by ruleset.c once every document of the load is known.
 *
 * State: one struct correl_state per stream of events. For each correlation
 * rule, groups keyed by a keyed hash (SipHash-2-4, random key per state) of
 * the group-by values, so an attacker who controls field values cannot aim
 * collisions; values themselves are never stored. Each group keeps entries
 * (time, value hash, number) inside the timespan, bounded by max_entries, and
 * groups are bounded by max_groups with least-recently-updated eviction. When
 * the condition holds the group fires and starts afresh, so one burst raises
 * one alert.
 *
 * Window: "now" is the newest event time seen in the group; entries older
 * than now - timespan are dropped on each update, so events that arrive a
 * little out of order still count while they are inside the window. */
#include "detect_int.h"

#include "err.h"
#include "event.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS_NONE UINT64_MAX

/* ---- compile ---- */

static int parse_span(const char *s, size_t n, uint64_t *ns)
{
	uint64_t v = 0, mul;
	size_t i;

	if (n < 2)
		return YM_E_PARSE;
	for (i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > DETECT_MAX_CORREL_SPAN_S)
			return YM_E_PARSE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	switch (s[n - 1]) {
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return YM_E_PARSE;
	}
	if (v == 0 || v > DETECT_MAX_CORREL_SPAN_S / mul)
		return YM_E_PARSE;
	*ns = v * mul * 1000000000ull;
	return 0;
}

/* A scalar or a list of scalars under node -> arena string array. */
static int str_list(struct rule_build *b, const struct ynode *node, const char *what, size_t max,
		    const char ***out, uint32_t *n)
{
	const char **v;
	size_t k = 0, cnt = node->kind == YN_SEQ ? node->n : 1;

	if (node->kind == YN_MAP || cnt == 0)
		return rule_error(b, node->line, YM_E_PARSE,
				  "correlation '%s' must be a name or a list of names", what);
	if (cnt > max)
		return rule_error(b, node->line, YM_E_TOOBIG, "correlation '%s' has more than %zu "
				  "entries", what, max);
	v = arena_alloc(b->a, cnt * sizeof(*v));
	if (!v)
		return rule_error(b, node->line, b->a->err, "out of memory for the rule");
	for (const struct ynode *x = node->kind == YN_SEQ ? node->first : node; x;
	     x = node->kind == YN_SEQ ? x->next : NULL) {
		if (x->kind != YN_SCALAR || yamltree_is_null(x) || x->len == 0)
			return rule_error(b, x->line, YM_E_PARSE,
					  "correlation '%s' entries must be non-empty strings",
					  what);
		v[k] = arena_strndup(b->a, x->str, x->len);
		if (!v[k++])
			return rule_error(b, x->line, b->a->err, "out of memory for the rule");
	}
	*out = v;
	*n = (uint32_t)k;
	return 0;
}

static int bool_of(struct rule_build *b, const struct ynode *v, uint8_t *out)
{
	if (v->kind == YN_SCALAR && v->plain &&
	    (strcmp(v->str, "true") == 0 || strcmp(v->str, "True") == 0)) {
		*out = 1;
		return 0;
	}
	if (v->kind == YN_SCALAR && v->plain &&
	    (strcmp(v->str, "false") == 0 || strcmp(v->str, "False") == 0)) {
		*out = 0;
		return 0;
	}
	return rule_error(b, v->line, YM_E_PARSE, "'generate' must be true or false");
}

static int compile_cond(struct rule_build *b, struct correl *c, const struct ynode *cond)
{
	static const char *const ops[CC_MAX_] = {"gt", "gte", "lt", "lte", "eq", "neq"};
	char q[64];
	int r;

	if (cond->kind != YN_MAP)
		return rule_error(b, cond->line, YM_E_PARSE,
				  "correlation 'condition' must be a map such as {gte: 10}");
	for (const struct ynode *k = cond->first; k && k->next; k = k->next->next) {
		const struct ynode *v = k->next;
		int op = -1;
		if (k->kind == YN_SCALAR && strcmp(k->str, "field") == 0) {
			r = str_list(b, v, "condition.field", DETECT_MAX_CORREL_GROUP, &c->field,
				     &c->nfield);
			if (r < 0)
				return r;
			continue;
		}
		for (int i = 0; i < CC_MAX_; i++) {
			if (k->kind == YN_SCALAR && strcmp(k->str, ops[i]) == 0)
				op = i;
		}
		if (op < 0)
			return rule_error(b, k->line, YM_E_PARSE,
					  "unknown correlation condition '%s' (gt, gte, lt, lte, "
					  "eq, neq, field)",
					  rule_quote(k->str, k->len, q, sizeof(q)));
		if (v->kind != YN_SCALAR ||
		    pattern_parse_number(v->str, v->len, &c->cond_v[op]) != 0)
			return rule_error(b, v->line, YM_E_PARSE,
					  "correlation condition '%s' needs a number", ops[op]);
		c->cond_has[op] = 1;
		c->has_cond = 1;
	}
	return 0;
}

int correl_cond_ok(const struct correl *c, double x)
{
	if ((c->cond_has[CC_GT] && !(x > c->cond_v[CC_GT])) ||
	    (c->cond_has[CC_GTE] && !(x >= c->cond_v[CC_GTE])) ||
	    (c->cond_has[CC_LT] && !(x < c->cond_v[CC_LT])) ||
	    (c->cond_has[CC_LTE] && !(x <= c->cond_v[CC_LTE])) ||
	    (c->cond_has[CC_EQ] && !(x == c->cond_v[CC_EQ])) ||
	    (c->cond_has[CC_NEQ] && !(x != c->cond_v[CC_NEQ])))
		return 0;
	return 1;
}

int correl_compile(struct rule_build *b, const struct ynode *node)
{
	static const char *const types[] = {"event_count",	"value_count", "temporal",
					    "temporal_ordered", "value_sum",   "value_avg",
					    "value_percentile"};
	const struct ynode *t, *rl, *gb, *ts, *cond, *al, *gen;
	const char **groups = NULL;
	uint32_t ng = 0;
	struct correl *c;
	char q[64];
	int r, type = -1;

	if (node->kind != YN_MAP)
		return rule_error(b, node->line, YM_E_PARSE, "'correlation' must be a map");
	c = arena_alloc(b->a, sizeof(*c));
	if (!c)
		return rule_error(b, node->line, b->a->err, "out of memory for the rule");
	b->rule->correl = c;
	for (const struct ynode *k = node->first; k && k->next; k = k->next->next) {
		static const char *const known[] = {"type",	 "rules",   "group-by",
						    "timespan",	 "condition", "aliases",
						    "generate", "timeframe"};
		size_t i;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (k->kind == YN_SCALAR && strcmp(k->str, known[i]) == 0)
				break;
		}
		if (i == sizeof(known) / sizeof(known[0]))
			return rule_error(b, k->line, YM_E_PARSE, "unknown correlation key '%s'",
					  rule_quote(k->str, k->len, q, sizeof(q)));
	}
	t = yamltree_get(node, "type");
	if (!t || t->kind != YN_SCALAR)
		return rule_error(b, node->line, YM_E_PARSE, "correlation has no 'type'");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(t->str, types[i]) == 0)
			type = (int)i;
	}
	if (type < 0)
		return rule_error(b, t->line, YM_E_PARSE,
				  "unknown correlation type '%s' (event_count, value_count, "
				  "temporal, temporal_ordered, value_sum, value_avg, "
				  "value_percentile)",
				  rule_quote(t->str, t->len, q, sizeof(q)));
	c->type = (uint8_t)type;
	rl = yamltree_get(node, "rules");
	if (!rl)
		return rule_error(b, node->line, YM_E_PARSE, "correlation has no 'rules'");
	if ((r = str_list(b, rl, "rules", DETECT_MAX_CORREL_REFS, &c->ref_names, &c->nrefs)) < 0)
		return r;
	gb = yamltree_get(node, "group-by");
	if (gb && !yamltree_is_null(gb) &&
	    (r = str_list(b, gb, "group-by", DETECT_MAX_CORREL_GROUP, &groups, &ng)) < 0)
		return r;
	ts = yamltree_get(node, "timespan");
	if (!ts)
		ts = yamltree_get(node, "timeframe");
	if (!ts)
		return rule_error(b, node->line, YM_E_PARSE, "correlation has no 'timespan'");
	if (ts->kind != YN_SCALAR || parse_span(ts->str, ts->len, &c->span_ns) != 0)
		return rule_error(b, ts->line, YM_E_PARSE,
				  "timespan must be a number and s, m, h or d (at most 366 days)");
	cond = yamltree_get(node, "condition");
	if (cond && (r = compile_cond(b, c, cond)) < 0)
		return r;
	if (!c->has_cond && c->type != CT_TEMPORAL && c->type != CT_TEMPORAL_ORDERED)
		return rule_error(b, node->line, YM_E_PARSE,
				  "correlation type '%s' needs a condition", types[type]);
	if (c->type != CT_EVENT_COUNT && c->type != CT_TEMPORAL &&
	    c->type != CT_TEMPORAL_ORDERED && c->nfield == 0)
		return rule_error(b, node->line, YM_E_PARSE,
				  "correlation type '%s' needs 'field' in its condition",
				  types[type]);
	gen = yamltree_get(node, "generate");
	if (!gen)
		gen = yamltree_get(b->rule_root, "generate");
	if (gen && (r = bool_of(b, gen, &c->generate)) < 0)
		return r;

	/* group-by g read from rule j: aliases[g][name of rule j], else g itself. */
	al = yamltree_get(node, "aliases");
	if (al && !yamltree_is_null(al) && al->kind != YN_MAP)
		return rule_error(b, al->line, YM_E_PARSE, "'aliases' must be a map");
	c->ngroup = ng;
	c->gfield = arena_alloc(b->a, ((size_t)ng * c->nrefs + 1) * sizeof(*c->gfield));
	if (!c->gfield)
		return rule_error(b, node->line, b->a->err, "out of memory for the rule");
	for (uint32_t g = 0; g < ng; g++) {
		const struct ynode *amap = al && al->kind == YN_MAP ? yamltree_get(al, groups[g])
								   : NULL;
		if (amap && amap->kind != YN_MAP)
			return rule_error(b, amap->line, YM_E_PARSE,
					  "alias '%s' must map rule names to field names",
					  rule_quote(groups[g], strlen(groups[g]), q, sizeof(q)));
		for (uint32_t j = 0; j < c->nrefs; j++) {
			const struct ynode *f = amap ? yamltree_get(amap, c->ref_names[j]) : NULL;
			const char *name = groups[g];
			if (f) {
				if (f->kind != YN_SCALAR || f->len == 0)
					return rule_error(b, f->line, YM_E_PARSE,
							  "alias fields must be field names");
				name = arena_strndup(b->a, f->str, f->len);
				if (!name)
					return rule_error(b, f->line, b->a->err,
							  "out of memory for the rule");
			}
			c->gfield[g * c->nrefs + j] = name;
		}
	}
	if (al && al->kind == YN_MAP) {
		for (const struct ynode *k = al->first; k && k->next; k = k->next->next) {
			uint32_t g;
			for (g = 0; g < ng; g++) {
				if (strcmp(groups[g], k->str) == 0)
					break;
			}
			if (g == ng)
				return rule_error(b, k->line, YM_E_PARSE,
						  "alias '%s' is not used in group-by",
						  rule_quote(k->str, k->len, q, sizeof(q)));
			for (const struct ynode *rk = k->next->kind == YN_MAP ? k->next->first
									       : NULL;
			     rk && rk->next; rk = rk->next->next) {
				uint32_t j;
				for (j = 0; j < c->nrefs; j++) {
					if (strcmp(c->ref_names[j], rk->str) == 0)
						break;
				}
				if (j == c->nrefs)
					return rule_error(
					    b, rk->line, YM_E_PARSE,
					    "alias names rule '%s', which the correlation does not "
					    "reference",
					    rule_quote(rk->str, rk->len, q, sizeof(q)));
			}
		}
	}
	return 0;
}

/* ---- state ---- */

struct centry {
	uint64_t ts;
	uint64_t h;
	double v;
};

struct cgroup {
	uint64_t key;
	uint64_t last_ns;
	struct cgroup *hnext;
	struct cgroup *prev, *next; /* LRU order: head is the least recently updated */
	struct centry *e;
	uint32_t n, cap;
	uint64_t *ts; /* temporal: last time per rule; ordered: chain start per step */
};

struct cslot {
	struct cgroup **tab;
	uint32_t mask;
	uint32_t ngroups;
	struct cgroup *head, *tail;
};

struct correl_state {
	struct correl_limits lim;
	struct correl_stats stats;
	uint64_t k0, k1;
	struct cslot *slots;
	uint32_t nslots;
	uint32_t *stamp; /* per rule: epoch of the last event it matched */
	size_t nrules;
	uint32_t epoch;
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                              \
	do {                                                                                  \
		v0 += v1;                                                                     \
		v1 = ROTL(v1, 13);                                                            \
		v1 ^= v0;                                                                     \
		v0 = ROTL(v0, 32);                                                            \
		v2 += v3;                                                                     \
		v3 = ROTL(v3, 16);                                                            \
		v3 ^= v2;                                                                     \
		v0 += v3;                                                                     \
		v3 = ROTL(v3, 21);                                                            \
		v3 ^= v0;                                                                     \
		v2 += v1;                                                                     \
		v1 = ROTL(v1, 17);                                                            \
		v1 ^= v2;                                                                     \
		v2 = ROTL(v2, 32);                                                            \
	} while (0)

/* SipHash-2-4 of p[0..n) under key (k0, k1). */
static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *p, size_t n)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, b = (uint64_t)n << 56;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		m = 0;
		for (int k = 7; k >= 0; k--)
			m = m << 8 | p[i + (size_t)k];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; i + k < n; k++)
		b |= (uint64_t)p[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Keyed hash of the values of fields names[0..n) (stride apart) in ev; 0 and
 * *ok = 0 when one is missing. */
static uint64_t fields_hash(const struct correl_state *st, const struct event *ev,
			    const char *const *names, uint32_t n, size_t stride, int *ok)
{
	uint64_t hs[DETECT_MAX_CORREL_GROUP + 1];
	uint8_t buf[sizeof(hs)];

	*ok = 1;
	hs[0] = n;
	for (uint32_t i = 0; i < n; i++) {
		size_t len;
		const char *v = search_field(ev, names[i * stride], &len);
		if (!v) {
			*ok = 0;
			return 0;
		}
		hs[i + 1] = siphash(st->k0, st->k1, (const uint8_t *)v, len);
	}
	memcpy(buf, hs, (n + 1) * sizeof(uint64_t));
	return siphash(st->k1, st->k0, buf, (n + 1) * sizeof(uint64_t));
}

int correl_state_new(const struct ruleset *rs, const struct correl_limits *lim,
		     struct correl_state **out)
{
	struct correl_state *st = NULL;
	uint64_t key[2];
	int rc = YM_E_NOMEM;

	if (!rs)
		return YM_E_INVAL;
	if (lim && (lim->max_groups > (1u << 20) || lim->max_entries > (1u << 16)))
		return YM_E_INVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	st->lim.max_groups = lim && lim->max_groups ? lim->max_groups : 4096;
	st->lim.max_entries = lim && lim->max_entries ? lim->max_entries : 1024;
	if (util_random(key, sizeof(key)) != 0) {
		key[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)st;
		key[1] = util_mono_ns();
	}
	st->k0 = key[0];
	st->k1 = key[1];
	st->nrules = ruleset_count(rs);
	st->nslots = (uint32_t)ruleset_correl_slots(rs);
	st->stamp = calloc(st->nrules ? st->nrules : 1, sizeof(*st->stamp));
	st->slots = calloc(st->nslots ? st->nslots : 1, sizeof(*st->slots));
	if (!st->stamp || !st->slots)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	correl_state_free(st);
	return rc;
}

static void group_free(struct cgroup *g)
{
	if (!g)
		return;
	free(g->e);
	free(g->ts);
	free(g);
}

void correl_state_free(struct correl_state *st)
{
	if (!st)
		return;
	for (uint32_t s = 0; st->slots && s < st->nslots; s++) {
		struct cgroup *g = st->slots[s].head;
		while (g) {
			struct cgroup *nx = g->next;
			group_free(g);
			g = nx;
		}
		free(st->slots[s].tab);
	}
	free(st->slots);
	free(st->stamp);
	free(st);
}

void correl_state_stats(const struct correl_state *st, struct correl_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (st)
		*out = st->stats;
}

uint32_t correl_state_epoch(struct correl_state *st)
{
	if (++st->epoch == 0) {
		memset(st->stamp, 0, st->nrules * sizeof(*st->stamp));
		st->epoch = 1;
	}
	return st->epoch;
}

void correl_state_mark(struct correl_state *st, uint32_t ri)
{
	if (ri < st->nrules)
		st->stamp[ri] = st->epoch;
}

int correl_state_marked(const struct correl_state *st, uint32_t ri)
{
	return ri < st->nrules && st->stamp[ri] == st->epoch;
}

static void lru_unlink(struct cslot *s, struct cgroup *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		s->head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		s->tail = g->prev;
	g->prev = g->next = NULL;
}

static void lru_append(struct cslot *s, struct cgroup *g)
{
	g->prev = s->tail;
	g->next = NULL;
	if (s->tail)
		s->tail->next = g;
	else
		s->head = g;
	s->tail = g;
}

static void group_remove(struct correl_state *st, struct cslot *s, struct cgroup *g)
{
	struct cgroup **pp = &s->tab[g->key & s->mask];

	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	lru_unlink(s, g);
	s->ngroups--;
	st->stats.groups--;
	group_free(g);
}

static struct cgroup *group_get(struct correl_state *st, struct cslot *s, const struct correl *c,
				uint64_t key, uint64_t now)
{
	struct cgroup *g;

	if (!s->tab) {
		uint32_t cap = 16;
		while (cap < st->lim.max_groups)
			cap *= 2;
		s->tab = calloc(cap, sizeof(*s->tab));
		if (!s->tab)
			return NULL;
		s->mask = cap - 1;
	}
	for (g = s->tab[key & s->mask]; g; g = g->hnext) {
		if (g->key == key) {
			lru_unlink(s, g);
			lru_append(s, g);
			return g;
		}
	}
	if (s->ngroups >= st->lim.max_groups && s->head) {
		struct cgroup *old = s->head;
		if (old->last_ns + c->span_ns < now)
			st->stats.groups_expired++;
		else
			st->stats.groups_evicted++;
		group_remove(st, s, old);
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	if (c->type == CT_TEMPORAL || c->type == CT_TEMPORAL_ORDERED) {
		g->ts = malloc(c->nrefs * sizeof(*g->ts));
		if (!g->ts) {
			free(g);
			return NULL;
		}
		for (uint32_t j = 0; j < c->nrefs; j++)
			g->ts[j] = TS_NONE;
	}
	g->key = key;
	g->last_ns = now;
	g->hnext = s->tab[key & s->mask];
	s->tab[key & s->mask] = g;
	lru_append(s, g);
	s->ngroups++;
	st->stats.groups++;
	return g;
}

/* Drops entries older than the window; then, at max_entries, the oldest one. */
static void entries_expire(struct cgroup *g, uint64_t cut)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < g->n; i++) {
		if (g->e[i].ts >= cut)
			g->e[k++] = g->e[i];
	}
	g->n = k;
}

static int entry_add(struct correl_state *st, struct cgroup *g, uint64_t ts, uint64_t h, double v)
{
	if (g->n >= st->lim.max_entries) {
		uint32_t old = 0;
		for (uint32_t i = 1; i < g->n; i++) {
			if (g->e[i].ts < g->e[old].ts)
				old = i;
		}
		g->e[old] = g->e[--g->n];
		st->stats.entries_evicted++;
	}
	if (g->n == g->cap) {
		uint32_t nc = g->cap ? g->cap * 2 : 8;
		struct centry *ne;
		if (nc > st->lim.max_entries)
			nc = st->lim.max_entries;
		ne = realloc(g->e, nc * sizeof(*ne));
		if (!ne)
			return YM_E_NOMEM;
		g->e = ne;
		g->cap = nc;
	}
	g->e[g->n].ts = ts;
	g->e[g->n].h = h;
	g->e[g->n].v = v;
	g->n++;
	return 0;
}

static void group_reset(const struct correl *c, struct cgroup *g)
{
	g->n = 0;
	for (uint32_t j = 0; g->ts && j < c->nrefs; j++)
		g->ts[j] = TS_NONE;
}

int correl_feed(struct correl_state *st, uint32_t slot, const struct correl *c, uint32_t j,
		const struct event *ev)
{
	struct cslot *s;
	struct cgroup *g;
	uint64_t key, h = 0, now = ev->ts_ns, cut;
	double v = 0, x = 0;
	int ok, fire = 0;

	if (slot >= st->nslots || j >= c->nrefs)
		return 0;
	s = &st->slots[slot];
	key = fields_hash(st, ev, c->gfield + j, c->ngroup, c->nrefs, &ok);
	if (!ok) {
		st->stats.events_ignored++;
		return 0;
	}
	if (c->nfield) {
		if (c->type == CT_VALUE_SUM || c->type == CT_VALUE_AVG) {
			size_t len;
			const char *fv = search_field(ev, c->field[0], &len);
			ok = fv && pattern_parse_number(fv, len, &v) == 0;
		} else {
			h = fields_hash(st, ev, c->field, c->nfield, 1, &ok);
		}
		if (!ok) {
			st->stats.events_ignored++;
			return 0;
		}
	}
	g = group_get(st, s, c, key, now);
	if (!g) {
		st->stats.events_nomem++;
		return 0;
	}
	if (now > g->last_ns)
		g->last_ns = now;
	cut = g->last_ns > c->span_ns ? g->last_ns - c->span_ns : 0;
	entries_expire(g, cut);
	switch (c->type) {
	case CT_EVENT_COUNT:
	case CT_VALUE_SUM:
	case CT_VALUE_AVG:
	case CT_VALUE_PERCENTILE:
		if (entry_add(st, g, now, h, v) < 0) {
			st->stats.events_nomem++;
			return 0;
		}
		if (c->type == CT_EVENT_COUNT) {
			x = g->n;
		} else if (c->type == CT_VALUE_PERCENTILE) {
			uint32_t same = 0;
			for (uint32_t i = 0; i < g->n; i++)
				same += g->e[i].h == h;
			x = 100.0 * same / g->n;
		} else {
			for (uint32_t i = 0; i < g->n; i++)
				x += g->e[i].v;
			if (c->type == CT_VALUE_AVG)
				x /= g->n;
		}
		fire = correl_cond_ok(c, x);
		break;
	case CT_VALUE_COUNT: {
		uint32_t i;
		for (i = 0; i < g->n && g->e[i].h != h; i++)
			;
		if (i < g->n) {
			if (now > g->e[i].ts)
				g->e[i].ts = now;
		} else if (entry_add(st, g, now, h, 0) < 0) {
			st->stats.events_nomem++;
			return 0;
		}
		fire = correl_cond_ok(c, g->n);
		break;
	}
	case CT_TEMPORAL: {
		uint32_t seen = 0;
		if (g->ts[j] == TS_NONE || now > g->ts[j])
			g->ts[j] = now;
		for (uint32_t k = 0; k < c->nrefs; k++)
			seen += g->ts[k] != TS_NONE && g->ts[k] >= cut;
		fire = c->has_cond ? correl_cond_ok(c, seen) : seen == c->nrefs;
		break;
	}
	case CT_TEMPORAL_ORDERED:
		/* ts[k]: start time of the latest chain rules[0..k] seen in order */
		if (j == 0) {
			g->ts[0] = now;
		} else if (g->ts[j - 1] != TS_NONE && g->ts[j - 1] >= cut &&
			   (g->ts[j] == TS_NONE || g->ts[j - 1] > g->ts[j])) {
			g->ts[j] = g->ts[j - 1];
		}
		fire = g->ts[c->nrefs - 1] != TS_NONE && g->ts[c->nrefs - 1] >= cut;
		break;
	default:
		break;
	}
	if (fire)
		group_reset(c, g);
	return fire;
}
