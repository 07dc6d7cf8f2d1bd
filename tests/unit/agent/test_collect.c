/* unit_agent_collect: the collector's emit path for family events (shedding
 * order and counters, refusal of malformed events that would sink their
 * batch), a collect_run pass with a stand-in sensor and family behind their
 * ops tables (the refused event is the family's counted drop and reported,
 * the good events are spooled), and the auditd module's filter of the
 * agent's own execve rule fed with crafted audit records; a sensor with
 * timer polls told it is idle after a quiet spell, then woken by its
 * descriptor. Needs no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/audit.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "batcher.h"
#include "collect.h"
#include "err.h"
#include "family_auditd_audit.h"
#include "family_dns_parse.h"
#include "family_dns_tcp.h"
#include "family_dns_track.h"
#include "seqgen.h"
#include "sensor.h"
#include "spool.h"
#include "util.h"

static char tmpdir[256];

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ym-unit-collect.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A real batcher over a real spool in tmpdir/name. */
struct rig {
	struct seqgen *sg;
	struct spool *sp;
	struct batcher *b;
};

static void rig_open(struct rig *r, const char *name)
{
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	assert_int_equal(util_mkdirs(dir, 0700), 0);
	assert_int_equal(seqgen_open(dir, "seq", 100, &r->sg), 0);
	assert_int_equal(spool_open(dir, 1 << 20, 100, &r->sp), 0);
	assert_int_equal(batcher_new(r->sg, r->sp, 100, 1 << 20, &r->b), 0);
}

static void rig_close(struct rig *r)
{
	batcher_free(r->b);
	spool_close(r->sp);
	seqgen_close(r->sg);
}

/* What the spool holds, flattened: category and three fields of each event. */
struct seen {
	int n;
	int cat[32];
	char f1[32][64], f2[32][64], f3[32][64];
};

static void copy_field(const struct event *ev, const char *name, char *out, size_t outsz)
{
	const char *v = event_get(ev, name, NULL);

	util_strlcpy(out, v ? v : "", outsz);
}

/* Flushes, reads and acks every spooled batch; f1..f3: the fields to keep. */
static void rig_drain(struct rig *r, const char *f1, const char *f2, const char *f3, struct seen *s)
{
	struct spool_item it;
	uint8_t *data;
	size_t n;

	memset(s, 0, sizeof(*s));
	assert_int_equal(batcher_flush(r->b), 0);
	while (spool_next(r->sp, 0, &it, &data, &n) == 0) {
		struct batch bt;

		assert_int_equal(batch_decode(data, n, &bt, NULL, 0), 0);
		for (size_t i = 0; i < bt.count; i++) {
			assert_true(s->n < 32);
			s->cat[s->n] = bt.events[i].category;
			copy_field(&bt.events[i], f1, s->f1[s->n], sizeof(s->f1[0]));
			copy_field(&bt.events[i], f2, s->f2[s->n], sizeof(s->f2[0]));
			copy_field(&bt.events[i], f3, s->f3[s->n], sizeof(s->f3[0]));
			s->n++;
		}
		batch_free(&bt);
		free(data);
		assert_int_equal(spool_ack(r->sp, it.first_seq), 0);
	}
}

static void good_event(struct event *ev, const char *v)
{
	event_init(ev);
	ev->category = EVCAT_NETWORK_CONNECTION;
	ev->ts_ns = 1;
	assert_int_equal(event_set_str(ev, "DestinationIp", v), 0);
}

/* Overload sheds file events first (level 1), then network and dns (level
 * 2); process, auth and other families never; each shed counts for its
 * family only. */
static void test_collect_shed_order(void **state)
{
	static const char *const names[] = {"file", "network", "dns", "process", "auth", "auditd"};
	/* expected: shed at level 0, 1, 2 */
	static const int shed[6][3] = {{0, 1, 1}, {0, 0, 1}, {0, 0, 1},
				       {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
	struct collect_family cf[6];
	struct rig r;
	struct event ev;
	struct seen s;
	int accepted = 0;
	(void)state;

	rig_open(&r, "shed");
	memset(cf, 0, sizeof(cf));
	for (int i = 0; i < 6; i++)
		cf[i].family = names[i];
	good_event(&ev, "192.0.2.1");
	for (int level = 0; level <= 2; level++) {
		for (int i = 0; i < 6; i++) {
			assert_int_equal(collect_offer(r.b, &cf[i], level, &ev), shed[i][level]);
			accepted += !shed[i][level];
		}
		/* an event of no family is never shed */
		assert_int_equal(collect_offer(r.b, NULL, level, &ev), 0);
		accepted++;
	}
	assert_int_equal(cf[0].shed, 2);
	assert_int_equal(cf[1].shed, 1);
	assert_int_equal(cf[2].shed, 1);
	assert_int_equal(cf[3].shed, 0);
	assert_int_equal(cf[4].shed, 0);
	assert_int_equal(cf[5].shed, 0);
	rig_drain(&r, "DestinationIp", "DestinationIp", "DestinationIp", &s);
	assert_int_equal(s.n, accepted);
	rig_close(&r);
}

/* Each malformed event is refused alone; the good events around it make one
 * batch that encodes and is spooled. */
static void test_collect_refuses_malformed(void **state)
{
	static const char nul_value[] = "a\0b";
	struct collect_family cf = {.family = "network"};
	struct event ev;
	struct rig r;
	struct seen s;
	(void)state;

	rig_open(&r, "malformed");
	good_event(&ev, "192.0.2.1");
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 0);
	/* a NUL inside the value */
	good_event(&ev, "x");
	ev.fields[0].value = nul_value;
	ev.fields[0].value_len = 3;
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
	/* more fields than the wire holds (all of them valid) */
	good_event(&ev, "x");
	for (uint16_t i = 0; i < EVENT_MAX_FIELDS; i++)
		ev.fields[i] = ev.fields[0];
	ev.nfields = EVENT_MAX_FIELDS + 1;
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
	/* an unknown category, and the agent's own status category */
	good_event(&ev, "x");
	ev.category = EVCAT_MAX_;
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
	ev.category = EVCAT_AGENT_STATUS;
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
	/* of which a family may send the auth family's forged-entry report
	 * only: not a drops or started status, not from another family */
	{
		struct collect_family auth = {.family = "auth"};

		assert_int_equal(event_set_str(&ev, "Status", "drops"), 0);
		assert_int_equal(collect_offer(r.b, &auth, 0, &ev), 1);
		good_event(&ev, "x");
		ev.category = EVCAT_AGENT_STATUS;
		assert_int_equal(event_set_str(&ev, "Status", "forged_log_entry"), 0);
		assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
		assert_int_equal(collect_offer(r.b, NULL, 0, &ev), 1);
		assert_int_equal(collect_offer(r.b, &auth, 0, &ev), 0);
	}
	/* a bad field name, a NULL value */
	good_event(&ev, "x");
	ev.fields[0].name = "bad name";
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
	good_event(&ev, "x");
	ev.fields[0].value = NULL;
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 1);
	good_event(&ev, "192.0.2.2");
	assert_int_equal(collect_offer(r.b, &cf, 0, &ev), 0);
	assert_int_equal(cf.shed, 0); /* refusals are not sheds */
	rig_drain(&r, "DestinationIp", "Status", "DestinationIp", &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.f1[0], "192.0.2.1");
	assert_int_equal(s.cat[1], EVCAT_AGENT_STATUS);
	assert_string_equal(s.f2[1], "forged_log_entry");
	assert_string_equal(s.f1[2], "192.0.2.2");
	rig_close(&r);
}

/* --- collect_run with a stand-in sensor and family (their ops tables) --- */

struct sensor {
	int fd; /* test_collect_run_family_drop: never readable */
	/* test_collect_run_sensor_idle: what the collector did, read by the
	 * driving thread */
	int polls, idle_on, idle_off, pending;
	long backlog; /* test_collect_run_stop_drain: messages held (-1: endless) */
	int quiesced; /* ... and ops->quiesce ran */
	/* test_collect_run_slow_polls: wall time a message costs (as a CPU
	 * bound stretches it), the bound each poll was given, the longest poll
	 * after the first */
	int cost_us, first_max, last_max;
	uint64_t longest_later_ns;
};

static int fs_fd(const struct sensor *s)
{
	return s->fd;
}

static int fs_poll(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		   void *arg)
{
	(void)s;
	(void)max;
	(void)cb;
	(void)arg;
	return 0;
}

static void fs_stats(struct sensor *s, struct sensor_stats *out)
{
	(void)s;
	memset(out, 0, sizeof(*out));
}

static const struct sensor_ops fake_sensor_ops = {
    .name = "fake",
    .fd = fs_fd,
    .poll = fs_poll,
    .stats = fs_stats,
};

/* A sensor with timer polls, as the eBPF one: fd (an eventfd) is readable
 * only when the driver says a message came; each poll hands over what is
 * pending. */
static int fsi_poll(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		    void *arg)
{
	uint64_t v;

	(void)max;
	(void)cb;
	(void)arg;
	__atomic_add_fetch(&s->polls, 1, __ATOMIC_SEQ_CST);
	(void)!read(s->fd, &v, sizeof(v));
	return __atomic_exchange_n(&s->pending, 0, __ATOMIC_SEQ_CST);
}

static void fsi_idle(struct sensor *s, int on)
{
	__atomic_add_fetch(on ? &s->idle_on : &s->idle_off, 1, __ATOMIC_SEQ_CST);
}

static const struct sensor_ops idle_sensor_ops = {
    .name = "fake-timer",
    .poll_interval_ms = 20,
    .fd = fs_fd,
    .poll = fsi_poll,
    .idle = fsi_idle,
    .stats = fs_stats,
};

struct family {
	int fd;	  /* eventfd: readable once */
	int stop; /* write end of the collector's stop pipe */
	struct family_stats st;
	long backlog;	/* test_collect_run_stop_drain: records held (-1: endless) */
	int quiesce_ms; /* ... and how long ops->quiesce takes */
	int flushed;	/* ... and whether ops->flush ran after them */
	int quiesced;	/* ... and ops->quiesce ran */
};

static int ff_fd(const struct family *f)
{
	return f->fd;
}

/* Emits good, malformed (NUL in a value), good; counts what emit refused,
 * as every module does; then asks the collector to stop. */
static int ff_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	static const char nul_value[] = "a\0b";
	struct event ev;
	uint64_t v;

	(void)max;
	if (read(f->fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	for (int i = 0; i < 3; i++) {
		event_init(&ev);
		ev.category = EVCAT_AUTHENTICATION;
		ev.ts_ns = 1;
		event_set_str(&ev, "User", i == 0 ? "alice" : "bob");
		if (i == 1) {
			ev.fields[0].value = nul_value;
			ev.fields[0].value_len = 3;
		}
		if (emit(arg, &ev) != 0)
			f->st.drops++;
		else
			f->st.events++;
	}
	if (write(f->stop, "x", 1) != 1)
		return -1;
	return 3;
}

static void ff_stats(const struct family *f, struct family_stats *out)
{
	*out = f->st;
}

static const struct family_ops fake_family_ops = {
    .family = "auth",
    .mode = "fake",
    .fd = ff_fd,
    .poll = ff_poll,
    .stats = ff_stats,
};

/* cfg for a collect_run pass over rig r: the sensor stand-in, one family
 * (cf; NULL: none), stopped when sigfd becomes readable */
static void run_cfg(struct collect_cfg *cfg, const struct sensor_ops *ops, struct sensor *sensor,
		    const struct rig *r, struct collect_family *cf, int sigfd)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ops = ops;
	cfg->sensor = sensor;
	cfg->b = r->b;
	cfg->sp = r->sp;
	cfg->fams = cf;
	cfg->nfams = cf ? 1 : 0;
	cfg->sigfd = sigfd;
	cfg->batch_ms = 1000;
}

static void run_family(struct collect_family *cf, const struct family_ops *ops, struct family *f)
{
	memset(cf, 0, sizeof(*cf));
	cf->family = ops->family;
	cf->ops = ops;
	cf->f = f;
}

static void test_collect_run_family_drop(void **state)
{
	struct sensor sensor;
	struct family fam;
	struct collect_family cf;
	struct collect_cfg cfg;
	struct rig r;
	struct seen s;
	int pfd[2], good = 0, reports = 0;
	uint64_t one = 1;
	(void)state;

	rig_open(&r, "run");
	assert_int_equal(pipe(pfd), 0);
	sensor.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fam.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(sensor.fd >= 0 && fam.fd >= 0);
	fam.stop = pfd[1];
	memset(&fam.st, 0, sizeof(fam.st));
	assert_int_equal(write(fam.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	run_family(&cf, &fake_family_ops, &fam);
	run_cfg(&cfg, &fake_sensor_ops, &sensor, &r, &cf,
		pfd[0]); /* readable: stop, as on SIGTERM */
	assert_int_equal(collect_run(&cfg), 0);
	assert_int_equal(fam.st.events, 2);
	assert_int_equal(fam.st.drops, 1);
	rig_drain(&r, "User", "Family", "Drops", &s);
	for (int i = 0; i < s.n; i++) {
		if (s.cat[i] == EVCAT_AUTHENTICATION) {
			assert_string_equal(s.f1[i], good == 0 ? "alice" : "bob");
			good++;
		}
		/* the drop report names the family and its count */
		if (s.cat[i] == EVCAT_AGENT_STATUS && strcmp(s.f2[i], "auth") == 0) {
			assert_string_equal(s.f3[i], "1");
			reports++;
		}
	}
	assert_int_equal(good, 2);
	assert_int_equal(reports, 1);
	close(pfd[0]);
	close(pfd[1]);
	close(sensor.fd);
	close(fam.fd);
	rig_close(&r);
}

/* Drives test_collect_run_sensor_idle from its own thread while
 * collect_run runs. */
struct idle_drive {
	struct sensor *s;
	int stop; /* write end of the collector's stop pipe */
	int ok_idle, quiet_polls, ok_woken, resumed_polls;
};

static int get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/* Waits up to ms for *p >= want. */
static int wait_for(int *p, int want, int ms)
{
	for (int i = 0; i < ms / 10 && get(p) < want; i++)
		usleep(10000);
	return get(p) >= want;
}

static void *idle_driver(void *arg)
{
	struct idle_drive *d = arg;
	struct sensor *s = d->s;
	uint64_t one = 1;
	int p0;

	/* nothing comes: after COLLECT_SENSOR_IDLE_MS (500) the timer polls stop */
	d->ok_idle = wait_for(&s->idle_on, 1, 3000);
	usleep(50000);
	p0 = get(&s->polls);
	usleep(400000); /* the 1 s tick's safety poll is at least 950 ms away */
	d->quiet_polls = get(&s->polls) - p0;
	/* a message: the sensor makes its descriptor readable */
	__atomic_store_n(&s->pending, 1, __ATOMIC_SEQ_CST);
	if (write(s->fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return NULL;
	d->ok_woken = wait_for(&s->idle_off, 1, 2000);
	p0 = get(&s->polls);
	usleep(300000);
	d->resumed_polls = get(&s->polls) - p0;
	(void)!write(d->stop, "x", 1);
	return NULL;
}

/* A sensor with timer polls and nothing to give is told it is idle, then
 * not polled on the timer (its next message wakes the collector); a
 * message resumes the timer polls. */
static void test_collect_run_sensor_idle(void **state)
{
	struct sensor sensor;
	struct collect_cfg cfg;
	struct idle_drive d;
	struct rig r;
	pthread_t th;
	int pfd[2];
	(void)state;

	rig_open(&r, "idle");
	assert_int_equal(pipe(pfd), 0);
	memset(&sensor, 0, sizeof(sensor));
	sensor.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(sensor.fd >= 0);
	run_cfg(&cfg, &idle_sensor_ops, &sensor, &r, NULL, pfd[0]);
	memset(&d, 0, sizeof(d));
	d.s = &sensor;
	d.stop = pfd[1];
	assert_int_equal(pthread_create(&th, NULL, idle_driver, &d), 0);
	assert_int_equal(collect_run(&cfg), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(d.ok_idle);
	assert_int_equal(get(&sensor.idle_on), 1);
	/* 400 ms idle: no timer poll (20 would have run) */
	assert_int_equal(d.quiet_polls, 0);
	assert_true(d.ok_woken);
	/* 300 ms after: polled on the 20 ms timer again */
	assert_true(d.resumed_polls >= 3);
	close(pfd[0]);
	close(pfd[1]);
	close(sensor.fd);
	rig_close(&r);
}

/* --- auditd: the agent's own execve rule (key yamori_exec) --- */

/* A process that is not the test's own (family_env.self_pid): records of
 * the agent itself are skipped, and the test may run as pid 4242 */
static int other_pid(void)
{
	return getpid() == 4242 ? 4243 : 4242;
}

struct au_seen {
	int n, exec;
	char type[32][16], key[32][32];
};

static int au_collect(void *arg, const struct event *ev)
{
	struct au_seen *a = arg;

	if (ev->category == EVCAT_PROCESS_CREATION) {
		a->exec++;
		return 0;
	}
	if (a->n < 32) {
		copy_field(ev, "type", a->type[a->n], sizeof(a->type[0]));
		copy_field(ev, "key", a->key[a->n], sizeof(a->key[0]));
		a->n++;
	}
	return 0;
}

static void au_feed(struct family *f, uint16_t type, const char *text, struct au_seen *a)
{
	(void)family_auditd_audit_feed(f, type, text, strlen(text), au_collect, a);
}

/* One execve as the kernel reports it: SYSCALL (with the rule's key),
 * EXECVE, CWD, npath PATH records, EOE, all with serial. */
static void au_exec_event(struct family *f, unsigned serial, const char *key, int npath,
			  struct au_seen *a)
{
	char t[512];

	snprintf(t, sizeof(t),
		 "audit(1700000000.123:%u): arch=c000003e syscall=59 success=yes exit=0 a0=1 "
		 "a1=2 a2=3 a3=4 items=2 ppid=1 pid=%d auid=0 uid=0 gid=0 euid=0 tty=(none) "
		 "ses=1 comm=\"echo\" exe=\"/usr/bin/echo\" key=\"%s\"",
		 serial, other_pid(), key);
	au_feed(f, AUDIT_SYSCALL, t, a);
	snprintf(t, sizeof(t), "audit(1700000000.123:%u): argc=2 a0=\"/bin/echo\" a1=\"hi\"",
		 serial);
	au_feed(f, AUDIT_EXECVE, t, a);
	snprintf(t, sizeof(t), "audit(1700000000.123:%u): cwd=\"/tmp\"", serial);
	au_feed(f, AUDIT_CWD, t, a);
	for (int i = 0; i < npath; i++) {
		snprintf(t, sizeof(t), "audit(1700000000.123:%u): item=%d name=\"/bin/echo\"",
			 serial, i);
		au_feed(f, AUDIT_PATH, t, a);
	}
	snprintf(t, sizeof(t), "audit(1700000000.123:%u): ", serial);
	au_feed(f, AUDIT_EOE, t, a);
}

static int au_has(const struct au_seen *a, const char *type, const char *key)
{
	int n = 0;

	for (int i = 0; i < a->n; i++)
		n += strcmp(a->type[i], type) == 0 && strcmp(a->key[i], key) == 0;
	return n;
}

/* Beside a process sensor without --audit-exec, this instance did not ask
 * for the execve rule: events carrying its key (a stale rule, or another
 * agent's) are skipped whole; other keys' events are reported. */
static void test_auditd_stale_rule_skipped(void **state)
{
	struct family_env env = {.self_pid = (int32_t)getpid(), .process_sensor = 1};
	struct family_stats st;
	struct family *f = NULL;
	struct au_seen a;
	(void)state;

	memset(&a, 0, sizeof(a));
	assert_int_equal(family_auditd_audit_new(&env, &f), 0);
	assert_int_equal(family_auditd_audit_ops.fd(f), -1);
	/* more records than a group keeps: a skipped event is not even stored */
	au_exec_event(f, 100, FAMILY_AUDITD_KEY, FAMILY_AUDITD_RECORDS + 4, &a);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.exec, 0);
	au_exec_event(f, 101, "admin_rule", 0, &a);
	assert_int_equal(au_has(&a, "SYSCALL", "admin_rule"), 1);
	assert_int_equal(au_has(&a, "EXECVE", "admin_rule"), 1);
	assert_int_equal(au_has(&a, "CWD", "admin_rule"), 1);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.exec, 0); /* the process sensor reports execs */
	family_auditd_audit_ops.stats(f, &st);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.drops, 0); /* skipped, not lost */
	family_auditd_audit_ops.stop(f);
}

/* An event whose end record had not come when the agent stopped: emitted
 * by the family's flush with what it has, not freed with the family. */
static void test_auditd_flush_at_stop(void **state)
{
	struct family_env env = {.self_pid = (int32_t)getpid(), .process_sensor = 1};
	struct family *f = NULL;
	struct au_seen a;
	char t[512];
	(void)state;

	memset(&a, 0, sizeof(a));
	assert_int_equal(family_auditd_audit_new(&env, &f), 0);
	snprintf(t, sizeof(t),
		 "audit(1700000000.123:200): arch=c000003e syscall=59 success=yes exit=0 a0=1 "
		 "a1=2 a2=3 a3=4 items=1 ppid=1 pid=%d auid=0 uid=0 gid=0 euid=0 tty=(none) "
		 "ses=1 comm=\"echo\" exe=\"/usr/bin/echo\" key=\"admin_rule\"",
		 other_pid());
	au_feed(f, AUDIT_SYSCALL, t, &a);
	au_feed(f, AUDIT_CWD, "audit(1700000000.123:200): cwd=\"/tmp\"", &a);
	assert_int_equal(a.n, 0); /* waiting for its EOE */
	assert_int_equal(family_auditd_audit_ops.flush(f, au_collect, &a), 2);
	assert_int_equal(au_has(&a, "SYSCALL", "admin_rule"), 1);
	assert_int_equal(au_has(&a, "CWD", "admin_rule"), 1);
	assert_int_equal(a.n, 2);
	assert_int_equal(family_auditd_audit_ops.flush(f, au_collect, &a), 0);
	family_auditd_audit_ops.stop(f);
}

/* With --audit-exec (or as the process family's fallback) the rule is this
 * instance's: its events are reported, with the key; as the fallback also as
 * process_creation. */
static void test_auditd_requested_rule_reported(void **state)
{
	struct family_env env = {
	    .self_pid = (int32_t)getpid(), .process_sensor = 1, .audit_exec = 1};
	struct family *f = NULL;
	struct au_seen a;
	(void)state;

	memset(&a, 0, sizeof(a));
	assert_int_equal(family_auditd_audit_new(&env, &f), 0);
	au_exec_event(f, 200, FAMILY_AUDITD_KEY, 0, &a);
	assert_int_equal(au_has(&a, "SYSCALL", FAMILY_AUDITD_KEY), 1);
	assert_int_equal(au_has(&a, "EXECVE", FAMILY_AUDITD_KEY), 1);
	assert_int_equal(au_has(&a, "CWD", FAMILY_AUDITD_KEY), 1);
	assert_int_equal(a.exec, 0);
	family_auditd_audit_ops.stop(f);

	memset(&a, 0, sizeof(a));
	env.process_sensor = 0;
	env.audit_exec = 0;
	assert_int_equal(family_auditd_audit_new(&env, &f), 0);
	au_exec_event(f, 201, FAMILY_AUDITD_KEY, 0, &a);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.exec, 1);
	family_auditd_audit_ops.stop(f);
}

/* The process_creation event of the auditd fallback: its command line and
 * cwd, as the kernel writes them */
struct au_exec_seen {
	int n;
	char cmd[40000], cwd[64], a2_len[16];
	size_t cmd_len;
	/* the raw EXECVE record's event: exe, comm, its last argument, count */
	char exe[64], comm[16], alast[16];
	unsigned execve_fields;
};

static int au_exec_collect(void *arg, const struct event *ev)
{
	struct au_exec_seen *x = arg;
	const char *v;
	size_t n = 0;

	if (event_get(ev, "a2_len", NULL) != NULL) /* the raw EXECVE record's */
		copy_field(ev, "a2_len", x->a2_len, sizeof(x->a2_len));
	v = event_get(ev, "type", NULL);
	if (v && strcmp(v, "EXECVE") == 0) {
		copy_field(ev, "exe", x->exe, sizeof(x->exe));
		copy_field(ev, "comm", x->comm, sizeof(x->comm));
		x->execve_fields = ev->nfields;
		for (uint16_t i = 0; i < ev->nfields; i++)
			if (ev->fields[i].name[0] == 'a' && ev->fields[i].name[1] != 'r')
				snprintf(x->alast, sizeof(x->alast), "%s", ev->fields[i].name);
	}
	if (ev->category != EVCAT_PROCESS_CREATION)
		return 0;
	x->n++;
	v = event_get(ev, "CommandLine", &n);
	assert_non_null(v);
	assert_true(n < sizeof(x->cmd));
	memcpy(x->cmd, v, n + 1);
	x->cmd_len = n;
	copy_field(ev, "CurrentDirectory", x->cwd, sizeof(x->cwd));
	return 0;
}

static void au_feed_x(struct family *f, uint16_t type, const char *text, struct au_exec_seen *x)
{
	(void)family_auditd_audit_feed(f, type, text, strlen(text), au_exec_collect, x);
}

static void test_auditd_exec_command_line(void **state)
{
	struct family_env env = {.self_pid = (int32_t)getpid()};
	struct family *f = NULL;
	struct au_exec_seen *x = calloc(1, sizeof(*x));
	char *t = malloc(16384), *want = malloc(40000), *hex = malloc(16384);
	size_t o, w;
	(void)state;

	assert_non_null(x);
	assert_non_null(t);
	assert_non_null(want);
	assert_non_null(hex);
	assert_int_equal(family_auditd_audit_new(&env, &f), 0);

	/* 300 arguments in one record (48 were parsed before), one with a
	 * trailing space (hex-encoded: it was cut), and two CWD records (the
	 * second rewrote the first's value, which the event still borrowed) */
	o = (size_t)snprintf(t, 16384,
			     "audit(1700000000.123:300): arch=c000003e syscall=59 success=yes "
			     "exit=0 ppid=1 pid=%d uid=0 comm=\"x\" exe=\"/usr/bin/x\"",
			     other_pid());
	au_feed_x(f, AUDIT_SYSCALL, t, x);
	o = (size_t)snprintf(t, 16384, "audit(1700000000.123:300): argc=301 a0=\"/usr/bin/x\"");
	w = (size_t)snprintf(want, 40000, "/usr/bin/x");
	for (int i = 1; i < 300; i++) {
		o += (size_t)snprintf(t + o, 16384 - o, " a%d=\"v%d\"", i, i);
		w += (size_t)snprintf(want + w, 40000 - w, " v%d", i);
	}
	o += (size_t)snprintf(t + o, 16384 - o, " a300=686920"); /* "hi " */
	w += (size_t)snprintf(want + w, 40000 - w, " hi ");
	au_feed_x(f, AUDIT_EXECVE, t, x);
	au_feed_x(f, AUDIT_CWD, "audit(1700000000.123:300): cwd=\"/srv/first\"", x);
	au_feed_x(f, AUDIT_CWD, "audit(1700000000.123:300): item=0", x);
	au_feed_x(f, AUDIT_EOE, "audit(1700000000.123:300): ", x);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->cmd, want);
	assert_string_equal(x->cwd, "/srv/first");
	/* the raw record's event: as many arguments as fit beside who ran it
	 * (the SYSCALL record's exe, comm, pid, ppid, uid, syscall, success:
	 * 7), where the arguments took every field before */
	assert_int_equal(x->execve_fields, EVENT_MAX_FIELDS);
	assert_string_equal(x->exe, "/usr/bin/x");
	assert_string_equal(x->comm, "x");
	assert_string_equal(x->alast, "a22"); /* type, argc, a0..a22, then 7 */

	/* an argument too long for its record: a1_len, then a1[0] in the
	 * first EXECVE record and a1[1], a1[2] in the second, then a2; the
	 * parts are hex-encoded (the argument holds a space) */
	memset(x, 0, sizeof(*x));
	au_feed_x(f, AUDIT_SYSCALL,
		  "audit(1700000000.200:301): syscall=59 success=yes pid=2 ppid=1 "
		  "exe=\"/usr/bin/python3\"",
		  x);
	for (int i = 0; i < 3000; i++)
		snprintf(hex + 2 * i, 3, "%02X", i % 10 == 9 ? ' ' : 'A' + i % 26);
	w = (size_t)snprintf(want, 40000, "python3 -c ");
	for (int i = 0; i < 3000; i++)
		want[w++] = i % 10 == 9 ? ' ' : (char)('A' + i % 26);
	w += (size_t)snprintf(want + w, 40000 - w, " end");
	snprintf(t, 16384,
		 "audit(1700000000.200:301): argc=4 a0=\"python3\" a1=\"-c\" a2_len=6000 "
		 "a2[0]=%.2000s",
		 hex);
	au_feed_x(f, AUDIT_EXECVE, t, x);
	snprintf(t, 16384, "audit(1700000000.200:301): a2[1]=%.2000s a2[2]=%.2000s a3=\"end\"",
		 hex + 2000, hex + 4000);
	au_feed_x(f, AUDIT_EXECVE, t, x);
	au_feed_x(f, AUDIT_EOE, "audit(1700000000.200:301): ", x);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->cmd_len, w);
	assert_memory_equal(x->cmd, want, w);
	/* a decimal field among the arguments is not hex (it was "`") */
	assert_string_equal(x->a2_len, "6000");

	/* the same, the parts ending at a record's end, the next argument
	 * first in the next record */
	memset(x, 0, sizeof(*x));
	au_feed_x(f, AUDIT_SYSCALL,
		  "audit(1700000000.300:302): syscall=59 success=yes pid=3 ppid=1", x);
	au_feed_x(f, AUDIT_EXECVE,
		  "audit(1700000000.300:302): argc=3 a0=\"sh\" a1_len=8 a1[0]=\"abcd\" "
		  "a1[1]=\"efgh\"",
		  x);
	au_feed_x(f, AUDIT_EXECVE, "audit(1700000000.300:302): a2=\"z\"", x);
	au_feed_x(f, AUDIT_EOE, "audit(1700000000.300:302): ", x);
	assert_int_equal(x->n, 1);
	assert_string_equal(x->cmd, "sh abcdefgh z");

	family_auditd_audit_ops.stop(f);
	free(x);
	free(t);
	free(want);
	free(hex);
}

/* A sensor (or family) holding records its descriptor never announces, as a
 * ring buffer below its wake-up mark: each poll hands over what it may take
 * (none reach the batcher: the collector's reads are what is counted). */
static int fsb_poll(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		    void *arg)
{
	long k = s->backlog < 0 || s->backlog > max ? max : s->backlog;

	(void)cb;
	(void)arg;
	s->polls++;
	if (s->backlog > 0)
		s->backlog -= k;
	return (int)k;
}

static const struct sensor_ops backlog_sensor_ops = {
    .name = "fake-backlog",
    .poll_interval_ms = 100,
    .fd = fs_fd,
    .poll = fsb_poll,
    .stats = fs_stats,
};

/* the kernel side stopped: what the buffer holds is all there will be */
static void fsb_quiesce(struct sensor *s)
{
	s->quiesced = 1;
	if (s->backlog < 0)
		s->backlog = 5000;
}

static const struct sensor_ops quiesce_sensor_ops = {
    .name = "fake-quiesce",
    .poll_interval_ms = 100,
    .fd = fs_fd,
    .poll = fsb_poll,
    .quiesce = fsb_quiesce,
    .stats = fs_stats,
};

static int fb_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	long k = f->backlog < 0 || f->backlog > max ? max : f->backlog;

	(void)emit;
	(void)arg;
	if (f->backlog > 0)
		f->backlog -= k;
	return (int)k;
}

/* flushed after the last poll took everything: 1; too early: -1 */
static int fb_flush(struct family *f, family_emit_fn emit, void *arg)
{
	(void)emit;
	(void)arg;
	f->flushed = f->backlog == 0 ? 1 : -1;
	return 0;
}

static const struct family_ops backlog_family_ops = {
    .family = "network",
    .mode = "fake-backlog",
    .fd = ff_fd,
    .poll = fb_poll,
    .flush = fb_flush,
    .stats = ff_stats,
};

static void fb_quiesce(struct family *f)
{
	struct timespec ts = {f->quiesce_ms / 1000, (long)(f->quiesce_ms % 1000) * 1000000l};

	nanosleep(&ts, NULL);
	f->quiesced = 1;
	if (f->backlog < 0)
		f->backlog = 7000;
}

static const struct family_ops quiesce_family_ops = {
    .family = "network",
    .mode = "fake-quiesce",
    .fd = ff_fd,
    .poll = fb_poll,
    .flush = fb_flush,
    .quiesce = fb_quiesce,
    .stats = ff_stats,
};

/* Endless records, each costing cost_us of wall time (the collector's CPU
 * share stretches its reads so): each poll takes what it may and sleeps
 * for them. */
static int fss_poll(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		    void *arg)
{
	uint64_t t0 = util_mono_ns(), us = (uint64_t)max * (uint64_t)get(&s->cost_us), ns;
	struct timespec d = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000l};

	(void)cb;
	(void)arg;
	nanosleep(&d, NULL);
	ns = util_mono_ns() - t0;
	if (get(&s->polls) == 0)
		s->first_max = max;
	else if (ns > __atomic_load_n(&s->longest_later_ns, __ATOMIC_SEQ_CST))
		__atomic_store_n(&s->longest_later_ns, ns, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->last_max, max, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&s->polls, 1, __ATOMIC_SEQ_CST);
	return max;
}

static const struct sensor_ops slow_sensor_ops = {
    .name = "fake-slow",
    .poll_interval_ms = 100,
    .fd = fs_fd,
    .poll = fss_poll,
    .stats = fs_stats,
};

static int ft_poll(struct family *f, int max, family_emit_fn emit, void *arg)
{
	(void)f;
	(void)max;
	(void)emit;
	(void)arg;
	return 0;
}

/* counts the collector's ticks in flushed */
static int ft_tick(struct family *f, family_emit_fn emit, void *arg)
{
	(void)emit;
	(void)arg;
	__atomic_add_fetch(&f->flushed, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static const struct family_ops tick_family_ops = {
    .family = "auth",
    .mode = "fake-tick",
    .fd = ff_fd,
    .poll = ft_poll,
    .tick = ft_tick,
    .stats = ff_stats,
};

struct slow_drive {
	struct sensor *s;
	struct family *f;
	int stop;
	int ok_small, ok_ticked, ok_back;
};

static void *slow_driver(void *arg)
{
	struct slow_drive *d = arg;

	/* the first poll (4,096 records at 300 us: ~1.2 s) and twenty more */
	d->ok_small = wait_for(&d->s->polls, 21, 6000);
	d->ok_ticked = wait_for(&d->f->flushed, 1, 3000);
	/* the records cost nothing now: the bound grows back to its maximum */
	__atomic_store_n(&d->s->cost_us, 0, __ATOMIC_SEQ_CST);
	d->ok_back = wait_for(&d->s->last_max, 4096, 3000);
	(void)!write(d->stop, "x", 1);
	return NULL;
}

/* Reads stretched in wall time (an agent held at 5 % of a core) take fewer
 * records a poll, so that the tick still runs (drop reports, the shedding
 * level): after the first poll, none is much longer than the collector's
 * 25 ms budget; once reads are quick again, the bound is back to 4,096. */
static void test_collect_run_slow_polls(void **state)
{
	struct sensor sensor;
	struct family fam;
	struct collect_family cf;
	struct collect_cfg cfg;
	struct slow_drive d;
	struct rig r;
	pthread_t th;
	int pfd[2];
	(void)state;

	rig_open(&r, "slow");
	assert_int_equal(pipe(pfd), 0);
	memset(&sensor, 0, sizeof(sensor));
	memset(&fam, 0, sizeof(fam));
	sensor.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fam.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(sensor.fd >= 0 && fam.fd >= 0);
	sensor.cost_us = 300;
	run_family(&cf, &tick_family_ops, &fam);
	run_cfg(&cfg, &slow_sensor_ops, &sensor, &r, &cf, pfd[0]);
	memset(&d, 0, sizeof(d));
	d.s = &sensor;
	d.f = &fam;
	d.stop = pfd[1];
	assert_int_equal(pthread_create(&th, NULL, slow_driver, &d), 0);
	assert_int_equal(collect_run(&cfg), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(sensor.first_max, 4096);
	assert_true(d.ok_small);
	/* 25 ms at the rate seen, and what sleeping overshoots */
	assert_true(sensor.longest_later_ns < 200000000ull);
	assert_true(d.ok_ticked);
	assert_true(d.ok_back);
	close(pfd[0]);
	close(pfd[1]);
	close(sensor.fd);
	close(fam.fd);
	rig_close(&r);
}

/* collect_poll_bound: cut to the budget at the rate seen, never under 64,
 * doubled back up to the cap while full polls are quick */
static void test_collect_poll_bound(void **state)
{
	const uint64_t ms = 1000000ull;
	(void)state;

	/* 4,096 in 1 s: 102 fit 25 ms */
	assert_int_equal(collect_poll_bound(4096, 4096, 1000 * ms, 4096), 102);
	/* 100 in 10 s: at least 64 */
	assert_int_equal(collect_poll_bound(4096, 100, 10000 * ms, 4096), 64);
	/* drained (n < max) and slow: what fits, never more than before */
	assert_int_equal(collect_poll_bound(256, 50, 50 * ms, 4096), 64);
	assert_int_equal(collect_poll_bound(256, 200, 40 * ms, 4096), 125);
	/* full and quick: twice, up to the cap */
	assert_int_equal(collect_poll_bound(64, 64, 1 * ms, 4096), 128);
	assert_int_equal(collect_poll_bound(3000, 3000, 1 * ms, 4096), 4096);
	assert_int_equal(collect_poll_bound(4096, 4096, 1 * ms, 4096), 4096);
	/* not full, or between half the budget and all of it: as it was */
	assert_int_equal(collect_poll_bound(512, 10, 1 * ms, 4096), 512);
	assert_int_equal(collect_poll_bound(512, 512, 20 * ms, 4096), 512);
	assert_int_equal(collect_poll_bound(512, 0, 100 * ms, 4096), 512);
}

/* Stopped with records in the kernel buffers (the signal came first): the
 * collector reads them all before it returns, the sensor's and a family's,
 * past a poll's limit; a sensor that never runs dry is read for a bounded
 * time only, counted from when the modules that can stop their source did. */
static void test_collect_run_stop_drain(void **state)
{
	struct sensor sensor;
	struct family fam;
	struct collect_family cf;
	struct collect_cfg cfg;
	struct rig r;
	int pfd[2];
	uint64_t t0;
	(void)state;

	rig_open(&r, "drain");
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "x", 1), 1); /* the stop, before anything */
	memset(&sensor, 0, sizeof(sensor));
	memset(&fam, 0, sizeof(fam));
	sensor.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fam.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(sensor.fd >= 0 && fam.fd >= 0);
	sensor.backlog = 10000; /* more than two polls take */
	fam.backlog = 9000;
	run_family(&cf, &backlog_family_ops, &fam);
	run_cfg(&cfg, &backlog_sensor_ops, &sensor, &r, &cf, pfd[0]);
	assert_int_equal(collect_run(&cfg), 0);
	assert_int_equal(sensor.backlog, 0);
	assert_int_equal(fam.backlog, 0);
	assert_int_equal(fam.flushed, 1);
	assert_true(sensor.polls >= 3);

	/* endless: given up after the bound (2 s), not held forever */
	sensor.backlog = -1;
	fam.backlog = 0;
	assert_int_equal(write(pfd[1], "x", 1), 1);
	t0 = util_mono_ns();
	assert_int_equal(collect_run(&cfg), 0);
	assert_true(util_mono_ns() - t0 >= 1900000000ull);
	assert_true(util_mono_ns() - t0 < 10000000000ull);

	/* endless until the programs are detached (ops->quiesce), the
	 * sensor's and a family's: then what the buffers hold is read to the
	 * last record, at once, not for the whole bound */
	sensor.backlog = -1;
	fam.backlog = -1;
	fam.flushed = 0;
	run_family(&cf, &quiesce_family_ops, &fam);
	run_cfg(&cfg, &quiesce_sensor_ops, &sensor, &r, &cf, pfd[0]);
	assert_int_equal(write(pfd[1], "x", 1), 1);
	t0 = util_mono_ns();
	assert_int_equal(collect_run(&cfg), 0);
	assert_true(util_mono_ns() - t0 < 1000000000ull);
	assert_int_equal(sensor.quiesced, 1);
	assert_int_equal(fam.quiesced, 1);
	assert_int_equal(sensor.backlog, 0);
	assert_int_equal(fam.backlog, 0);
	assert_int_equal(fam.flushed, 1);

	/* detaching took longer than the bound (closing tracepoint links
	 * waits for RCU grace periods): what the buffers then hold, more than
	 * a poll takes, is still read to the last record */
	sensor.backlog = -1;
	fam.backlog = -1;
	fam.flushed = 0;
	fam.quiesce_ms = 2100;
	assert_int_equal(write(pfd[1], "x", 1), 1);
	assert_int_equal(collect_run(&cfg), 0);
	assert_int_equal(sensor.backlog, 0);
	assert_int_equal(fam.backlog, 0);
	assert_int_equal(fam.flushed, 1);
	close(pfd[0]);
	close(pfd[1]);
	close(sensor.fd);
	close(fam.fd);
	rig_close(&r);
}

static int dns_seen(void *arg, const struct event *ev)
{
	char *name = arg;

	copy_field(ev, "QueryName", name, 64);
	return 0;
}

/* A query still unanswered when the agent stops: flushed (as at its
 * timeout, without results), not freed with the table. */
/* family_dns_tcp: the messages a test connection's segments complete */
struct dt_seen {
	int n;
	size_t len[8], wire[8];
	uint8_t first[8][2];
	uint16_t sport[8];
};

static void dt_msg(void *arg, const struct family_dns_tcp_seg *s, const uint8_t *msg, size_t n,
		   size_t wire_len)
{
	struct dt_seen *w = arg;

	if (w->n < 8) {
		w->len[w->n] = n;
		w->wire[w->n] = wire_len;
		memcpy(w->first[w->n], msg, 2);
		w->sport[w->n] = s->sport;
	}
	w->n++;
}

/* A segment of the test connection 10.0.0.1:40000 <-> 10.0.0.53:53 (out:
 * from the client), payload p (n bytes) at sequence number seq. */
static int dt_seg(struct family_dns_tcp *t, int out, uint32_t seq, uint8_t flags, const void *p,
		  size_t n, struct dt_seen *w)
{
	static const uint8_t c[4] = {10, 0, 0, 1}, s[4] = {10, 0, 0, 53};
	struct family_dns_tcp_seg g = {.af = AF_INET,
				       .src = out ? c : s,
				       .dst = out ? s : c,
				       .sport = out ? 40000 : 53,
				       .dport = out ? 53 : 40000,
				       .seq = seq,
				       .flags = flags,
				       .data = p,
				       .len = n};

	return family_dns_tcp_segment(t, &g, 1, dt_msg, w);
}

/* Messages split anyhow between segments, retransmissions, two in one
 * segment, a cut long one, a gap, and data of a connection not seen
 * starting. */
static void test_dns_tcp_follow(void **state)
{
	struct family_dns_tcp *t;
	struct dt_seen w;
	uint8_t m[2 + 1500], two[2 * (2 + 20)];
	(void)state;

	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	assert_int_equal(family_dns_tcp_new(&t), 0);
	/* not seen starting: given up once, nothing read */
	assert_int_equal(dt_seg(t, 1, 500, 0, "\x00\x14", 2, &w), 1);
	assert_int_equal(dt_seg(t, 1, 502, 0, m, 20, &w), 0);
	assert_int_equal(w.n, 0);
	/* the connection starts again: SYN at 1000 out, SYN-ACK at 5000 back */
	assert_int_equal(dt_seg(t, 1, 1000, FAMILY_DNS_TCP_SYN, NULL, 0, &w), 0);
	assert_int_equal(dt_seg(t, 0, 5000, FAMILY_DNS_TCP_SYN, NULL, 0, &w), 0);
	/* a 20-byte message: its length's first byte, then the rest over two */
	m[0] = 0, m[1] = 20;
	assert_int_equal(dt_seg(t, 1, 1001, 0, m, 1, &w), 0);
	assert_int_equal(dt_seg(t, 1, 1002, 0, m + 1, 9, &w), 0);
	assert_int_equal(w.n, 0);
	/* a retransmission of the first 10 bytes and 12 new ones: only those */
	assert_int_equal(dt_seg(t, 1, 1001, 0, m, 22, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.len[0], 20);
	assert_int_equal(w.wire[0], 20);
	assert_int_equal(w.first[0][0], 2); /* the message's first byte: m[2] */
	assert_int_equal(w.sport[0], 40000);
	/* the same bytes once more: nothing new */
	assert_int_equal(dt_seg(t, 1, 1001, 0, m, 22, &w), 0);
	assert_int_equal(w.n, 1);
	/* back: two messages in one segment */
	for (int i = 0; i < 2; i++) {
		two[i * 22] = 0, two[i * 22 + 1] = 20;
		memset(two + i * 22 + 2, 0x40 + i, 20);
	}
	assert_int_equal(dt_seg(t, 0, 5001, 0, two, sizeof(two), &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.first[1][0], 0x40);
	assert_int_equal(w.first[2][0], 0x41);
	assert_int_equal(w.sport[2], 53);
	/* a 1,500-byte message: its first FAMILY_DNS_TCP_MSG bytes, once the
	 * last of them came; the rest passed over */
	m[0] = 1500 >> 8, m[1] = 1500 & 0xff;
	assert_int_equal(dt_seg(t, 0, 5045, 0, m, 1000, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(dt_seg(t, 0, 6045, 0, m + 1000, 502, &w), 0);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.len[3], FAMILY_DNS_TCP_MSG);
	assert_int_equal(w.wire[3], 1500);
	/* a message shorter than a DNS header is passed over */
	assert_int_equal(dt_seg(t, 0, 6547, 0, "\x00\x03xyz", 5, &w), 0);
	assert_int_equal(w.n, 4);
	/* a gap back: that direction given up, once; the other goes on */
	assert_int_equal(dt_seg(t, 0, 7000, 0, two, 22, &w), 1);
	assert_int_equal(dt_seg(t, 0, 7022, 0, two, 22, &w), 0);
	assert_int_equal(w.n, 4);
	assert_int_equal(dt_seg(t, 1, 1023, 0, two, 22, &w), 0);
	assert_int_equal(w.n, 5);
	/* FIN both ways: the entry goes; later data is of a connection not
	 * seen starting */
	assert_int_equal(dt_seg(t, 1, 1045, FAMILY_DNS_TCP_FIN, NULL, 0, &w), 0);
	assert_int_equal(dt_seg(t, 0, 7044, FAMILY_DNS_TCP_FIN, NULL, 0, &w), 0);
	assert_int_equal(dt_seg(t, 1, 1046, 0, two, 22, &w), 1);
	/* data before the SYN-ACK was seen: given up */
	assert_int_equal(dt_seg(t, 1, 9000, FAMILY_DNS_TCP_SYN, NULL, 0, &w), 0);
	assert_int_equal(dt_seg(t, 0, 3000, 0, two, 22, &w), 1);
	/* a segment of neither port 53 nor of a known family is ignored */
	{
		struct family_dns_tcp_seg g = {.af = AF_INET, .sport = 1, .dport = 2};

		assert_int_equal(family_dns_tcp_segment(t, &g, 1, dt_msg, &w), 0);
	}
	assert_int_equal(w.n, 5);
	family_dns_tcp_free(t);
}

/* A response copied only in part (the bpf mode's 1,024 bytes of a longer
 * one): the answers that fit, and that it was cut; a cut question is no
 * message. */
static void test_dns_parse_cut(void **state)
{
	/* id 0x4242, response, 1 question (a.test A), 3 answers 10.0.0.1-3 */
	uint8_t r[12 + 12 + 3 * 16] = {0x42, 0x42, 0x81, 0x80, 0,   1,	 0,   3, 0, 0, 0, 0,
				       1,    'a',  4,	 't',  'e', 's', 't', 0, 0, 1, 0, 1};
	static struct family_dns_msg m;
	(void)state;

	for (int i = 0; i < 3; i++) {
		uint8_t *a = r + 24 + 16 * i;
		const uint8_t rr[16] = {0xc0, 12, 0, 1, 0,  1, 0, 0,
					0,    60, 0, 4, 10, 0, 0, (uint8_t)(i + 1)};

		memcpy(a, rr, sizeof(rr));
	}
	assert_int_equal(family_dns_parse(r, sizeof(r), &m), 0);
	assert_string_equal(m.answers, "10.0.0.1;10.0.0.2;10.0.0.3");
	assert_int_equal(m.cut, 0);
	/* cut inside the third answer's address */
	assert_int_not_equal(family_dns_parse(r, sizeof(r) - 2, &m), 0);
	assert_int_equal(family_dns_parse_cut(r, sizeof(r) - 2, &m), 0);
	assert_string_equal(m.answers, "10.0.0.1;10.0.0.2");
	assert_int_equal(m.cut, 1);
	assert_string_equal(m.qname, "a.test");
	assert_int_equal(m.rcode, 0);
	/* cut inside the first answer's name: none */
	assert_int_equal(family_dns_parse_cut(r, 25, &m), 0);
	assert_int_equal(m.answers_len, 0);
	assert_int_equal(m.cut, 1);
	/* cut inside the question: not a message */
	assert_int_not_equal(family_dns_parse_cut(r, 20, &m), 0);
}

static void test_dns_track_flush_at_stop(void **state)
{
	struct family_env env = {.self_pid = (int32_t)getpid()};
	struct family_dns_track *t = NULL;
	/* id 0x1234, query, 1 question: www.example.test A */
	static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0,	 1,   0,   0,	0,   0,	  0,   0,
				    3,	  'w',	'w',  'w',  7,	 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				    4,	  't',	'e',  's',  't', 0,   0,   1,	0,   1};
	static const uint8_t lo[4] = {127, 0, 0, 1}, ns[4] = {127, 0, 0, 53};
	char name[64] = "";
	(void)state;

	assert_int_equal(family_dns_track_new(&env, &t), 0);
	assert_int_equal(family_dns_track_packet(t, IPPROTO_UDP, AF_INET, lo, 40000, ns, 53, q,
						 sizeof(q), sizeof(q), other_pid(), FAMILY_UID_NONE,
						 0, dns_seen, name),
			 0);
	assert_int_equal(family_dns_track_tick(t, dns_seen, name), 0); /* not yet timed out */
	assert_string_equal(name, "");
	assert_int_equal(family_dns_track_flush(t, dns_seen, name), 1);
	assert_string_equal(name, "www.example.test");
	assert_int_equal(family_dns_track_flush(t, dns_seen, name), 0);
	family_dns_track_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_collect_shed_order),
	    cmocka_unit_test(test_collect_refuses_malformed),
	    cmocka_unit_test(test_collect_run_family_drop),
	    cmocka_unit_test(test_collect_run_sensor_idle),
	    cmocka_unit_test(test_collect_run_stop_drain),
	    cmocka_unit_test(test_collect_run_slow_polls),
	    cmocka_unit_test(test_collect_poll_bound),
	    cmocka_unit_test(test_auditd_stale_rule_skipped),
	    cmocka_unit_test(test_auditd_requested_rule_reported),
	    cmocka_unit_test(test_auditd_flush_at_stop),
	    cmocka_unit_test(test_auditd_exec_command_line),
	    cmocka_unit_test(test_dns_track_flush_at_stop),
	    cmocka_unit_test(test_dns_tcp_follow),
	    cmocka_unit_test(test_dns_parse_cut),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
