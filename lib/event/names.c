/* names: the process's interned field names (event.h, "Interned names").
 *
 * Each name takes one EVENT_NAME_SLOT-byte slot of event_names_ and keeps it
 * for the life of the process, so a pointer to it stays valid and equal
 * pointers are equal names. A table of slot numbers, probed linearly, finds
 * a name: readers take no lock (a slot is filled before its number is
 * published, with release order), writers take one mutex. When every slot is
 * taken, event_name_intern returns NULL and callers keep their own storage:
 * names from outside (a hostile agent's batches) can use up the slots, which
 * only costs the consumers their shortcut. */
#include "event.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define NAMES_TAB (EVENT_NAMES_MAX * 2) /* power of two, at most half full */

_Alignas(64) char event_names_[EVENT_NAMES_MAX * EVENT_NAME_SLOT];
static uint8_t names_len[EVENT_NAMES_MAX];
static _Atomic uint16_t names_tab[NAMES_TAB]; /* slot number + 1; 0: empty */
static uint32_t names_n;		      /* slots taken; under names_mu */
static pthread_mutex_t names_mu = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(EVENT_MAX_NAME < EVENT_NAME_SLOT, "a name and its NUL fit a slot");
_Static_assert((NAMES_TAB & (NAMES_TAB - 1)) == 0, "table size is a power of two");
_Static_assert(EVENT_NAMES_MAX < 65535, "slot numbers fit the table's entries");

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h ^ (h >> 15);
}

/* The interned name equal to name[0..len) from the table position *pos on,
 * or NULL with *pos at the empty entry that ends its probe sequence. */
static const char *names_find(const char *name, size_t len, uint32_t *pos)
{
	for (uint32_t i = *pos;; i = (i + 1) & (NAMES_TAB - 1)) {
		uint16_t k = atomic_load_explicit(&names_tab[i], memory_order_acquire);
		const char *s;

		if (k == 0) {
			*pos = i;
			return NULL;
		}
		s = event_names_ + (size_t)(k - 1) * EVENT_NAME_SLOT;
		if (names_len[k - 1] == len && memcmp(s, name, len) == 0)
			return s;
	}
}

const char *event_name_intern(const char *name, size_t len)
{
	uint32_t pos;
	const char *s;
	char *d;

	if (len == 0 || len > EVENT_MAX_NAME || memchr(name, 0, len))
		return NULL;
	pos = name_hash(name, len) & (NAMES_TAB - 1);
	s = names_find(name, len, &pos);
	if (s)
		return s;
	if (pthread_mutex_lock(&names_mu) != 0)
		return NULL;
	/* another thread may have added it, or taken the empty entry */
	s = names_find(name, len, &pos);
	if (!s && names_n < EVENT_NAMES_MAX) {
		d = event_names_ + (size_t)names_n * EVENT_NAME_SLOT;
		memcpy(d, name, len);
		d[len] = 0;
		names_len[names_n] = (uint8_t)len;
		names_n++;
		atomic_store_explicit(&names_tab[pos], (uint16_t)names_n, memory_order_release);
		s = d;
	}
	pthread_mutex_unlock(&names_mu);
	return s;
}

size_t event_name_len(uint32_t id)
{
	return id >= 1 && id <= EVENT_NAMES_MAX ? names_len[id - 1] : 0;
}
