#include "proctable.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

#define PT_NIL UINT32_MAX

/* image NUL cmdline NUL, then container NUL when the process is in one
 * (size bytes in all), shared by a forked child's entry and its parent's
 * (the child runs the parent's program, in the parent's cgroup, until it
 * execs): freed with the last entry that holds it */
struct pt_str {
	uint32_t refs;
	uint32_t size;
	char s[];
};

struct pt_node {
	struct proc_entry e; /* first: proctable_put_fork finds the node from it */
	struct pt_str *strings; /* one reference */
	struct pt_str *prev;	/* before the exec: one reference, or NULL */
	size_t bytes; /* counted per entry, shared or not */
	uint32_t hnext;		     /* bucket chain */
	uint32_t lru_prev, lru_next; /* most recently put at head */
	uint8_t used;
	/* found since it was put or last spared: spared once more by the
	 * eviction (second chance), which a find marks instead of moving the
	 * node to the head (that touched three other nodes, cold ones, per
	 * lookup) */
	uint8_t ref;
};

struct proctable {
	struct pt_node *nodes;
	uint32_t *buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t max_entries;
	uint32_t free_head; /* freed nodes chained through hnext */
	/* nodes from here on were never used: taken in order once no freed
	 * one waits, so the node array's pages are touched (resident) only as
	 * the table fills (2 MiB at 16,384 entries) */
	uint32_t fresh;
	uint32_t lru_head, lru_tail;
	size_t count, bytes, max_bytes;
	uint64_t retain_ns, evictions;
};

/* The pid's low bits, not a multiplicative hash: pids are handed out in
 * order, so the processes of a burst, the ones looked up most, sit in
 * neighbouring buckets, 16 to a cache line, where a scattering hash sent
 * each lookup to a line of its own in 128 KiB of buckets that the
 * workload's own memory traffic had evicted (agent CPU at 5,000 execs/s
 * -7 %, docs/benchmarks.md, round 28). No weaker against a process that
 * picks its pids to collide: a public hash is inverted as easily. */
static uint32_t pt_hash(const struct proctable *t, int32_t pid)
{
	return (uint32_t)pid & (t->nbuckets - 1);
}

static void pt_str_drop(struct pt_str *p)
{
	if (p && --p->refs == 0)
		free(p);
}

int proctable_new(size_t max_entries, size_t max_bytes, uint64_t retain_ns, struct proctable **out)
{
	struct proctable *t = NULL;
	int r = YM_E_INVAL;

	if (max_entries == 0 || max_entries > (1u << 24) || max_bytes == 0 ||
	    max_bytes > UINT32_MAX)
		goto out;
	r = YM_E_NOMEM;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto out;
	t->max_entries = (uint32_t)max_entries;
	/* twice the entries: the table holds the last processes, whose pids
	 * are mostly consecutive, and threads and other processes take pids
	 * between them; with as many buckets as entries, a table spanning
	 * more pids than buckets chained two to a bucket, and every lookup
	 * walked the chain (pid_max 32,768 here: 16,384 buckets) */
	t->nbuckets = 16;
	while (t->nbuckets < 2 * max_entries)
		t->nbuckets <<= 1;
	t->nodes = calloc(max_entries, sizeof(*t->nodes));
	t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
	if (!t->nodes || !t->buckets)
		goto out;
	for (uint32_t i = 0; i < t->nbuckets; i++)
		t->buckets[i] = PT_NIL;
	t->free_head = PT_NIL;
	t->fresh = 0;
	t->lru_head = t->lru_tail = PT_NIL;
	t->max_bytes = max_bytes;
	t->retain_ns = retain_ns;
	*out = t;
	t = NULL;
	r = 0;
out:
	proctable_free(t);
	return r;
}

void proctable_free(struct proctable *t)
{
	if (!t)
		return;
	if (t->nodes)
		for (uint32_t i = 0; i < t->fresh; i++) {
			pt_str_drop(t->nodes[i].strings);
			pt_str_drop(t->nodes[i].prev);
		}
	free(t->nodes);
	free(t->buckets);
	free(t);
}

static void pt_lru_unlink(struct proctable *t, uint32_t i)
{
	struct pt_node *n = &t->nodes[i];
	if (n->lru_prev != PT_NIL)
		t->nodes[n->lru_prev].lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next != PT_NIL)
		t->nodes[n->lru_next].lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
}

static void pt_lru_push(struct proctable *t, uint32_t i)
{
	struct pt_node *n = &t->nodes[i];
	n->lru_prev = PT_NIL;
	n->lru_next = t->lru_head;
	if (t->lru_head != PT_NIL)
		t->nodes[t->lru_head].lru_prev = i;
	t->lru_head = i;
	if (t->lru_tail == PT_NIL)
		t->lru_tail = i;
}

static void pt_remove(struct proctable *t, uint32_t i)
{
	struct pt_node *n = &t->nodes[i];
	uint32_t *pp = &t->buckets[pt_hash(t, n->e.pid)];

	while (*pp != i)
		pp = &t->nodes[*pp].hnext;
	*pp = n->hnext;
	pt_lru_unlink(t, i);
	pt_str_drop(n->strings);
	pt_str_drop(n->prev);
	t->bytes -= n->bytes;
	t->count--;
	memset(n, 0, sizeof(*n));
	n->hnext = t->free_head;
	t->free_head = i;
}

/* Sets node n's entry (alive) with strings s (a reference handed over:
 * image NUL cmdline NUL [container NUL]), need bytes counted for it;
 * leaves its hash and LRU links to the caller. */
static void pt_fill(struct pt_node *n, struct pt_str *s, size_t need, int32_t pid, int32_t ppid,
		    uint32_t uid, uint64_t start_time, size_t image_len, size_t cmdline_len,
		    const char *guid)
{
	size_t strs = image_len + cmdline_len + 2;

	char g[PROCTABLE_GUID_LEN + 1] = {0};

	/* guid may be the entry's own (a caller passing pe->guid back) */
	if (guid)
		memcpy(g, guid, strnlen(guid, PROCTABLE_GUID_LEN));
	n->used = 1;
	n->ref = 0;
	n->strings = s;
	n->bytes = need;
	n->e.pid = pid;
	n->e.ppid = ppid;
	n->e.uid = uid;
	n->e.start_time = start_time;
	n->e.exit_ns = 0;
	n->e.image = s->s;
	n->e.image_len = image_len;
	n->e.cmdline = s->s + image_len + 1;
	n->e.cmdline_len = cmdline_len;
	n->e.container_id = s->size > strs ? s->s + strs : NULL;
	n->e.exit_ts = n->e.exec_ts = 0;
	n->prev = NULL;
	n->e.prev_image = n->e.prev_cmdline = NULL;
	n->e.prev_image_len = n->e.prev_cmdline_len = 0;
	memcpy(n->e.guid, g, sizeof(n->e.guid));
}

/* Sets node n's strings before its exec at exec_ts: p (a reference handed
 * over) holds what its entry held, image_len bytes of image first. */
static void pt_set_prev(struct pt_node *n, struct pt_str *p, size_t image_len, size_t cmdline_len,
			uint64_t exec_ts)
{
	n->prev = p;
	n->e.exec_ts = exec_ts;
	n->e.prev_image = p->s;
	n->e.prev_image_len = image_len;
	n->e.prev_cmdline = p->s + image_len + 1;
	n->e.prev_cmdline_len = cmdline_len;
}

/* A full table evicts its LRU tail at every insert, and that node, its
 * bucket, its strings and its LRU neighbour were last touched minutes ago:
 * ~5 % of the agent's CPU in an exec storm went to those cache misses in
 * pt_remove. After an eviction the next victim is known: its node came in
 * as the previous victim's neighbour, so what it points to can be asked
 * for now, and its own neighbour (the victim after it) too. */
static void pt_prefetch_victim(const struct proctable *t)
{
	const struct pt_node *n;
	uint32_t v = t->lru_tail;

	if (v == PT_NIL)
		return;
	n = &t->nodes[v];
	__builtin_prefetch(&t->buckets[pt_hash(t, n->e.pid)], 1);
	/* pt_str_drop: the count, and free() the chunk's size before it */
	if (n->strings) {
		__builtin_prefetch(n->strings, 1);
		__builtin_prefetch((const char *)n->strings - sizeof(size_t), 1);
	}
	if (n->prev)
		__builtin_prefetch(n->prev, 1);
	if (n->lru_prev != PT_NIL) {
		const char *p = (const char *)&t->nodes[n->lru_prev];

		for (size_t o = 0; o < sizeof(struct pt_node); o += 64)
			__builtin_prefetch(p + o, 1);
	}
}

/* Inserts or replaces (pid, start_time) with strings s (a reference handed
 * over: dropped on error); exec_ts: an exec's time (the replaced entry's
 * strings are kept as prev), or 0. */
static int pt_put(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid, uint32_t uid,
		  const char *guid, struct pt_str *s, size_t image_len, size_t cmdline_len,
		  uint64_t exec_ts)
{
	size_t need = s->size;
	uint32_t i;
	struct pt_node *n;
	int evicted = 0;

	if (need > t->max_bytes) {
		pt_str_drop(s);
		return YM_E_TOOBIG;
	}
	/* same key: replace in place */
	for (i = t->buckets[pt_hash(t, pid)]; i != PT_NIL; i = t->nodes[i].hnext)
		if (t->nodes[i].e.pid == pid && t->nodes[i].e.start_time == start_time)
			break;
	if (i != PT_NIL && exec_ts && t->nodes[i].strings &&
	    t->bytes - t->nodes[i].bytes + need + t->nodes[i].strings->size <= t->max_bytes) {
		/* an exec: what ran before stays (for the process's events
		 * older than the exec, read after it); the usual case, a
		 * forked child's entry, shares it with its parent */
		struct pt_str *old;
		size_t oi, oc;

		n = &t->nodes[i];
		old = n->strings;
		oi = n->e.image_len;
		oc = n->e.cmdline_len;
		pt_str_drop(n->prev);
		t->bytes = t->bytes - n->bytes + need + old->size;
		pt_lru_unlink(t, i);
		pt_fill(n, s, need + old->size, pid, ppid, uid, start_time, image_len, cmdline_len,
			guid);
		pt_set_prev(n, old, oi, oc, exec_ts);
		pt_lru_push(t, i);
		return 0;
	}
	if (i != PT_NIL && t->bytes - t->nodes[i].bytes + need <= t->max_bytes) {
		/* the node keeps its place in the hash chain, only the strings
		 * change (removing and inserting it again cost ~4 % of the
		 * agent's CPU under exec storms) */
		n = &t->nodes[i];
		pt_str_drop(n->strings);
		pt_str_drop(n->prev);
		t->bytes = t->bytes - n->bytes + need;
		pt_lru_unlink(t, i);
		pt_fill(n, s, need, pid, ppid, uid, start_time, image_len, cmdline_len, guid);
		n->e.exec_ts = exec_ts;
		pt_lru_push(t, i);
		return 0;
	}
	if (i != PT_NIL)
		pt_remove(t, i);
	while (t->count >= t->max_entries || t->bytes + need > t->max_bytes) {
		uint32_t v = t->lru_tail;

		if (t->nodes[v].ref) { /* found since: spared once, to the head */
			t->nodes[v].ref = 0;
			pt_lru_unlink(t, v);
			pt_lru_push(t, v);
			continue;
		}
		pt_remove(t, v);
		t->evictions++;
		evicted = 1;
	}
	if (t->free_head != PT_NIL) {
		i = t->free_head;
		t->free_head = t->nodes[i].hnext;
	} else {
		i = t->fresh++; /* count < max_entries here: a node is left */
	}
	n = &t->nodes[i];
	pt_fill(n, s, need, pid, ppid, uid, start_time, image_len, cmdline_len, guid);
	n->e.exec_ts = exec_ts;
	n->hnext = t->buckets[pt_hash(t, pid)];
	t->buckets[pt_hash(t, pid)] = i;
	pt_lru_push(t, i);
	t->count++;
	t->bytes += need;
	if (evicted)
		pt_prefetch_victim(t);
	return 0;
}

int proctable_exec(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid,
		   uint32_t uid, const char *guid, const char *image, size_t image_len,
		   const char *cmdline, size_t cmdline_len, const char *container, uint64_t exec_ts)
{
	size_t strs = image_len + cmdline_len + 2;
	size_t clen = container ? strnlen(container, PROCTABLE_CONTAINER_MAX + 1) : 0;
	size_t need = strs + (clen ? clen + 1 : 0);
	struct pt_str *s;

	if (clen > PROCTABLE_CONTAINER_MAX)
		return YM_E_INVAL;
	if (need > t->max_bytes)
		return YM_E_TOOBIG;
	s = malloc(sizeof(*s) + need);
	if (!s)
		return YM_E_NOMEM;
	s->refs = 1;
	s->size = (uint32_t)need;
	memcpy(s->s, image, image_len);
	s->s[image_len] = 0;
	memcpy(s->s + image_len + 1, cmdline, cmdline_len);
	s->s[strs - 1] = 0;
	if (clen) {
		memcpy(s->s + strs, container, clen);
		s->s[need - 1] = 0;
	}
	return pt_put(t, pid, start_time, ppid, uid, guid, s, image_len, cmdline_len, exec_ts);
}

int proctable_put(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid, uint32_t uid,
		  const char *guid, const char *image, size_t image_len, const char *cmdline,
		  size_t cmdline_len)
{
	return proctable_exec(t, pid, start_time, ppid, uid, guid, image, image_len, cmdline,
			      cmdline_len, NULL, 0);
}

int proctable_put_fork(struct proctable *t, int32_t pid, uint64_t start_time, int32_t ppid,
		       const char *guid, const struct proc_entry *parent)
{
	const struct pt_node *pn = (const struct pt_node *)parent;
	struct pt_str *s;

	/* an entry of this table (proctable_find's), not a copy */
	if (pn < t->nodes || pn >= t->nodes + t->fresh ||
	    ((const char *)pn - (const char *)t->nodes) % sizeof(*pn) != 0 || !pn->used ||
	    !pn->strings)
		return YM_E_INVAL;
	/* a reference of the child's own before the put can evict the parent */
	s = pn->strings;
	s->refs++;
	return pt_put(t, pid, start_time, ppid, parent->uid, guid, s, parent->image_len,
		      parent->cmdline_len, 0);
}

const struct proc_entry *proctable_find(struct proctable *t, int32_t pid, uint64_t max_start)
{
	uint32_t best = PT_NIL;

	for (uint32_t i = t->buckets[pt_hash(t, pid)]; i != PT_NIL; i = t->nodes[i].hnext) {
		const struct proc_entry *e = &t->nodes[i].e;
		if (e->pid != pid || e->start_time > max_start)
			continue;
		if (best == PT_NIL || e->start_time > t->nodes[best].e.start_time)
			best = i;
	}
	if (best == PT_NIL)
		return NULL;
	t->nodes[best].ref = 1;
	return &t->nodes[best].e;
}

/* The newest live entry of pid, or NULL. */
static struct proc_entry *pt_live(struct proctable *t, int32_t pid)
{
	uint32_t best = PT_NIL;

	for (uint32_t i = t->buckets[pt_hash(t, pid)]; i != PT_NIL; i = t->nodes[i].hnext) {
		const struct proc_entry *e = &t->nodes[i].e;
		if (e->pid != pid || e->exit_ns)
			continue;
		if (best == PT_NIL || e->start_time > t->nodes[best].e.start_time)
			best = i;
	}
	return best == PT_NIL ? NULL : &t->nodes[best].e;
}

const struct proc_entry *proctable_exit(struct proctable *t, int32_t pid, uint64_t now_ns,
					uint64_t exit_ts)
{
	struct proc_entry *e = pt_live(t, pid);

	if (e) {
		e->exit_ns = now_ns ? now_ns : 1;
		e->exit_ts = exit_ts;
	}
	return e;
}

const struct proc_entry *proctable_set_uid(struct proctable *t, int32_t pid, uint32_t uid)
{
	struct proc_entry *e = pt_live(t, pid);

	if (e)
		e->uid = uid;
	return e;
}

size_t proctable_expire(struct proctable *t, uint64_t now_ns)
{
	size_t n = 0;

	for (uint32_t i = 0; i < t->fresh; i++) {
		struct pt_node *nd = &t->nodes[i];
		if (nd->used && nd->e.exit_ns && now_ns - nd->e.exit_ns >= t->retain_ns &&
		    now_ns >= nd->e.exit_ns) {
			pt_remove(t, i);
			n++;
		}
	}
	return n;
}

size_t proctable_count(const struct proctable *t)
{
	return t->count;
}

uint64_t proctable_evictions(const struct proctable *t)
{
	return t->evictions;
}
