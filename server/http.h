/* http: the HTTPS front of yamori-server on libmicrohttpd + GnuTLS
 * (docs/internals/server.md, "HTTP").
 *
 * One MHD daemon, a thread per connection (so a long poll may block its
 * own thread), a route table mapping method + path to a handler with the
 * authentication it needs (none, agent client certificate, API bearer
 * token) and its body cap. Bodies are accumulated in a struct buf capped
 * per route; over the cap the answer is 413. Every error answer is
 * {"error": "..."} and logs one rate-limited line with a stable id, the
 * peer address and the agent or token, escaped. */
#ifndef YM_SERVER_HTTP_H
#define YM_SERVER_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"

#define HTTP_JSON_MAX	    (64u << 10) /* JSON request bodies */
#define HTTP_BATCH_MAX	    (8u << 20)	/* event batches */
#define HTTP_CONN_LIMIT	    256
#define HTTP_CONN_TIMEOUT_S 60 /* idle; above the longest long poll (30 s) */

/* Stable ids of rejected requests (see docs/internals/server.md). */
#define HTTP_E_BATCH	"E2001" /* malformed batch */
#define HTTP_E_CERT	"E2002" /* bad, unknown or revoked client certificate */
#define HTTP_E_ENROL	"E2003" /* bad enrolment token */
#define HTTP_E_TOOBIG	"E2004" /* body over the route's cap */
#define HTTP_E_TOKEN	"E2005" /* bad API token */
#define HTTP_E_REQUEST	"E2006" /* malformed request: JSON, parameters */
#define HTTP_E_NOTFOUND "E2007" /* no such route or object */
#define HTTP_E_METHOD	"E2008" /* method not allowed */
#define HTTP_E_INTERNAL "E2009" /* database or internal failure */
#define HTTP_E_CSR	"E2010" /* CSR unreadable, bad signature or key type */
#define HTTP_E_CONFLICT "E2011" /* state conflict (result already recorded) */
#define HTTP_E_STOPPING "E2012" /* request after shutdown began */

struct server;
struct MHD_Connection;
struct http;

/* One request. Created by http.c when the headers are in, freed when the
 * response is done; handlers read it and set the response through
 * http_reply / http_fail. Never shared between threads. */
struct http_req {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *method, *url; /* borrowed from MHD for the request's life */
	char peer[64];		  /* client address, printable */
	struct buf body;	  /* complete request body when the handler runs */
	/* identity, set before the handler runs */
	struct store_scope scope;     /* whose data this request may touch */
	char actor[STORE_ACTOR_MAX];  /* "agent:<id>", "token:<name>" or "anonymous" */
	struct store_agent agent;     /* routes with agent authentication */
	struct store_api_token token; /* routes with token authentication */
	/* response */
	unsigned status;
	json_t *out;
	/* private to http.c */
	const struct http_route *route;
	uint64_t received;
	int too_big, queued;
};

/* The value of query parameter name, or NULL. Borrowed for the request. */
const char *http_query(struct http_req *r, const char *name);

/* Sets the response: status and a JSON body whose reference is taken over
 * (NULL turns into a 500: an allocation failed). */
void http_reply(struct http_req *r, unsigned status, json_t *body);

/* Sets an error response {"error": reason} (reason escaped to printable
 * ASCII) and logs "<id> <method> <path> peer=... who=...: reason" at WARN,
 * rate-limited per id. */
void http_fail(struct http_req *r, unsigned status, const char *id, const char *reason);

/* Maps a YM_E_* code of a store or action call to an error response: 404
 * for YM_E_NOTFOUND, 409 for YM_E_EXISTS, 400 for YM_E_INVAL, else 500. */
void http_fail_code(struct http_req *r, int err, const char *what);

/* Starts listening on listen ("127.0.0.1:8443", "[::1]:8443"; numeric
 * addresses only, port 0 picks one) with the server's certificate, asking
 * each client for a certificate signed by the CA (not requiring it).
 * Returns 0 and sets *out, YM_E_INVAL (bad address), YM_E_NET (cannot
 * start: port in use, bad key), YM_E_NOMEM. */
int http_start(struct server *srv, const char *listen, struct http **out);
/* "https://127.0.0.1:8443": the address actually bound. */
const char *http_url(const struct http *h);
/* Stops accepting connections; later requests on open connections get 503. */
void http_quiesce(struct http *h);
/* Waits up to timeout_ms for the requests in progress to finish. Returns
 * how many are still running. */
unsigned http_drain(struct http *h, unsigned timeout_ms);
/* Closes every connection, joins the threads and frees h. */
void http_stop(struct http *h);

#endif
