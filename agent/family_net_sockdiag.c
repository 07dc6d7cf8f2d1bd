/* family_net_sockdiag: the network family by polling NETLINK_SOCK_DIAG.
 *
 * Every FAMILY_NET_SOCKDIAG_MS a timerfd fires and TCP and UDP sockets of
 * both address families are dumped, unless the kernel's socket counters
 * (TCP opens, sockets in its tables) have not moved since the last dump
 * (then at least every NET_DUMP_EVERY polls). Each socket (by cookie) is reported once
 * per action: connect (TCP SYN_SENT/ESTABLISHED that is not accepted, UDP
 * connected), accept (ESTABLISHED whose local port is a listener's), listen
 * (TCP LISTEN), bind (unconnected UDP with a port). Sockets present at start
 * are taken as known and not reported. The owner comes from family_sock's
 * /proc scan.
 *
 * A socket that lives shorter than the interval is never in a dump. The
 * kernel's report of each socket's destruction (family_sock_destroy_open)
 * covers those: a connected socket no dump showed is reported at its end,
 * with its addresses and ports but without a process or user (the kernel
 * gives neither at that point), and repeated connections of one flow are
 * summarised with Count as in the eBPF mode (docs/sensors.md). The family's
 * descriptor is an epoll set of the timer and that socket. */
#include "family_net_sockdiag.h"
#include "err.h"
#include "family_sock.h"
#include "family_util.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NET_SEEN_MAX	65536 /* sockets remembered; more are dropped and counted */
#define NET_SEEN_SLOTS	(NET_SEEN_MAX * 2)
/* the table's first size: it doubles as sockets come (at half full), so an
 * idle host's sweeps walk 16 KiB, not 2 MiB */
#define NET_SEEN_MIN	1024
#define NET_POLL_MAX	65536		  /* sockets looked at per poll */
#define NET_OWNER_AGE	(50ull * 1000000) /* /proc rescans at most every 50 ms */
#define NET_SWEEP_EVERY 5		  /* polls between sweeps of closed sockets */
/* destruction reports: read NET_DX_BATCH datagrams per system call, each
 * one report of ~380 bytes (TCP, with tcp_info); a 2 MiB buffer holds
 * ~2,700 of them (each takes ~768 bytes of it) */
#define NET_DX_BATCH  32
#define NET_DX_MSG    1024
#define NET_DX_RCVBUF (2 << 20)
/* flows of destruction reports summarised (the eBPF mode's rule, bpf/net.h:
 * the first connection of a window alone, the others counted); a full table
 * sends a connection alone */
#define NET_FLOWS	1024
#define NET_FLOW_SLOTS	(NET_FLOWS * 2)
#define NET_AGG_WINDOW	1000000000ull  /* ns */
#define NET_AGG_IDLE	10000000000ull /* ns: an idle flow is forgotten */
#define NET_AGENT_PEERS 16	       /* remote endpoints of the agent's own connections */
/* a dump at least every NET_DUMP_EVERY polls; between, only when the
 * kernel's socket counters moved (net_counters) */
#define NET_DUMP_EVERY 10
#define NET_NCTR       6 /* TCP opens (active, passive), inuse TCP, UDP, TCP6, UDP6 */

enum net_action { NET_CONNECT = 1, NET_ACCEPT = 2, NET_LISTEN = 3, NET_BIND = 4 };

struct net_seen {
	uint64_t key; /* cookie << 3 | action; 0 = empty */
	uint32_t gen;
};

/* a flow: everything of a connection but the initiator's port */
struct net_flow {
	uint8_t used, action, proto, af;
	uint16_t port; /* the service's: destination of a connect, local of an accept */
	uint16_t pad;
	uint32_t pending;    /* connections counted, not yet sent */
	uint64_t start_mono; /* the window's first connection (sent alone) */
	uint64_t start_wall;
	uint8_t laddr[16], raddr[16];
};

struct net_peer {
	uint8_t af, used;
	uint16_t port;
	uint8_t addr[16];
};

struct family {
	struct family_env env;
	int diag_fd, timer_fd, dx_fd, ep_fd;
	uint64_t dx_ino;  /* dx_fd's inode: its drops in /proc/net/netlink */
	uint64_t dx_lost; /* reports the kernel could not queue (read at ticks) */
	int dx_overrun;	  /* an overrun since the last read of dx_lost */
	int dx_quiesced;
	struct net_flow *flows, *flows_spare;
	size_t nflows;
	struct net_peer peers[NET_AGENT_PEERS];
	unsigned next_peer, fixed_peers; /* peers[0, fixed_peers): the server's */
	uint8_t dx_buf[NET_DX_BATCH][NET_DX_MSG];
	family_emit_fn dx_emit; /* during a drain: where reports' events go */
	void *dx_arg;
	int dx_refreshed; /* the listeners were dumped in this drain */
	struct family_sock_owners *owners;
	struct net_seen *seen;
	size_t nseen, nslots; /* nslots: a power of two, NET_SEEN_MIN .. NET_SEEN_SLOTS */
	uint32_t gen; /* sweep period */
	uint64_t polls;
	int baseline;		      /* first dump: remember, do not report */
	int tcp_per_family;	      /* the kernel refused the one-walk TCP request */
	struct family_sock_info *cur; /* sockets of the current poll */
	size_t ncur;
	struct net_seen *spare;	 /* the next table of a sweep */
	uint8_t listening[8192]; /* TCP ports with a listener in this poll (bitmap) */
	uint8_t listened[8192];	 /* ... in the poll before (destruction reports) */
	uint16_t eph_lo, eph_hi; /* net.ipv4.ip_local_port_range */
	uint64_t malformed, lost_cur;
	uint64_t no_file; /* sockets of this dump without a file yet (accept queue) */
	/* /proc/thread-self/net/snmp, sockstat, sockstat6 (-1: not open) and
	 * their counters before the last complete dump */
	int ctr_fd[3];
	int ctr_valid;
	uint64_t ctr[NET_NCTR];
	unsigned since_dump;	 /* polls without a dump since the last */
	uint64_t dumps, skipped; /* polls that dumped, that did not */
	int dump_whole;		 /* the last dump showed every socket it found */
	struct family_stats st;
	struct event ev;
	char sip[FAMILY_UTIL_IP_MAX], dip[FAMILY_UTIL_IP_MAX];
	char sport[FAMILY_UTIL_U64_MAX], dport[FAMILY_UTIL_U64_MAX], pid[FAMILY_UTIL_U64_MAX];
	char count[FAMILY_UTIL_U64_MAX];
};

static size_t net_slot(const struct family *f, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 33) & (f->nslots - 1);
}

/* key's slot in f->seen: its own, or the empty one where it would go */
static size_t net_seen_find(const struct family *f, uint64_t key)
{
	size_t i = net_slot(f, key);

	while (f->seen[i].key != 0 && f->seen[i].key != key)
		i = (i + 1) & (f->nslots - 1);
	return i;
}

/* Doubles the table (and its spare), keeping every entry. Returns 0 or
 * YM_E_NOMEM (the table is left as it was). */
static int net_seen_grow(struct family *f)
{
	size_t n = f->nslots * 2, i;
	struct net_seen *t = calloc(n, sizeof(*t)), *sp = calloc(n, sizeof(*sp)), *old = f->seen;
	size_t on = f->nslots;

	if (t == NULL || sp == NULL) {
		free(t);
		free(sp);
		return YM_E_NOMEM;
	}
	f->seen = t;
	f->nslots = n;
	for (i = 0; i < on; i++)
		if (old[i].key != 0)
			t[net_seen_find(f, old[i].key)] = old[i];
	free(old);
	free(f->spare);
	f->spare = sp;
	return 0;
}

/* Returns 1 when key was new (and is now remembered), 0 when known, -1 when
 * the table is full (not remembered). */
static int net_seen_mark(struct family *f, uint64_t key)
{
	size_t i = net_seen_find(f, key);

	if (f->seen[i].key == key) {
		f->seen[i].gen = f->gen;
		return 0;
	}
	if (f->nseen >= NET_SEEN_MAX)
		return -1;
	if ((f->nseen + 1) * 2 > f->nslots) {
		/* at most half full: linear probing's chains stay short */
		if (f->nslots >= NET_SEEN_SLOTS || net_seen_grow(f) != 0)
			return -1;
		i = net_seen_find(f, key);
	}
	f->seen[i].key = key;
	f->seen[i].gen = f->gen;
	f->nseen++;
	return 1;
}

/* 1 when key is remembered */
static int net_seen_has(const struct family *f, uint64_t key)
{
	return f->seen[net_seen_find(f, key)].key == key;
}

/* Forgets sockets not seen in this poll: the live entries move to the spare
 * table (linear probing does not allow plain deletion), which becomes the
 * table. */
static void net_seen_sweep(struct family *f)
{
	struct net_seen *old = f->seen;
	size_t i;

	memset(f->spare, 0, f->nslots * sizeof(*f->spare));
	f->seen = f->spare;
	f->spare = old;
	f->nseen = 0;
	for (i = 0; i < f->nslots; i++)
		if (old[i].key != 0 && old[i].gen == f->gen)
			(void)net_seen_mark(f, old[i].key);
}

/* 1 when s's local port is a listener's in this poll (any address: a
 * listener on one address and an outbound connection from the same port on
 * another is rare enough to be taken as accepted) */
static int net_is_accepted(const struct family *f, const struct family_sock_info *s)
{
	return (f->listening[s->sport / 8] >> (s->sport % 8)) & 1;
}

static void net_collect(void *arg, const struct family_sock_info *s)
{
	struct family *f = arg;

	if (s->cookie == 0)
		return;
	if (s->inode == 0) {
		/* an accepted connection still in its listener's queue (in
		 * the states asked for, the only socket without one): the
		 * next dump shows its file, though no counter moves
		 * meanwhile. Counted only on a listener's port (a dump gives
		 * the listeners first), so nothing else keeps every poll
		 * dumping */
		if (s->proto == IPPROTO_TCP && s->state != TCP_LISTEN && net_is_accepted(f, s))
			f->no_file++;
		return;
	}
	if (s->proto == IPPROTO_TCP && s->state == TCP_LISTEN)
		f->listening[s->sport / 8] |= (uint8_t)(1u << (s->sport % 8));
	if (f->ncur >= NET_POLL_MAX) {
		f->lost_cur++;
		return;
	}
	f->cur[f->ncur++] = *s;
}

/* The agent's own peers (its server), learnt from the dumps: a destroyed
 * socket to one of them that no dump showed is the agent's too (a refused
 * attempt, a connection shorter than the interval), and not reported. */
static void net_peer_put(struct family *f, int af, const uint8_t addr[16], uint16_t port)
{
	struct net_peer *p;

	for (int i = 0; i < NET_AGENT_PEERS; i++) {
		p = &f->peers[i];
		if (p->used && p->af == af && p->port == port && memcmp(p->addr, addr, 16) == 0)
			return;
	}
	/* the first (the configured server's) stay; learnt ones rotate */
	if (f->next_peer >= NET_AGENT_PEERS)
		f->next_peer = f->fixed_peers;
	p = &f->peers[f->next_peer++];
	p->used = 1;
	p->af = (uint8_t)af;
	p->port = port;
	memcpy(p->addr, addr, 16);
}

static void net_peer_add(struct family *f, const struct family_sock_info *s)
{
	net_peer_put(f, s->af, s->dst, s->dport);
}

/* The configured server's address, when its URL names one: https://HOST,
 * https://HOST:PORT, https://[V6]:PORT, a path after it; localhost as both
 * loopbacks. A name is not resolved here (the root process does no DNS):
 * its address is learnt from the dumps. */
static void net_peer_server(struct family *f, const char *url)
{
	char host[64];
	const char *h, *e, *colon;
	unsigned long port = 443;
	uint8_t addr[16];
	size_t n;

	/* the uplink talks https only (http.c refuses another scheme) */
	if (url == NULL || strncmp(url, "https://", 8) != 0)
		return;
	h = url + 8;
	if (*h == '[') {
		e = strchr(++h, ']');
		if (e == NULL)
			return;
		colon = e[1] == ':' ? e + 1 : NULL;
	} else {
		e = h + strcspn(h, ":/?#");
		colon = *e == ':' ? e : NULL;
	}
	n = (size_t)(e - h);
	if (n == 0 || n >= sizeof(host))
		return;
	memcpy(host, h, n);
	host[n] = 0;
	if (colon != NULL) {
		char *end;

		port = strtoul(colon + 1, &end, 10);
		if (end == colon + 1 || port == 0 || port > 65535 ||
		    (*end != 0 && *end != '/' && *end != '?' && *end != '#'))
			return;
	}
	memset(addr, 0, sizeof(addr));
	if (strcmp(host, "localhost") == 0) {
		addr[0] = 127;
		addr[3] = 1;
		net_peer_put(f, AF_INET, addr, (uint16_t)port);
		memset(addr, 0, sizeof(addr));
		addr[15] = 1;
		net_peer_put(f, AF_INET6, addr, (uint16_t)port);
	} else if (inet_pton(AF_INET, host, addr) == 1) {
		net_peer_put(f, AF_INET, addr, (uint16_t)port);
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		net_peer_put(f, AF_INET6, addr, (uint16_t)port);
	}
	f->fixed_peers = f->next_peer;
}

static int net_peer_is_agent(const struct family *f, const struct family_sock_info *s)
{
	for (int i = 0; i < NET_AGENT_PEERS; i++) {
		const struct net_peer *p = &f->peers[i];

		if (p->used && p->af == s->af && p->port == s->dport &&
		    memcmp(p->addr, s->dst, 16) == 0)
			return 1;
	}
	return 0;
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
	if (family_is_agent(&f->env, pid)) {
		/* its connections that end before a dump are not reported
		 * either: their ends are told by their peer */
		if (a == NET_CONNECT)
			net_peer_add(f, s);
		return 0;
	}
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
	f->no_file = 0;
	memcpy(f->listened, f->listening, sizeof(f->listening));
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

/* An event for a connection known only from its socket's destruction (no
 * process, no user: the kernel gives neither then): n == 0 is one
 * connection with its initiator's port, n > 0 a summary of n (Count, no
 * SourcePort) whose window began at wall_ns. Returns 1 when emitted. */
static int net_dx_emit(struct family *f, int af, int proto, enum net_action a, const uint8_t *la,
		       uint16_t lp, const uint8_t *ra, uint16_t rp, uint32_t n, uint64_t wall_ns)
{
	struct event *ev = &f->ev;
	int v6 = af == AF_INET6, accept = a == NET_ACCEPT;
	uint64_t lost = n ? n : 1;
	int rc = 0;

	event_init(ev);
	ev->ts_ns = wall_ns;
	ev->category = EVCAT_NETWORK_CONNECTION;
	if (family_util_ip(af, accept ? ra : la, f->sip) != 0 ||
	    family_util_ip(af, accept ? la : ra, f->dip) != 0) {
		f->st.drops += lost;
		return 0;
	}
	rc |= event_set_str(ev, "Action", accept ? "accept" : "connect");
	rc |= event_set_str(ev, "Protocol", proto == IPPROTO_TCP ? "tcp" : "udp");
	rc |= event_set_str(ev, "Initiated", accept ? "false" : "true");
	rc |= event_set_str(ev, "SourceIp", f->sip);
	if (n == 0)
		rc |= event_set_str(ev, "SourcePort", family_util_u64(accept ? rp : lp, f->sport));
	rc |= event_set_str(ev, "SourceIsIpv6", v6 ? "true" : "false");
	rc |= event_set_str(ev, "DestinationIp", f->dip);
	rc |= event_set_str(ev, "DestinationPort", family_util_u64(accept ? lp : rp, f->dport));
	rc |= event_set_str(ev, "DestinationIsIpv6", v6 ? "true" : "false");
	if (n)
		rc |= event_set_str(ev, "Count", family_util_u64(n, f->count));
	if (rc != 0 || f->dx_emit(f->dx_arg, ev) != 0) {
		f->st.drops += lost;
		return 0;
	}
	f->st.events++;
	return 1;
}

static size_t net_flow_slot(const struct net_flow *k)
{
	uint64_t h =
	    (uint64_t)k->action << 40 ^ (uint64_t)k->proto << 32 ^ (uint64_t)k->af << 24 ^ k->port;

	for (int i = 0; i < 16; i += 4) {
		uint32_t l, r;

		memcpy(&l, k->laddr + i, 4);
		memcpy(&r, k->raddr + i, 4);
		h = (h ^ l) * 0x9e3779b97f4a7c15ull;
		h = (h ^ r) * 0x9e3779b97f4a7c15ull;
	}
	return (size_t)(h >> 32) % NET_FLOW_SLOTS;
}

static int net_flow_eq(const struct net_flow *x, const struct net_flow *k)
{
	return x->action == k->action && x->proto == k->proto && x->af == k->af &&
	       x->port == k->port && memcmp(x->laddr, k->laddr, 16) == 0 &&
	       memcmp(x->raddr, k->raddr, 16) == 0;
}

/* k's element, added (window not begun: start_mono 0) when new; NULL when
 * the table is full. */
static struct net_flow *net_flow_get(struct family *f, const struct net_flow *k)
{
	size_t i = net_flow_slot(k);

	while (f->flows[i].used) {
		if (net_flow_eq(&f->flows[i], k))
			return &f->flows[i];
		i = (i + 1) % NET_FLOW_SLOTS;
	}
	if (f->nflows >= NET_FLOWS)
		return NULL;
	f->flows[i] = *k;
	f->flows[i].used = 1;
	f->nflows++;
	return &f->flows[i];
}

static int net_flow_summary(struct family *f, struct net_flow *x)
{
	int accept = x->action == NET_ACCEPT;
	uint32_t n = x->pending;

	x->pending = 0;
	/* a summary has no initiator's port: 0 stands in */
	return net_dx_emit(f, x->af, x->proto, (enum net_action)x->action, x->laddr,
			   accept ? x->port : 0, x->raddr, accept ? 0 : x->port, n, x->start_wall);
}

/* At a tick and at the stop: every pending count goes as a summary; the
 * flows idle for NET_AGG_IDLE (all of them with all set) are forgotten. */
static int net_flows_flush(struct family *f, int all)
{
	uint64_t now = util_mono_ns();
	struct net_flow *old = f->flows;
	size_t i, idle = 0;
	int handled = 0;

	for (i = 0; i < NET_FLOW_SLOTS; i++) {
		struct net_flow *x = &old[i];

		if (!x->used)
			continue;
		if (x->pending)
			handled += net_flow_summary(f, x);
		if (all || now - x->start_mono >= NET_AGG_IDLE) {
			x->used = 2; /* to forget */
			idle++;
		}
	}
	if (idle == 0)
		return handled;
	/* linear probing has no plain delete: the rest move to the spare */
	memset(f->flows_spare, 0, NET_FLOW_SLOTS * sizeof(*f->flows_spare));
	f->flows = f->flows_spare;
	f->flows_spare = old;
	f->nflows = 0;
	for (i = 0; i < NET_FLOW_SLOTS; i++)
		if (old[i].used == 1)
			*net_flow_get(f, &old[i]) = old[i];
	return handled;
}

static void net_listener(void *arg, const struct family_sock_info *s)
{
	struct family *f = arg;

	if (s->state == TCP_LISTEN)
		f->listening[s->sport / 8] |= (uint8_t)(1u << (s->sport % 8));
}

/* The listeners now, added to the dump's: a dump of TCP LISTEN sockets
 * only, which walks the kernel's listener table and not the established
 * one (cheap, unlike a full dump). At most once per drain. */
static void net_refresh_listeners(struct family *f)
{
	static const int afs[2] = {AF_INET, AF_INET6};

	if (f->dx_refreshed)
		return;
	f->dx_refreshed = 1;
	if (!f->tcp_per_family &&
	    family_sock_dump(f->diag_fd, AF_UNSPEC, IPPROTO_TCP, 1u << TCP_LISTEN, net_listener, f,
			     &f->malformed) == 0)
		return;
	for (int i = 0; i < 2; i++)
		(void)family_sock_dump(f->diag_fd, afs[i], IPPROTO_TCP, 1u << TCP_LISTEN,
				       net_listener, f, &f->malformed);
}

static int net_in_eph(const struct family *f, uint16_t port)
{
	return port >= f->eph_lo && port <= f->eph_hi;
}

/* Whether a destroyed TCP socket was accepted: its local port had a
 * listener in one of the last two dumps; where neither knew one (a server
 * started since the last dump, or one that lived shorter than the
 * interval), its local port outside the kernel's range of ports for
 * outbound connections while the peer's is in it; where both are in it
 * (a server on a port the kernel picked: FTP's passive data, `nc -l 0`),
 * the listeners as they are now. */
static int net_dx_accepted(struct family *f, const struct family_sock_info *s)
{
	if (net_is_accepted(f, s) || ((f->listened[s->sport / 8] >> (s->sport % 8)) & 1))
		return 1;
	if (!net_in_eph(f, s->dport))
		return 0;
	if (!net_in_eph(f, s->sport))
		return 1;
	net_refresh_listeners(f);
	return net_is_accepted(f, s);
}

/* One destruction report. */
static void net_dx_report(void *arg, const struct family_sock_info *s)
{
	struct family *f = arg;
	struct net_flow k, *x;
	enum net_action a;
	uint64_t now;

	/* connected sockets only: a listener's end, an unconnected socket's
	 * (bound UDP, a socket never used) says nothing the dumps did not */
	if (s->dport == 0 || s->cookie == 0)
		return;
	a = s->proto == IPPROTO_TCP && net_dx_accepted(f, s) ? NET_ACCEPT : NET_CONNECT;
	/* a dump showed it (reported then, or the agent's, or there at the
	 * start); as either action: its listener may have closed since */
	if (net_seen_has(f, s->cookie << 3 | NET_CONNECT) ||
	    net_seen_has(f, s->cookie << 3 | NET_ACCEPT))
		return;
	if (a == NET_CONNECT && net_peer_is_agent(f, s))
		return;
	memset(&k, 0, sizeof(k));
	k.action = (uint8_t)a;
	k.proto = s->proto;
	k.af = s->af;
	k.port = a == NET_ACCEPT ? s->sport : s->dport;
	memcpy(k.laddr, s->src, 16);
	memcpy(k.raddr, s->dst, 16);
	now = util_mono_ns();
	x = net_flow_get(f, &k);
	if (x != NULL && x->start_mono != 0 && now - x->start_mono < NET_AGG_WINDOW &&
	    x->pending < UINT32_MAX) {
		x->pending++;
		return;
	}
	if (x != NULL) {
		/* a new window, opened by this connection (sent alone); what
		 * the last one counted goes first */
		if (x->pending)
			(void)net_flow_summary(f, x);
		x->start_mono = now;
		x->start_wall = util_now_ns();
	}
	(void)net_dx_emit(f, s->af, s->proto, a, s->src, s->sport, s->dst, s->dport, 0,
			  util_now_ns());
}

/* Reads at most max destruction reports' datagrams. Returns how many it
 * read (the poll's unit of work: most are counted in a flow, not sent), or
 * YM_E_IO. */
static int net_dx_drain(struct family *f, int max, family_emit_fn emit, void *arg)
{
	struct mmsghdr mm[NET_DX_BATCH];
	struct iovec iov[NET_DX_BATCH];
	struct sockaddr_nl from[NET_DX_BATCH];
	int read_n = 0;

	f->dx_emit = emit;
	f->dx_arg = arg;
	f->dx_refreshed = 0;
	while (read_n < max) {
		int want = max - read_n < NET_DX_BATCH ? max - read_n : NET_DX_BATCH, got;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < want; i++) {
			iov[i].iov_base = f->dx_buf[i];
			iov[i].iov_len = NET_DX_MSG;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		got = recvmmsg(f->dx_fd, mm, (unsigned)want, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* how many: the kernel's count, read at the tick */
				f->st.overruns++;
				f->dx_overrun = 1;
				continue;
			}
			return YM_E_IO;
		}
		for (int i = 0; i < got; i++) {
			/* only the kernel (port 0) reports; a report cut short
			 * (larger than a buffer) is not read */
			if (mm[i].msg_hdr.msg_namelen != sizeof(from[i]) || from[i].nl_pid != 0 ||
			    (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				f->malformed++;
				continue;
			}
			(void)family_sock_destroy_parse(f->dx_buf[i], mm[i].msg_len, net_dx_report,
							f, &f->malformed);
		}
		read_n += got;
		if (got < want)
			break;
	}
	return read_n;
}

/* One dump: its new sockets are reported. Returns the events emitted or a
 * negative error. */
static int net_dump_report(struct family *f, family_emit_fn emit, void *arg)
{
	size_t i;
	int handled = 0, rc;

	f->lost_cur = 0;
	f->dump_whole = 0;
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
	f->dump_whole = f->lost_cur == 0 && f->no_file == 0;
	for (i = 0; i < f->ncur; i++) {
		const struct family_sock_info *s = &f->cur[i];
		enum net_action a = net_classify(f, s);
		int nw;

		if (a == 0)
			continue;
		nw = net_seen_mark(f, s->cookie << 3 | (uint64_t)a);
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

/* The kernel's counters that move when a socket a dump would show can have
 * appeared (family_sock_snmp_opens, family_sock_inuse): TCP's active and
 * passive opens, and how many TCP and UDP sockets of each family are in
 * its tables. Returns 0, or an error (then the caller dumps). */
static int net_counters(const struct family *f, uint64_t c[NET_NCTR])
{
	static const char *const inuse[4] = {"TCP", "UDP", "TCP6", "UDP6"};
	char buf[8192];
	ssize_t n;

	if (f->ctr_fd[0] < 0 || f->ctr_fd[1] < 0)
		return YM_E_UNSUPPORTED;
	n = pread(f->ctr_fd[0], buf, sizeof(buf), 0);
	if (n <= 0 || (size_t)n == sizeof(buf) ||
	    family_sock_snmp_opens(buf, (size_t)n, &c[0], &c[1]) != 0)
		return YM_E_IO;
	for (int i = 0; i < 2; i++) {
		int fd = f->ctr_fd[1 + i];

		c[2 + 2 * i] = c[3 + 2 * i] = 0; /* no sockstat6: IPv6 is off */
		if (fd < 0)
			continue;
		n = pread(fd, buf, sizeof(buf), 0);
		if (n <= 0 || (size_t)n == sizeof(buf) ||
		    family_sock_inuse(buf, (size_t)n, inuse[2 * i], &c[2 + 2 * i]) != 0 ||
		    family_sock_inuse(buf, (size_t)n, inuse[2 * i + 1], &c[3 + 2 * i]) != 0)
			return YM_E_IO;
	}
	return 0;
}

/* A dump, or none when the counters say nothing new can be in it (and one
 * was made in the last NET_DUMP_EVERY polls: what the counters cannot tell,
 * a connect() of a UDP socket already bound, a listen() as another socket
 * closes). An idle host's dump is its walk of every bucket of the kernel's
 * established table (docs/sensors.md). Returns the events emitted or a
 * negative error. */
static int net_poll_dump(struct family *f, family_emit_fn emit, void *arg)
{
	uint64_t c[NET_NCTR];
	int have = net_counters(f, c) == 0, rc;

	if (have && f->ctr_valid && f->since_dump + 1 < NET_DUMP_EVERY &&
	    memcmp(c, f->ctr, sizeof(c)) == 0) {
		f->since_dump++;
		f->skipped++;
		return 0;
	}
	rc = net_dump_report(f, emit, arg);
	if (rc < 0)
		return rc;
	f->dumps++;
	f->since_dump = 0;
	/* read before the dump: a socket that came during it moves them
	 * again, and the next poll dumps */
	f->ctr_valid = have && f->dump_whole;
	if (f->ctr_valid)
		memcpy(f->ctr, c, sizeof(c));
	return rc;
}

static int net_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	uint64_t ticks, fired = 0;
	int handled = 0, rc;

	/* the dump first (one dump is one unit of work: its new sockets are
	 * all reported): the destruction reports queued since are told from
	 * sockets it shows, and accepted ones by its listeners */
	while (read(f->timer_fd, &ticks, sizeof(ticks)) > 0)
		fired += ticks;
	if (fired != 0) {
		rc = net_poll_dump(f, emit, arg);
		if (rc < 0)
			return rc;
		handled += rc;
	}
	if (f->dx_fd >= 0) {
		rc = net_dx_drain(f, max, emit, arg);
		if (rc < 0)
			return rc;
		handled += rc;
	}
	return handled;
}

static int net_tick(struct family *f, family_emit_fn emit, void *arg)
{
	uint64_t lost;

	if (f->dx_fd < 0)
		return 0;
	if (f->dx_overrun && family_sock_netlink_drops(f->dx_ino, &lost) == 0) {
		f->dx_lost = lost;
		f->dx_overrun = 0;
	}
	f->dx_emit = emit;
	f->dx_arg = arg;
	return net_flows_flush(f, 0);
}

static int net_flush(struct family *f, family_emit_fn emit, void *arg)
{
	uint64_t lost;

	if (f->dx_fd < 0)
		return 0;
	if (family_sock_netlink_drops(f->dx_ino, &lost) == 0)
		f->dx_lost = lost;
	f->dx_emit = emit;
	f->dx_arg = arg;
	return net_flows_flush(f, 1);
}

/* At the stop: no more reports are queued; those queued stay readable. */
static void net_quiesce(struct family *f)
{
	static const int groups[] = {SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET_UDP_DESTROY,
				     SKNLGRP_INET6_TCP_DESTROY, SKNLGRP_INET6_UDP_DESTROY};

	if (f->dx_fd < 0 || f->dx_quiesced)
		return;
	f->dx_quiesced = 1;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		(void)setsockopt(f->dx_fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &groups[i],
				 sizeof(groups[i]));
}

/* net.ipv4.ip_local_port_range (IPv6 uses it too); Linux's default when
 * unreadable */
static void net_eph_range(struct family *f)
{
	char *text = NULL;
	size_t len;
	unsigned lo, hi;

	f->eph_lo = 32768;
	f->eph_hi = 60999;
	if (util_read_file("/proc/sys/net/ipv4/ip_local_port_range", 64, &text, &len) != 0)
		return;
	if (sscanf(text, "%u %u", &lo, &hi) == 2 && lo >= 1 && lo <= hi && hi <= 65535) {
		f->eph_lo = (uint16_t)lo;
		f->eph_hi = (uint16_t)hi;
	}
	free(text);
}

static void net_stop(struct family *f)
{
	if (f == NULL)
		return;
	if (f->dumps + f->skipped > 1)
		LOG_I("family_net",
		      "sock_diag: %llu polls dumped the sockets, %llu did not (no counter moved)",
		      (unsigned long long)f->dumps, (unsigned long long)f->skipped);
	if (f->diag_fd >= 0)
		close(f->diag_fd);
	if (f->timer_fd >= 0)
		close(f->timer_fd);
	if (f->dx_fd >= 0)
		close(f->dx_fd);
	if (f->ep_fd >= 0)
		close(f->ep_fd);
	for (int i = 0; i < 3; i++)
		if (f->ctr_fd[i] >= 0)
			close(f->ctr_fd[i]);
	family_sock_owners_free(f->owners);
	free(f->flows);
	free(f->flows_spare);
	free(f->seen);
	free(f->spare);
	free(f->cur);
	free(f);
}

static int net_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	struct itimerspec its;
	int rc = YM_E_NOMEM, have_ctr;

	if (f == NULL)
		goto out;
	f->env = *env;
	f->diag_fd = f->timer_fd = f->dx_fd = f->ep_fd = -1;
	f->ctr_fd[0] = f->ctr_fd[1] = f->ctr_fd[2] = -1;
	f->nslots = NET_SEEN_MIN;
	f->seen = calloc(f->nslots, sizeof(*f->seen));
	f->spare = calloc(f->nslots, sizeof(*f->spare));
	f->cur = calloc(NET_POLL_MAX, sizeof(*f->cur));
	f->flows = calloc(NET_FLOW_SLOTS, sizeof(*f->flows));
	f->flows_spare = calloc(NET_FLOW_SLOTS, sizeof(*f->flows_spare));
	if (f->seen == NULL || f->spare == NULL || f->cur == NULL || f->flows == NULL ||
	    f->flows_spare == NULL || family_sock_owners_new(&f->owners) != 0)
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
	net_eph_range(f);
	/* before the first dump: a socket that closes between the two is
	 * either in the dump (known) or reported at its end */
	rc = env->sockdiag_dumps_only ? YM_E_UNSUPPORTED
				      : family_sock_destroy_open(NET_DX_RCVBUF, &f->dx_fd);
	if (env->sockdiag_dumps_only) {
		LOG_I("family_net",
		      "sock_diag: dumps only (--sock-diag-dumps-only): connections shorter "
		      "than %d ms are not seen",
		      FAMILY_NET_SOCKDIAG_MS);
	} else if (rc == 0) {
		struct stat sb;

		if (fstat(f->dx_fd, &sb) == 0)
			f->dx_ino = sb.st_ino;
	} else {
		LOG_I("family_net",
		      "sock_diag: no reports of destroyed sockets (%s): connections "
		      "shorter than %d ms are not seen",
		      ym_strerror(rc), FAMILY_NET_SOCKDIAG_MS);
	}
	f->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (f->ep_fd < 0) {
		rc = YM_E_IO;
		goto out;
	}
	{
		struct epoll_event e = {.events = EPOLLIN};

		if (epoll_ctl(f->ep_fd, EPOLL_CTL_ADD, f->timer_fd, &e) != 0 ||
		    (f->dx_fd >= 0 && epoll_ctl(f->ep_fd, EPOLL_CTL_ADD, f->dx_fd, &e) != 0)) {
			rc = YM_E_IO;
			goto out;
		}
	}
	{
		/* the counters of this thread's network namespace, the
		 * dumps' (the files keep the one they were opened in) */
		static const char *const paths[3] = {"/proc/thread-self/net/snmp",
						     "/proc/thread-self/net/sockstat",
						     "/proc/thread-self/net/sockstat6"};
		uint64_t c[NET_NCTR];

		for (int i = 0; i < 3; i++)
			f->ctr_fd[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
		have_ctr = net_counters(f, c) == 0;
		if (have_ctr)
			memcpy(f->ctr, c, sizeof(c));
		else
			LOG_I("family_net",
			      "sock_diag: no socket counters in /proc/thread-self/net: a dump "
			      "every %d ms",
			      FAMILY_NET_SOCKDIAG_MS);
	}
	rc = net_dump_all(f); /* proves the kernel answers, and learns what exists */
	if (rc != 0)
		goto out;
	f->dumps++;
	f->ctr_valid = have_ctr && f->lost_cur == 0 && f->no_file == 0;
	net_peer_server(f, env->server_url);
	for (size_t i = 0; i < f->ncur; i++) {
		const struct family_sock_info *s = &f->cur[i];
		enum net_action a = net_classify(f, s);
		int32_t pid;

		if (a == 0)
			continue;
		(void)net_seen_mark(f, s->cookie << 3 | (uint64_t)a);
		/* the agent's connections open before this start (its
		 * uplink's to the server): their peers are the agent's */
		if (a == NET_CONNECT && f->dx_fd >= 0 &&
		    family_sock_owner(f->owners, s->inode, f->env.self_pid, NET_OWNER_AGE, &pid) ==
			0 &&
		    family_is_agent(&f->env, pid))
			net_peer_add(f, s);
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
	return f->ep_fd;
}

static void net_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
	out->drops += f->malformed; /* sockets the dump could not read */
	out->drops += f->dx_lost;   /* destruction reports the kernel could not queue */
}

const struct family_ops family_net_sockdiag_ops = {
    .family = "network",
    .mode = "sock_diag",
    .start = net_start,
    .fd = net_fd,
    .poll = net_poll,
    .tick = net_tick,
    .flush = net_flush,
    .quiesce = net_quiesce,
    .stats = net_stats,
    .stop = net_stop,
};

void family_net_sockdiag_dumps(const struct family *f, uint64_t *dumps, uint64_t *skipped)
{
	*dumps = f->dumps;
	*skipped = f->skipped;
}
