/* detect_int.h: private structures of the detection engine, shared by its
 * files only (never included outside lib/detect).
 *
 * Pipeline (docs/rules.md, "Engine internals"):
 *   yamltree.c  YAML stream -> per-document node tree with line numbers
 *   rule.c      document tree -> struct rule (metadata, logsource, checks)
 *   search.c    one search identifier -> alternatives of field items
 *   modifier.c  the table of Sigma value modifiers (supported or not, and why)
 *   pattern.c   one value -> compiled wildcard pattern or PCRE2 regex; matching
 *   cond.c      condition string -> expression tree (recursive descent); eval
 *   ruleset.c   loading files, the category/product index, ruleset_match
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
#define DETECT_MAX_YAML_NODES	 65536	     /* nodes per YAML document */
#define DETECT_MAX_YAML_DEPTH	 64	     /* nesting of YAML collections */
#define DETECT_MAX_SCALAR	 65535	     /* bytes per YAML scalar */
#define DETECT_MAX_VALUES	 4096	     /* values per field (a list) */
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

/* ---- pattern.c: one compiled value ---- */

enum pat_kind { PAT_GLOB, PAT_RE };

/* A glob is a run of chunks separated by '*': each chunk is literal bytes
 * (already lowercased unless cased) where any[i] != 0 marks a '?' position. */
struct pchunk {
	const uint8_t *lit;
	const uint8_t *any; /* NULL when the chunk has no '?' */
	uint32_t len;
};

struct pattern {
	uint8_t kind;	    /* enum pat_kind */
	uint8_t cased;	    /* glob: compare bytes as they are */
	uint8_t anch_start; /* glob: first chunk must sit at offset 0 */
	uint8_t anch_end;   /* glob: last chunk must end at the value's end */
	uint32_t nchunks;
	struct pchunk *chunks;
	pcre2_code *re;
	struct pattern *next_re; /* chain of a rule's regex patterns, for freeing */
};

enum pat_wrap { PAT_WRAP_NONE, PAT_WRAP_CONTAINS, PAT_WRAP_STARTSWITH, PAT_WRAP_ENDSWITH };

/* Compiles a Sigma string value (s, n bytes) with '*', '?' and '\' escapes
 * into p, wrapped per wrap; lowercased unless cased. Memory from a.
 * Returns 0, YM_E_NOMEM / YM_E_TOOBIG (arena). */
int pattern_glob(struct pattern *p, struct arena *a, const char *s, size_t n, enum pat_wrap wrap,
		 int cased);
/* Compiles s (n bytes) as a PCRE2 regex with PCRE2 options opts into p.
 * Returns 0, YM_E_TOOBIG (longer than DETECT_MAX_RE_LEN), YM_E_PARSE (bad
 * regex, msg filled), YM_E_NOMEM. The code is JIT-compiled when possible; the
 * caller owns p->re (free with pattern_free). */
int pattern_regex(struct pattern *p, const char *s, size_t n, uint32_t opts, char *msg,
		  size_t msgsz);
/* Frees p's regex code, if any. */
void pattern_free(struct pattern *p);

/* Match state passed down one ruleset_match call: the PCRE2 limits of the
 * ruleset and a counter of regex evaluations that hit a limit. */
struct match_env {
	pcre2_match_context *mctx; /* shared, never changed while matching */
	unsigned long re_errors;
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
	uint8_t all;	   /* every pattern must match (else any) */
	uint8_t want;	   /* ITEM_EXISTS: 1 = must exist, 0 = must be missing */
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

/* ---- cond.c: conditions ---- */

enum cond_op { C_ID, C_NOT, C_AND, C_OR, C_ONE_OF, C_ALL_OF };

struct cond {
	uint8_t op;
	uint32_t n;	     /* kids (and/or/not) or ids (x of) */
	uint32_t id;	     /* C_ID: search index */
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

/* ---- rule.c: one rule ---- */

#define RULE_CAT_NONE  (-1) /* no category in the logsource: any event category */
#define RULE_CAT_OTHER (-2) /* a category yamori does not produce: never evaluated */

struct rule {
	struct rule_info info; /* public view; strings live in arena */
	struct arena arena;
	int cat; /* enum event_category, RULE_CAT_NONE or RULE_CAT_OTHER */
	uint32_t nsearches;
	struct search *searches;
	struct cond *cond;
	struct pattern *regexes; /* chain of patterns holding PCRE2 codes */
};

struct rule_build {
	struct rule *rule;
	struct arena *a; /* the rule's arena */
	int err;	 /* first error (negative) or 0 */
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

/* Problem found while compiling one document. */
struct rule_problem {
	int line;
	int severity; /* YM_E_PARSE or YM_E_UNSUPPORTED */
	char reason[200];
};

/* Compiles one YAML document (root, borrowed) from file into a new rule.
 * Returns 0 and sets *out (handed over; free with rule_free), or
 * YM_E_PARSE / YM_E_UNSUPPORTED / YM_E_TOOBIG with *prob filled, or
 * YM_E_NOMEM. */
int rule_compile(const struct ynode *root, const char *file, struct rule **out,
		 struct rule_problem *prob);
void rule_free(struct rule *r);
/* 1 when ev satisfies r's condition (logsource is checked by the caller). */
int rule_eval(const struct rule *r, const struct event *ev, struct match_env *env);

/* Copies s (n bytes) into out (outsz) with control bytes, quotes, backslashes
 * and non-ASCII escaped, for quoting rule text in diagnostics. Returns out. */
char *rule_quote(const char *s, size_t n, char *out, size_t outsz);

#endif
