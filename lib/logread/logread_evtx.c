/* logread_evtx: EVTX files through libevtx; each record's XML (as libevtx
 * renders it) is turned into fields with expat, in the shape of evtx_dump's
 * JSON that SigmaHQ's regression data uses. */
#include "logread_int.h"

#include "err.h"
#include "event.h"

#include <expat.h>
/* Debian's libevtx-dev says it was built with libbfio but does not ship or
 * depend on libbfio.h; nothing here uses the bfio entry points. */
#include <libevtx/features.h>
#undef LIBEVTX_HAVE_BFIO
#include <libevtx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_DEPTH 32
#define TEXT_MAX  EVENT_MAX_VALUE

struct xstate {
	XML_Parser xp;
	struct logread_fields *fl;
	struct logread_arena *a;
	char path[LOGREAD_NAME_MAX + 2];
	size_t plen[XML_DEPTH + 1]; /* path length at each depth */
	int depth;		    /* elements open */
	int over;		    /* depth beyond XML_DEPTH or path too long */
	char *text;		    /* character data of the innermost element */
	size_t tlen;
	int text_over;
	int data_name; /* the innermost element is <Data Name=...>: path already names it */
	unsigned unnamed;
	uint64_t ts_ns;
	int err;
};

/* The local part of a possibly prefixed name ("ns:Elem" -> "Elem"). */
static const char *local(const char *n)
{
	const char *c = strrchr(n, ':');
	return c ? c + 1 : n;
}

static int path_push(struct xstate *X, size_t at, const char *seg, size_t n)
{
	size_t need = at + (at ? 1 : 0) + n;

	if (n == 0 || need > LOGREAD_NAME_MAX)
		return -1;
	if (at)
		X->path[at++] = '.';
	memcpy(X->path + at, seg, n);
	X->path[need] = 0;
	return (int)need;
}

static int in_eventdata(const struct xstate *X, size_t at)
{
	return at == 15 && memcmp(X->path, "Event.EventData", 15) == 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xstate *X = ud;
	size_t at;
	const char *ln = local(name), *dn = NULL;
	int np;

	X->tlen = 0;
	X->text_over = 0;
	if (X->over || X->depth >= XML_DEPTH) {
		X->over++;
		return;
	}
	at = X->depth ? X->plen[X->depth] : 0;
	for (int i = 0; attrs[i]; i += 2) {
		if (strcmp(local(attrs[i]), "Name") == 0)
			dn = attrs[i + 1];
	}
	X->data_name = 0;
	if (in_eventdata(X, at) && strcmp(ln, "Data") == 0) {
		char idx[16];
		if (dn && *dn) {
			np = path_push(X, at, dn, strlen(dn));
			X->data_name = 1;
		} else {
			int k = snprintf(idx, sizeof(idx), "Data.%u", X->unnamed++);
			np = path_push(X, at, idx, (size_t)k);
		}
	} else {
		np = path_push(X, at, ln, strlen(ln));
	}
	if (np < 0) {
		X->fl->dropped++;
		X->over++;
		return;
	}
	X->depth++;
	X->plen[X->depth] = (size_t)np;
	for (int i = 0; attrs[i]; i += 2) {
		const char *an = local(attrs[i]);
		char seg[160];
		int ap, k;
		if (strncmp(attrs[i], "xmlns", 5) == 0 || (X->data_name && strcmp(an, "Name") == 0))
			continue;
		/* evtx_dump's JSON shape: Element.#attributes.Name */
		k = snprintf(seg, sizeof(seg), "#attributes.%s", an);
		ap = k > 0 && (size_t)k < sizeof(seg) ? path_push(X, (size_t)np, seg, (size_t)k)
						      : -1;
		if (ap < 0) {
			X->fl->dropped++;
		} else {
			logread_fields_add(X->fl, X->a, X->path, (size_t)ap, attrs[i + 1],
					   strlen(attrs[i + 1]));
			if (strcmp(X->path, "Event.System.TimeCreated.#attributes.SystemTime") == 0)
				(void)timefmt_rfc3339(attrs[i + 1], strlen(attrs[i + 1]),
						      &X->ts_ns);
		}
		X->path[np] = 0;
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xstate *X = ud;

	if (X->over || len <= 0)
		return;
	if ((size_t)len > TEXT_MAX - X->tlen) {
		X->text_over = 1;
		return;
	}
	memcpy(X->text + X->tlen, s, (size_t)len);
	X->tlen += (size_t)len;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xstate *X = ud;
	size_t n = X->tlen, b = 0;

	(void)name;
	if (X->over) {
		X->over--;
		return;
	}
	/* text of an element (mixed content between children is layout only) */
	while (b < n && (X->text[b] == ' ' || X->text[b] == '\n' || X->text[b] == '\r' ||
			 X->text[b] == '\t'))
		b++;
	if (X->text_over) {
		X->fl->dropped++;
	} else if (b < n || X->data_name) {
		const char *v = b < n ? X->text : "";
		size_t vl = b < n ? n : 0;
		logread_fields_add(X->fl, X->a, X->path, X->plen[X->depth], v, vl);
	}
	X->tlen = 0;
	X->text_over = 0;
	X->data_name = 0;
	X->depth--;
	X->path[X->plen[X->depth]] = 0;
	if (X->depth == 0)
		X->path[0] = 0;
}

int logread_evtx_xml(const char *xml, size_t len, const struct logread_opts *o,
		     struct logread_arena *arena, struct event *ev, struct logread_rec *rec,
		     char *why, size_t whysz)
{
	static __thread struct logread_fields fl;
	struct xstate X;
	int r = YM_E_NOMEM;

	event_init(ev);
	memset(rec, 0, sizeof(*rec));
	logread_arena_reset(arena);
	fl.n = 0;
	fl.dropped = 0;
	fl.windows = 1;
	memset(&X, 0, sizeof(X));
	X.fl = &fl;
	X.a = arena;
	if (len > LOGREAD_EVTX_XML || len > INT32_MAX) {
		logread_why(why, whysz, "record XML over 4 MiB");
		return YM_E_PARSE;
	}
	X.text = malloc(TEXT_MAX);
	X.xp = XML_ParserCreate("UTF-8");
	if (!X.text || !X.xp) {
		logread_why(why, whysz, "out of memory");
		goto out;
	}
	XML_SetUserData(X.xp, &X);
	XML_SetElementHandler(X.xp, on_start, on_end);
	XML_SetCharacterDataHandler(X.xp, on_text);
	if (XML_Parse(X.xp, xml, (int)len, 1) != XML_STATUS_OK) {
		logread_why(why, whysz, "record XML: %s (line %lu)",
			    XML_ErrorString(XML_GetErrorCode(X.xp)),
			    (unsigned long)XML_GetCurrentLineNumber(X.xp));
		r = YM_E_PARSE;
		goto out;
	}
	rec->category = o ? o->category : NULL;
	rec->service = o ? o->service : NULL;
	if ((r = logread_fields_commit(&fl, arena, ev, rec, why, whysz)))
		goto out;
	ev->ts_ns = X.ts_ns;
out:
	if (X.xp)
		XML_ParserFree(X.xp);
	free(X.text);
	return r;
}

/* ---- files ---- */

struct logread_evtx {
	libevtx_file_t *file;
	int nrec, next;
	uint8_t *xml;
	size_t xmlcap;
};

static void evtx_err(libevtx_error_t **e, char *why, size_t whysz, const char *what)
{
	char m[256] = "";

	if (*e) {
		libevtx_error_sprint(*e, m, sizeof(m));
		libevtx_error_free(e);
	}
	/* libevtx's messages span lines: keep the first */
	m[strcspn(m, "\r\n")] = 0;
	logread_why(why, whysz, "%s%s%s", what, *m ? ": " : "", m);
}

int logread_evtx_open(const char *path, struct logread_evtx **out, char *why, size_t whysz)
{
	struct logread_evtx *x = calloc(1, sizeof(*x));
	libevtx_error_t *e = NULL;
	int r = YM_E_NOMEM;

	if (!x)
		goto out;
	if (libevtx_file_initialize(&x->file, &e) != 1) {
		evtx_err(&e, why, whysz, "libevtx");
		goto out;
	}
	if (libevtx_file_open(x->file, path, LIBEVTX_OPEN_READ, &e) != 1) {
		evtx_err(&e, why, whysz, "not a readable EVTX file");
		r = YM_E_PARSE;
		goto out;
	}
	if (libevtx_file_get_number_of_records(x->file, &x->nrec, &e) != 1) {
		evtx_err(&e, why, whysz, "EVTX record count");
		r = YM_E_PARSE;
		goto out;
	}
	*out = x;
	x = NULL;
	r = 0;
out:
	logread_evtx_close(x);
	return r;
}

void logread_evtx_close(struct logread_evtx *x)
{
	if (!x)
		return;
	if (x->file) {
		libevtx_file_close(x->file, NULL);
		libevtx_file_free(&x->file, NULL);
	}
	free(x->xml);
	free(x);
}

int logread_evtx_next(struct logread_evtx *x, const struct logread_opts *o,
		      struct logread_arena *arena, struct event *ev, struct logread_rec *rec,
		      uint64_t *where, char *why, size_t whysz)
{
	libevtx_record_t *rc = NULL;
	libevtx_error_t *e = NULL;
	uint64_t id = 0;
	size_t sz = 0;
	int r = YM_E_PARSE;

	if (x->next >= x->nrec)
		return 0;
	*where = (uint64_t)x->next + 1;
	if (libevtx_file_get_record_by_index(x->file, x->next++, &rc, &e) != 1) {
		evtx_err(&e, why, whysz, "EVTX record");
		goto out;
	}
	if (libevtx_record_get_identifier(rc, &id, &e) == 1)
		*where = id;
	else
		libevtx_error_free(&e);
	if (libevtx_record_get_utf8_xml_string_size(rc, &sz, &e) != 1 || sz == 0) {
		evtx_err(&e, why, whysz, "EVTX record XML");
		goto out;
	}
	if (sz > LOGREAD_EVTX_XML) {
		logread_why(why, whysz, "record XML over 4 MiB");
		goto out;
	}
	if (sz > x->xmlcap) {
		uint8_t *p = realloc(x->xml, sz);
		if (!p) {
			r = YM_E_NOMEM;
			goto out;
		}
		x->xml = p;
		x->xmlcap = sz;
	}
	if (libevtx_record_get_utf8_xml_string(rc, x->xml, sz, &e) != 1) {
		evtx_err(&e, why, whysz, "EVTX record XML");
		goto out;
	}
	/* sz counts the terminating NUL */
	r = logread_evtx_xml((const char *)x->xml, strnlen((const char *)x->xml, sz), o, arena, ev,
			     rec, why, whysz);
	if (r == 0)
		r = 1;
out:
	if (rc)
		libevtx_record_free(&rc, NULL);
	return r;
}
