/* family_auth_journal: auth family, mode "journal": follows the systemd
 * journal (sd-journal: the local system journal, or the folder the
 * environment variable YAMORI_JOURNAL_DIR names) for the messages of sshd,
 * sshd-session, sshd-auth, sudo, su and login, read with the authlog
 * mode's message parsers. An entry is believed only from its program: its
 * sender's uid is 0, or its executable (both set by journald, not by the
 * sender) is that program in a system folder; others are refused and
 * counted (W3615), and reported to the server when they read as an
 * authentication (agent_status forged_log_entry, at most 20 a minute).
 * Starts after the entry the last run read last, else at the journal's end. */
#ifndef YM_AGENT_FAMILY_AUTH_JOURNAL_H
#define YM_AGENT_FAMILY_AUTH_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "family.h"

extern const struct family_ops family_auth_journal_ops;

/* Whether an entry of program prog may be believed, from its trusted
 * fields: uid (_UID, NULL when missing) and exe (_EXE, NULL when
 * missing), NUL-terminated. Exposed for the tests. */
int family_auth_journal_trusted(const char *prog, const char *uid, const char *exe);

/* Entries refused by family_auth_journal_trusted since the start. */
uint64_t family_auth_journal_refused(const struct family *f);

#endif
