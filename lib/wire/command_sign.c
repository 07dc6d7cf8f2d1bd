/* command_sign: the signing side of response commands (docs/protocol.md,
 * "Commands"), with OpenSSL: the server signs, the CLI and tests too. Apart
 * from command.c so that the agent, which only verifies (nettle), does not
 * link OpenSSL's libcrypto: loading it costs ~1.4 MB of the agent's RSS. */
#include "command.h"
#include "err.h"
#include "util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

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
