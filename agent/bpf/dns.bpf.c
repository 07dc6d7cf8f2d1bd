// SPDX-License-Identifier: GPL-2.0
/* dns.bpf.c: the dns family's kernel side (docs/sensors.md "DNS"). Two sets
 * of programs; the loader (agent/family_dns_bpf.c) loads one:
 *
 * - socket hooks (preferred; 6.3+): tp_btf/sock_send_length runs after
 *   every socket send of the machine and tp_btf/sock_recv_length after
 *   every socket receive, in the sending or reading task, with the socket:
 *   both leave at once, by plain loads, unless the socket is UDP over IPv4
 *   or IPv6, or a TCP connection to port 53. A send to port 53 (a query)
 *   and a read from port 53 (a response) are copied from the user buffer
 *   the system call named (its saved registers); over TCP each message of
 *   the stream (below, "DNS over TCP").
 * - cgroup skb (fallback: kernels without those tracepoints, or refusing
 *   the programs): cgroup_skb/egress and cgroup_skb/ingress on the root
 *   cgroup v2: UDP datagrams to or from port 53 (IPv4 without fragments,
 *   IPv6 without extension headers) are copied from the packet, with the
 *   sending task at egress, and the messages of a client's TCP connection
 *   to port 53 from its segments, followed by sequence number. Every packet of the machine passes
 * them. Both always return 1: they observe, never drop.
 *
 * At most DNS_REC_DATA bytes of payload are copied to the ring buffer. A
 * failed reserve counts in "drops" slot DNS_DROP_RING; a datagram to or
 * from port 53 whose payload could not be read in slot DNS_DROP_UNREAD. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dns.h"
#include "ymbpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP    0x0800
#define ETH_P_IPV6  0x86DD
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define AF_INET	    2
#define AF_INET6    10

#define MSG_PEEK     2
#define MSG_ERRQUEUE 0x2000

/* the system calls whose buffers the socket hooks read (x86-64 and arm64
 * generic numbers; glibc's send and recv are sendto and recvfrom), and the
 * test for a native 64-bit call (a compat call's numbers are ia32's, its
 * layouts 32-bit: dns_call_get; on arm64 an AArch32 task's calls are not
 * read, counted) */
#if defined(__TARGET_ARCH_x86)
#define DNS_NR_READ	 0
#define DNS_NR_WRITE	 1
#define DNS_NR_READV	 19
#define DNS_NR_WRITEV	 20
#define DNS_NR_SENDTO	 44
#define DNS_NR_RECVFROM	 45
#define DNS_NR_SENDMSG	 46
#define DNS_NR_RECVMSG	 47
#define DNS_NR_SENDMMSG	 307
/* __USER_CS (not a 32-bit task's), and no ia32 system call (int 0x80) of
 * a 64-bit task, whose numbers are ia32's: TS_COMPAT in thread_info */
#define DNS_NATIVE(regs) ((regs)->cs == YM_USER_CS && !ym_is_compat())
#define DNS_PARM6(regs)	 ((regs)->r9) /* libbpf 1.1 has no PT_REGS_PARM6_SYSCALL */
/* ia32's numbers, for compat calls (a 32-bit task's, or int 0x80) */
#define DNS_COMPAT	    1
#define DNS_NR32_READ	    3
#define DNS_NR32_WRITE	    4
#define DNS_NR32_SOCKETCALL 102
#define DNS_NR32_READV	    145
#define DNS_NR32_WRITEV	    146
#define DNS_NR32_SENDMMSG   345
#define DNS_NR32_SENDTO	    369
#define DNS_NR32_SENDMSG    370
#define DNS_NR32_RECVFROM   371
#define DNS_NR32_RECVMSG    372
/* socketcall's calls (linux/net.h) */
#define DNS_SC_SEND	9
#define DNS_SC_RECV	10
#define DNS_SC_SENDTO	11
#define DNS_SC_RECVFROM 12
#define DNS_SC_SENDMSG	16
#define DNS_SC_RECVMSG	17
#define DNS_SC_SENDMMSG 20
#elif defined(__TARGET_ARCH_arm64)
#define DNS_NR_READ	 63
#define DNS_NR_WRITE	 64
#define DNS_NR_READV	 65
#define DNS_NR_WRITEV	 66
#define DNS_NR_SENDTO	 206
#define DNS_NR_RECVFROM	 207
#define DNS_NR_SENDMSG	 211
#define DNS_NR_RECVMSG	 212
#define DNS_NR_SENDMMSG	 269
#define DNS_NATIVE(regs) (((regs)->pstate & 0x10) == 0) /* PSR_MODE32_BIT: AArch32 */
#define DNS_PARM6(regs)	 ((regs)->regs[5])
#endif

const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} events SEC(".maps");

YM_BPF_DROPS_MAP(DNS_DROPS);

/* A record for a message of len bytes: short when it fits (cap then
 * DNS_REC_SMALL), else whole (DNS_REC_DATA); NULL, counted, when the ring
 * is full. */
static __always_inline struct dns_rec *rec_reserve(__u32 len, __u32 *cap)
{
	struct dns_rec *r;

	if (len <= DNS_REC_SMALL) {
		r = bpf_ringbuf_reserve(&events, DNS_REC_HEAD + DNS_REC_SMALL, 0);
		*cap = DNS_REC_SMALL;
	} else {
		r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
		*cap = DNS_REC_DATA;
	}
	if (!r)
		ym_count_drop(DNS_DROP_RING);
	return r;
}

/*
 * The socket hooks. A record's local end is the socket's own address and
 * port (the query's source, the response's destination: the same for the
 * two, bound address 0 included, so the loader pairs them), the remote end
 * the peer's where known.
 */

/* a sockaddr_in or sockaddr_in6 */
struct dns_sa {
	__u16 family;
	__be16 port;
	__u32 v4_or_flow;
	__u8 v6[16];
};

/* struct user_msghdr's head (64-bit): name, its length, the vector */
struct dns_umsg {
	__u64 name;
	__u32 namelen;
	__u32 pad;
	__u64 iov;
	__u64 iovlen;
};

struct dns_iovec {
	__u64 base;
	__u64 len;
};

#define DNS_MMSG_SIZE	64 /* struct mmsghdr: user_msghdr (56) and msg_len */
#define DNS_MMSG32_SIZE 32 /* struct compat_mmsghdr: compat_msghdr (28) and msg_len */
#define DNS_ASKED     4

/* an unconnected socket that sent queries: their last DNS_ASKED ids and
 * families, so that a datagram it reads, whose source the receive hook
 * cannot see, is taken only as the response to one of them */
struct dns_asked {
	__u16 id[DNS_ASKED];
	__u16 af[DNS_ASKED];
	__u32 next;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_asked);
} asked SEC(".maps");

/* where a thread is in its sendmmsg: the kernel sends the vector's
 * messages in order and the hook runs once per message (also for the one
 * that fails and ends the call), but is not told which */
struct dns_mmsg {
	__u64 vec, sk;
	__u32 vlen, next;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_mmsg);
} mmsg SEC(".maps");

static __always_inline int v4mapped(const __u8 *a)
{
	__u64 lo;
	__u32 mid;

	__builtin_memcpy(&lo, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	return lo == 0 && mid == bpf_htonl(0xffff);
}

/* sk's own address for a datagram of family af into a (16 bytes, zeroed):
 * for AF_INET also a dual-stack socket's v4 address (plain loads: sk is a
 * BTF pointer) */
static __always_inline void sk_local(const struct sock *sk, __u16 af, __u8 *a)
{
	if (af == AF_INET) {
		__u32 v = sk->__sk_common.skc_rcv_saddr;

		__builtin_memcpy(a, &v, 4);
	} else {
		const __u32 *s = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32;
		__u32 v[4] = {s[0], s[1], s[2], s[3]};

		__builtin_memcpy(a, v, 16);
	}
}

/* The connected peer of sk (family fam): the datagram's family into *af,
 * the address into a (16 bytes, zeroed). */
static __always_inline void sk_peer(const struct sock *sk, __u16 fam, __u16 *af, __u8 *a)
{
	if (fam == AF_INET6) {
		const __u32 *d = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32;
		__u32 v[4] = {d[0], d[1], d[2], d[3]};

		__builtin_memcpy(a, v, 16);
		if (!v4mapped(a)) {
			*af = AF_INET6;
			return;
		}
		__builtin_memset(a, 0, 16);
	}
	{
		__u32 d = sk->__sk_common.skc_daddr;

		*af = AF_INET;
		__builtin_memcpy(a, &d, 4);
	}
}

/* Fills r, reserved by the caller, for a message of ret bytes in the
 * current task's user buffer buf (blen bytes): at most DNS_REC_DATA of
 * them, at most what the call moved and the buffer holds. Ports and
 * addresses are the caller's. Returns 0, or -1 when the bytes could not be
 * read (the caller discards r). */
static __always_inline int rec_user(struct dns_rec *r, __u32 cap, int ret, __u64 buf, __u64 blen,
				    __u8 dir, __u16 af)
{
	__u32 n = ret > cap ? cap : ret;

	if (n > blen)
		n = blen;
	barrier_var(n); /* as in dns_copy */
	if (n < 12 || n > cap || bpf_probe_read_user(r->data, n, (const void *)buf) != 0)
		return -1;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->ts_ns = bpf_ktime_get_ns();
	r->len = n;
	r->wire_len = ret;
	r->dir = dir;
	r->flags = 0;
	r->af = af;
	return 0;
}

/* What the system call behind a hook's run named (its saved registers),
 * whatever its table: a 64-bit call, or (x86-64) a compat one, ia32's
 * numbers and 32-bit layouts (a 32-bit program's, or int 0x80 from a
 * 64-bit one: before 2026-11-28 those were counted, not read). */
#define DNS_K_BUF  1 /* one buffer: write/read, send/recv, sendto/recvfrom */
#define DNS_K_VEC  2 /* writev/readv: buf is the vector, len its count */
#define DNS_K_MSG  3 /* sendmsg/recvmsg: buf is the msghdr */
#define DNS_K_MMSG 4 /* sendmmsg: buf is the vector of mmsghdr, len its count */

struct dns_call {
	__u64 buf, len;
	__u64 name, namelen; /* sendto's address */
	int kind, compat;
};

/* Fills c for the current system call. Returns 0, or -1 when it is none
 * of those (io_uring, sendfile, splice, recvmmsg, a kernel socket). */
static __always_inline int dns_call_get(struct pt_regs *regs, struct dns_call *c)
{
	long nr = YM_SYSCALL_NR(regs);

	__builtin_memset(c, 0, sizeof(*c));
	if (DNS_NATIVE(regs)) {
		c->buf = PT_REGS_PARM2_SYSCALL(regs);
		c->len = PT_REGS_PARM3_SYSCALL(regs);
		if (nr == DNS_NR_WRITE || nr == DNS_NR_READ || nr == DNS_NR_RECVFROM) {
			c->kind = DNS_K_BUF;
		} else if (nr == DNS_NR_SENDTO) {
			c->kind = DNS_K_BUF;
			c->name = PT_REGS_PARM5_SYSCALL(regs);
			c->namelen = (__u32)DNS_PARM6(regs);
		} else if (nr == DNS_NR_WRITEV || nr == DNS_NR_READV) {
			c->kind = DNS_K_VEC;
		} else if (nr == DNS_NR_SENDMSG || nr == DNS_NR_RECVMSG) {
			c->kind = DNS_K_MSG;
		} else if (nr == DNS_NR_SENDMMSG) {
			c->kind = DNS_K_MMSG;
		} else {
			return -1;
		}
		return 0;
	}
#ifdef DNS_COMPAT
	if (ym_is_compat()) {
		/* ia32: ebx, ecx, edx, esi, edi, ebp */
		__u32 a[6] = {(__u32)regs->bx, (__u32)regs->cx, (__u32)regs->dx,
			      (__u32)regs->si, (__u32)regs->di, (__u32)regs->bp};
		__u32 call = 0;

		c->compat = 1;
		if (nr == DNS_NR32_SOCKETCALL) {
			/* socketcall(call, args): the call's arguments, 32 bits
			 * each, in the caller's memory: the three every call has
			 * (fd, buffer or header, length or count), and sendto's
			 * address (words 4 and 5): no more than the call passes */
			__u64 args = a[1];

			call = a[0];
			if (bpf_probe_read_user(a, 12, (const void *)args) != 0 ||
			    (call == DNS_SC_SENDTO &&
			     bpf_probe_read_user(&a[4], 8, (const void *)(args + 16)) != 0))
				return -1;
			if (call == DNS_SC_SEND || call == DNS_SC_RECV || call == DNS_SC_SENDTO ||
			    call == DNS_SC_RECVFROM)
				nr = DNS_NR32_SENDTO;
			else if (call == DNS_SC_SENDMSG || call == DNS_SC_RECVMSG)
				nr = DNS_NR32_SENDMSG;
			else if (call == DNS_SC_SENDMMSG)
				nr = DNS_NR32_SENDMMSG;
			else
				return -1;
		}
		c->buf = a[1];
		c->len = a[2];
		if (nr == DNS_NR32_WRITE || nr == DNS_NR32_READ || nr == DNS_NR32_RECVFROM) {
			c->kind = DNS_K_BUF;
		} else if (nr == DNS_NR32_SENDTO) {
			c->kind = DNS_K_BUF;
			/* SYS_SEND and SYS_RECV have no address */
			if (call != DNS_SC_SEND && call != DNS_SC_RECV && call != DNS_SC_RECVFROM) {
				c->name = a[4];
				c->namelen = a[5];
			}
		} else if (nr == DNS_NR32_WRITEV || nr == DNS_NR32_READV) {
			c->kind = DNS_K_VEC;
		} else if (nr == DNS_NR32_SENDMSG || nr == DNS_NR32_RECVMSG) {
			c->kind = DNS_K_MSG;
		} else if (nr == DNS_NR32_SENDMMSG) {
			c->kind = DNS_K_MMSG;
		} else {
			return -1;
		}
		return 0;
	}
#endif
	return -1;
}

/* Element i of the vector at vec (struct iovec, or compat_iovec) into
 * *iv. Returns 0, or -1 when it cannot be read. */
static __always_inline int dns_iov(const struct dns_call *c, __u64 vec, __u32 i,
				   struct dns_iovec *iv)
{
	if (c->compat) {
		__u32 v[2];

		if (bpf_probe_read_user(v, sizeof(v), (const void *)(vec + (__u64)i * 8)) != 0)
			return -1;
		iv->base = v[0];
		iv->len = v[1];
		return 0;
	}
	return bpf_probe_read_user(iv, sizeof(*iv), (const void *)(vec + (__u64)i * 16)) != 0 ? -1
											      : 0;
}

/* The msghdr at hdr (struct user_msghdr, or compat_msghdr): its address,
 * vector and count. Returns 0, or -1 when it cannot be read. */
static __always_inline int dns_msghdr(const struct dns_call *c, __u64 hdr, __u64 *name,
				      __u32 *namelen, __u64 *iov, __u64 *iovlen)
{
	if (c->compat) {
		__u32 m[4]; /* name, namelen, iov, iovlen */

		if (bpf_probe_read_user(m, sizeof(m), (const void *)hdr) != 0)
			return -1;
		*name = m[0];
		*namelen = m[1];
		*iov = m[2];
		*iovlen = m[3];
		return 0;
	} else {
		struct dns_umsg um;

		if (bpf_probe_read_user(&um, sizeof(um), (const void *)hdr) != 0)
			return -1;
		*name = um.name;
		*namelen = um.namelen;
		*iov = um.iov;
		*iovlen = um.iovlen;
		return 0;
	}
}

/* The message of a sendmmsg (c) that this run of the send hook is for (sk,
 * ret: the hook's): its msghdr in *hdr. Keeps the thread's place in the
 * vector; ends it when the call ends (the last message, or a failed one).
 * Returns 0, or -1 when not known. */
static __always_inline int mmsg_at(struct sock *sk, const struct dns_call *c, int ret, __u64 *hdr)
{
	struct dns_mmsg *m;
	__u64 vec = c->buf;
	__u32 vlen = (__u32)c->len, i = 0;

	m = bpf_task_storage_get(&mmsg, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!m)
		return -1;
	if (m->vec == vec && m->sk == (__u64)sk && m->vlen == vlen && m->next < vlen)
		i = m->next;
	if (ret < 0 || i + 1 >= vlen) {
		m->vec = 0;
	} else {
		m->vec = vec;
		m->sk = (__u64)sk;
		m->vlen = vlen;
		m->next = i + 1;
	}
	*hdr = vec + (__u64)i * (c->compat ? DNS_MMSG32_SIZE : DNS_MMSG_SIZE);
	return 0;
}

/* After a send of ret bytes on sk (UDP, family fam), in the sender. */
static __always_inline void dns_send(struct sock *sk, int ret, __u16 fam)
{
	struct pt_regs *regs = YM_SYSCALL_REGS();
	__u64 buf, blen, name = 0, hdr = 0, iovlen;
	__u32 namelen = 0;
	struct dns_call c;
	struct dns_iovec iv;
	struct dns_asked *a;
	__u8 daddr[16] = {};
	struct dns_sa sa;
	struct dns_rec *r;
	__u32 cap;
	__u16 af, port;

	if (dns_call_get(regs, &c) != 0)
		goto unknown; /* io_uring, sendfile, splice, a kernel socket */
	if (c.kind == DNS_K_MMSG) {
		/* every message, failed ones too: they move the place */
		if (mmsg_at(sk, &c, ret, &hdr) != 0)
			goto unknown;
	}
	if (ret < 12) /* a DNS message has its 12-byte header */
		return;
	if (c.kind == DNS_K_BUF) {
		iv.base = c.buf;
		iv.len = c.len;
		name = c.name;
		namelen = (__u32)c.namelen;
	} else {
		__u64 iov = c.buf;

		if (c.kind != DNS_K_VEC) {
			if (c.kind == DNS_K_MSG)
				hdr = c.buf;
			if (dns_msghdr(&c, hdr, &name, &namelen, &iov, &iovlen) != 0)
				goto unknown;
		}
		/* the first element: a DNS client's message has one */
		if (dns_iov(&c, iov, 0, &iv) != 0)
			goto unknown;
	}
	buf = iv.base;
	blen = iv.len;
	/* the destination: an address given with the call wins over a
	 * connected peer */
	if (name && namelen >= 8) {
		if (bpf_probe_read_user(&sa, namelen >= sizeof(sa) ? sizeof(sa) : 8,
					(const void *)name) != 0 ||
		    sa.port != bpf_htons(53))
			return;
		if (sa.family == AF_INET6 && !v4mapped(sa.v6)) {
			af = AF_INET6;
			__builtin_memcpy(daddr, sa.v6, 16);
		} else {
			af = AF_INET;
			__builtin_memcpy(daddr, sa.family == AF_INET6 ? sa.v6 + 12 : (__u8 *)&sa.v4_or_flow,
					 4);
		}
	} else {
		port = sk->__sk_common.skc_dport;
		if (port != bpf_htons(53))
			return;
		sk_peer(sk, fam, &af, daddr);
	}
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	r = rec_reserve(ret < blen ? ret : blen, &cap);
	if (!r)
		return;
	if (rec_user(r, cap, ret, buf, blen, DNS_DIR_EGRESS, af) != 0) {
		bpf_ringbuf_discard(r, 0);
		goto unread;
	}
	r->sport = sk->__sk_common.skc_num;
	r->dport = 53;
	__builtin_memset(r->saddr, 0, 16);
	sk_local(sk, af, r->saddr);
	__builtin_memcpy(r->daddr, daddr, 16);
	/* an unconnected socket: the receive hook will not see where its
	 * datagrams come from, so it takes only responses to these ids */
	if (sk->__sk_common.skc_dport == 0) {
		a = bpf_sk_storage_get(&asked, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (a) {
			__u32 k = a->next % DNS_ASKED;

			__builtin_memcpy(&a->id[k], r->data, 2);
			a->af[k] = af;
			a->next = k + 1;
		}
	}
	bpf_ringbuf_submit(r, 0);
	return;
unknown:
	/* a send this hook cannot read: counted when it went to port 53 */
	if (ret < 12 || sk->__sk_common.skc_dport != bpf_htons(53))
		return;
unread:
	ym_count_drop(DNS_DROP_UNREAD);
}

/*
 * DNS over TCP (RFC 1035 4.2.2, RFC 7766): a client's connection to port
 * 53 carries messages each after its 2-byte length, in as many sends and
 * reads as the client likes: glibc writes the length and the message as
 * two vector elements (and A and AAAA as four), reads the length alone,
 * then the message; dig writes and reads both at once. Each direction of
 * a socket is followed by a small state kept in socket storage (where in
 * the stream the next byte is), fed the bytes each send or read moved, in
 * order, from the buffers its system call named; a message's first bytes
 * (at most DNS_REC_DATA) are copied when the message starts. A stream this
 * cannot follow (bytes it cannot read, more vector elements than
 * DNS_TCP_CHUNKS, a compat task, io_uring, sendfile, a read on a
 * connection whose start it did not see) is given up, counted once.
 */
#define DNS_TCP_LEN  0 /* at a boundary: the next 2 bytes are a length */
#define DNS_TCP_HALF 1 /* the length's first byte seen (len holds it) */
#define DNS_TCP_MSG  2 /* the length seen (len): the message starts next */
#define DNS_TCP_LOST 3 /* not followed any more */

#define DNS_TCP_CHUNKS 4 /* vector elements followed in one call */
#define DNS_TCP_STEPS  6 /* steps in one chunk: skip, and two length + message pairs */

struct dns_tcp {
	__u32 left[2]; /* per direction (DNS_DIR_*): bytes of the current message still to come */
	__u32 seq[2];  /* cgroup skb: the sequence number of the next new byte */
	__u16 len[2];
	__u8 st[2];
	__u16 pad;
};

/* cgroup skb: a TCP segment's ends, from its headers */
struct dns_seg {
	__u16 af, sport, dport;
	__u8 saddr[16], daddr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_tcp);
} tcpdns SEC(".maps");

/* A record for the message of len bytes starting at buf (avail of them in
 * this chunk) on sk: a query sent (egress) or a response read (ingress).
 * Returns 0, or -1 when its bytes could not be read. */
static __always_inline int tcp_msg(struct sock *sk, __u16 fam, __u8 dir, __u64 buf, __u32 avail,
				   __u32 len)
{
	struct dns_rec *r;
	__u8 peer[16] = {};
	__u32 cap;
	__u64 n;
	__u16 af;

	r = rec_reserve(avail, &cap);
	if (!r)
		return 0; /* counted: the ring was full */
	n = avail > cap ? cap : avail;
	barrier_var(n); /* as in dns_copy */
	if (n < 12 || n > cap || bpf_probe_read_user(r->data, n, (const void *)buf) != 0) {
		bpf_ringbuf_discard(r, 0);
		return -1;
	}
	sk_peer(sk, fam, &af, peer);
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->ts_ns = bpf_ktime_get_ns();
	r->len = n;
	r->wire_len = len;
	r->dir = dir;
	r->flags = DNS_REC_F_TCP;
	r->af = af;
	if (dir == DNS_DIR_EGRESS) {
		r->sport = sk->__sk_common.skc_num;
		r->dport = 53;
		__builtin_memset(r->saddr, 0, 16);
		sk_local(sk, af, r->saddr);
		__builtin_memcpy(r->daddr, peer, 16);
	} else {
		r->sport = 53;
		r->dport = sk->__sk_common.skc_num;
		__builtin_memcpy(r->saddr, peer, 16);
		__builtin_memset(r->daddr, 0, 16);
		sk_local(sk, af, r->daddr);
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* As tcp_msg, from a packet: the message of len bytes at offset off of
 * skb (avail of them in it), with the segment's ends g; at egress the
 * current task is the sender (as in dns_copy). */
static __always_inline int tcp_msg_pkt(struct __sk_buff *skb, const struct dns_seg *g, __u8 dir,
				       __u32 off, __u32 avail, __u32 len)
{
	struct dns_rec *r;
	__u32 cap;
	__u64 n;

	r = rec_reserve(avail, &cap);
	if (!r)
		return 0;
	n = avail > cap ? cap : avail;
	barrier_var(n);
	if (n < 12 || n > cap || bpf_skb_load_bytes(skb, off, r->data, n) != 0) {
		bpf_ringbuf_discard(r, 0);
		return -1;
	}
	r->pid = dir == DNS_DIR_EGRESS ? bpf_get_current_pid_tgid() >> 32 : 0;
	r->uid = dir == DNS_DIR_EGRESS ? (__u32)bpf_get_current_uid_gid() : (__u32)-1;
	r->ts_ns = bpf_ktime_get_ns();
	r->len = n;
	r->wire_len = len;
	r->dir = dir;
	r->flags = DNS_REC_F_TCP;
	r->af = g->af;
	r->sport = g->sport;
	r->dport = g->dport;
	__builtin_memcpy(r->saddr, g->saddr, 16);
	__builtin_memcpy(r->daddr, g->daddr, 16);
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* n bytes at at: the calling task's memory (pkt 0) or skb's offset at
 * (pkt 1; a constant at each call, so one of the two helpers is left) */
static __always_inline long tcp_read(struct __sk_buff *skb, int pkt, __u64 at, void *dst, __u32 n)
{
	if (pkt)
		return bpf_skb_load_bytes(skb, (__u32)at, dst, n);
	return bpf_probe_read_user(dst, n, (const void *)at);
}

/* Feeds the n bytes at buf, the next of direction dir's stream, to its
 * state t: from the calling task's memory (pkt 0: the socket hooks, sk
 * and fam the socket's) or from a packet (pkt 1: buf is an offset in
 * skb, g the segment's ends). Returns 0, or -1 when the stream is lost
 * (t says so). */
static __always_inline int tcp_chunk(struct sock *sk, __u16 fam, struct __sk_buff *skb,
				     const struct dns_seg *g, int pkt, struct dns_tcp *t, __u8 dir,
				     __u64 buf, __u32 n)
{
	__u8 d = dir & 1;
	__u8 b[2];

	for (int i = 0; i < DNS_TCP_STEPS && n > 0; i++) {
		__u32 k;

		if (t->left[d] > 0) {
			/* inside a message begun before */
			k = t->left[d] < n ? t->left[d] : n;
			t->left[d] -= k;
			buf += k;
			n -= k;
		} else if (t->st[d] == DNS_TCP_LEN || t->st[d] == DNS_TCP_HALF) {
			k = t->st[d] == DNS_TCP_LEN && n >= 2 ? 2 : 1;
			if (tcp_read(skb, pkt, buf, b, k) != 0)
				goto lost;
			if (k == 2)
				t->len[d] = (__u16)((b[0] << 8) | b[1]);
			else if (t->st[d] == DNS_TCP_LEN)
				t->len[d] = (__u16)(b[0] << 8);
			else
				t->len[d] |= b[0];
			t->st[d] = k == 2 || t->st[d] == DNS_TCP_HALF ? DNS_TCP_MSG : DNS_TCP_HALF;
			buf += k;
			n -= k;
		} else if (t->st[d] == DNS_TCP_MSG) {
			__u32 len = t->len[d];

			k = len < n ? len : n;
			/* a message too short for its header is no DNS:
			 * passed over, as an empty one */
			if (len >= 12) {
				if (k < 12 || (pkt ? tcp_msg_pkt(skb, g, dir, (__u32)buf, k, len)
						   : tcp_msg(sk, fam, dir, buf, k, len)) != 0)
					goto lost;
			}
			t->left[d] = len - k;
			t->st[d] = DNS_TCP_LEN;
			buf += k;
			n -= k;
		} else {
			return -1;
		}
	}
	if (n == 0)
		return 0;
lost:
	t->st[d] = DNS_TCP_LOST;
	return -1;
}

/* After a send (egress) or read (ingress) of ret bytes on sk, a TCP
 * connection to port 53 (family fam), in the calling task. */
static __always_inline void dns_tcp(struct sock *sk, int ret, __u16 fam, __u8 dir)
{
	struct pt_regs *regs;
	struct dns_tcp *t;
	struct dns_call c;
	struct dns_iovec iv;
	__u64 iov = 0, iovlen = 1, name;
	__u32 left = (__u32)ret, namelen;

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	t = bpf_sk_storage_get(&tcpdns, sk, 0, 0);
	if (!t) {
		t = bpf_sk_storage_get(&tcpdns, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!t)
			goto drop;
		/* first seen at a read: where its stream is, is not known */
		if (dir == DNS_DIR_INGRESS) {
			t->st[0] = t->st[1] = DNS_TCP_LOST;
			goto drop;
		}
	}
	if (t->st[dir & 1] == DNS_TCP_LOST)
		return;
	regs = YM_SYSCALL_REGS();
	/* sendmmsg, io_uring, sendfile, splice */
	if (dns_call_get(regs, &c) != 0 || c.kind == DNS_K_MMSG)
		goto lost;
	if (c.kind == DNS_K_BUF) {
		iv.base = c.buf;
		iv.len = c.len;
	} else if (c.kind == DNS_K_VEC) {
		iov = c.buf;
		iovlen = c.len;
	} else if (dns_msghdr(&c, c.buf, &name, &namelen, &iov, &iovlen) != 0) {
		goto lost;
	}
	for (int i = 0; i < DNS_TCP_CHUNKS && left > 0; i++) {
		__u32 n;

		if (iov) {
			if (i >= iovlen || dns_iov(&c, iov, (__u32)i, &iv) != 0)
				goto lost;
		} else if (i > 0) {
			goto lost;
		}
		n = iv.len < left ? (__u32)iv.len : left;
		if (tcp_chunk(sk, fam, 0, 0, 0, t, dir, iv.base, n) != 0)
			goto drop;
		left -= n;
	}
	if (left == 0)
		return;
lost:
	t->st[dir & 1] = DNS_TCP_LOST;
drop:
	ym_count_drop(DNS_DROP_UNREAD);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(dns_sock_send, struct sock *sk, int ret, int flags)
{
	__u16 fam;

	/* every socket send of the machine: plain loads, no helper call,
	 * until the socket is known to be UDP over IP, or TCP to port 53 */
	if (sk->sk_protocol != IPPROTO_UDP &&
	    (sk->sk_protocol != IPPROTO_TCP || sk->__sk_common.skc_dport != bpf_htons(53)))
		return 0;
	fam = sk->__sk_common.skc_family;
	if (fam != AF_INET && fam != AF_INET6)
		return 0;
	if (sk->sk_protocol == IPPROTO_TCP) {
		if (ret > 0)
			dns_tcp(sk, ret, fam, DNS_DIR_EGRESS);
		return 0;
	}
	dns_send(sk, ret, fam);
	return 0;
}

/* After a read of ret bytes (or the datagram's length with MSG_TRUNC) on sk
 * (UDP, family fam), in the reader. */
static __always_inline void dns_recv(struct sock *sk, int ret, __u16 fam)
{
	struct pt_regs *regs;
	__u64 buf, blen, iov, name, iovlen;
	__u32 namelen;
	struct dns_asked *a = 0;
	struct dns_call c;
	struct dns_iovec iv;
	__u8 saddr[16] = {};
	struct dns_rec *r;
	__u32 cap;
	__u16 af = 0, h[2];

	if (sk->__sk_common.skc_dport != 0) {
		/* connected: it reads from its peer only */
		if (sk->__sk_common.skc_dport != bpf_htons(53))
			return;
		sk_peer(sk, fam, &af, saddr);
	} else {
		a = bpf_sk_storage_get(&asked, sk, 0, 0);
		if (!a)
			return;
	}
	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	regs = YM_SYSCALL_REGS();
	/* recvmmsg (which message?), io_uring */
	if (dns_call_get(regs, &c) != 0 || c.kind == DNS_K_MMSG)
		goto unknown;
	/* (iv holds the buffer either way: one load site for both, as the
	 * verifier wants) */
	if (c.kind == DNS_K_BUF) {
		iv.base = c.buf;
		iv.len = c.len;
	} else {
		iov = c.buf;
		if (c.kind == DNS_K_MSG &&
		    dns_msghdr(&c, c.buf, &name, &namelen, &iov, &iovlen) != 0)
			goto unread;
		if (dns_iov(&c, iov, 0, &iv) != 0)
			goto unread;
	}
	buf = iv.base;
	blen = iv.len;
	if (a) {
		/* a response (QR) to one of the socket's queries */
		if (blen < 4 || bpf_probe_read_user(h, sizeof(h), (const void *)buf) != 0 ||
		    !(h[1] & bpf_htons(0x8000)))
			return;
		for (int i = 0; i < DNS_ASKED; i++)
			if (a->id[i] == h[0] && a->af[i] != 0)
				af = a->af[i];
		if (af == 0)
			return;
	}
	r = rec_reserve(ret < blen ? ret : blen, &cap);
	if (!r)
		return;
	if (rec_user(r, cap, ret, buf, blen, DNS_DIR_INGRESS, af) != 0) {
		bpf_ringbuf_discard(r, 0);
		goto unread;
	}
	r->sport = 53;
	r->dport = sk->__sk_common.skc_num;
	__builtin_memcpy(r->saddr, saddr, 16);
	__builtin_memset(r->daddr, 0, 16);
	sk_local(sk, af, r->daddr);
	bpf_ringbuf_submit(r, 0);
	return;
unknown:
	/* a read this hook cannot follow: counted when it was a response
	 * (a connected peer on port 53); what a watched unconnected socket
	 * read is not known, and most of it is no DNS */
	if (a)
		return;
unread:
	ym_count_drop(DNS_DROP_UNREAD);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(dns_sock_recv, struct sock *sk, int ret, int flags)
{
	__u16 fam;

	/* every socket receive of the machine: plain loads first. A peek
	 * (systemd's 0-byte MSG_PEEK|MSG_TRUNC size probe among them) leaves
	 * the datagram queued: the read that takes it is reported, once */
	if (sk->sk_protocol == IPPROTO_TCP) {
		/* a TCP connection to port 53: glibc reads a message's
		 * 2-byte length alone */
		if (sk->__sk_common.skc_dport != bpf_htons(53) || ret <= 0 ||
		    (flags & (MSG_PEEK | MSG_ERRQUEUE)))
			return 0;
		fam = sk->__sk_common.skc_family;
		if (fam == AF_INET || fam == AF_INET6)
			dns_tcp(sk, ret, fam, DNS_DIR_INGRESS);
		return 0;
	}
	if (sk->sk_protocol != IPPROTO_UDP || ret < 12 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return 0;
	fam = sk->__sk_common.skc_family;
	if (fam != AF_INET && fam != AF_INET6)
		return 0;
	dns_recv(sk, ret, fam);
	return 0;
}

/*
 * The cgroup skb programs (the fallback).
 */

#define TCP_FL_SYN 0x02

/* A TCP segment of a connection to port 53 (skb; its TCP header at l4,
 * the IP header's fields in g): the stream followed by its sequence
 * numbers from the SYN (egress) and the SYN-ACK (ingress) on, in the
 * socket's storage as the socket hooks do. A retransmission passes what
 * was seen; a gap (a segment lost or out of order) or a connection whose
 * start was not seen is given up, counted once. */
static __always_inline void dns_copy_tcp(struct __sk_buff *skb, __u8 dir, __u32 l4,
					 struct dns_seg *g)
{
	struct bpf_sock *bsk = skb->sk;
	struct dns_tcp *t;
	__u8 th[14];
	__u32 seq, off, plen;
	__s32 delta;
	__u8 d = dir & 1;

	if (!bsk)
		return;
	bsk = bpf_sk_fullsock(bsk);
	if (!bsk || bpf_skb_load_bytes(skb, l4, th, sizeof(th)) != 0)
		return;
	seq = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) | ((__u32)th[6] << 8) | th[7];
	off = l4 + (th[12] >> 4) * 4;
	t = bpf_sk_storage_get(&tcpdns, bsk, 0, 0);
	if (th[13] & TCP_FL_SYN) {
		/* the connection's start, this direction's first sequence number */
		t = bpf_sk_storage_get(&tcpdns, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!t)
			goto drop;
		if (dir == DNS_DIR_EGRESS)
			t->st[1] = DNS_TCP_LOST; /* until its SYN-ACK */
		t->st[d] = DNS_TCP_LEN;
		t->left[d] = 0;
		t->seq[d] = seq + 1;
		return;
	}
	if (off > skb->len)
		return;
	plen = skb->len - off;
	if (plen == 0)
		return; /* an ACK, a FIN */
	if (!t) {
		/* data of a connection whose start was not seen */
		t = bpf_sk_storage_get(&tcpdns, bsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!t)
			goto drop;
		t->st[0] = t->st[1] = DNS_TCP_LOST;
		goto drop;
	}
	if (t->st[d] == DNS_TCP_LOST)
		return;
	delta = (__s32)(seq - t->seq[d]);
	if (delta > 0)
		goto lost; /* a gap */
	if (delta < 0) {
		/* a retransmission: only what follows the bytes seen */
		__u32 old = t->seq[d] - seq;

		if (old >= plen)
			return;
		off += old;
		plen -= old;
	}
	t->seq[d] += plen;
	if (tcp_chunk(0, 0, skb, g, 1, t, dir, off, plen) != 0)
		goto drop;
	return;
lost:
	t->st[d] = DNS_TCP_LOST;
drop:
	ym_count_drop(DNS_DROP_UNREAD);
}

/* Every packet of the machine passes here, 12 times per loopback TCP
 * connection: the protocol byte (and a TCP segment's ports) are read in
 * place (skb->data is the network header) where the headers lie in the
 * linear data, so the packets of other protocols and TCP to other ports
 * leave without a helper call (half of these programs' time in a connect
 * storm, by perf); UDP, TCP to or from port 53, and headers outside the
 * linear data take bpf_skb_load_bytes below. */
static __always_inline void dns_copy(struct __sk_buff *skb, __u8 dir)
{
	__u8 hdr[40];
	__u16 ports[3];
	__u32 l4;
	__u16 af;
	__u8 proto;
	struct dns_rec *r;
	__u32 plen, cap;
	__u64 n; /* 64 bits: a 32-bit one is tested through a zero-extended copy */
	const __u8 *data = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (data + 20 <= end) {
			if (data[9] == IPPROTO_TCP) {
				l4 = (data[0] & 0xf) * 4;
				if (l4 >= 20 && l4 <= 60 && data + l4 + 4 <= end &&
				    *(const __u16 *)(data + l4) != bpf_htons(53) &&
				    *(const __u16 *)(data + l4 + 2) != bpf_htons(53))
					return;
			} else if (data[9] != IPPROTO_UDP) {
				return;
			}
		}
		if (bpf_skb_load_bytes(skb, 0, hdr, 20) != 0 ||
		    (hdr[9] != IPPROTO_UDP && hdr[9] != IPPROTO_TCP) ||
		    (((hdr[6] << 8) | hdr[7]) & 0x3fff) != 0) /* MF or offset: a fragment */
			return;
		proto = hdr[9];
		l4 = (hdr[0] & 0xf) * 4;
		af = AF_INET;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (data + 40 <= end) {
			if (data[6] == IPPROTO_TCP) {
				if (data + 44 <= end &&
				    *(const __u16 *)(data + 40) != bpf_htons(53) &&
				    *(const __u16 *)(data + 42) != bpf_htons(53))
					return;
			} else if (data[6] != IPPROTO_UDP) {
				return;
			}
		}
		if (bpf_skb_load_bytes(skb, 0, hdr, 40) != 0 ||
		    (hdr[6] != IPPROTO_UDP && hdr[6] != IPPROTO_TCP))
			return;
		proto = hdr[6];
		l4 = 40;
		af = AF_INET6;
	} else {
		return;
	}
	if (l4 < 20 || l4 > 60 || bpf_skb_load_bytes(skb, l4, ports, 6) != 0)
		return;
	if (proto == IPPROTO_TCP) {
		struct dns_seg g = {};

		/* a client's connection to port 53: its queries leave, its
		 * responses come in (a local server's own segments do not) */
		if (ports[dir == DNS_DIR_EGRESS ? 1 : 0] != bpf_htons(53))
			return;
		if (dir == DNS_DIR_EGRESS && (bpf_get_current_pid_tgid() >> 32) == self_tgid)
			return;
		g.af = af;
		g.sport = bpf_ntohs(ports[0]);
		g.dport = bpf_ntohs(ports[1]);
		if (af == AF_INET) {
			__builtin_memcpy(g.saddr, hdr + 12, 4);
			__builtin_memcpy(g.daddr, hdr + 16, 4);
		} else {
			__builtin_memcpy(g.saddr, hdr + 8, 16);
			__builtin_memcpy(g.daddr, hdr + 24, 16);
		}
		dns_copy_tcp(skb, dir, l4, &g);
		return;
	}
	if (ports[0] != bpf_htons(53) && ports[1] != bpf_htons(53))
		return;
	plen = bpf_ntohs(ports[2]);
	if (plen < 8 + 12)
		return;
	plen -= 8;
	if (dir == DNS_DIR_EGRESS && (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return;
	r = rec_reserve(plen, &cap);
	if (!r)
		return;
	r->pid = dir == DNS_DIR_EGRESS ? bpf_get_current_pid_tgid() >> 32 : 0;
	r->uid = dir == DNS_DIR_EGRESS ? (__u32)bpf_get_current_uid_gid() : (__u32)-1;
	r->ts_ns = bpf_ktime_get_ns();
	r->dir = dir;
	r->flags = 0;
	r->af = af;
	r->sport = bpf_ntohs(ports[0]);
	r->dport = bpf_ntohs(ports[1]);
	r->wire_len = plen;
	__builtin_memset(r->saddr, 0, 32);
	if (af == AF_INET) {
		__builtin_memcpy(r->saddr, hdr + 12, 4);
		__builtin_memcpy(r->daddr, hdr + 16, 4);
	} else {
		__builtin_memcpy(r->saddr, hdr + 8, 16);
		__builtin_memcpy(r->daddr, hdr + 24, 16);
	}
	n = plen > cap ? cap : plen;
	/* n itself goes to the helper, bounded by the test below: without
	 * the barrier the compiler passes plen on the branch where it is n,
	 * a register the verifier saw no bound on (refused) */
	barrier_var(n);
	if (n == 0 || n > cap || bpf_skb_load_bytes(skb, l4 + 8, r->data, n) != 0) {
		bpf_ringbuf_discard(r, 0);
		return;
	}
	r->len = n;
	bpf_ringbuf_submit(r, 0);
}

SEC("cgroup_skb/egress")
int dns_egress(struct __sk_buff *skb)
{
	dns_copy(skb, DNS_DIR_EGRESS);
	return 1;
}

SEC("cgroup_skb/ingress")
int dns_ingress(struct __sk_buff *skb)
{
	dns_copy(skb, DNS_DIR_INGRESS);
	return 1;
}
