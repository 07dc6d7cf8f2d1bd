/* spec_test: data-driven cases of the Sigma specification (tests/detect-spec).
 *
 *   spec_test DIR
 *
 * Each folder under DIR is one case:
 *   rule.yml          the rule(s) (several YAML documents allowed)
 *   placeholders.yml  optional: values for 'expand'
 *   case.json         {"diag": "text"}: the load must give exactly one
 *                     diagnostic containing text (a rejected or bounded rule);
 *                     else it must give none, and
 *                     "match":   [fields, ...]  each event must fire a rule,
 *                     "nomatch": [fields, ...]  each event must fire none,
 *                     "sequences": [{"events": [event, ...], "fires": [title, ...]}]
 *                       the events go through one correlation state in order
 *                       and the titles reported must be exactly fires.
 * fields is an object of field name -> string; an event is {"t": seconds,
 * "product", "category", "service", "fields"}; product defaults to "test" and
 * category to "spec" (a category by name, as for Windows events), so case
 * rules use logsource {product: test, category: spec}.
 * Prints one line per case and "N passed, N failed". */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect.h"
#include "err.h"
#include "event.h"
#include "util.h"

struct got {
	char titles[32][128];
	int n;
};

static int on_match(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct got *g = ctx;
	(void)ev;
	if (g->n < 32)
		snprintf(g->titles[g->n], sizeof(g->titles[0]), "%s", ri->title);
	g->n++;
	return 0;
}

struct diags {
	int n;
	char first[300];
};

static void on_diag(const struct detect_diag *d, void *ctx)
{
	struct diags *ds = ctx;
	if (ds->n++ == 0)
		snprintf(ds->first, sizeof(ds->first), "%d: %s", d->line, d->reason);
}

/* Builds ev from a JSON event (or a bare fields object when bare). */
static int make_event(json_t *j, int bare, struct event *ev)
{
	json_t *fields = bare ? j : json_object_get(j, "fields");
	const char *k, *cat;
	json_t *v;
	unsigned num;

	event_init(ev);
	ev->product = "test";
	ev->category_name = "spec";
	if (!bare) {
		if (json_is_string(json_object_get(j, "product")))
			ev->product = json_string_value(json_object_get(j, "product"));
		if (json_is_string(json_object_get(j, "service")))
			ev->service = json_string_value(json_object_get(j, "service"));
		cat = json_string_value(json_object_get(j, "category"));
		if (cat && event_category_parse(cat, &num) == 0) {
			ev->category = (uint16_t)num;
			ev->category_name = NULL;
		} else if (cat) {
			ev->category_name = cat;
		}
		ev->ts_ns = (uint64_t)json_integer_value(json_object_get(j, "t")) * 1000000000ull;
	}
	if (!json_is_object(fields))
		return -1;
	json_object_foreach(fields, k, v)
	{
		if (!json_is_string(v) ||
		    event_set(ev, k, json_string_value(v), json_string_length(v)) != 0)
			return -1;
	}
	return 0;
}

/* path = dir/name; 0, or -1 when it does not fit. */
static int join(char *path, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(path, sz, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= sz) ? -1 : 0;
}

/* Runs one case folder; returns NULL or why it failed (in why). */
static const char *run_case(const char *dir, char *why, size_t whysz)
{
	char path[4096], *yaml = NULL;
	size_t len = 0, i;
	json_t *c = NULL, *arr, *x;
	json_error_t jerr;
	struct ruleset *rs = NULL;
	struct detect_load_stats st;
	struct diags ds = {0};
	struct placeholders *ph = NULL;
	struct detect_options opt = {0};
	const char *res = NULL;
	struct stat sb;

	if (join(path, sizeof(path), dir, "case.json") != 0) {
		snprintf(why, whysz, "path too long");
		return why;
	}
	c = json_load_file(path, 0, &jerr);
	if (!c) {
		snprintf(why, whysz, "case.json: %s", jerr.text);
		return why;
	}
	if (join(path, sizeof(path), dir, "placeholders.yml") == 0 && stat(path, &sb) == 0) {
		char e[200];
		if (placeholders_new(&ph) != 0 || placeholders_load(ph, path, e, sizeof(e)) != 0) {
			snprintf(why, whysz, "placeholders.yml: %s", e);
			res = why;
			goto out;
		}
		opt.placeholders = ph;
	}
	if (join(path, sizeof(path), dir, "rule.yml") != 0 ||
	    util_read_file(path, 1u << 20, &yaml, &len) != 0) {
		snprintf(why, whysz, "cannot read rule.yml");
		res = why;
		goto out;
	}
	if (ruleset_load_mem_opts(yaml, len, "rule.yml", &opt, &rs, &st, on_diag, &ds) != 0) {
		snprintf(why, whysz, "load failed");
		res = why;
		goto out;
	}
	if (json_is_string(json_object_get(c, "diag"))) {
		const char *want = json_string_value(json_object_get(c, "diag"));
		if (ds.n != 1 || !strstr(ds.first, want)) {
			snprintf(why, whysz, "want one diagnostic with '%s', got %d: %s", want,
				 ds.n, ds.first);
			res = why;
		}
		goto out;
	}
	if (ds.n) {
		snprintf(why, whysz, "unexpected diagnostic %s", ds.first);
		res = why;
		goto out;
	}
	for (int want = 1; want >= 0; want--) {
		arr = json_object_get(c, want ? "match" : "nomatch");
		json_array_foreach(arr, i, x)
		{
			struct event ev;
			struct got g = {0};
			if (make_event(x, 1, &ev) != 0) {
				snprintf(why, whysz, "bad event %s[%zu]", want ? "match" : "nomatch",
					 i);
				res = why;
				goto out;
			}
			ruleset_match(rs, &ev, on_match, &g);
			if ((g.n > 0) != want) {
				snprintf(why, whysz, "%s[%zu] fired %d rules",
					 want ? "match" : "nomatch", i, g.n);
				res = why;
				goto out;
			}
		}
	}
	arr = json_object_get(c, "sequences");
	json_array_foreach(arr, i, x)
	{
		struct correl_state *cs = NULL;
		struct got g = {0};
		json_t *evs = json_object_get(x, "events"), *fires = json_object_get(x, "fires"), *e;
		size_t k;
		int bad = 0;
		if (correl_state_new(rs, NULL, &cs) != 0) {
			snprintf(why, whysz, "correl_state_new failed");
			res = why;
			goto out;
		}
		json_array_foreach(evs, k, e)
		{
			struct event ev;
			if (make_event(e, 0, &ev) != 0)
				bad = 1;
			else
				ruleset_match_correl(rs, cs, &ev, on_match, &g);
		}
		correl_state_free(cs);
		if (bad || (size_t)g.n != json_array_size(fires))
			bad = 1;
		for (k = 0; !bad && k < json_array_size(fires) && k < 32; k++) {
			const char *t = json_string_value(json_array_get(fires, k));
			if (!t || strcmp(t, g.titles[k]) != 0)
				bad = 1;
		}
		if (bad) {
			snprintf(why, whysz, "sequence %zu: %d reported, first '%s'", i, g.n,
				 g.n ? g.titles[0] : "");
			res = why;
			goto out;
		}
	}
out:
	ruleset_free(rs);
	placeholders_free(ph);
	free(yaml);
	json_decref(c);
	return res;
}

int main(int argc, char **argv)
{
	struct dirent **ents = NULL;
	unsigned passed = 0, failed = 0;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: spec_test DIR\n");
		return 2;
	}
	n = scandir(argv[1], &ents, NULL, alphasort);
	if (n < 0) {
		printf("FAIL cannot list %s\n", argv[1]);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char dir[4096], why[512];
		const char *e;
		struct stat sb;
		if (ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(dir, sizeof(dir), "%s/%s", argv[1], ents[i]->d_name) <
			sizeof(dir) &&
		    stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			e = run_case(dir, why, sizeof(why));
			printf("%s %s%s%s\n", e ? "FAIL" : "ok  ", ents[i]->d_name, e ? ": " : "",
			       e ? e : "");
			if (e)
				failed++;
			else
				passed++;
		}
		free(ents[i]);
	}
	free(ents);
	printf("%u passed, %u failed\n", passed, failed);
	return (failed || passed == 0) ? 1 : 0;
}
