/* Fuzz target: DNS messages as the dns family parses them from the network
 * (agent/family_dns_parse.c): names with compression, labels, answers.
 * Checks that a parsed message's texts are bounded and NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "family_dns_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct family_dns_msg m;

	if (family_dns_parse(data, size, &m) != 0)
		return 0;
	if (m.qname_len >= sizeof(m.qname) || m.answers_len >= sizeof(m.answers) ||
	    strlen(m.qname) != m.qname_len || strlen(m.answers) != m.answers_len)
		abort();
	return 0;
}
