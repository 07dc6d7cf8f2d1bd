/* Fuzz target: the kernel's socket counters as the network family's
 * sock_diag mode reads them before deciding whether to dump
 * (agent/family_sock.c: family_sock_snmp_opens on /proc/net/snmp's text,
 * family_sock_inuse on /proc/net/sockstat{,6}'s). The text is not
 * NUL-terminated: the input is copied into a buffer of its exact size, so
 * a read past it is caught by the sanitizers. Checks that every parse
 * answers 0 or YM_E_NOTFOUND (the caller dumps on any error, so a value
 * half set by a failed parse is never used). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "family_sock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const protos[] = {"TCP", "UDP", "TCP6", "UDP6"};
	char *text = malloc(size ? size : 1);
	uint64_t a = 0, p = 0, n = 0;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	rc = family_sock_snmp_opens(text, size, &a, &p);
	if (rc != 0 && rc != YM_E_NOTFOUND)
		abort();
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		rc = family_sock_inuse(text, size, protos[i], &n);
		if (rc != 0 && rc != YM_E_NOTFOUND)
			abort();
	}
	free(text);
	return 0;
}
