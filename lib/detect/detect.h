/* detect: the Sigma detection engine (see docs/rules.md).
 *
 * parse -> check -> compile into an immutable struct ruleset -> match many
 * events against one shared ruleset. A ruleset is never changed after it is
 * built, so any number of threads may call ruleset_match() on it at once; a
 * reload builds a new ruleset and swaps the pointer (the caller's job).
 * The library never exits or aborts on bad input. */
#ifndef YM_DETECT_H
#define YM_DETECT_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct ruleset;

/* One diagnostic about one rule file. Both strings are NUL-terminated and
 * hold no control bytes: text quoted from the rule is already escaped as \xNN
 * in reason, and control bytes of the path are replaced by '?' in file. */
struct detect_diag {
	char file[512];
	int line;	  /* 1-based line in the file, 0 when unknown */
	int severity;	  /* YM_E_PARSE (error) or YM_E_UNSUPPORTED */
	char reason[256]; /* human-readable, no newline */
};

/* Called once per diagnostic while loading; diag is borrowed for the call. */
typedef void (*detect_diag_fn)(const struct detect_diag *diag, void *ctx);

struct detect_load_stats {
	unsigned loaded;      /* rules compiled into the ruleset */
	unsigned unsupported; /* well-formed rules that use something not implemented yet */
	unsigned errors;      /* files or rules that could not be parsed */
};

/* Metadata of a rule, as handed to match callbacks. All strings are owned by
 * the ruleset and live as long as it does; any may be "" but never NULL. */
struct rule_info {
	const char *id;
	const char *title;
	const char *level; /* informational, low, medium, high, critical */
	const char *description;
	const char *status;
	const char *product, *category, *service; /* logsource */
	const char *const *tags;		  /* e.g. "attack.execution", "attack.t1059.004" */
	size_t ntags;
	const char *file; /* where it was loaded from */
};

/* Loads every *.yml / *.yaml file under each path (files or folders,
 * recursively, in sorted order) and compiles the rules that parse into a new
 * ruleset. A file may hold several YAML documents. Each error or unsupported
 * rule is reported through diag (may be NULL) and counted in *stats; it does
 * not stop the load. Returns 0 and sets *out (handed to the caller; free with
 * ruleset_free) even when some rules failed; YM_E_IO when a path cannot be
 * read at all; YM_E_NOMEM. */
int ruleset_load(const char *const *paths, size_t npaths, struct ruleset **out,
		 struct detect_load_stats *stats, detect_diag_fn diag, void *ctx);

/* Parses rules from memory (one YAML stream, name used in diagnostics) into a
 * new ruleset; otherwise as ruleset_load. Used by tests and the fuzzer. */
int ruleset_load_mem(const char *yaml, size_t len, const char *name, struct ruleset **out,
		     struct detect_load_stats *stats, detect_diag_fn diag, void *ctx);

void ruleset_free(struct ruleset *rs);
size_t ruleset_count(const struct ruleset *rs);

/* Metadata of the i-th rule in load order (0 <= i < ruleset_count), or NULL
 * when i is out of range. Borrowed from rs; thread-safe. */
const struct rule_info *ruleset_rule(const struct ruleset *rs, size_t i);

/* Number of regular-expression evaluations, over all ruleset_match calls on
 * rs so far, that stopped at a PCRE2 limit (match, depth or heap) or could not
 * get match data; each such evaluation counted as "no match". Thread-safe. */
unsigned long ruleset_match_errors(const struct ruleset *rs);

/* Called for each rule that matches; return non-zero to stop matching. */
typedef int (*detect_match_fn)(const struct rule_info *rule, const struct event *ev, void *ctx);

/* Evaluates every rule whose logsource fits the event (product from
 * ev->product, category from ev->category) against ev and calls on_match for
 * each match, in load order. ev and rs are borrowed. Does not allocate per
 * event (the first regular expression evaluated on a thread creates that
 * thread's PCRE2 match data, freed at thread exit); thread-safe for
 * concurrent calls on the same ruleset. Returns the number of matches (>= 0). */
int ruleset_match(const struct ruleset *rs, const struct event *ev, detect_match_fn on_match,
		  void *ctx);

#endif
