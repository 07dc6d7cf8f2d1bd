/* jsonin: strict validation of JSON request bodies against a small field
 * table: the body must be one object, with no duplicate and no unknown
 * keys, every required key present, each value of the declared type,
 * strings within their length bounds and free of NUL, integers within
 * their range. Thread-safe. */
#ifndef YM_SERVER_JSONIN_H
#define YM_SERVER_JSONIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum jsonin_type { JSONIN_STR, JSONIN_INT };

struct jsonin_field {
	const char *name;
	enum jsonin_type type;
	int required;
	int64_t min, max; /* string length in bytes, or integer value */
};

/* Parses and checks body (len bytes). Returns 0 and sets *out (a new
 * reference: json_decref it), or YM_E_PARSE / YM_E_INVAL with a short,
 * static-text-plus-key-name reason in why (whysz bytes). */
int jsonin_parse(const char *body, size_t len, const struct jsonin_field *spec, size_t n,
		 json_t **out, char *why, size_t whysz);

/* The string value of key in a checked object, or NULL when absent. */
const char *jsonin_str(json_t *o, const char *key);
/* 1 and *v when key is present (as an integer) in a checked object, else 0. */
int jsonin_int(json_t *o, const char *key, int64_t *v);

#endif
