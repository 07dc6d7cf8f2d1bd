/* batch: the agent-to-server event batch wire format (docs/protocol.md).
 *
 *   "YMB1" | u16 flags | u32 count | body
 *   flags bit 0: body is one zstd frame (decompressed size <= BATCH_MAX_RAW)
 *   body: count x event
 *   event: u64 seq | u64 ts_ns | u16 category | u16 nfields | nfields x field
 *   field: u8 name_len | name bytes incl. trailing NUL | u32 value_len | value bytes incl. trailing NUL
 * Integers big-endian. Sequence numbers strictly increase within a batch and
 * start at 1. Names are [A-Za-z0-9_.]{1,63}; values hold no NUL but the last
 * byte. Limits below; anything outside them is rejected whole. */
#ifndef YM_BATCH_H
#define YM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "event.h"

#define BATCH_MAGIC	  "YMB1"
#define BATCH_FLAG_ZSTD	  0x0001u
#define BATCH_MAX_EVENTS  4096
#define BATCH_MAX_WIRE	  (8u << 20)  /* bytes on the wire */
#define BATCH_MAX_RAW	  (32u << 20) /* bytes after decompression */

struct batch {
	struct event *events; /* count events; owned */
	size_t count;
	uint64_t first_seq, last_seq;
	uint8_t *raw; /* decompressed body when the batch was compressed; owned */
};

/* Decodes a batch. Events borrow their strings from p (or from b->raw when
 * compressed), so p must outlive the batch; p is never modified or freed.
 * Returns 0 and fills *b (free with batch_free), or YM_E_PARSE (bad magic,
 * flags, field name or value, non-increasing sequence, trailing bytes),
 * YM_E_TRUNCATED, YM_E_TOOBIG (over a limit) or YM_E_NOMEM. On error *b is
 * left empty and need not be freed. The reason for a rejection is written to
 * why (size whysz, may be NULL). */
int batch_decode(const uint8_t *p, size_t n, struct batch *b, char *why, size_t whysz);
void batch_free(struct batch *b);

/* Encodes n events into out (appending). Each event's seq must be greater
 * than the previous one's. compress: use zstd when it makes the batch smaller.
 * Returns 0, YM_E_INVAL (bad event), YM_E_TOOBIG or YM_E_NOMEM; on error out
 * is as it was. */
int batch_encode(struct buf *out, const struct event *evs, size_t n, int compress);

/* Incremental encoding, for a producer that adds events one at a time (the
 * agent's batcher): batch_event_put appends events to a body buffer as they
 * come, batch_seal adds the header and compresses. The bytes are those of
 * batch_encode with the same events (compressed or not). */

/* Checks ev as batch_decode would check it (category, field count, names,
 * value lengths, no NUL inside a value, no field name twice; ev->seq is not
 * looked at) and sets *need to the bytes its encoding takes. Returns 0 or
 * YM_E_INVAL. */
int batch_event_check(const struct event *ev, size_t *need);

/* Appends ev, numbered seq, to body (a batch body: events only). ev must
 * have passed batch_event_check; seq must be above the previous event's.
 * Returns 0, YM_E_TOOBIG (over body's cap) or YM_E_NOMEM; body is unchanged
 * on error. */
int batch_event_put(struct buf *body, const struct event *ev, uint64_t seq);

/* The fused form of batch_event_check + batch_event_put for a producer that
 * numbers an event only once it is in (the agent's batcher): checks ev as
 * batch_event_check does and appends its encoding to body with sequence
 * number 0; *off gets the offset where it starts, for batch_event_set_seq.
 * Each name is measured once (batch_event_put measures it again). known
 * (may be NULL; EVENT_MAX_FIELDS entries, borrowed): per field, 0, or the
 * length of a name the caller has checked already (event_name_ok) and
 * knows cannot have changed since: it is not scanned again, only its NUL
 * at that length is looked at. Returns 0, YM_E_INVAL (ev would not
 * decode), YM_E_TOOBIG (over body's cap) or YM_E_NOMEM; body is unchanged
 * (length and contents up to it) on error. */
int batch_event_append(struct buf *body, const struct event *ev, const uint8_t *known, size_t *off);

/* Sets the sequence number of the event batch_event_append put at off. */
void batch_event_set_seq(struct buf *body, size_t off, uint64_t seq);

/* A reusable zstd compression context: one per thread that seals batches
 * (allocating one per batch costs more than compressing a small batch). */
struct batch_zctx;
/* level: zstd level (1 is fastest of the normal levels). Returns 0 or
 * YM_E_NOMEM. */
int batch_zctx_new(int level, struct batch_zctx **out);
void batch_zctx_free(struct batch_zctx *z);
/* Sets z's match-finder hash table to 2^hash_log entries (0: the level's
 * own size). A small table stays in the CPU's first-level cache: on the
 * agent's batches of process events, 2^12 compresses ~20 % faster than
 * level 1's own 2^13, to the same size or smaller (docs/benchmarks.md,
 * bench/agent round 7). Returns 0 or YM_E_INVAL (outside zstd's bounds). */
int batch_zctx_hash_log(struct batch_zctx *z, int hash_log);

/* Appends to out the batch of n events whose encoded events are body (len
 * bytes, borrowed): the header, then the body compressed with z when that
 * is smaller, else as it is (z NULL: never compressed). Returns 0,
 * YM_E_INVAL (n or len out of range), YM_E_TOOBIG or YM_E_NOMEM; on error
 * out is as it was. */
int batch_seal(struct buf *out, const uint8_t *body, size_t len, size_t n, struct batch_zctx *z);

#endif
