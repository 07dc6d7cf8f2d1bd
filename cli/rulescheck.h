#ifndef YM_RULESCHECK_H
#define YM_RULESCHECK_H

/* `yamori rules check [--quiet] [--placeholders FILE] PATH...` with argv[0]
 * = "check". Loads the rules under the paths, prints every diagnostic
 * (unless quiet) and the summary line
 * `rules: N loaded, N unsupported, N errors`. Returns the process exit
 * status: 0 when no rule had an error, 1 when some did, 2 on a usage error
 * or when a path or the placeholder file could not be read. */
int rulescheck_main(int argc, char **argv);

#endif
