/* family_net_sockdiag: network family, mode "sock_diag" (polling). */
#ifndef YM_AGENT_FAMILY_NET_SOCKDIAG_H
#define YM_AGENT_FAMILY_NET_SOCKDIAG_H

#include "family.h"

#define FAMILY_NET_SOCKDIAG_MS 200 /* poll interval: shorter-lived sockets are missed */

extern const struct family_ops family_net_sockdiag_ops;

/* Polls that dumped the sockets, and polls that did not (the kernel's
 * socket counters had not moved): the tests' view of the skip. */
void family_net_sockdiag_dumps(const struct family *f, uint64_t *dumps, uint64_t *skipped);

#endif
