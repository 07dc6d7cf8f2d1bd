/* cmdloop: receives response commands by long poll (GET
 * /agent/v1/commands?wait=S), checks each one (signature over the exact
 * payload with the pinned key, agent id and validity window, nonce store),
 * runs it, and reports the outcome (POST /agent/v1/results). A refusal is
 * logged with an E35xx id and reported with status "refused" and the reason;
 * a command whose signature fails is never acted on, and reported only when
 * an id can be read from it. Results the server did not take are kept (at
 * most CMDLOOP_MAX_PENDING) and posted again before the next poll. */
#ifndef YM_AGENT_CMDLOOP_H
#define YM_AGENT_CMDLOOP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"

#define CMDLOOP_MAX_PENDING 64

struct http;
struct nonce_store;

struct cmd_result {
	int have_id; /* 0: nothing trustworthy to report it under */
	char id[40];
	const char *status; /* "done", "refused", "failed" (static) */
	char detail[256];
};

struct cmdloop_cfg {
	struct http *h; /* borrowed, used only by this thread */
	const char *agent_id;
	const uint8_t *pubkey; /* COMMAND_PUBKEY_LEN bytes: the pinned response key */
	struct nonce_store *ns;
	const atomic_int *stop;
	int wait_s; /* long-poll wait, <= 30 */
};

/* Checks and runs one wire command (json, n bytes) at time now_s and fills
 * *res. Never fails: every outcome is a result. Not thread-safe (ns). */
void cmdloop_handle(const struct cmdloop_cfg *cfg, const char *json, size_t n, uint64_t now_s,
		    struct cmd_result *res);

/* Polls and handles commands until *stop. Returns 0. */
int cmdloop_run(const struct cmdloop_cfg *cfg);

#endif
