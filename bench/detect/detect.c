/* detect_bench: the detection engine's throughput on one core.
 *
 *   detect_bench SIGMA_DIR ZIRCOLITE_JSON CORPUS_NDJSON [--iocs N]
 *
 * Loads every SigmaHQ rule (SIGMA_DIR/rules*), builds an intel set of N
 * synthetic IoCs (default 10,000,000: SHA-256, SHA-1, MD5, IPv4, domains)
 * through lib/intel, then replays the corpus (tests/oracle/gen_corpus.py
 * --mode bench: Linux and Windows events, mostly benign) through
 * ruleset_match + intel_match on this thread: once with each event timed on
 * its own (p99), then twice timed as a whole minus the time of a pass that
 * only decodes the events (throughput: no clock read between events).
 * Baseline in the same process: SigmaHQ's Linux rules as converted to SQL
 * (Zircolite), run by SQLite over the same events in an in-memory table, one
 * query after the other (as Zircolite does), on this thread; and the engine
 * again with only SIGMA_DIR/rules/linux loaded, for a like-for-like ratio.
 * Prints JSON lines (docs/benchmarks.md); every time is this thread's CPU
 * time:
 *
 *   compile_ms, events_per_sec_core (+ baseline sqlite-sql, ratio),
 *   events_per_sec_core_linux (+ ratio), p99_ns_per_event, rss_mb,
 *   intel_build_ms, sqlite events/s. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "corpus.h"
#include "detect.h"
#include "err.h"
#include "event.h"
#include "intel.h"
#include "util.h"

#define DEFAULT_IOCS 10000000UL

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* splitmix64: deterministic synthetic indicators */
static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void hex_random(char *out, size_t nhex)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t v = 0;

	for (size_t i = 0; i < nhex; i++) {
		if (i % 16 == 0)
			v = rnd64();
		out[i] = hx[v & 15];
		v >>= 4;
	}
	out[nhex] = 0;
}

/* CPU time of this thread: the figures are per core and must not count the
 * time the (shared, noisy) machine gave to other processes. One reading costs
 * a system call (a few hundred ns), which is inside each per-event sample. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double rss_mb(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	double mb = -1;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long kb;
		if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
			mb = (double)kb / 1024.0;
	}
	if (f)
		fclose(f);
	return mb;
}

/* Adds n synthetic indicators (60 % SHA-256, 10 % each SHA-1, MD5, IPv4,
 * domain) plus a few that the corpus hits. Returns 0 or an YM_E_* code. */
static int build_intel(size_t n, struct intel_set **out)
{
	static const char *const hits[] = {"example.net", "moneroocean.stream", "pastebin.com"};
	struct intel_builder *b = NULL;
	char text[80], why[128];
	int r;

	r = intel_builder_new(&b);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(hits) / sizeof(hits[0]); i++) {
		r = intel_builder_add(b, INTEL_DOMAIN, hits[i], "bench", "", why, sizeof(why));
		if (r < 0)
			goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned k = (unsigned)(i % 10);
		enum intel_kind kind;
		if (k < 6) {
			hex_random(text, 64);
			kind = INTEL_SHA256;
		} else if (k == 6) {
			hex_random(text, 40);
			kind = INTEL_SHA1;
		} else if (k == 7) {
			hex_random(text, 32);
			kind = INTEL_MD5;
		} else if (k == 8) {
			uint64_t v = rnd64();
			snprintf(text, sizeof(text), "%u.%u.%u.%u", (unsigned)(v >> 56) % 223 + 1,
				 (unsigned)(v >> 48) & 255, (unsigned)(v >> 40) & 255,
				 (unsigned)(v >> 32) & 255);
			kind = INTEL_IP;
		} else {
			char label[13];
			hex_random(label, 12);
			snprintf(text, sizeof(text), "%s.bad-%u.example", label,
				 (unsigned)(rnd64() % 1000));
			kind = INTEL_DOMAIN;
		}
		r = intel_builder_add(b, kind, text, "bench", "", why, sizeof(why));
		if (r < 0 && r != YM_E_INVAL)
			goto fail;
	}
	return intel_builder_finish(b, out);
fail:
	intel_builder_free(b);
	return r;
}

struct counts {
	unsigned long rules, iocs;
};

static int on_rule(const struct rule_info *ri, const struct event *ev, void *ctx)
{
	(void)ri;
	(void)ev;
	((struct counts *)ctx)->rules++;
	return 0;
}

static int on_ioc(const struct intel_hit *h, const struct event *ev, void *ctx)
{
	(void)h;
	(void)ev;
	((struct counts *)ctx)->iocs++;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One pass over the corpus with each event timed on its own (two clock
 * reads around it, which the sample includes): per-event times into ns. */
static void replay_timed(const struct corpus *c, const struct ruleset *rs,
			 const struct intel_set *is, uint64_t *ns)
{
	for (size_t i = 0; i < corpus_count(c); i++) {
		struct event ev;
		uint64_t t0;

		corpus_event(c, i, &ev);
		t0 = now_ns();
		ruleset_match(rs, &ev, NULL, NULL);
		if (is)
			intel_match(is, &ev, NULL, NULL);
		ns[i] = now_ns() - t0;
	}
}

/* One pass over the corpus timed as a whole, so that no clock read sits
 * between events; rs NULL: only decode the events (the cost replay()
 * subtracts). Returns the pass's ns. */
static uint64_t replay_pass(const struct corpus *c, const struct ruleset *rs,
			    const struct intel_set *is, struct counts *cnt)
{
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < corpus_count(c); i++) {
		struct event ev;

		corpus_event(c, i, &ev);
		if (rs)
			ruleset_match(rs, &ev, on_rule, cnt);
		if (is)
			intel_match(is, &ev, on_ioc, cnt);
	}
	return now_ns() - t0;
}

/* CPU ns of matching the corpus once: a timed pass minus a pass that only
 * decodes the events (the smaller of two each, against noise). */
static uint64_t replay(const struct corpus *c, const struct ruleset *rs, const struct intel_set *is,
		       struct counts *cnt)
{
	struct counts again = {0};
	uint64_t m = replay_pass(c, rs, is, cnt), m2 = replay_pass(c, rs, is, &again);
	uint64_t d = replay_pass(c, NULL, NULL, NULL), d2 = replay_pass(c, NULL, NULL, NULL);

	m = m2 < m ? m2 : m;
	d = d2 < d ? d2 : d;
	return m > d ? m - d : 1;
}

/* SQLite: every converted query over the whole table, one after the other.
 * Returns the total ns, or 0 on failure (why says so). */
static uint64_t sqlite_pass(const struct corpus *c, const struct zrule *z, size_t nz,
			    unsigned long *matches, unsigned *failed, char *why, size_t whysz)
{
	const char **qs = calloc(nz ? nz : 1, sizeof(*qs));
	sqlite3 *db = NULL;
	uint64_t total = 0;

	if (!qs || sqlite3_open(":memory:", &db) != SQLITE_OK || corpus_sql_regexp(db) != 0) {
		snprintf(why, whysz, "cannot open sqlite");
		goto out;
	}
	for (size_t i = 0; i < nz; i++)
		qs[i] = z[i].query;
	if (corpus_sql_fill(c, db, qs, nz, why, whysz) != 0)
		goto out;
	for (size_t i = 0; i < nz; i++) {
		sqlite3_stmt *st = NULL;
		uint64_t t0 = now_ns();
		int rc;

		if (sqlite3_prepare_v2(db, z[i].query, -1, &st, NULL) != SQLITE_OK) {
			(*failed)++;
			continue;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			(*matches)++;
		sqlite3_finalize(st);
		total += now_ns() - t0;
		if (rc != SQLITE_DONE)
			(*failed)++;
	}
out:
	sqlite3_close(db);
	free(qs);
	return total;
}

static int load_rules(const char *const *paths, size_t np, struct ruleset **rs,
		      struct detect_load_stats *st, uint64_t *ns)
{
	uint64_t t0 = now_ns();
	int r = ruleset_load(paths, np, rs, st, NULL, NULL);

	*ns = now_ns() - t0;
	return r;
}

int main(int argc, char **argv)
{
	static const char *const sets[] = {
	    "rules",	  "rules-emerging-threats", "rules-threat-hunting", "rules-compliance",
	    "rules-dfir", "rules-placeholder"};
	char bufs[6][4096], linux_dir[4096], why[512] = "";
	const char *paths[6], *lpaths[1];
	struct detect_load_stats st, lst;
	struct ruleset *rs = NULL, *lrs = NULL;
	struct intel_set *is = NULL;
	struct corpus *c = NULL;
	struct zrule *z = NULL;
	struct counts cnt = {0}, lcnt = {0};
	uint64_t *ns = NULL, load_ns, lload_ns, t_all, t_linux, t_sql, t0, intel_ns = 0;
	unsigned long iocs = DEFAULT_IOCS, sql_matches = 0;
	unsigned sql_failed = 0;
	size_t np = 0, nz = 0, nev;
	double eps, leps, seps, rss;
	struct stat sb;
	int ret = 1;

	if (argc != 4 && !(argc == 6 && strcmp(argv[4], "--iocs") == 0)) {
		fprintf(stderr, "usage: detect_bench SIGMA_DIR ZIRCOLITE_JSON CORPUS [--iocs N]\n");
		return 2;
	}
	if (argc == 6) {
		uint64_t v;
		if (util_parse_u64(argv[5], 0, INTEL_MAX_INDICATORS, &v) != 0) {
			fprintf(stderr, "detect_bench: --iocs wants 0..%u\n", INTEL_MAX_INDICATORS);
			return 2;
		}
		iocs = (unsigned long)v;
	}
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		snprintf(bufs[np], sizeof(bufs[np]), "%s/%s", argv[1], sets[i]);
		if (stat(bufs[np], &sb) == 0)
			paths[np] = bufs[np], np++;
	}
	snprintf(linux_dir, sizeof(linux_dir), "%s/rules/linux", argv[1]);
	lpaths[0] = linux_dir;
	if (np == 0 || stat(argv[2], &sb) != 0 || stat(argv[3], &sb) != 0) {
		printf("{\"bench\":\"detect\",\"error\":\"needs SigmaHQ rules, the Zircolite "
		       "queries and a corpus\"}\n");
		return 0;
	}
	if (load_rules(paths, np, &rs, &st, &load_ns) != 0 ||
	    load_rules(lpaths, 1, &lrs, &lst, &lload_ns) != 0 ||
	    zrules_load(argv[2], &z, &nz) != 0 || corpus_load(argv[3], &c, why, sizeof(why)) != 0) {
		printf(
		    "{\"bench\":\"detect\",\"error\":\"cannot load rules, queries or corpus\"}\n");
		goto out;
	}
	nev = corpus_count(c);
	t0 = now_ns();
	if (iocs && build_intel(iocs, &is) != 0) {
		printf("{\"bench\":\"detect\",\"error\":\"cannot build the intel set\"}\n");
		goto out;
	}
	intel_ns = now_ns() - t0;
	ns = calloc(nev ? nev : 1, sizeof(*ns));
	if (!ns || nev == 0)
		goto out;

	replay_timed(c, rs, is, ns); /* also warms caches and per-thread state */
	t_all = replay(c, rs, is, &cnt);
	rss = rss_mb();
	t_linux = replay(c, lrs, NULL, &lcnt);
	t_sql = sqlite_pass(c, z, nz, &sql_matches, &sql_failed, why, sizeof(why));
	if (!t_sql) {
		printf("{\"bench\":\"detect\",\"error\":\"sqlite baseline failed\"}\n");
		goto out;
	}
	qsort(ns, nev, sizeof(*ns), cmp_u64);
	eps = (double)nev / ((double)t_all / 1e9);
	leps = (double)nev / ((double)t_linux / 1e9);
	seps = (double)nev / ((double)t_sql / 1e9);

	printf("{\"bench\":\"detect\",\"metric\":\"compile_ms\",\"value\":%.1f,\"unit\":\"ms\","
	       "\"rules\":%u,\"unsupported\":%u,\"errors\":%u}\n",
	       (double)load_ns / 1e6, st.loaded, st.unsupported, st.errors);
	printf("{\"bench\":\"detect\",\"metric\":\"intel_build_ms\",\"value\":%.1f,\"unit\":\"ms\","
	       "\"iocs\":%zu}\n",
	       (double)intel_ns / 1e6, is ? intel_set_count(is) : (size_t)0);
	printf("{\"bench\":\"detect\",\"metric\":\"events_per_sec_core\",\"value\":%.0f,"
	       "\"unit\":\"ev/s\",\"baseline\":\"sqlite-sql\",\"ratio\":%.3f}\n",
	       eps, eps / seps);
	printf("{\"bench\":\"detect\",\"metric\":\"events_per_sec_core_linux\",\"value\":%.0f,"
	       "\"unit\":\"ev/s\",\"baseline\":\"sqlite-sql\",\"ratio\":%.3f,\"rules\":%u}\n",
	       leps, leps / seps, lst.loaded);
	printf("{\"bench\":\"detect\",\"metric\":\"sqlite_events_per_sec\",\"value\":%.0f,"
	       "\"unit\":\"ev/s\",\"queries\":%zu,\"failed\":%u}\n",
	       seps, nz, sql_failed);
	printf(
	    "{\"bench\":\"detect\",\"metric\":\"p99_ns_per_event\",\"value\":%llu,\"unit\":\"ns\"}"
	    "\n",
	    (unsigned long long)ns[(size_t)((double)(nev - 1) * 0.99)]);
	printf("{\"bench\":\"detect\",\"metric\":\"rss_mb\",\"value\":%.1f,\"unit\":\"MB\"}\n",
	       rss);
	printf("{\"bench\":\"detect\",\"metric\":\"matches\",\"value\":%lu,\"unit\":\"alerts\","
	       "\"iocs\":%lu,\"linux_rules\":%lu,\"sqlite\":%lu,\"events\":%zu}\n",
	       cnt.rules, cnt.iocs, lcnt.rules, sql_matches, nev);
	ret = 0;
out:
	free(ns);
	intel_set_free(is);
	corpus_free(c);
	zrules_free(z, nz);
	ruleset_free(rs);
	ruleset_free(lrs);
	return ret;
}
