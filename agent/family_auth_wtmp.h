/* family_auth_wtmp: auth family, mode "wtmp": follows the utmp-format login
 * records, /var/log/wtmp (logins: success) and /var/log/btmp (failed
 * logins); the environment variables YAMORI_WTMP and YAMORI_BTMP name other
 * files. Records are whole struct utmpx (glibc layout, 384 bytes on x86-64),
 * read through a cursor with every string bounded by its field. */
#ifndef YM_AGENT_FAMILY_AUTH_WTMP_H
#define YM_AGENT_FAMILY_AUTH_WTMP_H

#include "family.h"

extern const struct family_ops family_auth_wtmp_ops;

#endif
