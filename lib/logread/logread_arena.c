/* logread_arena: fixed storage for one record's names and values. */
#include "logread.h"

#include "detect.h"
#include "err.h"
#include "event.h"

#include <stdlib.h>
#include <string.h>

int logread_arena_init(struct logread_arena *a, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->p = malloc(cap);
	a->win = malloc(sizeof(*a->win));
	a->xf = malloc(LOGREAD_MAX_FIELDS * sizeof(*a->xf));
	if (!a->p || !a->win || !a->xf) {
		logread_arena_free(a);
		return YM_E_NOMEM;
	}
	a->cap = cap;
	return 0;
}

void logread_arena_free(struct logread_arena *a)
{
	free(a->p);
	free(a->win);
	free(a->xf);
	memset(a, 0, sizeof(*a));
}

void logread_arena_reset(struct logread_arena *a)
{
	a->len = 0;
}

const char *logread_arena_dup(struct logread_arena *a, const char *s, size_t n)
{
	char *d;

	if (n >= a->cap - a->len)
		return NULL;
	d = a->p + a->len;
	if (n)
		memcpy(d, s, n);
	d[n] = 0;
	a->len += n + 1;
	return d;
}
