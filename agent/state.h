/* state: the agent's state directory, written by enrolment and read at
 * start: agent.json (agent id, tenant id, server URL, hostname), agent.key
 * (0600), agent.crt, ca.crt, response.pub (64 hex chars: the pinned Ed25519
 * response key). The directory is 0700. Thread-safe (no shared state). */
#ifndef YM_AGENT_STATE_H
#define YM_AGENT_STATE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"

struct agent_state {
	char dir[PATH_MAX - 64];
	char agent_id[40];
	char tenant_id[40];
	char server[512];
	char hostname[256];
	uint8_t response_pub[COMMAND_PUBKEY_LEN];
	char cert_path[PATH_MAX], key_path[PATH_MAX], ca_path[PATH_MAX];
};

/* Loads the state of an enrolled agent from dir. Returns 0, YM_E_NOTFOUND
 * (not enrolled: agent.json missing), YM_E_PARSE (a file is malformed),
 * YM_E_AUTH (agent.key readable by others) or YM_E_TOOBIG (paths too long). */
int state_load(const char *dir, struct agent_state *out);

/* Writes agent.json, response.pub, agent.crt, ca.crt and agent.key (given
 * as PEM text, borrowed) into st->dir, creating it 0700. Each file is
 * written atomically; agent.json last, so a state dir is either enrolled or
 * not. Returns 0, YM_E_IO or YM_E_NOMEM. */
int state_save(const struct agent_state *st, const char *cert_pem, const char *ca_pem,
	       const char *key_pem);

/* Takes the exclusive lock of the state directory (DIR/lock, flock), so two
 * agents never share a sequence counter or spool. *fd (set on success) holds
 * the lock until closed. Returns 0, YM_E_EXISTS (another agent holds it) or
 * YM_E_IO. */
int state_lock(const struct agent_state *st, int *fd);

/* Fills the *_path fields from st->dir. Returns 0 or YM_E_TOOBIG. */
int state_paths(struct agent_state *st);

#endif
