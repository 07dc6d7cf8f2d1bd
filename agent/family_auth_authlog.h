/* family_auth_authlog: auth family, mode "authlog": follows the syslog
 * authentication log (/var/log/auth.log, else /var/log/secure; the
 * environment variable YAMORI_AUTH_LOG names another file) and turns sshd,
 * sudo, su and login lines into authentication events: logons, failed
 * ones, and the ends of sshd, su and login sessions. */
#ifndef YM_AGENT_FAMILY_AUTH_AUTHLOG_H
#define YM_AGENT_FAMILY_AUTH_AUTHLOG_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "family.h"
#include "family_util.h"

#define FAMILY_AUTH_LINE_MAX 8192 /* longer lines are dropped (counted) */

extern const struct family_ops family_auth_authlog_ops;

/* Text kept for the fields of one parsed line. */
struct family_auth_line {
	char user[256], target[256], ip[64], port[16], method[64], prog[64], cmd[4096];
	int pid;
	/* the syslog header's time (ns since the epoch; BSD form in the local
	 * zone, the year inferred), or 0 when it has none that reads */
	uint64_t ts_ns;
	/* rsyslog's "message repeated N times: [ ...]": N (1 for a plain line) */
	unsigned repeat;
	const char *type;   /* "ssh", "sudo", "su", "console" */
	/* "success", "failure", or "logoff" (a session's end: user empty for
	 * su's, whose message names the target only) */
	const char *status;
};

/* Parses one log line (n bytes, without the newline; untrusted, borrowed).
 * Returns 0 and fills *out when the line is an authentication we report,
 * YM_E_NOTFOUND when it is not, YM_E_PARSE when it is malformed. Exposed
 * for the tests and the fuzz target. */
int family_auth_authlog_parse(const char *line, size_t n, struct family_auth_line *out);

/* Parses the message of program prog (its syslog identifier: sshd,
 * sshd-session, sshd-auth, sudo, su, login) as it comes without a syslog
 * header (the journal's MESSAGE field; n bytes, untrusted, borrowed); pid
 * is the sender's. Returns as family_auth_authlog_parse; *named (may be
 * NULL) is set when the message is one of the program's authentication
 * messages but malformed (a lost event, to be counted). */
int family_auth_message_parse(const char *prog, int pid, const char *msg, size_t n,
			      struct family_auth_line *out, int *named);

/* Builds the authentication event of o at ts_ns (ns since the epoch) in ev
 * (scratch, pidbuf: the module's own) and emits it. Returns 0, or -1 when
 * it could not be built or emit refused it (the caller counts the drop). */
int family_auth_emit(const struct family_env *env, const struct family_auth_line *o, uint64_t ts_ns,
		     struct event *ev, struct event *scratch, char pidbuf[FAMILY_UTIL_U64_MAX],
		     family_emit_fn emit, void *arg);

#endif
