/* logsource: the routing index, so an event visits only the rules of its
 * logsource.
 *
 * Rules are grouped by their (product, category, service) triple, each part
 * lowercased and "" when the rule does not set it. An event with logsource
 * (p, c, s) can match exactly the groups whose parts are each "" or equal to
 * the event's, so at most 2 x 3 x 4 groups are looked up (the middle 3: no
 * category, the event's category, and registry_event for the four registry
 * categories, which SigmaHQ's registry_event rules cover; a Linux sshd, sudo,
 * auth or cron event also looks up services auth and syslog). The groups' rule
 * lists are ascending and merged, so matches come in load order. The lookup
 * is a small open-addressing hash table; nothing is allocated per event. */
#include "detect_int.h"

#include "err.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>

#define LS_MAX_PART 64 /* longer event logsource values match only unset rule parts */

struct lsbucket {
	const char *prod, *cat, *svc; /* lowercased; borrowed from the first rule */
	uint32_t *idx;
	uint32_t n, alloc;
};

struct lsidx {
	struct lsbucket *b;
	uint32_t nb, balloc;
	uint32_t *rule_bkt; /* per rule index: its bucket, or UINT32_MAX (not routed) */
	size_t nrules;
	uint32_t *tab; /* bucket index + 1; 0 = empty */
	uint32_t mask;
};

static uint64_t hash3(const char *p, const char *c, const char *s)
{
	uint64_t h = 1469598103934665603ull;
	const char *parts[3] = {p, c, s};

	for (int i = 0; i < 3; i++) {
		for (const char *q = parts[i]; *q; q++) {
			h ^= (uint8_t)*q;
			h *= 1099511628211ull;
		}
		h ^= 0xff;
		h *= 1099511628211ull;
	}
	return h;
}

static const struct lsbucket *lookup(const struct lsidx *ix, const char *p, const char *c,
				     const char *s)
{
	uint32_t i;

	if (!ix->tab)
		return NULL;
	for (i = (uint32_t)hash3(p, c, s) & ix->mask; ix->tab[i]; i = (i + 1) & ix->mask) {
		const struct lsbucket *b = &ix->b[ix->tab[i] - 1];
		if (strcmp(b->prod, p) == 0 && strcmp(b->cat, c) == 0 && strcmp(b->svc, s) == 0)
			return b;
	}
	return NULL;
}

void logsource_free(struct lsidx *ix)
{
	if (!ix)
		return;
	for (uint32_t i = 0; i < ix->nb; i++)
		free(ix->b[i].idx);
	free(ix->b);
	free(ix->tab);
	free(ix->rule_bkt);
	free(ix);
}

int logsource_build(struct rule *const *rules, size_t n, struct lsidx **out)
{
	struct lsidx *ix = calloc(1, sizeof(*ix));
	uint32_t cap = 16;
	int rc = YM_E_NOMEM;

	if (!ix)
		goto out;
	/* Pass 1: distinct triples (linear probing over a table sized for all rules). */
	while (cap < 2 * n + 2)
		cap *= 2;
	ix->tab = calloc(cap, sizeof(*ix->tab));
	if (!ix->tab)
		goto out;
	ix->mask = cap - 1;
	ix->rule_bkt = malloc((n ? n : 1) * sizeof(*ix->rule_bkt));
	if (!ix->rule_bkt)
		goto out;
	ix->nrules = n;
	for (size_t r = 0; r < n; r++)
		ix->rule_bkt[r] = UINT32_MAX;
	for (size_t r = 0; r < n; r++) {
		const struct rule *ru = rules[r];
		struct lsbucket *b;
		uint32_t i;
		if (ru->dead || ru->kind != RK_DETECTION)
			continue;
		b = (struct lsbucket *)lookup(ix, ru->lc_product, ru->lc_category, ru->lc_service);
		if (!b) {
			if (ix->nb == ix->balloc) {
				uint32_t na = ix->balloc ? ix->balloc * 2 : 64;
				struct lsbucket *nbk = realloc(ix->b, na * sizeof(*nbk));
				if (!nbk)
					goto out;
				ix->b = nbk;
				ix->balloc = na;
			}
			b = &ix->b[ix->nb];
			memset(b, 0, sizeof(*b));
			b->prod = ru->lc_product;
			b->cat = ru->lc_category;
			b->svc = ru->lc_service;
			ix->nb++;
			i = (uint32_t)hash3(b->prod, b->cat, b->svc) & ix->mask;
			while (ix->tab[i])
				i = (i + 1) & ix->mask;
			ix->tab[i] = ix->nb;
		}
		if (b->n == b->alloc) {
			uint32_t na = b->alloc ? b->alloc * 2 : 8;
			uint32_t *ni = realloc(b->idx, na * sizeof(*ni));
			if (!ni)
				goto out;
			b->idx = ni;
			b->alloc = na;
		}
		b->idx[b->n++] = (uint32_t)r;
		ix->rule_bkt[r] = (uint32_t)(b - ix->b);
	}
	*out = ix;
	ix = NULL;
	rc = 0;
out:
	logsource_free(ix);
	return rc;
}

/* Lowercases s into buf (LS_MAX_PART); a value too long gets a marker that
 * no rule part equals. */
static const char *lc(const char *s, char *buf)
{
	size_t i = 0;

	if (!s)
		return "";
	for (; s[i]; i++) {
		if (i + 1 >= LS_MAX_PART)
			return "\x01";
		buf[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] | 0x20) : s[i];
	}
	buf[i] = 0;
	return buf;
}

uint32_t logsource_nbuckets(const struct lsidx *ix)
{
	return ix ? ix->nb : 0;
}

uint32_t logsource_bucket_of(const struct lsidx *ix, uint32_t ri)
{
	return (ix && ri < ix->nrules) ? ix->rule_bkt[ri] : UINT32_MAX;
}

const uint32_t *logsource_bucket_rules(const struct lsidx *ix, uint32_t b, uint32_t *n)
{
	*n = ix->b[b].n;
	return ix->b[b].idx;
}

uint32_t logsource_route(const struct lsidx *ix, const struct event *ev, uint32_t out[LS_MAX_ROUTE])
{
	char pb[LS_MAX_PART], cb[LS_MAX_PART], sb[LS_MAX_PART];
	const char *prods[2], *cats[3], *svcs[4];
	uint32_t np = 1, nc = 1, ns = 1, nl = 0;
	const char *p, *c, *s;

	if (!ix || ix->nb == 0)
		return 0;
	p = lc(ev->product, pb);
	if (event_category_service(ev->category))
		c = lc(NULL, cb); /* a raw record of a service: no Sigma category */
	else if (ev->category != EVCAT_UNKNOWN)
		c = lc(event_category_name(ev->category), cb);
	else
		c = lc(ev->category_name, cb);
	/* the wire carries no service: categories that imply one give it */
	s = lc(ev->service ? ev->service : event_category_service(ev->category), sb);
	prods[0] = cats[0] = svcs[0] = "";
	if (p[0])
		prods[np++] = p;
	if (c[0] && strcmp(c, "unknown") != 0) {
		cats[nc++] = c;
		if (strcmp(c, "registry_add") == 0 || strcmp(c, "registry_delete") == 0 ||
		    strcmp(c, "registry_set") == 0 || strcmp(c, "registry_rename") == 0)
			cats[nc++] = "registry_event";
	}
	if (s[0]) {
		svcs[ns++] = s;
		/* Linux syslog services: auth.log holds sshd, sudo and su/login lines,
		 * and service syslog rules read every syslog line. */
		if (strcmp(p, "linux") == 0 && (strcmp(s, "sshd") == 0 || strcmp(s, "sudo") == 0 ||
						strcmp(s, "auth") == 0 || strcmp(s, "cron") == 0)) {
			if (strcmp(s, "auth") != 0 && strcmp(s, "cron") != 0)
				svcs[ns++] = "auth";
			svcs[ns++] = "syslog";
		}
	}
	for (uint32_t i = 0; i < np; i++) {
		for (uint32_t j = 0; j < nc; j++) {
			for (uint32_t k = 0; k < ns; k++) {
				const struct lsbucket *b = lookup(ix, prods[i], cats[j], svcs[k]);
				if (b && b->n)
					out[nl++] = (uint32_t)(b - ix->b);
			}
		}
	}
	return nl;
}

/* Appends string s (NULL: empty) and a NUL to key k at *n; 0 when it does
 * not fit. */
static int key_put(char *k, uint32_t *n, const char *s)
{
	size_t l = s ? strlen(s) : 0;

	if (*n + l + 1 > LS_CACHE_KEY)
		return 0;
	memcpy(k + *n, s ? s : "", l);
	*n += (uint32_t)l;
	k[(*n)++] = 0;
	return 1;
}

/* The key of ev's logsource strings when each is NULL or interned
 * (event.h): their ids (13 bits each) and the category; else 0. */
static uint64_t id_key(const struct event *ev)
{
	const char *cn = ev->category == EVCAT_UNKNOWN ? ev->category_name : NULL;
	uint64_t p = ev->product ? event_name_id(ev->product) : 0, n = cn ? event_name_id(cn) : 0,
		 s = ev->service ? event_name_id(ev->service) : 0;

	_Static_assert(EVENT_NAMES_MAX < (1 << 13), "an id fits 13 bits");
	if ((ev->product && !p) || (cn && !n) || (ev->service && !s))
		return 0;
	return 1ull << 63 | (uint64_t)ev->category << 39 | p << 26 | n << 13 | s;
}

uint32_t logsource_route_cached(const struct lsidx *ix, struct ls_centry *c,
				const struct event *ev, uint32_t out[LS_MAX_ROUTE])
{
	char key[LS_CACHE_KEY];
	uint32_t kn = 0, nl;
	uint64_t h = 1469598103934665603ull ^ ev->category, ik = c ? id_key(ev) : 0;
	struct ls_centry *e;

	/* interned strings: their ids are the key, nothing is copied; two
	 * entries per key (a dozen logsources in 64 direct-mapped entries
	 * collide more often than not) */
	if (ik) {
		uint64_t i = ik * 0x9fb21c651e98df25ull;
		i = ((i ^ (i >> 29)) * 0xbf58476d1ce4e5b9ull) >> 58; /* the best mixed 6 bits */
		_Static_assert(LS_CACHE == 64, "6 bits index the cache");
		for (int w = 0; w < 2; w++) {
			e = &c[i ^ (uint64_t)w];
			if (e->ikey == ik) {
				memcpy(out, e->bk, e->nl * sizeof(*out));
				return e->nl;
			}
		}
		/* the first entry when free, else the second */
		e = c[i].ikey == 0 && c[i].klen == 0 ? &c[i] : &c[i ^ 1];
		nl = logsource_route(ix, ev, out);
		e->ikey = ik;
		e->klen = 0; /* no string key: a string key has three NULs at least */
		e->nl = nl;
		memcpy(e->bk, out, nl * sizeof(*out));
		return nl;
	}
	if (!c || !key_put(key, &kn, ev->product) ||
	    !key_put(key, &kn, ev->category == EVCAT_UNKNOWN ? ev->category_name : NULL) ||
	    !key_put(key, &kn, ev->service))
		return logsource_route(ix, ev, out);
	/* 8 bytes at a time (the key's length is in the last word read) */
	for (uint32_t i = 0; i < kn; i += 8) {
		uint64_t w = 0;
		memcpy(&w, key + i, kn - i < 8 ? kn - i : 8);
		h = (h ^ w ^ kn) * 0x9fb21c651e98df25ull;
		h ^= h >> 29;
	}
	e = &c[(h ^ (h >> 29)) & (LS_CACHE - 1)];
	if (e->klen == kn && e->hash == h && e->category == ev->category &&
	    memcmp(e->key, key, kn) == 0) {
		memcpy(out, e->bk, e->nl * sizeof(*out));
		return e->nl;
	}
	nl = logsource_route(ix, ev, out);
	e->ikey = 0;
	e->hash = h;
	e->category = ev->category;
	e->klen = kn;
	e->nl = nl;
	memcpy(e->key, key, kn);
	memcpy(e->bk, out, nl * sizeof(*out));
	return nl;
}

void logsource_each(const struct lsidx *ix, const struct event *ev,
		    int (*fn)(uint32_t ri, void *ctx), void *ctx)
{
	uint32_t bk[LS_MAX_ROUTE], pos[LS_MAX_ROUTE], nl;
	const struct lsbucket *lists[LS_MAX_ROUTE];

	nl = logsource_route(ix, ev, bk);
	for (uint32_t l = 0; l < nl; l++) {
		lists[l] = &ix->b[bk[l]];
		pos[l] = 0;
	}
	/* k-way merge of ascending lists (a rule sits in exactly one list). */
	for (;;) {
		uint32_t best = UINT32_MAX, bl = 0;
		for (uint32_t l = 0; l < nl; l++) {
			if (pos[l] < lists[l]->n && lists[l]->idx[pos[l]] < best) {
				best = lists[l]->idx[pos[l]];
				bl = l;
			}
		}
		if (best == UINT32_MAX)
			return;
		pos[bl]++;
		if (fn(best, ctx))
			return;
	}
}
