/* The kernel counts what it could not queue (PACKET_STATISTICS tp_drops):
 * those are added to the drops exactly. On loopback each packet passes twice
 * (out, then in): the outgoing copy is skipped there. */
#include "family_dns_packet.h"
#include "buf.h"
#include "err.h"
#include "family_dns_tcp.h"
#include "family_dns_track.h"
#include "log.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define DNS_PKT_MAX    65536
#define DNS_PKT_RCVBUF (4 * 1024 * 1024)

struct family {
	int fd;
	struct family_dns_track *track;
	struct family_dns_tcp *tcp; /* DNS over TCP: the connections followed */
	uint64_t kdrops, overruns;
	uint64_t unread; /* DNS packets (port 53) that could not be read */
	uint8_t pkt[DNS_PKT_MAX];
};

/* UDP or TCP to or from port 53 (their ports at the same offsets) */
static const struct sock_filter dns_filter[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 10),
    /* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
    /* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 16),
    /* 5 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 14, 0), /* a fragment: no ports */
    /* 7 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    /* 8 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),
    /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 53, 10, 0),
    /* 10 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
    /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 53, 8, 9),
    /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 8),
    /* 13 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
    /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 1, 0),
    /* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 5),
    /* 16 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 40),
    /* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 53, 2, 0),
    /* 18 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 42),
    /* 19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 53, 0, 1),
    /* 20 */ BPF_STMT(BPF_RET | BPF_K, 0xffff),
    /* 21 */ BPF_STMT(BPF_RET | BPF_K, 0),
};

static void dnsp_stop(struct family *f)
{
	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	family_dns_track_free(f->track);
	family_dns_tcp_free(f->tcp);
	free(f);
}

static int dnsp_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	struct sock_fprog prog;
	int rc = YM_E_NOMEM, sz = DNS_PKT_RCVBUF, on = 1;

	if (f == NULL)
		goto out;
	f->fd = -1;
	rc = family_dns_track_new(env, &f->track);
	if (rc == 0)
		rc = family_dns_tcp_new(&f->tcp);
	if (rc != 0)
		goto out;
	f->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (f->fd < 0) {
		rc = errno == EPERM || errno == EACCES ? YM_E_AUTH : YM_E_UNSUPPORTED;
		goto out;
	}
	prog.len = sizeof(dns_filter) / sizeof(dns_filter[0]);
	prog.filter = (struct sock_filter *)dns_filter;
	if (setsockopt(f->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
		rc = YM_E_UNSUPPORTED;
		goto out;
	}
	if (setsockopt(f->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		(void)setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* each packet's receive time: the event's (without it, the read's) */
	(void)setsockopt(f->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	*out = f;
	f = NULL;
	rc = 0;
out:
	dnsp_stop(f);
	return rc;
}

static int dnsp_fd(const struct family *f)
{
	return f->fd;
}

/* Returns 0 and the UDP datagram's or TCP segment's ends and payload of
 * an IPv4/IPv6 packet (g; *l4p: IPPROTO_UDP or IPPROTO_TCP), or
 * YM_E_PARSE. */
static int dnsp_parse(const uint8_t *p, size_t n, int proto, int *l4p, struct family_dns_tcp_seg *g)
{
	struct cursor c;
	const uint8_t *skip;
	uint8_t vihl, l4, off, flags;
	uint16_t totlen, ulen, csum;
	int *af = &g->af;
	const uint8_t **src = &g->src, **dst = &g->dst, **pl = &g->data;
	uint16_t *sport = &g->sport, *dport = &g->dport;
	size_t *pllen = &g->len;

	cursor_init(&c, p, n);
	if (proto == ETH_P_IP) {
		size_t hl;

		if (cursor_get_u8(&c, &vihl) != 0 || (vihl >> 4) != 4 || (vihl & 0xf) < 5)
			return YM_E_PARSE;
		hl = (size_t)(vihl & 0xf) * 4;
		if (cursor_get_bytes(&c, 1, &skip) != 0 || cursor_get_u16(&c, &totlen) != 0 ||
		    cursor_get_bytes(&c, 5, &skip) != 0 || cursor_get_u8(&c, &l4) != 0 ||
		    cursor_get_bytes(&c, 2, &skip) != 0 || cursor_get_bytes(&c, 4, src) != 0 ||
		    cursor_get_bytes(&c, 4, dst) != 0 || cursor_get_bytes(&c, hl - 20, &skip) != 0)
			return YM_E_PARSE;
		if (totlen < hl || totlen > n)
			return YM_E_PARSE;
		c.len = totlen; /* ignore link padding */
		*af = AF_INET;
	} else if (proto == ETH_P_IPV6) {
		uint16_t plen;

		if (cursor_get_u8(&c, &vihl) != 0 || (vihl >> 4) != 6 ||
		    cursor_get_bytes(&c, 3, &skip) != 0 || cursor_get_u16(&c, &plen) != 0 ||
		    cursor_get_u8(&c, &l4) != 0 || cursor_get_bytes(&c, 1, &skip) != 0 ||
		    cursor_get_bytes(&c, 16, src) != 0 || cursor_get_bytes(&c, 16, dst) != 0)
			return YM_E_PARSE;
		if ((size_t)plen + 40 > n)
			return YM_E_PARSE;
		c.len = (size_t)plen + 40;
		*af = AF_INET6;
	} else {
		return YM_E_PARSE;
	}
	*l4p = l4;
	g->seq = 0;
	g->flags = 0;
	if (l4 == IPPROTO_TCP) {
		/* ports, sequence number, acknowledgment, data offset, flags */
		if (cursor_get_u16(&c, sport) != 0 || cursor_get_u16(&c, dport) != 0 ||
		    cursor_get_u32(&c, &g->seq) != 0 || cursor_get_bytes(&c, 4, &skip) != 0 ||
		    cursor_get_u8(&c, &off) != 0 || cursor_get_u8(&c, &flags) != 0 ||
		    (off >> 4) < 5 || cursor_get_bytes(&c, (size_t)(off >> 4) * 4 - 14, &skip) != 0)
			return YM_E_PARSE;
		g->flags = flags;
		*pllen = cursor_left(&c);
		return cursor_get_bytes(&c, *pllen, pl) == 0 ? 0 : YM_E_PARSE;
	}
	if (l4 != IPPROTO_UDP || cursor_get_u16(&c, sport) != 0 || cursor_get_u16(&c, dport) != 0 ||
	    cursor_get_u16(&c, &ulen) != 0 || cursor_get_u16(&c, &csum) != 0 || ulen < 8)
		return YM_E_PARSE;
	if ((size_t)ulen - 8 > cursor_left(&c))
		return YM_E_PARSE;
	*pllen = (size_t)ulen - 8;
	return cursor_get_bytes(&c, *pllen, pl) == 0 ? 0 : YM_E_PARSE;
}

static void dnsp_kernel_drops(struct family *f)
{
	struct tpacket_stats ts;
	socklen_t sl = sizeof(ts);

	/* reading resets the kernel's counters, so each drop is added once */
	if (getsockopt(f->fd, SOL_PACKET, PACKET_STATISTICS, &ts, &sl) == 0 && ts.tp_drops != 0) {
		f->kdrops += ts.tp_drops;
		f->overruns++;
	}
}

/* a DNS message out of a TCP connection, to the tracker as a datagram */
struct dnsp_msg_ctx {
	struct family *f;
	uint64_t ts_ns;
	family_emit_fn emit;
	void *arg;
};

static void dnsp_tcp_msg(void *arg, const struct family_dns_tcp_seg *s, const uint8_t *msg,
			 size_t n, size_t wire_len)
{
	struct dnsp_msg_ctx *mc = arg;

	(void)family_dns_track_packet(mc->f->track, IPPROTO_TCP, s->af, s->src, s->sport, s->dst,
				      s->dport, msg, n, wire_len, 0, FAMILY_UID_NONE, mc->ts_ns,
				      mc->emit, mc->arg);
}

static int dnsp_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	int handled = 0;

	while (handled < max) {
		struct sockaddr_ll ll;
		/* the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME) */
		union {
			struct cmsghdr h;
			uint8_t b[CMSG_SPACE(sizeof(struct timespec))];
		} cb;
		struct iovec iov = {.iov_base = f->pkt, .iov_len = sizeof(f->pkt)};
		struct msghdr mh = {.msg_name = &ll,
				    .msg_namelen = sizeof(ll),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cb.b,
				    .msg_controllen = sizeof(cb.b)};
		ssize_t n = recvmsg(f->fd, &mh, MSG_TRUNC);
		struct family_dns_tcp_seg g;
		uint64_t ts_ns = 0;
		int l4;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return YM_E_IO;
		}
		handled++;
		if (ll.sll_pkttype == PACKET_OUTGOING && ll.sll_hatype == ARPHRD_LOOPBACK)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			struct timespec t;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS ||
			    c->cmsg_len < CMSG_LEN(sizeof(t)))
				continue;
			memcpy(&t, CMSG_DATA(c), sizeof(t));
			if (t.tv_sec > 0 && t.tv_nsec >= 0 && t.tv_nsec < 1000000000l)
				ts_ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		}
		if ((size_t)n > sizeof(f->pkt))
			n = sizeof(f->pkt); /* MSG_TRUNC gave the real size; parse what we have */
		if (dnsp_parse(f->pkt, (size_t)n, ntohs(ll.sll_protocol), &l4, &g) != 0) {
			/* UDP or TCP to or from port 53 (the filter's) that cannot
			 * be read: a first fragment of a large answer, a packet cut
			 * at the buffer, a malformed one: a query or answer lost */
			f->unread++;
			continue;
		}
		if (l4 == IPPROTO_TCP) {
			struct dnsp_msg_ctx mc = {f, ts_ns, emit, arg};

			/* a stream given up: its messages from here on are lost */
			f->unread += (uint64_t)family_dns_tcp_segment(f->tcp, &g, util_mono_ns(),
								      dnsp_tcp_msg, &mc);
			continue;
		}
		(void)family_dns_track_packet(f->track, IPPROTO_UDP, g.af, g.src, g.sport, g.dst,
					      g.dport, g.data, g.len, g.len, 0, FAMILY_UID_NONE,
					      ts_ns, emit, arg);
	}
	dnsp_kernel_drops(f);
	return handled;
}

static int dnsp_tick(struct family *f, family_emit_fn emit, void *arg)
{
	dnsp_kernel_drops(f);
	return family_dns_track_tick(f->track, emit, arg);
}

static int dnsp_flush(struct family *f, family_emit_fn emit, void *arg)
{
	return family_dns_track_flush(f->track, emit, arg);
}

/* At the stop, before the last polls: a filter that takes nothing replaces
 * the DNS filter, so no packet is queued any more; the queued ones stay
 * readable. */
static void dnsp_quiesce(struct family *f)
{
	static const struct sock_filter none[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog prog = {.len = 1, .filter = (struct sock_filter *)none};

	if (setsockopt(f->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
		LOG_D("family_dns", "cannot stop the packet socket: %s", strerror(errno));
}

static void dnsp_stats(const struct family *f, struct family_stats *out)
{
	uint64_t malformed;

	family_dns_track_stats(f->track, out, &malformed);
	out->drops += f->kdrops + f->unread;
	out->overruns += f->overruns;
}

const struct family_ops family_dns_packet_ops = {
    .family = "dns",
    .mode = "packet",
    .start = dnsp_start,
    .fd = dnsp_fd,
    .poll = dnsp_poll,
    .tick = dnsp_tick,
    .flush = dnsp_flush,
    .quiesce = dnsp_quiesce,
    .stats = dnsp_stats,
    .stop = dnsp_stop,
};
