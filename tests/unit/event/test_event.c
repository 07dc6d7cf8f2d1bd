/* Unit tests for lib/event: field set/replace/lookup, limits, names,
 * categories, interned names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
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

/* Interned names: one copy per name, ids only for those copies. */
static void test_interned_names(void **state)
{
	const char *a, *b;
	char copy[16];
	uint32_t id;
	(void)state;
	a = event_name_intern("Image", 5);
	assert_non_null(a);
	assert_string_equal(a, "Image");
	b = event_name_intern("ImageLoaded", 5); /* the first 5 bytes: "Image" */
	assert_ptr_equal(a, b);
	id = event_name_id(a);
	assert_true(id >= 1 && id <= EVENT_NAMES_MAX);
	assert_int_equal(event_name_len(id), 5);
	b = event_name_intern("ImageLoaded", 11);
	assert_ptr_not_equal(a, b);
	assert_int_not_equal(event_name_id(b), id);
	assert_int_equal(event_name_len(event_name_id(b)), 11);
	/* equal bytes elsewhere, or inside an interned name, are no ids */
	memcpy(copy, "Image", 6);
	assert_int_equal(event_name_id(copy), 0);
	assert_int_equal(event_name_id(a + 1), 0);
	assert_int_equal(event_name_id("Image"), 0);
	assert_int_equal(event_name_len(0), 0);
	/* what no event can hold */
	assert_null(event_name_intern("", 0));
	assert_null(event_name_intern("a\0b", 3));
	{
		char longname[EVENT_MAX_NAME + 2];
		memset(longname, 'n', sizeof(longname));
		assert_non_null(event_name_intern(longname, EVENT_MAX_NAME));
		assert_null(event_name_intern(longname, EVENT_MAX_NAME + 1));
	}
}

#define RACE_NAMES   500
#define RACE_THREADS 4

static void *race_intern(void *arg)
{
	const char **out = arg;
	char name[32];

	for (int i = 0; i < RACE_NAMES; i++) {
		int n = snprintf(name, sizeof(name), "Race%d", i);
		out[i] = event_name_intern(name, (size_t)n);
	}
	return NULL;
}

/* Threads interning the same names at once get the same copies. */
static void test_interned_race(void **state)
{
	static const char *got[RACE_THREADS][RACE_NAMES];
	pthread_t th[RACE_THREADS];
	(void)state;
	for (int i = 0; i < RACE_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_intern, got[i]), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int k = 0; k < RACE_NAMES; k++) {
		char name[32];
		snprintf(name, sizeof(name), "Race%d", k);
		assert_non_null(got[0][k]);
		assert_string_equal(got[0][k], name);
		for (int i = 1; i < RACE_THREADS; i++)
			assert_ptr_equal(got[i][k], got[0][k]);
	}
}

/* A full table turns new names down and keeps every name it holds (runs
 * last: the table is the process's). */
static void test_interned_full(void **state)
{
	const char *first = event_name_intern("Image", 5), *p = NULL;
	char name[32];
	int i, n, added = 0;
	(void)state;
	for (i = 0; i < EVENT_NAMES_MAX + 10; i++) {
		n = snprintf(name, sizeof(name), "Fill%d", i);
		p = event_name_intern(name, (size_t)n);
		if (!p)
			break;
		assert_string_equal(p, name);
		added++;
	}
	assert_null(p);
	assert_true(added > EVENT_NAMES_MAX - 1100 && added < EVENT_NAMES_MAX);
	/* each is still found, at the same place */
	assert_ptr_equal(event_name_intern("Image", 5), first);
	for (i = 0; i < added; i++) {
		n = snprintf(name, sizeof(name), "Fill%d", i);
		p = event_name_intern(name, (size_t)n);
		assert_non_null(p);
		assert_int_equal(event_name_len(event_name_id(p)), (size_t)n);
	}
	assert_null(event_name_intern("NotThere", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_set),	   cmocka_unit_test(test_values_and_categories),
	    cmocka_unit_test(test_interned_names), cmocka_unit_test(test_interned_race),
	    cmocka_unit_test(test_interned_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
