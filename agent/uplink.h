/* uplink: sends spooled batches to the server, oldest first, with
 * POST /agent/v1/events over mutual TLS. A batch is deleted only after a 200
 * whose last_seq covers it. Connection failures and other answers are
 * retried with backoff (100 ms doubling to 5 s) without reordering; 400 and
 * 413 mean the batch is malformed: it moves to the spool's rejected/ folder
 * (logged E3401) and is never retried. */
#ifndef YM_AGENT_UPLINK_H
#define YM_AGENT_UPLINK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct spool;
struct http;

struct uplink_cfg {
	struct spool *sp;	/* borrowed */
	struct http *h;		/* borrowed, used only by this thread */
	const atomic_int *stop; /* run until non-zero */
	uint64_t backoff_min_ms, backoff_max_ms;
};

struct uplink_stats {
	atomic_ullong sent_batches, sent_events, failures, rejected;
};

/* Runs the send loop until *stop. Returns 0. stats may be NULL. */
int uplink_run(const struct uplink_cfg *cfg, struct uplink_stats *stats);

/* Parses a 200 answer's body and returns its last_seq. Returns 0 or
 * YM_E_PARSE. */
int uplink_parse_ack(const char *body, size_t n, uint64_t *last_seq);

#endif
