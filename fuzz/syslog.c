/* Fuzz target: syslog lines (lib/logread: RFC 5424 header and structured
 * data, RFC 3164 time stamps and tags, service mapping) and, on the same
 * bytes, the EVTX record XML conversion (expat, winevt_map). Checks that
 * every parsed event is well-formed and every refusal says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "logread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct event *ev, const struct logread_rec *rec)
{
	if (ev->nfields > EVENT_MAX_FIELDS || (ev->nxfields && !ev->xfields) || !rec->product)
		abort();
	for (size_t i = 0; i < (size_t)ev->nfields + ev->nxfields; i++) {
		const struct event_field *f =
		    i < ev->nfields ? &ev->fields[i] : &ev->xfields[i - ev->nfields];
		if (!f->name || !f->value || f->value[f->value_len] != 0 ||
		    memchr(f->value, 0, f->value_len))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct logread_arena a;
	struct logread_rec rec;
	struct event ev;
	char why[256], *s;
	int r;

	if (!a.p && logread_arena_init(&a, LOGREAD_ARENA))
		return 0;
	if (size > (1u << 16))
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	why[0] = 0;
	r = logread_syslog_parse(s, size, NULL, 1798848000000000000ull, &a, &ev, &rec, why,
				 sizeof(why));
	if (r == 0)
		check(&ev, &rec);
	else if (r != YM_E_PARSE || !why[0])
		abort();
	why[0] = 0;
	r = logread_evtx_xml(s, size, NULL, &a, &ev, &rec, why, sizeof(why));
	if (r == 0)
		check(&ev, &rec);
	else if ((r != YM_E_PARSE && r != YM_E_NOMEM) || !why[0])
		abort();
	free(s);
	return 0;
}
