/* datadir: the server's data folder (docs/internals/server.md, "Data dir").
 *
 *   ca.key ca.crt            EC P-256 CA (10 years)
 *   server.key server.crt    TLS server certificate signed by the CA
 *   response.key             Ed25519 key that signs response commands
 *   response.pub             its raw public key, 64 hex chars and a newline
 *   yamori.db                SQLite database (WAL)
 *
 * Keys are mode 0600, the folder 0700 when created here. Not thread-safe:
 * called at start-up and by the CLI subcommands. */
#ifndef YM_SERVER_DATADIR_H
#define YM_SERVER_DATADIR_H

#include <stddef.h>

#define DATADIR_PATH_MAX 4096

/* Creates whatever is missing in dir, never overwriting a file that
 * exists: the folder, the CA, the server certificate (with the extra SANs
 * given; ignored with a warning when the certificate already exists), the
 * response key pair, the database schema. A half pair (a key without its
 * certificate or the reverse) is an error, not something to repair.
 * Returns 0, YM_E_IO, YM_E_INVAL (half pair, bad SAN, path too long),
 * YM_E_CRYPTO, YM_E_DB, YM_E_NOMEM. */
int datadir_init(const char *dir, const char *const *sans, size_t nsans);

/* Joins dir and name into out. Returns 0 or YM_E_TOOBIG. */
int datadir_path(const char *dir, const char *name, char *out, size_t outsz);

/* The PEM material the server runs with, read from an initialised dir. */
struct datadir_keys {
	char *ca_key, *ca_crt, *server_key, *server_crt, *response_key; /* owned */
	size_t ca_key_len, ca_crt_len, server_key_len, server_crt_len, response_key_len;
	char response_pub[65]; /* derived from response.key */
};

/* Reads the keys; response_pub is derived from response.key (and must
 * match response.pub). Returns 0 and fills *out (free with datadir_keys_free),
 * YM_E_IO, YM_E_CRYPTO, YM_E_NOMEM. */
int datadir_keys_load(const char *dir, struct datadir_keys *out);
void datadir_keys_free(struct datadir_keys *k);

#endif
