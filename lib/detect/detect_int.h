/* detect_int.h: private structures of the detection engine, shared by its
 * files only (never included outside lib/detect).
 *
 * Pipeline (docs/rules.md, "Engine internals"):
 *   yamltree.c  YAML stream -> per-document node tree with line numbers
 *   rule.c      document tree -> struct rule (metadata, logsource, checks)
 *   search.c    one search identifier -> alternatives of field items
 *   modifier.c  the table of Sigma value modifiers (supported or not, and why)
 *   pattern.c   one value -> compiled wildcard pattern or PCRE2 regex; matching
 *   value.c     value transformations before compiling (expand, windash, base64,
 *               base64offset, utf16*): one rule value -> its variants
 *   cond.c      condition string -> expression tree (recursive descent); eval
 *   correl.c    correlation rules: compile, reference resolution, windowed state
 *   logsource.c the (product, category, service) routing index
 *   winevt.c    Windows event records -> Sigma taxonomy field names and logsource
 *   placeholders.c  placeholder values for the 'expand' modifier
 *   ruleset.c   loading files, filters, ruleset_match, ruleset_match_correl
 *   arena.c     per-rule bump allocator with a hard cap
 *
 * Everything a rule owns lives in its arena, except PCRE2 codes, which are
 * chained on the rule and freed with it. */
#ifndef YM_DETECT_INT_H
#define YM_DETECT_INT_H

#include "detect.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct event;

/* Hard caps. Each is rejected with a diagnostic naming the cap. */
#define DETECT_MAX_FILE_SIZE	 (1u << 20)  /* bytes per rule file */
#define DETECT_MAX_FILES	 100000	     /* files per load */
#define DETECT_MAX_DIR_DEPTH	 32	     /* folder nesting below a load path */
#define DETECT_MAX_DOCS		 256	     /* YAML documents per file */
#define DETECT_MAX_YAML_NODES	 262144	     /* nodes per YAML document */
#define DETECT_MAX_YAML_DEPTH	 64	     /* nesting of YAML collections */
#define DETECT_MAX_SCALAR	 65535	     /* bytes per YAML scalar */
#define DETECT_MAX_VALUES	 65536	     /* values per field (a list) */
#define DETECT_MAX_VARIANTS	 4096	     /* variants one value expands to (windash, expand) */
#define DETECT_MAX_PATTERNS	 262144	     /* compiled patterns per field item */
#define DETECT_MAX_SCRATCH	 (64u << 20) /* scratch bytes while expanding one item */
#define DETECT_MAX_RULESET_MEM	 (1ull << 30) /* arena bytes of all rules of one ruleset */
#define DETECT_MAX_CORREL_REFS	 64	     /* rules referenced by one correlation */
#define DETECT_MAX_CORREL_GROUP	 16	     /* group-by fields of one correlation */
#define DETECT_MAX_CORREL_DEPTH	 8	     /* correlation over correlation nesting */
#define DETECT_MAX_CORREL_SPAN_S (366ull * 86400) /* longest timespan: 366 days */
#define DETECT_MAX_FILTER_REFS	 4096	     /* rules one filter applies to */
#define DETECT_MAX_ITEMS	 256	     /* fields per map */
#define DETECT_MAX_ALTS		 4096	     /* maps in a list of maps */
#define DETECT_MAX_SEARCHES	 1024	     /* search identifiers per rule */
#define DETECT_MAX_TAGS		 64	     /* tags per rule */
#define DETECT_MAX_COND_LEN	 4096	     /* bytes per condition */
#define DETECT_MAX_COND_DEPTH	 64	     /* nesting of not / parentheses */
#define DETECT_MAX_COND_NODES	 1024	     /* terms per condition */
#define DETECT_MAX_RE_LEN	 4096	     /* bytes per regular expression */
#define DETECT_RE_MATCH_LIMIT	 100000	     /* pcre2_set_match_limit */
#define DETECT_RE_DEPTH_LIMIT	 10000	     /* pcre2_set_depth_limit */
#define DETECT_RE_HEAP_LIMIT_KIB 2048	     /* pcre2_set_heap_limit */
#define DETECT_MAX_RULES	 200000	     /* rules per ruleset */
#define DETECT_MAX_RULE_MEM	 (16u << 20) /* arena bytes per rule */

/* ---- arena.c: bump allocator, freed all at once ---- */

struct arena_block;
struct arena {
	struct arena_block *head;
	size_t total; /* bytes of all blocks */
	size_t cap;   /* hard cap on total; an allocation past it fails */
	int err;      /* first failure: YM_E_TOOBIG (cap) or YM_E_NOMEM; 0 if none */
};

/* Initialises an empty arena that may hold up to cap bytes. No allocation. */
void arena_init(struct arena *a, size_t cap);
/* Returns n zeroed bytes aligned for any type, owned by the arena, or NULL
 * when over the cap or out of memory (a->err says which). */
void *arena_alloc(struct arena *a, size_t n);
/* Copies s (n bytes) into the arena and NUL-terminates it; NULL as above. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Frees every block; the arena is empty again and may be reused. */
void arena_free(struct arena *a);

/* ---- yamltree.c: YAML -> node tree ---- */

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

struct ynode {
	enum ynode_kind kind;
	int line; /* 1-based */
	/* scalar */
	const char *str; /* NUL-terminated, len bytes (may hold NUL bytes) */
	size_t len;
	int plain; /* unquoted scalar: null / boolean / number spelling counts */
	/* sequence: items; mapping: key, value, key, value, ... */
	struct ynode *first, *last, *next;
	size_t n; /* children (a mapping has 2 per pair) */
};

/* Outcome of one YAML stream problem, for diagnostics. */
struct yamltree_err {
	int line;
	int severity; /* YM_E_PARSE or YM_E_UNSUPPORTED */
	char reason[200];
};

/* Called with the root of each document (borrowed: nodes live in the arena
 * given to yamltree_parse until the callback returns). Return 0 to go on, or
 * a negative code to stop the stream with that code. */
typedef int (*yamltree_doc_fn)(const struct ynode *root, void *ctx);

/* Parses the YAML stream buf (len bytes, borrowed) document by document.
 * The arena is emptied before each document. Returns 0, or YM_E_PARSE /
 * YM_E_UNSUPPORTED (aliases) / YM_E_TOOBIG (a cap) with *err filled, or
 * YM_E_NOMEM, or the callback's code. Documents before a failure were already
 * handed to fn. */
int yamltree_parse(const char *buf, size_t len, struct arena *a, yamltree_doc_fn fn, void *ctx,
		   struct yamltree_err *err);
/* 1 when the scalar node is a YAML null (plain null, Null, NULL, ~ or empty). */
int yamltree_is_null(const struct ynode *n);
/* For mapping m: the key node named key (exact), or NULL. */
const struct ynode *yamltree_key(const struct ynode *m, const char *key);
/* For mapping m: the value of key (exact), or NULL. */
const struct ynode *yamltree_get(const struct ynode *m, const char *key);

/* ---- modifier.c: the value modifier table ---- */

enum mod_id {
	MOD_CONTAINS,
	MOD_STARTSWITH,
	MOD_ENDSWITH,
	MOD_ALL,
	MOD_CASED,
	MOD_EXISTS,
	MOD_RE,
	MOD_RE_I,
	MOD_RE_M,
	MOD_RE_S,
	MOD_WINDASH,
	MOD_BASE64,
	MOD_BASE64OFFSET,
	MOD_UTF16LE,
	MOD_UTF16BE,
	MOD_UTF16,
	MOD_CIDR,
	MOD_LT,
	MOD_LTE,
	MOD_GT,
	MOD_GTE,
	MOD_NEQ,
	MOD_MINUTE,
	MOD_HOUR,
	MOD_DAY,
	MOD_WEEK,
	MOD_MONTH,
	MOD_YEAR,
	MOD_EXPAND,
	MOD_FIELDREF,
	MOD_UNSUPPORTED,
};

struct modifier {
	const char *name;
	enum mod_id id;
	const char *unsupported; /* NULL when implemented; else why not, for the diagnostic */
};

/* The entry for name (n bytes, exact), or NULL for an unknown modifier. */
const struct modifier *modifier_lookup(const char *name, size_t n);
/* Number of entries and entry i, for documentation and tests. */
size_t modifier_count(void);
const struct modifier *modifier_at(size_t i);

/* ---- value.c: transforming one rule value into its variants ---- */

/* A value while it is transformed: units 0..255 are bytes, VAL_STAR is a '*'
 * wildcard and VAL_ONE a '?' wildcard (escapes already resolved). */
#define VAL_STAR 256
#define VAL_ONE	 257

struct value {
	uint16_t *u;
	uint32_t n;
	struct value *next; /* next variant of the same rule value */
};

struct placeholders; /* placeholders.c */

/* Parses the Sigma string s (n bytes) into units: '*' and '?' are wildcards,
 * '\' escapes '*', '?' and '\' (any other backslash is itself). With ph
 * (modifier expand), %name% is a placeholder replaced by each of its values
 * (every combination when there are several) and \% is a plain '%'.
 * Variants come from a (scratch memory). Returns 0 and sets *out, or
 * YM_E_NOTFOUND with the placeholder name in missing (size missingsz),
 * YM_E_TOOBIG (more than DETECT_MAX_VARIANTS variants, or a), YM_E_NOMEM. */
int value_parse(struct arena *a, const char *s, size_t n, const struct placeholders *ph,
		int expand, struct value **out, char *missing, size_t missingsz);
/* Applies the transformation modifier id (MOD_WINDASH, MOD_BASE64,
 * MOD_BASE64OFFSET, MOD_UTF16LE, MOD_UTF16BE, MOD_UTF16) to every variant of
 * *list, replacing the list. Returns 0, YM_E_PARSE (base64 of a value with
 * wildcards, utf16 of invalid UTF-8; msg filled), YM_E_TOOBIG (more than
 * DETECT_MAX_VARIANTS variants, or a), YM_E_NOMEM. */
int value_apply(struct arena *a, enum mod_id id, struct value **list, char *msg, size_t msgsz);
/* Number of variants in list. */
size_t value_count(const struct value *list);

/* ---- pattern.c: one compiled value ---- */

enum pat_kind { PAT_GLOB, PAT_RE, PAT_CIDR, PAT_NUM, PAT_FIELDREF };

/* A glob is a run of chunks separated by '*': each chunk is literal bytes
 * (already lowercased unless cased) where any[i] != 0 marks a '?' position. */
struct pchunk {
	const uint8_t *lit;
	const uint8_t *any; /* NULL when the chunk has no '?' */
	uint32_t len;
};

enum num_op { NUM_EQ, NUM_LT, NUM_LTE, NUM_GT, NUM_GTE };
enum time_part { TP_NONE, TP_MINUTE, TP_HOUR, TP_DAY, TP_WEEK, TP_MONTH, TP_YEAR };

/* What a non-glob, non-regex pattern needs; lives in the rule's arena. */
struct pextra {
	/* PAT_CIDR */
	uint8_t family; /* 4 or 6 */
	uint8_t plen;	/* prefix length in bits */
	uint8_t addr[16];
	/* PAT_NUM */
	uint8_t op;   /* enum num_op */
	uint8_t part; /* enum time_part: extract from a date first */
	double num;
	/* PAT_FIELDREF: the other field, compared as a glob would (wrap, cased) */
	const char *ref;
	uint8_t wrap; /* enum pat_wrap */
};

struct pattern {
	uint8_t kind;	    /* enum pat_kind */
	uint8_t cased;	    /* glob / fieldref: compare bytes as they are */
	uint8_t anch_start; /* glob: first chunk must sit at offset 0 */
	uint8_t anch_end;   /* glob: last chunk must end at the value's end */
	uint8_t grp_end;    /* last variant of one rule value ('all' needs one per group) */
	uint32_t nchunks;
	struct pchunk *chunks;
	pcre2_code *re;
	const struct pextra *x;	 /* PAT_CIDR, PAT_NUM, PAT_FIELDREF */
	struct pattern *next_re; /* chain of a rule's regex patterns, for freeing */
	/* PAT_RE: a run of bytes that every match contains (compared caselessly by
	 * the prefilter), or nreq 0 when none could be derived. */
	const uint8_t *req;
	uint32_t nreq;
	/* The prefilter literal that decides this pattern on its own (req id +
	 * 1), or 0: set for a caseless one-piece 'contains' glob whose literal
	 * the field's literal scan holds (see prefilter_field). */
	uint32_t pfq;
	uint8_t pfq_framed; /* pfq's literal is framed (anchored): exact on values without NUL */
	uint8_t pfq_need;   /* pfq's literal is only necessary (a regex's): no hit, no match */
};

enum pat_wrap { PAT_WRAP_NONE, PAT_WRAP_CONTAINS, PAT_WRAP_STARTSWITH, PAT_WRAP_ENDSWITH };

/* Compiles a Sigma string value (s, n bytes) with '*', '?' and '\' escapes
 * into p, wrapped per wrap; lowercased unless cased. Memory from a.
 * Returns 0, YM_E_NOMEM / YM_E_TOOBIG (arena). */
int pattern_glob(struct pattern *p, struct arena *a, const char *s, size_t n, enum pat_wrap wrap,
		 int cased);
/* Same from units (value.c) instead of text. */
int pattern_units(struct pattern *p, struct arena *a, const uint16_t *u, size_t n,
		  enum pat_wrap wrap, int cased);
/* Compiles s (n bytes) as a PCRE2 regex with PCRE2 options opts into p, and
 * derives p->req (a literal every match contains, from a; see
 * pattern_re_literal). Returns 0, YM_E_TOOBIG (longer than DETECT_MAX_RE_LEN),
 * YM_E_PARSE (bad regex, msg filled), YM_E_NOMEM. The code is JIT-compiled
 * when possible; the caller owns p->re (free with pattern_free). */
int pattern_regex(struct pattern *p, struct arena *a, const char *s, size_t n, uint32_t opts,
		  char *msg, size_t msgsz);
/* The longest run of literal bytes that every match of the regex s (n bytes,
 * PCRE2 syntax, byte mode) must contain, compared ASCII-caselessly: written
 * to out (at most outsz bytes, escapes resolved). Only runs at the top level
 * (outside groups and classes, in a pattern without a top-level '|') count; a
 * byte followed by a quantifier is left out. Returns the run's length, or 0
 * when none is certain (an unknown escape, (?x), a top-level alternation). */
size_t pattern_re_literal(const char *s, size_t n, uint8_t *out, size_t outsz);
/* Compiles an IPv4 or IPv6 network "addr/len" (or a plain address: all bits)
 * into p. Returns 0, YM_E_PARSE (msg filled), YM_E_NOMEM / YM_E_TOOBIG. */
int pattern_cidr(struct pattern *p, struct arena *a, const char *s, size_t n, char *msg,
		 size_t msgsz);
/* Compiles a number (decimal integer or float) compared with op after
 * extracting part from a date (TP_NONE: the value itself is the number).
 * Returns 0, YM_E_PARSE (msg filled), YM_E_NOMEM / YM_E_TOOBIG. */
int pattern_num(struct pattern *p, struct arena *a, const char *s, size_t n, enum num_op op,
		enum time_part part, char *msg, size_t msgsz);
/* Compiles a reference to field name s (n bytes). Returns 0 or the arena's error. */
int pattern_fieldref(struct pattern *p, struct arena *a, const char *s, size_t n,
		     enum pat_wrap wrap, int cased);
/* Frees p's regex code, if any. */
void pattern_free(struct pattern *p);
/* Parses a decimal number (optional sign, digits, optional fraction and
 * exponent) that fills all n bytes of s. Returns 0 and sets *out, or YM_E_PARSE. */
int pattern_parse_number(const char *s, size_t n, double *out);

/* Match state passed down one ruleset_match call: the PCRE2 limits of the
 * ruleset, a counter of regex evaluations that hit a limit, and the event
 * (for field references). */
struct match_env {
	pcre2_match_context *mctx; /* shared, never changed while matching */
	unsigned long re_errors;
	const struct event *ev;
	const struct pf_thread *pt; /* per-event field slots (prefilter.c), or NULL */
	/* the last value parsed as an IP address by a cidr pattern, so a list
	 * of CIDRs parses it once (ipv NULL: none yet) */
	const char *ipv;
	size_t ipn;
	int ipfam; /* 4, 6, or 0: not an address */
	uint8_t ipaddr[16];
};

/* 1 when value v (n bytes) matches p, else 0. No allocation, except that the
 * first regex match on a thread creates that thread's PCRE2 match data (freed
 * at thread exit). Thread-safe. */
int pattern_match(const struct pattern *p, const char *v, size_t n, struct match_env *env);

/* ---- search.c: search identifiers ---- */

enum item_kind { ITEM_VALUES, ITEM_EXISTS, ITEM_NULL };

struct item {
	const char *field; /* NULL: keyword item, matches any field's value */
	uint8_t kind;	   /* enum item_kind */
	uint8_t all;	   /* every rule value (group of variants) must match (else any) */
	uint8_t want;	   /* ITEM_EXISTS: 1 = must exist, 0 = must be missing */
	uint8_t neg;	   /* neq: the result is inverted; a missing field counts as different */
	uint32_t fid;	   /* the prefilter's id of field + 1 (its per-event slot); 0: none */
	uint32_t npat;
	struct pattern *pats;
};

struct alt { /* a map: every item must match */
	uint32_t nitems;
	struct item *items;
};

struct search { /* a search identifier: any alternative */
	const char *name;
	int line;
	uint32_t nalts;
	struct alt *alts;
};

struct rule_build; /* rule.c: state while one rule is compiled */

/* Compiles the detection entry name: node into s. Problems are recorded in b
 * (rule_error / rule_unsupported). Returns 0 or the first error code. */
int search_compile(struct rule_build *b, struct search *s, const char *name, int line,
		   const struct ynode *node);
/* 1 when ev satisfies s. No allocation; thread-safe. */
int search_eval(const struct search *s, const struct event *ev, struct match_env *env);

/* The value of field name in ev (fields, then xfields; exact name first, then
 * ASCII case-insensitive), or NULL; *len gets its length. */
const char *search_field(const struct event *ev, const char *name, size_t *len);

/* ---- cond.c: conditions ---- */

enum cond_op { C_ID, C_NOT, C_AND, C_OR, C_ONE_OF, C_ALL_OF };

struct cond {
	uint8_t op;
	uint32_t n;	     /* kids (and/or/not) or ids (x of) */
	uint32_t id;	     /* C_ID: search index; C_ONE_OF: how many must match (N of) */
	struct cond **kids;  /* C_NOT: 1; C_AND / C_OR: n */
	const uint32_t *ids; /* C_ONE_OF / C_ALL_OF */
	struct cond *sib;    /* next operand while parsing an and / or chain */
};

/* Parses the condition text s (n bytes) at line against the rule's search
 * identifiers (b's searches) into *out (arena memory). Records problems in b.
 * Returns 0, YM_E_PARSE, YM_E_UNSUPPORTED, YM_E_TOOBIG or YM_E_NOMEM. */
int cond_parse(struct rule_build *b, const char *s, size_t n, int line, struct cond **out);
/* Evaluates c over the rule's searches. Recursion depth <= DETECT_MAX_COND_DEPTH + 2. */
int cond_eval(const struct cond *c, const struct search *searches, const struct event *ev,
	      struct match_env *env);

/* ---- correl.c: correlation rules ---- */

enum correl_type {
	CT_EVENT_COUNT,
	CT_VALUE_COUNT,
	CT_TEMPORAL,
	CT_TEMPORAL_ORDERED,
	CT_VALUE_SUM,
	CT_VALUE_AVG,
	CT_VALUE_PERCENTILE,
};

enum { CC_GT, CC_GTE, CC_LT, CC_LTE, CC_EQ, CC_NEQ, CC_MAX_ };

struct correl {
	uint8_t type; /* enum correl_type */
	uint8_t generate;
	uint8_t has_cond; /* temporal without a condition: all referenced rules */
	uint8_t cond_has[CC_MAX_];
	double cond_v[CC_MAX_];
	uint64_t span_ns;
	uint32_t nrefs;
	const char **ref_names; /* as written: rule id or name */
	uint32_t *refs;		/* resolved rule indices (ruleset.c) */
	uint32_t ngroup;
	const char **gfield; /* [g * nrefs + j]: field read for group-by g from rule refs[j] */
	uint32_t nfield;
	const char **field; /* value_* types: the condition's field(s) */
	uint32_t level;	    /* 0: references only detection rules; else 1 + max level of refs */
	uint32_t slot;	    /* index among the ruleset's correlation rules */
};

struct rule;
/* Compiles the correlation: section node (line for diagnostics) into the
 * rule being built. Returns 0 or the first error code (recorded in b). */
int correl_compile(struct rule_build *b, const struct ynode *node);
/* 1 when count satisfies every operator of c's condition. */
int correl_cond_ok(const struct correl *c, double count);
/* Starts the next event in st (a new epoch for the marks below); returns it. */
uint32_t correl_state_epoch(struct correl_state *st);
/* Marks rule ri as matched by the current event / asks whether it is. */
void correl_state_mark(struct correl_state *st, uint32_t ri);
int correl_state_marked(const struct correl_state *st, uint32_t ri);
/* Feeds ev, matched by c's j-th referenced rule, into c's windows (state slot
 * slot). Returns 1 when c fires for ev's group (the group then starts
 * afresh), else 0; problems are counted in st's stats. */
int correl_feed(struct correl_state *st, uint32_t slot, const struct correl *c, uint32_t j,
		const struct event *ev);

/* ---- ruleset.c (internal) ---- */

/* Number of correlation rules of rs (state slots). */
size_t ruleset_correl_slots(const struct ruleset *rs);

/* ---- rule.c: one rule ---- */

enum rule_kind { RK_DETECTION, RK_CORRELATION, RK_FILTER };

struct rule {
	struct rule_info info; /* public view; strings live in arena */
	struct arena arena;
	uint8_t kind;  /* enum rule_kind */
	uint8_t quiet; /* referenced by correlations that do not 'generate' it: never reported */
	uint8_t dead;  /* dropped while resolving references (ruleset.c) */
	int line;      /* of the document, for diagnostics after compiling */
	uint32_t nsearches;
	struct search *searches;
	struct cond *cond;
	struct pattern *regexes; /* chain of patterns holding PCRE2 codes */
	struct correl *correl;	 /* RK_CORRELATION */
	uint32_t nfrefs;	 /* RK_FILTER: rules it applies to (id or name) */
	const char **frefs;
	int frefs_line;
	uint32_t nfilters; /* filters applied to this rule (ruleset.c), borrowed */
	const struct rule **filters;
	const char *lc_product, *lc_category, *lc_service; /* lowercased logsource */
};

struct rule_build {
	struct rule *rule;
	struct arena *a;       /* the rule's arena */
	struct arena *scratch; /* value expansion, emptied after each item */
	const struct ynode *rule_root;
	const struct placeholders *ph;
	int err; /* first error (negative) or 0 */
	int err_line;
	char err_reason[200];
	int unsupported; /* 1 once something unsupported was seen */
	int unsup_line;
	char unsup_reason[200];
};

/* Records an error at line (the first one wins) and returns code. */
int rule_error(struct rule_build *b, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records an unsupported feature at line (the first one wins); compiling goes
 * on so that errors elsewhere in the rule still surface. Returns 0. */
int rule_unsupported(struct rule_build *b, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Chains p (whose regex was just compiled) on the rule being built. */
void rule_keep_regex(struct rule_build *b, struct pattern *p);
/* Copies the optional scalar under key of map m into *out ("" when absent),
 * in the rule's arena; an error when required and absent, or not a scalar. */
int rule_meta_str(struct rule_build *b, const struct ynode *m, const char *key, int required,
		  const char **out);

/* Problem found while compiling one document. */
struct rule_problem {
	int line;
	int severity; /* YM_E_PARSE or YM_E_UNSUPPORTED */
	char reason[200];
};

/* Compiles one YAML document (root, borrowed) from file into a new rule
 * (detection, correlation or filter). ph (may be NULL) gives the values of
 * placeholders for 'expand'. Returns 0 and sets *out (handed over; free with
 * rule_free), or YM_E_PARSE / YM_E_UNSUPPORTED / YM_E_TOOBIG with *prob
 * filled, or YM_E_NOMEM. */
int rule_compile(const struct ynode *root, const char *file, const struct placeholders *ph,
		 struct rule **out, struct rule_problem *prob);
void rule_free(struct rule *r);
/* 1 when ev satisfies r's condition and none of its filters (logsource is
 * checked by the caller). */
int rule_eval(const struct rule *r, const struct event *ev, struct match_env *env);

/* ---- placeholders.c ---- */

/* The values of placeholder name (n bytes, without the '%'), or NULL. *nvals
 * gets their number. Borrowed from ph. */
const char *const *placeholders_get(const struct placeholders *ph, const char *name, size_t n,
				    size_t *nvals);

/* ---- logsource.c: routing index ---- */

struct lsidx;
/* Builds the index over rules[0..n) (detection rules that are not dead).
 * Returns 0 and sets *out, or YM_E_NOMEM. */
int logsource_build(struct rule *const *rules, size_t n, struct lsidx **out);
void logsource_free(struct lsidx *ix);
/* Calls fn(rule index, ctx) for every rule whose logsource fits ev, in
 * ascending index order, until fn returns non-zero. No allocation. */
void logsource_each(const struct lsidx *ix, const struct event *ev,
		    int (*fn)(uint32_t ri, void *ctx), void *ctx);
#define LS_MAX_ROUTE 24 /* buckets one event can reach: 2 products x 3 categories x 4 services */
/* Writes the buckets whose rules fit ev into out; returns how many. */
uint32_t logsource_route(const struct lsidx *ix, const struct event *ev,
			 uint32_t out[LS_MAX_ROUTE]);

#define LS_CACHE     64 /* per-thread routes remembered (direct-mapped) */
#define LS_CACHE_KEY 96 /* bytes of product, category name and service, with NULs */

/* One event logsource (product, category, category name, service, as the
 * event spells them) and its buckets in one lsidx. */
struct ls_centry {
	uint64_t ikey; /* interned strings' key (id_key), 0: a string key or empty */
	uint64_t hash;
	uint32_t category, klen; /* klen 0: no string key */
	uint32_t nl;
	uint32_t bk[LS_MAX_ROUTE];
	char key[LS_CACHE_KEY];
};
/* logsource_route through cache c (LS_CACHE entries, all klen and ikey 0
 * when new, and emptied so by the caller whenever ix changes). */
uint32_t logsource_route_cached(const struct lsidx *ix, struct ls_centry *c,
				const struct event *ev, uint32_t out[LS_MAX_ROUTE]);
/* Number of buckets; the bucket of rule ri (UINT32_MAX when ri is routed
 * nowhere: no detection rule); the ascending rule indices of bucket b (n). */
uint32_t logsource_nbuckets(const struct lsidx *ix);
uint32_t logsource_bucket_of(const struct lsidx *ix, uint32_t ri);
const uint32_t *logsource_bucket_rules(const struct lsidx *ix, uint32_t b, uint32_t *n);

/* ---- prefilter.c: the literal prefilter ---- */

struct prefilter;

struct pf_fslot {	/* the event's field(s) of one rule field name */
	uint32_t epoch; /* valid when equal to the thread's epoch, else no such field */
	uint32_t count; /* event fields of that name (ASCII case-insensitive) */
	uint32_t scanned; /* == epoch: the literal scan of the field's value completed */
	uint32_t checked; /* == epoch: clean below is this event's */
	uint32_t clean;	  /* the value holds no NUL byte */
	uint32_t vid; /* the value's id (PF_VID_*, or a value cache entry's); 0: not known yet */
	const struct event_field *f; /* the first of them */
};

#define PF_NCACHE      256 /* per-thread field-name cache entries (direct-mapped) */
#define PF_NCACHE_NAME 48  /* longest cached name + 1; longer names are hashed each time */

/* A field name seen before on this thread, keyed by its address and
 * checked by content (the address may since hold another name). */
struct pf_ncache {
	const char *key;
	uint32_t fid;
	char name[PF_NCACHE_NAME];
};

#define PF_VCACHE      2048 /* per-thread scanned-value cache entries (direct-mapped) */
#define PF_VCACHE_VAL  256  /* longest value cached */
#define PF_VCACHE_HITS 62   /* most literal hits a cached value may have */
#define PF_VCACHE_KW   6    /* most keyword literal hits a cached value may have */
#define PF_KWPEND      64   /* cached values per event whose keyword hits are recorded */

/* The literal hits of one field value scanned before on this thread with the
 * same ruleset (the cache is emptied when the thread meets another one):
 * event streams repeat their command lines, images and paths, and replaying
 * a value's hits is cheaper than scanning it again. Keyed by a hash and
 * checked against the value's bytes. */
struct pf_vcache {
	uint64_t hash;
	uint32_t vid;		 /* this entry's value id: never given to another (see pf_memo) */
	uint32_t fid, len; /* len UINT32_MAX: empty */
	uint32_t nhits, nclause; /* hits[0, nclause) satisfy clauses, the rest only stamp */
	uint32_t hits[PF_VCACHE_HITS];
	/* the keyword literals the value holds, for events whose keyword
	 * databases are those of kwsig (0: not known) */
	uint32_t kwsig, nkw;
	uint32_t kwhits[PF_VCACHE_KW];
	uint8_t val[PF_VCACHE_VAL];
};

/* Value ids: a field value that stands in the value cache has the id of its
 * entry, given when the entry was filled and never given again (a refilled
 * entry gets a new one), so two equal ids mean two equal values. Ids below
 * PF_VID_FIRST say something else about the field. */
#define PF_VID_NONE    1 /* no id: several fields of the name, too long, not cached */
#define PF_VID_MISSING 2 /* the event has no such field */
#define PF_VID_NULL    3 /* the field is null */
#define PF_VID_FIRST   8

#define PF_MEMO	       4096 /* per-thread remembered rule results (direct-mapped) */
#define PF_MEMO_FIELDS 6    /* a rule reading more fields is not remembered */

/* A rule's result for the values of the fields it reads (their ids, in the
 * rule's field order): a rule whose searches and filters name their fields
 * (no keywords) is a function of those values alone. */
struct pf_memo {
	uint32_t rule; /* rule index + 1; 0: empty */
	uint32_t mgen; /* valid while equal to pf_mstate.mgen */
	uint32_t res;
	uint32_t v[PF_MEMO_FIELDS];
};

struct pf_memo_key {
	uint32_t rule, n, slot;
	uint32_t v[PF_MEMO_FIELDS];
};

/* How often values of one field were found in the value cache: a field
 * whose values are nearly all new (hashes, times, process ids) only rarely
 * takes an entry, so it does not push out the values that do repeat. */
struct pf_fstat {
	uint32_t tries, misses;
};

/* Per-thread state written while evaluating (through a const pf_thread). */
struct pf_mstate {
	uint32_t next_vid;
	uint32_t mgen;		/* of the remembered results: a new one forgets them all */
	uint32_t off;		/* == the epoch: no remembering in this event */
	struct pf_fstat *fstat; /* per field id */
	size_t nfstat;
	struct pf_memo memo[PF_MEMO];
};

/* Per-thread matching state, made on a thread's first match and kept until
 * the thread exits: Hyperscan scratch grown to fit every ruleset the thread
 * has matched with (re-checked when it sees a ruleset of another generation),
 * the candidate bitset, the bucket stamps and the field-name cache. */
struct pf_thread {
	uint64_t gen;	/* generation of the ruleset the state was last fitted to */
	void *scratch;	/* hs_scratch_t */
	uint32_t epoch; /* of the current event: the stamps below equal it when set */
	uint64_t *cand; /* one bit per rule index */
	size_t nwords;
	uint64_t *candw; /* one bit per word of cand that may be non-zero */
	size_t ncandw;
	uint32_t *stamp; /* per logsource bucket: routed for this event */
	size_t nstamp;
	uint32_t *qstamp; /* per literal (req): occurred in this event */
	size_t nqstamp;
	uint64_t *rstate; /* per rule: epoch << 8 | bits of its clauses satisfied in that event */
	size_t nrstate;
	struct pf_fslot *fslot; /* per field id */
	size_t nfslot;
	struct pf_mstate *ms;		 /* value ids, field statistics, rule results */
	uint8_t *buf; /* framed values of one event */
	struct pf_ncache *ncache; /* field name -> field id (PF_NCACHE entries) */
	uint32_t *idfid; /* interned name id -> field id + 2 (1: PF_KW, 0: not yet) */
	struct pf_vcache *vcache; /* PF_VCACHE entries */
	struct ls_centry *lscache; /* LS_CACHE routes of the ruleset of gen */
	uint32_t hitlog[PF_VCACHE_HITS]; /* hits of the value being scanned */
	uint32_t nhitlog;		 /* hits so far (more than fit: not cached) */
	/* cached values in this event's keyword buffer whose keyword hits are
	 * being recorded: entry e while it still has id vid, framed at
	 * t->buf[from, to) */
	struct pf_kwpend {
		struct pf_vcache *e;
		uint32_t vid, from, to, nkw;
		uint32_t kw[PF_VCACHE_KW];
	} kwpend[PF_KWPEND];
	uint32_t nkwpend;
	uint8_t *fbuf; /* one framed value */
	int busy;     /* inside a match on this thread (callbacks may match again) */
};

/* Marks rule r a candidate on t (and its word of t->cand as touched). */
static inline void pf_cand_set(struct pf_thread *t, uint32_t r)
{
	t->cand[r >> 6] |= 1ull << (r & 63);
	t->candw[r >> 12] |= 1ull << ((r >> 6) & 63);
}

/* Builds the prefilter of rules[0..n) (after logsource_build: ls gives the
 * buckets). Returns 0 and sets *out, possibly to NULL (Hyperscan cannot run
 * on this CPU or refused the literals: every routed rule is then evaluated),
 * or YM_E_NOMEM / YM_E_TOOBIG. */
int prefilter_build(struct rule *const *rules, size_t n, const struct lsidx *ls,
		    struct prefilter **out);
void prefilter_free(struct prefilter *pf);
/* This thread's state fitted to pf and marked busy, or NULL (pf NULL, out of
 * memory, or the thread is already inside a match): then match without it.
 * Release with prefilter_leave. */
struct pf_thread *prefilter_enter(const struct prefilter *pf);
void prefilter_leave(struct pf_thread *t);
/* Starts a new event on t (a new epoch), fills t->fslot from ev's fields and
 * sets t->cand to the rules all of whose clauses (necessary literal sets)
 * have a literal in ev (not yet the always-candidates). bk[0..nb) are the
 * buckets ev is routed to (logsource_route): a field whose literals serve
 * none of them is not scanned, so only rules of those buckets are reliable
 * in t->cand (others may or may not be marked).
 * Returns 0, or -1 when the scan could not run (an event over the buffer, a
 * Hyperscan error): then every routed rule must be evaluated (t->fslot is
 * still valid). No allocation. */
int prefilter_scan(const struct prefilter *pf, struct pf_thread *t, const struct event *ev,
		   const uint32_t *bk, uint32_t nb);
/* The always-candidates (ascending) of logsource bucket b; *n gets their number. */
const uint32_t *prefilter_always(const struct prefilter *pf, uint32_t b, uint32_t *n);
/* The value of item it's field in the event being matched on t, as
 * search_field would find it, or NULL; *len gets its length. *decided is
 * 1 when that value (and no other of the name) went through the field's
 * literal scan, 2 when it also holds no NUL byte: then a pattern with pfq
 * and decided > pfq_framed matches exactly when prefilter_hit(t, pfq). */
/* Rule ri's remembered result for ev's values of the fields it reads: 0 or
 * 1; -1: not remembered (k is set: evaluate, then prefilter_memo_put); -2:
 * the rule or this event cannot be remembered. */
int prefilter_memo_get(const struct prefilter *pf, const struct pf_thread *t,
		       const struct event *ev, uint32_t ri, struct pf_memo_key *k);
void prefilter_memo_put(const struct pf_thread *t, const struct pf_memo_key *k, int res);
const char *prefilter_field(const struct pf_thread *t, const struct item *it,
			    const struct event *ev, size_t *len, int *decided);
static inline int prefilter_hit(const struct pf_thread *t, uint32_t pfq)
{
	return t->qstamp[pfq - 1] == t->epoch;
}
/* Number of always-candidates over all buckets. */
size_t prefilter_count_always(const struct prefilter *pf);

/* Copies s (n bytes) into out (outsz) with control bytes, quotes, backslashes
 * and non-ASCII escaped, for quoting rule text in diagnostics. Returns out. */
char *rule_quote(const char *s, size_t n, char *out, size_t outsz);

#endif
