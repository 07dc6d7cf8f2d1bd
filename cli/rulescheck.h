#ifndef YM_RULESCHECK_H
#define YM_RULESCHECK_H

#include <stddef.h>

/* Loads the rules under paths, prints every diagnostic (unless quiet) and the
 * summary line. Returns the process exit status: 0 when no rule had an error,
 * 1 when some did, 2 when a path could not be read. */
int rulescheck_run(const char *const *paths, size_t npaths, int quiet);

#endif
