/* audit: records who did what to which tenant's data, in the store's audit
 * table and as an INFO log line (docs/internals/server.md, "Audit"). */
#ifndef YM_SERVER_AUDIT_H
#define YM_SERVER_AUDIT_H

struct store;

/* Appends one audit row (actor e.g. "cli", "server", "agent:<id>",
 * "token:<name>"; tenant_id may be NULL; target may be NULL) with a
 * printf-formatted detail (cut at 1 KiB), and logs it with every
 * caller-supplied string escaped. A store failure is logged (E2201) and
 * returned: 0, YM_E_INVAL, YM_E_DB. Thread-safe. */
int audit_record(struct store *st, const char *actor, const char *tenant_id, const char *action,
		 const char *target, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
