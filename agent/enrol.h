/* enrol: one-time enrolment of this agent with a server (docs/protocol.md,
 * "Enrolment"): EC P-256 key and CSR, POST /agent/v1/enrol verified against
 * the operator's CA file, then the state directory is written. */
#ifndef YM_AGENT_ENROL_H
#define YM_AGENT_ENROL_H

#include "state.h"

struct enrol_opts {
	const char *server;    /* https://HOST:PORT */
	const char *token;     /* enrolment token */
	const char *ca_file;   /* CA that must have signed the server's certificate */
	const char *state_dir; /* created 0700 */
	const char *hostname;  /* NULL: gethostname() */
};

/* Enrols and fills *out with the saved state. The error text for the
 * operator is written to why (size whysz). Returns 0, YM_E_INVAL (bad
 * option), YM_E_NET (server unreachable or TLS failure), YM_E_AUTH (token
 * refused), YM_E_PARSE (bad answer), YM_E_CRYPTO (key or certificate
 * problem), YM_E_IO (state not writable) or YM_E_NOMEM. */
int enrol_run(const struct enrol_opts *o, struct agent_state *out, char *why, size_t whysz);

#endif
