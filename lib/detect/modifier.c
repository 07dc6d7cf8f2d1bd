/* modifier: the table of Sigma value modifiers (Sigma 2.1 appendix). Every
 * modifier of the specification has an entry, so an unimplemented one is
 * reported as unsupported with its name instead of being mistaken for an
 * error or silently ignored. Adding support is: give the entry an id, handle
 * the id in search.c, move the line in docs/rules.md. */
#include "detect_int.h"

#include <string.h>

static const struct modifier modifiers[] = {
    {"contains", MOD_CONTAINS, NULL},
    {"startswith", MOD_STARTSWITH, NULL},
    {"endswith", MOD_ENDSWITH, NULL},
    {"all", MOD_ALL, NULL},
    {"cased", MOD_CASED, NULL},
    {"exists", MOD_EXISTS, NULL},
    {"re", MOD_RE, NULL},
    {"i", MOD_RE_I, NULL},
    {"m", MOD_RE_M, NULL},
    {"s", MOD_RE_S, NULL},
    {"windash", MOD_UNSUPPORTED, "modifier 'windash' (dash permutations) is not supported"},
    {"base64", MOD_UNSUPPORTED, "modifier 'base64' is not supported"},
    {"base64offset", MOD_UNSUPPORTED, "modifier 'base64offset' is not supported"},
    {"utf16le", MOD_UNSUPPORTED, "modifier 'utf16le' is not supported"},
    {"utf16be", MOD_UNSUPPORTED, "modifier 'utf16be' is not supported"},
    {"utf16", MOD_UNSUPPORTED, "modifier 'utf16' is not supported"},
    {"wide", MOD_UNSUPPORTED, "modifier 'wide' (utf16le) is not supported"},
    {"cidr", MOD_UNSUPPORTED, "modifier 'cidr' (IP ranges) is not supported"},
    {"lt", MOD_UNSUPPORTED, "numeric modifier 'lt' is not supported"},
    {"lte", MOD_UNSUPPORTED, "numeric modifier 'lte' is not supported"},
    {"gt", MOD_UNSUPPORTED, "numeric modifier 'gt' is not supported"},
    {"gte", MOD_UNSUPPORTED, "numeric modifier 'gte' is not supported"},
    {"neq", MOD_UNSUPPORTED, "modifier 'neq' is not supported"},
    {"minute", MOD_UNSUPPORTED, "time modifier 'minute' is not supported"},
    {"hour", MOD_UNSUPPORTED, "time modifier 'hour' is not supported"},
    {"day", MOD_UNSUPPORTED, "time modifier 'day' is not supported"},
    {"week", MOD_UNSUPPORTED, "time modifier 'week' is not supported"},
    {"month", MOD_UNSUPPORTED, "time modifier 'month' is not supported"},
    {"year", MOD_UNSUPPORTED, "time modifier 'year' is not supported"},
    {"expand", MOD_UNSUPPORTED, "modifier 'expand' (placeholders) is not supported"},
    {"fieldref", MOD_UNSUPPORTED, "modifier 'fieldref' (field references) is not supported"},
};

const struct modifier *modifier_lookup(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(modifiers) / sizeof(modifiers[0]); i++) {
		if (strlen(modifiers[i].name) == n && memcmp(modifiers[i].name, name, n) == 0)
			return &modifiers[i];
	}
	return NULL;
}

size_t modifier_count(void)
{
	return sizeof(modifiers) / sizeof(modifiers[0]);
}

const struct modifier *modifier_at(size_t i)
{
	return i < modifier_count() ? &modifiers[i] : NULL;
}
