/* spool: the agent's bounded on-disk queue of encoded event batches.
 *
 * Batches are appended, as records of a header (sequence range, event
 * count, length, CRC-32) and the batch, to a segment file DIR/<20-digit
 * first seq>.yms; a batch may be sent only once its segment was
 * fdatasync'd (and, for a new segment, the directory fsync'd), so a crash
 * loses nothing that was committed, and nothing the server could have
 * acknowledged. With group commit on (spool_set_group_commit), spool_put
 * only appends and the batch waits, unsendable, for the next spool_sync,
 * which commits everything waiting with one fdatasync: a crash window of
 * up to the interval between syncs (a record cut short is found by its
 * header or checksum at the next start and ignored, like events not yet
 * batched). A segment takes batches until it holds SPOOL_SEGMENT_BYTES,
 * then the next one starts; a start always begins a new one. Batches are
 * handed to the uplink oldest first; one acknowledged, dropped or rejected
 * has its record marked done in place, and a segment is deleted when none
 * of its records is left (the open one at the stop, or when it is full).
 * One-batch files DIR/<first seq>.ymb of agents before segments are
 * resumed and sent too. Caps: max_bytes of batches and max_files batches;
 * when a new batch does not fit, the oldest batch not being sent is
 * dropped and its events are counted as dropped (count and sequence range;
 * spool_take_drops hands the tally to whoever reports it). A batch the
 * server rejects as malformed is copied to DIR/rejected/<first seq>.ymb
 * (at most SPOOL_MAX_REJECTED files are kept there).
 *
 * Thread-safe: the collector puts, the uplink takes; one uplink at a time. */
#ifndef YM_AGENT_SPOOL_H
#define YM_AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAX_REJECTED  64
#define SPOOL_PENDING_MAX   32	       /* batches waiting for a group commit */
#define SPOOL_SEGMENT_BYTES (4u << 20) /* a segment takes batches up to this size */

struct spool;

struct spool_item {
	uint64_t first_seq, last_seq;
	uint32_t count; /* events */
	uint64_t bytes;
};

/* Drop and rejection tally since the last spool_take_drops. first/last are
 * the lowest and highest dropped sequence numbers (0 when none). */
struct spool_drops {
	uint64_t events, batches, first_seq, last_seq;
	uint64_t rejected_batches, rejected_events;
};

struct spool_stats {
	uint64_t files, bytes; /* batches spooled (one file each before segments), their bytes */
	uint64_t put_batches, sent_batches;
	uint64_t dropped_events_total, dropped_batches_total, rejected_batches_total;
};

/* Opens the spool in dir (created 0700 with dir/rejected if missing),
 * deletes leftover temp files, resumes the batches of the segments and
 * one-batch files already there, oldest first (a file that is no segment
 * moves to rejected/), and deletes segments with nothing left in them.
 * When they exceed the caps, the oldest are dropped at once (and counted).
 * dir is copied. Returns 0, YM_E_INVAL, YM_E_IO, YM_E_NOMEM. */
int spool_open(const char *dir, uint64_t max_bytes, size_t max_files, struct spool **out);
/* Commits what waits, then frees the spool. */
void spool_close(struct spool *sp);

/* Writes one encoded batch (p, n bytes; borrowed) holding count events with
 * sequence numbers first..last, after making room, and commits it (without
 * group commit) or leaves it for the next spool_sync (with; a put that finds
 * SPOOL_PENDING_MAX batches waiting commits them first). Returns 0,
 * YM_E_INVAL (first not above the newest spooled batch, or empty), or
 * YM_E_IO (could not be written even after freeing space: the batch is
 * counted as dropped; a batch whose commit fails later is counted too). */
int spool_put(struct spool *sp, const uint8_t *p, size_t n, uint64_t first, uint64_t last,
	      uint32_t count);

/* A segment takes batches up to bytes (default SPOOL_SEGMENT_BYTES) from
 * the next new one on. For tests. */
void spool_set_segment_bytes(struct spool *sp, uint64_t bytes);

/* Group commit on or off (off: the default; turning it off commits what
 * waits). Whoever turns it on calls spool_sync often enough
 * (spool_pending_since) and before it stops. */
void spool_set_group_commit(struct spool *sp, int on);
/* Commits every batch spool_put left waiting. spool_close does too. */
void spool_sync(struct spool *sp);
/* Monotonic ns at which the oldest waiting batch was put; 0 when none. */
uint64_t spool_pending_since(struct spool *sp);

/* Waits up to wait_ms for the oldest batch, marks it in flight and reads it:
 * *data (malloc'd, handed to the caller) and *n. A batch that cannot be
 * read (a checksum that does not match, a one-batch file that does not
 * decode) is counted as rejected (a one-batch file moves to rejected/) and
 * the next one is tried. Returns 0,
 * YM_E_NOTFOUND (nothing within wait_ms, or spool_wake), YM_E_NOMEM. */
int spool_next(struct spool *sp, uint64_t wait_ms, struct spool_item *it, uint8_t **data,
	       size_t *n);

/* The in-flight batch starting at first_seq was acknowledged: done.
 * Returns 0 or YM_E_NOTFOUND. */
int spool_ack(struct spool *sp, uint64_t first_seq);
/* The server refused it as malformed: copy it to rejected/, count it.
 * Returns 0 or YM_E_NOTFOUND. */
int spool_reject(struct spool *sp, uint64_t first_seq);
/* Sending failed: the batch stays first in line. */
void spool_release(struct spool *sp, uint64_t first_seq);
/* Wakes a spool_next waiter (shutdown). */
void spool_wake(struct spool *sp);

/* Moves the drop tally into *out and resets it. Returns 1 when anything was
 * dropped or rejected since the last call, else 0. */
int spool_take_drops(struct spool *sp, struct spool_drops *out);
void spool_stats(struct spool *sp, struct spool_stats *out);

/* What the spool in dir holds, read without changing anything (another
 * agent may be running on it): count batches, bytes, first_seq..last_seq
 * (0 when empty; a one-batch file's last seq is its first). Returns 0 or
 * YM_E_IO. */
int spool_inspect(const char *dir, struct spool_item *out);

#endif
