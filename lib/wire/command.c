/* command: strict verification of response commands (docs/protocol.md,
 * "Commands"; signing: command_sign.c). The signature covers the exact
 * payload bytes; nothing inside the payload is looked at before it
 * verifies. */
#include "command.h"
#include "err.h"
#include "util.h"

#include <jansson.h>
#include <nettle/eddsa.h>
#include <stdlib.h>
#include <string.h>

int command_nonce_ok(const char *s, size_t len)
{
	if (len != COMMAND_NONCE_HEX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* Copies the string member key of o into dst (size dstsz). The value must be
 * a non-empty string that fits. Returns 0 or YM_E_PARSE. */
static int command_get_str(json_t *o, const char *key, char *dst, size_t dstsz)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v))
		return YM_E_PARSE;
	n = json_string_length(v);
	if (n == 0 || n >= dstsz || memchr(json_string_value(v), 0, n))
		return YM_E_PARSE;
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

static int command_get_int(json_t *o, const char *key, int64_t min, int64_t *dst)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return YM_E_PARSE;
	*dst = json_integer_value(v);
	return 0;
}

/* Parses a verified payload. Every field is required, typed, and no other
 * field may appear: a payload is what command_sign made, nothing else. */
static int command_parse_payload(const char *p, size_t n, struct command *out)
{
	static const char *const known[] = {"id",	  "agent_id", "action", "pid",
					    "start_time", "nonce",    "issued", "expires"};
	struct command c;
	json_t *o = NULL;
	const char *key;
	json_t *val;
	int64_t st, is, ex;
	int r = YM_E_PARSE;

	memset(&c, 0, sizeof(c));
	o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		goto out;
	json_object_foreach(o, key, val)
	{
		size_t i;
		(void)val;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			goto out;
	}
	if (command_get_str(o, "id", c.id, sizeof(c.id)) ||
	    command_get_str(o, "agent_id", c.agent_id, sizeof(c.agent_id)) ||
	    command_get_str(o, "action", c.action, sizeof(c.action)) ||
	    command_get_str(o, "nonce", c.nonce, sizeof(c.nonce)) ||
	    !command_nonce_ok(c.nonce, strlen(c.nonce)) ||
	    command_get_int(o, "pid", INT64_MIN, &c.pid) ||
	    command_get_int(o, "start_time", 0, &st) || command_get_int(o, "issued", 0, &is) ||
	    command_get_int(o, "expires", 0, &ex))
		goto out;
	c.start_time = (uint64_t)st;
	c.issued_s = (uint64_t)is;
	c.expires_s = (uint64_t)ex;
	*out = c;
	r = 0;
out:
	json_decref(o);
	return r;
}

int command_verify(const char *json, size_t len, const uint8_t pubkey[COMMAND_PUBKEY_LEN],
		   struct command *out)
{
	json_t *w = NULL, *jp, *js;
	uint8_t sig[COMMAND_SIG_LEN];
	const char *payload;
	size_t plen;
	int r = YM_E_TOOBIG;

	if (!json || !pubkey || !out)
		return YM_E_PARSE;
	if (len > COMMAND_MAX_WIRE)
		goto out;
	r = YM_E_PARSE;
	w = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(w))
		goto out;
	jp = json_object_get(w, "payload");
	js = json_object_get(w, "sig");
	if (!json_is_string(jp) || json_object_size(w) > 2)
		goto out;
	payload = json_string_value(jp);
	plen = json_string_length(jp);
	r = YM_E_CRYPTO;
	if (!json_is_string(js) || json_string_length(js) != 2 * COMMAND_SIG_LEN ||
	    util_unhex(json_string_value(js), sig, COMMAND_SIG_LEN))
		goto out;
	/* nettle's Ed25519 (RFC 8032; S below the group order): the agent
	 * verifies without initialising OpenSSL's provider machinery (~2 MB
	 * of its RSS) */
	if (!ed25519_sha512_verify(pubkey, plen, (const uint8_t *)payload, sig))
		goto out;
	/* only now is the payload trusted enough to be parsed */
	r = command_parse_payload(payload, plen, out);
out:
	json_decref(w);
	return r;
}

int command_check(const struct command *c, const char *agent_id, uint64_t now_s)
{
	if (!c || !agent_id || strcmp(c->agent_id, agent_id) != 0)
		return YM_E_AUTH;
	if (c->expires_s <= now_s)
		return YM_E_EXPIRED;
	if (c->issued_s > now_s + 60 || c->expires_s < c->issued_s ||
	    c->expires_s - c->issued_s > COMMAND_MAX_TTL_S)
		return YM_E_INVAL;
	return 0;
}
