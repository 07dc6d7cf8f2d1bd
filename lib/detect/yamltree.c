/* yamltree: builds a small node tree per YAML document from libyaml's event
 * API, keeping each node's line for diagnostics. We build our own tree rather
 * than use libyaml's document loader so that aliases can be refused up front
 * (a loader graph with aliases can be cyclic or exponentially large when
 * walked as a tree) and so that node count and nesting are capped while
 * parsing, not after. */
#include "detect_int.h"

#include "err.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <yaml.h>

struct ytree_state {
	struct arena *a;
	struct ynode *stack[DETECT_MAX_YAML_DEPTH];
	int depth;
	struct ynode *root;
	size_t nodes;
};

static void set_err(struct yamltree_err *err, int line, int sev, const char *reason)
{
	err->line = line;
	err->severity = sev;
	util_strlcpy(err->reason, reason, sizeof(err->reason));
}

/* Creates a node for event ev and links it under the open collection. */
static int add_node(struct ytree_state *st, const yaml_event_t *ev, enum ynode_kind kind,
		    struct ynode **out, struct yamltree_err *err)
{
	struct ynode *n;
	int line = (int)ev->start_mark.line + 1;

	if (++st->nodes > DETECT_MAX_YAML_NODES) {
		set_err(err, line, YM_E_PARSE, "document has more than 262144 YAML nodes");
		return YM_E_TOOBIG;
	}
	n = arena_alloc(st->a, sizeof(*n));
	if (!n)
		return st->a->err;
	n->kind = kind;
	n->line = line;
	if (kind == YN_SCALAR) {
		size_t len = ev->data.scalar.length;
		if (len > DETECT_MAX_SCALAR) {
			set_err(err, line, YM_E_PARSE, "YAML scalar longer than 65535 bytes");
			return YM_E_TOOBIG;
		}
		n->str = arena_strndup(st->a, (const char *)ev->data.scalar.value, len);
		if (!n->str)
			return st->a->err;
		n->len = len;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	}
	if (st->depth == 0) {
		st->root = n;
	} else {
		struct ynode *p = st->stack[st->depth - 1];
		if (p->last)
			p->last->next = n;
		else
			p->first = n;
		p->last = n;
		p->n++;
	}
	*out = n;
	return 0;
}

int yamltree_parse(const char *buf, size_t len, struct arena *a, yamltree_doc_fn fn, void *ctx,
		   struct yamltree_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct ytree_state st = {.a = a};
	unsigned ndocs = 0;
	int have_ev = 0, done = 0, r = 0;

	if (!yaml_parser_initialize(&parser))
		return YM_E_NOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		struct ynode *n = NULL;
		int line;

		if (!yaml_parser_parse(&parser, &ev)) {
			char reason[200];
			if (parser.error == YAML_MEMORY_ERROR) {
				r = YM_E_NOMEM;
				goto out;
			}
			snprintf(reason, sizeof(reason), "YAML: %s%s%s",
				 parser.problem ? parser.problem : "syntax error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			set_err(err, (int)parser.problem_mark.line + 1, YM_E_PARSE, reason);
			r = YM_E_PARSE;
			goto out;
		}
		have_ev = 1;
		line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > DETECT_MAX_DOCS) {
				set_err(err, line, YM_E_PARSE,
					"file has more than 256 YAML documents");
				r = YM_E_TOOBIG;
				goto out;
			}
			arena_free(a);
			st.root = NULL;
			st.depth = 0;
			st.nodes = 0;
			break;
		case YAML_DOCUMENT_END_EVENT:
			r = fn(st.root, ctx);
			if (r < 0)
				goto out;
			arena_free(a);
			st.root = NULL;
			break;
		case YAML_ALIAS_EVENT:
			set_err(err, line, YM_E_UNSUPPORTED,
				"YAML aliases (*name) are not supported");
			r = YM_E_UNSUPPORTED;
			goto out;
		case YAML_SCALAR_EVENT:
			r = add_node(&st, &ev, YN_SCALAR, &n, err);
			if (r < 0)
				goto out;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (st.depth >= DETECT_MAX_YAML_DEPTH) {
				set_err(err, line, YM_E_PARSE, "YAML nested deeper than 64 levels");
				r = YM_E_TOOBIG;
				goto out;
			}
			r = add_node(&st, &ev,
				     ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, &n,
				     err);
			if (r < 0)
				goto out;
			st.stack[st.depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (st.depth > 0)
				st.depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = 0;
	}
out:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&parser);
	arena_free(a);
	return r;
}

int yamltree_is_null(const struct ynode *n)
{
	if (!n || n->kind != YN_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	       strcmp(n->str, "NULL") == 0 || strcmp(n->str, "~") == 0;
}

const struct ynode *yamltree_key(const struct ynode *m, const char *key)
{
	size_t kl;

	if (!m || m->kind != YN_MAP)
		return NULL;
	kl = strlen(key);
	for (const struct ynode *k = m->first; k && k->next; k = k->next->next) {
		if (k->kind == YN_SCALAR && k->len == kl && memcmp(k->str, key, kl) == 0)
			return k;
	}
	return NULL;
}

const struct ynode *yamltree_get(const struct ynode *m, const char *key)
{
	const struct ynode *k = yamltree_key(m, key);

	return k ? k->next : NULL;
}
