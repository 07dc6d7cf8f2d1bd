#include "cmdloop.h"
#include "buf.h"
#include "err.h"
#include "exec_kill.h"
#include "log.h"
#include "nonce.h"
#include "privsep.h"
#include "psframe.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct log_ratelimit cl_rl = LOG_RATELIMIT_INIT(10, 60);

static void cl_sleep(const atomic_int *stop, uint64_t ms)
{
	while (ms > 0 && !atomic_load(stop)) {
		uint64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* Reads the id of a command whose signature failed, only to report the
 * refusal under it: it must look like an id, nothing else is used. */
static int cl_untrusted_id(const char *json, size_t n, char id[40])
{
	json_t *w = NULL, *p = NULL, *v;
	const char *s;
	size_t len;
	int r = YM_E_PARSE;

	if (n > COMMAND_MAX_WIRE)
		goto out;
	w = json_loadb(json, n, 0, NULL);
	v = json_object_get(w, "payload");
	if (!json_is_string(v))
		goto out;
	p = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
	v = json_object_get(p, "id");
	if (!json_is_string(v))
		goto out;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > 39)
		goto out;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F') || s[i] == '-'))
			goto out;
	memcpy(id, s, len + 1);
	r = 0;
out:
	json_decref(p);
	json_decref(w);
	return r;
}

static void cl_refuse(struct cmd_result *res, const char *eid, const char *why)
{
	char id[64];

	res->status = "refused";
	snprintf(res->detail, sizeof(res->detail), "%s", why);
	log_escape(res->have_id ? res->id : "-", res->have_id ? strlen(res->id) : 1, id,
		   sizeof(id));
	if (log_ratelimit_ok(&cl_rl))
		LOG_E("command", eid, "refused command %s: %s", id, why);
}

static void cl_handle_taken(const struct cmdloop_cfg *cfg, const struct command *cp,
			    struct cmd_result *res);

void cmdloop_handle(const struct cmdloop_cfg *cfg, const char *json, size_t n, uint64_t now_s,
		    struct cmd_result *res)
{
	struct command c;
	int r;

	memset(res, 0, sizeof(*res));
	r = command_verify(json, n, cfg->pubkey, &c);
	if (r) {
		res->have_id = cl_untrusted_id(json, n, res->id) == 0;
		cl_refuse(res, "E3501",
			  r == YM_E_CRYPTO ? "forged signature (does not verify with the pinned "
					     "response key)"
					   : "malformed command");
		return;
	}
	util_strlcpy(res->id, c.id, sizeof(res->id));
	res->have_id = 1;
	r = command_check(&c, cfg->agent_id, now_s);
	if (r == YM_E_AUTH) {
		cl_refuse(res, "E3502", "wrong agent: command is addressed to another agent");
		return;
	}
	if (r == YM_E_EXPIRED) {
		cl_refuse(res, "E3503", "expired");
		return;
	}
	if (r) {
		cl_refuse(res, "E3504",
			  "invalid validity window (issued in the future or TTL too long)");
		return;
	}
	if (strcmp(c.action, "kill") != 0) {
		cl_refuse(res, "E3505", "unknown action");
		return;
	}
	r = nonce_use(cfg->ns, c.nonce, c.expires_s, now_s);
	if (r == YM_E_REPLAY && cfg->recent) {
		/* the same signed command again: answer with its result */
		for (size_t i = 0; i < CMDLOOP_MAX_PENDING; i++) {
			const struct cmd_result *old = &cfg->recent->e[i].res;
			if (old->have_id && strcmp(old->id, c.id) == 0 &&
			    strcmp(cfg->recent->e[i].nonce, c.nonce) == 0) {
				*res = *old;
				LOG_I("command",
				      "command %s delivered again: its result is sent again",
				      res->id);
				return;
			}
		}
	}
	if (r == YM_E_REPLAY) {
		cl_refuse(res, "E3506", "replayed nonce");
		return;
	}
	if (r == YM_E_TOOBIG) {
		cl_refuse(res, "E3507", "nonce store full: too many live commands");
		return;
	}
	if (r) {
		cl_refuse(res, "E3508", "cannot record nonce on disk");
		return;
	}
	cl_handle_taken(cfg, &c, res);
}

/* Runs a command whose nonce was just taken, and remembers its result. */
static void cl_handle_taken(const struct cmdloop_cfg *cfg, const struct command *cp,
			    struct cmd_result *res)
{
	const struct command c = *cp;
	char detail[200];
	int r;

	r = exec_kill(c.pid, c.start_time, EXEC_KILL_WAIT_MS, detail, sizeof(detail));
	snprintf(res->detail, sizeof(res->detail), "%s", detail);
	if (r == 0) {
		res->status = "done";
		LOG_I("command", "kill %s: %s", res->id, detail);
	} else if (r == YM_E_STALE) {
		cl_refuse(res, "E3509", detail);
	} else if (r == YM_E_INVAL) {
		cl_refuse(res, "E3510", detail);
	} else {
		res->status = "failed";
		LOG_W("command", "W3511", "kill %s failed: %s", res->id, detail);
	}
	if (cfg->recent) {
		size_t i = cfg->recent->next++ % CMDLOOP_MAX_PENDING;
		util_strlcpy(cfg->recent->e[i].nonce, c.nonce, sizeof(cfg->recent->e[i].nonce));
		cfg->recent->e[i].res = *res;
	}
}

char *cmdloop_result_json(const struct cmd_result *res)
{
	json_t *o;
	char *body;

	if (!res->have_id || !res->status)
		return NULL;
	o = json_pack("{s:s, s:s, s:s}", "id", res->id, "status", res->status, "detail",
		      res->detail);
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return body;
}

/* The uplink process of gen is gone or misbehaved: have it killed; the
 * next round starts a new one. */
static void cl_broken(const struct cmdloop_cfg *cfg, int *fd, uint64_t gen, const char *why)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	privsep_fail(cfg->ps, gen, why);
}

int cmdloop_run(const struct cmdloop_cfg *cfg_in)
{
	struct cmdloop_cfg cfgv = *cfg_in, *cfg = &cfgv;
	struct psframe_rd rd;
	int fd = -1;
	uint64_t gen = 0;

	if (!cfg->recent)
		cfg->recent = calloc(1, sizeof(*cfg->recent)); /* NULL: replays refused */
	psframe_rd_init(&rd, PSFRAME_FROM_CHILD);
	while (!atomic_load(cfg->stop)) {
		struct psframe f;
		struct cmd_result res;
		char *body;
		int r;

		if (fd < 0) {
			if (privsep_channel(cfg->ps, PRIVSEP_CMD, &fd, &gen)) {
				cl_sleep(cfg->stop, 100);
				continue;
			}
			psframe_rd_free(&rd);
		}
		r = psframe_recv(fd, &rd, -1, cfg->stop, &f);
		if (atomic_load(cfg->stop))
			break;
		if (r) {
			cl_broken(cfg, &fd, gen,
				  r == YM_E_TRUNCATED ? "command channel closed"
						      : "malformed frame on the command channel");
			continue;
		}
		if (f.type != PSF_COMMAND || f.len == 0) {
			LOG_E("command", "E3703",
			      "uplink process broke the command channel protocol: killed");
			cl_broken(cfg, &fd, gen, "protocol violation");
			continue;
		}
		cmdloop_handle(cfg, (const char *)f.payload, f.len, util_now_ns() / 1000000000ull,
			       &res);
		body = cmdloop_result_json(&res);
		r = psframe_send(fd, PSF_RESULT, body, body ? strlen(body) : 0, NULL, 0, 10000,
				 cfg->stop);
		free(body);
		if (r && !atomic_load(cfg->stop))
			cl_broken(cfg, &fd, gen, "did not take a result");
	}
	if (fd >= 0)
		close(fd);
	psframe_rd_free(&rd);
	if (!cfg_in->recent)
		free(cfg->recent);
	return 0;
}
