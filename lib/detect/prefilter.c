/* prefilter: one literal scan per event decides which rules are worth
 * evaluating (docs/rules.md, "Engine internals").
 *
 * At load time each detection rule gets a necessary literal set from its
 * condition: (field, literal) pairs of which at least one occurs in every
 * event the rule matches. A glob contributes its longest literal piece (split
 * at '*' and '?'), framed by a NUL byte where the glob is anchored at the
 * value's start or end; a regex contributes the literal run every match
 * contains (pattern_re_literal); an item with several values the union of
 * theirs ('all': the cheapest value's); a map (AND) its cheapest item; a
 * list of maps (OR) the union; 'not', 'exists', null, CIDR, numbers, field
 * references and 'neq' contribute nothing certain, so a condition built only
 * from those makes its rule "always a candidate". Literals are compared
 * caselessly, which is only ever a superset of what the rule compares.
 *
 * All literals of one field (by lowercased name, as search_field finds a
 * field) form one Hyperscan literal database, and the keyword literals of
 * each logsource bucket another; a field with at most PF_SMALL literals has
 * none, its literals are compared directly (scan_small). A field whose
 * literals serve none of the event's logsource buckets is not scanned.
 * For an event each field value that has a database is scanned once, framed
 * as NUL value NUL, and the keyword databases of its buckets scan all values
 * framed and concatenated (as keyword_eval reads them), with
 * HS_FLAG_SINGLEMATCH: a hit marks the rules of that literal in a
 * per-thread bitset. ruleset.c then evaluates, in load order, the marked
 * rules and the always-candidates of the event's logsource buckets, and
 * nothing else. Any failure on the way (scratch, a value too long for the
 * scan buffer, a scan error) makes the event evaluate every routed rule,
 * which is the result without prefilter.
 *
 * Two things make the scan pay twice. A value scanned before on the thread
 * replays its hits from a per-thread cache (struct pf_vcache) instead of
 * being scanned again: event streams repeat their images, command lines and
 * paths. And the hits decide patterns: a caseless one-piece contains,
 * startswith, endswith or equality whose literal the field's scan holds
 * (mark_exact; such literals are added to fields that have a database
 * anyway) is answered by its literal's hit stamp, not searched again in the
 * value, when the value was scanned (and, for the framed ones, holds no NUL
 * byte, at which a framed literal could hit inside the value). */
#include "detect_int.h"

#include "err.h"
#include "event.h"

#include <hs/hs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define PF_KW	       UINT32_MAX /* fid of keyword literals: any field */
#define PF_MAX_LIT     256	  /* bytes of one literal (a longer one is cut: still necessary) */
#define PF_MAX_SET     65536	  /* literals of one rule; more: always a candidate */
#define PF_BUF	       (256u << 10) /* per-thread scan buffer; a longer event falls back */
#define PF_MAX_FIELDS  65536	    /* distinct field names in rules */
#define PF_MAX_CLAUSES 2	    /* necessary literal sets kept per rule (an AND of them) */
_Static_assert(PF_MAX_CLAUSES <= 4, "a rule's clauses are bits of a nibble (rbits)");
#define PF_COMMON_COST 128.0	    /* lit_cost of a literal in nearly every event */
#define PF_SMALL       8	    /* a field with at most this many literals: no database */
#define PF_LONG	       32	    /* a field whose literals are all this long: a hashed index */
#define PF_LX_W	       16	    /* bytes hashed per window of a hashed index */
#define PF_LX_STEP     16	    /* windows every this many bytes: <= PF_LONG - PF_LX_W + 1 */
#define PF_LX_BITS     20	    /* bits of a hashed index's filter (128 KiB) */

struct lit {
	uint32_t fid;
	uint32_t off, n; /* bytes in the build pool */
};

struct litset {
	int always;
	uint32_t n, alloc;
	struct lit *v;
	double cost;
};

struct pf_req { /* one distinct (field, literal) */
	uint32_t fid, off, n;
	uint32_t first, nrules; /* clauses it satisfies: pf->ridx[first .. first + nrules) */
	uint32_t *tmp, tn, talloc;
	uint32_t next; /* hash chain */
};

/* A hashed index of literals of at least PF_LONG bytes (hash values:
 * SigmaHQ has 5,701 literals of 36 to 71 bytes on Hashes), used instead of
 * a Hyperscan database. Every literal is entered by each of its PF_LX_STEP
 * windows of PF_LX_W bytes at offsets 0 .. PF_LX_STEP - 1; a value is
 * hashed only at the windows starting at multiples of PF_LX_STEP, since an
 * occurrence of a literal at x (length >= PF_LONG) holds the value's window
 * at the next multiple, at offset (-x mod PF_LX_STEP) of the literal. A bit
 * filter turns down nearly every window; the rest are looked up and the
 * literal compared in place. */
struct pf_lxent {
	uint64_t h;
	uint32_t q; /* req id; UINT32_MAX: empty */
	uint32_t o; /* offset of the window in the literal */
};
struct pf_lx {
	uint64_t *bits; /* 1 << PF_LX_BITS */
	struct pf_lxent *tab;
	uint32_t mask;
};

struct pf_field {
	char *name; /* lowercased */
	size_t len;
	hs_database_t *db;
	struct pf_lx *lx; /* instead of db */
	uint32_t small[PF_SMALL]; /* without db: its literals (req ids), compared directly */
	uint32_t nsmall;
};

struct prefilter {
	uint64_t gen;
	uint32_t nrules;
	struct pf_req *req;
	uint32_t nreq;
	uint32_t *ridx;
	uint32_t *rfast; /* per ridx entry: the clause's rule */
	/* per ridx entry: the clause's bit among its rule's (low nibble) and
	 * the bits of all that rule's clauses (high nibble) */
	uint8_t *rbits;
	uint32_t *clause_rule; /* per clause: its rule */
	uint32_t nclauses;
	uint8_t *rule_nclauses; /* per rule: clauses that must all be satisfied */
	uint8_t *pool;		/* literal bytes (req off, n), lowercased after the build */
	struct pf_field *fields;
	uint32_t nfields;
	uint32_t *ftab; /* open addressing: fid + 1, 0 = empty */
	uint32_t fmask;
	hs_database_t **kwdb; /* per logsource bucket: its rules' keyword literals, or NULL */
	uint32_t *always; /* per bucket: always-candidates, flattened */
	uint32_t *always_first, *always_n;
	uint32_t nbuckets;
	size_t nalways;
	uint64_t *fbk;	 /* per field id, then keywords: bitset of the buckets its literals serve */
	uint32_t bwords; /* 64-bit words per fbk bitset */
	/* per rule: the fields whose values decide it (memo_fid[memo_first ..
	 * + memo_n]); memo_n 0: its result is not remembered */
	uint32_t *memo_first;
	uint8_t *memo_n;
	uint32_t *memo_fid;
	uint32_t nmemo_fid;
};

struct pf_build {
	uint8_t *pool;
	size_t used, alloc;
	struct prefilter *pf;
	uint32_t *rtab; /* req hash: index + 1 */
	uint32_t rmask;
	uint32_t ralloc;
	uint32_t falloc;
	uint32_t clalloc; /* clause_rule entries allocated */
	int err;
};

static atomic_uint_fast64_t pf_generation;

static uint8_t fold(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

static uint64_t hash_fold(const void *p, size_t n, uint64_t h)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= fold(s[i]);
		h *= 1099511628211ull;
	}
	return h;
}

/* ---- literal sets ---- */

static void ls_free(struct litset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void ls_always(struct litset *s)
{
	ls_free(s);
	s->always = 1;
}

static int pool_put(struct pf_build *b, const uint8_t *s, size_t n, uint32_t *off)
{
	if (b->used + n > b->alloc) {
		size_t na = b->alloc ? b->alloc : 65536;
		uint8_t *np;
		while (na < b->used + n)
			na *= 2;
		if (na > (1ull << 31))
			return YM_E_TOOBIG;
		np = realloc(b->pool, na);
		if (!np)
			return YM_E_NOMEM;
		b->pool = np;
		b->alloc = na;
	}
	memcpy(b->pool + b->used, s, n);
	*off = (uint32_t)b->used;
	b->used += n;
	return 0;
}

/* Values found in nearly every Windows event (lowercase): a literal that is
 * part of one of them narrows nothing. A static list, not learned. */
static const char *const pf_common[] = {
    "c:\\windows\\system32\\",
    "c:\\windows\\syswow64\\",
    "c:\\program files (x86)\\",
    "microsoft corporation",
    "microsoft® windows® operating system",
    "microsoft windows",
    "nt authority\\system",
    ".exe",
    ".dll",
};

/* Whether bytes (n, NUL frames left out) lie inside one of pf_common. */
static int lit_common(const uint8_t *bytes, size_t n)
{
	if (n && bytes[0] == 0) {
		bytes++;
		n--;
	}
	if (n && bytes[n - 1] == 0)
		n--;
	for (size_t i = 0; n && i < sizeof(pf_common) / sizeof(pf_common[0]); i++) {
		const char *c = pf_common[i];
		size_t cn = strlen(c);
		for (size_t at = 0; at + n <= cn; at++) {
			size_t k = 0;
			while (k < n && fold(bytes[k]) == (uint8_t)c[at + k])
				k++;
			if (k == n)
				return 1;
		}
	}
	return 0;
}

/* Estimated cost of a literal: short ones hit often (and cost Hyperscan
 * more), common ones (lit_common) as much as a one-byte literal. */
static double lit_cost(const uint8_t *bytes, size_t n)
{
	if (lit_common(bytes, n))
		return PF_COMMON_COST;
	return n >= 8 ? 1.0 : (double)(1u << (8 - n));
}

static int ls_add(struct pf_build *b, struct litset *s, uint32_t fid, const uint8_t *bytes,
		  size_t n)
{
	uint32_t off;
	int r;

	if (s->always)
		return 0;
	if (s->n >= PF_MAX_SET) {
		ls_always(s);
		return 0;
	}
	if (n > PF_MAX_LIT)
		n = PF_MAX_LIT;
	r = pool_put(b, bytes, n, &off);
	if (r < 0)
		return r;
	if (s->n == s->alloc) {
		uint32_t na = s->alloc ? s->alloc * 2 : 4;
		struct lit *nv = realloc(s->v, na * sizeof(*nv));
		if (!nv)
			return YM_E_NOMEM;
		s->v = nv;
		s->alloc = na;
	}
	s->v[s->n++] = (struct lit){fid, off, (uint32_t)n};
	s->cost += lit_cost(bytes, n);
	return 0;
}

/* dst |= src; src is emptied. */
static int ls_union(struct litset *dst, struct litset *src)
{
	if (dst->always || src->always) {
		ls_always(dst);
		ls_free(src);
		return 0;
	}
	if (dst->n + src->n > PF_MAX_SET) {
		ls_always(dst);
		ls_free(src);
		return 0;
	}
	if (dst->n + src->n > dst->alloc) {
		struct lit *nv = realloc(dst->v, (dst->n + src->n) * sizeof(*nv));
		if (!nv)
			return YM_E_NOMEM;
		dst->v = nv;
		dst->alloc = dst->n + src->n;
	}
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
	dst->cost += src->cost;
	ls_free(src);
	return 0;
}

/* Keeps the cheaper of best and cand (for an AND); cand is emptied. best
 * starts as always (nothing known yet). */
static void ls_best(struct litset *best, struct litset *cand)
{
	if (!cand->always && (best->always || cand->cost < best->cost)) {
		ls_free(best);
		*best = *cand;
		memset(cand, 0, sizeof(*cand));
		return;
	}
	ls_free(cand);
}

/* The best literal piece of glob p, framed where anchored. */
static int glob_lits(struct pf_build *b, const struct pattern *p, uint32_t fid, struct litset *out)
{
	uint8_t buf[PF_MAX_LIT + 2];
	size_t best = 0, bstart = 0, blen = 0;
	uint32_t bci = 0;
	int bpre = 0, bsuf = 0;

	for (uint32_t ci = 0; ci < p->nchunks; ci++) {
		const struct pchunk *c = &p->chunks[ci];
		size_t start = 0;
		for (size_t i = 0; i <= c->len; i++) {
			size_t plen, score;
			int pre, suf;
			if (i < c->len && !(c->any && c->any[i]))
				continue;
			plen = i - start;
			pre = ci == 0 && p->anch_start && start == 0;
			suf = ci + 1 == p->nchunks && p->anch_end && i == c->len;
			score = plen + (size_t)pre + (size_t)suf;
			if (plen > 0 && score > best) {
				best = score;
				bci = ci;
				bstart = start;
				blen = plen;
				bpre = pre;
				bsuf = suf;
			}
			start = i + 1;
		}
	}
	if (best == 0) {
		ls_always(out);
		return 0;
	}
	if (blen > PF_MAX_LIT) {
		blen = PF_MAX_LIT;
		bsuf = 0;
	}
	best = 0;
	if (bpre)
		buf[best++] = 0;
	memcpy(buf + best, p->chunks[bci].lit + bstart, blen);
	best += blen;
	if (bsuf)
		buf[best++] = 0;
	return ls_add(b, out, fid, buf, best);
}

static int pat_lits(struct pf_build *b, const struct pattern *p, uint32_t fid, struct litset *out)
{
	if (p->kind == PAT_GLOB)
		return glob_lits(b, p, fid, out);
	if (p->kind == PAT_RE && p->nreq)
		return ls_add(b, out, fid, p->req, p->nreq);
	ls_always(out);
	return 0;
}

static int field_id(struct pf_build *b, const char *name, uint32_t *fid);

static int item_lits(struct pf_build *b, const struct item *it, struct litset *out)
{
	struct litset grp = {0}, best = {.always = 1};
	uint32_t fid = PF_KW;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (it->kind != ITEM_VALUES || it->neg || it->npat == 0) {
		out->always = 1;
		return 0;
	}
	if (it->field) {
		r = field_id(b, it->field, &fid);
		if (r < 0)
			return r;
	}
	for (uint32_t i = 0; i < it->npat && r == 0; i++) {
		struct litset one = {0};
		r = pat_lits(b, &it->pats[i], fid, &one);
		if (r == 0)
			r = ls_union(it->all ? &grp : out, &one);
		ls_free(&one);
		if (r == 0 && it->all && it->pats[i].grp_end) {
			/* 'all': every written value must match, so one value's
			 * variants are enough */
			ls_best(&best, &grp);
			memset(&grp, 0, sizeof(grp));
		}
	}
	if (it->all && r == 0) {
		ls_free(out);
		*out = best;
		memset(&best, 0, sizeof(best));
	}
	ls_free(&grp);
	ls_free(&best);
	return r;
}

static int search_lits(struct pf_build *b, const struct search *s, struct litset *out)
{
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (uint32_t a = 0; a < s->nalts && r == 0 && !out->always; a++) {
		const struct alt *alt = &s->alts[a];
		struct litset best = {.always = 1};
		for (uint32_t i = 0; i < alt->nitems && r == 0; i++) {
			struct litset one;
			r = item_lits(b, &alt->items[i], &one);
			ls_best(&best, &one);
		}
		if (r == 0)
			r = ls_union(out, &best);
		ls_free(&best);
	}
	if (s->nalts == 0)
		out->always = 1;
	return r;
}

static int cond_lits(struct pf_build *b, const struct rule *ru, const struct cond *c,
		     struct litset *out)
{
	struct litset acc = {0}, one;
	int r = 0, any = c->op == C_OR || c->op == C_ONE_OF;

	memset(out, 0, sizeof(*out));
	switch (c->op) {
	case C_ID:
		return search_lits(b, &ru->searches[c->id], out);
	case C_AND:
	case C_ALL_OF:
		acc.always = 1;
		break;
	case C_OR:
	case C_ONE_OF:
		break;
	default: /* C_NOT and anything unknown: nothing certain */
		out->always = 1;
		return 0;
	}
	for (uint32_t i = 0; i < c->n && r == 0; i++) {
		if (c->op == C_ONE_OF || c->op == C_ALL_OF)
			r = search_lits(b, &ru->searches[c->ids[i]], &one);
		else
			r = cond_lits(b, ru, c->kids[i], &one);
		if (r < 0) {
			ls_free(&one);
			break;
		}
		if (any)
			r = ls_union(&acc, &one);
		else
			ls_best(&acc, &one);
		ls_free(&one);
	}
	if (c->n == 0)
		acc.always = 1;
	*out = acc;
	return r;
}

/* Appends to cl (*n of PF_MAX_CLAUSES * 4 entries) literal sets that are
 * each necessary for c: the children of an AND (and the items of a map)
 * separately, anything else as one set. */
static int cond_clauses(struct pf_build *b, const struct rule *ru, const struct cond *c,
			struct litset *cl, uint32_t *n, uint32_t cap)
{
	int r = 0;

	if (c->op == C_AND || c->op == C_ALL_OF) {
		for (uint32_t i = 0; i < c->n && r == 0; i++) {
			if (c->op == C_AND) {
				r = cond_clauses(b, ru, c->kids[i], cl, n, cap);
			} else {
				struct cond id = {.op = C_ID, .id = c->ids[i]};
				r = cond_clauses(b, ru, &id, cl, n, cap);
			}
		}
		return r;
	}
	if (c->op == C_ID && ru->searches[c->id].nalts == 1) {
		const struct alt *alt = &ru->searches[c->id].alts[0];
		for (uint32_t i = 0; i < alt->nitems && r == 0; i++) {
			struct litset one;
			r = item_lits(b, &alt->items[i], &one);
			if (r == 0 && !one.always && *n < cap) {
				cl[(*n)++] = one;
				continue;
			}
			ls_free(&one);
		}
		return r;
	}
	if (*n < cap) {
		r = cond_lits(b, ru, c, &cl[*n]);
		if (cl[*n].always || r < 0)
			ls_free(&cl[*n]);
		else
			(*n)++;
	}
	return r;
}

static int cmp_cost(const void *x, const void *y)
{
	const struct litset *a = x, *c = y;

	return a->cost < c->cost ? -1 : a->cost > c->cost;
}

/* ---- field names ---- */

static uint32_t field_find(const struct prefilter *pf, const char *name, size_t n)
{
	uint32_t i;

	if (!pf->ftab)
		return PF_KW;
	for (i = (uint32_t)hash_fold(name, n, 1469598103934665603ull) & pf->fmask; pf->ftab[i];
	     i = (i + 1) & pf->fmask) {
		const struct pf_field *f = &pf->fields[pf->ftab[i] - 1];
		if (f->len == n) {
			size_t k = 0;
			while (k < n && fold((uint8_t)name[k]) == (uint8_t)f->name[k])
				k++;
			if (k == n)
				return pf->ftab[i] - 1;
		}
	}
	return PF_KW;
}

static int ftab_grow(struct prefilter *pf)
{
	uint32_t cap = pf->fmask ? (pf->fmask + 1) * 2 : 64;
	uint32_t *nt = calloc(cap, sizeof(*nt));

	if (!nt)
		return YM_E_NOMEM;
	free(pf->ftab);
	pf->ftab = nt;
	pf->fmask = cap - 1;
	for (uint32_t f = 0; f < pf->nfields; f++) {
		uint32_t i = (uint32_t)hash_fold(pf->fields[f].name, pf->fields[f].len,
						 1469598103934665603ull) &
			     pf->fmask;
		while (pf->ftab[i])
			i = (i + 1) & pf->fmask;
		pf->ftab[i] = f + 1;
	}
	return 0;
}

static int field_id(struct pf_build *b, const char *name, uint32_t *fid)
{
	struct prefilter *pf = b->pf;
	size_t n = strlen(name);
	uint32_t f = field_find(pf, name, n);
	struct pf_field *nf;
	int r;

	if (f != PF_KW) {
		*fid = f;
		return 0;
	}
	if (pf->nfields >= PF_MAX_FIELDS)
		return YM_E_TOOBIG;
	if (pf->nfields == b->falloc) {
		uint32_t na = b->falloc ? b->falloc * 2 : 64;
		nf = realloc(pf->fields, na * sizeof(*nf));
		if (!nf)
			return YM_E_NOMEM;
		pf->fields = nf;
		b->falloc = na;
	}
	nf = &pf->fields[pf->nfields];
	memset(nf, 0, sizeof(*nf));
	nf->name = malloc(n + 1);
	if (!nf->name)
		return YM_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		nf->name[i] = (char)fold((uint8_t)name[i]);
	nf->name[n] = 0;
	nf->len = n;
	pf->nfields++;
	if (pf->nfields * 2 > pf->fmask) {
		r = ftab_grow(pf);
		if (r < 0)
			return r;
	} else {
		uint32_t i = (uint32_t)hash_fold(nf->name, n, 1469598103934665603ull) & pf->fmask;
		while (pf->ftab[i])
			i = (i + 1) & pf->fmask;
		pf->ftab[i] = pf->nfields;
	}
	*fid = pf->nfields - 1;
	return 0;
}

/* ---- distinct literals ---- */

static uint64_t req_hash(uint32_t fid, const uint8_t *s, size_t n)
{
	return hash_fold(s, n, 1469598103934665603ull ^ ((uint64_t)fid * 0x9e3779b97f4a7c15ull));
}

static int rtab_grow(struct pf_build *b)
{
	struct prefilter *pf = b->pf;
	uint32_t cap = b->rmask ? (b->rmask + 1) * 2 : 1024;
	uint32_t *nt = calloc(cap, sizeof(*nt));

	if (!nt)
		return YM_E_NOMEM;
	free(b->rtab);
	b->rtab = nt;
	b->rmask = cap - 1;
	for (uint32_t q = 0; q < pf->nreq; q++) {
		const struct pf_req *rq = &pf->req[q];
		uint32_t i = (uint32_t)req_hash(rq->fid, b->pool + rq->off, rq->n) & b->rmask;
		while (b->rtab[i])
			i = (i + 1) & b->rmask;
		b->rtab[i] = q + 1;
	}
	return 0;
}

/* The distinct (field, literal) equal to s (n bytes, caselessly), or NULL;
 * *slot gets its hash slot, or the empty slot where it would go. */
static struct pf_req *req_find(const struct pf_build *b, uint32_t fid, const uint8_t *s, size_t n,
			       uint32_t *slot)
{
	const struct prefilter *pf = b->pf;
	uint32_t i;

	for (i = (uint32_t)req_hash(fid, s, n) & b->rmask; b->rtab[i]; i = (i + 1) & b->rmask) {
		struct pf_req *c = &pf->req[b->rtab[i] - 1];
		/* Caseless databases: literals equal but for ASCII case are one. */
		if (c->fid == fid && c->n == n) {
			uint32_t k = 0;
			while (k < n && fold(b->pool[c->off + k]) == fold(s[k]))
				k++;
			if (k == n) {
				*slot = i;
				return c;
			}
		}
	}
	*slot = i;
	return NULL;
}

/* Records that literal l satisfies clause ri (UINT32_MAX: none; the literal
 * is scanned only to decide patterns, see mark_exact). */
static int req_add(struct pf_build *b, const struct lit *l, uint32_t ri)
{
	struct prefilter *pf = b->pf;
	struct pf_req *rq;
	uint32_t i;
	int r;

	if (pf->nreq * 2 >= b->rmask) {
		r = rtab_grow(b);
		if (r < 0)
			return r;
	}
	rq = req_find(b, l->fid, b->pool + l->off, l->n, &i);
	if (!rq) {
		if (pf->nreq == b->ralloc) {
			uint32_t na = b->ralloc ? b->ralloc * 2 : 1024;
			struct pf_req *nr = realloc(pf->req, na * sizeof(*nr));
			if (!nr)
				return YM_E_NOMEM;
			pf->req = nr;
			b->ralloc = na;
		}
		rq = &pf->req[pf->nreq];
		memset(rq, 0, sizeof(*rq));
		rq->fid = l->fid;
		rq->off = l->off;
		rq->n = l->n;
		b->rtab[i] = ++pf->nreq;
	}
	if (ri == UINT32_MAX || (rq->tn && rq->tmp[rq->tn - 1] == ri))
		return 0;
	if (rq->tn == rq->talloc) {
		uint32_t na = rq->talloc ? rq->talloc * 2 : 2;
		uint32_t *nt = realloc(rq->tmp, na * sizeof(*nt));
		if (!nt)
			return YM_E_NOMEM;
		rq->tmp = nt;
		rq->talloc = na;
	}
	rq->tmp[rq->tn++] = ri;
	return 0;
}

/* Whether a hit of p's literal in a framed value (NUL value NUL) decides p:
 * 0 no; 1 a caseless 'contains' of one literal piece that cannot reach into
 * the frame (no NUL at either end); 2 a caseless startswith, endswith or
 * equality of one NUL-free piece, its literal framed where anchored, which
 * decides p on a value without NUL bytes; 3 a regex whose necessary literal
 * (pattern_re_literal) cannot reach into the frame: without a hit it cannot
 * match. The literal goes to buf (its length returned in *n). */
static int pat_exact(const struct pattern *p, uint8_t *buf, size_t *n)
{
	const struct pchunk *c = p->nchunks == 1 ? &p->chunks[0] : NULL;
	size_t k = 0;

	if (p->kind == PAT_RE && p->nreq > 0 && p->nreq <= PF_MAX_LIT && p->req[0] != 0 &&
	    p->req[p->nreq - 1] != 0) {
		memcpy(buf, p->req, p->nreq); /* necessary, not sufficient */
		*n = p->nreq;
		return 3;
	}
	if (p->kind != PAT_GLOB || p->cased || !c || c->any || c->len == 0 || c->len > PF_MAX_LIT)
		return 0;
	if (!p->anch_start && !p->anch_end) {
		if (c->lit[0] == 0 || c->lit[c->len - 1] == 0)
			return 0;
		memcpy(buf, c->lit, c->len);
		*n = c->len;
		return 1;
	}
	if (memchr(c->lit, 0, c->len))
		return 0;
	if (p->anch_start)
		buf[k++] = 0;
	memcpy(buf + k, c->lit, c->len);
	k += c->len;
	if (p->anch_end)
		buf[k++] = 0;
	*n = k;
	return 2;
}

/* Gives each exact pattern (pat_exact) of field item it (field fid, which
 * clauses gave nlits literals) its literal's req id (p->pfq), so that
 * evaluation reads its result from the field's scan. A literal no clause
 * holds is added to its field's scan when the field has a database anyway (a
 * few more literals there cost less than the substring searches they save);
 * in a field compared directly it is left out. Runs after the clauses are
 * recorded (assign_items). */
static int mark_exact(struct pf_build *b, struct item *it, uint32_t fid, uint32_t nlits)
{
	struct prefilter *pf = b->pf;
	int r = 0;

	for (uint32_t k = 0; k < it->npat && r == 0; k++) {
		struct pattern *p = &it->pats[k];
		uint8_t lb[PF_MAX_LIT + 2];
		size_t ln = 0;
		struct pf_req *rq;
		uint32_t slot;
		struct lit l = {.fid = fid};
		int ex = pat_exact(p, lb, &ln);
		p->pfq = 0;
		p->pfq_framed = ex == 2;
		p->pfq_need = ex == 3;
		if (!ex)
			continue;
		if (pf->nreq * 2 >= b->rmask && (r = rtab_grow(b)) < 0)
			break;
		rq = req_find(b, fid, lb, ln, &slot);
		if (!rq && (nlits <= PF_SMALL || ex == 3))
			continue;
		if (!rq) {
			l.n = (uint32_t)ln;
			r = pool_put(b, lb, ln, &l.off);
			if (r == 0)
				r = req_add(b, &l, UINT32_MAX);
			if (r < 0)
				break;
			rq = &pf->req[pf->nreq - 1];
		}
		p->pfq = (uint32_t)(rq - pf->req) + 1;
	}
	return r;
}

/* Whether literal q belongs to field fid and, with bk other than
 * UINT32_MAX, to a clause of a rule of logsource bucket bk. */
static int req_in(const struct prefilter *pf, uint32_t q, uint32_t fid, const struct lsidx *ls,
		  uint32_t bk)
{
	const struct pf_req *rq = &pf->req[q];

	if (rq->fid != fid)
		return 0;
	if (bk == UINT32_MAX)
		return 1;
	for (uint32_t k = 0; k < rq->nrules; k++) {
		if (logsource_bucket_of(ls, pf->clause_rule[pf->ridx[rq->first + k]]) == bk)
			return 1;
	}
	return 0;
}

/* Compiles the literals of field fid (PF_KW: keywords) into *db. Returns 0
 * (with *db NULL when there are none), YM_E_NOMEM, or YM_E_INTERNAL when
 * Hyperscan refuses (the caller then runs without a prefilter). */
/* Whether a field has literals of its own to scan for (a database, a
 * hashed index or a few compared directly). */
static inline int has_lits(const struct pf_field *fd)
{
	return fd->db || fd->lx || fd->nsmall;
}

/* Whether field fid has literals, all at least PF_LONG bytes long. */
static int all_long(const struct prefilter *pf, uint32_t fid)
{
	uint32_t n = 0;

	for (uint32_t q = 0; q < pf->nreq; q++) {
		if (pf->req[q].fid != fid)
			continue;
		if (pf->req[q].n < PF_LONG)
			return 0;
		n++;
	}
	return n > 0;
}

/* The 8 bytes of x with ASCII upper case letters lowered (as fold). */
static inline uint64_t fold8(uint64_t x)
{
	uint64_t l = x & 0x7f7f7f7f7f7f7f7full;
	uint64_t ge_a = l + 0x3f3f3f3f3f3f3f3full; /* top bit: byte >= 'A' */
	uint64_t gt_z = l + 0x2525252525252525ull; /* top bit: byte > 'Z' */

	return x | ((ge_a & ~gt_z & ~x & 0x8080808080808080ull) >> 2);
}

/* The hash of the PF_LX_W bytes at p, folded. */
static inline uint64_t lx_hash(const uint8_t *p)
{
	uint64_t a, b, h;

	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	a = fold8(a);
	b = fold8(b);
	h = a * 0x9e3779b97f4a7c15ull ^ (b ^ (b >> 29)) * 0xc2b2ae3d27d4eb4full;
	return h ^ (h >> 32);
}

/* Builds field fid's hashed index from its literals (pool already folded). */
static int lx_build(struct prefilter *pf, uint32_t fid)
{
	struct pf_lx *lx = calloc(1, sizeof(*lx));
	uint32_t n = 0, size = 16;

	if (!lx)
		return YM_E_NOMEM;
	pf->fields[fid].lx = lx;
	for (uint32_t q = 0; q < pf->nreq; q++)
		n += pf->req[q].fid == fid;
	while (size < 2 * n * PF_LX_STEP)
		size *= 2;
	lx->bits = calloc(((size_t)1 << PF_LX_BITS) / 64, sizeof(*lx->bits));
	lx->tab = malloc(size * sizeof(*lx->tab));
	if (!lx->bits || !lx->tab)
		return YM_E_NOMEM;
	lx->mask = size - 1;
	for (uint32_t i = 0; i < size; i++)
		lx->tab[i].q = UINT32_MAX;
	for (uint32_t q = 0; q < pf->nreq; q++) {
		if (pf->req[q].fid != fid)
			continue;
		for (uint32_t o = 0; o < PF_LX_STEP; o++) {
			uint64_t h = lx_hash(pf->pool + pf->req[q].off + o);
			uint64_t bit = h >> (64 - PF_LX_BITS);
			uint32_t i;
			lx->bits[bit >> 6] |= 1ull << (bit & 63);
			for (i = (uint32_t)h & lx->mask; lx->tab[i].q != UINT32_MAX;
			     i = (i + 1) & lx->mask)
				;
			lx->tab[i].h = h;
			lx->tab[i].q = q;
			lx->tab[i].o = o;
		}
	}
	return 0;
}

static int compile_db(const struct pf_build *b, uint32_t fid, const struct lsidx *ls, uint32_t bk,
		      hs_database_t **db)
{
	const struct prefilter *pf = b->pf;
	const char **ex = NULL;
	unsigned *flags = NULL, *ids = NULL, k = 0;
	size_t *lens = NULL;
	hs_compile_error_t *err = NULL;
	int rc = YM_E_NOMEM;

	*db = NULL;
	for (uint32_t q = 0; q < pf->nreq; q++)
		k += req_in(pf, q, fid, ls, bk);
	if (k == 0)
		return 0;
	ex = malloc(k * sizeof(*ex));
	flags = malloc(k * sizeof(*flags));
	ids = malloc(k * sizeof(*ids));
	lens = malloc(k * sizeof(*lens));
	if (!ex || !flags || !ids || !lens)
		goto out;
	k = 0;
	for (uint32_t q = 0; q < pf->nreq; q++) {
		if (!req_in(pf, q, fid, ls, bk))
			continue;
		ex[k] = (const char *)b->pool + pf->req[q].off;
		lens[k] = pf->req[q].n;
		/* keyword hits are told to the values they fall in (on_bufhit):
		 * each occurrence, not the first only */
		flags[k] = HS_FLAG_CASELESS | (fid == PF_KW ? 0 : HS_FLAG_SINGLEMATCH);
		ids[k] = q;
		k++;
	}
	if (hs_compile_lit_multi(ex, flags, ids, lens, k, HS_MODE_BLOCK, NULL, db, &err) !=
	    HS_SUCCESS) {
		hs_free_compile_error(err);
		*db = NULL;
		rc = YM_E_INTERNAL;
		goto out;
	}
	rc = 0;
out:
	free(ex);
	free(flags);
	free(ids);
	free(lens);
	return rc;
}

/* Gives every field item of every rule (filters too) its field id, so that
 * evaluation reads the field from the event's slots (prefilter_field), and
 * its patterns their deciding literals (mark_exact). */
static int assign_items(struct pf_build *b, struct rule *const *rules, size_t n)
{
	struct prefilter *pf = b->pf;
	uint32_t nf = pf->nfields; /* fields named later have no literal */
	uint32_t *fcount = calloc(nf ? nf : 1, sizeof(*fcount));
	int r = 0;

	if (!fcount)
		return YM_E_NOMEM;
	for (uint32_t q = 0; q < pf->nreq; q++) {
		if (pf->req[q].fid != PF_KW)
			fcount[pf->req[q].fid]++;
	}
	for (size_t ri = 0; ri < n && r == 0; ri++) {
		const struct rule *ru = rules[ri];
		for (uint32_t s = 0; s < ru->nsearches && r == 0; s++) {
			const struct search *se = &ru->searches[s];
			for (uint32_t a = 0; a < se->nalts && r == 0; a++) {
				for (uint32_t i = 0; i < se->alts[a].nitems && r == 0; i++) {
					struct item *it = &se->alts[a].items[i];
					uint32_t fid;
					if (!it->field)
						continue;
					r = field_id(b, it->field, &fid);
					if (r < 0)
						break;
					it->fid = fid + 1;
					if (it->kind == ITEM_VALUES)
						r = mark_exact(b, it, fid, fid < nf ? fcount[fid] : 0);
				}
			}
		}
	}
	free(fcount);
	return r;
}

/* Adds field id fid to f[0..*nf) unless there; 0, or -1 when full. */
static int memo_add(uint32_t *f, uint32_t *nf, uint32_t fid)
{
	for (uint32_t i = 0; i < *nf; i++) {
		if (f[i] == fid)
			return 0;
	}
	if (*nf == PF_MEMO_FIELDS)
		return -1;
	f[(*nf)++] = fid;
	return 0;
}

/* The fields rule ru reads (f, *nf): 1, or 0 when its result cannot be
 * remembered (a keyword item, too many fields); < 0 on error. */
static int memo_fields(struct pf_build *b, const struct rule *ru, uint32_t *f, uint32_t *nf)
{
	for (uint32_t s = 0; s < ru->nsearches; s++) {
		const struct search *se = &ru->searches[s];
		for (uint32_t a = 0; a < se->nalts; a++) {
			for (uint32_t i = 0; i < se->alts[a].nitems; i++) {
				const struct item *it = &se->alts[a].items[i];
				if (!it->field || it->fid == 0 || memo_add(f, nf, it->fid - 1) < 0)
					return 0;
				for (uint32_t k = 0; k < it->npat; k++) {
					const struct pattern *p = &it->pats[k];
					uint32_t fid;
					int r;
					if (p->kind != PAT_FIELDREF)
						continue;
					if (!p->x || !p->x->ref)
						return 0;
					r = field_id(b, p->x->ref, &fid);
					if (r < 0)
						return r;
					if (memo_add(f, nf, fid) < 0)
						return 0;
				}
			}
		}
	}
	return 1;
}

/* Which rules' results are remembered per thread (prefilter_memo_get), and
 * the fields each reads, its filters' included. */
static int memo_build(struct pf_build *b, struct rule *const *rules, size_t n)
{
	struct prefilter *pf = b->pf;
	size_t alloc = 0;

	pf->memo_first = calloc(n ? n : 1, sizeof(*pf->memo_first));
	pf->memo_n = calloc(n ? n : 1, sizeof(*pf->memo_n));
	if (!pf->memo_first || !pf->memo_n)
		return YM_E_NOMEM;
	for (size_t ri = 0; ri < n; ri++) {
		const struct rule *ru = rules[ri];
		uint32_t f[PF_MEMO_FIELDS], nf = 0;
		int ok;
		if (ru->kind != RK_DETECTION)
			continue;
		ok = memo_fields(b, ru, f, &nf);
		for (uint32_t i = 0; ok > 0 && i < ru->nfilters; i++)
			ok = memo_fields(b, ru->filters[i], f, &nf);
		if (ok < 0)
			return ok;
		if (!ok || nf == 0)
			continue;
		if (pf->nmemo_fid + nf > alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			uint32_t *nv = realloc(pf->memo_fid, na * sizeof(*nv));
			if (!nv)
				return YM_E_NOMEM;
			pf->memo_fid = nv;
			alloc = na;
		}
		pf->memo_first[ri] = pf->nmemo_fid;
		pf->memo_n[ri] = (uint8_t)nf;
		memcpy(pf->memo_fid + pf->nmemo_fid, f, nf * sizeof(*f));
		pf->nmemo_fid += nf;
	}
	return 0;
}

static int clause_add(struct pf_build *b, uint32_t ri)
{
	struct prefilter *pf = b->pf;

	if (pf->nclauses == b->clalloc) {
		uint32_t na = b->clalloc ? b->clalloc * 2 : 1024;
		uint32_t *nc = realloc(pf->clause_rule, na * sizeof(*nc));
		if (!nc)
			return YM_E_NOMEM;
		pf->clause_rule = nc;
		b->clalloc = na;
	}
	pf->clause_rule[pf->nclauses++] = ri;
	return 0;
}

void prefilter_free(struct prefilter *pf)
{
	if (!pf)
		return;
	for (uint32_t f = 0; f < pf->nfields; f++) {
		free(pf->fields[f].name);
		hs_free_database(pf->fields[f].db);
		if (pf->fields[f].lx) {
			free(pf->fields[f].lx->bits);
			free(pf->fields[f].lx->tab);
			free(pf->fields[f].lx);
		}
	}
	for (uint32_t q = 0; pf->req && q < pf->nreq; q++)
		free(pf->req[q].tmp);
	for (uint32_t bk = 0; pf->kwdb && bk < pf->nbuckets; bk++)
		hs_free_database(pf->kwdb[bk]);
	free(pf->kwdb);
	free(pf->memo_first);
	free(pf->memo_n);
	free(pf->memo_fid);
	free(pf->pool);
	free(pf->fbk);
	free(pf->fields);
	free(pf->ftab);
	free(pf->req);
	free(pf->ridx);
	free(pf->rfast);
	free(pf->rbits);
	free(pf->clause_rule);
	free(pf->rule_nclauses);
	free(pf->always);
	free(pf->always_first);
	free(pf->always_n);
	free(pf);
}

int prefilter_build(struct rule *const *rules, size_t n, const struct lsidx *ls,
		    struct prefilter **out)
{
	struct pf_build b = {0};
	struct prefilter *pf = NULL;
	uint8_t *always = NULL;
	size_t total = 0;
	int rc = YM_E_NOMEM;

	*out = NULL;
	if (hs_valid_platform() != HS_SUCCESS)
		return 0; /* no SSSE3: every routed rule is evaluated */
	pf = calloc(1, sizeof(*pf));
	always = calloc(n ? n : 1, 1);
	if (!pf || !always)
		goto out;
	b.pf = pf;
	pf->nrules = (uint32_t)n;
	pf->rule_nclauses = calloc(n ? n : 1, 1);
	if (!pf->rule_nclauses)
		goto out;
	for (size_t ri = 0; ri < n; ri++) {
		const struct rule *ru = rules[ri];
		struct litset cl[PF_MAX_CLAUSES * 4];
		uint32_t ncl = 0;
		if (ru->kind != RK_DETECTION || logsource_bucket_of(ls, (uint32_t)ri) == UINT32_MAX)
			continue;
		rc = cond_clauses(&b, ru, ru->cond, cl, &ncl, PF_MAX_CLAUSES * 4);
		/* the cheapest few are enough: each is necessary on its own; a
		 * clause holding a common literal (PF_COMMON_COST) is satisfied by
		 * nearly every event, so it is kept only when it is the only one */
		qsort(cl, ncl, sizeof(*cl), cmp_cost);
		for (uint32_t k = 1; k < ncl; k++) {
			if (cl[k].cost >= PF_COMMON_COST) {
				for (uint32_t j = k; j < ncl; j++)
					ls_free(&cl[j]);
				ncl = k;
			}
		}
		for (uint32_t k = 0; rc == 0 && k < ncl && k < PF_MAX_CLAUSES; k++) {
			rc = clause_add(&b, (uint32_t)ri);
			for (uint32_t i = 0; rc == 0 && i < cl[k].n; i++)
				rc = req_add(&b, &cl[k].v[i], pf->nclauses - 1);
		}
		always[ri] = ncl == 0;
		pf->rule_nclauses[ri] = (uint8_t)(ncl < PF_MAX_CLAUSES ? ncl : PF_MAX_CLAUSES);
		for (uint32_t k = 0; k < ncl; k++)
			ls_free(&cl[k]);
		if (rc < 0)
			goto out;
	}
	/* Flatten the rule lists. */
	for (uint32_t q = 0; q < pf->nreq; q++)
		total += pf->req[q].tn;
	pf->ridx = malloc((total ? total : 1) * sizeof(*pf->ridx));
	pf->rfast = malloc((total ? total : 1) * sizeof(*pf->rfast));
	pf->rbits = malloc(total ? total : 1);
	if (!pf->ridx || !pf->rfast || !pf->rbits)
		goto out;
	total = 0;
	for (uint32_t q = 0; q < pf->nreq; q++) {
		struct pf_req *rq = &pf->req[q];
		rq->first = (uint32_t)total;
		rq->nrules = rq->tn;
		memcpy(pf->ridx + total, rq->tmp, rq->tn * sizeof(*rq->tmp));
		for (uint32_t k = 0; k < rq->tn; k++) {
			uint32_t c = rq->tmp[k], r = pf->clause_rule[c];
			/* a rule's clauses are numbered in a row from its first */
			uint32_t first = c, nc = pf->rule_nclauses[r];
			while (first > 0 && pf->clause_rule[first - 1] == r)
				first--;
			pf->rfast[total + k] = r;
			pf->rbits[total + k] = (uint8_t)(1u << (c - first) | ((1u << nc) - 1) << 4);
		}
		total += rq->tn;
		free(rq->tmp);
		rq->tmp = NULL;
	}
	/* Always-candidates per logsource bucket, ascending. */
	pf->nbuckets = logsource_nbuckets(ls);
	pf->always_first = calloc(pf->nbuckets + 1, sizeof(*pf->always_first));
	pf->always_n = calloc(pf->nbuckets + 1, sizeof(*pf->always_n));
	if (!pf->always_first || !pf->always_n)
		goto out;
	for (size_t ri = 0; ri < n; ri++)
		pf->nalways += always[ri];
	pf->always = malloc((pf->nalways ? pf->nalways : 1) * sizeof(*pf->always));
	if (!pf->always)
		goto out;
	total = 0;
	for (uint32_t bk = 0; bk < pf->nbuckets; bk++) {
		uint32_t nr;
		const uint32_t *rl = logsource_bucket_rules(ls, bk, &nr);
		pf->always_first[bk] = (uint32_t)total;
		for (uint32_t k = 0; k < nr; k++) {
			if (always[rl[k]])
				pf->always[total++] = rl[k];
		}
		pf->always_n[bk] = (uint32_t)(total - pf->always_first[bk]);
	}
	rc = assign_items(&b, rules, n);
	if (rc < 0)
		goto out;
	rc = memo_build(&b, rules, n); /* may name fields: before fbk */
	if (rc < 0)
		goto out;
	/* Which buckets each field's literals serve: a field is not scanned for
	 * an event routed to none of them. */
	rc = YM_E_NOMEM;
	pf->bwords = (pf->nbuckets + 63) / 64;
	pf->fbk =
	    calloc(((size_t)pf->nfields + 1) * (pf->bwords ? pf->bwords : 1), sizeof(*pf->fbk));
	if (!pf->fbk)
		goto out;
	for (uint32_t q = 0; q < pf->nreq; q++) {
		const struct pf_req *rq = &pf->req[q];
		uint64_t *m =
		    pf->fbk + (size_t)(rq->fid == PF_KW ? pf->nfields : rq->fid) * pf->bwords;
		for (uint32_t k = 0; k < rq->nrules; k++) {
			uint32_t bk =
			    logsource_bucket_of(ls, pf->clause_rule[pf->ridx[rq->first + k]]);
			if (bk < pf->nbuckets)
				m[bk >> 6] |= 1ull << (bk & 63);
		}
	}
	for (uint32_t q = 0; q < pf->nreq; q++) {
		struct pf_field *fd = pf->req[q].fid == PF_KW ? NULL : &pf->fields[pf->req[q].fid];
		if (fd && fd->nsmall <= PF_SMALL) {
			if (fd->nsmall < PF_SMALL)
				fd->small[fd->nsmall] = q;
			fd->nsmall++; /* PF_SMALL + 1: too many, a database */
		}
	}
	for (uint32_t f = 0; f < pf->nfields; f++) {
		if (pf->fields[f].nsmall <= PF_SMALL)
			continue; /* compared directly (scan_small) */
		pf->fields[f].nsmall = 0;
		if (all_long(pf, f))
			continue; /* a hashed index, below */
		rc = compile_db(&b, f, ls, UINT32_MAX, &pf->fields[f].db);
		if (rc < 0)
			goto out;
	}
	/* Keyword literals: one database per bucket, so that an event scans
	 * only those of keyword rules it is routed to. */
	pf->kwdb = calloc(pf->nbuckets ? pf->nbuckets : 1, sizeof(*pf->kwdb));
	if (!pf->kwdb) {
		rc = YM_E_NOMEM;
		goto out;
	}
	for (uint32_t bk = 0; bk < pf->nbuckets; bk++) {
		rc = compile_db(&b, PF_KW, ls, bk, &pf->kwdb[bk]);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < b.used; i++)
		b.pool[i] = fold(b.pool[i]);
	pf->pool = b.pool;
	b.pool = NULL;
	for (uint32_t f = 0; f < pf->nfields; f++) {
		if (pf->fields[f].nsmall == 0 && !pf->fields[f].db && all_long(pf, f)) {
			rc = lx_build(pf, f);
			if (rc < 0)
				goto out;
		}
	}
	pf->gen = atomic_fetch_add(&pf_generation, 1) + 1;
	*out = pf;
	pf = NULL;
	rc = 0;
out:
	if (rc == YM_E_INTERNAL)
		rc = 0; /* Hyperscan refused the literals: run without a prefilter */
	free(b.pool);
	free(b.rtab);
	free(always);
	prefilter_free(pf);
	return rc;
}

/* ---- matching ---- */

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static int tls_key_ok;

static void tls_destroy(void *p)
{
	struct pf_thread *t = p;

	hs_free_scratch(t->scratch);
	free(t->cand);
	free(t->candw);
	free(t->stamp);
	free(t->qstamp);
	free(t->rstate);
	free(t->fslot);
	free(t->buf);
	free(t->fbuf);
	free(t->ncache);
	free(t->idfid);
	free(t->vcache);
	free(t->lscache);
	if (t->ms)
		free(t->ms->fstat);
	free(t->ms);
	free(t);
}

static void tls_key_init(void)
{
	tls_key_ok = pthread_key_create(&tls_key, tls_destroy) == 0;
}

/* Grows an array of stamps (epoch-tagged slots) to n entries of size sz; new
 * entries are zero (never the current epoch, which starts at 1). */
static int grow(void *pp, size_t *have, size_t n, size_t sz)
{
	void **p = pp;
	uint8_t *np;

	if (n <= *have)
		return 0;
	np = realloc(*p, n * sz);
	if (!np)
		return -1;
	memset(np + *have * sz, 0, (n - *have) * sz);
	*p = np;
	*have = n;
	return 0;
}

static int grow_stamps(struct pf_thread *t, const struct prefilter *pf)
{
	if (grow(&t->stamp, &t->nstamp, pf->nbuckets, sizeof(*t->stamp)) < 0 ||
	    grow(&t->qstamp, &t->nqstamp, pf->nreq, sizeof(*t->qstamp)) < 0 ||
	    grow(&t->fslot, &t->nfslot, pf->nfields, sizeof(*t->fslot)) < 0 ||
	    grow(&t->rstate, &t->nrstate, pf->nrules, sizeof(*t->rstate)) < 0)
		return -1;
	return 0;
}

/* Forgets every remembered result: by a new mgen (a thread that alternates
 * between rulesets does this per event), all at once when that wraps. */
static void memo_forget(struct pf_mstate *ms)
{
	if (++ms->mgen == 0) {
		for (uint32_t i = 0; i < PF_MEMO; i++)
			ms->memo[i].mgen = 0;
		ms->mgen = 1;
	}
}

struct pf_thread *prefilter_enter(const struct prefilter *pf)
{
	struct pf_thread *t;
	size_t nw;

	if (!pf || pthread_once(&tls_once, tls_key_init) != 0 || !tls_key_ok)
		return NULL;
	t = pthread_getspecific(tls_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		t->buf = malloc(PF_BUF + 2);
		t->fbuf = malloc(PF_BUF + 2);
		t->ncache = calloc(PF_NCACHE, sizeof(*t->ncache));
		t->idfid = calloc(EVENT_NAMES_MAX + 1, sizeof(*t->idfid));
		t->vcache = malloc(PF_VCACHE * sizeof(*t->vcache));
		t->lscache = malloc(LS_CACHE * sizeof(*t->lscache));
		t->ms = calloc(1, sizeof(*t->ms));
		if (!t->buf || !t->fbuf || !t->ncache || !t->idfid || !t->vcache || !t->lscache ||
		    !t->ms || pthread_setspecific(tls_key, t) != 0) {
			free(t->buf);
			free(t->fbuf);
			free(t->ncache);
			free(t->idfid);
			free(t->vcache);
			free(t->lscache);
			free(t->ms);
			free(t);
			return NULL;
		}
	}
	if (t->busy)
		return NULL; /* a callback matching on the same thread: no prefilter */
	if (t->gen != pf->gen) {
		/* A ruleset this thread has not used yet: grow the scratch to fit
		 * its databases, and the bitsets to its rules and buckets. */
		nw = (pf->nrules + 63) / 64;
		if (nw > t->nwords) {
			size_t nww = (nw + 63) / 64;
			uint64_t *c = realloc(t->cand, nw * sizeof(*c));
			uint64_t *cw;
			if (!c)
				return NULL;
			t->cand = c;
			cw = realloc(t->candw, nww * sizeof(*cw));
			if (!cw)
				return NULL; /* t->nwords unchanged: grown again next time */
			t->candw = cw;
			memset(t->cand, 0, nw * sizeof(*c));
			memset(t->candw, 0, nww * sizeof(*cw));
			t->nwords = nw;
			t->ncandw = nww;
		}
		if (grow_stamps(t, pf) < 0 ||
		    grow(&t->ms->fstat, &t->ms->nfstat, pf->nfields, sizeof(*t->ms->fstat)) < 0)
			return NULL;
		for (uint32_t f = 0; f < pf->nfields + pf->nbuckets; f++) {
			hs_database_t *db = f < pf->nfields ? pf->fields[f].db
							    : pf->kwdb[f - pf->nfields];
			hs_scratch_t *sc = t->scratch;
			hs_error_t e = db ? hs_alloc_scratch(db, &sc) : HS_SUCCESS;
			t->scratch = sc; /* may have moved even when it failed */
			if (e != HS_SUCCESS)
				return NULL;
		}
		/* field and literal ids are the ruleset's own: forget the
		 * cached names and values */
		memset(t->ncache, 0, PF_NCACHE * sizeof(*t->ncache));
		memset(t->idfid, 0, (EVENT_NAMES_MAX + 1) * sizeof(*t->idfid));
		for (uint32_t i = 0; i < PF_VCACHE; i++)
			t->vcache[i].len = UINT32_MAX;
		if (t->ms->nfstat) /* NULL while no ruleset had a field */
			memset(t->ms->fstat, 0, t->ms->nfstat * sizeof(*t->ms->fstat));
		memo_forget(t->ms);
		if (t->ms->next_vid < PF_VID_FIRST)
			t->ms->next_vid = PF_VID_FIRST;
		for (uint32_t i = 0; i < LS_CACHE; i++) {
			t->lscache[i].klen = 0;
			t->lscache[i].ikey = 0;
		}
		t->gen = pf->gen;
	}
	t->busy = 1;
	return t;
}

void prefilter_leave(struct pf_thread *t)
{
	if (t)
		t->busy = 0;
}

struct hit_ctx {
	const struct prefilter *pf;
	struct pf_thread *t;
	const uint32_t *bk; /* the event's logsource buckets */
	uint32_t nb;
	int kw; /* the keyword literals serve one of them: values go to t->buf */
	/* the keyword databases of those buckets when at most 2 (kwsig their
	 * bucket ids + 1), else kwsig 0: a value scanned on its own for them
	 * keeps its keyword hits in the value cache */
	uint32_t kwsig, nkwdb;
	const hs_database_t *kwdb[2];
	/* the buckets as bits of the words of an fbk bitset: rm[i] in word rw[i] */
	uint32_t nrw;
	uint32_t rw[LS_MAX_ROUTE];
	uint64_t rm[LS_MAX_ROUTE];
};

/* A literal occurs: each clause it satisfies counts once for its rule, and a
 * rule with all its clauses satisfied becomes a candidate. */
static void hit_clauses(const struct prefilter *pf, struct pf_thread *t, uint32_t id)
{
	const struct pf_req *rq = &pf->req[id];
	const uint32_t *rf = pf->rfast + rq->first;
	const uint8_t *rb = pf->rbits + rq->first;
	uint32_t ep = t->epoch;

	t->qstamp[id] = ep;
	for (uint32_t k = 0; k < rq->nrules; k++) {
		uint32_t r = rf[k], bit = rb[k] & 15u;
		uint64_t st = t->rstate[r];
		if (st >> 8 != ep)
			st = (uint64_t)ep << 8;
		else if (st & bit)
			continue; /* that clause is satisfied already */
		st |= bit;
		t->rstate[r] = st;
		if ((st & 15u) == (uint32_t)rb[k] >> 4)
			pf_cand_set(t, r);
	}
}

/* A literal in the value being scanned (Hyperscan's callback, and that of
 * the direct comparisons): its clauses, and logged for the value's cache
 * entry. */
static int on_hit(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		  void *ctx)
{
	const struct hit_ctx *h = ctx;
	struct pf_thread *t = h->t;

	(void)from;
	(void)to;
	(void)flags;
	if (t->nhitlog < PF_VCACHE_HITS)
		t->hitlog[t->nhitlog] = id;
	t->nhitlog++;
	hit_clauses(h->pf, t, id);
	return 0;
}

const char *prefilter_field(const struct pf_thread *t, const struct item *it,
			    const struct event *ev, size_t *len, int *decided)
{
	struct pf_fslot *s = &t->fslot[it->fid - 1]; /* this thread's own: caches clean */

	*decided = 0;
	if (s->epoch != t->epoch)
		return NULL;
	if (s->count > 1) /* several names equal but for case: exact name first */
		return search_field(ev, it->field, len);
	if (s->scanned == t->epoch) {
		if (s->checked != t->epoch) {
			s->checked = t->epoch;
			s->clean = memchr(s->f->value, 0, s->f->value_len) == NULL;
		}
		*decided = s->clean ? 2 : 1;
	}
	*len = s->f->value_len;
	return s->f->value;
}

/* The prefilter field id of event field name (PF_KW when no rule reads
 * it), through the thread's name cache: event field names are mostly the
 * same few strings at the same addresses. An interned name (event.h) is
 * its address; another address may hold another name by now, so its
 * bytes are compared. */
static uint32_t name_fid(const struct prefilter *pf, struct pf_thread *t, const char *name)
{
	uintptr_t a = (uintptr_t)name;
	uint32_t id = event_name_id(name), fid, v;
	struct pf_ncache *c;
	size_t n;

	/* an interned name: its id indexes 4 bytes (PF_KW as 1, fid as fid + 2) */
	if (id) {
		v = t->idfid[id];
		if (v)
			return v == 1 ? PF_KW : v - 2;
		fid = field_find(pf, name, event_name_len(id));
		t->idfid[id] = fid == PF_KW ? 1 : fid + 2;
		return fid;
	}
	c = &t->ncache[((a >> 3) ^ (a >> 11)) & (PF_NCACHE - 1)];
	if (c->key == name && strcmp(c->name, name) == 0)
		return c->fid;
	n = strlen(name);
	fid = field_find(pf, name, n);
	if (n < PF_NCACHE_NAME) {
		c->key = name;
		c->fid = fid;
		memcpy(c->name, name, n + 1);
	}
	return fid;
}

/* Whether the literals of field fid (nfields: keywords) serve one of the
 * buckets h->bk. */
static int routed(const struct prefilter *pf, const struct hit_ctx *h, uint32_t fid)
{
	const uint64_t *m = pf->fbk + (size_t)fid * pf->bwords;

	for (uint32_t i = 0; i < h->nrw; i++) {
		if (m[h->rw[i]] & h->rm[i])
			return 1;
	}
	return 0;
}

/* Caseless (ASCII, as HS_FLAG_CASELESS) equality of n bytes of s with
 * lowercased lit. */
static int eq_fold(const uint8_t *s, const uint8_t *lit, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fold(s[i]) != lit[i])
			return 0;
	}
	return 1;
}

/* Whether lowercased literal lit (n bytes) occurs caselessly in v (vn >= 2
 * bytes: a value framed as NUL value NUL). When the value holds no NUL byte
 * itself (clean), a literal framed by NUL can only occur at the frame. */
static int small_hit(const uint8_t *v, size_t vn, int clean, const uint8_t *lit, size_t n)
{
	const uint8_t *p, *end;

	if (n == 0 || n > vn)
		return n == 0;
	if (clean) {
		if (lit[0] == 0 && lit[n - 1] == 0 && n > 1)
			return n == vn && eq_fold(v, lit, n);
		if (lit[0] == 0)
			return eq_fold(v, lit, n);
		if (lit[n - 1] == 0)
			return eq_fold(v + vn - n, lit, n);
	}
	end = v + vn - n;
	for (p = v; p <= end; p++) {
		if (fold(*p) == lit[0] && eq_fold(p + 1, lit + 1, n - 1))
			return 1;
	}
	return 0;
}

/* The literals of a field without database (fd->nsmall of them) against
 * framed value v (vn bytes): each that occurs is reported once, as
 * HS_FLAG_SINGLEMATCH would. */
static void scan_small(const struct prefilter *pf, const struct pf_field *fd, struct hit_ctx *h,
		       const uint8_t *v, size_t vn)
{
	int clean = memchr(v + 1, 0, vn - 2) == NULL;

	for (uint32_t i = 0; i < fd->nsmall; i++) {
		const struct pf_req *rq = &pf->req[fd->small[i]];
		if (small_hit(v, vn, clean, pf->pool + rq->off, rq->n))
			on_hit(fd->small[i], 0, 0, 0, h);
	}
}

/* A hash of field fid's value s (n bytes) for the value cache: collisions
 * only cost a miss, the bytes are compared. */
static inline uint64_t vhash(uint32_t fid, const uint8_t *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)fid << 32) ^ n, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0x9fb21c651e98df25ull;
		h ^= h >> 29;
	}
	if (i < n) {
		/* the last 8 bytes (overlapping), or the first and last 4, or
		 * the first, middle and last byte: n is in the seed */
		if (n >= 8) {
			memcpy(&w, s + n - 8, 8);
		} else if (n >= 4) {
			uint32_t lo, hi;
			memcpy(&lo, s, 4);
			memcpy(&hi, s + n - 4, 4);
			w = lo | (uint64_t)hi << 32;
		} else {
			w = s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
		}
		h = (h ^ w) * 0x9fb21c651e98df25ull;
		h ^= h >> 29;
	}
	return h ^ (h >> 32);
}

/* A new value id. When the ids wrap, every cached value and remembered
 * result is forgotten, and nothing more is remembered in this event (its
 * fields may hold ids given before). */
static uint32_t new_vid(struct pf_thread *t)
{
	struct pf_mstate *ms = t->ms;

	if (ms->next_vid == UINT32_MAX) {
		for (uint32_t i = 0; i < PF_VCACHE; i++)
			t->vcache[i].len = UINT32_MAX;
		memo_forget(ms);
		ms->next_vid = PF_VID_FIRST;
		ms->off = t->epoch;
	}
	return ms->next_vid++;
}

/* Counts a lookup of a value of field fid in the value cache (hit or not);
 * on a miss, says whether the value should take an entry: nearly always,
 * but only one in 16 for a field whose values were new in over 7/8 of its
 * recent lookups. */
static int vc_admit(struct pf_thread *t, uint32_t fid, int hit)
{
	struct pf_fstat *st;

	if (fid >= t->ms->nfstat)
		return !hit;
	st = &t->ms->fstat[fid];
	if (++st->tries >= 4096) {
		st->tries >>= 1;
		st->misses >>= 1;
	}
	if (hit)
		return 0;
	st->misses++;
	if (st->tries >= 256 && (uint64_t)st->misses * 8 > (uint64_t)st->tries * 7)
		return (st->misses & 15) == 0;
	return 1;
}

/* Frames value f as NUL value NUL for a scan: in the keyword buffer, where
 * scan_field has just put it, or else at the start of t->buf. NULL when it
 * does not fit. */
static const uint8_t *framed(struct pf_thread *t, const struct event_field *f)
{
	if (f->value_len + 2 > PF_BUF)
		return NULL;
	t->fbuf[0] = 0;
	memcpy(t->fbuf + 1, f->value, f->value_len);
	t->fbuf[f->value_len + 1] = 0;
	return t->fbuf;
}

/* Whether literal q was reported for the value being scanned. */
static int lx_seen(const struct pf_thread *t, uint32_t q)
{
	uint32_t n = t->nhitlog < PF_VCACHE_HITS ? t->nhitlog : PF_VCACHE_HITS;

	for (uint32_t i = 0; i < n; i++) {
		if (t->hitlog[i] == q)
			return 1;
	}
	return 0;
}

/* Scans framed value v (vn bytes) with hashed index lx: each literal that
 * occurs is reported once (as HS_FLAG_SINGLEMATCH would). */
static void lx_scan(const struct prefilter *pf, const struct pf_lx *lx, struct hit_ctx *h,
		    const uint8_t *v, size_t vn)
{
	for (size_t p = 0; p + PF_LX_W <= vn; p += PF_LX_STEP) {
		uint64_t hv = lx_hash(v + p), bit = hv >> (64 - PF_LX_BITS);
		if (!(lx->bits[bit >> 6] >> (bit & 63) & 1))
			continue;
		for (uint32_t i = (uint32_t)hv & lx->mask; lx->tab[i].q != UINT32_MAX;
		     i = (i + 1) & lx->mask) {
			uint32_t q = lx->tab[i].q, o = lx->tab[i].o;
			const struct pf_req *rq = &pf->req[q];
			size_t x = p - o; /* where the literal would start */
			if (lx->tab[i].h == hv && o <= p && rq->n <= vn - x &&
			    eq_fold(v + x, pf->pool + rq->off, rq->n) && !lx_seen(h->t, q))
				on_hit(q, 0, x + rq->n, 0, h);
		}
	}
}

/* Field fid's value f (at most PF_VCACHE_VAL bytes) in the value cache: its
 * slot in *e and hash in *hv; 1 when the slot holds that value. */
static inline int vc_lookup(struct pf_thread *t, uint32_t fid, const struct event_field *f,
			    struct pf_vcache **e, uint64_t *hv)
{
	size_t n = f->value_len;

	*hv = vhash(fid, (const uint8_t *)f->value, n);
	*e = &t->vcache[*hv & (PF_VCACHE - 1)];
	return (*e)->len == n && (*e)->hash == *hv && (*e)->fid == fid &&
	       memcmp((*e)->val, f->value, n) == 0;
}

/* Fills slot e with field fid's value f under a new id, with no hits yet;
 * the id becomes the field slot's when f is its field. */
static void vc_take(struct pf_thread *t, struct pf_vcache *e, uint64_t hv, uint32_t fid,
		    const struct event_field *f)
{
	e->vid = new_vid(t);
	e->hash = hv;
	e->fid = fid;
	e->len = f->value_len;
	e->nhits = 0;
	e->nclause = 0;
	e->kwsig = 0;
	e->nkw = 0;
	memcpy(e->val, f->value, f->value_len);
	if (t->fslot[fid].f == f)
		t->fslot[fid].vid = e->vid;
}

/* Scans field fid's value f with the field's database, hashed index or few
 * literals, or replays the hits of the same value from this thread's value
 * cache; a scanned value with few enough hits is cached. Returns 1 when the
 * value's keyword hits were replayed too (it stays out of the keyword
 * buffer), 0, or -1. *rec: the value's cache entry when its keyword hits
 * are to be recorded from the keyword buffer (on_bufhit), else NULL. */
static int scan_db(const struct prefilter *pf, struct pf_thread *t, struct hit_ctx *h,
		   uint32_t fid, const struct event_field *f, struct pf_vcache **rec)
{
	size_t n = f->value_len;
	struct pf_vcache *e = NULL;
	const uint8_t *v;
	uint64_t hv = 0;

	*rec = NULL;
	if (n <= PF_VCACHE_VAL && vc_lookup(t, fid, f, &e, &hv)) {
		uint32_t k = 0;
		(void)vc_admit(t, fid, 1);
		if (t->fslot[fid].f == f)
			t->fslot[fid].vid = e->vid;
		for (; k < e->nclause; k++)
			hit_clauses(pf, t, e->hits[k]);
		for (; k < e->nhits; k++) /* literals that only decide patterns */
			t->qstamp[e->hits[k]] = t->epoch;
		if (!h->kw || !h->kwsig)
			return 0;
		if (e->kwsig != h->kwsig) {
			*rec = e; /* known for other keyword databases, or not yet */
			return 0;
		}
		for (k = 0; k < e->nkw; k++)
			hit_clauses(pf, t, e->kwhits[k]);
		return 1;
	}
	v = framed(t, f);
	if (!v)
		return -1;
	t->nhitlog = 0;
	if (pf->fields[fid].nsmall)
		scan_small(pf, &pf->fields[fid], h, v, n + 2);
	else if (pf->fields[fid].lx)
		lx_scan(pf, pf->fields[fid].lx, h, v, n + 2);
	else if (hs_scan(pf->fields[fid].db, (const char *)v, (unsigned)(n + 2), 0, t->scratch,
			 on_hit, h) != HS_SUCCESS)
		return -1;
	if (e && vc_admit(t, fid, 0) && t->nhitlog <= PF_VCACHE_HITS) {
		vc_take(t, e, hv, fid, f);
		if (h->kw && h->kwsig)
			*rec = e;
		/* literals with clauses first, then those only stamped */
		e->nhits = t->nhitlog;
		for (uint32_t k = 0; k < t->nhitlog; k++) {
			if (pf->req[t->hitlog[k]].nrules)
				e->hits[e->nclause++] = t->hitlog[k];
		}
		for (uint32_t k = 0, j = e->nclause; k < t->nhitlog; k++) {
			if (!pf->req[t->hitlog[k]].nrules)
				e->hits[j++] = t->hitlog[k];
		}
	}
	return 0;
}

/* A literal in the keyword buffer: its clauses, and, when it lies in a value
 * whose keyword hits are being recorded, noted for that value (once). */
static int on_bufhit(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		     void *ctx)
{
	const struct hit_ctx *h = ctx;
	struct pf_thread *t = h->t;
	unsigned long long start = to - h->pf->req[id].n;

	(void)from;
	(void)flags;
	hit_clauses(h->pf, t, id);
	for (uint32_t i = 0; i < t->nkwpend; i++) {
		struct pf_kwpend *p = &t->kwpend[i];
		uint32_t k = 0, n;
		if (start < p->from || to > p->to)
			continue;
		n = p->nkw < PF_VCACHE_KW ? p->nkw : PF_VCACHE_KW;
		while (k < n && p->kw[k] != id)
			k++;
		if (k == n) {
			if (n < PF_VCACHE_KW)
				p->kw[n] = id;
			p->nkw++;
		}
		break;
	}
	return 0;
}

/* Scans one event field f with its field's literals (a database, or a few
 * compared directly) when they serve the event's buckets, after appending
 * it to the keyword buffer at *kw when keywords are scanned. Returns 0 or
 * -1 (then the event evaluates every routed rule). */
static int scan_field(const struct prefilter *pf, struct pf_thread *t, struct hit_ctx *h,
		      const struct event_field *f, size_t *kw, int failed)
{
	uint32_t fid = f->name ? name_fid(pf, t, f->name) : PF_KW;
	const struct pf_field *fd;
	struct pf_vcache *rec = NULL;
	int kwdone = 0;

	if (fid != PF_KW) {
		struct pf_fslot *s = &t->fslot[fid];
		if (s->epoch != t->epoch) {
			s->epoch = t->epoch;
			s->count = 1;
			s->vid = 0;
			s->f = f;
		} else {
			s->count++;
		}
	}
	if (!f->value || failed)
		return failed;
	if (fid != PF_KW) {
		fd = &pf->fields[fid];
		if (has_lits(fd) && routed(pf, h, fid)) {
			kwdone = scan_db(pf, t, h, fid, f, &rec);
			if (kwdone < 0)
				return -1;
			t->fslot[fid].scanned = t->epoch; /* its literals' stamps are complete */
		}
	}
	if (h->kw && !kwdone) {
		if (*kw + f->value_len + 1 > PF_BUF)
			return -1;
		/* a cached value's keyword hits are recorded from this scan
		 * (on_bufhit), framed by the NULs before and after it */
		if (rec && t->nkwpend < PF_KWPEND) {
			struct pf_kwpend *p = &t->kwpend[t->nkwpend++];
			p->e = rec;
			p->vid = rec->vid;
			p->from = (uint32_t)*kw - 1;
			p->to = (uint32_t)(*kw + f->value_len + 1);
			p->nkw = 0;
		}
		memcpy(t->buf + *kw, f->value, f->value_len);
		*kw += f->value_len;
		t->buf[(*kw)++] = 0;
	}
	return 0;
}

int prefilter_scan(const struct prefilter *pf, struct pf_thread *t, const struct event *ev,
		   const uint32_t *bk, uint32_t nb)
{
	struct hit_ctx h; /* not zeroed whole: rw and rm are filled below */
	uint32_t n = ev->nfields < EVENT_MAX_FIELDS ? ev->nfields : EVENT_MAX_FIELDS;
	size_t kw = 1;
	int rc = 0;

	if (++t->epoch == 0) {
		/* wrapped: forget every stamp so none can look current */
		memset(t->stamp, 0, t->nstamp * sizeof(*t->stamp));
		memset(t->qstamp, 0, t->nqstamp * sizeof(*t->qstamp));
		memset(t->rstate, 0, t->nrstate * sizeof(*t->rstate));
		memset(t->fslot, 0, t->nfslot * sizeof(*t->fslot));
		t->ms->off = 0;
		t->epoch = 1;
	}
	/* forget the previous event's candidates: only the touched words */
	for (size_t i = 0; i < t->ncandw; i++) {
		uint64_t x = t->candw[i];
		while (x) {
			t->cand[i * 64 + (size_t)__builtin_ctzll(x)] = 0;
			x &= x - 1;
		}
		t->candw[i] = 0;
	}
	t->buf[0] = 0;
	t->nkwpend = 0;
	h.pf = pf;
	h.t = t;
	h.bk = bk;
	h.nb = nb;
	h.kw = 0;
	h.nrw = 0;
	h.kwsig = 0;
	h.nkwdb = 0;
	for (uint32_t i = 0; i < nb; i++) {
		if (bk[i] >= pf->nbuckets || pf->kwdb[bk[i]] == NULL)
			continue;
		h.kw = 1;
		if (h.nkwdb < 2)
			h.kwdb[h.nkwdb] = pf->kwdb[bk[i]];
		h.kwsig = h.nkwdb == 0 ? bk[i] + 1 : h.kwsig | (bk[i] + 1) << 16;
		h.nkwdb++;
	}
	if (h.nkwdb > 2 || pf->nbuckets >= 0xffff)
		h.kwsig = 0;
	for (uint32_t i = 0; i < nb && i < LS_MAX_ROUTE; i++) {
		uint32_t w = bk[i] >> 6, k = 0;
		if (bk[i] >= pf->nbuckets)
			continue;
		while (k < h.nrw && h.rw[k] != w)
			k++;
		if (k == h.nrw) {
			h.rw[h.nrw++] = w;
			h.rm[k] = 0;
		}
		h.rm[k] |= 1ull << (bk[i] & 63);
	}
	/* Every field is visited even after a failed scan: the field slots must
	 * be complete for evaluation. */
	for (uint32_t i = 0; i < n; i++) {
		if (scan_field(pf, t, &h, &ev->fields[i], &kw, rc) < 0)
			rc = -1;
	}
	for (uint32_t i = 0; ev->xfields && i < ev->nxfields; i++) {
		if (scan_field(pf, t, &h, &ev->xfields[i], &kw, rc) < 0)
			rc = -1;
	}
	for (uint32_t i = 0; rc == 0 && h.kw && i < nb; i++) {
		const hs_database_t *db = bk[i] < pf->nbuckets ? pf->kwdb[bk[i]] : NULL;
		if (db && hs_scan(db, (const char *)t->buf, (unsigned)kw, 0, t->scratch, on_bufhit,
				  &h) != HS_SUCCESS)
			rc = -1;
	}
	/* every keyword database of the event scanned the buffer: the values
	 * recorded know their keyword hits for those databases (an entry
	 * refilled meanwhile has another id) */
	for (uint32_t i = 0; rc == 0 && i < t->nkwpend; i++) {
		struct pf_kwpend *p = &t->kwpend[i];
		if (p->e->vid != p->vid || p->nkw > PF_VCACHE_KW)
			continue;
		p->e->kwsig = h.kwsig;
		p->e->nkw = p->nkw;
		memcpy(p->e->kwhits, p->kw, p->nkw * sizeof(*p->kw));
	}
	return rc;
}

const uint32_t *prefilter_always(const struct prefilter *pf, uint32_t bucket, uint32_t *n)
{
	if (bucket >= pf->nbuckets) {
		*n = 0;
		return NULL;
	}
	*n = pf->always_n[bucket];
	return pf->always + pf->always_first[bucket];
}

size_t prefilter_count_always(const struct prefilter *pf)
{
	return pf ? pf->nalways : 0;
}

/* The value id of field fid in this event: that of its value cache entry,
 * the value taking one when its field has no database (a field with one
 * only caches values it scanned, with their hits). */
static uint32_t fslot_vid_slow(const struct prefilter *pf, struct pf_thread *t, uint32_t fid,
			       struct pf_fslot *s)
{
	const struct event_field *f;
	struct pf_vcache *e;
	uint64_t hv;
	size_t n;

	f = s->f;
	n = f->value_len;
	if (!f->value)
		return s->vid = PF_VID_NULL;
	if (n > PF_VCACHE_VAL)
		return s->vid = PF_VID_NONE;
	if (vc_lookup(t, fid, f, &e, &hv)) {
		(void)vc_admit(t, fid, 1);
		return s->vid = e->vid;
	}
	if ((fid < pf->nfields && has_lits(&pf->fields[fid])) || !vc_admit(t, fid, 0))
		return s->vid = PF_VID_NONE;
	vc_take(t, e, hv, fid, f);
	return s->vid;
}

static inline uint32_t fslot_vid(const struct prefilter *pf, const struct pf_thread *ct,
				 uint32_t fid)
{
	struct pf_thread *t = (struct pf_thread *)ct; /* this thread's own state */
	struct pf_fslot *s = &t->fslot[fid];

	if (s->epoch != t->epoch)
		return PF_VID_MISSING;
	if (s->count > 1)
		return PF_VID_NONE;
	if (s->vid)
		return s->vid;
	return fslot_vid_slow(pf, t, fid, s);
}

int prefilter_memo_get(const struct prefilter *pf, const struct pf_thread *t,
		       const struct event *ev, uint32_t ri, struct pf_memo_key *k)
{
	const uint32_t *fl;
	uint64_t h;
	const struct pf_memo *e;

	if (!pf || ri >= pf->nrules || pf->memo_n[ri] == 0 || ev->nfields > EVENT_MAX_FIELDS ||
	    t->ms->off == t->epoch)
		return -2;
	k->n = pf->memo_n[ri];
	k->rule = ri + 1;
	fl = pf->memo_fid + pf->memo_first[ri];
	h = (uint64_t)k->rule * 0x9e3779b97f4a7c15ull;
	for (uint32_t i = 0; i < k->n; i++) {
		uint32_t v = fslot_vid(pf, t, fl[i]);
		if (v == PF_VID_NONE)
			return -2;
		k->v[i] = v;
		h = (h ^ v) * 0x9fb21c651e98df25ull;
	}
	if (t->ms->off == t->epoch) /* the ids wrapped meanwhile */
		return -2;
	k->slot = (uint32_t)(h >> 40) & (PF_MEMO - 1);
	e = &t->ms->memo[k->slot];
	if (e->rule != k->rule || e->mgen != t->ms->mgen)
		return -1;
	for (uint32_t i = 0; i < k->n; i++) {
		if (e->v[i] != k->v[i])
			return -1;
	}
	return (int)e->res;
}

void prefilter_memo_put(const struct pf_thread *t, const struct pf_memo_key *k, int res)
{
	struct pf_memo *e = &t->ms->memo[k->slot];

	if (t->ms->off == t->epoch)
		return;
	e->rule = k->rule;
	e->mgen = t->ms->mgen;
	e->res = res != 0;
	memcpy(e->v, k->v, k->n * sizeof(*k->v));
}
