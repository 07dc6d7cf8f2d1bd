/* intel: builder, immutable set and matching (docs/intel.md). */
#include "intel_int.h"

#include "err.h"
#include "event.h"
#include "util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const unsigned klen_of[3] = {32, 20, 16};
static const char *const kind_names[] = {"", "sha256", "sha1", "md5", "ip", "domain", "url"};

const char *intel_kind_name(enum intel_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "";
}

static void data_init(struct intel_data *d)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < 3; i++)
		intel_keys_init(&d->keys[i], klen_of[i]);
	intel_strset_init(&d->domains);
	intel_strset_init(&d->urls);
	buf_init(&d->text, INTEL_TEXT_CAP);
}

static void data_free(struct intel_data *d)
{
	for (int i = 0; i < 3; i++)
		intel_keys_free(&d->keys[i]);
	intel_ips_free(&d->ips);
	intel_strset_free(&d->domains);
	intel_strset_free(&d->urls);
	buf_free(&d->text);
	free(d->meta);
}

int intel_builder_new(struct intel_builder **out)
{
	struct intel_builder *b = malloc(sizeof(*b));

	if (!b)
		return YM_E_NOMEM;
	data_init(&b->d);
	*out = b;
	return 0;
}

void intel_builder_free(struct intel_builder *b)
{
	if (!b)
		return;
	data_free(&b->d);
	free(b);
}

static const char *text_at(const struct intel_data *d, uint32_t off)
{
	return (const char *)d->text.data + off;
}

/* The metadata id for (source, description): consecutive indicators of one
 * list share one entry, so a list of ten million hashes costs one. */
static int meta_id(struct intel_data *d, const char *src, const char *desc, uint32_t *id)
{
	size_t off = d->text.len;
	struct intel_meta m;
	int r;

	if (d->nmeta > 0) {
		const struct intel_meta *last = &d->meta[d->nmeta - 1];
		if (strcmp(text_at(d, last->source), src) == 0 &&
		    strcmp(text_at(d, last->desc), desc) == 0) {
			*id = (uint32_t)(d->nmeta - 1);
			return 0;
		}
	}
	if (d->nmeta == d->ameta) {
		size_t na = d->ameta ? d->ameta * 2 : 16;
		struct intel_meta *p;
		if (na > INTEL_MAX_INDICATORS)
			return YM_E_TOOBIG;
		p = realloc(d->meta, na * sizeof(*p));
		if (!p)
			return YM_E_NOMEM;
		d->meta = p;
		d->ameta = na;
	}
	m.source = (uint32_t)off;
	if ((r = buf_put_str(&d->text, src)) || (r = buf_put_u8(&d->text, 0)))
		goto out;
	m.desc = (uint32_t)d->text.len;
	if ((r = buf_put_str(&d->text, desc)) || (r = buf_put_u8(&d->text, 0)))
		goto out;
	d->meta[d->nmeta] = m;
	*id = (uint32_t)d->nmeta++;
	return 0;
out:
	d->text.len = off;
	return r;
}

static void why_set(char *why, size_t whysz, const char *msg)
{
	if (why && whysz)
		snprintf(why, whysz, "%s", msg);
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* Guesses the kind of an indicator from its (refanged, trimmed) text. */
static enum intel_kind detect_kind(const char *t, size_t n)
{
	unsigned __int128 lo, hi;
	char dom[INTEL_DOMAIN_MAX + 1];
	int v6;

	if (all_hex(t, n)) {
		if (n == 64)
			return INTEL_SHA256;
		if (n == 40)
			return INTEL_SHA1;
		if (n == 32)
			return INTEL_MD5;
	}
	if (intel_text_ip(t, n, 1, &v6, &lo, &hi) == 0)
		return INTEL_IP;
	for (size_t i = 0; i + 2 < n; i++) {
		if (t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/')
			return INTEL_URL;
	}
	/* a bare word is too ambiguous to be a domain unless the caller says so */
	if (memchr(t, '.', n) && intel_text_domain(t, n, 1, dom) > 0)
		return INTEL_DOMAIN;
	return 0;
}

int intel_builder_add(struct intel_builder *b, enum intel_kind kind, const char *text,
		      const char *source, const char *description, char *why, size_t whysz)
{
	struct intel_data *d = &b->d;
	char t[INTEL_URL_MAX + 1], norm[INTEL_URL_MAX + 1];
	uint8_t key[32];
	unsigned __int128 lo, hi;
	size_t n = strlen(text);
	uint32_t meta;
	int r, v6 = 0, len = 0;

	while (n > 0 && (text[0] == ' ' || text[0] == '\t')) {
		text++;
		n--;
	}
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	if (n == 0) {
		why_set(why, whysz, "empty indicator");
		return YM_E_INVAL;
	}
	if (intel_text_refang(text, n, t, sizeof(t)) < 0) {
		why_set(why, whysz, "indicator longer than 2048 bytes");
		return YM_E_INVAL;
	}
	n = strlen(t);
	if (kind == 0)
		kind = detect_kind(t, n);
	if (d->added >= INTEL_MAX_INDICATORS) {
		why_set(why, whysz, "over the limit of indicators per set");
		return YM_E_TOOBIG;
	}
	switch (kind) {
	case INTEL_SHA256:
	case INTEL_SHA1:
	case INTEL_MD5:
		if (util_unhex_len(t, n, key, klen_of[kind - 1])) {
			why_set(why, whysz,
				kind == INTEL_SHA256 ? "not a SHA-256 (64 hex digits)"
				: kind == INTEL_SHA1 ? "not a SHA-1 (40 hex digits)"
						     : "not an MD5 (32 hex digits)");
			return YM_E_INVAL;
		}
		break;
	case INTEL_IP:
		if (intel_text_ip(t, n, 1, &v6, &lo, &hi)) {
			why_set(why, whysz, "not an IP address or CIDR range");
			return YM_E_INVAL;
		}
		break;
	case INTEL_DOMAIN:
		len = intel_text_domain(t, n, 1, norm);
		if (len < 0) {
			why_set(
			    why, whysz,
			    "not a domain name (ASCII labels of [a-z0-9_-], at most 253 bytes)");
			return YM_E_INVAL;
		}
		break;
	case INTEL_URL:
		len = intel_text_url(t, n, norm, NULL, NULL);
		if (len < 0) {
			why_set(why, whysz, "not a URL (scheme://host[:port][/path])");
			return YM_E_INVAL;
		}
		break;
	default:
		why_set(why, whysz, "not a recognised indicator (hash, IP, CIDR, domain or URL)");
		return YM_E_INVAL;
	}
	r = meta_id(d, source ? source : "", description ? description : "", &meta);
	if (r)
		goto out;
	switch (kind) {
	case INTEL_SHA256:
	case INTEL_SHA1:
	case INTEL_MD5:
		r = intel_keys_add(&d->keys[kind - 1], key, meta);
		break;
	case INTEL_IP:
		r = v6 ? intel_ips_add6(&d->ips, lo, hi, meta)
		       : intel_ips_add4(&d->ips, (uint32_t)lo, (uint32_t)hi, meta);
		break;
	case INTEL_DOMAIN:
		r = intel_strset_add(&d->domains, norm, (size_t)len, meta);
		break;
	default:
		r = intel_strset_add(&d->urls, norm, (size_t)len, meta);
		break;
	}
	if (r)
		goto out;
	d->added++;
out:
	if (r == YM_E_TOOBIG)
		why_set(why, whysz, "over a table's limit");
	else if (r)
		why_set(why, whysz, ym_strerror(r));
	return r;
}

static void classify_init(uint32_t mask[INTEL_FC_MAXLEN + 1], uint32_t *last);

int intel_builder_finish(struct intel_builder *b, struct intel_set **out)
{
	struct intel_set *s = NULL;
	int r = YM_E_NOMEM;

	s = malloc(sizeof(*s));
	if (!s)
		goto out;
	for (int i = 0; i < 3; i++) {
		if ((r = intel_keys_finish(&b->d.keys[i])))
			goto out;
	}
	if ((r = intel_ips_finish(&b->d.ips)) || (r = intel_strset_finish(&b->d.domains)) ||
	    (r = intel_strset_finish(&b->d.urls)))
		goto out;
	s->d = b->d;
	data_init(&b->d); /* the tables moved into the set */
	classify_init(s->fcmask, &s->fclast);
	s->count = s->d.keys[0].n + s->d.keys[1].n + s->d.keys[2].n + s->d.ips.n4 + s->d.ips.n6 +
		   s->d.domains.n + s->d.urls.n;
	*out = s;
	s = NULL;
	r = 0;
out:
	free(s);
	intel_builder_free(b);
	return r;
}

void intel_set_free(struct intel_set *s)
{
	if (!s)
		return;
	data_free(&s->d);
	free(s);
}

size_t intel_set_count(const struct intel_set *s)
{
	return s ? s->count : 0;
}

size_t intel_set_bytes(const struct intel_set *s)
{
	const struct intel_data *d;
	size_t n;

	if (!s)
		return 0;
	d = &s->d;
	n = sizeof(*s) + d->text.alloc + d->ameta * sizeof(*d->meta);
	for (int i = 0; i < 3; i++)
		n += d->keys[i].alloc * d->keys[i].rsz + (d->keys[i].bucket ? 65537 * 4 : 0);
	n += d->ips.a4 * sizeof(*d->ips.v4) + d->ips.a6 * sizeof(*d->ips.v6);
	n += d->ips.idx4 ? 65537 * sizeof(*d->ips.idx4) : 0;
	n += d->domains.arena.alloc + (d->domains.tab ? (d->domains.mask + 1) * 8 : 0);
	n += d->urls.arena.alloc + (d->urls.tab ? (d->urls.mask + 1) * 8 : 0);
	for (int i = 0; i < 3; i++)
		n += d->keys[i].bloom.blk ? (d->keys[i].bloom.mask + 1) * 64 : 0;
	n += d->domains.bloom.blk ? (d->domains.bloom.mask + 1) * 64 : 0;
	n += d->urls.bloom.blk ? (d->urls.bloom.mask + 1) * 64 : 0;
	return n;
}

void intel_hit_alert(const struct intel_hit *h, char *rule_id, size_t rsz, char *title, size_t tsz,
		     const char *const **tags, size_t *ntags)
{
	static const char *const exec_tags[] = {"attack.execution"};
	static const char *const c2_tags[] = {"attack.command-and-control"};
	const char *k = intel_kind_name(h->kind);
	int hash = h->kind == INTEL_SHA256 || h->kind == INTEL_SHA1 || h->kind == INTEL_MD5;

	snprintf(rule_id, rsz, "intel:%s", k);
	snprintf(title, tsz, "IoC match: %s %s", k, h->indicator);
	*tags = hash ? exec_tags : c2_tags;
	*ntags = 1;
}

/* ---- matching ---- */

enum fclass { FC_NONE, FC_HASHES, FC_SHA256, FC_SHA1, FC_MD5, FC_IP, FC_DOMAIN, FC_URL };

/* Field names looked at, compared case-insensitively with the last dotted
 * part of a field's name ("Event.EventData.Hashes" is "Hashes");
 * docs/intel.md lists them. */
static const struct {
	const char *name;
	unsigned char len, fc;
} fields_tab[] = {
    {"Hashes", 6, FC_HASHES},
    {"Hash", 4, FC_HASHES},
    {"FileHash", 8, FC_HASHES},
    {"sha256", 6, FC_SHA256},
    {"sha1", 4, FC_SHA1},
    {"md5", 3, FC_MD5},
    {"DestinationIp", 13, FC_IP},
    {"SourceIp", 8, FC_IP},
    {"IpAddress", 9, FC_IP},
    {"ClientIp", 8, FC_IP},
    {"dst_ip", 6, FC_IP},
    {"src_ip", 6, FC_IP},
    {"DestinationHostname", 19, FC_DOMAIN},
    {"QueryName", 9, FC_DOMAIN},
    {"domain", 6, FC_DOMAIN},
    {"Url", 3, FC_URL},
    {"Uri", 3, FC_URL},
};

/* Per name length: bit (c & 31) set when a name of fields_tab of that
 * length starts with letter c (either case), so that most field names are
 * turned down without a string comparison. Filled by intel_builder_finish. */
static void classify_init(uint32_t mask[INTEL_FC_MAXLEN + 1], uint32_t *last)
{
	memset(mask, 0, (INTEL_FC_MAXLEN + 1) * sizeof(*mask));
	*last = 0;
	for (size_t i = 0; i < sizeof(fields_tab) / sizeof(fields_tab[0]); i++) {
		*last |= 1u << (fields_tab[i].name[fields_tab[i].len - 1] & 31);
		if (fields_tab[i].len <= INTEL_FC_MAXLEN)
			mask[fields_tab[i].len] |= 1u << (fields_tab[i].name[0] & 31);
	}
}

static enum fclass classify_name(const struct intel_set *s, const char *name, size_t len)
{
	const char *dot, *last;
	size_t n;

	/* most names end in a letter no listed name ends in */
	if (len == 0 || !(s->fclast >> (name[len - 1] & 31) & 1))
		return FC_NONE;
	dot = memrchr(name, '.', len);
	last = dot ? dot + 1 : name; /* the last dotted part */
	n = len - (size_t)(last - name);
	if (n == 0 || (n <= INTEL_FC_MAXLEN && !(s->fcmask[n] >> (last[0] & 31) & 1)))
		return FC_NONE; /* a longer name than any listed: the loop turns it down */
	for (size_t i = 0; i < sizeof(fields_tab) / sizeof(fields_tab[0]); i++) {
		if (fields_tab[i].len == n && strcasecmp(fields_tab[i].name, last) == 0)
			return (enum fclass)fields_tab[i].fc;
	}
	return FC_NONE;
}

/* The class of each interned name (event.h) by id, plus one; 0: not yet
 * known. A name's class depends on the name alone (fields_tab), so one
 * table serves every set and thread: racing writers store the same value. */
static _Atomic uint8_t fc_by_id[EVENT_NAMES_MAX + 1];

static enum fclass classify(const struct intel_set *s, const char *name)
{
	uint32_t id = event_name_id(name);
	enum fclass fc;

	if (!id)
		return classify_name(s, name, strlen(name));
	fc = atomic_load_explicit(&fc_by_id[id], memory_order_relaxed);
	if (fc)
		return fc - 1;
	fc = classify_name(s, name, event_name_len(id));
	atomic_store_explicit(&fc_by_id[id], (uint8_t)(fc + 1), memory_order_relaxed);
	return fc;
}

struct mstate {
	const struct intel_set *s;
	const struct event *ev;
	const struct event_field *f;
	intel_hit_fn fn;
	void *ctx;
	int hits;
	int stop;
};

static void emit(struct mstate *m, enum intel_kind kind, const char *indicator, uint32_t meta)
{
	const struct intel_data *d = &m->s->d;
	struct intel_hit h;

	h.kind = kind;
	h.indicator = indicator;
	h.source = meta < d->nmeta ? text_at(d, d->meta[meta].source) : "";
	h.description = meta < d->nmeta ? text_at(d, d->meta[meta].desc) : "";
	h.field = m->f->name;
	h.value = m->f->value;
	m->hits++;
	if (m->fn && m->fn(&h, m->ev, m->ctx))
		m->stop = 1;
}

static void match_hash(struct mstate *m, enum intel_kind kind, const char *v, size_t n)
{
	const struct intel_keys *k;
	const uint8_t *rec;
	uint8_t key[32];
	char hex[65];
	uint32_t meta;

	if (kind == 0) {
		kind = n == 64 ? INTEL_SHA256 : n == 40 ? INTEL_SHA1 : n == 32 ? INTEL_MD5 : 0;
		if (kind == 0)
			return;
	}
	k = &m->s->d.keys[kind - 1];
	if (k->n == 0 || util_unhex_len(v, n, key, k->klen))
		return;
	rec = intel_keys_find(k, key);
	if (!rec)
		return;
	memcpy(&meta, rec + k->klen, 4);
	util_hex(key, k->klen, hex);
	emit(m, kind, hex, meta);
}

/* Bytes of s (n) before the first ',', ';' or ' ': 8 at a time (a zero
 * byte of x ^ c is a byte equal to c; the lowest flagged byte is exact). */
static size_t tok_len(const char *s, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, a, b, c, z;
		memcpy(&x, s + i, 8);
		a = x ^ (ones * ',');
		b = x ^ (ones * ';');
		c = x ^ (ones * ' ');
		z = (((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c)) & high;
		if (z)
			return i + ((size_t)__builtin_ctzll(z) >> 3);
	}
	while (i < n && s[i] != ',' && s[i] != ';' && s[i] != ' ')
		i++;
	return i;
}

/* "SHA256=..,SHA1=..,MD5=..,IMPHASH=.." (Sysmon), "SHA256=<hex>" (our
 * agent), or bare hashes separated by commas. */
static void match_hashes(struct mstate *m, const char *v, size_t n)
{
	struct cursor c;
	const uint8_t *p;

	cursor_init(&c, v, n);
	while (!m->stop && cursor_left(&c) > 0) {
		const char *tok = v + c.off, *eq;
		size_t tl = tok_len(tok, cursor_left(&c));
		enum intel_kind kind = 0;

		(void)cursor_get_bytes(&c, tl, &p);
		(void)cursor_get_bytes(&c, cursor_left(&c) ? 1 : 0, &p); /* the separator */
		eq = memchr(tok, '=', tl);
		if (eq) {
			size_t kl = (size_t)(eq - tok);
			if (kl == 6 && strncasecmp(tok, "SHA256", 6) == 0)
				kind = INTEL_SHA256;
			else if (kl == 4 && strncasecmp(tok, "SHA1", 4) == 0)
				kind = INTEL_SHA1;
			else if (kl == 3 && strncasecmp(tok, "MD5", 3) == 0)
				kind = INTEL_MD5;
			else
				continue; /* IMPHASH and others: not file hashes we hold */
			tl -= kl + 1;
			tok = eq + 1;
		}
		match_hash(m, kind, tok, tl);
	}
}

static int match_ip(struct mstate *m, const char *v, size_t n)
{
	const struct intel_ips *t = &m->s->d.ips;
	unsigned __int128 lo, hi;
	char txt[64];
	int v6;

	if ((t->n4 == 0 && t->n6 == 0) || intel_text_ip(v, n, 0, &v6, &lo, &hi))
		return 0;
	if (v6) {
		const struct intel_ip6 *r = intel_ips_find6(t, lo);
		if (!r)
			return 1;
		intel_text_ip_format(1, r->lo, r->hi, txt);
		emit(m, INTEL_IP, txt, r->meta);
	} else {
		const struct intel_ip4 *r = intel_ips_find4(t, (uint32_t)lo);
		if (!r)
			return 1;
		intel_text_ip_format(0, r->lo, r->hi, txt);
		emit(m, INTEL_IP, txt, r->meta);
	}
	return 1;
}

/* Looks up the name and each parent domain at a label boundary, the most
 * specific first, and reports the first hit. */
static void match_domain(struct mstate *m, const char *v, size_t n)
{
	const struct intel_strset *s = &m->s->d.domains;
	char dom[INTEL_DOMAIN_MAX + 1];
	int len;

	if (match_ip(m, v, n))
		return;
	if (s->n == 0)
		return;
	len = intel_text_domain(v, n, 0, dom);
	if (len <= 0)
		return;
	for (int i = 0; i < len; i++) {
		if (i == 0 || dom[i - 1] == '.') {
			uint32_t meta;
			const char *e = intel_strset_find(s, dom + i, (size_t)(len - i), &meta);
			if (e) {
				emit(m, INTEL_DOMAIN, e, meta);
				return;
			}
		}
	}
}

static void match_url(struct mstate *m, const char *v, size_t n)
{
	char url[INTEL_URL_MAX + 1];
	size_t host, hostlen;
	uint32_t meta;
	const char *e;
	int len = intel_text_url(v, n, url, &host, &hostlen);

	if (len < 0)
		return;
	if (m->s->d.urls.n) {
		e = intel_strset_find(&m->s->d.urls, url, (size_t)len, &meta);
		if (e) {
			emit(m, INTEL_URL, e, meta);
			if (m->stop)
				return;
		}
	}
	/* the URL's host is looked up as a domain or an address too */
	if (hostlen)
		match_domain(m, url + host, hostlen);
}

/* Fields fs[0, n) of m's event: each whose name has a class is looked up. */
static void match_fields(struct mstate *m, const struct event_field *fs, size_t n)
{
	for (size_t i = 0; i < n && !m->stop; i++) {
		const struct event_field *f = &fs[i];
		enum fclass fc;

		if (!f->name || !f->value || f->value_len == 0)
			continue;
		fc = classify(m->s, f->name);
		if (fc == FC_NONE)
			continue;
		m->f = f;
		switch (fc) {
		case FC_HASHES:
			match_hashes(m, f->value, f->value_len);
			break;
		case FC_SHA256:
			match_hash(m, INTEL_SHA256, f->value, f->value_len);
			break;
		case FC_SHA1:
			match_hash(m, INTEL_SHA1, f->value, f->value_len);
			break;
		case FC_MD5:
			match_hash(m, INTEL_MD5, f->value, f->value_len);
			break;
		case FC_IP:
			match_ip(m, f->value, f->value_len);
			break;
		case FC_DOMAIN:
			match_domain(m, f->value, f->value_len);
			break;
		case FC_URL:
			match_url(m, f->value, f->value_len);
			break;
		default:
			break;
		}
	}
}

int intel_match(const struct intel_set *s, const struct event *ev, intel_hit_fn fn, void *ctx)
{
	struct mstate m = {s, ev, NULL, fn, ctx, 0, 0};

	if (!s || !ev || s->count == 0)
		return 0;
	/* fields[], then the fields past them (xfields: Windows records) */
	match_fields(&m, ev->fields, ev->nfields < EVENT_MAX_FIELDS ? ev->nfields : EVENT_MAX_FIELDS);
	if (ev->xfields)
		match_fields(&m, ev->xfields, ev->nxfields);
	return m.hits;
}
