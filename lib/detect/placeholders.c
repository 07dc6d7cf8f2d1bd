/* placeholders: the values of %name% placeholders for the 'expand' modifier.
 *
 * A small map of name -> list of Sigma strings, filled by the caller (or from
 * a YAML file `name: [values]`) and read while rules compile. Names are
 * compared exactly, as pySigma does. Every list has a cap, so a placeholder
 * file cannot make a rule expand without bound (value.c caps the variants of
 * one value as well). */
#include "detect_int.h"

#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PH_MAX_NAMES  4096
#define PH_MAX_VALUES 65536
#define PH_MAX_VALUE  4096
#define PH_MAX_NAME   127

struct ph_entry {
	char *name;
	char **vals;
	size_t n, alloc;
};

struct placeholders {
	struct ph_entry *e;
	size_t n, alloc;
};

int placeholders_new(struct placeholders **out)
{
	struct placeholders *ph = calloc(1, sizeof(*ph));

	if (!ph)
		return YM_E_NOMEM;
	*out = ph;
	return 0;
}

void placeholders_free(struct placeholders *ph)
{
	if (!ph)
		return;
	for (size_t i = 0; i < ph->n; i++) {
		for (size_t j = 0; j < ph->e[i].n; j++)
			free(ph->e[i].vals[j]);
		free(ph->e[i].vals);
		free(ph->e[i].name);
	}
	free(ph->e);
	free(ph);
}

static struct ph_entry *find(const struct placeholders *ph, const char *name, size_t n)
{
	for (size_t i = 0; i < ph->n; i++) {
		if (strlen(ph->e[i].name) == n && memcmp(ph->e[i].name, name, n) == 0)
			return &ph->e[i];
	}
	return NULL;
}

const char *const *placeholders_get(const struct placeholders *ph, const char *name, size_t n,
				    size_t *nvals)
{
	const struct ph_entry *e = ph ? find(ph, name, n) : NULL;

	if (!e)
		return NULL;
	*nvals = e->n;
	return (const char *const *)e->vals;
}

static int name_ok(const char *name, size_t n)
{
	if (n == 0 || n > PH_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return 0;
	}
	return 1;
}

static int add_n(struct placeholders *ph, const char *name, size_t nl, const char *value,
		 size_t vl)
{
	struct ph_entry *e;
	char *v = NULL;
	int rc = YM_E_NOMEM;

	if (nl >= 2 && name[0] == '%' && name[nl - 1] == '%') {
		name++;
		nl -= 2;
	}
	if (!name_ok(name, nl) || memchr(value, 0, vl))
		return YM_E_INVAL;
	if (vl > PH_MAX_VALUE)
		return YM_E_TOOBIG;
	e = find(ph, name, nl);
	if (!e) {
		if (ph->n >= PH_MAX_NAMES)
			return YM_E_TOOBIG;
		if (ph->n == ph->alloc) {
			size_t na = ph->alloc ? ph->alloc * 2 : 16;
			struct ph_entry *ne = realloc(ph->e, na * sizeof(*ne));
			if (!ne)
				goto out;
			ph->e = ne;
			ph->alloc = na;
		}
		e = &ph->e[ph->n];
		memset(e, 0, sizeof(*e));
		e->name = malloc(nl + 1);
		if (!e->name)
			goto out;
		memcpy(e->name, name, nl);
		e->name[nl] = 0;
		ph->n++;
	}
	if (e->n >= PH_MAX_VALUES) {
		rc = YM_E_TOOBIG;
		goto out;
	}
	if (e->n == e->alloc) {
		size_t na = e->alloc ? e->alloc * 2 : 8;
		char **nv = realloc(e->vals, na * sizeof(*nv));
		if (!nv)
			goto out;
		e->vals = nv;
		e->alloc = na;
	}
	v = malloc(vl + 1);
	if (!v)
		goto out;
	memcpy(v, value, vl);
	v[vl] = 0;
	e->vals[e->n++] = v;
	v = NULL;
	rc = 0;
out:
	free(v);
	return rc;
}

int placeholders_add(struct placeholders *ph, const char *name, const char *value)
{
	if (!ph || !name || !value)
		return YM_E_INVAL;
	return add_n(ph, name, strlen(name), value, strlen(value));
}

struct ph_load {
	struct placeholders *ph;
	char *err;
	size_t errsz;
	int docs;
};

static int ph_doc(const struct ynode *root, void *ctx)
{
	struct ph_load *L = ctx;
	int rc;

	if (L->docs++ > 0 || !root)
		return 0;
	if (root->kind != YN_MAP) {
		snprintf(L->err, L->errsz, "line %d: placeholders must be a map of name: values",
			 root->line);
		return YM_E_PARSE;
	}
	for (const struct ynode *k = root->first; k && k->next; k = k->next->next) {
		const struct ynode *v = k->next;
		if (k->kind != YN_SCALAR) {
			snprintf(L->err, L->errsz, "line %d: placeholder names must be strings",
				 k->line);
			return YM_E_PARSE;
		}
		for (const struct ynode *x = v->kind == YN_SEQ ? v->first : v; x;
		     x = v->kind == YN_SEQ ? x->next : NULL) {
			if (x->kind != YN_SCALAR) {
				snprintf(L->err, L->errsz,
					 "line %d: placeholder values must be strings", x->line);
				return YM_E_PARSE;
			}
			rc = add_n(L->ph, k->str, k->len, x->str, x->len);
			if (rc == YM_E_INVAL) {
				snprintf(L->err, L->errsz,
					 "line %d: bad placeholder name or value (names are "
					 "[A-Za-z0-9_]+)",
					 k->line);
				return YM_E_PARSE;
			}
			if (rc < 0) {
				snprintf(L->err, L->errsz, "line %d: %s", x->line, ym_strerror(rc));
				return rc;
			}
		}
	}
	return 0;
}

int placeholders_load_mem(struct placeholders *ph, const char *yaml, size_t len, char *err,
			  size_t errsz)
{
	struct ph_load L = {.ph = ph, .err = err, .errsz = errsz};
	struct yamltree_err yerr = {0};
	struct arena a;
	int rc;

	if (errsz)
		err[0] = 0;
	if (!ph || !yaml)
		return YM_E_INVAL;
	if (len > DETECT_MAX_FILE_SIZE * 16u)
		return YM_E_TOOBIG;
	arena_init(&a, 64u << 20);
	rc = yamltree_parse(yaml, len, &a, ph_doc, &L, &yerr);
	if (rc < 0 && rc != YM_E_NOMEM && !(errsz && err[0]))
		snprintf(err, errsz, "line %d: %s", yerr.line, yerr.reason);
	if (rc == YM_E_UNSUPPORTED)
		rc = YM_E_PARSE;
	arena_free(&a);
	return rc;
}

int placeholders_load(struct placeholders *ph, const char *path, char *err, size_t errsz)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = util_read_file(path, DETECT_MAX_FILE_SIZE * 16u, &buf, &len);
	if (rc < 0) {
		if (errsz)
			snprintf(err, errsz, "cannot read %s", path);
		goto out;
	}
	rc = placeholders_load_mem(ph, buf, len, err, errsz);
out:
	free(buf);
	return rc;
}
