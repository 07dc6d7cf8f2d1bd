#include "enrol.h"
#include "dlsyms.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENROL_MAX_RESP (256u << 10)

/* OpenSSL's libcrypto is opened at run time for enrolment, not linked: the
 * running agent verifies commands and hashes with nettle, and loading
 * libcrypto (its relocations, its constructors) cost the root agent ~1.4 MB
 * of RSS (docs/internals/agent.md). The uplink process loads it with
 * libcurl, for TLS. As in http.c, the pointers keep OpenSSL's prototypes. */
#define ENROL_CRYPTO_SONAME "libcrypto.so.3"

static struct {
	__typeof__(&EVP_PKEY_Q_keygen) pkey_q_keygen;
	__typeof__(&EVP_PKEY_free) pkey_free;
	__typeof__(&EVP_sha256) sha256;
	__typeof__(&X509_REQ_new) req_new;
	__typeof__(&X509_REQ_free) req_free;
	__typeof__(&X509_REQ_get_subject_name) req_get_subject_name;
	__typeof__(&X509_REQ_set_version) req_set_version;
	__typeof__(&X509_REQ_set_pubkey) req_set_pubkey;
	__typeof__(&X509_REQ_sign) req_sign;
	__typeof__(&X509_NAME_add_entry_by_txt) name_add_entry_by_txt;
	__typeof__(&X509_NAME_get_text_by_NID) name_get_text_by_nid;
	__typeof__(&X509_get_subject_name) get_subject_name;
	__typeof__(&X509_check_private_key) check_private_key;
	__typeof__(&X509_free) x509_free;
	__typeof__(&BIO_new) bio_new;
	__typeof__(&BIO_s_mem) bio_s_mem;
	__typeof__(&BIO_new_mem_buf) bio_new_mem_buf;
	__typeof__(&BIO_ctrl) bio_ctrl;
	__typeof__(&BIO_free) bio_free;
	__typeof__(&PEM_write_bio_PrivateKey) pem_write_privatekey;
	__typeof__(&PEM_write_bio_X509_REQ) pem_write_req;
	__typeof__(&PEM_read_bio_X509) pem_read_x509;
} ec;

/* a field of ec and the function's name */
#define EC_WANT(field, name)                                                                       \
	{                                                                                          \
		(void **)&ec.field, name                                                           \
	}

/* Loads libcrypto's functions into ec (once; enrolment runs once in its
 * process). Returns 0 or YM_E_CRYPTO, with why set. */
static int enrol_crypto_load(char *why, size_t whysz)
{
	const struct dlsym_want want[] = {
	    EC_WANT(pkey_q_keygen, "EVP_PKEY_Q_keygen"),
	    EC_WANT(pkey_free, "EVP_PKEY_free"),
	    EC_WANT(sha256, "EVP_sha256"),
	    EC_WANT(req_new, "X509_REQ_new"),
	    EC_WANT(req_free, "X509_REQ_free"),
	    EC_WANT(req_get_subject_name, "X509_REQ_get_subject_name"),
	    EC_WANT(req_set_version, "X509_REQ_set_version"),
	    EC_WANT(req_set_pubkey, "X509_REQ_set_pubkey"),
	    EC_WANT(req_sign, "X509_REQ_sign"),
	    EC_WANT(name_add_entry_by_txt, "X509_NAME_add_entry_by_txt"),
	    EC_WANT(name_get_text_by_nid, "X509_NAME_get_text_by_NID"),
	    EC_WANT(get_subject_name, "X509_get_subject_name"),
	    EC_WANT(check_private_key, "X509_check_private_key"),
	    EC_WANT(x509_free, "X509_free"),
	    EC_WANT(bio_new, "BIO_new"),
	    EC_WANT(bio_s_mem, "BIO_s_mem"),
	    EC_WANT(bio_new_mem_buf, "BIO_new_mem_buf"),
	    EC_WANT(bio_ctrl, "BIO_ctrl"),
	    EC_WANT(bio_free, "BIO_free"),
	    EC_WANT(pem_write_privatekey, "PEM_write_bio_PrivateKey"),
	    EC_WANT(pem_write_req, "PEM_write_bio_X509_REQ"),
	    EC_WANT(pem_read_x509, "PEM_read_bio_X509"),
	};

	if (ec.pem_read_x509)
		return 0; /* loaded */
	return dlsyms_load(ENROL_CRYPTO_SONAME, want, sizeof(want) / sizeof(want[0]), why, whysz) ==
		       0
		   ? 0
		   : YM_E_CRYPTO;
}

/* PEM text of a BIO as a malloc'd C string. */
static char *enrol_bio_str(BIO *bio)
{
	char *p, *s;
	long n = ec.bio_ctrl(bio, BIO_CTRL_INFO, 0, (char *)&p);

	if (n <= 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, (size_t)n);
	s[n] = 0;
	return s;
}

static int enrol_make_key(const char *hostname, EVP_PKEY **key, char **key_pem, char **csr_pem)
{
	EVP_PKEY *pk = NULL;
	X509_REQ *req = NULL;
	X509_NAME *nm;
	BIO *kb = NULL, *cb = NULL;
	int r = YM_E_CRYPTO;

	pk = ec.pkey_q_keygen(NULL, NULL, "EC", "P-256");
	req = ec.req_new();
	kb = ec.bio_new(ec.bio_s_mem());
	cb = ec.bio_new(ec.bio_s_mem());
	if (!pk || !req || !kb || !cb)
		goto out;
	nm = ec.req_get_subject_name(req);
	/* the server ignores the subject; the hostname is a courtesy when it fits
	 * a CN (64 bytes) */
	if (strlen(hostname) > 64)
		hostname = "yamori-agent";
	if (ec.req_set_version(req, 0) != 1 ||
	    ec.name_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)hostname, -1,
				     -1, 0) != 1 ||
	    ec.req_set_pubkey(req, pk) != 1 || ec.req_sign(req, pk, ec.sha256()) <= 0)
		goto out;
	if (ec.pem_write_privatekey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    ec.pem_write_req(cb, req) != 1)
		goto out;
	r = YM_E_NOMEM;
	*key_pem = enrol_bio_str(kb);
	*csr_pem = enrol_bio_str(cb);
	if (!*key_pem || !*csr_pem) {
		free(*key_pem);
		free(*csr_pem);
		goto out;
	}
	*key = pk;
	pk = NULL;
	r = 0;
out:
	ec.bio_free(kb);
	ec.bio_free(cb);
	ec.req_free(req);
	ec.pkey_free(pk);
	return r;
}

static int enrol_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 39)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F') || s[i] == '-'))
			return 0;
	return 1;
}

/* Checks the issued certificate: PEM, for our key, CN = agent id. */
static int enrol_check_cert(const char *pem, EVP_PKEY *pk, const char *agent_id)
{
	BIO *b = ec.bio_new_mem_buf(pem, -1);
	X509 *x = NULL;
	char cn[64];
	int r = YM_E_CRYPTO;

	if (!b)
		goto out;
	x = ec.pem_read_x509(b, NULL, NULL, NULL);
	if (!x || ec.check_private_key(x, pk) != 1)
		goto out;
	if (ec.name_get_text_by_nid(ec.get_subject_name(x), NID_commonName, cn, sizeof(cn)) <= 0 ||
	    strcmp(cn, agent_id) != 0)
		goto out;
	r = 0;
out:
	ec.x509_free(x);
	ec.bio_free(b);
	return r;
}

int enrol_run(const struct enrol_opts *o, struct agent_state *out, char *why, size_t whysz)
{
	struct agent_state *st = NULL;
	struct http *h = NULL;
	EVP_PKEY *pk = NULL;
	char *key_pem = NULL, *csr_pem = NULL, *body = NULL, *ca_pem = NULL;
	json_t *req = NULL, *resp = NULL, *v;
	struct buf rb;
	size_t calen;
	long status = 0;
	char host[256], esc[256];
	const char *cert_pem;
	int r = YM_E_INVAL;

	buf_init(&rb, ENROL_MAX_RESP);
	snprintf(why, whysz, "invalid options");
	if (!o->server || !o->token || !o->ca_file || !o->state_dir)
		goto out;
	if (o->hostname) {
		if (util_strlcpy(host, o->hostname, sizeof(host)) || !host[0])
			goto out;
	} else if (gethostname(host, sizeof(host)) < 0) {
		goto out;
	}
	host[sizeof(host) - 1] = 0;
	r = YM_E_NOMEM;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto out;
	r = YM_E_INVAL;
	if (util_strlcpy(st->dir, o->state_dir, sizeof(st->dir)) ||
	    util_strlcpy(st->server, o->server, sizeof(st->server)) ||
	    util_strlcpy(st->hostname, host, sizeof(st->hostname)) || state_paths(st))
		goto out;
	if (util_read_file(o->ca_file, 1 << 20, &ca_pem, &calen)) {
		snprintf(why, whysz, "cannot read CA file %s", o->ca_file);
		r = YM_E_IO;
		goto out;
	}
	r = enrol_crypto_load(why, whysz);
	if (r)
		goto out;
	r = enrol_make_key(host, &pk, &key_pem, &csr_pem);
	if (r) {
		snprintf(why, whysz, "cannot create key and CSR");
		goto out;
	}
	r = YM_E_NOMEM;
	req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "token", o->token, "hostname", host, "csr",
			csr_pem, "os", "linux", "agent_version", YM_VERSION);
	if (!req || !(body = json_dumps(req, JSON_COMPACT)))
		goto out;
	{
		struct http_tls tls = {.ca_file = o->ca_file};
		r = http_new(o->server, &tls, NULL, &h);
		if (r) {
			snprintf(why, whysz, "server must be an https:// URL");
			goto out;
		}
	}
	r = http_request(h, "POST", "/agent/v1/enrol", "application/json", body, strlen(body), 30,
			 &status, &rb);
	if (r) {
		snprintf(why, whysz, "cannot reach %s: %s", o->server, http_last_error(h));
		goto out;
	}
	resp = json_loadb((const char *)rb.data, rb.len, 0, NULL);
	if (status != 200) {
		v = json_object_get(resp, "error");
		log_escape(json_is_string(v) ? json_string_value(v) : "",
			   json_is_string(v) ? json_string_length(v) : 0, esc, sizeof(esc));
		snprintf(why, whysz, "server answered %ld: %s", status, esc);
		r = status == 401 || status == 403 ? YM_E_AUTH : YM_E_PARSE;
		goto out;
	}
	r = YM_E_PARSE;
	snprintf(why, whysz, "malformed enrolment answer");
	if (!json_is_object(resp))
		goto out;
	v = json_object_get(resp, "agent_id");
	if (!json_is_string(v) ||
	    util_strlcpy(st->agent_id, json_string_value(v), sizeof(st->agent_id)) ||
	    !enrol_id_ok(st->agent_id))
		goto out;
	v = json_object_get(resp, "tenant_id");
	if (!json_is_string(v) ||
	    util_strlcpy(st->tenant_id, json_string_value(v), sizeof(st->tenant_id)) ||
	    !enrol_id_ok(st->tenant_id))
		goto out;
	v = json_object_get(resp, "response_pubkey");
	if (!json_is_string(v) || json_string_length(v) != 2 * COMMAND_PUBKEY_LEN ||
	    util_unhex(json_string_value(v), st->response_pub, COMMAND_PUBKEY_LEN))
		goto out;
	v = json_object_get(resp, "cert");
	if (!json_is_string(v))
		goto out;
	cert_pem = json_string_value(v);
	r = enrol_check_cert(cert_pem, pk, st->agent_id);
	if (r) {
		snprintf(why, whysz, "issued certificate does not match our key or agent id");
		goto out;
	}
	/* ca.crt is the CA file the operator gave: it is what authenticated the
	 * server, and what will authenticate it from now on. */
	r = state_save(st, cert_pem, ca_pem, key_pem);
	if (r) {
		snprintf(why, whysz, "cannot write state directory %s", st->dir);
		goto out;
	}
	*out = *st;
	why[0] = 0;
	r = 0;
out:
	if (key_pem)
		explicit_bzero(key_pem, strlen(key_pem));
	free(key_pem);
	free(csr_pem);
	free(body);
	free(ca_pem);
	json_decref(req);
	json_decref(resp);
	buf_free(&rb);
	http_free(h);
	if (pk) /* else libcrypto may not be loaded */
		ec.pkey_free(pk);
	free(st);
	return r;
}
