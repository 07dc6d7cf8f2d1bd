/* apiclient: the CLI's HTTPS client for the server's public JSON API
 * (docs/protocol.md, "Public API"). One blocking request at a time; not
 * thread-safe. */
#ifndef YM_APICLIENT_H
#define YM_APICLIENT_H

#include <jansson.h>

#define APICLIENT_MAX_RESPONSE (64u << 20) /* bytes; larger answers fail with YM_E_TOOBIG */

struct apiclient {
	const char *server; /* borrowed: "https://host:port" */
	const char *token;  /* borrowed: bearer token, may be NULL for /health */
	const char *ca;	    /* borrowed: CA file to verify the server with; NULL = system store */
	long timeout_s;
};

/* Sends method (GET/POST) to path (starting with /api/v1/), with body (a JSON
 * value, borrowed, may be NULL). On any HTTP answer returns 0, sets *status
 * and *out (the parsed JSON body, handed to the caller; NULL if the body was
 * not JSON). Returns YM_E_NET (transfer failed; message in err), YM_E_TOOBIG,
 * YM_E_NOMEM, YM_E_INVAL. */
int apiclient_call(const struct apiclient *c, const char *method, const char *path, json_t *body,
		   long *status, json_t **out, char *err, size_t errsz);

#endif
