/* corpus: an NDJSON event corpus in memory, and the same events as an
 * SQLite table, for the Sigma oracle (tests/oracle) and bench/detect.
 *
 * One event a line, a JSON object: either flat (field names at the top
 * level beside the envelope keys) or with the fields in a "fields" object.
 * Envelope keys: "category" (process_creation, ...), "product" (default
 * "linux"), "service" (e.g. "auditd"; yamori events have no service, so it is
 * kept beside the event, not in it). Field values that are strings, integers
 * or booleans become strings; null and other types are left out, as are
 * names event_name_ok() refuses and values holding a NUL byte.
 * A test-support module: single-threaded, not for outside bytes beyond the
 * generator's own files. See docs/oracle.md. */
#ifndef YM_CORPUS_H
#define YM_CORPUS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct corpus;

#define CORPUS_MAX_EVENTS (16u << 20) /* events per corpus */
#define CORPUS_MAX_NAMES  1024	      /* distinct field names per corpus */
#define CORPUS_MAX_LINE	  (1u << 20)  /* bytes per NDJSON line */

/* Loads path. Returns 0 and sets *out (handed to the caller; free with
 * corpus_free); YM_E_IO (cannot read; why says so), YM_E_PARSE (a line is
 * not a JSON object: why names the line), YM_E_TOOBIG (over a cap above),
 * YM_E_NOMEM. why (whysz bytes) is set on failure only. */
int corpus_load(const char *path, struct corpus **out, char *why, size_t whysz);
void corpus_free(struct corpus *c);
size_t corpus_count(const struct corpus *c);

/* Fills ev with event i (0-based): category, product and fields borrowed
 * from c (valid until corpus_free). i must be < corpus_count(c). */
void corpus_event(const struct corpus *c, size_t i, struct event *ev);
/* The event's "service" envelope key, or "" when it had none. Borrowed. */
const char *corpus_service(const struct corpus *c, size_t i);
/* The SQL "category" column of event i: the category name, else the
 * service, else "unknown". Borrowed. */
const char *corpus_kind(const struct corpus *c, size_t i);

/* Creates table logs(eid INTEGER PRIMARY KEY, category TEXT, product TEXT,
 * one TEXT column per distinct field name, case-insensitively, plus one for
 * each column name that one of the nq queries uses and the corpus lacks),
 * fills it with every event (eid = line number, from 1; a missing field is
 * NULL), indexes category, and creates a view logs_filled with each field
 * column as coalesce(col, '') (a missing field read as empty). queries may
 * be NULL when nq is 0; they are only prepared, never run. Returns 0 or
 * YM_E_DB (why gets SQLite's message). */
int corpus_sql_fill(const struct corpus *c, sqlite3 *db, const char *const *queries, size_t nq,
		    char *why, size_t whysz);

/* Registers regexp(pattern, value) so that "value REGEXP pattern" works:
 * PCRE2, byte mode, case-sensitive, searched anywhere in the value; 1 on a
 * match, 0 otherwise (also for a NULL value, as Zircolite's function does),
 * an SQL error for a pattern that does not compile. Compiled patterns are
 * cached per statement. Returns 0 or YM_E_DB. */
int corpus_sql_regexp(sqlite3 *db);

/* One converted rule from a Zircolite rule file (a JSON array of objects with
 * "id", "title" and "rule": [query]). Strings owned by the array. */
struct zrule {
	char *id, *title, *query;
};

/* Loads path into *out (an array of *n rules, handed to the caller; free with
 * zrules_free). Rules without an id or with other than one query are left
 * out. Returns 0, YM_E_IO, YM_E_PARSE, YM_E_NOMEM. */
int zrules_load(const char *path, struct zrule **out, size_t *n);
void zrules_free(struct zrule *z, size_t n);

#endif
