/* Unit tests for lib/wire/batch.c: round trips (plain and zstd) and every
 * class of malformed input the decoder must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "err.h"

static void fill(struct event *ev, uint64_t seq, const char *cmd)
{
	event_init(ev);
	ev->seq = seq;
	ev->ts_ns = 1000 + seq;
	ev->category = EVCAT_PROCESS_CREATION;
	event_set_str(ev, "Image", "/usr/bin/whoami");
	event_set_str(ev, "CommandLine", cmd);
}

static void roundtrip(int compress)
{
	static struct event evs[200];
	struct buf out;
	struct batch b;
	char why[128];
	buf_init(&out, BATCH_MAX_WIRE);
	for (int i = 0; i < 200; i++)
		fill(&evs[i], 10 + (uint64_t)i, "whoami --all --repeated-text-compresses-well");
	assert_int_equal(batch_encode(&out, evs, 200, compress), 0);
	assert_int_equal(batch_decode(out.data, out.len, &b, why, sizeof(why)), 0);
	assert_int_equal(b.count, 200);
	assert_int_equal(b.first_seq, 10);
	assert_int_equal(b.last_seq, 209);
	assert_int_equal(b.events[5].ts_ns, 1015);
	assert_string_equal(event_get(&b.events[7], "Image", NULL), "/usr/bin/whoami");
	if (compress)
		assert_true(out.data[5] & BATCH_FLAG_ZSTD);
	batch_free(&b);
	buf_free(&out);
}

static void test_roundtrip_plain(void **state)
{
	(void)state;
	roundtrip(0);
}

static void test_roundtrip_zstd(void **state)
{
	(void)state;
	roundtrip(1);
}

static void expect_reject(const uint8_t *p, size_t n, int want)
{
	struct batch b;
	char why[128] = "";
	int r = batch_decode(p, n, &b, why, sizeof(why));
	assert_int_equal(r, want);
	assert_true(why[0] != 0); /* every rejection says why */
	assert_null(b.events);
}

static void test_malformed(void **state)
{
	struct event ev[2];
	struct buf out;
	uint8_t tmp[4096];
	(void)state;
	buf_init(&out, BATCH_MAX_WIRE);
	fill(&ev[0], 1, "id");
	fill(&ev[1], 2, "id -u");
	assert_int_equal(batch_encode(&out, ev, 2, 0), 0);
	assert_true(out.len < sizeof(tmp));

	/* every strict prefix is refused, never read past */
	for (size_t k = 0; k < out.len; k++)
		assert_true(batch_decode(out.data, k, &(struct batch){0}, NULL, 0) < 0);

	memcpy(tmp, out.data, out.len);
	tmp[0] = 'X';
	expect_reject(tmp, out.len, YM_E_PARSE);

	memcpy(tmp, out.data, out.len);
	tmp[5] = 0x02; /* unknown flag */
	expect_reject(tmp, out.len, YM_E_PARSE);

	memcpy(tmp, out.data, out.len);
	tmp[out.len] = 0; /* trailing byte */
	expect_reject(tmp, out.len + 1, YM_E_PARSE);

	memcpy(tmp, out.data, out.len);
	tmp[6] = tmp[7] = tmp[8] = tmp[9] = 0xff; /* absurd count */
	expect_reject(tmp, out.len, YM_E_TOOBIG);
	buf_free(&out);
}

static void test_encode_refuses_bad_seq(void **state)
{
	struct event ev[2];
	struct buf out;
	(void)state;
	buf_init(&out, BATCH_MAX_WIRE);
	fill(&ev[0], 5, "a");
	fill(&ev[1], 5, "b");
	assert_int_equal(batch_encode(&out, ev, 2, 0), YM_E_INVAL);
	assert_int_equal(out.len, 0);
	fill(&ev[0], 0, "a");
	assert_int_equal(batch_encode(&out, ev, 1, 0), YM_E_INVAL);
	buf_free(&out);
}

/* batch_event_put + batch_seal give batch_encode's bytes, plain and zstd */
static void test_incremental_same_bytes(void **state)
{
	static struct event evs[100];
	struct buf whole, body, sealed;
	struct batch_zctx *z = NULL;
	(void)state;

	for (int i = 0; i < 100; i++)
		fill(&evs[i], 7 + (uint64_t)i, i % 3 ? "whoami --all" : "id -u");
	for (int compress = 0; compress < 2; compress++) {
		buf_init(&whole, BATCH_MAX_WIRE);
		buf_init(&body, BATCH_MAX_RAW);
		buf_init(&sealed, BATCH_MAX_WIRE);
		assert_int_equal(batch_encode(&whole, evs, 100, compress), 0);
		for (int i = 0; i < 100; i++) {
			size_t need = 0, before = body.len;
			assert_int_equal(batch_event_check(&evs[i], &need), 0);
			assert_int_equal(batch_event_put(&body, &evs[i], evs[i].seq), 0);
			assert_int_equal(body.len - before, need);
		}
		if (compress)
			assert_int_equal(batch_zctx_new(3, &z), 0);
		/* twice with the same context: it is reusable */
		for (int k = 0; k < 2; k++) {
			buf_reset(&sealed);
			assert_int_equal(batch_seal(&sealed, body.data, body.len, 100, z), 0);
			assert_int_equal(sealed.len, whole.len);
			assert_memory_equal(sealed.data, whole.data, whole.len);
		}
		batch_zctx_free(z);
		z = NULL;
		buf_free(&whole);
		buf_free(&body);
		buf_free(&sealed);
	}
}

/* what the decoder would refuse, batch_event_check refuses alone */
static void test_event_check(void **state)
{
	struct event ev;
	size_t need = 0;
	static const char nul_value[] = "a\0b";
	(void)state;

	fill(&ev, 1, "x");
	assert_int_equal(batch_event_check(&ev, &need), 0);
	assert_true(need > 20);
	/* the same name twice (event_add does not look) */
	assert_int_equal(event_add(&ev, "Image", "/bin/sh", 7), 0);
	assert_int_equal(batch_event_check(&ev, &need), YM_E_INVAL);
	fill(&ev, 1, "x");
	assert_int_equal(event_add(&ev, "Bad-Name", "v", 1), 0);
	assert_int_equal(batch_event_check(&ev, &need), YM_E_INVAL);
	fill(&ev, 1, "x");
	assert_int_equal(event_add(&ev, "Value", nul_value, 3), 0);
	assert_int_equal(batch_event_check(&ev, &need), YM_E_INVAL);
	fill(&ev, 1, "x");
	ev.category = EVCAT_MAX_;
	assert_int_equal(batch_event_check(&ev, &need), YM_E_INVAL);
	/* many names, none twice: no false alarm from the name hash */
	event_init(&ev);
	ev.category = EVCAT_PROCESS_CREATION;
	{
		static char names[EVENT_MAX_FIELDS][16];
		for (unsigned i = 0; i < EVENT_MAX_FIELDS; i++) {
			snprintf(names[i], sizeof(names[i]), "F%u", i % 100u);
			assert_int_equal(event_add(&ev, names[i], "v", 1), 0);
		}
	}
	assert_int_equal(batch_event_check(&ev, &need), 0);
	assert_int_equal(event_add(&ev, "One", "v", 1), YM_E_TOOBIG);
}

/* batch_event_append + batch_event_set_seq give batch_event_put's bytes,
 * with and without lengths the caller vouches for */
static void test_append_same_bytes(void **state)
{
	static struct event evs[50];
	struct buf put, app;
	(void)state;

	for (int i = 0; i < 50; i++)
		fill(&evs[i], 1 + (uint64_t)i, i % 2 ? "id -u" : "whoami --all");
	for (int vouch = 0; vouch < 2; vouch++) {
		buf_init(&put, BATCH_MAX_RAW);
		buf_init(&app, BATCH_MAX_RAW);
		for (int i = 0; i < 50; i++) {
			uint8_t known[EVENT_MAX_FIELDS] = {0};
			size_t off = 99, before = app.len;

			for (uint16_t k = 0; vouch && k < evs[i].nfields; k++)
				known[k] = (uint8_t)strlen(evs[i].fields[k].name);
			assert_int_equal(batch_event_put(&put, &evs[i], evs[i].seq), 0);
			assert_int_equal(
			    batch_event_append(&app, &evs[i], vouch ? known : NULL, &off), 0);
			assert_int_equal(off, before);
			batch_event_set_seq(&app, off, evs[i].seq);
		}
		assert_int_equal(app.len, put.len);
		assert_memory_equal(app.data, put.data, put.len);
		buf_free(&put);
		buf_free(&app);
	}
}

/* what batch_event_check refuses, batch_event_append refuses, leaving the
 * body as it was; a vouched length that does not end the name is refused */
static void test_append_refuses(void **state)
{
	struct event ev;
	struct buf body;
	uint8_t known[EVENT_MAX_FIELDS] = {0};
	size_t off = 0, len;
	static const char nul_value[] = "a\0b";
	uint8_t *copy;
	(void)state;

	buf_init(&body, BATCH_MAX_RAW);
	fill(&ev, 1, "x");
	assert_int_equal(batch_event_append(&body, &ev, NULL, &off), 0);
	len = body.len;
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, body.data, len);
	/* a name twice, a bad name, a NUL in a value, a bad category */
	assert_int_equal(event_add(&ev, "Image", "/bin/sh", 7), 0);
	assert_int_equal(batch_event_append(&body, &ev, NULL, &off), YM_E_INVAL);
	fill(&ev, 1, "x");
	assert_int_equal(event_add(&ev, "Bad-Name", "v", 1), 0);
	assert_int_equal(batch_event_append(&body, &ev, NULL, &off), YM_E_INVAL);
	fill(&ev, 1, "x");
	assert_int_equal(event_add(&ev, "Value", nul_value, 3), 0);
	assert_int_equal(batch_event_append(&body, &ev, NULL, &off), YM_E_INVAL);
	fill(&ev, 1, "x");
	ev.category = EVCAT_MAX_;
	assert_int_equal(batch_event_append(&body, &ev, NULL, &off), YM_E_INVAL);
	/* vouched lengths: "Image" said to be 4 bytes long, or longer than a
	 * name can be (a length past the name's own end breaks the contract:
	 * it is not read) */
	fill(&ev, 1, "x");
	known[0] = 4;
	assert_int_equal(batch_event_append(&body, &ev, known, &off), YM_E_INVAL);
	known[0] = EVENT_MAX_NAME + 1;
	assert_int_equal(batch_event_append(&body, &ev, known, &off), YM_E_INVAL);
	assert_int_equal(body.len, len);
	assert_memory_equal(body.data, copy, len);
	assert_int_equal(body.data[len], 0);
	/* over the cap: refused, body unchanged */
	body.cap = body.len + 10;
	assert_int_equal(batch_event_append(&body, &ev, NULL, &off), YM_E_TOOBIG);
	assert_int_equal(body.len, len);
	assert_memory_equal(body.data, copy, len);
	free(copy);
	buf_free(&body);
}

/* the hash log reaches the compressor: a tiny match table compresses the
 * same body to other bytes (here fewer: these events repeat at short
 * distances), which decode alike; 0 gives the level's own bytes again; out
 * of zstd's bounds is refused */
static void test_zctx_hash_log(void **state)
{
	static struct event evs[300];
	struct buf body, a, b;
	struct batch dec;
	struct batch_zctx *z = NULL;
	(void)state;

	buf_init(&body, BATCH_MAX_RAW);
	buf_init(&a, BATCH_MAX_WIRE);
	buf_init(&b, BATCH_MAX_WIRE);
	for (int i = 0; i < 300; i++) {
		char cmd[64];
		static char cmds[300][64];

		snprintf(cmd, sizeof(cmd), "worker --id %d --queue q%d", i * 7919, i % 37);
		memcpy(cmds[i], cmd, sizeof(cmd));
		fill(&evs[i], 1 + (uint64_t)i, cmds[i]);
		assert_int_equal(batch_event_put(&body, &evs[i], evs[i].seq), 0);
	}
	assert_int_equal(batch_zctx_new(1, &z), 0);
	assert_int_equal(batch_seal(&a, body.data, body.len, 300, z), 0);
	assert_int_equal(batch_zctx_hash_log(z, 6), 0);
	assert_int_equal(batch_seal(&b, body.data, body.len, 300, z), 0);
	assert_true(b.len != a.len);
	assert_int_equal(batch_decode(b.data, b.len, &dec, NULL, 0), 0);
	assert_int_equal(dec.count, 300);
	assert_string_equal(event_get(&dec.events[299], "CommandLine", NULL),
			    evs[299].fields[1].value);
	batch_free(&dec);
	/* back to the level's own table: the first size again */
	assert_int_equal(batch_zctx_hash_log(z, 0), 0);
	buf_reset(&b);
	assert_int_equal(batch_seal(&b, body.data, body.len, 300, z), 0);
	assert_int_equal(b.len, a.len);
	assert_int_equal(batch_zctx_hash_log(z, 99), YM_E_INVAL);
	assert_int_equal(batch_zctx_hash_log(z, -1), YM_E_INVAL);
	batch_zctx_free(z);
	buf_free(&body);
	buf_free(&a);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_plain),
	    cmocka_unit_test(test_roundtrip_zstd),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_encode_refuses_bad_seq),
	    cmocka_unit_test(test_incremental_same_bytes),
	    cmocka_unit_test(test_event_check),
	    cmocka_unit_test(test_append_same_bytes),
	    cmocka_unit_test(test_append_refuses),
	    cmocka_unit_test(test_zctx_hash_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
