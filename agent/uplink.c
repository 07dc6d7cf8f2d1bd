#include "uplink.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "privsep.h"
#include "psframe.h"
#include "spool.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int uplink_check_ack(const uint8_t *p, size_t n, uint64_t first, uint64_t last, int *outcome,
		     unsigned *status)
{
	struct cursor c;
	uint64_t f = 0, acked = 0;
	uint16_t st = 0;
	uint8_t oc = 0, zero = 1;

	cursor_init(&c, p, n);
	if (n != PSFRAME_ACK_LEN || cursor_get_u64(&c, &f) || cursor_get_u64(&c, &acked) ||
	    cursor_get_u16(&c, &st) || cursor_get_u8(&c, &oc) || cursor_get_u8(&c, &zero) ||
	    zero != 0 || f != first)
		return YM_E_PARSE;
	if (oc != PSACK_SENT && oc != PSACK_REJECTED && oc != PSACK_RETRYING)
		return YM_E_PARSE;
	if (oc == PSACK_SENT && acked < last)
		return YM_E_PARSE;
	*outcome = oc;
	*status = st;
	return 0;
}

/* The uplink process of gen misbehaved or is gone: drop our descriptor
 * and have it killed; the next round starts a new one. */
static void uplink_broken(const struct uplink_cfg *cfg, int *fd, uint64_t gen, const char *why)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	privsep_fail(cfg->ps, gen, why);
}

/* Hands one batch over and waits for its outcome. Returns 0 (acknowledged
 * or rejected: done with it), or YM_E_NOTFOUND (stopping, or the uplink
 * process is gone: send it again). */
static int uplink_one(const struct uplink_cfg *cfg, struct uplink_stats *stats,
		      struct psframe_rd *rd, int *fd, uint64_t *gen, const struct spool_item *it,
		      const uint8_t *data, size_t n)
{
	uint8_t hdr[20];
	struct buf hb;
	int r;

	if (n + sizeof(hdr) > PSFRAME_BATCH_MAX) {
		/* bigger than any server takes (413): never sendable */
		LOG_E("uplink", "E3401",
		      "batch seq %llu..%llu of %zu bytes is over the frame cap: moved to "
		      "spool/rejected",
		      (unsigned long long)it->first_seq, (unsigned long long)it->last_seq, n);
		spool_reject(cfg->sp, it->first_seq);
		if (stats)
			stats->rejected++;
		return 0;
	}
	if (*fd < 0) {
		r = privsep_channel(cfg->ps, PRIVSEP_UPLINK, fd, gen);
		if (r) {
			uplink_sleep(cfg->stop, 100);
			return YM_E_NOTFOUND;
		}
		psframe_rd_free(rd);
	}
	buf_init(&hb, sizeof(hdr));
	if (buf_put_u64(&hb, it->first_seq) || buf_put_u64(&hb, it->last_seq) ||
	    buf_put_u32(&hb, it->count)) {
		buf_free(&hb);
		return YM_E_NOTFOUND;
	}
	memcpy(hdr, hb.data, sizeof(hdr));
	buf_free(&hb);
	r = psframe_send(*fd, PSF_BATCH, hdr, sizeof(hdr), data, n, 30000, cfg->stop);
	if (r) {
		if (!atomic_load(cfg->stop))
			uplink_broken(cfg, fd, *gen, "did not take a batch");
		return YM_E_NOTFOUND;
	}
	for (;;) {
		struct psframe f;
		int outcome = 0;
		unsigned status = 0;

		r = psframe_recv(*fd, rd, UPLINK_SILENCE_MS, cfg->stop, &f);
		if (atomic_load(cfg->stop))
			return YM_E_NOTFOUND;
		if (r) {
			uplink_broken(cfg, fd, *gen,
				      r == YM_E_TRUNCATED  ? "channel closed"
				      : r == YM_E_NOTFOUND ? "silent for too long"
							   : "malformed frame");
			return YM_E_NOTFOUND;
		}
		if (f.type != PSF_ACK || uplink_check_ack(f.payload, f.len, it->first_seq,
							  it->last_seq, &outcome, &status)) {
			LOG_E("uplink", "E3703",
			      "uplink process sent an invalid acknowledgement: killed");
			uplink_broken(cfg, fd, *gen, "protocol violation");
			return YM_E_NOTFOUND;
		}
		if (outcome == PSACK_RETRYING) {
			if (stats)
				stats->failures++;
			continue;
		}
		if (outcome == PSACK_SENT) {
			spool_ack(cfg->sp, it->first_seq);
			if (stats) {
				stats->sent_batches++;
				stats->sent_events += it->count;
			}
			return 0;
		}
		LOG_E("uplink", "E3401",
		      "server rejected batch seq %llu..%llu (HTTP %u): moved to spool/rejected",
		      (unsigned long long)it->first_seq, (unsigned long long)it->last_seq, status);
		spool_reject(cfg->sp, it->first_seq);
		if (stats)
			stats->rejected++;
		return 0;
	}
}

int uplink_run(const struct uplink_cfg *cfg, struct uplink_stats *stats)
{
	struct psframe_rd rd;
	int fd = -1;
	uint64_t gen = 0;

	psframe_rd_init(&rd, PSFRAME_FROM_CHILD);
	while (!atomic_load(cfg->stop)) {
		struct spool_item it;
		uint8_t *data = NULL;
		size_t n = 0;
		int r = spool_next(cfg->sp, 1000, &it, &data, &n);

		if (r == YM_E_NOTFOUND)
			continue;
		if (r) {
			uplink_sleep(cfg->stop, 100);
			continue;
		}
		while (uplink_one(cfg, stats, &rd, &fd, &gen, &it, data, n) != 0) {
			if (atomic_load(cfg->stop)) {
				spool_release(cfg->sp, it.first_seq);
				break;
			}
		}
		free(data);
	}
	if (fd >= 0)
		close(fd);
	psframe_rd_free(&rd);
	return 0;
}
