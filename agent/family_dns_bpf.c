#include "family_dns_bpf.h"
#include "dns.h"
#include "dns.skel.h"
#include "err.h"
#include "family_bpf_util.h"
#include "family_dns_track.h"
#include "log.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_BPF_LINKS 2

/* 0 in tests: start with the cgroup skb programs (the fallback) */
static int dns_bpf_socket_hooks = 1;

struct family {
	struct dns_bpf *skel;
	struct bpf_link *links[DNS_BPF_LINKS];
	int sockets; /* 1: the socket hooks are attached, 0: the cgroup skb programs */
	struct ring_buffer *rb;
	struct family_dns_track *track;
	int cg_fd;
	int handled;
	struct family_bpf_drain drain; /* this poll's bound */
	uint64_t malformed;
	family_emit_fn emit;
	void *arg;
	struct dns_rec rec;
};

static int db_record(void *ctx, void *data, size_t size);

static int db_record_one(void *ctx, void *data, size_t size)
{
	struct family *f = ctx;
	struct dns_rec *r = &f->rec;
	int query;

	/* a short record (a message of at most DNS_REC_SMALL bytes) or a
	 * whole one */
	if (size != DNS_REC_HEAD + DNS_REC_SMALL && size != sizeof(*r)) {
		f->malformed++;
		return 0;
	}
	memcpy(r, data, size);
	if (r->len < 12 || r->len > size - DNS_REC_HEAD ||
	    (r->af != AF_INET && r->af != AF_INET6)) {
		f->malformed++;
		return 0;
	}
	f->handled++;
	query = (r->data[2] & 0x80) == 0;
	/* each datagram of a local exchange passes egress and ingress: a query
	 * counts where it leaves its sender, a response where it reaches the
	 * asker (the socket hooks take only these two; pid is then the sender
	 * of a query, the reader of a response) */
	if (query != (r->dir == DNS_DIR_EGRESS))
		return 0;
	(void)family_dns_track_packet(
	    f->track, (r->flags & DNS_REC_F_TCP) ? IPPROTO_TCP : IPPROTO_UDP, r->af, r->saddr,
	    r->sport, r->daddr, r->dport, r->data, r->len, r->wire_len, (int32_t)r->pid, r->uid,
	    family_bpf_util_wall_ns(&f->drain, r->ts_ns), f->emit, f->arg);
	return 0;
}

static void db_stop(struct family *f)
{
	if (f == NULL)
		return;
	ring_buffer__free(f->rb);
	for (int i = 0; i < DNS_BPF_LINKS; i++)
		bpf_link__destroy(f->links[i]);
	dns_bpf__destroy(f->skel);
	family_dns_track_free(f->track);
	if (f->cg_fd >= 0)
		close(f->cg_fd);
	free(f);
}

/* Loads and attaches one set of programs into f (sockets: the socket
 * hooks, else the cgroup skb pair); on failure leaves nothing loaded or
 * attached. Returns 0 or a negative errno. */
static int db_load(struct family *f, const struct family_env *env, int sockets)
{
	struct bpf_program *sock[DNS_BPF_LINKS], *cg[2];
	int err, n;

	f->skel = dns_bpf__open();
	if (f->skel == NULL)
		return errno != 0 ? -errno : -ENOMEM;
	sock[0] = f->skel->progs.dns_sock_send;
	sock[1] = f->skel->progs.dns_sock_recv;
	cg[0] = f->skel->progs.dns_egress;
	cg[1] = f->skel->progs.dns_ingress;
	for (int i = 0; i < DNS_BPF_LINKS; i++)
		bpf_program__set_autoload(sock[i], sockets);
	for (int i = 0; i < 2; i++)
		bpf_program__set_autoload(cg[i], !sockets);
	/* the socket hooks' storage needs 5.11+: not asked of a kernel that
	 * runs the fallback */
	bpf_map__set_autocreate(f->skel->maps.asked, sockets);
	bpf_map__set_autocreate(f->skel->maps.mmsg, sockets);
	f->skel->rodata->self_tgid = (uint32_t)env->self_pid;
	err = dns_bpf__load(f->skel);
	n = sockets ? DNS_BPF_LINKS : 2;
	for (int i = 0; err == 0 && i < n; i++) {
		f->links[i] = sockets ? bpf_program__attach(sock[i])
				      : bpf_program__attach_cgroup(cg[i], f->cg_fd);
		if (f->links[i] == NULL)
			err = -errno;
	}
	if (err != 0) {
		for (int i = 0; i < DNS_BPF_LINKS; i++) {
			bpf_link__destroy(f->links[i]);
			f->links[i] = NULL;
		}
		dns_bpf__destroy(f->skel);
		f->skel = NULL;
		return err;
	}
	f->sockets = sockets;
	return 0;
}

static int db_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	int rc = YM_E_NOMEM, err = -EOPNOTSUPP;

	if (f == NULL)
		goto out;
	f->cg_fd = -1;
	rc = family_dns_track_new(env, &f->track);
	if (rc != 0)
		goto out;
	/* the socket hooks where this kernel has their tracepoints (6.3+)
	 * and takes the programs; else the cgroup skb programs, which every
	 * packet of the machine passes */
	if (dns_bpf_socket_hooks) {
		err = db_load(f, env, 1);
		if (err != 0)
			LOG_I("family_dns", "socket hooks refused (%s): the cgroup skb programs",
			      strerror(-err));
	}
	if (err != 0) {
		rc = family_bpf_util_cgroup_root(&f->cg_fd);
		if (rc != 0)
			goto out;
		err = db_load(f, env, 0);
	}
	if (err != 0) {
		rc = family_bpf_util_err(err);
		goto out;
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), db_record, f, NULL);
	if (f->rb == NULL) {
		rc = YM_E_IO;
		goto out;
	}
	LOG_I("family_dns", "dns hooks: %s", family_dns_bpf_hooks(f));
	*out = f;
	f = NULL;
	rc = 0;
out:
	db_stop(f);
	return rc;
}

const char *family_dns_bpf_hooks(const struct family *f)
{
	return f->sockets ? "tp_btf sock_send_length/sock_recv_length" : "cgroup_skb egress/ingress";
}

void family_dns_bpf_socket_hooks(int allow)
{
	dns_bpf_socket_hooks = allow;
}

static int db_fd(const struct family *f)
{
	return ring_buffer__epoll_fd(f->rb);
}

/* ring_buffer callback: one record; stops the drain at the poll's max, so
 * a flood cannot keep the collector from its other sources and ticks */
static int db_record(void *ctx, void *data, size_t size)
{
	struct family *f = ctx;

	(void)db_record_one(ctx, data, size);
	return family_bpf_util_counted(&f->drain);
}

/* Returns the records handled; max at most were read (a drain that hit max
 * returns max, so the collector comes back at once). */
static int db_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	f->emit = emit;
	f->arg = arg;
	f->handled = 0;
	return family_bpf_util_poll(f->rb, &f->drain, max, &f->handled);
}

static int db_tick(struct family *f, family_emit_fn emit, void *arg)
{
	return family_dns_track_tick(f->track, emit, arg) < 0 ? YM_E_IO : 0;
}

static int db_flush(struct family *f, family_emit_fn emit, void *arg)
{
	return family_dns_track_flush(f->track, emit, arg);
}

/* Detaches the packet programs; the ring stays for the last polls. */
static void db_quiesce(struct family *f)
{
	for (int i = 0; i < DNS_BPF_LINKS; i++) {
		bpf_link__destroy(f->links[i]);
		f->links[i] = NULL;
	}
}

static void db_stats(const struct family *f, struct family_stats *out)
{
	uint64_t malformed, kdrops;

	family_dns_track_stats(f->track, out, &malformed);
	out->drops += f->malformed;
	/* ring buffer full; a port 53 datagram whose payload was not read */
	for (uint32_t k = 0; k < DNS_DROPS; k++)
		if (family_bpf_util_percpu_sum(bpf_map__fd(f->skel->maps.drops), k, &kdrops) == 0)
			out->drops += kdrops;
}

const struct family_ops family_dns_bpf_ops = {
    .family = "dns",
    .mode = "bpf",
    .start = db_start,
    .fd = db_fd,
    .poll = db_poll,
    .tick = db_tick,
    .flush = db_flush,
    .quiesce = db_quiesce,
    .stats = db_stats,
    .stop = db_stop,
};
