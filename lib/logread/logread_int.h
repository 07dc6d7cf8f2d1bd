/* logread_int.h: what the readers share. Private to lib/logread. */
#ifndef YM_LOGREAD_INT_H
#define YM_LOGREAD_INT_H

#include "logread.h"

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "timefmt.h"

#define LOGREAD_NAME_MAX 255 /* bytes of a raw (evtx_dump-shaped) name */

/* Fields of one record, gathered before they go into the event. Names and
 * values live in the record's arena. */
struct logread_fields {
	struct detect_kv f[LOGREAD_MAX_FIELDS];
	unsigned n;
	unsigned dropped;
	int windows; /* names are evtx_dump-shaped: map with winevt_map */
};

/* Copies name (at most LOGREAD_NAME_MAX bytes, else dropped) and value into
 * the arena and queues them; counts what does not fit. */
void logread_fields_add(struct logread_fields *fl, struct logread_arena *a, const char *name,
			size_t nlen, const char *value, size_t vlen);
/* Moves the queued fields into ev (event_init'ed here): a Windows record
 * through winevt_map; any other with its names made valid field names
 * (bytes outside [A-Za-z0-9_.] become '_', longer than EVENT_MAX_NAME:
 * dropped), the first EVENT_MAX_FIELDS into fields[], the rest into
 * xfields. Then the logsource: product, service and category from rec
 * where it has them (a Windows record keeps the mapped ones unless rec
 * names a service or category), written back into rec as the event has
 * them. Returns 0, YM_E_PARSE (why set). */
int logread_fields_commit(struct logread_fields *fl, struct logread_arena *a, struct event *ev,
			  struct logread_rec *rec, char *why, size_t whysz);

void logread_why(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* EVTX files (logread_evtx.c). open: 0, YM_E_PARSE (why says why),
 * YM_E_NOMEM. next: as logread_next. */
struct logread_evtx;
int logread_evtx_open(const char *path, struct logread_evtx **out, char *why, size_t whysz);
int logread_evtx_next(struct logread_evtx *x, const struct logread_opts *o,
		      struct logread_arena *arena, struct event *ev, struct logread_rec *rec,
		      uint64_t *where, char *why, size_t whysz);
void logread_evtx_close(struct logread_evtx *x);

#endif
