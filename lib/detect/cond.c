/* cond: the Sigma condition language, parsed by recursive descent.
 *
 *   or_expr   := and_expr ( "or" and_expr )*
 *   and_expr  := not_expr ( "and" not_expr )*
 *   not_expr  := "not" not_expr | primary
 *   primary   := "(" or_expr ")" | quant "of" ( "them" | pattern ) | identifier
 *   quant     := N | "any" | "all"          (N >= 1: at least N of them)
 *
 * so not binds tighter than and, and tighter than or (Sigma 2.1). Keywords
 * are case-insensitive. Chains of and / or become one n-ary node, so only
 * parentheses and not add depth, and depth is capped. "x of" patterns are
 * resolved to search indices here, once, so evaluation does no lookups. */
#include "detect_int.h"

#include "buf.h"
#include "err.h"

#include <string.h>
#include <strings.h>

enum tok_kind { T_END, T_LP, T_RP, T_WORD, T_PIPE, T_BAD };

struct tok {
	enum tok_kind kind;
	const char *s;
	size_t n;
};

struct cparser {
	struct rule_build *b;
	struct cursor cur;
	const char *text;
	int line;
	unsigned nodes;
	struct tok tok;
};

static int is_word_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '*' || c == '.' || c == '-';
}

static void next(struct cparser *p)
{
	uint8_t c;
	struct cursor peek;

	do {
		peek = p->cur;
		if (cursor_get_u8(&peek, &c) != 0) {
			p->tok.kind = T_END;
			p->tok.n = 0;
			return;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			p->cur = peek;
	} while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
	p->tok.s = p->text + p->cur.off;
	p->tok.n = 1;
	p->cur = peek;
	if (c == '(') {
		p->tok.kind = T_LP;
	} else if (c == ')') {
		p->tok.kind = T_RP;
	} else if (c == '|') {
		p->tok.kind = T_PIPE;
	} else if (is_word_char(c)) {
		p->tok.kind = T_WORD;
		for (;;) {
			peek = p->cur;
			if (cursor_get_u8(&peek, &c) != 0 || !is_word_char(c))
				break;
			p->cur = peek;
			p->tok.n++;
		}
	} else {
		p->tok.kind = T_BAD;
	}
}

static int is_kw(const struct tok *t, const char *kw)
{
	return t->kind == T_WORD && t->n == strlen(kw) && strncasecmp(t->s, kw, t->n) == 0;
}

static int is_reserved(const struct tok *t)
{
	return is_kw(t, "and") || is_kw(t, "or") || is_kw(t, "not") || is_kw(t, "of") ||
	       is_kw(t, "them");
}

static int syntax(struct cparser *p, const char *what)
{
	char q[64];

	if (p->tok.kind == T_END)
		return rule_error(p->b, p->line, YM_E_PARSE,
				  "condition: %s, found end of condition", what);
	return rule_error(p->b, p->line, YM_E_PARSE, "condition: %s, found '%s'", what,
			  rule_quote(p->tok.s, p->tok.n, q, sizeof(q)));
}

static struct cond *new_node(struct cparser *p, uint8_t op)
{
	struct cond *c;

	if (++p->nodes > DETECT_MAX_COND_NODES) {
		rule_error(p->b, p->line, YM_E_TOOBIG, "condition has more than %u terms",
			   DETECT_MAX_COND_NODES);
		return NULL;
	}
	c = arena_alloc(p->b->a, sizeof(*c));
	if (!c) {
		rule_error(p->b, p->line, p->b->a->err, "out of memory for the rule");
		return NULL;
	}
	c->op = op;
	return c;
}

/* 1 when name matches pat, where '*' in pat stands for any run of bytes. */
static int name_glob(const char *pat, size_t pn, const char *name)
{
	size_t nn = strlen(name), pi = 0, ni = 0, star_p = (size_t)-1, star_n = 0;

	while (ni < nn) {
		if (pi < pn && pat[pi] == '*') {
			star_p = pi++;
			star_n = ni;
		} else if (pi < pn && pat[pi] == name[ni]) {
			pi++;
			ni++;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			ni = ++star_n;
		} else {
			return 0;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static int parse_or(struct cparser *p, int depth, struct cond **out);

/* "x of" with the quantifier already read: op is C_ONE_OF (at least k) or
 * C_ALL_OF. */
static int parse_of(struct cparser *p, uint8_t op, uint32_t k, struct cond **out)
{
	const struct rule *r = p->b->rule;
	struct cond *c;
	uint32_t *ids, n = 0;
	int them;
	char q[64];

	next(p);
	if (!is_kw(&p->tok, "of"))
		return syntax(p, "expected 'of'");
	next(p);
	if (p->tok.kind != T_WORD || (is_reserved(&p->tok) && !is_kw(&p->tok, "them")))
		return syntax(p, "expected 'them' or an identifier pattern after 'of'");
	them = is_kw(&p->tok, "them");
	c = new_node(p, op);
	ids = c ? arena_alloc(p->b->a, (r->nsearches + 1) * sizeof(*ids)) : NULL;
	if (!ids)
		return c ? rule_error(p->b, p->line, p->b->a->err, "out of memory for the rule")
			 : p->b->err;
	for (uint32_t i = 0; i < r->nsearches; i++) {
		const char *name = r->searches[i].name;
		/* "them" leaves out identifiers starting with '_' (Sigma convention). */
		if (them ? name[0] != '_' : name_glob(p->tok.s, p->tok.n, name))
			ids[n++] = i;
	}
	if (n == 0)
		return rule_error(p->b, p->line, YM_E_PARSE,
				  "condition: '%s' matches no search identifier",
				  rule_quote(p->tok.s, p->tok.n, q, sizeof(q)));
	if (op == C_ONE_OF && k > n)
		return rule_error(p->b, p->line, YM_E_PARSE,
				  "condition: '%u of' but '%s' matches only %u identifiers", k,
				  rule_quote(p->tok.s, p->tok.n, q, sizeof(q)), n);
	c->ids = ids;
	c->n = n;
	c->id = k;
	next(p);
	*out = c;
	return 0;
}

static int parse_primary(struct cparser *p, int depth, struct cond **out)
{
	const struct rule *r = p->b->rule;
	struct cond *c;
	char q[64];
	int rc;

	if (p->tok.kind == T_LP) {
		next(p);
		rc = parse_or(p, depth + 1, &c);
		if (rc < 0)
			return rc;
		if (p->tok.kind != T_RP)
			return syntax(p, "expected ')'");
		next(p);
		*out = c;
		return 0;
	}
	if (p->tok.kind == T_PIPE) {
		rule_unsupported(p->b, p->line,
				 "aggregation in condition ('| count() ...', Sigma 1 syntax) is "
				 "not supported");
		return YM_E_UNSUPPORTED;
	}
	if (p->tok.kind != T_WORD || is_reserved(&p->tok))
		return syntax(p, "expected an identifier, 'not', '(' or 'x of'");
	if (is_kw(&p->tok, "any"))
		return parse_of(p, C_ONE_OF, 1, out);
	if (is_kw(&p->tok, "all"))
		return parse_of(p, C_ALL_OF, 0, out);
	if (p->tok.s[0] >= '0' && p->tok.s[0] <= '9') {
		struct cparser save = *p;
		uint64_t k = 0;
		size_t i;
		for (i = 0; i < p->tok.n && p->tok.s[i] >= '0' && p->tok.s[i] <= '9'; i++) {
			if (k < 100000)
				k = k * 10 + (uint64_t)(p->tok.s[i] - '0');
		}
		next(p);
		if (i == save.tok.n && is_kw(&p->tok, "of")) {
			*p = save;
			if (k == 0 || k > DETECT_MAX_SEARCHES)
				return rule_error(p->b, p->line, YM_E_PARSE,
						  "condition: quantifier '%s of' must be 1..%u",
						  rule_quote(save.tok.s, save.tok.n, q, sizeof(q)),
						  DETECT_MAX_SEARCHES);
			return parse_of(p, C_ONE_OF, (uint32_t)k, out);
		}
		*p = save;
	}
	if (is_kw(&p->tok, "near")) {
		rule_unsupported(p->b, p->line, "'near' in conditions is not supported");
		return YM_E_UNSUPPORTED;
	}
	if (memchr(p->tok.s, '*', p->tok.n))
		return syntax(p, "wildcards are only allowed after 'x of'");
	for (uint32_t i = 0; i < r->nsearches; i++) {
		const char *name = r->searches[i].name;
		if (strlen(name) == p->tok.n && memcmp(name, p->tok.s, p->tok.n) == 0) {
			c = new_node(p, C_ID);
			if (!c)
				return p->b->err;
			c->id = i;
			next(p);
			*out = c;
			return 0;
		}
	}
	return rule_error(p->b, p->line, YM_E_PARSE,
			  "condition references unknown search identifier '%s'",
			  rule_quote(p->tok.s, p->tok.n, q, sizeof(q)));
}

static int parse_not(struct cparser *p, int depth, struct cond **out)
{
	struct cond *c, *kid;
	int rc;

	if (depth > DETECT_MAX_COND_DEPTH)
		return rule_error(p->b, p->line, YM_E_TOOBIG,
				  "condition nested deeper than %u levels", DETECT_MAX_COND_DEPTH);
	if (!is_kw(&p->tok, "not"))
		return parse_primary(p, depth, out);
	next(p);
	rc = parse_not(p, depth + 1, &kid);
	if (rc < 0)
		return rc;
	c = new_node(p, C_NOT);
	if (!c)
		return p->b->err;
	c->kids = arena_alloc(p->b->a, sizeof(*c->kids));
	if (!c->kids)
		return rule_error(p->b, p->line, p->b->a->err, "out of memory for the rule");
	c->kids[0] = kid;
	c->n = 1;
	*out = c;
	return 0;
}

/* Parses operands of one n-ary operator (op is C_AND or C_OR) separated by
 * the keyword kw. */
static int parse_chain(struct cparser *p, int depth, uint8_t op, const char *kw, struct cond **out)
{
	struct cond *first = NULL, *last = NULL, *c, *kid;
	uint32_t n = 0;
	int rc;

	for (;;) {
		rc = op == C_AND ? parse_not(p, depth, &kid)
				 : parse_chain(p, depth, C_AND, "and", &kid);
		if (rc < 0)
			return rc;
		kid->sib = NULL;
		if (last)
			last->sib = kid;
		else
			first = kid;
		last = kid;
		n++;
		if (!is_kw(&p->tok, kw))
			break;
		next(p);
	}
	if (n == 1) {
		*out = first;
		return 0;
	}
	c = new_node(p, op);
	if (!c)
		return p->b->err;
	c->kids = arena_alloc(p->b->a, n * sizeof(*c->kids));
	if (!c->kids)
		return rule_error(p->b, p->line, p->b->a->err, "out of memory for the rule");
	c->n = n;
	n = 0;
	for (kid = first; kid; kid = kid->sib)
		c->kids[n++] = kid;
	*out = c;
	return 0;
}

static int parse_or(struct cparser *p, int depth, struct cond **out)
{
	if (depth > DETECT_MAX_COND_DEPTH)
		return rule_error(p->b, p->line, YM_E_TOOBIG,
				  "condition nested deeper than %u levels", DETECT_MAX_COND_DEPTH);
	return parse_chain(p, depth, C_OR, "or", out);
}

int cond_parse(struct rule_build *b, const char *s, size_t n, int line, struct cond **out)
{
	struct cparser p = {.b = b, .text = s, .line = line};
	struct cond *c = NULL;
	int rc;

	if (n > DETECT_MAX_COND_LEN)
		return rule_error(b, line, YM_E_TOOBIG, "condition longer than %u bytes",
				  DETECT_MAX_COND_LEN);
	if (memchr(s, 0, n))
		return rule_error(b, line, YM_E_PARSE, "condition contains a NUL byte");
	cursor_init(&p.cur, s, n);
	next(&p);
	if (p.tok.kind == T_END)
		return rule_error(b, line, YM_E_PARSE, "condition is empty");
	rc = parse_or(&p, 0, &c);
	if (rc < 0)
		return rc;
	if (p.tok.kind == T_PIPE) {
		rule_unsupported(
		    b, line,
		    "aggregation in condition ('| count() ...', Sigma 1 syntax) is not "
		    "supported");
		return YM_E_UNSUPPORTED;
	}
	if (is_kw(&p.tok, "near")) {
		rule_unsupported(b, line, "'near' in conditions (Sigma 1) is not supported");
		return YM_E_UNSUPPORTED;
	}
	if (p.tok.kind != T_END)
		return syntax(&p, "expected 'and', 'or' or the end");
	*out = c;
	return 0;
}

int cond_eval(const struct cond *c, const struct search *searches, const struct event *ev,
	      struct match_env *env)
{
	uint32_t i;

	switch (c->op) {
	case C_ID:
		return search_eval(&searches[c->id], ev, env);
	case C_NOT:
		return !cond_eval(c->kids[0], searches, ev, env);
	case C_AND:
		for (i = 0; i < c->n; i++) {
			if (!cond_eval(c->kids[i], searches, ev, env))
				return 0;
		}
		return 1;
	case C_OR:
		for (i = 0; i < c->n; i++) {
			if (cond_eval(c->kids[i], searches, ev, env))
				return 1;
		}
		return 0;
	case C_ONE_OF: {
		uint32_t hits = 0;
		for (i = 0; i < c->n; i++) {
			if (search_eval(&searches[c->ids[i]], ev, env) && ++hits >= c->id)
				return 1;
		}
		return 0;
	}
	case C_ALL_OF:
		for (i = 0; i < c->n; i++) {
			if (!search_eval(&searches[c->ids[i]], ev, env))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}
