/* family_auditd_audit: raw auditd records over NETLINK_AUDIT (family
 * "auditd", mode "audit"), for SigmaHQ's `product: linux, service: auditd`
 * rules and as the process family's last fallback.
 *
 * When no audit daemon is registered the module registers itself (as auditd
 * does: unicast, so the kernel does not print records to the kernel log) and
 * enables auditing; otherwise it reads the read-only multicast group beside
 * the running auditd. It adds exit rules for execve/execveat with the key
 * FAMILY_AUDITD_KEY and removes them, the registration and the enabled flag
 * on stop. With env->state_dir, a marker there says while auditing is
 * enabled because the module enabled it, so that a start after an agent
 * killed before its stop sets the flag back (docs/sensors.md, "Audit").
 * Records of one event (same serial) are reassembled in a bounded
 * table until AUDIT_EOE; each record then becomes one event (no category,
 * service "auditd": Sigma's logsource for these rules) with `type` and its
 * fields, plus the SYSCALL record's context; an event with EXECVE also gives
 * a process_creation event. */
#ifndef YM_AGENT_FAMILY_AUDITD_AUDIT_H
#define YM_AGENT_FAMILY_AUDITD_AUDIT_H

#include "family.h"

#define FAMILY_AUDITD_SERVICE "auditd" /* struct event's service of raw records */
#define FAMILY_AUDITD_KEY     "yamori_exec"
#define FAMILY_AUDITD_GROUPS  64   /* events being reassembled; at the cap the oldest is emitted */
#define FAMILY_AUDITD_RECORDS 16   /* records kept per event; more are dropped (counted) */
#define FAMILY_AUDITD_TEXT    8192 /* bytes kept per record; longer records are cut */

extern const struct family_ops family_auditd_audit_ops;

/* Test seams: the record path without the kernel. family_auditd_audit_new
 * makes an instance that has no socket, added no rule and registered nothing
 * (fd() is -1; free it with family_auditd_audit_ops.stop), deciding from env
 * (copied) as start() does whether the agent's execve rule is wanted.
 * Returns 0 or YM_E_NOMEM. */
int family_auditd_audit_new(const struct family_env *env, struct family **out);
/* Handles one record as poll() does for a datagram: type is the netlink
 * message type (AUDIT_SYSCALL, AUDIT_EOE, ...), text (n bytes, borrowed) the
 * payload "audit(SEC.MS:SERIAL): key=value ...". Records are grouped by
 * serial until AUDIT_EOE; events go to emit. Returns the number of events
 * emitted by this record. */
int family_auditd_audit_feed(struct family *f, uint16_t type, const char *text, size_t n,
			     family_emit_fn emit, void *arg);

#endif
