/* namecache: checked field names in read-only memory (namecache.h). */
#include "namecache.h"
#include "err.h"
#include "event.h"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#define NC_RANGES    8
#define NC_SLOT_BITS 9 /* NAMECACHE_SLOTS = 1 << NC_SLOT_BITS */

_Static_assert(NAMECACHE_SLOTS == 1 << NC_SLOT_BITS, "slot index bits");

struct nc_slot {
	const char *name;
	uint8_t len;
};

struct namecache {
	uintptr_t lo[NC_RANGES], hi[NC_RANGES]; /* read-only segments [lo, hi) */
	size_t nranges;
	struct nc_slot slots[NAMECACHE_SLOTS];
	struct namecache_stats st;
};

/* dl_iterate_phdr visits the main program first (an empty name); its
 * PT_LOAD segments without PF_W or PF_X are the read-only ones. RELRO data
 * is mapped writable first and is left out. */
static int nc_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct namecache *nc = arg;

	(void)size;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum && nc->nranges < NC_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & (PF_W | PF_X)) || ph->p_memsz == 0)
			continue;
		nc->lo[nc->nranges] = (uintptr_t)info->dlpi_addr + (uintptr_t)ph->p_vaddr;
		nc->hi[nc->nranges] = nc->lo[nc->nranges] + (uintptr_t)ph->p_memsz;
		nc->nranges++;
	}
	return 1; /* the main program only */
}

int namecache_new(struct namecache **out)
{
	struct namecache *nc = calloc(1, sizeof(*nc));

	if (!nc)
		return YM_E_NOMEM;
	dl_iterate_phdr(nc_phdr, nc);
	*out = nc;
	return 0;
}

void namecache_free(struct namecache *nc)
{
	free(nc);
}

/* The bytes readable from p within its read-only segment, or 0 when p is
 * in none */
static size_t nc_room(const struct namecache *nc, const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (size_t i = 0; i < nc->nranges; i++)
		if (a >= nc->lo[i] && a < nc->hi[i])
			return nc->hi[i] - a;
	return 0;
}

int namecache_readonly(const struct namecache *nc, const void *p, size_t n)
{
	size_t room = nc_room(nc, p);

	return room > 0 && n <= room;
}

uint8_t namecache_len(struct namecache *nc, const char *name)
{
	struct nc_slot *s;
	size_t room, l;

	if (!name)
		return 0;
	/* Fibonacci hash of the address (the top bits of the product): the
	 * literals lie a few bytes apart */
	s = &nc->slots[(uint64_t)(uintptr_t)name * 11400714819323198485ull >> (64 - NC_SLOT_BITS)];
	if (s->name == name) {
		nc->st.hits++;
		return s->len;
	}
	room = nc_room(nc, name);
	if (room == 0) {
		nc->st.mutable_++;
		return 0;
	}
	/* the name and its NUL within the segment: nothing else is read */
	nc->st.checked++;
	l = strnlen(name, room < EVENT_MAX_NAME + 1 ? room : EVENT_MAX_NAME + 1);
	if (l == room || !event_name_ok(name, l))
		return 0;
	s->name = name;
	s->len = (uint8_t)l;
	return s->len;
}

void namecache_stats(const struct namecache *nc, struct namecache_stats *out)
{
	*out = nc->st;
}
