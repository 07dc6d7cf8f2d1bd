/* sigmahq_regression: runs SigmaHQ's own regression events through the engine.
 *
 *   sigmahq_regression SIGMA_DIR
 *
 * Loads every rule folder of SIGMA_DIR (rules, rules-emerging-threats,
 * rules-threat-hunting, rules-placeholder, rules-compliance, rules-dfir), then
 * for each SIGMA_DIR/regression_data/.../<rule id>.json (one or more
 * concatenated Windows event records rendered from EVTX as JSON) flattens each
 * record into paths ("Event.System.EventID", "Event.EventData.CommandLine"),
 * maps it with winevt_map() (Sigma field names and the Windows logsource:
 * service from Channel, category from EventID) and matches it against the
 * whole ruleset, with logsource routing. A case passes when the rule named by
 * the file fires on at least one of its records. This checks matching
 * semantics (escapes, modifiers, conditions) and the Windows mapping against
 * an outside oracle. Every case runs; none is skipped. Exit 77 (skip) when
 * SIGMA_DIR has no regression data. Prints one line per case and
 * "N passed, N failed". */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect.h"
#include "event.h"
#include "util.h"

#define MAX_FILE (8u << 20)
#define MAX_KV	 WINEVT_MAX_FIELDS
#define POOL	 (1u << 20)

struct run {
	struct ruleset *rs;
	unsigned passed, failed;
};

struct want {
	const struct rule_info *rule;
	int hit;
};

/* Flattened record: names and values live in pool. */
struct flat {
	struct detect_kv kv[MAX_KV];
	size_t n;
	char pool[POOL];
	size_t used;
	int overflow;
};

static int on_match(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct want *w = ctx;
	(void)ev;
	if (ri == w->rule)
		w->hit = 1;
	return 0;
}

static const struct rule_info *find_rule(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; i < ruleset_count(rs); i++) {
		if (strcmp(ruleset_rule(rs, i)->id, id) == 0)
			return ruleset_rule(rs, i);
	}
	return NULL;
}

static const char *pool_put(struct flat *f, const char *s, size_t n)
{
	char *d;

	if (f->used + n + 1 > sizeof(f->pool)) {
		f->overflow = 1;
		return NULL;
	}
	d = f->pool + f->used;
	memcpy(d, s, n);
	d[n] = 0;
	f->used += n + 1;
	return d;
}

static void add(struct flat *f, const char *path, const char *val, size_t len)
{
	const char *n, *v;

	if (f->n >= MAX_KV) {
		f->overflow = 1;
		return;
	}
	n = pool_put(f, path, strlen(path));
	v = pool_put(f, val, len);
	if (!n || !v)
		return;
	f->kv[f->n].name = n;
	f->kv[f->n].value = v;
	f->kv[f->n].len = len;
	f->n++;
}

/* Flattens j under path; arrays repeat their path for each element. */
static void flatten(struct flat *f, json_t *j, char *path, size_t plen, size_t cap, int depth)
{
	const char *k;
	json_t *v;
	size_t i;
	char num[64];

	if (depth > 16)
		return;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, k, v)
		{
			int w = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", k);
			if (w > 0 && (size_t)w < cap - plen)
				flatten(f, v, path, plen + (size_t)w, cap, depth + 1);
			path[plen] = 0;
		}
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v) flatten(f, v, path, plen, cap, depth + 1);
		break;
	case JSON_STRING:
		add(f, path, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(j));
		add(f, path, num, strlen(num));
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(j));
		add(f, path, num, strlen(num));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		add(f, path, json_is_true(j) ? "true" : "false", json_is_true(j) ? 4 : 5);
		break;
	default:
		break; /* null: the field is absent */
	}
}

/* Maps one record and matches it; returns 0 or a short reason of failure. */
static const char *run_record(struct run *r, json_t *rec, struct want *w)
{
	static struct flat f;
	static struct winevt we;
	char path[1024] = "";
	struct event ev;

	f.n = 0;
	f.used = 0;
	f.overflow = 0;
	flatten(&f, rec, path, 0, sizeof(path), 0);
	if (f.overflow)
		return "record too large to flatten";
	if (winevt_map(&we, f.kv, f.n, &ev) != 0)
		return "winevt_map failed";
	ruleset_match(r->rs, &ev, on_match, w);
	return NULL;
}

static void run_file(struct run *r, const char *path, const char *name)
{
	char id[128], *buf = NULL;
	const struct rule_info *ri;
	const char *why = NULL;
	struct want w = {0};
	size_t len = 0, off = 0;
	unsigned nrec = 0;

	snprintf(id, sizeof(id), "%.*s", (int)(strlen(name) - 5), name);
	ri = find_rule(r->rs, id);
	if (!ri) {
		printf("FAIL %s: rule not loaded\n", id);
		r->failed++;
		return;
	}
	if (util_read_file(path, MAX_FILE, &buf, &len) != 0) {
		printf("FAIL %s: cannot read %s\n", id, path);
		r->failed++;
		return;
	}
	w.rule = ri;
	while (off < len) {
		json_error_t err;
		json_t *rec = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK, &err);
		const char *e;
		if (!rec || err.position <= 0)
			break;
		e = run_record(r, rec, &w);
		if (e)
			why = e;
		json_decref(rec);
		off += (size_t)err.position;
		nrec++;
	}
	free(buf);
	if (w.hit) {
		printf("ok   %s (%s)\n", id, ri->file);
		r->passed++;
	} else {
		printf("FAIL %s (%s): no match in %u records%s%s\n", id, ri->file, nrec,
		       why ? ": " : "", why ? why : "");
		r->failed++;
	}
}

static void walk(struct run *r, const char *dir, int depth)
{
	struct dirent **ents = NULL;
	int n = depth > 16 ? -1 : scandir(dir, &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		size_t l = strlen(nm);
		char p[4096];
		struct stat st;
		if (nm[0] != '.' && (size_t)snprintf(p, sizeof(p), "%s/%s", dir, nm) < sizeof(p) &&
		    stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				walk(r, p, depth + 1);
			else if (l > 5 && strcmp(nm + l - 5, ".json") == 0)
				run_file(r, p, nm);
		}
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	static const char *const sets[] = {"rules",	      "rules-emerging-threats",
					   "rules-threat-hunting", "rules-placeholder",
					   "rules-compliance",	      "rules-dfir"};
	const char *paths[6];
	char bufs[6][4096], reg[4096];
	size_t np = 0;
	struct detect_load_stats st;
	struct run r = {0};
	struct stat sb;

	if (argc != 2) {
		fprintf(stderr, "usage: sigmahq_regression SIGMA_DIR\n");
		return 2;
	}
	snprintf(reg, sizeof(reg), "%s/regression_data", argv[1]);
	if (stat(reg, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		printf("skip: no SigmaHQ regression data at %s\n", reg);
		return 77;
	}
	for (size_t i = 0; i < 6; i++) {
		snprintf(bufs[np], sizeof(bufs[np]), "%s/%s", argv[1], sets[i]);
		if (stat(bufs[np], &sb) == 0) {
			paths[np] = bufs[np];
			np++;
		}
	}
	if (ruleset_load(paths, np, &r.rs, &st, NULL, NULL) != 0) {
		printf("FAIL cannot load rules under %s\n", argv[1]);
		return 1;
	}
	printf("loaded %u rules (%u unsupported, %u errors)\n", st.loaded, st.unsupported,
	       st.errors);
	walk(&r, reg, 0);
	printf("%u passed, %u failed\n", r.passed, r.failed);
	ruleset_free(r.rs);
	return (r.failed || r.passed == 0) ? 1 : 0;
}
