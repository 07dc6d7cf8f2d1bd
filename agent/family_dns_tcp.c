#include "family_dns_tcp.h"
#include "err.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum dt_state {
	DT_LEN,	 /* at a boundary: the next 2 bytes are a length */
	DT_HALF, /* the length's first byte seen */
	DT_MSG,	 /* in a message: its first bytes are kept */
	DT_WAIT, /* the SYN of this direction not seen yet */
	DT_LOST, /* not followed any more */
};

struct dt_dir {
	enum dt_state st;
	uint32_t seq;  /* the sequence number of the next new byte */
	uint16_t len;  /* the current message's length */
	size_t got;    /* its bytes kept in buf */
	uint32_t left; /* its bytes still to pass after the kept ones */
	int fin;       /* this direction ended */
	uint8_t buf[FAMILY_DNS_TCP_MSG];
};

struct dt_flow {
	int used;
	int af;
	uint8_t client[16], server[16];
	uint16_t cport;
	uint64_t last_ns;
	struct dt_dir d[2]; /* 0: client to server (queries), 1: back (responses) */
};

struct family_dns_tcp {
	struct dt_flow flows[FAMILY_DNS_TCP_FLOWS];
};

int family_dns_tcp_new(struct family_dns_tcp **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : YM_E_NOMEM;
}

void family_dns_tcp_free(struct family_dns_tcp *t)
{
	free(t);
}

static struct dt_flow *dt_find(struct family_dns_tcp *t, int af, const uint8_t *client,
			       uint16_t cport, const uint8_t *server)
{
	size_t alen = af == AF_INET ? 4 : 16;

	for (size_t i = 0; i < FAMILY_DNS_TCP_FLOWS; i++) {
		struct dt_flow *f = &t->flows[i];

		if (f->used && f->af == af && f->cport == cport &&
		    memcmp(f->client, client, alen) == 0 && memcmp(f->server, server, alen) == 0)
			return f;
	}
	return NULL;
}

/* The connection's entry, new: f (its entry until now), else a free one,
 * else the least recent. */
static struct dt_flow *dt_add(struct family_dns_tcp *t, struct dt_flow *f, int af,
			      const uint8_t *client, uint16_t cport, const uint8_t *server)
{
	size_t alen = af == AF_INET ? 4 : 16;

	struct dt_flow *old = f;

	for (size_t i = 0; old == NULL && i < FAMILY_DNS_TCP_FLOWS; i++) {
		struct dt_flow *e = &t->flows[i];

		if (!e->used) {
			f = e;
			break;
		}
		if (f == NULL || e->last_ns < f->last_ns)
			f = e;
	}
	memset(f, 0, sizeof(*f));
	f->used = 1;
	f->af = af;
	f->cport = cport;
	memcpy(f->client, client, alen);
	memcpy(f->server, server, alen);
	return f;
}

/* Feeds n bytes of direction d's stream; calls fn for each message they
 * complete. */
static void dt_bytes(struct dt_dir *d, const struct family_dns_tcp_seg *s, const uint8_t *p,
		     size_t n, family_dns_tcp_msg_fn fn, void *arg)
{
	while (n > 0) {
		size_t k;

		if (d->left > 0) {
			k = d->left < n ? d->left : n;
			d->left -= (uint32_t)k;
		} else if (d->st == DT_LEN || d->st == DT_HALF) {
			k = 1;
			if (d->st == DT_LEN) {
				d->len = (uint16_t)(p[0] << 8);
				d->st = DT_HALF;
			} else {
				d->len = (uint16_t)(d->len | p[0]);
				d->st = DT_MSG;
				d->got = 0;
				if (d->len == 0)
					d->st = DT_LEN;
			}
		} else {
			size_t want = d->len < FAMILY_DNS_TCP_MSG ? d->len : FAMILY_DNS_TCP_MSG;

			k = want - d->got < n ? want - d->got : n;
			memcpy(d->buf + d->got, p, k);
			d->got += k;
			if (d->got == want) {
				/* shorter than a DNS header: no DNS, passed over */
				if (d->len >= 12)
					fn(arg, s, d->buf, d->got, d->len);
				d->left = (uint32_t)(d->len - want);
				d->st = DT_LEN;
			}
		}
		p += k;
		n -= k;
	}
}

int family_dns_tcp_segment(struct family_dns_tcp *t, const struct family_dns_tcp_seg *s,
			   uint64_t now_ns, family_dns_tcp_msg_fn fn, void *arg)
{
	const uint8_t *client, *server, *p = s->data;
	struct dt_flow *f;
	struct dt_dir *d;
	uint16_t cport;
	uint32_t seq = s->seq;
	size_t n = s->len;
	int dir, lost = 0;
	int32_t delta;

	if ((s->af != AF_INET && s->af != AF_INET6) || (n > 0 && p == NULL))
		return 0;
	if (s->dport == 53) {
		dir = 0;
		client = s->src;
		cport = s->sport;
		server = s->dst;
	} else if (s->sport == 53) {
		dir = 1;
		client = s->dst;
		cport = s->dport;
		server = s->src;
	} else {
		return 0;
	}
	f = dt_find(t, s->af, client, cport, server);
	if (s->flags & FAMILY_DNS_TCP_SYN) {
		if (f == NULL || (f->d[dir].st != DT_WAIT && dir == 0)) {
			/* a new connection (or the port used again) */
			f = dt_add(t, f, s->af, client, cport, server);
			f->d[0].st = f->d[1].st = DT_WAIT;
		}
		d = &f->d[dir];
		if (d->st == DT_WAIT) {
			d->st = DT_LEN;
			d->seq = seq + 1;
		}
		seq++; /* data with a SYN (fast open) follows its number */
	} else if (f == NULL) {
		if (n == 0)
			return 0; /* an ACK, a FIN: nothing lost */
		/* data of a connection whose start was not seen */
		f = dt_add(t, NULL, s->af, client, cport, server);
		f->d[0].st = f->d[1].st = DT_LOST;
		f->last_ns = now_ns;
		return 1;
	}
	f->last_ns = now_ns;
	d = &f->d[dir];
	if (d->st == DT_LOST)
		goto end;
	if (n > 0 && d->st == DT_WAIT) {
		d->st = DT_LOST; /* data before its SYN-ACK was seen */
		lost = 1;
		goto end;
	}
	delta = (int32_t)(seq - d->seq);
	if (n > 0 && delta > 0) {
		d->st = DT_LOST; /* a gap */
		lost = 1;
		goto end;
	}
	if (delta < 0) {
		/* a retransmission: only what follows the bytes seen (in
		 * unsigned arithmetic: -delta overflows at INT32_MIN) */
		size_t old = (size_t)(uint32_t)(d->seq - seq);

		if (old >= n)
			goto end;
		p += old;
		n -= old;
	}
	d->seq += (uint32_t)n;
	dt_bytes(d, s, p, n, fn, arg);
end:
	if (s->flags & FAMILY_DNS_TCP_RST) {
		f->used = 0;
	} else if (s->flags & FAMILY_DNS_TCP_FIN) {
		f->d[dir].fin = 1;
		if (f->d[0].fin && f->d[1].fin)
			f->used = 0;
	}
	return lost;
}
