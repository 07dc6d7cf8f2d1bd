/* `yamori rules check PATH...`: offline, no server. Parses every rule, prints
 * each problem as file:line: kind: reason, and ends with the summary line
 * `rules: N loaded, N unsupported, N errors` that scripts depend on. */
#include "rulescheck.h"
#include "detect.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static void on_diag(const struct detect_diag *d, void *ctx)
{
	char file[600], reason[600];
	(void)ctx;
	log_escape(d->file, strnlen(d->file, sizeof(d->file)), file, sizeof(file));
	log_escape(d->reason, strnlen(d->reason, sizeof(d->reason)), reason, sizeof(reason));
	printf("%s:%d: %s: %s\n", file, d->line, d->severity == YM_E_UNSUPPORTED ? "unsupported" : "error",
	       reason);
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
