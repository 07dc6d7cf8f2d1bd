/* scan: offline commands that need no server (docs/scan.md):
 *   yamori scan --rules DIR... [--intel FILE]... [--logsource SPEC]
 *               [--format F] FILE...
 *   yamori intel check FILE... */
#ifndef YM_SCAN_H
#define YM_SCAN_H

/* Runs `yamori scan` with the arguments after the command word (argv[0]
 * is "scan"). Prints one JSON line per match on stdout and diagnostics on
 * stderr. Returns the exit status: 0 when the scan ran (matches or not),
 * 1 when an input (log file, rule path, IoC file) could not be read, 2 on
 * a usage error. */
int scan_run(int argc, char **argv);

/* Runs `yamori intel check FILE...` (argv[0] is "check"): loads the files,
 * prints each rejected line as file:line: reason and the summary
 * "intel: N loaded, N rejected" (plus the distinct count and memory on a
 * second line). Returns 0 when nothing was rejected, 1 when something was
 * or a file could not be read, 2 on a usage error. */
int scan_intel_check(int argc, char **argv);

#endif
