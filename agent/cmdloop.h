/* cmdloop: the root agent's command thread. The unprivileged uplink
 * process (uplinkd.h) long-polls GET /agent/v1/commands and forwards each
 * command's raw signed bytes over the command channel (privsep.h); here each
 * one is checked (signature over the exact payload with the pinned key,
 * agent id and validity window, nonce store), run, and its result handed
 * back for the uplink process to POST to /agent/v1/results (which keeps and
 * re-posts results the server did not take, at most 64). A refusal is
 * logged with an E35xx id and reported with status "refused" and the
 * reason; a command whose signature fails is never acted on, and reported
 * only when an id can be read from it. Nothing the uplink process sends can
 * make the agent act on an unsigned, foreign, expired or replayed command. */
#ifndef YM_AGENT_CMDLOOP_H
#define YM_AGENT_CMDLOOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"

#define CMDLOOP_MAX_PENDING 64

struct privsep;
struct nonce_store;

struct cmd_result {
	int have_id; /* 0: nothing trustworthy to report it under */
	char id[40];
	const char *status; /* "done", "refused", "failed" (static) */
	char detail[256];
};

/* The last CMDLOOP_MAX_PENDING results of commands whose nonce this agent
 * took. The server sends a command again until it has its result; when the
 * result was lost on the way (the uplink process died before posting it),
 * the command comes back with its nonce already used: it is answered with
 * the result it had, not run again and not refused as a replay. */
struct cmdloop_recent {
	size_t next;
	struct {
		char nonce[40];
		struct cmd_result res;
	} e[CMDLOOP_MAX_PENDING];
};

struct cmdloop_cfg {
	struct privsep *ps; /* borrowed: the uplink process */
	const char *agent_id;
	const uint8_t *pubkey; /* COMMAND_PUBKEY_LEN bytes: the pinned response key */
	struct nonce_store *ns;
	struct cmdloop_recent *recent; /* may be NULL: replays are then refused */
	const atomic_int *stop;
};

/* Checks and runs one wire command (json, n bytes) at time now_s and fills
 * *res. Never fails: every outcome is a result. Not thread-safe (ns). */
void cmdloop_handle(const struct cmdloop_cfg *cfg, const char *json, size_t n, uint64_t now_s,
		    struct cmd_result *res);

/* The JSON body of POST /agent/v1/results for res (malloc'd, handed to the
 * caller), or NULL when res has no id or memory ran out. */
char *cmdloop_result_json(const struct cmd_result *res);

/* Handles the commands the uplink process forwards until *stop. Returns 0. */
int cmdloop_run(const struct cmdloop_cfg *cfg);

#endif
