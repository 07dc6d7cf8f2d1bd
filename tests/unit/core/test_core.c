/* Unit tests for lib/core: buf, cursor, util, log_escape, timefmt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "timefmt.h"
#include "util.h"

static void test_buf_cap(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_put_str(&b, "abcd"), 0);
	assert_int_equal(buf_put_u32(&b, 0x01020304), 0);
	assert_int_equal(b.len, 8);
	/* at the cap: refused, and the buffer is unchanged */
	assert_int_equal(buf_put_u8(&b, 1), YM_E_TOOBIG);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcd\x01\x02\x03\x04", 8);
	assert_int_equal(buf_printf(&b, "%d", 5), YM_E_TOOBIG);
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%s-%d", "x", 42), 0);
	assert_string_equal((char *)b.data, "x-42");
	buf_free(&b);
}

static void test_buf_u64_rollback(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 6);
	assert_int_equal(buf_put_u64(&b, 1), YM_E_TOOBIG);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_json_escape(void **state)
{
	struct buf b;
	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_put_json_str(&b, "a\"b\\c\n\x01\xff\xc3\xa9", 10), 0);
	assert_string_equal((char *)b.data, "a\\\"b\\\\c\\n\\u0001\\u00ff\xc3\xa9");
	buf_free(&b);
}

static void test_cursor(void **state)
{
	const uint8_t in[] = {0, 0, 0, 7, 1, 2, 0xff};
	struct cursor c;
	uint32_t v;
	uint16_t s;
	uint64_t w;
	const uint8_t *p;
	(void)state;
	cursor_init(&c, in, sizeof(in));
	assert_int_equal(cursor_get_u32(&c, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cursor_get_u16(&c, &s), 0);
	assert_int_equal(s, 0x0102);
	assert_int_equal(cursor_get_u64(&c, &w), YM_E_TRUNCATED);
	assert_int_equal(cursor_left(&c), 1);
	assert_int_equal(cursor_get_bytes(&c, 2, &p), YM_E_TRUNCATED);
	assert_int_equal(cursor_get_bytes(&c, 1, &p), 0);
	assert_int_equal(p[0], 0xff);
	assert_int_equal(cursor_left(&c), 0);
}

static void test_util(void **state)
{
	char s[8], h[9], u[37];
	uint8_t raw[4];
	uint64_t v;
	(void)state;
	assert_int_equal(util_strlcpy(s, "1234567", sizeof(s)), 0);
	assert_int_equal(util_strlcpy(s, "123456789", sizeof(s)), YM_E_TOOBIG);
	assert_string_equal(s, "1234567");
	util_hex((const uint8_t *)"\xde\xad\xbe\xef", 4, h);
	assert_string_equal(h, "deadbeef");
	assert_int_equal(util_unhex("DEADbeef", raw, 4), 0);
	assert_memory_equal(raw, "\xde\xad\xbe\xef", 4);
	assert_int_equal(util_unhex("deadbeeg", raw, 4), YM_E_PARSE);
	assert_int_equal(util_unhex("deadbeef00", raw, 4), YM_E_PARSE);
	assert_int_equal(util_parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_u64("-1", 0, 100, &v), YM_E_INVAL);
	assert_int_equal(util_parse_u64("101", 0, 100, &v), YM_E_INVAL);
	assert_int_equal(util_parse_u64("4x", 0, 100, &v), YM_E_INVAL);
	assert_int_equal(util_parse_u64("", 0, 100, &v), YM_E_INVAL);
	{
		char tok[3][6];

		/* runs of spaces, leading and trailing ones; at most max */
		assert_int_equal(util_split_spaces("  ab  c d  ", 11, tok[0], 6, 3), 3);
		assert_string_equal(tok[0], "ab");
		assert_string_equal(tok[1], "c");
		assert_string_equal(tok[2], "d");
		assert_int_equal(util_split_spaces("a b c d", 7, tok[0], 6, 2), 2);
		/* n bytes only, no NUL needed; a token that does not fit ends it */
		assert_int_equal(util_split_spaces("xy zzz", 4, tok[0], 6, 3), 2);
		assert_string_equal(tok[1], "z");
		assert_int_equal(util_split_spaces("a 123456 b", 10, tok[0], 6, 3), 1);
		assert_int_equal(util_split_spaces("12345", 5, tok[0], 6, 3), 1);
		assert_int_equal(util_split_spaces("   ", 3, tok[0], 6, 3), 0);
		assert_int_equal(util_split_spaces("", 0, tok[0], 6, 3), 0);
	}
	assert_int_equal(util_parse_duration("10m", &v), 0);
	assert_int_equal(v, 600);
	assert_int_equal(util_parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(util_parse_duration("m", &v), YM_E_INVAL);
	assert_int_equal(util_uuid(u), 0);
	assert_int_equal(strlen(u), 36);
	assert_int_equal(u[14], '4');
}

static void test_log_escape(void **state)
{
	char out[16];
	(void)state;
	log_escape("a\nb\"", 4, out, sizeof(out));
	assert_string_equal(out, "a\\x0ab\\x22");
	log_escape("0123456789abcdefghij", 20, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
}

static void test_file_io(void **state)
{
	char path[] = "/tmp/ym-test-core-XXXXXX";
	char *data = NULL;
	size_t n = 0;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(util_write_file(path, "hello", 5, 0600), 0);
	assert_int_equal(util_read_file(path, 100, &data, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(data, "hello");
	free(data);
	assert_int_equal(util_read_file(path, 3, &data, &n), YM_E_TOOBIG);
	unlink(path);
	assert_int_equal(util_read_file(path, 100, &data, &n), YM_E_IO);
}

/* RFC 3339 and syslog's RFC 3164 times: zones, the year of a time without
 * one (December's lines read in January), the local offset, refusals. */
static void test_timefmt(void **state)
{
	const uint64_t s = 1000000000ull;
	/* 2026-11-27T10:00:00Z */
	const uint64_t now = (uint64_t)(timefmt_days(2026, 11, 27) * 86400 + 10 * 3600) * s;
	uint64_t ns = 0;
	(void)state;

	assert_int_equal(timefmt_days(1970, 1, 1), 0);
	assert_int_equal(timefmt_rfc3339("2026-11-27T10:17:06.885710+00:00", 32, &ns), 0);
	assert_true(ns == now + (17 * 60 + 6) * s + 885710000ull);
	assert_int_equal(timefmt_rfc3339("2026-11-27T11:17:06+01:00", 25, &ns), 0);
	assert_true(ns == now + (17 * 60 + 6) * s);
	assert_int_equal(timefmt_rfc3339("2026-11-27T10:17:06+01:00x", 26, &ns), YM_E_PARSE);
	assert_int_equal(timefmt_rfc3339("2026-13-27T10:17:06Z", 20, &ns), YM_E_PARSE);
	/* this year's; UTC, then a clock an hour east of UTC */
	assert_int_equal(timefmt_3164("Nov 27 09:30:00", 15, now, 0, &ns), 0);
	assert_true(ns == now - 30 * 60 * s);
	assert_int_equal(timefmt_3164("Nov 27 10:30:00", 15, now, 3600, &ns), 0);
	assert_true(ns == now - 30 * 60 * s);
	assert_int_equal(timefmt_3164("Nov  6 10:00:00", 15, now, 0, &ns), 0);
	assert_true(ns == now - 21 * 86400 * s);
	/* a date over a day after now: last year's */
	assert_int_equal(timefmt_3164("Dec 31 23:59:59", 15, now, 0, &ns), 0);
	assert_true(ns == (uint64_t)(timefmt_days(2025, 12, 31) * 86400 + 86399) * s);
	assert_int_equal(timefmt_3164("Nov 27 10:00:00 ", 16, now, 0, &ns), YM_E_PARSE);
	assert_int_equal(timefmt_3164("Now 27 10:00:00", 15, now, 0, &ns), YM_E_PARSE);
	assert_int_equal(timefmt_3164("Nov 32 10:00:00", 15, now, 0, &ns), YM_E_PARSE);
	assert_int_equal(timefmt_3164("Nov 27 24:00:00", 15, now, 0, &ns), YM_E_PARSE);
	assert_int_equal(timefmt_3164("Nov 2x 10:00:00", 15, now, 0, &ns), YM_E_PARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_cap),	cmocka_unit_test(test_buf_u64_rollback),
	    cmocka_unit_test(test_json_escape), cmocka_unit_test(test_cursor),
	    cmocka_unit_test(test_util),	cmocka_unit_test(test_log_escape),
	    cmocka_unit_test(test_file_io),	cmocka_unit_test(test_timefmt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
