/* dns family, mode packet or bpf (argv[1]): in a private network namespace a resolver stub
 * answers on 127.0.0.1:53 and [::1]:53; children send real queries; each
 * query gives one dns_query event with the exact name, type, answers, status
 * and the querying process. A response with a compression loop is a counted
 * drop, never a crash.
 *
 * The clients use every send and receive path the bpf mode's socket hooks
 * read from the system call's registers: sendto and recvfrom on an
 * unconnected socket, send, write, writev and sendmmsg (glibc's A and AAAA
 * pair) on a connected one, sendmsg and recvmsg, recv, read, readv, IPv6,
 * a v4-mapped peer of an IPv6 socket, a MSG_PEEK before the read and
 * systemd's 0-byte MSG_PEEK|MSG_TRUNC size probe (each reported once).
 * DNS over TCP too, in every mode: the stub answers on the same addresses
 * over TCP, and clients frame their queries as dig and glibc do, and
 * otherwise (run_tcp). And (x86-64) queries made as 32-bit system calls
 * from this 64-bit program, int 0x80, over UDP and TCP (run_i80).
 * Mode bpf runs every case twice: with the socket hooks (skipped with the
 * reason where this kernel refuses them), then with the cgroup skb
 * fallback forced. */
#include "../i80.h"
#include "famnet.h"
#include "famtest.h"
#include "family_dns_packet.h"
#ifdef YM_FAMILY_BPF
#include "family_dns_bpf.h"

#include <bpf/btf.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ft runs[2];
/* the TCP cases to run: 0 none, 1 the socket hooks', 2 the cgroup skb
 * programs', 3 the packet mode's */
static int tcp;

static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		p[o++] = (uint8_t)l;
		memcpy(p + o, name, l);
		o += l;
		name += l + (dot != NULL);
	}
	p[o++] = 0;
	return o;
}

static size_t make_query(uint8_t *p, uint16_t id, const char *name, uint16_t type)
{
	size_t o = 12;

	memset(p, 0, 12);
	p[0] = (uint8_t)(id >> 8);
	p[1] = (uint8_t)id;
	p[2] = 0x01; /* RD */
	p[5] = 1;    /* one question */
	o += put_name(p + o, name);
	p[o++] = (uint8_t)(type >> 8);
	p[o++] = (uint8_t)type;
	p[o++] = 0;
	p[o++] = 1;
	return o;
}

static size_t put_rr_head(uint8_t *p, uint16_t ptr, uint16_t type, uint16_t rdlen)
{
	uint8_t h[12] = {(uint8_t)(0xc0 | ptr >> 8),
			 (uint8_t)ptr,
			 (uint8_t)(type >> 8),
			 (uint8_t)type,
			 0,
			 1,
			 0,
			 0,
			 0,
			 60,
			 (uint8_t)(rdlen >> 8),
			 (uint8_t)rdlen};

	memcpy(p, h, sizeof(h));
	return sizeof(h);
}

/* The stub's answer to query q (n bytes) into r; returns its length. */
static size_t answer(const uint8_t *q, size_t n, uint8_t *r)
{
	char name[256];
	size_t o = 12, k = 0, ql;
	uint16_t type;

	memcpy(r, q, n);
	r[2] |= 0x80; /* QR */
	r[3] = 0x80;  /* RA */
	while (o < n && q[o] != 0 && k < 200) {
		size_t l = q[o];

		if (k != 0)
			name[k++] = '.';
		memcpy(name + k, q + o + 1, l);
		k += l;
		o += l + 1;
	}
	name[k] = '\0';
	type = (uint16_t)(q[o + 1] << 8 | q[o + 2]);
	ql = o + 5;
	o = ql;
	if (strncmp(name, "silent", 6) == 0)
		return 0; /* no answer: the query alone is reported, after its wait */
	if (strcmp(name, "nx.example.test") == 0) {
		r[3] |= 3;
		return o;
	}
	if (strcmp(name, "loop.example.test") == 0) {
		/* an answer whose name points at itself */
		r[7] = 1;
		o += put_rr_head(r + o, (uint16_t)o, 1, 4);
		memcpy(r + o, "\x0a\x00\x00\x01", 4);
		return o + 4;
	}
	if (strcmp(name, "www.example.test") == 0 && type == 1) {
		size_t cn;

		r[7] = 2;
		/* www CNAME web.example.test (compressed: "web" + pointer to example.test) */
		o += put_rr_head(r + o, 12, 5, 6);
		cn = o;
		memcpy(r + o, "\x03web\xc0\x10", 6);
		o += 6;
		o += put_rr_head(r + o, (uint16_t)cn, 1, 4);
		memcpy(r + o, "\x0a\x01\x02\x03", 4);
		return o + 4;
	}
	if (strcmp(name, "big.example.test") == 0) {
		/* 80 addresses: a 1,314-byte answer, over the bpf mode's
		 * copy (DNS_REC_DATA, 1,024 bytes) */
		r[6] = 0, r[7] = 80;
		for (uint8_t i = 1; i <= 80; i++) {
			o += put_rr_head(r + o, 12, 1, 4);
			r[o++] = 10, r[o++] = 0, r[o++] = 1, r[o++] = i;
		}
		return o;
	}
	if (strcmp(name, "many.example.test") == 0) {
		/* 24 addresses: a 419-byte answer, over the bpf mode's short
		 * record (DNS_REC_SMALL) */
		r[7] = 24;
		for (uint8_t i = 1; i <= 24; i++) {
			o += put_rr_head(r + o, 12, 1, 4);
			r[o++] = 10, r[o++] = 0, r[o++] = 0, r[o++] = i;
		}
		return o;
	}
	if (type == 16) {
		/* TXT: two strings, the second with the separator and a
		 * control byte */
		static const uint8_t txt[] = "\x0b" "v=spf1 -all" "\x04" "a;b\x01";

		r[7] = 1;
		o += put_rr_head(r + o, 12, 16, (uint16_t)(sizeof(txt) - 1));
		memcpy(r + o, txt, sizeof(txt) - 1);
		return o + sizeof(txt) - 1;
	}
	if (type == 1) {
		r[7] = 1;
		o += put_rr_head(r + o, 12, 1, 4);
		memcpy(r + o, "\x0a\x09\x08\x07", 4);
		return o + 4;
	}
	if (type == 28) {
		r[7] = 1;
		o += put_rr_head(r + o, 12, 28, 16);
		memcpy(r + o, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		return o + 16;
	}
	return o;
}

static void stub(int af)
{
	uint8_t q[512], r[2048];
	struct sockaddr_storage ss;
	socklen_t sl;
	int s = socket(af, SOCK_DGRAM, 0);

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(53);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(53);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	if (bind(s, (struct sockaddr *)&ss, sl) != 0)
		_exit(2);
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);

		if (n < 17)
			continue;
		size_t rl = answer(q, (size_t)n, r);
		if (rl != 0)
			(void)sendto(s, r, rl, 0, (struct sockaddr *)&from, fl);
	}
}

/* How a client sends its query and reads the answer. */
enum how {
	H_SENDTO_RECV,	   /* unconnected: sendto, recv */
	H_SENDTO_RECVFROM, /* unconnected: sendto, recvfrom with the source */
	H_SEND_READ,	   /* connected: send, read */
	H_WRITE_RECVMSG,   /* connected: write, recvmsg */
	H_WRITEV_READV,	   /* connected: writev, readv */
	H_SENDMSG_RECVMSG, /* unconnected: sendmsg with msg_name, recvmsg */
	H_SENDMMSG,	   /* connected: one sendmmsg with name/type and name/AAAA, two reads */
	H_PEEK_READ,	   /* connected: send, recv(MSG_PEEK), read */
	H_PROBE_READ,	   /* connected: send, recv(NULL, 0, MSG_PEEK|MSG_TRUNC), recv */
	H_MAPPED,	   /* IPv6 socket, sendto ::ffff:127.0.0.1, recv */
};

static socklen_t server(int af, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(53);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(53);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
}

/* The child's side: exits 0 once every answer was read, or (a "silent..."
 * name, which the stub does not answer) a moment after the send. */
static void client(int af, const char *name, uint16_t type, uint16_t id, enum how how)
{
	int silent = strncmp(name, "silent", 6) == 0;
	uint8_t q[512], q2[512], r[2048];
	size_t n = make_query(q, id, name, type), n2;
	struct sockaddr_storage ss, from;
	socklen_t sl = server(af, &ss), fl = sizeof(from);
	int s = socket(how == H_MAPPED ? AF_INET6 : af, SOCK_DGRAM, 0);
	struct timeval tv = {2, 0};
	struct iovec iv = {q, n}, riv = {r, sizeof(r)};
	struct msghdr m, rm;
	struct mmsghdr mm[2];
	struct iovec iv2[2];
	ssize_t got = -1;

	memset(&m, 0, sizeof(m));
	memset(&rm, 0, sizeof(rm));
	rm.msg_iov = &riv;
	rm.msg_iovlen = 1;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (how == H_SEND_READ || how == H_WRITE_RECVMSG || how == H_WRITEV_READV ||
	    how == H_SENDMMSG || how == H_PEEK_READ || how == H_PROBE_READ) {
		if (connect(s, (struct sockaddr *)&ss, sl) != 0)
			_exit(4);
	}
	switch (how) {
	case H_SENDTO_RECV:
	case H_SENDTO_RECVFROM:
		if (sendto(s, q, n, 0, (struct sockaddr *)&ss, sl) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		got = how == H_SENDTO_RECV
			  ? recv(s, r, sizeof(r), 0)
			  : recvfrom(s, r, sizeof(r), 0, (struct sockaddr *)&from, &fl);
		break;
	case H_SEND_READ:
		if (send(s, q, n, 0) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		got = read(s, r, sizeof(r));
		break;
	case H_WRITE_RECVMSG:
		if (write(s, q, n) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		got = recvmsg(s, &rm, 0);
		break;
	case H_WRITEV_READV:
		if (writev(s, &iv, 1) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		got = readv(s, &riv, 1);
		break;
	case H_SENDMSG_RECVMSG:
		m.msg_name = &ss;
		m.msg_namelen = sl;
		m.msg_iov = &iv;
		m.msg_iovlen = 1;
		if (sendmsg(s, &m, 0) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		rm.msg_name = &from;
		rm.msg_namelen = sizeof(from);
		got = recvmsg(s, &rm, 0);
		break;
	case H_SENDMMSG:
		/* as glibc: A and AAAA, ids id and id + 1, one call */
		n2 = make_query(q2, (uint16_t)(id + 1), name, 28);
		memset(mm, 0, sizeof(mm));
		iv2[0] = (struct iovec){q, n};
		iv2[1] = (struct iovec){q2, n2};
		mm[0].msg_hdr.msg_iov = &iv2[0];
		mm[0].msg_hdr.msg_iovlen = 1;
		mm[1].msg_hdr.msg_iov = &iv2[1];
		mm[1].msg_hdr.msg_iovlen = 1;
		if (sendmmsg(s, mm, 2, MSG_NOSIGNAL) != 2)
			_exit(5);
		if (silent)
			break;
		if (recvfrom(s, r, sizeof(r), 0, NULL, NULL) <= 0)
			_exit(3);
		got = recvfrom(s, r, sizeof(r), 0, NULL, NULL);
		break;
	case H_PEEK_READ:
		if (send(s, q, n, 0) != (ssize_t)n || recv(s, r, sizeof(r), MSG_PEEK) <= 0)
			_exit(5);
		got = read(s, r, sizeof(r));
		break;
	case H_PROBE_READ:
		/* systemd-resolved sizes a datagram before reading it */
		if (send(s, q, n, 0) != (ssize_t)n || recv(s, NULL, 0, MSG_PEEK | MSG_TRUNC) <= 0)
			_exit(5);
		got = recv(s, r, sizeof(r), 0);
		break;
	case H_MAPPED: {
		struct sockaddr_in6 a6;

		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons(53);
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
		if (sendto(s, q, n, 0, (struct sockaddr *)&a6, sizeof(a6)) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		got = recv(s, r, sizeof(r), 0);
		break;
	}
	}
	if (got <= 0 && !silent)
		_exit(3);
	/* keeps its socket a moment after the answer, as a resolver library
	 * does while it reads further answers */
	usleep(500 * 1000);
	_exit(0);
}

/* A child queries name/type over af, the way how says. */
static pid_t query_how(int af, const char *name, uint16_t type, uint16_t id, enum how how)
{
	pid_t p = ft_fork();

	if (p == 0)
		client(af, name, type, id, how);
	return p;
}

static pid_t query(int af, const char *name, uint16_t type, uint16_t id)
{
	return query_how(af, name, type, id, H_SENDTO_RECV);
}

static void reap(pid_t p)
{
	int st;

	FT_CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* One query made the way how says: exactly one event for name/type with
 * these answers, status 0 and the child's process. */
static void check_how(struct ft *t, int af, const char *name, uint16_t type, uint16_t id,
		      enum how how, const char *answers)
{
	const char *img = ft_self_image();
	const struct ft_event *e;
	char pid[16];
	pid_t c;

	c = query_how(af, name, type, id, how);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", name, "QueryType", type == 28 ? "AAAA" : "A", NULL);
	if (e == NULL)
		fprintf(stderr, "case %s (how %d): no event\n", name, (int)how);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_DNS_QUERY);
	ft_expect(e, "Protocol", "udp");
	ft_expect(e, "QueryResults", answers);
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", img);
	if (how == H_SENDMMSG) {
		e = ft_wait(t, 3000, "QueryName", name, "QueryType", "AAAA", NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "QueryResults", "2001:db8::1");
		ft_expect(e, "QueryStatus", "0");
		ft_expect(e, "ProcessId", pid);
	}
	reap(c);
	/* once per query: a peek, or a wrong message of the vector, would
	 * show as a second event (the last case waits out the tracker's 5 s,
	 * so a query left without its response is counted by then) */
	ft_pump(t, 100);
	FT_CHECK(ft_count(t, "QueryName", name, NULL) == (how == H_SENDMMSG ? 2 : 1));
}

/* DNS over TCP (bpf mode): the stub's TCP side, on the same addresses. A
 * process per connection (one is held open from before the module's
 * start): each message is read after its 2-byte length and answered the
 * same way, in one write. */
static int read_full(int s, uint8_t *p, size_t n)
{
	size_t o = 0;

	while (o < n) {
		ssize_t k = read(s, p + o, n - o);

		if (k <= 0)
			return -1;
		o += (size_t)k;
	}
	return 0;
}

static void stub_tcp(int af)
{
	struct sockaddr_storage ss;
	socklen_t sl = server(af, &ss);
	int one = 1, s = socket(af, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, sl) != 0 || listen(s, 16) != 0)
		_exit(2);
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);
		uint8_t l[2], q[512], r[2 + 2048];

		if (c < 0)
			continue;
		if (fork() != 0) {
			close(c);
			continue;
		}
		close(s);
		while (read_full(c, l, 2) == 0) {
			size_t n = (size_t)(l[0] << 8 | l[1]), rl;

			if (n < 17 || n > sizeof(q) || read_full(c, q, n) != 0)
				break;
			rl = answer(q, n, r + 2);
			if (rl == 0)
				continue;
			r[0] = (uint8_t)(rl >> 8), r[1] = (uint8_t)rl;
			if (write(c, r, rl + 2) != (ssize_t)(rl + 2))
				break;
		}
		_exit(0);
	}
}

/* How a TCP client sends its query (queries) and reads the answer. */
enum tcp_how {
	T_WRITE_READ, /* one write of length and query, one read of length and answer (dig) */
	T_GLIBC, /* writev of the length and the query, read of the length, read of the answer */
	T_PAIR,	 /* sendmsg of A and AAAA, four elements; recv of each length and answer */
	T_SPLIT, /* write of the length, send of the query; readv of 1 byte and the rest */
	T_LOST,	 /* writev of six elements: more than the hooks follow, a counted drop */
};

/* The TCP client: exits 0 once every answer was read (a "silent..." name:
 * a moment after the send). */
static void client_tcp(int af, const char *name, uint16_t type, uint16_t id, enum tcp_how how)
{
	int silent = strncmp(name, "silent", 6) == 0;
	uint8_t q[2 + 512], q2[2 + 512], r[2 + 2048], l[2];
	size_t n = make_query(q + 2, id, name, type), n2;
	struct sockaddr_storage ss;
	socklen_t sl = server(af, &ss);
	int s = socket(af, SOCK_STREAM, 0);
	struct timeval tv = {2, 0};
	struct iovec iv[6];
	struct msghdr m;
	ssize_t got = -1;

	q[0] = (uint8_t)(n >> 8), q[1] = (uint8_t)n;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&ss, sl) != 0)
		_exit(4);
	switch (how) {
	case T_WRITE_READ:
		if (write(s, q, n + 2) != (ssize_t)(n + 2))
			_exit(5);
		if (silent)
			break;
		/* the stub answers in one write: one read takes it whole */
		got = read(s, r, sizeof(r));
		break;
	case T_GLIBC:
		iv[0] = (struct iovec){q, 2};
		iv[1] = (struct iovec){q + 2, n};
		if (writev(s, iv, 2) != (ssize_t)(n + 2))
			_exit(5);
		if (silent)
			break;
		if (read_full(s, l, 2) != 0)
			_exit(3);
		got = read_full(s, r, (size_t)(l[0] << 8 | l[1])) == 0 ? 1 : -1;
		break;
	case T_PAIR:
		n2 = make_query(q2 + 2, (uint16_t)(id + 1), name, 28);
		q2[0] = (uint8_t)(n2 >> 8), q2[1] = (uint8_t)n2;
		iv[0] = (struct iovec){q, 2};
		iv[1] = (struct iovec){q + 2, n};
		iv[2] = (struct iovec){q2, 2};
		iv[3] = (struct iovec){q2 + 2, n2};
		memset(&m, 0, sizeof(m));
		m.msg_iov = iv;
		m.msg_iovlen = 4;
		if (sendmsg(s, &m, 0) != (ssize_t)(n + n2 + 4))
			_exit(5);
		for (int i = 0; !silent && i < 2; i++) {
			if (recv(s, l, 2, MSG_WAITALL) != 2 ||
			    recv(s, r, (size_t)(l[0] << 8 | l[1]), MSG_WAITALL) !=
				(ssize_t)(l[0] << 8 | l[1]))
				_exit(3);
		}
		got = 1;
		break;
	case T_SPLIT:
		if (write(s, q, 2) != 2 || send(s, q + 2, n, 0) != (ssize_t)n)
			_exit(5);
		if (silent)
			break;
		iv[0] = (struct iovec){r, 1};
		iv[1] = (struct iovec){r + 1, sizeof(r) - 1};
		/* the stub writes its answer at once; wait for all of it */
		usleep(100 * 1000);
		got = readv(s, iv, 2);
		break;
	case T_LOST:
		for (int i = 0; i < 6; i++)
			iv[i] = (struct iovec){q + i * (n + 2) / 6,
					       (i + 1) * (n + 2) / 6 - i * (n + 2) / 6};
		if (writev(s, iv, 6) != (ssize_t)(n + 2))
			_exit(5);
		got = read(s, r, sizeof(r));
		break;
	}
	if (got <= 0 && !silent)
		_exit(3);
	usleep(300 * 1000);
	_exit(0);
}

/* The event of big.example.test (80 answers, 1,314 bytes) over proto:
 * where the whole answer was read (the packet mode over UDP) the first 64
 * (the parser reads at most FAMILY_DNS_RR_MAX), else (a copy cut at 1,024
 * bytes) the 61 answers that fit in it and QueryResultsTruncated; status
 * 0 either way, and no drop. */
static void check_big(struct ft *t, const char *proto, int whole, pid_t c)
{
	char want[80 * 12], pid[16];
	const struct ft_event *e;
	size_t o = 0;

	for (int i = 1; i <= (whole ? 64 : 61); i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%s10.0.1.%d", i > 1 ? ";" : "",
				      i);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", "big.example.test", "Protocol", proto, NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "QueryResults", want);
	ft_expect(e, "QueryResultsTruncated", whole ? NULL : "true");
	ft_expect(e, "ProcessId", pid);
}

/* A connection to the stub opened before the module starts: the child
 * connects, says so, and sends its query (one write) when told. */
struct early {
	pid_t pid;
	int go;
};

static void early_start(struct early *e, const char *name, uint16_t id)
{
	int ready[2], go[2];
	char c;

	FT_CHECK(pipe(ready) == 0 && pipe(go) == 0);
	e->pid = ft_fork();
	if (e->pid == 0) {
		uint8_t q[2 + 512], r[2 + 1024];
		size_t n = make_query(q + 2, id, name, 1);
		struct sockaddr_storage ss;
		socklen_t sl = server(AF_INET, &ss);
		struct timeval tv = {2, 0};
		int s = socket(AF_INET, SOCK_STREAM, 0);

		q[0] = (uint8_t)(n >> 8), q[1] = (uint8_t)n;
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(s, (struct sockaddr *)&ss, sl) != 0 || write(ready[1], "r", 1) != 1 ||
		    read(go[0], &c, 1) != 1)
			_exit(4);
		if (write(s, q, n + 2) != (ssize_t)(n + 2) || read(s, r, sizeof(r)) <= 0)
			_exit(5);
		usleep(300 * 1000);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	FT_CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	e->go = go[1];
}

static struct early early[2];	/* per run */
static struct early *early_now; /* this run's */

/* One TCP query made the way how says: exactly one event for name/type
 * (T_PAIR: and one for AAAA) with these answers, Protocol tcp, status 0
 * and the child's process. */
static void check_tcp(struct ft *t, int af, const char *name, uint16_t id, enum tcp_how how,
		      const char *answers)
{
	const struct ft_event *e;
	char pid[16];
	pid_t c = ft_fork();

	if (c == 0)
		client_tcp(af, name, 1, id, how);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", name, "QueryType", "A", "Protocol", "tcp", NULL);
	if (e == NULL)
		fprintf(stderr, "tcp case %s (how %d): no event\n", name, (int)how);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryResults", answers);
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", ft_self_image());
	if (how == T_PAIR) {
		e = ft_wait(t, 3000, "QueryName", name, "QueryType", "AAAA", "Protocol", "tcp",
			    NULL);
		FT_CHECK(e != NULL);
		ft_expect(e, "QueryResults", "2001:db8::1");
		ft_expect(e, "QueryStatus", "0");
		ft_expect(e, "ProcessId", pid);
	}
	reap(c);
	ft_pump(t, 100);
	FT_CHECK(ft_count(t, "QueryName", name, "Protocol", "tcp", NULL) ==
		 (how == T_PAIR ? 2 : 1));
}

/* The TCP cases (mode: 1 the bpf mode's socket hooks, 2 its cgroup skb
 * programs, 3 the packet mode): each way of framing, IPv4 and IPv6, an
 * answer longer than a short record; each framing once more unanswered
 * (the query itself taken: a response reported alone would pass the
 * checks above). The hooks: a send of more vector elements than they
 * follow is a counted drop, and a connection opened before the start is
 * followed from its first send. From packets (2, 3): the six elements are
 * one segment, followed; a connection whose start was not seen is a
 * counted drop, its query and answer not reported. */
static void run_tcp(struct ft *t, int mode, struct early *el)
{
	static const struct {
		const char *name;
		enum tcp_how how;
	} silent[] = {
	    {"silent-tcp-write.example.test", T_WRITE_READ},
	    {"silent-tcp-glibc.example.test", T_GLIBC},
	    {"silent-tcp-pair.example.test", T_PAIR},
	    {"silent-tcp-split.example.test", T_SPLIT},
	};
	pid_t sp[sizeof(silent) / sizeof(silent[0])];
	const struct ft_event *e;
	struct family_stats fs;
	uint64_t drops;
	char pid[16];
	pid_t c;

	check_tcp(t, AF_INET, "www.example.test", 0x7001, T_WRITE_READ,
		  "web.example.test;10.1.2.3");
	check_tcp(t, AF_INET6, "glibc.example.test", 0x7002, T_GLIBC, "10.9.8.7");
	check_tcp(t, AF_INET, "pair.example.test", 0x7003, T_PAIR, "10.9.8.7");
	check_tcp(t, AF_INET, "split.example.test", 0x7005, T_SPLIT, "10.9.8.7");
	{
		char many[24 * 10];
		size_t o = 0;

		for (int i = 1; i <= 24; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o, "%s10.0.0.%d",
					      i > 1 ? ";" : "", i);
		check_tcp(t, AF_INET, "many.example.test", 0x7006, T_GLIBC, many);
	}
	/* over TCP every mode keeps 1,024 bytes of a message */
	c = ft_fork();
	if (c == 0)
		client_tcp(AF_INET, "big.example.test", 1, 0x7008, T_GLIBC);
	check_big(t, "tcp", 0, c);
	reap(c);
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		sp[i] = ft_fork();
		if (sp[i] == 0)
			client_tcp(i % 2 ? AF_INET6 : AF_INET, silent[i].name, 1,
				   (uint16_t)(0x7100 + 2 * i), silent[i].how);
	}
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++)
		reap(sp[i]);
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		snprintf(pid, sizeof(pid), "%d", (int)sp[i]);
		e = ft_wait(t, 8000, "QueryName", silent[i].name, "QueryType", "A", NULL);
		if (e == NULL)
			fprintf(stderr, "unanswered %s: no event\n", silent[i].name);
		FT_CHECK(e != NULL);
		ft_expect(e, "Protocol", "tcp");
		ft_expect(e, "QueryStatus", NULL);
		/* the packet mode looks the senders up by their ports, four
		 * at once: best effort there, as over UDP */
		if (mode != 3)
			ft_expect(e, "ProcessId", pid);
		if (silent[i].how == T_PAIR) {
			e = ft_wait(t, 2000, "QueryName", silent[i].name, "QueryType", "AAAA",
				    NULL);
			FT_CHECK(e != NULL);
			if (mode != 3)
				ft_expect(e, "ProcessId", pid);
		}
		FT_CHECK(ft_count(t, "QueryName", silent[i].name, NULL) ==
			 (silent[i].how == T_PAIR ? 2 : 1));
	}

	if (mode >= 2) {
		check_tcp(t, AF_INET, "lost.example.test", 0x7007, T_LOST, "10.9.8.7");
		t->ops->stats(t->f, &fs);
		drops = fs.drops;
		FT_CHECK(write(el->go, "g", 1) == 1);
		close(el->go);
		reap(el->pid);
		ft_pump(t, 300);
		t->ops->stats(t->f, &fs);
		FT_CHECK(fs.drops == drops + 1);
		FT_CHECK(ft_count(t, "QueryName", "early.example.test", NULL) == 0);
		return;
	}
	FT_CHECK(write(el->go, "g", 1) == 1);
	close(el->go);
	snprintf(pid, sizeof(pid), "%d", (int)el->pid);
	e = ft_wait(t, 3000, "QueryName", "early.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Protocol", "tcp");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	reap(el->pid);

	/* six vector elements: the query is lost, counted; the stream's
	 * other direction is still followed, and the answer is reported
	 * alone (its question, status and answers; the reader's process) */
	t->ops->stats(t->f, &fs);
	drops = fs.drops;
	c = ft_fork();
	if (c == 0)
		client_tcp(AF_INET, "lost.example.test", 1, 0x7007, T_LOST);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", "lost.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "Protocol", "tcp");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "QueryResults", "10.9.8.7");
	ft_expect(e, "ProcessId", pid);
	reap(c);
	ft_pump(t, 300);
	t->ops->stats(t->f, &fs);
	FT_CHECK(fs.drops == drops + 1);
	FT_CHECK(ft_count(t, "QueryName", "lost.example.test", NULL) == 1);
}

#if defined(__x86_64__)
/* Queries made as 32-bit (compat) system calls, int 0x80 from this 64-bit
 * program, as malware that wants past monitors of the 64-bit table would:
 * every buffer, vector, header and address they name lies below 4 GiB
 * (MAP_32BIT). Before 2026-11-28 the socket hooks counted them, unread. */
enum c_how {
	C_WRITE_READ,	   /* connected UDP: write, read */
	C_SENDTO_RECVFROM, /* connected UDP: sendto, recvfrom (ia32's own calls) */
	C_SOCKETCALL,	   /* unconnected UDP: socketcall SYS_SENDTO with the address, SYS_RECV */
	C_WRITEV_READV,	   /* connected UDP: writev, readv (compat_iovec) */
	C_SENDMSG_RECVMSG, /* unconnected UDP: sendmsg with the address, recvmsg (compat_msghdr) */
	C_SENDMMSG,	   /* connected UDP: sendmmsg of A and AAAA (compat_mmsghdr), two reads */
	C_TCP,		   /* TCP: writev of length and query, read of the length, of the answer */
};

#define I80_NOSYS 69 /* the child's exit: this kernel has no IA32 emulation */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void client_i80(const char *name, uint16_t id, enum c_how how)
{
	uint8_t *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint8_t *q, *q2, *r, *iov, *hdr, *args, *sa;
	size_t n, n2;
	struct sockaddr_storage ss;
	socklen_t sl = server(AF_INET, &ss);
	struct timeval tv = {2, 0};
	int s = socket(AF_INET, how == C_TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
	unsigned long fd = (unsigned long)s;
	long got = -1;

	if (m == MAP_FAILED || s < 0)
		_exit(2);
	q = m, q2 = m + 1024, r = m + 2048, iov = m + 3072, hdr = m + 3200, args = m + 3400;
	sa = m + 3500;
	memcpy(sa, &ss, sl);
	n = make_query(q + 2, id, name, 1);
	q[0] = (uint8_t)(n >> 8), q[1] = (uint8_t)n;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (how != C_SOCKETCALL && how != C_SENDMSG_RECVMSG &&
	    connect(s, (struct sockaddr *)&ss, sl) != 0)
		_exit(4);
	switch (how) {
	case C_WRITE_READ:
		got = i80(4, fd, (unsigned long)(q + 2), n); /* write */
		if (got == -ENOSYS)
			_exit(I80_NOSYS);
		got = got == (long)n ? i80(3, fd, (unsigned long)r, 1024) : -1; /* read */
		break;
	case C_SENDTO_RECVFROM:
		/* flags (esi) and the address (edi) 0: the connected peer */
		got = i80(369, fd, (unsigned long)(q + 2), n) == (long)n
			  ? i80(371, fd, (unsigned long)r, 1024)
			  : -1;
		break;
	case C_SOCKETCALL:
		put32(args, (uint32_t)s);
		put32(args + 4, (uint32_t)(uintptr_t)(q + 2));
		put32(args + 8, (uint32_t)n);
		put32(args + 12, 0);
		put32(args + 16, (uint32_t)(uintptr_t)sa);
		put32(args + 20, (uint32_t)sl);
		if (i80(102, 11, (unsigned long)args, 0) != (long)n) /* SYS_SENDTO */
			_exit(5);
		put32(args + 4, (uint32_t)(uintptr_t)r);
		put32(args + 8, 1024);
		got = i80(102, 10, (unsigned long)args, 0); /* SYS_RECV */
		break;
	case C_WRITEV_READV:
		put32(iov, (uint32_t)(uintptr_t)(q + 2));
		put32(iov + 4, (uint32_t)n);
		if (i80(146, fd, (unsigned long)iov, 1) != (long)n)
			_exit(5);
		put32(iov, (uint32_t)(uintptr_t)r);
		put32(iov + 4, 1024);
		got = i80(145, fd, (unsigned long)iov, 1);
		break;
	case C_SENDMSG_RECVMSG:
		/* compat_msghdr: name, namelen, iov, iovlen, control, controllen, flags */
		memset(hdr, 0, 28);
		put32(hdr, (uint32_t)(uintptr_t)sa);
		put32(hdr + 4, (uint32_t)sl);
		put32(hdr + 8, (uint32_t)(uintptr_t)iov);
		put32(hdr + 12, 1);
		put32(iov, (uint32_t)(uintptr_t)(q + 2));
		put32(iov + 4, (uint32_t)n);
		if (i80(370, fd, (unsigned long)hdr, 0) != (long)n)
			_exit(5);
		memset(hdr, 0, 28);
		put32(hdr + 8, (uint32_t)(uintptr_t)iov);
		put32(hdr + 12, 1);
		put32(iov, (uint32_t)(uintptr_t)r);
		put32(iov + 4, 1024);
		got = i80(372, fd, (unsigned long)hdr, 0);
		break;
	case C_SENDMMSG:
		/* as glibc: A and AAAA, ids id and id + 1; compat_mmsghdr: a
		 * compat_msghdr and msg_len, 32 bytes */
		n2 = make_query(q2, (uint16_t)(id + 1), name, 28);
		memset(hdr, 0, 64);
		put32(iov, (uint32_t)(uintptr_t)(q + 2));
		put32(iov + 4, (uint32_t)n);
		put32(iov + 8, (uint32_t)(uintptr_t)q2);
		put32(iov + 12, (uint32_t)n2);
		put32(hdr + 8, (uint32_t)(uintptr_t)iov);
		put32(hdr + 12, 1);
		put32(hdr + 32 + 8, (uint32_t)(uintptr_t)(iov + 8));
		put32(hdr + 32 + 12, 1);
		if (i80(345, fd, (unsigned long)hdr, 2) != 2 ||
		    i80(3, fd, (unsigned long)r, 1024) <= 0)
			_exit(5);
		got = i80(3, fd, (unsigned long)r, 1024);
		break;
	case C_TCP:
		put32(iov, (uint32_t)(uintptr_t)q);
		put32(iov + 4, 2);
		put32(iov + 8, (uint32_t)(uintptr_t)(q + 2));
		put32(iov + 12, (uint32_t)n);
		if (i80(146, fd, (unsigned long)iov, 2) != (long)(n + 2) ||
		    i80(3, fd, (unsigned long)r, 2) != 2)
			_exit(5);
		got = i80(3, fd, (unsigned long)(r + 2), (unsigned long)(r[0] << 8 | r[1]));
		break;
	}
	if (got <= 0)
		_exit(3);
	usleep(300 * 1000);
	_exit(0);
}

/* Every compat way, each one query (C_SENDMMSG: two): exactly its events,
 * with the child's process. Returns 0, or -1 (nothing checked) where the
 * kernel has no IA32 emulation. */
static int run_i80(struct ft *t)
{
	static const struct {
		const char *name;
		enum c_how how;
	} cs[] = {
	    {"i80-write.example.test", C_WRITE_READ},
	    {"i80-sendto.example.test", C_SENDTO_RECVFROM},
	    {"i80-socketcall.example.test", C_SOCKETCALL},
	    {"i80-writev.example.test", C_WRITEV_READV},
	    {"i80-sendmsg.example.test", C_SENDMSG_RECVMSG},
	    {"i80-mmsg.example.test", C_SENDMMSG},
	    {"i80-tcp.example.test", C_TCP},
	};

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		const struct ft_event *e;
		char pid[16];
		int st;
		pid_t c = ft_fork();

		if (c == 0)
			client_i80(cs[i].name, (uint16_t)(0x7300 + 2 * i), cs[i].how);
		snprintf(pid, sizeof(pid), "%d", (int)c);
		e = ft_wait(t, 3000, "QueryName", cs[i].name, "QueryType", "A", NULL);
		FT_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
		if (WEXITSTATUS(st) == I80_NOSYS) {
			printf("skip: no IA32 emulation in this kernel: the int 0x80 cases\n");
			return -1;
		}
		FT_CHECK(WEXITSTATUS(st) == 0);
		if (e == NULL)
			fprintf(stderr, "int 0x80 case %s: no event\n", cs[i].name);
		FT_CHECK(e != NULL);
		ft_expect(e, "Protocol", cs[i].how == C_TCP ? "tcp" : "udp");
		ft_expect(e, "QueryResults", "10.9.8.7");
		ft_expect(e, "QueryStatus", "0");
		ft_expect(e, "ProcessId", pid);
		if (cs[i].how == C_SENDMMSG) {
			e = ft_wait(t, 3000, "QueryName", cs[i].name, "QueryType", "AAAA", NULL);
			FT_CHECK(e != NULL);
			ft_expect(e, "QueryResults", "2001:db8::1");
			ft_expect(e, "ProcessId", pid);
		}
		ft_pump(t, 100);
		FT_CHECK(ft_count(t, "QueryName", cs[i].name, NULL) ==
			 (cs[i].how == C_SENDMMSG ? 2 : 1));
	}
	return 0;
}
#endif

/* Every case against a started module. */
/* The first fragment of a large answer, as the packet socket sees it
 * before reassembly: an IPv4 packet from port 53 with more fragments to
 * come and a UDP length past its end (a raw socket: the kernel fills in the
 * checksum and the source). */
static void first_fragment(void)
{
	uint8_t pkt[20 + 8 + 32];
	struct sockaddr_in to;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);

	FT_CHECK(fd >= 0);
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x45;			  /* IPv4, 20-byte header */
	pkt[2] = 0, pkt[3] = sizeof(pkt); /* total length */
	pkt[6] = 0x20;			  /* more fragments, offset 0 */
	pkt[8] = 64;			  /* TTL */
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, "\x7f\x00\x00\x01\x7f\x00\x00\x01", 8);
	pkt[20] = 0, pkt[21] = 53;	/* from port 53: an answer */
	pkt[22] = 0x9c, pkt[23] = 0x40; /* to 40000 */
	pkt[24] = 0x05, pkt[25] = 0x78; /* UDP length 1400: the rest comes later */
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FT_CHECK(sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) ==
		 (ssize_t)sizeof(pkt));
	close(fd);
}

static void run(struct ft *t, const struct family_ops *ops)
{
	struct {
		int af;
		const char *name;
		enum how how;
		pid_t pid;
	} silent[] = {
	    {AF_INET, "silent-sendto.example.test", H_SENDTO_RECV, 0},
	    {AF_INET6, "silent-sendto6.example.test", H_SENDTO_RECV, 0},
	    {AF_INET, "silent-send.example.test", H_SEND_READ, 0},
	    {AF_INET, "silent-write.example.test", H_WRITE_RECVMSG, 0},
	    {AF_INET6, "silent-writev.example.test", H_WRITEV_READV, 0},
	    {AF_INET, "silent-sendmsg.example.test", H_SENDMSG_RECVMSG, 0},
	    {AF_INET6, "silent-sendmsg6.example.test", H_SENDMSG_RECVMSG, 0},
	    {AF_INET, "silent-mmsg.example.test", H_SENDMMSG, 0},
	    {AF_INET, "silent-mapped.example.test", H_MAPPED, 0},
	};
	pid_t c;
	char pid[16];
	const struct ft_event *e;
	struct family_stats fs;
	const char *img = ft_self_image();
	int exact = ops != &family_dns_packet_ops;
	uint64_t t0;

	t0 = ft_now_ns();
	c = query(AF_INET, "www.example.test", 1, 0x1234);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	/* read 350 ms later (the child, which keeps its socket 500 ms after
	 * the answer, still there to be named): the event has the kernel's
	 * time of the query (bpf: the send; packet: the capture), sent at
	 * once */
	usleep(350 * 1000);
	e = ft_wait(t, 3000, "QueryName", "www.example.test", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_DNS_QUERY);
	ft_expect_time(e, t0, t0 + 200 * 1000000ull);
	ft_expect(e, "QueryType", "A");
	ft_expect(e, "QueryResults", "web.example.test;10.1.2.3");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", img);
	ft_expect(e, "User", "root");
	ft_expect(e, "UserId", "0");
	reap(c);

	c = query(AF_INET, "nx.example.test", 1, 0x2222);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", "nx.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryStatus", "3");
	ft_expect(e, "QueryResults", NULL);
	ft_expect(e, "ProcessId", pid);
	reap(c);

	c = query(AF_INET6, "six.example.test", 28, 0x3333);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", "six.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryType", "AAAA");
	ft_expect(e, "QueryResults", "2001:db8::1");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	reap(c);

	/* an answer longer than a short record, whole */
	c = query(AF_INET, "many.example.test", 1, 0x3434);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", "many.example.test", NULL);
	FT_CHECK(e != NULL);
	{
		char many[24 * 10];
		size_t o = 0;

		for (int i = 1; i <= 24; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o, "%s10.0.0.%d",
					      i > 1 ? ";" : "", i);
		ft_expect(e, "QueryResults", many);
	}
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	reap(c);

	/* a TXT answer: its strings joined, escaped */
	c = query(AF_INET, "txt.example.test", 16, 0x3636);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(t, 3000, "QueryName", "txt.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryType", "TXT");
	ft_expect(e, "QueryResults", "v=spf1 -alla\\059b\\001");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	reap(c);

	/* an answer longer than the bpf mode's copy: the answers that fit,
	 * and that it was cut (not a drop: checked below); whole from the
	 * packet socket */
	c = query(AF_INET, "big.example.test", 1, 0x3535);
	check_big(t, "udp", !exact, c);
	reap(c);

	/* each send and receive path */
	check_how(t, AF_INET, "recvfrom.example.test", 1, 0x5001, H_SENDTO_RECVFROM, "10.9.8.7");
	check_how(t, AF_INET, "send.example.test", 1, 0x5002, H_SEND_READ, "10.9.8.7");
	check_how(t, AF_INET, "write.example.test", 1, 0x5003, H_WRITE_RECVMSG, "10.9.8.7");
	check_how(t, AF_INET6, "writev.example.test", 28, 0x5004, H_WRITEV_READV, "2001:db8::1");
	check_how(t, AF_INET, "sendmsg.example.test", 1, 0x5005, H_SENDMSG_RECVMSG, "10.9.8.7");
	check_how(t, AF_INET6, "sendmsg6.example.test", 28, 0x5006, H_SENDMSG_RECVMSG,
		  "2001:db8::1");
	check_how(t, AF_INET, "mmsg.example.test", 1, 0x5010, H_SENDMMSG, "10.9.8.7");
	check_how(t, AF_INET6, "mmsg6.example.test", 1, 0x5020, H_SENDMMSG, "10.9.8.7");
	check_how(t, AF_INET, "peek.example.test", 1, 0x5007, H_PEEK_READ, "10.9.8.7");
	check_how(t, AF_INET, "probe.example.test", 1, 0x5008, H_PROBE_READ, "10.9.8.7");
	check_how(t, AF_INET, "mapped.example.test", 1, 0x5009, H_MAPPED, "10.9.8.7");

	/* each send path once more, unanswered: a response reported alone
	 * (its query not seen) passes the checks above, so these show that
	 * the query itself was taken, from the right message; each is
	 * reported without a status after its wait, checked at the end */
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++)
		silent[i].pid = query_how(silent[i].af, silent[i].name, 1, (uint16_t)(0x6000 + i),
					  silent[i].how);
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++)
		reap(silent[i].pid);

	/* the loop: the response is a counted drop; the query, still waiting,
	 * is reported without an answer once its wait is over */
	t->ops->stats(t->f, &fs);
	FT_CHECK(fs.drops == 0);
	c = query(AF_INET, "loop.example.test", 1, 0x4444);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	ft_pump(t, 700);
	t->ops->stats(t->f, &fs);
	FT_CHECK(fs.drops == 1);
	e = ft_wait(t, 8000, "QueryName", "loop.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryStatus", NULL);
	ft_expect(e, "ProcessId", pid);
	reap(c);

	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		snprintf(pid, sizeof(pid), "%d", (int)silent[i].pid);
		e = ft_wait(t, 2000, "QueryName", silent[i].name, "QueryType", "A", NULL);
		if (e == NULL)
			fprintf(stderr, "unanswered %s: no event\n", silent[i].name);
		FT_CHECK(e != NULL);
		ft_expect(e, "QueryStatus", NULL);
		/* the packet mode looks the sender up by its port, racing nine
		 * clients at once: best effort there (docs/sensors.md) */
		if (exact)
			ft_expect(e, "ProcessId", pid);
		if (silent[i].how == H_SENDMMSG) {
			/* the vector's second message, not the first twice */
			e = ft_wait(t, 2000, "QueryName", silent[i].name, "QueryType", "AAAA",
				    NULL);
			FT_CHECK(e != NULL);
			if (exact)
				ft_expect(e, "ProcessId", pid);
		}
		FT_CHECK(ft_count(t, "QueryName", silent[i].name, NULL) ==
			 (silent[i].how == H_SENDMMSG ? 2 : 1));
	}

	/* once per query, every query answered but the loop's and the
	 * unanswered ones */
	FT_CHECK(ft_count(t, "QueryName", "www.example.test", NULL) == 1);
	FT_CHECK(ft_count(t, "QueryStatus", NULL, NULL) == 11);
	t->ops->stats(t->f, &fs);
	if (fs.events != 30 || (int)fs.events != t->nev)
		fprintf(stderr, "%s: %llu events, %d recorded\n", ops->mode,
			(unsigned long long)fs.events, t->nev);
	FT_CHECK(fs.events == 30 && (int)fs.events == t->nev);

	/* packet mode: a DNS packet it cannot read is a counted loss */
	if (ops == &family_dns_packet_ops) {
		uint64_t before = fs.drops;

		first_fragment();
		ft_pump(t, 300);
		t->ops->stats(t->f, &fs);
		FT_CHECK(fs.drops == before + 1);
	}

	if (tcp)
		run_tcp(t, tcp, early_now);
#if defined(__x86_64__)
	(void)run_i80(t);
#endif

	/* the stop (ops->quiesce, then the last polls and the flush): a query
	 * before it is reported, one after it is not captured at all */
	reap(query(AF_INET, "www.example.test", 1, 0x5151));
	ft_final(t);
	FT_CHECK(ft_count(t, "QueryName", "www.example.test", "Protocol", "udp", NULL) == 2);
	reap(query(AF_INET, "www.example.test", 1, 0x5152));
	ft_final(t);
	FT_CHECK(ft_count(t, "QueryName", "www.example.test", "Protocol", "udp", NULL) == 2);
}

int main(int argc, char **argv)
{
	const struct family_ops *ops = &family_dns_packet_ops;
	pid_t s4, s6, t4, t6;
	int bpf = 0;

	famnet_private();
	if (argc > 1 && strcmp(argv[1], "bpf") == 0) {
#ifdef YM_FAMILY_BPF
		ops = &family_dns_bpf_ops;
		bpf = 1;
#else
		printf(
		    "SKIP: built without eBPF (cmake/bpf.cmake found no clang/bpftool/libbpf)\n");
		return FT_SKIP;
#endif
	}
	s4 = ft_fork();
	if (s4 == 0)
		stub(AF_INET);
	s6 = ft_fork();
	if (s6 == 0)
		stub(AF_INET6);
	t4 = ft_fork();
	if (t4 == 0)
		stub_tcp(AF_INET);
	t6 = ft_fork();
	if (t6 == 0)
		stub_tcp(AF_INET6);
	usleep(200 * 1000);

	early_start(&early[0], "early.example.test", 0x7200);
	ft_start(&runs[0], ops, NULL);
#ifdef YM_FAMILY_BPF
	if (bpf) {
		const char *hooks = family_dns_bpf_hooks(runs[0].f);

		printf("dns=bpf hooks: %s\n", hooks);
		if (strncmp(hooks, "tp_btf", 6) != 0) {
			/* a kernel whose BTF has the tracepoint must take them:
			 * a program the verifier refuses here would otherwise
			 * hide behind the fallback */
			struct btf *vb = btf__load_vmlinux_btf();

			FT_CHECK(vb == NULL ||
				 btf__find_by_name_kind(vb, "btf_trace_sock_send_length",
							BTF_KIND_TYPEDEF) < 0);
			btf__free(vb);
			printf("SKIP (socket hooks): this kernel has no sock_send_length; "
			       "the fallback runs\n");
		}
	}
#endif
	tcp = 3;
#ifdef YM_FAMILY_BPF
	if (bpf)
		tcp = strncmp(family_dns_bpf_hooks(runs[0].f), "tp_btf", 6) == 0 ? 1 : 2;
#endif
	early_now = &early[0];
	run(&runs[0], ops);
	tcp = 0;
	ft_stop(&runs[0]);
#ifdef YM_FAMILY_BPF
	if (bpf) {
		/* the fallback, forced as on a kernel without the tracepoints */
		family_dns_bpf_socket_hooks(0);
		early_start(&early[1], "early.example.test", 0x7201);
		ft_start(&runs[1], ops, NULL);
		FT_CHECK(strncmp(family_dns_bpf_hooks(runs[1].f), "cgroup_skb", 10) == 0);
		tcp = 2;
		early_now = &early[1];
		run(&runs[1], ops);
		tcp = 0;
		ft_stop(&runs[1]);
		family_dns_bpf_socket_hooks(1);
	}
#endif

	kill(s4, SIGKILL);
	kill(s6, SIGKILL);
	kill(t4, SIGKILL);
	kill(t6, SIGKILL);
	while (wait(NULL) > 0) {
	}
	printf("ok: dns=%s (%d events)\n", ops->mode, runs[0].nev + runs[1].nev);
	return 0;
}
