/* Fuzz target: the Linux log line parsers of lib/detect (linuxlog.c), auditd
 * records and syslog lines. Checks that every field they produce lies inside
 * the parser's buffer, is NUL-terminated at its length and holds no NUL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "err.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct linuxlog *l, const struct event *ev)
{
	const char *lo = l->buf, *hi = l->buf + sizeof(l->buf);

	if (ev->nxfields > LINUXLOG_MAX_FIELDS || ev->xfields != l->fields)
		abort();
	for (uint32_t i = 0; i < ev->nxfields; i++) {
		const struct event_field *f = &ev->xfields[i];
		if (f->value < lo || f->value + f->value_len >= hi || f->value[f->value_len] != 0 ||
		    memchr(f->value, 0, f->value_len) || !f->name[0])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct linuxlog l;
	struct event ev;

	if (linuxlog_auditd(&l, (const char *)data, size, &ev) == 0)
		check(&l, &ev);
	if (linuxlog_syslog(&l, (const char *)data, size, &ev) == 0)
		check(&l, &ev);
	return 0;
}
