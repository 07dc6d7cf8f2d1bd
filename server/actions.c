/* actions.c: kill commands and the long-poll wake-ups. */
#include "actions.h"
#include "audit.h"
#include "buf.h"
#include "command.h"
#include "err.h"
#include "server.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct actions {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	struct actions_waiter *waiters;
	int stopping;
};

int actions_init(struct actions **out)
{
	struct actions *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	if (!a)
		return YM_E_NOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = a;
	return 0;
}

void actions_free(struct actions *a)
{
	if (!a)
		return;
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void actions_waiter_add(struct actions *a, struct actions_waiter *w, const char *agent_id)
{
	util_strlcpy(w->agent_id, agent_id, sizeof(w->agent_id));
	w->woken = 0;
	pthread_mutex_lock(&a->lock);
	w->next = a->waiters;
	a->waiters = w;
	pthread_mutex_unlock(&a->lock);
}

void actions_waiter_remove(struct actions *a, struct actions_waiter *w)
{
	pthread_mutex_lock(&a->lock);
	for (struct actions_waiter **pp = &a->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
}

void actions_waiter_arm(struct actions *a, struct actions_waiter *w)
{
	pthread_mutex_lock(&a->lock);
	w->woken = 0;
	pthread_mutex_unlock(&a->lock);
}

int actions_waiter_wait(struct actions *a, struct actions_waiter *w, uint64_t deadline_ns)
{
	struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
			      (long)(deadline_ns % 1000000000ull)};
	int woken;

	pthread_mutex_lock(&a->lock);
	while (!w->woken && !a->stopping && util_mono_ns() < deadline_ns) {
		/* ETIMEDOUT is checked through the clock on the next turn */
		pthread_cond_timedwait(&a->cond, &a->lock, &ts);
	}
	woken = w->woken;
	pthread_mutex_unlock(&a->lock);
	return woken;
}

void actions_notify(struct actions *a, const char *agent_id)
{
	int any = 0;

	pthread_mutex_lock(&a->lock);
	for (struct actions_waiter *w = a->waiters; w; w = w->next) {
		if (strcmp(w->agent_id, agent_id) == 0) {
			w->woken = 1;
			any = 1;
		}
	}
	if (any)
		pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void actions_shutdown(struct actions *a)
{
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

int actions_kill(struct server *srv, struct store_scope sc, const char *actor,
		 const struct actions_kill *k, struct store_action *out)
{
	struct store_agent ag;
	struct store_action act;
	struct command c;
	struct buf signed_cmd;
	uint8_t nonce[16];
	uint64_t now_s = util_now_ns() / 1000000000ull;
	int r;

	buf_init(&signed_cmd, COMMAND_MAX_WIRE);
	if (k->pid <= 0 || k->pid > INT32_MAX) {
		r = YM_E_INVAL;
		goto out;
	}
	r = store_agent_get(srv->store, sc, k->agent_id, &ag);
	if (r)
		goto out;
	if (ag.revoked) {
		r = YM_E_NOTFOUND;
		goto out;
	}
	memset(&act, 0, sizeof(act));
	if (k->have_start_time)
		act.start_time = k->start_time;
	else if ((r = store_event_start_time(srv->store, sc, ag.id, k->pid, &act.start_time)))
		goto out;
	if (util_uuid(act.id) || util_random(nonce, sizeof(nonce))) {
		r = YM_E_IO;
		goto out;
	}
	util_hex(nonce, sizeof(nonce), act.nonce);
	util_strlcpy(act.tenant_id, ag.tenant_id, sizeof(act.tenant_id));
	util_strlcpy(act.agent_id, ag.id, sizeof(act.agent_id));
	util_strlcpy(act.type, "kill", sizeof(act.type));
	util_strlcpy(act.requested_by, actor, sizeof(act.requested_by));
	util_strlcpy(act.status, "queued", sizeof(act.status));
	act.pid = k->pid;
	act.requested_ns = util_now_ns();
	act.expires_s = now_s + ACTIONS_TTL_S;

	memset(&c, 0, sizeof(c));
	util_strlcpy(c.id, act.id, sizeof(c.id));
	util_strlcpy(c.agent_id, act.agent_id, sizeof(c.agent_id));
	util_strlcpy(c.action, act.type, sizeof(c.action));
	util_strlcpy(c.nonce, act.nonce, sizeof(c.nonce));
	c.pid = act.pid;
	c.start_time = act.start_time;
	c.issued_s = now_s;
	c.expires_s = act.expires_s;
	r = command_sign(&c, srv->keys.response_key, srv->keys.response_key_len, &signed_cmd);
	if (r)
		goto out;
	r = store_action_add(srv->store, sc, &act, (const char *)signed_cmd.data);
	if (r)
		goto out;
	/* the action exists now: a failed audit write is logged, not undone */
	audit_record(srv->store, actor, act.tenant_id, "action.requested", act.id,
		     "kill pid=%lld start_time=%llu agent=%s host=%s", (long long)act.pid,
		     (unsigned long long)act.start_time, ag.id, ag.hostname);
	actions_notify(srv->actions, act.agent_id);
	*out = act;
out:
	buf_free(&signed_cmd);
	return r;
}
