/* pki.c: CA, server and agent certificates, Ed25519 response key (see
 * docs/internals/server.md, "PKI"). Only OpenSSL 3 EVP/X509 calls; SANs and
 * subjects are built as typed objects, never as config strings, so nothing
 * a caller passes can inject extra extension syntax. */
#include "pki.h"
#include "err.h"
#include "util.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSR_MAX (16u << 10)

struct pki_ca {
	EVP_PKEY *key;
	X509 *crt;
};

static int bio_to_str(BIO *bio, char **out)
{
	char *p = NULL, *s;
	long n = BIO_get_mem_data(bio, &p);

	if (n <= 0 || !p)
		return YM_E_CRYPTO;
	s = malloc((size_t)n + 1);
	if (!s)
		return YM_E_NOMEM;
	memcpy(s, p, (size_t)n);
	s[n] = 0;
	*out = s;
	return 0;
}

static int key_to_pem(EVP_PKEY *k, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r = YM_E_CRYPTO;

	if (!bio)
		return YM_E_NOMEM;
	if (PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	r = bio_to_str(bio, out);
out:
	BIO_free(bio);
	return r;
}

static int crt_to_pem(X509 *x, char **out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r = YM_E_CRYPTO;

	if (!bio)
		return YM_E_NOMEM;
	if (PEM_write_bio_X509(bio, x) != 1)
		goto out;
	r = bio_to_str(bio, out);
out:
	BIO_free(bio);
	return r;
}

/* A random positive serial of 127 bits (top bit clear, second bit set so
 * it always takes 16 bytes), set on x; its hex (lowercase) into hex. */
static int set_serial(X509 *x, char hex[PKI_SERIAL_HEX])
{
	uint8_t b[16];
	BIGNUM *bn = NULL;
	int r = YM_E_CRYPTO;

	if (util_random(b, sizeof(b)))
		return YM_E_IO;
	b[0] = (uint8_t)((b[0] & 0x3f) | 0x40);
	bn = BN_bin2bn(b, sizeof(b), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (hex)
		util_hex(b, sizeof(b), hex);
	r = 0;
out:
	BN_free(bn);
	return r;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (!e)
		return YM_E_CRYPTO;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1 ? 0 : YM_E_CRYPTO;
}

static int name_add(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1,
					  -1, 0) == 1
		   ? 0
		   : YM_E_CRYPTO;
}

/* A new certificate for pubkey with subject, validity (backdated 5 min for
 * clock skew) and serial; issuer taken from issuer (or itself). */
static int crt_new(EVP_PKEY *pubkey, X509_NAME *subject, X509 *issuer, unsigned days, X509 **out,
		   char serial[PKI_SERIAL_HEX])
{
	X509 *x = X509_new();
	int r = YM_E_CRYPTO;

	if (!x)
		return YM_E_NOMEM;
	if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subject) != 1 ||
	    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
	    X509_set_pubkey(x, pubkey) != 1 || !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL))
		goto out;
	r = set_serial(x, serial);
	if (r)
		goto out;
	*out = x;
	x = NULL;
out:
	X509_free(x);
	return r;
}

int pki_ca_create(char **key_pem, char **crt_pem)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	X509_NAME *n = NULL;
	char *kp = NULL, *cp = NULL, cn[64], hex[17];
	uint8_t rnd[8];
	int r = YM_E_CRYPTO;

	if (util_random(rnd, sizeof(rnd)))
		return YM_E_IO;
	util_hex(rnd, sizeof(rnd), hex);
	snprintf(cn, sizeof(cn), "yamori CA %s", hex);
	k = EVP_EC_gen("P-256");
	n = X509_NAME_new();
	if (!k || !n)
		goto out;
	if ((r = name_add(n, "CN", cn)))
		goto out;
	if ((r = crt_new(k, n, NULL, PKI_CA_DAYS, &x, NULL)))
		goto out;
	if ((r = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) ||
	    (r = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) ||
	    (r = add_ext(x, x, NID_subject_key_identifier, "hash")) ||
	    (r = add_ext(x, x, NID_authority_key_identifier, "keyid:always")))
		goto out;
	r = YM_E_CRYPTO;
	if (X509_sign(x, k, EVP_sha256()) <= 0)
		goto out;
	if ((r = key_to_pem(k, &kp)) || (r = crt_to_pem(x, &cp)))
		goto out;
	*key_pem = kp;
	*crt_pem = cp;
	kp = cp = NULL;
out:
	free(kp);
	free(cp);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

int pki_ca_load(const char *key_pem, size_t key_len, const char *crt_pem, size_t crt_len,
		struct pki_ca **out)
{
	struct pki_ca *ca = NULL;
	BIO *kb = NULL, *cb = NULL;
	int r = YM_E_CRYPTO;

	if (key_len > INT32_MAX || crt_len > INT32_MAX)
		return YM_E_TOOBIG;
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return YM_E_NOMEM;
	kb = BIO_new_mem_buf(key_pem, (int)key_len);
	cb = BIO_new_mem_buf(crt_pem, (int)crt_len);
	if (!kb || !cb)
		goto out;
	ca->key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	ca->crt = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (!ca->key || !ca->crt || X509_check_private_key(ca->crt, ca->key) != 1)
		goto out;
	*out = ca;
	ca = NULL;
	r = 0;
out:
	BIO_free(kb);
	BIO_free(cb);
	pki_ca_free(ca);
	return r;
}

void pki_ca_free(struct pki_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->crt);
	free(ca);
}

static int dns_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '*'))
			return 0;
	}
	return 1;
}

/* Appends one SAN: an IP when s parses as an address, else a DNS name. */
static int san_push(GENERAL_NAMES *gens, const char *s)
{
	GENERAL_NAME *g = NULL;
	ASN1_OCTET_STRING *ip = NULL;
	ASN1_IA5STRING *dns = NULL;
	unsigned char addr[16];
	int r = YM_E_CRYPTO, len = 0;

	if (inet_pton(AF_INET, s, addr) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, s, addr) == 1)
		len = 16;
	else if (!dns_name_ok(s))
		return YM_E_INVAL;
	g = GENERAL_NAME_new();
	if (!g)
		goto out;
	if (len) {
		ip = ASN1_OCTET_STRING_new();
		if (!ip || ASN1_OCTET_STRING_set(ip, addr, len) != 1)
			goto out;
		GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		ip = NULL;
	} else {
		dns = ASN1_IA5STRING_new();
		if (!dns || ASN1_STRING_set(dns, s, (int)strlen(s)) != 1)
			goto out;
		GENERAL_NAME_set0_value(g, GEN_DNS, dns);
		dns = NULL;
	}
	if (sk_GENERAL_NAME_push(gens, g) <= 0)
		goto out;
	g = NULL;
	r = 0;
out:
	ASN1_OCTET_STRING_free(ip);
	ASN1_IA5STRING_free(dns);
	GENERAL_NAME_free(g);
	return r;
}

int pki_server_issue(const struct pki_ca *ca, const char *const *sans, size_t nsans, char **key_pem,
		     char **crt_pem)
{
	static const char *const base[] = {"localhost", "127.0.0.1", "::1"};
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	X509_NAME *n = NULL;
	GENERAL_NAMES *gens = NULL;
	char *kp = NULL, *cp = NULL;
	int r = YM_E_CRYPTO;

	if (nsans > PKI_MAX_SANS)
		return YM_E_INVAL;
	gens = sk_GENERAL_NAME_new_null();
	n = X509_NAME_new();
	k = EVP_EC_gen("P-256");
	if (!gens || !n || !k)
		goto out;
	for (size_t i = 0; i < 3; i++) {
		if ((r = san_push(gens, base[i])))
			goto out;
	}
	for (size_t i = 0; i < nsans; i++) {
		if ((r = san_push(gens, sans[i])))
			goto out;
	}
	if ((r = name_add(n, "CN", "localhost")))
		goto out;
	if ((r = crt_new(k, n, ca->crt, PKI_SERVER_DAYS, &x, NULL)))
		goto out;
	if ((r = add_ext(x, ca->crt, NID_basic_constraints, "critical,CA:FALSE")) ||
	    (r = add_ext(x, ca->crt, NID_key_usage, "critical,digitalSignature")) ||
	    (r = add_ext(x, ca->crt, NID_ext_key_usage, "serverAuth")) ||
	    (r = add_ext(x, ca->crt, NID_subject_key_identifier, "hash")) ||
	    (r = add_ext(x, ca->crt, NID_authority_key_identifier, "keyid:always")))
		goto out;
	r = YM_E_CRYPTO;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		goto out;
	if (X509_sign(x, ca->key, EVP_sha256()) <= 0)
		goto out;
	if ((r = key_to_pem(k, &kp)) || (r = crt_to_pem(x, &cp)))
		goto out;
	*key_pem = kp;
	*crt_pem = cp;
	kp = cp = NULL;
out:
	free(kp);
	free(cp);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
	return r;
}

/* Only EC P-256 client keys: what the agent makes, and what both TLS
 * stacks handle everywhere. */
static int csr_key_ok(EVP_PKEY *pk)
{
	char group[64];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pk, "EC"))
		return 0;
	if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

int pki_sign_csr(const struct pki_ca *ca, const char *csr_pem, size_t csr_len, const char *agent_id,
		 const char *tenant_id, char **crt_pem, char serial[PKI_SERIAL_HEX])
{
	BIO *bio = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY *pk;
	X509_NAME *n = NULL;
	X509 *x = NULL;
	char *cp = NULL, ser[PKI_SERIAL_HEX];
	int r;

	if (csr_len == 0)
		return YM_E_PARSE;
	if (csr_len > CSR_MAX)
		return YM_E_TOOBIG;
	r = YM_E_NOMEM;
	bio = BIO_new_mem_buf(csr_pem, (int)csr_len);
	if (!bio)
		goto out;
	r = YM_E_PARSE;
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	if (!req)
		goto out;
	pk = X509_REQ_get0_pubkey(req);
	if (!pk)
		goto out;
	r = YM_E_CRYPTO;
	if (X509_REQ_verify(req, pk) != 1)
		goto out;
	r = YM_E_UNSUPPORTED;
	if (!csr_key_ok(pk))
		goto out;
	r = YM_E_NOMEM;
	n = X509_NAME_new();
	if (!n)
		goto out;
	if ((r = name_add(n, "CN", agent_id)) || (r = name_add(n, "O", tenant_id)))
		goto out;
	if ((r = crt_new(pk, n, ca->crt, PKI_AGENT_DAYS, &x, ser)))
		goto out;
	if ((r = add_ext(x, ca->crt, NID_basic_constraints, "critical,CA:FALSE")) ||
	    (r = add_ext(x, ca->crt, NID_key_usage, "critical,digitalSignature")) ||
	    (r = add_ext(x, ca->crt, NID_ext_key_usage, "clientAuth")) ||
	    (r = add_ext(x, ca->crt, NID_subject_key_identifier, "hash")) ||
	    (r = add_ext(x, ca->crt, NID_authority_key_identifier, "keyid:always")))
		goto out;
	r = YM_E_CRYPTO;
	if (X509_sign(x, ca->key, EVP_sha256()) <= 0)
		goto out;
	if ((r = crt_to_pem(x, &cp)))
		goto out;
	*crt_pem = cp;
	cp = NULL;
	memcpy(serial, ser, sizeof(ser));
out:
	free(cp);
	X509_free(x);
	X509_NAME_free(n);
	X509_REQ_free(req);
	BIO_free(bio);
	return r;
}

int pki_ed25519_create(char **key_pem, char pub_hex[65])
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t pub[32];
	size_t publen = sizeof(pub);
	char *kp = NULL;
	int r = YM_E_CRYPTO;

	if (!k)
		goto out;
	if (EVP_PKEY_get_raw_public_key(k, pub, &publen) != 1 || publen != sizeof(pub))
		goto out;
	if ((r = key_to_pem(k, &kp)))
		goto out;
	util_hex(pub, sizeof(pub), pub_hex);
	*key_pem = kp;
	kp = NULL;
out:
	free(kp);
	EVP_PKEY_free(k);
	return r;
}

int pki_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;
	return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : YM_E_CRYPTO;
}
