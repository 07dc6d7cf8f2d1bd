/* dns family, mode packet or bpf (argv[1]): in a private network namespace a resolver stub
 * answers on 127.0.0.1:53 and [::1]:53; children send real queries; each
 * query gives one dns_query event with the exact name, type, answers, status
 * and the querying process. A response with a compression loop is a counted
 * drop, never a crash. */
#include "famnet.h"
#include "famtest.h"
#include "family_dns_packet.h"
#ifdef YM_FAMILY_BPF
#include "family_dns_bpf.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct ft t;

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
	uint8_t q[512], r[1024];
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
		(void)sendto(s, r, rl, 0, (struct sockaddr *)&from, fl);
	}
}

/* A child queries name/type over af and keeps its socket a moment after the
 * answer, as a resolver library does while it reads further answers. */
static pid_t query(int af, const char *name, uint16_t type, uint16_t id)
{
	pid_t p = ft_fork();

	if (p == 0) {
		uint8_t q[512], r[1024];
		size_t n = make_query(q, id, name, type);
		struct sockaddr_in a4;
		struct sockaddr_in6 a6;
		int s = socket(af, SOCK_DGRAM, 0);
		struct timeval tv = {2, 0};

		memset(&a4, 0, sizeof(a4));
		memset(&a6, 0, sizeof(a6));
		a4.sin_family = AF_INET;
		a4.sin_port = htons(53);
		a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons(53);
		a6.sin6_addr = in6addr_loopback;
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (af == AF_INET)
			(void)sendto(s, q, n, 0, (struct sockaddr *)&a4, sizeof(a4));
		else
			(void)sendto(s, q, n, 0, (struct sockaddr *)&a6, sizeof(a6));
		if (recv(s, r, sizeof(r), 0) <= 0)
			_exit(3);
		usleep(500 * 1000);
		_exit(0);
	}
	return p;
}

static void reap(pid_t p)
{
	int st;

	FT_CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
	const struct family_ops *ops = &family_dns_packet_ops;
	pid_t s4, s6, c;
	char pid[16];
	const struct ft_event *e;
	struct family_stats fs;
	const char *img = ft_self_image();

	famnet_private();
	if (argc > 1 && strcmp(argv[1], "bpf") == 0) {
#ifdef YM_FAMILY_BPF
		ops = &family_dns_bpf_ops;
#else
		printf(
		    "SKIP: built without eBPF (cmake/bpf.cmake found no clang/bpftool/libbpf)\n");
		return FT_SKIP;
#endif
	}
	ft_start(&t, ops, NULL);
	s4 = ft_fork();
	if (s4 == 0)
		stub(AF_INET);
	s6 = ft_fork();
	if (s6 == 0)
		stub(AF_INET6);
	usleep(200 * 1000);

	c = query(AF_INET, "www.example.test", 1, 0x1234);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(&t, 3000, "QueryName", "www.example.test", NULL);
	FT_CHECK(e != NULL);
	FT_CHECK(e->category == EVCAT_DNS_QUERY);
	ft_expect(e, "QueryType", "A");
	ft_expect(e, "QueryResults", "web.example.test;10.1.2.3");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	ft_expect(e, "Image", img);
	ft_expect(e, "User", "root");
	reap(c);

	c = query(AF_INET, "nx.example.test", 1, 0x2222);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(&t, 3000, "QueryName", "nx.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryStatus", "3");
	ft_expect(e, "QueryResults", NULL);
	ft_expect(e, "ProcessId", pid);
	reap(c);

	c = query(AF_INET6, "six.example.test", 28, 0x3333);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	e = ft_wait(&t, 3000, "QueryName", "six.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryType", "AAAA");
	ft_expect(e, "QueryResults", "2001:db8::1");
	ft_expect(e, "QueryStatus", "0");
	ft_expect(e, "ProcessId", pid);
	reap(c);

	/* the loop: the response is a counted drop; the query, still waiting,
	 * is reported without an answer once its wait is over */
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.drops == 0);
	c = query(AF_INET, "loop.example.test", 1, 0x4444);
	snprintf(pid, sizeof(pid), "%d", (int)c);
	ft_pump(&t, 700);
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.drops == 1);
	e = ft_wait(&t, 8000, "QueryName", "loop.example.test", NULL);
	FT_CHECK(e != NULL);
	ft_expect(e, "QueryStatus", NULL);
	ft_expect(e, "ProcessId", pid);
	reap(c);

	/* once per query */
	FT_CHECK(ft_count(&t, "QueryName", "www.example.test", NULL) == 1);
	t.ops->stats(t.f, &fs);
	FT_CHECK(fs.events == 4 && (int)fs.events == t.nev);

	kill(s4, SIGKILL);
	kill(s6, SIGKILL);
	while (wait(NULL) > 0) {
	}
	ft_stop(&t);
	printf("ok: dns=%s (%d events)\n", ops->mode, t.nev);
	return 0;
}
