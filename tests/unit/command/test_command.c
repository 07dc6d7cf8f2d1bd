/* unit_command: sign/verify roundtrip and every way a command must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "command.h"
#include "err.h"
#include "util.h"

#define NOW   1764120000ull
#define AGENT "6f1c1a9e-2f43-4f5e-9d3b-0a1b2c3d4e5f"

struct keys {
	char pem[2][512];
	size_t pemlen[2];
	uint8_t pub[2][COMMAND_PUBKEY_LEN];
};

static void make_key(struct keys *k, int i)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	assert_non_null(pk);
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0 && (size_t)n < sizeof(k->pem[i]));
	memcpy(k->pem[i], p, (size_t)n);
	k->pemlen[i] = (size_t)n;
	assert_int_equal(command_pubkey_from_pem(k->pem[i], k->pemlen[i], k->pub[i]), 0);
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));
	if (!k)
		return -1;
	make_key(k, 0);
	make_key(k, 1);
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void sample(struct command *c)
{
	memset(c, 0, sizeof(*c));
	util_strlcpy(c->id, "0d4f1e2a-3b5c-4d6e-8f70-8192a3b4c5d6", sizeof(c->id));
	util_strlcpy(c->agent_id, AGENT, sizeof(c->agent_id));
	util_strlcpy(c->action, "kill", sizeof(c->action));
	c->pid = 4242;
	c->start_time = 987654321;
	util_strlcpy(c->nonce, "00112233445566778899aabbccddeeff", sizeof(c->nonce));
	c->issued_s = NOW;
	c->expires_s = NOW + 300;
}

static void sign(struct keys *k, const struct command *c, struct buf *w)
{
	buf_init(w, COMMAND_MAX_WIRE);
	assert_int_equal(command_sign(c, k->pem[0], k->pemlen[0], w), 0);
}

static void test_roundtrip(void **state)
{
	struct keys *k = *state;
	struct command c, v;
	struct buf w;

	sample(&c);
	sign(k, &c, &w);
	memset(&v, 0x55, sizeof(v));
	assert_int_equal(command_verify((char *)w.data, w.len, k->pub[0], &v), 0);
	assert_string_equal(v.id, c.id);
	assert_string_equal(v.agent_id, c.agent_id);
	assert_string_equal(v.action, "kill");
	assert_string_equal(v.nonce, c.nonce);
	assert_int_equal(v.pid, 4242);
	assert_int_equal(v.start_time, 987654321);
	assert_int_equal(v.issued_s, NOW);
	assert_int_equal(v.expires_s, NOW + 300);
	assert_int_equal(command_check(&v, AGENT, NOW + 10), 0);
	buf_free(&w);
}

/* Replaces the payload string of a wire command by text, keeping the sig. */
static void replace_payload(struct buf *w, const char *text, struct buf *outw)
{
	json_t *o = json_loadb((char *)w->data, w->len, 0, NULL);
	char *s;
	assert_non_null(o);
	assert_int_equal(json_object_set_new(o, "payload", json_string(text)), 0);
	s = json_dumps(o, JSON_COMPACT);
	assert_non_null(s);
	buf_init(outw, 1 << 16);
	assert_int_equal(buf_put_str(outw, s), 0);
	free(s);
	json_decref(o);
}

static void test_altered_payload(void **state)
{
	struct keys *k = *state;
	struct command c, v;
	struct buf w, w2;
	json_t *o, *p;
	char *ptext;

	sample(&c);
	sign(k, &c, &w);
	o = json_loadb((char *)w.data, w.len, 0, NULL);
	assert_non_null(o);
	p = json_loads(json_string_value(json_object_get(o, "payload")), 0, NULL);
	assert_non_null(p);
	json_object_set_new(p, "pid", json_integer(1));
	ptext = json_dumps(p, JSON_COMPACT);
	replace_payload(&w, ptext, &w2);
	sample(&v);
	v.pid = 77;
	assert_int_equal(command_verify((char *)w2.data, w2.len, k->pub[0], &v), YM_E_CRYPTO);
	assert_int_equal(v.pid, 77); /* untouched on failure */
	buf_free(&w2);
	/* one extra space is a different byte string too */
	{
		char spaced[1024];
		snprintf(spaced, sizeof(spaced), "%s ",
			 json_string_value(json_object_get(o, "payload")));
		replace_payload(&w, spaced, &w2);
		assert_int_equal(command_verify((char *)w2.data, w2.len, k->pub[0], &v),
				 YM_E_CRYPTO);
		buf_free(&w2);
	}
	free(ptext);
	json_decref(p);
	json_decref(o);
	buf_free(&w);
}

static void test_forged_signature(void **state)
{
	struct keys *k = *state;
	struct command c, v;
	struct buf w;
	char *s;
	json_t *o;
	char sighex[129];

	sample(&c);
	/* signed by another key */
	buf_init(&w, COMMAND_MAX_WIRE);
	assert_int_equal(command_sign(&c, k->pem[1], k->pemlen[1], &w), 0);
	assert_int_equal(command_verify((char *)w.data, w.len, k->pub[0], &v), YM_E_CRYPTO);
	assert_int_equal(command_verify((char *)w.data, w.len, k->pub[1], &v), 0);
	buf_free(&w);

	/* one flipped bit in the signature */
	sign(k, &c, &w);
	o = json_loadb((char *)w.data, w.len, 0, NULL);
	util_strlcpy(sighex, json_string_value(json_object_get(o, "sig")), sizeof(sighex));
	sighex[5] = sighex[5] == '0' ? '1' : '0';
	json_object_set_new(o, "sig", json_string(sighex));
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(command_verify(s, strlen(s), k->pub[0], &v), YM_E_CRYPTO);
	free(s);

	/* the same signature with S + L (the group order): valid as a point
	 * equation, refused as not canonical (RFC 8032 5.1.7), or one signed
	 * command would have a second valid form */
	{
		static const uint8_t order[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
						  0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
						  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
						  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
		uint8_t sig[64];
		unsigned carry = 0;
		json_t *o2 = json_loadb((char *)w.data, w.len, 0, NULL);

		assert_non_null(o2);
		assert_int_equal(util_unhex(json_string_value(json_object_get(o2, "sig")), sig, 64),
				 0);
		json_decref(o2);
		for (int i = 0; i < 32; i++) {
			carry += (unsigned)sig[32 + i] + order[i];
			sig[32 + i] = (uint8_t)carry;
			carry >>= 8;
		}
		assert_int_equal(carry, 0); /* S < L < 2^253: no carry out */
		util_hex(sig, 64, sighex);
		json_object_set_new(o, "sig", json_string(sighex));
		s = json_dumps(o, JSON_COMPACT);
		assert_int_equal(command_verify(s, strlen(s), k->pub[0], &v), YM_E_CRYPTO);
		free(s);
	}

	/* truncated, missing and non-hex signatures */
	sighex[126] = 0;
	json_object_set_new(o, "sig", json_string(sighex));
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(command_verify(s, strlen(s), k->pub[0], &v), YM_E_CRYPTO);
	free(s);
	memset(sighex, 'z', 128);
	sighex[128] = 0;
	json_object_set_new(o, "sig", json_string(sighex));
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(command_verify(s, strlen(s), k->pub[0], &v), YM_E_CRYPTO);
	free(s);
	json_object_del(o, "sig");
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(command_verify(s, strlen(s), k->pub[0], &v), YM_E_CRYPTO);
	free(s);
	json_decref(o);
	buf_free(&w);
}

static void test_malformed(void **state)
{
	struct keys *k = *state;
	struct command v;
	static const char *bad[] = {"", "[]", "{", "{\"payload\":1,\"sig\":\"00\"}", "null"};
	char big[COMMAND_MAX_WIRE + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(command_verify(bad[i], strlen(bad[i]), k->pub[0], &v), YM_E_PARSE);
	memset(big, ' ', sizeof(big));
	assert_int_equal(command_verify(big, sizeof(big), k->pub[0], &v), YM_E_TOOBIG);
}

/* A payload signed correctly but with a missing or mistyped field. */
static void test_signed_bad_payload(void **state)
{
	struct keys *k = *state;
	static const char *payloads[] = {
	    "{\"id\":\"a\",\"agent_id\":\"b\",\"action\":\"kill\",\"pid\":1,\"start_time\":1,"
	    "\"nonce\":\"00112233445566778899aabbccddeeff\",\"issued\":1}",
	    "{\"id\":\"a\",\"agent_id\":\"b\",\"action\":\"kill\",\"pid\":\"1\",\"start_time\":1,"
	    "\"nonce\":\"00112233445566778899aabbccddeeff\",\"issued\":1,\"expires\":2}",
	    "{\"id\":\"a\",\"agent_id\":\"b\",\"action\":\"kill\",\"pid\":1,\"start_time\":-1,"
	    "\"nonce\":\"00112233445566778899aabbccddeeff\",\"issued\":1,\"expires\":2}",
	    "{\"id\":\"a\",\"agent_id\":\"b\",\"action\":\"kill\",\"pid\":1,\"start_time\":1,"
	    "\"nonce\":\"short\",\"issued\":1,\"expires\":2}",
	    "{\"id\":\"a\",\"agent_id\":\"b\",\"action\":\"kill\",\"pid\":1,\"start_time\":1,"
	    "\"nonce\":\"00112233445566778899aabbccddeeff\",\"issued\":1,\"expires\":2,\"x\":1}",
	    "{\"id\":\"a\",\"id\":\"c\",\"agent_id\":\"b\",\"action\":\"kill\",\"pid\":1,"
	    "\"start_time\":1,\"nonce\":\"00112233445566778899aabbccddeeff\",\"issued\":1,"
	    "\"expires\":2}",
	    "not json",
	};
	EVP_PKEY *pk;
	BIO *bio;

	bio = BIO_new_mem_buf(k->pem[0], (int)k->pemlen[0]);
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	assert_non_null(pk);
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		uint8_t sig[64];
		size_t siglen = sizeof(sig);
		char hex[129], *s;
		json_t *o;
		struct command v;

		assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const uint8_t *)payloads[i],
						strlen(payloads[i])),
				 1);
		util_hex(sig, 64, hex);
		o = json_pack("{s:s,s:s}", "payload", payloads[i], "sig", hex);
		s = json_dumps(o, JSON_COMPACT);
		assert_int_equal(command_verify(s, strlen(s), k->pub[0], &v), YM_E_PARSE);
		free(s);
		json_decref(o);
		EVP_MD_CTX_free(md);
	}
	EVP_PKEY_free(pk);
	BIO_free(bio);
}

static void test_other_agent(void **state)
{
	struct command c;
	(void)state;
	sample(&c);
	assert_int_equal(command_check(&c, "11111111-2f43-4f5e-9d3b-0a1b2c3d4e5f", NOW), YM_E_AUTH);
	assert_int_equal(command_check(&c, "", NOW), YM_E_AUTH);
	assert_int_equal(command_check(&c, AGENT, NOW), 0);
}

static void test_expired(void **state)
{
	struct command c;
	(void)state;
	sample(&c);
	assert_int_equal(command_check(&c, AGENT, NOW + 299), 0);
	assert_int_equal(command_check(&c, AGENT, NOW + 300), YM_E_EXPIRED);
	assert_int_equal(command_check(&c, AGENT, NOW + 100000), YM_E_EXPIRED);
	/* issued too far in the future (more than 60 s of skew) */
	assert_int_equal(command_check(&c, AGENT, NOW - 60), 0);
	assert_int_equal(command_check(&c, AGENT, NOW - 61), YM_E_INVAL);
}

static void test_ttl_too_long(void **state)
{
	struct command c;
	(void)state;
	sample(&c);
	c.expires_s = c.issued_s + COMMAND_MAX_TTL_S;
	assert_int_equal(command_check(&c, AGENT, NOW), 0);
	c.expires_s = c.issued_s + COMMAND_MAX_TTL_S + 1;
	assert_int_equal(command_check(&c, AGENT, NOW), YM_E_INVAL);
	c.issued_s = NOW + 10;
	c.expires_s = NOW + 5;
	assert_int_equal(command_check(&c, AGENT, NOW), YM_E_INVAL);
}

static void test_sign_rejects(void **state)
{
	struct keys *k = *state;
	struct command c;
	struct buf w;
	static const char ecpem[] =
	    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

	buf_init(&w, COMMAND_MAX_WIRE);
	sample(&c);
	c.nonce[0] = 0;
	assert_int_equal(command_sign(&c, k->pem[0], k->pemlen[0], &w), YM_E_INVAL);
	sample(&c);
	assert_int_equal(command_sign(&c, ecpem, sizeof(ecpem) - 1, &w), YM_E_CRYPTO);
	assert_int_equal(w.len, 0);
	buf_free(&w);
	buf_init(&w, 16); /* too small */
	assert_int_equal(command_sign(&c, k->pem[0], k->pemlen[0], &w), YM_E_TOOBIG);
	buf_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_altered_payload),
	    cmocka_unit_test(test_forged_signature),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_signed_bad_payload),
	    cmocka_unit_test(test_other_agent),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_ttl_too_long),
	    cmocka_unit_test(test_sign_rejects),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
