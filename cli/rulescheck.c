/* `yamori rules check`: offline, no server. Parses every rule, prints each
 * problem as file:line: kind: reason, and ends with the summary line
 * `rules: N loaded, N unsupported, N errors` that scripts depend on. */
#include "rulescheck.h"
#include "detect.h"
#include "err.h"

#include <getopt.h>
#include <stdio.h>

/* The engine already escapes control bytes in file and reason. */
static void on_diag(const struct detect_diag *d, void *ctx)
{
	(void)ctx;
	printf("%s:%d: %s: %s\n", d->file, d->line,
	       d->severity == YM_E_UNSUPPORTED ? "unsupported" : "error", d->reason);
}

static void usage(void)
{
	fprintf(stderr, "usage: yamori rules check [--quiet] [--placeholders FILE] PATH...\n");
}

int rulescheck_main(int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, 0, 'q'},
					     {"placeholders", required_argument, 0, 'p'},
					     {0, 0, 0, 0}};
	struct placeholders *ph = NULL;
	struct detect_options dopt = {0};
	struct ruleset *rs = NULL;
	struct detect_load_stats st = {0};
	char err[256];
	int quiet = 0, o, r, rc = 2;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'q': quiet = 1; break;
		case 'p':
			if (!ph && placeholders_new(&ph)) {
				fprintf(stderr, "yamori: out of memory\n");
				goto out;
			}
			if (placeholders_load(ph, optarg, err, sizeof(err))) {
				fprintf(stderr, "yamori: %s: %s\n", optarg, err);
				goto out;
			}
			break;
		default: usage(); goto out;
		}
	}
	if (optind >= argc) {
		usage();
		goto out;
	}
	dopt.placeholders = ph;
	r = ruleset_load_opts((const char *const *)argv + optind, (size_t)(argc - optind), &dopt,
			      &rs, &st, quiet ? NULL : on_diag, NULL);
	if (r) {
		fprintf(stderr, "yamori: rules check: %s\n", ym_strerror(r));
		goto out;
	}
	if (st.skipped)
		printf("rules: %u YAML documents skipped: not Sigma rules (no title, logsource, "
		       "detection, correlation or filter)\n",
		       st.skipped);
	printf("rules: %u loaded, %u unsupported, %u errors\n", st.loaded, st.unsupported,
	       st.errors);
	rc = st.errors ? 1 : 0;
out:
	ruleset_free(rs);
	placeholders_free(ph);
	return rc;
}
