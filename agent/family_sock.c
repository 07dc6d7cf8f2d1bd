#include "family_sock.h"
#include "buf.h"
#include "err.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCK_RECV_BUF 32768

int family_sock_open(int *fd)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (s < 0)
		return errno == EPERM || errno == EACCES ? YM_E_AUTH : YM_E_IO;
	*fd = s;
	return 0;
}

/* One inet_diag_msg through a cursor. Returns 0 or YM_E_TRUNCATED. */
static int sock_parse_msg(struct cursor *c, int proto, struct family_sock_info *si)
{
	const uint8_t *p;
	uint8_t fam, state;
	uint16_t sport, dport;
	uint32_t uid, inode, cookie[2];
	int rc;

	memset(si, 0, sizeof(*si));
	if ((rc = cursor_get_u8(c, &fam)) != 0 || (rc = cursor_get_u8(c, &state)) != 0 ||
	    (rc = cursor_get_bytes(c, 2, &p)) != 0 || /* timer, retrans */
	    (rc = cursor_get_u16(c, &sport)) != 0 || (rc = cursor_get_u16(c, &dport)) != 0)
		return rc;
	si->af = fam;
	si->state = state;
	si->proto = (uint8_t)proto;
	si->sport = sport; /* big-endian on the wire, cursor reads big-endian */
	si->dport = dport;
	if ((rc = cursor_get_bytes(c, 16, &p)) != 0)
		return rc;
	memcpy(si->src, p, 16);
	if ((rc = cursor_get_bytes(c, 16, &p)) != 0)
		return rc;
	memcpy(si->dst, p, 16);
	/* if, cookie[2], expires, rqueue, wqueue: host order, 4 bytes each */
	if ((rc = cursor_get_bytes(c, 4 * 6, &p)) != 0)
		return rc;
	memcpy(cookie, p + 4, sizeof(cookie));
	si->cookie = (uint64_t)cookie[1] << 32 | cookie[0];
	if ((rc = cursor_get_bytes(c, 4, &p)) != 0)
		return rc;
	memcpy(&uid, p, 4);
	if ((rc = cursor_get_bytes(c, 4, &p)) != 0)
		return rc;
	memcpy(&inode, p, 4);
	si->uid = uid;
	si->inode = inode;
	return 0;
}

int family_sock_dump(int fd, int af, int proto, uint32_t states,
		     void (*cb)(void *arg, const struct family_sock_info *s), void *arg,
		     uint64_t *malformed)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req;
	/* TCP of both families in one walk: the older request, which the
	 * kernel answers for every family (its dump of the established
	 * table walks every bucket, empty or not: the cost of a dump on an
	 * idle host, as many times as it is asked) */
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req r;
	} req1;
	const void *send_p = &req;
	size_t send_n = sizeof(req);
	uint16_t reply_type = SOCK_DIAG_BY_FAMILY;
	struct sockaddr_nl sa;
	uint8_t *rbuf = NULL;
	int rc = YM_E_IO, done = 0;
	uint32_t seq = (uint32_t)util_mono_ns();

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)af;
	req.r.sdiag_protocol = (uint8_t)proto;
	req.r.idiag_states = states;
	if (af == AF_UNSPEC) {
		if (proto != IPPROTO_TCP)
			return YM_E_INVAL;
		memset(&req1, 0, sizeof(req1));
		req1.nh.nlmsg_len = sizeof(req1);
		req1.nh.nlmsg_type = TCPDIAG_GETSOCK;
		req1.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		req1.nh.nlmsg_seq = seq;
		req1.r.idiag_states = states;
		send_p = &req1;
		send_n = sizeof(req1);
		reply_type = TCPDIAG_GETSOCK;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, send_p, send_n, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	rbuf = malloc(SOCK_RECV_BUF);
	if (rbuf == NULL) {
		rc = YM_E_NOMEM;
		goto out;
	}
	while (!done) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, rbuf, SOCK_RECV_BUF, 0, (struct sockaddr *)&from, &fl);
		struct cursor c;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (from.nl_pid != 0)
			continue; /* only the kernel answers a dump */
		cursor_init(&c, rbuf, (size_t)n);
		while (cursor_left(&c) >= sizeof(struct nlmsghdr)) {
			struct nlmsghdr nh;
			const uint8_t *p;
			struct cursor m;
			struct family_sock_info si;
			size_t body;

			if (cursor_get_bytes(&c, sizeof(nh), &p) != 0)
				break;
			memcpy(&nh, p, sizeof(nh));
			if (nh.nlmsg_len < sizeof(nh) ||
			    nh.nlmsg_len - sizeof(nh) > cursor_left(&c)) {
				(*malformed)++;
				break;
			}
			body = nh.nlmsg_len - sizeof(nh);
			if (cursor_get_bytes(&c, body, &p) != 0)
				break;
			/* skip the alignment padding after the message */
			{
				size_t pad = NLMSG_ALIGN(nh.nlmsg_len) - nh.nlmsg_len;
				const uint8_t *q;

				if (pad > cursor_left(&c))
					pad = cursor_left(&c);
				(void)cursor_get_bytes(&c, pad, &q);
			}
			if (nh.nlmsg_seq != seq)
				continue;
			if (nh.nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh.nlmsg_type == NLMSG_ERROR) {
				int32_t e = 0;

				if (body >= 4)
					memcpy(&e, p, 4);
				rc = (e == -ENOENT || e == -EINVAL) ? YM_E_UNSUPPORTED : YM_E_IO;
				goto out;
			}
			if (nh.nlmsg_type != reply_type)
				continue;
			cursor_init(&m, p, body);
			if (sock_parse_msg(&m, proto, &si) != 0 ||
			    (si.af != AF_INET && si.af != AF_INET6)) {
				(*malformed)++;
				continue;
			}
			cb(arg, &si);
		}
	}
	rc = 0;
out:
	free(rbuf);
	return rc;
}

int family_sock_destroy_open(int rcvbuf, int *fd)
{
	static const int groups[] = {SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET_UDP_DESTROY,
				     SKNLGRP_INET6_TCP_DESTROY, SKNLGRP_INET6_UDP_DESTROY};
	struct sockaddr_nl sa;
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);

	if (s < 0)
		return errno == EPERM || errno == EACCES ? YM_E_AUTH : YM_E_UNSUPPORTED;
	/* FORCE: past net.core.rmem_max, which root may do; else the
	 * limit's size */
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		(void)setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])) != 0)
			goto fail;
	*fd = s;
	return 0;
fail : {
	int e = errno;

	close(s);
	return e == EPERM || e == EACCES ? YM_E_AUTH : YM_E_UNSUPPORTED;
}
}

int family_sock_destroy_parse(const uint8_t *p, size_t n,
			      void (*cb)(void *arg, const struct family_sock_info *s), void *arg,
			      uint64_t *malformed)
{
	struct cursor c;
	int got = 0;

	cursor_init(&c, p, n);
	while (cursor_left(&c) >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr nh;
		struct family_sock_info si;
		struct cursor m, a;
		const uint8_t *q;
		size_t body, pad;
		int proto = -1;

		(void)cursor_get_bytes(&c, sizeof(nh), &q);
		memcpy(&nh, q, sizeof(nh));
		if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len - sizeof(nh) > cursor_left(&c)) {
			(*malformed)++;
			break;
		}
		body = nh.nlmsg_len - sizeof(nh);
		(void)cursor_get_bytes(&c, body, &q);
		pad = NLMSG_ALIGN(nh.nlmsg_len) - nh.nlmsg_len;
		if (pad > cursor_left(&c))
			pad = cursor_left(&c);
		{
			const uint8_t *skip;

			(void)cursor_get_bytes(&c, pad, &skip);
		}
		if (nh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
			continue;
		cursor_init(&m, q, body);
		if (sock_parse_msg(&m, 0, &si) != 0 || (si.af != AF_INET && si.af != AF_INET6) ||
		    body < NLMSG_ALIGN(sizeof(struct inet_diag_msg))) {
			(*malformed)++;
			continue;
		}
		/* the attributes: the protocol is one (the message has no field
		 * for it); lengths and types in host order */
		cursor_init(&a, q + NLMSG_ALIGN(sizeof(struct inet_diag_msg)),
			    body - NLMSG_ALIGN(sizeof(struct inet_diag_msg)));
		while (cursor_left(&a) >= 4) {
			const uint8_t *h, *v;
			uint16_t alen, atype;

			(void)cursor_get_bytes(&a, 4, &h);
			memcpy(&alen, h, 2);
			memcpy(&atype, h + 2, 2);
			if (alen < 4 || alen - 4u > cursor_left(&a))
				break;
			(void)cursor_get_bytes(&a, alen - 4u, &v);
			if (atype == INET_DIAG_PROTOCOL && alen >= 5)
				proto = v[0];
			pad = NLA_ALIGN(alen) - alen;
			(void)cursor_get_bytes(&a, pad > cursor_left(&a) ? cursor_left(&a) : pad,
					       &h);
		}
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
			(*malformed)++;
			continue;
		}
		si.proto = (uint8_t)proto;
		cb(arg, &si);
		got++;
	}
	return got;
}

/* The tokens of the line of text[0, len) that starts with prefix (the
 * n-th such line, from 0), after the prefix (util_split_spaces: at most
 * max, each shorter than FAMILY_SOCK_TOK; a longer one ends them): *nt
 * set; 0, or YM_E_NOTFOUND (no such line). */
#define FAMILY_SOCK_TOK 24
static int sock_line_tokens(const char *text, size_t len, const char *prefix, int nth,
			    char (*tok)[FAMILY_SOCK_TOK], size_t max, size_t *nt)
{
	size_t pl = strlen(prefix), i = 0;

	while (i < len) {
		size_t eol = i;

		while (eol < len && text[eol] != '\n')
			eol++;
		if (eol - i >= pl && memcmp(text + i, prefix, pl) == 0 && nth-- == 0) {
			*nt = util_split_spaces(text + i + pl, eol - i - pl, tok[0],
						FAMILY_SOCK_TOK, max);
			return 0;
		}
		i = eol + 1;
	}
	return YM_E_NOTFOUND;
}

int family_sock_snmp_opens(const char *text, size_t len, uint64_t *active, uint64_t *passive)
{
	char names[24][FAMILY_SOCK_TOK], vals[24][FAMILY_SOCK_TOK];
	size_t nn, nv, i;
	int got = 0;

	/* "Tcp: RtoAlgorithm ... ActiveOpens PassiveOpens ...", then the
	 * values in the same order */
	if (sock_line_tokens(text, len, "Tcp: ", 0, names, 24, &nn) != 0 ||
	    sock_line_tokens(text, len, "Tcp: ", 1, vals, 24, &nv) != 0 || nn != nv)
		return YM_E_NOTFOUND;
	for (i = 0; i < nn; i++) {
		uint64_t *out = strcmp(names[i], "ActiveOpens") == 0	? active
				: strcmp(names[i], "PassiveOpens") == 0 ? passive
									: NULL;

		if (out == NULL)
			continue;
		if (util_parse_u64(vals[i], 0, UINT64_MAX, out) != 0)
			return YM_E_NOTFOUND;
		got++;
	}
	return got == 2 ? 0 : YM_E_NOTFOUND;
}

int family_sock_inuse(const char *text, size_t len, const char *proto, uint64_t *inuse)
{
	char prefix[16], tok[12][FAMILY_SOCK_TOK];
	size_t nt;

	/* "TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 0" */
	if (strlen(proto) + 3 > sizeof(prefix))
		return YM_E_INVAL;
	snprintf(prefix, sizeof(prefix), "%s: ", proto);
	if (sock_line_tokens(text, len, prefix, 0, tok, 12, &nt) != 0 || nt < 2 ||
	    strcmp(tok[0], "inuse") != 0 || util_parse_u64(tok[1], 0, UINT64_MAX, inuse) != 0)
		return YM_E_NOTFOUND;
	return 0;
}

/* The kernel counts every message it could not queue for a socket in the
 * Drops column of /proc/net/netlink ("sk Eth Pid Groups Rmem Wmem Dump Locks
 * Drops Inode"): that turns "some were lost" into how many. */
int family_sock_netlink_drops(uint64_t ino, uint64_t *drops)
{
	char *text = NULL;
	size_t len, i = 0;
	int r;

	r = util_read_file("/proc/net/netlink", 4u << 20, &text, &len);
	if (r)
		return r;
	r = YM_E_NOTFOUND;
	while (i < len) {
		char tok[10][24];
		size_t eol = i, nt;
		uint64_t v_ino, v_drops;

		while (eol < len && text[eol] != '\n')
			eol++;
		nt = util_split_spaces(text + i, eol - i, tok[0], sizeof(tok[0]), 10);
		if (nt == 10 && util_parse_u64(tok[9], 0, UINT64_MAX, &v_ino) == 0 &&
		    v_ino == ino && util_parse_u64(tok[8], 0, UINT64_MAX, &v_drops) == 0) {
			*drops = v_drops;
			r = 0;
			break;
		}
		i = eol + 1;
	}
	free(text);
	return r;
}

/* inode -> pid, open addressing, rebuilt whole on each scan */
struct family_sock_owners {
	uint64_t *inode; /* 0 = empty */
	int32_t *pid;
	size_t n;
	uint64_t last_scan_ns;
	uint64_t scans, truncated;
};

#define OWNERS_SLOTS (FAMILY_SOCK_OWNERS_MAX * 2)

int family_sock_owners_new(struct family_sock_owners **out)
{
	struct family_sock_owners *o = calloc(1, sizeof(*o));
	int rc = YM_E_NOMEM;

	if (o == NULL)
		goto out;
	o->inode = calloc(OWNERS_SLOTS, sizeof(*o->inode));
	o->pid = calloc(OWNERS_SLOTS, sizeof(*o->pid));
	if (o->inode == NULL || o->pid == NULL)
		goto out;
	*out = o;
	o = NULL;
	rc = 0;
out:
	family_sock_owners_free(o);
	return rc;
}

void family_sock_owners_free(struct family_sock_owners *o)
{
	if (o == NULL)
		return;
	free(o->inode);
	free(o->pid);
	free(o);
}

static size_t owners_slot(uint64_t inode)
{
	return (size_t)((inode * 0x9e3779b97f4a7c15ull) >> 40) % OWNERS_SLOTS;
}

static void owners_put(struct family_sock_owners *o, uint64_t inode, int32_t pid)
{
	size_t i = owners_slot(inode);

	for (;;) {
		if (o->inode[i] == inode) {
			if (pid > o->pid[i])
				o->pid[i] = pid;
			return;
		}
		if (o->inode[i] == 0)
			break;
		i = (i + 1) % OWNERS_SLOTS;
	}
	if (o->n >= FAMILY_SOCK_OWNERS_MAX) {
		o->truncated++;
		return;
	}
	o->inode[i] = inode;
	o->pid[i] = pid;
	o->n++;
}

/* Parses "socket:[123]" (n bytes). Returns the inode or 0. */
static uint64_t owners_link_inode(const char *s, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (n < 10 || memcmp(s, "socket:[", 8) != 0 || s[n - 1] != ']')
		return 0;
	for (i = 8; i < n - 1; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return v;
}

static void owners_scan(struct family_sock_owners *o, int32_t skip_pid)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	size_t procs = 0, fds = 0;

	memset(o->inode, 0, OWNERS_SLOTS * sizeof(*o->inode));
	o->n = 0;
	o->scans++;
	if (proc == NULL)
		return;
	while ((de = readdir(proc)) != NULL) {
		uint64_t pid;
		char path[64];
		DIR *fdd;
		struct dirent *fe;
		int dfd;

		if (util_parse_u64(de->d_name, 1, INT32_MAX, &pid) != 0 || (int32_t)pid == skip_pid)
			continue;
		if (++procs > FAMILY_SOCK_SCAN_PROCS) {
			o->truncated++;
			break;
		}
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		fdd = fdopendir(dfd);
		if (fdd == NULL) {
			close(dfd);
			continue;
		}
		while ((fe = readdir(fdd)) != NULL) {
			char link[64];
			ssize_t n;
			uint64_t ino;

			if (fe->d_name[0] == '.')
				continue;
			if (++fds > FAMILY_SOCK_SCAN_FDS) {
				o->truncated++;
				break;
			}
			n = readlinkat(dfd, fe->d_name, link, sizeof(link));
			if (n <= 0 || (size_t)n >= sizeof(link))
				continue;
			ino = owners_link_inode(link, (size_t)n);
			if (ino != 0)
				owners_put(o, ino, (int32_t)pid);
		}
		closedir(fdd);
		if (fds > FAMILY_SOCK_SCAN_FDS)
			break;
	}
	closedir(proc);
}

static int owners_find(const struct family_sock_owners *o, uint64_t inode, int32_t *pid)
{
	size_t i = owners_slot(inode);

	while (o->inode[i] != 0) {
		if (o->inode[i] == inode) {
			*pid = o->pid[i];
			return 0;
		}
		i = (i + 1) % OWNERS_SLOTS;
	}
	return YM_E_NOTFOUND;
}

int family_sock_owner(struct family_sock_owners *o, uint64_t inode, int32_t skip_pid,
		      uint64_t min_age_ns, int32_t *pid)
{
	uint64_t now;

	if (inode == 0)
		return YM_E_NOTFOUND;
	if (owners_find(o, inode, pid) == 0)
		return 0;
	now = util_mono_ns();
	if (o->scans != 0 && now - o->last_scan_ns < min_age_ns)
		return YM_E_NOTFOUND;
	o->last_scan_ns = now;
	owners_scan(o, skip_pid);
	return owners_find(o, inode, pid);
}

void family_sock_owners_counts(const struct family_sock_owners *o, uint64_t *scans,
			       uint64_t *truncated)
{
	*scans = o->scans;
	*truncated = o->truncated;
}
