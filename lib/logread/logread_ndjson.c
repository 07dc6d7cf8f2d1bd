/* logread_ndjson: one JSON object a line (jansson) flattened into fields
 * (docs/schema.md "NDJSON envelope", docs/scan.md). */
#include "logread_int.h"

#include "err.h"
#include "event.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_BYTES (LOGREAD_NAME_MAX + 1)

struct flat {
	struct logread_fields *fl;
	struct logread_arena *a;
	char path[PATH_MAX_BYTES];
};

static void add_scalar(struct flat *F, size_t plen, json_t *v)
{
	char num[48];
	const char *s = NULL;
	size_t n = 0;
	int k;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		k = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
		n = k > 0 ? (size_t)k : 0;
		break;
	case JSON_REAL:
		/* the shortest of %.15g and %.17g that reads back as the same number */
		k = snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		if (k > 0 && strtod(num, NULL) != json_real_value(v))
			k = snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		s = num;
		n = k > 0 ? (size_t)k : 0;
		break;
	case JSON_TRUE:
		s = "true";
		n = 4;
		break;
	case JSON_FALSE:
		s = "false";
		n = 5;
		break;
	default:
		s = "";
		n = 0;
		break;
	}
	logread_fields_add(F->fl, F->a, F->path, plen, s, n);
}

/* Appends ".key" (or "key" at the top) to the path; returns the new length
 * or 0 when the name would be too long. */
static size_t push(struct flat *F, size_t plen, const char *key, size_t klen)
{
	size_t need = plen + (plen ? 1 : 0) + klen;

	if (klen == 0 || need > LOGREAD_NAME_MAX)
		return 0;
	if (plen)
		F->path[plen++] = '.';
	memcpy(F->path + plen, key, klen);
	F->path[need] = 0;
	return need;
}

static void flatten(struct flat *F, size_t plen, json_t *v, int depth)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		if (depth >= LOGREAD_MAX_DEPTH) {
			F->fl->dropped++;
			return;
		}
		json_object_foreach(v, key, x)
		{
			size_t klen = strlen(key), np;

			np = push(F, plen, key, klen);
			if (!np) {
				F->fl->dropped++;
				continue;
			}
			flatten(F, np, x, depth + 1);
			F->path[plen] = 0;
		}
		return;
	}
	if (json_is_array(v)) {
		if (depth >= LOGREAD_MAX_DEPTH) {
			F->fl->dropped++;
			return;
		}
		json_array_foreach(v, i, x)
		{
			char idx[24];
			size_t np;
			int k;

			if (i >= LOGREAD_MAX_ARRAY) {
				F->fl->dropped += (unsigned)(json_array_size(v) - i);
				break;
			}
			k = snprintf(idx, sizeof(idx), "%zu", i);
			np = plen ? push(F, plen, idx, (size_t)k) : 0;
			if (!np) {
				F->fl->dropped++;
				continue;
			}
			flatten(F, np, x, depth + 1);
			F->path[plen] = 0;
		}
		return;
	}
	if (plen == 0)
		return;
	add_scalar(F, plen, v);
}

static const char *env_str(json_t *root, const char *k, struct logread_arena *a)
{
	json_t *v = json_object_get(root, k);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = logread_arena_dup(a, json_string_value(v), json_string_length(v));
	json_object_del(root, k);
	return s;
}

/* The envelope: consumed from the top level, not turned into fields. */
static int envelope(json_t *root, const struct logread_opts *o, struct logread_arena *a,
		    struct logread_rec *rec, const char **host, uint64_t *ts, char *why,
		    size_t whysz)
{
	static const char *const tkeys[] = {"ts", "time", "@timestamp"};

	rec->product = env_str(root, "product", a);
	rec->category = env_str(root, "category", a);
	rec->service = env_str(root, "service", a);
	*host = env_str(root, "host", a);
	if (!rec->product && o)
		rec->product = o->product;
	if (!rec->category && o)
		rec->category = o->category;
	if (!rec->service && o)
		rec->service = o->service;
	for (size_t i = 0; i < sizeof(tkeys) / sizeof(tkeys[0]); i++) {
		json_t *t = json_object_get(root, tkeys[i]);
		uint64_t ns;

		if (!t)
			continue;
		if (i == 0 && json_is_integer(t) && json_integer_value(t) >= 0) {
			*ts = (uint64_t)json_integer_value(t);
		} else if (json_is_string(t)) {
			if (timefmt_rfc3339(json_string_value(t), json_string_length(t), &ns)) {
				logread_why(why, whysz, "'%s' is not an RFC 3339 time", tkeys[i]);
				return YM_E_PARSE;
			}
			*ts = ns;
		} else {
			logread_why(why, whysz, "'%s' must be %s", tkeys[i],
				    i == 0 ? "integer nanoseconds or an RFC 3339 string"
					   : "an RFC 3339 string");
			return YM_E_PARSE;
		}
		json_object_del(root, tkeys[i]);
		break;
	}
	return 0;
}

int logread_ndjson_parse(const char *line, size_t len, const struct logread_opts *o,
			 struct logread_arena *arena, struct event *ev, struct logread_rec *rec,
			 char *why, size_t whysz)
{
	static __thread struct logread_fields fl;
	struct flat F;
	json_error_t err;
	json_t *root;
	const char *host = NULL;
	uint64_t ts = 0;
	int r = YM_E_PARSE;

	event_init(ev);
	memset(rec, 0, sizeof(*rec));
	logread_arena_reset(arena);
	fl.n = 0;
	fl.dropped = 0;
	fl.windows = 0;
	/* jansson refuses NUL bytes inside strings unless asked: values never hold one */
	root = json_loadb(line, len, 0, &err);
	if (!root) {
		logread_why(why, whysz, "not JSON: %s (column %d)", err.text, err.column);
		return YM_E_PARSE;
	}
	if (!json_is_object(root)) {
		logread_why(why, whysz, "not a JSON object");
		goto out;
	}
	if ((r = envelope(root, o, arena, rec, &host, &ts, why, whysz)))
		goto out;
	/* an evtx_dump-shaped record is a Windows event */
	fl.windows = json_is_object(json_object_get(json_object_get(root, "Event"), "System"));
	F.fl = &fl;
	F.a = arena;
	F.path[0] = 0;
	flatten(&F, 0, root, 0);
	if ((r = logread_fields_commit(&fl, arena, ev, rec, why, whysz)))
		goto out;
	if (host)
		ev->host = host;
	ev->ts_ns = ts;
out:
	json_decref(root);
	return r;
}
