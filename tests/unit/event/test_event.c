/* Unit tests for lib/event: field set/replace/lookup, limits, names,
 * categories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "event.h"

static void test_event_set(void **state)
{
	struct event ev;
	char names[EVENT_MAX_FIELDS + 1][16];
	(void)state;
	event_init(&ev);
	for (int i = 0; i < EVENT_MAX_FIELDS; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		assert_int_equal(event_set_str(&ev, names[i], "v"), 0);
	}
	snprintf(names[EVENT_MAX_FIELDS], 16, "extra");
	assert_int_equal(event_set_str(&ev, names[EVENT_MAX_FIELDS], "v"), YM_E_TOOBIG);
	assert_int_equal(event_set_str(&ev, "f3", "new"), 0); /* replace still works */
	assert_string_equal(event_get(&ev, "f3", NULL), "new");
	assert_int_equal(event_set_str(&ev, "bad name", "v"), YM_E_INVAL);
	assert_null(event_get(&ev, "missing", NULL));
	assert_string_equal(event_get_ci(&ev, "F3", NULL), "new");
}

static void test_values_and_categories(void **state)
{
	struct event ev;
	unsigned cat;
	const char v[] = "a\0b";
	size_t n;
	(void)state;
	event_init(&ev);
	/* the value must end at len, with no NUL inside */
	assert_int_equal(event_set(&ev, "F", v, 3), YM_E_INVAL);
	assert_int_equal(event_set(&ev, "F", v, 1), 0); /* "a", ending at the NUL */
	assert_int_equal(event_set_str(&ev, "Image", "/bin/sh"), 0);
	assert_string_equal(event_get(&ev, "Image", &n), "/bin/sh");
	assert_int_equal(n, 7);
	assert_null(event_get(&ev, "image", NULL)); /* exact lookup is case-sensitive */
	assert_int_equal(event_name_ok("Event.System.EventID", 20), 1);
	assert_int_equal(event_name_ok("a-b", 3), 0);
	assert_int_equal(event_name_ok("", 0), 0);
	assert_int_equal(event_category_parse("process_creation", &cat), 0);
	assert_int_equal(cat, EVCAT_PROCESS_CREATION);
	assert_string_equal(event_category_name(EVCAT_NETWORK_CONNECTION), "network_connection");
	assert_string_equal(event_category_name(999), "unknown");
	assert_int_equal(event_category_parse("nope", &cat), YM_E_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_set),
		cmocka_unit_test(test_values_and_categories),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
