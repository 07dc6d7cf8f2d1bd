/* gateway: the agent-facing endpoints under /agent/v1 (docs/protocol.md).
 * Each is an http.c route handler; they run on the connection's thread
 * and set the response on r. The agent's identity (r->agent, r->scope)
 * comes from its verified client certificate, never from the body. */
#ifndef YM_SERVER_GATEWAY_H
#define YM_SERVER_GATEWAY_H

struct http_req;

#define GATEWAY_WAIT_MAX_S 30

/* POST /agent/v1/enrol: token + CSR -> agent id, client certificate, CA,
 * response public key. Audits agent.enrolled / enrol.refused. */
void gateway_enrol(struct http_req *r);
/* POST /agent/v1/events: one batch, stored and detected in one transaction,
 * answered only after COMMIT. */
void gateway_events(struct http_req *r);
/* GET /agent/v1/commands?wait=S: long poll for signed commands. */
void gateway_commands(struct http_req *r);
/* POST /agent/v1/results: outcome of one of this agent's actions. */
void gateway_results(struct http_req *r);

#endif
