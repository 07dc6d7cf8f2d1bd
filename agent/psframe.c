#include "psframe.h"
#include "buf.h"
#include "command.h"
#include "err.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

uint32_t psframe_max(int from, uint16_t type)
{
	if (from == PSFRAME_FROM_ROOT) {
		switch (type) {
		case PSF_INIT:
			return PSFRAME_INIT_MAX;
		case PSF_BATCH:
			return PSFRAME_BATCH_MAX;
		case PSF_RESULT:
			return PSFRAME_RESULT_MAX;
		default:
			return 0;
		}
	}
	if (from == PSFRAME_FROM_CHILD) {
		switch (type) {
		case PSF_READY:
			return 4;
		case PSF_ACK:
			return PSFRAME_ACK_LEN;
		case PSF_COMMAND:
			return COMMAND_MAX_WIRE;
		default:
			return 0;
		}
	}
	return 0;
}

int psframe_hdr_parse(int from, const uint8_t hdr[PSFRAME_HDR], uint16_t *type, uint32_t *len)
{
	struct cursor c;
	uint16_t t = 0, flags = 0;
	uint32_t n = 0, max;

	cursor_init(&c, hdr, PSFRAME_HDR);
	if (cursor_get_u16(&c, &t) || cursor_get_u16(&c, &flags) || cursor_get_u32(&c, &n))
		return YM_E_PARSE;
	max = psframe_max(from, t);
	if (max == 0 || flags != 0)
		return YM_E_PARSE;
	if (n > max)
		return YM_E_TOOBIG;
	*type = t;
	*len = n;
	return 0;
}

void psframe_rd_init(struct psframe_rd *rd, int from)
{
	memset(rd, 0, sizeof(*rd));
	rd->from = from;
}

void psframe_rd_free(struct psframe_rd *rd)
{
	free(rd->buf);
	psframe_rd_init(rd, rd->from);
}

int psframe_rd_feed(struct psframe_rd *rd, const uint8_t *p, size_t n, size_t *used,
		    struct psframe *f)
{
	size_t k, off = 0;
	int r;

	if (rd->done) { /* the previous frame was handed out: start the next one */
		rd->done = 0;
		rd->hdr_got = 0;
		rd->got = 0;
	}
	*used = 0;
	if (rd->hdr_got < PSFRAME_HDR) {
		k = PSFRAME_HDR - rd->hdr_got;
		if (k > n)
			k = n;
		memcpy(rd->hdr + rd->hdr_got, p, k);
		rd->hdr_got += k;
		off += k;
		*used = off;
		if (rd->hdr_got < PSFRAME_HDR)
			return YM_E_TRUNCATED;
		r = psframe_hdr_parse(rd->from, rd->hdr, &rd->type, &rd->len);
		if (r)
			return r;
		if (rd->len > rd->alloc) {
			/* grows only to the type's cap, checked above */
			uint8_t *nb = realloc(rd->buf, rd->len);
			if (!nb)
				return YM_E_NOMEM;
			rd->buf = nb;
			rd->alloc = rd->len;
		}
	}
	k = rd->len - rd->got;
	if (k > n - off)
		k = n - off;
	if (k > 0)
		memcpy(rd->buf + rd->got, p + off, k);
	rd->got += k;
	off += k;
	*used = off;
	if (rd->got < rd->len)
		return YM_E_TRUNCATED;
	rd->done = 1;
	f->type = rd->type;
	f->len = rd->len;
	f->payload = rd->buf;
	return 0;
}

/* Waits for fd to be ready for events; 0 ready, YM_E_NOTFOUND (timeout or
 * stop), YM_E_IO. */
static int psframe_wait(int fd, short events, uint64_t deadline_ns, const atomic_int *stop)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		/* an idle channel costs no wake-ups but the stop check's, once a
		 * second (a stopping agent shuts the channels down, which wakes
		 * this at once: privsep_shutdown) */
		int ms = stop ? 1000 : -1, k;

		if (stop && atomic_load(stop))
			return YM_E_NOTFOUND;
		if (deadline_ns) {
			uint64_t now = util_mono_ns(), left;
			if (now >= deadline_ns)
				return YM_E_NOTFOUND;
			left = (deadline_ns - now) / 1000000u + 1;
			if (ms < 0 || left < (uint64_t)ms)
				ms = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		k = poll(&pfd, 1, ms);
		if (k < 0 && errno != EINTR)
			return YM_E_IO;
		if (k > 0)
			return 0; /* readable, writable, hung up or in error: the I/O tells */
	}
}

int psframe_recv(int fd, struct psframe_rd *rd, int timeout_ms, const atomic_int *stop,
		 struct psframe *f)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : util_mono_ns() + (uint64_t)timeout_ms * 1000000u;
	uint8_t tmp[PSFRAME_HDR];
	int started = 0, r;

	for (;;) {
		size_t want, used = 0;
		ssize_t got;
		uint8_t *dst;

		/* read exactly what the current frame still needs: the header,
		 * then the payload straight into the reader's buffer */
		if (!rd->done && rd->hdr_got == PSFRAME_HDR) {
			want = rd->len - rd->got;
			dst = rd->buf + rd->got;
		} else {
			want = rd->done ? PSFRAME_HDR : PSFRAME_HDR - rd->hdr_got;
			dst = tmp;
		}
		r = psframe_wait(fd, POLLIN, deadline, stop);
		if (r)
			return r == YM_E_NOTFOUND && started ? YM_E_TRUNCATED : r;
		got = read(fd, dst, want);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return YM_E_IO;
		}
		if (got == 0)
			return YM_E_TRUNCATED;
		started = 1;
		if (dst == tmp) {
			r = psframe_rd_feed(rd, tmp, (size_t)got, &used, f);
		} else {
			/* payload bytes are already in place */
			rd->got += (size_t)got;
			if (rd->got < rd->len)
				continue;
			rd->done = 1;
			f->type = rd->type;
			f->len = rd->len;
			f->payload = rd->buf;
			return 0;
		}
		if (r == 0)
			return 0;
		if (r != YM_E_TRUNCATED)
			return r;
	}
}

static int psframe_write_all(int fd, const uint8_t *p, size_t n, uint64_t deadline,
			     const atomic_int *stop)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			int r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return YM_E_IO;
			r = psframe_wait(fd, POLLOUT, deadline, stop);
			if (r)
				return r;
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int psframe_send(int fd, uint16_t type, const void *a, size_t an, const void *b, size_t bn,
		 int timeout_ms, const atomic_int *stop)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : util_mono_ns() + (uint64_t)timeout_ms * 1000000u;
	uint8_t hdr[PSFRAME_HDR];
	int r;

	if (an > UINT32_MAX || bn > UINT32_MAX - an)
		return YM_E_TOOBIG;
	hdr[0] = (uint8_t)(type >> 8);
	hdr[1] = (uint8_t)type;
	hdr[2] = 0;
	hdr[3] = 0;
	hdr[4] = (uint8_t)((an + bn) >> 24);
	hdr[5] = (uint8_t)((an + bn) >> 16);
	hdr[6] = (uint8_t)((an + bn) >> 8);
	hdr[7] = (uint8_t)(an + bn);
	r = psframe_write_all(fd, hdr, sizeof(hdr), deadline, stop);
	if (r == 0 && an)
		r = psframe_write_all(fd, a, an, deadline, stop);
	if (r == 0 && bn)
		r = psframe_write_all(fd, b, bn, deadline, stop);
	return r;
}
