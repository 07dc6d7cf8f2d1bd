/* Unit tests of yamori-server's PKI (CA, server certificate, CSR signing)
 * and strict JSON input checks, against real OpenSSL objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "err.h"
#include "jsonin.h"
#include "pki.h"

struct fx {
	char *ca_key, *ca_crt;
	struct pki_ca *ca;
	X509 *ca_x509;
};

static X509 *pem_x509(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(pki_ca_create(&f->ca_key, &f->ca_crt), 0);
	assert_int_equal(
	    pki_ca_load(f->ca_key, strlen(f->ca_key), f->ca_crt, strlen(f->ca_crt), &f->ca), 0);
	f->ca_x509 = pem_x509(f->ca_crt);
	assert_non_null(f->ca_x509);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	pki_ca_free(f->ca);
	X509_free(f->ca_x509);
	free(f->ca_key);
	free(f->ca_crt);
	free(f);
	return 0;
}

/* A PEM CSR for a new key of the given algorithm ("EC" P-256 or "RSA"). */
static char *make_csr(const char *alg, int corrupt)
{
	EVP_PKEY *k = strcmp(alg, "RSA") == 0 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *out;
	long len;

	assert_non_null(k);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"evil", -1, -1, 0);
	X509_REQ_set_subject_name(req, n);
	X509_REQ_set_pubkey(req, k);
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	if (corrupt) {
		/* flip one bit of the signature: the self-signature must then fail */
		const ASN1_BIT_STRING *sig;
		X509_REQ_get0_signature(req, &sig, NULL);
		((ASN1_BIT_STRING *)sig)->data[10] ^= 1;
	}
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	len = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)len);
	BIO_free(b);
	X509_NAME_free(n);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return out;
}

static void test_ca(void **state)
{
	struct fx *f = *state;
	X509_NAME *subj = X509_get_subject_name(f->ca_x509);
	char cn[128];

	assert_true(X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn)) > 0);
	assert_memory_equal(cn, "yamori CA ", 10);
	assert_int_equal(X509_check_ca(f->ca_x509), 1);
	assert_int_equal(X509_verify(f->ca_x509, X509_get0_pubkey(f->ca_x509)), 1);
	/* a key that does not match the certificate is refused */
	{
		char *k2, *c2;
		struct pki_ca *bad = NULL;
		assert_int_equal(pki_ca_create(&k2, &c2), 0);
		assert_int_equal(pki_ca_load(k2, strlen(k2), f->ca_crt, strlen(f->ca_crt), &bad),
				 YM_E_CRYPTO);
		assert_null(bad);
		free(k2);
		free(c2);
	}
}

static void test_server_cert(void **state)
{
	struct fx *f = *state;
	const char *sans[] = {"example.org", "10.1.2.3", "fd00::1"};
	const char *bad[] = {"a,DNS:evil.com"};
	char *key = NULL, *crt = NULL;
	X509 *x;

	assert_int_equal(pki_server_issue(f->ca, sans, 3, &key, &crt), 0);
	x = pem_x509(crt);
	assert_non_null(x);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(f->ca_x509)), 1);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "fd00::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "10.1.2.4", 0), 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	X509_free(x);
	free(key);
	free(crt);
	key = crt = NULL;
	/* SAN text cannot smuggle in a second name */
	assert_int_equal(pki_server_issue(f->ca, bad, 1, &key, &crt), YM_E_INVAL);
	assert_null(crt);
}

static void test_sign_csr(void **state)
{
	struct fx *f = *state;
	char *csr = make_csr("EC", 0), *crt = NULL, serial[PKI_SERIAL_HEX], cn[64], o[64];
	const char *agent = "5f80ccf4-57cc-4336-afb9-71307d813346";
	const char *tenant = "aed0e2c9-a418-48f9-b9cf-a893cc4d2f14";
	X509 *x;
	BIGNUM *bn;
	char *bnhex;

	assert_int_equal(pki_sign_csr(f->ca, csr, strlen(csr), agent, tenant, &crt, serial), 0);
	x = pem_x509(crt);
	assert_non_null(x);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(f->ca_x509)), 1);
	/* the subject is ours, not the CSR's "evil" */
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
					      sizeof(cn)) > 0);
	assert_string_equal(cn, agent);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, o,
					      sizeof(o)) > 0);
	assert_string_equal(o, tenant);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_false(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_check_ca(x), 0);
	/* serial: 128-bit positive, and the hex we store is the certificate's */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_int_equal(BN_num_bits(bn), 127);
	bnhex = BN_bn2hex(bn);
	for (char *p = bnhex; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
	assert_string_equal(bnhex, serial);
	/* valid about one year */
	{
		int days = 0, secs = 0;
		assert_int_equal(
		    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
		assert_true(days >= 365 && days <= 366);
	}
	OPENSSL_free(bnhex);
	BN_free(bn);
	X509_free(x);
	free(crt);
	free(csr);
}

static void test_sign_csr_refusals(void **state)
{
	struct fx *f = *state;
	char *bad_sig = make_csr("EC", 1), *rsa = make_csr("RSA", 0), *crt = NULL;
	char serial[PKI_SERIAL_HEX];
	const char *junk =
	    "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
	const char *id = "5f80ccf4-57cc-4336-afb9-71307d813346";

	assert_int_equal(pki_sign_csr(f->ca, bad_sig, strlen(bad_sig), id, id, &crt, serial),
			 YM_E_CRYPTO);
	assert_int_equal(pki_sign_csr(f->ca, rsa, strlen(rsa), id, id, &crt, serial),
			 YM_E_UNSUPPORTED);
	assert_int_equal(pki_sign_csr(f->ca, junk, strlen(junk), id, id, &crt, serial), YM_E_PARSE);
	assert_int_equal(pki_sign_csr(f->ca, "", 0, id, id, &crt, serial), YM_E_PARSE);
	assert_null(crt);
	free(bad_sig);
	free(rsa);
}

static void test_ed25519(void **state)
{
	char *key = NULL, pub[65], hex[65];
	uint8_t raw[COMMAND_PUBKEY_LEN], h[32];

	(void)state;
	assert_int_equal(pki_ed25519_create(&key, pub), 0);
	assert_int_equal(strlen(pub), 64);
	assert_int_equal(command_pubkey_from_pem(key, strlen(key), raw), 0);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	assert_string_equal(hex, pub);
	free(key);
	/* SHA-256("abc") */
	assert_int_equal(pki_sha256("abc", 3, h), 0);
	assert_int_equal(h[0], 0xba);
	assert_int_equal(h[31], 0xad);
}

static const struct jsonin_field spec[] = {
    {"name", JSONIN_STR, 1, 1, 8},
    {"n", JSONIN_INT, 0, 1, 100},
};

static int parse(const char *s, char *why)
{
	json_t *o = NULL;
	int r = jsonin_parse(s, strlen(s), spec, 2, &o, why, 128);
	if (r == 0) {
		assert_non_null(o);
		json_decref(o);
	} else {
		assert_null(o);
	}
	return r;
}

static void test_jsonin(void **state)
{
	char why[128];
	json_t *o = NULL;
	int64_t v;

	(void)state;
	assert_int_equal(parse("{\"name\":\"abc\",\"n\":5}", why), 0);
	assert_int_equal(parse("{\"name\":\"abc\"}", why), 0);
	assert_int_equal(parse("{\"n\":5}", why), YM_E_INVAL);
	assert_string_equal(why, "name: missing");
	assert_int_equal(parse("{\"name\":\"abc\",\"x\":1}", why), YM_E_INVAL);
	assert_string_equal(why, "unknown field");
	assert_int_equal(parse("{\"name\":\"abc\",\"name\":\"d\"}", why), YM_E_PARSE);
	assert_int_equal(parse("{\"name\":5}", why), YM_E_INVAL);
	assert_int_equal(parse("{\"name\":\"\"}", why), YM_E_INVAL);
	assert_int_equal(parse("{\"name\":\"123456789\"}", why), YM_E_INVAL);
	/* jansson refuses \u0000 unless asked to allow it */
	assert_int_equal(parse("{\"name\":\"a\\u0000b\"}", why), YM_E_PARSE);
	assert_int_equal(parse("{\"name\":\"a\",\"n\":101}", why), YM_E_INVAL);
	assert_int_equal(parse("{\"name\":\"a\",\"n\":1.5}", why), YM_E_INVAL);
	assert_int_equal(parse("{\"name\":\"a\",\"n\":\"5\"}", why), YM_E_INVAL);
	assert_int_equal(parse("[1]", why), YM_E_INVAL);
	assert_int_equal(parse("{\"name\":\"a\"} trailing", why), YM_E_PARSE);
	assert_int_equal(parse("", why), YM_E_PARSE);

	assert_int_equal(jsonin_parse("{\"name\":\"ab\",\"n\":7}", 19, spec, 2, &o, why, 128), 0);
	assert_string_equal(jsonin_str(o, "name"), "ab");
	assert_int_equal(jsonin_int(o, "n", &v), 1);
	assert_int_equal(v, 7);
	assert_null(jsonin_str(o, "missing"));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ca, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server_cert, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sign_csr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sign_csr_refusals, setup, teardown),
	    cmocka_unit_test(test_ed25519),
	    cmocka_unit_test(test_jsonin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
