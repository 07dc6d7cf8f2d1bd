/* rules_test: data-driven tests of the rule pack.
 *
 *   rules_test RULES_DIR CASES_DIR
 *
 * Loads every rule under RULES_DIR (any error or unsupported rule fails),
 * checks each rule's metadata (UUID id, title, description, status, level,
 * an attack.<tactic> and an attack.tNNNN tag, a logsource), then for each
 * rule file <stem>.yml runs CASES_DIR/<stem>/match.json and nomatch.json:
 *
 *   {"category": "process_creation", "product": "linux",
 *    "fields": {"Image": "/usr/bin/whoami", ...},
 *    "also": ["<stem of another rule expected to fire too>", ...]}
 *
 * or, for correlation rules, {"events": [{"category", "ts", "fields"}, ...],
 * "also": [...]}, matched in order with one correlation state ("ts" is in
 * seconds).
 *
 * match.json must fire exactly the rule plus the ones listed in "also";
 * nomatch.json must not fire the rule. A rule without cases, or a case folder
 * without a rule, fails. Prints one line per case and "N passed, N failed". */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "detect.h"
#include "err.h"
#include "event.h"

#define MAX_RULES 4096

struct harness {
	struct ruleset *rs;
	size_t nrules;
	char stems[MAX_RULES][128];
	unsigned passed, failed;
};

static void on_diag(const struct detect_diag *d, void *ctx)
{
	struct harness *h = ctx;
	printf("FAIL load %s:%d: %s: %s\n", d->file, d->line,
	       d->severity == YM_E_UNSUPPORTED ? "unsupported" : "error", d->reason);
	h->failed++;
}

static void stem_of(const char *file, char *out, size_t outsz)
{
	const char *b = strrchr(file, '/');
	char *dot;

	snprintf(out, outsz, "%s", b ? b + 1 : file);
	dot = strrchr(out, '.');
	if (dot)
		*dot = 0;
}

static int find_stem(const struct harness *h, const char *stem)
{
	for (size_t i = 0; i < h->nrules; i++) {
		if (strcmp(h->stems[i], stem) == 0)
			return (int)i;
	}
	return -1;
}

static int is_uuid(const char *s)
{
	static const char tmpl[] = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(tmpl) - 1)
		return 0;
	for (size_t i = 0; tmpl[i]; i++) {
		char c = s[i];
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
		if (tmpl[i] == '-' && c != '-')
			return 0;
		if (tmpl[i] == '4' && c != '4')
			return 0;
		if (tmpl[i] == 'y' && c != '8' && c != '9' && c != 'a' && c != 'b')
			return 0;
		if (tmpl[i] == 'x' && !hex)
			return 0;
	}
	return 1;
}

/* Checks the metadata every rule of the pack must carry. */
static void lint(struct harness *h, size_t i, const struct rule_info *ri)
{
	const char *why = NULL;
	int tactic = 0, technique = 0;

	for (size_t t = 0; t < ri->ntags; t++) {
		const char *tag = ri->tags[t];
		if (strncmp(tag, "attack.t", 8) == 0 && tag[8] >= '0' && tag[8] <= '9')
			technique = 1;
		else if (strncmp(tag, "attack.", 7) == 0 && tag[7] != 'g' && tag[7] != 's')
			tactic = 1;
	}
	if (!is_uuid(ri->id))
		why = "id is not a lowercase UUID v4";
	else if (!ri->title[0] || !ri->description[0] || !ri->status[0] || !ri->level[0])
		why = "title, description, status and level are required";
	else if (!tactic || !technique)
		why = "tags need an attack.<tactic> and an attack.tNNNN technique";
	else if (strcmp(ri->type, "correlation") != 0 && (!ri->product[0] || !ri->category[0]))
		why = "logsource needs product and category";
	for (size_t k = 0; k < i && !why; k++) {
		if (strcmp(ruleset_rule(h->rs, k)->id, ri->id) == 0)
			why = "id used by another rule";
	}
	if (why) {
		printf("FAIL lint %s: %s\n", ri->file, why);
		h->failed++;
	}
}

struct hits {
	const struct harness *h;
	int n;
	int idx[MAX_RULES];
};

static int on_match(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct hits *hits = ctx;
	(void)ev;
	for (size_t i = 0; i < hits->h->nrules; i++) {
		if (ruleset_rule(hits->h->rs, i) == ri && hits->n < MAX_RULES)
			hits->idx[hits->n++] = (int)i;
	}
	return 0;
}

static int has(const struct hits *hits, int idx)
{
	for (int i = 0; i < hits->n; i++) {
		if (hits->idx[i] == idx)
			return 1;
	}
	return 0;
}

/* Builds the event described by obj ({"category", "product", "ts", "fields"})
 * and matches it, with correlation state st, adding what fired to hits.
 * Returns 0, or -1 with msg set. */
static int feed_event(struct harness *h, struct correl_state *st, json_t *obj, struct hits *hits,
		      char *msg, size_t msgsz)
{
	static char numbuf[EVENT_MAX_FIELDS][32];
	json_t *fields, *v;
	const char *key, *cat_name, *product;
	struct event ev;
	unsigned cat, nf = 0;

	cat_name = json_string_value(json_object_get(obj, "category"));
	product = json_string_value(json_object_get(obj, "product"));
	fields = json_object_get(obj, "fields");
	if (!cat_name || event_category_parse(cat_name, &cat) != 0 || !json_is_object(fields)) {
		snprintf(msg, msgsz, "needs a known \"category\" and a \"fields\" object");
		return -1;
	}
	event_init(&ev);
	ev.category = (uint16_t)cat;
	ev.product = product ? product : "linux";
	/* "ts": seconds after an arbitrary start, for correlation windows */
	ev.ts_ns = 1700000000000000000ull +
		   (uint64_t)json_integer_value(json_object_get(obj, "ts")) * 1000000000ull;
	json_object_foreach(fields, key, v)
	{
		const char *s = json_string_value(v);
		if (json_is_integer(v) && nf < EVENT_MAX_FIELDS) {
			snprintf(numbuf[nf], sizeof(numbuf[nf]), "%lld",
				 (long long)json_integer_value(v));
			s = numbuf[nf++];
		}
		if (!s || event_set_str(&ev, key, s) != 0) {
			snprintf(msg, msgsz, "field %s: not a string or not accepted", key);
			return -1;
		}
	}
	ruleset_match_correl(h->rs, st, &ev, on_match, hits);
	return 0;
}

/* Runs one case file; returns 0 when it passed, and prints its line. A case
 * is one event object, or {"events": [...]} (for correlation rules): the
 * events are matched in order with one correlation state, and what fired on
 * any of them counts. */
static int run_case(struct harness *h, int rule, const char *path, const char *label, int want)
{
	json_error_t jerr;
	json_t *root = NULL, *also, *v, *evs;
	struct hits hits = {.h = h};
	struct correl_state *st = NULL;
	char msg[512] = "";
	size_t i;
	int ok = 0;

	root = json_load_file(path, 0, &jerr);
	if (!root) {
		snprintf(msg, sizeof(msg), "cannot load: %s (line %d)", jerr.text, jerr.line);
		goto out;
	}
	if (correl_state_new(h->rs, NULL, &st)) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto out;
	}
	evs = json_object_get(root, "events");
	if (json_is_array(evs)) {
		json_array_foreach(evs, i, v)
		{
			if (feed_event(h, st, v, &hits, msg, sizeof(msg)))
				goto out;
		}
	} else if (feed_event(h, st, root, &hits, msg, sizeof(msg))) {
		goto out;
	}
	if (!want) {
		ok = !has(&hits, rule);
		if (!ok)
			snprintf(msg, sizeof(msg), "fired although it must not");
		goto out;
	}
	if (!has(&hits, rule)) {
		snprintf(msg, sizeof(msg), "did not fire");
		goto out;
	}
	/* Exactly the rule plus "also": nothing missing, nothing extra. */
	also = json_object_get(root, "also");
	json_array_foreach(also, i, v)
	{
		const char *s = json_string_value(v);
		int a = s ? find_stem(h, s) : -1;
		if (a < 0 || !has(&hits, a)) {
			snprintf(msg, sizeof(msg), "\"also\" rule %s did not fire", s ? s : "?");
			goto out;
		}
	}
	for (int k = 0; k < hits.n; k++) {
		int listed = hits.idx[k] == rule;
		json_array_foreach(also, i, v)
		{
			const char *s = json_string_value(v);
			if (s && strcmp(s, h->stems[hits.idx[k]]) == 0)
				listed = 1;
		}
		if (!listed) {
			snprintf(msg, sizeof(msg),
				 "also fired %s (list it in \"also\" if intended)",
				 h->stems[hits.idx[k]]);
			goto out;
		}
	}
	ok = 1;
	if (hits.n > 1)
		snprintf(msg, sizeof(msg), "(with %d listed co-firing rule%s)", hits.n - 1,
			 hits.n > 2 ? "s" : "");
out:
	correl_state_free(st);
	json_decref(root);
	printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", label, msg[0] ? ": " : "", msg);
	if (ok)
		h->passed++;
	else
		h->failed++;
	return ok ? 0 : -1;
}

static struct harness H;

int main(int argc, char **argv)
{
	const char *paths[1];
	struct detect_load_stats st;
	struct dirent **ents = NULL;
	int n;

	if (argc != 3) {
		fprintf(stderr, "usage: rules_test RULES_DIR CASES_DIR\n");
		return 2;
	}
	paths[0] = argv[1];
	if (ruleset_load(paths, 1, &H.rs, &st, on_diag, &H) != 0) {
		fprintf(stderr, "rules_test: cannot read %s\n", argv[1]);
		return 2;
	}
	H.nrules = ruleset_count(H.rs);
	if (H.nrules == 0 || H.nrules > MAX_RULES) {
		printf("FAIL load: %zu rules under %s\n", H.nrules, argv[1]);
		H.failed++;
		H.nrules = 0;
	}
	for (size_t i = 0; i < H.nrules; i++) {
		const struct rule_info *ri = ruleset_rule(H.rs, i);
		stem_of(ri->file, H.stems[i], sizeof(H.stems[i]));
		if (find_stem(&H, H.stems[i]) != (int)i) {
			printf("FAIL %s: two rules with this file name\n", H.stems[i]);
			H.failed++;
		}
		lint(&H, i, ri);
	}
	for (size_t i = 0; i < H.nrules; i++) {
		char p[4096], label[300];
		snprintf(p, sizeof(p), "%s/%s/match.json", argv[2], H.stems[i]);
		snprintf(label, sizeof(label), "%s/match.json", H.stems[i]);
		run_case(&H, (int)i, p, label, 1);
		snprintf(p, sizeof(p), "%s/%s/nomatch.json", argv[2], H.stems[i]);
		snprintf(label, sizeof(label), "%s/nomatch.json", H.stems[i]);
		run_case(&H, (int)i, p, label, 0);
	}
	/* Case folders must belong to a rule. */
	n = scandir(argv[2], &ents, NULL, alphasort);
	if (n < 0) {
		printf("FAIL cannot list %s\n", argv[2]);
		H.failed++;
	}
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && find_stem(&H, ents[i]->d_name) < 0) {
			printf("FAIL case folder %s has no rule\n", ents[i]->d_name);
			H.failed++;
		}
		free(ents[i]);
	}
	free(ents);
	ruleset_free(H.rs);
	printf("%u passed, %u failed\n", H.passed, H.failed);
	return H.failed ? 1 : 0;
}
