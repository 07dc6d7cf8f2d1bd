#include "http.h"
#include "dlsyms.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http {
	CURL *c;
	char base[512];
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	/* PEM blobs (owned), used instead of the files when set */
	struct curl_blob ca_blob, cert_blob, key_blob;
	const atomic_int *stop;
	struct buf *resp;
	int toobig;
	char err[CURL_ERROR_SIZE];
};

/* libcurl is opened at run time, not linked. Only the uplink process and
 * one-shot enrolment speak HTTPS; linked, libcurl and its ~30 dependencies
 * (TLS, Kerberos, LDAP, SSH, RTMP...) were mapped and initialised in the
 * root agent too, 3.9 MB of its RSS (docs/internals/agent.md, "Measured").
 * The pointers keep the library's own prototypes (__typeof__), so a
 * mismatch does not compile. */
#define HTTP_CURL_SONAME "libcurl.so.4"

static struct {
	__typeof__(&curl_global_init) global_init;
	__typeof__(&curl_easy_init) easy_init;
	__typeof__(&curl_easy_cleanup) easy_cleanup;
	__typeof__(&curl_easy_reset) easy_reset;
	__typeof__(&curl_easy_setopt) easy_setopt;
	__typeof__(&curl_easy_perform) easy_perform;
	__typeof__(&curl_easy_getinfo) easy_getinfo;
	__typeof__(&curl_easy_strerror) easy_strerror;
	__typeof__(&curl_slist_append) slist_append;
	__typeof__(&curl_slist_free_all) slist_free_all;
	int ok;
} hc;
static pthread_once_t hc_once = PTHREAD_ONCE_INIT;

/* a field of hc and the function's name */
#define HC_WANT(field, name)                                                                       \
	{                                                                                          \
		(void **)&hc.field, name                                                           \
	}

static void http_load(void)
{
	const struct dlsym_want want[] = {
	    HC_WANT(global_init, "curl_global_init"),
	    HC_WANT(easy_init, "curl_easy_init"),
	    HC_WANT(easy_cleanup, "curl_easy_cleanup"),
	    HC_WANT(easy_reset, "curl_easy_reset"),
	    HC_WANT(easy_setopt, "curl_easy_setopt"),
	    HC_WANT(easy_perform, "curl_easy_perform"),
	    HC_WANT(easy_getinfo, "curl_easy_getinfo"),
	    HC_WANT(easy_strerror, "curl_easy_strerror"),
	    HC_WANT(slist_append, "curl_slist_append"),
	    HC_WANT(slist_free_all, "curl_slist_free_all"),
	};
	char why[256];

	if (dlsyms_load(HTTP_CURL_SONAME, want, sizeof(want) / sizeof(want[0]), why, sizeof(why)) !=
	    0) {
		LOG_E("http", "E3016", "%s", why); /* hc.ok stays 0: nothing of it is called */
		return;
	}
	if (hc.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		hc.ok = 1;
}

int http_global_init(void)
{
	pthread_once(&hc_once, http_load);
	return hc.ok ? 0 : YM_E_NET;
}

static size_t http_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http *h = arg;
	size_t n = size * nmemb;

	if (buf_put(h->resp, p, n)) {
		h->toobig = 1;
		return 0; /* makes curl fail the transfer */
	}
	return n;
}

static int http_progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct http *h = arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return h->stop && atomic_load(h->stop) ? 1 : 0;
}

static int http_blob(struct curl_blob *dst, const void *p, size_t n)
{
	if (!p || n == 0)
		return 0;
	dst->data = malloc(n);
	if (!dst->data)
		return YM_E_NOMEM;
	memcpy(dst->data, p, n);
	dst->len = n;
	dst->flags = CURL_BLOB_NOCOPY; /* lives as long as the handle */
	return 0;
}

static void http_blob_free(struct curl_blob *b)
{
	if (b->data)
		explicit_bzero(b->data, b->len);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int http_new(const char *base_url, const struct http_tls *tls, const atomic_int *stop,
	     struct http **out)
{
	struct http *h = NULL;
	size_t n;
	int r = YM_E_INVAL;
	int have_ca, have_cert, have_key;

	if (!base_url || strncmp(base_url, "https://", 8) != 0 || !tls)
		goto out;
	have_ca = tls->ca_file || (tls->ca_pem && tls->ca_len);
	have_cert = tls->cert_file || (tls->cert_pem && tls->cert_len);
	have_key = tls->key_file || (tls->key_pem && tls->key_len);
	if (!have_ca || have_cert != have_key)
		goto out;
	r = YM_E_NOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		goto out;
	r = YM_E_INVAL;
	if (util_strlcpy(h->base, base_url, sizeof(h->base)) ||
	    (tls->ca_file && util_strlcpy(h->ca, tls->ca_file, sizeof(h->ca))) ||
	    (tls->cert_file && util_strlcpy(h->cert, tls->cert_file, sizeof(h->cert))) ||
	    (tls->key_file && util_strlcpy(h->key, tls->key_file, sizeof(h->key))))
		goto out;
	r = YM_E_NOMEM;
	if (http_blob(&h->ca_blob, tls->ca_pem, tls->ca_len) ||
	    http_blob(&h->cert_blob, tls->cert_pem, tls->cert_len) ||
	    http_blob(&h->key_blob, tls->key_pem, tls->key_len))
		goto out;
	r = YM_E_INVAL;
	n = strlen(h->base);
	while (n > 8 && h->base[n - 1] == '/')
		h->base[--n] = 0;
	r = YM_E_NET;
	if (http_global_init())
		goto out;
	r = YM_E_NOMEM;
	h->c = hc.easy_init();
	if (!h->c)
		goto out;
	h->stop = stop;
	*out = h;
	h = NULL;
	r = 0;
out:
	http_free(h);
	return r;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	if (h->c)
		hc.easy_cleanup(h->c);
	http_blob_free(&h->ca_blob);
	http_blob_free(&h->cert_blob);
	http_blob_free(&h->key_blob);
	free(h);
}

int http_request(struct http *h, const char *method, const char *path, const char *ctype,
		 const void *body, size_t n, long timeout_s, long *status, struct buf *resp)
{
	char url[1024], ct[128];
	struct curl_slist *hdrs = NULL, *t;
	CURLcode cc;
	long code = 0;
	int r = YM_E_INVAL;

	if (snprintf(url, sizeof(url), "%s%s", h->base, path) >= (int)sizeof(url))
		goto out;
	r = YM_E_NOMEM;
	t = hc.slist_append(hdrs, "Expect:");
	if (!t)
		goto out;
	hdrs = t;
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		t = hc.slist_append(hdrs, ct);
		if (!t)
			goto out;
		hdrs = t;
	}
	hc.easy_reset(h->c);
	h->resp = resp;
	h->toobig = 0;
	h->err[0] = 0;
	hc.easy_setopt(h->c, CURLOPT_URL, url);
	hc.easy_setopt(h->c, CURLOPT_PROTOCOLS_STR, "https");
	hc.easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
	hc.easy_setopt(h->c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	hc.easy_setopt(h->c, CURLOPT_SSL_VERIFYPEER, 1L);
	hc.easy_setopt(h->c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_blob.data) {
		/* no CA file or folder at all: only the blob is trusted */
		hc.easy_setopt(h->c, CURLOPT_CAINFO, NULL);
		hc.easy_setopt(h->c, CURLOPT_CAINFO_BLOB, &h->ca_blob);
	} else {
		hc.easy_setopt(h->c, CURLOPT_CAINFO, h->ca);
	}
	hc.easy_setopt(h->c, CURLOPT_CAPATH, NULL);
	if (h->cert_blob.data) {
		hc.easy_setopt(h->c, CURLOPT_SSLCERT_BLOB, &h->cert_blob);
		hc.easy_setopt(h->c, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (h->cert[0]) {
		hc.easy_setopt(h->c, CURLOPT_SSLCERT, h->cert);
		hc.easy_setopt(h->c, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (h->key_blob.data) {
		hc.easy_setopt(h->c, CURLOPT_SSLKEY_BLOB, &h->key_blob);
		hc.easy_setopt(h->c, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (h->key[0]) {
		hc.easy_setopt(h->c, CURLOPT_SSLKEY, h->key);
		hc.easy_setopt(h->c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	hc.easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT, 10L);
	hc.easy_setopt(h->c, CURLOPT_TIMEOUT, timeout_s);
	hc.easy_setopt(h->c, CURLOPT_HTTPHEADER, hdrs);
	hc.easy_setopt(h->c, CURLOPT_USERAGENT, "yamori-agent/" YM_VERSION);
	hc.easy_setopt(h->c, CURLOPT_WRITEFUNCTION, http_write_cb);
	hc.easy_setopt(h->c, CURLOPT_WRITEDATA, h);
	hc.easy_setopt(h->c, CURLOPT_NOPROGRESS, 0L);
	hc.easy_setopt(h->c, CURLOPT_XFERINFOFUNCTION, http_progress_cb);
	hc.easy_setopt(h->c, CURLOPT_XFERINFODATA, h);
	hc.easy_setopt(h->c, CURLOPT_ERRORBUFFER, h->err);
	hc.easy_setopt(h->c, CURLOPT_FOLLOWLOCATION, 0L);
	if (strcmp(method, "POST") == 0) {
		hc.easy_setopt(h->c, CURLOPT_POST, 1L);
		hc.easy_setopt(h->c, CURLOPT_POSTFIELDS, body ? body : "");
		hc.easy_setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	} else {
		hc.easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
	}
	cc = hc.easy_perform(h->c);
	if (cc != CURLE_OK) {
		if (!h->err[0])
			util_strlcpy(h->err, hc.easy_strerror(cc), sizeof(h->err));
		r = h->toobig ? YM_E_TOOBIG : YM_E_NET;
		LOG_D("http", "%s %s: %s", method, path, h->err);
		goto out;
	}
	hc.easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &code);
	*status = code;
	r = 0;
out:
	hc.slist_free_all(hdrs);
	return r;
}

const char *http_last_error(const struct http *h)
{
	return h->err;
}
