/* audit.c: one function, so every audit row also reaches the log in the
 * same shape. */
#include "audit.h"
#include "err.h"
#include "log.h"
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int audit_record(struct store *st, const char *actor, const char *tenant_id, const char *action,
		 const char *target, const char *fmt, ...)
{
	char detail[1024], ea[200], et[200], ed[1100];
	struct store_audit_in a;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	a.actor = actor;
	a.tenant_id = tenant_id;
	a.action = action;
	a.target = target;
	a.detail = detail;
	r = store_audit_add(st, (struct store_scope){NULL}, &a);
	log_escape(actor, strlen(actor), ea, sizeof(ea));
	log_escape(target ? target : "-", strlen(target ? target : "-"), et, sizeof(et));
	log_escape(detail, strlen(detail), ed, sizeof(ed));
	if (r)
		LOG_E("audit", "E2201", "cannot record %s by %s on %s: %s", action, ea, et,
		      ym_strerror(r));
	else
		LOG_I("audit", "%s actor=%s tenant=%s target=%s %s", action, ea,
		      tenant_id ? tenant_id : "-", et, ed);
	return r;
}
