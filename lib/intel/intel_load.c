/* intel_load: indicator files, plain lists and CSV (docs/intel.md "Files").
 * Lines come from the bounded line reader and are split through a cursor;
 * a bad line is reported and skipped, never the end of the load. */
#include "intel_int.h"

#include "err.h"
#include "logread.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES (64u << 10)
#define CSV_MAX_COLS   64
#define CELL_MAX       4096

static const struct {
	const char *name;
	enum intel_kind kind;
} kind_tab[] = {
    {"sha256", INTEL_SHA256},
    {"sha-256", INTEL_SHA256},
    {"filehash-sha256", INTEL_SHA256},
    {"sha1", INTEL_SHA1},
    {"sha-1", INTEL_SHA1},
    {"filehash-sha1", INTEL_SHA1},
    {"md5", INTEL_MD5},
    {"filehash-md5", INTEL_MD5},
    {"ip", INTEL_IP},
    {"ipv4", INTEL_IP},
    {"ipv6", INTEL_IP},
    {"cidr", INTEL_IP},
    {"ip-dst", INTEL_IP},
    {"ip-src", INTEL_IP},
    {"ipv4-addr", INTEL_IP},
    {"ipv6-addr", INTEL_IP},
    {"domain", INTEL_DOMAIN},
    {"hostname", INTEL_DOMAIN},
    {"fqdn", INTEL_DOMAIN},
    {"domain-name", INTEL_DOMAIN},
    {"url", INTEL_URL},
    {"uri", INTEL_URL},
};

int intel_kind_parse(const char *s, size_t n, enum intel_kind *out)
{
	for (size_t i = 0; i < sizeof(kind_tab) / sizeof(kind_tab[0]); i++) {
		if (strlen(kind_tab[i].name) == n && strncasecmp(kind_tab[i].name, s, n) == 0) {
			*out = kind_tab[i].kind;
			return 0;
		}
	}
	return YM_E_NOTFOUND;
}

enum colrole { COL_OTHER, COL_INDICATOR, COL_KIND, COL_TYPE, COL_DESC };

struct csvhdr {
	unsigned ncols;
	unsigned char role[CSV_MAX_COLS];
	unsigned char kind[CSV_MAX_COLS]; /* for COL_KIND */
};

struct cell {
	char s[CELL_MAX + 1];
	size_t n;
};

/* Splits one CSV line (RFC 4180 quoting within the line; a quoted field
 * cannot span lines) into at most CSV_MAX_COLS cells of at most CELL_MAX
 * bytes. Returns the cell count, or YM_E_PARSE with why. */
static int csv_split(const char *line, size_t len, struct cell *cells, const char **why)
{
	struct cursor c;
	const uint8_t *p;
	unsigned nc = 0;

	cursor_init(&c, line, len);
	for (;;) {
		struct cell *cl;
		int quoted = 0;

		if (nc == CSV_MAX_COLS) {
			*why = "more than 64 columns";
			return YM_E_PARSE;
		}
		cl = &cells[nc++];
		cl->n = 0;
		if (cursor_left(&c) > 0 && c.p[c.off] == '"') {
			quoted = 1;
			(void)cursor_get_bytes(&c, 1, &p);
		}
		for (;;) {
			if (cursor_get_bytes(&c, 1, &p)) {
				if (quoted) {
					*why = "unterminated quoted field";
					return YM_E_PARSE;
				}
				cl->s[cl->n] = 0;
				return (int)nc;
			}
			if (quoted && *p == '"') {
				const uint8_t *q;
				if (cursor_left(&c) > 0 && c.p[c.off] == '"') {
					(void)cursor_get_bytes(&c, 1, &q);
				} else {
					quoted = 0;
					if (cursor_left(&c) > 0 && c.p[c.off] != ',') {
						*why = "text after a closing quote";
						return YM_E_PARSE;
					}
					continue;
				}
			} else if (!quoted && *p == ',') {
				break;
			} else if (*p == 0) {
				*why = "NUL byte in the line";
				return YM_E_PARSE;
			}
			if (cl->n == CELL_MAX) {
				*why = "field longer than 4096 bytes";
				return YM_E_PARSE;
			}
			cl->s[cl->n++] = (char)*p;
		}
		cl->s[cl->n] = 0;
	}
}

static void trim(struct cell *c)
{
	size_t a = 0;

	while (a < c->n && (c->s[a] == ' ' || c->s[a] == '\t'))
		a++;
	while (c->n > a && (c->s[c->n - 1] == ' ' || c->s[c->n - 1] == '\t'))
		c->n--;
	memmove(c->s, c->s + a, c->n - a);
	c->n -= a;
	c->s[c->n] = 0;
}

/* Reads a header row. Returns 1 when it names an indicator column. */
static int csv_header(struct cell *cells, int nc, struct csvhdr *h)
{
	int any = 0;

	memset(h, 0, sizeof(*h));
	h->ncols = (unsigned)nc;
	for (int i = 0; i < nc; i++) {
		const char *s = cells[i].s;
		size_t n = cells[i].n;
		enum intel_kind k;

		if ((n == 9 && strncasecmp(s, "indicator", n) == 0) ||
		    (n == 3 && strncasecmp(s, "ioc", n) == 0) ||
		    (n == 5 && strncasecmp(s, "value", n) == 0)) {
			h->role[i] = COL_INDICATOR;
			any = 1;
		} else if ((n == 4 && strncasecmp(s, "type", n) == 0) ||
			   (n == 4 && strncasecmp(s, "kind", n) == 0)) {
			h->role[i] = COL_TYPE;
		} else if ((n == 11 && strncasecmp(s, "description", n) == 0) ||
			   (n == 7 && strncasecmp(s, "comment", n) == 0)) {
			h->role[i] = COL_DESC;
		} else if (intel_kind_parse(s, n, &k) == 0) {
			h->role[i] = COL_KIND;
			h->kind[i] = (unsigned char)k;
			any = 1;
		}
	}
	return any;
}

struct loadctx {
	struct intel_builder *b;
	const char *file, *source;
	size_t added, rejected;
	intel_diag_fn diag;
	void *ctx;
};

static void report(struct loadctx *L, unsigned line, const char *reason)
{
	L->rejected++;
	if (L->diag)
		L->diag(L->file, line, reason, L->ctx);
}

/* Adds one indicator; returns non-zero only for errors that end the load. */
static int add_one(struct loadctx *L, unsigned line, enum intel_kind kind, const char *text,
		   const char *desc)
{
	char why[160];
	int r = intel_builder_add(L->b, kind, text, L->source, desc, why, sizeof(why));

	if (r == 0) {
		L->added++;
		return 0;
	}
	if (r == YM_E_NOMEM || r == YM_E_TOOBIG) {
		report(L, line, why);
		return r;
	}
	report(L, line, why);
	return 0;
}

static int csv_row(struct loadctx *L, unsigned line, const struct csvhdr *h, struct cell *cells,
		   int nc)
{
	enum intel_kind kind = 0;
	const char *desc = "";
	int any = 0, r;

	if ((unsigned)nc != h->ncols) {
		report(L, line, "wrong number of columns");
		return 0;
	}
	for (int i = 0; i < nc; i++) {
		trim(&cells[i]);
		if (h->role[i] == COL_DESC)
			desc = cells[i].s;
		if (h->role[i] == COL_TYPE && cells[i].n &&
		    intel_kind_parse(cells[i].s, cells[i].n, &kind)) {
			report(L, line, "unknown indicator type");
			return 0;
		}
	}
	for (int i = 0; i < nc; i++) {
		if (h->role[i] != COL_INDICATOR && h->role[i] != COL_KIND)
			continue;
		if (cells[i].n == 0)
			continue;
		any = 1;
		r = add_one(L, line, h->role[i] == COL_KIND ? (enum intel_kind)h->kind[i] : kind,
			    cells[i].s, desc);
		if (r)
			return r;
	}
	if (!any)
		report(L, line, "no indicator on the line");
	return 0;
}

/* A plain line: the indicator is the first word; the rest (after blanks) is
 * its description, so sha256sum output loads as it is. */
static int list_row(struct loadctx *L, unsigned line, const char *s, size_t n)
{
	char ind[CELL_MAX + 1];
	struct cursor c;
	const uint8_t *p;
	size_t k = 0;

	cursor_init(&c, s, n);
	while (cursor_left(&c) > 0 && s[c.off] != ' ' && s[c.off] != '\t') {
		(void)cursor_get_bytes(&c, 1, &p);
		if (k == CELL_MAX) {
			report(L, line, "indicator longer than 4096 bytes");
			return 0;
		}
		ind[k++] = (char)*p;
	}
	ind[k] = 0;
	while (cursor_left(&c) > 0 && (s[c.off] == ' ' || s[c.off] == '\t' || s[c.off] == '*'))
		(void)cursor_get_bytes(&c, 1, &p); /* "*" marks binary mode in sha256sum output */
	return add_one(L, line, 0, ind, s + c.off);
}

static int blank_or_comment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == n || s[i] == '#';
}

static int load_lines(struct loadctx *L, struct logread_lines *lr, struct cell *cells)
{
	struct csvhdr hdr;
	int first = 1, csv = 0, r;
	const char *line, *why;
	size_t len;

	for (;;) {
		unsigned ln;
		int nc;

		r = logread_lines_next(lr, &line, &len);
		ln = (unsigned)lr->lineno;
		if (r == 0)
			return 0;
		if (r == YM_E_TOOBIG) {
			report(L, ln, "line longer than 64 KiB");
			continue;
		}
		if (r < 0)
			return r;
		if (memchr(line, 0, len)) {
			report(L, ln, "NUL byte in the line");
			continue;
		}
		if (ln == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			line += 3; /* UTF-8 byte order mark */
			len -= 3;
		}
		if (blank_or_comment(line, len))
			continue;
		if (first) {
			first = 0;
			if (memchr(line, ',', len)) {
				nc = csv_split(line, len, cells, &why);
				if (nc > 0) {
					for (int i = 0; i < nc; i++)
						trim(&cells[i]);
					csv = csv_header(cells, nc, &hdr);
				}
				if (csv)
					continue;
			}
		}
		if (csv) {
			nc = csv_split(line, len, cells, &why);
			if (nc < 0) {
				report(L, ln, why);
				continue;
			}
			r = csv_row(L, ln, &hdr, cells, nc);
		} else {
			r = list_row(L, ln, line, len);
		}
		if (r)
			return r;
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

/* Loads the lines of lr (opened by the caller, closed here) into L's
 * builder and adds L's counts to *added and *rejected. */
static int load_opened(struct loadctx *L, struct logread_lines *lr, size_t *added,
		       size_t *rejected)
{
	struct cell *cells = malloc(CSV_MAX_COLS * sizeof(*cells));
	int r = cells ? load_lines(L, lr, cells) : YM_E_NOMEM;

	free(cells);
	logread_lines_close(lr);
	*added += L->added;
	*rejected += L->rejected;
	return r;
}

int intel_builder_load_mem(struct intel_builder *b, const void *p, size_t len, const char *name,
			   const char *source, size_t *added, size_t *rejected, intel_diag_fn diag,
			   void *ctx)
{
	struct logread_lines lr;
	struct loadctx L = {b, name, source ? source : name, 0, 0, diag, ctx};
	int r = logread_lines_mem(&lr, p, len, LINE_MAX_BYTES);

	return r ? r : load_opened(&L, &lr, added, rejected);
}

int intel_builder_load_file(struct intel_builder *b, const char *path, const char *source,
			    size_t *added, size_t *rejected, intel_diag_fn diag, void *ctx)
{
	struct logread_lines lr;
	struct loadctx L = {b, path, source ? source : base_name(path), 0, 0, diag, ctx};
	int r = logread_lines_open(&lr, path, LINE_MAX_BYTES);

	return r ? r : load_opened(&L, &lr, added, rejected);
}
