/* jsonin.c: table-driven checks so each handler states its input once. */
#include "jsonin.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

static const struct jsonin_field *find(const struct jsonin_field *spec, size_t n, const char *k)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(spec[i].name, k) == 0)
			return &spec[i];
	}
	return NULL;
}

int jsonin_parse(const char *body, size_t len, const struct jsonin_field *spec, size_t n,
		 json_t **out, char *why, size_t whysz)
{
	json_error_t err;
	json_t *o, *v;
	const char *key;
	int r = YM_E_INVAL;

	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (!o) {
		snprintf(why, whysz, "malformed JSON");
		return YM_E_PARSE;
	}
	if (!json_is_object(o)) {
		snprintf(why, whysz, "a JSON object is expected");
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		const struct jsonin_field *f = find(spec, n, key);
		if (!f) {
			/* the key came from the client: do not echo it */
			snprintf(why, whysz, "unknown field");
			goto out;
		}
		if (f->type == JSONIN_STR) {
			size_t sl;
			if (!json_is_string(v)) {
				snprintf(why, whysz, "%s: a string is expected", f->name);
				goto out;
			}
			sl = json_string_length(v);
			if (strlen(json_string_value(v)) != sl) {
				snprintf(why, whysz, "%s: NUL in string", f->name);
				goto out;
			}
			if ((int64_t)sl < f->min || (int64_t)sl > f->max) {
				snprintf(why, whysz, "%s: length out of range", f->name);
				goto out;
			}
		} else {
			json_int_t iv;
			if (!json_is_integer(v)) {
				snprintf(why, whysz, "%s: an integer is expected", f->name);
				goto out;
			}
			iv = json_integer_value(v);
			if (iv < f->min || iv > f->max) {
				snprintf(why, whysz, "%s: out of range", f->name);
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (spec[i].required && !json_object_get(o, spec[i].name)) {
			snprintf(why, whysz, "%s: missing", spec[i].name);
			goto out;
		}
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(o);
	return r;
}

const char *jsonin_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int jsonin_int(json_t *o, const char *key, int64_t *v)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j))
		return 0;
	*v = json_integer_value(j);
	return 1;
}
