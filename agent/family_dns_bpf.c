#include "family_dns_bpf.h"
#include "dns.h"
#include "dns.skel.h"
#include "err.h"
#include "family_bpf_util.h"
#include "family_dns_track.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct family {
	struct dns_bpf *skel;
	struct bpf_link *egress, *ingress;
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

	if (size != sizeof(*r)) {
		f->malformed++;
		return 0;
	}
	memcpy(r, data, sizeof(*r));
	if (r->len < 12 || r->len > DNS_REC_DATA || (r->af != AF_INET && r->af != AF_INET6)) {
		f->malformed++;
		return 0;
	}
	f->handled++;
	query = (r->data[2] & 0x80) == 0;
	/* each datagram of a local exchange passes egress and ingress: a query
	 * counts where it leaves its sender, a response where it reaches the
	 * asker */
	if (query != (r->dir == DNS_DIR_EGRESS))
		return 0;
	(void)family_dns_track_packet(f->track, r->af, r->saddr, r->sport, r->daddr, r->dport,
				      r->data, r->len, (int32_t)r->pid, f->emit, f->arg);
	return 0;
}

static void db_stop(struct family *f)
{
	if (f == NULL)
		return;
	ring_buffer__free(f->rb);
	bpf_link__destroy(f->egress);
	bpf_link__destroy(f->ingress);
	dns_bpf__destroy(f->skel);
	family_dns_track_free(f->track);
	if (f->cg_fd >= 0)
		close(f->cg_fd);
	free(f);
}

static int db_start(const struct family_env *env, struct family **out)
{
	struct family *f = calloc(1, sizeof(*f));
	int rc = YM_E_NOMEM, err;

	if (f == NULL)
		goto out;
	f->cg_fd = -1;
	rc = family_dns_track_new(env, &f->track);
	if (rc != 0)
		goto out;
	rc = family_bpf_util_cgroup_root(&f->cg_fd);
	if (rc != 0)
		goto out;
	f->skel = dns_bpf__open();
	if (f->skel == NULL) {
		rc = family_bpf_util_err(-errno);
		goto out;
	}
	f->skel->rodata->self_tgid = (uint32_t)env->self_pid;
	err = dns_bpf__load(f->skel);
	if (err != 0) {
		rc = family_bpf_util_err(err);
		goto out;
	}
	f->egress = bpf_program__attach_cgroup(f->skel->progs.dns_egress, f->cg_fd);
	f->ingress = bpf_program__attach_cgroup(f->skel->progs.dns_ingress, f->cg_fd);
	if (f->egress == NULL || f->ingress == NULL) {
		rc = family_bpf_util_err(-errno);
		goto out;
	}
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.events), db_record, f, NULL);
	if (f->rb == NULL) {
		rc = YM_E_IO;
		goto out;
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	db_stop(f);
	return rc;
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

static void db_stats(const struct family *f, struct family_stats *out)
{
	uint64_t malformed, kdrops = 0;

	family_dns_track_stats(f->track, out, &malformed);
	out->drops += f->malformed;
	if (family_bpf_util_percpu_sum(bpf_map__fd(f->skel->maps.drops), 0, &kdrops) == 0)
		out->drops += kdrops;
}

const struct family_ops family_dns_bpf_ops = {
    .family = "dns",
    .mode = "bpf",
    .start = db_start,
    .fd = db_fd,
    .poll = db_poll,
    .tick = db_tick,
    .stats = db_stats,
    .stop = db_stop,
};
