/* scan.c: `yamori scan` and `yamori intel check`, offline over files
 * (docs/scan.md): log files through lib/logread, Sigma rules through
 * lib/detect, IoCs through lib/intel. */
#include "scan.h"

#include "buf.h"
#include "detect.h"
#include "err.h"
#include "event.h"
#include "intel.h"
#include "log.h"
#include "logread.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_MAX_PATHS 64
#define OUT_CAP	       (4u << 20) /* one output line */

struct scan {
	struct ruleset *rs;
	struct correl_state *correl; /* one set of correlation windows for the whole scan */
	struct intel_set *intel;
	struct buf out;
	const char *file; /* the file being scanned, as given */
	uint64_t where;
	const struct logread_rec *rec;
	uint64_t events, rule_matches, intel_matches, malformed, dropped;
	int out_err;
};

/* A file name made printable for a diagnostic line. */
static const char *esc(const char *s, char *b, size_t n)
{
	return log_escape(s, strlen(s), b, n);
}

static void on_rule_diag(const struct detect_diag *d, void *ctx)
{
	(void)ctx;
	if (d->severity != YM_E_UNSUPPORTED) /* the whole SigmaHQ set has many: counted only */
		fprintf(stderr, "%s:%d: error: %s\n", d->file, d->line, d->reason);
}

static void on_intel_diag(const char *file, unsigned line, const char *reason, void *ctx)
{
	char f[512];

	fprintf(ctx, "%s:%u: %s\n", esc(file, f, sizeof(f)), line, reason);
}

static int put_str(struct buf *b, const char *s)
{
	int r;
	if ((r = buf_put_u8(b, '"')) || (r = buf_put_json_str(b, s ? s : "", s ? strlen(s) : 0)))
		return r;
	return buf_put_u8(b, '"');
}

static int put_kv(struct buf *b, const char *k, const char *v)
{
	int r;
	if ((r = put_str(b, k)) || (r = buf_put_u8(b, ':')))
		return r;
	return put_str(b, v);
}

/* The common part of a match line: where, what, and the event. */
static int put_match(struct scan *S, const struct event *ev, const char *rule_id, const char *title,
		     const char *level, const char *const *tags, size_t ntags)
{
	struct buf *b = &S->out;
	int r;

	buf_reset(b);
	if ((r = buf_put_str(b, "{")) || (r = put_kv(b, "file", S->file)) ||
	    (r = buf_printf(b, ",\"line\":%llu,", (unsigned long long)S->where)) ||
	    (r = put_kv(b, "rule_id", rule_id)) || (r = buf_put_u8(b, ',')) ||
	    (r = put_kv(b, "title", title)) || (r = buf_put_u8(b, ',')) ||
	    (r = put_kv(b, "level", level)) || (r = buf_put_str(b, ",\"tags\":[")))
		return r;
	for (size_t i = 0; i < ntags; i++) {
		if ((i && (r = buf_put_u8(b, ','))) || (r = put_str(b, tags[i])))
			return r;
	}
	if ((r = buf_put_str(b, "],\"logsource\":{")) ||
	    (r = put_kv(b, "product", S->rec->product)) || (r = buf_put_u8(b, ',')) ||
	    (r = put_kv(b, "category", S->rec->category)) || (r = buf_put_u8(b, ',')) ||
	    (r = put_kv(b, "service", S->rec->service)) || (r = buf_put_u8(b, '}')))
		return r;
	if (ev->host && ((r = buf_put_u8(b, ',')) || (r = put_kv(b, "host", ev->host))))
		return r;
	if (ev->ts_ns && (r = buf_printf(b, ",\"ts_ns\":%llu", (unsigned long long)ev->ts_ns)))
		return r;
	if ((r = buf_put_str(b, ",\"event\":{")))
		return r;
	for (size_t i = 0; i < (size_t)ev->nfields + ev->nxfields; i++) {
		const struct event_field *f =
		    i < ev->nfields ? &ev->fields[i] : &ev->xfields[i - ev->nfields];
		if ((i && (r = buf_put_u8(b, ','))) || (r = put_str(b, f->name)) ||
		    (r = buf_put_str(b, ":\"")) ||
		    (r = buf_put_json_str(b, f->value, f->value_len)) || (r = buf_put_u8(b, '"')))
			return r;
	}
	return buf_put_u8(b, '}');
}

static int finish_line(struct scan *S)
{
	int r;

	if ((r = buf_put_str(&S->out, "}\n")))
		return r;
	if (fwrite(S->out.data, 1, S->out.len, stdout) != S->out.len)
		S->out_err = 1;
	return 0;
}

static int on_rule(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	struct scan *S = ctx;

	S->rule_matches++;
	if (put_match(S, ev, ri->id, ri->title, ri->level, ri->tags, ri->ntags) ||
	    (ri->file && (buf_put_u8(&S->out, ',') || put_kv(&S->out, "rule_file", ri->file))) ||
	    finish_line(S))
		fprintf(stderr, "yamori scan: %s:%llu: match line over 4 MiB: not printed\n",
			S->file, (unsigned long long)S->where);
	return 0;
}

static int on_hit(const struct intel_hit *h, const struct event *ev, void *ctx)
{
	struct scan *S = ctx;
	struct buf *b = &S->out;
	const char *const *tags;
	char rid[32], title[2200];
	size_t ntags;

	S->intel_matches++;
	intel_hit_alert(h, rid, sizeof(rid), title, sizeof(title), &tags, &ntags);
	if (put_match(S, ev, rid, title, INTEL_ALERT_LEVEL, tags, ntags) ||
	    buf_put_str(b, ",\"intel\":{") || put_kv(b, "kind", intel_kind_name(h->kind)) ||
	    buf_put_u8(b, ',') || put_kv(b, "indicator", h->indicator) || buf_put_u8(b, ',') ||
	    put_kv(b, "field", h->field) || buf_put_u8(b, ',') || put_kv(b, "value", h->value) ||
	    buf_put_u8(b, ',') || put_kv(b, "source", h->source) || buf_put_u8(b, ',') ||
	    put_kv(b, "description", h->description) || buf_put_u8(b, '}') || finish_line(S))
		fprintf(stderr, "yamori scan: %s:%llu: match line over 4 MiB: not printed\n",
			S->file, (unsigned long long)S->where);
	return 0;
}

/* "product=P,category=C,service=S" (any subset, any order). */
static int parse_logsource(char *spec, struct logread_opts *o)
{
	for (char *kv = spec, *next; kv; kv = next) {
		char *eq;

		next = strchr(kv, ',');
		if (next)
			*next++ = 0;
		eq = strchr(kv, '=');
		if (!eq || eq == kv || !eq[1])
			return YM_E_INVAL;
		*eq = 0;
		if (strcmp(kv, "product") == 0)
			o->product = eq + 1;
		else if (strcmp(kv, "category") == 0)
			o->category = eq + 1;
		else if (strcmp(kv, "service") == 0)
			o->service = eq + 1;
		else
			return YM_E_INVAL;
	}
	return 0;
}

static int load_intel(const char *const *paths, size_t n, int to_stdout, struct intel_set **out,
		      size_t *added, size_t *rejected)
{
	struct intel_builder *b = NULL;
	int r, bad = 0;
	char f[512];

	*added = *rejected = 0;
	if ((r = intel_builder_new(&b)))
		return r;
	for (size_t i = 0; i < n; i++) {
		r = intel_builder_load_file(b, paths[i], NULL, added, rejected, on_intel_diag,
					    to_stdout ? stdout : stderr);
		if (r == YM_E_IO) {
			fprintf(stderr, "%s: cannot read: %s\n", esc(paths[i], f, sizeof(f)),
				strerror(errno));
			bad = 1;
			continue;
		}
		if (r) {
			fprintf(stderr, "%s: %s\n", esc(paths[i], f, sizeof(f)), ym_strerror(r));
			intel_builder_free(b);
			return r;
		}
	}
	r = intel_builder_finish(b, out);
	return r ? r : bad ? YM_E_IO : 0;
}

static int scan_file(struct scan *S, const char *path, enum logread_format fmt,
		     const struct logread_opts *o)
{
	struct logread *lr = NULL;
	struct logread_rec rec;
	struct event ev;
	char why[512], f[512];
	int r;

	r = logread_open(path, fmt, o, &lr);
	if (r) {
		fprintf(stderr, "%s: cannot read: %s\n", esc(path, f, sizeof(f)),
			r == YM_E_IO ? strerror(errno) : ym_strerror(r));
		return 1;
	}
	S->file = path;
	S->rec = &rec;
	for (;;) {
		why[0] = 0;
		r = logread_next(lr, &ev, &rec, &S->where, why, sizeof(why));
		if (r == 0)
			break;
		if (r == YM_E_PARSE || r == YM_E_TOOBIG) {
			char w[600];
			S->malformed++;
			fprintf(stderr, "%s:%llu: %s\n", esc(path, f, sizeof(f)),
				(unsigned long long)S->where, esc(why, w, sizeof(w)));
			continue;
		}
		if (r < 0) {
			fprintf(stderr, "%s: read error after line %llu: %s\n",
				esc(path, f, sizeof(f)), (unsigned long long)S->where,
				r == YM_E_IO ? strerror(errno) : ym_strerror(r));
			logread_close(lr);
			return 1;
		}
		S->events++;
		S->dropped += rec.dropped;
		if (S->rs)
			ruleset_match_correl(S->rs, S->correl, &ev, on_rule, S);
		if (S->intel)
			intel_match(S->intel, &ev, on_hit, S);
	}
	logread_close(lr);
	return 0;
}

static void scan_usage(void)
{
	fputs("usage: yamori scan [--rules PATH]... [--intel FILE]... [--placeholders FILE]\n"
	      "                   [--logsource product=P[,category=C][,service=S]]\n"
	      "                   [--format auto|ndjson|syslog|evtx] FILE...\n"
	      "  at least one --rules or --intel; one JSON line per match on stdout\n",
	      stderr);
}

int scan_run(int argc, char **argv)
{
	static const struct option opts[] = {{"rules", required_argument, 0, 'r'},
					     {"intel", required_argument, 0, 'i'},
					     {"logsource", required_argument, 0, 'l'},
					     {"format", required_argument, 0, 'f'},
					     {"placeholders", required_argument, 0, 'p'},
					     {0, 0, 0, 0}};
	struct placeholders *ph = NULL;
	struct detect_options dopt = {0};
	char perr[256];
	const char *rules[SCAN_MAX_PATHS], *intel[SCAN_MAX_PATHS];
	size_t nrules = 0, nintel = 0, added, rejected;
	struct logread_opts lo = {NULL, NULL, NULL};
	enum logread_format fmt = LOGREAD_AUTO;
	struct detect_load_stats st;
	struct scan S;
	uint64_t t0;
	double secs;
	int o, r, rc = 2;

	memset(&S, 0, sizeof(S));
	buf_init(&S.out, OUT_CAP);
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
		case 'i':
			if ((o == 'r' ? nrules : nintel) >= SCAN_MAX_PATHS) {
				fprintf(stderr, "yamori scan: at most %d --%s\n", SCAN_MAX_PATHS,
					o == 'r' ? "rules" : "intel");
				goto out;
			}
			if (o == 'r')
				rules[nrules++] = optarg;
			else
				intel[nintel++] = optarg;
			break;
		case 'l':
			if (parse_logsource(optarg, &lo)) {
				fprintf(stderr,
					"yamori scan: bad --logsource (product=P,category=C,"
					"service=S)\n");
				goto out;
			}
			break;
		case 'p':
			if ((!ph && placeholders_new(&ph)) ||
			    placeholders_load(ph, optarg, perr, sizeof(perr))) {
				fprintf(stderr, "yamori scan: %s: %s\n", optarg,
					ph ? perr : "out of memory");
				goto out;
			}
			break;
		case 'f':
			if (logread_format_parse(optarg, &fmt)) {
				fprintf(stderr, "yamori scan: bad --format %s\n", optarg);
				goto out;
			}
			break;
		default:
			scan_usage();
			goto out;
		}
	}
	if (optind >= argc || (nrules == 0 && nintel == 0)) {
		scan_usage();
		goto out;
	}
	rc = 1;
	if (nrules) {
		dopt.placeholders = ph;
		r = ruleset_load_opts(rules, nrules, &dopt, &S.rs, &st, on_rule_diag, NULL);
		if (!r)
			r = correl_state_new(S.rs, NULL, &S.correl);
		if (r) {
			fprintf(stderr, "yamori scan: cannot load rules: %s\n", ym_strerror(r));
			goto out;
		}
		fprintf(stderr, "rules: %u loaded, %u unsupported, %u errors\n", st.loaded,
			st.unsupported, st.errors);
	}
	if (nintel) {
		r = load_intel(intel, nintel, 0, &S.intel, &added, &rejected);
		if (r && r != YM_E_IO)
			goto out;
		fprintf(stderr, "intel: %zu loaded, %zu rejected\n", added, rejected);
		if (r)
			goto out;
	}
	rc = 0;
	t0 = util_mono_ns();
	for (int i = optind; i < argc; i++) {
		if (scan_file(&S, argv[i], fmt, &lo))
			rc = 1;
	}
	if (fflush(stdout) != 0 || S.out_err) {
		fprintf(stderr, "yamori scan: cannot write the results: %s\n", strerror(errno));
		rc = 1;
	}
	secs = (double)(util_mono_ns() - t0) / 1e9;
	fprintf(
	    stderr,
	    "scan: %d files, %llu events, %llu rule matches, %llu intel matches, %llu malformed, "
	    "%llu fields dropped, %.3f s (%.0f events/s)\n",
	    argc - optind, (unsigned long long)S.events, (unsigned long long)S.rule_matches,
	    (unsigned long long)S.intel_matches, (unsigned long long)S.malformed,
	    (unsigned long long)S.dropped, secs, secs > 0 ? (double)S.events / secs : 0.0);
out:
	correl_state_free(S.correl);
	ruleset_free(S.rs);
	placeholders_free(ph);
	intel_set_free(S.intel);
	buf_free(&S.out);
	return rc;
}

int scan_intel_check(int argc, char **argv)
{
	struct intel_set *s = NULL;
	size_t added = 0, rejected = 0;
	uint64_t t0;
	double secs;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: yamori intel check FILE...\n");
		return 2;
	}
	t0 = util_mono_ns();
	r = load_intel((const char *const *)argv + 1, (size_t)argc - 1, 1, &s, &added, &rejected);
	secs = (double)(util_mono_ns() - t0) / 1e9;
	printf("intel: %zu loaded, %zu rejected\n", added, rejected);
	if (s)
		printf("intel: %zu distinct, %zu bytes of tables, %.2f s (%.0f indicators/s)\n",
		       intel_set_count(s), intel_set_bytes(s), secs,
		       secs > 0 ? (double)added / secs : 0.0);
	intel_set_free(s);
	if (r && r != YM_E_IO)
		fprintf(stderr, "yamori intel check: %s\n", ym_strerror(r));
	return r || rejected ? 1 : 0;
}
