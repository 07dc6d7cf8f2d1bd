#include "batcher.h"
#include "batch.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "seqgen.h"
#include "spool.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* zstd level of spooled batches: level 1 compresses agent batches about
 * twice as fast as level 3 for a few percent more bytes */
#define BATCHER_ZSTD_LEVEL 1
/* after a flush, buffers up to this size are kept for the next batch (a
 * normal batch: no page faults refilling them); a burst's are given back.
 * A full batch of process events (4,096 of ~300 bytes) takes 1.2 MB. */
#define BATCHER_KEEP_BYTES (2u << 20)

struct batcher {
	struct seqgen *sg;
	struct spool *sp;
	size_t n, max_events;
	uint64_t first, last; /* seqs of the pending events */
	struct buf body;      /* the pending events, encoded (batch_event_put); cap max_bytes */
	struct buf enc;	      /* the sealed batch */
	struct batch_zctx *z;
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
	size_t need;
	uint64_t seq;
	int r;

	/* checked here, alone: a bad event in a batch would make the server
	 * refuse the whole batch */
	if (batch_event_check(ev, &need)) {
		b->st.malformed++;
		return YM_E_INVAL;
	}
	if (need > b->body.cap) {
		b->st.dropped_events++;
		return YM_E_TOOBIG;
	}
	if (b->n == b->max_events || b->body.len + need > b->body.cap) {
		r = batcher_flush(b);
		if (r)
			LOG_W("batcher", "W3202", "batch flush failed: %s", ym_strerror(r));
	}
	r = seqgen_next(b->sg, &seq);
	if (r) {
		b->st.dropped_events++;
		return r;
	}
	r = batch_event_put(&b->body, ev, seq);
	if (r) {
		/* out of memory: the number is skipped (a gap, never a repeat) */
		b->st.dropped_events++;
		return r;
	}
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
