/* buf: a growable byte buffer with a hard cap, and a bounds-checked read
 * cursor over borrowed bytes. All untrusted input is read through struct
 * cursor (after OpenSSH's sshbuf); all output is built in struct buf (after
 * curl's dynbuf). Not thread-safe: one owner at a time. */
#ifndef YM_BUF_H
#define YM_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data; /* owned; NUL-terminated after each put so text can be read as a C string */
	size_t len;
	size_t alloc;
	size_t cap; /* hard cap on len; a put past it fails with YM_E_TOOBIG and leaves buf as it was */
};

/* Initialises an empty buffer that may grow to cap bytes. No allocation. */
void buf_init(struct buf *b, size_t cap);
/* Frees the data and leaves an empty buffer with the same cap. */
void buf_free(struct buf *b);
/* Sets len to 0 and keeps the allocation. */
void buf_reset(struct buf *b);
/* Hands the data over to the caller (free() it) and leaves an empty buffer.
 * Returns NULL when the buffer never allocated. *len gets the length if not NULL. */
uint8_t *buf_steal(struct buf *b, size_t *len);

/* Makes room for n more bytes plus the NUL kept after the data, growing
 * as buf_put does (for writers that fill b->data directly). Returns 0,
 * YM_E_TOOBIG (over the cap) or YM_E_NOMEM. */
int buf_reserve(struct buf *b, size_t n);
/* Appending. Each returns 0, YM_E_TOOBIG (over cap) or YM_E_NOMEM; on error
 * the buffer is unchanged. Integers are written big-endian. */
int buf_put(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16(struct buf *b, uint16_t v);
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
int buf_put_str(struct buf *b, const char *s); /* bytes of s, without its NUL */
/* printf-style append. Returns 0, YM_E_TOOBIG, YM_E_NOMEM or YM_E_INVAL. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s (n bytes) as a JSON string body (no quotes), escaping ", \, and
 * control bytes; invalid UTF-8 bytes become \u00XX escapes of the byte. */
int buf_put_json_str(struct buf *b, const char *s, size_t n);

/* Read cursor over borrowed bytes; never reads outside [p, p+len). */
struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void cursor_init(struct cursor *c, const void *p, size_t len);
/* Bytes not read yet (inline: parsers call it per byte). */
static inline size_t cursor_left(const struct cursor *c)
{
	return c->len - c->off;
}
/* Each returns 0 or YM_E_TRUNCATED; the cursor does not move on error. */
int cursor_get_u8(struct cursor *c, uint8_t *v);
int cursor_get_u16(struct cursor *c, uint16_t *v);
int cursor_get_u32(struct cursor *c, uint32_t *v);
int cursor_get_u64(struct cursor *c, uint64_t *v);
/* Points *p at the next n bytes (borrowed from the cursor's input). */
int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p);

#endif
