/* Fuzz target: the auditd family's record path (agent/family_auditd_audit.c
 * through family_auditd_audit_feed): the "audit(SEC.MS:SERIAL): " header,
 * the grouping of an event's records by serial until EOE, the key=value
 * split with quoted, hex-encoded and msg='...' values, and the
 * process_creation event built from SYSCALL, EXECVE and CWD records. User
 * space writes records of its own (sshd, sudo, login: AUDIT_USER_*, with
 * the names it was given), so their text is attacker-controlled.
 *
 * Input: records, each a type selector byte (an index into the types
 * below, or past them a raw type from 1000 on), a length (two bytes, little
 * endian) and that many bytes of text (cut at the input's end), copied into a buffer of
 * its exact size so that a read past it is caught. The instance runs as
 * the process family's fallback (the EXECVE-derived event is built) and
 * is flushed at the end of each input, as at a stop. Every emitted event must have
 * names an event accepts, and values NUL-terminated at their length with
 * no NUL inside. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "family.h"
#include "family_auditd_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *arg, const struct event *ev)
{
	(void)arg;
	if (ev->nfields > EVENT_MAX_FIELDS)
		abort();
	for (uint16_t i = 0; i < ev->nfields; i++) {
		const struct event_field *f = &ev->fields[i];

		if (!event_name_ok(f->name, strlen(f->name)) || f->value[f->value_len] != 0 ||
		    memchr(f->value, 0, f->value_len) != NULL)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* SYSCALL, EXECVE, CWD, PATH, PROCTITLE, EOE, USER_LOGIN, USER_CMD,
	 * LOGIN, USER_ACCT */
	static const uint16_t types[] = {1300, 1309, 1307, 1302, 1327,
					 1320, 1112, 1123, 1006, 1101};
	const size_t ntypes = sizeof(types) / sizeof(types[0]);
	struct family_env env = {.self_pid = (int32_t)getpid()};
	/* one instance (8 MiB of record buffers: one per input ran ~100
	 * inputs a second), left with no group by the flush at each end */
	static struct family *f;
	size_t off = 0;

	if (f == NULL && family_auditd_audit_new(&env, &f) != 0)
		return 0;
	while (size - off >= 3) {
		uint8_t sel = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		uint16_t type = sel < ntypes ? types[sel] : (uint16_t)(1000 + sel - ntypes);
		size_t n;
		char *text;

		off += 3;
		n = len < size - off ? len : size - off;
		text = malloc(n ? n : 1);
		if (text == NULL)
			break;
		memcpy(text, data + off, n);
		off += n;
		(void)family_auditd_audit_feed(f, type, text, n, check, NULL);
		free(text);
	}
	(void)family_auditd_audit_ops.flush(f, check, NULL);
	return 0;
}
