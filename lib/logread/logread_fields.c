/* logread_fields: the fields of one record on their way into an event. */
#include "logread_int.h"

#include "err.h"
#include "event.h"

#include <string.h>

void logread_fields_add(struct logread_fields *fl, struct logread_arena *a, const char *name,
			size_t nlen, const char *value, size_t vlen)
{
	const char *n, *v;

	if (nlen == 0 || nlen > LOGREAD_NAME_MAX || vlen > EVENT_MAX_VALUE ||
	    fl->n == LOGREAD_MAX_FIELDS || memchr(value, 0, vlen)) {
		fl->dropped++;
		return;
	}
	n = logread_arena_dup(a, name, nlen);
	v = n ? logread_arena_dup(a, value, vlen) : NULL;
	if (!v) {
		fl->dropped++;
		return;
	}
	fl->f[fl->n].name = n;
	fl->f[fl->n].value = v;
	fl->f[fl->n].len = vlen;
	fl->n++;
}

static int plain(struct logread_fields *fl, struct logread_arena *a, struct event *ev)
{
	uint32_t nx = 0;

	event_init(ev);
	for (unsigned i = 0; i < fl->n; i++) {
		char *own = (char *)fl->f[i].name; /* ours, in the arena */
		const char *nm = own, *in;
		size_t nl = strlen(own);
		int dup = 0;

		if (nl > EVENT_MAX_NAME) {
			fl->dropped++;
			continue;
		}
		for (size_t k = 0; k < nl; k++) {
			char c = own[k];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '.'))
				own[k] = '_';
		}
		/* the process-wide copy when there is room (event.h) */
		if ((in = event_name_intern(nm, nl)) != NULL)
			nm = in;
		if (ev->nfields < EVENT_MAX_FIELDS || event_get(ev, nm, NULL)) {
			if (event_set(ev, nm, fl->f[i].value, fl->f[i].len))
				fl->dropped++;
			continue;
		}
		/* past fields[]: a later duplicate name replaces the earlier value */
		for (uint32_t k = 0; k < nx; k++) {
			if (strcmp(a->xf[k].name, nm) == 0) {
				a->xf[k].value = fl->f[i].value;
				a->xf[k].value_len = (uint32_t)fl->f[i].len;
				dup = 1;
			}
		}
		if (dup)
			continue;
		a->xf[nx].name = nm;
		a->xf[nx].value = fl->f[i].value;
		a->xf[nx].value_len = (uint32_t)fl->f[i].len;
		nx++;
	}
	ev->xfields = nx ? a->xf : NULL;
	ev->nxfields = nx;
	return 0;
}

int logread_fields_commit(struct logread_fields *fl, struct logread_arena *a, struct event *ev,
			  struct logread_rec *rec, char *why, size_t whysz)
{
	const char *want_cat = rec->category, *want_svc = rec->service;
	unsigned cat;
	int r = 0;

	if (fl->windows) {
		r = winevt_map(a->win, fl->f, fl->n, ev);
		if (r) {
			logread_why(why, whysz, "Windows record: %s", ym_strerror(r));
			r = YM_E_PARSE;
			goto out;
		}
		for (uint32_t i = 0; i < ev->nxfields; i++) {
			if (strcmp(ev->xfields[i].name, "Computer") == 0)
				ev->host = ev->xfields[i].value;
		}
		if (want_svc)
			ev->service = want_svc;
		if (want_cat) {
			ev->category = 0;
			ev->category_name = NULL;
		}
	} else {
		plain(fl, a, ev);
		ev->product = rec->product;
		ev->service = want_svc;
	}
	if (want_cat) {
		if (event_category_parse(want_cat, &cat) == 0)
			ev->category = (uint16_t)cat;
		else
			ev->category_name = want_cat;
	}
	if (rec->product && !fl->windows)
		ev->product = rec->product;
	rec->product = ev->product;
	rec->service = ev->service;
	rec->category = ev->category ? event_category_name(ev->category) : ev->category_name;
	rec->windows = fl->windows;
out:
	rec->dropped += fl->dropped;
	fl->n = 0;
	fl->dropped = 0;
	fl->windows = 0;
	return r;
}
