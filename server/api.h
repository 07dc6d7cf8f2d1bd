/* api: the public REST API under /api/v1 (docs/protocol.md, "Public API").
 * Route handlers for http.c; every query runs in the caller's token scope
 * (r->scope), which the store applies in SQL. */
#ifndef YM_SERVER_API_H
#define YM_SERVER_API_H

struct http_req;

#define API_LIMIT_DEFAULT 100
#define API_LIMIT_MAX	  1000

void api_health(struct http_req *r); /* GET /api/v1/health */
void api_agents(struct http_req *r); /* GET /api/v1/agents */
void api_alerts(struct http_req *r); /* GET /api/v1/alerts?since=&limit= */
void api_events(struct http_req *r); /* GET /api/v1/events?host=&agent=&category=&since=&limit= */
void api_actions_post(struct http_req *r); /* POST /api/v1/actions */
void api_action_get(struct http_req *r);   /* GET /api/v1/actions/ID */
void api_audit(struct http_req *r);	   /* GET /api/v1/audit?limit= */

#endif
