/* psframe: the framing of the socketpair between the root agent and its
 * unprivileged uplink process (docs/internals/agent.md, "Privilege
 * separation"). A frame is an 8-byte header and a payload:
 *
 *   u16 type | u16 flags (0) | u32 payload length | payload
 *
 * integers big-endian. Every type has its own payload cap (psframe_max); a
 * header with an unknown type, non-zero flags or a length over the type's
 * cap is refused before any payload byte is read. The root treats every
 * byte from the uplink process as hostile: each side accepts only the types
 * the other side may send (PSFRAME_FROM_ROOT / PSFRAME_FROM_CHILD).
 *
 * A struct psframe_rd reassembles frames from a byte stream read in pieces
 * of any size. Not thread-safe: one reader per descriptor. */
#ifndef YM_AGENT_PSFRAME_H
#define YM_AGENT_PSFRAME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PSFRAME_HDR	8
#define PSFRAME_VERSION 1

/* root -> uplink process */
#define PSF_INIT   1 /* server URL, TLS blobs, timings (psframe_init_*) */
#define PSF_BATCH  2 /* u64 first_seq | u64 last_seq | u32 count | batch bytes */
#define PSF_RESULT 3 /* JSON body of POST /agent/v1/results; empty: nothing to post */
/* uplink process -> root */
#define PSF_READY   16 /* u32 PSFRAME_VERSION, sent once privileges are dropped */
#define PSF_ACK	    17 /* u64 first_seq | u64 acked last_seq | u16 HTTP status | u8 outcome | u8 0 */
#define PSF_COMMAND 18 /* one signed wire command, as the server sent it */

/* PSF_ACK outcomes */
#define PSACK_SENT	0 /* 200 with a last_seq (the root checks it covers the batch) */
#define PSACK_REJECTED	1 /* 400 or 413: the batch is malformed */
#define PSACK_RETRYING	2 /* this attempt failed; the uplink process retries (heartbeat) */
#define PSFRAME_ACK_LEN 20

#define PSFRAME_FROM_ROOT  1
#define PSFRAME_FROM_CHILD 2

#define PSFRAME_INIT_MAX   (1u << 20)
#define PSFRAME_BATCH_MAX  (48u << 20)
#define PSFRAME_RESULT_MAX 4096u

struct psframe {
	uint16_t type;
	uint32_t len;
	const uint8_t *payload; /* borrowed from the reader until its next feed/reset */
};

struct psframe_rd {
	int from; /* PSFRAME_FROM_ROOT or PSFRAME_FROM_CHILD: which types are accepted */
	uint8_t hdr[PSFRAME_HDR];
	size_t hdr_got;
	uint16_t type;
	uint32_t len;
	uint8_t *buf; /* owned, grows to the largest accepted payload */
	size_t alloc, got;
	int done;
};

/* The payload cap of a frame of type coming from side from (0 when such a
 * frame is not accepted from that side at all). */
uint32_t psframe_max(int from, uint16_t type);

/* Checks one header. Returns 0 (*type, *len set), YM_E_PARSE (unknown type
 * for that side, non-zero flags) or YM_E_TOOBIG (length over the type's cap). */
int psframe_hdr_parse(int from, const uint8_t hdr[PSFRAME_HDR], uint16_t *type, uint32_t *len);

void psframe_rd_init(struct psframe_rd *rd, int from);
void psframe_rd_free(struct psframe_rd *rd);

/* Feeds n bytes (borrowed). *used gets how many were consumed (the rest
 * belongs to the next frame). Returns 0 when a frame is complete (*f points
 * into the reader; the next feed starts a new frame), YM_E_TRUNCATED (all
 * input consumed, the frame is not complete yet), YM_E_PARSE / YM_E_TOOBIG
 * (bad header: the stream cannot be trusted any more) or YM_E_NOMEM. */
int psframe_rd_feed(struct psframe_rd *rd, const uint8_t *p, size_t n, size_t *used,
		    struct psframe *f);

/* Reads one frame from fd (blocking descriptor or not), waiting at most
 * timeout_ms in total (< 0: no limit) and giving up within a second of *stop
 * becoming non-zero (stop may be NULL; shutting the socket down ends the wait
 * at once). Reads never go past the end of the
 * frame, so nothing is buffered between calls. Returns 0 (*f valid until the
 * next call), YM_E_NOTFOUND (timeout or stop before the first byte),
 * YM_E_TRUNCATED (end of stream, or timeout or stop inside a frame),
 * YM_E_PARSE / YM_E_TOOBIG (bad header), YM_E_IO or YM_E_NOMEM. */
int psframe_recv(int fd, struct psframe_rd *rd, int timeout_ms, const atomic_int *stop,
		 struct psframe *f);

/* Writes one frame: header, then the payload given as two pieces (a, an and
 * b, bn; either may be empty), waiting at most timeout_ms for the peer to
 * take it. Returns 0, YM_E_TOOBIG (payload over 4 GiB - 1), YM_E_NOTFOUND
 * (timeout or stop), YM_E_IO (peer gone). */
int psframe_send(int fd, uint16_t type, const void *a, size_t an, const void *b, size_t bn,
		 int timeout_ms, const atomic_int *stop);

#endif
