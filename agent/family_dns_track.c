#include "family_dns_track.h"
#include "err.h"
#include "family_dns_parse.h"
#include "family_sock.h"
#include "family_util.h"
#include "util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_OWNER_AGE (20ull * 1000000)

struct dns_pending {
	int used;
	uint8_t af, proto;
	uint16_t cport, id;
	uint8_t client[16];
	int32_t pid;
	uint32_t uid; /* FAMILY_UID_NONE: from the process context */
	uint64_t seen_ns, mono_ns;
	uint16_t qtype;
	char qname[FAMILY_DNS_NAME_MAX];
};

struct family_dns_track {
	struct family_env env;
	int diag_fd;
	struct family_sock_owners *owners;
	struct dns_pending pend[FAMILY_DNS_TRACK_MAX];
	size_t npend; /* used entries of pend (0: no scan of its 1 MiB a tick) */
	struct family_stats st;
	uint64_t malformed;
	struct family_dns_msg msg;
	struct event ev;
	/* lookup of a local UDP port */
	uint8_t want_af;
	uint16_t want_port;
	uint8_t want_addr[16];
	uint64_t found_inode;
	char type[12], status[FAMILY_UTIL_U64_MAX], pid[FAMILY_UTIL_U64_MAX];
	char uid[FAMILY_UTIL_U64_MAX];
};

int family_dns_track_new(const struct family_env *env, struct family_dns_track **out)
{
	struct family_dns_track *t = calloc(1, sizeof(*t));
	int rc = YM_E_NOMEM;

	if (t == NULL)
		goto out;
	t->env = *env;
	t->diag_fd = -1;
	if (family_sock_owners_new(&t->owners) != 0)
		goto out;
	rc = family_sock_open(&t->diag_fd);
	if (rc != 0)
		goto out;
	*out = t;
	t = NULL;
	rc = 0;
out:
	family_dns_track_free(t);
	return rc;
}

void family_dns_track_free(struct family_dns_track *t)
{
	if (t == NULL)
		return;
	if (t->diag_fd >= 0)
		close(t->diag_fd);
	family_sock_owners_free(t->owners);
	free(t);
}

static void dns_find_port(void *arg, const struct family_sock_info *s)
{
	struct family_dns_track *t = arg;
	static const uint8_t zero[16];
	size_t alen = s->af == AF_INET ? 4 : 16;

	if (t->found_inode != 0 || s->sport != t->want_port || s->inode == 0)
		return;
	if (memcmp(s->src, t->want_addr, alen) != 0 && memcmp(s->src, zero, alen) != 0)
		return;
	t->found_inode = s->inode;
}

/* The process that owns the local UDP or TCP (proto) socket (af, addr,
 * port), or 0. */
static int32_t dns_owner(struct family_dns_track *t, int proto, int af, const uint8_t *addr,
			 uint16_t port)
{
	uint64_t malformed = 0;
	int32_t pid = 0;

	t->want_af = (uint8_t)af;
	t->want_port = port;
	memset(t->want_addr, 0, sizeof(t->want_addr));
	memcpy(t->want_addr, addr, af == AF_INET ? 4 : 16);
	t->found_inode = 0;
	if (family_sock_dump(t->diag_fd, af, proto, 0xffffffffu, dns_find_port, t, &malformed) != 0)
		return 0;
	/* a v4 query from a dual-stack socket */
	if (t->found_inode == 0 && af == AF_INET)
		(void)family_sock_dump(t->diag_fd, AF_INET6, proto, 0xffffffffu, dns_find_port, t,
				       &malformed);
	if (t->found_inode == 0 ||
	    family_sock_owner(t->owners, t->found_inode, t->env.self_pid, DNS_OWNER_AGE, &pid) != 0)
		return 0;
	return pid;
}

static int dns_emit(struct family_dns_track *t, const struct dns_pending *q,
		    const struct family_dns_msg *resp, family_emit_fn emit, void *arg)
{
	struct event *ev = &t->ev;
	int rc = 0;

	event_init(ev);
	ev->ts_ns = q->seen_ns;
	ev->category = EVCAT_DNS_QUERY;
	rc |= event_set_str(ev, "QueryName", q->qname);
	rc |= event_set_str(ev, "QueryType", family_dns_parse_type(q->qtype, t->type));
	rc |= event_set_str(ev, "Protocol", q->proto == IPPROTO_TCP ? "tcp" : "udp");
	if (resp != NULL) {
		rc |= event_set_str(ev, "QueryStatus", family_util_u64(resp->rcode, t->status));
		if (resp->answers_len != 0)
			rc |= event_set(ev, "QueryResults", resp->answers, resp->answers_len);
		/* a copy cut at its bound: answers after these were left out */
		if (resp->cut)
			rc |= event_set_str(ev, "QueryResultsTruncated", "true");
	}
	if (rc == 0 && q->uid != FAMILY_UID_NONE)
		rc = family_util_user(&t->env, q->uid, ev, t->uid);
	if (rc != 0 || family_util_proc(&t->env, q->pid, ev, t->pid) < 0 || emit(arg, ev) != 0) {
		t->st.drops++;
		return 0;
	}
	t->st.events++;
	return 1;
}

int family_dns_track_packet(struct family_dns_track *t, int proto, int af, const uint8_t *src,
			    uint16_t sport, const uint8_t *dst, uint16_t dport, const uint8_t *p,
			    size_t n, size_t wire_len, int32_t pid, uint32_t uid, uint64_t ts_ns,
			    family_emit_fn emit, void *arg)
{
	struct family_dns_msg *m = &t->msg;
	size_t alen = af == AF_INET ? 4 : 16, i, slot = FAMILY_DNS_TRACK_MAX, oldest = 0;
	int emitted = 0;

	if ((wire_len > n ? family_dns_parse_cut(p, n, m) : family_dns_parse(p, n, m)) != 0) {
		t->malformed++;
		t->st.drops++;
		return 0;
	}
	if (m->qr) {
		/* the response: find the query (client = dst) */
		for (i = 0; i < FAMILY_DNS_TRACK_MAX && t->npend > 0; i++) {
			struct dns_pending *q = &t->pend[i];

			if (q->used && q->af == af && q->proto == proto && q->cport == dport &&
			    q->id == m->id && memcmp(q->client, dst, alen) == 0 &&
			    strcmp(q->qname, m->qname) == 0) {
				emitted = dns_emit(t, q, m, emit, arg);
				q->used = 0;
				t->npend--;
				return emitted;
			}
		}
		/* query not seen (started before us, or shed): the response alone */
		{
			struct dns_pending q;

			memset(&q, 0, sizeof(q));
			q.proto = (uint8_t)proto;
			q.seen_ns = ts_ns ? ts_ns : util_now_ns();
			q.qtype = m->qtype;
			util_strlcpy(q.qname, m->qname, sizeof(q.qname));
			/* the reader, where the kernel knew it */
			q.pid = pid != 0 ? pid : dns_owner(t, proto, af, dst, dport);
			q.uid = pid != 0 ? uid : FAMILY_UID_NONE;
			if (family_is_agent(&t->env, q.pid))
				return 0;
			return dns_emit(t, &q, m, emit, arg);
		}
	}
	if (pid == 0) {
		pid = dns_owner(t, proto, af, src, sport);
		uid = FAMILY_UID_NONE;
	}
	if (family_is_agent(&t->env, pid))
		return 0;
	for (i = 0; i < FAMILY_DNS_TRACK_MAX; i++) {
		if (!t->pend[i].used) {
			slot = i;
			break;
		}
		if (t->pend[i].mono_ns < t->pend[oldest].mono_ns)
			oldest = i;
	}
	if (slot == FAMILY_DNS_TRACK_MAX) {
		/* full: the oldest query goes out now, without its answer */
		slot = oldest;
		emitted = dns_emit(t, &t->pend[slot], NULL, emit, arg);
	} else {
		t->npend++;
	}
	{
		struct dns_pending *q = &t->pend[slot];

		memset(q, 0, sizeof(*q));
		q->used = 1;
		q->af = (uint8_t)af;
		q->proto = (uint8_t)proto;
		q->cport = sport;
		q->id = m->id;
		memcpy(q->client, src, alen);
		q->pid = pid;
		q->uid = uid;
		q->seen_ns = ts_ns ? ts_ns : util_now_ns();
		q->mono_ns = util_mono_ns();
		q->qtype = m->qtype;
		util_strlcpy(q->qname, m->qname, sizeof(q->qname));
	}
	(void)dport;
	return emitted;
}

/* Emits the queries that have waited longer than wait_ns, unanswered. */
static int dns_expire(struct family_dns_track *t, uint64_t wait_ns, family_emit_fn emit, void *arg)
{
	uint64_t now;
	int n = 0;

	if (t->npend == 0)
		return 0;
	now = util_mono_ns();
	for (size_t i = 0; i < FAMILY_DNS_TRACK_MAX; i++) {
		struct dns_pending *q = &t->pend[i];

		if (q->used && now - q->mono_ns >= wait_ns) {
			n += dns_emit(t, q, NULL, emit, arg);
			q->used = 0;
			t->npend--;
		}
	}
	return n;
}

int family_dns_track_tick(struct family_dns_track *t, family_emit_fn emit, void *arg)
{
	return dns_expire(t, FAMILY_DNS_TRACK_WAIT_S * 1000000000ull + 1, emit, arg);
}

int family_dns_track_flush(struct family_dns_track *t, family_emit_fn emit, void *arg)
{
	return dns_expire(t, 0, emit, arg);
}

void family_dns_track_stats(const struct family_dns_track *t, struct family_stats *out,
			    uint64_t *malformed)
{
	*out = t->st;
	*malformed = t->malformed;
}
