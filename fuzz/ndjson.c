/* Fuzz target: NDJSON records (lib/logread: jansson, flattening, envelope,
 * Windows records through winevt_map) and the bounded line reader over the
 * same bytes. Checks that every parsed event is well-formed: valid names,
 * NUL-terminated values of the stated length, counts within bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "logread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct event *ev, const struct logread_rec *rec)
{
	if (ev->nfields > EVENT_MAX_FIELDS || (ev->nxfields && !ev->xfields) ||
	    (size_t)ev->nfields + ev->nxfields > LOGREAD_MAX_FIELDS + 8)
		abort();
	for (size_t i = 0; i < (size_t)ev->nfields + ev->nxfields; i++) {
		const struct event_field *f =
		    i < ev->nfields ? &ev->fields[i] : &ev->xfields[i - ev->nfields];
		if (!f->name || !f->value || f->value[f->value_len] != 0 ||
		    memchr(f->value, 0, f->value_len))
			abort();
		if (i < ev->nfields && !event_name_ok(f->name, strlen(f->name)))
			abort();
	}
	if (!rec->product || (rec->windows && strcmp(rec->product, "windows") != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct logread_arena a;
	struct logread_opts o = {"linux", NULL, NULL};
	struct logread_lines l;
	struct logread_rec rec;
	struct event ev;
	const char *line;
	size_t len;
	char why[256];
	int r;

	if (!a.p && logread_arena_init(&a, LOGREAD_ARENA))
		return 0;
	if (logread_lines_mem(&l, data, size, 1u << 16))
		return 0;
	while ((r = logread_lines_next(&l, &line, &len)) != 0) {
		if (r == YM_E_TOOBIG)
			continue;
		if (r < 0)
			abort();
		if (line[len] != 0)
			abort();
		why[0] = 0;
		r = logread_ndjson_parse(line, len, &o, &a, &ev, &rec, why, sizeof(why));
		if (r == 0)
			check(&ev, &rec);
		else if (r != YM_E_PARSE || !why[0])
			abort();
	}
	logread_lines_close(&l);
	return 0;
}
