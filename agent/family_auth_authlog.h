/* family_auth_authlog: auth family, mode "authlog": follows the syslog
 * authentication log (/var/log/auth.log, else /var/log/secure; the
 * environment variable YAMORI_AUTH_LOG names another file) and turns sshd,
 * sudo, su and login lines into authentication events. */
#ifndef YM_AGENT_FAMILY_AUTH_AUTHLOG_H
#define YM_AGENT_FAMILY_AUTH_AUTHLOG_H

#include <stddef.h>

#include "event.h"
#include "family.h"

#define FAMILY_AUTH_LINE_MAX 8192 /* longer lines are dropped (counted) */

extern const struct family_ops family_auth_authlog_ops;

/* Text kept for the fields of one parsed line. */
struct family_auth_line {
	char user[256], target[256], ip[64], port[16], method[64], prog[64], cmd[4096];
	int pid;
	/* rsyslog's "message repeated N times: [ ...]": N (1 for a plain line) */
	unsigned repeat;
	const char *type;   /* "ssh", "sudo", "su", "console" */
	const char *status; /* "success", "failure" */
};

/* Parses one log line (n bytes, without the newline; untrusted, borrowed).
 * Returns 0 and fills *out when the line is an authentication we report,
 * YM_E_NOTFOUND when it is not, YM_E_PARSE when it is malformed. Exposed
 * for the tests and the fuzz target. */
int family_auth_authlog_parse(const char *line, size_t n, struct family_auth_line *out);

#endif
