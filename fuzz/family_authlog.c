/* Fuzz target: auth log lines as the auth family reads them
 * (agent/family_auth_authlog.c: syslog header, sshd, sudo, su, login).
 * Checks that a parsed line names a user and a known type and status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "family_auth_authlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct family_auth_line l;

	if (family_auth_authlog_parse((const char *)data, size, &l) != 0)
		return 0;
	if (l.user[0] == '\0' || l.type == NULL || l.status == NULL ||
	    strnlen(l.user, sizeof(l.user)) == sizeof(l.user) ||
	    strnlen(l.ip, sizeof(l.ip)) == sizeof(l.ip))
		abort();
	return 0;
}
