/* Unit tests for lib/wire/batch.c: round trips (plain and zstd) and every
 * class of malformed input the decoder must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_plain),
		cmocka_unit_test(test_roundtrip_zstd),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_encode_refuses_bad_seq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
