/* detect: the Sigma detection engine (see docs/rules.md).
 *
 * parse -> check -> compile into an immutable struct ruleset -> match many
 * events against one shared ruleset. A ruleset is never changed after it is
 * built, so any number of threads may call ruleset_match() on it at once; a
 * reload builds a new ruleset and swaps the pointer (the caller's job).
 * The library never exits or aborts on bad input. */
#ifndef YM_DETECT_H
#define YM_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct ruleset;

/* One diagnostic about one rule file. Both strings are NUL-terminated and
 * hold no control bytes: text quoted from the rule is already escaped as \xNN
 * in reason, and control bytes of the path are replaced by '?' in file. */
struct detect_diag {
	char file[512];
	int line;	  /* 1-based line in the file, 0 when unknown */
	int severity;	  /* YM_E_PARSE (error) or YM_E_UNSUPPORTED */
	char reason[256]; /* human-readable, no newline */
};

/* Called once per diagnostic while loading; diag is borrowed for the call. */
typedef void (*detect_diag_fn)(const struct detect_diag *diag, void *ctx);

struct detect_load_stats {
	unsigned loaded;      /* rules compiled into the ruleset */
	unsigned unsupported; /* well-formed rules that use something not implemented yet */
	unsigned errors;      /* files or rules that could not be parsed */
	unsigned skipped;     /* YAML documents that are no Sigma rule at all: a mapping
			       * without title, logsource, detection, correlation or
			       * filter (e.g. a test's info.yml); not diagnosed */
};

/* Metadata of a rule, as handed to match callbacks. All strings are owned by
 * the ruleset and live as long as it does; any may be "" but never NULL. */
struct rule_info {
	const char *id;
	const char *title;
	const char *level; /* informational, low, medium, high, critical */
	const char *description;
	const char *status;
	const char *product, *category, *service; /* logsource */
	const char *const *tags;		  /* e.g. "attack.execution", "attack.t1059.004" */
	size_t ntags;
	const char *file; /* where it was loaded from */
	const char *name; /* the rule's 'name' (used by correlations and filters), or "" */
	const char *type; /* "detection", "correlation" or "filter" */
};

/* Loads every *.yml / *.yaml file under each path (files or folders,
 * recursively, in sorted order) and compiles the rules that parse into a new
 * ruleset. A file may hold several YAML documents. Each error or unsupported
 * rule is reported through diag (may be NULL) and counted in *stats; it does
 * not stop the load. Returns 0 and sets *out (handed to the caller; free with
 * ruleset_free) even when some rules failed; YM_E_IO when a path cannot be
 * read at all; YM_E_NOMEM. */
int ruleset_load(const char *const *paths, size_t npaths, struct ruleset **out,
		 struct detect_load_stats *stats, detect_diag_fn diag, void *ctx);

/* Parses rules from memory (one YAML stream, name used in diagnostics) into a
 * new ruleset; otherwise as ruleset_load. Used by tests and the fuzzer. */
int ruleset_load_mem(const char *yaml, size_t len, const char *name, struct ruleset **out,
		     struct detect_load_stats *stats, detect_diag_fn diag, void *ctx);

/* ---- placeholders for the 'expand' modifier ---- */

struct placeholders;

/* An empty placeholder map. Returns 0 and sets *out (free with
 * placeholders_free), or YM_E_NOMEM. */
int placeholders_new(struct placeholders **out);
/* Adds value (a Sigma string: '*', '?' and '\' escapes apply) to the
 * placeholder name (without '%'; [A-Za-z0-9_]+, at most 127 bytes). Both are
 * copied. Returns 0, YM_E_INVAL (bad name), YM_E_TOOBIG (more than 65,536
 * values for one name, 4,096 names, or 4 KiB per value), YM_E_NOMEM. */
int placeholders_add(struct placeholders *ph, const char *name, const char *value);
/* Adds the placeholders of a YAML file: a map of name (with or without the
 * surrounding '%') to a value or a list of values. Returns 0, YM_E_IO
 * (unreadable), YM_E_PARSE (not such a map; err gets "line N: reason"),
 * YM_E_TOOBIG, YM_E_NOMEM. Names already present get the new values added. */
int placeholders_load(struct placeholders *ph, const char *path, char *err, size_t errsz);
/* The same from a buffer of len bytes. */
int placeholders_load_mem(struct placeholders *ph, const char *yaml, size_t len, char *err,
			  size_t errsz);
void placeholders_free(struct placeholders *ph);

/* Options of a load; a NULL pointer to it means all defaults. */
struct detect_options {
	/* Values of %name% placeholders for 'expand' (borrowed for the load only).
	 * NULL: a rule using a placeholder is reported unsupported, naming it. */
	const struct placeholders *placeholders;
	/* 1: build no literal prefilter, so ruleset_match evaluates every rule
	 * routed to an event (what happens anyway when Hyperscan cannot run on
	 * this CPU). Matches are the same either way; for tests and comparisons. */
	int no_prefilter;
};

/* As ruleset_load / ruleset_load_mem, with options. */
int ruleset_load_opts(const char *const *paths, size_t npaths, const struct detect_options *opt,
		      struct ruleset **out, struct detect_load_stats *stats, detect_diag_fn diag,
		      void *ctx);
int ruleset_load_mem_opts(const char *yaml, size_t len, const char *name,
			  const struct detect_options *opt, struct ruleset **out,
			  struct detect_load_stats *stats, detect_diag_fn diag, void *ctx);

void ruleset_free(struct ruleset *rs);
size_t ruleset_count(const struct ruleset *rs);

/* Metadata of the i-th rule in load order (0 <= i < ruleset_count), or NULL
 * when i is out of range. Borrowed from rs; thread-safe. */
const struct rule_info *ruleset_rule(const struct ruleset *rs, size_t i);

/* Number of regular-expression evaluations, over all ruleset_match calls on
 * rs so far, that stopped at a PCRE2 limit (match, depth or heap) or could not
 * get match data; each such evaluation counted as "no match". Thread-safe. */
unsigned long ruleset_match_errors(const struct ruleset *rs);

/* Which rules ruleset_match would evaluate for ev: cand[i] (ncand entries,
 * one per rule index) is set to 1 for each rule it would evaluate (routed by
 * logsource and kept by the literal prefilter), else 0. Returns the number
 * of such rules, or YM_E_INVAL when ncand < ruleset_count(rs). For tests and
 * tuning; thread-safe, no allocation per call. */
long ruleset_candidates(const struct ruleset *rs, const struct event *ev, unsigned char *cand,
			size_t ncand);
/* Rules the prefilter can never skip (no necessary literal could be derived
 * from their condition), over all logsources; 0 without prefilter. */
size_t ruleset_always_candidates(const struct ruleset *rs);

/* Called for each rule that matches; return non-zero to stop matching. */
typedef int (*detect_match_fn)(const struct rule_info *rule, const struct event *ev, void *ctx);

/* Evaluates every detection rule whose logsource fits the event against ev
 * and calls on_match for each match, in load order. The event's logsource is
 * ev->product, its category (ev->category, or ev->category_name when that is
 * EVCAT_UNKNOWN) and ev->service; a rule fits when each of its product,
 * category and service is unset or equal (ASCII case-insensitive), and a
 * rule of category registry_event also fits registry_add, registry_delete,
 * registry_set and registry_rename events. Rules that correlation rules
 * reference without 'generate: true' are evaluated but not reported (they
 * only feed correlations, see ruleset_match_correl). ev and rs are borrowed.
 * Does not allocate per event (the first regular expression evaluated on a
 * thread creates that thread's PCRE2 match data, freed at thread exit);
 * thread-safe for concurrent calls on the same ruleset. Returns the number of
 * matches reported (>= 0). */
int ruleset_match(const struct ruleset *rs, const struct event *ev, detect_match_fn on_match,
		  void *ctx);

/* ---- correlation rules ---- */

/* Mutable windows of the correlation rules of one ruleset, for one stream of
 * events (one consumer). Not thread-safe: one state per thread or stream.
 * The ruleset stays immutable and may be shared. */
struct correl_state;

/* Bounds of one correlation state; 0 in a field means its default. */
struct correl_limits {
	uint32_t max_groups;  /* groups (distinct group-by values) per correlation
			       * rule; default 4,096, at most 1,048,576. At the
			       * bound the least recently updated group is evicted
			       * (counted in groups_evicted, or groups_expired when
			       * its window had already passed). */
	uint32_t max_entries; /* events (or distinct values) remembered per group;
			       * default 1,024, at most 65,536. At the bound the
			       * oldest entry is dropped (entries_evicted), so a
			       * count never exceeds max_entries. */
};

struct correl_stats {
	uint64_t groups_evicted;  /* live groups evicted at max_groups */
	uint64_t groups_expired;  /* groups dropped because their window passed */
	uint64_t entries_evicted; /* entries dropped at max_entries */
	uint64_t events_ignored;  /* events without a group-by or condition field */
	uint64_t events_nomem;	  /* events not counted because memory ran out */
	uint64_t groups;	  /* groups held now, over all correlation rules */
};

/* A new, empty state for the correlation rules of rs (which must outlive it).
 * lim may be NULL (defaults). Returns 0 and sets *out (free with
 * correl_state_free), YM_E_INVAL (a limit over its maximum), YM_E_NOMEM.
 * Memory grows with groups and entries up to the limits; about
 * max_groups x (96 + 24 x max_entries) bytes per correlation rule at most. */
int correl_state_new(const struct ruleset *rs, const struct correl_limits *lim,
		     struct correl_state **out);
void correl_state_free(struct correl_state *st);
/* Copies the counters of st into *out. */
void correl_state_stats(const struct correl_state *st, struct correl_stats *out);

/* Like ruleset_match, and also feeds each match into the correlation rules
 * that reference the matching rule (by id or name), using ev->ts_ns as the
 * event time. When a correlation rule's condition holds for the event's group
 * it is reported through on_match with its own rule_info (type
 * "correlation") and ev, and that group's window starts afresh; its match
 * feeds correlations that reference it in turn. st may be NULL (then this is
 * ruleset_match). Allocates only when a group is created or grows (bounded by
 * the limits; an allocation failure is counted in events_nomem). Returns the
 * number of matches reported, detection and correlation. */
int ruleset_match_correl(const struct ruleset *rs, struct correl_state *st,
			 const struct event *ev, detect_match_fn on_match, void *ctx);

/* ---- Windows event records ---- */

/* One flattened field of an event record: a path such as
 * "Event.System.EventID", "Event.System.Provider.#attributes.Name" or
 * "Event.EventData.CommandLine" (or an already flat Sigma name such as
 * "CommandLine"), and its value as text. Both borrowed. */
struct detect_kv {
	const char *name;
	const char *value; /* NUL-terminated, len bytes */
	size_t len;
};

#define WINEVT_MAX_FIELDS 512	/* fields of one mapped record */
#define WINEVT_NAME_BUF	  16384 /* bytes of rewritten field names */

/* Storage for one mapped record; the event points into it (and into the
 * caller's strings), so it must live as long as the event is used. */
struct winevt {
	struct event_field fields[WINEVT_MAX_FIELDS];
	char names[WINEVT_NAME_BUF];
	size_t names_used;
};

/* Maps the fields of one Windows event record (kv[0..n), borrowed) to a
 * struct event with Sigma taxonomy names and logsource, following SigmaHQ's
 * conventions (docs/rules.md, "Windows events"):
 *   Event.System.X -> X; Event.System.X.#attributes.Y -> X_Y (Provider_Name,
 *   Security_UserID, ...); a trailing ".#text" is dropped; Event.EventData.X
 *   and Event.UserData.<element>.X -> X with spaces removed;
 *   product "windows"; service from Channel (Security -> security,
 *   Microsoft-Windows-Sysmon/Operational -> sysmon, ...); category from
 *   Channel/Provider and EventID (Sysmon 1 and Security 4688 ->
 *   process_creation, Sysmon 13 -> registry_set, PowerShell 4104 -> ps_script,
 *   ...); Security 4688 also gets Image / ParentImage from NewProcessName /
 *   ParentProcessName.
 * ev is initialised (event_init) and filled: fields go to ev->xfields (w's
 * storage), ev->nfields is 0. Returns 0, YM_E_TOOBIG (more than
 * WINEVT_MAX_FIELDS fields or WINEVT_NAME_BUF bytes of names), YM_E_INVAL
 * (a value with a NUL byte). */
int winevt_map(struct winevt *w, const struct detect_kv *kv, size_t n, struct event *ev);

/* ---- Linux log lines (auditd records, syslog) ---- */

#define LINUXLOG_MAX_FIELDS 256
#define LINUXLOG_MAX_LINE   65535

/* Storage for one parsed line; the event points into it. */
struct linuxlog {
	struct event_field fields[LINUXLOG_MAX_FIELDS];
	char buf[LINUXLOG_MAX_LINE + 1];
	size_t len;
	uint32_t nfields;
};

/* Parses one raw auditd record ("type=SYSCALL msg=audit(T:N): k=v k="v" ...";
 * line: len bytes, borrowed, copied into l) into ev: product "linux", service
 * "auditd", field "type" and one field per key (quotes removed, hex values
 * kept as written), ev->ts_ns from msg=audit(T:N). Fields go to ev->xfields.
 * Returns 0, YM_E_TOOBIG (line over LINUXLOG_MAX_LINE bytes or more than
 * LINUXLOG_MAX_FIELDS fields), YM_E_INVAL (a NUL byte in the line). */
int linuxlog_auditd(struct linuxlog *l, const char *line, size_t len, struct event *ev);
/* Parses one syslog line ("[<PRI>]Mmm dd hh:mm:ss host program[pid]: msg";
 * without that header the whole line is the message) into ev: product
 * "linux", fields message, host, program, pid; service "sshd", "sudo",
 * "cron", "auth" (su, login, systemd-logind) or "syslog". Routing also lets
 * sshd, sudo and su/login lines reach service auth rules and every one of
 * them reach service syslog rules. Returns as linuxlog_auditd. */
int linuxlog_syslog(struct linuxlog *l, const char *line, size_t len, struct event *ev);

#endif
