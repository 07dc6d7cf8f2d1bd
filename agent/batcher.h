/* batcher: groups events into batches, gives each its sequence number, and
 * writes each batch to the spool before anything may send it. Each event is
 * checked and encoded into the pending batch body as it is added, in one
 * pass (batch_event_append: a bad event is refused alone), and numbered
 * once it is in (batch_event_set_seq); a
 * flush adds the header and compresses (batch_seal, one zstd context kept).
 * A batch is flushed when it holds max_events events, when its encoded
 * events would pass max_bytes, or when the caller says so (its time is up,
 * or shutdown). Not thread-safe: owned by the collector thread. */
#ifndef YM_AGENT_BATCHER_H
#define YM_AGENT_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct seqgen;
struct spool;
struct batcher;

struct batcher_stats {
	uint64_t events;	 /* events given a sequence number */
	uint64_t batches;	 /* batches spooled */
	uint64_t dropped_events; /* lost before reaching the spool (no seq, encode or
				    write failure); spool-side drops are the spool's */
	uint64_t malformed;	 /* refused by batcher_add as undecodable (the
				    caller counts them as its own drops) */
};

/* sg and sp are borrowed and must outlive the batcher. max_events <=
 * BATCH_MAX_EVENTS. Returns 0, YM_E_INVAL or YM_E_NOMEM. */
int batcher_new(struct seqgen *sg, struct spool *sp, size_t max_events, size_t max_bytes,
		struct batcher **out);
/* Frees the batcher; pending events are lost: flush first. */
void batcher_free(struct batcher *b);

/* Encodes ev's category, time and fields (its seq is ignored; ev is only
 * read during the call) into the pending batch with the next sequence
 * number, flushing first or after as needed. Returns 0, YM_E_INVAL (ev
 * would not decode: bad name, NUL in a value, a name twice, ...; refused,
 * counted as malformed, no number used), YM_E_IO (no sequence number could be
 * reserved: dropped and counted), YM_E_TOOBIG (the event alone is over
 * max_bytes: dropped and counted), YM_E_NOMEM, or what batcher_flush
 * returned. */
int batcher_add(struct batcher *b, const struct event *ev);

/* Encodes and spools the pending events, if any. Returns 0, or an error from
 * batch_encode/spool_put (the batch is then counted as dropped; the batcher
 * is empty either way). */
int batcher_flush(struct batcher *b);

/* Monotonic ns at which the oldest pending event was added; 0 when empty. */
uint64_t batcher_oldest_ns(const struct batcher *b);
size_t batcher_pending(const struct batcher *b);
void batcher_stats(const struct batcher *b, struct batcher_stats *out);

#endif
