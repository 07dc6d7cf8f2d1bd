/* family_net_sockdiag: the network family by polling NETLINK_SOCK_DIAG.
 *
 * Every FAMILY_NET_SOCKDIAG_MS a timerfd fires and TCP and UDP sockets of
 * both address families are dumped. Each socket (by inode) is reported once
 * per action: connect (TCP SYN_SENT/ESTABLISHED that is not accepted, UDP
 * connected), accept (ESTABLISHED whose local port is a listener's), listen
 * (TCP LISTEN), bind (unconnected UDP with a port). Sockets present at start
 * are taken as known and not reported. The owner comes from family_sock's
 * /proc scan. A socket that lives shorter than the interval is never seen:
 * polling cannot report it (documented in docs/sensors.md). */
#include "family_net_sockdiag.h"
#include "err.h"
#include "family_sock.h"
#include "family_util.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NET_SEEN_MAX	65536 /* sockets remembered; more are dropped and counted */
#define NET_SEEN_SLOTS	(NET_SEEN_MAX * 2)
#define NET_POLL_MAX	65536		  /* sockets looked at per poll */
#define NET_OWNER_AGE	(50ull * 1000000) /* /proc rescans at most every 50 ms */
#define NET_SWEEP_EVERY 5		  /* polls between sweeps of closed sockets */

enum net_action { NET_CONNECT = 1, NET_ACCEPT = 2, NET_LISTEN = 3, NET_BIND = 4 };

struct net_seen {
	uint64_t key; /* inode << 3 | action; 0 = empty */
	uint32_t gen;
};

struct family {
	struct family_env env;
	int diag_fd, timer_fd;
	struct family_sock_owners *owners;
	struct net_seen *seen;
	size_t nseen;
	uint32_t gen; /* sweep period */
	uint64_t polls;
	int baseline;		      /* first dump: remember, do not report */
	int tcp_per_family;	      /* the kernel refused the one-walk TCP request */
	struct family_sock_info *cur; /* sockets of the current poll */
	size_t ncur;
	struct net_seen *spare;	 /* the next table of a sweep */
	uint8_t listening[8192]; /* TCP ports with a listener in this poll (bitmap) */
	uint64_t malformed, lost_cur;
	struct family_stats st;
	struct event ev;
	char sip[FAMILY_UTIL_IP_MAX], dip[FAMILY_UTIL_IP_MAX];
	char sport[FAMILY_UTIL_U64_MAX], dport[FAMILY_UTIL_U64_MAX], pid[FAMILY_UTIL_U64_MAX];
};

static size_t net_slot(uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 33) % NET_SEEN_SLOTS;
}

/* Returns 1 when key was new (and is now remembered), 0 when known, -1 when
 * the table is full (not remembered). */
static int net_seen_mark(struct family *f, uint64_t key)
{
	size_t i = net_slot(key);

	while (f->seen[i].key != 0) {
		if (f->seen[i].key == key) {
			f->seen[i].gen = f->gen;
			return 0;
		}
		i = (i + 1) % NET_SEEN_SLOTS;
	}
	if (f->nseen >= NET_SEEN_MAX)
		return -1;
	f->seen[i].key = key;
	f->seen[i].gen = f->gen;
	f->nseen++;
	return 1;
}

/* Forgets sockets not seen in this poll: the live entries move to the spare
 * table (linear probing does not allow plain deletion), which becomes the
 * table. */
static void net_seen_sweep(struct family *f)
{
	struct net_seen *old = f->seen;
	size_t i;

	memset(f->spare, 0, NET_SEEN_SLOTS * sizeof(*f->spare));
	f->seen = f->spare;
	f->spare = old;
	f->nseen = 0;
	for (i = 0; i < NET_SEEN_SLOTS; i++)
		if (old[i].key != 0 && old[i].gen == f->gen)
			(void)net_seen_mark(f, old[i].key);
}

static void net_collect(void *arg, const struct family_sock_info *s)
{
	struct family *f = arg;

	if (s->inode == 0)
		return;
	if (s->proto == IPPROTO_TCP && s->state == TCP_LISTEN)
		f->listening[s->sport / 8] |= (uint8_t)(1u << (s->sport % 8));
	if (f->ncur >= NET_POLL_MAX) {
		f->lost_cur++;
		return;
	}
	f->cur[f->ncur++] = *s;
}

/* 1 when s's local port is a listener's in this poll (any address: a
 * listener on one address and an outbound connection from the same port on
 * another is rare enough to be taken as accepted) */
static int net_is_accepted(const struct family *f, const struct family_sock_info *s)
{
	return (f->listening[s->sport / 8] >> (s->sport % 8)) & 1;
}

static int net_emit(struct family *f, const struct family_sock_info *s, enum net_action a,
		    family_emit_fn emit, void *arg)
{
	static const char *const names[] = {"", "connect", "accept", "listen", "bind"};
	struct event *ev = &f->ev;
	int32_t pid = 0;
	int v6 = s->af == AF_INET6, initiated = a == NET_CONNECT;
	const uint8_t *la = s->src, *ra = s->dst;
	uint16_t lp = s->sport, rp = s->dport;
	int rc = 0;

	event_init(ev);
	ev->ts_ns = util_now_ns();
	ev->category = EVCAT_NETWORK_CONNECTION;
	if (family_sock_owner(f->owners, s->inode, f->env.self_pid, NET_OWNER_AGE, &pid) != 0)
		pid = 0;
	if (family_is_agent(&f->env, pid))
		return 0;
	if (family_util_ip(s->af, a == NET_ACCEPT ? ra : la, f->sip) != 0)
		return 0;
	family_util_u64(a == NET_ACCEPT ? rp : lp, f->sport);
	rc |= event_set_str(ev, "Action", names[a]);
	rc |= event_set_str(ev, "Protocol", s->proto == IPPROTO_TCP ? "tcp" : "udp");
	rc |= event_set_str(ev, "Initiated", initiated ? "true" : "false");
	rc |= event_set_str(ev, "SourceIp", f->sip);
	rc |= event_set_str(ev, "SourcePort", f->sport);
	rc |= event_set_str(ev, "SourceIsIpv6", v6 ? "true" : "false");
	if (a == NET_CONNECT || a == NET_ACCEPT) {
		if (family_util_ip(s->af, a == NET_ACCEPT ? la : ra, f->dip) != 0)
			return 0;
		family_util_u64(a == NET_ACCEPT ? lp : rp, f->dport);
		rc |= event_set_str(ev, "DestinationIp", f->dip);
		rc |= event_set_str(ev, "DestinationPort", f->dport);
		rc |= event_set_str(ev, "DestinationIsIpv6", v6 ? "true" : "false");
	}
	if (rc != 0 || family_util_proc(&f->env, pid, ev, f->pid) < 0 || emit(arg, ev) != 0) {
		f->st.drops++;
		return 0;
	}
	f->st.events++;
	return 1;
}

static int net_dump_all(struct family *f)
{
	static const int afs[2] = {AF_INET, AF_INET6};
	const uint32_t tcp_states = (1u << TCP_SYN_SENT) | (1u << TCP_ESTABLISHED) |
				    (1u << TCP_LISTEN) | (1u << TCP_CLOSE_WAIT);
	const uint32_t udp_states = (1u << TCP_ESTABLISHED) | (1u << TCP_CLOSE);
	int rc, i;

	f->ncur = 0;
	memset(f->listening, 0, sizeof(f->listening));
	/* TCP: one walk for both families where the kernel takes it (the
	 * established table's walk is most of a dump's cost on an idle host:
	 * docs/sensors.md), else one per family */
	if (!f->tcp_per_family) {
		rc = family_sock_dump(f->diag_fd, AF_UNSPEC, IPPROTO_TCP, tcp_states, net_collect,
				      f, &f->malformed);
		if (rc == YM_E_UNSUPPORTED) {
			f->tcp_per_family = 1;
			LOG_I("family_net", "sock_diag: TCP dumped per family (%s)",
			      ym_strerror(rc));
		} else if (rc != 0) {
			return rc;
		}
	}
	for (i = 0; i < 2; i++) {
		if (f->tcp_per_family) {
			rc = family_sock_dump(f->diag_fd, afs[i], IPPROTO_TCP, tcp_states,
					      net_collect, f, &f->malformed);
			if (rc != 0)
				return rc;
		}
		rc = family_sock_dump(f->diag_fd, afs[i], IPPROTO_UDP, udp_states, net_collect, f,
				      &f->malformed);
		if (rc != 0 && rc != YM_E_UNSUPPORTED)
			return rc;
	}
	return 0;
}

static enum net_action net_classify(const struct family *f, const struct family_sock_info *s)
{
	if (s->proto == IPPROTO_UDP) {
		if (s->state == TCP_ESTABLISHED)
			return NET_CONNECT;
		return s->sport != 0 ? NET_BIND : 0;
	}
	if (s->state == TCP_LISTEN)
		return NET_LISTEN;
	if (s->state == TCP_SYN_SENT)
		return NET_CONNECT;
	return net_is_accepted(f, s) ? NET_ACCEPT : NET_CONNECT;
}

static int net_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	uint64_t ticks;
	size_t i;
	int handled = 0, rc;

	(void)max; /* one dump is one unit of work: its new sockets are all reported */
	while (read(f->timer_fd, &ticks, sizeof(ticks)) > 0) {
	}
	f->lost_cur = 0;
	rc = net_dump_all(f);
	if (rc == YM_E_NOMEM) {
		/* this interval's new sockets are reported by the next dump
		 * only if they still exist: an unknown number lost */
		f->st.overruns++;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (f->lost_cur != 0) {
		f->st.overruns++;
		f->st.drops += f->lost_cur;
	}
	for (i = 0; i < f->ncur; i++) {
		const struct family_sock_info *s = &f->cur[i];
		enum net_action a = net_classify(f, s);
		int nw;

		if (a == 0)
			continue;
		nw = net_seen_mark(f, s->inode << 3 | (uint64_t)a);
		if (nw < 0) {
			f->st.drops++; /* cannot tell new from known: not reported */
			continue;
		}
		if (nw == 0 || f->baseline)
			continue;
		handled += net_emit(f, s, a, emit, arg);
	}
	f->baseline = 0;
	/* a socket seen in any poll of the period survives its sweep */
	if (++f->polls % NET_SWEEP_EVERY == 0) {
		net_seen_sweep(f);
		f->gen++;
	}
	return handled;
}

static int net_tick(struct family *f, family_emit_fn emit, void *arg)
{
	(void)f;
	(void)emit;
	(void)arg;
	return 0;
}

static void net_stop(struct family *f)
{
	if (f == NULL)
		return;
	if (f->diag_fd >= 0)
		close(f->diag_fd);
	if (f->timer_fd >= 0)
		close(f->timer_fd);
	family_sock_owners_free(f->owners);
	free(f->seen);
	free(f->spare);
	free(f->cur);
	free(f);
}

static int net_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	struct itimerspec its;
	int rc = YM_E_NOMEM;

	if (f == NULL)
		goto out;
	f->env = *env;
	f->diag_fd = f->timer_fd = -1;
	f->seen = calloc(NET_SEEN_SLOTS, sizeof(*f->seen));
	f->spare = calloc(NET_SEEN_SLOTS, sizeof(*f->spare));
	f->cur = calloc(NET_POLL_MAX, sizeof(*f->cur));
	if (f->seen == NULL || f->spare == NULL || f->cur == NULL ||
	    family_sock_owners_new(&f->owners) != 0)
		goto out;
	rc = family_sock_open(&f->diag_fd);
	if (rc != 0)
		goto out;
	f->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (f->timer_fd < 0) {
		rc = YM_E_IO;
		goto out;
	}
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_nsec = FAMILY_NET_SOCKDIAG_MS * 1000000l;
	its.it_value = its.it_interval;
	if (timerfd_settime(f->timer_fd, 0, &its, NULL) != 0) {
		rc = YM_E_IO;
		goto out;
	}
	f->baseline = 1;
	f->gen = 1;
	rc = net_dump_all(f); /* proves the kernel answers, and learns what exists */
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < f->ncur; i++) {
		enum net_action a = net_classify(f, &f->cur[i]);

		if (a != 0)
			(void)net_seen_mark(f, f->cur[i].inode << 3 | (uint64_t)a);
	}
	f->baseline = 0;
	*out = f;
	f = NULL;
	rc = 0;
out:
	net_stop(f);
	return rc;
}

static int net_fd(const struct family *f)
{
	return f->timer_fd;
}

static void net_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
	out->drops += f->malformed; /* sockets the dump could not read */
}

const struct family_ops family_net_sockdiag_ops = {
    .family = "network",
    .mode = "sock_diag",
    .start = net_start,
    .fd = net_fd,
    .poll = net_poll,
    .tick = net_tick,
    .stats = net_stats,
    .stop = net_stop,
};
