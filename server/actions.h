/* actions: response actions. Creates signed commands (kill for now) and
 * wakes the long polls of the agents they are for.
 *
 * Long polls block their own connection thread (MHD thread per
 * connection) on one condition variable; each waiter is a node on the
 * waiting thread's stack in a list under the mutex, so the list is bounded
 * by the connection limit and needs no allocation. Scale-out path: MHD
 * suspend/resume with a per-agent wake-up, so a poll holds no thread. */
#ifndef YM_SERVER_ACTIONS_H
#define YM_SERVER_ACTIONS_H

#include <stdint.h>

#include "store.h"

struct server;
struct actions;

int actions_init(struct actions **out);
/* No waiter may remain. NULL is a no-op. */
void actions_free(struct actions *a);

struct actions_waiter {
	char agent_id[STORE_ID_LEN];
	int woken;
	struct actions_waiter *next;
};

/* Registers w (kept until actions_waiter_remove) for agent_id. Register
 * before looking for pending commands, then call actions_waiter_wait: a
 * notify in between is not lost. */
void actions_waiter_add(struct actions *a, struct actions_waiter *w, const char *agent_id);
void actions_waiter_remove(struct actions *a, struct actions_waiter *w);
/* Clears w's wake-up flag; call right before each look for commands. */
void actions_waiter_arm(struct actions *a, struct actions_waiter *w);
/* Blocks until w is notified, the server stops, or the CLOCK_MONOTONIC
 * deadline (ns) passes. Returns 1 when notified, 0 on time-out or stop. */
int actions_waiter_wait(struct actions *a, struct actions_waiter *w, uint64_t deadline_ns);
/* Wakes every waiter of agent_id. */
void actions_notify(struct actions *a, const char *agent_id);
/* Wakes every waiter and makes later waits return at once (shutdown). */
void actions_shutdown(struct actions *a);

struct actions_kill {
	const char *agent_id;
	int64_t pid;
	int have_start_time;
	uint64_t start_time; /* used when have_start_time */
};

#define ACTIONS_TTL_S 300

/* Queues a signed kill command for an agent in scope: looks the agent up
 * (scope-checked), takes start_time from the newest process_creation event
 * of pid on it when not given, signs the command (expires in ACTIONS_TTL_S),
 * stores it, audits "action.requested" by actor and wakes the agent's poll.
 * Returns 0 and fills *out, YM_E_NOTFOUND (agent not in scope or revoked,
 * or no start time known), YM_E_INVAL, YM_E_CRYPTO, YM_E_DB, YM_E_IO,
 * YM_E_NOMEM. */
int actions_kill(struct server *srv, struct store_scope sc, const char *actor,
		 const struct actions_kill *k, struct store_action *out);

#endif
