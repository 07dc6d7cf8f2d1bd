/* sigmahq_regression: runs SigmaHQ's own regression events through the engine.
 *
 *   sigmahq_regression SIGMA_DIR
 *
 * Loads SIGMA_DIR/rules, rules-emerging-threats and rules-threat-hunting, then
 * for each SIGMA_DIR/regression_data/.../<rule id>.json (one or more
 * concatenated Windows event log records in JSON) whose rule loaded and has a
 * logsource category yamori produces, builds events from Event.EventData and
 * checks that the rule fires on at least one of them. An outside oracle for
 * the matching semantics (escapes, modifiers, conditions). Exit 77 (skip)
 * when SIGMA_DIR has no regression data. Prints one line per case and
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

struct run {
	struct ruleset *rs;
	unsigned passed, failed, skipped;
};

struct want {
	const struct rule_info *rule;
	int hit;
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

/* Builds an event from one record's Event.EventData and matches it. */
static void run_record(struct run *r, json_t *rec, const struct rule_info *ri, unsigned cat,
		       struct want *w)
{
	static char nums[EVENT_MAX_FIELDS][32];
	json_t *data = json_object_get(json_object_get(rec, "Event"), "EventData");
	const char *k;
	json_t *v;
	struct event ev;
	unsigned nn = 0;

	if (!json_is_object(data))
		return;
	event_init(&ev);
	ev.category = (uint16_t)cat;
	ev.product = ri->product[0] ? ri->product : "windows";
	json_object_foreach(data, k, v)
	{
		const char *s = json_string_value(v);
		if (json_is_integer(v) && nn < EVENT_MAX_FIELDS) {
			snprintf(nums[nn], sizeof(nums[nn]), "%lld",
				 (long long)json_integer_value(v));
			s = nums[nn++];
		}
		if (s)
			(void)event_set_str(
			    &ev, k, s); /* names outside the taxonomy charset are left out */
	}
	ruleset_match(r->rs, &ev, on_match, w);
}

static void run_file(struct run *r, const char *path, const char *name)
{
	char id[128], *buf = NULL;
	const struct rule_info *ri;
	struct want w = {0};
	size_t len = 0, off = 0;
	unsigned cat;

	snprintf(id, sizeof(id), "%.*s", (int)(strlen(name) - 5), name);
	ri = find_rule(r->rs, id);
	if (!ri || event_category_parse(ri->category, &cat) != 0 || ri->service[0]) {
		r->skipped++; /* unsupported rule, or a log source yamori has no events for */
		return;
	}
	if (util_read_file(path, MAX_FILE, &buf, &len) != 0) {
		printf("FAIL %s: cannot read\n", path);
		r->failed++;
		return;
	}
	w.rule = ri;
	while (off < len) {
		json_error_t err;
		json_t *rec = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK, &err);
		if (!rec || err.position <= 0)
			break;
		run_record(r, rec, ri, cat, &w);
		json_decref(rec);
		off += (size_t)err.position;
	}
	free(buf);
	printf("%s %s (%s)\n", w.hit ? "ok  " : "FAIL", id, ri->file);
	if (w.hit)
		r->passed++;
	else
		r->failed++;
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
	static const char *const sets[] = {"rules", "rules-emerging-threats",
					   "rules-threat-hunting"};
	const char *paths[3];
	char bufs[3][4096], reg[4096];
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
	for (size_t i = 0; i < 3; i++) {
		snprintf(bufs[np], sizeof(bufs[np]), "%s/%s", argv[1], sets[i]);
		if (stat(bufs[np], &sb) == 0)
			paths[np] = bufs[np], np++;
	}
	if (ruleset_load(paths, np, &r.rs, &st, NULL, NULL) != 0) {
		printf("FAIL cannot load rules under %s\n", argv[1]);
		return 1;
	}
	printf("loaded %u rules (%u unsupported, %u errors)\n", st.loaded, st.unsupported,
	       st.errors);
	walk(&r, reg, 0);
	printf("%u skipped (rule not loaded or log source without yamori events)\n", r.skipped);
	printf("%u passed, %u failed\n", r.passed, r.failed);
	ruleset_free(r.rs);
	return (r.failed || r.passed == 0) ? 1 : 0;
}
