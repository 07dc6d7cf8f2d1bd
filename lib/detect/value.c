/* value: one rule value -> the list of its variants, before they are compiled
 * into patterns.
 *
 * A value is held as units (a byte, or a '*' / '?' wildcard) so that
 * transformations keep wildcards apart from the bytes they encode. The
 * transformation modifiers (Sigma 2.1 appendix) are applied in the order the
 * rule writes them, as pySigma does:
 *
 *   expand        %name% -> each configured value (every combination)
 *   windash       a '-' or '/' (or en dash, em dash, horizontal bar) that
 *                 starts a word -> each of the five; every combination
 *   base64        standard Base64 of the bytes (no wildcards allowed)
 *   base64offset  the three shifted encodings, trimmed to the part that does
 *                 not depend on the surrounding bytes (pySigma's offsets)
 *   utf16le/be    each UTF-8 character as UTF-16 code units; wildcards kept
 *   utf16         byte order mark FF FE, then little-endian
 *
 * Every list is capped at DETECT_MAX_VARIANTS variants and all memory comes
 * from a scratch arena with its own cap, so a hostile value cannot expand
 * without bound. */
#include "detect_int.h"

#include "err.h"

#include <stdio.h>
#include <string.h>

#define VAL_PCT 258 /* an unescaped '%' while parsing with expand */

static struct value *val_new(struct arena *a, size_t n)
{
	struct value *v = arena_alloc(a, sizeof(*v));

	if (!v)
		return NULL;
	v->u = arena_alloc(a, (n ? n : 1) * sizeof(*v->u));
	if (!v->u)
		return NULL;
	v->n = 0;
	return v;
}

size_t value_count(const struct value *list)
{
	size_t n = 0;

	for (; list; list = list->next)
		n++;
	return n;
}

/* Sigma escapes into units; with pct, an unescaped '%' becomes VAL_PCT and
 * '\%' a plain '%'. dst holds at least n units. Returns the unit count. */
static size_t to_units(const char *s, size_t n, int pct, uint16_t *dst)
{
	size_t i = 0, k = 0;

	while (i < n) {
		uint8_t c = (uint8_t)s[i++];
		if (c == '*') {
			dst[k++] = VAL_STAR;
		} else if (c == '?') {
			dst[k++] = VAL_ONE;
		} else if (c == '%' && pct) {
			dst[k++] = VAL_PCT;
		} else if (c == '\\' && i < n &&
			   (s[i] == '*' || s[i] == '?' || s[i] == '\\' || (pct && s[i] == '%'))) {
			dst[k++] = (uint8_t)s[i++];
		} else {
			dst[k++] = c;
		}
	}
	return k;
}

static int is_name_unit(uint16_t u)
{
	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
	       u == '_';
}

/* Appends units src[0..n) to every variant of list (a fresh copy each). */
static int append_all(struct arena *a, struct value **list, const uint16_t *src, size_t n)
{
	for (struct value *v = *list; v; v = v->next) {
		uint16_t *u = arena_alloc(a, (v->n + n + 1) * sizeof(*u));
		if (!u)
			return a->err;
		memcpy(u, v->u, v->n * sizeof(*u));
		memcpy(u + v->n, src, n * sizeof(*u));
		v->u = u;
		v->n += (uint32_t)n;
	}
	return 0;
}

/* Replaces list by list x the values of one placeholder. */
static int cross(struct arena *a, struct value **list, const char *const *vals, size_t nv)
{
	struct value *out = NULL, **tail = &out;
	size_t total = value_count(*list) * nv;

	if (nv == 0 || total > DETECT_MAX_VARIANTS)
		return YM_E_TOOBIG;
	for (struct value *v = *list; v; v = v->next) {
		for (size_t i = 0; i < nv; i++) {
			size_t len = strlen(vals[i]);
			struct value *w = val_new(a, v->n + len + 1);
			if (!w)
				return a->err;
			memcpy(w->u, v->u, v->n * sizeof(*w->u));
			w->n = v->n + (uint32_t)to_units(vals[i], len, 0, w->u + v->n);
			*tail = w;
			tail = &w->next;
		}
	}
	*list = out;
	return 0;
}

int value_parse(struct arena *a, const char *s, size_t n, const struct placeholders *ph,
		int expand, struct value **out, char *missing, size_t missingsz)
{
	struct value *list = NULL;
	uint16_t *u;
	size_t k, i, lit;
	int r;

	list = val_new(a, n + 1);
	u = arena_alloc(a, (n + 1) * sizeof(*u));
	if (!list || !u)
		return a->err;
	k = to_units(s, n, expand, u);
	if (!expand) {
		memcpy(list->u, u, k * sizeof(*u));
		list->n = (uint32_t)k;
		*out = list;
		return 0;
	}
	/* Split into literal runs and %name% placeholders. */
	lit = 0;
	i = 0;
	while (i < k) {
		size_t j = i + 1;
		const char *const *vals;
		size_t nv = 0;
		char name[128];

		if (u[i] != VAL_PCT) {
			i++;
			continue;
		}
		while (j < k && is_name_unit(u[j]))
			j++;
		if (j >= k || u[j] != VAL_PCT || j == i + 1 || j - i - 1 >= sizeof(name)) {
			u[i++] = '%'; /* not a placeholder: a plain '%' */
			continue;
		}
		for (size_t m = i + 1; m < j; m++)
			name[m - i - 1] = (char)u[m];
		name[j - i - 1] = 0;
		vals = ph ? placeholders_get(ph, name, j - i - 1, &nv) : NULL;
		if (!vals || nv == 0) {
			snprintf(missing, missingsz, "%s", name);
			return YM_E_NOTFOUND;
		}
		r = append_all(a, &list, u + lit, i - lit);
		if (r == 0)
			r = cross(a, &list, vals, nv);
		if (r < 0)
			return r;
		i = j + 1;
		lit = i;
	}
	for (size_t m = lit; m < k; m++) {
		if (u[m] == VAL_PCT)
			u[m] = '%';
	}
	r = append_all(a, &list, u + lit, k - lit);
	if (r < 0)
		return r;
	*out = list;
	return 0;
}

/* ---- windash ---- */

static const char *const dashes[5] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};

static int is_word_unit(uint16_t u)
{
	return is_name_unit(u) || (u >= 0x80 && u <= 0xff);
}

/* Length in units of the dash starting at u[i] (0 when none). */
static size_t dash_at(const uint16_t *u, size_t n, size_t i)
{
	if (u[i] == '-' || u[i] == '/')
		return 1;
	if (u[i] == 0xe2 && i + 2 < n && u[i + 1] == 0x80 &&
	    (u[i + 2] == 0x93 || u[i + 2] == 0x94 || u[i + 2] == 0x95))
		return 3;
	return 0;
}

static int windash_one(struct arena *a, const struct value *v, struct value ***tail, size_t *total)
{
	size_t pos[16], len[16], k = 0, nvar = 1;

	/* pySigma replaces \B[-/]\b: a dash not preceded by a word character and
	 * followed by one. */
	for (size_t i = 0; i < v->n;) {
		size_t d = dash_at(v->u, v->n, i);
		if (d && (i == 0 || !is_word_unit(v->u[i - 1])) && i + d < v->n &&
		    is_word_unit(v->u[i + d])) {
			if (k == 16)
				return YM_E_TOOBIG;
			pos[k] = i;
			len[k++] = d;
			i += d;
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < k; i++) {
		nvar *= 5;
		if (nvar > DETECT_MAX_VARIANTS)
			return YM_E_TOOBIG;
	}
	*total += nvar;
	if (*total > DETECT_MAX_VARIANTS)
		return YM_E_TOOBIG;
	for (size_t c = 0; c < nvar; c++) {
		struct value *w = val_new(a, v->n + 2 * k + 1);
		size_t from = 0, digits = c;
		if (!w)
			return a->err;
		for (size_t i = 0; i < k; i++) {
			const char *rep = dashes[digits % 5];
			digits /= 5;
			memcpy(w->u + w->n, v->u + from, (pos[i] - from) * sizeof(*w->u));
			w->n += (uint32_t)(pos[i] - from);
			for (const char *p = rep; *p; p++)
				w->u[w->n++] = (uint8_t)*p;
			from = pos[i] + len[i];
		}
		memcpy(w->u + w->n, v->u + from, (v->n - from) * sizeof(*w->u));
		w->n += (uint32_t)(v->n - from);
		**tail = w;
		*tail = &w->next;
	}
	return 0;
}

/* ---- base64 ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes bytes p[0..n) into dst (room for 4 * ((n + 2) / 3)); returns the length. */
static size_t b64_encode(const uint8_t *p, size_t n, uint16_t *dst)
{
	size_t k = 0, i = 0;

	for (; i + 2 < n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		dst[k++] = (uint8_t)b64[w >> 18 & 63];
		dst[k++] = (uint8_t)b64[w >> 12 & 63];
		dst[k++] = (uint8_t)b64[w >> 6 & 63];
		dst[k++] = (uint8_t)b64[w & 63];
	}
	if (i < n) {
		uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		dst[k++] = (uint8_t)b64[w >> 18 & 63];
		dst[k++] = (uint8_t)b64[w >> 12 & 63];
		dst[k++] = i + 1 < n ? (uint8_t)b64[w >> 6 & 63] : '=';
		dst[k++] = '=';
	}
	return k;
}

static int base64_one(struct arena *a, const struct value *v, int offsets, struct value ***tail,
		      char *msg, size_t msgsz)
{
	/* pySigma: b64encode(i * b" " + value)[start[i] : end[(len + i) % 3]] */
	static const size_t start[3] = {0, 2, 3};
	static const size_t cut_end[3] = {0, 3, 2};
	uint8_t *bytes;

	bytes = arena_alloc(a, v->n + 3);
	if (!bytes)
		return a->err;
	for (size_t i = 0; i < v->n; i++) {
		if (v->u[i] > 0xff) {
			snprintf(msg, msgsz, "modifier '%s' cannot encode a value with wildcards",
				 offsets ? "base64offset" : "base64");
			return YM_E_PARSE;
		}
	}
	for (size_t shift = 0; shift < (offsets ? 3u : 1u); shift++) {
		size_t len = v->n + shift, k, s, e;
		struct value *w = val_new(a, 4 * ((len + 2) / 3) + 1);
		if (!w)
			return a->err;
		memset(bytes, ' ', shift);
		for (size_t i = 0; i < v->n; i++)
			bytes[shift + i] = (uint8_t)v->u[i];
		k = b64_encode(bytes, len, w->u);
		s = offsets ? start[shift] : 0;
		e = offsets ? cut_end[len % 3] : 0;
		if (s + e >= k) {
			snprintf(msg, msgsz,
				 "value too short for 'base64offset' (no fixed part in one of "
				 "the three encodings)");
			return YM_E_PARSE;
		}
		memmove(w->u, w->u + s, (k - s - e) * sizeof(*w->u));
		w->n = (uint32_t)(k - s - e);
		**tail = w;
		*tail = &w->next;
	}
	return 0;
}

/* ---- utf16 ---- */

/* Decodes one UTF-8 character at u[i] (bytes only); returns its length or 0. */
static size_t utf8_dec(const uint16_t *u, size_t n, size_t i, uint32_t *cp)
{
	uint16_t c = u[i];
	size_t len, k;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, v = c & 0x07;
	else
		return 0;
	if (i + len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if (u[i + k] > 0xff || (u[i + k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (u[i + k] & 0x3f);
	}
	if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
	    (len == 4 && (v < 0x10000 || v > 0x10ffff)))
		return 0;
	*cp = v;
	return len;
}

static void put16(uint16_t *dst, size_t *k, uint32_t cu, int be)
{
	dst[(*k)++] = (uint8_t)(be ? cu >> 8 : cu & 0xff);
	dst[(*k)++] = (uint8_t)(be ? cu & 0xff : cu >> 8);
}

static int utf16_one(struct arena *a, const struct value *v, enum mod_id id, struct value ***tail,
		     char *msg, size_t msgsz)
{
	int be = id == MOD_UTF16BE;
	struct value *w = val_new(a, 4 * (size_t)v->n + 2);
	size_t k = 0;

	if (!w)
		return a->err;
	if (id == MOD_UTF16) {
		w->u[k++] = 0xff;
		w->u[k++] = 0xfe;
	}
	for (size_t i = 0; i < v->n;) {
		uint32_t cp;
		size_t len;
		if (v->u[i] > 0xff) {
			w->u[k++] = v->u[i++]; /* wildcards stay wildcards */
			continue;
		}
		len = utf8_dec(v->u, v->n, i, &cp);
		if (!len) {
			snprintf(msg, msgsz, "modifier 'utf16' needs valid UTF-8 in the value");
			return YM_E_PARSE;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put16(w->u, &k, 0xd800 | (cp >> 10), be);
			put16(w->u, &k, 0xdc00 | (cp & 0x3ff), be);
		} else {
			put16(w->u, &k, cp, be);
		}
		i += len;
	}
	w->n = (uint32_t)k;
	**tail = w;
	*tail = &w->next;
	return 0;
}

int value_apply(struct arena *a, enum mod_id id, struct value **list, char *msg, size_t msgsz)
{
	struct value *out = NULL, **tail = &out;
	size_t total = 0;
	int r = 0;

	for (struct value *v = *list; v && r == 0; v = v->next) {
		switch (id) {
		case MOD_WINDASH:
			r = windash_one(a, v, &tail, &total);
			if (r == YM_E_TOOBIG)
				snprintf(msg, msgsz,
					 "modifier 'windash' expands a value to more than %u "
					 "variants",
					 DETECT_MAX_VARIANTS);
			break;
		case MOD_BASE64:
		case MOD_BASE64OFFSET:
			r = base64_one(a, v, id == MOD_BASE64OFFSET, &tail, msg, msgsz);
			break;
		case MOD_UTF16LE:
		case MOD_UTF16BE:
		case MOD_UTF16:
			r = utf16_one(a, v, id, &tail, msg, msgsz);
			break;
		default:
			snprintf(msg, msgsz, "internal: modifier %d is not a transformation", id);
			r = YM_E_INTERNAL;
			break;
		}
	}
	if (r == 0 && value_count(out) > DETECT_MAX_VARIANTS) {
		snprintf(msg, msgsz, "a value expands to more than %u variants",
			 DETECT_MAX_VARIANTS);
		r = YM_E_TOOBIG;
	}
	if (r == 0)
		*list = out;
	return r;
}
