#include "buf.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

uint8_t *buf_steal(struct buf *b, size_t *len)
{
	uint8_t *d = b->data;
	if (len)
		*len = b->len;
	buf_init(b, b->cap);
	return d;
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t need, na;
	uint8_t *nd;

	if (n > b->cap || b->len > b->cap - n)
		return YM_E_TOOBIG;
	need = b->len + n + 1;
	if (need <= b->alloc)
		return 0;
	na = b->alloc ? b->alloc : 64;
	while (na < need)
		na = na > SIZE_MAX / 2 ? need : na * 2;
	if (na > b->cap + 1)
		na = b->cap + 1;
	nd = realloc(b->data, na);
	if (!nd)
		return YM_E_NOMEM;
	b->data = nd;
	b->alloc = na;
	return 0;
}

int buf_put(struct buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);
	if (r)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return buf_put(b, t, 2);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return buf_put(b, t, 4);
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	int r = buf_put_u32(b, (uint32_t)(v >> 32));
	if (r)
		return r;
	r = buf_put_u32(b, (uint32_t)v);
	if (r)
		b->len -= 4; /* keep the buffer unchanged on error */
	return r;
}

int buf_put_str(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return YM_E_INVAL;
	r = buf_reserve(b, (size_t)n);
	if (r)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	size_t want, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		want = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		want = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		want = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < want)
		return 0;
	for (i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((want == 2 && cp < 0x80) || (want == 3 && cp < 0x800) || (want == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return want;
}

int buf_put_json_str(struct buf *b, const char *s, size_t n)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, start_len = b->len;
	int r = 0;

	while (i < n && r == 0) {
		uint8_t c = u[i];
		size_t k;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			r = buf_put(b, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			if (c == '\n')
				r = buf_put(b, "\\n", 2);
			else if (c == '\t')
				r = buf_put(b, "\\t", 2);
			else if (c == '\r')
				r = buf_put(b, "\\r", 2);
			else
				r = buf_printf(b, "\\u%04x", c);
			i++;
		} else if ((k = utf8_seq(u + i, n - i)) > 0) {
			r = buf_put(b, u + i, k);
			i += k;
		} else {
			/* not UTF-8: keep the byte visible without breaking JSON */
			r = buf_printf(b, "\\u%04x", c);
			i++;
		}
	}
	if (r) {
		b->len = start_len;
		if (b->data)
			b->data[b->len] = 0;
	}
	return r;
}

void cursor_init(struct cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
	c->off = 0;
}

int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p)
{
	if (n > cursor_left(c))
		return YM_E_TRUNCATED;
	*p = c->p + c->off;
	c->off += n;
	return 0;
}

int cursor_get_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *p;
	int r = cursor_get_bytes(c, 1, &p);
	if (r)
		return r;
	*v = p[0];
	return 0;
}

int cursor_get_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p;
	int r = cursor_get_bytes(c, 2, &p);
	if (r)
		return r;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

int cursor_get_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p;
	int r = cursor_get_bytes(c, 4, &p);
	if (r)
		return r;
	*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
	return 0;
}

int cursor_get_u64(struct cursor *c, uint64_t *v)
{
	const uint8_t *p;
	int r = cursor_get_bytes(c, 8, &p);
	uint64_t x = 0;
	if (r)
		return r;
	for (int i = 0; i < 8; i++)
		x = (x << 8) | p[i];
	*v = x;
	return 0;
}
