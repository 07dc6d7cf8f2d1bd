/* command: signing and strict verification of response commands
 * (docs/protocol.md, "Commands"). The signature covers the exact payload
 * bytes; nothing inside the payload is looked at before it verifies. */
#include "command.h"
#include "err.h"
#include "util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#define COMMAND_NONCE_HEX 32

/* Loads an Ed25519 private key from PEM. Returns 0 or YM_E_CRYPTO. */
static int command_load_key(const char *pem, size_t pemlen, EVP_PKEY **out)
{
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	int r = YM_E_CRYPTO;

	if (!pem || pemlen == 0 || pemlen > 65536)
		goto out;
	bio = BIO_new_mem_buf(pem, (int)pemlen);
	if (!bio)
		goto out;
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519)
		goto out;
	*out = pk;
	pk = NULL;
	r = 0;
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return r;
}

static int command_str_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	return n > 0 && n < max;
}

static int command_nonce_ok(const char *s, size_t len)
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

int command_sign(const struct command *c, const char *pem, size_t pemlen, struct buf *out)
{
	json_t *pl = NULL, *wire = NULL;
	char *payload = NULL, *text = NULL;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t sig[COMMAND_SIG_LEN];
	char sighex[2 * COMMAND_SIG_LEN + 1];
	size_t siglen = sizeof(sig), tlen;
	int r = YM_E_INVAL;

	if (!c || !out || !command_str_ok(c->id, sizeof(c->id)) ||
	    !command_str_ok(c->agent_id, sizeof(c->agent_id)) ||
	    !command_str_ok(c->action, sizeof(c->action)) ||
	    !command_nonce_ok(c->nonce, strnlen(c->nonce, sizeof(c->nonce))) ||
	    c->start_time > (uint64_t)INT64_MAX || c->issued_s > (uint64_t)INT64_MAX ||
	    c->expires_s > (uint64_t)INT64_MAX)
		goto out;
	r = command_load_key(pem, pemlen, &pk);
	if (r)
		goto out;
	r = YM_E_NOMEM;
	pl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I}", "id", c->id, "agent_id",
		       c->agent_id, "action", c->action, "pid", (json_int_t)c->pid, "start_time",
		       (json_int_t)c->start_time, "nonce", c->nonce, "issued",
		       (json_int_t)c->issued_s, "expires", (json_int_t)c->expires_s);
	if (!pl)
		goto out;
	payload = json_dumps(pl, JSON_COMPACT);
	if (!payload)
		goto out;
	md = EVP_MD_CTX_new();
	if (!md)
		goto out;
	r = YM_E_CRYPTO;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)payload, strlen(payload)) !=
		1 ||
	    siglen != COMMAND_SIG_LEN)
		goto out;
	util_hex(sig, siglen, sighex);
	r = YM_E_NOMEM;
	wire = json_pack("{s:s, s:s}", "payload", payload, "sig", sighex);
	if (!wire)
		goto out;
	text = json_dumps(wire, JSON_COMPACT);
	if (!text)
		goto out;
	tlen = strlen(text);
	if (tlen > COMMAND_MAX_WIRE) {
		r = YM_E_TOOBIG;
		goto out;
	}
	r = buf_put(out, text, tlen);
out:
	free(text);
	json_decref(wire);
	EVP_MD_CTX_free(md);
	free(payload);
	json_decref(pl);
	EVP_PKEY_free(pk);
	return r;
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
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
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
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pubkey, COMMAND_PUBKEY_LEN);
	md = EVP_MD_CTX_new();
	if (!pk || !md)
		goto out;
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestVerify(md, sig, sizeof(sig), (const unsigned char *)payload, plen) != 1)
		goto out;
	/* only now is the payload trusted enough to be parsed */
	r = command_parse_payload(payload, plen, out);
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
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

int command_pubkey_from_pem(const char *pem, size_t pemlen, uint8_t pubkey[COMMAND_PUBKEY_LEN])
{
	EVP_PKEY *pk = NULL;
	uint8_t raw[COMMAND_PUBKEY_LEN];
	size_t n = sizeof(raw);
	int r;

	r = command_load_key(pem, pemlen, &pk);
	if (r)
		goto out;
	r = YM_E_CRYPTO;
	if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || n != COMMAND_PUBKEY_LEN)
		goto out;
	memcpy(pubkey, raw, n);
	r = 0;
out:
	EVP_PKEY_free(pk);
	return r;
}
