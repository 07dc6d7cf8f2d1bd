/* pki: the deployment's X.509 material with OpenSSL 3's EVP API: the CA,
 * the server certificate, agent certificates from CSRs, the Ed25519
 * response key, SHA-256. All PEM text handed out is malloc'd (free() it).
 * Thread-safe: a loaded struct pki_ca is only read, so any number of
 * threads may sign with it at once. */
#ifndef YM_SERVER_PKI_H
#define YM_SERVER_PKI_H

#include <stddef.h>
#include <stdint.h>

#define PKI_CA_DAYS	3650
#define PKI_SERVER_DAYS 1825
#define PKI_AGENT_DAYS	365
#define PKI_SERIAL_HEX	68 /* hex of a serial number, incl. NUL */
#define PKI_MAX_SANS	32

struct pki_ca;

/* Creates a new CA: EC P-256 key, self-signed certificate valid
 * PKI_CA_DAYS, subject CN "yamori CA <16 hex>", CA:TRUE, keyCertSign.
 * Returns 0 and sets *key_pem (PKCS#8) and *crt_pem, YM_E_CRYPTO, YM_E_IO
 * (no randomness), YM_E_NOMEM. */
int pki_ca_create(char **key_pem, char **crt_pem);

/* Loads a CA from its PEM key and certificate (the key must match the
 * certificate). Returns 0 and sets *out (free with pki_ca_free),
 * YM_E_CRYPTO, YM_E_NOMEM. */
int pki_ca_load(const char *key_pem, size_t key_len, const char *crt_pem, size_t crt_len,
		struct pki_ca **out);
void pki_ca_free(struct pki_ca *ca);

/* Issues a server certificate (new EC P-256 key) for CN "localhost" with
 * SAN DNS:localhost, IP:127.0.0.1, IP:::1 plus each of sans (an IPv4/IPv6
 * address becomes an IP SAN, anything else must be a DNS name
 * [A-Za-z0-9.*-]{1,253}), EKU serverAuth, valid PKI_SERVER_DAYS. Returns 0
 * and sets *key_pem and *crt_pem, YM_E_INVAL (bad SAN, more than
 * PKI_MAX_SANS), YM_E_CRYPTO, YM_E_IO, YM_E_NOMEM. */
int pki_server_issue(const struct pki_ca *ca, const char *const *sans, size_t nsans, char **key_pem,
		     char **crt_pem);

/* Checks a CSR (PEM, at most 16 KiB): parses it, verifies its
 * self-signature, requires an EC P-256 key; then issues a client
 * certificate for that key with subject CN=agent_id, O=tenant_id (the
 * CSR's own subject and extensions are ignored), a random positive 127-bit
 * serial, EKU clientAuth, valid PKI_AGENT_DAYS. Returns 0, sets *crt_pem and
 * writes the serial as lowercase hex (no leading zero bytes) to serial;
 * YM_E_PARSE (not a CSR), YM_E_CRYPTO (bad signature), YM_E_UNSUPPORTED
 * (other key type), YM_E_TOOBIG, YM_E_IO, YM_E_NOMEM. */
int pki_sign_csr(const struct pki_ca *ca, const char *csr_pem, size_t csr_len, const char *agent_id,
		 const char *tenant_id, char **crt_pem, char serial[PKI_SERIAL_HEX]);

/* Creates an Ed25519 key pair: *key_pem (PKCS#8 PEM, malloc'd) and the raw
 * public key as 64 lowercase hex chars. Returns 0, YM_E_CRYPTO, YM_E_NOMEM. */
int pki_ed25519_create(char **key_pem, char pub_hex[65]);

/* SHA-256 of n bytes. Returns 0 or YM_E_CRYPTO. */
int pki_sha256(const void *p, size_t n, uint8_t out[32]);

#endif
