#include "apiclient.h"
#include "buf.h"
#include "err.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	if (buf_put(b, p, sz * n))
		return 0; /* over the cap: abort the transfer */
	return sz * n;
}

int apiclient_call(const struct apiclient *c, const char *method, const char *path, json_t *body,
		   long *status, json_t **out, char *err, size_t errsz)
{
	CURL *h = NULL;
	struct curl_slist *hdrs = NULL;
	struct buf resp, url, auth;
	char *payload = NULL;
	CURLcode cr;
	json_t *j = NULL;
	int r = YM_E_NET;

	buf_init(&resp, APICLIENT_MAX_RESPONSE);
	buf_init(&url, 4096);
	buf_init(&auth, 4096);
	if (buf_printf(&url, "%s%s", c->server, path)) {
		r = YM_E_INVAL;
		goto out;
	}
	h = curl_easy_init();
	if (!h) {
		r = YM_E_NOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, (char *)url.data);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : 30L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (c->token) {
		if (buf_printf(&auth, "Authorization: Bearer %s", c->token)) {
			r = YM_E_INVAL;
			goto out;
		}
		hdrs = curl_slist_append(hdrs, (char *)auth.data);
	}
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload) {
			r = YM_E_NOMEM;
			goto out;
		}
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	}
	if (!hdrs) {
		r = YM_E_NOMEM;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		if (cr == CURLE_WRITE_ERROR && resp.len + CURL_MAX_WRITE_SIZE > resp.cap) {
			snprintf(err, errsz, "response larger than %u bytes", APICLIENT_MAX_RESPONSE);
			r = YM_E_TOOBIG;
		} else {
			snprintf(err, errsz, "%s: %s", (char *)url.data, curl_easy_strerror(cr));
		}
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (resp.len > 0)
		j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
	*out = j;
	r = 0;
out:
	free(payload);
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	buf_free(&resp);
	buf_free(&url);
	buf_free(&auth);
	return r;
}
