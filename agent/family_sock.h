/* family_sock: what the network and DNS modules share: a NETLINK_SOCK_DIAG
 * dump of inet sockets, and the owner of a socket inode found by scanning
 * /proc/PID/fd (bounded, cached). Netlink replies are parsed through cursors.
 * Not thread-safe: one owner per handle. */
#ifndef YM_AGENT_FAMILY_SOCK_H
#define YM_AGENT_FAMILY_SOCK_H

#include <stddef.h>
#include <stdint.h>

#define FAMILY_SOCK_OWNERS_MAX 65536  /* socket inodes kept per scan; more are not cached */
#define FAMILY_SOCK_SCAN_PROCS 16384  /* processes looked at per scan */
#define FAMILY_SOCK_SCAN_FDS   262144 /* descriptors looked at per scan */

struct family_sock_info {
	uint8_t af;    /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t
	    state; /* TCP state numbers (TCP_ESTABLISHED = 1 ... TCP_LISTEN = 10); UDP: 7 or 1 */
	uint8_t pad;
	uint16_t sport, dport;	  /* host order */
	uint8_t src[16], dst[16]; /* network order, 4 bytes used for AF_INET */
	uint32_t uid;
	uint64_t inode;	 /* 0: no file yet (e.g. in an accept queue, or TIME_WAIT) */
	uint64_t cookie; /* the kernel's socket cookie: never reused until reboot */
};

/* Opens a NETLINK_SOCK_DIAG socket (close-on-exec). Returns 0 and sets *fd,
 * YM_E_AUTH or YM_E_IO. */
int family_sock_open(int *fd);

/* Dumps the sockets of af (AF_INET/AF_INET6; for IPPROTO_TCP also
 * AF_UNSPEC: both families in one walk of the kernel's tables, with the
 * older TCPDIAG_GETSOCK request) and proto (IPPROTO_TCP/UDP) whose state
 * bit (1 << state) is in states, calling cb for each; a reply that does
 * not parse is counted in *malformed and skipped. Blocks until the dump
 * ends (the kernel answers from memory). Returns 0, YM_E_IO, YM_E_INVAL
 * (AF_UNSPEC with UDP) or YM_E_UNSUPPORTED (the kernel has no diag module
 * for proto, or does not take the request). */
int family_sock_dump(int fd, int af, int proto, uint32_t states,
		     void (*cb)(void *arg, const struct family_sock_info *s), void *arg,
		     uint64_t *malformed);

/* Opens a NETLINK_SOCK_DIAG socket (close-on-exec, non-blocking) that the
 * kernel sends a report to as each TCP and UDP socket of both families is
 * destroyed (the SKNLGRP_*_DESTROY groups: Linux 4.9+, CAP_NET_ADMIN), with
 * a receive buffer of rcvbuf bytes. Returns 0 and sets *fd, YM_E_AUTH or
 * YM_E_UNSUPPORTED (the kernel has no such groups). */
int family_sock_destroy_open(int rcvbuf, int *fd);

/* The reports in one datagram read from such a socket: cb is called for
 * each (af, proto, ports, addresses and cookie; at destruction the kernel
 * gives no uid and no inode: 0 in both, state TCP_CLOSE); a report that
 * does not parse is counted in *malformed. Returns the number of reports
 * passed to cb. */
int family_sock_destroy_parse(const uint8_t *p, size_t n,
			      void (*cb)(void *arg, const struct family_sock_info *s), void *arg,
			      uint64_t *malformed);

/* The messages the kernel could not queue to the netlink socket whose
 * inode is ino (/proc/net/netlink's Drops column): how many were lost in
 * its receive buffer's overruns. Returns 0 and sets *drops, YM_E_NOTFOUND
 * or the file's read error. */
int family_sock_netlink_drops(uint64_t ino, uint64_t *drops);

/* What the dumps' callers read to tell whether any socket a dump would
 * show can have appeared since the last one: every new TCP connection moves
 * /proc/net/snmp's ActiveOpens (connect) or PassiveOpens (accept), and a
 * socket entering or leaving the kernel's tables (a listen, a bind) moves
 * /proc/net/sockstat{,6}'s "inuse" of its protocol.
 * family_sock_snmp_opens parses the text of /proc/net/snmp (len bytes, not
 * NUL-terminated): the Tcp section's ActiveOpens and PassiveOpens.
 * family_sock_inuse parses the text of /proc/net/sockstat or sockstat6: the
 * "inuse" of proto ("TCP", "UDP", "TCP6", "UDP6"). Both return 0 or
 * YM_E_NOTFOUND (no such line, or a value that does not parse). */
int family_sock_snmp_opens(const char *text, size_t len, uint64_t *active, uint64_t *passive);
int family_sock_inuse(const char *text, size_t len, const char *proto, uint64_t *inuse);

struct family_sock_owners;

/* A cache of socket inode -> pid. Returns 0 or YM_E_NOMEM. */
int family_sock_owners_new(struct family_sock_owners **out);
void family_sock_owners_free(struct family_sock_owners *o);

/* Finds the process holding socket inode. On a miss the /proc scan is redone,
 * at most once per min_age_ns; skip_pid (the agent) is never scanned. With
 * several holders (fork), the highest pid (usually the newest) is given.
 * Returns 0 and sets *pid, or YM_E_NOTFOUND. */
int family_sock_owner(struct family_sock_owners *o, uint64_t inode, int32_t skip_pid,
		      uint64_t min_age_ns, int32_t *pid);

/* Scans done and scans cut short by a cap (the cache then misses sockets). */
void family_sock_owners_counts(const struct family_sock_owners *o, uint64_t *scans,
			       uint64_t *truncated);

#endif
