#include "uplink.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "spool.h"

#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#define UPLINK_RESP_MAX (64u << 10)

/* Sleeps ms unless *stop becomes set (checked every 50 ms). */
static void uplink_sleep(const atomic_int *stop, uint64_t ms)
{
	while (ms > 0 && !atomic_load(stop)) {
		uint64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

int uplink_parse_ack(const char *body, size_t n, uint64_t *last_seq)
{
	json_t *o = json_loadb(body, n, 0, NULL);
	json_t *v = json_object_get(o, "last_seq");
	int r = YM_E_PARSE;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*last_seq = (uint64_t)json_integer_value(v);
		r = 0;
	}
	json_decref(o);
	return r;
}

int uplink_run(const struct uplink_cfg *cfg, struct uplink_stats *stats)
{
	struct buf resp;
	int failing = 0;

	buf_init(&resp, UPLINK_RESP_MAX);
	while (!atomic_load(cfg->stop)) {
		struct spool_item it;
		uint8_t *data = NULL;
		size_t n = 0;
		uint64_t backoff = cfg->backoff_min_ms;
		int r = spool_next(cfg->sp, 1000, &it, &data, &n);

		if (r == YM_E_NOTFOUND)
			continue;
		if (r) {
			uplink_sleep(cfg->stop, 100);
			continue;
		}
		for (;;) {
			long status = 0;
			uint64_t acked = 0;

			if (atomic_load(cfg->stop)) {
				spool_release(cfg->sp, it.first_seq);
				break;
			}
			buf_reset(&resp);
			r = http_request(cfg->h, "POST", "/agent/v1/events",
					 "application/octet-stream", data, n, 60, &status, &resp);
			if (r == 0 && status == 200 &&
			    uplink_parse_ack((const char *)resp.data, resp.len, &acked) == 0 &&
			    acked >= it.last_seq) {
				spool_ack(cfg->sp, it.first_seq);
				if (stats) {
					stats->sent_batches++;
					stats->sent_events += it.count;
				}
				if (failing)
					LOG_I("uplink", "server reachable again: sending spooled "
							"batches");
				failing = 0;
				break;
			}
			if (r == 0 && (status == 400 || status == 413)) {
				LOG_E("uplink", "E3401",
				      "server rejected batch seq %llu..%llu (HTTP %ld): moved to "
				      "spool/rejected",
				      (unsigned long long)it.first_seq,
				      (unsigned long long)it.last_seq, status);
				spool_reject(cfg->sp, it.first_seq);
				if (stats)
					stats->rejected++;
				break;
			}
			if (stats)
				stats->failures++;
			if (!failing) {
				if (r)
					LOG_W("uplink", "W3402",
					      "cannot send events (%s): spooling, retrying",
					      http_last_error(cfg->h));
				else if (status == 200)
					LOG_W("uplink", "W3403",
					      "server acknowledged seq %llu, short of %llu: "
					      "retrying",
					      (unsigned long long)acked,
					      (unsigned long long)it.last_seq);
				else
					LOG_W("uplink", "W3404",
					      "server answered HTTP %ld to events: retrying",
					      status);
			}
			failing = 1;
			uplink_sleep(cfg->stop, backoff);
			backoff =
			    backoff * 2 > cfg->backoff_max_ms ? cfg->backoff_max_ms : backoff * 2;
		}
		free(data);
	}
	buf_free(&resp);
	return 0;
}
