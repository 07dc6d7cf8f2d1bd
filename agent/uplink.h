/* uplink: the root agent's send loop. It takes spooled batches oldest first
 * and hands each to the unprivileged uplink process (privsep.h, uplinkd.h),
 * which POSTs it to /agent/v1/events over mutual TLS and retries until the
 * server answers. A batch is deleted only after the uplink process reports
 * a 200 whose last_seq covers it; 400 and 413 mean the batch is malformed:
 * it moves to the spool's rejected/ folder (logged E3401) and is never
 * retried. If the uplink process dies, misbehaves or stays silent for
 * UPLINK_SILENCE_MS, it is killed and the same batch goes to its successor:
 * nothing spooled is lost, order is kept. */
#ifndef YM_AGENT_UPLINK_H
#define YM_AGENT_UPLINK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* the uplink process reports every attempt (at most 60 s each) */
#define UPLINK_SILENCE_MS 120000

struct spool;
struct privsep;

struct uplink_cfg {
	struct spool *sp;	/* borrowed */
	struct privsep *ps;	/* borrowed: the uplink process */
	const atomic_int *stop; /* run until non-zero */
};

struct uplink_stats {
	atomic_ullong sent_batches, sent_events, failures, rejected;
};

/* Runs the send loop until *stop. Returns 0. stats may be NULL. */
int uplink_run(const struct uplink_cfg *cfg, struct uplink_stats *stats);

/* Parses a 200 answer's body and returns its last_seq. Returns 0 or
 * YM_E_PARSE. Used by the uplink process. */
int uplink_parse_ack(const char *body, size_t n, uint64_t *last_seq);

/* Reads one acknowledgement frame's payload (PSF_ACK, p, n bytes: untrusted)
 * for the batch first..last. Returns 0 with *outcome (PSACK_*) and *status
 * set, or YM_E_PARSE (wrong size, another batch, unknown outcome, or "sent"
 * with a last_seq short of last). */
int uplink_check_ack(const uint8_t *p, size_t n, uint64_t first, uint64_t last, int *outcome,
		     unsigned *status);

#endif
