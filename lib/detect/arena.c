/* arena: bump allocator for everything one rule (or one YAML document) owns.
 * Rules are built once and freed whole, so a chain of blocks is simpler and
 * faster than a malloc per node, and a hard cap bounds what a hostile rule
 * can make us allocate. */
#include "detect_int.h"

#include "err.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_MIN_BLOCK 4096
#define ARENA_MAX_BLOCK (256u * 1024)

struct arena_block {
	struct arena_block *next;
	size_t size; /* bytes in data */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a, size_t cap)
{
	a->head = NULL;
	a->total = 0;
	a->cap = cap;
	a->err = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	struct arena_block *b = a->head;
	size_t need, size;
	void *p;

	if (n == 0)
		n = 1;
	if (n > a->cap)
		goto toobig;
	need = (n + al - 1) & ~(al - 1);
	if (!b || b->size - b->used < need) {
		size = b ? b->size * 2 : ARENA_MIN_BLOCK;
		if (size > ARENA_MAX_BLOCK)
			size = ARENA_MAX_BLOCK;
		if (size < need)
			size = need;
		if (size > a->cap - a->total)
			goto toobig;
		b = malloc(sizeof(*b) + size);
		if (!b) {
			if (!a->err)
				a->err = YM_E_NOMEM;
			return NULL;
		}
		b->next = a->head;
		b->size = size;
		b->used = 0;
		a->head = b;
		a->total += size;
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
toobig:
	if (!a->err)
		a->err = YM_E_TOOBIG;
	return NULL;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n >= a->cap) {
		if (!a->err)
			a->err = YM_E_TOOBIG;
		return NULL;
	}
	p = arena_alloc(a, n + 1);
	if (p && n)
		memcpy(p, s, n);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_block *b = a->head;

	while (b) {
		struct arena_block *nx = b->next;
		free(b);
		b = nx;
	}
	a->head = NULL;
	a->total = 0;
	a->err = 0;
}
