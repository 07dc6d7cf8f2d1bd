/* uplinkd: the unprivileged uplink process (`yamori-agent uplink-child`,
 * started only by the root agent, privsep.h). Right after the exec, before
 * it reads a byte, it drops to the user the root chose (privsep_drop), asks
 * for SIGKILL when the root agent dies, and installs its seccomp filter.
 * Then it reads INIT (server URL, CA, client certificate and key as PEM
 * blobs) from the uplink channel, answers READY, and runs two loops:
 *
 *  - uplink channel (fd 3): BATCH in; POST /agent/v1/events, retried with
 *    backoff (100 ms doubling to 5 s) until the server answers 200 (ACK
 *    sent) or 400/413 (ACK rejected); every failed attempt is reported
 *    (ACK retrying) so the root knows it is alive;
 *  - command channel (fd 4): GET /agent/v1/commands long poll; each command
 *    goes to the root as COMMAND and the root's RESULT is posted to
 *    /agent/v1/results (kept and re-posted when the server did not take it,
 *    at most 64).
 *
 * It exits when a channel closes (the root agent is stopping or gave up on
 * it). It holds no file of the agent's state directory and cannot run,
 * sign or verify anything. */
#ifndef YM_AGENT_UPLINKD_H
#define YM_AGENT_UPLINKD_H

/* The process's main: argv from the root agent ("--uid N --gid N --ppid P
 * --log-level L"). Never returns: exits 0 when the root closes a channel,
 * 1 on a failure, 2 on misuse (not started by the root agent). */
int uplinkd_main(int argc, char **argv);

#endif
