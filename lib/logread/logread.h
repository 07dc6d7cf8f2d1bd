/* logread: readers that turn log files into struct event for offline
 * scanning (docs/scan.md): NDJSON (one JSON object a line), syslog (RFC 3164
 * and RFC 5424 lines) and EVTX (Windows event logs, through libevtx).
 *
 * Layers, each usable alone (the parsers are what the fuzz targets call):
 *   logread_lines_*  a bounded line reader over a file or a memory buffer;
 *   logread_arena_*  fixed-capacity storage for the names and values of one
 *                    record (struct event borrows its strings);
 *   logread_ndjson_parse, logread_syslog_parse, logread_evtx_xml: one record
 *                    of text into one event;
 *   logread_open/next/close: a whole file, format detected or given.
 *
 * Limits: a line holds at most LOGREAD_MAX_LINE bytes (longer lines are
 * reported and skipped); a record's names and values share LOGREAD_ARENA
 * bytes; a record holds at most LOGREAD_MAX_FIELDS fields: the first
 * EVENT_MAX_FIELDS in ev->fields, the others in ev->xfields (which the rule
 * engine and intel_match read). Fields past a limit are dropped and counted
 * in the record's dropped count, never an error.
 *
 * Windows records (an NDJSON object with Event.System, as evtx_dump and
 * SigmaHQ's regression data write them, and every EVTX record) keep their
 * evtx_dump-shaped names ("Event.System.Provider.#attributes.Name",
 * "Event.EventData.Image") until lib/detect's winevt_map turns them into
 * Sigma's names (Provider_Name, Image) with product "windows" and the
 * service and category from Channel and EventID; so they are in xfields. Nothing here exits or
 * aborts. Not thread-safe: one reader, one thread; separate readers are independent. */
#ifndef YM_LOGREAD_H
#define YM_LOGREAD_H

#include <stddef.h>
#include <stdint.h>

struct event;

#define LOGREAD_MAX_LINE   (1u << 20) /* bytes in one line, without the newline */
#define LOGREAD_ARENA	   (2u << 20) /* bytes for one record's names and values */
#define LOGREAD_MAX_DEPTH  16	      /* JSON nesting levels flattened */
#define LOGREAD_MAX_ARRAY  16	      /* JSON array elements kept (indexed) */
#define LOGREAD_EVTX_XML   (4u << 20) /* bytes of one EVTX record's XML */
#define LOGREAD_MAX_FIELDS 512	      /* fields of one record (fields[] then xfields) */

/* ---- line reader ---- */

struct logread_lines {
	int fd;		    /* -1 when reading memory */
	const uint8_t *mem; /* borrowed input in memory mode */
	size_t memlen, memoff;
	uint8_t *buf; /* owned */
	size_t cap, start, end;
	size_t maxline;
	uint64_t lineno; /* 1-based number of the line last returned or skipped */
	int eof;
};

/* Opens path for reading lines of at most maxline bytes (1..LOGREAD_MAX_LINE).
 * Returns 0, YM_E_INVAL, YM_E_IO (errno kept), YM_E_NOMEM. */
int logread_lines_open(struct logread_lines *l, const char *path, size_t maxline);
/* Reads lines from p (len bytes, borrowed until logread_lines_close).
 * Returns 0, YM_E_INVAL, YM_E_NOMEM. */
int logread_lines_mem(struct logread_lines *l, const void *p, size_t len, size_t maxline);
/* Next line: *line points at its bytes (NUL-terminated, without "\n" or
 * "\r\n", valid until the next call), *len its length (it may hold NUL
 * bytes of its own). A last line without a newline is returned too.
 * Returns 1 (a line), 0 (end of input), YM_E_TOOBIG (a line longer than
 * maxline: skipped up to its newline; l->lineno is its number; call again
 * for the next line), YM_E_IO. */
int logread_lines_next(struct logread_lines *l, const char **line, size_t *len);
/* Closes the file (not a borrowed one) and frees the buffer. Safe to call
 * on a zeroed or already closed reader. */
void logread_lines_close(struct logread_lines *l);

/* ---- record storage ---- */

struct winevt;
struct event_field;

struct logread_arena {
	char *p; /* owned */
	size_t len, cap;
	struct winevt *win;	/* owned: Windows records mapped by lib/detect's winevt_map */
	struct event_field *xf; /* owned: fields past EVENT_MAX_FIELDS (ev->xfields) */
};

/* Allocates cap bytes and the field tables. Returns 0, YM_E_NOMEM. */
int logread_arena_init(struct logread_arena *a, size_t cap);
void logread_arena_free(struct logread_arena *a);
void logread_arena_reset(struct logread_arena *a);
/* Copies n bytes of s plus a NUL into the arena. Returns the copy, or NULL
 * when it does not fit (the arena is unchanged). */
const char *logread_arena_dup(struct logread_arena *a, const char *s, size_t n);

/* ---- one record ---- */

/* The logsource and envelope defaults for the events of a file; strings
 * borrowed, NULL when not given. */
struct logread_opts {
	const char *product;
	const char *category;
	const char *service;
};

/* One parsed record beyond the event itself. Strings borrowed like the
 * event's (valid until the next parse into the same arena). The event's
 * logsource is set too: ev->product, ev->category (or ev->category_name for
 * names outside enum event_category) and ev->service. */
struct logread_rec {
	const char *product; /* the logsource, as set on the event */
	const char *category;
	const char *service;
	int windows;	  /* mapped by winevt_map (Sigma's Windows field names) */
	unsigned dropped; /* fields left out: over LOGREAD_MAX_FIELDS, the arena or a name limit */
};

/* Parses one NDJSON line (one JSON object) into ev (event_init'ed here).
 * Nested objects are flattened with dots ({"a":{"b":1}} -> "a.b" = "1"),
 * arrays are indexed ("a.0", "a.1", ... up to LOGREAD_MAX_ARRAY elements;
 * objects in arrays go on: "a.0.b"), integers keep their JSON text, other
 * numbers their shortest exact text, true/false become "true"/"false",
 * null becomes "". Name bytes outside [A-Za-z0-9_.] become '_' (except in
 * Windows records, see above).
 * Envelope keys at the top level (docs/schema.md "NDJSON envelope"):
 * "product", "category", "service" (strings), "host" (string), "ts" (integer
 * ns, or an RFC 3339 string) and "time"/"@timestamp" (RFC 3339) set the
 * envelope and rec, not fields. The options fill what the record leaves
 * unset; a Windows record's own logsource (winevt_map) wins over them
 * except for a service or category the record names itself. Names, values and the event's strings
 * live in arena (reset here). Returns 0, or YM_E_PARSE with a reason in why (not JSON, not an
 * object, NUL in a string, too deep). */
int logread_ndjson_parse(const char *line, size_t len, const struct logread_opts *o,
			 struct logread_arena *arena, struct event *ev, struct logread_rec *rec,
			 char *why, size_t whysz);

/* Parses one syslog line: RFC 5424 ("<PRI>1 TS HOST APP PROCID MSGID SD MSG")
 * or RFC 3164 / the traditional file format ("[<PRI>]Mmm dd hh:mm:ss HOST
 * TAG[PID]: MSG", also with an RFC 3339 time stamp as rsyslog writes it).
 * Fields: HOSTNAME, APP, PID, MSGID, SD (5424 structured data as written),
 * MESSAGE, FACILITY and SEVERITY (names, when a PRI is present). The product
 * is "linux" unless o says otherwise; the service is o->service, else
 * derived from APP (sshd -> sshd, cron/CRON -> cron, sudo -> sudo, su/login
 * and friends -> auth, ...; docs/scan.md), else from the facility (auth,
 * authpriv -> auth), else "syslog". Time stamps without a year take the
 * year of now_ns (the previous one if that would lie more than a day in
 * the future); times without a zone are UTC. Returns 0, YM_E_PARSE. */
int logread_syslog_parse(const char *line, size_t len, const struct logread_opts *o,
			 uint64_t now_ns, struct logread_arena *arena, struct event *ev,
			 struct logread_rec *rec, char *why, size_t whysz);

/* Turns one EVTX record's XML (as libevtx renders it) into names of the
 * shape of evtx_dump's JSON: Event.System.EventID, Event.System.Channel,
 * Event.System.Provider.#attributes.Name, ..., Event.EventData.<Name> for
 * each <Data Name="..."> (unnamed Data elements are Event.EventData.Data.0,
 * .1, ...), Event.UserData.<element>.<path>; then winevt_map as above.
 * ts_ns from TimeCreated/@SystemTime, host from Computer; o's service and
 * category, when set, replace the mapped ones. Returns 0, YM_E_PARSE,
 * YM_E_NOMEM. */
int logread_evtx_xml(const char *xml, size_t len, const struct logread_opts *o,
		     struct logread_arena *arena, struct event *ev, struct logread_rec *rec,
		     char *why, size_t whysz);

/* ---- whole files ---- */

enum logread_format {
	LOGREAD_AUTO = 0,
	LOGREAD_NDJSON = 1,
	LOGREAD_SYSLOG = 2,
	LOGREAD_EVTX = 3,
};

struct logread;

/* "ndjson", "syslog", "evtx", "auto". Returns 0, YM_E_INVAL. */
int logread_format_parse(const char *s, enum logread_format *out);
const char *logread_format_name(enum logread_format f);

/* Opens path. LOGREAD_AUTO looks at the content: the EVTX signature
 * "ElfFile\0", else a first non-blank byte '{' means NDJSON, else syslog.
 * o (may be NULL) is copied; its strings are borrowed for the reader's life.
 * Returns 0 and sets *out (free with logread_close), YM_E_IO (errno kept),
 * YM_E_PARSE (not an EVTX file although asked for), YM_E_NOMEM. */
int logread_open(const char *path, enum logread_format fmt, const struct logread_opts *o,
		 struct logread **out);
enum logread_format logread_format(const struct logread *r);

/* Reads the next record into ev and rec (strings valid until the next call).
 * *where gets its 1-based line number (NDJSON, syslog) or EVTX record
 * identifier. Returns 1 (an event), 0 (end), YM_E_PARSE or YM_E_TOOBIG (a
 * malformed or too long record, skipped: why says why and *where says
 * where; call again), YM_E_IO (the file cannot be read on: stop). */
int logread_next(struct logread *r, struct event *ev, struct logread_rec *rec, uint64_t *where,
		 char *why, size_t whysz);
void logread_close(struct logread *r);

#endif
