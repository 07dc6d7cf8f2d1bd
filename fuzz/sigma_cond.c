/* Fuzz target: the Sigma condition parser (lib/detect/cond.c) on its own,
 * with a fixed set of search identifiers, then evaluation of what parsed.
 * Checks the contract: a parse either succeeds with no recorded error, or
 * fails with one clean one-line reason; evaluation never recurses without
 * bound (the depth cap) and terminates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect_int.h"
#include "err.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSEARCH 6

static const char *const names[NSEARCH] = {"sel", "sel_a", "filter_1", "_hidden", "keywords",
					    "1"};
static const char *const fields[NSEARCH] = {"A", "B", "C", "D", "E", "F"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct item items[NSEARCH];
	static struct alt alts[NSEARCH];
	static struct search searches[NSEARCH];
	struct rule r;
	struct rule_build b;
	struct arena scratch;
	struct cond *c = NULL;
	struct match_env env = {0};
	struct event ev;
	int rc;

	for (int i = 0; i < NSEARCH; i++) {
		items[i].field = fields[i];
		items[i].kind = ITEM_EXISTS;
		items[i].want = 1;
		alts[i].items = &items[i];
		alts[i].nitems = 1;
		searches[i].name = names[i];
		searches[i].alts = &alts[i];
		searches[i].nalts = 1;
	}
	memset(&r, 0, sizeof(r));
	memset(&b, 0, sizeof(b));
	arena_init(&r.arena, DETECT_MAX_RULE_MEM);
	arena_init(&scratch, DETECT_MAX_SCRATCH);
	r.searches = searches;
	r.nsearches = NSEARCH;
	b.rule = &r;
	b.a = &r.arena;
	b.scratch = &scratch;
	rc = cond_parse(&b, (const char *)data, size, 1, &c);
	if (rc == 0) {
		if (b.err || !c)
			abort();
		event_init(&ev);
		event_set_str(&ev, "A", "x");
		event_set_str(&ev, "C", "");
		env.ev = &ev;
		for (int k = 0; k < 2; k++) {
			int v = cond_eval(c, searches, &ev, &env);
			if (v != 0 && v != 1)
				abort();
			event_set_str(&ev, "E", "y");
		}
	} else if (rc != YM_E_NOMEM) {
		if (!b.err && !b.unsupported)
			abort();
		if (b.err && !memchr(b.err_reason, 0, sizeof(b.err_reason)))
			abort();
		if (strchr(b.err_reason, '\n') || strchr(b.unsup_reason, '\n'))
			abort();
	}
	arena_free(&scratch);
	arena_free(&r.arena);
	return 0;
}
