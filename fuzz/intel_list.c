/* Fuzz target: IoC lists and CSV (lib/intel: line reader, CSV splitting,
 * indicator syntax, refanging, URL normalisation) and matching an event
 * built from the same bytes against what loaded. Checks the load contract:
 * it succeeds unless out of memory, every line is accepted or reported, and
 * every diagnostic is one line with a line number. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "intel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	size_t n;
};

static void on_diag(const char *file, unsigned line, const char *reason, void *ctx)
{
	struct seen *s = ctx;

	if (strcmp(file, "fuzz.txt") != 0 || line == 0 || !reason[0] || strchr(reason, '\n'))
		abort();
	s->n++;
}

static int on_hit(const struct intel_hit *h, const struct event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	if (!h->indicator || !h->source || !h->description || !h->field || !h->value ||
	    !intel_kind_name(h->kind)[0])
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"Hashes",	 "sha256", "DestinationIp",
					    "QueryName", "Url",	   "md5"};
	struct intel_builder *b = NULL;
	struct intel_set *s = NULL;
	struct seen seen = {0};
	size_t added = 0, rejected = 0;
	struct event ev;
	char *copy;
	int rc;

	if (intel_builder_new(&b))
		return 0;
	rc = intel_builder_load_mem(b, data, size, "fuzz.txt", NULL, &added, &rejected, on_diag,
				    &seen);
	if (rc == YM_E_NOMEM) {
		intel_builder_free(b);
		return 0;
	}
	if (rc != 0 || rejected != seen.n)
		abort();
	if (intel_builder_finish(b, &s))
		return 0;
	if (intel_set_count(s) > added)
		abort();
	/* each line of the input as each field's value: most lines must hit themselves */
	copy = malloc(size + 1);
	if (copy) {
		char *line = copy, *nl;
		memcpy(copy, data, size);
		copy[size] = 0;
		for (int k = 0; line && k < 64; k++, line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			event_init(&ev);
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				event_set_str(&ev, names[i], line);
			if (intel_match(s, &ev, on_hit, NULL) < 0)
				abort();
		}
		free(copy);
	}
	intel_set_free(s);
	return 0;
}
