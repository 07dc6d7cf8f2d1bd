/* datadir.c: creates and reads the server's data folder. Idempotent: each
 * piece is made only when missing, so `init` can run on every start. */
#include "datadir.h"
#include "command.h"
#include "err.h"
#include "log.h"
#include "pki.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX (64u << 10)

int datadir_path(const char *dir, const char *name, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= outsz ? YM_E_TOOBIG : 0;
}

/* 1 if path exists, 0 if not, YM_E_IO when it cannot be told. */
static int file_exists(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : YM_E_IO;
}

static int write_text(const char *dir, const char *name, const char *text, unsigned mode)
{
	char p[DATADIR_PATH_MAX];
	int r = datadir_path(dir, name, p, sizeof(p));
	if (r)
		return r;
	r = util_write_file(p, text, strlen(text), mode);
	if (r)
		LOG_E("server", "E2401", "cannot write %s", p);
	return r;
}

static int read_text(const char *dir, const char *name, char **out, size_t *len)
{
	char p[DATADIR_PATH_MAX];
	int r = datadir_path(dir, name, p, sizeof(p));
	if (r)
		return r;
	r = util_read_file(p, PEM_MAX, out, len);
	if (r)
		LOG_E("server", "E2402", "cannot read %s: %s", p, ym_strerror(r));
	return r;
}

/* Which of a key/cert pair exist: 0 none, 1 both; a half pair is an error. */
static int pair_state(const char *dir, const char *a, const char *b, int *both)
{
	char pa[DATADIR_PATH_MAX], pb[DATADIR_PATH_MAX];
	int ea, eb;

	if (datadir_path(dir, a, pa, sizeof(pa)) || datadir_path(dir, b, pb, sizeof(pb)))
		return YM_E_TOOBIG;
	ea = file_exists(pa);
	eb = file_exists(pb);
	if (ea < 0 || eb < 0)
		return YM_E_IO;
	if (ea != eb) {
		LOG_E("server", "E2403", "%s exists but %s does not: restore it or remove both",
		      ea ? pa : pb, ea ? pb : pa);
		return YM_E_INVAL;
	}
	*both = ea;
	return 0;
}

static int init_ca(const char *dir)
{
	char *key = NULL, *crt = NULL;
	int r, both;

	r = pair_state(dir, "ca.key", "ca.crt", &both);
	if (r || both)
		return r;
	r = pki_ca_create(&key, &crt);
	if (r)
		goto out;
	/* certificate first: a crash in between leaves a half pair, which is refused */
	if ((r = write_text(dir, "ca.crt", crt, 0644)) ||
	    (r = write_text(dir, "ca.key", key, 0600)))
		goto out;
	LOG_I("server", "created CA in %s", dir);
out:
	free(key);
	free(crt);
	return r;
}

static int init_server_cert(const char *dir, const char *const *sans, size_t nsans)
{
	char *ck = NULL, *cc = NULL, *key = NULL, *crt = NULL;
	size_t ckl, ccl;
	struct pki_ca *ca = NULL;
	int r, both;

	r = pair_state(dir, "server.key", "server.crt", &both);
	if (r)
		return r;
	if (both) {
		if (nsans)
			LOG_W(
			    "server", "W2401",
			    "server.crt exists: --san ignored (remove server.key and server.crt to "
			    "reissue)");
		return 0;
	}
	if ((r = read_text(dir, "ca.key", &ck, &ckl)) || (r = read_text(dir, "ca.crt", &cc, &ccl)))
		goto out;
	r = pki_ca_load(ck, ckl, cc, ccl, &ca);
	if (r) {
		LOG_E("server", "E2404", "ca.key and ca.crt in %s do not load or do not match",
		      dir);
		goto out;
	}
	r = pki_server_issue(ca, sans, nsans, &key, &crt);
	if (r) {
		if (r == YM_E_INVAL)
			LOG_E("server", "E2405", "bad --san (IP address or DNS name expected)");
		goto out;
	}
	if ((r = write_text(dir, "server.crt", crt, 0644)) ||
	    (r = write_text(dir, "server.key", key, 0600)))
		goto out;
	LOG_I("server", "created server certificate in %s", dir);
out:
	pki_ca_free(ca);
	free(ck);
	free(cc);
	free(key);
	free(crt);
	return r;
}

static int init_response_key(const char *dir)
{
	char p[DATADIR_PATH_MAX], pub[66], *key = NULL;
	size_t klen;
	uint8_t raw[COMMAND_PUBKEY_LEN];
	int r, e;

	if ((r = datadir_path(dir, "response.key", p, sizeof(p))))
		return r;
	e = file_exists(p);
	if (e < 0)
		return YM_E_IO;
	if (!e) {
		r = pki_ed25519_create(&key, pub);
		if (r)
			goto out;
		if ((r = write_text(dir, "response.key", key, 0600)))
			goto out;
		LOG_I("server", "created response key in %s", dir);
	} else {
		if ((r = datadir_path(dir, "response.pub", p, sizeof(p))))
			goto out;
		e = file_exists(p);
		if (e != 0) {
			r = e < 0 ? YM_E_IO : 0;
			goto out;
		}
		if ((r = read_text(dir, "response.key", &key, &klen)))
			goto out;
		if ((r = command_pubkey_from_pem(key, klen, raw)))
			goto out;
		util_hex(raw, sizeof(raw), pub);
	}
	pub[64] = '\n';
	pub[65] = 0;
	r = write_text(dir, "response.pub", pub, 0644);
out:
	free(key);
	return r;
}

int datadir_init(const char *dir, const char *const *sans, size_t nsans)
{
	char p[DATADIR_PATH_MAX];
	struct store *st = NULL;
	struct stat sb;
	int r;

	if (strlen(dir) > DATADIR_PATH_MAX - 64)
		return YM_E_INVAL;
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || util_mkdirs(dir, 0700)) {
			LOG_E("server", "E2406", "cannot create data dir %s", dir);
			return YM_E_IO;
		}
		if (chmod(dir, 0700) != 0)
			return YM_E_IO;
	} else if (!S_ISDIR(sb.st_mode)) {
		LOG_E("server", "E2406", "data dir %s is not a folder", dir);
		return YM_E_IO;
	} else if (sb.st_mode & 077) {
		LOG_W("server", "W2402", "data dir %s is accessible to other users (mode %03o)",
		      dir, (unsigned)(sb.st_mode & 0777));
	}
	if ((r = init_ca(dir)) || (r = init_server_cert(dir, sans, nsans)) ||
	    (r = init_response_key(dir)))
		return r;
	if ((r = datadir_path(dir, "yamori.db", p, sizeof(p))))
		return r;
	r = store_open_sqlite(p, &st);
	store_close(st);
	return r;
}

int datadir_keys_load(const char *dir, struct datadir_keys *out)
{
	struct datadir_keys k;
	char *pubtxt = NULL;
	size_t publen;
	uint8_t raw[COMMAND_PUBKEY_LEN];
	int r;

	memset(&k, 0, sizeof(k));
	if ((r = read_text(dir, "ca.key", &k.ca_key, &k.ca_key_len)) ||
	    (r = read_text(dir, "ca.crt", &k.ca_crt, &k.ca_crt_len)) ||
	    (r = read_text(dir, "server.key", &k.server_key, &k.server_key_len)) ||
	    (r = read_text(dir, "server.crt", &k.server_crt, &k.server_crt_len)) ||
	    (r = read_text(dir, "response.key", &k.response_key, &k.response_key_len)) ||
	    (r = read_text(dir, "response.pub", &pubtxt, &publen)))
		goto out;
	r = command_pubkey_from_pem(k.response_key, k.response_key_len, raw);
	if (r) {
		LOG_E("server", "E2407", "response.key in %s is not an Ed25519 key", dir);
		goto out;
	}
	util_hex(raw, sizeof(raw), k.response_pub);
	if (publen < 64 || memcmp(pubtxt, k.response_pub, 64) != 0) {
		LOG_E("server", "E2408", "response.pub in %s does not match response.key", dir);
		r = YM_E_CRYPTO;
		goto out;
	}
	*out = k;
	memset(&k, 0, sizeof(k));
out:
	free(pubtxt);
	datadir_keys_free(&k);
	return r;
}

void datadir_keys_free(struct datadir_keys *k)
{
	/* private keys do not linger in freed heap memory */
	if (k->ca_key)
		explicit_bzero(k->ca_key, k->ca_key_len);
	if (k->server_key)
		explicit_bzero(k->server_key, k->server_key_len);
	if (k->response_key)
		explicit_bzero(k->response_key, k->response_key_len);
	free(k->ca_key);
	free(k->ca_crt);
	free(k->server_key);
	free(k->server_crt);
	free(k->response_key);
	memset(k, 0, sizeof(*k));
}
