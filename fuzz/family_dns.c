/* Fuzz target: DNS messages as the dns family parses them from the network
 * (agent/family_dns_parse.c): names with compression, labels, answers.
 * Checks that a parsed message's texts are bounded and NUL-terminated, and
 * that a cut copy's parse (family_dns_parse_cut) agrees with the whole
 * one where that succeeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "family_dns_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check(const struct family_dns_msg *m)
{
	if (m->qname_len >= sizeof(m->qname) || m->answers_len >= sizeof(m->answers) ||
	    strlen(m->qname) != m->qname_len || strlen(m->answers) != m->answers_len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct family_dns_msg m, c;
	int whole = family_dns_parse(data, size, &m) == 0;

	if (whole)
		fz_check(&m);
	/* the same bytes as a copy cut from a longer message: whatever parses
	 * whole parses so too, with the same answers */
	if (family_dns_parse_cut(data, size, &c) == 0) {
		fz_check(&c);
		if (whole && (c.cut || strcmp(c.answers, m.answers) != 0))
			abort();
	} else if (whole) {
		abort();
	}
	return 0;
}
