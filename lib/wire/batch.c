#include "batch.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define BATCH_HDR_LEN 10 /* magic(4) flags(2) count(4) */

static void why_set(char *why, size_t whysz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;
	if (!why || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

void batch_free(struct batch *b)
{
	free(b->events);
	free(b->raw);
	memset(b, 0, sizeof(*b));
}

/* Reads one NUL-terminated string of len bytes (len includes the NUL) and
 * checks that the NUL is the only one. */
static int get_cstr(struct cursor *c, size_t len, const char **out)
{
	const uint8_t *p;
	int r;

	if (len == 0)
		return YM_E_PARSE;
	r = cursor_get_bytes(c, len, &p);
	if (r)
		return r;
	if (p[len - 1] != 0 || memchr(p, 0, len - 1))
		return YM_E_PARSE;
	*out = (const char *)p;
	return 0;
}

static int decode_event(struct cursor *c, struct event *ev, char *why, size_t whysz, size_t idx)
{
	uint16_t nf;
	int r;

	event_init(ev);
	if ((r = cursor_get_u64(c, &ev->seq)) || (r = cursor_get_u64(c, &ev->ts_ns)) ||
	    (r = cursor_get_u16(c, &ev->category)) || (r = cursor_get_u16(c, &nf))) {
		why_set(why, whysz, "event %zu: truncated header", idx);
		return r;
	}
	if (ev->seq == 0) {
		why_set(why, whysz, "event %zu: sequence number 0", idx);
		return YM_E_PARSE;
	}
	if (ev->category >= EVCAT_MAX_) {
		why_set(why, whysz, "event %zu: unknown category %u", idx, ev->category);
		return YM_E_PARSE;
	}
	if (nf > EVENT_MAX_FIELDS) {
		why_set(why, whysz, "event %zu: %u fields, limit %d", idx, nf, EVENT_MAX_FIELDS);
		return YM_E_TOOBIG;
	}
	for (uint16_t i = 0; i < nf; i++) {
		uint8_t nl;
		uint32_t vl;
		const char *name, *value, *iname;

		if ((r = cursor_get_u8(c, &nl))) {
			why_set(why, whysz, "event %zu field %u: truncated", idx, i);
			return r;
		}
		if (nl < 2 || nl > EVENT_MAX_NAME + 1 || (r = get_cstr(c, nl, &name)) ||
		    !event_name_ok(name, nl - 1u)) {
			why_set(why, whysz, "event %zu field %u: bad field name", idx, i);
			return r == YM_E_TRUNCATED ? r : YM_E_PARSE;
		}
		if ((r = cursor_get_u32(c, &vl))) {
			why_set(why, whysz, "event %zu field %s: truncated", idx, name);
			return r;
		}
		if (vl < 1 || vl > EVENT_MAX_VALUE + 1u) {
			why_set(why, whysz, "event %zu field %s: value length %u out of range", idx,
				name, vl);
			return YM_E_TOOBIG;
		}
		if ((r = get_cstr(c, vl, &value))) {
			why_set(why, whysz, "event %zu field %s: %s", idx, name,
				r == YM_E_TRUNCATED ? "truncated value" : "NUL inside value");
			return r;
		}
		if (event_get(ev, name, NULL)) {
			why_set(why, whysz, "event %zu: duplicate field %s", idx, name);
			return YM_E_PARSE;
		}
		/* the process-wide copy when there is room: the engine's name
		 * caches then hold across batches (event.h, "Interned names") */
		iname = event_name_intern(name, nl - 1u);
		if (iname)
			name = iname;
		/* name, value and uniqueness are checked above: event_set
		 * would check them all again */
		if ((r = event_add(ev, name, value, vl - 1u))) {
			why_set(why, whysz, "event %zu field %s: rejected", idx, name);
			return r;
		}
	}
	return 0;
}

int batch_decode(const uint8_t *p, size_t n, struct batch *b, char *why, size_t whysz)
{
	struct cursor c;
	struct batch nb;
	const uint8_t *magic;
	uint16_t flags;
	uint32_t count;
	int r;

	memset(&nb, 0, sizeof(nb));
	memset(b, 0, sizeof(*b));
	if (n > BATCH_MAX_WIRE) {
		why_set(why, whysz, "batch of %zu bytes over the %u byte limit", n, BATCH_MAX_WIRE);
		return YM_E_TOOBIG;
	}
	cursor_init(&c, p, n);
	if ((r = cursor_get_bytes(&c, 4, &magic)) || (r = cursor_get_u16(&c, &flags)) ||
	    (r = cursor_get_u32(&c, &count))) {
		why_set(why, whysz, "truncated batch header");
		return r;
	}
	if (memcmp(magic, BATCH_MAGIC, 4) != 0) {
		why_set(why, whysz, "bad magic");
		return YM_E_PARSE;
	}
	if (flags & ~BATCH_FLAG_ZSTD) {
		why_set(why, whysz, "unknown flags 0x%04x", flags);
		return YM_E_PARSE;
	}
	if (count == 0 || count > BATCH_MAX_EVENTS) {
		why_set(why, whysz, "event count %u outside 1..%d", count, BATCH_MAX_EVENTS);
		return count ? YM_E_TOOBIG : YM_E_PARSE;
	}
	if (flags & BATCH_FLAG_ZSTD) {
		const uint8_t *body;
		size_t blen = cursor_left(&c);
		unsigned long long rs;
		size_t got;

		cursor_get_bytes(&c, blen, &body);
		rs = ZSTD_getFrameContentSize(body, blen);
		if (rs == ZSTD_CONTENTSIZE_ERROR || rs == ZSTD_CONTENTSIZE_UNKNOWN) {
			why_set(why, whysz, "compressed body without a valid frame size");
			return YM_E_PARSE;
		}
		if (rs > BATCH_MAX_RAW) {
			why_set(why, whysz, "decompressed size %llu over the limit", rs);
			return YM_E_TOOBIG;
		}
		nb.raw = malloc(rs ? (size_t)rs : 1);
		if (!nb.raw)
			return YM_E_NOMEM;
		got = ZSTD_decompress(nb.raw, (size_t)rs, body, blen);
		if (ZSTD_isError(got) || got != rs) {
			why_set(why, whysz, "corrupt compressed body");
			r = YM_E_PARSE;
			goto out;
		}
		cursor_init(&c, nb.raw, (size_t)rs);
	}
	nb.events = calloc(count, sizeof(*nb.events));
	if (!nb.events) {
		r = YM_E_NOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		if ((r = decode_event(&c, &nb.events[i], why, whysz, i)))
			goto out;
		if (i > 0 && nb.events[i].seq <= nb.events[i - 1].seq) {
			why_set(why, whysz, "event %u: sequence %llu not above %llu", i,
				(unsigned long long)nb.events[i].seq,
				(unsigned long long)nb.events[i - 1].seq);
			r = YM_E_PARSE;
			goto out;
		}
	}
	if (cursor_left(&c) != 0) {
		why_set(why, whysz, "%zu trailing bytes", cursor_left(&c));
		r = YM_E_PARSE;
		goto out;
	}
	nb.count = count;
	nb.first_seq = nb.events[0].seq;
	nb.last_seq = nb.events[count - 1].seq;
	*b = nb;
	memset(&nb, 0, sizeof(nb));
	r = 0;
out:
	batch_free(&nb);
	return r;
}

static uint8_t *bw_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *bw_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *bw_be64(uint8_t *p, uint64_t v)
{
	p = bw_be32(p, (uint32_t)(v >> 32));
	return bw_be32(p, (uint32_t)v);
}

#define BW_EVENT_HDR 20 /* seq(8) ts(8) category(2) nfields(2) */
#define BW_FIELD_HDR 5	/* name_len(1) value_len(4), then the two NULs */

/* Appends one event whose size (need bytes) and names are known good; nl:
 * the names' lengths, or NULL to measure them here. */
static int bw_put_event(struct buf *b, const struct event *ev, uint64_t seq, size_t need,
			const uint8_t *nl)
{
	uint8_t *p;
	int r = buf_reserve(b, need);

	if (r)
		return r;
	p = b->data + b->len;
	p = bw_be64(p, seq);
	p = bw_be64(p, ev->ts_ns);
	p = bw_be16(p, ev->category);
	p = bw_be16(p, ev->nfields);
	for (uint16_t k = 0; k < ev->nfields; k++) {
		const struct event_field *f = &ev->fields[k];
		size_t l = nl ? nl[k] : strlen(f->name);

		*p++ = (uint8_t)(l + 1);
		memcpy(p, f->name, l);
		p[l] = 0;
		p += l + 1;
		p = bw_be32(p, f->value_len + 1u);
		memcpy(p, f->value, f->value_len);
		p += f->value_len;
		*p++ = 0;
	}
	b->len = (size_t)(p - b->data);
	b->data[b->len] = 0;
	return 0;
}

/* A name twice makes the decoder refuse the whole batch: names are compared
 * only when their length and ends collide in a 64-bit set. Returns 1 when
 * field k's name (l bytes) is one of fields 0..k-1's (lengths in nl). */
static int bw_name_twice(const struct event *ev, uint16_t k, const uint8_t *nl, size_t l,
			 uint64_t *seen)
{
	const char *name = ev->fields[k].name;
	unsigned h =
	    (unsigned)(l * 7u + (unsigned char)name[0] * 3u + (unsigned char)name[l - 1]) & 63u;

	if (*seen & (1ull << h)) {
		for (uint16_t j = 0; j < k; j++)
			if (nl[j] == l && memcmp(ev->fields[j].name, name, l) == 0)
				return 1;
	}
	*seen |= 1ull << h;
	return 0;
}

/* Checks ev as the decoder would (batch_event_check); nl gets each name's
 * length and *need the encoding's size. known (may be NULL): names the
 * caller vouches for, by length (0: not known, checked here). */
static int bw_check(const struct event *ev, const uint8_t *known, uint8_t nl[EVENT_MAX_FIELDS],
		    size_t *need)
{
	uint64_t seen = 0;
	size_t n = BW_EVENT_HDR;

	if (ev->category >= EVCAT_MAX_ || ev->nfields > EVENT_MAX_FIELDS)
		return YM_E_INVAL;
	for (uint16_t k = 0; k < ev->nfields; k++) {
		const struct event_field *f = &ev->fields[k];
		size_t l;

		if (!f->name || !f->value)
			return YM_E_INVAL;
		l = known ? known[k] : 0;
		if (l == 0) {
			l = strnlen(f->name, EVENT_MAX_NAME + 1);
			if (!event_name_ok(f->name, l))
				return YM_E_INVAL;
		} else if (l > EVENT_MAX_NAME || f->name[l] != 0) {
			return YM_E_INVAL;
		}
		if (f->value_len > EVENT_MAX_VALUE || memchr(f->value, 0, f->value_len))
			return YM_E_INVAL;
		nl[k] = (uint8_t)l;
		if (bw_name_twice(ev, k, nl, l, &seen))
			return YM_E_INVAL;
		n += BW_FIELD_HDR + l + 1 + f->value_len + 1;
	}
	*need = n;
	return 0;
}

int batch_event_check(const struct event *ev, size_t *need)
{
	uint8_t nl[EVENT_MAX_FIELDS];

	return bw_check(ev, NULL, nl, need);
}

int batch_event_put(struct buf *body, const struct event *ev, uint64_t seq)
{
	size_t need = BW_EVENT_HDR;

	for (uint16_t k = 0; k < ev->nfields; k++)
		need += BW_FIELD_HDR + strlen(ev->fields[k].name) + 1 + ev->fields[k].value_len + 1;
	return bw_put_event(body, ev, seq, need, NULL);
}

int batch_event_append(struct buf *body, const struct event *ev, const uint8_t *known, size_t *off)
{
	uint8_t nl[EVENT_MAX_FIELDS];
	size_t need = 0, start = body->len;
	int r = bw_check(ev, known, nl, &need);

	if (r)
		return r;
	/* with the names' lengths measured once, here and not again */
	r = bw_put_event(body, ev, 0, need, nl);
	if (r)
		return r;
	*off = start;
	return 0;
}

void batch_event_set_seq(struct buf *body, size_t off, uint64_t seq)
{
	if (off <= body->len && body->len - off >= BW_EVENT_HDR)
		bw_be64(body->data + off, seq);
}

static int encode_body(struct buf *body, const struct event *evs, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		const struct event *ev = &evs[i];
		size_t need = BW_EVENT_HDR;

		if (ev->seq == 0 || (i > 0 && ev->seq <= evs[i - 1].seq) ||
		    ev->category >= EVCAT_MAX_ || ev->nfields > EVENT_MAX_FIELDS)
			return YM_E_INVAL;
		for (uint16_t k = 0; k < ev->nfields; k++) {
			const struct event_field *f = &ev->fields[k];
			size_t nl = strlen(f->name);
			if (!event_name_ok(f->name, nl) || f->value_len > EVENT_MAX_VALUE)
				return YM_E_INVAL;
			need += BW_FIELD_HDR + nl + 1 + f->value_len + 1;
		}
		r = bw_put_event(body, ev, ev->seq, need, NULL);
	}
	return r;
}

struct batch_zctx {
	ZSTD_CCtx *cc; /* its parameters set once: level, and the hash log when tuned */
};

int batch_zctx_new(int level, struct batch_zctx **out)
{
	struct batch_zctx *z = calloc(1, sizeof(*z));

	if (!z)
		return YM_E_NOMEM;
	z->cc = ZSTD_createCCtx();
	if (!z->cc || ZSTD_isError(ZSTD_CCtx_setParameter(z->cc, ZSTD_c_compressionLevel, level))) {
		ZSTD_freeCCtx(z->cc);
		free(z);
		return YM_E_NOMEM;
	}
	*out = z;
	return 0;
}

int batch_zctx_hash_log(struct batch_zctx *z, int hash_log)
{
	if (hash_log < 0 || ZSTD_isError(ZSTD_CCtx_setParameter(z->cc, ZSTD_c_hashLog, hash_log)))
		return YM_E_INVAL;
	return 0;
}

void batch_zctx_free(struct batch_zctx *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->cc);
	free(z);
}

/* Appends header and body (compressed with cc when smaller: at level, or
 * with cc's own parameters when level is 0). */
static int bw_seal(struct buf *out, const uint8_t *body, size_t len, size_t n, ZSTD_CCtx *cc,
		   int level)
{
	size_t start = out->len;
	uint8_t *p;
	int r;

	if (n == 0 || n > BATCH_MAX_EVENTS || len > BATCH_MAX_RAW)
		return YM_E_INVAL;
	r = buf_reserve(out, BATCH_HDR_LEN);
	if (r)
		return r;
	p = out->data + out->len;
	memcpy(p, BATCH_MAGIC, 4);
	bw_be16(p + 4, 0);
	bw_be32(p + 6, (uint32_t)n);
	out->len += BATCH_HDR_LEN;
	if (cc && len > 0) {
		/* straight into out: a frame no smaller than the body is not kept */
		size_t bound = ZSTD_compressBound(len), zlen;

		if (bound > out->cap - out->len)
			bound = out->cap - out->len;
		if (bound > 0 && (r = buf_reserve(out, bound)) == 0) {
			zlen = level ? ZSTD_compressCCtx(cc, out->data + out->len, bound, body, len,
							 level)
				     : ZSTD_compress2(cc, out->data + out->len, bound, body, len);
			if (!ZSTD_isError(zlen) && zlen < len) {
				bw_be16(out->data + start + 4, BATCH_FLAG_ZSTD);
				out->len += zlen;
				out->data[out->len] = 0;
				goto done;
			}
		} else if (r == YM_E_NOMEM) {
			goto fail;
		}
	}
	r = buf_reserve(out, len);
	if (r)
		goto fail;
	if (len)
		memcpy(out->data + out->len, body, len);
	out->len += len;
	out->data[out->len] = 0;
done:
	if (out->len - start > BATCH_MAX_WIRE) {
		r = YM_E_TOOBIG;
		goto fail;
	}
	return 0;
fail:
	out->len = start;
	if (out->data)
		out->data[start] = 0;
	return r;
}

int batch_seal(struct buf *out, const uint8_t *body, size_t len, size_t n, struct batch_zctx *z)
{
	return bw_seal(out, body, len, n, z ? z->cc : NULL, 0);
}

int batch_encode(struct buf *out, const struct event *evs, size_t n, int compress)
{
	struct buf body;
	ZSTD_CCtx *cc = NULL;
	int r;

	if (n == 0 || n > BATCH_MAX_EVENTS)
		return YM_E_INVAL;
	buf_init(&body, BATCH_MAX_RAW);
	if ((r = encode_body(&body, evs, n)))
		goto out;
	if (compress) {
		cc = ZSTD_createCCtx();
		if (!cc) {
			r = YM_E_NOMEM;
			goto out;
		}
	}
	r = bw_seal(out, body.data, body.len, n, cc, 3);
out:
	ZSTD_freeCCtx(cc);
	buf_free(&body);
	return r;
}
