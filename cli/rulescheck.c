/* `yamori rules check PATH...`: offline, no server. Parses every rule, prints
 * each problem as file:line: kind: reason, and ends with the summary line
 * `rules: N loaded, N unsupported, N errors` that scripts depend on. */
#include "rulescheck.h"
#include "detect.h"
#include "err.h"

#include <stdio.h>

/* The engine already escapes control bytes in file and reason. */
static void on_diag(const struct detect_diag *d, void *ctx)
{
	(void)ctx;
	printf("%s:%d: %s: %s\n", d->file, d->line,
	       d->severity == YM_E_UNSUPPORTED ? "unsupported" : "error", d->reason);
}

int rulescheck_run(const char *const *paths, size_t npaths, int quiet)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st = {0};
	int r;

	r = ruleset_load(paths, npaths, &rs, &st, quiet ? NULL : on_diag, NULL);
	if (r) {
		fprintf(stderr, "yamori: rules check: %s\n", ym_strerror(r));
		return 2;
	}
	printf("rules: %u loaded, %u unsupported, %u errors\n", st.loaded, st.unsupported,
	       st.errors);
	ruleset_free(rs);
	return st.errors ? 1 : 0;
}
