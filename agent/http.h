/* http: the agent's HTTPS client (libcurl) for the server's /agent/v1 API.
 * HTTPS only, TLS 1.2+, peer and host verified against the pinned CA file,
 * optionally with the agent's client certificate (mutual TLS). Responses are
 * capped. A transfer aborts within about a second once *stop becomes
 * non-zero. One struct http per thread: a handle is not thread-safe, but
 * separate handles are (call http_global_init once first). */
#ifndef YM_AGENT_HTTP_H
#define YM_AGENT_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"

struct http;

/* Either files (read by libcurl at each connection) or PEM blobs in memory
 * (copied by http_new; the uplink process has no file access to them). A
 * blob, when given, wins over the file of the same role. */
struct http_tls {
	const char *ca_file;   /* PEM CA bundle that must have signed the server */
	const char *cert_file; /* PEM client certificate, or NULL */
	const char *key_file;  /* PEM client key, or NULL */
	const void *ca_pem, *cert_pem, *key_pem;
	size_t ca_len, cert_len, key_len;
};

/* Loads libcurl (dlopen of libcurl.so.4, not linked: the root agent never
 * maps it) and initialises it; once per process, before any thread starts or
 * a seccomp filter is installed (later calls return the first result;
 * http_new calls it too). Returns 0 or YM_E_NET (E3016 logged). */
int http_global_init(void);

/* base_url: "https://host:port" (copied; a trailing '/' is dropped). tls
 * strings and blobs are copied (the key copy is wiped by http_free). stop is borrowed (may be
 * NULL). Returns 0, YM_E_INVAL (not https, too long), YM_E_NET (libcurl
 * could not be loaded: http_global_init) or YM_E_NOMEM. */
int http_new(const char *base_url, const struct http_tls *tls, const atomic_int *stop,
	     struct http **out);
void http_free(struct http *h);

/* Runs one request: method "GET" or "POST", path like "/agent/v1/events"
 * (appended to the base URL), body (n bytes, borrowed; ignored for GET) of
 * content type ctype. The response body is appended to resp (whose cap
 * bounds it). Returns 0 with *status set for any HTTP answer, YM_E_NET
 * (connection, TLS, timeout or abort; the reason is logged at debug level
 * and kept for http_last_error), YM_E_TOOBIG (response over resp's cap) or
 * YM_E_NOMEM. */
int http_request(struct http *h, const char *method, const char *path, const char *ctype,
		 const void *body, size_t n, long timeout_s, long *status, struct buf *resp);

/* The transport error text of the last failed request ("" if none). */
const char *http_last_error(const struct http *h);

#endif
