/* unit_agent_sysxtry: the order in which a module's load loop drops what
 * the kernel refused (agent/sysx.h: sysx_try_init, sysx_try_next): the
 * compat program first, then the io_uring programs (with the compat one
 * again), then sysx_load_failed's steps (direct loads off, then the
 * tracepoint program off) with both again; the error of each drop kept for
 * its warning. Kernels here refuse none of them, so the families' tests
 * never walk this. Builds without eBPF skip (77). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#ifdef YM_FAMILY_BPF
#include "sysx.h"

static void test_order(void **state)
{
	struct sysx_try t;
	int direct = 1;

	(void)state;
	sysx_try_init(&t, 1, 1);
	assert_true(t.compat && t.uring);
	/* the compat program dropped first */
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EINVAL), 1);
	assert_true(!t.compat && t.uring && direct);
	assert_int_equal(t.compat_err, -EINVAL);
	/* then io_uring's, with the compat one again */
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -E2BIG), 1);
	assert_true(t.compat && !t.uring && direct);
	assert_int_equal(t.uring_err, -E2BIG);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EPERM), 1);
	assert_true(!t.compat && !t.uring);
	assert_int_equal(t.compat_err, -EPERM);
	/* nothing optional left: direct loads off, both again */
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EACCES), 1);
	assert_int_equal(direct, 0);
	assert_true(t.compat && t.uring);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EINVAL), 1);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EINVAL), 1);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EINVAL), 1);
	/* then the tracepoint program off (every later module too) */
	assert_int_equal(sysx_try_next(&t, "test", &direct, 1, -EINVAL), 1);
	assert_true(t.compat && t.uring);
	sysx_allow_tracepoints(1);
	/* and with neither left, the end */
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 1);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 1);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 1);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 0);
}

/* A module without optional programs (the process sensor has no io_uring
 * one; no compat one where the kernel runs no 32-bit calls): straight to
 * the steps, never an optional program turned on */
static void test_none(void **state)
{
	struct sysx_try t;
	int direct = 1;

	(void)state;
	sysx_try_init(&t, 0, 0);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 1);
	assert_int_equal(direct, 0);
	assert_true(!t.compat && !t.uring);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 0);
	/* the process sensor: compat only */
	direct = 1;
	sysx_try_init(&t, 1, 0);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 1);
	assert_true(!t.compat && !t.uring && direct);
	assert_int_equal(sysx_try_next(&t, "test", &direct, 0, -EINVAL), 1);
	assert_true(t.compat && !t.uring && !direct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	printf("SKIP: built without eBPF (sysx.c)\n");
	return 77;
}
#endif
