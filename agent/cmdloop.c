#include "cmdloop.h"
#include "buf.h"
#include "err.h"
#include "exec_kill.h"
#include "http.h"
#include "log.h"
#include "nonce.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMDLOOP_RESP_MAX (1u << 20)

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

void cmdloop_handle(const struct cmdloop_cfg *cfg, const char *json, size_t n, uint64_t now_s,
		    struct cmd_result *res)
{
	struct command c;
	char detail[200];
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
}

/* Posts one result. Returns 0 (taken, or refused for good: do not retry)
 * or YM_E_NET (retry later). */
static int cl_post(const struct cmdloop_cfg *cfg, const struct cmd_result *res, struct buf *rb)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "id", res->id, "status", res->status, "detail",
			      res->detail);
	char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	long status = 0;
	int r = YM_E_NET;

	if (!body) {
		r = 0; /* out of memory: nothing sensible to retry with */
		goto out;
	}
	buf_reset(rb);
	if (http_request(cfg->h, "POST", "/agent/v1/results", "application/json", body,
			 strlen(body), 30, &status, rb))
		goto out;
	if (status >= 500)
		goto out;
	if (status != 200)
		LOG_W("command", "W3512", "server answered HTTP %ld to result of %s", status,
		      res->id);
	r = 0;
out:
	free(body);
	json_decref(o);
	return r;
}

int cmdloop_run(const struct cmdloop_cfg *cfg)
{
	struct cmd_result *pending = NULL;
	size_t npend = 0;
	struct buf rb;
	char path[64];
	uint64_t backoff = 1000;

	buf_init(&rb, CMDLOOP_RESP_MAX);
	pending = calloc(CMDLOOP_MAX_PENDING, sizeof(*pending));
	if (!pending) {
		LOG_E("command", "E3513", "out of memory: command loop not running");
		return 0;
	}
	snprintf(path, sizeof(path), "/agent/v1/commands?wait=%d", cfg->wait_s);
	while (!atomic_load(cfg->stop)) {
		json_t *o = NULL, *arr, *el;
		long status = 0;
		size_t i;
		int r;

		/* results first: the server re-sends a command until it has one */
		while (npend > 0 && cl_post(cfg, &pending[0], &rb) == 0) {
			memmove(&pending[0], &pending[1], (npend - 1) * sizeof(*pending));
			npend--;
		}
		buf_reset(&rb);
		r = http_request(cfg->h, "GET", path, NULL, NULL, 0, cfg->wait_s + 15, &status,
				 &rb);
		if (r || status != 200) {
			if (atomic_load(cfg->stop))
				break;
			if (log_ratelimit_ok(&cl_rl)) {
				if (r)
					LOG_W("command", "W3514", "command poll failed: %s",
					      http_last_error(cfg->h));
				else
					LOG_W("command", "W3514", "command poll answered HTTP %ld",
					      status);
			}
			cl_sleep(cfg->stop, backoff);
			backoff = backoff * 2 > 30000 ? 30000 : backoff * 2;
			continue;
		}
		backoff = 1000;
		o = json_loadb((const char *)rb.data, rb.len, 0, NULL);
		arr = json_object_get(o, "commands");
		if (!json_is_array(arr)) {
			LOG_W("command", "W3515", "malformed command poll answer");
			json_decref(o);
			cl_sleep(cfg->stop, 1000);
			continue;
		}
		json_array_foreach(arr, i, el)
		{
			char *wire = json_dumps(el, JSON_COMPACT);
			struct cmd_result res;

			if (!wire)
				continue;
			cmdloop_handle(cfg, wire, strlen(wire), util_now_ns() / 1000000000ull,
				       &res);
			free(wire);
			if (!res.have_id)
				continue;
			if (cl_post(cfg, &res, &rb) == 0)
				continue;
			if (npend == CMDLOOP_MAX_PENDING) {
				LOG_W("command", "W3516", "result queue full: result of %s lost",
				      pending[0].id);
				memmove(&pending[0], &pending[1], (npend - 1) * sizeof(*pending));
				npend--;
			}
			pending[npend++] = res;
		}
		json_decref(o);
	}
	free(pending);
	buf_free(&rb);
	return 0;
}
