/* modifier: the table of Sigma value modifiers (Sigma 2.1 appendix). Every
 * modifier of the specification has an entry, so an unimplemented one is
 * reported as unsupported with its name instead of being mistaken for an
 * error or silently ignored. Every modifier of Sigma 2.1 is implemented now;
 * MOD_UNSUPPORTED stays for modifiers a later specification adds before they
 * are implemented. */
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
    {"windash", MOD_WINDASH, NULL},
    {"base64", MOD_BASE64, NULL},
    {"base64offset", MOD_BASE64OFFSET, NULL},
    {"utf16le", MOD_UTF16LE, NULL},
    {"utf16be", MOD_UTF16BE, NULL},
    {"utf16", MOD_UTF16, NULL},
    {"wide", MOD_UTF16LE, NULL}, /* an alias of utf16le */
    {"cidr", MOD_CIDR, NULL},
    {"lt", MOD_LT, NULL},
    {"lte", MOD_LTE, NULL},
    {"gt", MOD_GT, NULL},
    {"gte", MOD_GTE, NULL},
    {"neq", MOD_NEQ, NULL},
    {"minute", MOD_MINUTE, NULL},
    {"hour", MOD_HOUR, NULL},
    {"day", MOD_DAY, NULL},
    {"week", MOD_WEEK, NULL},
    {"month", MOD_MONTH, NULL},
    {"year", MOD_YEAR, NULL},
    {"expand", MOD_EXPAND, NULL},
    {"fieldref", MOD_FIELDREF, NULL},
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
