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

struct pend_field {
	uint32_t name_off, value_off, value_len;
};

struct pend_event {
	uint64_t seq, ts_ns;
	uint16_t category, nfields;
	struct pend_field f[EVENT_MAX_FIELDS];
};

struct batcher {
	struct seqgen *sg;
	struct spool *sp;
	struct pend_event *pend;
	struct event *evs; /* built at flush time */
	size_t n, max_events;
	struct buf arena; /* field names and values, NUL-terminated; cap max_bytes */
	struct buf enc;
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
	b->pend = calloc(max_events, sizeof(*b->pend));
	b->evs = calloc(max_events, sizeof(*b->evs));
	if (!b->pend || !b->evs)
		goto out;
	b->sg = sg;
	b->sp = sp;
	b->max_events = max_events;
	buf_init(&b->arena, max_bytes);
	buf_init(&b->enc, BATCH_MAX_WIRE);
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
	buf_free(&b->arena);
	buf_free(&b->enc);
	free(b->pend);
	free(b->evs);
	free(b);
}

static size_t batcher_need(const struct event *ev)
{
	size_t need = 0;
	for (uint16_t i = 0; i < ev->nfields; i++)
		need += strlen(ev->fields[i].name) + 1 + ev->fields[i].value_len + 1;
	return need;
}

int batcher_flush(struct batcher *b)
{
	uint64_t first, last;
	size_t n = b->n;
	int r;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct pend_event *p = &b->pend[i];
		struct event *ev = &b->evs[i];
		event_init(ev);
		ev->product = "linux";
		ev->seq = p->seq;
		ev->ts_ns = p->ts_ns;
		ev->category = p->category;
		ev->nfields = p->nfields;
		for (uint16_t k = 0; k < p->nfields; k++) {
			ev->fields[k].name = (const char *)b->arena.data + p->f[k].name_off;
			ev->fields[k].value = (const char *)b->arena.data + p->f[k].value_off;
			ev->fields[k].value_len = p->f[k].value_len;
		}
	}
	first = b->pend[0].seq;
	last = b->pend[n - 1].seq;
	buf_reset(&b->enc);
	r = batch_encode(&b->enc, b->evs, n, 1);
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
	buf_reset(&b->arena);
	/* keep the memory of a normal batch, give back that of a burst */
	if (b->arena.alloc > (256u << 10))
		buf_free(&b->arena);
	if (b->enc.alloc > (256u << 10))
		buf_free(&b->enc);
	return r;
}

int batcher_add(struct batcher *b, const struct event *ev)
{
	struct pend_event *p;
	size_t need = batcher_need(ev);
	uint64_t seq;
	int r;

	if (need > b->arena.cap) {
		b->st.dropped_events++;
		return YM_E_TOOBIG;
	}
	if (b->n == b->max_events || b->arena.len + need > b->arena.cap) {
		r = batcher_flush(b);
		if (r)
			LOG_W("batcher", "W3202", "batch flush failed: %s", ym_strerror(r));
	}
	r = seqgen_next(b->sg, &seq);
	if (r) {
		b->st.dropped_events++;
		return r;
	}
	p = &b->pend[b->n];
	p->seq = seq;
	p->ts_ns = ev->ts_ns;
	p->category = ev->category;
	p->nfields = 0;
	for (uint16_t i = 0; i < ev->nfields; i++) {
		const struct event_field *f = &ev->fields[i];
		struct pend_field *pf = &p->f[p->nfields];
		pf->name_off = (uint32_t)b->arena.len;
		/* cannot fail: the room was checked above */
		if (buf_put(&b->arena, f->name, strlen(f->name) + 1))
			break;
		pf->value_off = (uint32_t)b->arena.len;
		pf->value_len = f->value_len;
		if (buf_put(&b->arena, f->value, f->value_len) || buf_put_u8(&b->arena, 0))
			break;
		p->nfields++;
	}
	if (b->n == 0)
		b->oldest_ns = util_mono_ns();
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
