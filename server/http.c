/* http.c: MHD daemon, routing, body caps, authentication, error answers. */
#include "http.h"
#include "api.h"
#include "err.h"
#include "gateway.h"
#include "log.h"
#include "pki.h"
#include "server.h"
#include "store.h"
#include "util.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum http_auth { AUTH_NONE, AUTH_AGENT, AUTH_TOKEN };

struct http_route {
	const char *method;
	const char *path;
	int prefix; /* path is a prefix followed by one more segment */
	enum http_auth auth;
	size_t body_max;
	void (*fn)(struct http_req *r);
};

static const struct http_route routes[] = {
    {"POST", "/agent/v1/enrol", 0, AUTH_NONE, HTTP_JSON_MAX, gateway_enrol},
    {"POST", "/agent/v1/events", 0, AUTH_AGENT, HTTP_BATCH_MAX, gateway_events},
    {"GET", "/agent/v1/commands", 0, AUTH_AGENT, 0, gateway_commands},
    {"POST", "/agent/v1/results", 0, AUTH_AGENT, HTTP_JSON_MAX, gateway_results},
    {"GET", "/api/v1/health", 0, AUTH_NONE, 0, api_health},
    {"GET", "/api/v1/agents", 0, AUTH_TOKEN, 0, api_agents},
    {"GET", "/api/v1/alerts", 0, AUTH_TOKEN, 0, api_alerts},
    {"GET", "/api/v1/events", 0, AUTH_TOKEN, 0, api_events},
    {"POST", "/api/v1/actions", 0, AUTH_TOKEN, HTTP_JSON_MAX, api_actions_post},
    {"GET", "/api/v1/actions/", 1, AUTH_TOKEN, 0, api_action_get},
    {"GET", "/api/v1/audit", 0, AUTH_TOKEN, 0, api_audit},
};

struct http {
	struct server *srv;
	struct MHD_Daemon *d;
	int listen_fd; /* after quiesce: closed once the daemon is stopped */
	char url[96];
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned inflight;
	int stopping;
};

/* ---- error answers ---- */

struct id_limit {
	const char *id;
	struct log_ratelimit rl;
};

static struct id_limit limits[] = {
    {HTTP_E_BATCH, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_CERT, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_ENROL, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_TOOBIG, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_TOKEN, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_REQUEST, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_NOTFOUND, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_METHOD, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_INTERNAL, LOG_RATELIMIT_INIT(20, 60)},
    {HTTP_E_CSR, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_CONFLICT, LOG_RATELIMIT_INIT(10, 60)},
    {HTTP_E_STOPPING, LOG_RATELIMIT_INIT(5, 60)},
    {NULL, LOG_RATELIMIT_INIT(10, 60)},
};

static struct log_ratelimit *limit_for(const char *id)
{
	size_t i;
	for (i = 0; limits[i].id; i++) {
		if (strcmp(limits[i].id, id) == 0)
			break;
	}
	return &limits[i].rl;
}

void http_reply(struct http_req *r, unsigned status, json_t *body)
{
	json_decref(r->out);
	r->out = body;
	r->status = body ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

void http_fail(struct http_req *r, unsigned status, const char *id, const char *reason)
{
	char er[300], eu[200];

	log_escape(reason, strlen(reason), er, sizeof(er));
	if (log_ratelimit_ok(limit_for(id))) {
		log_escape(r->url, strlen(r->url), eu, sizeof(eu));
		LOG_W("http", id, "%s %s peer=%s who=%s status=%u: %s", r->method, eu, r->peer,
		      r->actor, status, er);
	}
	json_decref(r->out);
	r->out = json_pack("{s:s}", "error", er);
	r->status = r->out ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

void http_fail_code(struct http_req *r, int err, const char *what)
{
	char msg[200];

	switch (err) {
	case YM_E_NOTFOUND:
		snprintf(msg, sizeof(msg), "%s not found", what);
		http_fail(r, MHD_HTTP_NOT_FOUND, HTTP_E_NOTFOUND, msg);
		break;
	case YM_E_EXISTS:
		snprintf(msg, sizeof(msg), "%s: conflict", what);
		http_fail(r, MHD_HTTP_CONFLICT, HTTP_E_CONFLICT, msg);
		break;
	case YM_E_INVAL:
		snprintf(msg, sizeof(msg), "%s: invalid", what);
		http_fail(r, MHD_HTTP_BAD_REQUEST, HTTP_E_REQUEST, msg);
		break;
	default:
		snprintf(msg, sizeof(msg), "%s: %s", what, ym_strerror(err));
		http_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, HTTP_E_INTERNAL, msg);
	}
}

const char *http_query(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- authentication ---- */

/* The peer's client certificate: verified against our CA (with the
 * clientAuth purpose), CN = an enrolled, unrevoked agent whose stored
 * serial equals the certificate's. */
static int auth_agent(struct http_req *r)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t s;
	gnutls_x509_crt_t crt = NULL;
	const gnutls_datum_t *certs;
	unsigned int status = 0, ncerts = 0;
	gnutls_typed_vdata_st vd = {GNUTLS_DT_KEY_PURPOSE_OID,
				    (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
	char cn[64], serial[PKI_SERIAL_HEX], ecn[150];
	unsigned char raw[64];
	size_t cnlen = sizeof(cn), rawlen = sizeof(raw), off = 0;
	const char *why = "no client certificate";
	struct store_agent ag;
	int rc = YM_E_AUTH, e, have_cn = 0;

	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		goto out;
	s = (gnutls_session_t)ci->tls_session;
	certs = gnutls_certificate_get_peers(s, &ncerts);
	if (!certs || ncerts == 0)
		goto out;
	/* the CN is read before verification only to name the peer in the log */
	if (gnutls_x509_crt_init(&crt) == 0 &&
	    gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) == 0)
		have_cn = 1;
	why = "client certificate not verified";
	e = gnutls_certificate_verify_peers(s, &vd, 1, &status);
	if (e < 0 || status != 0)
		goto out;
	why = "client certificate unreadable";
	if (!have_cn || cnlen != 36 || gnutls_x509_crt_get_serial(crt, raw, &rawlen) < 0 ||
	    rawlen == 0 || rawlen > 32)
		goto out;
	while (off + 1 < rawlen && raw[off] == 0)
		off++;
	util_hex(raw + off, rawlen - off, serial);
	why = "unknown agent";
	e = store_agent_get(r->srv->store, (struct store_scope){NULL}, cn, &ag);
	if (e == YM_E_NOTFOUND)
		goto out;
	if (e) {
		rc = e;
		goto out;
	}
	why = "agent revoked";
	if (ag.revoked)
		goto out;
	why = "certificate serial does not match the agent's";
	if (strcmp(ag.cert_serial, serial) != 0)
		goto out;
	r->agent = ag;
	r->scope.tenant_id = r->agent.tenant_id;
	snprintf(r->actor, sizeof(r->actor), "agent:%s", ag.id);
	rc = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (rc == YM_E_AUTH) {
		if (have_cn) {
			log_escape(cn, strnlen(cn, sizeof(cn)), ecn, sizeof(ecn));
			snprintf(r->actor, sizeof(r->actor), "cert:%s", ecn);
		}
		http_fail(r, MHD_HTTP_UNAUTHORIZED, HTTP_E_CERT, why);
	} else if (rc) {
		http_fail_code(r, rc, "agent lookup");
	}
	return rc;
}

static int token_text_ok(const char *t)
{
	size_t n = strlen(t);
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

static int auth_token(struct http_req *r)
{
	const char *h =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	uint8_t hash[32];
	int e;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !token_text_ok(h + 7)) {
		http_fail(r, MHD_HTTP_UNAUTHORIZED, HTTP_E_TOKEN,
			  "missing or malformed bearer token");
		return YM_E_AUTH;
	}
	if (pki_sha256(h + 7, 64, hash)) {
		http_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, HTTP_E_INTERNAL, "hash failed");
		return YM_E_CRYPTO;
	}
	e = store_api_token_check(r->srv->store, (struct store_scope){NULL}, hash, &r->token);
	if (e == YM_E_AUTH) {
		http_fail(r, MHD_HTTP_UNAUTHORIZED, HTTP_E_TOKEN, "invalid token");
		return e;
	}
	if (e) {
		http_fail_code(r, e, "token lookup");
		return e;
	}
	r->scope.tenant_id = r->token.tenant_id[0] ? r->token.tenant_id : NULL;
	snprintf(r->actor, sizeof(r->actor), "token:%s", r->token.name);
	return 0;
}

/* ---- request life ---- */

static void peer_fill(struct http_req *r)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	util_strlcpy(r->peer, "?", sizeof(r->peer));
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  r->peer, sizeof(r->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  r->peer, sizeof(r->peer));
}

static enum MHD_Result send_reply(struct http_req *r)
{
	struct MHD_Response *resp;
	char *text = NULL;
	enum MHD_Result ok;

	if (!r->out) {
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r->out = json_pack("{s:s}", "error", "no response");
	}
	if (r->out)
		text = json_dumps(r->out, JSON_COMPACT);
	if (!text)
		return MHD_NO; /* out of memory: drop the connection */
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ok = MHD_queue_response(r->conn, r->status, resp);
	MHD_destroy_response(resp);
	r->queued = 1;
	return ok;
}

static const struct http_route *route_find(const char *method, const char *url, int *path_known)
{
	*path_known = 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct http_route *rt = &routes[i];
		size_t n = strlen(rt->path);
		int match = rt->prefix
				? strncmp(url, rt->path, n) == 0 && url[n] && !strchr(url + n, '/')
				: strcmp(url, rt->path) == 0;
		if (!match)
			continue;
		*path_known = 1;
		if (strcmp(method, rt->method) == 0)
			return rt;
	}
	return NULL;
}

/* Headers are in: route, authenticate, check the declared length. Any
 * failure is answered now, before reading a byte of the body. */
static enum MHD_Result request_start(struct http *h, struct http_req *r)
{
	const char *cl;
	uint64_t len;
	int known, stopping;

	pthread_mutex_lock(&h->lock);
	stopping = h->stopping;
	pthread_mutex_unlock(&h->lock);
	if (stopping) {
		http_fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, HTTP_E_STOPPING, "server stopping");
		return send_reply(r);
	}
	r->route = route_find(r->method, r->url, &known);
	if (!r->route) {
		if (known)
			http_fail(r, MHD_HTTP_METHOD_NOT_ALLOWED, HTTP_E_METHOD,
				  "method not allowed");
		else
			http_fail(r, MHD_HTTP_NOT_FOUND, HTTP_E_NOTFOUND, "no such endpoint");
		return send_reply(r);
	}
	buf_init(&r->body, r->route->body_max);
	if ((r->route->auth == AUTH_AGENT && auth_agent(r)) ||
	    (r->route->auth == AUTH_TOKEN && auth_token(r)))
		return send_reply(r);
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && (util_parse_u64(cl, 0, UINT64_MAX, &len) || len > r->route->body_max)) {
		http_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, HTTP_E_TOOBIG, "request body too large");
		return send_reply(r);
	}
	return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = h->srv;
		r->conn = conn;
		r->method = method;
		r->url = url;
		util_strlcpy(r->actor, "anonymous", sizeof(r->actor));
		buf_init(&r->body, 0);
		peer_fill(r);
		pthread_mutex_lock(&h->lock);
		h->inflight++;
		pthread_mutex_unlock(&h->lock);
		*con_cls = r;
		return request_start(h, r);
	}
	if (r->queued) {
		/* answered early (error): MHD discards the rest and closes */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->too_big && buf_put(&r->body, upload, *upload_size)) {
			r->too_big = 1;
			buf_free(&r->body);
		}
		r->received += *upload_size;
		*upload_size = 0;
		/* a chunked body past its cap is read to the end for the 413, but not forever */
		if (r->too_big && r->received > 2 * (uint64_t)r->route->body_max + (1u << 20))
			return MHD_NO;
		return MHD_YES;
	}
	if (r->too_big)
		http_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, HTTP_E_TOOBIG, "request body too large");
	else
		r->route->fn(r);
	return send_reply(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;

	(void)conn;
	(void)toe;
	if (!r)
		return;
	json_decref(r->out);
	buf_free(&r->body);
	free(r);
	*con_cls = NULL;
	pthread_mutex_lock(&h->lock);
	h->inflight--;
	if (h->inflight == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
}

/* MHD's own messages (TLS handshake failures and the like) are
 * attacker-triggered: rate-limited, escaped. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10, 60);
	char msg[512], esc[600];
	size_t n;

	(void)cls;
	/* the format is libmicrohttpd's own, never attacker text */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(msg, sizeof(msg), fmt, ap);
#pragma GCC diagnostic pop
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	if (log_ratelimit_ok(&rl)) {
		log_escape(msg, n, esc, sizeof(esc));
		LOG_W("http", "W2001", "mhd: %s", esc);
	}
}

/* ---- daemon ---- */

static int parse_listen(const char *s, struct sockaddr_storage *ss, int *v6)
{
	char host[64];
	const char *colon, *hs = s;
	size_t hl;
	uint64_t port;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return YM_E_INVAL;
		hs = s + 1;
		hl = (size_t)(end - hs);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return YM_E_INVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || util_parse_u64(colon + 1, 0, 65535, &port))
		return YM_E_INVAL;
	memcpy(host, hs, hl);
	host[hl] = 0;
	if (s[0] != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return YM_E_INVAL;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*v6 = 0;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return YM_E_INVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*v6 = 1;
	}
	return 0;
}

int http_start(struct server *srv, const char *listen, struct http **out)
{
	struct sockaddr_storage ss;
	struct http *h = NULL;
	const union MHD_DaemonInfo *di;
	char host[INET6_ADDRSTRLEN];
	unsigned flags;
	int v6, r;

	r = parse_listen(listen, &ss, &v6);
	if (r) {
		LOG_E("http", "E2014", "bad listen address (IPv4:PORT or [IPv6]:PORT expected)");
		return r;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return YM_E_NOMEM;
	h->srv = srv;
	h->listen_fd = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	flags = MHD_USE_TLS | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	h->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_KEY,
	    srv->keys.server_key, MHD_OPTION_HTTPS_MEM_CERT, srv->keys.server_crt,
	    MHD_OPTION_HTTPS_MEM_TRUST, srv->keys.ca_crt, MHD_OPTION_HTTPS_PRIORITIES,
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned int)HTTP_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20), MHD_OPTION_END);
	if (!h->d) {
		LOG_E("http", "E2013", "cannot listen on %s (address in use, or bad key/cert)",
		      listen);
		r = YM_E_NET;
		goto out;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	if (v6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	snprintf(h->url, sizeof(h->url), v6 ? "https://[%s]:%u" : "https://%s:%u", host,
		 di ? (unsigned)di->port : 0u);
	*out = h;
	h = NULL;
out:
	if (h) {
		pthread_cond_destroy(&h->idle);
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
	return r;
}

const char *http_url(const struct http *h)
{
	return h->url;
}

void http_quiesce(struct http *h)
{
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_mutex_unlock(&h->lock);
	h->listen_fd = MHD_quiesce_daemon(h->d);
}

unsigned http_drain(struct http *h, unsigned timeout_ms)
{
	struct timespec ts;
	unsigned left;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	while (h->inflight > 0) {
		if (pthread_cond_timedwait(&h->idle, &h->lock, &ts) != 0)
			break;
	}
	left = h->inflight;
	pthread_mutex_unlock(&h->lock);
	return left;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
