#include "batcher.h"
#include "batch.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "namecache.h"
#include "seqgen.h"
#include "spool.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* zstd level of spooled batches: level 1 compresses agent batches about
 * twice as fast as level 3 for a few percent more bytes */
#define BATCHER_ZSTD_LEVEL 1
/* with a 2^12-entry match table (level 1's own is 2^13 for a batch this
 * size): it stays in the first-level cache, ~20 % faster on process
 * events and no larger (docs/benchmarks.md, bench/agent round 7) */
#define BATCHER_ZSTD_HASH_LOG 12
/* after a flush, buffers up to this size are kept for the next batch (a
 * normal batch: no page faults refilling them); a burst's are given back.
 * A full batch of process events (4,096 of ~300 bytes) takes 1.2 MB. */
#define BATCHER_KEEP_BYTES (2u << 20)

struct batcher {
	struct seqgen *sg;
	struct spool *sp;
	size_t n, max_events;
	uint64_t first, last; /* seqs of the pending events */
	struct buf body;      /* the pending events, encoded (batch_event_append); cap max_bytes */
	struct buf enc;	      /* the sealed batch */
	struct batch_zctx *z;
	struct namecache *names; /* read-only names checked once (namecache.h) */
	uint64_t oldest_ns;
	struct batcher_stats st;
};

int batcher_new(struct seqgen *sg, struct spool *sp, size_t max_events, size_t max_bytes,
		struct batcher **out)
{
	struct batcher *b = NULL;
	int r = YM_E_INVAL;

	if (!sg || !sp || max_events == 0 || max_events > BATCH_MAX_EVENTS || max_bytes == 0 ||
	    max_bytes > BATCH_MAX_RAW / 2)
		goto out;
	r = YM_E_NOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		goto out;
	b->sg = sg;
	b->sp = sp;
	b->max_events = max_events;
	buf_init(&b->body, max_bytes);
	buf_init(&b->enc, BATCH_MAX_WIRE);
	r = batch_zctx_new(BATCHER_ZSTD_LEVEL, &b->z);
	if (r)
		goto out;
	r = batch_zctx_hash_log(b->z, BATCHER_ZSTD_HASH_LOG);
	if (r)
		goto out;
	r = namecache_new(&b->names);
	if (r)
		goto out;
	*out = b;
	b = NULL;
	r = 0;
out:
	batcher_free(b);
	return r;
}

void batcher_free(struct batcher *b)
{
	if (!b)
		return;
	buf_free(&b->body);
	buf_free(&b->enc);
	batch_zctx_free(b->z);
	namecache_free(b->names);
	free(b);
}

int batcher_flush(struct batcher *b)
{
	uint64_t first = b->first, last = b->last;
	size_t n = b->n;
	int r;

	if (n == 0)
		return 0;
	buf_reset(&b->enc);
	r = batch_seal(&b->enc, b->body.data, b->body.len, n, b->z);
	if (r) {
		LOG_E("batcher", "E3201", "cannot encode batch seq %llu..%llu: %s",
		      (unsigned long long)first, (unsigned long long)last, ym_strerror(r));
		b->st.dropped_events += n;
	} else {
		r = spool_put(b->sp, b->enc.data, b->enc.len, first, last, (uint32_t)n);
		if (r == 0)
			b->st.batches++;
		/* a failed put is counted by the spool with its seq range */
	}
	b->n = 0;
	b->oldest_ns = 0;
	buf_reset(&b->body);
	if (b->body.alloc > BATCHER_KEEP_BYTES)
		buf_free(&b->body);
	if (b->enc.alloc > BATCHER_KEEP_BYTES)
		buf_free(&b->enc);
	return r;
}

int batcher_add(struct batcher *b, const struct event *ev)
{
	uint8_t known[EVENT_MAX_FIELDS];
	size_t off = 0;
	uint64_t seq;
	int r;

	/* names in read-only memory were checked when first seen */
	for (uint16_t k = 0; k < ev->nfields && k < EVENT_MAX_FIELDS; k++)
		known[k] = namecache_len(b->names, ev->fields[k].name);
	/* checked and encoded in one pass, alone: a bad event in a batch
	 * would make the server refuse the whole batch */
	r = batch_event_append(&b->body, ev, known, &off);
	if (r == YM_E_TOOBIG && b->n > 0) {
		/* not room for it beside the pending events: they go first */
		r = batcher_flush(b);
		if (r)
			LOG_W("batcher", "W3202", "batch flush failed: %s", ym_strerror(r));
		r = batch_event_append(&b->body, ev, known, &off);
	}
	if (r == YM_E_INVAL) {
		b->st.malformed++;
		return r;
	}
	if (r) {
		/* bigger than a whole batch, or out of memory */
		b->st.dropped_events++;
		return r;
	}
	r = seqgen_next(b->sg, &seq);
	if (r) {
		/* the event leaves the body again: nothing was numbered */
		b->body.len = off;
		b->body.data[off] = 0;
		b->st.dropped_events++;
		return r;
	}
	batch_event_set_seq(&b->body, off, seq);
	if (b->n == 0) {
		b->first = seq;
		b->oldest_ns = util_mono_ns();
	}
	b->last = seq;
	b->n++;
	b->st.events++;
	if (b->n == b->max_events)
		return batcher_flush(b);
	return 0;
}

uint64_t batcher_oldest_ns(const struct batcher *b)
{
	return b->oldest_ns;
}

size_t batcher_pending(const struct batcher *b)
{
	return b->n;
}

void batcher_stats(const struct batcher *b, struct batcher_stats *out)
{
	*out = b->st;
}
