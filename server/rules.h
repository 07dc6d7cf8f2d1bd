/* rules: the server's current Sigma ruleset and its hot reload.
 *
 * Readers (ingest) hold a read lock while they match; a reload builds the
 * new ruleset with no lock held, swaps the pointer under the write lock
 * and frees the old one once no reader can hold it. Thread-safe. */
#ifndef YM_SERVER_RULES_H
#define YM_SERVER_RULES_H

#include <stddef.h>

#include "detect.h"

#define RULES_MAX_PATHS 64
#define RULES_MAX_TENANT_STATES 4096

struct rules;

/* Remembers the rule paths (copied; at most RULES_MAX_PATHS) and the
 * placeholder file (YAML map of %name% values for the expand modifier; NULL
 * for none; read again on every reload) and loads them. With no paths the
 * ruleset is empty and matching is skipped. Returns 0 and sets *out (free
 * with rules_free) and *stats, YM_E_INVAL, YM_E_IO (a path or the placeholder
 * file cannot be read), YM_E_PARSE (bad placeholder file), YM_E_NOMEM. */
int rules_init(const char *const *paths, size_t npaths, const char *placeholders,
	       struct rules **out, struct detect_load_stats *stats);

/* Loads the same paths again and swaps the new ruleset in. On failure the
 * old ruleset stays. Returns 0 and fills *stats, YM_E_IO, YM_E_NOMEM. */
int rules_reload(struct rules *r, struct detect_load_stats *stats);

/* Takes the read lock and returns the current ruleset (NULL when none is
 * loaded); pair with rules_release on the same thread. */
const struct ruleset *rules_acquire(struct rules *r);
void rules_release(struct rules *r);

/* The correlation state of tenant_id for the current ruleset, created on
 * first use (at most RULES_MAX_TENANT_STATES tenants; default limits of
 * detect.h). Call while holding rules_acquire; always pair with
 * rules_correl_release, which unlocks, even when NULL was returned (no
 * ruleset, over the cap, or out of memory: events are then matched without
 * correlation). A reload drops every state: open windows start afresh. */
struct correl_state *rules_correl_acquire(struct rules *r, const char *tenant_id);
void rules_correl_release(struct rules *r);

void rules_free(struct rules *r);

#endif
