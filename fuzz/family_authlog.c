/* Fuzz target: auth log lines as the auth family reads them
 * (agent/family_auth_authlog.c: syslog header, sshd, sudo, su, login), and
 * the same bytes after the first as the journal's MESSAGE of the program
 * the first byte picks (family_auth_message_parse, the journal mode).
 * Checks that a parsed line names a user (su's logoff: its target) and a
 * known type and status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "family_auth_authlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct family_auth_line *l)
{
	int su_end = l->type != NULL && l->status != NULL && strcmp(l->type, "su") == 0 &&
		     strcmp(l->status, "logoff") == 0;

	if ((l->user[0] == '\0' && !(su_end && l->target[0] != '\0')) || l->type == NULL ||
	    l->status == NULL || strnlen(l->target, sizeof(l->target)) == sizeof(l->target) ||
	    strnlen(l->port, sizeof(l->port)) == sizeof(l->port) ||
	    strnlen(l->user, sizeof(l->user)) == sizeof(l->user) ||
	    strnlen(l->ip, sizeof(l->ip)) == sizeof(l->ip))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const progs[] = {"sshd", "sshd-session", "sshd-auth",
					    "sudo", "su",	    "login"};
	static struct family_auth_line l;
	int named;

	if (family_auth_authlog_parse((const char *)data, size, &l) == 0)
		check(&l);
	if (size > 0 && family_auth_message_parse(progs[data[0] % 6], 1, (const char *)data + 1,
						  size - 1, &l, &named) == 0)
		check(&l);
	return 0;
}
